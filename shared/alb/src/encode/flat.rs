//! Flat snake_case columns for Athena and Parquet: every column of the record's kind is always
//! written, `null` when absent, so each kind has one fixed schema. Column names follow the Athena
//! DDL in AWS's documentation for each log kind (`request_verb`, `lambda_error_reason`, ...), with
//! the same types, plus `extra` for unknown trailing fields. The Parquet writer and the Athena DDL
//! generator read the schema from [`FLAT_COLUMNS`] and [`flat_columns`].
//!
//! The values of a record's columns come from one place, [`visit`]: it hands each column's
//! [`FlatValue`] to a [`FlatVisitor`], in [`flat_columns`] order. The JSON encoder here
//! ([`encode`]) and the Parquet writer (in the pipeline crate) are both visitors, so the two
//! outputs cannot drift apart.

use super::json::JsonWriter;
use crate::fields::ExtraFields;
use crate::kind::LogKind;
use crate::time::Timestamp;
use crate::tokenize::Text;
use crate::values::{HostPort, Seconds};
use crate::{AccessRecord, ClassicRecord, ConnectionRecord, NlbRecord, Record};

/// Column types, named as Athena names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlatType {
    String,
    Int,
    BigInt,
    Double,
    StringArray,
}

impl FlatType {
    pub fn athena_type(self) -> &'static str {
        match self {
            FlatType::String => "string",
            FlatType::Int => "int",
            FlatType::BigInt => "bigint",
            FlatType::Double => "double",
            FlatType::StringArray => "array<string>",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FlatColumn {
    pub name: &'static str,
    pub ty: FlatType,
}

const fn col(name: &'static str, ty: FlatType) -> FlatColumn {
    FlatColumn { name, ty }
}

use FlatType::{BigInt, Double, Int, String as Str, StringArray};

/// ALB access log columns (the stable contract; append only).
pub const FLAT_COLUMNS: &[FlatColumn] = &[
    col("type", Str),
    col("time", Str),
    col("elb", Str),
    col("client_ip", Str),
    col("client_port", Int),
    col("target_ip", Str),
    col("target_port", Int),
    col("request_processing_time", Double),
    col("target_processing_time", Double),
    col("response_processing_time", Double),
    col("elb_status_code", Int),
    col("target_status_code", Str),
    col("received_bytes", BigInt),
    col("sent_bytes", BigInt),
    col("request_verb", Str),
    col("request_url", Str),
    col("request_proto", Str),
    col("user_agent", Str),
    col("ssl_cipher", Str),
    col("ssl_protocol", Str),
    col("target_group_arn", Str),
    col("trace_id", Str),
    col("domain_name", Str),
    col("chosen_cert_arn", Str),
    col("matched_rule_priority", Str),
    col("request_creation_time", Str),
    col("actions_executed", Str),
    col("redirect_url", Str),
    col("lambda_error_reason", Str),
    col("target_port_list", Str),
    col("target_status_code_list", Str),
    col("classification", Str),
    col("classification_reason", Str),
    col("conn_trace_id", Str),
    col("transformed_host", Str),
    col("transformed_uri", Str),
    col("request_transform_status", Str),
    col("extra", StringArray),
];

/// ALB connection log columns.
pub const FLAT_CONNECTION_COLUMNS: &[FlatColumn] = &[
    col("time", Str),
    col("client_ip", Str),
    col("client_port", Int),
    col("listener_port", Int),
    col("tls_protocol", Str),
    col("tls_cipher", Str),
    col("tls_handshake_latency", Double),
    col("leaf_client_cert_subject", Str),
    col("leaf_client_cert_validity", Str),
    col("leaf_client_cert_serial_number", Str),
    col("tls_verify_status", Str),
    col("conn_trace_id", Str),
    col("extra", StringArray),
];

/// NLB TLS access log columns.
pub const FLAT_NLB_COLUMNS: &[FlatColumn] = &[
    col("type", Str),
    col("version", Str),
    col("time", Str),
    col("elb", Str),
    col("listener_id", Str),
    col("client_ip", Str),
    col("client_port", Int),
    col("target_ip", Str),
    col("target_port", Int),
    col("tcp_connection_time_ms", Double),
    col("tls_handshake_time_ms", Double),
    col("received_bytes", BigInt),
    col("sent_bytes", BigInt),
    col("incoming_tls_alert", Str),
    col("cert_arn", Str),
    col("certificate_serial", Str),
    col("tls_cipher_suite", Str),
    col("tls_protocol_version", Str),
    col("tls_named_group", Str),
    col("domain_name", Str),
    col("alpn_fe_protocol", Str),
    col("alpn_be_protocol", Str),
    col("alpn_client_preference_list", Str),
    col("tls_connection_creation_time", Str),
    col("extra", StringArray),
];

/// Classic ELB access log columns.
pub const FLAT_CLASSIC_COLUMNS: &[FlatColumn] = &[
    col("request_timestamp", Str),
    col("elb_name", Str),
    col("request_ip", Str),
    col("request_port", Int),
    col("backend_ip", Str),
    col("backend_port", Int),
    col("request_processing_time", Double),
    col("backend_processing_time", Double),
    col("client_response_time", Double),
    col("elb_response_code", Str),
    col("backend_response_code", Str),
    col("received_bytes", BigInt),
    col("sent_bytes", BigInt),
    col("request_verb", Str),
    col("url", Str),
    col("protocol", Str),
    col("user_agent", Str),
    col("ssl_cipher", Str),
    col("ssl_protocol", Str),
    col("extra", StringArray),
];

/// Health-check and test-file lines: the whole line.
pub const FLAT_RAW_COLUMNS: &[FlatColumn] = &[col("log_kind", Str), col("message", Str)];

/// The column list for records of `kind`.
pub fn flat_columns(kind: LogKind) -> &'static [FlatColumn] {
    match kind {
        LogKind::Access => FLAT_COLUMNS,
        LogKind::Connection => FLAT_CONNECTION_COLUMNS,
        LogKind::NlbTls => FLAT_NLB_COLUMNS,
        LogKind::Classic => FLAT_CLASSIC_COLUMNS,
        LogKind::HealthCheck | LogKind::TestFile | LogKind::Unknown => FLAT_RAW_COLUMNS,
    }
}

/// One column's value for one record, borrowed for the length of a [`FlatVisitor::value`] call
/// (strings point into the log line, or at a number formatted on the stack). Which variants a
/// column receives follows its [`FlatType`]:
///
/// | [`FlatType`] | variants |
/// | --- | --- |
/// | `String` | [`FlatValue::Str`], [`FlatValue::Text`], [`FlatValue::Null`] |
/// | `Int`, `BigInt` | [`FlatValue::UInt`], [`FlatValue::Null`] |
/// | `Double` | [`FlatValue::Double`], [`FlatValue::Null`] |
/// | `StringArray` | [`FlatValue::List`], [`FlatValue::Null`] |
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum FlatValue<'a> {
    /// Absent (`-`, a field the line's format version does not have, ...).
    Null,
    /// Text that needs no unescaping: timestamps as logged, addresses, formatted numbers, kind
    /// names.
    Str(&'a str),
    /// A field's text: ALB escapes are undone on demand ([`Text::bytes`], borrowed unless the
    /// field holds a backslash). The bytes may be invalid UTF-8: each encoder replaces invalid
    /// sequences with U+FFFD.
    Text(Text<'a>),
    /// An unsigned integer. `Int` columns only ever receive values up to `u16::MAX`; `BigInt`
    /// columns receive counters, which a writer with signed 64-bit storage must range-check.
    UInt(u64),
    /// A finite number (the parser rejects `inf` and `NaN`).
    Double(f64),
    /// The unknown trailing fields, split on demand ([`ExtraFields::iter`]). Never empty: an
    /// empty tail is [`FlatValue::Null`].
    List(ExtraFields<'a>),
}

/// Receives a record's column values from [`visit`].
pub trait FlatVisitor {
    /// Called once per column of [`flat_columns`]`(record.kind())`, in order; `col` is the
    /// column's index in that list.
    fn value(&mut self, col: usize, value: FlatValue<'_>);
}

/// Hands each column's value of `record` to `visitor`, in [`flat_columns`] order.
pub fn visit<V: FlatVisitor + ?Sized>(record: &Record<'_>, visitor: &mut V) {
    let mut e = Emit { v: visitor, col: 0 };
    match record {
        Record::Access(r) => access_values(r, &mut e),
        Record::Connection(r) => connection_values(r, &mut e),
        Record::Nlb(r) => nlb_values(r, &mut e),
        Record::Classic(r) => classic_values(r, &mut e),
        Record::HealthCheck(line) | Record::TestFile(line) => {
            e.put(FlatValue::Str(record.kind().as_str()));
            e.put(FlatValue::Text(*line));
        }
    }
    debug_assert_eq!(
        e.col,
        flat_columns(record.kind()).len(),
        "flat values out of step with the column list"
    );
}

pub fn encode(record: &Record<'_>, out: &mut Vec<u8>) {
    let mut json = JsonColumns {
        w: JsonWriter::new(out),
        columns: flat_columns(record.kind()),
    };
    visit(record, &mut json);
    json.w.finish();
}

pub fn access(r: &AccessRecord<'_>, out: &mut Vec<u8>) {
    encode(&Record::Access(*r), out);
}

pub fn connection(r: &ConnectionRecord<'_>, out: &mut Vec<u8>) {
    encode(&Record::Connection(*r), out);
}

pub fn nlb(r: &NlbRecord<'_>, out: &mut Vec<u8>) {
    encode(&Record::Nlb(*r), out);
}

pub fn classic(r: &ClassicRecord<'_>, out: &mut Vec<u8>) {
    encode(&Record::Classic(*r), out);
}

/// The JSON encoder as a visitor: one `"column": value` member per column, `null` when absent.
struct JsonColumns<'o> {
    w: JsonWriter<'o>,
    columns: &'static [FlatColumn],
}

impl FlatVisitor for JsonColumns<'_> {
    fn value(&mut self, col: usize, value: FlatValue<'_>) {
        let key = self.columns[col].name;
        match value {
            FlatValue::Null => self.w.null(key),
            FlatValue::Str(s) => self.w.str(key, s),
            FlatValue::Text(t) => self.w.text(key, t),
            FlatValue::UInt(n) => self.w.u64(key, n),
            FlatValue::Double(f) => self.w.f64(key, f),
            FlatValue::List(extra) => self.w.str_list(key, extra.iter().map(|t| t.bytes()), true),
        }
    }
}

/// Numbers the columns as they are emitted, so each kind's function below lists its values in
/// column order and nothing else.
struct Emit<'v, V: ?Sized> {
    v: &'v mut V,
    col: usize,
}

impl<V: FlatVisitor + ?Sized> Emit<'_, V> {
    #[inline]
    fn put(&mut self, value: FlatValue<'_>) {
        self.v.value(self.col, value);
        self.col += 1;
    }

