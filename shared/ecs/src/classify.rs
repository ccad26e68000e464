//! Events to alerts: what each event means, how bad it is, which problem it belongs to
//! (fingerprint), which story it is part of (thread key), and what is deliberately dropped.
//!
//! Identity rules:
//! - `id` (one occurrence, the delivery idempotency key): `stable_id` of the task ARN and its
//!   version for task events, of the EventBridge event id otherwise. A redelivery gets the same id.
//! - `fingerprint` (one problem, across firing and resolved):
//!   `ecs:<cluster>:<service>:deployment:<deployment id>` for a deployment's alerts (COMPLETED
//!   resolves it), `ecs:<cluster>:<service>:task-failures` for abnormal task stops,
//!   `ecs:<cluster>:<service>:<event>` for service actions, `asg:<group>:<event>` for Auto Scaling.
//!   An unknown cluster reads `-`.
//! - `thread_key`: the deployment id, for deployment events and for the tasks a deployment
//!   started (`startedBy`), so a deployment's whole story is one Slack thread.
//!
//! Labels for routing: `cluster`, `service`, `account`, `region`, and `event`, one of
//! `deployment_started`, `deployment_rollback`, `deployment_failed`, `deployment_completed`,
//! `placement_failure`, `start_impaired`, `configuration_failure`, `service_discovery_unhealthy`,
//! `daemon_placement_violated`, `operation_throttled`, `service_action` (other WARN/ERROR
//! actions), `task_stopped` (with `container`, the failed container's name, and `stop_kind`:
//! `failed_to_start`, `unhealthy`, `oom`, `exit`, `essential_exited`, `interrupted`, `other`),
//! `instance_registration_failed`, `instance_launch_failed`, `instance_terminate_failed` (with
//! `asg` instead of cluster/service), or a noise rule's name when that rule is switched off.
//!
//! Task stops: `UserInitiated` and scheduler stops (deployments, scale-in) without a failed
//! container are noise. Under a scheduler stop, exit codes 143 (SIGTERM) and 137 (SIGKILL after
//! the stop timeout) come from the stop itself and do not count as failures; a failed ELB or
//! container health check (also a scheduler stop) always alerts. An out-of-memory kill is a
//! container reason containing `OutOfMemoryError`, or exit 137 outside a scheduler stop.

use crate::EcsError;
use crate::event::{
    AutoScalingUnsuccessful, Container, ContainerInstanceStateChange, DeploymentStateChange,
    Detail, EcsEvent, Envelope, InstanceAction, ServiceAction, StopCode, TaskStateChange, arn_name,
    image_tag, service_arn_parts, task_definition_name,
};
use crate::noise::{Dropped, NoisePolicy, NoiseRule};
use fleetwatch_alerts::{Alert, Severity, Source, Status, stable_id};

/// What became of one event.
#[derive(Debug, Clone, PartialEq)]
pub enum Classified {
    /// Alerts to put on the alerts queue (one per event today).
    Alerts(Vec<Alert>),
    /// Deliberately not alerted on.
    Dropped(Dropped),
}

impl Classified {
    pub fn alerts(&self) -> &[Alert] {
        match self {
            Classified::Alerts(alerts) => alerts,
            Classified::Dropped(_) => &[],
        }
    }

    pub fn dropped(&self) -> Option<&Dropped> {
        match self {
            Classified::Dropped(dropped) => Some(dropped),
            Classified::Alerts(_) => None,
        }
    }
}

/// Parses and classifies one EventBridge event.
pub fn classify(event_json: &str, policy: &NoisePolicy) -> Result<Classified, EcsError> {
    Ok(classify_event(&EcsEvent::parse(event_json)?, policy))
}

/// Classifies an already parsed event (the function parses once for [`dedup_key`] and this).
pub fn classify_event(event: &EcsEvent, policy: &NoisePolicy) -> Classified {
    let env = &event.envelope;
    let outcome = match &event.detail {
        Detail::Deployment(detail) => Ok(deployment(env, detail)),
        Detail::ServiceAction(detail) => service_action(env, detail, policy),
        Detail::Task(detail) => task(env, detail, policy),
        Detail::ContainerInstance(detail) => container_instance(env, detail, policy),
        Detail::AutoScalingUnsuccessful(action, detail) => {
            Ok(auto_scaling_unsuccessful(env, *action, detail))
        }
        Detail::Other(detail_type) => Err(Dropped::new(
            NoiseRule::Unsupported,
            format!("event type {detail_type:?} is not alerted on"),
        )),
    };
    match outcome {
        Ok(alert) => Classified::Alerts(vec![alert]),
        Err(dropped) => Classified::Dropped(dropped),
    }
}

/// The key that identifies a redelivered duplicate: the task (or container instance) ARN and its
/// monotonic `version` for state changes, the EventBridge event id otherwise. The function keeps
/// seen keys in the state table (with a TTL) and drops an event whose key it has seen.
pub fn dedup_key(event: &EcsEvent) -> Option<String> {
    let versioned = match &event.detail {
        Detail::Task(task) => task
            .task_arn
            .as_deref()
            .zip(task.version)
            .map(|(arn, version)| format!("task:{arn}#{version}")),
        Detail::ContainerInstance(instance) => instance
            .container_instance_arn
            .as_deref()
            .zip(instance.version)
            .map(|(arn, version)| format!("container-instance:{arn}#{version}")),
        _ => None,
    };
    versioned.or_else(|| {
        event
            .envelope
            .id
            .as_deref()
            .filter(|id| !id.is_empty())
            .map(|id| format!("event:{id}"))
    })
}

