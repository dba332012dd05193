//! Hijacked streams (`attach`, `exec start`) and log streams.
//!
//! The docker CLI upgrades the connection (`Connection: Upgrade`, `Upgrade: tcp`) and gets
//! `101 UPGRADED`; the connection then carries the process's stdio. With a terminal it is raw
//! bytes both ways (`application/vnd.docker.raw-stream`); without, output is multiplexed in
//! frames of an 8-byte header `[stream, 0, 0, 0, len u32 BE]` and the payload
//! (`application/vnd.docker.multiplexed-stream`), and input is raw.

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use engine::shimctl::{Frame, ShimReader, ShimWriter};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Stream numbers of the multiplexed format.
pub mod stream {
    /// stdin (unused in output).
    pub const STDIN: u8 = 0;
    /// stdout.
    pub const STDOUT: u8 = 1;
    /// stderr.
    pub const STDERR: u8 = 2;
    /// The daemon's own errors.
    pub const SYSTEM_ERR: u8 = 3;
}

/// One multiplexed frame.
pub fn mux_frame(stream: u8, data: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(8 + data.len());
    v.extend_from_slice(&[stream, 0, 0, 0]);
    v.extend_from_slice(&u32::try_from(data.len()).unwrap_or(u32::MAX).to_be_bytes());
    v.extend_from_slice(data);
    v
}

/// The content type of a stream.
pub fn content_type(tty: bool) -> &'static str {
    if tty { "application/vnd.docker.raw-stream" } else { "application/vnd.docker.multiplexed-stream" }
}

/// The `101 UPGRADED` response that hands the connection over.
pub fn upgrade_response(tty: bool) -> Response {
    let mut r = Response::new(Body::empty());
    *r.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type(tty)));
    h.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    h.insert(header::UPGRADE, HeaderValue::from_static("tcp"));
    r
}

/// Parses detach keys (`ctrl-p,ctrl-q`, `a,ctrl-x`) into bytes, as moby's `term.ToBytes`.
pub fn parse_detach_keys(keys: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    for k in keys.split(',') {
        let k = k.trim();
        if let Some(c) = k.strip_prefix("ctrl-") {
            let b = c.as_bytes();
            if b.len() != 1 {
                return Err(format!("Unknown character: '{k}'"));
            }
            let v = match b[0] {
                b'a'..=b'z' => b[0] - b'a' + 1,
                b'@' => 0,
                b'[' => 27,
                b'\\' => 28,
                b']' => 29,
                b'^' => 30,
                b'_' => 31,
                _ => return Err(format!("Unknown character: '{k}'")),
            };
            out.push(v);
        } else if k.len() == 1 {
            out.push(k.as_bytes()[0]);
        } else {
            return Err(format!("Unknown character: '{k}'"));
        }
    }
    Ok(out)
}

/// The default detach sequence: ctrl-p, ctrl-q.
pub const DEFAULT_DETACH_KEYS: &[u8] = &[16, 17];

/// Watches input for the detach sequence (moby's escape proxy): bytes that could start the
/// sequence are held back; a mismatch releases them.
#[derive(Debug)]
pub struct EscapeProxy {
    keys: Vec<u8>,
    held: usize,
}

impl EscapeProxy {
    /// A proxy for `keys` (empty: never detach).
    pub fn new(keys: Vec<u8>) -> Self {
        Self { keys, held: 0 }
    }

    /// Feeds input; returns the bytes to forward and whether the sequence was completed.
    pub fn feed(&mut self, input: &[u8]) -> (Vec<u8>, bool) {
        let mut out = Vec::with_capacity(input.len());
        if self.keys.is_empty() {
            out.extend_from_slice(input);
            return (out, false);
        }
        for &b in input {
            if b == self.keys[self.held] {
                self.held += 1;
                if self.held == self.keys.len() {
                    self.held = 0;
                    return (out, true);
                }
            } else {
                out.extend_from_slice(&self.keys[..self.held]);
                self.held = 0;
                if b == self.keys[0] {
                    self.held = 1;
                    if self.keys.len() == 1 {
                        self.held = 0;
                        return (out, true);
                    }
                } else {
                    out.push(b);
                }
            }
        }
        (out, false)
    }
}

/// What ends the input side of a hijacked stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputEnd {
    /// The client closed its write side (EOF on stdin).
    Eof,
    /// The client typed the detach sequence.
    Detached,
}
/// How a hijacked stream handles the client's input.
#[derive(Debug)]
pub struct InputMode {
    /// Read the client's input at all (the stream carries stdin). Without it the client's
    /// input side is ignored, even its end (the docker CLI half-closes at once).
    pub stdin: bool,
    /// Detach sequence (only with a terminal, as Docker).
    pub detach: Option<Vec<u8>>,
    /// Whether the end of the client's input ends the session (moby: with a terminal, or
    /// without `StdinOnce`) instead of just closing the process's stdin.
    pub eof_ends_session: bool,
}

