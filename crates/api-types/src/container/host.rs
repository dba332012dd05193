//! `HostConfig` and the cgroup `Resources` it embeds (`POST /containers/create`,
//! `GET /containers/{id}/json`, `POST /containers/{id}/update`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::container::{Mount, PortMap};
use crate::gojson::{is_default, null_default, str_slice};

/// Container configuration that depends on the host (the spec's `HostConfig`).
///
/// Sent in the `HostConfig` member of `POST /containers/create` and returned by
/// `GET /containers/{id}/json`. Docker embeds [`Resources`] in this object, so its fields
/// appear at the same level as `Binds` etc.; here they live in [`HostConfig::resources`],
/// flattened on the wire.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct HostConfig {
    /// Volume bindings: `host-src:container-dest[:options]` or `volume-name:container-dest[:options]`.
    pub binds: Option<Vec<String>>,
    /// Path to a file where the container ID is written (client-side only).
    #[serde(rename = "ContainerIDFile", deserialize_with = "null_default")]
    pub container_id_file: String,
    /// Logging driver for this container.
    #[serde(deserialize_with = "null_default")]
    pub log_config: LogConfig,
    /// `bridge`, `host`, `none`, `container:<name|id>`, or a network name.
    #[serde(deserialize_with = "null_default")]
    pub network_mode: String,
    /// Container port (`80/tcp`) to host bindings.
    pub port_bindings: Option<PortMap>,
    /// What to do when the container exits.
    #[serde(deserialize_with = "null_default")]
    pub restart_policy: RestartPolicy,
    /// Remove the container when its process exits.
    #[serde(deserialize_with = "null_default")]
    pub auto_remove: bool,
    /// Volume driver used to mount volumes.
    #[serde(deserialize_with = "null_default")]
    pub volume_driver: String,
    /// Containers to inherit volumes from: `<name>[:ro|rw]`.
    pub volumes_from: Option<Vec<String>>,
    /// Initial console size `[height, width]`. dockerd always sends it (`[0, 0]` when unset).
    #[serde(deserialize_with = "null_default")]
    pub console_size: [u64; 2],
    /// Non-identifying metadata passed to the runtime.
    #[serde(skip_serializing_if = "BTreeMap::is_empty", deserialize_with = "null_default")]
    pub annotations: BTreeMap<String, String>,
    /// Kernel capabilities to add. A string is accepted for a single capability.
    #[serde(deserialize_with = "str_slice")]
    pub cap_add: Option<Vec<String>>,
    /// Kernel capabilities to drop. A string is accepted for a single capability.
    #[serde(deserialize_with = "str_slice")]
    pub cap_drop: Option<Vec<String>>,
    /// Cgroup namespace mode: `private`, `host`, or empty for the daemon default.
    #[serde(deserialize_with = "null_default")]
    pub cgroupns_mode: String,
    /// DNS servers.
    pub dns: Option<Vec<String>>,
    /// DNS options.
    pub dns_options: Option<Vec<String>>,
    /// DNS search domains.
    pub dns_search: Option<Vec<String>>,
    /// Extra `/etc/hosts` entries: `hostname:IP`.
    pub extra_hosts: Option<Vec<String>>,
    /// Additional groups for the container process.
    pub group_add: Option<Vec<String>>,
    /// IPC mode: `none`, `private`, `shareable`, `container:<name|id>`, `host`, or empty.
    #[serde(deserialize_with = "null_default")]
    pub ipc_mode: String,
    /// Cgroup to use for the container (`container:<name|id>`).
    #[serde(deserialize_with = "null_default")]
    pub cgroup: String,
    /// Legacy links: `container_name:alias`.
    pub links: Option<Vec<String>>,
    /// OOM killer score adjustment.
    #[serde(deserialize_with = "null_default")]
    pub oom_score_adj: i64,
    /// PID namespace mode: `container:<name|id>`, `host`, or empty.
    #[serde(deserialize_with = "null_default")]
    pub pid_mode: String,
    /// Give the container full access to the host.
    #[serde(deserialize_with = "null_default")]
    pub privileged: bool,
    /// Publish every exposed port on an ephemeral host port.
    #[serde(deserialize_with = "null_default")]
    pub publish_all_ports: bool,
    /// berth's extension (`run --persist`): the writable layer is kept under the container's
    /// name after the container is removed. Only sent when true, so documents for Docker's
    /// clients stay as dockerd's; they ignore it when it is there.
    #[serde(deserialize_with = "null_default", skip_serializing_if = "is_default")]
    pub persist: bool,
    /// berth's extension (`run --supervise`): berth's init is PID 1 and supervises programs and
    /// cron jobs. Only sent when set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub supervise: Option<Supervise>,
    /// Mount the root filesystem read-only.
    #[serde(deserialize_with = "null_default")]
    pub readonly_rootfs: bool,
    /// Security options (`label=...`, `seccomp=...`, `apparmor=...`, `no-new-privileges`).
    pub security_opt: Option<Vec<String>>,
    /// Storage driver options, e.g. `{"size": "120G"}`.
    #[serde(skip_serializing_if = "BTreeMap::is_empty", deserialize_with = "null_default")]
    pub storage_opt: BTreeMap<String, String>,
    /// Container path to tmpfs mount options.
    #[serde(skip_serializing_if = "BTreeMap::is_empty", deserialize_with = "null_default")]
    pub tmpfs: BTreeMap<String, String>,
    /// UTS namespace mode: `host` or empty.
    #[serde(rename = "UTSMode", deserialize_with = "null_default")]
    pub uts_mode: String,
    /// User namespace mode: `host` or empty.
    #[serde(deserialize_with = "null_default")]
    pub userns_mode: String,
    /// Size of `/dev/shm` in bytes; 0 means the daemon default (64 MiB).
    #[serde(deserialize_with = "null_default")]
    pub shm_size: i64,
    /// Namespaced kernel parameters.
    #[serde(skip_serializing_if = "BTreeMap::is_empty", deserialize_with = "null_default")]
    pub sysctls: BTreeMap<String, String>,
    /// OCI runtime name; empty means the daemon default.
    #[serde(skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    pub runtime: String,
    /// Isolation technology (Windows only; empty on Linux).
    #[serde(deserialize_with = "null_default")]
    pub isolation: String,
    /// cgroup resource limits, serialised inline with the fields above.
    #[serde(flatten)]
    pub resources: Resources,
    /// Mount specifications (the `--mount` form).
    #[serde(skip_serializing_if = "Vec::is_empty", deserialize_with = "null_default")]
    pub mounts: Vec<Mount>,
    /// Paths to mask. `None` means the default set; `Some([])` masks nothing.
    pub masked_paths: Option<Vec<String>>,
    /// Paths to make read-only. `None` means the default set; `Some([])` means none.
    pub readonly_paths: Option<Vec<String>>,
    /// Run an init process as PID 1; `None` means the daemon default.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub init: Option<bool>,
}

