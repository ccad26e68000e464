//! Event files named on the command line: read, then detected and normalised as the function
//! does. Problems are reported on standard error naming the file; the caller goes on with the
//! next file.
//!
//! ECS and Auto Scaling EventBridge events (raw, or in the envelopes `fleetwatch_alerts` unwraps:
//! an SNS notification, an SNS or SQS Lambda event, a JSON array) are classified as the
//! ecs-events function does, by `fleetwatch_ecs` with the default noise policy: they become
//! alerts, or a deliberate drop with the noise rule and reason. A payload holding no such event
//! takes the `fleetwatch_alerts::normalise` path unchanged.

use std::path::Path;

use fleetwatch_alerts::normalise::normalise_value;
use fleetwatch_alerts::{Alert, Envelope, NormaliseError, Normalised, PayloadKind, normalise};
use fleetwatch_ecs::event::{
    CONTAINER_INSTANCE_STATE_CHANGE, DEPLOYMENT_STATE_CHANGE, INSTANCE_LAUNCH_UNSUCCESSFUL,
    INSTANCE_TERMINATE_UNSUCCESSFUL, SERVICE_ACTION, TASK_STATE_CHANGE,
};
use fleetwatch_ecs::{Classified, Dropped, EcsEvent, NoisePolicy, classify_event};
use serde_json::{Value, json};

/// The EventBridge `source` of ECS events, and the detail types `fleetwatch_ecs` classifies.
const ECS_SOURCE: &str = "aws.ecs";
const ECS_DETAIL_TYPES: [&str; 4] = [
    DEPLOYMENT_STATE_CHANGE,
    SERVICE_ACTION,
    TASK_STATE_CHANGE,
    CONTAINER_INSTANCE_STATE_CHANGE,
];
/// The same for Auto Scaling.
const AUTO_SCALING_SOURCE: &str = "aws.autoscaling";
const AUTO_SCALING_DETAIL_TYPES: [&str; 2] = [
    INSTANCE_LAUNCH_UNSUCCESSFUL,
    INSTANCE_TERMINATE_UNSUCCESSFUL,
];

/// What an event file turned into.
#[derive(Debug, Clone, PartialEq)]
pub struct Loaded {
    pub kind: Kind,
    /// The envelopes unwrapped, outermost first (those of the first record of a batch).
    pub envelopes: Vec<Envelope>,
    pub alerts: Vec<Alert>,
    /// ECS / Auto Scaling events the noise policy deliberately drops: not an error.
    pub dropped: Vec<Dropped>,
    /// How many records were of an unknown shape (shown with the generic layout).
    pub unknown_records: usize,
    /// Things worth a note: a known shape that could not be read, truncated groups.
    pub warnings: Vec<String>,
}

/// What was detected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// A payload `fleetwatch_alerts` normalises (never [`PayloadKind::Mixed`]: see [`Kind::Mixed`]).
    Payload(PayloadKind),
    /// An ECS or Auto Scaling EventBridge event, classified by `fleetwatch_ecs`.
    Ecs { detail_type: String, source: String },
    /// A batch whose records are of different kinds.
    Mixed,
}

impl From<Normalised> for Loaded {
    fn from(normalised: Normalised) -> Self {
        Loaded {
            kind: match normalised.kind {
                PayloadKind::Mixed => Kind::Mixed,
                kind => Kind::Payload(kind),
            },
            envelopes: normalised.envelopes,
            alerts: normalised.alerts,
            dropped: Vec::new(),
            unknown_records: normalised.unknown_records,
            warnings: normalised.warnings,
        }
    }
}

impl Loaded {
    /// Adds the next record of a batch (as `fleetwatch_alerts` merges a batch's records).
    fn merge(&mut self, mut other: Loaded) {
        if self.kind != other.kind {
            self.kind = Kind::Mixed;
        }
        self.alerts.append(&mut other.alerts);
        self.dropped.append(&mut other.dropped);
        self.warnings.append(&mut other.warnings);
        self.unknown_records += other.unknown_records;
    }
}

