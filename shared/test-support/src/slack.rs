//! A protocol-faithful fake of Slack: incoming webhooks and the Web API's `chat.postMessage` and
//! `chat.update`.
//!
//! This is a fake because the real Slack cannot run in tests: it is a SaaS with real channels,
//! real rate limits and real tokens. [`SlackFake`] runs a small HTTP server on a free loopback port
//! (`127.0.0.1:0`) on its own thread and tokio runtime, so it serves any test (a `current_thread`
//! or `multi_thread` tokio test, or plain synchronous code). Dropping it shuts the server down and
//! frees the port.
//!
//! # Protocol behaviours reproduced
//!
//! **Incoming webhooks**, `POST /services/{T}/{B}/{secret}`: one URL is one webhook bound to one
//! channel. Webhooks must be registered ([`SlackFake::add_webhook`]); an unknown path answers
//! `404 no_service`, as Slack does for a revoked webhook. Bodies are JSON (Slack also takes a
//! form-encoded `payload=` field; the fake does not). Another method than POST answers 405.
//! - success: HTTP 200, `text/plain` body `ok`;
//! - a body that is not a JSON object: 400 `invalid_payload`; a payload with none of `text`,
//!   `blocks`, `attachments` (or only empty ones): 400 `no_text`; `blocks` that is not an array or
//!   holds more than 50 blocks: 400 `invalid_blocks`;
//! - a webhook can be put in a permanent error state ([`SlackFake::break_webhook`]):
//!   404 `channel_not_found`, 410 `channel_is_archived`, 403 `action_prohibited`,
//!   403 `invalid_token`, 404 `no_service`, 500 `rollup_error`, ... (see [`WebhookError`]), each a
//!   plain-text body with its real status;
//! - rate limit: 429 with `Retry-After: <secs>` and the JSON body
//!   `{"retry_after":N,"ok":false,"error":"rate_limited"}`.
//!
//! Slack's incoming webhooks cannot thread; a `thread_ts` in a webhook payload is kept in the
//! recorded payload but the stored message is top-level.
//!
//! **Web API**, `POST /api/chat.postMessage` and `POST /api/chat.update`, JSON bodies
//! (`Content-Type: application/json`) authenticated by `Authorization: Bearer <token>`:
//! - always HTTP 200 with `{"ok":true,...}` or `{"ok":false,"error":"..."}`, except a rate limit:
//!   HTTP 429, `Retry-After`, `{"ok":false,"error":"ratelimited"}`;
//! - `not_authed` (no bearer token), `invalid_auth` (wrong token), `invalid_form_data` (not a JSON
//!   content type: the fake only speaks JSON), `invalid_json`, `json_not_object`,
//!   `channel_not_found`, `no_text`, `invalid_blocks`, `msg_too_long` (text over 40,000 chars),
//!   `message_not_found` (update of an unknown or missing `ts`), `unknown_method`;
//! - `chat.postMessage` accepts a channel name (`#alerts` or `alerts`) or its ID; channels are
//!   registered with [`SlackFake::add_channel`] and get stable IDs in registration order
//!   (`C000000001`, `C000000002`, ...); success returns
//!   `{"ok":true,"channel":"C...","ts":"1700000000.000100","message":{...}}` with a unique,
//!   increasing `ts`;
//! - `thread_ts` makes a reply; a reply to a reply goes to the parent's thread. Slack's answer to
//!   an unknown `thread_ts` is not documented: the fake answers `thread_not_found`, so a test
//!   catches a client threading on a wrong `ts`;
//! - `chat.update` needs the channel **ID** (a name answers `channel_not_found`, as Slack does) and
//!   the `ts`; fields left out of the update keep their value, an empty `blocks` or
//!   `attachments` array removes them; the stored message reflects the latest update and keeps
//!   the update history.
//!
//! **Rate limit per channel** (opt-in, [`SlackFake::set_channel_min_interval`]): a message
//! (webhook or `chat.postMessage`) arriving at a channel sooner than the interval after the last
//! accepted one answers 429 with `Retry-After` rounded up to whole seconds.
//!
//! # Fault injection
//!
//! Deterministic, no randomness: per [`SlackTarget`], a script ([`SlackFake::fail_next`]: the next
//! `n` requests get a fault, consumed in order) and a rate ([`SlackFake::fail_every`]: every k-th
//! request gets a fault). Faults are [`SlackFault`]s: 429 with a chosen `Retry-After`, 5xx, a
//! webhook error or a Web API error, each answered once.
//!
//! # Recording
//!
//! Every request is recorded ([`SlackRequest`]: method, path, Authorization, Content-Type, raw
//! body, parsed JSON, arrival time, the answer), and so is every accepted message
//! ([`SlackMessage`]). Accessors return clones.
//!
//! # Time
//!
//! Arrival times and the per-channel rate limit read the fake's clock: the real one by default,
//! or the test's own ([`SlackFake::start_with_clock`]), so a client paced by an injected clock is
//! judged on the same time line without anyone waiting.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use fleetwatch_ports::{SharedClock, SystemClock};

use axum::Router;
use axum::extract::{Request, State};
use axum::http::header;
use axum::response::Response;
use bytes::Bytes;
use serde_json::{Map, Value, json};

use self::harness::{FaultPlan, Reply, ServerThread, lock};

/// The answer a fake gave to one request, as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedResponse {
    /// HTTP status code.
    pub status: u16,
    /// Response headers set by the fake (name in lower case, value).
    pub headers: Vec<(String, String)>,
    /// Response body.
    pub body: String,
}

impl RecordedResponse {
    /// The first value of a response header (name matched case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The `Retry-After` header, if the fake sent one.
    pub fn retry_after(&self) -> Option<&str> {
        self.header("retry-after")
    }

    /// The body parsed as JSON, if it is JSON.
    pub fn json(&self) -> Option<Value> {
        serde_json::from_str(&self.body).ok()
    }
}

/// Plumbing shared by the fakes: the server thread, the fault schedule, replies.
pub(crate) mod harness {
    use std::collections::VecDeque;
    use std::future::IntoFuture;
    use std::io;
    use std::net::SocketAddr;
    use std::sync::{Mutex, MutexGuard, PoisonError, mpsc};
    use std::thread::JoinHandle;
    use std::time::Duration;

