//! Building the container's filesystem inside its new mount namespace: the overlay root, the
//! mounts, /dev, then pivot_root and the masked and read-only paths.
//!
//! Mount targets are resolved inside the root with `openat2(RESOLVE_IN_ROOT)` and mounted through
//! their `/proc/self/fd/N` magic link, so a symlink planted in an image (`/proc -> /etc`, say)
//! can never send a mount outside the container's root.

use std::ffi::OsStr;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

use nix::mount::{MntFlags, MsFlags, mount, umount2};
use rustix::fs::{Mode, OFlags, ResolveFlags};

use crate::ChildError;
use crate::config::{Config, Device, Mount, Rootfs};

/// What fstab-style options mean to mount(2).
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct MountOptions {
    pub flags: MsFlags,
    /// Flags that must be cleared (e.g. `rw`, `suid`).
    pub clear: MsFlags,
    /// Propagation changes, applied with separate mount(2) calls.
    pub propagation: Vec<MsFlags>,
    /// Filesystem-specific options (`size=64m`, `mode=755`, ...).
    pub data: String,
}

/// Parses mount options (pure; unit-tested).
pub(crate) fn parse_options(options: &[String]) -> MountOptions {
    let mut o =
        MountOptions { flags: MsFlags::empty(), clear: MsFlags::empty(), propagation: Vec::new(), data: String::new() };
    for opt in options {
        let (set, clear, prop): (MsFlags, MsFlags, Option<MsFlags>) = match opt.as_str() {
            "ro" => (MsFlags::MS_RDONLY, MsFlags::empty(), None),
            "rw" => (MsFlags::empty(), MsFlags::MS_RDONLY, None),
            "nosuid" => (MsFlags::MS_NOSUID, MsFlags::empty(), None),
            "suid" => (MsFlags::empty(), MsFlags::MS_NOSUID, None),
            "nodev" => (MsFlags::MS_NODEV, MsFlags::empty(), None),
            "dev" => (MsFlags::empty(), MsFlags::MS_NODEV, None),
            "noexec" => (MsFlags::MS_NOEXEC, MsFlags::empty(), None),
            "exec" => (MsFlags::empty(), MsFlags::MS_NOEXEC, None),
            "sync" => (MsFlags::MS_SYNCHRONOUS, MsFlags::empty(), None),
            "async" => (MsFlags::empty(), MsFlags::MS_SYNCHRONOUS, None),
            "dirsync" => (MsFlags::MS_DIRSYNC, MsFlags::empty(), None),
            "remount" => (MsFlags::MS_REMOUNT, MsFlags::empty(), None),
            "mand" => (MsFlags::MS_MANDLOCK, MsFlags::empty(), None),
            "nomand" => (MsFlags::empty(), MsFlags::MS_MANDLOCK, None),
            "atime" => (MsFlags::empty(), MsFlags::MS_NOATIME, None),
            "noatime" => (MsFlags::MS_NOATIME, MsFlags::empty(), None),
            "diratime" => (MsFlags::empty(), MsFlags::MS_NODIRATIME, None),
            "nodiratime" => (MsFlags::MS_NODIRATIME, MsFlags::empty(), None),
            "relatime" => (MsFlags::MS_RELATIME, MsFlags::empty(), None),
            "norelatime" => (MsFlags::empty(), MsFlags::MS_RELATIME, None),
            "strictatime" => (MsFlags::MS_STRICTATIME, MsFlags::empty(), None),
            "nostrictatime" => (MsFlags::empty(), MsFlags::MS_STRICTATIME, None),
            "bind" => (MsFlags::MS_BIND, MsFlags::empty(), None),
            "rbind" => (MsFlags::MS_BIND | MsFlags::MS_REC, MsFlags::empty(), None),
            "private" => (MsFlags::empty(), MsFlags::empty(), Some(MsFlags::MS_PRIVATE)),
            "rprivate" => (MsFlags::empty(), MsFlags::empty(), Some(MsFlags::MS_PRIVATE | MsFlags::MS_REC)),
            "shared" => (MsFlags::empty(), MsFlags::empty(), Some(MsFlags::MS_SHARED)),
            "rshared" => (MsFlags::empty(), MsFlags::empty(), Some(MsFlags::MS_SHARED | MsFlags::MS_REC)),
            "slave" => (MsFlags::empty(), MsFlags::empty(), Some(MsFlags::MS_SLAVE)),
            "rslave" => (MsFlags::empty(), MsFlags::empty(), Some(MsFlags::MS_SLAVE | MsFlags::MS_REC)),
            "unbindable" => (MsFlags::empty(), MsFlags::empty(), Some(MsFlags::MS_UNBINDABLE)),
            "runbindable" => (MsFlags::empty(), MsFlags::empty(), Some(MsFlags::MS_UNBINDABLE | MsFlags::MS_REC)),
            other => {
                if !o.data.is_empty() {
                    o.data.push(',');
                }
                o.data.push_str(other);
                continue;
            }
        };
        o.flags = (o.flags | set) & !clear;
        o.clear = (o.clear | clear) & !set;
        if let Some(p) = prop {
            o.propagation.push(p);
        }
    }
    o
}

