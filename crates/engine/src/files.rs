//! A container's files from the host: `cp` (stat, get, put), `export`, `diff`, sizes.
//!
//! Paths inside a container are resolved with `openat2(RESOLVE_IN_ROOT)`, so a symlink in the
//! container (`/x -> /etc/shadow`) resolves inside the container, never on the host.
//!
//! Where the files are reached:
//! - `cp` of a running container goes through `/proc/PID/root`, so its mounts are included,
//!   as Docker does.
//! - `export`, and `cp` of a stopped container, use a *detached* mount of the root filesystem
//!   only: a fresh overlay built with the new mount API (`fsopen`/`fsmount`) for a stopped
//!   container, or a non-recursive clone (`open_tree`) of a running container's root taken
//!   from inside its mount namespace. A detached mount is attached nowhere and disappears with
//!   its descriptor: nothing is mounted on the host, nothing can leak.

use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use rustix::fs::{Mode, OFlags, ResolveFlags};

use crate::model::Container;
use crate::{Engine, EngineError};

/// What `cp` shows of a path (the `X-Docker-Container-Path-Stat` header).
#[derive(Debug, Clone)]
pub struct PathStat {
    /// Base name.
    pub name: String,
    /// Size.
    pub size: i64,
    /// Go `os.FileMode` bits.
    pub mode: u32,
    /// Modification time.
    pub mtime: DateTime<Utc>,
    /// For symlinks: the target resolved inside the container.
    pub link_target: String,
}

/// Options of `cp` into a container.
#[derive(Debug, Clone, Copy, Default)]
pub struct ArchiveOptions {
    /// Refuse to replace a directory with a non-directory and vice versa.
    pub no_overwrite_dir_non_dir: bool,
    /// Keep the archive's owners.
    pub copy_uid_gid: bool,
}

/// Converts a Unix mode to Go's `os.FileMode` bits.
pub fn go_mode(mode: u32) -> u32 {
    let mut m = mode & 0o777;
    let fmt = mode & libc::S_IFMT;
    m |= match fmt {
        libc::S_IFDIR => 1 << 31,
        libc::S_IFLNK => 1 << 27,
        libc::S_IFBLK => 1 << 26,
        libc::S_IFCHR => (1 << 26) | (1 << 21),
        libc::S_IFIFO => 1 << 25,
        libc::S_IFSOCK => 1 << 24,
        _ => 0,
    };
    if mode & libc::S_ISUID != 0 {
        m |= 1 << 23;
    }
    if mode & libc::S_ISGID != 0 {
        m |= 1 << 22;
    }
    if mode & libc::S_ISVTX != 0 {
        m |= 1 << 20;
    }
    m
}

/// Cleans an absolute path lexically (`/a/./b/../c` → `/a/c`), never above `/`.
pub(crate) fn lexical_clean(p: &Path) -> String {
    let mut parts: Vec<&std::ffi::OsStr> = Vec::new();
    for c in p.components() {
        match c {
            std::path::Component::Normal(n) => parts.push(n),
            std::path::Component::ParentDir => {
                parts.pop();
            }
            _ => {}
        }
    }
    let mut out = String::new();
    for n in parts {
        out.push('/');
        out.push_str(&n.to_string_lossy());
    }
    if out.is_empty() { "/".into() } else { out }
}

/// `/a/b/` → `a/b` (relative to the container root; `..` can't escape under RESOLVE_IN_ROOT).
fn rel(p: &str) -> PathBuf {
    let t = p.trim_start_matches('/');
    if t.is_empty() { PathBuf::from(".") } else { PathBuf::from(t) }
}

fn io_err(what: String) -> impl FnOnce(std::io::Error) -> EngineError {
    move |e| EngineError::io(what, e)
}

/// Docker's message, naming the container as the user did.
fn not_found(path: &str, name: &str) -> EngineError {
    EngineError::NotFound(format!("Could not find the file {path} in container {name}"))
}

/// A root directory to work in: a path, and whatever keeps it alive.
struct Root {
    path: PathBuf,
    _keep: Option<OwnedFd>,
}

fn open_root(root: &Root) -> std::io::Result<OwnedFd> {
    Ok(rustix::fs::open(&root.path, OFlags::DIRECTORY | OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())?)
}

