//! The engine's domain types: what a container is asked to be, what it is, and its state.
//!
//! These are persisted as `containers/<id>/container.json` (format version in [`Container`]),
//! and are not the Docker API's wire types: the `api` crate maps between the two.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A container's configuration, as created (user settings merged with the image's).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ContainerConfig {
    /// Hostname (defaults to the short ID).
    pub hostname: String,
    /// Domain name.
    pub domainname: String,
    /// `user[:group]`.
    pub user: String,
    /// Attach stdin when running in the foreground (informational, as Docker).
    pub attach_stdin: bool,
    /// Attach stdout.
    pub attach_stdout: bool,
    /// Attach stderr.
    pub attach_stderr: bool,
    /// Give the first process a terminal.
    pub tty: bool,
    /// Keep stdin open (`-i`).
    pub open_stdin: bool,
    /// Close stdin when the first attached client detaches.
    pub stdin_once: bool,
    /// Environment, image's then user's (`KEY=value`).
    pub env: Vec<String>,
    /// Command (after the entrypoint).
    pub cmd: Option<Vec<String>>,
    /// Entrypoint.
    pub entrypoint: Option<Vec<String>>,
    /// The image as the user named it.
    pub image: String,
    /// Anonymous volume paths (from the image and `-v /path`).
    pub volumes: Vec<String>,
    /// Working directory (defaults to `/`).
    pub working_dir: String,
    /// Labels (image's, then user's).
    pub labels: BTreeMap<String, String>,
    /// Stop signal (name or number).
    pub stop_signal: Option<String>,
    /// Seconds `stop` waits before SIGKILL.
    pub stop_timeout: Option<i64>,
    /// Exposed ports (`80/tcp`).
    pub exposed_ports: Vec<String>,
    /// Whether networking is disabled.
    pub network_disabled: bool,
    /// MAC address asked for.
    pub mac_address: String,
}

/// Restart policy.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RestartPolicy {
    /// `""`/`no`, `always`, `unless-stopped`, `on-failure`.
    pub name: String,
    /// For `on-failure`: how many restarts at most (0 = unlimited).
    pub maximum_retry_count: i64,
}

impl RestartPolicy {
    /// Whether the policy is `no`.
    pub fn is_none(&self) -> bool {
        self.name.is_empty() || self.name == "no"
    }
}

/// A resource limit (`--ulimit`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ulimit {
    /// `nofile`, `nproc`, ...
    pub name: String,
    /// Soft limit.
    pub soft: i64,
    /// Hard limit.
    pub hard: i64,
}

/// A per-device rate (`--device-read-bps /dev/sda:1mb`): the path as given, resolved to
/// its device number whenever the limit is written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ThrottleDevice {
    /// Block device path on the host.
    pub path: String,
    /// Bytes or operations per second; 0 removes the limit (in an update).
    pub rate: u64,
}

/// A per-device block I/O weight (`--blkio-weight-device /dev/sda:200`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct WeightDevice {
    /// Block device path on the host.
    pub path: String,
    /// 10..=1000.
    pub weight: u16,
}

/// cgroup limits with Docker's `HostConfig` semantics: 0 (or empty) is "not set" (no limit,
/// the kernel's default), `memory_swap` is memory plus swap (-1: unlimited swap),
/// `nano_cpus` is CPUs × 10⁹, `pids_limit` ≤ 0 is unlimited.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Resources {
    /// Memory limit in bytes.
    pub memory: i64,
    /// Memory plus swap in bytes; -1 unlimited swap.
    pub memory_swap: i64,
    /// Soft limit in bytes.
    pub memory_reservation: i64,
    /// Disable the OOM killer.
    pub oom_kill_disable: Option<bool>,
    /// CPUs × 10⁹ (`--cpus`).
    pub nano_cpus: i64,
    /// Relative CPU weight (v1 scale, 2..=262144).
    pub cpu_shares: i64,
    /// CFS period in µs.
    pub cpu_period: i64,
    /// CFS quota in µs per period; -1 unlimited.
    pub cpu_quota: i64,
    /// CPUs allowed (`0-3,6`).
    pub cpuset_cpus: String,
    /// Memory nodes allowed.
    pub cpuset_mems: String,
    /// Maximum number of processes; ≤ 0 unlimited.
    pub pids_limit: Option<i64>,
    /// Block I/O weight (10..=1000).
    pub blkio_weight: u16,
    /// Block I/O weight per device.
    pub blkio_weight_device: Vec<WeightDevice>,
    /// Read bytes per second, per device.
    pub device_read_bps: Vec<ThrottleDevice>,
    /// Write bytes per second, per device.
    pub device_write_bps: Vec<ThrottleDevice>,
    /// Read operations per second, per device.
    pub device_read_iops: Vec<ThrottleDevice>,
    /// Write operations per second, per device.
    pub device_write_iops: Vec<ThrottleDevice>,
}

