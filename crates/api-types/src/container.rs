//! Container endpoints: `/containers/create`, `/containers/json`, `/containers/{id}/json`,
//! `wait`, `top`, `changes`, `update`, `archive` and `/containers/prune`.

mod host;
mod inspect;
mod mount;

use std::collections::BTreeMap;

use serde::de::{self, Deserializer};
use serde::ser::Serializer;
use serde::{Deserialize, Serialize};

pub use self::host::{
    DeviceMapping, DeviceRequest, HostConfig, LogConfig, Resources, RestartPolicy, Supervise, ThrottleDevice, Ulimit,
    WeightDevice,
};
pub use self::inspect::{
    Address, ContainerInspectResponse, ContainerState, DriverData, Health, HealthcheckResult, NetworkSettings,
};
pub use self::mount::{BindOptions, ImageOptions, Mount, MountDriver, MountPoint, TmpfsOptions, VolumeOptions};
use crate::EmptyObject;
use crate::gojson::{is_default, is_none_or_empty, null_default, str_slice};
use crate::image::OciDescriptor;
use crate::network::{EndpointSettings, NetworkingConfig};

/// Container port (`"80/tcp"`) to host bindings; `null` means exposed but not published.
///
/// Used by `HostConfig.PortBindings` and `NetworkSettings.Ports`.
pub type PortMap = BTreeMap<String, Option<Vec<PortBinding>>>;

/// Configuration of a container that is portable between hosts (spec `ContainerConfig`).
///
/// The body of `POST /containers/create` (flattened, see [`ContainerCreateRequest`]) and the
/// `Config` of `GET /containers/{id}/json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct ContainerConfig {
    /// Container hostname.
    #[serde(deserialize_with = "null_default")]
    pub hostname: String,
    /// Container domain name.
    #[serde(deserialize_with = "null_default")]
    pub domainname: String,
    /// `user[:group]` (names or IDs) to run as; empty means the image's user.
    #[serde(deserialize_with = "null_default")]
    pub user: String,
    /// Attach stdin.
    #[serde(deserialize_with = "null_default")]
    pub attach_stdin: bool,
    /// Attach stdout.
    #[serde(deserialize_with = "null_default")]
    pub attach_stdout: bool,
    /// Attach stderr.
    #[serde(deserialize_with = "null_default")]
    pub attach_stderr: bool,
    /// Exposed ports as a set: `{"80/tcp": {}}`.
    #[serde(skip_serializing_if = "BTreeMap::is_empty", deserialize_with = "null_default")]
    pub exposed_ports: BTreeMap<String, EmptyObject>,
    /// Allocate a pseudo-TTY.
    #[serde(deserialize_with = "null_default")]
    pub tty: bool,
    /// Keep stdin open.
    #[serde(deserialize_with = "null_default")]
    pub open_stdin: bool,
    /// Close stdin after the first attached client disconnects.
    #[serde(deserialize_with = "null_default")]
    pub stdin_once: bool,
    /// Environment, `VAR=value`; a bare `VAR` removes the variable.
    pub env: Option<Vec<String>>,
    /// Command; `None` means the image's. A JSON string is accepted as a one-element command.
    #[serde(deserialize_with = "str_slice")]
    pub cmd: Option<Vec<String>>,
    /// Health check; `None` inherits the image's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub healthcheck: Option<HealthConfig>,
    /// Command is already escaped (Windows only).
    #[serde(skip_serializing_if = "is_default", deserialize_with = "null_default")]
    pub args_escaped: bool,
    /// Image reference as given by the user.
    #[serde(deserialize_with = "null_default")]
    pub image: String,
    /// Anonymous volumes as a set: `{"/data": {}}`.
    pub volumes: Option<BTreeMap<String, EmptyObject>>,
    /// Working directory.
    #[serde(deserialize_with = "null_default")]
    pub working_dir: String,
    /// Entrypoint; `None` means the image's, `Some([""])` resets it. A string is accepted.
    #[serde(deserialize_with = "str_slice")]
    pub entrypoint: Option<Vec<String>>,
    /// Disable networking.
    #[serde(skip_serializing_if = "is_default", deserialize_with = "null_default")]
    pub network_disabled: bool,
    /// MAC address (deprecated since API v1.44; use `EndpointSettings.MacAddress`).
    #[serde(skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    pub mac_address: String,
    /// `ONBUILD` triggers from the image.
    pub on_build: Option<Vec<String>>,
    /// User labels.
    pub labels: Option<BTreeMap<String, String>>,
    /// Stop signal, a name (`SIGTERM`) or number.
    #[serde(skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    pub stop_signal: String,
    /// Seconds to wait before killing on stop; `None` is the daemon default (10).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_timeout: Option<i64>,
    /// Shell for the shell form of `RUN`, `CMD` and `ENTRYPOINT`.
    #[serde(skip_serializing_if = "is_none_or_empty", deserialize_with = "str_slice")]
    pub shell: Option<Vec<String>>,
}

