//! The handler on in-memory adapters (cluster, state table, alerts queue, metrics, clock): one
//! test per event kind and rule. Time is the events' `time`; nothing waits.

use std::sync::{Arc, Mutex};

use fleetwatch_alerts::Alert;
use fleetwatch_ports::{
    FaultKind, ManualClock, MemoryQueue, MemoryStateStore, MessageQueue, MetricLines, MetricsSink,
    QueueError, StateError, StateItem, StateStore,
};
use fleetwatch_scaling::{
    Action, Asg, CapacityProvider, CompleteReason, ContainerInstance, HookRecord, HookState,
    InstanceStatus, InstanceType, Mode, PendingTask, Placement, Resources, Service, Snapshot, Task,
    TaskStatus, rfc3339,
};
use serde_json::{Value, json};

use crate::config::CapacityConfig;
use crate::{
    CapacityHandler, ClusterApi, ClusterView, Done, HandlerError, MemoryCluster, Outcome, Report,
    records,
};

/// 2026-11-20T10:06:00Z
const T0: u64 = 1_795_169_160;
const LARGE: Resources = Resources::new(2048, 7680);
const HOOK: &str = "fleetwatch-capacity-drain";

// ---- builders ---------------------------------------------------------------------------------

fn task(service: &str, n: u32, cpu: u32, memory: u32, status: TaskStatus) -> Task {
    let desired_status = match status {
        TaskStatus::Deactivating | TaskStatus::Stopping | TaskStatus::Stopped => {
            TaskStatus::Stopped
        }
        _ => TaskStatus::Running,
    };
    Task {
        arn: format!("arn:aws:ecs:eu-west-1:123456789012:task/prod/{service}{n}"),
        service: Some(service.into()),
        resources: Resources::new(cpu, memory),
        last_status: status,
        desired_status,
        daemon: false,
    }
}

