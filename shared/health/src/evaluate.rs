//! Judging what a probe saw: every condition with pass or fail, what was expected and what
//! was seen, in words people read in Slack and in the CLI's table.

use crate::config::{Check, Condition, Resolvable, StatusSet, Target};
use crate::probe::{HttpObservation, Observation, ProbeError, TcpObservation};
use crate::time::{UnixTime, format_duration};
use serde::Serialize;
use serde_json::Value;
use std::time::Duration;

/// The verdict on one run of one check.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckResult {
    pub check: String,
    /// Every condition passed.
    pub healthy: bool,
    /// In the order of the configuration; a probe that got no answer has one failed condition
    /// saying why, and the conditions that needed the answer are left out.
    pub conditions: Vec<ConditionResult>,
    pub metrics: Metrics,
}

/// One condition's verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConditionResult {
    /// What was checked: `status in [200..299]`.
    pub condition: String,
    pub passed: bool,
    /// `[200..299]`
    pub expected: String,
    /// `503`
    pub seen: String,
    /// The sentence: `status 503 not in [200..299]`.
    pub message: String,
}

/// Numbers per result, for CloudWatch (EMF) or a table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Metrics {
    /// 1 when healthy, else 0.
    pub up: u8,
    /// Request or connect time; `None` when there was no answer.
    pub latency_ms: Option<u64>,
    /// Until the server certificate's `notAfter` (negative once expired); HTTPS answers only.
    pub certificate_days_left: Option<f64>,
}

impl CheckResult {
    /// Builds the result from its conditions: healthy when all passed.
    pub(crate) fn new(
        check: &Check,
        conditions: Vec<ConditionResult>,
        latency: Option<Duration>,
        certificate_days_left: Option<f64>,
    ) -> Self {
        let healthy = conditions.iter().all(|c| c.passed);
        let mut result = CheckResult {
            check: check.name.clone(),
            healthy,
            conditions,
            metrics: Metrics {
                up: u8::from(healthy),
                latency_ms: latency.map(|l| u64::try_from(l.as_millis()).unwrap_or(u64::MAX)),
                certificate_days_left,
            },
        };
        result.redact(&literal_header_values(check));
        result
    }

    /// The conditions that failed.
    pub fn failures(&self) -> impl Iterator<Item = &ConditionResult> {
        self.conditions.iter().filter(|c| !c.passed)
    }

    /// The failed conditions' sentences joined with `; `, or `healthy`.
    pub fn reason(&self) -> String {
        let failures: Vec<&str> = self.failures().map(|c| c.message.as_str()).collect();
        if failures.is_empty() {
            "healthy".to_owned()
        } else {
            failures.join("; ")
        }
    }

    /// Replaces every occurrence of these values in what was seen and said by `[redacted]`.
    ///
    /// [`evaluate`] already does this for the check's literal header values. The adapter calls
    /// it with the values it resolved from SSM, before [`step`](crate::step): a server that
    /// echoes request headers (a debug endpoint) must not carry a token into an alert.
    pub fn redact<S: AsRef<str>>(&mut self, secrets: &[S]) {
        for secret in secrets.iter().map(AsRef::as_ref) {
            // Shorter values ("1", "on") are not secrets, and hiding them would garble messages.
            if secret.len() < MIN_REDACTED_LEN {
                continue;
            }
            for condition in &mut self.conditions {
                for text in [&mut condition.seen, &mut condition.message] {
                    if text.contains(secret) {
                        *text = text.replace(secret, "[redacted]");
                    }
                }
            }
        }
    }
}

const MIN_REDACTED_LEN: usize = 4;

fn literal_header_values(check: &Check) -> Vec<&str> {
    match &check.target {
        Target::Http(http) => http
            .headers
            .iter()
            .filter_map(|header| match &header.value {
                Resolvable::Literal(value) => Some(value.as_str()),
                Resolvable::Ssm(_) => None,
            })
            .collect(),
        Target::Tcp(_) | Target::Jenkins(_) => Vec::new(),
    }
}

impl ConditionResult {
    pub(crate) fn pass(condition: String, expected: String, seen: String, message: String) -> Self {
        ConditionResult {
            condition,
            passed: true,
            expected,
            seen,
            message,
        }
    }

    pub(crate) fn fail(condition: String, expected: String, seen: String, message: String) -> Self {
        ConditionResult {
            condition,
            passed: false,
            expected,
            seen,
            message,
        }
    }

    fn judged(
        passed: bool,
        condition: String,
        expected: String,
        seen: String,
        message: String,
    ) -> Self {
        ConditionResult {
            condition,
            passed,
            expected,
            seen,
            message,
        }
    }
}

