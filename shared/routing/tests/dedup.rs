//! Duplicate decisions: same fingerprint and status within the window is a duplicate; a status
//! change always sends.

use fleetwatch_alerts::{Alert, Severity, Source, Status};
use fleetwatch_routing::{PreviousDelivery, Timestamp, dedup_key, should_send};
use std::time::Duration;

fn at(timestamp: &str) -> Timestamp {
    timestamp.parse().unwrap()
}

fn alert(status: Status) -> Alert {
    let mut alert = Alert::new(Source::Cloudwatch, "api 5xx");
    alert.id = "occurrence-1".into();
    alert.fingerprint = "cw:123:api-5xx".into();
    alert.status = status;
    alert.severity = Severity::Warning;
    alert
}

const FIVE_MINUTES: Duration = Duration::from_secs(300);

/// (what, last delivery, alert status, now, window, expected `should_send`)
type Case = (
    &'static str,
    Option<PreviousDelivery>,
    Status,
    &'static str,
    Duration,
    bool,
);

#[test]
fn keys_are_per_destination_and_problem() {
    let firing = alert(Status::Firing);
    assert_eq!(dedup_key(&firing, "ops"), "ops/cw:123:api-5xx");
    assert_eq!(
        dedup_key(&alert(Status::Resolved), "ops"),
        "ops/cw:123:api-5xx"
    );
    assert_eq!(dedup_key(&firing, "deploys"), "deploys/cw:123:api-5xx");

    let mut no_fingerprint = firing.clone();
    no_fingerprint.fingerprint.clear();
    assert_eq!(dedup_key(&no_fingerprint, "ops"), "ops/occurrence-1");
    no_fingerprint.id.clear();
    assert_eq!(dedup_key(&no_fingerprint, "ops"), "ops/cloudwatch:api 5xx");
}

#[test]
fn send_decisions() {
    let sent = at("2026-11-25T12:00:00Z");
    let firing_before = Some(PreviousDelivery {
        status: Status::Firing,
        severity: Some(Severity::Warning),
        sent_at: sent,
    });
    let resolved_before = Some(PreviousDelivery {
        status: Status::Resolved,
        severity: Some(Severity::Warning),
        sent_at: sent,
    });
    #[rustfmt::skip]
    let cases: Vec<Case> = vec![
        ("never sent", None, Status::Firing, "2026-11-25T12:00:00Z", FIVE_MINUTES, true),
        ("same status, same instant", firing_before, Status::Firing, "2026-11-25T12:00:00Z", FIVE_MINUTES, false),
        ("same status, 4m59s later", firing_before, Status::Firing, "2026-11-25T12:04:59Z", FIVE_MINUTES, false),
        ("same status, just under the window", firing_before, Status::Firing, "2026-11-25T12:04:59.999Z", FIVE_MINUTES, false),
        ("same status, exactly the window later", firing_before, Status::Firing, "2026-11-25T12:05:00Z", FIVE_MINUTES, true),
        ("same status, an hour later", firing_before, Status::Firing, "2026-11-25T13:00:00Z", FIVE_MINUTES, true),
        ("firing to resolved, at once", firing_before, Status::Resolved, "2026-11-25T12:00:01Z", FIVE_MINUTES, true),
        ("resolved to firing again, at once", resolved_before, Status::Firing, "2026-11-25T12:00:01Z", FIVE_MINUTES, true),
        ("resolved twice", resolved_before, Status::Resolved, "2026-11-25T12:01:00Z", FIVE_MINUTES, false),
        ("previous stamped in the future", firing_before, Status::Firing, "2026-11-25T11:59:00Z", FIVE_MINUTES, false),
        ("zero window: suppression off", firing_before, Status::Firing, "2026-11-25T12:00:00Z", Duration::ZERO, true),
        ("one-hour window, 30m later", firing_before, Status::Firing, "2026-11-25T12:30:00Z", Duration::from_secs(3600), false),
    ];
    for (what, previous, status, now, window, expected) in cases {
        assert_eq!(
            should_send(previous, &alert(status), at(now), window),
            expected,
            "{what}"
        );
    }
}

#[test]
fn a_severity_change_is_news_and_old_records_compare_by_status_only() {
    let sent = at("2026-11-25T12:00:00Z");
    let now = at("2026-11-25T12:01:00Z");
    let previous = |severity| {
        Some(PreviousDelivery {
            status: Status::Firing,
            severity,
            sent_at: sent,
        })
    };
    let mut failed = alert(Status::Firing);
    failed.severity = Severity::Error;
    // Rolling back (warning), then failed (error): both firing, the second still sends.
    assert!(should_send(
        previous(Some(Severity::Warning)),
        &failed,
        now,
        FIVE_MINUTES
    ));
    assert!(!should_send(
        previous(Some(Severity::Error)),
        &failed,
        now,
        FIVE_MINUTES
    ));
    // A record without a severity (written by an older version): status alone decides.
    assert!(!should_send(previous(None), &failed, now, FIVE_MINUTES));
}
