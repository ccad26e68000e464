//! Properties over random clusters: no plan ever lets a task be stopped without draining, and no
//! plan sets the desired capacity outside [min, max].

mod common;

use common::*;
use fleetwatch_scaling::hooks::{self, TerminateEvent};
use fleetwatch_scaling::{
    Action, Config, ContainerInstance, InstanceStatus, Mode, Plan, Snapshot, TaskStatus, plan,
};
use proptest::prelude::*;

fn status() -> impl Strategy<Value = TaskStatus> {
    prop_oneof![
        Just(TaskStatus::Provisioning),
        Just(TaskStatus::Pending),
        Just(TaskStatus::Activating),
        Just(TaskStatus::Running),
        Just(TaskStatus::Deactivating),
        Just(TaskStatus::Stopping),
        Just(TaskStatus::Deprovisioning),
        Just(TaskStatus::Stopped),
    ]
}

fn instance_strategy(index: usize) -> impl Strategy<Value = ContainerInstance> {
    (
        prop::collection::vec((0..3usize, status(), 1..4u32, any::<bool>()), 0..4),
        any::<bool>(),
        any::<bool>(),
        0..3usize,
        prop_oneof![Just(0u64), Just(NOW - 60)],
    )
        .prop_map(move |(tasks, drained, protected, az, launched_at)| {
            let tasks = tasks
                .into_iter()
                .map(|(service, status, size, daemon)| {
                    let mut t = task(
                        ["web", "api", "worker"][service],
                        size * 256,
                        size * 512,
                        status,
                    );
                    t.daemon = daemon && size == 1;
                    t
                })
                .collect();
            let mut i = instance(&format!("i-{index}"), ["a", "b", "c"][az], tasks);
            if drained {
                i.status = InstanceStatus::Draining;
            }
            i.protected = protected;
            i.launched_at = launched_at;
            i
        })
}

fn snapshot_strategy() -> impl Strategy<Value = (Snapshot, Config)> {
    (
        prop::collection::vec(any::<u8>(), 0..7),
        prop::collection::vec((1..9u32, 1..9u32, any::<bool>()), 0..12),
        (0..4u32, 0..12u32, 0..3u32, 0..3usize),
        (1..4u32, 1..4u32, any::<bool>(), any::<bool>()),
    )
        .prop_flat_map(
            |(seeds, pending, (min, max_extra, desired_extra, hooked), knobs)| {
                let n = seeds.len();
                let instances: Vec<_> = (0..n).map(instance_strategy).collect();
                (
                    instances,
                    Just((pending, min, max_extra, desired_extra, hooked, knobs)),
                )
            },
        )
        .prop_map(
            |(instances, (pending_specs, min, max_extra, desired_extra, hooked, knobs))| {
                let n = instances.len() as u32;
                let mut s = snapshot(instances);
                s.asg.min = min.min(n);
                s.asg.max = (n + max_extra).max(s.asg.min).max(1);
                s.asg.desired = (n + desired_extra).min(s.asg.max).max(s.asg.min);
                s.services = ["web", "api", "worker"]
                    .iter()
                    .map(|name| service(name, 3, 3))
                    .collect();
                s.pending_tasks = pending_specs
                    .into_iter()
                    .enumerate()
                    .map(|(i, (cpu, memory, spread))| {
                        let mut p = pending(&format!("p{i}"), "web", cpu * 256, memory * 1024);
                        p.placement.spread_az = spread;
                        p
                    })
                    .collect();
                // Some instances already terminating under a hook.
                for instance in s.instances.iter().take(hooked) {
                    let event = TerminateEvent {
                        instance_id: instance.id.clone(),
                        asg: s.asg.name.clone(),
                        hook_name: "fleetwatch-drain".into(),
                        token: format!("tok-{}", instance.id),
                        at: NOW - 120,
                        heartbeat_timeout_s: 300,
                    };
                    s.hooks.extend(hooks::on_terminate(None, &event).records);
                }
                let (budget, step, observe, spare) = knobs;
                let config = Config {
                    disruption_budget: budget,
                    max_scale_in_step: step,
                    mode: if observe {
                        Mode::Observe
                    } else {
                        Mode::Enforce
                    },
                    spare_instances: u32::from(spare),
                    scale_in_delay_s: 30,
                    ..Config::default()
                };
                (s, config)
            },
        )
}

/// Instances the group may pick when the desired capacity drops: in service (no hook) and
/// unprotected once the plan's protection changes are applied.
fn pickable<'a>(s: &'a Snapshot, plan: &Plan) -> Vec<&'a ContainerInstance> {
    let mut protected: std::collections::BTreeMap<&str, bool> = s
        .instances
        .iter()
        .map(|i| (i.id.as_str(), i.protected))
        .collect();
    for action in plan.actions() {
        match action {
            Action::Protect { instance_ids, .. } => {
                for id in instance_ids {
                    protected.insert(id, true);
                }
            }
            Action::Unprotect { instance_ids, .. } => {
                for id in instance_ids {
                    protected.insert(id, false);
                }
            }
            _ => {}
        }
    }
    let hooked: Vec<&str> = s.hooks.iter().map(|h| h.instance_id.as_str()).collect();
    s.instances
        .iter()
        .filter(|i| !protected[i.id.as_str()] && !hooked.contains(&i.id.as_str()))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn desired_capacity_stays_within_min_and_max((s, config) in snapshot_strategy()) {
        let plan = plan(&s, &config, NOW);
        if let Some(desired) = plan.desired() {
            prop_assert!(desired <= s.asg.max, "{} > max {}", desired, s.asg.max);
            prop_assert!(desired >= s.asg.min, "{} < min {}", desired, s.asg.min);
        }
    }

    #[test]
    fn no_plan_stops_a_task_without_draining((s, config) in snapshot_strategy()) {
        let plan = plan(&s, &config, NOW);
        let explain = plan.explain();
        // Lowering the desired capacity: every instance the group could pick is drained and
        // empty, and there are at least as many of them as the drop.
        if let Some(desired) = plan.desired().filter(|d| *d < s.asg.desired) {
            let pickable = pickable(&s, &plan);
            for i in &pickable {
                prop_assert!(i.is_empty(), "{} has tasks\n{}", i.id, explain);
                prop_assert_eq!(&i.status, &InstanceStatus::Draining, "{} not drained\n{}", i.id, explain);
            }
            prop_assert!((s.asg.desired - desired) as usize <= pickable.len(), "{}", explain);
        }
        // Unprotecting: only drained, empty instances.
        for action in plan.actions() {
            if let Action::Unprotect { instance_ids, .. } = action {
                for id in instance_ids {
                    let i = s.instance(id).unwrap();
                    prop_assert!(i.is_empty() && i.status == InstanceStatus::Draining, "{}", explain);
                }
            }
            // Completing a hook: the instance is gone or empty (the maximum hold is far away).
            if let Action::CompleteHook { instance_id, .. } = action {
                prop_assert!(s.instance(instance_id).is_none_or(ContainerInstance::is_empty), "{}", explain);
            }
        }
    }
}
