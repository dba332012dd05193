//! Usage statistics from v1 or v2 files, in one version-neutral [`Stats`] struct
//! (what `docker stats` needs).
//!
//! | field | v1 | v2 |
//! |---|---|---|
//! | memory usage / limit | `memory.usage_in_bytes`, `memory.limit_in_bytes` | `memory.current`, `memory.max` |
//! | inactive file cache | `memory.stat` `total_inactive_file` | `memory.stat` `inactive_file` |
//! | all memory counters | `memory.stat` | `memory.stat` |
//! | peak, failures | `memory.max_usage_in_bytes`, `memory.failcnt` | `memory.peak` |
//! | cpu usage (ns) | `cpuacct.usage{,_user,_sys}` | `cpu.stat` `usage_usec` etc. × 1000 |
//! | cpu throttling | `cpu.stat` `nr_periods`, `nr_throttled`, `throttled_time` | `cpu.stat` …, `throttled_usec` × 1000 |
//! | pids | `pids.current`, `pids.max` | same |
//! | io bytes (per device) | `blkio.throttle.io_service_bytes_recursive` | `io.stat` `rbytes`/`wbytes` |

use std::collections::BTreeMap;
use std::path::Path;

use crate::cgroup::Cgroup;
use crate::error::CgroupError;
use crate::file;
use crate::mountinfo::{Controller, Version};

/// v1 reports "no limit" as a huge page-aligned number (`PAGE_COUNTER_MAX` pages);
/// anything at or above 2^62 is treated as unlimited.
const V1_UNLIMITED: u64 = 1 << 62;

/// Usage statistics of a cgroup. A field is `None` when its controller is unavailable.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Memory usage.
    pub memory: Option<MemoryStats>,
    /// CPU time.
    pub cpu: Option<CpuStats>,
    /// Process count.
    pub pids: Option<PidsStats>,
    /// Block I/O.
    pub io: Option<IoStats>,
}

/// Memory usage in bytes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemoryStats {
    /// Current usage, including page cache.
    pub usage: u64,
    /// The limit; `None` when unlimited.
    pub limit: Option<u64>,
    /// Inactive file cache, which `docker stats` subtracts from usage.
    pub inactive_file: Option<u64>,
    /// Peak usage (v1 `memory.max_usage_in_bytes`, v2 `memory.peak` where the kernel has it).
    pub max_usage: Option<u64>,
    /// Times the limit was hit (v1 `memory.failcnt`).
    pub failcnt: Option<u64>,
    /// Every counter of `memory.stat` (what Docker returns as `memory_stats.stats`).
    pub stat: BTreeMap<String, u64>,
}

/// CPU time in nanoseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CpuStats {
    /// Total CPU time.
    pub usage_ns: u64,
    /// User-mode time, if the kernel reports it.
    pub user_ns: Option<u64>,
    /// Kernel-mode time, if the kernel reports it.
    pub system_ns: Option<u64>,
    /// CFS bandwidth throttling counters (`cpu.stat`), with the cpu controller.
    pub throttling: Option<Throttling>,
}

/// CFS bandwidth throttling (`cpu.stat`: `nr_periods`, `nr_throttled`, and v1
/// `throttled_time` in ns or v2 `throttled_usec`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Throttling {
    /// Enforcement periods that elapsed.
    pub periods: u64,
    /// Periods in which the cgroup was throttled.
    pub throttled_periods: u64,
    /// Total throttled time in nanoseconds.
    pub throttled_ns: u64,
}

/// Throttling counters from a `cpu.stat` text (either version's key names).
pub(crate) fn parse_throttling(text: &str) -> Option<Throttling> {
    let throttled_ns = file::flat_key(text, "throttled_time")
        .or_else(|| file::flat_key(text, "throttled_usec").map(|us| us.saturating_mul(1000)))?;
    Some(Throttling {
        periods: file::flat_key(text, "nr_periods")?,
        throttled_periods: file::flat_key(text, "nr_throttled")?,
        throttled_ns,
    })
}

/// Process counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PidsStats {
    /// Processes and threads now.
    pub current: u64,
    /// The limit; `None` when unlimited.
    pub limit: Option<u64>,
}

/// Block I/O totals in bytes, over all devices, and per device.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IoStats {
    /// Bytes read.
    pub read_bytes: u64,
    /// Bytes written.
    pub write_bytes: u64,
    /// Per device, in file order.
    pub devices: Vec<DeviceIo>,
}

/// Block I/O bytes of one device.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DeviceIo {
    /// Device major number.
    pub major: u64,
    /// Device minor number.
    pub minor: u64,
    /// Bytes read.
    pub read_bytes: u64,
    /// Bytes written.
    pub write_bytes: u64,
}

