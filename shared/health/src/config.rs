//! The checks configuration: YAML text in, a validated [`Config`] out, or a [`ConfigError`]
//! naming the line and column of the mistake. The format is documented on the crate.
//!
//! Checks of one value (a duration, a URL, a regex, a status set) run while that value is
//! deserialised, so `serde_yaml_ng` places them; checks across values (unique names, the
//! interval against the schedule, a condition that does not fit the check's type) run in
//! [`Builder`] afterwards and find their node with [`locate`].

use crate::time::{format_duration, parse_duration};
use crate::yaml::{ConfigPath, KeyRule, UniqueMap, deserialize_from_text, locate};
use fleetwatch_alerts::Severity;
use serde::Deserialize;
use serde::de::{self, MapAccess, Visitor};
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
        let file: ConfigFile = serde_yaml_ng::from_str(source).map_err(ConfigError::from_yaml)?;
        Builder {
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

// ---------------------------------------------------------------------------------------------
// The file as written.

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    #[serde(default)]
    defaults: SettingsFile,
    checks: Vec<CheckFile>,
}

/// The settings a check may give and `defaults:` may give for every check.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SettingsFile {
    interval: Option<Dur>,
    timeout: Option<Dur>,
    failure_threshold: Option<Positive>,
    success_threshold: Option<Positive>,
    send_resolved: Option<bool>,
    reminder: Option<Dur>,
    severity: Option<SeverityName>,
    labels: Option<UniqueMap<LabelName, LabelValue>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckFile {
    name: CheckName,
    #[serde(rename = "type")]
    kind: Option<Kind>,
    url: Url,
    method: Option<Method>,
    headers: Option<UniqueMap<HeaderName, Resolvable>>,
    body: Option<String>,
    user: Option<Resolvable>,
    api_token: Option<SsmOnly>,
    #[serde(default)]
    conditions: Vec<ConditionFile>,
    // The settings of `SettingsFile`, written out: `#[serde(flatten)]` would buffer the values
    // and lose their positions (and it cannot deny unknown fields).
    interval: Option<Dur>,
    timeout: Option<Dur>,
    failure_threshold: Option<Positive>,
    success_threshold: Option<Positive>,
    send_resolved: Option<bool>,
    reminder: Option<Dur>,
    severity: Option<SeverityName>,
    labels: Option<UniqueMap<LabelName, LabelValue>>,
}