/// An ACTIVE, protected instance launched long ago; its remaining room follows its tasks.
fn instance(id: &str, az: &str, tasks: Vec<Task>) -> ContainerInstance {
    let used = tasks
        .iter()
        .filter(|t| t.last_status.occupies_instance())
        .fold(Resources::default(), |sum, t| sum.plus(t.resources));
    ContainerInstance {
        id: id.into(),
        arn: format!("arn:aws:ecs:eu-west-1:123456789012:container-instance/prod/{id}"),
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

/// An instance full of `web` tasks (two of 1024 CPU): nothing else fits, nothing moves.
fn full(id: &str, az: &str) -> ContainerInstance {
    instance(
        id,
        az,
        vec![
            task("web", 1, 1024, 3072, TaskStatus::Running),
            task("web", 2, 1024, 3072, TaskStatus::Running),
        ],
    )
}

fn pending(n: u32) -> Vec<PendingTask> {
    (0..n)
        .map(|i| PendingTask {
            id: format!("web#missing-{i}"),
            service: Some("web".into()),
            resources: Resources::new(1024, 3072),
            placement: Placement::default(),
            since: T0 - 120,
        })
        .collect()
}

fn snapshot(instances: Vec<ContainerInstance>) -> Snapshot {
    let desired = instances.len() as u32;
    let running = instances.iter().map(|i| i.tasks.len() as u32).sum();
    Snapshot {
        cluster: "prod".into(),
        instances,
        pending_tasks: Vec::new(),
        services: vec![Service {
            name: "web".into(),
            desired: running,
            running,
            pending: 0,
            minimum_healthy_percent: 100,
            maximum_percent: 200,
            placement: Placement::default(),
        }],
        asg: Asg {
            name: "prod-asg".into(),
            min: 0,
            max: 10,
            desired,
            instance_types: vec![InstanceType {
                name: "m6g.large".into(),
                resources: LARGE,
            }],
            azs: vec!["a".into(), "b".into(), "c".into()],
            in_flight: Vec::new(),
            lifecycle_hooks: vec![HOOK.into()],
        },
        hooks: Vec::new(),
        capacity_providers: Vec::new(),
    }
}

fn config(mode: Mode) -> CapacityConfig {
    let vars = [
        ("FLEETWATCH_CAPACITY_CLUSTER", "prod"),
        ("FLEETWATCH_CAPACITY_ASG", "prod-asg"),
        ("FLEETWATCH_CAPACITY_INSTANCE_TYPES", "m6g.large=2048/7680"),
        (
            "FLEETWATCH_CAPACITY_MODE",
            if mode == Mode::Enforce {
                "enforce"
            } else {
                "observe"
            },
        ),
        ("FLEETWATCH_CAPACITY_MAX_HOOK_HOLD", "3600"),
        ("FLEETWATCH_STATE_TABLE", "state"),
        ("FLEETWATCH_ALERTS_QUEUE_URL", "http://q/alerts"),
    ];
    CapacityConfig::from_lookup(|name| {
        vars.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    })
    .unwrap()
}

// ---- events -----------------------------------------------------------------------------------

fn scheduled(at: u64) -> Value {
    json!({
        "version": "0",
        "id": format!("sched-{at}"),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": rfc3339(at),
        "region": "eu-west-1",
        "resources": ["arn:aws:events:eu-west-1:123456789012:rule/fleetwatch-capacity-prod"],
        "detail": {}
    })
}

fn placement_failure(at: u64) -> Value {
    json!({
        "version": "0",
        "id": "7a2b3c4d-5e6f-4a1b-9c8d-7e6f5a4b3c01",
        "detail-type": "ECS Service Action",
        "source": "aws.ecs",
        "account": "123456789012",
        "time": rfc3339(at),
        "region": "eu-west-1",
        "resources": ["arn:aws:ecs:eu-west-1:123456789012:service/prod/web"],
        "detail": {
            "eventType": "ERROR",
            "eventName": "SERVICE_TASK_PLACEMENT_FAILURE",
            "clusterArn": "arn:aws:ecs:eu-west-1:123456789012:cluster/prod",
            "createdAt": rfc3339(at),
            "reason": "RESOURCE:CPU"
        }
    })
}

fn terminate(instance_id: &str, token: &str, at: u64) -> Value {
    json!({
        "version": "0",
        "id": format!("term-{instance_id}-{token}"),
        "detail-type": "EC2 Instance-terminate Lifecycle Action",
        "source": "aws.autoscaling",
        "account": "123456789012",
        "time": rfc3339(at),
        "region": "eu-west-1",
        "resources": ["arn:aws:autoscaling:eu-west-1:123456789012:autoScalingGroup:5e8f:autoScalingGroupName/prod-asg"],
        "detail": {
            "LifecycleActionToken": token,
            "AutoScalingGroupName": "prod-asg",
            "LifecycleHookName": HOOK,
            "EC2InstanceId": instance_id,
            "LifecycleTransition": "autoscaling:EC2_INSTANCE_TERMINATING"
        }
    })
}

// ---- the world --------------------------------------------------------------------------------

/// Shares one in-memory adapter between the handler and the test.
struct Shared<T>(Arc<T>);

impl ClusterApi for Shared<MemoryCluster> {
    async fn snapshot(&self, now: u64) -> Result<ClusterView, crate::ClusterError> {
        self.0.snapshot(now).await
    }

    async fn execute(&self, action: &Action) -> Result<Done, crate::ClusterError> {
        self.0.execute(action).await
    }
}

impl MessageQueue for Shared<MemoryQueue> {
    async fn send(&self, body: &str) -> Result<String, QueueError> {
        self.0.send(body).await
    }
}

/// A state store where another invocation writes first: before each of the next compare-and-set
/// calls, the queued item is put (as a concurrent run would have stored it).
struct Interfering {
    inner: MemoryStateStore,
    before_next_write: Mutex<Vec<StateItem>>,
}

impl StateStore for Shared<Interfering> {
    async fn get(&self, key: &str) -> Result<Option<StateItem>, StateError> {
        self.0.inner.get(key).await
    }

    async fn put(&self, item: &StateItem) -> Result<(), StateError> {
        self.0.inner.put(item).await
    }

    async fn compare_and_set(
        &self,
        item: &StateItem,
        expected: Option<&str>,
    ) -> Result<bool, StateError> {
        let interference = self.0.before_next_write.lock().unwrap().pop();
        if let Some(theirs) = interference {
            self.0.inner.put(&theirs).await?;
        }
        self.0.inner.compare_and_set(item, expected).await
    }

    async fn delete(&self, key: &str) -> Result<(), StateError> {
        self.0.inner.delete(key).await
    }
}

type Handler = CapacityHandler<Shared<MemoryCluster>, Shared<Interfering>, Shared<MemoryQueue>>;

struct World {
    cluster: Arc<MemoryCluster>,
    state: Arc<Interfering>,
    queue: Arc<MemoryQueue>,
    metrics: MetricLines,
    handler: Handler,
}

impl World {
    fn new(snapshot: Snapshot, mode: Mode) -> World {
        Self::with_view(ClusterView::new(snapshot), mode)
    }

    fn with_view(view: ClusterView, mode: Mode) -> World {
        // The clock only stamps metrics and expires state items; plans use the events' time.
        let clock = Arc::new(ManualClock::at_epoch_seconds(T0));
        let cluster = Arc::new(MemoryCluster::new(view));
        let state = Arc::new(Interfering {
            inner: MemoryStateStore::new(clock.clone()),
            before_next_write: Mutex::default(),
        });
        let queue = Arc::new(MemoryQueue::default());
        let (metrics_sink, metrics) = MetricsSink::memory(clock.clone());
        let handler = CapacityHandler::new(
            Shared(cluster.clone()),
            Shared(state.clone()),
            Shared(queue.clone()),
            config(mode),
            metrics_sink,
            clock,
        );
        World {
            cluster,
            state,
            queue,
            metrics,
            handler,
        }
    }

    async fn run(&self, event: Value) -> Report {
        match self.handler.handle(event).await.expect("handled") {
            Outcome::Reconciled(report) => report,
            other => panic!("{other:?}"),
        }
    }

    /// The actions the cluster carried out since the last call.
    fn actions(&self) -> Vec<Action> {
        self.cluster.take_executed()
    }

    fn alerts(&self) -> Vec<Alert> {
        self.queue
            .messages()
            .iter()
            .map(|m| serde_json::from_str(m).expect("alerts are Alert JSON"))
            .collect()
    }

    async fn records(&self) -> Vec<HookRecord> {
        records::load(&Shared(self.state.clone()), "prod-asg")
            .await
            .unwrap()
            .records
    }

    fn set_tasks(&self, instance_id: &str, status: TaskStatus) {
        self.cluster.update(|view| {
            let instance = view
                .snapshot
                .instances
                .iter_mut()
                .find(|i| i.id == instance_id)
                .unwrap();
            for task in &mut instance.tasks {
                *task = self::task(
                    "web",
                    9,
                    task.resources.cpu,
                    task.resources.memory,
                    status.clone(),
                );
            }
        });
    }
}

fn kinds(actions: &[Action]) -> Vec<&'static str> {
    actions.iter().map(crate::action_kind).collect()
}

// ---- scale-out --------------------------------------------------------------------------------

#[tokio::test]
async fn scale_out_happens_once_for_tasks_that_instances_in_flight_will_hold() {
    let mut cluster = snapshot(vec![full("i-1", "a"), full("i-2", "b")]);
    cluster.pending_tasks = pending(4);
    let world = World::new(cluster, Mode::Enforce);

    let report = world.run(scheduled(T0)).await;
    assert_eq!(
        world.actions(),
        vec![Action::SetDesiredCapacity {
            asg: "prod-asg".into(),
            desired: 4
        }],
        "{report:#?}"
    );
    let alerts = world.alerts();
    assert_eq!(alerts.len(), 1);
    assert_eq!(
        alerts[0].title,
        "Scaling prod-asg out from 2 to 4 for 4 pending task(s)"
    );
    assert_eq!(report.alerts, 1);

    // The group is launching two instances (desired 4, two registered): the same pending tasks
    // a minute later add nothing and say nothing.
    let report = world.run(scheduled(T0 + 60)).await;
    assert!(world.actions().is_empty(), "{report:#?}");
    assert_eq!(world.alerts().len(), 1, "no second summary");

    // Once they are running as launch requests the planner counts, also when ECS lists them.
    world.cluster.update(|view| {
        view.snapshot.asg.in_flight = vec![
            fleetwatch_scaling::InFlight {
                id: "i-3".into(),
                az: Some("c".into()),
                instance_type: "m6g.large".into(),
                launched_at: T0 + 30,
            },
            fleetwatch_scaling::InFlight {
                id: "i-4".into(),
                az: Some("a".into()),
                instance_type: "m6g.large".into(),
                launched_at: T0 + 30,
            },
        ];
    });
    world.run(scheduled(T0 + 120)).await;
    assert!(world.actions().is_empty());

    // Metrics of the first run: what was pending, the group, and the action by kind.
    let documents = world.metrics.documents();
    let first = &documents[0];
    assert_eq!(first["PendingTasks"], 4.0);
    assert_eq!(first["Instances"], 2.0);
    assert_eq!(first["DesiredCapacity"], 2.0);
    assert_eq!(first["PlannedDesiredCapacity"], 4.0);
    assert_eq!(first["AutoScalingGroup"], "prod-asg");
    assert_eq!(first["trigger"], "scheduled");
    assert_eq!(first["mode"], "enforce");
    let desired = documents
        .iter()
        .find(|d| d["Action"] == "set_desired_capacity")
        .expect("a document per action kind");
    assert_eq!(desired["ActionsExecuted"], 1.0);
    assert_eq!(
        desired["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
        json!([["AutoScalingGroup", "Action"]])
    );
}

#[tokio::test]
async fn a_placement_failure_reconciles_at_once() {
    let mut cluster = snapshot(vec![full("i-1", "a")]);
    cluster.pending_tasks = pending(1);
    let world = World::new(cluster, Mode::Enforce);
    let report = world.run(placement_failure(T0 + 7)).await;
    assert_eq!(report.trigger, "placement_failure");
    assert_eq!(report.at, T0 + 7, "planned at the event's time");
    assert_eq!(kinds(&world.actions()), ["set_desired_capacity"]);
    assert_eq!(world.cluster.view().snapshot.asg.desired, 2);
}

// ---- terminate hooks --------------------------------------------------------------------------

#[tokio::test]
async fn a_terminate_event_records_the_hook_and_drains_the_instance() {
    let world = World::new(
        snapshot(vec![full("i-1", "a"), full("i-2", "b")]),
        Mode::Enforce,
    );
    let report = world.run(terminate("i-1", "tok-1", T0)).await;
    assert_eq!(report.trigger, "terminate");
    assert_eq!(
        world.actions(),
        vec![Action::DrainInstance {
            instance_id: "i-1".into(),
            container_instance_arn: None
        }],
        "drained, nothing completed while tasks run: {report:#?}"
    );
    assert_eq!(
        world.cluster.view().snapshot.instances[0].status,
        InstanceStatus::Draining
    );
    let records = world.records().await;
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].instance_id, "i-1");
    assert_eq!(records[0].token, "tok-1");
    assert_eq!(records[0].hook_name, HOOK);
    assert_eq!(records[0].started_at, T0);
    assert_eq!(records[0].heartbeat_timeout_s, 900);
    assert!(records[0].is_holding());
}

