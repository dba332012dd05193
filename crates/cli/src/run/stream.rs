//! Streaming a hijacked connection to the local terminal: raw mode, detach keys, resizes,
//! signal forwarding, and the wait registered before a start.

use std::io::Write;

use anyhow::bail;
use api_types::container as w;
use client::{Client, ClientError, Hijacked};
use hyper::Method;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::term;

/// The wait registered before start: resolves to the exit code.
pub(crate) async fn register_wait(
    c: &Client,
    id: &str,
    removed: bool,
) -> Result<tokio::task::JoinHandle<i32>, ClientError> {
    let cond = if removed { "removed" } else { "next-exit" };
    let resp = c.send(Method::POST, &format!("/containers/{id}/wait?condition={cond}"), client::empty(), None).await?;
    Ok(tokio::spawn(async move {
        let mut b = resp.into_body();
        let mut data = Vec::new();
        while let Ok(Some(chunk)) = client::next_chunk(&mut b).await {
            data.extend_from_slice(&chunk);
        }
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
    let mut held = 0usize;
    let keys = detach_keys;
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
                        let mut fwd = Vec::with_capacity(data.len());
                        let mut detached = false;
                        for &b in &data {
                            if tty && !keys.is_empty() && b == keys[held] {
                                held += 1;
                                if held == keys.len() {
                                    detached = true;
                                    break;
                                }
                                continue;
                            }
                            if held > 0 {
                                fwd.extend_from_slice(&keys[..held]);
                                held = 0;
                            }
                            fwd.push(b);
                        }
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

/// Sends the terminal size now and on every SIGWINCH.
pub(crate) fn monitor_size(c: &Client, path_prefix: String) {
    let c = c.clone();
    tokio::spawn(async move {
        let send = |c: Client, p: String| async move {
            if let Some((h, wd)) = term::size() {
                let _ = c.post(&format!("{p}/resize?h={h}&w={wd}")).await;
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
        let id = id.to_owned();
        tokio::spawn(async move {
            while s.recv().await.is_some() {
                let _ = c.post(&format!("/containers/{id}/kill?signal={name}")).await;
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
}
