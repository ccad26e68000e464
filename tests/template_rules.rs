//! The rules every function in `template.yaml` must follow. cfn-lint does not flag a wrong
//! `Runtime` or `Architectures` on `AWS::Serverless::Function`, nor a `Binary` that no crate builds.

use std::collections::BTreeSet;

use serde_yaml_ng::Value;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub resource: String,
    pub problem: String,
}

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("template is not valid YAML: {0}")]
    Yaml(#[from] serde_yaml_ng::Error),
    #[error("template has no Resources mapping")]
    NoResources,
}

/// Functions declared in the template, by logical id, with the binary they build.
pub fn functions(template: &Value) -> Vec<(String, Option<String>)> {
    resources(template)
        .filter(|(_, r)| resource_type(r) == Some("AWS::Serverless::Function"))
        .map(|(id, r)| {
            let binary = r
                .get("Metadata")
                .and_then(|m| m.get("BuildProperties"))
                .and_then(|p| p.get("Binary"))
                .and_then(Value::as_str)
                .map(str::to_string);
            (id, binary)
        })
        .collect()
}

/// Every violation of the project's template rules; empty when the template is fine.
pub fn check(
    template_yaml: &str,
    workspace_binaries: &BTreeSet<String>,
) -> Result<Vec<Violation>, TemplateError> {
    let template: Value = serde_yaml_ng::from_str(template_yaml)?;
    if template
        .get("Resources")
        .and_then(Value::as_mapping)
        .is_none()
    {
        return Err(TemplateError::NoResources);
    }
    let globals = template.get("Globals").and_then(|g| g.get("Function"));
    let mut violations = Vec::new();
    for (id, resource) in resources(&template) {
        let mut report = |problem: String| {
            violations.push(Violation {
                resource: id.clone(),
                problem,
            })
        };
        if resource_type(resource) == Some("AWS::Serverless::Function") {
            check_function(resource, globals, workspace_binaries, &mut report);
        }
        for action in wildcard_actions(resource) {
            report(format!("IAM statement allows wildcard action `{action}`"));
        }
    }
    Ok(violations)
}

fn resources(template: &Value) -> impl Iterator<Item = (String, &Value)> {
    template
        .get("Resources")
        .and_then(Value::as_mapping)
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| Some((k.as_str()?.to_string(), v)))
}

fn resource_type(resource: &Value) -> Option<&str> {
    resource.get("Type").and_then(Value::as_str)
}

/// A function property, from the function itself or else from `Globals.Function`.
fn property<'a>(resource: &'a Value, globals: Option<&'a Value>, name: &str) -> Option<&'a Value> {
    resource
        .get("Properties")
        .and_then(|p| p.get(name))
        .or_else(|| globals.and_then(|g| g.get(name)))
}

fn check_function(
    resource: &Value,
    globals: Option<&Value>,
    workspace_binaries: &BTreeSet<String>,
    report: &mut impl FnMut(String),
) {
    let runtime = property(resource, globals, "Runtime").and_then(Value::as_str);
    if runtime != Some("provided.al2023") {
        report(format!("Runtime is {runtime:?}, not provided.al2023"));
    }
    let architectures: Option<Vec<&str>> = property(resource, globals, "Architectures")
        .and_then(Value::as_sequence)
        .map(|s| s.iter().filter_map(Value::as_str).collect());
    if architectures.as_deref() != Some(&["arm64"][..]) {
        report(format!("Architectures is {architectures:?}, not [arm64]"));
    }
    let handler = property(resource, globals, "Handler").and_then(Value::as_str);
    if handler != Some("bootstrap") {
        report(format!("Handler is {handler:?}, not bootstrap"));
    }
    let metadata = resource.get("Metadata");
    let build_method = metadata
        .and_then(|m| m.get("BuildMethod"))
        .and_then(Value::as_str);
    if build_method != Some("rust-cargolambda") {
        report(format!(
            "Metadata.BuildMethod is {build_method:?}, not rust-cargolambda"
        ));
    }
    match metadata
        .and_then(|m| m.get("BuildProperties"))
        .and_then(|p| p.get("Binary"))
        .and_then(Value::as_str)
    {
        Some(binary) if workspace_binaries.contains(binary) => {}
        Some(binary) => report(format!(
            "Metadata.BuildProperties.Binary `{binary}` is not a binary of the workspace"
        )),
        None => report("Metadata.BuildProperties.Binary is missing".into()),
    }
}

