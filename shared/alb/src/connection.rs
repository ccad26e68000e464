//! Application Load Balancer connection log lines (TLS handshakes, mTLS client certificates).

use crate::error::ParseError;
use crate::fields::{ExtraFields, Fields, opt_text, timestamp};
use crate::time::Timestamp;
use crate::tokenize::Text;
use crate::values::{Seconds, parse_u16};

/// `time` through `tls_verify_status`; `conn_trace_id` came later and may be missing.
pub const CONNECTION_REQUIRED_FIELDS: usize = 11;

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ConnectionRecord<'a> {
    pub time: Timestamp<'a>,
    pub client_ip: Text<'a>,
    pub client_port: Option<u16>,
    pub listener_port: Option<u16>,
    pub tls_protocol: Option<Text<'a>>,
    pub tls_cipher: Option<Text<'a>>,
    /// Seconds.
    pub tls_handshake_latency: Seconds,
    pub leaf_client_cert_subject: Option<Text<'a>>,
    pub leaf_client_cert_validity: Option<CertValidity<'a>>,
    pub leaf_client_cert_serial_number: Option<Text<'a>>,
    /// `Success` or `Failed:<reason>` as written; see [`ConnectionRecord::verify_status`].
    pub tls_verify_status: Option<Text<'a>>,
    pub conn_trace_id: Option<Text<'a>>,
    pub extra: ExtraFields<'a>,
}

impl<'a> ConnectionRecord<'a> {
    /// The verification result, split into success or failure with its reason.
    pub fn verify_status(&self) -> Option<VerifyStatus<'a>> {
        self.tls_verify_status.map(VerifyStatus::parse)
    }
}

/// `NotBefore=<time>;NotAfter=<time>` (either part may be missing; the raw text is kept).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CertValidity<'a> {
    pub raw: Text<'a>,
    pub not_before: Option<Text<'a>>,
    pub not_after: Option<Text<'a>>,
}

impl<'a> CertValidity<'a> {
    pub fn parse(raw: Text<'a>) -> Self {
        let mut v = CertValidity {
            raw,
            not_before: None,
            not_after: None,
        };
        let mut offset = 0;
        for piece in raw.raw().split(|&c| c == b';') {
            let value_at = |prefix: &[u8]| {
                piece
                    .starts_with(prefix)
                    .then(|| raw.slice(offset + prefix.len()..offset + piece.len()))
            };
            if let Some(t) = value_at(b"NotBefore=") {
                v.not_before = Some(t);
            } else if let Some(t) = value_at(b"NotAfter=") {
                v.not_after = Some(t);
            }
            offset += piece.len() + 1;
        }
        v
    }
}

/// `Success`, or `Failed:<reason>`; anything else is kept as `Other`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VerifyStatus<'a> {
    Success,
    Failed(Text<'a>),
    Other(Text<'a>),
}

impl<'a> VerifyStatus<'a> {
    pub fn parse(raw: Text<'a>) -> Self {
        let b = raw.raw();
        if b == b"Success" {
            VerifyStatus::Success
        } else if b.starts_with(b"Failed:") {
            VerifyStatus::Failed(raw.slice(7..b.len()))
        } else {
            VerifyStatus::Other(raw)
        }
    }
}

pub fn parse_connection(line: &[u8]) -> Result<ConnectionRecord<'_>, ParseError> {
    let mut f = Fields::new(line, CONNECTION_REQUIRED_FIELDS);
    let time = timestamp(f.next()?, "time")?;
    let client_ip = f.next()?.text();
    let port = |t: crate::tokenize::Token<'_>, field| {
        if t.is_dash() {
            Ok(None)
        } else {
            parse_u16(t.raw())
                .map(Some)
                .ok_or(ParseError::BadNumber { field })
        }
    };
    let client_port = port(f.next()?, "client_port")?;
    let listener_port = port(f.next()?, "listener_port")?;
    let tls_protocol = f.next()?.value();
    let tls_cipher = f.next()?.value();
    let tls_handshake_latency = Seconds::parse(f.next()?, "tls_handshake_latency")?;
    let leaf_client_cert_subject = f.next()?.value();
    let leaf_client_cert_validity = f.next()?.value().map(CertValidity::parse);
    let leaf_client_cert_serial_number = f.next()?.value();
    let tls_verify_status = f.next()?.value();
    let conn_trace_id = opt_text(f.optional()?);
    let extra = ExtraFields::new(f.rest());
    Ok(ConnectionRecord {
        time,
        client_ip,
        client_port,
        listener_port,
        tls_protocol,
        tls_cipher,
        tls_handshake_latency,
        leaf_client_cert_subject,
        leaf_client_cert_validity,
        leaf_client_cert_serial_number,
        tls_verify_status,
        conn_trace_id,
        extra,
    })
}
