//! Parser behaviour for every quirk listed in the ALB log reference.

mod fixtures;

use fixtures::*;
use fleetwatch_alb::{
    AccessRecord, LogKind, ParseError, Record, Seconds, Text, VerifyStatus, parse_access,
    parse_line,
};

fn access(line: &str) -> AccessRecord<'_> {
    match parse_access(line.as_bytes()) {
        Ok(r) => r,
        Err(e) => panic!("{e}: {line}"),
    }
}

fn s(t: Option<fleetwatch_alb::Text<'_>>) -> Option<String> {
    t.map(|t| t.to_str_lossy().into_owned())
}

fn some(v: &str) -> Option<String> {
    Some(v.to_string())
}

#[test]
fn full_33_field_line_has_every_field() {
    let line = access_line();
    let r = access(&line);
    assert_eq!(r.request_type.raw(), b"https");
    assert_eq!(r.time.as_str(), "2025-06-01T12:34:56.789012Z");
    assert_eq!(r.time.epoch_micros(), 1_748_781_296_789_012);
    assert_eq!(r.elb.raw(), b"app/shop-alb/50dc6c495c0c9188");
    assert_eq!(r.load_balancer_name().raw(), b"shop-alb");
    assert_eq!((r.client.ip, r.client.port), ("203.0.113.7", Some(51234)));
    let target = r.target.unwrap();
    assert_eq!((target.ip, target.port), ("10.0.1.15", Some(8080)));
    assert_eq!(r.request_processing_time, Seconds::Value(0.001));
    assert_eq!(r.target_processing_time.get(), Some(0.052));
    assert_eq!(r.response_processing_time.get(), Some(0.0));
    assert_eq!(r.elb_status_code, Some(200));
    assert_eq!(r.target_status_code, Some(201));
    assert_eq!(r.received_bytes, Some(512));
    assert_eq!(r.sent_bytes, Some(2048));
    assert_eq!(s(r.request.method), some("POST"));
    assert_eq!(
        s(r.request.url),
        some("https://shop.example.com:443/api/cart?item=42&qty=1")
    );
    assert_eq!(s(r.request.version), some("HTTP/1.1"));
    let url = r.request.url_parts().unwrap();
    assert_eq!(s(url.scheme), some("https"));
    assert_eq!(s(url.domain), some("shop.example.com"));
    assert_eq!(url.port, Some(443));
    assert_eq!(s(url.path), some("/api/cart"));
    assert_eq!(s(url.query), some("item=42&qty=1"));
    assert_eq!(
        s(r.user_agent),
        some(r#"Mozilla/5.0 (X11; Linux x86_64) "quoted" back\slash"#)
    );
    assert_eq!(s(r.ssl_cipher), some("ECDHE-RSA-AES128-GCM-SHA256"));
    assert_eq!(s(r.ssl_protocol), some("TLSv1.2"));
    assert!(
        s(r.target_group_arn)
            .unwrap()
            .ends_with("targetgroup/shop-tg/6d0ecf831eec9f09")
    );
    assert_eq!(
        s(r.trace_id),
        some("Root=1-6650f3a0-0123456789abcdef01234567")
    );
    assert_eq!(s(r.domain_name), some("shop.example.com"));
    assert!(s(r.chosen_cert_arn).unwrap().starts_with("arn:aws:acm:"));
    assert_eq!(r.matched_rule_priority, Some(3));
    assert_eq!(
        r.request_creation_time.map(|t| t.as_str()),
        Some("2025-06-01T12:34:56.735000Z")
    );
    let actions: Vec<_> = r.actions().map(|t| t.to_str_lossy().into_owned()).collect();
    assert_eq!(actions, ["waf", "forward"]);
    assert_eq!(r.redirect_url, None);
    assert_eq!(r.error_reason, None);
    let targets: Vec<_> = r
        .target_port_list
        .unwrap()
        .iter()
        .map(|t| t.raw())
        .collect();
    assert_eq!(targets, [b"10.0.1.15:8080"]);
    let codes: Vec<_> = r
        .target_status_code_list
        .unwrap()
        .iter()
        .map(|t| t.raw())
        .collect();
    assert_eq!(codes, [b"201"]);
    assert_eq!(s(r.classification), some("Acceptable"));
    assert_eq!(r.classification_reason, None);
    assert_eq!(
        s(r.conn_trace_id),
        some("TID_0a1b2c3d4e5f67890a1b2c3d4e5f6789")
    );
    assert_eq!(s(r.transformed_host), some("shop-internal.example.com"));
    assert_eq!(s(r.transformed_uri), some("/v2/api/cart?item=42&qty=1"));
    assert_eq!(s(r.request_transform_status), some("TransformSuccess"));
    assert!(r.extra.is_empty());
    assert_eq!(r.known_fields, 33);
}

#[test]
fn client_and_target_addresses_in_all_forms() {
    type Addr<'s> = (&'s str, Option<u16>);
    let cases: &[(&str, &str, Addr, Option<Addr>)] = &[
        (
            "2001:db8::7:51234",
            "10.0.1.15:8080",
            ("2001:db8::7", Some(51234)),
            Some(("10.0.1.15", Some(8080))),
        ),
        (
            "[2001:db8::7]:51234",
            "[fd00::15]:8080",
            ("2001:db8::7", Some(51234)),
            Some(("fd00::15", Some(8080))),
        ),
        (
            "::ffff:203.0.113.7:443",
            "fd00::15:80",
            ("::ffff:203.0.113.7", Some(443)),
            Some(("fd00::15", Some(80))),
        ),
        ("203.0.113.7:1", "-", ("203.0.113.7", Some(1)), None),
    ];
    for (client, target, want_client, want_target) in cases {
        let line = access_with(&[(4, client), (5, target)]);
        let r = access(&line);
        assert_eq!((r.client.ip, r.client.port), *want_client, "{client}");
        assert_eq!(r.target.map(|t| (t.ip, t.port)), *want_target, "{target}");
    }
}