fn err(what: impl std::fmt::Display, e: impl std::fmt::Display) -> ChildError {
    ChildError::setup(format!("{what}: {e}"))
}

/// The `/proc/self/fd/N` path of a descriptor, through which mount(2) reaches what it points at.
fn fd_path(fd: BorrowedFd<'_>) -> String {
    format!("/proc/self/fd/{}", fd.as_raw_fd())
}

/// Opens `rel` (a path inside the container) under `root`, resolving symlinks as if `root` were
/// `/`, and creates it (a directory, or an empty file when `dir` is false) with any missing
/// parents when it doesn't exist.
pub(crate) fn ensure_in_root(root: BorrowedFd<'_>, rel: &Path, dir: bool) -> io::Result<OwnedFd> {
    ensure_in_root_owned(root, rel, dir, None)
}

/// [`ensure_in_root`], giving what it creates to `owner` (uid, gid): the container's root
/// when it has a user namespace, as if its root had made them (runc makes them from inside).
pub(crate) fn ensure_in_root_owned(
    root: BorrowedFd<'_>,
    rel: &Path,
    dir: bool,
    owner: Option<(u32, u32)>,
) -> io::Result<OwnedFd> {
    let how = ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS;
    let flags = OFlags::PATH | OFlags::CLOEXEC;
    match rustix::fs::openat2(root, rel, flags, Mode::empty(), how) {
        Ok(fd) => return Ok(fd),
        Err(e) if e == rustix::io::Errno::NOENT => {}
        Err(e) => return Err(e.into()),
    }
    let name = rel.file_name().ok_or_else(|| io::Error::from_raw_os_error(libc::ENOENT))?;
    let parent = rel.parent().unwrap_or(Path::new(""));
    let pfd = if parent.as_os_str().is_empty() || parent == Path::new("/") {
        rustix::fs::openat2(root, ".", OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty(), how)?
    } else {
        let p = ensure_in_root_owned(root, parent, true, owner)?;
        // Reopen the O_PATH parent as a real directory descriptor for mkdirat/openat.
        rustix::fs::openat(&p, ".", OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())?
    };
    let created = if dir {
        rustix::fs::mkdirat(&pfd, name, Mode::from_raw_mode(0o755)).map(|_| ())
    } else {
        rustix::fs::openat(
            &pfd,
            name,
            OFlags::CREATE | OFlags::EXCL | OFlags::WRONLY | OFlags::CLOEXEC | OFlags::NOFOLLOW,
            Mode::from_raw_mode(0o644),
        )
        .map(|_| ())
    };
    match created {
        Ok(()) => {
            if let Some((uid, gid)) = owner {
                rustix::fs::chownat(
                    &pfd,
                    name,
                    Some(rustix::fs::Uid::from_raw(uid)),
                    Some(rustix::fs::Gid::from_raw(gid)),
                    rustix::fs::AtFlags::SYMLINK_NOFOLLOW,
                )?;
            }
        }
        Err(e) if e == rustix::io::Errno::EXIST => {}
        Err(e) => return Err(e.into()),
    }
    Ok(rustix::fs::openat2(root, rel, flags, Mode::empty(), how)?)
}

