//! What the engine needs of Slack, and nothing more: post through an incoming webhook, post and
//! update through the Web API. The HTTPS adapter is `fleetwatch-slack`; tests may use any fake.

use std::future::Future;
use std::time::Duration;

use fleetwatch_ports::{BoxError, FaultKind, Secret, SharedClock};
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

    pub fn kind(&self) -> FaultKind {
        match self {
            SlackError::Permanent(_) => FaultKind::Permanent,
            SlackError::RateLimited { .. } | SlackError::Transient(_) => FaultKind::Transient,
        }
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

/// Slack in memory: records every post and update with the clock's time, answers with scripted
/// failures first. For tests of the engine and the handler without a network.
#[derive(Debug)]
pub struct MemorySlack {
    state: std::sync::Mutex<MemoryState>,
    clock: SharedClock,
}

/// One accepted post (webhook or `chat.postMessage`) or update.
#[derive(Clone, Debug, PartialEq)]
pub struct Recorded {
    /// The webhook URL's secret text, or the channel.
    pub destination: String,
    pub payload: Value,
    /// `Some` for a Web API post: where it landed.
    pub posted: Option<PostedMessage>,
    /// An update of this message instead of a new post.
    pub updated: Option<PostedMessage>,
    pub at: std::time::SystemTime,
}

/// A scripted answer, consumed by the next call.
#[derive(Clone, Debug)]
pub enum Scripted {
    RateLimited(Duration),
    Unavailable,
    Refused(&'static str),
}

#[derive(Debug, Default)]
struct MemoryState {
    script: std::collections::VecDeque<Scripted>,
    recorded: Vec<Recorded>,
    next_ts: u64,
}

impl MemorySlack {
    pub fn new(clock: SharedClock) -> Self {
        Self {
            state: std::sync::Mutex::default(),
            clock,
        }
    }

    /// The next calls fail as scripted, in order.
    pub fn script(&self, answers: impl IntoIterator<Item = Scripted>) {
        self.lock().script.extend(answers);
    }

    pub fn recorded(&self) -> Vec<Recorded> {
        self.lock().recorded.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, MemoryState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn accept(
        &self,
        destination: &str,
        payload: &Value,
        updated: Option<&PostedMessage>,
    ) -> Result<PostedMessage, SlackError> {
        let mut state = self.lock();
        if let Some(answer) = state.script.pop_front() {
            return Err(match answer {
                Scripted::RateLimited(retry_after) => SlackError::RateLimited { retry_after },
                Scripted::Unavailable => SlackError::Transient("HTTP 503: unavailable".into()),
                Scripted::Refused(code) => SlackError::Permanent(code.into()),
            });
        }
        state.next_ts += 1;
        let posted = PostedMessage {
            channel_id: destination.to_string(),
            ts: format!("1700000000.{:06}", state.next_ts),
        };
        state.recorded.push(Recorded {
            destination: destination.to_string(),
            payload: payload.clone(),
            posted: updated.is_none().then(|| posted.clone()),
            updated: updated.cloned(),
            at: self.clock.now(),
        });
        Ok(posted)
    }
}

/// One transport shared by several engines (two instances posting to one Slack).
impl<T: SlackTransport> SlackTransport for std::sync::Arc<T> {
    fn post_webhook(
        &self,
        url: &Secret,
        payload: &Value,
    ) -> impl Future<Output = Result<(), SlackError>> + Send {
        (**self).post_webhook(url, payload)
    }

    fn post_message(
        &self,
        token: &Secret,
        channel: &str,
        payload: &Value,
    ) -> impl Future<Output = Result<PostedMessage, SlackError>> + Send {
        (**self).post_message(token, channel, payload)
    }

    fn update_message(
        &self,
        token: &Secret,
        message: &PostedMessage,
        payload: &Value,
    ) -> impl Future<Output = Result<(), SlackError>> + Send {
        (**self).update_message(token, message, payload)
    }
}

impl SlackTransport for MemorySlack {
    async fn post_webhook(&self, url: &Secret, payload: &Value) -> Result<(), SlackError> {
        self.accept(url.expose(), payload, None).map(|_| ())
    }

    async fn post_message(
        &self,
        _token: &Secret,
        channel: &str,
        payload: &Value,
    ) -> Result<PostedMessage, SlackError> {
        self.accept(channel, payload, None)
    }

    async fn update_message(
        &self,
        _token: &Secret,
        message: &PostedMessage,
        payload: &Value,
    ) -> Result<(), SlackError> {
        self.accept(&message.channel_id, payload, Some(message))
            .map(|_| ())
    }
}
