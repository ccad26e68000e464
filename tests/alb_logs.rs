//! The alb-logs function end to end, wired exactly as its `main` wires it (`build_handler`),
//! against moto (S3 and SQS, real APIs on loopback) and the `_bulk` fake (OpenSearch cannot run
//! here; the fake answers with Elasticsearch's real per-item results).
//!
//! One multi-member gzip object of 100,000+ lines, some malformed, is put in S3; S3 notifies the
//! queue; the messages received from SQS are handed to the handler as the SQS event Lambda
//! would build from them.

use std::collections::{BTreeSet, HashMap};
use std::io::{Read, Write};
use std::sync::Arc;
use std::time::SystemTime;

use alb_logs::{AlbLogsHandler, build_handler};
use aws_sdk_s3::types::{Event, NotificationConfiguration, QueueConfiguration};
use flate2::Compression;
use flate2::read::MultiGzDecoder;
use flate2::write::GzEncoder;
use fleetwatch_alb_logs::{
    AlbLogsConfig, Handler, ObjectBody, ObjectError, ObjectRef, ObjectSource,
};
use fleetwatch_aws::{AwsClients, S3Objects};
use fleetwatch_ports::{ManualClock, MetricLines, MetricsSink, SharedClock};
use fleetwatch_test_support::NeedsSetup;
use fleetwatch_test_support::bulk::{BulkFake, ItemFault};
use fleetwatch_test_support::moto::MotoServer;
use parquet::file::reader::{FileReader, SerializedFileReader};
use serde_json::{Value, json};

use crate::support::{MotoClients, TestResult, lambda_event};

/// A deadline no test reaches: these tests are not about running out of time.
fn no_deadline() -> tokio::time::Instant {
    tokio::time::Instant::now() + std::time::Duration::from_secs(3600)
}

const LOG_BUCKET: &str = "acme-alb-logs";
const OUT_BUCKET: &str = "acme-alb-tables";
const KEY: &str = "prod/AWSLogs/123456789012/elasticloadbalancing/eu-west-1/2026/11/25/123456789012_elasticloadbalancing_eu-west-1_app.web.50dc6c495c0c9188_20261125T1005Z_10.0.1.7_2et2e1mx.log.gz";
const INDEX: &str = "logs-aws.elb-default";
const LINES: usize = 100_200;

/// Every 1,000th line is malformed (three kinds of damage); every 10th good line is a target 503.
fn line(n: usize) -> String {
    match n % 3000 {
        999 => return "this is not a load balancer log line".into(),
        1999 => {
            return format!(
                "https 2026-11-25T10:05:{:02}.000000Z app/web/50dc6c495c0c9188 truncated",
                n % 60
            );
        }
        2999 => {
            return format!(
                "h2 2026-11-25T10:05:00.1Z app/web/x 1.2.3.4:5 - 0 0 0 200 200 1 2 \"GET /unterminated {n}"
            );
        }
        _ => {}
    }
    let status = if n % 10 == 3 { "503" } else { "200" };
    let client = if n.is_multiple_of(7) {
        format!("2001:db8::{:x}:443", n % 65536)
    } else {
        format!("203.0.113.{}:{}", n % 250, 1024 + n % 50000)
    };
    format!(
        "https 2026-11-25T10:05:{s:02}.{us:06}Z app/web/50dc6c495c0c9188 {client} 10.0.1.{t}:8080 0.001 0.{lat:03} 0.000 {status} {status} 240 {sent} \"GET https://shop.example.com:443/p/{p}?q={n} HTTP/1.1\" \"Mozilla/5.0 (X11; Linux x86_64)\" TLS_AES_128_GCM_SHA256 TLSv1.3 arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/{tg}/73e2d6bc24d8a067 \"Root=1-6743a1b0-{n:024x}\" \"shop.example.com\" \"arn:aws:acm:eu-west-1:123456789012:certificate/1b2c\" 0 2026-11-25T10:05:{s:02}.000000Z \"forward\" \"-\" \"-\" \"10.0.1.{t}:8080\" \"{status}\" \"-\" \"-\" TID_{n:032x} \"-\" \"-\" \"-\"",
        s = n % 60,
        us = n % 1_000_000,
        t = n % 4 + 10,
        lat = n % 900,
        sent = 1000 + n % 5000,
        p = n % 300,
        tg = if n.is_multiple_of(2) { "api" } else { "web" },
    )
}

fn is_bad(n: usize) -> bool {
    matches!(n % 3000, 999 | 1999 | 2999)
}

