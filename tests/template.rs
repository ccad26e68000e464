//! `template.yaml` against the project's rules: every function is a Rust `provided.al2023` arm64
//! `bootstrap` built by cargo-lambda from a binary of this workspace, and no IAM statement allows
//! a wildcard action. (`sam validate --lint` runs in `make test` beside this.)

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

use crate::template_rules::{
    ParameterValue, Resolver, TEST_ACCOUNT_ID, TEST_REGION, check, functions,
};
use serde_json::json;
use serde_yaml_ng::Value;

fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the workspace root")
        .to_path_buf()
}

fn template_text() -> String {
    std::fs::read_to_string(workspace_root().join("template.yaml")).expect("reading template.yaml")
}

/// Binary targets of the workspace's own packages, from `cargo metadata`.
fn workspace_binaries() -> BTreeSet<String> {
    let output = Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--no-deps",
            "--format-version",
            "1",
            "--offline",
        ])
        .current_dir(workspace_root())
        .output()
        .expect("running cargo metadata");
    assert!(
        output.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("cargo metadata prints JSON");
    metadata["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|p| p["targets"].as_array().into_iter().flatten())
        .filter(|t| {
            t["kind"]
                .as_array()
                .is_some_and(|k| k.iter().any(|k| k == "bin"))
        })
        .filter_map(|t| t["name"].as_str().map(str::to_string))
        .collect()
}

#[test]
fn every_function_follows_the_rules() {
    let violations = check(&template_text(), &workspace_binaries()).expect("template parses");
    assert!(violations.is_empty(), "template.yaml: {violations:#?}");
}

#[test]
fn every_function_names_a_distinct_binary() {
    let template: Value = serde_yaml_ng::from_str(&template_text()).unwrap();
    let mut seen = BTreeSet::new();
    for (id, binary) in functions(&template) {
        let binary = binary.unwrap_or_else(|| panic!("{id} has no Binary"));
        assert!(seen.insert(binary.clone()), "{id}: {binary} built twice");
    }
}

#[test]
fn state_table_expires_items_and_alerts_queue_has_a_dead_letter_queue() {
    let template: Value = serde_yaml_ng::from_str(&template_text()).unwrap();
    let resources = &template["Resources"];
    let ttl = &resources["StateTable"]["Properties"]["TimeToLiveSpecification"];
    assert_eq!(ttl["AttributeName"].as_str(), Some("expires_at"));
    assert_eq!(ttl["Enabled"].as_bool(), Some(true));
    let key = &resources["StateTable"]["Properties"]["KeySchema"][0];
    assert_eq!(key["AttributeName"].as_str(), Some("pk"));

    let redrive = &resources["AlertsQueue"]["Properties"]["RedrivePolicy"];
    let target = match &redrive["deadLetterTargetArn"] {
        Value::Tagged(tagged) => tagged.value.as_str().map(str::to_string),
        _ => None,
    };
    assert_eq!(target.as_deref(), Some("AlertsDeadLetterQueue.Arn"));
    assert_eq!(
        resources["AlertsDeadLetterQueue"]["Type"].as_str(),
        Some("AWS::SQS::Queue")
    );
}

#[test]
fn globals_set_the_lambda_runtime_contract() {
    let template: Value = serde_yaml_ng::from_str(&template_text()).unwrap();
    let globals = &template["Globals"]["Function"];
    assert_eq!(globals["Runtime"].as_str(), Some("provided.al2023"));
    assert_eq!(globals["Handler"].as_str(), Some("bootstrap"));
    assert_eq!(globals["Tracing"].as_str(), Some("Active"));
    assert_eq!(globals["LoggingConfig"]["LogFormat"].as_str(), Some("JSON"));
}

/// The ecs-events rules, in the order of `fleetwatch_ecs::rule_patterns`.
const ECS_RULES: [&str; 5] = [
    "EcsDeploymentRule",
    "EcsServiceActionRule",
    "EcsStoppedTaskRule",
    "EcsAutoScalingFailureRule",
    "EcsContainerInstanceRule",
];

fn template() -> Value {
    serde_yaml_ng::from_str(&template_text()).expect("template.yaml parses")
}

fn clusters(names: &[&str]) -> (&'static str, ParameterValue) {
    (
        "EcsClusterNames",
        ParameterValue::List(names.iter().map(|n| n.to_string()).collect()),
    )
}

fn resolve(resolver: &Resolver, value: &Value) -> serde_json::Value {
    resolver
        .resolve(value)
        .unwrap_or_else(|e| panic!("resolving {value:?}: {e}"))
        .expect("a value, not AWS::NoValue")
}

/// A rule's `EventPattern` as EventBridge reads it: a JSON string, or the YAML object.
fn event_pattern(resolver: &Resolver, rule: &Value) -> serde_json::Value {
    match resolve(resolver, &rule["Properties"]["EventPattern"]) {
        serde_json::Value::String(text) => serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("EventPattern is not JSON ({e}): {text}")),
        object => object,
    }
}