/// `/a/b` → `a/b` (relative to the container root).
fn rel(p: &Path) -> PathBuf {
    p.components().filter(|c| matches!(c, Component::Normal(_))).collect()
}

/// Longest common directory of `paths`, for short relative overlay lowerdir options.
fn common_dir(paths: &[PathBuf]) -> PathBuf {
    let mut it = paths.iter();
    let Some(first) = it.next() else { return PathBuf::from("/") };
    let mut common: Vec<Component<'_>> = first.parent().unwrap_or(Path::new("/")).components().collect();
    for p in it {
        let comps: Vec<Component<'_>> = p.components().collect();
        let n = common.iter().zip(comps.iter()).take_while(|(a, b)| a == b).count();
        common.truncate(n);
    }
    common.iter().collect()
}

fn escape_overlay(p: &Path) -> String {
    // overlayfs splits lowerdir on ':' and options on ','; escape both.
    let s = p.to_string_lossy();
    s.replace('\\', "\\\\").replace(':', "\\:").replace(',', "\\,")
}

/// Mounts the root filesystem at its target. Runs inside the new mount namespace. With a user
/// namespace (`--userns-remap`), the lower layers are idmapped with its mappings first.
pub(crate) fn mount_root(rootfs: &Rootfs, userns: Option<BorrowedFd<'_>>) -> Result<(), ChildError> {
    // Nothing we mount may propagate back to the host.
    mount(None::<&str>, "/", None::<&str>, MsFlags::MS_REC | MsFlags::MS_SLAVE, None::<&str>)
        .map_err(|e| err("making / a slave mount", e))?;
    match rootfs {
        Rootfs::Overlay { lower, upper, work, target } => {
            if let Some(ns) = userns {
                for l in lower {
                    crate::userns::idmap_in_place(l, ns)
                        .map_err(|e| err(format_args!("idmapping image layer {}", l.display()), e))?;
                }
            }
            // Long absolute lowerdir lists overflow mount(2)'s one-page option limit; paths relative
            // to the layers' common directory keep it short (overlayfs resolves them at mount time
            // against the cwd).
            let base = common_dir(lower);
            nix::unistd::chdir(&base).map_err(|e| err(format_args!("chdir {}", base.display()), e))?;
            let lowers: Vec<String> =
                lower.iter().map(|l| escape_overlay(l.strip_prefix(&base).unwrap_or(l))).collect();
            // redirect_dir and metacopy off, whatever the kernel's defaults: with them a renamed
            // directory or a chown'ed file would be only an xattr in the upper dir, and
            // `commit`, `diff` and `upgrade` read the upper dir directly (as Docker's naive
            // differ does).
            let data = format!(
                "redirect_dir=off,metacopy=off,lowerdir={},upperdir={},workdir={}",
                lowers.join(":"),
                escape_overlay(upper),
                escape_overlay(work)
            );
            mount(Some("overlay"), target.as_path(), Some("overlay"), MsFlags::empty(), Some(data.as_str()))
                .map_err(|e| err(format_args!("mounting overlay root filesystem on {}", target.display()), e))?;
        }
        Rootfs::Dir(_) if userns.is_some() => {
            return Err(ChildError::setup("a user namespace needs an overlay root filesystem".into()));
        }
        Rootfs::Dir(dir) => {
            mount(Some(dir.as_path()), dir.as_path(), None::<&str>, MsFlags::MS_BIND | MsFlags::MS_REC, None::<&str>)
                .map_err(|e| err(format_args!("bind-mounting root filesystem {}", dir.display()), e))?;
        }
    }
    Ok(())
}