/// A health check (spec `HealthConfig`), in `ContainerConfig.Healthcheck` and `ImageConfig.Healthcheck`.
///
/// Durations are nanoseconds; 0 means inherit. Every field is omitted when empty.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct HealthConfig {
    /// `[]` inherit, `["NONE"]` disable, `["CMD", args...]` or `["CMD-SHELL", command]`.
    #[serde(skip_serializing_if = "Vec::is_empty", deserialize_with = "null_default")]
    pub test: Vec<String>,
    /// Time between checks.
    #[serde(skip_serializing_if = "is_default", deserialize_with = "null_default")]
    pub interval: i64,
    /// Time before a check is considered hung.
    #[serde(skip_serializing_if = "is_default", deserialize_with = "null_default")]
    pub timeout: i64,
    /// Start period during which failures don't count.
    #[serde(skip_serializing_if = "is_default", deserialize_with = "null_default")]
    pub start_period: i64,
    /// Time between checks during the start period.
    #[serde(skip_serializing_if = "is_default", deserialize_with = "null_default")]
    pub start_interval: i64,
    /// Consecutive failures before unhealthy.
    #[serde(skip_serializing_if = "is_default", deserialize_with = "null_default")]
    pub retries: i64,
}

/// The body of `POST /containers/create`: a [`ContainerConfig`] with `HostConfig` and
/// `NetworkingConfig` members added at the same level.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct ContainerCreateRequest {
    /// The portable configuration, inline on the wire.
    #[serde(flatten)]
    pub config: ContainerConfig,
    /// Host-specific configuration.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host_config: Option<HostConfig>,
    /// Per-network endpoint configuration.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub networking_config: Option<NetworkingConfig>,
}

/// The response of `POST /containers/create` (201).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct ContainerCreateResponse {
    /// ID of the created container.
    #[serde(deserialize_with = "null_default")]
    pub id: String,
    /// Warnings; always an array, `[]` when there are none.
    #[serde(deserialize_with = "null_default")]
    pub warnings: Vec<String>,
}

/// An item of `GET /containers/json` (spec `ContainerSummary`); also used by `GET /system/df`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct ContainerSummary {
    /// Full container ID.
    #[serde(deserialize_with = "null_default")]
    pub id: String,
    /// Names, each with a leading `/`.
    #[serde(deserialize_with = "null_default")]
    pub names: Vec<String>,
    /// Image reference as given at create time (or the image ID if it was untagged since).
    #[serde(deserialize_with = "null_default")]
    pub image: String,
    /// Image ID (digest).
    #[serde(rename = "ImageID", deserialize_with = "null_default")]
    pub image_id: String,
    /// Descriptor of the platform manifest the container was created from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_manifest_descriptor: Option<OciDescriptor>,
    /// Command line, shell-quoted and joined.
    #[serde(deserialize_with = "null_default")]
    pub command: String,
    /// Creation time, Unix seconds.
    #[serde(deserialize_with = "null_default")]
    pub created: i64,
    /// Published and exposed ports; always an array.
    #[serde(deserialize_with = "null_default")]
    pub ports: Vec<Port>,
    /// Size of the writable layer; only with `size=true`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size_rw: Option<i64>,
    /// Size of the image layers; only with `size=true`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size_root_fs: Option<i64>,
    /// User labels; always an object.
    #[serde(deserialize_with = "null_default")]
    pub labels: BTreeMap<String, String>,
    /// `created`, `running`, `paused`, `restarting`, `exited`, `removing` or `dead`.
    #[serde(deserialize_with = "null_default")]
    pub state: String,
    /// Human-readable status, e.g. `Up 4 days`, `Exited (0) 2 minutes ago`.
    #[serde(deserialize_with = "null_default")]
    pub status: String,
    /// The part of `HostConfig` shown in lists.
    #[serde(deserialize_with = "null_default")]
    pub host_config: ContainerSummaryHostConfig,
    /// The part of `NetworkSettings` shown in lists.
    #[serde(deserialize_with = "null_default")]
    pub network_settings: ContainerSummaryNetworkSettings,
    /// Mounts; always an array.
    #[serde(deserialize_with = "null_default")]
    pub mounts: Vec<MountPoint>,
}

