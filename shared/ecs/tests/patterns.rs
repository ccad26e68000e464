//! The rule patterns, checked against every fixture with a small matcher for the subset of the
//! EventBridge pattern language they use (exact values, `wildcard`, `anything-but`).

use fleetwatch_ecs::rule_patterns;
use serde_json::{Value, json};

fn wildcard_matches(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if parts.len() == 1 {
        return pattern == text;
    }
    if !text.starts_with(first) || !text[first.len()..].ends_with(last) {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for middle in &parts[1..parts.len() - 1] {
        match rest.find(middle) {
            Some(at) => rest = &rest[at + middle.len()..],
            None => return false,
        }
    }
    true
}

fn value_matches(matcher: &Value, value: &Value) -> bool {
    match (matcher, value) {
        (Value::Object(m), Value::String(s)) if m.contains_key("wildcard") => {
            wildcard_matches(m["wildcard"].as_str().unwrap(), s)
        }
        (Value::Object(m), v) if m.contains_key("anything-but") => {
            !m["anything-but"].as_array().unwrap().iter().any(|x| x == v)
        }
        (m, v) => m == v,
    }
}

fn matches(pattern: &Value, event: &Value) -> bool {
    pattern.as_object().unwrap().iter().all(|(key, rule)| {
        let field = &event[key];
        match rule {
            Value::Array(matchers) => {
                let values = match field {
                    Value::Array(values) => values.clone(),
                    Value::Null => return false,
                    other => vec![other.clone()],
                };
                values
                    .iter()
                    .any(|v| matchers.iter().any(|m| value_matches(m, v)))
            }
            nested => matches(nested, field),
        }
    })
}

fn fixture(name: &str) -> Value {
    let path = format!(
        "{}/../../events/ecs/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn any_pattern_matches(patterns: &[Value], event: &Value) -> bool {
    patterns.iter().any(|p| matches(p, event))
}

#[test]
fn patterns_let_alert_fixtures_through_and_keep_filterable_noise_out() {
    let patterns = rule_patterns(&["prod".to_string()]);
    assert_eq!(patterns.len(), 5);
    for name in [
        "deployment-in-progress",
        "deployment-rollback",
        "deployment-failed",
        "deployment-completed",
        "service-placement-failure",
        "service-start-impaired",
        "service-configuration-failure",
        "task-stopped-exit-code",
        "task-stopped-oom",
        "task-failed-to-start-image-pull",
        "task-failed-to-start-secrets",
        "task-failed-health-check",
        "asg-launch-unsuccessful",
        "asg-terminate-unsuccessful",
        "container-instance-registration-failed",
        // Not expressible as a pattern: the classifier drops these.
        "noise-task-stopped-routine-deployment",
        "noise-task-stopped-user-initiated",
    ] {
        assert!(
            any_pattern_matches(&patterns, &fixture(name)),
            "{name} filtered out"
        );
    }
    for name in [
        "noise-service-steady-state",
        "noise-task-running",
        "noise-container-instance-agent-reconnect",
    ] {
        assert!(
            !any_pattern_matches(&patterns, &fixture(name)),
            "{name} let through"
        );
    }
}

#[test]
fn other_clusters_are_filtered_out() {
    let patterns = rule_patterns(&["staging".to_string()]);
    for name in [
        "deployment-failed",
        "service-placement-failure",
        "task-stopped-oom",
        "container-instance-registration-failed",
    ] {
        assert!(!any_pattern_matches(&patterns, &fixture(name)), "{name}");
    }
    // Auto Scaling events are not cluster-scoped.
    assert!(any_pattern_matches(
        &patterns,
        &fixture("asg-launch-unsuccessful")
    ));
}

#[test]
fn pattern_shapes() {
    let patterns = rule_patterns(&[
        "prod".to_string(),
        "arn:aws:ecs:eu-west-1:123456789012:cluster/batch".to_string(),
    ]);
    assert_eq!(
        patterns[2],
        json!({
            "source": ["aws.ecs"],
            "detail-type": ["ECS Task State Change"],
            "detail": {
                "lastStatus": ["STOPPED"],
                "clusterArn": [
                    {"wildcard": "arn:aws:ecs:*:*:cluster/prod"},
                    "arn:aws:ecs:eu-west-1:123456789012:cluster/batch"
                ]
            }
        })
    );
    assert_eq!(
        patterns[0]["resources"],
        json!([
            {"wildcard": "arn:aws:ecs:*:*:service/prod/*"},
            {"wildcard": "arn:aws:ecs:*:*:service/batch/*"}
        ])
    );
    // No clusters: no cluster filter at all.
    let unfiltered = rule_patterns(&[]);
    assert!(unfiltered[0].get("resources").is_none());
    assert!(unfiltered[2]["detail"].get("clusterArn").is_none());
    assert_eq!(unfiltered[3]["source"], json!(["aws.autoscaling"]));
}
