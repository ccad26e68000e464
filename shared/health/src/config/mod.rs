//! The checks configuration: YAML text in, a validated [`Config`] out, or a [`ConfigError`]
//! naming the line and column of the mistake. The format is documented on the crate.
//!
//! Checks of one value (a duration, a URL, a regex, a status set) run while that value is
//! deserialised, so `serde_yaml_ng` places them; checks across values (unique names, the
//! interval against the schedule, a condition that does not fit the check's type) run in
//! `build` afterwards and find their node with `locate`.

mod build;
mod file;

use crate::yaml::deserialize_from_text;
use fleetwatch_alerts::Severity;
use serde::Deserialize;
use serde::de::{self, Visitor};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::ops::RangeInclusive;
use std::time::Duration;

/// A configuration mistake, with its place in the text when it has one (an empty text has none).
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("health checks configuration, line {line} column {column}: {message}")]
    At {
        line: usize,
        column: usize,
        message: String,
        /// The YAML parser's own error, when it found the mistake.
        #[source]
        source: Option<serde_yaml_ng::Error>,
    },
    #[error("health checks configuration: {message}")]
    Unplaced {
        message: String,
        #[source]
        source: Option<serde_yaml_ng::Error>,
    },
}

impl ConfigError {
    /// The 1-based line of the mistake.
    pub fn line(&self) -> Option<usize> {
        match self {
            ConfigError::At { line, .. } => Some(*line),
            ConfigError::Unplaced { .. } => None,
        }
    }

    /// The 1-based column of the mistake.
    pub fn column(&self) -> Option<usize> {
        match self {
            ConfigError::At { column, .. } => Some(*column),
            ConfigError::Unplaced { .. } => None,
        }
    }

    /// What is wrong, without the position.
    pub fn message(&self) -> &str {
        match self {
            ConfigError::At { message, .. } | ConfigError::Unplaced { message, .. } => message,
        }
    }

    fn from_yaml(error: serde_yaml_ng::Error) -> Self {
        let text = error.to_string();
        let Some(location) = error.location() else {
            return ConfigError::Unplaced {
                message: text,
                source: Some(error),
            };
        };
        let (line, column) = (location.line(), location.column());
        // The parser repeats the position in its text; it is in our fields.
        let message = text.replacen(&format!(" at line {line} column {column}"), "", 1);
        ConfigError::At {
            line,
            column,
            message,
            source: Some(error),
        }
    }
}

/// A validated configuration: at least one check, names unique.
#[derive(Debug, Clone)]
pub struct Config {
    checks: Vec<Check>,
}

impl Config {
    /// Parses and validates YAML text (from an SSM parameter, a file, a test).
    ///
    /// `schedule_period` is how often the function runs (its EventBridge schedule): every
    /// check's interval must be a multiple of it, and it is the default interval.
    pub fn from_yaml(source: &str, schedule_period: Duration) -> Result<Config, ConfigError> {
        if source.trim().is_empty() {
            return Err(ConfigError::Unplaced {
                message: "the configuration is empty: list at least one check under `checks:`"
                    .to_owned(),
                source: None,
            });
        }
        let file: file::ConfigFile =
            serde_yaml_ng::from_str(source).map_err(ConfigError::from_yaml)?;
        build::Builder {
            source,
            schedule_period,
        }
        .build(file)
    }

    /// The checks in the order written.
    pub fn checks(&self) -> &[Check] {
        &self.checks
    }

    pub fn check(&self, name: &str) -> Option<&Check> {
        self.checks.iter().find(|check| check.name == name)
    }

    /// Every SSM parameter the checks name (header values, Jenkins credentials): what the
    /// adapter resolves, and what its IAM policy must allow reading.
    pub fn ssm_parameters(&self) -> BTreeSet<&str> {
        self.checks
            .iter()
            .flat_map(Check::ssm_parameters)
            .map(SsmParameter::name)
            .collect()
    }
}

/// One check with every default applied.
#[derive(Debug, Clone)]
pub struct Check {
    /// Unique; letters, digits, `.`, `_`, `-`. Part of alert fingerprints and state keys.
    pub name: String,
    pub target: Target,
    /// How often it runs: a multiple of the schedule period.
    pub interval: Duration,
    /// For each request or connection.
    pub timeout: Duration,
    pub alerting: Alerting,
    /// Put on every alert of the check, for routing (with `check` and `check_type`).
    pub labels: BTreeMap<String, String>,
}