/// Bridges a hijacked connection and a shim stream until the process's output ends (returns
/// the exit, if seen), the client detaches, or its input ends when that ends the session.
/// `on_input_end` runs when the client's input ends otherwise (e.g. to close the process's
/// stdin) and hands the writer back (dropping it would half-close the shim connection).
pub async fn bridge<F, Fut>(
    upgraded: hyper::upgrade::Upgraded,
    mut shim_r: impl FrameSource,
    mut shim_w: ShimWriter,
    tty: bool,
    input: InputMode,
    on_input_end: F,
) -> Option<shim::proto::Exit>
where
    F: FnOnce(InputEnd, ShimWriter) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ShimWriter> + Send + 'static,
{
    let io = TokioIo::new(upgraded);
    let (mut cr, mut cw) = tokio::io::split(io);
    let (end_tx, mut end_rx) = tokio::sync::oneshot::channel::<()>();
    let mut proxy = EscapeProxy::new(input.detach.unwrap_or_default());
    let eof_ends = input.eof_ends_session;
    let input_task = input.stdin.then(|| {
        tokio::spawn(async move {
            let mut buf = vec![0u8; 32 * 1024];
            let end = loop {
                match cr.read(&mut buf).await {
                    Ok(0) | Err(_) => break InputEnd::Eof,
                    Ok(n) => {
                        let (data, detached) = proxy.feed(&buf[..n]);
                        if !data.is_empty() && shim_w.stdin(&data).await.is_err() {
                            break InputEnd::Eof;
                        }
                        if detached {
                            break InputEnd::Detached;
                        }
                    }
                }
            };
            if end == InputEnd::Detached || eof_ends {
                let _ = end_tx.send(());
                Some(shim_w)
            } else {
                Some(on_input_end(end, shim_w).await)
            }
        })
    });
    let mut exit = None;
    // The input task drops its sender when the input ended without ending the session.
    let mut watch_end = input_task.is_some();
    loop {
        tokio::select! {
            f = shim_r.next_frame() => match f {
                Ok(Some(Frame::Output(s, data))) => {
                    let bytes = if tty { data } else { mux_frame(s, &data) };
                    if cw.write_all(&bytes).await.is_err() {
                        break;
                    }
                }
                Ok(Some(Frame::Exit(e))) => {
                    exit = Some(e);
                    break;
                }
                Ok(None) | Err(_) => break,
            },
            r = &mut end_rx, if watch_end => {
                if r.is_ok() {
                    break;
                }
                watch_end = false;
            }
        }
    }
    let _ = cw.flush().await;
    let _ = cw.shutdown().await;
    if let Some(t) = input_task {
        t.abort();
    }
    exit
}

/// Something that yields shim frames (a plain shim reader, or an exec reader that records the
/// exit).
pub trait FrameSource: Send {
    /// The next frame.
    fn next_frame(&mut self) -> impl std::future::Future<Output = std::io::Result<Option<Frame>>> + Send;
}

impl FrameSource for ShimReader {
    async fn next_frame(&mut self) -> std::io::Result<Option<Frame>> {
        self.next().await
    }
}

impl FrameSource for engine::ExecReader {
    async fn next_frame(&mut self) -> std::io::Result<Option<Frame>> {
        self.next().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detach_keys() {
        assert_eq!(parse_detach_keys("ctrl-p,ctrl-q").unwrap(), vec![16, 17]);
        assert_eq!(parse_detach_keys("a,ctrl-@,ctrl-_").unwrap(), vec![b'a', 0, 31]);
        assert!(parse_detach_keys("ctrl-1").is_err());
        assert!(parse_detach_keys("abc").is_err());
    }

    #[test]
    fn escape_proxy() {
        let mut p = EscapeProxy::new(vec![16, 17]);
        assert_eq!(p.feed(b"ab"), (b"ab".to_vec(), false));
        assert_eq!(p.feed(&[16]), (vec![], false));
        assert_eq!(p.feed(b"x"), (vec![16, b'x'], false));
        assert_eq!(p.feed(&[16, 16]), (vec![16], false));
        assert_eq!(p.feed(&[17, b'z']), (vec![], true));
        let mut p = EscapeProxy::new(vec![]);
        assert_eq!(p.feed(&[16, 17]), (vec![16, 17], false));
    }

    #[test]
    fn frames() {
        assert_eq!(mux_frame(1, b"hi"), vec![1, 0, 0, 0, 0, 0, 0, 2, b'h', b'i']);
    }
}
