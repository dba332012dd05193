//! Resource limits: the version-neutral [`Resources`] struct and its translation into
//! cgroup v1 or v2 file writes.
//!
//! Values follow Docker's `HostConfig` semantics (as runc's `libcontainer/cgroups` does):
//! `memory_swap` is memory plus swap; CPU shares are the v1 scale (2..262144); block I/O
//! weight is the v1 scale (10..1000). For cgroup v2 they are converted:
//!
//! | setting | v1 file | v2 file |
//! |---|---|---|
//! | memory limit | `memory.limit_in_bytes` | `memory.max` |
//! | memory reservation | `memory.soft_limit_in_bytes` | `memory.low` |
//! | memory+swap | `memory.memsw.limit_in_bytes` | `memory.swap.max` = swap − memory |
//! | cpu shares | `cpu.shares` | `cpu.weight` = 1 + (shares − 2) × 9999 / 262142 |
//! | cpu quota/period | `cpu.cfs_quota_us`, `cpu.cfs_period_us` | `cpu.max` = "quota period" |
//! | cpuset | `cpuset.cpus`, `cpuset.mems` | same |
//! | pids | `pids.max` | same |
//! | oom kill disable | `memory.oom_control` = 1 | not supported (error) |
//! | blkio weight | `blkio.weight` or `blkio.bfq.weight` | `io.bfq.weight`, or `io.weight` = 1 + (w − 10) × 9999 / 990 |
//! | blkio weight per device | `blkio.weight_device` or `blkio.bfq.weight_device` | `io.bfq.weight` or `io.weight`, "MAJ:MIN w" |
//! | throttles | `blkio.throttle.{read,write}_{bps,iops}_device` | `io.max` |
//! | hugetlb | `hugetlb.<size>.limit_in_bytes` | `hugetlb.<size>.max` |
//!
//! Each setting goes to whichever hierarchy holds its controller, so on a hybrid host
//! memory goes to v1 while hugetlb goes to the cgroup2 mount.

use std::collections::BTreeMap;
use std::path::Path;

use crate::cgroup::{Cgroup, Dir};
use crate::devices::DeviceRule;
use crate::error::CgroupError;
use crate::mountinfo::{Controller, Version};
use crate::plan::{Step, Write};

/// A limit that can also be lifted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Limit {
    /// No limit (`max`, or `-1` in v1).
    Unlimited,
    /// A limit (bytes, microseconds or a count, depending on the setting).
    Value(u64),
}

/// A per-device throttle (`--device-read-bps` and friends).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ThrottleDevice {
    /// Device major number.
    pub major: u32,
    /// Device minor number.
    pub minor: u32,
    /// Bytes or operations per second; 0 removes the throttle.
    pub rate: u64,
}

/// A per-device block I/O weight (`--blkio-weight-device`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WeightDevice {
    /// Device major number.
    pub major: u32,
    /// Device minor number.
    pub minor: u32,
    /// Weight on the v1 scale (10..=1000).
    pub weight: u16,
}

/// A huge page limit (`hugetlb.<page_size>.*`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HugetlbLimit {
    /// The kernel's page size name, e.g. `2MB` or `1GB`.
    pub page_size: String,
    /// Bytes.
    pub limit: u64,
}

