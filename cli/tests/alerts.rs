//! `fleetwatch alerts render|route|send` on the sample payloads of `events/alerts/` and the
//! example routing configuration of `events/routing/`; `send` against the Slack fake.

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
    args.extend(files.iter().map(|name| sample(name)));
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
