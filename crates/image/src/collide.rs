//! Collisions between a container's writable layer and an image update (`berth upgrade`): the
//! paths the container changed (its overlayfs upper dir) that the new image also changed
//! relative to the old one.
//!
//! Only the container's own changes are looked at, never a diff of the two images: for each
//! entry of the upper dir, the path is looked up in the merged view of the old layer stack and
//! of the new one ([`lookup`], overlayfs' rules: whiteouts, opaque directories, non-directories
//! hiding what is below), and the two results are compared:
//!
//! - a file, symlink, device, whiteout or opaque directory of the container collides if the
//!   two images' entries differ (present or not, type, mode, owner, size, device, link target,
//!   file content), unless the container's entry is the new image's (both deleted the path, or
//!   wrote the same file);
//! - a plain (merged) directory of the container only holds its children; it collides only if
//!   the path's kind (absent, directory, non-directory) differs between the images, e.g. the
//!   new image replaced it with a file or deleted it. Its children are compared one by one.
//!
//! Cost: one lookup per layer per changed path, and a content comparison only for regular
//! files of equal size in different layers.

use std::fs::File;
use std::io::{self, Read};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use rustix::fs::{self as rfs, AtFlags, FileType, Mode, OFlags, Stat};
use rustix::io::Errno;

use crate::changes::is_opaque;

/// Why the collisions could not be computed.
#[derive(Debug, thiserror::Error)]
#[error("failed to {op} {path}")]
pub struct CollideError {
    op: &'static str,
    path: PathBuf,
    #[source]
    source: io::Error,
}

fn err<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(Errno) -> CollideError + 'a {
    move |e| CollideError { op, path: path.to_owned(), source: e.into() }
}

/// The entry a merged layer stack shows at a path.
#[derive(Debug)]
struct Found {
    st: Stat,
    /// The directory holding it, in the layer that has it.
    parent: OwnedFd,
    name: Vec<u8>,
}

/// Absent, directory, or anything else.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Absent,
    Dir,
    Other,
}

fn kind(f: Option<&Found>) -> Kind {
    match f {
        None => Kind::Absent,
        Some(f) if FileType::from_raw_mode(f.st.st_mode) == FileType::Directory => Kind::Dir,
        Some(_) => Kind::Other,
    }
}

fn is_whiteout(st: &Stat) -> bool {
    FileType::from_raw_mode(st.st_mode) == FileType::CharacterDevice && st.st_rdev == 0
}

/// Looks `path` (components, relative) up in a stack of layer roots, top first.
fn lookup(layers: &[OwnedFd], comps: &[&[u8]]) -> Option<Found> {
    let (last, parents) = comps.split_last()?;
    'layers: for layer in layers {
        let mut dir =
            rfs::openat(layer, ".", OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty()).ok()?;
        // An opaque directory on the way hides the layers below from here down.
        let mut opaque = false;
        for c in parents {
            match rfs::statat(&dir, *c, AtFlags::SYMLINK_NOFOLLOW) {
                Ok(st) if FileType::from_raw_mode(st.st_mode) == FileType::Directory => {
                    dir = rfs::openat(
                        &dir,
                        *c,
                        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                        Mode::empty(),
                    )
                    .ok()?;
                    opaque |= is_opaque(&dir);
                }
                // A whiteout or a non-directory hides everything below it.
                Ok(_) => return None,
                Err(_) if opaque => return None,
                Err(_) => continue 'layers,
            }
        }
        match rfs::statat(&dir, *last, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) if is_whiteout(&st) => return None,
            Ok(st) => return Some(Found { st, parent: dir, name: last.to_vec() }),
            Err(_) if opaque || is_opaque(&dir) => return None,
            Err(_) => {}
        }
    }
    None
}

/// Whether two found entries are the same file content and metadata.
fn same(a: &Found, b: &Found) -> bool {
    let (x, y) = (&a.st, &b.st);
    if x.st_dev == y.st_dev && x.st_ino == y.st_ino {
        return true;
    }
    let ft = FileType::from_raw_mode(x.st_mode);
    if x.st_mode != y.st_mode || x.st_uid != y.st_uid || x.st_gid != y.st_gid {
        return false;
    }
    match ft {
        FileType::Directory => is_opaque_at(a) == is_opaque_at(b),
        FileType::Symlink => {
            rfs::readlinkat(&a.parent, a.name.as_slice(), Vec::new()).ok()
                == rfs::readlinkat(&b.parent, b.name.as_slice(), Vec::new()).ok()
        }
        FileType::RegularFile => x.st_size == y.st_size && same_content(a, b).unwrap_or(false),
        FileType::CharacterDevice | FileType::BlockDevice => x.st_rdev == y.st_rdev,
        _ => true,
    }
}

