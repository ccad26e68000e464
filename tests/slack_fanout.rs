//! The slack-fanout function end to end, wired as its `main` wires it (`build_handler`), against
//! moto (SQS, DynamoDB, SSM: real APIs on loopback) and the Slack fake (Slack cannot run here;
//! the fake answers with Slack's real statuses, bodies and `Retry-After`).
//!
//! The function and the fake share a `ManualClock` (starting at the real time, so the state
//! table's TTLs look real): pacing and `Retry-After` happen on its time line, without waiting.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use alertmanager_receiver::{AlertmanagerReceiver, build_receiver};
use aws_sdk_ssm::types::ParameterType;
use fleetwatch_aws::AwsClients;
use fleetwatch_ports::{Clock, ManualClock, MetricLines, MetricsSink};
use fleetwatch_slack_fanout::{DEFAULT_MAX_BODY_BYTES, FanoutConfig, ReceiverConfig};
use fleetwatch_test_support::NeedsSetup;
use fleetwatch_test_support::moto::MotoServer;
use fleetwatch_test_support::slack::{SlackFake, SlackFault, SlackTarget, WebhookError};
use serde_json::{Value, json};
use slack_fanout::{SlackFanout, build_handler};

use crate::support::{MotoClients, TestResult, lambda_event};

const TABLE: &str = "fleetwatch-state";
const BOT_TOKEN: &str = "xoxb-0000-SECRET-BOT-TOKEN";
const ALERTMANAGER_TOKEN: &str = "am-SECRET-bearer-token";
const WEBHOOK_TEAMS: [&str; 4] = ["team-a", "team-b", "team-c", "oncall"];

const ROUTING: &str = r##"
destinations:
  team-a: { webhook_url_parameter: /fleetwatch/slack/team-a }
  team-b: { webhook_url_parameter: /fleetwatch/slack/team-b }
  team-c: { webhook_url_parameter: /fleetwatch/slack/team-c }
  oncall: { webhook_url_parameter: /fleetwatch/slack/oncall }
  deploys: { bot_token_parameter: /fleetwatch/slack/bot-token, channel: "#deploys" }
routes:
  - name: critical-to-oncall
    match: { severity: ">=critical" }
    destinations: [oncall]
    continue: true
  - name: team-a
    match: { labels: { team: a } }
    destinations: [team-a]
  - name: team-b
    match: { labels: { team: b } }
    destinations: [team-b]
  - name: deploys
    match: { labels: { team: deploy } }
    destinations: [deploys]
default_route: { destinations: [team-c] }
"##;

/// Everything the function's log would show: INFO and up, DEBUG for our crates.
#[derive(Clone, Default)]
struct CapturedLog(Arc<Mutex<Vec<u8>>>);

impl Write for CapturedLog {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Captures this thread's log (the test runs on a current-thread runtime, so everything the
/// function logs is on it) until the guard is dropped.
fn capture_logs() -> (CapturedLog, tracing::subscriber::DefaultGuard) {
    use tracing_subscriber::layer::SubscriberExt;
    let log = CapturedLog::default();
    let writer = log.clone();
    let layer = tracing_subscriber::fmt::layer()
        .json()
        .with_writer(move || writer.clone());
    let filter = tracing_subscriber::filter::Targets::new()
        .with_default(tracing::Level::INFO)
        .with_target("fleetwatch_slack_fanout", tracing::Level::DEBUG)
        .with_target("fleetwatch_slack", tracing::Level::DEBUG);
    let subscriber = tracing_subscriber::registry().with(layer.with_filter(filter));
    let guard = tracing::subscriber::set_default(subscriber);
    (log, guard)
}

use tracing_subscriber::Layer as _;

/// The deadline the tests give an invocation, on the manual clock. The function keeps two state
/// calls' time limit after each post for its bookkeeping, and the moto clients allow 60 s a call
/// (`tests/support.rs`), so a post starts only with more than 131 s left.
const INVOCATION_SECONDS: u64 = 600;

struct World {
    moto: MotoServer,
    aws: AwsClients,
    slack: SlackFake,
    webhooks: BTreeMap<&'static str, String>,
    alerts_url: String,
    dlq_url: String,
    metrics: MetricLines,
    clock: Arc<ManualClock>,
}

impl World {
    async fn new() -> Result<World, NeedsSetup> {
        let moto = MotoServer::start()?;
        let clock = Arc::new(ManualClock::new(SystemTime::now()));
        let aws = moto.clients().await;
        moto.create_state_table(TABLE).await;
        let mut urls = Vec::new();
        for name in ["alerts", "alerts-dlq"] {
            urls.push(moto.create_queue(name).await);
        }
        let slack = SlackFake::start_with_clock(clock.clone());
        slack.set_token(BOT_TOKEN);
        slack.add_channel("deploys");
        let ssm = aws.ssm();
        let mut webhooks = BTreeMap::new();
        for team in WEBHOOK_TEAMS {
            let url = slack.add_webhook(team);
            put_parameter(&ssm, &format!("/fleetwatch/slack/{team}"), &url, true).await;
            webhooks.insert(team, url);
        }
        put_parameter(&ssm, "/fleetwatch/slack/bot-token", BOT_TOKEN, true).await;
        put_parameter(
            &ssm,
            "/fleetwatch/alertmanager/token",
            ALERTMANAGER_TOKEN,
            true,
        )
        .await;
        put_parameter(&ssm, "/fleetwatch/slack/routing", ROUTING, false).await;
        Ok(World {
            moto,
            aws,
            slack,
            webhooks,
            alerts_url: urls[0].clone(),
            dlq_url: urls[1].clone(),
            metrics: MetricLines::default(),
            clock,
        })
    }

