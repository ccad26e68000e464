//! The rules every function in `template.yaml` must follow. cfn-lint does not flag a wrong
//! `Runtime` or `Architectures` on `AWS::Serverless::Function`, nor a `Binary` that no crate builds.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::json;
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
/// `Fn::Split`, `Fn::Select`, `Fn::GetAtt`, `Fn::FindInMap` and the condition functions), in
/// short (`!Join`) or long (`Fn::Join:`) form, for chosen parameter values (the others take their
/// `Default`). Pseudo parameters are [`TEST_REGION`] (or [`Resolver::in_region`]),
/// [`TEST_ACCOUNT_ID`] and the `aws` partition; a
/// resource's `Ref` resolves to `ref:<id>` and its `Fn::GetAtt` to `getatt:<id>.<attribute>`.
/// `AWS::NoValue` removes the list item or mapping entry that holds it.
pub struct Resolver<'a> {
    template: &'a Value,
    parameters: BTreeMap<String, ParameterValue>,
    region: String,
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
            region: TEST_REGION.to_string(),
        })
    }

    /// The same resolver with `AWS::Region` standing for `region` instead of [`TEST_REGION`].
    pub fn in_region(mut self, region: &str) -> Self {
        self.region = region.to_string();
        self
    }

    /// Whether a condition expression holds (`Fn::Equals`, `Fn::And`, `Fn::Or`, `Fn::Not`,
    /// `Condition`): a `Conditions` entry, or a rule's `RuleCondition` or `Assert`.
    pub fn holds(&self, expression: &Value) -> Result<bool, ResolveError> {
        self.truth(expression)
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
            "Fn::FindInMap" => {
                let [map, top, second] = arguments()? else {
                    return Err(invalid(
                        function,
                        "expects [map, top-level key, second-level key]",
                    ));
                };
                let map = self.string(map, function)?;
                let top = self.string(top, function)?;
                let second = self.string(second, function)?;
                let value = self
                    .template
                    .get("Mappings")
                    .and_then(|m| m.get(map.as_str()))
                    .and_then(|m| m.get(top.as_str()))
                    .and_then(|m| m.get(second.as_str()))
                    .ok_or_else(|| invalid(function, format!("no {map}.{top}.{second}")))?;
                self.resolve(value)
            }
            other => Err(ResolveError::Unsupported(other.to_string())),
        }
    }

    fn reference(&self, name: &str) -> Result<Resolved, ResolveError> {
        Ok(Some(match name {
            "AWS::NoValue" => return Ok(None),
            "AWS::Region" => self.region.clone().into(),
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

// ---------------------------------------------------------------------------------------------
// Guardrails (issue 11). Each check returns what the template gets wrong, empty when it holds,
// read from the template as CloudFormation would deploy it for chosen parameter values.

/// The ELB accounts of the Regions available before August 2022, as AWS lists them in "Enable
/// access logs for your Application Load Balancer" (Step 2, the legacy policy's principals):
/// <https://docs.aws.amazon.com/elasticloadbalancing/latest/application/enable-access-logging.html>.
/// Newer Regions only know the `logdelivery.elasticloadbalancing.amazonaws.com` principal.
pub const ELB_LOG_DELIVERY_ACCOUNTS: [(&str, &str); 24] = [
    ("us-east-1", "127311923021"),
    ("us-east-2", "033677994240"),
    ("us-west-1", "027434742980"),
    ("us-west-2", "797873946194"),
    ("af-south-1", "098369216593"),
    ("ap-east-1", "754344448648"),
    ("ap-southeast-3", "589379963580"),
    ("ap-south-1", "718504428378"),
    ("ap-northeast-3", "383597477331"),
    ("ap-northeast-2", "600734575887"),
    ("ap-southeast-1", "114774131450"),
    ("ap-southeast-2", "783225319266"),
    ("ap-northeast-1", "582318560864"),
    ("ca-central-1", "985666609251"),
    ("eu-central-1", "054676820928"),
    ("eu-west-1", "156460612806"),
    ("eu-west-2", "652711504416"),
    ("eu-south-1", "635631232127"),
    ("eu-west-3", "009996457667"),
    ("eu-north-1", "897822967062"),
    ("me-south-1", "076674570225"),
    ("sa-east-1", "507241528517"),
    ("us-gov-east-1", "190560391635"),
    ("us-gov-west-1", "048591011584"),
];

/// A Region opened after August 2022 (Europe (Spain)): ELB delivers logs there only as the
/// log delivery service principal.
pub const NEWER_REGION: &str = "eu-south-2";

/// The function behind the public Function URL.
pub const RECEIVER: &str = "AlertmanagerReceiverFunction";

/// A `SearchEndpoint` pattern that admits only https URLs (or nothing: no search output).
pub const HTTPS_ENDPOINT_PATTERN: &str = r"(https://\S+)?";

type Json = serde_json::Value;

/// Parameter values by name.
type Overrides<'a> = Vec<(&'a str, ParameterValue)>;

/// A template as one deployment sees it: the resources whose `Condition` holds, every intrinsic
/// resolved, each function's properties merged with `Globals.Function` as SAM merges them.
pub struct Deployment {
    pub resources: BTreeMap<String, Json>,
    pub outputs: BTreeMap<String, Json>,
}

/// A resolver for `overrides` (those the template does not declare are left out, so a check
/// runs on older templates too); a parameter without a default gets a `test-<name>` value.
pub fn deployment_resolver<'a>(
    template: &'a Value,
    overrides: &[(&str, ParameterValue)],
) -> Result<Resolver<'a>, ResolveError> {
    let declared: Vec<(&str, &Value)> = template
        .get("Parameters")
        .and_then(Value::as_mapping)
        .into_iter()
        .flatten()
        .filter_map(|(name, declaration)| Some((name.as_str()?, declaration)))
        .collect();
    let mut chosen: Vec<(&str, ParameterValue)> = overrides
        .iter()
        .filter(|(name, _)| declared.iter().any(|(d, _)| d == name))
        .cloned()
        .collect();
    for (name, declaration) in &declared {
        if declaration.get("Default").is_none() && !chosen.iter().any(|(n, _)| n == name) {
            let placeholder = format!("test-{}", name.to_lowercase());
            chosen.push((*name, ParameterValue::String(placeholder)));
        }
    }
    Resolver::new(template, &chosen)
}

impl Deployment {
    pub fn of(
        template: &Value,
        overrides: &[(&str, ParameterValue)],
        region: &str,
    ) -> Result<Self, ResolveError> {
        let resolver = deployment_resolver(template, overrides)?.in_region(region);
        let holds = |entry: &Value| match entry.get("Condition").and_then(Value::as_str) {
            Some(condition) => resolver.condition(condition),
            None => Ok(true),
        };
        let globals = match template.get("Globals").and_then(|g| g.get("Function")) {
            Some(globals) => resolver.resolve(globals)?.unwrap_or_default(),
            None => Json::Null,
        };
        let mut resources = BTreeMap::new();
        for (id, resource) in self::resources(template) {
            if !holds(resource)? {
                continue;
            }
            let mut resolved = resolver.resolve(resource)?.unwrap_or_default();
            if resource_type(resource) == Some("AWS::Serverless::Function") {
                let own = resolved["Properties"].take();
                resolved["Properties"] = merged(globals.clone(), own);
            }
            resources.insert(id, resolved);
        }
        let mut outputs = BTreeMap::new();
        let declared = template.get("Outputs").and_then(Value::as_mapping);
        for (name, output) in declared.into_iter().flatten() {
            if let Some(name) = name.as_str().filter(|_| holds(output).unwrap_or(false)) {
                outputs.insert(
                    name.to_string(),
                    resolver.resolve(output)?.unwrap_or_default(),
                );
            }
        }
        Ok(Self { resources, outputs })
    }

    /// Resources of one type, by logical id.
    pub fn of_type<'d>(&'d self, kind: &'d str) -> impl Iterator<Item = (&'d str, &'d Json)> {
        self.resources
            .iter()
            .filter(move |(_, r)| r["Type"] == kind)
            .map(|(id, r)| (id.as_str(), r))
    }

    pub fn properties(&self, id: &str) -> &Json {
        self.resources
            .get(id)
            .map_or(&Json::Null, |r| &r["Properties"])
    }

    /// Whether some queue policy of `queue` lets `service` send to it from one of `sources`.
    pub fn queue_admits(&self, queue: &str, service: &str, sources: &[String]) -> bool {
        self.of_type("AWS::SQS::QueuePolicy")
            .filter(|(_, p)| {
                list(&p["Properties"]["Queues"]).contains(&&Json::from(format!("ref:{queue}")))
            })
            .flat_map(|(_, p)| statements(&p["Properties"]["PolicyDocument"]))
            .any(|s| {
                s["Effect"] == "Allow"
                    && strings(&s["Principal"]["Service"])
                        .iter()
                        .any(|p| p == service)
                    && strings(&s["Action"]).iter().any(|a| a == "sqs:SendMessage")
                    && strings(&s["Condition"]["ArnEquals"]["aws:SourceArn"])
                        .iter()
                        .any(|arn| sources.contains(arn))
            })
    }
}

