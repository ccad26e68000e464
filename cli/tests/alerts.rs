//! `fleetwatch alerts render|route|send` on the sample payloads of `events/alerts/`, the ECS and
//! Auto Scaling events of `events/ecs/` and the example routing configuration of
//! `events/routing/`; `send` against the Slack fake.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use fleetwatch_test_support::slack::{SlackFake, WebhookError};
use serde_json::Value;

const CLOUDWATCH: &str = "cloudwatch-alarm-sns.json";
const ALERTMANAGER: &str = "alertmanager-two-alerts.json";
const OWN_ALERT: &str = "own-alert.json";
const HEALTH: &str = "aws-health-eventbridge.json";
const UNKNOWN: &str = "unknown-jenkins-notification.json";
/// (file, alerts it holds)
const SAMPLES: &[(&str, usize)] = &[
    (CLOUDWATCH, 1),
    (ALERTMANAGER, 2),
    (OWN_ALERT, 1),
    (HEALTH, 1),
    (UNKNOWN, 1),
];

fn events(dir: &str, name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../events")
        .join(dir)
        .join(name)
        .to_str()
        .unwrap()
        .to_string()
}

fn sample(name: &str) -> String {
    events("alerts", name)
}

fn routing_config() -> String {
    events("routing", "routing.yaml")
}

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fleetwatch"))
        .args(args)
        .output()
        .unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn every_sample_renders_in_the_plain_layout() {
    for (name, alerts) in SAMPLES {
        let output = run(&["alerts", "render", &sample(name)]);
        assert!(output.status.success(), "{name}: {}", stderr(&output));
        let text = stdout(&output);
        assert_eq!(text.matches("text: [").count(), *alerts, "{name}:\n{text}");
        assert_eq!(
            text.matches("colour: #").count(),
            *alerts,
            "{name}:\n{text}"
        );
        assert!(
            text.starts_with(&format!("== {}: ", sample(name))),
            "{text}"
        );
    }
    let cloudwatch = stdout(&run(&["alerts", "render", &sample(CLOUDWATCH)]));
    for expected in [
        "text: [FIRING error] prod-ecs-api-cpu-high",
        ":red_circle: [FIRING] prod-ecs-api-cpu-high",
        "Threshold: > 85",
        "in an SNS Lambda event",
    ] {
        assert!(cloudwatch.contains(expected), "{expected}:\n{cloudwatch}");
    }
}

#[test]
fn json_output_is_one_exact_slack_payload_per_line() {
    let files: Vec<String> = SAMPLES.iter().map(|(name, _)| sample(name)).collect();
    let mut args = vec!["alerts", "render", "--json"];
    args.extend(files.iter().map(String::as_str));
    let output = run(&args);
    assert!(output.status.success(), "{}", stderr(&output));
    let payloads: Vec<Value> = stdout(&output)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let expected: usize = SAMPLES.iter().map(|(_, alerts)| alerts).sum();
    assert_eq!(payloads.len(), expected);
    for payload in &payloads {
        let object = payload.as_object().unwrap();
        assert_eq!(object.len(), 2, "{payload}");
        assert!(!payload["text"].as_str().unwrap().is_empty());
        let attachment = &payload["attachments"][0];
        assert!(attachment["color"].as_str().unwrap().starts_with('#'));
        assert_eq!(attachment["blocks"][0]["type"], "header");
    }
}

#[test]
fn unknown_json_gets_the_generic_layout_and_a_note() {
    let output = run(&["alerts", "render", &sample(UNKNOWN)]);
    assert_eq!(output.status.code(), Some(0));
    assert!(stdout(&output).contains("unknown shape (generic layout)"));
    assert!(stdout(&output).contains("text: [FIRING warning] nightly-backup"));
    assert!(
        stderr(&output).contains(&format!("{}: note: ", sample(UNKNOWN))),
        "{}",
        stderr(&output)
    );
}

