//! ECS and Auto Scaling for the capacity function: a snapshot of one cluster and the group that
//! serves it, and the planner's actions carried out.
//!
//! Reads: DescribeAutoScalingGroups and DescribeLifecycleHooks (the group, its instances and
//! hooks); ListContainerInstances + DescribeContainerInstances (100 per call); ListTasks
//! (desired RUNNING and desired STOPPED, so tasks still stopping count) + DescribeTasks (100 per
//! call); ListServices + DescribeServices (10 per call); DescribeTaskDefinition for the
//! resources of tasks a service still misses; DescribeClusters + DescribeCapacityProviders (the
//! cluster's providers, to stand down next to managed scaling).
//!
//! Pending tasks: with ECS on EC2 and no capacity provider, a service task that fits nowhere is
//! never created, so it appears in no task list. A service's missing tasks are its desired
//! count minus running and pending (during a deployment, what each deployment still misses,
//! within `maximumPercent`), sized by its task definition and placed by its constraints
//! (`distinctInstance`) and strategy (spread over `attribute:ecs.availability-zone`). Tasks that
//! exist without an instance (PROVISIONING, or PENDING unplaced) are pending too.
//!
//! Only container instances of the group's EC2 instances are the group's; the cluster's pending
//! work is taken to be the group's (one group per cluster).

use std::collections::{BTreeMap, HashMap};

use aws_sdk_autoscaling::error::ProvideErrorMetadata;
use aws_sdk_autoscaling::types::AutoScalingGroup;
use aws_sdk_ecs::config::http::HttpResponse;
use aws_sdk_ecs::types::{
    ContainerInstanceStatus, DesiredStatus, PlacementConstraintType, PlacementStrategyType,
    SchedulingStrategy,
};
use fleetwatch_capacity::{CapacityConfig, ClusterApi, ClusterError, ClusterView, Done};
use fleetwatch_ports::Fault;
use fleetwatch_scaling::{
    Action, Asg, CapacityProvider, ContainerInstance, InFlight, InstanceStatus, InstanceType,
    PendingTask, Placement, Resources, Service, Snapshot, Task, TaskStatus,
};

use crate::error::fault;

/// API limits per call.
const DESCRIBE_TASKS_MAX: usize = 100;
const DESCRIBE_INSTANCES_MAX: usize = 100;
const DESCRIBE_SERVICES_MAX: usize = 10;
const SET_PROTECTION_MAX: usize = 50;

const AZ_ATTRIBUTE: &str = "ecs.availability-zone";
const TYPE_ATTRIBUTE: &str = "ecs.instance-type";
const AZ_SPREAD_FIELD: &str = "attribute:ecs.availability-zone";

/// The capacity function's cluster port over aws-sdk-ecs and aws-sdk-autoscaling.
#[derive(Clone, Debug)]
pub struct EcsAutoScalingCluster {
    ecs: aws_sdk_ecs::Client,
    autoscaling: aws_sdk_autoscaling::Client,
    cluster: String,
    asg: String,
    /// What the group launches, in launch order (configured; refined by registered instances).
    instance_types: Vec<InstanceType>,
}

impl EcsAutoScalingCluster {
    pub fn new(
        ecs: aws_sdk_ecs::Client,
        autoscaling: aws_sdk_autoscaling::Client,
        cluster: impl Into<String>,
        asg: impl Into<String>,
        instance_types: Vec<InstanceType>,
    ) -> Self {
        Self {
            ecs,
            autoscaling,
            cluster: cluster.into(),
            asg: asg.into(),
            instance_types,
        }
    }

    /// Clients from the shared configuration, for the configured cluster and group.
    pub fn from_clients(aws: &crate::AwsClients, config: &CapacityConfig) -> Self {
        let sdk = aws.sdk_config();
        Self::new(
            aws_sdk_ecs::Client::new(sdk),
            aws_sdk_autoscaling::Client::new(sdk),
            &config.cluster,
            &config.asg,
            config.instance_types.clone(),
        )
    }

