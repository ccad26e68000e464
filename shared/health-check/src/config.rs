//! The health-check function's configuration, from environment variables (set by
//! `template.yaml`). Pure: the caller passes the lookup. Mistakes are reported at cold start,
//! naming the variable; a mistake in the checks YAML names its line.

use std::path::PathBuf;
use std::time::Duration;

use fleetwatch_health::{Config, ConfigError};
use fleetwatch_ports::{Env, EnvError, SecretError, SecretSource};

use crate::handler::Settings;

pub use fleetwatch_ports::env::{ALERTS_QUEUE_URL, STATE_TABLE};
/// The SSM parameter holding the checks YAML (a String parameter: the YAML names secrets, it
/// does not hold them).
pub const CONFIG_PARAMETER: &str = "FLEETWATCH_HEALTH_CONFIG_PARAMETER";
/// Or a file (local runs, `cargo lambda watch`).
pub const CONFIG_FILE: &str = "FLEETWATCH_HEALTH_CONFIG_FILE";
/// Seconds between scheduled runs (the EventBridge rule's rate); default 60.
pub const SCHEDULE_PERIOD: &str = "FLEETWATCH_HEALTH_PERIOD";
/// Checks probed at once; default 16.
pub const CONCURRENCY: &str = "FLEETWATCH_HEALTH_CONCURRENCY";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthCheckConfig {
    pub source: ConfigSource,
    pub state_table: String,
    pub alerts_queue_url: String,
    pub schedule_period: Duration,
    pub concurrency: usize,
}

/// Where the checks YAML is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigSource {
    Parameter(String),
    File(PathBuf),
}

impl std::fmt::Display for ConfigSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConfigSource::Parameter(name) => write!(f, "SSM parameter {name}"),
            ConfigSource::File(path) => write!(f, "{}", path.display()),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum WiringError {
    #[error(transparent)]
    Env(#[from] EnvError),
    #[error("reading the health checks configuration from SSM")]
    ReadParameter(#[source] SecretError),
    #[error("reading the health checks configuration from {path}")]
    ReadFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Checks(#[from] ConfigError),
}

impl WiringError {
    /// A retry (the next invocation) may succeed: SSM was throttled or unreachable.
    pub fn is_transient(&self) -> bool {
        matches!(self, WiringError::ReadParameter(error) if error.is_transient())
    }
}

impl HealthCheckConfig {
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, WiringError> {
        let env = Env::new(get);
        let source = match (env.get(CONFIG_PARAMETER), env.get(CONFIG_FILE)) {
            (Some(name), _) => ConfigSource::Parameter(name),
            (None, Some(path)) => ConfigSource::File(path.into()),
            (None, None) => return Err(EnvError::missing(CONFIG_PARAMETER).into()),
        };
        Ok(Self {
            source,
            state_table: env.required(STATE_TABLE)?,
            alerts_queue_url: env.required(ALERTS_QUEUE_URL)?,
            schedule_period: Duration::from_secs(env.whole(SCHEDULE_PERIOD, 60, 1..=86_400)?),
            concurrency: env.whole(CONCURRENCY, 16, 1..=1_000)? as usize,
        })
    }

    /// The handler's settings: the defaults with what the environment changes.
    pub fn settings(&self) -> Settings {
        Settings {
            schedule_period: self.schedule_period,
            concurrency: self.concurrency,
            ..Settings::default()
        }
    }
}

/// The YAML text of the checks.
pub async fn read_source(
    source: &ConfigSource,
    secrets: &impl SecretSource,
) -> Result<String, WiringError> {
    match source {
        ConfigSource::Parameter(name) => Ok(secrets
            .secret(name)
            .await
            .map_err(WiringError::ReadParameter)?
            .expose()
            .to_owned()),
        ConfigSource::File(path) => {
            std::fs::read_to_string(path).map_err(|source| WiringError::ReadFile {
                path: path.clone(),
                source,
            })
        }
    }
}

/// The checks, read and validated (a mistake names its line).
pub async fn load_checks(
    source: &ConfigSource,
    schedule_period: Duration,
    secrets: &impl SecretSource,
) -> Result<Config, WiringError> {
    let text = read_source(source, secrets).await?;
    Ok(Config::from_yaml(&text, schedule_period)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use fleetwatch_ports::StaticSecrets;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<HealthCheckConfig, WiringError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        HealthCheckConfig::from_lookup(|name| vars.get(name).cloned())
    }

    const BASE: [(&str, &str); 3] = [
        (CONFIG_PARAMETER, "/fleetwatch/health/checks"),
        (STATE_TABLE, "state"),
        (ALERTS_QUEUE_URL, "http://q/alerts"),
    ];

    #[test]
    fn defaults_and_overrides() {
        let config = config(&BASE).unwrap();
        assert_eq!(
            config.source,
            ConfigSource::Parameter("/fleetwatch/health/checks".into())
        );
        assert_eq!(config.schedule_period, Duration::from_secs(60));
        assert_eq!(config.settings().concurrency, 16);

        let mut vars = BASE.to_vec();
        vars[0] = (CONFIG_FILE, "events/health/checks.yaml");
        vars.extend([(SCHEDULE_PERIOD, "300"), (CONCURRENCY, "4")]);
        let config = super::tests::config(&vars).unwrap();
        assert_eq!(
            config.source,
            ConfigSource::File("events/health/checks.yaml".into())
        );
        assert_eq!(config.settings().schedule_period, Duration::from_secs(300));
        assert_eq!(config.settings().concurrency, 4);
    }

    #[test]
    fn mistakes_name_the_variable() {
        assert!(matches!(
            config(&BASE[1..]).unwrap_err(),
            WiringError::Env(EnvError::Missing {
                name: CONFIG_PARAMETER,
                ..
            })
        ));
        assert!(matches!(
            config(&BASE[..2]).unwrap_err(),
            WiringError::Env(EnvError::Missing {
                name: ALERTS_QUEUE_URL,
                ..
            })
        ));
        let mut vars = BASE.to_vec();
        vars.push((SCHEDULE_PERIOD, "1m"));
        assert_eq!(
            config(&vars).unwrap_err().to_string(),
            "FLEETWATCH_HEALTH_PERIOD=\"1m\" is not valid: a whole number from 1 to 86400"
        );
    }

    #[tokio::test]
    async fn checks_load_from_ssm_with_line_precise_errors() {
        let source = ConfigSource::Parameter("/checks".into());
        let good = StaticSecrets::default().with(
            "/checks",
            "checks:\n  - name: api\n    url: https://api.internal/health\n",
        );
        let loaded = load_checks(&source, Duration::from_secs(60), &good)
            .await
            .unwrap();
        assert_eq!(loaded.checks()[0].name, "api");

        let bad = StaticSecrets::default().with(
            "/checks",
            "checks:\n  - name: api\n    url: https://api.internal/health\n    failure_treshold: 2\n",
        );
        let error = load_checks(&source, Duration::from_secs(60), &bad)
            .await
            .unwrap_err();
        let WiringError::Checks(checks) = &error else {
            panic!("{error}");
        };
        assert_eq!(checks.line(), Some(4));
        assert!(!error.is_transient());

        let missing = load_checks(&source, Duration::from_secs(60), &StaticSecrets::default())
            .await
            .unwrap_err();
        assert!(
            matches!(missing, WiringError::ReadParameter(_)),
            "{missing}"
        );
    }
}