#[tokio::test]
async fn a_held_hook_is_heartbeaten_near_its_timeout_and_completed_when_the_instance_is_empty() {
    let world = World::new(
        snapshot(vec![full("i-1", "a"), full("i-2", "b")]),
        Mode::Enforce,
    );
    world.run(terminate("i-1", "tok-1", T0)).await;
    world.actions();

    // Heartbeat timeout 900 s, margin 180 s: nothing at +660, a heartbeat at +720 (the timeout
    // is 180 s away), none the minute after.
    world.run(scheduled(T0 + 660)).await;
    assert!(world.actions().is_empty());
    world.run(scheduled(T0 + 720)).await;
    assert_eq!(
        world.actions(),
        vec![Action::HeartbeatHook {
            asg: "prod-asg".into(),
            hook_name: HOOK.into(),
            instance_id: "i-1".into(),
            token: "tok-1".into()
        }]
    );
    assert_eq!(world.records().await[0].last_heartbeat_at, T0 + 720);
    world.run(scheduled(T0 + 780)).await;
    assert!(world.actions().is_empty());

    // Tasks still stopping hold the instance; stopped ones release it.
    world.set_tasks("i-1", TaskStatus::Deactivating);
    world.run(scheduled(T0 + 840)).await;
    assert!(
        world.actions().is_empty(),
        "DEACTIVATING tasks still hold it"
    );
    world.set_tasks("i-1", TaskStatus::Stopped);
    world.run(scheduled(T0 + 900)).await;
    assert_eq!(
        world.actions(),
        vec![Action::CompleteHook {
            asg: "prod-asg".into(),
            hook_name: HOOK.into(),
            instance_id: "i-1".into(),
            token: "tok-1".into(),
            result: fleetwatch_scaling::HookResult::Continue
        }]
    );
    let record = &world.records().await[0];
    assert_eq!(
        record.state,
        HookState::Completed {
            at: T0 + 900,
            reason: CompleteReason::Empty
        }
    );
    assert!(world.cluster.completed_hooks().contains("i-1"));
    assert!(world.alerts().is_empty(), "a normal drain is not news");

    world.run(scheduled(T0 + 960)).await;
    assert!(
        world.actions().is_empty(),
        "a completed hook produces nothing"
    );
}

