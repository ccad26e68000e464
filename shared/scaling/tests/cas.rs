//! The ECS managed-scaling model: one test per documented behaviour
//! (`shared/reference/ecs-and-scaling.md`).

use fleetwatch_scaling::Resources;
use fleetwatch_scaling::sim::{Cas, CasInput, CasOptions, Policy, Scenario, estimate, simulate};

const LARGE: Resources = Resources::new(2048, 7680);
const XLARGE2: Resources = Resources::new(8192, 30720);

fn input(instances: u32, waiting: Vec<Resources>) -> CasInput {
    CasInput {
        instances,
        empty: 0,
        warming: 0,
        waiting,
        types: vec![LARGE],
        azs: 1,
        min: 0,
        max: 100,
    }
}

fn tasks(n: usize, cpu: u32, memory: u32) -> Vec<Resources> {
    vec![Resources::new(cpu, memory); n]
}

#[test]
fn two_instances_from_zero_whatever_waits() {
    for waiting in [1, 40] {
        let mut cas = Cas::new(CasOptions::default());
        let (metric, desired) = cas.minute(&input(0, tasks(waiting, 512, 1024)));
        assert_eq!((metric, desired), (200, Some(2)), "{waiting} waiting");
    }
}

#[test]
fn scale_out_follows_the_grouped_estimate_and_step_limits() {
    // 10 tasks of 512 CPU: 4 per large -> 3; 2 tasks of 2048: 1 per large -> 2. The estimate is the
    // largest group's need (a lower bound), not the sum.
    let mut waiting = tasks(10, 512, 1024);
    waiting.extend(tasks(2, 2048, 1024));
    assert_eq!(estimate(&waiting, &[LARGE]), 3);
    let mut cas = Cas::new(CasOptions::default());
    let (metric, desired) = cas.minute(&input(4, waiting.clone()));
    assert_eq!(
        (metric, desired),
        (175, Some(7)),
        "M = 4 + 3, reservation 7/4"
    );

    let mut capped = Cas::new(CasOptions {
        maximum_scaling_step: 2,
        ..CasOptions::default()
    });
    assert_eq!(capped.minute(&input(4, waiting.clone())).1, Some(6));
    let mut floor = Cas::new(CasOptions {
        minimum_scaling_step: 5,
        ..CasOptions::default()
    });
    assert_eq!(floor.minute(&input(4, waiting)).1, Some(9));

    let mut at_max = input(4, tasks(40, 512, 1024));
    at_max.max = 6;
    assert_eq!(Cas::new(CasOptions::default()).minute(&at_max).1, Some(6));
}

#[test]
fn no_scale_out_while_an_instance_warms_up() {
    let mut cas = Cas::new(CasOptions::default());
    let mut warming = input(4, tasks(10, 512, 1024));
    warming.warming = 1;
    let (metric, desired) = cas.minute(&warming);
    assert!(metric > 100);
    assert_eq!(desired, None);
    warming.warming = 0;
    assert_eq!(cas.minute(&warming).1, Some(7));
}

#[test]
fn tasks_bigger_than_the_smallest_type_are_never_counted() {
    let big = tasks(3, 6144, 16384);
    assert_eq!(estimate(&big, &[LARGE, XLARGE2]), 0);
    let mut mixed = input(2, big);
    mixed.types = vec![LARGE, XLARGE2];
    let mut cas = Cas::new(CasOptions::default());
    for _ in 0..30 {
        assert_eq!(cas.minute(&mixed), (100, None));
    }
}

