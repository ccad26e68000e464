//! ECS documents shaped like those of Elastic's AWS integration (`aws.elb` data stream, its ingest
//! pipeline `elb_logs`): same field names, same types (`aws.elb.backend.port` and the target lists
//! are keywords, so strings; status codes and byte counts are longs). Absent values are omitted.
//!
//! As in Elastic's pipeline, `aws.elb.type` is the log's own type field (`http`, `https`, `h2`,
//! `tls`, ...) and `aws.elb.protocol` is `http` or `tcp`. The load balancer family
//! (`application`/`network`/`classic`) goes to `aws.elb.load_balancer_type`, and the log kind
//! (`access`, `connection`, ...) to `aws.elb.log_kind`; neither exists in Elastic's mapping.

use std::net::IpAddr;

use super::json::{
    JsonWriter, is_clean, is_within, write_clean, write_f64, write_str, write_text,
    write_text_checked, write_u64,
};
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

/// The ECS document of an access line. This is the hot path of the pipeline, so the document's
/// fixed parts (keys, nested-object openings, constant values) are written as precomputed
/// literals rather than member by member; the output is byte for byte that of the generic
/// [`JsonWriter`] form (`access_reference`, compared in the tests).
pub fn access(r: &AccessRecord<'_>, out: &mut Vec<u8>) {
    out.reserve(1024);
    lit(out, b"{\"@timestamp\":");
    timestamp(out, r.time.as_str());

    // event
    lit(
        out,
        b",\"event\":{\"kind\":\"event\",\"category\":[\"web\"]",
    );
    match r.elb_status_code {
        Some(s) if s < 400 => lit(out, b",\"outcome\":\"success\""),
        Some(_) => lit(out, b",\"outcome\":\"failure\""),
        None => {}
    }
    if let Some(t) = r.request_creation_time {
        lit(out, b",\"start\":");
        timestamp(out, t.as_str());
    }
    lit(out, b",\"end\":");
    timestamp(out, r.time.as_str());
    lit(
        out,
        b"},\"cloud\":{\"provider\":\"aws\"},\"source\":{\"address\":",
    );

    // source: an IP address's text ([0-9a-fA-F.:]) has nothing to escape.
    let ip = r.client.ip.as_bytes();
    if is_ip(ip) {
        write_clean(out, ip);
        lit(out, b",\"ip\":");
        write_clean(out, ip);
    } else {
        write_str(out, ip);
    }
    if let Some(p) = r.client.port {
        lit(out, b",\"port\":");
        int(out, p);
    }
    out.push(b'}');

    if let Some(d) = r
        .domain_name
        .map(|d| d.trim_spaces())
        .filter(|d| !d.is_empty())
    {
        lit(out, b",\"destination\":{\"domain\":");
        text(out, d);
        out.push(b'}');
    }

    // The request line is checked once: when it is clean, so are its method, URL, version and the
    // URL's parts (all slices of it), written without a second look.
    let request_clean = is_clean(r.request.raw.raw());
    let clean_part = |t: Text<'_>| request_clean && is_within(t.raw(), r.request.raw.raw());
    fast_http(
        out,
        &r.request,
        r.elb_status_code,
        r.received_bytes,
        r.sent_bytes,
        &clean_part,
    );
    if let Some(original) = r.request.url {
        fast_url(out, original, clean_part(original));
    }
    if let Some(ua) = r.user_agent {
        lit(out, b",\"user_agent\":{\"original\":");
        text(out, ua);
        out.push(b'}');
    }
    let (cipher_clean, protocol_clean) = fast_tls(out, r.ssl_cipher, r.ssl_protocol);
    let mut trace_clean = false;
    if let Some(t) = r.trace_id {
        lit(out, b",\"trace\":{\"id\":");
        trace_clean = write_text_checked(out, t);
        out.push(b'}');
    }

    lit(out, b",\"aws\":{\"elb\":{\"name\":");
    text(out, r.elb);
    lit(out, b",\"type\":");
    text(out, r.request_type);
    lit(
        out,
        b",\"protocol\":\"http\",\"load_balancer_type\":\"application\",\"log_kind\":\"access\"",
    );
    fast_backend(out, r.target.as_ref(), r.target_status_code);
    if let Some(v) = r.request_processing_time.get() {
        lit(out, b",\"request_processing_time\":{\"sec\":");
        write_f64(out, v);
        out.push(b'}');
    }
    if let Some(v) = r.target_processing_time.get() {
        lit(out, b",\"backend_processing_time\":{\"sec\":");
        write_f64(out, v);
        out.push(b'}');
    }
    if let Some(v) = r.response_processing_time.get() {
        lit(out, b",\"response_processing_time\":{\"sec\":");
        write_f64(out, v);
        out.push(b'}');
    }
    if let Some(t) = r.target_group_arn {
        lit(out, b",\"target_group\":{\"arn\":");
        text(out, t);
        out.push(b'}');
    }
    opt_member_known(out, b",\"trace_id\":", r.trace_id, trace_clean);
    if let Some(p) = r.matched_rule_priority {
        lit(out, b",\"matched_rule_priority\":\"");
        match u64::try_from(p) {
            Ok(p) => write_u64(out, p),
            Err(_) => out.extend_from_slice(itoa::Buffer::new().format(p).as_bytes()),
        }
        out.push(b'"');
    }
    if let Some(actions) = r.actions_executed {
        split_list(
            out,
            b",\"action_executed\":[",
            actions,
            b',',
            false,
            r.actions(),
        );
    }
    if let Some(l) = r.target_port_list {
        split_list(out, b",\"target_port\":[", l.text(), b' ', true, l.iter());
    }
    if let Some(l) = r.target_status_code_list {
        split_list(
            out,
            b",\"target_status_code\":[",
            l.text(),
            b' ',
            true,
            l.iter(),
        );
    }
    opt_member(out, b",\"classification\":", r.classification);
    opt_member(out, b",\"classification_reason\":", r.classification_reason);
    opt_member(out, b",\"redirect_url\":", r.redirect_url);
    if let Some(t) = r.error_reason {
        lit(out, b",\"error\":{\"reason\":");
        text(out, t);
        out.push(b'}');
    }
    if let Some(t) = r.chosen_cert_arn {
        lit(out, b",\"chosen_cert\":{\"arn\":");
        text(out, t);
        out.push(b'}');
    }
    opt_member_known(out, b",\"ssl_cipher\":", r.ssl_cipher, cipher_clean);
    opt_member_known(out, b",\"ssl_protocol\":", r.ssl_protocol, protocol_clean);
    opt_member(out, b",\"connection_trace_id\":", r.conn_trace_id);
    opt_member(out, b",\"transformed_host\":", r.transformed_host);
    opt_member(out, b",\"transformed_uri\":", r.transformed_uri);
    opt_member(
        out,
        b",\"request_transform_status\":",
        r.request_transform_status,
    );
    if !r.extra.is_empty() {
        list(out, b",\"extra\":[", r.extra.iter());
    }
    lit(out, b"}}}");
}

