//! Capacity for ECS on EC2 Auto Scaling groups, as pure functions over plain data: the planner
//! ([`plan`]), the lifecycle-hook drain state machine ([`hooks`]), and a simulator ([`sim`]) that
//! runs scenarios under the planner or under a model of ECS managed scaling, with an SVG chart
//! ([`svg::plot`]) of both.
//!
//! No I/O, no clock, no environment: the time is an argument (`now`, epoch seconds), snapshots
//! come from the caller's adapters, and actions go back to them in order.
//!
//! ```
//! use fleetwatch_scaling::{Config, plan, Snapshot};
//!
//! let snapshot: Snapshot = serde_json::from_str(r#"{
//!   "cluster": "prod",
//!   "instances": [],
//!   "pending_tasks": [{"id": "t1", "service": "web", "resources": {"cpu": 512, "memory": 1024}, "since": 0}],
//!   "asg": {"name": "prod-asg", "min": 0, "max": 10, "desired": 0, "azs": ["a"],
//!           "instance_types": [{"name": "m6g.large", "resources": {"cpu": 2048, "memory": 7680}}]}
//! }"#).unwrap();
//! let plan = plan(&snapshot, &Config::default(), 60);
//! assert_eq!(plan.desired(), Some(1));
//! ```

#![forbid(unsafe_code)]

mod action;
mod alerts;
mod binpack;
pub mod hooks;
mod model;
mod plan;
pub mod sim;
pub mod svg;

pub use action::{Action, HookResult, Plan, Step};
pub use alerts::rfc3339;
pub use hooks::{CompleteReason, HookRecord, HookState, HookUpdate, TerminateEvent};
pub use model::{
    Asg, CapacityProvider, Config, ContainerInstance, InFlight, InstanceStatus, InstanceType, Mode,
    PendingTask, Placement, Resources, Service, Snapshot, Task, TaskStatus,
};
pub use plan::{MANAGED_DRAINING_HOOK, plan};
pub use sim::{CasOptions, Policy, Report, Scenario, ScenarioError, simulate};
pub use svg::plot;