#[test]
fn scale_in_after_15_points_by_more_than_one_and_less_than_half() {
    let mut cas = Cas::new(CasOptions::default());
    let mut idle = input(10, Vec::new());
    idle.empty = 6;
    for minute in 1..15 {
        assert_eq!(cas.minute(&idle), (94, None), "minute {minute}");
    }
    // 15th point: desired drops by min(empty, < 50 % of 10) = 4.
    assert_eq!(cas.minute(&idle).1, Some(6));
    // Every further minute below target drops again.
    let mut after = input(6, Vec::new());
    after.empty = 2;
    assert_eq!(
        cas.minute(&after).1,
        Some(4),
        "2 empty of 6: both go (< 50 %)"
    );
    let mut small = input(3, Vec::new());
    small.empty = 3;
    assert_eq!(cas.minute(&small).1, Some(2), "3 instances: one at a time");
    let mut at_min = input(3, Vec::new());
    at_min.empty = 3;
    at_min.min = 3;
    assert_eq!(cas.minute(&at_min).1, None);
}

#[test]
fn only_empty_instances_count_for_scale_in() {
    let mut cas = Cas::new(CasOptions::default());
    // Ten instances each running one task: reservation stays 100, nothing ever goes.
    let busy = input(10, Vec::new());
    for _ in 0..60 {
        assert_eq!(cas.minute(&busy), (100, None));
    }
}

#[test]
fn a_scale_out_restarts_the_scale_in_countdown() {
    let mut cas = Cas::new(CasOptions::default());
    let mut idle = input(10, Vec::new());
    idle.empty = 2;
    for _ in 0..10 {
        assert_eq!(cas.minute(&idle).1, None);
    }
    assert!(cas.minute(&input(10, tasks(1, 512, 1024))).1.is_some());
    for minute in 1..15 {
        assert_eq!(
            cas.minute(&idle).1,
            None,
            "minute {minute} after the scale-out"
        );
    }
    assert_eq!(cas.minute(&idle).1, Some(8));
}

#[test]
fn the_optional_multi_az_fallback_adds_one_instance_per_step() {
    let waiting = tasks(20, 512, 1024);
    let mut multi_az = input(4, waiting);
    multi_az.azs = 3;
    let mut default = Cas::new(CasOptions::default());
    assert_eq!(
        default.minute(&multi_az).1,
        Some(9),
        "off by default: 4 + 5"
    );
    let mut fallback = Cas::new(CasOptions {
        multi_az_fallback: true,
        ..CasOptions::default()
    });
    assert_eq!(fallback.minute(&multi_az).1, Some(5), "one per step");
    let mut one_zone = multi_az.clone();
    one_zone.azs = 1;
    assert_eq!(
        fallback.minute(&one_zone).1,
        Some(9),
        "single type, single AZ: estimate"
    );
    let mut two_types = one_zone;
    two_types.types = vec![LARGE, XLARGE2];
    assert_eq!(
        fallback.minute(&two_types).1,
        Some(5),
        "several types: one per step"
    );
}

/// End to end in the simulator: from zero, two instances first, the rest only after warm-up.
#[test]
fn simulated_cluster_shows_two_from_zero_then_the_warm_up_gate() {
    let scenario = Scenario::from_yaml(
        "duration: 20m\ninstance_boot: 90s\ntask_start: 20s\n\
         instance_types: {m6g.large: {cpu: 2048, memory: 7680}}\n\
         asg: {instance_type: m6g.large, min: 0, max: 20, desired: 0, azs: [a]}\n\
         services: [{name: web, cpu: 1024, memory: 1024, desired: 12}]\n",
    )
    .unwrap();
    let report = simulate(&scenario, &Policy::Cas(CasOptions::default()));
    let at = |minute: u64| report.timeline[minute as usize].instances;
    assert_eq!(at(1), 2, "two from zero");
    assert_eq!(at(4), 2, "gate closed while the first two warm up");
    assert_eq!(at(6), 6, "after 300 s: 8 tasks left need 4 more");
    assert_eq!(report.tasks_stopped_without_drain, 0);

    let ours = simulate(&scenario, &Policy::named("fleetwatch").unwrap());
    assert_eq!(
        ours.timeline[1].instances, 6,
        "one step to what the 12 tasks need"
    );
}
