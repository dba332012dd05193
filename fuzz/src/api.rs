//! API request decoding, from the request line and body to the engine's model.
//!
//! Input: a request line and a body, as on the wire (`POST /v1.51/containers/create?name=x`,
//! a newline, then the body). The path's version prefix is split off as the server does, the
//! query string is parsed with every helper the handlers use on it (booleans, integers,
//! `filters` with every key, `since`/`until` timestamps, detach keys), and the body is decoded as
//! each request type the API takes (container create and update, commit, exec, network create and
//! connect, port bindings, volume create, mounts) and converted the way the handlers convert it
//! (`api::convert`), then checked the way the engine checks it (bind and mount specs, volume
//! names, subnets, host ports, container ports, MAC addresses).
//!
//! Properties: no panic and no hang (filters' globs and name patterns run on what the input
//! gives); a converted create request keeps the name and every bind of the request; a query
//! value survives percent-encoding and parsing again.

use std::collections::BTreeMap;

use api::convert;
use api::filters::{Filters, glob, name_matches};
use api::query::Query;
use api_types::container as w;
use api_types::network as nw;

/// Every filter key any endpoint accepts.
const FILTER_KEYS: &[&str] = &[
    "ancestor",
    "before",
    "dangling",
    "driver",
    "event",
    "exited",
    "expose",
    "health",
    "id",
    "is-task",
    "isolation",
    "label",
    "label!",
    "name",
    "network",
    "publish",
    "reference",
    "scope",
    "since",
    "status",
    "type",
    "until",
    "volume",
    "container",
    "image",
    "daemon",
    "plugin",
    "node",
    "service",
    "config",
    "secret",
];

fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn query(q: Option<&str>) {
    let q = Query::parse(q);
    let keys = ["name", "force", "all", "size", "since", "until", "filters", "tail", "t", "h", "w", "signal"];
    for k in keys {
        let _ = q.bool(k);
        let _ = q.bool_or(k, true);
        let _ = q.int(k);
        for v in q.all(k) {
            // A value survives encoding and parsing again.
            let again = Query::parse(Some(&format!("{k}={}", percent_encode(&v))));
            assert_eq!(again.get(k), Some(v.as_str()), "query value {v:?} did not survive a round trip");
        }
    }
    for k in ["since", "until"] {
        if let Some(v) = q.get(k) {
            let _ = api::containers::parse_timestamp(v);
            let _ = api::containers::parse_until(v);
        }
    }
    if let Some(k) = q.get("detachKeys") {
        let _ = api::streams::parse_detach_keys(k);
    }
    if let Ok(f) = Filters::parse(q.get("filters"), FILTER_KEYS) {
        let labels: BTreeMap<String, String> =
            [("a".to_owned(), "1".to_owned()), ("com.example.x".to_owned(), String::new())].into();
        let names =
            ["busybox:latest", "localhost:5000/app/web:1.0", "web-1", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"];
        for k in FILTER_KEYS {
            let _ = f.bool(k);
            let _ = f.match_labels(k, &labels);
            for p in f.get(k) {
                for n in names {
                    let _ = glob(p, n);
                    let _ = name_matches(p, n);
                }
            }
        }
    }
}

fn engine_checks(req: &engine::CreateRequest) {
    for b in &req.host_config.binds {
        let _ = engine::volumes::parse_bind(b);
    }
    for m in &req.host_config.mounts {
        let _ = engine::volumes::from_spec(m);
    }
    for (key, bindings) in &req.host_config.port_bindings {
        let _ = net::ports::parse_container_port(key);
        for b in bindings {
            let _ = net::ports::PortRange::parse(&b.host_port);
        }
    }
    for e in req.endpoints.values() {
        if let Some(m) = &e.mac_address {
            let _ = net::link::parse_mac(m);
        }
    }
    for k in &req.config.exposed_ports {
        let _ = net::ports::parse_container_port(k);
    }
}

fn create(req: w::ContainerCreateRequest, name: Option<String>) {
    let binds = req.host_config.as_ref().and_then(|h| h.binds.clone()).unwrap_or_default();
    if let Ok(c) = convert::create_request(req, name.clone()) {
        assert_eq!(c.name, name);
        assert_eq!(c.host_config.binds, binds);
        engine_checks(&c);
    }
}

fn body(b: &[u8], name: Option<String>) {
    if let Ok(req) = serde_json::from_slice::<w::ContainerCreateRequest>(b) {
        create(req, name);
    }
    if let Ok(Some(c)) = serde_json::from_slice::<Option<w::ContainerConfig>>(b) {
        create(w::ContainerCreateRequest { config: c, ..Default::default() }, None);
    }
    if let Ok(req) = serde_json::from_slice::<w::ContainerUpdateRequest>(b) {
        let _ = convert::update_in(&req);
    }
    if let Ok(m) = serde_json::from_slice::<w::Mount>(b)
        && let Ok(spec) = convert::mount_spec_in(&m)
    {
        let _ = engine::volumes::from_spec(&spec);
    }
    if let Ok(x) = serde_json::from_slice::<api_types::exec::ExecConfig>(b) {
        let _ = api::streams::parse_detach_keys(&x.detach_keys);
        let _ = x.console_size.as_ref().map(|c| convert::console_size(c));
    }
    if let Ok(n) = serde_json::from_slice::<nw::NetworkCreateRequest>(b) {
        let _ = engine::volumes::check_name(&n.name);
        for c in n.ipam.iter().flat_map(|i| &i.config) {
            let subnet = c.subnet.parse::<ipnet::Ipv4Net>();
            let gateway = c.gateway.parse::<std::net::Ipv4Addr>().ok();
            let range = c.ip_range.parse::<ipnet::Ipv4Net>().ok();
            if let Ok(s) = subnet
                && let Ok(mut s) = net::ipam::Subnet::new(s, gateway, range)
            {
                for a in c.auxiliary_addresses.values() {
                    if let Ok(ip) = a.parse() {
                        let _ = s.reserve(ip);
                    }
                }
                let _ = s.allocate();
            }
        }
    }
    if let Ok(c) = serde_json::from_slice::<nw::NetworkConnectRequest>(b)
        && let Some(e) = c.endpoint_config
        && let Ok(e) = convert::endpoint_config(&e, "")
        && let Some(m) = &e.mac_address
    {
        let _ = net::link::parse_mac(m);
    }
    if let Ok(p) = serde_json::from_slice::<nw::PortsAddRequest>(b) {
        for (key, bindings) in convert::port_bindings(&p.port_bindings) {
            let _ = net::ports::parse_container_port(&key);
            for b in bindings {
                let _ = net::ports::PortRange::parse(&b.host_port);
            }
        }
    }
    if let Ok(v) = serde_json::from_slice::<api_types::volume::VolumeCreateOptions>(b) {
        let _ = engine::volumes::check_name(&v.name);
    }
}

/// The target.
pub fn run(data: &[u8]) {
    let (line, b) = match data.iter().position(|&c| c == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let line = String::from_utf8_lossy(line);
    let target = line.split_once(' ').map_or(&*line, |(_, t)| t);
    let (path, q) = match target.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (target, None),
    };
    let (_version, _rest) = api::split_version(path);
    query(q);
    let name = Query::parse(q).get("name").filter(|n| !n.is_empty()).map(str::to_owned);
    body(b, name);
}
