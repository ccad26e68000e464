//! The functions under the real Lambda runtime API (`cargo lambda watch --only-lambda-apis`),
//! talking to moto: each function runs in its own process, this test binary started again as
//! `run_a_function` with the environment Lambda sets, calling the function's `run()` (what its
//! `main` calls): configuration from the environment, the AWS clients, the handler and
//! `lambda_runtime`'s client loop. Nothing is compiled for it (cargo-lambda would build every
//! function again with other features than the test build's).

use std::collections::BTreeSet;
use std::path::PathBuf;

use crate::support::{MotoClients, TestResult, receive};
use std::process::{Child, Command, Stdio};

use fleetwatch_test_support::lambda::{LambdaWatch, tie_to_this_process};
use fleetwatch_test_support::moto::MotoServer;
use serde_json::json;

const LOGS: &str = "acme-alb-logs";
const OUT: &str = "acme-alb-tables";

fn sample_access_log() -> (String, Vec<u8>) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../events/alb");
    let name = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .find(|n| n.contains("_app.") && !n.starts_with("conn_log") && n.ends_with(".log.gz"))
        .expect("a sample access log in events/alb");
    let bytes = std::fs::read(dir.join(&name)).unwrap();
    (
        format!("AWSLogs/123456789012/elasticloadbalancing/eu-west-1/2026/11/25/{name}"),
        bytes,
    )
}

/// A function process serving `watch`; killed when dropped. Also used by the end-to-end suite.
pub(crate) struct FunctionProcess {
    child: Child,
    /// Its stdout and stderr: the function's JSON log, and the panic if `run()` returned.
    log: tempfile::NamedTempFile,
}

impl FunctionProcess {
    /// Starts `function` (a name [`run_a_function`] knows) serving `watch`, with `env` on top of
    /// the environment Lambda sets.
    pub(crate) fn start(
        function: &str,
        watch: &LambdaWatch,
        env: &[(String, String)],
    ) -> FunctionProcess {
        let log = tempfile::NamedTempFile::new().expect("a log file for the function");
        let output = log.reopen().expect("the function's log");
        let mut command = Command::new(std::env::current_exe().unwrap());
        command
            .args([
                "lambda_runtime::run_a_function",
                "--exact",
                "--ignored",
                "--nocapture",
            ])
            .env("FLEETWATCH_TEST_FUNCTION", function)
            .envs(watch.function_env(function))
            .envs(env.iter().cloned())
            .stdin(Stdio::null())
            // One open file for both: two would each write from offset 0 over the other.
            .stdout(output.try_clone().expect("the function's log"))
            .stderr(output);
        tie_to_this_process(&mut command);
        let child = command.spawn().expect("starting the function process");
        FunctionProcess { child, log }
    }

    /// What the function logged so far.
    pub(crate) fn output(&self) -> String {
        std::fs::read_to_string(self.log.path()).unwrap_or_default()
    }
}

impl Drop for FunctionProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Not a test of its own: the function process of the tests above and of `e2e` (its `run()`
/// never returns while the runtime API answers). Every function of the workspace is here: the
/// end-to-end suite runs each of them under the runtime API.
#[test]
#[ignore = "run as a child process by the tests of this module"]
fn run_a_function() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let function = std::env::var("FLEETWATCH_TEST_FUNCTION").unwrap();
    let result = runtime.block_on(async {
        match function.as_str() {
            "alb-logs" => alb_logs::run().await,
            "ecs-events" => ecs_events::run().await,
            "slack-fanout" => slack_fanout::run().await,
            "alertmanager-receiver" => alertmanager_receiver::run().await,
            "capacity" => capacity::run().await,
            "health-check" => health_check::run().await,
            other => panic!("no function {other}"),
        }
    });
    panic!("{function} stopped: {result:?}");
}

