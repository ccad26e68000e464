//! The Lambda runtime API of `cargo lambda watch`, forwarded with each invocation's deadline as
//! the runtime API specifies it.
//!
//! `Lambda-Runtime-Deadline-Ms` is "the date that the function times out in Unix time
//! milliseconds". cargo-lambda 1.9.2 sends the constant `600000` (hard-coded in
//! `crates/cargo-lambda-watch/src/runtime/functions_router.rs`): a ten-minute timeout, not a date.
//! Read as a date that is 00:10 on 1 January 1970. The functions take such a value as a timeout
//! from now (`fleetwatch_aws::invocation_deadline`), but the tests should run on what Lambda
//! sends: this forwarder rewrites it to now plus that duration, which is what Lambda would send
//! for a ten-minute timeout; a value that already is a date passes unchanged.
//! Everything else (methods, paths, other headers, bodies, statuses) is forwarded as it is.

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;

use crate::slack::harness::{BODY_LIMIT, ServerThread};

const DEADLINE_HEADER: &str = "lambda-runtime-deadline-ms";
/// Below this a deadline cannot be a date of this century (2001-09-09 in Unix milliseconds):
/// it is the emulator's duration.
const FIRST_PLAUSIBLE_DATE_MS: u64 = 1_000_000_000_000;
/// Headers about one connection, not the message: the server and client on each side set their
/// own.
const HOP_BY_HOP: [&str; 4] = ["host", "connection", "content-length", "transfer-encoding"];

#[derive(Clone)]
struct Upstream {
    base: String,
    client: reqwest::Client,
}

/// Forwards `http://127.0.0.1:<port>/...` of the returned server to `upstream` (the emulator's
/// base URL), on its own thread; stops when dropped.
pub(crate) fn start(upstream: &str) -> std::io::Result<ServerThread> {
    let client = reqwest::Client::builder()
        .build()
        .map_err(std::io::Error::other)?;
    let state = Upstream {
        base: upstream.trim_end_matches('/').to_string(),
        client,
    };
    let app = Router::new().fallback(forward).with_state(state);
    ServerThread::start("lambda-runtime-proxy", app)
}

async fn forward(State(upstream): State<Upstream>, request: Request) -> Response {
    match try_forward(&upstream, request).await {
        Ok(response) => response,
        Err(error) => Response::builder()
            .status(StatusCode::BAD_GATEWAY)
            .body(Body::from(format!("runtime API proxy: {error}")))
            .expect("a static response"),
    }
}

async fn try_forward(upstream: &Upstream, request: Request) -> Result<Response, String> {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, BODY_LIMIT)
        .await
        .map_err(|e| e.to_string())?;
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let mut outgoing = upstream
        .client
        .request(parts.method, format!("{}{path}", upstream.base))
        .body(body);
    for (name, value) in end_to_end(&parts.headers) {
        outgoing = outgoing.header(name, value);
    }
    let answer = outgoing.send().await.map_err(|e| e.to_string())?;
    let mut response = Response::builder().status(answer.status());
    for (name, value) in end_to_end(answer.headers()) {
        let value = if name.as_str() == DEADLINE_HEADER {
            as_date(value)
        } else {
            value.clone()
        };
        response = response.header(name, value);
    }
    let bytes = answer.bytes().await.map_err(|e| e.to_string())?;
    response.body(Body::from(bytes)).map_err(|e| e.to_string())
}

fn end_to_end(
    headers: &HeaderMap,
) -> impl Iterator<Item = (&axum::http::HeaderName, &HeaderValue)> {
    headers
        .iter()
        .filter(|(name, _)| !HOP_BY_HOP.contains(&name.as_str()))
}

/// The deadline as a date: a duration becomes now plus it.
fn as_date(value: &HeaderValue) -> HeaderValue {
    let Some(ms) = value
        .to_str()
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
    else {
        return value.clone();
    };
    deadline_date(ms, now_ms()).into()
}

fn deadline_date(value_ms: u64, now_ms: u64) -> u64 {
    if value_ms >= FIRST_PLAUSIBLE_DATE_MS {
        value_ms
    } else {
        now_ms + value_ms
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_duration_becomes_a_date_and_a_date_stays() {
        let now = 1_796_400_000_000;
        assert_eq!(deadline_date(600_000, now), now + 600_000);
        assert_eq!(deadline_date(1_796_400_900_000, now), 1_796_400_900_000);
    }
}
