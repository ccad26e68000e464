//! The delivery engine: routed alerts in, Slack messages out, and for every delivery one of
//! sent, skipped as already sent, dropped as a duplicate, parked in the dead-letter queue with
//! its reason, or handed back to the queue for a later attempt (with the reason). Never two
//! posts of one delivery (within the idempotency window), never a silent loss.
//!
//! Shared with every other instance through the state table: the claim of each delivery, the
//! dedup record of each fingerprint (a conditional write, so two alerts of one problem in one
//! batch post once), and the pacing budget of each destination (a conditional write of the time
//! its bucket is full again). Time is the injected clock's; every post starts only when it can
//! end, with its bookkeeping, before the deadline.

mod bookkeeping;
mod post;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use fleetwatch_alerts::{Alert, RenderOptions, Status, render, render_digest_with};
use fleetwatch_ports::{
    ErrorChain, MessageQueue, Secret, SecretSource, SharedClock, StateStore, epoch_seconds,
};
use serde_json::json;

use crate::pacer::Pace;
use crate::records::DeliveryState;
use crate::transport::SlackTransport;

use bookkeeping::{Claim, DedupVerdict};
use post::Sent;

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
    /// The longest a Slack call may take (the transport's timeout): a post starts only when it
    /// can end before the deadline.
    pub call_timeout: Duration,
    /// Time kept for the bookkeeping after a post (remembering a new thread, recording the
    /// delivery): a post starts only when it, a parent's update and this fit before the
    /// deadline. The function sets it from its state store's call limit
    /// (`FanoutConfig::settings`); the default suits in-memory stores.
    pub record_margin: Duration,
    /// A `Retry-After` beyond this is not waited for in this invocation: the destination is
    /// held this long and the message goes back to the queue.
    pub max_retry_after: Duration,
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
            call_timeout: Duration::from_secs(10),
            record_margin: Duration::from_secs(2),
            max_retry_after: Duration::from_secs(60),
        }
    }
}

/// Totals of one `deliver` call.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Messages to hand back to the queue (SQS partial batch failures), with the reason.
    pub retry: BTreeMap<String, String>,
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
    /// Posts whose record could not be written (a redelivery within the claim's time could
    /// post them again): logged with the cause.
    pub unrecorded: u64,
    /// The same, per destination (the dashboard's view of where alerts go and fail).
    pub destinations: BTreeMap<String, DestinationOutcome>,
}

/// What became of one destination's deliveries in one `deliver` call.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DestinationOutcome {
    /// Posted (alone or in a digest).
    pub delivered: u64,
    /// Refused for good and parked in the dead-letter queue.
    pub dead: u64,
    /// Handed back to the queue to try again.
    pub requeued: u64,
    /// Dropped as duplicates within the dedup window.
    pub duplicates: u64,
}

impl DestinationOutcome {
    fn add(&mut self, other: DestinationOutcome) {
        self.delivered += other.delivered;
        self.dead += other.dead;
        self.requeued += other.requeued;
        self.duplicates += other.duplicates;
    }
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
        self.unrecorded += other.unrecorded;
        for (name, counts) in other.destinations {
            self.destinations.entry(name).or_default().add(counts);
        }
    }

    /// Hands `message_id` back to the queue; the first reason given is kept.
    fn to(&mut self, destination: &str) -> &mut DestinationOutcome {
        self.destinations
            .entry(destination.to_string())
            .or_default()
    }

    fn requeue(&mut self, message_id: &str, reason: impl Into<String>) {
        self.retry
            .entry(message_id.to_string())
            .or_insert_with(|| reason.into());
    }
}

