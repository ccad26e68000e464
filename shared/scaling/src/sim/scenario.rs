//! The scenario file: a cluster, its services and how their desired counts change.
//!
//! ```yaml
//! duration: 3h              # how long to simulate
//! instance_boot: 90s        # launch until registered with the cluster
//! task_start: 20s           # placed until RUNNING
//! task_stop: 30s            # optional (default 30s): stop requested until STOPPED
//! instance_types: {m6g.large: {cpu: 2048, memory: 7680}, m6g.xlarge: {cpu: 4096, memory: 15360}}
//! asg: {instance_type: m6g.large, min: 0, max: 40, desired: 2, azs: [a, b, c]}
//! services:
//!   - {name: web, cpu: 512, memory: 1024, desired: 6, spread: az}     # spread: az | instance | none
//!   - {name: worker, cpu: 1024, memory: 3072, desired: 2}
//! changes:                  # desired-count changes over time
//!   - {at: 5m, service: web, desired: 48}
//!   - {at: 90m, service: web, desired: 6}
//! ```
//!
//! Keys (all required unless marked optional; unknown keys are errors):
//!
//! - `duration`, `instance_boot`, `task_start`, `task_stop` (optional, default `30s`): durations,
//!   a whole number followed by `s`, `m` or `h`, or several such parts (`1h30m`). A bare number
//!   is seconds.
//! - `instance_types`: map of type name to `{cpu, memory}` in ECS units (1024 CPU units = one
//!   vCPU, memory in MiB): what a registered instance of that type offers to tasks.
//! - `asg`: the Auto Scaling group. `instance_type` is one type name, or a list for a group with
//!   several types (mixed instances), which launches them in turn in list order; `min`, `max`,
//!   `desired` (instances running at the start, registered and empty); `azs`, the Availability
//!   Zones, where new instances go to the zone with the fewest (ties in list order).
//! - `services`: `name`, `cpu` and `memory` per task, `desired` tasks at the start, `spread`
//!   (optional, default `none`): `az` spreads tasks over zones then packs (ECS `spread` on
//!   `attribute:ecs.availability-zone` then `binpack`), `instance` allows one task per instance
//!   (ECS `distinctInstance`), `none` packs (ECS `binpack` on memory). Every service has ECS's
//!   default deployment configuration (minimumHealthyPercent 100, maximumPercent 200).
//! - `changes` (optional): `at` (a duration from the start), `service`, new `desired` count.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Deserializer};

/// Why a scenario could not be read. `line` is 1-based.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error("scenario line {line}, column {column}: {message}")]
    Yaml {
        line: usize,
        column: usize,
        message: String,
    },
    #[error("scenario: {message}")]
    Syntax { message: String },
    #[error("scenario line {line}: {message}")]
    Invalid { line: usize, message: String },
}

/// A duration in whole seconds, written `90s`, `5m`, `3h` or `1h30m`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Seconds(pub u64);

impl Seconds {
    /// Parses `90s`, `5m`, `3h`, `1h30m`, or a bare number of seconds.
    pub fn parse(text: &str) -> Result<Seconds, String> {
        let text = text.trim();
        if let Ok(secs) = text.parse::<u64>() {
            return Ok(Seconds(secs));
        }
        let bad = || format!("invalid duration {text:?}: expected e.g. 90s, 5m, 3h or 1h30m");
        let mut total: u64 = 0;
        let mut digits = String::new();
        for c in text.chars() {
            if c.is_ascii_digit() {
                digits.push(c);
                continue;
            }
            let unit = match c {
                's' => 1,
                'm' => 60,
                'h' => 3600,
                _ => return Err(bad()),
            };
            let n: u64 = digits.parse().map_err(|_| bad())?;
            total = n
                .checked_mul(unit)
                .and_then(|v| total.checked_add(v))
                .ok_or_else(bad)?;
            digits.clear();
        }
        if !digits.is_empty() || text.is_empty() {
            return Err(bad());
        }
        Ok(Seconds(total))
    }
}

impl<'de> Deserialize<'de> for Seconds {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Number(u64),
            Text(String),
        }
        match Raw::deserialize(deserializer)? {
            Raw::Number(n) => Ok(Seconds(n)),
            Raw::Text(t) => Seconds::parse(&t).map_err(serde::de::Error::custom),
        }
    }
}