    /// A failed call as a [`ClusterError`]. Any HTTP 5xx is the service's own failure and worth
    /// retrying, also when its body carries no error code (`fault` decides by code).
    fn error<E>(
        operation: String,
        err: aws_sdk_ecs::error::SdkError<E, HttpResponse>,
    ) -> ClusterError
    where
        E: std::error::Error + ProvideErrorMetadata + Send + Sync + 'static,
    {
        let server_side = err
            .raw_response()
            .is_some_and(|r| r.status().is_server_error());
        let fault = match fault(err) {
            Fault::Permanent(cause) if server_side => Fault::Transient(cause),
            other => other,
        };
        ClusterError::new(operation, fault)
    }

    // ---- reads ---------------------------------------------------------------------------------

    async fn group(&self) -> Result<AutoScalingGroup, ClusterError> {
        let operation = || format!("DescribeAutoScalingGroups {}", self.asg);
        let output = self
            .autoscaling
            .describe_auto_scaling_groups()
            .auto_scaling_group_names(&self.asg)
            .send()
            .await
            .map_err(|e| Self::error(operation(), e))?;
        output
            .auto_scaling_groups()
            .iter()
            .find(|g| g.auto_scaling_group_name() == Some(self.asg.as_str()))
            .cloned()
            .ok_or_else(|| {
                ClusterError::new(
                    operation(),
                    Fault::permanent(format!("no Auto Scaling group named {}", self.asg)),
                )
            })
    }

    async fn lifecycle_hooks(&self) -> Result<Vec<String>, ClusterError> {
        let output = self
            .autoscaling
            .describe_lifecycle_hooks()
            .auto_scaling_group_name(&self.asg)
            .send()
            .await
            .map_err(|e| Self::error(format!("DescribeLifecycleHooks {}", self.asg), e))?;
        Ok(output
            .lifecycle_hooks()
            .iter()
            .filter_map(|h| h.lifecycle_hook_name().map(str::to_string))
            .collect())
    }

