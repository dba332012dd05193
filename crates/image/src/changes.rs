//! `docker diff`: a container's filesystem changes, read from its overlayfs upper directory
//! and compared with the image's layers, the way Docker's overlay driver does it.
//!
//! - a 0/0 character device in the upper dir is a whiteout: the path was deleted;
//! - anything else in the upper dir was added if no lower layer has the path, or changed;
//! - a directory present below with the same mode, size and mtime is not reported by itself,
//!   but a directory gets a "changed" entry before the first change inside it;
//! - an opaque directory (`trusted.overlay.opaque=y`) hides the lower contents: it is reported
//!   changed and each lower entry it hides (that the upper does not have) deleted.
//!
//! Lower lookups stop at whiteouts, non-directories and opaque parent directories of the
//! layer being looked at (an opaque grandparent is not checked: a simplification). All
//! lookups are `openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS)`, never following the image's
//! symlinks out of its layers.

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use rustix::fs::{self as rfs, AtFlags, FileType, Mode, OFlags, ResolveFlags, Stat};
use rustix::io::Errno;

use crate::unpack::OPAQUE_XATTR;

/// What happened to a path (Docker's numbering: 0 modified, 1 added, 2 deleted).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ChangeKind {
    /// `C`.
    Modified = 0,
    /// `A`.
    Added = 1,
    /// `D`.
    Deleted = 2,
}

/// One changed path, absolute inside the container (`/etc/passwd`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The path.
    pub path: String,
    /// What happened.
    pub kind: ChangeKind,
}

/// Why the changes could not be listed.
#[derive(Debug, thiserror::Error)]
#[error("failed to {op} {path}")]
pub struct ChangesError {
    op: &'static str,
    path: PathBuf,
    #[source]
    source: io::Error,
}

fn err<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(Errno) -> ChangesError + 'a {
    move |e| ChangesError { op, path: path.to_owned(), source: e.into() }
}

/// Lists the changes in `upper` relative to `lowers` (the image's layer diff dirs, bottom
/// first, as [`crate::ImageStore::layers`] returns them), in path order.
pub fn changes(upper: &Path, lowers: &[PathBuf]) -> Result<Vec<Change>, ChangesError> {
    let open = |p: &Path| {
        rfs::open(p, OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty()).map_err(err("open", p))
    };
    let mut w = Walker { upper: upper.to_owned(), lowers: Vec::new(), out: Vec::new(), changed_dirs: BTreeSet::new() };
    for l in lowers.iter().rev() {
        w.lowers.push(open(l)?);
    }
    let root = open(upper)?;
    w.walk(&root, "")?;
    Ok(w.out)
}

struct Walker {
    upper: PathBuf,
    /// Top layer first.
    lowers: Vec<OwnedFd>,
    out: Vec<Change>,
    changed_dirs: BTreeSet<String>,
}

fn is_whiteout(st: &Stat) -> bool {
    FileType::from_raw_mode(st.st_mode) == FileType::CharacterDevice && st.st_rdev == 0
}

fn is_dir(st: &Stat) -> bool {
    FileType::from_raw_mode(st.st_mode) == FileType::Directory
}

pub(crate) fn is_opaque(fd: impl AsFd) -> bool {
    let mut buf = [0u8; 2];
    matches!(rfs::fgetxattr(fd, OPAQUE_XATTR, &mut buf[..]), Ok(1) if buf[0] == b'y')
}

fn names(dir: &OwnedFd) -> io::Result<Vec<Vec<u8>>> {
    let mut d = rfs::Dir::read_from(dir)?;
    let mut out = Vec::new();
    while let Some(e) = d.read() {
        let n = e?.file_name().to_bytes().to_vec();
        if n != b"." && n != b".." {
            out.push(n);
        }
    }
    out.sort();
    Ok(out)
}

