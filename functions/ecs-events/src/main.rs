//! ecs-events: ECS deployment, service and task events and Auto Scaling failures from
//! EventBridge, as alerts on the alerts queue. Configuration: see `fleetwatch_ecs_events::wiring`.

use fleetwatch_aws::AwsClients;
use fleetwatch_aws::emf::MetricsSink;
use fleetwatch_ecs_events::wiring::{EcsEventsConfig, build_handler};
use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let config = EcsEventsConfig::from_lookup(|name| std::env::var(name).ok())?;
    let aws = AwsClients::from_env().await;
    let handler = build_handler(&config, &aws, MetricsSink::stdout());
    run(service_fn(|event: LambdaEvent<Value>| {
        let handler = &handler;
        async move { handler.handle(event.payload).await.map_err(Error::from) }
    }))
    .await
}