    async fn container_instance_arns(
        &self,
        filter: Option<String>,
    ) -> Result<Vec<String>, ClusterError> {
        let mut arns = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let output = self
                .ecs
                .list_container_instances()
                .cluster(&self.cluster)
                .set_filter(filter.clone())
                .max_results(100)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| Self::error(format!("ListContainerInstances {}", self.cluster), e))?;
            arns.extend(output.container_instance_arns().iter().cloned());
            match output.next_token() {
                Some(next) if !next.is_empty() => token = Some(next.to_string()),
                _ => return Ok(arns),
            }
        }
    }

    async fn container_instances(
        &self,
        arns: &[String],
    ) -> Result<Vec<aws_sdk_ecs::types::ContainerInstance>, ClusterError> {
        let mut instances = Vec::new();
        for chunk in arns.chunks(DESCRIBE_INSTANCES_MAX) {
            let output = self
                .ecs
                .describe_container_instances()
                .cluster(&self.cluster)
                .set_container_instances(Some(chunk.to_vec()))
                .send()
                .await
                .map_err(|e| {
                    Self::error(format!("DescribeContainerInstances {}", self.cluster), e)
                })?;
            instances.extend(output.container_instances().iter().cloned());
        }
        Ok(instances)
    }

    async fn task_arns(&self, desired: DesiredStatus) -> Result<Vec<String>, ClusterError> {
        let mut arns = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let output = self
                .ecs
                .list_tasks()
                .cluster(&self.cluster)
                .desired_status(desired.clone())
                .max_results(100)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| {
                    Self::error(
                        format!("ListTasks {} desired {}", self.cluster, desired.as_str()),
                        e,
                    )
                })?;
            arns.extend(output.task_arns().iter().cloned());
            match output.next_token() {
                Some(next) if !next.is_empty() => token = Some(next.to_string()),
                _ => return Ok(arns),
            }
        }
    }

    async fn tasks(&self) -> Result<Vec<aws_sdk_ecs::types::Task>, ClusterError> {
        // A task that moved from one list to the other between the two calls is described once.
        let mut arns = self.task_arns(DesiredStatus::Running).await?;
        for arn in self.task_arns(DesiredStatus::Stopped).await? {
            if !arns.contains(&arn) {
                arns.push(arn);
            }
        }
        let mut tasks = Vec::new();
        for chunk in arns.chunks(DESCRIBE_TASKS_MAX) {
            let output = self
                .ecs
                .describe_tasks()
                .cluster(&self.cluster)
                .set_tasks(Some(chunk.to_vec()))
                .send()
                .await
                .map_err(|e| Self::error(format!("DescribeTasks {}", self.cluster), e))?;
            tasks.extend(output.tasks().iter().cloned());
        }
        Ok(tasks)
    }

    async fn services(&self) -> Result<Vec<aws_sdk_ecs::types::Service>, ClusterError> {
        let mut arns = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let output = self
                .ecs
                .list_services()
                .cluster(&self.cluster)
                .max_results(100)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| Self::error(format!("ListServices {}", self.cluster), e))?;
            arns.extend(output.service_arns().iter().cloned());
            match output.next_token() {
                Some(next) if !next.is_empty() => token = Some(next.to_string()),
                _ => break,
            }
        }
        let mut services = Vec::new();
        for chunk in arns.chunks(DESCRIBE_SERVICES_MAX) {
            let output = self
                .ecs
                .describe_services()
                .cluster(&self.cluster)
                .set_services(Some(chunk.to_vec()))
                .send()
                .await
                .map_err(|e| Self::error(format!("DescribeServices {}", self.cluster), e))?;
            services.extend(
                output
                    .services()
                    .iter()
                    .filter(|s| s.status() == Some("ACTIVE"))
                    .cloned(),
            );
        }
        Ok(services)
    }

    /// CPU units and MiB one task of the definition reserves.
    async fn task_definition_resources(&self, arn: &str) -> Result<Resources, ClusterError> {
        let output = self
            .ecs
            .describe_task_definition()
            .task_definition(arn)
            .send()
            .await
            .map_err(|e| Self::error(format!("DescribeTaskDefinition {arn}"), e))?;
        let definition = output.task_definition().ok_or_else(|| {
            ClusterError::new(
                format!("DescribeTaskDefinition {arn}"),
                Fault::permanent("the answer holds no task definition"),
            )
        })?;
        let task_level = Resources::new(
            parse_units(definition.cpu()).unwrap_or(0),
            parse_units(definition.memory()).unwrap_or(0),
        );
        let containers =
            definition
                .container_definitions()
                .iter()
                .fold(Resources::default(), |sum, c| {
                    let memory = c.memory().or(c.memory_reservation()).unwrap_or(0);
                    sum.plus(Resources::new(
                        u32::try_from(c.cpu()).unwrap_or(0),
                        u32::try_from(memory).unwrap_or(0),
                    ))
                });
        Ok(Resources::new(
            if task_level.cpu > 0 {
                task_level.cpu
            } else {
                containers.cpu
            },
            if task_level.memory > 0 {
                task_level.memory
            } else {
                containers.memory
            },
        ))
    }

    async fn capacity_providers(&self) -> Result<Vec<CapacityProvider>, ClusterError> {
        let clusters = self
            .ecs
            .describe_clusters()
            .clusters(&self.cluster)
            .send()
            .await
            .map_err(|e| Self::error(format!("DescribeClusters {}", self.cluster), e))?;
        let names: Vec<String> = clusters
            .clusters()
            .iter()
            .flat_map(|c| c.capacity_providers().iter().cloned())
            .collect();
        if names.is_empty() {
            return Ok(Vec::new());
        }
        let output = self
            .ecs
            .describe_capacity_providers()
            .set_capacity_providers(Some(names))
            .send()
            .await
            .map_err(|e| Self::error(format!("DescribeCapacityProviders {}", self.cluster), e))?;
        Ok(output
            .capacity_providers()
            .iter()
            .filter_map(|p| {
                let group = p.auto_scaling_group_provider()?;
                Some(CapacityProvider {
                    name: p.name().unwrap_or_default().to_string(),
                    asg: group.auto_scaling_group_arn().to_string(),
                    managed_scaling: group
                        .managed_scaling()
                        .and_then(|m| m.status())
                        .is_some_and(|s| s.as_str() == "ENABLED"),
                    managed_draining: group
                        .managed_draining()
                        .is_some_and(|d| d.as_str() == "ENABLED"),
                })
            })
            .collect())
    }

    // ---- writes --------------------------------------------------------------------------------

    async fn drain(&self, instance_id: &str, arn: Option<&str>) -> Result<Done, ClusterError> {
        let arn = match arn {
            Some(arn) => arn.to_string(),
            None => match self.container_instance_of(instance_id).await? {
                Some(arn) => arn,
                // Not registered (never was, or already gone): nothing runs on it.
                None => return Ok(Done::AlreadyDone),
            },
        };
        let operation = || format!("UpdateContainerInstancesState DRAINING {instance_id}");
        let output = self
            .ecs
            .update_container_instances_state()
            .cluster(&self.cluster)
            .container_instances(&arn)
            .status(ContainerInstanceStatus::Draining)
            .send()
            .await
            .map_err(|e| Self::error(operation(), e))?;
        match output.failures().first() {
            None => Ok(Done::Applied),
            Some(failure) if failure.reason() == Some("MISSING") => Ok(Done::AlreadyDone),
            Some(failure) => Err(ClusterError::new(
                operation(),
                Fault::permanent(format!(
                    "{}: {}",
                    failure.arn().unwrap_or(&arn),
                    failure.reason().unwrap_or("failed")
                )),
            )),
        }
    }

    /// The container instance ARN of an EC2 instance. The filter narrows the list where ECS
    /// applies it; the answer is checked either way.
    async fn container_instance_of(
        &self,
        instance_id: &str,
    ) -> Result<Option<String>, ClusterError> {
        let arns = self
            .container_instance_arns(Some(format!("ec2InstanceId == {instance_id}")))
            .await?;
        Ok(self
            .container_instances(&arns)
            .await?
            .iter()
            .find(|i| i.ec2_instance_id() == Some(instance_id))
            .and_then(|i| i.container_instance_arn().map(str::to_string)))
    }

    async fn protect(&self, ids: &[String], protect: bool) -> Result<Done, ClusterError> {
        for chunk in ids.chunks(SET_PROTECTION_MAX) {
            self.autoscaling
                .set_instance_protection()
                .auto_scaling_group_name(&self.asg)
                .set_instance_ids(Some(chunk.to_vec()))
                .protected_from_scale_in(protect)
                .send()
                .await
                .map_err(|e| {
                    Self::error(
                        format!(
                            "SetInstanceProtection {} {} in {}",
                            if protect { "protect" } else { "unprotect" },
                            chunk.join(", "),
                            self.asg
                        ),
                        e,
                    )
                })?;
        }
        Ok(Done::Applied)
    }
}