    use axum::Router;
    use axum::body::Body;
    use axum::http::{HeaderName, HeaderValue, StatusCode};
    use axum::response::Response;
    use serde_json::Value;
    use tokio::sync::watch;

    use super::RecordedResponse;

    /// Largest request body the fakes read.
    pub(crate) const BODY_LIMIT: usize = 64 * 1024 * 1024;

    /// How long in-flight requests get to finish after shutdown is signalled.
    const GRACE: Duration = Duration::from_secs(2);

    /// Locks a mutex, ignoring poisoning (a panicking test must not cascade into the server).
    pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
        m.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A deterministic fault schedule for one route: a script consumed first, then a rate.
    #[derive(Debug, Clone)]
    pub(crate) struct FaultPlan<F> {
        script: VecDeque<F>,
        every: Option<(u64, F)>,
        seen: u64,
    }

    impl<F> Default for FaultPlan<F> {
        fn default() -> Self {
            Self {
                script: VecDeque::new(),
                every: None,
                seen: 0,
            }
        }
    }

    impl<F: Clone> FaultPlan<F> {
        /// The next `n` consultations answer `fault` (appended after what is already scripted).
        pub(crate) fn push(&mut self, n: usize, fault: F) {
            self.script.extend(std::iter::repeat_n(fault, n));
        }

        /// Every `k`-th consultation from now on answers `fault`; `k == 0` turns the rate off.
        pub(crate) fn every(&mut self, k: u64, fault: F) {
            self.every = (k > 0).then_some((k, fault));
            self.seen = 0;
        }

        /// Consults the plan for one request (or item): the fault to inject, if any.
        pub(crate) fn next(&mut self) -> Option<F> {
            self.seen += 1;
            if let Some(f) = self.script.pop_front() {
                return Some(f);
            }
            match &self.every {
                Some((k, f)) if self.seen.is_multiple_of(*k) => Some(f.clone()),
                _ => None,
            }
        }

        /// Scripted faults not consumed yet.
        pub(crate) fn pending(&self) -> usize {
            self.script.len()
        }
    }

    /// A response under construction; recorded and sent.
    #[derive(Debug, Clone)]
    pub(crate) struct Reply {
        pub(crate) status: u16,
        pub(crate) headers: Vec<(String, String)>,
        pub(crate) body: String,
    }

    impl Reply {
        pub(crate) fn text(status: u16, body: impl Into<String>) -> Self {
            Self {
                status,
                headers: vec![(
                    "content-type".to_owned(),
                    "text/plain; charset=utf-8".to_owned(),
                )],
                body: body.into(),
            }
        }

        pub(crate) fn json(status: u16, value: &Value) -> Self {
            Self {
                status,
                headers: vec![(
                    "content-type".to_owned(),
                    "application/json; charset=utf-8".to_owned(),
                )],
                body: value.to_string(),
            }
        }

        pub(crate) fn with_header(mut self, name: &str, value: impl Into<String>) -> Self {
            self.headers.push((name.to_ascii_lowercase(), value.into()));
            self
        }

        pub(crate) fn record(&self) -> RecordedResponse {
            RecordedResponse {
                status: self.status,
                headers: self.headers.clone(),
                body: self.body.clone(),
            }
        }

        pub(crate) fn into_response(self) -> Response {
            let mut resp = Response::new(Body::from(self.body));
            *resp.status_mut() =
                StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            for (name, value) in self.headers {
                if let (Ok(n), Ok(v)) = (
                    HeaderName::from_bytes(name.as_bytes()),
                    HeaderValue::from_str(&value),
                ) {
                    resp.headers_mut().append(n, v);
                }
            }
            resp
        }
    }

    /// An axum server on a free loopback port, on its own thread and current-thread runtime.
    /// Dropping it signals a graceful shutdown (forced after a short grace period) and joins the
    /// thread; the listening socket is closed when this returns.
    #[derive(Debug)]
    pub(crate) struct ServerThread {
        addr: SocketAddr,
        stop: Option<watch::Sender<bool>>,
        thread: Option<JoinHandle<()>>,
    }

    impl ServerThread {
        pub(crate) fn start(name: &str, app: Router) -> io::Result<Self> {
            let std_listener = std::net::TcpListener::bind("127.0.0.1:0")?;
            std_listener.set_nonblocking(true)?;
            let addr = std_listener.local_addr()?;
            let (stop_tx, stop_rx) = watch::channel(false);
            let (ready_tx, ready_rx) = mpsc::channel::<io::Result<()>>();
            let thread = std::thread::Builder::new()
                .name(format!("{name}-{}", addr.port()))
                .spawn(move || {
                    let rt = match tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                    {
                        Ok(rt) => rt,
                        Err(e) => {
                            let _ = ready_tx.send(Err(e));
                            return;
                        }
                    };
                    rt.block_on(async move {
                        let listener = match tokio::net::TcpListener::from_std(std_listener) {
                            Ok(l) => l,
                            Err(e) => {
                                let _ = ready_tx.send(Err(e));
                                return;
                            }
                        };
                        let mut graceful_rx = stop_rx.clone();
                        let serve = axum::serve(listener, app).with_graceful_shutdown(async move {
                            let _ = graceful_rx.wait_for(|stop| *stop).await;
                        });
                        let mut deadline_rx = stop_rx;
                        let deadline = async move {
                            let _ = deadline_rx.wait_for(|stop| *stop).await;
                            tokio::time::sleep(GRACE).await;
                        };
                        let _ = ready_tx.send(Ok(()));
                        tokio::select! {
                            _ = serve.into_future() => {}
                            () = deadline => {}
                        }
                    });
                    // Cancels connection tasks still running after the grace period.
                    rt.shutdown_timeout(Duration::from_millis(200));
                })?;
            match ready_rx.recv() {
                Ok(Ok(())) => Ok(Self {
                    addr,
                    stop: Some(stop_tx),
                    thread: Some(thread),
                }),
                Ok(Err(e)) => {
                    let _ = thread.join();
                    Err(e)
                }
                Err(_) => {
                    let _ = thread.join();
                    Err(io::Error::other(
                        "fake server thread exited before it was ready",
                    ))
                }
            }
        }

