//! The I/O every fleetwatch function shares, as narrow traits (ports), each with an in-memory
//! adapter for tests and the CLI. The AWS adapters live in `fleetwatch-aws`; the functions wire
//! them. Ports that only one function needs (its object source, its ECS lookups, its Slack
//! transport) belong to that function's crate instead.
//!
//! | port | in-memory adapter | AWS adapter (`fleetwatch-aws`) |
//! |---|---|---|
//! | [`StateStore`] | [`MemoryStateStore`] | DynamoDB, conditional writes, TTL |
//! | [`MessageQueue`] | [`MemoryQueue`] | SQS, batched sends |
//! | [`SecretSource`] | [`StaticSecrets`] | SSM Parameter Store, cached |
//! | [`Clock`] | [`ManualClock`] | [`SystemClock`] (tokio timers) |
//! | [`MetricsSink`] | [`MetricsSink::memory`] | [`MetricsSink::stdout`] (CloudWatch EMF) |
//!
//! Failures of an outside service carry a [`Fault`]: transient (a retry may succeed) or permanent,
//! with the underlying error as its source, so the whole cause chain reaches a log line
//! ([`ErrorChain`]) and the retry decision is made once, by the adapter that saw the failure.

mod clock;
pub mod env;
mod fault;
mod metrics;
mod queue;
mod secrets;
mod state;

pub use clock::{Clock, ManualClock, SharedClock, SystemClock, epoch_millis, epoch_seconds};
pub use env::{Env, EnvError};
pub use fault::{BoxError, ErrorChain, Fault, FaultKind};
pub use metrics::{MetricLines, MetricSet, MetricsSink, Unit};
pub use queue::{MAX_MESSAGE_BYTES, MemoryQueue, MessageQueue, QueueError, Rejected};
pub use secrets::{Secret, SecretError, SecretSource, StaticSecrets};
pub use state::{MemoryStateStore, StateError, StateItem, StateStore};
