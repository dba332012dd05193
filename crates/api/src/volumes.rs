//! `/volumes/...`, `GET /system/df`, and berth's `/containers/{id}/mounts` extension (attach
//! and detach mounts of a running container).

use api_types::volume as w;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::containers::parse_json;
use crate::convert::rfc3339;
use crate::filters::Filters;
use crate::query::Query;
use crate::{Api, ApiError, json};

/// The routes.
pub fn routes() -> Router<Api> {
    Router::new()
        .route("/volumes", get(list))
        .route("/volumes/create", post(create))
        .route("/volumes/prune", post(prune))
        .route("/volumes/{name}", get(inspect).delete(remove))
        .route("/system/df", get(df))
        .route("/containers/{id}/mounts", post(mount_add).delete(mount_remove))
}

/// The wire form of a volume.
fn volume_out(v: &engine::volumes::Volume, usage: Option<w::VolumeUsageData>) -> w::Volume {
    w::Volume {
        name: v.name.clone(),
        driver: v.driver.clone(),
        mountpoint: v.mountpoint.display().to_string(),
        created_at: rfc3339(&v.created),
        labels: Some(v.labels.clone()),
        scope: "local".into(),
        options: Some(v.options.clone()),
        usage_data: usage,
        ..Default::default()
    }
}

fn matches(f: &Filters, api: &Api, v: &engine::volumes::Volume) -> Result<bool, ApiError> {
    if f.has("name") && !f.get("name").iter().any(|n| v.name.contains(n.as_str())) {
        return Ok(false);
    }
    if f.has("driver") && !f.get("driver").iter().any(|d| d == &v.driver) {
        return Ok(false);
    }
    if let Some(d) = f.bool("dangling")?
        && d != (api.engine.volume_ref_count(&v.name) == 0)
    {
        return Ok(false);
    }
    Ok(f.match_labels("label", &v.labels))
}

async fn list(State(api): State<Api>, RawQuery(q): RawQuery) -> Result<Response, ApiError> {
    let q = Query::parse(q.as_deref());
    let f = Filters::parse(q.get("filters"), &["dangling", "driver", "label", "name"])?;
    let mut volumes = Vec::new();
    for v in api.engine.volume_list() {
        if matches(&f, &api, &v)? {
            volumes.push(volume_out(&v, None));
        }
    }
    Ok(json(StatusCode::OK, &w::VolumeListResponse { volumes, warnings: Vec::new() }))
}

async fn create(State(api): State<Api>, body: Bytes) -> Result<Response, ApiError> {
    let req: w::VolumeCreateOptions = parse_json(&body)?;
    if req.cluster_volume_spec.is_some() {
        return Err(ApiError::bad_request("cluster volumes are not supported by berth"));
    }
    let name = (!req.name.is_empty()).then_some(req.name);
    let v = api.engine.volume_create(name, &req.driver, req.driver_opts, req.labels).await?;
    Ok(json(StatusCode::CREATED, &volume_out(&v, None)))
}

async fn inspect(State(api): State<Api>, Path(name): Path<String>) -> Result<Response, ApiError> {
    let v = api.engine.volume(&name)?;
    Ok(json(StatusCode::OK, &volume_out(&v, None)))
}