/// Resource limits for one cgroup. `None`/empty fields are left unchanged.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Resources {
    /// Hard memory limit in bytes.
    pub memory_limit: Option<Limit>,
    /// Soft memory limit (reservation) in bytes.
    pub memory_reservation: Option<Limit>,
    /// Memory plus swap, in bytes (Docker's `--memory-swap`); needs a memory limit.
    pub memory_swap: Option<Limit>,
    /// CPU shares on the v1 scale (2..=262144; 1024 is the default weight).
    pub cpu_shares: Option<u64>,
    /// CFS quota in microseconds per period.
    pub cpu_quota: Option<Limit>,
    /// CFS period in microseconds.
    pub cpu_period: Option<u64>,
    /// CPUs the cgroup may use, e.g. `0-3,6`.
    pub cpuset_cpus: Option<String>,
    /// Memory nodes the cgroup may use.
    pub cpuset_mems: Option<String>,
    /// Disable the OOM killer (v1 `memory.oom_control`; cgroup v2 has no such switch).
    pub oom_kill_disable: Option<bool>,
    /// Maximum number of processes/threads.
    pub pids_limit: Option<Limit>,
    /// Block I/O weight on the v1 scale (10..=1000).
    pub blkio_weight: Option<u16>,
    /// Block I/O weight per device (v1 scale).
    pub blkio_weight_device: Vec<WeightDevice>,
    /// Read bytes per second, per device.
    pub blkio_read_bps: Vec<ThrottleDevice>,
    /// Write bytes per second, per device.
    pub blkio_write_bps: Vec<ThrottleDevice>,
    /// Read operations per second, per device.
    pub blkio_read_iops: Vec<ThrottleDevice>,
    /// Write operations per second, per device.
    pub blkio_write_iops: Vec<ThrottleDevice>,
    /// Huge page limits.
    pub hugetlb: Vec<HugetlbLimit>,
    /// Device access rules, applied with [`Cgroup::set_devices`] after the limits.
    pub devices: Option<Vec<DeviceRule>>,
}

/// v1 CPU shares to v2 `cpu.weight` (runc's formula; shares are clamped to 2..=262144).
pub(crate) fn shares_to_weight(shares: u64) -> u64 {
    let shares = shares.clamp(2, 262_144);
    1 + ((shares - 2) * 9999) / 262_142
}

/// v1 blkio weight (10..=1000) to v2 `io.weight` (1..=10000), as runc.
pub(crate) fn blkio_to_io_weight(weight: u16) -> u64 {
    1 + (u64::from(weight).saturating_sub(10) * 9999) / 990
}

/// Docker's memory+swap to the v2 `memory.swap.max` value (swap alone), as runc's
/// `ConvertMemorySwapToCgroupV2Value`. `Ok(None)`: leave unchanged.
pub(crate) fn swap_to_v2(swap: Option<Limit>, memory: Option<Limit>) -> Result<Option<Limit>, &'static str> {
    match (swap, memory) {
        // Unlimited memory with swap unset means both unlimited (v1 compatibility).
        (None, Some(Limit::Unlimited)) => Ok(Some(Limit::Unlimited)),
        (None, _) => Ok(None),
        (Some(Limit::Unlimited), _) => Ok(Some(Limit::Unlimited)),
        (Some(Limit::Value(_)), None | Some(Limit::Unlimited)) => {
            Err("a swap limit needs a memory limit (memory+swap is a total)")
        }
        (Some(Limit::Value(total)), Some(Limit::Value(mem))) => total
            .checked_sub(mem)
            .map(|swap| Some(Limit::Value(swap)))
            .ok_or("memory+swap must not be smaller than the memory limit"),
    }
}

/// `cpu.max` as runc writes it: "max" or the quota, then the period if given.
pub(crate) fn cpu_max(quota: Option<Limit>, period: Option<u64>) -> Option<String> {
    if quota.is_none() && period.is_none() {
        return None;
    }
    let mut value = match quota {
        Some(Limit::Value(q)) if q > 0 => q.to_string(),
        _ => "max".to_owned(),
    };
    if let Some(p) = period {
        value.push(' ');
        value.push_str(&p.to_string());
    }
    Some(value)
}

fn v1_value(limit: Limit) -> String {
    match limit {
        Limit::Unlimited => "-1".to_owned(),
        Limit::Value(v) => v.to_string(),
    }
}

fn v2_value(limit: Limit) -> String {
    match limit {
        Limit::Unlimited => "max".to_owned(),
        Limit::Value(v) => v.to_string(),
    }
}

/// Finds the directory holding `controller`, or says which setting cannot be applied.
fn need<'a>(cg: &'a Cgroup, controller: Controller, setting: &'static str) -> Result<&'a Dir, CgroupError> {
    cg.dir_for(controller).ok_or_else(|| CgroupError::Unsupported {
        setting,
        path: cg.primary().path.clone(),
        reason: format!(
            "the {} controller is neither mounted as a cgroup v1 hierarchy nor enabled in the cgroup2 root",
            controller.name()
        ),
    })
}

