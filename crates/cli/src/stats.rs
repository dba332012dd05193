//! `berth stats`: docker's live resource usage table (cli/command/container/stats.go and
//! formatter_stats.go): the same columns, percentages and `--format` fields.
//!
//! Each round asks the daemon for one sample per container (`stream=false`, whose
//! `precpu_stats` is a sample taken shortly before, so the CPU percentage is right from the
//! first table), then redraws the screen. Without names the container list is read again
//! every round, so containers that start or go show up or drop out.

use std::time::Duration;

use anyhow::anyhow;
use api_types::container::ContainerSummary;
use api_types::stats::ContainerStatsResponse;
use client::Client;
use serde_json::{Value, json};

use crate::containers::container_path;
use crate::format::{self, bytes_size, human_size_prec, print, truncate_id};

const DEFAULT_STATS_FORMAT: &str =
    "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}";
/// docker's redraw period.
const REFRESH: Duration = Duration::from_millis(500);

/// `berth stats [OPTIONS] [CONTAINER...]`.
#[derive(Debug, clap::Args)]
pub struct StatsArgs {
    /// Show all containers (default shows just running).
    #[arg(short = 'a', long = "all")]
    pub all: bool,
    /// Format output using a custom template ('table', 'table TEMPLATE', 'json', 'TEMPLATE').
    #[arg(long = "format")]
    pub format: Option<String>,
    /// Disable streaming stats and only pull the first result.
    #[arg(long = "no-stream")]
    pub no_stream: bool,
    /// Do not truncate output.
    #[arg(long = "no-trunc")]
    pub no_trunc: bool,
    /// The containers (default: all running ones).
    #[arg(value_name = "CONTAINER")]
    pub containers: Vec<String>,
}

/// docker's `StatsEntry`, computed from one sample.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Entry {
    /// What the user named (or the short ID).
    pub container: String,
    /// Full ID.
    pub id: String,
    /// Name without `/`.
    pub name: String,
    /// CPU %.
    pub cpu: f64,
    /// Memory usage without inactive file cache.
    pub memory: f64,
    /// Memory limit.
    pub memory_limit: f64,
    /// Memory %.
    pub memory_perc: f64,
    /// Network bytes received / sent.
    pub net: (f64, f64),
    /// Block bytes read / written.
    pub block: (f64, f64),
    /// Processes.
    pub pids: u64,
}

#[allow(clippy::cast_precision_loss)]
fn f(n: u64) -> f64 {
    n as f64
}

/// docker's `calculateCPUPercentUnix`, `calculateMemUsageUnixNoCache`, `calculateBlockIO`
/// and `calculateNetwork`.
pub fn entry(container: &str, s: &ContainerStatsResponse) -> Entry {
    let cpu_delta = f(s.cpu_stats.cpu_usage.total_usage) - f(s.precpu_stats.cpu_usage.total_usage);
    let system_delta = f(s.cpu_stats.system_cpu_usage) - f(s.precpu_stats.system_cpu_usage);
    let mut online = f(u64::from(s.cpu_stats.online_cpus));
    if online == 0.0 {
        online = f(s.cpu_stats.cpu_usage.percpu_usage.len() as u64);
    }
    let cpu = if system_delta > 0.0 && cpu_delta > 0.0 { cpu_delta / system_delta * online * 100.0 } else { 0.0 };
    let m = &s.memory_stats;
    let memory = match (m.stats.get("total_inactive_file"), m.stats.get("inactive_file")) {
        (Some(v), _) if *v < m.usage => m.usage - v,
        (_, Some(v)) if *v < m.usage => m.usage - v,
        _ => m.usage,
    };
    let memory_perc = if m.limit != 0 { f(memory) / f(m.limit) * 100.0 } else { 0.0 };
    let mut block = (0.0, 0.0);
    for e in s.blkio_stats.io_service_bytes_recursive.iter().flatten() {
        match e.op.to_ascii_lowercase().as_str() {
            "read" => block.0 += f(e.value),
            "write" => block.1 += f(e.value),
            _ => {}
        }
    }
    let net = s.networks.values().fold((0.0, 0.0), |(rx, tx), n| (rx + f(n.rx_bytes), tx + f(n.tx_bytes)));
    Entry {
        container: container.to_owned(),
        id: s.id.clone(),
        name: s.name.trim_start_matches('/').to_owned(),
        cpu,
        memory: f(memory),
        memory_limit: f(m.limit),
        memory_perc,
        net,
        block,
        pids: s.pids_stats.current,
    }
}

/// The object a template sees (docker's `statsContext` fields).
pub fn row(e: &Entry, trunc: bool) -> Value {
    let pair = |(a, b): (f64, f64)| format!("{} / {}", human_size_prec(a, 3), human_size_prec(b, 3));
    json!({
        "Container": e.container,
        "Name": if e.name.is_empty() { "--".to_owned() } else { e.name.clone() },
        "ID": if trunc { truncate_id(&e.id).to_owned() } else { e.id.clone() },
        "CPUPerc": format!("{:.2}%", e.cpu),
        "MemUsage": format!("{} / {}", bytes_size(e.memory), bytes_size(e.memory_limit)),
        "MemPerc": format!("{:.2}%", e.memory_perc),
        "NetIO": pair(e.net),
        "BlockIO": pair(e.block),
        "PIDs": e.pids.to_string(),
    })
}

fn header() -> Value {
    json!({
        "Container": "CONTAINER", "Name": "NAME", "ID": "CONTAINER ID", "CPUPerc": "CPU %",
        "MemUsage": "MEM USAGE / LIMIT", "MemPerc": "MEM %", "NetIO": "NET I/O", "BlockIO": "BLOCK I/O",
        "PIDs": "PIDS",
    })
}

