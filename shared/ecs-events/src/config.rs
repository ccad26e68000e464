//! The ecs-events function's configuration, from environment variables (set by `template.yaml`).
//! Pure: the caller passes the lookup. Errors are reported at cold start, naming the variable.

use fleetwatch_ecs::NoisePolicy;
use fleetwatch_ports::{Env, EnvError};

use crate::handler::Settings;

pub use fleetwatch_ports::env::{ALERTS_QUEUE_URL, STATE_TABLE};
pub const EVENTS_DLQ_URL: &str = "FLEETWATCH_EVENTS_DLQ_URL";
/// `true` (default) or `false`: DescribeServices / DescribeTaskDefinition / GetLogEvents.
pub const ENRICH: &str = "FLEETWATCH_ENRICH";
/// Comma-separated noise rules to turn into info alerts instead of drops.
pub const NOISE_KEEP: &str = "FLEETWATCH_NOISE_KEEP";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EcsEventsConfig {
    pub alerts_queue_url: String,
    pub state_table: String,
    pub events_dlq_url: String,
    pub enrich: bool,
    pub policy: NoisePolicy,
    pub region: Option<String>,
}

/// Why the configuration cannot be read (it names the variable and the value seen).
pub type WiringError = EnvError;

impl EcsEventsConfig {
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, WiringError> {
        let env = Env::new(get);
        let keep = env.get(NOISE_KEEP).unwrap_or_default();
        let policy = NoisePolicy::keeping(&keep)
            .map_err(|expected| EnvError::invalid(NOISE_KEEP, keep.clone(), expected))?;
        Ok(Self {
            alerts_queue_url: env.required(ALERTS_QUEUE_URL)?,
            state_table: env.required(STATE_TABLE)?,
            events_dlq_url: env.required(EVENTS_DLQ_URL)?,
            enrich: env.choice(ENRICH, &[("true", true), ("false", false)])?,
            policy,
            // Lambda sets it; console links fall back to the handler's default without it.
            region: env.get("AWS_REGION"),
        })
    }

    pub fn settings(&self) -> Settings {
        let defaults = Settings::default();
        Settings {
            policy: self.policy,
            default_region: self
                .region
                .clone()
                .unwrap_or(defaults.default_region.clone()),
            ..defaults
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<EcsEventsConfig, WiringError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        EcsEventsConfig::from_lookup(|name| vars.get(name).cloned())
    }

    const BASE: [(&str, &str); 3] = [
        (ALERTS_QUEUE_URL, "http://q/alerts"),
        (STATE_TABLE, "state"),
        (EVENTS_DLQ_URL, "http://q/dlq"),
    ];

    #[test]
    fn defaults_enrich_and_drop_all_noise() {
        let config = config(&BASE).unwrap();
        assert!(config.enrich);
        assert_eq!(config.policy, NoisePolicy::default());
        assert_eq!(config.settings().default_region, "us-east-1");
    }

    #[test]
    fn switches_are_read_and_checked() {
        let mut vars = BASE.to_vec();
        vars.extend([
            (ENRICH, "false"),
            (NOISE_KEEP, "steady_state"),
            ("AWS_REGION", "eu-west-1"),
        ]);
        let config = config(&vars).unwrap();
        assert!(!config.enrich);
        assert!(!config.policy.drop_steady_state);
        assert_eq!(config.settings().default_region, "eu-west-1");

        let mut bad = BASE.to_vec();
        bad.push((ENRICH, "yes"));
        assert!(matches!(
            config_err(&bad),
            WiringError::Invalid { name: ENRICH, .. }
        ));
        let mut bad = BASE.to_vec();
        bad.push((NOISE_KEEP, "steady"));
        let error = config_err(&bad).to_string();
        assert!(
            error.starts_with("FLEETWATCH_NOISE_KEEP=\"steady\""),
            "{error}"
        );
        assert_eq!(config_err(&BASE[1..]), EnvError::missing(ALERTS_QUEUE_URL));
    }

    fn config_err(vars: &[(&str, &str)]) -> WiringError {
        config(vars).unwrap_err()
    }
}
