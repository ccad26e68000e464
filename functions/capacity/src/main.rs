//! capacity: the ECS cluster's Auto Scaling group sized to its tasks, every minute and on
//! placement failures; terminating instances held until their tasks have moved.
//! Configuration: `fleetwatch_capacity::CapacityConfig`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_runtime::tracing::init_default_subscriber();
    capacity::run().await
}