    fn text(&mut self, t: Text<'_>) {
        self.put(FlatValue::Text(t));
    }

    fn opt_text(&mut self, t: Option<Text<'_>>) {
        self.put(t.map_or(FlatValue::Null, FlatValue::Text));
    }

    fn timestamp(&mut self, t: Timestamp<'_>) {
        self.put(FlatValue::Str(t.as_str()));
    }

    fn opt_timestamp(&mut self, t: Option<Timestamp<'_>>) {
        match t {
            Some(t) => self.timestamp(t),
            None => self.put(FlatValue::Null),
        }
    }

    fn uint(&mut self, n: Option<u64>) {
        self.put(n.map_or(FlatValue::Null, FlatValue::UInt));
    }

    fn double(&mut self, f: Option<f64>) {
        self.put(f.map_or(FlatValue::Null, FlatValue::Double));
    }

    /// The number as logged, `-1` included.
    fn secs(&mut self, s: Seconds) {
        self.double(s.logged());
    }

    /// `ip` and `port` columns.
    fn host_port(&mut self, hp: Option<&HostPort<'_>>) {
        self.put(hp.map_or(FlatValue::Null, |h| FlatValue::Str(h.ip)));
        self.uint(hp.and_then(|h| h.port).map(u64::from));
    }

    /// An integer in a `string` column (status codes, as AWS's DDL types them).
    fn int_as_str(&mut self, n: Option<impl itoa::Integer>) {
        match n {
            Some(n) => self.put(FlatValue::Str(itoa::Buffer::new().format(n))),
            None => self.put(FlatValue::Null),
        }
    }

