//! Secure tar unpacking: image layers (with overlayfs whiteouts) and `docker cp` into a container.
//!
//! The `tar` crate only parses; every file is created here, relative to directory fds:
//! - Parent directories are opened with `openat2`. For a layer, `RESOLVE_BENEATH |
//!   RESOLVE_NO_SYMLINKS | RESOLVE_NO_XDEV`: the layer directory is private, so any symlink on
//!   the way is an attack and is refused. For `cp` into a container, `RESOLVE_IN_ROOT`: the
//!   container's own symlinks are followed, but resolved as if the container root were `/`.
//! - The last component is created with `O_CREAT | O_EXCL | O_NOFOLLOW`, `mkdirat`,
//!   `symlinkat`, `mknodat` or `linkat`, none of which follow a symlink.
//! - Names with `..`, absolute names, relative symlinks that lexically leave the root (Docker's
//!   breakout check) and hard links to anything not unpacked earlier are refused before any
//!   syscall; see [`crate::safepath`].
//!
//! Metadata: numeric owner (`fchown`), mode including setuid/setgid/sticky (after the chown,
//! which clears them), `SCHILY.xattr.*` PAX records, mtimes (directories last, after their
//! children). Layer whiteouts become what overlayfs expects: `.wh.NAME` a 0/0 character device
//! `NAME`, `.wh..wh..opq` the `trusted.overlay.opaque=y` xattr on its directory.
//!
//! Durability: nothing here fsyncs. The layer store calls one `syncfs` per layer before it
//! renames the layer into place (see `layer.rs`); fsyncing every file would cost one disk
//! flush per file for no gain, since a layer is only visible once it is complete.

use std::fs::{File, Permissions};
use std::io::{self, Read, Seek, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::rc::Rc;

use rustix::fs::{
    self as rfs, AtFlags, FileType, Gid, Mode, OFlags, ResolveFlags, Timespec, Timestamps, Uid, XattrFlags,
};
use rustix::io::Errno;

use crate::safepath::{self, UnsafeReason, Whiteout};
use crate::targuard::TarGuard;
use crate::tarmeta::{self, Meta};

/// The xattr overlayfs reads to make a directory opaque.
pub(crate) const OPAQUE_XATTR: &str = "trusted.overlay.opaque";
/// Copy buffer: large reads and writes, few syscalls.
const COPY_BUFFER: usize = 1 << 20;
/// Open parent directory fds kept between entries (tars list siblings together).
const DIR_CACHE: usize = 32;
/// Most bytes of holes the GNU sparse files of one tar may have in all. A sparse entry says how
/// long its file is apart from the data it carries, so 2 KiB of tar can ask for a petabyte of
/// zeros; they become holes (seeks, not writes), but the `tar` crate still hands them over as
/// zeros to look at, about 10 GiB/s. 16 GiB is more than real sparse files in images hold
/// (`lastlog` of uid 65534 is 19 MB) and costs seconds at most.
const MAX_SPARSE_HOLES: u64 = 16 << 30;

/// What a sparse file's holes are compared with.
static ZEROS: [u8; COPY_BUFFER] = [0; COPY_BUFFER];

/// Options for [`unpack_into`] (Docker's `docker cp` semantics).
#[derive(Debug, Clone, Default)]
pub struct UnpackOptions {
    /// Refuse to replace a directory with a non-directory and vice versa.
    pub no_overwrite_dir_non_dir: bool,
    /// Keep the archive's uid/gid (`docker cp -a`); otherwise files belong to root (0:0).
    pub copy_uid_gid: bool,
    /// The owners above, as the container sees them, become these host ids (a container in a
    /// user namespace).
    pub owners: Option<crate::OwnerMap>,
}

/// What an unpack wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UnpackStats {
    /// Bytes of regular file content.
    pub size: u64,
    /// Tar entries processed.
    pub entries: u64,
}

