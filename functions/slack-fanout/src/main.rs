//! slack-fanout: the alerts queue (SQS, partial batch failures) and Alertmanager's webhook
//! (Function URL). Configuration: `fleetwatch_slack_fanout::FanoutConfig`.

use std::time::Duration;

use fleetwatch_aws::AwsClients;
use fleetwatch_ports::{MetricsSink, SystemClock};
use fleetwatch_slack_fanout::FanoutConfig;
use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use serde_json::Value;
use slack_fanout::build_handler;

/// Time kept back from the Lambda deadline to answer with the partial batch failures.
const ANSWER_MARGIN: Duration = Duration::from_secs(3);

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let config = FanoutConfig::from_lookup(|name| std::env::var(name).ok())?;
    let aws = AwsClients::from_env().await;
    let clock = SystemClock::shared();
    let handler = build_handler(&config, &aws, MetricsSink::stdout(clock.clone()), clock).await?;
    run(service_fn(|event: LambdaEvent<Value>| {
        let handler = &handler;
        async move {
            let deadline = event.context.deadline() - ANSWER_MARGIN;
            handler
                .handle(event.payload, deadline)
                .await
                .map_err(fleetwatch_aws::diagnostic)
        }
    }))
    .await
}