/// Where an alert is about: cluster, service (or other subject) and the envelope's account and
/// region. Builds the common parts of every alert.
struct Scope<'a> {
    env: &'a Envelope,
    cluster: Option<String>,
    service: Option<String>,
    /// The service name, else what the alert is about (task family, ASG, instance).
    subject: String,
    region: Option<String>,
}

impl<'a> Scope<'a> {
    fn new(
        env: &'a Envelope,
        cluster: Option<&str>,
        service: Option<&str>,
        subject: Option<&str>,
        arn: Option<&str>,
    ) -> Self {
        let region = env
            .region
            .clone()
            .filter(|r| !r.is_empty())
            .or_else(|| arn.and_then(|a| a.split(':').nth(3)).map(str::to_string))
            .filter(|r| !r.is_empty());
        Scope {
            env,
            cluster: cluster.map(str::to_string),
            service: service.map(str::to_string),
            subject: service.or(subject).unwrap_or("unknown").to_string(),
            region,
        }
    }

    fn fingerprint(&self, problem: &str) -> String {
        format!(
            "ecs:{}:{}:{problem}",
            self.cluster.as_deref().unwrap_or("-"),
            self.subject
        )
    }

    /// An alert with source, severity, title, fingerprint, the event label, routing labels,
    /// cluster/service fields and the service link. The caller adds the rest.
    fn alert(&self, event: &str, severity: Severity, title: String, problem: &str) -> Alert {
        let mut alert = Alert::new(Source::EcsEvents, title);
        alert.severity = severity;
        alert.fingerprint = self.fingerprint(problem);
        alert.id = match self.env.id.as_deref().filter(|id| !id.is_empty()) {
            Some(id) => stable_id(&["ecs", event, id]),
            // No event id (hand-made events): the problem and the time identify the occurrence.
            None => stable_id(&[
                "ecs",
                event,
                &alert.fingerprint,
                self.env.time.as_deref().unwrap_or_default(),
            ]),
        };
        alert.occurred_at = self.env.time.clone();
        if let Some(cluster) = &self.cluster {
            alert.push_field("Cluster", cluster);
            alert.set_label("cluster", cluster);
        }
        if let Some(service) = &self.service {
            alert.push_field("Service", service);
            alert.set_label("service", service);
        }
        alert.set_label("event", event);
        alert.set_label("account", self.env.account.as_deref().unwrap_or_default());
        alert.set_label("region", self.region.as_deref().unwrap_or_default());
        if let Some(url) = self.service_url() {
            alert.push_link("Service in console", url);
        }
        alert
    }

    fn service_url(&self) -> Option<String> {
        let (cluster, service, region) = (
            self.cluster.as_deref()?,
            self.service.as_deref()?,
            self.region.as_deref()?,
        );
        Some(format!(
            "https://{region}.console.aws.amazon.com/ecs/v2/clusters/{}/services/{}/health?region={region}",
            url_segment(cluster),
            url_segment(service)
        ))
    }

    fn task_url(&self, task_arn: &str) -> Option<String> {
        let (cluster, region) = (self.cluster.as_deref()?, self.region.as_deref()?);
        Some(format!(
            "https://{region}.console.aws.amazon.com/ecs/v2/clusters/{}/tasks/{}/configuration?region={region}",
            url_segment(cluster),
            url_segment(arn_name(task_arn))
        ))
    }

    /// A dropped event, or, when the policy keeps that kind of noise, an info alert saying so.
    fn noise(
        &self,
        policy: &NoisePolicy,
        rule: NoiseRule,
        reason: String,
    ) -> Result<Alert, Dropped> {
        if policy.drops(rule) {
            return Err(Dropped::new(rule, reason));
        }
        let mut alert = self.alert(
            rule.as_str(),
            Severity::Info,
            capitalise(&reason),
            rule.as_str(),
        );
        alert.summary = reason;
        Ok(alert)
    }
}

fn deployment(env: &Envelope, detail: &DeploymentStateChange) -> Alert {
    let service_arn = env.resources.first().map(String::as_str);
    let (cluster, service) = service_arn.map_or((None, None), service_arn_parts);
    let scope = Scope::new(env, cluster, service, None, service_arn);
    let deployment_id = detail.deployment_id.as_deref().unwrap_or("unknown");
    let name = detail.event_name.as_deref().unwrap_or_default();
    let reason = detail.reason.as_deref().unwrap_or_default();
    let rolling_back =
        name.contains("ROLLBACK") || reason.to_ascii_lowercase().contains("rolling back");
    let subject = &scope.subject;

    let (event, severity, status, title) = if name.ends_with("COMPLETED") {
        let what = if rolling_back {
            "Rollback"
        } else {
            "Deployment"
        };
        let title = format!("{what} of {subject} completed");
        (
            "deployment_completed",
            Severity::Info,
            Status::Resolved,
            title,
        )
    } else if name.ends_with("FAILED") {
        let title = format!("Deployment of {subject} failed");
        ("deployment_failed", Severity::Error, Status::Firing, title)
    } else if rolling_back {
        let title = format!("Deployment of {subject} is rolling back");
        (
            "deployment_rollback",
            Severity::Warning,
            Status::Firing,
            title,
        )
    } else if name.ends_with("IN_PROGRESS") {
        let title = format!("Deployment of {subject} started");
        ("deployment_started", Severity::Info, Status::Firing, title)
    } else {
        let severity = event_type_severity(detail.event_type.as_deref()).unwrap_or(Severity::Info);
        let title = format!("Deployment of {subject}: {name}");
        ("deployment", severity, Status::Firing, title)
    };

    let mut alert = scope.alert(
        event,
        severity,
        title,
        &format!("deployment:{deployment_id}"),
    );
    alert.status = status;
    alert.summary = reason.to_string();
    alert.thread_key = Some(deployment_id.to_string());
    alert.occurred_at = detail.updated_at.clone().or(alert.occurred_at);
    alert.push_field("Deployment", deployment_id);
    if let Some(target) = rollback_target(reason).filter(|_| rolling_back) {
        alert.push_field("Rolling back to", target);
    }
    alert.push_field("Event", name);
    alert
}

