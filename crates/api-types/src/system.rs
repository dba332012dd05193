//! System endpoints: `GET /version`, `GET /info`, `GET /system/df`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::container::ContainerSummary;
use crate::gojson::{is_default, null_default};
use crate::image::ImageSummary;
use crate::volume::Volume;

/// The response of `GET /version` (spec `SystemVersion`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct SystemVersion {
    /// Product name, e.g. `Docker Engine - Community`.
    #[serde(deserialize_with = "null_default")]
    pub platform: VersionPlatform,
    /// Versions of the engine and its components (containerd, runc, docker-init).
    #[serde(skip_serializing_if = "Vec::is_empty", deserialize_with = "null_default")]
    pub components: Vec<ComponentVersion>,
    /// Daemon version.
    #[serde(deserialize_with = "null_default")]
    pub version: String,
    /// Highest (and default) API version supported.
    #[serde(deserialize_with = "null_default")]
    pub api_version: String,
    /// Lowest API version supported.
    #[serde(rename = "MinAPIVersion", skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    pub min_api_version: String,
    /// Source commit.
    #[serde(deserialize_with = "null_default")]
    pub git_commit: String,
    /// Go version in dockerd; berth reports its Rust toolchain here.
    #[serde(deserialize_with = "null_default")]
    pub go_version: String,
    /// `linux`.
    #[serde(deserialize_with = "null_default")]
    pub os: String,
    /// Architecture in Go naming (`amd64`, `arm64`).
    #[serde(deserialize_with = "null_default")]
    pub arch: String,
    /// `uname -r`.
    #[serde(skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    pub kernel_version: String,
    /// Experimental features enabled.
    #[serde(skip_serializing_if = "is_default", deserialize_with = "null_default")]
    pub experimental: bool,
    /// Build time.
    #[serde(skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    pub build_time: String,
}

/// `SystemVersion.Platform`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct VersionPlatform {
    /// Product name.
    #[serde(deserialize_with = "null_default")]
    pub name: String,
}

/// An item of `SystemVersion.Components`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct ComponentVersion {
    /// Component name, e.g. `Engine`, `containerd`.
    #[serde(deserialize_with = "null_default")]
    pub name: String,
    /// Component version.
    #[serde(deserialize_with = "null_default")]
    pub version: String,
    /// Free-form details (`ApiVersion`, `GitCommit`, ... for `Engine`).
    #[serde(skip_serializing_if = "BTreeMap::is_empty", deserialize_with = "null_default")]
    pub details: BTreeMap<String, String>,
}

