//! Lenient types for the EventBridge events the `ecs-events` function receives.
//!
//! AWS adds fields and event names over time, so every field is optional or defaulted, unknown
//! fields are ignored (never `deny_unknown_fields`), names are kept as strings or open enums, and
//! numbers that are sometimes written as strings are accepted either way.

use crate::EcsError;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

pub const DEPLOYMENT_STATE_CHANGE: &str = "ECS Deployment State Change";
pub const SERVICE_ACTION: &str = "ECS Service Action";
pub const TASK_STATE_CHANGE: &str = "ECS Task State Change";
pub const CONTAINER_INSTANCE_STATE_CHANGE: &str = "ECS Container Instance State Change";
pub const INSTANCE_LAUNCH_UNSUCCESSFUL: &str = "EC2 Instance Launch Unsuccessful";
pub const INSTANCE_TERMINATE_UNSUCCESSFUL: &str = "EC2 Instance Terminate Unsuccessful";

/// The EventBridge envelope, with `detail` kept as JSON until the detail type is known.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Envelope {
    #[serde(deserialize_with = "lenient_string")]
    pub version: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    pub id: Option<String>,
    #[serde(rename = "detail-type", deserialize_with = "lenient_string")]
    pub detail_type: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    pub source: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    pub account: Option<String>,
    /// As given: AWS's documentation samples use placeholders that are not timestamps.
    #[serde(deserialize_with = "lenient_string")]
    pub time: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    pub region: Option<String>,
    #[serde(deserialize_with = "null_as_default")]
    pub resources: Vec<String>,
    pub detail: Value,
}

/// `ECS Deployment State Change`. No cluster, task definition or counts: `resources[0]` is the
/// service ARN.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct DeploymentStateChange {
    #[serde(deserialize_with = "lenient_string")]
    pub event_type: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    pub event_name: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    pub deployment_id: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    pub updated_at: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    pub reason: Option<String>,
}

/// `ECS Service Action`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ServiceAction {
    #[serde(deserialize_with = "lenient_string")]
    pub event_type: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    pub event_name: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    pub cluster_arn: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    pub created_at: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    pub reason: Option<String>,
    #[serde(deserialize_with = "null_as_default")]
    pub capacity_provider_arns: Vec<String>,
    #[serde(deserialize_with = "null_as_default")]
    pub container_instance_arns: Vec<String>,
    #[serde(deserialize_with = "null_as_default")]
    pub task_arns: Vec<String>,
    #[serde(deserialize_with = "lenient_i64")]
    pub desired_count: Option<i64>,
}

/// `ECS Task State Change`: the Task object.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct TaskStateChange {
    #[serde(deserialize_with = "lenient_string")]
    pub task_arn: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    pub cluster_arn: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    pub container_instance_arn: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    pub task_definition_arn: Option<String>,
    /// `service:<name>` for service tasks, `family:<name>` for standalone ones.
    #[serde(deserialize_with = "lenient_string")]
    pub group: Option<String>,
    /// `ecs-svc/...` (the deployment id) for service tasks.
    #[serde(deserialize_with = "lenient_string")]
    pub started_by: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    pub last_status: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    pub desired_status: Option<String>,
    pub stop_code: Option<StopCode>,
    #[serde(deserialize_with = "lenient_string")]
    pub stopped_reason: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    pub health_status: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    pub connectivity: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    pub availability_zone: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    pub stopped_at: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    pub updated_at: Option<String>,
    /// Monotonic per task: a redelivered event has the same version.
    #[serde(deserialize_with = "lenient_i64")]
    pub version: Option<i64>,
    #[serde(deserialize_with = "null_as_default")]
    pub containers: Vec<Container>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Container {
    #[serde(deserialize_with = "lenient_string")]
    pub name: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    pub image: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    pub image_digest: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    pub last_status: Option<String>,
    #[serde(deserialize_with = "lenient_i64")]
    pub exit_code: Option<i64>,
    #[serde(deserialize_with = "lenient_string")]
    pub reason: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    pub health_status: Option<String>,
}

/// Why a task stopped. Open: unknown codes are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopCode {
    TaskFailedToStart,
    EssentialContainerExited,
    UserInitiated,
    ServiceSchedulerInitiated,
    SpotInterruption,
    TerminationNotice,
    Other(String),
}

impl StopCode {
    pub fn as_str(&self) -> &str {
        match self {
            StopCode::TaskFailedToStart => "TaskFailedToStart",
            StopCode::EssentialContainerExited => "EssentialContainerExited",
            StopCode::UserInitiated => "UserInitiated",
            StopCode::ServiceSchedulerInitiated => "ServiceSchedulerInitiated",
            StopCode::SpotInterruption => "SpotInterruption",
            StopCode::TerminationNotice => "TerminationNotice",
            StopCode::Other(code) => code,
        }
    }
}

