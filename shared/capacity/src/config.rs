//! The capacity function's configuration, from environment variables (set by `template.yaml`).
//! Pure: the caller passes the lookup. Errors are reported at cold start, naming the variable.

use fleetwatch_ports::{Env, EnvError};
use fleetwatch_scaling::{Config, InstanceType, Mode, Resources};

pub use fleetwatch_ports::env::{ALERTS_QUEUE_URL, STATE_TABLE};

/// The ECS cluster the function plans for (name, not ARN).
pub const CLUSTER: &str = "FLEETWATCH_CAPACITY_CLUSTER";
/// The Auto Scaling group whose capacity it sets (name, not ARN).
pub const ASG: &str = "FLEETWATCH_CAPACITY_ASG";
/// `enforce` or `observe` (default): observe only publishes what it would do.
pub const MODE: &str = "FLEETWATCH_CAPACITY_MODE";
/// The terminate lifecycle hook this function holds and completes; events of other hooks on the
/// group are ignored.
pub const HOOK_NAME: &str = "FLEETWATCH_CAPACITY_HOOK_NAME";
/// The hook's heartbeat timeout in seconds (the event does not carry it), 30 to 7200.
pub const HEARTBEAT_TIMEOUT: &str = "FLEETWATCH_CAPACITY_HEARTBEAT_TIMEOUT";
/// The instance types the group launches, in launch order, with the CPU units and MiB a task
/// can use on each: `m6g.large=2048/7680,m6g.xlarge=4096/15360`. A registered instance of a type
/// replaces its figures with what ECS registered (less its daemon tasks).
pub const INSTANCE_TYPES: &str = "FLEETWATCH_CAPACITY_INSTANCE_TYPES";
/// Empty instances kept beyond what the tasks need (default 0).
pub const SPARE_INSTANCES: &str = "FLEETWATCH_CAPACITY_SPARE_INSTANCES";
/// Seconds a falling load must stay low before consolidation (default 300).
pub const SCALE_IN_DELAY: &str = "FLEETWATCH_CAPACITY_SCALE_IN_DELAY";
/// Most instances added by one decision (default 100).
pub const MAX_SCALE_OUT_STEP: &str = "FLEETWATCH_CAPACITY_MAX_SCALE_OUT_STEP";
/// Most instances released by one decision (default 10).
pub const MAX_SCALE_IN_STEP: &str = "FLEETWATCH_CAPACITY_MAX_SCALE_IN_STEP";
/// Most instances draining for consolidation at once (default 2).
pub const DISRUPTION_BUDGET: &str = "FLEETWATCH_CAPACITY_DISRUPTION_BUDGET";
/// Seconds a terminating instance is held for its tasks before the hook is completed anyway,
/// with an alert (default 21600, six hours).
pub const MAX_HOOK_HOLD: &str = "FLEETWATCH_CAPACITY_MAX_HOOK_HOLD";
/// Seconds before the heartbeat timeout at which a held hook is heartbeaten (default 180).
pub const HEARTBEAT_MARGIN: &str = "FLEETWATCH_CAPACITY_HEARTBEAT_MARGIN";

/// The hook name when none is configured (the template's default too).
pub const DEFAULT_HOOK_NAME: &str = "fleetwatch-capacity-drain";
/// The heartbeat timeout when none is configured (the template's default too).
pub const DEFAULT_HEARTBEAT_TIMEOUT_S: u64 = 900;

#[derive(Debug, Clone, PartialEq)]
pub struct CapacityConfig {
    pub cluster: String,
    pub asg: String,
    pub hook_name: String,
    pub heartbeat_timeout_s: u64,
    pub instance_types: Vec<InstanceType>,
    /// The planner's mode and knobs.
    pub planner: Config,
    pub state_table: String,
    pub alerts_queue_url: String,
}

/// Why the configuration cannot be read (it names the variable and the value seen).
pub type WiringError = EnvError;