/// Auto Scaling's answer when the lifecycle action is over: completed before (by us, by hand)
/// or timed out. Completing or heartbeating it again changes nothing, so it counts as done.
fn no_active_lifecycle_action<E: ProvideErrorMetadata, R>(
    err: &aws_sdk_autoscaling::error::SdkError<E, R>,
) -> bool {
    err.as_service_error().is_some_and(|e| {
        e.code() == Some("ValidationError")
            && e.message()
                .is_some_and(|m| m.contains("No active Lifecycle Action found"))
    })
}

impl ClusterApi for EcsAutoScalingCluster {
    async fn snapshot(&self, now: u64) -> Result<ClusterView, ClusterError> {
        let group = self.group().await?;
        let hooks = self.lifecycle_hooks().await?;
        let arns = self.container_instance_arns(None).await?;
        let registered = self.container_instances(&arns).await?;
        let tasks = self.tasks().await?;
        let services = self.services().await?;
        let capacity_providers = self.capacity_providers().await?;

        let mut definitions: HashMap<String, Resources> = HashMap::new();
        for service in &services {
            if missing_tasks(service) > 0
                && let Some(arn) = service.task_definition()
                && !definitions.contains_key(arn)
            {
                let resources = self.task_definition_resources(arn).await?;
                definitions.insert(arn.to_string(), resources);
            }
        }
        let snapshot = assemble(Parts {
            cluster: &self.cluster,
            group: &group,
            hooks,
            registered: &registered,
            tasks: &tasks,
            services: &services,
            definitions: &definitions,
            configured_types: &self.instance_types,
            capacity_providers,
            now,
        });
        let terminating = group
            .instances()
            .iter()
            .filter(|i| i.lifecycle_state().map(|s| s.as_str()) == Some("Terminating:Wait"))
            .filter_map(|i| i.instance_id().map(str::to_string))
            .collect();
        Ok(ClusterView {
            snapshot,
            terminating,
        })
    }