impl CheckFile {
    fn take_settings(&mut self) -> SettingsFile {
        SettingsFile {
            interval: self.interval.take(),
            timeout: self.timeout.take(),
            failure_threshold: self.failure_threshold.take(),
            success_threshold: self.success_threshold.take(),
            send_resolved: self.send_resolved.take(),
            reminder: self.reminder.take(),
            severity: self.severity.take(),
            labels: self.labels.take(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Kind {
    Http,
    Tcp,
    Jenkins,
}

/// One condition as written: a mapping with one key, `- status: 200`.
#[derive(Debug)]
enum ConditionFile {
    Status(StatusSet),
    BodyContains(NonEmpty),
    BodyMatches(BodyRegex),
    Json(JsonFile),
    ResponseTimeUnder(Dur),
    CertificateValidForMoreThan(Dur),
    OnlineExecutorsAtLeast(Positive),
    QueueItemsUnder(Positive),
    QueueOldestUnder(Dur),
    JobsNotFailed(Vec<JobName>),
}

/// The condition keys, in the order the documentation lists them.
const CONDITION_KEYS: [&str; 10] = [
    "status",
    "body_contains",
    "body_matches",
    "json",
    "response_time_under",
    "certificate_valid_for_more_than",
    "online_executors_at_least",
    "queue_items_under",
    "queue_oldest_under",
    "jobs_not_failed",
];

// By hand: serde_yaml_ng reads enums from YAML tags (`!status 200`), not from one-key
// mappings, and an unknown key must be reported at the key.
impl<'de> Deserialize<'de> for ConditionFile {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(ConditionVisitor)
    }
}

struct ConditionVisitor;

impl<'de> Visitor<'de> for ConditionVisitor {
    type Value = ConditionFile;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a condition such as `status: 200`")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ConditionFile, A::Error> {
        let Some(ConditionKey(key)) = map.next_key()? else {
            return Err(de::Error::custom(format!(
                "empty condition: write one of {}",
                CONDITION_KEYS.join(", ")
            )));
        };
        let condition = match key {
            "status" => ConditionFile::Status(map.next_value()?),
            "body_contains" => ConditionFile::BodyContains(map.next_value()?),
            "body_matches" => ConditionFile::BodyMatches(map.next_value()?),
            "json" => ConditionFile::Json(map.next_value()?),
            "response_time_under" => ConditionFile::ResponseTimeUnder(map.next_value()?),
            "certificate_valid_for_more_than" => {
                ConditionFile::CertificateValidForMoreThan(map.next_value()?)
            }
            "online_executors_at_least" => ConditionFile::OnlineExecutorsAtLeast(map.next_value()?),
            "queue_items_under" => ConditionFile::QueueItemsUnder(map.next_value()?),
            "queue_oldest_under" => ConditionFile::QueueOldestUnder(map.next_value()?),
            _ => ConditionFile::JobsNotFailed(map.next_value()?),
        };
        if let Some(ConditionKey(extra)) = map.next_key()? {
            return Err(de::Error::custom(format!(
                "one condition per list item: put `{extra}` in an item of its own (`- {extra}: ...`)"
            )));
        }
        Ok(condition)
    }
}

/// A known condition key, checked where it is written.
struct ConditionKey(&'static str);
deserialize_from_text!(ConditionKey, "a condition name", |text| {
    CONDITION_KEYS
        .iter()
        .find(|key| **key == text)
        .map(|key| ConditionKey(key))
        .ok_or_else(|| {
            format!(
                "unknown condition `{text}`, expected one of {}",
                CONDITION_KEYS.join(", ")
            )
        })
});

impl ConditionFile {
    /// The check types this condition fits.
    fn fits(&self, kind: Kind) -> bool {
        use ConditionFile::*;
        match self {
            ResponseTimeUnder(_) => true,
            Status(_)
            | BodyContains(_)
            | BodyMatches(_)
            | Json(_)
            | CertificateValidForMoreThan(_) => kind == Kind::Http,
            OnlineExecutorsAtLeast(_)
            | QueueItemsUnder(_)
            | QueueOldestUnder(_)
            | JobsNotFailed(_) => kind == Kind::Jenkins,
        }
    }

    fn key(&self) -> &'static str {
        use ConditionFile::*;
        match self {
            Status(_) => "status",
            BodyContains(_) => "body_contains",
            BodyMatches(_) => "body_matches",
            Json(_) => "json",
            ResponseTimeUnder(_) => "response_time_under",
            CertificateValidForMoreThan(_) => "certificate_valid_for_more_than",
            OnlineExecutorsAtLeast(_) => "online_executors_at_least",
            QueueItemsUnder(_) => "queue_items_under",
            QueueOldestUnder(_) => "queue_oldest_under",
            JobsNotFailed(_) => "jobs_not_failed",
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonFile {
    pointer: Pointer,
    equals: serde_json::Value,
}

/// A duration (`10s`, `5m`, `1h30m`).
#[derive(Debug, Clone, Copy)]
struct Dur(Duration);
deserialize_from_text!(Dur, "a duration such as 10s, 5m or 1h", |text| {
    parse_duration(text).map(Dur)
});

/// A whole number of at least 1 (thresholds, counts).
#[derive(Debug, Clone, Copy)]
struct Positive(u32);
deserialize_from_text!(Positive, "a whole number of at least 1", |text| {
    match text.trim().parse::<u32>() {
        Ok(n) if n >= 1 => Ok(Positive(n)),
        _ => Err(format!("`{text}` is not a whole number of at least 1")),
    }
});

/// Read here rather than with `Severity`'s own `Deserialize`, whose error loses the position.
#[derive(Debug, Clone, Copy)]
struct SeverityName(Severity);
deserialize_from_text!(SeverityName, "a severity", |text| {
    Severity::parse(text)
        .map(SeverityName)
        .ok_or_else(|| format!("unknown severity `{text}`: one of info, warning, error, critical"))
});

#[derive(Debug)]
struct NonEmpty(String);
deserialize_from_text!(NonEmpty, "a non-empty text", |text| {
    if text.is_empty() {
        Err("empty text: it would match every body".to_owned())
    } else {
        Ok(NonEmpty(text.to_owned()))
    }
});

#[derive(Debug)]
struct BodyRegex(regex::Regex);
deserialize_from_text!(BodyRegex, "a regular expression", |text| {
    regex::Regex::new(text)
        .map(BodyRegex)
        .map_err(|error| format!("invalid regex `{text}`: {}", regex_reason(&error)))
});

/// The last line of the regex crate's message says what is wrong; the rest draws the pattern.
fn regex_reason(error: &regex::Error) -> String {
    let text = error.to_string();
    let reason = text.lines().rev().find(|l| !l.trim().is_empty());
    reason
        .unwrap_or(&text)
        .trim_start_matches("error: ")
        .to_owned()
}

/// An RFC 6901 JSON pointer.
#[derive(Debug)]
struct Pointer(String);
deserialize_from_text!(Pointer, "a JSON pointer such as /status", |text| {
    let bad_escape = text
        .match_indices('~')
        .any(|(at, _)| !matches!(text.as_bytes().get(at + 1), Some(b'0' | b'1')));
    if !(text.is_empty() || text.starts_with('/')) || bad_escape {
        return Err(format!(
            "invalid JSON pointer `{text}`: it starts with `/` (e.g. /status, /data/0/state; `~1` for a `/` in a key)"
        ));
    }
    Ok(Pointer(text.to_owned()))
});

#[derive(Debug)]
struct CheckName(String);
deserialize_from_text!(CheckName, "a check name", |text| {
    let plain = |c: char| c.is_ascii_alphanumeric() || "._-".contains(c);
    if !text.is_empty() && text.len() <= 100 && text.chars().all(plain) {
        Ok(CheckName(text.to_owned()))
    } else {
        Err(format!(
            "invalid check name `{text}`: 1-100 letters, digits, `.`, `_` and `-` (it becomes part of alert ids and state keys)"
        ))
    }
});

/// A Jenkins job: `name`, or `folder/name` for a job in a folder.
#[derive(Debug)]
struct JobName(String);
deserialize_from_text!(JobName, "a job name", |text| {
    if text.split('/').any(|segment| segment.trim().is_empty()) {
        Err(format!(
            "invalid job name `{text}`: write the job's name, or folder/name for a job in a folder"
        ))
    } else {
        Ok(JobName(text.to_owned()))
    }
});

#[derive(Debug)]
struct Method(String);
deserialize_from_text!(Method, "an HTTP method", |text| {
    const METHODS: [&str; 7] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];
    let upper = text.to_ascii_uppercase();
    if METHODS.contains(&upper.as_str()) {
        Ok(Method(upper))
    } else {
        Err(format!(
            "unknown method `{text}`: one of {}",
            METHODS.join(", ")
        ))
    }
});

/// A check URL: `http://`, `https://` or `tcp://host:port`, without credentials in it.
#[derive(Debug)]
struct Url {
    text: String,
    scheme: Scheme,
    host: String,
    port: Option<u16>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scheme {
    Http,
    Https,
    Tcp,
}

deserialize_from_text!(Url, "a URL", parse_url);

fn parse_url(text: &str) -> Result<Url, String> {
    let invalid = |why: &str| format!("invalid URL `{text}`: {why}");
    let (scheme, rest) = text
        .split_once("://")
        .ok_or_else(|| invalid("write http://, https:// or tcp://host:port"))?;
    let scheme = match scheme.to_ascii_lowercase().as_str() {
        "http" => Scheme::Http,
        "https" => Scheme::Https,
        "tcp" => Scheme::Tcp,
        _ => return Err(invalid("the scheme must be http, https or tcp")),
    };
    if text.chars().any(char::is_whitespace) {
        return Err(invalid("it contains whitespace"));
    }
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(end);
    if authority.contains('@') {
        return Err(invalid(
            "credentials in a URL end up in logs and alerts; send them in a header whose value names an SSM parameter",
        ));
    }
    let (host, port) = split_host_port(authority).map_err(|why| invalid(&why))?;
    if scheme == Scheme::Tcp && (port.is_none() || !path.is_empty()) {
        return Err(invalid("a TCP check is tcp://host:port, nothing more"));
    }
    Ok(Url {
        text: text.to_owned(),
        scheme,
        host,
        port,
    })
}

fn split_host_port(authority: &str) -> Result<(String, Option<u16>), String> {
    let (host, port) = match authority.strip_prefix('[') {
        Some(v6) => {
            let (host, after) = v6
                .split_once(']')
                .ok_or("unclosed `[` around an IPv6 address")?;
            (host, after.strip_prefix(':'))
        }
        None => match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        },
    };
    if host.is_empty() {
        return Err("no host".to_owned());
    }
    let port = port
        .map(|p| {
            p.parse::<u16>()
                .ok()
                .filter(|p| *p > 0)
                .ok_or("invalid port")
        })
        .transpose()?;
    Ok((host.to_owned(), port))
}

/// Header names: RFC 9110 tokens.
#[derive(Debug)]
struct HeaderName;

impl KeyRule for HeaderName {
    fn check_key(key: &str) -> Result<(), String> {
        let token = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
        if !key.is_empty() && key.chars().all(token) {
            Ok(())
        } else {
            Err(format!("invalid header name `{key}`"))
        }
    }
}

#[derive(Debug)]
struct LabelName;

impl KeyRule for LabelName {
    fn check_key(key: &str) -> Result<(), String> {
        let plain = |c: char| c.is_ascii_alphanumeric() || c == '_';
        if !key.is_empty() && key.chars().all(plain) {
            Ok(())
        } else {
            Err(format!(
                "invalid label name `{key}`: letters, digits and `_` (routing matches on it)"
            ))
        }
    }
}

#[derive(Debug, Clone)]
struct LabelValue(String);
deserialize_from_text!(LabelValue, "a label value", |text| {
    Ok(LabelValue(text.to_owned()))
});

/// `value` or `{ssm: /parameter/name}`.
impl<'de> Deserialize<'de> for Resolvable {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ResolvableVisitor {
            literal_allowed: true,
        })
    }
}

/// A value that must come from SSM: a token written in the file is a secret in plain text.
#[derive(Debug)]
struct SsmOnly(SsmParameter);

impl<'de> Deserialize<'de> for SsmOnly {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match deserializer.deserialize_any(ResolvableVisitor {
            literal_allowed: false,
        })? {
            Resolvable::Ssm(parameter) => Ok(SsmOnly(parameter)),
            // The visitor refuses literals with a positioned message; this is only a backstop.
            Resolvable::Literal(_) => Err(de::Error::custom("write {ssm: /parameter/name}")),
        }
    }
}

struct ResolvableVisitor {
    literal_allowed: bool,
}

impl<'de> Visitor<'de> for ResolvableVisitor {
    type Value = Resolvable;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.literal_allowed {
            f.write_str("a value or {ssm: /parameter/name}")
        } else {
            f.write_str("{ssm: /parameter/name}")
        }
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Resolvable, E> {
        if self.literal_allowed {
            Ok(Resolvable::Literal(text.to_owned()))
        } else {
            Err(E::custom(
                "write {ssm: /parameter/name}: a token in the configuration is a secret in plain text",
            ))
        }
    }

