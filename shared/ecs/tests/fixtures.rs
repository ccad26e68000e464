//! Every fixture in `events/ecs/`: alert fixtures render to the snapshotted Slack message and
//! carry the expected identity, severity, labels and fields; noise fixtures are dropped with the
//! expected rule and reason.

use fleetwatch_alerts::{Alert, RenderOptions, Severity, Status, render};
use fleetwatch_ecs::{Classified, EcsEvent, NoisePolicy, NoiseRule, classify, dedup_key};

const DEPLOYMENT_ID: &str = "ecs-svc/4827391650284617001";
const DEPLOYMENT_FINGERPRINT: &str = "ecs:prod:checkout:deployment:ecs-svc/4827391650284617001";
const TASK_FAILURES: &str = "ecs:prod:checkout:task-failures";

fn fixture(name: &str) -> String {
    let path = format!(
        "{}/../../events/ecs/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn alert_of(name: &str) -> Alert {
    match classify(&fixture(name), &NoisePolicy::default()).unwrap() {
        Classified::Alerts(mut alerts) => {
            assert_eq!(alerts.len(), 1, "{name}");
            alerts.remove(0)
        }
        Classified::Dropped(dropped) => panic!("{name} was dropped: {dropped:?}"),
    }
}

fn label<'a>(alert: &'a Alert, name: &str) -> Option<&'a str> {
    alert.labels.get(name).map(String::as_str)
}

struct Expected {
    fixture: &'static str,
    title: &'static str,
    severity: Severity,
    status: Status,
    event: &'static str,
    fingerprint: &'static str,
    thread_key: Option<&'static str>,
    fields: &'static [(&'static str, &'static str)],
}

