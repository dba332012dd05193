//! A Docker Engine API client over a unix socket, for berth's CLI and tests.
//!
//! One HTTP/1.1 connection per request (a unix connect costs tens of microseconds), JSON
//! helpers, streaming bodies both ways, and hijacked connections (`attach`, `exec start`).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::path::PathBuf;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::net::UnixStream;

pub use api_types::{API_VERSION, DEFAULT_HOST};

/// A request body.
pub type Body = http_body_util::combinators::BoxBody<Bytes, std::io::Error>;

/// Client errors.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Nothing answers on the socket.
    #[error(
        "Cannot connect to the berth daemon at {host}. Is the berth daemon running? Start one with `berth daemon` (as root)"
    )]
    Connect {
        /// The daemon address.
        host: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The daemon answered with an error.
    #[error("Error response from daemon: {message}")]
    Api {
        /// HTTP status.
        status: StatusCode,
        /// The daemon's message.
        message: String,
    },
    /// `-H` is not a unix socket address.
    #[error("invalid daemon address {0:?}: berth listens on unix sockets (unix:///path)")]
    Host(String),
    /// HTTP failed.
    #[error("talking to the daemon: {0}")]
    Http(#[from] hyper::Error),
    /// Reading or writing a stream failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// A response we could not decode.
    #[error("unexpected response from the daemon: {0}")]
    Decode(String),
}

impl ClientError {
    /// The HTTP status, for API errors.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            ClientError::Api { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Whether this is a 404.
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(StatusCode::NOT_FOUND)
    }
}

/// A client of one daemon.
#[derive(Debug, Clone)]
pub struct Client {
    host: String,
    socket: PathBuf,
}

/// An empty body.
pub fn empty() -> Body {
    Full::new(Bytes::new()).map_err(|e| match e {}).boxed()
}

/// A body of bytes.
pub fn full(b: impl Into<Bytes>) -> Body {
    Full::new(b.into()).map_err(|e| match e {}).boxed()
}

/// A body streamed from an async reader (a file, stdin).
pub fn reader_body<R: tokio::io::AsyncRead + Send + Sync + 'static>(r: R) -> Body {
    use futures_util::StreamExt;
    let s = tokio_util::io::ReaderStream::with_capacity(r, 256 * 1024).map(|r| r.map(Frame::data));
    BodyExt::boxed(StreamBody::new(s))
}

/// A hijacked connection.
pub type Hijacked = TokioIo<hyper::upgrade::Upgraded>;

impl Client {
    /// A client for `host` (`unix:///path` or a plain path).
    pub fn new(host: &str) -> Result<Self, ClientError> {
        let path = if let Some(p) = host.strip_prefix("unix://") {
            p
        } else if host.starts_with('/') {
            host
        } else {
            return Err(ClientError::Host(host.to_owned()));
        };
        Ok(Self { host: format!("unix://{path}"), socket: PathBuf::from(path) })
    }

    /// The daemon address.
    pub fn host(&self) -> &str {
        &self.host
    }

    async fn connect(&self) -> Result<hyper::client::conn::http1::SendRequest<Body>, ClientError> {
        let stream = UnixStream::connect(&self.socket)
            .await
            .map_err(|e| ClientError::Connect { host: self.host.clone(), source: e })?;
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(async move {
            let _ = conn.with_upgrades().await;
        });
        Ok(sender)
    }

    fn build(
        method: Method,
        path: &str,
        body: Body,
        content_type: Option<&str>,
        headers: &[(&str, &str)],
    ) -> Request<Body> {
        let uri = format!("/v{API_VERSION}{path}");
        let mut b = Request::builder().method(method).uri(uri).header("host", "berth");
        if let Some(ct) = content_type {
            b = b.header("content-type", ct);
        }
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(body).expect("valid request")
    }

