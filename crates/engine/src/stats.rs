//! Usage samples of a container (`docker stats`): its cgroup's counters, the host's CPU
//! time (clients compute percentages from the difference of two samples), and the network
//! counters of its namespace (`/proc/<pid>/net/dev`, read from the host: no `setns`).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::{Engine, EngineError};

/// Counters of one network interface.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NetDev {
    /// Bytes received.
    pub rx_bytes: u64,
    /// Packets received.
    pub rx_packets: u64,
    /// Receive errors.
    pub rx_errors: u64,
    /// Incoming packets dropped.
    pub rx_dropped: u64,
    /// Bytes sent.
    pub tx_bytes: u64,
    /// Packets sent.
    pub tx_packets: u64,
    /// Send errors.
    pub tx_errors: u64,
    /// Outgoing packets dropped.
    pub tx_dropped: u64,
}

/// One sample.
#[derive(Debug, Clone)]
pub struct StatsSample {
    /// Container ID.
    pub id: String,
    /// Container name (no leading `/`).
    pub name: String,
    /// When it was taken.
    pub read: DateTime<Utc>,
    /// Whether the container runs (else everything below is zero).
    pub running: bool,
    /// The cgroup's counters.
    pub cgroup: cgroups::Stats,
    /// Host CPU time of all CPUs in nanoseconds (`/proc/stat`), as dockerd reports it.
    pub system_cpu_ns: u64,
    /// Online CPUs.
    pub online_cpus: u32,
    /// Interfaces of the container's network namespace, without `lo`.
    pub networks: BTreeMap<String, NetDev>,
    /// Host memory in bytes (the limit shown when there is none).
    pub host_memory: u64,
}

/// The unit of `/proc/stat` (`USER_HZ`, 100 on every architecture Linux ships, whatever
/// the kernel's internal `HZ`).
const USER_HZ: u64 = 100;

/// `/proc/net/dev` → counters per interface (without `lo`).
pub(crate) fn parse_net_dev(text: &str) -> BTreeMap<String, NetDev> {
    let mut out = BTreeMap::new();
    for line in text.lines().skip(2) {
        let Some((name, rest)) = line.split_once(':') else { continue };
        let name = name.trim();
        if name == "lo" {
            continue;
        }
        let f: Vec<u64> = rest.split_whitespace().filter_map(|x| x.parse().ok()).collect();
        if f.len() < 12 {
            continue;
        }
        out.insert(
            name.to_owned(),
            NetDev {
                rx_bytes: f[0],
                rx_packets: f[1],
                rx_errors: f[2],
                rx_dropped: f[3],
                tx_bytes: f[8],
                tx_packets: f[9],
                tx_errors: f[10],
                tx_dropped: f[11],
            },
        );
    }
    out
}

/// The `cpu` line of `/proc/stat` in nanoseconds (user..steal, as dockerd sums them) and the
/// number of `cpuN` lines.
pub(crate) fn parse_proc_stat(text: &str, ticks_per_sec: u64) -> (u64, u32) {
    let mut total = 0;
    let mut cpus = 0u32;
    for line in text.lines() {
        let mut f = line.split_whitespace();
        match f.next() {
            Some("cpu") => {
                let ticks: u64 = f.take(7).filter_map(|x| x.parse::<u64>().ok()).sum();
                total = ticks.saturating_mul(1_000_000_000 / ticks_per_sec.max(1));
            }
            Some(n) if n.starts_with("cpu") => cpus += 1,
            _ => {}
        }
    }
    (total, cpus)
}

fn mem_total(meminfo: &str) -> u64 {
    meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

impl Engine {
    /// A usage sample of a container; zeros (but the host's figures) when it isn't running.
    pub async fn stats(&self, name_or_id: &str) -> Result<StatsSample, EngineError> {
        let ctr = self.lookup(name_or_id)?;
        let c = ctr.snapshot();
        let cg = if c.is_running() { self.cgroup(&c.id)? } else { None };
        let net_pid = (c.is_running() && c.host_config.network_mode != "host").then_some(c.state.pid);
        let running = c.is_running();
        tokio::task::spawn_blocking(move || {
            let stats = match cg {
                Some(cg) => match cg.stats() {
                    Ok(s) => s,
                    // It ended meanwhile.
                    Err(e) if e.kind() == cgroups::ErrorKind::NotFound => cgroups::Stats::default(),
                    Err(e) => return Err(e.into()),
                },
                None => cgroups::Stats::default(),
            };
            let (system_cpu_ns, online_cpus) =
                parse_proc_stat(&std::fs::read_to_string("/proc/stat").unwrap_or_default(), USER_HZ);
            let networks = net_pid
                .and_then(|pid| std::fs::read_to_string(format!("/proc/{pid}/net/dev")).ok())
                .map(|t| parse_net_dev(&t))
                .unwrap_or_default();
            Ok(StatsSample {
                id: c.id,
                name: c.name,
                read: Utc::now(),
                running,
                cgroup: stats,
                system_cpu_ns,
                online_cpus,
                networks,
                host_memory: mem_total(&std::fs::read_to_string("/proc/meminfo").unwrap_or_default()),
            })
        })
        .await
        .expect("stats task")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn net_dev() {
        let text = "Inter-|   Receive                                                |  Transmit\n \
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n    \
 lo:     100       1    0    0    0     0          0         0      100       1    0    0    0     0       0          0\n  \
eth0:    1296      14    1    2    0     0          0         0      726        9    3    4    0     0       0          0\n";
        let m = parse_net_dev(text);
        assert_eq!(m.len(), 1);
        assert_eq!(
            m["eth0"],
            NetDev {
                rx_bytes: 1296,
                rx_packets: 14,
                rx_errors: 1,
                rx_dropped: 2,
                tx_bytes: 726,
                tx_packets: 9,
                tx_errors: 3,
                tx_dropped: 4
            }
        );
    }

    #[test]
    fn proc_stat() {
        let text = "cpu  10 0 20 100 5 0 1 7 0 0\ncpu0 5 0 10 50 2 0 0 0 0 0\ncpu1 5 0 10 50 3 0 1 0 0 0\nintr 1\n";
        assert_eq!(parse_proc_stat(text, 100), (136 * 10_000_000, 2));
        assert_eq!(mem_total("MemTotal:       24684436 kB\nMemFree: 1 kB\n"), 24_684_436 * 1024);
    }
}
