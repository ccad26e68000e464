//! Route matchers: which alerts a route takes, and in words why an alert was not taken.
//!
//! - `match.source`: one name or a list (`cloudwatch`, `ecs_events`, ... as `Source::as_str`).
//! - `match.severity`: `error` (exactly), `">=error"` (error and worse), `"<=warning"`.
//! - `match.status`: `firing` or `resolved`.
//! - `match.labels`: label name to one value or a list of values (equal to any).
//! - `match_re`: name to a regex that must match the **whole** value (anchored, as Alertmanager).
//! - `not_match`: name to one value or a list; the value must be none of them.
//!
//! In `match_re` and `not_match` the names `source`, `severity` and `status` mean the alert's own
//! fields (as their snake_case names); every other name is a label. `match.labels` always means
//! labels, so a label that happens to be called `severity` is still reachable there.
//!
//! **A missing label reads as the empty string**, as in Alertmanager: `labels: {env: prod}` does
//! not match an alert without `env`, `not_match: {team: sandbox}` does, and a regex matches a
//! missing label only if it matches `""` (`match_re: {team: ".*"}` matches everything).
//!
//! All conditions of a route must hold (logical AND); a route without any condition matches every
//! alert.

use crate::yaml::{OneOrMany, Text, UniqueKeyMap, closest, deserialize_from_str};
use fleetwatch_alerts::{Alert, Severity, Source, Status};
use regex::Regex;
use serde::Deserialize;
use std::fmt;
use std::str::FromStr;

/// The `match` block of a route as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct MatchFile {
    source: Option<OneOrMany<SourceName>>,
    severity: Option<SeverityMatcher>,
    status: Option<StatusName>,
    #[serde(default)]
    labels: UniqueKeyMap<String, OneOrMany<Text>>,
}

/// All conditions of one route.
#[derive(Debug, Clone, Default)]
pub struct Matchers {
    sources: Option<Vec<String>>,
    severity: Option<SeverityMatcher>,
    status: Option<Status>,
    labels_equal: Vec<(String, Vec<String>)>,
    regexes: Vec<(Subject, AnchoredRegex)>,
    not_equal: Vec<(Subject, Vec<String>)>,
}

impl Matchers {
    pub(crate) fn from_file(
        matches: MatchFile,
        match_re: UniqueKeyMap<String, AnchoredRegex>,
        not_match: UniqueKeyMap<String, OneOrMany<Text>>,
    ) -> Self {
        Matchers {
            sources: matches
                .source
                .map(|names| names.0.into_iter().map(|name| name.0).collect()),
            severity: matches.severity,
            status: matches.status.map(|status| status.0),
            labels_equal: matches
                .labels
                .0
                .into_iter()
                .map(|(name, values)| (name, texts(values)))
                .collect(),
            regexes: match_re
                .0
                .into_iter()
                .map(|(name, regex)| (Subject::from_name(name), regex))
                .collect(),
            not_equal: not_match
                .0
                .into_iter()
                .map(|(name, values)| (Subject::from_name(name), texts(values)))
                .collect(),
        }
    }

    /// `Ok` when every condition holds; otherwise the first that does not, in words.
    pub fn check(&self, alert: &Alert) -> Result<(), Mismatch> {
        if let Some(sources) = &self.sources {
            let source = alert.source.as_str();
            if !sources.iter().any(|wanted| wanted == source) {
                return Err(Mismatch(format!(
                    "source is {source}, not {}",
                    one_of(sources)
                )));
            }
        }
        if let Some(severity) = &self.severity
            && !severity.matches(alert.severity)
        {
            return Err(Mismatch(format!(
                "severity is {}, not {severity}",
                alert.severity
            )));
        }
        if let Some(status) = self.status
            && alert.status != status
        {
            return Err(Mismatch(format!(
                "status is {}, not {status}",
                alert.status
            )));
        }
        for (name, values) in &self.labels_equal {
            let value = alert.labels.get(name).map_or("", String::as_str);
            if !values.iter().any(|wanted| wanted == value) {
                return Err(Mismatch(format!(
                    "{} is {}, not {}",
                    Subject::Label(name.clone()),
                    shown(alert.labels.get(name)),
                    one_of_quoted(values)
                )));
            }
        }
        for (subject, regex) in &self.regexes {
            let value = subject.value_of(alert);
            if !regex.is_full_match(value) {
                return Err(Mismatch(format!(
                    "{subject} {} does not match /{}/",
                    subject.shown_value(alert),
                    regex.source
                )));
            }
        }
        for (subject, values) in &self.not_equal {
            let value = subject.value_of(alert);
            if values.iter().any(|excluded| excluded == value) {
                return Err(Mismatch(format!(
                    "{subject} is {} (excluded by not_match)",
                    subject.shown_value(alert)
                )));
            }
        }
        Ok(())
    }
}

