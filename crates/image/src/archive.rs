//! Wire types of image archives: OCI descriptors, manifests and indexes, the `oci-layout`
//! marker and Docker's `manifest.json` (the legacy `docker save` table of contents).
//!
//! Our own serde structs rather than `oci_spec::image::*`: those carry their own digest type
//! (any algorithm) and builders; here every digest is a verified sha256 [`oci::Digest`], unknown
//! fields are ignored on input, and output matches what `docker save` writes.

use std::collections::BTreeMap;

use oci::Digest;
use serde::{Deserialize, Serialize};

/// An OCI content descriptor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Descriptor {
    pub(crate) media_type: String,
    pub(crate) digest: Digest,
    pub(crate) size: u64,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty", deserialize_with = "null_map")]
    pub(crate) annotations: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) platform: Option<Platform>,
}

impl Descriptor {
    pub(crate) fn new(media_type: &str, digest: Digest, size: u64) -> Self {
        Self { media_type: media_type.to_owned(), digest, size, annotations: BTreeMap::new(), platform: None }
    }
}

fn null_map<'de, D: serde::Deserializer<'de>>(d: D) -> Result<BTreeMap<String, String>, D::Error> {
    Ok(Option::deserialize(d)?.unwrap_or_default())
}

/// A platform in an index entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Platform {
    #[serde(default)]
    pub(crate) architecture: String,
    #[serde(default)]
    pub(crate) os: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) variant: Option<String>,
}

/// An OCI image manifest (also reads Docker schema 2 manifests, which have the same shape).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Manifest {
    pub(crate) schema_version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) media_type: Option<String>,
    pub(crate) config: Descriptor,
    #[serde(deserialize_with = "null_vec")]
    pub(crate) layers: Vec<Descriptor>,
}

/// An OCI image index (or Docker manifest list).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Index {
    pub(crate) schema_version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) media_type: Option<String>,
    #[serde(default, deserialize_with = "null_vec")]
    pub(crate) manifests: Vec<Descriptor>,
}

fn null_vec<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Vec<T>, D::Error> {
    Ok(Option::deserialize(d)?.unwrap_or_default())
}

/// Any JSON document: just enough to tell a manifest from an index.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Sniff {
    #[serde(default)]
    pub(crate) media_type: Option<String>,
    /// Present (whatever it holds) in indexes; not parsed, so an index costs no memory here.
    #[serde(default)]
    pub(crate) manifests: Option<serde::de::IgnoredAny>,
}

/// An entry of Docker's `manifest.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct DockerManifest {
    #[serde(rename = "Config")]
    pub(crate) config: String,
    #[serde(rename = "RepoTags", default, deserialize_with = "null_vec")]
    pub(crate) repo_tags: Vec<String>,
    #[serde(rename = "Layers", default, deserialize_with = "null_vec")]
    pub(crate) layers: Vec<String>,
}

/// The content of `oci-layout`.
pub(crate) const OCI_LAYOUT: &str = r#"{"imageLayoutVersion":"1.0.0"}"#;

/// The archive path of a blob in an OCI layout.
pub(crate) fn blob_path(d: &Digest) -> String {
    format!("blobs/sha256/{}", d.hex())
}

/// The digest named by an OCI layout blob path (`blobs/sha256/<hex>`).
pub(crate) fn digest_of_path(path: &str) -> Option<Digest> {
    Digest::from_hex(path.strip_prefix("blobs/sha256/")?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        let d = Digest::of(b"x");
        assert_eq!(digest_of_path(&blob_path(&d)), Some(d));
        assert_eq!(digest_of_path("blobs/sha512/ab"), None);
    }

    #[test]
    fn parses_docker_manifest_json_with_nulls() {
        let m: Vec<DockerManifest> =
            serde_json::from_str(r#"[{"Config":"a.json","RepoTags":null,"Layers":["l/layer.tar"]}]"#).unwrap();
        assert!(m[0].repo_tags.is_empty());
        assert_eq!(m[0].layers, vec!["l/layer.tar".to_string()]);
    }
}
