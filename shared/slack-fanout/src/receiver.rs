//! Alertmanager's webhook receiver (its own function behind a Function URL, with its own
//! reserved concurrency, so a flood of requests cannot starve the delivery of alerts).
//!
//! Order of work, cheapest first: the method, the bearer token (held since cold start: checking
//! it reads nothing, writes nothing), the body size, the JSON. Then the payload is stamped with
//! the request's id, so a re-notification after Alertmanager's `repeat_interval` is a new
//! occurrence while the queue's own redeliveries are not, split into per-alert messages when it
//! would not fit the queue's message limit, and queued. Answers follow Alertmanager's retry
//! rule: 2xx done, 5xx retried, 4xx dropped; a 4xx is only given for what can never succeed.

use base64::Engine as _;
use fleetwatch_ports::{
    ErrorChain, MAX_MESSAGE_BYTES, MessageQueue, MetricSet, MetricsSink, SecretSource,
};
use serde_json::{Map, Value, json};
use subtle::ConstantTimeEq;

use crate::handler::NAMESPACE;
use crate::receiver_token::ReceiverToken;

/// The field the receiver adds to a payload: the notification it came with. Alertmanager's
/// normaliser puts it in the alert ids.
pub const NOTIFICATION_FIELD: &str = "fleetwatch_notification";

/// Bodies larger than this are refused with 413 (Alertmanager caps a group at `max_alerts`;
/// a megabyte is thousands of alerts).
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;

pub struct Receiver<Q, S> {
    /// The alerts queue.
    pub intake: Q,
    /// Where an alert too large for any queue message is parked, with the reason.
    pub dead_letters: Q,
    /// The token Alertmanager must present. While it cannot be read every request is answered
    /// 503, so Alertmanager keeps its alerts and retries.
    pub token: ReceiverToken<S>,
    pub max_body_bytes: usize,
    pub metrics: MetricsSink,
}

/// An HTTP answer for the Function URL.
fn response(status: u16, body: Value) -> Value {
    json!({
        "statusCode": status,
        "headers": { "content-type": "application/json" },
        "body": body.to_string(),
    })
}

impl<Q: MessageQueue + Sync, S: SecretSource + Sync> Receiver<Q, S> {
    pub async fn handle(&self, event: &Value) -> Value {
        match self.accept(event).await {
            Ok(payload) => self.enqueue(payload, request_id(event)).await,
            Err(refused) => refused,
        }
    }

    /// Everything that needs no I/O: the request is refused here or its payload returned.
    async fn accept(&self, event: &Value) -> Result<Map<String, Value>, Value> {
        let method = event
            .pointer("/requestContext/http/method")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if method != "POST" {
            return Err(response(
                405,
                json!({ "error": "POST the Alertmanager webhook payload" }),
            ));
        }
        self.authorise(event).await?;
        let body = event["body"].as_str().unwrap_or_default();
        let base64_encoded = event["isBase64Encoded"].as_bool() == Some(true);
        if carried_bytes(body, base64_encoded) > self.max_body_bytes {
            self.count("RequestsTooLarge");
            return Err(response(
                413,
                json!({ "error": format!("body over {} bytes", self.max_body_bytes) }),
            ));
        }
        let text = decode_body(body, base64_encoded)
            .ok_or_else(|| response(400, json!({ "error": "body is not base64 UTF-8" })))?;
        match serde_json::from_str::<Value>(&text) {
            Ok(Value::Object(payload)) => Ok(payload),
            Ok(_) => Err(response(
                400,
                json!({ "error": "body is not a JSON object" }),
            )),
            Err(error) => Err(response(
                400,
                json!({ "error": format!("body is not JSON: {error}") }),
            )),
        }
    }

