//! The incident state machine: opens exactly at the failure threshold, resolves exactly at the
//! success threshold, reminds on time, survives flapping, stays quiet when asked to, and never
//! lets a header value or token into an alert.

use fleetwatch_alerts::{Alert, Severity, Status};
use fleetwatch_health::{
    Check, CheckResult, CheckState, Config, HttpObservation, JenkinsEndpoint, JenkinsResponse,
    Observation, ProbeError, UnixTime, evaluate, step,
};
use proptest::prelude::*;
use std::time::Duration;

const T0: i64 = 1_795_000_000;
const MINUTE: i64 = 60;

fn check_with(settings: &str) -> Check {
    let yaml = format!(
        "checks:\n  - name: payments-api\n    url: https://payments.internal/health?probe=1\n    labels: {{ team: payments }}\n{settings}"
    );
    Config::from_yaml(&yaml, Duration::from_secs(60))
        .unwrap()
        .checks()[0]
        .clone()
}

fn default_check() -> Check {
    check_with("    reminder: 30m\n")
}

fn result(check: &Check, status: u16, at: i64) -> CheckResult {
    let seen = HttpObservation {
        status,
        latency: Duration::from_millis(240),
        tls_cert_not_after: Some(T0 + 90 * 86_400),
        ..Default::default()
    };
    evaluate(check, &Observation::Http(Ok(seen)), UnixTime::from_secs(at))
}

/// Runs `pattern` (`F` failed, `S` succeeded), one run a minute from `T0`; the alerts with the
/// minute of the run that produced them, and the final state.
fn simulate(check: &Check, pattern: &str) -> (Vec<(i64, Alert)>, CheckState) {
    let mut state = CheckState::default();
    let mut alerts = Vec::new();
    for (minute, run) in pattern.chars().filter(|c| !c.is_whitespace()).enumerate() {
        let at = T0 + minute as i64 * MINUTE;
        let status = if run == 'F' { 503 } else { 200 };
        let (next, produced) = step(
            &state,
            &result(check, status, at),
            UnixTime::from_secs(at),
            check,
        );
        alerts.extend(produced.into_iter().map(|alert| (minute as i64, alert)));
        state = next;
    }
    (alerts, state)
}

fn kinds(alerts: &[(i64, Alert)]) -> Vec<(i64, &'static str)> {
    alerts
        .iter()
        .map(|(minute, alert)| (*minute, kind(alert)))
        .collect()
}

fn kind(alert: &Alert) -> &'static str {
    if alert.status == Status::Resolved {
        "resolved"
    } else if alert.title.contains("still down") {
        "reminder"
    } else {
        "opened"
    }
}

#[test]
fn opens_exactly_at_the_failure_threshold() {
    let check = default_check();
    assert_eq!(kinds(&simulate(&check, "FF").0), []);
    let (alerts, state) = simulate(&check, "FFF");
    assert_eq!(kinds(&alerts), [(2, "opened")]);
    let incident = state.incident.unwrap();
    assert_eq!(incident.opened_at, UnixTime::from_secs(T0 + 2 * MINUTE));
    assert_eq!(incident.failing_since, UnixTime::from_secs(T0));
    assert_eq!(incident.first_failure, "status 503 not in [200..299]");
    // Further failures before the reminder is due say nothing.
    assert_eq!(kinds(&simulate(&check, "FFFFFFFFFF").0), [(2, "opened")]);

    let once = check_with("    failure_threshold: 1\n");
    assert_eq!(kinds(&simulate(&once, "SF").0), [(1, "opened")]);
}

