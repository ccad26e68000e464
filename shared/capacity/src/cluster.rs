//! The cluster port: read a snapshot of the ECS cluster, its Auto Scaling group and capacity
//! providers; carry out one planned action. The AWS adapter is `fleetwatch-aws`'s
//! `EcsAutoScalingCluster`; [`MemoryCluster`] is the in-memory one for tests and the CLI.

use std::collections::BTreeSet;
use std::future::Future;
use std::sync::Mutex;

use fleetwatch_ports::{Fault, FaultKind};
use fleetwatch_scaling::{Action, InstanceStatus, Snapshot};

/// What the cluster looks like now.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterView {
    /// The planner's input, without hook records (the handler adds the stored ones).
    pub snapshot: Snapshot,
    /// Instances of the group in `Terminating:Wait`: a lifecycle hook holds them. One our
    /// records do not know (its event was lost) is adopted and drained like an event's.
    pub terminating: Vec<String>,
}

impl ClusterView {
    pub fn new(snapshot: Snapshot) -> Self {
        ClusterView {
            snapshot,
            terminating: Vec::new(),
        }
    }
}

/// How a call ended when it did not fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Done {
    Applied,
    /// Nothing left to do: the hook is no longer active (completed before, or timed out), or the
    /// instance to drain is no longer registered. Completing a hook twice is an error from Auto
    /// Scaling that means exactly this.
    AlreadyDone,
}

/// A failed call, classified transient or permanent by the adapter that made it.
#[derive(Debug, thiserror::Error)]
#[error("{operation}")]
pub struct ClusterError {
    /// The call and its subject, e.g. `SetDesiredCapacity prod-asg to 5`.
    pub operation: String,
    #[source]
    pub fault: Fault,
}

impl ClusterError {
    pub fn new(operation: impl Into<String>, fault: Fault) -> Self {
        ClusterError {
            operation: operation.into(),
            fault,
        }
    }

    pub fn kind(&self) -> FaultKind {
        self.fault.kind()
    }

    pub fn is_transient(&self) -> bool {
        self.fault.is_transient()
    }
}

/// The reads and writes capacity planning needs, for one cluster and one group (chosen when the
/// adapter is built).
pub trait ClusterApi: Send + Sync {
    /// The cluster, the group and the capacity providers as they are now (`now`, epoch seconds,
    /// stamps what the APIs do not date).
    fn snapshot(&self, now: u64) -> impl Future<Output = Result<ClusterView, ClusterError>> + Send;

    /// Carries out one action. Alerts are not the cluster's: the handler publishes them.
    fn execute(&self, action: &Action) -> impl Future<Output = Result<Done, ClusterError>> + Send;
}

/// The name an action is counted and failed by (`set_desired_capacity`, `drain_instance`, ...),
/// as the planner serialises its kind.
pub fn action_kind(action: &Action) -> &'static str {
    match action {
        Action::SetDesiredCapacity { .. } => "set_desired_capacity",
        Action::Protect { .. } => "protect",
        Action::Unprotect { .. } => "unprotect",
        Action::DrainInstance { .. } => "drain_instance",
        Action::HeartbeatHook { .. } => "heartbeat_hook",
        Action::CompleteHook { .. } => "complete_hook",
        Action::Alert(_) => "alert",
    }
}

/// An in-memory cluster with the adapter's semantics: actions change the view (desired
/// capacity, protection, DRAINING), a completed hook stays completed and completing or
/// heartbeating it again is [`Done::AlreadyDone`], an instance that is not registered drains as
/// `AlreadyDone`. Failures can be injected per action kind.
#[derive(Debug)]
pub struct MemoryCluster {
    state: Mutex<MemoryState>,
}

