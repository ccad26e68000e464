//! The secrets of the routing configuration's destinations (webhook URLs, bot tokens) and of
//! health checks (header values, Jenkins tokens): from a local file mapping parameter names to values, or from SSM Parameter Store as the function
//! reads them. Values are `Secret`s from the moment they are read: never printed.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use fleetwatch_ports::{ErrorChain, Secret, SecretError, SecretSource, StaticSecrets};
use fleetwatch_routing::Config;
use fleetwatch_slack_fanout::resolve_target;

use super::aws::{SsmSecrets, ssm_secrets};
use crate::outcome::Fatal;

pub enum Secrets {
    /// `--secrets FILE`: YAML or JSON, `parameter name: value`.
    File { path: String, values: StaticSecrets },
    /// Parameter Store, with the credentials and region of the environment.
    Ssm(SsmSecrets),
}

impl Secrets {
    pub fn from_file(path: &Path) -> Result<Self, Fatal> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| Fatal::Usage(format!("{name}: cannot read: {e}")))?;
        // The error says where, never what: the text holds secrets.
        let map: BTreeMap<String, String> = serde_yaml_ng::from_str(&text).map_err(|e| {
            let place = e
                .location()
                .map(|l| format!(" (line {} column {})", l.line(), l.column()))
                .unwrap_or_default();
            Fatal::Usage(format!(
                "{name}: not a map of parameter name to text value{place}"
            ))
        })?;
        let values = map
            .into_iter()
            .fold(StaticSecrets::default(), |secrets, (parameter, value)| {
                secrets.with(parameter, value)
            });
        Ok(Secrets::File { path: name, values })
    }

    pub async fn from_ssm() -> Result<Self, Fatal> {
        Ok(Secrets::Ssm(ssm_secrets().await?))
    }

    /// No secrets at all (a configuration that names none).
    pub fn none() -> Self {
        Secrets::File {
            path: "(no secrets file)".into(),
            values: StaticSecrets::default(),
        }
    }

    /// Checks that `name` can be read, so a missing secret stops the command before it starts.
    pub async fn require(&self, name: &str) -> Result<(), Fatal> {
        self.secret(name)
            .await
            .map(drop)
            .map_err(|error| self.fatal(error))
    }

    /// What a missing or unreadable secret means for the command.
    fn fatal(&self, error: SecretError) -> Fatal {
        match (self, error) {
            (Secrets::File { path, .. }, SecretError::NotFound { name }) => {
                Fatal::Usage(format!("{path} has no value for {name}"))
            }
            (Secrets::Ssm(_), error @ SecretError::NotFound { .. }) => {
                Fatal::Usage(format!("SSM Parameter Store: {error}"))
            }
            (_, error) => {
                Fatal::Environment(format!("SSM Parameter Store: {}", ErrorChain(&error)))
            }
        }
    }

    /// The configuration's destinations named in `wanted`, each checked to have its secret, so
    /// a missing one stops the command before anything is sent. Only those: a test of one route
    /// needs only its own secrets.
    pub async fn check<'a>(
        &self,
        config: &Config,
        wanted: impl IntoIterator<Item = &'a str>,
    ) -> Result<HashMap<String, fleetwatch_routing::Destination>, Fatal> {
        let mut destinations = HashMap::new();
        for name in wanted {
            if destinations.contains_key(name) {
                continue;
            }
            let Some(destination) = config.destination(name) else {
                // Routing only names configured destinations; the engine dead-letters others.
                continue;
            };
            resolve_target(destination, self).await.map_err(|error| {
                prefix_fatal(self.fatal(error), &format!("destination {name}: "))
            })?;
            destinations.insert(name.to_string(), destination.clone());
        }
        Ok(destinations)
    }
}

impl SecretSource for Secrets {
    async fn secret(&self, name: &str) -> Result<Secret, SecretError> {
        match self {
            Secrets::File { values, .. } => values.secret(name).await,
            Secrets::Ssm(ssm) => ssm.secret(name).await,
        }
    }
}

fn prefix_fatal(fatal: Fatal, prefix: &str) -> Fatal {
    match fatal {
        Fatal::Usage(message) => Fatal::Usage(format!("{prefix}{message}")),
        Fatal::Environment(message) => Fatal::Environment(format!("{prefix}{message}")),
        other => other,
    }
}