#[inline(always)]
fn lit(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(bytes);
}

/// A validated [`crate::time::Timestamp`]'s text: digits, `-`, `T`, `:`, `.` and `Z` only, so
/// nothing to escape.
#[inline]
fn timestamp(out: &mut Vec<u8>, t: &str) {
    write_clean(out, t.as_bytes());
}

#[inline]
fn int(out: &mut Vec<u8>, v: impl Into<u64>) {
    write_u64(out, v.into());
}

#[inline]
fn text(out: &mut Vec<u8>, t: Text<'_>) {
    write_text(out, t);
}

/// `prefix` (`,"key":`) and the value, when there is one.
#[inline]
fn opt_member(out: &mut Vec<u8>, prefix: &[u8], value: Option<Text<'_>>) {
    if let Some(v) = value {
        out.extend_from_slice(prefix);
        text(out, v);
    }
}

/// [`opt_member`] for a value already known clean (or not: then it is checked as usual).
#[inline]
fn opt_member_known(out: &mut Vec<u8>, prefix: &[u8], value: Option<Text<'_>>, clean: bool) {
    if let Some(v) = value {
        out.extend_from_slice(prefix);
        text_known(out, v, clean);
    }
}

/// A text already found clean is copied; otherwise written through [`write_text`].
#[inline]
fn text_known(out: &mut Vec<u8>, t: Text<'_>, clean: bool) {
    if clean {
        write_clean(out, t.raw());
    } else {
        text(out, t);
    }
}

