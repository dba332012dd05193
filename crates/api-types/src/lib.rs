//! Docker Engine API wire types, API v1.51 (moby v28.5.2). Pure serde data, no logic, but for
//! [`units`]: go-units' duration words that dockerd's `Status` strings and the CLI share.
//!
//! The daemon serialises these to the real `docker` CLI, docker-py and compose; berth's own
//! client deserialises them. The contract is the Engine API v1.51 Swagger spec (moby's
//! `api/swagger.yaml` at v28.5.2) plus what dockerd actually sends where the two differ, which
//! is noted on the field. `tests/spec.rs` checks every type against the spec.
//!
//! - [`container`]: create/inspect/list/wait/top/changes/update/prune bodies, [`container::HostConfig`]
//!   with its flattened [`container::Resources`], mounts and ports.
//! - [`exec`]: exec create/start/inspect bodies.
//! - [`stats`]: the `GET /containers/{id}/stats` sample.
//! - [`image`]: image list/inspect/history/delete/prune, OCI descriptors, and the JSON-lines
//!   progress stream ([`image::JsonMessage`]).
//! - [`network`], [`volume`]: networks, endpoints, IPAM and volumes.
//! - [`system`]: `/version`, `/info`, `/system/df`.
//! - [`events`]: the `/events` stream.
//! - [`units`]: go-units' `HumanDuration`.
//! - [`berth`]: berth's own extensions (`upgrade`, persistent layers).
//! - [`ErrorResponse`], [`IdResponse`], [`EmptyObject`]: shapes shared across endpoints.
//!
//! # How Go's `encoding/json` shapes map onto these types
//!
//! dockerd's JSON is produced by Go structs, so the mapping follows their rules:
//!
//! - Field names are spelled exactly as on the wire (`Id`, `ID`, `IPAddress`, `HostIp`,
//!   `CpuShares`, ...) via `rename_all`/`rename`; the mix is Docker's, not ours.
//! - Every struct is `#[serde(default)]`: a missing field takes its default, as in Go.
//! - Go decodes `null` into a scalar, slice or map as the zero value. Every non-`Option` field
//!   here does the same (`deserialize_with = "null_default"`), so `{"Env": null, "Tty": null}`
//!   decodes like `{}`.
//! - A Go slice/map/pointer that dockerd sends as `null` and where `null` means something
//!   different from empty (`Cmd`, `Entrypoint`, `MaskedPaths`, `ExitCode` of a running exec), or
//!   that echoes user input back in inspect output (`ContainerConfig`, `HostConfig`), is an
//!   `Option`: `None` is `null` on the wire. Other collections are plain `Vec`/`BTreeMap` that
//!   read `null` as empty and write `[]`/`{}`, which every client accepts.
//! - Go's `omitempty` becomes `skip_serializing_if` (empty string, `false`, `0`, empty
//!   collection, `None`).
//! - Maps are `BTreeMap` so output is deterministic. Integers follow the Go type (`int` is
//!   `i64`, `uint16` is `u16`, ...). Timestamps stay RFC 3339 strings, as sent.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

/// The Engine API version these types are (Docker Engine 28.3+), which the daemon serves and
/// berth's client asks for.
pub const API_VERSION: &str = "1.51";
/// Where berth's daemon listens unless told otherwise.
pub const DEFAULT_HOST: &str = "unix:///run/berth/berth.sock";

pub mod berth;
pub mod container;
pub mod events;
pub mod exec;
mod gojson;
pub mod image;
pub mod network;
pub mod stats;
pub mod system;
pub mod units;
pub mod volume;

use serde::de::{Deserializer, IgnoredAny};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};

use crate::gojson::null_default;

/// The body of every API error response: `{"message": "..."}`.
///
/// Returned with 4xx/5xx statuses by all endpoints.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ErrorResponse {
    /// The error message.
    #[serde(deserialize_with = "null_default")]
    pub message: String,
}

/// `{"Id": "..."}`: the response of `POST /containers/{id}/exec` and other endpoints that
/// return only an ID (Docker's `IDResponse`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct IdResponse {
    /// The ID of the newly created object.
    #[serde(deserialize_with = "null_default")]
    pub id: String,
}

/// The `{}` value of Docker's set-like maps (`ExposedPorts`, `Volumes`): Go's `struct{}`.
///
/// Always written as `{}`; any value (including `null` or a non-empty object) is accepted and
/// discarded when reading, as Go does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct EmptyObject;

impl Serialize for EmptyObject {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_map(Some(0))?.end()
    }
}

impl<'de> Deserialize<'de> for EmptyObject {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        IgnoredAny::deserialize(deserializer)?;
        Ok(EmptyObject)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn empty_object_is_braces_and_reads_anything() {
        let set = BTreeMap::from([("80/tcp".to_owned(), EmptyObject)]);
        assert_eq!(serde_json::to_string(&set).expect("encodes"), r#"{"80/tcp":{}}"#);
        let read: BTreeMap<String, EmptyObject> =
            serde_json::from_str(r#"{"a": {}, "b": null, "c": {"x": 1}}"#).expect("decodes");
        assert_eq!(read.len(), 3);
    }
}