impl Walker {
    fn walk(&mut self, dir: &OwnedFd, rel: &str) -> Result<(), ChangesError> {
        let here = self.upper.join(rel.trim_start_matches('/'));
        let upper_names = names(dir).map_err(|e| ChangesError { op: "list", path: here.clone(), source: e })?;
        // Name → whether the upper layer has it.
        let mut all: BTreeMap<Vec<u8>, bool> = upper_names.into_iter().map(|n| (n, true)).collect();
        // An opaque directory hides what the layers below have in it.
        if !rel.is_empty() && is_opaque(dir) {
            for n in self.lower_names(rel) {
                all.entry(n).or_insert(false);
            }
        }
        for (name, in_upper) in all {
            let path = format!("{rel}/{}", String::from_utf8_lossy(&name));
            if !in_upper {
                self.record(&path, ChangeKind::Deleted);
                continue;
            }
            let st = rfs::statat(dir, name.as_slice(), AtFlags::SYMLINK_NOFOLLOW)
                .map_err(err("stat", &here.join(std::ffi::OsStr::from_bytes(&name))))?;
            if is_whiteout(&st) {
                self.record(&path, ChangeKind::Deleted);
                continue;
            }
            let lower = self.lower_stat(&path);
            if is_dir(&st) {
                let child = rfs::openat(
                    dir,
                    name.as_slice(),
                    OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                    Mode::empty(),
                )
                .map_err(err("open", &here))?;
                let unchanged = lower.as_ref().is_some_and(|l| {
                    is_dir(l)
                        && l.st_mode == st.st_mode
                        && l.st_size == st.st_size
                        && l.st_mtime == st.st_mtime
                        && l.st_mtime_nsec == st.st_mtime_nsec
                }) && !is_opaque(&child);
                if !unchanged {
                    self.record(&path, if lower.is_some() { ChangeKind::Modified } else { ChangeKind::Added });
                }
                self.walk(&child, &path)?;
            } else {
                self.record(&path, if lower.is_some() { ChangeKind::Modified } else { ChangeKind::Added });
            }
        }
        Ok(())
    }

    /// Records a change, preceded by a "changed" entry for its parent directory if that was
    /// not reported yet (Docker's rule).
    fn record(&mut self, path: &str, kind: ChangeKind) {
        if kind != ChangeKind::Modified || !self.changed_dirs.contains(path) {
            let parent = path.rsplit_once('/').map_or("", |(p, _)| p);
            if kind != ChangeKind::Modified && !parent.is_empty() && self.changed_dirs.insert(parent.to_owned()) {
                self.out.push(Change { path: parent.to_owned(), kind: ChangeKind::Modified });
            }
            self.changed_dirs.insert(path.to_owned());
            self.out.push(Change { path: path.to_owned(), kind });
        }
    }

    /// The lower layers' view of `path`: the topmost entry, unless hidden by a whiteout, a
    /// non-directory parent or an opaque parent.
    fn lower_stat(&self, path: &str) -> Option<Stat> {
        let rel = path.trim_start_matches('/');
        let (parent, name) = rel.rsplit_once('/').unwrap_or(("", rel));
        for layer in &self.lowers {
            let dir = match open_beneath(layer, parent) {
                Ok(d) => d,
                Err(Errno::NOENT) => continue,
                Err(_) => return None,
            };
            match rfs::statat(&dir, name, AtFlags::SYMLINK_NOFOLLOW) {
                Ok(st) if is_whiteout(&st) => return None,
                Ok(st) => return Some(st),
                Err(_) if is_opaque(&dir) => return None,
                Err(_) => {}
            }
        }
        None
    }

    /// Names the merged lower layers have in directory `rel`.
    fn lower_names(&self, rel: &str) -> Vec<Vec<u8>> {
        let rel = rel.trim_start_matches('/');
        let mut seen = BTreeSet::new();
        let mut hidden = BTreeSet::new();
        for layer in &self.lowers {
            let Ok(dir) = open_beneath(layer, rel) else {
                continue;
            };
            for n in names(&dir).unwrap_or_default() {
                let whiteout =
                    rfs::statat(&dir, n.as_slice(), AtFlags::SYMLINK_NOFOLLOW).is_ok_and(|st| is_whiteout(&st));
                if whiteout {
                    hidden.insert(n);
                } else if !hidden.contains(&n) {
                    seen.insert(n);
                }
            }
            if is_opaque(&dir) {
                break;
            }
        }
        seen.into_iter().collect()
    }
}

