//! Builders for planner inputs: a three-zone group of m6g.large (2048 CPU, 7680 MiB).
#![allow(dead_code)]

use fleetwatch_scaling::{
    Asg, ContainerInstance, InFlight, InstanceStatus, InstanceType, PendingTask, Placement,
    Resources, Service, Snapshot, Task, TaskStatus,
};

pub const LARGE: Resources = Resources::new(2048, 7680);
pub const NOW: u64 = 100_000;

pub fn large() -> InstanceType {
    InstanceType {
        name: "m6g.large".into(),
        resources: LARGE,
    }
}

/// A task of `service` in `status` (desired RUNNING unless it is on its way out).
pub fn task(service: &str, cpu: u32, memory: u32, status: TaskStatus) -> Task {
    let desired_status = match status {
        TaskStatus::Deactivating | TaskStatus::Stopping | TaskStatus::Stopped => {
            TaskStatus::Stopped
        }
        _ => TaskStatus::Running,
    };
    Task {
        arn: format!("task/{service}"),
        service: Some(service.into()),
        resources: Resources::new(cpu, memory),
        last_status: status,
        desired_status,
        daemon: false,
    }
}

pub fn running(service: &str, cpu: u32, memory: u32) -> Task {
    task(service, cpu, memory, TaskStatus::Running)
}

/// An ACTIVE, protected instance launched long ago, its remaining room computed from its tasks.
pub fn instance(id: &str, az: &str, tasks: Vec<Task>) -> ContainerInstance {
    let used = tasks
        .iter()
        .filter(|t| t.last_status.occupies_instance())
        .fold(Resources::default(), |sum, t| sum.plus(t.resources));
    ContainerInstance {
        id: id.into(),
        arn: format!("arn:aws:ecs:eu-west-1:1:container-instance/prod/{id}"),
        az: az.into(),
        instance_type: "m6g.large".into(),
        registered: LARGE,
        remaining: LARGE.minus(used),
        status: InstanceStatus::Active,
        launched_at: 0,
        protected: true,
        tasks,
    }
}

pub fn draining(mut i: ContainerInstance) -> ContainerInstance {
    i.status = InstanceStatus::Draining;
    i
}

pub fn pending(id: &str, service: &str, cpu: u32, memory: u32) -> PendingTask {
    PendingTask {
        id: id.into(),
        service: Some(service.into()),
        resources: Resources::new(cpu, memory),
        placement: Placement::default(),
        since: NOW - 30,
    }
}

pub fn service(name: &str, desired: u32, running: u32) -> Service {
    Service {
        name: name.into(),
        desired,
        running,
        pending: 0,
        minimum_healthy_percent: 100,
        maximum_percent: 200,
        placement: Placement::default(),
    }
}

pub fn in_flight(id: &str, az: &str) -> InFlight {
    InFlight {
        id: id.into(),
        az: Some(az.into()),
        instance_type: "m6g.large".into(),
        launched_at: NOW - 30,
    }
}

/// A snapshot whose group's desired capacity matches its instances.
pub fn snapshot(instances: Vec<ContainerInstance>) -> Snapshot {
    let desired = instances.len() as u32;
    Snapshot {
        cluster: "prod".into(),
        instances,
        pending_tasks: Vec::new(),
        services: Vec::new(),
        asg: Asg {
            name: "prod-asg".into(),
            min: 0,
            max: 10,
            desired,
            instance_types: vec![large()],
            azs: vec!["a".into(), "b".into(), "c".into()],
            in_flight: Vec::new(),
            lifecycle_hooks: vec!["fleetwatch-drain".into()],
        },
        hooks: Vec::new(),
        capacity_providers: Vec::new(),
    }
}
