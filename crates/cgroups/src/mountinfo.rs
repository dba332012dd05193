//! Finding the cgroup hierarchies in `/proc/self/mountinfo`.
//!
//! Each line of mountinfo (proc(5)) looks like
//!
//! ```text
//! 32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime shared:9 - cgroup cgroup rw,cpu,cpuacct
//! ^id ^parent ^dev ^root ^mount point  ^mount options ^optional... ^sep ^fstype ^source ^super options
//! ```
//!
//! For `cgroup` (v1) mounts the super options name the controllers bound to the hierarchy
//! (`cpu,cpuacct`, `net_cls,net_prio`) or, for a named hierarchy without controllers,
//! `name=systemd`. A `cgroup2` mount is the single unified hierarchy. The same hierarchy can
//! be mounted several times (bind mounts); mounts are deduplicated by device number, keeping
//! the one whose root is `/` if there is one.
//!
//! Parsing is pure so that v1, hybrid and v2 layouts can be unit-tested with hand-written
//! samples.

use std::path::PathBuf;

use crate::error::CgroupError;

/// A cgroup controller known to berth.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Controller {
    /// CPU bandwidth and weight (`cpu`).
    Cpu,
    /// CPU accounting (v1 only; part of `cpu` in v2).
    Cpuacct,
    /// CPU and memory node placement.
    Cpuset,
    /// Memory limits and accounting.
    Memory,
    /// Device access (v1 only; v2 uses eBPF).
    Devices,
    /// Freezing (v1 only; v2 has `cgroup.freeze` in the core).
    Freezer,
    /// Block I/O (v1 name).
    Blkio,
    /// Block I/O (v2 name).
    Io,
    /// Process count limit.
    Pids,
    /// Huge page limits.
    Hugetlb,
    /// Network classid tagging (v1 only).
    NetCls,
    /// Network priority (v1 only).
    NetPrio,
    /// perf_event grouping.
    PerfEvent,
    /// RDMA resources.
    Rdma,
    /// Miscellaneous scalar resources.
    Misc,
}

impl Controller {
    /// Every known controller.
    pub const ALL: [Controller; 15] = [
        Self::Cpu,
        Self::Cpuacct,
        Self::Cpuset,
        Self::Memory,
        Self::Devices,
        Self::Freezer,
        Self::Blkio,
        Self::Io,
        Self::Pids,
        Self::Hugetlb,
        Self::NetCls,
        Self::NetPrio,
        Self::PerfEvent,
        Self::Rdma,
        Self::Misc,
    ];

    /// The kernel's name for the controller.
    pub fn name(self) -> &'static str {
        match self {
            Self::Cpu => "cpu",
            Self::Cpuacct => "cpuacct",
            Self::Cpuset => "cpuset",
            Self::Memory => "memory",
            Self::Devices => "devices",
            Self::Freezer => "freezer",
            Self::Blkio => "blkio",
            Self::Io => "io",
            Self::Pids => "pids",
            Self::Hugetlb => "hugetlb",
            Self::NetCls => "net_cls",
            Self::NetPrio => "net_prio",
            Self::PerfEvent => "perf_event",
            Self::Rdma => "rdma",
            Self::Misc => "misc",
        }
    }

    /// Looks a controller up by its kernel name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.name() == name)
    }

    fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

/// A small set of controllers.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Controllers(u16);

impl Controllers {
    pub(crate) const EMPTY: Self = Self(0);

    pub(crate) fn of(list: &[Controller]) -> Self {
        let mut set = Self::EMPTY;
        for c in list {
            set.insert(*c);
        }
        set
    }

    /// Parses a space-separated list such as the content of `cgroup.controllers`.
    /// Unknown names are ignored.
    pub(crate) fn parse(text: &str) -> Self {
        let mut set = Self::EMPTY;
        for c in text.split_whitespace().filter_map(Controller::from_name) {
            set.insert(c);
        }
        set
    }

    pub(crate) fn insert(&mut self, c: Controller) {
        self.0 |= c.bit();
    }

    pub(crate) fn contains(self, c: Controller) -> bool {
        self.0 & c.bit() != 0
    }

    pub(crate) fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub(crate) fn intersect(self, other: Self) -> Self {
        Self(self.0 & other.0)
    }

    pub(crate) fn iter(self) -> impl Iterator<Item = Controller> {
        Controller::ALL.into_iter().filter(move |c| self.contains(*c))
    }
}

impl std::fmt::Debug for Controllers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.iter().map(Controller::name)).finish()
    }
}

/// Which cgroup file system a hierarchy is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Version {
    V1,
    V2,
}

/// One mounted cgroup hierarchy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Hierarchy {
    /// Where it is mounted; cgroup paths are joined onto this.
    pub(crate) mount_point: PathBuf,
    /// The cgroup that appears at the mount point (`/` unless bind-mounted or namespaced).
    pub(crate) root: PathBuf,
    pub(crate) version: Version,
    /// v1: the controllers bound to the hierarchy. v2: empty here (read from
    /// `cgroup.controllers` by the manager).
    pub(crate) controllers: Controllers,
    /// v1 named hierarchy (`name=systemd` gives `systemd`).
    pub(crate) name: Option<String>,
    /// `major:minor` of the superblock, used to deduplicate bind mounts.
    dev: String,
}