fn resolve(rootfd: &OwnedFd, path: &str, follow: bool) -> std::io::Result<OwnedFd> {
    let mut flags = OFlags::PATH | OFlags::CLOEXEC;
    if !follow {
        flags |= OFlags::NOFOLLOW;
    }
    Ok(rustix::fs::openat2(rootfd, rel(path), flags, Mode::empty(), ResolveFlags::IN_ROOT)?)
}

/// Builds a detached overlay mount: a stopped container's root filesystem (`rw`: its upper and
/// work dirs), or an image's layers alone, read-only (`rw` `None`). With `idmap` (the user
/// namespace of a container's `--userns-remap`), the layers are idmapped with its mappings, as
/// the container's own root is: from a thread with a private mount namespace of its own, where
/// each layer is replaced by its idmapped clone (the runtime's way, which any kernel with
/// idmapped overlay layers takes); the thread's namespace goes with it, the overlay stays.
pub(crate) fn detached_overlay(
    lowers: &[PathBuf],
    rw: Option<(&Path, &Path)>,
    idmap: Option<BorrowedFd<'_>>,
) -> std::io::Result<OwnedFd> {
    let Some(ns) = idmap else { return overlay_mount(lowers, rw) };
    std::thread::scope(|s| {
        s.spawn(|| -> std::io::Result<OwnedFd> {
            use nix::mount::{MsFlags, mount};
            nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNS)?;
            // Nothing done in here may reach the host's mounts.
            mount(None::<&str>, "/", None::<&str>, MsFlags::MS_REC | MsFlags::MS_SLAVE, None::<&str>)?;
            for l in lowers {
                runtime::userns::idmap_in_place(l, ns)?;
            }
            overlay_mount(lowers, rw)
        })
        .join()
        .unwrap_or_else(|_| Err(std::io::Error::other("mount thread panicked")))
    })
}

fn overlay_mount(lowers: &[PathBuf], rw: Option<(&Path, &Path)>) -> std::io::Result<OwnedFd> {
    use rustix::mount::{
        FsMountFlags, FsOpenFlags, MountAttrFlags, fsconfig_create, fsconfig_set_string, fsmount, fsopen,
    };
    let fs = fsopen("overlay", FsOpenFlags::FSOPEN_CLOEXEC)?;
    // `lowerdir+` (Linux 6.8) takes one layer at a time, with no length limit; older kernels
    // get the joined list.
    let mut appended = true;
    for l in lowers {
        if fsconfig_set_string(&fs, "lowerdir+", l).is_err() {
            appended = false;
            break;
        }
    }
    let fs = if appended {
        fs
    } else {
        let fs = fsopen("overlay", FsOpenFlags::FSOPEN_CLOEXEC)?;
        let joined: Vec<String> = lowers.iter().map(|l| l.display().to_string()).collect();
        fsconfig_set_string(&fs, "lowerdir", joined.join(":"))?;
        fs
    };
    let attrs = match rw {
        Some((upper, work)) => {
            // As the container's own mount (runtime::rootfs): its upper dir holds plain files.
            fsconfig_set_string(&fs, "redirect_dir", "off")?;
            fsconfig_set_string(&fs, "metacopy", "off")?;
            fsconfig_set_string(&fs, "upperdir", upper)?;
            fsconfig_set_string(&fs, "workdir", work)?;
            MountAttrFlags::empty()
        }
        None => MountAttrFlags::MOUNT_ATTR_RDONLY,
    };
    fsconfig_create(&fs)?;
    Ok(fsmount(&fs, FsMountFlags::FSMOUNT_CLOEXEC, attrs)?)
}

/// A non-recursive clone of the root mount of process `pid`'s mount namespace, taken from a
/// thread that joins that namespace (the clone must be made from inside it).
fn clone_container_root(pid: i32) -> std::io::Result<OwnedFd> {
    let ns = std::fs::File::open(format!("/proc/{pid}/ns/mnt"))?;
    std::thread::scope(|s| {
        s.spawn(|| -> std::io::Result<OwnedFd> {
            use rustix::thread::{LinkNameSpaceType, move_into_link_name_space};
            // setns(CLONE_NEWNS) needs a thread that shares no fs struct with others.
            nix::sched::unshare(nix::sched::CloneFlags::CLONE_FS)?;
            move_into_link_name_space(ns.as_fd(), Some(LinkNameSpaceType::Mount))?;
            let root = rustix::fs::open("/", OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())?;
            Ok(rustix::mount::open_tree(
                &root,
                "",
                rustix::mount::OpenTreeFlags::OPEN_TREE_CLONE
                    | rustix::mount::OpenTreeFlags::OPEN_TREE_CLOEXEC
                    | rustix::mount::OpenTreeFlags::AT_EMPTY_PATH,
            )?)
        })
        .join()
        .unwrap_or_else(|_| Err(std::io::Error::other("namespace thread panicked")))
    })
}