    fn visit_u64<E: de::Error>(self, number: u64) -> Result<Resolvable, E> {
        self.visit_str(&number.to_string())
    }

    fn visit_i64<E: de::Error>(self, number: i64) -> Result<Resolvable, E> {
        self.visit_str(&number.to_string())
    }

    // `X-Debug: true`: a header value is text.
    fn visit_bool<E: de::Error>(self, value: bool) -> Result<Resolvable, E> {
        self.visit_str(if value { "true" } else { "false" })
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Resolvable, A::Error> {
        let mut parameter = None;
        while let Some(key) = map.next_key::<String>()? {
            if key != "ssm" || parameter.is_some() {
                return Err(de::Error::custom(format!(
                    "unexpected key `{key}`: write {{ssm: /parameter/name}}"
                )));
            }
            parameter = Some(map.next_value::<SsmName>()?.0);
        }
        parameter
            .map(Resolvable::Ssm)
            .ok_or_else(|| de::Error::custom("empty mapping: write {ssm: /parameter/name}"))
    }
}

struct SsmName(SsmParameter);
deserialize_from_text!(SsmName, "an SSM parameter name", |text| {
    SsmParameter::parse(text).map(SsmName)
});

// ---------------------------------------------------------------------------------------------
// Checks across values.

/// Gatus refuses reminders more often than this: a reminder every minute is noise, not news.
const MIN_REMINDER: Duration = Duration::from_secs(300);
/// Gatus' default client timeout.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
const DEFAULT_FAILURE_THRESHOLD: u32 = 3;
const DEFAULT_SUCCESS_THRESHOLD: u32 = 2;

struct Builder<'s> {
    source: &'s str,
    schedule_period: Duration,
}

/// A semantic mistake before it has a position.
type Mistake = (ConfigPath, String);

impl Builder<'_> {
    fn build(&self, file: ConfigFile) -> Result<Config, ConfigError> {
        self.checked(file).map_err(|(path, message)| {
            let message = format!("{path}: {message}");
            match locate(self.source, &path) {
                Some((line, column)) => ConfigError::At {
                    line,
                    column,
                    message,
                    source: None,
                },
                None => ConfigError::Unplaced {
                    message,
                    source: None,
                },
            }
        })
    }

