//! `template.yaml`'s capacity block against the function it deploys: conditions, the environment
//! the configuration reads, the IAM role's exact grants, the rules' patterns (checked against the
//! events the function parses) with their retries and dead letters, the lifecycle hook, and the
//! optional service target tracking.

use std::collections::BTreeSet;

use fleetwatch_capacity::trigger::{self, Scope, Trigger};
use fleetwatch_capacity::{CapacityConfig, DEFAULT_HOOK_NAME, records};
use fleetwatch_scaling::{Config, Mode};
use serde_json::{Value, json};
use serde_yaml_ng::Value as Yaml;

use crate::template_rules::{ParameterValue, Resolver, TEST_ACCOUNT_ID, TEST_REGION};

fn template() -> Yaml {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml");
    serde_yaml_ng::from_str(&std::fs::read_to_string(path).expect("reading template.yaml"))
        .expect("template.yaml parses")
}

fn text(value: &str) -> ParameterValue {
    ParameterValue::String(value.to_string())
}

/// A deployment with the capacity function: cluster `prod`, group `prod-asg`.
fn deployed(mode: &str) -> Vec<(&'static str, ParameterValue)> {
    vec![
        ("CapacityClusterName", text("prod")),
        ("CapacityAutoScalingGroupName", text("prod-asg")),
        ("CapacityInstanceTypes", text("m6g.large=2048/7680")),
        ("CapacityMode", text(mode)),
    ]
}

fn resolve(resolver: &Resolver, value: &Yaml) -> Value {
    resolver
        .resolve(value)
        .unwrap_or_else(|e| panic!("resolving {value:?}: {e}"))
        .expect("a value, not AWS::NoValue")
}

fn capacity_resources(template: &Yaml) -> Vec<(String, Yaml)> {
    template["Resources"]
        .as_mapping()
        .unwrap()
        .iter()
        .filter_map(|(id, r)| {
            let id = id.as_str()?;
            id.starts_with("Capacity")
                .then(|| (id.to_string(), r.clone()))
        })
        .collect()
}

#[test]
fn capacity_is_deployed_only_for_a_cluster_and_group_and_its_hook_only_in_enforce_mode() {
    let template = template();
    for (id, resource) in capacity_resources(&template) {
        let expected = match id.as_str() {
            "CapacityTerminateHook" => "CapacityEnforce",
            "CapacityServiceScalableTarget" | "CapacityServiceScalingPolicy" => {
                "CapacityServiceScaling"
            }
            _ => "HasCapacity",
        };
        assert_eq!(resource["Condition"].as_str(), Some(expected), "{id}");
    }
    let conditions = |overrides: &[(&str, ParameterValue)]| {
        let resolver = Resolver::new(&template, overrides).unwrap();
        (
            resolver.condition("HasCapacity").unwrap(),
            resolver.condition("CapacityEnforce").unwrap(),
            resolver.condition("CapacityServiceScaling").unwrap(),
        )
    };
    assert_eq!(conditions(&[]), (false, false, false), "off by default");
    assert_eq!(conditions(&deployed("observe")), (true, false, false));
    assert_eq!(conditions(&deployed("enforce")), (true, true, false));
    assert_eq!(
        conditions(&[("CapacityClusterName", text("prod"))]),
        (false, false, false),
        "a cluster without a group is not enough"
    );
    let mut with_service = deployed("observe");
    with_service.push(("CapacityServiceToScale", text("web")));
    assert_eq!(conditions(&with_service), (true, false, true));
}

#[test]
fn capacity_environment_is_what_the_function_reads_and_defaults_match_the_planner() {
    let template = template();
    let resolver = Resolver::new(&template, &deployed("enforce")).unwrap();
    let mut environment =
        resolve(&resolver, &template["Globals"]["Function"]["Environment"])["Variables"]
            .as_object()
            .unwrap()
            .clone();
    let function = resolve(
        &resolver,
        &template["Resources"]["CapacityFunction"]["Properties"],
    );
    environment.extend(
        function["Environment"]["Variables"]
            .as_object()
            .unwrap()
            .clone(),
    );
    let config = CapacityConfig::from_lookup(|name| {
        environment
            .get(name)
            .map(|v| v.as_str().map(str::to_string).unwrap_or(v.to_string()))
    })
    .expect("the template's environment is a valid configuration");
    assert_eq!(config.cluster, "prod");
    assert_eq!(config.asg, "prod-asg");
    assert_eq!(config.hook_name, DEFAULT_HOOK_NAME);
    assert_eq!(config.heartbeat_timeout_s, 900);
    assert_eq!(config.state_table, "ref:StateTable");
    assert_eq!(config.alerts_queue_url, "ref:AlertsQueue");
    assert_eq!(
        config.planner,
        Config {
            mode: Mode::Enforce,
            ..Config::default()
        },
        "the template's defaults are the planner's"
    );
    assert_eq!(function["Timeout"], 60);
    assert_eq!(
        function["EventInvokeConfig"]["DestinationConfig"]["OnFailure"]["Destination"],
        "getatt:CapacityDeadLetterQueue.Arn"
    );
    assert!(
        function.get("ReservedConcurrentExecutions").is_none(),
        "concurrent runs are safe (compare-and-set records); reserving would fail in small accounts"
    );
}