/// Mounts everything in `config.mounts`, then the devices (created when /dev is a fresh tmpfs).
pub(crate) fn mount_all(config: &Config, root: BorrowedFd<'_>) -> Result<(), ChildError> {
    let mut dev_tmpfs = false;
    let owner = config.userns.as_ref().map(|m| m.root());
    for m in &config.mounts {
        mount_one(m, root, owner)?;
        if m.destination == Path::new("/dev") && m.kind == "tmpfs" {
            dev_tmpfs = true;
        }
    }
    if dev_tmpfs {
        let dev = ensure_in_root(root, Path::new("dev"), true).map_err(|e| err("opening /dev", e))?;
        let dev = rustix::fs::openat(&dev, ".", OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())
            .map_err(|e| err("opening /dev", e))?;
        for (name, target) in [
            ("fd", "/proc/self/fd"),
            ("stdin", "/proc/self/fd/0"),
            ("stdout", "/proc/self/fd/1"),
            ("stderr", "/proc/self/fd/2"),
            ("ptmx", "pts/ptmx"),
            ("core", "/proc/kcore"),
        ] {
            match rustix::fs::symlinkat(target, &dev, name) {
                Ok(()) => {
                    if let Some((uid, gid)) = owner {
                        rustix::fs::chownat(
                            &dev,
                            name,
                            Some(rustix::fs::Uid::from_raw(uid)),
                            Some(rustix::fs::Gid::from_raw(gid)),
                            rustix::fs::AtFlags::SYMLINK_NOFOLLOW,
                        )
                        .map_err(|e| err(format_args!("creating /dev/{name}"), e))?;
                    }
                }
                Err(e) if e == rustix::io::Errno::EXIST => {}
                Err(e) => return Err(err(format_args!("creating /dev/{name}"), e)),
            }
        }
    }
    for d in &config.devices {
        make_device(d, root)?;
    }
    Ok(())
}

