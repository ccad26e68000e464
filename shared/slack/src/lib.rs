//! Posting to Slack.
//!
//! [`SlackClient`] speaks both delivery modes (incoming webhook, bot token + Web API) and turns
//! every answer into a [`SlackError`] that says what to do next: wait and retry
//! ([`SlackError::RateLimited`]), retry with backoff ([`SlackError::Transient`]), or give up and
//! dead-letter with the reason ([`SlackError::Permanent`]). Webhook URLs and tokens are
//! [`Secret`]s: they never appear in an error.
//!
//! [`Pacer`] is the pure per-destination rate limiter (about one message per second per channel,
//! as Slack asks, with a small burst).

mod client;
mod pacer;

pub use client::{PostedMessage, SlackClient, SlackError};
pub use fleetwatch_aws::ssm::Secret;
pub use pacer::Pacer;
