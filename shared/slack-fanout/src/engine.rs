//! The delivery engine: routed alerts in, Slack messages out, and for every delivery one of
//! sent, skipped as already sent, dropped as a duplicate, parked in the dead-letter queue with
//! its reason, or handed back to the queue for a later attempt. Never two posts of one delivery
//! (within the idempotency window), never a silent loss.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use fleetwatch_alerts::{Alert, RenderOptions, Status, render, render_digest_with};
use fleetwatch_ports::{
    ErrorChain, MessageQueue, Secret, SharedClock, StateError, StateItem, StateStore, epoch_seconds,
};
use fleetwatch_routing::{Timestamp, dedup_key as routing_dedup_key, should_send};
use serde_json::{Value, json};

use crate::pacer::Pacer;
use crate::records::{DedupRecord, DeliveryState, ThreadRecord, delivery_key, thread_key};
use crate::transport::{PostedMessage, SlackError, SlackTransport};

/// A Slack destination with its secret resolved.
#[derive(Clone, Debug)]
pub struct Destination {
    pub name: String,
    pub target: Target,
}

#[derive(Clone, Debug)]
pub enum Target {
    /// One channel, fixed by the webhook; no threads, no updates.
    Webhook { url: Secret },
    /// Bot token + channel: threads per `thread_key` (or fingerprint), parent updated.
    Bot { token: Secret, channel: String },
}

/// One alert to one destination, as routing decided.
#[derive(Clone, Debug)]
pub struct Delivery {
    pub alert: Arc<Alert>,
    pub destination: String,
    /// Mentions for a firing alert (routing already applied the severity rules).
    pub mentions: Vec<String>,
    /// Same fingerprint and status again within this window: dropped as a duplicate.
    pub dedup_window: Option<Duration>,
}

/// The deliveries that came from one queue message: if any of them must be retried, the whole
/// message is handed back (its delivered parts are then skipped by their idempotency records).
#[derive(Clone, Debug)]
pub struct WorkItem {
    pub message_id: String,
    pub deliveries: Vec<Delivery>,
}

#[derive(Clone, Debug)]
pub struct Settings {
    /// More deliveries than this to one destination in one batch become one digest message.
    pub digest_threshold: usize,
    /// How long a claim blocks other workers: longer than one delivery attempt can take.
    pub claim_ttl: Duration,
    /// How long "already sent" is remembered (redeliveries within it post nothing).
    pub record_ttl: Duration,
    /// How long a bot-mode thread is continued.
    pub thread_ttl: Duration,
    pub pace_interval: Duration,
    pub pace_burst: u32,
    /// Attempts for 5xx / network failures within one invocation.
    pub transient_attempts: u32,
    pub backoff: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            digest_threshold: 10,
            claim_ttl: Duration::from_secs(120),
            record_ttl: Duration::from_secs(7 * 24 * 3600),
            thread_ttl: Duration::from_secs(30 * 24 * 3600),
            pace_interval: Duration::from_secs(1),
            pace_burst: 2,
            transient_attempts: 3,
            backoff: Duration::from_millis(500),
        }
    }
}

/// Totals of one `deliver` call.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Messages to hand back to the queue (SQS partial batch failures).
    pub retry: BTreeSet<String>,
    /// Slack messages posted (a digest counts once).
    pub posted: u64,
    /// Deliveries completed by a post (single or digest).
    pub delivered: u64,
    pub digests: u64,
    /// Deliveries already sent by an earlier attempt.
    pub already_sent: u64,
    /// Duplicates within the dedup window.
    pub dropped: u64,
    /// Parked in the dead-letter queue.
    pub dead: u64,
    pub rate_limited: u64,
}

impl Outcome {
    fn merge(&mut self, other: Outcome) {
        self.retry.extend(other.retry);
        self.posted += other.posted;
        self.delivered += other.delivered;
        self.digests += other.digests;
        self.already_sent += other.already_sent;
        self.dropped += other.dropped;
        self.dead += other.dead;
        self.rate_limited += other.rate_limited;
    }
}