        pub(crate) fn addr(&self) -> SocketAddr {
            self.addr
        }

        pub(crate) fn base_url(&self) -> String {
            format!("http://{}", self.addr)
        }
    }

    impl Drop for ServerThread {
        fn drop(&mut self) {
            if let Some(stop) = self.stop.take() {
                let _ = stop.send(true);
            }
            if let Some(thread) = self.thread.take() {
                let _ = thread.join();
            }
        }
    }

    /// Standard base64 (RFC 4648, with padding).
    pub(crate) fn base64_encode(input: &[u8]) -> String {
        const ALPHABET: &[u8; 64] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
        for chunk in input.chunks(3) {
            let b = [
                chunk[0],
                chunk.get(1).copied().unwrap_or(0),
                chunk.get(2).copied().unwrap_or(0),
            ];
            let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
            for i in 0..4 {
                if i <= chunk.len() {
                    out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
                } else {
                    out.push('=');
                }
            }
        }
        out
    }

    /// Standard base64 decoding; `None` on any invalid input.
    pub(crate) fn base64_decode(input: &str) -> Option<Vec<u8>> {
        fn val(c: u8) -> Option<u32> {
            match c {
                b'A'..=b'Z' => Some(u32::from(c - b'A')),
                b'a'..=b'z' => Some(u32::from(c - b'a') + 26),
                b'0'..=b'9' => Some(u32::from(c - b'0') + 52),
                b'+' => Some(62),
                b'/' => Some(63),
                _ => None,
            }
        }
        let bytes = input.trim().as_bytes();
        if !bytes.len().is_multiple_of(4) {
            return None;
        }
        let mut out = Vec::with_capacity(bytes.len() / 4 * 3);
        for chunk in bytes.chunks(4) {
            let pad = chunk.iter().rev().take_while(|&&c| c == b'=').count();
            if pad > 2 {
                return None;
            }
            let mut n = 0u32;
            for &c in &chunk[..4 - pad] {
                n = (n << 6) | val(c)?;
            }
            n <<= 6 * pad as u32;
            let decoded = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
            out.extend_from_slice(&decoded[..3 - pad]);
        }
        Some(out)
    }
}

// ---------------------------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------------------------

/// A webhook error Slack answers as a plain-text body with its own HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WebhookError {
    /// 400 `invalid_payload`.
    InvalidPayload,
    /// 400 `no_text`.
    NoText,
    /// 400 `user_not_found`.
    UserNotFound,
    /// 403 `action_prohibited`.
    ActionProhibited,
    /// 403 `invalid_token`.
    InvalidToken,
    /// 403 `posting_to_general_channel_denied`.
    PostingToGeneralChannelDenied,
    /// 403 `team_disabled`.
    TeamDisabled,
    /// 404 `channel_not_found` (the channel was deleted).
    ChannelNotFound,
    /// 404 `no_service` (the webhook was revoked).
    NoService,
    /// 410 `channel_is_archived`.
    ChannelIsArchived,
    /// 500 `rollup_error`.
    RollupError,
}

impl WebhookError {
    /// The HTTP status Slack answers with.
    pub fn status(self) -> u16 {
        match self {
            Self::InvalidPayload | Self::NoText | Self::UserNotFound => 400,
            Self::ActionProhibited
            | Self::InvalidToken
            | Self::PostingToGeneralChannelDenied
            | Self::TeamDisabled => 403,
            Self::ChannelNotFound | Self::NoService => 404,
            Self::ChannelIsArchived => 410,
            Self::RollupError => 500,
        }
    }

    /// The plain-text body (Slack's error code).
    pub fn code(self) -> &'static str {
        match self {
            Self::InvalidPayload => "invalid_payload",
            Self::NoText => "no_text",
            Self::UserNotFound => "user_not_found",
            Self::ActionProhibited => "action_prohibited",
            Self::InvalidToken => "invalid_token",
            Self::PostingToGeneralChannelDenied => "posting_to_general_channel_denied",
            Self::TeamDisabled => "team_disabled",
            Self::ChannelNotFound => "channel_not_found",
            Self::NoService => "no_service",
            Self::ChannelIsArchived => "channel_is_archived",
            Self::RollupError => "rollup_error",
        }
    }
}

/// A fault injected into one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SlackFault {
    /// HTTP 429 with `Retry-After: retry_after_secs`. Webhooks answer
    /// `{"retry_after":N,"ok":false,"error":"rate_limited"}`, the Web API
    /// `{"ok":false,"error":"ratelimited"}`.
    RateLimited { retry_after_secs: u64 },
    /// A transient server error with this status (500, 502, 503, 504): plain-text body.
    ServerError { status: u16 },
    /// A webhook error (status and plain body per [`WebhookError`]). On a Web API route it is
    /// answered Web API style: HTTP 200 `{"ok":false,"error":"<code>"}`.
    Webhook(WebhookError),
    /// A Web API error: HTTP 200 `{"ok":false,"error":"<code>"}`. On a webhook route it is answered
    /// as HTTP 400 with the code as plain body.
    Api(String),
}

impl SlackFault {
    /// 429 with `Retry-After: secs`.
    pub fn rate_limited(secs: u64) -> Self {
        Self::RateLimited {
            retry_after_secs: secs,
        }
    }

    /// A 5xx answer.
    pub fn server_error(status: u16) -> Self {
        Self::ServerError { status }
    }
}

/// Where a fault schedule applies. For one request the plans are consulted from the most
/// specific to the least (webhook: `Webhook(path)`, then `AllWebhooks`; Web API: `Channel`,
/// then `Method`, then `AllApi`); the first plan that yields a fault decides, and the plans after
/// it are not consulted (their counters do not advance) for that request.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SlackTarget {
    /// One webhook, by path (`/services/...`) or full URL.
    Webhook(String),
    /// Every webhook.
    AllWebhooks,
    /// Web API requests addressed to this channel (name, `#name` or ID).
    Channel(String),
    /// One Web API method, e.g. `"chat.postMessage"`.
    Method(String),
    /// Every Web API request.
    AllApi,
}