const ALERTS: &[Expected] = &[
    Expected {
        fixture: "deployment-in-progress",
        title: "Deployment of checkout started",
        severity: Severity::Info,
        status: Status::Firing,
        event: "deployment_started",
        fingerprint: DEPLOYMENT_FINGERPRINT,
        thread_key: Some(DEPLOYMENT_ID),
        fields: &[
            ("Cluster", "prod"),
            ("Service", "checkout"),
            ("Deployment", DEPLOYMENT_ID),
        ],
    },
    Expected {
        fixture: "deployment-rollback",
        title: "Deployment of checkout is rolling back",
        severity: Severity::Warning,
        status: Status::Firing,
        event: "deployment_rollback",
        fingerprint: DEPLOYMENT_FINGERPRINT,
        thread_key: Some(DEPLOYMENT_ID),
        fields: &[("Rolling back to", "ecs-svc/4827391650284617000")],
    },
    Expected {
        fixture: "deployment-failed",
        title: "Deployment of checkout failed",
        severity: Severity::Error,
        status: Status::Firing,
        event: "deployment_failed",
        fingerprint: DEPLOYMENT_FINGERPRINT,
        thread_key: Some(DEPLOYMENT_ID),
        fields: &[("Event", "SERVICE_DEPLOYMENT_FAILED")],
    },
    Expected {
        fixture: "deployment-completed",
        title: "Deployment of checkout completed",
        severity: Severity::Info,
        status: Status::Resolved,
        event: "deployment_completed",
        fingerprint: DEPLOYMENT_FINGERPRINT,
        thread_key: Some(DEPLOYMENT_ID),
        fields: &[("Deployment", DEPLOYMENT_ID)],
    },
    Expected {
        fixture: "service-placement-failure",
        title: "Tasks of checkout cannot be placed: not enough memory",
        severity: Severity::Error,
        status: Status::Firing,
        event: "placement_failure",
        fingerprint: "ecs:prod:checkout:placement-failure",
        thread_key: None,
        fields: &[
            ("Missing", "not enough memory"),
            ("Reason", "RESOURCE:MEMORY"),
            ("Capacity providers", "prod-ondemand"),
        ],
    },
    Expected {
        // Declared WARN, but a start impairment is an error: severity is never lowered.
        fixture: "service-start-impaired",
        title: "Tasks of checkout are failing to start",
        severity: Severity::Error,
        status: Status::Firing,
        event: "start_impaired",
        fingerprint: "ecs:prod:checkout:start-impaired",
        thread_key: None,
        fields: &[("Event", "SERVICE_TASK_START_IMPAIRED")],
    },
    Expected {
        fixture: "service-configuration-failure",
        title: "Task configuration of checkout failed",
        severity: Severity::Error,
        status: Status::Firing,
        event: "configuration_failure",
        fingerprint: "ecs:prod:checkout:configuration-failure",
        thread_key: None,
        fields: &[("Cluster", "prod")],
    },
    Expected {
        fixture: "task-stopped-exit-code",
        title: "Task of checkout stopped: app exited with code 1",
        severity: Severity::Error,
        status: Status::Firing,
        event: "task_stopped",
        fingerprint: TASK_FAILURES,
        thread_key: Some(DEPLOYMENT_ID),
        fields: &[
            ("Task definition", "checkout:42"),
            ("Container", "app"),
            ("Exit code", "1"),
            ("Image", "v2.7.0"),
            ("Stop code", "EssentialContainerExited"),
        ],
    },
    Expected {
        fixture: "task-stopped-oom",
        title: "Task of checkout stopped: app ran out of memory",
        severity: Severity::Error,
        status: Status::Firing,
        event: "task_stopped",
        fingerprint: TASK_FAILURES,
        thread_key: Some(DEPLOYMENT_ID),
        fields: &[
            ("Container", "app"),
            ("Exit code", "137"),
            (
                "Reason",
                "OutOfMemoryError: Container killed due to memory usage",
            ),
        ],
    },
    Expected {
        fixture: "task-failed-to-start-image-pull",
        title: "Task of checkout failed to start: the image could not be pulled",
        severity: Severity::Error,
        status: Status::Firing,
        event: "task_stopped",
        fingerprint: TASK_FAILURES,
        thread_key: Some(DEPLOYMENT_ID),
        fields: &[
            ("Stop code", "TaskFailedToStart"),
            ("Task", "b2c3d4e5f6a70819203b4c5d6e7f8a91"),
            ("Container", "app"),
            ("Image", "v2.7.0"),
        ],
    },
    Expected {
        fixture: "task-failed-to-start-secrets",
        title: "Task of checkout failed to start: secrets or resources could not be initialised",
        severity: Severity::Error,
        status: Status::Firing,
        event: "task_stopped",
        fingerprint: TASK_FAILURES,
        thread_key: Some(DEPLOYMENT_ID),
        fields: &[("Stop code", "TaskFailedToStart")],
    },
    Expected {
        fixture: "task-failed-health-check",
        title: "Task of checkout failed its health checks",
        severity: Severity::Error,
        status: Status::Firing,
        event: "task_stopped",
        fingerprint: TASK_FAILURES,
        thread_key: Some(DEPLOYMENT_ID),
        fields: &[("Stop code", "ServiceSchedulerInitiated")],
    },
    Expected {
        fixture: "asg-launch-unsuccessful",
        title: "Auto Scaling group prod-ecs-ondemand failed to launch an instance",
        severity: Severity::Error,
        status: Status::Firing,
        event: "instance_launch_failed",
        fingerprint: "asg:prod-ecs-ondemand:instance-launch-failed",
        thread_key: None,
        fields: &[
            ("Auto Scaling group", "prod-ecs-ondemand"),
            ("Availability zone", "eu-west-1b"),
            ("Subnet", "subnet-0a1b2c3d4e5f67890"),
        ],
    },
    Expected {
        fixture: "asg-terminate-unsuccessful",
        title: "Auto Scaling group prod-ecs-ondemand failed to terminate an instance",
        severity: Severity::Error,
        status: Status::Firing,
        event: "instance_terminate_failed",
        fingerprint: "asg:prod-ecs-ondemand:instance-terminate-failed",
        thread_key: None,
        fields: &[("Instance", "i-0a1b2c3d4e5f67890")],
    },
    Expected {
        fixture: "container-instance-registration-failed",
        title: "Container instance i-0a9b8c7d6e5f40312 failed to register",
        severity: Severity::Error,
        status: Status::Firing,
        event: "instance_registration_failed",
        fingerprint: "ecs:prod:i-0a9b8c7d6e5f40312:registration-failed",
        thread_key: None,
        fields: &[
            ("Cluster", "prod"),
            ("Instance", "i-0a9b8c7d6e5f40312"),
            ("Container instance", "7c6d5e4f3a210b3f9c2e6d7a4e1f9a8b"),
        ],
    },
];