/// The response of `GET /info` (spec `SystemInfo`).
///
/// `Plugins`, `RegistryConfig` and `Swarm` are always objects: the docker CLI prints from
/// them unconditionally, and prints the swarm section unless `Swarm.LocalNodeState` is
/// `inactive` (the default here).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct SystemInfo {
    /// Daemon ID.
    #[serde(rename = "ID", deserialize_with = "null_default")]
    pub id: String,
    /// Number of containers.
    #[serde(deserialize_with = "null_default")]
    pub containers: i64,
    /// Number of running containers.
    #[serde(deserialize_with = "null_default")]
    pub containers_running: i64,
    /// Number of paused containers.
    #[serde(deserialize_with = "null_default")]
    pub containers_paused: i64,
    /// Number of stopped containers.
    #[serde(deserialize_with = "null_default")]
    pub containers_stopped: i64,
    /// Number of images.
    #[serde(deserialize_with = "null_default")]
    pub images: i64,
    /// Storage driver.
    #[serde(deserialize_with = "null_default")]
    pub driver: String,
    /// Storage driver details as label/value pairs.
    #[serde(deserialize_with = "null_default")]
    pub driver_status: Vec<[String; 2]>,
    /// Label/value pairs shown by legacy Swarm standalone only.
    #[serde(skip_serializing_if = "Vec::is_empty", deserialize_with = "null_default")]
    pub system_status: Vec<[String; 2]>,
    /// Available plugins by type.
    #[serde(deserialize_with = "null_default")]
    pub plugins: PluginsInfo,
    /// Memory limit support.
    #[serde(deserialize_with = "null_default")]
    pub memory_limit: bool,
    /// Swap limit support.
    #[serde(deserialize_with = "null_default")]
    pub swap_limit: bool,
    /// Kernel TCP memory limit support (cgroup v1; omitted when false).
    #[serde(rename = "KernelMemoryTCP", skip_serializing_if = "is_default", deserialize_with = "null_default")]
    pub kernel_memory_tcp: bool,
    /// CFS period support.
    #[serde(deserialize_with = "null_default")]
    pub cpu_cfs_period: bool,
    /// CFS quota support.
    #[serde(deserialize_with = "null_default")]
    pub cpu_cfs_quota: bool,
    /// CPU shares support.
    #[serde(rename = "CPUShares", deserialize_with = "null_default")]
    pub cpu_shares: bool,
    /// cpuset support.
    #[serde(rename = "CPUSet", deserialize_with = "null_default")]
    pub cpu_set: bool,
    /// PIDs limit support.
    #[serde(deserialize_with = "null_default")]
    pub pids_limit: bool,
    /// Disabling the OOM killer is supported.
    #[serde(deserialize_with = "null_default")]
    pub oom_kill_disable: bool,
    /// IPv4 forwarding is enabled.
    #[serde(rename = "IPv4Forwarding", deserialize_with = "null_default")]
    pub ipv4_forwarding: bool,
    /// Debug mode.
    #[serde(deserialize_with = "null_default")]
    pub debug: bool,
    /// Open file descriptors of the daemon.
    #[serde(deserialize_with = "null_default")]
    pub n_fd: i64,
    /// Goroutines in dockerd; berth reports its thread or task count.
    #[serde(deserialize_with = "null_default")]
    pub n_goroutines: i64,
    /// Current time, RFC 3339 with nanoseconds.
    #[serde(deserialize_with = "null_default")]
    pub system_time: String,
    /// Default logging driver.
    #[serde(deserialize_with = "null_default")]
    pub logging_driver: String,
    /// `cgroupfs`, `systemd` or `none`.
    #[serde(deserialize_with = "null_default")]
    pub cgroup_driver: String,
    /// `1` or `2`.
    #[serde(skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    pub cgroup_version: String,
    /// Number of `/events` subscribers.
    #[serde(deserialize_with = "null_default")]
    pub n_events_listener: i64,
    /// `uname -r`.
    #[serde(deserialize_with = "null_default")]
    pub kernel_version: String,
    /// Distribution name, e.g. `Ubuntu 24.04 LTS`.
    #[serde(deserialize_with = "null_default")]
    pub operating_system: String,
    /// Distribution version.
    #[serde(rename = "OSVersion", deserialize_with = "null_default")]
    pub os_version: String,
    /// `linux`.
    #[serde(rename = "OSType", deserialize_with = "null_default")]
    pub os_type: String,
    /// Hardware architecture as `uname -m` reports it (`x86_64`).
    #[serde(deserialize_with = "null_default")]
    pub architecture: String,
    /// Default registry for search and login, `https://index.docker.io/v1/`.
    #[serde(deserialize_with = "null_default")]
    pub index_server_address: String,
    /// Registry configuration.
    #[serde(deserialize_with = "null_default")]
    pub registry_config: RegistryServiceConfig,
    /// Number of usable CPUs.
    #[serde(rename = "NCPU", deserialize_with = "null_default")]
    pub ncpu: i64,
    /// Physical memory in bytes.
    #[serde(deserialize_with = "null_default")]
    pub mem_total: i64,
    /// User-defined node resources (swarm); `null` when none.
    pub generic_resources: Option<Vec<GenericResource>>,
    /// Daemon data root.
    #[serde(deserialize_with = "null_default")]
    pub docker_root_dir: String,
    /// `HTTP_PROXY` of the daemon, credentials masked.
    #[serde(deserialize_with = "null_default")]
    pub http_proxy: String,
    /// `HTTPS_PROXY` of the daemon, credentials masked.
    #[serde(deserialize_with = "null_default")]
    pub https_proxy: String,
    /// `NO_PROXY` of the daemon.
    #[serde(deserialize_with = "null_default")]
    pub no_proxy: String,
    /// Host name.
    #[serde(deserialize_with = "null_default")]
    pub name: String,
    /// Daemon labels, `key=value`.
    #[serde(deserialize_with = "null_default")]
    pub labels: Vec<String>,
    /// Experimental features enabled.
    #[serde(deserialize_with = "null_default")]
    pub experimental_build: bool,
    /// Daemon version.
    #[serde(deserialize_with = "null_default")]
    pub server_version: String,
    /// Configured OCI runtimes by name.
    #[serde(deserialize_with = "null_default")]
    pub runtimes: BTreeMap<String, Runtime>,
    /// Default runtime name.
    #[serde(deserialize_with = "null_default")]
    pub default_runtime: String,
    /// Swarm state.
    #[serde(deserialize_with = "null_default")]
    pub swarm: SwarmInfo,
    /// Containers survive daemon restarts.
    #[serde(deserialize_with = "null_default")]
    pub live_restore_enabled: bool,
    /// Default isolation (Windows; empty on Linux).
    #[serde(deserialize_with = "null_default")]
    pub isolation: String,
    /// Name or path of the `--init` binary.
    #[serde(deserialize_with = "null_default")]
    pub init_binary: String,
    /// containerd version (berth: the shim's).
    #[serde(deserialize_with = "null_default")]
    pub containerd_commit: Commit,
    /// runc version (berth: its runtime's).
    #[serde(deserialize_with = "null_default")]
    pub runc_commit: Commit,
    /// `docker-init` version.
    #[serde(deserialize_with = "null_default")]
    pub init_commit: Commit,
    /// Security features: `name=seccomp,profile=default`, `name=apparmor`, `name=rootless`, ...
    #[serde(deserialize_with = "null_default")]
    pub security_options: Vec<String>,
    /// License summary; omitted when empty.
    #[serde(skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    pub product_license: String,
    /// Default local address pools.
    #[serde(skip_serializing_if = "Vec::is_empty", deserialize_with = "null_default")]
    pub default_address_pools: Vec<NetworkAddressPool>,
    /// Firewall backend.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub firewall_backend: Option<FirewallInfo>,
    /// Devices discovered by device drivers (CDI).
    #[serde(skip_serializing_if = "Vec::is_empty", deserialize_with = "null_default")]
    pub discovered_devices: Vec<DeviceInfo>,
    /// Warnings about the daemon's configuration, printed by `docker info`.
    #[serde(deserialize_with = "null_default")]
    pub warnings: Vec<String>,
    /// CDI specification directories; empty means CDI is disabled.
    #[serde(rename = "CDISpecDirs", deserialize_with = "null_default")]
    pub cdi_spec_dirs: Vec<String>,
    /// containerd connection details.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub containerd: Option<ContainerdInfo>,
}

