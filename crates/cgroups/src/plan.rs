//! "Describe, then do": settings are first turned into a list of control-file writes
//! ([`Step`]), which unit tests inspect, and then executed by [`execute`].
//!
//! A missing control file (`ENOENT`) is how the kernel says "this feature is not built in or
//! not enabled" (no swap accounting, no BFQ, controller not enabled in v2), so the executor
//! maps it to [`CgroupError::Unsupported`] naming the setting, unless the cgroup directory
//! itself is missing.

use std::io;
use std::path::{Path, PathBuf};

use crate::error::CgroupError;
use crate::file;

/// One control-file write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Write {
    /// The user-facing setting this implements, e.g. `memory.swap`.
    pub(crate) setting: &'static str,
    pub(crate) path: PathBuf,
    pub(crate) value: String,
}

impl Write {
    pub(crate) fn new(setting: &'static str, path: PathBuf, value: impl Into<String>) -> Self {
        Self { setting, path, value: value.into() }
    }
}

/// A step of a plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// Must succeed; a missing file is [`CgroupError::Unsupported`].
    Write(Write),
    /// Skipped if the file is missing (e.g. swap follows an unlimited memory limit only if
    /// swap accounting exists, as runc does).
    IfExists(Write),
    /// The first write whose file exists (e.g. `blkio.weight`, else `blkio.bfq.weight`).
    FirstOf(Vec<Write>),
}

impl Step {
    /// The (path, value) pairs of the step, for tests.
    #[cfg(test)]
    pub(crate) fn pairs(&self) -> Vec<(String, String)> {
        let pair = |w: &Write| (w.path.display().to_string(), w.value.clone());
        match self {
            Self::Write(w) | Self::IfExists(w) => vec![pair(w)],
            Self::FirstOf(ws) => ws.iter().map(pair).collect(),
        }
    }
}

/// Executes a plan in order, stopping at the first error.
pub(crate) fn execute(dir: &Path, steps: &[Step]) -> Result<(), CgroupError> {
    for step in steps {
        match step {
            Step::Write(w) => match file::write_raw(&w.path, &w.value) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(missing(dir, w)),
                Err(source) => return Err(write_error(w, source)),
            },
            Step::IfExists(w) => match file::write_raw(&w.path, &w.value) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    if !dir.exists() {
                        return Err(missing(dir, w));
                    }
                }
                Err(source) => return Err(write_error(w, source)),
            },
            Step::FirstOf(ws) => {
                let mut done = false;
                for w in ws {
                    match file::write_raw(&w.path, &w.value) {
                        Ok(()) => {
                            done = true;
                            break;
                        }
                        Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                        Err(source) => return Err(write_error(w, source)),
                    }
                }
                if !done && let Some(first) = ws.first() {
                    return Err(missing(dir, first));
                }
            }
        }
    }
    Ok(())
}

fn write_error(w: &Write, source: io::Error) -> CgroupError {
    // EOPNOTSUPP: the file exists but the feature doesn't apply here, e.g. a BFQ weight for a
    // device whose I/O scheduler is not BFQ.
    if source.raw_os_error() == Some(libc::EOPNOTSUPP) {
        return CgroupError::Unsupported {
            setting: w.setting,
            path: w.path.clone(),
            reason: format!("the kernel refused {:?}: operation not supported", w.value),
        };
    }
    CgroupError::Write { path: w.path.clone(), value: w.value.clone(), source }
}

/// Explains an `ENOENT`: the cgroup is gone, or the kernel lacks the file. Only stats on
/// this error path.
fn missing(dir: &Path, w: &Write) -> CgroupError {
    let target_dir = w.path.parent().unwrap_or(dir);
    if !target_dir.exists() {
        return CgroupError::NotFound { path: target_dir.to_owned() };
    }
    CgroupError::Unsupported {
        setting: w.setting,
        path: w.path.clone(),
        reason: "the kernel does not provide this file (feature not built in, or controller not enabled)".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct TempDir(PathBuf);
    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn tempdir(tag: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!("berth-cgplan-{}-{tag}", std::process::id()));
        std::fs::create_dir_all(&p).expect("create temp dir");
        TempDir(p)
    }

    #[test]
    fn executor_maps_missing_files() {
        let t = tempdir("exec");
        let dir = t.0.as_path();
        std::fs::write(dir.join("present"), "").expect("seed file");

        // FirstOf picks the first existing file.
        let steps =
            [Step::FirstOf(vec![Write::new("x", dir.join("absent"), "1"), Write::new("x", dir.join("present"), "2")])];
        execute(dir, &steps).expect("falls back");
        assert_eq!(std::fs::read_to_string(dir.join("present")).expect("read"), "2");

        // IfExists skips silently.
        execute(dir, &[Step::IfExists(Write::new("x", dir.join("absent"), "1"))]).expect("skips");

        // Write reports Unsupported with the setting and path.
        let err = execute(dir, &[Step::Write(Write::new("memory.swap", dir.join("absent"), "1"))]).unwrap_err();
        match &err {
            CgroupError::Unsupported { setting, path, .. } => {
                assert_eq!(*setting, "memory.swap");
                assert_eq!(path, &dir.join("absent"));
            }
            other => panic!("unexpected error {other}"),
        }

        // A missing directory is NotFound, not Unsupported.
        let gone = dir.join("gone");
        let err = execute(&gone, &[Step::Write(Write::new("x", gone.join("f"), "1"))]).unwrap_err();
        assert!(matches!(err, CgroupError::NotFound { .. }), "{err}");
    }
}
