//! Source payloads to [`Alert`]s: detect what arrived, unwrap its envelopes, translate.
//!
//! [`normalise`] accepts everything `slack-fanout` and `fleetwatch alerts render` can be handed:
//!
//! | payload | detected by | kind |
//! |---|---|---|
//! | CloudWatch alarm SNS message | `AlarmName` + `NewStateValue` | [`PayloadKind::CloudwatchAlarmSns`] |
//! | EventBridge `CloudWatch Alarm State Change` | `detail-type` | [`PayloadKind::CloudwatchAlarmEventbridge`] |
//! | CloudWatch Lambda alarm action | `alarmArn` + `alarmData` | [`PayloadKind::CloudwatchAlarmLambdaAction`] |
//! | Alertmanager webhook (v4) | `alerts[]` + `version`/`groupKey`/`receiver` | [`PayloadKind::Alertmanager`] |
//! | EventBridge `AWS Health Event` | `detail-type` | [`PayloadKind::AwsHealth`] |
//! | SNS notification whose `Message` is not JSON | `Type: Notification` | [`PayloadKind::SnsText`] |
//! | our own [`Alert`] JSON | `source` + `title` + one of `fingerprint`/`id`/`severity`/`status` | [`PayloadKind::Alert`] |
//! | any other JSON object or array | | [`PayloadKind::Unknown`] (generic alert) |
//!
//! Identity per source (`fingerprint`: the problem, across firing and resolved; `id`: one
//! occurrence, the same on redelivery; ids are [`crate::hash::stable_id`] of the parts listed):
//!
//! | source | fingerprint | id from | firing / resolved | severity |
//! |---|---|---|---|---|
//! | CloudWatch | alarm ARN (rebuilt from account, region, name if absent) | ARN, state change time, new state | `ALARM`, `INSUFFICIENT_DATA` / `OK` | error; `INSUFFICIENT_DATA` warning; `OK` keeps the left state's |
//! | Alertmanager | `fingerprint`, or Alertmanager's own computation | fingerprint, `startsAt`, status | alert `status` | `severity` label, default warning |
//! | AWS Health | event ARN `#` affected account | fingerprint, `statusCode`, `lastUpdatedTime` | `open`, `upcoming` / `closed` | issue error, scheduled change warning, notification info |
//! | SNS text | topic, subject | SNS `MessageId` | always firing | info |
//! | own `Alert` | as given, else source, title, labels | as given, else source, fingerprint, status, time | as given | as given |
//! | generic | `detail-type` or `source`, title | the whole payload | `status`/`state` key, default firing | `severity`/`level`/`priority`/`eventType` key, default warning |
//!
//! Envelopes are unwrapped first, any nesting of: an SNS notification
//! (`{"Type": "Notification", "Message": "..."}`, as SNS delivers to SQS or HTTP), an SNS Lambda
//! event (`Records[].Sns`), an SQS Lambda event (`Records[].body`). A Lambda event with several
//! records gives the alerts of all of them.
//!
//! A JSON array holds several payloads (producers may batch their own alerts): each element is
//! normalised and the results merged, as for a Lambda event with several records.
//!
//! A payload that looks like a known kind but cannot be read as one (a field of the wrong type,
//! an own `Alert` with an unknown severity, a third-party webhook that happens to carry `source`
//! and `title`) is not dropped: it becomes a generic alert, counted as [`PayloadKind::Unknown`],
//! with the reason in [`Normalised::warnings`], because an alert shown in the generic layout
//! beats an alert in a dead-letter queue. Only what cannot be shown at all is an error: invalid
//! JSON, an empty batch.
//!
//! Every alert that comes out has its display text redacted and capped (see [`crate::redact`]):
//! title, summary, field values, link titles and URLs. Sources copy free text from payloads
//! that nobody here controls: Alertmanager annotations (Loki rules put log lines in them),
//! alarm descriptions, SNS messages, unknown JSON, producers' own alerts. One pass at this door
//! covers every source, present and future; ids, fingerprints, thread keys and labels are
//! identity and routing and stay as sent.
//!
//! Kinds whose meaning lives in another crate (ECS and Auto Scaling events, classified by
//! `fleetwatch-ecs` with its noise policy) plug in as a [`Recogniser`], asked about every
//! unwrapped payload before the shapes above: [`normalise_with`].