/// A live update (`update`): `None` fields are left as they are; the values mean what they
/// mean in [`Resources`]. Throttle and weight lists are merged by device path (rate 0 removes
/// a device's limit); `ulimits` are merged by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResourcesUpdate {
    /// Memory limit.
    pub memory: Option<i64>,
    /// Memory plus swap.
    pub memory_swap: Option<i64>,
    /// Soft limit.
    pub memory_reservation: Option<i64>,
    /// CPUs × 10⁹.
    pub nano_cpus: Option<i64>,
    /// CPU shares.
    pub cpu_shares: Option<i64>,
    /// CFS period.
    pub cpu_period: Option<i64>,
    /// CFS quota.
    pub cpu_quota: Option<i64>,
    /// CPUs allowed.
    pub cpuset_cpus: Option<String>,
    /// Memory nodes allowed.
    pub cpuset_mems: Option<String>,
    /// Process limit.
    pub pids_limit: Option<i64>,
    /// Block I/O weight.
    pub blkio_weight: Option<u16>,
    /// Per-device weights.
    pub blkio_weight_device: Vec<WeightDevice>,
    /// Per-device read bytes/s.
    pub device_read_bps: Vec<ThrottleDevice>,
    /// Per-device write bytes/s.
    pub device_write_bps: Vec<ThrottleDevice>,
    /// Per-device read ops/s.
    pub device_read_iops: Vec<ThrottleDevice>,
    /// Per-device write ops/s.
    pub device_write_iops: Vec<ThrottleDevice>,
    /// `--ulimit`s, applied to every process of a running container with prlimit(2).
    pub ulimits: Vec<Ulimit>,
    /// A new restart policy.
    pub restart_policy: Option<RestartPolicy>,
}