/// SAM's merge of `Globals.Function` with a function's own properties: maps merged key by key,
/// anything else the function's own value.
fn merged(globals: Json, own: Json) -> Json {
    match (globals, own) {
        (Json::Object(mut globals), Json::Object(own)) => {
            for (key, value) in own {
                let value = match globals.remove(&key) {
                    Some(global) => merged(global, value),
                    None => value,
                };
                globals.insert(key, value);
            }
            Json::Object(globals)
        }
        (globals, Json::Null) => globals,
        (_, own) => own,
    }
}

/// A value that may be one item or a list, as a list.
fn list(value: &Json) -> Vec<&Json> {
    match value {
        Json::Array(items) => items.iter().collect(),
        Json::Null => Vec::new(),
        one => vec![one],
    }
}

fn strings(value: &Json) -> Vec<String> {
    list(value)
        .into_iter()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect()
}

/// A whole number written as a number or as a (parameter's) string.
fn whole(value: &Json) -> Option<u64> {
    value
        .as_u64()
        .or_else(|| value.as_str().and_then(|s| s.parse().ok()))
        .or_else(|| {
            value
                .as_f64()
                .filter(|f| f.fract() == 0.0 && *f >= 0.0)
                .map(|f| f as u64)
        })
}

/// `X` of `getatt:X.Arn` (a resolved `!GetAtt X.Arn`).
fn arn_of(value: &Json) -> Option<&str> {
    value
        .as_str()?
        .strip_prefix("getatt:")?
        .strip_suffix(".Arn")
}

