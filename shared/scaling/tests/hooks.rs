//! The drain state machine: terminate event, then reconciles until the hook is completed.

mod common;

use common::*;
use fleetwatch_scaling::hooks::{self, DEFAULT_HEARTBEAT_TIMEOUT_S, MAX_GLOBAL_TIMEOUT_S};
use fleetwatch_scaling::{
    Action, CompleteReason, Config, ContainerInstance, HookRecord, HookState, TaskStatus,
    TerminateEvent, plan,
};

const T0: u64 = 50_000;

fn event() -> TerminateEvent {
    TerminateEvent {
        instance_id: "i-1".into(),
        asg: "prod-asg".into(),
        hook_name: "fleetwatch-drain".into(),
        token: "tok-1".into(),
        at: T0,
        heartbeat_timeout_s: 600,
    }
}

fn recorded() -> HookRecord {
    hooks::on_terminate(None, &event()).records.remove(0)
}

fn kinds(actions: &[(Action, String)]) -> Vec<&'static str> {
    actions
        .iter()
        .map(|(a, _)| match a {
            Action::DrainInstance { .. } => "drain",
            Action::HeartbeatHook { .. } => "heartbeat",
            Action::CompleteHook { .. } => "complete",
            Action::Alert(_) => "alert",
            _ => "other",
        })
        .collect()
}

#[test]
fn terminate_event_drains_and_records_once() {
    let first = hooks::on_terminate(None, &event());
    assert_eq!(kinds(&first.actions), ["drain"]);
    let record = &first.records[0];
    assert_eq!(record.state, HookState::Holding);
    assert_eq!(record.started_at, T0);
    assert_eq!(record.global_timeout_s, 60_000, "100 x heartbeat timeout");

    // The same event again (EventBridge delivers at least once): nothing new.
    let repeat = hooks::on_terminate(Some(record), &event());
    assert!(repeat.actions.is_empty());
    assert_eq!(&repeat.records[0], record);

    // A completed hook seen again stays completed.
    let mut done = record.clone();
    done.state = HookState::Completed {
        at: T0 + 60,
        reason: CompleteReason::Empty,
    };
    let late = hooks::on_terminate(Some(&done), &event());
    assert!(late.actions.is_empty());
    assert_eq!(late.records[0], done);
}

#[test]
fn global_timeout_is_capped_at_48_hours() {
    let mut long = event();
    long.heartbeat_timeout_s = 7200;
    let record = hooks::on_terminate(None, &long).records.remove(0);
    assert_eq!(record.global_timeout_s, MAX_GLOBAL_TIMEOUT_S);
}

/// (name, the instance as ECS lists it, seconds after the event, actions, final state).
type Row = (
    &'static str,
    Option<ContainerInstance>,
    u64,
    Vec<&'static str>,
    Option<CompleteReason>,
);

#[test]
fn reconcile_table() {
    let config = Config {
        max_hook_hold_s: 3600,
        heartbeat_margin_s: 120,
        ..Config::default()
    };
    let busy =
        |status: TaskStatus| draining(instance("i-1", "a", vec![task("web", 512, 1024, status)]));
    let empty = draining(instance(
        "i-1",
        "a",
        vec![task("web", 512, 1024, TaskStatus::Stopped)],
    ));
    let active_busy = instance("i-1", "a", vec![running("web", 512, 1024)]);
    // (name, instance, seconds after the event, expected actions, expected state)
    let table: Vec<Row> = vec![
        (
            "empty: completed",
            Some(empty.clone()),
            60,
            vec!["complete"],
            Some(CompleteReason::Empty),
        ),
        (
            "gone from the cluster: completed",
            None,
            60,
            vec!["complete"],
            Some(CompleteReason::Deregistered),
        ),
        (
            "RUNNING task: held",
            Some(busy(TaskStatus::Running)),
            60,
            vec![],
            None,
        ),
        (
            "DEACTIVATING task: held",
            Some(busy(TaskStatus::Deactivating)),
            60,
            vec![],
            None,
        ),
        (
            "STOPPING task: held",
            Some(busy(TaskStatus::Stopping)),
            60,
            vec![],
            None,
        ),
        (
            "near the heartbeat timeout: heartbeat",
            Some(busy(TaskStatus::Running)),
            480,
            vec!["heartbeat"],
            None,
        ),
        (
            "set ACTIVE again: drained again",
            Some(active_busy),
            60,
            vec!["drain"],
            None,
        ),
        (
            "past the maximum hold: completed with an alert",
            Some(busy(TaskStatus::Running)),
            3600,
            vec!["complete", "alert"],
            Some(CompleteReason::MaxHold),
        ),
        (
            "empty beats the maximum",
            Some(empty),
            3600,
            vec!["complete"],
            Some(CompleteReason::Empty),
        ),
    ];
    for (name, instance, after, want, reason) in table {
        let instances: Vec<_> = instance.into_iter().collect();
        let update = hooks::reconcile(&[recorded()], &instances, &config, T0 + after);
        assert_eq!(kinds(&update.actions), want, "{name}");
        let state = &update.records[0].state;
        match reason {
            Some(r) => assert_eq!(
                state,
                &HookState::Completed {
                    at: T0 + after,
                    reason: r
                },
                "{name}"
            ),
            None => assert_eq!(state, &HookState::Holding, "{name}"),
        }
    }
}

