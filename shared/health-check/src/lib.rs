//! The `health-check` function's application: the probing port [`Prober`] and what runs around
//! it ([`run_check`]: SSM references resolved, every request bounded by its check's timeout,
//! resolved values redacted), the handler of one scheduled invocation
//! ([`HealthCheckHandler`]), and the configuration from the environment
//! ([`HealthCheckConfig`]).
//!
//! The decisions (what to probe, the verdict, incidents and their alerts) are in the pure
//! `fleetwatch-health` crate; the prober over reqwest and tokio is `fleetwatch-probe`; state,
//! queue and secrets are the shared ports of `fleetwatch-ports`, on DynamoDB, SQS and SSM in
//! the function (`fleetwatch-aws`).
//!
//! Metrics (CloudWatch EMF, namespace [`NAMESPACE`]): per check (dimension `Check`) `Up` (0 or
//! 1), `Latency` (ms) and `CertificateDaysLeft`; per run `ChecksRun`, `ChecksFailing`,
//! `ChecksDeferred`, `CheckErrors`, `AlertsPublished`.

mod config;
mod handler;
mod prober;

pub use config::{
    ALERTS_QUEUE_URL, CONCURRENCY, CONFIG_FILE, CONFIG_PARAMETER, ConfigSource, HealthCheckConfig,
    SCHEDULE_PERIOD, STATE_TABLE, WiringError, load_checks, read_source,
};
pub use handler::{
    Adapters, CheckError, HandlerError, HealthCheckHandler, NAMESPACE, RunSummary, Settings,
    check_metrics, scheduled_time, state_key,
};
pub use prober::{
    BACKSTOP_GRACE, HttpCall, Prober, ResolvedSecrets, SecretFailure, failed_observation, observe,
    resolve_secrets, run_check, strip_query,
};
