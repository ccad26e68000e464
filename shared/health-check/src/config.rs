//! The health-check function's configuration, from environment variables (set by
//! `template.yaml`). Pure: the caller passes the lookup. Mistakes are reported at cold start,
//! naming the variable; a mistake in the checks YAML names its line.

use std::path::PathBuf;
use std::time::Duration;

use fleetwatch_health::{Config, ConfigError};
use fleetwatch_ports::{SecretError, SecretSource};

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
    #[error("{0} is required")]
    Missing(&'static str),
    #[error("{name}={value:?} is not valid: {expected}")]
    Invalid {
        name: &'static str,
        value: String,
        expected: &'static str,
    },
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
        let get = |name: &str| get(name).filter(|v| !v.trim().is_empty());
        let required = |name: &'static str| get(name).ok_or(WiringError::Missing(name));
        let whole = |name: &'static str, default: u64| -> Result<u64, WiringError> {
            match get(name) {
                None => Ok(default),
                Some(value) => value.trim().parse::<u64>().ok().filter(|n| *n > 0).ok_or(
                    WiringError::Invalid {
                        name,
                        value,
                        expected: "a whole number above 0",
                    },
                ),
            }
        };
        let source = match (get(CONFIG_PARAMETER), get(CONFIG_FILE)) {
            (Some(name), _) => ConfigSource::Parameter(name.trim().to_owned()),
            (None, Some(path)) => ConfigSource::File(path.into()),
            (None, None) => return Err(WiringError::Missing(CONFIG_PARAMETER)),
        };
        Ok(Self {
            source,
            state_table: required(STATE_TABLE)?,
            alerts_queue_url: required(ALERTS_QUEUE_URL)?,
            schedule_period: Duration::from_secs(whole(SCHEDULE_PERIOD, 60)?),
            concurrency: usize::try_from(whole(CONCURRENCY, 16)?).unwrap_or(usize::MAX),
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
            WiringError::Missing(CONFIG_PARAMETER)
        ));
        assert!(matches!(
            config(&BASE[..2]).unwrap_err(),
            WiringError::Missing(ALERTS_QUEUE_URL)
        ));
        let mut vars = BASE.to_vec();
        vars.push((SCHEDULE_PERIOD, "1m"));
        assert_eq!(
            config(&vars).unwrap_err().to_string(),
            "FLEETWATCH_HEALTH_PERIOD=\"1m\" is not valid: a whole number above 0"
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