    /// `seconds` on the test's clock from now.
    fn deadline(&self, seconds: u64) -> SystemTime {
        self.clock.now() + Duration::from_secs(seconds)
    }

    async fn handler(&self) -> SlackFanout {
        self.handler_with_routing("FLEETWATCH_ROUTING_PARAMETER", "/fleetwatch/slack/routing")
            .await
    }

    /// `routing_variable` is FLEETWATCH_ROUTING_PARAMETER (an SSM name) or
    /// FLEETWATCH_ROUTING_FILE (a path).
    async fn handler_with_routing(
        &self,
        routing_variable: &'static str,
        value: &str,
    ) -> SlackFanout {
        self.handler_with(&[(routing_variable, value)]).await
    }

    /// The function with the environment `template.yaml` gives it, `overrides` applied.
    async fn handler_with(&self, overrides: &[(&'static str, &str)]) -> SlackFanout {
        let mut env = BTreeMap::from([
            (
                "FLEETWATCH_ROUTING_PARAMETER",
                "/fleetwatch/slack/routing".to_string(),
            ),
            ("FLEETWATCH_STATE_TABLE", TABLE.into()),
            ("FLEETWATCH_ALERTS_DLQ_URL", self.dlq_url.clone()),
            ("FLEETWATCH_SLACK_API_BASE", self.slack.api_base_url()),
            ("FLEETWATCH_MAX_RECEIVES", "5".into()),
        ]);
        for (name, value) in overrides {
            if *name == "FLEETWATCH_ROUTING_FILE" {
                env.remove("FLEETWATCH_ROUTING_PARAMETER");
            }
            env.insert(name, value.to_string());
        }
        let config = FanoutConfig::from_lookup(|name| env.get(name).cloned()).unwrap();
        let metrics = MetricsSink::to(self.clock.clone(), &self.metrics);
        build_handler(&config, &self.aws, metrics, self.clock.clone())
            .await
            .unwrap()
    }

    /// The Alertmanager receiver as its `main` builds it, on this world's queues.
    async fn receiver(&self) -> AlertmanagerReceiver {
        self.receiver_with_token("/fleetwatch/alertmanager/token")
            .await
    }

    async fn receiver_with_token(&self, parameter: &str) -> AlertmanagerReceiver {
        let env = BTreeMap::from([
            ("FLEETWATCH_WEBHOOK_TOKEN_PARAMETER", parameter.to_string()),
            ("FLEETWATCH_ALERTS_QUEUE_URL", self.alerts_url.clone()),
            ("FLEETWATCH_ALERTS_DLQ_URL", self.dlq_url.clone()),
        ]);
        let config = ReceiverConfig::from_lookup(|name| env.get(name).cloned()).unwrap();
        let metrics = MetricsSink::to(self.clock.clone(), &self.metrics);
        build_receiver(&config, &self.aws, metrics, self.clock.clone()).await
    }

    async fn send(&self, body: &str) {
        self.aws
            .sqs()
            .send_message()
            .queue_url(&self.alerts_url)
            .message_body(body)
            .send()
            .await
            .unwrap();
    }

    /// Runs the function over the alerts queue until it is empty, as the SQS event source does:
    /// acknowledged messages are deleted, reported failures become visible again.
    async fn drain(&self, handler: &SlackFanout) -> Vec<Value> {
        let sqs = self.aws.sqs();
        let mut events = Vec::new();
        for _ in 0..200 {
            let messages = sqs
                .receive_message()
                .queue_url(&self.alerts_url)
                .max_number_of_messages(10)
                .visibility_timeout(120)
                .message_system_attribute_names(
                    aws_sdk_sqs::types::MessageSystemAttributeName::ApproximateReceiveCount,
                )
                .send()
                .await
                .unwrap()
                .messages
                .unwrap_or_default();
            if messages.is_empty() {
                return events;
            }
            let event = lambda_event(&messages, "arn:aws:sqs:us-east-1:123456789012:alerts");
            let response = handler
                .handle(event.clone(), self.deadline(INVOCATION_SECONDS))
                .await
                .unwrap();
            let failed: BTreeSet<&str> = response["batchItemFailures"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f["itemIdentifier"].as_str().unwrap())
                .collect();
            for message in &messages {
                let receipt = message.receipt_handle().unwrap();
                if failed.contains(message.message_id().unwrap()) {
                    sqs.change_message_visibility()
                        .queue_url(&self.alerts_url)
                        .receipt_handle(receipt)
                        .visibility_timeout(0)
                        .send()
                        .await
                        .unwrap();
                } else {
                    sqs.delete_message()
                        .queue_url(&self.alerts_url)
                        .receipt_handle(receipt)
                        .send()
                        .await
                        .unwrap();
                }
            }
            events.push(event);
        }
        panic!("the alerts queue did not drain");
    }

    /// The sum of one metric over the run totals emitted so far (the EMF documents without a
    /// `Destination` dimension).
    fn metric_total(&self, name: &str) -> f64 {
        self.destination_total(name, None)
    }

    /// The sum of one metric over the documents of one destination (`Some`) or the totals.
    fn destination_total(&self, name: &str, destination: Option<&str>) -> f64 {
        self.metrics
            .documents()
            .iter()
            .filter(|m| m["Destination"].as_str() == destination)
            .filter_map(|m| m[name].as_f64())
            .sum()
    }

    async fn dead_letters(&self) -> Vec<Value> {
        let messages = self
            .aws
            .sqs()
            .receive_message()
            .queue_url(&self.dlq_url)
            .max_number_of_messages(10)
            .send()
            .await
            .unwrap()
            .messages
            .unwrap_or_default();
        messages
            .iter()
            .map(|m| serde_json::from_str(m.body().unwrap()).unwrap())
            .collect()
    }

    async fn queued(&self) -> usize {
        self.aws
            .sqs()
            .receive_message()
            .queue_url(&self.alerts_url)
            .max_number_of_messages(10)
            .visibility_timeout(0)
            .send()
            .await
            .unwrap()
            .messages
            .unwrap_or_default()
            .len()
    }
}

async fn put_parameter(ssm: &aws_sdk_ssm::Client, name: &str, value: &str, secure: bool) {
    ssm.put_parameter()
        .name(name)
        .value(value)
        .r#type(if secure {
            ParameterType::SecureString
        } else {
            ParameterType::String
        })
        .send()
        .await
        .unwrap();
}

const TEAMS: [&str; 4] = ["a", "b", "c", "deploy"];

fn alert(n: usize) -> Value {
    json!({
        "id": format!("id-{n:04}"),
        "fingerprint": format!("fp-{n:04}"),
        "source": "capacity",
        "severity": if n.is_multiple_of(10) { "critical" } else { "warning" },
        "title": format!("alert-{n:04}"),
        "summary": format!("summary of alert {n}"),
        "labels": { "team": TEAMS[n % 4] },
    })
}

/// Where routing must send alert `n`: critical ones to on-call (and on, `continue`), then the
/// team's route; the default route only when no route matched at all (Alertmanager's rule).
fn expected_destinations(n: usize) -> Vec<&'static str> {
    let critical = n.is_multiple_of(10);
    let team = match TEAMS[n % 4] {
        "a" => Some("team-a"),
        "b" => Some("team-b"),
        "deploy" => Some("deploys"),
        _ => None,
    };
    match (critical, team) {
        (true, Some(team)) => vec!["oncall", team],
        (true, None) => vec!["oncall"],
        (false, Some(team)) => vec![team],
        (false, None) => vec!["team-c"],
    }
}