    fn extra(&mut self, extra: ExtraFields<'_>) {
        if extra.is_empty() {
            self.put(FlatValue::Null);
        } else {
            self.put(FlatValue::List(extra));
        }
    }
}

fn access_values<V: FlatVisitor + ?Sized>(r: &AccessRecord<'_>, e: &mut Emit<'_, V>) {
    e.text(r.request_type);
    e.timestamp(r.time);
    e.text(r.elb);
    e.host_port(Some(&r.client));
    e.host_port(r.target.as_ref());
    e.secs(r.request_processing_time);
    e.secs(r.target_processing_time);
    e.secs(r.response_processing_time);
    e.uint(r.elb_status_code.map(u64::from));
    e.int_as_str(r.target_status_code);
    e.uint(r.received_bytes);
    e.uint(r.sent_bytes);
    e.opt_text(r.request.method);
    e.opt_text(r.request.url);
    e.opt_text(r.request.version);
    e.opt_text(r.user_agent);
    e.opt_text(r.ssl_cipher);
    e.opt_text(r.ssl_protocol);
    e.opt_text(r.target_group_arn);
    e.opt_text(r.trace_id);
    e.opt_text(r.domain_name);
    e.opt_text(r.chosen_cert_arn);
    e.int_as_str(r.matched_rule_priority);
    e.opt_timestamp(r.request_creation_time);
    e.opt_text(r.actions_executed);
    e.opt_text(r.redirect_url);
    e.opt_text(r.error_reason);
    e.opt_text(
        r.target_port_list
            .filter(|l| !l.is_empty())
            .map(|l| l.text()),
    );
    e.opt_text(
        r.target_status_code_list
            .filter(|l| !l.is_empty())
            .map(|l| l.text()),
    );
    e.opt_text(r.classification);
    e.opt_text(r.classification_reason);
    e.opt_text(r.conn_trace_id);
    e.opt_text(r.transformed_host);
    e.opt_text(r.transformed_uri);
    e.opt_text(r.request_transform_status);
    e.extra(r.extra);
}