/// The delivery engine over a Slack transport `T`, a state store `St` and a dead-letter queue `Q`.
pub struct Engine<T, St, Q> {
    pub slack: T,
    pub state: St,
    pub dead_letters: Q,
    pub destinations: HashMap<String, Destination>,
    pub settings: Settings,
    clock: SharedClock,
    /// Pacing outlives one invocation: a warm function's next batch must not burst again.
    pacer: std::sync::Mutex<Pacer>,
}

impl<T, St, Q> Engine<T, St, Q> {
    pub fn new(
        slack: T,
        state: St,
        dead_letters: Q,
        destinations: HashMap<String, Destination>,
        settings: Settings,
        clock: SharedClock,
    ) -> Self {
        let pacer = std::sync::Mutex::new(Pacer::new(settings.pace_interval, settings.pace_burst));
        Self {
            slack,
            state,
            dead_letters,
            destinations,
            settings,
            clock,
            pacer,
        }
    }

    pub fn clock(&self) -> &SharedClock {
        &self.clock
    }

    /// The clock's time as the pacer counts it: a duration since the epoch.
    fn pace_now(&self) -> Duration {
        self.clock
            .now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
    }

    /// Books the next post to `destination`; returns how long to wait first.
    fn reserve(&self, destination: &str) -> Duration {
        let now = self.pace_now();
        self.pacer
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .reserve(destination, now)
    }

    fn hold(&self, destination: &str, retry_after: Duration) {
        let now = self.pace_now();
        self.pacer
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .hold(destination, now, retry_after);
    }

    /// Whether something that takes `wait` can start and still end before `deadline`.
    fn fits(&self, wait: Duration, deadline: SystemTime) -> bool {
        self.clock.now() + wait < deadline
    }

    fn expires_in(&self, ttl: Duration) -> u64 {
        epoch_seconds(self.clock.now()) + ttl.as_secs()
    }
}

enum Claim {
    Acquired,
    Done,
    /// Another worker holds it (or died holding it): try again after the claim expires.
    Busy,
}

enum Sent {
    Posted(Option<PostedMessage>),
    /// Hand the message back to the queue.
    Requeue(String),
    /// Refused for good.
    Dead(String),
}

impl<T: SlackTransport, St: StateStore + Sync, Q: MessageQueue + Sync> Engine<T, St, Q> {
    /// Delivers everything it can before `deadline`; destinations are served concurrently, each
    /// one paced on its own.
    pub async fn deliver(&self, work: Vec<WorkItem>, deadline: SystemTime) -> Outcome {
        let mut by_destination: Vec<(String, Vec<(String, Delivery)>)> = Vec::new();
        for item in work {
            for delivery in item.deliveries {
                let name = delivery.destination.clone();
                match by_destination.iter_mut().find(|(n, _)| *n == name) {
                    Some((_, list)) => list.push((item.message_id.clone(), delivery)),
                    None => by_destination.push((name, vec![(item.message_id.clone(), delivery)])),
                }
            }
        }
        let tasks = by_destination
            .into_iter()
            .map(|(name, deliveries)| self.serve_destination(name, deliveries, deadline));
        let mut outcome = Outcome::default();
        for part in futures_util::future::join_all(tasks).await {
            outcome.merge(part);
        }
        outcome
    }

