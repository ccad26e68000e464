//! The `Alert`: one shape for every source, and the JSON message format of the alerts queue.
//!
//! Every producer (the `ecs-events`, `capacity`, `health-check` and `alb-logs` functions, scripts)
//! puts this JSON on the alerts queue; `slack-fanout` recognises it and passes it through.
//!
//! ```json
//! {
//!   "id": "9f2c1d0e5b7a4c3e8d6f1a2b3c4d5e6f",
//!   "fingerprint": "ecs:prod:service/api:deployment",
//!   "source": "ecs_events",
//!   "severity": "error",
//!   "status": "firing",
//!   "title": "Deployment of api rolled back",
//!   "summary": "ECS deployment circuit breaker: task failed to start.",
//!   "fields": [
//!     {"name": "Cluster", "value": "prod"},
//!     {"name": "Service", "value": "api"}
//!   ],
//!   "links": [
//!     {"title": "Service in console", "url": "https://console.aws.amazon.com/ecs/v2/clusters/prod/services/api"}
//!   ],
//!   "labels": {"cluster": "prod", "service": "api", "team": "payments"},
//!   "thread_key": "ecs-svc/123",
//!   "occurred_at": "2020-05-23T12:31:14Z"
//! }
//! ```
//!
//! - `source` and `title` are required; everything else has a default: `severity` `warning`,
//!   `status` `firing`, empty `summary`/`fields`/`links`/`labels`, no `thread_key`, no time.
//!   Missing `id`/`fingerprint` are filled in by [`crate::normalise()`] (see [`crate::normalise` the module](mod@crate::normalise)).
//! - `source` is snake_case; unknown values are kept as they are (`Source::Other`), so a new
//!   producer never needs this crate updated first.
//! - `severity` and `status` also accept upper case and a few aliases (`warn`, `err`, `ok`, ...).
//! - `id` identifies one occurrence (the delivery idempotency key): build it deterministically from
//!   the event (see [`crate::hash::stable_id`]) so a redelivery gets the same id.
//! - `fingerprint` identifies the problem across firing and resolved (dedup, threading).
//! - `thread_key`, when set, groups messages of different fingerprints into one thread (a
//!   deployment's whole story); without it, messages thread by `fingerprint`.
//! - `occurred_at` is the source's own timestamp, RFC 3339, never the time of processing.

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::BTreeMap;
use std::fmt;

/// One alert occurrence, normalised from any source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub fingerprint: String,
    pub source: Source,
    #[serde(default)]
    pub severity: Severity,
    #[serde(default)]
    pub status: Status,
    pub title: String,
    #[serde(default)]
    pub summary: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub fields: Vec<Field>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub links: Vec<Link>,
    /// For routing. A sorted map, so matching and serialisation are deterministic.
    #[serde(default, deserialize_with = "null_as_default")]
    pub labels: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub occurred_at: Option<String>,
}

impl Alert {
    /// An alert with the required parts; the rest is empty, to be filled in by the producer.
    pub fn new(source: Source, title: impl Into<String>) -> Self {
        Alert {
            id: String::new(),
            fingerprint: String::new(),
            source,
            severity: Severity::default(),
            status: Status::default(),
            title: title.into(),
            summary: String::new(),
            fields: Vec::new(),
            links: Vec::new(),
            labels: BTreeMap::new(),
            thread_key: None,
            occurred_at: None,
        }
    }

    pub fn is_firing(&self) -> bool {
        self.status == Status::Firing
    }

    /// Appends a field unless its value is empty: sources are full of optional values, and an
    /// empty field is only noise in Slack.
    pub fn push_field(&mut self, name: impl Into<String>, value: impl Into<String>) {
        let value = value.into();
        if !value.trim().is_empty() {
            self.fields.push(Field {
                name: name.into(),
                value,
            });
        }
    }

