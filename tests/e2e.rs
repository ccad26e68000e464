//! The whole stack end to end (issue 14): every sample event through the real Lambda runtime API,
//! and the chains where one function's output is the next one's input through real queues.
//!
//! Real servers: moto (S3, SQS, SSM, DynamoDB; the functions' own SDK clients talk to it) and
//! `cargo lambda watch --only-lambda-apis` (the Lambda runtime API). Each function runs in its own
//! process (`lambda_runtime::run_a_function`: this test binary again, calling the function's
//! `run()` as its `main` does), configured only through the environment, as the template
//! configures it; processes meet only through moto, as deployed functions do. Fakes: Slack and
//! OpenSearch `_bulk` (`fleetwatch-test-support`), protocol-faithful HTTP servers, because
//! neither service can run here.
//!
//! Chains covered here: an ALB log object -> S3 notification on SQS -> alb-logs -> `_bulk` and a
//! threshold alert on the alerts queue -> slack-fanout -> Slack; an Alertmanager webhook ->
//! alertmanager-receiver -> alerts queue -> slack-fanout -> Slack, and a redelivery posting
//! nothing; a service placement failure -> capacity scales the Auto Scaling group out in one
//! step -> its summary on the alerts queue -> slack-fanout -> Slack (ECS itself from recorded
//! answers: it cannot run here); a health check flipping -> health-check opens and resolves
//! the incident -> slack-fanout -> one Slack thread. The ECS chain (a deployment's events ->
//! ecs-events -> alerts queue -> slack-fanout in bot mode -> one thread whose parent shows the
//! final state) is `ecs_events::each_deployment_is_one_slack_thread_with_its_parent_showing_the_final_state`;
//! its two functions run every sample here under the runtime API, so it is not repeated.
//!
//! The capacity function's terminate lifecycle action is not run here: moto answers
//! CompleteLifecycleAction with HTTP 500; `capacity` covers it with recorded answers.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::path::PathBuf;

use aws_sdk_s3::types::{
    BucketVersioningStatus, Event, NotificationConfiguration, QueueConfiguration,
    VersioningConfiguration,
};
use aws_sdk_sqs::types::{Message, MessageSystemAttributeName};
use aws_sdk_ssm::types::ParameterType;
use flate2::read::MultiGzDecoder;
use fleetwatch_aws::AwsClients;
use fleetwatch_test_support::NeedsSetup;
use fleetwatch_test_support::aws_json::{AwsJsonFake, Recorded};
use fleetwatch_test_support::bulk::BulkFake;
use fleetwatch_test_support::lambda::LambdaWatch;
use fleetwatch_test_support::moto::MotoServer;
use fleetwatch_test_support::service::{Answer, ServiceFake};
use fleetwatch_test_support::slack::SlackFake;
use serde_json::{Value, json};

use crate::lambda_runtime::FunctionProcess;
use crate::support::{MotoClients, TestResult, delete, lambda_event, receive, take_all};

const TABLE: &str = "fleetwatch-state";
const INDEX: &str = "logs-aws.elb-default";
const BOT_TOKEN: &str = "xoxb-0000-SECRET-BOT-TOKEN";
const ALERTMANAGER_TOKEN: &str = "am-SECRET-bearer-token";

fn repo(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(path)
}

