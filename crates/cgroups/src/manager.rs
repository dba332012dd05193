//! [`Manager`]: the host's cgroup layout, detected once, and the factory for [`Cgroup`]
//! handles.

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use crate::cgroup::{Cgroup, Dir};
use crate::error::CgroupError;
use crate::file;
use crate::mountinfo::{self, Controller, Controllers, Hierarchy, Version};

/// Where the mount table is read from.
const MOUNTINFO: &str = "/proc/self/mountinfo";

/// The cgroup v2 controllers berth enables for its cgroups (those the root offers).
const WANTED_V2: [Controller; 6] =
    [Controller::Cpu, Controller::Memory, Controller::Pids, Controller::Io, Controller::Cpuset, Controller::Hugetlb];

/// The host's cgroup layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Only cgroup v1 hierarchies ("legacy").
    V1,
    /// cgroup v1 controller hierarchies plus a cgroup2 mount (systemd's "hybrid" layout,
    /// usually at `/sys/fs/cgroup/unified`) holding whatever controllers v1 does not use.
    Hybrid,
    /// Only cgroup2 ("unified").
    V2,
}

impl Mode {
    /// The "Cgroup Version" `docker info` reports: 2 for [`Mode::V2`], else 1 (dockerd
    /// reports hybrid hosts as version 1 too).
    pub fn version(self) -> u8 {
        match self {
            Self::V2 => 2,
            Self::V1 | Self::Hybrid => 1,
        }
    }
}

/// The host's cgroup hierarchies. Cheap to clone (shared), `Send + Sync`.
///
/// Build it once at start-up with [`Manager::detect`] and hand out [`Cgroup`] handles with
/// [`Manager::cgroup`]; nothing re-reads the mount table afterwards.
#[derive(Clone, Debug)]
pub struct Manager {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    mode: Mode,
    /// The hierarchies berth uses, in mount order: every v1 hierarchy (controller or named)
    /// in v1/hybrid mode, plus the cgroup2 mount in hybrid/v2 mode.
    hierarchies: Vec<Hierarchy>,
    /// Controllers the cgroup2 root offers (`cgroup.controllers`), hybrid/v2 only.
    unified: Controllers,
}

impl Manager {
    /// Reads `/proc/self/mountinfo` (and the cgroup2 root's `cgroup.controllers`, if any).
    pub fn detect() -> Result<Self, CgroupError> {
        let text = std::fs::read_to_string(MOUNTINFO)
            .map_err(|source| CgroupError::ReadMountinfo { path: PathBuf::from(MOUNTINFO), source })?;
        Self::from_mountinfo(&text)
    }

    /// Like [`Manager::detect`], with the mount table given as text. The cgroup2 root's
    /// `cgroup.controllers` is still read from disk.
    pub fn from_mountinfo(mountinfo: &str) -> Result<Self, CgroupError> {
        let hierarchies = mountinfo::parse(mountinfo)?;
        let unified = match hierarchies.iter().find(|h| h.version == Version::V2) {
            Some(h) => Controllers::parse(&file::read(&h.mount_point.join("cgroup.controllers"))?),
            None => Controllers::EMPTY,
        };
        Self::from_parts(hierarchies, unified)
    }

    /// Builds a manager from parsed hierarchies without touching the disk.
    pub(crate) fn from_parts(all: Vec<Hierarchy>, unified: Controllers) -> Result<Self, CgroupError> {
        let has_v2 = all.iter().any(|h| h.version == Version::V2);
        let has_v1_controllers = all.iter().any(|h| h.version == Version::V1 && !h.controllers.is_empty());
        let has_v1 = all.iter().any(|h| h.version == Version::V1);
        let mode = match (has_v1_controllers, has_v2, has_v1) {
            (true, true, _) => Mode::Hybrid,
            (false, true, _) => Mode::V2,
            (_, false, true) => Mode::V1,
            (_, false, false) => {
                return Err(CgroupError::NoCgroupMounts { path: PathBuf::from(MOUNTINFO) });
            }
        };
        // On a v2 host a leftover named v1 hierarchy (e.g. name=systemd for old tools) is
        // not ours to manage.
        let hierarchies = all.into_iter().filter(|h| mode != Mode::V2 || h.version == Version::V2).collect();
        Ok(Self {
            inner: Arc::new(Inner {
                mode,
                hierarchies,
                unified: if mode == Mode::V1 { Controllers::EMPTY } else { unified },
            }),
        })
    }

    /// The layout of this host.
    pub fn mode(&self) -> Mode {
        self.inner.mode
    }

