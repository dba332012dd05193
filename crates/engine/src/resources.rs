//! cgroup limits and ulimits of containers: dockerd's validation (and its messages), the
//! translation of [`Resources`] into `cgroups::Resources`, live updates ([`Engine::update`])
//! and usage samples ([`Engine::stats`]).
//!
//! Limits are written to the container's cgroup at every start, before its process exists
//! (the cgroup is new each time). An update validates the whole resulting configuration first,
//! then writes only the settings it changes; if a write fails half-way, the previous values of
//! those settings are written back and the record is left unchanged. The `cgroups` crate orders
//! the memory writes (v1 keeps memory+swap ≥ memory at every step). Ulimits of a running
//! container are changed on every one of its processes with prlimit(2).

use std::collections::BTreeMap;
use std::sync::OnceLock;

use cgroups::Limit;

use crate::model::{Resources, ResourcesUpdate, ThrottleDevice, Ulimit, WeightDevice};
use crate::{Engine, EngineError};

/// dockerd's minimum memory limit and reservation (`linuxMinMemory`).
const MIN_MEMORY: i64 = 6 << 20;
/// The CFS period `--cpus` uses (runc's default).
const DEFAULT_CPU_PERIOD: u64 = 100_000;

/// What this host offers, for validation.
#[derive(Debug, Clone)]
pub(crate) struct HostFacts {
    /// Online CPUs (`/sys/devices/system/cpu/online`), e.g. `0-1`.
    pub cpus: String,
    /// Online memory nodes, e.g. `0`.
    pub mems: String,
    /// Number of online CPUs.
    pub ncpu: u32,
    /// Swap accounting per cgroup (a memory+swap limit can be set).
    pub swap: bool,
    /// Whether the daemon has cgroups at all (it runs without them, unlimited, if not).
    pub cgroups: bool,
}

impl HostFacts {
    pub(crate) fn detect(cgroups: Option<&cgroups::Manager>) -> HostFacts {
        static LISTS: OnceLock<(String, String)> = OnceLock::new();
        let (cpus, mems) = LISTS.get_or_init(|| {
            let read = |p: &str, default: &str| {
                std::fs::read_to_string(p).map(|s| s.trim().to_owned()).unwrap_or_else(|_| default.to_owned())
            };
            (read("/sys/devices/system/cpu/online", "0"), read("/sys/devices/system/node/online", "0"))
        });
        let ncpu = parse_list(cpus).map(|l| l.len()).unwrap_or(1).max(1);
        HostFacts {
            cpus: cpus.clone(),
            mems: mems.clone(),
            ncpu: u32::try_from(ncpu).unwrap_or(u32::MAX),
            // A boot-time property of the kernel: looked up once.
            swap: {
                static SWAP: OnceLock<bool> = OnceLock::new();
                *SWAP.get_or_init(|| cgroups.is_some_and(cgroups::Manager::swap_accounting))
            },
            cgroups: cgroups.is_some(),
        }
    }
}

fn bad(msg: impl Into<String>) -> EngineError {
    EngineError::InvalidArgument(msg.into())
}

/// Parses a cpuset list (`0-3,6`) into its members; `None` if malformed.
pub(crate) fn parse_list(s: &str) -> Option<Vec<u32>> {
    let mut out = Vec::new();
    for part in s.split(',') {
        let (a, b) = match part.split_once('-') {
            Some((a, b)) => (a.parse::<u32>().ok()?, b.parse::<u32>().ok()?),
            None => {
                let n = part.parse::<u32>().ok()?;
                (n, n)
            }
        };
        if a > b || b - a > 4096 {
            return None;
        }
        out.extend(a..=b);
    }
    out.sort_unstable();
    out.dedup();
    Some(out)
}

fn check_cpuset(value: &str, available: &str, what: &str, plural: &str) -> Result<(), EngineError> {
    if value.is_empty() {
        return Ok(());
    }
    let Some(want) = parse_list(value) else {
        return Err(bad(format!("Invalid value {value} for cpuset {what}")));
    };
    let have = parse_list(available).unwrap_or_default();
    if want.iter().any(|n| !have.contains(n)) {
        return Err(bad(format!("Requested {plural} are not available - requested {value}, available: {available}")));
    }
    Ok(())
}