/// `SystemInfo.Plugins` (spec `PluginsInfo`): plugin names per type.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct PluginsInfo {
    /// Volume drivers.
    #[serde(deserialize_with = "null_default")]
    pub volume: Vec<String>,
    /// Network drivers.
    #[serde(deserialize_with = "null_default")]
    pub network: Vec<String>,
    /// Authorization plugins.
    #[serde(deserialize_with = "null_default")]
    pub authorization: Vec<String>,
    /// Logging drivers.
    #[serde(deserialize_with = "null_default")]
    pub log: Vec<String>,
}

/// `SystemInfo.RegistryConfig` (spec `RegistryServiceConfig`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct RegistryServiceConfig {
    /// Insecure registry subnets in CIDR form.
    #[serde(rename = "InsecureRegistryCIDRs", deserialize_with = "null_default")]
    pub insecure_registry_cidrs: Vec<String>,
    /// Registries by name.
    #[serde(deserialize_with = "null_default")]
    pub index_configs: BTreeMap<String, IndexInfo>,
    /// Mirrors of Docker Hub.
    #[serde(deserialize_with = "null_default")]
    pub mirrors: Vec<String>,
}

/// A registry in `RegistryServiceConfig.IndexConfigs` (spec `IndexInfo`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct IndexInfo {
    /// Registry name, e.g. `docker.io`.
    #[serde(deserialize_with = "null_default")]
    pub name: String,
    /// Mirror URLs.
    #[serde(deserialize_with = "null_default")]
    pub mirrors: Vec<String>,
    /// `false` for insecure registries.
    #[serde(deserialize_with = "null_default")]
    pub secure: bool,
    /// Whether this is Docker Hub.
    #[serde(deserialize_with = "null_default")]
    pub official: bool,
}

/// An OCI runtime in `SystemInfo.Runtimes` (spec `Runtime`); field names are camelCase.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Runtime {
    /// Binary name or path.
    #[serde(skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    pub path: String,
    /// Extra arguments.
    #[serde(skip_serializing_if = "Vec::is_empty", deserialize_with = "null_default")]
    pub runtime_args: Vec<String>,
    /// containerd shim type (not in the spec; sent by dockerd for shim-based runtimes).
    #[serde(skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    pub runtime_type: String,
    /// Shim options (not in the spec).
    #[serde(skip_serializing_if = "BTreeMap::is_empty", deserialize_with = "null_default")]
    pub options: BTreeMap<String, serde_json::Value>,
    /// Runtime-specific information, e.g. `org.opencontainers.runtime-spec.features`.
    #[serde(skip_serializing_if = "BTreeMap::is_empty", deserialize_with = "null_default")]
    pub status: BTreeMap<String, String>,
}