/// The delivery engine over a Slack transport `T`, a state store `St`, a dead-letter queue `Q`
/// and the secrets `S` of the destinations (read when a destination is first posted to, so a
/// missing secret degrades only its own destination).
pub struct Engine<T, St, Q, S> {
    pub slack: T,
    pub state: St,
    pub dead_letters: Q,
    pub secrets: S,
    /// The routing configuration's destinations, by name.
    pub destinations: HashMap<String, fleetwatch_routing::Destination>,
    pub settings: Settings,
    clock: SharedClock,
    pace: Pace,
    /// Destinations whose missing secret was logged as an error since the cold start: logged
    /// once, not on every batch (each parked letter still carries the reason). A destination
    /// leaves the set when its secret is read again, so a later loss is logged again.
    reported_missing: Mutex<HashSet<String>>,
}

impl<T, St, Q, S> Engine<T, St, Q, S> {
    pub fn new(
        slack: T,
        state: St,
        dead_letters: Q,
        secrets: S,
        destinations: HashMap<String, fleetwatch_routing::Destination>,
        settings: Settings,
        clock: SharedClock,
    ) -> Self {
        let pace = Pace::new(settings.pace_interval, settings.pace_burst);
        Self {
            slack,
            state,
            dead_letters,
            secrets,
            destinations,
            settings,
            clock,
            pace,
            reported_missing: Mutex::default(),
        }
    }

    pub fn clock(&self) -> &SharedClock {
        &self.clock
    }

    /// Whether something that starts after `wait` can end before `deadline`: a Slack call and
    /// the bookkeeping after it included.
    fn fits(&self, wait: Duration, deadline: SystemTime) -> bool {
        let needed = wait
            .saturating_add(self.settings.call_timeout)
            .saturating_add(self.settings.record_margin);
        self.clock
            .now()
            .checked_add(needed)
            .is_some_and(|end| end < deadline)
    }

    fn expires_in(&self, ttl: Duration) -> u64 {
        epoch_seconds(self.clock.now()).saturating_add(ttl.as_secs())
    }
}

