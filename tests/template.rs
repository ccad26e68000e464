//! `template.yaml` against the project's rules: every function is a Rust `provided.al2023` arm64
//! `bootstrap` built by cargo-lambda from a binary of this workspace, and no IAM statement allows
//! a wildcard action. (`sam validate --lint` runs in `make test` beside this.)

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

use fleetwatch_tests::template_rules::{check, functions};
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
