//! `berth cp`: copies between a container and the local filesystem with docker's semantics
//! (docker/cli `cli/command/container/cp.go` over moby's `pkg/archive/copy.go`).
//!
//! The API moves tar archives: `GET /containers/{id}/archive?path=` returns the path as a tar
//! whose top entry is named after it (its stat in the `X-Docker-Container-Path-Stat` header),
//! and `PUT` extracts a tar into an existing directory. What lands where is decided on the
//! client from both sides' stats, as [`prepare`] does it:
//!
//! - destination is an existing directory: the source goes inside it, under its own name;
//! - otherwise the archive is extracted into the destination's parent with the top entry
//!   renamed to the destination's base name (a directory onto an existing file is an error,
//!   and so is a file onto `dir/` that does not exist);
//! - `SRC/.` names a directory's contents rather than the directory.
//!
//! Packing and unpacking on the local side are in `archive`; extraction never leaves the
//! destination and does not change owners (docker's `NoLchown`).

mod archive;

use std::collections::HashMap;
use std::fs;
use std::io::{self, BufWriter, Read, Write};
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context, anyhow, bail};
use api_types::container::PathStat;
use bytes::Bytes;
use client::{Client, ClientError};
use hyper::Method;
use tokio::io::AsyncWriteExt;

use self::archive::{append_tree, extract};
use super::{CpArgs, container_path};
use crate::format::human_size_prec;
use crate::format::output::{self, os_error};
use crate::format::query::Query;
use crate::term;

/// Go's `os.ModeDir`, in [`PathStat::mode`].
const MODE_DIR: u32 = 1 << 31;
/// Go's `os.ModeSymlink`.
const MODE_SYMLINK: u32 = 1 << 27;
/// Go's `os.ModeDevice`.
const MODE_DEVICE: u32 = 1 << 26;
/// Go's `os.ModeIrregular`.
const MODE_IRREGULAR: u32 = 1 << 19;

/// Go's `path/filepath` functions on `/`-separated strings, which the copy rules are written in.
mod gopath {
    /// `filepath.Clean`.
    pub fn clean(p: &str) -> String {
        let rooted = p.starts_with('/');
        let mut out: Vec<&str> = Vec::new();
        for c in p.split('/') {
            match c {
                "" | "." => {}
                ".." => {
                    if out.last().is_some_and(|l| *l != "..") {
                        out.pop();
                    } else if !rooted {
                        out.push("..");
                    }
                }
                c => out.push(c),
            }
        }
        let joined = out.join("/");
        match (rooted, joined.is_empty()) {
            (true, _) => format!("/{joined}"),
            (false, true) => ".".into(),
            (false, false) => joined,
        }
    }

    /// `filepath.Dir`.
    pub fn dir(p: &str) -> String {
        match p.rfind('/') {
            Some(i) => clean(&p[..=i]),
            None => ".".into(),
        }
    }

    /// `filepath.Base`.
    pub fn base(p: &str) -> String {
        if p.is_empty() {
            return ".".into();
        }
        let t = p.trim_end_matches('/');
        if t.is_empty() {
            return "/".into();
        }
        t.rsplit('/').next().unwrap_or(t).to_owned()
    }

    /// `filepath.Join` of two elements.
    pub fn join(a: &str, b: &str) -> String {
        match (a.is_empty(), b.is_empty()) {
            (true, true) => String::new(),
            (true, false) => clean(b),
            (false, true) => clean(a),
            (false, false) => clean(&format!("{a}/{b}")),
        }
    }

    /// `filepath.Split`: the directory with its trailing slash, and the file.
    pub fn split(p: &str) -> (&str, &str) {
        match p.rfind('/') {
            Some(i) => (&p[..=i], &p[i + 1..]),
            None => ("", p),
        }
    }

    /// The last element is `.` (`dir/.`).
    pub fn specifies_current_dir(p: &str) -> bool {
        base(p) == "."
    }

    /// moby's `assertsDirectory`: ends in `/` or `/.`.
    pub fn asserts_directory(p: &str) -> bool {
        p.ends_with('/') || specifies_current_dir(p)
    }

    /// moby's `PreserveTrailingDotOrSeparator`.
    pub fn preserve_trailing(cleaned: &str, original: &str) -> String {
        let mut out = cleaned.to_owned();
        if !specifies_current_dir(&out) && specifies_current_dir(original) {
            if !out.ends_with('/') {
                out.push('/');
            }
            out.push('.');
        }
        if !out.ends_with('/') && original.ends_with('/') {
            out.push('/');
        }
        out
    }