fn texts(values: OneOrMany<Text>) -> Vec<String> {
    values.0.into_iter().map(|text| text.0).collect()
}

fn one_of(values: &[String]) -> String {
    match values {
        [one] => one.clone(),
        many => format!("one of {}", many.join(", ")),
    }
}

fn one_of_quoted(values: &[String]) -> String {
    let quoted: Vec<String> = values.iter().map(|v| format!("{v:?}")).collect();
    one_of(&quoted)
}

fn shown(label: Option<&String>) -> String {
    match label {
        Some(value) => format!("{value:?}"),
        None => "missing (reads as \"\")".to_owned(),
    }
}

/// Why a route did not take an alert: the first condition that failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch(pub String);

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a `match_re` / `not_match` name refers to.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Subject {
    Source,
    Severity,
    Status,
    Label(String),
}

impl Subject {
    fn from_name(name: String) -> Self {
        match name.as_str() {
            "source" => Subject::Source,
            "severity" => Subject::Severity,
            "status" => Subject::Status,
            _ => Subject::Label(name),
        }
    }

    fn value_of<'a>(&self, alert: &'a Alert) -> &'a str {
        match self {
            Subject::Source => alert.source.as_str(),
            Subject::Severity => alert.severity.as_str(),
            Subject::Status => alert.status.as_str(),
            Subject::Label(name) => alert.labels.get(name).map_or("", String::as_str),
        }
    }

    fn shown_value(&self, alert: &Alert) -> String {
        match self {
            Subject::Label(name) => shown(alert.labels.get(name)),
            other => other.value_of(alert).to_owned(),
        }
    }
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Subject::Source => f.write_str("source"),
            Subject::Severity => f.write_str("severity"),
            Subject::Status => f.write_str("status"),
            Subject::Label(name) => write!(f, "label {name}"),
        }
    }
}

/// A regex that must match the whole value: `api` matches `api`, not `api-2`.
#[derive(Debug, Clone)]
pub(crate) struct AnchoredRegex {
    source: String,
    regex: Regex,
}

impl AnchoredRegex {
    fn is_full_match(&self, value: &str) -> bool {
        self.regex.is_match(value)
    }
}

impl FromStr for AnchoredRegex {
    type Err = String;

    fn from_str(pattern: &str) -> Result<Self, String> {
        // `\A` and `\z` rather than `^` and `$`: they stay whole-value anchors under `(?m)`.
        match Regex::new(&format!(r"\A(?:{pattern})\z")) {
            Ok(regex) => Ok(AnchoredRegex {
                source: pattern.to_owned(),
                regex,
            }),
            Err(error) => Err(format!(
                "invalid regex `{pattern}`: {}",
                regex_error_summary(&error)
            )),
        }
    }
}

deserialize_from_str!(AnchoredRegex, "a regular expression");

/// The `error: ...` line of the regex crate's multi-line message, for a one-line error.
fn regex_error_summary(error: &regex::Error) -> String {
    let text = error.to_string();
    text.lines()
        .find_map(|line| line.trim().strip_prefix("error: "))
        .map_or_else(
            || text.lines().last().unwrap_or_default().trim().to_owned(),
            str::to_owned,
        )
}

/// `error`, `">=error"`, `"<=warning"` (spaces allowed after the operator).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeverityMatcher {
    Exactly(Severity),
    AtLeast(Severity),
    AtMost(Severity),
}

impl SeverityMatcher {
    pub fn matches(self, severity: Severity) -> bool {
        match self {
            SeverityMatcher::Exactly(wanted) => severity == wanted,
            SeverityMatcher::AtLeast(floor) => severity >= floor,
            SeverityMatcher::AtMost(ceiling) => severity <= ceiling,
        }
    }
}

impl FromStr for SeverityMatcher {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let (build, name): (fn(Severity) -> Self, &str) = if let Some(rest) =
            text.strip_prefix(">=")
        {
            (SeverityMatcher::AtLeast, rest)
        } else if let Some(rest) = text.strip_prefix("<=") {
            (SeverityMatcher::AtMost, rest)
        } else if text.starts_with(['<', '>', '=', '!']) {
            return Err(format!(
                "unsupported comparison in `{text}`: write `error`, `\">=error\"` or `\"<=warning\"`"
            ));
        } else {
            (SeverityMatcher::Exactly, text)
        };
        Ok(build(severity_named(name.trim())?))
    }
}

deserialize_from_str!(
    SeverityMatcher,
    "a severity such as `error`, `>=error` or `<=warning`"
);

impl fmt::Display for SeverityMatcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SeverityMatcher::Exactly(severity) => write!(f, "{severity}"),
            SeverityMatcher::AtLeast(severity) => write!(f, ">={severity}"),
            SeverityMatcher::AtMost(severity) => write!(f, "<={severity}"),
        }
    }
}

