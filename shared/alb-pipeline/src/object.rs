//! One S3 log object through the whole job: skip rules, streaming read, the pass on a blocking
//! thread, search documents to the sink, outputs stored under keys derived from the input key.

use std::sync::Arc;

use fleetwatch_alb::LogKind;
use fleetwatch_aws::envelope::ObjectRef;
use fleetwatch_aws::s3::{ObjectError, ObjectSource};
use tokio::sync::mpsc;
use tokio_util::io::SyncIoBridge;

use crate::ids::{document_id, object_fingerprint};
use crate::keys::Partition;
use crate::outputs::DeadLetterWriter;
use crate::pass::{DocBatch, PassConfig, PassError, PassOutcome, run_pass};
use crate::sinks::{SearchReport, SearchTarget};
use crate::stats::Stats;
use crate::store::Store;

/// Everything the job needs besides the object source. Built once per cold start.
#[derive(Clone, Debug)]
pub struct Pipeline {
    pub pass: Arc<PassConfig>,
    pub search: SearchTarget,
    /// Table output (Parquet / NDJSON): store and key prefix.
    pub table: Option<(Store, String)>,
    /// Dead letters (unparseable lines, refused documents): store and key prefix.
    pub errors: (Store, String),
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
    /// Unparseable lines and refused documents, all in the errors object.
    pub dead_letters: u64,
    /// Set when the object's content is corrupt: the lines before the damage were processed.
    pub corrupt: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ObjectFailure {
    /// Retrying the object can succeed (S3 or the search cluster failed); nothing was stored.
    #[error("{0}")]
    Retryable(String),
}

impl Pipeline {
    /// Processes one object. `Ok` means done (possibly skipped, or with dead letters); `Err`
    /// means retry it later: no output was stored, and documents already indexed will be
    /// recognised by their ids.
    pub async fn process<S: ObjectSource>(
        &self,
        source: &S,
        object: &ObjectRef,
    ) -> Result<ObjectReport, ObjectFailure> {
        let partition_kind = LogKind::from_key(&object.key);
        let mut report = ObjectReport {
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
        };
        if partition_kind == LogKind::TestFile {
            report.skipped = Some(Skipped::TestFile);
            return Ok(report);
        }
        if object.size == Some(0) {
            report.skipped = Some(Skipped::Empty);
            return Ok(report);
        }
        let body = match source.open(object).await {
            Ok(body) => body,
            Err(ObjectError::NotFound { .. }) => {
                report.skipped = Some(Skipped::NotFound);
                return Ok(report);
            }
            Err(error) => return Err(ObjectFailure::Retryable(error.to_string())),
        };
        if body.content_length == Some(0) {
            report.skipped = Some(Skipped::Empty);
            return Ok(report);
        }
        let version = body
            .etag
            .clone()
            .or_else(|| body.version_id.clone())
            .or_else(|| object.etag.clone())
            .or_else(|| object.version_id.clone())
            .unwrap_or_default();
        report.fingerprint = object_fingerprint(&object.bucket, &object.key, &version);

        // The pass runs on a blocking thread and hands over batches of documents; a channel of
        // two batches is the only buffer between parsing and indexing.
        let (tx, mut rx) = mpsc::channel::<DocBatch>(2);
        let reader = SyncIoBridge::new(body.reader);
        let config = Arc::clone(&self.pass);
        let pass = tokio::task::spawn_blocking(move || {
            run_pass(reader, partition_kind, &config, |batch| {
                tx.blocking_send(batch).is_ok()
            })
        });

        let mut session = self
            .search
            .open()
            .map_err(|e| ObjectFailure::Retryable(e.to_string()))?;
        let mut sink_error = None;
        while let Some(batch) = rx.recv().await {
            for (line, document) in batch.documents() {
                if let Err(error) = session
                    .add(&document_id(&report.fingerprint, line), document)
                    .await
                {
                    sink_error = Some(error);
                    break;
                }
            }
            if sink_error.is_some() {
                break;
            }
        }
        // Dropping the receiver stops the pass at its next batch.
        drop(rx);
        let outcome = pass
            .await
            .map_err(|e| ObjectFailure::Retryable(format!("the parsing thread failed: {e}")))?;
        if let Some(error) = sink_error {
            return Err(ObjectFailure::Retryable(error.to_string()));
        }
        let outcome: PassOutcome = match outcome {
            Ok(outcome) => outcome,
            Err(PassError::Corrupt {
                read,
                source,
                partial,
            }) => {
                report.stats = *partial;
                report.corrupt = Some(format!("corrupt content after {read} bytes: {source}"));
                return self.finish_corrupt(report, session).await;
            }
            Err(error) => return Err(ObjectFailure::Retryable(error.to_string())),
        };
        report.search = session
            .finish()
            .await
            .map_err(|e| ObjectFailure::Retryable(e.to_string()))?;
        report.stats = outcome.stats;

        let partition = Partition::of(&object.key, outcome.first_date);
        let mut dead_letters = outcome.dead_letters;
        if !report.search.dead_letters.is_empty() {
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
                .await
                .map_err(|e| ObjectFailure::Retryable(e.to_string()))?;
            report.table_key = Some(key);
        }
        if let Some(file) = &dead_letters {
            let (store, prefix) = &self.errors;
            let key = partition.key(prefix, "errors.ndjson.gz");
            store
                .put_file(&key, &file.path, "application/x-ndjson")
                .await
                .map_err(|e| ObjectFailure::Retryable(e.to_string()))?;
            report.errors_key = Some(key);
            report.dead_letters = file.count;
        }
        Ok(report)
    }

