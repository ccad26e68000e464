//! Environment variables every function reads under the same name: `template.yaml` sets them
//! once, in `Globals`, for all functions. Only names: the functions read the environment.

/// The DynamoDB state table (idempotency records, threads, dedup keys).
pub const STATE_TABLE: &str = "FLEETWATCH_STATE_TABLE";
/// The queue every alert producer sends `Alert` JSON to (slack-fanout consumes it).
pub const ALERTS_QUEUE_URL: &str = "FLEETWATCH_ALERTS_QUEUE_URL";