#[tokio::test]
async fn a_hook_held_past_the_maximum_is_completed_with_an_alert() {
    let world = World::new(
        snapshot(vec![full("i-1", "a"), full("i-2", "b")]),
        Mode::Enforce,
    );
    world.run(terminate("i-1", "tok-1", T0)).await;
    world.actions();
    // Max hold 3600 s (configured): tasks that never stop are cut off then, and it is said.
    world.run(scheduled(T0 + 3600)).await;
    let actions = world.actions();
    assert_eq!(kinds(&actions), ["complete_hook"]);
    let alerts = world.alerts();
    assert_eq!(alerts.len(), 1);
    assert_eq!(
        alerts[0].title,
        "i-1 terminated after 60m of draining with 2 task(s) still on it"
    );
    assert_eq!(
        world.records().await[0].state,
        HookState::Completed {
            at: T0 + 3600,
            reason: CompleteReason::MaxHold
        }
    );
}

#[tokio::test]
async fn repeated_events_and_completed_hooks_are_harmless() {
    let world = World::new(
        snapshot(vec![full("i-1", "a"), full("i-2", "b")]),
        Mode::Enforce,
    );
    world.run(terminate("i-1", "tok-1", T0)).await;
    assert_eq!(kinds(&world.actions()), ["drain_instance"]);
    let recorded = world.records().await;

    // EventBridge delivers at least once, and Lambda retries: the same event changes nothing.
    world.run(terminate("i-1", "tok-1", T0)).await;
    assert!(world.actions().is_empty());
    assert_eq!(world.records().await, recorded);

    world.set_tasks("i-1", TaskStatus::Stopped);
    world.run(scheduled(T0 + 60)).await;
    assert_eq!(kinds(&world.actions()), ["complete_hook"]);
    let completed = world.records().await;

    // The event once more, after completion: still nothing.
    world.run(terminate("i-1", "tok-1", T0)).await;
    assert!(world.actions().is_empty());
    assert_eq!(world.records().await, completed);

    // A hook completed elsewhere (by hand) is completed again without harm: Auto Scaling's
    // "no active lifecycle action" counts as done.
    world.run(terminate("i-2", "tok-2", T0 + 120)).await;
    world.actions();
    world.cluster.complete_hook_elsewhere("i-2");
    world.set_tasks("i-2", TaskStatus::Stopped);
    let report = world.run(scheduled(T0 + 180)).await;
    assert_eq!(kinds(&world.actions()), ["complete_hook"]);
    assert!(
        report.executed[0].ends_with("(already done)"),
        "{report:#?}"
    );
    assert!(!world.records().await[1].is_holding());
}

