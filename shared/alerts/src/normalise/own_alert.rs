//! Our own `Alert` JSON, as internal producers put it on the queue: passed through, with a
//! missing `fingerprint` or `id` filled in deterministically.

use crate::alert::Alert;
use crate::hash::stable_id;
use serde_json::Value;

/// `source` and `title` strings and at least one more field only an `Alert` has: an
/// EventBridge event has `source` but no `title`, and a random `{"title": ...}` has no `source`.
pub(crate) fn is_alert(value: &Value) -> bool {
    let is_str = |key| value.get(key).is_some_and(Value::is_string);
    is_str("source")
        && is_str("title")
        && ["fingerprint", "id", "severity", "status"]
            .iter()
            .any(|key| value.get(key).is_some())
}

pub(crate) fn from_value(value: &Value) -> Result<Alert, String> {
    let mut alert: Alert = super::read_as(value)?;
    if alert.fingerprint.is_empty() {
        // Without a fingerprint, "the same problem" can only mean same source, title and labels.
        let labels: Vec<String> = alert
            .labels
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        alert.fingerprint = stable_id(&[
            alert.source.as_str(),
            alert.title.as_str(),
            labels.join(",").as_str(),
        ]);
    }
    if alert.id.is_empty() {
        alert.id = stable_id(&[
            alert.source.as_str(),
            alert.fingerprint.as_str(),
            alert.status.as_str(),
            alert.occurred_at.as_deref().unwrap_or(""),
        ]);
    }
    Ok(alert)
}