    /// moby's `SplitPathDirEntry`: parent and base, keeping a trailing `.`.
    pub fn split_dir_entry(p: &str) -> (String, String) {
        let mut cleaned = clean(p);
        if specifies_current_dir(p) {
            cleaned.push_str("/.");
        }
        (dir(&cleaned), base(&cleaned))
    }

    /// moby's `GetRebaseName`: the resolved path with the original's trailing `/` or `/.`,
    /// and the original base name when resolving changed it.
    pub fn rebase_name(path: &str, resolved: &str) -> (String, String) {
        let mut resolved = resolved.to_owned();
        if specifies_current_dir(path) && !specifies_current_dir(&resolved) {
            resolved.push_str("/.");
        }
        if path.ends_with('/') && !resolved.ends_with('/') {
            resolved.push('/');
        }
        let name = if base(path) == base(&resolved) { String::new() } else { base(path) };
        (resolved, name)
    }
}

use gopath::{join, split_dir_entry};

/// What is known about one side of a copy (moby's `CopyInfo`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct CopyInfo {
    path: String,
    exists: bool,
    is_dir: bool,
    rebase_name: String,
}

/// docker's `splitCpArg`: `CONTAINER:PATH`, unless the argument is an absolute path or a
/// relative one starting with `.` (so `./a:b` is a local file).
fn split_cp_arg(arg: &str) -> (Option<&str>, &str) {
    if arg.starts_with('/') {
        return (None, arg);
    }
    match arg.split_once(':') {
        Some((ctr, _)) if ctr.starts_with('.') => (None, arg),
        Some(("", path)) => (None, path),
        Some((ctr, path)) => (Some(ctr), path),
        None => (None, arg),
    }
}

/// docker's `resolveLocalPath`: absolute, cleaned, keeping a trailing `/` or `/.`.
fn resolve_local_path(p: &str) -> anyhow::Result<String> {
    let abs = if p.starts_with('/') {
        gopath::clean(p)
    } else {
        let cwd = std::env::current_dir().context("getting the current directory")?;
        join(&cwd.to_string_lossy(), p)
    };
    Ok(gopath::preserve_trailing(&abs, p))
}

/// moby's `PrepareArchiveCopy`: the directory to extract into and, when the top entry of the
/// archive must be renamed, `(old name, new name)`.
fn prepare(src: &CopyInfo, dst: &CopyInfo) -> anyhow::Result<(String, Option<(String, String)>)> {
    let (dst_dir, dst_base) = split_dir_entry(&dst.path);
    let (_, src_base) = split_dir_entry(&src.path);
    // berth (like dockerd for `/.`) names the entries of a container's `/` `.`.
    let src_base = if src_base == "/" { ".".to_owned() } else { src_base };
    let src_base = if src.rebase_name.is_empty() { src_base } else { src.rebase_name.clone() };
    if dst.exists && dst.is_dir {
        return Ok((dst.path.clone(), None));
    }
    if dst.exists && src.is_dir {
        bail!("cannot copy directory");
    }
    if !dst.exists && !src.is_dir && gopath::asserts_directory(&dst.path) {
        bail!("no such directory");
    }
    Ok((dst_dir, Some((src_base, dst_base))))
}

// ---- the container side ----

fn archive_path(ctr: &str, path: &str) -> String {
    let mut q = Query::new();
    q.set("path", path);
    q.to_path(&container_path(ctr, "/archive"))
}

/// Decodes standard base64, with or without padding.
fn base64_decode(s: &str) -> Option<Vec<u8>> {
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    const STD_ANY_PAD: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    base64::Engine::decode(&STD_ANY_PAD, s).ok()
}

fn stat_from_headers(h: &hyper::HeaderMap) -> anyhow::Result<PathStat> {
    let raw = h.get("x-docker-container-path-stat").and_then(|v| v.to_str().ok()).unwrap_or("");
    base64_decode(raw)
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| anyhow!("unable to decode container path stat header"))
}

/// `HEAD /containers/{id}/archive`: the stat of a path in the container.
async fn stat(c: &Client, ctr: &str, path: &str) -> anyhow::Result<PathStat> {
    let resp = c.send(Method::HEAD, &archive_path(ctr, path), client::empty(), None).await?;
    stat_from_headers(resp.headers())
}

