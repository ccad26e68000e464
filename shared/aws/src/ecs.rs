//! ECS and CloudWatch Logs for ecs-events' enrichment: DescribeServices, DescribeTaskDefinition,
//! GetLogEvents, answered as the plain snapshots `fleetwatch-ecs` plans with.

use std::collections::HashMap;

use aws_sdk_ecs::types::LogDriver;
use fleetwatch_ecs::{
    AwsLogs, ContainerDefinition, DeploymentSnapshot, ServiceSnapshot, TaskDefinitionSnapshot,
};
use fleetwatch_ecs_events::{EcsLookups, LookupError};
use fleetwatch_ports::Fault;

use crate::error::fault;

/// The lookups of ecs-events' enrichment through the ECS and CloudWatch Logs APIs.
#[derive(Clone, Debug)]
pub struct EcsApiLookups {
    ecs: aws_sdk_ecs::Client,
    logs: aws_sdk_cloudwatchlogs::Client,
}

impl EcsApiLookups {
    pub fn new(ecs: aws_sdk_ecs::Client, logs: aws_sdk_cloudwatchlogs::Client) -> Self {
        Self { ecs, logs }
    }

    /// Clients from the shared configuration (region, credentials, endpoint override).
    pub fn from_clients(aws: &crate::AwsClients) -> Self {
        let config = aws.sdk_config();
        Self::new(
            aws_sdk_ecs::Client::new(config),
            aws_sdk_cloudwatchlogs::Client::new(config),
        )
    }
}

impl EcsLookups for EcsApiLookups {
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
            .map_err(|e| LookupError(fault(e)))?;
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
            .map_err(|e| LookupError(fault(e)))?;
        let definition = output.task_definition().ok_or_else(|| {
            LookupError(Fault::permanent(format!(
                "no task definition in the answer for {arn}"
            )))
        })?;
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
            .map_err(|e| LookupError(fault(e)))?;
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
