//! ecs-events: ECS deployment, service and task events and Auto Scaling failures from
//! EventBridge, as alerts on the alerts queue. Configuration: `fleetwatch_ecs_events::EcsEventsConfig`.

use ecs_events::build_handler;
use fleetwatch_aws::AwsClients;
use fleetwatch_ecs_events::EcsEventsConfig;
use fleetwatch_ports::{MetricsSink, SystemClock};
use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let config = EcsEventsConfig::from_lookup(|name| std::env::var(name).ok())?;
    let aws = AwsClients::from_env().await;
    let clock = SystemClock::shared();
    let handler = build_handler(&config, &aws, MetricsSink::stdout(clock.clone()), clock);
    run(service_fn(|event: LambdaEvent<Value>| {
        let handler = &handler;
        async move {
            handler
                .handle(event.payload)
                .await
                .map_err(fleetwatch_aws::diagnostic)
        }
    }))
    .await
}
