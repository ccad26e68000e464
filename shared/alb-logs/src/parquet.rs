//! The Parquet table output: one file per object, the flat columns of the object's log kind
//! ([`flat_columns`]), Snappy-compressed, for Athena. Written with the `parquet` crate's low-level
//! column writers (no arrow): the values come from the same visitor as the flat JSON encoder
//! ([`fleetwatch_alb::encode::flat::visit`]), so both table formats hold the same values.
//!
//! # Types
//!
//! Every column is `OPTIONAL` (null when the value is absent). The Athena types of the DDL
//! ([`FlatType::athena_type`]) are authoritative; the Parquet types are the ones Athena reads as
//! those types:
//!
//! | flat type | Parquet | Athena |
//! | --- | --- | --- |
//! | `String` | `BYTE_ARRAY` + `STRING` (UTF8) | `string` |
//! | `Int` | `INT32` | `int` |
//! | `BigInt` | `INT64` | `bigint` |
//! | `Double` | `DOUBLE` | `double` |
//! | `StringArray` | 3-level `LIST`: `optional group <name> (LIST) { repeated group list { optional binary element (STRING) } }` | `array<string>` |
//!
//! Strings are written as UTF-8 with invalid sequences replaced by U+FFFD, as the JSON encoder
//! does. A counter above `i64::MAX` (never logged in practice; the parser accepts any `u64`) does
//! not fit `bigint` and is written as null.
//!
//! # Memory
//!
//! Rows are buffered column-wise (string values in one byte buffer per column, no allocation per
//! value) and written as one row group every [`RowGroupLimits::DEFAULT`] rows or buffered bytes,
//! whichever comes first, so memory stays bounded whatever the object's size.
//!
//! # Schema and kinds
//!
//! Files do not know their kind when created: the schema is the kind of the first record (the
//! object's kind; nothing is written to the file before that record arrives). A file without
//! records has the raw schema ([`FLAT_RAW_COLUMNS`]: `log_kind`, `message`) and no rows.
//!
//! Records of another schema can only come from objects of [`LogKind::Unknown`], whose lines are
//! sniffed one by one. Such a record is not dropped: it becomes a row in the file's schema holding
//! its kind and its flat JSON object (the same text as the NDJSON table output) — in `extra` as
//! `[<kind>, <json>]` with every other column null, or in `log_kind` / `message` when the file
//! has the raw schema. Unknown objects are written under the `unknown/` prefix, which no generated
//! Athena table reads.

use std::fs::File;
use std::io;
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use fleetwatch_alb::encode::flat::{
    FLAT_RAW_COLUMNS, FlatColumn, FlatType, FlatValue, FlatVisitor, flat_columns, visit,
};
use fleetwatch_alb::{LogKind, Record};
use parquet::basic::{Compression, LogicalType, Repetition, Type as PhysicalType};
use parquet::data_type::{ByteArray, ByteArrayType, DoubleType, Int32Type, Int64Type};
use parquet::errors::ParquetError;
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;
use parquet::file::writer::{SerializedColumnWriter, SerializedFileWriter};
use parquet::schema::types::{PrimitiveTypeBuilder, Type, TypePtr};

use crate::outputs::TableWriter;

/// When a row group is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RowGroupLimits {
    /// Rows per row group at most.
    pub rows: usize,
    /// Buffered value bytes (string bytes, 8 per number) that end a row group.
    pub bytes: usize,
}

impl RowGroupLimits {
    /// 64Ki rows or 32 MiB of values: a few MiB per row group once compressed, and a buffer that
    /// fits beside the rest of the pass in a 256 MiB Lambda.
    pub const DEFAULT: RowGroupLimits = RowGroupLimits {
        rows: 64 * 1024,
        bytes: 32 * 1024 * 1024,
    };
}

/// Key of the file metadata entry naming the schema's log kind.
pub const KIND_METADATA_KEY: &str = "fleetwatch.log_kind";

pub struct ParquetTable {
    state: State,
    limits: RowGroupLimits,
    /// Rows accepted so far (written or buffered).
    rows: u64,
}

enum State {
    /// Created, schema not known yet: no record so far.
    Pending(File),
    Open(Box<OpenFile>),
    /// A write failed or the file was finished.
    Closed,
}

impl ParquetTable {
    pub fn create(path: &Path) -> io::Result<Self> {
        Self::create_with(path, RowGroupLimits::DEFAULT)
    }

    pub fn create_with(path: &Path, limits: RowGroupLimits) -> io::Result<Self> {
        // `SerializedFileWriter` buffers its output (a `BufWriter` inside), so the file is handed
        // over as it is.
        Ok(Self {
            state: State::Pending(File::create(path)?),
            limits: RowGroupLimits {
                rows: limits.rows.max(1),
                bytes: limits.bytes.max(1),
            },
            rows: 0,
        })
    }

    /// The open file, created with the schema of `kind` on the first call.
    fn open(&mut self, kind: LogKind) -> io::Result<&mut OpenFile> {
        if let State::Pending(_) = self.state {
            let State::Pending(file) = std::mem::replace(&mut self.state, State::Closed) else {
                unreachable!()
            };
            self.state = State::Open(Box::new(OpenFile::new(file, kind)?));
        }
        match &mut self.state {
            State::Open(open) => Ok(open),
            _ => Err(io::Error::other(
                "the Parquet file is closed after an error",
            )),
        }
    }
}

