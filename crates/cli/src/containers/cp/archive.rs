//! The local side of `cp`: packing a path into a tar for upload and unpacking a downloaded
//! tar into a directory (moby's `TarWithOptions` and `Untar` with `NoLchown`).
//!
//! Unpacking never leaves the destination: absolute and `..` entries are refused, and so is
//! any entry whose parent inside the destination is a symlink, so an archive cannot plant a
//! link and then write through it; files are created with `O_EXCL | O_NOFOLLOW`.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail};

use super::gopath;
use crate::format::output::os_error;

/// Renames the first component of an entry name (moby's `RebaseArchiveEntries`).
///
/// The archive of `dir/.` has a top entry `.`; dockerd names the rest `./a`, but tar writers
/// that normalise paths (berth's) write `a`, so with `old` = `.` a bare name is taken to be
/// inside it.
fn rebase(name: &str, old: &str, new: &str) -> String {
    let (first, rest) = match name.split_once('/') {
        Some((f, r)) => (f, Some(r)),
        None => (name, None),
    };
    if first != old {
        if old == "." && !name.starts_with('/') {
            return format!("{new}/{name}");
        }
        return name.to_owned();
    }
    match rest {
        Some(r) => format!("{new}/{r}"),
        None => new.to_owned(),
    }
}

/// Adds `fs_path` (not following symlinks) and everything below it to `b`, named `name`.
/// Sockets are skipped, as docker does; hard links within the tree stay links.
pub(super) fn append_tree<W: Write>(
    b: &mut tar::Builder<W>,
    fs_path: &Path,
    name: &str,
    links: &mut HashMap<(u64, u64), String>,
) -> anyhow::Result<()> {
    let meta = fs::symlink_metadata(fs_path).map_err(|e| os_error("lstat", fs_path, &e))?;
    let ft = meta.file_type();
    if ft.is_socket() {
        return Ok(());
    }
    let mut h = tar::Header::new_gnu();
    h.set_metadata_in_mode(&meta, tar::HeaderMode::Complete);
    let werr = |e: io::Error| anyhow!("writing the archive of {}: {e}", fs_path.display());
    if ft.is_dir() {
        h.set_size(0);
        b.append_data(&mut h, format!("{name}/"), io::empty()).map_err(werr)?;
        let mut children: Vec<_> = fs::read_dir(fs_path)
            .map_err(|e| os_error("open", fs_path, &e))?
            .map(|e| e.map(|e| e.file_name()))
            .collect::<Result<_, _>>()
            .map_err(|e| os_error("readdirent", fs_path, &e))?;
        children.sort();
        for child in children {
            let child_name = format!("{name}/{}", child.to_string_lossy());
            append_tree(b, &fs_path.join(&child), &child_name, links)?;
        }
    } else if ft.is_symlink() {
        let target = fs::read_link(fs_path).map_err(|e| os_error("readlink", fs_path, &e))?;
        h.set_size(0);
        b.append_link(&mut h, name, &target).map_err(werr)?;
    } else if ft.is_file() {
        if meta.nlink() > 1 {
            if let Some(first) = links.get(&(meta.dev(), meta.ino())) {
                h.set_entry_type(tar::EntryType::Link);
                h.set_size(0);
                b.append_link(&mut h, name, first).map_err(werr)?;
                return Ok(());
            }
            links.insert((meta.dev(), meta.ino()), name.to_owned());
        }
        let f = File::open(fs_path).map_err(|e| os_error("open", fs_path, &e))?;
        // Keep the stream valid if the file changes size while it is read.
        let size = meta.len();
        let data = f.take(size).chain(io::repeat(0)).take(size);
        b.append_data(&mut h, name, data).map_err(werr)?;
    } else {
        h.set_size(0);
        b.append_data(&mut h, name, io::empty()).map_err(werr)?;
    }
    Ok(())
}

/// Checks that `rel` stays inside the destination; returns its components (none for `.`).
fn safe_components(name: &str) -> anyhow::Result<Vec<String>> {
    if name.starts_with('/') {
        bail!("refusing to extract {name:?}: absolute path");
    }
    let cleaned = gopath::clean(name);
    if cleaned == ".." || cleaned.starts_with("../") {
        bail!("refusing to extract {name:?}: it is outside of the destination");
    }
    Ok(cleaned.split('/').filter(|c| !c.is_empty() && *c != ".").map(str::to_owned).collect())
}