impl Engine {
    /// For a stopped container in a user namespace, the namespace its layers are idmapped
    /// with: the daemon's, which must have its mappings.
    fn layer_idmap(&self, c: &Container) -> Result<Option<std::sync::Arc<OwnedFd>>, EngineError> {
        let Some(map) = &c.host_config.userns_remap else { return Ok(None) };
        match &self.cfg().userns {
            Some(r) if r.map == *map => Ok(Some(r.ns.clone())),
            _ => Err(EngineError::Conflict(format!(
                "container {} runs with other id mappings than the daemon's --userns-remap: its files can be reached only while it runs",
                c.id
            ))),
        }
    }

    /// The container's root filesystem alone (no mounts), detached.
    fn rootfs_only(&self, c: &Container) -> Result<Root, EngineError> {
        let fd = if c.is_running() && c.state.pid > 0 {
            clone_container_root(c.state.pid)
                .map_err(io_err(format!("cloning the root filesystem of container {}", c.id)))?
        } else {
            let lowers = crate::spec::lower_dirs(&self.init_layer(), &self.image_layers(c)?);
            let (upper, work) = self.rw_dirs(c);
            let idmap = self.layer_idmap(c)?;
            detached_overlay(&lowers, Some((&upper, &work)), idmap.as_deref().map(AsFd::as_fd))
                .map_err(io_err(format!("mounting the root filesystem of container {}", c.id)))?
        };
        Ok(Root { path: PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd())), _keep: Some(fd) })
    }

    /// Where `cp` works: the running container's view (with its mounts), or its root
    /// filesystem when stopped.
    fn cp_root(&self, c: &Container) -> Result<Root, EngineError> {
        if c.is_running() && c.state.pid > 0 {
            Ok(Root { path: PathBuf::from(format!("/proc/{}/root", c.state.pid)), _keep: None })
        } else {
            self.rootfs_only(c)
        }
    }

    fn stat_in(root: &Root, path: &str, name: &str) -> Result<PathStat, EngineError> {
        let rootfd = open_root(root).map_err(io_err(format!("opening the root of container {name}")))?;
        let fd = resolve(&rootfd, path, false).map_err(|_| not_found(path, name))?;
        let st = rustix::fs::fstat(&fd).map_err(|e| EngineError::io(format!("stat {path}"), e.into()))?;
        let mut link_target = String::new();
        if st.st_mode & libc::S_IFMT == libc::S_IFLNK {
            // The target inside the container: resolved through existing links when it exists,
            // else lexically (a dangling link still names where it points, as Docker's does).
            let resolved = resolve(&rootfd, path, true).ok().and_then(|t| {
                let root_real = std::fs::read_link(format!("/proc/self/fd/{}", rootfd.as_raw_fd())).ok()?;
                let real = std::fs::read_link(format!("/proc/self/fd/{}", t.as_raw_fd())).ok()?;
                Some(format!("/{}", real.strip_prefix(&root_real).ok()?.display()))
            });
            link_target = match resolved {
                Some(r) => r,
                None => {
                    let target = rustix::fs::readlinkat(&fd, "", Vec::new())
                        .map(|t| t.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    let base = Path::new(path).parent().unwrap_or(Path::new("/"));
                    lexical_clean(&base.join(target))
                }
            };
        }
        let name = Path::new(path.trim_end_matches('/'))
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "/".into());
        Ok(PathStat {
            name,
            size: st.st_size,
            mode: go_mode(st.st_mode),
            mtime: DateTime::from_timestamp(st.st_mtime, u32::try_from(st.st_mtime_nsec).unwrap_or(0))
                .unwrap_or_default(),
            link_target,
        })
    }

    /// `HEAD /containers/{id}/archive`.
    pub async fn stat_path(&self, name_or_id: &str, path: &str) -> Result<PathStat, EngineError> {
        let name = name_or_id.to_owned();
        let ctr = self.lookup(name_or_id)?;
        let _op = ctr.op.lock().await;
        let c = ctr.snapshot();
        let engine = self.clone();
        let path = path.to_owned();
        tokio::task::spawn_blocking(move || {
            let root = engine.cp_root(&c)?;
            Self::stat_in(&root, &path, &name)
        })
        .await
        .expect("stat task")
    }

    /// `GET /containers/{id}/archive`: checks the path, then streams it as a tar to `w` in the
    /// background; returns its stat.
    pub async fn archive_get(
        &self,
        name_or_id: &str,
        path: &str,
        w: Box<dyn Write + Send>,
    ) -> Result<PathStat, EngineError> {
        let name = name_or_id.to_owned();
        let ctr = self.lookup(name_or_id)?;
        let op = ctr.op.clone().lock_owned().await;
        let c = ctr.snapshot();
        let engine = self.clone();
        let path = path.to_owned();
        let (tx, rx) = tokio::sync::oneshot::channel();
        crate::spawn_transfer("cp", move || {
            // A stopped container's root is a detached overlay of its upper dir, which a start
            // must not mount meanwhile: hold the lock for the copy. A running one's is its own.
            let op = (!c.is_running()).then_some(op);
            let prep = (|| {
                let root = engine.cp_root(&c)?;
                let st = Self::stat_in(&root, &path, &name)?;
                let rootfd = open_root(&root).map_err(io_err(format!("opening the root of container {}", c.id)))?;
                let trimmed = path.trim_end_matches('/');
                let parent =
                    Path::new(trimmed).parent().map(|p| p.to_string_lossy().into_owned()).unwrap_or_else(|| "/".into());
                let pfd = resolve(&rootfd, &parent, true).map_err(|_| not_found(&path, &name))?;
                Ok::<_, EngineError>((root, st, pfd))
            })();
            match prep {
                Ok((_root, st, pfd)) => {
                    // The container's `/` has no parent: it is the entry `.` of itself.
                    let base = if st.name == "/" { ".".to_owned() } else { st.name.clone() };
                    let name = if path.ends_with("/.") { ".".to_owned() } else { base.clone() };
                    let _ = tx.send(Ok(st));
                    let owners = c.host_config.userns_remap.as_ref().map(crate::userns::to_container);
                    let packed =
                        image::pack_at(pfd.as_fd(), Path::new(&path), base.as_bytes(), &name, owners.as_ref(), w);
                    if let Err(e) = packed {
                        tracing::warn!("copying out of container {}: {e}", c.id);
                    }
                    drop(op);
                }
                Err(e) => {
                    let _ = tx.send(Err(e));
                }
            }
        });
        rx.await
            .unwrap_or_else(|_| Err(EngineError::io("copying".to_owned(), std::io::Error::other("copy task ended"))))
    }

    /// `PUT /containers/{id}/archive`: unpacks a tar into directory `path` of the container.
    pub async fn archive_put(
        &self,
        name_or_id: &str,
        path: &str,
        r: Box<dyn Read + Send>,
        opts: ArchiveOptions,
    ) -> Result<(), EngineError> {
        let name = name_or_id.to_owned();
        let ctr = self.lookup(name_or_id)?;
        let _op = ctr.op.lock().await;
        let c = ctr.snapshot();
        if c.host_config.readonly_rootfs {
            return Err(EngineError::Conflict("container rootfs is marked read-only".into()));
        }
        let engine = self.clone();
        let path = path.to_owned();
        tokio::task::spawn_blocking(move || {
            let root = engine.cp_root(&c)?;
            let st = Self::stat_in(&root, &path, &name)?;
            if st.mode & (1 << 31) == 0 {
                let rootfd = open_root(&root).map_err(io_err(format!("opening the root of container {}", c.id)))?;
                if resolve(&rootfd, &path, true)
                    .ok()
                    .and_then(|fd| rustix::fs::fstat(&fd).ok())
                    .is_none_or(|s| s.st_mode & libc::S_IFMT != libc::S_IFDIR)
                {
                    return Err(EngineError::InvalidArgument(format!("extraction point is not a directory: {path}")));
                }
            }
            let uopts = image::UnpackOptions {
                no_overwrite_dir_non_dir: opts.no_overwrite_dir_non_dir,
                copy_uid_gid: opts.copy_uid_gid,
                // In a user namespace, root (or the archive's owners) are the container's.
                owners: c.host_config.userns_remap.as_ref().map(crate::userns::to_host),
            };
            image::unpack_into(&root.path, Path::new(&path), r, &uopts)
                .map_err(|e| EngineError::InvalidArgument(format!("copying into container {}: {e}", c.id)))?;
            Ok(())
        })
        .await
        .expect("unpack task")
    }

    /// `export`: streams the container's root filesystem (without its mounts) as a tar.
    pub async fn export(&self, name_or_id: &str, w: Box<dyn Write + Send>) -> Result<(), EngineError> {
        let ctr = self.lookup(name_or_id)?;
        let op = ctr.op.clone().lock_owned().await;
        let c = ctr.snapshot();
        let engine = self.clone();
        let running = c.is_running();
        let c_remap = c.host_config.userns_remap.clone();
        let root = tokio::task::spawn_blocking(move || engine.rootfs_only(&c)).await.expect("export task")?;
        // As for `cp`: only a stopped container's detached overlay needs the lock held.
        let op = (!running).then_some(op);
        let id = ctr.id.clone();
        let owners = c_remap.as_ref().map(crate::userns::to_container);
        crate::spawn_transfer("export", move || {
            let _op = op;
            // Bind the whole `Root`: a closure capturing only `root.path` would drop the
            // descriptor that keeps the mount alive.
            let root = root;
            let packed = match &owners {
                Some(o) => image::pack_dir_mapped(&root.path, o, w),
                None => image::pack_dir(&root.path, w),
            };
            if let Err(e) = packed {
                tracing::warn!("exporting container {id}: {e:#}");
            }
        });
        Ok(())
    }

    /// `diff`: the changes in the writable layer against the image.
    pub async fn changes(&self, name_or_id: &str) -> Result<Vec<image::Change>, EngineError> {
        let ctr = self.lookup(name_or_id)?;
        let c = ctr.snapshot();
        let layers = self.image_layers(&c)?;
        let (upper, _) = self.rw_dirs(&c);
        tokio::task::spawn_blocking(move || image::changes(&upper, &layers)).await.expect("changes task").map_err(|e| {
            EngineError::io(format!("listing changes of container {}", c.id), std::io::Error::other(e.to_string()))
        })
    }

    /// Sizes for `ps -s` / `inspect -s`: (writable layer, root filesystem).
    pub async fn container_size(&self, id: &str) -> Result<(i64, i64), EngineError> {
        let ctr = self.lookup(id)?;
        let c = ctr.snapshot();
        let (upper, _) = self.rw_dirs(&c);
        let image_size = self.images().resolve(&c.image_id).map(|i| i.size).unwrap_or(0);
        let rw = tokio::task::spawn_blocking(move || dir_size(&upper)).await.expect("size task");
        let rw = i64::try_from(rw).unwrap_or(i64::MAX);
        Ok((rw, rw + i64::try_from(image_size).unwrap_or(0)))
    }
}

/// Bytes of regular files under `dir` (hard links counted once).
pub(crate) fn dir_size(dir: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let mut seen = std::collections::HashSet::new();
    let mut total = 0;
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else { continue };
        for e in rd.flatten() {
            let Ok(m) = e.metadata() else { continue };
            if m.is_dir() {
                stack.push(e.path());
            } else if m.is_file() && (m.nlink() == 1 || seen.insert((m.dev(), m.ino()))) {
                total += m.size();
            }
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_modes() {
        assert_eq!(go_mode(libc::S_IFDIR | 0o755), (1 << 31) | 0o755);
        assert_eq!(go_mode(libc::S_IFREG | 0o644), 0o644);
        assert_eq!(go_mode(libc::S_IFLNK | 0o777), (1 << 27) | 0o777);
        assert_eq!(go_mode(libc::S_IFREG | libc::S_ISUID | 0o755), (1 << 23) | 0o755);
    }

    #[test]
    fn rel_paths() {
        assert_eq!(rel("/"), PathBuf::from("."));
        assert_eq!(rel("/etc/hosts"), PathBuf::from("etc/hosts"));
    }
}
