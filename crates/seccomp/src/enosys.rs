//! runc's `-ENOSYS` stub: syscalls newer than the profile fail with ENOSYS, not the default action.
//!
//! A profile is an allow-list written against the syscalls its authors (and libseccomp) knew. A
//! syscall added to the kernel later — `fchmodat2`, `mseal`, `listmount` on kernel 6.x with libseccomp
//! 2.5 — would get the default action, EPERM, and libc treats EPERM as a real failure. ENOSYS instead
//! makes glibc and friends fall back to the older syscall, which the profile allows. runc (and so
//! Docker) prepends a small program that returns ENOSYS for every syscall number above the largest one
//! the filter's rules name, per architecture (`libcontainer/seccomp/patchbpf/enosys_linux.go`,
//! `generateEnosysStub`); berth does the same so containers behave as they do under Docker.
//!
//! The stub is built back to front, like runc's, because classic BPF only jumps forwards and the
//! offsets are easiest to count from the end:
//!
//! ```text
//! ld [4]                              ; arch
//! jeq AUDIT_ARCH_X86_64, <section>    ; one per architecture (or jne + ja for long jumps)
//! ja <end of stub>                    ; other architectures: straight to the filter
//! section: ld [0]                     ; syscall number
//!          jset 1<<30 ...             ; x86_64 only: x32 syscalls have bit 30 set
//!          jgt <largest>, <ret ENOSYS>
//!          ja <end of stub>
//! ja 1                                ; fall-through into the filter
//! ret ERRNO(ENOSYS)
//! <libseccomp's program>
//! ```
//!
//! Which syscall is "largest" is decided by the caller (it needs libseccomp's syscall tables); this
//! module only generates instructions, so it is tested without libseccomp.

use crate::bpf::Instruction;

/// `AUDIT_ARCH_X86_64`, shared by the x86_64 and x32 ABIs.
pub(crate) const AUDIT_ARCH_X86_64: u32 = 0xC000_003E;

/// Bit 30 of the syscall number marks an x32 syscall (`__X32_SYSCALL_BIT`).
const X32_SYSCALL_BIT: u32 = 1 << 30;

/// `SECCOMP_RET_ERRNO | ENOSYS`.
pub(crate) const RET_ERRNO_ENOSYS: u32 = 0x0005_0000 | 38;

/// s390's `setup(2)`, syscall 0: large syscall numbers are multiplexed through it, and numbers the
/// kernel does not know arrive as 0, so it must return ENOSYS too.
const S390_MULTIPLEX_SYSCALL: u32 = 0;

// Classic BPF opcodes (linux/bpf_common.h).
const LD_W_ABS: u16 = 0x20; // BPF_LD (0) | BPF_W (0) | BPF_ABS
const JMP_JA: u16 = 0x05; // BPF_JMP | BPF_JA
const JMP_JEQ_K: u16 = 0x05 | 0x10;
const JMP_JGT_K: u16 = 0x05 | 0x20;
const JMP_JSET_K: u16 = 0x05 | 0x40;
const RET_K: u16 = 0x06;

/// `struct seccomp_data` offsets.
const OFFSET_NR: u32 = 0;
const OFFSET_ARCH: u32 = 4;

/// An architecture as the stub needs to tell it apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StubArch {
    /// x86_64 ABI: `AUDIT_ARCH_X86_64`, bit 30 clear.
    X86_64,
    /// x32 ABI: `AUDIT_ARCH_X86_64`, bit 30 set.
    X32,
    /// s390 or s390x, with this `AUDIT_ARCH_*` value.
    S390(u32),
    /// Any other architecture, with its `AUDIT_ARCH_*` value.
    Other(u32),
}

impl StubArch {
    fn audit(self) -> u32 {
        match self {
            Self::X86_64 | Self::X32 => AUDIT_ARCH_X86_64,
            Self::S390(a) | Self::Other(a) => a,
        }
    }
}

/// The syscalls of one `AUDIT_ARCH_*` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Group {
    Single(StubArch, u32),
    X86_64AndX32 { x86_64: u32, x32: u32 },
}

impl Group {
    fn audit(self) -> u32 {
        match self {
            Self::Single(arch, _) => arch.audit(),
            Self::X86_64AndX32 { .. } => AUDIT_ARCH_X86_64,
        }
    }
}

