//! `/containers/...` and `/exec/...`.

use std::io;

use api_types::container as w;
use api_types::exec as xw;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use engine::{AttachOptions, ExecOptions, LogsOptions, WaitCondition};
use futures_util::StreamExt;

use crate::convert;
use crate::filters::Filters;
use crate::query::Query;
use crate::streams::{self, InputEnd, InputMode};
use crate::{Api, ApiError, json};

/// The routes.
pub fn routes() -> Router<Api> {
    Router::new()
        .route("/containers/json", get(list))
        .route("/containers/create", post(create))
        .route("/containers/prune", post(prune))
        .route("/containers/{id}/json", get(inspect))
        .route("/containers/{id}/top", get(top))
        .route("/containers/{id}/logs", get(logs))
        .route("/containers/{id}/changes", get(changes))
        .route("/containers/{id}/export", get(export))
        .route("/containers/{id}/resize", post(resize))
        .route("/containers/{id}/start", post(start))
        .route("/containers/{id}/stop", post(stop))
        .route("/containers/{id}/restart", post(restart))
        .route("/containers/{id}/kill", post(kill))
        .route("/containers/{id}/rename", post(rename))
        .route("/containers/{id}/pause", post(pause))
        .route("/containers/{id}/unpause", post(unpause))
        .route("/containers/{id}/attach", post(attach))
        .route("/containers/{id}/wait", post(wait))
        .route("/containers/{id}", axum::routing::delete(remove))
        .route("/containers/{id}/archive", get(archive_get).head(archive_head).put(archive_put))
        .route("/containers/{id}/exec", post(exec_create))
        .route("/exec/{id}/start", post(exec_start))
        .route("/exec/{id}/resize", post(exec_resize))
        .route("/exec/{id}/json", get(exec_inspect))
}

fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

/// A JSON request body; an empty body is the type's default.
pub(crate) fn parse_json<T: serde::de::DeserializeOwned + Default>(body: &Bytes) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body).map_err(|e| ApiError::bad_request(format!("invalid JSON: {e}")))
}

const LIST_FILTERS: &[&str] = &[
    "id",
    "name",
    "label",
    "status",
    "ancestor",
    "exited",
    "before",
    "since",
    "health",
    "volume",
    "network",
    "publish",
    "expose",
    "isolation",
    "is-task",
];

