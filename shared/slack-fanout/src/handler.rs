//! The slack-fanout handler's translation: an SQS batch of alert messages into deliveries and a
//! partial-batch-failure response. A message that must be retried on its last allowed receive
//! is parked in the dead-letter queue with the reason, instead of being moved there by SQS
//! without one. (Alertmanager's webhook has its own function: see [`crate::receiver`].)

use std::collections::BTreeMap;
use std::time::SystemTime;

use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse};
use fleetwatch_ports::{
    ErrorChain, MessageQueue, MetricSet, MetricsSink, SecretSource, StateStore,
};
use fleetwatch_routing::{Config, Timestamp};
use serde_json::{Value, json};

use crate::engine::{Engine, Outcome, WorkItem};
use crate::intake::plan_message;
use crate::transport::SlackTransport;

pub const NAMESPACE: &str = "fleetwatch/slack-fanout";

pub struct FanoutHandler<T, St, Q, S> {
    pub engine: Engine<T, St, Q, S>,
    pub routing: Config,
    pub metrics: MetricsSink,
    /// The queue's `maxReceiveCount`: a message that fails on this receive is parked with its
    /// reason by the handler. `None`: SQS's redrive moves it (without a reason).
    pub max_receives: Option<u32>,
}

/// A direct invocation that must be retried (SQS uses partial batch failures instead).
#[derive(Debug, thiserror::Error)]
pub enum FanoutError {
    #[error("{retry} delivery(ies) must be retried: {first}")]
    Retry { retry: usize, first: String },
}

/// One message of a batch.
struct Message {
    id: String,
    body: String,
    receive_count: u32,
}