impl CapacityConfig {
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, WiringError> {
        let env = Env::new(get);
        let planner = planner_config(&env)?;
        // Auto Scaling's limits for HeartbeatTimeout.
        let heartbeat_timeout_s =
            env.whole(HEARTBEAT_TIMEOUT, DEFAULT_HEARTBEAT_TIMEOUT_S, 30..=7200)?;
        if planner.heartbeat_margin_s >= heartbeat_timeout_s {
            return Err(EnvError::invalid(
                HEARTBEAT_MARGIN,
                planner.heartbeat_margin_s.to_string(),
                format!(
                    "less than {HEARTBEAT_TIMEOUT} ({heartbeat_timeout_s} s), or every reconcile heartbeats"
                ),
            ));
        }
        let types_text = env.required(INSTANCE_TYPES)?;
        let instance_types = parse_instance_types(&types_text)
            .map_err(|expected| EnvError::invalid(INSTANCE_TYPES, types_text.clone(), expected))?;
        Ok(Self {
            cluster: env.required(CLUSTER)?,
            asg: env.required(ASG)?,
            hook_name: env
                .get(HOOK_NAME)
                .unwrap_or_else(|| DEFAULT_HOOK_NAME.to_string()),
            heartbeat_timeout_s,
            instance_types,
            planner,
            state_table: env.required(STATE_TABLE)?,
            alerts_queue_url: env.required(ALERTS_QUEUE_URL)?,
        })
    }
}

/// The planner's mode and knobs: the defaults with what the environment changes.
fn planner_config(env: &Env<impl Fn(&str) -> Option<String>>) -> Result<Config, EnvError> {
    let defaults = Config::default();
    let count =
        |name, default: u32, range| env.whole(name, u64::from(default), range).map(|n| n as u32);
    Ok(Config {
        mode: env.choice(
            MODE,
            &[("observe", Mode::Observe), ("enforce", Mode::Enforce)],
        )?,
        spare_instances: count(SPARE_INSTANCES, defaults.spare_instances, 0..=100)?,
        scale_in_delay_s: env.whole(SCALE_IN_DELAY, defaults.scale_in_delay_s, 0..=86_400)?,
        max_scale_out_step: count(MAX_SCALE_OUT_STEP, defaults.max_scale_out_step, 1..=10_000)?,
        max_scale_in_step: count(MAX_SCALE_IN_STEP, defaults.max_scale_in_step, 1..=10_000)?,
        disruption_budget: count(DISRUPTION_BUDGET, defaults.disruption_budget, 0..=1_000)?,
        // Auto Scaling never holds a hook longer than 48 hours.
        max_hook_hold_s: env.whole(MAX_HOOK_HOLD, defaults.max_hook_hold_s, 60..=48 * 3600)?,
        heartbeat_margin_s: env.whole(HEARTBEAT_MARGIN, defaults.heartbeat_margin_s, 60..=3600)?,
    })
}

