//! Rows f..f5: the real per-object pass of the `fleetwatch-alb-logs` crate (`Pipeline::process`,
//! as the Lambda and the CLI run it), with in-memory adapters in place of S3 and the search
//! cluster, and the peak-RSS probe of the same pass.
//!
//! What is real: `Pipeline::process` itself (the pass on a blocking thread, batches of documents
//! through its channel, ids from `document_id`, statistics, the Parquet table written to the work
//! directory, dead letters, the outputs' keys and their "upload"). What stands in for the outside:
//!
//! - [`MemoryObjectSource`]: the gzip object held in memory (the crate's own adapter).
//! - [`BulkBody`]: a document sink that builds exactly the body `fleetwatch-search`'s
//!   `BulkIndexer::add` builds (the `json!` action line with `_index` and `_id`, the document,
//!   the same 5 MiB / 5,000-document flush rule) and, where the indexer would send it, counts it
//!   and does to its buffers what the indexer does after a request that succeeded
//!   (`BulkIndexer::settle`: the body is replaced by a new empty `Vec`, the pending list emptied).
//!   No HTTP: no request body copy (`self.body.clone()` in `send_once`), no TLS, no response
//!   parsing.
//!   Row f5 measures a proposed change to the indexer (see [`BulkBody::direct`]).
//! - [`SizeOnlyStore`]: an output store that reads only the size of the file it is given (no
//!   copy), where S3 would upload it.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use fleetwatch_alb_logs::{
    DocumentSession, DocumentSink, MemoryObjectSource, ObjectBody, ObjectContext, ObjectError,
    ObjectRef, ObjectReport, ObjectSource, OutputStore, PassConfig, Pipeline, READ_BUFFER,
    SearchReport, SinkError, StoreError, TableFormat, Thresholds, evaluate_thresholds,
};
use fleetwatch_ports::Fault;
use serde_json::json;

pub const BUCKET: &str = "logs";
/// A real access-log key: the pass takes the log kind (access, gzip) from it, as in production.
pub const KEY: &str = "AWSLogs/123456789012/elasticloadbalancing/eu-west-1/2026/11/25/123456789012_elasticloadbalancing_eu-west-1_app.web.50dc6c495c0c9188_20261125T1005Z_10.0.1.7_2et2e1mx.log.gz";

/// `BulkConfig::new`'s defaults (shared/search/src/bulk.rs) and the function's default index and
/// operation (`FLEETWATCH_SEARCH_INDEX`, `FLEETWATCH_SEARCH_OP`).
const INDEX: &str = "logs-aws.elb-default";
const OP: &str = "create";
const MAX_BATCH_BYTES: usize = 5 * 1024 * 1024;
const MAX_BATCH_DOCS: usize = 5_000;

/// What the bulk sink "sent", over every session.
#[derive(Debug, Default)]
pub struct BulkTotals {
    pub requests: AtomicU64,
    pub body_bytes: AtomicU64,
    pub documents: AtomicU64,
    /// The largest body's capacity when it was flushed.
    pub max_capacity: AtomicU64,
}

/// A `_bulk` body builder with `BulkIndexer`'s formatting and flush rule, and no network.
#[derive(Clone, Debug)]
pub struct BulkBody {
    pub totals: Arc<BulkTotals>,
    config: Arc<BulkBodyConfig>,
}

#[derive(Debug)]
struct BulkBodyConfig {
    index: String,
    max_batch_bytes: usize,
    max_batch_docs: usize,
    /// Row f5 (a proposed change to `BulkIndexer`, not what it does today): the action line
    /// written directly, and the body's buffer kept between requests.
    direct: Option<DirectAction>,
}

/// The fixed parts of the action line around the id, escaped once.
#[derive(Debug)]
struct DirectAction {
    /// `{"create":{"_id":`
    head: Vec<u8>,
    /// `,"_index":"logs-aws.elb-default"}}`
    tail: Vec<u8>,
}

impl BulkBody {
    pub fn new() -> Self {
        Self::with(None)
    }

    /// Row f5: what `BulkIndexer` would do with the action line written without `json!` (the
    /// same bytes: serde_json's map is a `BTreeMap`, so `_id` comes before `_index`) and its
    /// body kept between requests (cleared, not replaced by a new `Vec`).
    pub fn direct() -> Self {
        let mut head = b"{".to_vec();
        serde_json::to_writer(&mut head, OP).unwrap();
        head.extend_from_slice(b":{\"_id\":");
        let mut tail = br#","_index":"#.to_vec();
        serde_json::to_writer(&mut tail, INDEX).unwrap();
        tail.extend_from_slice(b"}}");
        Self::with(Some(DirectAction { head, tail }))
    }

