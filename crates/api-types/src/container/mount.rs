//! Mount requests (`HostConfig.Mounts`) and the mount points reported by inspect and list.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::EmptyObject;
use crate::gojson::{is_default, null_default};

/// A mount requested with `--mount` (`HostConfig.Mounts`, spec `Mount`).
///
/// Every field is omitted when empty, as dockerd does.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct Mount {
    /// `bind`, `volume`, `image`, `tmpfs`, `npipe` or `cluster`.
    #[serde(skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    pub r#type: String,
    /// Mount source: a volume name, host path or image reference; empty for tmpfs.
    #[serde(skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    pub source: String,
    /// Container path.
    #[serde(skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    pub target: String,
    /// Mount read-only (recursively where possible).
    #[serde(skip_serializing_if = "is_default", deserialize_with = "null_default")]
    pub read_only: bool,
    /// `default`, `consistent`, `cached` or `delegated` (ignored on Linux).
    #[serde(skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    pub consistency: String,
    /// Options for `bind` mounts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bind_options: Option<BindOptions>,
    /// Options for `volume` mounts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub volume_options: Option<VolumeOptions>,
    /// Options for `image` mounts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_options: Option<ImageOptions>,
    /// Options for `tmpfs` mounts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tmpfs_options: Option<TmpfsOptions>,
    /// Options for Swarm `cluster` volumes (an empty object in API v1.51).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster_options: Option<EmptyObject>,
}

/// Options for a `bind` [`Mount`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct BindOptions {
    /// `private`, `rprivate`, `shared`, `rshared`, `slave` or `rslave`.
    #[serde(skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    pub propagation: String,
    /// Disable recursive bind mount.
    #[serde(skip_serializing_if = "is_default", deserialize_with = "null_default")]
    pub non_recursive: bool,
    /// Create the source path on the host if missing.
    #[serde(skip_serializing_if = "is_default", deserialize_with = "null_default")]
    pub create_mountpoint: bool,
    /// Make a read-only mount non-recursively read-only.
    #[serde(skip_serializing_if = "is_default", deserialize_with = "null_default")]
    pub read_only_non_recursive: bool,
    /// Fail if the mount cannot be made recursively read-only.
    #[serde(skip_serializing_if = "is_default", deserialize_with = "null_default")]
    pub read_only_force_recursive: bool,
}

/// Options for a `volume` [`Mount`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct VolumeOptions {
    /// Do not copy image data at the target into a new volume.
    #[serde(skip_serializing_if = "is_default", deserialize_with = "null_default")]
    pub no_copy: bool,
    /// Labels for a volume created by this mount.
    #[serde(skip_serializing_if = "BTreeMap::is_empty", deserialize_with = "null_default")]
    pub labels: BTreeMap<String, String>,
    /// Path inside the volume to mount instead of its root.
    #[serde(skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    pub subpath: String,
    /// Driver for a volume created by this mount.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub driver_config: Option<MountDriver>,
}

/// Volume driver name and options in [`VolumeOptions::driver_config`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct MountDriver {
    /// Volume driver name.
    #[serde(skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    pub name: String,
    /// Driver-specific options.
    #[serde(skip_serializing_if = "BTreeMap::is_empty", deserialize_with = "null_default")]
    pub options: BTreeMap<String, String>,
}

/// Options for an `image` [`Mount`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct ImageOptions {
    /// Path inside the image to mount instead of its root.
    #[serde(skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    pub subpath: String,
}

/// Options for a `tmpfs` [`Mount`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct TmpfsOptions {
    /// Size in bytes; 0 is unlimited.
    #[serde(skip_serializing_if = "is_default", deserialize_with = "null_default")]
    pub size_bytes: i64,
    /// Permission bits of the mount root, as a Go `os.FileMode` integer (e.g. `1023` for 01777).
    #[serde(skip_serializing_if = "is_default", deserialize_with = "null_default")]
    pub mode: u32,
    /// Extra mount options: `[["noexec"], ["uid", "1000"]]` (flag, or key and value).
    #[serde(skip_serializing_if = "Vec::is_empty", deserialize_with = "null_default")]
    pub options: Vec<Vec<String>>,
}

/// A mount point in use by a container (spec `MountPoint`), as reported in `Mounts` of
/// `GET /containers/{id}/json` and `GET /containers/json`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct MountPoint {
    /// `bind`, `volume`, `image`, `tmpfs`, `npipe` or `cluster`.
    #[serde(skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    pub r#type: String,
    /// Volume name, for volumes.
    #[serde(skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    pub name: String,
    /// Host path of the mount source (the volume's data directory for volumes).
    #[serde(deserialize_with = "null_default")]
    pub source: String,
    /// Path in the container.
    #[serde(deserialize_with = "null_default")]
    pub destination: String,
    /// Volume driver, for volumes.
    #[serde(skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    pub driver: String,
    /// Comma-separated options given by the user (`z`, `ro`, ...).
    #[serde(deserialize_with = "null_default")]
    pub mode: String,
    /// Whether the mount is writable.
    #[serde(rename = "RW", deserialize_with = "null_default")]
    pub rw: bool,
    /// Mount propagation (`rprivate`, ...), empty if not applicable.
    #[serde(deserialize_with = "null_default")]
    pub propagation: String,
}