#[test]
fn a_long_drain_is_kept_alive_by_heartbeats_until_it_empties() {
    let config = Config {
        heartbeat_margin_s: 120,
        ..Config::default()
    };
    let busy = vec![draining(instance(
        "i-1",
        "a",
        vec![running("web", 512, 1024)],
    ))];
    let mut records = vec![recorded()];
    let mut heartbeats = 0;
    // Reconcile every minute for 40 minutes with a 10-minute heartbeat timeout.
    for minute in 1..=40 {
        let update = hooks::reconcile(&records, &busy, &config, T0 + minute * 60);
        heartbeats += kinds(&update.actions)
            .iter()
            .filter(|k| **k == "heartbeat")
            .count();
        records = update.records;
        let r = &records[0];
        assert!(
            T0 + minute * 60 < r.last_heartbeat_at + r.heartbeat_timeout_s,
            "lapsed at {minute}"
        );
    }
    assert_eq!(
        heartbeats, 5,
        "one heartbeat per 8 minutes (10 min timeout, 2 min margin)"
    );
    let empty = vec![draining(instance("i-1", "a", vec![]))];
    let done = hooks::reconcile(&records, &empty, &config, T0 + 41 * 60);
    assert_eq!(kinds(&done.actions), ["complete"]);
    // Completed is final: the next reconcile does nothing.
    let after = hooks::reconcile(&done.records, &empty, &config, T0 + 42 * 60);
    assert!(after.actions.is_empty());
    assert_eq!(after.records, done.records);
}

#[test]
fn the_hold_ends_before_auto_scaling_gives_up() {
    let config = Config {
        max_hook_hold_s: 10 * 24 * 3600,
        heartbeat_margin_s: 120,
        ..Config::default()
    };
    let record = recorded();
    assert_eq!(record.hold_limit_s(&config), 60_000 - 120);
    let default = hooks::on_terminate(
        None,
        &TerminateEvent {
            heartbeat_timeout_s: DEFAULT_HEARTBEAT_TIMEOUT_S,
            ..event()
        },
    );
    assert_eq!(
        default.records[0].hold_limit_s(&config),
        MAX_GLOBAL_TIMEOUT_S - 120
    );
}

#[test]
fn the_planner_reconciles_hooks_and_stores_their_state() {
    let mut s = snapshot(vec![
        draining(instance("i-1", "a", vec![])),
        instance("i-2", "b", vec![running("web", 512, 1024)]),
    ]);
    s.asg.desired = 1;
    s.hooks = vec![recorded()];
    let plan = plan(&s, &Config::default(), T0 + 60);
    assert!(
        plan.actions()
            .any(|a| matches!(a, Action::CompleteHook { instance_id, .. } if instance_id == "i-1")),
        "{}",
        plan.explain()
    );
    assert!(!plan.hooks[0].is_holding());
    // The terminating instance is not released a second time by desired capacity.
    assert_eq!(plan.desired(), None, "{}", plan.explain());

    // Observe mode completes nothing and keeps the stored state as it was.
    let observe = fleetwatch_scaling::plan(
        &s,
        &Config {
            mode: fleetwatch_scaling::Mode::Observe,
            ..Config::default()
        },
        T0 + 60,
    );
    assert!(observe.hooks[0].is_holding());
    assert!(observe.to_execute().all(Action::is_alert));
}

#[test]
fn records_round_trip_as_plain_json() {
    let record = recorded();
    let json = serde_json::to_value(&record).unwrap();
    assert_eq!(json["state"], "holding");
    assert_eq!(json["instance_id"], "i-1");
    let back: HookRecord = serde_json::from_value(json).unwrap();
    assert_eq!(back, record);
    let mut done = record;
    done.state = HookState::Completed {
        at: T0 + 5,
        reason: CompleteReason::MaxHold,
    };
    let json = serde_json::to_value(&done).unwrap();
    assert_eq!(
        (&json["state"], &json["completed_at"], &json["reason"]),
        (&"completed".into(), &(T0 + 5).into(), &"max_hold".into())
    );
    assert_eq!(serde_json::from_value::<HookRecord>(json).unwrap(), done);
}
