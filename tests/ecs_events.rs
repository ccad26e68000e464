//! The ecs-events function against real parts where they run here and recorded answers where
//! they do not:
//! - moto (server mode) for SQS, DynamoDB, SSM, CloudWatch Logs and ECS DescribeServices /
//!   DescribeTaskDefinition of a service moto created;
//! - recorded ECS answers (`AwsJsonFake`, bodies shaped like the ECS API reference's examples)
//!   for what moto does not model: a service mid-deployment with two deployments, failed task
//!   counts, and an AccessDenied;
//! - the Slack fake (Slack cannot run here) behind the real fan-out, in bot mode.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_sdk_ecs::types::{ContainerDefinition, LogConfiguration, LogDriver};
use ecs_events::{EcsEvents, build_handler};
use fleetwatch_alerts::Alert;
use fleetwatch_aws::{AwsClients, DynamoStateStore, EcsApiLookups, SqsQueue};
use fleetwatch_ecs_events::{EcsEventsConfig, EcsEventsHandler, EcsLookups, Outcome, Settings};
use fleetwatch_ports::{Clock, ManualClock, MetricsSink, SharedClock, SystemClock};
use fleetwatch_slack_fanout::FanoutConfig;
use fleetwatch_test_support::NeedsSetup;
use fleetwatch_test_support::aws_json::{AwsJsonFake, Recorded};
use fleetwatch_test_support::moto::MotoServer;
use fleetwatch_test_support::slack::SlackFake;
use serde_json::{Value, json};

use crate::support::{MotoClients, TestResult, delete, lambda_event, receive, take_all};

const TABLE: &str = "fleetwatch-state";
const BOT_TOKEN: &str = "xoxb-0000-SECRET-BOT-TOKEN";
const ROUTING: &str = r##"
destinations:
  deploys: { bot_token_parameter: /fleetwatch/slack/bot-token, channel: "#deploys" }
routes:
  - name: prod-deployments
    match: { labels: { cluster: prod } }
    destinations: [deploys]
default_route: { destinations: [deploys] }
"##;

fn fixture(name: &str) -> Value {
    let path = format!("{}/../events/ecs/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).expect(&path)).expect("fixture is JSON")
}

struct World {
    moto: MotoServer,
    aws: AwsClients,
    alerts_url: String,
    alerts_dlq_url: String,
    events_dlq_url: String,
}

impl World {
    async fn new() -> Result<World, NeedsSetup> {
        let moto = MotoServer::start()?;
        let aws = moto.clients().await;
        moto.create_state_table(TABLE).await;
        let mut urls = Vec::new();
        for name in ["alerts", "alerts-dlq", "ecs-events-dlq"] {
            urls.push(moto.create_queue(name).await);
        }
        Ok(World {
            moto,
            aws,
            alerts_url: urls[0].clone(),
            alerts_dlq_url: urls[1].clone(),
            events_dlq_url: urls[2].clone(),
        })
    }

    fn env(&self) -> BTreeMap<&'static str, String> {
        BTreeMap::from([
            ("FLEETWATCH_ALERTS_QUEUE_URL", self.alerts_url.clone()),
            ("FLEETWATCH_STATE_TABLE", TABLE.to_string()),
            ("FLEETWATCH_EVENTS_DLQ_URL", self.events_dlq_url.clone()),
        ])
    }

    /// The handler as `main` builds it: every client, ECS and CloudWatch Logs included, on moto.
    fn wired_handler(&self) -> EcsEvents {
        let env = self.env();
        let config = EcsEventsConfig::from_lookup(|name| env.get(name).cloned()).unwrap();
        let clock = SystemClock::shared();
        build_handler(
            &config,
            &self.aws,
            MetricsSink::discard(clock.clone()),
            clock,
        )
    }

    /// The handler with moto for state and queues, and `ecs` answering the lookups.
    async fn handler_with_recorded_ecs(
        &self,
        ecs: &AwsJsonFake,
    ) -> EcsEventsHandler<DynamoStateStore, SqsQueue, SqsQueue, EcsApiLookups> {
        let config = self
            .moto
            .sdk_config()
            .await
            .into_builder()
            .endpoint_url(ecs.endpoint())
            .build();
        let lookups = EcsApiLookups::new(
            aws_sdk_ecs::Client::new(&config),
            aws_sdk_cloudwatchlogs::Client::new(&config),
        );
        let clock = SystemClock::shared();
        EcsEventsHandler::new(
            DynamoStateStore::new(self.aws.dynamodb(), TABLE, clock.clone()),
            SqsQueue::new(self.aws.sqs(), &self.alerts_url),
            SqsQueue::new(self.aws.sqs(), &self.events_dlq_url),
            Some(lookups),
            Settings {
                enrichment_budget: Duration::from_secs(10),
                ..Settings::default()
            },
            MetricsSink::discard(clock.clone()),
            clock,
        )
    }

    /// Receives (and deletes) everything on a queue.
    async fn take(&self, queue_url: &str) -> Vec<String> {
        take_all(&self.aws.sqs(), queue_url).await
    }

    async fn published(&self) -> Vec<Alert> {
        self.take(&self.alerts_url)
            .await
            .iter()
            .map(|b| serde_json::from_str(b).unwrap())
            .collect()
    }
}