/// The deployment id a circuit-breaker rollback goes back to, from its reason
/// ("... rolling back to deploymentId ecs-svc/123").
fn rollback_target(reason: &str) -> Option<&str> {
    let after = reason.find("rolling back to")?;
    let start = after + reason[after..].find("ecs-svc/")?;
    let id = &reason[start..];
    let end = id
        .find(|c: char| c.is_whitespace() || c == ',' || c == ')')
        .unwrap_or(id.len());
    Some(id[..end].trim_end_matches('.'))
}

fn service_action(
    env: &Envelope,
    detail: &ServiceAction,
    policy: &NoisePolicy,
) -> Result<Alert, Dropped> {
    let service_arn = env.resources.first().map(String::as_str);
    let (arn_cluster, service) = service_arn.map_or((None, None), service_arn_parts);
    let cluster = detail.cluster_arn.as_deref().map(arn_name).or(arn_cluster);
    let scope = Scope::new(
        env,
        cluster,
        service,
        None,
        detail.cluster_arn.as_deref().or(service_arn),
    );
    let name = detail.event_name.as_deref().unwrap_or_default();
    let reason = detail.reason.as_deref().unwrap_or_default();
    let declared = event_type_severity(detail.event_type.as_deref());
    let (event, base, title) = match service_event(name, declared, &scope.subject, reason) {
        ServiceEvent::Noise(rule, why) => return scope.noise(policy, rule, why),
        ServiceEvent::Alert(event, base, title) => (event, base, title),
    };
    // Severity comes from the name where it is known, raised (never lowered) by the declared
    // eventType: fixtures exist with unexpected eventType values.
    let severity = declared.map_or(base, |declared| declared.max(base));
    let problem = event.replace('_', "-");
    let mut alert = scope.alert(event, severity, title, &problem);
    alert.occurred_at = detail.created_at.clone().or(alert.occurred_at);
    push_service_action_fields(&mut alert, detail, event, &scope.subject);
    Ok(alert)
}

