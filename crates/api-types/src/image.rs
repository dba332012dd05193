//! Image endpoints (`/images/json`, `/images/{name}/json`, `history`, delete, `/images/prune`),
//! OCI descriptors, and the JSON-lines progress stream of pull/push/load/build.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::EmptyObject;
use crate::container::{DriverData, HealthConfig};
use crate::gojson::{is_default, is_none_or_empty, null_default};

/// An item of `GET /images/json` (spec `ImageSummary`); also used by `GET /system/df`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct ImageSummary {
    /// Image ID: the digest of the image config.
    #[serde(deserialize_with = "null_default")]
    pub id: String,
    /// Parent image ID; empty for pulled images.
    #[serde(deserialize_with = "null_default")]
    pub parent_id: String,
    /// Tags referencing the image; always an array.
    #[serde(deserialize_with = "null_default")]
    pub repo_tags: Vec<String>,
    /// Manifest digests (`repo@sha256:...`) referencing the image; always an array.
    #[serde(deserialize_with = "null_default")]
    pub repo_digests: Vec<String>,
    /// Creation time, Unix seconds.
    #[serde(deserialize_with = "null_default")]
    pub created: i64,
    /// Total size of all layers in bytes.
    #[serde(deserialize_with = "null_default")]
    pub size: i64,
    /// Size shared with other images; -1 when not computed.
    #[serde(deserialize_with = "null_default")]
    pub shared_size: i64,
    /// Same as `Size`; removed in API v1.44 and only sent to older clients.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub virtual_size: Option<i64>,
    /// Image labels; always an object.
    #[serde(deserialize_with = "null_default")]
    pub labels: BTreeMap<String, String>,
    /// Containers using the image; -1 when not computed.
    #[serde(deserialize_with = "null_default")]
    pub containers: i64,
    /// Platform manifests, only with `manifests=true` on a multi-platform store.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manifests: Option<Vec<ImageManifestSummary>>,
    /// Descriptor of the image index or manifest, only on a multi-platform store.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub descriptor: Option<OciDescriptor>,
}

/// The response of `GET /images/{name}/json` (spec `ImageInspect`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct ImageInspect {
    /// Image ID: the digest of the image config.
    #[serde(deserialize_with = "null_default")]
    pub id: String,
    /// Descriptor of the image index or manifest, only on a multi-platform store.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub descriptor: Option<OciDescriptor>,
    /// Platform manifests, only with `manifests=true` on a multi-platform store.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manifests: Option<Vec<ImageManifestSummary>>,
    /// Tags referencing the image; always an array.
    #[serde(deserialize_with = "null_default")]
    pub repo_tags: Vec<String>,
    /// Manifest digests referencing the image; always an array.
    #[serde(deserialize_with = "null_default")]
    pub repo_digests: Vec<String>,
    /// Parent image ID (legacy builder only).
    #[serde(deserialize_with = "null_default")]
    pub parent: String,
    /// Commit or import message.
    #[serde(deserialize_with = "null_default")]
    pub comment: String,
    /// Creation time, RFC 3339 with nanoseconds; omitted if the image has none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// Docker version that built the image (legacy builder only).
    #[serde(deserialize_with = "null_default")]
    pub docker_version: String,
    /// Author.
    #[serde(deserialize_with = "null_default")]
    pub author: String,
    /// Default container configuration from the image.
    pub config: Option<ImageConfig>,
    /// CPU architecture, e.g. `amd64`.
    #[serde(deserialize_with = "null_default")]
    pub architecture: String,
    /// CPU variant, e.g. `v7`.
    #[serde(skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    pub variant: String,
    /// Operating system, e.g. `linux`.
    #[serde(deserialize_with = "null_default")]
    pub os: String,
    /// Operating system version (Windows).
    #[serde(skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    pub os_version: String,
    /// Total size of all layers in bytes.
    #[serde(deserialize_with = "null_default")]
    pub size: i64,
    /// Same as `Size`; removed in API v1.44 and only sent to older clients.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub virtual_size: Option<i64>,
    /// Storage driver data.
    #[serde(deserialize_with = "null_default")]
    pub graph_driver: DriverData,
    /// Layer diff IDs.
    #[serde(rename = "RootFS", deserialize_with = "null_default")]
    pub root_fs: RootFs,
    /// Daemon-local metadata.
    #[serde(deserialize_with = "null_default")]
    pub metadata: ImageMetadata,
}

