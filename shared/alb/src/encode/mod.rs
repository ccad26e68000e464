//! Encoders: one JSON object per record, written straight into a `Vec<u8>`.
//!
//! - [`Format::Ecs`]: nested documents with the field names and types of Elastic's AWS integration
//!   (`aws.elb` data stream), so existing Kibana dashboards keep working.
//! - [`Format::Vrl`]: the flat keys and value types of Vector's `parse_aws_alb_log` (and
//!   `parse_aws_clb_log` for Classic ELB), so Vector pipelines keep working.
//! - [`Format::Flat`]: one key per column, always all of them, for Athena / Parquet
//!   ([`flat::FLAT_COLUMNS`]).

pub mod ecs;
pub mod flat;
pub mod json;
pub mod vrl;

use std::fmt;
use std::str::FromStr;

use crate::Record;

/// Output format of `fleetwatch alb parse --format ecs|vrl|flat`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Format {
    #[default]
    Ecs,
    Vrl,
    Flat,
}

impl Format {
    pub const ALL: [Format; 3] = [Format::Ecs, Format::Vrl, Format::Flat];

    pub fn as_str(self) -> &'static str {
        match self {
            Format::Ecs => "ecs",
            Format::Vrl => "vrl",
            Format::Flat => "flat",
        }
    }

    /// Appends one JSON object (no newline) for `record` to `out`.
    pub fn encode(self, record: &Record<'_>, out: &mut Vec<u8>) {
        match self {
            Format::Ecs => ecs::encode(record, out),
            Format::Vrl => vrl::encode(record, out),
            Format::Flat => flat::encode(record, out),
        }
    }

    /// The same object as a `serde_json::Value` (for tests and callers off the hot path).
    pub fn to_value(self, record: &Record<'_>) -> serde_json::Value {
        let mut out = Vec::new();
        self.encode(record, &mut out);
        // The writer only produces valid JSON; a failure here is a bug worth a loud message.
        serde_json::from_slice(&out).expect("encoder produced invalid JSON")
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `--format` value not one of `ecs`, `vrl`, `flat`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown format `{0}` (expected ecs, vrl or flat)")]
pub struct UnknownFormat(pub String);

impl FromStr for Format {
    type Err = UnknownFormat;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "ecs" => Ok(Format::Ecs),
            "vrl" => Ok(Format::Vrl),
            "flat" => Ok(Format::Flat),
            other => Err(UnknownFormat(other.to_string())),
        }
    }
}

/// One JSON object describing a line that did not parse, for `--errors` and dead-letter output:
/// `{"line":N,"kind":"access","code":"bad_number","reason":"bad number in field ...","raw":"..."}`.
/// `line_number` is 1-based; `raw` is the line as read (lossy UTF-8, escaped for JSON).
pub fn encode_error(
    line_number: u64,
    kind: crate::LogKind,
    error: &crate::ParseError,
    raw: &[u8],
    out: &mut Vec<u8>,
) {
    let mut w = json::JsonWriter::new(out);
    w.u64("line", line_number);
    w.str("kind", kind.as_str());
    w.str("code", error.code());
    // Error path only: the message is formatted into a String.
    w.str("reason", &error.to_string());
    w.bytes("raw", raw);
    w.finish();
}

/// A TLS version number as ECS writes it (`1.2`), built without allocating.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TlsVersion {
    buf: [u8; 16],
    len: usize,
}

impl TlsVersion {
    pub(crate) fn as_str(&self) -> &str {
        // Only ASCII digits and dots are ever stored.
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or("")
    }

    fn from_parts(parts: &[&[u8]]) -> Option<Self> {
        let mut v = TlsVersion {
            buf: [0; 16],
            len: 0,
        };
        for p in parts {
            let end = v.len + p.len();
            if end > v.buf.len() {
                return None;
            }
            v.buf[v.len..end].copy_from_slice(p);
            v.len = end;
        }
        Some(v)
    }
}

/// `TLSv1.2` -> (`tls`, `1.2`); `tlsv13` (NLB) -> (`tls`, `1.3`); `SSLv3` -> (`ssl`, `3.0`).
pub(crate) fn split_tls_protocol(raw: &[u8]) -> Option<(&'static str, TlsVersion)> {
    // What ALB writes on nearly every TLS line, answered without the general path.
    const fn version(digits: &[u8; 3]) -> TlsVersion {
        let mut buf = [0; 16];
        buf[0] = digits[0];
        buf[1] = digits[1];
        buf[2] = digits[2];
        TlsVersion { buf, len: 3 }
    }
    match raw {
        b"TLSv1.2" => return Some(("tls", version(b"1.2"))),
        b"TLSv1.3" => return Some(("tls", version(b"1.3"))),
        _ => {}
    }
    split_tls_protocol_general(raw)
}

fn split_tls_protocol_general(raw: &[u8]) -> Option<(&'static str, TlsVersion)> {
    let v = raw.iter().position(|&c| c == b'v' || c == b'V')?;
    let name = &raw[..v];
    let protocol = if name.eq_ignore_ascii_case(b"tls") {
        "tls"
    } else if name.eq_ignore_ascii_case(b"ssl") {
        "ssl"
    } else if name.eq_ignore_ascii_case(b"dtls") {
        "dtls"
    } else {
        return None;
    };
    let version = &raw[v + 1..];
    if version.is_empty() || !version.iter().all(|&c| c.is_ascii_digit() || c == b'.') {
        return None;
    }
    let version = if version.contains(&b'.') {
        TlsVersion::from_parts(&[version])
    } else if version.len() == 1 {
        TlsVersion::from_parts(&[version, b".0"])
    } else {
        TlsVersion::from_parts(&[&version[..1], b".", &version[1..]])
    }?;
    Some((protocol, version))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_protocol_names() {
        let cases: &[(&str, Option<(&str, &str)>)] = &[
            ("TLSv1.2", Some(("tls", "1.2"))),
            ("TLSv1.3", Some(("tls", "1.3"))),
            ("TLSv1", Some(("tls", "1.0"))),
            ("tlsv12", Some(("tls", "1.2"))),
            ("SSLv3", Some(("ssl", "3.0"))),
            ("-", None),
            ("TLS", None),
            ("TLSvX", None),
        ];
        for (raw, want) in cases {
            let got = split_tls_protocol(raw.as_bytes());
            assert_eq!(got.as_ref().map(|(p, v)| (*p, v.as_str())), *want, "{raw}");
            // The shortcut for the common values agrees with the general path.
            assert_eq!(got, split_tls_protocol_general(raw.as_bytes()), "{raw}");
        }
    }

    #[test]
    fn format_names_round_trip() {
        for f in Format::ALL {
            assert_eq!(f.as_str().parse::<Format>(), Ok(f));
        }
        assert!("json".parse::<Format>().is_err());
    }
}
