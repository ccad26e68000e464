//! One pass over one log object: bytes -> lines -> records -> (search documents, table rows,
//! dead letters, statistics). Sync and CPU-bound: the async caller runs it on a blocking thread
//! and receives search documents in bounded batches, so memory does not grow with the object.
//!
//! A damaged object (truncated, corrupt, trailing bytes, not gzip under a `.gz` name) is not a
//! failure of the pass: every line before the damage reaches every output as usual, the line the
//! damage cut is a dead letter, and the outcome says where and what the damage is.

use std::io::{self, Read};
use std::path::{Path, PathBuf};

use fleetwatch_alb::encode::Format;
use fleetwatch_alb::{LogKind, ParseError, parse_line};

use crate::inflate::{Damage, DamageKind};
use crate::lines::{Line, LogReader, for_each_line};
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
    /// Where and how the object is damaged: the pass ended there, with everything before it
    /// in the outputs above. Retrying the same bytes cannot help.
    pub damage: Option<Damage>,
}

#[derive(Debug, thiserror::Error)]
pub enum PassError {
    /// Reading the object failed (network, S3): the whole object can be retried.
    #[error("reading the object failed after {read} bytes")]
    Read { read: u64, source: io::Error },
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

/// Runs the pass over the object at `key` (its name gives the log kind, [`LogKind::Unknown`]: per
/// line by content, and whether it must be gzip). `emit` receives each full batch of search
/// documents and returns `false` to stop.
pub fn run_pass<R: Read>(
    reader: R,
    key: &str,
    config: &PassConfig,
    mut emit: impl FnMut(DocBatch) -> bool,
) -> Result<PassOutcome, PassError> {
    let kind = LogKind::from_key(key);
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

    let log = LogReader::open_named(&mut source, key);
    let result = log.and_then(|log| {
        for_each_line(log, |line| {
            if output_error.is_some() || cancelled {
                return;
            }
            let step = handle_line(
                kind,
                &line,
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
    let damage = match result {
        Ok(_totals) => None,
        Err(error) if source.failed => {
            return Err(PassError::Read {
                read: source.read,
                source: error,
            });
        }
        Err(error) => Some(damage_of(error, source.read)),
    };
    if !batch.docs.is_empty() && !emit(batch) {
        return Err(PassError::Cancelled);
    }
    let (table, dead_letters) = outputs.finish().map_err(PassError::Output)?;
    Ok(PassOutcome {
        stats,
        table,
        dead_letters,
        first_date,
        damage,
    })
}

/// A read error that is not the source's: the content's damage. The decoder locates what it
/// finds; anything else (never seen) is taken as corrupt where the reading stopped.
fn damage_of(error: io::Error, read: u64) -> Damage {
    Damage::from_io(error)
        .unwrap_or_else(|other| Damage::new(DamageKind::Corrupt, read, Some(other)))
}

fn handle_line(
    kind: LogKind,
    line: &Line<'_>,
    config: &PassConfig,
    stats: &mut Stats,
    first_date: &mut Option<(u16, u8, u8)>,
    batch: &mut DocBatch,
    outputs: &mut Outputs,
) -> io::Result<()> {
    let (number, bytes) = (line.number, line.bytes);
    // What the damage cut short is never a whole line: it could even parse as an older, shorter
    // line with wrong values. Kept as a dead letter.
    if line.cut {
        count_failed(stats, "line cut by damage");
        return outputs.dead_letters.write(
            number,
            "line cut short: reading stopped inside it",
            bytes,
        );
    }
    if line.truncated {
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

/// A failed line that is not a parse error (those count by their code).
fn count_failed(stats: &mut Stats, reason: &str) {
    stats.lines += 1;
    stats.failed += 1;
    *stats.error_reasons.entry(reason.into()).or_default() += 1;
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

    const KEY: &str = "AWSLogs/123456789012/elasticloadbalancing/eu-west-1/2026/11/25/123456789012_elasticloadbalancing_eu-west-1_app.web.50dc6c495c0c9188_20261125T1005Z_10.0.1.7_2et2e1mx.log.gz";

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
        gzip_members(&members())
    }

    fn members() -> Vec<String> {
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
        members
    }

    #[test]
    fn every_line_is_a_document_or_a_dead_letter() {
        let dir = tempfile::tempdir().unwrap();
        let mut batches = Vec::new();
        let outcome = run_pass(
            &object()[..],
            KEY,
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
        let result = run_pass(&object()[..], KEY, &config(dir.path(), None), |_| false);
        assert!(matches!(result, Err(PassError::Cancelled)));
    }

    #[test]
    fn a_damaged_object_keeps_every_line_before_the_damage_in_every_output() {
        let dir = tempfile::tempdir().unwrap();
        let third: String = (100..400).map(|i| access_line(i) + "\n").collect();
        let whole = [gzip_members(&members()[..2]), gzip_members(&[third])];
        // Cut in the middle of the third member.
        let damaged = [&whole[0][..], &whole[1][..whole[1].len() / 2]].concat();
        let mut documents = Vec::new();
        let outcome = run_pass(
            &damaged[..],
            KEY,
            &config(dir.path(), Some(TableFormat::NdjsonGz)),
            |batch| {
                documents.extend(batch.documents().map(|(line, _)| line));
                true
            },
        )
        .unwrap();
        let damage = outcome.damage.as_ref().expect("damage reported");
        assert_eq!(damage.kind, DamageKind::Truncated);
        assert_eq!(damage.offset, whole[0].len() as u64);
        // The two whole members' 20 good lines and the third's lines up to the cut: documents,
        // table rows; their 2 bad lines and the line the cut went through: dead letters.
        let stats = &outcome.stats;
        assert!(stats.parsed > 20 + 50, "{}", stats.parsed);
        assert_eq!(stats.failed, 3);
        assert_eq!(stats.error_reasons["line cut by damage"], 1);
        assert_eq!(documents.len() as u64, stats.parsed);
        assert_eq!(outcome.table.as_ref().unwrap().count, stats.parsed);
        assert_eq!(outcome.dead_letters.as_ref().unwrap().count, 3);
        assert_eq!(outcome.first_date, Some((2026, 11, 25)));
    }

    #[test]
    fn bytes_that_are_not_gzip_under_a_gz_name_are_damage_not_text() {
        let dir = tempfile::tempdir().unwrap();
        let text = members().concat();
        let outcome = run_pass(text.as_bytes(), KEY, &config(dir.path(), None), |_| true).unwrap();
        let damage = outcome.damage.unwrap();
        assert_eq!((damage.kind, damage.offset), (DamageKind::NotGzip, 0));
        assert_eq!(outcome.stats.lines, 0);
        // The same bytes under a plain name are text (Classic ELB logs are).
        let plain = KEY.trim_end_matches(".gz");
        let outcome =
            run_pass(text.as_bytes(), plain, &config(dir.path(), None), |_| true).unwrap();
        assert!(outcome.damage.is_none());
        assert_eq!(outcome.stats.parsed, 30);
    }

    #[test]
    fn a_failing_source_is_not_damage_and_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
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
            KEY,
            &config(dir.path(), Some(TableFormat::NdjsonGz)),
            |_| true,
        );
        assert!(matches!(result, Err(PassError::Read { .. })), "{result:?}");
        // Nothing is left behind in the work directory.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