fn is_opaque_at(f: &Found) -> bool {
    rfs::openat(&f.parent, f.name.as_slice(), OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW, Mode::empty())
        .is_ok_and(|d| is_opaque(&d))
}

fn same_content(a: &Found, b: &Found) -> io::Result<bool> {
    let open = |f: &Found| -> io::Result<File> {
        Ok(File::from(rfs::openat(
            &f.parent,
            f.name.as_slice(),
            OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )?))
    };
    let (mut fa, mut fb) = (open(a)?, open(b)?);
    let (mut ba, mut bb) = (vec![0u8; 1 << 16], vec![0u8; 1 << 16]);
    loop {
        let n = fa.read(&mut ba)?;
        if n == 0 {
            return Ok(fb.read(&mut bb[..1])? == 0);
        }
        fb.read_exact(&mut bb[..n])?;
        if ba[..n] != bb[..n] {
            return Ok(false);
        }
    }
}

/// The paths (absolute in the container, `/etc/version`) that collide between the changes in
/// `upper` and an image change from `old` to `new` (layer diff dirs, bottom first, as
/// [`crate::ImageStore::layers`] returns them), in path order.
pub fn collisions(upper: &Path, old: &[PathBuf], new: &[PathBuf]) -> Result<Vec<String>, CollideError> {
    let open = |p: &Path| {
        rfs::open(p, OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty()).map_err(err("open", p))
    };
    let stack = |ls: &[PathBuf]| ls.iter().rev().map(|l| open(l)).collect::<Result<Vec<_>, _>>();
    let (old, new) = (stack(old)?, stack(new)?);
    let root = open(upper)?;
    let mut out = Vec::new();
    walk(upper, &root, &mut Vec::new(), &old, &new, &mut out)?;
    Ok(out)
}