impl fmt::Display for Seconds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}s", self.0)
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TypeSpec {
    pub cpu: u32,
    pub memory: u32,
}

/// One name or a list of names.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    pub fn names(&self) -> Vec<String> {
        match self {
            OneOrMany::One(name) => vec![name.clone()],
            OneOrMany::Many(names) => names.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AsgSpec {
    pub instance_type: OneOrMany,
    pub min: u32,
    pub max: u32,
    pub desired: u32,
    pub azs: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Spread {
    Az,
    Instance,
    #[default]
    None,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceSpec {
    pub name: String,
    pub cpu: u32,
    pub memory: u32,
    pub desired: u32,
    #[serde(default)]
    pub spread: Spread,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Change {
    pub at: Seconds,
    pub service: String,
    pub desired: u32,
}

fn default_task_stop() -> Seconds {
    Seconds(30)
}

/// A parsed, checked scenario (see the module documentation for the format).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub duration: Seconds,
    pub instance_boot: Seconds,
    pub task_start: Seconds,
    #[serde(default = "default_task_stop")]
    pub task_stop: Seconds,
    pub instance_types: BTreeMap<String, TypeSpec>,
    pub asg: AsgSpec,
    pub services: Vec<ServiceSpec>,
    #[serde(default)]
    pub changes: Vec<Change>,
}

impl Scenario {
    /// Reads and checks a scenario; errors name the line.
    pub fn from_yaml(text: &str) -> Result<Scenario, ScenarioError> {
        let scenario: Scenario = serde_yaml_ng::from_str(text).map_err(yaml_error)?;
        scenario.check(text)?;
        Ok(scenario)
    }

    fn check(&self, text: &str) -> Result<(), ScenarioError> {
        let invalid = |needle: &str, message: String| ScenarioError::Invalid {
            line: line_of(text, needle),
            message,
        };
        for name in self.asg.instance_type.names() {
            if !self.instance_types.contains_key(&name) {
                return Err(invalid(
                    &name,
                    format!("asg.instance_type {name:?} is not in instance_types"),
                ));
            }
        }
        if self.asg.instance_type.names().is_empty() {
            return Err(invalid(
                "instance_type",
                "asg.instance_type is empty".into(),
            ));
        }
        if self.asg.min > self.asg.max || self.asg.desired > self.asg.max {
            return Err(invalid("asg", "asg needs min <= desired <= max".into()));
        }
        if self.asg.azs.is_empty() {
            return Err(invalid("azs", "asg.azs needs at least one zone".into()));
        }
        if self.duration.0 == 0 {
            return Err(invalid("duration", "duration must be more than 0s".into()));
        }
        self.check_services(text)
    }

    fn check_services(&self, text: &str) -> Result<(), ScenarioError> {
        let mut seen = std::collections::BTreeSet::new();
        for service in &self.services {
            if !seen.insert(service.name.as_str()) {
                return Err(ScenarioError::Invalid {
                    line: line_of(text, &service.name),
                    message: format!("service {:?} is defined twice", service.name),
                });
            }
        }
        for change in &self.changes {
            if !seen.contains(change.service.as_str()) {
                return Err(ScenarioError::Invalid {
                    line: line_of(text, &format!("service: {}", change.service)),
                    message: format!("change names unknown service {:?}", change.service),
                });
            }
        }
        Ok(())
    }

    /// The group's instance types in launch order.
    pub fn launch_types(&self) -> Vec<(String, TypeSpec)> {
        self.asg
            .instance_type
            .names()
            .into_iter()
            .filter_map(|n| self.instance_types.get(&n).map(|t| (n, t.clone())))
            .collect()
    }
}

fn yaml_error(err: serde_yaml_ng::Error) -> ScenarioError {
    match err.location() {
        Some(location) => ScenarioError::Yaml {
            line: location.line(),
            column: location.column(),
            message: strip_location(&err.to_string()),
        },
        None => ScenarioError::Syntax {
            message: err.to_string(),
        },
    }
}

/// serde_yaml_ng appends " at line L column C"; we report the position in our own words.
fn strip_location(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

/// The first line mentioning `needle` (1-based), or 1: semantic errors are found after parsing,
/// when positions are gone, and the first mention is where a reader looks.
fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|l| l.contains(needle))
        .map_or(1, |i| i + 1)
}
