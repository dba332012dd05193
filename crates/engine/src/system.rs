//! What `info` reports about the engine and the host.

use crate::Engine;
use crate::model::Status;

/// Engine and host facts for `info`.
#[derive(Debug, Clone, Default)]
pub struct SystemInfo {
    /// All containers.
    pub containers: usize,
    /// Running ones.
    pub running: usize,
    /// Paused ones.
    pub paused: usize,
    /// Stopped ones.
    pub stopped: usize,
    /// Images.
    pub images: usize,
    /// 1 or 2.
    pub cgroup_version: u8,
    /// `cgroupfs` or `none`.
    pub cgroup_driver: String,
    /// Kernel release.
    pub kernel: String,
    /// OS name from /etc/os-release.
    pub os: String,
    /// OS version.
    pub os_version: String,
    /// CPUs.
    pub ncpu: usize,
    /// Memory in bytes.
    pub mem_total: u64,
    /// Host name.
    pub hostname: String,
    /// Data root.
    pub root: String,
    /// Whether the hierarchy supports limits (v1 swap accounting etc.).
    pub swap_limit: bool,
}

fn os_release() -> (String, String) {
    let s = std::fs::read_to_string("/etc/os-release").unwrap_or_default();
    let get = |k: &str| {
        s.lines()
            .find_map(|l| l.strip_prefix(k).and_then(|v| v.strip_prefix('=')))
            .map(|v| v.trim_matches('"').to_owned())
            .unwrap_or_default()
    };
    (get("PRETTY_NAME"), get("VERSION_ID"))
}

fn mem_total() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .map(|kb| kb * 1024)
        .unwrap_or(0)
}

impl Engine {
    /// Engine and host facts.
    pub fn info(&self) -> SystemInfo {
        let cs = self.containers();
        let count = |s: Status| cs.iter().filter(|c| c.state.status == s).count();
        let (os, os_version) = os_release();
        let uts = rustix::system::uname();
        SystemInfo {
            containers: cs.len(),
            running: count(Status::Running),
            paused: count(Status::Paused),
            stopped: cs.len() - count(Status::Running) - count(Status::Paused),
            images: self.images().list().len(),
            cgroup_version: self.inner.cgroups.as_ref().map_or(1, |m| m.mode().version()),
            cgroup_driver: self.inner.cgroups.as_ref().map_or("none".into(), |m| m.driver().to_owned()),
            kernel: uts.release().to_string_lossy().into_owned(),
            os,
            os_version,
            ncpu: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
            mem_total: mem_total(),
            hostname: uts.nodename().to_string_lossy().into_owned(),
            root: self.cfg().root.display().to_string(),
            swap_limit: true,
        }
    }
}
