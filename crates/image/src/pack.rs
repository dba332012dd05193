//! Tar streams of directory trees: `docker export` (a container's whole root), `docker cp`
//! out of a container (one file or directory under a chosen name), and the layer tar of
//! `docker commit` ([`pack_layer`]: an overlayfs upper dir with its whiteouts in OCI form).
//!
//! The walk holds directory fds and opens every child with `O_NOFOLLOW` relative to its
//! parent, so a container swapping a directory for a symlink mid-walk cannot make us read host
//! files. Entries are in name order; hard links within the stream are kept (by inode);
//! `security.capability` goes into a PAX record as Docker does; sockets are skipped (tar
//! cannot hold them). A file that grows or shrinks while it is read is cut or zero-padded to
//! the size in its header, so the stream always stays valid.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use rustix::fs::{self as rfs, AtFlags, FileType, Mode, OFlags, Stat};

use crate::OwnerMap;

const WRITE_BUFFER: usize = 1 << 20;
const CAPABILITY_XATTR: &str = "security.capability";
/// overlayfs' own metadata (opaque, origin, impure, redirect): never part of a layer's content.
const OVERLAY_XATTRS: &str = "trusted.overlay.";
/// OCI whiteouts: `.wh.NAME` deletes NAME, `.wh..wh..opq` hides the lower contents of its directory.
const WHITEOUT_PREFIX: &str = ".wh.";
const OPAQUE_MARKER: &str = ".wh..wh..opq";

/// Why a tree could not be packed.
#[derive(Debug, thiserror::Error)]
#[error("failed to {op} {path}")]
pub struct PackError {
    op: &'static str,
    path: PathBuf,
    #[source]
    source: io::Error,
}

impl PackError {
    /// Whether the reader of the stream went away (the cause is on the other side).
    pub(crate) fn is_broken_pipe(&self) -> bool {
        self.source.kind() == io::ErrorKind::BrokenPipe
    }
}

/// Streams the contents of `dir` (not `dir` itself) as a tar, names relative to it.
pub fn pack_dir(dir: &Path, w: impl Write) -> Result<(), PackError> {
    pack_dir_with(dir, None, w)
}

/// Streams an overlayfs upper dir as an OCI layer tar (`docker commit`): a whiteout (a 0/0
/// character device) becomes an empty `.wh.NAME` file, an opaque directory
/// (`trusted.overlay.opaque=y`) is followed by a `.wh..wh..opq` entry, every other xattr of files
/// and directories but overlayfs' own (`trusted.overlay.*`) goes into `SCHILY.xattr.*` PAX
/// records. Owners, modes, symlinks and hard links are kept as by [`pack_dir`].
pub fn pack_layer(upper: &Path, w: impl Write) -> Result<(), PackError> {
    pack_layer_with(upper, None, w)
}

/// Streams `src` (a file, directory or symlink; not followed) as a tar whose top entry is
/// named `name`, as `docker cp container:/path -` does.
pub fn pack_path(src: &Path, name: &str, w: impl Write) -> Result<(), PackError> {
    pack_path_with(src, name, None, w)
}

/// [`pack_path`] with the owners translated by `owners` (out of a container in a user
/// namespace: host ids to the container's).
pub fn pack_path_mapped(src: &Path, name: &str, owners: &OwnerMap, w: impl Write) -> Result<(), PackError> {
    pack_path_with(src, name, Some(owners), w)
}

fn pack_path_with(src: &Path, name: &str, owners: Option<&OwnerMap>, w: impl Write) -> Result<(), PackError> {
    let parent = src.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("/"));
    let base = src.file_name().map_or(&b"."[..], |n| n.as_bytes());
    let dir = rfs::open(parent, OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())
        .map_err(|e| PackError { op: "open", path: parent.to_owned(), source: e.into() })?;
    pack_at(dir.as_fd(), parent, base, name, owners, w)
}

