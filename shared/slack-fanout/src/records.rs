//! What the fan-out remembers in the state table between invocations.
//!
//! Keys are `delivery#<alert id>#<destination>`, `thread#<destination>#<thread key>` and
//! `dedup#<routing's dedup key>`. Alert ids, thread keys and fingerprints come from producers
//! and webhooks and have no length limit, but DynamoDB's partition key does: 2,048 bytes, and a
//! longer one fails every read and write of that delivery. So:
//!
//! - a key of at most [`MAX_KEY_BYTES`] bytes is written exactly as before, so records written
//!   before this rule are still found;
//! - a longer key has its variable part (the alert id, thread key or dedup key) replaced by
//!   `fnv128:` and [`fleetwatch_alerts::stable_id`] of that part alone (32 hex digits):
//!   `delivery#fnv128:<32 hex digits>#ops`. The same part always hashes the
//!   same way, on every instance and release (`stable_id` is pinned by its tests).
//!
//! The `fnv128:` prefix keeps hashed parts apart from ordinary ids, which are never that
//! shape in practice. FNV is not a cryptographic hash: whoever could craft colliding ids can
//! already send any id they like, so a collision gives nothing new.

use fleetwatch_alerts::stable_id;
use serde::{Deserialize, Serialize};

/// The longest key written as is: half of DynamoDB's 2,048-byte partition key limit, leaving
/// room for longer destination names and prefixes.
pub const MAX_KEY_BYTES: usize = 1_024;

/// `delivery#<alert id>#<destination>`: the idempotency record of one delivery.
pub fn delivery_key(alert_id: &str, destination: &str) -> String {
    fitted(alert_id, |id| format!("delivery#{id}#{destination}"))
}

/// `thread#<destination>#<thread key>`: where a bot-mode thread lives.
pub fn thread_key(destination: &str, thread: &str) -> String {
    fitted(thread, |thread| format!("thread#{destination}#{thread}"))
}

/// `dedup#<routing's dedup key>`: the last delivery of a fingerprint to a destination (see
/// [`DedupRecord`]); `routing_key` is `fleetwatch_routing::dedup_key`'s.
pub fn dedup_key(routing_key: &str) -> String {
    fitted(routing_key, |key| format!("dedup#{key}"))
}

/// The key `build` makes of `part`, or of `part`'s hash when that key would be too long.
fn fitted(part: &str, build: impl Fn(&str) -> String) -> String {
    let key = build(part);
    if key.len() <= MAX_KEY_BYTES {
        key
    } else {
        build(&format!("fnv128:{}", stable_id(&[part])))
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use fleetwatch_alerts::stable_id;

    /// DynamoDB's limit for a partition key.
    const DYNAMODB_KEY_BYTES: usize = 2_048;

    #[test]
    fn short_ids_keep_todays_keys() {
        // Records written before hashing existed must still be found.
        assert_eq!(
            delivery_key("9f2c1d0e5b7a4c3e8d6f1a2b3c4d5e6f", "ops"),
            "delivery#9f2c1d0e5b7a4c3e8d6f1a2b3c4d5e6f#ops"
        );
        assert_eq!(thread_key("ops", "ecs-svc/123"), "thread#ops#ecs-svc/123");
    }

    #[test]
    fn ids_too_long_for_a_key_are_hashed() {
        let id = format!("alb-logs:{}", "p".repeat(3_000));
        let thread = "t".repeat(5_000);
        for key in [delivery_key(&id, "ops"), thread_key("ops", &thread)] {
            assert!(key.len() <= DYNAMODB_KEY_BYTES, "{} bytes", key.len());
        }
        assert_eq!(
            delivery_key(&id, "ops"),
            format!("delivery#fnv128:{}#ops", stable_id(&[&id]))
        );
        assert_eq!(
            thread_key("ops", &thread),
            format!("thread#ops#fnv128:{}", stable_id(&[&thread]))
        );
    }

    #[test]
    fn dedup_keys_follow_the_same_rule() {
        assert_eq!(dedup_key("ops/ecs:prod:api"), "dedup#ops/ecs:prod:api");
        let long = format!("ops/{}", "f".repeat(2_000));
        assert_eq!(
            dedup_key(&long),
            format!("dedup#fnv128:{}", stable_id(&[&long]))
        );
    }

    #[test]
    fn the_hash_is_pinned() {
        // A change here orphans every record written under a hashed key.
        assert_eq!(
            delivery_key(&"a".repeat(2_000), "ops"),
            "delivery#fnv128:fdba231f357928b55da57627c07a0756#ops"
        );
    }

    #[test]
    fn the_limit_counts_bytes_and_is_exact() {
        let prefix = "delivery#".len() + "#ops".len();
        let fits = "a".repeat(MAX_KEY_BYTES - prefix);
        assert_eq!(delivery_key(&fits, "ops"), format!("delivery#{fits}#ops"));
        let one_more = format!("{fits}a");
        assert!(delivery_key(&one_more, "ops").starts_with("delivery#fnv128:"));
        // Characters are not bytes: 400 `é` are 800 bytes.
        let accents = "é".repeat(MAX_KEY_BYTES / 2);
        assert!(delivery_key(&accents, "ops").starts_with("delivery#fnv128:"));
    }

    #[test]
    fn different_long_ids_get_different_keys() {
        let shared = "x".repeat(2_000);
        let a = delivery_key(&format!("{shared}a"), "ops");
        let b = delivery_key(&format!("{shared}b"), "ops");
        assert_ne!(a, b);
        assert_ne!(
            delivery_key(&format!("{shared}a"), "ops"),
            delivery_key(&format!("{shared}a"), "dev")
        );
        assert_eq!(a, delivery_key(&format!("{shared}a"), "ops"));
    }
}