impl IoStats {
    fn add(&mut self, dev: &str, read: u64, write: u64) {
        self.read_bytes = self.read_bytes.saturating_add(read);
        self.write_bytes = self.write_bytes.saturating_add(write);
        let Some((major, minor)) = dev.split_once(':').and_then(|(a, b)| Some((a.parse().ok()?, b.parse().ok()?)))
        else {
            return;
        };
        let i = match self.devices.iter().position(|d| d.major == major && d.minor == minor) {
            Some(i) => i,
            None => {
                self.devices.push(DeviceIo { major, minor, ..DeviceIo::default() });
                self.devices.len() - 1
            }
        };
        let d = &mut self.devices[i];
        d.read_bytes = d.read_bytes.saturating_add(read);
        d.write_bytes = d.write_bytes.saturating_add(write);
    }
}

fn number(path: &Path, text: &str) -> Result<u64, CgroupError> {
    text.trim().parse().map_err(|_| CgroupError::Parse { path: path.to_owned(), content: text.trim().to_owned() })
}

/// Reads an optional numeric file.
fn read_number(path: &Path) -> Result<Option<u64>, CgroupError> {
    file::read_opt(path)?.map(|t| number(path, &t)).transpose()
}

pub(crate) fn read(cg: &Cgroup) -> Result<Stats, CgroupError> {
    Ok(Stats { memory: memory(cg)?, cpu: cpu(cg)?, pids: pids(cg)?, io: io(cg)? })
}

fn memory(cg: &Cgroup) -> Result<Option<MemoryStats>, CgroupError> {
    let Some(dir) = cg.dir_for(Controller::Memory) else {
        return Ok(None);
    };
    let d = &dir.path;
    let (usage, limit, stat_key) = match dir.version {
        Version::V1 => ("memory.usage_in_bytes", "memory.limit_in_bytes", "total_inactive_file"),
        Version::V2 => ("memory.current", "memory.max", "inactive_file"),
    };
    let Some(usage) = read_number(&d.join(usage))? else {
        return Ok(None);
    };
    let limit_path = d.join(limit);
    let limit = match file::read_opt(&limit_path)? {
        Some(t) => file::parse_u64_or_max(&limit_path, &t)?.filter(|l| *l < V1_UNLIMITED),
        None => None,
    };
    let stat = file::read_opt(&d.join("memory.stat"))?.map(|t| parse_flat(&t)).unwrap_or_default();
    let inactive_file = stat.get(stat_key).copied();
    let (max_usage, failcnt) = match dir.version {
        Version::V1 => (read_number(&d.join("memory.max_usage_in_bytes"))?, read_number(&d.join("memory.failcnt"))?),
        Version::V2 => (read_number(&d.join("memory.peak"))?, None),
    };
    Ok(Some(MemoryStats { usage, limit, inactive_file, max_usage, failcnt, stat }))
}

/// A flat-keyed file (`key value` per line) as a map; lines that don't parse are skipped.
pub(crate) fn parse_flat(text: &str) -> BTreeMap<String, u64> {
    text.lines()
        .filter_map(|l| {
            let (k, v) = l.split_once(' ')?;
            Some((k.to_owned(), v.trim().parse().ok()?))
        })
        .collect()
}

fn cpu(cg: &Cgroup) -> Result<Option<CpuStats>, CgroupError> {
    if let Some(dir) = cg.dir_for(Controller::Cpuacct) {
        let d = &dir.path;
        let Some(usage_ns) = read_number(&d.join("cpuacct.usage"))? else {
            return Ok(None);
        };
        let throttling = match cg.dir_for(Controller::Cpu) {
            Some(c) => file::read_opt(&c.path.join("cpu.stat"))?.and_then(|t| parse_throttling(&t)),
            None => None,
        };
        return Ok(Some(CpuStats {
            usage_ns,
            user_ns: read_number(&d.join("cpuacct.usage_user"))?,
            system_ns: read_number(&d.join("cpuacct.usage_sys"))?,
            throttling,
        }));
    }
    // v2: cpu.stat's usage fields are always there, even without the cpu controller.
    let Some(dir) = cg.v2_dir() else {
        return Ok(None);
    };
    let Some(text) = file::read_opt(&dir.path.join("cpu.stat"))? else {
        return Ok(None);
    };
    Ok(parse_cpu_stat(&text))
}

pub(crate) fn parse_cpu_stat(text: &str) -> Option<CpuStats> {
    let ns = |key| file::flat_key(text, key).map(|us| us.saturating_mul(1000));
    Some(CpuStats {
        usage_ns: ns("usage_usec")?,
        user_ns: ns("user_usec"),
        system_ns: ns("system_usec"),
        throttling: parse_throttling(text),
    })
}