    fn checked(&self, file: ConfigFile) -> Result<Config, Mistake> {
        let root = ConfigPath::default();
        if self.schedule_period.is_zero() {
            return Err((root, "the schedule period must be more than 0s".to_owned()));
        }
        let defaults_path = root.key("defaults");
        self.check_settings(&defaults_path, &file.defaults)?;
        if file.checks.is_empty() {
            return Err((
                root.key("checks"),
                "no checks: list at least one".to_owned(),
            ));
        }
        let mut checks: Vec<Check> = Vec::new();
        for (index, check_file) in file.checks.into_iter().enumerate() {
            let path = root.key("checks").index(index);
            let check = self.check(&path, check_file, &file.defaults)?;
            if let Some(earlier) = checks.iter().position(|c| c.name == check.name) {
                return Err((
                    path.key("name"),
                    format!(
                        "duplicate check name `{}` (also checks[{earlier}]): the name identifies the check's state and alerts",
                        check.name
                    ),
                ));
            }
            checks.push(check);
        }
        Ok(Config { checks })
    }

    /// The rules a setting must follow wherever it is written.
    fn check_settings(&self, path: &ConfigPath, settings: &SettingsFile) -> Result<(), Mistake> {
        let period = self.schedule_period;
        if let Some(Dur(interval)) = settings.interval
            && (interval.is_zero() || interval.as_millis() % period.as_millis() != 0)
        {
            return Err((
                path.key("interval"),
                format!(
                    "interval {} is not a multiple of the schedule period {}: the check could only run late",
                    format_duration(interval),
                    format_duration(period)
                ),
            ));
        }
        if let Some(Dur(timeout)) = settings.timeout
            && (timeout.is_zero() || timeout > period)
        {
            return Err((
                path.key("timeout"),
                format!(
                    "timeout {} must be more than 0s and at most the schedule period {}: a slower check would overlap the next run",
                    format_duration(timeout),
                    format_duration(period)
                ),
            ));
        }
        if let Some(Dur(reminder)) = settings.reminder
            && reminder < MIN_REMINDER
        {
            return Err((
                path.key("reminder"),
                format!(
                    "reminder {} is too frequent: at least {} (as Gatus requires)",
                    format_duration(reminder),
                    format_duration(MIN_REMINDER)
                ),
            ));
        }
        Ok(())
    }

