//! The simulated cluster: an Auto Scaling group, ECS container instances, services and tasks,
//! advanced in fixed ticks. ECS and Auto Scaling behaviours modelled (the same for every policy):
//!
//! - Instances boot for `instance_boot`, then register ACTIVE and empty. Auto Scaling launches to
//!   the desired capacity at once, into the AZ with the fewest instances, types in turn.
//! - The service scheduler keeps each service at its desired count: it creates tasks (pending
//!   until placed) and, when the count drops, stops the surplus as ECS documents it (waiting
//!   tasks first, then in the AZ with the most of the service's tasks, on the instance with the
//!   most of them: balance, not emptiness, decides).
//! - Placement: ACTIVE instances with room; `spread: az` picks the AZ with fewest of the
//!   service's tasks, then packs; `instance` allows one task per instance; `none` packs (least
//!   free memory first). A placed task runs after `task_start`.
//! - Draining (an instance set DRAINING, or terminating under a hook): each task gets a
//!   replacement first (maximumPercent 200 allows it), and stops once the replacement runs. A
//!   stopping task frees its room after `task_stop`.
//! - Scale-in: when the desired capacity drops, Auto Scaling picks unprotected instances (AZ with
//!   most instances first, then the oldest). A terminating instance is held until its policy lets
//!   it go; if tasks are still on it then, they are stopped without draining (counted).

use std::collections::BTreeMap;

use crate::model::{Resources, TaskStatus};

use super::scenario::{Scenario, Spread};

pub(crate) const TICK_S: u64 = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lifecycle {
    Booting,
    InService,
    /// Auto Scaling is terminating it; held until released.
    Terminating,
}

#[derive(Debug, Clone)]
pub(crate) struct Instance {
    pub id: String,
    pub az: String,
    pub type_name: String,
    pub capacity: Resources,
    pub launched_at: u64,
    pub registered_at: u64,
    pub lifecycle: Lifecycle,
    pub draining: bool,
    pub protected: bool,
    pub used: Resources,
}

impl Instance {
    pub fn registered(&self) -> bool {
        self.lifecycle != Lifecycle::Booting
    }

    pub fn accepts_tasks(&self) -> bool {
        self.lifecycle == Lifecycle::InService && !self.draining
    }

