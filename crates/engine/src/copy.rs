//! Copying a directory tree with everything a file carries: owners, modes, times, extended
//! attributes, symlinks, hard links, device nodes and FIFOs. Used for Docker's volume copy-up
//! (an image's content at a volume's path goes into a new, empty volume).
//!
//! Nothing is followed: symlinks are copied as symlinks, so a link in an image can't make the
//! copy read or write outside the two trees.

use std::collections::HashMap;
use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::Path;

use crate::userns::IdMapping;

/// Copies the content of directory `src` into directory `dst` (which exists), and `src`'s own
/// owner, mode and times onto `dst`. With `remap` (a container's user namespace), owners are
/// translated to their host ids (an id outside the mappings becomes the overflow id, nobody,
/// as an idmapped layer shows it).
pub(crate) fn copy_dir_contents(src: &Path, dst: &Path, remap: Option<&IdMapping>) -> std::io::Result<()> {
    let mut links = HashMap::new();
    copy_children(src, dst, &mut links, remap)?;
    // `src` may be a `/proc/self/fd/N` link to the directory (copy-up): its own metadata would
    // be the link's, root's. `.` is the directory.
    let top = src.join(".");
    let meta = std::fs::symlink_metadata(&top)?;
    copy_meta(&top, dst, &meta, remap)
}

fn copy_children(
    src: &Path,
    dst: &Path,
    links: &mut HashMap<(u64, u64), std::path::PathBuf>,
    remap: Option<&IdMapping>,
) -> std::io::Result<()> {
    for entry in std::fs::read_dir(src)? {
        let entry = entry?;
        let from = entry.path();
        let to = dst.join(entry.file_name());
        let meta = std::fs::symlink_metadata(&from)?;
        let ft = meta.file_type();
        if !ft.is_dir() && meta.nlink() > 1 {
            if let Some(first) = links.get(&(meta.dev(), meta.ino())) {
                std::fs::hard_link(first, &to)?;
                continue;
            }
            links.insert((meta.dev(), meta.ino()), to.clone());
        }
        if ft.is_dir() {
            std::fs::create_dir(&to)?;
            copy_children(&from, &to, links, remap)?;
        } else if ft.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(&from)?, &to)?;
        } else if ft.is_file() {
            std::fs::copy(&from, &to)?;
        } else if ft.is_block_device() || ft.is_char_device() || ft.is_fifo() || ft.is_socket() {
            let kind = if ft.is_block_device() {
                nix::sys::stat::SFlag::S_IFBLK
            } else if ft.is_char_device() {
                nix::sys::stat::SFlag::S_IFCHR
            } else if ft.is_fifo() {
                nix::sys::stat::SFlag::S_IFIFO
            } else {
                nix::sys::stat::SFlag::S_IFSOCK
            };
            nix::sys::stat::mknod(
                &to,
                kind,
                nix::sys::stat::Mode::from_bits_truncate(meta.mode() & 0o7777),
                meta.rdev(),
            )?;
        }
        copy_meta(&from, &to, &meta, remap)?;
    }
    Ok(())
}

/// Owner, extended attributes, mode (after the owner: chown clears set-id bits) and times.
fn copy_meta(from: &Path, to: &Path, meta: &std::fs::Metadata, remap: Option<&IdMapping>) -> std::io::Result<()> {
    let (uid, gid) = match remap {
        Some(m) => (
            m.host_uid(meta.uid()).unwrap_or(runtime::config::OVERFLOW_ID),
            m.host_gid(meta.gid()).unwrap_or(runtime::config::OVERFLOW_ID),
        ),
        None => (meta.uid(), meta.gid()),
    };
    std::os::unix::fs::lchown(to, Some(uid), Some(gid))?;
    copy_xattrs(from, to)?;
    if !meta.file_type().is_symlink() {
        std::fs::set_permissions(to, std::fs::Permissions::from_mode(meta.mode() & 0o7777))?;
    }
    let times = [rustix::fs::Timestamps {
        last_access: rustix::fs::Timespec { tv_sec: meta.atime(), tv_nsec: meta.atime_nsec() as _ },
        last_modification: rustix::fs::Timespec { tv_sec: meta.mtime(), tv_nsec: meta.mtime_nsec() as _ },
    }];
    rustix::fs::utimensat(rustix::fs::CWD, to, &times[0], rustix::fs::AtFlags::SYMLINK_NOFOLLOW)?;
    Ok(())
}

