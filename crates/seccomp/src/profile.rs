//! The Docker seccomp profile format: wire types and parsing.
//!
//! This is the JSON that `docker run --security-opt seccomp=FILE` sends (the CLI reads the file and
//! passes its text to the daemon) and that [`DEFAULT_PROFILE_JSON`] holds. The types mirror moby's
//! `profiles/seccomp/seccomp.go` (`Seccomp`, `Architecture`, `Syscall`, `Filter`) and the runtime-spec
//! `LinuxSeccomp` fields they embed. Decoding follows Go's `encoding/json` where it matters for real
//! profiles: unknown fields are ignored, missing fields and `null` take the zero value.
//!
//! ```json
//! {
//!   "defaultAction": "SCMP_ACT_ERRNO",        // what unlisted syscalls get; "" with no syscalls = unconfined
//!   "defaultErrnoRet": 1,                      // errno for an ERRNO/TRACE default action (EPERM if absent)
//!   "archMap": [                               // per native arch, the extra arches the filter covers
//!     { "architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"] }
//!   ],
//!   "architectures": ["SCMP_ARCH_X86_64"],     // alternative to archMap (not both)
//!   "syscalls": [{
//!     "names": ["clone"],                      // or the deprecated "name": "clone" (not both)
//!     "action": "SCMP_ACT_ALLOW",              // SCMP_ACT_{ALLOW,ERRNO,KILL,KILL_PROCESS,KILL_THREAD,TRAP,TRACE,LOG}
//!     "errnoRet": 38,                          // errno for ERRNO, message for TRACE (EPERM if absent)
//!     "args": [{ "index": 0, "value": 2114060288, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ" }],
//!     "includes": { "caps": ["CAP_SYS_ADMIN"], "arches": ["amd64"], "minKernel": "4.8" },
//!     "excludes": { "caps": ["CAP_SYS_ADMIN"], "arches": ["s390x"], "minKernel": "5.0" },
//!     "comment": "free text"
//!   }],
//!   "flags": [],                               // seccomp(2) flags: berth supports none
//!   "listenerPath": ""                         // SCMP_ACT_NOTIFY agent socket: unsupported
//! }
//! ```
//!
//! Which rules apply to a container is decided by [`crate::resolve`]; `args` ops are
//! `SCMP_CMP_{NE,LT,LE,EQ,GE,GT,MASKED_EQ}`, and for `MASKED_EQ` `value` is the mask and `valueTwo`
//! the value the masked argument must equal.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer};

use crate::kernel::KernelVersion;

/// Docker's default seccomp profile (moby `profiles/seccomp/default.json`), embedded verbatim.
pub const DEFAULT_PROFILE_JSON: &str = include_str!("../../../resources/seccomp/default.json");

/// Why a profile could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    /// The JSON does not decode into a profile: syntax, an unknown action or operator, a bad `minKernel`.
    #[error("invalid seccomp profile")]
    Json(#[source] serde_json::Error),
    /// Syscalls are listed but `defaultAction` is missing or empty.
    #[error("invalid seccomp profile: syscalls are listed but defaultAction is empty")]
    MissingDefaultAction,
    /// Both `architectures` and `archMap` are set.
    #[error(
        "invalid seccomp profile: both 'architectures' and 'archMap' are specified, use either 'architectures' or 'archMap'"
    )]
    ArchitecturesAndArchMap,
    /// A rule sets both `name` and `names`.
    #[error(
        "invalid seccomp profile: syscall rule {rule} specifies both 'name' and 'names', use either 'name' or 'names'"
    )]
    NameAndNames {
        /// Position of the rule in `syscalls` (0-based).
        rule: usize,
    },
    /// An architecture the seccomp filter cannot cover.
    #[error("unsupported seccomp architecture {0:?}")]
    Architecture(String),
    /// An action berth does not implement (`SCMP_ACT_NOTIFY`, which needs a listener agent).
    #[error("unsupported seccomp action {action} in {place}")]
    UnsupportedAction {
        /// The action.
        action: Action,
        /// Where it was used: "defaultAction" or "syscall rule N".
        place: String,
    },
    /// `flags` is not empty: berth loads every filter with the same flags.
    #[error("unsupported seccomp profile field 'flags' ({flags:?}): berth does not support seccomp filter flags")]
    Flags {
        /// The flags the profile asked for.
        flags: Vec<String>,
    },
    /// `listenerPath` is set: seccomp user notification agents are not supported.
    #[error("unsupported seccomp profile field 'listenerPath' ({0:?}): seccomp notify agents are not supported")]
    ListenerPath(String),
    /// `errnoRet` or `defaultErrnoRet` does not fit the 16 bits seccomp returns.
    #[error("invalid seccomp profile: {place} errnoRet {value} is out of range (0-65535)")]
    ErrnoRange {
        /// The value.
        value: u32,
        /// Where: "defaultErrnoRet" or "syscall rule N".
        place: String,
    },
    /// An argument condition on an index past the sixth syscall argument.
    #[error(
        "invalid seccomp profile: syscall rule {rule} compares argument index {index}, syscalls have 6 arguments (0-5)"
    )]
    ArgIndex {
        /// Position of the rule in `syscalls` (0-based).
        rule: usize,
        /// The index it used.
        index: u32,
    },
}