impl<T, St, Q, S> Engine<T, St, Q, S>
where
    T: SlackTransport,
    St: StateStore + Sync,
    Q: MessageQueue + Sync,
    S: SecretSource + Sync,
{
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
        let destination = match self.destination(&name).await {
            Ok(destination) => destination,
            Err(Sent::Requeue(reason)) => {
                for (message_id, _) in &deliveries {
                    outcome.requeue(message_id, reason.clone());
                }
                outcome.to(&name).requeued += deliveries.len() as u64;
                return outcome;
            }
            Err(refused) => {
                let reason = refused.reason().to_string();
                for (message_id, delivery) in deliveries {
                    self.park(&delivery, &reason, &message_id, &mut outcome)
                        .await;
                }
                return outcome;
            }
        };
        let claimed = self.claim_all(deliveries, deadline, &mut outcome).await;
        if claimed.is_empty() {
            return outcome;
        }
        if claimed.len() > self.settings.digest_threshold {
            self.send_digest(&destination, claimed, deadline, &mut outcome)
                .await;
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
                    self.send(&destination, deadline, &payload, None, &mut outcome)
                        .await
                }
                Target::Bot { .. } => {
                    self.send_threaded(&destination, deadline, &delivery, &payload, &mut outcome)
                        .await
                }
            };
            self.settle(&[(message_id, delivery)], sent, deadline, &mut outcome)
                .await;
        }
        outcome
    }

    /// Claims each delivery while there is time to post it: what is already done, a duplicate,
    /// or claimed by another worker is settled here; the rest is returned, claimed.
    async fn claim_all(
        &self,
        deliveries: Vec<(String, Delivery)>,
        deadline: SystemTime,
        outcome: &mut Outcome,
    ) -> Vec<(String, Delivery)> {
        let mut claimed = Vec::new();
        for (message_id, delivery) in deliveries {
            if !self.fits(Duration::ZERO, deadline) {
                outcome.requeue(&message_id, "out of time before the delivery was claimed");
                outcome.to(&delivery.destination).requeued += 1;
                continue;
            }
            match self.claim(&delivery).await {
                Ok(Claim::Acquired) => match self.claim_dedup(&delivery).await {
                    Ok(DedupVerdict::Send) => claimed.push((message_id, delivery)),
                    Ok(DedupVerdict::Duplicate) => {
                        self.finish(&delivery, DeliveryState::Dropped, deadline, outcome)
                            .await;
                        outcome.dropped += 1;
                        outcome.to(&delivery.destination).duplicates += 1;
                    }
                    Err(error) => {
                        let reason = format!("the dedup record: {}", ErrorChain(&error));
                        tracing::warn!(alert = %delivery.alert.id, error = %ErrorChain(&error), error.kind = %error.kind(), "could not check for a duplicate; the message goes back to the queue");
                        self.release(&delivery).await;
                        outcome.requeue(&message_id, reason);
                        outcome.to(&delivery.destination).requeued += 1;
                    }
                },
                Ok(Claim::Done) => outcome.already_sent += 1,
                Ok(Claim::Busy) => {
                    outcome.requeue(&message_id, "claimed by another worker");
                    outcome.to(&delivery.destination).requeued += 1;
                }
                Err(error) => {
                    tracing::warn!(alert = %delivery.alert.id, destination = %delivery.destination, error = %ErrorChain(&error), error.kind = %error.kind(), "could not claim a delivery; the message goes back to the queue");
                    outcome.requeue(
                        &message_id,
                        format!("claiming the delivery: {}", ErrorChain(&error)),
                    );
                    outcome.to(&delivery.destination).requeued += 1;
                }
            }
        }
        claimed
    }

    /// More deliveries to one destination than the digest threshold: one message for all.
    async fn send_digest(
        &self,
        destination: &Destination,
        claimed: Vec<(String, Delivery)>,
        deadline: SystemTime,
        outcome: &mut Outcome,
    ) {
        let alerts: Vec<Alert> = claimed.iter().map(|(_, d)| (*d.alert).clone()).collect();
        let mentions = mentions_of(claimed.iter().map(|(_, d)| d));
        let message = render_digest_with(&alerts, &RenderOptions { mentions });
        let payload = serde_json::to_value(&message).expect("serialisable");
        let sent = self
            .send(destination, deadline, &payload, None, outcome)
            .await;
        if matches!(sent, Sent::Posted(_)) {
            outcome.digests += 1;
        }
        self.settle(&claimed, sent, deadline, outcome).await;
    }

    /// Records what happened to the deliveries a post carried.
    async fn settle(
        &self,
        deliveries: &[(String, Delivery)],
        sent: Sent,
        deadline: SystemTime,
        outcome: &mut Outcome,
    ) {
        match sent {
            Sent::Posted(_) => {
                for (_, delivery) in deliveries {
                    self.finish(delivery, DeliveryState::Sent, deadline, outcome)
                        .await;
                    outcome.delivered += 1;
                    outcome.to(&delivery.destination).delivered += 1;
                }
            }
            Sent::Requeue(reason) => {
                for (message_id, delivery) in deliveries {
                    tracing::warn!(destination = %delivery.destination, alert = %delivery.alert.id, %reason, "delivery handed back to the queue");
                    self.release(delivery).await;
                    outcome.requeue(message_id, reason.clone());
                    outcome.to(&delivery.destination).requeued += 1;
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
                self.record(delivery, DeliveryState::Dead).await.ok();
                outcome.dead += 1;
                outcome.to(&delivery.destination).dead += 1;
            }
            Err(error) => {
                tracing::error!(error = %ErrorChain(&error), error.kind = %error.kind(), "could not dead-letter a delivery; it will be retried");
                self.release(delivery).await;
                outcome.requeue(
                    message_id,
                    format!("parking it failed: {}", ErrorChain(&error)),
                );
                outcome.to(&delivery.destination).requeued += 1;
            }
        }
    }
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
mod tests;