fn connection_values<V: FlatVisitor + ?Sized>(r: &ConnectionRecord<'_>, e: &mut Emit<'_, V>) {
    e.timestamp(r.time);
    e.text(r.client_ip);
    e.uint(r.client_port.map(u64::from));
    e.uint(r.listener_port.map(u64::from));
    e.opt_text(r.tls_protocol);
    e.opt_text(r.tls_cipher);
    e.secs(r.tls_handshake_latency);
    e.opt_text(r.leaf_client_cert_subject);
    e.opt_text(r.leaf_client_cert_validity.map(|v| v.raw));
    e.opt_text(r.leaf_client_cert_serial_number);
    e.opt_text(r.tls_verify_status);
    e.opt_text(r.conn_trace_id);
    e.extra(r.extra);
}

fn nlb_values<V: FlatVisitor + ?Sized>(r: &NlbRecord<'_>, e: &mut Emit<'_, V>) {
    e.text(r.log_type);
    e.text(r.version);
    e.timestamp(r.time);
    e.text(r.elb);
    e.text(r.listener);
    e.host_port(Some(&r.client));
    e.host_port(r.destination.as_ref());
    e.double(r.connection_time_ms.map(|v| v as f64));
    e.double(r.tls_handshake_time_ms.map(|v| v as f64));
    e.uint(r.received_bytes);
    e.uint(r.sent_bytes);
    e.opt_text(r.incoming_tls_alert);
    e.opt_text(r.chosen_cert_arn);
    e.opt_text(r.chosen_cert_serial);
    e.opt_text(r.tls_cipher);
    e.opt_text(r.tls_protocol_version);
    e.opt_text(r.tls_named_group);
    e.opt_text(r.domain_name);
    e.opt_text(r.alpn_fe_protocol);
    e.opt_text(r.alpn_be_protocol);
    e.opt_text(r.alpn_client_preference_list);
    e.opt_timestamp(r.tls_connection_creation_time);
    e.extra(r.extra);
}