#[test]
fn the_opened_alert_carries_the_failed_condition_and_the_value_seen() {
    let check = default_check();
    let (alerts, state) = simulate(&check, "FFF");
    let alert = &alerts[0].1;
    assert_eq!(alert.title, "payments-api is down");
    assert_eq!(alert.summary, "status 503 not in [200..299]");
    assert_eq!(alert.status, Status::Firing);
    assert_eq!(alert.severity, Severity::Error);
    assert_eq!(
        alert.field("Failed condition"),
        Some("status in [200..299]")
    );
    assert_eq!(alert.field("Value seen"), Some("503"));
    assert_eq!(alert.field("URL"), Some("https://payments.internal/health"));
    assert_eq!(alert.field("Failing since"), Some("2026-11-18T11:06:40Z"));
    assert_eq!(alert.field("Failed runs in a row"), Some("3"));
    assert_eq!(alert.field("Latency"), Some("240ms"));
    assert_eq!(alert.occurred_at.as_deref(), Some("2026-11-18T11:08:40Z"));
    assert_eq!(alert.labels["check"], "payments-api");
    assert_eq!(alert.labels["check_type"], "http");
    assert_eq!(alert.labels["team"], "payments");
    let incident = state.incident.unwrap();
    assert_eq!(
        alert.thread_key.as_deref(),
        Some(format!("health-check:payments-api:{}", incident.id).as_str())
    );
    assert_eq!(
        alert.fingerprint,
        format!("health-check:payments-api:{}", incident.id)
    );
    assert_eq!(alert.id.len(), 32);
}

#[test]
fn resolves_exactly_at_the_success_threshold_with_the_outage_duration() {
    let check = default_check();
    // Failing from minute 0, back at minute 12.
    let (alerts, state) = simulate(&check, "FFFFFFFFFFFF S");
    assert_eq!(kinds(&alerts), [(2, "opened")]);
    assert!(state.incident.is_some(), "one success is not enough");

    let (alerts, state) = simulate(&check, "FFFFFFFFFFFF SS");
    assert_eq!(kinds(&alerts), [(2, "opened"), (13, "resolved")]);
    assert!(state.incident.is_none());
    let resolved = &alerts[1].1;
    assert_eq!(resolved.title, "payments-api recovered after 12m");
    assert_eq!(resolved.field("Outage duration"), Some("12m"));
    assert_eq!(
        resolved.field("First failure"),
        Some("status 503 not in [200..299]")
    );
    assert_eq!(resolved.field("Recovered at"), Some("2026-11-18T11:18:40Z"));
    assert_eq!(
        resolved.summary,
        "Down for 12m, from 2026-11-18T11:06:40Z to 2026-11-18T11:18:40Z."
    );
    assert_eq!(resolved.thread_key, alerts[0].1.thread_key);
    assert_eq!(resolved.fingerprint, alerts[0].1.fingerprint);
    assert_ne!(resolved.id, alerts[0].1.id);

    let three = check_with("    success_threshold: 3\n");
    assert_eq!(kinds(&simulate(&three, "FFF SS").0), [(2, "opened")]);
    assert_eq!(
        kinds(&simulate(&three, "FFF SSS").0),
        [(2, "opened"), (5, "resolved")]
    );
}

#[test]
fn reminders_come_on_time_while_still_failing() {
    let check = default_check();
    let (alerts, state) = simulate(&check, &"F".repeat(95));
    // Opened at minute 2; reminders every 30 minutes after it.
    assert_eq!(
        kinds(&alerts),
        [
            (2, "opened"),
            (32, "reminder"),
            (62, "reminder"),
            (92, "reminder")
        ]
    );
    let reminder = &alerts[1].1;
    assert_eq!(reminder.title, "payments-api is still down (32m)");
    assert_eq!(reminder.field("Reminder"), Some("1"));
    assert_eq!(reminder.field("Value seen"), Some("503"));
    assert_eq!(
        reminder.field("First failure"),
        Some("status 503 not in [200..299]")
    );
    assert_eq!(reminder.thread_key, alerts[0].1.thread_key);
    assert_eq!(
        reminder.fingerprint,
        format!("{}:reminder-1", alerts[0].1.fingerprint)
    );
    assert_eq!(alerts[2].1.field("Reminder"), Some("2"));
    assert_eq!(state.incident.unwrap().reminders_sent, 3);

    // Without a reminder interval: silence after the opening.
    let quiet = check_with("");
    assert_eq!(kinds(&simulate(&quiet, &"F".repeat(95)).0), [(2, "opened")]);
}

