//! The ecs-events function's wiring: the state table, the queues and the ECS / CloudWatch Logs
//! lookups plugged into the handler. `main` and the integration suite both use it.

use fleetwatch_aws::{AwsClients, DynamoStateStore, EcsApiLookups, SqsQueue};
use fleetwatch_ecs_events::{EcsEventsConfig, EcsEventsHandler};
use fleetwatch_ports::{MetricsSink, SharedClock};

pub type EcsEvents = EcsEventsHandler<DynamoStateStore, SqsQueue, SqsQueue, EcsApiLookups>;

pub fn build_handler(
    config: &EcsEventsConfig,
    aws: &AwsClients,
    metrics: MetricsSink,
    clock: SharedClock,
) -> EcsEvents {
    EcsEventsHandler::new(
        DynamoStateStore::new(aws.dynamodb(), &config.state_table, clock.clone()),
        SqsQueue::new(aws.sqs(), &config.alerts_queue_url),
        SqsQueue::new(aws.sqs(), &config.events_dlq_url),
        config.enrich.then(|| EcsApiLookups::from_clients(aws)),
        config.settings(),
        metrics,
        clock,
    )
}

/// The function: configuration from the environment, the handler, Lambda's runtime loop.
pub async fn run() -> Result<(), lambda_runtime::Error> {
    let config = EcsEventsConfig::from_lookup(|name| std::env::var(name).ok())?;
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