#[derive(Debug)]
struct MemoryState {
    view: ClusterView,
    executed: Vec<Action>,
    completed_hooks: BTreeSet<String>,
    failures: Vec<(&'static str, FaultKind)>,
    snapshots: usize,
}

impl MemoryCluster {
    pub fn new(view: ClusterView) -> Self {
        MemoryCluster {
            state: Mutex::new(MemoryState {
                view,
                executed: Vec::new(),
                completed_hooks: BTreeSet::new(),
                failures: Vec::new(),
                snapshots: 0,
            }),
        }
    }

    /// Changes the cluster between invocations (tasks stop, instances register, ...).
    pub fn update(&self, change: impl FnOnce(&mut ClusterView)) {
        change(&mut self.lock().view);
    }

    pub fn view(&self) -> ClusterView {
        self.lock().view.clone()
    }

    /// Every action carried out so far, in order (failed ones excluded).
    pub fn executed(&self) -> Vec<Action> {
        self.lock().executed.clone()
    }

    /// Forgets the executed actions (to look at one invocation's).
    pub fn take_executed(&self) -> Vec<Action> {
        std::mem::take(&mut self.lock().executed)
    }

    /// EC2 instance ids whose hook has been completed.
    pub fn completed_hooks(&self) -> BTreeSet<String> {
        self.lock().completed_hooks.clone()
    }

    /// Marks a hook completed elsewhere (by hand, or by its timeout).
    pub fn complete_hook_elsewhere(&self, instance_id: &str) {
        self.lock().completed_hooks.insert(instance_id.to_string());
    }

    /// The next action of `kind` (see [`action_kind`]) fails with a fault of `fault`.
    pub fn fail_next(&self, kind: &'static str, fault: FaultKind) {
        self.lock().failures.push((kind, fault));
    }

    pub fn snapshots_read(&self) -> usize {
        self.lock().snapshots
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, MemoryState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl ClusterApi for MemoryCluster {
    async fn snapshot(&self, _now: u64) -> Result<ClusterView, ClusterError> {
        let mut state = self.lock();
        state.snapshots += 1;
        Ok(state.view.clone())
    }

    async fn execute(&self, action: &Action) -> Result<Done, ClusterError> {
        let kind = action_kind(action);
        let mut state = self.lock();
        if let Some(position) = state.failures.iter().position(|(k, _)| *k == kind) {
            let (_, fault) = state.failures.remove(position);
            let cause = format!("injected {fault} failure of {kind}");
            let fault = match fault {
                FaultKind::Transient => Fault::transient(cause),
                FaultKind::Permanent => Fault::permanent(cause),
            };
            return Err(ClusterError::new(kind, fault));
        }
        let snapshot = &mut state.view.snapshot;
        let done = match action {
            Action::SetDesiredCapacity { desired, .. } => {
                snapshot.asg.desired = *desired;
                Done::Applied
            }
            Action::Protect { instance_ids, .. } | Action::Unprotect { instance_ids, .. } => {
                let protect = matches!(action, Action::Protect { .. });
                for instance in &mut snapshot.instances {
                    if instance_ids.contains(&instance.id) {
                        instance.protected = protect;
                    }
                }
                Done::Applied
            }
            Action::DrainInstance { instance_id, .. } => {
                match snapshot.instances.iter_mut().find(|i| &i.id == instance_id) {
                    Some(instance) => {
                        instance.status = InstanceStatus::Draining;
                        Done::Applied
                    }
                    None => Done::AlreadyDone,
                }
            }
            Action::HeartbeatHook { instance_id, .. } => {
                if state.completed_hooks.contains(instance_id) {
                    Done::AlreadyDone
                } else {
                    Done::Applied
                }
            }
            Action::CompleteHook { instance_id, .. } => {
                if state.completed_hooks.insert(instance_id.clone()) {
                    Done::Applied
                } else {
                    Done::AlreadyDone
                }
            }
            Action::Alert(_) => Done::AlreadyDone,
        };
        if !matches!(action, Action::Alert(_)) {
            state.executed.push(action.clone());
        }
        Ok(done)
    }
}