/// Makes sure every parent of `comps` under `dest` is a real directory, never a symlink, and
/// returns the full path. Missing parents are created when `create` (moby creates them 0755).
fn prepare_parents(dest: &Path, comps: &[String], name: &str, create: bool) -> anyhow::Result<PathBuf> {
    let mut p = dest.to_path_buf();
    for (i, c) in comps.iter().enumerate() {
        p.push(c);
        if i + 1 == comps.len() {
            break;
        }
        match fs::symlink_metadata(&p) {
            Ok(m) if m.file_type().is_symlink() => {
                bail!("refusing to extract {name:?}: {} is a symbolic link", p.display())
            }
            Ok(m) if m.is_dir() => {}
            Ok(_) => bail!("cannot extract {name:?}: {} is not a directory", p.display()),
            Err(e) if e.kind() == io::ErrorKind::NotFound && create => {
                fs::create_dir(&p).map_err(|e| os_error("mkdir", &p, &e))?;
            }
            Err(e) => return Err(os_error("lstat", &p, &e)),
        }
    }
    Ok(p)
}

fn set_mtime(path: &Path, mtime: u64) {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(mtime);
    if let Ok(f) = File::open(path) {
        let _ = f.set_times(fs::FileTimes::new().set_accessed(t).set_modified(t));
    }
}

