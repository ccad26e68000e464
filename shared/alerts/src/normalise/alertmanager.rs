//! Prometheus Alertmanager webhook (version 4): one [`Alert`] per entry of `alerts[]`.
//!
//! - labels: the alert's own labels over the group's `commonLabels`;
//! - title: `alertname`; summary: the `summary` annotation (or the group's); the `description`
//!   annotation and any other annotation become fields, URL-valued ones (`runbook_url`, ...)
//!   links;
//! - severity from the `severity` label (usual spellings, see [`Severity::parse`]); without
//!   one, `warning`;
//! - fingerprint as sent, or, for old senders that omit it, computed the way Alertmanager
//!   computes it, so it does not change when the sender is upgraded;
//! - id from fingerprint, `startsAt`, status and, when the receiver stamped it, the notification
//!   (`fleetwatch_notification`): a resolved alert is a new occurrence, and so is each
//!   notification Alertmanager sends (a re-notification after `repeat_interval` reaches Slack);
//!   a queue's redelivery of one notification is not.

use super::{lenient, read_as};
use crate::alert::{Alert, Severity, Source, Status, null_as_default};
use crate::hash::{alertmanager_fingerprint, stable_id};
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// Alertmanager's `endsAt` of an alert that has not ended.
const NOT_ENDED: &str = "0001-01-01T00:00:00Z";

