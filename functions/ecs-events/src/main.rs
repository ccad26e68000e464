//! ecs-events: ECS deployment, service and task events and Auto Scaling failures from
//! EventBridge, as alerts on the alerts queue. Configuration: `fleetwatch_ecs_events::EcsEventsConfig`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_runtime::tracing::init_default_subscriber();
    ecs_events::run().await
}
