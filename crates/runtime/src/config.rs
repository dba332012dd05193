//! The runtime's input: what the engine wants a container (or an exec'd process) to be.
//!
//! This is berth's own wire contract between the daemon (which writes it as JSON into the
//! container's run directory) and the shim (which reads it and calls [`crate::create`]). It follows
//! the OCI runtime spec's vocabulary (mounts, namespaces, masked paths, capabilities, rlimits) but
//! carries only what the runtime implements, with typed values, plus two things OCI doesn't have:
//! the overlay layers of the root filesystem (mounted by the runtime inside the container's own
//! mount namespace, so no mount is ever left on the host) and a precompiled seccomp program.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Everything needed to create a container's first process.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Config {
    /// Container ID (for error messages).
    pub id: String,
    /// The root filesystem.
    pub rootfs: Rootfs,
    /// Mount the root filesystem read-only after setup (`--read-only`).
    #[serde(default)]
    pub readonly_rootfs: bool,
    /// Hostname in the UTS namespace.
    #[serde(default)]
    pub hostname: Option<String>,
    /// Domain name in the UTS namespace.
    #[serde(default)]
    pub domainname: Option<String>,
    /// Namespaces: listed kinds are created (no path) or joined (path); others are the host's.
    pub namespaces: Vec<Namespace>,
    /// Mounts, in order, on top of the root filesystem.
    #[serde(default)]
    pub mounts: Vec<Mount>,
    /// Device nodes created in the container's /dev.
    #[serde(default)]
    pub devices: Vec<Device>,
    /// Paths hidden from the container (/dev/null bound over files, empty read-only tmpfs over dirs).
    #[serde(default)]
    pub masked_paths: Vec<PathBuf>,
    /// Paths made read-only.
    #[serde(default)]
    pub readonly_paths: Vec<PathBuf>,
    /// `cgroup.procs` files the process joins (one per cgroup hierarchy) before it unshares the
    /// cgroup namespace.
    #[serde(default)]
    pub cgroup_procs: Vec<PathBuf>,
    /// `oom_score_adj` of the process.
    #[serde(default)]
    pub oom_score_adj: Option<i32>,
    /// Kernel parameters written under /proc/sys inside the container's namespaces.
    #[serde(default)]
    pub sysctls: Vec<(String, String)>,
    /// Directories made in the root filesystem when missing (the image's `VOLUME`s, until
    /// volumes exist).
    #[serde(default)]
    pub make_dirs: Vec<PathBuf>,
    /// Run the container in a new user namespace with these id mappings (`--userns-remap`);
    /// `None`: the host's user namespace. See [`crate::userns`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub userns: Option<IdMapping>,
    /// The process to run.
    pub process: Process,
}

/// One range of a user namespace's id mappings: a line of `/proc/PID/uid_map`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdMap {
    /// First id inside the namespace.
    pub container_id: u32,
    /// The host id it is.
    pub host_id: u32,
    /// How many ids follow.
    pub size: u32,
}

/// The uid and gid mappings of a user namespace (from `/etc/subuid` and `/etc/subgid`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdMapping {
    /// uid ranges.
    pub uids: Vec<IdMap>,
    /// gid ranges.
    pub gids: Vec<IdMap>,
}

/// The host's overflow id (`nobody`), what an id outside the mappings is shown as.
pub const OVERFLOW_ID: u32 = 65534;

fn to_host(maps: &[IdMap], id: u32) -> Option<u32> {
    maps.iter()
        .find(|m| id >= m.container_id && id - m.container_id < m.size)
        .and_then(|m| m.host_id.checked_add(id - m.container_id))
}

fn map_text(maps: &[IdMap]) -> String {
    maps.iter().map(|m| format!("{} {} {}\n", m.container_id, m.host_id, m.size)).collect()
}

fn check_maps(kind: &str, maps: &[IdMap]) -> Result<(), String> {
    if maps.is_empty() {
        return Err(format!("no {kind} ranges"));
    }
    // The kernel takes at most 340 lines (Linux 4.15+).
    if maps.len() > 340 {
        return Err(format!("{} {kind} ranges: at most 340 are possible", maps.len()));
    }
    for (i, m) in maps.iter().enumerate() {
        let end = |start: u32| u64::from(start) + u64::from(m.size);
        if m.size == 0 || end(m.container_id) > u64::from(u32::MAX) || end(m.host_id) > u64::from(u32::MAX) {
            return Err(format!("{kind} range {} {} {} is empty or overflows", m.container_id, m.host_id, m.size));
        }
        for o in &maps[..i] {
            let overlap = |a: u32, b: u32| u64::from(a) < u64::from(b) + u64::from(o.size) && u64::from(b) < end(a);
            if overlap(m.container_id, o.container_id) || overlap(m.host_id, o.host_id) {
                return Err(format!("{kind} ranges overlap"));
            }
        }
    }
    Ok(())
}