    fn check(
        &self,
        path: &ConfigPath,
        mut file: CheckFile,
        defaults: &SettingsFile,
    ) -> Result<Check, Mistake> {
        let own = file.take_settings();
        self.check_settings(path, &own)?;
        let settings = &own;
        let interval = settings
            .interval
            .or(defaults.interval)
            .map_or(self.schedule_period, |d| d.0);
        let timeout = settings
            .timeout
            .or(defaults.timeout)
            .map_or(DEFAULT_TIMEOUT.min(self.schedule_period), |d| d.0);
        let alerting = Alerting {
            failure_threshold: settings
                .failure_threshold
                .or(defaults.failure_threshold)
                .map_or(DEFAULT_FAILURE_THRESHOLD, |n| n.0),
            success_threshold: settings
                .success_threshold
                .or(defaults.success_threshold)
                .map_or(DEFAULT_SUCCESS_THRESHOLD, |n| n.0),
            send_resolved: settings
                .send_resolved
                .or(defaults.send_resolved)
                .unwrap_or(true),
            reminder: settings.reminder.or(defaults.reminder).map(|d| d.0),
            severity: settings
                .severity
                .or(defaults.severity)
                .map_or(Severity::Error, |s| s.0),
        };
        if let Some(reminder) = alerting.reminder
            && reminder < interval
        {
            let at = if settings.reminder.is_some() {
                path.key("reminder")
            } else {
                path.key("interval")
            };
            return Err((
                at,
                format!(
                    "reminder {} is shorter than the interval {}: reminders can only come with runs",
                    format_duration(reminder),
                    format_duration(interval)
                ),
            ));
        }
        let labels = merged_labels(defaults, settings);
        let name = file.name.0.clone();
        let target = self.target(path, file)?;
        Ok(Check {
            name,
            target,
            interval,
            timeout,
            alerting,
            labels,
        })
    }