async fn list(State(api): State<Api>, RawQuery(q): RawQuery) -> Result<Response, ApiError> {
    let q = Query::parse(q.as_deref());
    let f = Filters::parse(q.get("filters"), LIST_FILTERS)?;
    for s in f.get("status") {
        if !["created", "restarting", "running", "removing", "paused", "exited", "dead"].contains(&s.as_str()) {
            return Err(ApiError::bad_request(format!("invalid filter 'status={s}'")));
        }
    }
    let exited: Vec<i32> = f
        .get("exited")
        .iter()
        .map(|e| e.parse().map_err(|_| ApiError::bad_request(format!("invalid filter 'exited={e}'"))))
        .collect::<Result<_, _>>()?;
    let all = q.bool("all") || f.has("status") || f.has("exited");
    let limit = q.int("limit")?.filter(|l| *l > 0);
    let all_cs = api.engine.containers();
    let created_of = |key: &str| -> Result<chrono::DateTime<chrono::Utc>, ApiError> {
        Ok(api.engine.inspect(key).map_err(ApiError::from)?.created)
    };
    let before = f.get("before").first().map(|k| created_of(k)).transpose()?;
    let since = f.get("since").first().map(|k| created_of(k)).transpose()?;
    // Ancestor filters resolve to image IDs.
    let ancestors: Vec<String> = f
        .get("ancestor")
        .iter()
        .filter_map(|a| api.engine.images().resolve(a).ok().map(|i| i.id.to_string()))
        .collect();
    if f.has("ancestor") && ancestors.is_empty() {
        return Ok(json(StatusCode::OK, &Vec::<w::ContainerSummary>::new()));
    }
    // Filters Docker accepts that match no container here (no health checks yet).
    if f.has("health") {
        return Ok(json(StatusCode::OK, &Vec::<w::ContainerSummary>::new()));
    }
    let now = chrono::Utc::now();
    let mut names_resolved: std::collections::HashMap<String, String> = std::collections::HashMap::new();
    let mut out = Vec::new();
    for c in all_cs {
        let st = c.state.status.as_str();
        if !all && !c.is_running() {
            continue;
        }
        if f.has("status") && !f.get("status").iter().any(|s| s == st) {
            continue;
        }
        if f.has("volume")
            && !c.mounts.iter().any(|m| {
                f.get("volume")
                    .iter()
                    .any(|v| (!m.name.is_empty() && v == &m.name) || v == &m.destination || v == &m.source)
            })
        {
            continue;
        }
        if !exited.is_empty() && (c.state.status != engine::Status::Exited || !exited.contains(&c.state.exit_code)) {
            continue;
        }
        if f.has("id") && !f.get("id").iter().any(|i| c.id.starts_with(i.as_str())) {
            continue;
        }
        if f.has("name") && !f.get("name").iter().any(|n| crate::filters::name_matches(n, &c.name)) {
            continue;
        }
        if !f.match_labels("label", &c.config.labels) {
            continue;
        }
        if !ancestors.is_empty() && !ancestors.contains(&c.image_id) {
            continue;
        }
        if before.is_some_and(|b| c.created >= b) || since.is_some_and(|s| c.created <= s) {
            continue;
        }
        if f.has("network")
            && !f.get("network").iter().any(|n| {
                *n == convert::network_name(&c.host_config)
                    || c.networks.contains_key(n)
                    || c.state.network.endpoints.values().any(|e| e.network_id.starts_with(n.as_str()))
            })
        {
            continue;
        }
        // `publish=8080[/tcp]` (a host port) and `expose=80[/tcp]` (a container port).
        let port_match = |want: &str, host: bool| {
            let (p, proto) = want.split_once('/').unwrap_or((want, "tcp"));
            if host {
                c.state.network.ports.iter().any(|x| x.host_port.to_string() == p && x.proto.as_str() == proto)
            } else {
                c.config.exposed_ports.iter().any(|e| *e == format!("{p}/{proto}"))
            }
        };
        if (f.has("publish") && !f.get("publish").iter().any(|p| port_match(p, true)))
            || (f.has("expose") && !f.get("expose").iter().any(|p| port_match(p, false)))
        {
            continue;
        }
        // Shown by the name it was created from while that still names its image (resolved
        // once per name: many containers share a few images).
        let shown = names_resolved.entry(c.config.image.clone()).or_insert_with(|| {
            api.engine.images().resolve(&c.config.image).map(|i| i.id.to_string()).unwrap_or_default()
        });
        let image_name = if *shown == c.image_id { c.config.image.clone() } else { c.image_id.clone() };
        let mut s = convert::summary(&c, image_name, now, &api.engine);
        if q.bool("size") {
            let (rw, root) = api.engine.container_size(&c.id).await.unwrap_or((0, 0));
            s.size_rw = Some(rw);
            s.size_root_fs = Some(root);
        }
        out.push(s);
        if limit.is_some_and(|l| out.len() as i64 >= l) {
            break;
        }
    }
    Ok(json(StatusCode::OK, &out))
}

async fn create(State(api): State<Api>, RawQuery(q): RawQuery, body: Bytes) -> Result<Response, ApiError> {
    let q = Query::parse(q.as_deref());
    if let Some(p) = q.get("platform").filter(|p| !p.is_empty())
        && !matches!(p, "linux" | "linux/amd64" | "linux/x86_64")
    {
        return Err(ApiError::bad_request(format!("platform {p} is not supported: this host runs linux/amd64")));
    }
    let req: w::ContainerCreateRequest = parse_json(&body)?;
    let name = q.get("name").filter(|n| !n.is_empty()).map(str::to_owned);
    let req = convert::create_request(req, name)?;
    let (id, warnings) = api.engine.create(req).await?;
    Ok(json(StatusCode::CREATED, &w::ContainerCreateResponse { id, warnings }))
}