/// Host-dependent settings.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct HostConfig {
    /// `none`, `host`, `default`/`bridge`, `container:<id>`, or a network name.
    pub network_mode: String,
    /// Restart policy.
    pub restart_policy: RestartPolicy,
    /// Remove the container when it exits (`--rm`).
    pub auto_remove: bool,
    /// Run berth's init as PID 1 (`--init`).
    pub init: Option<bool>,
    /// All capabilities, devices, no seccomp, no masked paths.
    pub privileged: bool,
    /// Capabilities added.
    pub cap_add: Vec<String>,
    /// Capabilities dropped.
    pub cap_drop: Vec<String>,
    /// `seccomp=unconfined|<json>`, `no-new-privileges[:true|false]`, ...
    pub security_opt: Vec<String>,
    /// Read-only root filesystem.
    pub readonly_rootfs: bool,
    /// Extra groups for the process.
    pub group_add: Vec<String>,
    /// DNS servers.
    pub dns: Vec<String>,
    /// DNS options.
    pub dns_options: Vec<String>,
    /// DNS search domains.
    pub dns_search: Vec<String>,
    /// `host:ip` entries for /etc/hosts.
    pub extra_hosts: Vec<String>,
    /// Size of /dev/shm in bytes (0 = 64 MiB).
    pub shm_size: i64,
    /// `pid` namespace mode: `""` or `host` or `container:<id>`.
    pub pid_mode: String,
    /// `ipc` namespace mode: `""`, `private`, `shareable`, `host`, `none`, `container:<id>`.
    pub ipc_mode: String,
    /// `uts` namespace mode: `""` or `host`.
    pub uts_mode: String,
    /// `cgroupns` mode: `private` or `host`.
    pub cgroupns_mode: String,
    /// Resource limits (`--ulimit`).
    pub ulimits: Vec<Ulimit>,
    /// cgroup limits (`--memory`, `--cpus`, ...).
    pub resources: Resources,
    /// `oom_score_adj`.
    pub oom_score_adj: i64,
    /// Namespaced sysctls.
    pub sysctls: BTreeMap<String, String>,
    /// Initial terminal size (rows, cols).
    pub console_size: Option<(u16, u16)>,
    /// Paths masked in place of Docker's defaults, when given.
    pub masked_paths: Option<Vec<String>>,
    /// Read-only paths in place of Docker's defaults, when given.
    pub readonly_paths: Option<Vec<String>>,
    /// `--tmpfs` mounts: path → options.
    pub tmpfs: BTreeMap<String, String>,
    /// Annotations (OCI).
    pub annotations: BTreeMap<String, String>,
    /// The log driver's type (only `json-file`-like "berth" logging exists; kept for inspect).
    pub log_type: String,
    /// Published ports: container port (`80/tcp`) to host bindings (`-p`), as asked for.
    pub port_bindings: BTreeMap<String, Vec<PortBinding>>,
    /// Publish every exposed port on a free host port (`-P`).
    pub publish_all_ports: bool,
    /// `-v` specifications as given (`name:/path:ro`, `/host:/path`).
    pub binds: Vec<String>,
    /// `--mount` specifications.
    pub mounts: Vec<MountSpec>,
    /// `--volumes-from` (`container[:ro|rw]`).
    pub volumes_from: Vec<String>,
    /// berth's extension (`run --persist`): the writable layer is kept under the container's
    /// name in `<root>/persistent/<name>/` and outlives the container.
    pub persist: bool,
    /// berth's extension (`run --supervise`): berth's init supervises programs and cron jobs.
    pub supervise: Option<Supervise>,
    /// `--userns`: `host` keeps the container in the host's user namespace when the daemon
    /// remaps (`--userns-remap`); empty otherwise.
    pub userns_mode: String,
    /// The id mappings of the container's user namespace, fixed at create from the daemon's
    /// `--userns-remap` (its writable layer and volumes are owned accordingly); `None`: the
    /// host's user namespace.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub userns_remap: Option<runtime::IdMapping>,
}

/// What the built-in supervisor runs besides the image's supervisord configuration and crontabs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Supervise {
    /// `NAME=COMMAND`.
    pub programs: Vec<String>,
    /// `SCHEDULE COMMAND`.
    pub cron: Vec<String>,
    /// Programs whose end stops the container.
    pub exit_on: Vec<String>,
}

/// The kind of a container mount.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MountKind {
    /// A named or anonymous volume.
    #[default]
    Volume,
    /// A host path.
    Bind,
    /// A fresh tmpfs.
    Tmpfs,
}

impl MountKind {
    /// Docker's name.
    pub fn as_str(self) -> &'static str {
        match self {
            MountKind::Volume => "volume",
            MountKind::Bind => "bind",
            MountKind::Tmpfs => "tmpfs",
        }
    }
}

/// A `--mount` request (Docker's `mount.Mount`), as asked for.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct MountSpec {
    /// What is mounted.
    pub kind: MountKind,
    /// Volume name (empty: anonymous) or host path.
    pub source: String,
    /// Path in the container.
    pub target: String,
    /// Read-only.
    pub read_only: bool,
    /// Bind propagation (`rprivate` when empty).
    pub propagation: String,
    /// Bind without submounts.
    pub non_recursive: bool,
    /// Create a missing bind source.
    pub create_mountpoint: bool,
    /// Don't copy the image's content into a new volume.
    pub no_copy: bool,
    /// Labels of a volume this mount creates.
    pub labels: BTreeMap<String, String>,
    /// Driver options of a volume this mount creates.
    pub driver_options: BTreeMap<String, String>,
    /// A path inside the volume to mount instead of its root.
    pub subpath: String,
    /// tmpfs size in bytes (0: the kernel's default, half of memory).
    pub tmpfs_size: i64,
    /// tmpfs root mode (0: 1777).
    pub tmpfs_mode: u32,
}