    /// The bearer token, compared in constant time.
    async fn authorise(&self, event: &Value) -> Result<(), Value> {
        let Some(token) = self.token.current().await else {
            self.count("RequestsWithoutToken");
            return Err(response(
                503,
                json!({ "error": "the receiver's token is not available; retry later" }),
            ));
        };
        let presented = header(event, "authorization")
            .and_then(|h| {
                h.strip_prefix("Bearer ")
                    .or_else(|| h.strip_prefix("bearer "))
            })
            .unwrap_or_default();
        if bool::from(token.expose().as_bytes().ct_eq(presented.as_bytes())) {
            return Ok(());
        }
        tracing::warn!("Function URL request without a valid bearer token: refused");
        self.count("UnauthorizedRequests");
        Err(response(401, json!({ "error": "unauthorized" })))
    }

    async fn enqueue(&self, mut payload: Map<String, Value>, notification: String) -> Value {
        payload.insert(NOTIFICATION_FIELD.into(), Value::String(notification));
        let (messages, oversized) = split(payload);
        for alert in &oversized {
            if let Err(answer) = self.park_oversized(alert).await {
                return answer;
            }
        }
        let rejected = self.intake.send_all(&messages).await;
        if let Some(first) = rejected.first() {
            tracing::error!(error = %ErrorChain(&first.error), error.kind = %first.error.kind(), failed = rejected.len(), of = messages.len(), "could not queue a webhook payload");
            // Alertmanager retries on 5xx; the parts already queued may then post twice.
            return response(
                503,
                json!({ "error": "could not queue the payload, retry" }),
            );
        }
        self.emit(
            MetricSet::new(NAMESPACE)
                .count("WebhookMessagesQueued", messages.len() as u64)
                .count("WebhookAlertsParked", oversized.len() as u64),
        );
        response(
            202,
            json!({ "queued": messages.len(), "parked": oversized.len() }),
        )
    }

    /// An alert that alone exceeds the queue's limit can never be queued: its identity and the
    /// reason go to the dead-letter queue (its long annotations do not fit there either).
    async fn park_oversized(&self, alert: &Value) -> Result<(), Value> {
        let letter = json!({
            "reason": format!("an Alertmanager alert larger than the queue's {MAX_MESSAGE_BYTES}-byte message limit"),
            "alert": { "labels": alert["labels"], "status": alert["status"], "startsAt": alert["startsAt"], "fingerprint": alert["fingerprint"] },
        });
        match self.dead_letters.send(&letter.to_string()).await {
            Ok(_) => Ok(()),
            Err(error) => {
                tracing::error!(error = %ErrorChain(&error), "could not park an oversized alert");
                Err(response(
                    503,
                    json!({ "error": "could not park an oversized alert, retry" }),
                ))
            }
        }
    }

    fn count(&self, metric: &str) {
        self.emit(MetricSet::new(NAMESPACE).count(metric, 1));
    }

    fn emit(&self, set: MetricSet) {
        self.metrics.emit(&set);
    }
}

/// The payload as queue messages: whole when it fits, else its alerts in as few messages as fit
/// (each with the group's fields). Alerts that fit no message are returned apart.
fn split(payload: Map<String, Value>) -> (Vec<String>, Vec<Value>) {
    let whole = Value::Object(payload.clone()).to_string();
    if whole.len() <= MAX_MESSAGE_BYTES {
        return (vec![whole], Vec::new());
    }
    let mut group = payload;
    let alerts = match group.remove("alerts") {
        Some(Value::Array(alerts)) => alerts,
        _ => Vec::new(),
    };
    let envelope_len = Value::Object(group.clone()).to_string().len() + r#","alerts":[]"#.len();
    let (mut messages, mut oversized, mut chunk, mut chunk_len) =
        (Vec::new(), Vec::new(), Vec::new(), envelope_len);
    for alert in alerts {
        let len = alert.to_string().len() + 1;
        if envelope_len + len > MAX_MESSAGE_BYTES {
            oversized.push(alert);
            continue;
        }
        if chunk_len + len > MAX_MESSAGE_BYTES {
            messages.push(with_alerts(&group, std::mem::take(&mut chunk)));
            chunk_len = envelope_len;
        }
        chunk_len += len;
        chunk.push(alert);
    }
    if !chunk.is_empty() {
        messages.push(with_alerts(&group, chunk));
    }
    (messages, oversized)
}