fn sample(path: &str) -> Value {
    let text = std::fs::read_to_string(repo(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The `.json` files of a sample directory, so a sample added later cannot be skipped silently.
fn json_files(dir: &str) -> BTreeSet<String> {
    std::fs::read_dir(repo(dir))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".json"))
        .collect()
}

fn queue_arn(name: &str) -> String {
    format!("arn:aws:sqs:us-east-1:123456789012:{name}")
}

// ---------------------------------------------------------------------------------------------
// The stack: moto, the runtime API, function processes
// ---------------------------------------------------------------------------------------------

struct Stack {
    // Dropped first: the functions end before the servers they use.
    functions: Vec<FunctionProcess>,
    watch: LambdaWatch,
    aws: AwsClients,
    moto: MotoServer,
}

impl Stack {
    async fn start() -> Result<Stack, NeedsSetup> {
        let moto = MotoServer::start()?;
        let aws = moto.clients().await;
        let watch = LambdaWatch::start()?;
        Ok(Stack {
            functions: Vec::new(),
            watch,
            aws,
            moto,
        })
    }

    /// Starts `function` in its own process with moto's endpoint and credentials and `env` (the
    /// variables `template.yaml` sets).
    fn deploy(&mut self, function: &str, env: &[(&str, String)]) {
        let mut all: Vec<(String, String)> = self
            .moto
            .env()
            .into_iter()
            .map(|(name, value)| (name.to_string(), value))
            .collect();
        // Request checksums only when required: moto's S3 (DESIGN.md, local infrastructure).
        all.push((
            "AWS_REQUEST_CHECKSUM_CALCULATION".into(),
            "when_required".into(),
        ));
        all.extend(
            env.iter()
                .map(|(name, value)| (name.to_string(), value.clone())),
        );
        let process = FunctionProcess::start(function, &self.watch, &all);
        self.functions.push(process);
    }

    /// `cargo lambda invoke`: the function's answer; a handler error fails the test with the
    /// emulator's and the functions' logs.
    fn invoke(&self, function: &str, event: &Value) -> Value {
        self.watch
            .invoke(function, event)
            .unwrap_or_else(|error| panic!("{function} failed: {error}\n{}", self.logs()))
    }

    /// The emulator's log and every function's, for a failure message.
    fn logs(&self) -> String {
        let functions: Vec<String> = self.functions.iter().map(FunctionProcess::output).collect();
        format!("{}\n{}", self.watch.output(), functions.join("\n"))
    }

    async fn queue(&self, name: &str) -> String {
        self.moto.create_queue(name).await
    }

    /// Receives and deletes everything a queue holds.
    async fn take(&self, queue_url: &str) -> Vec<String> {
        take_all(&self.aws.sqs(), queue_url).await
    }

    async fn put_parameter(&self, name: &str, value: &str, kind: ParameterType) {
        self.aws
            .ssm()
            .put_parameter()
            .name(name)
            .value(value)
            .r#type(kind)
            .send()
            .await
            .expect("PutParameter");
    }

    /// Starts slack-fanout on a new alerts queue, as the template wires it, with `routing` (the
    /// variable naming the SSM parameter or the file, and its value).
    async fn deploy_fanout(&mut self, slack: &SlackFake, routing: (&str, String)) -> FanoutQueues {
        self.moto.create_state_table(TABLE).await;
        let queues = FanoutQueues {
            alerts: self.queue("alerts").await,
            dead_letters: self.queue("alerts-dlq").await,
        };
        self.deploy(
            "slack-fanout",
            &[
                routing,
                ("FLEETWATCH_STATE_TABLE", TABLE.into()),
                ("FLEETWATCH_ALERTS_DLQ_URL", queues.dead_letters.clone()),
                ("FLEETWATCH_SLACK_API_BASE", slack.api_base_url()),
                ("FLEETWATCH_MAX_RECEIVES", "5".into()),
            ],
        );
        queues
    }

    /// Hands the messages to slack-fanout as the SQS event source does and asserts that it
    /// reported no failure (the event source then deletes them: the caller does).
    fn fan_out(&self, messages: &[Message]) {
        let answer = self.invoke(
            "slack-fanout",
            &lambda_event(messages, &queue_arn("alerts")),
        );
        assert_eq!(
            answer,
            json!({"batchItemFailures": []}),
            "slack-fanout: {}",
            self.logs()
        );
    }
}

/// The queues of slack-fanout: its event source and where it parks what cannot be delivered.
struct FanoutQueues {
    alerts: String,
    dead_letters: String,
}

/// What a queue holds now, with the receive count the SQS event source asks for (the messages
/// stay in flight until deleted).
async fn receive_counted(aws: &AwsClients, queue_url: &str) -> Vec<Message> {
    aws.sqs()
        .receive_message()
        .queue_url(queue_url)
        .max_number_of_messages(10)
        .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
        .send()
        .await
        .expect("ReceiveMessage")
        .messages
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// Slack as `events/routing/routing.yaml` describes it
// ---------------------------------------------------------------------------------------------

/// `events/routing/routing.yaml` without its mutes: a mute follows the wall clock (weekend
/// nights in Dublin), which the function process reads, so a test using it would pass or fail
/// by the hour it runs.
fn example_routing() -> String {
    let path = repo("events/routing/routing.yaml");
    let mut config: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    for route in config["routes"].as_sequence_mut().unwrap() {
        route.as_mapping_mut().unwrap().remove("mute");
    }
    serde_yaml_ng::to_string(&config).unwrap()
}

/// The Slack fake with the destinations of the example routing (webhooks bound to channels
/// `ops` and `platform`, the bot's `#deploys`), their secrets and the routing in SSM, and
/// slack-fanout deployed with it.
async fn deploy_example_fanout(stack: &mut Stack, slack: &SlackFake) -> FanoutQueues {
    slack.set_token(BOT_TOKEN);
    slack.add_channel("deploys");
    for (parameter, channel) in [
        ("/fleetwatch/slack/ops-webhook", "ops"),
        ("/fleetwatch/slack/platform-webhook", "platform"),
    ] {
        let url = slack.add_webhook(channel);
        stack
            .put_parameter(parameter, &url, ParameterType::SecureString)
            .await;
    }
    stack
        .put_parameter(
            "/fleetwatch/slack/bot-token",
            BOT_TOKEN,
            ParameterType::SecureString,
        )
        .await;
    stack
        .put_parameter(
            "/fleetwatch/slack/routing",
            &example_routing(),
            ParameterType::String,
        )
        .await;
    let routing = (
        "FLEETWATCH_ROUTING_PARAMETER",
        "/fleetwatch/slack/routing".to_string(),
    );
    stack.deploy_fanout(slack, routing).await
}

/// The text of every message in each channel, in posting order.
fn channel_texts(slack: &SlackFake) -> BTreeMap<&'static str, Vec<String>> {
    ["ops", "platform", "deploys"]
        .into_iter()
        .map(|channel| {
            let texts = slack
                .messages(channel)
                .into_iter()
                .map(|m| m.text.unwrap_or_default())
                .collect();
            (channel, texts)
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// alb-logs: every envelope sample
// ---------------------------------------------------------------------------------------------

const LOG_BUCKET: &str = "acme-alb-logs"; // the bucket every envelope sample names
const TABLE_BUCKET: &str = "acme-alb-tables";
/// A space and a plus in the keys: S3 notifications form-encode them, Batch Operations
/// percent-encode them, EventBridge leaves them as they are.
const LOG_PREFIX: &str = "alb logs+eu/";

/// A sample log of `events/alb` and what `manifest.json` says about it.
struct SampleLog {
    file: String,
    kind: String,
    bytes: Vec<u8>,
    lines: u64,
    bad: BTreeSet<u64>,
    blank: BTreeSet<u64>,
}

impl SampleLog {
    fn of_kind(kind: &str) -> SampleLog {
        let manifest = sample("events/alb/manifest.json");
        let (file, entry) = manifest
            .as_object()
            .unwrap()
            .iter()
            .find(|(_, entry)| entry["kind"] == kind)
            .unwrap_or_else(|| panic!("no {kind} log in events/alb/manifest.json"));
        let numbers = |field: &str, pick: fn(&Value) -> u64| -> BTreeSet<u64> {
            entry[field].as_array().unwrap().iter().map(pick).collect()
        };
        let log = SampleLog {
            file: file.clone(),
            kind: kind.to_string(),
            bytes: std::fs::read(repo("events/alb").join(file)).unwrap(),
            lines: entry["lines"].as_u64().unwrap(),
            bad: numbers("bad_lines", |bad| bad["line"].as_u64().unwrap()),
            blank: numbers("blank_lines", |line| line.as_u64().unwrap()),
        };
        assert_eq!(log.good_lines().len() as u64, entry["good_lines"]);
        log
    }

    fn good_lines(&self) -> BTreeSet<u64> {
        (1..=self.lines)
            .filter(|n| !self.bad.contains(n) && !self.blank.contains(n))
            .collect()
    }

    /// What alb-logs reports for it (the Batch Operations `resultString`).
    fn summary(&self) -> String {
        let good = self.good_lines().len();
        format!(
            "{} lines: {good} parsed, {} failed; {good} indexed, 0 already indexed",
            self.lines,
            self.bad.len()
        )
    }
}

/// A sample log stored in moto's (versioned) log bucket, as S3 describes it.
struct Stored<'a> {
    log: &'a SampleLog,
    key: String,
    day: u32,
    size: i64,
    etag: String,
    version_id: String,
}

/// Stores `log` under the documented key layout of day `day` (distinct days, distinct outputs).
async fn store<'a>(aws: &AwsClients, log: &'a SampleLog, day: u32) -> Stored<'a> {
    let key = format!(
        "{LOG_PREFIX}AWSLogs/123456789012/elasticloadbalancing/eu-west-1/2026/11/{day}/{}",
        log.file
    );
    let put = aws
        .s3()
        .put_object()
        .bucket(LOG_BUCKET)
        .key(&key)
        .body(log.bytes.clone().into())
        .send()
        .await
        .expect("PutObject");
    Stored {
        log,
        key,
        day,
        size: log.bytes.len() as i64,
        etag: put.e_tag().unwrap().trim_matches('"').to_string(),
        version_id: put.version_id().expect("a versioned bucket").to_string(),
    }
}

/// How S3 event notifications spell a key (form encoding: a space is `+`) and how Batch
/// Operations manifests do (percent encoding).
fn encode_key(key: &str, space: &str) -> String {
    let mut encoded = String::new();
    for byte in key.bytes() {
        match byte {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                encoded.push(byte as char)
            }
            b' ' => encoded.push_str(space),
            _ => encoded.push_str(&format!("%{byte:02X}")),
        }
    }
    encoded
}

/// Sets `field` only where the sample has it: the envelope keeps its own shape.
fn replace(object: &mut Value, field: &str, value: Value) {
    if object.get(field).is_some_and(|old| !old.is_null()) {
        object[field] = value;
    }
}

/// Points each object reference of an envelope (an S3 `ObjectCreated` record, an EventBridge
/// "Object Created" event, a Batch Operations task naming a bucket), in the order they appear,
/// at the next stored object, described as S3 would describe it. JSON inside strings (SQS
/// bodies, SNS messages) is rewritten in place. References the function ignores (removals, a
/// task without a bucket) and undecodable bodies are left as they are.
fn point_at(value: &mut Value, objects: &mut std::slice::Iter<'_, Stored<'_>>) {
    match value {
        Value::Array(items) => items.iter_mut().for_each(|item| point_at(item, objects)),
        Value::String(text) => {
            if let Ok(mut inner @ Value::Object(_)) = serde_json::from_str(text) {
                point_at(&mut inner, objects);
                *text = inner.to_string();
            }
        }
        Value::Object(_) => {
            if let Some(stored) = reference_kind(value).and_then(|_| objects.next()) {
                describe(value, stored);
            }
            for child in value.as_object_mut().unwrap().values_mut() {
                point_at(child, objects);
            }
        }
        _ => {}
    }
}

enum Reference {
    S3Record,
    EventBridge,
    BatchTask,
}

fn reference_kind(value: &Value) -> Option<Reference> {
    let created = value["eventName"]
        .as_str()
        .is_some_and(|name| name.starts_with("ObjectCreated"));
    if created && value["s3"]["object"].is_object() {
        return Some(Reference::S3Record);
    }
    if value["detail-type"] == "Object Created" {
        return Some(Reference::EventBridge);
    }
    let bucket = value.get("s3Bucket").or_else(|| value.get("s3BucketArn"));
    (value.get("taskId").is_some() && bucket.is_some()).then_some(Reference::BatchTask)
}