/// A list field as a JSON array: `items` are the pieces of `field` between `sep`, empty ones (and
/// `-` ones with `skip_dash`) skipped, as [`AccessRecord::actions`] and
/// [`crate::TargetList::iter`] give them. The pieces of a clean field are clean, and a field
/// without `sep` (one target, one action: the usual case) is its only piece.
#[inline]
fn split_list<'t>(
    out: &mut Vec<u8>,
    prefix: &[u8],
    field: Text<'t>,
    sep: u8,
    skip_dash: bool,
    items: impl Iterator<Item = Text<'t>>,
) {
    let raw = field.raw();
    if !is_clean(raw) {
        return list(out, prefix, items);
    }
    if !raw.contains(&sep) {
        let skipped = raw.is_empty() || (skip_dash && raw == b"-");
        if !skipped {
            out.extend_from_slice(prefix);
            write_clean(out, raw);
            out.push(b']');
        }
        return;
    }
    list_known(out, prefix, items, true);
}

/// [`list`] whose items are all known clean, or not.
#[inline]
fn list_known<'t>(
    out: &mut Vec<u8>,
    prefix: &[u8],
    items: impl Iterator<Item = Text<'t>>,
    clean: bool,
) {
    if !clean {
        return list(out, prefix, items);
    }
    let mut first = true;
    for item in items {
        if first {
            out.extend_from_slice(prefix);
            first = false;
        } else {
            out.push(b',');
        }
        write_clean(out, item.raw());
    }
    if !first {
        out.push(b']');
    }
}

/// `prefix` (`,"key":[`), the items and `]`; nothing for an empty list.
#[inline]
fn list<'t>(out: &mut Vec<u8>, prefix: &[u8], items: impl Iterator<Item = Text<'t>>) {
    let mut first = true;
    for item in items {
        if first {
            out.extend_from_slice(prefix);
            first = false;
        } else {
            out.push(b',');
        }
        text(out, item);
    }
    if !first {
        out.push(b']');
    }
}

/// A comma before every member of an object but the first.
#[inline(always)]
fn comma(out: &mut Vec<u8>, first: &mut bool) {
    if *first {
        *first = false;
    } else {
        out.push(b',');
    }
}