    fn with(direct: Option<DirectAction>) -> Self {
        Self {
            totals: Arc::default(),
            config: Arc::new(BulkBodyConfig {
                index: INDEX.to_string(),
                max_batch_bytes: MAX_BATCH_BYTES,
                max_batch_docs: MAX_BATCH_DOCS,
                direct,
            }),
        }
    }
}

/// The direct action line is byte for byte `BulkIndexer`'s (checked before row f5 runs).
pub fn check_direct_action_line() {
    let ids = [
        "0123456789abcdef0123456789abcdef-1",
        "f00-123456",
        "odd \"id\" \\ é",
    ];
    let mut bodies = [Vec::new(), Vec::new()];
    for (sink, body) in [BulkBody::new(), BulkBody::direct()]
        .iter()
        .zip(&mut bodies)
    {
        let mut session = sink.open().unwrap();
        for id in ids {
            session.action_line(id);
        }
        *body = session.body;
    }
    assert_eq!(
        String::from_utf8_lossy(&bodies[0]),
        String::from_utf8_lossy(&bodies[1])
    );
    assert!(bodies[0].starts_with(br#"{"create":{"_id":"0123456789abcdef0123456789abcdef-1","_index":"logs-aws.elb-default"}}"#));
}

/// Where one pending document sits in the body (as in `BulkIndexer`).
#[allow(dead_code)]
struct Pending {
    id: String,
    start: usize,
    end: usize,
}

pub struct BulkBodySession {
    config: Arc<BulkBodyConfig>,
    totals: Arc<BulkTotals>,
    body: Vec<u8>,
    pending: Vec<Pending>,
    indexed: u64,
}

impl DocumentSink for BulkBody {
    type Session = BulkBodySession;

    fn open(&self) -> Result<BulkBodySession, SinkError> {
        Ok(BulkBodySession {
            // `BulkIndexer::with_client`.
            body: Vec::with_capacity(self.config.max_batch_bytes + 64 * 1024),
            pending: Vec::new(),
            config: Arc::clone(&self.config),
            totals: Arc::clone(&self.totals),
            indexed: 0,
        })
    }
}

impl BulkBodySession {
    /// `BulkIndexer::send_batch` after a response in which every item succeeded.
    fn send_batch(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        // The request: counted, not sent.
        std::hint::black_box(&self.body);
        let t = &self.totals;
        t.requests.fetch_add(1, Ordering::Relaxed);
        t.body_bytes
            .fetch_add(self.body.len() as u64, Ordering::Relaxed);
        t.max_capacity
            .fetch_max(self.body.capacity() as u64, Ordering::Relaxed);
        // `BulkIndexer::settle` with every item a success.
        let retry: Vec<Pending> = Vec::new();
        let retry_body: Vec<u8> = Vec::new();
        for pending in std::mem::take(&mut self.pending) {
            std::hint::black_box(&pending);
            self.indexed += 1;
        }
        self.pending = retry;
        if self.config.direct.is_none() {
            self.body = retry_body;
        }
        // The end of `send_batch`.
        self.body.clear();
        self.pending.clear();
    }
}

impl BulkBodySession {
    /// The action line, as `BulkIndexer::add` writes it (`json!`), or directly (row f5).
    fn action_line(&mut self, id: &str) {
        match &self.config.direct {
            None => {
                let action = json!({ OP: { "_index": self.config.index, "_id": id } });
                serde_json::to_writer(&mut self.body, &action).expect("writing JSON to a Vec");
            }
            Some(direct) => {
                self.body.extend_from_slice(&direct.head);
                serde_json::to_writer(&mut self.body, id).expect("writing JSON to a Vec");
                self.body.extend_from_slice(&direct.tail);
            }
        }
        self.body.push(b'\n');
    }
}

impl DocumentSession for BulkBodySession {
    /// `BulkIndexer::add`, line for line, without the `await` on the request.
    async fn add(&mut self, id: &str, document: &[u8]) -> Result<(), SinkError> {
        let start = self.body.len();
        self.action_line(id);
        self.body.extend_from_slice(document);
        self.body.push(b'\n');
        self.pending.push(Pending {
            id: id.to_string(),
            start,
            end: self.body.len(),
        });
        if self.pending.len() >= self.config.max_batch_docs
            || self.body.len() >= self.config.max_batch_bytes
        {
            self.send_batch();
        }
        Ok(())
    }

    async fn finish(mut self) -> Result<SearchReport, SinkError> {
        self.send_batch();
        self.totals
            .documents
            .fetch_add(self.indexed, Ordering::Relaxed);
        Ok(SearchReport {
            indexed: self.indexed,
            ..SearchReport::default()
        })
    }
}

/// Takes the documents and their ids and drops them: the pass's own share (row f2).
#[derive(Clone, Debug, Default)]
pub struct DropDocuments;

pub struct DropSession(u64);

impl DocumentSink for DropDocuments {
    type Session = DropSession;

    fn open(&self) -> Result<DropSession, SinkError> {
        Ok(DropSession(0))
    }
}

impl DocumentSession for DropSession {
    async fn add(&mut self, id: &str, document: &[u8]) -> Result<(), SinkError> {
        std::hint::black_box((id, document));
        self.0 += 1;
        Ok(())
    }

    async fn finish(self) -> Result<SearchReport, SinkError> {
        Ok(SearchReport {
            indexed: self.0,
            ..SearchReport::default()
        })
    }
}

/// "Stores" a file by reading its size: where S3 would upload it, no copy in memory.
#[derive(Clone, Debug, Default)]
pub struct SizeOnlyStore(pub Arc<StoreTotals>);

#[derive(Debug, Default)]
pub struct StoreTotals {
    pub files: AtomicU64,
    pub bytes: AtomicU64,
    /// The last stored file's size, by key prefix: (table, errors).
    pub last: Mutex<Vec<(String, u64)>>,
}

impl OutputStore for SizeOnlyStore {
    async fn put_file(
        &self,
        key: &str,
        file: &Path,
        _content_type: &str,
    ) -> Result<(), StoreError> {
        let size = std::fs::metadata(file)
            .map_err(|e| StoreError::new(key, Fault::permanent(e)))?
            .len();
        self.0.files.fetch_add(1, Ordering::Relaxed);
        self.0.bytes.fetch_add(size, Ordering::Relaxed);
        let mut last = self.0.last.lock().unwrap();
        last.retain(|(k, _)| k.split('/').next() != key.split('/').next());
        last.push((key.to_string(), size));
        Ok(())
    }

    fn describe(&self, key: &str) -> String {
        format!("size-only:{key}")
    }
}

/// Which outputs a row turns on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outputs {
    /// Statistics and dead letters only (no search documents, no table).
    StatsOnly,
    /// + ECS documents and their ids, dropped by the sink.
    Documents,
    /// + the `_bulk` body (action lines, documents, 5 MiB flushes); no table.
    Bulk,
    /// + the Parquet table: every output.
    Every,
}

/// The work directory of the pass (table and dead-letter files), removed when dropped.
pub struct WorkDir(pub PathBuf);

impl WorkDir {
    pub fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("fleetwatch-bench-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create the work directory");
        WorkDir(dir)
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// One object through `Pipeline::process` with the outputs of `outputs`, then the threshold
/// evaluation the handler does with its statistics. Returns the report and a note for the table.
pub struct PassRow {
    pub runtime: tokio::runtime::Runtime,
    pub work: WorkDir,
}

impl PassRow {
    pub fn new() -> Self {
        // As `#[tokio::main]` in functions/alb-logs: the multi-thread runtime. Built after the
        // process pinned itself, so its one worker and the pass's blocking thread share the core.
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .expect("tokio runtime");
        PassRow {
            runtime,
            work: WorkDir::new(),
        }
    }

    fn config(&self, outputs: Outputs) -> PassConfig {
        let mut pass = PassConfig::new(&self.work.0);
        if outputs == Outputs::StatsOnly {
            pass.search_format = None;
        }
        if outputs != Outputs::Every {
            pass.table_format = None;
        } else {
            pass.table_format = Some(TableFormat::Parquet);
        }
        pass
    }

    /// Runs the pass once over `object` in `source`.
    pub fn run(
        &self,
        source: &impl ObjectSource,
        object: &ObjectRef,
        outputs: Outputs,
        bulk: &BulkBody,
        store: &SizeOnlyStore,
    ) -> ObjectReport {
        let pass = Arc::new(self.config(outputs));
        let table = (outputs == Outputs::Every).then(|| (store.clone(), "alb/".to_string()));
        let errors = (store.clone(), "alb-errors/".to_string());
        let report = match outputs {
            Outputs::StatsOnly => self.process(
                Pipeline {
                    pass,
                    search: None::<DropDocuments>,
                    table,
                    errors,
                },
                source,
                object,
            ),
            Outputs::Documents => self.process(
                Pipeline {
                    pass,
                    search: DropDocuments,
                    table,
                    errors,
                },
                source,
                object,
            ),
            Outputs::Bulk | Outputs::Every => self.process(
                Pipeline {
                    pass,
                    search: bulk.clone(),
                    table,
                    errors,
                },
                source,
                object,
            ),
        };
        // What the handler does next with the statistics (alerts are built, not published).
        let context = ObjectContext {
            bucket: &report.object.bucket,
            key: &report.object.key,
            load_balancer: &report.load_balancer,
            fingerprint: &report.fingerprint,
        };
        let alerts: Vec<String> =
            evaluate_thresholds(&report.stats, &Thresholds::default(), &context)
                .iter()
                .map(|alert| serde_json::to_string(alert).expect("serialisable"))
                .collect();
        std::hint::black_box(alerts);
        report
    }

    fn process<D: DocumentSink>(
        &self,
        pipeline: Pipeline<D, SizeOnlyStore>,
        source: &impl ObjectSource,
        object: &ObjectRef,
    ) -> ObjectReport {
        self.runtime
            .block_on(pipeline.process(source, object))
            .expect("the pass succeeds")
    }
}

pub fn object_ref(size: Option<u64>) -> ObjectRef {
    ObjectRef {
        bucket: BUCKET.into(),
        key: KEY.into(),
        size,
        etag: None,
        version_id: None,
    }
}

/// The gzip object in memory, in the crate's own in-memory source.
pub fn memory_source(gz: &[u8]) -> MemoryObjectSource {
    let source = MemoryObjectSource::default();
    source.put(
        BUCKET,
        KEY,
        "3b5a1d3f9c0e4b8a9d7e6f5a4b3c2d1e-4",
        gz.to_vec(),
    );
    source
}

/// A one-line summary of a report and of what the sinks received (fresh sinks per run).
pub fn note(
    report: &ObjectReport,
    bulk: &BulkBody,
    store: &SizeOnlyStore,
    outputs: Outputs,
) -> String {
    let s = &report.stats;
    let mut note = format!(
        "{} lines, {} parsed, {} dead letters",
        s.lines, s.parsed, report.dead_letters
    );
    match outputs {
        Outputs::Bulk | Outputs::Every => {
            let t = &bulk.totals;
            note += &format!(
                "; _bulk {} docs, {:.0} MB in {} bodies",
                t.documents.load(Ordering::Relaxed),
                t.body_bytes.load(Ordering::Relaxed) as f64 / 1e6,
                t.requests.load(Ordering::Relaxed),
            );
        }
        Outputs::Documents => note += &format!("; {} docs dropped", report.search.indexed),
        Outputs::StatsOnly => {}
    }
    let last = store.0.last.lock().unwrap();
    for (key, size) in last.iter() {
        if report.table_key.as_deref() == Some(key.as_str()) {
            note += &format!("; Parquet {:.1} MB", *size as f64 / 1e6);
        } else if report.errors_key.as_deref() == Some(key.as_str()) {
            note += &format!("; errors {:.2} MB", *size as f64 / 1e6);
        }
    }
    note
}

/// A body reader over a pipe that blocks in `poll_read`: the pass reads it from its own blocking
/// thread (through `SyncIoBridge`), never from the runtime's worker, so blocking there is what a
/// slow S3 body does to that thread.
struct BlockingPipe(std::io::PipeReader);

impl tokio::io::AsyncRead for BlockingPipe {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let n = self.0.read(buf.initialize_unfilled())?;
        buf.advance(n);
        Poll::Ready(Ok(()))
    }
}

/// The probe's object: one pipe, read once, through the S3 adapter's buffer size.
pub struct PipeSource(pub Mutex<Option<std::io::PipeReader>>);

impl ObjectSource for PipeSource {
    async fn open(&self, object: &ObjectRef) -> Result<ObjectBody, ObjectError> {
        let pipe = self
            .0
            .lock()
            .unwrap()
            .take()
            .ok_or_else(|| ObjectError::not_found(object))?;
        Ok(ObjectBody {
            reader: Box::pin(tokio::io::BufReader::with_capacity(
                READ_BUFFER,
                BlockingPipe(pipe),
            )),
            etag: Some("probe".into()),
            version_id: None,
            content_length: None,
        })
    }
}
