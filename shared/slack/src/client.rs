use std::time::Duration;

use fleetwatch_ports::Secret;
use fleetwatch_slack_fanout::{PostedMessage, SlackError, SlackTransport};
use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, RETRY_AFTER};
use serde::Deserialize;
use serde_json::Value;

/// Slack over HTTPS: incoming webhooks and the Web API.
#[derive(Clone, Debug)]
pub struct SlackClient {
    http: reqwest::Client,
    api_base: String,
}

/// When Slack says 429 without a usable `Retry-After`.
const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(1);

/// Web API errors that are Slack's fault, not ours (from the Web API's documented error codes).
const TRANSIENT_API_ERRORS: &[&str] = &[
    "internal_error",
    "fatal_error",
    "service_unavailable",
    "request_timeout",
];

#[derive(Deserialize)]
struct ApiResponse {
    ok: bool,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    channel: Option<String>,
    #[serde(default)]
    ts: Option<String>,
}

impl SlackClient {
    /// `api_base` is `https://slack.com/api` in production.
    pub fn new(api_base: impl Into<String>, timeout: Duration) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder().timeout(timeout).build()?;
        Ok(Self {
            http,
            api_base: api_base.into().trim_end_matches('/').to_string(),
        })
    }

    /// Posts to an incoming webhook. Success is HTTP 200 with the body `ok`.
    async fn webhook(&self, url: &Secret, payload: &Value) -> Result<(), SlackError> {
        let response = self
            .http
            .post(url.expose())
            .json(payload)
            .send()
            .await
            .map_err(transport_error)?;
        let status = response.status();
        let retry_after = retry_after(&response);
        let body = response.text().await.map_err(transport_error)?;
        let body = body.trim();
        match status {
            StatusCode::OK if body == "ok" => Ok(()),
            StatusCode::TOO_MANY_REQUESTS => Err(SlackError::RateLimited {
                retry_after: retry_after.unwrap_or(DEFAULT_RETRY_AFTER),
            }),
            s if s.is_server_error() => Err(SlackError::Transient(
                format!("HTTP {}: {}", s.as_u16(), short(body)).into(),
            )),
            s => Err(SlackError::Permanent(
                format!("HTTP {}: {}", s.as_u16(), short(body)).into(),
            )),
        }
    }

    /// `chat.postMessage`.
    async fn post(
        &self,
        token: &Secret,
        channel: &str,
        payload: &Value,
    ) -> Result<PostedMessage, SlackError> {
        let mut body = payload.clone();
        body["channel"] = Value::String(channel.to_string());
        let answer = self.call(token, "chat.postMessage", &body).await?;
        Ok(PostedMessage {
            channel_id: answer.channel.unwrap_or_else(|| channel.to_string()),
            ts: answer.ts.ok_or_else(|| {
                SlackError::Transient("chat.postMessage answered without ts".into())
            })?,
        })
    }

    /// `chat.update` of the message at `ts` in `channel_id` (an id, as Slack requires).
    async fn update(
        &self,
        token: &Secret,
        message: &PostedMessage,
        payload: &Value,
    ) -> Result<(), SlackError> {
        let mut body = payload.clone();
        body["channel"] = Value::String(message.channel_id.clone());
        body["ts"] = Value::String(message.ts.clone());
        if let Some(map) = body.as_object_mut() {
            map.remove("thread_ts");
        }
        self.call(token, "chat.update", &body).await.map(|_| ())
    }

    async fn call(
        &self,
        token: &Secret,
        method: &str,
        body: &Value,
    ) -> Result<ApiResponse, SlackError> {
        let response = self
            .http
            .post(format!("{}/{method}", self.api_base))
            .header(AUTHORIZATION, format!("Bearer {}", token.expose()))
            .json(body)
            .send()
            .await
            .map_err(transport_error)?;
        let status = response.status();
        let retry_after = retry_after(&response);
        if status == StatusCode::TOO_MANY_REQUESTS {
            return Err(SlackError::RateLimited {
                retry_after: retry_after.unwrap_or(DEFAULT_RETRY_AFTER),
            });
        }
        let text = response.text().await.map_err(transport_error)?;
        if status.is_server_error() {
            return Err(SlackError::Transient(
                format!("{method}: HTTP {}: {}", status.as_u16(), short(&text)).into(),
            ));
        }
        let answer: ApiResponse = serde_json::from_str(&text).map_err(|_| {
            SlackError::Transient(
                format!(
                    "{method}: unreadable answer (HTTP {}): {}",
                    status.as_u16(),
                    short(&text)
                )
                .into(),
            )
        })?;
        if answer.ok {
            return Ok(answer);
        }
        let error = answer.error.unwrap_or_else(|| "unknown_error".into());
        if error == "ratelimited" || error == "rate_limited" {
            return Err(SlackError::RateLimited {
                retry_after: retry_after.unwrap_or(DEFAULT_RETRY_AFTER),
            });
        }
        let reason = format!("{method}: {error}").into();
        if TRANSIENT_API_ERRORS.contains(&error.as_str()) {
            Err(SlackError::Transient(reason))
        } else {
            Err(SlackError::Permanent(reason))
        }
    }
}

impl SlackTransport for SlackClient {
    async fn post_webhook(&self, url: &Secret, payload: &Value) -> Result<(), SlackError> {
        self.webhook(url, payload).await
    }

    async fn post_message(
        &self,
        token: &Secret,
        channel: &str,
        payload: &Value,
    ) -> Result<PostedMessage, SlackError> {
        self.post(token, channel, payload).await
    }

    async fn update_message(
        &self,
        token: &Secret,
        message: &PostedMessage,
        payload: &Value,
    ) -> Result<(), SlackError> {
        self.update(token, message, payload).await
    }
}

fn retry_after(response: &reqwest::Response) -> Option<Duration> {
    response
        .headers()
        .get(RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

/// reqwest's errors carry the request URL, and a webhook URL is a secret: drop it. The error
/// itself stays the cause (timeout, connection refused, ...).
fn transport_error(error: reqwest::Error) -> SlackError {
    SlackError::Transient(Box::new(error.without_url()))
}

fn short(text: &str) -> String {
    const LIMIT: usize = 200;
    match text.char_indices().nth(LIMIT) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text.to_string(),
    }
}