fn invalid(cg: &Cgroup, setting: &'static str, reason: impl Into<String>) -> CgroupError {
    CgroupError::InvalidValue { setting, path: cg.primary().path.clone(), reason: reason.into() }
}

fn write(steps: &mut Vec<Step>, setting: &'static str, dir: &Path, file: &str, value: impl Into<String>) {
    steps.push(Step::Write(Write::new(setting, dir.join(file), value)));
}

/// Computes the writes for `res`. `current_memory_limit` (v1 only; `None` = unlimited or
/// unknown) decides whether memory+swap must be written before memory: the kernel keeps
/// memsw >= memory at every step.
pub(crate) fn plan(cg: &Cgroup, res: &Resources, current_memory_limit: Option<u64>) -> Result<Vec<Step>, CgroupError> {
    let mut steps = Vec::new();
    plan_memory(cg, res, current_memory_limit, &mut steps)?;
    plan_cpu(cg, res, &mut steps)?;
    plan_pids_hugetlb(cg, res, &mut steps)?;
    plan_blkio(cg, res, &mut steps)?;
    Ok(steps)
}

fn plan_memory(cg: &Cgroup, res: &Resources, current: Option<u64>, steps: &mut Vec<Step>) -> Result<(), CgroupError> {
    if res.memory_limit.is_none()
        && res.memory_reservation.is_none()
        && res.memory_swap.is_none()
        && res.oom_kill_disable.is_none()
    {
        return Ok(());
    }
    let setting = if res.memory_limit.is_some() { "memory.limit" } else { "memory.swap" };
    let dir = need(cg, Controller::Memory, setting)?;
    let p = dir.path.as_path();
    // Validate the pair the same way on both versions.
    let v2_swap = swap_to_v2(res.memory_swap, res.memory_limit).map_err(|r| invalid(cg, "memory.swap", r))?;
    match dir.version {
        Version::V1 => {
            let memory = res
                .memory_limit
                .map(|l| Step::Write(Write::new("memory.limit", p.join("memory.limit_in_bytes"), v1_value(l))));
            let swap = match (res.memory_swap, res.memory_limit) {
                (Some(s), _) => {
                    Some(Step::Write(Write::new("memory.swap", p.join("memory.memsw.limit_in_bytes"), v1_value(s))))
                }
                // Lifting the memory limit lifts swap too, if swap accounting exists.
                (None, Some(Limit::Unlimited)) => {
                    Some(Step::IfExists(Write::new("memory.swap", p.join("memory.memsw.limit_in_bytes"), "-1")))
                }
                (None, _) => None,
            };
            let swap_first = match (res.memory_swap, res.memory_limit) {
                (Some(Limit::Unlimited), Some(_)) => true,
                (Some(Limit::Value(s)), Some(_)) => current.is_some_and(|cur| cur < s),
                _ => false,
            };
            let (first, second) = if swap_first { (swap, memory) } else { (memory, swap) };
            steps.extend(first);
            steps.extend(second);
            if let Some(r) = res.memory_reservation {
                write(steps, "memory.reservation", p, "memory.soft_limit_in_bytes", v1_value(r));
            }
            if let Some(disable) = res.oom_kill_disable {
                write(steps, "memory.oom_kill_disable", p, "memory.oom_control", if disable { "1" } else { "0" });
            }
        }
        Version::V2 => {
            if let Some(l) = res.memory_limit {
                write(steps, "memory.limit", p, "memory.max", v2_value(l));
            }
            if let Some(swap) = v2_swap {
                let w = Write::new("memory.swap", p.join("memory.swap.max"), v2_value(swap));
                // As runc: without swap accounting, "unlimited swap" needs no write.
                steps.push(if swap == Limit::Unlimited && res.memory_swap.is_none() {
                    Step::IfExists(w)
                } else {
                    Step::Write(w)
                });
            }
            if let Some(r) = res.memory_reservation {
                write(steps, "memory.reservation", p, "memory.low", v2_value(r));
            }
            if res.oom_kill_disable == Some(true) {
                return Err(CgroupError::Unsupported {
                    setting: "memory.oom_kill_disable",
                    path: p.to_owned(),
                    reason: "cgroup v2 has no switch to disable the OOM killer".to_owned(),
                });
            }
        }
    }
    Ok(())
}