/// Reads an event file's text; `None` (after reporting why) when it cannot be read.
pub fn read(path: &Path) -> Option<String> {
    let result = std::fs::metadata(path).and_then(|metadata| {
        if metadata.is_dir() {
            Err(std::io::Error::other("is a directory"))
        } else {
            std::fs::read_to_string(path)
        }
    });
    match result {
        Ok(text) => Some(text),
        Err(error) => {
            eprintln!("fleetwatch: {}: cannot read: {error}", path.display());
            None
        }
    }
}

/// Reads and normalises an event file; `None` (after reporting why) when it cannot be read or
/// holds nothing to show (invalid JSON, an empty batch). Notes about the content (an unknown
/// shape, a known shape that could not be read) go to standard error.
pub fn load(path: &Path) -> Option<Loaded> {
    let text = read(path)?;
    let result = match load_ecs(&text) {
        Some(result) => result,
        None => normalise(&text).map(Loaded::from),
    };
    match result {
        Ok(loaded) => {
            report_notes(path, &loaded);
            Some(loaded)
        }
        Err(error) => {
            eprintln!("fleetwatch: {}: {error}", path.display());
            None
        }
    }
}

/// A payload holding at least one ECS / Auto Scaling event (anywhere its envelopes reach):
/// those events classified, the rest of a batch normalised as usual. `None` when it holds no
/// such event (or is not JSON): the caller takes the usual `fleetwatch_alerts` path.
pub fn load_ecs(text: &str) -> Option<Result<Loaded, NormaliseError>> {
    let value: Value = serde_json::from_str(text).ok()?;
    holds_ecs_event(&value).then(|| split(value))
}

/// Unknown shapes and warnings, as the function logs them.
pub fn report_notes(path: &Path, loaded: &Loaded) {
    if loaded.unknown_records > 0 {
        eprintln!(
            "fleetwatch: {}: note: {} record(s) of an unknown shape, shown with the generic layout (as the function does)",
            path.display(),
            loaded.unknown_records
        );
    }
    for warning in &loaded.warnings {
        eprintln!("fleetwatch: {}: warning: {warning}", path.display());
    }
}

/// The ECS branch: one event to its alerts, or the noise rule that drops it. Every ECS alert
/// the CLI shows or sends is made here, so enrichment (AWS lookups, `fleetwatch_ecs::lookup_plan`
/// of `event` and each alert, then `fleetwatch_ecs::enrich`) can be applied to these alerts in
/// this one place.
pub fn ecs_alerts(event: &EcsEvent) -> Result<Vec<Alert>, Dropped> {
    match classify_event(event, &NoisePolicy::default()) {
        Classified::Alerts(alerts) => Ok(alerts),
        Classified::Dropped(dropped) => Err(dropped),
    }
}

/// `dropped (noise rule steady_state): <reason>`.
pub fn dropped_line(dropped: &Dropped) -> String {
    format!(
        "dropped (noise rule {}): {}",
        dropped.rule.as_str(),
        dropped.reason
    )
}

/// `CloudWatch alarm (SNS message) in an SNS Lambda event, 1 alert`;
/// `ECS Service Action (aws.ecs), 0 alerts, 1 dropped by the noise policy`.
pub fn describe(loaded: &Loaded) -> String {
    let dropped = match loaded.dropped.len() {
        0 => String::new(),
        count => format!(", {count} dropped by the noise policy"),
    };
    format!(
        "{}{}, {}{dropped}",
        kind_label(&loaded.kind),
        envelopes(&loaded.envelopes),
        count_alerts(loaded.alerts.len())
    )
}

/// `1 alert`, `2 alerts`.
pub fn count_alerts(alerts: usize) -> String {
    format!("{alerts} alert{}", if alerts == 1 { "" } else { "s" })
}

/// What was detected, in words: `ECS Task State Change (aws.ecs)`.
pub fn kind_label(kind: &Kind) -> String {
    match kind {
        Kind::Payload(kind) => kind_name(*kind).to_string(),
        Kind::Ecs {
            detail_type,
            source,
        } => format!("{detail_type} ({source})"),
        Kind::Mixed => kind_name(PayloadKind::Mixed).to_string(),
    }
}