/// A mount of a container, resolved at create (volumes exist by then).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct MountPoint {
    /// What is mounted.
    pub kind: MountKind,
    /// Volume name.
    pub name: String,
    /// Host path, for binds.
    pub source: String,
    /// Path in the container.
    pub destination: String,
    /// Writable.
    pub rw: bool,
    /// The mode as the user wrote it (`ro`, `z`, ...), for inspect.
    pub mode: String,
    /// Bind propagation.
    pub propagation: String,
    /// Bind without submounts.
    pub non_recursive: bool,
    /// Fill an empty volume with the image's content at the destination at first start.
    pub copy_data: bool,
    /// The volume was made for this container (removed by `rm -v` and `--rm`).
    pub anonymous: bool,
    /// For a volume of a `--persist` container's own volume path: the persistent layer it
    /// belongs to (see [`crate::volumes::persist_volume_name`]).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub persist_layer: String,
    /// A path inside the volume.
    pub subpath: String,
    /// tmpfs size in bytes.
    pub tmpfs_size: i64,
    /// tmpfs root mode.
    pub tmpfs_mode: u32,
}

/// A host binding of a container port, as asked for.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PortBinding {
    /// Host address; empty: all.
    pub host_ip: String,
    /// Host port or range (`8080`, `8000-8010`); empty: any free port.
    pub host_port: String,
}

/// How a container joins one network, as asked for (`--ip`, `--network-alias`, ...).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct EndpointConfig {
    /// A fixed IPv4 address.
    pub ipv4_address: Option<std::net::Ipv4Addr>,
    /// Extra DNS names on this network.
    pub aliases: Vec<String>,
    /// A fixed MAC address.
    pub mac_address: Option<String>,
}

/// A container's attachment to a network while it runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoint {
    /// The network's ID.
    pub network_id: String,
    /// 64 hex digits.
    pub endpoint_id: String,
    /// Interface name in the container (`eth0`).
    pub ifname: String,
    /// The host end of a veth pair (bridge networks), deleted when the endpoint goes.
    pub host_ifname: Option<String>,
    /// Address.
    pub ip: std::net::Ipv4Addr,
    /// Prefix length.
    pub prefix_len: u8,
    /// Gateway.
    pub gateway: Option<std::net::Ipv4Addr>,
    /// MAC address.
    pub mac: String,
}

/// A host port published for a running container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishedPort {
    /// Protocol.
    pub proto: net::firewall::Proto,
    /// Host address (`0.0.0.0`: all).
    pub host_ip: std::net::Ipv4Addr,
    /// Host port.
    pub host_port: u16,
    /// Container port.
    pub container_port: u16,
}

/// A running container's networking.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct NetState {
    /// Attachments by network name, the primary one first in `order`.
    pub endpoints: BTreeMap<String, Endpoint>,
    /// Network names in the order they were attached (the first has the default route).
    pub order: Vec<String>,
    /// Published ports.
    pub ports: Vec<PublishedPort>,
}

/// The lifecycle states of a container, as Docker names them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Created, never started (or failed to start).
    #[default]
    Created,
    /// Its first process runs.
    Running,
    /// Frozen.
    Paused,
    /// Waiting to be restarted by its restart policy.
    Restarting,
    /// Being removed.
    Removing,
    /// Its first process exited.
    Exited,
    /// Failed removal; unusable.
    Dead,
}

impl Status {
    /// Docker's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Restarting => "restarting",
            Status::Removing => "removing",
            Status::Exited => "exited",
            Status::Dead => "dead",
        }
    }
}