#[test]
fn invalid_json_and_unreadable_files_are_exit_status_2_and_the_others_still_render() {
    let dir = tempfile::tempdir().unwrap();
    let broken = write(dir.path(), "broken.json", "{\"AlarmName\": ");
    let missing = dir.path().join("missing.json");
    let output = run(&[
        "alerts",
        "render",
        broken.to_str().unwrap(),
        missing.to_str().unwrap(),
        &sample(OWN_ALERT),
    ]);
    assert_eq!(output.status.code(), Some(2));
    let errors = stderr(&output);
    assert!(
        errors.contains(&format!("{}: payload is not valid JSON", broken.display())),
        "{errors}"
    );
    assert!(
        errors.contains(&format!("{}: cannot read", missing.display())),
        "{errors}"
    );
    assert!(stdout(&output).contains("Deployment of api rolled back"));
}

#[test]
fn route_explains_where_each_alert_goes_and_why() {
    let output = run(&[
        "alerts",
        "route",
        "--config",
        &routing_config(),
        &sample(OWN_ALERT),
        &sample(HEALTH),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    for expected in [
        "[FIRING error] Deployment of api rolled back\n",
        "  route deployments: matched (continue)\n",
        "  deliver to deploys via route deployments, dedup window 5m\n",
        "  deliver to ops via route prod-errors, dedup window 5m\n",
        "  no route matched: default_route applies\n",
    ] {
        assert!(text.contains(expected), "{expected}\n{text}");
    }
}

#[test]
fn every_sample_routes_with_the_example_configuration() {
    let mut args = vec!["alerts".to_string(), "route".into(), "--config".into()];
    args.push(routing_config());
    args.extend(SAMPLES.iter().map(|(name, _)| sample(name)));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = run(&args);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    // The rolled-back deployment goes to two destinations; the platform route's weekend-night
    // mute window may hold the resolved Alertmanager alert back, depending on when this runs.
    let routed = text.matches("  deliver to ").count() + text.matches("  dropped: muted").count();
    assert_eq!(routed, 7, "{text}");
}

#[test]
fn a_broken_routing_configuration_is_exit_status_2_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let config = write(
        dir.path(),
        "routing.yaml",
        "destinations:\n  ops: { webhook_url_parameter: /p/ops }\nroutes:\n  - name: all\n    destinations: [ops]\n    contine: true\n",
    );
    let output = run(&[
        "alerts",
        "route",
        "--config",
        config.to_str().unwrap(),
        &sample(OWN_ALERT),
    ]);
    assert_eq!(output.status.code(), Some(2));
    let errors = stderr(&output);
    assert!(errors.contains(&config.display().to_string()), "{errors}");
    assert!(errors.contains("line 6"), "{errors}");
    assert_eq!(stdout(&output), "");
}

/// The Slack fake with the example configuration's destinations, and a secrets file for them.
struct SlackSetup {
    fake: SlackFake,
    ops_webhook: String,
    platform_webhook: String,
    _dir: tempfile::TempDir,
    secrets: PathBuf,
}

const BOT_TOKEN: &str = "xoxb-test-token-1234";

fn slack_setup() -> SlackSetup {
    let fake = SlackFake::start();
    let ops_webhook = fake.add_webhook("ops");
    let platform_webhook = fake.add_webhook("platform");
    fake.set_token(BOT_TOKEN);
    fake.add_channel("deploys");
    let dir = tempfile::tempdir().unwrap();
    let secrets = write(
        dir.path(),
        "secrets.yaml",
        &format!(
            "/fleetwatch/slack/ops-webhook: {ops_webhook}\n/fleetwatch/slack/platform-webhook: {platform_webhook}\n/fleetwatch/slack/bot-token: {BOT_TOKEN}\n"
        ),
    );
    SlackSetup {
        fake,
        ops_webhook,
        platform_webhook,
        _dir: dir,
        secrets,
    }
}

fn send(setup: &SlackSetup, files: &[&str]) -> Output {
    let files: Vec<String> = files.iter().map(|name| sample(name)).collect();
    send_files(setup, &files)
}

fn send_files(setup: &SlackSetup, files: &[String]) -> Output {
    let api_base = setup.fake.api_base_url();
    let mut args = vec![
        "alerts".to_string(),
        "send".into(),
        "--config".into(),
        routing_config(),
        "--secrets".into(),
        setup.secrets.to_str().unwrap().into(),
        "--api-base".into(),
        api_base,
    ];
    args.extend(files.iter().cloned());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    run(&args)
}

fn assert_no_secret_in(output: &Output, setup: &SlackSetup) {
    let all = format!("{}{}", stdout(output), stderr(output));
    for secret in [
        setup.ops_webhook.as_str(),
        setup.platform_webhook.as_str(),
        "fakeSecret",
        "/services/",
        BOT_TOKEN,
    ] {
        assert!(!all.contains(secret), "{secret} printed:\n{all}");
    }
}

#[test]
fn send_delivers_every_routed_alert_to_slack() {
    let setup = slack_setup();
    // Not the Alertmanager sample: its platform route has a weekend-night mute window.
    let output = send(&setup, &[OWN_ALERT, CLOUDWATCH, HEALTH]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let ops = setup.fake.delivered(&setup.ops_webhook);
    let titles: Vec<String> = ops
        .iter()
        .map(|m| m.text.clone().unwrap_or_default())
        .collect();
    assert_eq!(
        titles,
        [
            "[FIRING error] Deployment of api rolled back",
            "[FIRING error] prod-ecs-api-cpu-high",
            "[FIRING warning] EC2: Instance retirement scheduled",
        ],
        "{}",
        stdout(&output)
    );
    // The exact payload `alerts render --json` prints.
    let rendered = stdout(&run(&["alerts", "render", "--json", &sample(CLOUDWATCH)]));
    let expected: Value = serde_json::from_str(rendered.trim()).unwrap();
    assert_eq!(ops[1].payload, expected);
    let deploys = setup.fake.delivered("deploys");
    assert_eq!(deploys.len(), 1);
    assert_eq!(
        deploys[0].text.as_deref(),
        Some("[FIRING error] Deployment of api rolled back")
    );
    let text = stdout(&output);
    assert!(
        text.contains("Outcome: 4 delivered in 4 Slack message(s) (0 digest(s)), 0 dead-lettered, 0 message(s) left for a retry"),
        "{text}"
    );
    assert_no_secret_in(&output, &setup);
}

#[test]
fn a_broken_webhook_is_dead_lettered_with_the_reason_and_exit_status_1() {
    let setup = slack_setup();
    assert!(
        setup
            .fake
            .break_webhook(&setup.ops_webhook, WebhookError::ChannelNotFound)
    );
    let output = send(&setup, &[OWN_ALERT]);
    assert_eq!(output.status.code(), Some(1), "{}", stdout(&output));
    let text = stdout(&output);
    assert!(
        text.contains("[FIRING error] Deployment of api rolled back -> ops")
            && text.contains("dead-lettered: HTTP 404: channel_not_found"),
        "{text}"
    );
    assert!(text.contains("1 dead-lettered"), "{text}");
    // The other destination still got it.
    assert_eq!(setup.fake.delivered("deploys").len(), 1);
    assert!(setup.fake.delivered(&setup.ops_webhook).is_empty());
    assert_no_secret_in(&output, &setup);
}

#[test]
fn a_secret_missing_from_the_secrets_file_is_exit_status_2_before_anything_is_sent() {
    let setup = slack_setup();
    std::fs::write(
        &setup.secrets,
        format!("/fleetwatch/slack/ops-webhook: {}\n", setup.ops_webhook),
    )
    .unwrap();
    let output = send(&setup, &[OWN_ALERT]);
    assert_eq!(output.status.code(), Some(2));
    let errors = stderr(&output);
    assert!(
        errors.contains("destination deploys: ") && errors.contains("/fleetwatch/slack/bot-token"),
        "{errors}"
    );
    assert!(setup.fake.all_messages().is_empty());
    assert_no_secret_in(&output, &setup);
}

// ECS and Auto Scaling events (`events/ecs/`): classified by fleetwatch-ecs, noise dropped.

/// (fixture, the alert's one-line text): the titles of `shared/ecs/tests/fixtures.rs`.
const ECS_ALERTS: &[(&str, &str)] = &[
    (
        "asg-launch-unsuccessful.json",
        "[FIRING error] Auto Scaling group prod-ecs-ondemand failed to launch an instance",
    ),
    (
        "asg-terminate-unsuccessful.json",
        "[FIRING error] Auto Scaling group prod-ecs-ondemand failed to terminate an instance",
    ),
    (
        "container-instance-registration-failed.json",
        "[FIRING error] Container instance i-0a9b8c7d6e5f40312 failed to register",
    ),
    (
        "deployment-completed.json",
        "[RESOLVED info] Deployment of checkout completed",
    ),
    (
        "deployment-failed.json",
        "[FIRING error] Deployment of checkout failed",
    ),
    (
        "deployment-in-progress.json",
        "[FIRING info] Deployment of checkout started",
    ),
    (
        "deployment-rollback.json",
        "[FIRING warning] Deployment of checkout is rolling back",
    ),
    (
        "service-configuration-failure.json",
        "[FIRING error] Task configuration of checkout failed",
    ),
    (
        "service-placement-failure.json",
        "[FIRING error] Tasks of checkout cannot be placed: not enough memory",
    ),
    (
        "service-start-impaired.json",
        "[FIRING error] Tasks of checkout are failing to start",
    ),
    (
        "task-failed-health-check.json",
        "[FIRING error] Task of checkout failed its health checks",
    ),
    (
        "task-failed-to-start-image-pull.json",
        "[FIRING error] Task of checkout failed to start: the image could not be pulled",
    ),
    (
        "task-failed-to-start-secrets.json",
        "[FIRING error] Task of checkout failed to start: secrets or resources could not be initialised",
    ),
    (
        "task-stopped-exit-code.json",
        "[FIRING error] Task of checkout stopped: app exited with code 1",
    ),
    (
        "task-stopped-oom.json",
        "[FIRING error] Task of checkout stopped: app ran out of memory",
    ),
];

/// (fixture, the noise rule that drops it)
const ECS_NOISE: &[(&str, &str)] = &[
    (
        "noise-container-instance-agent-reconnect.json",
        "agent_reconnect",
    ),
    ("noise-service-steady-state.json", "steady_state"),
    ("noise-task-running.json", "not_stopped"),
    ("noise-task-stopped-routine-deployment.json", "routine_stop"),
    (
        "noise-task-stopped-user-initiated.json",
        "user_initiated_stop",
    ),
];

fn ecs(name: &str) -> String {
    events("ecs", name)
}

/// Every `.json` file of `events/ecs/`, by name.
fn ecs_fixtures() -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../events/ecs");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".json"))
        .collect();
    names.sort();
    names
}

#[test]
fn every_ecs_fixture_is_listed_as_an_alert_or_as_noise() {
    let mut listed: Vec<String> = ECS_ALERTS
        .iter()
        .chain(ECS_NOISE)
        .map(|(name, _)| name.to_string())
        .collect();
    listed.sort();
    assert_eq!(ecs_fixtures(), listed);
}

#[test]
fn every_ecs_event_renders_its_alert_in_the_plain_layout() {
    for (name, title) in ECS_ALERTS {
        let output = run(&["alerts", "render", &ecs(name)]);
        assert_eq!(output.status.code(), Some(0), "{name}: {}", stderr(&output));
        let text = stdout(&output);
        let header = text.lines().next().unwrap();
        assert!(
            header.starts_with(&format!("== {}: ", ecs(name)))
                && header.ends_with("ECS / Auto Scaling event, 1 alert"),
            "{name}: {header}"
        );
        assert_eq!(text.matches("\ntext: ").count(), 1, "{name}:\n{text}");
        assert!(
            text.contains(&format!("\ntext: {title}\n")),
            "{name}:\n{text}"
        );
        // Not the generic layout, not dropped.
        assert!(!text.contains("unknown shape"), "{name}:\n{text}");
        assert!(!text.contains("dropped"), "{name}:\n{text}");
        assert_eq!(stderr(&output), "", "{name}");
    }
}

#[test]
fn every_ecs_event_renders_its_exact_slack_payload_with_json() {
    for (name, title) in ECS_ALERTS {
        let output = run(&["alerts", "render", "--json", &ecs(name)]);
        assert_eq!(output.status.code(), Some(0), "{name}: {}", stderr(&output));
        let text = stdout(&output);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 1, "{name}:\n{text}");
        let payload: Value = serde_json::from_str(lines[0]).unwrap();
        assert_eq!(payload["text"], *title, "{name}");
        assert_eq!(payload["attachments"][0]["blocks"][0]["type"], "header");
        assert_eq!(
            payload["attachments"][0]["blocks"][0]["text"]["text"]
                .as_str()
                .unwrap()
                .split_once("] ")
                .unwrap()
                .1,
            title.split_once("] ").unwrap().1,
            "{name}"
        );
    }
}

