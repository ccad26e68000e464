//! The checks across values, once the whole file is read: unique names, intervals against the
//! schedule, conditions against the check's type; each mistake placed with `locate`.

use super::file::*;
use super::{
    Alerting, Check, Condition, Config, ConfigError, Header, HttpTarget, JenkinsConditions,
    JenkinsTarget, StatusSet, Target, TcpTarget,
};
use crate::time::format_duration;
use crate::yaml::{ConfigPath, locate};
use fleetwatch_alerts::Severity;
use std::collections::BTreeMap;
use std::time::Duration;

/// Gatus refuses reminders more often than this: a reminder every minute is noise, not news.
const MIN_REMINDER: Duration = Duration::from_secs(300);
/// Gatus' default client timeout.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
const DEFAULT_FAILURE_THRESHOLD: u32 = 3;
const DEFAULT_SUCCESS_THRESHOLD: u32 = 2;

pub(super) struct Builder<'s> {
    pub(super) source: &'s str,
    pub(super) schedule_period: Duration,
}

/// A semantic mistake before it has a position.
type Mistake = (ConfigPath, String);

impl Builder<'_> {
    pub(super) fn build(&self, file: ConfigFile) -> Result<Config, ConfigError> {
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
