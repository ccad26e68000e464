//! The rules every function in `template.yaml` must follow. cfn-lint does not flag a wrong
//! `Runtime` or `Architectures` on `AWS::Serverless::Function`, nor a `Binary` that no crate builds.

use std::collections::{BTreeMap, BTreeSet};

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

/// Values standing in for the pseudo parameters when a template is resolved.
pub const TEST_REGION: &str = "eu-west-1";
pub const TEST_ACCOUNT_ID: &str = "123456789012";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ResolveError {
    #[error("no parameter, pseudo parameter or resource named {0}")]
    UnknownRef(String),
    #[error("no condition named {0}")]
    UnknownCondition(String),
    #[error("{function}: {problem}")]
    Invalid { function: String, problem: String },
    #[error("intrinsic {0} is not supported by this resolver")]
    Unsupported(String),
}

/// A parameter value: `CommaDelimitedList` parameters are lists, every other type a string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParameterValue {
    String(String),
    List(Vec<String>),
}

/// Resolves the intrinsic functions of a template (`Ref`, `Fn::Join`, `Fn::Sub`, `Fn::If`,
/// `Fn::Split`, `Fn::Select`, `Fn::GetAtt` and the condition functions), in short (`!Join`) or
/// long (`Fn::Join:`) form, for chosen parameter values (the others take their `Default`).
/// Pseudo parameters are [`TEST_REGION`], [`TEST_ACCOUNT_ID`] and the `aws` partition; a
/// resource's `Ref` resolves to `ref:<id>` and its `Fn::GetAtt` to `getatt:<id>.<attribute>`.
/// `AWS::NoValue` removes the list item or mapping entry that holds it.
pub struct Resolver<'a> {
    template: &'a Value,
    parameters: BTreeMap<String, ParameterValue>,
}

/// What an expression resolves to: a value, or `AWS::NoValue` (nothing).
type Resolved = Option<serde_json::Value>;

impl<'a> Resolver<'a> {
    /// `overrides` are parameter values by name; a parameter without one takes its `Default`.
    pub fn new(
        template: &'a Value,
        overrides: &[(&str, ParameterValue)],
    ) -> Result<Self, ResolveError> {
        let mut parameters = BTreeMap::new();
        let declared = template
            .get("Parameters")
            .and_then(Value::as_mapping)
            .into_iter()
            .flatten();
        for (name, declaration) in declared {
            let Some(name) = name.as_str() else { continue };
            let is_list =
                declaration.get("Type").and_then(Value::as_str) == Some("CommaDelimitedList");
            let default = declaration.get("Default").map(|d| match d {
                Value::String(s) => s.clone(),
                Value::Bool(b) => b.to_string(),
                Value::Number(n) => n.to_string(),
                _ => String::new(),
            });
            if let Some(default) = default {
                let value = if is_list {
                    ParameterValue::List(default.split(',').map(str::to_string).collect())
                } else {
                    ParameterValue::String(default)
                };
                parameters.insert(name.to_string(), value);
            }
        }
        for (name, value) in overrides {
            let declared = template
                .get("Parameters")
                .and_then(|p| p.get(*name))
                .is_some();
            if !declared {
                return Err(ResolveError::UnknownRef((*name).to_string()));
            }
            parameters.insert((*name).to_string(), value.clone());
        }
        Ok(Self {
            template,
            parameters,
        })
    }

    /// `value` with every intrinsic function resolved; `None` for `AWS::NoValue`.
    pub fn resolve(&self, value: &Value) -> Result<Option<serde_json::Value>, ResolveError> {
        // `Condition` is a function only inside condition definitions.
        if let Some((function, argument)) = intrinsic(value).filter(|(f, _)| f != "Condition") {
            return self.function(&function, argument);
        }
        Ok(Some(match value {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Number(n) => number(n),
            Value::String(s) => serde_json::Value::String(s.clone()),
            Value::Sequence(items) => {
                let mut resolved = Vec::new();
                for item in items {
                    resolved.extend(self.resolve(item)?);
                }
                serde_json::Value::Array(resolved)
            }
            Value::Mapping(map) => {
                let mut resolved = serde_json::Map::new();
                for (key, child) in map {
                    let key = match key {
                        Value::String(s) => s.clone(),
                        other => serde_yaml_ng::to_string(other)
                            .unwrap_or_default()
                            .trim()
                            .to_string(),
                    };
                    if let Some(child) = self.resolve(child)? {
                        resolved.insert(key, child);
                    }
                }
                serde_json::Value::Object(resolved)
            }
            Value::Tagged(tagged) => {
                return Err(ResolveError::Unsupported(tagged.tag.to_string()));
            }
        }))
    }

