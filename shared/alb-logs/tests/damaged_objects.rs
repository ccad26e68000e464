//! Damaged log objects through the whole job on the in-memory adapters, by `Pipeline::process`
//! (the CLI's path) and by the Lambda handler (every kind, with its redelivery): every line before the damage reaches every output
//! (search documents, table rows, dead letters of the bad lines), the damage itself is recorded
//! in the errors object of the object's date partition with the key, the offset and the kind, and
//! the object is done, not retried.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::sync::Arc;

use flate2::Compression;
use flate2::read::MultiGzDecoder;
use flate2::write::GzEncoder;
use fleetwatch_alb_logs::{
    DamageKind, Handler, MemoryDocuments, MemoryObjectSource, MemoryStore, ObjectRef, ObjectReport,
    PassConfig, Pipeline, Skipped, TableFormat, Thresholds,
};
use fleetwatch_ports::{ManualClock, MemoryQueue, MetricsSink};
use serde_json::{Value, json};

/// A deadline no test reaches: these tests are not about running out of time.
fn no_deadline() -> tokio::time::Instant {
    tokio::time::Instant::now() + std::time::Duration::from_secs(3600)
}

const STEM: &str = "123456789012_elasticloadbalancing_eu-west-1_app.web.50dc6c495c0c9188_20261125T1005Z_10.0.1.7_d4m4g3d0";
const LAYOUT: &str = "AWSLogs/123456789012/elasticloadbalancing/eu-west-1/2026/11/25/";
const PARTITION: &str = "access/year=2026/month=11/day=25/elb=web/";

/// Lines 40 and 170 do not parse, line 150 is blank; the rest are access lines.
const BAD: [u64; 2] = [40, 170];
const BLANK: u64 = 150;

fn line(n: u64) -> String {
    match n {
        40 => "not a load balancer line".into(),
        150 => String::new(),
        170 => "http 2026-11-25T10:05:00.000000Z app/web/50dc6c495c0c9188 cut short".into(),
        n => format!(
            "http 2026-11-25T10:05:{s:02}.{n:06}Z app/web/50dc6c495c0c9188 203.0.113.{c}:4{n:04} 10.0.1.7:8080 0.001 0.0{m:02} 0.000 200 200 120 {n} \"GET http://shop.example.com:80/p/{n}?q={q} HTTP/1.1\" \"curl/8.5.0\" - - arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web/73e2d6bc24d8a067 \"Root=1-6743a1b0-{n:024x}\" \"-\" \"-\" 0 2026-11-25T10:05:{s:02}.000000Z \"forward\" \"-\" \"-\" \"10.0.1.7:8080\" \"200\" \"-\" \"-\" TID_{n:032x}",
            s = n % 60,
            c = n % 250,
            m = n % 100,
            q = n * 7919 % 100_003,
        ),
    }
}

