//! `/_ping`, `/version`, `/info`, `/events`.

use std::collections::BTreeMap;

use api_types::events as ev;
use api_types::system as w;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::filters::Filters;
use crate::query::Query;
use crate::{API_VERSION, Api, ApiError, MIN_API_VERSION, VERSION, json};

/// The routes.
pub fn routes() -> Router<Api> {
    Router::new()
        .route("/_ping", get(ping).head(ping))
        .route("/version", get(version))
        .route("/info", get(info))
        .route("/events", get(events))
}

async fn ping() -> Response {
    let mut r = (StatusCode::OK, "OK").into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache, no-store, must-revalidate"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    h.insert("builder-version", HeaderValue::from_static("1"));
    h.insert("swarm", HeaderValue::from_static("inactive"));
    r
}

fn kernel() -> String {
    rustix::system::uname().release().to_string_lossy().into_owned()
}

async fn version() -> Response {
    let mut details = BTreeMap::new();
    details.insert("ApiVersion".to_owned(), API_VERSION.to_owned());
    details.insert("MinAPIVersion".to_owned(), MIN_API_VERSION.to_owned());
    details.insert("Os".to_owned(), "linux".to_owned());
    details.insert("Arch".to_owned(), "amd64".to_owned());
    details.insert("KernelVersion".to_owned(), kernel());
    details.insert("GitCommit".to_owned(), option_env!("BERTH_GIT_COMMIT").unwrap_or("unknown").to_owned());
    details.insert("GoVersion".to_owned(), "rust".to_owned());
    details.insert("BuildTime".to_owned(), option_env!("BERTH_BUILD_TIME").unwrap_or("unknown").to_owned());
    details.insert("Experimental".to_owned(), "false".to_owned());
    json(
        StatusCode::OK,
        &w::SystemVersion {
            platform: w::VersionPlatform { name: "berth".into() },
            components: vec![w::ComponentVersion { name: "Engine".into(), version: VERSION.into(), details }],
            version: VERSION.into(),
            api_version: API_VERSION.into(),
            min_api_version: MIN_API_VERSION.into(),
            git_commit: option_env!("BERTH_GIT_COMMIT").unwrap_or("unknown").into(),
            go_version: "rust".into(),
            os: "linux".into(),
            arch: "amd64".into(),
            kernel_version: kernel(),
            experimental: false,
            build_time: String::new(),
        },
    )
}

/// dockerd's `SecurityOptions`, in its order.
fn security_options(userns: bool) -> Vec<String> {
    let mut v = vec!["name=seccomp,profile=builtin".to_owned()];
    if userns {
        v.push("name=userns".into());
    }
    v.push("name=cgroupns".into());
    v
}

async fn info(State(api): State<Api>) -> Response {
    let i = api.engine.info();
    let mut runtimes = BTreeMap::new();
    runtimes.insert(
        "berth".to_owned(),
        w::Runtime { path: api.engine.config().exe.display().to_string(), ..Default::default() },
    );
    let out = w::SystemInfo {
        id: api.meta.id.clone(),
        containers: i.containers as i64,
        containers_running: i.running as i64,
        containers_paused: i.paused as i64,
        containers_stopped: i.stopped as i64,
        images: i.images as i64,
        driver: "overlay2".into(),
        driver_status: vec![["Backing Filesystem".into(), "extfs".into()], ["Supports d_type".into(), "true".into()]],
        memory_limit: true,
        swap_limit: i.swap_limit,
        cpu_cfs_period: true,
        cpu_cfs_quota: true,
        cpu_shares: true,
        cpu_set: true,
        pids_limit: true,
        oom_kill_disable: true,
        debug: api.meta.debug,
        n_fd: std::fs::read_dir("/proc/self/fd").map(|d| d.count() as i64).unwrap_or(0),
        n_goroutines: 0,
        system_time: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true),
        logging_driver: "berth".into(),
        cgroup_driver: i.cgroup_driver.clone(),
        cgroup_version: i.cgroup_version.to_string(),
        kernel_version: i.kernel.clone(),
        operating_system: i.os.clone(),
        os_version: i.os_version.clone(),
        os_type: "linux".into(),
        architecture: "x86_64".into(),
        ncpu: i.ncpu as i64,
        mem_total: i64::try_from(i.mem_total).unwrap_or(i64::MAX),
        docker_root_dir: i.root.clone(),
        name: i.hostname.clone(),
        server_version: VERSION.into(),
        runtimes,
        default_runtime: "berth".into(),
        init_binary: "berth-init".into(),
        security_options: security_options(api.engine.remap().is_some()),
        plugins: w::PluginsInfo {
            volume: vec![],
            network: vec!["none".into(), "host".into()],
            authorization: vec![],
            log: vec!["berth".into()],
        },
        ..Default::default()
    };
    json(StatusCode::OK, &out)
}