#[test]
fn ecs_events_rule_patterns_are_the_patterns_of_the_ecs_crate() {
    let template = template();
    let resources = &template["Resources"];
    // Exactly these rules invoke the function.
    let targeting: BTreeSet<&str> = resources
        .as_mapping()
        .unwrap()
        .iter()
        .filter(|(_, r)| r["Type"].as_str() == Some("AWS::Events::Rule"))
        .filter(|(_, r)| {
            let resolver = Resolver::new(&template, &[]).unwrap();
            let targets = resolve(&resolver, &r["Properties"]["Targets"]);
            targets
                .as_array()
                .unwrap()
                .iter()
                .any(|t| t["Arn"] == "getatt:EcsEventsFunction.Arn")
        })
        .map(|(id, _)| id.as_str().unwrap())
        .collect();
    assert_eq!(targeting, ECS_RULES.into_iter().collect());

    let cases: [(&[&str], &[&str]); 4] = [
        (&["prod", "staging"], &["prod", "staging"]),
        (&["prod"], &["prod"]),
        (&["a-1", "b_2", "c"], &["a-1", "b_2", "c"]),
        // "*" alone is every cluster: no cluster filter at all.
        (&["*"], &[]),
    ];
    for (parameter, expected_clusters) in cases {
        let resolver = Resolver::new(&template, &[clusters(parameter)]).unwrap();
        let patterns: Vec<serde_json::Value> = ECS_RULES
            .iter()
            .map(|id| event_pattern(&resolver, &resources[*id]))
            .collect();
        let expected_clusters: Vec<String> =
            expected_clusters.iter().map(|c| c.to_string()).collect();
        assert_eq!(
            patterns,
            fleetwatch_ecs::rule_patterns(&expected_clusters),
            "EcsClusterNames = {parameter:?}"
        );
    }
    // The default is every cluster.
    let resolver = Resolver::new(&template, &[]).unwrap();
    let patterns: Vec<serde_json::Value> = ECS_RULES
        .iter()
        .map(|id| event_pattern(&resolver, &resources[*id]))
        .collect();
    assert_eq!(patterns, fleetwatch_ecs::rule_patterns(&[]));
}

/// Every action the ecs-events role is granted by the template, with the resources of each.
fn ecs_events_grants(overrides: &[(&str, ParameterValue)]) -> Vec<(String, serde_json::Value)> {
    let template = template();
    let function = &template["Resources"]["EcsEventsFunction"];
    assert!(
        function["Properties"].get("Role").is_none(),
        "the SAM-generated role is the one checked"
    );
    let resolver = Resolver::new(&template, overrides).unwrap();
    let policies = resolve(&resolver, &function["Properties"]["Policies"]);
    let mut grants = Vec::new();
    for policy in policies.as_array().unwrap() {
        // No managed policy names, ARNs or SAM policy templates: their actions are not listed here.
        let statements = policy["Statement"]
            .as_array()
            .unwrap_or_else(|| panic!("policy {policy} is not an inline statement list"));
        for statement in statements {
            assert_eq!(statement["Effect"], "Allow", "{statement}");
            assert!(statement.get("NotAction").is_none(), "{statement}");
            assert!(statement.get("NotResource").is_none(), "{statement}");
            let actions = match &statement["Action"] {
                serde_json::Value::String(a) => vec![a.clone()],
                serde_json::Value::Array(list) => list
                    .iter()
                    .map(|a| a.as_str().unwrap().to_string())
                    .collect(),
                other => panic!("Action {other}"),
            };
            for action in actions {
                grants.push((action, statement["Resource"].clone()));
            }
        }
    }
    grants
}

