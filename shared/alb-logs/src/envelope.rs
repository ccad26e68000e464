//! Decoding of the envelopes an S3 "object created" notification can arrive in.
//!
//! Pure: JSON in, [`ObjectRef`]s out. The same notification reaches a function in five shapes:
//! SQS (primary; the body holds a direct S3 notification, an SNS notification or an EventBridge
//! event), direct S3 notification, SNS, EventBridge "Object Created", and S3 Batch Operations.
//!
//! The S3 record types here are our own and lenient on purpose: `aws_lambda_events`' `S3EventRecord`
//! requires `eventTime`, `userIdentity` and `requestParameters`, and its batch task type has no
//! `s3Bucket` (schema 2.0). A notification that lacks a field we do not use must still be processed.

use percent_encoding::percent_decode_str;
use serde::Deserialize;
use serde_json::Value;

/// One S3 object to process, with the key already URL-decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectRef {
    pub bucket: String,
    pub key: String,
    pub size: Option<u64>,
    pub etag: Option<String>,
    pub version_id: Option<String>,
}

/// What a Lambda invocation carried.
#[derive(Debug, PartialEq)]
pub enum Trigger {
    /// An SQS batch: each message decodes on its own, so one poison message does not fail the rest
    /// (it is reported as a batch item failure or dead-lettered by the caller).
    Sqs(Vec<SqsItem>),
    /// A direct S3 notification, an SNS notification or an EventBridge event invoking the function.
    Direct(Vec<ObjectRef>),
    /// An S3 Batch Operations job; the response must echo its ids, see [`BatchJob`].
    BatchJob(BatchJob),
}

#[derive(Debug, PartialEq)]
pub struct SqsItem {
    pub message_id: String,
    pub objects: Result<Vec<ObjectRef>, EnvelopeError>,
}

#[derive(Debug, PartialEq)]
pub struct BatchJob {
    pub invocation_id: String,
    pub invocation_schema_version: String,
    pub tasks: Vec<BatchTask>,
}