fn plan_cpu(cg: &Cgroup, res: &Resources, steps: &mut Vec<Step>) -> Result<(), CgroupError> {
    if let Some(shares) = res.cpu_shares {
        let dir = need(cg, Controller::Cpu, "cpu.shares")?;
        match dir.version {
            Version::V1 => write(steps, "cpu.shares", &dir.path, "cpu.shares", shares.to_string()),
            Version::V2 => write(steps, "cpu.shares", &dir.path, "cpu.weight", shares_to_weight(shares).to_string()),
        }
    }
    if res.cpu_quota.is_some() || res.cpu_period.is_some() {
        let dir = need(cg, Controller::Cpu, "cpu.quota")?;
        if res.cpu_period == Some(0) {
            return Err(invalid(cg, "cpu.period", "the period must be positive"));
        }
        match dir.version {
            Version::V1 => {
                // Period first: the kernel checks the quota against the current period.
                if let Some(period) = res.cpu_period {
                    write(steps, "cpu.period", &dir.path, "cpu.cfs_period_us", period.to_string());
                }
                if let Some(quota) = res.cpu_quota {
                    write(steps, "cpu.quota", &dir.path, "cpu.cfs_quota_us", v1_value(quota));
                }
            }
            Version::V2 => {
                if let Some(value) = cpu_max(res.cpu_quota, res.cpu_period) {
                    write(steps, "cpu.quota", &dir.path, "cpu.max", value);
                }
            }
        }
    }
    for (setting, file, value) in
        [("cpuset.cpus", "cpuset.cpus", &res.cpuset_cpus), ("cpuset.mems", "cpuset.mems", &res.cpuset_mems)]
    {
        if let Some(list) = value {
            let dir = need(cg, Controller::Cpuset, setting)?;
            if list.is_empty() || !list.bytes().all(|b| b.is_ascii_digit() || b == b',' || b == b'-') {
                return Err(invalid(cg, setting, format!("{list:?} is not a list like 0-3,6")));
            }
            write(steps, setting, &dir.path, file, list.clone());
        }
    }
    Ok(())
}

fn plan_pids_hugetlb(cg: &Cgroup, res: &Resources, steps: &mut Vec<Step>) -> Result<(), CgroupError> {
    if let Some(limit) = res.pids_limit {
        let dir = need(cg, Controller::Pids, "pids.limit")?;
        write(steps, "pids.limit", &dir.path, "pids.max", v2_value(limit));
    }
    for h in &res.hugetlb {
        let dir = need(cg, Controller::Hugetlb, "hugetlb.limit")?;
        // The page size becomes part of a file name: allow only names like 2MB or 1GB.
        if h.page_size.is_empty() || !h.page_size.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(invalid(cg, "hugetlb.limit", format!("{:?} is not a page size like 2MB", h.page_size)));
        }
        let (max, rsvd) = match dir.version {
            Version::V1 => ("limit_in_bytes", "rsvd.limit_in_bytes"),
            Version::V2 => ("max", "rsvd.max"),
        };
        let value = h.limit.to_string();
        // Reservation accounting (5.7+) is optional; limit it too when present, as runc.
        let rsvd = dir.path.join(format!("hugetlb.{}.{rsvd}", h.page_size));
        steps.push(Step::IfExists(Write::new("hugetlb.limit", rsvd, value.clone())));
        write(steps, "hugetlb.limit", &dir.path, &format!("hugetlb.{}.{max}", h.page_size), value);
    }
    Ok(())
}

