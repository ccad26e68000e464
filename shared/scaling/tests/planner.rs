//! One table per planner rule: each row a named situation and what the plan must do.

mod common;

use common::*;
use fleetwatch_scaling::{
    Action, CapacityProvider, Config, MANAGED_DRAINING_HOOK, Mode, Plan, Snapshot, TaskStatus, plan,
};

struct Case {
    name: &'static str,
    snapshot: Snapshot,
    config: Config,
    desired: Option<u32>,
    drained: &'static [&'static str],
    unprotected: &'static [&'static str],
    /// Substrings of alert titles that must appear (in any order).
    alerts: &'static [&'static str],
}

impl Case {
    fn new(name: &'static str, snapshot: Snapshot) -> Case {
        Case {
            name,
            snapshot,
            config: Config::default(),
            desired: None,
            drained: &[],
            unprotected: &[],
            alerts: &[],
        }
    }
}

fn unprotected(plan: &Plan) -> Vec<&str> {
    plan.actions()
        .filter_map(|a| match a {
            Action::Unprotect { instance_ids, .. } => Some(instance_ids),
            _ => None,
        })
        .flatten()
        .map(String::as_str)
        .collect()
}

fn check(cases: Vec<Case>) {
    for case in cases {
        let plan = plan(&case.snapshot, &case.config, NOW);
        let context = format!("{}:\n{}", case.name, plan.explain());
        assert_eq!(plan.desired(), case.desired, "desired, {context}");
        assert_eq!(plan.drained(), case.drained, "drained, {context}");
        assert_eq!(
            unprotected(&plan),
            case.unprotected,
            "unprotected, {context}"
        );
        let titles: Vec<&str> = plan.alerts().map(|a| a.title.as_str()).collect();
        for wanted in case.alerts {
            assert!(
                titles.iter().any(|t| t.contains(wanted)),
                "alert {wanted:?} missing in {titles:?}, {context}"
            );
        }
    }
}

fn with_pending(mut s: Snapshot, tasks: Vec<fleetwatch_scaling::PendingTask>) -> Snapshot {
    s.pending_tasks = tasks;
    s
}

fn five_one_vcpu_tasks() -> Vec<fleetwatch_scaling::PendingTask> {
    (0..5)
        .map(|i| pending(&format!("t{i}"), "api", 1024, 1024))
        .collect()
}

#[test]
fn scale_out_in_one_step_to_the_packing() {
    let mut spread = with_pending(
        snapshot(vec![]),
        (0..3)
            .map(|i| pending(&format!("w{i}"), "web", 256, 256))
            .collect(),
    );
    for t in &mut spread.pending_tasks {
        t.placement.spread_az = true;
    }
    let mut distinct = with_pending(
        snapshot(vec![instance("i-1", "a", vec![running("cache", 256, 512)])]),
        (0..3)
            .map(|i| pending(&format!("c{i}"), "cache", 256, 512))
            .collect(),
    );
    for t in &mut distinct.pending_tasks {
        t.placement.distinct_instance = true;
    }
    let mut in_flight = with_pending(snapshot(vec![]), five_one_vcpu_tasks());
    in_flight.asg.desired = 3;
    in_flight.asg.in_flight = vec![
        in_flight_i("i-7", "a"),
        in_flight_i("i-8", "b"),
        in_flight_i("i-9", "c"),
    ];
    let mut requested = with_pending(snapshot(vec![]), five_one_vcpu_tasks());
    requested.asg.desired = 3;
    let mut partly_coming = with_pending(snapshot(vec![]), five_one_vcpu_tasks());
    partly_coming.asg.desired = 1;
    partly_coming.asg.in_flight = vec![in_flight_i("i-7", "a")];

    check(vec![
        Case {
            desired: Some(3),
            alerts: &["Scaling prod-asg out from 0 to 3 for 5 pending task(s)"],
            ..Case::new(
                "five 1-vCPU tasks from zero: two per instance, three instances at once",
                with_pending(snapshot(vec![]), five_one_vcpu_tasks()),
            )
        },
        Case::new(
            "in-flight instances are counted: nothing added twice",
            in_flight,
        ),
        Case::new("desired capacity not launched yet is counted", requested),
        Case {
            desired: Some(3),
            ..Case::new("one instance coming: two more, not three", partly_coming)
        },
        Case::new(
            "room on registered instances is used first",
            with_pending(
                snapshot(vec![instance("i-1", "a", vec![])]),
                vec![
                    pending("t1", "api", 1024, 1024),
                    pending("t2", "api", 1024, 1024),
                ],
            ),
        ),
        Case {
            desired: Some(2),
            ..Case::new(
                "memory binds as well as CPU",
                with_pending(
                    snapshot(vec![]),
                    vec![
                        pending("m1", "mem", 256, 5000),
                        pending("m2", "mem", 256, 5000),
                    ],
                ),
            )
        },
        Case {
            desired: Some(4),
            ..Case::new(
                "distinctInstance: one task of the service per instance",
                distinct,
            )
        },
        Case {
            desired: Some(3),
            ..Case::new(
                "AZ spread: three small tasks need one instance per zone",
                spread,
            )
        },
        Case {
            alerts: &["1 pending task(s) fit no instance type of prod-asg"],
            ..Case::new(
                "a task bigger than every type is alerted, not scaled for",
                with_pending(snapshot(vec![]), vec![pending("big", "report", 4096, 1024)]),
            )
        },
    ]);
}