    async fn execute(&self, action: &Action) -> Result<Done, ClusterError> {
        match action {
            Action::SetDesiredCapacity { asg, desired } => {
                self.autoscaling
                    .set_desired_capacity()
                    .auto_scaling_group_name(asg)
                    .desired_capacity(i32::try_from(*desired).unwrap_or(i32::MAX))
                    .honor_cooldown(false)
                    .send()
                    .await
                    .map_err(|e| {
                        Self::error(format!("SetDesiredCapacity {asg} to {desired}"), e)
                    })?;
                Ok(Done::Applied)
            }
            Action::Protect { instance_ids, .. } => self.protect(instance_ids, true).await,
            Action::Unprotect { instance_ids, .. } => self.protect(instance_ids, false).await,
            Action::DrainInstance {
                instance_id,
                container_instance_arn,
            } => {
                self.drain(instance_id, container_instance_arn.as_deref())
                    .await
            }
            Action::HeartbeatHook {
                asg,
                hook_name,
                instance_id,
                token,
            } => {
                let result = self
                    .autoscaling
                    .record_lifecycle_action_heartbeat()
                    .auto_scaling_group_name(asg)
                    .lifecycle_hook_name(hook_name)
                    .instance_id(instance_id)
                    .set_lifecycle_action_token(Some(token.clone()).filter(|t| !t.is_empty()))
                    .send()
                    .await;
                match result {
                    Ok(_) => Ok(Done::Applied),
                    Err(err) if no_active_lifecycle_action(&err) => Ok(Done::AlreadyDone),
                    Err(err) => Err(Self::error(
                        format!("RecordLifecycleActionHeartbeat {asg} {hook_name} {instance_id}"),
                        err,
                    )),
                }
            }
            Action::CompleteHook {
                asg,
                hook_name,
                instance_id,
                token,
                ..
            } => {
                let result = self
                    .autoscaling
                    .complete_lifecycle_action()
                    .auto_scaling_group_name(asg)
                    .lifecycle_hook_name(hook_name)
                    .instance_id(instance_id)
                    .set_lifecycle_action_token(Some(token.clone()).filter(|t| !t.is_empty()))
                    .lifecycle_action_result("CONTINUE")
                    .send()
                    .await;
                match result {
                    Ok(_) => Ok(Done::Applied),
                    Err(err) if no_active_lifecycle_action(&err) => Ok(Done::AlreadyDone),
                    Err(err) => Err(Self::error(
                        format!("CompleteLifecycleAction {asg} {hook_name} {instance_id}"),
                        err,
                    )),
                }
            }
            // The handler publishes alerts; nothing to do to the cluster.
            Action::Alert(_) => Ok(Done::AlreadyDone),
        }
    }
}

// ---- assembling the snapshot (pure) ------------------------------------------------------------

struct Parts<'a> {
    cluster: &'a str,
    group: &'a AutoScalingGroup,
    hooks: Vec<String>,
    registered: &'a [aws_sdk_ecs::types::ContainerInstance],
    tasks: &'a [aws_sdk_ecs::types::Task],
    services: &'a [aws_sdk_ecs::types::Service],
    definitions: &'a HashMap<String, Resources>,
    configured_types: &'a [InstanceType],
    capacity_providers: Vec<CapacityProvider>,
    now: u64,
}