/// What a payload kind is, in words.
pub fn kind_name(kind: PayloadKind) -> &'static str {
    match kind {
        PayloadKind::CloudwatchAlarmSns => "CloudWatch alarm (SNS message)",
        PayloadKind::CloudwatchAlarmEventbridge => "CloudWatch alarm (EventBridge state change)",
        PayloadKind::CloudwatchAlarmLambdaAction => "CloudWatch alarm (Lambda alarm action)",
        PayloadKind::Alertmanager => "Alertmanager webhook",
        PayloadKind::AwsHealth => "AWS Health event",
        PayloadKind::SnsText => "SNS text message",
        PayloadKind::Alert => "fleetwatch alert",
        PayloadKind::Unknown => "unknown shape (generic layout)",
        PayloadKind::Mixed => "mixed batch",
    }
}

fn envelopes(envelopes: &[Envelope]) -> String {
    let names: Vec<&str> = envelopes
        .iter()
        .map(|envelope| match envelope {
            Envelope::SnsNotification => "an SNS notification",
            Envelope::SnsLambdaEvent => "an SNS Lambda event",
            Envelope::SqsLambdaEvent => "an SQS Lambda event",
        })
        .collect();
    if names.is_empty() {
        String::new()
    } else {
        format!(" in {}", names.join(" in "))
    }
}

// Unwrapping, as `fleetwatch_alerts::normalise` does (its unwrapping is internal), far enough to
// find ECS events: what holds none is handed to `normalise_value` whole.

/// The outer shape of a payload, tested in `fleetwatch_alerts`' order.
enum Shape<'a> {
    Lambda(Envelope, &'a [Value]),
    Array(&'a [Value]),
    SnsNotification,
    Payload,
}

fn shape(value: &Value) -> Shape<'_> {
    if let Some((envelope, records)) = lambda_records(value) {
        return Shape::Lambda(envelope, records);
    }
    if let Value::Array(items) = value {
        return Shape::Array(items);
    }
    if is_sns_notification(value) {
        return Shape::SnsNotification;
    }
    Shape::Payload
}

/// An EventBridge event of a source and detail type `fleetwatch_ecs` classifies.
fn is_ecs_event(value: &Value) -> bool {
    let text = |key: &str| value.get(key).and_then(Value::as_str);
    match (text("source"), text("detail-type")) {
        (Some(ECS_SOURCE), Some(detail_type)) => ECS_DETAIL_TYPES.contains(&detail_type),
        (Some(AUTO_SCALING_SOURCE), Some(detail_type)) => {
            AUTO_SCALING_DETAIL_TYPES.contains(&detail_type)
        }
        _ => false,
    }
}

/// Whether an ECS / Auto Scaling event is anywhere the envelopes reach.
fn holds_ecs_event(value: &Value) -> bool {
    match shape(value) {
        Shape::Lambda(Envelope::SnsLambdaEvent, records) => records.iter().any(|record| {
            get_ci(record, "Sns")
                .and_then(sns_message)
                .is_some_and(|message| holds_ecs_event(&message))
        }),
        Shape::Lambda(_, records) => records
            .iter()
            .any(|record| sqs_body(record).is_some_and(|body| holds_ecs_event(&body))),
        Shape::Array(items) => items.iter().any(holds_ecs_event),
        Shape::SnsNotification => sns_message(value).is_some_and(|m| holds_ecs_event(&m)),
        Shape::Payload => is_ecs_event(value),
    }
}

/// A payload: ECS events classified, the parts without one normalised whole.
fn split(value: Value) -> Result<Loaded, NormaliseError> {
    if !holds_ecs_event(&value) {
        return normalise_value(value).map(Loaded::from);
    }
    match shape(&value) {
        Shape::Lambda(envelope, records) => batch(Some(envelope), records),
        Shape::Array(items) => batch(None, items),
        Shape::SnsNotification => {
            let message = sns_message(&value).unwrap_or_default();
            let mut loaded = split(message)?;
            loaded.envelopes.insert(0, Envelope::SnsNotification);
            Ok(loaded)
        }
        Shape::Payload => ecs_event(value),
    }
}

/// The records of a Lambda event (or the elements of an array, `envelope` `None`), merged.
fn batch(envelope: Option<Envelope>, records: &[Value]) -> Result<Loaded, NormaliseError> {
    let mut merged: Option<Loaded> = None;
    for (index, record) in records.iter().enumerate() {
        let mut loaded = match envelope {
            None => split(record.clone()),
            Some(Envelope::SnsLambdaEvent) => sns_record(record),
            Some(_) => sqs_record(record),
        }
        .map_err(|error| NormaliseError::Record {
            index,
            error: Box::new(error),
        })?;
        if let Some(envelope) = envelope {
            loaded.envelopes.insert(0, envelope);
        }
        match &mut merged {
            None => merged = Some(loaded),
            Some(all) => all.merge(loaded),
        }
    }
    merged.ok_or(NormaliseError::EmptyBatch)
}

