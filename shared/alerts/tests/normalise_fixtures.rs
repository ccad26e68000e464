//! Each fixture normalised, with the facts that matter asserted. The fixtures are written from
//! the documented payload formats (see tests/fixtures/).

use fleetwatch_alerts::{
    Alert, Envelope, NormaliseError, Normalised, PayloadKind, Severity, Source, Status, normalise,
};

fn normalised(payload: &str) -> Normalised {
    normalise(payload).expect("fixture normalises")
}

fn only_alert(payload: &str) -> (Normalised, Alert) {
    let n = normalised(payload);
    assert_eq!(n.alerts.len(), 1, "{:?}", n.alerts);
    let alert = n.alerts[0].clone();
    (n, alert)
}

fn link<'a>(alert: &'a Alert, title: &str) -> Option<&'a str> {
    alert
        .links
        .iter()
        .find(|l| l.title == title)
        .map(|l| l.url.as_str())
}

const SINGLE_METRIC: &str = include_str!("fixtures/cloudwatch-sns-single-metric.json");
const METRIC_MATH: &str = include_str!("fixtures/cloudwatch-sns-metric-math.json");
const ANOMALY: &str = include_str!("fixtures/cloudwatch-sns-anomaly-null-description.json");
const EVENTBRIDGE_ALARM: &str = include_str!("fixtures/cloudwatch-eventbridge-state-change.json");
const LAMBDA_ACTION: &str = include_str!("fixtures/cloudwatch-lambda-action.json");
const AM_MIXED: &str = include_str!("fixtures/alertmanager-two-firing-one-resolved.json");
const AM_NO_FINGERPRINT: &str = include_str!("fixtures/alertmanager-without-fingerprints.json");
const HEALTH_ISSUE: &str = include_str!("fixtures/health-issue.json");
const HEALTH_SCHEDULED: &str = include_str!("fixtures/health-scheduled-change.json");
const SNS_TEXT: &str = include_str!("fixtures/sns-plain-text.json");
const OWN_ALERT: &str = include_str!("fixtures/own-alert.json");
const UNKNOWN: &str = include_str!("fixtures/unknown.json");

#[test]
fn cloudwatch_single_metric_via_sns_lambda_event() {
    let (n, alert) = only_alert(SINGLE_METRIC);
    assert_eq!(n.kind, PayloadKind::CloudwatchAlarmSns);
    assert_eq!(n.envelopes, [Envelope::SnsLambdaEvent]);
    assert_eq!(n.unknown_records, 0);
    assert_eq!(alert.source, Source::Cloudwatch);
    assert_eq!(alert.title, "prod-api-5xx-rate");
    assert_eq!(
        alert.fingerprint,
        "arn:aws:cloudwatch:eu-west-1:111122223333:alarm:prod-api-5xx-rate"
    );
    assert_eq!(
        (alert.status, alert.severity),
        (Status::Firing, Severity::Error)
    );
    assert!(
        alert
            .summary
            .starts_with("Threshold Crossed: 2 out of the last 3")
    );
    assert_eq!(
        alert.occurred_at.as_deref(),
        Some("2025-11-25T18:56:12.104+00:00")
    );
    assert_eq!(
        alert.field("Metric"),
        Some(
            "AWS/ApplicationELB HTTPCode_Target_5XX_Count (LoadBalancer=app/prod-api/50dc6c495c0c9188, \
             TargetGroup=targetgroup/prod-api/6d0ecf831eec9f09) · SUM · 60 s"
        )
    );
    assert_eq!(alert.field("Threshold"), Some(">= 5"));
    assert_eq!(alert.field("Evaluation"), Some("2 of 3 datapoints"));
    // The region code comes from the ARN; the human name is only shown.
    assert_eq!(alert.field("Region"), Some("eu-west-1 · EU (Ireland)"));
    assert_eq!(alert.labels["region"], "eu-west-1");
    assert_eq!(alert.labels["alarm_name"], "prod-api-5xx-rate");
    assert_eq!(alert.labels["namespace"], "AWS/ApplicationELB");
    assert_eq!(
        link(&alert, "Open alarm in console"),
        Some(
            "https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#alarmsV2:alarm/prod-api-5xx-rate"
        )
    );
}

