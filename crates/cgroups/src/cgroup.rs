//! [`Cgroup`]: one container's cgroup, across every hierarchy berth uses.
//!
//! Operations touch only the files they need: no directory scans, no stat before write
//! (a missing file is diagnosed from the write's `ENOENT`). The container start path is
//! `create` (a mkdir per hierarchy, plus the v1 cpuset copy-down and v2 controller
//! enabling), `apply`, `set_devices` and `add_pid` (one write per hierarchy).

use std::fs::{self, OpenOptions};
use std::io;
use std::os::fd::AsFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::thread::sleep;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use nix::unistd::Pid;

use crate::bpf;
use crate::devices::{self, DeviceRule};
use crate::error::CgroupError;
use crate::file;
use crate::filter;
use crate::manager::Mode;
use crate::mountinfo::{Controller, Controllers, Version};
use crate::plan;
use crate::resources::{self, Resources};
use crate::stats::{self, Stats};

/// How long `freeze` waits for the freezer to settle.
const FREEZE_TIMEOUT: Duration = Duration::from_secs(2);
/// How long `kill_all(SIGKILL)` waits for the cgroup to empty.
const KILL_TIMEOUT: Duration = Duration::from_secs(5);
/// How long each freeze inside the kill loop may take before we signal unfrozen.
const KILL_FREEZE_TIMEOUT: Duration = Duration::from_millis(200);
/// `rmdir` retries on `EBUSY`: 10, 20, 40, 80, 160 ms (about 0.3 s in all, as runc).
const RMDIR_RETRIES: u32 = 5;

/// The cgroup directory in one hierarchy.
#[derive(Clone, Debug)]
pub(crate) struct Dir {
    /// The hierarchy's mount point.
    pub(crate) mount: PathBuf,
    /// `mount` joined with the cgroup's relative path.
    pub(crate) path: PathBuf,
    pub(crate) version: Version,
    /// v1: the hierarchy's controllers. v2: the controllers berth enables for it.
    pub(crate) controllers: Controllers,
}

/// One cgroup (normally one container) in every hierarchy berth uses.
///
/// A handle is plain data (paths); it is cheap to keep and `Send + Sync`. Obtain it from
/// [`Manager::cgroup`](crate::Manager::cgroup).
#[derive(Clone, Debug)]
pub struct Cgroup {
    rel: PathBuf,
    mode: Mode,
    /// Never empty: a manager always has at least one hierarchy.
    dirs: Vec<Dir>,
}

/// Which freezer a cgroup uses.
enum Freezer {
    /// v1 `freezer.state`.
    V1(PathBuf),
    /// v2 cgroup directory (`cgroup.freeze`, `cgroup.events`).
    V2(PathBuf),
}

impl Cgroup {
    pub(crate) fn new(rel: PathBuf, mode: Mode, dirs: Vec<Dir>) -> Self {
        Self { rel, mode, dirs }
    }

    /// The path relative to each hierarchy's root, e.g. `berth/<id>`.
    pub fn rel_path(&self) -> &Path {
        &self.rel
    }

    /// The host layout this handle was made for.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The cgroup's directory in each hierarchy.
    pub fn paths(&self) -> impl Iterator<Item = &Path> {
        self.dirs.iter().map(|d| d.path.as_path())
    }

    /// The `cgroup.procs` file of each hierarchy. A process joins the cgroup by writing `0`
    /// to each (e.g. the runtime's child before exec), which is equivalent to
    /// [`Cgroup::add_pid`] with its own pid.
    pub fn procs_files(&self) -> Vec<PathBuf> {
        self.dirs.iter().map(|d| d.path.join("cgroup.procs")).collect()
    }

    pub(crate) fn dir_for(&self, controller: Controller) -> Option<&Dir> {
        self.dirs.iter().find(|d| d.controllers.contains(controller))
    }

    pub(crate) fn v2_dir(&self) -> Option<&Dir> {
        self.dirs.iter().find(|d| d.version == Version::V2)
    }

    /// The directory used for process listing: the cgroup2 one if any (every process
    /// berth adds is also in it), else the first v1 hierarchy.
    pub(crate) fn primary(&self) -> &Dir {
        self.v2_dir().or_else(|| self.dirs.first()).expect("a manager always has at least one hierarchy")
    }