fn copy_xattrs(from: &Path, to: &Path) -> std::io::Result<()> {
    let mut names = vec![0u8; 1024];
    let n = loop {
        match rustix::fs::llistxattr(from, &mut names) {
            Ok(n) => break n,
            Err(rustix::io::Errno::RANGE) => names.resize(names.len() * 4, 0),
            // Filesystems without xattrs: nothing to copy.
            Err(rustix::io::Errno::NOTSUP) => return Ok(()),
            Err(e) => return Err(e.into()),
        }
    };
    for name in names[..n].split(|b| *b == 0).filter(|n| !n.is_empty()) {
        // overlayfs' own attributes describe the layer, not the file.
        if name.starts_with(b"trusted.overlay.") {
            continue;
        }
        let Ok(cname) = CString::new(name) else { continue };
        let mut value = vec![0u8; 256];
        let len = loop {
            match rustix::fs::lgetxattr(from, cname.as_c_str(), &mut value) {
                Ok(n) => break n,
                Err(rustix::io::Errno::RANGE) => value.resize(value.len() * 4, 0),
                Err(e) => return Err(e.into()),
            }
        };
        match rustix::fs::lsetxattr(to, cname.as_c_str(), &value[..len], rustix::fs::XattrFlags::empty()) {
            Ok(()) => {}
            // A symlink can't carry user.* attributes on most filesystems; nothing lost there.
            Err(rustix::io::Errno::PERM | rustix::io::Errno::NOTSUP) if name.starts_with(b"user.") => {}
            Err(e) => {
                return Err(std::io::Error::other(format!(
                    "copying attribute {} of {}: {e}",
                    std::ffi::OsStr::from_bytes(name).to_string_lossy(),
                    from.display()
                )));
            }
        }
    }
    Ok(())
}

/// Whether `dir` has no entries.
pub(crate) fn is_empty_dir(dir: &Path) -> std::io::Result<bool> {
    Ok(std::fs::read_dir(dir)?.next().is_none())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_modes_links_and_owners() {
        let src = tempfile::tempdir().unwrap();
        let dst = tempfile::tempdir().unwrap();
        let s = src.path();
        std::fs::create_dir(s.join("d")).unwrap();
        std::fs::write(s.join("d/f"), b"data").unwrap();
        std::fs::set_permissions(s.join("d/f"), std::fs::Permissions::from_mode(0o640)).unwrap();
        std::fs::hard_link(s.join("d/f"), s.join("hard")).unwrap();
        std::os::unix::fs::symlink("/etc/shadow", s.join("link")).unwrap();
        std::fs::set_permissions(s, std::fs::Permissions::from_mode(0o750)).unwrap();
        copy_dir_contents(s, dst.path(), None).unwrap();
        let d = dst.path();
        assert_eq!(std::fs::read(d.join("d/f")).unwrap(), b"data");
        assert_eq!(std::fs::metadata(d.join("d/f")).unwrap().mode() & 0o7777, 0o640);
        assert_eq!(std::fs::metadata(d.join("hard")).unwrap().ino(), std::fs::metadata(d.join("d/f")).unwrap().ino());
        assert_eq!(std::fs::read_link(d.join("link")).unwrap(), Path::new("/etc/shadow"));
        assert_eq!(std::fs::metadata(d).unwrap().mode() & 0o7777, 0o750);
        assert_eq!(
            std::fs::metadata(d.join("d/f")).unwrap().mtime(),
            std::fs::metadata(s.join("d/f")).unwrap().mtime()
        );
        assert!(!is_empty_dir(d).unwrap());
    }

    #[test]
    fn the_top_directory_through_a_descriptor_link() {
        // Copy-up passes the image's directory as /proc/self/fd/N: its mode and times are the
        // directory's, not the link's.
        let src = tempfile::tempdir().unwrap();
        let dst = tempfile::tempdir().unwrap();
        std::fs::write(src.path().join("f"), b"x").unwrap();
        std::fs::set_permissions(src.path(), std::fs::Permissions::from_mode(0o751)).unwrap();
        let old = rustix::fs::Timespec { tv_sec: 1_000_000_000, tv_nsec: 0 };
        let times = rustix::fs::Timestamps { last_access: old, last_modification: old };
        rustix::fs::utimensat(rustix::fs::CWD, src.path(), &times, rustix::fs::AtFlags::empty()).unwrap();
        let fd = std::fs::File::open(src.path()).unwrap();
        let link = std::path::PathBuf::from(format!("/proc/self/fd/{}", std::os::fd::AsRawFd::as_raw_fd(&fd)));
        copy_dir_contents(&link, dst.path(), None).unwrap();
        let (s, d) = (std::fs::metadata(src.path()).unwrap(), std::fs::metadata(dst.path()).unwrap());
        assert_eq!(d.mode() & 0o7777, 0o751);
        assert_eq!((d.mtime(), s.mtime()), (1_000_000_000, 1_000_000_000));
        assert_eq!(std::fs::read(dst.path().join("f")).unwrap(), b"x");
    }
}