fn in_flight_i(id: &str, az: &str) -> fleetwatch_scaling::InFlight {
    in_flight(id, az)
}

#[test]
fn scale_out_stays_within_max_and_step_limits() {
    let mut at_max = with_pending(snapshot(vec![]), five_one_vcpu_tasks());
    at_max.asg.max = 2;
    let mut already_max = with_pending(
        snapshot(vec![instance("i-1", "a", vec![running("api", 2048, 1024)])]),
        five_one_vcpu_tasks(),
    );
    already_max.asg.max = 1;
    check(vec![
        Case {
            desired: Some(2),
            alerts: &["prod-asg is at its maximum of 2 instances with 1 task(s) pending"],
            ..Case::new("capped at max, with an alert", at_max)
        },
        Case {
            alerts: &["prod-asg is at its maximum of 1 instances with 5 task(s) pending"],
            ..Case::new("already at max: no change, an alert", already_max)
        },
        Case {
            desired: Some(1),
            config: Config {
                max_scale_out_step: 1,
                ..Config::default()
            },
            ..Case::new(
                "step limit: one at a time, and no at-max alert",
                with_pending(snapshot(vec![]), five_one_vcpu_tasks()),
            )
        },
    ]);
    // The step-limited plan must not claim the group is at max.
    let plan = plan(
        &with_pending(snapshot(vec![]), five_one_vcpu_tasks()),
        &Config {
            max_scale_out_step: 1,
            ..Config::default()
        },
        NOW,
    );
    assert!(plan.alerts().all(|a| !a.title.contains("maximum")));
}

/// Two instances in zone a: i-1 with one web task, i-2 with two; web keeps 3 tasks.
fn half_empty() -> Snapshot {
    let mut s = snapshot(vec![
        instance("i-1", "a", vec![running("web", 512, 1024)]),
        instance(
            "i-2",
            "a",
            vec![running("web", 512, 1024), running("web", 512, 1024)],
        ),
    ]);
    s.services = vec![service("web", 3, 3)];
    s
}

#[test]
fn consolidation_drains_the_emptiest_when_its_tasks_fit_elsewhere() {
    let mut young = half_empty();
    young.instances[0].launched_at = NOW - 60;
    young.instances[1].launched_at = NOW - 60;
    let mut strict = half_empty();
    strict.services[0].maximum_percent = 100;
    let mut half_healthy = strict.clone();
    half_healthy.services[0].minimum_healthy_percent = 50;
    let mut other_zone = half_empty();
    other_zone.instances[1].az = "b".into();
    other_zone.services[0].placement.spread_az = true;
    let mut standalone = half_empty();
    standalone.instances[0].tasks[0].service = None;
    let waiting = with_pending(half_empty(), vec![pending("t1", "web", 512, 1024)]);
    let mut four = snapshot(
        (1..=4)
            .map(|i| instance(&format!("i-{i}"), "a", vec![running("web", 256, 512)]))
            .collect(),
    );
    four.services = vec![service("web", 4, 4)];
    let mut min_size = half_empty();
    min_size.asg.min = 2;

    check(vec![
        Case {
            drained: &["i-1"],
            alerts: &["Consolidating prod-asg: draining i-1"],
            ..Case::new(
                "the emptiest instance's task fits on the other",
                half_empty(),
            )
        },
        Case::new("instances younger than the scale-in delay stay", young),
        Case::new(
            "minimumHealthyPercent 100 with maximumPercent 100: nothing may leave",
            strict,
        ),
        Case {
            drained: &["i-1"],
            ..Case::new(
                "minimumHealthyPercent 50 lets one of three go",
                half_healthy,
            )
        },
        Case::new("an AZ-spread task has no room in its own zone", other_zone),
        Case {
            drained: &["i-2"],
            ..Case::new(
                "an instance with a standalone task is skipped (nothing replaces it)",
                standalone,
            )
        },
        Case::new("no consolidation while a task waits", waiting),
        Case::new("never below the group's minimum", min_size),
        Case {
            drained: &["i-1", "i-3"],
            ..Case::new(
                "at most the disruption budget (2) at once; receivers stay",
                four,
            )
        },
    ]);
}