#[test]
fn cloudwatch_id_is_deterministic_and_changes_with_the_state_change() {
    let (_, first) = only_alert(SINGLE_METRIC);
    let (_, again) = only_alert(SINGLE_METRIC);
    assert_eq!(first.id, again.id, "a redelivery must get the same id");

    let later = SINGLE_METRIC.replace(
        "2025-11-25T18:56:12.104+0000",
        "2025-11-25T19:56:12.104+0000",
    );
    let (_, later) = only_alert(&later);
    assert_ne!(first.id, later.id);
    assert_eq!(first.fingerprint, later.fingerprint);
}

#[test]
fn cloudwatch_metric_math_via_sns_notification_envelope_resolves() {
    let (n, alert) = only_alert(METRIC_MATH);
    assert_eq!(n.kind, PayloadKind::CloudwatchAlarmSns);
    assert_eq!(n.envelopes, [Envelope::SnsNotification]);
    assert_eq!(alert.status, Status::Resolved);
    // Leaving ALARM: resolved keeps ALARM's severity, so it routes where the alert went.
    assert_eq!(alert.severity, Severity::Error);
    assert_eq!(alert.field("State"), Some("OK (was ALARM)"));
    assert_eq!(
        alert.field("Metric"),
        Some("e1 = 100 * errors / requests (Error ratio %)")
    );
    assert_eq!(alert.field("Threshold"), Some("> 2"));
    assert_eq!(
        alert.field("Queries"),
        Some(
            "errors = Shop/API Errors (Service=orders) · Sum · 60 s\n\
             requests = Shop/API Requests (Service=orders) · Sum · 60 s"
        )
    );
    assert_eq!(
        alert.field("Region"),
        Some("us-east-1 · US East (N. Virginia)")
    );
    assert!(
        !alert.labels.contains_key("metric_name"),
        "an expression has no metric name"
    );
}

#[test]
fn cloudwatch_anomaly_detection_with_null_description() {
    let (n, alert) = only_alert(ANOMALY);
    assert_eq!(n.kind, PayloadKind::CloudwatchAlarmSns);
    assert!(n.envelopes.is_empty());
    assert_eq!(
        (alert.status, alert.severity),
        (Status::Firing, Severity::Error)
    );
    assert_eq!(alert.field("Description"), None);
    assert_eq!(
        alert.field("Metric"),
        Some(
            "AWS/ApplicationELB TargetResponseTime (LoadBalancer=app/checkout/8e2f7a1b3c4d5e6f) · p99 · 5 min"
        )
    );
    assert_eq!(
        alert.field("Threshold"),
        Some("outside the band ANOMALY_DETECTION_BAND(m1, 2)")
    );
    assert_eq!(
        alert.field("Queries"),
        None,
        "the band is shown as the threshold"
    );
    assert_eq!(alert.labels["metric_name"], "TargetResponseTime");
    assert_eq!(alert.labels["region"], "eu-central-1");
}

#[test]
fn cloudwatch_eventbridge_insufficient_data_is_a_firing_warning() {
    let (n, alert) = only_alert(EVENTBRIDGE_ALARM);
    assert_eq!(n.kind, PayloadKind::CloudwatchAlarmEventbridge);
    assert_eq!(
        (alert.status, alert.severity),
        (Status::Firing, Severity::Warning)
    );
    assert_eq!(
        alert.fingerprint,
        "arn:aws:cloudwatch:eu-west-1:111122223333:alarm:ecs-prod-memory-reservation"
    );
    assert_eq!(alert.field("State"), Some("INSUFFICIENT_DATA (was OK)"));
    // EventBridge has no threshold in `configuration`: it comes from `reasonData`.
    assert_eq!(alert.field("Threshold"), Some("85"));
    assert_eq!(
        alert.field("Metric"),
        Some("AWS/ECS MemoryReservation (ClusterName=prod) · Maximum · 60 s")
    );
    assert_eq!(
        alert.occurred_at.as_deref(),
        Some("2025-11-25T19:20:31.405+00:00")
    );
    assert_eq!(alert.labels["account_id"], "111122223333");
}

