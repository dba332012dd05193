//! Compiling an [`Effective`] device rule set into a `BPF_PROG_TYPE_CGROUP_DEVICE` program.
//!
//! The kernel runs the program on every device open/mknod with a `struct
//! bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; }` in `r1`, where
//! `access_type = access << 16 | type` (type: block 1, char 2; access: mknod 1, read 2,
//! write 4). Returning 1 allows, 0 denies (`EPERM`). The layout follows runc's
//! `libcontainer/cgroups/devices/devicefilter.go` (itself after crun's `ebpf.c`):
//!
//! ```text
//!   r2 = ctx->access_type & 0xffff     ; type
//!   r3 = ctx->access_type >> 16        ; requested access
//!   r4 = ctx->major
//!   r5 = ctx->minor
//! block i (one per exception):
//!   if r2 != TYPE goto block i+1
//!   allow-list mode: if (r3 & ACCESS) != r3 goto block i+1   ; request within the grant
//!   deny-list mode:  if (r3 & ACCESS) == 0  goto block i+1   ; request touches the denial
//!   if r4 != MAJOR goto block i+1      ; omitted for *
//!   if r5 != MINOR goto block i+1      ; omitted for *
//!   r0 = !default; exit
//! r0 = default; exit
//! ```
//!
//! The two access checks match the v1 kernel: in allow-list mode a request must be covered
//! by one exception; in deny-list mode any overlap with a denied entry denies.

use crate::bpf::Insn;
use crate::devices::{DeviceKind, Effective};

const R0: u8 = 0;
const R1: u8 = 1;
const R2: u8 = 2;
const R3: u8 = 3;
const R4: u8 = 4;
const R5: u8 = 5;

// Opcodes: class | op | source.
const LDX_MEM_W: u8 = 0x61; // BPF_LDX | BPF_MEM | BPF_W
const ALU_AND_K: u8 = 0x54; // BPF_ALU | BPF_AND | BPF_K
const ALU_RSH_K: u8 = 0x74; // BPF_ALU | BPF_RSH | BPF_K
const ALU_MOV_K: u8 = 0xb4; // BPF_ALU | BPF_MOV | BPF_K
const ALU_MOV_X: u8 = 0xbc; // BPF_ALU | BPF_MOV | BPF_X
const JMP_JEQ_K: u8 = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
const JMP_JNE_K: u8 = 0x55; // BPF_JMP | BPF_JNE | BPF_K
const JMP_JNE_X: u8 = 0x5d; // BPF_JMP | BPF_JNE | BPF_X
const JMP_EXIT: u8 = 0x95; // BPF_JMP | BPF_EXIT

/// `BPF_DEVCG_DEV_BLOCK` / `BPF_DEVCG_DEV_CHAR`.
const DEV_BLOCK: i32 = 1;
const DEV_CHAR: i32 = 2;

/// The license string the program is loaded with (as runc).
pub(crate) const LICENSE: &std::ffi::CStr = c"Apache";

fn insn(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
    Insn { code, regs: dst | (src << 4), off, imm }
}

/// A conditional jump whose target (the start of the next block) is patched later.
enum Op {
    Insn(Insn),
    JumpNext { code: u8, dst: u8, src: u8, imm: i32 },
}

