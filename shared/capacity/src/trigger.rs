//! What invoked the function: the every-minute schedule, an ECS placement failure, or a terminate
//! lifecycle action of the group. Anything else is ignored with the reason (an invocation that
//! cannot be acted on is not retried).
//!
//! Lenient like every EventBridge reader here: unknown fields are ignored, and a `time` that is
//! not a timestamp (AWS's documentation samples use placeholders) leaves the time to the clock.

use serde::Deserialize;
use serde_json::Value;

pub const SCHEDULED_EVENT: &str = "Scheduled Event";
pub const SERVICE_ACTION: &str = "ECS Service Action";
pub const PLACEMENT_FAILURE: &str = "SERVICE_TASK_PLACEMENT_FAILURE";
pub const TERMINATE_LIFECYCLE_ACTION: &str = "EC2 Instance-terminate Lifecycle Action";
pub const TERMINATING: &str = "autoscaling:EC2_INSTANCE_TERMINATING";

/// One invocation's reason to reconcile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trigger {
    Scheduled,
    /// A service could not place a task: reconcile at once instead of at the next minute.
    PlacementFailure {
        service: Option<String>,
        reason: Option<String>,
    },
    /// The group holds `instance_id` in `Terminating:Wait` for our hook.
    Terminate {
        instance_id: String,
        token: String,
    },
    Ignored {
        reason: String,
    },
}

impl Trigger {
    pub fn kind(&self) -> &'static str {
        match self {
            Trigger::Scheduled => "scheduled",
            Trigger::PlacementFailure { .. } => "placement_failure",
            Trigger::Terminate { .. } => "terminate",
            Trigger::Ignored { .. } => "ignored",
        }
    }
}

/// A trigger and the event's time (epoch seconds), when it has a readable one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    pub trigger: Trigger,
    pub at: Option<u64>,
}

