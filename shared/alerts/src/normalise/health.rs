//! AWS Health events from EventBridge (`detail-type: AWS Health Event`).
//!
//! Status: `closed` is resolved; `open` and `upcoming` (a scheduled change not started yet) are
//! firing. Severity by category: `issue` is an error (AWS says something of ours is impaired),
//! `scheduledChange` and `investigation` are warnings (act before the date), and
//! `accountNotification` is info. The fingerprint is the event ARN with the affected account:
//! public events share one ARN across accounts, and each account's impact is its own problem.

use super::{lenient, read_as};
use crate::alert::{Alert, Severity, Source, Status, null_as_default};
use crate::hash::stable_id;
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// How many affected entities are listed; the count says how many there were in all.
const MAX_LISTED_ENTITIES: usize = 20;

pub(crate) fn is_health_event(value: &Value) -> bool {
    value
        .get("detail-type")
        .and_then(Value::as_str)
        .is_some_and(|t| t.starts_with("AWS Health"))
        && value.get("detail").is_some_and(Value::is_object)
}

#[derive(Deserialize)]
struct HealthEvent {
    #[serde(default, deserialize_with = "lenient::string")]
    account: Option<String>,
    region: Option<String>,
    time: Option<String>,
    detail: Detail,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Detail {
    event_arn: String,
    service: Option<String>,
    event_type_code: Option<String>,
    event_type_category: Option<String>,
    event_scope_code: Option<String>,
    status_code: Option<String>,
    event_region: Option<String>,
    start_time: Option<String>,
    end_time: Option<String>,
    last_updated_time: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    affected_account: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    event_description: Vec<Description>,
    #[serde(default, deserialize_with = "null_as_default")]
    affected_entities: Vec<Entity>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Description {
    language: Option<String>,
    latest_description: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Entity {
    entity_value: Option<String>,
    #[serde(default, deserialize_with = "lenient::string_map")]
    tags: BTreeMap<String, String>,
}

pub(crate) fn from_event(value: &Value) -> Result<Alert, String> {
    let event: HealthEvent = read_as(value)?;
    let detail = &event.detail;
    let account = detail
        .affected_account
        .clone()
        .or(event.account.clone())
        .unwrap_or_default();
    let region = detail
        .event_region
        .clone()
        .or(event.region.clone())
        .unwrap_or_default();
    let service = detail.service.clone().unwrap_or_else(|| "AWS".to_string());
    let category = detail.event_type_category.clone().unwrap_or_default();
    let status_code = detail.status_code.clone().unwrap_or_default();
    let event_type = detail.event_type_code.clone().unwrap_or_default();

    let status = if status_code.eq_ignore_ascii_case("closed") {
        Status::Resolved
    } else {
        Status::Firing
    };
    let severity = match category.as_str() {
        "issue" => Severity::Error,
        "accountNotification" => Severity::Info,
        _ => Severity::Warning,
    };

    let mut alert = Alert::new(
        Source::AwsHealth,
        format!("{service}: {}", humanise_event_type(&event_type, &service)),
    );
    alert.fingerprint = format!("{}#{account}", detail.event_arn);
    let updated = detail
        .last_updated_time
        .clone()
        .or(event.time.clone())
        .unwrap_or_default();
    alert.id = stable_id(&["aws_health", &alert.fingerprint, &status_code, &updated]);
    alert.status = status;
    alert.severity = severity;
    alert.summary = description(&detail.event_description);
    alert.occurred_at = event.time.clone();

    alert.push_field("Service", service.clone());
    alert.push_field("Category", category_text(&category));
    alert.push_field("Region", region.clone());
    alert.push_field("Status", status_code.clone());
    alert.push_field("Event type", event_type.clone());
    alert.push_field("Scope", detail.event_scope_code.clone().unwrap_or_default());
    alert.push_field("Start", detail.start_time.clone().unwrap_or_default());
    alert.push_field("End", detail.end_time.clone().unwrap_or_default());
    alert.push_field("Account", account.clone());
    alert.push_field(
        "Affected entities",
        entities_text(&detail.affected_entities),
    );

    alert.push_link(
        "Open in AWS Health",
        format!(
            "https://health.aws.amazon.com/health/home#/account/event-log?eventID={}&eventTab=details",
            super::encode_uri_component(&detail.event_arn)
        ),
    );
    let summary = alert.summary.clone();
    super::push_description_links(&mut alert, &summary);
    alert.set_label("service", service);
    alert.set_label("event_type_category", category);
    alert.set_label("event_type_code", event_type);
    alert.set_label("status_code", status_code);
    alert.set_label("region", region);
    alert.set_label("account_id", account);
    Ok(alert)
}

/// `scheduledChange` → `Scheduled change`; unknown categories as they are.
fn category_text(category: &str) -> String {
    match category {
        "issue" => "Issue",
        "scheduledChange" => "Scheduled change",
        "accountNotification" => "Account notification",
        "investigation" => "Investigation",
        other => other,
    }
    .to_string()
}

/// English if there is one, else the first description.
fn description(descriptions: &[Description]) -> String {
    descriptions
        .iter()
        .find(|d| d.language.as_deref().is_some_and(|l| l.starts_with("en")))
        .or(descriptions.first())
        .and_then(|d| d.latest_description.clone())
        .unwrap_or_default()
}

/// `AWS_EC2_INSTANCE_STORE_DRIVE_PERFORMANCE_DEGRADED` → `Instance store drive performance
/// degraded`.
fn humanise_event_type(code: &str, service: &str) -> String {
    if code.is_empty() {
        return "AWS Health event".to_string();
    }
    let prefix = format!("AWS_{}_", service.to_ascii_uppercase());
    let rest = code
        .strip_prefix(&prefix)
        .or_else(|| code.strip_prefix("AWS_"))
        .unwrap_or(code)
        .to_lowercase();
    let words = rest.replace('_', " ");
    let mut chars = words.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => code.to_string(),
    }
}

/// One entity a line, with its tags; bounded, with the total.
fn entities_text(entities: &[Entity]) -> String {
    let mut lines: Vec<String> = entities
        .iter()
        .take(MAX_LISTED_ENTITIES)
        .filter_map(|e| {
            let value = e.entity_value.clone()?;
            if e.tags.is_empty() {
                return Some(value);
            }
            let tags: Vec<String> = e.tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
            Some(format!("{value} ({})", tags.join(", ")))
        })
        .collect();
    if entities.len() > MAX_LISTED_ENTITIES {
        lines.push(format!("… {} entities in all", entities.len()));
    }
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn humanises_event_type_codes() {
        assert_eq!(
            humanise_event_type("AWS_EC2_INSTANCE_STORE_DRIVE_PERFORMANCE_DEGRADED", "EC2"),
            "Instance store drive performance degraded"
        );
        assert_eq!(
            humanise_event_type("AWS_RDS_MAINTENANCE_SCHEDULED", "EC2"),
            "Rds maintenance scheduled"
        );
        assert_eq!(humanise_event_type("", "EC2"), "AWS Health event");
    }
}
