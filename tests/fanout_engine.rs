//! The fan-out delivery engine against the Slack fake (Slack cannot run here; the fake answers
//! with Slack's real statuses, bodies and `Retry-After`), with the in-memory state store and
//! queue (the DynamoDB and SQS adapters are exercised against moto in `slack_fanout.rs`).
//!
//! Time is a `ManualClock` shared by the engine and the fake: pacing and `Retry-After` are
//! checked on the clock's time line, and nobody waits for them.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use fleetwatch_alerts::{Alert, Severity, Source, Status};
use fleetwatch_ports::{Clock, ManualClock, MemoryQueue, MemoryStateStore, StaticSecrets};
use fleetwatch_slack::SlackClient;
use fleetwatch_slack_fanout::{Delivery, Engine, Settings, WorkItem};
use fleetwatch_test_support::slack::{SlackFake, SlackFault, SlackTarget, WebhookError};

fn alert(n: usize, status: Status) -> Alert {
    let mut alert = Alert::new(Source::Cloudwatch, format!("alarm {n}"));
    alert.fingerprint = format!("fp-{n}");
    alert.id = format!("id-{n}-{}", status.as_str());
    alert.severity = Severity::Error;
    alert.status = status;
    alert
}

fn delivery(alert: Alert, destination: &str) -> Delivery {
    Delivery {
        alert: Arc::new(alert),
        destination: destination.into(),
        mentions: vec!["<!here>".into()],
        dedup_window: None,
    }
}

fn work(deliveries: Vec<Delivery>) -> Vec<WorkItem> {
    deliveries
        .into_iter()
        .enumerate()
        .map(|(i, d)| WorkItem {
            message_id: format!("m{i}"),
            deliveries: vec![d],
        })
        .collect()
}

struct Setup {
    fake: SlackFake,
    webhook: String,
    engine: Engine<SlackClient, MemoryStateStore, MemoryQueue, StaticSecrets>,
    clock: Arc<ManualClock>,
}

impl Setup {
    fn deadline(&self, seconds: u64) -> SystemTime {
        self.clock.now() + Duration::from_secs(seconds)
    }

    /// Clock time passed since `start`.
    fn since(&self, start: SystemTime) -> Duration {
        self.clock.now().duration_since(start).unwrap()
    }
}

fn setup(settings: Settings) -> Setup {
    let clock = Arc::new(ManualClock::at_epoch_seconds(1_800_000_000));
    let fake = SlackFake::start_with_clock(clock.clone());
    fake.set_token("xoxb-bot");
    fake.add_channel("deploys");
    let webhook = fake.add_webhook("ops");
    let destinations = HashMap::from([
        (
            "ops".to_string(),
            fleetwatch_routing::Destination::Webhook {
                url_parameter: "/slack/ops".into(),
            },
        ),
        (
            "deploys".to_string(),
            fleetwatch_routing::Destination::Bot {
                token_parameter: "/slack/bot".into(),
                channel: "#deploys".into(),
            },
        ),
    ]);
    let secrets = StaticSecrets::default()
        .with("/slack/ops", webhook.clone())
        .with("/slack/bot", "xoxb-bot");
    let engine = Engine::new(
        SlackClient::new(fake.api_base_url(), Duration::from_secs(5)).unwrap(),
        MemoryStateStore::new(clock.clone()),
        MemoryQueue::default(),
        secrets,
        destinations,
        settings,
        clock.clone(),
    );
    Setup {
        fake,
        webhook,
        engine,
        clock,
    }
}

fn fast() -> Settings {
    Settings {
        pace_interval: Duration::from_millis(10),
        backoff: Duration::from_millis(5),
        ..Settings::default()
    }
}

#[tokio::test]
async fn each_delivery_posts_once_and_a_redelivery_posts_nothing() {
    let s = setup(fast());
    let items = work(
        (0..3)
            .map(|n| delivery(alert(n, Status::Firing), "ops"))
            .collect(),
    );
    let first = s.engine.deliver(items.clone(), s.deadline(30)).await;
    assert_eq!((first.posted, first.delivered), (3, 3));
    assert!(first.retry.is_empty());
    let again = s.engine.deliver(items, s.deadline(30)).await;
    assert_eq!((again.posted, again.already_sent), (0, 3));
    assert_eq!(s.fake.delivered("ops").len(), 3);
}