/// A container's runtime state.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct State {
    /// Lifecycle state.
    pub status: Status,
    /// PID of the first process (host PID namespace), 0 when not running.
    pub pid: i32,
    /// Exit code of the last run.
    pub exit_code: i32,
    /// Error of the last start, if it failed.
    pub error: String,
    /// Killed by the OOM killer.
    pub oom_killed: bool,
    /// When it last started (RFC 3339 with nanoseconds; Docker's zero time when never).
    pub started_at: Option<chrono::DateTime<chrono::Utc>>,
    /// When it last exited.
    pub finished_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Restarts done by the restart policy.
    pub restart_count: i64,
    /// Stopped by a user (`stop`, `kill`): restart policies leave it alone.
    pub manually_stopped: bool,
    /// Networking while it runs.
    pub network: NetState,
}

/// A container as the engine keeps it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Container {
    /// Format version of this record.
    pub version: u32,
    /// 64 hex digits.
    pub id: String,
    /// Name without the leading `/`.
    pub name: String,
    /// Creation time.
    pub created: chrono::DateTime<chrono::Utc>,
    /// The image's ID (`sha256:…`).
    pub image_id: String,
    /// The command's path (first word of entrypoint + cmd).
    pub path: String,
    /// Its arguments.
    pub args: Vec<String>,
    /// Configuration.
    pub config: ContainerConfig,
    /// Host configuration.
    pub host_config: HostConfig,
    /// Runtime state.
    pub state: State,
    /// IDs of this container's exec instances not yet ended, filled in by [`crate::Engine::inspect`]
    /// from memory; not stored (an exec per second would otherwise rewrite, and grow, the
    /// record forever).
    #[serde(default, skip_serializing)]
    pub exec_ids: Vec<String>,
    /// The networks it is connected to, by name, with how it joins each (the network of its
    /// network mode, and those added by `network connect`).
    #[serde(default)]
    pub networks: BTreeMap<String, EndpointConfig>,
    /// Volumes, binds and `--mount` tmpfs mounts, sorted so that parents come first.
    #[serde(default)]
    pub mounts: Vec<MountPoint>,
    /// The user's own configuration as given at create, before the image's defaults were
    /// merged in: `upgrade` merges it again with the new image's. `None` in records written
    /// before berth kept it.
    #[serde(default)]
    pub user_config: Option<ContainerConfig>,
    /// The name of the persistent writable layer (`<root>/persistent/<name>/`) of a `--persist`
    /// container: its name at create (a rename does not move the layer).
    #[serde(default)]
    pub persistent_layer: Option<String>,
}

/// Current version of the container record format.
pub const CONTAINER_RECORD_VERSION: u32 = 1;

impl Container {
    /// The first 12 hex digits.
    pub fn short_id(&self) -> &str {
        &self.id[..12]
    }

    /// Whether the first process runs (paused counts as running, as Docker).
    pub fn is_running(&self) -> bool {
        matches!(self.state.status, Status::Running | Status::Paused)
    }
}

/// What `create` gets: the user's settings before merging with the image.
#[derive(Debug, Clone, Default)]
pub struct CreateRequest {
    /// Name (`None`: a random one).
    pub name: Option<String>,
    /// User configuration (empty fields: take the image's).
    pub config: ContainerConfig,
    /// Host configuration.
    pub host_config: HostConfig,
    /// Per-network settings (`NetworkingConfig.EndpointsConfig`), by network name.
    pub endpoints: BTreeMap<String, EndpointConfig>,
}

/// A process in a container's cgroup, as `top` shows it.
#[derive(Debug, Clone, Default)]
pub struct Top {
    /// Column titles.
    pub titles: Vec<String>,
    /// Rows.
    pub processes: Vec<Vec<String>>,
}

/// A minimal container record for unit tests.
#[cfg(test)]
pub(crate) fn test_container() -> Container {
    Container {
        version: CONTAINER_RECORD_VERSION,
        id: "a".repeat(64),
        name: "t".into(),
        created: chrono::Utc::now(),
        image_id: String::new(),
        path: "sh".into(),
        args: vec!["-c".into(), "true".into()],
        config: ContainerConfig {
            hostname: "aaaaaaaaaaaa".into(),
            env: vec!["PATH=/bin".into(), "A=1".into()],
            ..Default::default()
        },
        host_config: HostConfig::default(),
        state: State::default(),
        exec_ids: vec![],
        networks: Default::default(),
        mounts: vec![],
        user_config: None,
        persistent_layer: None,
    }
}