/// What a service action event is: noise by a rule, or an alert (event name, base severity,
/// title).
enum ServiceEvent {
    Noise(NoiseRule, String),
    Alert(&'static str, Severity, String),
}

fn service_event(
    name: &str,
    declared: Option<Severity>,
    subject: &str,
    reason: &str,
) -> ServiceEvent {
    let alert = |event, severity, title| ServiceEvent::Alert(event, severity, title);
    match name {
        "SERVICE_STEADY_STATE" | "TASKSET_STEADY_STATE" | "CAPACITY_PROVIDER_STEADY_STATE" => {
            ServiceEvent::Noise(
                NoiseRule::SteadyState,
                format!("{subject} reached steady state ({name}): repeats periodically"),
            )
        }
        "SERVICE_DESIRED_COUNT_UPDATED" => ServiceEvent::Noise(
            NoiseRule::Informational,
            format!("desired count of {subject} updated: informational"),
        ),
        "SERVICE_TASK_PLACEMENT_FAILURE" => {
            let resource = placement_resource(reason);
            let title = format!("Tasks of {subject} cannot be placed: {resource}");
            alert("placement_failure", Severity::Error, title)
        }
        "SERVICE_TASK_START_IMPAIRED" => {
            let title = format!("Tasks of {subject} are failing to start");
            alert("start_impaired", Severity::Error, title)
        }
        "SERVICE_TASK_CONFIGURATION_FAILURE" => {
            let title = format!("Task configuration of {subject} failed");
            alert("configuration_failure", Severity::Error, title)
        }
        "SERVICE_DISCOVERY_INSTANCE_UNHEALTHY" => {
            let title = format!("Service discovery instance of {subject} unhealthy");
            alert("service_discovery_unhealthy", Severity::Warning, title)
        }
        "SERVICE_DAEMON_PLACEMENT_CONSTRAINT_VIOLATED" => {
            let title = format!("Daemon tasks of {subject} violate placement constraints");
            alert("daemon_placement_violated", Severity::Warning, title)
        }
        "ECS_OPERATION_THROTTLED" => {
            let title = format!("ECS throttled operations for {subject}");
            alert("operation_throttled", Severity::Warning, title)
        }
        other => match declared {
            Some(severity @ (Severity::Warning | Severity::Error | Severity::Critical)) => {
                alert("service_action", severity, format!("{subject}: {other}"))
            }
            _ => ServiceEvent::Noise(
                NoiseRule::Informational,
                format!("service action {other} of {subject} is informational"),
            ),
        },
    }
}

fn push_service_action_fields(
    alert: &mut Alert,
    detail: &ServiceAction,
    event: &str,
    subject: &str,
) {
    let name = detail.event_name.as_deref().unwrap_or_default();
    let reason = detail.reason.as_deref().unwrap_or_default();
    alert.push_field("Event", name);
    if event == "placement_failure" {
        // The reason is a terse code: say it in words and keep the code as a field.
        alert.summary = format!(
            "ECS cannot place tasks of {subject}: {}.",
            placement_resource(reason)
        );
        alert.push_field("Missing", placement_resource(reason));
        alert.push_field("Reason", reason);
    } else {
        alert.summary = reason.to_string();
    }
    if let Some(count) = detail.desired_count {
        alert.push_field("Desired count", count.to_string());
    }
    let providers: Vec<&str> = detail
        .capacity_provider_arns
        .iter()
        .map(|a| arn_name(a))
        .collect();
    alert.push_field("Capacity providers", providers.join(", "));
    let instances: Vec<&str> = detail
        .container_instance_arns
        .iter()
        .map(|a| arn_name(a))
        .collect();
    alert.push_field("Closest container instances", instances.join(", "));
}

/// What a placement failure lacks, in words, from reasons like `RESOURCE:CPU`.
pub fn placement_resource(reason: &str) -> String {
    let code = reason.trim();
    let code = code.strip_prefix("RESOURCE:").unwrap_or(code);
    match code.to_ascii_uppercase().as_str() {
        "CPU" => "not enough CPU".into(),
        "MEMORY" => "not enough memory".into(),
        "PORTS" | "PORTS_UDP" => "no free host ports".into(),
        "ENI" => "no free network interfaces (ENI)".into(),
        "GPU" => "not enough GPUs".into(),
        "AGENT" => "no instance with a connected agent".into(),
        "ATTRIBUTE" => "no instance with the required attributes".into(),
        "" => "reason not given".into(),
        _ => code.to_string(),
    }
}

/// Why a task stopped abnormally.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StopKind {
    FailedToStart,
    Unhealthy,
    OutOfMemory,
    NonZeroExit,
    EssentialExited,
    Interrupted,
    Other,
}

impl StopKind {
    fn as_str(self) -> &'static str {
        match self {
            StopKind::FailedToStart => "failed_to_start",
            StopKind::Unhealthy => "unhealthy",
            StopKind::OutOfMemory => "oom",
            StopKind::NonZeroExit => "exit",
            StopKind::EssentialExited => "essential_exited",
            StopKind::Interrupted => "interrupted",
            StopKind::Other => "other",
        }
    }
}

fn is_oom(container: &Container) -> bool {
    container
        .reason
        .as_deref()
        .is_some_and(|r| r.contains("OutOfMemoryError"))
}

/// Exit codes a container gets from being stopped (SIGTERM 143, SIGKILL after the stop timeout
/// 137): routine when the scheduler stopped the task, a failure otherwise.
fn is_stop_signal_exit(code: i64) -> bool {
    code == 137 || code == 143
}

/// What a stopped task's event says about it, before deciding whether it is news.
struct StoppedTask<'a> {
    task: &'a TaskStateChange,
    scope: Scope<'a>,
    service: Option<&'a str>,
    task_definition: Option<&'a str>,
    task_id: &'a str,
    stop_code: Option<StopCode>,
    stopped_reason: &'a str,
    /// Stopped by the service scheduler: SIGTERM/SIGKILL exit codes are then routine.
    scheduler_stop: bool,
}

/// Why the task is alerted on: the kind, the container to name, the title.
struct Diagnosis<'a> {
    kind: StopKind,
    container: Option<&'a Container>,
    title: String,
}

fn task(env: &Envelope, task: &TaskStateChange, policy: &NoisePolicy) -> Result<Alert, Dropped> {
    let stopped = StoppedTask::new(env, task);
    if let Some(noise) = stopped.not_a_failure(policy) {
        return noise;
    }
    let Some(diagnosis) = stopped.diagnose() else {
        return stopped.routine_stop(policy);
    };
    let mut alert = stopped.alert(&diagnosis);
    stopped.push_container_fields(&mut alert, diagnosis.container);
    stopped.push_context_fields(&mut alert, diagnosis.container);
    Ok(alert)
}

impl<'a> StoppedTask<'a> {
    fn new(env: &'a Envelope, task: &'a TaskStateChange) -> Self {
        let cluster = task.cluster_arn.as_deref().map(arn_name);
        let group = task.group.as_deref().unwrap_or_default();
        let service = group.strip_prefix("service:");
        let task_definition = task
            .task_definition_arn
            .as_deref()
            .map(task_definition_name);
        let family = group
            .strip_prefix("family:")
            .or_else(|| task_definition.map(|td| td.split(':').next().unwrap_or(td)));
        let scope = Scope::new(
            env,
            cluster,
            service,
            family,
            task.task_arn.as_deref().or(task.cluster_arn.as_deref()),
        );
        let stop_code = task.stop_code.clone();
        StoppedTask {
            task,
            scope,
            service,
            task_definition,
            task_id: task.task_arn.as_deref().map_or("unknown", arn_name),
            scheduler_stop: stop_code == Some(StopCode::ServiceSchedulerInitiated),
            stop_code,
            stopped_reason: task.stopped_reason.as_deref().unwrap_or_default(),
        }
    }