fn actions_of(grants: &[(String, serde_json::Value)]) -> BTreeSet<&str> {
    grants.iter().map(|(a, _)| a.as_str()).collect()
}

fn resources_of(grants: &[(String, serde_json::Value)], action: &str) -> Vec<serde_json::Value> {
    grants
        .iter()
        .filter(|(a, _)| a == action)
        .flat_map(|(_, r)| match r {
            serde_json::Value::Array(list) => list.clone(),
            one => vec![one.clone()],
        })
        .collect()
}

#[test]
fn ecs_events_role_grants_exactly_the_actions_of_the_function() {
    // SAM also grants sqs:SendMessage on the OnFailure destination (the same queue), plus
    // AWSLambdaBasicExecutionRole and, for tracing, AWSXrayWriteOnlyAccess.
    let base = [
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:DeleteItem",
        "sqs:SendMessage",
    ];
    let enrichment = [
        "ecs:DescribeServices",
        "ecs:DescribeTaskDefinition",
        "logs:GetLogEvents",
    ];

    let grants = ecs_events_grants(&[clusters(&["prod", "staging"])]);
    let expected: BTreeSet<&str> = base.into_iter().chain(enrichment).collect();
    assert_eq!(actions_of(&grants), expected);

    for action in &base[..3] {
        assert_eq!(
            resources_of(&grants, action),
            vec![json!("getatt:StateTable.Arn")]
        );
    }
    assert_eq!(
        resources_of(&grants, "sqs:SendMessage"),
        vec![
            json!("getatt:AlertsQueue.Arn"),
            json!("getatt:EcsEventsDeadLetterQueue.Arn")
        ]
    );
    assert_eq!(
        resources_of(&grants, "ecs:DescribeServices"),
        vec![
            json!("arn:*:ecs:*:*:service/prod/*"),
            json!("arn:*:ecs:*:*:service/staging/*")
        ]
    );
    // The only Resource "*": DescribeTaskDefinition has no resource-level permissions.
    let unscoped: BTreeSet<&str> = grants
        .iter()
        .filter(|(_, r)| r == "*")
        .map(|(a, _)| a.as_str())
        .collect();
    assert_eq!(unscoped, BTreeSet::from(["ecs:DescribeTaskDefinition"]));
    assert_eq!(
        resources_of(&grants, "logs:GetLogEvents"),
        vec![json!(format!(
            "arn:aws:logs:{TEST_REGION}:{TEST_ACCOUNT_ID}:log-group:/ecs/*:log-stream:*"
        ))]
    );

    // Every cluster by default; the log group prefix is a parameter.
    let grants = ecs_events_grants(&[(
        "EcsTaskLogGroupPrefix",
        ParameterValue::String("/aws/ecs/prod-".into()),
    )]);
    assert_eq!(
        resources_of(&grants, "ecs:DescribeServices"),
        vec![json!("arn:*:ecs:*:*:service/*/*")]
    );
    assert_eq!(
        resources_of(&grants, "logs:GetLogEvents"),
        vec![json!(format!(
            "arn:aws:logs:{TEST_REGION}:{TEST_ACCOUNT_ID}:log-group:/aws/ecs/prod-*:log-stream:*"
        ))]
    );

    // Without enrichment, no ECS or log reads at all.
    let grants = ecs_events_grants(&[("EcsEnrichment", ParameterValue::String("false".into()))]);
    assert_eq!(actions_of(&grants), base.into_iter().collect());
}

