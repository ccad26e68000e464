//! The slack-fanout function's wiring: the routing configuration and the destinations' secrets
//! from SSM, the state table, the queues and Slack over HTTPS plugged into the handler. `main`
//! and the integration suite both use it.

use std::time::Duration;

use fleetwatch_aws::{AwsClients, DynamoStateStore, SqsQueue, SsmSecrets};
use fleetwatch_ports::{MetricsSink, SharedClock};
use fleetwatch_slack::SlackClient;
use fleetwatch_slack_fanout::{
    Engine, FanoutConfig, FanoutHandler, WiringError, load_routing, resolve_destinations,
    webhook_token,
};

pub type SlackFanout = FanoutHandler<SlackClient, DynamoStateStore, SqsQueue>;

/// How long one Slack call may take.
pub const SLACK_TIMEOUT: Duration = Duration::from_secs(10);

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
    // Secrets are read once per cold start; a rotated one is picked up by the next cold start.
    let secrets = SsmSecrets::new(aws.ssm(), Duration::from_secs(3600), clock.clone());
    let routing = load_routing(&config.routing, &secrets).await?;
    let destinations = resolve_destinations(&routing, &secrets).await?;
    let webhook_token = webhook_token(config, &secrets).await?;
    Ok(FanoutHandler {
        engine: Engine::new(
            SlackClient::new(&config.slack_api_base, SLACK_TIMEOUT)?,
            DynamoStateStore::new(aws.dynamodb(), &config.state_table, clock.clone()),
            SqsQueue::new(aws.sqs(), &config.dead_letter_queue_url),
            destinations,
            config.settings(),
            clock,
        ),
        routing,
        intake: SqsQueue::new(aws.sqs(), &config.alerts_queue_url),
        webhook_token,
        metrics,
    })
}