fn walk(
    upper: &Path,
    dir: &OwnedFd,
    comps: &mut Vec<Vec<u8>>,
    old: &[OwnedFd],
    new: &[OwnedFd],
    out: &mut Vec<String>,
) -> Result<(), CollideError> {
    let here = upper.join(String::from_utf8_lossy(&comps.join(&b'/')).as_ref());
    let mut names = Vec::new();
    let mut d = rfs::Dir::read_from(dir).map_err(err("list", &here))?;
    while let Some(e) = d.read() {
        let n = e.map_err(err("list", &here))?.file_name().to_bytes().to_vec();
        if n != b"." && n != b".." {
            names.push(n);
        }
    }
    names.sort();
    for name in names {
        let st = rfs::statat(dir, name.as_slice(), AtFlags::SYMLINK_NOFOLLOW).map_err(err("stat", &here))?;
        comps.push(name);
        let refs: Vec<&[u8]> = comps.iter().map(Vec::as_slice).collect();
        let (o, n) = (lookup(old, &refs), lookup(new, &refs));
        let path = format!("/{}", String::from_utf8_lossy(&comps.join(&b'/')));
        if FileType::from_raw_mode(st.st_mode) == FileType::Directory {
            let child = rfs::openat(
                dir,
                comps.last().expect("just pushed").as_slice(),
                OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::empty(),
            )
            .map_err(err("open", &here))?;
            let collides = if is_opaque(&child) {
                match (&o, &n) {
                    (Some(a), Some(b)) => !same(a, b),
                    (None, None) => false,
                    _ => true,
                }
            } else {
                kind(o.as_ref()) != kind(n.as_ref())
            };
            if collides {
                out.push(path);
            } else {
                walk(upper, &child, comps, old, new, out)?;
            }
        } else {
            let image_changed = match (&o, &n) {
                (Some(a), Some(b)) => !same(a, b),
                (None, None) => false,
                _ => true,
            };
            // Both made the same change (deleted it, or wrote the same file): no conflict.
            let agrees = || {
                let mine = if is_whiteout(&st) {
                    None
                } else {
                    let parent =
                        rfs::openat(dir, ".", OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())
                            .map_err(err("open", &here))?;
                    Some(Found { st, parent, name: comps.last().expect("just pushed").clone() })
                };
                Ok::<_, CollideError>(match (&mine, &n) {
                    (None, None) => true,
                    (Some(a), Some(b)) => same(a, b),
                    _ => false,
                })
            };
            if image_changed && !agrees()? {
                out.push(path);
            }
        }
        comps.pop();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::fs;

    use rustix::fs::XattrFlags;

    use super::*;

    fn whiteout(p: &Path) {
        rfs::mknodat(rfs::CWD, p, FileType::CharacterDevice, Mode::empty(), 0).unwrap();
    }

    /// old = base; new = base + a layer changing /etc/version, adding /etc/new, deleting
    /// /etc/dropped, replacing /srv (a directory) with a file and emptying /opt (opaque).
    #[test]
    fn only_paths_both_sides_changed_collide() {
        let t = tempfile::tempdir().unwrap();
        let base = t.path().join("base");
        for d in ["etc", "srv", "opt", "root"] {
            fs::create_dir_all(base.join(d)).unwrap();
        }
        fs::write(base.join("etc/version"), "1").unwrap();
        fs::write(base.join("etc/same"), "s").unwrap();
        fs::write(base.join("etc/dropped"), "d").unwrap();
        fs::write(base.join("opt/tool"), "t").unwrap();
        let top = t.path().join("top");
        fs::create_dir_all(top.join("etc")).unwrap();
        fs::create_dir_all(top.join("opt")).unwrap();
        fs::write(top.join("etc/version"), "2").unwrap();
        fs::write(top.join("etc/new"), "n").unwrap();
        whiteout(&top.join("etc/dropped"));
        fs::write(top.join("srv"), "now a file").unwrap();
        rfs::setxattr(top.join("opt").as_path(), "trusted.overlay.opaque", b"y", XattrFlags::empty()).unwrap();
        // A layer identical in content to base's /etc/same: not a change.
        fs::write(top.join("etc/same"), "s").unwrap();

        let upper = t.path().join("upper");
        for d in ["etc", "srv", "root", "opt"] {
            fs::create_dir_all(upper.join(d)).unwrap();
        }
        fs::write(upper.join("etc/version"), "mine").unwrap(); // collides (changed by both)
        fs::write(upper.join("etc/same"), "mine").unwrap(); // no: the image's content is the same
        whiteout(&upper.join("etc/dropped")); // no: both deleted it
        fs::write(upper.join("etc/agreed"), "a").unwrap(); // no: both wrote the same
        fs::write(top.join("etc/agreed"), "a").unwrap();
        fs::write(upper.join("etc/new"), "mine").unwrap(); // collides (both added)
        fs::write(upper.join("srv/data"), "x").unwrap(); // /srv collides (dir vs file)
        fs::write(upper.join("root/mine"), "m").unwrap(); // no
        fs::write(upper.join("opt/tool"), "mine").unwrap(); // collides (the image deleted it)

        let old = vec![base.clone()];
        let new = vec![base, top];
        let c = collisions(&upper, &old, &new).unwrap();
        assert_eq!(c, ["/etc/new", "/etc/version", "/opt/tool", "/srv"]);
        // Nothing changed between the images: nothing collides.
        assert!(collisions(&upper, &old, &old).unwrap().is_empty());
    }

    #[test]
    fn lookup_follows_overlay_rules() {
        let t = tempfile::tempdir().unwrap();
        let (l0, l1) = (t.path().join("l0"), t.path().join("l1"));
        fs::create_dir_all(l0.join("a/b")).unwrap();
        fs::write(l0.join("a/b/f"), "0").unwrap();
        fs::write(l0.join("a/g"), "0").unwrap();
        fs::create_dir_all(l1.join("a")).unwrap();
        rfs::setxattr(l1.join("a").as_path(), "trusted.overlay.opaque", b"y", XattrFlags::empty()).unwrap();
        let open = |p: &Path| rfs::open(p, OFlags::RDONLY | OFlags::DIRECTORY, Mode::empty()).unwrap();
        let stack = vec![open(&l1), open(&l0)];
        assert!(lookup(&stack, &[b"a", b"g"]).is_none(), "hidden by the opaque /a");
        assert!(lookup(&stack, &[b"a", b"b", b"f"]).is_none(), "hidden by the opaque /a");
        assert!(lookup(&stack[1..], &[b"a", b"b", b"f"]).is_some());
        fs::remove_dir_all(l1.join("a")).unwrap();
        fs::write(l1.join("a"), "file").unwrap();
        let stack = vec![open(&l1), open(&l0)];
        assert!(lookup(&stack, &[b"a", b"g"]).is_none(), "hidden by the file /a");
        assert_eq!(kind(lookup(&stack, &[b"a"]).as_ref()), Kind::Other);
    }
}