#[test]
fn ecs_events_function_is_wired_to_its_queues_and_dead_letters() {
    let template = template();
    let resolver = Resolver::new(&template, &[]).unwrap();
    let resources = &template["Resources"];
    let function = resolve(&resolver, &resources["EcsEventsFunction"]["Properties"]);
    let globals = resolve(&resolver, &template["Globals"]["Function"]["Environment"]);

    // The environment the function reads (globals merged with its own).
    let mut environment = globals["Variables"].as_object().unwrap().clone();
    environment.extend(
        function["Environment"]["Variables"]
            .as_object()
            .unwrap()
            .clone(),
    );
    assert_eq!(
        serde_json::Value::Object(environment),
        json!({
            "FLEETWATCH_STATE_TABLE": "ref:StateTable",
            "FLEETWATCH_ALERTS_QUEUE_URL": "ref:AlertsQueue",
            "FLEETWATCH_EVENTS_DLQ_URL": "ref:EcsEventsDeadLetterQueue",
            "FLEETWATCH_ENRICH": "true",
            "FLEETWATCH_NOISE_KEEP": "",
        })
    );
    assert_eq!(
        function["EventInvokeConfig"],
        json!({
            "MaximumRetryAttempts": 2,
            "DestinationConfig": {
                "OnFailure": {"Type": "SQS", "Destination": "getatt:EcsEventsDeadLetterQueue.Arn"}
            }
        })
    );
    assert_eq!(
        resources["EcsEventsDeadLetterQueue"]["Properties"]["MessageRetentionPeriod"].as_u64(),
        Some(14 * 24 * 3600)
    );

    // Each rule: retried, dead-lettered, allowed to invoke the function and to dead-letter.
    let queue_policy = resolve(&resolver, &resources["EcsEventsDeadLetterQueuePolicy"]);
    let statements = &queue_policy["Properties"]["PolicyDocument"]["Statement"];
    assert_eq!(statements.as_array().unwrap().len(), 1);
    assert_eq!(
        statements[0]["Principal"],
        json!({"Service": "events.amazonaws.com"})
    );
    assert_eq!(statements[0]["Action"], "sqs:SendMessage");
    let rule_arns: Vec<serde_json::Value> = ECS_RULES
        .iter()
        .map(|id| json!(format!("getatt:{id}.Arn")))
        .collect();
    assert_eq!(
        statements[0]["Condition"]["ArnEquals"]["aws:SourceArn"],
        json!(rule_arns)
    );
    for id in ECS_RULES {
        let targets = resolve(&resolver, &resources[id]["Properties"]["Targets"]);
        assert_eq!(
            targets,
            json!([{
                "Id": "ecs-events",
                "Arn": "getatt:EcsEventsFunction.Arn",
                "RetryPolicy": {"MaximumRetryAttempts": 4, "MaximumEventAgeInSeconds": 3600},
                "DeadLetterConfig": {"Arn": "getatt:EcsEventsDeadLetterQueue.Arn"}
            }]),
            "{id}"
        );
        let permission = resolve(&resolver, &resources[format!("{id}Permission").as_str()]);
        assert_eq!(
            permission,
            json!({
                "Type": "AWS::Lambda::Permission",
                "Properties": {
                    "FunctionName": "getatt:EcsEventsFunction.Arn",
                    "Action": "lambda:InvokeFunction",
                    "Principal": "events.amazonaws.com",
                    "SourceArn": format!("getatt:{id}.Arn"),
                }
            }),
            "{id}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// health-check
// ---------------------------------------------------------------------------------------------

/// Every action the health-check role is granted by the template, with its resources and
/// conditions.
fn health_check_grants(
    overrides: &[(&str, ParameterValue)],
) -> Vec<(String, serde_json::Value, serde_json::Value)> {
    let template = template();
    let function = &template["Resources"]["HealthCheckFunction"];
    assert!(function["Properties"].get("Role").is_none());
    let resolver = Resolver::new(&template, overrides).unwrap();
    let policies = resolve(&resolver, &function["Properties"]["Policies"]);
    let mut grants = Vec::new();
    for policy in policies.as_array().unwrap() {
        for statement in policy["Statement"].as_array().expect("inline statements") {
            assert_eq!(statement["Effect"], "Allow", "{statement}");
            for action in statement["Action"].as_array().expect("an action list") {
                grants.push((
                    action.as_str().unwrap().to_string(),
                    statement["Resource"].clone(),
                    statement
                        .get("Condition")
                        .cloned()
                        .unwrap_or(serde_json::Value::Null),
                ));
            }
        }
    }
    grants
}

fn secret_parameters(names: &[&str]) -> (&'static str, ParameterValue) {
    (
        "HealthCheckSecretParameters",
        ParameterValue::List(names.iter().map(|n| n.to_string()).collect()),
    )
}

#[test]
fn health_check_role_reads_only_its_parameters_and_health_state() {
    let grants = health_check_grants(&[secret_parameters(&[
        "/fleetwatch/jenkins/api-token",
        "/fleetwatch/payments/health-token",
    ])]);
    let actions: Vec<&str> = grants.iter().map(|(a, _, _)| a.as_str()).collect();
    assert_eq!(
        actions,
        [
            "ssm:GetParameter",
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "sqs:SendMessage",
            "ssm:GetParameter"
        ]
    );
    assert_eq!(
        grants[0].1,
        json!(format!(
            "arn:aws:ssm:{TEST_REGION}:{TEST_ACCOUNT_ID}:parameter/fleetwatch/health/checks"
        ))
    );
    for (action, resource, condition) in &grants[1..3] {
        assert_eq!(resource, "getatt:StateTable.Arn", "{action}");
        assert_eq!(
            condition,
            &json!({"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["health#*"]}}),
            "{action}: only the health-check keys"
        );
    }
    assert_eq!(grants[3].1, "getatt:AlertsQueue.Arn");
    assert_eq!(
        grants[4].1,
        json!([
            "arn:*:ssm:*:*:parameter/fleetwatch/jenkins/api-token",
            "arn:*:ssm:*:*:parameter/fleetwatch/payments/health-token"
        ])
    );
    assert_eq!(
        grants[4].2,
        json!({"StringEquals": {
            "aws:RequestedRegion": TEST_REGION,
            "aws:ResourceAccount": TEST_ACCOUNT_ID
        }})
    );

    // No secrets listed: only the configuration parameter may be read.
    let grants = health_check_grants(&[]);
    let ssm: Vec<_> = grants
        .iter()
        .filter(|(a, _, _)| a == "ssm:GetParameter")
        .collect();
    assert_eq!(ssm.len(), 1);
}

#[test]
fn health_check_runs_every_minute_with_retries_dead_letters_and_an_optional_vpc() {
    let template = template();
    let resources = &template["Resources"];
    let resolver = Resolver::new(&template, &[]).unwrap();
    let rule = resolve(&resolver, &resources["HealthCheckSchedule"]["Properties"]);
    assert_eq!(rule["ScheduleExpression"], "rate(1 minute)");
    assert_eq!(
        rule["Targets"],
        json!([{
            "Id": "health-check",
            "Arn": "getatt:HealthCheckFunction.Arn",
            "RetryPolicy": {"MaximumRetryAttempts": 2, "MaximumEventAgeInSeconds": 120},
            "DeadLetterConfig": {"Arn": "getatt:HealthCheckDeadLetterQueue.Arn"}
        }])
    );
    let permission = resolve(
        &resolver,
        &resources["HealthCheckSchedulePermission"]["Properties"],
    );
    assert_eq!(permission["SourceArn"], "getatt:HealthCheckSchedule.Arn");
    assert_eq!(permission["Principal"], "events.amazonaws.com");

    let function = resolve(&resolver, &resources["HealthCheckFunction"]["Properties"]);
    assert_eq!(
        function["Environment"]["Variables"],
        json!({
            "FLEETWATCH_HEALTH_CONFIG_PARAMETER": "/fleetwatch/health/checks",
            "FLEETWATCH_HEALTH_PERIOD": "60"
        })
    );
    assert_eq!(
        function["EventInvokeConfig"]["DestinationConfig"]["OnFailure"]["Destination"],
        "getatt:HealthCheckDeadLetterQueue.Arn"
    );
    assert!(function.get("VpcConfig").is_none(), "no VPC by default");

    let in_vpc = Resolver::new(
        &template,
        &[
            (
                "HealthCheckSubnetIds",
                ParameterValue::List(vec!["subnet-0a".into(), "subnet-0b".into()]),
            ),
            (
                "HealthCheckSecurityGroupIds",
                ParameterValue::List(vec!["sg-01".into()]),
            ),
        ],
    )
    .unwrap();
    let function = resolve(&in_vpc, &resources["HealthCheckFunction"]["Properties"]);
    assert_eq!(
        function["VpcConfig"],
        json!({"SubnetIds": ["subnet-0a", "subnet-0b"], "SecurityGroupIds": ["sg-01"]})
    );
}