    /// Documents the cluster refused for good go to the same errors object, as a second gzip
    /// member (every gzip reader, Athena included, reads all members).
    fn append_refused(
        &self,
        existing: Option<crate::pass::LocalFile>,
        search: &SearchReport,
    ) -> Result<crate::pass::LocalFile, ObjectFailure> {
        let failure = |e: std::io::Error| ObjectFailure::Retryable(format!("dead letters: {e}"));
        let file = match existing {
            Some(file) => file,
            None => {
                let path = tempfile::Builder::new()
                    .prefix("fleetwatch-")
                    .suffix(".errors.ndjson.gz")
                    .tempfile_in(&self.pass.work_dir)
                    .map_err(failure)?
                    .into_temp_path();
                std::fs::remove_file(&path).map_err(failure)?;
                crate::pass::LocalFile { path, count: 0 }
            }
        };
        let mut writer = DeadLetterWriter::append(&file.path);
        for refused in &search.dead_letters {
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
                .map_err(failure)?;
        }
        let added = writer.finish().map_err(failure)?;
        Ok(crate::pass::LocalFile {
            path: file.path,
            count: file.count + added,
        })
    }

    /// A corrupt object is not retried (the same bytes fail the same way): its documents so far
    /// stay indexed and the damage is recorded in its errors object.
    async fn finish_corrupt(
        &self,
        mut report: ObjectReport,
        session: crate::sinks::SearchSession,
    ) -> Result<ObjectReport, ObjectFailure> {
        report.search = session
            .finish()
            .await
            .map_err(|e| ObjectFailure::Retryable(e.to_string()))?;
        let reason = report.corrupt.clone().unwrap_or_default();
        let path = tempfile::Builder::new()
            .prefix("fleetwatch-")
            .suffix(".errors.ndjson.gz")
            .tempfile_in(&self.pass.work_dir)
            .map_err(|e| ObjectFailure::Retryable(e.to_string()))?
            .into_temp_path();
        let mut writer = DeadLetterWriter::append(&path);
        writer
            .write(0, &reason, b"")
            .and_then(|()| writer.finish().map(|_| ()))
            .map_err(|e| ObjectFailure::Retryable(e.to_string()))?;
        let partition = Partition::of(&report.object.key, None);
        let (store, prefix) = &self.errors;
        let key = partition.key(prefix, "errors.ndjson.gz");
        store
            .put_file(&key, &path, "application/x-ndjson")
            .await
            .map_err(|e| ObjectFailure::Retryable(e.to_string()))?;
        report.errors_key = Some(key);
        report.dead_letters = 1;
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outputs::TableFormat;
    use fleetwatch_aws::s3::LocalObjectSource;

    fn pipeline(dir: &std::path::Path) -> Pipeline {
        let mut pass = PassConfig::new(dir);
        pass.table_format = Some(TableFormat::NdjsonGz);
        Pipeline {
            pass: Arc::new(pass),
            search: SearchTarget::LocalFile(dir.join("docs.ndjson")),
            table: Some((Store::Local(dir.join("out")), "alb/".into())),
            errors: (Store::Local(dir.join("out")), "alb-errors/".into()),
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