async fn inspect(State(api): State<Api>, Path(id): Path<String>, RawQuery(q): RawQuery) -> Result<Response, ApiError> {
    let c = api.engine.inspect(&id)?;
    let mut out = convert::inspect(&c, &api.engine);
    if c.host_config.supervise.is_some() && c.is_running() {
        out.supervisor = crate::supervise::programs(&api, &c.id).await.ok();
    }
    if Query::parse(q.as_deref()).bool("size") {
        let (rw, root) = api.engine.container_size(&c.id).await.unwrap_or((0, 0));
        out.size_rw = Some(rw);
        out.size_root_fs = Some(root);
    }
    Ok(json(StatusCode::OK, &out))
}

async fn top(State(api): State<Api>, Path(id): Path<String>, RawQuery(q): RawQuery) -> Result<Response, ApiError> {
    let q = Query::parse(q.as_deref());
    let t = api.engine.top(&id, q.get("ps_args").filter(|s| !s.is_empty())).await?;
    Ok(json(StatusCode::OK, &w::ContainerTopResponse { titles: t.titles, processes: t.processes }))
}

/// Parses Docker's `since`/`until` values: `seconds[.nanoseconds]` (the CLI converts relative
/// times and dates to this form).
pub fn parse_timestamp(s: &str) -> Result<i64, ApiError> {
    let bad = || ApiError::bad_request(format!("invalid timestamp: {s:?}"));
    let (secs, frac) = s.split_once('.').unwrap_or((s, ""));
    let secs: i64 = secs.parse().map_err(|_| bad())?;
    let mut nanos = 0i64;
    if !frac.is_empty() {
        if frac.len() > 9 || !frac.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        nanos = format!("{frac:0<9}").parse().map_err(|_| bad())?;
    }
    // Past the year 2262 nanoseconds overflow an i64 (the API fuzz target found the multiply).
    secs.checked_mul(1_000_000_000).and_then(|ns| ns.checked_add(nanos)).ok_or_else(bad)
}

async fn logs(State(api): State<Api>, Path(id): Path<String>, RawQuery(q): RawQuery) -> Result<Response, ApiError> {
    let q = Query::parse(q.as_deref());
    let c = api.engine.inspect(&id)?;
    let (stdout, stderr) = (q.bool("stdout"), q.bool("stderr"));
    if !stdout && !stderr {
        return Err(ApiError::bad_request("Bad parameters: you must choose at least one stream"));
    }
    let tail = match q.get("tail") {
        None | Some("" | "all") => None,
        Some(t) => match t.parse::<i64>() {
            Ok(n) if n >= 0 => Some(usize::try_from(n).unwrap_or(usize::MAX)),
            Ok(_) => None,
            Err(_) => return Err(ApiError::bad_request(format!("invalid tail value: {t:?}"))),
        },
    };
    let opts = LogsOptions {
        follow: q.bool("follow"),
        since_ns: q.get("since").filter(|s| !s.is_empty() && *s != "0").map(parse_timestamp).transpose()?,
        until_ns: q.get("until").filter(|s| !s.is_empty() && *s != "0").map(parse_timestamp).transpose()?,
        tail,
        stdout,
        stderr,
    };
    let timestamps = q.bool("timestamps");
    let tty = c.config.tty;
    let rx = api.engine.logs(&id, opts)?;
    let mut at_line_start = [true, true, true];
    let stream =
        futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|l| (l, rx)) }).map(move |l| {
            let mut data = l.data;
            if timestamps {
                let idx = usize::from(l.stream.min(2));
                if at_line_start[idx] {
                    let mut v = convert::rfc3339_fixed(l.time_ns).into_bytes();
                    v.push(b' ');
                    v.extend_from_slice(&data);
                    data = v;
                }
                at_line_start[idx] = data.last() == Some(&b'\n');
            }
            let bytes = if tty { data } else { streams::mux_frame(l.stream, &data) };
            Ok::<_, io::Error>(Bytes::from(bytes))
        });
    let mut r = Response::new(Body::from_stream(stream));
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(streams::content_type(tty)));
    Ok(r)
}

