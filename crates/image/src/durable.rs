//! Crash-safe file primitives: unique temp names, atomic replace (temp + fsync + rename +
//! directory fsync) and removal of the temp leftovers a killed process may leave.
//!
//! Everything the store writes goes through a `.tmp-*` sibling first, so a reader (or a restart)
//! sees either the old file or the complete new one; [`remove_leftovers`] runs at open.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// The prefix of every temporary file or directory in the store.
pub(crate) const TMP_PREFIX: &str = ".tmp-";

/// A name no other thread or process of this store will pick: `.tmp-<hint>-<pid>-<n>-<nanos>`.
pub(crate) fn temp_name(hint: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    format!("{TMP_PREFIX}{hint}-{}-{n}-{nanos}", std::process::id())
}

/// Replaces `path` with `bytes` atomically and durably.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path.parent().ok_or_else(|| io::Error::from(io::ErrorKind::InvalidInput))?;
    let tmp = dir.join(temp_name("write"));
    let result = (|| {
        let mut f = File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path)?;
        fsync_dir(dir)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Makes a rename or unlink in `dir` durable.
pub(crate) fn fsync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Removes `.tmp-*` entries (files or whole trees) directly inside `dir`; returns how many.
pub(crate) fn remove_leftovers(dir: &Path) -> io::Result<usize> {
    let mut n = 0;
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        if !entry.file_name().to_string_lossy().starts_with(TMP_PREFIX) {
            continue;
        }
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            fs::remove_dir_all(&path)?;
        } else {
            fs::remove_file(&path)?;
        }
        n += 1;
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_names_are_unique_and_prefixed() {
        let a = temp_name("x");
        let b = temp_name("x");
        assert_ne!(a, b);
        assert!(a.starts_with(".tmp-x-"));
    }

    #[test]
    fn atomic_write_and_leftovers() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f.json");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two");
        fs::write(dir.path().join(temp_name("blob")), b"partial").unwrap();
        fs::create_dir_all(dir.path().join(temp_name("layer")).join("diff/a")).unwrap();
        assert_eq!(remove_leftovers(dir.path()).unwrap(), 2);
        let names: Vec<_> = fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, vec![std::ffi::OsString::from("f.json")]);
    }
}