    /// Sends a request; error statuses become [`ClientError::Api`].
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Body,
        content_type: Option<&str>,
    ) -> Result<Response<Incoming>, ClientError> {
        let mut s = self.connect().await?;
        let resp = s.send_request(Self::build(method, path, body, content_type, &[])).await?;
        check(resp).await
    }

    /// Sends a request and decodes a JSON response.
    pub async fn json<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&impl Serialize>,
    ) -> Result<T, ClientError> {
        let (b, ct) = match body {
            Some(v) => {
                (full(serde_json::to_vec(v).map_err(|e| ClientError::Decode(e.to_string()))?), Some("application/json"))
            }
            None => (empty(), None),
        };
        let resp = self.send(method, path, b, ct).await?;
        let bytes = read_all(&mut resp.into_body()).await?;
        serde_json::from_slice(&bytes).map_err(|e| {
            ClientError::Decode(format!("{e}: {}", String::from_utf8_lossy(&bytes[..bytes.len().min(200)])))
        })
    }

    /// GET and decode JSON.
    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        self.json(Method::GET, path, None::<&()>).await
    }

    /// POST without a body, ignoring the response body.
    pub async fn post(&self, path: &str) -> Result<(), ClientError> {
        let r = self.send(Method::POST, path, empty(), None).await?;
        let _ = read_all(&mut r.into_body()).await;
        Ok(())
    }

    /// DELETE, returning the body.
    pub async fn delete(&self, path: &str) -> Result<Bytes, ClientError> {
        let r = self.send(Method::DELETE, path, empty(), None).await?;
        read_all(&mut r.into_body()).await
    }

    /// Upgrades a connection (`attach`, `exec start`): returns the raw stream and whether the
    /// daemon said it is a terminal (raw) stream.
    pub async fn hijack(
        &self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<(Hijacked, bool), ClientError> {
        let mut s = self.connect().await?;
        let (b, ct) = match body {
            Some(v) => (full(v), Some("application/json")),
            None => (empty(), None),
        };
        let req = Self::build(method, path, b, ct, &[("connection", "Upgrade"), ("upgrade", "tcp")]);
        let resp = s.send_request(req).await?;
        if resp.status() != StatusCode::SWITCHING_PROTOCOLS {
            let r = check(resp).await?;
            return Err(ClientError::Decode(format!("expected a stream upgrade, got {}", r.status())));
        }
        let raw =
            resp.headers().get("content-type").is_some_and(|v| v.as_bytes() == b"application/vnd.docker.raw-stream");
        let up = hyper::upgrade::on(resp).await?;
        Ok((TokioIo::new(up), raw))
    }
}

/// Turns error statuses into [`ClientError::Api`] with the daemon's message.
async fn check(resp: Response<Incoming>) -> Result<Response<Incoming>, ClientError> {
    let status = resp.status();
    if status.is_success() || status == StatusCode::SWITCHING_PROTOCOLS || status == StatusCode::NOT_MODIFIED {
        return Ok(resp);
    }
    let bytes = read_all(&mut resp.into_body()).await?;
    let message = serde_json::from_slice::<api_types::ErrorResponse>(&bytes)
        .map(|e| e.message)
        .unwrap_or_else(|_| String::from_utf8_lossy(&bytes).trim().to_owned());
    Err(ClientError::Api { status, message })
}

/// Reads the rest of a response body.
pub async fn read_all(body: &mut Incoming) -> Result<Bytes, ClientError> {
    Ok(body.collect().await?.to_bytes())
}

/// Reads a response body as a stream of chunks.
pub async fn next_chunk(body: &mut Incoming) -> Result<Option<Bytes>, ClientError> {
    loop {
        match body.frame().await {
            None => return Ok(None),
            Some(Err(e)) => return Err(e.into()),
            Some(Ok(f)) => {
                if let Ok(d) = f.into_data() {
                    return Ok(Some(d));
                }
            }
        }
    }
}

/// Splits Docker's multiplexed stream into (stream, payload) frames.
#[derive(Debug, Default)]
pub struct Demux {
    buf: Vec<u8>,
}

impl Demux {
    /// Adds bytes.
    pub fn push(&mut self, b: &[u8]) {
        self.buf.extend_from_slice(b);
    }

    /// The next complete frame.
    pub fn next_frame(&mut self) -> Option<(u8, Vec<u8>)> {
        if self.buf.len() < 8 {
            return None;
        }
        let len = u32::from_be_bytes([self.buf[4], self.buf[5], self.buf[6], self.buf[7]]) as usize;
        if self.buf.len() < 8 + len {
            return None;
        }
        let s = self.buf[0];
        let data = self.buf[8..8 + len].to_vec();
        self.buf.drain(..8 + len);
        Some((s, data))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts() {
        assert_eq!(Client::new("unix:///run/x.sock").unwrap().socket, PathBuf::from("/run/x.sock"));
        assert_eq!(Client::new("/run/x.sock").unwrap().host(), "unix:///run/x.sock");
        assert!(Client::new("tcp://1.2.3.4:2375").is_err());
    }

    #[test]
    fn demux() {
        let mut d = Demux::default();
        d.push(&[1, 0, 0, 0, 0, 0, 0, 2, b'h']);
        assert!(d.next_frame().is_none());
        d.push(&[b'i', 2, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(d.next_frame(), Some((1, b"hi".to_vec())));
        assert_eq!(d.next_frame(), Some((2, vec![])));
    }
}
