//! Any JSON we do not know: still shown (generic layout), never dropped. The caller counts it
//! as [`super::PayloadKind::Unknown`], so a new source gets noticed and a normaliser written.

use super::{SnsContext, scalar_text};
use crate::alert::{Alert, Severity, Source, Status};
use crate::hash::stable_id;
use crate::text::{first_line, truncate_chars};
use serde_json::{Map, Value};

/// Keys that usually name an event, most telling first.
const TITLE_KEYS: &[&str] = &[
    "title",
    "subject",
    "alertname",
    "alarmName",
    "summary",
    "detail-type",
    "message",
    "name",
    "event",
    "eventName",
];
const SUMMARY_KEYS: &[&str] = &[
    "description",
    "summary",
    "message",
    "text",
    "reason",
    "detail",
];
/// `eventType` is how ECS events say INFO / WARN / ERROR.
const SEVERITY_KEYS: &[&str] = &["severity", "level", "priority", "eventType"];
const STATUS_KEYS: &[&str] = &["status", "state"];

/// Fields are a preview, not a dump: the first ones, each cut short.
const MAX_FIELDS: usize = 20;
const MAX_FIELD_CHARS: usize = 500;
const MAX_TITLE_CHARS: usize = 150;
const MAX_RESOURCES: usize = 5;

pub(crate) fn from_value(value: &Value, sns: &SnsContext) -> Alert {
    let empty = Map::new();
    let object = value.as_object().unwrap_or(&empty);
    // An EventBridge event's envelope (id, version, time) says little; its detail says what
    // happened, so summary, severity and most fields come from there.
    let detail = object
        .get("detail")
        .and_then(Value::as_object)
        .filter(|_| object.get("detail-type").is_some_and(Value::is_string));
    let content = detail.unwrap_or(object);
    let text_in = |map: &'_ Map<String, Value>, key: &str| -> Option<String> {
        map.get(key)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    let text = |key: &str| text_in(object, key);

    let title_key = TITLE_KEYS.iter().copied().find(|k| text(k).is_some());
    let title = title_key
        .and_then(text)
        .or_else(|| sns.subject.clone())
        .or_else(|| value.as_str().map(str::to_string))
        .map(|t| truncate_chars(first_line(&t), MAX_TITLE_CHARS).into_owned())
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| "Unrecognised event".to_string());
    let mut alert = Alert::new(Source::Generic, title);
    let summary_key = SUMMARY_KEYS
        .iter()
        .copied()
        .filter(|k| detail.is_some() || Some(*k) != title_key)
        .find(|k| text_in(content, k).is_some());
    alert.summary = summary_key
        .and_then(|k| text_in(content, k))
        .unwrap_or_default();
    alert.severity = SEVERITY_KEYS
        .iter()
        .find_map(|k| text_in(content, k).and_then(|s| Severity::parse(&s)))
        .unwrap_or_default();
    alert.status = STATUS_KEYS
        .iter()
        .find_map(|k| text_in(content, k).and_then(|s| Status::parse(&s)))
        .unwrap_or_default();
    alert.occurred_at = [
        "time",
        "timestamp",
        "occurred_at",
        "startsAt",
        "created_at",
        "created",
    ]
    .iter()
    .find_map(|k| text(k))
    .or_else(|| sns.timestamp.clone());

    let mut fields: Vec<(String, String)> = Vec::new();
    if detail.is_some() {
        for key in ["source", "account", "region"] {
            fields.extend(text(key).map(|v| (key.to_string(), v)));
        }
        let resources: Vec<&str> = object
            .get("resources")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .take(MAX_RESOURCES)
            .collect();
        if !resources.is_empty() {
            fields.push(("resources".to_string(), resources.join("\n")));
        }
    }
    fields.extend(
        content
            .iter()
            .filter_map(|(k, v)| scalar_text(v).map(|v| (k.clone(), v)))
            // The title and summary are shown already.
            .filter(|(k, v)| {
                !v.trim().is_empty()
                    && (detail.is_some() || Some(k.as_str()) != title_key)
                    && Some(k.as_str()) != summary_key
            }),
    );
    for (name, value) in fields.into_iter().take(MAX_FIELDS) {
        alert.push_field(name, truncate_chars(&value, MAX_FIELD_CHARS).into_owned());
    }

    for (label, key) in [
        ("detail_type", "detail-type"),
        ("event_source", "source"),
        ("account_id", "account"),
        ("region", "region"),
    ] {
        if let Some(v) = text(key) {
            alert.set_label(label, v);
        }
    }
    if let Some(topic) = sns.topic_arn.as_deref().and_then(|t| t.rsplit(':').next()) {
        alert.set_label("topic", topic);
    }

    // The same payload serialises to the same text (serde_json keeps a deterministic order).
    let canonical = value.to_string();
    alert.fingerprint = stable_id(&[
        "generic",
        &text("detail-type").or(text("source")).unwrap_or_default(),
        &alert.title,
    ]);
    alert.id = stable_id(&["generic", &canonical]);
    alert
}
