//! Docker seccomp profiles, compiled to BPF once and loaded many times.
//!
//! Docker confines every container with a seccomp profile: its default one
//! ([`DEFAULT_PROFILE_JSON`]), or a user's (`--security-opt seccomp=FILE`), unless the user passes
//! `seccomp=unconfined`. A profile is JSON; turning it into the BPF program the kernel runs takes
//! libseccomp 10-20 ms, about as much as a whole `docker run` may spend. So berth compiles each
//! (profile, capability set) once per host and caches the program; the container's init only loads
//! the bytes with `seccomp(SECCOMP_SET_MODE_FILTER)` (done by the `sys` crate).
//!
//! - [`Profile`] ([`profile`]): the JSON format, parsed with serde.
//! - [`resolve`] → [`Plan`]: which rules apply to a container, given its capabilities, the kernel
//!   version and the architecture (moby's `setupSeccomp` semantics). Pure, no libseccomp.
//! - [`compile`] / [`compile_plan`] → [`Bpf`]: the program, built with libseccomp exactly as runc
//!   builds it, including runc's `-ENOSYS` stub for syscalls newer than the profile (module `enosys`).
//! - [`Bpf`] ([`bpf`]): the program as `struct sock_filter[]` bytes; [`Bpf::instructions`] decodes it.
//! - [`Cache`]: compiled programs by sha256 of their inputs, in memory and as `<dir>/<hex>.bpf`.
//! - [`KernelVersion`]: `<major>.<minor>` of the running kernel, for `minKernel` conditions.
//!
//! ```no_run
//! use seccomp::{Cache, CompileOptions, KernelVersion, DEFAULT_PROFILE_JSON};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let cache = Cache::new("/var/lib/berth/seccomp".into());
//! let caps = vec!["CAP_CHOWN".to_owned(), "CAP_KILL".to_owned()];
//! let opts = CompileOptions { caps: &caps, kernel: KernelVersion::current()? };
//! if let Some(bpf) = cache.get_or_compile(DEFAULT_PROFILE_JSON, &opts)? {
//!     // Hand bpf.as_bytes() / bpf.instructions() to the loader in the container's init.
//!     assert!(bpf.len() > 0);
//! }
//! # Ok(())
//! # }
//! ```
#![cfg_attr(not(test), forbid(unsafe_code))]
#![warn(missing_docs)]

pub mod bpf;
mod cache;
mod compile;
mod enosys;
mod kernel;
pub mod profile;
mod resolve;

pub use bpf::{Bpf, BpfError, Instruction};
pub use cache::{Cache, CacheKey, CacheStats};
pub use compile::{CompileError, compile, compile_plan};
pub use kernel::{KernelVersion, KernelVersionError};
pub use profile::{DEFAULT_PROFILE_JSON, Profile, ProfileError};
pub use resolve::{CompileOptions, NATIVE_ARCH, Plan, PlannedRule, RuleAction, resolve};

/// What kind of failure an error is, for callers that map errors to API statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The profile is malformed, or asks for something berth or libseccomp cannot do.
    InvalidArgument,
    /// Something on the host failed (libseccomp, memory files, the cache file).
    Internal,
}

impl CompileError {
    /// Whether the profile or the host is to blame.
    pub fn kind(&self) -> ErrorKind {
        match self {
            // libseccomp refuses rules and architectures because of what the profile says
            // (conflicting rules, architectures that cannot share a filter); an oversized program too.
            Self::Profile(_) | Self::Rule { .. } | Self::Arch { .. } | Self::Program(_) => ErrorKind::InvalidArgument,
            Self::Create(_) | Self::Attribute { .. } | Self::Memfd(_) | Self::Export(_) | Self::Store { .. } => {
                ErrorKind::Internal
            }
        }
    }
}

/// Fixtures shared by the tests of several modules.
#[cfg(test)]
pub(crate) mod tests {
    /// Docker's default capabilities.
    pub(crate) use sys::caps::DOCKER_DEFAULTS as DEFAULT_CAPS;

    pub(crate) fn default_caps() -> Vec<String> {
        DEFAULT_CAPS.iter().map(|c| (*c).to_owned()).collect()
    }

    /// Every capability the default profile mentions, plus the default ones.
    pub(crate) fn all_caps() -> Vec<String> {
        let profile = crate::Profile::docker_default();
        let mut caps: Vec<String> = profile
            .syscalls
            .iter()
            .flat_map(|s| s.includes.iter().chain(s.excludes.iter()))
            .flat_map(|f| f.caps.iter().cloned())
            .chain(default_caps())
            .collect();
        caps.sort();
        caps.dedup();
        caps
    }
}