fn ld(offset: u32) -> Instruction {
    Instruction { code: LD_W_ABS, jt: 0, jf: 0, k: offset }
}

fn ja(skip: u32) -> Instruction {
    Instruction { code: JMP_JA, jt: 0, jf: 0, k: skip }
}

fn ret(value: u32) -> Instruction {
    Instruction { code: RET_K, jt: 0, jf: 0, k: value }
}

fn jeq(k: u32, jt: u8, jf: u8) -> Instruction {
    Instruction { code: JMP_JEQ_K, jt, jf, k }
}

fn jgt(k: u32, jt: u8, jf: u8) -> Instruction {
    Instruction { code: JMP_JGT_K, jt, jf, k }
}

fn jset(k: u32, jt: u8, jf: u8) -> Instruction {
    Instruction { code: JMP_JSET_K, jt, jf, k }
}

/// A conditional jump offset, if it fits the 8 bits BPF has for it.
fn short(skip: u32) -> Option<u8> {
    u8::try_from(skip).ok()
}

/// Merges per-architecture maxima into one group per `AUDIT_ARCH_*` value, keeping first-seen order.
fn groups(largest: &[(StubArch, u32)]) -> Vec<Group> {
    let mut groups: Vec<Group> = Vec::new();
    for &(arch, max) in largest {
        match groups.iter_mut().find(|g| g.audit() == arch.audit()) {
            None => groups.push(Group::Single(arch, max)),
            Some(g) => match (*g, arch) {
                (Group::Single(StubArch::X86_64, x86_64), StubArch::X32) => {
                    *g = Group::X86_64AndX32 { x86_64, x32: max }
                }
                (Group::Single(StubArch::X32, x32), StubArch::X86_64) => *g = Group::X86_64AndX32 { x86_64: max, x32 },
                // The same architecture listed twice: runc keeps the first.
                _ => {}
            },
        }
    }
    groups
}