/// [`pack_path`] for the entry `base` of the open directory `dir` (`.`: the directory itself,
/// as for a container's `/`, which has no parent to name it from), owners translated by
/// `owners` if given; `origin` names `dir` in errors.
pub fn pack_at(
    dir: BorrowedFd<'_>,
    origin: &Path,
    base: &[u8],
    name: &str,
    owners: Option<&OwnerMap>,
    w: impl Write,
) -> Result<(), PackError> {
    let mut p = Packer::new(w, origin);
    p.owners = owners.cloned();
    p.entry(dir, base, name.trim_end_matches('/'))?;
    p.finish()
}

/// Whether the directory is the root of a kernel's pseudo filesystem (proc, sysfs, cgroup, the
/// pty and mqueue filesystems, and the like).
fn kernel_fs(fd: &OwnedFd) -> bool {
    const MAGICS: &[i64] = &[
        0x9fa0,      // proc
        0x6265_6572, // sysfs
        0x0027_e0eb, // cgroup
        0x6367_7270, // cgroup2
        0x1cd1,      // devpts
        0x1980_0202, // mqueue
        0x6462_6720, // debugfs
        0x7472_6163, // tracefs
        0x7363_6673, // securityfs
        0xcafe_4a11, // bpf
        0x6165_676c, // pstore
        0x6265_6570, // configfs
        0x6573_5543, // fusectl
        0x4249_4e4d, // binfmt_misc
    ];
    rfs::fstatfs(fd).is_ok_and(|st| MAGICS.contains(&st.f_type))
}

/// [`pack_dir`] with the owners translated by `owners` (`export` of a container in a user
/// namespace).
pub fn pack_dir_mapped(dir: &Path, owners: &OwnerMap, w: impl Write) -> Result<(), PackError> {
    pack_dir_with(dir, Some(owners), w)
}

fn pack_dir_with(dir: &Path, owners: Option<&OwnerMap>, w: impl Write) -> Result<(), PackError> {
    let root = rfs::open(dir, OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())
        .map_err(|e| PackError { op: "open", path: dir.to_owned(), source: e.into() })?;
    let mut p = Packer::new(w, dir);
    p.owners = owners.cloned();
    p.children(&root, "")?;
    p.finish()
}

/// [`pack_layer`] with the owners translated (`commit` of a container in a user namespace).
pub(crate) fn pack_layer_with(upper: &Path, owners: Option<&OwnerMap>, w: impl Write) -> Result<(), PackError> {
    let root = rfs::open(upper, OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())
        .map_err(|e| PackError { op: "open", path: upper.to_owned(), source: e.into() })?;
    let mut p = Packer::new(w, upper);
    p.layer = true;
    p.owners = owners.cloned();
    p.children(&root, "")?;
    p.finish()
}

struct Packer<W: Write> {
    b: tar::Builder<BufWriter<W>>,
    origin: PathBuf,
    links: HashMap<(u64, u64), String>,
    /// Layer mode ([`pack_layer`]): whiteouts converted, all xattrs kept.
    layer: bool,
    /// Owner translation (a container in a user namespace).
    owners: Option<OwnerMap>,
}

impl<W: Write> Packer<W> {
    fn new(w: W, origin: &Path) -> Self {
        Self {
            b: tar::Builder::new(BufWriter::with_capacity(WRITE_BUFFER, w)),
            origin: origin.to_owned(),
            links: HashMap::new(),
            layer: false,
            owners: None,
        }
    }

