//! The Docker Engine API, on top of the [`engine`].
//!
//! - [`Server`]: serves HTTP/1.1 with upgrades (the hijacked streams of `attach` and `exec
//!   start`) on connections the daemon accepted (unix socket, TCP, TLS), logs each request at
//!   debug level and closes connections idle for longer than a bound.
//! - Version negotiation (moby's `api/server/middleware/version.go`): paths may carry a
//!   `/v1.NN` prefix; versions from [`MIN_API_VERSION`] to [`API_VERSION`] are served, others get
//!   400 with Docker's wording. Every response carries `Api-Version`, `Ostype` and `Server`.
//! - Errors: engine errors map to HTTP statuses by kind in one place ([`error`]); the body is
//!   `{"message": ...}` as the docker CLI expects.
//! - Handlers are grouped by object: [`containers`], [`images`], [`networks`], [`volumes`],
//!   [`system`], [`persist`] (commit, upgrade, kept layers); streams (attach,
//!   exec, logs) live in [`streams`]; wire ↔ domain conversion in [`convert`].
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod containers;
pub mod convert;
pub mod error;
pub mod filters;
pub mod images;
pub mod networks;
pub mod persist;
pub mod query;
pub mod resources;
pub mod streams;
pub mod supervise;
pub mod system;
pub mod volumes;

use std::convert::Infallible;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tower::ServiceExt;

pub use error::ApiError;

pub use api_types::API_VERSION;
/// The oldest version served.
pub const MIN_API_VERSION: &str = "1.24";
/// berth's version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The negotiated API version of a request (minor number of 1.x).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ApiVersion(pub u32);

/// Shared handler state.
#[derive(Debug, Clone)]
pub struct Api {
    /// The engine.
    pub engine: engine::Engine,
    /// Daemon facts for `/version` and `/info`.
    pub meta: Arc<DaemonMeta>,
}

/// Facts about the daemon for `/version` and `/info`.
#[derive(Debug, Clone, Default)]
pub struct DaemonMeta {
    /// Daemon ID.
    pub id: String,
    /// Where it listens.
    pub host: String,
    /// Debug logging on.
    pub debug: bool,
}

/// A JSON response.
pub(crate) fn json<T: serde::Serialize>(status: axum::http::StatusCode, v: &T) -> axum::response::Response {
    use axum::response::IntoResponse;
    let body = serde_json::to_vec(v).unwrap_or_default();
    (status, [(axum::http::header::CONTENT_TYPE, "application/json")], body).into_response()
}

fn minor(v: &str) -> Option<u32> {
    v.strip_prefix("1.")?.parse().ok()
}

/// Splits `/v1.45/containers/json` into version 45 and `/containers/json`.
pub fn split_version(path: &str) -> (Option<&str>, &str) {
    if let Some(rest) = path.strip_prefix("/v") {
        let end = rest.find('/').unwrap_or(rest.len());
        let v = &rest[..end];
        if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
            return (Some(v), if end == rest.len() { "/" } else { &rest[end..] });
        }
    }
    (None, path)
}

/// The router of every endpoint (unversioned paths).
pub fn router(api: Api) -> Router {
    Router::new()
        .merge(system::routes())
        .merge(containers::routes())
        .merge(resources::routes())
        .merge(images::routes())
        .merge(networks::routes())
        .merge(volumes::routes())
        .merge(supervise::routes())
        .merge(persist::routes())
        .with_state(api)
}

fn stamp(resp: &mut Response<Body>) {
    let h = resp.headers_mut();
    h.insert("api-version", hyper::header::HeaderValue::from_static(API_VERSION));
    h.insert("ostype", hyper::header::HeaderValue::from_static("linux"));
    h.insert("docker-experimental", hyper::header::HeaderValue::from_static("false"));
    h.insert(
        hyper::header::SERVER,
        hyper::header::HeaderValue::from_static(concat!("berth/", env!("CARGO_PKG_VERSION"), " (linux)")),
    );
}

