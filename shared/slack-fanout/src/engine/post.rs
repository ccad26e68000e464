//! Posting: the destination's secret, pacing, `Retry-After`, transient retries, threads.

use std::time::{Duration, SystemTime};

use fleetwatch_ports::{
    ErrorChain, MessageQueue, SecretError, SecretSource, StateItem, StateStore,
};
use serde_json::{Value, json};

use super::{Delivery, Destination, Engine, Outcome, Target};
use crate::config::resolve_target;
use crate::records::{ThreadRecord, thread_key};
use crate::transport::{PostedMessage, SlackError, SlackTransport};

pub(super) enum Sent {
    Posted(Option<PostedMessage>),
    /// Hand the message back to the queue.
    Requeue(String),
    /// Refused for good.
    Dead(String),
}

impl Sent {
    pub(super) fn reason(&self) -> &str {
        match self {
            Sent::Posted(_) => "posted",
            Sent::Requeue(reason) | Sent::Dead(reason) => reason,
        }
    }
}

impl<T, St, Q, S> Engine<T, St, Q, S>
where
    T: SlackTransport,
    St: StateStore + Sync,
    Q: MessageQueue + Sync,
    S: SecretSource + Sync,
{
    /// The destination with its secret: a missing secret is refused for good (only this
    /// destination's deliveries are parked), an unreadable one is retried.
    pub(super) async fn destination(&self, name: &str) -> Result<Destination, Sent> {
        let Some(configured) = self.destinations.get(name) else {
            return Err(Sent::Dead(format!("unknown destination {name}")));
        };
        match resolve_target(configured, &self.secrets).await {
            Ok(target) => {
                self.missing_reports().remove(name);
                Ok(Destination {
                    name: name.to_string(),
                    target,
                })
            }
            Err(error @ SecretError::Unavailable { .. }) if error.is_transient() => Err(
                Sent::Requeue(format!("destination {name}: {}", ErrorChain(&error))),
            ),
            Err(error) => {
                let reason = format!("destination {name}: {}", ErrorChain(&error));
                if self.missing_reports().insert(name.to_string()) {
                    tracing::error!(destination = %name, error = %ErrorChain(&error), error.kind = %error.kind(), "destination unavailable: its deliveries are parked (logged once until its secret is back)");
                } else {
                    tracing::debug!(destination = %name, "destination still unavailable: delivery parked");
                }
                Err(Sent::Dead(reason))
            }
        }
    }

    fn missing_reports(&self) -> std::sync::MutexGuard<'_, std::collections::HashSet<String>> {
        self.reported_missing
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// Bot mode: the first message of a thread key becomes the parent; later ones reply in its
    /// thread and update the parent to the latest status.
    pub(super) async fn send_threaded(
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
                self.remember_thread(key, posted).await;
            }
            return sent;
        };
        let sent = self
            .send(destination, deadline, payload, Some(&parent.ts), outcome)
            .await;
        if matches!(sent, Sent::Posted(_)) {
            self.update_parent(destination, parent, payload, deadline)
                .await;
        }
        sent
    }

    async fn remember_thread(&self, key: String, posted: &PostedMessage) {
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

    /// The parent shows the latest status. Paced like a post, only when it fits before the
    /// deadline; a failed or skipped update leaves the reply delivered.
    async fn update_parent(
        &self,
        destination: &Destination,
        parent: ThreadRecord,
        payload: &Value,
        deadline: SystemTime,
    ) {
        let Target::Bot { token, .. } = &destination.target else {
            return;
        };
        let posted = PostedMessage {
            channel_id: parent.channel_id,
            ts: parent.ts,
        };
        let wait = match self.reserve(&destination.name).await {
            Ok(wait) if self.fits(wait, deadline) => wait,
            _ => return,
        };
        self.clock.sleep(wait).await;
        if let Err(error) = self.slack.update_message(token, &posted, payload).await {
            tracing::warn!(destination = %destination.name, error = %ErrorChain(&error), error.kind = %error.kind(), "could not update the thread's parent");
        }
    }

    /// Posts one payload, paced, honouring `Retry-After`, retrying transient failures, all
    /// within `deadline`.
    pub(super) async fn send(
        &self,
        destination: &Destination,
        deadline: SystemTime,
        payload: &Value,
        thread_ts: Option<&str>,
        outcome: &mut Outcome,
    ) -> Sent {
        let mut failures = 0;
        loop {
            let wait = match self.reserve(&destination.name).await {
                Ok(wait) => wait,
                Err(error) => return Sent::Requeue(format!("pacing: {}", ErrorChain(&error))),
            };
            if !self.fits(wait, deadline) {
                return Sent::Requeue("out of time before the next allowed post".into());
            }
            self.clock.sleep(wait).await;
            let result = self.post(destination, payload, thread_ts).await;
            match result {
                Ok(posted) => {
                    outcome.posted += 1;
                    return Sent::Posted(posted);
                }
                Err(SlackError::RateLimited { retry_after }) => {
                    outcome.rate_limited += 1;
                    if let Some(requeue) =
                        self.rate_limited(destination, retry_after, deadline).await
                    {
                        return requeue;
                    }
                }
                // The reason recorded is Slack's answer itself (what a DLQ reader needs).
                Err(SlackError::Transient(cause)) => {
                    failures += 1;
                    let reason = ErrorChain(cause.as_ref()).to_string();
                    let backoff = self.settings.backoff * 2u32.pow(failures - 1);
                    if failures >= self.settings.transient_attempts || !self.fits(backoff, deadline)
                    {
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

    async fn post(
        &self,
        destination: &Destination,
        payload: &Value,
        thread_ts: Option<&str>,
    ) -> Result<Option<PostedMessage>, SlackError> {
        match &destination.target {
            Target::Webhook { url } => self.slack.post_webhook(url, payload).await.map(|()| None),
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
        }
    }

    /// Holds the destination for `retry_after` (capped: a huge value blocks nothing for long);
    /// `Some` when the message must go back to the queue instead of waiting here.
    async fn rate_limited(
        &self,
        destination: &Destination,
        retry_after: Duration,
        deadline: SystemTime,
    ) -> Option<Sent> {
        let capped = retry_after.min(self.settings.max_retry_after);
        if let Err(error) = self.hold(&destination.name, capped).await {
            return Some(Sent::Requeue(format!("pacing: {}", ErrorChain(&error))));
        }
        if retry_after > self.settings.max_retry_after || !self.fits(capped, deadline) {
            return Some(Sent::Requeue(format!(
                "rate limited for {retry_after:?}, beyond this invocation's time"
            )));
        }
        None
    }
}