/// Which endpoint a request hit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SlackRoute {
    /// An incoming webhook, with its path.
    Webhook(String),
    /// `chat.postMessage`.
    PostMessage,
    /// `chat.update`.
    Update,
    /// Anything else (answered 404, or `unknown_method` under `/api/`).
    Other,
}

/// What the fake did with a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SlackOutcome {
    /// A message was stored (webhook or `chat.postMessage`).
    Delivered { channel: String, ts: String },
    /// A message was updated (`chat.update`).
    Updated { channel: String, ts: String },
    /// Rejected; `reason` is Slack's error code (`rate_limited`, `ratelimited`, `no_text`,
    /// `invalid_auth`, `channel_not_found`, ...), or `http_<status>` for an injected 5xx.
    Rejected { reason: String },
}

/// One request received by the fake.
#[derive(Debug, Clone)]
pub struct SlackRequest {
    /// Arrival order, from 0.
    pub seq: usize,
    /// Arrival time.
    pub at: SystemTime,
    pub method: String,
    pub path: String,
    pub route: SlackRoute,
    /// Webhook path, or the channel ID (the raw channel value when it is unknown) for the Web
    /// API; `None` when there is none.
    pub destination: Option<String>,
    pub authorization: Option<String>,
    pub content_type: Option<String>,
    /// The raw body.
    pub body: Bytes,
    /// The body parsed as JSON, when it is JSON.
    pub json: Option<Value>,
    pub outcome: SlackOutcome,
    pub response: RecordedResponse,
}

/// How a message arrived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Via {
    /// An incoming webhook, with its path.
    Webhook(String),
    /// `chat.postMessage`.
    WebApi,
}

/// A message's content after one `chat.update` was applied.
#[derive(Debug, Clone, PartialEq)]
pub struct MessageUpdate {
    pub at: SystemTime,
    pub text: Option<String>,
    pub blocks: Option<Value>,
    pub attachments: Option<Value>,
    /// The whole `chat.update` body.
    pub payload: Value,
}

/// A message stored in a channel. `text`, `blocks` and `attachments` reflect the latest update.
#[derive(Debug, Clone, PartialEq)]
pub struct SlackMessage {
    /// Channel ID.
    pub channel: String,
    /// Channel name, without `#`.
    pub channel_name: String,
    pub ts: String,
    /// The parent's `ts` for a thread reply.
    pub thread_ts: Option<String>,
    pub text: Option<String>,
    pub blocks: Option<Value>,
    pub attachments: Option<Value>,
    /// The payload as first posted.
    pub payload: Value,
    pub via: Via,
    pub posted_at: SystemTime,
    /// Updates applied, oldest first.
    pub updates: Vec<MessageUpdate>,
}

// ---------------------------------------------------------------------------------------------
// State
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct Channel {
    id: String,
    name: String,
}

#[derive(Debug, Clone)]
struct Webhook {
    channel_id: String,
    broken: Option<WebhookError>,
}

#[derive(Debug)]
struct SlackState {
    tokens: Vec<String>,
    channels: Vec<Channel>,
    webhooks: BTreeMap<String, Webhook>,
    messages: Vec<SlackMessage>,
    requests: Vec<SlackRequest>,
    plans: HashMap<SlackTarget, FaultPlan<SlackFault>>,
    ts_micros: u64,
    min_interval: Option<Duration>,
    last_accepted: HashMap<String, SystemTime>,
    webhook_counter: u32,
}

impl SlackState {
    fn channel_by_name_or_id(&self, key: &str) -> Option<&Channel> {
        let name = key.strip_prefix('#').unwrap_or(key);
        self.channels.iter().find(|c| c.id == key || c.name == name)
    }

    fn next_ts(&mut self) -> String {
        self.ts_micros += 100;
        format!(
            "{}.{:06}",
            self.ts_micros / 1_000_000,
            self.ts_micros % 1_000_000
        )
    }

    /// Normalises a target so that a channel name and its ID select the same plan.
    fn normalise_target(&self, target: SlackTarget, base: &str) -> SlackTarget {
        match target {
            SlackTarget::Webhook(w) => SlackTarget::Webhook(strip_base(&w, base)),
            SlackTarget::Channel(c) => match self.channel_by_name_or_id(&c) {
                Some(ch) => SlackTarget::Channel(ch.id.clone()),
                None => SlackTarget::Channel(c.trim_start_matches('#').to_owned()),
            },
            other => other,
        }
    }

    fn consult(&mut self, targets: &[SlackTarget]) -> Option<SlackFault> {
        for t in targets {
            if let Some(plan) = self.plans.get_mut(t)
                && let Some(f) = plan.next()
            {
                return Some(f);
            }
        }
        None
    }

    /// `Some(retry_after_secs)` when the channel's minimum interval is not over yet.
    fn channel_rate_limited(&self, channel_id: &str, now: SystemTime) -> Option<u64> {
        let min = self.min_interval?;
        let last = self.last_accepted.get(channel_id)?;
        let elapsed = now.duration_since(*last).unwrap_or_default();
        if elapsed >= min {
            return None;
        }
        let left = min - elapsed;
        let secs = left.as_secs() + u64::from(left.subsec_nanos() > 0);
        Some(secs.max(1))
    }
}

fn strip_base(s: &str, base: &str) -> String {
    s.strip_prefix(base).unwrap_or(s).to_owned()
}

/// Channel names normalised: no leading `#`.
fn channel_name(name: &str) -> String {
    name.trim_start_matches('#').to_owned()
}

#[derive(Debug)]
struct Shared {
    state: Mutex<SlackState>,
    clock: SharedClock,
}

// ---------------------------------------------------------------------------------------------
// The fake
// ---------------------------------------------------------------------------------------------

/// A fake Slack (incoming webhooks + `chat.postMessage` / `chat.update`). See the
/// [module documentation](self) for the behaviours reproduced.
#[derive(Debug)]
pub struct SlackFake {
    shared: Arc<Shared>,
    server: ServerThread,
    base: String,
}

impl SlackFake {
    /// The bot token the fake accepts unless told otherwise ([`SlackFake::set_token`]).
    pub const DEFAULT_TOKEN: &'static str = "xoxb-000000000000-0000000000000-fakefakefakefakefake";