#[tokio::test]
async fn a_heartbeat_refused_because_the_hook_is_gone_ends_the_record() {
    let world = World::new(
        snapshot(vec![full("i-1", "a"), full("i-2", "b")]),
        Mode::Enforce,
    );
    world.run(terminate("i-1", "tok-1", T0)).await;
    world.cluster.complete_hook_elsewhere("i-1");
    world.actions();
    world.run(scheduled(T0 + 720)).await;
    assert_eq!(kinds(&world.actions()), ["heartbeat_hook"]);
    assert_eq!(
        world.records().await[0].state,
        HookState::Completed {
            at: T0 + 720,
            reason: CompleteReason::Gone
        }
    );
    world.run(scheduled(T0 + 780)).await;
    assert!(world.actions().is_empty(), "not heartbeaten again");
}

#[tokio::test]
async fn a_terminating_instance_whose_event_was_lost_is_adopted_from_the_group() {
    let mut view = ClusterView::new(snapshot(vec![full("i-1", "a"), full("i-2", "b")]));
    view.terminating = vec!["i-1".into()];
    let world = World::with_view(view, Mode::Enforce);
    world.run(scheduled(T0)).await;
    let actions = world.actions();
    assert_eq!(kinds(&actions), ["drain_instance", "heartbeat_hook"]);
    assert!(
        matches!(&actions[1], Action::HeartbeatHook { token, .. } if token.is_empty()),
        "named by instance id: the token is not known"
    );
    let records = world.records().await;
    assert_eq!(records.len(), 1);
    assert!(records[0].is_holding());

    // Without our hook on the group, a Terminating:Wait instance is someone else's business.
    let mut view = ClusterView::new(snapshot(vec![full("i-1", "a"), full("i-2", "b")]));
    view.terminating = vec!["i-1".into()];
    view.snapshot.asg.lifecycle_hooks.clear();
    let world = World::with_view(view, Mode::Enforce);
    world.run(scheduled(T0)).await;
    assert!(world.actions().is_empty());
    assert!(world.records().await.is_empty());
}

