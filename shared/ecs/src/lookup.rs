//! What to look up about an alert, and how the answers become an [`Enrichment`]. The answers
//! (DescribeServices, DescribeTaskDefinition, GetLogEvents) come in as plain data: fetching them
//! is the function's job, deciding what they mean is this module's.

use fleetwatch_alerts::{Alert, redact_lines};

use crate::enrich::{Enrichment, MAX_LOG_LINES};
use crate::event::{
    Detail, EcsEvent, arn_name, image_tag, service_arn_parts, task_definition_name,
};

/// What the function should fetch for one alert.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LookupPlan {
    /// Cluster name or ARN, and service name: DescribeServices.
    pub cluster: Option<String>,
    pub service: Option<String>,
    /// The deployment the event is about (deployment events, tasks a deployment started).
    pub deployment_id: Option<String>,
    /// The stopped task: its task definition (for the container's log configuration), its id
    /// and the container whose log stream to read.
    pub task_definition_arn: Option<String>,
    pub task_id: Option<String>,
    pub container: Option<String>,
}

impl LookupPlan {
    /// Whether the service is worth describing.
    pub fn describes_service(&self) -> bool {
        self.cluster.is_some() && self.service.is_some()
    }

    /// Whether the failed container's logs are worth reading.
    pub fn reads_logs(&self) -> bool {
        self.task_definition_arn.is_some() && self.task_id.is_some() && self.container.is_some()
    }
}

/// What to look up for `alert`, made from `event`; `None` when nothing would help (Auto Scaling
/// and container instance events, services without a cluster in their ARN).
pub fn lookup_plan(event: &EcsEvent, alert: &Alert) -> Option<LookupPlan> {
    let plan = match &event.detail {
        Detail::Deployment(detail) => {
            let arn = event.envelope.resources.first()?;
            let (cluster, service) = service_arn_parts(arn);
            LookupPlan {
                cluster: cluster.map(str::to_string),
                service: service.map(str::to_string),
                deployment_id: detail.deployment_id.clone(),
                ..LookupPlan::default()
            }
        }
        Detail::ServiceAction(detail) => {
            let service = event
                .envelope
                .resources
                .first()
                .and_then(|arn| service_arn_parts(arn).1);
            LookupPlan {
                cluster: detail.cluster_arn.clone(),
                service: service.map(str::to_string),
                ..LookupPlan::default()
            }
        }
        Detail::Task(task) => LookupPlan {
            cluster: task.cluster_arn.clone(),
            service: task
                .group
                .as_deref()
                .and_then(|g| g.strip_prefix("service:"))
                .map(str::to_string),
            deployment_id: task
                .started_by
                .clone()
                .filter(|by| by.starts_with("ecs-svc/")),
            task_definition_arn: task.task_definition_arn.clone(),
            task_id: task
                .task_arn
                .as_deref()
                .map(|arn| arn_name(arn).to_string()),
            container: alert.labels.get("container").cloned(),
        },
        _ => return None,
    };
    (plan.describes_service() || plan.reads_logs()).then_some(plan)
}

/// A service as DescribeServices returns it, reduced to what alerts show.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceSnapshot {
    pub desired_count: Option<i64>,
    pub running_count: Option<i64>,
    pub pending_count: Option<i64>,
    pub task_definition_arn: Option<String>,
    pub deployments: Vec<DeploymentSnapshot>,
}

/// One entry of the service's `deployments`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeploymentSnapshot {
    pub id: String,
    /// `PRIMARY` (the newest), `ACTIVE` (being replaced or replacing), `INACTIVE`.
    pub status: Option<String>,
    pub task_definition_arn: Option<String>,
    pub desired_count: Option<i64>,
    pub running_count: Option<i64>,
    pub pending_count: Option<i64>,
    pub failed_tasks: Option<i64>,
}

/// A task definition, reduced to its containers' images and log configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskDefinitionSnapshot {
    pub containers: Vec<ContainerDefinition>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContainerDefinition {
    pub name: String,
    pub image: Option<String>,
    /// `logConfiguration.options` when the log driver is `awslogs`.
    pub awslogs: Option<AwsLogs>,
}

/// The `awslogs` driver's options.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AwsLogs {
    pub group: String,
    pub region: Option<String>,
    pub stream_prefix: Option<String>,
}

/// A log stream to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogTarget {
    pub group: String,
    pub stream: String,
    pub region: Option<String>,
}

