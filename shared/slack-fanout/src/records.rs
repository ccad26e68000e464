//! What the fan-out remembers in the state table between invocations.

use serde::{Deserialize, Serialize};

/// `delivery#<alert id>#<destination>`: the idempotency record of one delivery.
pub fn delivery_key(alert_id: &str, destination: &str) -> String {
    format!("delivery#{alert_id}#{destination}")
}

/// `thread#<destination>#<thread key>`: where a bot-mode thread lives.
pub fn thread_key(destination: &str, thread: &str) -> String {
    format!("thread#{destination}#{thread}")
}

/// The life of a delivery record. `Pending` is a claim with a short expiry: a worker that dies
/// between claiming and posting frees the delivery when the claim expires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    Pending,
    Sent,
    /// Refused for good and parked in the dead-letter queue.
    Dead,
    /// Deliberately not sent (duplicate within the dedup window).
    Dropped,
}

impl DeliveryState {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Sent => "sent",
            DeliveryState::Dead => "dead",
            DeliveryState::Dropped => "dropped",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "pending" => Some(DeliveryState::Pending),
            "sent" => Some(DeliveryState::Sent),
            "dead" => Some(DeliveryState::Dead),
            "dropped" => Some(DeliveryState::Dropped),
            _ => None,
        }
    }
}

/// A bot-mode thread: the parent message, updated to the latest status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThreadRecord {
    pub channel_id: String,
    pub ts: String,
}

/// `dedup#<routing's dedup key>`: the last delivery of a fingerprint to a destination.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DedupRecord {
    pub status: String,
    /// Absent in records written before severities were remembered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<String>,
    /// Epoch seconds.
    pub sent_at: u64,
    /// The alert that claimed this record: its own retry is not a duplicate of itself. Absent in
    /// records written before claims were conditional.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert_id: Option<String>,
}

impl DedupRecord {
    pub fn to_previous(&self) -> Option<fleetwatch_routing::PreviousDelivery> {
        Some(fleetwatch_routing::PreviousDelivery {
            status: fleetwatch_alerts::Status::parse(&self.status)?,
            severity: self
                .severity
                .as_deref()
                .and_then(fleetwatch_alerts::Severity::parse),
            sent_at: fleetwatch_routing::Timestamp::from_second(i64::try_from(self.sent_at).ok()?)
                .ok()?,
        })
    }
}