    /// Creates the cgroup (and missing parents) in every hierarchy. Idempotent.
    ///
    /// v1: on the cpuset hierarchy, copies `cpuset.cpus`/`cpuset.mems` down from the
    /// nearest non-empty ancestor into every empty level, because a new v1 cpuset cgroup
    /// starts empty and refuses processes. v2: enables the wanted controllers the root
    /// offers in each ancestor's `cgroup.subtree_control` (a no-op write if already on).
    pub fn create(&self) -> Result<(), CgroupError> {
        for dir in &self.dirs {
            match dir.version {
                Version::V1 => {
                    mkdir_p(&dir.mount, &dir.path)?;
                    if dir.controllers.contains(Controller::Cpuset) {
                        for name in ["cpuset.cpus", "cpuset.mems"] {
                            inherit_cpuset(&dir.mount, &dir.path, name)?;
                        }
                    }
                }
                Version::V2 => self.create_v2(dir)?,
            }
        }
        Ok(())
    }

    fn create_v2(&self, dir: &Dir) -> Result<(), CgroupError> {
        let enable = dir.controllers.iter().map(|c| format!("+{}", c.name())).collect::<Vec<_>>().join(" ");
        let mut level = dir.mount.clone();
        for name in self.rel.iter() {
            if !enable.is_empty() {
                file::write(&level.join("cgroup.subtree_control"), &enable)?;
            }
            level.push(name);
            mkdir(&level)?;
        }
        Ok(())
    }

    /// Moves process `pid` (all its threads) into the cgroup in every hierarchy.
    pub fn add_pid(&self, pid: i32) -> Result<(), CgroupError> {
        let value = pid.to_string();
        for dir in &self.dirs {
            file::write(&dir.path.join("cgroup.procs"), &value)?;
        }
        Ok(())
    }

    /// The processes in the cgroup, sorted.
    pub fn pids(&self) -> Result<Vec<i32>, CgroupError> {
        file::read_pids(&self.primary().path.join("cgroup.procs"))
    }

    fn freezer(&self) -> Result<Freezer, CgroupError> {
        if let Some(d) = self.dir_for(Controller::Freezer) {
            return Ok(Freezer::V1(d.path.join("freezer.state")));
        }
        if let Some(d) = self.v2_dir() {
            return Ok(Freezer::V2(d.path.clone()));
        }
        Err(CgroupError::Unsupported {
            setting: "freezer",
            path: self.primary().path.clone(),
            reason: "no freezer hierarchy is mounted and there is no cgroup2 mount".to_owned(),
        })
    }

    /// Freezes every process and waits until the kernel reports the cgroup frozen (v1
    /// `FROZEN`, not `FREEZING`; v2 `frozen 1` in `cgroup.events`). On timeout the cgroup
    /// is thawed again and [`CgroupError::FreezeTimeout`] returned.
    pub fn freeze(&self) -> Result<(), CgroupError> {
        self.freeze_for(FREEZE_TIMEOUT)
    }

