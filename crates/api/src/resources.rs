//! `POST /containers/{id}/update` and `GET /containers/{id}/stats`.

use std::collections::BTreeMap;
use std::io;
use std::time::Duration;

use api_types::container as w;
use api_types::stats as sw;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use axum::routing::{get, post};
use engine::StatsSample;

use crate::containers::parse_json;
use crate::convert;
use crate::query::Query;
use crate::{Api, ApiError, json};

/// dockerd's stats collection interval.
const STREAM_INTERVAL: Duration = Duration::from_secs(1);
/// The gap between the two samples of a single (`stream=false`) answer: its `precpu_stats`.
/// Shorter than dockerd's 1 s collector tick, long enough for `/proc/stat`'s 10 ms ticks to
/// give CPU percentages to about 1%.
const PRECPU_GAP: Duration = Duration::from_millis(500);

/// The routes.
pub fn routes() -> Router<Api> {
    Router::new().route("/containers/{id}/update", post(update)).route("/containers/{id}/stats", get(stats))
}

async fn update(State(api): State<Api>, Path(id): Path<String>, body: Bytes) -> Result<Response, ApiError> {
    let req: w::ContainerUpdateRequest = parse_json(&body)?;
    let u = convert::update_in(&req)?;
    let warnings = api.engine.update(&id, u).await?;
    Ok(json(StatusCode::OK, &w::ContainerUpdateResponse { warnings }))
}

/// The wire form of a sample; `prev` gives `precpu_stats` and `preread`.
pub fn stats_out(s: &StatsSample, prev: Option<&StatsSample>) -> sw::ContainerStatsResponse {
    let mut out = sw::ContainerStatsResponse {
        name: format!("/{}", s.name),
        id: s.id.clone(),
        read: convert::rfc3339(&s.read),
        preread: prev.map_or_else(|| convert::ZERO_TIME.to_owned(), |p| convert::rfc3339(&p.read)),
        ..Default::default()
    };
    if !s.running {
        return out;
    }
    out.cpu_stats = cpu_out(s);
    if let Some(p) = prev.filter(|p| p.running) {
        out.precpu_stats = cpu_out(p);
    }
    let cg = &s.cgroup;
    if let Some(m) = &cg.memory {
        out.memory_stats = sw::MemoryStats {
            usage: m.usage,
            max_usage: m.max_usage.unwrap_or(0),
            stats: m.stat.clone(),
            failcnt: m.failcnt.unwrap_or(0),
            limit: m.limit.unwrap_or(s.host_memory).min(s.host_memory.max(1)),
            ..Default::default()
        };
    }
    if let Some(p) = &cg.pids {
        out.pids_stats = sw::PidsStats { current: p.current, limit: p.limit.unwrap_or(0) };
    }
    if let Some(io) = &cg.io {
        let mut entries = Vec::new();
        for d in &io.devices {
            for (op, value) in [("read", d.read_bytes), ("write", d.write_bytes)] {
                entries.push(sw::BlkioStatEntry { major: d.major, minor: d.minor, op: op.to_owned(), value });
            }
        }
        out.blkio_stats.io_service_bytes_recursive = Some(entries);
    }
    out.networks = s
        .networks
        .iter()
        .map(|(name, n)| {
            (
                name.clone(),
                sw::NetworkStats {
                    rx_bytes: n.rx_bytes,
                    rx_packets: n.rx_packets,
                    rx_errors: n.rx_errors,
                    rx_dropped: n.rx_dropped,
                    tx_bytes: n.tx_bytes,
                    tx_packets: n.tx_packets,
                    tx_errors: n.tx_errors,
                    tx_dropped: n.tx_dropped,
                    ..Default::default()
                },
            )
        })
        .collect::<BTreeMap<_, _>>();
    out
}

fn cpu_out(s: &StatsSample) -> sw::CpuStats {
    let cpu = s.cgroup.cpu.unwrap_or_default();
    sw::CpuStats {
        cpu_usage: sw::CpuUsage {
            total_usage: cpu.usage_ns,
            percpu_usage: Vec::new(),
            usage_in_kernelmode: cpu.system_ns.unwrap_or(0),
            usage_in_usermode: cpu.user_ns.unwrap_or(0),
        },
        system_cpu_usage: s.system_cpu_ns,
        online_cpus: s.online_cpus,
        throttling_data: cpu.throttling.map_or_else(sw::ThrottlingData::default, |t| sw::ThrottlingData {
            periods: t.periods,
            throttled_periods: t.throttled_periods,
            throttled_time: t.throttled_ns,
        }),
    }
}