// ---- modes ------------------------------------------------------------------------------------

#[tokio::test]
async fn observe_mode_publishes_what_it_would_do_and_does_nothing_else() {
    let mut cluster = snapshot(vec![full("i-1", "a"), full("i-2", "b")]);
    cluster.pending_tasks = pending(4);
    let world = World::new(cluster, Mode::Observe);
    let report = world.run(scheduled(T0)).await;
    assert!(world.actions().is_empty(), "{report:#?}");
    assert_eq!(world.cluster.view().snapshot.asg.desired, 2);
    let alerts = world.alerts();
    assert_eq!(alerts.len(), 1);
    assert_eq!(
        alerts[0].title,
        "[observe] would: Scaling prod-asg out from 2 to 4 for 4 pending task(s)"
    );
    assert!(report.not_executed[0].starts_with("SetDesiredCapacity prod-asg to 4"));

    // A terminate event: no drain, no record.
    let report = world.run(terminate("i-1", "tok-1", T0 + 60)).await;
    assert!(world.actions().is_empty());
    assert!(world.records().await.is_empty());
    assert!(
        report.not_executed[0].starts_with("drain i-1"),
        "{report:#?}"
    );
}

#[tokio::test]
async fn next_to_ecs_managed_scaling_it_stands_down_with_one_alert() {
    let mut cluster = snapshot(vec![full("i-1", "a"), full("i-2", "b")]);
    cluster.pending_tasks = pending(4);
    cluster.capacity_providers = vec![CapacityProvider {
        name: "prod-ondemand".into(),
        asg: "arn:aws:autoscaling:eu-west-1:123456789012:autoScalingGroup:5e8f:autoScalingGroupName/prod-asg".into(),
        managed_scaling: true,
        managed_draining: false,
    }];
    let world = World::new(cluster, Mode::Enforce);
    let report = world.run(scheduled(T0)).await;
    assert!(report.stood_down);
    assert!(world.actions().is_empty());
    let alerts = world.alerts();
    assert_eq!(alerts.len(), 1);
    assert!(
        alerts[0]
            .title
            .starts_with("Capacity planner stands down: capacity provider prod-ondemand"),
        "{}",
        alerts[0].title
    );
    assert_eq!(world.metrics.documents()[0]["StoodDown"], 1.0);
}