/// Why a tar stream could not be unpacked.
#[derive(Debug, thiserror::Error)]
pub enum UnpackError {
    /// The entry would write outside the root, or through a symlink; nothing of it was written.
    #[error("refusing to unpack {entry:?}: {reason}")]
    UnsafePath {
        /// The entry name as it appears in the archive.
        entry: String,
        /// What is wrong with it.
        reason: UnsafeReason,
    },
    /// The stream is not a valid tar or ends in the middle of an entry.
    #[error("corrupt or truncated tar stream after {entries} entries")]
    Corrupt {
        /// Entries read before the error.
        entries: u64,
        /// The parse or read error.
        #[source]
        source: io::Error,
    },
    /// A header field that cannot be represented (e.g. uid 4294967295).
    #[error("invalid {field} in tar header of {entry:?}")]
    Header {
        /// The entry.
        entry: String,
        /// The field.
        field: &'static str,
    },
    /// GNU sparse files whose holes add up to more than the tar may have (16 GiB).
    #[error(
        "refusing to unpack {entry:?}: a sparse file of {size} bytes (a tar's sparse files may have 16 GiB of holes in all)"
    )]
    SparseTooLarge {
        /// The entry.
        entry: String,
        /// Its length.
        size: u64,
    },
    /// An entry type we do not unpack (e.g. a multi-volume continuation).
    #[error("unsupported tar entry type {kind:?} for {entry:?}")]
    UnsupportedType {
        /// The entry.
        entry: String,
        /// The type flag.
        kind: char,
    },
    /// `no_overwrite_dir_non_dir` and a directory would be replaced by a non-directory.
    #[error("cannot overwrite directory {entry:?} with non-directory")]
    OverwriteDir {
        /// The entry.
        entry: String,
    },
    /// `no_overwrite_dir_non_dir` and a non-directory would be replaced by a directory.
    #[error("cannot overwrite non-directory {entry:?} with directory")]
    OverwriteNonDir {
        /// The entry.
        entry: String,
    },
    /// A filesystem operation failed.
    #[error("failed to {op} {entry:?}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// The entry (or the destination directory).
        entry: String,
        /// The cause.
        #[source]
        source: io::Error,
    },
}

pub(crate) fn show(raw: &[u8]) -> String {
    String::from_utf8_lossy(raw).into_owned()
}

fn unsafe_path(raw: &[u8], reason: UnsafeReason) -> UnpackError {
    UnpackError::UnsafePath { entry: show(raw), reason }
}

fn io_err<'a>(op: &'static str, raw: &'a [u8]) -> impl FnOnce(Errno) -> UnpackError + 'a {
    move |e| UnpackError::Io { op, entry: show(raw), source: e.into() }
}

/// Unpacks a layer tar into the empty directory `dir`, turning whiteouts into overlayfs form.
/// On error the caller removes `dir` (it is a private temp directory).
pub(crate) fn unpack_layer(dir: &Path, r: impl Read) -> Result<UnpackStats, UnpackError> {
    let root = rfs::open(dir, OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC | OFlags::NOFOLLOW, Mode::empty())
        .map_err(io_err("open layer directory", dir.as_os_str().as_bytes()))?;
    let resolve =
        ResolveFlags::BENEATH | ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS | ResolveFlags::NO_XDEV;
    Unpacker::new(
        root,
        Vec::new(),
        true,
        resolve,
        UnpackOptions { no_overwrite_dir_non_dir: false, copy_uid_gid: true, owners: None },
    )
    .run(r)
}

/// Unpacks a tar (as sent by `docker cp`) into the directory `dest` of the container root
/// `root`. `dest` and every path in the archive are resolved inside `root` as if it were `/`
/// (`openat2` with `RESOLVE_IN_ROOT`), so the container's symlinks cannot lead outside it.
/// `dest` must exist. Entries named `.` are skipped: the destination itself keeps its metadata.
pub fn unpack_into(root: &Path, dest: &Path, r: impl Read, opts: &UnpackOptions) -> Result<UnpackStats, UnpackError> {
    let root_fd = rfs::open(root, OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())
        .map_err(io_err("open container root", root.as_os_str().as_bytes()))?;
    let raw = dest.as_os_str().as_bytes();
    let trimmed: &[u8] = &raw[raw.iter().take_while(|&&b| b == b'/').count()..];
    let base = safepath::clean(trimmed).map_err(|reason| unsafe_path(raw, reason))?;
    let resolve = ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS;
    let u = Unpacker::new(root_fd, base, false, resolve, opts.clone());
    if !u.base.is_empty() {
        u.open_dir(&u.base).map_err(io_err("open destination directory", raw))?;
    }
    u.run(r)
}