mod alertmanager;
mod cloudwatch;
mod envelope;
mod generic;
mod health;
mod own_alert;
mod region;
mod sns_text;

use crate::alert::Alert;
use crate::redact::redact_alert;
use serde::Serialize;
use serde_json::Value;

pub use envelope::Envelope;

/// What one payload turned into.
#[derive(Debug, Clone, PartialEq)]
pub struct Normalised {
    /// What was detected. For a batch whose records are of different kinds: [`PayloadKind::Mixed`].
    pub kind: PayloadKind,
    /// The envelopes unwrapped, outermost first (those of the first record of a batch).
    pub envelopes: Vec<Envelope>,
    /// One or more alerts (Alertmanager and batches give several).
    pub alerts: Vec<Alert>,
    /// How many records were of an unknown shape (0 or 1 outside batches): the number to count.
    pub unknown_records: usize,
    /// Things worth a log line: a known shape that could not be read, truncated Alertmanager
    /// groups.
    pub warnings: Vec<String>,
    /// Payloads a [`Recogniser`] deliberately turned into no alert, with the reason (noise).
    pub dropped: Vec<String>,
}

/// The shape a payload was recognised as. Serialises snake_case, for logs and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PayloadKind {
    CloudwatchAlarmSns,
    CloudwatchAlarmEventbridge,
    CloudwatchAlarmLambdaAction,
    Alertmanager,
    AwsHealth,
    SnsText,
    Alert,
    /// An ECS or Auto Scaling EventBridge event (recognised by `fleetwatch-ecs`).
    EcsEvent,
    Unknown,
    Mixed,
}

impl PayloadKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PayloadKind::CloudwatchAlarmSns => "cloudwatch_alarm_sns",
            PayloadKind::CloudwatchAlarmEventbridge => "cloudwatch_alarm_eventbridge",
            PayloadKind::CloudwatchAlarmLambdaAction => "cloudwatch_alarm_lambda_action",
            PayloadKind::Alertmanager => "alertmanager",
            PayloadKind::AwsHealth => "aws_health",
            PayloadKind::SnsText => "sns_text",
            PayloadKind::Alert => "alert",
            PayloadKind::EcsEvent => "ecs_event",
            PayloadKind::Unknown => "unknown",
            PayloadKind::Mixed => "mixed",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NormaliseError {
    /// Not JSON at all (or an SQS record body that is not): nothing to show, dead-letter it.
    #[error("payload is not valid JSON: {reason}")]
    InvalidJson { reason: String },
    /// A Lambda event with an empty `Records` list, or an empty JSON array.
    #[error("the payload holds no records")]
    EmptyBatch,
    /// One record of a Lambda event batch (or element of an array) failed.
    #[error("record {index}: {error}")]
    Record {
        index: usize,
        error: Box<NormaliseError>,
    },
}

/// Detects what `payload` is and turns it into alerts. See the module documentation.
pub fn normalise(payload: &str) -> Result<Normalised, NormaliseError> {
    normalise_with(payload, &NoRecogniser)
}

/// [`normalise`], asking `recogniser` first about every unwrapped payload.
pub fn normalise_with(
    payload: &str,
    recogniser: &dyn Recogniser,
) -> Result<Normalised, NormaliseError> {
    let value: Value = serde_json::from_str(payload).map_err(|e| NormaliseError::InvalidJson {
        reason: e.to_string(),
    })?;
    normalise_value_with(value, recogniser)
}

/// [`normalise_with`] for an already parsed payload.
fn normalise_value_with(
    value: Value,
    recogniser: &dyn Recogniser,
) -> Result<Normalised, NormaliseError> {
    let mut normalised = envelope::unwrap_and_detect(value, &SnsContext::default(), recogniser)?;
    normalised.alerts.iter_mut().for_each(redact_alert);
    Ok(normalised)
}

/// Recognises payloads of a kind this crate does not interpret itself.
pub trait Recogniser {
    /// `None`: not this recogniser's kind (the built-in detection goes on).
    fn recognise(&self, payload: &Value) -> Option<Recognised>;
}

/// What a [`Recogniser`] made of a payload of its kind.
#[derive(Debug, Clone, PartialEq)]
pub enum Recognised {
    /// Its alerts, and the reasons for what it deliberately dropped.
    Classified {
        kind: PayloadKind,
        alerts: Vec<Alert>,
        dropped: Vec<String>,
    },
    /// Its kind, but unreadable: shown with the generic layout, with the reason as a warning.
    Unreadable { kind: PayloadKind, reason: String },
}