fn line(s: &sw::ContainerStatsResponse) -> Bytes {
    let mut v = serde_json::to_vec(s).expect("stats serialise");
    v.push(b'\n');
    Bytes::from(v)
}

/// `stream` (default true): a sample a second until the container is removed or the client
/// goes. Otherwise one sample; unless `one-shot`, with `precpu_stats` from a first sample
/// taken [`PRECPU_GAP`] before.
async fn stats(State(api): State<Api>, Path(id): Path<String>, RawQuery(q): RawQuery) -> Result<Response, ApiError> {
    let q = Query::parse(q.as_deref());
    let stream = q.bool_or("stream", true);
    let one_shot = q.bool("one-shot");
    if one_shot && stream {
        return Err(ApiError::bad_request("cannot have stream=true and one-shot=true"));
    }
    let first = api.engine.stats(&id).await?;
    let body = if !stream {
        let out = if one_shot || !first.running {
            stats_out(&first, None)
        } else {
            tokio::time::sleep(PRECPU_GAP).await;
            let second = api.engine.stats(&id).await?;
            stats_out(&second, Some(&first))
        };
        Body::from(line(&out))
    } else {
        let engine = api.engine.clone();
        let frames = futures_util::stream::unfold(
            (engine, id, None::<StatsSample>, Some(first)),
            |(engine, id, prev, next)| async move {
                let cur = match next {
                    Some(s) => s,
                    None => {
                        tokio::time::sleep(STREAM_INTERVAL).await;
                        engine.stats(&id).await.ok()?
                    }
                };
                let frame = line(&stats_out(&cur, prev.as_ref()));
                Some((Ok::<_, io::Error>(frame), (engine, id, Some(cur), None)))
            },
        );
        Body::from_stream(frames)
    };
    let mut r = Response::new(body);
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(running: bool, cpu_ns: u64, sys_ns: u64) -> StatsSample {
        StatsSample {
            id: "a".repeat(64),
            name: "web".into(),
            read: chrono::DateTime::from_timestamp(1_700_000_000, 0).expect("valid"),
            running,
            cgroup: engine::CgroupStats {
                memory: Some(engine::MemoryStats {
                    usage: 10 << 20,
                    limit: None,
                    stat: [("total_inactive_file".to_owned(), 1 << 20)].into_iter().collect(),
                    ..Default::default()
                }),
                cpu: Some(engine::CpuStats {
                    usage_ns: cpu_ns,
                    user_ns: Some(1),
                    system_ns: Some(2),
                    throttling: Some(engine::Throttling { periods: 5, throttled_periods: 2, throttled_ns: 9 }),
                }),
                pids: Some(engine::PidsStats { current: 3, limit: Some(100) }),
                io: Some(engine::IoStats {
                    read_bytes: 5,
                    write_bytes: 6,
                    devices: vec![engine::DeviceIo { major: 254, minor: 0, read_bytes: 5, write_bytes: 6 }],
                }),
            },
            system_cpu_ns: sys_ns,
            online_cpus: 2,
            networks: [("eth0".to_owned(), engine::NetDev { rx_bytes: 7, tx_bytes: 8, ..Default::default() })]
                .into_iter()
                .collect(),
            host_memory: 1 << 30,
        }
    }

    #[test]
    fn wire_sample() {
        let prev = sample(true, 1000, 10_000);
        let s = stats_out(&sample(true, 2000, 20_000), Some(&prev));
        let v = serde_json::to_value(&s).expect("serialises");
        assert_eq!(v["name"], "/web");
        assert_eq!(v["preread"], "2023-11-14T22:13:20Z");
        assert_eq!(v["cpu_stats"]["cpu_usage"]["total_usage"], 2000);
        assert_eq!(v["precpu_stats"]["cpu_usage"]["total_usage"], 1000);
        assert_eq!(v["cpu_stats"]["online_cpus"], 2);
        assert_eq!(v["cpu_stats"]["throttling_data"]["throttled_periods"], 2);
        assert_eq!(v["memory_stats"]["limit"], 1 << 30, "unlimited shows the host's memory");
        assert_eq!(v["memory_stats"]["stats"]["total_inactive_file"], 1 << 20);
        assert_eq!(v["pids_stats"]["current"], 3);
        assert_eq!(v["blkio_stats"]["io_service_bytes_recursive"][1]["op"], "write");
        assert_eq!(v["networks"]["eth0"]["tx_bytes"], 8);
        let stopped = serde_json::to_value(stats_out(&sample(false, 0, 0), None)).expect("serialises");
        assert_eq!(stopped["preread"], convert::ZERO_TIME);
        assert!(stopped.get("networks").is_none());
        assert_eq!(stopped["pids_stats"], serde_json::json!({}));
    }
}