fn describe(reference: &mut Value, stored: &Stored<'_>) {
    match reference_kind(reference).unwrap() {
        Reference::S3Record => {
            let object = &mut reference["s3"]["object"];
            object["key"] = json!(encode_key(&stored.key, "+"));
            replace(object, "size", json!(stored.size));
            replace(object, "eTag", json!(stored.etag));
            replace(object, "versionId", json!(stored.version_id));
        }
        Reference::EventBridge => {
            let object = &mut reference["detail"]["object"];
            object["key"] = json!(stored.key);
            replace(object, "size", json!(stored.size));
            replace(object, "etag", json!(stored.etag));
        }
        Reference::BatchTask => {
            reference["s3Key"] = json!(encode_key(&stored.key, "%20"));
            replace(reference, "s3VersionId", json!(stored.version_id));
        }
    }
}

/// Each envelope sample, and the sample logs its object references are pointed at, in order,
/// with the day each is stored under.
const ENVELOPES: &[(&str, &[(&str, u32)])] = &[
    // Its second record is a removal: not an object to read.
    ("s3-notification.json", &[("access", 21)]),
    ("sns-s3.json", &[("classic", 22)]),
    ("eventbridge-object-created.json", &[("connection", 23)]),
    ("s3-batch-job-v1.json", &[("access", 24)]),
    // Its second task names no bucket: a permanent failure.
    ("s3-batch-job-v2.json", &[("classic", 25)]),
    // S3, S3 test event, SNS, EventBridge and an undecodable body, in SQS messages.
    (
        "sqs-batch.json",
        &[("access", 26), ("classic", 27), ("connection", 28)],
    ),
];

/// The undecodable message of `sqs-batch.json`.
const POISON_MESSAGE_ID: &str = "5d9e3c1a-2f7a-4b8c-9e3d-0a4f6b8c2d3e";

