//! Container records on disk: `<root>/containers/<id>/container.json`, replaced atomically
//! (write a temp file, rename over). A daemon killed mid-write leaves the old record or the new
//! one, never a torn one. Records are not fsynced: they must survive the daemon, not the
//! host's power; images and layers, which are expensive to redo, are fsynced by the image store.

use std::io;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::model::{CONTAINER_RECORD_VERSION, Container};

/// The modes of the daemon's directories (relative to the root or the exec root), as dockerd's
/// since CVE-2021-41091: nothing below them is reachable by other host users, so none of them
/// can run a setuid file of an image layer or a container's upper dir, or read a container's
/// record (its environment) or log. The root and the exec root stay traversable (0711): the
/// default API socket lives in the exec root, and a remapped container root may need to pass.
/// What a subdirectory holds:
/// - `containers/`: records, logs, writable layers, supervisor control dirs (0710, as dockerd);
/// - `image/`: blobs and unpacked layers (setuid files of images); `volumes/`, `persistent/`:
///   data and kept writable layers; `networks/`, `seccomp/`: berth's own. (`init-layer/` is
///   made whole by `create::ensure_init_layer`, 0700 too.)
pub const ROOT_DIRS: &[(&str, u32)] = &[
    ("", 0o711),
    ("containers", 0o710),
    ("image", 0o700),
    ("volumes", 0o700),
    ("persistent", 0o700),
    ("networks", 0o700),
    ("seccomp", 0o700),
];

/// The exec root's directories: the root filesystems' mount points and the shims' sockets, and
/// records waiting to be saved.
pub const EXEC_ROOT_DIRS: &[(&str, u32)] = &[("", 0o711), ("containers", 0o700), (PENDING, 0o700)];

/// Creates the directories of `dirs` under `base` with their modes, and sets the modes of those
/// that exist (a root made by an older berth, or by hand, with 0755). The base's parents are
/// made as `mkdir -p` does.
pub fn secure_dirs(base: &Path, dirs: &[(&str, u32)]) -> io::Result<()> {
    for (rel, mode) in dirs {
        let p = if rel.is_empty() { base.to_path_buf() } else { base.join(rel) };
        std::fs::DirBuilder::new().recursive(true).mode(*mode).create(&p).map_err(|e| with_path("creating", &p, e))?;
        // The base may be a symlink (a data root moved to another disk); what is inside is ours.
        let m = if rel.is_empty() { std::fs::metadata(&p) } else { std::fs::symlink_metadata(&p) }
            .map_err(|e| with_path("reading", &p, e))?;
        if !m.is_dir() {
            return Err(io::Error::other(format!("{} is not a directory", p.display())));
        }
        if m.permissions().mode() & 0o7777 != *mode {
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(*mode))
                .map_err(|e| with_path("setting the mode of", &p, e))?;
        }
    }
    Ok(())
}

fn with_path(what: &str, p: &Path, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("{what} {}: {e}", p.display()))
}

/// The record's file name in a container's directory.
pub const RECORD: &str = "container.json";

/// Writes `data` to `path` atomically. A failed write (a full disk) leaves no temp file.
pub fn write_atomic(path: &Path, data: &[u8]) -> io::Result<()> {
    let tmp = path.with_extension("tmp");
    let r = std::fs::write(&tmp, data).and_then(|()| std::fs::rename(&tmp, path));
    if r.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    r
}

/// Saves a container record.
pub fn save(dir: &Path, c: &Container) -> io::Result<()> {
    let data = serde_json::to_vec(c).map_err(io::Error::other)?;
    write_atomic(&dir.join(RECORD), &data)
}

/// Where records that could not be saved in the root wait (`<exec-root>/pending`, on tmpfs as
/// a rule, so a full disk under the root doesn't stop them): the next save, or the next daemon,
/// puts them in place.
pub const PENDING: &str = "pending";

/// Saves `c` as a pending record in `pending_dir`.
pub fn save_pending(pending_dir: &Path, c: &Container) -> io::Result<()> {
    secure_dirs(pending_dir, &[("", 0o700)])?;
    let data = serde_json::to_vec(c).map_err(io::Error::other)?;
    write_atomic(&pending_dir.join(format!("{}.json", c.id)), &data)
}

