//! The planner's output: actions with a reason each, in the order they must be applied.

use fleetwatch_alerts::Alert;
use serde::{Deserialize, Serialize};

use crate::hooks::HookRecord;
use crate::model::Mode;

/// One thing to do to the cluster or the group, or one alert to publish.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    /// `SetDesiredCapacity` (without honouring cooldown).
    SetDesiredCapacity { asg: String, desired: u32 },
    /// `SetInstanceProtection` on.
    Protect {
        asg: String,
        instance_ids: Vec<String>,
    },
    /// `SetInstanceProtection` off: these are the only instances the group may pick when the
    /// desired capacity drops.
    Unprotect {
        asg: String,
        instance_ids: Vec<String>,
    },
    /// `UpdateContainerInstancesState` to DRAINING. The ARN is `None` when only the EC2 id is
    /// known (a lifecycle event); the adapter looks it up.
    DrainInstance {
        instance_id: String,
        container_instance_arn: Option<String>,
    },
    /// `RecordLifecycleActionHeartbeat`.
    HeartbeatHook {
        asg: String,
        hook_name: String,
        instance_id: String,
        token: String,
    },
    /// `CompleteLifecycleAction` with CONTINUE. Completing twice is an error from AWS that the
    /// adapter treats as success.
    CompleteHook {
        asg: String,
        hook_name: String,
        instance_id: String,
        token: String,
        result: HookResult,
    },
    /// Publish to the alerts queue.
    Alert(Box<Alert>),
}

/// The lifecycle action result. Only CONTINUE is ever sent: the instance is going anyway, the
/// question is only when.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum HookResult {
    Continue,
}

impl Action {
    pub fn is_alert(&self) -> bool {
        matches!(self, Action::Alert(_))
    }
}

/// An action, why, and whether it is to be carried out (false for everything but alerts in
/// observe mode, and for everything when standing down).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    pub action: Action,
    pub why: String,
    pub execute: bool,
}

/// What the planner decided.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub mode: Mode,
    /// A capacity provider manages the group: no action but the one alert.
    pub stood_down: bool,
    /// In the order they must be applied (protection before a desired-capacity drop).
    pub steps: Vec<Step>,
    /// The lifecycle-hook records to store back (state table).
    pub hooks: Vec<HookRecord>,
}

impl Plan {
    /// All actions, executed or not.
    pub fn actions(&self) -> impl Iterator<Item = &Action> {
        self.steps.iter().map(|s| &s.action)
    }

    /// The actions to carry out.
    pub fn to_execute(&self) -> impl Iterator<Item = &Action> {
        self.steps.iter().filter(|s| s.execute).map(|s| &s.action)
    }

    pub fn alerts(&self) -> impl Iterator<Item = &Alert> {
        self.actions().filter_map(|a| match a {
            Action::Alert(alert) => Some(alert.as_ref()),
            _ => None,
        })
    }

    /// The desired capacity this plan sets, if it sets one.
    pub fn desired(&self) -> Option<u32> {
        self.actions().find_map(|a| match a {
            Action::SetDesiredCapacity { desired, .. } => Some(*desired),
            _ => None,
        })
    }

    /// Instances this plan puts into DRAINING.
    pub fn drained(&self) -> Vec<&str> {
        self.actions()
            .filter_map(|a| match a {
                Action::DrainInstance { instance_id, .. } => Some(instance_id.as_str()),
                _ => None,
            })
            .collect()
    }

    /// Every step with its reason, one line each, for logs and the CLI.
    pub fn explain(&self) -> String {
        self.steps
            .iter()
            .map(|s| {
                let mark = if s.execute { "" } else { " (not executed)" };
                format!("{}{mark}: {}", describe(&s.action), s.why)
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

fn describe(action: &Action) -> String {
    match action {
        Action::SetDesiredCapacity { asg, desired } => format!("set {asg} desired to {desired}"),
        Action::Protect { instance_ids, .. } => format!("protect {}", instance_ids.join(", ")),
        Action::Unprotect { instance_ids, .. } => {
            format!("unprotect {}", instance_ids.join(", "))
        }
        Action::DrainInstance { instance_id, .. } => format!("drain {instance_id}"),
        Action::HeartbeatHook { instance_id, .. } => format!("heartbeat hook of {instance_id}"),
        Action::CompleteHook { instance_id, .. } => format!("complete hook of {instance_id}"),
        Action::Alert(alert) => format!("alert {:?}", alert.title),
    }
}
