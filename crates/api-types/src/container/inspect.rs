//! `GET /containers/{id}/json`: the container inspect document and its parts.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::container::{ContainerConfig, HostConfig, MountPoint, PortMap};
use crate::gojson::null_default;
use crate::image::OciDescriptor;
use crate::network::EndpointSettings;

/// The response of `GET /containers/{id}/json` (spec `ContainerInspectResponse`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct ContainerInspectResponse {
    /// Full container ID (64 hex characters).
    #[serde(deserialize_with = "null_default")]
    pub id: String,
    /// Creation time, RFC 3339 with nanoseconds.
    #[serde(deserialize_with = "null_default")]
    pub created: String,
    /// Path of the command being run.
    #[serde(deserialize_with = "null_default")]
    pub path: String,
    /// Arguments of the command.
    #[serde(deserialize_with = "null_default")]
    pub args: Vec<String>,
    /// Run state.
    #[serde(deserialize_with = "null_default")]
    pub state: ContainerState,
    /// Image ID (digest) the container was created from.
    #[serde(deserialize_with = "null_default")]
    pub image: String,
    /// Host path of the generated `/etc/resolv.conf`.
    #[serde(deserialize_with = "null_default")]
    pub resolv_conf_path: String,
    /// Host path of the generated `/etc/hostname`.
    #[serde(deserialize_with = "null_default")]
    pub hostname_path: String,
    /// Host path of the generated `/etc/hosts`.
    #[serde(deserialize_with = "null_default")]
    pub hosts_path: String,
    /// Host path of the log file, if the log driver has one.
    #[serde(deserialize_with = "null_default")]
    pub log_path: String,
    /// Container name with a leading `/`.
    #[serde(deserialize_with = "null_default")]
    pub name: String,
    /// Restarts since creation or daemon start.
    #[serde(deserialize_with = "null_default")]
    pub restart_count: i64,
    /// Storage driver or snapshotter.
    #[serde(deserialize_with = "null_default")]
    pub driver: String,
    /// Operating system the container was created for (`linux`).
    #[serde(deserialize_with = "null_default")]
    pub platform: String,
    /// Descriptor of the platform manifest the container was created from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_manifest_descriptor: Option<OciDescriptor>,
    /// SELinux mount label.
    #[serde(deserialize_with = "null_default")]
    pub mount_label: String,
    /// SELinux process label.
    #[serde(deserialize_with = "null_default")]
    pub process_label: String,
    /// AppArmor profile.
    #[serde(deserialize_with = "null_default")]
    pub app_armor_profile: String,
    /// IDs of exec instances; `null` when there are none.
    #[serde(rename = "ExecIDs")]
    pub exec_ids: Option<Vec<String>>,
    /// Host configuration.
    #[serde(deserialize_with = "null_default")]
    pub host_config: HostConfig,
    /// Storage driver data.
    #[serde(deserialize_with = "null_default")]
    pub graph_driver: DriverData,
    /// Size of the writable layer; only with `size=true`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size_rw: Option<i64>,
    /// Size of the image layers; only with `size=true`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size_root_fs: Option<i64>,
    /// Mounts in use; always an array.
    #[serde(deserialize_with = "null_default")]
    pub mounts: Vec<MountPoint>,
    /// berth's extension: the programs of a running supervised container and their states
    /// (as `GET /containers/{id}/supervisor`); absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub supervisor: Option<Vec<crate::berth::SupervisedProgram>>,
    /// Portable configuration.
    #[serde(deserialize_with = "null_default")]
    pub config: ContainerConfig,
    /// Network state.
    #[serde(deserialize_with = "null_default")]
    pub network_settings: NetworkSettings,
}

/// `ContainerInspectResponse.State` (spec `ContainerState`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct ContainerState {
    /// `created`, `running`, `paused`, `restarting`, `removing`, `exited` or `dead`.
    #[serde(deserialize_with = "null_default")]
    pub status: String,
    /// Whether the process runs; also true while paused.
    #[serde(deserialize_with = "null_default")]
    pub running: bool,
    /// Whether the container is paused.
    #[serde(deserialize_with = "null_default")]
    pub paused: bool,
    /// Whether the container is restarting.
    #[serde(deserialize_with = "null_default")]
    pub restarting: bool,
    /// Whether a process was OOM-killed since the last start.
    #[serde(rename = "OOMKilled", deserialize_with = "null_default")]
    pub oom_killed: bool,
    /// Whether removal failed and left the container dead.
    #[serde(deserialize_with = "null_default")]
    pub dead: bool,
    /// Host PID of the container's init process; 0 when not running.
    #[serde(deserialize_with = "null_default")]
    pub pid: i64,
    /// Last exit code.
    #[serde(deserialize_with = "null_default")]
    pub exit_code: i64,
    /// Last start error.
    #[serde(deserialize_with = "null_default")]
    pub error: String,
    /// Last start time, RFC 3339; `0001-01-01T00:00:00Z` if never started.
    #[serde(deserialize_with = "null_default")]
    pub started_at: String,
    /// Last exit time, RFC 3339; `0001-01-01T00:00:00Z` if never exited.
    #[serde(deserialize_with = "null_default")]
    pub finished_at: String,
    /// Health check state; omitted when the container has no health check.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health: Option<Health>,
}