fn mount_one(m: &Mount, root: BorrowedFd<'_>, owner: Option<(u32, u32)>) -> Result<(), ChildError> {
    let dest = rel(&m.destination);
    let opts = parse_options(&m.options);
    let is_bind = m.kind == "bind" || opts.flags.contains(MsFlags::MS_BIND);
    let what = || {
        format!(
            "mounting {} on {}",
            m.source.as_deref().unwrap_or(Path::new(&m.kind)).display(),
            m.destination.display()
        )
    };
    let target_is_dir = if is_bind {
        let src = m
            .source
            .as_deref()
            .ok_or_else(|| ChildError::setup(format!("bind mount on {} has no source", m.destination.display())))?;
        std::fs::metadata(src).map_err(|e| err(format_args!("bind mount source {}", src.display()), e))?.is_dir()
    } else {
        true
    };
    let target = ensure_in_root_owned(root, &dest, target_is_dir, owner)
        .map_err(|e| err(format_args!("creating mount point {}", m.destination.display()), e))?;
    let tpath = fd_path(target.as_fd());
    if is_bind {
        let src = m.source.as_deref().expect("checked above");
        let flags = MsFlags::MS_BIND | (opts.flags & MsFlags::MS_REC);
        mount(Some(src), tpath.as_str(), None::<&str>, flags, None::<&str>).map_err(|e| err(what(), e))?;
        let extra = opts.flags & !(MsFlags::MS_BIND | MsFlags::MS_REC | MsFlags::MS_REMOUNT);
        if !extra.is_empty() {
            let mounted = ensure_in_root(root, &dest, target_is_dir).map_err(|e| err(what(), e))?;
            remount(&fd_path(mounted.as_fd()), extra).map_err(|e| err(what(), e))?;
            // A read-only recursive bind is read-only all the way down (Docker 25+), where the
            // kernel can (5.12+); the top mount is read-only already either way.
            if extra.contains(MsFlags::MS_RDONLY) && flags.contains(MsFlags::MS_REC) {
                let _ = sys::mount::make_tree_read_only(mounted.as_fd());
            }
        }
    } else {
        let src = m.source.as_deref().map(|p| p.as_os_str()).unwrap_or(OsStr::new(&m.kind));
        let data = (!opts.data.is_empty()).then_some(opts.data.as_str());
        let r = mount(Some(src), tpath.as_str(), Some(m.kind.as_str()), opts.flags, data);
        match r {
            Ok(()) => {}
            // Without its own network namespace a container may not mount sysfs: bind the host's
            // instead, read-only (runc does the same).
            Err(nix::errno::Errno::EPERM) if m.kind == "sysfs" => {
                mount(Some("/sys"), tpath.as_str(), None::<&str>, MsFlags::MS_BIND | MsFlags::MS_REC, None::<&str>)
                    .map_err(|e| err(what(), e))?;
                let mounted = ensure_in_root(root, &dest, true).map_err(|e| err(what(), e))?;
                remount(&fd_path(mounted.as_fd()), opts.flags | MsFlags::MS_RDONLY).map_err(|e| err(what(), e))?;
            }
            Err(e) => return Err(err(what(), e)),
        }
        // An mqueue filesystem's root is its mounter's; in a user namespace that is the
        // container's root, as if it had mounted it (tmpfs mounts get `uid=`/`gid=` instead).
        if let (Some((uid, gid)), "mqueue") = (owner, m.kind.as_str()) {
            let mounted = ensure_in_root(root, &dest, true).map_err(|e| err(what(), e))?;
            rustix::fs::chown(
                fd_path(mounted.as_fd()).as_str(),
                Some(rustix::fs::Uid::from_raw(uid)),
                Some(rustix::fs::Gid::from_raw(gid)),
            )
            .map_err(|e| err(what(), e))?;
        }
    }
    if !opts.propagation.is_empty() {
        // `target` still names what was under the new mount; resolve again to reach the mount.
        let mounted = ensure_in_root(root, &dest, target_is_dir).map_err(|e| err(what(), e))?;
        let mpath = fd_path(mounted.as_fd());
        for p in &opts.propagation {
            mount(None::<&str>, mpath.as_str(), None::<&str>, *p, None::<&str>).map_err(|e| err(what(), e))?;
        }
    }
    Ok(())
}

/// Remounts a bind mount with `flags`, keeping the flags the mount already has that can't be
/// dropped (nosuid, nodev, noexec of the source).
pub fn remount(path: &str, flags: MsFlags) -> nix::Result<()> {
    let st = nix::sys::statvfs::statvfs(path)?;
    use nix::sys::statvfs::FsFlags;
    let mut keep = MsFlags::empty();
    for (f, m) in [
        (FsFlags::ST_NOSUID, MsFlags::MS_NOSUID),
        (FsFlags::ST_NODEV, MsFlags::MS_NODEV),
        (FsFlags::ST_NOEXEC, MsFlags::MS_NOEXEC),
    ] {
        if st.flags().contains(f) {
            keep |= m;
        }
    }
    mount(None::<&str>, path, None::<&str>, MsFlags::MS_BIND | MsFlags::MS_REMOUNT | flags | keep, None::<&str>)
}