#[test]
fn alert_fixtures_classify_and_render() {
    for expected in ALERTS {
        let name = expected.fixture;
        let alert = alert_of(name);
        assert_eq!(alert.title, expected.title, "{name}");
        assert_eq!(alert.severity, expected.severity, "{name}");
        assert_eq!(alert.status, expected.status, "{name}");
        assert_eq!(label(&alert, "event"), Some(expected.event), "{name}");
        assert_eq!(label(&alert, "account"), Some("123456789012"), "{name}");
        assert_eq!(label(&alert, "region"), Some("eu-west-1"), "{name}");
        assert_eq!(alert.fingerprint, expected.fingerprint, "{name}");
        assert_eq!(alert.thread_key.as_deref(), expected.thread_key, "{name}");
        assert_eq!(alert.id.len(), 32, "{name}");
        assert!(!alert.summary.is_empty(), "{name}: empty summary");
        assert!(alert.occurred_at.is_some(), "{name}: no time");
        for (field_name, value) in expected.fields {
            assert_eq!(
                alert.field(field_name),
                Some(*value),
                "{name}: field {field_name}"
            );
        }
        if name.starts_with("container-instance-") {
            assert_eq!(label(&alert, "cluster"), Some("prod"), "{name}");
        } else if !name.starts_with("asg-") {
            assert_eq!(label(&alert, "cluster"), Some("prod"), "{name}");
            assert_eq!(label(&alert, "service"), Some("checkout"), "{name}");
            assert_eq!(
                alert.links[0].url,
                "https://eu-west-1.console.aws.amazon.com/ecs/v2/clusters/prod/services/checkout/health?region=eu-west-1",
                "{name}"
            );
        }
        let message = render(&alert, &RenderOptions::default());
        insta::assert_json_snapshot!(name, message);
    }
}

#[test]
fn stopped_tasks_link_to_the_task() {
    let alert = alert_of("task-stopped-exit-code");
    let task_link = alert
        .links
        .iter()
        .find(|l| l.title == "Stopped task")
        .unwrap();
    assert_eq!(
        task_link.url,
        "https://eu-west-1.console.aws.amazon.com/ecs/v2/clusters/prod/tasks/f3c1a7b2e9d84c56a0b1c2d3e4f5a6b7/configuration?region=eu-west-1"
    );
    assert_eq!(label(&alert, "stop_kind"), Some("exit"));
    assert_eq!(
        label(&alert_of("task-stopped-oom"), "stop_kind"),
        Some("oom")
    );
    assert_eq!(
        label(&alert_of("task-failed-health-check"), "stop_kind"),
        Some("unhealthy")
    );
}

#[test]
fn noise_fixtures_are_dropped_with_their_reason() {
    let cases = [
        (
            "noise-service-steady-state",
            NoiseRule::SteadyState,
            "reached steady state",
        ),
        (
            "noise-task-stopped-routine-deployment",
            NoiseRule::RoutineStop,
            "stopped by the service scheduler",
        ),
        (
            "noise-task-stopped-user-initiated",
            NoiseRule::UserInitiatedStop,
            "stopped by a user",
        ),
        (
            "noise-container-instance-agent-reconnect",
            NoiseRule::AgentReconnect,
            "reconnects by design",
        ),
        ("noise-task-running", NoiseRule::NotStopped, "is RUNNING"),
    ];
    for (name, rule, reason) in cases {
        let classified = classify(&fixture(name), &NoisePolicy::default()).unwrap();
        let dropped = classified
            .dropped()
            .unwrap_or_else(|| panic!("{name} was not dropped: {classified:?}"));
        assert_eq!(dropped.rule, rule, "{name}");
        assert!(
            dropped.reason.contains(reason),
            "{name}: {}",
            dropped.reason
        );
    }
}

#[test]
fn switching_a_rule_off_turns_its_noise_into_an_info_alert() {
    let policy = NoisePolicy {
        drop_steady_state: false,
        ..NoisePolicy::default()
    };
    let classified = classify(&fixture("noise-service-steady-state"), &policy).unwrap();
    let alert = &classified.alerts()[0];
    assert_eq!(alert.severity, Severity::Info);
    assert_eq!(label(alert, "event"), Some("steady_state"));
}