    /// The PAX records of `fd`'s xattrs: in layer mode all but overlayfs' own, otherwise only
    /// `security.capability` (of regular files), as Docker's export does.
    fn xattrs(&self, fd: &OwnedFd, regular: bool) -> Vec<(String, Vec<u8>)> {
        let mut out = Vec::new();
        if !self.layer {
            let mut cap = vec![0u8; 256];
            if regular && let Ok(n) = rfs::fgetxattr(fd, CAPABILITY_XATTR, &mut cap[..]) {
                cap.truncate(n);
                out.push((format!("SCHILY.xattr.{CAPABILITY_XATTR}"), cap));
            }
            return out;
        }
        let mut names = vec![0u8; 4096];
        let n = match rfs::flistxattr(fd, &mut names[..]) {
            Ok(n) => n,
            Err(rustix::io::Errno::RANGE) => {
                names = vec![0u8; 65536];
                rfs::flistxattr(fd, &mut names[..]).unwrap_or(0)
            }
            Err(_) => 0,
        };
        for name in names[..n].split(|b| *b == 0).filter(|n| !n.is_empty()) {
            let Ok(name) = std::str::from_utf8(name) else { continue };
            if name.starts_with(OVERLAY_XATTRS) {
                continue;
            }
            let mut value = vec![0u8; 65536];
            if let Ok(len) = rfs::fgetxattr(fd, name, &mut value[..]) {
                value.truncate(len);
                out.push((format!("SCHILY.xattr.{name}"), value));
            }
        }
        out
    }

    fn err(&self, op: &'static str, rel: &str) -> impl FnOnce(io::Error) -> PackError {
        let path = self.origin.join(rel);
        move |source| PackError { op, path, source }
    }

    fn children(&mut self, dir: &OwnedFd, prefix: &str) -> Result<(), PackError> {
        let mut names = Vec::new();
        let mut d = rfs::Dir::read_from(dir).map_err(|e| self.err("list", prefix)(e.into()))?;
        while let Some(e) = d.read() {
            let n = e.map_err(|e| self.err("list", prefix)(e.into()))?.file_name().to_bytes().to_vec();
            if n != b"." && n != b".." {
                names.push(n);
            }
        }
        names.sort();
        for n in names {
            let name = String::from_utf8_lossy(&n);
            let path = if prefix.is_empty() { name.into_owned() } else { format!("{prefix}/{name}") };
            self.entry(dir.as_fd(), &n, &path)?;
        }
        Ok(())
    }

