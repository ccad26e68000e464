//! The acceptance figures, measured: both policies on every scenario in
//! `events/capacity/` (and the burst under the managed-scaling model's multi-AZ fallback). The
//! table is printed (`cargo test --test targets -- --nocapture`); `examples/compare.rs` prints the
//! same table on its own.

use std::collections::BTreeMap;

use fleetwatch_scaling::Config;
use fleetwatch_scaling::sim::{CasOptions, Policy, Report, Scenario, simulate};

const SCENARIOS: [&str; 5] = [
    "burst",
    "daily-wave",
    "business-day",
    "scale-to-zero",
    "largest-type",
];

fn scenario(name: &str) -> Scenario {
    let path = format!(
        "{}/../../events/capacity/{name}.yaml",
        env!("CARGO_MANIFEST_DIR")
    );
    Scenario::from_yaml(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn fallback() -> Policy {
    Policy::Cas(CasOptions {
        multi_az_fallback: true,
        ..CasOptions::default()
    })
}

/// Every run, by (scenario, policy name).
fn runs() -> BTreeMap<(String, String), Report> {
    let mut runs = BTreeMap::new();
    for name in SCENARIOS {
        let s = scenario(name);
        let mut policies = vec![
            Policy::Fleetwatch(Config::default()),
            Policy::Cas(CasOptions::default()),
        ];
        if name == "burst" {
            policies.push(fallback());
        }
        for policy in policies {
            let report = simulate(&s, &policy);
            runs.insert((name.to_string(), report.policy.clone()), report);
        }
    }
    print_table(&runs);
    runs
}

fn print_table(runs: &BTreeMap<(String, String), Report>) {
    println!(
        "| scenario | policy | ttp p50 s | ttp p95 s | ttp max s | pending task-min | instance-hours | peak | stopped w/o drain |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for ((name, policy), r) in runs {
        println!(
            "| {name} | {policy} | {} | {} | {} | {:.1} | {:.2} | {} | {} |",
            r.time_to_place_s.p50,
            r.time_to_place_s.p95,
            r.time_to_place_s.max,
            r.pending_task_minutes,
            r.instance_hours,
            r.peak_instances,
            r.tasks_stopped_without_drain
        );
    }
}

fn get<'a>(runs: &'a BTreeMap<(String, String), Report>, s: &str, p: &str) -> &'a Report {
    &runs[&(s.to_string(), p.to_string())]
}

#[test]
fn acceptance_figures() {
    let runs = runs();

    // Burst: max time-to-place at most half of the model's, instance-hours at most 5 % above.
    let (ours, cas) = (
        get(&runs, "burst", "fleetwatch"),
        get(&runs, "burst", "cas"),
    );
    assert!(
        ours.time_to_place_s.max * 2 <= cas.time_to_place_s.max,
        "burst max time-to-place {} vs {}",
        ours.time_to_place_s.max,
        cas.time_to_place_s.max
    );
    assert!(
        ours.instance_hours <= cas.instance_hours * 1.05,
        "burst instance-hours {} vs {}",
        ours.instance_hours,
        cas.instance_hours
    );
    // And against the older one-per-step behaviour, by a wider margin.
    let slow = get(&runs, "burst", "cas-multi-az-fallback");
    assert!(ours.time_to_place_s.max * 2 <= slow.time_to_place_s.max);

    // No task is ever stopped by scale-in without draining, under any policy.
    for ((name, policy), r) in &runs {
        assert_eq!(r.tasks_stopped_without_drain, 0, "{name} / {policy}");
    }

    // Daily wave: measured 0.866x of the model's instance-hours; the issue asks 0.85x, out of
    // reach of any policy here (see `consolidation_is_within_two_percent_of_perfect_packing`).
    // This guards what is achieved against regressions.
    let (ours, cas) = (
        get(&runs, "daily-wave", "fleetwatch"),
        get(&runs, "daily-wave", "cas"),
    );
    assert!(
        ours.instance_hours <= cas.instance_hours * 0.87,
        "daily wave instance-hours {} vs {}",
        ours.instance_hours,
        cas.instance_hours
    );

    // Scale to zero and back: one step back up instead of two, then the warm-up gate.
    let (ours, cas) = (
        get(&runs, "scale-to-zero", "fleetwatch"),
        get(&runs, "scale-to-zero", "cas"),
    );
    assert!(ours.time_to_place_s.max * 2 <= cas.time_to_place_s.max);
    assert_eq!(
        ours.timeline
            .iter()
            .filter(|p| p.t >= 20 * 60 && p.t < 60 * 60)
            .map(|p| p.instances)
            .min(),
        Some(0),
        "the group reaches zero"
    );

    // The task that only fits the largest type: placed by us, waits to the end under the model.
    let (ours, cas) = (
        get(&runs, "largest-type", "fleetwatch"),
        get(&runs, "largest-type", "cas"),
    );
    assert!(ours.time_to_place_s.max <= 3 * 60);
    assert_eq!(
        cas.time_to_place_s.max,
        50 * 60,
        "never counted, never placed"
    );
}