    fn target(&self, path: &ConfigPath, file: CheckFile) -> Result<Target, Mistake> {
        let kind = self.kind(path, &file)?;
        self.refuse_keys_of_other_kinds(path, &file, kind)?;
        for (index, condition) in file.conditions.iter().enumerate() {
            if !condition.fits(kind) {
                return Err((
                    path.key("conditions").index(index),
                    format!(
                        "`{}` does not apply to {} check ({})",
                        condition.key(),
                        a_kind(kind),
                        conditions_of(kind)
                    ),
                ));
            }
        }
        match kind {
            Kind::Http => Ok(Target::Http(http_target(file))),
            Kind::Tcp => Ok(Target::Tcp(TcpTarget {
                host: file.url.host,
                port: file.url.port.unwrap_or_default(),
                conditions: file.conditions.into_iter().map(http_condition).collect(),
            })),
            Kind::Jenkins => self.jenkins_target(path, file).map(Target::Jenkins),
        }
    }

    /// The type written, or the one the URL implies; they must agree.
    fn kind(&self, path: &ConfigPath, file: &CheckFile) -> Result<Kind, Mistake> {
        let implied = if file.url.scheme == Scheme::Tcp {
            Kind::Tcp
        } else {
            Kind::Http
        };
        let kind = file.kind.unwrap_or(implied);
        let agrees = match kind {
            Kind::Tcp => file.url.scheme == Scheme::Tcp,
            Kind::Http | Kind::Jenkins => file.url.scheme != Scheme::Tcp,
        };
        if !agrees {
            return Err((
                path.key("url"),
                format!(
                    "{} check needs {} URL, not `{}`",
                    a_kind(kind),
                    if kind == Kind::Tcp {
                        "a tcp://host:port"
                    } else {
                        "an http:// or https://"
                    },
                    file.url.text
                ),
            ));
        }
        if file
            .conditions
            .iter()
            .any(|c| matches!(c, ConditionFile::CertificateValidForMoreThan(_)))
            && file.url.scheme != Scheme::Https
        {
            let index = file
                .conditions
                .iter()
                .position(|c| matches!(c, ConditionFile::CertificateValidForMoreThan(_)))
                .unwrap_or_default();
            return Err((
                path.key("conditions").index(index),
                "a certificate condition needs an https:// URL".to_owned(),
            ));
        }
        Ok(kind)
    }

    fn refuse_keys_of_other_kinds(
        &self,
        path: &ConfigPath,
        file: &CheckFile,
        kind: Kind,
    ) -> Result<(), Mistake> {
        let written = [
            ("method", file.method.is_some(), Kind::Http),
            ("headers", file.headers.is_some(), Kind::Http),
            ("body", file.body.is_some(), Kind::Http),
            ("user", file.user.is_some(), Kind::Jenkins),
            ("api_token", file.api_token.is_some(), Kind::Jenkins),
        ];
        for (key, present, only) in written {
            if present && kind != only {
                return Err((
                    path.key(key),
                    format!(
                        "`{key}` is for {} checks only; this is {} check",
                        kind_name(only),
                        a_kind(kind)
                    ),
                ));
            }
        }
        Ok(())
    }

