//! A model of ECS managed scaling (cluster auto scaling with a capacity provider), as the
//! reference (`shared/reference/ecs-and-scaling.md`) describes it. Every minute:
//!
//! - ECS publishes `CapacityProviderReservation` (M / N x 100) and the group's target tracking
//!   follows it: desired = ceil(M x 100 / targetCapacity).
//! - Scale-out (tasks waiting for capacity): the waiting tasks are grouped by identical
//!   requirements and a bin-packing estimate on the smallest instance type gives the instances
//!   each group needs; the largest group need is the estimate (a lower bound, as ECS computes
//!   it). Tasks bigger than the smallest type are left out of it (they wait forever unless other
//!   tasks bring a bigger instance). The step is clamped to [minimumScalingStepSize,
//!   maximumScalingStepSize]. While an instance launched within `instanceWarmupPeriod` is warming
//!   up, no further scale-out happens. From zero instances the metric is pinned at 200: two
//!   instances start whatever is waiting.
//! - Optional (off by default): the older documented behaviour for groups with more than one
//!   instance type or AZ, scaling out by exactly minimumScalingStepSize, ignoring demand.
//! - Scale-in: the metric is 100 minus the number of empty instances (no non-daemon task). After
//!   15 consecutive one-minute points below target, desired drops every minute while it stays
//!   below, by at most the number of empty instances, more than one when possible and less than
//!   half of the group. A scale-out restarts the countdown.
//! - Managed termination protection: instances with tasks are protected, so the group only ever
//!   terminates empty ones; managed draining holds a terminating instance until it is empty.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model::Resources;

use super::cluster::{Lifecycle, TaskState, World};

/// The capacity provider's managed-scaling settings, ECS defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CasOptions {
    pub target_capacity: u32,
    pub minimum_scaling_step: u32,
    pub maximum_scaling_step: u32,
    pub instance_warmup_s: u64,
    /// One-minute points below target before scale-in.
    pub scale_in_points: u32,
    /// The older documented behaviour: multi-type or multi-AZ groups scale out by
    /// minimumScalingStepSize only.
    pub multi_az_fallback: bool,
}

impl Default for CasOptions {
    fn default() -> Self {
        CasOptions {
            target_capacity: 100,
            minimum_scaling_step: 1,
            maximum_scaling_step: 10_000,
            instance_warmup_s: 300,
            scale_in_points: 15,
            multi_az_fallback: false,
        }
    }
}

/// What the model sees each minute (plain numbers, so the rules are testable on their own).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CasInput {
    /// Instances in the group (launched, not terminating): N.
    pub instances: u32,
    /// Registered instances with no non-daemon task.
    pub empty: u32,
    /// Instances launched less than the warm-up period ago.
    pub warming: u32,
    /// Requirements of the tasks waiting for capacity.
    pub waiting: Vec<Resources>,
    /// The group's instance types (the smallest is what the estimate assumes).
    pub types: Vec<Resources>,
    pub azs: u32,
    pub min: u32,
    pub max: u32,
}

/// The model's memory between minutes: the scale-in countdown.
#[derive(Debug, Clone, Default)]
pub struct Cas {
    pub options: CasOptions,
    below_points: u32,
}

impl Cas {
    pub fn new(options: CasOptions) -> Self {
        Cas {
            options,
            below_points: 0,
        }
    }

    /// One minute: the published metric and the desired capacity target tracking sets (None
    /// when it leaves the group alone).
    pub fn minute(&mut self, input: &CasInput) -> (u32, Option<u32>) {
        let metric = self.metric(input);
        if metric > 100 {
            self.below_points = 0;
            return (metric, self.scale_out(input, metric));
        }
        if metric == 100 {
            self.below_points = 0;
            return (metric, None);
        }
        self.below_points += 1;
        if self.below_points < self.options.scale_in_points {
            return (metric, None);
        }
        (metric, self.scale_in(input))
    }

    /// CapacityProviderReservation.
    pub fn metric(&self, input: &CasInput) -> u32 {
        if !input.waiting.is_empty() {
            if input.instances == 0 {
                return 200;
            }
            let m = input.instances + self.step_out(input);
            return (m * 100).div_ceil(input.instances);
        }
        100u32.saturating_sub(input.empty)
    }