fn assemble(parts: Parts<'_>) -> Snapshot {
    let group = parts.group;
    let members: BTreeMap<&str, &aws_sdk_autoscaling::types::Instance> = group
        .instances()
        .iter()
        .filter_map(|i| Some((i.instance_id()?, i)))
        .collect();
    let services: BTreeMap<&str, &aws_sdk_ecs::types::Service> = parts
        .services
        .iter()
        .filter_map(|s| Some((s.service_name()?, s)))
        .collect();
    let daemon = |service: Option<&str>| {
        service
            .and_then(|name| services.get(name))
            .is_some_and(|s| s.scheduling_strategy() == Some(&SchedulingStrategy::Daemon))
    };

    let mut by_instance: HashMap<&str, Vec<Task>> = HashMap::new();
    let mut pending_tasks = Vec::new();
    for task in parts.tasks {
        let service = service_of(task.group());
        let model = Task {
            arn: task.task_arn().unwrap_or_default().to_string(),
            service: service.map(str::to_string),
            resources: task_resources(task),
            last_status: status(task.last_status()),
            desired_status: status(task.desired_status()),
            daemon: daemon(service),
        };
        match task.container_instance_arn() {
            Some(arn) => by_instance.entry(arn).or_default().push(model),
            // Created but on no instance yet: waiting for capacity.
            None if model.desired_status == TaskStatus::Running
                && matches!(
                    model.last_status,
                    TaskStatus::Provisioning | TaskStatus::Pending
                ) =>
            {
                pending_tasks.push(PendingTask {
                    id: model.arn.clone(),
                    placement: service
                        .and_then(|name| services.get(name))
                        .map(|s| placement(s))
                        .unwrap_or_default(),
                    service: model.service,
                    resources: model.resources,
                    since: task
                        .created_at()
                        .and_then(|t| u64::try_from(t.secs()).ok())
                        .unwrap_or(parts.now),
                });
            }
            None => {}
        }
    }

    // Every registered instance of the group, whatever its status: those are not in flight.
    let registered_ids: Vec<&str> = parts
        .registered
        .iter()
        .filter_map(|r| r.ec2_instance_id())
        .filter(|id| members.contains_key(id))
        .collect();
    let mut instances = Vec::new();
    for registered in parts.registered {
        let (Some(id), Some(arn)) = (
            registered.ec2_instance_id(),
            registered.container_instance_arn(),
        ) else {
            continue;
        };
        let Some(member) = members.get(id) else {
            continue; // another group's instance, or one that has left the group
        };
        let status = match registered.status() {
            Some("ACTIVE") => InstanceStatus::Active,
            Some("DRAINING") => InstanceStatus::Draining,
            Some("REGISTERING") => InstanceStatus::Registering,
            _ => continue, // DEREGISTERING, INACTIVE, REGISTRATION_FAILED: not capacity
        };
        let attribute = |name: &str| {
            registered
                .attributes()
                .iter()
                .find(|a| a.name() == name)
                .and_then(|a| a.value())
        };
        instances.push(ContainerInstance {
            id: id.to_string(),
            arn: arn.to_string(),
            az: attribute(AZ_ATTRIBUTE)
                .or(member.availability_zone())
                .unwrap_or_default()
                .to_string(),
            instance_type: attribute(TYPE_ATTRIBUTE)
                .or(member.instance_type())
                .unwrap_or_default()
                .to_string(),
            registered: resources(registered.registered_resources()),
            remaining: resources(registered.remaining_resources()),
            status,
            launched_at: registered
                .registered_at()
                .and_then(|t| u64::try_from(t.secs()).ok())
                .unwrap_or(0),
            protected: member.protected_from_scale_in().unwrap_or(false),
            tasks: by_instance.remove(arn).unwrap_or_default(),
        });
    }

    let in_flight = group
        .instances()
        .iter()
        .filter(|i| {
            let state = i.lifecycle_state().map(|s| s.as_str()).unwrap_or_default();
            matches!(
                state,
                "Pending" | "Pending:Wait" | "Pending:Proceed" | "InService"
            ) && !i
                .instance_id()
                .is_some_and(|id| registered_ids.contains(&id))
        })
        .map(|i| InFlight {
            id: i.instance_id().unwrap_or_default().to_string(),
            az: i.availability_zone().map(str::to_string),
            instance_type: i.instance_type().unwrap_or_default().to_string(),
            launched_at: parts.now,
        })
        .collect();

    let mut model_services = Vec::new();
    for service in parts.services {
        let Some(name) = service.service_name() else {
            continue;
        };
        if service.scheduling_strategy() == Some(&SchedulingStrategy::Daemon) {
            continue;
        }
        let deployment = service.deployment_configuration();
        let model = Service {
            name: name.to_string(),
            desired: count(service.desired_count()),
            running: count(service.running_count()),
            pending: count(service.pending_count()),
            minimum_healthy_percent: deployment
                .and_then(|d| d.minimum_healthy_percent())
                .map(count)
                .unwrap_or(100),
            maximum_percent: deployment
                .and_then(|d| d.maximum_percent())
                .map(count)
                .unwrap_or(200),
            placement: placement(service),
        };
        let resources = service
            .task_definition()
            .and_then(|arn| parts.definitions.get(arn));
        if let Some(resources) = resources {
            for n in 0..missing_tasks(service) {
                pending_tasks.push(PendingTask {
                    id: format!("{name}#missing-{n}"),
                    service: Some(name.to_string()),
                    resources: *resources,
                    placement: model.placement,
                    since: parts.now,
                });
            }
        }
        model_services.push(model);
    }

    Snapshot {
        cluster: parts.cluster.to_string(),
        asg: Asg {
            name: group
                .auto_scaling_group_name()
                .unwrap_or_default()
                .to_string(),
            min: group.min_size().map(count).unwrap_or(0),
            max: group.max_size().map(count).unwrap_or(0),
            desired: group.desired_capacity().map(count).unwrap_or(0),
            instance_types: instance_types(parts.configured_types, &instances),
            azs: group.availability_zones().to_vec(),
            in_flight,
            lifecycle_hooks: parts.hooks,
        },
        instances,
        pending_tasks,
        services: model_services,
        hooks: Vec::new(),
        capacity_providers: parts.capacity_providers,
    }
}

