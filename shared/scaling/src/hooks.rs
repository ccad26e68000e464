//! The drain state machine for terminate lifecycle hooks.
//!
//! Auto Scaling holds a terminating instance in `Terminating:Wait` while its hook is open. On the
//! terminate event the instance is set DRAINING and the hook recorded ([`on_terminate`]); every
//! reconcile ([`reconcile`]) then completes (CONTINUE) the hooks whose instances are empty,
//! heartbeats the ones nearing their heartbeat timeout, and completes with an alert the ones held
//! past the maximum. No self-invocation: the every-minute schedule is the loop.
//!
//! Records are plain serde data (the capacity function keeps a group's records as one state-table
//! item, `capacity#hooks#<group>`, written by compare-and-set). Repeated
//! events and completed hooks are harmless: a repeat changes nothing, a completed record stays
//! completed and produces no action.

use serde::{Deserialize, Serialize};

use crate::action::{Action, HookResult};
use crate::alerts;
use crate::model::{Config, ContainerInstance, InstanceStatus};

/// Lifecycle hook limits from Auto Scaling: the heartbeat timeout defaults to one hour, and a hook
/// can be held at most 48 hours or 100 heartbeat timeouts, whichever is smaller.
pub const DEFAULT_HEARTBEAT_TIMEOUT_S: u64 = 3600;
pub const MAX_GLOBAL_TIMEOUT_S: u64 = 48 * 3600;

/// An `EC2 Instance-terminate Lifecycle Action` event, with the hook's heartbeat timeout (from
/// DescribeLifecycleHooks or configuration: the event does not carry it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TerminateEvent {
    pub instance_id: String,
    pub asg: String,
    pub hook_name: String,
    pub token: String,
    /// When the event happened (the envelope's `time`), epoch seconds.
    pub at: u64,
    #[serde(default = "default_heartbeat")]
    pub heartbeat_timeout_s: u64,
}

fn default_heartbeat() -> u64 {
    DEFAULT_HEARTBEAT_TIMEOUT_S
}

