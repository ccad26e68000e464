//! Vector-compatible output: the keys and value types of VRL's `parse_aws_alb_log` (access logs)
//! and `parse_aws_clb_log` (Classic ELB), so a Vector pipeline can switch without changes.
//!
//! Checked against the VRL source (`src/stdlib/parse_aws_alb_log.rs`): every key is always present
//! and `null` when the value is `-`; status codes, `matched_rule_priority` and
//! `request_creation_time` are strings; timings are floats (`-1` stays `-1.0`); byte counts are
//! integers; `actions_executed` is the comma-separated string; the two target lists are arrays of
//! strings (`[]` for `-`); `traceability_id` is the `conn_trace_id` field when it starts with
//! `TID_`, else `null`. Where Vector would fail the whole line (a `-` byte count or timing, a
//! 33-field line in strict mode) this encoder writes `null` for that value instead.
//!
//! Vector has no parser for connection or NLB logs: those records are written as [`super::flat`].

use super::json::JsonWriter;
use crate::{AccessRecord, ClassicRecord, Record};

pub fn encode(record: &Record<'_>, out: &mut Vec<u8>) {
    match record {
        Record::Access(r) => access(r, out),
        Record::Classic(r) => classic(r, out),
        _ => super::flat::encode(record, out),
    }
}

pub fn access(r: &AccessRecord<'_>, out: &mut Vec<u8>) {
    let mut w = JsonWriter::new(out);
    w.text("type", r.request_type);
    w.timestamp("timestamp", r.time);
    w.text("elb", r.elb);
    w.str("client_host", r.client.raw);
    match r.target {
        Some(t) => w.str("target_host", t.raw),
        None => w.null("target_host"),
    }
    w.f64_or_null(
        "request_processing_time",
        r.request_processing_time.logged(),
    );
    w.f64_or_null("target_processing_time", r.target_processing_time.logged());
    w.f64_or_null(
        "response_processing_time",
        r.response_processing_time.logged(),
    );
    status(&mut w, "elb_status_code", r.elb_status_code);
    status(&mut w, "target_status_code", r.target_status_code);
    w.u64_or_null("received_bytes", r.received_bytes);
    w.u64_or_null("sent_bytes", r.sent_bytes);
    w.text_or_null("request_method", r.request.method);
    w.text_or_null("request_url", r.request.url);
    w.text_or_null("request_protocol", r.request.version);
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
    w.text_or_null("error_reason", r.error_reason);
    w.str_list(
        "target_port_list",
        r.target_port_list
            .iter()
            .flat_map(|l| l.iter())
            .map(|t| t.bytes()),
        true,
    );
    w.str_list(
        "target_status_code_list",
        r.target_status_code_list
            .iter()
            .flat_map(|l| l.iter())
            .map(|t| t.bytes()),
        true,
    );
    w.text_or_null("classification", r.classification);
    w.text_or_null("classification_reason", r.classification_reason);
    w.text_or_null(
        "traceability_id",
        r.conn_trace_id.filter(|t| t.raw().starts_with(b"TID_")),
    );
    w.finish();
}

pub fn classic(r: &ClassicRecord<'_>, out: &mut Vec<u8>) {
    let mut w = JsonWriter::new(out);
    w.timestamp("time", r.time);
    w.text("elb", r.elb);
    w.str("client_host", r.client.raw);
    match r.backend {
        Some(t) => w.str("target_host", t.raw),
        None => w.null("target_host"),
    }
    w.f64_or_null(
        "request_processing_time",
        r.request_processing_time.logged(),
    );
    w.f64_or_null(
        "backend_processing_time",
        r.backend_processing_time.logged(),
    );
    w.f64_or_null(
        "response_processing_time",
        r.response_processing_time.logged(),
    );
    status(&mut w, "elb_status_code", r.elb_status_code);
    status(&mut w, "backend_status_code", r.backend_status_code);
    w.u64_or_null("received_bytes", r.received_bytes);
    w.u64_or_null("sent_bytes", r.sent_bytes);
    w.text_or_null("request_method", r.request.method);
    w.text_or_null("request_url", r.request.url);
    w.text_or_null("request_protocol", r.request.version);
    w.text_or_null("user_agent", r.user_agent);
    w.text_or_null("ssl_cipher", r.ssl_cipher);
    w.text_or_null("ssl_protocol", r.ssl_protocol);
    w.finish();
}

/// Vector keeps status codes as strings.
fn status(w: &mut JsonWriter<'_>, key: &str, code: Option<u16>) {
    match code {
        Some(c) => w.str(key, itoa::Buffer::new().format(c)),
        None => w.null(key),
    }
}