impl From<&str> for StopCode {
    fn from(code: &str) -> Self {
        match code {
            "TaskFailedToStart" => StopCode::TaskFailedToStart,
            "EssentialContainerExited" => StopCode::EssentialContainerExited,
            "UserInitiated" => StopCode::UserInitiated,
            "ServiceSchedulerInitiated" => StopCode::ServiceSchedulerInitiated,
            "SpotInterruption" => StopCode::SpotInterruption,
            "TerminationNotice" => StopCode::TerminationNotice,
            other => StopCode::Other(other.to_string()),
        }
    }
}

impl<'de> Deserialize<'de> for StopCode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let code = String::deserialize(deserializer)?;
        Ok(StopCode::from(code.as_str()))
    }
}

/// `ECS Container Instance State Change`: the parts of the ContainerInstance object we use.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ContainerInstanceStateChange {
    #[serde(deserialize_with = "lenient_string")]
    pub container_instance_arn: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    pub cluster_arn: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    pub ec2_instance_id: Option<String>,
    pub agent_connected: Option<bool>,
    #[serde(deserialize_with = "lenient_string")]
    pub status: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    pub status_reason: Option<String>,
    #[serde(deserialize_with = "lenient_i64")]
    pub version: Option<i64>,
}

/// Auto Scaling `EC2 Instance Launch Unsuccessful` / `EC2 Instance Terminate Unsuccessful`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct AutoScalingUnsuccessful {
    #[serde(rename = "StatusCode", deserialize_with = "lenient_string")]
    pub status_code: Option<String>,
    #[serde(rename = "StatusMessage", deserialize_with = "lenient_string")]
    pub status_message: Option<String>,
    #[serde(rename = "AutoScalingGroupName", deserialize_with = "lenient_string")]
    pub auto_scaling_group_name: Option<String>,
    #[serde(rename = "EC2InstanceId", deserialize_with = "lenient_string")]
    pub ec2_instance_id: Option<String>,
    #[serde(rename = "Cause", deserialize_with = "lenient_string")]
    pub cause: Option<String>,
    #[serde(rename = "ActivityId", deserialize_with = "lenient_string")]
    pub activity_id: Option<String>,
    /// Keys contain spaces (`"Availability Zone"`, `"Subnet ID"`): kept as JSON.
    #[serde(rename = "Details")]
    pub details: Value,
}

/// Whether the Auto Scaling event is about launching or terminating an instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InstanceAction {
    Launch,
    Terminate,
}

/// A parsed event: the envelope plus its typed detail.
#[derive(Debug, Clone, PartialEq)]
pub struct EcsEvent {
    pub envelope: Envelope,
    pub detail: Detail,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Detail {
    Deployment(DeploymentStateChange),
    ServiceAction(ServiceAction),
    Task(Box<TaskStateChange>),
    ContainerInstance(ContainerInstanceStateChange),
    AutoScalingUnsuccessful(InstanceAction, AutoScalingUnsuccessful),
    /// Any other detail type (kept by name), handled as unsupported.
    Other(String),
}

impl EcsEvent {
    /// Parses an EventBridge event. Fails only on invalid JSON, a JSON value that is not an
    /// event, or a known detail whose fields have impossible types.
    pub fn parse(event_json: &str) -> Result<Self, EcsError> {
        let envelope: Envelope = serde_json::from_str(event_json).map_err(EcsError::InvalidJson)?;
        let Some(detail_type) = envelope.detail_type.clone() else {
            return Err(EcsError::NotAnEvent);
        };
        let detail = parse_detail(&detail_type, &envelope.detail).map_err(|source| {
            EcsError::InvalidDetail {
                detail_type: detail_type.clone(),
                source,
            }
        })?;
        Ok(EcsEvent { envelope, detail })
    }