/// A version control commit of a component (spec `Commit`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct Commit {
    /// Commit ID (or version string).
    #[serde(rename = "ID", deserialize_with = "null_default")]
    pub id: String,
    /// Expected commit; only sent to clients older than API v1.49.
    #[serde(skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    pub expected: String,
}

/// `SystemInfo.Swarm` (spec `SwarmInfo`).
///
/// [`Default`] is a node outside any swarm: `LocalNodeState` is `inactive`, not the spec's
/// empty default, because the docker CLI only skips its swarm section for `inactive`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct SwarmInfo {
    /// Node ID.
    #[serde(rename = "NodeID", deserialize_with = "null_default")]
    pub node_id: String,
    /// Node address.
    #[serde(deserialize_with = "null_default")]
    pub node_addr: String,
    /// `""`, `inactive`, `pending`, `active`, `error` or `locked`.
    #[serde(deserialize_with = "null_default")]
    pub local_node_state: String,
    /// This node is a manager.
    #[serde(deserialize_with = "null_default")]
    pub control_available: bool,
    /// Swarm error.
    #[serde(deserialize_with = "null_default")]
    pub error: String,
    /// Other managers; `null` outside a swarm.
    pub remote_managers: Option<Vec<PeerNode>>,
    /// Number of nodes.
    #[serde(skip_serializing_if = "is_default", deserialize_with = "null_default")]
    pub nodes: i64,
    /// Number of managers.
    #[serde(skip_serializing_if = "is_default", deserialize_with = "null_default")]
    pub managers: i64,
    /// Cluster details (managers only); kept as raw JSON, berth has no swarm mode.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster: Option<serde_json::Value>,
    /// Swarm warnings (dockerd also appends them to `SystemInfo.Warnings`).
    #[serde(skip_serializing_if = "Vec::is_empty", deserialize_with = "null_default")]
    pub warnings: Vec<String>,
}

impl Default for SwarmInfo {
    fn default() -> Self {
        SwarmInfo {
            node_id: String::new(),
            node_addr: String::new(),
            local_node_state: "inactive".to_owned(),
            control_available: false,
            error: String::new(),
            remote_managers: None,
            nodes: 0,
            managers: 0,
            cluster: None,
            warnings: Vec::new(),
        }
    }
}

/// A manager in `SwarmInfo.RemoteManagers` (spec `PeerNode`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct PeerNode {
    /// Node ID.
    #[serde(rename = "NodeID", deserialize_with = "null_default")]
    pub node_id: String,
    /// Address and port.
    #[serde(deserialize_with = "null_default")]
    pub addr: String,
}

/// `SystemInfo.Containerd` (spec `ContainerdInfo`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct ContainerdInfo {
    /// containerd socket address.
    #[serde(skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    pub address: String,
    /// containerd namespaces used by the daemon.
    #[serde(deserialize_with = "null_default")]
    pub namespaces: ContainerdNamespaces,
}

/// `ContainerdInfo.Namespaces`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct ContainerdNamespaces {
    /// Namespace for containers (`moby`).
    #[serde(deserialize_with = "null_default")]
    pub containers: String,
    /// Namespace for plugins (`plugins.moby`).
    #[serde(deserialize_with = "null_default")]
    pub plugins: String,
}

/// `SystemInfo.FirewallBackend` (spec `FirewallInfo`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct FirewallInfo {
    /// Backend name: `iptables`, `nftables`, ...
    #[serde(deserialize_with = "null_default")]
    pub driver: String,
    /// Label/value pairs.
    #[serde(skip_serializing_if = "Vec::is_empty", deserialize_with = "null_default")]
    pub info: Vec<[String; 2]>,
}

/// A device in `SystemInfo.DiscoveredDevices` (spec `DeviceInfo`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct DeviceInfo {
    /// Device driver, e.g. `cdi`.
    #[serde(deserialize_with = "null_default")]
    pub source: String,
    /// Device ID within the driver, e.g. `vendor.com/gpu=0`.
    #[serde(rename = "ID", deserialize_with = "null_default")]
    pub id: String,
}

/// A pool in `SystemInfo.DefaultAddressPools`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct NetworkAddressPool {
    /// Base network in CIDR form.
    #[serde(deserialize_with = "null_default")]
    pub base: String,
    /// Prefix length of the networks carved from it.
    #[serde(deserialize_with = "null_default")]
    pub size: i64,
}

/// A user-defined node resource (spec `GenericResources` item).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct GenericResource {
    /// A string resource, e.g. `GPU=UUID1`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub named_resource_spec: Option<NamedGenericResource>,
    /// An integer resource, e.g. `SSD=3`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub discrete_resource_spec: Option<DiscreteGenericResource>,
}