/// [`http`] with literals.
fn fast_http(
    out: &mut Vec<u8>,
    request: &Request<'_>,
    status: Option<u16>,
    received: Option<u64>,
    sent: Option<u64>,
    clean_part: &impl Fn(Text<'_>) -> bool,
) {
    let version = request.version.and_then(|v| {
        let b = v.raw();
        let number = if b.starts_with(b"HTTP/") {
            v.slice(5..b.len())
        } else {
            v
        };
        (!number.is_empty()).then_some(number)
    });
    let method = request.method;
    if method.is_none()
        && received.is_none()
        && status.is_none()
        && sent.is_none()
        && version.is_none()
    {
        return;
    }
    lit(out, b",\"http\":{");
    let mut first = true;
    if method.is_some() || received.is_some() {
        first = false;
        lit(out, b"\"request\":{");
        let mut inner = true;
        if let Some(m) = method {
            inner = false;
            lit(out, b"\"method\":");
            text_known(out, m, clean_part(m));
        }
        if let Some(n) = received {
            comma(out, &mut inner);
            lit(out, b"\"body\":{\"bytes\":");
            int(out, n);
            out.push(b'}');
        }
        out.push(b'}');
    }
    if status.is_some() || sent.is_some() {
        comma(out, &mut first);
        lit(out, b"\"response\":{");
        let mut inner = true;
        if let Some(s) = status {
            inner = false;
            lit(out, b"\"status_code\":");
            int(out, s);
        }
        if let Some(n) = sent {
            comma(out, &mut inner);
            lit(out, b"\"body\":{\"bytes\":");
            int(out, n);
            out.push(b'}');
        }
        out.push(b'}');
    }
    if let Some(v) = version {
        comma(out, &mut first);
        lit(out, b"\"version\":");
        text_known(out, v, clean_part(v));
    }
    out.push(b'}');
}

/// [`url`] with literals.
/// `clean`: the URL is known clean (a part of a clean request line).
fn fast_url(out: &mut Vec<u8>, original: Text<'_>, clean: bool) {
    let parts = crate::url::UrlParts::parse(original);
    lit(out, b",\"url\":{\"original\":");
    // The parts are slices of the URL: clean when it is.
    let clean = text_known_checked(out, original, clean);
    opt_member_known(out, b",\"scheme\":", parts.scheme, clean);
    opt_member_known(out, b",\"domain\":", parts.domain, clean);
    if let Some(p) = parts.port {
        lit(out, b",\"port\":");
        int(out, p);
    }
    opt_member_known(out, b",\"path\":", parts.path, clean);
    opt_member_known(out, b",\"query\":", parts.query, clean);
    opt_member_known(out, b",\"fragment\":", parts.fragment, clean);
    out.push(b'}');
}

/// [`text_known`], telling whether the text was clean (known so, or found so).
#[inline]
fn text_known_checked(out: &mut Vec<u8>, t: Text<'_>, clean: bool) -> bool {
    if clean {
        write_clean(out, t.raw());
        true
    } else {
        write_text_checked(out, t)
    }
}

/// [`tls`] with literals.
/// Returns whether the cipher and the protocol are clean (the protocol is when it splits: letters,
/// `v`, digits and dots).
fn fast_tls(
    out: &mut Vec<u8>,
    cipher: Option<Text<'_>>,
    protocol: Option<Text<'_>>,
) -> (bool, bool) {
    let version = protocol.and_then(|p| split_tls_protocol(p.raw()));
    let protocol_clean = version.is_some();
    if cipher.is_none() && version.is_none() {
        return (false, protocol_clean);
    }
    lit(out, b",\"tls\":{");
    let mut first = true;
    let mut cipher_clean = false;
    if let Some(c) = cipher {
        first = false;
        lit(out, b"\"cipher\":");
        cipher_clean = write_text_checked(out, c);
    }
    if let Some((name, version)) = version {
        comma(out, &mut first);
        lit(out, b"\"version\":");
        write_clean(out, version.as_str().as_bytes());
        lit(out, b",\"version_protocol\":");
        write_clean(out, name.as_bytes());
    }
    out.push(b'}');
    (cipher_clean, protocol_clean)
}

/// [`backend`] with literals.
fn fast_backend(out: &mut Vec<u8>, target: Option<&HostPort<'_>>, status: Option<u16>) {
    if target.is_none() && status.is_none() {
        return;
    }
    lit(out, b",\"backend\":{");
    let mut first = true;
    if let Some(t) = target {
        first = false;
        lit(out, b"\"ip\":");
        if is_plain_ipv4(t.ip.as_bytes()) {
            write_clean(out, t.ip.as_bytes());
        } else {
            write_str(out, t.ip.as_bytes());
        }
        if let Some(p) = t.port {
            lit(out, b",\"port\":\"");
            int(out, p);
            out.push(b'"');
        }
    }
    if let Some(s) = status {
        comma(out, &mut first);
        lit(out, b"\"http\":{\"response\":{\"status_code\":");
        int(out, s);
        out.extend_from_slice(b"}}");
    }
    out.push(b'}');
}

/// The access document written through the generic [`JsonWriter`]: the straightforward form of
/// [`access`], kept to check the optimized encoder against.
#[cfg(test)]
pub(crate) fn access_reference(r: &AccessRecord<'_>, out: &mut Vec<u8>) {
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
    is_plain_ipv4(b)
        || is_full_ipv6(b)
        || std::str::from_utf8(b).is_ok_and(|s| s.parse::<IpAddr>().is_ok())
}

/// `a.b.c.d` with each part 0-255 in decimal without leading zeros: a subset of what
/// `Ipv4Addr::from_str` accepts (the usual client address), checked in one pass without the
/// generic parser.
#[inline]
fn is_plain_ipv4(b: &[u8]) -> bool {
    if b.len() < 7 || b.len() > 15 {
        return false;
    }
    let (mut dots, mut value, mut digits) = (0u32, 0u32, 0u32);
    for &c in b {
        if c == b'.' {
            if digits == 0 {
                return false;
            }
            dots += 1;
            value = 0;
            digits = 0;
        } else {
            let d = c.wrapping_sub(b'0');
            // A digit; no leading zero (`0` alone is fine); at most 255, hence 3 digits.
            if d > 9 || (digits == 1 && value == 0) {
                return false;
            }
            value = value * 10 + u32::from(d);
            digits += 1;
            if value > 255 {
                return false;
            }
        }
    }
    dots == 3 && digits > 0
}

/// Eight groups of 1 to 4 hex digits separated by `:` (no `::`, no IPv4 tail): a subset of what
/// `Ipv6Addr::from_str` accepts, checked in one pass. Anything else goes to `std`.
#[inline]
fn is_full_ipv6(b: &[u8]) -> bool {
    if b.len() < 15 || b.len() > 39 {
        return false;
    }
    let (mut colons, mut digits) = (0u32, 0u32);
    for &c in b {
        if c == b':' {
            if digits == 0 {
                return false;
            }
            colons += 1;
            digits = 0;
        } else if c.is_ascii_hexdigit() && digits < 4 {
            digits += 1;
        } else {
            return false;
        }
    }
    colons == 7 && digits > 0
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{LogKind, parse_line};

    /// xorshift64*: deterministic, no dependency.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }

        fn pick<'s>(&mut self, choices: &[&'s [u8]]) -> &'s [u8] {
            choices[self.below(choices.len())]
        }

        fn timestamp(&mut self) -> Vec<u8> {
            let digits = self.below(10);
            let mut t = format!(
                "2026-{:02}-{:02}T{:02}:{:02}:{:02}",
                1 + self.below(12),
                1 + self.below(28),
                self.below(24),
                self.below(60),
                self.below(60)
            );
            if digits > 0 {
                t.push('.');
                for _ in 0..digits.min(9) {
                    t.push(char::from(b'0' + self.below(10) as u8));
                }
            }
            t.push('Z');
            t.into_bytes()
        }

        fn timing(&mut self) -> Vec<u8> {
            match self.below(8) {
                0 => b"-1".to_vec(),
                1 => b"-".to_vec(),
                2 => self
                    .pick(&[
                        b"0",
                        b"12.5",
                        b"1e3",
                        b"0.1",
                        b"3.14159265358979",
                        b"-0.000",
                    ])
                    .to_vec(),
                _ => format!("{}.{:03}", self.below(3), self.below(1000)).into_bytes(),
            }
        }
    }

    /// Quoted values, escapes and raw non-UTF-8 bytes included.
    const QUOTED: &[&[u8]] = &[
        b"\"-\"",
        b"\"\"",
        b"\"plain value\"",
        b"\"q \\\"x\\\" b\\\\s\"",
        b"\"ctl \\x00\\x1f\\x7f tab\\x09\"",
        b"\"caf\\xc3\\xa9 \\xff\\xfe end\"",
        b"\"raw caf\xc3\xa9 \xe2\x9c\x93 and \xff bad\"",
        b"\"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0\"",
        b"\"  spaced  \"",
        b"\"a,b,,c\"",
    ];

    fn line(rng: &mut Rng) -> Vec<u8> {
        let mut f: Vec<Vec<u8>> = Vec::with_capacity(40);
        f.push(
            rng.pick(&[b"http", b"https", b"h2", b"grpcs", b"ws", b"wss"])
                .to_vec(),
        );
        f.push(rng.timestamp());
        f.push(
            rng.pick(&[
                b"app/my-lb/50dc6c495c0c9188",
                b"app/odd\"name/1",
                b"app/back\\slash/2",
                b"x",
            ])
            .to_vec(),
        );
        f.push(
            rng.pick(&[
                b"192.168.131.39:2817",
                b"2001:db8::1:443",
                b"[2001:db8::1]:443",
                b"10.0.0.1",
                b"host.example:80",
                b"01.2.3.4:5",
                b"1.2.3.256:7",
                b"fe80::1%eth0:9",
                b"a\"b:1",
                b"2a02:c7c:a7b8:62ed:1361:4163:d6:b3ae:63459",
                b"2A02:C7C:0:0:0:0:D6:FFFF:1",
                b"caf\xc3\xa9:80",
            ])
            .to_vec(),
        );
        f.push(
            rng.pick(&[
                b"-",
                b"10.0.1.152:8080",
                b"[::1]:80",
                b"10.0.0.2",
                b"host:1",
                b"2001:db8:0:0:0:0:0:1:8080",
                b"x\"y:2",
            ])
            .to_vec(),
        );
        for _ in 0..3 {
            f.push(rng.timing());
        }
        f.push(
            rng.pick(&[b"200", b"301", b"404", b"460", b"502", b"-", b"0"])
                .to_vec(),
        );
        f.push(rng.pick(&[b"200", b"-", b"503"]).to_vec());
        f.push(
            rng.pick(&[b"0", b"-", b"34", b"18446744073709551615"])
                .to_vec(),
        );
        f.push(rng.pick(&[b"366", b"-", b"0"]).to_vec());
        f.push(
            rng.pick(&[
                b"\"GET http://www.example.com:80/ HTTP/1.1\"",
                b"\"POST https://api.example.com:443/v1/items?id=7&x=%20y#frag HTTP/2.0\"",
                b"\"- http://host:80- -\"",
                b"\"GET /only/path?q HTTP/1.1\"",
                b"\"GET http://h:80/a b [c] {d} HTTP/1.1\"",
                b"\"GET http://[::1]:8080/\\\"x\\\\y\\xff HTTP/1.1\"",
                b"\"GET http://host:80/x \"",
                b"\"GET\"",
                b"\"-\"",
                b"\"- - - \"",
                b"\"GET HTTP/1.1\"",
                b"\"PUT http://u:p@host:99999/p HTTP/\"",
                b"\"GET caf\xc3\xa9 \xff HTTP/1.0\"",
            ])
            .to_vec(),
        );
        f.push(rng.pick(QUOTED).to_vec());
        f.push(
            rng.pick(&[
                b"-",
                b"ECDHE-RSA-AES128-GCM-SHA256",
                b"TLS_AES_128_GCM_SHA256",
                b"odd\"cipher",
            ])
            .to_vec(),
        );
        f.push(
            rng.pick(&[
                b"-",
                b"TLSv1.2",
                b"TLSv1.3",
                b"SSLv3",
                b"TLSvX",
                b"tlsv12",
                b"TLSv1.2\"",
                b"TLSv1.",
            ])
            .to_vec(),
        );
        f.push(
            rng.pick(&[
                b"arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067",
                b"-",
            ])
            .to_vec(),
        );
        f.push(
            rng.pick(&[
                b"\"Root=1-58337262-36d228ad5d99923122bbe354\"",
                b"\"-\"",
                b"\"Self=1-a;Root=1-b\"",
            ])
            .to_vec(),
        );
        f.push(
            rng.pick(&[
                b"\"www.example.com\"",
                b"\" www.example.com\"",
                b"\"-\"",
                b"\"\"",
                b"\"  \"",
            ])
            .to_vec(),
        );
        f.push(
            rng.pick(&[
                b"\"arn:aws:acm:us-east-2:123456789012:certificate/12345678\"",
                b"\"session-reused\"",
                b"\"-\"",
            ])
            .to_vec(),
        );
        f.push(rng.pick(&[b"0", b"-1", b"-", b"10"]).to_vec());
        f.push(if rng.below(3) == 0 {
            b"-".to_vec()
        } else {
            rng.timestamp()
        });
        f.push(
            rng.pick(&[
                b"\"forward\"",
                b"\"waf,forward\"",
                b"\"\"",
                b"\"-\"",
                b"\",,\"",
                b"\"waf,\\\"x\\\",,fwd\"",
                b"\"a\\x09b\"",
                b"\"caf\xc3\xa9\"",
            ])
            .to_vec(),
        );
        f.push(
            rng.pick(&[b"\"-\"", b"\"https://example.com:443/x?y\""])
                .to_vec(),
        );
        f.push(
            rng.pick(&[b"\"-\"", b"\"TargetConnectionError\"", QUOTED[3]])
                .to_vec(),
        );
        f.push(
            rng.pick(&[
                b"\"10.0.1.152:8080 10.0.2.153:8080\"",
                b"\"10.0.1.152:8080\"",
                b"\"-\"",
                b"10.0.1.152:8080",
                b"10.0.1.152:8080 10.0.2.153:8080",
                b"-",
                b"\"- 10.0.1.152:8080  -\"",
                b"\"10.0.1.152:8080 \\\"q\\\"\"",
                b"\"\\x0a1.2.3.4:5\"",
            ])
            .to_vec(),
        );
        f.push(
            rng.pick(&[
                b"\"502 304\"",
                b"\"200\"",
                b"\"-\"",
                b"200",
                b"-",
                b"\"- 200\"",
                b"\"2\\\"0\"",
            ])
            .to_vec(),
        );
        f.push(rng.pick(&[b"\"-\"", b"\"Ambiguous\"", b"\"\""]).to_vec());
        f.push(
            rng.pick(&[b"\"-\"", b"\"UndefinedContentLengthSemantics\""])
                .to_vec(),
        );
        f.push(rng.pick(&[b"-", b"TID_1234abcd", b"TID_\"x"]).to_vec());
        for _ in 0..3 {
            f.push(rng.pick(QUOTED).to_vec());
        }
        let keep = [12, 17, 18, 22, 26, 27, 29, 30, 33, 33, 33, 33][rng.below(12)];
        f.truncate(keep);
        let mut line = f.join(&b' ');
        if keep == 33 {
            line.extend_from_slice(rng.pick(&[
                b"",
                b"",
                b" 10.0.0.99",
                b" 10.0.0.99 \"x \\\"y\\\"\"",
                b" \"unterminated",
                b" ",
            ]));
        }
        line
    }

    #[test]
    fn plain_ipv4_check_agrees_with_std() {
        let mut rng = Rng(0x2545_f491_4f6c_dd1d);
        let parts: &[&[u8]] = &[
            b"0", b"1", b"9", b"10", b"01", b"00", b"99", b"100", b"199", b"200", b"249", b"250",
            b"255", b"256", b"260", b"300", b"010", b"1000", b"", b"a", b"-1", b"+1",
        ];
        for _ in 0..200_000 {
            let n = 1 + rng.below(5);
            let mut s = Vec::new();
            for i in 0..n {
                if i > 0 {
                    s.push(if rng.below(20) == 0 { b':' } else { b'.' });
                }
                s.extend_from_slice(rng.pick(parts));
            }
            let std_ok =
                std::str::from_utf8(&s).is_ok_and(|t| t.parse::<std::net::Ipv4Addr>().is_ok());
            if is_plain_ipv4(&s) {
                assert!(std_ok, "{}", String::from_utf8_lossy(&s));
            }
            let std_any = std::str::from_utf8(&s).is_ok_and(|t| t.parse::<IpAddr>().is_ok());
            assert_eq!(is_ip(&s), std_any, "{}", String::from_utf8_lossy(&s));
        }
        assert!(is_plain_ipv4(b"192.168.131.39"));
        assert!(is_plain_ipv4(b"0.0.0.0"));
        assert!(is_plain_ipv4(b"255.255.255.255"));
        assert!(!is_plain_ipv4(b"256.1.1.1"));
    }

    /// The form of [`is_plain_ipv4`] before the one-pass loop.
    fn is_plain_ipv4_reference(b: &[u8]) -> bool {
        if b.len() < 7 || b.len() > 15 {
            return false;
        }
        let mut parts = 0;
        for part in b.split(|&c| c == b'.') {
            parts += 1;
            let ok = match *part {
                [d] => d.is_ascii_digit(),
                [d1, d2] => (b'1'..=b'9').contains(&d1) && d2.is_ascii_digit(),
                [d1, d2, d3] => {
                    (b'1'..=b'2').contains(&d1)
                        && d2.is_ascii_digit()
                        && d3.is_ascii_digit()
                        && (d1, d2, d3) <= (b'2', b'5', b'5')
                }
                _ => false,
            };
            if !ok || parts > 4 {
                return false;
            }
        }
        parts == 4
    }

    #[test]
    fn fast_ip_checks_agree_with_std_and_the_reference() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let v4: &[&[u8]] = &[
            b"0", b"1", b"9", b"10", b"01", b"00", b"99", b"100", b"199", b"200", b"249", b"250",
            b"255", b"256", b"260", b"300", b"010", b"1000", b"", b"a", b"-1",
        ];
        let v6: &[&[u8]] = &[
            b"0",
            b"1",
            b"a",
            b"F",
            b"db8",
            b"2001",
            b"ffff",
            b"FfFf",
            b"0000",
            b"00000",
            b"12345",
            b"g",
            b"",
            b"1.2.3.4",
            b"10.0.0.1",
            b" ",
            b"%eth0",
        ];
        for _ in 0..300_000 {
            let mut s = Vec::new();
            if rng.below(2) == 0 {
                for i in 0..1 + rng.below(5) {
                    if i > 0 {
                        s.push(if rng.below(20) == 0 { b':' } else { b'.' });
                    }
                    s.extend_from_slice(rng.pick(v4));
                }
                assert_eq!(
                    is_plain_ipv4(&s),
                    is_plain_ipv4_reference(&s),
                    "{}",
                    String::from_utf8_lossy(&s)
                );
            } else {
                for i in 0..6 + rng.below(4) {
                    if i > 0 {
                        s.extend_from_slice(if rng.below(25) == 0 { b"::" } else { b":" });
                    }
                    s.extend_from_slice(rng.pick(v6));
                }
            }
            let std_any = std::str::from_utf8(&s).is_ok_and(|t| t.parse::<IpAddr>().is_ok());
            if is_full_ipv6(&s) {
                assert!(std_any, "{}", String::from_utf8_lossy(&s));
            }
            assert_eq!(is_ip(&s), std_any, "{}", String::from_utf8_lossy(&s));
        }
        assert!(is_full_ipv6(b"2a02:c7c:a7b8:62ed:1361:4163:d6:b3ae"));
        assert!(!is_full_ipv6(b"2001:db8::1"));
        assert!(is_ip(b"2001:db8::1"));
    }

    #[test]
    fn optimized_access_matches_the_json_writer_form() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let (mut compared, mut lines) = (0, 0);
        let (mut fast, mut reference) = (Vec::new(), Vec::new());
        for _ in 0..20_000 {
            let line = line(&mut rng);
            lines += 1;
            let Ok(crate::Record::Access(r)) = parse_line(LogKind::Access, &line) else {
                continue;
            };
            fast.clear();
            reference.clear();
            access(&r, &mut fast);
            access_reference(&r, &mut reference);
            assert_eq!(
                String::from_utf8_lossy(&fast),
                String::from_utf8_lossy(&reference),
                "line {}",
                String::from_utf8_lossy(&line)
            );
            assert_eq!(fast, reference);
            serde_json::from_slice::<serde_json::Value>(&fast).unwrap_or_else(|e| {
                panic!("{e}: {}", String::from_utf8_lossy(&fast));
            });
            compared += 1;
        }
        // Most generated lines are valid: the comparison must not be vacuous.
        assert!(compared * 10 >= lines * 8, "{compared} of {lines} parsed");
    }
}