impl TableWriter for ParquetTable {
    fn write(&mut self, record: &Record<'_>) -> io::Result<()> {
        let limits = self.limits;
        let open = self.open(record.kind())?;
        open.push(record);
        let result = if open.rows >= limits.rows || open.bytes >= limits.bytes {
            open.flush()
        } else {
            Ok(())
        };
        match result {
            Ok(()) => {
                self.rows += 1;
                Ok(())
            }
            Err(e) => {
                // The file is unusable after a failed row group: refuse further writes.
                self.state = State::Closed;
                Err(e)
            }
        }
    }

    fn finish(mut self: Box<Self>) -> io::Result<u64> {
        // No record: the raw schema and no rows.
        self.open(LogKind::Unknown)?;
        let State::Open(mut open) = std::mem::replace(&mut self.state, State::Closed) else {
            unreachable!("open() returned the open file")
        };
        open.flush()?;
        open.writer.finish().map_err(parquet_error)?;
        Ok(self.rows)
    }
}

fn parquet_error(e: ParquetError) -> io::Error {
    match e {
        ParquetError::External(inner) => match inner.downcast::<io::Error>() {
            Ok(io) => *io,
            Err(other) => io::Error::other(other),
        },
        other => io::Error::other(other),
    }
}

struct OpenFile {
    writer: SerializedFileWriter<File>,
    /// The kind whose schema the file has (the first record's).
    kind: LogKind,
    columns: &'static [FlatColumn],
    buffers: Vec<ColumnBuffer>,
    /// Rows and value bytes buffered for the next row group.
    rows: usize,
    bytes: usize,
    /// The flat JSON of a record of another kind (the fallback row).
    scratch: Vec<u8>,
}

impl OpenFile {
    fn new(file: File, kind: LogKind) -> io::Result<Self> {
        let columns = flat_columns(kind);
        let props = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_key_value_metadata(Some(vec![KeyValue::new(
                KIND_METADATA_KEY.to_string(),
                kind.as_str().to_string(),
            )]))
            .build();
        let writer = SerializedFileWriter::new(file, schema(columns)?, Arc::new(props))
            .map_err(parquet_error)?;
        Ok(Self {
            writer,
            kind,
            columns,
            buffers: columns.iter().map(|c| ColumnBuffer::new(c.ty)).collect(),
            rows: 0,
            bytes: 0,
            scratch: Vec::new(),
        })
    }

    fn push(&mut self, record: &Record<'_>) {
        let kind = record.kind();
        // Health-check and test-file records share the raw schema: not another schema.
        if kind == self.kind || flat_columns(kind) == self.columns {
            let mut rows = Rows {
                buffers: &mut self.buffers,
                bytes: 0,
            };
            visit(record, &mut rows);
            self.bytes += rows.bytes;
        } else {
            self.push_other_kind(record);
        }
        self.rows += 1;
    }

    /// A record of another schema: its kind and flat JSON, in `extra` or the raw columns.
    fn push_other_kind(&mut self, record: &Record<'_>) {
        self.scratch.clear();
        fleetwatch_alb::encode::Format::Flat.encode(record, &mut self.scratch);
        let kind = record.kind().as_str().as_bytes();
        let json = self.scratch.as_slice();
        let raw = self.columns == FLAT_RAW_COLUMNS;
        for (column, buffer) in self.columns.iter().zip(&mut self.buffers) {
            self.bytes += match (raw, column.name, column.ty) {
                (true, "log_kind", _) => buffer.push_str(kind),
                (true, "message", _) => buffer.push_str(json),
                (false, _, FlatType::StringArray) => buffer.push_list([kind, json].into_iter()),
                _ => buffer.push_null(),
            };
        }
    }

    /// Writes the buffered rows as one row group.
    fn flush(&mut self) -> io::Result<()> {
        if self.rows == 0 {
            return Ok(());
        }
        let mut group = self.writer.next_row_group().map_err(parquet_error)?;
        for buffer in &mut self.buffers {
            let mut column = group
                .next_column()
                .map_err(parquet_error)?
                .ok_or_else(|| io::Error::other("fewer Parquet columns than flat columns"))?;
            buffer.write(&mut column).map_err(parquet_error)?;
            column.close().map_err(parquet_error)?;
        }
        group.close().map_err(parquet_error)?;
        self.rows = 0;
        self.bytes = 0;
        Ok(())
    }
}

/// The Parquet schema of a flat column list (see the module documentation for the types).
fn schema(columns: &[FlatColumn]) -> io::Result<TypePtr> {
    let fields = columns
        .iter()
        .map(|c| column_type(c).map(Arc::new))
        .collect::<Result<Vec<_>, _>>()
        .map_err(parquet_error)?;
    Type::group_type_builder("fleetwatch_flat")
        .with_fields(fields)
        .build()
        .map(Arc::new)
        .map_err(parquet_error)
}