/// Parses mountinfo text and returns the distinct cgroup hierarchies in mount order.
pub(crate) fn parse(text: &str) -> Result<Vec<Hierarchy>, CgroupError> {
    let mut out: Vec<Hierarchy> = Vec::new();
    for (index, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let Some(h) = parse_line(line).map_err(|reason| CgroupError::ParseMountinfo { line: index + 1, reason })?
        else {
            continue;
        };
        // All cgroup2 mounts are the same hierarchy; v1 mounts with the same superblock too.
        let dup = out.iter_mut().find(|o| o.dev == h.dev || (o.version == Version::V2 && h.version == Version::V2));
        match dup {
            Some(existing) => {
                if existing.root.as_os_str() != "/" && h.root.as_os_str() == "/" {
                    *existing = h;
                }
            }
            None => out.push(h),
        }
    }
    Ok(out)
}

/// Parses one line; `Ok(None)` for mounts that are not cgroup file systems.
fn parse_line(line: &str) -> Result<Option<Hierarchy>, &'static str> {
    let (before, after) = line.split_once(" - ").ok_or("missing the \" - \" separator")?;
    let mut after = after.split(' ');
    let fstype = after.next().ok_or("missing the file system type")?;
    let version = match fstype {
        "cgroup" => Version::V1,
        "cgroup2" => Version::V2,
        _ => return Ok(None),
    };
    let _source = after.next().ok_or("missing the mount source")?;
    let super_options = after.next().ok_or("missing the super options")?;

    let mut before = before.split(' ');
    let _id = before.next().ok_or("missing the mount id")?;
    let _parent = before.next().ok_or("missing the parent id")?;
    let dev = before.next().ok_or("missing the device number")?;
    let root = before.next().ok_or("missing the root")?;
    let mount_point = before.next().ok_or("missing the mount point")?;

    let mut controllers = Controllers::EMPTY;
    let mut name = None;
    if version == Version::V1 {
        for opt in super_options.split(',') {
            if let Some(n) = opt.strip_prefix("name=") {
                name = Some(n.to_owned());
            } else if let Some(c) = Controller::from_name(opt) {
                controllers.insert(c);
            }
            // Anything else is a mount option (rw, xattr, release_agent=..., noprefix, ...)
            // or a controller this crate does not know; the hierarchy is still joined.
        }
    }
    Ok(Some(Hierarchy {
        mount_point: PathBuf::from(unescape(mount_point)),
        root: PathBuf::from(unescape(root)),
        version,
        controllers,
        name,
        dev: dev.to_owned(),
    }))
}