/// Health check state (spec `Health`), in `ContainerState.Health`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct Health {
    /// `none`, `starting`, `healthy` or `unhealthy`.
    #[serde(deserialize_with = "null_default")]
    pub status: String,
    /// Consecutive failures.
    #[serde(deserialize_with = "null_default")]
    pub failing_streak: i64,
    /// Last few results, oldest first.
    #[serde(deserialize_with = "null_default")]
    pub log: Vec<HealthcheckResult>,
}

/// One health probe run (spec `HealthcheckResult`), in `Health.Log`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct HealthcheckResult {
    /// Start time, RFC 3339 with nanoseconds.
    #[serde(deserialize_with = "null_default")]
    pub start: String,
    /// End time, RFC 3339 with nanoseconds.
    #[serde(deserialize_with = "null_default")]
    pub end: String,
    /// 0 healthy, 1 unhealthy, 2 reserved, other values: the probe failed to run.
    #[serde(deserialize_with = "null_default")]
    pub exit_code: i64,
    /// Probe output (truncated).
    #[serde(deserialize_with = "null_default")]
    pub output: String,
}

/// Storage driver name and data (spec `DriverData`): `GraphDriver` of container and image inspect.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct DriverData {
    /// Driver name, e.g. `overlay2`.
    #[serde(deserialize_with = "null_default")]
    pub name: String,
    /// Driver-specific data (`LowerDir`, `UpperDir`, ...).
    #[serde(deserialize_with = "null_default")]
    pub data: BTreeMap<String, String>,
}

/// `ContainerInspectResponse.NetworkSettings` (spec `NetworkSettings`).
///
/// The top-level address fields are Docker's deprecated copy of the default `bridge` network's
/// endpoint; they are empty when the container isn't on `bridge`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct NetworkSettings {
    /// Bridge name when dockerd runs with `--bridge` (deprecated).
    #[serde(deserialize_with = "null_default")]
    pub bridge: String,
    /// ID of the network sandbox.
    #[serde(rename = "SandboxID", deserialize_with = "null_default")]
    pub sandbox_id: String,
    /// Path of the network namespace.
    #[serde(deserialize_with = "null_default")]
    pub sandbox_key: String,
    /// Published ports; always an object.
    #[serde(deserialize_with = "null_default")]
    pub ports: PortMap,
    /// Never set (deprecated).
    #[serde(deserialize_with = "null_default")]
    pub hairpin_mode: bool,
    /// Never set (deprecated).
    #[serde(rename = "LinkLocalIPv6Address", deserialize_with = "null_default")]
    pub link_local_ipv6_address: String,
    /// Never set (deprecated).
    #[serde(rename = "LinkLocalIPv6PrefixLen", deserialize_with = "null_default")]
    pub link_local_ipv6_prefix_len: i64,
    /// Never set (deprecated).
    #[serde(rename = "SecondaryIPAddresses")]
    pub secondary_ip_addresses: Option<Vec<Address>>,
    /// Never set (deprecated).
    #[serde(rename = "SecondaryIPv6Addresses")]
    pub secondary_ipv6_addresses: Option<Vec<Address>>,
    /// Endpoint ID on the default bridge network (deprecated).
    #[serde(rename = "EndpointID", deserialize_with = "null_default")]
    pub endpoint_id: String,
    /// Gateway on the default bridge network (deprecated).
    #[serde(deserialize_with = "null_default")]
    pub gateway: String,
    /// IPv6 address on the default bridge network (deprecated).
    #[serde(rename = "GlobalIPv6Address", deserialize_with = "null_default")]
    pub global_ipv6_address: String,
    /// IPv6 prefix length on the default bridge network (deprecated).
    #[serde(rename = "GlobalIPv6PrefixLen", deserialize_with = "null_default")]
    pub global_ipv6_prefix_len: i64,
    /// IPv4 address on the default bridge network (deprecated).
    #[serde(rename = "IPAddress", deserialize_with = "null_default")]
    pub ip_address: String,
    /// IPv4 prefix length on the default bridge network (deprecated).
    #[serde(rename = "IPPrefixLen", deserialize_with = "null_default")]
    pub ip_prefix_len: i64,
    /// IPv6 gateway on the default bridge network (deprecated).
    #[serde(rename = "IPv6Gateway", deserialize_with = "null_default")]
    pub ipv6_gateway: String,
    /// MAC address on the default bridge network (deprecated).
    #[serde(deserialize_with = "null_default")]
    pub mac_address: String,
    /// Endpoint settings per attached network name.
    #[serde(deserialize_with = "null_default")]
    pub networks: BTreeMap<String, EndpointSettings>,
}

/// An IP address with prefix length (spec `Address`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct Address {
    /// IP address.
    #[serde(deserialize_with = "null_default")]
    pub addr: String,
    /// Prefix length.
    #[serde(deserialize_with = "null_default")]
    pub prefix_len: i64,
}