    /// Instances to add: the estimate clamped to the step limits (0 when nothing countable
    /// waits).
    fn step_out(&self, input: &CasInput) -> u32 {
        let estimate = estimate(&input.waiting, &input.types);
        if estimate == 0 {
            return 0;
        }
        let o = &self.options;
        if o.multi_az_fallback && (input.types.len() > 1 || input.azs > 1) {
            return o.minimum_scaling_step;
        }
        estimate.clamp(o.minimum_scaling_step, o.maximum_scaling_step)
    }

    fn scale_out(&self, input: &CasInput, metric: u32) -> Option<u32> {
        if input.warming > 0 {
            return None;
        }
        let desired = if input.instances == 0 {
            2
        } else {
            (input.instances * metric).div_ceil(self.options.target_capacity)
        };
        Some(desired.min(input.max))
    }

    fn scale_in(&self, input: &CasInput) -> Option<u32> {
        let half = input.instances.div_ceil(2).saturating_sub(1).max(1);
        let step = input.empty.min(half);
        let desired = input.instances.saturating_sub(step).max(input.min);
        (desired < input.instances).then_some(desired)
    }
}

/// ECS's estimate: waiting tasks grouped by identical requirements, each group packed on the
/// smallest instance type, the largest group need taken. Tasks bigger than the smallest type
/// are not counted.
pub fn estimate(waiting: &[Resources], types: &[Resources]) -> u32 {
    let Some(smallest) = types
        .iter()
        .min_by_key(|t| (u64::from(t.cpu) * u64::from(t.memory), t.cpu))
        .copied()
    else {
        return 0;
    };
    let mut groups: BTreeMap<(u32, u32), u32> = BTreeMap::new();
    for need in waiting.iter().filter(|n| smallest.fits(**n)) {
        *groups.entry((need.cpu, need.memory)).or_default() += 1;
    }
    groups
        .iter()
        .map(|(&(cpu, memory), &count)| {
            let per_instance = (smallest.cpu / cpu.max(1)).min(smallest.memory / memory.max(1));
            count.div_ceil(per_instance.max(1))
        })
        .max()
        .unwrap_or(0)
}

/// The managed-scaling policy driving the simulated group.
pub(crate) struct CasPolicy {
    cas: Cas,
}

impl CasPolicy {
    pub fn new(options: CasOptions) -> Self {
        CasPolicy {
            cas: Cas::new(options),
        }
    }

    pub fn tick(&mut self, world: &mut World) {
        protect_busy(world);
        if !world.now.is_multiple_of(60) {
            return;
        }
        let input = input(world, self.cas.options.instance_warmup_s);
        if let (_, Some(desired)) = self.cas.minute(&input) {
            world.desired = desired;
        }
    }

    /// Managed draining: a terminating instance goes once nothing is left on it.
    pub fn release_terminating(&self, world: &mut World) {
        let done: Vec<String> = world
            .instances
            .iter()
            .filter(|i| i.lifecycle == Lifecycle::Terminating && world.is_empty(&i.id))
            .map(|i| i.id.clone())
            .collect();
        for id in done {
            world.terminate(&id);
        }
    }
}

/// Managed termination protection: protected while a non-daemon task is on the instance.
fn protect_busy(world: &mut World) {
    let busy: Vec<bool> = world
        .instances
        .iter()
        .map(|i| !world.is_empty(&i.id))
        .collect();
    for (instance, busy) in world.instances.iter_mut().zip(busy) {
        instance.protected = busy;
    }
}

fn input(world: &World, warmup: u64) -> CasInput {
    let group: Vec<_> = world
        .instances
        .iter()
        .filter(|i| i.lifecycle != Lifecycle::Terminating)
        .collect();
    let waiting = world
        .tasks
        .iter()
        .filter(|t| t.state == TaskState::Pending)
        .map(|t| {
            let spec = &world.scenario.services[t.service];
            Resources::new(spec.cpu, spec.memory)
        })
        .collect();
    CasInput {
        instances: group.len() as u32,
        empty: group
            .iter()
            .filter(|i| i.lifecycle == Lifecycle::InService && world.is_empty(&i.id))
            .count() as u32,
        warming: group
            .iter()
            .filter(|i| world.now < i.launched_at + warmup)
            .count() as u32,
        waiting,
        types: world.types.iter().map(|(_, r)| *r).collect(),
        azs: world.scenario.asg.azs.len() as u32,
        min: world.min,
        max: world.max,
    }
}
