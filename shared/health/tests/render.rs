//! The Slack messages of one incident, rendered by `fleetwatch_alerts::render` exactly as
//! slack-fanout would post them: opened, reminder, resolved (HTTP), and a Jenkins opening.

use fleetwatch_alerts::{Alert, RenderOptions, render};
use fleetwatch_health::{
    Check, CheckState, Config, HttpObservation, JenkinsEndpoint, JenkinsResponse, Observation,
    UnixTime, evaluate, step,
};
use std::time::Duration;

const T0: i64 = 1_795_000_000;

fn documented_check(name: &str) -> Check {
    let text = include_str!("../../../events/health/checks.yaml");
    let config = Config::from_yaml(text, Duration::from_secs(60)).unwrap();
    config.check(name).unwrap().clone()
}

/// Runs the check once a minute with these observations; every alert produced.
fn incident(check: &Check, runs: &[(i64, Observation)]) -> Vec<Alert> {
    let mut state = CheckState::default();
    let mut alerts = Vec::new();
    for (minute, observation) in runs {
        let now = UnixTime::from_secs(T0 + minute * 60);
        let result = evaluate(check, observation, now);
        let (next, produced) = step(&state, &result, now, check);
        alerts.extend(produced);
        state = next;
    }
    alerts
}

fn payments(status: u16, body: &str, millis: u64, certificate_days: i64) -> Observation {
    Observation::Http(Ok(HttpObservation {
        status,
        headers: vec![("content-type".into(), "application/json".into())],
        body: body.as_bytes().to_vec(),
        body_truncated: false,
        latency: Duration::from_millis(millis),
        tls_cert_not_after: Some(T0 + certificate_days * 86_400),
    }))
}

#[test]
fn opened_reminder_and_resolved_messages() {
    // payments-api: failure threshold 3, success threshold 2, reminder 30m (defaults).
    let check = documented_check("payments-api");
    // Down: every condition fails, the certificate too (6 days left); up after its renewal.
    let down = || payments(503, r#"{"status": "DOWN", "db": "timeout"}"#, 1450, 6);
    let up = || payments(200, r#"{"status": "UP"}"#, 95, 90);
    let mut runs: Vec<(i64, Observation)> = (0..40).map(|minute| (minute, down())).collect();
    runs.push((40, up()));
    runs.push((41, up()));
    let alerts = incident(&check, &runs);
    let titles: Vec<&str> = alerts.iter().map(|a| a.title.as_str()).collect();
    assert_eq!(
        titles,
        [
            "payments-api is down",
            "payments-api is still down (32m)",
            "payments-api recovered after 40m"
        ]
    );
    for (name, alert) in ["opened", "reminder", "resolved"].iter().zip(&alerts) {
        insta::assert_json_snapshot!(*name, render(alert, &RenderOptions::default()));
    }
}

#[test]
fn jenkins_opened_message() {
    let check = documented_check("jenkins");
    let quieting = br#"{"_class":"hudson.model.Hudson","mode":"NORMAL","quietingDown":true}"#;
    let queue = br#"{"_class":"hudson.model.Queue","items":[{"id":7,"blocked":false,"buildable":true,"inQueueSince":1794998200000,"stuck":true,"task":{"name":"deploy-prod"},"why":"Waiting for next available executor"}]}"#;
    let answer = |endpoint, body: &[u8]| JenkinsResponse {
        endpoint,
        outcome: Ok(HttpObservation {
            status: 200,
            body: body.to_vec(),
            latency: Duration::from_millis(310),
            ..Default::default()
        }),
    };
    let observation = || {
        Observation::Jenkins(vec![
            answer(JenkinsEndpoint::Controller, quieting),
            answer(
                JenkinsEndpoint::Computers,
                br#"{"computer":[{"displayName":"ecs-agent-1","offline":false,"numExecutors":2},{"displayName":"ecs-agent-2","offline":true,"numExecutors":2}]}"#,
            ),
            answer(JenkinsEndpoint::Queue, queue),
            answer(
                JenkinsEndpoint::LastBuild { job: "deploy-prod".into() },
                br#"{"number":413,"result":"SUCCESS","building":false}"#,
            ),
            answer(
                JenkinsEndpoint::LastBuild { job: "platform/nightly-backup".into() },
                br#"{"number":212,"result":"FAILURE","building":false}"#,
            ),
        ])
    };
    // Interval 2m: runs at minutes 0, 2, 4.
    let alerts = incident(
        &check,
        &[(0, observation()), (2, observation()), (4, observation())],
    );
    assert_eq!(alerts.len(), 1);
    insta::assert_json_snapshot!(
        "jenkins_opened",
        render(&alerts[0], &RenderOptions::default())
    );
}
