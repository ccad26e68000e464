//! The `fleetwatch` policy in the simulator: the planner run every minute and at once on a new
//! placement failure, over a snapshot built from the simulated cluster the way the function's
//! adapters build it from the APIs; its actions applied in order. A lifecycle hook on the group
//! holds every terminating instance, as the function's template installs it.

use crate::action::Action;
use crate::hooks::{self, HookRecord, TerminateEvent};
use crate::model::{
    Asg, Config, ContainerInstance, InFlight, InstanceStatus, InstanceType, PendingTask, Placement,
    Resources, Service, Snapshot, Task,
};
use crate::plan::plan;

use super::cluster::{Lifecycle, TaskState, World};
use super::scenario::Spread;

const HOOK: &str = "fleetwatch-drain";
const ASG: &str = "sim-asg";

pub(crate) struct Fleetwatch {
    config: Config,
    hooks: Vec<HookRecord>,
    last_plan: Option<u64>,
}

impl Fleetwatch {
    pub fn new(config: Config) -> Self {
        Fleetwatch {
            config,
            hooks: Vec::new(),
            last_plan: None,
        }
    }

    /// Plans on the minute, or at once when a placement has just failed.
    pub fn tick(&mut self, world: &mut World, placement_failed: bool) {
        let on_minute = world.now.is_multiple_of(60);
        if !(on_minute || placement_failed) || self.last_plan == Some(world.now) {
            return;
        }
        self.last_plan = Some(world.now);
        let snapshot = snapshot(world, &self.hooks);
        let plan = plan(&snapshot, &self.config, world.now);
        self.hooks = plan.hooks.clone();
        for action in plan.to_execute() {
            apply(world, action);
        }
    }

    /// The group started terminating these instances: the hook's event arrives.
    pub fn on_terminating(&mut self, world: &mut World, ids: &[String]) {
        for id in ids {
            let event = TerminateEvent {
                instance_id: id.clone(),
                asg: ASG.into(),
                hook_name: HOOK.into(),
                token: format!("token-{id}"),
                at: world.now,
                heartbeat_timeout_s: hooks::DEFAULT_HEARTBEAT_TIMEOUT_S,
            };
            let existing = self.hooks.iter().find(|r| &r.instance_id == id).cloned();
            let update = hooks::on_terminate(existing.as_ref(), &event);
            self.hooks.retain(|r| &r.instance_id != id);
            self.hooks.extend(update.records);
            for (action, _) in update.actions {
                apply(world, &action);
            }
        }
    }
}

fn apply(world: &mut World, action: &Action) {
    match action {
        Action::SetDesiredCapacity { desired, .. } => world.desired = *desired,
        Action::Protect { instance_ids, .. } => set_protection(world, instance_ids, true),
        Action::Unprotect { instance_ids, .. } => set_protection(world, instance_ids, false),
        Action::DrainInstance { instance_id, .. } => {
            if let Some(instance) = world.instance_mut(instance_id) {
                instance.draining = true;
            }
        }
        Action::CompleteHook { instance_id, .. } => world.terminate(instance_id),
        Action::HeartbeatHook { .. } | Action::Alert(_) => {}
    }
}

fn set_protection(world: &mut World, ids: &[String], on: bool) {
    for id in ids {
        if let Some(instance) = world.instance_mut(id) {
            instance.protected = on;
        }
    }
}

/// The cluster as the function would read it.
pub(crate) fn snapshot(world: &World, hooks: &[HookRecord]) -> Snapshot {
    Snapshot {
        cluster: "sim".into(),
        instances: world
            .instances
            .iter()
            .filter(|i| i.registered())
            .map(|i| container_instance(world, i))
            .collect(),
        pending_tasks: pending_tasks(world),
        services: services(world),
        asg: asg(world),
        hooks: hooks.to_vec(),
        capacity_providers: Vec::new(),
    }
}

fn container_instance(world: &World, i: &super::cluster::Instance) -> ContainerInstance {
    let tasks = world
        .tasks
        .iter()
        .filter(|t| t.instance.as_deref() == Some(i.id.as_str()))
        .map(|t| {
            let spec = &world.scenario.services[t.service];
            let (last_status, desired_status) = t.ecs_status();
            Task {
                arn: format!("task-{}", t.id),
                service: Some(spec.name.clone()),
                resources: Resources::new(spec.cpu, spec.memory),
                last_status,
                desired_status,
                daemon: false,
            }
        })
        .collect();
    let status = if i.draining || i.lifecycle == Lifecycle::Terminating {
        InstanceStatus::Draining
    } else {
        InstanceStatus::Active
    };
    ContainerInstance {
        id: i.id.clone(),
        arn: format!("arn:ci/{}", i.id),
        az: i.az.clone(),
        instance_type: i.type_name.clone(),
        registered: i.capacity,
        remaining: i.free(),
        status,
        launched_at: i.launched_at,
        protected: i.protected,
        tasks,
    }
}

fn placement(spread: Spread) -> Placement {
    Placement {
        distinct_instance: spread == Spread::Instance,
        spread_az: spread == Spread::Az,
    }
}

fn pending_tasks(world: &World) -> Vec<PendingTask> {
    world
        .tasks
        .iter()
        .filter(|t| t.state == TaskState::Pending)
        .map(|t| {
            let spec = &world.scenario.services[t.service];
            PendingTask {
                id: format!("task-{}", t.id),
                service: Some(spec.name.clone()),
                resources: Resources::new(spec.cpu, spec.memory),
                placement: placement(spec.spread),
                since: t.created_at,
            }
        })
        .collect()
}

fn services(world: &World) -> Vec<Service> {
    world
        .scenario
        .services
        .iter()
        .enumerate()
        .map(|(index, spec)| {
            let mine = world.tasks.iter().filter(|t| t.service == index);
            let running = mine
                .clone()
                .filter(|t| t.state == TaskState::Running)
                .count() as u32;
            let pending = mine
                .filter(|t| matches!(t.state, TaskState::Pending | TaskState::Starting { .. }))
                .count() as u32;
            Service {
                name: spec.name.clone(),
                desired: world.desired_tasks[index],
                running,
                pending,
                minimum_healthy_percent: 100,
                maximum_percent: 200,
                placement: placement(spec.spread),
            }
        })
        .collect()
}

fn asg(world: &World) -> Asg {
    // The next type to launch first: the group launches its types in turn.
    let n = world.types.len();
    let instance_types = (0..n)
        .map(|k| {
            let (name, resources) = &world.types[(world.launches as usize + k) % n];
            InstanceType {
                name: name.clone(),
                resources: *resources,
            }
        })
        .collect();
    Asg {
        name: ASG.into(),
        min: world.min,
        max: world.max,
        desired: world.desired,
        instance_types,
        azs: world.scenario.asg.azs.clone(),
        in_flight: world
            .instances
            .iter()
            .filter(|i| i.lifecycle == Lifecycle::Booting)
            .map(|i| InFlight {
                id: i.id.clone(),
                az: Some(i.az.clone()),
                instance_type: i.type_name.clone(),
                launched_at: i.launched_at,
            })
            .collect(),
        lifecycle_hooks: vec![HOOK.into()],
    }
}