/// Compiles the rule set. Rules must have been validated (`devices::validate`): numbers fit
/// in `i32`, no `a` entries among the exceptions.
pub(crate) fn compile(eff: &Effective) -> Vec<Insn> {
    let mut out = vec![
        insn(LDX_MEM_W, R2, R1, 0, 0),
        insn(ALU_AND_K, R2, 0, 0, 0xffff),
        insn(LDX_MEM_W, R3, R1, 0, 0),
        insn(ALU_RSH_K, R3, 0, 0, 16),
        insn(LDX_MEM_W, R4, R1, 4, 0),
        insn(LDX_MEM_W, R5, R1, 8, 0),
    ];
    let verdict = |allow: bool| i32::from(allow);
    for rule in &eff.exceptions {
        let dev_type = match rule.kind {
            DeviceKind::Block => DEV_BLOCK,
            DeviceKind::Char => DEV_CHAR,
            // `effective` never keeps `a` rules as exceptions.
            DeviceKind::All => continue,
        };
        let mut block = vec![Op::JumpNext { code: JMP_JNE_K, dst: R2, src: 0, imm: dev_type }];
        let access = i32::from(rule.access.bits());
        if eff.default_allow {
            // Deny entry: skip unless the request overlaps it.
            block.push(Op::Insn(insn(ALU_MOV_X, R1, R3, 0, 0)));
            block.push(Op::Insn(insn(ALU_AND_K, R1, 0, 0, access)));
            block.push(Op::JumpNext { code: JMP_JEQ_K, dst: R1, src: 0, imm: 0 });
        } else if access != 7 {
            // Allow entry: skip unless the request is within it (always true for rwm).
            block.push(Op::Insn(insn(ALU_MOV_X, R1, R3, 0, 0)));
            block.push(Op::Insn(insn(ALU_AND_K, R1, 0, 0, access)));
            block.push(Op::JumpNext { code: JMP_JNE_X, dst: R1, src: R3, imm: 0 });
        }
        for (reg, number) in [(R4, rule.major), (R5, rule.minor)] {
            if let Some(n) = number {
                block.push(Op::JumpNext {
                    code: JMP_JNE_K,
                    dst: reg,
                    src: 0,
                    imm: i32::try_from(n).expect("validated: device numbers fit in i32"),
                });
            }
        }
        block.push(Op::Insn(insn(ALU_MOV_K, R0, 0, 0, verdict(!eff.default_allow))));
        block.push(Op::Insn(insn(JMP_EXIT, 0, 0, 0, 0)));

        let len = block.len();
        for (i, op) in block.into_iter().enumerate() {
            out.push(match op {
                Op::Insn(x) => x,
                Op::JumpNext { code, dst, src, imm } => {
                    // Jumps are relative to the next instruction.
                    let off = i16::try_from(len - i - 1).expect("blocks are a few instructions");
                    insn(code, dst, src, off, imm)
                }
            });
        }
    }
    out.push(insn(ALU_MOV_K, R0, 0, 0, verdict(eff.default_allow)));
    out.push(insn(JMP_EXIT, 0, 0, 0, 0));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::devices::{DeviceAccess, DeviceRule, default_device_rules, effective};

    /// A tiny interpreter for the instructions `compile` emits, so the program's decisions
    /// can be unit-tested without the kernel.
    fn run(prog: &[Insn], dev_type: u32, access: u8, major: u32, minor: u32) -> u64 {
        let ctx = [(u32::from(access) << 16) | dev_type, major, minor];
        let mut r = [0u64; 11];
        let mut pc = 0usize;
        for _ in 0..10_000 {
            let i = prog[pc];
            let (dst, src) = (usize::from(i.regs & 0xf), usize::from(i.regs >> 4));
            let imm = i64::from(i.imm) as u64;
            let mut next = pc + 1;
            let jump = |taken: bool| {
                if taken { (pc as i64 + 1 + i64::from(i.off)) as usize } else { pc + 1 }
            };
            match i.code {
                LDX_MEM_W => {
                    assert_eq!(src, 1, "loads only from the context");
                    r[dst] = u64::from(ctx[usize::try_from(i.off).expect("non-negative offset") / 4]);
                }
                ALU_AND_K => r[dst] = (r[dst] & imm) & 0xffff_ffff,
                ALU_RSH_K => r[dst] = (r[dst] & 0xffff_ffff) >> i.imm,
                ALU_MOV_K => r[dst] = imm & 0xffff_ffff,
                ALU_MOV_X => r[dst] = r[src] & 0xffff_ffff,
                JMP_JEQ_K => next = jump(r[dst] == imm),
                JMP_JNE_K => next = jump(r[dst] != imm),
                JMP_JNE_X => next = jump(r[dst] != r[src]),
                JMP_EXIT => return r[0],
                other => panic!("unexpected opcode {other:#x}"),
            }
            pc = next;
        }
        panic!("program did not exit");
    }

    const R: u8 = 2;
    const W: u8 = 4;
    const M: u8 = 1;
    const C: u32 = 2;
    const B: u32 = 1;

    #[test]
    fn default_rules_program() {
        let prog = compile(&effective(&default_device_rules()));
        // null, zero, urandom, tun, pts
        assert_eq!(run(&prog, C, R | W, 1, 3), 1);
        assert_eq!(run(&prog, C, R, 1, 5), 1);
        assert_eq!(run(&prog, C, R, 1, 9), 1);
        assert_eq!(run(&prog, C, R | W, 10, 200), 1);
        assert_eq!(run(&prog, C, R | W, 136, 12345), 1);
        // mknod of anything
        assert_eq!(run(&prog, C, M, 4, 1), 1);
        assert_eq!(run(&prog, B, M, 8, 0), 1);
        // but no reads/writes of disks, mem, kmsg, or tty1
        assert_eq!(run(&prog, B, R, 8, 0), 0);
        assert_eq!(run(&prog, B, R | M, 8, 0), 0);
        assert_eq!(run(&prog, C, R, 1, 1), 0);
        assert_eq!(run(&prog, C, R, 1, 11), 0);
        assert_eq!(run(&prog, C, W, 4, 1), 0);
        // type matters: block 1:3 is not /dev/null
        assert_eq!(run(&prog, B, R, 1, 3), 0);
    }

    #[test]
    fn partial_access_allow_list() {
        let rules =
            [DeviceRule::DENY_ALL, DeviceRule::allow_char(Some(1), Some(3), DeviceAccess::parse("r").expect("valid"))];
        let prog = compile(&effective(&rules));
        assert_eq!(run(&prog, C, R, 1, 3), 1);
        assert_eq!(run(&prog, C, R | W, 1, 3), 0);
        assert_eq!(run(&prog, C, W, 1, 3), 0);
    }

    #[test]
    fn deny_list_mode() {
        let rules = [
            DeviceRule::ALLOW_ALL,
            DeviceRule {
                allow: false,
                ..DeviceRule::allow_char(Some(1), None, DeviceAccess::parse("w").expect("valid"))
            },
        ];
        let prog = compile(&effective(&rules));
        assert_eq!(run(&prog, C, R, 1, 3), 1);
        assert_eq!(run(&prog, C, R | W, 1, 3), 0, "overlap with a denial denies");
        assert_eq!(run(&prog, C, W, 1, 5), 0);
        assert_eq!(run(&prog, C, W, 2, 5), 1);
        assert_eq!(run(&prog, B, R | W | M, 8, 0), 1);
    }

    #[test]
    fn empty_rules_deny_everything() {
        let prog = compile(&effective(&[]));
        assert_eq!(prog.len(), 8);
        assert_eq!(run(&prog, C, R, 1, 3), 0);
    }

    #[test]
    fn first_instructions_match_runc_layout() {
        let prog = compile(&effective(&[DeviceRule::DENY_ALL]));
        assert_eq!(
            prog[..2],
            [Insn { code: 0x61, regs: 0x12, off: 0, imm: 0 }, Insn { code: 0x54, regs: 0x02, off: 0, imm: 0xffff },]
        );
        assert_eq!(prog[prog.len() - 1], Insn { code: 0x95, regs: 0, off: 0, imm: 0 });
    }
}
