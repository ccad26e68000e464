//! The `capacity` function's application: the handler ([`CapacityHandler`]: terminate hooks,
//! plan, execute, record, alert, metrics), the cluster port [`ClusterApi`] with an in-memory
//! adapter ([`MemoryCluster`]), the lifecycle-hook records in the state table ([`records`]),
//! the invocation's trigger ([`trigger`]) and the configuration from the environment.
//!
//! The decisions are the pure `fleetwatch-scaling` crate's (planner and drain state machine);
//! the AWS adapter of the port is `fleetwatch-aws`'s `EcsAutoScalingCluster`.

mod alerts;
mod cluster;
mod config;
mod handler;
pub mod records;
pub mod trigger;

#[cfg(test)]
mod tests;

pub use cluster::{ClusterApi, ClusterError, ClusterView, Done, MemoryCluster, action_kind};
pub use config::{
    ASG, CLUSTER, CapacityConfig, DEFAULT_HEARTBEAT_TIMEOUT_S, DEFAULT_HOOK_NAME,
    DISRUPTION_BUDGET, HEARTBEAT_MARGIN, HEARTBEAT_TIMEOUT, HOOK_NAME, INSTANCE_TYPES,
    MAX_HOOK_HOLD, MAX_SCALE_IN_STEP, MAX_SCALE_OUT_STEP, MODE, SCALE_IN_DELAY, SPARE_INSTANCES,
    WiringError, parse_instance_types,
};
pub use handler::{CapacityHandler, HandlerError, NAMESPACE, Outcome, Report, describe};
pub use trigger::Trigger;