/// Lines `first..=last`, each with its newline.
fn text(first: u64, last: u64) -> Vec<u8> {
    (first..=last)
        .flat_map(|n| format!("{}\n", line(n)).into_bytes())
        .collect()
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

/// Three gzip members of 100 lines each.
fn members() -> [Vec<u8>; 3] {
    [
        gzip(&text(1, 100)),
        gzip(&text(101, 200)),
        gzip(&text(201, 300)),
    ]
}

/// An object with damage of `kind`, as a log bucket can hold one: the first member cut in the
/// middle of the second, garbage after two members, two bytes flipped in the middle of the third
/// member, and log text under a `.gz` key.
fn damaged(kind: DamageKind) -> Vec<u8> {
    let [first, second, third] = members();
    match kind {
        DamageKind::Truncated => [&first[..], &second[..second.len() / 2]].concat(),
        DamageKind::TrailingGarbage => [
            &first[..],
            &second[..],
            b"\0\0garbage after the last member\n",
        ]
        .concat(),
        DamageKind::Corrupt => {
            let mut bytes = [&first[..], &second[..], &third[..]].concat();
            let middle = first.len() + second.len() + third.len() / 2;
            bytes[middle] ^= 0x55;
            bytes[middle + 1] ^= 0xAA;
            bytes
        }
        DamageKind::NotGzip => text(1, 100),
    }
}

const KINDS: [DamageKind; 4] = [
    DamageKind::Truncated,
    DamageKind::TrailingGarbage,
    DamageKind::Corrupt,
    DamageKind::NotGzip,
];

struct Run {
    report: ObjectReport,
    pipeline: Pipeline<MemoryDocuments, MemoryStore>,
    documents: MemoryDocuments,
    _work: tempfile::TempDir,
}

fn pipeline() -> (
    Pipeline<MemoryDocuments, MemoryStore>,
    MemoryDocuments,
    tempfile::TempDir,
) {
    let work = tempfile::tempdir().unwrap();
    let mut pass = PassConfig::new(work.path());
    pass.table_format = Some(TableFormat::NdjsonGz);
    let documents = MemoryDocuments::default();
    let pipeline = Pipeline {
        pass: Arc::new(pass),
        search: documents.clone(),
        table: Some((MemoryStore::default(), "alb/".into())),
        errors: (MemoryStore::default(), "alb-errors/".into()),
    };
    (pipeline, documents, work)
}

fn object(key: &str, size: usize) -> ObjectRef {
    ObjectRef {
        bucket: "logs".into(),
        key: key.into(),
        size: Some(size as u64),
        etag: None,
        version_id: None,
    }
}

async fn run(key: &str, bytes: Vec<u8>) -> Run {
    let (pipeline, documents, work) = pipeline();
    let source = MemoryObjectSource::default();
    let size = bytes.len();
    source.put("logs", key, "etag-1", bytes);
    let report = pipeline
        .process(&source, &object(key, size))
        .await
        .expect("a damaged object is done, not retried");
    Run {
        report,
        pipeline,
        documents,
        _work: work,
    }
}

fn gunzip_rows(bytes: &[u8]) -> Vec<Value> {
    let mut text = String::new();
    MultiGzDecoder::new(bytes)
        .read_to_string(&mut text)
        .unwrap();
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

impl Run {
    /// Line numbers of the search documents (their ids end in `-<line>`).
    fn document_lines(&self) -> Vec<u64> {
        let mut lines: Vec<u64> = self
            .documents
            .documents()
            .iter()
            .map(|(id, _)| id.rsplit_once('-').unwrap().1.parse().unwrap())
            .collect();
        lines.sort();
        lines
    }

    fn stored(store: &MemoryStore) -> BTreeMap<String, Vec<u8>> {
        store
            .files()
            .into_iter()
            .map(|(key, (_, bytes))| (key, bytes))
            .collect()
    }

    fn table_rows(&self, partition: &str) -> Vec<Value> {
        let tables = Self::stored(&self.pipeline.table.as_ref().unwrap().0);
        let key = format!("alb/{partition}{STEM}.ndjson.gz");
        assert_eq!(tables.keys().collect::<Vec<_>>(), [&key]);
        gunzip_rows(&tables[&key])
    }

    fn errors(&self, partition: &str) -> Vec<Value> {
        let errors = Self::stored(&self.pipeline.errors.0);
        let key = format!("alb-errors/{partition}{STEM}.errors.ndjson.gz");
        assert_eq!(errors.keys().collect::<Vec<_>>(), [&key]);
        assert_eq!(self.report.errors_key.as_deref(), Some(key.as_str()));
        gunzip_rows(&errors[&key])
    }

    /// Every output holds exactly the lines `good` / `bad`, and the damage record comes last.
    fn assert_outputs(&self, key: &str, partition: &str, good: &[u64], bad: &[u64]) {
        let damage = self.report.corrupt.as_ref().expect("damage reported");
        assert_eq!(self.document_lines(), good, "search documents");
        assert_eq!(self.report.stats.parsed, good.len() as u64);
        let rows = self.table_rows(partition);
        assert_eq!(rows.len(), good.len(), "table rows");
        let letters = self.errors(partition);
        let (record, lines) = letters.split_last().unwrap();
        let numbers: Vec<u64> = lines.iter().map(|l| l["line"].as_u64().unwrap()).collect();
        assert_eq!(numbers, bad, "dead letters of the bad lines");
        assert_eq!(self.report.dead_letters, letters.len() as u64);
        assert_eq!(
            record,
            &json!({
                "line": 0,
                "reason": damage.reason(),
                "raw": "",
                "bucket": "logs",
                "key": key,
                "offset": damage.offset,
                "damage": damage.kind.as_str(),
            })
        );
    }
}

/// What an independent decoder (flate2's own multi-member reader) gets out of `bytes` before its
/// error: the good and bad line numbers, the partial line it ends in counted as bad.
fn lines_before_damage(bytes: &[u8]) -> (Vec<u64>, Vec<u64>) {
    let mut out = Vec::new();
    let _ = MultiGzDecoder::new(bytes).read_to_end(&mut out);
    let whole = out.iter().filter(|&&b| b == b'\n').count() as u64;
    let cut = !out.ends_with(b"\n") && !out.is_empty();
    let good = (1..=whole)
        .filter(|n| !BAD.contains(n) && *n != BLANK)
        .collect();
    let mut bad: Vec<u64> = BAD.iter().copied().filter(|&n| n <= whole).collect();
    if cut {
        bad.push(whole + 1);
    }
    (good, bad)
}

#[tokio::test]
async fn a_truncated_member_keeps_every_line_before_the_cut() {
    let [first, _, _] = members();
    let key = format!("{LAYOUT}{STEM}.log.gz");
    let damaged = damaged(DamageKind::Truncated);
    let run = run(&key, damaged.clone()).await;
    let damage = run.report.corrupt.as_ref().unwrap();
    assert_eq!(
        (damage.kind, damage.offset),
        (DamageKind::Truncated, first.len() as u64)
    );
    let (good, bad) = lines_before_damage(&damaged);
    // The first member whole, a good part of the second, and the line the cut went through.
    assert!(good.len() > 99 + 20, "{}", good.len());
    assert_eq!(bad.len(), 2, "{bad:?}");
    run.assert_outputs(&key, PARTITION, &good, &bad);
}

#[tokio::test]
async fn garbage_after_a_good_member_keeps_every_member_before_it() {
    let [first, second, _] = members();
    let key = format!("{LAYOUT}{STEM}.log.gz");
    let run = run(&key, damaged(DamageKind::TrailingGarbage)).await;
    let damage = run.report.corrupt.as_ref().unwrap();
    assert_eq!(
        (damage.kind, damage.offset),
        (
            DamageKind::TrailingGarbage,
            (first.len() + second.len()) as u64
        )
    );
    let good: Vec<u64> = (1..=200)
        .filter(|n| !BAD.contains(n) && *n != BLANK)
        .collect();
    run.assert_outputs(&key, PARTITION, &good, &BAD);
}

#[tokio::test]
async fn a_corrupt_member_keeps_every_member_before_it() {
    let [first, second, _] = members();
    let key = format!("{LAYOUT}{STEM}.log.gz");
    let run = run(&key, damaged(DamageKind::Corrupt)).await;
    let damage = run.report.corrupt.as_ref().unwrap();
    assert_eq!(
        (damage.kind, damage.offset),
        (DamageKind::Corrupt, (first.len() + second.len()) as u64)
    );
    // What the damaged member yields before the decoder notices depends on the damage; the two
    // members before it are whole, and every output agrees on the rest.
    let good = run.document_lines();
    let before: Vec<u64> = (1..=200)
        .filter(|n| !BAD.contains(n) && *n != BLANK)
        .collect();
    assert!(good.starts_with(&before), "{good:?}");
    let letters = run.errors(PARTITION);
    let bad: Vec<u64> = letters[..letters.len() - 1]
        .iter()
        .map(|l| l["line"].as_u64().unwrap())
        .collect();
    assert!(bad.starts_with(&BAD), "{bad:?}");
    run.assert_outputs(&key, PARTITION, &good, &bad);
}

#[tokio::test]
async fn bytes_that_are_not_gzip_under_a_gz_key_are_recorded_not_read() {
    let key = format!("{LAYOUT}{STEM}.log.gz");
    // Text, even log text, is not what the load balancer writes under a `.gz` key.
    let run = run(&key, damaged(DamageKind::NotGzip)).await;
    let damage = run.report.corrupt.as_ref().unwrap();
    assert_eq!((damage.kind, damage.offset), (DamageKind::NotGzip, 0));
    // The date comes from the key: no line was read.
    run.assert_outputs(&key, PARTITION, &[], &[]);
}

#[tokio::test]
async fn an_empty_object_is_skipped_not_damage() {
    // 0-byte objects are written in normal operation (load balancer node replacement): nothing
    // is lost, nothing is stored, the skip is counted by its reason.
    let key = format!("{LAYOUT}{STEM}.log.gz");
    let run = run(&key, Vec::new()).await;
    assert_eq!(run.report.skipped, Some(Skipped::Empty));
    assert!(run.report.corrupt.is_none());
    assert!(run.documents.documents().is_empty());
    assert!(run.pipeline.errors.0.files().is_empty());
    assert!(run.pipeline.table.as_ref().unwrap().0.files().is_empty());
}

#[tokio::test]
async fn the_damage_record_is_filed_under_the_date_of_the_lines_when_the_key_has_none() {
    // A key outside AWS's layout (as the CLI's local files are): the first record's date.
    let key = format!("{STEM}.log.gz");
    let damaged = damaged(DamageKind::Truncated);
    let run = run(&key, damaged.clone()).await;
    let (good, bad) = lines_before_damage(&damaged);
    run.assert_outputs(&key, PARTITION, &good, &bad);
}

/// The Lambda handler on the in-memory adapters, with one object in its source.
struct Lambda {
    handler: Handler<MemoryObjectSource, MemoryDocuments, MemoryStore, MemoryQueue>,
    documents: MemoryDocuments,
    metrics: fleetwatch_ports::MetricLines,
    _work: tempfile::TempDir,
}

impl Lambda {
    fn with(key: &str, bytes: Vec<u8>) -> Lambda {
        let (pipeline, documents, work) = pipeline();
        let source = MemoryObjectSource::default();
        source.put("logs", key, "etag-1", bytes);
        let clock = Arc::new(ManualClock::at_epoch_seconds(1_795_000_000));
        let (sink, metrics) = MetricsSink::memory(clock);
        let handler = Handler {
            pipeline,
            source,
            alerts: Some(MemoryQueue::default()),
            poison: None,
            thresholds: Thresholds::default(),
            metrics: sink,
        };
        Lambda {
            handler,
            documents,
            metrics,
            _work: work,
        }
    }

    /// The SQS batch of one S3 notification of `key`.
    fn event(&self, key: &str) -> Value {
        let notification = json!({"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
            "s3": {"bucket": {"name": "logs"}, "object": {"key": key, "size": 1}}}]});
        json!({"Records": [{"messageId": "m0", "eventSource": "aws:sqs",
            "body": notification.to_string()}]})
    }

    /// Objects counted as skipped for `reason`.
    fn skipped(&self, reason: &str) -> usize {
        self.metrics
            .documents()
            .iter()
            .filter(|m| m["Reason"] == reason)
            .count()
    }
}