fn open_beneath(root: &OwnedFd, rel: &str) -> rustix::io::Result<OwnedFd> {
    let path = if rel.is_empty() { "." } else { rel };
    rfs::openat2(
        root,
        path,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
        ResolveFlags::BENEATH | ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn whiteout(p: &Path) {
        rfs::mknodat(rfs::CWD, p, FileType::CharacterDevice, Mode::empty(), 0).unwrap();
    }

    fn show(c: &[Change]) -> Vec<String> {
        c.iter().map(|c| format!("{} {}", ["C", "A", "D"][c.kind as usize], c.path)).collect()
    }

    #[test]
    fn docker_like_diff() {
        let t = tempfile::tempdir().unwrap();
        let (lower, upper) = (t.path().join("lower"), t.path().join("upper"));
        for d in ["etc", "usr/lib", "var/cache/apt", "opt/old"] {
            fs::create_dir_all(lower.join(d)).unwrap();
        }
        fs::write(lower.join("etc/passwd"), b"root").unwrap();
        fs::write(lower.join("etc/hosts"), b"h").unwrap();
        fs::write(lower.join("var/cache/apt/a"), b"a").unwrap();
        fs::write(lower.join("var/cache/apt/b"), b"b").unwrap();
        fs::write(lower.join("opt/old/f"), b"f").unwrap();
        // Directories with the same mode, size and mtime are unchanged; the clock ticks too
        // coarsely to tell the test's lower and upper apart, so the times are set here.
        let set_mtime = |p: &Path, t: std::time::SystemTime| fs::File::open(p).unwrap().set_modified(t).unwrap();
        let old = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000_000);
        for d in ["etc", "usr", "usr/lib", "var", "var/cache", "var/cache/apt", "opt", "opt/old"] {
            set_mtime(&lower.join(d), old);
        }
        let lower_copy = |d: &str| {
            fs::create_dir_all(upper.join(d)).unwrap();
            let m = fs::metadata(lower.join(d)).unwrap();
            fs::set_permissions(upper.join(d), m.permissions()).unwrap();
        };
        // Copied up as overlayfs does (mtime kept): /usr is unchanged, /usr/lib is listed as
        // the parent of an added file.
        lower_copy("usr");
        lower_copy("usr/lib");
        fs::write(upper.join("usr/lib/added"), b"a").unwrap();
        set_mtime(&upper.join("usr"), old);
        set_mtime(&upper.join("usr/lib"), old);
        lower_copy("etc");
        fs::write(upper.join("etc/passwd"), b"root2").unwrap();
        whiteout(&upper.join("etc/hosts"));
        fs::write(upper.join("etc/new"), b"n").unwrap();
        fs::create_dir_all(upper.join("tmp/x")).unwrap();
        lower_copy("var");
        lower_copy("var/cache");
        lower_copy("var/cache/apt");
        rfs::setxattr(upper.join("var/cache/apt").as_path(), OPAQUE_XATTR, b"y", rfs::XattrFlags::empty()).unwrap();
        fs::write(upper.join("var/cache/apt/b"), b"b2").unwrap();
        whiteout(&upper.join("opt"));

        let got = show(&changes(&upper, std::slice::from_ref(&lower)).unwrap());
        let want = [
            "C /etc",
            "A /etc/new",
            "D /etc/hosts",
            "C /etc/passwd",
            "D /opt",
            "A /tmp",
            "A /tmp/x",
            "C /usr/lib",
            "A /usr/lib/added",
            "C /var",
            "C /var/cache",
            "C /var/cache/apt",
            "D /var/cache/apt/a",
            "C /var/cache/apt/b",
        ];
        // Docker lists in walk order; compare as sets plus the parent-before-child rule.
        let mut sorted_got = got.clone();
        sorted_got.sort();
        let mut sorted_want: Vec<String> = want.iter().map(|s| s.to_string()).collect();
        sorted_want.sort();
        assert_eq!(sorted_got, sorted_want, "got {got:?}");
        let pos = |s: &str| got.iter().position(|g| g == s).unwrap();
        assert!(pos("C /etc") < pos("A /etc/new"));
        assert!(pos("C /var/cache/apt") < pos("D /var/cache/apt/a"));
        assert!(pos("C /usr/lib") < pos("A /usr/lib/added"));
    }

    #[test]
    fn everything_is_added_without_lowers() {
        let t = tempfile::tempdir().unwrap();
        fs::create_dir_all(t.path().join("a/b")).unwrap();
        fs::write(t.path().join("a/b/f"), b"x").unwrap();
        assert_eq!(show(&changes(t.path(), &[]).unwrap()), ["A /a", "A /a/b", "A /a/b/f"]);
    }
}
