//! The alerts of an incident: opened, reminder, resolved.
//!
//! - `id`: `stable_id` of the check, the incident and the message (`opened`, `reminder` with
//!   its number, `resolved`): a retried run publishes the same ids, which slack-fanout's
//!   idempotency records recognise.
//! - `fingerprint`: `health-check:<check>:<incident>` for the opened and resolved messages (one
//!   problem, firing then resolved); each reminder adds `:reminder-<n>`, because a reminder is
//!   news by design and routing's dedup window must not swallow it as a repeat.
//! - `thread_key`: the incident, so all of its messages share one Slack thread.
//! - Only the check's name and URL (without its query), the conditions and the values seen go
//!   in; never a header value or a credential.

use crate::config::{Check, Target};
use crate::evaluate::CheckResult;
use crate::state::Incident;
use crate::time::{UnixTime, format_duration};
use fleetwatch_alerts::stable_id;
use fleetwatch_alerts::{Alert, Source, Status};
use std::time::Duration;

/// Failed conditions listed as fields; the summary still has them all.
const MAX_LISTED_FAILURES: usize = 4;

pub(crate) fn opened(
    check: &Check,
    incident: &Incident,
    result: &CheckResult,
    failed_runs: u32,
    now: UnixTime,
) -> Alert {
    let mut alert = base(check, incident, format!("{} is down", check.name), now);
    alert.id = stable_id(&["health-check", &check.name, &incident.id, "opened"]);
    alert.summary = result.reason();
    failure_fields(&mut alert, result);
    alert.push_field("Failing since", incident.failing_since.to_rfc3339());
    alert.push_field("Failed runs in a row", failed_runs.to_string());
    alert
}

pub(crate) fn reminder(
    check: &Check,
    incident: &Incident,
    result: &CheckResult,
    now: UnixTime,
) -> Alert {
    let down_for = round_to_minutes(now.since(incident.failing_since));
    let title = format!("{} is still down ({})", check.name, down_for);
    let mut alert = base(check, incident, title, now);
    let number = incident.reminders_sent.to_string();
    alert.id = stable_id(&[
        "health-check",
        &check.name,
        &incident.id,
        "reminder",
        &number,
    ]);
    alert.fingerprint = format!("{}:reminder-{number}", alert.fingerprint);
    alert.summary = result.reason();
    failure_fields(&mut alert, result);
    alert.push_field("Failing since", incident.failing_since.to_rfc3339());
    alert.push_field("First failure", incident.first_failure.clone());
    alert.push_field("Reminder", number);
    alert
}

pub(crate) fn resolved(
    check: &Check,
    incident: &Incident,
    recovered_at: UnixTime,
    now: UnixTime,
) -> Alert {
    let outage = round_to_minutes(recovered_at.since(incident.failing_since));
    let title = format!("{} recovered after {outage}", check.name);
    let mut alert = base(check, incident, title, now);
    alert.id = stable_id(&["health-check", &check.name, &incident.id, "resolved"]);
    alert.status = Status::Resolved;
    alert.summary = format!(
        "Down for {outage}, from {} to {}.",
        incident.failing_since.to_rfc3339(),
        recovered_at.to_rfc3339()
    );
    alert.push_field("Outage duration", outage);
    alert.push_field("First failure", incident.first_failure.clone());
    alert.push_field("Failing since", incident.failing_since.to_rfc3339());
    alert.push_field("Recovered at", recovered_at.to_rfc3339());
    alert
}

/// What every message of the incident shares.
fn base(check: &Check, incident: &Incident, title: String, now: UnixTime) -> Alert {
    let mut alert = Alert::new(Source::HealthCheck, title);
    alert.fingerprint = format!("health-check:{}:{}", check.name, incident.id);
    alert.thread_key = Some(format!("health-check:{}:{}", check.name, incident.id));
    alert.severity = check.alerting.severity;
    alert.occurred_at = Some(now.to_rfc3339());
    for (name, value) in &check.labels {
        alert.set_label(name, value);
    }
    alert.set_label("check", &check.name);
    alert.set_label("check_type", check.kind());
    alert.push_field("Check", check.name.clone());
    alert.push_field("URL", shown_url(check));
    if !matches!(check.target, Target::Tcp(_)) {
        alert.push_link(format!("Open {}", check.name), shown_url(check));
    }
    alert
}

/// Each failed condition and the value seen, as field pairs.
fn failure_fields(alert: &mut Alert, result: &CheckResult) {
    let failures: Vec<_> = result.failures().collect();
    for failure in failures.iter().take(MAX_LISTED_FAILURES) {
        alert.push_field("Failed condition", failure.condition.clone());
        alert.push_field("Value seen", failure.seen.clone());
    }
    if failures.len() > MAX_LISTED_FAILURES {
        alert.push_field(
            "More failed conditions",
            (failures.len() - MAX_LISTED_FAILURES).to_string(),
        );
    }
    if let Some(latency) = result.metrics.latency_ms {
        alert.push_field("Latency", format!("{latency}ms"));
    }
}

/// The URL without its query or fragment: a query is where an API key hides when someone did
/// not use a header.
fn shown_url(check: &Check) -> String {
    let url = check.url();
    let end = url.find(['?', '#']).unwrap_or(url.len());
    url[..end].to_owned()
}

/// Outages read in minutes; seconds are the schedule's noise. Under a minute stays exact.
fn round_to_minutes(duration: Duration) -> String {
    let seconds = duration.as_secs();
    if seconds < 60 {
        return format_duration(Duration::from_secs(seconds));
    }
    format_duration(Duration::from_secs((seconds + 30) / 60 * 60))
}
