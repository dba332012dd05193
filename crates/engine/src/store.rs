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
///   data and kept writable layers; `networks/`, `seccomp/`, `init-layer/`: berth's own.
pub const ROOT_DIRS: &[(&str, u32)] = &[
    ("", 0o711),
    ("containers", 0o710),
    ("image", 0o700),
    ("volumes", 0o700),
    ("persistent", 0o700),
    ("networks", 0o700),
    ("seccomp", 0o700),
    ("init-layer", 0o700),
];

/// The exec root's directories: the root filesystems' mount points and the shims' sockets.
pub const EXEC_ROOT_DIRS: &[(&str, u32)] = &[("", 0o711), ("containers", 0o700)];

/// Creates the directories of `dirs` under `base` with their modes, and sets the modes of those
/// that exist (a root made by an older berth, or by hand, with 0755). The base's parents are
/// made as `mkdir -p` does.
pub fn secure_dirs(base: &Path, dirs: &[(&str, u32)]) -> io::Result<()> {
    for (rel, mode) in dirs {
        let p = if rel.is_empty() { base.to_path_buf() } else { base.join(rel) };
        std::fs::DirBuilder::new().recursive(true).mode(*mode).create(&p).map_err(|e| with_path("creating", &p, e))?;
        let m = std::fs::symlink_metadata(&p).map_err(|e| with_path("reading", &p, e))?;
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

/// Writes `data` to `path` atomically.
pub fn write_atomic(path: &Path, data: &[u8]) -> io::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, data)?;
    std::fs::rename(&tmp, path)
}

/// Saves a container record.
pub fn save(dir: &Path, c: &Container) -> io::Result<()> {
    let data = serde_json::to_vec(c).map_err(io::Error::other)?;
    write_atomic(&dir.join(RECORD), &data)
}

/// Loads every container record under `containers_dir`. Directories without a readable record
/// (a create interrupted before its record was written) are returned separately for removal.
pub fn load_all(containers_dir: &Path) -> io::Result<(Vec<Container>, Vec<PathBuf>)> {
    let mut ok = Vec::new();
    let mut broken = Vec::new();
    let rd = match std::fs::read_dir(containers_dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok((ok, broken)),
        Err(e) => return Err(e),
    };
    for e in rd.flatten() {
        let dir = e.path();
        match std::fs::read(dir.join(RECORD)).ok().and_then(|d| serde_json::from_slice::<Container>(&d).ok()) {
            Some(c) if c.version <= CONTAINER_RECORD_VERSION && dir.file_name().is_some_and(|n| n == c.id.as_str()) => {
                ok.push(c)
            }
            _ => broken.push(dir),
        }
    }
    Ok((ok, broken))
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
        // A file where a directory belongs is an error, not replaced.
        std::fs::remove_dir(root.join("seccomp")).unwrap();
        std::fs::write(root.join("seccomp"), b"x").unwrap();
        let e = secure_dirs(&root, ROOT_DIRS).unwrap_err();
        assert!(e.to_string().contains("seccomp"), "{e}");
    }
}
