//! Whole-container persistence: Docker's `POST /commit`, and berth's extensions
//! `POST /containers/{id}/upgrade?image=&prefer=` (re-make a container on a newer image, keeping
//! its writable layer), `GET /persist` and `DELETE /persist/{name}` (the writable layers kept by
//! `run --persist`).

use api_types::berth as b;
use api_types::container as w;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};

use crate::containers::parse_json;
use crate::convert;
use crate::query::Query;
use crate::{Api, ApiError, json};

/// The routes.
pub fn routes() -> Router<Api> {
    Router::new()
        .route("/commit", post(commit))
        .route("/containers/{id}/upgrade", post(upgrade))
        .route("/persist", get(list))
        .route("/persist/{name}", delete(remove))
}

/// `POST /commit?container=&repo=&tag=&comment=&author=&pause=&changes=`, with an optional
/// `ContainerConfig` body (the docker CLI sends `null`).
async fn commit(State(api): State<Api>, RawQuery(q): RawQuery, body: Bytes) -> Result<Response, ApiError> {
    let q = Query::parse(q.as_deref());
    let container = q
        .get("container")
        .filter(|c| !c.is_empty())
        .ok_or_else(|| ApiError::bad_request("no container given to commit (the container query parameter)"))?;
    let repo = q.get("repo").filter(|r| !r.is_empty());
    let tag = q.get("tag").filter(|t| !t.is_empty());
    let reference = match (repo, tag) {
        (Some(r), Some(t)) => Some(format!("{r}:{t}")),
        (Some(r), None) => Some(r.to_owned()),
        (None, Some(t)) => return Err(ApiError::bad_request(format!("a tag ({t}) needs a repository"))),
        (None, None) => None,
    };
    let given: Option<w::ContainerConfig> = parse_json::<Option<w::ContainerConfig>>(&body)?;
    let config = match given.filter(|c| *c != w::ContainerConfig::default()) {
        Some(c) => {
            let req = w::ContainerCreateRequest { config: c, ..Default::default() };
            Some(convert::create_request(req, None)?.config)
        }
        None => None,
    };
    let req = engine::CommitRequest {
        reference,
        comment: q.get("comment").filter(|c| !c.is_empty()).map(str::to_owned),
        author: q.get("author").filter(|a| !a.is_empty()).map(str::to_owned),
        changes: q.all("changes").into_iter().filter(|c| !c.trim().is_empty()).collect(),
        pause: q.bool_or("pause", true),
        config,
    };
    let id = api.engine.commit(container, req).await?;
    Ok(json(StatusCode::CREATED, &api_types::IdResponse { id }))
}

/// `POST /containers/{id}/upgrade?image=&prefer=container|image`.
async fn upgrade(State(api): State<Api>, Path(id): Path<String>, RawQuery(q): RawQuery) -> Result<Response, ApiError> {
    let q = Query::parse(q.as_deref());
    let prefer = q.get("prefer").filter(|p| !p.is_empty()).map(str::parse::<engine::Prefer>).transpose()?;
    let req = engine::UpgradeRequest { image: q.get("image").filter(|i| !i.is_empty()).map(str::to_owned), prefer };
    let r = api.engine.upgrade(&id, req).await?;
    Ok(json(
        StatusCode::OK,
        &b::ContainerUpgradeResponse {
            old_image: r.old_image,
            new_image: r.new_image,
            collisions: r.collisions,
            restarted: r.restarted,
        },
    ))
}

/// `GET /persist`: the kept writable layers.
async fn list(State(api): State<Api>) -> Result<Response, ApiError> {
    let out: Vec<b::PersistentLayer> = api
        .engine
        .persist_list()
        .await?
        .into_iter()
        .map(|l| b::PersistentLayer {
            name: l.name,
            container: l.container.unwrap_or_default(),
            size: l.size,
            path: l.path.display().to_string(),
        })
        .collect();
    Ok(json(StatusCode::OK, &out))
}

/// `DELETE /persist/{name}`.
async fn remove(State(api): State<Api>, Path(name): Path<String>) -> Result<Response, ApiError> {
    api.engine.persist_remove(&name).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