    /// Starts the fake; returns once it accepts connections. Panics if no loopback port can be
    /// bound (use [`SlackFake::try_start`] to handle that).
    pub fn start() -> Self {
        Self::try_start().expect("start the Slack fake on 127.0.0.1")
    }

    /// Starts the fake with the test's clock (arrival times, the per-channel rate limit).
    pub fn start_with_clock(clock: SharedClock) -> Self {
        Self::try_start_with_clock(clock).expect("start the Slack fake on 127.0.0.1")
    }

    /// Starts the fake; returns once it accepts connections.
    pub fn try_start() -> std::io::Result<Self> {
        Self::try_start_with_clock(SystemClock::shared())
    }

    fn try_start_with_clock(clock: SharedClock) -> std::io::Result<Self> {
        let shared = Arc::new(Shared {
            clock,
            state: Mutex::new(SlackState {
                tokens: vec![Self::DEFAULT_TOKEN.to_owned()],
                channels: Vec::new(),
                webhooks: BTreeMap::new(),
                messages: Vec::new(),
                requests: Vec::new(),
                plans: HashMap::new(),
                ts_micros: 1_700_000_000_000_000,
                min_interval: None,
                last_accepted: HashMap::new(),
                webhook_counter: 0,
            }),
        });
        let app = Router::new()
            .fallback(handle)
            .with_state(Arc::clone(&shared));
        let server = ServerThread::start("slack-fake", app)?;
        let base = server.base_url();
        Ok(Self {
            shared,
            server,
            base,
        })
    }

    fn state(&self) -> std::sync::MutexGuard<'_, SlackState> {
        lock(&self.shared.state)
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> String {
        self.base.clone()
    }

    /// `base_url()` + `path` (which should start with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The server's socket address.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// The Web API base, to configure a client: `http://127.0.0.1:<port>/api/`.
    pub fn api_base_url(&self) -> String {
        self.url("/api/")
    }

    /// The only valid bot token from now on.
    pub fn set_token(&self, token: &str) {
        self.state().tokens = vec![token.to_owned()];
    }

    /// One more valid bot token.
    pub fn add_token(&self, token: &str) {
        self.state().tokens.push(token.to_owned());
    }

    /// Registers a channel (`alerts` or `#alerts`) and returns its stable ID; registering an
    /// existing name returns its ID.
    pub fn add_channel(&self, name: &str) -> String {
        let mut st = self.state();
        let name = channel_name(name);
        if let Some(c) = st.channels.iter().find(|c| c.name == name) {
            return c.id.clone();
        }
        let id = format!("C{:09}", st.channels.len() + 1);
        st.channels.push(Channel {
            id: id.clone(),
            name,
        });
        id
    }

    /// The ID of a registered channel (by name, `#name` or ID).
    pub fn channel_id(&self, name_or_id: &str) -> Option<String> {
        self.state()
            .channel_by_name_or_id(name_or_id)
            .map(|c| c.id.clone())
    }

    /// Registers a webhook posting to `channel` (registered if needed) at a generated path
    /// `/services/T00000000/B0000000N/<secret>`; returns its full URL.
    pub fn add_webhook(&self, channel: &str) -> String {
        let n = {
            let mut st = self.state();
            st.webhook_counter += 1;
            st.webhook_counter
        };
        let path = format!("/services/T00000000/B{n:08}/fakeSecret{n:014}");
        self.add_webhook_at(&path, channel)
    }

    /// Registers a webhook at an explicit path (`/services/T/B/secret`) posting to `channel`;
    /// returns its full URL.
    pub fn add_webhook_at(&self, path: &str, channel: &str) -> String {
        let channel_id = self.add_channel(channel);
        let path = strip_base(path, &self.base);
        self.state().webhooks.insert(
            path.clone(),
            Webhook {
                channel_id,
                broken: None,
            },
        );
        self.url(&path)
    }

    /// Puts a webhook (path or URL) in a permanent error state: every request answers `error`
    /// until [`SlackFake::repair_webhook`]. Returns false if the webhook is not registered.
    pub fn break_webhook(&self, webhook: &str, error: WebhookError) -> bool {
        let path = strip_base(webhook, &self.base);
        match self.state().webhooks.get_mut(&path) {
            Some(w) => {
                w.broken = Some(error);
                true
            }
            None => false,
        }
    }

    /// Clears a webhook's permanent error state.
    pub fn repair_webhook(&self, webhook: &str) -> bool {
        let path = strip_base(webhook, &self.base);
        match self.state().webhooks.get_mut(&path) {
            Some(w) => {
                w.broken = None;
                true
            }
            None => false,
        }
    }

    /// The next `n` requests matching `target` get `fault` (appended after already scripted ones).
    pub fn fail_next(&self, target: SlackTarget, n: usize, fault: SlackFault) {
        let mut st = self.state();
        let t = st.normalise_target(target, &self.base);
        st.plans.entry(t).or_default().push(n, fault);
    }

    /// Every `k`-th request matching `target` (counted from now; requests answered by a script
    /// count too) gets `fault`; `k == 0` stops it. Replaces an earlier rate for `target`.
    pub fn fail_every(&self, target: SlackTarget, k: u64, fault: SlackFault) {
        let mut st = self.state();
        let t = st.normalise_target(target, &self.base);
        st.plans.entry(t).or_default().every(k, fault);
    }

    /// Scripted faults for `target` not consumed yet.
    pub fn pending_faults(&self, target: SlackTarget) -> usize {
        let st = self.state();
        let t = st.normalise_target(target, &self.base);
        st.plans.get(&t).map_or(0, FaultPlan::pending)
    }

    /// Removes every fault script and rate.
    pub fn clear_faults(&self) {
        self.state().plans.clear();
    }

    /// Enforces Slack's per-channel pace: a message arriving sooner than `interval` after the last
    /// accepted message of the same channel is answered 429. `None` (the default) turns it off.
    pub fn set_channel_min_interval(&self, interval: Option<Duration>) {
        self.state().min_interval = interval;
    }

    /// Every request received, in arrival order.
    pub fn requests(&self) -> Vec<SlackRequest> {
        self.state().requests.clone()
    }