#[test]
fn a_run_a_moment_early_still_reminds_but_not_a_run_early() {
    let check = default_check();
    let opened_at = T0 + 2 * MINUTE;
    let mut state = simulate(&check, "FFF").1;
    let at = |secs: i64| UnixTime::from_secs(opened_at + secs);
    // One interval early: not yet.
    let (next, alerts) = step(
        &state,
        &result(&check, 503, opened_at),
        at(29 * MINUTE),
        &check,
    );
    assert!(alerts.is_empty());
    state = next;
    // Two seconds early (a schedule's jitter): on time.
    let (_, alerts) = step(
        &state,
        &result(&check, 503, opened_at),
        at(30 * MINUTE - 2),
        &check,
    );
    assert_eq!(alerts.len(), 1);
}

#[test]
fn flapping_below_the_thresholds_sends_nothing() {
    let check = default_check();
    assert_eq!(kinds(&simulate(&check, "FFS FFS FFS FFS").0), []);
    // Once open, single successes do not resolve it: the success streak restarts.
    let (alerts, state) = simulate(&check, "FFF SF SF SF SF S");
    assert_eq!(kinds(&alerts), [(2, "opened")]);
    assert!(state.incident.is_some());
    assert_eq!(state.consecutive_successes, 1);
}

#[test]
fn every_incident_has_its_own_thread_and_ids() {
    let check = default_check();
    let (alerts, _) = simulate(&check, "FFF SS FFF SS");
    assert_eq!(
        kinds(&alerts),
        [
            (2, "opened"),
            (4, "resolved"),
            (7, "opened"),
            (9, "resolved")
        ]
    );
    let threads: Vec<_> = alerts
        .iter()
        .map(|(_, a)| a.thread_key.clone().unwrap())
        .collect();
    assert_eq!(threads[0], threads[1]);
    assert_eq!(threads[2], threads[3]);
    assert_ne!(threads[0], threads[2]);
    let mut ids: Vec<&str> = alerts.iter().map(|(_, a)| a.id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 4);
}

#[test]
fn resolved_is_suppressed_when_send_resolved_is_false() {
    let check = check_with("    send_resolved: false\n");
    let (alerts, state) = simulate(&check, "FFF SS");
    assert_eq!(kinds(&alerts), [(2, "opened")]);
    assert!(
        state.incident.is_none(),
        "the incident is closed all the same"
    );
    // The next outage is a new incident, with a new thread.
    let (alerts, _) = simulate(&check, "FFF SS FFF");
    assert_eq!(kinds(&alerts), [(2, "opened"), (7, "opened")]);
    assert_ne!(alerts[0].1.thread_key, alerts[1].1.thread_key);
}

#[test]
fn a_retried_run_produces_the_same_state_and_ids() {
    let check = default_check();
    let state = simulate(&check, "FF").1;
    let now = UnixTime::from_secs(T0 + 2 * MINUTE);
    let failed = result(&check, 503, now.as_secs());
    let first = step(&state, &failed, now, &check);
    let retry = step(&state, &failed, now, &check);
    assert_eq!(first, retry);
    assert_eq!(first.1.len(), 1);
}

