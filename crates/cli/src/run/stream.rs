//! Streaming a hijacked connection to the local terminal: raw mode, detach keys, resizes,
//! signal forwarding, and the wait registered before a start.

use std::io::Write;

use anyhow::bail;
use api_types::container as w;
use client::{Client, ClientError, Hijacked};
use hyper::Method;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::containers::container_path;
use crate::format::query::Query;
use crate::term;

/// The wait registered before start: resolves to the exit code.
pub(crate) async fn register_wait(
    c: &Client,
    id: &str,
    removed: bool,
) -> Result<tokio::task::JoinHandle<i32>, ClientError> {
    let mut q = Query::new();
    q.set("condition", if removed { "removed" } else { "next-exit" });
    let resp = c.send(Method::POST, &q.to_path(&container_path(id, "/wait")), client::empty(), None).await?;
    Ok(tokio::spawn(async move {
        // A broken body decodes as nothing: 125.
        let data = client::read_all(&mut resp.into_body()).await.unwrap_or_default();
        match serde_json::from_slice::<w::ContainerWaitResponse>(&data) {
            Ok(r) => {
                if let Some(e) = r.error.filter(|e| !e.message.is_empty()) {
                    eprintln!("{}", e.message);
                }
                i32::try_from(r.status_code).unwrap_or(125)
            }
            Err(_) => 125,
        }
    }))
}

/// How a streamed session ended.
#[derive(Debug, PartialEq, Eq)]
pub enum StreamEnd {
    /// The output ended (the process exited or the daemon closed the stream).
    Done,
    /// The user typed the detach keys.
    Detached,
}

/// Parses detach keys like moby/term's `ToBytes`.
pub fn detach_bytes(keys: Option<&str>) -> anyhow::Result<Vec<u8>> {
    let Some(keys) = keys.filter(|k| !k.is_empty()) else { return Ok(vec![16, 17]) };
    let mut out = Vec::new();
    for k in keys.split(',') {
        let k = k.trim();
        if let Some(c) = k.strip_prefix("ctrl-") {
            let b = c.as_bytes();
            let v = match b {
                [x @ b'a'..=b'z'] => x - b'a' + 1,
                [b'@'] => 0,
                [b'['] => 27,
                [b'\\'] => 28,
                [b']'] => 29,
                [b'^'] => 30,
                [b'_'] => 31,
                _ => bail!("invalid detach keys ({keys}): Unknown character: '{k}'"),
            };
            out.push(v);
        } else if k.len() == 1 {
            out.push(k.as_bytes()[0]);
        } else {
            bail!("invalid detach keys ({keys}): Unknown character: '{k}'");
        }
    }
    Ok(out)
}

/// Watches typed input for the detach keys (moby's escape proxy): bytes that could start the
/// sequence are held back and released on a mismatch, and a mismatching byte that is itself the
/// first key starts a new match (as the daemon's `api::streams::EscapeProxy` does, so the CLI
/// and the daemon agree on when a session detaches).
#[derive(Debug)]
struct DetachWatch {
    keys: Vec<u8>,
    held: usize,
}

impl DetachWatch {
    /// A watch for `keys` (empty: never detach).
    fn new(keys: Vec<u8>) -> Self {
        Self { keys, held: 0 }
    }

    /// Feeds input; returns the bytes to forward and whether the sequence was completed (the
    /// bytes after it are dropped).
    fn feed(&mut self, input: &[u8]) -> (Vec<u8>, bool) {
        let mut out = Vec::with_capacity(input.len());
        if self.keys.is_empty() {
            out.extend_from_slice(input);
            return (out, false);
        }
        for &b in input {
            if b != self.keys[self.held] && self.held > 0 {
                out.extend_from_slice(&self.keys[..self.held]);
                self.held = 0;
            }
            if b == self.keys[self.held] {
                self.held += 1;
                if self.held == self.keys.len() {
                    self.held = 0;
                    return (out, true);
                }
            } else {
                out.push(b);
            }
        }
        (out, false)
    }
}