    fn jenkins_target(&self, path: &ConfigPath, file: CheckFile) -> Result<JenkinsTarget, Mistake> {
        let missing = |key: &str| {
            (
                path.clone(),
                format!(
                    "a jenkins check needs `{key}` (the user and an API token from SSM: Jenkins answers /api/json only to an authenticated user)"
                ),
            )
        };
        let user = file.user.ok_or_else(|| missing("user"))?;
        let api_token = file.api_token.ok_or_else(|| missing("api_token"))?.0;
        let mut conditions = JenkinsConditions::default();
        let mut seen: Vec<&'static str> = Vec::new();
        for (index, condition) in file.conditions.into_iter().enumerate() {
            let key = condition.key();
            if seen.contains(&key) {
                return Err((
                    path.key("conditions").index(index),
                    format!("`{key}` is given twice: keep one"),
                ));
            }
            seen.push(key);
            match condition {
                ConditionFile::OnlineExecutorsAtLeast(n) => {
                    conditions.online_executors_at_least = Some(n.0);
                }
                ConditionFile::QueueItemsUnder(n) => conditions.queue_items_under = Some(n.0),
                ConditionFile::QueueOldestUnder(d) => conditions.queue_oldest_under = Some(d.0),
                ConditionFile::JobsNotFailed(jobs) => {
                    conditions.jobs_not_failed = jobs.into_iter().map(|j| j.0).collect();
                }
                // `fits` let only Jenkins conditions and the response time through.
                _ => {
                    return Err((
                        path.key("conditions").index(index),
                        format!("`{key}` does not apply to a jenkins check"),
                    ));
                }
            }
        }
        Ok(JenkinsTarget {
            url: file.url.text.trim_end_matches('/').to_owned(),
            user,
            api_token,
            conditions,
        })
    }
}

fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Http => "http",
        Kind::Tcp => "tcp",
        Kind::Jenkins => "jenkins",
    }
}

fn a_kind(kind: Kind) -> &'static str {
    match kind {
        Kind::Http => "an http",
        Kind::Tcp => "a tcp",
        Kind::Jenkins => "a jenkins",
    }
}

fn conditions_of(kind: Kind) -> &'static str {
    match kind {
        Kind::Http => {
            "http conditions: status, body_contains, body_matches, json, response_time_under, certificate_valid_for_more_than"
        }
        Kind::Tcp => "tcp conditions: response_time_under",
        Kind::Jenkins => {
            "jenkins conditions: online_executors_at_least, queue_items_under, queue_oldest_under, jobs_not_failed"
        }
    }
}

fn http_target(file: CheckFile) -> HttpTarget {
    let mut conditions: Vec<Condition> = file.conditions.into_iter().map(http_condition).collect();
    if !conditions.iter().any(|c| matches!(c, Condition::Status(_))) {
        conditions.insert(0, Condition::Status(StatusSet::success()));
    }
    let headers = file
        .headers
        .unwrap_or_default()
        .0
        .into_iter()
        .map(|(name, value)| Header { name, value })
        .collect();
    HttpTarget {
        url: file.url.text,
        method: file.method.map_or_else(|| "GET".to_owned(), |m| m.0),
        headers,
        body: file.body,
        conditions,
    }
}

/// Only called with conditions that fit an HTTP or TCP check.
fn http_condition(file: ConditionFile) -> Condition {
    match file {
        ConditionFile::Status(set) => Condition::Status(set),
        ConditionFile::BodyContains(text) => Condition::BodyContains(text.0),
        ConditionFile::BodyMatches(regex) => Condition::BodyMatches(regex.0),
        ConditionFile::Json(json) => Condition::JsonPointer {
            pointer: json.pointer.0,
            equals: json.equals,
        },
        ConditionFile::ResponseTimeUnder(d) => Condition::ResponseTimeUnder(d.0),
        ConditionFile::CertificateValidForMoreThan(d) => {
            Condition::CertificateValidForMoreThan(d.0)
        }
        other => unreachable!("`{}` was refused for http and tcp checks", other.key()),
    }
}

/// `defaults.labels` overlaid with the check's own.
fn merged_labels(defaults: &SettingsFile, own: &SettingsFile) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::new();
    for map in [&defaults.labels, &own.labels].into_iter().flatten() {
        for (name, value) in &map.0 {
            labels.insert(name.clone(), value.0.clone());
        }
    }
    labels
}