#[test]
fn disruption_budget_counts_instances_already_draining() {
    let mut s = half_empty();
    s.instances.push(draining(instance(
        "i-3",
        "b",
        vec![running("web", 512, 1024)],
    )));
    s.asg.desired = 3;
    s.services[0].desired = 4;
    s.services[0].running = 4;
    let config = Config {
        disruption_budget: 1,
        ..Config::default()
    };
    let plan = plan(&s, &config, NOW);
    assert!(plan.drained().is_empty(), "{}", plan.explain());
}

/// i-1 DRAINING with one task in `status`, i-2 busy.
fn drained_with(status: Option<TaskStatus>) -> Snapshot {
    let tasks = status
        .map(|s| vec![task("web", 512, 1024, s)])
        .unwrap_or_default();
    let mut s = snapshot(vec![
        draining(instance("i-1", "a", tasks)),
        instance("i-2", "b", vec![running("web", 512, 1024)]),
    ]);
    s.services = vec![service("web", 1, 1)];
    s
}

#[test]
fn an_instance_is_released_only_when_no_task_holds_it() {
    let mut only_finished = drained_with(Some(TaskStatus::Stopped));
    let mut daemon = task("agent", 128, 128, TaskStatus::Running);
    daemon.daemon = true;
    only_finished.instances[0].tasks.push(daemon);
    let mut min_two = drained_with(None);
    min_two.asg.min = 2;

    let mut cases = vec![
        Case {
            desired: Some(1),
            unprotected: &["i-1"],
            alerts: &["Scaling prod-asg in to 1: released i-1"],
            ..Case::new("drained and empty: released", drained_with(None))
        },
        Case {
            desired: Some(1),
            unprotected: &["i-1"],
            ..Case::new("STOPPED and daemon tasks do not hold it", only_finished)
        },
        Case::new("not below the group's minimum", min_two),
    ];
    // The AWS draining sample ended instances with DEACTIVATING and STOPPING tasks on them.
    for (name, status) in [
        ("a RUNNING task holds it", TaskStatus::Running),
        ("a PENDING task holds it", TaskStatus::Pending),
        ("an ACTIVATING task holds it", TaskStatus::Activating),
        ("a DEACTIVATING task holds it", TaskStatus::Deactivating),
        ("a STOPPING task holds it", TaskStatus::Stopping),
        ("a PROVISIONING task holds it", TaskStatus::Provisioning),
        (
            "an unknown status holds it",
            TaskStatus::Other("NEW_STATE".into()),
        ),
    ] {
        cases.push(Case::new(name, drained_with(Some(status))));
    }
    check(cases);
}

#[test]
fn busy_instances_are_protected_before_the_desired_capacity_drops() {
    let mut s = drained_with(None);
    s.instances[1].protected = false;
    let plan = plan(&s, &Config::default(), NOW);
    let actions: Vec<&Action> = plan.actions().collect();
    let protect = actions
        .iter()
        .position(|a| matches!(a, Action::Protect { instance_ids, .. } if instance_ids == &["i-2"]))
        .expect("i-2 protected");
    let desired = actions
        .iter()
        .position(|a| matches!(a, Action::SetDesiredCapacity { desired: 1, .. }))
        .expect("desired set");
    assert!(protect < desired, "{}", plan.explain());
}

#[test]
fn no_release_while_capacity_is_coming_or_the_group_disagrees() {
    let mut coming = drained_with(None);
    coming.asg.in_flight = vec![in_flight("i-9", "c")];
    coming.asg.desired = 3;
    let mut mid_change = drained_with(None);
    mid_change.asg.desired = 1;
    check(vec![
        Case::new("an instance is still launching", coming),
        Case::new(
            "desired already below the instances (the group is mid-change)",
            mid_change,
        ),
    ]);
}

