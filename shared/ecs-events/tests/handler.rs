//! The handler over in-memory adapters (state, queues) and scripted lookups: what is published,
//! dropped, skipped as a duplicate or dead-lettered, and that enrichment never stops an alert.
//! The AWS adapters are tested against moto and recorded responses in tests/ecs_events.rs.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use fleetwatch_alerts::Alert;
use fleetwatch_ecs::{
    AwsLogs, ContainerDefinition, DeploymentSnapshot, ServiceSnapshot, TaskDefinitionSnapshot,
};
use fleetwatch_ecs_events::{EcsEventsHandler, EcsLookups, LookupError, Outcome, Settings};
use fleetwatch_ports::{
    Fault, ManualClock, MemoryQueue, MemoryStateStore, MessageQueue, MetricLines, MetricsSink,
    QueueError, SharedClock,
};
use serde_json::Value;

fn fixture(name: &str) -> Value {
    let path = format!("{}/../../events/ecs/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).expect(&path)).expect("fixture is JSON")
}

/// A queue the test can read after the handler used it, and make fail.
#[derive(Clone, Default)]
struct Queue {
    inner: Arc<MemoryQueue>,
    failing: Arc<Mutex<bool>>,
}

impl Queue {
    fn alerts(&self) -> Vec<Alert> {
        self.inner
            .messages()
            .iter()
            .map(|m| serde_json::from_str(m).expect("an Alert"))
            .collect()
    }
    fn fail(&self, on: bool) {
        *self.failing.lock().unwrap() = on;
    }
}

impl MessageQueue for Queue {
    async fn send(&self, body: &str) -> Result<String, QueueError> {
        if *self.failing.lock().unwrap() {
            return Err(QueueError::Send(Fault::transient("ServiceUnavailable")));
        }
        self.inner.send(body).await
    }
}

/// Lookups answering like ECS for service `api` of cluster `prod` mid-deployment, or failing,
/// or never answering.
#[derive(Clone, Copy)]
enum Lookups {
    Answering,
    Failing,
    Hanging,
}

const TD: &str = "arn:aws:ecs:eu-west-1:111122223333:task-definition";

impl EcsLookups for Lookups {
    async fn describe_service(
        &self,
        _cluster: &str,
        _service: &str,
    ) -> Result<Option<ServiceSnapshot>, LookupError> {
        self.behave().await?;
        let deployment = |id: &str, status: &str, revision: u32, failed: i64| DeploymentSnapshot {
            id: id.into(),
            status: Some(status.into()),
            task_definition_arn: Some(format!("{TD}/api:{revision}")),
            desired_count: Some(3),
            running_count: Some(1),
            pending_count: Some(2),
            failed_tasks: Some(failed),
        };
        Ok(Some(ServiceSnapshot {
            desired_count: Some(3),
            running_count: Some(4),
            pending_count: Some(2),
            task_definition_arn: Some(format!("{TD}/api:20")),
            deployments: vec![
                deployment("ecs-svc/9876543210987654321", "PRIMARY", 20, 2),
                deployment("ecs-svc/1234567890123456789", "ACTIVE", 19, 0),
            ],
        }))
    }

    async fn describe_task_definition(
        &self,
        arn: &str,
    ) -> Result<TaskDefinitionSnapshot, LookupError> {
        self.behave().await?;
        let revision = arn.rsplit(':').next().unwrap_or_default();
        let tag = if revision == "19" { "v1.4.1" } else { "v1.4.2" };
        let container = |name: &str| ContainerDefinition {
            name: name.into(),
            image: Some(format!(
                "111122223333.dkr.ecr.eu-west-1.amazonaws.com/api:{tag}"
            )),
            awslogs: Some(AwsLogs {
                group: "/ecs/checkout".into(),
                region: Some("eu-west-1".into()),
                stream_prefix: Some("ecs".into()),
            }),
        };
        Ok(TaskDefinitionSnapshot {
            containers: vec![container("app"), container("log-router")],
        })
    }

    async fn last_log_lines(
        &self,
        _group: &str,
        _stream: &str,
        limit: usize,
    ) -> Result<Vec<String>, LookupError> {
        self.behave().await?;
        Ok((0..limit)
            .map(|i| format!("log line {i}"))
            .chain(["java.lang.OutOfMemoryError: Java heap space".to_string()])
            .skip(1)
            .collect())
    }
}

impl Lookups {
    async fn behave(&self) -> Result<(), LookupError> {
        match self {
            Lookups::Answering => Ok(()),
            Lookups::Failing => Err(LookupError(Fault::permanent(
                "AccessDeniedException: not authorized to perform ecs:DescribeServices",
            ))),
            Lookups::Hanging => {
                tokio::time::sleep(Duration::from_secs(30)).await;
                Ok(())
            }
        }
    }
}

struct Harness {
    handler: EcsEventsHandler<MemoryStateStore, Queue, Queue, Lookups>,
    alerts: Queue,
    dead_letters: Queue,
    metrics: MetricLines,
}

fn clock() -> SharedClock {
    Arc::new(ManualClock::at_epoch_seconds(1_800_000_000))
}

fn harness(lookups: Option<Lookups>) -> Harness {
    let (alerts, dead_letters) = (Queue::default(), Queue::default());
    let clock = clock();
    let (sink, metrics) = MetricsSink::memory(clock.clone());
    let settings = Settings {
        enrichment_budget: Duration::from_millis(300),
        ..Settings::default()
    };
    Harness {
        handler: EcsEventsHandler::new(
            MemoryStateStore::new(clock.clone()),
            alerts.clone(),
            dead_letters.clone(),
            lookups,
            settings,
            sink,
            clock,
        ),
        alerts,
        dead_letters,
        metrics,
    }
}

const ALERTING: [&str; 15] = [
    "asg-launch-unsuccessful.json",
    "asg-terminate-unsuccessful.json",
    "container-instance-registration-failed.json",
    "deployment-completed.json",
    "deployment-failed.json",
    "deployment-in-progress.json",
    "deployment-rollback.json",
    "service-configuration-failure.json",
    "service-placement-failure.json",
    "service-start-impaired.json",
    "task-failed-health-check.json",
    "task-failed-to-start-image-pull.json",
    "task-failed-to-start-secrets.json",
    "task-stopped-exit-code.json",
    "task-stopped-oom.json",
];

const NOISE: [&str; 5] = [
    "noise-container-instance-agent-reconnect.json",
    "noise-service-steady-state.json",
    "noise-task-running.json",
    "noise-task-stopped-routine-deployment.json",
    "noise-task-stopped-user-initiated.json",
];

#[tokio::test]
async fn every_alerting_fixture_publishes_one_alert_and_noise_none() {
    let h = harness(None);
    for name in ALERTING {
        let outcome = h.handler.handle(fixture(name)).await.unwrap();
        assert!(
            matches!(
                outcome,
                Outcome::Published {
                    alerts: 1,
                    enrichment_failed: 0
                }
            ),
            "{name}: {outcome:?}"
        );
    }
    for name in NOISE {
        let outcome = h.handler.handle(fixture(name)).await.unwrap();
        assert!(
            matches!(outcome, Outcome::Dropped { .. }),
            "{name}: {outcome:?}"
        );
    }
    assert_eq!(h.alerts.alerts().len(), ALERTING.len());
    assert!(h.dead_letters.inner.messages().is_empty());
    let metrics = h.metrics.lines().join("\n");
    assert_eq!(metrics.matches("\"EventsDropped\":1").count(), NOISE.len());
}

#[tokio::test]
async fn a_redelivered_event_is_published_once() {
    let h = harness(None);
    let event = fixture("task-stopped-exit-code.json");
    h.handler.handle(event.clone()).await.unwrap();
    let again = h.handler.handle(event.clone()).await.unwrap();
    assert!(matches!(again, Outcome::Duplicate { .. }), "{again:?}");

    // The same task version under another EventBridge id (ECS emitted it twice): still one.
    let mut copy = event;
    copy["id"] = "another-event-id".into();
    let again = h.handler.handle(copy).await.unwrap();
    assert!(matches!(again, Outcome::Duplicate { .. }), "{again:?}");
    assert_eq!(h.alerts.alerts().len(), 1);
}

#[tokio::test]
async fn a_newer_version_of_the_same_task_is_not_a_duplicate() {
    let h = harness(None);
    let event = fixture("task-stopped-exit-code.json");
    let mut newer = event.clone();
    let version = event["detail"]["version"].as_i64().unwrap();
    newer["detail"]["version"] = (version + 1).into();
    newer["id"] = "another-event-id".into();
    h.handler.handle(event).await.unwrap();
    h.handler.handle(newer).await.unwrap();
    assert_eq!(h.alerts.alerts().len(), 2);
}

#[tokio::test]
async fn unreadable_events_are_parked_with_the_reason() {
    let h = harness(None);
    for (payload, reason) in [
        (
            serde_json::json!({"hello": "world"}),
            "not an EventBridge event",
        ),
        (
            serde_json::json!({"detail-type": "ECS Task State Change", "source": "aws.ecs",
                               "detail": {"containers": "not a list"}}),
            "unexpected shape",
        ),
    ] {
        let outcome = h.handler.handle(payload.clone()).await.unwrap();
        assert!(
            matches!(outcome, Outcome::DeadLettered { .. }),
            "{outcome:?}"
        );
        let parked: Value =
            serde_json::from_str(h.dead_letters.inner.messages().last().unwrap()).unwrap();
        assert!(
            parked["reason"].as_str().unwrap().contains(reason),
            "{parked}"
        );
        assert_eq!(parked["event"], payload);
    }
    assert!(h.alerts.alerts().is_empty());
}

#[tokio::test]
async fn a_failing_alerts_queue_is_retried_and_the_retry_publishes() {
    let h = harness(None);
    let event = fixture("deployment-failed.json");
    h.alerts.fail(true);
    assert!(h.handler.handle(event.clone()).await.is_err());
    h.alerts.fail(false);
    let retry = h.handler.handle(event).await.unwrap();
    assert!(
        matches!(retry, Outcome::Published { alerts: 1, .. }),
        "{retry:?}"
    );
    assert_eq!(h.alerts.alerts().len(), 1);
}

#[tokio::test]
async fn deployment_alerts_show_the_change_and_the_counts() {
    let h = harness(Some(Lookups::Answering));
    h.handler
        .handle(fixture("deployment-failed.json"))
        .await
        .unwrap();
    let alert = &h.alerts.alerts()[0];
    assert_eq!(
        alert.field("Task definition change"),
        Some("api:19 -> api:20")
    );
    assert_eq!(
        alert.field("Image change"),
        Some("app=v1.4.1, log-router=v1.4.1 -> app=v1.4.2, log-router=v1.4.2")
    );
    assert_eq!(
        alert.field("Tasks"),
        Some("3 desired, 1 running, 2 pending")
    );
    assert_eq!(alert.field("Failed tasks"), Some("2"));
    assert_eq!(alert.field("Note"), None);
}

#[tokio::test]
async fn a_crashed_container_brings_its_last_log_lines_and_a_link() {
    let h = harness(Some(Lookups::Answering));
    h.handler
        .handle(fixture("task-stopped-oom.json"))
        .await
        .unwrap();
    let alert = &h.alerts.alerts()[0];
    let logs = alert.field("Last log lines").expect("log lines");
    assert!(logs.contains("OutOfMemoryError: Java heap space"), "{logs}");
    let link = alert
        .links
        .iter()
        .find(|l| l.title == "Task logs")
        .expect("log link");
    assert!(
        link.url.contains(
            "#logsV2:log-groups/log-group/$252Fecs$252Fcheckout/log-events/ecs$252Fapp$252F"
        ),
        "{}",
        link.url
    );
    // A task alert keeps its own task definition field; no "change" is invented for it.
    assert_eq!(alert.field("Task definition change"), None);
    assert!(alert.field("Tasks").is_some());
}

/// Paused time: the hanging lookup's budget runs out on tokio's clock, at once (no real server is
/// in the loop).
#[tokio::test(start_paused = true)]
async fn failing_or_slow_enrichment_still_alerts_and_says_so() {
    for lookups in [Lookups::Failing, Lookups::Hanging] {
        let h = harness(Some(lookups));
        let outcome = h
            .handler
            .handle(fixture("task-stopped-oom.json"))
            .await
            .unwrap();
        assert!(
            matches!(
                outcome,
                Outcome::Published {
                    alerts: 1,
                    enrichment_failed: 1
                }
            ),
            "{outcome:?}"
        );
        let alert = &h.alerts.alerts()[0];
        let note = alert.field("Note").expect("a note");
        assert!(
            note.starts_with("enrichment unavailable: DescribeServices: "),
            "{note}"
        );
        assert_eq!(alert.field("Last log lines"), None);
        assert_eq!(alert.title, {
            let bare = harness(None);
            bare.handler
                .handle(fixture("task-stopped-oom.json"))
                .await
                .unwrap();
            bare.alerts.alerts()[0].title.clone()
        });
    }
}

#[tokio::test]
async fn kept_noise_becomes_an_info_alert() {
    let mut h = harness(None);
    h.handler = EcsEventsHandler::new(
        MemoryStateStore::new(clock()),
        h.alerts.clone(),
        h.dead_letters.clone(),
        None,
        Settings {
            policy: fleetwatch_ecs::NoisePolicy::keeping("steady_state").unwrap(),
            ..Settings::default()
        },
        MetricsSink::discard(clock()),
        clock(),
    );
    let outcome = h
        .handler
        .handle(fixture("noise-service-steady-state.json"))
        .await
        .unwrap();
    assert!(
        matches!(outcome, Outcome::Published { alerts: 1, .. }),
        "{outcome:?}"
    );
    assert_eq!(
        h.alerts.alerts()[0].severity,
        fleetwatch_alerts::Severity::Info
    );
}
