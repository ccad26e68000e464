//! `cargo lambda deploy` next to the SAM stack.
//!
//! What cargo-lambda 1.9 does on `deploy NAME` (read in its source, `cargo-lambda-deploy`, and
//! seen here on moto): a NAME that exists gets its code updated and a version published, and
//! its configuration changed only where `[package.metadata.lambda.deploy]` sets a value that
//! differs (memory, timeout, tracing, layers) - but a non-empty `env` *replaces* every variable
//! the stack set (unless `merge_env`), and a `role` replaces the stack's role. A NAME that does
//! not exist is created, with a new role. So the function crates carry exactly the template's
//! memory, timeout and tracing and nothing the stack owns, and `scripts/deploy-code` updates a
//! stack's function under its physical name and refuses names that are not in the stack.
//!
//! The stack is a CloudFormation stack in moto (the real `CreateStack`, `DescribeStackResource`
//! and Lambda APIs); the code is an ELF file standing in for the arm64 build, which `make test`
//! makes after the tests (and then runs `cargo lambda deploy --dry` on every function).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use fleetwatch_test_support::NeedsSetup;
use fleetwatch_test_support::moto::MotoServer;
use serde_json::{Value as Json, json};
use serde_yaml_ng::Value;

use crate::support::TestResult;
use crate::template_rules::{Resolver, functions};

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// What the template sets for one function (its own value, else `Globals.Function`'s).
struct TemplateSettings {
    memory: u64,
    timeout: u64,
    tracing: String,
}

fn template_settings() -> BTreeMap<String, TemplateSettings> {
    let text = std::fs::read_to_string(workspace_root().join("template.yaml")).unwrap();
    let template: Value = serde_yaml_ng::from_str(&text).unwrap();
    let resolver = Resolver::new(&template, &[]).unwrap();
    let globals = &template["Globals"]["Function"];
    let setting = |id: &str, key: &str| -> Json {
        let own = &template["Resources"][id]["Properties"][key];
        let value = if own.is_null() { &globals[key] } else { own };
        resolver
            .resolve(value)
            .unwrap()
            .unwrap_or_else(|| panic!("{id}: no {key}"))
    };
    functions(&template)
        .into_iter()
        .map(|(id, binary)| {
            let binary = binary.unwrap_or_else(|| panic!("{id} names no binary"));
            let settings = TemplateSettings {
                memory: setting(&id, "MemorySize").as_u64().unwrap(),
                timeout: setting(&id, "Timeout").as_u64().unwrap(),
                tracing: setting(&id, "Tracing").as_str().unwrap().to_string(),
            };
            (binary, settings)
        })
        .collect()
}

/// `[package.metadata.lambda]` of every workspace package with a binary, by binary name.
fn lambda_metadata() -> BTreeMap<String, Json> {
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
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: Json = serde_json::from_slice(&output.stdout).unwrap();
    let mut found = BTreeMap::new();
    for package in metadata["packages"].as_array().unwrap() {
        for target in package["targets"].as_array().unwrap() {
            if target["kind"]
                .as_array()
                .unwrap()
                .iter()
                .any(|k| k == "bin")
            {
                let name = target["name"].as_str().unwrap().to_string();
                found.insert(name, package["metadata"]["lambda"].clone());
            }
        }
    }
    found
}

#[test]
fn every_function_deploys_with_the_templates_settings_and_nothing_the_stack_owns() {
    let metadata = lambda_metadata();
    let settings = template_settings();
    assert!(!settings.is_empty());
    for (binary, template) in &settings {
        let lambda = &metadata[binary];
        assert_eq!(lambda["build"]["arm64"], true, "{binary}: builds for arm64");
        let deploy = lambda["deploy"]
            .as_object()
            .unwrap_or_else(|| panic!("{binary} has no [package.metadata.lambda.deploy]"));
        let keys: Vec<&str> = deploy.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            ["memory", "timeout", "tracing"],
            "{binary}: only what equals the template (no role, env or layers: the stack's stay)"
        );
        assert_eq!(deploy["memory"], template.memory, "{binary}: memory");
        assert_eq!(deploy["timeout"], template.timeout, "{binary}: timeout");
        assert!(
            deploy["tracing"]
                .as_str()
                .is_some_and(|t| t.eq_ignore_ascii_case(&template.tracing)),
            "{binary}: tracing {} vs {}",
            deploy["tracing"],
            template.tracing
        );
    }
}

/// A stack in moto shaped like a deployed fleetwatch stack: the stack's role, environment,
/// memory, timeout and tracing on `AlbLogsFunction`.
const STACK: &str = "fleetwatch-test";