#[test]
fn a_redelivered_task_event_has_the_same_dedup_key_and_alert_id() {
    let json = fixture("task-stopped-exit-code");
    let mut redelivered: serde_json::Value = serde_json::from_str(&json).unwrap();
    // A redelivery may come in a new envelope; the task's ARN and version stay.
    redelivered["id"] = "another-envelope-id".into();
    redelivered["time"] = "2026-11-20T10:05:19Z".into();
    let redelivered = redelivered.to_string();

    let key = dedup_key(&EcsEvent::parse(&json).unwrap());
    assert_eq!(
        key.as_deref(),
        Some(
            "task:arn:aws:ecs:eu-west-1:123456789012:task/prod/f3c1a7b2e9d84c56a0b1c2d3e4f5a6b7#5"
        )
    );
    assert_eq!(key, dedup_key(&EcsEvent::parse(&redelivered).unwrap()));
    let policy = NoisePolicy::default();
    assert_eq!(
        classify(&json, &policy).unwrap().alerts()[0].id,
        classify(&redelivered, &policy).unwrap().alerts()[0].id
    );

    // The next version of the same task is a new state, not a duplicate.
    let mut next: serde_json::Value = serde_json::from_str(&json).unwrap();
    next["detail"]["version"] = 6.into();
    assert_ne!(key, dedup_key(&EcsEvent::parse(&next.to_string()).unwrap()));

    // Events without a version dedup by their EventBridge id.
    let deployment = EcsEvent::parse(&fixture("deployment-failed")).unwrap();
    assert_eq!(
        dedup_key(&deployment).as_deref(),
        Some("event:0d6c1e7a-3b2f-4c9d-8e1a-5f4b3c2d1e03")
    );
}

#[test]
fn a_deployment_story_shares_one_thread_and_completed_resolves_it() {
    let story: Vec<Alert> = [
        "deployment-in-progress",
        "task-failed-to-start-image-pull",
        "deployment-rollback",
        "deployment-failed",
        "deployment-completed",
    ]
    .iter()
    .map(|name| alert_of(name))
    .collect();
    assert!(
        story
            .iter()
            .all(|a| a.thread_key.as_deref() == Some(DEPLOYMENT_ID))
    );
    let deployment_alerts: Vec<&Alert> = story
        .iter()
        .filter(|a| a.fingerprint.contains(":deployment:"))
        .collect();
    assert_eq!(deployment_alerts.len(), 4);
    let completed = deployment_alerts.last().unwrap();
    assert_eq!(completed.status, Status::Resolved);
    for alert in &deployment_alerts[..3] {
        assert_eq!(alert.status, Status::Firing, "{}", alert.title);
        assert_eq!(alert.fingerprint, completed.fingerprint);
    }
    // Ids differ per occurrence.
    let mut ids: Vec<&str> = story.iter().map(|a| a.id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), story.len());
}

#[test]
fn the_real_sample_shapes_classify() {
    // The documented AWS sample of a failed deployment, inline (minimal, no cluster in the ARN
    // short form) and an unknown detail type.
    let failed = r#"{"version": "0", "id": "x", "detail-type": "ECS Deployment State Change",
        "source": "aws.ecs", "account": "1", "time": "2020-05-23T12:31:14Z", "region": "us-west-2",
        "resources": ["arn:aws:ecs:us-west-2:1:service/servicetest"],
        "detail": {"eventType": "ERROR", "eventName": "SERVICE_DEPLOYMENT_FAILED",
                   "deploymentId": "ecs-svc/123", "updatedAt": "2020-05-23T11:11:11Z",
                   "reason": "ECS deployment circuit breaker: task failed to start."}}"#;
    let classified = classify(failed, &NoisePolicy::default()).unwrap();
    let alert = &classified.alerts()[0];
    assert_eq!(
        alert.fingerprint,
        "ecs:-:servicetest:deployment:ecs-svc/123"
    );
    assert!(alert.links.is_empty(), "no cluster, no console link");

    let other = r#"{"detail-type": "EC2 Instance Launch Successful", "detail": {}}"#;
    let classified = classify(other, &NoisePolicy::default()).unwrap();
    assert_eq!(classified.dropped().unwrap().rule, NoiseRule::Unsupported);
}

