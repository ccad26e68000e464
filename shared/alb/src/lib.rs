//! Load balancer log parsing and encoding: ALB access and connection logs, NLB TLS logs, Classic
//! ELB logs. Pure: no I/O, no clock, no environment. Records borrow the line's bytes; escapes are
//! undone and strings produced only when an encoder or caller asks.
//!
//! Entry points: [`LogKind::from_key`] / [`parse_key`] (what an S3 key holds), [`parse_line`] (one
//! line of a file of that kind, confirmed against the content), [`encode::Format::encode`] (one
//! JSON object per record: `ecs`, `vrl` or `flat`), [`encode::flat::FLAT_COLUMNS`] (the stable
//! column schema).
//!
//! ```
//! use fleetwatch_alb::{LogKind, Record, encode::Format, parse_line};
//!
//! let line = br#"http 2018-07-02T22:23:00.186641Z app/my-lb/50dc6c495c0c9188 192.168.131.39:2817 10.0.0.1:80 0.000 0.001 0.000 200 200 34 366 "GET http://www.example.com:80/ HTTP/1.1" "curl/7.46.0" - - arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067 "Root=1-58337262-36d228ad5d99923122bbe354" "-" "-" 0 2018-07-02T22:22:48.364000Z "forward" "-" "-" "10.0.0.1:80" "200" "-" "-" TID_1234 "-" "-" "-""#;
//! let record = parse_line(LogKind::Access, line).unwrap();
//! let Record::Access(access) = &record else { unreachable!() };
//! assert_eq!(access.elb_status_code, Some(200));
//! let mut out = Vec::new();
//! Format::Ecs.encode(&record, &mut out);
//! assert!(out.starts_with(b"{"));
//! ```

mod access;
mod classic;
mod connection;
pub mod encode;
mod error;
mod fields;
mod kind;
mod nlb;
mod time;
mod tokenize;
mod url;
mod values;

pub use access::{AccessRecord, TargetList, parse_access};
pub use classic::{ClassicRecord, parse_classic};
pub use connection::{CertValidity, ConnectionRecord, VerifyStatus, parse_connection};
pub use error::ParseError;
pub use fields::ExtraFields;
pub use kind::{DatePartition, KeyInfo, LogKind, parse_key, sniff_kind};
pub use nlb::{NlbRecord, parse_nlb};
pub use time::Timestamp;
pub use tokenize::{Text, Token, Tokenizer, escape_into, unescape};
pub use url::UrlParts;
pub use values::{HostPort, Request, Seconds};

/// One parsed line of any kind.
// The access variant is large (~800 bytes of borrowed slices), but a record lives on the stack for
// one line; boxing it would add an allocation per line to the hot path.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Record<'a> {
    Access(AccessRecord<'a>),
    Connection(ConnectionRecord<'a>),
    Nlb(NlbRecord<'a>),
    Classic(ClassicRecord<'a>),
    /// Health-check log lines, kept whole: AWS documented their fields only in November 2025
    /// (`type time latency target:port target_group status status_code reason ...`).
    HealthCheck(Text<'a>),
    /// The one line of `ELBAccessLogTestFile`.
    TestFile(Text<'a>),
}

impl Record<'_> {
    pub fn kind(&self) -> LogKind {
        match self {
            Record::Access(_) => LogKind::Access,
            Record::Connection(_) => LogKind::Connection,
            Record::Nlb(_) => LogKind::NlbTls,
            Record::Classic(_) => LogKind::Classic,
            Record::HealthCheck(_) => LogKind::HealthCheck,
            Record::TestFile(_) => LogKind::TestFile,
        }
    }

    /// The record's time, when its kind has one.
    pub fn time(&self) -> Option<Timestamp<'_>> {
        match self {
            Record::Access(r) => Some(r.time),
            Record::Connection(r) => Some(r.time),
            Record::Nlb(r) => Some(r.time),
            Record::Classic(r) => Some(r.time),
            Record::HealthCheck(_) | Record::TestFile(_) => None,
        }
    }
}

/// Parses one line of a file of the given kind (from [`LogKind::from_key`]). A trailing `\n` or
/// `\r\n` is ignored. With [`LogKind::Unknown`] the content decides ([`sniff_kind`]).
///
/// A line that does not fit its kind fails with the reason; when it looks like another kind the
/// reason is [`ParseError::NotThisKind`].
pub fn parse_line(kind: LogKind, line: &[u8]) -> Result<Record<'_>, ParseError> {
    let line = trim_line_ending(line);
    if line.is_empty() {
        return Err(ParseError::EmptyLine);
    }
    let kind = match kind {
        LogKind::Unknown => sniff_kind(line).ok_or(ParseError::Unrecognized)?,
        k => k,
    };
    let result = match kind {
        LogKind::Access => parse_access(line).map(Record::Access),
        LogKind::Connection => parse_connection(line).map(Record::Connection),
        LogKind::NlbTls => parse_nlb(line).map(Record::Nlb),
        LogKind::Classic => parse_classic(line).map(Record::Classic),
        LogKind::HealthCheck => return Ok(Record::HealthCheck(Text::literal(line))),
        LogKind::TestFile => return Ok(Record::TestFile(Text::literal(line))),
        LogKind::Unknown => return Err(ParseError::Unrecognized),
    };
    // Only a failing line pays for the second look: is it another kind's line?
    result.map_err(|err| match sniff_kind(line) {
        Some(found) if found != kind => ParseError::NotThisKind {
            expected: kind,
            found: Some(found),
        },
        _ => err,
    })
}

fn trim_line_ending(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}