async fn changes(State(api): State<Api>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let ch = api.engine.changes(&id).await?;
    let out: Vec<w::FilesystemChange> = ch
        .into_iter()
        .map(|c| w::FilesystemChange {
            path: c.path,
            kind: match c.kind {
                engine::ChangeKind::Modified => w::ChangeKind::Modified,
                engine::ChangeKind::Added => w::ChangeKind::Added,
                engine::ChangeKind::Deleted => w::ChangeKind::Deleted,
            },
        })
        .collect();
    Ok(json(StatusCode::OK, &out))
}

/// A response body fed by a blocking writer, and the writer.
pub(crate) fn pipe_body() -> (Body, Box<dyn io::Write + Send>) {
    let (r, wr) = tokio::io::duplex(256 * 1024);
    let body = Body::from_stream(tokio_util::io::ReaderStream::with_capacity(r, 64 * 1024));
    (body, Box::new(tokio_util::io::SyncIoBridge::new(wr)))
}

/// A blocking reader of a request body, and the task that feeds it. When the reader stops
/// early (the engine refused the upload), the task keeps reading and discarding the rest, so the
/// client finishes sending and gets the error instead of a broken pipe (Go's servers do this
/// too); await [`BodyPipe::drained`] before answering.
pub struct BodyPipe {
    /// The body's bytes, for the blocking side.
    pub reader: Box<dyn io::Read + Send>,
    task: tokio::task::JoinHandle<()>,
}

/// The most a refused upload is drained before the connection is dropped anyway.
const DRAIN_LIMIT: u64 = 4 << 30;

impl BodyPipe {
    /// Waits until the body has been read to its end (bounded by a minute and [`DRAIN_LIMIT`]).
    pub async fn drained(task: tokio::task::JoinHandle<()>) {
        let _ = tokio::time::timeout(std::time::Duration::from_secs(60), task).await;
    }

    /// Splits into the reader and the feeding task.
    pub fn split(self) -> (Box<dyn io::Read + Send>, tokio::task::JoinHandle<()>) {
        (self.reader, self.task)
    }
}

struct ChanReader {
    rx: tokio::sync::mpsc::Receiver<io::Result<Bytes>>,
    cur: Bytes,
}

impl io::Read for ChanReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.cur.is_empty() {
            match self.rx.blocking_recv() {
                Some(Ok(b)) => self.cur = b,
                Some(Err(e)) => return Err(e),
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.cur.len());
        buf[..n].copy_from_slice(&self.cur[..n]);
        self.cur = self.cur.slice(n..);
        Ok(n)
    }
}

/// See [`BodyPipe`].
pub fn body_pipe(body: Body) -> BodyPipe {
    let (tx, rx) = tokio::sync::mpsc::channel::<io::Result<Bytes>>(16);
    let task = tokio::spawn(async move {
        let mut stream = body.into_data_stream();
        let mut sending = true;
        let mut discarded = 0u64;
        while let Some(chunk) = stream.next().await {
            match chunk {
                Ok(c) if sending => {
                    if tx.send(Ok(c)).await.is_err() {
                        sending = false;
                    }
                }
                Ok(c) => {
                    discarded += c.len() as u64;
                    if discarded > DRAIN_LIMIT {
                        return;
                    }
                }
                Err(e) => {
                    let _ = tx.send(Err(io::Error::other(e))).await;
                    return;
                }
            }
        }
    });
    BodyPipe { reader: Box::new(ChanReader { rx, cur: Bytes::new() }), task }
}