    async fn serve_destination(
        &self,
        name: String,
        deliveries: Vec<(String, Delivery)>,
        deadline: SystemTime,
    ) -> Outcome {
        let mut outcome = Outcome::default();
        let Some(destination) = self.destinations.get(&name) else {
            for (message_id, delivery) in deliveries {
                let reason = format!("unknown destination {name}");
                self.park(&delivery, &reason, &message_id, &mut outcome)
                    .await;
            }
            return outcome;
        };
        let mut claimed: Vec<(String, Delivery)> = Vec::new();
        for (message_id, delivery) in deliveries {
            match self.claim(&delivery).await {
                Ok(Claim::Acquired) => {
                    if self.is_duplicate(&delivery).await {
                        self.finish(&delivery, DeliveryState::Dropped).await;
                        outcome.dropped += 1;
                    } else {
                        claimed.push((message_id, delivery));
                    }
                }
                Ok(Claim::Done) => outcome.already_sent += 1,
                Ok(Claim::Busy) | Err(_) => {
                    outcome.retry.insert(message_id);
                }
            }
        }
        if claimed.is_empty() {
            return outcome;
        }
        if claimed.len() > self.settings.digest_threshold {
            let alerts: Vec<Alert> = claimed.iter().map(|(_, d)| (*d.alert).clone()).collect();
            let mentions = mentions_of(claimed.iter().map(|(_, d)| d));
            let message = render_digest_with(&alerts, &RenderOptions { mentions });
            let payload = serde_json::to_value(&message).expect("serialisable");
            let sent = self
                .send(destination, deadline, &payload, None, &mut outcome)
                .await;
            if matches!(sent, Sent::Posted(_)) {
                outcome.digests += 1;
            }
            self.settle(&claimed, sent, &mut outcome).await;
            return outcome;
        }
        for (message_id, delivery) in claimed {
            let message = render(
                &delivery.alert,
                &RenderOptions {
                    mentions: delivery.mentions.clone(),
                },
            );
            let payload = serde_json::to_value(&message).expect("serialisable");
            let sent = match &destination.target {
                Target::Webhook { .. } => {
                    self.send(destination, deadline, &payload, None, &mut outcome)
                        .await
                }
                Target::Bot { .. } => {
                    self.send_threaded(destination, deadline, &delivery, &payload, &mut outcome)
                        .await
                }
            };
            self.settle(&[(message_id, delivery)], sent, &mut outcome)
                .await;
        }
        outcome
    }

    /// Bot mode: the first message of a thread key becomes the parent; later ones reply in its
    /// thread and update the parent to the latest status.
    async fn send_threaded(
        &self,
        destination: &Destination,
        deadline: SystemTime,
        delivery: &Delivery,
        payload: &Value,
        outcome: &mut Outcome,
    ) -> Sent {
        let alert = &delivery.alert;
        let thread = alert
            .thread_key
            .clone()
            .unwrap_or_else(|| alert.fingerprint.clone());
        let key = thread_key(&destination.name, &thread);
        let parent = match self.state.get(&key).await {
            Ok(item) => item.and_then(|i| serde_json::from_str::<ThreadRecord>(&i.value).ok()),
            Err(error) => return Sent::Requeue(ErrorChain(&error).to_string()),
        };
        let Some(parent) = parent else {
            let sent = self
                .send(destination, deadline, payload, None, outcome)
                .await;
            if let Sent::Posted(Some(posted)) = &sent {
                let record = ThreadRecord {
                    channel_id: posted.channel_id.clone(),
                    ts: posted.ts.clone(),
                };
                let item = StateItem {
                    key,
                    value: serde_json::to_string(&record).expect("serialisable"),
                    expires_at: self.expires_in(self.settings.thread_ttl),
                };
                if let Err(error) = self.state.put(&item).await {
                    tracing::warn!(error = %ErrorChain(&error), error.kind = %error.kind(), "could not remember the thread; later alerts start a new one");
                }
            }
            return sent;
        };
        let sent = self
            .send(destination, deadline, payload, Some(&parent.ts), outcome)
            .await;
        if matches!(sent, Sent::Posted(_)) {
            // The parent shows the latest status; a failed update leaves the reply delivered.
            let Target::Bot { token, .. } = &destination.target else {
                return sent;
            };
            let posted = PostedMessage {
                channel_id: parent.channel_id,
                ts: parent.ts,
            };
            let wait = self.reserve(&destination.name);
            if self.fits(wait, deadline) {
                self.clock.sleep(wait).await;
                if let Err(error) = self.slack.update_message(token, &posted, payload).await {
                    tracing::warn!(destination = %destination.name, error = %ErrorChain(&error), error.kind = %error.kind(), "could not update the thread's parent");
                }
            }
        }
        sent
    }

