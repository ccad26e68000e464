//! health-check: scheduled checks of internal services (HTTP, TCP, Jenkins), alerts on the
//! alerts queue. Configuration: `fleetwatch_health_check::HealthCheckConfig`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_runtime::tracing::init_default_subscriber();
    health_check::run().await
}
