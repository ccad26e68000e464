//! The incident state machine, Gatus' semantics without a server: per check, streaks of failed
//! and successful runs; an incident opens when the failure streak reaches `failure_threshold`,
//! resolves when a success streak reaches `success_threshold`, and reminds every `reminder`
//! while open. The state is plain serde data the adapter keeps in the state table between runs.

use crate::alert;
use crate::config::Check;
use crate::evaluate::CheckResult;
use crate::time::UnixTime;
use fleetwatch_alerts::Alert;
use fleetwatch_alerts::stable_id;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// What one check remembers between runs. `Default` is a check never run.
///
/// Fields missing in a stored item read as their defaults, so a field added later does not
/// break the state of checks already running.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CheckState {
    pub consecutive_failures: u32,
    pub consecutive_successes: u32,
    /// The first failed run of the current failure streak: when the outage began.
    pub failing_since: Option<UnixTime>,
    /// Why that first run failed (what the incident will say it began with).
    pub first_failure: Option<String>,
    /// The first successful run of the current success streak: when the service came back.
    pub recovering_since: Option<UnixTime>,
    pub incident: Option<Incident>,
    pub last_run_at: Option<UnixTime>,
}

/// An open incident: between the alert that opened it and the one that resolves it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Incident {
    /// Deterministic: the check's name and `failing_since`. Also its Slack thread.
    pub id: String,
    pub opened_at: UnixTime,
    pub failing_since: UnixTime,
    pub first_failure: String,
    /// The opening alert counts as the first reminder.
    pub last_reminder_at: UnixTime,
    pub reminders_sent: u32,
}

impl CheckState {
    /// Whether the check should run now, given its interval. A run up to a tenth of the
    /// interval early counts as on time: a schedule that fires a second early must not push
    /// the check a whole period late.
    pub fn is_due(&self, check: &Check, now: UnixTime) -> bool {
        self.last_run_at
            .is_none_or(|last| on_time(now.since(last), check.interval, check.interval))
    }
}

/// `elapsed` has reached `wanted`, allowing a tenth of the check's interval of earliness.
fn on_time(elapsed: Duration, wanted: Duration, interval: Duration) -> bool {
    elapsed + interval / 10 >= wanted
}

/// Folds one result into the state, returning the new state and the alerts to publish: one
/// when an incident opens (exactly when the failure streak reaches the threshold), one when a
/// reminder is due, one when it resolves (exactly at the success threshold, if
/// `send_resolved`), none otherwise.
///
/// Pure: the same state, result and `now` give the same state and the same alert ids, so a
/// retried invocation publishes nothing new (pass the schedule's time as `now`, e.g. the
/// EventBridge event's `time`, not the clock). Redact resolved secrets from `result` first
/// ([`CheckResult::redact`]): its reasons go into the alerts and the state.
pub fn step(
    state: &CheckState,
    result: &CheckResult,
    now: UnixTime,
    check: &Check,
) -> (CheckState, Vec<Alert>) {
    let mut next = state.clone();
    next.last_run_at = Some(now);
    let alert = if result.healthy {
        on_success(&mut next, now, check)
    } else {
        on_failure(&mut next, result, now, check)
    };
    (next, alert.into_iter().collect())
}

fn on_failure(
    state: &mut CheckState,
    result: &CheckResult,
    now: UnixTime,
    check: &Check,
) -> Option<Alert> {
    state.consecutive_successes = 0;
    state.recovering_since = None;
    state.consecutive_failures = state.consecutive_failures.saturating_add(1);
    let failing_since = *state.failing_since.get_or_insert(now);
    let first_failure = state
        .first_failure
        .get_or_insert_with(|| result.reason())
        .clone();

    match &mut state.incident {
        None if state.consecutive_failures >= check.alerting.failure_threshold => {
            let incident = Incident {
                id: incident_id(check, failing_since),
                opened_at: now,
                failing_since,
                first_failure,
                last_reminder_at: now,
                reminders_sent: 0,
            };
            let alert = alert::opened(check, &incident, result, state.consecutive_failures, now);
            state.incident = Some(incident);
            Some(alert)
        }
        Some(incident) if reminder_due(incident, check, now) => {
            incident.last_reminder_at = now;
            incident.reminders_sent = incident.reminders_sent.saturating_add(1);
            Some(alert::reminder(check, incident, result, now))
        }
        _ => None,
    }
}

fn reminder_due(incident: &Incident, check: &Check, now: UnixTime) -> bool {
    check
        .alerting
        .reminder
        .is_some_and(|every| on_time(now.since(incident.last_reminder_at), every, check.interval))
}

fn on_success(state: &mut CheckState, now: UnixTime, check: &Check) -> Option<Alert> {
    state.consecutive_failures = 0;
    state.failing_since = None;
    state.first_failure = None;
    state.consecutive_successes = state.consecutive_successes.saturating_add(1);
    let recovered_at = *state.recovering_since.get_or_insert(now);

    if state.consecutive_successes < check.alerting.success_threshold {
        return None;
    }
    let incident = state.incident.take()?;
    check
        .alerting
        .send_resolved
        .then(|| alert::resolved(check, &incident, recovered_at, now))
}

/// One id per incident: a check's failure streak starts at most once per second.
fn incident_id(check: &Check, failing_since: UnixTime) -> String {
    stable_id(&[
        "health-check",
        &check.name,
        &failing_since.as_secs().to_string(),
    ])
}