    fn freeze_for(&self, timeout: Duration) -> Result<(), CgroupError> {
        let start = Instant::now();
        let mut pause = Duration::from_micros(100);
        match self.freezer()? {
            Freezer::V1(state_file) => loop {
                // Writing FROZEN again retries tasks that were not freezable last time
                // (e.g. in uninterruptible sleep); a v1 cgroup can sit in FREEZING forever.
                file::write(&state_file, "FROZEN")?;
                let state = file::read(&state_file)?;
                let state = state.trim();
                if state == "FROZEN" {
                    return Ok(());
                }
                if start.elapsed() >= timeout {
                    let _ = file::write(&state_file, "THAWED");
                    return Err(CgroupError::FreezeTimeout {
                        path: state_file,
                        state: state.to_owned(),
                        waited_ms: millis(start.elapsed()),
                    });
                }
                sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(10));
            },
            Freezer::V2(dir) => {
                let freeze = dir.join("cgroup.freeze");
                let events = dir.join("cgroup.events");
                file::write(&freeze, "1")?;
                loop {
                    let text = file::read(&events)?;
                    if file::flat_key(&text, "frozen") == Some(1) {
                        return Ok(());
                    }
                    if start.elapsed() >= timeout {
                        let _ = file::write(&freeze, "0");
                        return Err(CgroupError::FreezeTimeout {
                            path: events,
                            state: text.trim().replace('\n', ", "),
                            waited_ms: millis(start.elapsed()),
                        });
                    }
                    sleep(pause);
                    pause = (pause * 2).min(Duration::from_millis(10));
                }
            }
        }
    }

    /// Thaws the cgroup (no wait: thawing is immediate).
    pub fn thaw(&self) -> Result<(), CgroupError> {
        match self.freezer()? {
            Freezer::V1(state_file) => file::write(&state_file, "THAWED"),
            Freezer::V2(dir) => file::write(&dir.join("cgroup.freeze"), "0"),
        }
    }

    /// True if the cgroup is completely frozen (a v1 cgroup still `FREEZING` is not).
    pub fn is_frozen(&self) -> Result<bool, CgroupError> {
        match self.freezer()? {
            Freezer::V1(state_file) => Ok(file::read(&state_file)?.trim() == "FROZEN"),
            Freezer::V2(dir) => {
                let text = file::read(&dir.join("cgroup.events"))?;
                Ok(file::flat_key(&text, "frozen") == Some(1))
            }
        }
    }

    /// Sends `signal` to every process in the cgroup.
    ///
    /// `SIGKILL` waits until the cgroup is empty: with `cgroup.kill` (cgroup2, kernel 5.14+,
    /// also on the hybrid unified mount) in one write; otherwise by repeatedly freezing,
    /// signalling every pid in `cgroup.procs`, and thawing, so no process can fork a child
    /// we miss. Other signals are sent once, with the cgroup frozen while pids are read
    /// and signalled; a paused (frozen) cgroup stays frozen. Never signals the caller.
    pub fn kill_all(&self, signal: Signal) -> Result<(), CgroupError> {
        let procs = self.primary().path.join("cgroup.procs");
        if signal != Signal::SIGKILL {
            let was_frozen = self.is_frozen()?;
            if !was_frozen {
                self.freeze()?;
            }
            let sent = file::read_pids(&procs).and_then(|pids| signal_all(&procs, &pids, signal));
            if !was_frozen {
                self.thaw()?;
            }
            return sent;
        }

        if let Some(v2) = self.v2_dir() {
            let kill_file = v2.path.join("cgroup.kill");
            match file::write_raw(&kill_file, "1") {
                Ok(()) => {
                    // Killed tasks frozen by a v1 freezer (hybrid) only die once thawed.
                    self.thaw()?;
                    return wait_empty(&v2.path.join("cgroup.procs"), KILL_TIMEOUT);
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound && v2.path.is_dir() => {}
                Err(source) => {
                    return Err(CgroupError::Write { path: kill_file, value: "1".to_owned(), source });
                }
            }
        }

        let start = Instant::now();
        loop {
            if file::read_pids(&procs)?.is_empty() {
                return self.thaw();
            }
            // Best effort: a task stuck in D state can keep v1 FREEZING forever, and we
            // still want to SIGKILL the rest (a timed-out freeze has thawed again).
            let _ = self.freeze_for(KILL_FREEZE_TIMEOUT);
            let pids = file::read_pids(&procs)?;
            signal_all(&procs, &pids, signal)?;
            // Thaw so SIGKILLed tasks, including ones a paused container had frozen, exit.
            self.thaw()?;
            if start.elapsed() >= KILL_TIMEOUT {
                return Err(CgroupError::KillTimeout { path: procs, pids, waited_ms: millis(start.elapsed()) });
            }
            sleep(Duration::from_millis(5));
        }
    }

    /// Removes the cgroup directory in every hierarchy (never its parents, never files).
    ///
    /// `EBUSY` is retried for about 0.3 s because exiting processes leave the cgroup
    /// asynchronously; a directory that is already gone counts as removed. Keeps going
    /// after a failure and returns every error ([`CgroupError::Busy`] names the
    /// processes still inside).
    pub fn destroy(&self) -> Result<(), CgroupError> {
        let mut errors = Vec::new();
        let mut pending: Vec<&Dir> = self.dirs.iter().collect();
        for attempt in 0..=RMDIR_RETRIES {
            pending.retain(|d| match fs::remove_dir(&d.path) {
                Ok(()) => false,
                Err(e) if e.kind() == io::ErrorKind::NotFound => false,
                Err(e) if e.raw_os_error() == Some(libc::EBUSY) => true,
                Err(source) => {
                    errors.push(CgroupError::Remove { path: d.path.clone(), source });
                    false
                }
            });
            if pending.is_empty() {
                break;
            }
            if attempt < RMDIR_RETRIES {
                sleep(Duration::from_millis(10 << attempt));
            }
        }
        for d in pending {
            let pids = file::read_pids(&d.path.join("cgroup.procs")).unwrap_or_default();
            errors.push(CgroupError::Busy { path: d.path.clone(), pids });
        }
        match errors.len() {
            0 => Ok(()),
            1 => Err(errors.remove(0)),
            _ => Err(CgroupError::Teardown(errors)),
        }
    }

    /// Installs device access rules (see [`default_device_rules`](crate::default_device_rules)).
    ///
    /// v1 (and hybrid, where the devices controller is v1): `a` to `devices.deny`, then
    /// each rule. v2: an eBPF program compiled from the rules is attached with
    /// `BPF_F_ALLOW_MULTI`, then previously attached device programs are detached, so the
    /// cgroup is never left unfiltered during an update.
    pub fn set_devices(&self, rules: &[DeviceRule]) -> Result<(), CgroupError> {
        devices::validate(rules, &self.primary().path)?;
        if let Some(d) = self.dir_for(Controller::Devices) {
            return plan::execute(&d.path, &devices::v1_steps(&d.path, rules));
        }
        if let Some(d) = self.v2_dir() {
            return attach_filter(&d.path, rules);
        }
        Err(CgroupError::Unsupported {
            setting: "devices",
            path: self.primary().path.clone(),
            reason: "no devices hierarchy is mounted and there is no cgroup2 mount".to_owned(),
        })
    }

    /// Detaches every device program attached directly to the cgroup2 directory.
    #[cfg(test)]
    pub(crate) fn detach_device_filters(&self) -> Result<(), CgroupError> {
        let Some(d) = self.v2_dir() else {
            return Ok(());
        };
        let dir = open_dir(&d.path)?;
        let ids = bpf::query_device_programs(dir.as_fd()).map_err(|source| CgroupError::DeviceFilter {
            op: "listing attached device filter programs",
            path: d.path.clone(),
            source,
        })?;
        for id in ids {
            detach_by_id(&d.path, &dir, id)?;
        }
        Ok(())
    }

    /// Applies resource limits (see [`Resources`]). Settings the host cannot apply are
    /// reported as [`CgroupError::Unsupported`] naming the setting, never dropped.
    pub fn apply(&self, res: &Resources) -> Result<(), CgroupError> {
        // v1 only: the order of memory vs memory+swap writes depends on the current limit.
        let current_memory_limit = match self.dir_for(Controller::Memory) {
            Some(d) if d.version == Version::V1 && res.memory_limit.is_some() && res.memory_swap.is_some() => {
                let path = d.path.join("memory.limit_in_bytes");
                file::parse_u64_or_max(&path, &file::read(&path)?)?
            }
            _ => None,
        };
        let steps = resources::plan(self, res, current_memory_limit)?;
        plan::execute(&self.primary().path, &steps)?;
        if let Some(rules) = &res.devices {
            self.set_devices(rules)?;
        }
        Ok(())
    }

    /// Reads usage statistics; controllers that are not available are `None`.
    pub fn stats(&self) -> Result<Stats, CgroupError> {
        stats::read(self)
    }

    /// How many processes of this cgroup the kernel's OOM killer has killed (`oom_kill` in
    /// v1's `memory.oom_control` or v2's `memory.events`); `None` without a memory controller
    /// or on kernels that don't count.
    pub fn oom_kills(&self) -> Option<u64> {
        let dir = self.dir_for(Controller::Memory)?;
        let file = if dir.version == Version::V2 { "memory.events" } else { "memory.oom_control" };
        let text = std::fs::read_to_string(dir.path.join(file)).ok()?;
        text.lines().find_map(|l| l.strip_prefix("oom_kill ")).and_then(|n| n.trim().parse().ok())
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Signals each pid, skipping ones that already exited. Never signals pid <= 0 (process
/// groups) or the calling process.
fn signal_all(procs: &Path, pids: &[i32], signal: Signal) -> Result<(), CgroupError> {
    let me = i32::try_from(std::process::id()).unwrap_or(0);
    for &pid in pids.iter().filter(|&&p| p > 0 && p != me) {
        match nix::sys::signal::kill(Pid::from_raw(pid), signal) {
            Ok(()) | Err(nix::Error::ESRCH) => {}
            Err(source) => {
                return Err(CgroupError::Signal { path: procs.to_owned(), pid, signal, source });
            }
        }
    }
    Ok(())
}

/// Polls `cgroup.procs` until it is empty.
fn wait_empty(procs: &Path, timeout: Duration) -> Result<(), CgroupError> {
    let start = Instant::now();
    let mut pause = Duration::from_micros(200);
    loop {
        let pids = file::read_pids(procs)?;
        if pids.is_empty() {
            return Ok(());
        }
        if start.elapsed() >= timeout {
            return Err(CgroupError::KillTimeout { path: procs.to_owned(), pids, waited_ms: millis(start.elapsed()) });
        }
        sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(20));
    }
}

fn mkdir(path: &Path) -> Result<(), CgroupError> {
    match fs::create_dir(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(source) => Err(CgroupError::Create { path: path.to_owned(), source }),
    }
}

/// `mkdir -p` below `mount`, trying the leaf first (the common case: parent exists).
fn mkdir_p(mount: &Path, path: &Path) -> Result<(), CgroupError> {
    match fs::create_dir(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => match path.parent() {
            Some(parent) if parent != mount && parent.starts_with(mount) => {
                mkdir_p(mount, parent)?;
                mkdir(path)
            }
            _ => Err(CgroupError::Create { path: path.to_owned(), source: e }),
        },
        Err(source) => Err(CgroupError::Create { path: path.to_owned(), source }),
    }
}

/// Makes `path/name` (`cpuset.cpus` or `cpuset.mems`) non-empty by copying the nearest
/// non-empty ancestor's value into every empty level. Returns the value.
fn inherit_cpuset(mount: &Path, path: &Path, name: &str) -> Result<String, CgroupError> {
    let own = file::read(&path.join(name))?;
    let own = own.trim();
    if !own.is_empty() || path == mount {
        return Ok(own.to_owned());
    }
    let Some(parent) = path.parent().filter(|p| p.starts_with(mount)) else {
        return Ok(own.to_owned());
    };
    let value = inherit_cpuset(mount, parent, name)?;
    file::write(&path.join(name), &value)?;
    Ok(value)
}

fn open_dir(path: &Path) -> Result<fs::File, CgroupError> {
    OpenOptions::new().read(true).custom_flags(libc::O_DIRECTORY).open(path).map_err(|source| match source.kind() {
        io::ErrorKind::NotFound => CgroupError::NotFound { path: path.to_owned() },
        _ => CgroupError::Read { path: path.to_owned(), source },
    })
}

/// Compiles, loads and attaches the device filter, then detaches the old ones.
fn attach_filter(dir_path: &Path, rules: &[DeviceRule]) -> Result<(), CgroupError> {
    let insns = filter::compile(&devices::effective(rules));
    let dir = open_dir(dir_path)?;
    let op_err = |op| move |source| CgroupError::DeviceFilter { op, path: dir_path.to_owned(), source };
    let old = bpf::query_device_programs(dir.as_fd()).map_err(op_err("listing attached device filter programs"))?;
    let prog = bpf::load_device_program(&insns, filter::LICENSE).map_err(|e| CgroupError::DeviceFilterLoad {
        path: dir_path.to_owned(),
        log: e.log,
        source: e.source,
    })?;
    bpf::attach_device_program(dir.as_fd(), prog.as_fd()).map_err(op_err("attaching device filter program"))?;
    // The program stays alive while attached; our fd can close now.
    drop(prog);
    for id in old {
        detach_by_id(dir_path, &dir, id)?;
    }
    Ok(())
}

fn detach_by_id(dir_path: &Path, dir: &fs::File, id: u32) -> Result<(), CgroupError> {
    let prog = match bpf::program_fd_by_id(id) {
        Ok(fd) => fd,
        // Gone meanwhile, or hidden from us by an LSM (runc skips those too: extra device
        // programs can only restrict further).
        Err(e) if matches!(e.raw_os_error(), Some(libc::ENOENT | libc::EPERM | libc::EACCES)) => {
            return Ok(());
        }
        Err(source) => {
            return Err(CgroupError::DeviceFilter {
                op: "opening old device filter program",
                path: dir_path.to_owned(),
                source,
            });
        }
    };
    match bpf::detach_device_program(dir.as_fd(), prog.as_fd()) {
        Ok(()) => Ok(()),
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(()),
        Err(source) => Err(CgroupError::DeviceFilter {
            op: "detaching old device filter program",
            path: dir_path.to_owned(),
            source,
        }),
    }
}