/// `ContainerSummary.HostConfig`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct ContainerSummaryHostConfig {
    /// Network mode, or the name of the primary network.
    #[serde(skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    pub network_mode: String,
    /// Container annotations.
    #[serde(skip_serializing_if = "BTreeMap::is_empty", deserialize_with = "null_default")]
    pub annotations: BTreeMap<String, String>,
}

/// `ContainerSummary.NetworkSettings`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct ContainerSummaryNetworkSettings {
    /// Endpoint settings per attached network name.
    #[serde(deserialize_with = "null_default")]
    pub networks: BTreeMap<String, EndpointSettings>,
}

/// A port of a listed container (spec `Port`), in `ContainerSummary.Ports`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct Port {
    /// Host IP the port is published on; omitted for unpublished ports.
    #[serde(rename = "IP", skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    pub ip: String,
    /// Port in the container.
    #[serde(deserialize_with = "null_default")]
    pub private_port: u16,
    /// Port on the host; omitted (0) when not published.
    #[serde(skip_serializing_if = "is_default", deserialize_with = "null_default")]
    pub public_port: u16,
    /// `tcp`, `udp` or `sctp`.
    #[serde(deserialize_with = "null_default")]
    pub r#type: String,
}

/// A host binding of a container port (spec `PortBinding`), in a [`PortMap`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct PortBinding {
    /// Host IP; empty means all addresses.
    #[serde(deserialize_with = "null_default")]
    pub host_ip: String,
    /// Host port as a string (a number or a range); empty means ephemeral.
    #[serde(deserialize_with = "null_default")]
    pub host_port: String,
}

/// The response of `POST /containers/{id}/wait`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct ContainerWaitResponse {
    /// Exit code of the container.
    #[serde(deserialize_with = "null_default")]
    pub status_code: i64,
    /// Set if waiting failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ContainerWaitExitError>,
}

/// `ContainerWaitResponse.Error`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct ContainerWaitExitError {
    /// Details of the error.
    #[serde(skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    pub message: String,
}

/// The response of `GET /containers/{id}/top`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct ContainerTopResponse {
    /// `ps` column titles.
    #[serde(deserialize_with = "null_default")]
    pub titles: Vec<String>,
    /// One row per process, one value per title.
    #[serde(deserialize_with = "null_default")]
    pub processes: Vec<Vec<String>>,
}

/// An item of `GET /containers/{id}/changes`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct FilesystemChange {
    /// Path that changed.
    #[serde(deserialize_with = "null_default")]
    pub path: String,
    /// Kind of change, an integer on the wire.
    #[serde(deserialize_with = "null_default")]
    pub kind: ChangeKind,
}

/// `FilesystemChange.Kind` (spec `ChangeType`): `0`, `1` or `2` on the wire.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum ChangeKind {
    /// `0`, shown as `C`.
    #[default]
    Modified,
    /// `1`, shown as `A`.
    Added,
    /// `2`, shown as `D`.
    Deleted,
}

impl Serialize for ChangeKind {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let code: u8 = match self {
            ChangeKind::Modified => 0,
            ChangeKind::Added => 1,
            ChangeKind::Deleted => 2,
        };
        serializer.serialize_u8(code)
    }
}

impl<'de> Deserialize<'de> for ChangeKind {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match u8::deserialize(deserializer)? {
            0 => Ok(ChangeKind::Modified),
            1 => Ok(ChangeKind::Added),
            2 => Ok(ChangeKind::Deleted),
            other => Err(de::Error::invalid_value(
                de::Unexpected::Unsigned(other.into()),
                &"0 (modified), 1 (added) or 2 (deleted)",
            )),
        }
    }
}

/// The response of `POST /containers/prune`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct ContainerPruneResponse {
    /// IDs of the removed containers.
    #[serde(deserialize_with = "null_default")]
    pub containers_deleted: Vec<String>,
    /// Bytes freed.
    #[serde(deserialize_with = "null_default")]
    pub space_reclaimed: u64,
}

/// The body of `POST /containers/{id}/update`: [`Resources`] plus a restart policy.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct ContainerUpdateRequest {
    /// New resource limits, inline on the wire.
    #[serde(flatten)]
    pub resources: Resources,
    /// New restart policy; an empty `Name` leaves it unchanged.
    #[serde(deserialize_with = "null_default")]
    pub restart_policy: RestartPolicy,
}

/// The response of `POST /containers/{id}/update`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct ContainerUpdateResponse {
    /// Warnings.
    #[serde(deserialize_with = "null_default")]
    pub warnings: Vec<String>,
}