// ---- failures ---------------------------------------------------------------------------------

#[tokio::test]
async fn a_transient_failure_is_retried_and_the_hook_stays_held_until_it_is_completed() {
    let world = World::new(
        snapshot(vec![full("i-1", "a"), full("i-2", "b")]),
        Mode::Enforce,
    );
    world.run(terminate("i-1", "tok-1", T0)).await;
    world.actions();
    world.set_tasks("i-1", TaskStatus::Stopped);
    world
        .cluster
        .fail_next("complete_hook", FaultKind::Transient);
    let error = world.handler.handle(scheduled(T0 + 60)).await.unwrap_err();
    assert!(error.is_transient());
    assert!(matches!(error, HandlerError::Execute { .. }));
    assert_eq!(
        fleetwatch_ports::ErrorChain(&error).to_string(),
        "carrying out the plan: complete_hook: injected transient failure of complete_hook"
    );
    assert!(world.records().await[0].is_holding(), "not completed yet");

    // Lambda's retry of the same event completes it.
    world.run(scheduled(T0 + 60)).await;
    assert_eq!(kinds(&world.actions()), ["complete_hook"]);
    assert!(!world.records().await[0].is_holding());
}

#[tokio::test]
async fn a_permanent_failure_stops_the_plan_and_is_alerted_not_retried() {
    let mut cluster = snapshot(vec![full("i-1", "a"), full("i-2", "b")]);
    cluster.pending_tasks = pending(4);
    cluster.instances[1].protected = false;
    let world = World::new(cluster, Mode::Enforce);
    world.cluster.fail_next("protect", FaultKind::Permanent);
    let report = world.run(scheduled(T0)).await;
    assert!(world.actions().is_empty(), "nothing after the failed step");
    assert_eq!(world.cluster.view().snapshot.asg.desired, 2);
    let failed = report.failed.as_deref().unwrap();
    assert!(
        failed.contains("injected permanent failure of protect"),
        "{failed}"
    );
    let alerts = world.alerts();
    assert_eq!(
        alerts.len(),
        1,
        "the failure, not the summary of what did not happen"
    );
    assert_eq!(
        alerts[0].title,
        "Capacity function cannot act on prod-asg: SetInstanceProtection protect i-2 in prod-asg failed"
    );
    assert!(
        report
            .not_executed
            .iter()
            .any(|s| s.ends_with("(not reached)"))
    );
    assert!(
        world
            .metrics
            .documents()
            .iter()
            .any(|d| d["Failures"] == 1.0)
    );

    // The same failure the next minute is the same alert (the fan-out posts it once).
    world.cluster.fail_next("protect", FaultKind::Permanent);
    world.run(scheduled(T0 + 60)).await;
    let alerts = world.alerts();
    assert_eq!(alerts[1].id, alerts[0].id);
}

