//! AWS adapters shared by every fleetwatch function.
//!
//! One place builds SDK clients ([`clients`]); the other modules are narrow ports (traits) with an
//! AWS adapter and a local one, so domain code never sees an SDK type:
//!
//! | port | AWS adapter | local adapter |
//! |---|---|---|
//! | [`s3::ObjectSource`] | [`s3::S3ObjectSource`] (streaming GET) | [`s3::LocalObjectSource`] (files) |
//! | [`ssm::SecretSource`] | [`ssm::SsmSecrets`] (cached, decrypted) | [`ssm::StaticSecrets`] |
//! | [`state::StateStore`] | [`state::DynamoStateStore`] (conditional writes, TTL) | [`state::MemoryStateStore`] |
//! | [`sqs::MessageQueue`] | [`sqs::SqsQueue`] | [`sqs::MemoryQueue`] |
//!
//! [`envelope`] decodes the event shapes an S3 notification arrives in, [`emf`] writes CloudWatch
//! metrics as Embedded Metric Format log lines. Both are pure.

pub mod clients;
pub mod emf;
pub mod env;
pub mod envelope;
pub mod s3;
pub mod sdk_error;
pub mod sqs;
pub mod ssm;
pub mod state;

pub use clients::AwsClients;
