//! EventBridge rule patterns: pre-filter in EventBridge what the pattern language can express,
//! so the function is not invoked for events it would drop anyway. The classifier still applies
//! the full noise policy (patterns are an optimisation, not the policy).

use crate::event::{
    CONTAINER_INSTANCE_STATE_CHANGE, DEPLOYMENT_STATE_CHANGE, INSTANCE_LAUNCH_UNSUCCESSFUL,
    INSTANCE_TERMINATE_UNSUCCESSFUL, SERVICE_ACTION, TASK_STATE_CHANGE,
};
use serde_json::{Value, json};

/// Service actions that are only ever noise under the default policy.
pub const STEADY_STATE_EVENTS: [&str; 3] = [
    "SERVICE_STEADY_STATE",
    "TASKSET_STEADY_STATE",
    "CAPACITY_PROVIDER_STEADY_STATE",
];

/// One pattern per rule: deployments, service actions, stopped tasks, Auto Scaling failures,
/// container instances that failed to register (the only container instance status alerted on:
/// the agent's reconnects never reach the function).
///
/// `clusters` are cluster names or ARNs; empty means every cluster. Deployment events carry no
/// cluster field, so they are matched on the service ARN in `resources`
/// (`arn:aws:ecs:*:*:service/<cluster>/*`); services with the old short ARN form cannot be
/// filtered by cluster. Auto Scaling events are not cluster-scoped and are not filtered.
pub fn rule_patterns(clusters: &[String]) -> Vec<Value> {
    let cluster_arns: Vec<Value> = clusters.iter().map(|c| cluster_arn_matcher(c)).collect();
    let service_arns: Vec<Value> = clusters
        .iter()
        .map(|c| {
            let name = c.rsplit('/').next().unwrap_or(c);
            json!({"wildcard": format!("arn:aws:ecs:*:*:service/{name}/*")})
        })
        .collect();

    let mut deployment = json!({"source": ["aws.ecs"], "detail-type": [DEPLOYMENT_STATE_CHANGE]});
    let mut service_action = json!({
        "source": ["aws.ecs"],
        "detail-type": [SERVICE_ACTION],
        "detail": {"eventName": [{"anything-but": STEADY_STATE_EVENTS}]}
    });
    let mut task = json!({
        "source": ["aws.ecs"],
        "detail-type": [TASK_STATE_CHANGE],
        "detail": {"lastStatus": ["STOPPED"]}
    });
    let mut instance = json!({
        "source": ["aws.ecs"],
        "detail-type": [CONTAINER_INSTANCE_STATE_CHANGE],
        "detail": {"status": ["REGISTRATION_FAILED"]}
    });
    if !clusters.is_empty() {
        deployment["resources"] = Value::Array(service_arns);
        service_action["detail"]["clusterArn"] = Value::Array(cluster_arns.clone());
        task["detail"]["clusterArn"] = Value::Array(cluster_arns.clone());
        instance["detail"]["clusterArn"] = Value::Array(cluster_arns);
    }
    let auto_scaling = json!({
        "source": ["aws.autoscaling"],
        "detail-type": [INSTANCE_LAUNCH_UNSUCCESSFUL, INSTANCE_TERMINATE_UNSUCCESSFUL]
    });
    vec![deployment, service_action, task, auto_scaling, instance]
}

/// An exact ARN as given, or any region/account for a bare cluster name.
fn cluster_arn_matcher(cluster: &str) -> Value {
    if cluster.starts_with("arn:") {
        Value::String(cluster.to_string())
    } else {
        json!({"wildcard": format!("arn:aws:ecs:*:*:cluster/{cluster}")})
    }
}
