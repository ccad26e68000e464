//! Files an object's pass produces locally before they are stored: the table (Athena) output and
//! the dead letters of unparseable lines. Written from the parsing thread, sync.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use base64::Engine;
use flate2::Compression;
use flate2::write::GzEncoder;
use fleetwatch_alb::encode::Format;
use fleetwatch_alb::{ParseError, Record};
use serde::Serialize;

use crate::inflate::Damage;

/// One row per record, in the flat columns (Athena / Parquet).
pub trait TableWriter: Send {
    fn write(&mut self, record: &Record<'_>) -> io::Result<()>;
    /// Completes the file; returns the rows written.
    fn finish(self: Box<Self>) -> io::Result<u64>;
}

/// Output formats of the table sink.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TableFormat {
    Parquet,
    NdjsonGz,
}

impl TableFormat {
    pub fn extension(self) -> &'static str {
        match self {
            TableFormat::Parquet => "parquet",
            TableFormat::NdjsonGz => "ndjson.gz",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            TableFormat::Parquet => "application/vnd.apache.parquet",
            TableFormat::NdjsonGz => "application/x-ndjson",
        }
    }
}

/// Flat JSON rows, gzip-compressed (Athena reads `.gz` JSON with the OpenX JSON SerDe).
pub struct NdjsonGzTable {
    out: GzEncoder<BufWriter<File>>,
    line: Vec<u8>,
    rows: u64,
}

impl NdjsonGzTable {
    pub fn create(path: &Path) -> io::Result<Self> {
        Ok(Self {
            out: GzEncoder::new(BufWriter::new(File::create(path)?), Compression::fast()),
            line: Vec::with_capacity(4096),
            rows: 0,
        })
    }
}

impl TableWriter for NdjsonGzTable {
    fn write(&mut self, record: &Record<'_>) -> io::Result<()> {
        self.line.clear();
        Format::Flat.encode(record, &mut self.line);
        self.line.push(b'\n');
        self.rows += 1;
        self.out.write_all(&self.line)
    }

    fn finish(self: Box<Self>) -> io::Result<u64> {
        self.out.finish()?.flush()?;
        Ok(self.rows)
    }
}

/// Lines that could not be parsed, as gzip NDJSON:
/// `{"line": 17, "reason": "...", "raw": "<text>"}`, plus `"raw_base64"` when the bytes are not
/// UTF-8 (so nothing is lost to lossy decoding).
pub struct DeadLetterWriter {
    out: Option<GzEncoder<BufWriter<File>>>,
    path: std::path::PathBuf,
    append: bool,
    count: u64,
}

#[derive(Serialize)]
struct DeadLetter<'a> {
    line: u64,
    reason: String,
    raw: std::borrow::Cow<'a, str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    raw_base64: Option<String>,
    /// The object's damage, in the one record that reports it.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    damage: Option<DamageRecord<'a>>,
}

/// The fields of a damage record besides `line` (0: not a line), `reason` and `raw` (empty).
#[derive(Serialize)]
struct DamageRecord<'a> {
    bucket: &'a str,
    key: &'a str,
    /// Offset in the object of the damaged member's first byte.
    offset: u64,
    /// [`crate::DamageKind::as_str`].
    damage: &'static str,
}

impl DeadLetterWriter {
    /// The file is created on the first dead letter: clean objects leave no errors object.
    pub fn new(path: &Path) -> Self {
        Self {
            out: None,
            path: path.to_path_buf(),
            append: false,
            count: 0,
        }
    }

    /// Adds a gzip member after what the file holds (or creates it).
    pub fn append(path: &Path) -> Self {
        Self {
            append: true,
            ..Self::new(path)
        }
    }

    pub fn write(&mut self, line: u64, reason: &str, raw: &[u8]) -> io::Result<()> {
        let text = String::from_utf8_lossy(raw);
        let raw_base64 = matches!(text, std::borrow::Cow::Owned(_))
            .then(|| base64::engine::general_purpose::STANDARD.encode(raw));
        self.put(&DeadLetter {
            line,
            reason: reason.to_string(),
            raw: text,
            raw_base64,
            damage: None,
        })
    }