// ---------------------------------------------------------------------------------------------
// Enrichment against moto
// ---------------------------------------------------------------------------------------------

/// A cluster, task definition (awslogs with a stream prefix), service and a log stream with the
/// crashed container's output, in moto. Returns the task definition ARN.
async fn moto_service(aws: &AwsClients) -> String {
    let ecs = aws_sdk_ecs::Client::new(aws.sdk_config());
    ecs.create_cluster()
        .cluster_name("prod")
        .send()
        .await
        .unwrap();
    let log_configuration = LogConfiguration::builder()
        .log_driver(LogDriver::Awslogs)
        .options("awslogs-group", "/ecs/checkout")
        .options("awslogs-region", "us-east-1")
        .options("awslogs-stream-prefix", "ecs")
        .build()
        .unwrap();
    let registered = ecs
        .register_task_definition()
        .family("checkout")
        .container_definitions(
            ContainerDefinition::builder()
                .name("app")
                .image("123456789012.dkr.ecr.us-east-1.amazonaws.com/checkout:v2.7.0")
                .memory(512)
                .essential(true)
                .log_configuration(log_configuration)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let arn = registered
        .task_definition()
        .and_then(|d| d.task_definition_arn())
        .unwrap()
        .to_string();
    ecs.create_service()
        .cluster("prod")
        .service_name("checkout")
        .task_definition(&arn)
        .desired_count(3)
        .send()
        .await
        .unwrap();

    let logs = aws_sdk_cloudwatchlogs::Client::new(aws.sdk_config());
    logs.create_log_group()
        .log_group_name("/ecs/checkout")
        .send()
        .await
        .unwrap();
    let stream = "ecs/app/0f1e2d3c4b5a69788796a5b4c3d2e1f0";
    logs.create_log_stream()
        .log_group_name("/ecs/checkout")
        .log_stream_name(stream)
        .send()
        .await
        .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let mut put = logs
        .put_log_events()
        .log_group_name("/ecs/checkout")
        .log_stream_name(stream);
    for i in 0..14 {
        let message = if i == 13 {
            "Exception in thread \"main\" java.lang.OutOfMemoryError: Java heap space".to_string()
        } else {
            format!("INFO checkout request {i} served")
        };
        put = put.log_events(
            aws_sdk_cloudwatchlogs::types::InputLogEvent::builder()
                .timestamp(now - 14 + i)
                .message(message)
                .build()
                .unwrap(),
        );
    }
    put.send().await.unwrap();
    arn
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lookups_read_a_service_its_task_definition_and_logs_from_moto() -> TestResult {
    let world = World::new().await?;
    let task_definition = moto_service(&world.aws).await;
    let lookups = EcsApiLookups::from_clients(&world.aws);

    let service = lookups
        .describe_service("prod", "checkout")
        .await
        .unwrap()
        .expect("the service exists");
    assert_eq!(service.desired_count, Some(3));
    assert_eq!(
        service.task_definition_arn.as_deref(),
        Some(task_definition.as_str())
    );
    let primary = service
        .deployments
        .iter()
        .find(|d| d.status.as_deref() == Some("PRIMARY"))
        .expect("a PRIMARY deployment");
    assert_eq!(
        primary.task_definition_arn.as_deref(),
        Some(task_definition.as_str())
    );

    assert_eq!(
        lookups.describe_service("prod", "gone").await.unwrap(),
        None
    );

    let definition = lookups
        .describe_task_definition(&task_definition)
        .await
        .unwrap();
    assert_eq!(definition.containers.len(), 1);
    let app = &definition.containers[0];
    assert_eq!(app.name, "app");
    let awslogs = app.awslogs.as_ref().expect("awslogs options");
    assert_eq!(awslogs.group, "/ecs/checkout");
    assert_eq!(awslogs.stream_prefix.as_deref(), Some("ecs"));

    let lines = lookups
        .last_log_lines(
            "/ecs/checkout",
            "ecs/app/0f1e2d3c4b5a69788796a5b4c3d2e1f0",
            10,
        )
        .await
        .unwrap();
    assert_eq!(lines.len(), 10);
    assert_eq!(lines[0], "INFO checkout request 4 served");
    assert!(lines[9].contains("OutOfMemoryError"));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashed_task_is_published_with_moto_enrichment_once() -> TestResult {
    let world = World::new().await?;
    let task_definition = moto_service(&world.aws).await;
    let handler = world.wired_handler();

    // The OOM fixture, moved into moto's account and region.
    let mut event = fixture("task-stopped-oom.json");
    event["region"] = json!("us-east-1");
    event["account"] = json!("123456789012");
    let detail = &mut event["detail"];
    detail["clusterArn"] = json!("arn:aws:ecs:us-east-1:123456789012:cluster/prod");
    detail["taskArn"] =
        json!("arn:aws:ecs:us-east-1:123456789012:task/prod/0f1e2d3c4b5a69788796a5b4c3d2e1f0");
    detail["taskDefinitionArn"] = json!(task_definition);

    let outcome = handler.handle(event.clone()).await.unwrap();
    assert_eq!(
        outcome,
        Outcome::Published {
            alerts: 1,
            enrichment_failed: 0
        }
    );
    // EventBridge delivers at least once: the repeat is recognised in DynamoDB.
    assert!(matches!(
        handler.handle(event).await.unwrap(),
        Outcome::Duplicate { .. }
    ));

    let alerts = world.published().await;
    assert_eq!(alerts.len(), 1);
    let alert = &alerts[0];
    assert_eq!(
        alert.title,
        "Task of checkout stopped: app ran out of memory"
    );
    assert_eq!(
        alert.field("Tasks"),
        Some("3 desired, 0 running, 3 pending")
    );
    let logs = alert
        .field("Last log lines")
        .expect("the container's last lines");
    assert!(
        logs.contains("request 12 served") && logs.contains("OutOfMemoryError"),
        "{logs}"
    );
    assert!(
        alert.links.iter().any(|l| l
            .url
            .ends_with("log-events/ecs$252Fapp$252F0f1e2d3c4b5a69788796a5b4c3d2e1f0")),
        "{:?}",
        alert.links
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreadable_events_land_in_the_events_dead_letter_queue() -> TestResult {
    let world = World::new().await?;
    let handler = world.wired_handler();
    let outcome = handler.handle(json!({"Records": []})).await.unwrap();
    assert!(
        matches!(outcome, Outcome::DeadLettered { .. }),
        "{outcome:?}"
    );
    let parked = world.take(&world.events_dlq_url).await;
    assert_eq!(parked.len(), 1);
    let parked: Value = serde_json::from_str(&parked[0]).unwrap();
    assert_eq!(parked["event"], json!({"Records": []}));
    assert!(
        parked["reason"]
            .as_str()
            .unwrap()
            .contains("not an EventBridge event")
    );
    assert!(world.published().await.is_empty());
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Recorded ECS answers
// ---------------------------------------------------------------------------------------------

const ACCOUNT_TD: &str = "arn:aws:ecs:eu-west-1:123456789012:task-definition";

/// DescribeServices for `checkout` mid-deployment, shaped like the ECS API reference's example:
/// the new deployment PRIMARY with failed tasks, the old one ACTIVE.
fn recorded_service() -> Recorded {
    let deployment = |id: &str, status: &str, revision: u32, running: u32, failed: u32| {
        json!({
            "id": id, "status": status,
            "taskDefinition": format!("{ACCOUNT_TD}/checkout:{revision}"),
            "desiredCount": 4, "pendingCount": 1, "runningCount": running, "failedTasks": failed,
            "createdAt": 1.7636328e9, "updatedAt": 1.7636334e9, "launchType": "EC2",
            "rolloutState": if status == "PRIMARY" { "IN_PROGRESS" } else { "COMPLETED" },
            "rolloutStateReason": "ECS deployment in progress."
        })
    };
    Recorded::ok(json!({
        "services": [{
            "serviceArn": "arn:aws:ecs:eu-west-1:123456789012:service/prod/checkout",
            "serviceName": "checkout",
            "clusterArn": "arn:aws:ecs:eu-west-1:123456789012:cluster/prod",
            "status": "ACTIVE", "desiredCount": 4, "runningCount": 5, "pendingCount": 1,
            "launchType": "EC2", "taskDefinition": format!("{ACCOUNT_TD}/checkout:43"),
            "deploymentConfiguration": {
                "deploymentCircuitBreaker": {"enable": true, "rollback": true},
                "maximumPercent": 200, "minimumHealthyPercent": 100
            },
            "deployments": [
                deployment("ecs-svc/4827391650284617001", "PRIMARY", 43, 1, 3),
                deployment("ecs-svc/4827391650284617000", "ACTIVE", 42, 4, 0)
            ],
            "events": [], "createdAt": 1.6e9, "schedulingStrategy": "REPLICA"
        }],
        "failures": []
    }))
}

fn recorded_task_definition(revision: u32, tag: &str) -> Recorded {
    Recorded::ok(json!({
        "taskDefinition": {
            "taskDefinitionArn": format!("{ACCOUNT_TD}/checkout:{revision}"),
            "family": "checkout", "revision": revision, "status": "ACTIVE",
            "containerDefinitions": [{
                "name": "app",
                "image": format!("123456789012.dkr.ecr.eu-west-1.amazonaws.com/checkout:{tag}"),
                "cpu": 256, "memory": 512, "essential": true,
                "logConfiguration": {"logDriver": "awslogs", "options": {
                    "awslogs-group": "/ecs/checkout", "awslogs-region": "eu-west-1",
                    "awslogs-stream-prefix": "ecs"
                }}
            }],
            "requiresCompatibilities": ["EC2"]
        }
    }))
}

fn recorded_ecs() -> AwsJsonFake {
    let ecs = AwsJsonFake::start();
    ecs.answer("DescribeServices", recorded_service());
    for (revision, tag) in [(42, "v2.6.3"), (43, "v2.7.0")] {
        ecs.answer_when(
            "DescribeTaskDefinition",
            "taskDefinition",
            json!(format!("{ACCOUNT_TD}/checkout:{revision}")),
            recorded_task_definition(revision, tag),
        );
    }
    ecs
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recorded_answers_give_a_deployment_its_change_and_counts() -> TestResult {
    let world = World::new().await?;
    let ecs = recorded_ecs();
    let handler = world.handler_with_recorded_ecs(&ecs).await;
    handler
        .handle(fixture("deployment-failed.json"))
        .await
        .unwrap();
    let alerts = world.published().await;
    let alert = &alerts[0];
    assert_eq!(
        alert.field("Task definition change"),
        Some("checkout:42 -> checkout:43")
    );
    assert_eq!(alert.field("Image change"), Some("v2.6.3 -> v2.7.0"));
    assert_eq!(
        alert.field("Tasks"),
        Some("4 desired, 1 running, 1 pending")
    );
    assert_eq!(alert.field("Failed tasks"), Some("3"));
    let asked: Vec<String> = ecs.requests().iter().map(|r| r.operation.clone()).collect();
    assert_eq!(asked[0], "DescribeServices");
    assert_eq!(ecs.requests()[0].body["cluster"], "prod");
    assert_eq!(ecs.requests()[0].body["services"], json!(["checkout"]));
    assert_eq!(
        asked
            .iter()
            .filter(|o| *o == "DescribeTaskDefinition")
            .count(),
        2
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_denied_still_yields_the_alert_marked_as_unenriched() -> TestResult {
    let world = World::new().await?;
    let ecs = AwsJsonFake::start();
    ecs.answer(
        "DescribeServices",
        Recorded::error(
            "AccessDeniedException",
            400,
            "User: arn:aws:sts::123456789012:assumed-role/ecs-events/fn is not authorized to perform: ecs:DescribeServices",
        ),
    );
    ecs.answer(
        "DescribeTaskDefinition",
        Recorded::error(
            "ClientException",
            400,
            "Unable to describe task definition.",
        ),
    );
    let handler = world.handler_with_recorded_ecs(&ecs).await;
    let outcome = handler
        .handle(fixture("task-stopped-exit-code.json"))
        .await
        .unwrap();
    assert_eq!(
        outcome,
        Outcome::Published {
            alerts: 1,
            enrichment_failed: 1
        }
    );
    let alerts = world.published().await;
    let note = alerts[0].field("Note").unwrap();
    assert!(
        note.starts_with("enrichment unavailable: DescribeServices: AccessDeniedException: User:"),
        "{note}"
    );
    assert!(
        note.contains("DescribeTaskDefinition: ClientException"),
        "{note}"
    );
    assert!(
        alerts[0].title.starts_with("Task of checkout stopped"),
        "{}",
        alerts[0].title
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Through the fan-out
// ---------------------------------------------------------------------------------------------

/// A deployment event of `fixture`, as deployment `id` of `service` with its own event id.
fn deployment_event(fixture_name: &str, service: &str, id: &str, n: u32) -> Value {
    let mut event = fixture(fixture_name);
    event["id"] = json!(format!("{service}-{n}"));
    event["resources"] = json!([format!(
        "arn:aws:ecs:eu-west-1:123456789012:service/prod/{service}"
    )]);
    event["detail"]["deploymentId"] = json!(id);
    event
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_deployment_is_one_slack_thread_with_its_parent_showing_the_final_state() -> TestResult
{
    let world = World::new().await?;
    let ecs = recorded_ecs();
    let ecs_events = world.handler_with_recorded_ecs(&ecs).await;

    // The fan-out paces on a manual clock, shared with the Slack fake: no waiting between posts.
    let clock: Arc<ManualClock> = Arc::new(ManualClock::new(SystemTime::now()));
    let slack = SlackFake::start_with_clock(clock.clone());
    slack.set_token(BOT_TOKEN);
    slack.add_channel("deploys");
    let ssm = world.aws.ssm();
    for (name, value, secure) in [
        ("/fleetwatch/slack/bot-token", BOT_TOKEN, true),
        ("/fleetwatch/slack/routing", ROUTING, false),
    ] {
        let kind = if secure {
            aws_sdk_ssm::types::ParameterType::SecureString
        } else {
            aws_sdk_ssm::types::ParameterType::String
        };
        ssm.put_parameter()
            .name(name)
            .value(value)
            .r#type(kind)
            .send()
            .await
            .unwrap();
    }
    let env = BTreeMap::from([
        (
            "FLEETWATCH_ROUTING_PARAMETER",
            "/fleetwatch/slack/routing".to_string(),
        ),
        ("FLEETWATCH_STATE_TABLE", TABLE.into()),
        ("FLEETWATCH_ALERTS_QUEUE_URL", world.alerts_url.clone()),
        ("FLEETWATCH_ALERTS_DLQ_URL", world.alerts_dlq_url.clone()),
        ("FLEETWATCH_SLACK_API_BASE", slack.api_base_url()),
    ]);
    let config = FanoutConfig::from_lookup(|name| env.get(name).cloned()).unwrap();
    let fanout_clock: SharedClock = clock.clone();
    let fanout = slack_fanout::build_handler(
        &config,
        &world.aws,
        MetricsSink::discard(fanout_clock.clone()),
        fanout_clock,
    )
    .await
    .unwrap();

    let failing = "ecs-svc/4827391650284617001";
    let healthy = "ecs-svc/7000000000000000002";
    let story = [
        deployment_event("deployment-in-progress.json", "checkout", failing, 1),
        deployment_event("deployment-in-progress.json", "payments", healthy, 1),
        deployment_event("deployment-rollback.json", "checkout", failing, 2),
        deployment_event("deployment-completed.json", "payments", healthy, 2),
        deployment_event("deployment-failed.json", "checkout", failing, 3),
    ];
    for event in story {
        // Each event as EventBridge invokes the function, then the fan-out polls the queue (in
        // real life minutes pass between a deployment's events).
        assert!(matches!(
            ecs_events.handle(event.clone()).await.unwrap(),
            Outcome::Published { alerts: 1, .. }
        ));
        // A redelivery of the same event changes nothing downstream.
        assert!(matches!(
            ecs_events.handle(event).await.unwrap(),
            Outcome::Duplicate { .. }
        ));
        let sqs = world.aws.sqs();
        let messages = receive(&sqs, &world.alerts_url).await;
        assert_eq!(messages.len(), 1);
        let batch = lambda_event(&messages, "arn:aws:sqs:us-east-1:123456789012:alerts");
        let response = fanout
            .handle(
                batch,
                // The moto clients' 60 s call limit keeps 121 s back after each post.
                clock.now() + Duration::from_secs(600),
            )
            .await
            .unwrap();
        assert_eq!(response["batchItemFailures"], json!([]), "{response}");
        delete(&sqs, &world.alerts_url, &messages).await;
    }
    let parents = slack.top_level_messages("deploys");
    assert_eq!(parents.len(), 2, "one thread per deployment: {parents:#?}");
    let text =
        |m: &fleetwatch_test_support::slack::SlackMessage| m.text.clone().unwrap_or_default();
    let checkout = parents
        .iter()
        .find(|m| text(m).contains("checkout"))
        .expect("checkout thread");
    let payments = parents
        .iter()
        .find(|m| text(m).contains("payments"))
        .expect("payments thread");

    // checkout: started (parent), then rolling back and failed as replies; the parent updated
    // each time and now shows the failure.
    let replies = slack.thread_replies("deploys", &checkout.ts);
    assert_eq!(replies.len(), 2, "{replies:#?}");
    assert!(
        text(&replies[0]).contains("rolling back"),
        "{:?}",
        replies[0].text
    );
    assert!(
        text(&replies[1]).contains("failed"),
        "{:?}",
        replies[1].text
    );
    assert_eq!(slack.update_count("deploys", &checkout.ts), 2);
    let parent_now = slack.message("deploys", &checkout.ts).unwrap();
    assert!(
        text(&parent_now).contains("Deployment of checkout failed"),
        "{:?}",
        parent_now.text
    );

    // payments: started, then completed (resolved) as the one reply; the parent says so.
    let replies = slack.thread_replies("deploys", &payments.ts);
    assert_eq!(replies.len(), 1, "{replies:#?}");
    assert_eq!(slack.update_count("deploys", &payments.ts), 1);
    let parent_now = slack.message("deploys", &payments.ts).unwrap();
    let final_text = text(&parent_now);
    assert!(
        final_text.contains("Deployment of payments completed")
            && final_text.to_lowercase().contains("resolved"),
        "{final_text}"
    );
    assert!(world.take(&world.alerts_dlq_url).await.is_empty());
    Ok(())
}
