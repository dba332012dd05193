//! berth's engine: containers and images, their state and lifecycle, independent of any API.
//!
//! - [`Engine`]: opened on a root (`/var/lib/berth`) and an exec root (`/run/berth`); every
//!   operation of the Docker-like surface (create, start, stop, exec, logs, images, ...) is a
//!   method. The `api` crate maps the Docker Engine API onto it.
//! - [`model`]: the domain types ([`model::Container`], its config and state).
//! - [`spec`]: Docker's defaults turned into the runtime's configuration (pure).
//! - [`shimctl`]: the client side of the per-container shim's socket protocol.
//!
//! Process model: the daemon never forks into namespaces. Starting a container spawns
//! `berth shim RUNDIR` (the same binary), which creates and monitors the container; the engine
//! talks to it over `RUNDIR/shim.sock`. Killing the daemon leaves containers running; a new
//! engine on the same root reconnects to their shims, or reads the exit records of those that
//! ended meanwhile ([`Engine::open`]).
//!
//! On-disk layout:
//!
//! ```text
//! <root>/lock                      held while a daemon uses the root (a second one is refused)
//! <root>/image/                    the image store (crate `image`)
//! <root>/seccomp/<hex>.bpf         compiled seccomp programs (crate `seccomp`)
//! <root>/init-layer/               mount points every container has (/etc/hosts, /dev/console...),
//!                                  the lowest-but-one overlay layer of every container (read-only)
//! <root>/containers/<id>/          container.json, upper/, work/, hosts, hostname, resolv.conf,
//!                                  container.log
//! <root>/persistent/<name>/        upper/, work/: the writable layer of a `--persist` container,
//!                                  kept after it is removed (module `persist`)
//! <exec-root>/containers/<id>/     shim.sock, exit.json (only when no daemon took the exit); the
//!                                  directory is also the mount point of the root filesystem, which
//!                                  is mounted only inside the container's own mount namespace
//! ```
//!
//! Locks: the engine's std locks are taken through [`Unpoison`]. A panic while one is held (a
//! bug, caught by tokio in the task that hit it) must not turn every later request touching that
//! lock into a panic too; the sections under these locks are short and change the data in one
//! step.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod commit;
mod copy;
mod create;
pub mod events;
mod files;
mod images;
mod io;
mod lifecycle;
pub mod model;
mod names;
pub mod network;
mod persist;
mod resources;
pub mod shimctl;
pub mod spec;
mod stats;
mod store;
pub mod supervise;
mod system;
mod upgrade;
pub mod userns;
pub mod volumes;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

pub use events::{Event, Events};
pub use files::{ArchiveOptions, PathStat};
pub use image::{Change, ChangeKind};
pub use images::{ImageDeleteItem, LoadProgress};
pub use io::{AttachOptions, AttachStream, ExecInfo, ExecOptions, ExecReader, LogLine, LogsOptions};
/// Image store types the API needs.
pub mod image_types {
    pub use image::{HistoryEntry, Image, ImageSummary, ImportOptions, PruneReport};
}
/// The cgroup counters in a [`StatsSample`].
pub use cgroups::{CpuStats, DeviceIo, IoStats, MemoryStats, PidsStats, Stats as CgroupStats, Throttling};
pub use commit::CommitRequest;
pub use lifecycle::WaitCondition;
pub use model::{
    Container, ContainerConfig, CreateRequest, Endpoint, EndpointConfig, HostConfig, NetState, PortBinding,
    PublishedPort, Resources, ResourcesUpdate, RestartPolicy, State, Status, ThrottleDevice, Ulimit, WeightDevice,
};
pub use network::{NetConfig, Network, NetworkCreate, NetworkView};
pub use persist::PersistentLayer;
pub use stats::{NetDev, StatsSample};
pub use system::SystemInfo;
pub use upgrade::{Prefer, UpgradeReport, UpgradeRequest};

/// Takes a std lock whatever a panicking holder left (see the crate's documentation, "Locks").
pub(crate) trait Unpoison<G> {
    /// The guard, poisoned or not.
    fn unpoisoned(self) -> G;
}