/// The deployment an alert is about (the event's deployment id, else the `PRIMARY` one) and
/// the one it replaces (the newest other deployment that is not `INACTIVE`).
pub fn deployments<'a>(
    plan: &LookupPlan,
    service: &'a ServiceSnapshot,
) -> (
    Option<&'a DeploymentSnapshot>,
    Option<&'a DeploymentSnapshot>,
) {
    let current = plan
        .deployment_id
        .as_deref()
        .and_then(|id| service.deployments.iter().find(|d| d.id == id))
        .or_else(|| {
            service
                .deployments
                .iter()
                .find(|d| d.status.as_deref() == Some("PRIMARY"))
        });
    let previous = service
        .deployments
        .iter()
        .find(|d| current.is_none_or(|c| c.id != d.id) && d.status.as_deref() != Some("INACTIVE"));
    (previous, current)
}

/// The task definitions whose images the alert shows: (before, after).
pub fn task_definitions_to_describe(
    plan: &LookupPlan,
    service: Option<&ServiceSnapshot>,
) -> (Option<String>, Option<String>) {
    // A stopped task: its own definition (for its log configuration), nothing to compare.
    if let Some(arn) = &plan.task_definition_arn {
        return (None, Some(arn.clone()));
    }
    let Some(service) = service else {
        return (None, None);
    };
    let (previous, current) = deployments(plan, service);
    let after = current
        .and_then(|d| d.task_definition_arn.clone())
        .or_else(|| service.task_definition_arn.clone());
    (previous.and_then(|d| d.task_definition_arn.clone()), after)
}

/// The failed container's log stream: `<prefix>/<container>/<task id>` in the container's
/// `awslogs` group. Without a stream prefix the stream is named after the Docker container id,
/// which the event does not carry: no target.
pub fn log_target(plan: &LookupPlan, definition: &TaskDefinitionSnapshot) -> Option<LogTarget> {
    let container = plan.container.as_deref()?;
    let task_id = plan.task_id.as_deref()?;
    let logs = definition
        .containers
        .iter()
        .find(|c| c.name == container)?
        .awslogs
        .as_ref()?;
    let prefix = logs.stream_prefix.as_deref().filter(|p| !p.is_empty())?;
    Some(LogTarget {
        group: logs.group.clone(),
        stream: format!("{prefix}/{container}/{task_id}"),
        region: logs.region.clone(),
    })
}

/// The CloudWatch console's link to a log stream. The console wants the group and stream
/// URI-encoded and then the `%` of that encoding written as `$25`.
pub fn log_stream_url(target: &LogTarget, default_region: &str) -> String {
    let region = target.region.as_deref().unwrap_or(default_region);
    format!(
        "https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}#logsV2:log-groups/log-group/{}/log-events/{}",
        console_encode(&target.group),
        console_encode(&target.stream)
    )
}

fn console_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 2);
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(byte as char)
            }
            _ => out.push_str(&format!("$25{byte:02X}")),
        }
    }
    out
}

/// Image tags of a task definition's containers: the tag alone for one container,
/// `name=tag, ...` for several.
pub fn image_tags(definition: &TaskDefinitionSnapshot) -> Option<String> {
    let tagged: Vec<(&str, &str)> = definition
        .containers
        .iter()
        .filter_map(|c| {
            c.image
                .as_deref()
                .map(|image| (c.name.as_str(), image_tag(image)))
        })
        .collect();
    match tagged.as_slice() {
        [] => None,
        [(_, tag)] => Some(tag.to_string()),
        many => Some(
            many.iter()
                .map(|(name, tag)| format!("{name}={tag}"))
                .collect::<Vec<_>>()
                .join(", "),
        ),
    }
}

/// Everything the lookups answered. A lookup that failed is `None` here and its error is in
/// `failures` (`"DescribeServices: AccessDenied ..."`).
#[derive(Debug, Clone, Default)]
pub struct LookupAnswers {
    pub service: Option<ServiceSnapshot>,
    pub definition_before: Option<TaskDefinitionSnapshot>,
    pub definition_after: Option<TaskDefinitionSnapshot>,
    pub log_target: Option<LogTarget>,
    pub log_lines: Vec<String>,
    pub failures: Vec<String>,
}