// ---- the local side ----

/// docker's `ValidateOutputPath` for a local destination.
fn validate_output_path(path: &str) -> anyhow::Result<()> {
    let dir = gopath::dir(&gopath::clean(path));
    if !dir.is_empty() && dir != "." && matches!(fs::metadata(&dir), Err(e) if e.kind() == io::ErrorKind::NotFound) {
        bail!("invalid output path: directory {dir:?} does not exist");
    }
    match fs::metadata(path) {
        Ok(m) if m.file_type().is_block_device() || m.file_type().is_char_device() => {
            bail!("invalid output path: {path:?} must be a directory or a regular file: got a device")
        }
        Ok(_) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(os_error("stat", Path::new(path), &e)),
    }
}

/// moby's `CopyInfoDestinationPath`: follows symlinks at the destination (at most 10); a
/// destination that does not exist needs an existing parent directory.
fn dest_info(path: &str) -> anyhow::Result<CopyInfo> {
    let original = path.to_owned();
    let mut path = path.to_owned();
    let mut st = fs::symlink_metadata(&path);
    let mut n = 0;
    while let Ok(m) = &st
        && m.file_type().is_symlink()
    {
        if n > 10 {
            bail!("too many symlinks in {original}");
        }
        let target = fs::read_link(&path).map_err(|e| os_error("readlink", Path::new(&path), &e))?;
        let target = target.to_string_lossy();
        path = if target.starts_with('/') { target.into_owned() } else { join(&split_dir_entry(&path).0, &target) };
        st = fs::symlink_metadata(&path);
        n += 1;
    }
    match st {
        Ok(m) => Ok(CopyInfo { path, exists: true, is_dir: m.is_dir(), rebase_name: String::new() }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let (parent, _) = split_dir_entry(&path);
            let pm = fs::metadata(&parent).map_err(|e| os_error("stat", Path::new(&parent), &e))?;
            if !pm.is_dir() {
                bail!("not a directory");
            }
            Ok(CopyInfo { path, ..CopyInfo::default() })
        }
        Err(e) => Err(os_error("lstat", Path::new(&path), &e)),
    }
}

/// moby's `CopyInfoSourcePath`: resolves symlinks in the parent (and, with `-L`, the path
/// itself, remembering the name it was given).
fn source_info(path: &str, follow: bool) -> anyhow::Result<CopyInfo> {
    let canon = |p: &str| -> anyhow::Result<String> {
        let r = fs::canonicalize(p).map_err(|e| os_error("lstat", Path::new(p), &e))?;
        Ok(r.to_string_lossy().into_owned())
    };
    let (resolved, rebase_name) = if follow {
        gopath::rebase_name(path, &canon(path)?)
    } else {
        let (dir, base) = gopath::split(path);
        let dir = canon(if dir.is_empty() { "." } else { dir })?;
        let resolved = if dir.ends_with('/') { format!("{dir}{base}") } else { format!("{dir}/{base}") };
        let name = if path.ends_with('/') && gopath::base(path) != gopath::base(&resolved) {
            gopath::base(path)
        } else {
            String::new()
        };
        (resolved, name)
    };
    let m = fs::symlink_metadata(&resolved).map_err(|e| os_error("lstat", Path::new(&resolved), &e))?;
    Ok(CopyInfo { path: resolved, exists: true, is_dir: m.is_dir(), rebase_name })
}

/// Reads a tar coming from the network in a blocking thread.
struct ChunkReader {
    rx: tokio::sync::mpsc::Receiver<Bytes>,
    buf: Bytes,
}

impl Read for ChunkReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.buf.is_empty() {
            match self.rx.blocking_recv() {
                Some(b) => self.buf = b,
                None => return Ok(0),
            }
        }
        let n = out.len().min(self.buf.len());
        out[..n].copy_from_slice(&self.buf[..n]);
        self.buf = self.buf.slice(n..);
        Ok(n)
    }
}

/// Writes into the request body from a blocking thread, counting bytes.
struct BodyWriter {
    inner: tokio::io::DuplexStream,
    rt: tokio::runtime::Handle,
    count: Arc<AtomicU64>,
}

impl Write for BodyWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.rt.block_on(self.inner.write(buf))?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.rt.block_on(self.inner.flush())
    }
}

// ---- the two directions ----

#[derive(Debug, Clone, Copy)]
struct Options {
    follow_link: bool,
    copy_uid_gid: bool,
    quiet: bool,
}

