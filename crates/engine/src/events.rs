//! Engine events (`docker events`): container and image lifecycle, broadcast to subscribers.

use std::collections::BTreeMap;

use tokio::sync::broadcast;

/// One event.
#[derive(Debug, Clone)]
pub struct Event {
    /// `container` or `image`.
    pub kind: &'static str,
    /// `create`, `start`, `die`, `destroy`, `pull`, `tag`, ...
    pub action: String,
    /// The object's ID.
    pub id: String,
    /// Attributes (`name`, `image`, `exitCode`, labels, ...).
    pub attributes: BTreeMap<String, String>,
    /// Nanoseconds since the epoch.
    pub time_ns: i64,
}

/// The event bus.
#[derive(Debug, Clone)]
pub struct Events {
    tx: broadcast::Sender<Event>,
}

impl Default for Events {
    fn default() -> Self {
        Self { tx: broadcast::channel(1024).0 }
    }
}

pub(crate) fn now_ns() -> i64 {
    chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0)
}

impl Events {
    /// Publishes an event (dropped when nobody listens).
    pub fn publish(&self, kind: &'static str, action: impl Into<String>, id: &str, attributes: BTreeMap<String, String>) {
        let _ = self.tx.send(Event { kind, action: action.into(), id: id.to_owned(), attributes, time_ns: now_ns() });
    }

    /// A new subscription.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.tx.subscribe()
    }
}