/// The rlimit a `--ulimit` name stands for.
pub(crate) fn rlimit_resource(name: &str) -> Option<rustix::process::Resource> {
    use rustix::process::Resource as R;
    let n = name.to_ascii_lowercase();
    Some(match n.strip_prefix("rlimit_").unwrap_or(&n) {
        "as" => R::As,
        "core" => R::Core,
        "cpu" => R::Cpu,
        "data" => R::Data,
        "fsize" => R::Fsize,
        "locks" => R::Locks,
        "memlock" => R::Memlock,
        "msgqueue" => R::Msgqueue,
        "nice" => R::Nice,
        "nofile" => R::Nofile,
        "nproc" => R::Nproc,
        "rss" => R::Rss,
        "rtprio" => R::Rtprio,
        "rttime" => R::Rttime,
        "sigpending" => R::Sigpending,
        "stack" => R::Stack,
        _ => return None,
    })
}

/// Validates `--ulimit`s (go-units' messages).
pub(crate) fn validate_ulimits(ulimits: &[Ulimit]) -> Result<(), EngineError> {
    for u in ulimits {
        if rlimit_resource(&u.name).is_none() {
            return Err(bad(format!("invalid ulimit type: {}", u.name)));
        }
        let soft = if u.soft < 0 { u64::MAX } else { u.soft.unsigned_abs() };
        let hard = if u.hard < 0 { u64::MAX } else { u.hard.unsigned_abs() };
        if soft > hard {
            return Err(bad(format!(
                "ulimit soft limit must be less than or equal to hard limit: {} > {}",
                u.soft, u.hard
            )));
        }
    }
    Ok(())
}

/// A block device's number, or why the path is no good for `flag`.
pub(crate) fn block_device(path: &str, flag: &str) -> Result<(u32, u32), EngineError> {
    let st = rustix::fs::stat(path).map_err(|e| {
        // "No such file or directory (os error 2)" → "no such file or directory", as Go says it.
        let text = std::io::Error::from(e).to_string();
        let text = text.split(" (os error").next().unwrap_or(&text).to_lowercase();
        bad(format!("invalid device path {path:?} for {flag}: {text}"))
    })?;
    let kind = rustix::fs::FileType::from_raw_mode(st.st_mode);
    if kind != rustix::fs::FileType::BlockDevice {
        return Err(bad(format!("{path:?} given to {flag} is not a block device")));
    }
    Ok((rustix::fs::major(st.st_rdev), rustix::fs::minor(st.st_rdev)))
}

/// dockerd's checks (`verifyPlatformContainerResources`), with its messages, plus the
/// device paths; nothing is written.
pub(crate) fn validate(r: &Resources, host: &HostFacts) -> Result<(), EngineError> {
    if !host.cgroups && *r != Resources::default() {
        return Err(bad("resource limits need cgroups, and the daemon found no usable cgroup hierarchy on this host"));
    }
    if r.memory != 0 && r.memory < MIN_MEMORY {
        return Err(bad("Minimum memory limit allowed is 6MB"));
    }
    if r.memory_swap > 0 && r.memory == 0 {
        return Err(bad("You should always set the Memory limit when using Memoryswap limit, see usage"));
    }
    if r.memory_swap > 0 && r.memory_swap < r.memory {
        return Err(bad("Minimum memoryswap limit should be larger than memory limit, see usage"));
    }
    if r.memory_swap < -1 {
        return Err(bad(format!("invalid memory swap limit {}: use -1 for unlimited swap", r.memory_swap)));
    }
    if r.memory_swap > 0 && r.memory_swap != r.memory && !host.swap {
        return Err(bad(
            "a memory+swap limit is not supported on this host: the kernel does not account swap per cgroup \
             (memory.memsw.limit_in_bytes / memory.swap.max missing; boot with swapaccount=1)",
        ));
    }
    if r.memory_reservation != 0 && r.memory_reservation < MIN_MEMORY {
        return Err(bad("Minimum memory reservation allowed is 6MB"));
    }
    if r.memory > 0 && r.memory_reservation > 0 && r.memory < r.memory_reservation {
        return Err(bad("Minimum memory limit can not be less than memory reservation limit, see usage"));
    }
    if r.nano_cpus != 0 {
        if r.cpu_period > 0 {
            return Err(bad("Conflicting options: Nano CPUs and CPU Period cannot both be set"));
        }
        if r.cpu_quota > 0 {
            return Err(bad("Conflicting options: Nano CPUs and CPU Quota cannot both be set"));
        }
        if r.nano_cpus < 10_000_000 || r.nano_cpus > i64::from(host.ncpu) * 1_000_000_000 {
            let n = host.ncpu;
            return Err(bad(format!("Range of CPUs is from 0.01 to {n}.00, as there are only {n} CPUs available")));
        }
    }
    if r.cpu_shares < 0 {
        return Err(bad(format!("invalid CPU shares ({}): value must be a positive integer", r.cpu_shares)));
    }
    if r.cpu_period != 0 && !(1000..=1_000_000).contains(&r.cpu_period) {
        return Err(bad("CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)"));
    }
    if r.cpu_quota > 0 && r.cpu_quota < 1000 {
        return Err(bad("CPU cfs quota can not be less than 1ms (i.e. 1000)"));
    }
    if r.cpu_quota < -1 {
        return Err(bad(format!("invalid CPU quota {}: use -1 for no limit", r.cpu_quota)));
    }
    check_cpuset(&r.cpuset_cpus, &host.cpus, "cpus", "CPUs")?;
    check_cpuset(&r.cpuset_mems, &host.mems, "mems", "mems")?;
    if r.blkio_weight != 0 && !(10..=1000).contains(&r.blkio_weight) {
        return Err(bad("Range of blkio weight is from 10 to 1000"));
    }
    for d in &r.blkio_weight_device {
        if !(10..=1000).contains(&d.weight) {
            return Err(bad(format!("Range of blkio weight is from 10 to 1000 (--blkio-weight-device {})", d.path)));
        }
        block_device(&d.path, "--blkio-weight-device")?;
    }
    for (list, flag) in throttle_lists(r) {
        for d in list {
            block_device(&d.path, flag)?;
        }
    }
    Ok(())
}