/// Judges one run of `check` from what its probe saw; `now` is the run's time (certificate
/// expiry, Jenkins queue ages).
pub fn evaluate(check: &Check, observation: &Observation, now: UnixTime) -> CheckResult {
    match (&check.target, observation) {
        (Target::Http(http), Observation::Http(outcome)) => match outcome {
            Ok(response) => evaluate_http(check, &http.conditions, response, now),
            Err(error) => unreachable_result(check, "request succeeds", "request failed", error),
        },
        (Target::Tcp(tcp), Observation::Tcp(outcome)) => match outcome {
            Ok(connected) => evaluate_tcp(check, &tcp.conditions, connected),
            Err(error) => unreachable_result(check, "connects", "connection failed", error),
        },
        (Target::Jenkins(jenkins), Observation::Jenkins(responses)) => {
            crate::jenkins::evaluate_jenkins(check, jenkins, responses, now)
        }
        // A wiring mistake in the prober, reported as a failure rather than a panic: the other
        // checks of the run still count.
        _ => unreachable_result(
            check,
            "probe matches the check",
            "probe mismatch",
            &ProbeError::Other {
                detail: format!(
                    "the prober answered the {} check with another kind of observation",
                    check.kind()
                ),
            },
        ),
    }
}

/// A result with one failed condition: the probe got no answer.
fn unreachable_result(
    check: &Check,
    condition: &str,
    what: &str,
    error: &ProbeError,
) -> CheckResult {
    let failed = ConditionResult::fail(
        condition.to_owned(),
        "an answer".to_owned(),
        error.to_string(),
        format!("{what}: {error}"),
    );
    CheckResult::new(check, vec![failed], None, None)
}

fn evaluate_http(
    check: &Check,
    conditions: &[Condition],
    response: &HttpObservation,
    now: UnixTime,
) -> CheckResult {
    let results = conditions
        .iter()
        .map(|condition| judge(condition, response, now))
        .collect();
    let days_left = response
        .tls_cert_not_after
        .map(|not_after| (not_after - now.as_secs()) as f64 / 86_400.0);
    CheckResult::new(check, results, Some(response.latency), days_left)
}

fn evaluate_tcp(
    check: &Check,
    conditions: &[Condition],
    connected: &TcpObservation,
) -> CheckResult {
    let latency = format_millis(connected.latency);
    let mut results = vec![ConditionResult::pass(
        "connects".to_owned(),
        "a connection".to_owned(),
        format!("connected in {latency}"),
        format!("connected in {latency}"),
    )];
    for condition in conditions {
        if let Condition::ResponseTimeUnder(limit) = condition {
            results.push(response_time(connected.latency, *limit));
        }
    }
    CheckResult::new(check, results, Some(connected.latency), None)
}

fn judge(condition: &Condition, response: &HttpObservation, now: UnixTime) -> ConditionResult {
    match condition {
        Condition::Status(set) => status(set, response.status),
        Condition::BodyContains(text) => body_contains(text, response),
        Condition::BodyMatches(regex) => body_matches(regex, response),
        Condition::JsonPointer { pointer, equals } => json_pointer(pointer, equals, response),
        Condition::ResponseTimeUnder(limit) => response_time(response.latency, *limit),
        Condition::CertificateValidForMoreThan(limit) => {
            certificate(response.tls_cert_not_after, *limit, now)
        }
    }
}

fn status(set: &StatusSet, status: u16) -> ConditionResult {
    let passed = set.contains(status);
    let verdict = if passed { "in" } else { "not in" };
    ConditionResult::judged(
        passed,
        format!("status in {set}"),
        set.to_string(),
        status.to_string(),
        format!("status {status} {verdict} {set}"),
    )
}

/// The body as text: health endpoints answer text, and a stray invalid byte must not hide
/// the rest.
fn body_text(response: &HttpObservation) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(&response.body)
}

/// Why a body condition may have failed for want of the rest of the body.
fn truncation_note(response: &HttpObservation) -> String {
    if response.body_truncated {
        format!(" (only the first {} bytes were read)", response.body.len())
    } else {
        String::new()
    }
}

fn body_contains(text: &str, response: &HttpObservation) -> ConditionResult {
    let passed = body_text(response).contains(text);
    let condition = format!("body contains {text:?}");
    // The body itself is never quoted: it may echo request headers (tokens).
    let (seen, message) = if passed {
        ("present".to_owned(), format!("body contains {text:?}"))
    } else {
        (
            "absent".to_owned(),
            format!(
                "body does not contain {text:?}{}",
                truncation_note(response)
            ),
        )
    };
    ConditionResult::judged(passed, condition, format!("{text:?}"), seen, message)
}

fn body_matches(regex: &regex::Regex, response: &HttpObservation) -> ConditionResult {
    let passed = regex.is_match(&body_text(response));
    let pattern = format!("/{}/", regex.as_str());
    let (seen, message) = if passed {
        ("match".to_owned(), format!("body matches {pattern}"))
    } else {
        (
            "no match".to_owned(),
            format!("body does not match {pattern}{}", truncation_note(response)),
        )
    };
    ConditionResult::judged(
        passed,
        format!("body matches {pattern}"),
        pattern,
        seen,
        message,
    )
}