/// Streams a hijacked connection to the local terminal until the output ends or the user
/// detaches. With a terminal, stdin is raw and the detach keys are watched here, as the docker
/// CLI does.
pub async fn stream(io: Hijacked, tty: bool, stdin: bool, detach_keys: Vec<u8>) -> anyhow::Result<StreamEnd> {
    let (mut rd, mut wr) = tokio::io::split(io);
    let mut raw = if tty && stdin { Some(term::RawMode::enable()) } else { None };
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Option<Vec<u8>>>(16);
    if stdin {
        // A plain thread: a blocking read of stdin must not hold the runtime at exit.
        std::thread::spawn(move || {
            use std::io::Read;
            let mut buf = vec![0u8; 32 * 1024];
            let mut input = std::io::stdin().lock();
            loop {
                match input.read(&mut buf) {
                    Ok(0) | Err(_) => {
                        let _ = tx.blocking_send(None);
                        return;
                    }
                    Ok(n) => {
                        if tx.blocking_send(Some(buf[..n].to_vec())).is_err() {
                            return;
                        }
                    }
                }
            }
        });
    } else {
        drop(tx);
        // Nothing to send: tell the daemon so (docker CLI closes its write side).
        let _ = wr.shutdown().await;
    }
    // Only a terminal session watches for the detach keys (docker's escape proxy is for -t).
    let mut watch = DetachWatch::new(if tty { detach_keys } else { Vec::new() });
    let mut demux = client::Demux::default();
    let mut buf = vec![0u8; 64 * 1024];
    let mut input_open = stdin;
    loop {
        tokio::select! {
            r = rd.read(&mut buf) => {
                let n = match r { Ok(0) | Err(_) => break, Ok(n) => n };
                if tty {
                    let mut out = std::io::stdout().lock();
                    let _ = out.write_all(&buf[..n]);
                    let _ = out.flush();
                } else {
                    demux.push(&buf[..n]);
                    while let Some((s, data)) = demux.next_frame() {
                        if s == 2 {
                            let mut e = std::io::stderr().lock();
                            let _ = e.write_all(&data);
                            let _ = e.flush();
                        } else {
                            let mut o = std::io::stdout().lock();
                            let _ = o.write_all(&data);
                            let _ = o.flush();
                        }
                    }
                }
            }
            msg = rx.recv(), if input_open => {
                match msg {
                    Some(Some(data)) => {
                        let (fwd, detached) = watch.feed(&data);
                        if !fwd.is_empty() && wr.write_all(&fwd).await.is_err() {
                            input_open = false;
                        }
                        if detached {
                            if let Some(r) = raw.as_mut() { r.restore(); }
                            return Ok(StreamEnd::Detached);
                        }
                    }
                    _ => {
                        input_open = false;
                        let _ = wr.shutdown().await;
                    }
                }
            }
        }
    }
    if let Some(r) = raw.as_mut() {
        r.restore();
    }
    Ok(StreamEnd::Done)
}

/// The `resize` request under `prefix` (`/containers/ID`, `/exec/ID`).
pub(crate) fn resize_path(prefix: &str, h: u16, w: u16) -> String {
    let mut q = Query::new();
    q.set("h", h.to_string()).set("w", w.to_string());
    q.to_path(&format!("{prefix}/resize"))
}

/// Sends the terminal size now and on every SIGWINCH.
pub(crate) fn monitor_size(c: &Client, path_prefix: String) {
    let c = c.clone();
    tokio::spawn(async move {
        let send = |c: Client, p: String| async move {
            if let Some((h, wd)) = term::size() {
                let _ = c.post(&resize_path(&p, h, wd)).await;
            }
        };
        send(c.clone(), path_prefix.clone()).await;
        let Ok(mut sig) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::window_change()) else { return };
        while sig.recv().await.is_some() {
            send(c.clone(), path_prefix.clone()).await;
        }
    });
}

/// Forwards this process's signals to the container (`--sig-proxy`).
pub(crate) fn proxy_signals(c: &Client, id: &str) {
    use tokio::signal::unix::{SignalKind, signal};
    for (kind, name) in [
        (SignalKind::interrupt(), "SIGINT"),
        (SignalKind::terminate(), "SIGTERM"),
        (SignalKind::hangup(), "SIGHUP"),
        (SignalKind::quit(), "SIGQUIT"),
        (SignalKind::user_defined1(), "SIGUSR1"),
        (SignalKind::user_defined2(), "SIGUSR2"),
    ] {
        let Ok(mut s) = signal(kind) else { continue };
        let c = c.clone();
        let mut q = Query::new();
        q.set("signal", name);
        let kill_path = q.to_path(&container_path(id, "/kill"));
        tokio::spawn(async move {
            while s.recv().await.is_some() {
                let _ = c.post(&kill_path).await;
            }
        });
    }
}

pub(crate) fn write_out(stream: u8, data: &[u8]) {
    if stream == 2 {
        let mut e = std::io::stderr().lock();
        let _ = e.write_all(data);
    } else {
        let mut o = std::io::stdout().lock();
        let _ = o.write_all(data);
        let _ = o.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detach_key_parsing() {
        assert_eq!(detach_bytes(None).unwrap(), vec![16, 17]);
        assert_eq!(detach_bytes(Some("ctrl-a,x")).unwrap(), vec![1, b'x']);
        assert!(detach_bytes(Some("ctrl-ab")).is_err());
    }

    #[test]
    fn detach_watch_holds_releases_and_rearms() {
        let (p, q) = (16, 17);
        let mut w = DetachWatch::new(vec![p, q]);
        assert_eq!(w.feed(b"ab"), (b"ab".to_vec(), false));
        // A partial match is held back, then released with the byte that broke it.
        assert_eq!(w.feed(&[p]), (vec![], false));
        assert_eq!(w.feed(b"x"), (vec![p, b'x'], false));
        // A mismatching byte that is the first key starts a new match: ctrl-p ctrl-p ctrl-q
        // detaches after forwarding one ctrl-p (the daemon's EscapeProxy does the same).
        assert_eq!(w.feed(&[p, p, q, b'z']), (vec![p], true));
        let mut w = DetachWatch::new(vec![p, q]);
        assert_eq!(w.feed(&[p]), (vec![], false));
        assert_eq!(w.feed(&[p]), (vec![p], false));
        assert_eq!(w.feed(&[q]), (vec![], true));
        // After a detach the watch starts over.
        assert_eq!(w.feed(&[q, p, b'y']), (vec![q, p, b'y'], false));
        // Single key; no keys (no terminal): everything passes.
        let mut w = DetachWatch::new(vec![b'x']);
        assert_eq!(w.feed(b"abxc"), (b"ab".to_vec(), true));
        let mut w = DetachWatch::new(vec![]);
        assert_eq!(w.feed(&[p, q]), (vec![p, q], false));
    }
}