fn pids(cg: &Cgroup) -> Result<Option<PidsStats>, CgroupError> {
    let Some(dir) = cg.dir_for(Controller::Pids) else {
        return Ok(None);
    };
    let Some(current) = read_number(&dir.path.join("pids.current"))? else {
        return Ok(None);
    };
    let max_path = dir.path.join("pids.max");
    let limit = match file::read_opt(&max_path)? {
        Some(t) => file::parse_u64_or_max(&max_path, &t)?,
        None => None,
    };
    Ok(Some(PidsStats { current, limit }))
}

fn io(cg: &Cgroup) -> Result<Option<IoStats>, CgroupError> {
    if let Some(dir) = cg.dir_for(Controller::Blkio) {
        for name in ["blkio.throttle.io_service_bytes_recursive", "blkio.throttle.io_service_bytes"] {
            if let Some(text) = file::read_opt(&dir.path.join(name))? {
                return Ok(Some(parse_blkio_bytes(&text)));
            }
        }
        return Ok(None);
    }
    let Some(dir) = cg.dir_for(Controller::Io) else {
        return Ok(None);
    };
    Ok(file::read_opt(&dir.path.join("io.stat"))?.map(|t| parse_io_stat(&t)))
}

/// Sums `MAJ:MIN Read N` / `MAJ:MIN Write N` lines (the `Total` lines are ignored).
pub(crate) fn parse_blkio_bytes(text: &str) -> IoStats {
    let mut io = IoStats::default();
    for line in text.lines() {
        let mut f = line.split_whitespace();
        let (Some(dev), Some(op), Some(n)) = (f.next(), f.next(), f.next()) else {
            continue;
        };
        let Ok(n) = n.parse::<u64>() else { continue };
        match op {
            "Read" => io.add(dev, n, 0),
            "Write" => io.add(dev, 0, n),
            _ => {}
        }
    }
    io
}

/// Sums `rbytes=`/`wbytes=` over the lines of `io.stat`.
pub(crate) fn parse_io_stat(text: &str) -> IoStats {
    let mut io = IoStats::default();
    for line in text.lines() {
        let mut fields = line.split_whitespace();
        let Some(dev) = fields.next() else { continue };
        let (mut read, mut write) = (0, 0);
        for field in fields {
            let Some((key, value)) = field.split_once('=') else {
                continue;
            };
            let Ok(n) = value.parse::<u64>() else {
                continue;
            };
            match key {
                "rbytes" => read = n,
                "wbytes" => write = n,
                _ => {}
            }
        }
        io.add(dev, read, write);
    }
    io
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blkio_bytes() {
        let text = "8:0 Read 4096\n8:0 Write 8192\n8:0 Sync 0\n8:0 Async 12288\n8:0 Discard 0\n8:0 Total 12288\n\
                    8:16 Read 1\n8:16 Write 2\nTotal 12291\n";
        let io = parse_blkio_bytes(text);
        assert_eq!((io.read_bytes, io.write_bytes), (4097, 8194));
        assert_eq!(
            io.devices,
            [
                DeviceIo { major: 8, minor: 0, read_bytes: 4096, write_bytes: 8192 },
                DeviceIo { major: 8, minor: 16, read_bytes: 1, write_bytes: 2 }
            ]
        );
        assert_eq!(parse_blkio_bytes("Total 0\n"), IoStats::default());
    }

    #[test]
    fn io_stat() {
        let text = "8:0 rbytes=1000 wbytes=2000 rios=1 wios=2 dbytes=0 dios=0\n253:0 rbytes=5 wbytes=6 rios=1 wios=1\n";
        let io = parse_io_stat(text);
        assert_eq!((io.read_bytes, io.write_bytes), (1005, 2006));
        assert_eq!(io.devices[1], DeviceIo { major: 253, minor: 0, read_bytes: 5, write_bytes: 6 });
        let flat = parse_flat("cache 10\ninactive_file 4\nbad\n");
        assert_eq!(flat.get("inactive_file"), Some(&4));
        assert_eq!(flat.len(), 2);
    }

    #[test]
    fn cpu_stat() {
        let text = "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\nnr_periods 0\n";
        assert_eq!(
            parse_cpu_stat(text),
            Some(CpuStats {
                usage_ns: 1_500_000,
                user_ns: Some(1_000_000),
                system_ns: Some(500_000),
                throttling: None,
            })
        );
        let v2 = "usage_usec 9\nnr_periods 10\nnr_throttled 4\nthrottled_usec 250\n";
        assert_eq!(
            parse_cpu_stat(v2).and_then(|c| c.throttling),
            Some(Throttling { periods: 10, throttled_periods: 4, throttled_ns: 250_000 })
        );
        let v1 = "nr_periods 7\nnr_throttled 2\nthrottled_time 123456\nnr_bursts 0\n";
        assert_eq!(parse_throttling(v1), Some(Throttling { periods: 7, throttled_periods: 2, throttled_ns: 123_456 }));
        assert_eq!(parse_cpu_stat("nr_periods 0\n"), None);
    }
}
