//! `/networks/...`, and berth's `/containers/{id}/ports` extension (publish and unpublish ports
//! of a running container).

use std::collections::BTreeMap;

use api_types::network as w;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};

use crate::containers::parse_json;
use crate::convert::rfc3339;
use crate::filters::Filters;
use crate::query::Query;
use crate::{Api, ApiError, json};

/// The routes.
pub fn routes() -> Router<Api> {
    Router::new()
        .route("/networks", get(list))
        .route("/networks/create", post(create))
        .route("/networks/prune", post(prune))
        .route("/networks/{id}", get(inspect).delete(remove))
        .route("/networks/{id}/connect", post(connect))
        .route("/networks/{id}/disconnect", post(disconnect))
        .route("/containers/{id}/ports", post(ports_add))
        .route("/containers/{id}/ports/{port}", delete(ports_remove))
}

/// The wire form of a network; `containers` only for inspect.
fn network_out(v: &engine::NetworkView, containers: bool) -> w::Network {
    let n = &v.network;
    let predefined = n.is_predefined();
    let config = match n.subnet {
        Some(s) => vec![w::IpamConfig {
            subnet: s.to_string(),
            gateway: n.gateway.map(|g| g.to_string()).unwrap_or_default(),
            ip_range: n.ip_range.map(|r| r.to_string()).unwrap_or_default(),
            auxiliary_addresses: n.aux_addresses.iter().map(|(k, v)| (k.clone(), v.to_string())).collect(),
        }],
        None => Vec::new(),
    };
    w::Network {
        name: n.name.clone(),
        id: n.id.clone(),
        created: rfc3339(&n.created),
        scope: "local".into(),
        driver: n.driver.clone(),
        enable_ipv4: true,
        enable_ipv6: false,
        ipam: w::Ipam { driver: "default".into(), config, options: (!predefined).then(BTreeMap::new) },
        internal: n.internal,
        attachable: n.attachable,
        containers: if containers {
            v.containers
                .iter()
                .map(|(id, name, ep)| {
                    (
                        id.clone(),
                        w::NetworkContainer {
                            name: name.clone(),
                            endpoint_id: ep.endpoint_id.clone(),
                            mac_address: ep.mac.clone(),
                            ipv4_address: format!("{}/{}", ep.ip, ep.prefix_len),
                            ipv6_address: String::new(),
                        },
                    )
                })
                .collect()
        } else {
            BTreeMap::new()
        },
        options: n.options.clone(),
        labels: n.labels.clone(),
        ..Default::default()
    }
}

const LIST_FILTERS: &[&str] = &["dangling", "driver", "id", "label", "name", "scope", "type"];

fn matches(f: &Filters, v: &engine::NetworkView) -> Result<bool, ApiError> {
    let n = &v.network;
    if f.has("driver") && !f.get("driver").contains(&n.driver) {
        return Ok(false);
    }
    if f.has("id") && !f.get("id").iter().any(|i| n.id.starts_with(i.as_str())) {
        return Ok(false);
    }
    if f.has("name") && !f.get("name").iter().any(|x| n.name.contains(x.as_str())) {
        return Ok(false);
    }
    if f.has("scope") && !f.get("scope").iter().any(|s| s == "local") {
        return Ok(false);
    }
    for t in f.get("type") {
        match t.as_str() {
            "custom" if n.is_predefined() => return Ok(false),
            "builtin" if !n.is_predefined() => return Ok(false),
            "custom" | "builtin" => {}
            _ => return Err(ApiError::bad_request(format!("invalid filter: 'type'='{t}'"))),
        }
    }
    if let Some(d) = f.get("dangling").first() {
        let want = match d.as_str() {
            "true" | "1" => true,
            "false" | "0" => false,
            _ => return Err(ApiError::bad_request(format!("invalid filter 'dangling={d}'"))),
        };
        // Dangling: a custom network no container uses.
        if want != (!n.is_predefined() && v.containers.is_empty()) {
            return Ok(false);
        }
    }
    Ok(f.match_labels("label", &n.labels))
}

async fn list(State(api): State<Api>, RawQuery(q): RawQuery) -> Result<Response, ApiError> {
    let q = Query::parse(q.as_deref());
    let f = Filters::parse(q.get("filters"), LIST_FILTERS)?;
    let mut out = Vec::new();
    for v in api.engine.networks() {
        if matches(&f, &v)? {
            out.push(network_out(&v, false));
        }
    }
    Ok(json(StatusCode::OK, &out))
}

async fn inspect(State(api): State<Api>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let v = api.engine.network(&id)?;
    Ok(json(StatusCode::OK, &network_out(&v, true)))
}

