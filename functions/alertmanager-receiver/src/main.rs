//! alertmanager-receiver: Prometheus Alertmanager's webhook behind a Function URL, checked and
//! queued for slack-fanout. Configuration: `fleetwatch_slack_fanout::ReceiverConfig`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_runtime::tracing::init_default_subscriber();
    alertmanager_receiver::run().await
}