/// Pending records (see [`PENDING`]), by container ID; unreadable ones are reported and left.
pub fn load_pending(pending_dir: &Path) -> Vec<Container> {
    let Ok(rd) = std::fs::read_dir(pending_dir) else { return Vec::new() };
    let mut out = Vec::new();
    for e in rd.flatten() {
        let p = e.path();
        if p.extension().is_none_or(|x| x != "json") {
            continue;
        }
        match std::fs::read(&p).map_err(|e| e.to_string()).and_then(|d| parse(&d)) {
            Ok(c) if p.file_stem().is_some_and(|n| n == c.id.as_str()) => out.push(c),
            Ok(_) => tracing::error!("pending record {} names another container: left alone", p.display()),
            Err(e) => tracing::error!("pending record {} can't be read ({e}): left alone", p.display()),
        }
    }
    out
}

/// A record's bytes as a container, refusing versions this berth doesn't know.
fn parse(data: &[u8]) -> Result<Container, String> {
    let c: Container = serde_json::from_slice(data).map_err(|e| e.to_string())?;
    if c.version > CONTAINER_RECORD_VERSION {
        return Err(format!(
            "record version {} is newer than this berth's ({CONTAINER_RECORD_VERSION}): written by a newer berth?",
            c.version
        ));
    }
    Ok(c)
}

/// Prefix of a container directory being made (renamed into place once its record is written).
pub const CREATING: &str = ".creating-";
/// Prefix of a container directory being removed.
pub const REMOVING: &str = ".removing-";

/// What [`load_all`] found in the containers directory.
#[derive(Debug, Default)]
pub struct Loaded {
    /// Readable records.
    pub records: Vec<Container>,
    /// berth's own leftovers: directories of interrupted creates and removals.
    pub leftovers: Vec<PathBuf>,
    /// Directories whose record can't be read (missing, torn, newer), with why.
    pub unreadable: Vec<(PathBuf, String)>,
}

/// Loads every container record under `containers_dir`.
pub fn load_all(containers_dir: &Path) -> io::Result<Loaded> {
    let mut out = Loaded::default();
    let rd = match std::fs::read_dir(containers_dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(e),
    };
    for e in rd.flatten() {
        let dir = e.path();
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with(CREATING) || name.starts_with(REMOVING) {
            out.leftovers.push(dir);
            continue;
        }
        let read =
            std::fs::read(dir.join(RECORD)).map_err(|e| format!("reading {RECORD}: {e}")).and_then(|d| parse(&d));
        match read {
            Ok(c) if c.id == name => out.records.push(c),
            Ok(c) => out.unreadable.push((dir, format!("the record is of container {}", c.id))),
            Err(why) => out.unreadable.push((dir, why)),
        }
    }
    Ok(out)
}

/// Moves an unreadable container directory (with its writable layer) to `<root>/unreadable/`,
/// out of the daemon's way but whole: nothing berth can't read is deleted. Returns where.
pub fn set_aside(root: &Path, dir: &Path) -> io::Result<PathBuf> {
    let aside = root.join("unreadable");
    secure_dirs(&aside, &[("", 0o700)])?;
    let name = dir.file_name().ok_or_else(|| io::Error::from(io::ErrorKind::InvalidInput))?;
    let mut to = aside.join(name);
    if to.exists() {
        to = aside.join(format!("{}-{}", name.to_string_lossy(), chrono::Utc::now().format("%Y%m%dT%H%M%S%.f")));
    }
    std::fs::rename(dir, &to)?;
    Ok(to)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secure_dirs_creates_and_fixes_modes() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path().join("a/root");
        // An older root: everything 0755.
        std::fs::create_dir_all(root.join("containers")).unwrap();
        std::fs::create_dir_all(root.join("image/layers")).unwrap();
        for p in [&root, &root.join("containers"), &root.join("image")] {
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        secure_dirs(&root, ROOT_DIRS).unwrap();
        for (rel, mode) in ROOT_DIRS {
            let m = std::fs::metadata(root.join(rel)).unwrap().permissions().mode() & 0o7777;
            assert_eq!(m, *mode, "{rel}");
        }
        // Content is left as it was.
        assert!(root.join("image/layers").is_dir());
        // A root that is a symlink to the real directory is fine.
        let link = t.path().join("link");
        std::os::unix::fs::symlink(&root, &link).unwrap();
        secure_dirs(&link, ROOT_DIRS).unwrap();
        // A file where a directory belongs is an error, not replaced.
        std::fs::remove_dir(root.join("seccomp")).unwrap();
        std::fs::write(root.join("seccomp"), b"x").unwrap();
        let e = secure_dirs(&root, ROOT_DIRS).unwrap_err();
        assert!(e.to_string().contains("seccomp"), "{e}");
    }
}