/// The least instance-hours any policy could use on a scenario with one instance type: at every
/// moment just enough instances for the desired tasks packed perfectly by CPU and memory (no boot
/// time, no AZ spread, `distinctInstance` counted), never below the group's min.
fn perfect_packing_hours(scenario: &Scenario) -> f64 {
    let names = scenario.asg.instance_type.names();
    let [only] = names.as_slice() else {
        panic!("one instance type");
    };
    let offer = &scenario.instance_types[only];
    let mut desired: BTreeMap<&str, u32> = scenario
        .services
        .iter()
        .map(|s| (s.name.as_str(), s.desired))
        .collect();
    let mut changes = scenario.changes.clone();
    changes.sort_by_key(|c| c.at);
    let mut instance_seconds = 0u64;
    let mut from = 0;
    let mut pending = changes.iter().peekable();
    loop {
        while let Some(change) = pending.next_if(|c| c.at.0 == from) {
            desired.insert(change.service.as_str(), change.desired);
        }
        let until = pending.peek().map_or(scenario.duration.0, |c| c.at.0);
        let needed = instances_needed(scenario, &desired, offer.cpu, offer.memory);
        instance_seconds += u64::from(needed) * (until - from);
        if until >= scenario.duration.0 {
            break;
        }
        from = until;
    }
    instance_seconds as f64 / 3600.0
}

fn instances_needed(
    scenario: &Scenario,
    desired: &BTreeMap<&str, u32>,
    cpu: u32,
    memory: u32,
) -> u32 {
    let (mut total_cpu, mut total_memory, mut distinct) = (0u32, 0u32, 0u32);
    for service in &scenario.services {
        let n = desired[service.name.as_str()];
        total_cpu += service.cpu * n;
        total_memory += service.memory * n;
        if service.spread == fleetwatch_scaling::sim::Spread::Instance {
            distinct = distinct.max(n);
        }
    }
    total_cpu
        .div_ceil(cpu)
        .max(total_memory.div_ceil(memory))
        .max(distinct)
        .max(scenario.asg.min)
}

/// The issue asks for at most 0.85x the model's instance-hours on the daily wave; measured 0.866x
/// (445.67 against 514.50). That target is out of reach of any policy on this curve: perfect
/// packing with instant boots needs 439.0 instance-hours, 0.853x. What is asserted instead: the
/// planner stays within 2 % of that bound on the wave and the business day, and the bound itself
/// is what keeps 0.85x out of reach (if the model or the scenario changes so that it no longer
/// is, this test fails and the 0.85x target must be asserted instead).
#[test]
fn consolidation_is_within_two_percent_of_perfect_packing() {
    let runs = runs();
    for name in ["daily-wave", "business-day"] {
        let bound = perfect_packing_hours(&scenario(name));
        let ours = get(&runs, name, "fleetwatch").instance_hours;
        let cas = get(&runs, name, "cas").instance_hours;
        assert!(ours >= bound, "{name}: {ours} below the bound {bound}?");
        assert!(ours <= bound * 1.02, "{name}: {ours} vs the bound {bound}");
        if name == "daily-wave" {
            assert!(
                bound > cas * 0.85,
                "0.85x is reachable now: bound {bound}, model {cas}; assert the issue's target"
            );
        }
    }
}
