//! The enrichment lookups: a narrow port ([`EcsLookups`]; the AWS adapter is `fleetwatch-aws`'s
//! `EcsApiLookups`), and [`fetch`], which runs a [`LookupPlan`] within a time budget. A failed or
//! slow lookup is recorded in the answers and never stops the alert.

use fleetwatch_alerts::Alert;
use fleetwatch_ecs::{EcsEvent, assemble, enrich, lookup_plan};
use fleetwatch_ecs::{
    LookupAnswers, LookupPlan, MAX_LOG_LINES, ServiceSnapshot, TaskDefinitionSnapshot, log_target,
    task_definitions_to_describe,
};
use fleetwatch_ports::ErrorChain;
use tokio::time::{Instant, timeout_at};

/// Why one lookup failed; its chain is safe to log and to show in an alert.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct LookupError(pub fleetwatch_ports::Fault);

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
        Ok(Err(error)) => Err(format!("{operation}: {}", ErrorChain(&error))),
        Err(_) => Err(format!(
            "{operation}: no answer within the enrichment time budget"
        )),
    }
}