    pub fn free(&self) -> Resources {
        self.capacity.minus(self.used)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TaskState {
    Pending,
    Starting { until: u64 },
    Running,
    Stopping { until: u64 },
}

#[derive(Debug, Clone)]
pub(crate) struct SimTask {
    pub id: u64,
    pub service: usize,
    pub created_at: u64,
    pub instance: Option<String>,
    pub state: TaskState,
    /// A replacement was started for it (its instance drains): it leaves once that one runs.
    pub replaced_by: Option<u64>,
    /// Placement has failed at least once (ECS would report SERVICE_TASK_PLACEMENT_FAILURE).
    pub failed: bool,
}

impl SimTask {
    /// Counts toward the service's desired count (not stopping, not being replaced).
    fn counts(&self) -> bool {
        !matches!(self.state, TaskState::Stopping { .. }) && self.replaced_by.is_none()
    }

    pub fn ecs_status(&self) -> (TaskStatus, TaskStatus) {
        match self.state {
            TaskState::Pending => (TaskStatus::Provisioning, TaskStatus::Running),
            TaskState::Starting { .. } => (TaskStatus::Pending, TaskStatus::Running),
            TaskState::Running => (TaskStatus::Running, TaskStatus::Running),
            TaskState::Stopping { .. } => (TaskStatus::Deactivating, TaskStatus::Stopped),
        }
    }
}

/// Everything the metrics need, folded as the simulation runs.
#[derive(Debug, Clone, Default)]
pub(crate) struct Tally {
    /// Seconds from creation to placement (or to cancellation, or to the end).
    pub waits: Vec<u64>,
    pub pending_task_seconds: u64,
    pub instance_seconds: u64,
    pub peak_instances: u32,
    pub stopped_without_drain: u32,
}

pub(crate) struct World {
    pub scenario: Scenario,
    pub types: Vec<(String, Resources)>,
    pub now: u64,
    pub min: u32,
    pub max: u32,
    pub desired: u32,
    pub launches: u64,
    pub instances: Vec<Instance>,
    pub tasks: Vec<SimTask>,
    pub desired_tasks: Vec<u32>,
    next_task: u64,
    next_change: usize,
    pub tally: Tally,
}

impl World {
    pub fn new(scenario: &Scenario) -> World {
        let types = scenario
            .launch_types()
            .into_iter()
            .map(|(n, t)| (n, Resources::new(t.cpu, t.memory)))
            .collect();
        let mut changes = scenario.changes.clone();
        changes.sort_by_key(|c| c.at);
        let mut scenario = scenario.clone();
        scenario.changes = changes;
        let mut world = World {
            desired_tasks: scenario.services.iter().map(|s| s.desired).collect(),
            min: scenario.asg.min,
            max: scenario.asg.max,
            desired: scenario.asg.desired,
            scenario,
            types,
            now: 0,
            launches: 0,
            instances: Vec::new(),
            tasks: Vec::new(),
            next_task: 0,
            next_change: 0,
            tally: Tally::default(),
        };
        world.launch_to_desired();
        for instance in &mut world.instances {
            // The starting instances are already up.
            instance.lifecycle = Lifecycle::InService;
            instance.registered_at = 0;
        }
        world
    }

    pub fn instance_mut(&mut self, id: &str) -> Option<&mut Instance> {
        self.instances.iter_mut().find(|i| i.id == id)
    }

    /// Instances the group counts toward its desired capacity.
    pub fn group_size(&self) -> u32 {
        self.instances
            .iter()
            .filter(|i| i.lifecycle != Lifecycle::Terminating)
            .count() as u32
    }

    // ---- one tick, before the policy -------------------------------------------------------

    /// Desired-count changes, boots, task progress, drain replacements, the service scheduler
    /// and placement. Returns whether a placement failed for a task for the first time.
    pub fn advance(&mut self) -> bool {
        self.apply_changes();
        self.boot();
        self.progress_tasks();
        self.replace_draining();
        self.schedule_services();
        self.place()
    }

    fn apply_changes(&mut self) {
        while let Some(change) = self.scenario.changes.get(self.next_change) {
            if change.at.0 > self.now {
                break;
            }
            if let Some(i) = self
                .scenario
                .services
                .iter()
                .position(|s| s.name == change.service)
            {
                self.desired_tasks[i] = change.desired;
            }
            self.next_change += 1;
        }
    }

    fn boot(&mut self) {
        let now = self.now;
        for instance in &mut self.instances {
            if instance.lifecycle == Lifecycle::Booting && now >= instance.registered_at {
                instance.lifecycle = Lifecycle::InService;
            }
        }
    }

    fn progress_tasks(&mut self) {
        let now = self.now;
        let mut freed: Vec<(String, Resources)> = Vec::new();
        let mut replaced: Vec<u64> = Vec::new();
        for task in &mut self.tasks {
            match task.state {
                TaskState::Starting { until } if now >= until => task.state = TaskState::Running,
                TaskState::Stopping { until } if now >= until => {
                    if let Some(id) = task.instance.take() {
                        let spec = &self.scenario.services[task.service];
                        freed.push((id, Resources::new(spec.cpu, spec.memory)));
                    }
                }
                _ => {}
            }
        }
        self.tasks
            .retain(|t| !(matches!(t.state, TaskState::Stopping { .. }) && t.instance.is_none()));
        for (id, resources) in freed {
            if let Some(instance) = self.instance_mut(&id) {
                instance.used = instance.used.minus(resources);
            }
        }
        // A drained task leaves once its replacement runs.
        let running: Vec<u64> = self
            .tasks
            .iter()
            .filter(|t| t.state == TaskState::Running)
            .map(|t| t.id)
            .collect();
        for task in &self.tasks {
            if let Some(by) = task.replaced_by
                && (running.contains(&by) || !self.tasks.iter().any(|t| t.id == by))
            {
                replaced.push(task.id);
            }
        }
        for id in replaced {
            self.stop_task(id);
        }
    }

    /// Tasks on draining or terminating instances get a replacement; tasks not yet running
    /// there are simply stopped (the scheduler starts new ones elsewhere).
    fn replace_draining(&mut self) {
        let leaving: Vec<String> = self
            .instances
            .iter()
            .filter(|i| i.draining || i.lifecycle == Lifecycle::Terminating)
            .map(|i| i.id.clone())
            .collect();
        let mut to_stop = Vec::new();
        let mut to_replace = Vec::new();
        for task in &self.tasks {
            let on_leaving = task.instance.as_ref().is_some_and(|i| leaving.contains(i));
            if !on_leaving || task.replaced_by.is_some() {
                continue;
            }
            match task.state {
                TaskState::Starting { .. } => to_stop.push(task.id),
                TaskState::Running => to_replace.push((task.id, task.service)),
                _ => {}
            }
        }
        for id in to_stop {
            self.stop_task(id);
        }
        for (id, service) in to_replace {
            let new = self.create_task(service);
            if let Some(task) = self.tasks.iter_mut().find(|t| t.id == id) {
                task.replaced_by = Some(new);
            }
        }
    }

    fn schedule_services(&mut self) {
        for service in 0..self.scenario.services.len() {
            let counted = self
                .tasks
                .iter()
                .filter(|t| t.service == service && t.counts())
                .count() as u32;
            let desired = self.desired_tasks[service];
            for _ in counted..desired {
                self.create_task(service);
            }
            for _ in desired..counted {
                if let Some(id) = self.surplus_task(service) {
                    self.stop_task(id);
                }
            }
        }
    }

    fn create_task(&mut self, service: usize) -> u64 {
        self.next_task += 1;
        self.tasks.push(SimTask {
            id: self.next_task,
            service,
            created_at: self.now,
            instance: None,
            state: TaskState::Pending,
            replaced_by: None,
            failed: false,
        });
        self.next_task
    }

    /// The task the scheduler stops on scale-in, as ECS documents it: a waiting one first, then
    /// in the AZ with the most of the service's tasks, on the instance with the most of them.
    fn surplus_task(&self, service: usize) -> Option<u64> {
        let mine: Vec<&SimTask> = self
            .tasks
            .iter()
            .filter(|t| t.service == service && t.counts())
            .collect();
        if let Some(waiting) = mine.iter().rev().find(|t| t.state == TaskState::Pending) {
            return Some(waiting.id);
        }
        let on = self.service_tasks_per_instance(service);
        let mut per_az: BTreeMap<&str, u32> = BTreeMap::new();
        for (id, n) in &on {
            if let Some(i) = self.find(id) {
                *per_az.entry(i.az.as_str()).or_default() += n;
            }
        }
        mine.iter()
            .filter_map(|t| {
                let instance = self.find(t.instance.as_ref()?)?;
                let az_count = per_az.get(instance.az.as_str()).copied().unwrap_or(0);
                let here = on.get(instance.id.as_str()).copied().unwrap_or(0);
                Some((t.id, az_count, here))
            })
            .max_by(|a, b| a.1.cmp(&b.1).then(a.2.cmp(&b.2)).then(a.0.cmp(&b.0)))
            .map(|(id, _, _)| id)
    }

    pub fn find(&self, id: &str) -> Option<&Instance> {
        self.instances.iter().find(|i| i.id == id)
    }

    /// Stops a task: a waiting one is cancelled, a placed one goes to stopping.
    pub fn stop_task(&mut self, id: u64) {
        let now = self.now;
        let stop = self.scenario.task_stop.0;
        let Some(pos) = self.tasks.iter().position(|t| t.id == id) else {
            return;
        };
        match self.tasks[pos].state {
            TaskState::Pending => {
                let task = self.tasks.remove(pos);
                self.tally.waits.push(now - task.created_at);
            }
            // Already stopping: a second stop request changes nothing.
            TaskState::Stopping { .. } => {}
            _ => self.tasks[pos].state = TaskState::Stopping { until: now + stop },
        }
    }

    /// Places waiting tasks, oldest first. Returns whether a task failed placement for the
    /// first time (the event that triggers the planner at once).
    fn place(&mut self) -> bool {
        let mut new_failure = false;
        let waiting: Vec<usize> = (0..self.tasks.len())
            .filter(|&i| self.tasks[i].state == TaskState::Pending)
            .collect();
        for index in waiting {
            let service = self.tasks[index].service;
            match self.choose_instance(service) {
                Some(instance) => self.put(index, instance),
                None => {
                    new_failure |= !self.tasks[index].failed;
                    self.tasks[index].failed = true;
                }
            }
        }
        new_failure
    }

    fn put(&mut self, index: usize, instance: usize) {
        let spec = &self.scenario.services[self.tasks[index].service];
        let need = Resources::new(spec.cpu, spec.memory);
        let until = self.now + self.scenario.task_start.0;
        let host = &mut self.instances[instance];
        host.used = host.used.plus(need);
        let task = &mut self.tasks[index];
        task.instance = Some(host.id.clone());
        task.state = TaskState::Starting { until };
        self.tally.waits.push(self.now - task.created_at);
    }

    fn choose_instance(&self, service: usize) -> Option<usize> {
        let spec = &self.scenario.services[service];
        let need = Resources::new(spec.cpu, spec.memory);
        let on: BTreeMap<&str, u32> = self.service_tasks_per_instance(service);
        let candidates: Vec<usize> = (0..self.instances.len())
            .filter(|&i| {
                let inst = &self.instances[i];
                inst.accepts_tasks()
                    && inst.free().fits(need)
                    && (spec.spread != Spread::Instance || !on.contains_key(inst.id.as_str()))
            })
            .collect();
        let candidates = if spec.spread == Spread::Az {
            self.least_used_az(&candidates, &on)
        } else {
            candidates
        };
        // binpack on memory: the candidate with the least free memory, then the lowest id.
        candidates
            .into_iter()
            .min_by_key(|&i| (self.instances[i].free().memory, i))
    }

    fn service_tasks_per_instance(&self, service: usize) -> BTreeMap<&str, u32> {
        let mut on = BTreeMap::new();
        for task in self
            .tasks
            .iter()
            .filter(|t| t.service == service && t.counts())
        {
            if let Some(id) = &task.instance {
                *on.entry(id.as_str()).or_default() += 1;
            }
        }
        on
    }

    /// The candidates in the AZ with the fewest of the service's tasks (ties in zone order).
    fn least_used_az(&self, candidates: &[usize], on: &BTreeMap<&str, u32>) -> Vec<usize> {
        let mut per_az: BTreeMap<&str, u32> = BTreeMap::new();
        for instance in &self.instances {
            *per_az.entry(instance.az.as_str()).or_default() +=
                on.get(instance.id.as_str()).copied().unwrap_or(0);
        }
        let zone_rank = |az: &str| self.scenario.asg.azs.iter().position(|z| z == az);
        let best = candidates
            .iter()
            .map(|&i| self.instances[i].az.as_str())
            .min_by_key(|az| (per_az.get(az).copied().unwrap_or(0), zone_rank(az)));
        match best {
            Some(az) => candidates
                .iter()
                .copied()
                .filter(|&i| self.instances[i].az == az)
                .collect(),
            None => Vec::new(),
        }
    }

    // ---- Auto Scaling ----------------------------------------------------------------------

    /// Launches or picks instances to terminate so the group matches its desired capacity.
    /// Returns the instances newly terminating.
    pub fn reconcile_group(&mut self) -> Vec<String> {
        self.desired = self.desired.clamp(self.min, self.max);
        self.launch_to_desired();
        let mut terminating = Vec::new();
        while self.group_size() > self.desired {
            let Some(index) = self.termination_choice() else {
                break;
            };
            let instance = &mut self.instances[index];
            instance.lifecycle = Lifecycle::Terminating;
            terminating.push(instance.id.clone());
        }
        terminating
    }

    fn launch_to_desired(&mut self) {
        while self.group_size() < self.desired {
            let (type_name, capacity) =
                self.types[(self.launches as usize) % self.types.len()].clone();
            let az = self.balanced_az();
            self.launches += 1;
            self.instances.push(Instance {
                id: format!("i-{:05}", self.launches),
                az,
                type_name,
                capacity,
                launched_at: self.now,
                registered_at: self.now + self.scenario.instance_boot.0,
                lifecycle: Lifecycle::Booting,
                draining: false,
                protected: false,
                used: Resources::default(),
            });
        }
    }

    pub fn per_az(&self) -> BTreeMap<String, u32> {
        let mut per_az = BTreeMap::new();
        for instance in self
            .instances
            .iter()
            .filter(|i| i.lifecycle != Lifecycle::Terminating)
        {
            *per_az.entry(instance.az.clone()).or_default() += 1;
        }
        per_az
    }

    fn balanced_az(&self) -> String {
        let per_az = self.per_az();
        self.scenario
            .asg
            .azs
            .iter()
            .min_by_key(|az| per_az.get(*az).copied().unwrap_or(0))
            .cloned()
            .unwrap_or_default()
    }

    /// Auto Scaling's default termination policy among unprotected instances: the AZ with the
    /// most instances, then the oldest instance.
    fn termination_choice(&self) -> Option<usize> {
        let per_az = self.per_az();
        (0..self.instances.len())
            .filter(|&i| {
                let inst = &self.instances[i];
                inst.lifecycle != Lifecycle::Terminating && !inst.protected
            })
            .max_by(|&a, &b| {
                let (x, y) = (&self.instances[a], &self.instances[b]);
                per_az[&x.az]
                    .cmp(&per_az[&y.az])
                    .then(y.launched_at.cmp(&x.launched_at))
                    .then(b.cmp(&a))
            })
    }

    /// The instance leaves the group; any task still on it (even one stopping) is stopped
    /// without draining.
    pub fn terminate(&mut self, id: &str) {
        let Some(pos) = self.instances.iter().position(|i| i.id == id) else {
            return;
        };
        let killed: Vec<u64> = self
            .tasks
            .iter()
            .filter(|t| t.instance.as_deref() == Some(id))
            .map(|t| t.id)
            .collect();
        for task_id in killed {
            let Some(t) = self.tasks.iter().position(|t| t.id == task_id) else {
                continue;
            };
            // Stopping tasks count too: cutting their shutdown short is the AWS sample's bug.
            self.tally.stopped_without_drain += 1;
            self.tasks.remove(t);
        }
        self.instances.remove(pos);
    }

    /// Whether no task of any state is left on the instance.
    pub fn is_empty(&self, id: &str) -> bool {
        !self.tasks.iter().any(|t| t.instance.as_deref() == Some(id))
    }

    // ---- metrics ---------------------------------------------------------------------------

    pub fn count(&mut self) {
        let instances = self.instances.len() as u32;
        let pending = self.pending_count();
        self.tally.instance_seconds += u64::from(instances) * TICK_S;
        self.tally.pending_task_seconds += u64::from(pending) * TICK_S;
        self.tally.peak_instances = self.tally.peak_instances.max(instances);
    }

    pub fn pending_count(&self) -> u32 {
        self.tasks
            .iter()
            .filter(|t| t.state == TaskState::Pending)
            .count() as u32
    }

    pub fn running_count(&self) -> u32 {
        self.tasks
            .iter()
            .filter(|t| t.state == TaskState::Running)
            .count() as u32
    }

    /// Tasks still waiting at the end count with the time they waited until then.
    pub fn finish(&mut self) {
        let now = self.now;
        let waits: Vec<u64> = self
            .tasks
            .iter()
            .filter(|t| t.state == TaskState::Pending)
            .map(|t| now - t.created_at)
            .collect();
        self.tally.waits.extend(waits);
    }
}
