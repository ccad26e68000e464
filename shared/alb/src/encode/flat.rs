//! Flat snake_case columns for Athena and Parquet: every column of the record's kind is always
//! written, `null` when absent, so each kind has one fixed schema. Column names follow the Athena
//! DDL in AWS's documentation for each log kind (`request_verb`, `lambda_error_reason`, ...), with
//! the same types, plus `extra` for unknown trailing fields. A later Parquet writer and the Athena
//! DDL generator read the schema from [`FLAT_COLUMNS`] and [`flat_columns`].

use super::json::JsonWriter;
use crate::kind::LogKind;
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

pub fn encode(record: &Record<'_>, out: &mut Vec<u8>) {
    match record {
        Record::Access(r) => access(r, out),
        Record::Connection(r) => connection(r, out),
        Record::Nlb(r) => nlb(r, out),
        Record::Classic(r) => classic(r, out),
        Record::HealthCheck(line) | Record::TestFile(line) => {
            let mut w = JsonWriter::new(out);
            w.str("log_kind", record.kind().as_str());
            w.text("message", *line);
            w.finish();
        }
    }
}

fn host_port(w: &mut JsonWriter<'_>, ip_key: &str, port_key: &str, hp: Option<&HostPort<'_>>) {
    match hp {
        Some(h) => w.str(ip_key, h.ip),
        None => w.null(ip_key),
    }
    w.u64_or_null(port_key, hp.and_then(|h| h.port).map(u64::from));
}

fn secs(w: &mut JsonWriter<'_>, key: &str, s: Seconds) {
    w.f64_or_null(key, s.logged());
}

fn code_as_str(w: &mut JsonWriter<'_>, key: &str, code: Option<u16>) {
    match code {
        Some(c) => w.str(key, itoa::Buffer::new().format(c)),
        None => w.null(key),
    }
}

fn extra(w: &mut JsonWriter<'_>, extra: crate::ExtraFields<'_>) {
    if extra.is_empty() {
        w.null("extra");
    } else {
        w.str_list("extra", extra.iter().map(|t| t.bytes()), true);
    }
}

pub fn access(r: &AccessRecord<'_>, out: &mut Vec<u8>) {
    let mut w = JsonWriter::new(out);
    w.text("type", r.request_type);
    w.timestamp("time", r.time);
    w.text("elb", r.elb);
    host_port(&mut w, "client_ip", "client_port", Some(&r.client));
    host_port(&mut w, "target_ip", "target_port", r.target.as_ref());
    secs(&mut w, "request_processing_time", r.request_processing_time);
    secs(&mut w, "target_processing_time", r.target_processing_time);
    secs(
        &mut w,
        "response_processing_time",
        r.response_processing_time,
    );
    w.u64_or_null("elb_status_code", r.elb_status_code.map(u64::from));
    code_as_str(&mut w, "target_status_code", r.target_status_code);
    w.u64_or_null("received_bytes", r.received_bytes);
    w.u64_or_null("sent_bytes", r.sent_bytes);
    w.text_or_null("request_verb", r.request.method);
    w.text_or_null("request_url", r.request.url);
    w.text_or_null("request_proto", r.request.version);
    w.text_or_null("user_agent", r.user_agent);
    w.text_or_null("ssl_cipher", r.ssl_cipher);
    w.text_or_null("ssl_protocol", r.ssl_protocol);
    w.text_or_null("target_group_arn", r.target_group_arn);
    w.text_or_null("trace_id", r.trace_id);
    w.text_or_null("domain_name", r.domain_name);
    w.text_or_null("chosen_cert_arn", r.chosen_cert_arn);
    match r.matched_rule_priority {
        Some(p) => w.str("matched_rule_priority", itoa::Buffer::new().format(p)),
        None => w.null("matched_rule_priority"),
    }
    match r.request_creation_time {
        Some(t) => w.timestamp("request_creation_time", t),
        None => w.null("request_creation_time"),
    }
    w.text_or_null("actions_executed", r.actions_executed);
    w.text_or_null("redirect_url", r.redirect_url);
    w.text_or_null("lambda_error_reason", r.error_reason);
    w.text_or_null(
        "target_port_list",
        r.target_port_list
            .filter(|l| !l.is_empty())
            .map(|l| l.text()),
    );
    w.text_or_null(
        "target_status_code_list",
        r.target_status_code_list
            .filter(|l| !l.is_empty())
            .map(|l| l.text()),
    );
    w.text_or_null("classification", r.classification);
    w.text_or_null("classification_reason", r.classification_reason);
    w.text_or_null("conn_trace_id", r.conn_trace_id);
    w.text_or_null("transformed_host", r.transformed_host);
    w.text_or_null("transformed_uri", r.transformed_uri);
    w.text_or_null("request_transform_status", r.request_transform_status);
    extra(&mut w, r.extra);
    w.finish();
}