/// Tasks a service wants that do not exist: desired minus running and pending; during a
/// deployment, what each deployment still misses, within what `maximumPercent` allows.
fn missing_tasks(service: &aws_sdk_ecs::types::Service) -> u32 {
    if service.scheduling_strategy() == Some(&SchedulingStrategy::Daemon) {
        return 0;
    }
    let (desired, running, pending) = (
        i64::from(service.desired_count()),
        i64::from(service.running_count()),
        i64::from(service.pending_count()),
    );
    let by_service = (desired - running - pending).max(0);
    let by_deployment: i64 = service
        .deployments()
        .iter()
        .map(|d| {
            (i64::from(d.desired_count())
                - i64::from(d.running_count())
                - i64::from(d.pending_count()))
            .max(0)
        })
        .sum();
    let maximum_percent = service
        .deployment_configuration()
        .and_then(|d| d.maximum_percent())
        .map(i64::from)
        .unwrap_or(200);
    let ceiling = (desired * maximum_percent / 100 - running - pending).max(0);
    let missing = by_service.max(by_deployment.min(ceiling));
    u32::try_from(missing).unwrap_or(u32::MAX)
}

fn placement(service: &aws_sdk_ecs::types::Service) -> Placement {
    Placement {
        distinct_instance: service
            .placement_constraints()
            .iter()
            .any(|c| c.r#type() == Some(&PlacementConstraintType::DistinctInstance)),
        spread_az: service.placement_strategy().iter().any(|s| {
            s.r#type() == Some(&PlacementStrategyType::Spread)
                && s.field()
                    .is_some_and(|f| f.eq_ignore_ascii_case(AZ_SPREAD_FIELD))
        }),
    }
}

/// The configured types in launch order, each with what a registered instance of it offers to
/// tasks (registered resources less its daemon tasks) when one is registered; types running in
/// the group but not configured follow.
fn instance_types(
    configured: &[InstanceType],
    instances: &[ContainerInstance],
) -> Vec<InstanceType> {
    let learned = |name: &str| {
        instances
            .iter()
            .find(|i| i.instance_type == name && i.registered.cpu > 0)
            .map(|i| {
                let daemons = i
                    .tasks
                    .iter()
                    .filter(|t| t.daemon && t.last_status.occupies_instance())
                    .fold(Resources::default(), |sum, t| sum.plus(t.resources));
                i.registered.minus(daemons)
            })
    };
    let mut types: Vec<InstanceType> = configured
        .iter()
        .map(|t| InstanceType {
            name: t.name.clone(),
            resources: learned(&t.name).unwrap_or(t.resources),
        })
        .collect();
    for instance in instances {
        if !types.iter().any(|t| t.name == instance.instance_type)
            && let Some(resources) = learned(&instance.instance_type)
        {
            types.push(InstanceType {
                name: instance.instance_type.clone(),
                resources,
            });
        }
    }
    types
}

fn service_of(group: Option<&str>) -> Option<&str> {
    group.and_then(|g| g.strip_prefix("service:"))
}

/// A task's reservation: task-level CPU and memory when set, else the sum of its containers'.
fn task_resources(task: &aws_sdk_ecs::types::Task) -> Resources {
    let containers = task
        .containers()
        .iter()
        .fold(Resources::default(), |sum, c| {
            let memory = parse_units(c.memory()).or(parse_units(c.memory_reservation()));
            sum.plus(Resources::new(
                parse_units(c.cpu()).unwrap_or(0),
                memory.unwrap_or(0),
            ))
        });
    Resources::new(
        parse_units(task.cpu()).unwrap_or(containers.cpu),
        parse_units(task.memory()).unwrap_or(containers.memory),
    )
}

/// `"512"` -> 512. Task-level values may also be written `"0.5 vCPU"` or `"1 GB"` in a task
/// definition, but DescribeTasks and DescribeTaskDefinition answer in units and MiB.
fn parse_units(value: Option<&str>) -> Option<u32> {
    value.and_then(|v| v.trim().parse::<u32>().ok())
}

fn resources(list: &[aws_sdk_ecs::types::Resource]) -> Resources {
    let get = |name: &str| {
        list.iter()
            .find(|r| r.name() == Some(name))
            .map(|r| count(r.integer_value()))
            .unwrap_or(0)
    };
    Resources::new(get("CPU"), get("MEMORY"))
}

fn status(value: Option<&str>) -> TaskStatus {
    match value {
        Some("PROVISIONING") => TaskStatus::Provisioning,
        Some("PENDING") => TaskStatus::Pending,
        Some("ACTIVATING") => TaskStatus::Activating,
        Some("RUNNING") => TaskStatus::Running,
        Some("DEACTIVATING") => TaskStatus::Deactivating,
        Some("STOPPING") => TaskStatus::Stopping,
        Some("DEPROVISIONING") => TaskStatus::Deprovisioning,
        Some("STOPPED") => TaskStatus::Stopped,
        // Unknown: kept, and treated as holding its instance.
        other => TaskStatus::Other(other.unwrap_or("UNKNOWN").to_string()),
    }
}

fn count(value: i32) -> u32 {
    u32::try_from(value).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use aws_sdk_ecs::types::{Deployment, DeploymentConfiguration, SchedulingStrategy, Service};

    use super::missing_tasks;

    fn deployment(status: &str, desired: i32, running: i32, pending: i32) -> Deployment {
        Deployment::builder()
            .status(status)
            .desired_count(desired)
            .running_count(running)
            .pending_count(pending)
            .build()
    }

    fn service(
        (desired, running, pending): (i32, i32, i32),
        maximum_percent: i32,
        deployments: Vec<Deployment>,
    ) -> Service {
        Service::builder()
            .service_name("web")
            .scheduling_strategy(SchedulingStrategy::Replica)
            .desired_count(desired)
            .running_count(running)
            .pending_count(pending)
            .deployment_configuration(
                DeploymentConfiguration::builder()
                    .maximum_percent(maximum_percent)
                    .minimum_healthy_percent(100)
                    .build(),
            )
            .set_deployments(Some(deployments))
            .build()
    }

    #[test]
    fn missing_tasks_by_service_and_by_deployment() {
        // Steady: desired 6, 2 running, 1 starting: 3 were never created.
        let steady = service((6, 2, 1), 200, vec![deployment("PRIMARY", 6, 2, 1)]);
        assert_eq!(missing_tasks(&steady), 3);
        // A deployment whose new tasks fit nowhere: the service looks whole (6 old running),
        // the new deployment misses all 6, which maximumPercent 200 allows to start at once.
        let rolling = vec![
            deployment("PRIMARY", 6, 0, 0),
            deployment("ACTIVE", 6, 6, 0),
        ];
        assert_eq!(missing_tasks(&service((6, 6, 0), 200, rolling.clone())), 6);
        // With maximumPercent 150 only 3 new ones may run beside the old ones.
        assert_eq!(missing_tasks(&service((6, 6, 0), 150, rolling.clone())), 3);
        // With maximumPercent 100 ECS stops old tasks first: nothing is missing yet.
        assert_eq!(missing_tasks(&service((6, 6, 0), 100, rolling)), 0);
        // More running than desired (scaling in): nothing missing.
        assert_eq!(missing_tasks(&service((2, 4, 0), 200, vec![])), 0);
        let daemon = Service::builder()
            .scheduling_strategy(SchedulingStrategy::Daemon)
            .desired_count(3)
            .build();
        assert_eq!(missing_tasks(&daemon), 0);
    }
}