/// A seccomp profile in Docker's JSON format. See the [module docs](self) for the format.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Profile {
    /// Action for syscalls no rule matches; `None` when missing or `""`.
    #[serde(default, deserialize_with = "empty_as_none")]
    pub default_action: Option<Action>,
    /// Errno returned by an `SCMP_ACT_ERRNO` (or message of an `SCMP_ACT_TRACE`) default action.
    #[serde(default)]
    pub default_errno_ret: Option<u32>,
    /// Explicit list of `SCMP_ARCH_*` architectures (the alternative to `arch_map`).
    #[serde(default, deserialize_with = "null_as_default")]
    pub architectures: Vec<String>,
    /// Per native architecture, the architectures the filter covers.
    #[serde(default, deserialize_with = "null_as_default")]
    pub arch_map: Vec<ArchMap>,
    /// The rules, in order.
    #[serde(default, deserialize_with = "null_as_default")]
    pub syscalls: Vec<Syscall>,
    /// seccomp(2) filter flags (`SECCOMP_FILTER_FLAG_*`); only `None` or empty is supported.
    #[serde(default)]
    pub flags: Option<Vec<String>>,
    /// Unix socket of a seccomp notify agent; unsupported.
    #[serde(default)]
    pub listener_path: Option<String>,
    /// Opaque data for the notify agent; ignored (only meaningful with `listener_path`).
    #[serde(default)]
    pub listener_metadata: Option<String>,
}

/// One `archMap` entry.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ArchMap {
    /// The native architecture this entry is for, e.g. `SCMP_ARCH_X86_64`.
    #[serde(default)]
    pub architecture: String,
    /// Architectures the filter also covers on that host, e.g. `SCMP_ARCH_X86`, `SCMP_ARCH_X32`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub sub_architectures: Vec<String>,
}

/// One entry of `syscalls`: an action for a group of syscalls, with optional argument conditions and
/// conditions on the container (capabilities) and host (architecture, kernel).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Syscall {
    /// The syscall names.
    #[serde(default, deserialize_with = "null_as_default")]
    pub names: Vec<String>,
    /// Deprecated single-name form; a rule may set this or `names`, not both.
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    /// What happens when the rule matches.
    pub action: Action,
    /// Errno for `SCMP_ACT_ERRNO`, message for `SCMP_ACT_TRACE`; EPERM when absent.
    #[serde(default)]
    pub errno_ret: Option<u32>,
    /// Argument conditions.
    #[serde(default, deserialize_with = "null_as_default")]
    pub args: Vec<Arg>,
    /// Free text.
    #[serde(default)]
    pub comment: Option<String>,
    /// The rule applies only if all of these hold.
    #[serde(default)]
    pub includes: Option<Filter>,
    /// The rule does not apply if any of these holds.
    #[serde(default)]
    pub excludes: Option<Filter>,
}

/// Conditions under which a rule is included or excluded.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Filter {
    /// Capabilities (`CAP_*`) of the container's bounding set.
    #[serde(default, deserialize_with = "null_as_default")]
    pub caps: Vec<String>,
    /// Native architectures in Go's spelling: `amd64`, `arm64`, `s390x`, `ppc64le`, …
    #[serde(default, deserialize_with = "null_as_default")]
    pub arches: Vec<String>,
    /// Kernel version the host must run at least (`"4.8"`).
    #[serde(default, deserialize_with = "min_kernel")]
    pub min_kernel: Option<KernelVersion>,
}

/// One argument condition: `arg[index] <op> value`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Arg {
    /// Which syscall argument (0-5).
    #[serde(default)]
    pub index: u32,
    /// The value compared with, or the mask for `SCMP_CMP_MASKED_EQ`.
    #[serde(default)]
    pub value: u64,
    /// For `SCMP_CMP_MASKED_EQ`, the value the masked argument must equal.
    #[serde(default)]
    pub value_two: u64,
    /// The comparison.
    pub op: Op,
}

macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident, $what:literal { $($(#[$vmeta:meta])* $variant:ident = $text:literal,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)*
        }

        impl $name {
            /// Every value, in the order of the libseccomp documentation.
            pub const ALL: &'static [$name] = &[$($name::$variant),*];

            /// The name as written in profiles.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)*
                }
            }
        }

        impl FromStr for $name {
            type Err = String;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)*
                    _ => {
                        let known: Vec<&str> = $name::ALL.iter().map(|v| v.as_str()).collect();
                        Err(format!(concat!("unknown seccomp ", $what, " {:?}: expected one of {}"), s, known.join(", ")))
                    }
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let s = String::deserialize(deserializer)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

string_enum! {
    /// A rule's (or the default) action, as named in libseccomp.
    Action, "action" {
        /// Let the syscall run.
        Allow = "SCMP_ACT_ALLOW",
        /// Fail with an errno (`errnoRet`, EPERM by default).
        Errno = "SCMP_ACT_ERRNO",
        /// Kill the thread (the same as `KillThread`).
        Kill = "SCMP_ACT_KILL",
        /// Kill the whole process.
        KillProcess = "SCMP_ACT_KILL_PROCESS",
        /// Kill the thread.
        KillThread = "SCMP_ACT_KILL_THREAD",
        /// Send SIGSYS.
        Trap = "SCMP_ACT_TRAP",
        /// Notify a ptrace tracer (with `errnoRet` as the message, EPERM by default).
        Trace = "SCMP_ACT_TRACE",
        /// Let the syscall run and log it.
        Log = "SCMP_ACT_LOG",
        /// Ask a user-space agent; unsupported by berth.
        Notify = "SCMP_ACT_NOTIFY",
    }
}

string_enum! {
    /// An argument comparison, as named in libseccomp.
    Op, "operator" {
        /// `arg != value`
        NotEqual = "SCMP_CMP_NE",
        /// `arg < value`
        LessThan = "SCMP_CMP_LT",
        /// `arg <= value`
        LessOrEqual = "SCMP_CMP_LE",
        /// `arg == value`
        Equal = "SCMP_CMP_EQ",
        /// `arg >= value`
        GreaterOrEqual = "SCMP_CMP_GE",
        /// `arg > value`
        GreaterThan = "SCMP_CMP_GT",
        /// `arg & value == valueTwo`
        MaskedEqual = "SCMP_CMP_MASKED_EQ",
    }
}

impl Profile {
    /// Parses a profile from its JSON text.
    pub fn from_json(json: &str) -> Result<Self, ProfileError> {
        serde_json::from_str(json).map_err(ProfileError::Json)
    }

    /// Docker's default profile, [`DEFAULT_PROFILE_JSON`], parsed.
    pub fn docker_default() -> Self {
        Self::from_json(DEFAULT_PROFILE_JSON).expect("the embedded default profile is valid (tested)")
    }

    /// True if the profile turns seccomp off, as moby treats a profile with no `defaultAction` and no
    /// `syscalls` (for example `{}`): the container then runs without a filter.
    pub fn is_unconfined(&self) -> bool {
        self.default_action.is_none() && self.syscalls.is_empty()
    }
}

/// Go decodes `null` into a slice or string as its zero value; serde would reject it.
fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// `defaultAction` is a Go string: missing, `null` and `""` all mean "not set".
fn empty_as_none<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Action>, D::Error> {
    match Option::<String>::deserialize(deserializer)? {
        None => Ok(None),
        Some(s) if s.is_empty() => Ok(None),
        Some(s) => s.parse().map(Some).map_err(serde::de::Error::custom),
    }
}