#[test]
fn stands_down_next_to_ecs_managed_scaling_or_draining() {
    let provider = |scaling: bool, draining: bool, asg: &str| CapacityProvider {
        name: "cp".into(),
        asg: asg.into(),
        managed_scaling: scaling,
        managed_draining: draining,
    };
    let with = |p: Option<CapacityProvider>, hook: Option<&str>| {
        let mut s = with_pending(snapshot(vec![]), five_one_vcpu_tasks());
        s.capacity_providers.extend(p);
        s.asg.lifecycle_hooks.extend(hook.map(str::to_string));
        s
    };
    let table = [
        (
            "managed scaling",
            with(Some(provider(true, false, "prod-asg")), None),
            true,
        ),
        (
            "managed draining",
            with(Some(provider(false, true, "prod-asg")), None),
            true,
        ),
        (
            "by ASG ARN",
            with(
                Some(provider(
                    true,
                    true,
                    "arn:aws:autoscaling:eu-west-1:1:autoScalingGroup:x:autoScalingGroupName/prod-asg",
                )),
                None,
            ),
            true,
        ),
        (
            "the managed draining hook",
            with(None, Some(MANAGED_DRAINING_HOOK)),
            true,
        ),
        (
            "a provider on another group",
            with(Some(provider(true, true, "other")), None),
            false,
        ),
        (
            "a provider with both off",
            with(Some(provider(false, false, "prod-asg")), None),
            false,
        ),
    ];
    for (name, s, stands_down) in table {
        let plan = plan(&s, &Config::default(), NOW);
        assert_eq!(plan.stood_down, stands_down, "{name}");
        if stands_down {
            assert_eq!(plan.steps.len(), 1, "{name}: {}", plan.explain());
            assert!(plan.alerts().next().unwrap().title.contains("stands down"));
        } else {
            assert_eq!(plan.desired(), Some(3), "{name}");
        }
    }
}

#[test]
fn observe_mode_returns_the_actions_marked_not_executed() {
    let s = with_pending(
        snapshot(vec![instance("i-1", "a", vec![])]),
        five_one_vcpu_tasks(),
    );
    let mut s = s;
    s.instances[0].protected = false;
    let enforce = plan(&s, &Config::default(), NOW);
    let observe = plan(
        &s,
        &Config {
            mode: Mode::Observe,
            ..Config::default()
        },
        NOW,
    );
    assert_eq!(observe.desired(), enforce.desired());
    assert_eq!(observe.steps.len(), enforce.steps.len());
    for step in &observe.steps {
        assert_eq!(step.execute, step.action.is_alert(), "{:?}", step.action);
    }
    assert!(enforce.steps.iter().all(|s| s.execute));
    let summary = observe.alerts().last().unwrap();
    assert!(
        summary.title.starts_with("[observe] would: Scaling"),
        "{}",
        summary.title
    );
    assert_eq!(observe.to_execute().filter(|a| !a.is_alert()).count(), 0);
}

#[test]
fn summaries_share_a_thread_and_repeat_with_the_same_id() {
    let out = plan(
        &with_pending(snapshot(vec![]), five_one_vcpu_tasks()),
        &Config::default(),
        NOW,
    );
    let drain = plan(&half_empty(), &Config::default(), NOW + 600);
    let again = plan(&half_empty(), &Config::default(), NOW + 660);
    let (a, b, c) = (
        out.alerts().last().unwrap(),
        drain.alerts().last().unwrap(),
        again.alerts().last().unwrap(),
    );
    assert!(a.thread_key.is_some());
    assert_eq!(a.thread_key, b.thread_key);
    assert_ne!(a.id, b.id);
    // A retried invocation deciding the same thing publishes the same id (posted once).
    assert_eq!(b.id, c.id);
    assert_eq!(a.source.as_str(), "capacity");
    assert_eq!(a.labels.get("cluster").map(String::as_str), Some("prod"));
}

/// The whole plan as the function would log and execute it: actions in order, reasons, alerts.
#[test]
fn scale_out_plan_snapshot() {
    let mut s = with_pending(
        snapshot(vec![instance("i-1", "a", vec![running("api", 2048, 1024)])]),
        five_one_vcpu_tasks(),
    );
    s.instances[0].protected = false;
    insta::assert_json_snapshot!(plan(&s, &Config::default(), NOW));
}