#[tokio::test]
async fn a_storm_becomes_one_digest() {
    let s = setup(fast());
    let items = work(
        (0..25)
            .map(|n| delivery(alert(n, Status::Firing), "ops"))
            .collect(),
    );
    let outcome = s.engine.deliver(items, s.deadline(30)).await;
    assert_eq!(
        (outcome.posted, outcome.digests, outcome.delivered),
        (1, 1, 25)
    );
    let text = serde_json::to_string(&s.fake.delivered("ops")[0].payload).unwrap();
    assert!(
        text.contains("alarm 0") && text.contains("<!here>"),
        "{text}"
    );
}

#[tokio::test]
async fn rate_limits_are_waited_out_within_the_deadline() {
    let s = setup(fast());
    s.fake.fail_next(
        SlackTarget::Webhook(s.webhook.clone()),
        2,
        SlackFault::rate_limited(1),
    );
    let started = s.clock.now();
    let outcome = s
        .engine
        .deliver(
            work(vec![delivery(alert(1, Status::Firing), "ops")]),
            s.deadline(30),
        )
        .await;
    assert_eq!((outcome.delivered, outcome.rate_limited), (1, 2));
    assert!(
        s.since(started) >= Duration::from_secs(2),
        "Retry-After was not honoured"
    );
    let arrivals = s.fake.arrivals(&s.webhook);
    assert_eq!(arrivals.len(), 3);
    for pair in arrivals.windows(2) {
        assert!(
            pair[1].duration_since(pair[0]).unwrap() >= Duration::from_secs(1),
            "a post within Retry-After: {arrivals:?}"
        );
    }
    assert_eq!(s.fake.delivered("ops").len(), 1);
}

#[tokio::test]
async fn a_rate_limit_beyond_the_deadline_hands_the_message_back_and_the_retry_posts_once() {
    let s = setup(fast());
    s.fake.fail_next(
        SlackTarget::Webhook(s.webhook.clone()),
        1,
        SlackFault::rate_limited(30),
    );
    // Time for one Slack call (10 s) and its bookkeeping, not for 30 s of Retry-After.
    let items = work(vec![delivery(alert(1, Status::Firing), "ops")]);
    let outcome = s.engine.deliver(items.clone(), s.deadline(15)).await;
    assert_eq!(outcome.retry.keys().collect::<Vec<_>>(), ["m0"]);
    assert!(s.fake.delivered("ops").is_empty());

    // The next invocation still honours the hold: it waits out the rest of Retry-After.
    let started = s.clock.now();
    let retry = s.engine.deliver(items, s.deadline(60)).await;
    assert_eq!((retry.delivered, retry.posted), (1, 1));
    assert!(
        s.since(started) >= Duration::from_secs(30),
        "{:?}",
        s.since(started)
    );
    assert_eq!(s.fake.delivered("ops").len(), 1);
}

#[tokio::test]
async fn server_errors_are_retried_with_backoff() {
    let s = setup(fast());
    s.fake.fail_next(
        SlackTarget::Webhook(s.webhook.clone()),
        2,
        SlackFault::server_error(500),
    );
    let outcome = s
        .engine
        .deliver(
            work(vec![delivery(alert(1, Status::Firing), "ops")]),
            s.deadline(30),
        )
        .await;
    assert_eq!(outcome.delivered, 1);
    assert!(outcome.retry.is_empty());
}