impl<T, St, Q, S> FanoutHandler<T, St, Q, S>
where
    T: SlackTransport,
    St: StateStore + Sync,
    Q: MessageQueue + Sync,
    S: SecretSource + Sync,
{
    /// Handles one invocation; `deadline` is when this invocation must have answered (the
    /// Lambda deadline minus a margin).
    pub async fn handle(&self, event: Value, deadline: SystemTime) -> Result<Value, FanoutError> {
        if is_sqs(&event) {
            return Ok(self.sqs(&event, deadline).await);
        }
        // A direct invocation carrying one alert payload (a test, or a custom integration).
        let direct = Message {
            id: "direct".into(),
            body: event.to_string(),
            receive_count: 1,
        };
        let outcome = self.deliver_messages(vec![direct], deadline).await;
        match outcome.retry.into_iter().next() {
            None => Ok(json!({ "delivered": outcome.delivered, "dead_lettered": outcome.dead })),
            Some((_, first)) => Err(FanoutError::Retry { retry: 1, first }),
        }
    }

    async fn sqs(&self, event: &Value, deadline: SystemTime) -> Value {
        let messages = sqs_messages(event);
        let counts: BTreeMap<String, (u32, String)> = messages
            .iter()
            .map(|m| (m.id.clone(), (m.receive_count, m.body.clone())))
            .collect();
        let outcome = self.deliver_messages(messages, deadline).await;
        let mut response = SqsBatchResponse::default();
        for (message_id, reason) in outcome.retry {
            let (receive_count, body) = &counts[&message_id];
            if self.is_last_receive(*receive_count)
                && self.park_message(&message_id, body, &reason).await
            {
                continue;
            }
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = message_id;
            response.batch_item_failures.push(failure);
        }
        serde_json::to_value(response).expect("serialisable")
    }

    fn is_last_receive(&self, receive_count: u32) -> bool {
        self.max_receives.is_some_and(|max| receive_count >= max)
    }

    /// Parks a whole message with the reason it could not be delivered; `false` when even that
    /// failed (the message is then retried, and SQS's redrive is the last resort).
    async fn park_message(&self, message_id: &str, body: &str, reason: &str) -> bool {
        tracing::error!(%message_id, %reason, "message failed on its last allowed receive: parked with the reason");
        let letter = json!({ "reason": reason, "message_id": message_id, "body": body });
        match self.engine.dead_letters.send(&letter.to_string()).await {
            Ok(_) => {
                self.emit(MetricSet::new(NAMESPACE).count("MessagesParked", 1));
                true
            }
            Err(error) => {
                tracing::error!(%message_id, error = %ErrorChain(&error), error.kind = %error.kind(), "could not park the message");
                false
            }
        }
    }

    async fn deliver_messages(&self, messages: Vec<Message>, deadline: SystemTime) -> Outcome {
        let now = Timestamp::try_from(self.engine.clock().now()).unwrap_or(Timestamp::UNIX_EPOCH);
        let mut work: Vec<WorkItem> = Vec::new();
        let (mut alerts, mut dropped, mut unknown, mut poison) = (0u64, 0u64, 0u64, 0u64);
        let mut retry_poison = Vec::new();
        for message in messages {
            let (message_id, body) = (message.id, message.body);
            match plan_message(&self.routing, &message_id, &body, now) {
                Ok(planned) => {
                    alerts += planned.alerts as u64;
                    unknown += planned.unknown as u64;
                    for reason in &planned.dropped {
                        tracing::info!(%message_id, %reason, "alert not delivered by rule");
                    }
                    dropped += planned.dropped.len() as u64;
                    if !planned.work.deliveries.is_empty() {
                        work.push(planned.work);
                    }
                }
                Err(error) => {
                    poison += 1;
                    let reason = ErrorChain(&error).to_string();
                    tracing::error!(%message_id, error = %reason, "unreadable alert message: dead-lettered");
                    let letter =
                        json!({ "reason": reason, "message_id": message_id, "body": body });
                    if let Err(send_error) =
                        self.engine.dead_letters.send(&letter.to_string()).await
                    {
                        tracing::error!(%message_id, error = %ErrorChain(&send_error), error.kind = %send_error.kind(), "could not dead-letter; retrying the message");
                        retry_poison.push((
                            message_id,
                            format!("unreadable ({reason}), and parking it failed"),
                        ));
                    }
                }
            }
        }
        let mut outcome = self.engine.deliver(work, deadline).await;
        outcome.retry.extend(retry_poison);
        self.emit(
            MetricSet::new(NAMESPACE)
                .count("AlertsReceived", alerts)
                .count("AlertsDroppedByRule", dropped)
                .count("UnknownPayloads", unknown)
                .count("PoisonMessages", poison)
                .count("MessagesPosted", outcome.posted)
                .count("Delivered", outcome.delivered)
                .count("Digests", outcome.digests)
                .count("AlreadySent", outcome.already_sent)
                .count("Duplicates", outcome.dropped)
                .count("DeadLettered", outcome.dead)
                .count("RateLimited", outcome.rate_limited)
                .count("Unrecorded", outcome.unrecorded)
                .count("Retried", outcome.retry.len() as u64),
        );
        for (destination, counts) in &outcome.destinations {
            self.emit(
                MetricSet::new(NAMESPACE)
                    .dimension("Destination", destination.as_str())
                    .count("Delivered", counts.delivered)
                    .count("DeadLettered", counts.dead)
                    .count("Requeued", counts.requeued)
                    .count("Duplicates", counts.duplicates),
            );
        }
        outcome
    }

    fn emit(&self, set: MetricSet) {
        self.metrics.emit(&set);
    }
}

fn is_sqs(event: &Value) -> bool {
    event["Records"]
        .as_array()
        .and_then(|r| r.first())
        .and_then(|r| r["eventSource"].as_str())
        == Some("aws:sqs")
}

fn sqs_messages(event: &Value) -> Vec<Message> {
    event["Records"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|record| Message {
            id: record["messageId"].as_str().unwrap_or_default().to_string(),
            body: record["body"].as_str().unwrap_or_default().to_string(),
            receive_count: record
                .pointer("/attributes/ApproximateReceiveCount")
                .and_then(Value::as_str)
                .and_then(|count| count.parse().ok())
                .unwrap_or(1),
        })
        .collect()
}
