//! What the engine keeps in the state table: the claim and record of each delivery, the dedup
//! record of each problem, and the pacing budget of each destination, each written with a
//! conditional write so concurrent instances agree.

use std::time::{Duration, SystemTime};

use fleetwatch_ports::{
    ErrorChain, Fault, MessageQueue, SecretSource, StateError, StateItem, StateStore,
};
use fleetwatch_routing::{Timestamp, dedup_key as routing_dedup_key, should_send};

use super::{Delivery, Engine, Outcome};
use crate::records::{DedupRecord, DeliveryState, delivery_key};
use crate::transport::SlackTransport;

pub(super) enum Claim {
    Acquired,
    Done,
    /// Another worker holds it (or died holding it): try again after the claim expires.
    Busy,
}

pub(super) enum DedupVerdict {
    Send,
    Duplicate,
}

/// Conditional writes lost to other workers before giving up (each loss means someone else made
/// progress).
const CONTENDED_ATTEMPTS: usize = 8;
/// Attempts at recording a delivery after its post.
const RECORD_ATTEMPTS: u32 = 3;

fn contended(key: &str) -> StateError {
    StateError::Store {
        operation: "conditional update",
        key: key.to_string(),
        fault: Fault::transient("lost to other workers every time"),
    }
}

impl<T, St, Q, S> Engine<T, St, Q, S>
where
    T: SlackTransport,
    St: StateStore + Sync,
    Q: MessageQueue + Sync,
    S: SecretSource + Sync,
{
    pub(super) async fn claim(&self, delivery: &Delivery) -> Result<Claim, StateError> {
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

    /// Frees a claim so the retry can take it; if this fails the claim expires by itself.
    pub(super) async fn release(&self, delivery: &Delivery) {
        let key = delivery_key(&delivery.alert.id, &delivery.destination);
        if let Err(error) = self.state.delete(&key).await {
            tracing::warn!(error = %ErrorChain(&error), error.kind = %error.kind(), "could not release a delivery claim; the retry waits for it to expire");
        }
    }

    pub(super) async fn record(
        &self,
        delivery: &Delivery,
        state: DeliveryState,
    ) -> Result<(), StateError> {
        let item = StateItem {
            key: delivery_key(&delivery.alert.id, &delivery.destination),
            value: state.as_str().into(),
            expires_at: self.expires_in(self.settings.record_ttl),
        };
        self.state.put(&item).await
    }

    /// Records a delivery's fate, retrying while there is time: a post whose record is lost
    /// could be posted again by a redelivery once its claim expires.
    pub(super) async fn finish(
        &self,
        delivery: &Delivery,
        state: DeliveryState,
        deadline: SystemTime,
        outcome: &mut Outcome,
    ) {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let Err(error) = self.record(delivery, state).await else {
                return;
            };
            let backoff = self.settings.backoff * attempt;
            let in_time = self
                .clock
                .now()
                .checked_add(backoff)
                .is_some_and(|end| end < deadline);
            if attempt >= RECORD_ATTEMPTS || !error.is_transient() || !in_time {
                tracing::error!(alert = %delivery.alert.id, destination = %delivery.destination, error = %ErrorChain(&error), error.kind = %error.kind(), "could not record the delivery; a redelivery within the claim's time could post it again");
                outcome.unrecorded += 1;
                return;
            }
            self.clock.sleep(backoff).await;
        }
    }

    /// Routing's dedup rule, decided and recorded in one conditional write: of two alerts of one
    /// problem in one batch, one posts. The record names the alert that claimed it, so that
    /// alert's own retry is not taken for a duplicate.
    pub(super) async fn claim_dedup(
        &self,
        delivery: &Delivery,
    ) -> Result<DedupVerdict, StateError> {
        let Some(window) = delivery.dedup_window else {
            return Ok(DedupVerdict::Send);
        };
        let key = dedup_record_key(delivery);
        for _ in 0..CONTENDED_ATTEMPTS {
            let stored = self.state.get(&key).await?;
            let previous = stored
                .as_ref()
                .and_then(|item| serde_json::from_str::<DedupRecord>(&item.value).ok());
            if let Some(previous) = &previous
                && previous.alert_id.as_deref() == Some(delivery.alert.id.as_str())
            {
                return Ok(DedupVerdict::Send);
            }
            let now = Timestamp::try_from(self.clock.now()).unwrap_or(Timestamp::UNIX_EPOCH);
            let last = previous.as_ref().and_then(DedupRecord::to_previous);
            if !should_send(last, &delivery.alert, now, window) {
                return Ok(DedupVerdict::Duplicate);
            }
            let record = DedupRecord {
                status: delivery.alert.status.as_str().into(),
                severity: Some(delivery.alert.severity.as_str().into()),
                sent_at: fleetwatch_ports::epoch_seconds(self.clock.now()),
                alert_id: Some(delivery.alert.id.clone()),
            };
            let item = StateItem {
                key: key.clone(),
                value: serde_json::to_string(&record).expect("serialisable"),
                expires_at: record.sent_at.saturating_add(window.as_secs()),
            };
            let expected = stored.as_ref().map(|item| item.value.as_str());
            if self.state.compare_and_set(&item, expected).await? {
                return Ok(DedupVerdict::Send);
            }
        }
        Err(contended(&key))
    }

    /// Books the next post to `destination` in the shared budget; how long to wait first.
    pub(super) async fn reserve(&self, destination: &str) -> Result<Duration, StateError> {
        self.update_pace(destination, |full_at, now| self.pace.reserve(full_at, now))
            .await
    }

    /// After a 429: nothing goes to `destination` from any instance before `retry_after`.
    pub(super) async fn hold(
        &self,
        destination: &str,
        retry_after: Duration,
    ) -> Result<(), StateError> {
        self.update_pace(destination, |full_at, now| {
            (Duration::ZERO, self.pace.hold(full_at, now, retry_after))
        })
        .await
        .map(|_| ())
    }

    /// Applies `step` to the destination's stored full-again time with a conditional write,
    /// again as long as another worker wins the race.
    async fn update_pace(
        &self,
        destination: &str,
        step: impl Fn(Option<Duration>, Duration) -> (Duration, Duration),
    ) -> Result<Duration, StateError> {
        let key = format!("pace#{destination}");
        for _ in 0..CONTENDED_ATTEMPTS {
            let stored = self.state.get(&key).await?;
            let full_at = stored
                .as_ref()
                .and_then(|item| item.value.parse::<u64>().ok())
                .map(Duration::from_nanos);
            let now = self
                .clock
                .now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap_or_default();
            let (wait, next) = step(full_at, now);
            let item = StateItem {
                key: key.clone(),
                value: next.as_nanos().to_string(),
                // Kept a little past the time it matters, then it expires.
                expires_at: next.as_secs().saturating_add(3600),
            };
            let expected = stored.as_ref().map(|item| item.value.as_str());
            if self.state.compare_and_set(&item, expected).await? {
                return Ok(wait);
            }
        }
        Err(contended(&key))
    }
}

fn dedup_record_key(delivery: &Delivery) -> String {
    crate::records::dedup_key(&routing_dedup_key(&delivery.alert, &delivery.destination))
}
