//! The planner's input: a cluster snapshot and the configuration. Plain serde data, so the
//! function can build it from the ECS and Auto Scaling APIs, the simulator from its own state, and
//! tests from JSON.
//!
//! Times are epoch seconds (`u64`); the planner never reads a clock.

use serde::{Deserialize, Serialize};

use crate::hooks::HookRecord;

/// CPU units (1024 = one vCPU) and memory in MiB, as ECS counts them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Resources {
    pub cpu: u32,
    pub memory: u32,
}

impl Resources {
    pub const fn new(cpu: u32, memory: u32) -> Self {
        Resources { cpu, memory }
    }

    pub fn fits(self, need: Resources) -> bool {
        need.cpu <= self.cpu && need.memory <= self.memory
    }

    pub fn minus(self, used: Resources) -> Resources {
        Resources::new(
            self.cpu.saturating_sub(used.cpu),
            self.memory.saturating_sub(used.memory),
        )
    }

    pub fn plus(self, more: Resources) -> Resources {
        Resources::new(
            self.cpu.saturating_add(more.cpu),
            self.memory.saturating_add(more.memory),
        )
    }

    /// The larger of the CPU and memory shares of `of` that this takes (0.0 to 1.0 and beyond):
    /// the dimension that binds decides how full an instance is.
    pub fn share_of(self, of: Resources) -> f64 {
        let cpu = f64::from(self.cpu) / f64::from(of.cpu.max(1));
        let memory = f64::from(self.memory) / f64::from(of.memory.max(1));
        cpu.max(memory)
    }
}

/// ECS task status (`lastStatus` / `desiredStatus`). Open: unknown values are kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TaskStatus {
    Provisioning,
    Pending,
    Activating,
    Running,
    Deactivating,
    Stopping,
    Deprovisioning,
    Stopped,
    #[serde(untagged)]
    Other(String),
}

impl TaskStatus {
    /// Whether a task in this state still occupies its instance, so the instance must not go.
    ///
    /// The rule is "anything but finished": DEACTIVATING and STOPPING tasks are still shutting down
    /// (load balancer deregistration, stop timeout), which is exactly what the AWS draining sample
    /// ignored. An unknown status is treated as busy: terminating on a guess kills tasks.
    pub fn occupies_instance(&self) -> bool {
        !matches!(self, TaskStatus::Stopped | TaskStatus::Deprovisioning)
    }
}

/// Container instance status as ECS reports it. Open.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum InstanceStatus {
    Active,
    Draining,
    Registering,
    Deregistering,
    Inactive,
    #[serde(untagged)]
    Other(String),
}

/// A task placed on a container instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Task {
    pub arn: String,
    /// The service (`group` without `service:`); `None` for standalone tasks.
    #[serde(default)]
    pub service: Option<String>,
    pub resources: Resources,
    pub last_status: TaskStatus,
    pub desired_status: TaskStatus,
    /// Daemon tasks run on every instance and never block its release.
    #[serde(default)]
    pub daemon: bool,
}

impl Task {
    /// A non-daemon task that still holds the instance (see [`TaskStatus::occupies_instance`]).
    /// Both statuses count: a task desired RUNNING but last seen STOPPED is being restarted.
    pub fn blocks_release(&self) -> bool {
        !self.daemon
            && (self.last_status.occupies_instance() || self.desired_status == TaskStatus::Running)
    }
}

/// One registered container instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContainerInstance {
    /// EC2 instance id: what Auto Scaling and lifecycle hooks name.
    pub id: String,
    /// Container instance ARN: what ECS calls name.
    pub arn: String,
    pub az: String,
    pub instance_type: String,
    pub registered: Resources,
    pub remaining: Resources,
    pub status: InstanceStatus,
    pub launched_at: u64,
    /// Scale-in protection in the Auto Scaling group.
    #[serde(default)]
    pub protected: bool,
    #[serde(default)]
    pub tasks: Vec<Task>,
}

impl ContainerInstance {
    /// Non-daemon tasks that still hold the instance.
    pub fn busy_tasks(&self) -> impl Iterator<Item = &Task> {
        self.tasks.iter().filter(|t| t.blocks_release())
    }

    pub fn non_daemon_task_count(&self) -> usize {
        self.busy_tasks().count()
    }

    /// No non-daemon task is RUNNING, PENDING, ACTIVATING, DEACTIVATING, STOPPING (or anything
    /// else short of stopped): the only state in which an instance may be released.
    pub fn is_empty(&self) -> bool {
        self.busy_tasks().next().is_none()
    }

    /// Resources used by non-daemon tasks (what would have to move elsewhere).
    pub fn movable_load(&self) -> Resources {
        self.busy_tasks()
            .fold(Resources::default(), |sum, t| sum.plus(t.resources))
    }
}

/// Placement constraints of a task that waits for capacity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Placement {
    /// `distinctInstance`: at most one task of the service per instance.
    #[serde(default)]
    pub distinct_instance: bool,
    /// Spread over Availability Zones: the planner keeps the service's tasks balanced per AZ.
    #[serde(default)]
    pub spread_az: bool,
}