fn create_stack(moto: &MotoServer) {
    let template = json!({"Resources": {
        "Role": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                           "Principal": {"Service": "lambda.amazonaws.com"}}]}}},
        "AlbLogsFunction": {"Type": "AWS::Lambda::Function", "Properties": {
            "Runtime": "provided.al2023", "Handler": "bootstrap", "Architectures": ["arm64"],
            "Role": {"Fn::GetAtt": ["Role", "Arn"]},
            "Code": {"ZipFile": "the code the stack deployed"},
            "MemorySize": 1024, "Timeout": 300, "TracingConfig": {"Mode": "Active"},
            "Environment": {"Variables": {
                "FLEETWATCH_STATE_TABLE": "stack-table",
                "FLEETWATCH_SEARCH_ENDPOINT": "https://search.example"}}}},
        "AlertsQueue": {"Type": "AWS::SQS::Queue"}
    }});
    boto3(
        moto,
        &format!(
            "boto3.client('cloudformation').create_stack(StackName={STACK:?}, TemplateBody={:?})",
            template.to_string()
        ),
    );
}

/// The configuration of the stack's alb-logs function, and how many functions exist.
fn function_state(moto: &MotoServer) -> (Json, usize) {
    let out = boto3(
        moto,
        &format!(
            "cfn = boto3.client('cloudformation')\n\
             name = cfn.describe_stack_resource(StackName={STACK:?}, \
             LogicalResourceId='AlbLogsFunction')['StackResourceDetail']['PhysicalResourceId']\n\
             lam = boto3.client('lambda')\n\
             c = lam.get_function_configuration(FunctionName=name)\n\
             print(json.dumps({{'config': c, 'functions': len(lam.list_functions()['Functions'])}}, default=str))"
        ),
    );
    let state: Json = serde_json::from_str(out.trim()).unwrap();
    (
        state["config"].clone(),
        state["functions"].as_u64().unwrap() as usize,
    )
}

/// Runs a boto3 snippet against `moto` with the project's Python; its stdout.
fn boto3(moto: &MotoServer, code: &str) -> String {
    let output = Command::new(MotoServer::python())
        .args(["-c", &format!("import boto3, json\n{code}")])
        .envs(moto.env())
        .env("AWS_DEFAULT_REGION", fleetwatch_test_support::moto::REGION)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// `scripts/deploy-code --no-build ARGS... --lambda-dir DIR` with `DIR/<binary>/bootstrap` an
/// ELF file (this test binary) standing in for the arm64 build.
fn deploy_code(moto: &MotoServer, lambda_dir: &Path, args: &[&str]) -> Output {
    Command::new(workspace_root().join("scripts/deploy-code"))
        .arg("--no-build")
        .args(args)
        .args(["--lambda-dir", lambda_dir.to_str().unwrap()])
        .envs(moto.env())
        .output()
        .unwrap()
}

fn lambda_dir_with(binary: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join(binary)).unwrap();
    let this_test = std::env::current_exe().unwrap();
    std::fs::copy(this_test, dir.path().join(binary).join("bootstrap")).unwrap();
    dir
}

fn cargo_lambda() -> PathBuf {
    workspace_root().join(".venv/bin/cargo-lambda")
}

#[test]
fn updating_a_stacks_function_changes_its_code_and_nothing_else() -> TestResult {
    NeedsSetup::check("cargo-lambda", &cargo_lambda())?;
    let moto = MotoServer::start()?;
    create_stack(&moto);
    let (before, functions) = function_state(&moto);
    let lambda_dir = lambda_dir_with("alb-logs");

    let output = deploy_code(&moto, lambda_dir.path(), &[STACK, "alb-logs"]);
    assert!(
        output.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );

    let (after, functions_after) = function_state(&moto);
    assert_ne!(after["CodeSha256"], before["CodeSha256"], "the code is new");
    for kept in [
        "FunctionName",
        "Role",
        "Environment",
        "MemorySize",
        "Timeout",
        "TracingConfig",
    ] {
        assert_eq!(after[kept], before[kept], "{kept} is the stack's");
    }
    assert_eq!(functions_after, functions, "no function created");
    Ok(())
}

#[test]
fn a_function_missing_from_the_stack_is_refused_not_created() -> TestResult {
    NeedsSetup::check("cargo-lambda", &cargo_lambda())?;
    let moto = MotoServer::start()?;
    create_stack(&moto);
    let (_, functions) = function_state(&moto);
    let lambda_dir = lambda_dir_with("slack-fanout");

    // In the template, not in this stack (an older stack, or the wrong one).
    let output = deploy_code(&moto, lambda_dir.path(), &[STACK, "slack-fanout"]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("cannot find SlackFanoutFunction in stack fleetwatch-test"),
        "{stderr}"
    );
    // A stack that does not exist.
    let output = deploy_code(&moto, lambda_dir.path(), &["no-such-stack", "alb-logs"]);
    assert_eq!(output.status.code(), Some(1));
    // Not a function of the template at all.
    let output = deploy_code(&moto, lambda_dir.path(), &[STACK, "fleetwatch"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("no function built from binary"));

    assert_eq!(function_state(&moto).1, functions, "nothing created");
    Ok(())
}
