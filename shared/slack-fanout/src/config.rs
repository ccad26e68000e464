//! The configuration of the slack-fanout and alertmanager-receiver functions (environment
//! variables set by `template.yaml`, read through a lookup the caller passes) and the cold-start
//! step that needs it: the routing configuration, validated with errors naming the offending
//! line. Destinations' secrets are read later, by the engine, through any [`SecretSource`].

use std::path::PathBuf;
use std::time::Duration;

use fleetwatch_ports::{Env, EnvError, SecretError, SecretSource};
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
    #[error(transparent)]
    Env(#[from] EnvError),
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

impl FanoutConfig {
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, WiringError> {
        let env = Env::new(get);
        let routing = match (env.get(ROUTING_PARAMETER), env.get(ROUTING_FILE)) {
            (Some(name), _) => RoutingSource::Parameter(name),
            (None, Some(path)) => RoutingSource::File(path.into()),
            (None, None) => return Err(EnvError::missing(ROUTING_PARAMETER).into()),
        };
        let default_digest = Settings::default().digest_threshold as u64;
        Ok(Self {
            routing,
            state_table: env.required(STATE_TABLE)?,
            dead_letter_queue_url: env.required(DEAD_LETTER_QUEUE_URL)?,
            slack_api_base: env
                .get(SLACK_API_BASE)
                .unwrap_or_else(|| "https://slack.com/api".into()),
            digest_threshold: env.whole(DIGEST_THRESHOLD, default_digest, 1..=1_000)? as usize,
            // SQS allows 1 to 1000 receives before it moves a message to the dead-letter queue.
            max_receives: match env.get(MAX_RECEIVES) {
                None => None,
                Some(_) => Some(env.whole(MAX_RECEIVES, 0, 1..=1_000)? as u32),
            },
        })
    }

    /// The engine's settings: the defaults with what the environment changes, and the time kept
    /// after each post for its bookkeeping from `state_call_limit`, the longest one state-table
    /// call may take (the adapter's timeout, retries included): a new thread is remembered and
    /// the delivery recorded, two calls. With less, a slow table could run the function into its
    /// timeout after a post and before its record, and the retry would post again.
    pub fn settings(&self, state_call_limit: Duration) -> Settings {
        Settings {
            digest_threshold: self.digest_threshold,
            record_margin: state_call_limit
                .saturating_mul(2)
                .saturating_add(Duration::from_secs(1)),
            ..Settings::default()
        }
    }
}

impl ReceiverConfig {
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, WiringError> {
        let env = Env::new(get);
        let default_body = DEFAULT_MAX_BODY_BYTES as u64;
        Ok(Self {
            token_parameter: env.required(WEBHOOK_TOKEN_PARAMETER)?,
            alerts_queue_url: env.required(ALERTS_QUEUE_URL)?,
            dead_letter_queue_url: env.required(DEAD_LETTER_QUEUE_URL)?,
            // Lambda's synchronous request payload limit is 6 MB.
            max_body_bytes: env.whole(MAX_BODY_BYTES, default_body, 1_024..=6_000_000)? as usize,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_record_margin_covers_two_state_calls_at_their_limit() {
        let config = FanoutConfig::from_lookup(|name| {
            [
                (ROUTING_PARAMETER, "/fleetwatch/routing"),
                (STATE_TABLE, "state"),
                (DEAD_LETTER_QUEUE_URL, "https://sqs.example/dlq"),
            ]
            .into_iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| value.to_owned())
        })
        .unwrap();
        let settings = config.settings(Duration::from_secs(8));
        assert_eq!(settings.record_margin, Duration::from_secs(17));
        assert_eq!(settings.call_timeout, Settings::default().call_timeout);
    }
}