impl<G> Unpoison<G> for std::sync::LockResult<G> {
    fn unpoisoned(self) -> G {
        self.unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// What kind of failure an [`EngineError`] is (for mapping to API statuses).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// No such object.
    NotFound,
    /// Conflicts with the current state (name in use, container running, ...).
    Conflict,
    /// A bad request.
    InvalidArgument,
    /// Nothing to do (start a started container): HTTP 304.
    NotModified,
    /// Not allowed on this object (remove a predefined network): HTTP 403.
    Forbidden,
    /// Anything else.
    Internal,
}

/// Engine errors.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// No such object; the message is Docker's (`No such container: x`).
    #[error("{0}")]
    NotFound(String),
    /// A conflict; the message says with what.
    #[error("{0}")]
    Conflict(String),
    /// A bad request.
    #[error("{0}")]
    InvalidArgument(String),
    /// Already in the asked-for state.
    #[error("{0}")]
    NotModified(String),
    /// The container's process could not be started; `code` is Docker's exit status for it.
    #[error("failed to create task for container: unable to start container process: {message}")]
    Start {
        /// 126 (can't run), 127 (not found) or 125.
        code: u8,
        /// What failed.
        message: String,
    },
    /// A process could not be started in a running container (`exec`).
    #[error("exec failed: unable to start container process: {message}")]
    ExecStart {
        /// What failed.
        message: String,
    },
    /// The shim could not be reached or misbehaved.
    #[error("shim of container {id}: {source}")]
    Shim {
        /// Container ID.
        id: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// A file system operation failed.
    #[error("{what}")]
    Io {
        /// What was being done, on which path.
        what: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// From the image store.
    #[error(transparent)]
    Image(#[from] image::ImageError),
    /// From cgroups.
    #[error(transparent)]
    Cgroup(#[from] cgroups::CgroupError),
    /// From seccomp.
    #[error("seccomp profile: {0}")]
    Seccomp(#[from] seccomp::CompileError),
    /// The daemon's root is used by another daemon.
    #[error("{0}")]
    Locked(String),
    /// Not allowed on this object.
    #[error("{0}")]
    Forbidden(String),
    /// Setting up networking failed (netlink, nft, DNS server).
    #[error("{0}")]
    Network(String),
}

impl EngineError {
    /// The error's kind.
    pub fn kind(&self) -> ErrorKind {
        match self {
            EngineError::NotFound(_) => ErrorKind::NotFound,
            EngineError::Conflict(_) | EngineError::Locked(_) => ErrorKind::Conflict,
            EngineError::InvalidArgument(_) => ErrorKind::InvalidArgument,
            EngineError::NotModified(_) => ErrorKind::NotModified,
            EngineError::Forbidden(_) => ErrorKind::Forbidden,
            EngineError::Image(e) => match e.kind() {
                image::ErrorKind::NotFound => ErrorKind::NotFound,
                image::ErrorKind::Conflict => ErrorKind::Conflict,
                image::ErrorKind::InvalidArgument => ErrorKind::InvalidArgument,
                _ => ErrorKind::Internal,
            },
            EngineError::Seccomp(e) if e.kind() == seccomp::ErrorKind::InvalidArgument => ErrorKind::InvalidArgument,
            // A setting the kernel can't apply is the request's problem, not the daemon's.
            EngineError::Cgroup(e)
                if matches!(e.kind(), cgroups::ErrorKind::InvalidArgument | cgroups::ErrorKind::FailedPrecondition) =>
            {
                ErrorKind::InvalidArgument
            }
            _ => ErrorKind::Internal,
        }
    }

    pub(crate) fn io(what: impl Into<String>, source: std::io::Error) -> Self {
        EngineError::Io { what: what.into(), source }
    }
}

/// Where the engine keeps things and what it runs.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Persistent state (`/var/lib/berth`).
    pub root: PathBuf,
    /// Runtime state (`/run/berth`).
    pub exec_root: PathBuf,
    /// berth's own executable: run as the shim, mounted as the init.
    pub exe: PathBuf,
    /// Parent cgroup of containers (relative to each hierarchy's root).
    pub cgroup_parent: String,
    /// Shims keep a `shim.log` of their own diagnostics.
    pub debug: bool,
    /// Networking settings.
    pub net: network::NetConfig,
    /// `--userns-remap`: the id mappings of new containers' user namespaces (see
    /// [`userns`]); `None`: containers share the host's.
    pub userns: Option<userns::Remap>,
}

/// What `wait` and friends watch.
#[derive(Debug, Clone, Default)]
pub(crate) struct Watch {
    pub running: bool,
    /// Incremented at every exit.
    pub exits: u64,
    pub exit_code: i32,
    pub removed: bool,
}

/// A container held by the engine.
#[derive(Debug)]
pub(crate) struct Ctr {
    pub id: String,
    /// The record; lock briefly, never across an await.
    pub rec: Mutex<Container>,
    /// Serialises lifecycle operations; never held while waiting for an exit.
    pub op: Arc<tokio::sync::Mutex<()>>,
    pub watch: tokio::sync::watch::Sender<Watch>,
    /// Attach requests waiting for the container to start.
    pub pending: Mutex<Vec<io::PendingAttach>>,
    /// `<root>/containers/<id>`.
    pub dir: PathBuf,
    /// `<exec-root>/containers/<id>`.
    pub run: PathBuf,
    /// `<exec-root>/pending`: where the record goes when it can't be saved in `dir`.
    pub pending_dir: PathBuf,
    /// The record in memory is newer than the one in `dir` (a save failed; a copy is pending).
    pub dirty: std::sync::atomic::AtomicBool,
    /// Holders of [`lifecycle::HoldAutoRemove`]: while non-zero an exit doesn't remove a
    /// `--rm` container.
    pub hold_auto_remove: std::sync::atomic::AtomicU32,
}

impl Ctr {
    pub(crate) fn snapshot(&self) -> Container {
        self.rec.lock().unpoisoned().clone()
    }

    pub(crate) fn socket(&self) -> PathBuf {
        self.run.join("shim.sock")
    }

    /// Changes the record and saves it. When the root can't take it (a full disk), the record
    /// is kept in memory and as a pending copy in the exec root, where the next save or the next
    /// daemon finds it: the change stands, and whatever it accompanies (a stop, a kill) goes on.
    /// Only when neither can be written is it an error.
    pub(crate) fn update<R>(&self, f: impl FnOnce(&mut Container) -> R) -> Result<R, EngineError> {
        let mut c = self.rec.lock().unpoisoned();
        let r = f(&mut c);
        self.persist(&c)?;
        Ok(r)
    }

    /// Saves `c` (this container's record, lock held) in the root, or else as pending.
    fn persist(&self, c: &Container) -> Result<(), EngineError> {
        use std::sync::atomic::Ordering;
        match store::save(&self.dir, c) {
            Ok(()) => {
                if self.dirty.swap(false, Ordering::SeqCst) {
                    let _ = std::fs::remove_file(self.pending_file());
                    tracing::info!(container = %self.id, "record saved again");
                }
                Ok(())
            }
            Err(e) => match store::save_pending(&self.pending_dir, c) {
                Ok(()) => {
                    if !self.dirty.swap(true, Ordering::SeqCst) {
                        tracing::error!(container = %self.id, "saving the record: {e}; kept in {} until it can be", self.pending_dir.display());
                    }
                    Ok(())
                }
                Err(e2) => Err(EngineError::io(format!("saving container {} ({e}; pending copy: {e2})", self.id), e)),
            },
        }
    }

    /// [`Ctr::update`] for the steps of a stop, kill or removal: they go on whatever the disk
    /// (the change is in memory and, if at all possible, pending), the failure is logged.
    pub(crate) fn update_lenient(&self, f: impl FnOnce(&mut Container)) {
        if let Err(e) = self.update(f) {
            tracing::error!(container = %self.id, "{e:#}: going on; the record is saved at the next change");
        }
    }

    /// Retries the save of a record that could not be saved before.
    pub(crate) fn flush(&self) {
        if self.dirty.load(std::sync::atomic::Ordering::SeqCst) {
            let c = self.rec.lock().unpoisoned();
            let _ = self.persist(&c);
        }
    }

    pub(crate) fn pending_file(&self) -> PathBuf {
        self.pending_dir.join(format!("{}.json", self.id))
    }
}

/// The engine. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

#[derive(Debug)]
pub(crate) struct Inner {
    pub cfg: EngineConfig,
    pub images: Arc<image::ImageStore>,
    pub cgroups: Option<cgroups::Manager>,
    pub seccomp: seccomp::Cache,
    pub kernel: seccomp::KernelVersion,
    pub last_cap: u8,
    pub containers: RwLock<HashMap<String, Arc<Ctr>>>,
    pub names: RwLock<HashMap<String, String>>,
    pub execs: RwLock<HashMap<String, Arc<io::Exec>>>,
    pub events: Events,
    pub net: network::Net,
    pub volumes: volumes::Volumes,
    pub _lock: (std::fs::File, std::fs::File),
}

impl Engine {
    /// Opens the engine on `cfg.root`, taking its lock, and recovers containers: running ones
    /// are reconnected to their shims, those that ended meanwhile get their exit recorded, and
    /// restart policies are applied.
    pub async fn open(cfg: EngineConfig) -> Result<Engine, EngineError> {
        store::secure_dirs(&cfg.root, store::ROOT_DIRS)
            .and_then(|()| store::secure_dirs(&cfg.exec_root, store::EXEC_ROOT_DIRS))
            .map_err(|e| EngineError::io("preparing the daemon's directories", e))?;
        let lock_path = cfg.root.join("lock");
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&lock_path)
            .map_err(|e| EngineError::io(format!("opening {}", lock_path.display()), e))?;
        if lock.try_lock().is_err() {
            let pid = std::fs::read_to_string(&lock_path).unwrap_or_default();
            return Err(EngineError::Locked(format!(
                "another berth daemon (pid {}) is using the data root {}; stop it, or give this one its own --root and --exec-root",
                pid.trim(),
                cfg.root.display()
            )));
        }
        let _ = lock.set_len(0);
        let _ = std::fs::write(&lock_path, std::process::id().to_string());
        // The exec root holds the shims' sockets: two daemons must not share it either.
        let run_lock_path = cfg.exec_root.join("lock");
        let run_lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&run_lock_path)
            .map_err(|e| EngineError::io(format!("opening {}", run_lock_path.display()), e))?;
        if run_lock.try_lock().is_err() {
            return Err(EngineError::Locked(format!(
                "another berth daemon is using the exec root {}; give this one its own --exec-root",
                cfg.exec_root.display()
            )));
        }

        let images = tokio::task::spawn_blocking({
            let dir = cfg.root.join("image");
            move || image::ImageStore::open(&dir)
        })
        .await
        .expect("image store open task")?;
        let cgroups = match cgroups::Manager::detect() {
            Ok(m) => Some(m),
            Err(e) => {
                tracing::warn!("cgroups unavailable, containers run without them: {e}");
                None
            }
        };
        let kernel = seccomp::KernelVersion::current().unwrap_or(seccomp::KernelVersion::new(5, 10));
        let last_cap = sys::caps::last_cap().unwrap_or(40);
        let net = network::Net::open(&cfg.root, cfg.net.clone()).await?;
        let vol_dir = cfg.root.join("volumes");
        let volumes = tokio::task::spawn_blocking(move || volumes::Volumes::open(vol_dir))
            .await
            .expect("volume store open task")
            .map_err(|e| EngineError::io("opening the volume store", e))?;
        let inner = Inner {
            net,
            volumes,
            seccomp: seccomp::Cache::new(cfg.root.join("seccomp")),
            cfg,
            images: Arc::new(images),
            cgroups,
            kernel,
            last_cap,
            containers: RwLock::new(HashMap::new()),
            names: RwLock::new(HashMap::new()),
            execs: RwLock::new(HashMap::new()),
            events: Events::default(),
            _lock: (lock, run_lock),
        };
        let engine = Engine { inner: Arc::new(inner) };
        create::ensure_init_layer(&engine.init_layer()).map_err(|e| EngineError::io("creating the init layer", e))?;
        engine.persist_recover();
        engine.recover().await?;
        // Records that could not be saved (a full disk) are retried until they are.
        let weak = Arc::downgrade(&engine.inner);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_secs(5));
            loop {
                tick.tick().await;
                let Some(inner) = weak.upgrade() else { return };
                let engine = Engine { inner };
                engine.flush_records();
                engine.gc_execs(io::EXEC_KEEP);
            }
        });
        Ok(engine)
    }

    /// Saves the records that could not be saved before (see [`Ctr::update`]).
    pub(crate) fn flush_records(&self) {
        let dirty: Vec<Arc<Ctr>> = self
            .inner
            .containers
            .read()
            .unpoisoned()
            .values()
            .filter(|c| c.dirty.load(std::sync::atomic::Ordering::Relaxed))
            .cloned()
            .collect();
        for c in dirty {
            c.flush();
        }
    }

    pub(crate) fn cfg(&self) -> &EngineConfig {
        &self.inner.cfg
    }

    /// The event bus.
    pub fn events(&self) -> &Events {
        &self.inner.events
    }

    pub(crate) fn container_dir(&self, id: &str) -> PathBuf {
        self.inner.cfg.root.join("containers").join(id)
    }

    /// The layer of mount points every container has above its image (shared by all).
    pub(crate) fn init_layer(&self) -> PathBuf {
        self.inner.cfg.root.join("init-layer")
    }

    /// The diff dirs of a container's image, bottom layer first.
    pub(crate) fn image_layers(&self, c: &Container) -> Result<Vec<PathBuf>, EngineError> {
        let digest: oci::Digest =
            c.image_id.parse().map_err(|e: oci::DigestError| EngineError::InvalidArgument(e.to_string()))?;
        Ok(self.images().layers(&digest)?)
    }

    /// A container's run directory (its shim's socket; the root filesystem's mount point).
    pub fn run_dir(&self, id: &str) -> PathBuf {
        self.inner.cfg.exec_root.join("containers").join(id)
    }

    fn register(&self, c: Container) -> Arc<Ctr> {
        let running = c.is_running();
        let ctr = Arc::new(Ctr {
            id: c.id.clone(),
            dir: self.container_dir(&c.id),
            run: self.run_dir(&c.id),
            pending_dir: self.inner.cfg.exec_root.join(store::PENDING),
            dirty: std::sync::atomic::AtomicBool::new(false),
            watch: tokio::sync::watch::channel(Watch { running, exit_code: c.state.exit_code, ..Default::default() }).0,
            rec: Mutex::new(c.clone()),
            op: Arc::new(tokio::sync::Mutex::new(())),
            pending: Mutex::new(Vec::new()),
            hold_auto_remove: std::sync::atomic::AtomicU32::new(0),
        });
        self.inner.names.write().unpoisoned().insert(c.name.clone(), c.id.clone());
        self.inner.containers.write().unpoisoned().insert(c.id.clone(), ctr.clone());
        ctr
    }

    /// Finds a container by full ID, name (with or without `/`), or unique ID prefix.
    pub(crate) fn lookup(&self, name_or_id: &str) -> Result<Arc<Ctr>, EngineError> {
        let not_found = || EngineError::NotFound(format!("No such container: {name_or_id}"));
        let key = name_or_id.strip_prefix('/').unwrap_or(name_or_id);
        if key.is_empty() {
            return Err(not_found());
        }
        let map = self.inner.containers.read().unpoisoned();
        if let Some(c) = map.get(key) {
            return Ok(c.clone());
        }
        if let Some(id) = self.inner.names.read().unpoisoned().get(key)
            && let Some(c) = map.get(id)
        {
            return Ok(c.clone());
        }
        let mut found = map.iter().filter(|(id, _)| id.starts_with(key)).map(|(_, c)| c.clone());
        match (found.next(), found.next()) {
            (Some(c), None) => Ok(c),
            (Some(_), Some(_)) => {
                Err(EngineError::NotFound(format!("multiple IDs found with provided prefix: {name_or_id}")))
            }
            _ => Err(not_found()),
        }
    }

    /// A container's record.
    pub fn inspect(&self, name_or_id: &str) -> Result<Container, EngineError> {
        let mut c = self.lookup(name_or_id)?.snapshot();
        c.exec_ids = self.exec_ids(&c.id);
        Ok(c)
    }

    /// Every container's record, newest first.
    pub fn containers(&self) -> Vec<Container> {
        let mut v: Vec<Container> = self.inner.containers.read().unpoisoned().values().map(|c| c.snapshot()).collect();
        v.sort_by(|a, b| b.created.cmp(&a.created).then_with(|| a.id.cmp(&b.id)));
        v
    }

    /// The log file of a container.
    pub fn log_path(&self, id: &str) -> PathBuf {
        self.container_dir(id).join("container.log")
    }

    /// Files of a container that inspect shows.
    pub fn container_file(&self, id: &str, name: &str) -> PathBuf {
        self.container_dir(id).join(name)
    }

    /// The engine's configuration.
    pub fn config(&self) -> &EngineConfig {
        &self.inner.cfg
    }

    /// Renames a container.
    pub async fn rename(&self, name_or_id: &str, new_name: &str) -> Result<(), EngineError> {
        let ctr = self.lookup(name_or_id)?;
        let new_name = names::check(new_name)?;
        let _op = ctr.op.lock().await;
        let old = ctr.snapshot().name;
        if old == new_name {
            return Err(EngineError::Conflict("Renaming a container with the same name as its current name".into()));
        }
        {
            let mut names = self.inner.names.write().unpoisoned();
            if let Some(other) = names.get(new_name) {
                return Err(names::conflict(new_name, other));
            }
            names.remove(&old);
            names.insert(new_name.to_owned(), ctr.id.clone());
        }
        ctr.update(|c| c.name = new_name.to_owned())?;
        // Its DNS name on user-defined networks follows.
        let c = ctr.snapshot();
        if c.is_running() {
            self.net_rename(&c);
        }
        let mut attrs = std::collections::BTreeMap::new();
        attrs.insert("name".to_owned(), new_name.to_owned());
        attrs.insert("oldName".to_owned(), format!("/{old}"));
        self.inner.events.publish("container", "rename", &ctr.id, attrs);
        Ok(())
    }

    /// The image store.
    pub fn images(&self) -> &Arc<image::ImageStore> {
        &self.inner.images
    }
}

