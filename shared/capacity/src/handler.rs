//! One invocation: the schedule, a placement failure or a terminate lifecycle action in, the
//! planned steps carried out, the hook records stored, metrics out.
//!
//! Order of work, and why:
//! 1. A terminate event first records the hook (compare-and-set, so a concurrent run cannot lose
//!    it) and sets the instance DRAINING: that is what must not wait. A repeat of the same event
//!    finds its record and does nothing.
//! 2. Read the cluster. An instance the group holds in `Terminating:Wait` for our hook that no
//!    record knows (its event was lost) is adopted: recorded, drained, heartbeaten at once.
//! 3. Plan with `now` = the event's time, and carry out the steps marked `execute`, in order:
//!    cluster actions through the [`ClusterApi`], alerts to the alerts queue (one message each).
//!    The first failure stops the rest: a later step may depend on it (protection before a
//!    desired-capacity drop; the summary after what it summarises).
//! 4. Store the hook records as far as the calls really went (a hook whose completion failed
//!    stays held), merged with whatever a concurrent invocation stored meanwhile.
//! 5. Metrics (EMF): pending tasks, instances, desired capacity, held hooks, actions by kind.
//!
//! Every step is safe to repeat (the planner decides from what it reads, completing a hook twice
//! counts as done, alert ids are stable), so a failure that a retry can fix returns `Err` and
//! Lambda retries the whole invocation; any other failure is alerted and the invocation ends.
//! Nothing invokes the function again: the schedule is the loop.

use fleetwatch_alerts::Alert;
use fleetwatch_ports::{
    ErrorChain, FaultKind, MessageQueue, MetricSet, MetricsSink, QueueError, SharedClock,
    StateError, StateStore, epoch_seconds,
};
use fleetwatch_scaling::{
    Action, CompleteReason, HookRecord, HookState, Mode, Plan, Snapshot, TerminateEvent, hooks,
    plan,
};
use serde::Serialize;
use serde_json::Value;

use crate::alerts;
use crate::cluster::{ClusterApi, ClusterError, Done, action_kind};
use crate::config::CapacityConfig;
use crate::records::{self, Stored};
use crate::trigger::{self, Scope, Trigger};

pub const NAMESPACE: &str = "fleetwatch/capacity";

/// Compare-and-set attempts before giving up on a contended record item (and retrying the
/// whole invocation).
const SAVE_ATTEMPTS: usize = 5;

/// What one invocation did (its answer, also logged).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum Outcome {
    Ignored { reason: String },
    Reconciled(Report),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// `scheduled`, `placement_failure` or `terminate`.
    pub trigger: &'static str,
    /// The time planned with (epoch seconds).
    pub at: u64,
    pub mode: Mode,
    pub stood_down: bool,
    /// Steps carried out, `what: why`, in order.
    pub executed: Vec<String>,
    /// Steps planned but not carried out (observe mode, standing down, or after a failure).
    pub not_executed: Vec<String>,
    /// Alerts published.
    pub alerts: usize,
    /// A failure no retry can fix, with its causes (alerted).
    pub failed: Option<String>,
}