#[test]
fn cloudwatch_lambda_alarm_action() {
    let (n, alert) = only_alert(LAMBDA_ACTION);
    assert_eq!(n.kind, PayloadKind::CloudwatchAlarmLambdaAction);
    assert_eq!(alert.title, "queue-backlog-high");
    assert_eq!(
        alert.fingerprint,
        "arn:aws:cloudwatch:us-west-2:777788889999:alarm:queue-backlog-high"
    );
    assert_eq!(
        (alert.status, alert.severity),
        (Status::Firing, Severity::Error)
    );
    assert_eq!(alert.field("Threshold"), Some("10000"));
    assert_eq!(
        alert.field("Description"),
        Some("Jobs queue is not being drained")
    );
    assert!(
        link(&alert, "Open alarm in console")
            .unwrap()
            .contains("region=us-west-2")
    );
}

#[test]
fn the_same_state_change_has_one_id_whichever_way_it_came() {
    // The Lambda action and an EventBridge event for the same change: same ARN, time, state.
    let (_, action) = only_alert(LAMBDA_ACTION);
    let event = serde_json::json!({
        "version": "0", "id": "x", "detail-type": "CloudWatch Alarm State Change",
        "source": "aws.cloudwatch", "account": "777788889999", "time": "2025-11-25T19:25:00Z",
        "region": "us-west-2",
        "resources": ["arn:aws:cloudwatch:us-west-2:777788889999:alarm:queue-backlog-high"],
        "detail": {
            "alarmName": "queue-backlog-high",
            "state": {"value": "ALARM", "timestamp": "2025-11-25T19:25:00.117+0000"}
        }
    });
    let (_, via_eventbridge) = only_alert(&event.to_string());
    assert_eq!(action.id, via_eventbridge.id);
    assert_eq!(action.fingerprint, via_eventbridge.fingerprint);
}

#[test]
fn cloudwatch_message_without_arn_gets_its_region_from_the_human_name() {
    let message = serde_json::json!({
        "AlarmName": "Example", "AlarmDescription": "d", "AWSAccountId": "000000000000",
        "NewStateValue": "ALARM", "NewStateReason": "Threshold Crossed",
        "StateChangeTime": "2017-01-12T16:30:42.236+0000", "Region": "EU - Ireland",
        "OldStateValue": "OK"
    });
    let (_, alert) = only_alert(&message.to_string());
    assert_eq!(
        alert.fingerprint,
        "arn:aws:cloudwatch:eu-west-1:000000000000:alarm:Example"
    );
    assert_eq!(alert.labels["region"], "eu-west-1");
    assert!(link(&alert, "Open alarm in console").is_some());
}

#[test]
fn cloudwatch_message_of_the_wrong_shape_falls_back_to_generic() {
    let message = r#"{"AlarmName": ["not", "a", "string"], "NewStateValue": "ALARM"}"#;
    let n = normalised(message);
    assert_eq!(n.kind, PayloadKind::Unknown);
    assert_eq!(n.unknown_records, 1);
    assert_eq!(n.alerts[0].source, Source::Generic);
    assert!(
        n.warnings[0].contains("cloudwatch_alarm_sns"),
        "{:?}",
        n.warnings
    );
}