    /// Posts one payload, paced, honouring `Retry-After`, retrying transient failures, all
    /// within `deadline`.
    async fn send(
        &self,
        destination: &Destination,
        deadline: SystemTime,
        payload: &Value,
        thread_ts: Option<&str>,
        outcome: &mut Outcome,
    ) -> Sent {
        let mut failures = 0;
        loop {
            let wait = self.reserve(&destination.name);
            if !self.fits(wait, deadline) {
                return Sent::Requeue("out of time before the next allowed post".into());
            }
            self.clock.sleep(wait).await;
            let result = match &destination.target {
                Target::Webhook { url } => {
                    self.slack.post_webhook(url, payload).await.map(|()| None)
                }
                Target::Bot { token, channel } => {
                    let mut body = payload.clone();
                    if let Some(ts) = thread_ts {
                        body["thread_ts"] = json!(ts);
                    }
                    self.slack
                        .post_message(token, channel, &body)
                        .await
                        .map(Some)
                }
            };
            match result {
                Ok(posted) => {
                    outcome.posted += 1;
                    return Sent::Posted(posted);
                }
                Err(SlackError::RateLimited { retry_after }) => {
                    outcome.rate_limited += 1;
                    self.hold(&destination.name, retry_after);
                    if !self.fits(retry_after, deadline) {
                        return Sent::Requeue(format!(
                            "rate limited for {retry_after:?}, beyond this invocation's time"
                        ));
                    }
                }
                // The reason recorded is Slack's answer itself (what a DLQ reader needs).
                Err(SlackError::Transient(cause)) => {
                    failures += 1;
                    let reason = ErrorChain(cause.as_ref()).to_string();
                    if failures >= self.settings.transient_attempts {
                        return Sent::Requeue(reason);
                    }
                    let backoff = self.settings.backoff * 2u32.pow(failures - 1);
                    if !self.fits(backoff, deadline) {
                        return Sent::Requeue(reason);
                    }
                    self.clock.sleep(backoff).await;
                }
                Err(SlackError::Permanent(cause)) => {
                    return Sent::Dead(ErrorChain(cause.as_ref()).to_string());
                }
            }
        }
    }

    /// Records what happened to the deliveries a post carried.
    async fn settle(&self, deliveries: &[(String, Delivery)], sent: Sent, outcome: &mut Outcome) {
        match sent {
            Sent::Posted(_) => {
                for (_, delivery) in deliveries {
                    self.finish(delivery, DeliveryState::Sent).await;
                    self.remember_status(delivery).await;
                    outcome.delivered += 1;
                }
            }
            Sent::Requeue(reason) => {
                for (message_id, delivery) in deliveries {
                    tracing::warn!(destination = %delivery.destination, alert = %delivery.alert.id, %reason, "delivery handed back to the queue");
                    let key = delivery_key(&delivery.alert.id, &delivery.destination);
                    if let Err(error) = self.state.delete(&key).await {
                        // The claim then expires by itself; the retry waits for it.
                        tracing::warn!(error = %ErrorChain(&error), error.kind = %error.kind(), "could not release a delivery claim");
                    }
                    outcome.retry.insert(message_id.clone());
                }
            }
            Sent::Dead(reason) => {
                for (message_id, delivery) in deliveries {
                    self.park(delivery, &reason, message_id, outcome).await;
                }
            }
        }
    }

    /// Parks a delivery in the dead-letter queue with its reason; if even that fails, the
    /// message goes back to the queue so nothing is lost.
    async fn park(
        &self,
        delivery: &Delivery,
        reason: &str,
        message_id: &str,
        outcome: &mut Outcome,
    ) {
        tracing::error!(destination = %delivery.destination, alert = %delivery.alert.id, %reason, "delivery refused for good: dead-lettered");
        let letter = json!({
            "reason": reason,
            "destination": delivery.destination,
            "alert": &*delivery.alert,
        });
        match self.dead_letters.send(&letter.to_string()).await {
            Ok(_) => {
                self.finish(delivery, DeliveryState::Dead).await;
                outcome.dead += 1;
            }
            Err(error) => {
                tracing::error!(error = %ErrorChain(&error), error.kind = %error.kind(), "could not dead-letter a delivery; it will be retried");
                let key = delivery_key(&delivery.alert.id, &delivery.destination);
                let _ = self.state.delete(&key).await;
                outcome.retry.insert(message_id.to_string());
            }
        }
    }