/// Assembles the enrichment of one alert from the lookups' answers.
pub fn assemble(plan: &LookupPlan, answers: &LookupAnswers, default_region: &str) -> Enrichment {
    let mut enrichment = Enrichment::default();
    // A task alert already names its task definition and image; a deployment's or service's
    // alert gets the change.
    if plan.task_definition_arn.is_none() {
        let (before, after) = task_definitions_to_describe(plan, answers.service.as_ref());
        enrichment.task_definition_before =
            before.as_deref().map(|a| task_definition_name(a).into());
        enrichment.task_definition_after = after.as_deref().map(|a| task_definition_name(a).into());
        enrichment.image_tag_before = answers.definition_before.as_ref().and_then(image_tags);
        enrichment.image_tag_after = answers.definition_after.as_ref().and_then(image_tags);
    }

    if let Some(service) = &answers.service {
        let (_, current) = deployments(plan, service);
        // A deployment's own counts tell its progress; the service's when it is not known.
        let counts = current.filter(|_| plan.deployment_id.is_some());
        enrichment.desired_count = counts
            .and_then(|d| d.desired_count)
            .or(service.desired_count);
        enrichment.running_count = counts
            .and_then(|d| d.running_count)
            .or(service.running_count);
        enrichment.pending_count = counts
            .and_then(|d| d.pending_count)
            .or(service.pending_count);
        enrichment.failed_task_count = current.and_then(|d| d.failed_tasks).filter(|n| *n > 0);
    }
    if let Some(target) = &answers.log_target {
        enrichment.log_stream_url = Some(log_stream_url(target, default_region));
    }
    // Redacted as soon as they are read, so the enrichment holds no secret wherever it goes;
    // each line is cut to fit (see `fleetwatch_alerts::redact_lines`).
    let skip = answers.log_lines.len().saturating_sub(MAX_LOG_LINES);
    let window: Vec<&str> = answers.log_lines[skip..]
        .iter()
        .map(|line| line.trim_end())
        .collect();
    enrichment.last_log_lines = redact_lines(&window);
    if !answers.failures.is_empty() {
        enrichment.unavailable = Some(answers.failures.join("; "));
    }
    enrichment
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{NoisePolicy, classify_event};
    use fleetwatch_alerts::MAX_UNTRUSTED_LINE_CHARS;

    fn event(path: &str) -> EcsEvent {
        let text = std::fs::read_to_string(format!(
            "{}/../../events/ecs/{path}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        EcsEvent::parse(&text).unwrap()
    }

    fn plan_for(path: &str) -> Option<LookupPlan> {
        let event = event(path);
        let classified = classify_event(&event, &NoisePolicy::default());
        lookup_plan(&event, &classified.alerts()[0])
    }

    fn deployment(id: &str, status: &str, td: &str) -> DeploymentSnapshot {
        DeploymentSnapshot {
            id: id.into(),
            status: Some(status.into()),
            task_definition_arn: Some(format!(
                "arn:aws:ecs:eu-west-1:111122223333:task-definition/{td}"
            )),
            desired_count: Some(3),
            running_count: Some(1),
            pending_count: Some(2),
            failed_tasks: Some(0),
        }
    }

    #[test]
    fn plans_follow_the_event_kind() {
        let deployment = plan_for("deployment-in-progress.json").unwrap();
        assert!(deployment.describes_service() && !deployment.reads_logs());
        assert!(
            deployment
                .deployment_id
                .as_deref()
                .unwrap()
                .starts_with("ecs-svc/")
        );

        let oom = plan_for("task-stopped-oom.json").unwrap();
        assert!(oom.describes_service() && oom.reads_logs(), "{oom:?}");
        assert!(oom.container.is_some());

        let placement = plan_for("service-placement-failure.json").unwrap();
        assert!(placement.describes_service() && !placement.reads_logs());

        assert_eq!(plan_for("asg-launch-unsuccessful.json"), None);
    }

    #[test]
    fn before_is_the_replaced_deployment_and_after_the_events_one() {
        let service = ServiceSnapshot {
            deployments: vec![
                deployment("ecs-svc/new", "PRIMARY", "api:20"),
                deployment("ecs-svc/old", "ACTIVE", "api:19"),
                deployment("ecs-svc/older", "INACTIVE", "api:18"),
            ],
            ..ServiceSnapshot::default()
        };
        let plan = LookupPlan {
            deployment_id: Some("ecs-svc/new".into()),
            ..LookupPlan::default()
        };
        let (before, after) = task_definitions_to_describe(&plan, Some(&service));
        assert!(before.unwrap().ends_with("api:19"));
        assert!(after.unwrap().ends_with("api:20"));

        // Completed: only the new deployment is left; nothing to compare with.
        let done = ServiceSnapshot {
            deployments: vec![deployment("ecs-svc/new", "PRIMARY", "api:20")],
            ..ServiceSnapshot::default()
        };
        let (before, after) = task_definitions_to_describe(&plan, Some(&done));
        assert_eq!(before, None);
        assert!(after.unwrap().ends_with("api:20"));
    }

    #[test]
    fn assembles_counts_images_logs_and_failures() {
        let plan = LookupPlan {
            cluster: Some("prod".into()),
            service: Some("api".into()),
            deployment_id: Some("ecs-svc/new".into()),
            ..LookupPlan::default()
        };
        let mut new = deployment("ecs-svc/new", "PRIMARY", "api:20");
        new.failed_tasks = Some(4);
        let answers = LookupAnswers {
            service: Some(ServiceSnapshot {
                desired_count: Some(9),
                deployments: vec![new, deployment("ecs-svc/old", "ACTIVE", "api:19")],
                ..ServiceSnapshot::default()
            }),
            definition_before: Some(TaskDefinitionSnapshot {
                containers: vec![ContainerDefinition {
                    name: "api".into(),
                    image: Some("1.dkr.ecr.eu-west-1.amazonaws.com/api:v1.4.1".into()),
                    awslogs: None,
                }],
            }),
            definition_after: Some(TaskDefinitionSnapshot {
                containers: vec![
                    ContainerDefinition {
                        name: "api".into(),
                        image: Some("1.dkr.ecr.eu-west-1.amazonaws.com/api:v1.4.2".into()),
                        awslogs: None,
                    },
                    ContainerDefinition {
                        name: "envoy".into(),
                        image: Some("envoyproxy/envoy:v1.31".into()),
                        awslogs: None,
                    },
                ],
            }),
            log_target: None,
            log_lines: (0..12).map(|i| format!("line {i}\n")).collect(),
            failures: vec!["GetLogEvents: throttled".into()],
        };
        let e = assemble(&plan, &answers, "eu-west-1");
        assert_eq!(e.task_definition_before.as_deref(), Some("api:19"));
        assert_eq!(e.task_definition_after.as_deref(), Some("api:20"));
        assert_eq!(e.image_tag_before.as_deref(), Some("v1.4.1"));
        assert_eq!(
            e.image_tag_after.as_deref(),
            Some("api=v1.4.2, envoy=v1.31")
        );
        // The deployment's counts, not the service's desired 9.
        assert_eq!(e.desired_count, Some(3));
        assert_eq!(e.failed_task_count, Some(4));
        assert_eq!(e.last_log_lines.len(), MAX_LOG_LINES);
        assert_eq!(e.last_log_lines[0], "line 2");
        assert_eq!(e.unavailable.as_deref(), Some("GetLogEvents: throttled"));
    }

    #[test]
    fn log_stream_needs_a_prefix_and_links_in_console_encoding() {
        let mut definition = TaskDefinitionSnapshot {
            containers: vec![ContainerDefinition {
                name: "api".into(),
                image: None,
                awslogs: Some(AwsLogs {
                    group: "/ecs/api".into(),
                    region: Some("eu-west-1".into()),
                    stream_prefix: Some("ecs".into()),
                }),
            }],
        };
        let plan = LookupPlan {
            task_definition_arn: Some("td".into()),
            task_id: Some("0123abcd".into()),
            container: Some("api".into()),
            ..LookupPlan::default()
        };
        let target = log_target(&plan, &definition).unwrap();
        assert_eq!(target.stream, "ecs/api/0123abcd");
        assert_eq!(
            log_stream_url(&target, "us-east-1"),
            "https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#logsV2:log-groups/log-group/$252Fecs$252Fapi/log-events/ecs$252Fapi$252F0123abcd"
        );
        definition.containers[0]
            .awslogs
            .as_mut()
            .unwrap()
            .stream_prefix = None;
        assert_eq!(log_target(&plan, &definition), None);
        let other = LookupPlan {
            container: Some("sidecar".into()),
            ..plan
        };
        assert_eq!(log_target(&other, &definition), None);
    }

    #[test]
    fn log_lines_are_redacted_then_cut_on_a_char_boundary() {
        let answers = LookupAnswers {
            log_lines: vec![
                format!("{} token=abc", "é".repeat(MAX_UNTRUSTED_LINE_CHARS + 5)),
                "short\n".into(),
                "Authorization: Bearer abc.def".into(),
            ],
            ..LookupAnswers::default()
        };
        let e = assemble(&LookupPlan::default(), &answers, "eu-west-1");
        assert_eq!(
            e.last_log_lines[0].chars().count(),
            MAX_UNTRUSTED_LINE_CHARS
        );
        assert!(e.last_log_lines[0].ends_with('…'));
        assert_eq!(e.last_log_lines[1], "short");
        assert_eq!(e.last_log_lines[2], "Authorization: Bearer <redacted>");
    }
}