/// The image's default container configuration (spec `ImageConfig`), `ImageInspect.Config`.
///
/// A subset of [`ContainerConfig`](crate::container::ContainerConfig) since API v1.50.
/// dockerd always sends `Cmd`, `Entrypoint`, `Env`, `Labels`, `OnBuild`, `Volumes` (`null` when
/// unset), `User` and `WorkingDir`, and omits the other fields when empty.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct ImageConfig {
    /// `user[:group]` commands run as.
    #[serde(deserialize_with = "null_default")]
    pub user: String,
    /// Exposed ports as a set: `{"80/tcp": {}}`.
    #[serde(skip_serializing_if = "BTreeMap::is_empty", deserialize_with = "null_default")]
    pub exposed_ports: BTreeMap<String, EmptyObject>,
    /// Environment, `VAR=value`.
    pub env: Option<Vec<String>>,
    /// Default command.
    pub cmd: Option<Vec<String>>,
    /// Health check.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub healthcheck: Option<HealthConfig>,
    /// Command is already escaped (Windows only).
    #[serde(skip_serializing_if = "is_default", deserialize_with = "null_default")]
    pub args_escaped: bool,
    /// Volumes as a set: `{"/data": {}}`.
    pub volumes: Option<BTreeMap<String, EmptyObject>>,
    /// Working directory.
    #[serde(deserialize_with = "null_default")]
    pub working_dir: String,
    /// Entrypoint.
    pub entrypoint: Option<Vec<String>>,
    /// `ONBUILD` triggers.
    pub on_build: Option<Vec<String>>,
    /// Image labels.
    pub labels: Option<BTreeMap<String, String>>,
    /// Stop signal.
    #[serde(skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    pub stop_signal: String,
    /// Shell for the shell form of `RUN`, `CMD` and `ENTRYPOINT`.
    #[serde(skip_serializing_if = "is_none_or_empty")]
    pub shell: Option<Vec<String>>,
}

/// `ImageInspect.RootFS`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct RootFs {
    /// Always `layers`.
    #[serde(skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    pub r#type: String,
    /// Layer diff IDs, bottom first.
    #[serde(skip_serializing_if = "Vec::is_empty", deserialize_with = "null_default")]
    pub layers: Vec<String>,
}

/// `ImageInspect.Metadata`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct ImageMetadata {
    /// When the image was last tagged locally, RFC 3339. dockerd sends `0001-01-01T00:00:00Z`
    /// for never; berth may omit it instead.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_tag_time: Option<String>,
}

/// An item of `GET /images/{name}/history` (spec `HistoryResponseItem`), newest layer first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct HistoryResponseItem {
    /// Image ID for the top entry of each local image, `<missing>` otherwise.
    #[serde(deserialize_with = "null_default")]
    pub id: String,
    /// Creation time, Unix seconds.
    #[serde(deserialize_with = "null_default")]
    pub created: i64,
    /// The instruction that created the layer.
    #[serde(deserialize_with = "null_default")]
    pub created_by: String,
    /// Tags of the image with this ID.
    #[serde(deserialize_with = "null_default")]
    pub tags: Vec<String>,
    /// Layer size in bytes; 0 for empty layers.
    #[serde(deserialize_with = "null_default")]
    pub size: i64,
    /// Comment.
    #[serde(deserialize_with = "null_default")]
    pub comment: String,
}

/// An item of `DELETE /images/{name}` and of `ImagesDeleted` in `POST /images/prune`: exactly
/// one of the two fields is set.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct ImageDeleteResponseItem {
    /// A reference that was removed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub untagged: Option<String>,
    /// An image ID that was deleted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deleted: Option<String>,
}

/// The response of `POST /images/prune`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct ImagePruneResponse {
    /// Untagged references and deleted images.
    #[serde(deserialize_with = "null_default")]
    pub images_deleted: Vec<ImageDeleteResponseItem>,
    /// Bytes freed.
    #[serde(deserialize_with = "null_default")]
    pub space_reclaimed: u64,
}

/// An OCI content descriptor (spec `OCIDescriptor`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct OciDescriptor {
    /// Media type of the referenced content.
    #[serde(deserialize_with = "null_default")]
    pub media_type: String,
    /// Digest of the referenced content.
    #[serde(deserialize_with = "null_default")]
    pub digest: String,
    /// Size in bytes.
    #[serde(deserialize_with = "null_default")]
    pub size: i64,
    /// Download URLs.
    #[serde(skip_serializing_if = "Vec::is_empty", deserialize_with = "null_default")]
    pub urls: Vec<String>,
    /// Annotations.
    #[serde(skip_serializing_if = "BTreeMap::is_empty", deserialize_with = "null_default")]
    pub annotations: BTreeMap<String, String>,
    /// Embedded content, base64.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
    /// Platform of a manifest referenced from an index.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform: Option<OciPlatform>,
    /// Artifact media type.
    #[serde(skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    pub artifact_type: String,
}

/// An OCI platform (spec `OCIPlatform`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct OciPlatform {
    /// CPU architecture, e.g. `amd64`.
    #[serde(deserialize_with = "null_default")]
    pub architecture: String,
    /// Operating system, e.g. `linux`.
    #[serde(deserialize_with = "null_default")]
    pub os: String,
    /// Operating system version.
    #[serde(rename = "os.version", skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    pub os_version: String,
    /// Required OS features.
    #[serde(rename = "os.features", skip_serializing_if = "Vec::is_empty", deserialize_with = "null_default")]
    pub os_features: Vec<String>,
    /// CPU variant, e.g. `v8`.
    #[serde(skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    pub variant: String,
}

