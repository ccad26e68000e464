//! A loopback stand-in for AWS services that speak the Query protocol (Auto Scaling), for the
//! calls moto cannot answer: CompleteLifecycleAction and RecordLifecycleActionHeartbeat are
//! HTTP 500 in moto. It serves *recorded* responses as the protocol defines them: the request is
//! a form-encoded POST (`Action=CompleteLifecycleAction&Version=2011-01-01&...`), a success is
//! `<{Action}Response xmlns="..."><{Action}Result>...</{Action}Result><ResponseMetadata>
//! <RequestId>...</RequestId></ResponseMetadata></{Action}Response>` with `Content-Type:
//! text/xml`, and an error is `<ErrorResponse xmlns="..."><Error><Type>Sender</Type>
//! <Code>...</Code><Message>...</Message></Error><RequestId>...</RequestId></ErrorResponse>` with
//! its HTTP status, as the Auto Scaling API reference documents them. Requests are recorded
//! (parameters decoded) so a test can check what the client asked.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::slack::harness::{ServerThread, lock};

/// Auto Scaling's XML namespace (API version 2011-01-01).
pub const AUTOSCALING_NAMESPACE: &str = "http://autoscaling.amazonaws.com/doc/2011-01-01/";

const REQUEST_ID: &str = "5d3e7a1c-0000-4000-8000-000000000000";

/// One recorded answer.
#[derive(Debug, Clone)]
pub enum QueryAnswer {
    /// A success: the XML inside `<{Action}Result>` (empty for actions that return nothing).
    Ok { result: String },
    /// An error as AWS returns it: `Sender` errors (validation, access) are 400, throttling is
    /// 400 with code `Throttling`, `Receiver` errors are 5xx.
    Error {
        status: u16,
        kind: &'static str,
        code: String,
        message: String,
    },
}

impl QueryAnswer {
    pub fn ok(result: impl Into<String>) -> Self {
        QueryAnswer::Ok {
            result: result.into(),
        }
    }

    /// A client-side error (`<Type>Sender</Type>`), HTTP 400.
    pub fn sender_error(code: &str, message: &str) -> Self {
        QueryAnswer::Error {
            status: 400,
            kind: "Sender",
            code: code.into(),
            message: message.into(),
        }
    }

    /// A server-side error (`<Type>Receiver</Type>`).
    pub fn receiver_error(status: u16, code: &str, message: &str) -> Self {
        QueryAnswer::Error {
            status,
            kind: "Receiver",
            code: code.into(),
            message: message.into(),
        }
    }
}

/// A request the fake received: its `Action` and the other parameters, decoded.
#[derive(Debug, Clone)]
pub struct QueryRequest {
    pub action: String,
    pub params: BTreeMap<String, String>,
}

/// An answer, given only when the request's parameter has the value, if a condition is set.
type Conditional = (Option<(String, String)>, QueryAnswer);

#[derive(Debug)]
struct Shared {
    namespace: String,
    answers: Mutex<HashMap<String, Vec<Conditional>>>,
    requests: Mutex<Vec<QueryRequest>>,
}

/// The fake. Dropping it stops the server.
#[derive(Debug)]
pub struct AwsQueryFake {
    shared: Arc<Shared>,
    server: ServerThread,
}

impl AwsQueryFake {
    /// A fake of EC2 Auto Scaling.
    pub fn autoscaling() -> Self {
        Self::start(AUTOSCALING_NAMESPACE)
    }

    /// A fake answering in the XML namespace of one Query-protocol service.
    pub fn start(namespace: &str) -> Self {
        let shared = Arc::new(Shared {
            namespace: namespace.to_string(),
            answers: Mutex::default(),
            requests: Mutex::default(),
        });
        let app = Router::new()
            .fallback(handle)
            .with_state(Arc::clone(&shared));
        let server = ServerThread::start("aws-query-fake", app).expect("start the AWS Query fake");
        AwsQueryFake { shared, server }
    }

    /// `http://127.0.0.1:<port>`: the client's endpoint URL.
    pub fn endpoint(&self) -> String {
        self.server.base_url()
    }

    /// Answers `action` with `answer` for every request.
    pub fn answer(&self, action: &str, answer: QueryAnswer) {
        lock(&self.shared.answers)
            .entry(action.to_string())
            .or_default()
            .push((None, answer));
    }

    /// Answers `action` with `answer` when the request's `param` (e.g. `InstanceId`) equals
    /// `value`. Checked before the unconditional answers.
    pub fn answer_when(&self, action: &str, param: &str, value: &str, answer: QueryAnswer) {
        lock(&self.shared.answers)
            .entry(action.to_string())
            .or_default()
            .insert(0, (Some((param.to_string(), value.to_string())), answer));
    }

    pub fn requests(&self) -> Vec<QueryRequest> {
        lock(&self.shared.requests).clone()
    }
}

async fn handle(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let mut params = decode_form(&String::from_utf8_lossy(&body));
    let action = params.remove("Action").unwrap_or_default();
    params.remove("Version");
    lock(&shared.requests).push(QueryRequest {
        action: action.clone(),
        params: params.clone(),
    });
    let answer = lock(&shared.answers).get(&action).and_then(|answers| {
        answers
            .iter()
            .find(|(condition, _)| {
                condition
                    .as_ref()
                    .is_none_or(|(param, value)| params.get(param) == Some(value))
            })
            .map(|(_, answer)| answer.clone())
    });
    let answer = answer.unwrap_or_else(|| {
        QueryAnswer::sender_error("InvalidAction", &format!("no recorded answer for {action}"))
    });
    let namespace = &shared.namespace;
    let (status, body) = match answer {
        QueryAnswer::Ok { result } => (
            200,
            format!(
                "<{action}Response xmlns=\"{namespace}\">\n  <{action}Result>{result}</{action}Result>\n  \
                 <ResponseMetadata>\n    <RequestId>{REQUEST_ID}</RequestId>\n  </ResponseMetadata>\n</{action}Response>\n"
            ),
        ),
        QueryAnswer::Error {
            status,
            kind,
            code,
            message,
        } => (
            status,
            format!(
                "<ErrorResponse xmlns=\"{namespace}\">\n  <Error>\n    <Type>{kind}</Type>\n    \
                 <Code>{}</Code>\n    <Message>{}</Message>\n  </Error>\n  <RequestId>{REQUEST_ID}</RequestId>\n</ErrorResponse>\n",
                escape(&code),
                escape(&message)
            ),
        ),
    };
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        status,
        [
            ("content-type", "text/xml"),
            ("x-amzn-requestid", REQUEST_ID),
        ],
        body,
    )
        .into_response()
}

/// `application/x-www-form-urlencoded`: `+` is a space, `%XX` a byte.
fn decode_form(body: &str) -> BTreeMap<String, String> {
    body.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(key), decode(value))
        })
        .collect()
}

fn decode(text: &str) -> String {
    let spaced = text.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8_lossy()
        .into_owned()
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_bodies_decode_as_the_query_protocol_encodes_them() {
        let params = decode_form(
            "Action=CompleteLifecycleAction&Version=2011-01-01&AutoScalingGroupName=prod-asg\
             &InstanceIds.member.1=i-1&Message=a+b%2Fc%3D",
        );
        assert_eq!(params["Action"], "CompleteLifecycleAction");
        assert_eq!(params["InstanceIds.member.1"], "i-1");
        assert_eq!(params["Message"], "a b/c=");
        assert_eq!(escape("<a & \"b\">"), "&lt;a &amp; &quot;b&quot;&gt;");
    }
}