/// One record of an SNS Lambda event (its envelope not yet counted).
fn sns_record(record: &Value) -> Result<Loaded, NormaliseError> {
    let Some(sns) = get_ci(record, "Sns").filter(|sns| sns.is_object()) else {
        return Err(NormaliseError::InvalidJson {
            reason: "SNS record without an Sns object".into(),
        });
    };
    match sns_message(sns) {
        Some(message) if holds_ecs_event(&message) => split(message),
        // Normalised as a one-record event, so the message keeps the SNS subject, topic and id.
        _ => {
            let mut loaded = normalise_value(json!({ "Records": [{ "Sns": sns }] }))
                .map(Loaded::from)
                .map_err(|error| match error {
                    NormaliseError::Record { error, .. } => *error,
                    error => error,
                })?;
            loaded.envelopes.remove(0);
            Ok(loaded)
        }
    }
}

/// One record of an SQS Lambda event (its envelope not yet counted).
fn sqs_record(record: &Value) -> Result<Loaded, NormaliseError> {
    let body = record.get("body").and_then(Value::as_str).unwrap_or("");
    let value: Value = serde_json::from_str(body).map_err(|e| NormaliseError::InvalidJson {
        reason: format!("SQS message body: {e}"),
    })?;
    split(value)
}

/// One ECS / Auto Scaling event. One whose detail cannot be read is not lost: it gets the
/// generic layout, with the reason as a warning (as `fleetwatch_alerts` does for its shapes).
fn ecs_event(value: Value) -> Result<Loaded, NormaliseError> {
    match EcsEvent::parse(&value.to_string()) {
        Ok(event) => {
            let (alerts, dropped) = match ecs_alerts(&event) {
                Ok(alerts) => (alerts, Vec::new()),
                Err(dropped) => (Vec::new(), vec![dropped]),
            };
            Ok(Loaded {
                kind: Kind::Ecs {
                    detail_type: event.detail_type().to_string(),
                    source: event.envelope.source.clone().unwrap_or_default(),
                },
                envelopes: Vec::new(),
                alerts,
                dropped,
                unknown_records: 0,
                warnings: Vec::new(),
            })
        }
        Err(error) => {
            let mut loaded = Loaded::from(normalise_value(value)?);
            loaded.warnings.push(format!(
                "looked like an ECS / Auto Scaling event but could not be read: {error}"
            ));
            Ok(loaded)
        }
    }
}

/// The `Records` of an SNS or SQS Lambda event, told apart by the first record's keys (as
/// `fleetwatch_alerts` does).
fn lambda_records(value: &Value) -> Option<(Envelope, &[Value])> {
    let records = value.get("Records")?.as_array()?;
    let envelope = match records.first() {
        Some(r) if get_ci(r, "Sns").is_some_and(Value::is_object) => Envelope::SnsLambdaEvent,
        Some(r) if r.get("body").is_some_and(Value::is_string) => Envelope::SqsLambdaEvent,
        // An empty batch: `fleetwatch_alerts` reports it.
        _ => return None,
    };
    Some((envelope, records))
}

/// `{"Type": "Notification", "Message": "..."}`, key case not trusted.
fn is_sns_notification(value: &Value) -> bool {
    value.is_object()
        && get_ci(value, "Type").and_then(Value::as_str) == Some("Notification")
        && get_ci(value, "Message").is_some_and(Value::is_string)
}

/// An SNS message that is a JSON object or array (anything else is text to its sender).
fn sns_message(sns: &Value) -> Option<Value> {
    let message = get_ci(sns, "Message")?.as_str()?;
    serde_json::from_str::<Value>(message)
        .ok()
        .filter(|inner| inner.is_object() || inner.is_array())
}

/// An SQS record's body, parsed.
fn sqs_body(record: &Value) -> Option<Value> {
    serde_json::from_str(record.get("body")?.as_str()?).ok()
}