    /// The record of a damaged object: `line` 0 (not a line), `reason` in words, and the object,
    /// the offset of the damage and its kind as fields of their own, for queries.
    pub fn write_damage(&mut self, bucket: &str, key: &str, damage: &Damage) -> io::Result<()> {
        self.put(&DeadLetter {
            line: 0,
            reason: damage.reason(),
            raw: "".into(),
            raw_base64: None,
            damage: Some(DamageRecord {
                bucket,
                key,
                offset: damage.offset,
                damage: damage.kind.as_str(),
            }),
        })
    }

    fn put(&mut self, letter: &DeadLetter<'_>) -> io::Result<()> {
        let out = match &mut self.out {
            Some(out) => out,
            None => {
                let file = File::options()
                    .create(true)
                    .write(true)
                    .append(self.append)
                    .truncate(!self.append)
                    .open(&self.path)?;
                self.out
                    .insert(GzEncoder::new(BufWriter::new(file), Compression::fast()))
            }
        };
        serde_json::to_writer(&mut *out, letter)?;
        out.write_all(b"\n")?;
        self.count += 1;
        Ok(())
    }

    pub fn parse_error(&mut self, line: u64, error: &ParseError, raw: &[u8]) -> io::Result<()> {
        self.write(line, &error.to_string(), raw)
    }

    /// Completes the file; returns how many dead letters it holds (0: no file was created).
    pub fn finish(self) -> io::Result<u64> {
        if let Some(out) = self.out {
            out.finish()?.flush()?;
        }
        Ok(self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inflate::DamageKind;
    use flate2::read::MultiGzDecoder;
    use std::io::Read;

    fn gunzip(path: &Path) -> String {
        let mut text = String::new();
        MultiGzDecoder::new(File::open(path).unwrap())
            .read_to_string(&mut text)
            .unwrap();
        text
    }

    #[test]
    fn dead_letters_keep_line_reason_and_exact_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("errors.ndjson.gz");
        let mut writer = DeadLetterWriter::new(&path);
        writer.write(3, "too few fields", b"http 2026 x").unwrap();
        writer.write(9, "bad", b"caf\xe9 \xff").unwrap();
        assert_eq!(writer.finish().unwrap(), 2);
        let rows: Vec<serde_json::Value> = gunzip(&path)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(rows[0]["line"], 3);
        assert_eq!(rows[0]["raw"], "http 2026 x");
        assert!(rows[0].get("raw_base64").is_none());
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(rows[1]["raw_base64"].as_str().unwrap())
            .unwrap();
        assert_eq!(bytes, b"caf\xe9 \xff");
    }

    #[test]
    fn a_damage_record_names_the_object_the_offset_and_the_kind() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("errors.ndjson.gz");
        let mut writer = DeadLetterWriter::new(&path);
        writer.write(3, "too few fields", b"http 2026 x").unwrap();
        let damage = Damage::new(DamageKind::Truncated, 7231, None);
        writer
            .write_damage("logs", "AWSLogs/x.log.gz", &damage)
            .unwrap();
        assert_eq!(writer.finish().unwrap(), 2);
        let rows: Vec<serde_json::Value> = gunzip(&path)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert!(rows[0].get("offset").is_none(), "{}", rows[0]);
        assert_eq!(
            rows[1],
            serde_json::json!({
                "line": 0,
                "reason": "truncated: the object ends inside the gzip member that starts at byte 7231",
                "raw": "",
                "bucket": "logs",
                "key": "AWSLogs/x.log.gz",
                "offset": 7231,
                "damage": "truncated",
            })
        );
    }

    #[test]
    fn appending_adds_a_gzip_member() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("errors.ndjson.gz");
        let mut first = DeadLetterWriter::new(&path);
        first.write(1, "a", b"x").unwrap();
        first.finish().unwrap();
        let mut second = DeadLetterWriter::append(&path);
        second.write(2, "b", b"y").unwrap();
        second.finish().unwrap();
        assert_eq!(gunzip(&path).lines().count(), 2);
    }

    #[test]
    fn no_dead_letters_no_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("errors.ndjson.gz");
        assert_eq!(DeadLetterWriter::new(&path).finish().unwrap(), 0);
        assert!(!path.exists());
    }
}
