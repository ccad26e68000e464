//! The engine entirely on in-memory adapters and a manual clock: every fate of a delivery,
//! pacing and `Retry-After` on the clock's time line, without a network or real waiting.

use std::sync::Arc;

use fleetwatch_alerts::{Severity, Source};
use fleetwatch_ports::{
    Clock, ManualClock, MemoryQueue, MemoryStateStore, SharedClock, StateError, StateItem,
    StaticSecrets,
};
use serde_json::json;

use super::*;
use crate::transport::{MemorySlack, Scripted};

type MemoryEngine = Engine<Arc<MemorySlack>, Arc<MemoryStateStore>, MemoryQueue, StaticSecrets>;

struct World {
    clock: Arc<ManualClock>,
    slack: Arc<MemorySlack>,
    state: Arc<MemoryStateStore>,
}

impl World {
    fn new() -> World {
        let clock = Arc::new(ManualClock::at_epoch_seconds(1_800_000_000));
        World {
            slack: Arc::new(MemorySlack::new(clock.clone())),
            state: Arc::new(MemoryStateStore::new(clock.clone())),
            clock,
        }
    }

    /// An engine of this world: engines of one world share Slack, the state table and time,
    /// as two instances of the function do.
    fn engine(&self, secrets: StaticSecrets) -> MemoryEngine {
        self.engine_on(self.state.clone(), secrets)
    }

    /// An engine of this world on another state store (one that fails some calls).
    fn engine_on<St: StateStore + Sync>(
        &self,
        state: St,
        secrets: StaticSecrets,
    ) -> Engine<Arc<MemorySlack>, St, MemoryQueue, StaticSecrets> {
        let clock: SharedClock = self.clock.clone();
        Engine::new(
            self.slack.clone(),
            state,
            MemoryQueue::default(),
            secrets,
            destinations(),
            Settings::default(),
            clock,
        )
    }

    fn deadline(&self, seconds: u64) -> SystemTime {
        self.clock.now() + Duration::from_secs(seconds)
    }
}

fn destinations() -> HashMap<String, fleetwatch_routing::Destination> {
    HashMap::from([
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
                channel: "C0DEPLOYS".into(),
            },
        ),
    ])
}

fn secrets() -> StaticSecrets {
    StaticSecrets::default()
        .with("/slack/ops", "https://hooks.example/ops")
        .with("/slack/bot", "xoxb-test")
}

fn alert(n: usize, status: Status) -> Alert {
    let mut alert = Alert::new(Source::Cloudwatch, format!("alarm {n}"));
    alert.id = format!("id-{n}-{}", status.as_str());
    alert.fingerprint = format!("fp-{n}");
    alert.severity = Severity::Error;
    alert.status = status;
    alert
}

fn delivery(alert: Alert, destination: &str) -> Delivery {
    Delivery {
        alert: Arc::new(alert),
        destination: destination.into(),
        mentions: Vec::new(),
        dedup_window: None,
    }
}

fn work(n: usize, destination: &str, status: Status) -> WorkItem {
    WorkItem {
        message_id: format!("m{n}"),
        deliveries: vec![delivery(alert(n, status), destination)],
    }
}

#[tokio::test]
async fn posts_are_paced_by_the_clock_and_a_redelivery_posts_nothing() {
    let world = World::new();
    let engine = world.engine(secrets());
    let items: Vec<WorkItem> = (0..4).map(|n| work(n, "ops", Status::Firing)).collect();
    let outcome = engine.deliver(items.clone(), world.deadline(60)).await;
    assert_eq!((outcome.posted, outcome.delivered), (4, 4));
    // A burst of two, then one per second.
    assert_eq!(
        world.clock.sleeps(),
        [0, 0, 1, 1].map(Duration::from_secs).to_vec()
    );
    let again = engine.deliver(items, world.deadline(60)).await;
    assert_eq!((again.posted, again.already_sent), (0, 4));
    assert_eq!(world.slack.recorded().len(), 4);
}

#[tokio::test]
async fn two_instances_share_one_pace_per_channel() {
    let world = World::new();
    let (first, second) = (world.engine(secrets()), world.engine(secrets()));
    let batch = |from: usize| -> Vec<WorkItem> {
        (from..from + 6)
            .map(|n| work(n, "ops", Status::Firing))
            .collect()
    };
    let (a, b) = tokio::join!(
        first.deliver(batch(0), world.deadline(120)),
        second.deliver(batch(100), world.deadline(120)),
    );
    assert_eq!(a.delivered + b.delivered, 12);
    let mut times: Vec<SystemTime> = world.slack.recorded().iter().map(|r| r.at).collect();
    times.sort();
    // One budget for the channel: never three posts within a second, across both instances.
    for window in times.windows(3) {
        let gap = window[2].duration_since(window[0]).unwrap();
        assert!(
            gap >= Duration::from_secs(1),
            "3 posts within {gap:?}: {times:?}"
        );
    }
}