/// `GenericResource.NamedResourceSpec`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct NamedGenericResource {
    /// Resource kind.
    #[serde(skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    pub kind: String,
    /// Resource value.
    #[serde(skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    pub value: String,
}

/// `GenericResource.DiscreteResourceSpec`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct DiscreteGenericResource {
    /// Resource kind.
    #[serde(skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    pub kind: String,
    /// Resource amount.
    #[serde(skip_serializing_if = "is_default", deserialize_with = "null_default")]
    pub value: i64,
}

/// The response of `GET /system/df`.
///
/// A section is `null` when its object type was not requested with `type=`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct SystemDataUsageResponse {
    /// Total size of all image layers in bytes.
    #[serde(deserialize_with = "null_default")]
    pub layers_size: i64,
    /// Images, with `SharedSize` and `Containers` computed.
    pub images: Option<Vec<ImageSummary>>,
    /// Containers, with `SizeRw` and `SizeRootFs` computed.
    pub containers: Option<Vec<ContainerSummary>>,
    /// Volumes, with `UsageData` set.
    pub volumes: Option<Vec<Volume>>,
    /// Build cache records.
    pub build_cache: Option<Vec<BuildCache>>,
}

/// A build cache record in `SystemDataUsageResponse.BuildCache` (spec `BuildCache`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct BuildCache {
    /// Record ID.
    #[serde(rename = "ID", deserialize_with = "null_default")]
    pub id: String,
    /// Parent record IDs. dockerd's Go tag misspells the key as `" Parents"` (leading space);
    /// berth writes the spec's `Parents` and reads both.
    #[serde(alias = " Parents", skip_serializing_if = "Vec::is_empty", deserialize_with = "null_default")]
    pub parents: Vec<String>,
    /// Record type: `regular`, `exec.cachemount`, `source.local`, ...
    #[serde(deserialize_with = "null_default")]
    pub r#type: String,
    /// The build step that produced it.
    #[serde(deserialize_with = "null_default")]
    pub description: String,
    /// In use by a running build.
    #[serde(deserialize_with = "null_default")]
    pub in_use: bool,
    /// Shared with other records.
    #[serde(deserialize_with = "null_default")]
    pub shared: bool,
    /// Size in bytes.
    #[serde(deserialize_with = "null_default")]
    pub size: i64,
    /// Creation time, RFC 3339.
    #[serde(deserialize_with = "null_default")]
    pub created_at: String,
    /// Last use time, RFC 3339.
    pub last_used_at: Option<String>,
    /// Number of uses.
    #[serde(deserialize_with = "null_default")]
    pub usage_count: i64,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn info_default_has_what_docker_info_dereferences() {
        let v = serde_json::to_value(SystemInfo::default()).expect("encodes");
        assert_eq!(v["Swarm"]["LocalNodeState"], json!("inactive"));
        assert_eq!(v["Swarm"]["RemoteManagers"], json!(null));
        assert_eq!(v["RegistryConfig"], json!({"InsecureRegistryCIDRs": [], "IndexConfigs": {}, "Mirrors": []}));
        assert_eq!(v["Plugins"], json!({"Volume": [], "Network": [], "Authorization": [], "Log": []}));
        assert_eq!(v["ContainerdCommit"], json!({"ID": ""}));
        assert_eq!(v["DriverStatus"], json!([]));
        assert!(v.get("CgroupVersion").is_none());
        assert!(v.get("Containerd").is_none());
    }

    #[test]
    fn swarm_state_defaults_to_inactive_when_missing() {
        let info: SystemInfo = serde_json::from_str(r#"{"Swarm": {}}"#).expect("decodes");
        assert_eq!(info.swarm.local_node_state, "inactive");
        let info: SystemInfo = serde_json::from_str(r#"{"Swarm": null}"#).expect("decodes");
        assert_eq!(info.swarm.local_node_state, "inactive");
    }

    #[test]
    fn build_cache_parents_reads_dockerds_misspelt_key() {
        let rec: BuildCache = serde_json::from_str(r#"{"ID": "a", " Parents": ["b"]}"#).expect("decodes");
        assert_eq!(rec.parents, ["b"]);
        let v = serde_json::to_value(&rec).expect("encodes");
        assert_eq!(v["Parents"], json!(["b"]));
    }

    #[test]
    fn df_sections_not_requested_are_null() {
        let df = SystemDataUsageResponse { images: Some(vec![]), ..Default::default() };
        let v = serde_json::to_value(&df).expect("encodes");
        assert_eq!(v["Images"], json!([]));
        assert_eq!(v["Containers"], json!(null));
    }
}