    /// Whether the named condition of the template's `Conditions` holds.
    pub fn condition(&self, name: &str) -> Result<bool, ResolveError> {
        let definition = self
            .template
            .get("Conditions")
            .and_then(|c| c.get(name))
            .ok_or_else(|| ResolveError::UnknownCondition(name.to_string()))?;
        self.truth(definition)
    }

    fn truth(&self, value: &Value) -> Result<bool, ResolveError> {
        let (function, argument) = intrinsic(value).ok_or_else(|| {
            invalid(
                "condition",
                format!("{value:?} is not a condition function"),
            )
        })?;
        let arguments = || {
            argument
                .as_sequence()
                .ok_or_else(|| invalid(&function, "expects a list"))
        };
        match function.as_str() {
            "Condition" => {
                let name = argument
                    .as_str()
                    .ok_or_else(|| invalid("Condition", "expects a name"))?;
                self.condition(name)
            }
            "Fn::Equals" => match arguments()?.as_slice() {
                [a, b] => Ok(self.resolve(a)? == self.resolve(b)?),
                _ => Err(invalid(&function, "expects two values")),
            },
            "Fn::Not" => match arguments()?.as_slice() {
                [a] => Ok(!self.truth(a)?),
                _ => Err(invalid(&function, "expects one condition")),
            },
            "Fn::And" => arguments()?
                .iter()
                .try_fold(true, |all, c| Ok(all && self.truth(c)?)),
            "Fn::Or" => arguments()?
                .iter()
                .try_fold(false, |any, c| Ok(any || self.truth(c)?)),
            _ => Err(invalid(&function, "is not a condition function")),
        }
    }

