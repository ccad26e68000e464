//! ECS documents shaped like those of Elastic's AWS integration (`aws.elb` data stream, its ingest
//! pipeline `elb_logs`): same field names, same types (`aws.elb.backend.port` and the target lists
//! are keywords, so strings; status codes and byte counts are longs). Absent values are omitted.
//!
//! As in Elastic's pipeline, `aws.elb.type` is the log's own type field (`http`, `https`, `h2`,
//! `tls`, ...) and `aws.elb.protocol` is `http` or `tcp`. The load balancer family
//! (`application`/`network`/`classic`) goes to `aws.elb.load_balancer_type`, and the log kind
//! (`access`, `connection`, ...) to `aws.elb.log_kind`; neither exists in Elastic's mapping.

use std::net::IpAddr;

use super::json::JsonWriter;
use super::split_tls_protocol;
use crate::tokenize::Text;
use crate::values::{HostPort, Request};
use crate::{AccessRecord, ClassicRecord, ConnectionRecord, NlbRecord, Record, VerifyStatus};

pub fn encode(record: &Record<'_>, out: &mut Vec<u8>) {
    match record {
        Record::Access(r) => access(r, out),
        Record::Connection(r) => connection(r, out),
        Record::Nlb(r) => nlb(r, out),
        Record::Classic(r) => classic(r, out),
        Record::HealthCheck(line) | Record::TestFile(line) => {
            let mut w = JsonWriter::new(out);
            w.text("message", *line);
            w.begin("event");
            w.str("kind", "event");
            w.end();
            w.begin("cloud");
            w.str("provider", "aws");
            w.end();
            w.begin("aws");
            w.begin("elb");
            w.str("log_kind", record.kind().as_str());
            w.end();
            w.end();
            w.finish();
        }
    }
}

pub fn access(r: &AccessRecord<'_>, out: &mut Vec<u8>) {
    let mut w = JsonWriter::new(out);
    w.timestamp("@timestamp", r.time);
    event(
        &mut w,
        "web",
        status_outcome(r.elb_status_code),
        r.request_creation_time.map(|t| t.as_str()),
        r.time.as_str(),
    );
    cloud(&mut w);
    source(&mut w, &r.client, None);
    w.begin("destination");
    w.opt_text(
        "domain",
        r.domain_name
            .map(|d| d.trim_spaces())
            .filter(|d| !d.is_empty()),
    );
    w.end();
    http(
        &mut w,
        &r.request,
        r.elb_status_code,
        r.received_bytes,
        r.sent_bytes,
    );
    url(&mut w, &r.request);
    w.begin("user_agent");
    w.opt_text("original", r.user_agent);
    w.end();
    tls(&mut w, r.ssl_cipher, r.ssl_protocol);
    w.begin("trace");
    w.opt_text("id", r.trace_id);
    w.end();

    w.begin("aws");
    w.begin("elb");
    w.text("name", r.elb);
    w.text("type", r.request_type);
    w.str("protocol", "http");
    w.str("load_balancer_type", "application");
    w.str("log_kind", "access");
    backend(&mut w, r.target.as_ref(), r.target_status_code);
    seconds(
        &mut w,
        "request_processing_time",
        r.request_processing_time.get(),
    );
    seconds(
        &mut w,
        "backend_processing_time",
        r.target_processing_time.get(),
    );
    seconds(
        &mut w,
        "response_processing_time",
        r.response_processing_time.get(),
    );
    w.begin("target_group");
    w.opt_text("arn", r.target_group_arn);
    w.end();
    w.opt_text("trace_id", r.trace_id);
    if let Some(p) = r.matched_rule_priority {
        w.str("matched_rule_priority", itoa::Buffer::new().format(p));
    }
    w.str_list("action_executed", r.actions().map(|t| t.bytes()), false);
    if let Some(list) = r.target_port_list {
        w.str_list("target_port", list.iter().map(|t| t.bytes()), false);
    }
    if let Some(list) = r.target_status_code_list {
        w.str_list("target_status_code", list.iter().map(|t| t.bytes()), false);
    }
    w.opt_text("classification", r.classification);
    w.opt_text("classification_reason", r.classification_reason);
    w.opt_text("redirect_url", r.redirect_url);
    w.begin("error");
    w.opt_text("reason", r.error_reason);
    w.end();
    w.begin("chosen_cert");
    w.opt_text("arn", r.chosen_cert_arn);
    w.end();
    w.opt_text("ssl_cipher", r.ssl_cipher);
    w.opt_text("ssl_protocol", r.ssl_protocol);
    w.opt_text("connection_trace_id", r.conn_trace_id);
    w.opt_text("transformed_host", r.transformed_host);
    w.opt_text("transformed_uri", r.transformed_uri);
    w.opt_text("request_transform_status", r.request_transform_status);
    w.str_list("extra", r.extra.iter().map(|t| t.bytes()), false);
    w.end();
    w.end();
    w.finish();
}

