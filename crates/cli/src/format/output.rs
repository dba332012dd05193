//! Where output goes: `-o FILE` written through a temporary file and a rename (docker's
//! `atomicwriter`), response bodies streamed to a writer, the `[y/N]` prompt, and OS errors
//! worded as Go prints them (`lstat /x: no such file or directory`). Terminal checks are in
//! `crate::term`.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::fd::AsFd;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow};
use hyper::body::Incoming;

/// Stdin as an async file, for streaming request bodies (`load`, `import -`, `cp -`).
pub fn stdin_file() -> io::Result<tokio::fs::File> {
    let fd = io::stdin().as_fd().try_clone_to_owned()?;
    Ok(tokio::fs::File::from_std(File::from(fd)))
}

/// The text of an OS error as Go spells it: `no such file or directory`.
pub fn errno_text(e: &io::Error) -> String {
    match e.raw_os_error() {
        Some(code) => {
            let desc = nix::errno::Errno::from_raw(code).desc();
            let mut c = desc.chars();
            match c.next() {
                Some(first) => first.to_lowercase().chain(c).collect(),
                None => desc.to_owned(),
            }
        }
        None => e.to_string(),
    }
}

/// An error like Go's `*os.PathError`: `op path: reason`.
pub fn os_error(op: &str, path: &Path, e: &io::Error) -> anyhow::Error {
    anyhow!("{op} {}: {}", path.display(), errno_text(e))
}

/// An output file that only appears, complete, when [`AtomicFile::commit`] succeeds; until
/// then the data goes to a temporary file next to it, removed on drop.
#[derive(Debug)]
pub struct AtomicFile {
    dest: PathBuf,
    tmp: PathBuf,
    file: Option<File>,
}

/// The checks of docker's `atomicwriter.New`: the parent must be a directory, the target
/// absent or a regular file.
fn validate_destination(dest: &Path) -> anyhow::Result<()> {
    if dest.as_os_str().is_empty() {
        return Err(anyhow!("file name is empty"));
    }
    let parent = dest.parent().filter(|p| !p.as_os_str().is_empty());
    if let Some(dir) = parent {
        match std::fs::metadata(dir) {
            Ok(m) if !m.is_dir() => {
                return Err(anyhow!("validate {}: not a directory", dir.display()));
            }
            Ok(_) => {}
            Err(e) => return Err(os_error("validate", dir, &e)),
        }
    }
    match std::fs::metadata(dest) {
        Ok(m) if m.is_dir() => Err(anyhow!("validate {}: is a directory", dest.display())),
        Ok(m) if !m.is_file() => Err(anyhow!("validate {}: not a regular file", dest.display())),
        Ok(_) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(os_error("validate", dest, &e)),
    }
}

impl AtomicFile {
    /// Creates the temporary file for `dest`.
    pub fn create(dest: &Path) -> anyhow::Result<Self> {
        validate_destination(dest)?;
        let dir = dest.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let base = dest.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let nanos =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
        for attempt in 0..100u32 {
            let tmp =
                dir.join(format!(".tmp-{base}{}", nanos.wrapping_add(attempt.wrapping_mul(7919)) ^ std::process::id()));
            match OpenOptions::new().write(true).create_new(true).mode(0o600).open(&tmp) {
                Ok(file) => {
                    return Ok(AtomicFile { dest: dest.to_owned(), tmp, file: Some(file) });
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(os_error("open", &tmp, &e)),
            }
        }
        Err(anyhow!("creating a temporary file in {}", dir.display()))
    }

    /// Flushes the data to disk and moves the file into place (mode 0600, as docker does).
    pub fn commit(mut self) -> anyhow::Result<()> {
        if let Some(f) = self.file.take() {
            f.sync_all().with_context(|| format!("writing {}", self.tmp.display()))?;
            drop(f);
        }
        std::fs::set_permissions(&self.tmp, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| os_error("chmod", &self.tmp, &e))?;
        std::fs::rename(&self.tmp, &self.dest).map_err(|e| os_error("rename", &self.dest, &e))?;
        self.tmp = PathBuf::new();
        Ok(())
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file.as_mut().ok_or_else(|| io::Error::other("file already closed"))?.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.as_mut().map_or(Ok(()), Write::flush)
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        self.file.take();
        if !self.tmp.as_os_str().is_empty() {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// Streams a response body into `w`; returns the number of bytes.
pub async fn copy_body(body: &mut Incoming, w: &mut impl Write) -> anyhow::Result<u64> {
    let mut n = 0u64;
    while let Some(chunk) = client::next_chunk(body).await? {
        w.write_all(&chunk)?;
        n += chunk.len() as u64;
    }
    w.flush()?;
    Ok(n)
}

/// Streams a response body to `-o FILE` (moved into place once complete) or to stdout. Ctrl-C
/// while writing a file removes the partial file and exits with 130, as docker does.
pub async fn body_to_output(body: &mut Incoming, file: Option<AtomicFile>) -> anyhow::Result<i32> {
    let Some(mut f) = file else {
        copy_body(body, &mut io::stdout().lock()).await?;
        return Ok(0);
    };
    let copied = tokio::select! {
        r = copy_body(body, &mut f) => Some(r),
        _ = tokio::signal::ctrl_c() => None,
    };
    match copied {
        Some(r) => {
            r?;
            f.commit()?;
            Ok(0)
        }
        None => Ok(130),
    }
}

/// docker's `prompt.Confirm`: prints `message [y/N] ` and reads one line; only `y`/`Y`
/// confirms (end of input does not).
pub fn confirm(message: &str) -> io::Result<bool> {
    let mut out = io::stdout().lock();
    write!(out, "{message} [y/N] ")?;
    out.flush()?;
    drop(out);
    let mut line = String::new();
    io::stdin().read_line(&mut line)?;
    Ok(line.trim().eq_ignore_ascii_case("y"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_file_appears_only_on_commit() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("out.tar");
        let mut f = AtomicFile::create(&dest).unwrap();
        f.write_all(b"data").unwrap();
        assert!(!dest.exists());
        f.commit().unwrap();
        assert_eq!(std::fs::read(&dest).unwrap(), b"data");
        assert_eq!(std::fs::metadata(&dest).unwrap().permissions().mode() & 0o777, 0o600);

        let mut f = AtomicFile::create(&dest).unwrap();
        f.write_all(b"partial").unwrap();
        drop(f);
        assert_eq!(std::fs::read(&dest).unwrap(), b"data");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "temporary file left behind");
    }

    #[test]
    fn atomic_file_validates_like_docker() {
        let dir = tempfile::tempdir().unwrap();
        let err = AtomicFile::create(&dir.path().join("nope/out.tar")).unwrap_err();
        assert_eq!(err.to_string(), format!("validate {}/nope: no such file or directory", dir.path().display()));
        let err = AtomicFile::create(dir.path()).unwrap_err();
        assert_eq!(err.to_string(), format!("validate {}: is a directory", dir.path().display()));
    }

    #[test]
    fn go_error_text() {
        let e = io::Error::from_raw_os_error(2);
        assert_eq!(os_error("lstat", Path::new("/x"), &e).to_string(), "lstat /x: no such file or directory");
    }
}