#[test]
fn alertmanager_gives_one_alert_per_entry_with_its_status() {
    let n = normalised(AM_MIXED);
    assert_eq!(n.kind, PayloadKind::Alertmanager);
    let statuses: Vec<Status> = n.alerts.iter().map(|a| a.status).collect();
    assert_eq!(statuses, [Status::Firing, Status::Firing, Status::Resolved]);
    let severities: Vec<Severity> = n.alerts.iter().map(|a| a.severity).collect();
    assert_eq!(
        severities,
        [Severity::Critical, Severity::Warning, Severity::Critical]
    );
    let fingerprints: Vec<&str> = n.alerts.iter().map(|a| a.fingerprint.as_str()).collect();
    assert_eq!(
        fingerprints,
        ["5ab8e9c1d2f30471", "9c0d1e2f3a4b5c6d", "0f1e2d3c4b5a6978"]
    );

    let first = &n.alerts[0];
    assert_eq!(first.source, Source::Alertmanager);
    assert_eq!(first.title, "KubePodCrashLooping");
    assert_eq!(
        first.summary,
        "Pod payments/payments-api-7c9d8f6b5-x2k4q is crash looping"
    );
    assert!(
        first
            .field("Description")
            .unwrap()
            .contains("OOMKilled <check limits>")
    );
    assert_eq!(first.labels["namespace"], "payments");
    assert_eq!(
        first.labels["cluster"], "prod-eu",
        "common labels are merged in"
    );
    assert_eq!(
        first.occurred_at.as_deref(),
        Some("2025-11-25T19:05:00.000Z")
    );
    assert_eq!(
        first.field("Started"),
        None,
        "while firing, the start is the alert's time"
    );
    assert_eq!(
        link(first, "Runbook"),
        Some("https://runbooks.example.com/KubePodCrashLooping"),
        "URL annotations (here a common one) become links"
    );
    assert!(
        link(first, "Source")
            .unwrap()
            .starts_with("https://prometheus.example.com/graph")
    );
    let silence = link(first, "Silence").unwrap();
    assert!(
        silence.starts_with("https://alertmanager.example.com/#/silences/new?filter=%7Balertname%3D%22KubePodCrashLooping%22"),
        "{silence}"
    );
    assert!(silence.contains("pod%3D%22payments-api-7c9d8f6b5-x2k4q%22"));

    let resolved = &n.alerts[2];
    assert_eq!(
        resolved.occurred_at.as_deref(),
        Some("2025-11-25T19:08:00.000Z")
    );
    assert_eq!(resolved.field("Started"), Some("2025-11-25T18:40:00.000Z"));
    assert_eq!(resolved.field("Ended"), Some("2025-11-25T19:08:00.000Z"));
    assert_eq!(
        link(resolved, "Silence"),
        None,
        "nothing to silence once resolved"
    );

    let mut ids: Vec<&str> = n.alerts.iter().map(|a| a.id.as_str()).collect();
    ids.dedup();
    assert_eq!(ids.len(), 3);
}

#[test]
fn alertmanager_resolution_is_a_new_occurrence_of_the_same_problem() {
    let firing = normalised(AM_MIXED).alerts.remove(0);
    let resolved_payload = AM_MIXED.replacen(
        "\"status\": \"firing\",\n      \"labels\"",
        "\"status\": \"resolved\",\n      \"labels\"",
        1,
    );
    let resolved = normalised(&resolved_payload).alerts.remove(0);
    assert_eq!(resolved.status, Status::Resolved);
    assert_eq!(firing.fingerprint, resolved.fingerprint);
    assert_ne!(firing.id, resolved.id);
}

#[test]
fn alertmanager_without_fingerprint_computes_alertmanagers_own() {
    let (_, alert) = only_alert(AM_NO_FINGERPRINT);
    // FNV-1a over the sorted labels, as Alertmanager computes it: stable across redeliveries
    // and equal to what a newer sender would send.
    assert_eq!(alert.fingerprint.len(), 16);
    assert!(alert.fingerprint.chars().all(|c| c.is_ascii_hexdigit()));
    let (_, again) = only_alert(AM_NO_FINGERPRINT);
    assert_eq!(alert.fingerprint, again.fingerprint);
    assert_eq!(
        alert.severity,
        Severity::Warning,
        "no severity label: warning"
    );
    assert_eq!(alert.title, "TargetDown");
    assert!(
        link(&alert, "Silence")
            .unwrap()
            .starts_with("http://alertmanager.internal:9093/#/silences/new?filter=")
    );
}

#[test]
fn health_issue_is_a_firing_error_with_its_entities() {
    let (n, alert) = only_alert(HEALTH_ISSUE);
    assert_eq!(n.kind, PayloadKind::AwsHealth);
    assert_eq!(alert.source, Source::AwsHealth);
    assert_eq!(
        (alert.status, alert.severity),
        (Status::Firing, Severity::Error)
    );
    assert_eq!(alert.title, "EC2: Operational issue");
    assert!(
        alert
            .summary
            .starts_with("We are investigating increased API error rates")
    );
    assert_eq!(alert.field("Service"), Some("EC2"));
    assert_eq!(alert.field("Category"), Some("Issue"));
    assert_eq!(alert.field("Region"), Some("eu-west-1"));
    assert_eq!(
        alert.field("Affected entities"),
        Some("i-0a1b2c3d4e5f60718 (cluster=prod, role=ecs-host)\ni-0f1e2d3c4b5a69788")
    );
    assert_eq!(
        alert.fingerprint,
        "arn:aws:health:eu-west-1::event/EC2/AWS_EC2_OPERATIONAL_ISSUE/AWS_EC2_OPERATIONAL_ISSUE_7F2A9C1B3D4E#111122223333"
    );
    assert_eq!(alert.labels["service"], "EC2");
    assert_eq!(alert.labels["event_type_category"], "issue");
    assert!(
        link(&alert, "Open in AWS Health")
            .unwrap()
            .contains("eventID=arn%3Aaws%3Ahealth")
    );
}