    /// The "Cgroup Driver" `docker info` reports.
    pub fn driver(&self) -> &'static str {
        "cgroupfs"
    }

    /// Whether `controller` is usable: bound to a mounted v1 hierarchy, or offered by the
    /// cgroup2 root.
    pub fn has_controller(&self, controller: Controller) -> bool {
        self.inner.hierarchies.iter().any(|h| h.controllers.contains(controller))
            || self.inner.unified.contains(controller)
    }

    /// Whether the kernel accounts swap per cgroup, so that a memory+swap limit can be set:
    /// v1 `memory.memsw.limit_in_bytes` in the memory hierarchy's root (missing without
    /// `CONFIG_MEMCG_SWAP` or with `swapaccount=0`); v2 `memory.swap.max`, which only
    /// non-root cgroups have, in the first child cgroup found. A host without a memory
    /// controller has none.
    pub fn swap_accounting(&self) -> bool {
        if let Some(h) = self.inner.hierarchies.iter().find(|h| h.controllers.contains(Controller::Memory)) {
            return h.mount_point.join("memory.memsw.limit_in_bytes").exists();
        }
        if !self.inner.unified.contains(Controller::Memory) {
            return false;
        }
        let Some(h) = self.inner.hierarchies.iter().find(|h| h.version == Version::V2) else {
            return false;
        };
        std::fs::read_dir(&h.mount_point)
            .into_iter()
            .flatten()
            .flatten()
            .find(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .is_some_and(|e| e.path().join("memory.swap.max").exists())
    }

    /// The mount points of the hierarchies berth uses.
    pub fn mount_points(&self) -> impl Iterator<Item = &Path> {
        self.inner.hierarchies.iter().map(|h| h.mount_point.as_path())
    }

    /// A handle for the cgroup at `rel_path` (e.g. `berth/<container-id>`) in every
    /// hierarchy. Nothing is created until [`Cgroup::create`]. A leading `/` is ignored;
    /// `..`, `.` and empty paths are rejected.
    pub fn cgroup(&self, rel_path: impl AsRef<Path>) -> Result<Cgroup, CgroupError> {
        let rel = validate(rel_path.as_ref())?;
        let wanted = Controllers::of(&WANTED_V2);
        let dirs = self
            .inner
            .hierarchies
            .iter()
            .map(|h| Dir {
                mount: h.mount_point.clone(),
                path: h.mount_point.join(&rel),
                version: h.version,
                controllers: match h.version {
                    Version::V1 => h.controllers,
                    Version::V2 => self.inner.unified.intersect(wanted),
                },
            })
            .collect();
        Ok(Cgroup::new(rel, self.inner.mode, dirs))
    }
}

fn validate(path: &Path) -> Result<PathBuf, CgroupError> {
    let invalid = |reason| CgroupError::InvalidPath { path: path.to_owned(), reason };
    let mut rel = PathBuf::new();
    for c in path.components() {
        match c {
            Component::RootDir => {}
            Component::Normal(name) => rel.push(name),
            Component::CurDir | Component::ParentDir | Component::Prefix(_) => {
                return Err(invalid("only plain names separated by / are allowed"));
            }
        }
    }
    if rel.as_os_str().is_empty() {
        return Err(invalid("the path is empty (the root cgroup cannot be managed)"));
    }
    Ok(rel)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::mountinfo::tests::{HYBRID, V1, V2};

    pub(crate) fn manager(text: &str, unified: &str) -> Manager {
        Manager::from_parts(mountinfo::parse(text).expect("sample parses"), Controllers::parse(unified))
            .expect("sample has cgroups")
    }

    #[test]
    fn modes() {
        let m = manager(HYBRID, "hugetlb");
        assert_eq!(m.mode(), Mode::Hybrid);
        assert_eq!(m.mode().version(), 1);
        assert_eq!(m.mount_points().count(), 10);
        assert!(m.has_controller(Controller::Hugetlb));
        assert!(m.has_controller(Controller::Freezer));
        assert!(!m.has_controller(Controller::Io));

        let m = manager(V1, "");
        assert_eq!(m.mode(), Mode::V1);
        assert_eq!(m.mount_points().count(), 11);
        assert!(m.has_controller(Controller::NetPrio));

        let m = manager(V2, "cpuset cpu io memory pids");
        assert_eq!(m.mode(), Mode::V2);
        assert_eq!(m.mode().version(), 2);
        assert_eq!(m.driver(), "cgroupfs");
        assert!(m.has_controller(Controller::Io));
        assert!(!m.has_controller(Controller::Blkio));

        // A named v1 hierarchy next to cgroup2 is still a v2 host, and is not used.
        let text = format!("{V2}50 35 0:99 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,name=systemd\n");
        let m = manager(&text, "memory");
        assert_eq!(m.mode(), Mode::V2);
        assert_eq!(m.mount_points().count(), 1);

        let err = Manager::from_parts(vec![], Controllers::EMPTY).unwrap_err();
        assert!(matches!(err, CgroupError::NoCgroupMounts { .. }), "{err}");
    }

    #[test]
    fn cgroup_paths_per_hierarchy() {
        let m = manager(V1, "");
        let cg = m.cgroup("/berth/abc").expect("valid path");
        assert_eq!(cg.rel_path(), Path::new("berth/abc"));
        let paths: Vec<_> = cg.paths().map(|p| p.display().to_string()).collect();
        assert!(paths.contains(&"/sys/fs/cgroup/cpu,cpuacct/berth/abc".to_owned()));
        assert!(paths.contains(&"/sys/fs/cgroup/net_cls,net_prio/berth/abc".to_owned()));
        assert!(paths.contains(&"/sys/fs/cgroup/systemd/berth/abc".to_owned()));

        let m = manager(HYBRID, "hugetlb");
        let cg = m.cgroup("berth/abc").expect("valid path");
        let procs: Vec<_> = cg.procs_files().iter().map(|p| p.display().to_string()).collect();
        assert_eq!(procs.len(), 10);
        assert_eq!(procs[9], "/sys/fs/cgroup/unified/berth/abc/cgroup.procs");

        let m = manager(V2, "cpu memory");
        let cg = m.cgroup("berth/abc").expect("valid path");
        assert_eq!(cg.procs_files(), [PathBuf::from("/sys/fs/cgroup/berth/abc/cgroup.procs")]);
    }

    #[test]
    fn rejects_bad_paths() {
        let m = manager(V2, "");
        for bad in ["", "/", "../etc", "berth/../../x", "./x"] {
            let err = m.cgroup(bad).unwrap_err();
            assert!(matches!(err, CgroupError::InvalidPath { .. }), "{bad}: {err}");
        }
    }
}