pub(crate) fn is_webhook(value: &Value) -> bool {
    value.get("alerts").is_some_and(Value::is_array)
        && ["version", "groupKey", "receiver"]
            .iter()
            .any(|key| value.get(key).is_some())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Webhook {
    #[serde(default, deserialize_with = "lenient::number")]
    truncated_alerts: Option<f64>,
    #[serde(default, deserialize_with = "lenient::string_map")]
    common_labels: BTreeMap<String, String>,
    #[serde(default, deserialize_with = "lenient::string_map")]
    common_annotations: BTreeMap<String, String>,
    #[serde(rename = "externalURL")]
    external_url: Option<String>,
    /// The notification this payload came with, as the receiver stamps it (the Function URL
    /// request's id): Alertmanager sends nothing that tells a re-notification after its
    /// `repeat_interval` from the first one, and a re-notification must reach Slack again.
    #[serde(rename = "fleetwatch_notification")]
    notification: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    alerts: Vec<WebhookAlert>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WebhookAlert {
    status: Option<String>,
    #[serde(default, deserialize_with = "lenient::string_map")]
    labels: BTreeMap<String, String>,
    #[serde(default, deserialize_with = "lenient::string_map")]
    annotations: BTreeMap<String, String>,
    starts_at: Option<String>,
    ends_at: Option<String>,
    #[serde(rename = "generatorURL")]
    generator_url: Option<String>,
    fingerprint: Option<String>,
    /// Grafana's webhook, same shape otherwise, adds these.
    #[serde(rename = "silenceURL")]
    silence_url: Option<String>,
    #[serde(rename = "dashboardURL")]
    dashboard_url: Option<String>,
}

pub(crate) fn from_webhook(value: &Value) -> Result<(Vec<Alert>, Vec<String>), String> {
    let webhook: Webhook = read_as(value)?;
    let mut warnings = Vec::new();
    if let Some(truncated) = webhook.truncated_alerts.filter(|n| *n > 0.0) {
        warnings.push(format!(
            "Alertmanager left out {truncated} alerts of this group (max_alerts)"
        ));
    }
    let alerts = webhook
        .alerts
        .iter()
        .map(|alert| to_alert(alert, &webhook))
        .collect();
    Ok((alerts, warnings))
}

fn to_alert(source: &WebhookAlert, group: &Webhook) -> Alert {
    let status = match source.status.as_deref().and_then(Status::parse) {
        Some(status) => status,
        None if source.ends_at.as_deref().is_some_and(has_ended) => Status::Resolved,
        None => Status::Firing,
    };
    let fingerprint = source
        .fingerprint
        .clone()
        .filter(|f| !f.is_empty())
        .unwrap_or_else(|| alertmanager_fingerprint(&source.labels));
    let mut labels = group.common_labels.clone();
    labels.extend(source.labels.clone());
    let annotation = |key: &str| {
        source
            .annotations
            .get(key)
            .or_else(|| group.common_annotations.get(key))
            .cloned()
            .unwrap_or_default()
    };

    let title = labels
        .get("alertname")
        .cloned()
        .unwrap_or_else(|| "Alertmanager alert".to_string());
    let mut alert = Alert::new(Source::Alertmanager, title);
    let starts_at = source.starts_at.clone().unwrap_or_default();
    alert.id = match &group.notification {
        Some(notification) => stable_id(&[
            "alertmanager",
            &fingerprint,
            &starts_at,
            status.as_str(),
            notification,
        ]),
        None => stable_id(&["alertmanager", &fingerprint, &starts_at, status.as_str()]),
    };
    alert.fingerprint = fingerprint;
    alert.status = status;
    alert.severity = labels
        .get("severity")
        .and_then(|s| Severity::parse(s))
        .unwrap_or_default();
    alert.summary = annotation("summary");
    alert.occurred_at = match status {
        Status::Resolved => source.ends_at.clone().filter(|e| has_ended(e)),
        Status::Firing => None,
    }
    .or(source.starts_at.clone());

    alert.push_field("Description", annotation("description"));
    let mut annotation_keys: Vec<&String> = source
        .annotations
        .keys()
        .chain(group.common_annotations.keys())
        .filter(|k| !matches!(k.as_str(), "summary" | "description"))
        .collect();
    annotation_keys.sort();
    annotation_keys.dedup();
    for key in annotation_keys {
        let value = annotation(key);
        if is_url(&value) {
            alert.push_link(link_title(key), value);
        } else {
            alert.push_field(key.clone(), value);
        }
    }
    // While firing, the start is the alert's time (shown anyway); once resolved, both matter.
    if status == Status::Resolved {
        alert.push_field("Started", starts_at);
        if let Some(ends_at) = source.ends_at.as_deref().filter(|e| has_ended(e)) {
            alert.push_field("Ended", ends_at);
        }
    }

    alert.push_link("Source", source.generator_url.clone().unwrap_or_default());
    if let Some(url) = &source.dashboard_url {
        alert.push_link("Dashboard", url.clone());
    }
    // A silence is for something still firing.
    if status == Status::Firing {
        let silence = source
            .silence_url
            .clone()
            .or_else(|| silence_url(group.external_url.as_deref()?, &labels));
        if let Some(url) = silence {
            alert.push_link("Silence", url);
        }
    }
    alert.labels = labels;
    alert
}

fn has_ended(ends_at: &str) -> bool {
    !ends_at.is_empty() && ends_at != NOT_ENDED
}

fn is_url(value: &str) -> bool {
    value.starts_with("https://") || value.starts_with("http://")
}

/// `runbook_url` → `Runbook`, `dashboardUrl` → `Dashboard`.
fn link_title(key: &str) -> String {
    let lower = key.to_ascii_lowercase();
    let base = lower
        .trim_end_matches("url")
        .trim_end_matches(['_', '-', '.']);
    let base = if base.is_empty() { "link" } else { base };
    let mut title: String = base.replace(['_', '-', '.'], " ");
    if let Some(first) = title.get(..1) {
        title = first.to_ascii_uppercase() + &title[1..];
    }
    title
}

/// Alertmanager's "new silence" page with the alert's labels as matchers.
fn silence_url(external_url: &str, labels: &BTreeMap<String, String>) -> Option<String> {
    if !is_url(external_url) {
        return None;
    }
    let matchers: Vec<String> = labels
        .iter()
        .map(|(name, value)| {
            let value = value.replace('\\', "\\\\").replace('"', "\\\"");
            format!("{name}=\"{value}\"")
        })
        .collect();
    let filter = format!("{{{}}}", matchers.join(", "));
    Some(format!(
        "{}/#/silences/new?filter={}",
        external_url.trim_end_matches('/'),
        super::encode_uri_component(&filter)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_titles_from_annotation_keys() {
        assert_eq!(link_title("runbook_url"), "Runbook");
        assert_eq!(link_title("dashboardURL"), "Dashboard");
        assert_eq!(link_title("url"), "Link");
        assert_eq!(link_title("grafana_panel_url"), "Grafana panel");
    }

    #[test]
    fn silence_url_quotes_label_values() {
        let labels = BTreeMap::from([
            ("alertname".to_string(), "Up".to_string()),
            ("job".to_string(), "a\"b".to_string()),
        ]);
        assert_eq!(
            silence_url("http://am:9093/", &labels).unwrap(),
            "http://am:9093/#/silences/new?filter=%7Balertname%3D%22Up%22%2C%20job%3D%22a%5C%22b%22%7D"
        );
        assert_eq!(silence_url("", &labels), None);
    }
}