#[test]
fn health_scheduled_change_is_a_warning_and_closed_resolves_it() {
    let (_, upcoming) = only_alert(HEALTH_SCHEDULED);
    assert_eq!(
        (upcoming.status, upcoming.severity),
        (Status::Firing, Severity::Warning)
    );
    assert_eq!(upcoming.title, "RDS: Maintenance scheduled");
    assert_eq!(
        upcoming.field("Start"),
        Some("Tue, 09 Dec 2025 03:00:00 GMT")
    );
    assert_eq!(upcoming.field("End"), Some("Tue, 09 Dec 2025 05:00:00 GMT"));

    let closed = HEALTH_SCHEDULED
        .replace("\"upcoming\"", "\"closed\"")
        .replace("07:59:12", "08:30:00");
    let (_, closed) = only_alert(&closed);
    assert_eq!(
        (closed.status, closed.severity),
        (Status::Resolved, Severity::Warning)
    );
    assert_eq!(closed.fingerprint, upcoming.fingerprint);
    assert_ne!(closed.id, upcoming.id);
}

#[test]
fn health_account_notification_is_info() {
    let event = HEALTH_SCHEDULED.replace("\"scheduledChange\"", "\"accountNotification\"");
    let (_, alert) = only_alert(&event);
    assert_eq!(alert.severity, Severity::Info);
}

#[test]
fn plain_text_sns_through_sqs_is_an_info_alert_titled_by_subject() {
    let (n, alert) = only_alert(SNS_TEXT);
    assert_eq!(n.kind, PayloadKind::SnsText);
    assert_eq!(
        n.envelopes,
        [Envelope::SqsLambdaEvent, Envelope::SnsNotification]
    );
    assert_eq!(alert.source, Source::SnsText);
    assert_eq!(
        (alert.status, alert.severity),
        (Status::Firing, Severity::Info)
    );
    assert_eq!(
        alert.title,
        "AWS Budgets: monthly-total has exceeded your alert threshold"
    );
    assert!(
        alert
            .summary
            .starts_with("AWS Budget Notification November 25, 2025")
    );
    assert_eq!(
        alert.occurred_at.as_deref(),
        Some("2025-11-25T06:00:41.337Z")
    );
    assert_eq!(alert.labels["topic"], "budget-alerts");
}

#[test]
fn sns_message_that_parses_as_a_json_scalar_is_still_text() {
    let event = serde_json::json!({"Records": [{"EventSource": "aws:sns", "Sns": {
        "Type": "Notification", "MessageId": "m-1", "Message": "42", "Timestamp": "2025-11-25T00:00:00Z"
    }}]});
    let (n, alert) = only_alert(&event.to_string());
    assert_eq!(n.kind, PayloadKind::SnsText);
    assert_eq!(
        alert.title, "42",
        "no subject: the first line of the message"
    );
}

#[test]
fn own_alert_passes_through_unchanged() {
    let (n, alert) = only_alert(OWN_ALERT);
    assert_eq!(n.kind, PayloadKind::Alert);
    let expected: Alert = serde_json::from_str(OWN_ALERT).unwrap();
    assert_eq!(alert, expected);
    assert_eq!(alert.source, Source::EcsEvents);
    assert_eq!(alert.thread_key.as_deref(), Some("ecs-svc/123"));
}

#[test]
fn own_alert_without_id_and_fingerprint_gets_deterministic_ones() {
    let payload = r#"{"source": "health_check", "title": "jenkins down", "status": "firing",
                      "labels": {"check": "jenkins"}, "occurred_at": "2025-11-25T10:00:00Z"}"#;
    let (_, a) = only_alert(payload);
    let (_, b) = only_alert(payload);
    assert!(!a.id.is_empty() && !a.fingerprint.is_empty());
    assert_eq!((&a.id, &a.fingerprint), (&b.id, &b.fingerprint));
    let resolved = payload.replace("\"firing\"", "\"resolved\"");
    let (_, r) = only_alert(&resolved);
    assert_eq!(r.fingerprint, a.fingerprint);
    assert_ne!(r.id, a.id);
}