fn column_type(c: &FlatColumn) -> Result<Type, ParquetError> {
    fn primitive(name: &str, physical: PhysicalType) -> PrimitiveTypeBuilder<'_> {
        Type::primitive_type_builder(name, physical).with_repetition(Repetition::OPTIONAL)
    }
    match c.ty {
        FlatType::String => primitive(c.name, PhysicalType::BYTE_ARRAY)
            .with_logical_type(Some(LogicalType::String))
            .build(),
        FlatType::Int => primitive(c.name, PhysicalType::INT32).build(),
        FlatType::BigInt => primitive(c.name, PhysicalType::INT64).build(),
        FlatType::Double => primitive(c.name, PhysicalType::DOUBLE).build(),
        FlatType::StringArray => {
            let element = primitive("element", PhysicalType::BYTE_ARRAY)
                .with_logical_type(Some(LogicalType::String))
                .build()?;
            let list = Type::group_type_builder("list")
                .with_repetition(Repetition::REPEATED)
                .with_fields(vec![Arc::new(element)])
                .build()?;
            Type::group_type_builder(c.name)
                .with_repetition(Repetition::OPTIONAL)
                .with_logical_type(Some(LogicalType::List))
                .with_fields(vec![Arc::new(list)])
                .build()
        }
    }
}

/// Definition levels: a plain column is null (0) or set (1); a list column is null (0), an empty
/// list (1), or holds an element (3: list present, repeated group entered, element set).
const DEF_NULL: i16 = 0;
const DEF_SET: i16 = 1;
const DEF_EMPTY_LIST: i16 = 1;
const DEF_LIST_ELEMENT: i16 = 3;

/// One column's buffered values for the next row group.
struct ColumnBuffer {
    /// An `array<string>` column (repetition levels, 3-level definition levels).
    list: bool,
    /// One level per row; for a list column one per element (or per null / empty list).
    def: Vec<i16>,
    /// List columns only: 0 starts a row, 1 continues its list.
    rep: Vec<i16>,
    values: Values,
    /// Reused for each row group's byte-array values.
    arrays: Vec<ByteArray>,
}

enum Values {
    /// The non-null strings back to back; `ends[i]` is where string `i` ends.
    Strings {
        data: Vec<u8>,
        ends: Vec<usize>,
    },
    Int32(Vec<i32>),
    Int64(Vec<i64>),
    Double(Vec<f64>),
}

impl ColumnBuffer {
    fn new(ty: FlatType) -> Self {
        let values = match ty {
            FlatType::String | FlatType::StringArray => Values::Strings {
                data: Vec::new(),
                ends: Vec::new(),
            },
            FlatType::Int => Values::Int32(Vec::new()),
            FlatType::BigInt => Values::Int64(Vec::new()),
            FlatType::Double => Values::Double(Vec::new()),
        };
        Self {
            list: ty == FlatType::StringArray,
            def: Vec::new(),
            rep: Vec::new(),
            values,
            arrays: Vec::new(),
        }
    }

    /// Buffers a null; returns the bytes buffered (for the row group's size).
    fn push_null(&mut self) -> usize {
        self.def.push(DEF_NULL);
        if self.list {
            self.rep.push(0);
        }
        2
    }

    /// A string value (for a string column) from bytes that may not be valid UTF-8.
    fn push_str(&mut self, bytes: &[u8]) -> usize {
        match &mut self.values {
            Values::Strings { data, ends } if !self.list => {
                let before = data.len();
                push_utf8_lossy(data, bytes);
                ends.push(data.len());
                self.def.push(DEF_SET);
                data.len() - before + 10
            }
            _ => self.mismatch(),
        }
    }

    fn push_uint(&mut self, n: u64) -> usize {
        let set = match &mut self.values {
            Values::Int32(v) => i32::try_from(n).map(|n| v.push(n)).is_ok(),
            Values::Int64(v) => i64::try_from(n).map(|n| v.push(n)).is_ok(),
            _ => return self.mismatch(),
        };
        if set {
            self.def.push(DEF_SET);
            10
        } else {
            // Above what the column's signed type holds: null (see the module documentation).
            self.push_null()
        }
    }

    fn push_double(&mut self, f: f64) -> usize {
        match &mut self.values {
            Values::Double(v) => {
                v.push(f);
                self.def.push(DEF_SET);
                10
            }
            _ => self.mismatch(),
        }
    }

    /// A list of strings (for an `array<string>` column).
    fn push_list<B: AsRef<[u8]>>(&mut self, items: impl Iterator<Item = B>) -> usize {
        let Values::Strings { data, ends } = &mut self.values else {
            return self.mismatch();
        };
        if !self.list {
            return self.mismatch();
        }
        let before = data.len();
        let mut count = 0;
        for item in items {
            push_utf8_lossy(data, item.as_ref());
            ends.push(data.len());
            self.def.push(DEF_LIST_ELEMENT);
            self.rep.push(if count == 0 { 0 } else { 1 });
            count += 1;
        }
        if count == 0 {
            self.def.push(DEF_EMPTY_LIST);
            self.rep.push(0);
        }
        data.len() - before + 10 * count.max(1)
    }

    /// A value that does not fit the column's type: a bug in the flat mapping, caught by the
    /// tests; written as null rather than failing the object.
    fn mismatch(&mut self) -> usize {
        debug_assert!(false, "flat value does not match the column type");
        self.push_null()
    }

    fn push(&mut self, value: FlatValue<'_>) -> usize {
        match value {
            FlatValue::Null => self.push_null(),
            FlatValue::Str(s) => self.push_str(s.as_bytes()),
            FlatValue::Text(t) => self.push_str(&t.bytes()),
            FlatValue::UInt(n) => self.push_uint(n),
            FlatValue::Double(f) => self.push_double(f),
            FlatValue::List(extra) => self.push_list(extra.iter().map(|t| t.bytes())),
        }
    }

