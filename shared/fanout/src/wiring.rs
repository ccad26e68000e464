//! Builds the slack-fanout handler from its environment and the AWS clients: the routing
//! configuration (validated here, at cold start, with errors naming the offending line), the
//! destinations with their secrets read from SSM, the state table and the queues.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use fleetwatch_aws::AwsClients;
use fleetwatch_aws::sqs::SqsQueue;
use fleetwatch_aws::ssm::{SecretError, SecretSource, SsmSecrets};
use fleetwatch_aws::state::DynamoStateStore;
use fleetwatch_routing::{Config, ConfigError};
use fleetwatch_slack::SlackClient;

use crate::engine::{Destination, Engine, Settings, Target};
use crate::handler::FanoutHandler;
use fleetwatch_aws::emf::MetricsSink;

pub const ROUTING_PARAMETER: &str = "FLEETWATCH_ROUTING_PARAMETER";
pub const ROUTING_FILE: &str = "FLEETWATCH_ROUTING_FILE";
pub use fleetwatch_aws::env::{ALERTS_QUEUE_URL, STATE_TABLE};
pub const DEAD_LETTER_QUEUE_URL: &str = "FLEETWATCH_ALERTS_DLQ_URL";
pub const WEBHOOK_TOKEN_PARAMETER: &str = "FLEETWATCH_WEBHOOK_TOKEN_PARAMETER";
pub const SLACK_API_BASE: &str = "FLEETWATCH_SLACK_API_BASE";
pub const DIGEST_THRESHOLD: &str = "FLEETWATCH_DIGEST_THRESHOLD";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FanoutConfig {
    pub routing: RoutingSource,
    pub state_table: String,
    pub alerts_queue_url: String,
    pub dead_letter_queue_url: String,
    pub webhook_token_parameter: Option<String>,
    pub slack_api_base: String,
    pub digest_threshold: usize,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RoutingSource {
    Parameter(String),
    File(PathBuf),
}

#[derive(Debug, thiserror::Error)]
pub enum WiringError {
    #[error("{0} is required")]
    Missing(&'static str),
    #[error("{name}={value:?} is not valid: {expected}")]
    Invalid {
        name: &'static str,
        value: String,
        expected: &'static str,
    },
    #[error("reading the routing configuration: {0}")]
    Read(String),
    #[error(transparent)]
    Routing(#[from] ConfigError),
    #[error("destination {destination}: {source}")]
    Secret {
        destination: String,
        source: SecretError,
    },
    #[error("the Function URL token: {0}")]
    WebhookToken(SecretError),
    #[error("Slack client: {0}")]
    Slack(#[from] fleetwatch_slack::SlackError),
}

impl FanoutConfig {
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, WiringError> {
        let get = |name: &str| get(name).filter(|v| !v.trim().is_empty());
        let routing = match (get(ROUTING_PARAMETER), get(ROUTING_FILE)) {
            (Some(name), _) => RoutingSource::Parameter(name),
            (None, Some(path)) => RoutingSource::File(path.into()),
            (None, None) => return Err(WiringError::Missing(ROUTING_PARAMETER)),
        };
        let digest_threshold = match get(DIGEST_THRESHOLD) {
            None => Settings::default().digest_threshold,
            Some(value) => value.trim().parse().map_err(|_| WiringError::Invalid {
                name: DIGEST_THRESHOLD,
                value,
                expected: "a whole number",
            })?,
        };
        Ok(Self {
            routing,
            state_table: get(STATE_TABLE).ok_or(WiringError::Missing(STATE_TABLE))?,
            alerts_queue_url: get(ALERTS_QUEUE_URL)
                .ok_or(WiringError::Missing(ALERTS_QUEUE_URL))?,
            dead_letter_queue_url: get(DEAD_LETTER_QUEUE_URL)
                .ok_or(WiringError::Missing(DEAD_LETTER_QUEUE_URL))?,
            webhook_token_parameter: get(WEBHOOK_TOKEN_PARAMETER),
            slack_api_base: get(SLACK_API_BASE).unwrap_or_else(|| "https://slack.com/api".into()),
            digest_threshold,
        })
    }
}

pub type SlackFanout = FanoutHandler<DynamoStateStore, SqsQueue>;

pub async fn build_handler(
    config: &FanoutConfig,
    aws: &AwsClients,
    metrics: MetricsSink,
) -> Result<SlackFanout, WiringError> {
    // Secrets are read once per cold start; a rotated one is picked up by the next cold start.
    let secrets = SsmSecrets::new(aws.ssm(), Duration::from_secs(3600));
    let yaml = match &config.routing {
        RoutingSource::Parameter(name) => secrets
            .secret(name)
            .await
            .map_err(|e| WiringError::Read(e.to_string()))?
            .expose()
            .to_string(),
        RoutingSource::File(path) => std::fs::read_to_string(path)
            .map_err(|e| WiringError::Read(format!("{}: {e}", path.display())))?,
    };
    let routing = Config::from_yaml(&yaml)?;
    let mut destinations = HashMap::new();
    for (name, destination) in routing.destinations() {
        let secret_error = |source| WiringError::Secret {
            destination: name.to_string(),
            source,
        };
        let target = match destination {
            fleetwatch_routing::Destination::Webhook { url_parameter } => Target::Webhook {
                url: secrets.secret(url_parameter).await.map_err(secret_error)?,
            },
            fleetwatch_routing::Destination::Bot {
                token_parameter,
                channel,
            } => Target::Bot {
                token: secrets
                    .secret(token_parameter)
                    .await
                    .map_err(secret_error)?,
                channel: channel.clone(),
            },
        };
        destinations.insert(
            name.to_string(),
            Destination {
                name: name.to_string(),
                target,
            },
        );
    }
    let webhook_token = match &config.webhook_token_parameter {
        Some(name) => Some(
            secrets
                .secret(name)
                .await
                .map_err(WiringError::WebhookToken)?,
        ),
        None => None,
    };
    let settings = Settings {
        digest_threshold: config.digest_threshold,
        ..Settings::default()
    };
    Ok(FanoutHandler {
        engine: Engine::new(
            SlackClient::new(&config.slack_api_base, Duration::from_secs(10))?,
            DynamoStateStore::new(aws.dynamodb(), &config.state_table),
            SqsQueue::new(aws.sqs(), &config.dead_letter_queue_url),
            destinations,
            settings,
        ),
        routing,
        intake: SqsQueue::new(aws.sqs(), &config.alerts_queue_url),
        webhook_token,
        metrics,
    })
}
