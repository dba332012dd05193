//! `/images/...`. Image names may contain `/` (`localhost:5000/app:1`), so the per-image routes
//! are one catch-all that splits off the action suffix, as moby's `{name:.*}` routes do.

use api_types::image as w;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};

use crate::containers::{BodyPipe, body_pipe, pipe_body};
use crate::filters::{Filters, glob};
use crate::query::Query;
use crate::{Api, ApiError, json};

/// The routes.
pub fn routes() -> Router<Api> {
    Router::new()
        .route("/images/json", get(list))
        .route("/images/create", post(create))
        .route("/images/load", post(load))
        .route("/images/get", get(save))
        .route("/images/prune", post(prune))
        .route("/images/{*rest}", any(per_image))
}

/// JSON lines of progress messages, as `load`, `import` and `pull` answer.
fn json_lines(msgs: &[w::JsonMessage]) -> Response {
    let mut body = Vec::new();
    for m in msgs {
        body.extend(serde_json::to_vec(m).unwrap_or_default());
        body.push(b'\n');
    }
    (StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

fn stream_msg(s: String) -> w::JsonMessage {
    w::JsonMessage { stream: Some(s), ..Default::default() }
}

fn error_msg(e: &str) -> w::JsonMessage {
    w::JsonMessage {
        error: Some(e.to_owned()),
        error_detail: Some(w::ErrorDetail { message: Some(e.to_owned()), ..Default::default() }),
        ..Default::default()
    }
}

async fn list(State(api): State<Api>, RawQuery(q): RawQuery) -> Result<Response, ApiError> {
    let q = Query::parse(q.as_deref());
    let f =
        Filters::parse(q.get("filters"), &["dangling", "label", "label!", "reference", "before", "since", "until"])?;
    let dangling = f.bool("dangling")?;
    let before = match f.get("before").first() {
        Some(b) => Some(api.engine.image_inspect(b).await?.created.map_or(0, |t| t.timestamp())),
        None => None,
    };
    let since = match f.get("since").first() {
        Some(s) => Some(api.engine.image_inspect(s).await?.created.map_or(0, |t| t.timestamp())),
        None => None,
    };
    let until = f.get("until").first().map(|u| crate::containers::parse_until(u)).transpose()?;
    let mut out = Vec::new();
    for (i, containers) in api.engine.image_list() {
        if dangling.is_some_and(|d| d != i.repo_tags.is_empty()) {
            continue;
        }
        if !f.match_labels("label", &i.labels) {
            continue;
        }
        let mut i = i;
        if f.has("reference") {
            // As dockerd: keep the image if a reference matches, and only the matching ones.
            let matches = |t: &String| {
                f.get("reference").iter().any(|p| glob(p, t) || glob(p, t.rsplit_once(':').map_or(t.as_str(), |x| x.0)))
            };
            i.repo_tags.retain(|t| matches(t));
            i.repo_digests.retain(|t| f.get("reference").iter().any(|p| glob(p, t.split('@').next().unwrap_or(t))));
            if i.repo_tags.is_empty() && i.repo_digests.is_empty() {
                continue;
            }
        }
        if before.is_some_and(|b| i.created >= b)
            || since.is_some_and(|s| i.created <= s)
            || until.is_some_and(|u| i.created >= u)
        {
            continue;
        }
        let size = i64::try_from(i.size).unwrap_or(i64::MAX);
        out.push(w::ImageSummary {
            id: i.id.to_string(),
            parent_id: String::new(),
            repo_tags: i.repo_tags.clone(),
            repo_digests: i.repo_digests.clone(),
            created: i.created,
            size,
            shared_size: -1,
            labels: i.labels.clone(),
            containers: i64::try_from(containers).unwrap_or(0),
            ..Default::default()
        });
    }
    Ok(json(StatusCode::OK, &out))
}

async fn create(State(api): State<Api>, RawQuery(q): RawQuery, body: Body) -> Result<Response, ApiError> {
    let q = Query::parse(q.as_deref());
    if let Some(src) = q.get("fromSrc").filter(|s| !s.is_empty()) {
        if src != "-" {
            return Err(ApiError::bad_request(format!("importing from a URL is not supported: {src}")));
        }
        let repo = q.get("repo").filter(|r| !r.is_empty());
        let tag = q.get("tag").filter(|t| !t.is_empty());
        let reference = repo.map(|r| match tag {
            Some(t) => format!("{r}:{t}"),
            None => r.to_owned(),
        });
        let opts = engine::image_types::ImportOptions {
            reference,
            message: q.get("message").filter(|m| !m.is_empty()).map(str::to_owned),
            changes: q.all("changes"),
            source: None,
        };
        let (reader, feeder) = body_pipe(body).split();
        let r = api.engine.image_import(reader, opts).await;
        BodyPipe::drained(feeder).await;
        return match r {
            Ok(id) => Ok(json_lines(&[w::JsonMessage { status: Some(id), ..Default::default() }])),
            Err(e) => {
                let e = ApiError::from(e);
                if e.status == StatusCode::INTERNAL_SERVER_ERROR {
                    Ok(json_lines(&[error_msg(&e.message)]))
                } else {
                    Err(e)
                }
            }
        };
    }
    if let Some(img) = q.get("fromImage").filter(|s| !s.is_empty()) {
        let tag = q.get("tag").filter(|t| !t.is_empty()).unwrap_or("latest");
        let name = if img.contains('@') || img.rsplit('/').next().is_some_and(|l| l.contains(':')) {
            img.to_owned()
        } else {
            format!("{img}:{tag}")
        };
        // Registries come later: say so in the stream, as dockerd reports pull failures.
        return Ok(json_lines(&[error_msg(&format!(
            "pull access denied for {name}: pulling from registries is not supported by this berth version; load the image with `docker load` or `docker import`"
        ))]));
    }
    Err(ApiError::bad_request("either fromSrc or fromImage must be given"))
}

async fn load(State(api): State<Api>, RawQuery(q): RawQuery, body: Body) -> Result<Response, ApiError> {
    // `quiet` only hides progress bars, which `load` doesn't send.
    let _ = q;
    let (reader, feeder) = body_pipe(body).split();
    let r = api.engine.image_load(reader).await;
    BodyPipe::drained(feeder).await;
    match r {
        Ok(lines) => Ok(json_lines(&lines.into_iter().map(|l| stream_msg(format!("{l}\n"))).collect::<Vec<_>>())),
        Err(e) => {
            let e = ApiError::from(e);
            if e.status.is_server_error() || e.status == StatusCode::BAD_REQUEST {
                Ok(json_lines(&[error_msg(&e.message)]))
            } else {
                Err(e)
            }
        }
    }
}

async fn save(State(api): State<Api>, RawQuery(q): RawQuery) -> Result<Response, ApiError> {
    let q = Query::parse(q.as_deref());
    let names = q.all("names");
    if names.is_empty() {
        return Err(ApiError::bad_request("no images given"));
    }
    let (body, w) = pipe_body();
    api.engine.image_save(names, w).await?;
    let mut resp = Response::new(body);
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/x-tar"));
    Ok(resp)
}

async fn prune(State(api): State<Api>, RawQuery(q): RawQuery) -> Result<Response, ApiError> {
    let q = Query::parse(q.as_deref());
    let f = Filters::parse(q.get("filters"), &["dangling", "until", "label", "label!"])?;
    let all = f.bool("dangling")? == Some(false);
    let report = api.engine.image_prune(all).await?;
    Ok(json(
        StatusCode::OK,
        &w::ImagePruneResponse {
            images_deleted: delete_items(&report.entries),
            space_reclaimed: report.space_reclaimed,
        },
    ))
}

fn delete_items(entries: &[engine::ImageDeleteItem]) -> Vec<w::ImageDeleteResponseItem> {
    entries
        .iter()
        .map(|e| match e {
            engine::ImageDeleteItem::Untagged(r) => {
                w::ImageDeleteResponseItem { untagged: Some(r.clone()), deleted: None }
            }
            engine::ImageDeleteItem::Deleted(d) => {
                w::ImageDeleteResponseItem { untagged: None, deleted: Some(d.to_string()) }
            }
        })
        .collect()
}

async fn per_image(
    State(api): State<Api>,
    method: Method,
    Path(rest): Path<String>,
    RawQuery(q): RawQuery,
    _body: Bytes,
) -> Result<Response, ApiError> {
    let q = Query::parse(q.as_deref());
    if method == Method::DELETE {
        let out = api.engine.image_remove(&rest, q.bool("force")).await?;
        return Ok(json(StatusCode::OK, &delete_items(&out)));
    }
    let (name, action) = rest.rsplit_once('/').ok_or_else(|| ApiError::not_found("page not found"))?;
    match (method, action) {
        (Method::GET, "json") => inspect(&api, name).await,
        (Method::GET, "history") => history(&api, name).await,
        (Method::POST, "tag") => {
            let repo = q
                .get("repo")
                .filter(|r| !r.is_empty())
                .ok_or_else(|| ApiError::bad_request("repository name must have at least one component"))?;
            let target = match q.get("tag").filter(|t| !t.is_empty()) {
                Some(t) => format!("{repo}:{t}"),
                None => repo.to_owned(),
            };
            api.engine.image_tag(name, &target).await?;
            Ok(StatusCode::CREATED.into_response())
        }
        (Method::POST, "push") => {
            Err(ApiError::internal("pushing to registries is not supported by this berth version"))
        }
        _ => Err(ApiError::not_found("page not found")),
    }
}

async fn inspect(api: &Api, name: &str) -> Result<Response, ApiError> {
    let i = api.engine.image_inspect(name).await?;
    let cfg = i.config.config.clone().unwrap_or_default();
    let out = w::ImageInspect {
        id: i.id.to_string(),
        repo_tags: i.repo_tags.clone(),
        repo_digests: i.repo_digests.clone(),
        parent: String::new(),
        comment: i.config.comment.clone().unwrap_or_default(),
        created: i.config.created.clone(),
        docker_version: String::new(),
        author: i.config.author.clone().unwrap_or_default(),
        config: Some(w::ImageConfig {
            user: cfg.user.clone().unwrap_or_default(),
            exposed_ports: cfg
                .exposed_ports
                .as_ref()
                .map(|p| p.keys().map(|k| (k.clone(), api_types::EmptyObject)).collect())
                .unwrap_or_default(),
            env: cfg.env.clone(),
            cmd: cfg.cmd.clone(),
            volumes: cfg.volumes.as_ref().map(|v| v.keys().map(|k| (k.clone(), api_types::EmptyObject)).collect()),
            working_dir: cfg.working_dir.clone().unwrap_or_default(),
            entrypoint: cfg.entrypoint.clone(),
            on_build: cfg.on_build.clone(),
            labels: cfg.labels.clone(),
            stop_signal: cfg.stop_signal.clone().unwrap_or_default(),
            shell: cfg.shell.clone(),
            ..Default::default()
        }),
        architecture: i.config.architecture.clone(),
        variant: i.config.variant.clone().unwrap_or_default(),
        os: i.config.os.clone(),
        os_version: i.config.os_version.clone().unwrap_or_default(),
        size: i64::try_from(i.size).unwrap_or(i64::MAX),
        graph_driver: api_types::container::DriverData { name: "overlay2".into(), data: Default::default() },
        root_fs: w::RootFs {
            r#type: "layers".into(),
            layers: i.config.rootfs.diff_ids.iter().map(ToString::to_string).collect(),
        },
        metadata: w::ImageMetadata {
            last_tag_time: Some(
                i.recorded.map(|t| crate::convert::rfc3339(&t)).unwrap_or_else(|| crate::convert::ZERO_TIME.into()),
            ),
        },
        ..Default::default()
    };
    Ok(json(StatusCode::OK, &out))
}

async fn history(api: &Api, name: &str) -> Result<Response, ApiError> {
    let h = api.engine.image_history(name).await?;
    let out: Vec<w::HistoryResponseItem> = h
        .into_iter()
        .map(|e| w::HistoryResponseItem {
            id: e.id.map(|d| d.to_string()).unwrap_or_else(|| "<missing>".into()),
            created: e.created,
            created_by: e.created_by,
            tags: e.tags,
            size: i64::try_from(e.size).unwrap_or(i64::MAX),
            comment: e.comment,
        })
        .collect();
    Ok(json(StatusCode::OK, &out))
}
