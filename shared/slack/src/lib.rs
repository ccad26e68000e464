//! Slack over HTTPS (incoming webhooks, `chat.postMessage`, `chat.update`): the adapter of the
//! fan-out engine's `SlackTransport` port. Errors never carry a webhook URL or a token.

mod client;

pub use client::SlackClient;
/// Building the HTTP client failed (TLS backend).
pub use reqwest::Error;