    fn entry(&mut self, dir: BorrowedFd<'_>, name: &[u8], path: &str) -> Result<(), PackError> {
        let st = rfs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW).map_err(|e| self.err("stat", path)(e.into()))?;
        let ft = FileType::from_raw_mode(st.st_mode);
        let mut h = self.header(&st);
        match ft {
            FileType::Directory => {
                let fd = rfs::openat(
                    dir,
                    name,
                    OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                    Mode::empty(),
                )
                .map_err(|e| self.err("open", path)(e.into()))?;
                h.set_entry_type(tar::EntryType::Directory);
                let xattrs = self.xattrs(&fd, false);
                let pax = xattrs.iter().map(|(k, v)| (k.as_str(), v.as_slice())).collect();
                self.put_with(&mut h, &format!("{path}/"), None, pax, io::empty()).map_err(self.err("write", path))?;
                if self.layer && crate::changes::is_opaque(&fd) {
                    let mut wh = self.header(&st);
                    wh.set_mode(0o600);
                    wh.set_entry_type(tar::EntryType::Regular);
                    self.put(&mut wh, &format!("{path}/{OPAQUE_MARKER}"), None, io::empty())
                        .map_err(self.err("write", path))?;
                }
                if !self.layer && kernel_fs(&fd) {
                    // A running container's /proc, /sys, /dev/pts...: views of the kernel, not
                    // files (a `cp` of `/` shows them as empty directories, as Docker's does).
                    return Ok(());
                }
                self.children(&fd, path)
            }
            FileType::RegularFile => {
                let key = (st.st_dev, st.st_ino);
                if st.st_nlink > 1 {
                    if let Some(first) = self.links.get(&key).cloned() {
                        h.set_entry_type(tar::EntryType::Link);
                        h.set_size(0);
                        return self
                            .put(&mut h, path, Some(first.as_bytes()), io::empty())
                            .map_err(self.err("write", path));
                    }
                    self.links.insert(key, path.to_owned());
                }
                let fd = rfs::openat(dir, name, OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC, Mode::empty())
                    .map_err(|e| self.err("open", path)(e.into()))?;
                let xattrs = self.xattrs(&fd, true);
                let pax = xattrs.iter().map(|(k, v)| (k.as_str(), v.as_slice())).collect();
                let size = u64::try_from(st.st_size).unwrap_or(0);
                h.set_entry_type(tar::EntryType::Regular);
                h.set_size(size);
                let data = Exact { inner: File::from(fd), left: size };
                self.put_with(&mut h, path, None, pax, data).map_err(self.err("write", path))
            }
            FileType::Symlink => {
                let target =
                    rfs::readlinkat(dir, name, Vec::new()).map_err(|e| self.err("read link", path)(e.into()))?;
                h.set_entry_type(tar::EntryType::Symlink);
                self.put(&mut h, path, Some(target.as_bytes()), io::empty()).map_err(self.err("write", path))
            }
            FileType::CharacterDevice if self.layer && st.st_rdev == 0 => {
                // An overlayfs whiteout: the OCI form is an empty `.wh.NAME` file beside it.
                let wh = match path.rsplit_once('/') {
                    Some((dir, base)) => format!("{dir}/{WHITEOUT_PREFIX}{base}"),
                    None => format!("{WHITEOUT_PREFIX}{path}"),
                };
                h.set_mode(0o600);
                h.set_entry_type(tar::EntryType::Regular);
                self.put(&mut h, &wh, None, io::empty()).map_err(self.err("write", path))
            }
            FileType::CharacterDevice | FileType::BlockDevice | FileType::Fifo => {
                h.set_entry_type(match ft {
                    FileType::CharacterDevice => tar::EntryType::Char,
                    FileType::BlockDevice => tar::EntryType::Block,
                    _ => tar::EntryType::Fifo,
                });
                if ft != FileType::Fifo {
                    h.set_device_major(rfs::major(st.st_rdev)).map_err(self.err("write", path))?;
                    h.set_device_minor(rfs::minor(st.st_rdev)).map_err(self.err("write", path))?;
                }
                self.put(&mut h, path, None, io::empty()).map_err(self.err("write", path))
            }
            _ => Ok(()),
        }
    }

    /// Appends one entry without PAX records of its own.
    fn put(&mut self, h: &mut tar::Header, path: &str, link: Option<&[u8]>, data: impl Read) -> io::Result<()> {
        self.put_with(h, path, link, Vec::new(), data)
    }

    /// Appends one entry, `pax` records (xattrs) first, all in one PAX header: readers refuse
    /// or drop a second one for the same entry. Names starting with `./` (a `cp` of `dir/.`,
    /// whose entries Docker's clients expect as `./x`) are written as they are: the `tar`
    /// crate's path setters would normalise the `./` away. Their long raw names and link
    /// targets go into the PAX records too.
    fn put_with<'a>(
        &mut self,
        h: &mut tar::Header,
        path: &'a str,
        link: Option<&'a [u8]>,
        mut pax: Vec<(&'a str, &'a [u8])>,
        data: impl Read,
    ) -> io::Result<()> {
        if !path.starts_with("./") {
            if !pax.is_empty() {
                self.b.append_pax_extensions(pax)?;
            }
            return match link {
                Some(l) => self.b.append_link(h, path, PathBuf::from(std::ffi::OsStr::from_bytes(l))),
                None => self.b.append_data(h, path, data),
            };
        }
        if path.len() > 100 {
            pax.push(("path", path.as_bytes()));
        }
        if let Some(l) = link
            && l.len() > 100
        {
            pax.push(("linkpath", l));
        }
        if !pax.is_empty() {
            self.b.append_pax_extensions(pax)?;
        }
        let old = h.as_old_mut();
        old.name = [0; 100];
        let n = path.len().min(100);
        old.name[..n].copy_from_slice(&path.as_bytes()[..n]);
        if let Some(l) = link {
            old.linkname = [0; 100];
            let n = l.len().min(100);
            old.linkname[..n].copy_from_slice(&l[..n]);
        }
        h.set_cksum();
        self.b.append(h, data)
    }

    /// The entry's header, owners translated.
    fn header(&self, st: &Stat) -> tar::Header {
        let mut h = header(st);
        if let Some(o) = &self.owners {
            h.set_uid(u64::from(o.uid(st.st_uid)));
            h.set_gid(u64::from(o.gid(st.st_gid)));
        }
        h
    }

    fn finish(self) -> Result<(), PackError> {
        let origin = self.origin.clone();
        let werr = |source| PackError { op: "write archive of", path: origin.clone(), source };
        let mut inner = self.b.into_inner().map_err(werr)?;
        inner.flush().map_err(werr)
    }
}