    /// Requests addressed to a destination: a webhook (path or URL), or a channel (name or ID:
    /// Web API requests naming it and requests to the webhooks bound to it).
    pub fn requests_to(&self, destination: &str) -> Vec<SlackRequest> {
        let st = self.state();
        let keys = self.destination_keys(&st, destination);
        st.requests
            .iter()
            .filter(|r| r.destination.as_ref().is_some_and(|d| keys.contains(d)))
            .cloned()
            .collect()
    }

    /// Arrival instants of every request addressed to a destination (accepted or not), to check
    /// a client's pace.
    pub fn arrivals(&self, destination: &str) -> Vec<SystemTime> {
        self.requests_to(destination).iter().map(|r| r.at).collect()
    }

    /// Messages delivered to a destination: through a webhook (path or URL), or into a channel
    /// (name or ID, whatever the route), in posting order.
    pub fn delivered(&self, destination: &str) -> Vec<SlackMessage> {
        let st = self.state();
        let path = strip_base(destination, &self.base);
        if st.webhooks.contains_key(&path) {
            return st
                .messages
                .iter()
                .filter(|m| m.via == Via::Webhook(path.clone()))
                .cloned()
                .collect();
        }
        match st.channel_by_name_or_id(destination) {
            Some(c) => st
                .messages
                .iter()
                .filter(|m| m.channel == c.id)
                .cloned()
                .collect(),
            None => Vec::new(),
        }
    }

    /// Every message of a channel (name or ID): top-level ones and replies, in posting order.
    pub fn messages(&self, channel: &str) -> Vec<SlackMessage> {
        let st = self.state();
        match st.channel_by_name_or_id(channel) {
            Some(c) => st
                .messages
                .iter()
                .filter(|m| m.channel == c.id)
                .cloned()
                .collect(),
            None => Vec::new(),
        }
    }

    /// Top-level messages of a channel (no thread replies).
    pub fn top_level_messages(&self, channel: &str) -> Vec<SlackMessage> {
        self.messages(channel)
            .into_iter()
            .filter(|m| m.thread_ts.is_none())
            .collect()
    }

    /// Replies in the thread of `thread_ts` in a channel.
    pub fn thread_replies(&self, channel: &str, thread_ts: &str) -> Vec<SlackMessage> {
        self.messages(channel)
            .into_iter()
            .filter(|m| m.thread_ts.as_deref() == Some(thread_ts))
            .collect()
    }

    /// One message by channel and `ts`.
    pub fn message(&self, channel: &str, ts: &str) -> Option<SlackMessage> {
        self.messages(channel).into_iter().find(|m| m.ts == ts)
    }

    /// How many times a message was updated (0 if never, or if it does not exist).
    pub fn update_count(&self, channel: &str, ts: &str) -> usize {
        self.message(channel, ts).map_or(0, |m| m.updates.len())
    }

    /// Every accepted message, all channels, in posting order.
    pub fn all_messages(&self) -> Vec<SlackMessage> {
        self.state().messages.clone()
    }

    /// Rejected requests counted by reason (Slack error code, or `http_<status>`).
    pub fn rejections(&self) -> BTreeMap<String, usize> {
        let mut out = BTreeMap::new();
        for r in &self.state().requests {
            if let SlackOutcome::Rejected { reason } = &r.outcome {
                *out.entry(reason.clone()).or_insert(0) += 1;
            }
        }
        out
    }

    /// Rejected requests with this reason.
    pub fn rejected_count(&self, reason: &str) -> usize {
        self.rejections().get(reason).copied().unwrap_or(0)
    }

    fn destination_keys(&self, st: &SlackState, destination: &str) -> Vec<String> {
        let path = strip_base(destination, &self.base);
        let mut keys = vec![path];
        if let Some(c) = st.channel_by_name_or_id(destination) {
            keys.push(c.id.clone());
            // Webhooks bound to the channel are the same destination.
            keys.extend(
                st.webhooks
                    .iter()
                    .filter(|(_, w)| w.channel_id == c.id)
                    .map(|(p, _)| p.clone()),
            );
        } else {
            keys.push(channel_name(destination));
        }
        keys
    }
}

// ---------------------------------------------------------------------------------------------
// Request handling
// ---------------------------------------------------------------------------------------------

struct Incoming {
    at: SystemTime,
    method: String,
    path: String,
    authorization: Option<String>,
    content_type: Option<String>,
    body: Bytes,
    json: Option<Value>,
}

struct Handled {
    route: SlackRoute,
    destination: Option<String>,
    outcome: SlackOutcome,
    reply: Reply,
}

async fn handle(State(shared): State<Arc<Shared>>, req: Request) -> Response {
    let at = shared.clock.now();
    let (parts, body) = req.into_parts();
    let header_str = |name: header::HeaderName| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let authorization = header_str(header::AUTHORIZATION);
    let content_type = header_str(header::CONTENT_TYPE);
    let path = parts.uri.path().to_owned();
    let method = parts.method.as_str().to_owned();
    let body = match axum::body::to_bytes(body, harness::BODY_LIMIT).await {
        Ok(b) => b,
        Err(_) => {
            return Reply::text(413, "request_too_large").into_response();
        }
    };
    let json = serde_json::from_slice::<Value>(&body).ok();
    let incoming = Incoming {
        at,
        method,
        path,
        authorization,
        content_type,
        body,
        json,
    };

    let mut st = lock(&shared.state);
    let handled = if incoming.path.starts_with("/services/") {
        handle_webhook(&mut st, &incoming)
    } else if let Some(api_method) = incoming.path.strip_prefix("/api/") {
        let api_method = api_method.to_owned();
        handle_api(&mut st, &incoming, &api_method)
    } else {
        Handled {
            route: SlackRoute::Other,
            destination: None,
            outcome: SlackOutcome::Rejected {
                reason: "not_found".to_owned(),
            },
            reply: Reply::text(404, "not_found"),
        }
    };
    let seq = st.requests.len();
    st.requests.push(SlackRequest {
        seq,
        at: incoming.at,
        method: incoming.method,
        path: incoming.path,
        route: handled.route,
        destination: handled.destination,
        authorization: incoming.authorization,
        content_type: incoming.content_type,
        body: incoming.body,
        json: incoming.json,
        outcome: handled.outcome,
        response: handled.reply.record(),
    });
    drop(st);
    handled.reply.into_response()
}

