//! Engine events (`docker events`): container and image lifecycle, broadcast to subscribers.

use crate::Unpoison;
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

/// How many past events are kept for `events --since`.
const HISTORY: usize = 1024;

/// The event bus, with the recent past for `since` queries (as dockerd keeps its last events).
#[derive(Debug, Clone)]
pub struct Events {
    tx: broadcast::Sender<Event>,
    history: std::sync::Arc<std::sync::Mutex<std::collections::VecDeque<Event>>>,
}

impl Default for Events {
    fn default() -> Self {
        Self { tx: broadcast::channel(1024).0, history: Default::default() }
    }
}

pub(crate) fn now_ns() -> i64 {
    chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0)
}

impl Events {
    /// Publishes an event (dropped when nobody listens).
    pub fn publish(
        &self,
        kind: &'static str,
        action: impl Into<String>,
        id: &str,
        attributes: BTreeMap<String, String>,
    ) {
        let e = Event { kind, action: action.into(), id: id.to_owned(), attributes, time_ns: now_ns() };
        let mut h = self.history.lock().unpoisoned();
        if h.len() == HISTORY {
            h.pop_front();
        }
        h.push_back(e.clone());
        // Sent under the lock, so a subscriber sees each event once: in its history or live.
        let _ = self.tx.send(e);
    }

    /// A new subscription.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.tx.subscribe()
    }

    /// The kept events at or after `since_ns`, and a subscription to the ones after them.
    pub fn subscribe_since(&self, since_ns: i64) -> (Vec<Event>, broadcast::Receiver<Event>) {
        let h = self.history.lock().unpoisoned();
        let past = h.iter().filter(|e| e.time_ns >= since_ns).cloned().collect();
        (past, self.tx.subscribe())
    }
}