async fn export(State(api): State<Api>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let (body, w) = pipe_body();
    api.engine.export(&id, w).await?;
    let mut r = Response::new(body);
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/x-tar"));
    Ok(r)
}

async fn resize(State(api): State<Api>, Path(id): Path<String>, RawQuery(q): RawQuery) -> Result<Response, ApiError> {
    let q = Query::parse(q.as_deref());
    let (h, w) = dims(&q)?;
    api.engine.resize(&id, h, w).await?;
    Ok(StatusCode::OK.into_response())
}

fn dims(q: &Query) -> Result<(u16, u16), ApiError> {
    let get = |k: &str| -> Result<u16, ApiError> {
        q.get(k)
            .unwrap_or("0")
            .parse()
            .map_err(|_| ApiError::bad_request(format!("invalid {k}: {:?}", q.get(k).unwrap_or(""))))
    };
    Ok((get("h")?, get("w")?))
}

async fn start(State(api): State<Api>, Path(id): Path<String>) -> Result<Response, ApiError> {
    match api.engine.start(&id).await {
        Ok(()) => Ok(no_content()),
        Err(e) => Err(e.into()),
    }
}

fn timeout(q: &Query) -> Result<Option<i64>, ApiError> {
    q.int("t")
}

async fn stop(State(api): State<Api>, Path(id): Path<String>, RawQuery(q): RawQuery) -> Result<Response, ApiError> {
    let q = Query::parse(q.as_deref());
    api.engine.stop(&id, timeout(&q)?, q.get("signal").filter(|s| !s.is_empty())).await?;
    Ok(no_content())
}

async fn restart(State(api): State<Api>, Path(id): Path<String>, RawQuery(q): RawQuery) -> Result<Response, ApiError> {
    let q = Query::parse(q.as_deref());
    api.engine.restart(&id, timeout(&q)?, q.get("signal").filter(|s| !s.is_empty())).await?;
    Ok(no_content())
}

async fn kill(State(api): State<Api>, Path(id): Path<String>, RawQuery(q): RawQuery) -> Result<Response, ApiError> {
    let q = Query::parse(q.as_deref());
    api.engine.kill(&id, q.get("signal").filter(|s| !s.is_empty())).await?;
    Ok(no_content())
}

async fn rename(State(api): State<Api>, Path(id): Path<String>, RawQuery(q): RawQuery) -> Result<Response, ApiError> {
    let q = Query::parse(q.as_deref());
    let name = q
        .get("name")
        .filter(|n| !n.is_empty())
        .ok_or_else(|| ApiError::bad_request("Neither old nor new names may be empty"))?;
    api.engine.rename(&id, name).await?;
    Ok(no_content())
}

async fn pause(State(api): State<Api>, Path(id): Path<String>) -> Result<Response, ApiError> {
    api.engine.pause(&id).await?;
    Ok(no_content())
}

async fn unpause(State(api): State<Api>, Path(id): Path<String>) -> Result<Response, ApiError> {
    api.engine.unpause(&id).await?;
    Ok(no_content())
}

async fn remove(State(api): State<Api>, Path(id): Path<String>, RawQuery(q): RawQuery) -> Result<Response, ApiError> {
    let q = Query::parse(q.as_deref());
    if q.bool("link") {
        return Err(ApiError::bad_request("links are not supported"));
    }
    api.engine.remove_with(&id, q.bool("force"), q.bool("v")).await?;
    Ok(no_content())
}

async fn wait(State(api): State<Api>, Path(id): Path<String>, RawQuery(q): RawQuery) -> Result<Response, ApiError> {
    let q = Query::parse(q.as_deref());
    let cond = match q.get("condition") {
        None | Some("" | "not-running") => WaitCondition::NotRunning,
        Some("next-exit") => WaitCondition::NextExit,
        Some("removed") => WaitCondition::Removed,
        Some(c) => return Err(ApiError::bad_request(format!("invalid condition: \"{c}\""))),
    };
    // Registered before the response: the client starts the container only after our headers.
    let fut = api.engine.wait(&id, cond)?;
    let stream = futures_util::stream::once(async move {
        // The start error, if any, was the start request's answer; repeating it here would make
        // clients print it twice.
        let code = fut.await;
        let resp = w::ContainerWaitResponse { status_code: i64::from(code), error: None };
        Ok::<_, io::Error>(Bytes::from(serde_json::to_vec(&resp).unwrap_or_default()))
    });
    let mut r = Response::new(Body::from_stream(stream));
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Ok(r)
}

