//! The alb-logs job, shared by the Lambda function and the `fleetwatch` CLI:
//! S3 object -> multi-member gunzip -> lines -> parse -> encode -> sinks, with per-object
//! statistics and threshold alerts folded from the same pass.

pub mod config;
pub mod handler;
pub mod ids;
pub mod inflate;
pub mod keys;
pub mod lines;
pub mod metrics;
pub mod object;
pub mod outputs;
mod parquet;
pub mod pass;
pub mod sinks;
pub mod stats;
pub mod store;
pub mod thresholds;
pub mod wiring;