/// Runs a transfer that lasts as long as its client keeps reading (`logs --follow`, `cp` out,
/// `export`, `save`) on a thread of its own: on the runtime's blocking pool (bounded, shared
/// with every start and remove) a few slow or following clients would stall all other work.
/// If no thread can be started, `f` is dropped, which closes its channels: the client sees the
/// stream end.
pub(crate) fn spawn_transfer(what: &'static str, f: impl FnOnce() + Send + 'static) {
    if let Err(e) = std::thread::Builder::new().name(what.to_owned()).spawn(f) {
        tracing::error!("starting a thread for {what}: {e}");
    }
}

/// A crash point of the crash tests ([`sys::failpoint`]).
pub(crate) fn failpoint(name: &str) {
    sys::failpoint::hit(name);
}

/// A random 64-hex-digit ID.
pub(crate) fn random_id() -> String {
    let mut b = [0u8; 32];
    random_bytes(&mut b);
    hex::encode(b)
}

/// Fills `b` from the kernel's random source: getrandom(2) (whole, across short reads and
/// interruptions), /dev/urandom where that is missing. An ID must never come out of a buffer
/// that wasn't filled: without any random source this panics, naming it.
pub fn random_bytes(b: &mut [u8]) {
    let mut filled = 0;
    while filled < b.len() {
        match rustix::rand::getrandom(&mut b[filled..], rustix::rand::GetRandomFlags::empty()) {
            Ok(n) => filled += n,
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => {
                let r = std::fs::File::open("/dev/urandom")
                    .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut b[filled..]));
                if let Err(e2) = r {
                    panic!("no random source: getrandom: {e}; /dev/urandom: {e2}");
                }
                return;
            }
        }
    }
}