fn make_device(d: &Device, root: BorrowedFd<'_>) -> Result<(), ChildError> {
    let dest = rel(&d.path);
    let what = || format!("creating device {}", d.path.display());
    let parent = dest.parent().unwrap_or(Path::new(""));
    let pfd = ensure_in_root(root, parent, true).map_err(|e| err(what(), e))?;
    let pfd = rustix::fs::openat(&pfd, ".", OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())
        .map_err(|e| err(what(), e))?;
    let name = dest.file_name().ok_or_else(|| ChildError::setup(format!("bad device path {}", d.path.display())))?;
    let kind = match d.kind {
        'c' | 'u' => rustix::fs::FileType::CharacterDevice,
        'b' => rustix::fs::FileType::BlockDevice,
        'p' => rustix::fs::FileType::Fifo,
        k => return Err(ChildError::setup(format!("bad device type {k:?} for {}", d.path.display()))),
    };
    let dev =
        rustix::fs::makedev(u32::try_from(d.major).unwrap_or(u32::MAX), u32::try_from(d.minor).unwrap_or(u32::MAX));
    match rustix::fs::mknodat(&pfd, name, kind, Mode::from_raw_mode(d.mode & 0o7777), dev) {
        Ok(()) => {}
        Err(e) if e == rustix::io::Errno::EXIST => {}
        Err(e) => return Err(err(what(), e)),
    }
    rustix::fs::chownat(
        &pfd,
        name,
        Some(rustix::fs::Uid::from_raw(d.uid)),
        Some(rustix::fs::Gid::from_raw(d.gid)),
        rustix::fs::AtFlags::SYMLINK_NOFOLLOW,
    )
    .map_err(|e| err(what(), e))?;
    Ok(())
}

/// Opens a new pseudo-terminal through the devpts `ptmx` at `ptmx` (relative to `dir`): the
/// slave comes from the master (TIOCGPTPEER), so it is the one of that devpts whatever the
/// path names resolve to. Returns (master, slave).
pub(crate) fn new_pty(dir: BorrowedFd<'_>, ptmx: &str) -> Result<(OwnedFd, OwnedFd), ChildError> {
    let master = rustix::fs::openat(dir, ptmx, OFlags::RDWR | OFlags::NOCTTY | OFlags::CLOEXEC, Mode::empty())
        .map_err(|e| err("opening /dev/pts/ptmx", e))?;
    rustix::pty::unlockpt(&master).map_err(|e| err("unlocking the pty", e))?;
    let slave = rustix::pty::ioctl_tiocgptpeer(
        &master,
        rustix::pty::OpenptFlags::RDWR | rustix::pty::OpenptFlags::NOCTTY | rustix::pty::OpenptFlags::CLOEXEC,
    )
    .map_err(|e| err("opening the pty slave", e))?;
    Ok((master, slave))
}

/// Opens a new pseudo-terminal in the container's devpts and binds its slave over /dev/console.
/// Returns (master, slave).
pub(crate) fn open_pty(root: BorrowedFd<'_>) -> Result<(OwnedFd, OwnedFd), ChildError> {
    let pts = ensure_in_root(root, Path::new("dev/pts"), true).map_err(|e| err("opening /dev/pts", e))?;
    let (master, slave) = new_pty(pts.as_fd(), "ptmx")?;
    let console = ensure_in_root(root, Path::new("dev/console"), false).map_err(|e| err("creating /dev/console", e))?;
    mount(
        Some(fd_path(slave.as_fd()).as_str()),
        fd_path(console.as_fd()).as_str(),
        None::<&str>,
        MsFlags::MS_BIND,
        None::<&str>,
    )
    .map_err(|e| err("binding the pty over /dev/console", e))?;
    Ok((master, slave))
}

/// pivot_root into `target`, dropping the old root.
pub(crate) fn pivot(target: &Path) -> Result<(), ChildError> {
    let fd = rustix::fs::open(target, OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())
        .map_err(|e| err("opening the root filesystem", e))?;
    rustix::process::fchdir(&fd).map_err(|e| err("chdir to the root filesystem", e))?;
    nix::unistd::pivot_root(".", ".").map_err(|e| err("pivot_root", e))?;
    // The old root is now stacked under the new one at "."; make it private (so its unmount
    // doesn't reach the host) and detach it.
    mount(None::<&str>, ".", None::<&str>, MsFlags::MS_REC | MsFlags::MS_SLAVE, None::<&str>)
        .map_err(|e| err("making the old root a slave", e))?;
    umount2(".", MntFlags::MNT_DETACH).map_err(|e| err("detaching the old root", e))?;
    nix::unistd::chdir("/").map_err(|e| err("chdir /", e))?;
    Ok(())
}