fn stats_format(source: &str) -> String {
    match source {
        "" | "table" => DEFAULT_STATS_FORMAT.to_owned(),
        other => other.to_owned(),
    }
}

/// The containers of one round: the names given, or the (running) containers' short IDs.
async fn targets(c: &Client, a: &StatsArgs) -> anyhow::Result<Vec<String>> {
    if !a.containers.is_empty() {
        return Ok(a.containers.clone());
    }
    let path = if a.all { "/containers/json?all=1" } else { "/containers/json" };
    let list: Vec<ContainerSummary> = c.get(path).await?;
    Ok(list.iter().map(|s| truncate_id(&s.id).to_owned()).collect())
}

/// One sample of each target, concurrently. Containers named by the user must exist;
/// listed ones that went meanwhile are skipped.
async fn round(c: &Client, names: &[String], named: bool) -> anyhow::Result<Vec<Entry>> {
    let tasks: Vec<_> = names
        .iter()
        .map(|n| {
            let c = c.clone();
            let n = n.clone();
            tokio::spawn(async move {
                let s: Result<ContainerStatsResponse, _> =
                    c.get(&format!("{}?stream=false", container_path(&n, "/stats"))).await;
                (n, s)
            })
        })
        .collect();
    let mut out = Vec::new();
    for t in tasks {
        let (n, s) = t.await.map_err(|e| anyhow!("stats task: {e}"))?;
        match s {
            Ok(s) => out.push(entry(&n, &s)),
            Err(e) if !named && e.is_not_found() => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(out)
}

/// `berth stats`.
pub async fn stats(c: &Client, a: StatsArgs) -> anyhow::Result<i32> {
    let fmt = stats_format(a.format.as_deref().unwrap_or(""));
    gotmpl::Template::parse_plain(fmt.strip_prefix("table").unwrap_or(&fmt).trim_start())
        .map_err(|e| anyhow!("failed to parse template: {e}"))?;
    let named = !a.containers.is_empty();
    let render = |entries: &[Entry]| -> anyhow::Result<String> {
        let rows: Vec<Value> = entries.iter().map(|e| row(e, !a.no_trunc)).collect();
        format::render_list(&fmt, &header(), &rows)
    };
    if a.no_stream {
        let names = targets(c, &a).await?;
        print(&render(&round(c, &names, named).await?)?);
        return Ok(0);
    }
    loop {
        let started = tokio::time::Instant::now();
        let names = targets(c, &a).await?;
        let entries = round(c, &names, named).await?;
        // Clear the screen and go home, then the table (docker's redraw).
        print(&format!("\x1b[2J\x1b[H{}", render(&entries)?));
        tokio::time::sleep_until(started + REFRESH).await;
    }
}

#[cfg(test)]
mod tests {
    use api_types::stats::{BlkioStatEntry, CpuStats, CpuUsage, MemoryStats, NetworkStats, PidsStats};

    use super::*;

    #[test]
    fn like_docker() {
        let mut s = ContainerStatsResponse {
            id: "0123456789abcdef".repeat(4),
            name: "/web".into(),
            cpu_stats: CpuStats {
                cpu_usage: CpuUsage { total_usage: 300, ..Default::default() },
                system_cpu_usage: 2000,
                online_cpus: 2,
                ..Default::default()
            },
            precpu_stats: CpuStats {
                cpu_usage: CpuUsage { total_usage: 100, ..Default::default() },
                system_cpu_usage: 1000,
                ..Default::default()
            },
            memory_stats: MemoryStats {
                usage: 12 << 20,
                limit: 64 << 20,
                stats: [("total_inactive_file".to_owned(), 4 << 20)].into_iter().collect(),
                ..Default::default()
            },
            pids_stats: PidsStats { current: 3, limit: 0 },
            ..Default::default()
        };
        s.blkio_stats.io_service_bytes_recursive = Some(vec![
            BlkioStatEntry { major: 254, minor: 0, op: "Read".into(), value: 2_000_000 },
            BlkioStatEntry { major: 254, minor: 0, op: "Write".into(), value: 1000 },
        ]);
        s.networks.insert("eth0".into(), NetworkStats { rx_bytes: 1500, tx_bytes: 0, ..Default::default() });
        let e = entry("web", &s);
        assert!((e.cpu - 40.0).abs() < 1e-9, "{}", e.cpu);
        let r = row(&e, true);
        assert_eq!(r["ID"], "0123456789ab");
        assert_eq!(r["Name"], "web");
        assert_eq!(r["CPUPerc"], "40.00%");
        assert_eq!(r["MemUsage"], "8MiB / 64MiB");
        assert_eq!(r["MemPerc"], "12.50%");
        assert_eq!(r["NetIO"], "1.5kB / 0B");
        assert_eq!(r["BlockIO"], "2MB / 1kB");
        assert_eq!(r["PIDs"], "3");
        let out = format::render_list(DEFAULT_STATS_FORMAT, &header(), std::slice::from_ref(&r)).expect("renders");
        assert!(out.starts_with("CONTAINER ID   NAME      CPU %     MEM USAGE / LIMIT"), "{out}");
        let out = format::render_list("{{.Name}}:{{.PIDs}}", &header(), &[r]).expect("renders");
        assert_eq!(out, "web:3\n");
        // A stopped container: zeros, as docker shows them.
        let z = row(&entry("x", &ContainerStatsResponse::default()), true);
        assert_eq!((z["CPUPerc"].as_str(), z["MemUsage"].as_str()), (Some("0.00%"), Some("0B / 0B")));
    }
}