    /// Writes the buffered values as this column's chunk of the row group and empties the buffer.
    fn write(&mut self, column: &mut SerializedColumnWriter<'_>) -> Result<(), ParquetError> {
        let rep = self.list.then_some(self.rep.as_slice());
        let def = Some(self.def.as_slice());
        match &mut self.values {
            Values::Strings { data, ends } => {
                // One shared buffer, sliced per value: no copy and no allocation per value.
                let capacity = data.capacity();
                let shared = Bytes::from(std::mem::replace(data, Vec::with_capacity(capacity)));
                let mut start = 0;
                self.arrays.clear();
                for &end in ends.iter() {
                    self.arrays.push(ByteArray::from(shared.slice(start..end)));
                    start = end;
                }
                column
                    .typed::<ByteArrayType>()
                    .write_batch(&self.arrays, def, rep)?;
                self.arrays.clear();
                ends.clear();
            }
            Values::Int32(v) => {
                column.typed::<Int32Type>().write_batch(v, def, rep)?;
                v.clear();
            }
            Values::Int64(v) => {
                column.typed::<Int64Type>().write_batch(v, def, rep)?;
                v.clear();
            }
            Values::Double(v) => {
                column.typed::<DoubleType>().write_batch(v, def, rep)?;
                v.clear();
            }
        }
        self.def.clear();
        self.rep.clear();
        Ok(())
    }
}

/// The record's values into the column buffers.
struct Rows<'b> {
    buffers: &'b mut [ColumnBuffer],
    bytes: usize,
}

impl FlatVisitor for Rows<'_> {
    fn value(&mut self, col: usize, value: FlatValue<'_>) {
        self.bytes += self.buffers[col].push(value);
    }
}