pub fn connection(r: &ConnectionRecord<'_>, out: &mut Vec<u8>) {
    let mut w = JsonWriter::new(out);
    w.timestamp("time", r.time);
    w.text("client_ip", r.client_ip);
    w.u64_or_null("client_port", r.client_port.map(u64::from));
    w.u64_or_null("listener_port", r.listener_port.map(u64::from));
    w.text_or_null("tls_protocol", r.tls_protocol);
    w.text_or_null("tls_cipher", r.tls_cipher);
    secs(&mut w, "tls_handshake_latency", r.tls_handshake_latency);
    w.text_or_null("leaf_client_cert_subject", r.leaf_client_cert_subject);
    w.text_or_null(
        "leaf_client_cert_validity",
        r.leaf_client_cert_validity.map(|v| v.raw),
    );
    w.text_or_null(
        "leaf_client_cert_serial_number",
        r.leaf_client_cert_serial_number,
    );
    w.text_or_null("tls_verify_status", r.tls_verify_status);
    w.text_or_null("conn_trace_id", r.conn_trace_id);
    extra(&mut w, r.extra);
    w.finish();
}

pub fn nlb(r: &NlbRecord<'_>, out: &mut Vec<u8>) {
    let mut w = JsonWriter::new(out);
    w.text("type", r.log_type);
    w.text("version", r.version);
    w.timestamp("time", r.time);
    w.text("elb", r.elb);
    w.text("listener_id", r.listener);
    host_port(&mut w, "client_ip", "client_port", Some(&r.client));
    host_port(&mut w, "target_ip", "target_port", r.destination.as_ref());
    w.f64_or_null(
        "tcp_connection_time_ms",
        r.connection_time_ms.map(|v| v as f64),
    );
    w.f64_or_null(
        "tls_handshake_time_ms",
        r.tls_handshake_time_ms.map(|v| v as f64),
    );
    w.u64_or_null("received_bytes", r.received_bytes);
    w.u64_or_null("sent_bytes", r.sent_bytes);
    w.text_or_null("incoming_tls_alert", r.incoming_tls_alert);
    w.text_or_null("cert_arn", r.chosen_cert_arn);
    w.text_or_null("certificate_serial", r.chosen_cert_serial);
    w.text_or_null("tls_cipher_suite", r.tls_cipher);
    w.text_or_null("tls_protocol_version", r.tls_protocol_version);
    w.text_or_null("tls_named_group", r.tls_named_group);
    w.text_or_null("domain_name", r.domain_name);
    w.text_or_null("alpn_fe_protocol", r.alpn_fe_protocol);
    w.text_or_null("alpn_be_protocol", r.alpn_be_protocol);
    w.text_or_null("alpn_client_preference_list", r.alpn_client_preference_list);
    match r.tls_connection_creation_time {
        Some(t) => w.timestamp("tls_connection_creation_time", t),
        None => w.null("tls_connection_creation_time"),
    }
    extra(&mut w, r.extra);
    w.finish();
}

pub fn classic(r: &ClassicRecord<'_>, out: &mut Vec<u8>) {
    let mut w = JsonWriter::new(out);
    w.timestamp("request_timestamp", r.time);
    w.text("elb_name", r.elb);
    host_port(&mut w, "request_ip", "request_port", Some(&r.client));
    host_port(&mut w, "backend_ip", "backend_port", r.backend.as_ref());
    secs(&mut w, "request_processing_time", r.request_processing_time);
    secs(&mut w, "backend_processing_time", r.backend_processing_time);
    secs(&mut w, "client_response_time", r.response_processing_time);
    code_as_str(&mut w, "elb_response_code", r.elb_status_code);
    code_as_str(&mut w, "backend_response_code", r.backend_status_code);
    w.u64_or_null("received_bytes", r.received_bytes);
    w.u64_or_null("sent_bytes", r.sent_bytes);
    w.text_or_null("request_verb", r.request.method);
    w.text_or_null("url", r.request.url);
    w.text_or_null("protocol", r.request.version);
    w.text_or_null("user_agent", r.user_agent);
    w.text_or_null("ssl_cipher", r.ssl_cipher);
    w.text_or_null("ssl_protocol", r.ssl_protocol);
    extra(&mut w, r.extra);
    w.finish();
}