impl IdMapping {
    /// The host uid of container uid `id`, if mapped.
    pub fn host_uid(&self, id: u32) -> Option<u32> {
        to_host(&self.uids, id)
    }

    /// The host gid of container gid `id`, if mapped.
    pub fn host_gid(&self, id: u32) -> Option<u32> {
        to_host(&self.gids, id)
    }

    /// The host (uid, gid) of the container's root: who owns what the container's root may
    /// write (its writable layer, volumes, /etc/hosts).
    pub fn root(&self) -> (u32, u32) {
        (self.host_uid(0).unwrap_or(OVERFLOW_ID), self.host_gid(0).unwrap_or(OVERFLOW_ID))
    }

    /// The text written to `/proc/PID/uid_map`.
    pub fn uid_map(&self) -> String {
        map_text(&self.uids)
    }

    /// The text written to `/proc/PID/gid_map`.
    pub fn gid_map(&self) -> String {
        map_text(&self.gids)
    }

    /// Whether the kernel would take these mappings: some ranges, at most 340, none empty,
    /// overflowing or overlapping another, and the container's root mapped.
    pub fn check(&self) -> Result<(), String> {
        check_maps("uid", &self.uids)?;
        check_maps("gid", &self.gids)?;
        if self.host_uid(0).is_none() || self.host_gid(0).is_none() {
            return Err("the container's root (id 0) is not mapped".into());
        }
        Ok(())
    }
}

/// The container's root filesystem.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rootfs {
    /// An overlay of read-only layers and a writable upper dir, mounted at `target`.
    Overlay {
        /// Lower dirs, the top layer first (overlayfs order).
        lower: Vec<PathBuf>,
        /// The writable upper dir.
        upper: PathBuf,
        /// overlayfs' work dir (same filesystem as `upper`).
        work: PathBuf,
        /// An empty directory to mount on.
        target: PathBuf,
    },
    /// A plain directory used as it is (bind-mounted onto itself).
    Dir(PathBuf),
}

impl Rootfs {
    /// Where the root filesystem is mounted before pivot_root.
    pub fn target(&self) -> &std::path::Path {
        match self {
            Rootfs::Overlay { target, .. } => target,
            Rootfs::Dir(d) => d,
        }
    }
}

/// A namespace kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NamespaceKind {
    /// PID namespace.
    Pid,
    /// Mount namespace.
    Mount,
    /// UTS (hostname) namespace.
    Uts,
    /// IPC namespace.
    Ipc,
    /// Network namespace.
    Network,
    /// Cgroup namespace.
    Cgroup,
}

impl NamespaceKind {
    /// The name of the namespace's file under /proc/PID/ns.
    pub fn proc_name(self) -> &'static str {
        match self {
            NamespaceKind::Pid => "pid",
            NamespaceKind::Mount => "mnt",
            NamespaceKind::Uts => "uts",
            NamespaceKind::Ipc => "ipc",
            NamespaceKind::Network => "net",
            NamespaceKind::Cgroup => "cgroup",
        }
    }

    pub(crate) fn clone_flag(self) -> nix::sched::CloneFlags {
        use nix::sched::CloneFlags as F;
        match self {
            NamespaceKind::Pid => F::CLONE_NEWPID,
            NamespaceKind::Mount => F::CLONE_NEWNS,
            NamespaceKind::Uts => F::CLONE_NEWUTS,
            NamespaceKind::Ipc => F::CLONE_NEWIPC,
            NamespaceKind::Network => F::CLONE_NEWNET,
            NamespaceKind::Cgroup => F::CLONE_NEWCGROUP,
        }
    }
}

/// A namespace to create (no path) or join (path to a namespace file).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Namespace {
    /// Which namespace.
    pub kind: NamespaceKind,
    /// Join this namespace instead of creating one.
    #[serde(default)]
    pub path: Option<PathBuf>,
}

