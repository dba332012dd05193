//! berth's extensions to the Engine API (not in Docker's spec): `POST /containers/{id}/upgrade`
//! and the persistent writable layers of `run --persist` (`GET /persist`,
//! `DELETE /persist/{name}`), and the programs of a supervised container
//! (`GET /containers/{id}/supervisor`).

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

/// One program of a supervised container in `GET /containers/{id}/supervisor` (berth's
/// extension), as supervisorctl's `status` tells it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct SupervisedProgram {
    /// Program (process) name.
    #[serde(deserialize_with = "null_default")]
    pub name: String,
    /// supervisord's state: `STOPPED`, `STARTING`, `RUNNING`, `BACKOFF`, `STOPPING`, `EXITED`,
    /// `FATAL`.
    #[serde(deserialize_with = "null_default")]
    pub state: String,
    /// PID in the container, 0 when not running.
    #[serde(deserialize_with = "null_default")]
    pub pid: i32,
    /// Seconds since it started, 0 when not running.
    #[serde(deserialize_with = "null_default")]
    pub uptime: u64,
    /// What supervisorctl says besides the state (`exit status 3`, `Not started`, ...).
    #[serde(deserialize_with = "null_default")]
    pub description: String,
}