/// File information for `HEAD`/`GET /containers/{id}/archive`, sent base64-encoded in the
/// `X-Docker-Container-Path-Stat` header (Docker's `PathStat`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct PathStat {
    /// Base name of the path.
    #[serde(deserialize_with = "null_default")]
    pub name: String,
    /// Size in bytes.
    #[serde(deserialize_with = "null_default")]
    pub size: i64,
    /// A Go `os.FileMode`: permission bits plus Go's type bits (directory is `1 << 31`,
    /// symlink `1 << 27`), not the Unix `st_mode` layout.
    #[serde(deserialize_with = "null_default")]
    pub mode: u32,
    /// Modification time, RFC 3339 with nanoseconds.
    #[serde(deserialize_with = "null_default")]
    pub mtime: String,
    /// Symlink target, empty for other file types.
    #[serde(deserialize_with = "null_default")]
    pub link_target: String,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn summary_collections_are_never_null() {
        let v = serde_json::to_value(ContainerSummary::default()).expect("encodes");
        assert_eq!(v["Names"], json!([]));
        assert_eq!(v["Ports"], json!([]));
        assert_eq!(v["Labels"], json!({}));
        assert_eq!(v["Mounts"], json!([]));
        assert_eq!(v["HostConfig"], json!({}));
        assert_eq!(v["NetworkSettings"], json!({"Networks": {}}));
        assert!(v.get("SizeRw").is_none());
        assert!(v.get("ImageManifestDescriptor").is_none());
    }

    #[test]
    fn host_config_resources_are_inline() {
        let mut host = HostConfig::default();
        host.resources.memory = 1 << 30;
        host.resources.memory_swap = -1;
        host.resources.pids_limit = Some(100);
        let v = serde_json::to_value(&host).expect("encodes");
        assert_eq!(v["Memory"], json!(1 << 30));
        assert_eq!(v["MemorySwap"], json!(-1));
        assert_eq!(v["PidsLimit"], json!(100));
        assert_eq!(v["MemorySwappiness"], json!(null));
        assert_eq!(v["ConsoleSize"], json!([0, 0]));
        assert!(v.get("Resources").is_none());
        assert!(v.get("Init").is_none());
        assert!(v.get("KernelMemoryTCP").is_none());

        let back: HostConfig = serde_json::from_value(v).expect("decodes");
        assert_eq!(back, host);
    }

    #[test]
    fn create_request_config_is_inline() {
        let req: ContainerCreateRequest = serde_json::from_value(json!({
            "Image": "busybox",
            "Cmd": ["true"],
            "HostConfig": {"Memory": 1024, "Binds": ["/a:/b"]},
        }))
        .expect("decodes");
        assert_eq!(req.config.image, "busybox");
        let host = req.host_config.as_ref().expect("HostConfig");
        assert_eq!(host.resources.memory, 1024);
        assert_eq!(host.binds.as_deref(), Some(&["/a:/b".to_owned()][..]));
        assert_eq!(req.networking_config, None);

        let v = serde_json::to_value(&req).expect("encodes");
        assert_eq!(v["Image"], json!("busybox"));
        assert_eq!(v["Entrypoint"], json!(null));
        assert!(v.get("Config").is_none());
        assert!(v.get("NetworkingConfig").is_none());
    }

    #[test]
    fn change_kind_is_an_integer() {
        let change = FilesystemChange { path: "/tmp".to_owned(), kind: ChangeKind::Deleted };
        assert_eq!(serde_json::to_value(&change).expect("encodes"), json!({"Path": "/tmp", "Kind": 2}));
        assert!(serde_json::from_value::<FilesystemChange>(json!({"Path": "/", "Kind": 3})).is_err());
    }

    #[test]
    fn path_stat_header_json() {
        let stat: PathStat = serde_json::from_str(
            r#"{"name":"etc","size":4096,"mode":2147484141,"mtime":"2025-02-17T17:43:39Z","linkTarget":""}"#,
        )
        .expect("decodes");
        assert_eq!(stat.mode, (1 << 31) | 0o755);
        let v = serde_json::to_value(&stat).expect("encodes");
        assert_eq!(v["linkTarget"], json!(""));
        assert_eq!(v["name"], json!("etc"));
    }

    #[test]
    fn wait_response_omits_empty_error() {
        let ok = ContainerWaitResponse { status_code: 3, error: None };
        assert_eq!(serde_json::to_value(&ok).expect("encodes"), json!({"StatusCode": 3}));
    }
}