/// moby's `Untar` with `NoLchown` and `NoOverwriteDirNonDir`, into `dest`, renaming top
/// entries by `renames` on the way.
pub(super) fn extract(r: impl Read, dest: &Path, renames: &[(String, String)]) -> anyhow::Result<()> {
    let mut archive = tar::Archive::new(r);
    let mut dirs: Vec<(PathBuf, u32, u64)> = Vec::new();
    let corrupt = |e: io::Error| anyhow!("reading the archive: {e}");
    for entry in archive.entries().map_err(corrupt)? {
        let mut e = entry.map_err(corrupt)?;
        let kind = e.header().entry_type();
        if matches!(kind, tar::EntryType::XGlobalHeader | tar::EntryType::XHeader) {
            continue;
        }
        let raw = String::from_utf8_lossy(&e.path_bytes()).into_owned();
        let name = renames.iter().fold(raw, |n, (old, new)| rebase(&n, old, new));
        let comps = safe_components(&name)?;
        let mode = e.header().mode().unwrap_or(0o644) & 0o7777;
        let mtime = e.header().mtime().unwrap_or(0);
        let is_dir = kind == tar::EntryType::Directory || (kind == tar::EntryType::Regular && name.ends_with('/'));
        let path = prepare_parents(dest, &comps, &name, true)?;
        match fs::symlink_metadata(&path) {
            Ok(m) => {
                if m.is_dir() && !is_dir {
                    bail!(
                        "cannot overwrite directory {:?} with non-directory {:?}",
                        path.display().to_string(),
                        dest.display().to_string()
                    );
                }
                if !m.is_dir() && is_dir {
                    bail!(
                        "cannot overwrite non-directory {:?} with directory {:?}",
                        path.display().to_string(),
                        dest.display().to_string()
                    );
                }
                if m.is_dir() && comps.is_empty() {
                    continue;
                }
                if !m.is_dir() {
                    fs::remove_file(&path).map_err(|e| os_error("remove", &path, &e))?;
                }
            }
            Err(err) if err.kind() == io::ErrorKind::NotFound => {}
            Err(err) => return Err(os_error("lstat", &path, &err)),
        }
        if is_dir {
            if !path.is_dir() {
                fs::create_dir(&path).map_err(|e| os_error("mkdir", &path, &e))?;
            }
            dirs.push((path, mode, mtime));
            continue;
        }
        match kind {
            tar::EntryType::Regular | tar::EntryType::Continuous | tar::EntryType::GNUSparse => {
                let mut f = OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .custom_flags(libc_o_nofollow())
                    .mode(0o600)
                    .open(&path)
                    .map_err(|e| os_error("open", &path, &e))?;
                io::copy(&mut e, &mut f).map_err(|e| anyhow!("writing {}: {e}", path.display()))?;
                fs::set_permissions(&path, fs::Permissions::from_mode(mode))
                    .map_err(|e| os_error("chmod", &path, &e))?;
                let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(mtime);
                let _ = f.set_times(fs::FileTimes::new().set_accessed(t).set_modified(t));
            }
            tar::EntryType::Symlink => {
                let target = e.link_name_bytes().map(|t| String::from_utf8_lossy(&t).into_owned()).unwrap_or_default();
                std::os::unix::fs::symlink(&target, &path).map_err(|e| os_error("symlink", &path, &e))?;
            }
            tar::EntryType::Link => {
                let target = e.link_name_bytes().map(|t| String::from_utf8_lossy(&t).into_owned()).unwrap_or_default();
                let target = renames.iter().fold(target, |n, (old, new)| rebase(&n, old, new));
                let tcomps = safe_components(&target)?;
                let tpath = prepare_parents(dest, &tcomps, &target, false)?;
                fs::hard_link(&tpath, &path).map_err(|e| os_error("link", &path, &e))?;
            }
            tar::EntryType::Fifo => {
                nix::unistd::mkfifo(&path, nix::sys::stat::Mode::from_bits_truncate(mode))
                    .map_err(|e| os_error("mkfifo", &path, &io::Error::from(e)))?;
                fs::set_permissions(&path, fs::Permissions::from_mode(mode))
                    .map_err(|e| os_error("chmod", &path, &e))?;
            }
            tar::EntryType::Char | tar::EntryType::Block => {
                let sflag = if kind == tar::EntryType::Char {
                    nix::sys::stat::SFlag::S_IFCHR
                } else {
                    nix::sys::stat::SFlag::S_IFBLK
                };
                let major = e.header().device_major().ok().flatten().unwrap_or(0);
                let minor = e.header().device_minor().ok().flatten().unwrap_or(0);
                let dev = nix::sys::stat::makedev(u64::from(major), u64::from(minor));
                nix::sys::stat::mknod(&path, sflag, nix::sys::stat::Mode::from_bits_truncate(mode), dev)
                    .map_err(|e| os_error("mknod", &path, &io::Error::from(e)))?;
            }
            other => bail!("unhandled tar header type {:?} for {name:?}", other.as_byte() as char),
        }
    }
    // Directories last, deepest first: their mode may forbid writing into them, and creating
    // their children changed their mtime.
    for (path, mode, mtime) in dirs.iter().rev() {
        fs::set_permissions(path, fs::Permissions::from_mode(*mode)).map_err(|e| os_error("chmod", path, &e))?;
        set_mtime(path, *mtime);
    }
    Ok(())
}

