//! The slack-fanout function's application: routed alerts delivered to Slack.
//!
//! [`Engine::deliver`] takes the deliveries routing decided (alert x destination), and for each
//! one records exactly one fate in the state table: sent, already sent (a redelivery), dropped
//! as a duplicate within its dedup window, dead-lettered with the reason, or handed back to the
//! queue (rate limit beyond the invocation's time, Slack unavailable). [`FanoutHandler`] turns
//! an SQS batch into that work; [`Receiver`] is Alertmanager's webhook (its own function).
//!
//! No AWS SDK and no HTTP client here: the engine posts through its [`SlackTransport`] port
//! (`fleetwatch-slack` is the HTTPS adapter), keeps records through the shared `StateStore` and
//! parks through a `MessageQueue`; time (pacing, `Retry-After`, deadlines, TTLs) comes from an
//! injected clock.

mod config;
mod engine;
mod handler;
mod intake;
mod pacer;
mod receiver;
mod receiver_token;
mod records;
mod transport;

pub use config::{
    DEAD_LETTER_QUEUE_URL, DIGEST_THRESHOLD, FanoutConfig, MAX_BODY_BYTES, MAX_RECEIVES,
    ROUTING_FILE, ROUTING_PARAMETER, ReceiverConfig, RoutingSource, SLACK_API_BASE,
    WEBHOOK_TOKEN_PARAMETER, WiringError, load_routing, resolve_target,
};
pub use engine::{
    Delivery, Destination, DestinationOutcome, Engine, Outcome, Settings, Target, WorkItem,
};
pub use handler::{FanoutError, FanoutHandler, NAMESPACE};
pub use intake::{Planned, plan_message};
pub use pacer::Pace;
pub use receiver::{DEFAULT_MAX_BODY_BYTES, NOTIFICATION_FIELD, Receiver};
pub use receiver_token::ReceiverToken;
pub use records::{DeliveryState, delivery_key};
pub use transport::{MemorySlack, PostedMessage, Recorded, Scripted, SlackError, SlackTransport};