fn classic_values<V: FlatVisitor + ?Sized>(r: &ClassicRecord<'_>, e: &mut Emit<'_, V>) {
    e.timestamp(r.time);
    e.text(r.elb);
    e.host_port(Some(&r.client));
    e.host_port(r.backend.as_ref());
    e.secs(r.request_processing_time);
    e.secs(r.backend_processing_time);
    e.secs(r.response_processing_time);
    e.int_as_str(r.elb_status_code);
    e.int_as_str(r.backend_status_code);
    e.uint(r.received_bytes);
    e.uint(r.sent_bytes);
    e.opt_text(r.request.method);
    e.opt_text(r.request.url);
    e.opt_text(r.request.version);
    e.opt_text(r.user_agent);
    e.opt_text(r.ssl_cipher);
    e.opt_text(r.ssl_protocol);
    e.extra(r.extra);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse_line;

    const ACCESS: &str = r#"http 2018-07-02T22:23:00.186641Z app/my-lb/50dc6c495c0c9188 192.168.131.39:2817 10.0.0.1:80 0.000 0.001 0.000 200 200 34 366 "GET http://www.example.com:80/ HTTP/1.1" "curl/7.46.0" - - arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067 "Root=1-58337262-36d228ad5d99923122bbe354" "-" "-" 0 2018-07-02T22:22:48.364000Z "forward" "-" "-" "10.0.0.1:80" "200" "-" "-" TID_1234 "-" "-" "-" extra1 "extra 2""#;
    const DASHES: &str = r#"http 2018-07-02T22:23:00.186641Z app/my-lb/50dc6c495c0c9188 [2001:db8::1]:2817 - -1 -1 -1 460 - 34 - "- http://www.example.com:80- -" "-" - - - "-" "-" "-" - - "-" "-" "-" "-" "-" "-" "-" - "-" "-" "-""#;
    const CONNECTION: &str = r#"2025-06-01T12:34:56.123456Z 203.0.113.7 51234 443 TLSv1.3 TLS_AES_128_GCM_SHA256 0.004 "CN=client" NotBefore=2025-01-01T00:00:00Z;NotAfter=2026-01-01T00:00:00Z 0f3a Success TID_0a"#;
    const NLB: &str = r#"tls 2.0 2025-06-01T12:35:10.654321Z net/edge-nlb/c6e77e28c25b2234 0aa1bb2cc3dd4ee5 198.51.100.23:40123 10.0.2.5:443 1250 31 380 4120 - arn:aws:acm:eu-west-1:111122223333:certificate/x - ECDHE-RSA-AES128-GCM-SHA256 tlsv12 secp256r1 edge.example.com h2 h2 "h2","http/1.1" 2025-06-01T12:35:09.404321Z"#;
    const CLASSIC: &str = r#"2016-03-11T08:15:02.123456Z legacy-web 198.51.100.9:3312 - -1 -1 -1 504 - 0 0 "GET https://legacy.example.com:443/index.html HTTP/1.1" "curl/8.5.0" - -"#;

    /// Records what the visitor receives, checking order and variant against the column type.
    struct Checker {
        columns: &'static [FlatColumn],
        next: usize,
        nulls: usize,
    }

    impl FlatVisitor for Checker {
        fn value(&mut self, col: usize, value: FlatValue<'_>) {
            assert_eq!(col, self.next, "columns out of order");
            self.next += 1;
            let c = self.columns[col];
            let ok = match (c.ty, value) {
                (_, FlatValue::Null) => {
                    self.nulls += 1;
                    true
                }
                (FlatType::String, FlatValue::Str(_) | FlatValue::Text(_)) => true,
                (FlatType::Int, FlatValue::UInt(n)) => n <= u64::from(u16::MAX),
                (FlatType::BigInt, FlatValue::UInt(_)) => true,
                (FlatType::Double, FlatValue::Double(f)) => f.is_finite(),
                (FlatType::StringArray, FlatValue::List(l)) => !l.is_empty(),
                _ => false,
            };
            assert!(ok, "column {} ({:?}) got {value:?}", c.name, c.ty);
        }
    }

    #[test]
    fn values_follow_the_column_list_and_types() {
        let cases: &[(LogKind, &str, usize)] = &[
            (LogKind::Access, ACCESS, 11),
            (LogKind::Access, DASHES, 27),
            (LogKind::Connection, CONNECTION, 1),
            (LogKind::NlbTls, NLB, 3),
            (LogKind::Classic, CLASSIC, 6),
            (LogKind::HealthCheck, "anything at all", 0),
            (LogKind::TestFile, "Enable AccessLog for ELB: x", 0),
        ];
        for (kind, line, nulls) in cases {
            let record = parse_line(*kind, line.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
            let mut checker = Checker {
                columns: flat_columns(*kind),
                next: 0,
                nulls: 0,
            };
            visit(&record, &mut checker);
            assert_eq!(checker.next, checker.columns.len(), "{kind}");
            assert_eq!(checker.nulls, *nulls, "{kind}: {line}");
        }
    }

    #[test]
    fn json_is_the_visitor_output() {
        let record = parse_line(LogKind::Access, ACCESS.as_bytes()).unwrap();
        let mut out = Vec::new();
        encode(&record, &mut out);
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["client_port"], 2817);
        assert_eq!(v["target_status_code"], "200");
        assert_eq!(v["matched_rule_priority"], "0");
        assert_eq!(v["extra"], serde_json::json!(["extra1", "extra 2"]));
        let mut direct = Vec::new();
        let Record::Access(r) = &record else {
            unreachable!()
        };
        access(r, &mut direct);
        assert_eq!(out, direct);
    }
}