/// `O_NOFOLLOW`, so a symlink raced into place is never written through.
fn libc_o_nofollow() -> i32 {
    nix::fcntl::OFlag::O_NOFOLLOW.bits()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rebasing() {
        assert_eq!(rebase("etc", "etc", "new"), "new");
        assert_eq!(rebase("etc/", "etc", "new"), "new/");
        assert_eq!(rebase("etc/hosts", "etc", "new"), "new/hosts");
        assert_eq!(rebase("etcx/hosts", "etc", "new"), "etcx/hosts");
        assert_eq!(rebase("./a", ".", "new"), "new/a");
        assert_eq!(rebase(".", ".", "new"), "new");
        assert_eq!(rebase("a/b", ".", "new"), "new/a/b");
    }

    fn tar_of(entries: &[(&str, tar::EntryType, &str)]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (name, kind, data) in entries {
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(*kind);
            h.set_mode(if *kind == tar::EntryType::Directory { 0o755 } else { 0o644 });
            h.set_mtime(1_000_000);
            match kind {
                tar::EntryType::Symlink | tar::EntryType::Link => {
                    h.set_size(0);
                    b.append_link(&mut h, name, data).unwrap();
                }
                _ => {
                    h.set_size(data.len() as u64);
                    b.append_data(&mut h, name, data.as_bytes()).unwrap();
                }
            }
        }
        b.into_inner().unwrap()
    }

    #[test]
    fn extract_renames_and_keeps_inside() {
        let d = tempfile::tempdir().unwrap();
        let t = tar_of(&[
            ("etc/", tar::EntryType::Directory, ""),
            ("etc/hosts", tar::EntryType::Regular, "127.0.0.1 localhost\n"),
            ("etc/link", tar::EntryType::Symlink, "/etc/passwd"),
            ("etc/hard", tar::EntryType::Link, "etc/hosts"),
        ]);
        extract(&t[..], d.path(), &[("etc".into(), "out".into())]).unwrap();
        assert_eq!(fs::read_to_string(d.path().join("out/hosts")).unwrap(), "127.0.0.1 localhost\n");
        assert_eq!(fs::read_link(d.path().join("out/link")).unwrap(), Path::new("/etc/passwd"));
        assert_eq!(fs::metadata(d.path().join("out/hard")).unwrap().nlink(), 2);
        let m = fs::metadata(d.path().join("out/hosts")).unwrap();
        assert_eq!(m.permissions().mode() & 0o777, 0o644);
        assert_eq!(m.mtime(), 1_000_000);
        assert_eq!(fs::metadata(d.path().join("out")).unwrap().mtime(), 1_000_000);

        // Extracting the same archive again replaces the files.
        extract(&t[..], d.path(), &[("etc".into(), "out".into())]).unwrap();
    }

    #[test]
    fn extract_refuses_escapes() {
        let d = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let t = tar_of(&[
            ("a", tar::EntryType::Symlink, &outside.path().to_string_lossy()),
            ("a/evil", tar::EntryType::Regular, "x"),
        ]);
        let err = extract(&t[..], d.path(), &[]).unwrap_err();
        assert!(err.to_string().contains("is a symbolic link"), "{err}");
        assert!(!outside.path().join("evil").exists());

        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_size(1);
        h.set_entry_type(tar::EntryType::Regular);
        // `append_data` refuses `..`, so write the name into the header by hand.
        h.as_old_mut().name[..7].copy_from_slice(b"../evil");
        h.set_cksum();
        b.append(&h, &b"x"[..]).unwrap();
        let t = b.into_inner().unwrap();
        let err = extract(&t[..], d.path(), &[]).unwrap_err();
        assert!(err.to_string().contains("outside of the destination"), "{err}");

        let t = tar_of(&[("f", tar::EntryType::Regular, "x")]);
        fs::create_dir(d.path().join("f")).unwrap();
        let err = extract(&t[..], d.path(), &[]).unwrap_err();
        assert!(err.to_string().starts_with("cannot overwrite directory"), "{err}");
    }

    #[test]
    fn archives_round_trip() {
        let src = tempfile::tempdir().unwrap();
        fs::create_dir(src.path().join("dir")).unwrap();
        fs::write(src.path().join("dir/a"), "hello").unwrap();
        fs::hard_link(src.path().join("dir/a"), src.path().join("dir/b")).unwrap();
        std::os::unix::fs::symlink("a", src.path().join("dir/l")).unwrap();
        let mut b = tar::Builder::new(Vec::new());
        append_tree(&mut b, &src.path().join("dir"), "copy", &mut HashMap::new()).unwrap();
        let t = b.into_inner().unwrap();
        let dst = tempfile::tempdir().unwrap();
        extract(&t[..], dst.path(), &[]).unwrap();
        assert_eq!(fs::read_to_string(dst.path().join("copy/a")).unwrap(), "hello");
        assert_eq!(fs::metadata(dst.path().join("copy/b")).unwrap().nlink(), 2);
        assert_eq!(fs::read_link(dst.path().join("copy/l")).unwrap(), Path::new("a"));

        // Contents only (`dir/.` into an existing directory).
        let mut b = tar::Builder::new(Vec::new());
        append_tree(&mut b, &src.path().join("dir"), ".", &mut HashMap::new()).unwrap();
        let t = b.into_inner().unwrap();
        let dst = tempfile::tempdir().unwrap();
        extract(&t[..], dst.path(), &[]).unwrap();
        assert_eq!(fs::read_to_string(dst.path().join("a")).unwrap(), "hello");
    }
}
