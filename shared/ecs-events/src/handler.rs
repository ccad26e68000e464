//! One EventBridge event in, its alerts on the alerts queue (or a counted, logged drop) out.
//!
//! Order of work: parse (unreadable events are parked in the function's dead-letter queue with
//! the reason), classify (noise is dropped by rule), skip an event already handled (its
//! [`dedup_key`] in the state table), enrich within a time budget (a failure marks the alert,
//! never stops it), publish, remember the key. A crash between publishing and remembering
//! publishes again on the retry; the fan-out then drops the repeat by the alert's id, so a
//! retry never posts twice and an event is never lost for a failed bookkeeping write.

use std::time::Duration;

use fleetwatch_alerts::Alert;
use fleetwatch_ecs::{Classified, EcsEvent, NoisePolicy, classify_event, dedup_key};
use fleetwatch_ports::{
    ErrorChain, MessageQueue, MetricSet, MetricsSink, QueueError, SharedClock, StateItem,
    StateStore, epoch_seconds,
};
use serde::Serialize;
use serde_json::{Value, json};
use tokio::time::Instant;

use crate::lookups::{EcsLookups, enrich_alert};

pub const NAMESPACE: &str = "fleetwatch/ecs-events";

/// Knobs with sensible defaults.
#[derive(Debug, Clone)]
pub struct Settings {
    pub policy: NoisePolicy,
    /// Time allowed for all enrichment calls of one event.
    pub enrichment_budget: Duration,
    /// How long a handled event's key is remembered (EventBridge redelivers within hours).
    pub dedup_ttl: Duration,
    /// Region for console links when the event does not name one.
    pub default_region: String,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            policy: NoisePolicy::default(),
            enrichment_budget: Duration::from_secs(4),
            dedup_ttl: Duration::from_secs(7 * 24 * 3600),
            default_region: "us-east-1".into(),
        }
    }
}

/// What became of one event (the invocation's answer, also logged).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum Outcome {
    Published {
        alerts: usize,
        enrichment_failed: usize,
    },
    Dropped {
        rule: String,
        reason: String,
    },
    Duplicate {
        key: String,
    },
    DeadLettered {
        reason: String,
    },
}

/// A failure a retry can fix: the alerts queue, or the dead-letter queue, refused the message.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    #[error("publishing to the alerts queue")]
    Publish(#[source] QueueError),
    #[error("parking an unreadable event in the dead-letter queue")]
    DeadLetter(#[source] QueueError),
}

pub struct EcsEventsHandler<S, Q, D, L> {
    state: S,
    alerts: Q,
    dead_letters: D,
    /// `None`: enrichment switched off.
    lookups: Option<L>,
    settings: Settings,
    metrics: MetricsSink,
    clock: SharedClock,
}

impl<S, Q, D, L> EcsEventsHandler<S, Q, D, L>
where
    S: StateStore + Sync,
    Q: MessageQueue + Sync,
    D: MessageQueue + Sync,
    L: EcsLookups,
{
    pub fn new(
        state: S,
        alerts: Q,
        dead_letters: D,
        lookups: Option<L>,
        settings: Settings,
        metrics: MetricsSink,
        clock: SharedClock,
    ) -> Self {
        Self {
            state,
            alerts,
            dead_letters,
            lookups,
            settings,
            metrics,
            clock,
        }
    }

    pub async fn handle(&self, payload: Value) -> Result<Outcome, HandlerError> {
        let outcome = self.process(payload).await;
        match &outcome {
            Ok(outcome) => {
                tracing::info!(outcome = %serde_json::to_string(outcome).unwrap_or_default(), "event handled")
            }
            Err(error) => {
                let (HandlerError::Publish(cause) | HandlerError::DeadLetter(cause)) = error;
                tracing::warn!(
                    error = %ErrorChain(error),
                    error.kind = %cause.kind(),
                    "event not handled; it will be retried"
                )
            }
        }
        outcome
    }

    async fn process(&self, payload: Value) -> Result<Outcome, HandlerError> {
        let event = match EcsEvent::parse(&payload.to_string()) {
            Ok(event) => event,
            Err(error) => return self.dead_letter(&payload, error.to_string()).await,
        };
        let detail_type = event.detail_type().to_string();
        let alerts = match classify_event(&event, &self.settings.policy) {
            Classified::Dropped(dropped) => {
                let rule = dropped.rule.as_str().to_string();
                self.emit(
                    MetricSet::new(NAMESPACE)
                        .dimension("Rule", rule.clone())
                        .count("EventsDropped", 1),
                );
                return Ok(Outcome::Dropped {
                    rule,
                    reason: dropped.reason,
                });
            }
            Classified::Alerts(alerts) => alerts,
        };

        let key = dedup_key(&event).map(|key| format!("ecs-event#{key}"));
        if let Some(key) = &key {
            match self.state.get(key).await {
                Ok(Some(_)) => {
                    self.emit(MetricSet::new(NAMESPACE).count("DuplicateEvents", 1));
                    return Ok(Outcome::Duplicate { key: key.clone() });
                }
                Ok(None) => {}
                // Publishing anyway is safe: the fan-out drops a repeat by the alert's id.
                Err(error) => tracing::warn!(
                    error = %ErrorChain(&error),
                    error.kind = %error.kind(),
                    "could not check for a duplicate; publishing"
                ),
            }
        }

        let mut enrichment_failed = 0;
        let mut bodies = Vec::with_capacity(alerts.len());
        for mut alert in alerts {
            if self.enrich(&event, &mut alert).await {
                enrichment_failed += 1;
            }
            bodies.push(serde_json::to_string(&alert).expect("an Alert serialises"));
        }
        let rejected = self.alerts.send_all(&bodies).await;
        if let Some(first) = rejected.into_iter().next() {
            return Err(HandlerError::Publish(first.error));
        }

        if let Some(key) = key {
            let item = StateItem {
                key,
                value: "handled".into(),
                expires_at: epoch_seconds(self.clock.now()) + self.settings.dedup_ttl.as_secs(),
            };
            if let Err(error) = self.state.put(&item).await {
                tracing::warn!(error = %ErrorChain(&error), "could not remember the event; a redelivery would publish again");
            }
        }
        self.emit(
            MetricSet::new(NAMESPACE)
                .dimension("DetailType", detail_type)
                .count("AlertsPublished", bodies.len() as u64)
                .count("EnrichmentFailures", enrichment_failed as u64),
        );
        Ok(Outcome::Published {
            alerts: bodies.len(),
            enrichment_failed,
        })
    }

    /// Adds what the lookups know to `alert`. Returns whether any lookup failed.
    async fn enrich(&self, event: &EcsEvent, alert: &mut Alert) -> bool {
        let Some(lookups) = &self.lookups else {
            return false;
        };
        let deadline = Instant::now() + self.settings.enrichment_budget;
        enrich_alert(
            lookups,
            event,
            alert,
            deadline,
            &self.settings.default_region,
        )
        .await
    }

    async fn dead_letter(&self, payload: &Value, reason: String) -> Result<Outcome, HandlerError> {
        let body = json!({"reason": reason, "event": payload}).to_string();
        self.dead_letters
            .send(&body)
            .await
            .map_err(HandlerError::DeadLetter)?;
        self.emit(MetricSet::new(NAMESPACE).count("EventsDeadLettered", 1));
        Ok(Outcome::DeadLettered { reason })
    }

    fn emit(&self, set: MetricSet) {
        self.metrics.emit(&set);
    }
}