    async fn claim(&self, delivery: &Delivery) -> Result<Claim, StateError> {
        let key = delivery_key(&delivery.alert.id, &delivery.destination);
        let item = StateItem {
            key: key.clone(),
            value: DeliveryState::Pending.as_str().into(),
            expires_at: self.expires_in(self.settings.claim_ttl),
        };
        if self.state.put_if_absent(&item).await? {
            return Ok(Claim::Acquired);
        }
        Ok(match self.state.get(&key).await? {
            Some(existing) => match DeliveryState::parse(&existing.value) {
                Some(DeliveryState::Pending) | None => Claim::Busy,
                Some(_) => Claim::Done,
            },
            // Expired between the two calls: let the retry claim it.
            None => Claim::Busy,
        })
    }

    async fn finish(&self, delivery: &Delivery, state: DeliveryState) {
        let item = StateItem {
            key: delivery_key(&delivery.alert.id, &delivery.destination),
            value: state.as_str().into(),
            expires_at: self.expires_in(self.settings.record_ttl),
        };
        if let Err(error) = self.state.put(&item).await {
            // The claim expires, and a redelivery within its window would post again: the one
            // duplicate window this design has, logged so it can be seen.
            tracing::error!(error = %ErrorChain(&error), error.kind = %error.kind(), key = %item.key, "could not record the delivery");
        }
    }

    /// Routing's dedup rule over the last delivery remembered for the fingerprint.
    async fn is_duplicate(&self, delivery: &Delivery) -> bool {
        let Some(window) = delivery.dedup_window else {
            return false;
        };
        let key = dedup_record_key(delivery);
        let previous = match self.state.get(&key).await {
            Ok(Some(item)) => serde_json::from_str::<DedupRecord>(&item.value)
                .ok()
                .and_then(|r| r.to_previous()),
            _ => None,
        };
        let now = Timestamp::try_from(self.clock.now()).unwrap_or(Timestamp::UNIX_EPOCH);
        !should_send(previous, &delivery.alert, now, window)
    }

    async fn remember_status(&self, delivery: &Delivery) {
        let Some(window) = delivery.dedup_window else {
            return;
        };
        let record = DedupRecord {
            status: delivery.alert.status.as_str().into(),
            severity: Some(delivery.alert.severity.as_str().into()),
            sent_at: epoch_seconds(self.clock.now()),
        };
        let item = StateItem {
            key: dedup_record_key(delivery),
            value: serde_json::to_string(&record).expect("serialisable"),
            expires_at: record.sent_at + window.as_secs(),
        };
        if let Err(error) = self.state.put(&item).await {
            tracing::warn!(error = %ErrorChain(&error), error.kind = %error.kind(), "could not record the dedup window");
        }
    }
}

fn dedup_record_key(delivery: &Delivery) -> String {
    format!(
        "dedup#{}",
        routing_dedup_key(&delivery.alert, &delivery.destination)
    )
}

/// A digest mentions whoever any of its firing alerts would have.
fn mentions_of<'a>(deliveries: impl Iterator<Item = &'a Delivery>) -> Vec<String> {
    let mut mentions: Vec<String> = Vec::new();
    for delivery in deliveries {
        if delivery.alert.status == Status::Firing {
            for mention in &delivery.mentions {
                if !mentions.contains(mention) {
                    mentions.push(mention.clone());
                }
            }
        }
    }
    mentions
}

#[cfg(test)]
mod tests {
    //! The engine entirely on in-memory adapters and a manual clock: every fate of a delivery,
    //! pacing and `Retry-After` on the clock's time line, without a network or real waiting.

    use std::sync::Arc;

    use fleetwatch_alerts::{Severity, Source};
    use fleetwatch_ports::{Clock, ManualClock, MemoryQueue, MemoryStateStore};

    use super::*;
    use crate::transport::{MemorySlack, Scripted};

    type MemoryEngine = Engine<MemorySlack, MemoryStateStore, MemoryQueue>;

    fn engine() -> (MemoryEngine, Arc<ManualClock>) {
        let clock = Arc::new(ManualClock::at_epoch_seconds(1_800_000_000));
        let destinations = HashMap::from([
            (
                "ops".to_string(),
                Destination {
                    name: "ops".into(),
                    target: Target::Webhook {
                        url: Secret::new("https://hooks.example/ops"),
                    },
                },
            ),
            (
                "deploys".to_string(),
                Destination {
                    name: "deploys".into(),
                    target: Target::Bot {
                        token: Secret::new("xoxb-test"),
                        channel: "C0DEPLOYS".into(),
                    },
                },
            ),
        ]);
        let engine = Engine::new(
            MemorySlack::default(),
            MemoryStateStore::new(clock.clone()),
            MemoryQueue::default(),
            destinations,
            Settings::default(),
            clock.clone(),
        );
        (engine, clock)
    }