/// Actions containing `*`, and any `NotAction` (which grants everything it does not name), in
/// every policy statement of a resource: IAM roles and policies, and SAM function `Policies`.
fn wildcard_actions(resource: &Value) -> Vec<String> {
    let mut found = Vec::new();
    collect_statements(resource, &mut |statement| {
        if statement.get("Effect").and_then(Value::as_str) == Some("Deny") {
            return;
        }
        if statement.get("NotAction").is_some() {
            found.push("NotAction".to_string());
        }
        let actions: Vec<&str> = match statement.get("Action") {
            Some(Value::String(action)) => vec![action.as_str()],
            Some(Value::Sequence(list)) => list.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        found.extend(
            actions
                .into_iter()
                .filter(|a| a.contains('*'))
                .map(str::to_string),
        );
    });
    found
}

/// Visits every mapping found under a `Statement` key, at any depth.
fn collect_statements(value: &Value, visit: &mut impl FnMut(&Value)) {
    match value {
        Value::Mapping(map) => {
            for (key, child) in map {
                if key.as_str() == Some("Statement") {
                    match child {
                        Value::Sequence(statements) => statements.iter().for_each(&mut *visit),
                        statement @ Value::Mapping(_) => visit(statement),
                        _ => {}
                    }
                } else {
                    collect_statements(child, visit);
                }
            }
        }
        Value::Sequence(items) => items.iter().for_each(|v| collect_statements(v, visit)),
        Value::Tagged(tagged) => collect_statements(&tagged.value, visit),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bins(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    const GOOD: &str = r#"
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Runtime: provided.al2023
    Architectures: [arm64]
    Handler: bootstrap
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Metadata:
      BuildMethod: rust-cargolambda
      BuildProperties:
        Binary: alb-logs
    Properties:
      CodeUri: .
      Policies:
        - Statement:
            - Effect: Allow
              Action: [s3:GetObject]
              Resource: !Sub arn:aws:s3:::${Bucket}/AWSLogs/*
"#;

    #[test]
    fn a_compliant_function_passes() {
        assert_eq!(check(GOOD, &bins(&["alb-logs"])).unwrap(), vec![]);
    }

    #[test]
    fn each_rule_catches_its_violation() {
        let cases: &[(&str, &str, &str)] = &[
            (
                "Runtime: provided.al2023",
                "Runtime: provided.al2",
                "Runtime",
            ),
            (
                "Architectures: [arm64]",
                "Architectures: [x86_64]",
                "Architectures",
            ),
            ("Handler: bootstrap", "Handler: main", "Handler"),
            (
                "BuildMethod: rust-cargolambda",
                "BuildMethod: makefile",
                "BuildMethod",
            ),
            (
                "Binary: alb-logs",
                "Binary: nope",
                "not a binary of the workspace",
            ),
            (
                "Action: [s3:GetObject]",
                "Action: [s3:*]",
                "wildcard action `s3:*`",
            ),
            (
                "Action: [s3:GetObject]",
                "Action: '*'",
                "wildcard action `*`",
            ),
            (
                "Action: [s3:GetObject]",
                "NotAction: [s3:GetObject]",
                "NotAction",
            ),
        ];
        for (from, to, expected) in cases {
            let template = GOOD.replace(from, to);
            let violations = check(&template, &bins(&["alb-logs"])).unwrap();
            assert!(
                violations.iter().any(|v| v.problem.contains(expected)),
                "replacing `{from}` by `{to}` should report `{expected}`, got {violations:?}"
            );
        }
    }

    #[test]
    fn function_level_properties_override_globals() {
        let template = GOOD.replace(
            "      CodeUri: .",
            "      CodeUri: .\n      Architectures: [x86_64]",
        );
        let violations = check(&template, &bins(&["alb-logs"])).unwrap();
        assert_eq!(violations.len(), 1, "{violations:?}");
    }

    #[test]
    fn wildcards_in_role_policies_are_found_and_denies_ignored() {
        let template = r#"
Resources:
  Role:
    Type: AWS::IAM::Role
    Properties:
      Policies:
        - PolicyName: p
          PolicyDocument:
            Statement:
              - Effect: Deny
                Action: "*"
                Resource: "*"
              - Effect: Allow
                Action: ["sqs:SendMessage", "logs:*"]
                Resource: "*"
"#;
        let violations = check(template, &bins(&[])).unwrap();
        assert_eq!(
            violations,
            vec![Violation {
                resource: "Role".into(),
                problem: "IAM statement allows wildcard action `logs:*`".into()
            }]
        );
    }

    #[test]
    fn a_template_without_resources_is_an_error() {
        assert!(matches!(
            check("Description: x", &bins(&[])),
            Err(TemplateError::NoResources)
        ));
    }
}
