//! Compiled seccomp programs: classic BPF as the kernel takes it.
//!
//! A [`Bpf`] is the byte image of a `struct sock_filter[]` in host byte order — 8 bytes per
//! instruction: `u16 code, u8 jt, u8 jf, u32 k` — exactly what libseccomp's `seccomp_export_bpf`
//! writes and what `seccomp(SECCOMP_SET_MODE_FILTER, flags, &struct sock_fprog)` reads. The loader
//! (in the `sys` crate) builds the `sock_fprog` from [`Bpf::instructions`] or [`Bpf::as_bytes`].

use std::fmt;

/// Size of one `struct sock_filter`.
pub const INSTRUCTION_SIZE: usize = 8;

/// Most instructions the kernel accepts in one filter (`BPF_MAXINSNS`).
pub const MAX_INSTRUCTIONS: usize = 4096;

/// `BPF_RET`, the instruction class every program must end with.
const BPF_CLASS_RET: u16 = 0x06;

/// One classic BPF instruction (`struct sock_filter`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Instruction {
    /// Opcode: class, size/operation and source bits.
    pub code: u16,
    /// Forward jump if the condition holds.
    pub jt: u8,
    /// Forward jump if it does not.
    pub jf: u8,
    /// Constant operand.
    pub k: u32,
}

impl Instruction {
    /// The instruction as stored in a program (host byte order).
    pub fn to_bytes(self) -> [u8; INSTRUCTION_SIZE] {
        let mut b = [0; INSTRUCTION_SIZE];
        b[0..2].copy_from_slice(&self.code.to_ne_bytes());
        b[2] = self.jt;
        b[3] = self.jf;
        b[4..8].copy_from_slice(&self.k.to_ne_bytes());
        b
    }

    fn from_bytes(b: [u8; INSTRUCTION_SIZE]) -> Self {
        Self {
            code: u16::from_ne_bytes([b[0], b[1]]),
            jt: b[2],
            jf: b[3],
            k: u32::from_ne_bytes([b[4], b[5], b[6], b[7]]),
        }
    }
}

impl From<Instruction> for (u16, u8, u8, u32) {
    fn from(i: Instruction) -> Self {
        (i.code, i.jt, i.jf, i.k)
    }
}

/// Why bytes are not a seccomp program.
#[derive(Debug, thiserror::Error)]
pub enum BpfError {
    /// No instructions at all.
    #[error("invalid seccomp program: empty")]
    Empty,
    /// The length is not a whole number of instructions.
    #[error("invalid seccomp program: {len} bytes is not a multiple of {INSTRUCTION_SIZE}")]
    Truncated {
        /// Length in bytes.
        len: usize,
    },
    /// More instructions than the kernel accepts.
    #[error("invalid seccomp program: {instructions} instructions, the kernel accepts at most {MAX_INSTRUCTIONS}")]
    TooLong {
        /// Number of instructions.
        instructions: usize,
    },
    /// The last instruction is not a return, so the kernel would reject the program.
    #[error("invalid seccomp program: the last instruction is not a return")]
    NoReturn,
}

/// A seccomp program ready to load: non-empty, whole instructions, at most [`MAX_INSTRUCTIONS`],
/// ending in a return.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Bpf(Vec<u8>);

impl Bpf {
    /// Checks and wraps a program image (e.g. read back from the cache).
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self, BpfError> {
        if bytes.is_empty() {
            return Err(BpfError::Empty);
        }
        if !bytes.len().is_multiple_of(INSTRUCTION_SIZE) {
            return Err(BpfError::Truncated { len: bytes.len() });
        }
        let instructions = bytes.len() / INSTRUCTION_SIZE;
        if instructions > MAX_INSTRUCTIONS {
            return Err(BpfError::TooLong { instructions });
        }
        let bpf = Self(bytes);
        if bpf.instructions().last().is_none_or(|i| i.code & 0x07 != BPF_CLASS_RET) {
            return Err(BpfError::NoReturn);
        }
        Ok(bpf)
    }

    /// Builds a program from instructions.
    pub fn from_instructions(instructions: &[Instruction]) -> Result<Self, BpfError> {
        Self::from_bytes(instructions.iter().flat_map(|i| i.to_bytes()).collect())
    }

    /// The program image: `struct sock_filter[]` in host byte order.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Number of instructions (the `len` of `struct sock_fprog`; at most 4096, so it fits a `u16`).
    pub fn len(&self) -> usize {
        self.0.len() / INSTRUCTION_SIZE
    }

    /// Always false: a `Bpf` has at least one instruction. Here for clippy's `len_without_is_empty`.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The instructions, decoded.
    pub fn instructions(&self) -> impl ExactSizeIterator<Item = Instruction> + '_ {
        self.0
            .chunks_exact(INSTRUCTION_SIZE)
            .map(|c| Instruction::from_bytes(c.try_into().expect("chunks_exact yields INSTRUCTION_SIZE bytes")))
    }
}

impl fmt::Debug for Bpf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Bpf").field("instructions", &self.len()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RET_ALLOW: Instruction = Instruction { code: 0x06, jt: 0, jf: 0, k: 0x7fff_0000 };
    const LD_NR: Instruction = Instruction { code: 0x20, jt: 0, jf: 0, k: 0 };

    #[test]
    fn round_trip() {
        let jeq = Instruction { code: 0x15, jt: 1, jf: 2, k: 0xC000_003E };
        let bpf = Bpf::from_instructions(&[LD_NR, jeq, RET_ALLOW]).unwrap();
        assert_eq!(bpf.len(), 3);
        assert_eq!(bpf.as_bytes().len(), 24);
        assert_eq!(bpf.instructions().collect::<Vec<_>>(), [LD_NR, jeq, RET_ALLOW]);
        assert_eq!(<(u16, u8, u8, u32)>::from(jeq), (0x15, 1, 2, 0xC000_003E));
        // Host byte order, as struct sock_filter is laid out in memory.
        let mut expected = Vec::new();
        expected.extend_from_slice(&0x15u16.to_ne_bytes());
        expected.extend_from_slice(&[1, 2]);
        expected.extend_from_slice(&0xC000_003Eu32.to_ne_bytes());
        assert_eq!(&bpf.as_bytes()[8..16], &expected[..]);
        assert_eq!(format!("{bpf:?}"), "Bpf { instructions: 3 }");
    }

    #[test]
    fn rejects_bad_images() {
        assert!(matches!(Bpf::from_bytes(vec![]), Err(BpfError::Empty)));
        assert!(matches!(Bpf::from_bytes(vec![0; 12]), Err(BpfError::Truncated { len: 12 })));
        assert!(matches!(Bpf::from_instructions(&[RET_ALLOW, LD_NR]), Err(BpfError::NoReturn)));
        let long = vec![RET_ALLOW; MAX_INSTRUCTIONS + 1];
        assert!(matches!(Bpf::from_instructions(&long), Err(BpfError::TooLong { instructions: 4097 })));
        assert!(Bpf::from_instructions(&long[1..]).is_ok());
        assert_eq!(
            Bpf::from_bytes(vec![0; 9]).unwrap_err().to_string(),
            "invalid seccomp program: 9 bytes is not a multiple of 8"
        );
    }
}