#[tokio::test]
async fn two_alerts_of_one_problem_in_one_batch_post_once() {
    let world = World::new();
    let engine = world.engine(secrets());
    let window = Some(Duration::from_secs(300));
    let mut first = delivery(alert(1, Status::Firing), "ops");
    first.dedup_window = window;
    let mut repeat = delivery(
        Alert {
            id: "id-1-again".into(),
            ..alert(1, Status::Firing)
        },
        "ops",
    );
    repeat.dedup_window = window;
    let items = vec![
        WorkItem {
            message_id: "m1".into(),
            deliveries: vec![first.clone()],
        },
        WorkItem {
            message_id: "m2".into(),
            deliveries: vec![repeat],
        },
    ];
    let outcome = engine.deliver(items, world.deadline(60)).await;
    assert_eq!((outcome.delivered, outcome.dropped), (1, 1));
    assert_eq!(world.slack.recorded().len(), 1);

    // The first alert's own retry is not a duplicate of itself (its record names it).
    world
        .state
        .delete(&crate::records::delivery_key(&first.alert.id, "ops"))
        .await
        .unwrap();
    let retry = engine
        .deliver(
            vec![WorkItem {
                message_id: "m1".into(),
                deliveries: vec![first],
            }],
            world.deadline(60),
        )
        .await;
    assert_eq!((retry.delivered, retry.dropped), (1, 0));
}

#[tokio::test]
async fn retry_after_is_waited_out_on_the_clock_or_handed_back_past_the_deadline() {
    let world = World::new();
    let engine = world.engine(secrets());
    world
        .slack
        .script([Scripted::RateLimited(Duration::from_secs(5))]);
    let outcome = engine
        .deliver(vec![work(1, "ops", Status::Firing)], world.deadline(60))
        .await;
    assert_eq!((outcome.delivered, outcome.rate_limited), (1, 1));
    assert_eq!(world.clock.slept(), Duration::from_secs(5));

    world
        .slack
        .script([Scripted::RateLimited(Duration::from_secs(30))]);
    let outcome = engine
        .deliver(vec![work(2, "ops", Status::Firing)], world.deadline(30))
        .await;
    assert_eq!(outcome.retry.keys().collect::<Vec<_>>(), ["m2"]);
    assert!(
        outcome.retry["m2"].contains("rate limited"),
        "{:?}",
        outcome.retry
    );
    assert_eq!(
        world.slack.recorded().len(),
        1,
        "nothing posted past the deadline"
    );
}

#[tokio::test]
async fn a_huge_retry_after_holds_the_destination_briefly_and_overflows_nothing() {
    let world = World::new();
    let engine = world.engine(secrets());
    world
        .slack
        .script([Scripted::RateLimited(Duration::from_secs(u64::MAX))]);
    let outcome = engine
        .deliver(vec![work(1, "ops", Status::Firing)], world.deadline(600))
        .await;
    assert_eq!(outcome.retry.len(), 1, "handed back, not waited for");
    // The next invocation, the cap later, posts.
    world.clock.advance(engine.settings.max_retry_after);
    let outcome = engine
        .deliver(vec![work(1, "ops", Status::Firing)], world.deadline(600))
        .await;
    assert_eq!(outcome.delivered, 1);
}

#[tokio::test]
async fn a_post_starts_only_when_it_can_end_before_the_deadline() {
    let world = World::new();
    let engine = world.engine(secrets());
    // Less time left than one Slack call may take: nothing is posted, the message goes back.
    let outcome = engine
        .deliver(vec![work(1, "ops", Status::Firing)], world.deadline(5))
        .await;
    assert_eq!(outcome.posted, 0);
    assert_eq!(outcome.retry.len(), 1);
    assert!(world.slack.recorded().is_empty());
    // The retry finds the delivery unclaimed and posts it.
    let outcome = engine
        .deliver(vec![work(1, "ops", Status::Firing)], world.deadline(60))
        .await;
    assert_eq!(outcome.delivered, 1);
}

#[tokio::test]
async fn a_refusal_is_parked_with_its_reason_and_a_thread_keeps_its_parent_updated() {
    let world = World::new();
    let engine = world.engine(secrets());
    world.slack.script([Scripted::Refused("channel_not_found")]);
    let outcome = engine
        .deliver(vec![work(1, "ops", Status::Firing)], world.deadline(60))
        .await;
    assert_eq!(outcome.dead, 1);
    let letters = engine.dead_letters.messages();
    assert!(
        letters[0].contains("\"reason\":\"channel_not_found\""),
        "{letters:?}"
    );

    engine
        .deliver(vec![work(7, "deploys", Status::Firing)], world.deadline(60))
        .await;
    engine
        .deliver(
            vec![work(7, "deploys", Status::Resolved)],
            world.deadline(60),
        )
        .await;
    let recorded = world.slack.recorded();
    let parent = recorded[0].posted.clone().expect("the parent's ts");
    assert_eq!(recorded[1].payload["thread_ts"], json!(parent.ts));
    assert_eq!(
        recorded[2].updated.as_ref(),
        Some(&parent),
        "parent updated"
    );
}

