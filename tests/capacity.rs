//! The capacity function's AWS adapter (`EcsAutoScalingCluster`) and wiring, against real parts
//! where they run here and recorded answers where they do not. Each test says which:
//! - moto (server mode) serves the Auto Scaling group (DescribeAutoScalingGroups,
//!   DescribeLifecycleHooks, SetDesiredCapacity, SetInstanceProtection), ECS container
//!   instances, services, clusters and capacity providers, UpdateContainerInstancesState, and the
//!   state table and alerts queue of the wired function;
//! - recorded ECS answers (`AwsJsonFake`, bodies shaped like the ECS API reference's) serve
//!   DescribeTasks (aws-sdk-ecs cannot read moto's) and the task lists around it;
//! - recorded Auto Scaling answers (`AwsQueryFake`: form-encoded requests, XML answers shaped
//!   like the Auto Scaling API reference's) serve CompleteLifecycleAction and
//!   RecordLifecycleActionHeartbeat, which moto answers with HTTP 500.

use std::collections::BTreeMap;

use aws_sdk_autoscaling::types::LifecycleState;
use aws_sdk_ecs::types::{
    AutoScalingGroupProvider, ContainerDefinition, DeploymentConfiguration, ManagedScaling,
    ManagedScalingStatus, PlacementConstraint, PlacementConstraintType, PlacementStrategy,
    PlacementStrategyType,
};
use capacity::build_handler;
use fleetwatch_aws::{AwsClients, EcsAutoScalingCluster};
use fleetwatch_capacity::{CapacityConfig, ClusterApi, Done, Outcome, records};
use fleetwatch_ports::{MetricsSink, SystemClock};
use fleetwatch_scaling::{Action, HookResult, InstanceStatus, InstanceType, Resources, TaskStatus};
use fleetwatch_test_support::aws_json::{AwsJsonFake, Recorded};
use fleetwatch_test_support::aws_query::{AwsQueryFake, QueryAnswer};
use fleetwatch_test_support::moto::MotoServer;
use serde_json::{Value, json};

use crate::support::{MotoClients, TestResult, take_all};

pub(crate) const CLUSTER: &str = "prod";
pub(crate) const ASG: &str = "prod-asg";
pub(crate) const HOOK: &str = "fleetwatch-capacity-drain";
const TABLE: &str = "fleetwatch-state";
const NOW: u64 = 1_795_169_160;

fn large() -> Vec<InstanceType> {
    vec![InstanceType {
        name: "m6g.large".into(),
        resources: Resources::new(2048, 7680),
    }]
}

/// An Auto Scaling group of three in moto (two zones), our terminate hook on it, and a cluster
/// where the first two instances are registered. Returns the group's instance ids.
async fn moto_group(aws: &AwsClients) -> Vec<String> {
    let ids: Vec<String> = moto_auto_scaling_group(aws, 3)
        .await
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert_eq!(ids.len(), 3, "moto launched the desired capacity");

    let ecs = aws_sdk_ecs::Client::new(aws.sdk_config());
    ecs.create_cluster()
        .cluster_name(CLUSTER)
        .send()
        .await
        .expect("CreateCluster");
    for id in &ids[..2] {
        ecs.register_container_instance()
            .cluster(CLUSTER)
            .instance_identity_document(json!({"instanceId": id}).to_string())
            .send()
            .await
            .expect("RegisterContainerInstance");
    }
    ids
}

/// The Auto Scaling group in moto (m6g.large, two zones, 0 to 10 instances, `desired` of them
/// launched) with our terminate hook on it, as the stack installs it in enforce mode. Its
/// instances' ids and zones, by id.
pub(crate) async fn moto_auto_scaling_group(
    aws: &AwsClients,
    desired: i32,
) -> Vec<(String, String)> {
    let autoscaling = aws_sdk_autoscaling::Client::new(aws.sdk_config());
    autoscaling
        .create_launch_configuration()
        .launch_configuration_name("prod-lc")
        .image_id("ami-12c6146b")
        .instance_type("m6g.large")
        .send()
        .await
        .expect("CreateLaunchConfiguration");
    autoscaling
        .create_auto_scaling_group()
        .auto_scaling_group_name(ASG)
        .launch_configuration_name("prod-lc")
        .min_size(0)
        .max_size(10)
        .desired_capacity(desired)
        .availability_zones("us-east-1a")
        .availability_zones("us-east-1b")
        .send()
        .await
        .expect("CreateAutoScalingGroup");
    autoscaling
        .put_lifecycle_hook()
        .auto_scaling_group_name(ASG)
        .lifecycle_hook_name(HOOK)
        .lifecycle_transition("autoscaling:EC2_INSTANCE_TERMINATING")
        .heartbeat_timeout(900)
        .default_result("CONTINUE")
        .send()
        .await
        .expect("PutLifecycleHook");
    let group = autoscaling
        .describe_auto_scaling_groups()
        .auto_scaling_group_names(ASG)
        .send()
        .await
        .expect("DescribeAutoScalingGroups");
    let mut instances: Vec<(String, String)> = group.auto_scaling_groups()[0]
        .instances()
        .iter()
        .map(|i| {
            let id = i.instance_id().unwrap().to_string();
            (id, i.availability_zone().unwrap().to_string())
        })
        .collect();
    instances.sort();
    instances
}

