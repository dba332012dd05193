//! `GET /events`: a stream of JSON objects, one per event.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::gojson::{is_default, null_default};

/// One event of `GET /events` (spec `EventMessage`, titled `SystemEventsResponse`).
///
/// `Type`, `Action` and `Actor` are PascalCase; `scope`, `time` and `timeNano` are camelCase.
/// dockerd also fills the deprecated `status`, `id` and `from` for container and image events
/// (`from` is the image, containers only); old docker-py versions still read them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct EventMessage {
    /// Deprecated copy of `Action` (container and image events).
    #[serde(skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    pub status: String,
    /// Deprecated copy of `Actor.ID` (container and image events).
    #[serde(skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    pub id: String,
    /// Deprecated copy of the `image` attribute (container events).
    #[serde(skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    pub from: String,
    /// Object type: `container`, `image`, `volume`, `network`, `daemon`, `plugin`, `builder`, ...
    #[serde(rename = "Type", deserialize_with = "null_default")]
    pub r#type: String,
    /// What happened: `create`, `start`, `die`, `exec_start: sh`, `health_status: healthy`, ...
    #[serde(rename = "Action", deserialize_with = "null_default")]
    pub action: String,
    /// The object the event is about.
    #[serde(rename = "Actor", deserialize_with = "null_default")]
    pub actor: EventActor,
    /// `local` for engine events, `swarm` for cluster events.
    #[serde(skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    pub scope: String,
    /// Unix seconds.
    #[serde(skip_serializing_if = "is_default", deserialize_with = "null_default")]
    pub time: i64,
    /// Unix nanoseconds.
    #[serde(rename = "timeNano", skip_serializing_if = "is_default", deserialize_with = "null_default")]
    pub time_nano: i64,
}

/// `EventMessage.Actor` (spec `EventActor`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct EventActor {
    /// ID of the object (container ID, image ID or reference, volume name, ...).
    #[serde(rename = "ID", deserialize_with = "null_default")]
    pub id: String,
    /// Attributes: container `name`, `image`, labels, `exitCode`, ...
    #[serde(deserialize_with = "null_default")]
    pub attributes: BTreeMap<String, String>,
}