fn header(st: &Stat) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_mode(st.st_mode & 0o7777);
    h.set_uid(u64::from(st.st_uid));
    h.set_gid(u64::from(st.st_gid));
    h.set_mtime(u64::try_from(st.st_mtime).unwrap_or(0));
    h.set_size(0);
    h
}

/// Yields exactly `left` bytes of `inner`, zero-padding if it ends early.
struct Exact<R> {
    inner: R,
    left: u64,
}

impl<R: Read> Read for Exact<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let want = usize::try_from(self.left).unwrap_or(usize::MAX).min(buf.len());
        if want == 0 {
            return Ok(0);
        }
        let n = match self.inner.read(&mut buf[..want])? {
            0 => {
                buf[..want].fill(0);
                want
            }
            n => n,
        };
        self.left -= n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::unpack::{UnpackOptions, unpack_into};
    use std::fs;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn pack_then_unpack_roundtrip() {
        let src = tempfile::tempdir().unwrap();
        let s = src.path();
        fs::create_dir_all(s.join("etc/deep")).unwrap();
        fs::write(s.join("etc/passwd"), b"root").unwrap();
        fs::hard_link(s.join("etc/passwd"), s.join("etc/passwd.lnk")).unwrap();
        std::os::unix::fs::symlink("/etc/passwd", s.join("pw")).unwrap();
        rfs::mknodat(rfs::CWD, s.join("fifo").as_path(), FileType::Fifo, Mode::from_raw_mode(0o640), 0).unwrap();
        fs::write(s.join(format!("long-{}", "x".repeat(150))), b"long").unwrap();
        rfs::chownat(
            rfs::CWD,
            s.join("etc/passwd").as_path(),
            Some(rfs::Uid::from_raw(12)),
            Some(rfs::Gid::from_raw(34)),
            AtFlags::empty(),
        )
        .unwrap();

        let mut tar = Vec::new();
        pack_dir(s, &mut tar).unwrap();
        let dst = tempfile::tempdir().unwrap();
        let d = dst.path();
        unpack_into(d, Path::new("/"), &tar[..], &UnpackOptions { copy_uid_gid: true, ..Default::default() }).unwrap();
        assert_eq!(fs::read(d.join("etc/passwd")).unwrap(), b"root");
        let m = fs::metadata(d.join("etc/passwd")).unwrap();
        assert_eq!((m.nlink(), m.uid(), m.gid()), (2, 12, 34));
        assert_eq!(fs::read_link(d.join("pw")).unwrap(), Path::new("/etc/passwd"));
        assert!(d.join("etc/deep").is_dir());
        assert_eq!(fs::symlink_metadata(d.join("fifo")).unwrap().mode() & 0o7777, 0o640);
        assert_eq!(fs::read(d.join(format!("long-{}", "x".repeat(150)))).unwrap(), b"long");

        let mut tar = Vec::new();
        pack_path(&s.join("etc"), "renamed", &mut tar).unwrap();
        let names: Vec<String> = tar::Archive::new(&tar[..])
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().display().to_string())
            .collect();
        assert_eq!(names, ["renamed/", "renamed/deep/", "renamed/passwd", "renamed/passwd.lnk"]);
    }

    #[test]
    fn owners_translated_both_ways() {
        // A remapped container's file, host ids 100012:100034, is 12:34 in the tar; coming
        // back it is the host ids again, or the container root's without `copy_uid_gid`.
        let src = tempfile::tempdir().unwrap();
        let f = src.path().join("f");
        fs::write(&f, b"x").unwrap();
        rfs::chownat(
            rfs::CWD,
            f.as_path(),
            Some(rfs::Uid::from_raw(100_012)),
            Some(rfs::Gid::from_raw(100_034)),
            AtFlags::empty(),
        )
        .unwrap();
        let to_container = OwnerMap::new(vec![(100_000, 0, 65_536)], vec![(100_000, 0, 65_536)]);
        let mut tar = Vec::new();
        pack_dir_mapped(src.path(), &to_container, &mut tar).unwrap();
        let mut entries = tar::Archive::new(&tar[..]);
        let e = entries.entries().unwrap().next().unwrap().unwrap();
        assert_eq!((e.header().uid().unwrap(), e.header().gid().unwrap()), (12, 34));
        let mut tar2 = Vec::new();
        pack_path_mapped(&f, "g", &to_container, &mut tar2).unwrap();
        let mut entries = tar::Archive::new(&tar2[..]);
        assert_eq!(entries.entries().unwrap().next().unwrap().unwrap().header().uid().unwrap(), 12);
        for (copy_uid_gid, want) in [(true, (100_012, 100_034)), (false, (100_000, 100_000))] {
            let dst = tempfile::tempdir().unwrap();
            let opts = UnpackOptions { copy_uid_gid, owners: Some(to_container.inverse()), ..Default::default() };
            unpack_into(dst.path(), Path::new("/"), &tar[..], &opts).unwrap();
            let m = fs::metadata(dst.path().join("f")).unwrap();
            assert_eq!((m.uid(), m.gid()), want);
        }
    }

    #[test]
    fn capability_and_long_dot_slash_name_share_one_pax_header() {
        let src = tempfile::tempdir().unwrap();
        let long = format!("ping-{}", "x".repeat(120));
        let file = src.path().join(&long);
        fs::write(&file, b"elf").unwrap();
        // vfs_cap_data revision 2: cap_net_raw permitted and effective.
        let cap = [0x01, 0, 0, 0x02, 0x00, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        rfs::setxattr(file.as_path(), CAPABILITY_XATTR, &cap, rfs::XattrFlags::empty()).unwrap();

        let mut tar = Vec::new();
        pack_path(src.path(), ".", &mut tar).unwrap();
        let mut archive = tar::Archive::new(&tar[..]);
        let mut seen = false;
        for e in archive.entries().unwrap() {
            let mut e = e.unwrap();
            if e.path_bytes().ends_with(long.as_bytes()) {
                assert_eq!(&e.path_bytes()[..], format!("./{long}").as_bytes());
                let key = format!("SCHILY.xattr.{CAPABILITY_XATTR}");
                let xattr = e.pax_extensions().unwrap().unwrap().map(Result::unwrap).find(|x| x.key() == Ok(&key));
                assert_eq!(xattr.unwrap().value_bytes(), cap);
                seen = true;
            }
        }
        assert!(seen, "the file is in the archive");
    }

    #[test]
    fn exact_pads_and_truncates() {
        let mut out = Vec::new();
        Exact { inner: &b"abc"[..], left: 5 }.read_to_end(&mut out).unwrap();
        assert_eq!(out, b"abc\0\0");
        let mut out = Vec::new();
        Exact { inner: &b"abcdef"[..], left: 2 }.read_to_end(&mut out).unwrap();
        assert_eq!(out, b"ab");
    }
}
