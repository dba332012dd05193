//! Thin, safe wrappers for the Linux calls that `nix`/`rustix` don't cover, and the home of
//! berth's `unsafe`.
//!
//! - [`caps`]: capability names and sets, and applying them to the calling thread
//!   (bounding set, capset, ambient set).
//! - [`seccomp`]: loading a precompiled classic-BPF seccomp program.
//! - [`process`]: `fork`, descriptor plumbing between fork and exec, terminal ioctls, `poll`,
//!   `signalfd`, and the memory controls of long-lived processes (dropping clean file pages,
//!   malloc arenas, heap trimming).
//! - [`net`]: bringing a new network namespace's loopback up.
//! - [`mount`]: `mount_setattr` (recursively read-only mount trees, idmapped mounts).
//! - [`failpoint`]: named crash points for the crash tests.
//! - [`activation`]: the listening sockets systemd passes (`LISTEN_FDS`).
//!
//! Every `unsafe` block states the invariant it relies on in a `// SAFETY:` comment.
#![warn(missing_docs)]
#![deny(clippy::undocumented_unsafe_blocks)]

pub mod activation;
pub mod caps;
pub mod failpoint;
pub mod mount;
pub mod net;
pub mod process;
pub mod seccomp;