/// A task waiting for capacity (PROVISIONING, or PENDING without an instance).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingTask {
    pub id: String,
    #[serde(default)]
    pub service: Option<String>,
    pub resources: Resources,
    #[serde(default)]
    pub placement: Placement,
    /// When the task was created (epoch seconds).
    pub since: u64,
}

/// A service's counts and deployment configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Service {
    pub name: String,
    pub desired: u32,
    pub running: u32,
    #[serde(default)]
    pub pending: u32,
    #[serde(default = "default_min_healthy")]
    pub minimum_healthy_percent: u32,
    #[serde(default = "default_max_percent")]
    pub maximum_percent: u32,
    #[serde(default)]
    pub placement: Placement,
}

fn default_min_healthy() -> u32 {
    100
}

fn default_max_percent() -> u32 {
    200
}

/// An instance type the Auto Scaling group can launch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceType {
    pub name: String,
    pub resources: Resources,
}

/// An instance launched by the group and not yet registered with the cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InFlight {
    pub id: String,
    /// Known once EC2 has placed it; `None` when only the desired capacity says it is coming.
    #[serde(default)]
    pub az: Option<String>,
    pub instance_type: String,
    pub launched_at: u64,
}

/// The Auto Scaling group behind the cluster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Asg {
    pub name: String,
    pub min: u32,
    pub max: u32,
    pub desired: u32,
    /// The types the group launches, in launch order: the next instance is the first, then the
    /// second, and so on, round-robin (a single entry for the usual one-type group).
    pub instance_types: Vec<InstanceType>,
    /// The group's Availability Zones; new instances go to the zone with the fewest instances,
    /// ties in this order (Auto Scaling's AZ balancing).
    pub azs: Vec<String>,
    #[serde(default)]
    pub in_flight: Vec<InFlight>,
    /// Names of the lifecycle hooks installed on the group.
    #[serde(default)]
    pub lifecycle_hooks: Vec<String>,
}

/// An ECS capacity provider attached to the cluster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CapacityProvider {
    pub name: String,
    /// Name (or ARN) of the Auto Scaling group it wraps.
    pub asg: String,
    #[serde(default)]
    pub managed_scaling: bool,
    #[serde(default)]
    pub managed_draining: bool,
}

impl CapacityProvider {
    /// Whether this provider manages `asg_name` itself (then two controllers would fight).
    pub fn manages(&self, asg_name: &str) -> bool {
        let same = self.asg == asg_name || self.asg.ends_with(&format!("/{asg_name}"));
        same && (self.managed_scaling || self.managed_draining)
    }
}

/// Everything the planner looks at, read at one moment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub cluster: String,
    pub instances: Vec<ContainerInstance>,
    #[serde(default)]
    pub pending_tasks: Vec<PendingTask>,
    #[serde(default)]
    pub services: Vec<Service>,
    pub asg: Asg,
    /// Lifecycle hooks recorded in the state table (see [`crate::hooks`]).
    #[serde(default)]
    pub hooks: Vec<HookRecord>,
    #[serde(default)]
    pub capacity_providers: Vec<CapacityProvider>,
}

impl Snapshot {
    pub fn instance(&self, id: &str) -> Option<&ContainerInstance> {
        self.instances.iter().find(|i| i.id == id)
    }

    pub fn service(&self, name: &str) -> Option<&Service> {
        self.services.iter().find(|s| s.name == name)
    }

    pub fn instance_type(&self, name: &str) -> Option<&InstanceType> {
        self.asg.instance_types.iter().find(|t| t.name == name)
    }
}

/// Enforce acts; observe only reports what it would do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    #[default]
    Enforce,
    Observe,
}

/// The planner's knobs. Defaults suit a service fleet behind load balancers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    pub mode: Mode,
    /// Empty instances kept beyond what the tasks need (added on scale-out, kept on
    /// consolidation), as headroom for the next placement.
    pub spare_instances: u32,
    /// An instance younger than this is never consolidated, and no consolidation happens within
    /// this long after the newest launch: a falling load must stay low before capacity follows it.
    pub scale_in_delay_s: u64,
    /// Most instances added by one plan.
    pub max_scale_out_step: u32,
    /// Most instances released (scaled in) by one plan.
    pub max_scale_in_step: u32,
    /// Most instances draining tasks at the same time (consolidation only; terminations held by
    /// a lifecycle hook always drain).
    pub disruption_budget: u32,
    /// A lifecycle hook is completed after this long even if tasks remain (with an alert).
    pub max_hook_hold_s: u64,
    /// Heartbeat a held hook when its heartbeat timeout is this close (two reconciles at least).
    pub heartbeat_margin_s: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            mode: Mode::Enforce,
            spare_instances: 0,
            scale_in_delay_s: 300,
            max_scale_out_step: 100,
            max_scale_in_step: 10,
            disruption_budget: 2,
            max_hook_hold_s: 6 * 3600,
            heartbeat_margin_s: 180,
        }
    }
}