/// Recognises nothing: the built-in kinds only.
pub struct NoRecogniser;

impl Recogniser for NoRecogniser {
    fn recognise(&self, _payload: &Value) -> Option<Recognised> {
        None
    }
}

/// What an SNS envelope tells about its message; used when the message itself says less.
#[derive(Debug, Clone, Default)]
pub(crate) struct SnsContext {
    pub subject: Option<String>,
    pub topic_arn: Option<String>,
    pub message_id: Option<String>,
    pub timestamp: Option<String>,
}

/// The result for a single, unwrapped payload.
pub(crate) struct Detected {
    pub kind: PayloadKind,
    pub alerts: Vec<Alert>,
    pub warnings: Vec<String>,
    pub dropped: Vec<String>,
}

impl Detected {
    fn one(kind: PayloadKind, alert: Alert) -> Self {
        Detected {
            kind,
            alerts: vec![alert],
            warnings: Vec::new(),
            dropped: Vec::new(),
        }
    }
}

/// Recognises an unwrapped payload: the plugged-in recogniser first, then specific shapes; our
/// own `Alert` before the generic catch-all.
pub(crate) fn detect(
    value: Value,
    sns: &SnsContext,
    recogniser: &dyn Recogniser,
) -> Result<Detected, NormaliseError> {
    match recogniser.recognise(&value) {
        Some(Recognised::Classified {
            kind,
            alerts,
            dropped,
        }) => {
            return Ok(Detected {
                kind,
                alerts,
                warnings: Vec::new(),
                dropped,
            });
        }
        Some(Recognised::Unreadable { kind, reason }) => {
            return Ok(unreadable(kind, &value, sns, &reason));
        }
        None => {}
    }
    let attempt = if cloudwatch::is_sns_alarm(&value) {
        Some((
            PayloadKind::CloudwatchAlarmSns,
            cloudwatch::from_sns(&value),
        ))
    } else if cloudwatch::is_eventbridge_alarm(&value) {
        Some((
            PayloadKind::CloudwatchAlarmEventbridge,
            cloudwatch::from_eventbridge(&value),
        ))
    } else if cloudwatch::is_lambda_action(&value) {
        Some((
            PayloadKind::CloudwatchAlarmLambdaAction,
            cloudwatch::from_lambda_action(&value),
        ))
    } else if health::is_health_event(&value) {
        Some((PayloadKind::AwsHealth, health::from_event(&value)))
    } else if !alertmanager::is_webhook(&value) && own_alert::is_alert(&value) {
        Some((PayloadKind::Alert, own_alert::from_value(&value)))
    } else {
        None
    };
    if let Some((kind, result)) = attempt {
        return Ok(match result {
            Ok(alert) => Detected::one(kind, alert),
            Err(reason) => unreadable(kind, &value, sns, &reason),
        });
    }
    if alertmanager::is_webhook(&value) {
        return Ok(match alertmanager::from_webhook(&value) {
            Ok((alerts, warnings)) => Detected {
                kind: PayloadKind::Alertmanager,
                alerts,
                warnings,
                dropped: Vec::new(),
            },
            Err(reason) => unreadable(PayloadKind::Alertmanager, &value, sns, &reason),
        });
    }
    Ok(Detected::one(
        PayloadKind::Unknown,
        generic::from_value(&value, sns),
    ))
}

/// A known shape we failed to read: still deliver it (generic layout) and say why.
fn unreadable(kind: PayloadKind, value: &Value, sns: &SnsContext, reason: &str) -> Detected {
    Detected {
        kind: PayloadKind::Unknown,
        alerts: vec![generic::from_value(value, sns)],
        warnings: vec![format!(
            "looked like {} but could not be read: {reason}",
            kind.as_str()
        )],
        dropped: Vec::new(),
    }
}

/// Deserialises a known shape, with the serde error as the reason.
pub(crate) fn read_as<T: serde::de::DeserializeOwned>(value: &Value) -> Result<T, String> {
    T::deserialize(value).map_err(|e| e.to_string())
}

/// Descriptions hold at most this many links worth a button each.
const MAX_DESCRIPTION_LINKS: usize = 3;