#[test]
fn invalid_own_alert_is_shown_generically_and_counted_not_lost() {
    let n = normalised(
        r#"{"source": "capacity", "title": "Scale-out stuck", "severity": "apocalyptic"}"#,
    );
    assert_eq!(n.kind, PayloadKind::Unknown);
    assert_eq!(n.unknown_records, 1);
    assert!(
        n.warnings[0].contains("unknown severity"),
        "{:?}",
        n.warnings
    );
    assert_eq!(n.alerts[0].title, "Scale-out stuck");
    assert_eq!(n.alerts[0].source, Source::Generic);
}

#[test]
fn array_of_own_alerts_gives_each_of_them() {
    let two = format!("[{OWN_ALERT}, {OWN_ALERT}]");
    let n = normalised(&two);
    assert_eq!(n.kind, PayloadKind::Alert);
    assert_eq!(n.alerts.len(), 2);
    assert!(n.envelopes.is_empty());
    assert_eq!(normalise("[]").unwrap_err(), NormaliseError::EmptyBatch);
    let err = normalise("[{\"a\": 1}, 3]").map(|n| n.unknown_records);
    assert_eq!(
        err,
        Ok(2),
        "scalars in an array are unknown payloads, still shown"
    );
}

#[test]
fn alertmanager_truncated_group_is_a_warning() {
    let payload = AM_NO_FINGERPRINT.replace(
        "\"version\": \"4\",",
        "\"version\": \"4\", \"truncatedAlerts\": 3,",
    );
    let n = normalised(&payload);
    assert_eq!(n.kind, PayloadKind::Alertmanager);
    assert!(
        n.warnings[0].contains("left out 3 alerts"),
        "{:?}",
        n.warnings
    );
}

#[test]
fn composite_alarm_from_eventbridge_shows_its_rule() {
    let event = serde_json::json!({
        "version": "0", "id": "c-1", "detail-type": "CloudWatch Alarm State Change",
        "source": "aws.cloudwatch", "account": "111122223333", "time": "2025-11-25T20:00:00Z",
        "region": "eu-west-1",
        "resources": ["arn:aws:cloudwatch:eu-west-1:111122223333:alarm:checkout-degraded"],
        "detail": {
            "alarmName": "checkout-degraded",
            "state": {"value": "ALARM", "reason": "arn:...:alarm:a transitioned to ALARM", "timestamp": "2025-11-25T20:00:00.000+0000"},
            "previousState": {"value": "OK", "timestamp": "2025-11-25T10:00:00.000+0000"},
            "configuration": {"alarmRule": "ALARM(latency) AND ALARM(errors)", "description": null}
        }
    });
    let (n, alert) = only_alert(&event.to_string());
    assert_eq!(n.kind, PayloadKind::CloudwatchAlarmEventbridge);
    assert_eq!(
        alert.field("Rule"),
        Some("ALARM(latency) AND ALARM(errors)")
    );
    assert_eq!(alert.field("Metric"), None);
    assert_eq!(alert.status, Status::Firing);
}

#[test]
fn unknown_json_becomes_a_counted_generic_alert() {
    let (n, alert) = only_alert(UNKNOWN);
    assert_eq!(n.kind, PayloadKind::Unknown);
    assert_eq!(n.unknown_records, 1);
    assert_eq!(alert.source, Source::Generic);
    assert_eq!(
        alert.title,
        "HTTPS check 'status page' failed from 3 of 5 locations"
    );
    assert_eq!(alert.field("event_type"), Some("check.failed"));
    assert_eq!(alert.field("locations_failed"), Some("3"));
    assert_eq!(alert.field("retrying"), Some("false"));
    assert_eq!(alert.field("check"), None, "objects are not fields");
    assert_eq!(alert.occurred_at.as_deref(), Some("2025-11-25T19:42:10Z"));
    let (_, again) = only_alert(UNKNOWN);
    assert_eq!(alert.id, again.id);
}

