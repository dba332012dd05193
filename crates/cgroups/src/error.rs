//! The crate's error type.
//!
//! Every variant that touches the file system carries the path it failed on, so a log line
//! like `writing "67108864" to /sys/fs/cgroup/memory/berth/0123/memory.limit_in_bytes: Device
//! or resource busy` is enough to act on without a debugger.

use std::io;
use std::path::PathBuf;

/// Errors returned by [`Manager`](crate::Manager) and [`Cgroup`](crate::Cgroup).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CgroupError {
    /// The mount table could not be read.
    #[error("reading mount table {path}")]
    ReadMountinfo {
        /// Usually `/proc/self/mountinfo`.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: io::Error,
    },

    /// A line of the mount table is not in the documented format (proc(5)).
    #[error("parsing mount table line {line}: {reason}")]
    ParseMountinfo {
        /// 1-based line number.
        line: usize,
        /// What was wrong with it.
        reason: &'static str,
    },

    /// Neither a cgroup v1 hierarchy nor a cgroup2 file system is mounted.
    #[error("no cgroup file system is mounted (checked {path})")]
    NoCgroupMounts {
        /// The mount table that was searched.
        path: PathBuf,
    },

    /// The relative cgroup path given to [`Manager::cgroup`](crate::Manager::cgroup) is unusable.
    #[error("invalid cgroup path {path}: {reason}")]
    InvalidPath {
        /// The path as given.
        path: PathBuf,
        /// Why it was rejected.
        reason: &'static str,
    },

    /// The cgroup directory does not exist (it was never created, or was removed).
    #[error("cgroup directory {path} does not exist")]
    NotFound {
        /// The missing directory.
        path: PathBuf,
    },

    /// `mkdir` of a cgroup directory failed.
    #[error("creating cgroup directory {path}")]
    Create {
        /// The directory.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: io::Error,
    },

    /// Reading a cgroup file failed.
    #[error("reading {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: io::Error,
    },

    /// Writing a cgroup file failed.
    #[error("writing {value:?} to {path}")]
    Write {
        /// The file.
        path: PathBuf,
        /// What was written.
        value: String,
        /// The underlying I/O error.
        #[source]
        source: io::Error,
    },

    /// A cgroup file holds something this crate cannot parse.
    #[error("parsing {path}: unexpected content {content:?}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The offending content (or the offending line of it).
        content: String,
    },

    /// The kernel (or this host's cgroup layout) cannot apply a requested setting.
    ///
    /// Returned instead of silently dropping the setting, so the caller can tell the user
    /// (Docker prints e.g. "Your kernel does not support swap limit capabilities").
    #[error("{setting} is not supported on this host ({path}): {reason}")]
    Unsupported {
        /// The setting, e.g. `memory.swap` or `pids.limit`.
        setting: &'static str,
        /// The file that would have been written, or the cgroup directory.
        path: PathBuf,
        /// Why, e.g. "the kernel does not provide this file".
        reason: String,
    },

    /// A requested setting has a value the kernel would reject or that cannot be converted.
    #[error("invalid value for {setting} on {path}: {reason}")]
    InvalidValue {
        /// The setting, e.g. `memory.swap`.
        setting: &'static str,
        /// The cgroup directory the setting was meant for.
        path: PathBuf,
        /// Why the value is invalid.
        reason: String,
    },

    /// A device access rule is malformed.
    #[error("invalid device rule {rule:?} for {path}: {reason}")]
    InvalidDeviceRule {
        /// The rule in cgroup v1 syntax.
        rule: String,
        /// The cgroup directory.
        path: PathBuf,
        /// Why the rule is invalid.
        reason: &'static str,
    },

    /// `rmdir` of a cgroup failed because processes (or child cgroups) remain, after retries.
    #[error("removing cgroup {path}: still busy, processes {pids:?} remain (or it has child cgroups)")]
    Busy {
        /// The directory.
        path: PathBuf,
        /// The processes left in it (may be empty if only child cgroups remain).
        pids: Vec<i32>,
    },

    /// `rmdir` of a cgroup failed for another reason.
    #[error("removing cgroup {path}")]
    Remove {
        /// The directory.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: io::Error,
    },

    /// The freezer did not reach the requested state in time; the cgroup was thawed again.
    #[error("freezing cgroup {path}: still {state:?} after {waited_ms} ms")]
    FreezeTimeout {
        /// The freezer's control file.
        path: PathBuf,
        /// The last state read.
        state: String,
        /// How long we waited.
        waited_ms: u64,
    },

    /// Processes survived [`Cgroup::kill_all`](crate::Cgroup::kill_all).
    #[error("killing processes of cgroup {path}: {pids:?} still running after {waited_ms} ms")]
    KillTimeout {
        /// The `cgroup.procs` file that was watched.
        path: PathBuf,
        /// Processes still present.
        pids: Vec<i32>,
        /// How long we waited.
        waited_ms: u64,
    },

    /// Sending a signal to a process of the cgroup failed (other than because it exited).
    #[error("sending {signal} to process {pid} of cgroup {path}")]
    Signal {
        /// The `cgroup.procs` file the pid was read from.
        path: PathBuf,
        /// The process.
        pid: i32,
        /// The signal.
        signal: nix::sys::signal::Signal,
        /// The underlying error.
        #[source]
        source: nix::Error,
    },

    /// A `bpf(2)` step of installing the cgroup v2 device filter failed.
    #[error("{op} for cgroup {path}")]
    DeviceFilter {
        /// What was attempted, e.g. "attaching device filter program".
        op: &'static str,
        /// The cgroup directory.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: io::Error,
    },

    /// The kernel's verifier rejected the generated device filter program.
    #[error("loading device filter program for cgroup {path} (verifier log: {log:?})")]
    DeviceFilterLoad {
        /// The cgroup directory.
        path: PathBuf,
        /// The tail of the verifier log, if any.
        log: String,
        /// The underlying I/O error.
        #[source]
        source: io::Error,
    },

    /// Several hierarchies failed during teardown; every error is kept.
    #[error("removing cgroup failed in {} hierarchies: {}", .0.len(), join(.0))]
    Teardown(Vec<CgroupError>),
}

/// A coarse classification for callers that map errors to API statuses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// Something does not exist.
    NotFound,
    /// The cgroup is in use.
    Conflict,
    /// The request itself is invalid.
    InvalidArgument,
    /// The host cannot do what was asked.
    FailedPrecondition,
    /// A timeout; retrying may help.
    Unavailable,
    /// Anything else.
    Internal,
}

impl CgroupError {
    /// Classifies the error (never by message text).
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::NotFound { .. } => ErrorKind::NotFound,
            Self::Busy { .. } => ErrorKind::Conflict,
            Self::InvalidPath { .. } | Self::InvalidValue { .. } | Self::InvalidDeviceRule { .. } => {
                ErrorKind::InvalidArgument
            }
            Self::Unsupported { .. } | Self::NoCgroupMounts { .. } => ErrorKind::FailedPrecondition,
            Self::FreezeTimeout { .. } | Self::KillTimeout { .. } => ErrorKind::Unavailable,
            Self::Teardown(errors) => errors.first().map_or(ErrorKind::Internal, Self::kind),
            _ => ErrorKind::Internal,
        }
    }
}

/// Formats a teardown list on one line, with each error's source chain.
fn join(errors: &[CgroupError]) -> String {
    let mut out = String::new();
    for (i, e) in errors.iter().enumerate() {
        if i > 0 {
            out.push_str("; ");
        }
        out.push_str(&e.to_string());
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            out.push_str(": ");
            out.push_str(&s.to_string());
            source = s.source();
        }
    }
    out
}
