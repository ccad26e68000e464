//! The pure core of the `ecs-events` function: ECS and Auto Scaling EventBridge events in,
//! [`Alert`](fleetwatch_alerts::Alert)s or deliberate drops out. No I/O, no clock, no
//! environment: the function fetches [`Enrichment`] and keeps [`dedup_key`]s in the state table.
//!
//! ```
//! use fleetwatch_ecs::{Classified, NoisePolicy, classify};
//!
//! let event = r#"{"detail-type": "ECS Service Action", "source": "aws.ecs", "region": "eu-west-1",
//!   "resources": ["arn:aws:ecs:eu-west-1:1:service/prod/api"],
//!   "detail": {"eventType": "ERROR", "eventName": "SERVICE_TASK_PLACEMENT_FAILURE",
//!              "clusterArn": "arn:aws:ecs:eu-west-1:1:cluster/prod", "reason": "RESOURCE:MEMORY"}}"#;
//! let Classified::Alerts(alerts) = classify(event, &NoisePolicy::default()).unwrap() else {
//!     panic!("expected an alert")
//! };
//! assert_eq!(alerts[0].title, "Tasks of api cannot be placed: not enough memory");
//! ```

mod classify;
mod enrich;
mod event;
mod lookup;
mod noise;
mod patterns;
mod recognise;

pub use classify::{Classified, classify, classify_event, dedup_key, placement_resource};
pub use enrich::{Enrichment, MAX_LOG_LINES, enrich};
pub use event::{Detail, EcsEvent, Envelope, StopCode};
pub use lookup::{
    AwsLogs, ContainerDefinition, DeploymentSnapshot, LogTarget, LookupAnswers, LookupPlan,
    ServiceSnapshot, TaskDefinitionSnapshot, assemble, log_target, lookup_plan,
    task_definitions_to_describe,
};
pub use noise::{Dropped, NoisePolicy, NoiseRule};
pub use patterns::rule_patterns;
pub use recognise::{EcsRecogniser, is_ecs_event};

/// Why an event could not be read. Poison input: the function logs, counts and acknowledges it.
#[derive(Debug, thiserror::Error)]
pub enum EcsError {
    #[error("event is not valid JSON: {0}")]
    InvalidJson(#[source] serde_json::Error),
    #[error("JSON is not an EventBridge event (no detail-type)")]
    NotAnEvent,
    #[error("detail of {detail_type:?} has an unexpected shape: {source}")]
    InvalidDetail {
        detail_type: String,
        #[source]
        source: serde_json::Error,
    },
}
