//! Encoder output for each format and kind: valid JSON, the expected keys, the expected types.

mod fixtures;

use fixtures::*;
use fleetwatch_alb::encode::Format;
use fleetwatch_alb::encode::flat::{FLAT_COLUMNS, flat_columns};
use fleetwatch_alb::{LogKind, Record, parse_line};
use serde_json::{Value, json};

/// Parses the line and checks that every format encodes it as JSON without duplicate keys.
fn record(kind: LogKind, line: &str) -> Record<'_> {
    let r = parse_line(kind, line.as_bytes()).unwrap_or_else(|e| panic!("{e}: {line}"));
    check_all_formats(&r);
    r
}

#[test]
fn ecs_full_access_line() {
    let line = access_line();
    let v = Format::Ecs.to_value(&record(LogKind::Access, &line));
    let want = json!({
        "@timestamp": "2025-06-01T12:34:56.789012Z",
        "event": {
            "kind": "event",
            "category": ["web"],
            "outcome": "success",
            "start": "2025-06-01T12:34:56.735000Z",
            "end": "2025-06-01T12:34:56.789012Z"
        },
        "cloud": {"provider": "aws"},
        "source": {"address": "203.0.113.7", "ip": "203.0.113.7", "port": 51234},
        "destination": {"domain": "shop.example.com"},
        "http": {
            "request": {"method": "POST", "body": {"bytes": 512}},
            "response": {"status_code": 200, "body": {"bytes": 2048}},
            "version": "1.1"
        },
        "url": {
            "original": "https://shop.example.com:443/api/cart?item=42&qty=1",
            "scheme": "https",
            "domain": "shop.example.com",
            "port": 443,
            "path": "/api/cart",
            "query": "item=42&qty=1"
        },
        "user_agent": {"original": "Mozilla/5.0 (X11; Linux x86_64) \"quoted\" back\\slash"},
        "tls": {"cipher": "ECDHE-RSA-AES128-GCM-SHA256", "version": "1.2", "version_protocol": "tls"},
        "trace": {"id": "Root=1-6650f3a0-0123456789abcdef01234567"},
        "aws": {"elb": {
            "name": "app/shop-alb/50dc6c495c0c9188",
            "type": "https",
            "protocol": "http",
            "load_balancer_type": "application",
            "log_kind": "access",
            "backend": {"ip": "10.0.1.15", "port": "8080", "http": {"response": {"status_code": 201}}},
            "request_processing_time": {"sec": 0.001},
            "backend_processing_time": {"sec": 0.052},
            "response_processing_time": {"sec": 0.0},
            "target_group": {"arn": "arn:aws:elasticloadbalancing:eu-west-1:111122223333:targetgroup/shop-tg/6d0ecf831eec9f09"},
            "trace_id": "Root=1-6650f3a0-0123456789abcdef01234567",
            "matched_rule_priority": "3",
            "action_executed": ["waf", "forward"],
            "target_port": ["10.0.1.15:8080"],
            "target_status_code": ["201"],
            "classification": "Acceptable",
            "chosen_cert": {"arn": "arn:aws:acm:eu-west-1:111122223333:certificate/aaaabbbb-cccc-dddd-eeee-ffff00001111"},
            "ssl_cipher": "ECDHE-RSA-AES128-GCM-SHA256",
            "ssl_protocol": "TLSv1.2",
            "connection_trace_id": "TID_0a1b2c3d4e5f67890a1b2c3d4e5f6789",
            "transformed_host": "shop-internal.example.com",
            "transformed_uri": "/v2/api/cart?item=42&qty=1",
            "request_transform_status": "TransformSuccess"
        }}
    });
    assert_eq!(v, want, "{}", serde_json::to_string_pretty(&v).unwrap());
}