/// A platform manifest of an image (spec `ImageManifestSummary`), experimental.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct ImageManifestSummary {
    /// Manifest digest.
    #[serde(rename = "ID", deserialize_with = "null_default")]
    pub id: String,
    /// Manifest descriptor.
    #[serde(deserialize_with = "null_default")]
    pub descriptor: OciDescriptor,
    /// Whether all config and layers are present locally.
    #[serde(deserialize_with = "null_default")]
    pub available: bool,
    /// Local sizes.
    #[serde(deserialize_with = "null_default")]
    pub size: ManifestSize,
    /// `image`, `attestation` or `unknown`.
    #[serde(deserialize_with = "null_default")]
    pub kind: String,
    /// Set when `Kind` is `image`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_data: Option<ManifestImageData>,
    /// Set when `Kind` is `attestation`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attestation_data: Option<ManifestAttestationData>,
}

/// `ImageManifestSummary.Size`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct ManifestSize {
    /// Content plus unpacked size in bytes.
    #[serde(deserialize_with = "null_default")]
    pub total: i64,
    /// Size of the blobs in the content store.
    #[serde(deserialize_with = "null_default")]
    pub content: i64,
}

/// `ImageManifestSummary.ImageData`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct ManifestImageData {
    /// Platform of the manifest.
    #[serde(deserialize_with = "null_default")]
    pub platform: OciPlatform,
    /// IDs of containers using this manifest.
    #[serde(deserialize_with = "null_default")]
    pub containers: Vec<String>,
    /// Unpacked size.
    #[serde(deserialize_with = "null_default")]
    pub size: ManifestUnpackedSize,
}

/// `ImageManifestSummary.ImageData.Size`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct ManifestUnpackedSize {
    /// Size of the unpacked snapshot in bytes.
    #[serde(deserialize_with = "null_default")]
    pub unpacked: i64,
}

/// `ImageManifestSummary.AttestationData`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct ManifestAttestationData {
    /// Digest of the image manifest this attestation is for.
    #[serde(deserialize_with = "null_default")]
    pub r#for: String,
}

/// One line of the JSON-lines progress stream of `POST /images/create`, `/images/{name}/push`,
/// `/images/load` and `/build` (Go's `jsonmessage.JSONMessage`).
///
/// Every field is optional and omitted when `None`. A failure mid-stream is reported with
/// `errorDetail` (and the legacy `error`) while the HTTP status stays 200.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct JsonMessage {
    /// Build output text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream: Option<String>,
    /// Status text, e.g. `Pulling fs layer`, `Downloading`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Pre-rendered progress bar (deprecated; clients render `progressDetail`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub progress: Option<String>,
    /// Progress counters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub progress_detail: Option<ProgressDetail>,
    /// ID the line is about: a short layer ID, or a tag.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Error text (deprecated duplicate of `errorDetail.message`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The error that ended the operation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_detail: Option<ErrorDetail>,
    /// Auxiliary data, e.g. `{"ID": "sha256:..."}` after a build or `{"Tag", "Digest", "Size"}`
    /// after a push.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aux: Option<serde_json::Value>,
}

/// `JsonMessage.progressDetail` (spec `ProgressDetail`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ProgressDetail {
    /// Units done.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current: Option<i64>,
    /// Units in total.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total: Option<i64>,
    /// Start time, Unix seconds (used for the ETA).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start: Option<i64>,
    /// Show only the bar, without counts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hidecounts: Option<bool>,
    /// Unit name; empty means bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub units: Option<String>,
}

/// `JsonMessage.errorDetail` (spec `ErrorDetail`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ErrorDetail {
    /// Error code (rarely set).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<i64>,
    /// Error message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn delete_item_has_exactly_the_set_field() {
        let item = ImageDeleteResponseItem { untagged: Some("busybox:latest".to_owned()), deleted: None };
        assert_eq!(serde_json::to_value(&item).expect("encodes"), json!({"Untagged": "busybox:latest"}));
    }

    #[test]
    fn json_message_omits_unset_fields() {
        assert_eq!(serde_json::to_value(JsonMessage::default()).expect("encodes"), json!({}));
        let msg = JsonMessage {
            status: Some("Downloading".to_owned()),
            id: Some("a46fbb00284b".to_owned()),
            progress_detail: Some(ProgressDetail { current: Some(1), total: Some(2), ..Default::default() }),
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_value(&msg).expect("encodes"),
            json!({"status": "Downloading", "id": "a46fbb00284b", "progressDetail": {"current": 1, "total": 2}})
        );
    }

    #[test]
    fn image_config_always_sends_legacy_fields() {
        let v = serde_json::to_value(ImageConfig::default()).expect("encodes");
        assert_eq!(
            v,
            json!({
                "User": "", "Env": null, "Cmd": null, "Volumes": null, "WorkingDir": "",
                "Entrypoint": null, "OnBuild": null, "Labels": null
            })
        );
    }
}
