//! slack-fanout: the alerts queue (SQS, partial batch failures) and Alertmanager's webhook
//! (Function URL). Configuration: see `fleetwatch_fanout::wiring`.

use std::time::{Duration, SystemTime};

use fleetwatch_aws::AwsClients;
use fleetwatch_aws::emf::MetricsSink;
use fleetwatch_fanout::wiring::{FanoutConfig, build_handler};
use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use serde_json::Value;

/// Time kept back from the Lambda deadline to answer with the partial batch failures.
const ANSWER_MARGIN: Duration = Duration::from_secs(3);

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let config = FanoutConfig::from_lookup(|name| std::env::var(name).ok())?;
    let aws = AwsClients::from_env().await;
    let handler = build_handler(&config, &aws, MetricsSink::stdout()).await?;
    run(service_fn(|event: LambdaEvent<Value>| {
        let handler = &handler;
        async move {
            let remaining = event
                .context
                .deadline()
                .duration_since(SystemTime::now())
                .unwrap_or_default()
                .saturating_sub(ANSWER_MARGIN);
            let deadline = tokio::time::Instant::now() + remaining;
            handler
                .handle(event.payload, deadline)
                .await
                .map_err(Error::from)
        }
    }))
    .await
}
