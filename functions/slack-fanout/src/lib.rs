//! The slack-fanout function's wiring: the routing configuration from SSM (or a file), the
//! destinations' secrets read from SSM when first needed, the state table, the dead-letter queue
//! and Slack over HTTPS plugged into the handler. `main` and the integration suite both use it.

use std::collections::HashMap;
use std::time::Duration;

use fleetwatch_aws::{AwsClients, DynamoStateStore, SqsQueue, SsmSecrets};
use fleetwatch_ports::{MetricsSink, SharedClock};
use fleetwatch_slack::SlackClient;
use fleetwatch_slack_fanout::{Engine, FanoutConfig, FanoutHandler, WiringError, load_routing};

pub type SlackFanout = FanoutHandler<SlackClient, DynamoStateStore, SqsQueue, SsmSecrets>;

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error(transparent)]
    Wiring(#[from] WiringError),
    #[error("building the Slack HTTP client")]
    Slack(#[from] fleetwatch_slack::Error),
}

pub async fn build_handler(
    config: &FanoutConfig,
    aws: &AwsClients,
    metrics: MetricsSink,
    clock: SharedClock,
) -> Result<SlackFanout, BuildError> {
    // Secrets are cached for an hour: a rotated one is picked up within it.
    let secrets = SsmSecrets::new(aws.ssm(), Duration::from_secs(3600), clock.clone());
    let routing = load_routing(&config.routing, &secrets).await?;
    let destinations: HashMap<_, _> = routing
        .destinations()
        .map(|(name, destination)| (name.to_string(), destination.clone()))
        .collect();
    let settings = config.settings(aws.state_call_limit());
    let slack = SlackClient::new(&config.slack_api_base, settings.call_timeout)?;
    Ok(FanoutHandler {
        engine: Engine::new(
            slack,
            DynamoStateStore::new(aws.dynamodb(), &config.state_table, clock.clone()),
            SqsQueue::new(aws.sqs(), &config.dead_letter_queue_url),
            secrets,
            destinations,
            settings,
            clock,
        ),
        routing,
        metrics,
        max_receives: config.max_receives,
    })
}

/// Time kept back from the Lambda deadline to answer with the partial batch failures.
const ANSWER_MARGIN: std::time::Duration = std::time::Duration::from_secs(3);

/// The function: configuration from the environment, the handler, Lambda's runtime loop.
pub async fn run() -> Result<(), lambda_runtime::Error> {
    let config = FanoutConfig::from_lookup(|name| std::env::var(name).ok())?;
    let aws = AwsClients::from_env().await;
    let clock = fleetwatch_ports::SystemClock::shared();
    let handler = build_handler(&config, &aws, MetricsSink::stdout(clock.clone()), clock).await?;
    lambda_runtime::run(lambda_runtime::service_fn(
        |event: lambda_runtime::LambdaEvent<serde_json::Value>| {
            let handler = &handler;
            async move {
                let deadline = fleetwatch_aws::invocation_deadline(
                    event.context.deadline,
                    std::time::SystemTime::now(),
                ) - ANSWER_MARGIN;
                handler
                    .handle(event.payload, deadline)
                    .await
                    .map_err(fleetwatch_aws::diagnostic)
            }
        },
    ))
    .await
}
