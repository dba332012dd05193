//! Reading and writing cgroup control files, with errors that name the path.
//!
//! Control files must be written with a single `write(2)` of the whole value and without
//! `O_CREAT`/`O_TRUNC` (the kernel parses each write separately); `std::fs::write` would
//! create a stray regular file if the cgroup directory were missing on a tmpfs, so this
//! opens with plain `O_WRONLY`.

use std::fs::OpenOptions;
use std::io::{self, Write as _};
use std::path::Path;

use crate::error::CgroupError;

/// Writes `value` to an existing control file.
pub(crate) fn write_raw(path: &Path, value: &str) -> io::Result<()> {
    let mut f = OpenOptions::new().write(true).open(path)?;
    // cgroup files take one value per write(2); a short write would be a kernel bug, and
    // write_all would then split the value, so check explicitly.
    let n = f.write(value.as_bytes())?;
    if n != value.len() {
        return Err(io::Error::new(io::ErrorKind::WriteZero, "short write to cgroup file"));
    }
    Ok(())
}

/// Writes `value` to a control file, mapping errors to [`CgroupError::Write`].
pub(crate) fn write(path: &Path, value: &str) -> Result<(), CgroupError> {
    write_raw(path, value).map_err(|source| CgroupError::Write {
        path: path.to_owned(),
        value: value.to_owned(),
        source,
    })
}

/// Reads a control file.
pub(crate) fn read(path: &Path) -> Result<String, CgroupError> {
    std::fs::read_to_string(path).map_err(|source| CgroupError::Read { path: path.to_owned(), source })
}

/// Reads a control file that may legitimately be absent (controller or feature missing).
pub(crate) fn read_opt(path: &Path) -> Result<Option<String>, CgroupError> {
    match std::fs::read_to_string(path) {
        Ok(s) => Ok(Some(s)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(CgroupError::Read { path: path.to_owned(), source }),
    }
}

/// Parses a `cgroup.procs` listing (one pid per line; v1 may repeat pids).
pub(crate) fn parse_pids(path: &Path, text: &str) -> Result<Vec<i32>, CgroupError> {
    let mut pids = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let pid = line.parse().map_err(|_| CgroupError::Parse { path: path.to_owned(), content: line.to_owned() })?;
        pids.push(pid);
    }
    pids.sort_unstable();
    pids.dedup();
    Ok(pids)
}

/// Reads a `cgroup.procs` file.
pub(crate) fn read_pids(path: &Path) -> Result<Vec<i32>, CgroupError> {
    let text = read(path)?;
    parse_pids(path, &text)
}

/// Parses a single unsigned number, or `max` (returned as `None`).
pub(crate) fn parse_u64_or_max(path: &Path, text: &str) -> Result<Option<u64>, CgroupError> {
    let t = text.trim();
    if t == "max" {
        return Ok(None);
    }
    t.parse().map(Some).map_err(|_| CgroupError::Parse { path: path.to_owned(), content: t.to_owned() })
}

/// Looks a key up in a flat-keyed file (`key value` per line: `memory.stat`, `cpu.stat`,
/// `cgroup.events`).
pub(crate) fn flat_key(text: &str, key: &str) -> Option<u64> {
    text.lines().find_map(|line| {
        let (k, v) = line.split_once(' ')?;
        if k == key { v.trim().parse().ok() } else { None }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pids_are_sorted_and_deduplicated() {
        let p = Path::new("/x/cgroup.procs");
        assert_eq!(parse_pids(p, "30\n10\n30\n\n").expect("parses"), vec![10, 30]);
        assert!(parse_pids(p, "").expect("parses").is_empty());
        let err = parse_pids(p, "12\nabc\n").unwrap_err();
        assert_eq!(err.to_string(), "parsing /x/cgroup.procs: unexpected content \"abc\"");
    }

    #[test]
    fn max_or_number() {
        let p = Path::new("/x/pids.max");
        assert_eq!(parse_u64_or_max(p, "max\n").expect("parses"), None);
        assert_eq!(parse_u64_or_max(p, "42\n").expect("parses"), Some(42));
        assert!(parse_u64_or_max(p, "-1").is_err());
    }

    #[test]
    fn flat_keyed_lookup() {
        let text = "populated 1\nfrozen 0\n";
        assert_eq!(flat_key(text, "frozen"), Some(0));
        assert_eq!(flat_key(text, "populated"), Some(1));
        assert_eq!(flat_key(text, "missing"), None);
    }

    #[test]
    fn write_does_not_create_files() {
        let dir = std::env::temp_dir().join(format!("berth-cgfile-{}", std::process::id()));
        let missing = dir.join("nope");
        let err = write(&missing, "1").unwrap_err();
        assert!(err.to_string().contains("nope"), "{err}");
        assert!(!missing.exists());
    }
}
