//! Container records on disk: `<root>/containers/<id>/container.json`, replaced atomically
//! (write a temp file, rename over). A daemon killed mid-write leaves the old record or the new
//! one, never a torn one. Records are not fsynced: they must survive the daemon, not the
//! host's power; images and layers, which are expensive to redo, are fsynced by the image store.

use std::io;
use std::path::{Path, PathBuf};

use crate::model::{CONTAINER_RECORD_VERSION, Container};

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