fn plan_blkio(cg: &Cgroup, res: &Resources, steps: &mut Vec<Step>) -> Result<(), CgroupError> {
    let throttles = [
        (&res.blkio_read_bps, "blkio.throttle.read_bps_device", "rbps"),
        (&res.blkio_write_bps, "blkio.throttle.write_bps_device", "wbps"),
        (&res.blkio_read_iops, "blkio.throttle.read_iops_device", "riops"),
        (&res.blkio_write_iops, "blkio.throttle.write_iops_device", "wiops"),
    ];
    let any_throttle = throttles.iter().any(|(list, _, _)| !list.is_empty());
    if res.blkio_weight.is_none() && res.blkio_weight_device.is_empty() && !any_throttle {
        return Ok(());
    }
    let setting = if res.blkio_weight.is_some() || !res.blkio_weight_device.is_empty() {
        "blkio.weight"
    } else {
        "blkio.throttle"
    };
    let dir = cg.dir_for(Controller::Blkio).map_or_else(|| need(cg, Controller::Io, setting), Ok)?;
    let p = dir.path.as_path();
    if let Some(weight) = res.blkio_weight {
        if !(10..=1000).contains(&weight) {
            return Err(invalid(cg, "blkio.weight", format!("{weight} is outside 10..=1000")));
        }
        let w = |file: &str, value: String| Write::new("blkio.weight", p.join(file), value);
        steps.push(Step::FirstOf(match dir.version {
            // CFQ's blkio.weight is gone since 5.0; BFQ provides blkio.bfq.weight.
            Version::V1 => vec![w("blkio.weight", weight.to_string()), w("blkio.bfq.weight", weight.to_string())],
            Version::V2 => {
                vec![w("io.bfq.weight", weight.to_string()), w("io.weight", blkio_to_io_weight(weight).to_string())]
            }
        }));
    }
    for d in &res.blkio_weight_device {
        if !(10..=1000).contains(&d.weight) {
            return Err(invalid(cg, "blkio.weight_device", format!("{} is outside 10..=1000", d.weight)));
        }
        let w = |file: &str, value: String| Write::new("blkio.weight_device", p.join(file), value);
        let dev = format!("{}:{}", d.major, d.minor);
        steps.push(Step::FirstOf(match dir.version {
            Version::V1 => vec![
                w("blkio.weight_device", format!("{dev} {}", d.weight)),
                w("blkio.bfq.weight_device", format!("{dev} {}", d.weight)),
            ],
            Version::V2 => vec![
                w("io.bfq.weight", format!("{dev} {}", d.weight)),
                w("io.weight", format!("{dev} {}", blkio_to_io_weight(d.weight))),
            ],
        }));
    }
    match dir.version {
        Version::V1 => {
            for (list, file, _) in throttles {
                for t in list {
                    write(steps, "blkio.throttle", p, file, format!("{}:{} {}", t.major, t.minor, t.rate));
                }
            }
        }
        Version::V2 => {
            // io.max takes all four limits of a device in one line; 0 means no limit.
            let mut per_device: BTreeMap<(u32, u32), Vec<String>> = BTreeMap::new();
            for (list, _, key) in throttles {
                for t in list {
                    let rate = if t.rate == 0 { "max".to_owned() } else { t.rate.to_string() };
                    per_device.entry((t.major, t.minor)).or_default().push(format!("{key}={rate}"));
                }
            }
            for ((major, minor), limits) in per_device {
                write(steps, "blkio.throttle", p, "io.max", format!("{major}:{minor} {}", limits.join(" ")));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manager::tests::manager;
    use crate::mountinfo::tests::{HYBRID, V1, V2};

    fn pairs(steps: &[Step]) -> Vec<(String, String)> {
        steps.iter().flat_map(Step::pairs).collect()
    }

    fn p(path: &str, value: &str) -> (String, String) {
        (path.to_owned(), value.to_owned())
    }

    #[test]
    fn conversions() {
        assert_eq!(shares_to_weight(2), 1);
        assert_eq!(shares_to_weight(1024), 39);
        assert_eq!(shares_to_weight(262_144), 10_000);
        assert_eq!(shares_to_weight(0), 1, "clamped instead of underflowing");
        assert_eq!(shares_to_weight(1_000_000), 10_000);
        assert_eq!(blkio_to_io_weight(10), 1);
        assert_eq!(blkio_to_io_weight(500), 4950);
        assert_eq!(blkio_to_io_weight(1000), 10_000);
        assert_eq!(cpu_max(None, None), None);
        assert_eq!(cpu_max(Some(Limit::Value(50_000)), None).as_deref(), Some("50000"));
        assert_eq!(cpu_max(Some(Limit::Value(50_000)), Some(100_000)).as_deref(), Some("50000 100000"));
        assert_eq!(cpu_max(Some(Limit::Unlimited), Some(100_000)).as_deref(), Some("max 100000"));
        assert_eq!(cpu_max(None, Some(250_000)).as_deref(), Some("max 250000"));
    }

    #[test]
    fn swap_conversion() {
        let v = |n| Some(Limit::Value(n));
        assert_eq!(swap_to_v2(None, None), Ok(None));
        assert_eq!(swap_to_v2(None, v(100)), Ok(None));
        assert_eq!(swap_to_v2(None, Some(Limit::Unlimited)), Ok(Some(Limit::Unlimited)));
        assert_eq!(swap_to_v2(Some(Limit::Unlimited), v(100)), Ok(Some(Limit::Unlimited)));
        assert_eq!(swap_to_v2(v(300), v(100)), Ok(v(200)));
        assert_eq!(swap_to_v2(v(100), v(100)), Ok(v(0)), "equal totals disable swap");
        assert!(swap_to_v2(v(50), v(100)).is_err());
        assert!(swap_to_v2(v(50), None).is_err());
        assert!(swap_to_v2(v(50), Some(Limit::Unlimited)).is_err());
    }

    fn full() -> Resources {
        Resources {
            memory_limit: Some(Limit::Value(64 << 20)),
            memory_reservation: Some(Limit::Value(32 << 20)),
            memory_swap: Some(Limit::Value(128 << 20)),
            cpu_shares: Some(512),
            cpu_quota: Some(Limit::Value(50_000)),
            cpu_period: Some(100_000),
            cpuset_cpus: Some("0-1".to_owned()),
            cpuset_mems: Some("0".to_owned()),
            pids_limit: Some(Limit::Value(100)),
            blkio_weight: Some(500),
            blkio_read_bps: vec![ThrottleDevice { major: 8, minor: 0, rate: 1 << 20 }],
            blkio_write_iops: vec![ThrottleDevice { major: 8, minor: 0, rate: 100 }],
            hugetlb: vec![HugetlbLimit { page_size: "2MB".to_owned(), limit: 4 << 20 }],
            ..Resources::default()
        }
    }

    #[test]
    fn v1_plan() {
        let m = manager(V1, "");
        let cg = m.cgroup("berth/c1").expect("valid");
        let steps = plan(&cg, &full(), None).expect("plans");
        let mem = "/sys/fs/cgroup/memory/berth/c1";
        let cpu = "/sys/fs/cgroup/cpu,cpuacct/berth/c1";
        assert_eq!(
            pairs(&steps),
            [
                p(&format!("{mem}/memory.limit_in_bytes"), "67108864"),
                p(&format!("{mem}/memory.memsw.limit_in_bytes"), "134217728"),
                p(&format!("{mem}/memory.soft_limit_in_bytes"), "33554432"),
                p(&format!("{cpu}/cpu.shares"), "512"),
                p(&format!("{cpu}/cpu.cfs_period_us"), "100000"),
                p(&format!("{cpu}/cpu.cfs_quota_us"), "50000"),
                p("/sys/fs/cgroup/cpuset/berth/c1/cpuset.cpus", "0-1"),
                p("/sys/fs/cgroup/cpuset/berth/c1/cpuset.mems", "0"),
                p("/sys/fs/cgroup/pids/berth/c1/pids.max", "100"),
                p("/sys/fs/cgroup/hugetlb/berth/c1/hugetlb.2MB.rsvd.limit_in_bytes", "4194304"),
                p("/sys/fs/cgroup/hugetlb/berth/c1/hugetlb.2MB.limit_in_bytes", "4194304"),
                p("/sys/fs/cgroup/blkio/berth/c1/blkio.weight", "500"),
                p("/sys/fs/cgroup/blkio/berth/c1/blkio.bfq.weight", "500"),
                p("/sys/fs/cgroup/blkio/berth/c1/blkio.throttle.read_bps_device", "8:0 1048576"),
                p("/sys/fs/cgroup/blkio/berth/c1/blkio.throttle.write_iops_device", "8:0 100"),
            ]
        );
        assert!(matches!(steps[11], Step::FirstOf(_)));
        assert!(matches!(steps[9], Step::IfExists(_)));
    }

    #[test]
    fn v1_swap_ordering_follows_current_limit() {
        let m = manager(V1, "");
        let cg = m.cgroup("c").expect("valid");
        let res = Resources {
            memory_limit: Some(Limit::Value(200)),
            memory_swap: Some(Limit::Value(400)),
            ..Resources::default()
        };
        let files = |cur| -> Vec<String> {
            plan(&cg, &res, cur)
                .expect("plans")
                .iter()
                .flat_map(Step::pairs)
                .map(|(f, _)| f.rsplit('/').next().unwrap_or_default().to_owned())
                .collect()
        };
        // Raising from a 100-byte limit: memsw (400) first would be >= 100, fine; memory
        // first would be 200 > old memsw, rejected. So swap goes first.
        assert_eq!(files(Some(100)), ["memory.memsw.limit_in_bytes", "memory.limit_in_bytes"]);
        // Lowering from 1000, or fresh (unlimited): memory first.
        assert_eq!(files(Some(1000)), ["memory.limit_in_bytes", "memory.memsw.limit_in_bytes"]);
        assert_eq!(files(None), ["memory.limit_in_bytes", "memory.memsw.limit_in_bytes"]);

        // Lifting the memory limit lifts swap if swap accounting exists.
        let res = Resources { memory_limit: Some(Limit::Unlimited), ..Resources::default() };
        let steps = plan(&cg, &res, None).expect("plans");
        assert_eq!(steps.len(), 2);
        assert!(matches!(&steps[1], Step::IfExists(w) if w.value == "-1"));
    }

    #[test]
    fn v2_plan() {
        let m = manager(V2, "cpuset cpu io memory hugetlb pids rdma misc");
        let cg = m.cgroup("berth/c1").expect("valid");
        let mut res = full();
        res.blkio_write_bps = vec![ThrottleDevice { major: 8, minor: 0, rate: 0 }];
        res.blkio_read_bps.push(ThrottleDevice { major: 7, minor: 1, rate: 10 });
        let d = "/sys/fs/cgroup/berth/c1";
        assert_eq!(
            pairs(&plan(&cg, &res, None).expect("plans")),
            [
                p(&format!("{d}/memory.max"), "67108864"),
                p(&format!("{d}/memory.swap.max"), "67108864"),
                p(&format!("{d}/memory.low"), "33554432"),
                p(&format!("{d}/cpu.weight"), "20"),
                p(&format!("{d}/cpu.max"), "50000 100000"),
                p(&format!("{d}/cpuset.cpus"), "0-1"),
                p(&format!("{d}/cpuset.mems"), "0"),
                p(&format!("{d}/pids.max"), "100"),
                p(&format!("{d}/hugetlb.2MB.rsvd.max"), "4194304"),
                p(&format!("{d}/hugetlb.2MB.max"), "4194304"),
                p(&format!("{d}/io.bfq.weight"), "500"),
                p(&format!("{d}/io.weight"), "4950"),
                p(&format!("{d}/io.max"), "7:1 rbps=10"),
                p(&format!("{d}/io.max"), "8:0 rbps=1048576 wbps=max wiops=100"),
            ]
        );
    }

    #[test]
    fn hybrid_plan_splits_between_hierarchies() {
        let m = manager(HYBRID, "hugetlb");
        let cg = m.cgroup("berth/c1").expect("valid");
        let res = Resources {
            memory_limit: Some(Limit::Value(1 << 30)),
            pids_limit: Some(Limit::Unlimited),
            hugetlb: vec![HugetlbLimit { page_size: "1GB".to_owned(), limit: 0 }],
            ..Resources::default()
        };
        assert_eq!(
            pairs(&plan(&cg, &res, None).expect("plans")),
            [
                p("/sys/fs/cgroup/memory/berth/c1/memory.limit_in_bytes", "1073741824"),
                p("/sys/fs/cgroup/pids/berth/c1/pids.max", "max"),
                p("/sys/fs/cgroup/unified/berth/c1/hugetlb.1GB.rsvd.max", "0"),
                p("/sys/fs/cgroup/unified/berth/c1/hugetlb.1GB.max", "0"),
            ]
        );
        // Hybrid without hugetlb in the unified root: say so.
        let m = manager(HYBRID, "");
        let cg = m.cgroup("berth/c1").expect("valid");
        let err = plan(&cg, &res, None).unwrap_err();
        assert!(matches!(err, CgroupError::Unsupported { setting: "hugetlb.limit", .. }), "{err}");
    }

    #[test]
    fn missing_controllers_and_bad_values_are_errors() {
        let m = manager(V2, "memory");
        let cg = m.cgroup("c").expect("valid");
        let err =
            plan(&cg, &Resources { pids_limit: Some(Limit::Value(5)), ..Resources::default() }, None).unwrap_err();
        assert_eq!(
            err.to_string(),
            "pids.limit is not supported on this host (/sys/fs/cgroup/c): the pids controller is \
             neither mounted as a cgroup v1 hierarchy nor enabled in the cgroup2 root"
        );
        let bad = [
            Resources { memory_swap: Some(Limit::Value(5)), ..Resources::default() },
            Resources {
                memory_limit: Some(Limit::Value(10)),
                memory_swap: Some(Limit::Value(5)),
                ..Resources::default()
            },
        ];
        for res in bad {
            let err = plan(&cg, &res, None).unwrap_err();
            assert!(matches!(err, CgroupError::InvalidValue { setting: "memory.swap", .. }), "{err}");
        }
        let m = manager(V1, "");
        let cg = m.cgroup("c").expect("valid");
        let bad = [
            Resources { blkio_weight: Some(5), ..Resources::default() },
            Resources { cpuset_cpus: Some("0\n1".to_owned()), ..Resources::default() },
            Resources { cpu_period: Some(0), ..Resources::default() },
            Resources {
                hugetlb: vec![HugetlbLimit { page_size: "../x".to_owned(), limit: 1 }],
                ..Resources::default()
            },
        ];
        for res in bad {
            let err = plan(&cg, &res, None).unwrap_err();
            assert!(matches!(err, CgroupError::InvalidValue { .. }), "{err}");
        }
        assert!(plan(&cg, &Resources::default(), None).expect("plans").is_empty());
    }

    #[test]
    fn oom_kill_disable_and_weight_device() {
        let res = Resources {
            oom_kill_disable: Some(true),
            blkio_weight_device: vec![WeightDevice { major: 254, minor: 0, weight: 500 }],
            ..Resources::default()
        };
        let m = manager(V1, "");
        let cg = m.cgroup("berth/c1").expect("valid");
        let steps = plan(&cg, &res, None).expect("plans");
        assert_eq!(
            pairs(&steps),
            [
                p("/sys/fs/cgroup/memory/berth/c1/memory.oom_control", "1"),
                p("/sys/fs/cgroup/blkio/berth/c1/blkio.weight_device", "254:0 500"),
                p("/sys/fs/cgroup/blkio/berth/c1/blkio.bfq.weight_device", "254:0 500"),
            ]
        );
        assert!(matches!(steps[1], Step::FirstOf(_)));

        let m = manager(V2, "cpuset cpu io memory hugetlb pids");
        let cg = m.cgroup("berth/c1").expect("valid");
        let weights = Resources { oom_kill_disable: Some(false), ..res.clone() };
        assert_eq!(
            pairs(&plan(&cg, &weights, None).expect("plans")),
            [
                p("/sys/fs/cgroup/berth/c1/io.bfq.weight", "254:0 500"),
                p("/sys/fs/cgroup/berth/c1/io.weight", "254:0 4950"),
            ]
        );
        let err = plan(&cg, &res, None).unwrap_err();
        assert!(matches!(err, CgroupError::Unsupported { setting: "memory.oom_kill_disable", .. }), "{err}");
        let bad = Resources {
            blkio_weight_device: vec![WeightDevice { major: 8, minor: 0, weight: 2000 }],
            ..Resources::default()
        };
        assert!(matches!(plan(&cg, &bad, None), Err(CgroupError::InvalidValue { .. })));
    }
}