async fn attach(
    State(api): State<Api>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
    mut req: Request,
) -> Result<Response, ApiError> {
    let q = Query::parse(q.as_deref());
    let c = api.engine.inspect(&id)?;
    let keys = match q.get("detachKeys").filter(|k| !k.is_empty()) {
        Some(k) => streams::parse_detach_keys(k)
            .map_err(|e| ApiError::bad_request(format!("Invalid detach keys ({k}) provided: {e}")))?,
        None => streams::DEFAULT_DETACH_KEYS.to_vec(),
    };
    let opts = AttachOptions {
        stdin: q.bool("stdin") && c.config.open_stdin,
        stdout: q.bool("stdout"),
        stderr: q.bool("stderr"),
    };
    let want_logs = q.bool("logs");
    let stream_live = q.bool_or("stream", false) || !want_logs;
    let tty = c.config.tty;
    let on_upgrade = hyper::upgrade::on(&mut req);
    let attached = if stream_live { Some(api.engine.attach(&id, opts).await?) } else { None };
    let engine = api.engine.clone();
    let cid = c.id.clone();
    let stdin_once = c.config.stdin_once;
    tokio::spawn(async move {
        let Ok(upgraded) = on_upgrade.await else { return };
        let mut upgraded = Some(upgraded);
        if want_logs {
            // Replay the log first (docker-py's attach with logs=1).
            if let Ok(mut rx) =
                engine.logs(&cid, LogsOptions { stdout: opts.stdout, stderr: opts.stderr, ..Default::default() })
            {
                use tokio::io::AsyncWriteExt;
                let mut io = hyper_util::rt::TokioIo::new(upgraded.take().expect("set above"));
                while let Some(l) = rx.recv().await {
                    let bytes = if tty { l.data } else { streams::mux_frame(l.stream, &l.data) };
                    if io.write_all(&bytes).await.is_err() {
                        return;
                    }
                }
                if attached.is_none() {
                    let _ = io.shutdown().await;
                    return;
                }
                upgraded = Some(io.into_inner());
            }
        }
        let (Some(upgraded), Some(attached)) = (upgraded, attached) else { return };
        let Some(conn) = attached.connect().await else { return };
        let (r, wr) = conn.split();
        let input = InputMode { stdin: opts.stdin, detach: tty.then_some(keys), eof_ends_session: tty || !stdin_once };
        streams::bridge(upgraded, r, wr, tty, input, move |end, mut w| async move {
            if end == InputEnd::Eof && stdin_once {
                let _ = w.close_stdin().await;
            }
            w
        })
        .await;
    });
    Ok(streams::upgrade_response(tty))
}