#[test]
fn unknown_json_fields_are_bounded() {
    let mut object = serde_json::Map::new();
    for i in 0..500 {
        object.insert(
            format!("key{i:03}"),
            serde_json::Value::String("v".repeat(10_000)),
        );
    }
    let (_, alert) = only_alert(&serde_json::Value::Object(object).to_string());
    assert_eq!(alert.fields.len(), 20);
    assert!(alert.fields.iter().all(|f| f.value.chars().count() <= 500));
    assert_eq!(alert.title, "Unrecognised event");
}

#[test]
fn eventbridge_event_of_unknown_type_takes_its_facts_from_detail() {
    let event = serde_json::json!({
        "version": "0", "id": "e-1", "detail-type": "ECS Deployment State Change",
        "source": "aws.ecs", "account": "111122223333", "time": "2025-11-25T12:31:14Z",
        "region": "us-west-2", "resources": ["arn:aws:ecs:us-west-2:111122223333:service/default/api"],
        "detail": {"eventType": "ERROR", "eventName": "SERVICE_DEPLOYMENT_FAILED",
                   "reason": "ECS deployment circuit breaker: task failed to start."}
    });
    let (n, alert) = only_alert(&event.to_string());
    assert_eq!(n.kind, PayloadKind::Unknown);
    assert_eq!(alert.title, "ECS Deployment State Change");
    assert_eq!(
        alert.summary,
        "ECS deployment circuit breaker: task failed to start."
    );
    assert_eq!(alert.severity, Severity::Error);
    assert_eq!(alert.field("eventName"), Some("SERVICE_DEPLOYMENT_FAILED"));
    assert_eq!(alert.labels["detail_type"], "ECS Deployment State Change");
    assert_eq!(alert.labels["event_source"], "aws.ecs");
}

#[test]
fn invalid_json_is_an_error_with_the_reason() {
    for payload in ["", "{", "not json", "{\"a\": 1,}"] {
        match normalise(payload) {
            Err(NormaliseError::InvalidJson { reason }) => assert!(!reason.is_empty()),
            other => panic!("{payload:?}: {other:?}"),
        }
    }
}

#[test]
fn sqs_record_with_invalid_body_names_the_record() {
    let event = serde_json::json!({"Records": [
        {"eventSource": "aws:sqs", "body": OWN_ALERT},
        {"eventSource": "aws:sqs", "body": "{broken"}
    ]});
    let err = normalise(&event.to_string()).unwrap_err();
    assert!(
        matches!(&err, NormaliseError::Record { index: 1, error } if matches!(**error, NormaliseError::InvalidJson { .. })),
        "{err}"
    );
}

#[test]
fn sqs_batch_of_mixed_kinds_gives_all_alerts_and_counts_the_unknown() {
    let event = serde_json::json!({"Records": [
        {"eventSource": "aws:sqs", "body": OWN_ALERT},
        {"eventSource": "aws:sqs", "body": AM_MIXED},
        {"eventSource": "aws:sqs", "body": UNKNOWN}
    ]});
    let n = normalised(&event.to_string());
    assert_eq!(n.kind, PayloadKind::Mixed);
    assert_eq!(n.alerts.len(), 1 + 3 + 1);
    assert_eq!(n.unknown_records, 1);
    assert_eq!(n.envelopes, [Envelope::SqsLambdaEvent]);
}