#[tokio::test]
async fn a_missing_secret_parks_only_its_own_destinations_deliveries() {
    let world = World::new();
    let without_bot = StaticSecrets::default().with("/slack/ops", "https://hooks.example/ops");
    let engine = world.engine(without_bot);
    let outcome = engine
        .deliver(
            vec![
                work(1, "ops", Status::Firing),
                work(2, "deploys", Status::Firing),
            ],
            world.deadline(60),
        )
        .await;
    assert_eq!((outcome.delivered, outcome.dead), (1, 1));
    // Per destination, as the dashboard shows them.
    let ops = DestinationOutcome {
        delivered: 1,
        ..DestinationOutcome::default()
    };
    let deploys = DestinationOutcome {
        dead: 1,
        ..DestinationOutcome::default()
    };
    assert_eq!(
        outcome.destinations,
        BTreeMap::from([("deploys".to_string(), deploys), ("ops".to_string(), ops)])
    );
    let letters = engine.dead_letters.messages();
    assert!(
        letters[0].contains("destination deploys: secret parameter /slack/bot does not exist"),
        "{letters:?}"
    );
}

/// The world's state table refusing one operation on the keys of one prefix, as DynamoDB does
/// when throttled: every other call goes through.
struct Refusing {
    inner: Arc<MemoryStateStore>,
    operation: &'static str,
    prefix: &'static str,
}

impl Refusing {
    fn check(&self, operation: &'static str, key: &str) -> Result<(), StateError> {
        if operation == self.operation && key.starts_with(self.prefix) {
            return Err(StateError::Store {
                operation,
                key: key.into(),
                fault: fleetwatch_ports::Fault::transient("ProvisionedThroughputExceededException"),
            });
        }
        Ok(())
    }
}

impl StateStore for Refusing {
    async fn get(&self, key: &str) -> Result<Option<StateItem>, StateError> {
        self.check("get", key)?;
        self.inner.get(key).await
    }

    async fn put(&self, item: &StateItem) -> Result<(), StateError> {
        self.check("put", &item.key)?;
        self.inner.put(item).await
    }

    async fn compare_and_set(
        &self,
        item: &StateItem,
        expected: Option<&str>,
    ) -> Result<bool, StateError> {
        self.check("compare_and_set", &item.key)?;
        self.inner.compare_and_set(item, expected).await
    }

    async fn delete(&self, key: &str) -> Result<(), StateError> {
        self.check("delete", key)?;
        self.inner.delete(key).await
    }
}

#[tokio::test]
async fn a_failed_dedup_read_hands_the_message_back_instead_of_posting() {
    let world = World::new();
    let refusing = world.engine_on(
        Refusing {
            inner: world.state.clone(),
            operation: "get",
            prefix: "dedup#",
        },
        secrets(),
    );
    let mut item = work(1, "ops", Status::Firing);
    item.deliveries[0].dedup_window = Some(Duration::from_secs(300));
    let outcome = refusing
        .deliver(vec![item.clone()], world.deadline(60))
        .await;
    assert_eq!(outcome.posted, 0, "a failed read is not 'never seen'");
    assert!(
        outcome.retry["m1"].starts_with("the dedup record: "),
        "{:?}",
        outcome.retry
    );
    assert!(world.slack.recorded().is_empty());
    // The claim was released: the retry, with the table back, posts once.
    let retry = world
        .engine(secrets())
        .deliver(vec![item], world.deadline(60))
        .await;
    assert_eq!(retry.delivered, 1);
    assert_eq!(world.slack.recorded().len(), 1);
}

#[tokio::test]
async fn a_post_whose_record_fails_is_counted_and_not_posted_again() {
    let world = World::new();
    // Claims (conditional writes) go through; the record after the post (a put) fails.
    let refusing = world.engine_on(
        Refusing {
            inner: world.state.clone(),
            operation: "put",
            prefix: "delivery#",
        },
        secrets(),
    );
    let item = work(1, "ops", Status::Firing);
    let outcome = refusing
        .deliver(vec![item.clone()], world.deadline(60))
        .await;
    assert_eq!((outcome.posted, outcome.unrecorded), (1, 1));
    assert!(outcome.retry.is_empty(), "handed back, it would post again");
    // A redelivery within the claim's time finds the delivery claimed and posts nothing.
    let again = world
        .engine(secrets())
        .deliver(vec![item], world.deadline(60))
        .await;
    assert_eq!(again.posted, 0);
    assert_eq!(world.slack.recorded().len(), 1);
}