async fn route(router: Router, req: Request<Incoming>) -> Response<Body> {
    let (mut parts, body) = req.into_parts();
    let path = parts.uri.path().to_owned();
    let (version, rest) = split_version(&path);
    let max = minor(API_VERSION).expect("valid constant");
    let min = minor(MIN_API_VERSION).expect("valid constant");
    let v = match version {
        None => max,
        Some(v) => match minor(v) {
            Some(m) if m < min => {
                let mut r = ApiError::bad_request(format!(
                    "client version {v} is too old. Minimum supported API version is {MIN_API_VERSION}, please upgrade your client to a newer version"
                ))
                .into_response();
                stamp(&mut r);
                return r;
            }
            Some(m) if m > max => {
                let mut r = ApiError::bad_request(format!(
                    "client version {v} is too new. Maximum supported API version is {API_VERSION}"
                ))
                .into_response();
                stamp(&mut r);
                return r;
            }
            Some(m) => m,
            None => {
                let mut r = ApiError::not_found("page not found".to_string()).into_response();
                stamp(&mut r);
                return r;
            }
        },
    };
    if version.is_some() {
        let pq = match parts.uri.query() {
            Some(q) => format!("{rest}?{q}"),
            None => rest.to_owned(),
        };
        if let Ok(u) = pq.parse() {
            parts.uri = u;
        }
    }
    parts.extensions.insert(ApiVersion(v));
    let req = Request::from_parts(parts, Body::new(body));
    let mut resp = router.oneshot(req).await.unwrap_or_else(|e| match e {});
    stamp(&mut resp);
    resp
}

static REQUESTS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// How many requests this process has begun to serve (the daemon trims its memory when the
/// count stands still).
pub fn requests_begun() -> u64 {
    REQUESTS.load(std::sync::atomic::Ordering::Relaxed)
}

/// Serves one request and logs it at debug level: method, path (never the query, which can
/// carry a commit's `changes` and other values), status and the time to the response's head.
async fn handle(router: Router, peer: Arc<str>, req: Request<Incoming>) -> Result<Response<Body>, Infallible> {
    REQUESTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let start = std::time::Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let resp = route(router, req).await;
    tracing::debug!(
        peer = %peer,
        method = %method,
        path = %path,
        status = resp.status().as_u16(),
        duration = ?start.elapsed(),
        "request"
    );
    Ok(resp)
}

/// The default bound on an idle connection (see [`Server`]): dockerd's `ReadHeaderTimeout`,
/// which Go's HTTP server also applies to idle keep-alive connections.
pub const DEFAULT_IDLE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(300);

/// Serves HTTP/1.1 with upgrades (the hijacked streams of `attach` and `exec start`) on
/// connections the caller accepted, on any transport (unix socket, TCP, TLS).
///
/// A connection is closed when it stays idle for `idle_timeout`: from its start, or from the
/// end of a response, to the end of the next request's head (hyper's `header_read_timeout`,
/// which runs only while a request head is awaited). Nothing else is bounded: a response that
/// streams (`logs -f`, `events`, `wait`, `stats`), a request body still arriving (`load`) and
/// a hijacked stream (which has left hyper) last as long as they need.
#[derive(Debug, Clone)]
pub struct Server {
    router: Router,
    idle_timeout: std::time::Duration,
}

impl Server {
    /// A server of every endpoint of `api`.
    pub fn new(api: Api, idle_timeout: std::time::Duration) -> Self {
        Self { router: router(api), idle_timeout }
    }

    /// Serves one connection until it ends; `peer` names the client in the log.
    pub async fn serve_connection<I>(&self, io: I, peer: Arc<str>)
    where
        I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let router = self.router.clone();
        let log_peer = peer.clone();
        let svc = hyper::service::service_fn(move |req| handle(router.clone(), peer.clone(), req));
        let conn = hyper::server::conn::http1::Builder::new()
            .timer(hyper_util::rt::TokioTimer::new())
            .header_read_timeout(self.idle_timeout)
            .serve_connection(TokioIo::new(io), svc)
            .with_upgrades();
        match conn.await {
            Err(e) if e.is_timeout() => {
                tracing::debug!(peer = %log_peer, "closed a connection idle for {:?}", self.idle_timeout)
            }
            Err(e) => tracing::debug!(peer = %log_peer, "connection: {e}"),
            Ok(()) => {}
        }
    }
}

use axum::response::IntoResponse;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_prefix() {
        assert_eq!(split_version("/v1.45/containers/json"), (Some("1.45"), "/containers/json"));
        assert_eq!(split_version("/containers/json"), (None, "/containers/json"));
        assert_eq!(split_version("/v1.51"), (Some("1.51"), "/"));
        assert_eq!(split_version("/volumes"), (None, "/volumes"));
    }
}
