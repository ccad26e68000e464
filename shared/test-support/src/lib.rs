//! Test-only infrastructure.
//!
//! - [`moto`]: moto in server mode (the real S3/SQS/SNS/SSM/DynamoDB API, from the project's
//!   `.venv`) on a free loopback port, killed when dropped or when the test process dies.
//! - [`lambda`]: `cargo lambda watch`, the Lambda runtime API emulator, running the functions.
//! - [`slack`] and [`bulk`]: protocol-faithful fakes of Slack and of OpenSearch/Elasticsearch
//!   `_bulk`, used because neither service can run here. Both record what they received and can be
//!   told to inject faults.
//! - [`aws_json`]: recorded answers of AWS JSON-protocol services (ECS, CloudWatch Logs) for the
//!   calls moto cannot answer in a shape aws-sdk-rust reads.

pub mod aws_json;
pub mod bulk;
pub mod lambda;
pub mod moto;
pub mod slack;
pub mod sqs;
