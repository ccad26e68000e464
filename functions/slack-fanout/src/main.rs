//! slack-fanout: the alerts queue (SQS, partial batch failures). Configuration:
//! `fleetwatch_slack_fanout::FanoutConfig`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_runtime::tracing::init_default_subscriber();
    slack_fanout::run().await
}
