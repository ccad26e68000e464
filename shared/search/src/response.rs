//! The parts of a `_bulk` response we act on.

use serde::Deserialize;
use serde_json::Value;

#[derive(Deserialize)]
pub(crate) struct BulkResponse {
    #[serde(default)]
    pub errors: bool,
    #[serde(default)]
    pub items: Vec<serde_json::Map<String, Value>>,
}

/// One item's result: `{"create": {"_id": .., "status": 201, "error": {..}}}`.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct ItemResult {
    pub status: u16,
    pub error: Option<String>,
}

impl ItemResult {
    pub fn from_item(item: &serde_json::Map<String, Value>) -> ItemResult {
        // Exactly one key: the action name.
        let Some(result) = item.values().next() else {
            return ItemResult {
                status: 0,
                error: Some("empty item in the bulk response".into()),
            };
        };
        let status = result
            .get("status")
            .and_then(Value::as_u64)
            .and_then(|s| u16::try_from(s).ok())
            .unwrap_or(0);
        let error = result.get("error").map(|error| match error {
            Value::Object(map) => {
                let kind = map.get("type").and_then(Value::as_str).unwrap_or("error");
                let reason = map.get("reason").and_then(Value::as_str).unwrap_or("");
                format!("{kind}: {reason}")
            }
            other => other.to_string(),
        });
        ItemResult { status, error }
    }

    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// Worth sending again: the cluster was busy or failing, not the document.
    pub fn is_transient(&self) -> bool {
        self.status == 429 || self.status >= 500
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn item(value: Value) -> ItemResult {
        ItemResult::from_item(value.as_object().unwrap())
    }

    #[test]
    fn item_results_are_classified() {
        let created = item(json!({"create": {"_id": "a", "status": 201}}));
        assert!(created.is_success());
        let busy = item(json!({"create": {"_id": "a", "status": 429,
            "error": {"type": "es_rejected_execution_exception", "reason": "queue full"}}}));
        assert!(busy.is_transient());
        assert_eq!(
            busy.error.as_deref(),
            Some("es_rejected_execution_exception: queue full")
        );
        let mapping = item(json!({"index": {"_id": "a", "status": 400,
            "error": {"type": "mapper_parsing_exception", "reason": "failed to parse"}}}));
        assert!(!mapping.is_success() && !mapping.is_transient());
    }
}