/// `name=cpu/memory` entries, comma-separated, in launch order.
pub fn parse_instance_types(text: &str) -> Result<Vec<InstanceType>, String> {
    let expected = || {
        "comma-separated name=cpu/memory entries (CPU units and MiB a task can use), e.g. \
         m6g.large=2048/7680"
            .to_string()
    };
    let mut types: Vec<InstanceType> = Vec::new();
    for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let (name, figures) = entry.split_once('=').ok_or_else(expected)?;
        let (cpu, memory) = figures.split_once('/').ok_or_else(expected)?;
        let cpu: u32 = cpu.trim().parse().map_err(|_| expected())?;
        let memory: u32 = memory.trim().parse().map_err(|_| expected())?;
        let name = name.trim();
        if name.is_empty() || cpu == 0 || memory == 0 {
            return Err(expected());
        }
        if types.iter().any(|t| t.name == name) {
            return Err(format!("{name} is listed twice"));
        }
        types.push(InstanceType {
            name: name.to_string(),
            resources: Resources::new(cpu, memory),
        });
    }
    if types.is_empty() {
        return Err(expected());
    }
    Ok(types)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const BASE: [(&str, &str); 5] = [
        (CLUSTER, "prod"),
        (ASG, "prod-asg"),
        (INSTANCE_TYPES, "m6g.large=2048/7680"),
        (STATE_TABLE, "state"),
        (ALERTS_QUEUE_URL, "http://q/alerts"),
    ];

    fn config(vars: &[(&str, &str)]) -> Result<CapacityConfig, WiringError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        CapacityConfig::from_lookup(|name| vars.get(name).cloned())
    }

    fn with(extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
        let mut vars = BASE.to_vec();
        vars.extend_from_slice(extra);
        vars
    }

    #[test]
    fn defaults_observe_with_the_planners_knobs() {
        let config = config(&BASE).unwrap();
        assert_eq!(config.planner.mode, Mode::Observe);
        assert_eq!(
            Config {
                mode: Mode::Enforce,
                ..config.planner.clone()
            },
            Config::default()
        );
        assert_eq!(config.hook_name, DEFAULT_HOOK_NAME);
        assert_eq!(config.heartbeat_timeout_s, 900);
        assert_eq!(
            config.instance_types,
            vec![InstanceType {
                name: "m6g.large".into(),
                resources: Resources::new(2048, 7680)
            }]
        );
    }

    #[test]
    fn every_knob_is_read() {
        let config = config(&with(&[
            (MODE, "enforce"),
            (HOOK_NAME, "drain"),
            (HEARTBEAT_TIMEOUT, "600"),
            (
                INSTANCE_TYPES,
                " m6g.large=2048/7680 , m6g.xlarge=4096/15360 ",
            ),
            (SPARE_INSTANCES, "1"),
            (SCALE_IN_DELAY, "600"),
            (MAX_SCALE_OUT_STEP, "20"),
            (MAX_SCALE_IN_STEP, "3"),
            (DISRUPTION_BUDGET, "1"),
            (MAX_HOOK_HOLD, "7200"),
            (HEARTBEAT_MARGIN, "120"),
        ]))
        .unwrap();
        assert_eq!(
            config.planner,
            Config {
                mode: Mode::Enforce,
                spare_instances: 1,
                scale_in_delay_s: 600,
                max_scale_out_step: 20,
                max_scale_in_step: 3,
                disruption_budget: 1,
                max_hook_hold_s: 7200,
                heartbeat_margin_s: 120,
            }
        );
        assert_eq!(config.hook_name, "drain");
        assert_eq!(config.heartbeat_timeout_s, 600);
        assert_eq!(config.instance_types.len(), 2);
        assert_eq!(
            config.instance_types[1].resources,
            Resources::new(4096, 15360)
        );
    }

    #[test]
    fn mistakes_name_their_variable() {
        let invalid = |extra: &[(&'static str, &'static str)]| match config(&with(extra)) {
            Err(WiringError::Invalid { name, .. }) => name,
            other => panic!("{extra:?}: {other:?}"),
        };
        assert_eq!(invalid(&[(MODE, "on")]), MODE);
        assert_eq!(invalid(&[(INSTANCE_TYPES, "m6g.large")]), INSTANCE_TYPES);
        assert_eq!(invalid(&[(INSTANCE_TYPES, "a=1/2,a=1/2")]), INSTANCE_TYPES);
        assert_eq!(invalid(&[(INSTANCE_TYPES, "a=0/2")]), INSTANCE_TYPES);
        assert_eq!(invalid(&[(HEARTBEAT_TIMEOUT, "10")]), HEARTBEAT_TIMEOUT);
        assert_eq!(invalid(&[(MAX_HOOK_HOLD, "200000")]), MAX_HOOK_HOLD);
        assert_eq!(invalid(&[(DISRUPTION_BUDGET, "-1")]), DISRUPTION_BUDGET);
        assert_eq!(
            invalid(&[(HEARTBEAT_TIMEOUT, "120"), (HEARTBEAT_MARGIN, "180")]),
            HEARTBEAT_MARGIN
        );
        let message = config(&with(&[(MODE, "on")])).unwrap_err().to_string();
        assert_eq!(
            message,
            "FLEETWATCH_CAPACITY_MODE=\"on\" is not valid: one of observe, enforce"
        );
        for missing in [CLUSTER, ASG, INSTANCE_TYPES, STATE_TABLE, ALERTS_QUEUE_URL] {
            let vars: Vec<_> = BASE
                .iter()
                .copied()
                .filter(|(k, _)| *k != missing)
                .collect();
            assert!(
                matches!(config(&vars), Err(WiringError::Missing { name, .. }) if name == missing),
                "{missing}"
            );
        }
    }
}
