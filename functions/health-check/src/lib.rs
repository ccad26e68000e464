//! The health-check function's wiring: the checks configuration and the secrets it names from
//! SSM, the state table, the alerts queue and the network prober plugged into the handler.
//! `main` and the integration suite both use it.

use std::time::Duration;

use fleetwatch_aws::{AwsClients, DynamoStateStore, SqsQueue, SsmSecrets};
use fleetwatch_health_check::{Adapters, HealthCheckConfig, HealthCheckHandler, WiringError};
use fleetwatch_ports::{MetricsSink, SharedClock};
use fleetwatch_probe::NetProber;

pub type HealthCheck = HealthCheckHandler<NetProber, DynamoStateStore, SqsQueue, SsmSecrets>;

/// SSM values (the checks configuration, header secrets, Jenkins tokens) are cached this long:
/// a changed configuration or a rotated token is used within it.
pub const SSM_CACHE: Duration = Duration::from_secs(300);

/// Time kept back from the Lambda deadline to save state and answer.
const ANSWER_MARGIN: Duration = Duration::from_secs(2);

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error(transparent)]
    Wiring(#[from] WiringError),
    #[error("building the prober")]
    Prober(#[from] fleetwatch_probe::BuildError),
}

/// The handler as the function runs it; reads and validates the checks (a mistake fails the
/// cold start with its line).
pub async fn build_handler(
    config: &HealthCheckConfig,
    aws: &AwsClients,
    metrics: MetricsSink,
    clock: SharedClock,
) -> Result<HealthCheck, BuildError> {
    let adapters = Adapters {
        prober: NetProber::new()?,
        state: DynamoStateStore::new(aws.dynamodb(), &config.state_table, clock.clone()),
        alerts: SqsQueue::new(aws.sqs(), &config.alerts_queue_url),
        secrets: SsmSecrets::new(aws.ssm(), SSM_CACHE, clock.clone()),
    };
    Ok(HealthCheckHandler::new(
        adapters,
        config.source.clone(),
        config.settings(),
        metrics,
        clock,
    )
    .await?)
}

/// The function: configuration from the environment, the handler, Lambda's runtime loop.
pub async fn run() -> Result<(), lambda_runtime::Error> {
    let config = HealthCheckConfig::from_lookup(|name| std::env::var(name).ok())?;
    let aws = AwsClients::from_env().await;
    let clock = fleetwatch_ports::SystemClock::shared();
    let handler = build_handler(&config, &aws, MetricsSink::stdout(clock.clone()), clock).await?;
    lambda_runtime::run(lambda_runtime::service_fn(
        |event: lambda_runtime::LambdaEvent<serde_json::Value>| {
            let handler = &handler;
            async move {
                let deadline = fleetwatch_aws::invocation_deadline(
                    event.context.deadline,
                    std::time::SystemTime::now(),
                ) - ANSWER_MARGIN;
                handler
                    .handle(event.payload, deadline)
                    .await
                    .map_err(fleetwatch_aws::diagnostic)
            }
        },
    ))
    .await
}