/// The four canonical names only: a configuration is written once and read often, so `high` or
/// `p1` (which producers may send) are not accepted here.
pub(crate) fn severity_named(name: &str) -> Result<Severity, String> {
    match name {
        "info" => Ok(Severity::Info),
        "warning" => Ok(Severity::Warning),
        "error" => Ok(Severity::Error),
        "critical" => Ok(Severity::Critical),
        other => Err(format!(
            "unknown severity `{other}`: expected info, warning, error or critical"
        )),
    }
}

#[derive(Debug, Clone, Copy)]
struct StatusName(Status);

impl FromStr for StatusName {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "firing" => Ok(StatusName(Status::Firing)),
            "resolved" => Ok(StatusName(Status::Resolved)),
            other => Err(format!(
                "unknown status `{other}`: expected firing or resolved"
            )),
        }
    }
}

deserialize_from_str!(StatusName, "firing or resolved");

/// The built-in sources, by their routing names.
const BUILT_IN_SOURCES: [Source; 9] = [
    Source::Cloudwatch,
    Source::Alertmanager,
    Source::AwsHealth,
    Source::SnsText,
    Source::AlbLogs,
    Source::EcsEvents,
    Source::Capacity,
    Source::HealthCheck,
    Source::Generic,
];

/// A source name in `match.source`. Any name is accepted (producers may use their own), except
/// one that looks like a misspelt built-in name: written differently (`ecs-events`,
/// `CloudWatch`) or within two letters of one (`cloudwach`). Such a matcher would silently never
/// match.
#[derive(Debug, Clone)]
struct SourceName(String);

impl FromStr for SourceName {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, String> {
        let built_in = BUILT_IN_SOURCES.iter().map(Source::as_str);
        if name.is_empty() {
            return Err("empty source name".to_owned());
        }
        if built_in.clone().any(|known| known == name) {
            return Ok(SourceName(name.to_owned()));
        }
        let normalised = name.trim().to_ascii_lowercase().replace(['-', ' '], "_");
        let suggestion = built_in
            .clone()
            .find(|known| *known == normalised)
            .or_else(|| closest(name, built_in));
        match suggestion {
            Some(known) => Err(format!(
                "unknown source `{name}`: did you mean `{known}`? (custom source names must differ from the built-in ones by more than two letters)"
            )),
            None => Ok(SourceName(name.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severity_matchers_parse_and_compare() {
        let at_least: SeverityMatcher = ">=error".parse().unwrap();
        assert_eq!(at_least, SeverityMatcher::AtLeast(Severity::Error));
        assert!(at_least.matches(Severity::Critical));
        assert!(at_least.matches(Severity::Error));
        assert!(!at_least.matches(Severity::Warning));
        let at_most: SeverityMatcher = "<= warning".parse().unwrap();
        assert!(at_most.matches(Severity::Info) && at_most.matches(Severity::Warning));
        assert!(!at_most.matches(Severity::Error));
        let exactly: SeverityMatcher = "warning".parse().unwrap();
        assert!(exactly.matches(Severity::Warning) && !exactly.matches(Severity::Error));
        assert_eq!(
            ">error".parse::<SeverityMatcher>().unwrap_err(),
            "unsupported comparison in `>error`: write `error`, `\">=error\"` or `\"<=warning\"`"
        );
        assert_eq!(
            ">=high".parse::<SeverityMatcher>().unwrap_err(),
            "unknown severity `high`: expected info, warning, error or critical"
        );
    }

    #[test]
    fn regexes_are_anchored_even_in_multi_line_mode() {
        let api: AnchoredRegex = "api".parse().unwrap();
        assert!(api.is_full_match("api"));
        assert!(!api.is_full_match("api-2") && !api.is_full_match("my-api"));
        let alternation: AnchoredRegex = "api|web".parse().unwrap();
        assert!(alternation.is_full_match("web") && !alternation.is_full_match("web-1"));
        let multi_line: AnchoredRegex = "(?m)api$".parse().unwrap();
        assert!(!multi_line.is_full_match("api\nmore"));
        let classes: AnchoredRegex = r"(?i)PROD-\d+".parse().unwrap();
        assert!(classes.is_full_match("prod-12"));
    }

    #[test]
    fn a_bad_regex_is_explained_on_one_line() {
        let error = "^(api".parse::<AnchoredRegex>().unwrap_err();
        assert_eq!(error, "invalid regex `^(api`: unclosed group");
    }

    #[test]
    fn source_names_catch_misspellings_of_built_in_names() {
        assert!("ecs_events".parse::<SourceName>().is_ok());
        assert!("my_cron".parse::<SourceName>().is_ok());
        let error = "ecs-events".parse::<SourceName>().unwrap_err();
        assert!(error.starts_with("unknown source `ecs-events`: did you mean `ecs_events`?"));
        let error = "cloudwach".parse::<SourceName>().unwrap_err();
        assert!(error.starts_with("unknown source `cloudwach`: did you mean `cloudwatch`?"));
    }
}