/// What the function acts on: its cluster, group and hook.
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    pub cluster: &'a str,
    pub asg: &'a str,
    pub hook_name: &'a str,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Envelope {
    source: Option<String>,
    #[serde(rename = "detail-type")]
    detail_type: Option<String>,
    time: Option<Value>,
    resources: Option<Vec<Value>>,
    detail: Option<Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct ServiceAction {
    event_name: Option<String>,
    cluster_arn: Option<String>,
    reason: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
struct LifecycleAction {
    lifecycle_action_token: Option<String>,
    auto_scaling_group_name: Option<String>,
    lifecycle_hook_name: Option<String>,
    #[serde(rename = "EC2InstanceId")]
    ec2_instance_id: Option<String>,
    lifecycle_transition: Option<String>,
}

/// Reads an invocation payload.
pub fn parse(payload: &Value, scope: Scope<'_>) -> Invocation {
    let ignored = |reason: String| Trigger::Ignored { reason };
    let envelope: Envelope = match serde_json::from_value(payload.clone()) {
        Ok(envelope) => envelope,
        Err(error) => {
            return Invocation {
                trigger: ignored(format!("not an EventBridge event: {error}")),
                at: None,
            };
        }
    };
    let at = envelope
        .time
        .as_ref()
        .and_then(Value::as_str)
        .and_then(fleetwatch_alerts::unix_seconds)
        .and_then(|t| u64::try_from(t).ok());
    let detail = envelope.detail.clone().unwrap_or(Value::Null);
    let trigger = match envelope.detail_type.as_deref() {
        Some(SCHEDULED_EVENT) => Trigger::Scheduled,
        Some(SERVICE_ACTION) => service_action(&envelope, detail, scope),
        Some(TERMINATE_LIFECYCLE_ACTION) => lifecycle_action(detail, scope),
        Some(other) => ignored(format!(
            "{other:?} from {:?} is not an event the capacity function handles",
            envelope.source.as_deref().unwrap_or("an unknown source")
        )),
        // Lifecycle hooks with an SNS or SQS target send this first; EventBridge never does.
        None if payload.get("Event").and_then(Value::as_str)
            == Some("autoscaling:TEST_NOTIFICATION") =>
        {
            ignored("an Auto Scaling test notification".into())
        }
        None => ignored("no detail-type: not an EventBridge event".into()),
    };
    Invocation { trigger, at }
}

fn service_action(envelope: &Envelope, detail: Value, scope: Scope<'_>) -> Trigger {
    let action: ServiceAction = serde_json::from_value(detail).unwrap_or_default();
    if action.event_name.as_deref() != Some(PLACEMENT_FAILURE) {
        return Trigger::Ignored {
            reason: format!(
                "service action {} is not {PLACEMENT_FAILURE}",
                action.event_name.as_deref().unwrap_or("(unnamed)")
            ),
        };
    }
    let cluster = action
        .cluster_arn
        .as_deref()
        .map(|arn| arn.rsplit('/').next().unwrap_or(arn));
    if cluster.is_some_and(|c| c != scope.cluster) {
        return Trigger::Ignored {
            reason: format!(
                "placement failure in cluster {}, not {}",
                cluster.unwrap_or_default(),
                scope.cluster
            ),
        };
    }
    // resources[0]: arn:aws:ecs:region:account:service/<cluster>/<service> (or service/<service>).
    let service = envelope
        .resources
        .iter()
        .flatten()
        .filter_map(Value::as_str)
        .find(|r| r.contains(":service/"))
        .and_then(|arn| arn.rsplit('/').next())
        .map(str::to_string);
    Trigger::PlacementFailure {
        service,
        reason: action.reason,
    }
}

fn lifecycle_action(detail: Value, scope: Scope<'_>) -> Trigger {
    let ignored = |reason: String| Trigger::Ignored { reason };
    let action: LifecycleAction = serde_json::from_value(detail).unwrap_or_default();
    if action.lifecycle_transition.as_deref() != Some(TERMINATING) {
        return ignored(format!(
            "lifecycle transition {:?} is not {TERMINATING}",
            action.lifecycle_transition.as_deref().unwrap_or("(none)")
        ));
    }
    if action.auto_scaling_group_name.as_deref() != Some(scope.asg) {
        return ignored(format!(
            "lifecycle action of group {:?}, not {}",
            action
                .auto_scaling_group_name
                .as_deref()
                .unwrap_or("(none)"),
            scope.asg
        ));
    }
    // Another hook on the same group belongs to someone else: completing it is not ours to do.
    if action.lifecycle_hook_name.as_deref() != Some(scope.hook_name) {
        return ignored(format!(
            "lifecycle hook {:?} is not {}",
            action.lifecycle_hook_name.as_deref().unwrap_or("(none)"),
            scope.hook_name
        ));
    }
    match action.ec2_instance_id.filter(|id| !id.is_empty()) {
        Some(instance_id) => Trigger::Terminate {
            instance_id,
            token: action.lifecycle_action_token.unwrap_or_default(),
        },
        None => ignored("terminate lifecycle action without an EC2InstanceId".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SCOPE: Scope<'static> = Scope {
        cluster: "prod",
        asg: "prod-asg",
        hook_name: "drain",
    };

    fn terminate(asg: &str, hook: &str, transition: &str) -> Value {
        json!({
            "version": "0",
            "id": "468fd5a2-3a1c-4f5e-9b1a-0e1f2a3b4c5d",
            "detail-type": "EC2 Instance-terminate Lifecycle Action",
            "source": "aws.autoscaling",
            "account": "123456789012",
            "time": "2026-11-20T10:05:00Z",
            "region": "eu-west-1",
            "resources": ["arn:aws:autoscaling:eu-west-1:123456789012:autoScalingGroup:5e8f:autoScalingGroupName/prod-asg"],
            "detail": {
                "LifecycleActionToken": "87654321-4321-4321-4321-210987654321",
                "AutoScalingGroupName": asg,
                "LifecycleHookName": hook,
                "EC2InstanceId": "i-0123456789abcdef0",
                "LifecycleTransition": transition,
                "Origin": "AutoScalingGroup",
                "Destination": "EC2"
            }
        })
    }

    #[test]
    fn the_three_kinds_and_their_times() {
        let scheduled = json!({
            "version": "0", "id": "53dc4d37", "detail-type": "Scheduled Event",
            "source": "aws.events", "account": "123456789012", "time": "2026-11-20T10:06:00Z",
            "region": "eu-west-1", "resources": ["arn:aws:events:eu-west-1:123456789012:rule/x"],
            "detail": {}
        });
        let invocation = parse(&scheduled, SCOPE);
        assert_eq!(invocation.trigger, Trigger::Scheduled);
        assert_eq!(invocation.at, Some(1_795_169_160));

        let placement: Value = serde_json::from_str(include_str!(
            "../../../events/ecs/service-placement-failure.json"
        ))
        .unwrap();
        let invocation = parse(&placement, SCOPE);
        assert_eq!(
            invocation.trigger,
            Trigger::PlacementFailure {
                service: Some("checkout".into()),
                reason: Some("RESOURCE:MEMORY".into())
            }
        );
        assert_eq!(invocation.at, Some(1_795_168_992));

        let invocation = parse(&terminate("prod-asg", "drain", TERMINATING), SCOPE);
        assert_eq!(
            invocation.trigger,
            Trigger::Terminate {
                instance_id: "i-0123456789abcdef0".into(),
                token: "87654321-4321-4321-4321-210987654321".into()
            }
        );
        assert_eq!(invocation.at, Some(1_795_169_100));
    }

    #[test]
    fn what_is_not_ours_is_ignored_with_the_reason() {
        let reason = |payload: Value| match parse(&payload, SCOPE).trigger {
            Trigger::Ignored { reason } => reason,
            other => panic!("{other:?}"),
        };
        assert!(reason(terminate("other-asg", "drain", TERMINATING)).contains("other-asg"));
        assert!(
            reason(terminate("prod-asg", "someone-elses", TERMINATING)).contains("someone-elses")
        );
        assert!(
            reason(terminate(
                "prod-asg",
                "drain",
                "autoscaling:EC2_INSTANCE_LAUNCHING"
            ))
            .contains("LAUNCHING")
        );
        let mut other_cluster: Value = serde_json::from_str(include_str!(
            "../../../events/ecs/service-placement-failure.json"
        ))
        .unwrap();
        other_cluster["detail"]["clusterArn"] =
            json!("arn:aws:ecs:eu-west-1:123456789012:cluster/staging");
        assert!(reason(other_cluster.clone()).contains("staging"));
        other_cluster["detail"]["eventName"] = json!("SERVICE_STEADY_STATE");
        assert!(reason(other_cluster).contains("SERVICE_STEADY_STATE"));
        assert!(reason(json!({"Event": "autoscaling:TEST_NOTIFICATION"})).contains("test"));
        assert!(reason(json!({"detail-type": "ECS Task State Change"})).contains("Task State"));
        assert!(reason(json!([1, 2])).contains("not an EventBridge event"));
    }

    #[test]
    fn a_placeholder_time_is_no_time() {
        let mut event = terminate("prod-asg", "drain", TERMINATING);
        event["time"] = json!("yyyy-mm-ddThh:mm:ssZ");
        assert_eq!(parse(&event, SCOPE).at, None);
    }
}