    /// Tasks that are not stopped, or that a user stopped, are noise: dropped, or an info alert
    /// when the policy keeps them. `None`: a stop worth diagnosing.
    fn not_a_failure(&self, policy: &NoisePolicy) -> Option<Result<Alert, Dropped>> {
        let (subject, task_id) = (&self.scope.subject, self.task_id);
        let last_status = self.task.last_status.as_deref().unwrap_or("UNKNOWN");
        if !last_status.eq_ignore_ascii_case("STOPPED") {
            return Some(self.scope.noise(
                policy,
                NoiseRule::NotStopped,
                format!(
                    "task {task_id} of {subject} is {last_status}: only stopped tasks are alerted on"
                ),
            ));
        }
        if self.stop_code == Some(StopCode::UserInitiated) {
            return Some(self.scope.noise(
                policy,
                NoiseRule::UserInitiatedStop,
                format!(
                    "task {task_id} of {subject} was stopped by a user: {}",
                    self.stopped_reason
                ),
            ));
        }
        None
    }

    /// A container that failed: out of memory, or a non-zero exit that is not the scheduler's
    /// own stop signal.
    fn has_failed(&self, container: &Container) -> bool {
        is_oom(container)
            || container.exit_code.is_some_and(|code| {
                code != 0 && !(self.scheduler_stop && is_stop_signal_exit(code))
            })
    }

    /// Why the task stopped, most specific first; `None` for a routine stop.
    fn diagnose(&self) -> Option<Diagnosis<'a>> {
        let task = self.task;
        let subject = &self.scope.subject;
        let stop_code = self.stop_code.as_ref();
        let oom = task.containers.iter().find(|c| is_oom(c));
        let failed = task
            .containers
            .iter()
            .find(|c| !is_oom(c) && self.has_failed(c));
        // The container to name when no exit code tells: the one with a reason (failed to
        // start) or an unhealthy health status.
        let explained = task
            .containers
            .iter()
            .find(|c| c.reason.is_some() || c.health_status.as_deref() == Some("UNHEALTHY"));
        let unhealthy = task.health_status.as_deref() == Some("UNHEALTHY")
            || self
                .stopped_reason
                .to_ascii_lowercase()
                .contains("health check");
        let diagnosis = |kind, container, title| {
            Some(Diagnosis {
                kind,
                container,
                title,
            })
        };