#[allow(clippy::cast_precision_loss)]
fn size_text(n: u64) -> String {
    human_size_prec(n as f64, 3)
}

async fn copy_from_container(c: &Client, ctr: &str, src: &str, dst: &str, o: Options) -> anyhow::Result<i32> {
    let dst_path = if dst == "-" { dst.to_owned() } else { resolve_local_path(dst)? };
    if dst_path != "-" {
        validate_output_path(&dst_path)?;
    }
    let mut src_path = src.to_owned();
    let mut rebase_name = String::new();
    if o.follow_link
        && let Ok(st) = stat(c, ctr, &src_path).await
        && st.mode & MODE_SYMLINK != 0
    {
        let target = if st.link_target.starts_with('/') {
            st.link_target.clone()
        } else {
            join(&split_dir_entry(&src_path).0, &st.link_target)
        };
        (src_path, rebase_name) = gopath::rebase_name(&src_path, &target);
    }
    let resp = c.send(Method::GET, &archive_path(ctr, &src_path), client::empty(), None).await?;
    let st = stat_from_headers(resp.headers())?;
    let mut body = resp.into_body();
    if dst_path == "-" {
        output::copy_body(&mut body, &mut io::stdout().lock()).await?;
        return Ok(0);
    }
    let src_info = CopyInfo { path: src_path.clone(), exists: true, is_dir: st.mode & MODE_DIR != 0, rebase_name };
    let dst_info = dest_info(&dst_path)?;
    let mut renames = Vec::new();
    if !src_info.rebase_name.is_empty() {
        let (_, base) = split_dir_entry(&src_info.path);
        renames.push((base, src_info.rebase_name.clone()));
    }
    let (dst_dir, rename) = prepare(&src_info, &dst_info)?;
    renames.extend(rename);

    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(16);
    let dir = PathBuf::from(dst_dir);
    let task = tokio::task::spawn_blocking(move || extract(ChunkReader { rx, buf: Bytes::new() }, &dir, &renames));
    let mut total = 0u64;
    let mut net: Option<ClientError> = None;
    loop {
        match client::next_chunk(&mut body).await {
            Ok(Some(chunk)) => {
                total += chunk.len() as u64;
                if tx.send(chunk).await.is_err() {
                    break;
                }
            }
            Ok(None) => break,
            Err(e) => {
                net = Some(e);
                break;
            }
        }
    }
    drop(tx);
    let extracted = task.await.map_err(|e| anyhow!("extracting: {e}"))?;
    if let Some(e) = net {
        return Err(e.into());
    }
    extracted?;
    if !o.quiet {
        eprintln!("Successfully copied {} to {dst_path}", size_text(total));
    }
    Ok(0)
}

