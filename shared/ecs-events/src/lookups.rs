//! The enrichment lookups: a narrow port ([`EcsLookups`]) with the AWS adapter (aws-sdk-ecs
//! DescribeServices / DescribeTaskDefinition, CloudWatch Logs GetLogEvents), and [`fetch`],
//! which runs a [`LookupPlan`] within a time budget. A failed or slow lookup is recorded in the
//! answers and never stops the alert.

use std::collections::HashMap;

use aws_sdk_ecs::types::LogDriver;
use fleetwatch_alerts::Alert;
use fleetwatch_aws::sdk_error::aws_error_text;
use fleetwatch_ecs::enrich::MAX_LOG_LINES;
use fleetwatch_ecs::lookup::{
    AwsLogs, ContainerDefinition, DeploymentSnapshot, LookupAnswers, LookupPlan, ServiceSnapshot,
    TaskDefinitionSnapshot, log_target, task_definitions_to_describe,
};
use fleetwatch_ecs::{EcsEvent, assemble, enrich, lookup_plan};
use tokio::time::{Instant, timeout_at};

/// Why one lookup failed: one line, safe to log and to show in an alert.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct LookupError(pub String);

/// The reads enrichment needs, and nothing more.
pub trait EcsLookups: Send + Sync {
    /// The service, or `None` when ECS does not know it (deleted, or not in that cluster).
    fn describe_service(
        &self,
        cluster: &str,
        service: &str,
    ) -> impl Future<Output = Result<Option<ServiceSnapshot>, LookupError>> + Send;

    fn describe_task_definition(
        &self,
        arn: &str,
    ) -> impl Future<Output = Result<TaskDefinitionSnapshot, LookupError>> + Send;

    /// The last `limit` events of a log stream, oldest first.
    fn last_log_lines(
        &self,
        group: &str,
        stream: &str,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<String>, LookupError>> + Send;
}

/// Runs what `plan` asks for, each call bounded by `deadline`: DescribeServices first (it names
/// the task definitions), then both task definitions, then the failed container's log stream.
pub async fn fetch<L: EcsLookups>(
    lookups: &L,
    plan: &LookupPlan,
    deadline: Instant,
) -> LookupAnswers {
    let mut answers = LookupAnswers::default();
    if let (Some(cluster), Some(service)) = (&plan.cluster, &plan.service) {
        match bounded(
            "DescribeServices",
            deadline,
            lookups.describe_service(cluster, service),
        )
        .await
        {
            Ok(Some(snapshot)) => answers.service = Some(snapshot),
            Ok(None) => answers.failures.push(format!(
                "DescribeServices: service {service} not found in {cluster}"
            )),
            Err(failure) => answers.failures.push(failure),
        }
    }

    let (before, after) = task_definitions_to_describe(plan, answers.service.as_ref());
    let describe = |arn: Option<String>| async move {
        match arn {
            None => Ok(None),
            Some(arn) => bounded(
                "DescribeTaskDefinition",
                deadline,
                lookups.describe_task_definition(&arn),
            )
            .await
            .map(Some),
        }
    };
    let (before, after) = tokio::join!(describe(before), describe(after));
    for (slot, result) in [
        (&mut answers.definition_before, before),
        (&mut answers.definition_after, after),
    ] {
        match result {
            Ok(definition) => *slot = definition,
            Err(failure) => answers.failures.push(failure),
        }
    }

    // For a stopped task, "after" is its own definition, which holds its log configuration.
    let task_definition = answers
        .definition_after
        .as_ref()
        .filter(|_| plan.reads_logs());
    if plan.reads_logs()
        && let Some(target) = task_definition.and_then(|d| log_target(plan, d))
    {
        match bounded(
            "GetLogEvents",
            deadline,
            lookups.last_log_lines(&target.group, &target.stream, MAX_LOG_LINES),
        )
        .await
        {
            Ok(lines) => answers.log_lines = lines,
            Err(failure) => answers.failures.push(failure),
        }
        answers.log_target = Some(target);
    }
    answers
}

/// Looks up what `alert` (made from `event`) needs and adds it. Returns whether any lookup
/// failed; the alert then says so. The handler and `fleetwatch alerts render --enrich` share it.
pub async fn enrich_alert<L: EcsLookups>(
    lookups: &L,
    event: &EcsEvent,
    alert: &mut Alert,
    deadline: Instant,
    default_region: &str,
) -> bool {
    let Some(plan) = lookup_plan(event, alert) else {
        return false;
    };
    let answers = fetch(lookups, &plan, deadline).await;
    let region = event
        .envelope
        .region
        .as_deref()
        .filter(|r| !r.is_empty())
        .unwrap_or(default_region);
    let enrichment = assemble(&plan, &answers, region);
    if let Some(reason) = &enrichment.unavailable {
        tracing::warn!(%reason, alert = %alert.id, "enrichment incomplete; alerting without it");
    }
    enrich(alert, &enrichment);
    enrichment.unavailable.is_some()
}

async fn bounded<T>(
    operation: &str,
    deadline: Instant,
    call: impl Future<Output = Result<T, LookupError>>,
) -> Result<T, String> {
    match timeout_at(deadline, call).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(error)) => Err(format!("{operation}: {error}")),
        Err(_) => Err(format!(
            "{operation}: no answer within the enrichment time budget"
        )),
    }
}

