//! What the engine needs of Slack, and nothing more: post through an incoming webhook, post and
//! update through the Web API. The HTTPS adapter is `fleetwatch-slack`; tests may use any fake.

use std::future::Future;
use std::time::Duration;

use fleetwatch_ports::{BoxError, Secret};
use serde_json::Value;

/// What a failed post means for the caller.
#[derive(Debug, thiserror::Error)]
pub enum SlackError {
    /// HTTP 429: wait `retry_after`, then try again.
    #[error("rate limited by Slack, retry after {retry_after:?}")]
    RateLimited { retry_after: Duration },
    /// A 5xx, a timeout, a connection failure or Slack's own internal errors: retry with backoff.
    #[error("Slack is unavailable")]
    Transient(#[source] BoxError),
    /// The destination or payload is wrong (`channel_not_found`, `invalid_auth`, `no_service`,
    /// `invalid_payload`, ...): retrying cannot help; dead-letter with this reason.
    #[error("Slack refused the message")]
    Permanent(#[source] BoxError),
}

impl SlackError {
    pub fn is_permanent(&self) -> bool {
        matches!(self, SlackError::Permanent(_))
    }
}

/// Where a bot-mode message landed: `chat.update` and thread replies need both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostedMessage {
    pub channel_id: String,
    pub ts: String,
}

pub trait SlackTransport: Send + Sync {
    /// Posts to an incoming webhook (one channel, fixed by the URL).
    fn post_webhook(
        &self,
        url: &Secret,
        payload: &Value,
    ) -> impl Future<Output = Result<(), SlackError>> + Send;

    /// `chat.postMessage`; `payload` holds `text`, `blocks`, `attachments`, and may hold
    /// `thread_ts`. `channel` is a name or an id.
    fn post_message(
        &self,
        token: &Secret,
        channel: &str,
        payload: &Value,
    ) -> impl Future<Output = Result<PostedMessage, SlackError>> + Send;

    /// `chat.update` of `message` (its channel id and ts).
    fn update_message(
        &self,
        token: &Secret,
        message: &PostedMessage,
        payload: &Value,
    ) -> impl Future<Output = Result<(), SlackError>> + Send;
}
