//! One log object through the whole job: skip rules, streaming read, the pass on a blocking
//! thread, search documents to the sink, outputs stored under keys derived from the input key.

use std::sync::Arc;

use fleetwatch_alb::LogKind;
use fleetwatch_ports::FaultKind;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::io::SyncIoBridge;

use crate::envelope::ObjectRef;
use crate::ids::{document_id, object_fingerprint};
use crate::inflate::Damage;
use crate::keys::Partition;
use crate::outputs::DeadLetterWriter;
use crate::pass::{DocBatch, LocalFile, PassConfig, PassError, PassOutcome, run_pass};
use crate::sinks::{DocumentSession, DocumentSink, SearchReport, SinkError};
use crate::source::{ObjectBody, ObjectError, ObjectSource};
use crate::stats::Stats;
use crate::store::{OutputStore, StoreError};

/// Everything the job needs besides the object source. Built once per cold start.
#[derive(Clone, Debug)]
pub struct Pipeline<D, O> {
    pub pass: Arc<PassConfig>,
    pub search: D,
    /// Table output (Parquet / NDJSON): store and key prefix.
    pub table: Option<(O, String)>,
    /// Dead letters (unparseable lines, refused documents): store and key prefix.
    pub errors: (O, String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Skipped {
    /// `AWSLogs/<account>/ELBAccessLogTestFile`, written when logging is enabled.
    TestFile,
    /// 0-byte objects happen when a load balancer node is replaced.
    Empty,
    /// Deleted between the notification and the read.
    NotFound,
}

impl Skipped {
    pub fn as_str(&self) -> &'static str {
        match self {
            Skipped::TestFile => "test_file",
            Skipped::Empty => "empty",
            Skipped::NotFound => "not_found",
        }
    }
}

/// What one object produced.
#[derive(Debug)]
pub struct ObjectReport {
    pub object: ObjectRef,
    pub skipped: Option<Skipped>,
    pub fingerprint: String,
    pub load_balancer: String,
    pub stats: Stats,
    pub search: SearchReport,
    pub table_key: Option<String>,
    pub errors_key: Option<String>,
    /// Records in the errors object: unparseable lines (the line a damage cut short included),
    /// documents the search cluster refused, and the damage record of a damaged object.
    pub dead_letters: u64,
    /// Set when the object is damaged (truncated, corrupt, bytes after its last member, not gzip
    /// under a `.gz` key): what ([`Damage::kind`]) and where ([`Damage::offset`], the first byte
    /// of the damaged gzip member). Every line before the damage reached every output as the
    /// lines of a whole object do; the damage is one more record of the errors object (`line` 0,
    /// `reason`, `bucket`, `key`, `offset`, `damage`), in the object's date partition. The object
    /// is done (`Ok`), not retried: the same bytes fail the same way. An empty (0-byte) object is
    /// not damage but [`Skipped::Empty`]: load balancers write those in normal operation.
    pub corrupt: Option<Damage>,
}

impl ObjectReport {
    fn new(object: &ObjectRef) -> Self {
        ObjectReport {
            object: object.clone(),
            skipped: None,
            fingerprint: String::new(),
            load_balancer: fleetwatch_alb::parse_key(&object.key)
                .load_balancer
                .unwrap_or("unknown")
                .to_string(),
            stats: Stats::new(),
            search: SearchReport::default(),
            table_key: None,
            errors_key: None,
            dead_letters: 0,
            corrupt: None,
        }
    }