/// A service in moto (which keeps its counts, not its placement rules or deployment
/// configuration).
async fn moto_service(aws: &AwsClients) {
    let ecs = aws_sdk_ecs::Client::new(aws.sdk_config());
    let definition = ecs
        .register_task_definition()
        .family("web")
        .container_definitions(
            ContainerDefinition::builder()
                .name("app")
                .image("nginx")
                .cpu(1024)
                .memory(2048)
                .essential(true)
                .build(),
        )
        .send()
        .await
        .expect("RegisterTaskDefinition");
    let arn = definition
        .task_definition()
        .and_then(|d| d.task_definition_arn())
        .unwrap()
        .to_string();
    ecs.create_service()
        .cluster(CLUSTER)
        .service_name("web")
        .task_definition(arn)
        .desired_count(2)
        .placement_constraints(
            PlacementConstraint::builder()
                .r#type(PlacementConstraintType::DistinctInstance)
                .build(),
        )
        .placement_strategy(
            PlacementStrategy::builder()
                .r#type(PlacementStrategyType::Spread)
                .field("attribute:ecs.availability-zone")
                .build(),
        )
        .deployment_configuration(
            DeploymentConfiguration::builder()
                .minimum_healthy_percent(50)
                .maximum_percent(150)
                .build(),
        )
        .send()
        .await
        .expect("CreateService");
}

fn adapter(aws: &AwsClients) -> EcsAutoScalingCluster {
    EcsAutoScalingCluster::new(
        aws_sdk_ecs::Client::new(aws.sdk_config()),
        aws_sdk_autoscaling::Client::new(aws.sdk_config()),
        CLUSTER,
        ASG,
        large(),
    )
}

async fn container_instance_statuses(aws: &AwsClients) -> BTreeMap<String, String> {
    let ecs = aws_sdk_ecs::Client::new(aws.sdk_config());
    let arns = ecs
        .list_container_instances()
        .cluster(CLUSTER)
        .send()
        .await
        .unwrap()
        .container_instance_arns()
        .to_vec();
    ecs.describe_container_instances()
        .cluster(CLUSTER)
        .set_container_instances(Some(arns))
        .send()
        .await
        .unwrap()
        .container_instances()
        .iter()
        .map(|i| {
            (
                i.ec2_instance_id().unwrap().to_string(),
                i.status().unwrap().to_string(),
            )
        })
        .collect()
}

