//! The slack-fanout handler's translation: an SQS batch of alert messages into deliveries and a
//! partial-batch-failure response; a Function URL request (Alertmanager's webhook) into a
//! queued message after a bearer-token check.

use std::time::SystemTime;

use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse};
use base64::Engine as _;
use fleetwatch_ports::{ErrorChain, MessageQueue, MetricSet, MetricsSink, Secret, StateStore};
use fleetwatch_routing::{Config, Timestamp};
use serde_json::{Value, json};
use subtle::ConstantTimeEq;

use crate::engine::{Engine, Outcome, WorkItem};
use crate::intake::plan_message;
use crate::transport::SlackTransport;

pub const NAMESPACE: &str = "fleetwatch/slack-fanout";

pub struct FanoutHandler<T, St, Q> {
    pub engine: Engine<T, St, Q>,
    pub routing: Config,
    /// The alerts queue: Function URL requests are enqueued here (and delivered by the SQS path).
    pub intake: Q,
    /// The bearer token Alertmanager must send; `None` refuses every Function URL request.
    pub webhook_token: Option<Secret>,
    pub metrics: MetricsSink,
}

/// A direct invocation that must be retried (SQS uses partial batch failures instead).
#[derive(Debug, thiserror::Error)]
pub enum FanoutError {
    #[error("{retry} delivery(ies) must be retried (rate limit or Slack unavailable)")]
    Retry { retry: usize },
}

impl<T, St, Q> FanoutHandler<T, St, Q>
where
    T: SlackTransport,
    St: StateStore + Sync,
    Q: MessageQueue + Sync,
{
    /// Handles one invocation; `deadline` is when this invocation must have answered (the
    /// Lambda deadline minus a margin).
    pub async fn handle(&self, event: Value, deadline: SystemTime) -> Result<Value, FanoutError> {
        if is_sqs(&event) {
            return Ok(self.sqs(event, deadline).await);
        }
        if event.pointer("/requestContext/http/method").is_some() {
            return Ok(self.function_url(&event).await);
        }
        // A direct invocation carrying one alert payload (a test, or a custom integration).
        let outcome = self
            .deliver_messages(vec![("direct".into(), event.to_string())], deadline)
            .await;
        if outcome.retry.is_empty() {
            Ok(json!({ "delivered": outcome.delivered, "dead_lettered": outcome.dead }))
        } else {
            Err(FanoutError::Retry {
                retry: outcome.retry.len(),
            })
        }
    }

    async fn sqs(&self, event: Value, deadline: SystemTime) -> Value {
        let messages: Vec<(String, String)> = event["Records"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|record| {
                (
                    record["messageId"].as_str().unwrap_or_default().to_string(),
                    record["body"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect();
        let outcome = self.deliver_messages(messages, deadline).await;
        let mut response = SqsBatchResponse::default();
        for message_id in outcome.retry {
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = message_id;
            response.batch_item_failures.push(failure);
        }
        serde_json::to_value(response).expect("serialisable")
    }

    async fn deliver_messages(
        &self,
        messages: Vec<(String, String)>,
        deadline: SystemTime,
    ) -> Outcome {
        let now = Timestamp::try_from(self.engine.clock().now()).unwrap_or(Timestamp::UNIX_EPOCH);
        let mut work: Vec<WorkItem> = Vec::new();
        let mut metrics = MetricSet::new(NAMESPACE);
        let (mut alerts, mut dropped, mut unknown, mut poison) = (0u64, 0u64, 0u64, 0u64);
        let mut retry_poison = Vec::new();
        for (message_id, body) in messages {
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
                    tracing::error!(%message_id, error = %ErrorChain(&error), "unreadable alert message: dead-lettered");
                    let letter = json!({ "reason": ErrorChain(&error).to_string(), "message_id": message_id, "body": body });
                    if let Err(send_error) =
                        self.engine.dead_letters.send(&letter.to_string()).await
                    {
                        tracing::error!(%message_id, error = %ErrorChain(&send_error), error.kind = %send_error.kind(), "could not dead-letter; retrying the message");
                        retry_poison.push(message_id);
                    }
                }
            }
        }
        let mut outcome = self.engine.deliver(work, deadline).await;
        outcome.retry.extend(retry_poison);
        metrics = metrics
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
            .count("Retried", outcome.retry.len() as u64);
        self.emit(metrics);
        outcome
    }

    /// Alertmanager's webhook: `Authorization: Bearer <token>` checked in constant time, then the
    /// payload is queued (202) for the SQS path, which delivers with retries and idempotency.
    async fn function_url(&self, event: &Value) -> Value {
        let method = event
            .pointer("/requestContext/http/method")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if method != "POST" {
            return response(
                405,
                json!({ "error": "POST the Alertmanager webhook payload" }),
            );
        }
        let presented = header(event, "authorization")
            .and_then(|h| {
                h.strip_prefix("Bearer ")
                    .or_else(|| h.strip_prefix("bearer "))
            })
            .unwrap_or_default();
        let authorised = self
            .webhook_token
            .as_ref()
            .is_some_and(|token| bool::from(token.expose().as_bytes().ct_eq(presented.as_bytes())));
        if !authorised {
            tracing::warn!("Function URL request without a valid bearer token: refused");
            self.emit(MetricSet::new(NAMESPACE).count("UnauthorizedRequests", 1));
            return response(401, json!({ "error": "unauthorized" }));
        }
        let body = event["body"].as_str().unwrap_or_default();
        let body = if event["isBase64Encoded"].as_bool() == Some(true) {
            match base64::engine::general_purpose::STANDARD
                .decode(body)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
            {
                Some(text) => text,
                None => return response(400, json!({ "error": "body is not base64 UTF-8" })),
            }
        } else {
            body.to_string()
        };
        if let Err(error) = serde_json::from_str::<Value>(&body) {
            return response(
                400,
                json!({ "error": format!("body is not JSON: {error}") }),
            );
        }
        match self.intake.send(&body).await {
            Ok(message_id) => response(202, json!({ "queued": message_id })),
            // Alertmanager retries on 5xx.
            Err(error) => {
                tracing::error!(error = %ErrorChain(&error), error.kind = %error.kind(), "could not queue a webhook payload");
                response(
                    503,
                    json!({ "error": "could not queue the payload, retry" }),
                )
            }
        }
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

fn header<'a>(event: &'a Value, name: &str) -> Option<&'a str> {
    event["headers"]
        .as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .and_then(|(_, v)| v.as_str())
}

fn response(status: u16, body: Value) -> Value {
    json!({
        "statusCode": status,
        "headers": { "content-type": "application/json" },
        "body": body.to_string(),
    })
}