fn with_alerts(group: &Map<String, Value>, alerts: Vec<Value>) -> String {
    let mut message = group.clone();
    message.insert("alerts".into(), Value::Array(alerts));
    Value::Object(message).to_string()
}

/// The size of what the request carries, known before decoding it: the cap is of the payload,
/// and a base64 body (Function URLs encode what they take for binary) is a third longer.
fn carried_bytes(body: &str, base64_encoded: bool) -> usize {
    if !base64_encoded {
        return body.len();
    }
    let padding = body.bytes().rev().take_while(|&b| b == b'=').count().min(2);
    (body.len().div_ceil(4) * 3).saturating_sub(padding)
}

fn decode_body(body: &str, base64_encoded: bool) -> Option<String> {
    if !base64_encoded {
        return Some(body.to_string());
    }
    base64::engine::general_purpose::STANDARD
        .decode(body)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
}

/// The Function URL request's id: unique per POST (a retried POST is a new notification too).
fn request_id(event: &Value) -> String {
    event
        .pointer("/requestContext/requestId")
        .and_then(Value::as_str)
        .unwrap_or("unknown")
        .to_string()
}

fn header<'a>(event: &'a Value, name: &str) -> Option<&'a str> {
    event["headers"]
        .as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .and_then(|(_, v)| v.as_str())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use fleetwatch_ports::{ManualClock, MemoryQueue, StaticSecrets};

    use super::*;

    async fn receiver(max_body_bytes: usize) -> Receiver<MemoryQueue, StaticSecrets> {
        let clock = Arc::new(ManualClock::at_epoch_seconds(1_795_000_000));
        let secrets = StaticSecrets::default().with("/token", "t0ken");
        Receiver {
            intake: MemoryQueue::default(),
            dead_letters: MemoryQueue::default(),
            token: ReceiverToken::read(secrets, "/token", clock.clone()).await,
            max_body_bytes,
            metrics: MetricsSink::memory(clock).0,
        }
    }

    fn request(body: &str, base64_encoded: bool) -> Value {
        json!({
            "version": "2.0", "rawPath": "/", "isBase64Encoded": base64_encoded,
            "headers": {"authorization": "Bearer t0ken", "content-type": "application/json"},
            "requestContext": {"http": {"method": "POST", "path": "/"}, "requestId": "r1"},
            "body": body,
        })
    }

    /// A payload of exactly `bytes` bytes.
    fn payload(bytes: usize) -> String {
        let empty =
            json!({"version": "4", "status": "firing", "alerts": [], "pad": ""}).to_string();
        json!({"version": "4", "status": "firing", "alerts": [], "pad": "x".repeat(bytes - empty.len())})
            .to_string()
    }

    /// The cap is of the payload, whether it arrives as text or base64 (a third longer): the
    /// largest payload allowed is taken both ways, one byte more is refused both ways.
    #[tokio::test]
    async fn the_body_cap_is_of_the_payload_not_its_encoding() {
        const CAP: usize = 4096;
        let receiver = receiver(CAP).await;
        for (bytes, status) in [(CAP, 202), (CAP - 1, 202), (CAP - 2, 202), (CAP + 1, 413)] {
            let text = payload(bytes);
            assert_eq!(text.len(), bytes);
            let encoded = base64::engine::general_purpose::STANDARD.encode(&text);
            for request in [request(&text, false), request(&encoded, true)] {
                let answer = receiver.handle(&request).await;
                assert_eq!(answer["statusCode"], status, "{bytes} bytes: {answer}");
            }
        }
    }
}
