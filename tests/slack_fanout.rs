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

use aws_sdk_ssm::types::ParameterType;
use fleetwatch_aws::AwsClients;
use fleetwatch_ports::{Clock, ManualClock, MetricLines, MetricsSink};
use fleetwatch_slack_fanout::FanoutConfig;
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
        let env = BTreeMap::from([
            (routing_variable, value.to_string()),
            ("FLEETWATCH_STATE_TABLE", TABLE.into()),
            ("FLEETWATCH_ALERTS_QUEUE_URL", self.alerts_url.clone()),
            ("FLEETWATCH_ALERTS_DLQ_URL", self.dlq_url.clone()),
            (
                "FLEETWATCH_WEBHOOK_TOKEN_PARAMETER",
                "/fleetwatch/alertmanager/token".into(),
            ),
            ("FLEETWATCH_SLACK_API_BASE", self.slack.api_base_url()),
        ]);
        let config = FanoutConfig::from_lookup(|name| env.get(name).cloned()).unwrap();
        let metrics = MetricsSink::to(self.clock.clone(), &self.metrics);
        build_handler(&config, &self.aws, metrics, self.clock.clone())
            .await
            .unwrap()
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
                .handle(event.clone(), self.deadline(60))
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

    /// The sum of one metric over every EMF document emitted so far.
    fn metric_total(&self, name: &str) -> f64 {
        self.metrics
            .documents()
            .iter()
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
            .handle(event.clone(), world.deadline(60))
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
    let deadline = world.deadline(10);
    for bad in [None, Some("Bearer wrong"), Some(ALERTMANAGER_TOKEN)] {
        let answer = handler.handle(request(bad), deadline).await.unwrap();
        assert_eq!(answer["statusCode"], 401, "{bad:?}");
    }
    assert_eq!(
        world.queued().await,
        0,
        "an unauthenticated call queued something"
    );
    let bearer = format!("Bearer {ALERTMANAGER_TOKEN}");
    let answer = handler
        .handle(request(Some(&bearer)), deadline)
        .await
        .unwrap();
    assert_eq!(answer["statusCode"], 202);
    assert_eq!(world.queued().await, 1);

    // Metrics: every delivery counted, the dead letter too; the whole log never shows a secret.
    assert_eq!(world.metric_total("DeadLettered"), 1.0);
    assert_eq!(world.metric_total("Delivered"), expected.len() as f64);
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