    fn skipped(mut self, why: Skipped) -> Self {
        self.skipped = Some(why);
        self
    }
}

/// Why an object must be retried later. Nothing was stored; documents already indexed are
/// recognised by their deterministic ids on the retry.
#[derive(Debug, thiserror::Error)]
pub enum ObjectFailure {
    #[error(transparent)]
    Read(#[from] ObjectError),
    #[error(transparent)]
    Sink(#[from] SinkError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("parsing the object")]
    Pass(#[from] PassError),
    #[error("the parsing thread failed")]
    Thread(#[from] tokio::task::JoinError),
    #[error("writing the dead letters")]
    DeadLetters(#[source] std::io::Error),
    #[error("publishing {count} threshold alert(s)")]
    Alerts {
        count: usize,
        #[source]
        source: fleetwatch_ports::QueueError,
    },
    /// The invocation's deadline came first: handed back for the next invocation.
    #[error("{}", if *started { "the invocation's deadline came before the object was done" } else { "no time was left in the invocation to start the object" })]
    OutOfTime { started: bool },
}

impl<D: DocumentSink, O: OutputStore + Sync> Pipeline<D, O> {
    /// Processes one object. `Ok` means done (possibly skipped, or with dead letters); `Err`
    /// means retry it later.
    pub async fn process<S: ObjectSource>(
        &self,
        source: &S,
        object: &ObjectRef,
    ) -> Result<ObjectReport, ObjectFailure> {
        let mut report = ObjectReport::new(object);
        let kind = LogKind::from_key(&object.key);
        if kind == LogKind::TestFile {
            return Ok(report.skipped(Skipped::TestFile));
        }
        if object.size == Some(0) {
            return Ok(report.skipped(Skipped::Empty));
        }
        let body = match source.open(object).await {
            Ok(body) => body,
            Err(ObjectError::NotFound { .. }) => return Ok(report.skipped(Skipped::NotFound)),
            Err(error) => return Err(error.into()),
        };
        if body.content_length == Some(0) {
            return Ok(report.skipped(Skipped::Empty));
        }
        report.fingerprint =
            object_fingerprint(&object.bucket, &object.key, &version(&body, object));
        let (pass, session) = self.stream(body, &object.key, &report.fingerprint).await?;
        let outcome = pass?;
        report.search = session.finish().await?;
        self.store_outputs(report, outcome).await
    }

    /// Runs the pass on a blocking thread and feeds its documents to the sink. A channel of two
    /// batches is the only buffer between parsing and indexing.
    async fn stream(
        &self,
        body: ObjectBody,
        key: &str,
        fingerprint: &str,
    ) -> Result<(Result<PassOutcome, PassError>, D::Session), ObjectFailure> {
        let (tx, mut rx) = mpsc::channel::<DocBatch>(2);
        let pass = self.spawn_pass(body, key.to_string(), tx);
        let mut session = self.search.open()?;
        let indexed = index_batches(&mut session, &mut rx, fingerprint).await;
        // Dropping the receiver stops the pass at its next batch.
        drop(rx);
        let pass = pass.await?;
        indexed?;
        Ok((pass, session))
    }

    fn spawn_pass(
        &self,
        body: ObjectBody,
        key: String,
        tx: mpsc::Sender<DocBatch>,
    ) -> JoinHandle<Result<PassOutcome, PassError>> {
        let reader = SyncIoBridge::new(body.reader);
        let config = Arc::clone(&self.pass);
        tokio::task::spawn_blocking(move || {
            run_pass(reader, &key, &config, |batch| {
                tx.blocking_send(batch).is_ok()
            })
        })
    }

    /// Stores the table output and the dead letters under keys derived from the input key.
    async fn store_outputs(
        &self,
        mut report: ObjectReport,
        outcome: PassOutcome,
    ) -> Result<ObjectReport, ObjectFailure> {
        report.stats = outcome.stats;
        report.corrupt = outcome.damage;
        let partition = Partition::of(&report.object.key, outcome.first_date);
        let mut dead_letters = outcome.dead_letters;
        if let Some(damage) = &report.corrupt {
            dead_letters = Some(self.append_damage(dead_letters, &report.object, damage)?);
        }
        if !report.search.refused.is_empty() {
            dead_letters = Some(self.append_refused(dead_letters, &report.search)?);
        }
        if let (Some((store, prefix)), Some(table)) = (&self.table, &outcome.table) {
            let format = self
                .pass
                .table_format
                .expect("a table file implies a format");
            let key = partition.key(prefix, format.extension());
            store
                .put_file(&key, &table.path, format.content_type())
                .await?;
            report.table_key = Some(key);
        }
        if let Some(file) = &dead_letters {
            report.errors_key = Some(self.store_errors(&partition, file).await?);
            report.dead_letters = file.count;
        }
        Ok(report)
    }

    async fn store_errors(
        &self,
        partition: &Partition,
        file: &LocalFile,
    ) -> Result<String, ObjectFailure> {
        let (store, prefix) = &self.errors;
        let key = partition.key(prefix, "errors.ndjson.gz");
        store
            .put_file(&key, &file.path, "application/x-ndjson")
            .await?;
        Ok(key)
    }

    /// Documents the cluster refused for good go to the same errors object, as a second gzip
    /// member (every gzip reader, Athena included, reads all members).
    fn append_refused(
        &self,
        existing: Option<LocalFile>,
        search: &SearchReport,
    ) -> Result<LocalFile, ObjectFailure> {
        let file = match existing {
            Some(file) => file,
            None => self.empty_errors_file()?,
        };
        let mut writer = DeadLetterWriter::append(&file.path);
        for refused in &search.refused {
            let line = refused
                .id
                .rsplit_once('-')
                .and_then(|(_, line)| line.parse().ok())
                .unwrap_or(0);
            let reason = format!(
                "refused by the search cluster (HTTP {}): {}",
                refused.status, refused.reason
            );
            writer
                .write(line, &reason, &refused.document)
                .map_err(ObjectFailure::DeadLetters)?;
        }
        let added = writer.finish().map_err(ObjectFailure::DeadLetters)?;
        Ok(LocalFile {
            path: file.path,
            count: file.count + added,
        })
    }

    /// The damage of a damaged object, as one more record after its unparseable lines.
    fn append_damage(
        &self,
        existing: Option<LocalFile>,
        object: &ObjectRef,
        damage: &Damage,
    ) -> Result<LocalFile, ObjectFailure> {
        let file = match existing {
            Some(file) => file,
            None => self.empty_errors_file()?,
        };
        let mut writer = DeadLetterWriter::append(&file.path);
        writer
            .write_damage(&object.bucket, &object.key, damage)
            .map_err(ObjectFailure::DeadLetters)?;
        let added = writer.finish().map_err(ObjectFailure::DeadLetters)?;
        Ok(LocalFile {
            path: file.path,
            count: file.count + added,
        })
    }

    /// A path for an errors file in the work directory; the file itself does not exist yet.
    fn empty_errors_file(&self) -> Result<LocalFile, ObjectFailure> {
        let path = tempfile::Builder::new()
            .prefix("fleetwatch-")
            .suffix(".errors.ndjson.gz")
            .tempfile_in(&self.pass.work_dir)
            .map_err(ObjectFailure::DeadLetters)?
            .into_temp_path();
        std::fs::remove_file(&path).map_err(ObjectFailure::DeadLetters)?;
        Ok(LocalFile { path, count: 0 })
    }
}

/// The version the document ids are derived from: the bytes actually read first.
fn version(body: &ObjectBody, object: &ObjectRef) -> String {
    body.etag
        .clone()
        .or_else(|| body.version_id.clone())
        .or_else(|| object.etag.clone())
        .or_else(|| object.version_id.clone())
        .unwrap_or_default()
}

impl ObjectFailure {
    /// Whether the retry that follows can succeed by itself (for logs and metrics: the object is
    /// retried either way, and a permanent failure ends in the queue's dead-letter queue).
    pub fn kind(&self) -> FaultKind {
        match self {
            ObjectFailure::Read(ObjectError::Read { fault, .. })
            | ObjectFailure::Sink(SinkError::Index(fault))
            | ObjectFailure::Store(StoreError { fault, .. }) => fault.kind(),
            ObjectFailure::Alerts { source, .. } => source.kind(),
            ObjectFailure::Read(ObjectError::NotFound { .. }) => FaultKind::Permanent,
            ObjectFailure::Sink(SinkError::Local { .. })
            | ObjectFailure::Pass(_)
            | ObjectFailure::Thread(_)
            | ObjectFailure::DeadLetters(_)
            | ObjectFailure::OutOfTime { .. } => FaultKind::Transient,
        }
    }
}

/// Hands every document of every batch to the sink, until the batches end or the sink fails.
async fn index_batches<T: DocumentSession>(
    session: &mut T,
    batches: &mut mpsc::Receiver<DocBatch>,
    fingerprint: &str,
) -> Result<(), SinkError> {
    while let Some(batch) = batches.recv().await {
        for (line, document) in batch.documents() {
            session
                .add(&document_id(fingerprint, line), document)
                .await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outputs::TableFormat;
    use crate::sinks::NdjsonFile;
    use crate::source::LocalObjectSource;
    use crate::store::LocalStore;

    fn pipeline(dir: &std::path::Path) -> Pipeline<NdjsonFile, LocalStore> {
        let mut pass = PassConfig::new(dir);
        pass.table_format = Some(TableFormat::NdjsonGz);
        Pipeline {
            pass: Arc::new(pass),
            search: NdjsonFile(dir.join("docs.ndjson")),
            table: Some((LocalStore::new(dir.join("out")), "alb/".into())),
            errors: (LocalStore::new(dir.join("out")), "alb-errors/".into()),
        }
    }

    fn object(key: &str, size: Option<u64>) -> ObjectRef {
        ObjectRef {
            bucket: "logs".into(),
            key: key.into(),
            size,
            etag: None,
            version_id: None,
        }
    }

    #[tokio::test]
    async fn test_files_empty_and_deleted_objects_are_skipped_and_store_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let logs = dir.path().join("logs");
        std::fs::create_dir_all(logs.join("AWSLogs/123456789012")).unwrap();
        std::fs::write(
            logs.join("AWSLogs/123456789012/ELBAccessLogTestFile"),
            "Enable AccessLog for ELB: web at 2026-11-25T10:00:00.000Z\n",
        )
        .unwrap();
        std::fs::write(logs.join("empty.log.gz"), b"").unwrap();
        let source = LocalObjectSource::new(&logs);
        let pipeline = pipeline(dir.path());

        let cases = [
            (
                object("AWSLogs/123456789012/ELBAccessLogTestFile", Some(58)),
                Skipped::TestFile,
            ),
            // Size from the notification: not even opened.
            (object("zero.log.gz", Some(0)), Skipped::Empty),
            // Size unknown (Batch Operations): found empty when opened.
            (object("empty.log.gz", None), Skipped::Empty),
            (object("deleted.log.gz", None), Skipped::NotFound),
        ];
        for (object, expected) in cases {
            let report = pipeline.process(&source, &object).await.unwrap();
            assert_eq!(report.skipped, Some(expected), "{}", object.key);
            assert_eq!(report.stats.lines, 0);
        }
        assert!(
            !dir.path().join("out").exists(),
            "a skipped object stored output"
        );
        assert!(
            !dir.path().join("docs.ndjson").exists(),
            "a skipped object wrote documents"
        );
    }
}