#[test]
fn state_is_plain_serde_data_and_reads_old_items() {
    let check = default_check();
    let state = simulate(&check, "FFF").1;
    let json = serde_json::to_string(&state).unwrap();
    let back: CheckState = serde_json::from_str(&json).unwrap();
    assert_eq!(back, state);
    assert!(json.contains(&format!("\"failing_since\":{T0}")), "{json}");
    // An item written before some field existed.
    let old: CheckState = serde_json::from_str(r#"{"consecutive_failures": 2}"#).unwrap();
    assert_eq!(old.consecutive_failures, 2);
    assert_eq!(old.incident, None);
}

#[test]
fn a_check_is_due_after_its_interval() {
    let check = check_with("    interval: 5m\n");
    let last = T0;
    let state = CheckState {
        last_run_at: Some(UnixTime::from_secs(last)),
        ..CheckState::default()
    };
    assert!(CheckState::default().is_due(&check, UnixTime::from_secs(last)));
    assert!(!state.is_due(&check, UnixTime::from_secs(last + 4 * MINUTE)));
    assert!(state.is_due(&check, UnixTime::from_secs(last + 5 * MINUTE - 2)));
    assert!(state.is_due(&check, UnixTime::from_secs(last + 5 * MINUTE)));
    let after_step = step(
        &state,
        &result(&check, 200, last),
        UnixTime::from_secs(last + 300),
        &check,
    )
    .0;
    assert_eq!(
        after_step.last_run_at,
        Some(UnixTime::from_secs(last + 300))
    );
}

#[test]
fn no_header_value_or_token_reaches_an_alert() {
    const LITERAL: &str = "Bearer literal-secret-9f8e7d";
    const RESOLVED: &str = "resolved-secret-1a2b3c";
    let http: Check = Config::from_yaml(
        &format!(
            "checks:\n  - name: echo\n    url: https://echo.internal/headers?api_key=query-secret-5d6e\n    failure_threshold: 1\n    reminder: 5m\n    headers:\n      Authorization: \"{LITERAL}\"\n      X-Token: {{ ssm: /fleetwatch/echo/token }}\n    conditions:\n      - json: {{ pointer: /headers/Authorization, equals: x }}\n      - json: {{ pointer: /headers/X-Token, equals: x }}\n      - body_contains: never-there\n"
        ),
        Duration::from_secs(60),
    )
    .unwrap()
    .checks()[0]
        .clone();
    // A debug endpoint that echoes the request headers, and an adapter error mentioning one.
    let body =
        format!(r#"{{"headers": {{"Authorization": "{LITERAL}", "X-Token": "{RESOLVED}"}}}}"#);
    let echoed = Observation::Http(Ok(HttpObservation {
        status: 500,
        body: body.into_bytes(),
        ..Default::default()
    }));
    let failed_with_detail = Observation::Http(Err(ProbeError::Other {
        detail: format!("invalid header value {RESOLVED}"),
    }));

    let mut state = CheckState::default();
    let mut alerts = Vec::new();
    for (minute, observation) in [(0, &echoed), (5, &failed_with_detail), (10, &echoed)] {
        let now = UnixTime::from_secs(T0 + minute * MINUTE);
        let mut result = evaluate(&http, observation, now);
        result.redact(&[RESOLVED]);
        let (next, produced) = step(&state, &result, now, &http);
        alerts.extend(produced);
        state = next;
    }
    for minute in [11, 12] {
        let now = UnixTime::from_secs(T0 + minute * MINUTE);
        let ok = Observation::Http(Ok(HttpObservation {
            status: 200,
            ..Default::default()
        }));
        // This check's conditions can never pass (that is what makes it leak-prone); a healthy
        // verdict is what the resolved message needs.
        let healthy = CheckResult {
            healthy: true,
            ..evaluate(&http, &ok, now)
        };
        let (next, produced) = step(&state, &healthy, now, &http);
        alerts.extend(produced);
        state = next;
    }
    assert_eq!(
        alerts.iter().map(kind).collect::<Vec<_>>(),
        ["opened", "reminder", "reminder", "resolved"]
    );
    let text = serde_json::to_string(&alerts).unwrap() + &serde_json::to_string(&state).unwrap();
    for secret in [
        LITERAL,
        "literal-secret-9f8e7d",
        RESOLVED,
        "query-secret-5d6e",
        "/fleetwatch/echo/token",
    ] {
        assert!(!text.contains(secret), "{secret} leaked: {text}");
    }
    assert!(
        text.contains("[redacted]"),
        "the test must exercise redaction: {text}"
    );

    // Jenkins: the API token is an SSM reference and never in what an alert says.
    let jenkins: Check = Config::from_yaml(
        "checks:\n  - name: ci\n    type: jenkins\n    url: https://ci.internal\n    user: monitor\n    api_token: { ssm: /fleetwatch/ci/token }\n    failure_threshold: 1\n",
        Duration::from_secs(60),
    )
    .unwrap()
    .checks()[0]
        .clone();
    let unauthorized = Observation::Jenkins(vec![JenkinsResponse {
        endpoint: JenkinsEndpoint::Controller,
        outcome: Ok(HttpObservation {
            status: 401,
            ..Default::default()
        }),
    }]);
    let now = UnixTime::from_secs(T0);
    let (_, alerts) = step(
        &CheckState::default(),
        &evaluate(&jenkins, &unauthorized, now),
        now,
        &jenkins,
    );
    let text = serde_json::to_string(&alerts).unwrap();
    assert_eq!(
        alerts[0].summary,
        "Jenkins /api/json answered HTTP 401 (check the user and its API token)"
    );
    assert!(
        !text.contains("/fleetwatch/ci/token") && !text.contains("monitor"),
        "{text}"
    );
}

// ------------------------------------------------------------------------------------------
// Property: an alert only ever comes with a change of incident state or a due reminder.

#[derive(Debug, Clone)]
struct Scenario {
    failure_threshold: u32,
    success_threshold: u32,
    send_resolved: bool,
    reminder_minutes: Option<i64>,
    /// (healthy, minutes since the previous run)
    runs: Vec<(bool, i64)>,
}

fn scenario() -> impl Strategy<Value = Scenario> {
    (
        1u32..=4,
        1u32..=4,
        any::<bool>(),
        prop_oneof![Just(None), Just(Some(5)), Just(Some(10))],
        prop::collection::vec((any::<bool>(), 1i64..=3), 1..80),
    )
        .prop_map(
            |(failure_threshold, success_threshold, send_resolved, reminder_minutes, runs)| {
                Scenario {
                    failure_threshold,
                    success_threshold,
                    send_resolved,
                    reminder_minutes,
                    runs,
                }
            },
        )
}

impl Scenario {
    fn check(&self) -> Check {
        let reminder = self
            .reminder_minutes
            .map(|m| format!("    reminder: {m}m\n"))
            .unwrap_or_default();
        check_with(&format!(
            "    failure_threshold: {}\n    success_threshold: {}\n    send_resolved: {}\n{reminder}",
            self.failure_threshold, self.success_threshold, self.send_resolved
        ))
    }
}

proptest! {
    #[test]
    fn no_alert_without_a_state_change_or_a_due_reminder(scenario in scenario()) {
        let check = scenario.check();
        let mut state = CheckState::default();
        let mut at = T0;
        for (healthy, gap) in &scenario.runs {
            at += gap * MINUTE;
            let now = UnixTime::from_secs(at);
            let result = result(&check, if *healthy { 200 } else { 503 }, at);
            let (next, alerts) = step(&state, &result, now, &check);
            prop_assert!(alerts.len() <= 1);

            let opened = state.incident.is_none() && next.incident.is_some();
            let closed = state.incident.is_some() && next.incident.is_none();
            let reminder_due = !healthy
                && !opened
                && state.incident.as_ref().zip(scenario.reminder_minutes).is_some_and(
                    |(incident, every)| at - incident.last_reminder_at.as_secs() >= every * MINUTE,
                );
            match alerts.first().map(kind) {
                Some("opened") => prop_assert!(opened),
                Some("resolved") => prop_assert!(closed && scenario.send_resolved),
                Some("reminder") => prop_assert!(reminder_due),
                Some(other) => prop_assert!(false, "unknown alert {other}"),
                None => prop_assert!(!(opened || reminder_due || (closed && scenario.send_resolved))),
            }
            // Opening and closing happen exactly at the thresholds.
            if opened {
                prop_assert_eq!(next.consecutive_failures, scenario.failure_threshold);
            }
            if closed {
                prop_assert_eq!(next.consecutive_successes, scenario.success_threshold);
            }
            state = next;
        }
    }
}