        if stop_code == Some(&StopCode::TaskFailedToStart) {
            let hint = start_failure_hint(self.stopped_reason);
            let title = format!("Task of {subject} failed to start: {hint}");
            return diagnosis(StopKind::FailedToStart, failed.or(explained), title);
        }
        if unhealthy {
            let title = format!("Task of {subject} failed its health checks");
            return diagnosis(StopKind::Unhealthy, failed.or(explained), title);
        }
        if let Some(container) =
            oom.or(failed.filter(|c| c.exit_code == Some(137) && !self.scheduler_stop))
        {
            let name = container.name.as_deref().unwrap_or("container");
            let title = format!("Task of {subject} stopped: {name} ran out of memory");
            return diagnosis(StopKind::OutOfMemory, Some(container), title);
        }
        if let Some(container) = failed {
            let name = container.name.as_deref().unwrap_or("container");
            let code = container.exit_code.unwrap_or_default();
            let title = format!("Task of {subject} stopped: {name} exited with code {code}");
            return diagnosis(StopKind::NonZeroExit, Some(container), title);
        }
        let essential_exited = stop_code == Some(&StopCode::EssentialContainerExited);
        if self.scheduler_stop || (self.service.is_none() && essential_exited) {
            return None;
        }
        if essential_exited {
            let title = format!("Task of {subject} stopped: an essential container exited");
            return diagnosis(StopKind::EssentialExited, None, title);
        }
        if matches!(
            stop_code,
            Some(StopCode::SpotInterruption | StopCode::TerminationNotice)
        ) {
            let title = format!("Task of {subject} stopped: its instance is being interrupted");
            return diagnosis(StopKind::Interrupted, None, title);
        }
        let code = stop_code.map_or("no stop code", StopCode::as_str);
        let title = format!("Task of {subject} stopped ({code})");
        diagnosis(StopKind::Other, None, title)
    }

    /// A deployment's or scale-in's stop, or a standalone task that completed: noise.
    fn routine_stop(&self, policy: &NoisePolicy) -> Result<Alert, Dropped> {
        let why = if self.scheduler_stop {
            "stopped by the service scheduler (deployment or scale-in)"
        } else {
            "completed"
        };
        self.scope.noise(
            policy,
            NoiseRule::RoutineStop,
            format!(
                "task {} of {} {why} with no failed container: {}",
                self.task_id, self.scope.subject, self.stopped_reason
            ),
        )
    }

    /// The alert's identity: one id per task version, threaded with its deployment.
    fn alert(&self, diagnosis: &Diagnosis<'_>) -> Alert {
        let task = self.task;
        let severity = match diagnosis.kind {
            StopKind::EssentialExited | StopKind::Interrupted | StopKind::Other => {
                Severity::Warning
            }
            _ => Severity::Error,
        };
        let mut alert = self.scope.alert(
            "task_stopped",
            severity,
            diagnosis.title.clone(),
            "task-failures",
        );
        alert.set_label("stop_kind", diagnosis.kind.as_str());
        alert.id = match (task.task_arn.as_deref(), task.version) {
            (Some(arn), Some(version)) => stable_id(&["ecs-task", arn, &version.to_string()]),
            _ => alert.id,
        };
        alert.occurred_at = task
            .stopped_at
            .clone()
            .or(task.updated_at.clone())
            .or(alert.occurred_at);
        alert.thread_key = task
            .started_by
            .as_deref()
            .filter(|by| by.starts_with("ecs-svc/"))
            .map(str::to_string);
        alert.summary = self.stopped_reason.to_string();
        alert.push_field("Task definition", self.task_definition.unwrap_or_default());
        alert.push_field("Task", self.task_id);
        alert.push_field(
            "Stop code",
            self.stop_code
                .as_ref()
                .map(StopCode::as_str)
                .unwrap_or_default(),
        );
        alert
    }

    fn push_container_fields(&self, alert: &mut Alert, container: Option<&Container>) {
        let Some(container) = container else {
            return;
        };
        alert.push_field("Container", container.name.as_deref().unwrap_or_default());
        // For routing, and for the function to know whose log stream to read.
        if let Some(name) = container.name.as_deref() {
            alert.set_label("container", name);
        }
        if let Some(code) = container.exit_code {
            alert.push_field("Exit code", code.to_string());
        }
        // Failed-to-start reasons repeat the stopped reason shown as the summary.
        let reason = container.reason.as_deref().unwrap_or_default();
        if reason != self.stopped_reason {
            alert.push_field("Reason", reason);
        }
        alert.push_field(
            "Image",
            container
                .image
                .as_deref()
                .map(image_tag)
                .unwrap_or_default(),
        );
    }

    /// The other failed containers, the deployment, the console link.
    fn push_context_fields(&self, alert: &mut Alert, chosen: Option<&Container>) {
        let others: Vec<String> = self
            .task
            .containers
            .iter()
            .filter(|c| !chosen.is_some_and(|chosen| std::ptr::eq(chosen, *c)))
            .filter(|c| self.has_failed(c))
            .map(|c| {
                let name = c.name.as_deref().unwrap_or("?");
                c.exit_code
                    .map_or(name.to_string(), |code| format!("{name} (exit {code})"))
            })
            .collect();
        alert.push_field("Other failed containers", others.join(", "));
        if let Some(by) = &alert.thread_key {
            alert.push_field("Deployment", by.clone());
        }
        let url = self
            .task
            .task_arn
            .as_deref()
            .and_then(|arn| self.scope.task_url(arn));
        if let Some(url) = url {
            alert.push_link("Stopped task", url);
        }
    }
}

/// What a `TaskFailedToStart` reason means, in words.
fn start_failure_hint(stopped_reason: &str) -> &'static str {
    if stopped_reason.contains("CannotPullContainerError") {
        "the image could not be pulled"
    } else if stopped_reason.contains("ResourceInitializationError") {
        "secrets or resources could not be initialised"
    } else if stopped_reason.contains("CannotStartContainerError") {
        "a container could not start"
    } else if stopped_reason.contains("CannotCreateVolumeError") {
        "a volume could not be created"
    } else {
        "see the reason"
    }
}

fn container_instance(
    env: &Envelope,
    instance: &ContainerInstanceStateChange,
    policy: &NoisePolicy,
) -> Result<Alert, Dropped> {
    let cluster = instance.cluster_arn.as_deref().map(arn_name);
    let name = instance
        .ec2_instance_id
        .as_deref()
        .or(instance.container_instance_arn.as_deref().map(arn_name));
    let scope = Scope::new(env, cluster, None, name, instance.cluster_arn.as_deref());
    let subject = scope.subject.clone();
    let status = instance.status.as_deref().unwrap_or("ACTIVE");
    match status {
        "ACTIVE" => {
            let connection = match instance.agent_connected {
                Some(false) => "agent disconnected",
                _ => "agent connected",
            };
            scope.noise(
                policy,
                NoiseRule::AgentReconnect,
                format!("container instance {subject} is ACTIVE, {connection}: the agent reconnects by design"),
            )
        }
        "REGISTRATION_FAILED" => {
            let title = format!("Container instance {subject} failed to register");
            let mut alert = scope.alert(
                "instance_registration_failed",
                Severity::Error,
                title,
                "registration-failed",
            );
            alert.summary = instance.status_reason.clone().unwrap_or_default();
            alert.push_field(
                "Instance",
                instance.ec2_instance_id.as_deref().unwrap_or_default(),
            );
            alert.push_field(
                "Container instance",
                instance
                    .container_instance_arn
                    .as_deref()
                    .map(arn_name)
                    .unwrap_or_default(),
            );
            Ok(alert)
        }
        other => scope.noise(
            policy,
            NoiseRule::Informational,
            format!("container instance {subject} is {other}: routine status change"),
        ),
    }
}