fn rejected(reason: &str) -> SlackOutcome {
    SlackOutcome::Rejected {
        reason: reason.to_owned(),
    }
}

/// `text`, `blocks`, `attachments` of a payload, empty values treated as absent.
fn content_of(obj: &Map<String, Value>) -> (Option<String>, Option<Value>, Option<Value>) {
    let text = obj
        .get("text")
        .and_then(Value::as_str)
        .filter(|t| !t.trim().is_empty())
        .map(str::to_owned);
    let non_empty = |key: &str| {
        obj.get(key)
            .filter(|v| !v.is_null() && v.as_array().is_none_or(|a| !a.is_empty()))
            .cloned()
    };
    (text, non_empty("blocks"), non_empty("attachments"))
}

/// Slack's Block Kit limit: `blocks` must be an array of at most 50 objects.
fn blocks_valid(blocks: &Option<Value>) -> bool {
    match blocks {
        None => true,
        Some(Value::Array(a)) => a.len() <= 50 && a.iter().all(Value::is_object),
        Some(_) => false,
    }
}

fn webhook_fault_reply(fault: &SlackFault) -> (Reply, String) {
    match fault {
        SlackFault::RateLimited { retry_after_secs } => (
            Reply::json(
                429,
                &json!({"retry_after": retry_after_secs, "ok": false, "error": "rate_limited"}),
            )
            .with_header("retry-after", retry_after_secs.to_string()),
            "rate_limited".to_owned(),
        ),
        SlackFault::ServerError { status } => (
            Reply::text(*status, server_error_body(*status)),
            format!("http_{status}"),
        ),
        SlackFault::Webhook(e) => (Reply::text(e.status(), e.code()), e.code().to_owned()),
        SlackFault::Api(code) => (Reply::text(400, code.clone()), code.clone()),
    }
}

fn api_fault_reply(fault: &SlackFault) -> (Reply, String) {
    match fault {
        SlackFault::RateLimited { retry_after_secs } => (
            Reply::json(429, &json!({"ok": false, "error": "ratelimited"}))
                .with_header("retry-after", retry_after_secs.to_string()),
            "ratelimited".to_owned(),
        ),
        SlackFault::ServerError { status } => (
            Reply::text(*status, server_error_body(*status)),
            format!("http_{status}"),
        ),
        SlackFault::Webhook(e) => (api_error(e.code()), e.code().to_owned()),
        SlackFault::Api(code) => (api_error(code), code.clone()),
    }
}

fn server_error_body(status: u16) -> &'static str {
    match status {
        502 => "bad_gateway",
        503 => "service_unavailable",
        504 => "gateway_timeout",
        _ => "internal_error",
    }
}

fn api_error(code: &str) -> Reply {
    Reply::json(200, &json!({"ok": false, "error": code}))
}

fn handle_webhook(st: &mut SlackState, req: &Incoming) -> Handled {
    let path = req.path.clone();
    let route = SlackRoute::Webhook(path.clone());
    let destination = Some(path.clone());
    let reject = |reply: Reply, reason: &str| Handled {
        route: route.clone(),
        destination: destination.clone(),
        outcome: rejected(reason),
        reply,
    };
    if req.method != "POST" {
        return reject(Reply::text(405, "invalid_method"), "invalid_method");
    }
    let Some(hook) = st.webhooks.get(&path).cloned() else {
        return reject(Reply::text(404, "no_service"), "no_service");
    };
    if let Some(fault) = st.consult(&[SlackTarget::Webhook(path.clone()), SlackTarget::AllWebhooks])
    {
        let (reply, reason) = webhook_fault_reply(&fault);
        return reject(reply, &reason);
    }
    if let Some(e) = hook.broken {
        return reject(Reply::text(e.status(), e.code()), e.code());
    }
    let Some(Value::Object(obj)) = &req.json else {
        return reject(Reply::text(400, "invalid_payload"), "invalid_payload");
    };
    let (text, blocks, attachments) = content_of(obj);
    if !blocks_valid(&blocks) {
        return reject(Reply::text(400, "invalid_blocks"), "invalid_blocks");
    }
    if text.is_none() && blocks.is_none() && attachments.is_none() {
        return reject(Reply::text(400, "no_text"), "no_text");
    }
    if let Some(secs) = st.channel_rate_limited(&hook.channel_id, req.at) {
        let (reply, reason) = webhook_fault_reply(&SlackFault::rate_limited(secs));
        return reject(reply, &reason);
    }
    let channel_name = st
        .channels
        .iter()
        .find(|c| c.id == hook.channel_id)
        .map(|c| c.name.clone())
        .unwrap_or_default();
    let ts = st.next_ts();
    st.last_accepted.insert(hook.channel_id.clone(), req.at);
    st.messages.push(SlackMessage {
        channel: hook.channel_id.clone(),
        channel_name,
        ts: ts.clone(),
        thread_ts: None,
        text,
        blocks,
        attachments,
        payload: Value::Object(obj.clone()),
        via: Via::Webhook(path.clone()),
        posted_at: req.at,
        updates: Vec::new(),
    });
    Handled {
        route,
        destination,
        outcome: SlackOutcome::Delivered {
            channel: hook.channel_id,
            ts,
        },
        reply: Reply::text(200, "ok"),
    }
}

fn message_json(m: &SlackMessage) -> Value {
    let mut msg = json!({
        "type": "message",
        "user": "U0FAKEBOT1",
        "bot_id": "B0FAKEBOT1",
        "team": "T00000000",
        "ts": m.ts,
        "text": m.text.clone().unwrap_or_default(),
    });
    if let Value::Object(o) = &mut msg {
        if let Some(t) = &m.thread_ts {
            o.insert("thread_ts".to_owned(), json!(t));
        }
        if let Some(b) = &m.blocks {
            o.insert("blocks".to_owned(), b.clone());
        }
        if let Some(a) = &m.attachments {
            o.insert("attachments".to_owned(), a.clone());
        }
        if !m.updates.is_empty() {
            o.insert(
                "edited".to_owned(),
                json!({"user": "U0FAKEBOT1", "ts": m.ts}),
            );
        }
    }
    msg
}

