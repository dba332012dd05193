//! Compiling a [`Plan`] to a seccomp program with libseccomp, the way runc does.
//!
//! runc (`libcontainer/seccomp/seccomp_linux.go`, `InitSeccomp`/`matchCall`) creates a libseccomp
//! filter with the default action, adds the plan's architectures, and for every syscall name of every
//! applicable rule: skips rules whose action equals the default action (libseccomp rejects them),
//! skips names libseccomp does not know, and adds one libseccomp rule per condition set. Then it
//! prepends its `-ENOSYS` stub ([`crate::enosys`]) and loads the result.
//!
//! berth does all of that except loading: the program is exported as bytes ([`Bpf`]) so it can be
//! cached and loaded later by the container's init with `seccomp(SECCOMP_SET_MODE_FILTER)`. The
//! libseccomp attributes that affect loading rather than the program — `CTL_NNP` (libseccomp would call
//! `prctl(PR_SET_NO_NEW_PRIVS)`), `CTL_TSYNC`, `CTL_LOG`, `CTL_SSB` (seccomp(2) flags) — are not part of
//! the exported program. NNP and TSYNC are turned off anyway, as runc does, so the filter context
//! means the same thing if someone ever calls `load()` on it; whether a container gets no_new_privs is
//! decided by the runtime (`--security-opt no-new-privileges`), not by seccomp.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};

use libseccomp::{ScmpAction, ScmpArch, ScmpArgCompare, ScmpCompareOp, ScmpFilterContext, ScmpSyscall};

use crate::bpf::{Bpf, BpfError};
use crate::enosys::{self, StubArch};
use crate::profile::{Arg, Op, Profile, ProfileError};
use crate::resolve::{CompileOptions, NATIVE_ARCH, Plan, RuleAction, resolve};