#[derive(Debug, PartialEq)]
pub struct BatchTask {
    pub task_id: String,
    pub object: Result<ObjectRef, EnvelopeError>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    #[error("invalid JSON: {0}")]
    InvalidJson(String),
    #[error("unrecognised event shape: {0}")]
    UnknownShape(String),
    #[error("missing field `{0}`")]
    MissingField(&'static str),
    #[error("notification nested deeper than {MAX_DEPTH} envelopes")]
    TooDeep,
}

/// SQS body -> SNS -> S3 is the deepest real nesting; more means a loop or garbage.
const MAX_DEPTH: usize = 4;

/// Decodes a Lambda invocation payload.
pub fn decode_trigger(event: &Value) -> Result<Trigger, EnvelopeError> {
    if let Some(records) = event.get("Records").and_then(Value::as_array) {
        let source = records.first().and_then(record_source).unwrap_or_default();
        if source == "aws:sqs" {
            return decode_sqs(event).map(Trigger::Sqs);
        }
    }
    if event.get("invocationSchemaVersion").is_some() && event.get("tasks").is_some() {
        return decode_batch_job(event).map(Trigger::BatchJob);
    }
    decode_value(event, 0).map(Trigger::Direct)
}

/// Decodes one notification body (an SQS message body, an SNS message): S3, SNS or EventBridge.
/// An S3 `s3:TestEvent` decodes to no objects.
pub fn decode_notification(body: &str) -> Result<Vec<ObjectRef>, EnvelopeError> {
    decode_str(body, 0)
}

fn decode_str(body: &str, depth: usize) -> Result<Vec<ObjectRef>, EnvelopeError> {
    let value: Value =
        serde_json::from_str(body).map_err(|e| EnvelopeError::InvalidJson(e.to_string()))?;
    decode_value(&value, depth)
}

fn decode_value(value: &Value, depth: usize) -> Result<Vec<ObjectRef>, EnvelopeError> {
    if depth >= MAX_DEPTH {
        return Err(EnvelopeError::TooDeep);
    }
    if let Some(records) = value.get("Records").and_then(Value::as_array) {
        let mut objects = Vec::new();
        for record in records {
            match record_source(record).unwrap_or_default() {
                "aws:s3" => objects.extend(s3_record(record)?),
                "aws:sns" => {
                    let message = record
                        .pointer("/Sns/Message")
                        .and_then(Value::as_str)
                        .ok_or(EnvelopeError::MissingField("Sns.Message"))?;
                    objects.extend(decode_str(message, depth + 1)?);
                }
                other => {
                    return Err(EnvelopeError::UnknownShape(format!(
                        "record with eventSource {other:?}"
                    )));
                }
            }
        }
        return Ok(objects);
    }
    // SNS notification delivered to SQS without raw message delivery.
    if value.get("Type").and_then(Value::as_str) == Some("Notification") {
        let message = value
            .get("Message")
            .and_then(Value::as_str)
            .ok_or(EnvelopeError::MissingField("Message"))?;
        return decode_str(message, depth + 1);
    }
    if value.get("source").and_then(Value::as_str) == Some("aws.s3") {
        return eventbridge_object(value);
    }
    if value.get("Event").and_then(Value::as_str) == Some("s3:TestEvent") {
        return Ok(Vec::new());
    }
    Err(EnvelopeError::UnknownShape(describe(value)))
}

fn record_source(record: &Value) -> Option<&str> {
    // S3 and SQS spell it `eventSource`, SNS `EventSource`.
    record
        .get("eventSource")
        .or_else(|| record.get("EventSource"))
        .and_then(Value::as_str)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct S3Record {
    #[serde(default)]
    event_name: String,
    s3: S3Entity,
}

#[derive(Deserialize)]
struct S3Entity {
    bucket: S3Bucket,
    object: S3Object,
}

#[derive(Deserialize)]
struct S3Bucket {
    name: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct S3Object {
    key: String,
    #[serde(default)]
    size: Option<u64>,
    #[serde(default, alias = "etag")]
    e_tag: Option<String>,
    #[serde(default)]
    version_id: Option<String>,
}

/// Only `ObjectCreated:*` records name an object to read; removals and restores are ignored.
fn s3_record(record: &Value) -> Result<Option<ObjectRef>, EnvelopeError> {
    let record: S3Record = serde_json::from_value(record.clone())
        .map_err(|e| EnvelopeError::UnknownShape(format!("S3 record: {e}")))?;
    if !record.event_name.starts_with("ObjectCreated") {
        return Ok(None);
    }
    let object = record.s3.object;
    Ok(Some(ObjectRef {
        bucket: record.s3.bucket.name,
        key: decode_notification_key(&object.key),
        size: object.size,
        etag: object.e_tag.filter(|e| !e.is_empty()),
        version_id: object.version_id.filter(|v| !v.is_empty()),
    }))
}

#[derive(Deserialize)]
struct EventBridgeDetail {
    bucket: S3Bucket,
    object: S3Object,
}

/// EventBridge events carry the key as stored (not URL-encoded, unlike S3 notifications).
fn eventbridge_object(value: &Value) -> Result<Vec<ObjectRef>, EnvelopeError> {
    if value.get("detail-type").and_then(Value::as_str) != Some("Object Created") {
        return Ok(Vec::new());
    }
    let detail = value
        .get("detail")
        .ok_or(EnvelopeError::MissingField("detail"))?;
    let detail: EventBridgeDetail = serde_json::from_value(detail.clone())
        .map_err(|e| EnvelopeError::UnknownShape(format!("EventBridge S3 detail: {e}")))?;
    Ok(vec![ObjectRef {
        bucket: detail.bucket.name,
        key: detail.object.key,
        size: detail.object.size,
        etag: detail.object.e_tag.filter(|e| !e.is_empty()),
        version_id: detail.object.version_id.filter(|v| !v.is_empty()),
    }])
}

fn decode_sqs(event: &Value) -> Result<Vec<SqsItem>, EnvelopeError> {
    let sqs: aws_lambda_events::sqs::SqsEvent = serde_json::from_value(event.clone())
        .map_err(|e| EnvelopeError::UnknownShape(format!("SQS event: {e}")))?;
    sqs.records
        .into_iter()
        .map(|message| {
            let message_id = message
                .message_id
                .ok_or(EnvelopeError::MissingField("messageId"))?;
            let objects = match message.body {
                Some(body) => decode_str(&body, 1),
                None => Err(EnvelopeError::MissingField("body")),
            };
            Ok(SqsItem {
                message_id,
                objects,
            })
        })
        .collect()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BatchJobEvent {
    invocation_schema_version: String,
    invocation_id: String,
    tasks: Vec<BatchJobTask>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BatchJobTask {
    task_id: String,
    s3_key: Option<String>,
    s3_version_id: Option<String>,
    /// Schema 1.0.
    s3_bucket_arn: Option<String>,
    /// Schema 2.0.
    s3_bucket: Option<String>,
}

fn decode_batch_job(event: &Value) -> Result<BatchJob, EnvelopeError> {
    let job: BatchJobEvent = serde_json::from_value(event.clone())
        .map_err(|e| EnvelopeError::UnknownShape(format!("S3 Batch Operations job: {e}")))?;
    let tasks = job
        .tasks
        .into_iter()
        .map(|task| {
            let bucket = task.s3_bucket.or_else(|| {
                task.s3_bucket_arn
                    .as_deref()
                    .map(|arn| arn.rsplit(':').next().unwrap_or(arn).to_string())
            });
            let object = match (bucket, task.s3_key) {
                (Some(bucket), Some(key)) => Ok(ObjectRef {
                    bucket,
                    // Batch Operations keys are percent-encoded; `+` is a literal plus there.
                    key: percent_decode_lossy(&key),
                    size: None,
                    etag: None,
                    version_id: task.s3_version_id.filter(|v| !v.is_empty()),
                }),
                (None, _) => Err(EnvelopeError::MissingField("s3Bucket")),
                (_, None) => Err(EnvelopeError::MissingField("s3Key")),
            };
            BatchTask {
                task_id: task.task_id,
                object,
            }
        })
        .collect();
    Ok(BatchJob {
        invocation_id: job.invocation_id,
        invocation_schema_version: job.invocation_schema_version,
        tasks,
    })
}

/// S3 notifications form-encode keys: `+` is a space, a literal plus arrives as `%2B`.
pub fn decode_notification_key(key: &str) -> String {
    percent_decode_lossy(&key.replace('+', " "))
}

fn percent_decode_lossy(s: &str) -> String {
    percent_decode_str(s).decode_utf8_lossy().into_owned()
}

fn describe(value: &Value) -> String {
    match value {
        Value::Object(map) => {
            let keys: Vec<&str> = map.keys().take(8).map(String::as_str).collect();
            format!("object with keys [{}]", keys.join(", "))
        }
        Value::Array(_) => "array".into(),
        Value::String(_) => "string".into(),
        Value::Number(_) => "number".into(),
        Value::Bool(_) => "boolean".into(),
        Value::Null => "null".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notification_keys_are_form_decoded() {
        let cases = [
            ("a+b.log", "a b.log"),
            ("a%2Bb.log", "a+b.log"),
            ("dt%3D2024-01-01/x.gz", "dt=2024-01-01/x.gz"),
            ("caf%C3%A9", "café"),
            ("plain/key.log.gz", "plain/key.log.gz"),
        ];
        for (raw, want) in cases {
            assert_eq!(decode_notification_key(raw), want, "{raw}");
        }
    }

    #[test]
    fn removal_records_name_no_object() {
        let body = r#"{"Records":[{"eventSource":"aws:s3","eventName":"ObjectRemoved:Delete",
            "s3":{"bucket":{"name":"b"},"object":{"key":"k"}}}]}"#;
        assert_eq!(decode_notification(body).unwrap(), vec![]);
    }

    #[test]
    fn unknown_json_is_an_error_naming_the_shape() {
        let err = decode_notification(r#"{"hello":"world"}"#).unwrap_err();
        assert_eq!(
            err,
            EnvelopeError::UnknownShape("object with keys [hello]".into())
        );
    }

    #[test]
    fn invalid_json_is_an_error() {
        assert!(matches!(
            decode_notification("{not json"),
            Err(EnvelopeError::InvalidJson(_))
        ));
    }

    #[test]
    fn self_nesting_sns_stops() {
        let mut body = r#"{"Event":"s3:TestEvent"}"#.to_string();
        for _ in 0..6 {
            body = serde_json::json!({"Type": "Notification", "Message": body}).to_string();
        }
        assert_eq!(decode_notification(&body), Err(EnvelopeError::TooDeep));
    }
}
