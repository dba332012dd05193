//! Which rules of a profile apply to a container: the pure half of compiling.
//!
//! [`resolve`] turns a [`Profile`] plus the container's capabilities, the host's kernel version and the
//! host's architecture into a [`Plan`]: the default action, the architectures the filter covers, and the
//! rules to add, already split the way runc adds them to libseccomp. It follows, in order:
//!
//! - moby `profiles/seccomp/seccomp_linux.go` `setupSeccomp`: a profile with no `defaultAction` and no
//!   `syscalls` means no filter; `architectures` and `archMap` are exclusive; the filter covers
//!   `architectures` plus the archMap entry of the native architecture; `name` and `names` are
//!   exclusive; a rule is skipped if any `excludes` condition holds (the native arch is listed, any
//!   listed cap is in the bounding set, the kernel is at least `minKernel`) or any `includes` condition
//!   fails (the native arch is not listed, some listed cap is missing, the kernel is older).
//! - runc `libcontainer/specconv` and `libcontainer/seccomp`: actions with their errno (EPERM when
//!   `errnoRet` is absent; `SCMP_ACT_KILL` is kill-thread), architecture names, and the argument rule:
//!   when two conditions of a rule compare the same argument, each condition becomes a rule of its
//!   own (matching any of them), otherwise all conditions form one rule (matching all of them).
//!
//! Syscall names are not checked here: names libseccomp does not know are skipped at compile time,
//! as Docker does, so a profile can list syscalls newer than the library.

use crate::kernel::KernelVersion;
use crate::profile::{Action, Arg, Filter, Profile, ProfileError};

/// The host architecture as moby spells it in `includes.arches`/`excludes.arches` (Go's `GOARCH`
/// mapped through moby's `goToNative`), or `""` for architectures moby does not know.
pub const NATIVE_ARCH: &str = if cfg!(target_arch = "x86_64") {
    "amd64"
} else if cfg!(target_arch = "x86") {
    "x86"
} else if cfg!(target_arch = "aarch64") {
    "arm64"
} else if cfg!(target_arch = "arm") {
    "arm"
} else if cfg!(target_arch = "s390x") {
    "s390x"
} else if cfg!(target_arch = "riscv64") {
    "riscv64"
} else if cfg!(all(target_arch = "powerpc64", target_endian = "little")) {
    "ppc64le"
} else if cfg!(target_arch = "powerpc64") {
    "ppc64"
} else if cfg!(all(target_arch = "mips64", target_endian = "little")) {
    "mipsel64"
} else if cfg!(target_arch = "mips64") {
    "mips64"
} else {
    ""
};

/// `EPERM`, the errno of ERRNO and TRACE actions that do not set one.
const EPERM: u16 = 1;

/// What the compiler needs to know about the container and the host.
#[derive(Debug, Clone, Copy)]
pub struct CompileOptions<'a> {
    /// The container's bounding capability set, spelled `CAP_SYS_ADMIN` (compared exactly, as moby does).
    pub caps: &'a [String],
    /// The running kernel, for `minKernel` conditions; usually [`KernelVersion::current`].
    pub kernel: KernelVersion,
}

/// A rule action with its errno or trace message filled in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RuleAction {
    /// Let the syscall run.
    Allow,
    /// Fail with this errno.
    Errno(u16),
    /// Kill the calling thread (`SCMP_ACT_KILL`, `SCMP_ACT_KILL_THREAD`).
    KillThread,
    /// Kill the process.
    KillProcess,
    /// Send SIGSYS.
    Trap,
    /// Notify a ptrace tracer with this message.
    Trace(u16),
    /// Let the syscall run and log it.
    Log,
}

impl RuleAction {
    /// True for actions that let the syscall run (runc does not add its `-ENOSYS` stub for these as
    /// the default action: TRACE counts, as a tracer is expected to handle new syscalls).
    pub fn is_permissive(self) -> bool {
        matches!(self, Self::Allow | Self::Log | Self::Trace(_))
    }
}