/// The stub program for the given largest syscall numbers (one per architecture of the filter), to be
/// placed in front of libseccomp's program. Empty if there is nothing to check.
pub(crate) fn stub(largest: &[(StubArch, u32)]) -> Vec<Instruction> {
    let groups = groups(largest);
    if groups.is_empty() {
        // runc emits a stub that only jumps into the filter; leaving it out is equivalent.
        return Vec::new();
    }

    // Built in reverse: `tail` is the end of the stub, and jumps are counted from its end.
    let mut tail: Vec<Instruction> = vec![
        // Fall-through from the sections: into the filter.
        ja(1),
        // Sections jump here for syscalls past the largest.
        ret(RET_ERRNO_ENOSYS),
    ];
    let mut jump_table: Vec<(u32, usize)> = Vec::new();

    for group in &groups {
        let len = u32::try_from(tail.len()).expect("the stub is a few dozen instructions");
        let to_enosys = len - 1; // from the end of a section to `ret ENOSYS`
        let to_filter = len; // from the end of a section past the stub

        let mut section = vec![ld(OFFSET_NR)];
        match *group {
            Group::Single(arch, max) => {
                if let StubArch::S390(_) = arch {
                    // jne setup, +1; ret ENOSYS
                    section.push(jeq(S390_MULTIPLEX_SYSCALL, 0, 1));
                    section.push(ret(RET_ERRNO_ENOSYS));
                }
                let mut section_tail = match short(to_enosys + 1) {
                    Some(skip) => vec![jgt(max, skip, 0), ja(to_filter)],
                    // jle max, +1; ret ENOSYS; ja filter
                    None => vec![jgt(max, 0, 1), ret(RET_ERRNO_ENOSYS), ja(to_filter)],
                };
                let skip_mode = short(u32::try_from(section_tail.len() - 1).expect("2 or 3")).expect("small");
                match arch {
                    // x86_64 rules say nothing about x32 syscalls (and vice versa): skip to the `ja`.
                    StubArch::X86_64 => section_tail.insert(0, jset(X32_SYSCALL_BIT, skip_mode, 0)),
                    StubArch::X32 => section_tail.insert(0, jset(X32_SYSCALL_BIT, 0, skip_mode)),
                    StubArch::S390(_) | StubArch::Other(_) => {}
                }
                section.extend(section_tail);
            }
            Group::X86_64AndX32 { x86_64, x32 } => {
                match (short(to_enosys + 2), short(to_enosys + 1)) {
                    (Some(far), Some(near)) => section.extend([
                        jset(X32_SYSCALL_BIT, 1, 0),
                        jgt(x86_64, far, 1),
                        jgt(x32, near, 0),
                        ja(to_filter),
                    ]),
                    _ => section.extend([
                        jset(X32_SYSCALL_BIT, 1, 0),
                        jgt(x86_64, 1, 2),
                        jgt(x32, 0, 1), // jle x32, +1
                        ret(RET_ERRNO_ENOSYS),
                        ja(to_filter),
                    ]),
                }
            }
        }
        section.append(&mut tail);
        tail = section;
        jump_table.push((group.audit(), tail.len()));
    }

    // Architectures without a section go straight to the filter (which applies its bad-arch action).
    let mut program = vec![ja(u32::try_from(tail.len()).expect("small"))];
    program.append(&mut tail);
    for (audit, section_from_end) in jump_table {
        let jump = program.len() - section_from_end;
        let mut head = match short(u32::try_from(jump).expect("small")) {
            Some(skip) => vec![jeq(audit, skip, 0)],
            // jne arch, +1; ja section
            None => vec![jeq(audit, 0, 1), ja(u32::try_from(jump).expect("small"))],
        };
        head.append(&mut program);
        program = head;
    }
    program.insert(0, ld(OFFSET_ARCH));
    program
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A classic BPF interpreter for the instructions seccomp programs use, run on a `struct
    /// seccomp_data` (instruction pointer 0). Returns the action value; panics on anything else.
    pub(crate) fn run_with_args(program: &[Instruction], arch: u32, nr: u32, args: [u64; 6]) -> u32 {
        let mut data = [0u8; 64];
        data[0..4].copy_from_slice(&nr.to_ne_bytes());
        data[4..8].copy_from_slice(&arch.to_ne_bytes());
        for (i, arg) in args.iter().enumerate() {
            data[16 + 8 * i..24 + 8 * i].copy_from_slice(&arg.to_ne_bytes());
        }
        let (mut a, mut x, mut mem) = (0u32, 0u32, [0u32; 16]);
        let mut pc = 0usize;
        loop {
            let i = program[pc];
            pc += 1;
            let k = i.k as usize;
            let jump = |taken: bool| usize::from(if taken { i.jt } else { i.jf });
            match i.code {
                LD_W_ABS => a = u32::from_ne_bytes(data[k..k + 4].try_into().unwrap()),
                0x00 => a = i.k,    // BPF_LD | BPF_IMM
                0x60 => a = mem[k], // BPF_LD | BPF_MEM
                0x61 => x = mem[k], // BPF_LDX | BPF_MEM
                0x02 => mem[k] = a, // BPF_ST
                0x03 => mem[k] = x, // BPF_STX
                0x07 => x = a,      // BPF_MISC | BPF_TAX
                0x87 => a = x,      // BPF_MISC | BPF_TXA
                0x54 => a &= i.k,   // BPF_ALU | BPF_AND | BPF_K
                JMP_JA => pc += k,
                JMP_JEQ_K => pc += jump(a == i.k),
                JMP_JGT_K => pc += jump(a > i.k),
                0x35 => pc += jump(a >= i.k), // BPF_JGE
                JMP_JSET_K => pc += jump(a & i.k != 0),
                RET_K => return i.k,
                0x16 => return a, // BPF_RET | BPF_A
                code => panic!("unexpected opcode {code:#x} at {}", pc - 1),
            }
        }
    }

    pub(crate) fn run(program: &[Instruction], arch: u32, nr: u32) -> u32 {
        run_with_args(program, arch, nr, [0; 6])
    }

    const I386: u32 = 0x4000_0003;
    const AARCH64: u32 = 0xC000_00B7;
    const S390X: u32 = 0x8000_0016;
    /// Stands in for libseccomp's program in these tests.
    const RET_FILTER: u32 = 0x7FFF_0000 | 0xAB;

    fn with_filter(largest: &[(StubArch, u32)]) -> Vec<Instruction> {
        let mut p = stub(largest);
        p.push(ret(RET_FILTER));
        p
    }

    #[test]
    fn x86_64_x86_x32() {
        let p = with_filter(&[
            (StubArch::X86_64, 450),
            (StubArch::Other(I386), 462),
            (StubArch::X32, X32_SYSCALL_BIT | 547),
        ]);
        // x86_64
        assert_eq!(run(&p, AUDIT_ARCH_X86_64, 0), RET_FILTER);
        assert_eq!(run(&p, AUDIT_ARCH_X86_64, 450), RET_FILTER);
        assert_eq!(run(&p, AUDIT_ARCH_X86_64, 451), RET_ERRNO_ENOSYS);
        assert_eq!(run(&p, AUDIT_ARCH_X86_64, 100_000), RET_ERRNO_ENOSYS);
        // x32
        assert_eq!(run(&p, AUDIT_ARCH_X86_64, X32_SYSCALL_BIT | 500), RET_FILTER);
        assert_eq!(run(&p, AUDIT_ARCH_X86_64, X32_SYSCALL_BIT | 547), RET_FILTER);
        assert_eq!(run(&p, AUDIT_ARCH_X86_64, X32_SYSCALL_BIT | 548), RET_ERRNO_ENOSYS);
        // i386
        assert_eq!(run(&p, I386, 462), RET_FILTER);
        assert_eq!(run(&p, I386, 463), RET_ERRNO_ENOSYS);
        // Architectures the stub does not know go to the filter.
        assert_eq!(run(&p, AARCH64, 100_000), RET_FILTER);
    }

    #[test]
    fn x86_64_without_x32_leaves_x32_to_the_filter() {
        let p = with_filter(&[(StubArch::X86_64, 450)]);
        assert_eq!(run(&p, AUDIT_ARCH_X86_64, 451), RET_ERRNO_ENOSYS);
        assert_eq!(run(&p, AUDIT_ARCH_X86_64, X32_SYSCALL_BIT | 9999), RET_FILTER);
        let p = with_filter(&[(StubArch::X32, X32_SYSCALL_BIT | 547)]);
        assert_eq!(run(&p, AUDIT_ARCH_X86_64, 9999), RET_FILTER);
        assert_eq!(run(&p, AUDIT_ARCH_X86_64, X32_SYSCALL_BIT | 548), RET_ERRNO_ENOSYS);
    }

    #[test]
    fn s390_setup_multiplexer() {
        let p = with_filter(&[(StubArch::S390(S390X), 460)]);
        assert_eq!(run(&p, S390X, 0), RET_ERRNO_ENOSYS);
        assert_eq!(run(&p, S390X, 1), RET_FILTER);
        assert_eq!(run(&p, S390X, 461), RET_ERRNO_ENOSYS);
    }

    #[test]
    fn long_jumps() {
        // Enough architectures that the jumps past the later sections exceed 255 instructions.
        let mut largest: Vec<(StubArch, u32)> = (0..100).map(|i| (StubArch::Other(0x1000 + i), 100 + i)).collect();
        largest.push((StubArch::X86_64, 450));
        largest.push((StubArch::X32, X32_SYSCALL_BIT | 547));
        let p = with_filter(&largest);
        assert!(p.len() > 300);
        for i in 0..100u32 {
            assert_eq!(run(&p, 0x1000 + i, 100 + i), RET_FILTER);
            assert_eq!(run(&p, 0x1000 + i, 101 + i), RET_ERRNO_ENOSYS);
        }
        assert_eq!(run(&p, AUDIT_ARCH_X86_64, 450), RET_FILTER);
        assert_eq!(run(&p, AUDIT_ARCH_X86_64, 451), RET_ERRNO_ENOSYS);
        assert_eq!(run(&p, AUDIT_ARCH_X86_64, X32_SYSCALL_BIT | 547), RET_FILTER);
        assert_eq!(run(&p, AUDIT_ARCH_X86_64, X32_SYSCALL_BIT | 548), RET_ERRNO_ENOSYS);
        assert_eq!(run(&p, AARCH64, 1), RET_FILTER);
    }

    #[test]
    fn nothing_to_check() {
        assert!(stub(&[]).is_empty());
    }

    #[test]
    fn duplicate_arches_keep_the_first() {
        let p = with_filter(&[(StubArch::X86_64, 450), (StubArch::X86_64, 10)]);
        assert_eq!(run(&p, AUDIT_ARCH_X86_64, 450), RET_FILTER);
    }
}