/// The AWS adapter.
#[derive(Clone, Debug)]
pub struct AwsLookups {
    ecs: aws_sdk_ecs::Client,
    logs: aws_sdk_cloudwatchlogs::Client,
}

impl AwsLookups {
    pub fn new(ecs: aws_sdk_ecs::Client, logs: aws_sdk_cloudwatchlogs::Client) -> Self {
        Self { ecs, logs }
    }

    /// Clients from the shared configuration (region, credentials, endpoint override).
    pub fn from_clients(aws: &fleetwatch_aws::AwsClients) -> Self {
        let config = aws.sdk_config();
        Self::new(
            aws_sdk_ecs::Client::new(config),
            aws_sdk_cloudwatchlogs::Client::new(config),
        )
    }
}

impl EcsLookups for AwsLookups {
    async fn describe_service(
        &self,
        cluster: &str,
        service: &str,
    ) -> Result<Option<ServiceSnapshot>, LookupError> {
        let output = self
            .ecs
            .describe_services()
            .cluster(cluster)
            .services(service)
            .send()
            .await
            .map_err(|e| LookupError(aws_error_text(&e)))?;
        Ok(output.services().first().map(service_snapshot))
    }

    async fn describe_task_definition(
        &self,
        arn: &str,
    ) -> Result<TaskDefinitionSnapshot, LookupError> {
        let output = self
            .ecs
            .describe_task_definition()
            .task_definition(arn)
            .send()
            .await
            .map_err(|e| LookupError(aws_error_text(&e)))?;
        let definition = output
            .task_definition()
            .ok_or_else(|| LookupError(format!("no task definition in the answer for {arn}")))?;
        Ok(TaskDefinitionSnapshot {
            containers: definition
                .container_definitions()
                .iter()
                .map(container_definition)
                .collect(),
        })
    }

    async fn last_log_lines(
        &self,
        group: &str,
        stream: &str,
        limit: usize,
    ) -> Result<Vec<String>, LookupError> {
        let output = self
            .logs
            .get_log_events()
            .log_group_name(group)
            .log_stream_name(stream)
            .start_from_head(false)
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .send()
            .await
            .map_err(|e| LookupError(aws_error_text(&e)))?;
        Ok(output
            .events()
            .iter()
            .filter_map(|event| event.message().map(str::to_string))
            .collect())
    }
}

fn service_snapshot(service: &aws_sdk_ecs::types::Service) -> ServiceSnapshot {
    ServiceSnapshot {
        desired_count: Some(i64::from(service.desired_count())),
        running_count: Some(i64::from(service.running_count())),
        pending_count: Some(i64::from(service.pending_count())),
        task_definition_arn: service.task_definition().map(str::to_string),
        deployments: service
            .deployments()
            .iter()
            .map(|d| DeploymentSnapshot {
                id: d.id().unwrap_or_default().to_string(),
                status: d.status().map(str::to_string),
                task_definition_arn: d.task_definition().map(str::to_string),
                desired_count: Some(i64::from(d.desired_count())),
                running_count: Some(i64::from(d.running_count())),
                pending_count: Some(i64::from(d.pending_count())),
                failed_tasks: Some(i64::from(d.failed_tasks())),
            })
            .collect(),
    }
}

fn container_definition(
    container: &aws_sdk_ecs::types::ContainerDefinition,
) -> ContainerDefinition {
    let awslogs = container
        .log_configuration()
        .filter(|config| *config.log_driver() == LogDriver::Awslogs)
        .and_then(|config| config.options())
        .and_then(awslogs_options);
    ContainerDefinition {
        name: container.name().unwrap_or_default().to_string(),
        image: container.image().map(str::to_string),
        awslogs,
    }
}

fn awslogs_options(options: &HashMap<String, String>) -> Option<AwsLogs> {
    Some(AwsLogs {
        group: options.get("awslogs-group")?.clone(),
        region: options.get("awslogs-region").cloned(),
        stream_prefix: options.get("awslogs-stream-prefix").cloned(),
    })
}