#[tokio::test]
async fn a_deleted_channel_is_dead_lettered_with_its_reason_and_never_retried() {
    let s = setup(fast());
    s.fake
        .break_webhook(&s.webhook, WebhookError::ChannelNotFound);
    let items = work(vec![delivery(alert(1, Status::Firing), "ops")]);
    let outcome = s.engine.deliver(items.clone(), s.deadline(30)).await;
    assert_eq!(outcome.dead, 1);
    assert!(outcome.retry.is_empty());
    let letters = s.engine.dead_letters.messages();
    assert_eq!(letters.len(), 1);
    let letter: serde_json::Value = serde_json::from_str(&letters[0]).unwrap();
    assert_eq!(letter["destination"], "ops");
    assert!(
        letter["reason"]
            .as_str()
            .unwrap()
            .contains("channel_not_found")
    );
    assert_eq!(letter["alert"]["id"], "id-1-firing");
    assert!(
        !letters[0].contains(&s.webhook),
        "the webhook URL leaked into the DLQ"
    );

    let again = s.engine.deliver(items, s.deadline(30)).await;
    assert_eq!((again.already_sent, again.dead), (1, 0));
}

#[tokio::test]
async fn bot_mode_threads_the_resolution_under_its_alert_and_updates_the_parent() {
    let s = setup(fast());
    let firing = s
        .engine
        .deliver(
            work(vec![delivery(alert(7, Status::Firing), "deploys")]),
            s.deadline(30),
        )
        .await;
    assert_eq!(firing.delivered, 1);
    let resolved = s
        .engine
        .deliver(
            work(vec![delivery(alert(7, Status::Resolved), "deploys")]),
            s.deadline(30),
        )
        .await;
    assert_eq!(resolved.delivered, 1);

    let parents = s.fake.top_level_messages("deploys");
    assert_eq!(parents.len(), 1, "one parent message");
    let parent = &parents[0];
    assert_eq!(
        s.fake.thread_replies("deploys", &parent.ts).len(),
        1,
        "one reply"
    );
    assert_eq!(
        s.fake.update_count("deploys", &parent.ts),
        1,
        "parent updated"
    );
    let latest = s.fake.message("deploys", &parent.ts).unwrap();
    assert!(
        latest
            .text
            .as_deref()
            .unwrap_or_default()
            .to_lowercase()
            .contains("resolved"),
        "{:?}",
        latest.text
    );
}

#[tokio::test]
async fn duplicates_within_the_dedup_window_are_dropped_but_status_changes_are_sent() {
    let s = setup(fast());
    let mut first = delivery(alert(1, Status::Firing), "ops");
    first.dedup_window = Some(Duration::from_secs(300));
    let mut repeat = first.clone();
    repeat.alert = Arc::new(Alert {
        id: "id-1-firing-again".into(),
        ..(*first.alert).clone()
    });
    let mut resolved = delivery(alert(1, Status::Resolved), "ops");
    resolved.dedup_window = Some(Duration::from_secs(300));

    let outcome = s.engine.deliver(work(vec![first]), s.deadline(30)).await;
    assert_eq!(outcome.delivered, 1);
    let outcome = s.engine.deliver(work(vec![repeat]), s.deadline(30)).await;
    assert_eq!((outcome.delivered, outcome.dropped), (0, 1));
    let outcome = s.engine.deliver(work(vec![resolved]), s.deadline(30)).await;
    assert_eq!(outcome.delivered, 1);
    assert_eq!(s.fake.delivered("ops").len(), 2);
}

#[tokio::test]
async fn posts_to_one_channel_are_paced_at_one_per_second_after_a_burst_of_two() {
    let s = setup(Settings::default());
    let items = work(
        (0..5)
            .map(|n| delivery(alert(n, Status::Firing), "ops"))
            .collect(),
    );
    let outcome = s.engine.deliver(items, s.deadline(30)).await;
    assert_eq!(outcome.delivered, 5);
    let arrivals = s.fake.arrivals("ops");
    assert_eq!(arrivals.len(), 5);
    // After the burst, each post is at least 1 s after the one two places before it.
    for window in arrivals.windows(3) {
        let gap = window[2].duration_since(window[0]).unwrap();
        assert!(
            gap >= Duration::from_secs(1),
            "{gap:?} between posts n and n+2"
        );
    }
    assert!(
        s.clock.slept() >= Duration::from_secs(3),
        "five posts at a burst of two take three paced seconds: {:?}",
        s.clock.sleeps()
    );
}