fn auto_scaling_unsuccessful(
    env: &Envelope,
    action: InstanceAction,
    detail: &AutoScalingUnsuccessful,
) -> Alert {
    let group = detail
        .auto_scaling_group_name
        .as_deref()
        .unwrap_or("unknown");
    let (event, verb) = match action {
        InstanceAction::Launch => ("instance_launch_failed", "launch"),
        InstanceAction::Terminate => ("instance_terminate_failed", "terminate"),
    };
    let mut alert = Alert::new(
        Source::EcsEvents,
        format!("Auto Scaling group {group} failed to {verb} an instance"),
    );
    alert.severity = Severity::Error;
    alert.fingerprint = format!("asg:{group}:{}", event.replace('_', "-"));
    let occurrence = env
        .id
        .as_deref()
        .or(detail.activity_id.as_deref())
        .unwrap_or_default();
    alert.id = stable_id(&["asg", event, occurrence]);
    alert.occurred_at = env.time.clone();
    alert.summary = detail.status_message.clone().unwrap_or_default();
    alert.push_field("Auto Scaling group", group);
    alert.push_field(
        "Instance",
        detail.ec2_instance_id.as_deref().unwrap_or_default(),
    );
    alert.push_field("Status", detail.status_code.as_deref().unwrap_or_default());
    let detail_text = |key: &str| {
        detail
            .details
            .get(key)
            .and_then(|v| v.as_str())
            .unwrap_or_default()
    };
    alert.push_field("Availability zone", detail_text("Availability Zone"));
    alert.push_field("Subnet", detail_text("Subnet ID"));
    alert.push_field("Cause", detail.cause.as_deref().unwrap_or_default());
    alert.set_label("asg", group);
    alert.set_label("event", event);
    alert.set_label("account", env.account.as_deref().unwrap_or_default());
    let region = env.region.as_deref().unwrap_or_default();
    alert.set_label("region", region);
    if !region.is_empty() {
        alert.push_link(
            "Auto Scaling activity",
            format!(
                "https://{region}.console.aws.amazon.com/ec2/home?region={region}#AutoScalingGroupDetails:id={};view=activity",
                url_segment(group)
            ),
        );
    }
    alert
}

fn event_type_severity(event_type: Option<&str>) -> Option<Severity> {
    match event_type?.to_ascii_uppercase().as_str() {
        "ERROR" => Some(Severity::Error),
        "WARN" | "WARNING" => Some(Severity::Warning),
        "INFO" => Some(Severity::Info),
        _ => None,
    }
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect()
    })
}

