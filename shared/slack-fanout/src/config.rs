//! The configuration of the slack-fanout and alertmanager-receiver functions (environment
//! variables set by `template.yaml`, read through a lookup the caller passes) and the cold-start
//! step that needs it: the routing configuration, validated with errors naming the offending
//! line. Destinations' secrets are read later, by the engine, through any [`SecretSource`].

use std::path::PathBuf;

use fleetwatch_ports::{SecretError, SecretSource};
use fleetwatch_routing::{Config, ConfigError};

use crate::engine::{Settings, Target};
use crate::receiver::DEFAULT_MAX_BODY_BYTES;

pub const ROUTING_PARAMETER: &str = "FLEETWATCH_ROUTING_PARAMETER";
pub const ROUTING_FILE: &str = "FLEETWATCH_ROUTING_FILE";
pub use fleetwatch_ports::env::{ALERTS_QUEUE_URL, STATE_TABLE};
pub const DEAD_LETTER_QUEUE_URL: &str = "FLEETWATCH_ALERTS_DLQ_URL";
pub const WEBHOOK_TOKEN_PARAMETER: &str = "FLEETWATCH_WEBHOOK_TOKEN_PARAMETER";
pub const SLACK_API_BASE: &str = "FLEETWATCH_SLACK_API_BASE";
pub const DIGEST_THRESHOLD: &str = "FLEETWATCH_DIGEST_THRESHOLD";
/// The alerts queue's `maxReceiveCount`: on that receive a failing message is parked with its
/// reason by the function itself.
pub const MAX_RECEIVES: &str = "FLEETWATCH_MAX_RECEIVES";
pub const MAX_BODY_BYTES: &str = "FLEETWATCH_MAX_BODY_BYTES";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FanoutConfig {
    pub routing: RoutingSource,
    pub state_table: String,
    pub dead_letter_queue_url: String,
    pub slack_api_base: String,
    pub digest_threshold: usize,
    pub max_receives: Option<u32>,
}

/// The Alertmanager receiver's configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceiverConfig {
    pub token_parameter: String,
    pub alerts_queue_url: String,
    pub dead_letter_queue_url: String,
    pub max_body_bytes: usize,
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
}

/// Blank values count as absent.
fn lookup(get: impl Fn(&str) -> Option<String>) -> impl Fn(&str) -> Option<String> {
    move |name: &str| get(name).filter(|v| !v.trim().is_empty())
}

fn number<T: std::str::FromStr>(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
) -> Result<Option<T>, WiringError> {
    get(name)
        .map(|value| {
            value.trim().parse().map_err(|_| WiringError::Invalid {
                name,
                value,
                expected: "a whole number",
            })
        })
        .transpose()
}

impl FanoutConfig {
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, WiringError> {
        let get = lookup(get);
        let routing = match (get(ROUTING_PARAMETER), get(ROUTING_FILE)) {
            (Some(name), _) => RoutingSource::Parameter(name),
            (None, Some(path)) => RoutingSource::File(path.into()),
            (None, None) => return Err(WiringError::Missing(ROUTING_PARAMETER)),
        };
        Ok(Self {
            routing,
            state_table: get(STATE_TABLE).ok_or(WiringError::Missing(STATE_TABLE))?,
            dead_letter_queue_url: get(DEAD_LETTER_QUEUE_URL)
                .ok_or(WiringError::Missing(DEAD_LETTER_QUEUE_URL))?,
            slack_api_base: get(SLACK_API_BASE).unwrap_or_else(|| "https://slack.com/api".into()),
            digest_threshold: number(&get, DIGEST_THRESHOLD)?
                .unwrap_or(Settings::default().digest_threshold),
            max_receives: number(&get, MAX_RECEIVES)?,
        })
    }

    /// The engine's settings: the defaults with what the environment changes.
    pub fn settings(&self) -> Settings {
        Settings {
            digest_threshold: self.digest_threshold,
            ..Settings::default()
        }
    }
}

impl ReceiverConfig {
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, WiringError> {
        let get = lookup(get);
        let required = |name: &'static str| get(name).ok_or(WiringError::Missing(name));
        Ok(Self {
            token_parameter: required(WEBHOOK_TOKEN_PARAMETER)?,
            alerts_queue_url: required(ALERTS_QUEUE_URL)?,
            dead_letter_queue_url: required(DEAD_LETTER_QUEUE_URL)?,
            max_body_bytes: number(&get, MAX_BODY_BYTES)?.unwrap_or(DEFAULT_MAX_BODY_BYTES),
        })
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