/// One held (or completed) hook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HookRecord {
    pub instance_id: String,
    pub asg: String,
    pub hook_name: String,
    pub token: String,
    pub started_at: u64,
    pub heartbeat_timeout_s: u64,
    /// When Auto Scaling gives up on its own: min(48 h, 100 x heartbeat timeout).
    pub global_timeout_s: u64,
    pub last_heartbeat_at: u64,
    /// Flattened: `"state": "holding"`, or `"state": "completed"` with `completed_at`, `reason`.
    #[serde(flatten)]
    pub state: HookState,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum HookState {
    Holding,
    Completed {
        #[serde(rename = "completed_at")]
        at: u64,
        reason: CompleteReason,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CompleteReason {
    /// No non-daemon task left on the instance.
    Empty,
    /// The instance is no longer registered with the cluster: nothing can run on it.
    Deregistered,
    /// Held for the configured maximum; tasks stop with the instance.
    MaxHold,
    /// Auto Scaling no longer holds the instance (the hook was completed elsewhere, or its
    /// timeout passed): found out by the function when a heartbeat is refused, never planned.
    Gone,
}

impl HookRecord {
    pub fn is_holding(&self) -> bool {
        self.state == HookState::Holding
    }

    /// How long the hook may be held: the configured maximum, but always before Auto Scaling's
    /// own global timeout (by the heartbeat margin, so we complete it ourselves and say so).
    pub fn hold_limit_s(&self, config: &Config) -> u64 {
        let global = self.global_timeout_s.min(MAX_GLOBAL_TIMEOUT_S);
        config
            .max_hook_hold_s
            .min(global.saturating_sub(config.heartbeat_margin_s))
    }
}

/// What an event or a reconcile decided: the records to store and the actions with reasons.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HookUpdate {
    pub records: Vec<HookRecord>,
    pub actions: Vec<(Action, String)>,
}

/// A terminate event: record the hook and drain the instance; a repeat of a known event (same
/// token) changes nothing.
pub fn on_terminate(existing: Option<&HookRecord>, event: &TerminateEvent) -> HookUpdate {
    if let Some(record) = existing.filter(|r| r.token == event.token) {
        return HookUpdate {
            records: vec![record.clone()],
            actions: Vec::new(),
        };
    }
    let record = new_record(event);
    let drain = Action::DrainInstance {
        instance_id: event.instance_id.clone(),
        container_instance_arn: None,
    };
    let why = format!(
        "{} is terminating ({}): its tasks move before the hook is completed",
        event.instance_id, event.hook_name
    );
    HookUpdate {
        records: vec![record],
        actions: vec![(drain, why)],
    }
}

fn new_record(event: &TerminateEvent) -> HookRecord {
    let heartbeat = event.heartbeat_timeout_s.max(1);
    HookRecord {
        instance_id: event.instance_id.clone(),
        asg: event.asg.clone(),
        hook_name: event.hook_name.clone(),
        token: event.token.clone(),
        started_at: event.at,
        heartbeat_timeout_s: heartbeat,
        global_timeout_s: heartbeat.saturating_mul(100).min(MAX_GLOBAL_TIMEOUT_S),
        last_heartbeat_at: event.at,
        state: HookState::Holding,
    }
}

/// Every held hook against the cluster as it is now.
pub fn reconcile(
    records: &[HookRecord],
    instances: &[ContainerInstance],
    config: &Config,
    now: u64,
) -> HookUpdate {
    let mut update = HookUpdate::default();
    for record in records {
        let instance = instances.iter().find(|i| i.id == record.instance_id);
        let (record, actions) = reconcile_one(record, instance, config, now);
        update.records.push(record);
        update.actions.extend(actions);
    }
    update
}

/// One record's next state. The order of the checks is the point: empty first (the normal end),
/// then the hard limit, then keeping the hook alive.
fn reconcile_one(
    record: &HookRecord,
    instance: Option<&ContainerInstance>,
    config: &Config,
    now: u64,
) -> (HookRecord, Vec<(Action, String)>) {
    if !record.is_holding() {
        return (record.clone(), Vec::new());
    }
    let held = now.saturating_sub(record.started_at);
    let Some(instance) = instance else {
        let why = format!(
            "{} is no longer registered with the cluster: no task can run on it",
            record.instance_id
        );
        return complete(record, CompleteReason::Deregistered, why, now);
    };
    if instance.is_empty() {
        let why = format!(
            "{} has no task left that is running, starting or stopping (drained in {}s)",
            record.instance_id, held
        );
        return complete(record, CompleteReason::Empty, why, now);
    }
    if held >= record.hold_limit_s(config) {
        return force_complete(record, instance, held, now);
    }
    keep_holding(record, instance, config, now)
}

fn complete(
    record: &HookRecord,
    reason: CompleteReason,
    why: String,
    now: u64,
) -> (HookRecord, Vec<(Action, String)>) {
    let mut done = record.clone();
    done.state = HookState::Completed { at: now, reason };
    let action = Action::CompleteHook {
        asg: record.asg.clone(),
        hook_name: record.hook_name.clone(),
        instance_id: record.instance_id.clone(),
        token: record.token.clone(),
        result: HookResult::Continue,
    };
    (done, vec![(action, why)])
}

fn force_complete(
    record: &HookRecord,
    instance: &ContainerInstance,
    held: u64,
    now: u64,
) -> (HookRecord, Vec<(Action, String)>) {
    let remaining = instance.non_daemon_task_count();
    let why = format!(
        "{} held {}s, the maximum: completing with {remaining} task(s) still on it",
        record.instance_id, held
    );
    let (done, mut actions) = complete(record, CompleteReason::MaxHold, why.clone(), now);
    let alert = alerts::hook_forced(&record.asg, &record.instance_id, remaining, held, now);
    actions.push((Action::Alert(Box::new(alert)), why));
    (done, actions)
}

/// Tasks remain: make sure the instance drains, and heartbeat before Auto Scaling's timeout.
fn keep_holding(
    record: &HookRecord,
    instance: &ContainerInstance,
    config: &Config,
    now: u64,
) -> (HookRecord, Vec<(Action, String)>) {
    let mut next = record.clone();
    let mut actions = Vec::new();
    if instance.status != InstanceStatus::Draining {
        // The drain on the event failed, or someone set the instance back to ACTIVE.
        let why = format!(
            "{} is terminating but {:?}: draining it again",
            record.instance_id, instance.status
        );
        actions.push((
            Action::DrainInstance {
                instance_id: instance.id.clone(),
                container_instance_arn: Some(instance.arn.clone()),
            },
            why,
        ));
    }
    let deadline = record.last_heartbeat_at + record.heartbeat_timeout_s;
    if now + config.heartbeat_margin_s >= deadline {
        next.last_heartbeat_at = now;
        let why = format!(
            "{} still has {} task(s); heartbeat timeout in {}s",
            record.instance_id,
            instance.non_daemon_task_count(),
            deadline.saturating_sub(now)
        );
        actions.push((
            Action::HeartbeatHook {
                asg: record.asg.clone(),
                hook_name: record.hook_name.clone(),
                instance_id: record.instance_id.clone(),
                token: record.token.clone(),
            },
            why,
        ));
    }
    (next, actions)
}