fn s3_notification(bucket: &str, key: &str) -> serde_json::Value {
    json!({"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
        "eventTime": "2026-11-25T10:06:00.000Z", "eventName": "ObjectCreated:Put",
        "s3": {"s3SchemaVersion": "1.0", "bucket": {"name": bucket}, "object": {"key": key}}
    }]})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alb_logs_runs_under_the_lambda_runtime_api() -> TestResult {
    let moto = MotoServer::start()?;
    let aws = moto.clients().await;
    let s3 = aws.s3();
    for bucket in [LOGS, OUT] {
        s3.create_bucket().bucket(bucket).send().await.unwrap();
    }
    let (key, bytes) = sample_access_log();
    s3.put_object()
        .bucket(LOGS)
        .key(&key)
        .body(bytes.into())
        .send()
        .await
        .unwrap();

    let mut env: Vec<(String, String)> = moto
        .env()
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    env.extend([
        ("FLEETWATCH_OUTPUT_BUCKET".to_string(), OUT.to_string()),
        ("FLEETWATCH_OUTPUT_FORMAT".into(), "ndjson".into()),
        (
            "AWS_REQUEST_CHECKSUM_CALCULATION".into(),
            "when_required".into(),
        ),
    ]);
    let watch = LambdaWatch::start()?;
    let function = FunctionProcess::start("alb-logs", &watch, &env);

    let answer = watch
        .invoke("alb-logs", &s3_notification(LOGS, &key))
        .unwrap_or_else(|e| {
            panic!(
                "invoke failed: {e}\n{}\n{}",
                watch.output(),
                function.output()
            )
        });
    assert_eq!(answer, json!({"objects": 1}));
    let stored: BTreeSet<String> = s3
        .list_objects_v2()
        .bucket(OUT)
        .send()
        .await
        .unwrap()
        .contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_string))
        .collect();
    assert!(
        stored.iter().any(
            |k| k.starts_with("alb/access/year=2026/month=11/day=25/elb=web/")
                && k.ends_with(".ndjson.gz")
        ),
        "{stored:?}"
    );

    // A read that fails (no such bucket) is an error, so Lambda retries the invocation.
    let error = watch
        .invoke("alb-logs", &s3_notification("no-such-bucket", &key))
        .unwrap_err();
    assert!(error.contains("NoSuchBucket"), "{error}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ecs_events_runs_under_the_lambda_runtime_api() -> TestResult {
    let moto = MotoServer::start()?;
    let aws = moto.clients().await;
    moto.create_state_table("fleetwatch-state").await;
    let mut queues = Vec::new();
    for name in ["alerts", "ecs-events-dlq"] {
        queues.push(moto.create_queue(name).await);
    }
    let mut env: Vec<(String, String)> = moto
        .env()
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    env.extend([
        ("FLEETWATCH_ALERTS_QUEUE_URL".to_string(), queues[0].clone()),
        ("FLEETWATCH_EVENTS_DLQ_URL".into(), queues[1].clone()),
        ("FLEETWATCH_STATE_TABLE".into(), "fleetwatch-state".into()),
    ]);
    let watch = LambdaWatch::start()?;
    let function = FunctionProcess::start("ecs-events", &watch, &env);

    // A placement failure of a service moto does not know: the alert goes out, marked as not
    // enriched (DescribeServices finds no such service).
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../events/ecs/service-placement-failure.json");
    let event: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let answer = watch.invoke("ecs-events", &event).unwrap_or_else(|e| {
        panic!(
            "invoke failed: {e}\n{}\n{}",
            watch.output(),
            function.output()
        )
    });
    assert_eq!(
        answer,
        json!({"outcome": "published", "alerts": 1, "enrichment_failed": 1})
    );
    let again = watch.invoke("ecs-events", &event).unwrap();
    assert_eq!(again["outcome"], "duplicate");

    let received = receive(&aws.sqs(), &queues[0]).await;
    assert_eq!(received.len(), 1);
    let alert: serde_json::Value = serde_json::from_str(received[0].body().unwrap()).unwrap();
    assert_eq!(alert["source"], "ecs_events");
    assert!(
        alert["title"]
            .as_str()
            .unwrap()
            .contains("cannot be placed"),
        "{alert}"
    );
    Ok(())
}

/// What a function reads as its deadline under `LambdaWatch`: a date minutes ahead, as Lambda
/// gives it. (`cargo lambda watch` itself sends a duration, which reads as a date in 1970: the
/// test-support proxy in front of its runtime API turns it into a date.) The test plays the
/// function's side of the runtime API itself: it takes the invocation and answers it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invocation_gets_a_deadline_in_the_future() -> TestResult {
    let watch = std::sync::Arc::new(LambdaWatch::start()?);
    let runtime_api = watch
        .function_env("alb-logs")
        .into_iter()
        .find(|(name, _)| name == "AWS_LAMBDA_RUNTIME_API")
        .map(|(_, value)| value)
        .unwrap();
    // A thread of its own, not `spawn_blocking`: if the test fails before answering, the
    // runtime's shutdown must not wait for this invocation.
    let invoking = watch.clone();
    let (answered, invocation) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || answered.send(invoking.invoke("alb-logs", &json!({"probe": 1}))));

    let client = reqwest::Client::new();
    let next = format!("{runtime_api}/2018-06-01/runtime/invocation/next");
    let polling_until = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let event = loop {
        let answer = client.get(&next).send().await?;
        if answer.status() == 200 {
            break answer;
        }
        assert!(std::time::Instant::now() < polling_until, "no invocation");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    let header = |name: &str| event.headers()[name].to_str().unwrap().to_string();
    let deadline_ms: u64 = header("lambda-runtime-deadline-ms").parse()?;
    let request_id = header("lambda-runtime-aws-request-id");
    assert_eq!(
        event.json::<serde_json::Value>().await?,
        json!({"probe": 1})
    );

    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_millis() as u64;
    assert!(
        deadline_ms > now_ms && deadline_ms <= now_ms + 15 * 60 * 1000,
        "deadline {deadline_ms}, now {now_ms}"
    );
    client
        .post(format!(
            "{runtime_api}/2018-06-01/runtime/invocation/{request_id}/response"
        ))
        .json(&json!({"answered": true}))
        .send()
        .await?
        .error_for_status()?;
    assert_eq!(invocation.await?, Ok(json!({"answered": true})));
    Ok(())
}