/// Appends `bytes` as UTF-8, each invalid sequence replaced by U+FFFD (as the JSON encoder does).
fn push_utf8_lossy(out: &mut Vec<u8>, bytes: &[u8]) {
    if std::str::from_utf8(bytes).is_ok() {
        out.extend_from_slice(bytes);
        return;
    }
    for chunk in bytes.utf8_chunks() {
        out.extend_from_slice(chunk.valid().as_bytes());
        if !chunk.invalid().is_empty() {
            out.extend_from_slice("\u{FFFD}".as_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fleetwatch_alb::encode::Format;
    use fleetwatch_alb::parse_line;
    use parquet::basic::ConvertedType;
    use parquet::file::reader::{FileReader, SerializedFileReader};
    use parquet::record::Field;
    use serde_json::Value;

    // ---- Lines written from the documented formats (not copied from real logs) ----

    /// The 33 fields of a current ALB access log line.
    const ACCESS: [&str; 33] = [
        "https",
        "2025-06-01T12:34:56.789012Z",
        "app/shop-alb/50dc6c495c0c9188",
        "203.0.113.7:51234",
        "10.0.1.15:8080",
        "0.001",
        "0.052",
        "0.000",
        "200",
        "201",
        "512",
        "2048",
        r#""POST https://shop.example.com:443/api/cart?item=42&qty=1 HTTP/1.1""#,
        r#""Mozilla/5.0 (X11; Linux x86_64)""#,
        "ECDHE-RSA-AES128-GCM-SHA256",
        "TLSv1.2",
        "arn:aws:elasticloadbalancing:eu-west-1:111122223333:targetgroup/shop-tg/6d0ecf831eec9f09",
        r#""Root=1-6650f3a0-0123456789abcdef01234567""#,
        r#""shop.example.com""#,
        r#""arn:aws:acm:eu-west-1:111122223333:certificate/aaaabbbb-cccc-dddd-eeee-ffff00001111""#,
        "3",
        "2025-06-01T12:34:56.735000Z",
        r#""waf,forward""#,
        r#""-""#,
        r#""-""#,
        r#""10.0.1.15:8080""#,
        r#""201""#,
        r#""Acceptable""#,
        r#""-""#,
        "TID_0a1b2c3d4e5f67890a1b2c3d4e5f6789",
        r#""shop-internal.example.com""#,
        r#""/v2/api/cart?item=42&qty=1""#,
        r#""TransformSuccess""#,
    ];

    /// Access lines of every shape, varied by `i`: full, no target (`-`, `-1`), IPv6, quoted
    /// target lists, older 29 fields, 34 and 35 fields, escapes and invalid UTF-8, Lambda errors.
    fn access_line(i: usize) -> Vec<u8> {
        let mut f: Vec<String> = ACCESS.iter().map(|s| s.to_string()).collect();
        f[1] = format!("2025-06-01T12:{:02}:{:02}.{:06}Z", i / 60 % 60, i % 60, i);
        f[3] = format!("203.0.113.{}:{}", i % 250, 1024 + i);
        f[10] = (i * 7).to_string();
        f[11] = (i * 13 + 1).to_string();
        f[20] = (i % 50).to_string();
        let mut line_end = 33;
        match i % 8 {
            1 => {
                for (n, v) in [
                    (4, "-"),
                    (5, "-1"),
                    (6, "-1"),
                    (7, "-1"),
                    (8, "460"),
                    (9, "-"),
                    (11, "-"),
                    (12, r#""- http://shop.example.com:80- -""#),
                    (13, r#""-""#),
                    (14, "-"),
                    (15, "-"),
                    (16, "-"),
                    (18, r#""""#),
                    (20, "-"),
                    (21, "-"),
                    (25, r#""-""#),
                    (26, r#""-""#),
                    (29, "-"),
                ] {
                    f[n] = v.to_string();
                }
            }
            2 => {
                f[3] = format!("2001:db8::{:x}:{}", i, 40000 + i);
                f[4] = "[2001:db8:0:1::15]:8080".into();
                f[25] = r#""[2001:db8:0:1::15]:8080""#.into();
            }
            3 => {
                f[9] = "502".into();
                f[25] = r#""10.0.1.15:8080 10.0.1.16:8080""#.into();
                f[26] = r#""502 201""#.into();
                f[22] = r#""waf,forward,redirect""#.into();
                f[23] = r#""https://shop.example.com:443/moved""#.into();
            }
            4 => line_end = 29,
            5 => {
                f.push(format!("10.0.0.{}", i % 200));
                line_end = 34;
                if i % 16 == 5 {
                    f.push(r#""a \"quoted\" extra""#.into());
                    line_end = 35;
                }
            }
            6 => {
                f[13] = r#""Mozilla \"quoted\" back\\slash \x41 INVALID end""#.into();
                f[12] = format!(r#""GET http://h:80/a b [c] {{d}}/{i} HTTP/1.1""#);
                f[18] = r#"" shop.example.com""#.into();
            }
            7 => {
                f[0] = "http".into();
                f[8] = "502".into();
                f[9] = "-".into();
                f[24] = r#""LambdaInvalidResponse""#.into();
                f[16] =
                    "arn:aws:elasticloadbalancing:eu-west-1:111122223333:targetgroup/fn/1".into();
                f[27] = r#""Ambiguous""#.into();
                f[28] = r#""UndefinedContentLengthSemantics""#.into();
            }
            _ => {}
        }
        let line = f[..line_end].join(" ");
        // Raw bytes that are not UTF-8 inside a quoted field.
        line.replace("INVALID", "\u{1}")
            .into_bytes()
            .into_iter()
            .flat_map(|b| if b == 1 { vec![0xff, 0xfe] } else { vec![b] })
            .collect()
    }

    fn connection_line(i: usize) -> Vec<u8> {
        let time = format!("2025-06-01T12:34:{:02}.{:06}Z", i % 60, i);
        let line = match i % 5 {
            0 => format!(
                r#"{time} 203.0.113.{} {} 443 TLSv1.3 TLS_AES_128_GCM_SHA256 0.{:03} "CN=client{i}.example.com,O=Example Corp,C=US" NotBefore=2025-01-01T00:00:00Z;NotAfter=2026-01-01T00:00:00Z 0f3a9c{i:x} Success TID_{i:032x}"#,
                i % 250,
                1024 + i,
                i % 1000
            ),
            1 => format!(
                "{time} 2001:db8::7 {} 443 - - -1 - - - Failed:ClientCertMaxChainDepthExceeded TID_{i:x}",
                2000 + i
            ),
            2 => format!(
                "{time} 198.51.100.{} - 443 TLSv1.2 ECDHE-RSA-AES128-GCM-SHA256 - - - - -",
                i % 250
            ),
            3 => format!(
                r#"{time} 203.0.113.9 {} 8443 TLSv1.2 ECDHE-RSA-AES128-GCM-SHA256 0.25 "CN=a \"b\"" NotBefore=2025-01-01T00:00:00Z;NotAfter=2026-01-01T00:00:00Z 01 Success TID_1 new-field "another one""#,
                3000 + i
            ),
            _ => format!(
                "{time} 10.1.2.3 {} 443 TLSv1.3 TLS_AES_256_GCM_SHA384 0.001 - - - Success",
                4000 + i
            ),
        };
        line.into_bytes()
    }

    fn nlb_line(i: usize) -> Vec<u8> {
        let time = format!("2025-06-01T12:35:{:02}.{:06}Z", i % 60, i);
        let line = match i % 4 {
            0 => format!(
                r#"tls 2.0 {time} net/edge-nlb/c6e77e28c25b2234 0aa1bb2cc3dd4ee5 198.51.100.{}:{} 10.0.2.5:443 {} 31 {} {} - arn:aws:acm:eu-west-1:111122223333:certificate/aaaabbbb-cccc-dddd-eeee-ffff00001111 - ECDHE-RSA-AES128-GCM-SHA256 tlsv12 secp256r1 edge.example.com h2 h2 "h2","http/1.1" 2025-06-01T12:35:09.404321Z"#,
                i % 250,
                40000 + i,
                1000 + i,
                380 + i,
                4120 * i
            ),
            1 => format!(
                "tls 2.0 {time} net/edge-nlb/c6e77e28c25b2234 0aa1bb2cc3dd4ee5 [2001:db8::23]:{} - - - 0 0 UnknownCA - - - - - -",
                40000 + i
            ),
            2 => format!(
                r#"tls 1.0 {time} net/edge-nlb/c6e77e28c25b2234 0aa1bb2cc3dd4ee5 198.51.100.23:{} 10.0.2.5:443 5 2 10 20 - arn:aws:acm:eu-west-1:1:certificate/x 0f ECDHE-ECDSA-AES256-GCM-SHA384 tlsv13 x25519 "sni.example.com""#,
                40000 + i
            ),
            _ => format!(
                r#"tls 2.0 {time} net/edge-nlb/c6e77e28c25b2234 0aa1bb2cc3dd4ee5 198.51.100.23:{} 10.0.2.5:443 5 2 10 20 - - - TLS_AES_128_GCM_SHA256 tlsv13 x25519 edge.example.com - - - - future-1 "future 2""#,
                40000 + i
            ),
        };
        line.into_bytes()
    }

    fn classic_line(i: usize) -> Vec<u8> {
        let time = format!("2016-03-11T08:15:{:02}.{:06}Z", i % 60, i);
        let line = match i % 4 {
            0 => format!(
                r#"{time} legacy-web 198.51.100.{}:{} 10.0.3.7:80 0.000041 0.002310 0.000020 200 200 0 {} "GET https://legacy.example.com:443/index.html?i={i} HTTP/1.1" "curl/8.5.0" ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2"#,
                i % 250,
                3000 + i,
                1543 + i
            ),
            1 => format!(
                r#"{time} legacy-web 198.51.100.9:{} - -1 -1 -1 504 0 0 0 "GET http://legacy.example.com:80/slow HTTP/1.1" "-" - -"#,
                3000 + i
            ),
            2 => format!(
                r#"{time} legacy-tcp 198.51.100.9:{} 10.0.3.7:5432 0.000001 0.000002 0.000003 - - 57 502 "- - - " "-" - -"#,
                3000 + i
            ),
            _ => format!(
                r#"{time} legacy-web 2001:db8::9:{} 10.0.3.7:80 0.1 0.2 0.3 404 404 10 20 "HEAD http://legacy.example.com:80/x HTTP/1.0" "agent \"x\"" - - trailing"#,
                3000 + i
            ),
        };
        line.into_bytes()
    }

    fn lines(kind: LogKind, n: usize) -> Vec<Vec<u8>> {
        let make = match kind {
            LogKind::Access => access_line,
            LogKind::Connection => connection_line,
            LogKind::NlbTls => nlb_line,
            LogKind::Classic => classic_line,
            other => panic!("no generator for {other}"),
        };
        (0..n).map(make).collect()
    }

    fn parse_all(kind: LogKind, lines: &[Vec<u8>]) -> Vec<Record<'_>> {
        lines
            .iter()
            .map(|l| {
                parse_line(kind, l)
                    .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(l)))
            })
            .collect()
    }

    // ---- Writing and reading back ----

    fn write_file(path: &Path, records: &[Record<'_>], limits: RowGroupLimits) -> u64 {
        let mut table: Box<dyn TableWriter> =
            Box::new(ParquetTable::create_with(path, limits).unwrap());
        for r in records {
            table.write(r).unwrap();
        }
        table.finish().unwrap()
    }

    fn read_rows(path: &Path) -> Vec<Vec<(String, Field)>> {
        let reader = SerializedFileReader::new(File::open(path).unwrap()).unwrap();
        reader
            .get_row_iter(None)
            .unwrap()
            .map(|row| row.unwrap().into_columns())
            .collect()
    }

    fn metadata(path: &Path) -> parquet::file::metadata::ParquetMetaData {
        SerializedFileReader::new(File::open(path).unwrap())
            .unwrap()
            .metadata()
            .clone()
    }

    /// The file's schema is exactly the flat columns of `kind`, typed as the module documents.
    fn check_schema(path: &Path, kind: LogKind) {
        let meta = metadata(path);
        let root = meta.file_metadata().schema();
        let fields = root.get_fields();
        let columns = flat_columns(kind);
        let names: Vec<&str> = fields.iter().map(|f| f.name()).collect();
        let want: Vec<&str> = columns.iter().map(|c| c.name).collect();
        assert_eq!(names, want);
        for (field, column) in fields.iter().zip(columns) {
            let info = field.get_basic_info();
            assert_eq!(info.repetition(), Repetition::OPTIONAL, "{}", column.name);
            let string = Some(&LogicalType::String);
            match column.ty {
                FlatType::String => {
                    assert_eq!(field.get_physical_type(), PhysicalType::BYTE_ARRAY);
                    assert_eq!(info.logical_type_ref(), string);
                    assert_eq!(info.converted_type(), ConvertedType::UTF8);
                }
                FlatType::Int => {
                    assert_eq!(field.get_physical_type(), PhysicalType::INT32);
                    assert_eq!(info.logical_type_ref(), None);
                }
                FlatType::BigInt => {
                    assert_eq!(field.get_physical_type(), PhysicalType::INT64);
                    assert_eq!(info.logical_type_ref(), None);
                }
                FlatType::Double => {
                    assert_eq!(field.get_physical_type(), PhysicalType::DOUBLE);
                }
                FlatType::StringArray => {
                    assert!(field.is_group());
                    assert_eq!(info.logical_type_ref(), Some(&LogicalType::List));
                    assert_eq!(info.converted_type(), ConvertedType::LIST);
                    let list = &field.get_fields()[0];
                    assert_eq!(list.name(), "list");
                    assert_eq!(list.get_basic_info().repetition(), Repetition::REPEATED);
                    let element = &list.get_fields()[0];
                    assert_eq!(element.name(), "element");
                    assert_eq!(element.get_physical_type(), PhysicalType::BYTE_ARRAY);
                    assert_eq!(element.get_basic_info().logical_type_ref(), string);
                }
            }
        }
        let kv = meta.file_metadata().key_value_metadata().unwrap();
        assert!(
            kv.iter()
                .any(|e| e.key == KIND_METADATA_KEY && e.value.as_deref() == Some(kind.as_str()))
        );
    }

    /// One Parquet value against the flat JSON encoder's value for the same column.
    fn assert_same(column: &FlatColumn, field: &Field, json: &Value, context: &str) {
        let ok = match (column.ty, field, json) {
            (_, Field::Null, Value::Null) => true,
            (FlatType::String, Field::Str(s), Value::String(j)) => s == j,
            (FlatType::Int, Field::Int(n), Value::Number(j)) => j.as_i64() == Some(i64::from(*n)),
            (FlatType::BigInt, Field::Long(n), Value::Number(j)) => j.as_i64() == Some(*n),
            // Above bigint's range: null in Parquet (documented), the number in JSON.
            (FlatType::BigInt, Field::Null, Value::Number(j)) => j.as_i64().is_none(),
            (FlatType::Double, Field::Double(f), Value::Number(j)) => j.as_f64() == Some(*f),
            (FlatType::StringArray, Field::ListInternal(list), Value::Array(items)) => {
                list.len() == items.len()
                    && list.elements().iter().zip(items).all(|(e, j)| match e {
                        Field::Str(s) => Some(s.as_str()) == j.as_str(),
                        _ => false,
                    })
            }
            _ => false,
        };
        assert!(
            ok,
            "{context}: column {} ({:?}): parquet {field:?} != json {json}",
            column.name, column.ty
        );
    }

    fn assert_rows_match(path: &Path, kind: LogKind, records: &[Record<'_>]) {
        let rows = read_rows(path);
        assert_eq!(rows.len(), records.len());
        assert_rows_equal(&rows, kind, records);
    }

    /// Each row holds the flat JSON encoder's values for its record, column by column.
    fn assert_rows_equal(rows: &[Vec<(String, Field)>], kind: LogKind, records: &[Record<'_>]) {
        let columns = flat_columns(kind);
        for (i, (row, record)) in rows.iter().zip(records).enumerate() {
            let json = Format::Flat.to_value(record);
            assert_eq!(row.len(), columns.len());
            for ((name, field), column) in row.iter().zip(columns) {
                assert_eq!(name, column.name);
                assert_same(column, field, &json[column.name], &format!("row {i}"));
            }
        }
    }

    fn round_trip(kind: LogKind, n: usize) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.parquet");
        let lines = lines(kind, n);
        let records = parse_all(kind, &lines);
        assert_eq!(
            write_file(&path, &records, RowGroupLimits::DEFAULT),
            n as u64
        );
        check_schema(&path, kind);
        let meta = metadata(&path);
        assert_eq!(meta.file_metadata().num_rows(), n as i64);
        assert_eq!(meta.num_row_groups(), 1);
        assert_rows_match(&path, kind, &records);
    }

    #[test]
    fn access_round_trip() {
        round_trip(LogKind::Access, 400);
    }

    #[test]
    fn connection_round_trip() {
        round_trip(LogKind::Connection, 300);
    }

    #[test]
    fn nlb_round_trip() {
        round_trip(LogKind::NlbTls, 300);
    }

    #[test]
    fn classic_round_trip() {
        round_trip(LogKind::Classic, 300);
    }

    #[test]
    fn the_generated_lines_cover_the_interesting_values() {
        let lines = lines(LogKind::Access, 16);
        let records = parse_all(LogKind::Access, &lines);
        let json: Vec<Value> = records.iter().map(|r| Format::Flat.to_value(r)).collect();
        assert!(json.iter().any(|v| v["target_ip"].is_null()));
        assert!(json.iter().any(|v| v["target_processing_time"] == -1.0));
        assert!(json.iter().any(|v| v["client_ip"] == "2001:db8::2"));
        assert!(json.iter().any(|v| v["target_ip"] == "2001:db8:0:1::15"));
        assert!(
            json.iter()
                .any(|v| v["target_port_list"] == "10.0.1.15:8080 10.0.1.16:8080")
        );
        // The older 29-field line: the columns after `classification_reason` are null.
        assert!(json.iter().any(|v| {
            v["classification"] == "Acceptable" && v["request_transform_status"].is_null()
        }));
        // 34 and 35 fields.
        assert!(
            json.iter()
                .any(|v| v["extra"] == serde_json::json!(["10.0.0.13"]))
        );
        assert!(
            json.iter()
                .any(|v| v["extra"] == serde_json::json!(["10.0.0.5", "a \"quoted\" extra"]))
        );
        assert!(json.iter().any(|v| {
            v["user_agent"] == "Mozilla \"quoted\" back\\slash A \u{fffd}\u{fffd} end"
        }));
        assert!(
            json.iter()
                .any(|v| v["lambda_error_reason"] == "LambdaInvalidResponse")
        );
    }

    #[test]
    fn row_groups_are_bounded_by_rows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.parquet");
        let lines = lines(LogKind::Access, 1000);
        let records = parse_all(LogKind::Access, &lines);
        let limits = RowGroupLimits {
            rows: 128,
            bytes: usize::MAX,
        };
        assert_eq!(write_file(&path, &records, limits), 1000);
        let meta = metadata(&path);
        let sizes: Vec<i64> = meta.row_groups().iter().map(|g| g.num_rows()).collect();
        assert_eq!(sizes, [128, 128, 128, 128, 128, 128, 128, 104]);
        check_schema(&path, LogKind::Access);
        assert_rows_match(&path, LogKind::Access, &records);
    }

    #[test]
    fn row_groups_are_bounded_by_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.parquet");
        let lines = lines(LogKind::Classic, 500);
        let records = parse_all(LogKind::Classic, &lines);
        let limits = RowGroupLimits {
            rows: usize::MAX,
            bytes: 16 * 1024,
        };
        assert_eq!(write_file(&path, &records, limits), 500);
        let meta = metadata(&path);
        assert!(meta.num_row_groups() > 3, "{}", meta.num_row_groups());
        assert_eq!(meta.file_metadata().num_rows(), 500);
        assert_rows_match(&path, LogKind::Classic, &records);
    }

    #[test]
    fn records_of_another_kind_keep_their_json_in_extra() {
        // An object of unknown kind: lines are sniffed one by one.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.parquet");
        let lines = [
            access_line(0),
            connection_line(0),
            access_line(5),
            nlb_line(0),
            classic_line(1),
            access_line(1),
        ];
        let records = parse_all(LogKind::Unknown, &lines);
        assert_eq!(records[1].kind(), LogKind::Connection);
        assert_eq!(write_file(&path, &records, RowGroupLimits::DEFAULT), 6);
        check_schema(&path, LogKind::Access);
        let rows = read_rows(&path);
        assert_eq!(rows.len(), 6);
        for (row, record) in rows.iter().zip(&records) {
            if record.kind() == LogKind::Access {
                continue;
            }
            for (name, field) in row {
                if name == "extra" {
                    let Field::ListInternal(list) = field else {
                        panic!("{field:?}")
                    };
                    let [Field::Str(kind), Field::Str(json)] = list.elements() else {
                        panic!("{list:?}")
                    };
                    assert_eq!(kind, record.kind().as_str());
                    let json: Value = serde_json::from_str(json).unwrap();
                    assert_eq!(json, Format::Flat.to_value(record));
                } else {
                    assert_eq!(field, &Field::Null, "{name}");
                }
            }
        }
        // The access rows are the access records' values.
        for i in [0, 2, 5] {
            assert_rows_equal(
                std::slice::from_ref(&rows[i]),
                LogKind::Access,
                &records[i..=i],
            );
        }
    }

    #[test]
    fn raw_files_take_other_kinds_in_log_kind_and_message() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.parquet");
        let health = b"health check: target 10.0.0.5 healthy".to_vec();
        let test_file = b"Enable AccessLog for ELB: my-lb at 2025-06-01T00:00:00.000Z".to_vec();
        let access = access_line(3);
        let records = vec![
            parse_line(LogKind::HealthCheck, &health).unwrap(),
            parse_line(LogKind::TestFile, &test_file).unwrap(),
            parse_line(LogKind::Access, &access).unwrap(),
        ];
        assert_eq!(write_file(&path, &records, RowGroupLimits::DEFAULT), 3);
        check_schema(&path, LogKind::HealthCheck);
        let rows = read_rows(&path);
        let text = |row: &Vec<(String, Field)>, i: usize| match &row[i].1 {
            Field::Str(s) => s.clone(),
            other => panic!("{other:?}"),
        };
        assert_eq!(text(&rows[0], 0), "health_check");
        assert_eq!(text(&rows[0], 1), "health check: target 10.0.0.5 healthy");
        // Same raw schema: a test-file record is a row of its own kind, not a fallback.
        assert_eq!(text(&rows[1], 0), "test_file");
        assert_eq!(
            text(&rows[1], 1),
            String::from_utf8(test_file.clone()).unwrap()
        );
        assert_eq!(text(&rows[2], 0), "access");
        let json: Value = serde_json::from_str(&text(&rows[2], 1)).unwrap();
        assert_eq!(json, Format::Flat.to_value(&records[2]));
        // The raw rows are exactly the flat JSON values too.
        assert_rows_equal(&rows[..2], LogKind::HealthCheck, &records[..2]);
    }

    #[test]
    fn a_file_without_records_is_valid_and_empty() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.parquet");
        assert_eq!(write_file(&path, &[], RowGroupLimits::DEFAULT), 0);
        check_schema(&path, LogKind::Unknown);
        let meta = metadata(&path);
        assert_eq!(meta.file_metadata().num_rows(), 0);
        assert_eq!(meta.num_row_groups(), 0);
        assert!(read_rows(&path).is_empty());
    }

    #[test]
    fn counters_beyond_bigint_are_null() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.parquet");
        let mut f: Vec<String> = ACCESS.iter().map(|s| s.to_string()).collect();
        f[10] = u64::MAX.to_string();
        f[11] = (i64::MAX as u64).to_string();
        let line = f.join(" ").into_bytes();
        let records = parse_all(LogKind::Access, std::slice::from_ref(&line));
        write_file(&path, &records, RowGroupLimits::DEFAULT);
        let rows = read_rows(&path);
        let get = |name: &str| rows[0].iter().find(|(n, _)| n == name).unwrap().1.clone();
        assert_eq!(get("received_bytes"), Field::Null);
        assert_eq!(get("sent_bytes"), Field::Long(i64::MAX));
        assert_rows_match(&path, LogKind::Access, &records);
    }

    #[test]
    fn strings_are_valid_utf8() {
        let mut out = Vec::new();
        push_utf8_lossy(&mut out, b"ok \xff\xfe caf\xc3\xa9 cut \xe2\x9c");
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "ok \u{fffd}\u{fffd} café cut \u{fffd}"
        );
    }
}