/// After pivot_root: masked paths, read-only paths, read-only root.
pub(crate) fn finish(config: &Config) -> Result<(), ChildError> {
    // Detaching the old root made the whole new tree a slave (a `mount(".")` after
    // pivot_root names the new root): shared propagation asked for a mount is set again here.
    for m in &config.mounts {
        let opts = parse_options(&m.options);
        for p in opts.propagation.iter().filter(|p| p.contains(MsFlags::MS_SHARED)) {
            mount(None::<&str>, m.destination.as_path(), None::<&str>, *p, None::<&str>)
                .map_err(|e| err(format_args!("making {} shared", m.destination.display()), e))?;
        }
    }
    for p in &config.masked_paths {
        let meta = match std::fs::symlink_metadata(p) {
            Ok(m) => m,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(err(format_args!("masking {}", p.display()), e)),
        };
        let r = if meta.is_dir() {
            mount(Some("tmpfs"), p.as_path(), Some("tmpfs"), MsFlags::MS_RDONLY, None::<&str>)
        } else {
            mount(Some("/dev/null"), p.as_path(), None::<&str>, MsFlags::MS_BIND, None::<&str>)
        };
        r.map_err(|e| err(format_args!("masking {}", p.display()), e))?;
    }
    for p in &config.readonly_paths {
        match mount(Some(p.as_path()), p.as_path(), None::<&str>, MsFlags::MS_BIND | MsFlags::MS_REC, None::<&str>) {
            Ok(()) => {}
            Err(nix::errno::Errno::ENOENT) => continue,
            Err(e) => return Err(err(format_args!("making {} read-only", p.display()), e)),
        }
        let path = p.as_os_str().as_bytes();
        let path = std::str::from_utf8(path).map_err(|e| err("read-only path", e))?;
        remount(path, MsFlags::MS_RDONLY | MsFlags::MS_REC)
            .map_err(|e| err(format_args!("making {} read-only", p.display()), e))?;
    }
    if config.readonly_rootfs {
        remount("/", MsFlags::MS_RDONLY).map_err(|e| err("making the root filesystem read-only", e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn o(v: &[&str]) -> MountOptions {
        parse_options(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn options() {
        let m = o(&["nosuid", "strictatime", "mode=755", "size=65536k"]);
        assert_eq!(m.flags, MsFlags::MS_NOSUID | MsFlags::MS_STRICTATIME);
        assert_eq!(m.data, "mode=755,size=65536k");
        let m = o(&["rbind", "ro", "rprivate"]);
        assert_eq!(m.flags, MsFlags::MS_BIND | MsFlags::MS_REC | MsFlags::MS_RDONLY);
        assert_eq!(m.propagation, vec![MsFlags::MS_PRIVATE | MsFlags::MS_REC]);
        let m = o(&["ro", "rw"]);
        assert!(!m.flags.contains(MsFlags::MS_RDONLY));
        assert!(m.clear.contains(MsFlags::MS_RDONLY));
    }

    #[test]
    fn common_dirs() {
        let p = |s: &str| PathBuf::from(s);
        assert_eq!(
            common_dir(&[p("/var/lib/berth/layers/a/diff"), p("/var/lib/berth/layers/b/diff")]),
            p("/var/lib/berth/layers")
        );
        assert_eq!(common_dir(&[p("/x/a/diff")]), p("/x/a"));
        assert_eq!(common_dir(&[p("/x/a"), p("/y/b")]), p("/"));
    }

    #[test]
    fn rel_paths() {
        assert_eq!(rel(Path::new("/dev/pts")), PathBuf::from("dev/pts"));
        assert_eq!(rel(Path::new("/a/../b")), PathBuf::from("a/b"));
    }

    #[test]
    fn overlay_escaping() {
        assert_eq!(escape_overlay(Path::new("/a:b,c")), "/a\\:b\\,c");
    }
}
