//! Unwrapping the envelopes AWS puts around a payload: SNS notifications, SNS and SQS Lambda
//! events, in any nesting.

use super::{
    Detected, NormaliseError, Normalised, PayloadKind, Recogniser, SnsContext, detect, sns_text,
};
use serde::Serialize;
use serde_json::{Map, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Envelope {
    /// `{"Type": "Notification", "Message": "..."}`: SNS to SQS (without raw delivery) or HTTP.
    SnsNotification,
    /// `{"Records": [{"Sns": {...}}]}`: SNS invoking a Lambda function.
    SnsLambdaEvent,
    /// `{"Records": [{"body": "..."}]}`: an SQS event source mapping invoking a Lambda function.
    SqsLambdaEvent,
}

pub(crate) fn unwrap_and_detect(
    value: Value,
    outer: &SnsContext,
    recogniser: &dyn Recogniser,
) -> Result<Normalised, NormaliseError> {
    if let Some((envelope, records)) = lambda_records(&value) {
        return unwrap_batch(Some(envelope), records, recogniser);
    }
    if let Value::Array(items) = &value {
        return unwrap_batch(None, items, recogniser);
    }
    if let Some(notification) = sns_notification(&value) {
        let mut normalised = unwrap_sns(notification, recogniser)?;
        normalised.envelopes.insert(0, Envelope::SnsNotification);
        return Ok(normalised);
    }
    Ok(into_normalised(detect(value, outer, recogniser)?))
}

fn into_normalised(detected: Detected) -> Normalised {
    Normalised {
        kind: detected.kind,
        envelopes: Vec::new(),
        unknown_records: usize::from(detected.kind == PayloadKind::Unknown),
        alerts: detected.alerts,
        warnings: detected.warnings,
        dropped: detected.dropped,
    }
}

/// The `Records` of an SNS or SQS Lambda event, told apart by each record's own keys (the
/// `EventSource` / `eventSource` spelling differs between the two).
fn lambda_records(value: &Value) -> Option<(Envelope, &Vec<Value>)> {
    let records = value.get("Records")?.as_array()?;
    let first = records.first();
    let envelope = match first {
        Some(r) if get_ci(r, "Sns").is_some_and(Value::is_object) => Envelope::SnsLambdaEvent,
        Some(r) if r.get("body").is_some_and(Value::is_string) => Envelope::SqsLambdaEvent,
        // An empty batch is still a batch if it says so.
        None if value.as_object().is_some_and(|o| o.len() == 1) => Envelope::SqsLambdaEvent,
        _ => return None,
    };
    Some((envelope, records))
}

/// The records of a Lambda event, or the elements of a plain array (`envelope` `None`).
fn unwrap_batch(
    envelope: Option<Envelope>,
    records: &[Value],
    recogniser: &dyn Recogniser,
) -> Result<Normalised, NormaliseError> {
    if records.is_empty() {
        return Err(NormaliseError::EmptyBatch);
    }
    let mut merged: Option<Normalised> = None;
    for (index, record) in records.iter().enumerate() {
        let wrap = |error| NormaliseError::Record {
            index,
            error: Box::new(error),
        };
        let mut normalised = match envelope {
            None => unwrap_and_detect(record.clone(), &SnsContext::default(), recogniser)
                .map_err(wrap)?,
            Some(Envelope::SnsLambdaEvent) => {
                let sns = get_ci(record, "Sns")
                    .and_then(Value::as_object)
                    .ok_or_else(|| {
                        wrap(NormaliseError::InvalidJson {
                            reason: "SNS record without an Sns object".into(),
                        })
                    })?;
                unwrap_sns(sns, recogniser).map_err(wrap)?
            }
            _ => {
                let body = record.get("body").and_then(Value::as_str).unwrap_or("");
                let value: Value = serde_json::from_str(body).map_err(|e| {
                    wrap(NormaliseError::InvalidJson {
                        reason: format!("SQS message body: {e}"),
                    })
                })?;
                unwrap_and_detect(value, &SnsContext::default(), recogniser).map_err(wrap)?
            }
        };
        if let Some(envelope) = envelope {
            normalised.envelopes.insert(0, envelope);
        }
        merged = Some(match merged {
            None => normalised,
            Some(mut all) => {
                if all.kind != normalised.kind {
                    all.kind = PayloadKind::Mixed;
                }
                all.alerts.append(&mut normalised.alerts);
                all.warnings.append(&mut normalised.warnings);
                all.dropped.append(&mut normalised.dropped);
                all.unknown_records += normalised.unknown_records;
                all
            }
        });
    }
    Ok(merged.expect("records is not empty"))
}

/// An SNS notification object: `Type` is `Notification` and `Message` is a string. Key case is
/// not trusted (SNS spells some keys differently for Lambda and for HTTP/SQS).
fn sns_notification(value: &Value) -> Option<&Map<String, Value>> {
    let object = value.as_object()?;
    let is_notification = get_ci(value, "Type").and_then(Value::as_str) == Some("Notification");
    let has_message = get_ci(value, "Message").is_some_and(Value::is_string);
    (is_notification && has_message).then_some(object)
}

/// The message of an SNS notification: JSON objects and arrays are detected like any payload
/// (with the SNS subject and time at hand), anything else is plain text.
fn unwrap_sns(
    sns: &Map<String, Value>,
    recogniser: &dyn Recogniser,
) -> Result<Normalised, NormaliseError> {
    let text = |key: &str| {
        sns.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .and_then(|(_, v)| v.as_str())
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    let context = SnsContext {
        subject: text("Subject"),
        topic_arn: text("TopicArn"),
        message_id: text("MessageId"),
        timestamp: text("Timestamp"),
    };
    let message = text("Message").unwrap_or_default();
    match serde_json::from_str::<Value>(&message) {
        // A message of `42` or `"quoted"` parses as JSON but is text to whoever sent it.
        Ok(inner @ (Value::Object(_) | Value::Array(_))) => {
            unwrap_and_detect(inner, &context, recogniser)
        }
        _ => Ok(into_normalised(Detected::one(
            PayloadKind::SnsText,
            sns_text::from_message(&message, &context),
        ))),
    }
}

/// A key looked up without regard to ASCII case.
pub(crate) fn get_ci<'a>(value: &'a Value, key: &str) -> Option<&'a Value> {
    let object = value.as_object()?;
    object.get(key).or_else(|| {
        object
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}
