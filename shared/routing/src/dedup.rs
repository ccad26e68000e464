//! Duplicate suppression, as pure decisions: the caller stores the last delivery per key (the
//! state table) and asks whether to send again.
//!
//! The same problem (fingerprint) with the same status sent to the same destination within the
//! route's dedup window is a duplicate: at-least-once delivery from SQS, a source that repeats
//! itself, two producers reporting one thing. A status change (firing to resolved, or firing
//! again after resolved) or a severity change (warning to error) is news and always sends.

use fleetwatch_alerts::{Alert, Severity, Status};
use jiff::Timestamp;
use std::time::Duration;

/// What the state store remembers of the last message sent for a [`dedup_key`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PreviousDelivery {
    pub status: Status,
    /// `None` in records written before severities were remembered: then only the status counts.
    pub severity: Option<Severity>,
    pub sent_at: Timestamp,
}

/// The key under which deliveries of this problem to this destination are remembered:
/// `<destination>/<fingerprint>`. Without a fingerprint the alert's id stands in, and without
/// either its source and title. Destination names cannot contain `/`, so the key splits
/// unambiguously at the first one.
pub fn dedup_key(alert: &Alert, destination: &str) -> String {
    let identity = if !alert.fingerprint.is_empty() {
        alert.fingerprint.clone()
    } else if !alert.id.is_empty() {
        alert.id.clone()
    } else {
        format!("{}:{}", alert.source.as_str(), alert.title)
    };
    format!("{destination}/{identity}")
}

/// Whether to send `alert` now, given the last delivery under its key.
///
/// - nothing sent before: send;
/// - a different status than last time: send (a resolution is never suppressed);
/// - a different severity than last time: send (a deployment that was rolling back and has now
///   failed is news, though both are firing);
/// - the same status, sent less than `window` ago: duplicate, do not send; at `window` or later:
///   send (a reminder);
/// - a last delivery stamped later than `now` (clocks disagree): treated as within the window;
/// - a zero window turns suppression off.
pub fn should_send(
    previous: Option<PreviousDelivery>,
    alert: &Alert,
    now: Timestamp,
    window: Duration,
) -> bool {
    let Some(previous) = previous else {
        return true;
    };
    let severity_changed = previous.severity.is_some_and(|s| s != alert.severity);
    if previous.status != alert.status || severity_changed || window.is_zero() {
        return true;
    }
    let elapsed = now.duration_since(previous.sent_at);
    !elapsed.is_negative() && elapsed.unsigned_abs() >= window
}
