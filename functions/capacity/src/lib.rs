//! The capacity function's wiring: the state table, the alerts queue and the ECS / Auto Scaling
//! cluster adapter plugged into the handler. `main` and the integration suite both use it.

use fleetwatch_aws::{AwsClients, DynamoStateStore, EcsAutoScalingCluster, SqsQueue};
use fleetwatch_capacity::{CapacityConfig, CapacityHandler};
use fleetwatch_ports::{MetricsSink, SharedClock};

pub type Capacity = CapacityHandler<EcsAutoScalingCluster, DynamoStateStore, SqsQueue>;

pub fn build_handler(
    config: &CapacityConfig,
    aws: &AwsClients,
    metrics: MetricsSink,
    clock: SharedClock,
) -> Capacity {
    CapacityHandler::new(
        EcsAutoScalingCluster::from_clients(aws, config),
        DynamoStateStore::new(aws.dynamodb(), &config.state_table, clock.clone()),
        SqsQueue::new(aws.sqs(), &config.alerts_queue_url),
        config.clone(),
        metrics,
        clock,
    )
}

/// The function: configuration from the environment, the handler, Lambda's runtime loop.
pub async fn run() -> Result<(), lambda_runtime::Error> {
    let config = CapacityConfig::from_lookup(|name| std::env::var(name).ok())?;
    let aws = AwsClients::from_env().await;
    let clock = fleetwatch_ports::SystemClock::shared();
    let handler = build_handler(&config, &aws, MetricsSink::stdout(clock.clone()), clock);
    lambda_runtime::run(lambda_runtime::service_fn(
        |event: lambda_runtime::LambdaEvent<serde_json::Value>| {
            let handler = &handler;
            async move {
                handler
                    .handle(event.payload)
                    .await
                    .map_err(fleetwatch_aws::diagnostic)
            }
        },
    ))
    .await
}