/// Removes a directory tree, ignoring "not found".
pub(crate) fn remove_tree(p: &Path) -> std::io::Result<()> {
    match std::fs::remove_dir_all(p) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        r => r,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctr(dir: &Path, pending_dir: &Path) -> Ctr {
        let c = model::test_container();
        Ctr {
            id: c.id.clone(),
            rec: Mutex::new(c),
            op: Arc::new(tokio::sync::Mutex::new(())),
            watch: tokio::sync::watch::channel(Watch::default()).0,
            pending: Mutex::new(Vec::new()),
            dir: dir.to_owned(),
            run: dir.join("run"),
            pending_dir: pending_dir.to_owned(),
            dirty: std::sync::atomic::AtomicBool::new(false),
            hold_auto_remove: std::sync::atomic::AtomicU32::new(0),
        }
    }

    #[test]
    fn a_panic_under_a_lock_does_not_poison_later_lookups() {
        let t = tempfile::tempdir().unwrap();
        let c = Arc::new(ctr(t.path(), &t.path().join("pending")));
        let c2 = c.clone();
        let _ = std::thread::spawn(move || {
            let _g = c2.rec.lock().unwrap();
            panic!("a bug while the record is locked");
        })
        .join();
        assert!(c.rec.is_poisoned());
        assert_eq!(c.snapshot().name, "t");
        c.update(|r| r.name = "u".into()).unwrap();
        assert_eq!(c.snapshot().name, "u");
    }

    #[test]
    fn a_record_that_cannot_be_saved_waits_pending() {
        let t = tempfile::tempdir().unwrap();
        let pending = t.path().join("pending");
        // The container's directory is missing: saving there fails as a full disk would.
        let c = ctr(&t.path().join("gone"), &pending);
        c.update(|r| r.state.manually_stopped = true).unwrap();
        assert!(c.dirty.load(std::sync::atomic::Ordering::SeqCst));
        let back = store::load_pending(&pending);
        assert_eq!(back.len(), 1);
        assert!(back[0].state.manually_stopped);
        // Once the root takes it again, the pending copy goes.
        std::fs::create_dir(t.path().join("gone")).unwrap();
        c.flush();
        assert!(!c.dirty.load(std::sync::atomic::Ordering::SeqCst));
        assert!(store::load_pending(&pending).is_empty());
        assert!(t.path().join("gone").join(store::RECORD).is_file());
    }
}