#[tokio::test]
async fn a_concurrent_run_loses_no_record() {
    let world = World::new(
        snapshot(vec![full("i-1", "a"), full("i-2", "b")]),
        Mode::Enforce,
    );
    // Another run records i-2's hook just before this run writes i-1's.
    let mut theirs = records::load(&Shared(world.state.clone()), "prod-asg")
        .await
        .unwrap();
    let other = HookRecord {
        instance_id: "i-2".into(),
        asg: "prod-asg".into(),
        hook_name: HOOK.into(),
        token: "tok-2".into(),
        started_at: T0,
        heartbeat_timeout_s: 900,
        global_timeout_s: 90_000,
        last_heartbeat_at: T0,
        state: HookState::Holding,
    };
    theirs.records.push(other.clone());
    world
        .state
        .before_next_write
        .lock()
        .unwrap()
        .push(StateItem {
            key: records::key("prod-asg"),
            value: serde_json::to_string(&theirs.records).unwrap(),
            expires_at: T0 + 86_400,
        });
    world.run(terminate("i-1", "tok-1", T0)).await;
    let ids: Vec<String> = world
        .records()
        .await
        .into_iter()
        .map(|r| r.instance_id)
        .collect();
    assert_eq!(ids, ["i-2", "i-1"]);

    // And when this run completes i-1 while the other heartbeats i-2, both changes stay.
    world.set_tasks("i-1", TaskStatus::Stopped);
    let mut heartbeaten = other.clone();
    heartbeaten.last_heartbeat_at = T0 + 700;
    let current = world.records().await;
    let mut theirs = current.clone();
    theirs[0] = heartbeaten.clone();
    world
        .state
        .before_next_write
        .lock()
        .unwrap()
        .push(StateItem {
            key: records::key("prod-asg"),
            value: serde_json::to_string(&theirs).unwrap(),
            expires_at: T0 + 86_400,
        });
    world.run(scheduled(T0 + 60)).await;
    let after = world.records().await;
    assert_eq!(after[0], heartbeaten);
    assert!(!after[1].is_holding(), "i-1 completed");
}

#[tokio::test]
async fn unreadable_records_are_replaced_and_said_so() {
    let world = World::new(snapshot(vec![full("i-1", "a")]), Mode::Enforce);
    world
        .state
        .inner
        .put(&StateItem {
            key: records::key("prod-asg"),
            value: "[{\"instance_id\":".into(),
            expires_at: T0 + 86_400,
        })
        .await
        .unwrap();
    world.run(scheduled(T0)).await;
    let alerts = world.alerts();
    assert_eq!(alerts.len(), 1);
    assert!(
        alerts[0]
            .title
            .contains("reset the unreadable lifecycle-hook records")
    );
    assert_eq!(
        world
            .state
            .inner
            .get(&records::key("prod-asg"))
            .await
            .unwrap()
            .unwrap()
            .value,
        "[]"
    );
}

#[tokio::test]
async fn events_that_are_not_ours_are_ignored_without_reading_the_cluster() {
    let world = World::new(snapshot(vec![full("i-1", "a")]), Mode::Enforce);
    let mut other = terminate("i-1", "tok-1", T0);
    other["detail"]["AutoScalingGroupName"] = json!("batch-asg");
    let outcome = world.handler.handle(other).await.unwrap();
    assert!(matches!(outcome, Outcome::Ignored { ref reason } if reason.contains("batch-asg")));
    assert_eq!(world.cluster.snapshots_read(), 0);
    assert!(world.actions().is_empty());
    assert_eq!(
        serde_json::to_value(&outcome).unwrap()["outcome"],
        "ignored"
    );
}