/// The `X-Docker-Container-Path-Stat` header value.
fn stat_header(s: &engine::PathStat) -> HeaderValue {
    use base64::Engine as _;
    let st = w::PathStat {
        name: s.name.clone(),
        size: s.size,
        mode: s.mode,
        mtime: convert::rfc3339(&s.mtime),
        link_target: s.link_target.clone(),
    };
    let json = serde_json::to_vec(&st).unwrap_or_default();
    HeaderValue::from_str(&base64::engine::general_purpose::STANDARD.encode(&json))
        .unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn archive_path(q: &Query) -> Result<String, ApiError> {
    q.get("path").filter(|p| !p.is_empty()).map(str::to_owned).ok_or_else(|| ApiError::bad_request("path is required"))
}

async fn archive_head(
    State(api): State<Api>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let q = Query::parse(q.as_deref());
    let st = api.engine.stat_path(&id, &archive_path(&q)?).await?;
    let mut r = StatusCode::OK.into_response();
    r.headers_mut().insert("x-docker-container-path-stat", stat_header(&st));
    Ok(r)
}

async fn archive_get(
    State(api): State<Api>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let q = Query::parse(q.as_deref());
    let (body, w) = pipe_body();
    let st = api.engine.archive_get(&id, &archive_path(&q)?, w).await?;
    let mut r = Response::new(body);
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/x-tar"));
    r.headers_mut().insert("x-docker-container-path-stat", stat_header(&st));
    Ok(r)
}

async fn archive_put(
    State(api): State<Api>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
    body: Body,
) -> Result<Response, ApiError> {
    let q = Query::parse(q.as_deref());
    let opts = engine::ArchiveOptions {
        no_overwrite_dir_non_dir: q.bool("noOverwriteDirNonDir"),
        copy_uid_gid: q.bool("copyUIDGID"),
    };
    let (reader, feeder) = body_pipe(body).split();
    let r = api.engine.archive_put(&id, &archive_path(&q)?, reader, opts).await;
    BodyPipe::drained(feeder).await;
    r?;
    Ok(StatusCode::OK.into_response())
}

async fn prune(State(api): State<Api>, RawQuery(q): RawQuery) -> Result<Response, ApiError> {
    let q = Query::parse(q.as_deref());
    let f = Filters::parse(q.get("filters"), &["until", "label", "label!"])?;
    let until = f.get("until").first().map(|u| parse_until(u)).transpose()?;
    let (deleted, reclaimed) = api
        .engine
        .prune_containers(|c| {
            f.match_labels("label", &c.config.labels) && until.is_none_or(|u| c.created.timestamp() < u)
        })
        .await?;
    Ok(json(StatusCode::OK, &w::ContainerPruneResponse { containers_deleted: deleted, space_reclaimed: reclaimed }))
}

/// `until` filters: a Unix timestamp or an RFC 3339 date; returns Unix seconds.
pub fn parse_until(s: &str) -> Result<i64, ApiError> {
    if let Ok(ns) = parse_timestamp(s) {
        return Ok(ns / 1_000_000_000);
    }
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|d| d.timestamp())
        .map_err(|_| ApiError::bad_request(format!("invalid filter 'until={s}'")))
}

async fn exec_create(State(api): State<Api>, Path(id): Path<String>, body: Bytes) -> Result<Response, ApiError> {
    let cfg: xw::ExecConfig = parse_json(&body)?;
    let console = cfg.console_size.as_ref().and_then(|c| convert::console_size(c));
    if let Some(k) = Some(cfg.detach_keys.as_str()).filter(|k| !k.is_empty()) {
        streams::parse_detach_keys(k)
            .map_err(|e| ApiError::bad_request(format!("Invalid detach keys ({k}) provided: {e}")))?;
    }
    let opts = ExecOptions {
        cmd: cfg.cmd.unwrap_or_default(),
        env: cfg.env.unwrap_or_default(),
        user: cfg.user,
        working_dir: cfg.working_dir,
        tty: cfg.tty,
        attach_stdin: cfg.attach_stdin,
        attach_stdout: cfg.attach_stdout,
        attach_stderr: cfg.attach_stderr,
        privileged: cfg.privileged,
        detach_keys: cfg.detach_keys,
        console_size: console,
    };
    let id = api.engine.exec_create(&id, opts)?;
    Ok(json(StatusCode::CREATED, &api_types::IdResponse { id }))
}