#[test]
fn dash_and_minus_one_values() {
    let line = access_with(&[
        (5, "-"),
        (6, "-1"),
        (7, "-1"),
        (8, "-"),
        (9, "460"),
        (10, "-"),
        (11, "-"),
        (12, "0"),
        (21, "-"),
        (22, "-"),
    ]);
    let r = access(&line);
    assert_eq!(r.target, None);
    assert_eq!(r.request_processing_time, Seconds::NotApplicable);
    assert_eq!(r.request_processing_time.get(), None);
    assert_eq!(r.request_processing_time.logged(), Some(-1.0));
    assert_eq!(r.response_processing_time, Seconds::Missing);
    assert_eq!(r.response_processing_time.logged(), None);
    assert_eq!(r.elb_status_code, Some(460));
    assert_eq!(r.target_status_code, None);
    assert_eq!(r.received_bytes, None);
    assert_eq!(r.sent_bytes, Some(0));
    assert_eq!(r.matched_rule_priority, None);
    assert_eq!(r.request_creation_time, None);

    for (raw, want) in [
        ("0", Some(0)),
        ("-1", Some(-1)),
        ("-", None),
        ("50000", Some(50000)),
    ] {
        let line = access_with(&[(21, raw)]);
        assert_eq!(access(&line).matched_rule_priority, want, "{raw}");
    }
}