/// What a profile means for one container on this host; the input of [`crate::compile_plan`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Action for syscalls no rule matches.
    pub default_action: RuleAction,
    /// `SCMP_ARCH_*` architectures the filter covers besides the native one (which it always covers).
    pub architectures: Vec<String>,
    /// Applicable rules, in profile order.
    pub rules: Vec<PlannedRule>,
}

/// One applicable entry of the profile's `syscalls`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedRule {
    /// Position of the entry in the profile's `syscalls` (0-based).
    pub index: usize,
    /// The syscall names (from `names`, or the deprecated `name`).
    pub names: Vec<String>,
    /// What happens on a match.
    pub action: RuleAction,
    /// The libseccomp rules to add for each name: each inner list is one rule whose conditions must
    /// all hold; the rule matches if any of them does. `[[]]` when the entry has no `args`.
    pub condition_sets: Vec<Vec<Arg>>,
}

/// Decides which rules of `profile` apply to a container with `opts.caps` on a host running
/// `opts.kernel` whose native architecture is `arch` (in moby's spelling, see [`NATIVE_ARCH`]).
///
/// Returns `Ok(None)` for a profile that means "no filter" (see [`Profile::is_unconfined`]).
pub fn resolve(profile: &Profile, opts: &CompileOptions<'_>, arch: &str) -> Result<Option<Plan>, ProfileError> {
    if profile.is_unconfined() {
        return Ok(None);
    }
    if !profile.architectures.is_empty() && !profile.arch_map.is_empty() {
        return Err(ProfileError::ArchitecturesAndArchMap);
    }
    if let Some(flags) = profile.flags.as_ref().filter(|f| !f.is_empty()) {
        return Err(ProfileError::Flags { flags: flags.clone() });
    }
    if let Some(path) = profile.listener_path.as_ref().filter(|p| !p.is_empty()) {
        return Err(ProfileError::ListenerPath(path.clone()));
    }

    let mut architectures = profile.architectures.clone();
    if let Some(native) = scmp_arch_of(arch)
        && let Some(entry) = profile.arch_map.iter().find(|a| a.architecture == native)
    {
        architectures.push(entry.architecture.clone());
        architectures.extend(entry.sub_architectures.iter().cloned());
    }
    if let Some(unknown) = architectures.iter().find(|a| !crate::compile::is_known_arch(a)) {
        return Err(ProfileError::Architecture(unknown.clone()));
    }

    let default_action = profile.default_action.ok_or(ProfileError::MissingDefaultAction)?;
    let default_action = rule_action(default_action, profile.default_errno_ret, || "defaultAction".to_owned())?;

    let mut rules = Vec::new();
    for (index, call) in profile.syscalls.iter().enumerate() {
        // moby checks this before the conditions, so it fails even for rules that do not apply.
        let names = match (call.name.is_empty(), call.names.is_empty()) {
            (false, false) => return Err(ProfileError::NameAndNames { rule: index }),
            (false, true) => vec![call.name.clone()],
            (true, _) => call.names.clone(),
        };
        if !applies(call.includes.as_ref(), call.excludes.as_ref(), opts, arch) {
            continue;
        }
        let action = rule_action(call.action, call.errno_ret, || format!("syscall rule {index}"))?;
        if let Some(arg) = call.args.iter().find(|a| a.index > 5) {
            return Err(ProfileError::ArgIndex { rule: index, index: arg.index });
        }
        rules.push(PlannedRule { index, names, action, condition_sets: condition_sets(&call.args) });
    }

    Ok(Some(Plan { default_action, architectures, rules }))
}