    fn work(n: usize, destination: &str, status: Status) -> WorkItem {
        let mut alert = Alert::new(Source::Cloudwatch, format!("alarm {n}"));
        alert.id = format!("id-{n}-{}", status.as_str());
        alert.fingerprint = format!("fp-{n}");
        alert.severity = Severity::Error;
        alert.status = status;
        WorkItem {
            message_id: format!("m{n}"),
            deliveries: vec![Delivery {
                alert: Arc::new(alert),
                destination: destination.into(),
                mentions: Vec::new(),
                dedup_window: None,
            }],
        }
    }

    #[tokio::test]
    async fn posts_are_paced_by_the_clock_and_a_redelivery_posts_nothing() {
        let (engine, clock) = engine();
        let start = clock.now();
        let items: Vec<WorkItem> = (0..4).map(|n| work(n, "ops", Status::Firing)).collect();
        let outcome = engine
            .deliver(items.clone(), start + Duration::from_secs(60))
            .await;
        assert_eq!((outcome.posted, outcome.delivered), (4, 4));
        // A burst of two, then one per second.
        assert_eq!(
            clock.sleeps(),
            [0, 0, 1, 1].map(Duration::from_secs).to_vec()
        );
        let again = engine
            .deliver(items, clock.now() + Duration::from_secs(60))
            .await;
        assert_eq!((again.posted, again.already_sent), (0, 4));
        assert_eq!(engine.slack.recorded().len(), 4);
    }

    #[tokio::test]
    async fn retry_after_is_waited_out_on_the_clock_or_handed_back_past_the_deadline() {
        let (engine, clock) = engine();
        engine
            .slack
            .script([Scripted::RateLimited(Duration::from_secs(5))]);
        let outcome = engine
            .deliver(
                vec![work(1, "ops", Status::Firing)],
                clock.now() + Duration::from_secs(60),
            )
            .await;
        assert_eq!((outcome.delivered, outcome.rate_limited), (1, 1));
        assert_eq!(clock.slept(), Duration::from_secs(5));

        engine
            .slack
            .script([Scripted::RateLimited(Duration::from_secs(30))]);
        let outcome = engine
            .deliver(
                vec![work(2, "ops", Status::Firing)],
                clock.now() + Duration::from_secs(10),
            )
            .await;
        assert_eq!(outcome.retry.into_iter().collect::<Vec<_>>(), ["m2"]);
        assert_eq!(
            engine.slack.recorded().len(),
            1,
            "nothing posted past the deadline"
        );
    }

    #[tokio::test]
    async fn a_refusal_is_parked_with_its_reason_and_a_thread_keeps_its_parent_updated() {
        let (engine, clock) = engine();
        engine
            .slack
            .script([Scripted::Refused("channel_not_found")]);
        let deadline = clock.now() + Duration::from_secs(60);
        let outcome = engine
            .deliver(vec![work(1, "ops", Status::Firing)], deadline)
            .await;
        assert_eq!(outcome.dead, 1);
        let letters = engine.dead_letters.messages();
        assert!(
            letters[0].contains("\"reason\":\"channel_not_found\""),
            "{letters:?}"
        );

        let deadline = clock.now() + Duration::from_secs(60);
        engine
            .deliver(vec![work(7, "deploys", Status::Firing)], deadline)
            .await;
        engine
            .deliver(vec![work(7, "deploys", Status::Resolved)], deadline)
            .await;
        let recorded = engine.slack.recorded();
        let parent = recorded[0].posted.clone().expect("the parent's ts");
        assert_eq!(recorded[1].payload["thread_ts"], json!(parent.ts));
        assert_eq!(
            recorded[2].updated.as_ref(),
            Some(&parent),
            "parent updated"
        );
    }
}