/// The alert titles each message carries (one for a single alert, many for a digest).
fn titles(message: &Value) -> BTreeSet<String> {
    let text = message.to_string();
    let mut found = BTreeSet::new();
    let mut rest = text.as_str();
    while let Some(at) = rest.find("alert-") {
        let candidate = &rest[at..];
        if candidate.len() >= 10 && candidate[6..10].bytes().all(|b| b.is_ascii_digit()) {
            found.insert(candidate[..10].to_string());
        }
        rest = &rest[at + 6..];
    }
    found
}

#[tokio::test]
async fn a_thousand_alerts_reach_five_destinations_once_each_paced_and_without_leaking_secrets()
-> TestResult {
    let (log, _logging) = capture_logs();
    let world = World::new().await?;
    // Slack misbehaves: every 7th webhook post is rate limited, every 5th post to team-b fails
    // with a 500, every 6th Web API call with a 503.
    world
        .slack
        .fail_every(SlackTarget::AllWebhooks, 7, SlackFault::rate_limited(1));
    world.slack.fail_every(
        SlackTarget::Webhook(world.webhooks["team-b"].clone()),
        5,
        SlackFault::server_error(500),
    );
    world
        .slack
        .fail_every(SlackTarget::AllApi, 6, SlackFault::server_error(503));
    let handler = world.handler().await;

    // 100 messages of 10 alerts each (a JSON array is a batch of payloads).
    for chunk in (0..1000).collect::<Vec<usize>>().chunks(10) {
        let batch: Vec<Value> = chunk.iter().map(|&n| alert(n)).collect();
        world.send(&Value::Array(batch).to_string()).await;
    }
    let events = world.drain(&handler).await;
    world.slack.clear_faults();

    // Exactly once per (alert, destination), nothing missing, nothing extra.
    let mut seen: BTreeMap<(String, &str), usize> = BTreeMap::new();
    for destination in WEBHOOK_TEAMS.iter().chain(["deploys"].iter()) {
        for message in world.slack.delivered(destination) {
            for title in titles(&message.payload) {
                *seen.entry((title, destination)).or_default() += 1;
            }
        }
    }
    let expected: BTreeSet<(String, &str)> = (0..1000)
        .flat_map(|n| {
            expected_destinations(n)
                .into_iter()
                .map(move |d| (format!("alert-{n:04}"), d))
        })
        .collect();
    let duplicates: Vec<_> = seen.iter().filter(|(_, count)| **count > 1).collect();
    assert!(
        duplicates.is_empty(),
        "posted more than once: {duplicates:?}"
    );
    let delivered: BTreeSet<(String, &str)> = seen.keys().cloned().collect();
    let missing: Vec<_> = expected.difference(&delivered).take(20).collect();
    let extra: Vec<_> = delivered.difference(&expected).take(20).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing {missing:?}, not routed there {extra:?}"
    );

    // Never more than one message per second per destination beyond a burst of two.
    for destination in WEBHOOK_TEAMS.iter().chain(["deploys"].iter()) {
        let mut posted: Vec<SystemTime> = world
            .slack
            .delivered(destination)
            .iter()
            .map(|m| m.posted_at)
            .collect();
        posted.sort();
        for window in posted.windows(3) {
            let gap = window[2].duration_since(window[0]).unwrap();
            assert!(
                gap >= Duration::from_secs(1),
                "{destination}: 3 posts within {gap:?}"
            );
        }
    }

    assert!(world.dead_letters().await.is_empty());

    // Redelivering every message already handled posts nothing new.
    let before = world.slack.all_messages().len();
    for event in events.iter().take(5) {
        let response = handler
            .handle(event.clone(), world.deadline(INVOCATION_SECONDS))
            .await
            .unwrap();
        assert_eq!(response, json!({"batchItemFailures": []}));
    }
    assert_eq!(world.slack.all_messages().len(), before);

    // A deleted channel: the alert is parked in the DLQ with the reason, not retried.
    world
        .slack
        .break_webhook(&world.webhooks["team-a"], WebhookError::ChannelNotFound);
    let mut lost = alert(4000);
    lost["labels"]["team"] = json!("a");
    // Not critical, so team-a is its only destination.
    lost["severity"] = json!("warning");
    world.send(&lost.to_string()).await;
    world.drain(&handler).await;
    let letters = world.dead_letters().await;
    assert_eq!(letters.len(), 1, "{letters:?}");
    assert_eq!(letters[0]["destination"], "team-a");
    assert!(
        letters[0]["reason"]
            .as_str()
            .unwrap()
            .contains("channel_not_found")
    );
    assert_eq!(letters[0]["alert"]["id"], "id-4000");

    // The Function URL: without the bearer token nothing is queued.
    let request = |authorization: Option<&str>| {
        let mut headers = json!({"content-type": "application/json"});
        if let Some(value) = authorization {
            headers["authorization"] = json!(value);
        }
        json!({
            "version": "2.0", "rawPath": "/", "headers": headers, "isBase64Encoded": false,
            "requestContext": {"http": {"method": "POST", "path": "/"}},
            "body": json!({"version": "4", "status": "firing", "alerts": []}).to_string(),
        })
    };
    let receiver = world.receiver().await;
    for bad in [None, Some("Bearer wrong"), Some(ALERTMANAGER_TOKEN)] {
        let answer = receiver.handle(&request(bad)).await;
        assert_eq!(answer["statusCode"], 401, "{bad:?}");
    }
    assert_eq!(
        world.queued().await,
        0,
        "an unauthenticated call queued something"
    );
    let bearer = format!("Bearer {ALERTMANAGER_TOKEN}");
    let answer = receiver.handle(&request(Some(&bearer))).await;
    assert_eq!(answer["statusCode"], 202);
    assert_eq!(world.queued().await, 1);

    // Metrics: every delivery counted, the dead letter too; the whole log never shows a secret.
    assert_eq!(world.metric_total("DeadLettered"), 1.0);
    assert_eq!(world.metric_total("Delivered"), expected.len() as f64);
    // And per destination (the dashboard's widget): the same deliveries, split.
    let destinations: BTreeSet<&str> = expected.iter().map(|(_, d)| *d).collect();
    assert_eq!(destinations.len(), 5);
    for destination in destinations {
        let wanted = expected.iter().filter(|(_, d)| *d == destination).count();
        assert_eq!(
            world.destination_total("Delivered", Some(destination)),
            wanted as f64,
            "{destination}"
        );
    }
    let log = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
    assert!(
        log.contains("delivery refused for good"),
        "the log captured nothing useful"
    );
    for secret in world
        .webhooks
        .values()
        .map(String::as_str)
        .chain([BOT_TOKEN, ALERTMANAGER_TOKEN])
    {
        assert!(!log.contains(secret), "a secret appeared in the log");
    }
    drop(world.moto);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bot_mode_keeps_an_incident_in_one_thread_with_the_parent_updated() -> TestResult {
    let world = World::new().await?;
    let handler = world.handler().await;
    let mut firing = alert(8);
    firing["labels"]["team"] = json!("deploy");
    firing["severity"] = json!("error");
    world.send(&firing.to_string()).await;
    world.drain(&handler).await;
    let mut resolved = firing.clone();
    resolved["status"] = json!("resolved");
    resolved["id"] = json!("id-0008-resolved");
    world.send(&resolved.to_string()).await;
    world.drain(&handler).await;

    let parents = world.slack.top_level_messages("deploys");
    assert_eq!(parents.len(), 1, "one parent message");
    let ts = &parents[0].ts;
    assert_eq!(
        world.slack.thread_replies("deploys", ts).len(),
        1,
        "one reply"
    );
    assert_eq!(
        world.slack.update_count("deploys", ts),
        1,
        "the parent was updated"
    );
    let parent = world.slack.message("deploys", ts).unwrap();
    assert!(
        parent
            .text
            .as_deref()
            .unwrap_or_default()
            .to_lowercase()
            .contains("resolved"),
        "{:?}",
        parent.text
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreadable_messages_are_dead_lettered_and_unknown_ones_rendered_generically() -> TestResult
{
    let world = World::new().await?;
    // The routing configuration from a file this time, instead of SSM.
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), ROUTING).unwrap();
    let handler = world
        .handler_with_routing(
            "FLEETWATCH_ROUTING_FILE",
            &file.path().display().to_string(),
        )
        .await;

    world.send("{not json").await;
    world
        .send(&json!({"message": "disk almost full on build-07", "host": "build-07"}).to_string())
        .await;
    world.drain(&handler).await;

    // Invalid JSON: parked with the reason and the body, acknowledged (the queue is empty).
    let letters = world.dead_letters().await;
    assert_eq!(letters.len(), 1, "{letters:?}");
    assert_eq!(letters[0]["body"], "{not json");
    assert!(
        letters[0]["reason"].as_str().unwrap().contains("JSON"),
        "{letters:?}"
    );
    // Unknown JSON: delivered with the generic layout by the default route.
    let delivered = world.slack.delivered("team-c");
    assert_eq!(delivered.len(), 1);
    assert!(
        delivered[0]
            .payload
            .to_string()
            .contains("disk almost full on build-07")
    );
    // Both counted.
    assert_eq!(world.metric_total("PoisonMessages"), 1.0);
    assert_eq!(world.metric_total("UnknownPayloads"), 1.0);
    assert_eq!(world.queued().await, 0);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Faults: the public edge, missing secrets, the state table, pacing across instances
// ---------------------------------------------------------------------------------------------

fn webhook_request(authorization: Option<&str>, body: &str, request_id: &str) -> Value {
    let mut headers = json!({"content-type": "application/json"});
    if let Some(value) = authorization {
        headers["authorization"] = json!(value);
    }
    json!({
        "version": "2.0", "rawPath": "/", "headers": headers, "isBase64Encoded": false,
        "requestContext": {"http": {"method": "POST", "path": "/"}, "requestId": request_id},
        "body": body,
    })
}

fn alertmanager_payload(alerts: usize, annotation_bytes: usize) -> Value {
    let alerts: Vec<Value> = (0..alerts)
        .map(|n| {
            json!({
                "status": "firing",
                "labels": {"alertname": format!("DiskFull{n:05}"), "severity": "warning"},
                "annotations": {"description": "x".repeat(annotation_bytes)},
                "startsAt": "2026-12-04T10:00:00Z", "endsAt": "0001-01-01T00:00:00Z",
                "fingerprint": format!("{n:016x}"),
            })
        })
        .collect();
    json!({"version": "4", "groupKey": "{}:{}", "status": "firing", "receiver": "slack",
           "alerts": alerts})
}

#[tokio::test]
async fn the_receiver_refuses_before_any_other_work_and_needs_nothing_to_refuse() -> TestResult {
    let world = World::new().await?;
    let receiver = world.receiver().await;
    // No AWS at all from here: refusals read and write nothing.
    drop(world.moto);
    let bearer = format!("Bearer {ALERTMANAGER_TOKEN}");
    let body = alertmanager_payload(1, 10).to_string();
    let cases = [
        (webhook_request(None, &body, "r1"), 401),
        (webhook_request(Some("Bearer wrong"), &body, "r2"), 401),
        (webhook_request(Some(&bearer), "{not json", "r3"), 400),
        (
            webhook_request(Some(&bearer), &"x".repeat(DEFAULT_MAX_BODY_BYTES + 1), "r4"),
            413,
        ),
    ];
    for (request, status) in cases {
        assert_eq!(receiver.handle(&request).await["statusCode"], status);
    }
    let mut get = webhook_request(Some(&bearer), &body, "r5");
    get["requestContext"]["http"]["method"] = json!("GET");
    assert_eq!(receiver.handle(&get).await["statusCode"], 405);
    Ok(())
}

#[tokio::test]
async fn a_missing_receiver_token_answers_503_until_it_is_back() -> TestResult {
    let world = World::new().await?;
    let receiver = world.receiver_with_token("/fleetwatch/no-such-token").await;
    let bearer = format!("Bearer {ALERTMANAGER_TOKEN}");
    let request = webhook_request(
        Some(&bearer),
        &alertmanager_payload(1, 10).to_string(),
        "r1",
    );
    // Alertmanager keeps the alerts and retries a 5xx.
    assert_eq!(receiver.handle(&request).await["statusCode"], 503);
    // The queue consumer is another function: it builds and delivers.
    let handler = world.handler().await;
    world.send(&alert(1).to_string()).await;
    world.drain(&handler).await;
    assert_eq!(world.slack.delivered("team-b").len(), 1);

    // The parameter is created: the warm receiver serves again within a minute, no restart.
    put_parameter(
        &world.aws.ssm(),
        "/fleetwatch/no-such-token",
        ALERTMANAGER_TOKEN,
        true,
    )
    .await;
    assert_eq!(receiver.handle(&request).await["statusCode"], 503);
    world.clock.advance(std::time::Duration::from_secs(60));
    let answer = receiver.handle(&request).await;
    assert_eq!(answer["statusCode"], 202, "{answer}");
    Ok(())
}

#[tokio::test]
async fn an_oversized_webhook_is_split_into_messages_that_all_arrive() -> TestResult {
    let world = World::new().await?;
    let receiver = world.receiver().await;
    let handler = world.handler().await;
    let bearer = format!("Bearer {ALERTMANAGER_TOKEN}");
    // 800 alerts of ~700 bytes: over 500 KB, twice the queue's message limit; and one alert that
    // alone would not fit a message.
    let mut payload = alertmanager_payload(800, 600);
    let huge = json!({"status": "firing", "labels": {"alertname": "Huge"},
        "annotations": {"description": "y".repeat(300 * 1024)},
        "startsAt": "2026-12-04T10:00:00Z", "fingerprint": "ffffffffffffffff"});
    payload["alerts"].as_array_mut().unwrap().push(huge);
    let answer = receiver
        .handle(&webhook_request(
            Some(&bearer),
            &payload.to_string(),
            "split-1",
        ))
        .await;
    assert_eq!(answer["statusCode"], 202, "{answer}");
    let body: Value = serde_json::from_str(answer["body"].as_str().unwrap()).unwrap();
    assert!(body["queued"].as_u64().unwrap() >= 3, "{body}");
    assert_eq!(body["parked"], 1);
    world.drain(&handler).await;
    // Every alert reached Slack (in digests: many alerts per batch).
    assert_eq!(world.metric_total("AlertsReceived"), 800.0);
    assert_eq!(world.metric_total("Delivered"), 800.0);
    let letters = world.dead_letters().await;
    assert_eq!(letters.len(), 1, "{letters:?}");
    assert_eq!(letters[0]["alert"]["labels"]["alertname"], "Huge");
    assert!(
        letters[0]["reason"]
            .as_str()
            .unwrap()
            .contains("message limit")
    );
    Ok(())
}

#[tokio::test]
async fn a_re_notification_reaches_slack_again_and_a_redelivery_does_not() -> TestResult {
    let world = World::new().await?;
    let receiver = world.receiver().await;
    let handler = world.handler().await;
    let bearer = format!("Bearer {ALERTMANAGER_TOKEN}");
    let body = alertmanager_payload(1, 10).to_string();
    // Alertmanager notifies, and after its repeat_interval (4 h by default, past the route's
    // 5-minute dedup window) notifies again: two requests with the same payload.
    let mut events = Vec::new();
    for request_id in ["first-notification", "repeat-notification"] {
        let answer = receiver
            .handle(&webhook_request(Some(&bearer), &body, request_id))
            .await;
        assert_eq!(answer["statusCode"], 202);
        events.extend(world.drain(&handler).await);
        world.clock.advance(Duration::from_secs(4 * 3600));
    }
    assert_eq!(
        world.slack.delivered("team-c").len(),
        2,
        "the repeat is posted"
    );
    // The queue redelivers a message already handled: nothing new.
    handler
        .handle(events[0].clone(), world.deadline(INVOCATION_SECONDS))
        .await
        .unwrap();
    assert_eq!(world.slack.delivered("team-c").len(), 2);
    Ok(())
}

/// A post starts only when the Slack call and the two state-table calls after it (each at the
/// clients' call limit, 60 s against moto) fit before the deadline: a slow table cannot then run
/// the function into its timeout between a post and its record, which the retry would post again.
#[tokio::test]
async fn a_post_starts_only_when_its_record_fits_before_the_deadline() -> TestResult {
    let world = World::new().await?;
    let handler = world.handler().await;
    let mut alert = alert(1);
    alert["labels"]["team"] = json!("c");
    let event = json!({"Records": [{"messageId": "m1", "eventSource": "aws:sqs",
        "attributes": {"ApproximateReceiveCount": "1"}, "body": alert.to_string()}]});
    // 120 s left: the call (10 s) fits, its bookkeeping (2 x 60 s + 1 s) does not.
    let answer = handler.handle(event.clone(), world.deadline(120)).await?;
    assert_eq!(
        answer,
        json!({"batchItemFailures": [{"itemIdentifier": "m1"}]})
    );
    assert!(world.slack.delivered("team-c").is_empty());
    let answer = handler
        .handle(event, world.deadline(INVOCATION_SECONDS))
        .await?;
    assert_eq!(answer, json!({"batchItemFailures": []}));
    assert_eq!(world.slack.delivered("team-c").len(), 1);
    Ok(())
}

#[tokio::test]
async fn a_missing_destination_secret_parks_only_its_own_alerts() -> TestResult {
    let (log, _logging) = capture_logs();
    let world = World::new().await?;
    world
        .aws
        .ssm()
        .delete_parameter()
        .name("/fleetwatch/slack/team-a")
        .send()
        .await?;
    // It builds: the secret is read when team-a is first posted to.
    let handler = world.handler().await;
    let mut for_a = alert(1);
    for_a["labels"]["team"] = json!("a");
    let mut for_b = alert(2);
    for_b["labels"]["team"] = json!("b");
    world.send(&for_a.to_string()).await;
    world.send(&for_b.to_string()).await;
    world.drain(&handler).await;
    assert_eq!(world.slack.delivered("team-b").len(), 1);
    let letters = world.dead_letters().await;
    assert_eq!(letters.len(), 1, "{letters:?}");
    assert_eq!(letters[0]["destination"], "team-a");
    assert_eq!(
        letters[0]["reason"],
        "destination team-a: secret parameter /fleetwatch/slack/team-a does not exist"
    );

    // The next batch for team-a is parked too, with the reason, and logged no more: once per
    // cold start.
    let mut again = alert(3);
    again["labels"]["team"] = json!("a");
    world.send(&again.to_string()).await;
    world.drain(&handler).await;
    // (The first letter is still invisible from the receive above.)
    let second = world.dead_letters().await;
    assert_eq!(second.len(), 1, "{second:?}");
    assert_eq!(second[0]["reason"], letters[0]["reason"]);
    let unavailable = || {
        let log = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
        let count = log
            .lines()
            .filter(|line| line.contains("destination unavailable"))
            .count();
        (count, log)
    };
    let (errors, text) = unavailable();
    assert_eq!(errors, 1, "{text}");

    // The secret comes back (team-a delivers), then goes again: logged again, once.
    let ssm = world.aws.ssm();
    put_parameter(
        &ssm,
        "/fleetwatch/slack/team-a",
        &world.webhooks["team-a"],
        true,
    )
    .await;
    let mut back = alert(5);
    back["labels"]["team"] = json!("a");
    world.send(&back.to_string()).await;
    world.drain(&handler).await;
    assert_eq!(world.slack.delivered("team-a").len(), 1);
    ssm.delete_parameter()
        .name("/fleetwatch/slack/team-a")
        .send()
        .await?;
    // Past the secrets cache's hour, so the deletion is seen.
    world.clock.advance(std::time::Duration::from_secs(3601));
    for n in [7, 9] {
        let mut gone = alert(n);
        gone["labels"]["team"] = json!("a");
        world.send(&gone.to_string()).await;
        world.drain(&handler).await;
    }
    let (errors, text) = unavailable();
    assert_eq!(errors, 2, "{text}");
    Ok(())
}

#[tokio::test]
async fn state_table_failures_are_retried_then_parked_with_the_reason() -> TestResult {
    let world = World::new().await?;
    // A table that does not exist: every claim fails.
    let handler = world
        .handler_with(&[
            ("FLEETWATCH_STATE_TABLE", "no-such-table"),
            ("FLEETWATCH_MAX_RECEIVES", "2"),
        ])
        .await;
    world.send(&alert(1).to_string()).await;
    let events = world.drain(&handler).await;
    assert_eq!(
        events.len(),
        2,
        "retried once, parked on the second receive"
    );
    assert!(world.slack.all_messages().is_empty());
    let letters = world.dead_letters().await;
    assert_eq!(letters.len(), 1, "{letters:?}");
    let reason = letters[0]["reason"].as_str().unwrap();
    assert!(
        reason
            .starts_with("claiming the delivery: state store conditional put of delivery#id-0001#")
            && reason.contains("ResourceNotFoundException"),
        "{reason}"
    );
    assert_eq!(letters[0]["body"], alert(1).to_string());
    assert_eq!(world.queued().await, 0);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_share_one_pace_per_channel_through_the_state_table() -> TestResult {
    let world = World::new().await?;
    let (first, second) = (world.handler().await, world.handler().await);
    // Two batches of ten alerts for team-c (no digest: ten is the threshold), one per instance.
    let batch = |from: usize| -> Value {
        let records: Vec<Value> = (from..from + 10)
            .map(|n| {
                let mut alert = alert(n);
                alert["labels"]["team"] = json!("c");
                alert["severity"] = json!("warning");
                json!({"messageId": format!("m{n}"), "eventSource": "aws:sqs",
                       "attributes": {"ApproximateReceiveCount": "1"}, "body": alert.to_string()})
            })
            .collect();
        json!({ "Records": records })
    };
    let deadline = world.deadline(INVOCATION_SECONDS);
    let (a, b) = tokio::join!(
        first.handle(batch(1), deadline),
        second.handle(batch(101), deadline)
    );
    for answer in [a?, b?] {
        assert_eq!(answer, json!({"batchItemFailures": []}));
    }
    let mut posted: Vec<SystemTime> = world
        .slack
        .delivered("team-c")
        .iter()
        .map(|m| m.posted_at)
        .collect();
    assert_eq!(posted.len(), 20);
    posted.sort();
    for window in posted.windows(3) {
        let gap = window[2].duration_since(window[0]).unwrap();
        assert!(
            gap >= Duration::from_secs(1),
            "3 posts within {gap:?} across two instances"
        );
    }
    Ok(())
}