fn handle_api(st: &mut SlackState, req: &Incoming, api_method: &str) -> Handled {
    let route = match api_method {
        "chat.postMessage" => SlackRoute::PostMessage,
        "chat.update" => SlackRoute::Update,
        _ => SlackRoute::Other,
    };
    let obj = match &req.json {
        Some(Value::Object(o)) => Some(o),
        _ => None,
    };
    let raw_channel = obj
        .and_then(|o| o.get("channel"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let destination = raw_channel.as_deref().map(|c| {
        st.channel_by_name_or_id(c)
            .map_or_else(|| channel_name(c), |ch| ch.id.clone())
    });
    let reject = |reply: Reply, reason: &str| Handled {
        route: route.clone(),
        destination: destination.clone(),
        outcome: rejected(reason),
        reply,
    };

    let mut targets = Vec::new();
    if let Some(d) = &destination {
        targets.push(SlackTarget::Channel(d.clone()));
        // A plan set by name before the channel was registered.
        if let Some(c) = st.channels.iter().find(|c| c.id == *d) {
            targets.push(SlackTarget::Channel(c.name.clone()));
        }
    }
    targets.push(SlackTarget::Method(api_method.to_owned()));
    targets.push(SlackTarget::AllApi);
    if let Some(fault) = st.consult(&targets) {
        let (reply, reason) = api_fault_reply(&fault);
        return reject(reply, &reason);
    }

    if route == SlackRoute::Other {
        return reject(api_error("unknown_method"), "unknown_method");
    }
    let Some(token) = req
        .authorization
        .as_deref()
        .and_then(|a| a.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
    else {
        return reject(api_error("not_authed"), "not_authed");
    };
    if !st.tokens.iter().any(|t| t == token) {
        return reject(api_error("invalid_auth"), "invalid_auth");
    }
    let is_json = req.content_type.as_deref().is_some_and(|ct| {
        ct.trim_start()
            .to_ascii_lowercase()
            .starts_with("application/json")
    });
    if !is_json {
        return reject(api_error("invalid_form_data"), "invalid_form_data");
    }
    let Some(value) = &req.json else {
        return reject(api_error("invalid_json"), "invalid_json");
    };
    let Value::Object(obj) = value else {
        return reject(api_error("json_not_object"), "json_not_object");
    };

    let (text, blocks, attachments) = content_of(obj);
    let check_content = || -> Option<&'static str> {
        if !blocks_valid(&blocks) {
            return Some("invalid_blocks");
        }
        if text.is_none() && blocks.is_none() && attachments.is_none() {
            return Some("no_text");
        }
        if text.as_ref().is_some_and(|t| t.chars().count() > 40_000) {
            return Some("msg_too_long");
        }
        None
    };

    if route == SlackRoute::PostMessage {
        let Some(channel) = raw_channel
            .as_deref()
            .and_then(|c| st.channel_by_name_or_id(c))
            .cloned()
        else {
            return reject(api_error("channel_not_found"), "channel_not_found");
        };
        if let Some(code) = check_content() {
            return reject(api_error(code), code);
        }
        let thread_ts = match obj.get("thread_ts") {
            None | Some(Value::Null) => None,
            Some(v) => {
                let wanted = match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                if wanted.is_empty() {
                    None
                } else {
                    match st
                        .messages
                        .iter()
                        .find(|m| m.channel == channel.id && m.ts == wanted)
                    {
                        // A reply to a reply lands in the parent's thread.
                        Some(parent) => Some(parent.thread_ts.clone().unwrap_or(wanted)),
                        None => {
                            return reject(api_error("thread_not_found"), "thread_not_found");
                        }
                    }
                }
            }
        };
        if let Some(secs) = st.channel_rate_limited(&channel.id, req.at) {
            let (reply, reason) = api_fault_reply(&SlackFault::rate_limited(secs));
            return reject(reply, &reason);
        }
        let ts = st.next_ts();
        st.last_accepted.insert(channel.id.clone(), req.at);
        let message = SlackMessage {
            channel: channel.id.clone(),
            channel_name: channel.name.clone(),
            ts: ts.clone(),
            thread_ts,
            text,
            blocks,
            attachments,
            payload: value.clone(),
            via: Via::WebApi,
            posted_at: req.at,
            updates: Vec::new(),
        };
        let body = json!({
            "ok": true,
            "channel": channel.id,
            "ts": ts,
            "message": message_json(&message),
        });
        st.messages.push(message);
        return Handled {
            route,
            destination: Some(channel.id.clone()),
            outcome: SlackOutcome::Delivered {
                channel: channel.id,
                ts,
            },
            reply: Reply::json(200, &body),
        };
    }

    // chat.update: the channel must be given by ID.
    let Some(channel_id) = raw_channel
        .as_deref()
        .filter(|c| st.channels.iter().any(|ch| ch.id == *c))
        .map(str::to_owned)
    else {
        return reject(api_error("channel_not_found"), "channel_not_found");
    };
    let Some(ts) = obj
        .get("ts")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
    else {
        return reject(api_error("message_not_found"), "message_not_found");
    };
    let Some(index) = st
        .messages
        .iter()
        .position(|m| m.channel == channel_id && m.ts == ts)
    else {
        return reject(api_error("message_not_found"), "message_not_found");
    };
    if let Some(code) = check_content() {
        return reject(api_error(code), code);
    }
    // As Slack documents for chat.update: a field left out keeps its previous value; an empty
    // `blocks` / `attachments` array removes them.
    let message = &mut st.messages[index];
    if obj.contains_key("text") {
        message.text = text;
    }
    if obj.contains_key("blocks") {
        message.blocks = blocks;
    }
    if obj.contains_key("attachments") {
        message.attachments = attachments;
    }
    message.updates.push(MessageUpdate {
        at: req.at,
        text: message.text.clone(),
        blocks: message.blocks.clone(),
        attachments: message.attachments.clone(),
        payload: value.clone(),
    });
    let text = message.text.clone();
    let body = json!({
        "ok": true,
        "channel": channel_id,
        "ts": ts,
        "text": text.unwrap_or_default(),
        "message": message_json(message),
    });
    Handled {
        route,
        destination: Some(channel_id.clone()),
        outcome: SlackOutcome::Updated {
            channel: channel_id,
            ts,
        },
        reply: Reply::json(200, &body),
    }
}