pub fn classic(r: &ClassicRecord<'_>, out: &mut Vec<u8>) {
    let is_http = r.is_http();
    let mut w = JsonWriter::new(out);
    w.timestamp("@timestamp", r.time);
    event(
        &mut w,
        if is_http { "web" } else { "network" },
        status_outcome(r.elb_status_code),
        None,
        r.time.as_str(),
    );
    cloud(&mut w);
    if is_http {
        source(&mut w, &r.client, None);
        http(
            &mut w,
            &r.request,
            r.elb_status_code,
            r.received_bytes,
            r.sent_bytes,
        );
        url(&mut w, &r.request);
    } else {
        // TCP/SSL listeners: bytes belong to the connection, as in Elastic's ELBTCPLOG pattern.
        source(&mut w, &r.client, r.received_bytes);
        w.begin("destination");
        w.opt_u64("bytes", r.sent_bytes);
        w.end();
    }
    w.begin("user_agent");
    w.opt_text("original", r.user_agent);
    w.end();
    tls(&mut w, r.ssl_cipher, r.ssl_protocol);
    w.begin("aws");
    w.begin("elb");
    w.text("name", r.elb);
    w.str("protocol", if is_http { "http" } else { "tcp" });
    w.str("load_balancer_type", "classic");
    w.str("log_kind", "classic");
    backend(&mut w, r.backend.as_ref(), r.backend_status_code);
    seconds(
        &mut w,
        "request_processing_time",
        r.request_processing_time.get(),
    );
    seconds(
        &mut w,
        "backend_processing_time",
        r.backend_processing_time.get(),
    );
    seconds(
        &mut w,
        "response_processing_time",
        r.response_processing_time.get(),
    );
    w.opt_text("ssl_cipher", r.ssl_cipher);
    w.opt_text("ssl_protocol", r.ssl_protocol);
    w.str_list("extra", r.extra.iter().map(|t| t.bytes()), false);
    w.end();
    w.end();
    w.finish();
}

