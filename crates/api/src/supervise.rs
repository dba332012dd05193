//! berth's supervisor extension: `GET /containers/{id}/supervisor` (the programs and their
//! states) and `POST /containers/{id}/supervisor/{action}?program=NAME[&signal=SIG]` with
//! `start`, `stop`, `restart` and `signal` (`program=all` for every one).

use api_types::berth::SupervisedProgram;
use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::query::Query;
use crate::{Api, ApiError, json};

/// The routes.
pub fn routes() -> Router<Api> {
    Router::new()
        .route("/containers/{id}/supervisor", get(status))
        .route("/containers/{id}/supervisor/{action}", post(control))
}

/// The programs of a supervised container in the wire form (also in inspect).
pub(crate) async fn programs(api: &Api, id: &str) -> Result<Vec<SupervisedProgram>, ApiError> {
    Ok(api
        .engine
        .supervise_status(id)
        .await?
        .into_iter()
        .map(|p| SupervisedProgram {
            name: p.name,
            state: p.state,
            pid: p.pid,
            uptime: p.uptime,
            description: p.description,
        })
        .collect())
}

async fn status(State(api): State<Api>, Path(id): Path<String>) -> Result<Response, ApiError> {
    Ok(json(StatusCode::OK, &programs(&api, &id).await?))
}

async fn control(
    State(api): State<Api>,
    Path((id, action)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let q = Query::parse(q.as_deref());
    let program = q
        .get("program")
        .filter(|p| !p.is_empty() && !p.contains(char::is_whitespace))
        .ok_or_else(|| ApiError::bad_request("missing program: name one, or all"))?;
    let request = match action.as_str() {
        "start" | "stop" | "restart" => format!("{action} {program}"),
        "signal" => {
            let sig = q
                .get("signal")
                .filter(|s| !s.is_empty() && !s.contains(char::is_whitespace))
                .ok_or_else(|| ApiError::bad_request("missing signal"))?;
            format!("signal {sig} {program}")
        }
        other => {
            return Err(ApiError::bad_request(format!(
                "unknown supervisor action {other:?}: use start, stop, restart or signal"
            )));
        }
    };
    api.engine.supervise(&id, &request).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