#[test]
fn empty_lambda_batch_is_an_error() {
    assert_eq!(
        normalise(r#"{"Records": []}"#).unwrap_err(),
        NormaliseError::EmptyBatch
    );
}

/// Free text copied from payloads (Alertmanager annotations, which Loki rules fill with log
/// lines; alarm descriptions; SNS messages; unknown JSON) is redacted on the way in; identity
/// and labels are not touched.
#[test]
fn free_text_from_payloads_is_redacted_and_identity_kept() {
    let webhook = serde_json::json!({
        "version": "4", "groupKey": "g", "receiver": "r", "status": "firing",
        "alerts": [{
            "status": "firing",
            "labels": {"alertname": "LogErrors", "job": "token=label-value-1"},
            "annotations": {
                "summary": "auth failed: Authorization: Bearer abc123",
                "description": "db at postgres://app:hunter2@db:5432 refused",
                "log_line": "AKIAIOSFODNN7EXAMPLE used",
                "runbook_url": "https://wiki.example.com/run?api_key=k123"
            },
            "startsAt": "2025-11-25T19:05:00Z",
            "fingerprint": "0123456789abcdef"
        }]
    });
    let (_, alert) = only_alert(&webhook.to_string());
    assert_eq!(
        alert.summary,
        "auth failed: Authorization: Bearer <redacted>"
    );
    assert_eq!(
        alert.field("Description"),
        Some("db at postgres://app:<redacted>@db:5432 refused")
    );
    assert_eq!(alert.field("log_line"), Some("<redacted> used"));
    assert_eq!(
        link(&alert, "Runbook"),
        Some("https://wiki.example.com/run?api_key=<redacted>")
    );
    // Routing and identity see what the source sent.
    assert_eq!(alert.labels["job"], "token=label-value-1");
    assert_eq!(alert.fingerprint, "0123456789abcdef");

    let mut alarm: serde_json::Value = serde_json::from_str(SINGLE_METRIC).unwrap();
    let sns = &mut alarm["Records"][0]["Sns"];
    let mut message: serde_json::Value =
        serde_json::from_str(sns["Message"].as_str().unwrap()).unwrap();
    message["AlarmDescription"] = "Runbook: curl -H 'X-Api-Key: k-9f8e7d' https://x".into();
    sns["Message"] = message.to_string().into();
    let (_, alert) = only_alert(&alarm.to_string());
    assert_eq!(
        alert.field("Description"),
        Some("Runbook: curl -H 'X-Api-Key: <redacted>' https://x")
    );

    let sns = serde_json::json!({
        "Type": "Notification", "MessageId": "m-1", "Subject": "backup failed",
        "Message": "restore with AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    });
    let (_, alert) = only_alert(&sns.to_string());
    assert_eq!(
        alert.summary,
        "restore with AWS_SECRET_ACCESS_KEY=<redacted>"
    );

    let unknown = serde_json::json!({"title": "job done", "message": "sent with xoxb-1-2-abc"});
    let (_, alert) = only_alert(&unknown.to_string());
    assert_eq!(alert.summary, "sent with <redacted>");
}

/// A summary or field longer than a Slack section could show is cut on the way in.
#[test]
fn free_text_is_capped_per_field() {
    let long = "x".repeat(10_000);
    let own = serde_json::json!({
        "source": "my_job", "title": "t", "severity": "error",
        "summary": long, "fields": [{"name": "Output", "value": long}]
    });
    let (_, alert) = only_alert(&own.to_string());
    let cap = fleetwatch_alerts::MAX_UNTRUSTED_FIELD_CHARS;
    assert_eq!(alert.summary.chars().count(), cap);
    assert_eq!(alert.field("Output").unwrap().chars().count(), cap);
}

/// Text is sent `verbatim`, so Slack no longer links bare URLs in it: the URLs that the
/// authors of alarm descriptions and AWS Health events wrote there become buttons instead.
#[test]
fn urls_in_alarm_and_health_descriptions_become_links() {
    let (_, alert) = only_alert(SINGLE_METRIC);
    assert_eq!(
        link(&alert, "wiki.example.com"),
        Some("https://wiki.example.com/runbooks/api-5xx")
    );

    let mut event: serde_json::Value = serde_json::from_str(HEALTH_ISSUE).unwrap();
    event["detail"]["eventDescription"][0]["latestDescription"] = "See \
        https://docs.aws.amazon.com/ec2/guide.html, or (https://status.example.com/x). \
        Again: https://docs.aws.amazon.com/ec2/guide.html javascript:alert(1) \
        https://a.example/1 https://b.example/2 https://c.example/3"
        .into();
    let (_, alert) = only_alert(&event.to_string());
    let urls: Vec<&str> = alert.links.iter().skip(1).map(|l| l.url.as_str()).collect();
    // In order, each once, no trailing punctuation, http(s) only, at most three.
    assert_eq!(
        urls,
        [
            "https://docs.aws.amazon.com/ec2/guide.html",
            "https://status.example.com/x",
            "https://a.example/1"
        ]
    );
    assert_eq!(alert.links[1].title, "docs.aws.amazon.com");
}