#[test]
fn noise_events_are_dropped_with_their_rule_and_exit_status_0() {
    for (name, rule) in ECS_NOISE {
        let output = run(&["alerts", "render", &ecs(name)]);
        assert_eq!(output.status.code(), Some(0), "{name}: {}", stderr(&output));
        let text = stdout(&output);
        assert!(
            text.starts_with(&format!("== {}: ", ecs(name)))
                && text
                    .lines()
                    .next()
                    .unwrap()
                    .ends_with("0 alerts, 1 dropped by the noise policy"),
            "{name}:\n{text}"
        );
        assert!(
            text.contains(&format!("\ndropped: noise rule {rule}: ")),
            "{name}:\n{text}"
        );
        assert!(!text.contains("text: "), "{name}:\n{text}");

        let json = run(&["alerts", "render", "--json", &ecs(name)]);
        assert_eq!(json.status.code(), Some(0), "{name}: {}", stderr(&json));
        assert_eq!(stdout(&json), "", "{name}: no Slack payload");
        assert!(
            stderr(&json).contains(&format!(
                "{}: note: dropped: noise rule {rule}: ",
                ecs(name)
            )),
            "{name}: {}",
            stderr(&json)
        );
    }
}

#[test]
fn all_ecs_events_at_once_give_one_payload_per_alert() {
    let files: Vec<String> = ecs_fixtures().iter().map(|name| ecs(name)).collect();
    let mut args = vec!["alerts", "render", "--json"];
    args.extend(files.iter().map(String::as_str));
    let output = run(&args);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let texts: Vec<String> = stdout(&output)
        .lines()
        .map(|line| {
            let payload: Value = serde_json::from_str(line).unwrap();
            payload["text"].as_str().unwrap().to_string()
        })
        .collect();
    let expected: Vec<&str> = ECS_ALERTS.iter().map(|(_, title)| *title).collect();
    assert_eq!(texts, expected);
    assert_eq!(
        stderr(&output)
            .matches("note: dropped: noise rule ")
            .count(),
        ECS_NOISE.len()
    );
}