/// The answer each trigger expects: Batch Operations results (one per task, in order; the
/// stored objects are the first tasks), SQS partial batch failures, or the direct count.
fn assert_answer(envelope: &str, event: &Value, answer: &Value, stored: &[Stored<'_>]) {
    if envelope == "sqs-batch.json" {
        assert_eq!(answer, &json!({"batchItemFailures": []}));
        return;
    }
    if event.get("tasks").is_none() {
        assert_eq!(answer, &json!({"objects": stored.len()}), "{envelope}");
        return;
    }
    assert_eq!(answer["invocationId"], event["invocationId"], "{envelope}");
    assert_eq!(answer["treatMissingKeysAs"], "PermanentFailure");
    let results = answer["results"].as_array().unwrap();
    assert_eq!(results.len(), event["tasks"].as_array().unwrap().len());
    for (n, result) in results.iter().enumerate() {
        assert_eq!(result["taskId"], event["tasks"][n]["taskId"]);
        let expected = match stored.get(n) {
            Some(stored) => json!(["Succeeded", stored.log.summary()]),
            None => json!(["PermanentFailure", "missing field `s3Bucket`"]),
        };
        assert_eq!(
            json!([result["resultCode"], result["resultString"]]),
            expected,
            "{envelope} task {n}"
        );
    }
}

/// The line numbers of the documents in the `_bulk` fake, per object (ids are
/// `<object fingerprint>-<line>`).
fn indexed_lines(bulk: &BulkFake) -> BTreeMap<String, BTreeSet<u64>> {
    let mut lines: BTreeMap<String, BTreeSet<u64>> = BTreeMap::new();
    for document in bulk.documents_in(INDEX) {
        let (object, line) = document.id.rsplit_once('-').unwrap();
        lines
            .entry(object.to_string())
            .or_default()
            .insert(line.parse().unwrap());
    }
    lines
}

async fn gunzip_lines(aws: &AwsClients, bucket: &str, key: &str) -> Vec<Value> {
    let object = aws.s3().get_object().bucket(bucket).key(key).send().await;
    let bytes = object.unwrap().body.collect().await.unwrap().into_bytes();
    let mut text = String::new();
    MultiGzDecoder::new(&bytes[..])
        .read_to_string(&mut text)
        .unwrap();
    text.lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

/// The one object under `prefix` in the table bucket.
async fn only_output_under(aws: &AwsClients, prefix: &str) -> String {
    let listed = aws
        .s3()
        .list_objects_v2()
        .bucket(TABLE_BUCKET)
        .prefix(prefix)
        .send()
        .await
        .unwrap();
    let keys: Vec<&str> = listed.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(keys.len(), 1, "under {prefix}: {keys:?}");
    keys[0].to_string()
}

/// The NDJSON table has one row per good line; the errors object holds exactly the bad lines.
async fn assert_outputs(aws: &AwsClients, stored: &Stored<'_>) {
    let partition = format!("{}/year=2026/month=11/day={}/", stored.log.kind, stored.day);
    let table = only_output_under(aws, &format!("alb/{partition}")).await;
    let rows = gunzip_lines(aws, TABLE_BUCKET, &table).await;
    assert_eq!(rows.len(), stored.log.good_lines().len(), "{table}");
    let errors = only_output_under(aws, &format!("alb-errors/{partition}")).await;
    let letters = gunzip_lines(aws, TABLE_BUCKET, &errors).await;
    let numbers: BTreeSet<u64> = letters
        .iter()
        .map(|l| l["line"].as_u64().unwrap())
        .collect();
    assert_eq!(numbers, stored.log.bad, "{errors}");
}

/// Starts alb-logs writing to `_bulk` and to NDJSON tables, with a versioned log bucket (the S3
/// notification and Batch Operations samples name versions: they are read). Its poison queue.
async fn deploy_alb_logs_for_samples(stack: &mut Stack, bulk: &BulkFake) -> String {
    let s3 = stack.aws.s3();
    for bucket in [LOG_BUCKET, TABLE_BUCKET] {
        s3.create_bucket().bucket(bucket).send().await.unwrap();
    }
    let versioning = VersioningConfiguration::builder()
        .status(BucketVersioningStatus::Enabled)
        .build();
    s3.put_bucket_versioning()
        .bucket(LOG_BUCKET)
        .versioning_configuration(versioning)
        .send()
        .await
        .unwrap();
    let poison = stack.queue("alb-logs-dlq").await;
    stack.deploy(
        "alb-logs",
        &[
            ("FLEETWATCH_SEARCH_ENDPOINT", bulk.base_url()),
            ("FLEETWATCH_SEARCH_INDEX", INDEX.into()),
            ("FLEETWATCH_OUTPUT_BUCKET", TABLE_BUCKET.into()),
            ("FLEETWATCH_OUTPUT_FORMAT", "ndjson".into()),
            ("FLEETWATCH_POISON_QUEUE_URL", poison.clone()),
        ],
    );
    poison
}

/// The envelope sample with its object references pointed at `stored`.
fn envelope_pointed_at(envelope: &str, stored: &[Stored<'_>]) -> Value {
    let mut event = sample(&format!("events/envelopes/{envelope}"));
    let mut references = stored.iter();
    point_at(&mut event, &mut references);
    assert!(references.next().is_none(), "{envelope}: a target unused");
    event
}

/// The objects indexed since `before` have documents for exactly their good lines.
fn assert_indexed(
    bulk: &BulkFake,
    before: &BTreeMap<String, BTreeSet<u64>>,
    stored: &[Stored<'_>],
) {
    let mut new: Vec<BTreeSet<u64>> = indexed_lines(bulk)
        .into_iter()
        .filter(|(object, _)| !before.contains_key(object))
        .map(|(_, lines)| lines)
        .collect();
    let mut expected: Vec<BTreeSet<u64>> = stored.iter().map(|s| s.log.good_lines()).collect();
    new.sort();
    expected.sort();
    assert_eq!(new, expected, "documents per object");
}

/// Every envelope of `events/envelopes`, its object references pointed at the sample logs of
/// `events/alb` stored in moto, invoked through the runtime API: the answer each trigger
/// expects, and per object the documents of exactly its good lines in `_bulk`, an NDJSON table
/// of as many rows and an errors object of exactly its bad lines, as `manifest.json` counts them.
/// The undecodable SQS message is parked on the poison queue.
///
/// Real: moto (S3 with versioning, SQS), `cargo lambda watch`, the alb-logs process. Fake: the
/// `_bulk` endpoint (OpenSearch cannot run here).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alb_logs_handles_every_envelope_sample_through_the_runtime_api() -> TestResult {
    let (mut stack, bulk) = (Stack::start().await?, BulkFake::start());
    let poison = deploy_alb_logs_for_samples(&mut stack, &bulk).await;
    let envelopes: BTreeSet<String> = ENVELOPES.iter().map(|(f, _)| f.to_string()).collect();
    assert_eq!(envelopes, json_files("events/envelopes"));
    let logs: BTreeMap<&str, SampleLog> = ["access", "classic", "connection"]
        .into_iter()
        .map(|kind| (kind, SampleLog::of_kind(kind)))
        .collect();

    for (envelope, targets) in ENVELOPES {
        let mut stored = Vec::new();
        for (kind, day) in *targets {
            stored.push(store(&stack.aws, &logs[kind], *day).await);
        }
        let event = envelope_pointed_at(envelope, &stored);
        let before = indexed_lines(&bulk);
        let answer = stack.invoke("alb-logs", &event);
        assert_answer(envelope, &event, &answer, &stored);
        assert_indexed(&bulk, &before, &stored);
        for object in &stored {
            assert_outputs(&stack.aws, object).await;
        }
    }
    assert!(bulk.written_more_than_once().is_empty());

    let letters = stack.take(&poison).await;
    assert_eq!(letters.len(), 1, "{letters:?}");
    let letter: Value = serde_json::from_str(&letters[0])?;
    assert_eq!(letter["message_id"], POISON_MESSAGE_ID);
    let reason = letter["reason"].as_str().unwrap();
    assert!(reason.starts_with("invalid JSON"), "{letter}");
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// ecs-events: every sample event
// ---------------------------------------------------------------------------------------------

/// Each alert sample of `events/ecs` and the title of its alert (`shared/ecs/tests/fixtures.rs`
/// pins the same titles on the pure classifier).
const ECS_ALERTS: &[(&str, &str)] = &[
    (
        "asg-launch-unsuccessful.json",
        "Auto Scaling group prod-ecs-ondemand failed to launch an instance",
    ),
    (
        "asg-terminate-unsuccessful.json",
        "Auto Scaling group prod-ecs-ondemand failed to terminate an instance",
    ),
    (
        "container-instance-registration-failed.json",
        "Container instance i-0a9b8c7d6e5f40312 failed to register",
    ),
    (
        "deployment-in-progress.json",
        "Deployment of checkout started",
    ),
    (
        "deployment-rollback.json",
        "Deployment of checkout is rolling back",
    ),
    ("deployment-failed.json", "Deployment of checkout failed"),
    (
        "deployment-completed.json",
        "Deployment of checkout completed",
    ),
    (
        "service-configuration-failure.json",
        "Task configuration of checkout failed",
    ),
    (
        "service-placement-failure.json",
        "Tasks of checkout cannot be placed: not enough memory",
    ),
    (
        "service-start-impaired.json",
        "Tasks of checkout are failing to start",
    ),
    (
        "task-failed-health-check.json",
        "Task of checkout failed its health checks",
    ),
    (
        "task-failed-to-start-image-pull.json",
        "Task of checkout failed to start: the image could not be pulled",
    ),
    (
        "task-failed-to-start-secrets.json",
        "Task of checkout failed to start: secrets or resources could not be initialised",
    ),
    (
        "task-stopped-exit-code.json",
        "Task of checkout stopped: app exited with code 1",
    ),
    (
        "task-stopped-oom.json",
        "Task of checkout stopped: app ran out of memory",
    ),
];

/// Each noise sample and the rule that drops it (`events/ecs/README.md`).
const ECS_NOISE: &[(&str, &str)] = &[
    (
        "noise-container-instance-agent-reconnect.json",
        "agent_reconnect",
    ),
    ("noise-service-steady-state.json", "steady_state"),
    ("noise-task-running.json", "not_stopped"),
    ("noise-task-stopped-routine-deployment.json", "routine_stop"),
    (
        "noise-task-stopped-user-initiated.json",
        "user_initiated_stop",
    ),
];

/// Every event of `events/ecs` invoked through the runtime API as EventBridge invokes the
/// function: each alert sample answers `published` and puts exactly its alert on the alerts
/// queue; each noise sample answers `dropped` by its rule and puts nothing there; nothing is
/// dead-lettered. Enrichment is on (the template's default): moto knows none of the samples'
/// services, so the lookups fail and the alerts go out without them, as they must.
///
/// Real: moto (SQS, DynamoDB, ECS and CloudWatch Logs lookups), `cargo lambda watch`, the
/// ecs-events process. No fake.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ecs_events_handles_every_sample_event_through_the_runtime_api() -> TestResult {
    let mut stack = Stack::start().await?;
    stack.moto.create_state_table(TABLE).await;
    let alerts = stack.queue("alerts").await;
    let dead_letters = stack.queue("ecs-events-dlq").await;
    stack.deploy(
        "ecs-events",
        &[
            ("FLEETWATCH_ALERTS_QUEUE_URL", alerts.clone()),
            ("FLEETWATCH_EVENTS_DLQ_URL", dead_letters.clone()),
            ("FLEETWATCH_STATE_TABLE", TABLE.into()),
        ],
    );
    let covered: BTreeSet<String> = ECS_ALERTS
        .iter()
        .chain(ECS_NOISE)
        .map(|(file, _)| file.to_string())
        .collect();
    assert_eq!(covered, json_files("events/ecs"));

    for (file, title) in ECS_ALERTS {
        let answer = stack.invoke("ecs-events", &sample(&format!("events/ecs/{file}")));
        assert_eq!(
            (&answer["outcome"], &answer["alerts"]),
            (&json!("published"), &json!(1)),
            "{file}: {answer}"
        );
        let published = stack.take(&alerts).await;
        assert_eq!(published.len(), 1, "{file}: {published:?}");
        let alert: Value = serde_json::from_str(&published[0])?;
        assert_eq!(alert["title"], *title, "{file}");
        assert_eq!(alert["source"], "ecs_events", "{file}");
    }
    for (file, rule) in ECS_NOISE {
        let answer = stack.invoke("ecs-events", &sample(&format!("events/ecs/{file}")));
        assert_eq!(
            (&answer["outcome"], &answer["rule"]),
            (&json!("dropped"), &json!(rule)),
            "{file}: {answer}"
        );
        assert_eq!(stack.take(&alerts).await, Vec::<String>::new(), "{file}");
    }
    assert_eq!(stack.take(&dead_letters).await, Vec::<String>::new());
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// slack-fanout: every alert sample
// ---------------------------------------------------------------------------------------------

/// How a sample reaches the alerts queue.
#[derive(Clone, Copy)]
enum Arrival {
    /// The payload is the message body: our functions' alerts, EventBridge targets, other
    /// producers' JSON, Alertmanager's payload (the receiver adds a notification id to it: the
    /// Alertmanager chain below sends it that way).
    Raw,
    /// The sample is the SNS Lambda event of a topic; the topic's SQS subscription delivers the
    /// notification itself (not raw delivery) as the body.
    SnsToSqs,
}

/// A sample of `events/alerts`, how it arrives, and the text of every message it must post per
/// channel, by the example routing (`events/routing/routing.yaml`, whose comments say the same).
struct AlertSample {
    file: &'static str,
    arrival: Arrival,
    posts: &'static [(&'static str, &'static str)],
}

const ALERT_SAMPLES: &[AlertSample] = &[
    AlertSample {
        file: "alertmanager-two-alerts.json",
        arrival: Arrival::Raw,
        posts: &[
            ("ops", "<!here> [FIRING critical] TargetResponseTimeHigh"),
            ("platform", "[RESOLVED warning] TargetResponseTimeHigh"),
        ],
    },
    AlertSample {
        file: "aws-health-eventbridge.json",
        arrival: Arrival::Raw,
        posts: &[("ops", "[FIRING warning] EC2: Instance retirement scheduled")],
    },
    AlertSample {
        file: "cloudwatch-alarm-sns.json",
        arrival: Arrival::SnsToSqs,
        posts: &[("ops", "[FIRING error] prod-ecs-api-cpu-high")],
    },
    AlertSample {
        file: "own-alert.json",
        arrival: Arrival::Raw,
        posts: &[
            ("deploys", "[FIRING error] Deployment of api rolled back"),
            ("ops", "[FIRING error] Deployment of api rolled back"),
        ],
    },
    AlertSample {
        file: "unknown-jenkins-notification.json",
        arrival: Arrival::Raw,
        posts: &[("ops", "[FIRING warning] nightly-backup")],
    },
];

/// The body SNS gives an SQS subscriber: the notification of the Lambda event's record, with
/// the URL field names SNS uses in that JSON.
fn sns_to_sqs_body(lambda_event: &Value) -> String {
    let mut notification = lambda_event["Records"][0]["Sns"].clone();
    let fields = notification.as_object_mut().unwrap();
    for (lambda_name, sqs_name) in [
        ("SigningCertUrl", "SigningCertURL"),
        ("UnsubscribeUrl", "UnsubscribeURL"),
    ] {
        let value = fields.remove(lambda_name).unwrap();
        fields.insert(sqs_name.into(), value);
    }
    notification.to_string()
}

fn alert_message_body(file: &str, arrival: Arrival) -> String {
    let payload = sample(&format!("events/alerts/{file}"));
    match arrival {
        Arrival::Raw => payload.to_string(),
        Arrival::SnsToSqs => sns_to_sqs_body(&payload),
    }
}

/// The messages posted since `before`, per channel.
fn posted_since(
    before: &BTreeMap<&'static str, Vec<String>>,
    now: BTreeMap<&'static str, Vec<String>>,
) -> BTreeSet<(&'static str, String)> {
    now.into_iter()
        .flat_map(|(channel, texts)| {
            let skip = before[channel].len();
            texts.into_iter().skip(skip).map(move |t| (channel, t))
        })
        .collect()
}

/// Every payload of `events/alerts` sent to the alerts queue as it arrives there, received and
/// handed to slack-fanout through the runtime API as the SQS event source does: no batch item
/// failure, and the Slack fake gets exactly the messages the example routing sends, in the right
/// channels (webhooks and the bot's `#deploys`), with the rendered text and mentions. Nothing is
/// dead-lettered.
///
/// Real: moto (SQS, SSM with the routing and the secrets, DynamoDB state), `cargo lambda watch`,
/// the slack-fanout process (on the real clock: its pacing of one channel's messages waits in
/// real time; the test asserts no timing). Fake: Slack (a SaaS).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slack_fanout_delivers_every_alert_sample_through_the_runtime_api() -> TestResult {
    let mut stack = Stack::start().await?;
    let slack = SlackFake::start();
    let FanoutQueues {
        alerts,
        dead_letters,
    } = deploy_example_fanout(&mut stack, &slack).await;
    let covered: BTreeSet<String> = ALERT_SAMPLES.iter().map(|s| s.file.to_string()).collect();
    assert_eq!(covered, json_files("events/alerts"));
    let sqs = stack.aws.sqs();

    for AlertSample {
        file,
        arrival,
        posts,
    } in ALERT_SAMPLES
    {
        let body = alert_message_body(file, *arrival);
        sqs.send_message()
            .queue_url(&alerts)
            .message_body(body)
            .send()
            .await?;
        let before = channel_texts(&slack);
        let messages = receive_counted(&stack.aws, &alerts).await;
        assert_eq!(messages.len(), 1, "{file}");
        stack.fan_out(&messages);
        delete(&sqs, &alerts, &messages).await;
        let expected: BTreeSet<(&str, String)> = posts
            .iter()
            .map(|(channel, text)| (*channel, text.to_string()))
            .collect();
        assert_eq!(
            posted_since(&before, channel_texts(&slack)),
            expected,
            "{file}"
        );
    }
    assert_eq!(stack.take(&dead_letters).await, Vec::<String>::new());
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Chains
// ---------------------------------------------------------------------------------------------

/// A Lambda Function URL request (payload format 2.0) as Alertmanager's webhook POST arrives.
fn function_url_request(body: &str, authorization: Option<&str>, request_id: &str) -> Value {
    let mut headers = json!({
        "content-type": "application/json",
        "user-agent": "Alertmanager/0.28.1",
        "host": "abcdefghij.lambda-url.eu-west-1.on.aws",
    });
    if let Some(value) = authorization {
        headers["authorization"] = json!(value);
    }
    json!({
        "version": "2.0", "routeKey": "$default", "rawPath": "/", "rawQueryString": "",
        "headers": headers,
        "requestContext": {
            "accountId": "anonymous", "apiId": "abcdefghij",
            "domainName": "abcdefghij.lambda-url.eu-west-1.on.aws", "domainPrefix": "abcdefghij",
            "http": {"method": "POST", "path": "/", "protocol": "HTTP/1.1",
                     "sourceIp": "203.0.113.10", "userAgent": "Alertmanager/0.28.1"},
            "requestId": request_id, "routeKey": "$default", "stage": "$default",
            "time": "25/Nov/2026:10:02:30 +0000", "timeEpoch": 1_795_600_950_000_u64
        },
        "body": body,
        "isBase64Encoded": false
    })
}

/// Starts alertmanager-receiver queueing on `alerts`, its token in an SSM SecureString.
async fn deploy_receiver(stack: &mut Stack, alerts: &str) {
    let token_parameter = "/fleetwatch/alertmanager/token";
    let secure = ParameterType::SecureString;
    stack
        .put_parameter(token_parameter, ALERTMANAGER_TOKEN, secure)
        .await;
    let receiver_dlq = stack.queue("receiver-dlq").await;
    stack.deploy(
        "alertmanager-receiver",
        &[
            ("FLEETWATCH_WEBHOOK_TOKEN_PARAMETER", token_parameter.into()),
            ("FLEETWATCH_ALERTS_QUEUE_URL", alerts.to_string()),
            ("FLEETWATCH_ALERTS_DLQ_URL", receiver_dlq),
        ],
    );
}

/// Without the bearer token, or with a wrong one: 401, and nothing on the queue.
async fn assert_refused_without_the_token(stack: &Stack, body: &str, alerts: &str) {
    for (authorization, request_id) in [(None, "no-token"), (Some("Bearer wrong"), "wrong")] {
        let request = function_url_request(body, authorization, request_id);
        let answer = stack.invoke("alertmanager-receiver", &request);
        assert_eq!(answer["statusCode"], 401, "{authorization:?}");
        assert!(receive(&stack.aws.sqs(), alerts).await.is_empty());
    }
}

/// Posts the webhook with the token: 202, and the queued message, holding both alerts.
async fn post_with_the_token(stack: &Stack, body: &str, alerts: &str) -> Vec<Message> {
    let bearer = format!("Bearer {ALERTMANAGER_TOKEN}");
    let request = function_url_request(body, Some(&bearer), "notification-1");
    let answer = stack.invoke("alertmanager-receiver", &request);
    assert_eq!(answer["statusCode"], 202, "{answer}");
    let answered: Value = serde_json::from_str(answer["body"].as_str().unwrap()).unwrap();
    assert_eq!(answered, json!({"queued": 1, "parked": 0}));
    let messages = receive_counted(&stack.aws, alerts).await;
    assert_eq!(messages.len(), 1);
    let queued: Value = serde_json::from_str(messages[0].body().unwrap()).unwrap();
    let fingerprints: Vec<&Value> = queued["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|alert| &alert["fingerprint"])
        .collect();
    assert_eq!(
        fingerprints,
        [&json!("a1b2c3d4e5f60718"), &json!("0f1e2d3c4b5a6978")]
    );
    messages
}

/// The message's deletion is lost: SQS delivers it again once its visibility timeout is over
/// (ended here at once).
async fn redelivered(aws: &AwsClients, queue_url: &str, message: &Message) -> Vec<Message> {
    aws.sqs()
        .change_message_visibility()
        .queue_url(queue_url)
        .receipt_handle(message.receipt_handle().unwrap())
        .visibility_timeout(0)
        .send()
        .await
        .expect("ChangeMessageVisibility");
    let again = receive_counted(aws, queue_url).await;
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].message_id(), message.message_id());
    again
}

/// Alertmanager's webhook with `events/alerts/alertmanager-two-alerts.json` through the
/// receiver's Function URL: without the bearer token, or with a wrong one, 401 and nothing
/// queued; with the token from the SSM SecureString, 202 and its two alerts on the alerts queue
/// (in one message: the receiver splits a payload only when it exceeds the queue's message
/// limit). slack-fanout takes that message from the queue: the critical alert in `ops` with
/// `<!here>`, the resolved one in `platform` (the example routing). The queue then delivers the
/// same message again: acknowledged, nothing posted twice, nothing dead-lettered.
///
/// Real: moto (SQS, SSM, DynamoDB), `cargo lambda watch`, the alertmanager-receiver and
/// slack-fanout processes. Fake: Slack (a SaaS).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alertmanager_webhook_reaches_slack_once_and_only_with_its_token() -> TestResult {
    let (mut stack, slack) = (Stack::start().await?, SlackFake::start());
    let FanoutQueues {
        alerts,
        dead_letters,
    } = deploy_example_fanout(&mut stack, &slack).await;
    deploy_receiver(&mut stack, &alerts).await;
    let body = sample("events/alerts/alertmanager-two-alerts.json").to_string();

    assert_refused_without_the_token(&stack, &body, &alerts).await;
    let messages = post_with_the_token(&stack, &body, &alerts).await;
    stack.fan_out(&messages);
    let delivered = channel_texts(&slack);
    let critical = "<!here> [FIRING critical] TargetResponseTimeHigh";
    assert_eq!(delivered["ops"], [critical]);
    let resolved = "[RESOLVED warning] TargetResponseTimeHigh";
    assert_eq!(delivered["platform"], [resolved]);

    let again = redelivered(&stack.aws, &alerts, &messages[0]).await;
    stack.fan_out(&again);
    delete(&stack.aws.sqs(), &alerts, &again).await;
    assert_eq!(channel_texts(&slack), delivered, "posted twice");
    assert_eq!(stack.take(&dead_letters).await, Vec::<String>::new());
    Ok(())
}

const ERRORS_BUCKET: &str = "acme-alb-errors";
const CHAIN_ROUTING: &str = r##"
destinations:
  web-oncall: { webhook_url_parameter: /fleetwatch/slack/web-oncall }
  elsewhere: { webhook_url_parameter: /fleetwatch/slack/elsewhere }
routes:
  - name: web-load-balancer
    match: { source: alb_logs, labels: { load_balancer: web } }
    destinations: [web-oncall]
default_route: { destinations: [elsewhere] }
"##;
const REQUESTS: usize = 40;
const FAILED: usize = 9;

/// An access log line of load balancer `web` for request `n`, answered `status` by its target.
fn access_line(n: usize, status: u16) -> String {
    format!(
        "http 2026-11-25T10:05:{s:02}.000000Z app/web/50dc6c495c0c9188 203.0.113.{c}:4{n:04} 10.0.1.7:8080 0.001 0.020 0.000 {status} {status} 120 512 \"GET http://shop.example.com:80/p/{n} HTTP/1.1\" \"curl/8.5.0\" - - arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web/73e2d6bc24d8a067 \"Root=1-6743a1b0-{n:024x}\" \"-\" \"-\" 0 2026-11-25T10:05:{s:02}.000000Z \"forward\" \"-\" \"-\" \"10.0.1.7:8080\" \"{status}\" \"-\" \"-\" TID_{n:032x}\n",
        s = n % 60,
        c = n % 250,
    )
}

/// `REQUESTS` requests of which `FAILED` answered 503 (22.5%), gzipped as ELB writes them.
fn failing_log_object() -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    for n in 0..REQUESTS {
        let status = if n < FAILED { 503 } else { 200 };
        encoder
            .write_all(access_line(n, status).as_bytes())
            .unwrap();
    }
    encoder.finish().unwrap()
}

/// S3 notifies `queue_url` of every object created in `bucket`, as `template.yaml` configures
/// the log bucket.
async fn notify_on_object_created(aws: &AwsClients, bucket: &str, queue_url: &str) {
    let attributes = aws
        .sqs()
        .get_queue_attributes()
        .queue_url(queue_url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .expect("GetQueueAttributes");
    let arn =
        attributes.attributes().unwrap()[&aws_sdk_sqs::types::QueueAttributeName::QueueArn].clone();
    let queue = QueueConfiguration::builder()
        .queue_arn(arn)
        .events(Event::S3ObjectCreated)
        .build()
        .unwrap();
    aws.s3()
        .put_bucket_notification_configuration()
        .bucket(bucket)
        .notification_configuration(
            NotificationConfiguration::builder()
                .queue_configurations(queue)
                .build(),
        )
        .send()
        .await
        .expect("PutBucketNotificationConfiguration");
}

/// Starts slack-fanout with `CHAIN_ROUTING` from a file: the ALB alerts of `web` to the
/// `web-oncall` webhook, anything else elsewhere.
async fn deploy_chain_fanout(
    stack: &mut Stack,
    slack: &SlackFake,
    routing: &tempfile::NamedTempFile,
) -> FanoutQueues {
    std::fs::write(routing.path(), CHAIN_ROUTING).unwrap();
    for channel in ["web-oncall", "elsewhere"] {
        let url = slack.add_webhook(channel);
        let parameter = format!("/fleetwatch/slack/{channel}");
        stack
            .put_parameter(&parameter, &url, ParameterType::SecureString)
            .await;
    }
    let file = (
        "FLEETWATCH_ROUTING_FILE",
        routing.path().display().to_string(),
    );
    stack.deploy_fanout(slack, file).await
}

/// Starts alb-logs on the notifications of the log bucket, indexing in `_bulk`, its
/// threshold alerts to `alerts`: over 20% of at least `REQUESTS` requests answered 5xx. The
/// notification queue.
async fn deploy_alb_logs_on_notifications(
    stack: &mut Stack,
    bulk: &BulkFake,
    alerts: &str,
) -> String {
    let s3 = stack.aws.s3();
    for bucket in [LOG_BUCKET, ERRORS_BUCKET] {
        s3.create_bucket().bucket(bucket).send().await.unwrap();
    }
    let notifications = stack.queue("alb-logs").await;
    notify_on_object_created(&stack.aws, LOG_BUCKET, &notifications).await;
    stack.deploy(
        "alb-logs",
        &[
            ("FLEETWATCH_SEARCH_ENDPOINT", bulk.base_url()),
            ("FLEETWATCH_SEARCH_INDEX", INDEX.into()),
            ("FLEETWATCH_ERRORS_BUCKET", ERRORS_BUCKET.into()),
            ("FLEETWATCH_ALERTS_QUEUE_URL", alerts.to_string()),
            ("FLEETWATCH_ALERT_5XX_RATIO", "0.2".into()),
            ("FLEETWATCH_ALERT_MIN_REQUESTS", REQUESTS.to_string()),
        ],
    );
    notifications
}

async fn put_failing_log_object(aws: &AwsClients) {
    let key = "AWSLogs/123456789012/elasticloadbalancing/eu-west-1/2026/11/25/123456789012_elasticloadbalancing_eu-west-1_app.web.50dc6c495c0c9188_20261125T1005Z_10.0.1.7_5xxchain.log.gz";
    aws.s3()
        .put_object()
        .bucket(LOG_BUCKET)
        .key(key)
        .body(failing_log_object().into())
        .send()
        .await
        .expect("PutObject");
}

/// Hands what `queue_url` holds to `function` as the SQS event source does, expects no failure,
/// and acknowledges the messages. An empty queue invokes nothing, as with the event source.
async fn consume(stack: &Stack, function: &str, queue_url: &str, queue_name: &str) {
    let messages = receive_counted(&stack.aws, queue_url).await;
    if messages.is_empty() {
        return;
    }
    let answer = stack.invoke(function, &lambda_event(&messages, &queue_arn(queue_name)));
    assert_eq!(answer, json!({"batchItemFailures": []}), "{}", stack.logs());
    delete(&stack.aws.sqs(), queue_url, &messages).await;
}

/// The JSON bodies a queue holds now; they stay on it (received with no visibility timeout).
async fn peek(aws: &AwsClients, queue_url: &str) -> Vec<Value> {
    let messages = aws
        .sqs()
        .receive_message()
        .queue_url(queue_url)
        .max_number_of_messages(10)
        .visibility_timeout(0)
        .send()
        .await
        .expect("ReceiveMessage")
        .messages
        .unwrap_or_default();
    let body = |m: &Message| serde_json::from_str(m.body().unwrap()).unwrap();
    messages.iter().map(body).collect()
}

/// An ALB log object whose 5xx ratio (22.5%) is over the configured threshold (20% of at least
/// 40 requests), put in the log bucket: moto's S3 notifies the queue, alb-logs takes the
/// notification from it, indexes every line in `_bulk` and puts the 5xx-ratio alert on the
/// alerts queue; slack-fanout takes the alert from there and posts it to the `web-oncall`
/// channel's webhook, and nowhere else.
///
/// Real: moto (S3 notifications to SQS, SQS, SSM, DynamoDB), `cargo lambda watch`, the alb-logs
/// and slack-fanout processes. Fakes: `_bulk` and Slack (neither can run here).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alb_log_with_too_many_5xx_becomes_a_slack_message() -> TestResult {
    let mut stack = Stack::start().await?;
    let (bulk, slack) = (BulkFake::start(), SlackFake::start());
    let routing = tempfile::NamedTempFile::new()?;
    let FanoutQueues {
        alerts,
        dead_letters,
    } = deploy_chain_fanout(&mut stack, &slack, &routing).await;
    let notifications = deploy_alb_logs_on_notifications(&mut stack, &bulk, &alerts).await;

    put_failing_log_object(&stack.aws).await;
    let notified = peek(&stack.aws, &notifications).await;
    let created = |n: &Value| n["Records"][0]["eventName"] == "ObjectCreated:Put";
    assert!(
        notified.iter().any(created),
        "moto sent no notification: {notified:?}"
    );
    consume(&stack, "alb-logs", &notifications, "alb-logs").await;
    assert_eq!(bulk.document_count(INDEX), REQUESTS);

    let queued = peek(&stack.aws, &alerts).await;
    assert_eq!(queued.len(), 1, "{queued:?}");
    assert_eq!(queued[0]["fingerprint"], "alb-logs:web:5xx-ratio");
    consume(&stack, "slack-fanout", &alerts, "alerts").await;

    let posted = slack.messages("web-oncall");
    assert_eq!(posted.len(), 1, "{posted:#?}");
    assert_eq!(posted[0].channel_name, "web-oncall");
    let title = "[FIRING error] web: 22.5% of requests failed with 5xx";
    assert_eq!(posted[0].text.as_deref(), Some(title));
    let message = posted[0].payload.to_string();
    assert!(
        message.contains("9 of 40 requests answered 5xx"),
        "{message}"
    );
    assert!(slack.messages("elsewhere").is_empty());
    assert_eq!(stack.take(&dead_letters).await, Vec::<String>::new());
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// capacity and health-check: their chains to Slack
// ---------------------------------------------------------------------------------------------

/// Both chains post to one channel through the bot, so threads and updates are visible.
const ONCALL_ROUTING: &str = r##"
destinations:
  oncall: { bot_token_parameter: /fleetwatch/slack/bot-token, channel: "#oncall" }
routes:
  - name: capacity-and-health
    match: { source: [capacity, health_check] }
    destinations: [oncall]
default_route: { destinations: [oncall] }
"##;

/// Starts slack-fanout with `ONCALL_ROUTING` from a file: everything to `#oncall` as the bot.
async fn deploy_oncall_fanout(
    stack: &mut Stack,
    slack: &SlackFake,
    routing: &tempfile::NamedTempFile,
) -> FanoutQueues {
    std::fs::write(routing.path(), ONCALL_ROUTING).unwrap();
    slack.set_token(BOT_TOKEN);
    slack.add_channel("oncall");
    stack
        .put_parameter(
            "/fleetwatch/slack/bot-token",
            BOT_TOKEN,
            ParameterType::SecureString,
        )
        .await;
    let file = (
        "FLEETWATCH_ROUTING_FILE",
        routing.path().display().to_string(),
    );
    stack.deploy_fanout(slack, file).await
}

/// ECS as recorded answers describe a full cluster: the group's two instances each run one
/// `web` task and have no CPU left; `web` wants 6 tasks, one per instance (distinctInstance),
/// and runs 2. ECS cannot run here and moto's
/// DescribeTasks cannot be read by aws-sdk-ecs (tests/capacity.rs).
fn full_cluster(instances: &[(String, String)]) -> AwsJsonFake {
    use crate::capacity::{
        arn, container_instance, recorded_service, recorded_web_definition, task,
    };
    let ecs = AwsJsonFake::start();
    let ci = |id: &str| arn("container-instance", &format!("ci-{id}"));
    ecs.answer(
        "ListContainerInstances",
        Recorded::ok(json!({"containerInstanceArns": instances.iter().map(|(id, _)| ci(id)).collect::<Vec<_>>()})),
    );
    let described: Vec<Value> = instances
        .iter()
        .map(|(id, az)| container_instance(id, az, "ACTIVE", 0, 1536))
        .collect();
    ecs.answer(
        "DescribeContainerInstances",
        Recorded::ok(json!({"containerInstances": described, "failures": []})),
    );
    let names: Vec<String> = (1..=instances.len()).map(|n| format!("web-{n}")).collect();
    ecs.answer_when(
        "ListTasks",
        "desiredStatus",
        json!("RUNNING"),
        Recorded::ok(json!({"taskArns": names.iter().map(|n| arn("task", n)).collect::<Vec<_>>()})),
    );
    ecs.answer_when(
        "ListTasks",
        "desiredStatus",
        json!("STOPPED"),
        Recorded::ok(json!({"taskArns": []})),
    );
    let tasks: Vec<Value> = names
        .iter()
        .zip(instances)
        .map(|(name, (id, _))| {
            task(
                name,
                "service:web",
                Some(id),
                "RUNNING",
                "RUNNING",
                "1024",
                "2048",
            )
        })
        .collect();
    ecs.answer(
        "DescribeTasks",
        Recorded::ok(json!({"tasks": tasks, "failures": []})),
    );
    ecs.answer(
        "ListServices",
        Recorded::ok(json!({"serviceArns": [arn("service", "web")]})),
    );
    // No zone spread: moto launches every instance of the group in one zone, where a real group
    // balances its zones, so a spread service would look unbalanced to the next run.
    let mut web = recorded_service("web", "REPLICA", 6, 2, 0);
    web["placementStrategy"] = json!([]);
    ecs.answer(
        "DescribeServices",
        Recorded::ok(json!({"services": [web], "failures": []})),
    );
    ecs.answer(
        "DescribeTaskDefinition",
        Recorded::ok(recorded_web_definition()),
    );
    ecs.answer(
        "DescribeClusters",
        Recorded::ok(json!({"clusters": [{
            "clusterArn": format!("arn:aws:ecs:us-east-1:123456789012:cluster/{}", crate::capacity::CLUSTER),
            "clusterName": crate::capacity::CLUSTER,
            "status": "ACTIVE",
            "capacityProviders": [],
            "defaultCapacityProviderStrategy": []
        }], "failures": []})),
    );
    ecs
}

/// The group's desired capacity in moto, and its instances' zones (for a failure message).
async fn desired_capacity(aws: &AwsClients) -> (i32, Vec<String>) {
    let groups = aws_sdk_autoscaling::Client::new(aws.sdk_config())
        .describe_auto_scaling_groups()
        .auto_scaling_group_names(crate::capacity::ASG)
        .send()
        .await
        .expect("DescribeAutoScalingGroups");
    let group = &groups.auto_scaling_groups()[0];
    let zones = group
        .instances()
        .iter()
        .map(|i| format!("{:?}", i.availability_zone()))
        .collect();
    (group.desired_capacity().unwrap(), zones)
}

/// A service placement failure (the sample of `events/ecs`) -> capacity reconciles at once:
/// the four `web` tasks the full cluster cannot place need four more instances (one task per
/// instance), so the group's desired capacity goes from 2 to 6 in one step and
/// the episode's summary goes on the alerts queue -> slack-fanout posts it to `#oncall`. The
/// minute's scheduled run that follows finds the instances on their way: nothing added twice,
/// nothing posted again.
///
/// Real: moto (the Auto Scaling group, SQS, SSM, DynamoDB), `cargo lambda watch`, the capacity
/// and slack-fanout processes. Recorded answers: ECS (`full_cluster`). Fake: Slack.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_placement_failure_scales_out_and_its_summary_reaches_slack() -> TestResult {
    let mut stack = Stack::start().await?;
    let slack = SlackFake::start();
    let routing = tempfile::NamedTempFile::new()?;
    let FanoutQueues {
        alerts,
        dead_letters,
    } = deploy_oncall_fanout(&mut stack, &slack, &routing).await;
    let instances = crate::capacity::moto_auto_scaling_group(&stack.aws, 2).await;
    let ecs = full_cluster(&instances);
    stack.deploy(
        "capacity",
        &[
            ("AWS_ENDPOINT_URL_ECS", ecs.endpoint()),
            (
                "FLEETWATCH_CAPACITY_CLUSTER",
                crate::capacity::CLUSTER.into(),
            ),
            ("FLEETWATCH_CAPACITY_ASG", crate::capacity::ASG.into()),
            ("FLEETWATCH_CAPACITY_MODE", "enforce".into()),
            (
                "FLEETWATCH_CAPACITY_HOOK_NAME",
                crate::capacity::HOOK.into(),
            ),
            (
                "FLEETWATCH_CAPACITY_INSTANCE_TYPES",
                "m6g.large=2048/7680".into(),
            ),
            ("FLEETWATCH_STATE_TABLE", TABLE.into()),
            ("FLEETWATCH_ALERTS_QUEUE_URL", alerts.clone()),
        ],
    );

    let failure = sample("events/ecs/service-placement-failure.json");
    let answer = stack.invoke("capacity", &failure);
    let (desired, zones) = desired_capacity(&stack.aws).await;
    assert_eq!(desired, 6, "{answer:#}");
    let asked: BTreeSet<String> = ecs.requests().into_iter().map(|r| r.operation).collect();
    assert!(asked.contains("DescribeTasks"), "{asked:?}");

    let queued = peek(&stack.aws, &alerts).await;
    assert_eq!(queued.len(), 1, "one summary: {queued:#?}");
    assert_eq!(queued[0]["source"], "capacity");
    consume(&stack, "slack-fanout", &alerts, "alerts").await;
    let posted = slack.top_level_messages("oncall");
    assert_eq!(posted.len(), 1, "{posted:#?}");
    let summary = posted[0].payload.to_string();
    assert!(summary.contains("4 instance(s)"), "{summary}");
    assert!(summary.contains("web"), "{summary}");

    let scheduled = json!({
        "version": "0", "id": "e2e-minute", "detail-type": "Scheduled Event",
        "source": "aws.events", "account": "123456789012", "time": "2026-11-20T10:04:00Z",
        "region": "us-east-1", "resources": [], "detail": {}
    });
    stack.invoke("capacity", &scheduled);
    let (desired, after) = desired_capacity(&stack.aws).await;
    assert_eq!(
        desired,
        6,
        "in-flight instances count: {zones:?} -> {after:?}\n{}",
        stack.logs()
    );
    assert!(peek(&stack.aws, &alerts).await.is_empty());
    assert_eq!(stack.take(&dead_letters).await, Vec::<String>::new());
    Ok(())
}

/// A scheduled event of the health-check function at minute `at` (epoch seconds).
fn health_schedule(at: u64) -> Value {
    json!({
        "version": "0", "id": format!("health-{at}"), "detail-type": "Scheduled Event",
        "source": "aws.events", "account": "123456789012",
        "time": fleetwatch_scaling::rfc3339(at), "region": "us-east-1",
        "resources": ["arn:aws:events:us-east-1:123456789012:rule/fleetwatch-health-check"],
        "detail": {}
    })
}

/// A service on loopback fails twice, then answers again twice: the health-check process, run
/// by four scheduled events a minute apart (thresholds 2 and 2), opens the incident at the
/// second failure and resolves it at the second success -> slack-fanout posts the incident to
/// `#oncall` and the resolution as a reply in its thread, with the parent updated. The header
/// secret named in SSM reaches the service and nothing else.
///
/// Real: moto (SQS, SSM, DynamoDB), `cargo lambda watch`, the health-check and slack-fanout
/// processes, an HTTP server on loopback. Fake: Slack.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_service_opens_and_resolves_one_incident_thread() -> TestResult {
    const SECRET: &str = "Bearer SECRET-payments-probe-token";
    let mut stack = Stack::start().await?;
    let slack = SlackFake::start();
    let routing = tempfile::NamedTempFile::new()?;
    let FanoutQueues {
        alerts,
        dead_letters,
    } = deploy_oncall_fanout(&mut stack, &slack, &routing).await;
    let service = ServiceFake::start();
    let checks = format!(
        "checks:\n  - name: payments\n    url: {}\n    headers:\n      Authorization: {{ ssm: /fleetwatch/payments/token }}\n    failure_threshold: 2\n    success_threshold: 2\n    conditions:\n      - status: [200]\n",
        service.url("/health")
    );
    stack
        .put_parameter("/fleetwatch/health/checks", &checks, ParameterType::String)
        .await;
    stack
        .put_parameter(
            "/fleetwatch/payments/token",
            SECRET,
            ParameterType::SecureString,
        )
        .await;
    stack.deploy(
        "health-check",
        &[
            (
                "FLEETWATCH_HEALTH_CONFIG_PARAMETER",
                "/fleetwatch/health/checks".into(),
            ),
            ("FLEETWATCH_STATE_TABLE", TABLE.into()),
            ("FLEETWATCH_ALERTS_QUEUE_URL", alerts.clone()),
        ],
    );

    let start = 1_796_000_000 / 60 * 60;
    let answers = [
        Answer::status(503, "down"),
        Answer::status(503, "down"),
        Answer::ok("up"),
        Answer::ok("up"),
    ];
    let mut queued_after = Vec::new();
    for (minute, answer) in (0..).zip(answers) {
        service.set("/health", answer);
        let summary = stack.invoke("health-check", &health_schedule(start + 60 * minute));
        assert_eq!(summary["ran"], 1, "{summary:#}");
        queued_after.push(peek(&stack.aws, &alerts).await.len());
        consume(&stack, "slack-fanout", &alerts, "alerts").await;
    }
    assert_eq!(
        queued_after,
        [0, 1, 0, 1],
        "opened at 2 failures, resolved at 2 successes"
    );

    let parents = slack.top_level_messages("oncall");
    assert_eq!(parents.len(), 1, "one thread per incident: {parents:#?}");
    let opened = parents[0].payload.to_string();
    assert!(opened.contains("payments is down"), "{opened}");
    let replies = slack.thread_replies("oncall", &parents[0].ts);
    assert_eq!(replies.len(), 1, "{replies:#?}");
    let resolved = replies[0].payload.to_string();
    assert!(resolved.to_lowercase().contains("resolved"), "{resolved}");
    assert_eq!(service.received()[0].header("authorization"), Some(SECRET));
    let everything = format!("{:?}{}", slack.requests(), stack.logs());
    assert!(
        !everything.contains("SECRET-payments"),
        "the header secret leaked"
    );
    assert_eq!(stack.take(&dead_letters).await, Vec::<String>::new());
    Ok(())
}