async fn create(State(api): State<Api>, body: Bytes) -> Result<Response, ApiError> {
    let req: w::NetworkCreateRequest = parse_json(&body)?;
    if req.enable_ipv6 == Some(true) {
        return Err(ApiError::bad_request("IPv6 networks are not supported by this berth version"));
    }
    if req.config_only || req.config_from.is_some() || req.ingress || (!req.scope.is_empty() && req.scope != "local") {
        return Err(ApiError::bad_request("swarm and config-only networks are not supported by berth"));
    }
    let ipam = req.ipam.unwrap_or_default();
    if !ipam.driver.is_empty() && ipam.driver != "default" {
        return Err(ApiError::bad_request(format!(
            "IPAM driver {} is not supported: berth's is 'default'",
            ipam.driver
        )));
    }
    if ipam.config.len() > 1 {
        return Err(ApiError::bad_request("berth networks have one IPv4 subnet"));
    }
    let c = ipam.config.into_iter().next().unwrap_or_default();
    let some = |s: String| (!s.is_empty()).then_some(s);
    let n = api
        .engine
        .network_create(engine::NetworkCreate {
            name: req.name,
            driver: req.driver,
            subnet: some(c.subnet),
            gateway: some(c.gateway),
            ip_range: some(c.ip_range),
            aux_addresses: c.auxiliary_addresses,
            internal: req.internal,
            attachable: req.attachable,
            options: req.options,
            labels: req.labels,
        })
        .await?;
    Ok(json(StatusCode::CREATED, &w::NetworkCreateResponse { id: n.id, warning: String::new() }))
}

async fn remove(State(api): State<Api>, Path(id): Path<String>) -> Result<Response, ApiError> {
    api.engine.network_remove(&id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn prune(State(api): State<Api>, RawQuery(q): RawQuery) -> Result<Response, ApiError> {
    let q = Query::parse(q.as_deref());
    let f = Filters::parse(q.get("filters"), &["label", "label!", "until"])?;
    let until = f.get("until").first().map(|u| crate::containers::parse_until(u)).transpose()?;
    let deleted = api
        .engine
        .network_prune(|n| {
            let labels_ok = f.match_labels("label", &n.labels)
                && f.get("label!").iter().all(|l| {
                    let (k, v) = l.split_once('=').unwrap_or((l.as_str(), ""));
                    n.labels.get(k).is_none_or(|x| !v.is_empty() && x != v)
                });
            // Kept: what the filters don't select.
            !labels_ok || until.is_some_and(|u| n.created.timestamp() >= u)
        })
        .await?;
    Ok(json(StatusCode::OK, &w::NetworkPruneResponse { networks_deleted: deleted }))
}

async fn connect(State(api): State<Api>, Path(id): Path<String>, body: Bytes) -> Result<Response, ApiError> {
    let req: w::NetworkConnectRequest = parse_json(&body)?;
    let e = req.endpoint_config.unwrap_or_default();
    let cfg = crate::convert::endpoint_config(&e, "")?;
    api.engine.network_connect(&id, &req.container, cfg).await?;
    Ok(StatusCode::OK.into_response())
}

async fn disconnect(State(api): State<Api>, Path(id): Path<String>, body: Bytes) -> Result<Response, ApiError> {
    let req: w::NetworkDisconnectRequest = parse_json(&body)?;
    api.engine.network_disconnect(&id, &req.container, req.force).await?;
    Ok(StatusCode::OK.into_response())
}

fn ports_response(api: &Api, id: &str) -> Result<Response, ApiError> {
    let c = api.engine.inspect(id)?;
    Ok(json(StatusCode::OK, &w::PortsResponse { ports: crate::convert::ports_out(&c) }))
}

async fn ports_add(State(api): State<Api>, Path(id): Path<String>, body: Bytes) -> Result<Response, ApiError> {
    let req: w::PortsAddRequest = parse_json(&body)?;
    let bindings = crate::convert::port_bindings(&req.port_bindings);
    if bindings.is_empty() {
        return Err(ApiError::bad_request("no port bindings given"));
    }
    api.engine.port_add(&id, bindings).await?;
    ports_response(&api, &id)
}

async fn ports_remove(
    State(api): State<Api>,
    Path((id, port)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let q = Query::parse(q.as_deref());
    let port: u16 = port.parse().map_err(|_| ApiError::bad_request(format!("invalid host port: {port}")))?;
    let proto = net::firewall::Proto::parse(q.get("proto").unwrap_or("tcp"))
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let host_ip = q
        .get("host_ip")
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().map_err(|_| ApiError::bad_request(format!("invalid host IP: {s}"))))
        .transpose()?;
    api.engine.port_remove(&id, port, proto, host_ip).await?;
    ports_response(&api, &id)
}