    /// The value of the first field named `name`.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|f| f.name == name)
            .map(|f| f.value.as_str())
    }

    /// Appends a link unless the URL is empty.
    pub fn push_link(&mut self, title: impl Into<String>, url: impl Into<String>) {
        let url = url.into();
        if !url.trim().is_empty() {
            self.links.push(Link {
                title: title.into(),
                url,
            });
        }
    }

    /// Sets a label unless the value is empty (routing matches on present labels).
    pub fn set_label(&mut self, name: impl Into<String>, value: impl Into<String>) {
        let value = value.into();
        if !value.is_empty() {
            self.labels.insert(name.into(), value);
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Field {
    pub name: String,
    #[serde(default)]
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    pub title: String,
    pub url: String,
}

/// Where an alert came from. Open: any other string is kept as [`Source::Other`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Source {
    Cloudwatch,
    Alertmanager,
    AwsHealth,
    SnsText,
    AlbLogs,
    EcsEvents,
    Capacity,
    HealthCheck,
    Generic,
    Other(String),
}

impl Source {
    const KNOWN: [(Source, &'static str); 9] = [
        (Source::Cloudwatch, "cloudwatch"),
        (Source::Alertmanager, "alertmanager"),
        (Source::AwsHealth, "aws_health"),
        (Source::SnsText, "sns_text"),
        (Source::AlbLogs, "alb_logs"),
        (Source::EcsEvents, "ecs_events"),
        (Source::Capacity, "capacity"),
        (Source::HealthCheck, "health_check"),
        (Source::Generic, "generic"),
    ];

    /// The snake_case name used in JSON and for routing.
    pub fn as_str(&self) -> &str {
        match self {
            Source::Other(name) => name,
            known => Self::KNOWN
                .iter()
                .find(|(s, _)| s == known)
                .map_or("generic", |(_, name)| name),
        }
    }

    /// A name for people, as shown in Slack.
    pub fn display_name(&self) -> &str {
        match self {
            Source::Cloudwatch => "CloudWatch alarm",
            Source::Alertmanager => "Alertmanager",
            Source::AwsHealth => "AWS Health",
            Source::SnsText => "SNS message",
            Source::AlbLogs => "ALB logs",
            Source::EcsEvents => "ECS events",
            Source::Capacity => "Capacity",
            Source::HealthCheck => "Health check",
            Source::Generic => "Event",
            Source::Other(name) => name,
        }
    }
}

impl From<&str> for Source {
    fn from(name: &str) -> Self {
        Self::KNOWN
            .iter()
            .find(|(_, known)| *known == name)
            .map_or_else(|| Source::Other(name.to_string()), |(s, _)| s.clone())
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Source {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Source {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        Ok(Source::from(name.as_str()))
    }
}

/// How bad it is. Ordered, so routing can say "error and above".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    #[default]
    Warning,
    Error,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
            Severity::Critical => "critical",
        }
    }

    /// Reads the usual spellings (any case); `None` for anything else.
    pub fn parse(name: &str) -> Option<Self> {
        match name.trim().to_ascii_lowercase().as_str() {
            "critical" | "crit" | "fatal" | "emergency" | "page" | "p1" => Some(Severity::Critical),
            "error" | "err" | "high" | "major" | "p2" => Some(Severity::Error),
            "warning" | "warn" | "medium" | "minor" | "p3" => Some(Severity::Warning),
            "info" | "informational" | "notice" | "low" | "none" | "p4" | "p5" => {
                Some(Severity::Info)
            }
            _ => None,
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Severity {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        // An unknown severity is rejected rather than guessed: a producer bug should be seen
        // (dead letter) instead of silently routed as something it is not.
        Severity::parse(&name).ok_or_else(|| D::Error::custom(format!("unknown severity {name:?}")))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    #[default]
    Firing,
    Resolved,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Firing => "firing",
            Status::Resolved => "resolved",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        match name.trim().to_ascii_lowercase().as_str() {
            "firing" | "alarm" | "alerting" | "open" | "triggered" | "problem" => {
                Some(Status::Firing)
            }
            "resolved" | "ok" | "closed" | "recovered" => Some(Status::Resolved),
            _ => None,
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Status {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        Status::parse(&name).ok_or_else(|| D::Error::custom(format!("unknown status {name:?}")))
    }
}

/// `null` where a list or map is expected means "none", as producers in other languages write it.
pub(crate) fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full_alert() -> Alert {
        let mut alert = Alert::new(Source::EcsEvents, "Deployment of api rolled back");
        alert.id = "9f2c1d0e5b7a4c3e8d6f1a2b3c4d5e6f".into();
        alert.fingerprint = "ecs:prod:service/api:deployment".into();
        alert.severity = Severity::Error;
        alert.summary = "ECS deployment circuit breaker: task failed to start.".into();
        alert.push_field("Cluster", "prod");
        alert.push_field("Service", "api");
        alert.push_link(
            "Service in console",
            "https://console.aws.amazon.com/ecs/v2/clusters/prod/services/api",
        );
        alert.set_label("cluster", "prod");
        alert.set_label("service", "api");
        alert.set_label("team", "payments");
        alert.thread_key = Some("ecs-svc/123".into());
        alert.occurred_at = Some("2020-05-23T12:31:14Z".into());
        alert
    }

    #[test]
    fn documented_example_round_trips() {
        // The example in the module documentation, verbatim.
        let doc = include_str!("alert.rs")
            .split("//! ```json\n")
            .nth(1)
            .unwrap()
            .split("//! ```")
            .next()
            .unwrap()
            .lines()
            .map(|l| l.trim_start_matches("//!").trim_start())
            .collect::<Vec<_>>()
            .join("\n");
        let parsed: Alert = serde_json::from_str(&doc).unwrap();
        assert_eq!(parsed, full_alert());
        let again: Alert = serde_json::from_str(&serde_json::to_string(&parsed).unwrap()).unwrap();
        assert_eq!(again, parsed);
    }

    #[test]
    fn serialises_snake_case_and_skips_absent_options() {
        let mut alert = Alert::new(Source::AwsHealth, "t");
        alert.severity = Severity::Critical;
        let json = serde_json::to_value(&alert).unwrap();
        assert_eq!(json["source"], "aws_health");
        assert_eq!(json["severity"], "critical");
        assert_eq!(json["status"], "firing");
        assert!(json.get("thread_key").is_none());
        assert!(json.get("occurred_at").is_none());
    }

    #[test]
    fn deserialising_is_lenient() {
        let alert: Alert = serde_json::from_str(
            r#"{"source": "my_cron", "title": "Backup failed", "severity": "ERROR",
                "status": "OK", "fields": null, "labels": null, "extra": 1}"#,
        )
        .unwrap();
        assert_eq!(alert.source, Source::Other("my_cron".into()));
        assert_eq!(alert.source.as_str(), "my_cron");
        assert_eq!(alert.severity, Severity::Error);
        assert_eq!(alert.status, Status::Resolved);
        assert!(alert.fields.is_empty() && alert.labels.is_empty());
        assert_eq!(alert.id, "");

        let minimal: Alert =
            serde_json::from_str(r#"{"source": "capacity", "title": "x"}"#).unwrap();
        assert_eq!(minimal.source, Source::Capacity);
        assert_eq!(minimal.severity, Severity::Warning);
        assert_eq!(minimal.status, Status::Firing);
    }

    #[test]
    fn unknown_severity_is_an_error_not_a_guess() {
        let err =
            serde_json::from_str::<Alert>(r#"{"source": "x", "title": "t", "severity": "meh"}"#)
                .unwrap_err();
        assert!(err.to_string().contains("unknown severity"), "{err}");
    }

    #[test]
    fn every_known_source_round_trips_through_its_name() {
        for (source, name) in Source::KNOWN {
            assert_eq!(Source::from(name), source);
            assert_eq!(source.as_str(), name);
        }
    }

    #[test]
    fn severity_orders_by_badness() {
        assert!(Severity::Critical > Severity::Error);
        assert!(Severity::Error > Severity::Warning);
        assert!(Severity::Warning > Severity::Info);
    }

    #[test]
    fn push_helpers_skip_empty_values() {
        let mut alert = Alert::new(Source::Generic, "t");
        alert.push_field("a", " ");
        alert.push_link("b", "");
        alert.set_label("c", "");
        assert!(alert.fields.is_empty() && alert.links.is_empty() && alert.labels.is_empty());
    }
}