/// Why a profile could not be compiled.
#[derive(Debug, thiserror::Error)]
pub enum CompileError {
    /// The profile is invalid or uses something unsupported.
    #[error(transparent)]
    Profile(#[from] ProfileError),
    /// libseccomp could not create the filter context.
    #[error("create libseccomp filter")]
    Create(#[source] libseccomp::error::SeccompError),
    /// libseccomp refused a filter attribute.
    #[error("set libseccomp filter attribute {attribute}")]
    Attribute {
        /// The attribute, e.g. `CTL_NNP`.
        attribute: &'static str,
        /// libseccomp's error.
        #[source]
        source: libseccomp::error::SeccompError,
    },
    /// libseccomp could not add an architecture.
    #[error("add architecture {arch} to seccomp filter")]
    Arch {
        /// The `SCMP_ARCH_*` name.
        arch: String,
        /// libseccomp's error.
        #[source]
        source: libseccomp::error::SeccompError,
    },
    /// libseccomp refused a rule.
    #[error("add seccomp rule for syscall {syscall} (profile rule {rule})")]
    Rule {
        /// The syscall name.
        syscall: String,
        /// Position of the rule in the profile's `syscalls`.
        rule: usize,
        /// libseccomp's error.
        #[source]
        source: libseccomp::error::SeccompError,
    },
    /// The in-memory file the program is exported to could not be created or read.
    #[error("collect exported seccomp program")]
    Memfd(#[source] io::Error),
    /// libseccomp could not generate the program.
    #[error("export seccomp program")]
    Export(#[source] libseccomp::error::SeccompError),
    /// The generated program is unusable (for example longer than the kernel accepts).
    #[error("generated seccomp program is invalid")]
    Program(#[source] BpfError),
    /// The program could not be written to its cache file (see [`crate::Cache::program_file`]).
    #[error("write seccomp program file {}", path.display())]
    Store {
        /// The cache file.
        path: std::path::PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
}

/// The architectures runc accepts (`libcontainer/seccomp/config.go` `archs`), with what the `-ENOSYS`
/// stub needs to know about each: its `AUDIT_ARCH_*` value and ABI quirks.
const ARCHES: &[(&str, ScmpArch, StubArch)] = &[
    ("SCMP_ARCH_X86", ScmpArch::X86, StubArch::Other(0x4000_0003)),
    ("SCMP_ARCH_X86_64", ScmpArch::X8664, StubArch::X86_64),
    ("SCMP_ARCH_X32", ScmpArch::X32, StubArch::X32),
    ("SCMP_ARCH_ARM", ScmpArch::Arm, StubArch::Other(0x4000_0028)),
    ("SCMP_ARCH_AARCH64", ScmpArch::Aarch64, StubArch::Other(0xC000_00B7)),
    ("SCMP_ARCH_MIPS", ScmpArch::Mips, StubArch::Other(0x0000_0008)),
    ("SCMP_ARCH_MIPS64", ScmpArch::Mips64, StubArch::Other(0x8000_0008)),
    ("SCMP_ARCH_MIPS64N32", ScmpArch::Mips64N32, StubArch::Other(0xA000_0008)),
    ("SCMP_ARCH_MIPSEL", ScmpArch::Mipsel, StubArch::Other(0x4000_0008)),
    ("SCMP_ARCH_MIPSEL64", ScmpArch::Mipsel64, StubArch::Other(0xC000_0008)),
    ("SCMP_ARCH_MIPSEL64N32", ScmpArch::Mipsel64N32, StubArch::Other(0xE000_0008)),
    ("SCMP_ARCH_PPC", ScmpArch::Ppc, StubArch::Other(0x0000_0014)),
    ("SCMP_ARCH_PPC64", ScmpArch::Ppc64, StubArch::Other(0x8000_0015)),
    ("SCMP_ARCH_PPC64LE", ScmpArch::Ppc64Le, StubArch::Other(0xC000_0015)),
    ("SCMP_ARCH_RISCV64", ScmpArch::Riscv64, StubArch::Other(0xC000_00F3)),
    ("SCMP_ARCH_S390", ScmpArch::S390, StubArch::S390(0x0000_0016)),
    ("SCMP_ARCH_S390X", ScmpArch::S390X, StubArch::S390(0x8000_0016)),
];

fn arch_entry(name: &str) -> Option<(ScmpArch, StubArch)> {
    ARCHES.iter().find(|(n, _, _)| *n == name).map(|&(_, scmp, stub)| (scmp, stub))
}

/// True for the `SCMP_ARCH_*` names a profile may use.
pub(crate) fn is_known_arch(name: &str) -> bool {
    arch_entry(name).is_some()
}

/// Compiles `profile` for a container with `opts.caps` on this host (native architecture
/// [`NATIVE_ARCH`], kernel `opts.kernel`). Takes 10-20 ms for Docker's default profile; use
/// [`crate::Cache`] to do it once per host.
///
/// Returns `Ok(None)` if the profile turns seccomp off (see [`Profile::is_unconfined`]).
pub fn compile(profile: &Profile, opts: &CompileOptions<'_>) -> Result<Option<Bpf>, CompileError> {
    match resolve(profile, opts, NATIVE_ARCH)? {
        None => Ok(None),
        Some(plan) => compile_plan(&plan).map(Some),
    }
}

/// Compiles a plan from [`resolve`] for this host.
pub fn compile_plan(plan: &Plan) -> Result<Bpf, CompileError> {
    let default_action = scmp_action(plan.default_action);
    let mut filter = ScmpFilterContext::new(default_action).map_err(CompileError::Create)?;
    filter.set_ctl_nnp(false).map_err(|source| CompileError::Attribute { attribute: "CTL_NNP", source })?;
    filter.set_ctl_tsync(false).map_err(|source| CompileError::Attribute { attribute: "CTL_TSYNC", source })?;
    // A binary tree over syscall numbers instead of a linear list: Docker's profile allows
    // ~350 syscalls, and every syscall of the container runs this program (measured: ~8 % of
    // a fork-per-request HTTP server's time with the linear program, as much as no filter).
    filter.set_ctl_optimize(2).map_err(|source| CompileError::Attribute { attribute: "CTL_OPTIMIZE", source })?;

    let mut stub_arches = Vec::new();
    for name in &plan.architectures {
        let (arch, stub_arch) =
            arch_entry(name).ok_or_else(|| CompileError::Profile(ProfileError::Architecture(name.clone())))?;
        filter.add_arch(arch).map_err(|source| CompileError::Arch { arch: name.clone(), source })?;
        stub_arches.push((arch, stub_arch));
    }

    for rule in &plan.rules {
        let action = scmp_action(rule.action);
        if action == default_action {
            // Redundant, and libseccomp would refuse it.
            continue;
        }
        for name in &rule.names {
            // Unknown to libseccomp: assume the kernel does not have it either, as runc does.
            let Ok(syscall) = ScmpSyscall::from_name(name) else {
                continue;
            };
            for conditions in &rule.condition_sets {
                let comparators: Vec<ScmpArgCompare> = conditions.iter().map(arg_compare).collect();
                filter.add_rule_conditional(action, syscall, &comparators).map_err(|source| CompileError::Rule {
                    syscall: name.clone(),
                    rule: rule.index,
                    source,
                })?;
            }
        }
    }

    let mut program = if needs_enosys_stub(plan.default_action) {
        enosys::stub(&largest_syscalls(plan, &stub_arches))
    } else {
        Vec::new()
    };
    program.extend(export(&filter)?.instructions());
    Bpf::from_instructions(&program).map_err(CompileError::Program)
}

/// runc's rule for the stub: not when the default action lets syscalls run (new syscalls would run
/// too), and not when it already is ENOSYS.
fn needs_enosys_stub(default_action: RuleAction) -> bool {
    !default_action.is_permissive() && default_action != RuleAction::Errno(38)
}

/// For each architecture of the filter, the largest syscall number any applicable rule names
/// (runc `findLastSyscalls`): rules with the default's action count too, unknown names do not.
fn largest_syscalls(plan: &Plan, arches: &[(ScmpArch, StubArch)]) -> Vec<(StubArch, u32)> {
    let mut largest = Vec::new();
    for &(arch, stub_arch) in arches {
        let max = plan
            .rules
            .iter()
            .flat_map(|r| &r.names)
            .filter_map(|name| ScmpSyscall::from_name_by_arch(name, arch).ok())
            .map(i32::from)
            .max()
            .unwrap_or(0);
        // Negative numbers are libseccomp's pseudo-syscalls (not on this arch); 0 means none found.
        if let Ok(max @ 1..) = u32::try_from(max) {
            largest.push((stub_arch, max));
        }
    }
    largest
}

/// Runs `seccomp_export_bpf` into a memfd and reads the program back.
fn export(filter: &ScmpFilterContext) -> Result<Bpf, CompileError> {
    let fd = rustix::fs::memfd_create("berth-seccomp-bpf", rustix::fs::MemfdFlags::CLOEXEC)
        .map_err(|e| CompileError::Memfd(e.into()))?;
    let mut file = File::from(fd);
    filter.export_bpf(&file).map_err(CompileError::Export)?;
    let mut bytes = Vec::new();
    file.seek(SeekFrom::Start(0)).and_then(|_| file.read_to_end(&mut bytes)).map_err(CompileError::Memfd)?;
    Bpf::from_bytes(bytes).map_err(CompileError::Program)
}

fn scmp_action(action: RuleAction) -> ScmpAction {
    match action {
        RuleAction::Allow => ScmpAction::Allow,
        RuleAction::Errno(errno) => ScmpAction::Errno(i32::from(errno)),
        RuleAction::KillThread => ScmpAction::KillThread,
        RuleAction::KillProcess => ScmpAction::KillProcess,
        RuleAction::Trap => ScmpAction::Trap,
        RuleAction::Trace(msg) => ScmpAction::Trace(msg),
        RuleAction::Log => ScmpAction::Log,
    }
}

/// runc `getCondition`: `value` is the first datum (the mask for MASKED_EQ), `valueTwo` the second.
fn arg_compare(arg: &Arg) -> ScmpArgCompare {
    let (op, datum) = match arg.op {
        Op::NotEqual => (ScmpCompareOp::NotEqual, arg.value),
        Op::LessThan => (ScmpCompareOp::Less, arg.value),
        Op::LessOrEqual => (ScmpCompareOp::LessOrEqual, arg.value),
        Op::Equal => (ScmpCompareOp::Equal, arg.value),
        Op::GreaterOrEqual => (ScmpCompareOp::GreaterEqual, arg.value),
        Op::GreaterThan => (ScmpCompareOp::Greater, arg.value),
        Op::MaskedEqual => (ScmpCompareOp::MaskedEqual(arg.value), arg.value_two),
    };
    ScmpArgCompare::new(arg.index, op, datum)
}

// The expectations use x86_64 syscall numbers and ABIs.
#[cfg(all(test, target_arch = "x86_64"))]
mod tests {
    use std::time::Instant;

    use super::*;
    use crate::bpf::Instruction;
    use crate::enosys::tests::run_with_args;
    use crate::enosys::{AUDIT_ARCH_X86_64, RET_ERRNO_ENOSYS};
    use crate::kernel::KernelVersion;
    use crate::tests::{all_caps, default_caps};

    const RET_ALLOW: u32 = 0x7FFF_0000;
    const RET_EPERM: u32 = 0x0005_0001;
    const AUDIT_ARCH_I386: u32 = 0x4000_0003;
    const X32_BIT: u32 = 1 << 30;

    fn compile_default(caps: &[String]) -> Bpf {
        let opts = CompileOptions { caps, kernel: KernelVersion::new(6, 18) };
        compile(&Profile::docker_default(), &opts).unwrap().unwrap()
    }

    fn compile_json(json: &str) -> Result<Option<Bpf>, CompileError> {
        let opts = CompileOptions { caps: &[], kernel: KernelVersion::new(6, 18) };
        compile(&Profile::from_json(json).unwrap(), &opts)
    }

    /// Runs `program` on a syscall of the x86_64 ABI.
    fn x86_64(program: &[Instruction], name: &str, args: [u64; 6]) -> u32 {
        let nr = ScmpSyscall::from_name_by_arch(name, ScmpArch::X8664).unwrap();
        run_with_args(program, AUDIT_ARCH_X86_64, u32::try_from(i32::from(nr)).unwrap(), args)
    }

    #[test]
    fn default_profile_default_caps() {
        let start = Instant::now();
        let bpf = compile_default(&default_caps());
        println!(
            "compiled the default profile for the default caps in {:.2} ms: {} instructions",
            start.elapsed().as_secs_f64() * 1e3,
            bpf.len()
        );
        let p: Vec<Instruction> = bpf.instructions().collect();

        assert_eq!(x86_64(&p, "getpid", [0; 6]), RET_ALLOW);
        assert_eq!(x86_64(&p, "read", [0; 6]), RET_ALLOW);
        assert_eq!(x86_64(&p, "chroot", [0; 6]), RET_ALLOW, "CAP_SYS_CHROOT is a default cap");
        assert_eq!(x86_64(&p, "mount", [0; 6]), RET_EPERM);
        assert_eq!(x86_64(&p, "kexec_load", [0; 6]), RET_EPERM);
        assert_eq!(x86_64(&p, "bpf", [0; 6]), RET_EPERM);
        assert_eq!(x86_64(&p, "clone3", [0; 6]), RET_ERRNO_ENOSYS, "clone3 without CAP_SYS_ADMIN");
        // clone: allowed without namespace flags only.
        assert_eq!(x86_64(&p, "clone", [0x11, 0, 0, 0, 0, 0]), RET_ALLOW);
        assert_eq!(x86_64(&p, "clone", [0x1000_0000, 0, 0, 0, 0, 0]), RET_EPERM, "CLONE_NEWUSER");
        // personality: only the listed values.
        assert_eq!(x86_64(&p, "personality", [8, 0, 0, 0, 0, 0]), RET_ALLOW);
        assert_eq!(x86_64(&p, "personality", [0x1234, 0, 0, 0, 0, 0]), RET_EPERM);
        // socket: any family but 40 (AF_VSOCK).
        assert_eq!(x86_64(&p, "socket", [2, 0, 0, 0, 0, 0]), RET_ALLOW);
        assert_eq!(x86_64(&p, "socket", [40, 0, 0, 0, 0, 0]), RET_EPERM);
        // Past the largest syscall the profile names: runc's -ENOSYS stub.
        assert_eq!(run_with_args(&p, AUDIT_ARCH_X86_64, 1000, [0; 6]), RET_ERRNO_ENOSYS);

        // The 32-bit ABIs are covered too.
        let i386 = |name: &str| {
            let nr = ScmpSyscall::from_name_by_arch(name, ScmpArch::X86).unwrap();
            run_with_args(&p, AUDIT_ARCH_I386, u32::try_from(i32::from(nr)).unwrap(), [0; 6])
        };
        assert_eq!(i386("getpid"), RET_ALLOW);
        assert_eq!(i386("mount"), RET_EPERM);
        assert_eq!(run_with_args(&p, AUDIT_ARCH_I386, 2000, [0; 6]), RET_ERRNO_ENOSYS);
        let x32_getpid = ScmpSyscall::from_name_by_arch("getpid", ScmpArch::X32).unwrap();
        let x32_getpid = u32::try_from(i32::from(x32_getpid)).unwrap();
        assert_eq!(x32_getpid & X32_BIT, X32_BIT, "libseccomp reports x32 numbers with the x32 bit");
        assert_eq!(run_with_args(&p, AUDIT_ARCH_X86_64, x32_getpid, [0; 6]), RET_ALLOW);
        // Other architectures: libseccomp's default bad-arch action, SECCOMP_RET_KILL_THREAD.
        assert_eq!(run_with_args(&p, 0xC000_00B7, 39, [0; 6]), 0);
    }

    #[test]
    fn default_profile_all_caps() {
        let all = all_caps();
        let bpf = compile_default(&all);
        let p: Vec<Instruction> = bpf.instructions().collect();
        assert_eq!(x86_64(&p, "mount", [0; 6]), RET_ALLOW);
        assert_eq!(x86_64(&p, "bpf", [0; 6]), RET_ALLOW);
        assert_eq!(x86_64(&p, "clone", [0x1000_0000, 0, 0, 0, 0, 0]), RET_ALLOW);
        assert_eq!(x86_64(&p, "clone3", [0; 6]), RET_ALLOW);
        assert_ne!(bpf, compile_default(&default_caps()));
    }

    #[test]
    fn compiling_is_deterministic() {
        assert_eq!(compile_default(&default_caps()), compile_default(&default_caps()));
    }

    #[test]
    fn unknown_syscall_names_are_skipped() {
        let plan = resolve(
            &Profile::docker_default(),
            &CompileOptions { caps: &all_caps(), kernel: KernelVersion::new(6, 18) },
            NATIVE_ARCH,
        )
        .unwrap()
        .unwrap();
        let unknown: Vec<&str> = plan
            .rules
            .iter()
            .flat_map(|r| &r.names)
            .filter(|n| ScmpSyscall::from_name(n).is_err())
            .map(String::as_str)
            .collect();
        let version = libseccomp::ScmpVersion::current().unwrap();
        println!(
            "libseccomp {}.{}.{} does not know {} names of the default profile: {unknown:?}",
            version.major,
            version.minor,
            version.micro,
            unknown.len()
        );
        let bpf = compile_json(
            r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["getpid", "no_such_syscall"], "action": "SCMP_ACT_ALLOW"}]}"#,
        )
        .unwrap()
        .unwrap();
        let p: Vec<Instruction> = bpf.instructions().collect();
        assert_eq!(x86_64(&p, "getpid", [0; 6]), RET_ALLOW);
    }

    #[test]
    fn rules_with_the_default_action_are_skipped() {
        let bpf = compile_json(
            r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
                {"names": ["getpid"], "action": "SCMP_ACT_ALLOW"},
                {"names": ["mount"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}]}"#,
        )
        .unwrap()
        .unwrap();
        let p: Vec<Instruction> = bpf.instructions().collect();
        assert_eq!(x86_64(&p, "getpid", [0; 6]), RET_ALLOW);
        assert_eq!(x86_64(&p, "mount", [0; 6]), 0x0005_000D);
        // An allowing default action gets no -ENOSYS stub.
        assert_eq!(run_with_args(&p, AUDIT_ARCH_X86_64, 1000, [0; 6]), RET_ALLOW);
    }

    #[test]
    fn repeated_arg_index_means_any_of() {
        let bpf = compile_json(
            r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["personality"], "action": "SCMP_ACT_ALLOW", "args": [
                {"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}, {"index": 0, "value": 2, "op": "SCMP_CMP_EQ"}]}]}"#,
        )
        .unwrap()
        .unwrap();
        let p: Vec<Instruction> = bpf.instructions().collect();
        assert_eq!(x86_64(&p, "personality", [1, 0, 0, 0, 0, 0]), RET_ALLOW);
        assert_eq!(x86_64(&p, "personality", [2, 0, 0, 0, 0, 0]), RET_ALLOW);
        assert_eq!(x86_64(&p, "personality", [3, 0, 0, 0, 0, 0]), RET_EPERM);
    }

    #[test]
    fn masked_eq_uses_value_as_mask() {
        let bpf = compile_json(
            r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["personality"], "action": "SCMP_ACT_ALLOW", "args": [
                {"index": 0, "value": 240, "valueTwo": 32, "op": "SCMP_CMP_MASKED_EQ"}]}]}"#,
        )
        .unwrap()
        .unwrap();
        let p: Vec<Instruction> = bpf.instructions().collect();
        assert_eq!(x86_64(&p, "personality", [0x2F, 0, 0, 0, 0, 0]), RET_ALLOW);
        assert_eq!(x86_64(&p, "personality", [0x3F, 0, 0, 0, 0, 0]), RET_EPERM);
    }

    #[test]
    fn unconfined_profile_compiles_to_nothing() {
        assert!(compile_json("{}").unwrap().is_none());
    }

    #[test]
    fn errors_have_kinds() {
        let err =
            compile_json(r#"{"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_PDP11"]}"#).unwrap_err();
        assert_eq!(err.to_string(), "unsupported seccomp architecture \"SCMP_ARCH_PDP11\"");
        assert_eq!(err.kind(), crate::ErrorKind::InvalidArgument);
    }

    #[test]
    fn no_new_privs_and_tsync_are_not_in_the_program() {
        // They are applied by seccomp_load(), not encoded in the exported program: berth's loader
        // decides them, and the exported bytes are the same either way.
        let export_with = |nnp: bool, tsync: bool| {
            let mut f = ScmpFilterContext::new(ScmpAction::Errno(1)).unwrap();
            f.set_ctl_nnp(nnp).unwrap();
            f.set_ctl_tsync(tsync).unwrap();
            f.add_rule(ScmpAction::Allow, ScmpSyscall::from_name("getpid").unwrap()).unwrap();
            export(&f).unwrap()
        };
        assert_eq!(export_with(true, true), export_with(false, false));
    }

    /// Loads the compiled default profile into a forked child and checks what the kernel does.
    #[test]
    fn kernel_enforces_the_default_program() {
        // What the child checks, in order; its exit code is the index of the first failed check + 1.
        const CHECKS: [&str; 8] = [
            "prctl(PR_SET_NO_NEW_PRIVS) succeeds",
            "seccomp(SECCOMP_SET_MODE_FILTER) loads the program",
            "getpid works",
            "mount fails with EPERM",
            "kexec_load fails with EPERM",
            "clone3 fails with ENOSYS (the profile's errnoRet for it)",
            "personality(0xffffffff) works, personality(0x1234) fails with EPERM",
            "lsm_list_modules (unknown to libseccomp 2.5.4) fails with ENOSYS from the stub, not EPERM",
        ];

        let kernel = KernelVersion::current().unwrap();
        let caps = default_caps();
        let bpf = compile(&Profile::docker_default(), &CompileOptions { caps: &caps, kernel }).unwrap().unwrap();
        let mut filter: Vec<libc::sock_filter> =
            bpf.instructions().map(|i| libc::sock_filter { code: i.code, jt: i.jt, jf: i.jf, k: i.k }).collect();
        let prog = libc::sock_fprog { len: u16::try_from(filter.len()).unwrap(), filter: filter.as_mut_ptr() };

        // SAFETY: the child only makes raw syscalls on memory prepared before the fork (no allocation,
        // no locks) and leaves with _exit, so forking from the multi-threaded test harness is sound.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "fork: {}", std::io::Error::last_os_error());
        if pid == 0 {
            // SAFETY: see above; `prog` outlives the calls, the child never returns.
            unsafe { libc::_exit(child_checks(&prog)) }
        }
        let mut status = 0;
        // SAFETY: waits for the child forked above; `status` is a valid out pointer.
        let waited = unsafe { libc::waitpid(pid, &mut status, 0) };
        assert_eq!(waited, pid, "waitpid: {}", std::io::Error::last_os_error());
        assert!(libc::WIFEXITED(status), "child did not exit normally: status {status:#x}");
        let code = libc::WEXITSTATUS(status);
        if code != 0 {
            let failed = usize::try_from(code - 1).ok().and_then(|i| CHECKS.get(i)).copied().unwrap_or("unknown");
            panic!("check failed in the confined child: {failed}");
        }
        drop(filter);
    }

    /// Runs in the forked child: confine it, then probe. Async-signal-safe: raw syscalls only.
    ///
    /// # Safety
    /// Must run in a freshly forked child that exits right after.
    unsafe fn child_checks(prog: &libc::sock_fprog) -> i32 {
        // SAFETY: reading this thread's errno.
        let errno = || unsafe { *libc::__errno_location() };
        // Variadic syscall(2) arguments must be full-width longs.
        const NULL: libc::c_long = 0;
        // SAFETY: every call below takes integers, null pointers, or `prog`, which the caller keeps
        // alive; failures come back as return values and errno.
        unsafe {
            if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
                return 1;
            }
            if libc::syscall(
                libc::SYS_seccomp,
                libc::c_long::from(libc::SECCOMP_SET_MODE_FILTER),
                NULL,
                prog as *const libc::sock_fprog,
            ) != 0
            {
                return 2;
            }
            if libc::syscall(libc::SYS_getpid) <= 0 {
                return 3;
            }
            // As root and unconfined, these would fail with EFAULT/EINVAL, not EPERM.
            if libc::syscall(libc::SYS_mount, NULL, NULL, NULL, NULL, NULL) != -1 || errno() != libc::EPERM {
                return 4;
            }
            if libc::syscall(libc::SYS_kexec_load, NULL, NULL, NULL, NULL) != -1 || errno() != libc::EPERM {
                return 5;
            }
            if libc::syscall(libc::SYS_clone3, NULL, NULL) != -1 || errno() != libc::ENOSYS {
                return 6;
            }
            if libc::syscall(libc::SYS_personality, 0xffff_ffff as libc::c_long) == -1 {
                return 7;
            }
            if libc::syscall(libc::SYS_personality, 0x1234 as libc::c_long) != -1 || errno() != libc::EPERM {
                return 7;
            }
            // lsm_list_modules (x86_64 461, Linux 6.8) with null pointers: EFAULT if it ran, EPERM if
            // the default action caught it, ENOSYS from runc's stub.
            if libc::syscall(461, NULL, NULL, NULL) != -1 || errno() != libc::ENOSYS {
                return 8;
            }
        }
        0
    }
}
