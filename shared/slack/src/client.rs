use std::time::Duration;

use fleetwatch_aws::ssm::Secret;
use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, RETRY_AFTER};
use serde::Deserialize;
use serde_json::Value;

/// What a failed post means for the caller.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SlackError {
    /// HTTP 429: wait `retry_after`, then try again.
    #[error("rate limited by Slack, retry after {retry_after:?}")]
    RateLimited { retry_after: Duration },
    /// A 5xx, a timeout, a connection failure or Slack's own internal errors: retry with backoff.
    #[error("Slack is unavailable: {reason}")]
    Transient { reason: String },
    /// The destination or payload is wrong (`channel_not_found`, `invalid_auth`, `no_service`,
    /// `invalid_payload`, ...): retrying cannot help; dead-letter with this reason.
    #[error("Slack refused the message: {reason}")]
    Permanent { reason: String },
}

impl SlackError {
    pub fn is_permanent(&self) -> bool {
        matches!(self, SlackError::Permanent { .. })
    }
}

/// Where a bot-mode message landed: `chat.update` and thread replies need both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostedMessage {
    pub channel_id: String,
    pub ts: String,
}

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
    pub fn new(api_base: impl Into<String>, timeout: Duration) -> Result<Self, SlackError> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(|e| SlackError::Permanent {
                reason: format!("building the HTTP client: {e}"),
            })?;
        Ok(Self {
            http,
            api_base: api_base.into().trim_end_matches('/').to_string(),
        })
    }

    /// Posts to an incoming webhook. Success is HTTP 200 with the body `ok`.
    pub async fn post_webhook(&self, url: &Secret, payload: &Value) -> Result<(), SlackError> {
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
            s if s.is_server_error() => Err(SlackError::Transient {
                reason: format!("HTTP {}: {}", s.as_u16(), short(body)),
            }),
            s => Err(SlackError::Permanent {
                reason: format!("HTTP {}: {}", s.as_u16(), short(body)),
            }),
        }
    }

    /// `chat.postMessage`; `payload` holds `text`, `blocks`, `attachments`, and may hold
    /// `thread_ts`. `channel` is a name or an id.
    pub async fn post_message(
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
            ts: answer.ts.ok_or_else(|| SlackError::Transient {
                reason: "chat.postMessage answered without ts".into(),
            })?,
        })
    }

    /// `chat.update` of the message at `ts` in `channel_id` (an id, as Slack requires).
    pub async fn update_message(
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
            return Err(SlackError::Transient {
                reason: format!("{method}: HTTP {}: {}", status.as_u16(), short(&text)),
            });
        }
        let answer: ApiResponse =
            serde_json::from_str(&text).map_err(|_| SlackError::Transient {
                reason: format!(
                    "{method}: unreadable answer (HTTP {}): {}",
                    status.as_u16(),
                    short(&text)
                ),
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
        let reason = format!("{method}: {error}");
        if TRANSIENT_API_ERRORS.contains(&error.as_str()) {
            Err(SlackError::Transient { reason })
        } else {
            Err(SlackError::Permanent { reason })
        }
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

/// reqwest's errors carry the request URL, and a webhook URL is a secret: drop it.
fn transport_error(error: reqwest::Error) -> SlackError {
    SlackError::Transient {
        reason: error.without_url().to_string(),
    }
}

fn short(text: &str) -> String {
    const LIMIT: usize = 200;
    match text.char_indices().nth(LIMIT) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text.to_string(),
    }
}