/// Enriched messages as Slack shows them: a failed deployment with its change and counts, a
/// crashed container with its last log lines and log link, and an alert whose lookups failed.
#[test]
fn enriched_alerts_render_to_the_snapshotted_slack_message() {
    use fleetwatch_ecs::{Enrichment, enrich};

    let deployment = Enrichment {
        task_definition_before: Some("checkout:42".into()),
        task_definition_after: Some("checkout:43".into()),
        image_tag_before: Some("v2.6.3".into()),
        image_tag_after: Some("v2.7.0".into()),
        desired_count: Some(4),
        running_count: Some(1),
        pending_count: Some(1),
        failed_task_count: Some(3),
        ..Enrichment::default()
    };
    let crash = Enrichment {
        desired_count: Some(4),
        running_count: Some(3),
        pending_count: Some(1),
        log_stream_url: Some(
            "https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#logsV2:log-groups/log-group/$252Fecs$252Fcheckout/log-events/ecs$252Fapp$252F0f1e2d3c4b5a69788796a5b4c3d2e1f0".into(),
        ),
        last_log_lines: vec![
            "2026-11-20T10:04:58Z INFO  checkout: order 81723 accepted".into(),
            "2026-11-20T10:04:59Z WARN  checkout: heap usage 97% (497/512 MiB)".into(),
            "Exception in thread \"main\" java.lang.OutOfMemoryError: Java heap space".into(),
            "\tat com.acme.checkout.Cart.price(Cart.java:88) `with backticks` & <angle>".into(),
        ],
        ..Enrichment::default()
    };
    let failed = Enrichment {
        unavailable: Some(
            "DescribeServices: AccessDeniedException: not authorized to perform ecs:DescribeServices"
                .into(),
        ),
        ..Enrichment::default()
    };
    for (fixture, enrichment, name) in [
        (
            "deployment-failed",
            deployment,
            "enriched-deployment-failed",
        ),
        ("task-stopped-oom", crash, "enriched-task-stopped-oom"),
        (
            "task-stopped-exit-code",
            failed,
            "enrichment-failed-task-stopped-exit-code",
        ),
    ] {
        let mut alert = alert_of(fixture);
        enrich(&mut alert, &enrichment);
        insta::assert_json_snapshot!(name, render(&alert, &RenderOptions::default()));
    }
}

/// A crashed container whose last log lines carry secrets and URLs, as Slack shows it: every
/// secret redacted, request paths and URLs as plain text (never links, never buttons), only
/// the task's own console links as buttons.
#[test]
fn enriched_alert_with_secrets_and_urls_in_its_log_lines_renders_redacted() {
    use fleetwatch_ecs::{Enrichment, enrich};

    let crash = Enrichment {
        log_stream_url: Some(
            "https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#logsV2:log-groups/log-group/$252Fecs$252Fcheckout/log-events/ecs$252Fapp$252F0f1e2d3c4b5a69788796a5b4c3d2e1f0".into(),
        ),
        last_log_lines: vec![
            "2026-11-20T10:04:57Z INFO  config: AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into(),
            "2026-11-20T10:04:58Z INFO  db: connecting to postgres://checkout:Sup3rS3cret@orders-db.internal:5432/orders".into(),
            "2026-11-20T10:04:58Z DEBUG http: GET https://payments.example.com/v1/charge?api_key=pk_live_51H8 Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJjaGVja291dCJ9.c2lnbmF0dXJl".into(),
            "2026-11-20T10:04:58Z INFO  slack: notifying with xoxb-2048-4096-AbCdEfGhIjKlMnOpQrStUv".into(),
            "2026-11-20T10:04:59Z WARN  request: POST /login?next=https://evil.example/phish password=hunter2 from www.evil.example".into(),
            "-----BEGIN RSA PRIVATE KEY-----".into(),
            "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gunVTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u".into(),
            "-----END RSA PRIVATE KEY-----".into(),
            "Exception in thread \"main\" java.lang.OutOfMemoryError: Java heap space".into(),
        ],
        ..Enrichment::default()
    };
    let mut alert = alert_of("task-stopped-oom");
    enrich(&mut alert, &crash);
    let message = render(&alert, &RenderOptions::default());
    let json = serde_json::to_string(&message).unwrap();
    for secret in [
        "AKIAIOSFODNN7EXAMPLE",
        "wJalrXUtnFEMI",
        "Sup3rS3cret",
        "pk_live_51H8",
        "eyJhbGciOiJIUzI1NiJ9",
        "xoxb-2048",
        "hunter2",
        "MIIEowIBAAKCAQEA",
    ] {
        assert!(!json.contains(secret), "{secret} reached Slack: {json}");
    }
    insta::assert_json_snapshot!("enriched-task-stopped-secrets-in-logs", message);
}