struct Unpacker {
    root: Rc<OwnedFd>,
    /// Prefix of every entry inside `root` (the `cp` destination); empty for layers.
    base: Vec<u8>,
    layer: bool,
    resolve: ResolveFlags,
    opts: UnpackOptions,
    cache: Vec<(Vec<u8>, Rc<OwnedFd>)>,
    /// Directories whose mtime is set at the end, after their children were created.
    dirs: Vec<(Vec<u8>, Timespec)>,
    buf: Vec<u8>,
    stats: UnpackStats,
    /// What sparse files may still add in holes, of [`MAX_SPARSE_HOLES`].
    holes_left: u64,
}

impl Unpacker {
    fn new(root: OwnedFd, base: Vec<u8>, layer: bool, resolve: ResolveFlags, opts: UnpackOptions) -> Self {
        Self {
            root: Rc::new(root),
            base,
            layer,
            resolve,
            opts,
            cache: Vec::with_capacity(DIR_CACHE),
            dirs: Vec::new(),
            buf: vec![0; COPY_BUFFER],
            stats: UnpackStats::default(),
            holes_left: MAX_SPARSE_HOLES,
        }
    }

    fn run(mut self, r: impl Read) -> Result<UnpackStats, UnpackError> {
        let mut archive = tar::Archive::new(TarGuard::new(r));
        let entries = archive.entries().map_err(|source| UnpackError::Corrupt { entries: 0, source })?;
        for entry in entries {
            let mut entry = entry.map_err(|source| UnpackError::Corrupt { entries: self.stats.entries, source })?;
            self.entry(&mut entry)?;
            self.stats.entries += 1;
        }
        self.finish_dirs()?;
        Ok(self.stats)
    }

    fn entry<R: Read>(&mut self, e: &mut tar::Entry<'_, R>) -> Result<(), UnpackError> {
        let raw = e.path_bytes().into_owned();
        let rel = safepath::clean(&raw).map_err(|reason| unsafe_path(&raw, reason))?;
        let mut kind = e.header().entry_type();
        if kind == tar::EntryType::XGlobalHeader {
            return Ok(());
        }
        // Old tars mark directories only with a trailing slash (Go's archive/tar does the same).
        if kind == tar::EntryType::Regular && raw.ends_with(b"/") {
            kind = tar::EntryType::Directory;
        }
        let meta = self.meta(e, &raw)?;
        if rel.is_empty() {
            return self.root_entry(kind, &meta, &raw);
        }
        let (parent, name) = safepath::split(&rel);
        let parent = safepath::join(&self.base, parent);
        // AUFS bookkeeping directories (`.wh..wh.plnk/…`) are skipped whole, as Docker does.
        if self.layer && rel.starts_with(b".wh..wh.") {
            return Ok(());
        }
        if self.layer {
            match safepath::whiteout(name).map_err(|reason| unsafe_path(&raw, reason))? {
                Whiteout::None => {}
                Whiteout::Meta => return Ok(()),
                Whiteout::Opaque => {
                    let dir = self.dir(&parent, &raw)?;
                    return rfs::fsetxattr(&*dir, OPAQUE_XATTR, b"y", XattrFlags::empty())
                        .map_err(io_err("set opaque xattr for", &raw));
                }
                Whiteout::File(target) => {
                    let dir = self.dir(&parent, &raw)?;
                    let dev = rfs::makedev(0, 0);
                    self.create(&dir, target, false, &raw, || {
                        rfs::mknodat(&*dir, target, FileType::CharacterDevice, Mode::empty(), dev)
                    })?;
                    return self.chown_at(&dir, target, &meta, &raw);
                }
            }
        }
        let dir = self.dir(&parent, &raw)?;
        match kind {
            tar::EntryType::Directory => self.directory(&dir, name, &safepath::join(&self.base, &rel), &meta, &raw),
            tar::EntryType::Regular | tar::EntryType::Continuous | tar::EntryType::GNUSparse => {
                self.regular(e, &dir, name, &meta, &raw)
            }
            tar::EntryType::Symlink => {
                let target = e.link_name_bytes().map(|t| t.into_owned()).unwrap_or_default();
                if target.is_empty() || safepath::symlink_escapes(&rel, &target) {
                    return Err(unsafe_path(&raw, UnsafeReason::SymlinkEscapes(show(&target))));
                }
                self.create(&dir, name, false, &raw, || rfs::symlinkat(target.as_slice(), &*dir, name))?;
                self.chown_at(&dir, name, &meta, &raw)?;
                self.utimes_at(&dir, name, meta.mtime, &raw)
            }
            tar::EntryType::Link => {
                let link = e.link_name_bytes().map(|t| t.into_owned()).unwrap_or_default();
                self.hard_link(&dir, name, &rel, &link, &raw)
            }
            tar::EntryType::Char | tar::EntryType::Block | tar::EntryType::Fifo => {
                let ft = match kind {
                    tar::EntryType::Char => FileType::CharacterDevice,
                    tar::EntryType::Block => FileType::BlockDevice,
                    _ => FileType::Fifo,
                };
                let header = e.header();
                let major = header.device_major().ok().flatten().unwrap_or(0);
                let minor = header.device_minor().ok().flatten().unwrap_or(0);
                let dev = rfs::makedev(major, minor);
                let mode = Mode::from_raw_mode(meta.mode);
                self.create(&dir, name, false, &raw, || rfs::mknodat(&*dir, name, ft, mode, dev))?;
                self.chown_at(&dir, name, &meta, &raw)?;
                self.node_mode_and_xattrs(&dir, name, &meta, &raw)?;
                self.utimes_at(&dir, name, meta.mtime, &raw)
            }
            other => Err(UnpackError::UnsupportedType { entry: show(&raw), kind: char::from(other.as_byte()) }),
        }
    }