#[test]
fn ecs_omits_absent_values_and_keeps_extras() {
    let line = format!(
        "{} 10.0.0.99",
        access_with(&[
            (5, "-"),
            (6, "-1"),
            (7, "-1"),
            (8, "-1"),
            (9, "503"),
            (10, "-"),
            (13, r#""- http://shop.example.com:80- -""#),
            (14, r#""-""#),
            (15, "-"),
            (16, "-"),
            (19, r#"" shop.example.com""#),
            (21, "-"),
            (23, r#""""#),
            (26, r#""-""#),
            (27, r#""-""#),
            (4, "[2001:db8::7]:51234"),
        ])
    );
    let v = Format::Ecs.to_value(&record(LogKind::Access, &line));
    let elb = &v["aws"]["elb"];
    assert_eq!(v["event"]["outcome"], "failure");
    assert_eq!(v["source"]["ip"], "2001:db8::7");
    assert_eq!(v["destination"]["domain"], "shop.example.com");
    assert!(v["http"]["request"].get("method").is_none());
    assert!(v["http"].get("version").is_none());
    assert_eq!(v["url"]["original"], "http://shop.example.com:80-");
    assert!(v.get("user_agent").is_none());
    assert!(v.get("tls").is_none());
    for absent in [
        "backend",
        "request_processing_time",
        "backend_processing_time",
        "response_processing_time",
        "matched_rule_priority",
        "action_executed",
        "target_port",
        "target_status_code",
        "ssl_cipher",
    ] {
        assert!(
            elb.get(absent).is_none(),
            "{absent} should be omitted: {elb}"
        );
    }
    assert_eq!(elb["extra"], json!(["10.0.0.99"]));
    // No nulls anywhere in ECS output.
    assert!(!serde_json::to_string(&v).unwrap().contains("null"));
}

#[test]
fn vrl_matches_vector_keys_and_types() {
    // The shape of Vector's documented example: no target, forward action, unquoted-style lists.
    let line = r#"http 2018-11-30T22:23:00.186641Z app/my-loadbalancer/50dc6c495c0c9188 192.168.131.39:2817 - 0.000 0.001 0.000 200 200 34 366 "GET http://www.example.com:80/ HTTP/1.1" "curl/7.46.0" - - arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067 "Root=1-58337364-23a8c76965a2ef7629b185e3" "-" "-" 0 2018-11-30T22:22:48.364000Z "forward" "-" "-" "-" "-" "-" "-" TID_dc57cebed65b444ebc8177bb698fe166"#;
    let v = Format::Vrl.to_value(&record(LogKind::Access, line));
    let want = json!({
        "actions_executed": "forward",
        "chosen_cert_arn": null,
        "classification": null,
        "classification_reason": null,
        "client_host": "192.168.131.39:2817",
        "domain_name": null,
        "elb": "app/my-loadbalancer/50dc6c495c0c9188",
        "elb_status_code": "200",
        "error_reason": null,
        "matched_rule_priority": "0",
        "received_bytes": 34,
        "redirect_url": null,
        "request_creation_time": "2018-11-30T22:22:48.364000Z",
        "request_method": "GET",
        "request_processing_time": 0.0,
        "request_protocol": "HTTP/1.1",
        "request_url": "http://www.example.com:80/",
        "response_processing_time": 0.0,
        "sent_bytes": 366,
        "ssl_cipher": null,
        "ssl_protocol": null,
        "target_group_arn": "arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067",
        "target_host": null,
        "target_port_list": [],
        "target_processing_time": 0.001,
        "target_status_code": "200",
        "target_status_code_list": [],
        "timestamp": "2018-11-30T22:23:00.186641Z",
        "trace_id": "Root=1-58337364-23a8c76965a2ef7629b185e3",
        "type": "http",
        "user_agent": "curl/7.46.0",
        "traceability_id": "TID_dc57cebed65b444ebc8177bb698fe166"
    });
    assert_eq!(v, want, "{}", serde_json::to_string_pretty(&v).unwrap());

    // Current 33-field line: same keys (Vector ignores the transform fields), -1 kept as -1.0.
    let full = access_with(&[(6, "-1"), (19, r#"" shop.example.com""#)]);
    let v = Format::Vrl.to_value(&record(LogKind::Access, &full));
    let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
    let want_keys: Vec<&String> = want.as_object().unwrap().keys().collect();
    assert_eq!(keys, want_keys);
    assert_eq!(v["request_processing_time"], json!(-1.0));
    assert_eq!(v["target_port_list"], json!(["10.0.1.15:8080"]));
    assert_eq!(v["target_status_code_list"], json!(["201"]));
    assert_eq!(v["domain_name"], " shop.example.com");
    assert_eq!(v["actions_executed"], "waf,forward");
}

#[test]
fn vrl_classic_matches_vector_clb_keys() {
    let v = Format::Vrl.to_value(&record(LogKind::Classic, CLASSIC_LINE));
    let want = json!({
        "time": "2016-03-11T08:15:02.123456Z",
        "elb": "legacy-web",
        "client_host": "198.51.100.9:3312",
        "target_host": "10.0.3.7:80",
        "request_processing_time": 0.000041,
        "backend_processing_time": 0.00231,
        "response_processing_time": 0.00002,
        "elb_status_code": "200",
        "backend_status_code": "200",
        "received_bytes": 0,
        "sent_bytes": 1543,
        "request_method": "GET",
        "request_url": "https://legacy.example.com:443/index.html",
        "request_protocol": "HTTP/1.1",
        "user_agent": "curl/8.5.0",
        "ssl_cipher": "ECDHE-RSA-AES128-GCM-SHA256",
        "ssl_protocol": "TLSv1.2"
    });
    assert_eq!(v, want);
}

#[test]
fn flat_columns_are_always_all_present() {
    let access = access_line();
    let short = access_prefix(22);
    let cases: &[(LogKind, &str)] = &[
        (LogKind::Access, &access),
        (LogKind::Access, &short),
        (LogKind::Connection, CONNECTION_LINE),
        (LogKind::NlbTls, NLB_LINE),
        (LogKind::Classic, CLASSIC_LINE),
        (LogKind::HealthCheck, "whatever the health check log holds"),
    ];
    for (kind, line) in cases {
        let v = Format::Flat.to_value(&record(*kind, line));
        let obj = v.as_object().unwrap();
        let columns = flat_columns(*kind);
        assert_eq!(obj.len(), columns.len(), "{kind}: {v}");
        for c in columns {
            let value = obj
                .get(c.name)
                .unwrap_or_else(|| panic!("{kind}: missing {}", c.name));
            use fleetwatch_alb::encode::flat::FlatType::*;
            let type_ok = match c.ty {
                _ if value.is_null() => true,
                String => value.is_string(),
                Int | BigInt => value.is_u64() || value.is_i64(),
                Double => value.is_f64(),
                StringArray => value.is_array(),
            };
            assert!(
                type_ok,
                "{kind}: column {} ({:?}) has {value}",
                c.name, c.ty
            );
        }
    }
    let v = Format::Flat.to_value(&record(LogKind::Access, &access));
    assert_eq!(v["client_ip"], "203.0.113.7");
    assert_eq!(v["client_port"], 51234);
    assert_eq!(v["request_verb"], "POST");
    assert_eq!(v["request_proto"], "HTTP/1.1");
    assert_eq!(v["lambda_error_reason"], Value::Null);
    assert_eq!(v["target_port_list"], "10.0.1.15:8080");
    assert_eq!(v["elb_status_code"], 200);
    assert_eq!(v["target_status_code"], "201");
    assert_eq!(v["extra"], Value::Null);
    assert_eq!(FLAT_COLUMNS.len(), 38);
    assert_eq!(FLAT_COLUMNS.last().map(|c| c.name), Some("extra"));
}

#[test]
fn ecs_for_connection_nlb_classic_and_raw_lines() {
    let v = Format::Ecs.to_value(&record(LogKind::Connection, CONNECTION_LINE));
    assert_eq!(v["source"]["ip"], "203.0.113.7");
    assert_eq!(v["destination"]["port"], 443);
    assert_eq!(v["tls"]["version"], "1.3");
    assert_eq!(v["tls"]["cipher"], "TLS_AES_128_GCM_SHA256");
    assert_eq!(
        v["tls"]["client"]["subject"],
        "CN=client.example.com,O=Example Corp,C=US"
    );
    assert_eq!(v["tls"]["client"]["not_after"], "2026-01-01T00:00:00Z");
    assert_eq!(
        v["tls"]["client"]["x509"]["serial_number"],
        "0f3a9c1d2e4b5a69"
    );
    assert_eq!(v["event"]["outcome"], "success");
    assert_eq!(v["aws"]["elb"]["tls_handshake_latency"]["sec"], 0.004);
    assert_eq!(
        v["aws"]["elb"]["connection_trace_id"],
        "TID_0a1b2c3d4e5f67890a1b2c3d4e5f6789"
    );

    let v = Format::Ecs.to_value(&record(LogKind::NlbTls, NLB_LINE));
    let elb = &v["aws"]["elb"];
    assert_eq!(elb["type"], "tls");
    assert_eq!(elb["protocol"], "tcp");
    assert_eq!(elb["load_balancer_type"], "network");
    assert_eq!(elb["backend"]["ip"], "10.0.2.5");
    assert_eq!(elb["backend"]["port"], "443");
    assert_eq!(elb["connection_time"]["ms"], 1250);
    assert_eq!(elb["tls_handshake_time"]["ms"], 31);
    assert_eq!(elb["tls_named_group"], "secp256r1");
    assert_eq!(
        elb["alpn_client_preference_list"],
        json!(["h2", "http/1.1"])
    );
    assert_eq!(v["source"]["bytes"], 380);
    assert_eq!(v["destination"]["bytes"], 4120);
    assert_eq!(v["destination"]["domain"], "edge.example.com");
    assert_eq!(v["tls"]["version"], "1.2");
    assert_eq!(v["event"]["category"], json!(["network"]));
    assert_eq!(v["event"]["start"], "2025-06-01T12:35:09.404321Z");

    let v = Format::Ecs.to_value(&record(LogKind::Classic, CLASSIC_LINE));
    assert_eq!(v["aws"]["elb"]["load_balancer_type"], "classic");
    assert_eq!(v["aws"]["elb"]["protocol"], "http");
    assert_eq!(v["aws"]["elb"]["name"], "legacy-web");
    assert_eq!(v["http"]["response"]["status_code"], 200);
    assert_eq!(v["url"]["path"], "/index.html");
    assert_eq!(v["aws"]["elb"]["backend_processing_time"]["sec"], 0.00231);

    let v = Format::Ecs.to_value(&record(LogKind::HealthCheck, "raw \u{e9} line"));
    assert_eq!(v["message"], "raw \u{e9} line");
    assert_eq!(v["aws"]["elb"]["log_kind"], "health_check");
}

#[test]
fn invalid_utf8_becomes_replacement_characters_in_every_format() {
    let mut line = access_with(&[(14, r#""agent \xff\xfe""#)]).into_bytes();
    // Also a raw (unescaped) invalid byte in the URL.
    let pos = line.windows(4).position(|w| w == b"cart").unwrap();
    line[pos] = 0xff;
    let r = parse_line(LogKind::Access, &line).unwrap();
    for f in Format::ALL {
        let v = f.to_value(&r);
        let text = serde_json::to_string(&v).unwrap();
        assert!(text.contains("agent \u{fffd}\u{fffd}"), "{f}: {text}");
        assert!(text.contains("\u{fffd}art"), "{f}: {text}");
    }
}

#[test]
fn error_records_for_the_errors_stream() {
    let line = b"http 2025-06-01T12:34:56Z app/x/1 203.0.113.7:1 - nope \xff";
    let err = parse_line(LogKind::Access, line).unwrap_err();
    let mut out = Vec::new();
    fleetwatch_alb::encode::encode_error(7, LogKind::Access, &err, line, &mut out);
    assert_valid_json_without_duplicate_keys(&out);
    let v: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(
        v,
        json!({
            "line": 7,
            "kind": "access",
            "code": "bad_number",
            "reason": "bad number in field `request_processing_time`",
            "raw": "http 2025-06-01T12:34:56Z app/x/1 203.0.113.7:1 - nope \u{fffd}"
        })
    );
}

#[test]
fn appends_without_clearing_the_buffer() {
    let line = access_line();
    let r = record(LogKind::Access, &line);
    let mut out = b"prefix\n".to_vec();
    Format::Ecs.encode(&r, &mut out);
    out.push(b'\n');
    Format::Flat.encode(&r, &mut out);
    let lines: Vec<&[u8]> = out.split(|&b| b == b'\n').collect();
    assert_eq!(lines[0], b"prefix");
    for l in &lines[1..] {
        serde_json::from_slice::<Value>(l).unwrap();
    }
}
