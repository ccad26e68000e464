//! The noise policy: which events are deliberately dropped, each rule a switch (all on by
//! default), and the reason every drop carries (logged and counted by the function).

/// Which kinds of noise to drop. Every rule is on by default; turning one off turns its events
/// into low-severity alerts instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoisePolicy {
    /// `SERVICE_STEADY_STATE` (and task set / capacity provider steady state): repeats
    /// periodically.
    pub drop_steady_state: bool,
    /// Tasks the scheduler stopped for a deployment or scale-in with no failed container.
    pub drop_routine_stops: bool,
    /// Tasks someone stopped on purpose (`UserInitiated`).
    pub drop_user_initiated_stops: bool,
    /// Container instance agent connection changes: the agent reconnects several times an hour.
    pub drop_agent_reconnects: bool,
    /// Task events that are not `STOPPED` (`PENDING`, `RUNNING`, ...).
    pub drop_non_stopped_tasks: bool,
    /// Informational events that are not problems (`SERVICE_DESIRED_COUNT_UPDATED`, unknown
    /// service actions with `eventType` INFO, routine container instance status changes).
    pub drop_informational: bool,
}

impl Default for NoisePolicy {
    fn default() -> Self {
        NoisePolicy {
            drop_steady_state: true,
            drop_routine_stops: true,
            drop_user_initiated_stops: true,
            drop_agent_reconnects: true,
            drop_non_stopped_tasks: true,
            drop_informational: true,
        }
    }
}

impl NoisePolicy {
    /// The default policy with the named rules switched off (their events become info alerts),
    /// from a comma-separated list of [`NoiseRule::as_str`] names; empty keeps the default.
    pub fn keeping(names: &str) -> Result<Self, String> {
        let mut policy = NoisePolicy::default();
        for name in names.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let rule = NoiseRule::SWITCHABLE
                .into_iter()
                .find(|rule| rule.as_str() == name)
                .ok_or_else(|| {
                    let known: Vec<&str> =
                        NoiseRule::SWITCHABLE.iter().map(|r| r.as_str()).collect();
                    format!("unknown noise rule {name:?} (known: {})", known.join(", "))
                })?;
            match rule {
                NoiseRule::SteadyState => policy.drop_steady_state = false,
                NoiseRule::RoutineStop => policy.drop_routine_stops = false,
                NoiseRule::UserInitiatedStop => policy.drop_user_initiated_stops = false,
                NoiseRule::AgentReconnect => policy.drop_agent_reconnects = false,
                NoiseRule::NotStopped => policy.drop_non_stopped_tasks = false,
                NoiseRule::Informational => policy.drop_informational = false,
                NoiseRule::Unsupported => {}
            }
        }
        Ok(policy)
    }

    /// Whether `rule` is switched on. Rules that are not policy choices (unsupported events)
    /// always apply.
    pub fn drops(&self, rule: NoiseRule) -> bool {
        match rule {
            NoiseRule::SteadyState => self.drop_steady_state,
            NoiseRule::RoutineStop => self.drop_routine_stops,
            NoiseRule::UserInitiatedStop => self.drop_user_initiated_stops,
            NoiseRule::AgentReconnect => self.drop_agent_reconnects,
            NoiseRule::NotStopped => self.drop_non_stopped_tasks,
            NoiseRule::Informational => self.drop_informational,
            NoiseRule::Unsupported => true,
        }
    }
}

/// The rule behind a drop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NoiseRule {
    SteadyState,
    RoutineStop,
    UserInitiatedStop,
    AgentReconnect,
    NotStopped,
    Informational,
    /// An event type or shape this function does not alert on.
    Unsupported,
}

impl NoiseRule {
    /// The rules a policy can switch off.
    pub const SWITCHABLE: [NoiseRule; 6] = [
        NoiseRule::SteadyState,
        NoiseRule::RoutineStop,
        NoiseRule::UserInitiatedStop,
        NoiseRule::AgentReconnect,
        NoiseRule::NotStopped,
        NoiseRule::Informational,
    ];

    /// A snake_case name, for logs and metric dimensions.
    pub fn as_str(self) -> &'static str {
        match self {
            NoiseRule::SteadyState => "steady_state",
            NoiseRule::RoutineStop => "routine_stop",
            NoiseRule::UserInitiatedStop => "user_initiated_stop",
            NoiseRule::AgentReconnect => "agent_reconnect",
            NoiseRule::NotStopped => "not_stopped",
            NoiseRule::Informational => "informational",
            NoiseRule::Unsupported => "unsupported",
        }
    }
}

/// A deliberate drop: the rule and a reason for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dropped {
    pub rule: NoiseRule,
    pub reason: String,
}

impl Dropped {
    pub fn new(rule: NoiseRule, reason: impl Into<String>) -> Self {
        Dropped {
            rule,
            reason: reason.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_is_on_by_default_and_can_be_switched_off() {
        let policy = NoisePolicy::default();
        assert!(NoiseRule::SWITCHABLE.iter().all(|rule| policy.drops(*rule)));
        let off = NoisePolicy {
            drop_steady_state: false,
            ..policy
        };
        assert!(!off.drops(NoiseRule::SteadyState));
        assert!(off.drops(NoiseRule::Unsupported));
    }

    #[test]
    fn keeping_switches_named_rules_off_and_rejects_unknown_names() {
        assert_eq!(NoisePolicy::keeping(" ").unwrap(), NoisePolicy::default());
        let policy = NoisePolicy::keeping("steady_state, routine_stop").unwrap();
        assert!(!policy.drops(NoiseRule::SteadyState));
        assert!(!policy.drops(NoiseRule::RoutineStop));
        assert!(policy.drops(NoiseRule::UserInitiatedStop));
        for rule in NoiseRule::SWITCHABLE {
            assert!(!NoisePolicy::keeping(rule.as_str()).unwrap().drops(rule));
        }
        let error = NoisePolicy::keeping("steady").unwrap_err();
        assert!(
            error.contains("\"steady\"") && error.contains("routine_stop"),
            "{error}"
        );
    }
}