/// `minKernel`: `null` and `""` mean "no condition"; anything else must be `"<kernel>.<major>"`.
fn min_kernel<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<KernelVersion>, D::Error> {
    match Option::<String>::deserialize(deserializer)? {
        None => Ok(None),
        Some(s) if s.is_empty() => Ok(None),
        Some(s) => KernelVersion::from_min_kernel(&s).map(Some).map_err(serde::de::Error::custom),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_profile_parses() {
        let p = Profile::docker_default();
        assert_eq!(p.default_action, Some(Action::Errno));
        assert_eq!(p.default_errno_ret, Some(1));
        assert!(p.architectures.is_empty());
        let x86 = p.arch_map.iter().find(|a| a.architecture == "SCMP_ARCH_X86_64").unwrap();
        assert_eq!(x86.sub_architectures, ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]);
        // `"subArchitectures": null` (riscv64) decodes as empty.
        let riscv = p.arch_map.iter().find(|a| a.architecture == "SCMP_ARCH_RISCV64").unwrap();
        assert!(riscv.sub_architectures.is_empty());
        assert!(p.syscalls.len() > 20);
        assert!(p.syscalls[0].names.len() > 300, "the big allow list comes first");
        let ptrace = p.syscalls.iter().find(|s| s.includes.as_ref().and_then(|i| i.min_kernel).is_some()).unwrap();
        assert_eq!(ptrace.includes.as_ref().unwrap().min_kernel, Some(KernelVersion::new(4, 8)));
        let clone = p.syscalls.iter().find(|s| s.names == ["clone"] && s.excludes.is_some()).unwrap();
        assert_eq!(clone.args, [Arg { index: 0, value: 0x7E02_0000, value_two: 0, op: Op::MaskedEqual }]);
        let clone3 = p.syscalls.iter().find(|s| s.names == ["clone3"] && s.action == Action::Errno).unwrap();
        assert_eq!(clone3.errno_ret, Some(38));
        assert!(!p.is_unconfined());
    }

    #[test]
    fn go_zero_values() {
        let p = Profile::from_json(
            r#"{"defaultAction": "", "architectures": null, "syscalls": null, "flags": null, "unknownField": 1}"#,
        )
        .unwrap();
        assert!(p.is_unconfined());
        assert!(Profile::from_json("{}").unwrap().is_unconfined());

        let p = Profile::from_json(
            r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
                {"name": "mount", "names": null, "action": "SCMP_ACT_ERRNO", "args": null,
                 "includes": {"minKernel": ""}, "excludes": {"minKernel": null, "caps": null}}]}"#,
        )
        .unwrap();
        let s = &p.syscalls[0];
        assert_eq!(s.name, "mount");
        assert!(s.names.is_empty() && s.args.is_empty());
        assert_eq!(s.includes.as_ref().unwrap().min_kernel, None);
        assert!(s.excludes.as_ref().unwrap().caps.is_empty());
    }

    fn error_chain(err: &dyn std::error::Error) -> String {
        let mut text = err.to_string();
        let mut source = err.source();
        while let Some(s) = source {
            text.push_str(": ");
            text.push_str(&s.to_string());
            source = s.source();
        }
        text
    }

    #[test]
    fn unknown_action_is_a_clear_error() {
        let err = Profile::from_json(
            r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_MAYBE"}]}"#,
        )
        .unwrap_err();
        let text = error_chain(&err);
        assert!(
            text.starts_with(
                "invalid seccomp profile: unknown seccomp action \"SCMP_ACT_MAYBE\": expected one of SCMP_ACT_ALLOW"
            ),
            "{text}"
        );
        assert!(text.contains("line 1"), "{text}");

        let err = Profile::from_json(r#"{"defaultAction": "ALLOW"}"#).unwrap_err();
        assert!(error_chain(&err).contains("unknown seccomp action \"ALLOW\""), "{}", error_chain(&err));
    }

    #[test]
    fn bad_operator_is_a_clear_error() {
        let err = Profile::from_json(
            r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["personality"], "action": "SCMP_ACT_ALLOW",
                "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_APPROX"}]}]}"#,
        )
        .unwrap_err();
        let text = error_chain(&err);
        assert!(
            text.contains("unknown seccomp operator \"SCMP_CMP_APPROX\": expected one of SCMP_CMP_NE, SCMP_CMP_LT"),
            "{text}"
        );

        let err = Profile::from_json(
            r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["personality"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0}]}]}"#,
        )
        .unwrap_err();
        assert!(error_chain(&err).contains("missing field `op`"), "{}", error_chain(&err));
    }

    #[test]
    fn bad_min_kernel_is_a_clear_error() {
        let err = Profile::from_json(
            r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "4.8.1"}}]}"#,
        )
        .unwrap_err();
        assert!(error_chain(&err).contains("invalid kernel version \"4.8.1\""), "{}", error_chain(&err));
    }

    #[test]
    fn malformed_json() {
        let err = Profile::from_json(r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [}"#).unwrap_err();
        assert!(matches!(err, ProfileError::Json(_)));
        let err = Profile::from_json(r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"]}]}"#)
            .unwrap_err();
        assert!(error_chain(&err).contains("missing field `action`"), "{}", error_chain(&err));
        let err = Profile::from_json(r#"{"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": -1}"#).unwrap_err();
        assert!(matches!(err, ProfileError::Json(_)));
    }

    #[test]
    fn names_round_trip() {
        for a in Action::ALL {
            assert_eq!(a.as_str().parse::<Action>().unwrap(), *a);
        }
        for o in Op::ALL {
            assert_eq!(o.as_str().parse::<Op>().unwrap(), *o);
        }
    }
}