/// The Lambda path on every kind of damage: the notification is acknowledged (the same bytes
/// would fail the same way), every output holds what `Pipeline::process` (the CLI's path) stores
/// for the same bytes, the damage is counted, and a redelivery adds nothing.
#[tokio::test]
async fn the_lambda_acknowledges_every_damaged_object_and_a_redelivery_adds_nothing() {
    let key = format!("{LAYOUT}{STEM}.log.gz");
    for kind in KINDS {
        let bytes = damaged(kind);
        let expected = run(&key, bytes.clone()).await;

        let lambda = Lambda::with(&key, bytes);
        let (handler, documents, event) = (&lambda.handler, &lambda.documents, lambda.event(&key));
        let answer = handler.handle(event.clone(), no_deadline()).await.unwrap();
        assert_eq!(answer, json!({"batchItemFailures": []}), "{kind:?}");
        assert_eq!(
            lambda.skipped("corrupt"),
            1,
            "{kind:?}: the damage is counted"
        );

        let answer = handler.handle(event, no_deadline()).await.unwrap();
        assert_eq!(answer, json!({"batchItemFailures": []}), "{kind:?}");
        // Every line before the damage once: the redelivery's documents have the same ids.
        assert_eq!(
            documents.documents(),
            expected.documents.documents(),
            "{kind:?}: search documents"
        );
        for (got, want) in [
            (&handler.pipeline.errors.0, &expected.pipeline.errors.0),
            (
                &handler.pipeline.table.as_ref().unwrap().0,
                &expected.pipeline.table.as_ref().unwrap().0,
            ),
        ] {
            assert_eq!(
                Run::stored(got),
                Run::stored(want),
                "{kind:?}: one output per kind, overwritten by the redelivery"
            );
        }
    }
}

/// An empty object through the Lambda path: acknowledged, nothing stored, counted as skipped.
#[tokio::test]
async fn the_lambda_acknowledges_an_empty_object_and_stores_nothing() {
    let key = format!("{LAYOUT}{STEM}.log.gz");
    let lambda = Lambda::with(&key, Vec::new());
    let answer = lambda
        .handler
        .handle(lambda.event(&key), no_deadline())
        .await
        .unwrap();
    assert_eq!(answer, json!({"batchItemFailures": []}));
    assert_eq!(lambda.skipped("empty"), 1);
    assert!(lambda.documents.documents().is_empty());
    assert!(lambda.handler.pipeline.errors.0.files().is_empty());
}