impl Check {
    /// `http`, `tcp` or `jenkins`.
    pub fn kind(&self) -> &'static str {
        match self.target {
            Target::Http(_) => "http",
            Target::Tcp(_) => "tcp",
            Target::Jenkins(_) => "jenkins",
        }
    }

    /// The URL as written (TCP: `tcp://host:port`).
    pub fn url(&self) -> String {
        match &self.target {
            Target::Http(http) => http.url.clone(),
            Target::Tcp(tcp) => format!("tcp://{}", tcp.address()),
            Target::Jenkins(jenkins) => jenkins.url.clone(),
        }
    }

    /// The SSM parameters this check needs resolved.
    pub fn ssm_parameters(&self) -> Vec<&SsmParameter> {
        match &self.target {
            Target::Http(http) => http
                .headers
                .iter()
                .filter_map(|h| h.value.ssm_parameter())
                .collect(),
            Target::Tcp(_) => Vec::new(),
            Target::Jenkins(jenkins) => jenkins
                .user
                .ssm_parameter()
                .into_iter()
                .chain([&jenkins.api_token])
                .collect(),
        }
    }
}

/// What a check probes.
#[derive(Debug, Clone)]
pub enum Target {
    Http(HttpTarget),
    Tcp(TcpTarget),
    Jenkins(JenkinsTarget),
}

#[derive(Debug, Clone)]
pub struct HttpTarget {
    pub url: String,
    /// Upper case: `GET` (the default), `HEAD`, `POST`, ...
    pub method: String,
    pub headers: Vec<Header>,
    pub body: Option<String>,
    /// All must hold. Never empty: without a `status` condition, `status: 200-299` is added.
    pub conditions: Vec<Condition>,
}

#[derive(Debug, Clone)]
pub struct TcpTarget {
    pub host: String,
    pub port: u16,
    /// Only [`Condition::ResponseTimeUnder`]; connecting is always required.
    pub conditions: Vec<Condition>,
}

impl TcpTarget {
    /// `host:port`, with brackets around an IPv6 address.
    pub fn address(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

#[derive(Debug, Clone)]
pub struct JenkinsTarget {
    /// The controller's base URL without a trailing `/` (may have a path, `https://ci/jenkins`).
    pub url: String,
    pub user: Resolvable,
    /// The user's API token: always an SSM SecureString parameter.
    pub api_token: SsmParameter,
    pub conditions: JenkinsConditions,
}

/// Jenkins conditions beyond the two always checked: the controller answers `/api/json`, and
/// it is not quieting down (preparing for shutdown: it starts no new builds).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JenkinsConditions {
    /// Executors on online nodes (`/computer/api/json`).
    pub online_executors_at_least: Option<u32>,
    /// Items in the build queue (`/queue/api/json`), blocked ones included.
    pub queue_items_under: Option<u32>,
    /// Age of the oldest queue item that is not blocked (`inQueueSince`).
    pub queue_oldest_under: Option<Duration>,
    /// Jobs (folders as `folder/job`) whose last completed build must not be `FAILURE`.
    pub jobs_not_failed: Vec<String>,
}

/// When alerts are sent (Gatus' alert settings).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alerting {
    /// Failed runs in a row that open an incident (default 3).
    pub failure_threshold: u32,
    /// Successful runs in a row that resolve it (default 2).
    pub success_threshold: u32,
    /// Send a resolved message (default true).
    pub send_resolved: bool,
    /// Remind this often while the incident stays open (default: never).
    pub reminder: Option<Duration>,
    /// Of the firing messages (default `error`).
    pub severity: Severity,
}

/// A request header. The value may name an SSM parameter the adapter resolves before sending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub name: String,
    pub value: Resolvable,
}

/// A value written in the configuration, or a reference to an SSM SecureString parameter that
/// holds it (`{ssm: /fleetwatch/jenkins/token}`), left unresolved: resolving is I/O.
#[derive(Clone, PartialEq, Eq)]
pub enum Resolvable {
    Literal(String),
    Ssm(SsmParameter),
}

impl Resolvable {
    pub fn ssm_parameter(&self) -> Option<&SsmParameter> {
        match self {
            Resolvable::Literal(_) => None,
            Resolvable::Ssm(parameter) => Some(parameter),
        }
    }
}