/// Adds the http(s) URLs written in a description by its author (an alarm's owner, AWS Health)
/// as links titled by their host: rendered text is `verbatim`, so Slack no longer links them in
/// the text itself. In order of appearance, each once, at most [`MAX_DESCRIPTION_LINKS`].
pub(crate) fn push_description_links(alert: &mut Alert, description: &str) {
    let mut urls: Vec<&str> = Vec::new();
    for url in urls_in(description) {
        if !urls.contains(&url) && urls.len() < MAX_DESCRIPTION_LINKS {
            urls.push(url);
        }
    }
    for url in urls {
        let host = url
            .split("://")
            .nth(1)
            .and_then(|rest| rest.split(['/', '?', '#']).next());
        alert.push_link(host.unwrap_or(url), url);
    }
}

/// The `http://` and `https://` URLs in prose: up to white space or a quote, without the
/// punctuation that ends a sentence or closes a parenthesis.
fn urls_in(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '<' | '>'))
        .filter_map(|word| {
            let start = word.find("https://").or_else(|| word.find("http://"))?;
            let url = word[start..].trim_end_matches(['.', ',', ';', ':', '!', '?', ')', ']', '}']);
            url.split_once("://")
                .is_some_and(|(_, rest)| !rest.is_empty())
                .then_some(url)
        })
}

/// Percent-encodes a URL component like JavaScript's `encodeURIComponent`, which is what the
/// AWS console and Alertmanager's UI decode.
pub(crate) fn encode_uri_component(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z'
            | b'a'..=b'z'
            | b'0'..=b'9'
            | b'-'
            | b'_'
            | b'.'
            | b'!'
            | b'~'
            | b'*'
            | b'\''
            | b'('
            | b')' => encoded.push(char::from(byte)),
            _ => encoded.push_str(&format!("%{byte:02X}")),
        }
    }
    encoded
}

/// Lenient readers for source fields whose JSON types vary between senders.
pub(crate) mod lenient {
    use serde::{Deserialize, Deserializer};
    use serde_json::Value;

    /// A number, a numeric string, or nothing.
    pub fn number<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<f64>, D::Error> {
        Ok(match Option::<Value>::deserialize(deserializer)? {
            Some(Value::Number(n)) => n.as_f64(),
            Some(Value::String(s)) => s.trim().parse().ok(),
            _ => None,
        })
    }

    /// A string (numbers and booleans written as text), or nothing.
    pub fn string<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
        Ok(match Option::<Value>::deserialize(deserializer)? {
            Some(Value::String(s)) => Some(s),
            Some(Value::Number(n)) => Some(n.to_string()),
            Some(Value::Bool(b)) => Some(b.to_string()),
            _ => None,
        })
    }

    /// A string-to-string map, with non-string values written as text and nulls dropped.
    pub fn string_map<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<std::collections::BTreeMap<String, String>, D::Error> {
        let map = Option::<serde_json::Map<String, Value>>::deserialize(deserializer)?;
        Ok(map
            .unwrap_or_default()
            .into_iter()
            .filter_map(|(k, v)| super::scalar_text(&v).map(|v| (k, v)))
            .collect())
    }
}

/// A JSON scalar as text; `None` for null, arrays and objects.
pub(crate) fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A number without a useless `.0` (thresholds are floats in CloudWatch's JSON).
pub(crate) fn format_number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{n:.0}")
    } else {
        n.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_like_encode_uri_component() {
        assert_eq!(
            encode_uri_component("my alarm/α{x=\"1\"}"),
            "my%20alarm%2F%CE%B1%7Bx%3D%221%22%7D"
        );
        assert_eq!(encode_uri_component("a-b_c.d!~*'()"), "a-b_c.d!~*'()");
    }

    #[test]
    fn formats_numbers_without_trailing_zero() {
        assert_eq!(format_number(1.0), "1");
        assert_eq!(format_number(50.5), "50.5");
        assert_eq!(format_number(-3.0), "-3");
    }

    #[test]
    fn invalid_json_is_an_error_with_the_reason() {
        let err = normalise("{\"AlarmName\": ").unwrap_err();
        assert!(matches!(err, NormaliseError::InvalidJson { .. }));
        assert!(err.to_string().contains("EOF"), "{err}");
        assert!(matches!(
            normalise("").unwrap_err(),
            NormaliseError::InvalidJson { .. }
        ));
    }
}