/// A container's cgroup resources (the spec's `Resources`).
///
/// Flattened into [`HostConfig`] and into [`ContainerUpdateRequest`](crate::container::ContainerUpdateRequest)
/// (`POST /containers/{id}/update`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct Resources {
    /// Relative CPU weight.
    #[serde(deserialize_with = "null_default")]
    pub cpu_shares: i64,
    /// Memory limit in bytes; 0 is unlimited.
    #[serde(deserialize_with = "null_default")]
    pub memory: i64,
    /// CPU quota in units of 10^-9 CPUs.
    #[serde(deserialize_with = "null_default")]
    pub nano_cpus: i64,
    /// Parent cgroup path.
    #[serde(deserialize_with = "null_default")]
    pub cgroup_parent: String,
    /// Block IO weight, 10 to 1000; 0 is unset.
    #[serde(deserialize_with = "null_default")]
    pub blkio_weight: u16,
    /// Per-device block IO weights.
    pub blkio_weight_device: Option<Vec<WeightDevice>>,
    /// Per-device read limits in bytes per second.
    pub blkio_device_read_bps: Option<Vec<ThrottleDevice>>,
    /// Per-device write limits in bytes per second.
    pub blkio_device_write_bps: Option<Vec<ThrottleDevice>>,
    /// Per-device read limits in IO operations per second.
    #[serde(rename = "BlkioDeviceReadIOps")]
    pub blkio_device_read_iops: Option<Vec<ThrottleDevice>>,
    /// Per-device write limits in IO operations per second.
    #[serde(rename = "BlkioDeviceWriteIOps")]
    pub blkio_device_write_iops: Option<Vec<ThrottleDevice>>,
    /// CFS period in microseconds.
    #[serde(deserialize_with = "null_default")]
    pub cpu_period: i64,
    /// CFS quota in microseconds per period.
    #[serde(deserialize_with = "null_default")]
    pub cpu_quota: i64,
    /// Real-time period in microseconds.
    #[serde(deserialize_with = "null_default")]
    pub cpu_realtime_period: i64,
    /// Real-time runtime in microseconds.
    #[serde(deserialize_with = "null_default")]
    pub cpu_realtime_runtime: i64,
    /// CPUs allowed, e.g. `0-3` or `0,1`.
    #[serde(deserialize_with = "null_default")]
    pub cpuset_cpus: String,
    /// Memory nodes allowed.
    #[serde(deserialize_with = "null_default")]
    pub cpuset_mems: String,
    /// Host devices to add.
    pub devices: Option<Vec<DeviceMapping>>,
    /// Device cgroup rules, e.g. `c 13:* rwm`.
    pub device_cgroup_rules: Option<Vec<String>>,
    /// Requests for devices from device drivers (GPUs, CDI).
    pub device_requests: Option<Vec<DeviceRequest>>,
    /// Kernel TCP buffer limit in bytes (deprecated; omitted when 0).
    #[serde(rename = "KernelMemoryTCP", skip_serializing_if = "is_default", deserialize_with = "null_default")]
    pub kernel_memory_tcp: i64,
    /// Memory soft limit in bytes.
    #[serde(deserialize_with = "null_default")]
    pub memory_reservation: i64,
    /// Memory plus swap limit in bytes; -1 is unlimited swap.
    #[serde(deserialize_with = "null_default")]
    pub memory_swap: i64,
    /// Memory swappiness 0 to 100; `None` keeps the default.
    pub memory_swappiness: Option<i64>,
    /// Disable the OOM killer.
    pub oom_kill_disable: Option<bool>,
    /// PIDs limit; 0 or -1 is unlimited, `None` leaves it unchanged.
    pub pids_limit: Option<i64>,
    /// Resource limits (`nofile`, ...).
    pub ulimits: Option<Vec<Ulimit>>,
    /// Usable CPU count (Windows only).
    #[serde(deserialize_with = "null_default")]
    pub cpu_count: i64,
    /// Usable CPU percentage (Windows only).
    #[serde(deserialize_with = "null_default")]
    pub cpu_percent: i64,
    /// Maximum IOps of the system drive (Windows only).
    #[serde(rename = "IOMaximumIOps", deserialize_with = "null_default")]
    pub io_maximum_iops: u64,
    /// Maximum IO bytes per second of the system drive (Windows only).
    #[serde(rename = "IOMaximumBandwidth", deserialize_with = "null_default")]
    pub io_maximum_bandwidth: u64,
}