/// The statements of a policy document, or of one item of a SAM function's `Policies`.
fn statements(policy: &Json) -> Vec<&Json> {
    list(&policy["Statement"])
}

/// Every statement of a SAM function's inline `Policies`.
fn function_statements(function: &Json) -> Vec<&Json> {
    list(&function["Policies"])
        .into_iter()
        .flat_map(statements)
        .collect()
}

/// Parameters that switch on every optional function: the guardrails are checked on the
/// fullest deployment (the capacity function exists only with its cluster and group, and
/// creates its lifecycle hook and target tracking only in enforce mode with a service; the
/// health-check function only with its checks parameter).
pub const EVERY_FUNCTION: [(&str, &str); 6] = [
    ("HealthCheckConfigParameter", "/fleetwatch/health/checks"),
    ("CapacityClusterName", "prod"),
    ("CapacityAutoScalingGroupName", "prod-ecs"),
    ("CapacityInstanceTypes", "m6g.large=2048/7680"),
    ("CapacityMode", "enforce"),
    ("CapacityServiceToScale", "web"),
];

/// `overrides` on top of [`EVERY_FUNCTION`].
pub fn with_every_function<'a>(
    overrides: &[(&'a str, ParameterValue)],
) -> Vec<(&'a str, ParameterValue)> {
    let mut all: Vec<(&str, ParameterValue)> = EVERY_FUNCTION
        .iter()
        .filter(|(name, _)| !overrides.iter().any(|(n, _)| n == name))
        .map(|(name, value)| (*name, string(value)))
        .collect();
    all.extend(overrides.iter().cloned());
    all
}

fn deployment_or_problem(
    template: &Value,
    overrides: &[(&str, ParameterValue)],
    region: &str,
    problems: &mut Vec<String>,
) -> Option<Deployment> {
    Deployment::of(template, &with_every_function(overrides), region)
        .map_err(|error| problems.push(format!("the template does not resolve: {error}")))
        .ok()
}

fn string(value: &str) -> ParameterValue {
    ParameterValue::String(value.to_string())
}

/// Every function logs (JSON) to a log group of its own, created by the stack, that keeps its
/// events for `LogRetentionDays`.
pub fn log_groups(template: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let overrides = [("LogRetentionDays", string("7"))];
    let Some(d) = deployment_or_problem(template, &overrides, TEST_REGION, &mut problems) else {
        return problems;
    };
    let mut owners: BTreeMap<&str, &str> = BTreeMap::new();
    for (id, function) in d.of_type("AWS::Serverless::Function") {
        let logging = &function["Properties"]["LoggingConfig"];
        if logging["LogFormat"] != "JSON" {
            problems.push(format!(
                "{id}: LogFormat is {}, not JSON",
                logging["LogFormat"]
            ));
        }
        let Some(group) = logging["LogGroup"]
            .as_str()
            .and_then(|g| g.strip_prefix("ref:"))
        else {
            problems.push(format!(
                "{id}: LoggingConfig.LogGroup is not a log group of the stack"
            ));
            continue;
        };
        let retention = d
            .resources
            .get(group)
            .filter(|r| r["Type"] == "AWS::Logs::LogGroup");
        match retention {
            Some(r) if whole(&r["Properties"]["RetentionInDays"]) == Some(7) => {}
            Some(_) => problems.push(format!(
                "{id}: log group {group} does not keep events for LogRetentionDays"
            )),
            None => problems.push(format!("{id}: {group} is not an AWS::Logs::LogGroup")),
        }
        if let Some(other) = owners.insert(group, id) {
            problems.push(format!("{id} and {other} share the log group {group}"));
        }
    }
    problems
}

/// Every queue that receives dead letters, with what sends them: redrive targets of queues and
/// SNS subscriptions, functions' `DeadLetterQueue` and on-failure destinations (asynchronous
/// invocations and event sources), EventBridge targets' `DeadLetterConfig`.
pub fn dead_letter_queues(d: &Deployment) -> BTreeMap<String, Vec<String>> {
    let mut queues: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut add = |queue: &Json, from: String| {
        if let Some(queue) = arn_of(queue) {
            queues.entry(queue.to_string()).or_default().push(from);
        }
    };
    for (id, resource) in &d.resources {
        let properties = &resource["Properties"];
        match resource["Type"].as_str().unwrap_or_default() {
            "AWS::SQS::Queue" | "AWS::SNS::Subscription" => add(
                &properties["RedrivePolicy"]["deadLetterTargetArn"],
                format!("{id} (redrive)"),
            ),
            "AWS::Serverless::Function" => {
                add(
                    &properties["DeadLetterQueue"]["TargetArn"],
                    format!("{id} (DLQ)"),
                );
                add(
                    &properties["EventInvokeConfig"]["DestinationConfig"]["OnFailure"]["Destination"],
                    format!("{id} (on failure)"),
                );
                for (name, event) in properties["Events"].as_object().into_iter().flatten() {
                    add(
                        &event["Properties"]["DestinationConfig"]["OnFailure"]["Destination"],
                        format!("{id} event {name} (on failure)"),
                    );
                }
            }
            "AWS::Events::Rule" => {
                for target in list(&properties["Targets"]) {
                    add(
                        &target["DeadLetterConfig"]["Arn"],
                        format!("{id} (target DLQ)"),
                    );
                }
            }
            _ => {}
        }
    }
    queues
}

/// Every dead-letter queue has an alarm on visible messages (> 0) that notifies the alarms
/// topic; a subscription's dead-letter queue admits SNS.
pub fn dead_letter_alarms(template: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let Some(d) = deployment_or_problem(template, &[], TEST_REGION, &mut problems) else {
        return problems;
    };
    let queues = dead_letter_queues(&d);
    if queues.is_empty() {
        problems.push("no dead-letter queue found: nothing to check".into());
    }
    for queue in queues.keys() {
        let watched = d.of_type("AWS::CloudWatch::Alarm").any(|(_, alarm)| {
            let a = &alarm["Properties"];
            let fires_on_one = match a["ComparisonOperator"].as_str() {
                Some("GreaterThanThreshold") => a["Threshold"].as_f64() == Some(0.0),
                Some("GreaterThanOrEqualToThreshold") => a["Threshold"].as_f64() == Some(1.0),
                _ => false,
            };
            a["Namespace"] == "AWS/SQS"
                && a["MetricName"] == "ApproximateNumberOfMessagesVisible"
                && list(&a["Dimensions"]).iter().any(|dimension| {
                    dimension["Name"] == "QueueName"
                        && dimension["Value"] == format!("getatt:{queue}.QueueName")
                })
                && fires_on_one
                && strings(&a["AlarmActions"])
                    .iter()
                    .any(|t| t == "ref:AlarmsTopic")
        });
        if !watched {
            problems.push(format!(
                "dead-letter queue {queue} has no alarm on visible messages notifying AlarmsTopic"
            ));
        }
    }
    for (id, subscription) in d.of_type("AWS::SNS::Subscription") {
        let p = &subscription["Properties"];
        if let Some(queue) = arn_of(&p["RedrivePolicy"]["deadLetterTargetArn"]) {
            let topic = p["TopicArn"].as_str().unwrap_or_default().to_string();
            if !d.queue_admits(queue, "sns.amazonaws.com", &[topic]) {
                problems.push(format!(
                    "{id}: {queue}'s policy does not admit the topic's dead letters"
                ));
            }
        }
    }
    problems
}

/// Every SQS event source has `ScalingConfig.MaximumConcurrency`; alb-logs' comes from
/// `AlbLogsMaxConcurrency`.
pub fn sqs_event_source_concurrency(template: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let overrides = [("AlbLogsMaxConcurrency", string("7"))];
    let Some(d) = deployment_or_problem(template, &overrides, TEST_REGION, &mut problems) else {
        return problems;
    };
    let mut sources = 0;
    for (id, function) in d.of_type("AWS::Serverless::Function") {
        let events = function["Properties"]["Events"].as_object();
        for (name, event) in events.into_iter().flatten() {
            if event["Type"] != "SQS" {
                continue;
            }
            sources += 1;
            let maximum = whole(&event["Properties"]["ScalingConfig"]["MaximumConcurrency"]);
            match maximum {
                Some(2..=1000) => {}
                Some(other) => problems.push(format!(
                    "{id} event {name}: MaximumConcurrency {other} is outside 2..=1000"
                )),
                None => problems.push(format!("{id} event {name}: no MaximumConcurrency")),
            }
            let queue = arn_of(&event["Properties"]["Queue"]);
            if queue == Some("AlbLogsQueue") && maximum != Some(7) {
                problems.push(format!(
                    "{id} event {name}: MaximumConcurrency does not come from AlbLogsMaxConcurrency"
                ));
            }
        }
    }
    for (id, _) in d.of_type("AWS::Lambda::EventSourceMapping") {
        if whole(&d.properties(id)["ScalingConfig"]["MaximumConcurrency"]).is_none() {
            problems.push(format!("{id}: no MaximumConcurrency"));
        }
    }
    if sources == 0 {
        problems.push("no SQS event source found: nothing to check".into());
    }
    problems
}

/// Every EventBridge rule target has a retry policy and a dead-letter queue whose policy admits
/// that rule.
pub fn eventbridge_targets(template: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let Some(d) = deployment_or_problem(template, &[], TEST_REGION, &mut problems) else {
        return problems;
    };
    for (id, rule) in d.of_type("AWS::Events::Rule") {
        let p = &rule["Properties"];
        let mut sources = vec![format!("getatt:{id}.Arn")];
        if let Some(name) = p["Name"].as_str() {
            sources.push(format!(
                "arn:aws:events:{TEST_REGION}:{TEST_ACCOUNT_ID}:rule/{name}"
            ));
        }
        let targets = list(&p["Targets"]);
        if targets.is_empty() {
            problems.push(format!("{id}: no targets"));
        }
        for target in targets {
            let name = format!("{id} target {}", target["Id"]);
            let retry = &target["RetryPolicy"];
            if whole(&retry["MaximumRetryAttempts"]).is_none()
                || whole(&retry["MaximumEventAgeInSeconds"]).is_none()
            {
                problems.push(format!("{name}: no RetryPolicy (attempts and event age)"));
            }
            match arn_of(&target["DeadLetterConfig"]["Arn"]) {
                None => problems.push(format!("{name}: no DeadLetterConfig")),
                Some(queue) if !d.queue_admits(queue, "events.amazonaws.com", &sources) => problems
                    .push(format!(
                        "{name}: {queue}'s policy does not admit the rule's dead letters"
                    )),
                Some(_) => {}
            }
        }
    }
    problems
}

/// The created log bucket denies any request without TLS and admits ELB's log delivery: the
/// service principal everywhere, and the Region's ELB account where AWS lists one.
pub fn log_bucket_policy(template: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    for region in [TEST_REGION, NEWER_REGION] {
        problems.extend(
            log_bucket_policy_in(template, region)
                .into_iter()
                .map(|p| format!("{region}: {p}")),
        );
    }
    problems
}

/// [`log_bucket_policy`] in one Region.
pub fn log_bucket_policy_in(template: &Value, region: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let overrides = [
        ("CreateLogBucket", string("true")),
        ("LogPrefix", string("elb/")),
    ];
    let Some(d) = deployment_or_problem(template, &overrides, region, &mut problems) else {
        return problems;
    };
    let bucket = "arn:aws:s3:::test-logbucketname";
    let logs = format!("{bucket}/elb/AWSLogs/{TEST_ACCOUNT_ID}/*");
    let Some((_, policy)) = d
        .of_type("AWS::S3::BucketPolicy")
        .find(|(_, p)| p["Properties"]["Bucket"] == "ref:LogBucket")
    else {
        return vec!["no bucket policy on LogBucket".into()];
    };
    let statements = statements(&policy["Properties"]["PolicyDocument"]);
    let denies_plain_http = statements.iter().any(|s| {
        let resources = strings(&s["Resource"]);
        s["Effect"] == "Deny"
            && (s["Principal"] == "*" || s["Principal"]["AWS"] == "*")
            && strings(&s["Action"]).iter().any(|a| a == "s3:*")
            && resources.iter().any(|r| r == bucket)
            && resources.iter().any(|r| *r == format!("{bucket}/*"))
            && matches!(
                &s["Condition"]["Bool"]["aws:SecureTransport"],
                Json::String(v) if v == "false"
            )
    });
    if !denies_plain_http {
        problems.push("no statement denies s3:* on the bucket and its objects without TLS".into());
    }
    let writers: Vec<&Json> = statements
        .iter()
        .filter(|s| {
            s["Effect"] == "Allow"
                && strings(&s["Action"]) == ["s3:PutObject"]
                && strings(&s["Resource"]) == [logs.clone()]
        })
        .map(|s| &s["Principal"])
        .collect();
    let service = json!({"Service": "logdelivery.elasticloadbalancing.amazonaws.com"});
    if !writers.contains(&&service) {
        problems.push(format!("the log delivery service may not write {logs}"));
    }
    let account = ELB_LOG_DELIVERY_ACCOUNTS.iter().find(|(r, _)| *r == region);
    let accounts: Vec<&Json> = writers
        .iter()
        .filter(|p| !p["AWS"].is_null())
        .copied()
        .collect();
    match account {
        Some((_, id)) => {
            let principal = json!({"AWS": format!("arn:aws:iam::{id}:root")});
            if accounts != [&principal] {
                problems.push(format!(
                    "ELB account {id} of {region} may not write {logs} (writers {accounts:?})"
                ));
            }
        }
        None if !accounts.is_empty() => {
            problems.push(format!(
                "{region} has no ELB account, yet {accounts:?} may write"
            ));
        }
        None => {}
    }
    problems
}

/// The alarms topic is encrypted with a key of the stack that CloudWatch may use (by default),
/// or not at all; never with an AWS managed key (`alias/aws/sns`: alarm actions cannot use it).
pub fn alarms_topic_encryption(template: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let Some(d) = deployment_or_problem(template, &[], TEST_REGION, &mut problems) else {
        return problems;
    };
    let topic = d.properties("AlarmsTopic");
    if topic.is_null() {
        return vec!["no AlarmsTopic".into()];
    }
    let key = &topic["KmsMasterKeyId"];
    let Some(key_id) = arn_of(key).or_else(|| key.as_str().and_then(|k| k.strip_prefix("ref:")))
    else {
        return vec![format!(
            "AlarmsTopic is encrypted with {key}, not a key of the stack"
        )];
    };
    let key = d.properties(key_id);
    if key.is_null() {
        problems.push(format!("{key_id} is not a resource of the stack"));
    }
    if key["EnableKeyRotation"] != true {
        problems.push(format!("{key_id} does not rotate"));
    }
    let policy = statements(&key["KeyPolicy"]);
    let allows = |principal: &Json, actions: &[&str]| {
        policy.iter().any(|s| {
            let granted = strings(&s["Action"]);
            s["Effect"] == "Allow"
                && list(&s["Principal"]["Service"])
                    .into_iter()
                    .chain(list(&s["Principal"]["AWS"]))
                    .any(|p| p == principal)
                && actions.iter().all(|a| granted.iter().any(|g| g == a))
                && s["Condition"].is_null()
        })
    };
    if !allows(
        &json!("cloudwatch.amazonaws.com"),
        &["kms:GenerateDataKey", "kms:Decrypt"],
    ) {
        problems.push(format!(
            "{key_id}: CloudWatch may not use the key (GenerateDataKey, Decrypt)"
        ));
    }
    let root = json!(format!("arn:aws:iam::{TEST_ACCOUNT_ID}:root"));
    if !allows(
        &root,
        &[
            "kms:PutKeyPolicy",
            "kms:DescribeKey",
            "kms:ScheduleKeyDeletion",
        ],
    ) {
        problems.push(format!("{key_id}: the account cannot administer the key"));
    }
    // Without encryption: neither key nor KmsMasterKeyId.
    let overrides = [("AlarmsTopicEncryption", string("none"))];
    if let Some(plain) = deployment_or_problem(template, &overrides, TEST_REGION, &mut problems)
        && (!plain.properties("AlarmsTopic")["KmsMasterKeyId"].is_null()
            || plain.of_type("AWS::KMS::Key").next().is_some())
    {
        problems.push("AlarmsTopicEncryption=none still encrypts the topic".into());
    }
    problems
}

/// Every statement of a function on the state table is limited to the partition keys with the
/// function's prefixes (`dynamodb:LeadingKeys`), and never allows `Scan` (which ignores them);
/// only the functions named in `prefixes` touch the table.
pub fn state_table_leading_keys(template: &Value, prefixes: &[(&str, &[&str])]) -> Vec<String> {
    let mut problems = Vec::new();
    let Some(d) = deployment_or_problem(template, &[], TEST_REGION, &mut problems) else {
        return problems;
    };
    for (id, function) in d.of_type("AWS::Serverless::Function") {
        let expected = prefixes
            .iter()
            .find(|(f, _)| *f == id)
            .map(|(_, p)| p.iter().map(|p| format!("{p}*")).collect::<BTreeSet<_>>());
        let mut on_table = 0;
        for statement in function_statements(&function["Properties"]) {
            if !strings(&statement["Resource"])
                .iter()
                .any(|r| r.contains("StateTable"))
            {
                continue;
            }
            on_table += 1;
            let Some(expected) = &expected else {
                problems.push(format!(
                    "{id} may use the state table, but has no key prefixes"
                ));
                continue;
            };
            let keys: BTreeSet<String> =
                strings(&statement["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"])
                    .into_iter()
                    .collect();
            if &keys != expected {
                problems.push(format!(
                    "{id} {}: LeadingKeys {keys:?}, not {expected:?}",
                    statement["Sid"]
                ));
            }
            if strings(&statement["Action"])
                .iter()
                .any(|a| a == "dynamodb:Scan")
            {
                problems.push(format!("{id}: dynamodb:Scan ignores LeadingKeys"));
            }
        }
        if expected.is_some() && on_table == 0 {
            problems.push(format!("{id} has no statement on the state table"));
        }
    }
    problems
}

/// The failed assertions of the template's `Rules` for these parameter values (CloudFormation
/// refuses such a deployment before it creates anything), as `rule: description`.
pub fn rule_failures(
    template: &Value,
    overrides: &[(&str, ParameterValue)],
) -> Result<Vec<String>, ResolveError> {
    let resolver = deployment_resolver(template, overrides)?;
    let mut failures = Vec::new();
    let rules = template.get("Rules").and_then(Value::as_mapping);
    for (name, rule) in rules.into_iter().flatten() {
        let applies = match rule.get("RuleCondition") {
            Some(condition) => resolver.holds(condition)?,
            None => true,
        };
        let assertions = rule.get("Assertions").and_then(Value::as_sequence);
        for assertion in assertions.into_iter().flatten().filter(|_| applies) {
            if !resolver.holds(&assertion["Assert"])? {
                let description = assertion.get("AssertDescription").and_then(Value::as_str);
                failures.push(format!(
                    "{}: {}",
                    name.as_str().unwrap_or("?"),
                    description.unwrap_or("")
                ));
            }
        }
    }
    Ok(failures)
}

/// Deploy-time rejection: `SearchAuth=sigv4` without `SearchDomainArn` fails a rule, and the
/// search endpoint must be https (the parameter's pattern).
pub fn deploy_time_rules(template: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let endpoint = (
        "SearchEndpoint",
        string("https://search-logs-abc.eu-west-1.es.amazonaws.com"),
    );
    let errors = ("ErrorsBucketName", string("test-errors"));
    let domain = (
        "SearchDomainArn",
        string("arn:aws:es:eu-west-1:123456789012:domain/logs"),
    );
    let sigv4 = ("SearchAuth", string("sigv4"));
    let output = ("OutputBucketName", string("test-output"));
    let capacity = [
        ("CapacityClusterName", string("prod")),
        ("CapacityAutoScalingGroupName", string("prod-ecs")),
    ];
    let with_capacity = |types: Option<&str>| {
        let mut overrides = vec![output.clone()];
        overrides.extend(capacity.iter().cloned());
        overrides.extend(types.map(|t| ("CapacityInstanceTypes", string(t))));
        overrides
    };
    let cases: [(&str, Overrides, bool); 7] = [
        (
            "sigv4 without a domain ARN",
            vec![endpoint.clone(), errors.clone(), sigv4.clone()],
            false,
        ),
        (
            "sigv4 with a domain ARN",
            vec![endpoint.clone(), errors.clone(), sigv4, domain],
            true,
        ),
        (
            "basic without a domain ARN",
            vec![endpoint, errors, ("SearchAuth", string("basic"))],
            true,
        ),
        (
            "no search, sigv4 (the default), a table output",
            vec![("OutputBucketName", string("test-output"))],
            true,
        ),
        (
            "no search, no table output: the logs would go nowhere",
            vec![],
            false,
        ),
        (
            "capacity on a group without its instance types: every start would fail",
            with_capacity(None),
            false,
        ),
        (
            "capacity on a group with its instance types",
            with_capacity(Some("m6g.large=2048/7680")),
            true,
        ),
    ];
    for (case, overrides, accepted) in cases {
        match rule_failures(template, &overrides) {
            Ok(failures) if failures.is_empty() != accepted => problems.push(format!(
                "{case}: {} (rule failures {failures:?})",
                if accepted { "refused" } else { "accepted" }
            )),
            Ok(_) => {}
            Err(error) => problems.push(format!("{case}: the rules do not evaluate: {error}")),
        }
    }
    let pattern = template
        .get("Parameters")
        .and_then(|p| p.get("SearchEndpoint"))
        .and_then(|p| p.get("AllowedPattern"))
        .and_then(Value::as_str);
    if pattern != Some(HTTPS_ENDPOINT_PATTERN) {
        problems.push(format!(
            "SearchEndpoint's AllowedPattern is {pattern:?}, not {HTTPS_ENDPOINT_PATTERN:?}"
        ));
    }
    problems
}

/// The public edge: only the Alertmanager receiver has a Function URL, with reserved concurrency
/// of its own (`ReceiverConcurrency`) and only the grants it needs; slack-fanout neither serves
/// the URL nor reads the token.
pub fn public_edge(template: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let overrides = [("ReceiverConcurrency", string("3"))];
    let Some(d) = deployment_or_problem(template, &overrides, TEST_REGION, &mut problems) else {
        return problems;
    };
    let with_url: Vec<&str> = d
        .of_type("AWS::Serverless::Function")
        .filter(|(_, f)| !f["Properties"]["FunctionUrlConfig"].is_null())
        .map(|(id, _)| id)
        .collect();
    if with_url != [RECEIVER] {
        problems.push(format!(
            "functions with a Function URL: {with_url:?}, not [{RECEIVER}]"
        ));
    }
    let Some(receiver) = d.resources.get(RECEIVER) else {
        problems.push(format!("no {RECEIVER}"));
        return problems;
    };
    let p = &receiver["Properties"];
    if receiver["Metadata"]["BuildProperties"]["Binary"] != "alertmanager-receiver" {
        problems.push(format!("{RECEIVER} does not build alertmanager-receiver"));
    }
    if p["FunctionUrlConfig"]["AuthType"] != "NONE" {
        problems.push(format!(
            "{RECEIVER}: AuthType is not NONE (Alertmanager cannot sign SigV4)"
        ));
    }
    if whole(&p["ReservedConcurrentExecutions"]) != Some(3) {
        problems.push(format!(
            "{RECEIVER}: reserved concurrency is not ReceiverConcurrency"
        ));
    }
    let token = format!(
        "arn:aws:ssm:{TEST_REGION}:{TEST_ACCOUNT_ID}:parameter/fleetwatch/alertmanager/token"
    );
    let mut grants: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for statement in function_statements(p) {
        for action in strings(&statement["Action"]) {
            grants
                .entry(action)
                .or_default()
                .extend(strings(&statement["Resource"]));
        }
    }
    let expected = BTreeMap::from([
        (
            "ssm:GetParameter".to_string(),
            BTreeSet::from([token.clone()]),
        ),
        (
            "sqs:SendMessage".to_string(),
            BTreeSet::from([
                "getatt:AlertsQueue.Arn".to_string(),
                "getatt:AlertsDeadLetterQueue.Arn".to_string(),
            ]),
        ),
    ]);
    if grants != expected {
        problems.push(format!("{RECEIVER} grants {grants:?}, not {expected:?}"));
    }
    let fanout = d.properties("SlackFanoutFunction");
    if !fanout["Environment"]["Variables"]["FLEETWATCH_WEBHOOK_TOKEN_PARAMETER"].is_null() {
        problems.push("SlackFanoutFunction still gets the webhook token parameter".into());
    }
    let reads_token = function_statements(fanout)
        .iter()
        .any(|s| strings(&s["Resource"]).contains(&token));
    if reads_token {
        problems.push("SlackFanoutFunction may still read the webhook token".into());
    }
    let url = &d
        .outputs
        .get("AlertmanagerWebhookUrl")
        .map_or(Json::Null, |o| o["Value"].clone());
    if url != &json!(format!("getatt:{RECEIVER}Url.FunctionUrl")) {
        problems.push(format!(
            "output AlertmanagerWebhookUrl is {url}, not the receiver's URL"
        ));
    }
    problems
}

/// alb-logs may list the log bucket under the logs' prefix only (then a deleted object answers
/// 404 NoSuchKey instead of 403), and nothing else may list it.
pub fn alb_logs_list_bucket(template: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let overrides = [("LogPrefix", string("elb/"))];
    let Some(d) = deployment_or_problem(template, &overrides, TEST_REGION, &mut problems) else {
        return problems;
    };
    let mut listing = Vec::new();
    for (id, function) in d.of_type("AWS::Serverless::Function") {
        for statement in function_statements(&function["Properties"]) {
            if strings(&statement["Action"])
                .iter()
                .any(|a| a == "s3:ListBucket")
            {
                listing.push((id, statement));
            }
        }
    }
    let expected = json!({
        "Resource": "arn:aws:s3:::test-logbucketname",
        "Condition": {"StringLike": {"s3:prefix": "elb/AWSLogs/*"}},
    });
    match listing.as_slice() {
        [("AlbLogsFunction", statement)] => {
            let got =
                json!({"Resource": statement["Resource"], "Condition": statement["Condition"]});
            if got != expected {
                problems.push(format!("AlbLogsFunction lists {got}, not {expected}"));
            }
        }
        other => problems.push(format!(
            "s3:ListBucket granted to {:?}, not to AlbLogsFunction alone",
            other.iter().map(|(id, _)| *id).collect::<Vec<_>>()
        )),
    }
    problems
}

/// Every guardrail of issue 11 that needs nothing but the template, by name.
pub fn guardrails(
    template: &Value,
    state_table_prefixes: &[(&str, &[&str])],
) -> Vec<(&'static str, Vec<String>)> {
    vec![
        ("log groups", log_groups(template)),
        ("dead-letter alarms", dead_letter_alarms(template)),
        (
            "SQS event source concurrency",
            sqs_event_source_concurrency(template),
        ),
        ("EventBridge targets", eventbridge_targets(template)),
        ("log bucket policy", log_bucket_policy(template)),
        ("alarms topic encryption", alarms_topic_encryption(template)),
        (
            "state table leading keys",
            state_table_leading_keys(template, state_table_prefixes),
        ),
        ("deploy-time rules", deploy_time_rules(template)),
        ("public edge", public_edge(template)),
        ("alb-logs ListBucket", alb_logs_list_bucket(template)),
    ]
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

    const MAPPED: &str = r#"
Parameters:
  Auth:
    Type: String
    Default: sigv4
  Arn:
    Type: String
    Default: ""
Mappings:
  Accounts:
    eu-west-1: { Account: "156460612806" }
Conditions:
  Mapped: !Equals [!Ref AWS::Region, eu-west-1]
Rules:
  NeedsArn:
    RuleCondition: !Equals [!Ref Auth, sigv4]
    Assertions:
      - Assert: !Not [!Equals [!Ref Arn, ""]]
        AssertDescription: sigv4 needs Arn
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Principal: !If
        - Mapped
        - !Sub ["arn:${AWS::Partition}:iam::${Id}:root", { Id: !FindInMap [Accounts, !Ref AWS::Region, Account] }]
        - !Ref AWS::NoValue
      Region: !Ref AWS::Region
"#;

    #[test]
    fn the_resolver_looks_up_mappings_in_the_chosen_region() {
        let template: Value = serde_yaml_ng::from_str(MAPPED).unwrap();
        let properties = |region: &str| {
            let resolver = Resolver::new(&template, &[]).unwrap().in_region(region);
            resolver
                .resolve(&template["Resources"]["Fn"]["Properties"])
                .unwrap()
                .unwrap()
        };
        assert_eq!(
            properties(TEST_REGION),
            serde_json::json!({"Principal": "arn:aws:iam::156460612806:root", "Region": "eu-west-1"})
        );
        // Not mapped: the untaken branch is never looked up.
        assert_eq!(
            properties("eu-south-2"),
            serde_json::json!({"Region": "eu-south-2"})
        );
        let missing: Value =
            serde_yaml_ng::from_str("!FindInMap [Accounts, us-east-1, Account]").unwrap();
        assert!(
            Resolver::new(&template, &[])
                .unwrap()
                .resolve(&missing)
                .is_err()
        );
    }

    #[test]
    fn template_rules_are_evaluated_for_the_parameter_values() {
        let template: Value = serde_yaml_ng::from_str(MAPPED).unwrap();
        let string = |v: &str| ParameterValue::String(v.into());
        assert_eq!(
            rule_failures(&template, &[]).unwrap(),
            vec!["NeedsArn: sigv4 needs Arn".to_string()]
        );
        assert!(
            rule_failures(&template, &[("Arn", string("arn"))])
                .unwrap()
                .is_empty()
        );
        assert!(
            rule_failures(&template, &[("Auth", string("basic"))])
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn a_deployment_merges_globals_and_drops_resources_whose_condition_fails() {
        let template: Value = serde_yaml_ng::from_str(
            r#"
Parameters:
  Create: { Type: String, Default: "false" }
Conditions:
  Create: !Equals [!Ref Create, "true"]
Globals:
  Function:
    LoggingConfig: { LogFormat: JSON }
    Environment: { Variables: { A: a } }
Resources:
  Bucket:
    Type: AWS::S3::Bucket
    Condition: Create
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      LoggingConfig: { LogGroup: !Ref Group }
      Environment: { Variables: { B: b } }
  Group:
    Type: AWS::Logs::LogGroup
"#,
        )
        .unwrap();
        let d = Deployment::of(&template, &[], TEST_REGION).unwrap();
        assert!(!d.resources.contains_key("Bucket"));
        assert_eq!(
            d.properties("Fn"),
            &serde_json::json!({
                "LoggingConfig": {"LogFormat": "JSON", "LogGroup": "ref:Group"},
                "Environment": {"Variables": {"A": "a", "B": "b"}},
            })
        );
        let created = ParameterValue::String("true".into());
        let d = Deployment::of(&template, &[("Create", created)], TEST_REGION).unwrap();
        assert!(d.resources.contains_key("Bucket"));
    }

    #[test]
    fn a_template_without_resources_is_an_error() {
        assert!(matches!(
            check("Description: x", &bins(&[])),
            Err(TemplateError::NoResources)
        ));
    }
}