async fn copy_to_container(c: &Client, ctr: &str, src: &str, dst: &str, o: Options) -> anyhow::Result<i32> {
    let src_path = if src == "-" { src.to_owned() } else { resolve_local_path(src)? };
    let mut dst_info = CopyInfo { path: dst.to_owned(), ..CopyInfo::default() };
    let mut st = stat(c, ctr, dst).await;
    if let Ok(s) = &st
        && s.mode & MODE_SYMLINK != 0
    {
        let target = if s.link_target.starts_with('/') {
            s.link_target.clone()
        } else {
            join(&split_dir_entry(dst).0, &s.link_target)
        };
        dst_info.path = target.clone();
        st = stat(c, ctr, &target).await;
    }
    // A destination that cannot be stat'ed may still work if its parent exists: the
    // extraction will tell.
    if let Ok(s) = &st {
        if s.mode & MODE_DEVICE != 0 {
            bail!("destination \"{ctr}:{dst}\" must be a directory or a regular file: got a device");
        }
        if s.mode & MODE_IRREGULAR != 0 {
            bail!("destination \"{ctr}:{dst}\" must be a directory or a regular file: got an irregular file");
        }
        dst_info.exists = true;
        dst_info.is_dir = s.mode & MODE_DIR != 0;
    }

    let count = Arc::new(AtomicU64::new(0));
    let (resolved, body, task) = if src_path == "-" {
        if !dst_info.is_dir {
            bail!("destination \"{ctr}:{dst}\" must be a directory");
        }
        let stdin = output::stdin_file().context("reading stdin")?;
        (dst_info.path.clone(), client::reader_body(stdin), None)
    } else {
        let src_info = source_info(&src_path, o.follow_link)?;
        let (src_dir, src_base) = split_dir_entry(&src_info.path);
        let (dst_dir, rename) = prepare(&src_info, &dst_info)?;
        let top = match rename {
            Some((_, new)) => new,
            None if !src_info.rebase_name.is_empty() => src_info.rebase_name.clone(),
            None => src_base.clone(),
        };
        let fs_path = if src_base == "." { PathBuf::from(&src_dir) } else { Path::new(&src_dir).join(&src_base) };
        let (rd, wr) = tokio::io::duplex(256 * 1024);
        let w = BodyWriter { inner: wr, rt: tokio::runtime::Handle::current(), count: count.clone() };
        let task = tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
            let mut b = tar::Builder::new(BufWriter::with_capacity(256 * 1024, w));
            append_tree(&mut b, &fs_path, &top, &mut HashMap::new())?;
            b.into_inner().and_then(|mut w| w.flush()).map_err(|e| anyhow!("writing the archive: {e}"))?;
            Ok(())
        });
        (dst_dir, client::reader_body(rd), Some(task))
    };
    let mut q = Query::new();
    q.set("path", resolved).set("noOverwriteDirNonDir", "true");
    if o.copy_uid_gid {
        q.set("copyUIDGID", "true");
    }
    let path = q.to_path(&container_path(ctr, "/archive"));
    let sent = c.send(Method::PUT, &path, body, Some("application/x-tar")).await;
    if let Some(task) = task {
        // A local failure explains a truncated upload better than the daemon can.
        task.await.map_err(|e| anyhow!("archiving: {e}"))??;
    }
    sent?;
    if !o.quiet {
        eprintln!("Successfully copied {} to {ctr}:{}", size_text(count.load(Ordering::Relaxed)), dst_info.path);
    }
    Ok(0)
}

/// `berth cp`.
pub async fn cp(c: &Client, a: CpArgs) -> anyhow::Result<i32> {
    if a.src.is_empty() {
        bail!("source can not be empty");
    }
    if a.dest.is_empty() {
        bail!("destination can not be empty");
    }
    // Progress and the summary line are for people: off when stdout is not a terminal.
    let o = Options { follow_link: a.follow_link, copy_uid_gid: a.archive, quiet: a.quiet || !term::stdout_is_tty() };
    match (split_cp_arg(&a.src), split_cp_arg(&a.dest)) {
        ((Some(ctr), src), (None, dst)) => copy_from_container(c, ctr, src, dst, o).await,
        ((None, src), (Some(ctr), dst)) => copy_to_container(c, ctr, src, dst, o).await,
        ((Some(_), _), (Some(_), _)) => bail!("copying between containers is not supported"),
        ((None, _), (None, _)) => bail!("must specify at least one container source"),
    }
}

#[cfg(test)]
mod tests {
    use super::gopath::*;
    use super::*;

    #[test]
    fn go_paths() {
        assert_eq!(clean("/a//b/./c/../d/"), "/a/b/d");
        assert_eq!(clean("../a/.."), "..");
        assert_eq!(clean("/../a"), "/a");
        assert_eq!(clean(""), ".");
        assert_eq!(dir("/a/b/."), "/a/b");
        assert_eq!(dir("/a/b"), "/a");
        assert_eq!(dir("b"), ".");
        assert_eq!(base("/a/b/"), "b");
        assert_eq!(base("/"), "/");
        assert_eq!(base("/a/."), ".");
        assert_eq!(split_dir_entry("/a/b/."), ("/a/b".into(), ".".into()));
        assert_eq!(split_dir_entry("/a/b/"), ("/a".into(), "b".into()));
        assert_eq!(split_dir_entry("/"), ("/".into(), "/".into()));
        assert_eq!(preserve_trailing("/a/b", "b/."), "/a/b/.");
        assert_eq!(preserve_trailing("/a/b", "b/"), "/a/b/");
        assert_eq!(preserve_trailing("/a/b", "b"), "/a/b");
        assert_eq!(rebase_name("/x/link/", "/x/target"), ("/x/target/".into(), "link".into()));
        assert_eq!(rebase_name("/x/link/.", "/x/target"), ("/x/target/.".into(), String::new()));
        assert_eq!(rebase_name("/x/t", "/x/t"), ("/x/t".into(), String::new()));
        assert!(asserts_directory("a/") && asserts_directory("a/.") && !asserts_directory("a"));
    }