/// Percent-encodes everything but unreserved characters, for names put into URL paths.
fn url_segment(name: &str) -> String {
    name.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rollback_target_from_reason() {
        assert_eq!(
            rollback_target(
                "ECS deployment circuit breaker: rolling back to deploymentId ecs-svc/123."
            ),
            Some("ecs-svc/123")
        );
        assert_eq!(
            rollback_target("ECS deployment ecs-svc/123 in progress."),
            None
        );
    }

    #[test]
    fn placement_resources_in_words() {
        assert_eq!(placement_resource("RESOURCE:MEMORY"), "not enough memory");
        assert_eq!(
            placement_resource("ATTRIBUTE"),
            "no instance with the required attributes"
        );
        assert_eq!(placement_resource("RESOURCE:FPGA"), "FPGA");
    }

    fn task_event(group: &str, stop_code: &str, reason: &str, containers: &str) -> String {
        format!(
            r#"{{"id": "e1", "detail-type": "ECS Task State Change", "region": "eu-west-1",
                "account": "1", "detail": {{"taskArn": "arn:aws:ecs:eu-west-1:1:task/prod/t1",
                "clusterArn": "arn:aws:ecs:eu-west-1:1:cluster/prod", "group": "{group}",
                "lastStatus": "STOPPED", "stopCode": "{stop_code}", "stoppedReason": "{reason}",
                "version": 3, "containers": {containers}}}}}"#
        )
    }

    fn service_action_event(event_type: &str, name: &str) -> String {
        format!(
            r#"{{"id": "e2", "detail-type": "ECS Service Action", "region": "eu-west-1",
                "resources": ["arn:aws:ecs:eu-west-1:1:service/prod/api"],
                "detail": {{"eventType": "{event_type}", "eventName": "{name}",
                "clusterArn": "arn:aws:ecs:eu-west-1:1:cluster/prod", "reason": "RESOURCE:CPU"}}}}"#
        )
    }

    fn instance_event(status: &str, connected: bool) -> String {
        format!(
            r#"{{"id": "e3", "detail-type": "ECS Container Instance State Change",
                "detail": {{"clusterArn": "arn:aws:ecs:eu-west-1:1:cluster/prod",
                "ec2InstanceId": "i-1", "status": "{status}", "agentConnected": {connected},
                "statusReason": "boom", "version": 2}}}}"#
        )
    }

    fn run(json: &str) -> Classified {
        classify(json, &NoisePolicy::default()).unwrap()
    }

    fn dropped_rule(json: &str) -> Option<NoiseRule> {
        run(json).dropped().map(|d| d.rule)
    }

    fn single(json: &str) -> Alert {
        let classified = run(json);
        assert_eq!(classified.alerts().len(), 1, "{classified:?}");
        classified.alerts()[0].clone()
    }

    #[test]
    fn scheduler_stops_with_stop_signal_exits_are_routine() {
        let containers = r#"[{"name": "app", "exitCode": 143}, {"name": "side", "exitCode": 137}]"#;
        let json = task_event(
            "service:api",
            "ServiceSchedulerInitiated",
            "Scaling activity",
            containers,
        );
        assert_eq!(dropped_rule(&json), Some(NoiseRule::RoutineStop));

        let containers = r#"[{"name": "app", "exitCode": 1}]"#;
        let json = task_event(
            "service:api",
            "ServiceSchedulerInitiated",
            "Scaling activity",
            containers,
        );
        let alert = single(&json);
        assert_eq!(alert.title, "Task of api stopped: app exited with code 1");
        assert_eq!(alert.severity, Severity::Error);
    }

    #[test]
    fn essential_exit_zero_is_routine_for_standalone_tasks_only() {
        let containers = r#"[{"name": "job", "exitCode": 0}]"#;
        let json = task_event(
            "family:nightly",
            "EssentialContainerExited",
            "done",
            containers,
        );
        assert_eq!(dropped_rule(&json), Some(NoiseRule::RoutineStop));

        let json = task_event(
            "service:api",
            "EssentialContainerExited",
            "exited",
            containers,
        );
        let alert = single(&json);
        assert_eq!(alert.severity, Severity::Warning);
        assert_eq!(alert.labels["stop_kind"], "essential_exited");
    }

    #[test]
    fn exit_137_outside_a_scheduler_stop_is_called_out_of_memory() {
        let containers = r#"[{"name": "app", "exitCode": 137}]"#;
        let json = task_event(
            "service:api",
            "EssentialContainerExited",
            "exited",
            containers,
        );
        let alert = single(&json);
        assert_eq!(alert.title, "Task of api stopped: app ran out of memory");
        assert_eq!(alert.labels["stop_kind"], "oom");
    }

    #[test]
    fn interruptions_and_unknown_stop_codes_warn() {
        let json = task_event("service:api", "SpotInterruption", "spot", "[]");
        assert_eq!(single(&json).labels["stop_kind"], "interrupted");
        let json = task_event("service:api", "InfrastructureHealth", "x", "[]");
        let alert = single(&json);
        assert_eq!(alert.title, "Task of api stopped (InfrastructureHealth)");
        assert_eq!(alert.severity, Severity::Warning);
    }

    #[test]
    fn service_action_severity_is_never_lowered_by_event_type() {
        let alert = single(&service_action_event(
            "INFO",
            "SERVICE_TASK_PLACEMENT_FAILURE",
        ));
        assert_eq!(alert.severity, Severity::Error);
        let alert = single(&service_action_event(
            "ERROR",
            "SERVICE_DISCOVERY_INSTANCE_UNHEALTHY",
        ));
        assert_eq!(alert.severity, Severity::Error);
        let alert = single(&service_action_event("ERROR", "SOMETHING_NEW"));
        assert_eq!(alert.labels["event"], "service_action");
        assert_eq!(alert.title, "api: SOMETHING_NEW");
        assert_eq!(
            dropped_rule(&service_action_event("INFO", "SOMETHING_NEW")),
            Some(NoiseRule::Informational)
        );
        assert_eq!(
            dropped_rule(&service_action_event(
                "INFO",
                "SERVICE_DESIRED_COUNT_UPDATED"
            )),
            Some(NoiseRule::Informational)
        );
    }

    #[test]
    fn container_instances_alert_only_on_registration_failure() {
        assert_eq!(
            dropped_rule(&instance_event("ACTIVE", false)),
            Some(NoiseRule::AgentReconnect)
        );
        assert_eq!(
            dropped_rule(&instance_event("DRAINING", true)),
            Some(NoiseRule::Informational)
        );
        let alert = single(&instance_event("REGISTRATION_FAILED", false));
        assert_eq!(alert.title, "Container instance i-1 failed to register");
        assert_eq!(alert.severity, Severity::Error);
        assert_eq!(alert.summary, "boom");
    }

    #[test]
    fn switched_off_rules_become_info_alerts() {
        let policy = NoisePolicy {
            drop_routine_stops: false,
            drop_non_stopped_tasks: false,
            ..NoisePolicy::default()
        };
        let containers = r#"[{"name": "app", "exitCode": 0}]"#;
        let json = task_event(
            "service:api",
            "ServiceSchedulerInitiated",
            "Scaling",
            containers,
        );
        let classified = classify(&json, &policy).unwrap();
        assert_eq!(classified.alerts()[0].severity, Severity::Info);
        assert_eq!(classified.alerts()[0].labels["event"], "routine_stop");
        let running = json.replace(r#""lastStatus": "STOPPED""#, r#""lastStatus": "RUNNING""#);
        let classified = classify(&running, &policy).unwrap();
        assert_eq!(classified.alerts()[0].labels["event"], "not_stopped");
    }

    #[test]
    fn impossible_detail_shapes_are_errors() {
        let json = task_event("service:api", "X", "y", r#""not a list""#);
        let err = classify(&json, &NoisePolicy::default()).unwrap_err();
        assert!(matches!(err, EcsError::InvalidDetail { .. }), "{err}");
    }

    #[test]
    fn url_segments_are_encoded() {
        assert_eq!(url_segment("my group/1"), "my%20group%2F1");
        assert_eq!(url_segment("api-v1_x"), "api-v1_x");
    }
}