/// Why an invocation stopped early.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    #[error("reading the lifecycle-hook records")]
    LoadHooks(#[source] StateError),
    #[error("saving the lifecycle-hook records")]
    SaveHooks(#[source] StateError),
    #[error("the lifecycle-hook records of {0} changed under every attempt to save them")]
    Contended(String),
    #[error("reading the cluster")]
    Snapshot(#[source] ClusterError),
    /// `step` is the planned action as the API call it is (for the failure alert's title); the
    /// adapter's error names the call again with its cause.
    #[error("carrying out the plan")]
    Execute {
        step: String,
        #[source]
        source: ClusterError,
    },
    #[error("publishing an alert")]
    Publish(#[source] QueueError),
}

impl HandlerError {
    pub fn kind(&self) -> FaultKind {
        match self {
            HandlerError::LoadHooks(e) | HandlerError::SaveHooks(e) => e.kind(),
            HandlerError::Contended(_) => FaultKind::Transient,
            HandlerError::Snapshot(e) | HandlerError::Execute { source: e, .. } => e.kind(),
            HandlerError::Publish(e) => e.kind(),
        }
    }

    /// Whether retrying the invocation may succeed.
    pub fn is_transient(&self) -> bool {
        self.kind() == FaultKind::Transient
    }

    /// What was being done, for the failure alert's title.
    fn doing(&self) -> String {
        match self {
            HandlerError::Execute { step, .. } => step.clone(),
            other => other.to_string(),
        }
    }
}

pub struct CapacityHandler<C, S, Q> {
    cluster: C,
    state: S,
    alerts: Q,
    config: CapacityConfig,
    metrics: MetricsSink,
    clock: SharedClock,
}

impl<C, S, Q> CapacityHandler<C, S, Q>
where
    C: ClusterApi,
    S: StateStore + Sync,
    Q: MessageQueue + Sync,
{
    pub fn new(
        cluster: C,
        state: S,
        alerts: Q,
        config: CapacityConfig,
        metrics: MetricsSink,
        clock: SharedClock,
    ) -> Self {
        Self {
            cluster,
            state,
            alerts,
            config,
            metrics,
            clock,
        }
    }

    pub fn config(&self) -> &CapacityConfig {
        &self.config
    }

    /// Handles one invocation payload (an EventBridge event).
    pub async fn handle(&self, payload: Value) -> Result<Outcome, HandlerError> {
        let scope = Scope {
            cluster: &self.config.cluster,
            asg: &self.config.asg,
            hook_name: &self.config.hook_name,
        };
        let invocation = trigger::parse(&payload, scope);
        let now = invocation
            .at
            .unwrap_or_else(|| epoch_seconds(self.clock.now()));
        if let Trigger::Ignored { reason } = invocation.trigger {
            tracing::info!(%reason, "event ignored");
            self.metrics
                .emit(&MetricSet::new(NAMESPACE).count("EventsIgnored", 1));
            return Ok(Outcome::Ignored { reason });
        }
        let mut report = Report {
            trigger: invocation.trigger.kind(),
            at: now,
            mode: self.config.planner.mode,
            stood_down: false,
            executed: Vec::new(),
            not_executed: Vec::new(),
            alerts: 0,
            failed: None,
        };
        match self.reconcile(&invocation.trigger, now, &mut report).await {
            Ok(()) => {}
            Err(error) if error.is_transient() => {
                tracing::warn!(
                    error = %ErrorChain(&error),
                    error.kind = %error.kind(),
                    report = %json(&report),
                    "capacity run stopped; it will be retried"
                );
                return Err(error);
            }
            Err(error) => {
                let cause = ErrorChain(&error).to_string();
                tracing::error!(
                    error = %cause,
                    error.kind = %error.kind(),
                    report = %json(&report),
                    "capacity run failed; retrying cannot help"
                );
                report.failed = Some(cause);
                let alert = alerts::failed(
                    &self.config.cluster,
                    &self.config.asg,
                    &error.doing(),
                    &error,
                    now,
                );
                self.publish(&alert).await.map_err(HandlerError::Publish)?;
                report.alerts += 1;
                self.metrics.emit(
                    &MetricSet::new(NAMESPACE)
                        .dimension("AutoScalingGroup", self.config.asg.clone())
                        .count("Failures", 1),
                );
            }
        }
        tracing::info!(outcome = %json(&report), "capacity reconciled");
        Ok(Outcome::Reconciled(report))
    }

    async fn reconcile(
        &self,
        trigger: &Trigger,
        now: u64,
        report: &mut Report,
    ) -> Result<(), HandlerError> {
        let observe = self.config.planner.mode == Mode::Observe;
        let mut stored = records::load(&self.state, &self.config.asg)
            .await
            .map_err(HandlerError::LoadHooks)?;
        if let Some(reason) = &stored.unreadable {
            tracing::warn!(%reason, "hook records unreadable; starting from none");
            let alert = alerts::records_unreadable(
                &self.config.cluster,
                &self.config.asg,
                &records::key(&self.config.asg),
                reason,
                now,
            );
            self.publish(&alert).await.map_err(HandlerError::Publish)?;
            report.alerts += 1;
        }

        if let Trigger::Terminate { instance_id, token } = trigger {
            let event = self.terminate_event(instance_id, token, now);
            if observe {
                report.not_executed.push(format!(
                    "drain {instance_id}: terminating ({}); observe mode records and drains nothing",
                    event.hook_name
                ));
            } else {
                for (action, why) in self.record_terminate(&mut stored, &event).await? {
                    // A failed drain is not fatal here: the record is stored, and the plan below
                    // drains an instance it holds that is not DRAINING.
                    match self.cluster.execute(&action).await {
                        Ok(_) => report.executed.push(line(&action, &why)),
                        Err(error) => tracing::warn!(
                            error = %ErrorChain(&error),
                            instance = %instance_id,
                            "drain on the terminate event failed; the plan drains again"
                        ),
                    }
                }
            }
        }

        let view = self
            .cluster
            .snapshot(now)
            .await
            .map_err(HandlerError::Snapshot)?;
        let mut snapshot = view.snapshot;
        let mut holding = stored.records.clone();
        if !observe {
            self.adopt(&mut holding, &view.terminating, &snapshot, now);
        }
        snapshot.hooks = holding;

        let plan = plan(&snapshot, &self.config.planner, now);
        report.stood_down = plan.stood_down;
        tracing::debug!(plan = %plan.explain(), "planned");
        let (results, failure) = self.execute(&plan, report).await;

        let settled = records::prune(settle(&plan, &snapshot.hooks, &results, now), now);
        if settled != stored.records || stored.unreadable.is_some() {
            self.save_merged(&mut stored, settled, now).await?;
        }
        self.emit(trigger, &snapshot, &plan, &results);
        match failure {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }

    fn terminate_event(&self, instance_id: &str, token: &str, now: u64) -> TerminateEvent {
        TerminateEvent {
            instance_id: instance_id.to_string(),
            asg: self.config.asg.clone(),
            hook_name: self.config.hook_name.clone(),
            token: token.to_string(),
            at: now,
            heartbeat_timeout_s: self.config.heartbeat_timeout_s,
        }
    }

    /// Records the hook of a terminate event (unless this very event is recorded already) and
    /// returns the drain to carry out.
    async fn record_terminate(
        &self,
        stored: &mut Stored,
        event: &TerminateEvent,
    ) -> Result<Vec<(Action, String)>, HandlerError> {
        for _ in 0..SAVE_ATTEMPTS {
            let existing = stored
                .records
                .iter()
                .find(|r| r.instance_id == event.instance_id);
            let update = hooks::on_terminate(existing, event);
            if update.actions.is_empty() {
                tracing::info!(instance = %event.instance_id, "terminate event already recorded");
                return Ok(Vec::new());
            }
            let mut records: Vec<HookRecord> = stored
                .records
                .iter()
                .filter(|r| r.instance_id != event.instance_id)
                .cloned()
                .collect();
            records.extend(update.records);
            match records::save(
                &self.state,
                &self.config.asg,
                stored,
                records,
                self.clock_now(),
            )
            .await
            .map_err(HandlerError::SaveHooks)?
            {
                Some(saved) => {
                    *stored = saved;
                    return Ok(update.actions);
                }
                None => {
                    *stored = records::load(&self.state, &self.config.asg)
                        .await
                        .map_err(HandlerError::LoadHooks)?;
                }
            }
        }
        Err(HandlerError::Contended(self.config.asg.clone()))
    }

    /// Records the instances the group holds for our hook that no record knows. Their hook may
    /// have been waiting for a while, so they are heartbeaten at once (the record says the
    /// heartbeat is due).
    fn adopt(
        &self,
        records: &mut Vec<HookRecord>,
        terminating: &[String],
        snapshot: &Snapshot,
        now: u64,
    ) {
        if !snapshot
            .asg
            .lifecycle_hooks
            .contains(&self.config.hook_name)
        {
            return;
        }
        for instance_id in terminating {
            if records.iter().any(|r| &r.instance_id == instance_id) {
                continue;
            }
            tracing::warn!(instance = %instance_id, "terminating instance without a record (lost event): adopting it");
            // No token: the adapter names the lifecycle action by instance id.
            let event = self.terminate_event(instance_id, "", now);
            for mut record in hooks::on_terminate(None, &event).records {
                record.last_heartbeat_at = now.saturating_sub(record.heartbeat_timeout_s);
                records.push(record);
            }
        }
    }

    /// Carries out the steps marked `execute`, in order, until one fails. Returns each step's
    /// result (`None`: not carried out) and the failure.
    async fn execute(
        &self,
        plan: &Plan,
        report: &mut Report,
    ) -> (Vec<Option<Done>>, Option<HandlerError>) {
        let mut results = vec![None; plan.steps.len()];
        let mut failure = None;
        for (index, step) in plan.steps.iter().enumerate() {
            let text = line(&step.action, &step.why);
            if !step.execute || failure.is_some() {
                let note = if failure.is_some() {
                    " (not reached)"
                } else {
                    ""
                };
                report.not_executed.push(format!("{text}{note}"));
                continue;
            }
            let result = match &step.action {
                Action::Alert(alert) => self
                    .publish(alert)
                    .await
                    .map(|_| Done::Applied)
                    .map_err(HandlerError::Publish),
                action => {
                    self.cluster
                        .execute(action)
                        .await
                        .map_err(|source| HandlerError::Execute {
                            step: describe(action),
                            source,
                        })
                }
            };
            match result {
                Ok(done) => {
                    if step.action.is_alert() {
                        report.alerts += 1;
                    }
                    let note = if done == Done::AlreadyDone {
                        " (already done)"
                    } else {
                        ""
                    };
                    report.executed.push(format!("{text}{note}"));
                    results[index] = Some(done);
                }
                Err(error) => {
                    report.not_executed.push(format!("{text} (failed)"));
                    failure = Some(error);
                }
            }
        }
        (results, failure)
    }

    /// Writes `ours` over what was read, merging with a concurrent invocation's records when
    /// one wrote first.
    async fn save_merged(
        &self,
        stored: &mut Stored,
        ours: Vec<HookRecord>,
        now: u64,
    ) -> Result<(), HandlerError> {
        let base = stored.records.clone();
        let mut records = ours.clone();
        for _ in 0..SAVE_ATTEMPTS {
            match records::save(
                &self.state,
                &self.config.asg,
                stored,
                records,
                self.clock_now(),
            )
            .await
            .map_err(HandlerError::SaveHooks)?
            {
                Some(saved) => {
                    *stored = saved;
                    return Ok(());
                }
                None => {
                    let current = records::load(&self.state, &self.config.asg)
                        .await
                        .map_err(HandlerError::LoadHooks)?;
                    tracing::info!("hook records changed by another run; merging");
                    records = records::prune(records::merge(&current.records, &base, &ours), now);
                    *stored = current;
                }
            }
        }
        Err(HandlerError::Contended(self.config.asg.clone()))
    }

    /// The clock's time: what state items expire by (plans use the event's time).
    fn clock_now(&self) -> u64 {
        epoch_seconds(self.clock.now())
    }

    async fn publish(&self, alert: &Alert) -> Result<String, QueueError> {
        let body = serde_json::to_string(alert).expect("an Alert serialises");
        self.alerts.send(&body).await
    }

    fn emit(&self, trigger: &Trigger, snapshot: &Snapshot, plan: &Plan, results: &[Option<Done>]) {
        let asg = self.config.asg.clone();
        let holding = plan.hooks.iter().filter(|r| r.is_holding()).count();
        self.metrics.emit(
            &MetricSet::new(NAMESPACE)
                .dimension("AutoScalingGroup", asg.clone())
                .count("PendingTasks", snapshot.pending_tasks.len() as u64)
                .count("Instances", snapshot.instances.len() as u64)
                .count("InFlightInstances", snapshot.asg.in_flight.len() as u64)
                .count("DesiredCapacity", u64::from(snapshot.asg.desired))
                .count(
                    "PlannedDesiredCapacity",
                    u64::from(plan.desired().unwrap_or(snapshot.asg.desired)),
                )
                .count("HeldHooks", holding as u64)
                .count("StoodDown", u64::from(plan.stood_down))
                .property("cluster", self.config.cluster.clone())
                .property("trigger", trigger.kind())
                .property("mode", mode_name(plan.mode)),
        );
        let mut kinds: Vec<(&'static str, u64, u64)> = Vec::new();
        for (step, result) in plan.steps.iter().zip(results) {
            let kind = action_kind(&step.action);
            let index = match kinds.iter().position(|(k, _, _)| *k == kind) {
                Some(index) => index,
                None => {
                    kinds.push((kind, 0, 0));
                    kinds.len() - 1
                }
            };
            kinds[index].1 += 1;
            kinds[index].2 += u64::from(result.is_some());
        }
        for (kind, planned, executed) in kinds {
            self.metrics.emit(
                &MetricSet::new(NAMESPACE)
                    .dimension("AutoScalingGroup", asg.clone())
                    .dimension("Action", kind)
                    .count("ActionsPlanned", planned)
                    .count("ActionsExecuted", executed),
            );
        }
    }
}

/// The records as far as the calls went: a completion or heartbeat that was carried out takes
/// the plan's record; one that failed or was not carried out leaves the record as it was. A
/// heartbeat refused because the hook is no longer active ends the record.
fn settle(
    plan: &Plan,
    before: &[HookRecord],
    results: &[Option<Done>],
    now: u64,
) -> Vec<HookRecord> {
    let mut records = before.to_vec();
    for (step, result) in plan.steps.iter().zip(results) {
        let Some(done) = result else { continue };
        let (instance_id, heartbeat) = match &step.action {
            Action::CompleteHook { instance_id, .. } => (instance_id, false),
            Action::HeartbeatHook { instance_id, .. } => (instance_id, true),
            _ => continue,
        };
        let Some(slot) = records.iter_mut().find(|r| &r.instance_id == instance_id) else {
            continue;
        };
        if heartbeat && *done == Done::AlreadyDone {
            slot.state = HookState::Completed {
                at: now,
                reason: CompleteReason::Gone,
            };
        } else if let Some(planned) = plan.hooks.iter().find(|r| &r.instance_id == instance_id) {
            *slot = planned.clone();
        }
    }
    records
}

/// An action as the API call it is, for reports, logs and failure alerts.
pub fn describe(action: &Action) -> String {
    match action {
        Action::SetDesiredCapacity { asg, desired } => {
            format!("SetDesiredCapacity {asg} to {desired}")
        }
        Action::Protect { asg, instance_ids } => {
            format!(
                "SetInstanceProtection protect {} in {asg}",
                instance_ids.join(", ")
            )
        }
        Action::Unprotect { asg, instance_ids } => {
            format!(
                "SetInstanceProtection unprotect {} in {asg}",
                instance_ids.join(", ")
            )
        }
        Action::DrainInstance { instance_id, .. } => {
            format!("UpdateContainerInstancesState DRAINING for {instance_id}")
        }
        Action::HeartbeatHook {
            hook_name,
            instance_id,
            ..
        } => format!("RecordLifecycleActionHeartbeat {hook_name} for {instance_id}"),
        Action::CompleteHook {
            hook_name,
            instance_id,
            ..
        } => format!("CompleteLifecycleAction CONTINUE {hook_name} for {instance_id}"),
        Action::Alert(alert) => format!("alert {:?}", alert.title),
    }
}

fn line(action: &Action, why: &str) -> String {
    format!("{}: {why}", describe(action))
}

fn mode_name(mode: Mode) -> &'static str {
    match mode {
        Mode::Enforce => "enforce",
        Mode::Observe => "observe",
    }
}

fn json(report: &Report) -> String {
    serde_json::to_string(report).unwrap_or_default()
}