    /// Reads the entry's metadata; `cp` without `copy_uid_gid` makes everything root's.
    fn meta<R: Read>(&self, e: &mut tar::Entry<'_, R>, raw: &[u8]) -> Result<Meta, UnpackError> {
        let mut meta = tarmeta::read(e, raw, self.stats.entries)?;
        if !self.layer && !self.opts.copy_uid_gid {
            (meta.uid, meta.gid) = (0, 0);
        }
        if let Some(o) = self.opts.owners.as_ref().filter(|_| !self.layer) {
            (meta.uid, meta.gid) = (o.uid(meta.uid), o.gid(meta.gid));
        }
        Ok(meta)
    }

    fn root_entry(&mut self, kind: tar::EntryType, meta: &Meta, raw: &[u8]) -> Result<(), UnpackError> {
        if kind != tar::EntryType::Directory {
            return Err(unsafe_path(raw, UnsafeReason::ReplacesRoot));
        }
        if !self.layer {
            return Ok(());
        }
        let root = Rc::clone(&self.root);
        self.apply_meta(root.as_fd(), meta, raw)?;
        self.dirs.push((Vec::new(), meta.mtime));
        Ok(())
    }

    fn directory(
        &mut self,
        dir: &OwnedFd,
        name: &[u8],
        full: &[u8],
        meta: &Meta,
        raw: &[u8],
    ) -> Result<(), UnpackError> {
        self.create(dir, name, true, raw, || rfs::mkdirat(dir, name, Mode::from_raw_mode(0o700)))?;
        let fd = rfs::openat(
            dir,
            name,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(io_err("open directory", raw))?;
        self.apply_meta(fd.as_fd(), meta, raw)?;
        self.dirs.push((full.to_vec(), meta.mtime));
        self.remember(full.to_vec(), Rc::new(fd));
        Ok(())
    }

    fn regular<R: Read>(
        &mut self,
        e: &mut tar::Entry<'_, R>,
        dir: &OwnedFd,
        name: &[u8],
        meta: &Meta,
        raw: &[u8],
    ) -> Result<(), UnpackError> {
        // A GNU sparse file: its length (`size`) counts holes its data (the header's size) doesn't.
        let sparse = e.header().entry_type() == tar::EntryType::GNUSparse;
        if sparse {
            let holes = e.size().saturating_sub(e.header().entry_size().unwrap_or(0));
            self.holes_left = self
                .holes_left
                .checked_sub(holes)
                .ok_or_else(|| UnpackError::SparseTooLarge { entry: show(raw), size: e.size() })?;
        }
        let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let fd = self
            .create(dir, name, false, raw, || rfs::openat(dir, name, flags, Mode::from_raw_mode(0o600)))?
            .expect("only directories are kept when they exist");
        let mut file = File::from(fd);
        let entries = self.stats.entries;
        let write_err = |source| UnpackError::Io { op: "write", entry: show(raw), source };
        let mut len = 0u64;
        loop {
            let n = match e.read(&mut self.buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(source) => return Err(UnpackError::Corrupt { entries, source }),
            };
            if sparse && self.buf[..n] == ZEROS[..n] {
                file.seek(io::SeekFrom::Current(n as i64)).map_err(write_err)?;
            } else {
                file.write_all(&self.buf[..n]).map_err(write_err)?;
            }
            len += n as u64;
            self.stats.size += n as u64;
        }
        if sparse {
            // A trailing hole: the seeks past the end don't make the file longer.
            file.set_len(len).map_err(write_err)?;
        }
        self.apply_meta(file.as_fd(), meta, raw)?;
        let times = Timestamps { last_access: meta.mtime, last_modification: meta.mtime };
        rfs::futimens(&file, &times).map_err(io_err("set times of", raw))
    }

    fn hard_link(
        &mut self,
        dir: &OwnedFd,
        name: &[u8],
        rel: &[u8],
        link: &[u8],
        raw: &[u8],
    ) -> Result<(), UnpackError> {
        let target = safepath::clean_link_target(link).map_err(|reason| unsafe_path(raw, reason))?;
        if target == rel {
            return Ok(());
        }
        let missing = || unsafe_path(raw, UnsafeReason::HardLinkMissing(show(link)));
        let (tparent, tname) = safepath::split(&target);
        let tdir = match self.open_dir_cached(&safepath::join(&self.base, tparent)) {
            Ok(fd) => fd,
            Err(Errno::NOENT | Errno::NOTDIR) => return Err(missing()),
            Err(e) => return Err(self.resolve_error(e, "open hard link target directory", raw)),
        };
        let linked = self.create(dir, name, false, raw, || rfs::linkat(&*tdir, tname, dir, name, AtFlags::empty()));
        match linked {
            Err(UnpackError::Io { source, .. }) if source.raw_os_error() == Some(Errno::NOENT.raw_os_error()) => {
                Err(missing())
            }
            other => other.map(drop),
        }
    }

    /// Runs `make` (which creates `name` in `dir`); if the name exists, makes room following
    /// Docker (replace, except a directory stays a directory) and runs it again. `Ok(None)`
    /// means an existing directory was kept.
    fn create<T>(
        &mut self,
        dir: &OwnedFd,
        name: &[u8],
        is_dir: bool,
        raw: &[u8],
        mut make: impl FnMut() -> rustix::io::Result<T>,
    ) -> Result<Option<T>, UnpackError> {
        match make() {
            Ok(t) => Ok(Some(t)),
            Err(Errno::EXIST) => {
                if self.make_room(dir, name, is_dir, raw)? {
                    return Ok(None);
                }
                make().map(Some).map_err(io_err("create", raw))
            }
            Err(e) => Err(io_err("create", raw)(e)),
        }
    }

    /// Removes what is at `name` unless both it and the new entry are directories (returns
    /// true then).
    fn make_room(&mut self, dir: &OwnedFd, name: &[u8], is_dir: bool, raw: &[u8]) -> Result<bool, UnpackError> {
        let st = match rfs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) => st,
            Err(Errno::NOENT) => return Ok(false),
            Err(e) => return Err(io_err("stat", raw)(e)),
        };
        let existing_dir = FileType::from_raw_mode(st.st_mode) == FileType::Directory;
        if existing_dir && is_dir {
            return Ok(true);
        }
        if !self.layer && self.opts.no_overwrite_dir_non_dir {
            if existing_dir {
                return Err(UnpackError::OverwriteDir { entry: show(raw) });
            }
            if is_dir {
                return Err(UnpackError::OverwriteNonDir { entry: show(raw) });
            }
        }
        if existing_dir {
            // Cached fds may point into the tree being removed.
            self.cache.clear();
            remove_tree(dir.as_fd(), name).map_err(|source| UnpackError::Io {
                op: "remove",
                entry: show(raw),
                source,
            })?;
        } else {
            rfs::unlinkat(dir, name, AtFlags::empty()).map_err(io_err("remove", raw))?;
        }
        Ok(false)
    }

    fn apply_meta(&self, fd: BorrowedFd<'_>, meta: &Meta, raw: &[u8]) -> Result<(), UnpackError> {
        rfs::fchown(fd, Some(Uid::from_raw(meta.uid)), Some(Gid::from_raw(meta.gid))).map_err(io_err("chown", raw))?;
        // After the chown, which clears setuid/setgid.
        rfs::fchmod(fd, Mode::from_raw_mode(meta.mode)).map_err(io_err("chmod", raw))?;
        for (key, value) in &meta.xattrs {
            set_xattr(key, value, raw, |k, v| rfs::fsetxattr(fd, k, v, XattrFlags::empty()))?;
        }
        Ok(())
    }

    fn chown_at(&self, dir: &OwnedFd, name: &[u8], meta: &Meta, raw: &[u8]) -> Result<(), UnpackError> {
        rfs::chownat(dir, name, Some(Uid::from_raw(meta.uid)), Some(Gid::from_raw(meta.gid)), AtFlags::SYMLINK_NOFOLLOW)
            .map_err(io_err("chown", raw))
    }

    fn utimes_at(&self, dir: &OwnedFd, name: &[u8], t: Timespec, raw: &[u8]) -> Result<(), UnpackError> {
        let times = Timestamps { last_access: t, last_modification: t };
        rfs::utimensat(dir, name, &times, AtFlags::SYMLINK_NOFOLLOW).map_err(io_err("set times of", raw))
    }

    /// Mode and xattrs of a device or fifo. `mknodat` applied the umask and `fchmodat` cannot
    /// refuse to follow a symlink (a container could swap one in during `cp`), so both go
    /// through an `O_PATH | O_NOFOLLOW` fd and its `/proc/self/fd` magic link.
    fn node_mode_and_xattrs(&self, dir: &OwnedFd, name: &[u8], meta: &Meta, raw: &[u8]) -> Result<(), UnpackError> {
        let fd = rfs::openat(dir, name, OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC, Mode::empty())
            .map_err(io_err("open", raw))?;
        let proc = format!("/proc/self/fd/{}", fd.as_raw_fd());
        std::fs::set_permissions(&proc, Permissions::from_mode(meta.mode)).map_err(|source| UnpackError::Io {
            op: "chmod",
            entry: show(raw),
            source,
        })?;
        for (key, value) in &meta.xattrs {
            set_xattr(key, value, raw, |k, v| rfs::setxattr(proc.as_str(), k, v, XattrFlags::empty()))?;
        }
        Ok(())
    }

    /// The directory `path` (relative to the root, including the base), created with mode
    /// 0755 (as Docker does) if missing.
    fn dir(&mut self, path: &[u8], raw: &[u8]) -> Result<Rc<OwnedFd>, UnpackError> {
        match self.open_dir_cached(path) {
            Ok(fd) => Ok(fd),
            Err(Errno::NOENT) => self.mkdir_all(path, raw),
            Err(e) => Err(self.resolve_error(e, "open parent directory of", raw)),
        }
    }

    fn mkdir_all(&mut self, path: &[u8], raw: &[u8]) -> Result<Rc<OwnedFd>, UnpackError> {
        let mut cur = Rc::clone(&self.root);
        let ends = path.iter().enumerate().filter(|&(_, &b)| b == b'/').map(|(i, _)| i).chain([path.len()]);
        let mut start = 0;
        for end in ends {
            let prefix = &path[..end];
            let comp = &path[start..end];
            start = end + 1;
            cur = match self.open_dir(prefix) {
                Ok(fd) => Rc::new(fd),
                Err(Errno::NOENT) => {
                    match rfs::mkdirat(&*cur, comp, Mode::from_raw_mode(0o755)) {
                        Ok(()) | Err(Errno::EXIST) => {}
                        Err(e) => return Err(io_err("create parent directory of", raw)(e)),
                    }
                    Rc::new(self.open_dir(prefix).map_err(|e| self.resolve_error(e, "open parent directory of", raw))?)
                }
                Err(e) => return Err(self.resolve_error(e, "open parent directory of", raw)),
            };
        }
        self.remember(path.to_vec(), Rc::clone(&cur));
        Ok(cur)
    }

    fn open_dir_cached(&mut self, path: &[u8]) -> rustix::io::Result<Rc<OwnedFd>> {
        if path.is_empty() {
            return Ok(Rc::clone(&self.root));
        }
        if let Some((_, fd)) = self.cache.iter().rev().find(|(p, _)| p == path) {
            return Ok(Rc::clone(fd));
        }
        let fd = Rc::new(self.open_dir(path)?);
        self.remember(path.to_vec(), Rc::clone(&fd));
        Ok(fd)
    }

    fn remember(&mut self, path: Vec<u8>, fd: Rc<OwnedFd>) {
        if self.cache.len() == DIR_CACHE {
            self.cache.remove(0);
        }
        self.cache.push((path, fd));
    }

    /// Opens a directory below the root with the scoped resolution of this unpack.
    fn open_dir(&self, path: &[u8]) -> rustix::io::Result<OwnedFd> {
        if path.is_empty() {
            return rustix::io::fcntl_dupfd_cloexec(&*self.root, 0);
        }
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
        loop {
            // EAGAIN: a rename raced with the scoped lookup; the kernel asks us to retry.
            match rfs::openat2(&*self.root, path, flags, Mode::empty(), self.resolve) {
                Err(Errno::AGAIN) => continue,
                other => return other,
            }
        }
    }

    fn resolve_error(&self, e: Errno, op: &'static str, raw: &[u8]) -> UnpackError {
        match e {
            Errno::LOOP if self.layer => unsafe_path(raw, UnsafeReason::ThroughSymlink),
            Errno::XDEV => unsafe_path(raw, UnsafeReason::Escapes),
            e => io_err(op, raw)(e),
        }
    }

    fn finish_dirs(&mut self) -> Result<(), UnpackError> {
        let dirs = std::mem::take(&mut self.dirs);
        for (path, t) in dirs.iter().rev() {
            let fd = match self.open_dir(path) {
                Ok(fd) => fd,
                // Replaced or removed by a later entry.
                Err(Errno::NOENT | Errno::NOTDIR | Errno::LOOP) => continue,
                Err(e) => return Err(io_err("open directory", path)(e)),
            };
            let times = Timestamps { last_access: *t, last_modification: *t };
            rfs::futimens(&fd, &times).map_err(io_err("set times of", path))?;
        }
        Ok(())
    }
}