fn to_wire(e: &engine::Event) -> ev::EventMessage {
    let from = e.attributes.get("image").cloned().unwrap_or_default();
    ev::EventMessage {
        status: if e.kind == "container" || e.kind == "image" { e.action.clone() } else { String::new() },
        id: if e.kind == "container" || e.kind == "image" { e.id.clone() } else { String::new() },
        from: if e.kind == "container" { from } else { String::new() },
        r#type: e.kind.to_owned(),
        action: e.action.clone(),
        actor: ev::EventActor { id: e.id.clone(), attributes: e.attributes.clone() },
        scope: "local".into(),
        time: e.time_ns / 1_000_000_000,
        time_nano: e.time_ns,
    }
}

fn matches(f: &Filters, e: &engine::Event) -> bool {
    (!f.has("type") || f.get("type").iter().any(|t| t == e.kind))
        && (!f.has("event") || f.get("event").iter().any(|a| e.action == *a || e.action.starts_with(&format!("{a}:"))))
        && (!f.has("container")
            || (e.kind == "container"
                && f.get("container")
                    .iter()
                    .any(|c| e.id.starts_with(c.as_str()) || e.attributes.get("name") == Some(c))))
        && (!f.has("image") || f.get("image").iter().any(|i| e.attributes.get("image") == Some(i) || e.id == *i))
        && f.match_labels("label", &e.attributes)
}

async fn events(State(api): State<Api>, RawQuery(q): RawQuery) -> Result<Response, ApiError> {
    let q = Query::parse(q.as_deref());
    let f = Filters::parse(
        q.get("filters"),
        &[
            "type",
            "event",
            "container",
            "image",
            "label",
            "network",
            "volume",
            "daemon",
            "scope",
            "plugin",
            "node",
            "service",
            "secret",
            "config",
        ],
    )?;
    let until = q.get("until").filter(|u| !u.is_empty()).map(crate::containers::parse_timestamp).transpose()?;
    let since = q.get("since").filter(|u| !u.is_empty()).map(crate::containers::parse_timestamp).transpose()?;
    let (past, rx) = match since {
        Some(s) => api.engine.events().subscribe_since(s),
        None => (Vec::new(), api.engine.events().subscribe()),
    };
    let now = chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0);
    let past: std::collections::VecDeque<engine::Event> =
        past.into_iter().filter(|e| until.is_none_or(|u| e.time_ns <= u) && matches(&f, e)).collect();
    let deadline = until.map(|u| std::time::Duration::from_nanos(u64::try_from(u - now).unwrap_or(0)));
    let stream = futures_util::stream::unfold(
        (rx, f, deadline.map(|d| tokio::time::Instant::now() + d), past),
        |(mut rx, f, dl, mut past)| async move {
            if let Some(e) = past.pop_front() {
                let mut line = serde_json::to_vec(&to_wire(&e)).unwrap_or_default();
                line.push(b'\n');
                return Some((Ok::<_, std::io::Error>(Bytes::from(line)), (rx, f, dl, past)));
            }
            loop {
                let next = match dl {
                    Some(d) => match tokio::time::timeout_at(d, rx.recv()).await {
                        Ok(r) => r,
                        Err(_) => return None,
                    },
                    None => rx.recv().await,
                };
                match next {
                    Ok(e) if matches(&f, &e) => {
                        let mut line = serde_json::to_vec(&to_wire(&e)).unwrap_or_default();
                        line.push(b'\n');
                        return Some((Ok::<_, std::io::Error>(Bytes::from(line)), (rx, f, dl, past)));
                    }
                    Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(_) => return None,
                }
            }
        },
    );
    let mut r = Response::new(Body::from_stream(stream));
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Ok(r)
}
