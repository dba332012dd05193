//! Container cgroups for berth: cgroup v1, hybrid and v2 behind one interface (the
//! "cgroupfs" driver; a systemd driver can come later).
//!
//! - [`Manager`] detects the host's layout once from `/proc/self/mountinfo` and reports it
//!   ([`Mode`], for `docker info`). It is cheap to clone and share.
//! - [`Cgroup`] is one container's cgroup in every hierarchy:
//!   [`create`](Cgroup::create), [`apply`](Cgroup::apply) limits ([`Resources`]),
//!   [`set_devices`](Cgroup::set_devices) ([`DeviceRule`], [`default_device_rules`]),
//!   [`add_pid`](Cgroup::add_pid) / [`procs_files`](Cgroup::procs_files), then
//!   [`pids`](Cgroup::pids), [`freeze`](Cgroup::freeze)/[`thaw`](Cgroup::thaw),
//!   [`stats`](Cgroup::stats), [`kill_all`](Cgroup::kill_all) and
//!   [`destroy`](Cgroup::destroy).
//!
//! Everything is synchronous and single-threaded (the daemon calls it through
//! `spawn_blocking`, the shim directly). Errors are [`CgroupError`], always naming the path.
//!
//! # Layouts
//!
//! - **v1** ("legacy"): one mount per hierarchy, each with one controller or a co-mounted
//!   group (`cpu,cpuacct`, `net_cls,net_prio`), plus named hierarchies without controllers
//!   (`name=systemd`). A container gets a directory in *every* hierarchy, so `add_pid`
//!   writes one `cgroup.procs` per hierarchy.
//! - **hybrid** (systemd's default for years, and this project's CI host): the v1 layout,
//!   plus a cgroup2 mount (usually `/sys/fs/cgroup/unified`). Controllers can be bound to
//!   only one hierarchy at a time, so the cgroup2 mount holds just those v1 does not use
//!   (often none, or `hugetlb`). berth creates the container's directory there too and
//!   puts its processes in it, because: controllers that only exist there (hugetlb) can
//!   then be limited; the v2 core features work on it (`cgroup.kill` makes `kill_all`
//!   race-free on 5.14+ kernels); systemd uses that tree to tell which processes belong
//!   to whom; and if the v1 devices controller is missing, the eBPF device filter has a
//!   place to attach. Settings go to whichever hierarchy holds their controller. `docker
//!   info` reports hybrid hosts as "Cgroup Version: 1", as dockerd does. (crun refuses
//!   this layout; runc and dockerd cope, and so does berth.)
//! - **v2** ("unified"): a single cgroup2 hierarchy. Controllers must be enabled in each
//!   ancestor's `cgroup.subtree_control`; devices are controlled by an eBPF program
//!   (`BPF_PROG_TYPE_CGROUP_DEVICE`) instead of files.
//!
//! # Example
//!
//! ```no_run
//! use cgroups::{Limit, Manager, Resources, default_device_rules};
//!
//! # fn main() -> Result<(), cgroups::CgroupError> {
//! let manager = Manager::detect()?; // once, at start-up
//! let cg = manager.cgroup("berth/0123abcd")?;
//! cg.create()?;
//! cg.apply(&Resources {
//!     memory_limit: Some(Limit::Value(512 << 20)),
//!     pids_limit: Some(Limit::Value(1024)),
//!     devices: Some(default_device_rules()),
//!     ..Resources::default()
//! })?;
//! cg.add_pid(4242)?;
//! // ... later
//! cg.kill_all(nix::sys::signal::Signal::SIGKILL)?;
//! cg.destroy()?;
//! # Ok(())
//! # }
//! ```
#![warn(missing_docs)]
#![deny(unsafe_code)]

#[allow(unsafe_code)]
mod bpf;
mod cgroup;
mod devices;
mod error;
mod file;
mod filter;
mod manager;
mod mountinfo;
mod plan;
mod resources;
mod stats;

#[cfg(test)]
mod host_tests;

pub use cgroup::Cgroup;
pub use devices::{DeviceAccess, DeviceKind, DeviceRule, default_device_rules};
pub use error::{CgroupError, ErrorKind};
pub use manager::{Manager, Mode};
pub use mountinfo::Controller;
pub use resources::{HugetlbLimit, Limit, Resources, ThrottleDevice, WeightDevice};
pub use stats::{CpuStats, DeviceIo, IoStats, MemoryStats, PidsStats, Stats, Throttling};