    fn function(&self, function: &str, argument: &Value) -> Result<Resolved, ResolveError> {
        let arguments = || {
            argument
                .as_sequence()
                .map(Vec::as_slice)
                .ok_or_else(|| invalid(function, "expects a list"))
        };
        match function {
            "Ref" => {
                let name = argument
                    .as_str()
                    .ok_or_else(|| invalid("Ref", "expects a name"))?;
                self.reference(name)
            }
            "Fn::GetAtt" => {
                let target = match argument {
                    Value::String(s) => s.clone(),
                    Value::Sequence(parts) => parts
                        .iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join("."),
                    _ => return Err(invalid("Fn::GetAtt", "expects Resource.Attribute")),
                };
                self.get_att(&target).map(Some)
            }
            "Fn::Join" => {
                let [delimiter, items] = arguments()? else {
                    return Err(invalid(function, "expects [delimiter, list]"));
                };
                let delimiter = delimiter
                    .as_str()
                    .ok_or_else(|| invalid(function, "the delimiter must be a literal string"))?;
                let items = self.resolve(items)?.unwrap_or_default();
                let parts = items
                    .as_array()
                    .ok_or_else(|| invalid(function, "expects a list to join"))?
                    .iter()
                    .map(|item| {
                        item.as_str()
                            .map(str::to_string)
                            .ok_or_else(|| invalid(function, format!("{item} is not a string")))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(Some(parts.join(delimiter).into()))
            }
            "Fn::Split" => {
                let [delimiter, source] = arguments()? else {
                    return Err(invalid(function, "expects [delimiter, string]"));
                };
                let delimiter = delimiter
                    .as_str()
                    .ok_or_else(|| invalid(function, "the delimiter must be a literal string"))?;
                let source = self.string(source, function)?;
                Ok(Some(
                    source
                        .split(delimiter)
                        .map(serde_json::Value::from)
                        .collect(),
                ))
            }
            "Fn::Select" => {
                let [index, list] = arguments()? else {
                    return Err(invalid(function, "expects [index, list]"));
                };
                let index: usize = self
                    .string(index, function)
                    .or_else(|_| {
                        index
                            .as_u64()
                            .map(|i| i.to_string())
                            .ok_or_else(|| invalid(function, "bad index"))
                    })?
                    .parse()
                    .map_err(|_| invalid(function, "bad index"))?;
                let list = self.resolve(list)?.unwrap_or_default();
                list.as_array()
                    .and_then(|l| l.get(index))
                    .cloned()
                    .map(Some)
                    .ok_or_else(|| invalid(function, format!("no item {index} in {list}")))
            }
            "Fn::If" => {
                let [condition, then, otherwise] = arguments()? else {
                    return Err(invalid(function, "expects [condition, then, else]"));
                };
                let condition = condition
                    .as_str()
                    .ok_or_else(|| invalid(function, "expects a condition name"))?;
                self.resolve(if self.condition(condition)? {
                    then
                } else {
                    otherwise
                })
            }
            "Fn::Sub" => {
                let (text, variables) = match argument {
                    Value::String(text) => (text.as_str(), None),
                    Value::Sequence(parts) => match parts.as_slice() {
                        [Value::String(text), variables] => (text.as_str(), Some(variables)),
                        _ => return Err(invalid(function, "expects a string or [string, map]")),
                    },
                    _ => return Err(invalid(function, "expects a string or [string, map]")),
                };
                let mut local = BTreeMap::new();
                for (name, value) in variables.and_then(Value::as_mapping).into_iter().flatten() {
                    let name = name
                        .as_str()
                        .ok_or_else(|| invalid(function, "variable names are strings"))?;
                    local.insert(name.to_string(), self.string(value, function)?);
                }
                self.substitute(text, &local).map(|s| Some(s.into()))
            }
            other => Err(ResolveError::Unsupported(other.to_string())),
        }
    }

    fn reference(&self, name: &str) -> Result<Resolved, ResolveError> {
        Ok(Some(match name {
            "AWS::NoValue" => return Ok(None),
            "AWS::Region" => TEST_REGION.into(),
            "AWS::AccountId" => TEST_ACCOUNT_ID.into(),
            "AWS::Partition" => "aws".into(),
            "AWS::URLSuffix" => "amazonaws.com".into(),
            "AWS::StackName" => "fleetwatch".into(),
            _ => match self.parameters.get(name) {
                Some(ParameterValue::String(s)) => s.clone().into(),
                Some(ParameterValue::List(items)) => items.clone().into(),
                None if self.is_resource(name) => format!("ref:{name}").into(),
                None => return Err(ResolveError::UnknownRef(name.to_string())),
            },
        }))
    }

    fn get_att(&self, target: &str) -> Result<serde_json::Value, ResolveError> {
        let (resource, _) = target
            .split_once('.')
            .ok_or_else(|| invalid("Fn::GetAtt", format!("{target} is not Resource.Attribute")))?;
        if self.is_resource(resource) {
            Ok(format!("getatt:{target}").into())
        } else {
            Err(ResolveError::UnknownRef(resource.to_string()))
        }
    }

    fn is_resource(&self, name: &str) -> bool {
        // SAM generates `<Function>Role`, `<Function>Url`, ... from a function's logical id.
        let resources = self.template.get("Resources");
        resources.and_then(|r| r.get(name)).is_some()
            || functions(self.template)
                .iter()
                .any(|(id, _)| name.starts_with(id.as_str()))
    }

    fn string(&self, value: &Value, function: &str) -> Result<String, ResolveError> {
        match self.resolve(value)? {
            Some(serde_json::Value::String(s)) => Ok(s),
            Some(serde_json::Value::Number(n)) => Ok(n.to_string()),
            Some(serde_json::Value::Bool(b)) => Ok(b.to_string()),
            other => Err(invalid(function, format!("{other:?} is not a string"))),
        }
    }

    /// `${Name}` from the local variables, else a parameter, pseudo parameter, resource `Ref`
    /// or `Resource.Attribute`; `${!Text}` is the literal `${Text}`.
    fn substitute(
        &self,
        text: &str,
        local: &BTreeMap<String, String>,
    ) -> Result<String, ResolveError> {
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after
                .find('}')
                .ok_or_else(|| invalid("Fn::Sub", format!("unclosed ${{ in {text:?}")))?;
            let name = &after[..end];
            if let Some(literal) = name.strip_prefix('!') {
                out.push_str("${");
                out.push_str(literal);
                out.push('}');
            } else if let Some(value) = local.get(name) {
                out.push_str(value);
            } else {
                let value = if name.contains('.') && !name.starts_with("AWS::") {
                    self.get_att(name)?
                } else {
                    self.reference(name)?.unwrap_or_default()
                };
                match value {
                    serde_json::Value::String(s) => out.push_str(&s),
                    other => {
                        return Err(invalid(
                            "Fn::Sub",
                            format!("${{{name}}} is {other}, not a string"),
                        ));
                    }
                }
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }
}

/// The intrinsic function a value calls, with its argument: `!Tag value` or `{Fn::X: value}`.
fn intrinsic(value: &Value) -> Option<(String, &Value)> {
    match value {
        Value::Tagged(tagged) => {
            let tag = tagged.tag.to_string();
            let tag = tag.trim_start_matches('!');
            let function = match tag {
                "Ref" | "Condition" => tag.to_string(),
                other => format!("Fn::{other}"),
            };
            Some((function, &tagged.value))
        }
        Value::Mapping(map) if map.len() == 1 => {
            let (key, argument) = map.iter().next()?;
            let key = key.as_str()?;
            (key == "Ref" || key == "Condition" || key.starts_with("Fn::"))
                .then(|| (key.to_string(), argument))
        }
        _ => None,
    }
}

fn number(n: &serde_yaml_ng::Number) -> serde_json::Value {
    if let Some(i) = n.as_i64() {
        i.into()
    } else if let Some(u) = n.as_u64() {
        u.into()
    } else {
        n.as_f64().into()
    }
}

fn invalid(function: &str, problem: impl Into<String>) -> ResolveError {
    ResolveError::Invalid {
        function: function.to_string(),
        problem: problem.into(),
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

    const RESOLVABLE: &str = r#"
Parameters:
  Names:
    Type: CommaDelimitedList
    Default: "*"
  Prefix:
    Type: String
    Default: /ecs/
  Flag:
    Type: String
    Default: "true"
Conditions:
  All: !Equals [!Join [",", !Ref Names], "*"]
  FlagOn: !Equals [!Ref Flag, "true"]
  Both: !And [!Condition All, !Not [!Not [{ Condition: FlagOn }]]]
Resources:
  Queue:
    Type: AWS::SQS::Queue
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Joined: !Join ["", ["[", !Join ['","', !Ref Names], "]"]]
      Long: { "Fn::Join": ["-", [a, { Ref: Prefix }]] }
      Sub: !Sub arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:${Prefix}*:${!Literal}
      SubMap: !Sub ["${Queue.Arn}/${X}", { X: !Select [1, !Split [",", "a,b,c"]] }]
      Picked: !If [Both, !Ref Queue, !GetAtt Queue.Arn]
      Dropped: [one, !If [FlagOn, !Ref AWS::NoValue, two]]
      Gone: !Ref AWS::NoValue
      Role: !GetAtt FnRole.Arn
"#;

    fn resolved(overrides: &[(&str, ParameterValue)]) -> serde_json::Value {
        let template: Value = serde_yaml_ng::from_str(RESOLVABLE).unwrap();
        let resolver = Resolver::new(&template, overrides).unwrap();
        resolver
            .resolve(&template["Resources"]["Fn"]["Properties"])
            .unwrap()
            .unwrap()
    }

    #[test]
    fn the_resolver_evaluates_the_intrinsics_with_defaults() {
        let properties = resolved(&[]);
        assert_eq!(
            properties,
            serde_json::json!({
                "Joined": "[*]",
                "Long": "a-/ecs/",
                "Sub": "arn:aws:logs:eu-west-1:123456789012:log-group:/ecs/*:${Literal}",
                "SubMap": "getatt:Queue.Arn/b",
                "Picked": "ref:Queue",
                "Dropped": ["one"],
                "Role": "getatt:FnRole.Arn",
            })
        );
    }

    #[test]
    fn the_resolver_takes_parameter_overrides() {
        let properties = resolved(&[
            (
                "Names",
                ParameterValue::List(vec!["prod".into(), "staging".into()]),
            ),
            ("Flag", ParameterValue::String("false".into())),
        ]);
        assert_eq!(properties["Joined"], "[prod\",\"staging]");
        assert_eq!(properties["Picked"], "getatt:Queue.Arn");
        assert_eq!(properties["Dropped"], serde_json::json!(["one", "two"]));
    }

    #[test]
    fn the_resolver_reports_what_it_cannot_resolve() {
        let template: Value = serde_yaml_ng::from_str(RESOLVABLE).unwrap();
        let resolver = Resolver::new(&template, &[]).unwrap();
        let unknown: Value = serde_yaml_ng::from_str("!Ref Nope").unwrap();
        assert_eq!(
            resolver.resolve(&unknown),
            Err(ResolveError::UnknownRef("Nope".into()))
        );
        let unsupported: Value = serde_yaml_ng::from_str("!Base64 x").unwrap();
        assert_eq!(
            resolver.resolve(&unsupported),
            Err(ResolveError::Unsupported("Fn::Base64".into()))
        );
        assert!(Resolver::new(&template, &[("Nope", ParameterValue::String("x".into()))]).is_err());
    }

    #[test]
    fn a_template_without_resources_is_an_error() {
        assert!(matches!(
            check("Description: x", &bins(&[])),
            Err(TemplateError::NoResources)
        ));
    }
}
