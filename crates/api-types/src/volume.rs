//! Volume endpoints: `/volumes`, `/volumes/create`, `/volumes/{name}`, `/volumes/prune`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::gojson::null_default;

/// A volume (spec `Volume`): the response of `GET /volumes/{name}` and `POST /volumes/create`,
/// and an item of `GET /volumes` and `GET /system/df`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct Volume {
    /// Volume name.
    #[serde(deserialize_with = "null_default")]
    pub name: String,
    /// Volume driver.
    #[serde(deserialize_with = "null_default")]
    pub driver: String,
    /// Host path of the volume's data.
    #[serde(deserialize_with = "null_default")]
    pub mountpoint: String,
    /// Creation time, RFC 3339.
    #[serde(skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    pub created_at: String,
    /// Driver-provided status details; omitted if the driver has none.
    #[serde(skip_serializing_if = "BTreeMap::is_empty", deserialize_with = "null_default")]
    pub status: BTreeMap<String, serde_json::Value>,
    /// User labels; dockerd sends `null` when there are none.
    pub labels: Option<BTreeMap<String, String>>,
    /// `local` or `global`.
    #[serde(deserialize_with = "null_default")]
    pub scope: String,
    /// Swarm cluster volume details; kept as raw JSON, berth has no swarm mode.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster_volume: Option<serde_json::Value>,
    /// Driver options given at creation; dockerd sends `null` when there are none.
    pub options: Option<BTreeMap<String, String>>,
    /// Disk usage, only in `GET /system/df`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage_data: Option<VolumeUsageData>,
}

/// `Volume.UsageData`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct VolumeUsageData {
    /// Bytes used; -1 if not available.
    #[serde(deserialize_with = "null_default")]
    pub size: i64,
    /// Containers referencing the volume; -1 if not available.
    #[serde(deserialize_with = "null_default")]
    pub ref_count: i64,
}

/// The body of `POST /volumes/create` (spec `VolumeCreateOptions`). Empty fields are omitted.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct VolumeCreateOptions {
    /// Volume name; empty means generate one.
    #[serde(skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    pub name: String,
    /// Driver; empty means `local`.
    #[serde(skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    pub driver: String,
    /// Driver options (`type`, `device`, `o` for `local`).
    #[serde(skip_serializing_if = "BTreeMap::is_empty", deserialize_with = "null_default")]
    pub driver_opts: BTreeMap<String, String>,
    /// User labels.
    #[serde(skip_serializing_if = "BTreeMap::is_empty", deserialize_with = "null_default")]
    pub labels: BTreeMap<String, String>,
    /// Swarm cluster volume spec; kept as raw JSON, berth has no swarm mode.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster_volume_spec: Option<serde_json::Value>,
}

/// The response of `GET /volumes` (spec `VolumeListResponse`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct VolumeListResponse {
    /// Volumes.
    #[serde(deserialize_with = "null_default")]
    pub volumes: Vec<Volume>,
    /// Warnings, e.g. from unreachable volume drivers.
    #[serde(deserialize_with = "null_default")]
    pub warnings: Vec<String>,
}

/// The response of `POST /volumes/prune`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct VolumePruneResponse {
    /// Names of the removed volumes.
    #[serde(deserialize_with = "null_default")]
    pub volumes_deleted: Vec<String>,
    /// Bytes freed.
    #[serde(deserialize_with = "null_default")]
    pub space_reclaimed: u64,
}