#[test]
fn the_plain_layout_of_an_oom_stop_and_a_failed_deployment() {
    let output = run(&[
        "alerts",
        "render",
        &ecs("task-stopped-oom.json"),
        &ecs("deployment-failed.json"),
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let expected = format!(
        "\
== {oom}: ECS / Auto Scaling event, 1 alert
text: [FIRING error] Task of checkout stopped: app ran out of memory
colour: #E01E5A
  :red_circle: [FIRING] Task of checkout stopped: app ran out of memory

  Essential container in task exited
  Cluster: prod
  Service: checkout
  Task definition: checkout:42
  Task: a1b2c3d4e5f60718293a4b5c6d7e8f90
  Stop code: EssentialContainerExited
  Container: app
  Exit code: 137
  Reason: OutOfMemoryError: Container killed due to memory usage
  Image: v2.7.0
  Deployment: ecs-svc/4827391650284617001
  (ECS events | severity error | 2026-11-20T10:07:02.979Z)
  [Service in console] https://eu-west-1.console.aws.amazon.com/ecs/v2/clusters/prod/services/checkout/health?region=eu-west-1
  [Stopped task] https://eu-west-1.console.aws.amazon.com/ecs/v2/clusters/prod/tasks/a1b2c3d4e5f60718293a4b5c6d7e8f90/configuration?region=eu-west-1

== {failed}: ECS / Auto Scaling event, 1 alert
text: [FIRING error] Deployment of checkout failed
colour: #E01E5A
  :red_circle: [FIRING] Deployment of checkout failed

  ECS deployment circuit breaker: task failed to start.
  Cluster: prod
  Service: checkout
  Deployment: ecs-svc/4827391650284617001
  Event: SERVICE_DEPLOYMENT_FAILED
  (ECS events | severity error | 2026-11-20T10:09:31.512Z)
  [Service in console] https://eu-west-1.console.aws.amazon.com/ecs/v2/clusters/prod/services/checkout/health?region=eu-west-1
",
        oom = ecs("task-stopped-oom.json"),
        failed = ecs("deployment-failed.json"),
    );
    assert_eq!(stdout(&output), expected);
}

#[test]
fn a_wrapped_ecs_event_renders_the_same_alert_as_unwrapped() {
    let name = "task-stopped-oom.json";
    let event = std::fs::read_to_string(ecs(name)).unwrap();
    let notification = serde_json::json!({
        "Type": "Notification", "MessageId": "0d1c9a4e", "TopicArn": "arn:aws:sns:eu-west-1:123456789012:ecs-events",
        "Message": event,
    });
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            // EventBridge -> SQS -> Lambda.
            serde_json::json!({"Records": [{
                "messageId": "5b1e2a70", "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:eu-west-1:123456789012:ecs-events", "body": event,
            }]}),
            "in an SQS Lambda event, 1 alert",
        ),
        (
            // EventBridge -> SNS -> SQS -> Lambda.
            serde_json::json!({"Records": [{"messageId": "5b1e2a71", "body": notification.to_string()}]}),
            "in an SQS Lambda event in an SNS notification, 1 alert",
        ),
        (
            // EventBridge -> SNS -> Lambda.
            serde_json::json!({"Records": [{"EventSource": "aws:sns", "Sns": notification}]}),
            "in an SNS Lambda event, 1 alert",
        ),
    ];
    let unwrapped_plain = stdout(&run(&["alerts", "render", &ecs(name)]));
    let unwrapped_json = stdout(&run(&["alerts", "render", "--json", &ecs(name)]));
    assert!(unwrapped_json.contains("app ran out of memory"));
    let body = |text: &str| text.split_once('\n').unwrap().1.to_string();
    for (index, (wrapped, envelopes)) in cases.iter().enumerate() {
        let path = write(
            dir.path(),
            &format!("wrapped-{index}.json"),
            &wrapped.to_string(),
        );
        let path = path.to_str().unwrap();
        let plain = run(&["alerts", "render", path]);
        assert_eq!(plain.status.code(), Some(0), "{}", stderr(&plain));
        let text = stdout(&plain);
        assert_eq!(
            text.lines().next().unwrap(),
            format!("== {path}: ECS / Auto Scaling event {envelopes}"),
        );
        assert_eq!(body(&text), body(&unwrapped_plain));
        let json = run(&["alerts", "render", "--json", path]);
        assert_eq!(json.status.code(), Some(0), "{}", stderr(&json));
        assert_eq!(stdout(&json), unwrapped_json);
    }

    // A batch of several: the alert, and the noise event dropped.
    let noise = std::fs::read_to_string(ecs("noise-task-running.json")).unwrap();
    let batch = serde_json::json!({"Records": [{"body": event}, {"body": noise}]});
    let path = write(dir.path(), "batch.json", &batch.to_string());
    let output = run(&["alerts", "render", path.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(
        text.contains(
            "ECS / Auto Scaling event in an SQS Lambda event, 1 alert, 1 dropped by the noise policy"
        ) && text.contains("text: [FIRING error] Task of checkout stopped: app ran out of memory")
            && text.contains("dropped: noise rule not_stopped: "),
        "{text}"
    );
}

#[test]
fn route_shows_ecs_alerts_routed_and_noise_dropped() {
    let output = run(&[
        "alerts",
        "route",
        "--config",
        &routing_config(),
        &ecs("deployment-failed.json"),
        &ecs("noise-service-steady-state.json"),
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = stdout(&output);
    for expected in [
        ": ECS / Auto Scaling event, 1 alert\n",
        "[FIRING error] Deployment of checkout failed\n",
        "  deliver to deploys via route deployments, dedup window 5m\n",
        "  deliver to ops via route prod-errors, dedup window 5m\n",
        ": ECS / Auto Scaling event, 0 alerts, 1 dropped by the noise policy\n",
        "dropped: noise rule steady_state: ",
    ] {
        assert!(text.contains(expected), "{expected}\n{text}");
    }
}

#[test]
fn send_delivers_ecs_alerts_and_not_the_noise() {
    let setup = slack_setup();
    let output = send_files(
        &setup,
        &[
            ecs("task-stopped-oom.json"),
            ecs("noise-service-steady-state.json"),
        ],
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(
        text.contains(": ECS / Auto Scaling event, 1 alert\n")
            && text.contains(": ECS / Auto Scaling event, 0 alerts\n")
            && text.contains("  not sent: noise rule steady_state: "),
        "{text}"
    );
    let oom = "[FIRING error] Task of checkout stopped: app ran out of memory";
    let ops = setup.fake.delivered(&setup.ops_webhook);
    assert_eq!(ops.len(), 1, "{text}");
    assert_eq!(ops[0].text.as_deref(), Some(oom));
    // The exact payload `alerts render --json` prints.
    let rendered = stdout(&run(&[
        "alerts",
        "render",
        "--json",
        &ecs("task-stopped-oom.json"),
    ]));
    let expected: Value = serde_json::from_str(rendered.trim()).unwrap();
    assert_eq!(ops[0].payload, expected);
    let deploys = setup.fake.delivered("deploys");
    assert_eq!(deploys.len(), 1, "{text}");
    assert_eq!(deploys[0].text.as_deref(), Some(oom));
    assert!(
        text.contains("Outcome: 2 delivered in 2 Slack message(s)"),
        "{text}"
    );
    assert_no_secret_in(&output, &setup);
}

/// `--enrich` asks AWS (moto here, through `AWS_ENDPOINT_URL`) what the function would; a service
/// AWS does not know leaves the alert intact and marked, as in the function. Without the flag
/// nothing is looked up.
#[cfg(feature = "aws")]
#[test]
fn enrich_looks_up_the_service_and_degrades_to_a_marked_alert()
-> Result<(), fleetwatch_test_support::NeedsSetup> {
    let moto = fleetwatch_test_support::moto::MotoServer::start()?;
    let render = |extra: &[&str]| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_fleetwatch"));
        command
            .args(["alerts", "render"])
            .args(extra)
            .arg(ecs("task-stopped-oom.json"));
        for (name, value) in moto.env() {
            command.env(name, value);
        }
        command.output().expect("running fleetwatch")
    };
    let enriched = render(&["--enrich"]);
    assert_eq!(enriched.status.code(), Some(0), "{}", stderr(&enriched));
    let text = stdout(&enriched);
    assert!(
        text.contains("Note: enrichment unavailable: DescribeServices: ClusterNotFoundException")
            && text.contains("DescribeTaskDefinition: ClientException"),
        "{text}"
    );
    assert!(text.contains("text: [FIRING error] Task of checkout stopped: app ran out of memory"));
    assert!(stderr(&enriched).contains("enrichment incomplete"));

    let plain = render(&[]);
    assert!(!stdout(&plain).contains("Note:"), "{}", stdout(&plain));
    Ok(())
}

/// The default build has no AWS: `--enrich` says how to get a build that has it.
#[cfg(not(feature = "aws"))]
#[test]
fn enrich_without_aws_support_is_a_usage_error_naming_the_feature() {
    let output = Command::new(env!("CARGO_BIN_EXE_fleetwatch"))
        .args(["alerts", "render", "--enrich"])
        .arg(ecs("task-stopped-oom.json"))
        .output()
        .expect("running fleetwatch");
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("--features aws"),
        "{}",
        stderr(&output)
    );
}
