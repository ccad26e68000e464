//! One pass over one log object: bytes -> lines -> records -> (search documents, table rows,
//! dead letters, statistics). Sync and CPU-bound: the async caller runs it on a blocking thread
//! and receives search documents in bounded batches, so memory does not grow with the object.

use std::io::{self, Read};
use std::path::{Path, PathBuf};

use fleetwatch_alb::encode::Format;
use fleetwatch_alb::{LogKind, ParseError, parse_line};

use crate::lines::{LogReader, for_each_line};
use crate::outputs::{DeadLetterWriter, NdjsonGzTable, TableFormat, TableWriter};
use crate::stats::Stats;

#[derive(Clone, Debug)]
pub struct PassConfig {
    /// Encoding of search documents; `None` when no search sink is configured.
    pub search_format: Option<Format>,
    /// The table output; `None` when no table sink is configured.
    pub table_format: Option<TableFormat>,
    /// Documents per batch handed to the search sink.
    pub batch_docs: usize,
    pub batch_bytes: usize,
    /// Where the table and dead-letter files are written before they are stored.
    pub work_dir: PathBuf,
}

impl PassConfig {
    pub fn new(work_dir: impl Into<PathBuf>) -> Self {
        Self {
            search_format: Some(Format::Ecs),
            table_format: Some(TableFormat::Parquet),
            batch_docs: 2_000,
            batch_bytes: 2 * 1024 * 1024,
            work_dir: work_dir.into(),
        }
    }
}