#[test]
fn escapes_and_invalid_utf8_inside_quotes() {
    let cases: &[(&[u8], &str)] = &[
        (br#""a \"b\" c""#, r#"a "b" c"#),
        (br#""back\\slash""#, r"back\slash"),
        (
            br#""nul\x00 bell\x07 del\x7f""#,
            "nul\u{0} bell\u{7} del\u{7f}",
        ),
        (br#""caf\xc3\xa9""#, "café"),
        (br#""bad \xff\xfe""#, "bad \u{fffd}\u{fffd}"),
        (b"\"raw \xff byte\"", "raw \u{fffd} byte"),
        (br#""unknown \q escape""#, r"unknown \q escape"),
        (br#""""#, ""),
    ];
    for (ua, want) in cases {
        let mut line = Vec::new();
        for (i, f) in ACCESS_FIELDS.iter().enumerate() {
            if i > 0 {
                line.push(b' ');
            }
            if i == 13 {
                line.extend_from_slice(ua);
            } else {
                line.extend_from_slice(f.as_bytes());
            }
        }
        let r =
            parse_access(&line).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(ua)));
        assert_eq!(r.user_agent.unwrap().to_str_lossy(), *want);
        // Fields after the escaped one are still in place.
        assert_eq!(r.ssl_protocol.unwrap().raw(), b"TLSv1.2");
        assert_eq!(r.known_fields, 33);
    }
}

#[test]
fn junk_and_malformed_request_lines_never_fail() {
    type Want = (Option<String>, Option<String>, Option<String>);
    let cases: &[(&str, Want)] = &[
        (
            r#""GET http://h:80/a b/[x]{y}|<z>?q=1 2 HTTP/1.1""#,
            (
                some("GET"),
                some("http://h:80/a b/[x]{y}|<z>?q=1 2"),
                some("HTTP/1.1"),
            ),
        ),
        (
            r#""- http://shop.example.com:80- -""#,
            (None, some("http://shop.example.com:80-"), None),
        ),
        (
            r#""GET http://h:80/x ""#,
            (some("GET"), some("http://h:80/x"), None),
        ),
        (
            r#""GET http://h:80/x""#,
            (some("GET"), some("http://h:80/x"), None),
        ),
        (r#""-""#, (None, None, None)),
        (r#""""#, (None, None, None)),
        (
            r#""\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03""#,
            (
                some("\u{16}\u{3}\u{1}\u{2}\u{0}\u{1}\u{0}\u{1}\u{fffd}\u{3}\u{3}"),
                None,
                None,
            ),
        ),
        (
            r#""GET /\"><script>alert(1)</script> HTTP/1.0""#,
            (
                some("GET"),
                some(r#"/"><script>alert(1)</script>"#),
                some("HTTP/1.0"),
            ),
        ),
    ];
    for (request, want) in cases {
        let line = access_with(&[(13, request)]);
        let r = access(&line);
        let got = (s(r.request.method), s(r.request.url), s(r.request.version));
        assert_eq!(&got, want, "{request}");
    }
}

#[test]
fn older_shorter_lines_parse_with_missing_fields_as_none() {
    for n in [17, 18, 20, 22, 26, 27, 29, 30] {
        let line = access_prefix(n);
        let r = access(&line);
        assert_eq!(r.known_fields, n, "{n}");
        assert_eq!(r.trace_id.is_some(), n >= 18, "{n}");
        assert_eq!(r.matched_rule_priority.is_some(), n >= 21, "{n}");
        assert_eq!(r.request_creation_time.is_some(), n >= 22, "{n}");
        assert_eq!(r.actions_executed.is_some(), n >= 23, "{n}");
        assert_eq!(r.target_port_list.is_some(), n >= 26, "{n}");
        assert_eq!(r.target_status_code_list.is_some(), n >= 27, "{n}");
        assert_eq!(r.classification.is_some(), n >= 28, "{n}");
        assert_eq!(r.conn_trace_id.is_some(), n >= 30, "{n}");
        assert_eq!(r.transformed_host, None, "{n}");
        assert!(r.extra.is_empty());
    }
}

#[test]
fn too_few_fields_is_an_error_with_counts() {
    let line = access_prefix(12);
    assert_eq!(
        parse_access(line.as_bytes()),
        Err(ParseError::TooFewFields {
            found: 12,
            expected: 17
        })
    );
}

#[test]
fn unknown_trailing_fields_are_kept() {
    let base = access_line();
    let cases: &[(&str, &[&str])] = &[
        (" 10.0.0.99", &["10.0.0.99"]),
        (
            r#" 10.0.0.99 "quoted \"x\"" - 42"#,
            &["10.0.0.99", r#"quoted "x""#, "-", "42"],
        ),
        (r#" "unterminated"#, &[r#""unterminated"#]),
    ];
    for (tail, want) in cases {
        let line = format!("{base}{tail}");
        let r = access(&line);
        let got: Vec<String> = r
            .extra
            .iter()
            .map(|t| t.to_str_lossy().into_owned())
            .collect();
        assert_eq!(got, *want, "{tail}");
        assert_eq!(s(r.request_transform_status), some("TransformSuccess"));
    }
}

#[test]
fn target_lists_quoted_unquoted_and_several_entries() {
    type Lists<'s> = (&'s [&'s str], &'s [&'s str]);
    let cases: &[(&str, &str, Lists)] = &[
        (
            r#""10.0.1.15:8080 10.0.1.16:8080""#,
            r#""502 200""#,
            (&["10.0.1.15:8080", "10.0.1.16:8080"], &["502", "200"]),
        ),
        ("10.0.1.15:8080", "200", (&["10.0.1.15:8080"], &["200"])),
        (
            "10.0.1.15:8080 10.0.1.16:8080",
            "502 200",
            (&["10.0.1.15:8080", "10.0.1.16:8080"], &["502", "200"]),
        ),
        (
            "[fd00::1]:80 fd00::2:80",
            "200 200",
            (&["[fd00::1]:80", "fd00::2:80"], &["200", "200"]),
        ),
        (r#""-""#, r#""-""#, (&[], &[])),
        ("-", "-", (&[], &[])),
        (r#""""#, r#""""#, (&[], &[])),
    ];
    for (ports, codes, (want_ports, want_codes)) in cases {
        let line = access_with(&[(26, ports), (27, codes)]);
        let r = access(&line);
        let got_ports: Vec<String> = r
            .target_port_list
            .unwrap()
            .iter()
            .map(|t| t.to_str_lossy().into_owned())
            .collect();
        let got_codes: Vec<String> = r
            .target_status_code_list
            .unwrap()
            .iter()
            .map(|t| t.to_str_lossy().into_owned())
            .collect();
        assert_eq!(got_ports, *want_ports, "{ports}");
        assert_eq!(got_codes, *want_codes, "{codes}");
        // The fields after the lists did not shift.
        assert_eq!(s(r.classification), some("Acceptable"), "{ports} {codes}");
        assert_eq!(s(r.request_transform_status), some("TransformSuccess"));
        assert!(r.extra.is_empty());
    }
}

#[test]
fn empty_actions_leading_space_domain_and_tls13() {
    let line = access_with(&[
        (23, r#""""#),
        (19, r#"" shop.example.com""#),
        (15, "TLS_AES_128_GCM_SHA256"),
        (16, "TLSv1.3"),
        (20, r#""session-reused""#),
    ]);
    let r = access(&line);
    assert_eq!(r.actions_executed.map(|t| t.raw()), Some(&b""[..]));
    assert_eq!(r.actions().count(), 0);
    assert_eq!(r.domain_name.unwrap().raw(), b" shop.example.com");
    assert_eq!(
        r.domain_name.unwrap().trim_spaces().raw(),
        b"shop.example.com"
    );
    assert_eq!(s(r.ssl_cipher), some("TLS_AES_128_GCM_SHA256"));
    assert_eq!(s(r.ssl_protocol), some("TLSv1.3"));
    assert_eq!(s(r.chosen_cert_arn), some("session-reused"));
}

#[test]
fn errors_carry_a_reason() {
    let cases: Vec<(String, ParseError)> = vec![
        (
            access_with(&[(2, "2025-06-01 12:34:56")]),
            ParseError::BadTimestamp { field: "time" },
        ),
        (
            access_with(&[(22, "yesterday")]),
            ParseError::BadTimestamp {
                field: "request_creation_time",
            },
        ),
        (
            access_with(&[(9, "2OO")]),
            ParseError::BadNumber {
                field: "elb_status_code",
            },
        ),
        (
            access_with(&[(6, "fast")]),
            ParseError::BadNumber {
                field: "request_processing_time",
            },
        ),
        (
            access_with(&[(11, "-5")]),
            ParseError::BadNumber {
                field: "received_bytes",
            },
        ),
        (
            access_with(&[(21, "first")]),
            ParseError::BadNumber {
                field: "matched_rule_priority",
            },
        ),
        (
            access_with(&[(4, "203.0.113.7:port")]),
            ParseError::BadAddress {
                field: "client:port",
            },
        ),
        (
            access_with(&[(5, "10.0.0.1:99999")]),
            ParseError::BadAddress {
                field: "target:port",
            },
        ),
        (
            access_with(&[(1, "h!ttp")]),
            ParseError::BadField { field: "type" },
        ),
        (
            access_with(&[(14, r#""never closed"#)]),
            ParseError::UnterminatedQuote { at: 0 },
        ),
    ];
    for (line, want) in cases {
        let got = parse_line(LogKind::Access, line.as_bytes()).unwrap_err();
        match (&got, &want) {
            (ParseError::UnterminatedQuote { .. }, ParseError::UnterminatedQuote { .. }) => {}
            _ => assert_eq!(got, want, "{line}"),
        }
        assert!(!got.to_string().is_empty());
    }
}

#[test]
fn lines_of_another_kind_are_named() {
    let cases: &[(LogKind, &str, LogKind)] = &[
        (LogKind::Access, NLB_LINE, LogKind::NlbTls),
        (LogKind::Access, CLASSIC_LINE, LogKind::Classic),
        (LogKind::Access, CONNECTION_LINE, LogKind::Connection),
        (LogKind::Classic, NLB_LINE, LogKind::NlbTls),
        (LogKind::Connection, CLASSIC_LINE, LogKind::Classic),
        (LogKind::NlbTls, CONNECTION_LINE, LogKind::Connection),
        (LogKind::Access, NLB_DOCUMENTED_LINE, LogKind::NlbTls),
        (LogKind::Access, HEALTH_CHECK_LINE, LogKind::HealthCheck),
    ];
    for (expected, line, found) in cases {
        assert_eq!(
            parse_line(*expected, line.as_bytes()),
            Err(ParseError::NotThisKind {
                expected: *expected,
                found: Some(*found)
            }),
            "{line}"
        );
    }
    let line = access_line();
    assert_eq!(
        parse_line(LogKind::Classic, line.as_bytes()),
        Err(ParseError::NotThisKind {
            expected: LogKind::Classic,
            found: Some(LogKind::Access)
        })
    );
    let e = parse_line(LogKind::Access, NLB_LINE.as_bytes()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "line does not fit kind `access` (looks like `nlb_tls`)"
    );
    assert_eq!(e.code(), "not_this_kind");
}

#[test]
fn unknown_files_are_parsed_by_content() {
    let access = access_line();
    let cases: &[(&str, LogKind)] = &[
        (&access, LogKind::Access),
        (NLB_LINE, LogKind::NlbTls),
        (CLASSIC_LINE, LogKind::Classic),
        (CONNECTION_LINE, LogKind::Connection),
        (NLB_DOCUMENTED_LINE, LogKind::NlbTls),
    ];
    for (line, kind) in cases {
        let r = parse_line(LogKind::Unknown, line.as_bytes()).unwrap();
        assert_eq!(r.kind(), *kind);
        assert!(r.time().is_some());
    }
    // Kept whole, without a time of its own.
    let r = parse_line(LogKind::Unknown, HEALTH_CHECK_LINE.as_bytes()).unwrap();
    assert_eq!(
        r,
        Record::HealthCheck(Text::literal(HEALTH_CHECK_LINE.as_bytes()))
    );
    assert_eq!(
        parse_line(LogKind::Unknown, b"hello world"),
        Err(ParseError::Unrecognized)
    );
}

#[test]
fn line_endings_empty_lines_and_raw_kinds() {
    let crlf = format!("{}\r\n", access_line());
    assert!(matches!(
        parse_line(LogKind::Access, crlf.as_bytes()),
        Ok(Record::Access(_))
    ));
    let lf = format!("{}\n", access_line());
    let Ok(Record::Access(r)) = parse_line(LogKind::Access, lf.as_bytes()) else {
        panic!()
    };
    assert_eq!(s(r.request_transform_status), some("TransformSuccess"));
    assert_eq!(parse_line(LogKind::Access, b""), Err(ParseError::EmptyLine));
    assert_eq!(
        parse_line(LogKind::Access, b"\r\n"),
        Err(ParseError::EmptyLine)
    );

    let hc = b"anything at all \"unbalanced";
    assert_eq!(
        parse_line(LogKind::HealthCheck, hc),
        Ok(Record::HealthCheck(fleetwatch_alb::Text::literal(hc)))
    );
    let test = b"Enable AccessLog for ELB: shop-alb at 2025-06-01T12:00:00.000Z";
    let r = parse_line(LogKind::TestFile, test).unwrap();
    assert_eq!(r.kind(), LogKind::TestFile);
    assert_eq!(r.time(), None);
}

#[test]
fn connection_log_lines() {
    let Record::Connection(r) =
        parse_line(LogKind::Connection, CONNECTION_LINE.as_bytes()).unwrap()
    else {
        panic!()
    };
    assert_eq!(r.time.as_str(), "2025-06-01T12:34:56.123456Z");
    assert_eq!(r.client_ip.raw(), b"203.0.113.7");
    assert_eq!(r.client_port, Some(51234));
    assert_eq!(r.listener_port, Some(443));
    assert_eq!(s(r.tls_protocol), some("TLSv1.3"));
    assert_eq!(s(r.tls_cipher), some("TLS_AES_128_GCM_SHA256"));
    assert_eq!(r.tls_handshake_latency.get(), Some(0.004));
    assert_eq!(
        s(r.leaf_client_cert_subject),
        some("CN=client.example.com,O=Example Corp,C=US")
    );
    let v = r.leaf_client_cert_validity.unwrap();
    assert_eq!(s(v.not_before), some("2025-01-01T00:00:00Z"));
    assert_eq!(s(v.not_after), some("2026-01-01T00:00:00Z"));
    assert_eq!(
        s(r.leaf_client_cert_serial_number),
        some("0f3a9c1d2e4b5a69")
    );
    assert_eq!(r.verify_status(), Some(VerifyStatus::Success));
    assert_eq!(
        s(r.conn_trace_id),
        some("TID_0a1b2c3d4e5f67890a1b2c3d4e5f6789")
    );

    // No client certificate, failed verification, IPv6 client, no conn_trace_id (older line).
    let line = r#"2025-06-01T12:34:57.000001Z 2001:db8::9 40000 443 TLSv1.2 ECDHE-RSA-AES128-GCM-SHA256 -1 "-" - - Failed:UnableToGetIssuerCert"#;
    let Record::Connection(r) = parse_line(LogKind::Connection, line.as_bytes()).unwrap() else {
        panic!()
    };
    assert_eq!(r.client_ip.raw(), b"2001:db8::9");
    assert_eq!(r.tls_handshake_latency, Seconds::NotApplicable);
    assert_eq!(r.leaf_client_cert_subject, None);
    assert_eq!(r.leaf_client_cert_validity, None);
    match r.verify_status() {
        Some(VerifyStatus::Failed(reason)) => assert_eq!(reason.raw(), b"UnableToGetIssuerCert"),
        other => panic!("{other:?}"),
    }
    assert_eq!(r.conn_trace_id, None);

    let short = "2025-06-01T12:34:57.000001Z 203.0.113.7 40000 443 TLSv1.2";
    assert_eq!(
        parse_line(LogKind::Connection, short.as_bytes()),
        Err(ParseError::TooFewFields {
            found: 5,
            expected: 11
        })
    );
}

#[test]
fn nlb_tls_lines() {
    let Record::Nlb(r) = parse_line(LogKind::NlbTls, NLB_LINE.as_bytes()).unwrap() else {
        panic!()
    };
    assert_eq!(r.log_type.raw(), b"tls");
    assert_eq!(r.version.raw(), b"2.0");
    assert_eq!(r.time.as_str(), "2025-06-01T12:35:10.654321Z");
    assert_eq!(r.load_balancer_name().raw(), b"edge-nlb");
    assert_eq!(r.listener.raw(), b"0aa1bb2cc3dd4ee5");
    assert_eq!((r.client.ip, r.client.port), ("198.51.100.23", Some(40123)));
    let d = r.destination.unwrap();
    assert_eq!((d.ip, d.port), ("10.0.2.5", Some(443)));
    assert_eq!(r.connection_time_ms, Some(1250));
    assert_eq!(r.tls_handshake_time_ms, Some(31));
    assert_eq!((r.received_bytes, r.sent_bytes), (Some(380), Some(4120)));
    assert_eq!(r.incoming_tls_alert, None);
    assert!(r.chosen_cert_arn.is_some());
    assert_eq!(r.chosen_cert_serial, None);
    assert_eq!(s(r.tls_cipher), some("ECDHE-RSA-AES128-GCM-SHA256"));
    assert_eq!(s(r.tls_protocol_version), some("tlsv12"));
    assert_eq!(s(r.tls_named_group), some("secp256r1"));
    assert_eq!(s(r.domain_name), some("edge.example.com"));
    assert_eq!(s(r.alpn_fe_protocol), some("h2"));
    assert_eq!(s(r.alpn_be_protocol), some("h2"));
    let prefs: Vec<String> = r
        .alpn_client_preferences()
        .map(|t| t.to_str_lossy().into_owned())
        .collect();
    assert_eq!(prefs, ["h2", "http/1.1"]);
    assert_eq!(
        r.tls_connection_creation_time.map(|t| t.as_str()),
        Some("2025-06-01T12:35:09.404321Z")
    );
    assert!(r.extra.is_empty());

    // Handshake failed (`-`), no ALPN fields yet (older line), plus an unknown trailing field.
    let fields: Vec<&str> = NLB_LINE.split(' ').collect();
    let mut older: Vec<&str> = fields[..18].to_vec();
    older[8] = "-";
    let older = older.join(" ");
    let Record::Nlb(r) = parse_line(LogKind::NlbTls, older.as_bytes()).unwrap() else {
        panic!()
    };
    assert_eq!(r.tls_handshake_time_ms, None);
    assert_eq!(r.alpn_fe_protocol, None);
    assert_eq!(r.tls_connection_creation_time, None);
    let newer = format!("{NLB_LINE} future-field");
    let Record::Nlb(r) = parse_line(LogKind::NlbTls, newer.as_bytes()).unwrap() else {
        panic!()
    };
    assert_eq!(r.extra.raw(), b"future-field");
}

#[test]
fn classic_elb_lines() {
    let Record::Classic(r) = parse_line(LogKind::Classic, CLASSIC_LINE.as_bytes()).unwrap() else {
        panic!()
    };
    assert_eq!(r.elb.raw(), b"legacy-web");
    assert_eq!((r.client.ip, r.client.port), ("198.51.100.9", Some(3312)));
    assert_eq!(r.backend.map(|b| b.ip), Some("10.0.3.7"));
    assert_eq!(r.request_processing_time.get(), Some(0.000041));
    assert_eq!(r.backend_processing_time.get(), Some(0.00231));
    assert_eq!(r.response_processing_time.get(), Some(0.00002));
    assert_eq!(
        (r.elb_status_code, r.backend_status_code),
        (Some(200), Some(200))
    );
    assert_eq!((r.received_bytes, r.sent_bytes), (Some(0), Some(1543)));
    assert_eq!(s(r.request.method), some("GET"));
    assert_eq!(s(r.user_agent), some("curl/8.5.0"));
    assert_eq!(s(r.ssl_protocol), some("TLSv1.2"));
    assert!(r.is_http());

    let cases: &[(&str, bool, Option<u16>)] = &[
        // Older 12-field line (no user agent or TLS fields).
        (
            r#"2014-02-15T23:39:43.945958Z legacy-web 198.51.100.9:2817 10.0.3.7:80 0.000073 0.001048 0.000057 200 200 0 29 "GET http://legacy.example.com:80/ HTTP/1.1""#,
            true,
            Some(200),
        ),
        // Back end never answered.
        (
            r#"2015-04-10T08:11:09.865823Z legacy-web 198.51.100.9:55128 - -1 -1 -1 408 - 1294336 0 "PUT https://legacy.example.com:443/upload HTTP/1.1" "-" - -"#,
            true,
            None,
        ),
        // TCP listener.
        (
            r#"2015-05-13T23:39:43.945958Z legacy-tcp 198.51.100.9:2817 10.0.3.7:80 0.001069 0.000028 0.000041 - - 82 305 "- - - " "-" - -"#,
            false,
            None,
        ),
    ];
    for (line, http, backend_status) in cases {
        let Record::Classic(r) = parse_line(LogKind::Classic, line.as_bytes()).unwrap() else {
            panic!()
        };
        assert_eq!(r.is_http(), *http, "{line}");
        assert_eq!(r.backend_status_code, *backend_status, "{line}");
    }
}

#[test]
fn long_agents_ipv6_urls_and_escaped_urls() {
    let agent = format!("\"{}\"", "A".repeat(8192));
    let line = access_with(&[
        (14, &agent),
        (
            13,
            r#""GET http://[2001:db8::1]:8080/p\x20q/\"x\"?a=\xff HTTP/1.1""#,
        ),
    ]);
    let r = access(&line);
    assert_eq!(r.user_agent.unwrap().raw().len(), 8192);
    let url = r.request.url_parts().unwrap();
    assert_eq!(s(url.domain), some("[2001:db8::1]"));
    assert_eq!(url.port, Some(8080));
    assert_eq!(s(url.path), some("/p q/\"x\""));
    assert_eq!(s(url.query), some("a=\u{fffd}"));
    assert_eq!(r.known_fields, 33);
}