/// moby's include/exclude test for one rule.
fn applies(includes: Option<&Filter>, excludes: Option<&Filter>, opts: &CompileOptions<'_>, arch: &str) -> bool {
    let has_cap = |cap: &String| opts.caps.contains(cap);
    if let Some(ex) = excludes {
        if ex.arches.iter().any(|a| a == arch) {
            return false;
        }
        if ex.caps.iter().any(has_cap) {
            return false;
        }
        if ex.min_kernel.is_some_and(|min| opts.kernel >= min) {
            return false;
        }
    }
    if let Some(inc) = includes {
        if !inc.arches.is_empty() && !inc.arches.iter().any(|a| a == arch) {
            return false;
        }
        if !inc.caps.iter().all(has_cap) {
            return false;
        }
        if inc.min_kernel.is_some_and(|min| opts.kernel < min) {
            return false;
        }
    }
    true
}

/// runc `getAction`: the errno (or trace message) defaults to EPERM.
fn rule_action(action: Action, errno_ret: Option<u32>, place: impl Fn() -> String) -> Result<RuleAction, ProfileError> {
    let errno = || -> Result<u16, ProfileError> {
        match errno_ret {
            None => Ok(EPERM),
            Some(value) => u16::try_from(value).map_err(|_| ProfileError::ErrnoRange { value, place: place() }),
        }
    };
    Ok(match action {
        Action::Allow => RuleAction::Allow,
        Action::Errno => RuleAction::Errno(errno()?),
        Action::Kill | Action::KillThread => RuleAction::KillThread,
        Action::KillProcess => RuleAction::KillProcess,
        Action::Trap => RuleAction::Trap,
        Action::Trace => RuleAction::Trace(errno()?),
        Action::Log => RuleAction::Log,
        Action::Notify => {
            return Err(ProfileError::UnsupportedAction { action, place: place() });
        }
    })
}

/// runc `matchCall`: conditions sharing an argument index become separate rules.
fn condition_sets(args: &[Arg]) -> Vec<Vec<Arg>> {
    let mut counts = [0usize; 6];
    for arg in args {
        if let Some(c) = usize::try_from(arg.index).ok().and_then(|i| counts.get_mut(i)) {
            *c += 1;
        }
    }
    if counts.iter().any(|&c| c > 1) { args.iter().map(|a| vec![*a]).collect() } else { vec![args.to_vec()] }
}

