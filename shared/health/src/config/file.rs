//! The configuration file as written: serde shapes whose every scalar is checked where it
//! stands, so an error carries the scalar's line and column.

use super::{Resolvable, SsmParameter, StatusSet};
use crate::time::parse_duration;
use crate::yaml::{KeyRule, UniqueMap, deserialize_from_text};
use fleetwatch_alerts::Severity;
use serde::Deserialize;
use serde::de::{self, MapAccess, Visitor};
use std::fmt;
use std::time::Duration;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ConfigFile {
    #[serde(default)]
    pub(super) defaults: SettingsFile,
    pub(super) checks: Vec<CheckFile>,
}

/// The settings a check may give and `defaults:` may give for every check.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SettingsFile {
    pub(super) interval: Option<Dur>,
    pub(super) timeout: Option<Dur>,
    pub(super) failure_threshold: Option<Positive>,
    pub(super) success_threshold: Option<Positive>,
    pub(super) send_resolved: Option<bool>,
    pub(super) reminder: Option<Dur>,
    pub(super) severity: Option<SeverityName>,
    pub(super) labels: Option<UniqueMap<LabelName, LabelValue>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CheckFile {
    pub(super) name: CheckName,
    #[serde(rename = "type")]
    pub(super) kind: Option<Kind>,
    pub(super) url: Url,
    pub(super) method: Option<Method>,
    pub(super) headers: Option<UniqueMap<HeaderName, Resolvable>>,
    pub(super) body: Option<String>,
    pub(super) user: Option<Resolvable>,
    pub(super) api_token: Option<SsmOnly>,
    #[serde(default)]
    pub(super) conditions: Vec<ConditionFile>,
    // The settings of `SettingsFile`, written out: `#[serde(flatten)]` would buffer the values
    // and lose their positions (and it cannot deny unknown fields).
    pub(super) interval: Option<Dur>,
    pub(super) timeout: Option<Dur>,
    pub(super) failure_threshold: Option<Positive>,
    pub(super) success_threshold: Option<Positive>,
    pub(super) send_resolved: Option<bool>,
    pub(super) reminder: Option<Dur>,
    pub(super) severity: Option<SeverityName>,
    pub(super) labels: Option<UniqueMap<LabelName, LabelValue>>,
}

impl CheckFile {
    pub(super) fn take_settings(&mut self) -> SettingsFile {
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
pub(super) enum Kind {
    Http,
    Tcp,
    Jenkins,
}

/// One condition as written: a mapping with one key, `- status: 200`.
#[derive(Debug)]
pub(super) enum ConditionFile {
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

pub(super) struct ConditionVisitor;

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
pub(super) struct ConditionKey(pub(super) &'static str);
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
    pub(super) fn fits(&self, kind: Kind) -> bool {
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

    pub(super) fn key(&self) -> &'static str {
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
pub(super) struct JsonFile {
    pub(super) pointer: Pointer,
    pub(super) equals: serde_json::Value,
}

/// A duration (`10s`, `5m`, `1h30m`).
#[derive(Debug, Clone, Copy)]
pub(super) struct Dur(pub(super) Duration);
deserialize_from_text!(Dur, "a duration such as 10s, 5m or 1h", |text| {
    parse_duration(text).map(Dur)
});

/// A whole number of at least 1 (thresholds, counts).
#[derive(Debug, Clone, Copy)]
pub(super) struct Positive(pub(super) u32);
deserialize_from_text!(Positive, "a whole number of at least 1", |text| {
    match text.trim().parse::<u32>() {
        Ok(n) if n >= 1 => Ok(Positive(n)),
        _ => Err(format!("`{text}` is not a whole number of at least 1")),
    }
});

/// Read here rather than with `Severity`'s own `Deserialize`, whose error loses the position.
#[derive(Debug, Clone, Copy)]
pub(super) struct SeverityName(pub(super) Severity);
deserialize_from_text!(SeverityName, "a severity", |text| {
    Severity::parse(text)
        .map(SeverityName)
        .ok_or_else(|| format!("unknown severity `{text}`: one of info, warning, error, critical"))
});

#[derive(Debug)]
pub(super) struct NonEmpty(pub(super) String);
deserialize_from_text!(NonEmpty, "a non-empty text", |text| {
    if text.is_empty() {
        Err("empty text: it would match every body".to_owned())
    } else {
        Ok(NonEmpty(text.to_owned()))
    }
});

#[derive(Debug)]
pub(super) struct BodyRegex(pub(super) regex::Regex);
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
pub(super) struct Pointer(pub(super) String);
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
pub(super) struct CheckName(pub(super) String);
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
pub(super) struct JobName(pub(super) String);
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
pub(super) struct Method(pub(super) String);
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
pub(super) struct Url {
    pub(super) text: String,
    pub(super) scheme: Scheme,
    pub(super) host: String,
    pub(super) port: Option<u16>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Scheme {
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
pub(super) struct HeaderName;

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
pub(super) struct LabelName;

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
pub(super) struct LabelValue(pub(super) String);
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
pub(super) struct SsmOnly(pub(super) SsmParameter);

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

pub(super) struct ResolvableVisitor {
    pub(super) literal_allowed: bool,
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

pub(super) struct SsmName(pub(super) SsmParameter);
deserialize_from_text!(SsmName, "an SSM parameter name", |text| {
    SsmParameter::parse(text).map(SsmName)
});