/// A key looked up without regard to ASCII case.
fn get_ci<'a>(value: &'a Value, key: &str) -> Option<&'a Value> {
    let object = value.as_object()?;
    object.get(key).or_else(|| {
        object
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TASK_STOPPED: &str = r#"{"version": "0", "id": "e1", "detail-type": "ECS Task State Change",
        "source": "aws.ecs", "account": "1", "time": "2026-11-20T10:07:02Z", "region": "eu-west-1",
        "resources": ["arn:aws:ecs:eu-west-1:1:task/prod/abc"],
        "detail": {"clusterArn": "arn:aws:ecs:eu-west-1:1:cluster/prod",
                   "taskArn": "arn:aws:ecs:eu-west-1:1:task/prod/abc", "group": "service:api",
                   "lastStatus": "STOPPED", "desiredStatus": "STOPPED",
                   "stopCode": "EssentialContainerExited", "version": 3,
                   "containers": [{"name": "app", "exitCode": 1, "lastStatus": "STOPPED"}]}}"#;
    const STEADY: &str = r#"{"detail-type": "ECS Service Action", "source": "aws.ecs",
        "resources": ["arn:aws:ecs:eu-west-1:1:service/prod/api"],
        "detail": {"eventType": "INFO", "eventName": "SERVICE_STEADY_STATE"}}"#;
    const OWN_ALERT: &str =
        r#"{"source": "capacity", "title": "Disk almost full", "severity": "warning"}"#;

    fn load_text(text: &str) -> Result<Loaded, NormaliseError> {
        load_ecs(text).unwrap_or_else(|| normalise(text).map(Loaded::from))
    }

    fn ecs_kind(detail_type: &str) -> Kind {
        Kind::Ecs {
            detail_type: detail_type.into(),
            source: ECS_SOURCE.into(),
        }
    }

    #[test]
    fn only_ecs_and_auto_scaling_events_of_known_detail_types_take_the_ecs_path() {
        assert!(load_ecs(TASK_STOPPED).is_some());
        assert!(load_ecs(STEADY).is_some());
        for other in [
            OWN_ALERT,
            r#"{"detail-type": "ECS Task State Change", "source": "my.app", "detail": {}}"#,
            r#"{"detail-type": "ECS Something New", "source": "aws.ecs", "detail": {}}"#,
            r#"{"detail-type": "ECS Task State Change", "source": "aws.autoscaling", "detail": {}}"#,
            r#"{"detail-type": "EC2 Instance Launch Unsuccessful", "source": "aws.ecs", "detail": {}}"#,
            "[]",
            "{not json",
        ] {
            assert!(load_ecs(other).is_none(), "{other}");
        }
        let asg = r#"{"detail-type": "EC2 Instance Launch Unsuccessful", "source": "aws.autoscaling",
            "detail": {"AutoScalingGroupName": "prod-ecs", "StatusCode": "Failed"}}"#;
        let loaded = load_text(asg).unwrap();
        assert_eq!(
            kind_label(&loaded.kind),
            "EC2 Instance Launch Unsuccessful (aws.autoscaling)"
        );
        assert_eq!(loaded.alerts.len(), 1);
    }

    #[test]
    fn an_ecs_event_is_classified_and_a_noise_event_dropped() {
        let loaded = load_text(TASK_STOPPED).unwrap();
        assert_eq!(loaded.kind, ecs_kind(TASK_STATE_CHANGE));
        assert_eq!(loaded.alerts.len(), 1);
        assert_eq!(
            loaded.alerts[0].title,
            "Task of api stopped: app exited with code 1"
        );
        assert_eq!(
            describe(&loaded),
            "ECS Task State Change (aws.ecs), 1 alert"
        );

        let steady = load_text(STEADY).unwrap();
        assert!(steady.alerts.is_empty());
        assert_eq!(steady.dropped.len(), 1);
        assert!(
            dropped_line(&steady.dropped[0]).starts_with("dropped (noise rule steady_state): "),
            "{:?}",
            steady.dropped
        );
        assert_eq!(
            describe(&steady),
            "ECS Service Action (aws.ecs), 0 alerts, 1 dropped by the noise policy"
        );
    }

    #[test]
    fn wrapped_ecs_events_are_found_in_every_envelope() {
        let event: Value = serde_json::from_str(TASK_STOPPED).unwrap();
        let unwrapped = load_text(TASK_STOPPED).unwrap();
        let notification = json!({"Type": "Notification", "MessageId": "m1",
            "TopicArn": "arn:aws:sns:eu-west-1:1:t", "Message": event.to_string()});
        let cases = [
            (
                json!({"Records": [{"messageId": "1", "body": event.to_string()}]}),
                vec![Envelope::SqsLambdaEvent],
            ),
            (
                json!({"Records": [{"EventSource": "aws:sns", "Sns": notification}]}),
                vec![Envelope::SnsLambdaEvent],
            ),
            (
                json!({"Records": [{"body": notification.to_string()}]}),
                vec![Envelope::SqsLambdaEvent, Envelope::SnsNotification],
            ),
            (notification.clone(), vec![Envelope::SnsNotification]),
            (json!([event]), vec![]),
        ];
        for (wrapped, envelopes) in cases {
            let loaded = load_text(&wrapped.to_string()).unwrap();
            assert_eq!(loaded.alerts, unwrapped.alerts, "{wrapped}");
            assert_eq!(loaded.envelopes, envelopes, "{wrapped}");
            assert_eq!(loaded.kind, ecs_kind(TASK_STATE_CHANGE));
        }
    }

    #[test]
    fn a_batch_mixing_ecs_and_other_payloads_keeps_both_paths() {
        let other = json!({"Type": "Notification", "Subject": "Backup done", "MessageId": "m2",
            "Message": "all good"});
        let batch = json!({"Records": [
            {"body": TASK_STOPPED},
            {"body": STEADY},
            {"body": OWN_ALERT},
            {"body": other.to_string()},
        ]});
        let loaded = load_text(&batch.to_string()).unwrap();
        assert_eq!(loaded.kind, Kind::Mixed);
        assert_eq!(loaded.envelopes, vec![Envelope::SqsLambdaEvent]);
        assert_eq!(loaded.dropped.len(), 1);
        let titles: Vec<&str> = loaded.alerts.iter().map(|a| a.title.as_str()).collect();
        let own = normalise(OWN_ALERT).unwrap().alerts;
        let text = normalise(&other.to_string()).unwrap().alerts;
        assert_eq!(
            titles,
            [
                "Task of api stopped: app exited with code 1",
                own[0].title.as_str(),
                text[0].title.as_str(),
            ]
        );
        assert_eq!(loaded.alerts[1], own[0]);
        assert_eq!(loaded.alerts[2], text[0]);

        let sns_batch = json!({"Records": [
            {"Sns": {"Message": TASK_STOPPED}},
            {"Sns": {"Subject": "Backup done", "MessageId": "m2", "Message": "all good"}},
        ]});
        let loaded = load_text(&sns_batch.to_string()).unwrap();
        let expected = normalise(
            &json!({"Records": [{"Sns": {"Subject": "Backup done", "MessageId": "m2", "Message": "all good"}}]})
                .to_string(),
        )
        .unwrap();
        assert_eq!(loaded.alerts.len(), 2);
        assert_eq!(loaded.alerts[1], expected.alerts[0]);
        assert_eq!(loaded.envelopes, vec![Envelope::SnsLambdaEvent]);
    }

    #[test]
    fn broken_records_are_errors_naming_the_record_and_unreadable_details_get_the_generic_layout() {
        let batch = json!({"Records": [{"body": TASK_STOPPED}, {"body": "{oops"}]});
        let error = load_text(&batch.to_string()).unwrap_err();
        assert!(
            matches!(&error, NormaliseError::Record { index: 1, .. }),
            "{error}"
        );
        assert!(error.to_string().contains("SQS message body"), "{error}");

        let odd = r#"{"detail-type": "ECS Task State Change", "source": "aws.ecs",
            "detail": {"containers": "not a list"}}"#;
        let loaded = load_text(odd).unwrap();
        assert_eq!(loaded.kind, Kind::Payload(PayloadKind::Unknown));
        assert_eq!(loaded.alerts.len(), 1);
        assert_eq!(loaded.unknown_records, 1);
        assert!(
            loaded
                .warnings
                .iter()
                .any(|w| w.contains("could not be read")),
            "{:?}",
            loaded.warnings
        );
    }
}
