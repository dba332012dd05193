//! Usage statistics from v1 or v2 files, in one version-neutral [`Stats`] struct
//! (what `docker stats` needs).
//!
//! | field | v1 | v2 |
//! |---|---|---|
//! | memory usage / limit | `memory.usage_in_bytes`, `memory.limit_in_bytes` | `memory.current`, `memory.max` |
//! | inactive file cache | `memory.stat` `total_inactive_file` | `memory.stat` `inactive_file` |
//! | cpu usage (ns) | `cpuacct.usage{,_user,_sys}` | `cpu.stat` `usage_usec` etc. × 1000 |
//! | pids | `pids.current`, `pids.max` | same |
//! | io bytes | `blkio.throttle.io_service_bytes_recursive` | `io.stat` `rbytes`/`wbytes` |

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
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MemoryStats {
    /// Current usage, including page cache.
    pub usage: u64,
    /// The limit; `None` when unlimited.
    pub limit: Option<u64>,
    /// Inactive file cache, which `docker stats` subtracts from usage.
    pub inactive_file: Option<u64>,
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
}

/// Process counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PidsStats {
    /// Processes and threads now.
    pub current: u64,
    /// The limit; `None` when unlimited.
    pub limit: Option<u64>,
}

/// Block I/O totals in bytes, over all devices.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IoStats {
    /// Bytes read.
    pub read_bytes: u64,
    /// Bytes written.
    pub write_bytes: u64,
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
    let inactive_file = file::read_opt(&d.join("memory.stat"))?.and_then(|t| file::flat_key(&t, stat_key));
    Ok(Some(MemoryStats { usage, limit, inactive_file }))
}

fn cpu(cg: &Cgroup) -> Result<Option<CpuStats>, CgroupError> {
    if let Some(dir) = cg.dir_for(Controller::Cpuacct) {
        let d = &dir.path;
        let Some(usage_ns) = read_number(&d.join("cpuacct.usage"))? else {
            return Ok(None);
        };
        return Ok(Some(CpuStats {
            usage_ns,
            user_ns: read_number(&d.join("cpuacct.usage_user"))?,
            system_ns: read_number(&d.join("cpuacct.usage_sys"))?,
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
    Some(CpuStats { usage_ns: ns("usage_usec")?, user_ns: ns("user_usec"), system_ns: ns("system_usec") })
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
        let (Some(_dev), Some(op), Some(n)) = (f.next(), f.next(), f.next()) else {
            continue;
        };
        let Ok(n) = n.parse::<u64>() else { continue };
        match op {
            "Read" => io.read_bytes = io.read_bytes.saturating_add(n),
            "Write" => io.write_bytes = io.write_bytes.saturating_add(n),
            _ => {}
        }
    }
    io
}

/// Sums `rbytes=`/`wbytes=` over the lines of `io.stat`.
pub(crate) fn parse_io_stat(text: &str) -> IoStats {
    let mut io = IoStats::default();
    for field in text.split_whitespace() {
        let Some((key, value)) = field.split_once('=') else {
            continue;
        };
        let Ok(n) = value.parse::<u64>() else {
            continue;
        };
        match key {
            "rbytes" => io.read_bytes = io.read_bytes.saturating_add(n),
            "wbytes" => io.write_bytes = io.write_bytes.saturating_add(n),
            _ => {}
        }
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
        assert_eq!(parse_blkio_bytes(text), IoStats { read_bytes: 4097, write_bytes: 8194 });
        assert_eq!(parse_blkio_bytes("Total 0\n"), IoStats::default());
    }

    #[test]
    fn io_stat() {
        let text = "8:0 rbytes=1000 wbytes=2000 rios=1 wios=2 dbytes=0 dios=0\n253:0 rbytes=5 wbytes=6 rios=1 wios=1\n";
        assert_eq!(parse_io_stat(text), IoStats { read_bytes: 1005, write_bytes: 2006 });
    }

    #[test]
    fn cpu_stat() {
        let text = "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\nnr_periods 0\n";
        assert_eq!(
            parse_cpu_stat(text),
            Some(CpuStats { usage_ns: 1_500_000, user_ns: Some(1_000_000), system_ns: Some(500_000) })
        );
        assert_eq!(parse_cpu_stat("nr_periods 0\n"), None);
    }
}
