//! Delivering routed alerts to Slack.
//!
//! [`Engine::deliver`] takes the deliveries routing decided (alert x destination), and for each
//! one records exactly one fate in the state table: sent, already sent (a redelivery), dropped
//! as a duplicate within its dedup window, dead-lettered with the reason, or handed back to the
//! queue (rate limit beyond the invocation's time, Slack unavailable). See [`engine`] for the
//! protocol and [`records`] for what is stored.

pub mod engine;
pub mod handler;
pub mod intake;
pub mod records;
pub mod wiring;

pub use engine::{Delivery, Destination, Engine, Outcome, Settings, Target, WorkItem};