async fn remove(State(api): State<Api>, Path(name): Path<String>, RawQuery(q): RawQuery) -> Result<Response, ApiError> {
    let q = Query::parse(q.as_deref());
    api.engine.volume_remove(&name, q.bool("force")).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn prune(State(api): State<Api>, RawQuery(q): RawQuery) -> Result<Response, ApiError> {
    let q = Query::parse(q.as_deref());
    let f = Filters::parse(q.get("filters"), &["label", "label!", "all"])?;
    // Since API 1.42 only anonymous volumes go, unless `all=true`.
    let all = f.bool("all")?.unwrap_or(false);
    let (deleted, reclaimed) = api
        .engine
        .volume_prune(|v| {
            (all || v.is_anonymous())
                && f.match_labels("label", &v.labels)
                && f.get("label!").iter().all(|l| {
                    let (k, val) = l.split_once('=').unwrap_or((l.as_str(), ""));
                    v.labels.get(k).is_none_or(|x| !val.is_empty() && x != val)
                })
        })
        .await?;
    Ok(json(StatusCode::OK, &w::VolumePruneResponse { volumes_deleted: deleted, space_reclaimed: reclaimed }))
}

/// `GET /system/df`: images, containers (with their writable layers' sizes), volumes (with
/// sizes and reference counts); berth has no build cache.
async fn df(State(api): State<Api>, RawQuery(q): RawQuery) -> Result<Response, ApiError> {
    let q = Query::parse(q.as_deref());
    let types = q.all("type");
    for t in &types {
        if !matches!(t.as_str(), "container" | "image" | "volume" | "build-cache") {
            return Err(ApiError::bad_request(format!("unknown object type: {t}")));
        }
    }
    let want = |t: &str| types.is_empty() || types.iter().any(|x| x == t);
    let mut out = api_types::system::SystemDataUsageResponse::default();
    if want("image") {
        let mut images = Vec::new();
        for (i, containers) in api.engine.image_list() {
            let size = i64::try_from(i.size).unwrap_or(i64::MAX);
            out.layers_size += size;
            images.push(api_types::image::ImageSummary {
                id: i.id.to_string(),
                repo_tags: i.repo_tags.clone(),
                repo_digests: i.repo_digests.clone(),
                created: i.created,
                size,
                shared_size: 0,
                labels: i.labels.clone(),
                containers: i64::try_from(containers).unwrap_or(0),
                ..Default::default()
            });
        }
        out.images = Some(images);
    }
    if want("container") {
        let now = chrono::Utc::now();
        let mut containers = Vec::new();
        for c in api.engine.containers() {
            let image = api.engine.images().resolve(&c.image_id).ok();
            let image_name =
                image.as_ref().and_then(|i| i.repo_tags.first().cloned()).unwrap_or_else(|| c.config.image.clone());
            let mut s = crate::convert::summary(&c, image_name, now, &api.engine);
            let (rw, rootfs) = api.engine.container_size(&c.id).await.unwrap_or((0, 0));
            s.size_rw = Some(rw);
            s.size_root_fs = Some(rootfs);
            containers.push(s);
        }
        out.containers = Some(containers);
    }
    if want("volume") {
        let mut volumes = Vec::new();
        for v in api.engine.volume_list() {
            let size = api.engine.volume_size(&v.name).await;
            let usage = w::VolumeUsageData {
                size: i64::try_from(size).unwrap_or(i64::MAX),
                ref_count: i64::try_from(api.engine.volume_ref_count(&v.name)).unwrap_or(0),
            };
            volumes.push(volume_out(&v, Some(usage)));
        }
        out.volumes = Some(volumes);
    }
    if want("build-cache") {
        out.build_cache = Some(Vec::new());
    }
    Ok(json(StatusCode::OK, &out))
}

/// `POST /containers/{id}/mounts` (berth): body is a Docker `Mount` (`--mount`'s fields).
async fn mount_add(State(api): State<Api>, Path(id): Path<String>, body: Bytes) -> Result<Response, ApiError> {
    let m: api_types::container::Mount = parse_json(&body)?;
    let spec = crate::convert::mount_spec_in(&m)?;
    api.engine.mount_add(&id, spec).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `DELETE /containers/{id}/mounts?destination=PATH` (berth).
async fn mount_remove(
    State(api): State<Api>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let q = Query::parse(q.as_deref());
    let dst = q
        .get("destination")
        .filter(|d| !d.is_empty())
        .ok_or_else(|| ApiError::bad_request("missing destination: name the container path of the mount to remove"))?;
    api.engine.mount_remove(&id, dst).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