/// Encoded search documents of consecutive lines: `text[span.start..span.end]` is one document.
#[derive(Debug, Default)]
pub struct DocBatch {
    pub text: Vec<u8>,
    pub docs: Vec<DocSpan>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DocSpan {
    /// The line number (1-based), the stable part of the document id.
    pub line: u64,
    pub start: usize,
    pub end: usize,
}

impl DocBatch {
    pub fn documents(&self) -> impl Iterator<Item = (u64, &[u8])> {
        self.docs
            .iter()
            .map(|span| (span.line, &self.text[span.start..span.end]))
    }
}

/// A local file produced by the pass, deleted when dropped unless kept.
#[derive(Debug)]
pub struct LocalFile {
    pub path: tempfile::TempPath,
    /// Rows (table) or dead letters (errors) in the file.
    pub count: u64,
}

#[derive(Debug)]
pub struct PassOutcome {
    pub stats: Stats,
    pub table: Option<LocalFile>,
    pub dead_letters: Option<LocalFile>,
    /// The date of the first record, for partitioning keys that do not carry one.
    pub first_date: Option<(u16, u8, u8)>,
}

#[derive(Debug, thiserror::Error)]
pub enum PassError {
    /// Reading the object failed (network, S3): the whole object can be retried.
    #[error("reading the object failed after {read} bytes")]
    Read { read: u64, source: io::Error },
    /// The content is not readable as gzip/text (corrupt or truncated gzip): retrying the same
    /// bytes cannot help. The lines before the damage were processed.
    #[error("the object is corrupt after {read} bytes")]
    Corrupt {
        read: u64,
        source: io::Error,
        /// Statistics of the lines before the damage (their documents were handed over).
        partial: Box<Stats>,
    },
    /// The local table or dead-letter file could not be written.
    #[error("writing local output")]
    Output(#[source] io::Error),
    /// The consumer of search documents stopped (its sink failed).
    #[error("the search sink stopped consuming documents")]
    Cancelled,
}

/// Counts the bytes the source delivered, to tell a failing source from corrupt content.
struct Counting<R> {
    inner: R,
    read: u64,
    failed: bool,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.inner.read(buf) {
            Ok(n) => {
                self.read += n as u64;
                Ok(n)
            }
            Err(e) => {
                self.failed = true;
                Err(e)
            }
        }
    }
}

/// Runs the pass. `kind` is the object's kind by name ([`LogKind::Unknown`]: per line by
/// content). `emit` receives each full batch of search documents and returns `false` to stop.
pub fn run_pass<R: Read>(
    reader: R,
    kind: LogKind,
    config: &PassConfig,
    mut emit: impl FnMut(DocBatch) -> bool,
) -> Result<PassOutcome, PassError> {
    let mut source = Counting {
        inner: reader,
        read: 0,
        failed: false,
    };
    let mut outputs = Outputs::create(&config.work_dir, config.table_format)?;
    let mut batch = DocBatch::default();
    let mut stats = Stats::new();
    let mut first_date = None;
    let mut output_error: Option<io::Error> = None;
    let mut cancelled = false;

    let log = LogReader::open(&mut source);
    let result = log.and_then(|log| {
        for_each_line(log, |line| {
            if output_error.is_some() || cancelled {
                return;
            }
            let step = handle_line(
                kind,
                line.number,
                line.bytes,
                line.truncated,
                config,
                &mut stats,
                &mut first_date,
                &mut batch,
                &mut outputs,
            );
            if let Err(e) = step {
                output_error = Some(e);
                return;
            }
            if batch.docs.len() >= config.batch_docs || batch.text.len() >= config.batch_bytes {
                cancelled = !emit(std::mem::take(&mut batch));
            }
        })
    });
    if let Some(error) = output_error {
        return Err(PassError::Output(error));
    }
    if cancelled {
        return Err(PassError::Cancelled);
    }
    match result {
        Ok(_totals) => {}
        Err(error) if source.failed => {
            return Err(PassError::Read {
                read: source.read,
                source: error,
            });
        }
        Err(error) => {
            // Corrupt content: what was read before the damage still counts; hand over its
            // last documents and report its statistics.
            if !batch.docs.is_empty() && !emit(batch) {
                return Err(PassError::Cancelled);
            }
            return Err(PassError::Corrupt {
                read: source.read,
                source: error,
                partial: Box::new(stats),
            });
        }
    }
    if !batch.docs.is_empty() && !emit(batch) {
        return Err(PassError::Cancelled);
    }
    let (table, dead_letters) = outputs.finish().map_err(PassError::Output)?;
    Ok(PassOutcome {
        stats,
        table,
        dead_letters,
        first_date,
    })
}

#[allow(clippy::too_many_arguments)]
fn handle_line(
    kind: LogKind,
    number: u64,
    bytes: &[u8],
    truncated: bool,
    config: &PassConfig,
    stats: &mut Stats,
    first_date: &mut Option<(u16, u8, u8)>,
    batch: &mut DocBatch,
    outputs: &mut Outputs,
) -> io::Result<()> {
    if truncated {
        stats.oversized_line();
        return outputs
            .dead_letters
            .write(number, "line too long (cut)", bytes);
    }
    match parse_line(kind, bytes) {
        Ok(record) => {
            stats.record(&record);
            if first_date.is_none() {
                *first_date = record.time().map(|t| t.date());
            }
            if let Some(format) = config.search_format {
                let start = batch.text.len();
                format.encode(&record, &mut batch.text);
                batch.docs.push(DocSpan {
                    line: number,
                    start,
                    end: batch.text.len(),
                });
            }
            if let Some(table) = &mut outputs.table {
                table.write(&record)?;
            }
            Ok(())
        }
        Err(ParseError::EmptyLine) => {
            stats.blank_line();
            Ok(())
        }
        Err(error) => {
            stats.failed_line(&error);
            outputs.dead_letters.parse_error(number, &error, bytes)
        }
    }
}

struct Outputs {
    table: Option<Box<dyn TableWriter>>,
    table_path: Option<tempfile::TempPath>,
    dead_letters: DeadLetterWriter,
    dead_letter_path: tempfile::TempPath,
}

impl Outputs {
    fn create(dir: &Path, table_format: Option<TableFormat>) -> Result<Self, PassError> {
        let temp = |suffix: &str| {
            tempfile::Builder::new()
                .prefix("fleetwatch-")
                .suffix(suffix)
                .tempfile_in(dir)
                .map(|f| f.into_temp_path())
                .map_err(PassError::Output)
        };
        let (table, table_path) = match table_format {
            Some(format) => {
                let path = temp(format.extension())?;
                let writer: Box<dyn TableWriter> = match format {
                    TableFormat::NdjsonGz => {
                        Box::new(NdjsonGzTable::create(&path).map_err(PassError::Output)?)
                    }
                    TableFormat::Parquet => Box::new(
                        crate::parquet::ParquetTable::create(&path).map_err(PassError::Output)?,
                    ),
                };
                (Some(writer), Some(path))
            }
            None => (None, None),
        };
        let dead_letter_path = temp(".errors.ndjson.gz")?;
        // Created lazily by the writer: remove the empty placeholder now.
        std::fs::remove_file(&dead_letter_path).map_err(PassError::Output)?;
        Ok(Self {
            table,
            table_path,
            dead_letters: DeadLetterWriter::new(&dead_letter_path),
            dead_letter_path,
        })
    }