/// A mount inside the container.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Mount {
    /// Absolute path in the container.
    pub destination: PathBuf,
    /// Filesystem type (`bind` for bind mounts).
    #[serde(rename = "type")]
    pub kind: String,
    /// Source: a host path for binds, a name for others.
    #[serde(default)]
    pub source: Option<PathBuf>,
    /// fstab-style options (`ro`, `nosuid`, `rbind`, `rprivate`, `size=64m`, ...).
    #[serde(default)]
    pub options: Vec<String>,
}

/// A device node in the container's /dev.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Device {
    /// Absolute path in the container.
    pub path: PathBuf,
    /// `c` or `b`.
    pub kind: char,
    /// Major number.
    pub major: u64,
    /// Minor number.
    pub minor: u64,
    /// Permission bits.
    pub mode: u32,
    /// Owner.
    #[serde(default)]
    pub uid: u32,
    /// Group.
    #[serde(default)]
    pub gid: u32,
}

/// A process: the container's first one, or one started by `exec`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Process {
    /// argv; `args[0]` is looked up in the process's PATH when it has no `/`.
    pub args: Vec<String>,
    /// Environment, `KEY=value`.
    pub env: Vec<String>,
    /// Working directory in the container; created (by root, before the user switch) when missing.
    pub cwd: PathBuf,
    /// `user[:group]`, by name or number, resolved in the container's /etc/passwd and /etc/group.
    #[serde(default)]
    pub user: String,
    /// Extra groups (`--group-add`), by name or number.
    #[serde(default)]
    pub additional_groups: Vec<String>,
    /// Give the process a terminal.
    #[serde(default)]
    pub terminal: bool,
    /// Initial terminal size (rows, cols).
    #[serde(default)]
    pub console_size: Option<(u16, u16)>,
    /// Capabilities (names such as `CAP_CHOWN`) for the bounding, effective, permitted and
    /// inheritable sets. Ambient stays empty for root, as Docker.
    pub capabilities: Vec<String>,
    /// Resource limits.
    #[serde(default)]
    pub rlimits: Vec<Rlimit>,
    /// Set no_new_privs.
    #[serde(default)]
    pub no_new_privileges: bool,
    /// A precompiled seccomp program (file of `struct sock_filter`), or none (unconfined).
    #[serde(default)]
    pub seccomp: Option<PathBuf>,
    /// Create `cwd` when missing (a container's first process; not execs).
    #[serde(default)]
    pub create_cwd: bool,
    /// Directories of the container (mount points of the engine's making) handed to the
    /// process's user, mode 0700, before it runs: the supervisor's control directory, which
    /// only PID 1's user (and root) may use.
    #[serde(default)]
    pub owned_dirs: Vec<PathBuf>,
}

/// A resource limit.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Rlimit {
    /// `RLIMIT_NOFILE`, `nofile`, ... (case-insensitive; the `RLIMIT_` prefix is optional).
    #[serde(rename = "type")]
    pub kind: String,
    /// Soft limit.
    pub soft: u64,
    /// Hard limit.
    pub hard: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(container_id: u32, host_id: u32, size: u32) -> IdMap {
        IdMap { container_id, host_id, size }
    }

    #[test]
    fn id_mappings() {
        let map =
            IdMapping { uids: vec![m(0, 100_000, 1000), m(1000, 300_000, 64_536)], gids: vec![m(0, 200_000, 65_536)] };
        assert!(map.check().is_ok());
        assert_eq!(map.root(), (100_000, 200_000));
        assert_eq!(map.host_uid(999), Some(100_999));
        assert_eq!(map.host_uid(1000), Some(300_000));
        assert_eq!(map.host_uid(65_536), None);
        assert_eq!(map.host_gid(5), Some(200_005));
        assert_eq!(map.uid_map(), "0 100000 1000\n1000 300000 64536\n");
        let bad = |uids: Vec<IdMap>| IdMapping { uids, gids: vec![m(0, 1, 1)] }.check().unwrap_err();
        assert_eq!(bad(vec![]), "no uid ranges");
        assert!(bad(vec![m(0, u32::MAX, 2)]).contains("overflows"));
        assert!(bad(vec![m(0, 100, 10), m(10, 105, 10)]).contains("overlap"));
        assert!(bad(vec![m(1, 100, 10)]).contains("root"));
    }
}