async fn exec_start(State(api): State<Api>, Path(id): Path<String>, mut req: Request) -> Result<Response, ApiError> {
    let info = api.engine.exec_inspect(&id)?;
    let on_upgrade = hyper::upgrade::on(&mut req);
    let body = axum::body::to_bytes(std::mem::take(req.body_mut()), 1 << 20)
        .await
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let cfg: xw::ExecStartConfig = parse_json(&body)?;
    let console = cfg.console_size.as_ref().and_then(|c| convert::console_size(c));
    if cfg.detach {
        match api.engine.exec_start(&id, true, console).await {
            Ok(_) => return Ok(StatusCode::OK.into_response()),
            Err(e) => return Err(e.into()),
        }
    }
    let tty = info.opts.tty;
    let keys = if info.opts.detach_keys.is_empty() {
        streams::DEFAULT_DETACH_KEYS.to_vec()
    } else {
        streams::parse_detach_keys(&info.opts.detach_keys).unwrap_or_default()
    };
    let engine = api.engine.clone();
    let stdin = info.opts.attach_stdin;
    tokio::spawn(async move {
        let Ok(upgraded) = on_upgrade.await else { return };
        match engine.exec_start(&id, false, console).await {
            Ok(Some((r, wr))) => {
                let input = InputMode { stdin, detach: tty.then_some(keys), eof_ends_session: tty };
                streams::bridge(upgraded, r, wr, tty, input, |end, mut w| async move {
                    if end == InputEnd::Eof {
                        let _ = w.close_stdin().await;
                    }
                    w
                })
                .await;
            }
            Ok(None) => {}
            Err(e) => {
                // As dockerd: the error goes to the client's stdout, the exec's exit code is 126.
                use tokio::io::AsyncWriteExt;
                let mut io = hyper_util::rt::TokioIo::new(upgraded);
                let msg = format!("{}\r\n", crate::ApiError::from(e).message);
                let bytes =
                    if tty { msg.into_bytes() } else { streams::mux_frame(streams::stream::STDOUT, msg.as_bytes()) };
                let _ = io.write_all(&bytes).await;
                let _ = io.shutdown().await;
            }
        }
    });
    Ok(streams::upgrade_response(tty))
}

async fn exec_resize(
    State(api): State<Api>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let q = Query::parse(q.as_deref());
    let (h, w) = dims(&q)?;
    api.engine.exec_resize(&id, h, w).await?;
    Ok(StatusCode::CREATED.into_response())
}

async fn exec_inspect(State(api): State<Api>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let e = api.engine.exec_inspect(&id)?;
    let mut cmd = e.opts.cmd.clone();
    let entry = if cmd.is_empty() { String::new() } else { cmd.remove(0) };
    let out = xw::ExecInspectResponse {
        can_remove: false,
        detach_keys: Some(e.opts.detach_keys.clone()).filter(|k| !k.is_empty()),
        id: e.id.clone(),
        running: e.running,
        exit_code: e.exit_code.map(i64::from),
        process_config: Some(xw::ProcessConfig {
            privileged: Some(e.opts.privileged),
            user: e.opts.user.clone(),
            tty: e.opts.tty,
            entrypoint: entry,
            arguments: cmd,
        }),
        open_stdin: e.opts.attach_stdin,
        open_stderr: e.opts.attach_stderr,
        open_stdout: e.opts.attach_stdout,
        container_id: e.container_id.clone(),
        pid: i64::from(e.pid),
    };
    Ok(json(StatusCode::OK, &out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps() {
        assert_eq!(parse_timestamp("1700000000").unwrap(), 1_700_000_000_000_000_000);
        assert_eq!(parse_timestamp("1700000000.5").unwrap(), 1_700_000_000_500_000_000);
        assert_eq!(parse_timestamp("1700000000.000000001").unwrap(), 1_700_000_000_000_000_001);
        assert!(parse_timestamp("abc").is_err());
        // Overflowing i64 nanoseconds is an error, not a panic (debug) or a wrapped value.
        assert_eq!(parse_timestamp("9223372036.854775807").unwrap(), i64::MAX);
        assert!(parse_timestamp("9223372036.854775808").is_err());
        assert!(parse_timestamp("11700000000.123456789").is_err());
        assert!(parse_timestamp("-9223372037").is_err());
        assert_eq!(parse_until("2023-11-14T22:13:20Z").unwrap(), 1_700_000_000);
    }
}