fn throttle_lists(r: &Resources) -> [(&Vec<ThrottleDevice>, &'static str); 4] {
    [
        (&r.device_read_bps, "--device-read-bps"),
        (&r.device_write_bps, "--device-write-bps"),
        (&r.device_read_iops, "--device-read-iops"),
        (&r.device_write_iops, "--device-write-iops"),
    ]
}

/// Docker's create-time defaults: a memory limit without a swap setting gets memory+swap of
/// twice the memory (swap as large as memory), or unlimited swap (-1) on a host without swap
/// accounting (where dockerd warns "Your kernel does not support swap limit capabilities").
pub(crate) fn defaults(r: &mut Resources, host: &HostFacts) -> Vec<String> {
    let mut warnings = Vec::new();
    if r.memory > 0 && r.memory_swap == 0 {
        r.memory_swap = if host.swap { r.memory.saturating_mul(2) } else { -1 };
    }
    if r.oom_kill_disable == Some(true) && r.memory == 0 {
        warnings.push(
            "OOM killer is disabled for the container, but no memory limit is set, this can result in the system \
             running out of resources."
                .to_owned(),
        );
    }
    warnings
}

fn merge_devices<T: Clone>(list: &mut Vec<T>, patch: &[T], path: impl Fn(&T) -> &str, remove: impl Fn(&T) -> bool) {
    for p in patch {
        list.retain(|d| path(d) != path(p));
        if !remove(p) {
            list.push(p.clone());
        }
    }
}

/// The configuration after `u`, with dockerd's memory rule: a new memory limit alone keeps
/// an implicit swap setting implicit (twice the memory), and must not exceed an explicit one.
pub(crate) fn merge(old: &Resources, u: &ResourcesUpdate, host: &HostFacts) -> Result<Resources, EngineError> {
    let mut r = old.clone();
    if let Some(m) = u.memory {
        if u.memory_swap.is_none() {
            let implicit = old.memory_swap == 0 || (old.memory > 0 && old.memory_swap == old.memory.saturating_mul(2));
            if implicit {
                r.memory_swap = match (m > 0, host.swap) {
                    (true, true) => m.saturating_mul(2),
                    (true, false) => -1,
                    (false, _) => 0,
                };
            } else if old.memory_swap > 0 && m > old.memory_swap {
                return Err(bad(
                    "Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the \
                     same time",
                ));
            }
        }
        r.memory = m;
    }
    if let Some(s) = u.memory_swap {
        r.memory_swap = s;
    }
    if let Some(v) = u.memory_reservation {
        r.memory_reservation = v;
    }
    if let Some(n) = u.nano_cpus {
        r.nano_cpus = n;
        // --cpus replaces a quota/period setting (and the other way round).
        if u.cpu_quota.is_none() && u.cpu_period.is_none() {
            r.cpu_quota = 0;
            r.cpu_period = 0;
        }
    }
    if let Some(v) = u.cpu_quota {
        r.cpu_quota = v;
        if u.nano_cpus.is_none() {
            r.nano_cpus = 0;
        }
    }
    if let Some(v) = u.cpu_period {
        r.cpu_period = v;
        if u.nano_cpus.is_none() {
            r.nano_cpus = 0;
        }
    }
    if let Some(v) = u.cpu_shares {
        r.cpu_shares = v;
    }
    if let Some(v) = &u.cpuset_cpus {
        r.cpuset_cpus = v.clone();
    }
    if let Some(v) = &u.cpuset_mems {
        r.cpuset_mems = v.clone();
    }
    if let Some(v) = u.pids_limit {
        r.pids_limit = Some(v);
    }
    if let Some(v) = u.blkio_weight {
        r.blkio_weight = v;
    }
    merge_devices(&mut r.blkio_weight_device, &u.blkio_weight_device, |d| &d.path, |d| d.weight == 0);
    for (list, patch) in [
        (&mut r.device_read_bps, &u.device_read_bps),
        (&mut r.device_write_bps, &u.device_write_bps),
        (&mut r.device_read_iops, &u.device_read_iops),
        (&mut r.device_write_iops, &u.device_write_iops),
    ] {
        merge_devices(list, patch, |d| &d.path, |d| d.rate == 0);
    }
    Ok(r)
}

/// `ulimits` with `patch` merged in by name.
pub(crate) fn merge_ulimits(ulimits: &[Ulimit], patch: &[Ulimit]) -> Vec<Ulimit> {
    let mut out = ulimits.to_vec();
    merge_devices(&mut out, patch, |u| &u.name, |_| false);
    out
}

fn pos(v: i64) -> Option<u64> {
    u64::try_from(v).ok().filter(|v| *v > 0)
}

/// Which settings an update touches (only those are written to a running container).
#[derive(Debug, Clone, Copy, Default)]
struct Touched {
    memory: bool,
    reservation: bool,
    cpu_shares: bool,
    cpu_quota: bool,
    cpus: bool,
    mems: bool,
    pids: bool,
    blkio_weight: bool,
}

impl Touched {
    fn of(u: &ResourcesUpdate) -> Touched {
        Touched {
            memory: u.memory.is_some() || u.memory_swap.is_some(),
            reservation: u.memory_reservation.is_some(),
            cpu_shares: u.cpu_shares.is_some(),
            cpu_quota: u.nano_cpus.is_some() || u.cpu_quota.is_some() || u.cpu_period.is_some(),
            cpus: u.cpuset_cpus.is_some(),
            mems: u.cpuset_mems.is_some(),
            pids: u.pids_limit.is_some(),
            blkio_weight: u.blkio_weight.is_some(),
        }
    }
}

/// The cgroup settings of `r` at a start: unset fields are left alone (a new cgroup has
/// no limits).
pub(crate) fn start_resources(r: &Resources) -> Result<cgroups::Resources, EngineError> {
    let mut out = cgroups::Resources {
        memory_limit: pos(r.memory).map(Limit::Value),
        memory_swap: pos(r.memory_swap).filter(|_| r.memory > 0).map(Limit::Value),
        memory_reservation: pos(r.memory_reservation).map(Limit::Value),
        oom_kill_disable: r.oom_kill_disable.filter(|d| *d),
        cpu_shares: pos(r.cpu_shares),
        cpuset_cpus: Some(r.cpuset_cpus.clone()).filter(|s| !s.is_empty()),
        cpuset_mems: Some(r.cpuset_mems.clone()).filter(|s| !s.is_empty()),
        pids_limit: r.pids_limit.and_then(pos).map(Limit::Value),
        blkio_weight: Some(r.blkio_weight).filter(|w| *w > 0),
        ..cgroups::Resources::default()
    };
    (out.cpu_quota, out.cpu_period) = cpu_quota(r);
    devices(r, &mut out, None)?;
    Ok(out)
}

fn cpu_quota(r: &Resources) -> (Option<Limit>, Option<u64>) {
    if let Some(nano) = pos(r.nano_cpus) {
        let quota = nano.saturating_mul(DEFAULT_CPU_PERIOD) / 1_000_000_000;
        return (Some(Limit::Value(quota.max(1000))), Some(DEFAULT_CPU_PERIOD));
    }
    let quota = match r.cpu_quota {
        q if q > 0 => Some(Limit::Value(q.unsigned_abs())),
        -1 => Some(Limit::Unlimited),
        _ => None,
    };
    (quota, pos(r.cpu_period))
}

/// Resolves the device lists of `r`. With `only` (an update), just the devices named by the
/// update, with rate or weight 0 where `r` has none (removing the limit).
fn devices(r: &Resources, out: &mut cgroups::Resources, only: Option<&ResourcesUpdate>) -> Result<(), EngineError> {
    let pick = |list: &[ThrottleDevice], patch: Option<&Vec<ThrottleDevice>>, flag: &str| {
        let entries: Vec<ThrottleDevice> = match patch {
            None => list.to_vec(),
            Some(p) => p
                .iter()
                .map(|d| ThrottleDevice {
                    path: d.path.clone(),
                    rate: list.iter().find(|x| x.path == d.path).map_or(0, |x| x.rate),
                })
                .collect(),
        };
        entries
            .iter()
            .map(|d| {
                let (major, minor) = block_device(&d.path, flag)?;
                Ok(cgroups::ThrottleDevice { major, minor, rate: d.rate })
            })
            .collect::<Result<Vec<_>, EngineError>>()
    };
    out.blkio_read_bps = pick(&r.device_read_bps, only.map(|u| &u.device_read_bps), "--device-read-bps")?;
    out.blkio_write_bps = pick(&r.device_write_bps, only.map(|u| &u.device_write_bps), "--device-write-bps")?;
    out.blkio_read_iops = pick(&r.device_read_iops, only.map(|u| &u.device_read_iops), "--device-read-iops")?;
    out.blkio_write_iops = pick(&r.device_write_iops, only.map(|u| &u.device_write_iops), "--device-write-iops")?;
    let weights: Vec<WeightDevice> = match only {
        None => r.blkio_weight_device.clone(),
        Some(u) => u
            .blkio_weight_device
            .iter()
            .filter_map(|d| r.blkio_weight_device.iter().find(|x| x.path == d.path).cloned())
            .collect(),
    };
    out.blkio_weight_device = weights
        .iter()
        .map(|d| {
            let (major, minor) = block_device(&d.path, "--blkio-weight-device")?;
            Ok(cgroups::WeightDevice { major, minor, weight: d.weight })
        })
        .collect::<Result<_, EngineError>>()?;
    Ok(())
}

/// The writes that bring a running container's cgroup to `r` for the settings `u` touches.
/// Unset values become explicit defaults (no limit, 1024 shares, every CPU), so the same
/// function gives the rollback from the old configuration.
pub(crate) fn update_resources(
    r: &Resources,
    u: &ResourcesUpdate,
    host: &HostFacts,
) -> Result<cgroups::Resources, EngineError> {
    let t = Touched::of(u);
    let limit = |v: i64| pos(v).map_or(Limit::Unlimited, Limit::Value);
    let mut out = cgroups::Resources::default();
    if t.memory {
        out.memory_limit = Some(limit(r.memory));
        out.memory_swap = match r.memory_swap {
            s if s > 0 && r.memory > 0 => Some(Limit::Value(s.unsigned_abs())),
            _ if host.swap => Some(Limit::Unlimited),
            _ => None,
        };
    }
    if t.reservation {
        out.memory_reservation = Some(limit(r.memory_reservation));
    }
    if t.cpu_shares {
        out.cpu_shares = Some(pos(r.cpu_shares).unwrap_or(1024));
    }
    if t.cpu_quota {
        let (quota, period) = cpu_quota(r);
        out.cpu_quota = Some(quota.unwrap_or(Limit::Unlimited));
        out.cpu_period = Some(period.unwrap_or(DEFAULT_CPU_PERIOD));
    }
    if t.cpus {
        out.cpuset_cpus = Some(if r.cpuset_cpus.is_empty() { host.cpus.clone() } else { r.cpuset_cpus.clone() });
    }
    if t.mems {
        out.cpuset_mems = Some(if r.cpuset_mems.is_empty() { host.mems.clone() } else { r.cpuset_mems.clone() });
    }
    if t.pids {
        out.pids_limit = Some(r.pids_limit.and_then(pos).map_or(Limit::Unlimited, Limit::Value));
    }
    if t.blkio_weight && r.blkio_weight > 0 {
        out.blkio_weight = Some(r.blkio_weight);
    }
    devices(r, &mut out, Some(u))?;
    Ok(out)
}

/// Sets `ulimits` on each of `pids` with prlimit(2). On failure, the processes already
/// changed get their previous limits back (best effort) and the error names the process.
fn prlimit_all(pids: &[i32], ulimits: &[Ulimit]) -> Result<(), EngineError> {
    use rustix::process::{Pid, Rlimit, prlimit};
    let conv = |v: i64| if v < 0 { None } else { Some(v.unsigned_abs()) };
    let mut done: Vec<(Pid, rustix::process::Resource, Rlimit)> = Vec::new();
    for &raw in pids {
        let Some(pid) = Pid::from_raw(raw) else { continue };
        for u in ulimits {
            let res = rlimit_resource(&u.name).ok_or_else(|| bad(format!("invalid ulimit type: {}", u.name)))?;
            let new = Rlimit { current: conv(u.soft), maximum: conv(u.hard) };
            match prlimit(Some(pid), res, new) {
                Ok(old) => done.push((pid, res, old)),
                // Exited meanwhile.
                Err(rustix::io::Errno::SRCH) => {}
                Err(e) => {
                    for (pid, res, old) in done.into_iter().rev() {
                        let _ = prlimit(Some(pid), res, old);
                    }
                    return Err(EngineError::io(
                        format!("setting ulimit {}={}:{} of process {raw}", u.name, u.soft, u.hard),
                        e.into(),
                    ));
                }
            }
        }
    }
    Ok(())
}

impl Engine {
    pub(crate) fn host_facts(&self) -> HostFacts {
        HostFacts::detect(self.inner.cgroups.as_ref())
    }

    /// Changes a container's limits, ulimits and restart policy (`docker update`). A running
    /// or paused container gets them at once (its processes keep running); a stopped one at
    /// its next start. Returns warnings.
    pub async fn update(&self, name_or_id: &str, u: ResourcesUpdate) -> Result<Vec<String>, EngineError> {
        let ctr = self.lookup(name_or_id)?;
        let _op = ctr.op.lock().await;
        let c = ctr.snapshot();
        if u.restart_policy.as_ref().is_some_and(|p| !p.is_none()) && c.host_config.auto_remove {
            return Err(bad("Restart policy cannot be updated because AutoRemove is enabled for the container"));
        }
        if let Some(p) = &u.restart_policy {
            crate::create::validate_restart(p)?;
        }
        let host = self.host_facts();
        let old = c.host_config.resources.clone();
        let new = merge(&old, &u, &host)?;
        validate(&new, &host)?;
        validate_ulimits(&u.ulimits)?;
        let ulimits = merge_ulimits(&c.host_config.ulimits, &u.ulimits);
        if c.is_running() {
            let want = update_resources(&new, &u, &host)?;
            let back = update_resources(&old, &u, &host)?;
            let cg = self.cgroup(&c.id)?;
            let (pid, patch) = (c.state.pid, u.ulimits.clone());
            tokio::task::spawn_blocking(move || -> Result<(), EngineError> {
                if let Some(cg) = &cg
                    && let Err(e) = cg.apply(&want)
                {
                    if let Err(e2) = cg.apply(&back) {
                        tracing::error!(%e2, "restoring the cgroup limits after a failed update");
                    }
                    return Err(e.into());
                }
                if patch.is_empty() {
                    return Ok(());
                }
                let pids = match &cg {
                    Some(cg) => cg.pids()?,
                    None => vec![pid],
                };
                // prlimit_all restores the processes it changed; the cgroup gets its old values.
                if let Err(e) = prlimit_all(&pids, &patch) {
                    if let Some(cg) = &cg {
                        let _ = cg.apply(&back);
                    }
                    return Err(e);
                }
                Ok(())
            })
            .await
            .expect("update task")?;
        }
        ctr.update(|c| {
            c.host_config.resources = new;
            c.host_config.ulimits = ulimits;
            if let Some(p) = u.restart_policy {
                c.host_config.restart_policy = p;
            }
        })?;
        self.publish_container(&ctr, "update", BTreeMap::new());
        Ok(Vec::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host() -> HostFacts {
        HostFacts { cpus: "0-1".into(), mems: "0".into(), ncpu: 2, swap: true, cgroups: true }
    }

    fn err(r: &Resources) -> String {
        validate(r, &host()).unwrap_err().to_string()
    }

    #[test]
    fn lists() {
        assert_eq!(parse_list("0-3,6"), Some(vec![0, 1, 2, 3, 6]));
        assert_eq!(parse_list("1,0,1"), Some(vec![0, 1]));
        for bad in ["", "a", "3-1", "0-", ",", "0-99999"] {
            assert_eq!(parse_list(bad), None, "{bad}");
        }
    }

    #[test]
    fn dockerd_messages() {
        let r = |f: fn(&mut Resources)| {
            let mut r = Resources::default();
            f(&mut r);
            r
        };
        assert_eq!(err(&r(|r| r.memory = 1 << 20)), "Minimum memory limit allowed is 6MB");
        assert_eq!(
            err(&r(|r| {
                r.memory = 64 << 20;
                r.memory_swap = 32 << 20;
            })),
            "Minimum memoryswap limit should be larger than memory limit, see usage"
        );
        assert!(err(&r(|r| r.memory_swap = 64 << 20)).starts_with("You should always set the Memory limit"));
        assert_eq!(err(&r(|r| r.memory_reservation = 1)), "Minimum memory reservation allowed is 6MB");
        assert_eq!(
            err(&r(|r| r.nano_cpus = 3_000_000_000)),
            "Range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available"
        );
        assert!(err(&r(|r| r.nano_cpus = 1_000_000)).starts_with("Range of CPUs"));
        assert_eq!(
            err(&r(|r| {
                r.nano_cpus = 1_000_000_000;
                r.cpu_quota = 50_000;
            })),
            "Conflicting options: Nano CPUs and CPU Quota cannot both be set"
        );
        assert_eq!(
            err(&r(|r| {
                r.nano_cpus = 1_000_000_000;
                r.cpu_period = 50_000;
            })),
            "Conflicting options: Nano CPUs and CPU Period cannot both be set"
        );
        assert!(err(&r(|r| r.cpu_period = 10)).starts_with("CPU cfs period can not be less than 1ms"));
        assert_eq!(err(&r(|r| r.cpu_quota = 10)), "CPU cfs quota can not be less than 1ms (i.e. 1000)");
        assert_eq!(err(&r(|r| r.cpuset_cpus = "0-x".into())), "Invalid value 0-x for cpuset cpus");
        assert_eq!(
            err(&r(|r| r.cpuset_cpus = "0-7".into())),
            "Requested CPUs are not available - requested 0-7, available: 0-1"
        );
        assert_eq!(err(&r(|r| r.blkio_weight = 5)), "Range of blkio weight is from 10 to 1000");
        let e = err(&r(|r| r.device_read_bps = vec![ThrottleDevice { path: "/dev/nonexistent".into(), rate: 1 }]));
        assert_eq!(e, "invalid device path \"/dev/nonexistent\" for --device-read-bps: no such file or directory");
        let e = err(&r(|r| r.device_write_iops = vec![ThrottleDevice { path: "/dev/null".into(), rate: 1 }]));
        assert_eq!(e, "\"/dev/null\" given to --device-write-iops is not a block device");
        let mut no_swap = host();
        no_swap.swap = false;
        let r = r(|r| {
            r.memory = 64 << 20;
            r.memory_swap = 128 << 20;
        });
        assert!(validate(&r, &no_swap).unwrap_err().to_string().contains("does not account swap"));
        validate(&r, &host()).expect("valid");
        validate(&Resources::default(), &no_swap).expect("no limits are always fine");
        let no_cgroups = HostFacts { cgroups: false, ..host() };
        assert!(validate(&r, &no_cgroups).unwrap_err().to_string().starts_with("resource limits need cgroups"));
        validate(&Resources::default(), &no_cgroups).expect("no limits need no cgroups");
    }

    #[test]
    fn ulimits() {
        let u = |n: &str, s, h| Ulimit { name: n.into(), soft: s, hard: h };
        validate_ulimits(&[u("nofile", 10, 20), u("memlock", -1, -1)]).expect("valid");
        assert_eq!(validate_ulimits(&[u("bogus", 1, 1)]).unwrap_err().to_string(), "invalid ulimit type: bogus");
        assert!(validate_ulimits(&[u("nofile", 30, 20)]).is_err());
        let merged = merge_ulimits(&[u("nofile", 1, 2), u("nproc", 3, 4)], &[u("nofile", 5, 6)]);
        assert_eq!(merged, [u("nproc", 3, 4), u("nofile", 5, 6)]);
    }

    #[test]
    fn defaults_and_merge() {
        let h = host();
        let mut r = Resources { memory: 64 << 20, ..Resources::default() };
        defaults(&mut r, &h);
        assert_eq!(r.memory_swap, 128 << 20, "memory+swap defaults to twice the memory");
        let mut no_swap = h.clone();
        no_swap.swap = false;
        let mut r2 = Resources { memory: 64 << 20, ..Resources::default() };
        defaults(&mut r2, &no_swap);
        assert_eq!(r2.memory_swap, -1);

        // An implicit swap setting follows the memory limit.
        let m = merge(&r, &ResourcesUpdate { memory: Some(256 << 20), ..Default::default() }, &h).expect("merges");
        assert_eq!((m.memory, m.memory_swap), (256 << 20, 512 << 20));
        // An explicit one must not be exceeded.
        let explicit = Resources { memory: 64 << 20, memory_swap: 100 << 20, ..Resources::default() };
        let e = merge(&explicit, &ResourcesUpdate { memory: Some(256 << 20), ..Default::default() }, &h);
        assert!(e.unwrap_err().to_string().starts_with("Memory limit should be smaller"));
        // --cpus replaces quota/period and the other way round.
        let q = Resources { cpu_quota: 50_000, cpu_period: 100_000, ..Resources::default() };
        let m = merge(&q, &ResourcesUpdate { nano_cpus: Some(1_500_000_000), ..Default::default() }, &h).unwrap();
        assert_eq!((m.nano_cpus, m.cpu_quota, m.cpu_period), (1_500_000_000, 0, 0));
        // Device lists merge by path; rate 0 removes.
        let d = |p: &str, rate| ThrottleDevice { path: p.into(), rate };
        let r = Resources { device_read_bps: vec![d("/dev/a", 1), d("/dev/b", 2)], ..Resources::default() };
        let u = ResourcesUpdate { device_read_bps: vec![d("/dev/a", 0), d("/dev/c", 3)], ..Default::default() };
        assert_eq!(merge(&r, &u, &h).unwrap().device_read_bps, [d("/dev/b", 2), d("/dev/c", 3)]);
    }

    #[test]
    fn translation() {
        let h = host();
        let r = Resources {
            memory: 64 << 20,
            memory_swap: 128 << 20,
            nano_cpus: 500_000_000,
            pids_limit: Some(-1),
            cpuset_cpus: "1".into(),
            ..Resources::default()
        };
        let s = start_resources(&r).expect("translates");
        assert_eq!(s.memory_limit, Some(Limit::Value(64 << 20)));
        assert_eq!(s.memory_swap, Some(Limit::Value(128 << 20)));
        assert_eq!((s.cpu_quota, s.cpu_period), (Some(Limit::Value(50_000)), Some(100_000)));
        assert_eq!(s.pids_limit, None, "unlimited is the default of a new cgroup");
        assert_eq!(s.cpuset_cpus.as_deref(), Some("1"));
        assert_eq!(s.cpu_shares, None);

        // An update writes only what it touches, with explicit defaults for unset values.
        let u = ResourcesUpdate { pids_limit: Some(0), cpuset_cpus: Some(String::new()), ..Default::default() };
        let plain = Resources { pids_limit: Some(0), ..Resources::default() };
        let s = update_resources(&plain, &u, &h).expect("translates");
        assert_eq!(s.pids_limit, Some(Limit::Unlimited));
        assert_eq!(s.cpuset_cpus.as_deref(), Some("0-1"));
        assert_eq!((s.memory_limit, s.cpu_quota), (None, None));
        let u = ResourcesUpdate { memory: Some(0), ..Default::default() };
        let s = update_resources(&Resources::default(), &u, &h).expect("translates");
        assert_eq!((s.memory_limit, s.memory_swap), (Some(Limit::Unlimited), Some(Limit::Unlimited)));
    }
}