async fn protection(aws: &AwsClients) -> BTreeMap<String, bool> {
    aws_sdk_autoscaling::Client::new(aws.sdk_config())
        .describe_auto_scaling_groups()
        .auto_scaling_group_names(ASG)
        .send()
        .await
        .unwrap()
        .auto_scaling_groups()[0]
        .instances()
        .iter()
        .map(|i| {
            (
                i.instance_id().unwrap().to_string(),
                i.protected_from_scale_in().unwrap_or(false),
            )
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// moto
// ---------------------------------------------------------------------------------------------

/// moto: the snapshot of a group with two registered instances and one launched but not yet
/// registered, its hook, a service's placement rules, and a capacity provider with managed
/// scaling on the group.
#[tokio::test]
async fn moto_snapshot_of_the_group_instances_services_and_providers() -> TestResult {
    let moto = MotoServer::start()?;
    let aws = moto.clients().await;
    let ids = moto_group(&aws).await;
    moto_service(&aws).await;
    let cluster = adapter(&aws);

    let view = cluster.snapshot(NOW).await?;
    let snapshot = &view.snapshot;
    assert_eq!(snapshot.cluster, CLUSTER);
    assert_eq!(
        (snapshot.asg.min, snapshot.asg.max, snapshot.asg.desired),
        (0, 10, 3)
    );
    assert_eq!(snapshot.asg.azs, ["us-east-1a", "us-east-1b"]);
    assert_eq!(snapshot.asg.lifecycle_hooks, [HOOK]);
    let mut registered: Vec<&str> = snapshot.instances.iter().map(|i| i.id.as_str()).collect();
    registered.sort();
    assert_eq!(registered, [ids[0].as_str(), ids[1].as_str()]);
    for instance in &snapshot.instances {
        assert_eq!(instance.status, InstanceStatus::Active);
        assert_eq!(instance.instance_type, "m6g.large", "ecs.instance-type");
        assert!(
            instance.az.starts_with("us-east-1"),
            "ecs.availability-zone"
        );
        assert!(instance.arn.contains(":container-instance/"));
        // moto registers every instance with 4096 CPU units and 7482 MiB.
        assert_eq!(instance.registered, Resources::new(4096, 7482));
        assert_eq!(instance.remaining, Resources::new(4096, 7482));
        assert!(!instance.protected);
        assert!(instance.tasks.is_empty());
    }
    // What ECS registered replaces the configured figures of the type.
    assert_eq!(
        snapshot.asg.instance_types[0].resources,
        Resources::new(4096, 7482)
    );
    let in_flight: Vec<&str> = snapshot
        .asg
        .in_flight
        .iter()
        .map(|f| f.id.as_str())
        .collect();
    assert_eq!(in_flight, [ids[2].as_str()], "launched, not registered yet");
    assert!(view.terminating.is_empty());

    // moto keeps a service's counts (not its placement rules or deployment configuration: the
    // recorded test below reads those).
    let web = snapshot.service("web").expect("the service");
    assert_eq!((web.desired, web.running, web.pending), (2, 0, 2));
    // moto counts a new service's tasks as pending (desired 2, pending 2): none missing.
    assert!(snapshot.pending_tasks.is_empty());
    assert!(snapshot.capacity_providers.is_empty());

    // A capacity provider with managed scaling on the group, attached to the cluster.
    let ecs = aws_sdk_ecs::Client::new(aws.sdk_config());
    let group_arn = aws_sdk_autoscaling::Client::new(aws.sdk_config())
        .describe_auto_scaling_groups()
        .auto_scaling_group_names(ASG)
        .send()
        .await?
        .auto_scaling_groups()[0]
        .auto_scaling_group_arn()
        .unwrap()
        .to_string();
    ecs.create_capacity_provider()
        .name("prod-ec2")
        .auto_scaling_group_provider(
            AutoScalingGroupProvider::builder()
                .auto_scaling_group_arn(&group_arn)
                .managed_scaling(
                    ManagedScaling::builder()
                        .status(ManagedScalingStatus::Enabled)
                        .target_capacity(100)
                        .build(),
                )
                .build()?,
        )
        .send()
        .await?;
    ecs.put_cluster_capacity_providers()
        .cluster(CLUSTER)
        .capacity_providers("prod-ec2")
        .set_default_capacity_provider_strategy(Some(Vec::new()))
        .send()
        .await?;
    let providers = cluster.snapshot(NOW).await?.snapshot.capacity_providers;
    assert_eq!(providers.len(), 1);
    assert_eq!(providers[0].name, "prod-ec2");
    assert!(providers[0].managed_scaling);
    assert!(providers[0].manages(ASG), "{}", providers[0].asg);
    Ok(())
}

/// moto: SetDesiredCapacity (without cooldown), SetInstanceProtection on and off, and
/// UpdateContainerInstancesState DRAINING for an instance known by its EC2 id only (the ARN is
/// looked up) and by its ARN; an instance that is not registered drains as already done.
#[tokio::test]
async fn moto_carries_out_desired_capacity_protection_and_draining() -> TestResult {
    let moto = MotoServer::start()?;
    let aws = moto.clients().await;
    let ids = moto_group(&aws).await;
    let cluster = adapter(&aws);

    let done = cluster
        .execute(&Action::SetDesiredCapacity {
            asg: ASG.into(),
            desired: 5,
        })
        .await?;
    assert_eq!(done, Done::Applied);
    let desired = aws_sdk_autoscaling::Client::new(aws.sdk_config())
        .describe_auto_scaling_groups()
        .auto_scaling_group_names(ASG)
        .send()
        .await?
        .auto_scaling_groups()[0]
        .desired_capacity();
    assert_eq!(desired, Some(5));

    cluster
        .execute(&Action::Protect {
            asg: ASG.into(),
            instance_ids: ids.clone(),
        })
        .await?;
    assert!(
        protection(&aws)
            .await
            .iter()
            .filter(|(id, _)| ids.contains(id))
            .all(|(_, p)| *p)
    );
    cluster
        .execute(&Action::Unprotect {
            asg: ASG.into(),
            instance_ids: vec![ids[0].clone()],
        })
        .await?;
    let protected = protection(&aws).await;
    assert!(!protected[&ids[0]]);
    assert!(protected[&ids[1]]);

    let done = cluster
        .execute(&Action::DrainInstance {
            instance_id: ids[0].clone(),
            container_instance_arn: None,
        })
        .await?;
    assert_eq!(done, Done::Applied);
    let statuses = container_instance_statuses(&aws).await;
    assert_eq!(statuses[&ids[0]], "DRAINING");
    assert_eq!(statuses[&ids[1]], "ACTIVE");

    let arn = cluster
        .snapshot(NOW)
        .await?
        .snapshot
        .instance(&ids[1])
        .unwrap()
        .arn
        .clone();
    cluster
        .execute(&Action::DrainInstance {
            instance_id: ids[1].clone(),
            container_instance_arn: Some(arn),
        })
        .await?;
    assert_eq!(container_instance_statuses(&aws).await[&ids[1]], "DRAINING");

    let unregistered = cluster
        .execute(&Action::DrainInstance {
            instance_id: ids[2].clone(),
            container_instance_arn: None,
        })
        .await?;
    assert_eq!(unregistered, Done::AlreadyDone);

    // The snapshot now shows the group's protection and the drained instances.
    let snapshot = cluster.snapshot(NOW).await?.snapshot;
    let first = snapshot.instance(&ids[0]).unwrap();
    assert_eq!(first.status, InstanceStatus::Draining);
    assert!(!first.protected);
    assert!(snapshot.instance(&ids[1]).unwrap().protected);
    Ok(())
}

/// moto for the group, the cluster, the state table and the alerts queue; the function as
/// `capacity::build_handler` wires it. A scheduled run protects the registered instances; a
/// terminate event of our hook records the hook in DynamoDB and drains the instance; moto's
/// HTTP 500 for CompleteLifecycleAction leaves the hook held and the invocation to be retried.
#[tokio::test]
async fn the_wired_function_protects_records_and_drains_on_moto() -> TestResult {
    let moto = MotoServer::start()?;
    let aws = moto.clients().await;
    let ids = moto_group(&aws).await;
    moto.create_state_table(TABLE).await;
    let alerts_url = moto.create_queue("alerts").await;
    let env: BTreeMap<&str, String> = BTreeMap::from([
        ("FLEETWATCH_CAPACITY_CLUSTER", CLUSTER.to_string()),
        ("FLEETWATCH_CAPACITY_ASG", ASG.to_string()),
        ("FLEETWATCH_CAPACITY_MODE", "enforce".to_string()),
        (
            "FLEETWATCH_CAPACITY_INSTANCE_TYPES",
            "m6g.large=2048/7680".to_string(),
        ),
        ("FLEETWATCH_STATE_TABLE", TABLE.to_string()),
        ("FLEETWATCH_ALERTS_QUEUE_URL", alerts_url.clone()),
    ]);
    let config = CapacityConfig::from_lookup(|name| env.get(name).cloned())?;
    let clock = SystemClock::shared();
    let handler = build_handler(&config, &aws, MetricsSink::discard(clock.clone()), clock);

    let scheduled = json!({
        "version": "0", "id": "1", "detail-type": "Scheduled Event", "source": "aws.events",
        "account": "123456789012", "time": fleetwatch_scaling::rfc3339(NOW), "region": "us-east-1",
        "resources": [], "detail": {}
    });
    let Outcome::Reconciled(report) = handler.handle(scheduled).await? else {
        panic!("reconciled");
    };
    assert!(report.failed.is_none(), "{report:#?}");
    let protected = protection(&aws).await;
    assert!(protected[&ids[0]] && protected[&ids[1]], "{report:#?}");
    assert!(!protected[&ids[2]], "not registered yet: not in service");

    let terminate = json!({
        "version": "0", "id": "2", "detail-type": "EC2 Instance-terminate Lifecycle Action",
        "source": "aws.autoscaling", "account": "123456789012",
        "time": fleetwatch_scaling::rfc3339(NOW + 60), "region": "us-east-1", "resources": [],
        "detail": {
            "LifecycleActionToken": "c613620e-07e2-4ed2-a9e2-ef8258911ade",
            "AutoScalingGroupName": ASG,
            "LifecycleHookName": HOOK,
            "EC2InstanceId": ids[0],
            "LifecycleTransition": "autoscaling:EC2_INSTANCE_TERMINATING"
        }
    });
    // The instance has no task, so the same run completes the hook: moto answers
    // CompleteLifecycleAction with HTTP 500 (not implemented), a server-side failure, so the
    // invocation fails for Lambda to retry, with the hook recorded and the instance drained.
    // (The recorded-answer tests below cover CompleteLifecycleAction itself.)
    let error = handler.handle(terminate).await.unwrap_err();
    assert!(error.is_transient(), "{error:?}");
    let chain = fleetwatch_ports::ErrorChain(&error).to_string();
    assert!(
        chain.starts_with(&format!(
            "carrying out the plan: CompleteLifecycleAction {ASG} {HOOK} {}",
            ids[0]
        )),
        "{chain}"
    );
    assert_eq!(container_instance_statuses(&aws).await[&ids[0]], "DRAINING");
    let state = fleetwatch_aws::DynamoStateStore::new(aws.dynamodb(), TABLE, SystemClock::shared());
    let stored = records::load(&state, ASG).await?;
    assert_eq!(stored.records.len(), 1);
    assert_eq!(stored.records[0].instance_id, ids[0]);
    assert_eq!(
        stored.records[0].token,
        "c613620e-07e2-4ed2-a9e2-ef8258911ade"
    );
    assert!(
        stored.records[0].is_holding(),
        "held until a completion succeeds"
    );
    // Nothing was news: no alert.
    assert!(take_all(&aws.sqs(), &alerts_url).await.is_empty());
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Recorded ECS answers (DescribeTasks) with the group in moto
// ---------------------------------------------------------------------------------------------

pub(crate) fn arn(kind: &str, name: &str) -> String {
    format!("arn:aws:ecs:us-east-1:123456789012:{kind}/{CLUSTER}/{name}")
}

fn resource(name: &str, value: i64) -> Value {
    json!({"name": name, "type": "INTEGER", "doubleValue": 0.0, "longValue": 0, "integerValue": value})
}

pub(crate) fn container_instance(
    id: &str,
    az: &str,
    status: &str,
    cpu_left: i64,
    memory_left: i64,
) -> Value {
    json!({
        "containerInstanceArn": arn("container-instance", &format!("ci-{id}")),
        "ec2InstanceId": id,
        "version": 12,
        "versionInfo": {"agentVersion": "1.87.0", "agentHash": "a1b2c3d", "dockerVersion": "DockerVersion: 25.0.6"},
        "remainingResources": [resource("CPU", cpu_left), resource("MEMORY", memory_left)],
        "registeredResources": [resource("CPU", 2048), resource("MEMORY", 7680)],
        "status": status,
        "agentConnected": true,
        "runningTasksCount": 2,
        "pendingTasksCount": 0,
        "attributes": [
            {"name": "ecs.availability-zone", "value": az},
            {"name": "ecs.instance-type", "value": "m6g.large"},
            {"name": "ecs.os-type", "value": "linux"}
        ],
        "registeredAt": 1795160000.123,
        "attachments": [],
        "tags": []
    })
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn task(
    name: &str,
    group: &str,
    instance: Option<&str>,
    last: &str,
    desired: &str,
    cpu: &str,
    memory: &str,
) -> Value {
    let mut task = json!({
        "taskArn": arn("task", name),
        "clusterArn": format!("arn:aws:ecs:us-east-1:123456789012:cluster/{CLUSTER}"),
        "taskDefinitionArn": "arn:aws:ecs:us-east-1:123456789012:task-definition/web:3",
        "group": group,
        "lastStatus": last,
        "desiredStatus": desired,
        "cpu": cpu,
        "memory": memory,
        "launchType": "EC2",
        "createdAt": 1795168800.5,
        "version": 3,
        "containers": [{
            "containerArn": format!("arn:aws:ecs:us-east-1:123456789012:container/{CLUSTER}/{name}/app"),
            "taskArn": arn("task", name),
            "name": "app",
            "lastStatus": last,
            "cpu": "0",
            "networkBindings": [],
            "networkInterfaces": []
        }],
        "attachments": [],
        "tags": []
    });
    if let Some(instance) = instance {
        task["containerInstanceArn"] = json!(arn("container-instance", &format!("ci-{instance}")));
    }
    task
}

/// A service as DescribeServices answers it: `web` (1024 CPU, 2048 MiB a task, definition
/// `web:3`) with one task per instance (distinctInstance), spread over the zones, deployments
/// between 50% and 150%; any other with the defaults.
pub(crate) fn recorded_service(
    name: &str,
    strategy: &str,
    desired: i64,
    running: i64,
    pending: i64,
) -> Value {
    json!({
        "serviceArn": arn("service", name),
        "serviceName": name,
        "clusterArn": format!("arn:aws:ecs:us-east-1:123456789012:cluster/{CLUSTER}"),
        "status": "ACTIVE",
        "desiredCount": desired,
        "runningCount": running,
        "pendingCount": pending,
        "launchType": "EC2",
        "taskDefinition": format!("arn:aws:ecs:us-east-1:123456789012:task-definition/{name}:3"),
        "schedulingStrategy": strategy,
        "deploymentConfiguration": if name == "web" {
            json!({"maximumPercent": 150, "minimumHealthyPercent": 50})
        } else {
            json!({"maximumPercent": 200, "minimumHealthyPercent": 100})
        },
        "deployments": [{
            "id": format!("ecs-svc/{name}"),
            "status": "PRIMARY",
            "taskDefinition": format!("arn:aws:ecs:us-east-1:123456789012:task-definition/{name}:3"),
            "desiredCount": desired, "pendingCount": pending, "runningCount": running,
            "createdAt": 1795160000.0, "updatedAt": 1795168000.0,
            "launchType": "EC2", "rolloutState": "IN_PROGRESS"
        }],
        "placementConstraints": if name == "web" { json!([{"type": "distinctInstance"}]) } else { json!([]) },
        "placementStrategy": if name == "web" {
            json!([{"type": "spread", "field": "attribute:ecs.availability-zone"}])
        } else { json!([]) },
        "events": [],
        "createdAt": 1795160000.0
    })
}

/// DescribeTaskDefinition's answer for `web:3`: 1024 CPU units and 2048 MiB a task.
pub(crate) fn recorded_web_definition() -> Value {
    json!({"taskDefinition": {
        "taskDefinitionArn": "arn:aws:ecs:us-east-1:123456789012:task-definition/web:3",
        "family": "web", "revision": 3, "status": "ACTIVE",
        "containerDefinitions": [{"name": "app", "image": "nginx", "cpu": 1024, "memory": 2048, "essential": true}],
        "cpu": "1024", "memory": "2048",
        "compatibilities": ["EC2"], "requiresCompatibilities": ["EC2"]
    }})
}

/// Recorded ECS answers (ListContainerInstances, DescribeContainerInstances, ListTasks,
/// DescribeTasks, ListServices, DescribeServices, DescribeTaskDefinition, DescribeClusters,
/// shaped like the ECS API reference's), the Auto Scaling group in moto: running, stopping,
/// stopped, daemon and PROVISIONING tasks, and a service that misses tasks ECS never created.
#[tokio::test]
async fn recorded_tasks_and_services_make_the_snapshot() -> TestResult {
    let moto = MotoServer::start()?;
    let aws = moto.clients().await;
    let ids = moto_group(&aws).await;
    let (a, b) = (ids[0].as_str(), ids[1].as_str());
    let ecs = AwsJsonFake::start();
    ecs.answer(
        "ListContainerInstances",
        Recorded::ok(json!({"containerInstanceArns": [
            arn("container-instance", &format!("ci-{a}")),
            arn("container-instance", &format!("ci-{b}")),
            arn("container-instance", "ci-i-0notinthegroup")
        ]})),
    );
    ecs.answer(
        "DescribeContainerInstances",
        Recorded::ok(json!({
            "containerInstances": [
                container_instance(a, "us-east-1a", "ACTIVE", 0, 1536),
                container_instance(b, "us-east-1b", "DRAINING", 1024, 4608),
                container_instance("i-0notinthegroup", "us-east-1a", "ACTIVE", 2048, 7680)
            ],
            "failures": []
        })),
    );
    ecs.answer_when(
        "ListTasks",
        "desiredStatus",
        json!("RUNNING"),
        Recorded::ok(json!({"taskArns": [arn("task", "web-1"), arn("task", "agent-1"), arn("task", "web-new")]})),
    );
    ecs.answer_when(
        "ListTasks",
        "desiredStatus",
        json!("STOPPED"),
        Recorded::ok(json!({"taskArns": [arn("task", "api-1"), arn("task", "web-0")]})),
    );
    ecs.answer(
        "DescribeTasks",
        Recorded::ok(json!({
            "tasks": [
                task("web-1", "service:web", Some(a), "RUNNING", "RUNNING", "1024", "2048"),
                task("agent-1", "service:agent", Some(a), "RUNNING", "RUNNING", "256", "512"),
                task("web-new", "service:web", None, "PROVISIONING", "RUNNING", "1024", "2048"),
                task("api-1", "service:api", Some(b), "DEACTIVATING", "STOPPED", "1024", "3072"),
                task("web-0", "service:web", Some(a), "STOPPED", "STOPPED", "1024", "2048")
            ],
            "failures": []
        })),
    );
    ecs.answer(
        "ListServices",
        Recorded::ok(json!({"serviceArns": [arn("service", "web"), arn("service", "agent"), arn("service", "api")]})),
    );
    ecs.answer(
        "DescribeServices",
        Recorded::ok(json!({
            "services": [
                recorded_service("web", "REPLICA", 6, 1, 1),
                recorded_service("agent", "DAEMON", 2, 2, 0),
                recorded_service("api", "REPLICA", 1, 1, 0)
            ],
            "failures": []
        })),
    );
    ecs.answer(
        "DescribeTaskDefinition",
        Recorded::ok(recorded_web_definition()),
    );
    ecs.answer(
        "DescribeClusters",
        Recorded::ok(json!({"clusters": [{
            "clusterArn": format!("arn:aws:ecs:us-east-1:123456789012:cluster/{CLUSTER}"),
            "clusterName": CLUSTER, "status": "ACTIVE", "capacityProviders": [],
            "defaultCapacityProviderStrategy": []
        }], "failures": []})),
    );

    let config = moto
        .sdk_config()
        .await
        .into_builder()
        .endpoint_url(ecs.endpoint())
        .build();
    let cluster = EcsAutoScalingCluster::new(
        aws_sdk_ecs::Client::new(&config),
        aws_sdk_autoscaling::Client::new(aws.sdk_config()),
        CLUSTER,
        ASG,
        large(),
    );
    let snapshot = cluster.snapshot(NOW).await?.snapshot;

    // Only the group's instances; the one of another group is left out.
    let first = snapshot.instance(a).unwrap();
    let second = snapshot.instance(b).unwrap();
    assert_eq!(snapshot.instances.len(), 2);
    assert_eq!(first.az, "us-east-1a");
    assert_eq!(first.remaining, Resources::new(0, 1536));
    assert_eq!(first.launched_at, 1_795_160_000);
    assert_eq!(second.status, InstanceStatus::Draining);
    // Tasks on their instances: the daemon's is marked, the stopped one does not hold it, the
    // DEACTIVATING one (desired STOPPED) still does.
    let statuses: Vec<(&str, &TaskStatus, bool)> = first
        .tasks
        .iter()
        .map(|t| (t.service.as_deref().unwrap(), &t.last_status, t.daemon))
        .collect();
    assert_eq!(
        statuses,
        [
            ("web", &TaskStatus::Running, false),
            ("agent", &TaskStatus::Running, true),
            ("web", &TaskStatus::Stopped, false)
        ]
    );
    assert_eq!(first.non_daemon_task_count(), 1);
    assert_eq!(second.tasks[0].last_status, TaskStatus::Deactivating);
    assert!(
        !second.is_empty(),
        "a task still stopping holds the instance"
    );
    assert_eq!(second.tasks[0].resources, Resources::new(1024, 3072));

    // Pending: the PROVISIONING task, and the 6 - 1 - 1 = 4 web tasks ECS never created,
    // sized by the task definition, placed by the service's rules. Daemon services miss none.
    let pending: Vec<&str> = snapshot
        .pending_tasks
        .iter()
        .map(|t| t.id.as_str())
        .collect();
    assert_eq!(
        pending,
        [
            arn("task", "web-new").as_str(),
            "web#missing-0",
            "web#missing-1",
            "web#missing-2",
            "web#missing-3"
        ]
    );
    for task in &snapshot.pending_tasks {
        assert_eq!(task.resources, Resources::new(1024, 2048));
        assert!(task.placement.distinct_instance && task.placement.spread_az);
    }
    assert_eq!(snapshot.pending_tasks[0].since, 1_795_168_800);
    assert!(
        snapshot.service("agent").is_none(),
        "daemons are not planned for"
    );
    let web = snapshot.service("web").unwrap();
    assert_eq!((web.desired, web.running, web.pending), (6, 1, 1));
    assert_eq!(
        (web.minimum_healthy_percent, web.maximum_percent),
        (50, 150)
    );
    assert!(web.placement.distinct_instance && web.placement.spread_az);
    let api = snapshot.service("api").unwrap();
    assert_eq!(
        (api.minimum_healthy_percent, api.maximum_percent),
        (100, 200)
    );
    assert!(!api.placement.distinct_instance && !api.placement.spread_az);
    // m6g.large as ECS registered it, less the daemon's reservation.
    assert_eq!(
        snapshot.asg.instance_types[0].resources,
        Resources::new(2048 - 256, 7680 - 512)
    );

    let asked: Vec<String> = ecs.requests().iter().map(|r| r.operation.clone()).collect();
    assert!(asked.contains(&"DescribeTasks".to_string()));
    let definitions = ecs
        .requests()
        .iter()
        .filter(|r| r.operation == "DescribeTaskDefinition")
        .count();
    assert_eq!(definitions, 1, "only for a service that misses tasks");
    Ok(())
}

/// Recorded ECS answers: 150 tasks are described in two DescribeTasks calls of 100 and 50.
#[tokio::test]
async fn recorded_describe_tasks_in_chunks_of_one_hundred() -> TestResult {
    let moto = MotoServer::start()?;
    let aws = moto.clients().await;
    moto_group(&aws).await;
    let ecs = AwsJsonFake::start();
    let many: Vec<String> = (0..150).map(|i| arn("task", &format!("t{i}"))).collect();
    ecs.answer(
        "ListContainerInstances",
        Recorded::ok(json!({"containerInstanceArns": []})),
    );
    ecs.answer_when(
        "ListTasks",
        "desiredStatus",
        json!("RUNNING"),
        Recorded::ok(json!({"taskArns": many})),
    );
    ecs.answer_when(
        "ListTasks",
        "desiredStatus",
        json!("STOPPED"),
        Recorded::ok(json!({"taskArns": []})),
    );
    ecs.answer(
        "DescribeTasks",
        Recorded::ok(json!({"tasks": [], "failures": []})),
    );
    ecs.answer("ListServices", Recorded::ok(json!({"serviceArns": []})));
    ecs.answer(
        "DescribeClusters",
        Recorded::ok(json!({"clusters": [], "failures": []})),
    );
    let config = moto
        .sdk_config()
        .await
        .into_builder()
        .endpoint_url(ecs.endpoint())
        .build();
    let cluster = EcsAutoScalingCluster::new(
        aws_sdk_ecs::Client::new(&config),
        aws_sdk_autoscaling::Client::new(aws.sdk_config()),
        CLUSTER,
        ASG,
        large(),
    );
    cluster.snapshot(NOW).await?;
    let sizes: Vec<usize> = ecs
        .requests()
        .iter()
        .filter(|r| r.operation == "DescribeTasks")
        .map(|r| r.body["tasks"].as_array().unwrap().len())
        .collect();
    assert_eq!(sizes, [100, 50]);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Recorded Auto Scaling answers: the lifecycle calls moto does not implement
// ---------------------------------------------------------------------------------------------

fn lifecycle_adapter(fake: &AwsQueryFake, aws: &AwsClients) -> EcsAutoScalingCluster {
    let config = aws
        .sdk_config()
        .clone()
        .into_builder()
        .endpoint_url(fake.endpoint())
        .build();
    EcsAutoScalingCluster::new(
        aws_sdk_ecs::Client::new(&config),
        aws_sdk_autoscaling::Client::new(&config),
        CLUSTER,
        ASG,
        large(),
    )
}

/// SDK clients with test credentials and no retries, pointing nowhere in particular (each test
/// sets its endpoint).
async fn offline_clients() -> AwsClients {
    use aws_config::{BehaviorVersion, Region};
    use aws_credential_types::Credentials;
    use aws_credential_types::provider::SharedCredentialsProvider;
    let config = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url("http://127.0.0.1:9")
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "testing", "testing", None, None, "test",
        )))
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .load()
        .await;
    AwsClients::from_sdk_config(config)
}

fn complete(instance_id: &str, token: &str) -> Action {
    Action::CompleteHook {
        asg: ASG.into(),
        hook_name: HOOK.into(),
        instance_id: instance_id.into(),
        token: token.into(),
        result: HookResult::Continue,
    }
}

fn heartbeat(instance_id: &str, token: &str) -> Action {
    Action::HeartbeatHook {
        asg: ASG.into(),
        hook_name: HOOK.into(),
        instance_id: instance_id.into(),
        token: token.into(),
    }
}

/// Recorded Auto Scaling answers: CompleteLifecycleAction completes with CONTINUE; Auto
/// Scaling's "No active Lifecycle Action found" (completed before, or timed out) counts as done;
/// another validation error is permanent and throttling transient, both with the cause.
#[tokio::test]
async fn recorded_complete_lifecycle_action_and_its_already_completed_answer() -> TestResult {
    let fake = AwsQueryFake::autoscaling();
    fake.answer_when(
        "CompleteLifecycleAction",
        "InstanceId",
        "i-0completed0000000",
        QueryAnswer::sender_error(
            "ValidationError",
            "No active Lifecycle Action found with instance ID i-0completed0000000",
        ),
    );
    fake.answer_when(
        "CompleteLifecycleAction",
        "InstanceId",
        "i-0badhook00000000",
        QueryAnswer::sender_error(
            "ValidationError",
            "No Lifecycle Hook found with name fleetwatch-capacity-drain for group prod-asg",
        ),
    );
    fake.answer_when(
        "CompleteLifecycleAction",
        "InstanceId",
        "i-0throttled000000",
        QueryAnswer::sender_error("Throttling", "Rate exceeded"),
    );
    fake.answer("CompleteLifecycleAction", QueryAnswer::ok(""));
    let cluster = lifecycle_adapter(&fake, &offline_clients().await);

    let token = "bcd2f1b8-9a78-44d3-8a7a-4dd07d7cf635";
    assert_eq!(
        cluster
            .execute(&complete("i-0123456789abcdef0", token))
            .await?,
        Done::Applied
    );
    let request = &fake.requests()[0];
    assert_eq!(request.action, "CompleteLifecycleAction");
    assert_eq!(
        request.params,
        BTreeMap::from([
            ("AutoScalingGroupName".to_string(), ASG.to_string()),
            ("InstanceId".to_string(), "i-0123456789abcdef0".to_string()),
            ("LifecycleActionResult".to_string(), "CONTINUE".to_string()),
            ("LifecycleActionToken".to_string(), token.to_string()),
            ("LifecycleHookName".to_string(), HOOK.to_string()),
        ])
    );

    assert_eq!(
        cluster
            .execute(&complete("i-0completed0000000", token))
            .await?,
        Done::AlreadyDone,
        "completing twice is done"
    );

    let error = cluster
        .execute(&complete("i-0badhook00000000", token))
        .await
        .unwrap_err();
    assert!(!error.is_transient());
    assert_eq!(
        fleetwatch_ports::ErrorChain(&error).to_string(),
        "CompleteLifecycleAction prod-asg fleetwatch-capacity-drain i-0badhook00000000: \
         ValidationError: No Lifecycle Hook found with name fleetwatch-capacity-drain for group prod-asg"
    );
    let throttled = cluster
        .execute(&complete("i-0throttled000000", token))
        .await
        .unwrap_err();
    assert!(throttled.is_transient(), "{throttled:?}");

    // An adopted hook (its event lost) has no token: the lifecycle action is named by instance.
    cluster
        .execute(&complete("i-0adopted000000000", ""))
        .await?;
    let last = fake.requests().pop().unwrap();
    assert!(!last.params.contains_key("LifecycleActionToken"));
    assert_eq!(last.params["InstanceId"], "i-0adopted000000000");
    Ok(())
}

/// Recorded Auto Scaling answers: RecordLifecycleActionHeartbeat with the token, and the
/// "No active Lifecycle Action found" answer reported as done (the hook is gone).
#[tokio::test]
async fn recorded_record_lifecycle_action_heartbeat() -> TestResult {
    let fake = AwsQueryFake::autoscaling();
    fake.answer_when(
        "RecordLifecycleActionHeartbeat",
        "InstanceId",
        "i-0gone00000000000",
        QueryAnswer::sender_error(
            "ValidationError",
            "No active Lifecycle Action found with token 7c5a4a6e-0000-4000-8000-000000000000",
        ),
    );
    fake.answer_when(
        "RecordLifecycleActionHeartbeat",
        "InstanceId",
        "i-0denied000000000",
        QueryAnswer::sender_error(
            "AccessDenied",
            "User: arn:aws:sts::123456789012:assumed-role/fleetwatch-capacity/fn is not authorized to perform: autoscaling:RecordLifecycleActionHeartbeat",
        ),
    );
    fake.answer("RecordLifecycleActionHeartbeat", QueryAnswer::ok(""));
    let cluster = lifecycle_adapter(&fake, &offline_clients().await);

    assert_eq!(
        cluster
            .execute(&heartbeat("i-0123456789abcdef0", "tok-1"))
            .await?,
        Done::Applied
    );
    let request = &fake.requests()[0];
    assert_eq!(request.action, "RecordLifecycleActionHeartbeat");
    assert_eq!(request.params["LifecycleActionToken"], "tok-1");
    assert_eq!(request.params["LifecycleHookName"], HOOK);
    assert_eq!(request.params["AutoScalingGroupName"], ASG);
    assert_eq!(
        cluster
            .execute(&heartbeat("i-0gone00000000000", "tok-2"))
            .await?,
        Done::AlreadyDone
    );
    let denied = cluster
        .execute(&heartbeat("i-0denied000000000", "tok-3"))
        .await
        .unwrap_err();
    assert!(!denied.is_transient());
    assert!(denied.fault.to_string().starts_with("AccessDenied: User:"));
    Ok(())
}

#[test]
fn lifecycle_states_are_compared_by_their_api_names() {
    // The adapter compares lifecycle states by their API names.
    assert_eq!(LifecycleState::TerminatingWait.as_str(), "Terminating:Wait");
    assert_eq!(LifecycleState::PendingWait.as_str(), "Pending:Wait");
}
