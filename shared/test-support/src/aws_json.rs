//! A loopback stand-in for AWS services that speak the JSON 1.1 protocol (ECS, CloudWatch Logs),
//! for the calls moto cannot answer in a shape aws-sdk-rust reads. It serves *recorded*
//! responses: the test registers, per operation (`X-Amz-Target`, e.g.
//! `AmazonEC2ContainerServiceV20141113.DescribeServices`), the status and JSON body AWS returns
//! (bodies copied from the AWS API reference's examples), and the fake answers them as AWS does
//! (`Content-Type: application/x-amz-json-1.1`, `x-amzn-RequestId`, errors as
//! `{"__type": ..., "message": ...}` with their HTTP status). Requests are recorded so a test
//! can check what the client asked.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::slack::harness::{ServerThread, lock};

/// One recorded answer.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub status: u16,
    pub body: Value,
}

impl Recorded {
    pub fn ok(body: Value) -> Self {
        Recorded { status: 200, body }
    }

    /// An AWS JSON-protocol error, e.g. `("AccessDeniedException", 400, "User: ... is not
    /// authorized to perform: ecs:DescribeServices")`.
    pub fn error(code: &str, status: u16, message: &str) -> Self {
        Recorded {
            status,
            body: json!({"__type": code, "message": message}),
        }
    }
}

/// A request the fake received.
#[derive(Debug, Clone)]
pub struct JsonRequest {
    /// The operation, without the service prefix (`DescribeServices`).
    pub operation: String,
    pub body: Value,
}

/// An answer, given only when the request's field has the value, if a condition is set.
type Conditional = (Option<(String, Value)>, Recorded);

#[derive(Debug, Default)]
struct Shared {
    answers: Mutex<HashMap<String, Vec<Conditional>>>,
    requests: Mutex<Vec<JsonRequest>>,
}

/// The fake. Dropping it stops the server.
#[derive(Debug)]
pub struct AwsJsonFake {
    shared: Arc<Shared>,
    server: ServerThread,
}

impl AwsJsonFake {
    pub fn start() -> Self {
        let shared = Arc::new(Shared::default());
        let app = Router::new()
            .fallback(handle)
            .with_state(Arc::clone(&shared));
        let server = ServerThread::start("aws-json-fake", app).expect("start the AWS JSON fake");
        AwsJsonFake { shared, server }
    }

    /// `http://127.0.0.1:<port>`: the client's endpoint URL.
    pub fn endpoint(&self) -> String {
        self.server.base_url()
    }

    /// Answers `operation` (e.g. `DescribeServices`) with `answer` for every request.
    pub fn answer(&self, operation: &str, answer: Recorded) {
        lock(&self.shared.answers)
            .entry(operation.to_string())
            .or_default()
            .push((None, answer));
    }

    /// Answers `operation` with `answer` when the request's `field` equals `value` (e.g. the
    /// `taskDefinition` of DescribeTaskDefinition). Checked before the unconditional answers.
    pub fn answer_when(&self, operation: &str, field: &str, value: Value, answer: Recorded) {
        lock(&self.shared.answers)
            .entry(operation.to_string())
            .or_default()
            .insert(0, (Some((field.to_string(), value)), answer));
    }

    pub fn requests(&self) -> Vec<JsonRequest> {
        lock(&self.shared.requests).clone()
    }
}

async fn handle(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let operation = target.rsplit('.').next().unwrap_or_default().to_string();
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    lock(&shared.requests).push(JsonRequest {
        operation: operation.clone(),
        body: body.clone(),
    });
    let answer = lock(&shared.answers).get(&operation).and_then(|answers| {
        answers
            .iter()
            .find(|(condition, _)| {
                condition
                    .as_ref()
                    .is_none_or(|(field, value)| body.get(field) == Some(value))
            })
            .map(|(_, answer)| answer.clone())
    });
    let answer = answer.unwrap_or_else(|| {
        Recorded::error(
            "UnknownOperationException",
            400,
            &format!("no recorded answer for {target}"),
        )
    });
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        status,
        [
            ("content-type", "application/x-amz-json-1.1"),
            ("x-amzn-requestid", "8f6a2f44-0000-4000-8000-000000000000"),
        ],
        answer.body.to_string(),
    )
        .into_response()
}