    #[test]
    fn cp_args() {
        assert_eq!(split_cp_arg("web:/etc/hosts"), (Some("web"), "/etc/hosts"));
        assert_eq!(split_cp_arg("/tmp/a:b"), (None, "/tmp/a:b"));
        assert_eq!(split_cp_arg("./a:b"), (None, "./a:b"));
        assert_eq!(split_cp_arg("file"), (None, "file"));
        assert_eq!(split_cp_arg("-"), (None, "-"));
        assert_eq!(split_cp_arg("web:"), (Some("web"), ""));
    }

    fn info(path: &str, exists: bool, is_dir: bool) -> CopyInfo {
        CopyInfo { path: path.into(), exists, is_dir, rebase_name: String::new() }
    }

    #[test]
    fn copy_rules() {
        let file = info("/etc/hosts", true, false);
        let dir = info("/etc", true, true);
        // Into an existing directory: unchanged, extracted inside it.
        assert_eq!(prepare(&file, &info("/tmp/out", true, true)).unwrap(), ("/tmp/out".into(), None));
        // Onto an existing file: renamed to it.
        assert_eq!(
            prepare(&file, &info("/tmp/out", true, false)).unwrap(),
            ("/tmp".into(), Some(("hosts".into(), "out".into())))
        );
        // A directory onto a file: refused.
        assert_eq!(prepare(&dir, &info("/tmp/out", true, false)).unwrap_err().to_string(), "cannot copy directory");
        // A directory to a new name.
        assert_eq!(
            prepare(&dir, &info("/tmp/new", false, false)).unwrap(),
            ("/tmp".into(), Some(("etc".into(), "new".into())))
        );
        // A file to `new/`: the directory must exist.
        assert_eq!(prepare(&file, &info("/tmp/new/", false, false)).unwrap_err().to_string(), "no such directory");
        // Contents of a directory to a new name.
        assert_eq!(
            prepare(&info("/etc/.", true, true), &info("/tmp/new", false, false)).unwrap(),
            ("/tmp".into(), Some((".".into(), "new".into())))
        );
        // The container's root.
        assert_eq!(
            prepare(&info("/", true, true), &info("/tmp/new", false, false)).unwrap().1,
            Some((".".into(), "new".into()))
        );
        // Followed symlinks keep the name they were given.
        let mut linked = info("/real/target", true, false);
        linked.rebase_name = "link".into();
        assert_eq!(prepare(&linked, &info("/tmp/x", false, false)).unwrap().1, Some(("link".into(), "x".into())));
    }

    #[test]
    fn base64() {
        assert_eq!(base64_decode("aGk=").unwrap(), b"hi");
        assert_eq!(base64_decode("YWJj").unwrap(), b"abc");
        assert_eq!(base64_decode("YQ").unwrap(), b"a");
        assert!(base64_decode("a*b").is_none());
        let stat = r#"{"name":"etc","size":4096,"mode":2147484141,"mtime":"2025-02-17T17:43:39Z","linkTarget":""}"#;
        let mut h = hyper::HeaderMap::new();
        h.insert(
            "x-docker-container-path-stat",
            hyper::header::HeaderValue::from_str(&encode(stat.as_bytes())).unwrap(),
        );
        let st = stat_from_headers(&h).unwrap();
        assert_eq!(st.name, "etc");
        assert_ne!(st.mode & MODE_DIR, 0);
    }

    fn encode(b: &[u8]) -> String {
        base64::Engine::encode(&base64::engine::general_purpose::STANDARD, b)
    }

    #[test]
    fn local_destinations() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path().to_string_lossy().into_owned();
        let i = dest_info(&root).unwrap();
        assert!(i.exists && i.is_dir);
        let i = dest_info(&format!("{root}/new")).unwrap();
        assert!(!i.exists);
        assert!(dest_info(&format!("{root}/no/new")).is_err());
        std::os::unix::fs::symlink(d.path(), d.path().join("l")).unwrap();
        let i = dest_info(&format!("{root}/l")).unwrap();
        assert_eq!(i.path, root);
        assert!(i.is_dir);
        let err = validate_output_path(&format!("{root}/no/such")).unwrap_err();
        assert_eq!(err.to_string(), format!("invalid output path: directory \"{root}/no\" does not exist"));
        let i = source_info(&format!("{root}/l/"), false).unwrap();
        assert!(i.is_dir);
    }
}