/// The value is left out: header values are often credentials, and a `{check:?}` in a log line
/// must not print them.
impl fmt::Debug for Resolvable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Resolvable::Literal(value) => write!(f, "Literal(<{} bytes>)", value.len()),
            Resolvable::Ssm(parameter) => write!(f, "Ssm({:?})", parameter.name()),
        }
    }
}

/// The name of an SSM parameter (`/fleetwatch/jenkins/token`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct SsmParameter(String);

impl SsmParameter {
    pub fn name(&self) -> &str {
        &self.0
    }

    fn parse(text: &str) -> Result<SsmParameter, String> {
        let allowed = |c: char| c.is_ascii_alphanumeric() || "_.-/".contains(c);
        if !text.is_empty() && text.len() <= 2048 && text.chars().all(allowed) {
            Ok(SsmParameter(text.to_owned()))
        } else {
            Err(format!(
                "invalid SSM parameter name `{text}`: letters, digits, `_ . - /`, e.g. /fleetwatch/jenkins/token"
            ))
        }
    }
}

/// One condition of an HTTP or TCP check.
#[derive(Debug, Clone)]
pub enum Condition {
    /// The response status is in the set.
    Status(StatusSet),
    /// The body contains this text.
    BodyContains(String),
    /// The regex matches somewhere in the body (anchor it with `^…$` for the whole body).
    BodyMatches(regex::Regex),
    /// The JSON body has this value at this JSON pointer (RFC 6901, `/data/0/status`).
    JsonPointer {
        pointer: String,
        equals: serde_json::Value,
    },
    /// The whole request (or connect) took less than this.
    ResponseTimeUnder(Duration),
    /// The server's certificate expires more than this from now.
    CertificateValidForMoreThan(Duration),
}

/// Accepted response statuses: single codes and inclusive ranges (`[200-299, 304]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusSet(Vec<RangeInclusive<u16>>);

impl StatusSet {
    /// 200-299, the default when a check names no status (as Uptime Kuma and most probes do).
    pub fn success() -> Self {
        StatusSet(vec![200..=299])
    }

    pub fn contains(&self, status: u16) -> bool {
        self.0.iter().any(|range| range.contains(&status))
    }

    fn parse_item(text: &str) -> Result<RangeInclusive<u16>, String> {
        let code = |part: &str| {
            part.trim()
                .parse::<u16>()
                .ok()
                .filter(|code| (100..=599).contains(code))
                .ok_or_else(|| {
                    format!("invalid status `{text}`: write a code 100-599 or a range like 200-299")
                })
        };
        let range = match text.split_once('-') {
            Some((low, high)) => code(low)?..=code(high)?,
            None => code(text)?..=code(text)?,
        };
        if range.is_empty() {
            return Err(format!("invalid status range `{text}`: low end first"));
        }
        Ok(range)
    }
}

/// `[200..299]`, `[200, 204]`, `[200..299, 304]`.
impl fmt::Display for StatusSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let items: Vec<String> = self
            .0
            .iter()
            .map(|range| match (range.start(), range.end()) {
                (low, high) if low == high => low.to_string(),
                (low, high) => format!("{low}..{high}"),
            })
            .collect();
        write!(f, "[{}]", items.join(", "))
    }
}

impl<'de> Deserialize<'de> for StatusSet {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StatusSetVisitor)
    }
}

struct StatusSetVisitor;

impl<'de> Visitor<'de> for StatusSetVisitor {
    type Value = StatusSet;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a status code, a range like 200-299, or a list of them")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<StatusSet, E> {
        Ok(StatusSet(vec![
            StatusSet::parse_item(text).map_err(E::custom)?,
        ]))
    }

    fn visit_u64<E: de::Error>(self, number: u64) -> Result<StatusSet, E> {
        self.visit_str(&number.to_string())
    }

    fn visit_i64<E: de::Error>(self, number: i64) -> Result<StatusSet, E> {
        self.visit_str(&number.to_string())
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<StatusSet, A::Error> {
        let mut ranges = Vec::new();
        while let Some(StatusItem(range)) = seq.next_element()? {
            ranges.push(range);
        }
        if ranges.is_empty() {
            return Err(de::Error::custom(
                "empty status list: no response could pass; list codes or leave `status` out for 200-299",
            ));
        }
        Ok(StatusSet(ranges))
    }
}

/// One list item of a status set, parsed where it stands so its error points at it.
struct StatusItem(RangeInclusive<u16>);
deserialize_from_text!(
    StatusItem,
    "a status code or a range like 200-299",
    |text| { StatusSet::parse_item(text).map(StatusItem) }
);