    fn finish(self) -> io::Result<(Option<LocalFile>, Option<LocalFile>)> {
        let table = match (self.table, self.table_path) {
            (Some(writer), Some(path)) => Some(LocalFile {
                count: writer.finish()?,
                path,
            }),
            _ => None,
        };
        let dead = self.dead_letters.finish()?;
        let dead_letters = (dead > 0).then_some(LocalFile {
            path: self.dead_letter_path,
            count: dead,
        });
        Ok((table, dead_letters))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::Compression;
    use flate2::write::GzEncoder;
    use std::io::Write;

    pub(crate) fn access_line(i: usize) -> String {
        format!(
            "https 2026-11-25T10:00:{s:02}.000000Z app/web/50dc6c495c0c9188 203.0.113.{c}:5000 10.0.0.5:80 0.001 0.0{i:02} 0.000 200 200 100 200 \"GET https://shop.example.com:443/p/{i} HTTP/1.1\" \"curl/8\" ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/api/73e2d6bc24d8a067 \"Root=1-58337262-36d228ad5d99923122bbe354\" \"shop.example.com\" \"-\" 0 2026-11-25T09:59:59.900000Z \"forward\" \"-\" \"-\" \"10.0.0.5:80\" \"200\" \"-\" \"-\" TID_1",
            s = i % 60,
            c = i % 250,
            i = i % 100
        )
    }

    fn gzip_members(members: &[String]) -> Vec<u8> {
        let mut out = Vec::new();
        for member in members {
            let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
            encoder.write_all(member.as_bytes()).unwrap();
            out.extend(encoder.finish().unwrap());
        }
        out
    }

    fn config(dir: &Path, table: Option<TableFormat>) -> PassConfig {
        PassConfig {
            search_format: Some(Format::Ecs),
            table_format: table,
            batch_docs: 7,
            batch_bytes: 1 << 20,
            work_dir: dir.to_path_buf(),
        }
    }

    /// 3 gzip members, 30 good lines, 2 bad ones and a blank one.
    fn object() -> Vec<u8> {
        let mut members = Vec::new();
        for m in 0..3 {
            let mut text = String::new();
            for i in 0..10 {
                text.push_str(&access_line(m * 10 + i));
                text.push('\n');
            }
            if m == 1 {
                text.push_str("this is not a log line\n\nhttps 2026-11-25T10:00:00Z truncated\n");
            }
            members.push(text);
        }
        gzip_members(&members)
    }

    #[test]
    fn every_line_is_a_document_or_a_dead_letter() {
        let dir = tempfile::tempdir().unwrap();
        let mut batches = Vec::new();
        let outcome = run_pass(
            &object()[..],
            LogKind::Access,
            &config(dir.path(), Some(TableFormat::NdjsonGz)),
            |batch| {
                batches.push(batch);
                true
            },
        )
        .unwrap();
        let docs: Vec<(u64, serde_json::Value)> = batches
            .iter()
            .flat_map(|b| b.documents())
            .map(|(line, doc)| (line, serde_json::from_slice(doc).unwrap()))
            .collect();
        assert_eq!(docs.len(), 30);
        assert!(batches.iter().all(|b| b.docs.len() <= 7));
        // Lines 21..23 are the bad, blank and truncated lines of the second member.
        let lines: Vec<u64> = docs.iter().map(|(l, _)| *l).collect();
        assert!(!lines.contains(&21) && !lines.contains(&22) && !lines.contains(&23));
        assert_eq!(lines.last(), Some(&33));
        assert_eq!(docs[0].1["http"]["response"]["status_code"], 200);

        let stats = &outcome.stats;
        assert_eq!(
            (stats.lines, stats.parsed, stats.failed, stats.blank),
            (33, 30, 2, 1)
        );
        assert_eq!(outcome.first_date, Some((2026, 11, 25)));
        assert_eq!(outcome.table.as_ref().unwrap().count, 30);
        let dead = outcome.dead_letters.as_ref().unwrap();
        assert_eq!(dead.count, 2);
    }

    #[test]
    fn a_stopped_consumer_cancels_the_pass() {
        let dir = tempfile::tempdir().unwrap();
        let result = run_pass(
            &object()[..],
            LogKind::Access,
            &config(dir.path(), None),
            |_| false,
        );
        assert!(matches!(result, Err(PassError::Cancelled)));
    }

    #[test]
    fn corrupt_gzip_and_failing_sources_are_told_apart() {
        let dir = tempfile::tempdir().unwrap();
        let mut damaged = object();
        let middle = damaged.len() / 2;
        damaged.truncate(middle);
        let mut documents = 0;
        let result = run_pass(
            &damaged[..],
            LogKind::Access,
            &config(dir.path(), None),
            |batch| {
                documents += batch.docs.len() as u64;
                true
            },
        );
        let Err(PassError::Corrupt { partial, .. }) = result else {
            panic!("{result:?}");
        };
        // Every line read before the damage was handed over and counted.
        assert!(partial.parsed > 0);
        assert_eq!(documents, partial.parsed);

        struct FailsAfter(Vec<u8>, usize);
        impl Read for FailsAfter {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                if self.1 >= self.0.len() / 2 {
                    return Err(io::Error::new(io::ErrorKind::ConnectionReset, "reset"));
                }
                let n = buf.len().min(64).min(self.0.len() - self.1);
                buf[..n].copy_from_slice(&self.0[self.1..self.1 + n]);
                self.1 += n;
                Ok(n)
            }
        }
        let result = run_pass(
            FailsAfter(object(), 0),
            LogKind::Access,
            &config(dir.path(), Some(TableFormat::NdjsonGz)),
            |_| true,
        );
        assert!(matches!(result, Err(PassError::Read { .. })), "{result:?}");
        // Nothing is left behind in the work directory.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