/// Restart policy (`HostConfig.RestartPolicy`, and `POST /containers/{id}/update`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct RestartPolicy {
    /// `""` or `no` (never), `always`, `unless-stopped`, `on-failure`.
    #[serde(deserialize_with = "null_default")]
    pub name: String,
    /// Retries before giving up, for `on-failure` only.
    #[serde(deserialize_with = "null_default")]
    pub maximum_retry_count: i64,
}

/// Logging driver and its options (`HostConfig.LogConfig`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct LogConfig {
    /// Driver name: `json-file`, `local`, `none`, ...; empty means the daemon default.
    #[serde(deserialize_with = "null_default")]
    pub r#type: String,
    /// Driver options, e.g. `max-size`.
    pub config: Option<BTreeMap<String, String>>,
}

/// A host device mapped into the container (`Resources.Devices`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct DeviceMapping {
    /// Device path on the host.
    #[serde(deserialize_with = "null_default")]
    pub path_on_host: String,
    /// Device path in the container.
    #[serde(deserialize_with = "null_default")]
    pub path_in_container: String,
    /// Cgroup permissions, e.g. `rwm`.
    #[serde(deserialize_with = "null_default")]
    pub cgroup_permissions: String,
}

/// A request for devices from a device driver (`Resources.DeviceRequests`, `--gpus`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct DeviceRequest {
    /// Device driver name, e.g. `nvidia`, `cdi`.
    #[serde(deserialize_with = "null_default")]
    pub driver: String,
    /// Number of devices; -1 is all.
    #[serde(deserialize_with = "null_default")]
    pub count: i64,
    /// Device IDs as the driver knows them.
    #[serde(rename = "DeviceIDs")]
    pub device_ids: Option<Vec<String>>,
    /// An OR list of AND lists of capabilities, e.g. `[["gpu"]]`.
    pub capabilities: Option<Vec<Vec<String>>>,
    /// Driver-specific options.
    pub options: Option<BTreeMap<String, String>>,
}

/// A relative block IO weight for one device (`Resources.BlkioWeightDevice`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct WeightDevice {
    /// Device path.
    #[serde(deserialize_with = "null_default")]
    pub path: String,
    /// Weight, 10 to 1000.
    #[serde(deserialize_with = "null_default")]
    pub weight: u16,
}

/// A block IO rate limit for one device (`Resources.BlkioDevice*`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct ThrottleDevice {
    /// Device path.
    #[serde(deserialize_with = "null_default")]
    pub path: String,
    /// Bytes or IO operations per second.
    #[serde(deserialize_with = "null_default")]
    pub rate: u64,
}

/// A resource limit (`Resources.Ulimits`), e.g. `{"Name": "nofile", "Soft": 1024, "Hard": 2048}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct Ulimit {
    /// Limit name without the `RLIMIT_` prefix, lower case.
    #[serde(deserialize_with = "null_default")]
    pub name: String,
    /// Hard limit.
    #[serde(deserialize_with = "null_default")]
    pub hard: i64,
    /// Soft limit.
    #[serde(deserialize_with = "null_default")]
    pub soft: i64,
}

/// `HostConfig.Supervise` (berth's extension): what the built-in supervisor runs besides the
/// image's supervisord configuration and crontabs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct Supervise {
    /// `NAME=COMMAND` (`--program`).
    #[serde(deserialize_with = "null_default")]
    pub programs: Vec<String>,
    /// `SCHEDULE COMMAND` (`--cron`).
    #[serde(deserialize_with = "null_default")]
    pub cron: Vec<String>,
    /// Programs whose end stops the container (`--exit-on`).
    #[serde(deserialize_with = "null_default")]
    pub exit_on: Vec<String>,
}
