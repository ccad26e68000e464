//! ECS and Auto Scaling events as a [`Recogniser`] of `fleetwatch_alerts`: wherever the
//! normaliser unwraps one (raw, in SQS, SNS or Lambda envelopes, in a batch), it is classified
//! as the ecs-events function classifies it. The fan-out and the CLI plug it in.

use std::sync::Mutex;

use fleetwatch_alerts::{PayloadKind, Recognised, Recogniser};
use serde_json::Value;

use crate::event::{
    CONTAINER_INSTANCE_STATE_CHANGE, DEPLOYMENT_STATE_CHANGE, EcsEvent,
    INSTANCE_LAUNCH_UNSUCCESSFUL, INSTANCE_TERMINATE_UNSUCCESSFUL, SERVICE_ACTION,
    TASK_STATE_CHANGE,
};
use crate::{Classified, NoisePolicy, classify_event};

/// Whether `payload` is an EventBridge event this crate classifies: source `aws.ecs` with an
/// ECS detail type, or `aws.autoscaling` with a launch/terminate failure.
pub fn is_ecs_event(payload: &Value) -> bool {
    let text = |key: &str| payload.get(key).and_then(Value::as_str);
    match (text("source"), text("detail-type")) {
        (Some("aws.ecs"), Some(detail_type)) => [
            DEPLOYMENT_STATE_CHANGE,
            SERVICE_ACTION,
            TASK_STATE_CHANGE,
            CONTAINER_INSTANCE_STATE_CHANGE,
        ]
        .contains(&detail_type),
        (Some("aws.autoscaling"), Some(detail_type)) => [
            INSTANCE_LAUNCH_UNSUCCESSFUL,
            INSTANCE_TERMINATE_UNSUCCESSFUL,
        ]
        .contains(&detail_type),
        _ => false,
    }
}

/// Classifies ECS events with a noise policy, and keeps each alert's event (by alert id) for
/// a caller that enriches them afterwards.
#[derive(Debug, Default)]
pub struct EcsRecogniser {
    policy: NoisePolicy,
    events: Mutex<Vec<(String, EcsEvent)>>,
}

impl EcsRecogniser {
    pub fn new(policy: NoisePolicy) -> Self {
        EcsRecogniser {
            policy,
            events: Mutex::default(),
        }
    }

    /// The events behind the alerts made so far, with each alert's id; emptied.
    pub fn take_events(&self) -> Vec<(String, EcsEvent)> {
        std::mem::take(&mut *self.events.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

impl Recogniser for EcsRecogniser {
    fn recognise(&self, payload: &Value) -> Option<Recognised> {
        if !is_ecs_event(payload) {
            return None;
        }
        let kind = PayloadKind::EcsEvent;
        let event = match EcsEvent::parse(&payload.to_string()) {
            Ok(event) => event,
            Err(error) => {
                return Some(Recognised::Unreadable {
                    kind,
                    reason: error.to_string(),
                });
            }
        };
        Some(match classify_event(&event, &self.policy) {
            Classified::Alerts(alerts) => {
                let mut events = self.events.lock().unwrap_or_else(|e| e.into_inner());
                events.extend(alerts.iter().map(|a| (a.id.clone(), event.clone())));
                Recognised::Classified {
                    kind,
                    alerts,
                    dropped: Vec::new(),
                }
            }
            Classified::Dropped(dropped) => Recognised::Classified {
                kind,
                alerts: Vec::new(),
                dropped: vec![format!(
                    "noise rule {}: {}",
                    dropped.rule.as_str(),
                    dropped.reason
                )],
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fleetwatch_alerts::{Envelope, normalise_with};
    use serde_json::json;

    fn fixture(name: &str) -> Value {
        let path = format!("{}/../../events/ecs/{name}", env!("CARGO_MANIFEST_DIR"));
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    #[test]
    fn only_the_classified_sources_and_detail_types_are_claimed() {
        assert!(is_ecs_event(&fixture("task-stopped-oom.json")));
        assert!(is_ecs_event(&fixture("asg-launch-unsuccessful.json")));
        assert!(!is_ecs_event(
            &json!({"source": "aws.ecs", "detail-type": "ECS Something New"})
        ));
        assert!(!is_ecs_event(
            &json!({"source": "aws.health", "detail-type": "AWS Health Event"})
        ));
        assert!(!is_ecs_event(
            &json!({"source": "aws.autoscaling", "detail-type": "EC2 Instance Launch Successful"})
        ));
    }

    #[test]
    fn an_sqs_batch_of_an_alert_and_noise_gives_the_alert_and_the_drop() {
        let batch = json!({"Records": [
            {"messageId": "1", "body": fixture("task-stopped-oom.json").to_string()},
            {"messageId": "2", "body": fixture("noise-service-steady-state.json").to_string()},
        ]});
        let recogniser = EcsRecogniser::default();
        let normalised = normalise_with(&batch.to_string(), &recogniser).unwrap();
        assert_eq!(normalised.kind, PayloadKind::EcsEvent);
        assert_eq!(normalised.envelopes, vec![Envelope::SqsLambdaEvent]);
        assert_eq!(normalised.alerts.len(), 1);
        assert!(normalised.alerts[0].title.contains("ran out of memory"));
        assert_eq!(normalised.dropped.len(), 1);
        assert!(normalised.dropped[0].starts_with("noise rule steady_state: "));
        let events = recogniser.take_events();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].0, normalised.alerts[0].id);
        assert!(recogniser.take_events().is_empty());
    }

    #[test]
    fn an_unreadable_detail_is_shown_generically_with_the_reason() {
        let broken = json!({"source": "aws.ecs", "detail-type": "ECS Task State Change",
                            "detail": {"containers": "not a list"}});
        let normalised = normalise_with(&broken.to_string(), &EcsRecogniser::default()).unwrap();
        assert_eq!(normalised.kind, PayloadKind::Unknown);
        assert_eq!(normalised.alerts.len(), 1);
        assert!(normalised.warnings[0].starts_with("looked like ecs_event but could not be read"));
    }
}