/// Sets one archive xattr. `trusted.overlay.*` is dropped: it would let an image forge overlayfs
/// metadata (redirects, metacopy, opaque) that only whiteout conversion may write. EPERM and
/// ENOTSUP are ignored as Docker does: not every filesystem or namespace allows every xattr.
fn set_xattr(
    key: &str,
    value: &[u8],
    raw: &[u8],
    set: impl FnOnce(&str, &[u8]) -> rustix::io::Result<()>,
) -> Result<(), UnpackError> {
    if key.starts_with("trusted.overlay.") {
        return Ok(());
    }
    match set(key, value) {
        Ok(()) | Err(Errno::PERM | Errno::NOTSUP) => Ok(()),
        Err(e) => Err(io_err("set xattr on", raw)(e)),
    }
}

/// Removes `name` in `dir` and, if it is a directory, everything below it, without following
/// symlinks.
pub(crate) fn remove_tree(dir: BorrowedFd<'_>, name: &[u8]) -> io::Result<()> {
    match rfs::unlinkat(dir, name, AtFlags::empty()) {
        Ok(()) => return Ok(()),
        Err(Errno::ISDIR | Errno::PERM) => {}
        Err(e) => return Err(e.into()),
    }
    let fd =
        rfs::openat(dir, name, OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC, Mode::empty())?;
    let mut children = Vec::new();
    let mut d = rfs::Dir::read_from(&fd)?;
    while let Some(entry) = d.read() {
        let entry = entry?;
        let n = entry.file_name().to_bytes();
        if n != b"." && n != b".." {
            children.push(n.to_vec());
        }
    }
    for child in children {
        remove_tree(fd.as_fd(), &child)?;
    }
    rfs::unlinkat(dir, name, AtFlags::REMOVEDIR)?;
    Ok(())
}

#[cfg(test)]
#[path = "unpack_tests.rs"]
mod tests;
