//! The slack-fanout function's configuration (environment variables set by `template.yaml`, read
//! through a lookup the caller passes) and the cold-start steps that need it: the routing
//! configuration (validated here, with errors naming the offending line) and the destinations
//! with their secrets, read through any [`SecretSource`].

use std::collections::HashMap;
use std::path::PathBuf;

use fleetwatch_ports::{Secret, SecretError, SecretSource};
use fleetwatch_routing::{Config, ConfigError};

use crate::engine::{Destination, Settings, Target};

pub const ROUTING_PARAMETER: &str = "FLEETWATCH_ROUTING_PARAMETER";
pub const ROUTING_FILE: &str = "FLEETWATCH_ROUTING_FILE";
pub use fleetwatch_ports::env::{ALERTS_QUEUE_URL, STATE_TABLE};
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
    #[error("reading the routing configuration from SSM")]
    ReadParameter(#[source] SecretError),
    #[error("reading the routing configuration from {path}")]
    ReadFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Routing(#[from] ConfigError),
    #[error("destination {destination}")]
    Secret {
        destination: String,
        #[source]
        source: SecretError,
    },
    #[error("the Function URL token")]
    WebhookToken(#[source] SecretError),
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

impl FanoutConfig {
    /// The engine's settings: the defaults with what the environment changes.
    pub fn settings(&self) -> Settings {
        Settings {
            digest_threshold: self.digest_threshold,
            ..Settings::default()
        }
    }
}

/// The routing configuration, validated.
pub async fn load_routing(
    source: &RoutingSource,
    secrets: &impl SecretSource,
) -> Result<Config, WiringError> {
    let yaml = match source {
        RoutingSource::Parameter(name) => secrets
            .secret(name)
            .await
            .map_err(WiringError::ReadParameter)?
            .expose()
            .to_string(),
        RoutingSource::File(path) => {
            std::fs::read_to_string(path).map_err(|source| WiringError::ReadFile {
                path: path.clone(),
                source,
            })?
        }
    };
    Ok(Config::from_yaml(&yaml)?)
}

/// Every destination of the routing configuration with its secret resolved.
pub async fn resolve_destinations(
    routing: &Config,
    secrets: &impl SecretSource,
) -> Result<HashMap<String, Destination>, WiringError> {
    let mut destinations = HashMap::new();
    for (name, destination) in routing.destinations() {
        let target = resolve_target(destination, secrets)
            .await
            .map_err(|source| WiringError::Secret {
                destination: name.to_string(),
                source,
            })?;
        destinations.insert(
            name.to_string(),
            Destination {
                name: name.to_string(),
                target,
            },
        );
    }
    Ok(destinations)
}

/// One destination's delivery target, its secret read.
pub async fn resolve_target(
    destination: &fleetwatch_routing::Destination,
    secrets: &impl SecretSource,
) -> Result<Target, SecretError> {
    Ok(match destination {
        fleetwatch_routing::Destination::Webhook { url_parameter } => Target::Webhook {
            url: secrets.secret(url_parameter).await?,
        },
        fleetwatch_routing::Destination::Bot {
            token_parameter,
            channel,
        } => Target::Bot {
            token: secrets.secret(token_parameter).await?,
            channel: channel.clone(),
        },
    })
}

/// The bearer token the Function URL checks, when one is configured.
pub async fn webhook_token(
    config: &FanoutConfig,
    secrets: &impl SecretSource,
) -> Result<Option<Secret>, WiringError> {
    match &config.webhook_token_parameter {
        Some(name) => Ok(Some(
            secrets
                .secret(name)
                .await
                .map_err(WiringError::WebhookToken)?,
        )),
        None => Ok(None),
    }
}
