//! berth's extensions to the Engine API (not in Docker's spec): `POST /containers/{id}/upgrade`
//! and the persistent writable layers of `run --persist` (`GET /persist`,
//! `DELETE /persist/{name}`).

use serde::{Deserialize, Serialize};

use crate::gojson::null_default;

/// The response of `POST /containers/{id}/upgrade?image=&prefer=`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct ContainerUpgradeResponse {
    /// The image ID before.
    #[serde(deserialize_with = "null_default")]
    pub old_image: String,
    /// The image ID now.
    #[serde(deserialize_with = "null_default")]
    pub new_image: String,
    /// Paths both the container and the new image changed, settled by `prefer`.
    #[serde(deserialize_with = "null_default")]
    pub collisions: Vec<String>,
    /// Whether the container ran and was started again.
    #[serde(deserialize_with = "null_default")]
    pub restarted: bool,
}

/// One kept writable layer in `GET /persist`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct PersistentLayer {
    /// The layer's name (the name of the container it was made for).
    #[serde(deserialize_with = "null_default")]
    pub name: String,
    /// The ID of the container using it, empty if none.
    #[serde(deserialize_with = "null_default")]
    pub container: String,
    /// Bytes of regular files in it.
    #[serde(deserialize_with = "null_default")]
    pub size: u64,
    /// Its directory on the daemon's host.
    #[serde(deserialize_with = "null_default")]
    pub path: String,
}
