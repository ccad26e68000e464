//! A plugged-in [`Recogniser`] sees every unwrapped payload first, in any envelope: its alerts,
//! drops and unreadable payloads are merged like the built-in kinds'.

use fleetwatch_alerts::{
    Alert, Envelope, NormaliseError, PayloadKind, Recognised, Recogniser, Source, normalise,
    normalise_with,
};
use serde_json::{Value, json};

/// Claims payloads with `"kind": "test"`: `"noise": true` ones are dropped, `"broken": true`
/// ones unreadable, the rest one alert titled after `name`.
struct TestRecogniser;

impl Recogniser for TestRecogniser {
    fn recognise(&self, payload: &Value) -> Option<Recognised> {
        if payload["kind"] != "test" {
            return None;
        }
        let kind = PayloadKind::EcsEvent;
        Some(if payload["broken"] == true {
            Recognised::Unreadable {
                kind,
                reason: "no name".into(),
            }
        } else if payload["noise"] == true {
            Recognised::Classified {
                kind,
                alerts: Vec::new(),
                dropped: vec![format!("{} is noise", payload["name"])],
            }
        } else {
            let name = payload["name"].as_str().unwrap_or_default();
            Recognised::Classified {
                kind,
                alerts: vec![Alert::new(Source::EcsEvents, name)],
                dropped: Vec::new(),
            }
        })
    }
}

fn sqs_event(bodies: &[Value]) -> String {
    let records: Vec<Value> = bodies
        .iter()
        .map(|b| json!({"messageId": "m", "body": b.to_string(), "eventSource": "aws:sqs"}))
        .collect();
    json!({ "Records": records }).to_string()
}

#[test]
fn recognised_payloads_in_an_sqs_batch_merge_with_the_built_in_kinds() {
    let payload = sqs_event(&[
        json!({"kind": "test", "name": "first"}),
        json!({"kind": "test", "name": "quiet", "noise": true}),
        json!({"anything": "else"}),
    ]);
    let normalised = normalise_with(&payload, &TestRecogniser).unwrap();
    assert_eq!(normalised.kind, PayloadKind::Mixed);
    assert_eq!(normalised.envelopes, vec![Envelope::SqsLambdaEvent]);
    let titles: Vec<&str> = normalised.alerts.iter().map(|a| a.title.as_str()).collect();
    assert_eq!(titles.len(), 2);
    assert_eq!(titles[0], "first");
    assert_eq!(normalised.dropped, vec!["\"quiet\" is noise".to_string()]);
    assert_eq!(normalised.unknown_records, 1);

    // Without the recogniser the same payloads are unknown shapes.
    let plain = normalise(&payload).unwrap();
    assert_eq!(plain.unknown_records, 3);
    assert!(plain.dropped.is_empty());
}

#[test]
fn recognised_inside_an_sns_notification_and_unreadable_ones_stay_visible() {
    let notification = json!({
        "Type": "Notification", "MessageId": "1", "TopicArn": "arn:aws:sns:eu-west-1:1:t",
        "Subject": "s", "Message": json!({"kind": "test", "name": "in sns"}).to_string()
    });
    let normalised = normalise_with(&notification.to_string(), &TestRecogniser).unwrap();
    assert_eq!(normalised.kind, PayloadKind::EcsEvent);
    assert_eq!(normalised.envelopes, vec![Envelope::SnsNotification]);
    assert_eq!(normalised.alerts[0].title, "in sns");

    let broken = json!({"kind": "test", "broken": true}).to_string();
    let normalised = normalise_with(&broken, &TestRecogniser).unwrap();
    assert_eq!(normalised.kind, PayloadKind::Unknown);
    assert_eq!(normalised.alerts.len(), 1, "shown with the generic layout");
    assert_eq!(
        normalised.warnings,
        vec!["looked like ecs_event but could not be read: no name".to_string()]
    );
}

#[test]
fn errors_are_the_same_with_a_recogniser() {
    assert!(matches!(
        normalise_with("not json", &TestRecogniser),
        Err(NormaliseError::InvalidJson { .. })
    ));
    assert_eq!(
        normalise_with("[]", &TestRecogniser),
        Err(NormaliseError::EmptyBatch)
    );
}