/// `(action, resource, condition)` for every action the role is granted.
fn grants(template: &Yaml) -> Vec<(String, Value, Value)> {
    let resolver = Resolver::new(template, &deployed("enforce")).unwrap();
    let function = &template["Resources"]["CapacityFunction"];
    assert!(function["Properties"].get("Role").is_none());
    let policies = resolve(&resolver, &function["Properties"]["Policies"]);
    let mut grants = Vec::new();
    for policy in policies.as_array().unwrap() {
        for statement in policy["Statement"].as_array().expect("inline statements") {
            assert_eq!(statement["Effect"], "Allow");
            assert!(statement.get("NotAction").is_none() && statement.get("NotResource").is_none());
            let actions: Vec<String> = match &statement["Action"] {
                Value::String(a) => vec![a.clone()],
                Value::Array(list) => list.iter().map(|a| a.as_str().unwrap().into()).collect(),
                other => panic!("Action {other}"),
            };
            for action in actions {
                grants.push((
                    action,
                    statement["Resource"].clone(),
                    statement.get("Condition").cloned().unwrap_or(Value::Null),
                ));
            }
        }
    }
    grants
}

#[test]
fn capacity_role_is_scoped_to_the_cluster_the_group_and_its_own_state_keys() {
    let template = template();
    let grants = grants(&template);
    let actions: BTreeSet<&str> = grants.iter().map(|(a, _, _)| a.as_str()).collect();
    assert_eq!(
        actions,
        BTreeSet::from([
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "sqs:SendMessage",
            "ecs:DescribeClusters",
            "ecs:ListContainerInstances",
            "ecs:DescribeContainerInstances",
            "ecs:UpdateContainerInstancesState",
            "ecs:ListTasks",
            "ecs:ListServices",
            "ecs:DescribeTasks",
            "ecs:DescribeServices",
            "ecs:DescribeTaskDefinition",
            "ecs:DescribeCapacityProviders",
            "autoscaling:DescribeAutoScalingGroups",
            "autoscaling:DescribeLifecycleHooks",
            "autoscaling:SetDesiredCapacity",
            "autoscaling:SetInstanceProtection",
            "autoscaling:CompleteLifecycleAction",
            "autoscaling:RecordLifecycleActionHeartbeat",
        ])
    );
    let of = |action: &str| {
        grants
            .iter()
            .find(|(a, _, _)| a == action)
            .map(|(_, r, c)| (r.clone(), c.clone()))
            .unwrap()
    };
    let ecs = format!("arn:aws:ecs:{TEST_REGION}:{TEST_ACCOUNT_ID}");
    let group = format!(
        "arn:aws:autoscaling:{TEST_REGION}:{TEST_ACCOUNT_ID}:autoScalingGroup:*:autoScalingGroupName/prod-asg"
    );
    let expected: [(&str, Value); 11] = [
        ("ecs:DescribeClusters", json!(format!("{ecs}:cluster/prod"))),
        (
            "ecs:ListContainerInstances",
            json!(format!("{ecs}:cluster/prod")),
        ),
        (
            "ecs:DescribeContainerInstances",
            json!(format!("{ecs}:container-instance/prod/*")),
        ),
        (
            "ecs:UpdateContainerInstancesState",
            json!(format!("{ecs}:container-instance/prod/*")),
        ),
        ("ecs:DescribeTasks", json!(format!("{ecs}:task/prod/*"))),
        (
            "ecs:DescribeServices",
            json!(format!("{ecs}:service/prod/*")),
        ),
        (
            "ecs:DescribeCapacityProviders",
            json!(format!("{ecs}:capacity-provider/*")),
        ),
        ("autoscaling:SetDesiredCapacity", json!(group)),
        ("autoscaling:SetInstanceProtection", json!(group)),
        ("autoscaling:CompleteLifecycleAction", json!(group)),
        ("autoscaling:RecordLifecycleActionHeartbeat", json!(group)),
    ];
    for (action, resource) in expected {
        assert_eq!(of(action).0, resource, "{action}");
    }
    // "*" only where IAM has no resource-level permission, each pinned by a condition.
    let region = json!({"StringEquals": {"aws:RequestedRegion": TEST_REGION}});
    let cluster = json!({"ArnEquals": {"ecs:cluster": format!("{ecs}:cluster/prod")}});
    let unscoped: Vec<(&str, &Value)> = grants
        .iter()
        .filter(|(_, r, _)| r == "*")
        .map(|(a, _, c)| (a.as_str(), c))
        .collect();
    assert_eq!(
        unscoped,
        [
            ("ecs:ListTasks", &cluster),
            ("ecs:ListServices", &cluster),
            ("ecs:DescribeTaskDefinition", &region),
            ("autoscaling:DescribeAutoScalingGroups", &region),
            ("autoscaling:DescribeLifecycleHooks", &region),
        ]
    );
    // The state table, only under the function's own keys (those records::key makes).
    let (table, leading) = of("dynamodb:PutItem");
    assert_eq!(table, "getatt:StateTable.Arn");
    assert_eq!(
        leading,
        json!({"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["capacity#*"]}})
    );
    assert!(records::key("prod-asg").starts_with(records::KEY_PREFIX));
    assert_eq!(records::KEY_PREFIX, "capacity#");
    assert_eq!(of("sqs:SendMessage").0, "getatt:AlertsQueue.Arn");
}

/// EventBridge matching for the pattern forms the capacity rules use: every key of the pattern
/// present in the event, a list matching one of its values, an object matching recursively.
fn matches(pattern: &Value, event: &Value) -> bool {
    pattern.as_object().unwrap().iter().all(|(key, wanted)| {
        let Some(actual) = event.get(key) else {
            return false;
        };
        match wanted {
            Value::Array(options) => options.contains(actual),
            Value::Object(_) => matches(wanted, actual),
            other => panic!("pattern value {other}"),
        }
    })
}

#[test]
fn capacity_rules_deliver_the_three_triggers_with_retries_and_dead_letters() {
    let template = template();
    let resolver = Resolver::new(&template, &deployed("enforce")).unwrap();
    let resources = &template["Resources"];
    let rule = |id: &str| resolve(&resolver, &resources[id]["Properties"]);
    let scope = Scope {
        cluster: "prod",
        asg: "prod-asg",
        hook_name: DEFAULT_HOOK_NAME,
    };

    assert_eq!(
        rule("CapacityScheduleRule")["ScheduleExpression"],
        "rate(1 minute)"
    );

    // The placement failure of the fixture, in the test region's cluster `prod`.
    let mut placement: Value =
        serde_json::from_str(include_str!("../events/ecs/service-placement-failure.json")).unwrap();
    placement["detail"]["clusterArn"] = json!(format!(
        "arn:aws:ecs:{TEST_REGION}:{TEST_ACCOUNT_ID}:cluster/prod"
    ));
    let pattern = &rule("CapacityPlacementFailureRule")["EventPattern"];
    assert!(matches(pattern, &placement), "{pattern}");
    assert!(matches!(
        trigger::parse(&placement, scope).trigger,
        Trigger::PlacementFailure { .. }
    ));
    let mut other_cluster = placement.clone();
    other_cluster["detail"]["clusterArn"] =
        json!("arn:aws:ecs:eu-west-1:123456789012:cluster/staging");
    assert!(!matches(pattern, &other_cluster));
    let mut steady = placement.clone();
    steady["detail"]["eventName"] = json!("SERVICE_STEADY_STATE");
    assert!(!matches(pattern, &steady));

    let terminate = json!({
        "version": "0", "id": "1", "detail-type": trigger::TERMINATE_LIFECYCLE_ACTION,
        "source": "aws.autoscaling", "account": TEST_ACCOUNT_ID, "time": "2026-11-20T10:05:00Z",
        "region": TEST_REGION, "resources": [],
        "detail": {
            "LifecycleActionToken": "87654321-4321-4321-4321-210987654321",
            "AutoScalingGroupName": "prod-asg",
            "LifecycleHookName": DEFAULT_HOOK_NAME,
            "EC2InstanceId": "i-0123456789abcdef0",
            "LifecycleTransition": trigger::TERMINATING
        }
    });
    let pattern = &rule("CapacityTerminateRule")["EventPattern"];
    assert!(matches(pattern, &terminate), "{pattern}");
    assert!(matches!(
        trigger::parse(&terminate, scope).trigger,
        Trigger::Terminate { .. }
    ));
    let mut someone_elses = terminate.clone();
    someone_elses["detail"]["LifecycleHookName"] = json!("another-hook");
    assert!(!matches(pattern, &someone_elses));

    let rules = [
        "CapacityScheduleRule",
        "CapacityPlacementFailureRule",
        "CapacityTerminateRule",
    ];
    for id in rules {
        let targets = &rule(id)["Targets"];
        assert_eq!(targets.as_array().unwrap().len(), 1, "{id}");
        assert_eq!(targets[0]["Arn"], "getatt:CapacityFunction.Arn", "{id}");
        assert!(
            targets[0]["RetryPolicy"]["MaximumRetryAttempts"].is_number(),
            "{id}"
        );
        assert_eq!(
            targets[0]["DeadLetterConfig"]["Arn"], "getatt:CapacityDeadLetterQueue.Arn",
            "{id}"
        );
        let permission = rule(&format!("{id}Permission"));
        assert_eq!(permission["SourceArn"], format!("getatt:{id}.Arn"));
        assert_eq!(permission["Principal"], "events.amazonaws.com");
        assert_eq!(permission["FunctionName"], "getatt:CapacityFunction.Arn");
    }
    let queue_policy = rule("CapacityDeadLetterQueuePolicy");
    let sources: Vec<String> = rules.iter().map(|id| format!("getatt:{id}.Arn")).collect();
    assert_eq!(
        queue_policy["PolicyDocument"]["Statement"][0]["Condition"]["ArnEquals"]["aws:SourceArn"],
        json!(sources)
    );

    let hook = rule("CapacityTerminateHook");
    assert_eq!(
        hook,
        json!({
            "AutoScalingGroupName": "prod-asg",
            "LifecycleHookName": DEFAULT_HOOK_NAME,
            "LifecycleTransition": trigger::TERMINATING,
            "HeartbeatTimeout": "900",
            "DefaultResult": "CONTINUE"
        })
    );
}

#[test]
fn service_target_tracking_is_optional_and_uses_the_chosen_metric() {
    let template = template();
    let resources = &template["Resources"];
    let mut overrides = deployed("enforce");
    overrides.extend([
        ("CapacityServiceToScale", text("web")),
        ("CapacityServiceMetric", text("ALBRequestCountPerTarget")),
        (
            "CapacityServiceTargetGroup",
            text("app/prod-alb/50dc6c495c0c9188/targetgroup/web/943f017f100becff"),
        ),
    ]);
    let resolver = Resolver::new(&template, &overrides).unwrap();
    let target = resolve(
        &resolver,
        &resources["CapacityServiceScalableTarget"]["Properties"],
    );
    assert_eq!(target["ResourceId"], "service/prod/web");
    assert_eq!(target["ScalableDimension"], "ecs:service:DesiredCount");
    let policy = resolve(
        &resolver,
        &resources["CapacityServiceScalingPolicy"]["Properties"],
    );
    assert_eq!(policy["PolicyType"], "TargetTrackingScaling");
    let metric =
        &policy["TargetTrackingScalingPolicyConfiguration"]["PredefinedMetricSpecification"];
    assert_eq!(
        metric,
        &json!({
            "PredefinedMetricType": "ALBRequestCountPerTarget",
            "ResourceLabel": "app/prod-alb/50dc6c495c0c9188/targetgroup/web/943f017f100becff"
        })
    );

    overrides.retain(|(name, _)| *name != "CapacityServiceMetric");
    let resolver = Resolver::new(&template, &overrides).unwrap();
    let policy = resolve(
        &resolver,
        &resources["CapacityServiceScalingPolicy"]["Properties"],
    );
    assert_eq!(
        policy["TargetTrackingScalingPolicyConfiguration"]["PredefinedMetricSpecification"],
        json!({"PredefinedMetricType": "ECSServiceAverageCPUUtilization"}),
        "CPU by default, without a resource label"
    );
}