fn json_pointer(pointer: &str, expected: &Value, response: &HttpObservation) -> ConditionResult {
    let condition = format!("JSON {pointer} equals {expected}");
    let expected_text = expected.to_string();
    let document: Value = match serde_json::from_slice(&response.body) {
        Ok(document) => document,
        Err(error) => {
            return ConditionResult::fail(
                condition,
                expected_text,
                "not JSON".to_owned(),
                format!(
                    "body is not JSON ({error}){}; expected {pointer} = {expected}",
                    truncation_note(response)
                ),
            );
        }
    };
    let Some(seen) = document.pointer(pointer) else {
        return ConditionResult::fail(
            condition,
            expected_text,
            "missing".to_owned(),
            format!("JSON {pointer} is missing (expected {expected})"),
        );
    };
    let shown = describe_json(seen);
    if json_equal(seen, expected) {
        ConditionResult::pass(
            condition,
            expected_text,
            shown.clone(),
            format!("JSON {pointer} is {shown}"),
        )
    } else {
        ConditionResult::fail(
            condition,
            expected_text,
            shown.clone(),
            format!("JSON {pointer} is {shown} (expected {expected})"),
        )
    }
}

/// Equal as JSON, or numerically, or as text (Gatus compares the text of values, so
/// `equals: "1"` matches the number 1 and `equals: 1` matches the string "1").
fn json_equal(seen: &Value, expected: &Value) -> bool {
    if seen == expected {
        return true;
    }
    if let (Some(a), Some(b)) = (seen.as_f64(), expected.as_f64()) {
        return a == b;
    }
    match (scalar_text(seen), scalar_text(expected)) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        Value::Null | Value::Array(_) | Value::Object(_) => None,
    }
}

/// Short scalars as JSON; anything long or nested by its shape. Never cut: a cut value could
/// keep half of a secret that redaction would no longer recognise.
fn describe_json(value: &Value) -> String {
    const MAX_SHOWN_CHARS: usize = 100;
    match value {
        Value::Array(items) => format!("an array of {} items", items.len()),
        Value::Object(map) => format!("an object with {} keys", map.len()),
        Value::String(text) if text.chars().count() > MAX_SHOWN_CHARS => {
            format!("a string of {} characters", text.chars().count())
        }
        scalar => scalar.to_string(),
    }
}

fn response_time(latency: Duration, limit: Duration) -> ConditionResult {
    let passed = latency < limit;
    let (seen, limit_text) = (format_millis(latency), format_duration(limit));
    let message = if passed {
        format!("response time {seen} (< {limit_text})")
    } else {
        format!("response time {seen} (needs < {limit_text})")
    };
    ConditionResult::judged(
        passed,
        format!("response time under {limit_text}"),
        format!("< {limit_text}"),
        seen,
        message,
    )
}

fn certificate(not_after: Option<i64>, limit: Duration, now: UnixTime) -> ConditionResult {
    let needed = days_or_duration(limit);
    let condition = format!("certificate valid for more than {needed}");
    let expected = format!("> {needed}");
    let Some(not_after) = not_after else {
        return ConditionResult::fail(
            condition,
            expected,
            "no certificate".to_owned(),
            format!("no TLS certificate seen (needs > {needed} left)"),
        );
    };
    let left = not_after - now.as_secs();
    let passed = left > i64::try_from(limit.as_secs()).unwrap_or(i64::MAX);
    let seen = if left <= 0 {
        format!("expired {} ago", span(left.unsigned_abs()))
    } else {
        format!("expires in {}", span(left.unsigned_abs()))
    };
    let message = if passed {
        format!("certificate {seen}")
    } else {
        format!("certificate {seen} (needs > {needed})")
    };
    ConditionResult::judged(passed, condition, expected, seen, message)
}

/// `14 days` for whole days, else the duration syntax (`36h`).
fn days_or_duration(limit: Duration) -> String {
    let seconds = limit.as_secs();
    if seconds > 0 && seconds.is_multiple_of(86_400) && limit.subsec_nanos() == 0 {
        plural(seconds / 86_400, "day")
    } else {
        format_duration(limit)
    }
}

/// Whole days when a day or more, else hours and minutes: `6 days`, `5h`, `40m`.
fn span(seconds: u64) -> String {
    if seconds >= 86_400 {
        plural(seconds / 86_400, "day")
    } else {
        format_duration(Duration::from_secs(seconds - seconds % 60))
    }
}

fn plural(count: u64, unit: &str) -> String {
    if count == 1 {
        format!("1 {unit}")
    } else {
        format!("{count} {unit}s")
    }
}

/// `231ms`: latencies read best in one unit.
pub(crate) fn format_millis(latency: Duration) -> String {
    format!("{}ms", latency.as_millis())
}