/// moby `nativeToSeccomp`: the archMap key for a native architecture.
fn scmp_arch_of(arch: &str) -> Option<&'static str> {
    Some(match arch {
        "x86" => "SCMP_ARCH_X86",
        "amd64" => "SCMP_ARCH_X86_64",
        "arm" => "SCMP_ARCH_ARM",
        "arm64" => "SCMP_ARCH_AARCH64",
        "mips64" => "SCMP_ARCH_MIPS64",
        "mips64n32" => "SCMP_ARCH_MIPS64N32",
        "mipsel64" => "SCMP_ARCH_MIPSEL64",
        "mips3l64n32" => "SCMP_ARCH_MIPSEL64N32",
        "mipsle" => "SCMP_ARCH_MIPSEL",
        "ppc" => "SCMP_ARCH_PPC",
        "ppc64" => "SCMP_ARCH_PPC64",
        "ppc64le" => "SCMP_ARCH_PPC64LE",
        "riscv64" => "SCMP_ARCH_RISCV64",
        "s390" => "SCMP_ARCH_S390",
        "s390x" => "SCMP_ARCH_S390X",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::Op;
    use crate::tests::{DEFAULT_CAPS, all_caps};

    fn caps(list: &[&str]) -> Vec<String> {
        list.iter().map(|c| (*c).to_owned()).collect()
    }

    fn plan(profile: &Profile, caps: &[String], kernel: (u32, u32), arch: &str) -> Plan {
        let opts = CompileOptions { caps, kernel: KernelVersion::new(kernel.0, kernel.1) };
        resolve(profile, &opts, arch).unwrap().unwrap()
    }

    /// Every (name, action) the plan allows or denies explicitly.
    fn names_with(plan: &Plan, action: RuleAction) -> Vec<&str> {
        plan.rules.iter().filter(|r| r.action == action).flat_map(|r| r.names.iter().map(String::as_str)).collect()
    }

    #[test]
    fn default_profile_default_caps() {
        let p = Profile::docker_default();
        let plan = plan(&p, &caps(&DEFAULT_CAPS), (6, 18), "amd64");
        assert_eq!(plan.default_action, RuleAction::Errno(1));
        assert_eq!(plan.architectures, ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]);
        let allowed = names_with(&plan, RuleAction::Allow);
        for name in ["read", "getpid", "chroot", "arch_prctl", "modify_ldt", "ptrace", "process_vm_readv"] {
            assert!(allowed.contains(&name), "{name} should be allowed");
        }
        for name in
            ["mount", "kexec_load", "bpf", "reboot", "open_by_handle_at", "s390_runtime_instr", "riscv_flush_icache"]
        {
            assert!(!allowed.contains(&name), "{name} should not be allowed");
        }
        // Without CAP_SYS_ADMIN: clone only without namespace flags, clone3 fails with ENOSYS.
        let clone = plan.rules.iter().find(|r| r.names == ["clone"]).unwrap();
        assert_eq!(
            clone.condition_sets,
            [vec![Arg { index: 0, value: 0x7E02_0000, value_two: 0, op: Op::MaskedEqual }]]
        );
        assert_eq!(names_with(&plan, RuleAction::Errno(38)), ["clone3"]);
        // The rules are the same entries of the profile Docker would use, in order.
        let indexes: Vec<usize> = plan.rules.iter().map(|r| r.index).collect();
        let mut sorted = indexes.clone();
        sorted.sort_unstable();
        assert_eq!(indexes, sorted);
    }

    #[test]
    fn default_profile_all_caps() {
        let p = Profile::docker_default();
        let all = all_caps();
        let plan = plan(&p, &all, (6, 18), "amd64");
        let allowed = names_with(&plan, RuleAction::Allow);
        for name in ["mount", "bpf", "reboot", "open_by_handle_at", "clone3", "perf_event_open", "syslog", "iopl"] {
            assert!(allowed.contains(&name), "{name} should be allowed");
        }
        // With CAP_SYS_ADMIN the flag-restricted clone and the clone3 ENOSYS rule are excluded.
        assert!(
            plan.rules.iter().all(|r| r.condition_sets == [Vec::<Arg>::new()]
                || r.names == ["socket"]
                || r.names == ["personality"])
        );
        assert!(names_with(&plan, RuleAction::Errno(38)).is_empty());
    }

    #[test]
    fn includes_caps_need_every_cap() {
        let p = Profile::from_json(
            r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
                {"names": ["a"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_X", "CAP_Y"]}},
                {"names": ["b"], "action": "SCMP_ACT_ALLOW", "excludes": {"caps": ["CAP_X", "CAP_Y"]}}
            ]}"#,
        )
        .unwrap();
        let names = |c: &[&str]| -> Vec<String> {
            plan(&p, &caps(c), (6, 0), "amd64").rules.iter().flat_map(|r| r.names.clone()).collect()
        };
        assert_eq!(names(&[]), ["b"]);
        assert_eq!(names(&["CAP_X"]), Vec::<String>::new());
        assert_eq!(names(&["CAP_Y", "CAP_X"]), ["a"]);
        // Compared exactly, as moby does.
        assert_eq!(names(&["cap_x", "cap_y"]), ["b"]);
    }

    #[test]
    fn min_kernel_conditions() {
        let p = Profile::from_json(
            r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
                {"names": ["new"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "4.8"}},
                {"names": ["old"], "action": "SCMP_ACT_ALLOW", "excludes": {"minKernel": "4.8"}}
            ]}"#,
        )
        .unwrap();
        let names = |kernel| -> Vec<String> {
            plan(&p, &[], kernel, "amd64").rules.iter().flat_map(|r| r.names.clone()).collect()
        };
        assert_eq!(names((4, 7)), ["old"]);
        assert_eq!(names((4, 8)), ["new"]);
        assert_eq!(names((3, 99)), ["old"]);
        assert_eq!(names((6, 18)), ["new"]);
        // Docker's default profile: ptrace needs 4.8.
        let d = Profile::docker_default();
        let allowed = |kernel| {
            names_with(&plan(&d, &caps(&DEFAULT_CAPS), kernel, "amd64"), RuleAction::Allow).contains(&"ptrace")
        };
        assert!(!allowed((4, 7)));
        assert!(allowed((4, 8)));
    }

    #[test]
    fn arch_conditions_and_arch_map() {
        let d = Profile::docker_default();
        let s390 = plan(&d, &caps(&DEFAULT_CAPS), (6, 18), "s390x");
        assert_eq!(s390.architectures, ["SCMP_ARCH_S390X", "SCMP_ARCH_S390"]);
        let allowed = names_with(&s390, RuleAction::Allow);
        assert!(allowed.contains(&"s390_runtime_instr"));
        assert!(!allowed.contains(&"arch_prctl"));
        // On s390 clone's flags are the second argument.
        let clone: Vec<_> = s390.rules.iter().filter(|r| r.names == ["clone"]).collect();
        assert_eq!(clone.len(), 1);
        assert_eq!(clone[0].condition_sets[0][0].index, 1);

        let arm = plan(&d, &caps(&DEFAULT_CAPS), (6, 18), "arm64");
        assert_eq!(arm.architectures, ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"]);
        let riscv = plan(&d, &caps(&DEFAULT_CAPS), (6, 18), "riscv64");
        assert_eq!(riscv.architectures, ["SCMP_ARCH_RISCV64"]);
        // An architecture moby does not know gets no archMap entry (libseccomp then covers only the native one).
        assert!(plan(&d, &caps(&DEFAULT_CAPS), (6, 18), "").architectures.is_empty());
    }

    #[test]
    fn repeated_arg_index_splits_rules() {
        let p = Profile::from_json(
            r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
                {"names": ["x"], "action": "SCMP_ACT_ALLOW", "args": [
                    {"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}, {"index": 0, "value": 2, "op": "SCMP_CMP_EQ"},
                    {"index": 1, "value": 3, "op": "SCMP_CMP_GT"}]},
                {"names": ["y"], "action": "SCMP_ACT_ALLOW", "args": [
                    {"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}, {"index": 2, "value": 5, "valueTwo": 4, "op": "SCMP_CMP_MASKED_EQ"}]}
            ]}"#,
        )
        .unwrap();
        let plan = plan(&p, &[], (6, 0), "amd64");
        assert_eq!(plan.rules[0].condition_sets.len(), 3, "any index used twice: one rule per condition");
        assert!(plan.rules[0].condition_sets.iter().all(|s| s.len() == 1));
        assert_eq!(plan.rules[1].condition_sets.len(), 1, "distinct indexes: one rule with all conditions");
        assert_eq!(plan.rules[1].condition_sets[0].len(), 2);
    }

    #[test]
    fn actions_and_errno() {
        let p = Profile::from_json(
            r#"{"defaultAction": "SCMP_ACT_TRACE", "syscalls": [
                {"names": ["a"], "action": "SCMP_ACT_ERRNO"},
                {"names": ["b"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13},
                {"names": ["c"], "action": "SCMP_ACT_KILL"},
                {"names": ["d"], "action": "SCMP_ACT_KILL_PROCESS"},
                {"names": ["e"], "action": "SCMP_ACT_TRACE", "errnoRet": 7},
                {"name": "f", "action": "SCMP_ACT_LOG"},
                {"names": ["g"], "action": "SCMP_ACT_TRAP"}
            ]}"#,
        )
        .unwrap();
        let plan = plan(&p, &[], (6, 0), "amd64");
        assert_eq!(plan.default_action, RuleAction::Trace(1));
        let actions: Vec<_> = plan.rules.iter().map(|r| (r.names[0].as_str(), r.action)).collect();
        assert_eq!(
            actions,
            [
                ("a", RuleAction::Errno(1)),
                ("b", RuleAction::Errno(13)),
                ("c", RuleAction::KillThread),
                ("d", RuleAction::KillProcess),
                ("e", RuleAction::Trace(7)),
                ("f", RuleAction::Log),
                ("g", RuleAction::Trap),
            ]
        );
    }

    fn resolve_err(json: &str) -> ProfileError {
        let p = Profile::from_json(json).unwrap();
        let opts = CompileOptions { caps: &[], kernel: KernelVersion::new(6, 18) };
        resolve(&p, &opts, "amd64").unwrap_err()
    }

    #[test]
    fn invalid_profiles() {
        let err = resolve_err(r#"{"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_VAX"]}"#);
        assert_eq!(err.to_string(), "unsupported seccomp architecture \"SCMP_ARCH_VAX\"");
        let err = resolve_err(
            r#"{"defaultAction": "SCMP_ACT_ERRNO", "archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86_128"]}]}"#,
        );
        assert!(matches!(err, ProfileError::Architecture(a) if a == "SCMP_ARCH_X86_128"));
        let err = resolve_err(
            r#"{"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86"], "archMap": [{"architecture": "SCMP_ARCH_X86_64"}]}"#,
        );
        assert!(matches!(err, ProfileError::ArchitecturesAndArchMap));
        let err = resolve_err(r#"{"syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}]}"#);
        assert!(matches!(err, ProfileError::MissingDefaultAction));
        // Checked even for a rule that would not apply.
        let err = resolve_err(
            r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"name": "a", "names": ["b"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["s390x"]}}]}"#,
        );
        assert_eq!(
            err.to_string(),
            "invalid seccomp profile: syscall rule 0 specifies both 'name' and 'names', use either 'name' or 'names'"
        );
        let err = resolve_err(r#"{"defaultAction": "SCMP_ACT_NOTIFY"}"#);
        assert_eq!(err.to_string(), "unsupported seccomp action SCMP_ACT_NOTIFY in defaultAction");
        let err = resolve_err(
            r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_NOTIFY"}]}"#,
        );
        assert_eq!(err.to_string(), "unsupported seccomp action SCMP_ACT_NOTIFY in syscall rule 0");
        let err = resolve_err(r#"{"defaultAction": "SCMP_ACT_ERRNO", "flags": ["SECCOMP_FILTER_FLAG_LOG"]}"#);
        assert!(matches!(err, ProfileError::Flags { .. }), "{err}");
        let err = resolve_err(r#"{"defaultAction": "SCMP_ACT_ERRNO", "listenerPath": "/run/agent.sock"}"#);
        assert!(matches!(err, ProfileError::ListenerPath(_)), "{err}");
        let err = resolve_err(r#"{"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 70000}"#);
        assert_eq!(err.to_string(), "invalid seccomp profile: defaultAction errnoRet 70000 is out of range (0-65535)");
        let err = resolve_err(
            r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 6, "value": 0, "op": "SCMP_CMP_EQ"}]}]}"#,
        );
        assert!(matches!(err, ProfileError::ArgIndex { rule: 0, index: 6 }), "{err}");
    }

    #[test]
    fn unsupported_things_in_rules_that_do_not_apply_are_ignored() {
        // As in Docker, where runc only sees the rules that survived moby's filtering.
        let p = Profile::from_json(
            r#"{"defaultAction": "SCMP_ACT_ERRNO", "flags": [], "listenerPath": "", "syscalls": [
                {"names": ["read"], "action": "SCMP_ACT_NOTIFY", "includes": {"caps": ["CAP_SYS_ADMIN"]}}]}"#,
        )
        .unwrap();
        assert!(plan(&p, &[], (6, 0), "amd64").rules.is_empty());
    }

    #[test]
    fn unconfined_profiles() {
        let opts = CompileOptions { caps: &[], kernel: KernelVersion::new(6, 18) };
        for json in ["{}", r#"{"defaultAction": ""}"#, r#"{"architectures": ["SCMP_ARCH_VAX"], "flags": ["X"]}"#] {
            let p = Profile::from_json(json).unwrap();
            assert_eq!(resolve(&p, &opts, "amd64").unwrap(), None, "{json}");
        }
    }
}