/// A log object of `lines` lines in 4 gzip members, as a load balancer node's multi-part
/// upload produces.
fn log_object_of(lines: usize) -> Vec<u8> {
    let mut object = Vec::new();
    for chunk in (1..=lines).collect::<Vec<_>>().chunks(lines / 4 + 1) {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
        for &n in chunk {
            writeln!(encoder, "{}", line(n)).unwrap();
        }
        object.extend(encoder.finish().unwrap());
    }
    object
}

struct World {
    _moto: MotoServer,
    aws: AwsClients,
    bulk: BulkFake,
    notifications_url: String,
    alerts_url: String,
    config: AlbLogsConfig,
    metrics: MetricLines,
}

async fn queue(aws: &AwsClients, name: &str) -> String {
    aws.sqs()
        .create_queue()
        .queue_name(name)
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap()
}

impl World {
    async fn new() -> Result<World, NeedsSetup> {
        let moto = MotoServer::start()?;
        let aws = moto.clients().await;
        let s3 = aws.s3();
        for bucket in [LOG_BUCKET, OUT_BUCKET] {
            s3.create_bucket().bucket(bucket).send().await.unwrap();
        }
        let notifications_url = queue(&aws, "alb-logs").await;
        let alerts_url = queue(&aws, "alerts").await;
        let poison_url = queue(&aws, "alb-logs-dlq").await;
        let queue_arn = aws
            .sqs()
            .get_queue_attributes()
            .queue_url(&notifications_url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
            .send()
            .await
            .unwrap()
            .attributes
            .unwrap()[&aws_sdk_sqs::types::QueueAttributeName::QueueArn]
            .clone();
        s3.put_bucket_notification_configuration()
            .bucket(LOG_BUCKET)
            .notification_configuration(
                NotificationConfiguration::builder()
                    .queue_configurations(
                        QueueConfiguration::builder()
                            .queue_arn(queue_arn)
                            .events(Event::S3ObjectCreated)
                            .build()
                            .unwrap(),
                    )
                    .build(),
            )
            .send()
            .await
            .unwrap();
        let bulk = BulkFake::start();
        let work_dir = std::env::temp_dir();
        let env: HashMap<&str, String> = HashMap::from([
            ("FLEETWATCH_SEARCH_ENDPOINT", bulk.base_url()),
            ("FLEETWATCH_SEARCH_INDEX", INDEX.into()),
            ("FLEETWATCH_SEARCH_AUTH", "none".into()),
            ("FLEETWATCH_OUTPUT_BUCKET", OUT_BUCKET.into()),
            ("FLEETWATCH_OUTPUT_PREFIX", "alb/".into()),
            ("FLEETWATCH_ALERTS_QUEUE_URL", alerts_url.clone()),
            ("FLEETWATCH_POISON_QUEUE_URL", poison_url),
            ("FLEETWATCH_WORK_DIR", work_dir.display().to_string()),
        ]);
        let config = AlbLogsConfig::from_lookup(|name| env.get(name).cloned()).unwrap();
        Ok(World {
            _moto: moto,
            aws,
            bulk,
            notifications_url,
            alerts_url,
            config,
            metrics: MetricLines::default(),
        })
    }

    /// The function as `main` builds it, on a manual clock: the bulk indexer's backoff between
    /// retries passes without waiting.
    async fn handler(&self) -> AlbLogsHandler {
        let clock: SharedClock = Arc::new(ManualClock::new(SystemTime::now()));
        let metrics = MetricsSink::to(clock.clone(), &self.metrics);
        build_handler(&self.config, &self.aws, metrics, clock)
            .await
            .unwrap()
    }

    async fn put_log_object(&self) {
        self.put_object_of(LINES).await;
    }

    async fn put_object_of(&self, lines: usize) {
        self.aws
            .s3()
            .put_object()
            .bucket(LOG_BUCKET)
            .key(KEY)
            .body(log_object_of(lines).into())
            .send()
            .await
            .unwrap();
    }

    /// The SQS event Lambda would build from what the queue holds now (receipt handles and all).
    async fn receive_sqs_event(&self) -> Value {
        let messages = self
            .aws
            .sqs()
            .receive_message()
            .queue_url(&self.notifications_url)
            .max_number_of_messages(10)
            .send()
            .await
            .unwrap()
            .messages
            .unwrap_or_default();
        lambda_event(&messages, "arn:aws:sqs:us-east-1:123456789012:alb-logs")
    }

    async fn output_keys(&self) -> BTreeSet<String> {
        self.aws
            .s3()
            .list_objects_v2()
            .bucket(OUT_BUCKET)
            .send()
            .await
            .unwrap()
            .contents()
            .iter()
            .filter_map(|o| o.key().map(str::to_string))
            .collect()
    }

    async fn download(&self, key: &str) -> Vec<u8> {
        self.aws
            .s3()
            .get_object()
            .bucket(OUT_BUCKET)
            .key(key)
            .send()
            .await
            .unwrap()
            .body
            .collect()
            .await
            .unwrap()
            .into_bytes()
            .to_vec()
    }

    async fn alerts(&self) -> Vec<Value> {
        let mut alerts = Vec::new();
        loop {
            let batch = self
                .aws
                .sqs()
                .receive_message()
                .queue_url(&self.alerts_url)
                .max_number_of_messages(10)
                .send()
                .await
                .unwrap()
                .messages
                .unwrap_or_default();
            if batch.is_empty() {
                return alerts;
            }
            alerts.extend(
                batch
                    .iter()
                    .map(|m| serde_json::from_str(m.body().unwrap()).unwrap()),
            );
        }
    }
}

fn good_lines() -> usize {
    (1..=LINES).filter(|&n| !is_bad(n)).count()
}

fn bad_line_numbers() -> BTreeSet<u64> {
    (1..=LINES)
        .filter(|&n| is_bad(n))
        .map(|n| n as u64)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_object_notified_through_sqs_lands_once_everywhere() -> TestResult {
    let world = World::new().await?;
    world.put_log_object().await;
    let event = world.receive_sqs_event().await;
    // S3 also sends an s3:TestEvent when notifications are configured: it is acknowledged too.
    let bodies: Vec<&str> = event["Records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["body"].as_str().unwrap())
        .collect();
    assert_eq!(bodies.len(), 2, "{bodies:?}");
    assert!(bodies.iter().any(|b| b.contains("s3:TestEvent")));
    let handler = world.handler().await;

    let response = handler.handle(event.clone(), no_deadline()).await.unwrap();
    assert_eq!(response, json!({"batchItemFailures": []}));

    // One document per good line, each written once.
    assert_eq!(world.bulk.document_count(INDEX), good_lines());
    assert!(world.bulk.written_more_than_once().is_empty());

    // The errors object holds exactly the bad lines, with their numbers and bytes.
    let keys = world.output_keys().await;
    let prefix = "alb/access/year=2026/month=11/day=25/elb=web/";
    let stem = "123456789012_elasticloadbalancing_eu-west-1_app.web.50dc6c495c0c9188_20261125T1005Z_10.0.1.7_2et2e1mx";
    let table_key = format!("{prefix}{stem}.parquet");
    let errors_key =
        format!("alb-errors/access/year=2026/month=11/day=25/elb=web/{stem}.errors.ndjson.gz");
    assert_eq!(
        keys,
        BTreeSet::from([table_key.clone(), errors_key.clone()])
    );
    let mut text = String::new();
    MultiGzDecoder::new(&world.download(&errors_key).await[..])
        .read_to_string(&mut text)
        .unwrap();
    let dead: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let numbers: BTreeSet<u64> = dead.iter().map(|d| d["line"].as_u64().unwrap()).collect();
    assert_eq!(numbers, bad_line_numbers());
    assert_eq!(dead.len(), bad_line_numbers().len());
    assert_eq!(dead[0]["raw"], line(999));

    // The Parquet output reads back to one row per good line.
    let parquet = bytes::Bytes::from(world.download(&table_key).await);
    let reader = SerializedFileReader::new(parquet).unwrap();
    assert_eq!(
        reader.metadata().file_metadata().num_rows() as usize,
        good_lines()
    );

    // 10% of requests are 503: the 5xx-ratio alert is on the alerts queue, as Alert JSON.
    let alerts = world.alerts().await;
    let fingerprints: BTreeSet<&str> = alerts
        .iter()
        .map(|a| a["fingerprint"].as_str().unwrap())
        .collect();
    assert!(
        fingerprints.contains("alb-logs:web:5xx-ratio"),
        "{fingerprints:?}"
    );
    assert!(alerts.iter().all(|a| a["source"] == "alb_logs"));

    // Metrics: one EMF line carries the object's counts.
    let main: Value = world
        .metrics
        .documents()
        .into_iter()
        .find(|m| m.get("LinesParsed").is_some())
        .unwrap();
    assert_eq!(main["LinesParsed"], good_lines() as f64);
    assert_eq!(main["LinesFailed"], bad_line_numbers().len() as f64);

    // Redelivery of the same notification: no new document, the same output keys.
    let response = handler.handle(event, no_deadline()).await.unwrap();
    assert_eq!(response, json!({"batchItemFailures": []}));
    assert_eq!(world.bulk.document_count(INDEX), good_lines());
    assert!(world.bulk.written_more_than_once().is_empty());
    assert_eq!(world.output_keys().await, keys);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn documents_rejected_with_429_are_retried_until_everything_lands_once() -> TestResult {
    let world = World::new().await?;
    world.bulk.fail_every_item(7, ItemFault::Rejected);
    world.put_log_object().await;
    let event = world.receive_sqs_event().await;
    let response = world
        .handler()
        .await
        .handle(event, no_deadline())
        .await
        .unwrap();
    assert_eq!(response, json!({"batchItemFailures": []}));
    assert_eq!(world.bulk.document_count(INDEX), good_lines());
    assert!(world.bulk.written_more_than_once().is_empty());
    let stats = world.bulk.stats();
    assert!(
        stats.items_by_status.get(&429).copied().unwrap_or(0) > 10_000,
        "{stats:?}"
    );
    Ok(())
}

/// An S3 body that breaks after some bytes, like a connection reset mid-download.
struct BreaksMidway(S3Objects);

impl ObjectSource for BreaksMidway {
    async fn open(&self, object: &ObjectRef) -> Result<ObjectBody, ObjectError> {
        let mut body = self.0.open(object).await?;
        let mut start = vec![0u8; 200_000];
        tokio::io::AsyncReadExt::read_exact(&mut body.reader, &mut start)
            .await
            .unwrap();
        let failing =
            tokio::io::AsyncReadExt::chain(std::io::Cursor::new(start), tokio_test_reader_error());
        body.reader = Box::pin(tokio::io::BufReader::new(failing));
        Ok(body)
    }
}

/// A reader whose first read fails.
fn tokio_test_reader_error() -> impl tokio::io::AsyncRead + Send + Unpin + 'static {
    struct Fails;
    impl tokio::io::AsyncRead for Fails {
        fn poll_read(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
            _: &mut tokio::io::ReadBuf<'_>,
        ) -> std::task::Poll<std::io::Result<()>> {
            std::task::Poll::Ready(Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "connection reset by peer",
            )))
        }
    }
    Fails
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_read_is_retried_and_stores_nothing() -> TestResult {
    let world = World::new().await?;
    world.put_log_object().await;
    let event = world.receive_sqs_event().await;
    let message_id = event["Records"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["body"].as_str().unwrap().contains("ObjectCreated"))
        .unwrap()["messageId"]
        .clone();
    let handler = world.handler().await;
    let failing = Handler {
        source: BreaksMidway(S3Objects::new(world.aws.s3())),
        pipeline: handler.pipeline,
        alerts: handler.alerts,
        poison: handler.poison,
        thresholds: handler.thresholds,
        metrics: handler.metrics,
    };
    let response = failing.handle(event, no_deadline()).await.unwrap();
    assert_eq!(
        response,
        json!({"batchItemFailures": [{"itemIdentifier": message_id}]})
    );
    assert!(
        world.output_keys().await.is_empty(),
        "nothing partial is stored"
    );
    assert!(
        world.alerts().await.is_empty(),
        "no alert from half an object"
    );
    Ok(())
}

/// Documents the cluster refuses for good (a mapping error) are not retried and not lost: they
/// are in the object's errors object, with the cluster's reason, beside the unparseable lines.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn documents_the_cluster_refuses_land_in_the_errors_object() -> TestResult {
    let world = World::new().await?;
    world.bulk.reject_documents_where(|_, doc| {
        doc["url"]["path"]
            .as_str()
            .is_some_and(|path| path == "/p/7")
    });
    world.put_object_of(3_000).await;
    let event = world.receive_sqs_event().await;
    let response = world
        .handler()
        .await
        .handle(event, no_deadline())
        .await
        .unwrap();
    assert_eq!(response, json!({"batchItemFailures": []}));

    let refused_lines: BTreeSet<u64> = (1..=3_000usize)
        .filter(|&n| !is_bad(n) && n % 300 == 7)
        .map(|n| n as u64)
        .collect();
    assert!(!refused_lines.is_empty());
    let errors_key = world
        .output_keys()
        .await
        .into_iter()
        .find(|k| k.starts_with("alb-errors/access/year=2026/month=11/day=25/elb=web/"))
        .expect("an errors object");
    let mut text = String::new();
    MultiGzDecoder::new(&world.download(&errors_key).await[..]).read_to_string(&mut text)?;
    let letters: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let refused: BTreeSet<u64> = letters
        .iter()
        .filter(|l| {
            l["reason"].as_str().is_some_and(|r| {
                r.starts_with("refused by the search cluster (HTTP 400): mapper_parsing_exception")
            })
        })
        .map(|l| l["line"].as_u64().unwrap())
        .collect();
    assert_eq!(refused, refused_lines);
    assert_eq!(
        world.bulk.document_count(INDEX),
        (1..=3_000).filter(|&n| !is_bad(n)).count() - refused_lines.len()
    );
    Ok(())
}