/// Undoes the kernel's octal escaping of space, tab, newline and backslash (`\040` etc.).
fn unescape(field: &str) -> String {
    if !field.contains('\\') {
        return field.to_owned();
    }
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' && i + 4 <= bytes.len() {
            let digits = &bytes[i + 1..i + 4];
            if digits.iter().all(|d| (b'0'..=b'7').contains(d)) {
                let value = digits.iter().fold(0u32, |acc, d| acc * 8 + u32::from(d - b'0'));
                if let Ok(b) = u8::try_from(value) {
                    out.push(b);
                    i += 4;
                    continue;
                }
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// This host: separate v1 mounts, a named systemd hierarchy and a cgroup2 mount at
    /// `unified` that only holds hugetlb.
    pub(crate) const HYBRID: &str = "\
22 1 0:21 / / rw,relatime - ext4 /dev/vda rw
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices
37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";

    /// A classic systemd v1 host: co-mounted `cpu,cpuacct` and `net_cls,net_prio`, optional
    /// fields, a bind mount of the memory hierarchy, and xattr/release_agent options.
    pub(crate) const V1: &str = "\
25 30 0:23 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
35 25 0:30 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
36 35 0:31 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:10 - cgroup cgroup rw,xattr,release_agent=/usr/lib/systemd/systemd-cgroups-agent,name=systemd
39 35 0:34 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:14 - cgroup cgroup rw,cpu,cpuacct
40 35 0:35 / /sys/fs/cgroup/net_cls,net_prio rw,nosuid,nodev,noexec,relatime shared:15 - cgroup cgroup rw,net_cls,net_prio
41 35 0:36 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:16 - cgroup cgroup rw,memory
42 35 0:37 / /sys/fs/cgroup/pids rw,nosuid,nodev,noexec,relatime shared:17 - cgroup cgroup rw,pids
43 35 0:38 / /sys/fs/cgroup/cpuset rw,nosuid,nodev,noexec,relatime shared:18 - cgroup cgroup rw,cpuset
44 35 0:39 / /sys/fs/cgroup/devices rw,nosuid,nodev,noexec,relatime shared:19 - cgroup cgroup rw,devices
45 35 0:40 / /sys/fs/cgroup/freezer rw,nosuid,nodev,noexec,relatime shared:20 - cgroup cgroup rw,freezer
46 35 0:41 / /sys/fs/cgroup/blkio rw,nosuid,nodev,noexec,relatime shared:21 - cgroup cgroup rw,blkio
47 35 0:42 / /sys/fs/cgroup/hugetlb rw,nosuid,nodev,noexec,relatime shared:22 - cgroup cgroup rw,hugetlb
48 35 0:43 / /sys/fs/cgroup/perf_event rw,nosuid,nodev,noexec,relatime shared:23 - cgroup cgroup rw,perf_event
90 30 0:36 /some/sub /mnt/mem\\040bind rw,relatime - cgroup cgroup rw,memory
";

    /// A cgroup v2 only host.
    pub(crate) const V2: &str = "\
24 30 0:22 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
33 24 0:28 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
70 30 0:28 /system.slice /run/bound rw,relatime - cgroup2 cgroup2 rw
";

    #[test]
    fn parses_hybrid_layout() {
        let h = parse(HYBRID).expect("hybrid sample parses");
        assert_eq!(h.len(), 10);
        assert_eq!(h[0].mount_point, PathBuf::from("/sys/fs/cgroup/cpu"));
        assert_eq!(h[0].controllers, Controllers::of(&[Controller::Cpu]));
        assert_eq!(h[8].name.as_deref(), Some("systemd"));
        assert!(h[8].controllers.is_empty());
        assert_eq!(h[9].version, Version::V2);
        assert_eq!(h[9].mount_point, PathBuf::from("/sys/fs/cgroup/unified"));
    }

    #[test]
    fn parses_v1_comounts_and_dedups_bind_mounts() {
        let h = parse(V1).expect("v1 sample parses");
        assert_eq!(h.len(), 11, "{h:#?}");
        let cpu = &h[1];
        assert_eq!(cpu.mount_point, PathBuf::from("/sys/fs/cgroup/cpu,cpuacct"));
        assert_eq!(cpu.controllers, Controllers::of(&[Controller::Cpu, Controller::Cpuacct]));
        assert_eq!(h[2].controllers, Controllers::of(&[Controller::NetCls, Controller::NetPrio]));
        // xattr and release_agent are options, not controllers.
        assert!(h[0].controllers.is_empty());
        assert_eq!(h[0].name.as_deref(), Some("systemd"));
        // The bind mount of memory at /mnt is dropped in favour of the root mount.
        let memory: Vec<_> = h.iter().filter(|x| x.controllers.contains(Controller::Memory)).collect();
        assert_eq!(memory.len(), 1);
        assert_eq!(memory[0].mount_point, PathBuf::from("/sys/fs/cgroup/memory"));
        assert!(h.iter().all(|x| x.version == Version::V1));
    }

    #[test]
    fn parses_v2_and_prefers_root_mount() {
        let h = parse(V2).expect("v2 sample parses");
        assert_eq!(h.len(), 1);
        assert_eq!(h[0].version, Version::V2);
        assert_eq!(h[0].mount_point, PathBuf::from("/sys/fs/cgroup"));
        assert_eq!(h[0].root, PathBuf::from("/"));
    }

    #[test]
    fn bind_mount_first_is_replaced_by_root_mount() {
        let text = "\
70 30 0:28 /system.slice /run/bound rw,relatime - cgroup2 cgroup2 rw
33 24 0:28 / /sys/fs/cgroup rw,relatime - cgroup2 cgroup2 rw
";
        let h = parse(text).expect("parses");
        assert_eq!(h.len(), 1);
        assert_eq!(h[0].mount_point, PathBuf::from("/sys/fs/cgroup"));
    }

    #[test]
    fn unescapes_octal() {
        assert_eq!(unescape("/mnt/a\\040b"), "/mnt/a b");
        assert_eq!(unescape("/mnt/a\\134b"), "/mnt/a\\b");
        assert_eq!(unescape("/plain"), "/plain");
        assert_eq!(unescape("/trailing\\04"), "/trailing\\04");
        let h = parse("1 2 0:99 / /mnt/my\\040cg rw - cgroup2 cgroup2 rw\n").expect("parses");
        assert_eq!(h[0].mount_point, PathBuf::from("/mnt/my cg"));
    }

    #[test]
    fn rejects_malformed_lines() {
        let err = parse("22 1 0:21 / / rw,relatime ext4 /dev/vda rw\n").unwrap_err();
        assert!(matches!(err, CgroupError::ParseMountinfo { line: 1, .. }), "{err}");
        let err = parse("\n1 2 0:3 / - cgroup2\n").unwrap_err();
        assert!(matches!(err, CgroupError::ParseMountinfo { line: 2, .. }), "{err}");
    }

    #[test]
    fn controllers_parse_ignores_unknown() {
        let set = Controllers::parse("cpuset cpu io memory hugetlb pids rdma misc dmem\n");
        assert!(set.contains(Controller::Io));
        assert!(set.contains(Controller::Misc));
        assert!(!set.contains(Controller::Blkio));
        assert_eq!(format!("{set:?}"), r#"{"cpu", "cpuset", "memory", "io", "pids", "hugetlb", "rdma", "misc"}"#);
    }
}