pub fn nlb(r: &NlbRecord<'_>, out: &mut Vec<u8>) {
    let mut w = JsonWriter::new(out);
    w.timestamp("@timestamp", r.time);
    event(
        &mut w,
        "network",
        None,
        r.tls_connection_creation_time.map(|t| t.as_str()),
        r.time.as_str(),
    );
    cloud(&mut w);
    source(&mut w, &r.client, r.received_bytes);
    w.begin("destination");
    w.opt_u64("bytes", r.sent_bytes);
    w.opt_text(
        "domain",
        r.domain_name
            .map(|d| d.trim_spaces())
            .filter(|d| !d.is_empty()),
    );
    w.end();
    tls(&mut w, r.tls_cipher, r.tls_protocol_version);
    w.begin("aws");
    w.begin("elb");
    w.text("name", r.elb);
    w.text("type", r.log_type);
    w.str("protocol", "tcp");
    w.str("load_balancer_type", "network");
    w.str("log_kind", "nlb_tls");
    w.text("version", r.version);
    w.text("listener", r.listener);
    backend(&mut w, r.destination.as_ref(), None);
    w.begin("connection_time");
    w.opt_u64("ms", r.connection_time_ms);
    w.end();
    w.begin("tls_handshake_time");
    w.opt_u64("ms", r.tls_handshake_time_ms);
    w.end();
    w.opt_text("incoming_tls_alert", r.incoming_tls_alert);
    w.begin("chosen_cert");
    w.opt_text("arn", r.chosen_cert_arn);
    w.opt_text("serial", r.chosen_cert_serial);
    w.end();
    w.opt_text("ssl_cipher", r.tls_cipher);
    w.opt_text("ssl_protocol", r.tls_protocol_version);
    w.opt_text("tls_named_group", r.tls_named_group);
    w.opt_text("alpn_fe_protocol", r.alpn_fe_protocol);
    w.opt_text("alpn_be_protocol", r.alpn_be_protocol);
    w.str_list(
        "alpn_client_preference_list",
        r.alpn_client_preferences().map(|t| t.bytes()),
        false,
    );
    w.str_list("extra", r.extra.iter().map(|t| t.bytes()), false);
    w.end();
    w.end();
    w.finish();
}

pub fn connection(r: &ConnectionRecord<'_>, out: &mut Vec<u8>) {
    let mut w = JsonWriter::new(out);
    w.timestamp("@timestamp", r.time);
    let outcome = r.verify_status().map(|status| match status {
        VerifyStatus::Success => "success",
        VerifyStatus::Failed(_) => "failure",
        VerifyStatus::Other(_) => "unknown",
    });
    event(&mut w, "network", outcome, None, r.time.as_str());
    cloud(&mut w);
    w.begin("source");
    w.text("address", r.client_ip);
    if is_ip(r.client_ip.raw()) {
        w.text("ip", r.client_ip);
    }
    w.opt_u64("port", r.client_port.map(u64::from));
    w.end();
    w.begin("destination");
    w.opt_u64("port", r.listener_port.map(u64::from));
    w.end();
    // One `tls` object: the shared helper's fields plus the client certificate.
    w.begin("tls");
    tls_members(&mut w, r.tls_cipher, r.tls_protocol);
    w.begin("client");
    w.opt_text("subject", r.leaf_client_cert_subject);
    if let Some(v) = r.leaf_client_cert_validity {
        // Both are `date` in ECS: a value that is not a timestamp would get the document rejected.
        let is_date = |t: &Text<'_>| crate::time::Timestamp::parse(t.raw()).is_some();
        w.opt_text("not_before", v.not_before.filter(is_date));
        w.opt_text("not_after", v.not_after.filter(is_date));
    }
    w.begin("x509");
    w.opt_text("serial_number", r.leaf_client_cert_serial_number);
    w.end();
    w.end();
    w.end();
    w.begin("aws");
    w.begin("elb");
    w.str("load_balancer_type", "application");
    w.str("log_kind", "connection");
    w.begin("tls_handshake_latency");
    w.opt_f64("sec", r.tls_handshake_latency.get());
    w.end();
    match r.verify_status() {
        Some(VerifyStatus::Success) => w.str("tls_verify_status", "Success"),
        Some(VerifyStatus::Failed(reason)) => {
            w.str("tls_verify_status", "Failed");
            w.text("tls_verify_failure_reason", reason);
        }
        Some(VerifyStatus::Other(raw)) => w.text("tls_verify_status", raw),
        None => {}
    }
    w.opt_text("connection_trace_id", r.conn_trace_id);
    w.str_list("extra", r.extra.iter().map(|t| t.bytes()), false);
    w.end();
    w.end();
    w.finish();
}

/// ECS `event.outcome` from the status the load balancer sent, as Elastic's pipeline does.
fn status_outcome(status: Option<u16>) -> Option<&'static str> {
    status.map(|s| if s < 400 { "success" } else { "failure" })
}

