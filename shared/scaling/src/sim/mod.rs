//! The simulator: a scenario ([`Scenario`], YAML) run in 10-second ticks under a policy
//! ([`Policy`]), measured into a [`Report`].
//!
//! Each tick: desired-count changes, instance boots, task starts and stops, drain replacements,
//! the service scheduler, placement ([`cluster`](self) documents the ECS behaviours modelled),
//! then the policy, then Auto Scaling matching its desired capacity, then the measurements.

mod cas;
mod cluster;
mod fleetwatch;
mod scenario;

use serde::{Deserialize, Serialize};

use crate::model::Config;

pub use cas::{Cas, CasInput, CasOptions, estimate};
pub use scenario::{
    AsgSpec, Change, OneOrMany, Scenario, ScenarioError, Seconds, ServiceSpec, Spread, TypeSpec,
};

use cas::CasPolicy;
use cluster::{TICK_S, World};
use fleetwatch::Fleetwatch;

/// Who drives the group.
#[derive(Debug, Clone, PartialEq)]
pub enum Policy {
    /// Our planner with this configuration, every minute and on placement failure.
    Fleetwatch(Config),
    /// The model of ECS managed scaling.
    Cas(CasOptions),
}

impl Policy {
    /// `fleetwatch` or `cas`, with defaults.
    pub fn named(name: &str) -> Option<Policy> {
        match name {
            "fleetwatch" => Some(Policy::Fleetwatch(Config::default())),
            "cas" => Some(Policy::Cas(CasOptions::default())),
            _ => None,
        }
    }

    /// The name in reports: `fleetwatch`, `cas`, or `cas-multi-az-fallback`.
    pub fn name(&self) -> &'static str {
        match self {
            Policy::Fleetwatch(_) => "fleetwatch",
            Policy::Cas(o) if o.multi_az_fallback => "cas-multi-az-fallback",
            Policy::Cas(_) => "cas",
        }
    }
}

/// Percentiles of the time from a task's creation to its placement.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Percentiles {
    pub p50: u64,
    pub p95: u64,
    pub max: u64,
}

/// One point per simulated minute.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Point {
    pub t: u64,
    pub instances: u32,
    pub pending: u32,
    pub running: u32,
}

/// The outcome of one run, serialised exactly as `fleetwatch capacity simulate --json` prints it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub policy: String,
    /// Seconds from task creation to placement. A task never placed counts with the time left
    /// until the end; a waiting task cancelled by a scale-down counts with the time it waited.
    pub time_to_place_s: Percentiles,
    /// Tasks waiting, integrated over time, in task-minutes.
    pub pending_task_minutes: f64,
    /// Instances in the group (booting, in service or terminating), integrated, in hours.
    pub instance_hours: f64,
    pub peak_instances: u32,
    /// Tasks (any state short of stopped) on an instance when it was terminated.
    pub tasks_stopped_without_drain: u32,
    pub timeline: Vec<Point>,
}

/// Runs `scenario` under `policy` from 0 to its duration.
pub fn simulate(scenario: &Scenario, policy: &Policy) -> Report {
    let mut world = World::new(scenario);
    let mut driver = Driver::new(policy);
    let mut timeline = Vec::new();
    while world.now < scenario.duration.0 {
        let placement_failed = world.advance();
        driver.tick(&mut world, placement_failed);
        let terminating = world.reconcile_group();
        driver.on_terminating(&mut world, &terminating);
        world.count();
        if world.now.is_multiple_of(60) {
            timeline.push(Point {
                t: world.now,
                instances: world.instances.len() as u32,
                pending: world.pending_count(),
                running: world.running_count(),
            });
        }
        world.now += TICK_S;
    }
    world.now = scenario.duration.0;
    world.finish();
    report(policy, world, timeline)
}

enum Driver {
    Fleetwatch(Box<Fleetwatch>),
    Cas(CasPolicy),
}

impl Driver {
    fn new(policy: &Policy) -> Driver {
        match policy {
            Policy::Fleetwatch(config) => {
                Driver::Fleetwatch(Box::new(Fleetwatch::new(config.clone())))
            }
            Policy::Cas(options) => Driver::Cas(CasPolicy::new(*options)),
        }
    }

    fn tick(&mut self, world: &mut World, placement_failed: bool) {
        match self {
            Driver::Fleetwatch(f) => f.tick(world, placement_failed),
            Driver::Cas(c) => {
                c.release_terminating(world);
                c.tick(world);
            }
        }
    }

    fn on_terminating(&mut self, world: &mut World, ids: &[String]) {
        match self {
            Driver::Fleetwatch(f) => f.on_terminating(world, ids),
            Driver::Cas(c) => c.release_terminating(world),
        }
    }
}

fn report(policy: &Policy, world: World, timeline: Vec<Point>) -> Report {
    let tally = world.tally;
    Report {
        policy: policy.name().to_string(),
        time_to_place_s: percentiles(tally.waits),
        pending_task_minutes: round2(tally.pending_task_seconds as f64 / 60.0),
        instance_hours: round2(tally.instance_seconds as f64 / 3600.0),
        peak_instances: tally.peak_instances,
        tasks_stopped_without_drain: tally.stopped_without_drain,
        timeline,
    }
}

/// Nearest-rank percentiles (0 when no task was created).
fn percentiles(mut waits: Vec<u64>) -> Percentiles {
    waits.sort_unstable();
    let rank = |p: usize| -> u64 {
        if waits.is_empty() {
            return 0;
        }
        let index = (p * waits.len()).div_ceil(100).max(1) - 1;
        waits[index.min(waits.len() - 1)]
    };
    Percentiles {
        p50: rank(50),
        p95: rank(95),
        max: waits.last().copied().unwrap_or(0),
    }
}

fn round2(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let p = percentiles((1..=100).collect());
        assert_eq!((p.p50, p.p95, p.max), (50, 95, 100));
        let one = percentiles(vec![7]);
        assert_eq!((one.p50, one.p95, one.max), (7, 7, 7));
        assert_eq!(percentiles(Vec::new()).max, 0);
    }
}