    pub fn detail_type(&self) -> &str {
        self.envelope.detail_type.as_deref().unwrap_or_default()
    }
}

fn parse_detail(detail_type: &str, detail: &Value) -> Result<Detail, serde_json::Error> {
    // `null` or a missing detail reads as an empty one: every field is optional.
    let detail = if detail.is_null() {
        &Value::Object(Default::default())
    } else {
        detail
    };
    Ok(match detail_type {
        DEPLOYMENT_STATE_CHANGE => Detail::Deployment(DeploymentStateChange::deserialize(detail)?),
        SERVICE_ACTION => Detail::ServiceAction(ServiceAction::deserialize(detail)?),
        TASK_STATE_CHANGE => Detail::Task(Box::new(TaskStateChange::deserialize(detail)?)),
        CONTAINER_INSTANCE_STATE_CHANGE => {
            Detail::ContainerInstance(ContainerInstanceStateChange::deserialize(detail)?)
        }
        INSTANCE_LAUNCH_UNSUCCESSFUL => Detail::AutoScalingUnsuccessful(
            InstanceAction::Launch,
            AutoScalingUnsuccessful::deserialize(detail)?,
        ),
        INSTANCE_TERMINATE_UNSUCCESSFUL => Detail::AutoScalingUnsuccessful(
            InstanceAction::Terminate,
            AutoScalingUnsuccessful::deserialize(detail)?,
        ),
        other => Detail::Other(other.to_string()),
    })
}

/// The last path segment of an ARN's resource part: `arn:...:cluster/prod` -> `prod`.
pub fn arn_name(arn: &str) -> &str {
    arn.rsplit(['/', ':']).next().unwrap_or(arn)
}

/// Cluster and service names from a service ARN: the long form `service/<cluster>/<service>`
/// gives both, the old short form `service/<service>` only the service.
pub fn service_arn_parts(arn: &str) -> (Option<&str>, Option<&str>) {
    let resource = arn.splitn(6, ':').nth(5).unwrap_or(arn);
    let mut parts = resource.split('/');
    if parts.next() != Some("service") {
        return (None, None);
    }
    match (parts.next(), parts.next()) {
        (Some(cluster), Some(service)) => (non_empty(cluster), non_empty(service)),
        (Some(service), None) => (None, non_empty(service)),
        _ => (None, None),
    }
}

/// `family:revision` from a task definition ARN.
pub fn task_definition_name(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

/// The tag (or digest) of an image reference: `repo/app:1.2` -> `1.2`, `app@sha256:..` ->
/// `sha256:..`, `app` -> `latest`.
pub fn image_tag(image: &str) -> &str {
    if let Some((_, digest)) = image.split_once('@') {
        return digest;
    }
    let last_segment = image.rsplit('/').next().unwrap_or(image);
    last_segment
        .split_once(':')
        .map_or("latest", |(_, tag)| tag)
}

fn non_empty(s: &str) -> Option<&str> {
    (!s.is_empty()).then_some(s)
}

/// A string, number or bool as a string; `null` or anything else as `None`.
fn lenient_string<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    Ok(match Value::deserialize(deserializer)? {
        Value::String(s) => Some(s),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    })
}

/// An integer, or a string holding one; anything else as `None`.
fn lenient_i64<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
    Ok(match Value::deserialize(deserializer)? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    })
}

fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_arn_long_and_short_forms() {
        assert_eq!(
            service_arn_parts("arn:aws:ecs:us-west-2:111122223333:service/default/api"),
            (Some("default"), Some("api"))
        );
        assert_eq!(
            service_arn_parts("arn:aws:ecs:us-west-2:111122223333:service/api"),
            (None, Some("api"))
        );
        assert_eq!(
            service_arn_parts("arn:aws:ecs:us-west-2:1:cluster/x"),
            (None, None)
        );
    }

    #[test]
    fn names_from_arns_and_images() {
        assert_eq!(arn_name("arn:aws:ecs:eu-west-1:1:cluster/prod"), "prod");
        assert_eq!(
            task_definition_name("arn:aws:ecs:eu-west-1:1:task-definition/api:20"),
            "api:20"
        );
        assert_eq!(
            image_tag("1.dkr.ecr.eu-west-1.amazonaws.com/api:v1.2.3"),
            "v1.2.3"
        );
        assert_eq!(image_tag("localhost:5000/api"), "latest");
        assert_eq!(image_tag("api@sha256:abc"), "sha256:abc");
    }

    #[test]
    fn types_are_lenient() {
        let event = EcsEvent::parse(
            r#"{"detail-type": "ECS Task State Change", "version": 0, "resources": null,
                "detail": {"version": "7", "stopCode": "SomethingNew", "containers": [
                  {"name": "app", "exitCode": "1", "futureField": {"x": 1}}], "cpu": 512}}"#,
        )
        .unwrap();
        assert_eq!(event.envelope.version.as_deref(), Some("0"));
        let Detail::Task(task) = event.detail else {
            panic!("not a task")
        };
        assert_eq!(task.version, Some(7));
        assert_eq!(task.stop_code, Some(StopCode::Other("SomethingNew".into())));
        assert_eq!(task.containers[0].exit_code, Some(1));
    }

    #[test]
    fn missing_detail_is_empty_and_unknown_types_are_kept() {
        let event = EcsEvent::parse(r#"{"detail-type": "ECS Service Action"}"#).unwrap();
        assert_eq!(
            event.detail,
            Detail::ServiceAction(ServiceAction::default())
        );
        let event = EcsEvent::parse(r#"{"detail-type": "Something Else", "detail": 1}"#).unwrap();
        assert_eq!(event.detail, Detail::Other("Something Else".into()));
        assert!(matches!(
            EcsEvent::parse("{"),
            Err(EcsError::InvalidJson(_))
        ));
        assert!(matches!(EcsEvent::parse("{}"), Err(EcsError::NotAnEvent)));
    }
}