fn event(
    w: &mut JsonWriter<'_>,
    category: &str,
    outcome: Option<&str>,
    start: Option<&str>,
    end: &str,
) {
    w.begin("event");
    w.str("kind", "event");
    w.str_list(
        "category",
        std::iter::once(category.as_bytes().into()),
        false,
    );
    if let Some(o) = outcome {
        w.str("outcome", o);
    }
    if let Some(s) = start {
        w.str("start", s);
    }
    w.str("end", end);
    w.end();
}

fn cloud(w: &mut JsonWriter<'_>) {
    w.begin("cloud");
    w.str("provider", "aws");
    w.end();
}

/// `source.address` always; `source.ip` only when it is an IP, because the `ip` mapping would
/// reject the whole document otherwise.
fn source(w: &mut JsonWriter<'_>, client: &HostPort<'_>, bytes: Option<u64>) {
    w.begin("source");
    w.str("address", client.ip);
    if is_ip(client.ip.as_bytes()) {
        w.str("ip", client.ip);
    }
    w.opt_u64("port", client.port.map(u64::from));
    w.opt_u64("bytes", bytes);
    w.end();
}

fn is_ip(b: &[u8]) -> bool {
    std::str::from_utf8(b).is_ok_and(|s| s.parse::<IpAddr>().is_ok())
}

fn http(
    w: &mut JsonWriter<'_>,
    request: &Request<'_>,
    status: Option<u16>,
    received: Option<u64>,
    sent: Option<u64>,
) {
    w.begin("http");
    w.begin("request");
    w.opt_text("method", request.method);
    w.begin("body");
    w.opt_u64("bytes", received);
    w.end();
    w.end();
    w.begin("response");
    w.opt_u64("status_code", status.map(u64::from));
    w.begin("body");
    w.opt_u64("bytes", sent);
    w.end();
    w.end();
    if let Some(v) = request.version {
        let b = v.raw();
        let number = if b.starts_with(b"HTTP/") {
            v.slice(5..b.len())
        } else {
            v
        };
        if !number.is_empty() {
            w.text("version", number);
        }
    }
    w.end();
}

fn url(w: &mut JsonWriter<'_>, request: &Request<'_>) {
    let Some(original) = request.url else {
        return;
    };
    let parts = crate::url::UrlParts::parse(original);
    w.begin("url");
    w.text("original", original);
    w.opt_text("scheme", parts.scheme);
    w.opt_text("domain", parts.domain);
    w.opt_u64("port", parts.port.map(u64::from));
    w.opt_text("path", parts.path);
    w.opt_text("query", parts.query);
    w.opt_text("fragment", parts.fragment);
    w.end();
}

fn tls(w: &mut JsonWriter<'_>, cipher: Option<Text<'_>>, protocol: Option<Text<'_>>) {
    w.begin("tls");
    tls_members(w, cipher, protocol);
    w.end();
}

/// `tls.cipher`, and `tls.version` + `tls.version_protocol` split the way Elastic's pipeline does.
fn tls_members(w: &mut JsonWriter<'_>, cipher: Option<Text<'_>>, protocol: Option<Text<'_>>) {
    w.opt_text("cipher", cipher);
    if let Some((name, version)) = protocol.and_then(|p| split_tls_protocol(p.raw())) {
        w.str("version", version.as_str());
        w.str("version_protocol", name);
    }
}

/// `aws.elb.backend.{ip,port,http.response.status_code}`; the port is a keyword in Elastic's
/// mapping, hence a string.
fn backend(w: &mut JsonWriter<'_>, target: Option<&HostPort<'_>>, status: Option<u16>) {
    w.begin("backend");
    if let Some(t) = target {
        w.str("ip", t.ip);
        if let Some(p) = t.port {
            w.str("port", itoa::Buffer::new().format(p));
        }
    }
    w.begin("http");
    w.begin("response");
    w.opt_u64("status_code", status.map(u64::from));
    w.end();
    w.end();
    w.end();
}

fn seconds(w: &mut JsonWriter<'_>, key: &'static str, value: Option<f64>) {
    w.begin(key);
    w.opt_f64("sec", value);
    w.end();
}
