//! The AWS adapters: the only crate of the workspace that links the AWS SDK. Each adapter
//! implements a port owned by the crate that needs it, and the functions wire them:
//!
//! | adapter | port | owner |
//! |---|---|---|
//! | [`S3Objects`] (streaming GET) | `ObjectSource` | `fleetwatch-alb-logs` |
//! | [`S3Store`] (streaming PUT) | `OutputStore` | `fleetwatch-alb-logs` |
//! | [`SqsQueue`] (batched) | `MessageQueue` | `fleetwatch-ports` |
//! | [`SsmSecrets`] (cached, decrypted) | `SecretSource` | `fleetwatch-ports` |
//! | [`DynamoStateStore`] (conditional writes, TTL) | `StateStore` | `fleetwatch-ports` |
//! | [`EcsApiLookups`] (ECS, CloudWatch Logs) | `EcsLookups` | `fleetwatch-ecs-events` |
//! | [`EcsAutoScalingCluster`] (ECS, Auto Scaling) | `ClusterApi` | `fleetwatch-capacity` |
//!
//! [`AwsClients`] builds every SDK client from one configuration; [`fault`] turns an SDK failure
//! into a transient or permanent `Fault` that keeps its cause; [`diagnostic`] is what Lambda
//! reports for a failed invocation (the whole cause chain).

mod capacity;
mod clients;
mod dynamodb;
mod ecs;
mod error;
mod lambda;
mod s3;
mod sqs;
mod ssm;

pub use capacity::EcsAutoScalingCluster;
pub use clients::AwsClients;
pub use dynamodb::DynamoStateStore;
pub use ecs::EcsApiLookups;
pub use error::{ServiceError, fault, is_transient};
pub use lambda::{diagnostic, invocation_deadline};
pub use s3::{S3Objects, S3Store};
pub use sqs::SqsQueue;
pub use ssm::SsmSecrets;

/// The state table's attribute names (see `template.yaml`).
pub mod state_table {
    pub use crate::dynamodb::{KEY_ATTRIBUTE, TTL_ATTRIBUTE, VALUE_ATTRIBUTE};
}
