//! Evaluation: every condition against what a probe saw, with the expected value, the value
//! seen and the sentence people read; probe errors as reasons; metrics; redaction.

use fleetwatch_health::{
    Check, CheckResult, Config, HttpObservation, HttpRequest, Observation, Probe, ProbeError,
    TcpConnect, TcpObservation, UnixTime, evaluate, probe,
};
use std::time::Duration;

const NOW: UnixTime = UnixTime::from_secs(1_795_000_000);
const DAY: i64 = 86_400;

/// An https check with these condition lines (each `- ...`).
fn http_check(conditions: &[&str]) -> Check {
    check(&format!(
        "checks:\n  - name: api\n    url: https://api.internal/health\n    conditions:\n{}",
        conditions
            .iter()
            .map(|c| format!("      - {c}\n"))
            .collect::<String>()
    ))
}

fn check(yaml: &str) -> Check {
    let config = Config::from_yaml(yaml, Duration::from_secs(60)).unwrap();
    config.checks()[0].clone()
}

fn answer(status: u16, body: &str) -> HttpObservation {
    HttpObservation {
        status,
        headers: vec![("content-type".into(), "application/json".into())],
        body: body.as_bytes().to_vec(),
        body_truncated: false,
        latency: Duration::from_millis(120),
        tls_cert_not_after: Some(NOW.as_secs() + 90 * DAY),
    }
}

fn run(check: &Check, observation: HttpObservation) -> CheckResult {
    evaluate(check, &Observation::Http(Ok(observation)), NOW)
}

/// (passed, expected, seen, message) of a condition.
type Verdict<'a> = (bool, &'a str, &'a str, &'a str);

/// The verdict on the last condition of the check (the first is the implied status, when no
/// status is written).
fn last(result: &CheckResult) -> Verdict<'_> {
    let c = result.conditions.last().unwrap();
    (
        c.passed,
        c.expected.as_str(),
        c.seen.as_str(),
        c.message.as_str(),
    )
}

#[test]
fn status_conditions() {
    let cases = [
        (
            vec![],
            200,
            (true, "[200..299]", "200", "status 200 in [200..299]"),
        ),
        (
            vec![],
            503,
            (false, "[200..299]", "503", "status 503 not in [200..299]"),
        ),
        (
            vec!["status: [200, 204]"],
            204,
            (true, "[200, 204]", "204", "status 204 in [200, 204]"),
        ),
        (
            vec!["status: [200, 204]"],
            201,
            (false, "[200, 204]", "201", "status 201 not in [200, 204]"),
        ),
        (
            vec!["status: 401"],
            401,
            (true, "[401]", "401", "status 401 in [401]"),
        ),
    ];
    for (conditions, status, expected) in cases {
        let result = run(&http_check(&conditions), answer(status, ""));
        assert_eq!(last(&result), expected, "{conditions:?} {status}");
        assert_eq!(result.healthy, expected.0);
    }
}

#[test]
fn body_conditions_never_quote_the_body() {
    let cases = [
        (
            "body_contains: pong",
            "pong v1.2",
            (true, "\"pong\"", "present", "body contains \"pong\""),
        ),
        (
            "body_contains: pong",
            "error",
            (
                false,
                "\"pong\"",
                "absent",
                "body does not contain \"pong\"",
            ),
        ),
        (
            "body_matches: \"^pong( v[0-9.]+)?$\"",
            "pong v1.2",
            (
                true,
                "/^pong( v[0-9.]+)?$/",
                "match",
                "body matches /^pong( v[0-9.]+)?$/",
            ),
        ),
        (
            "body_matches: \"^pong$\"",
            "pong v1.2",
            (
                false,
                "/^pong$/",
                "no match",
                "body does not match /^pong$/",
            ),
        ),
    ];
    for (condition, body, expected) in cases {
        let result = run(&http_check(&[condition]), answer(200, body));
        assert_eq!(last(&result), expected, "{condition} on {body:?}");
        assert_eq!(result.conditions.len(), 2, "implied status first");
    }
}

#[test]
fn a_truncated_body_is_mentioned_when_a_body_condition_fails() {
    let mut seen = answer(200, "aaaa");
    seen.body_truncated = true;
    let result = run(&http_check(&["body_contains: zzz"]), seen);
    assert_eq!(
        last(&result).3,
        "body does not contain \"zzz\" (only the first 4 bytes were read)"
    );
}

#[test]
fn json_pointer_conditions() {
    let long = "x".repeat(150);
    let long_body = format!(r#"{{"status": "{long}"}}"#);
    let cases: Vec<(&str, &str, Verdict)> = vec![
        (
            "json: { pointer: /status, equals: UP }",
            r#"{"status": "UP"}"#,
            (true, "\"UP\"", "\"UP\"", "JSON /status is \"UP\""),
        ),
        (
            "json: { pointer: /status, equals: UP }",
            r#"{"status": "DOWN"}"#,
            (
                false,
                "\"UP\"",
                "\"DOWN\"",
                "JSON /status is \"DOWN\" (expected \"UP\")",
            ),
        ),
        (
            "json: { pointer: /status, equals: UP }",
            r#"{"state": "UP"}"#,
            (
                false,
                "\"UP\"",
                "missing",
                "JSON /status is missing (expected \"UP\")",
            ),
        ),
        (
            "json: { pointer: /db/0/ok, equals: true }",
            r#"{"db": [{"ok": true}]}"#,
            (true, "true", "true", "JSON /db/0/ok is true"),
        ),
        // Numbers compare by value, and values as text, as Gatus does.
        (
            "json: { pointer: /replicas, equals: 3 }",
            r#"{"replicas": 3.0}"#,
            (true, "3", "3.0", "JSON /replicas is 3.0"),
        ),
        (
            "json: { pointer: /version, equals: \"2\" }",
            r#"{"version": 2}"#,
            (true, "\"2\"", "2", "JSON /version is 2"),
        ),
        (
            "json: { pointer: /checks, equals: 0 }",
            r#"{"checks": [1, 2]}"#,
            (
                false,
                "0",
                "an array of 2 items",
                "JSON /checks is an array of 2 items (expected 0)",
            ),
        ),
        (
            "json: { pointer: /status, equals: UP }",
            long_body.as_str(),
            (
                false,
                "\"UP\"",
                "a string of 150 characters",
                "JSON /status is a string of 150 characters (expected \"UP\")",
            ),
        ),
        (
            "json: { pointer: /status, equals: UP }",
            "<html>oops</html>",
            (
                false,
                "\"UP\"",
                "not JSON",
                "body is not JSON (expected value at line 1 column 1); expected /status = \"UP\"",
            ),
        ),
    ];
    for (condition, body, expected) in cases {
        let result = run(&http_check(&[condition]), answer(200, body));
        assert_eq!(last(&result), expected, "{condition} on {body}");
    }
}

#[test]
fn response_time_condition() {
    let cases = [
        (
            499,
            (true, "< 500ms", "499ms", "response time 499ms (< 500ms)"),
        ),
        (
            500,
            (
                false,
                "< 500ms",
                "500ms",
                "response time 500ms (needs < 500ms)",
            ),
        ),
        (
            1200,
            (
                false,
                "< 500ms",
                "1200ms",
                "response time 1200ms (needs < 500ms)",
            ),
        ),
    ];
    for (millis, expected) in cases {
        let mut seen = answer(200, "");
        seen.latency = Duration::from_millis(millis);
        let result = run(&http_check(&["response_time_under: 500ms"]), seen);
        assert_eq!(last(&result), expected, "{millis}ms");
        assert_eq!(result.metrics.latency_ms, Some(millis));
    }
}

#[test]
fn certificate_condition() {
    let cases: Vec<(Option<i64>, Verdict)> = vec![
        (
            Some(90 * DAY),
            (
                true,
                "> 14 days",
                "expires in 90 days",
                "certificate expires in 90 days",
            ),
        ),
        (
            Some(6 * DAY + 3600),
            (
                false,
                "> 14 days",
                "expires in 6 days",
                "certificate expires in 6 days (needs > 14 days)",
            ),
        ),
        // Exactly 14 days left is not more than 14 days.
        (
            Some(14 * DAY),
            (
                false,
                "> 14 days",
                "expires in 14 days",
                "certificate expires in 14 days (needs > 14 days)",
            ),
        ),
        (
            Some(14 * DAY + 1),
            (
                true,
                "> 14 days",
                "expires in 14 days",
                "certificate expires in 14 days",
            ),
        ),
        (
            Some(5 * 3600),
            (
                false,
                "> 14 days",
                "expires in 5h",
                "certificate expires in 5h (needs > 14 days)",
            ),
        ),
        (
            Some(-3 * DAY),
            (
                false,
                "> 14 days",
                "expired 3 days ago",
                "certificate expired 3 days ago (needs > 14 days)",
            ),
        ),
        (
            None,
            (
                false,
                "> 14 days",
                "no certificate",
                "no TLS certificate seen (needs > 14 days left)",
            ),
        ),
    ];
    for (left, expected) in cases {
        let mut seen = answer(200, "");
        seen.tls_cert_not_after = left.map(|l| NOW.as_secs() + l);
        let result = run(&http_check(&["certificate_valid_for_more_than: 14d"]), seen);
        assert_eq!(last(&result), expected, "{left:?}");
        assert_eq!(
            result.metrics.certificate_days_left,
            left.map(|l| l as f64 / DAY as f64)
        );
    }
    let result = run(
        &http_check(&["certificate_valid_for_more_than: 36h"]),
        answer(200, ""),
    );
    assert_eq!(last(&result).1, "> 1d12h");
}

#[test]
fn every_condition_is_listed_in_order_and_all_must_pass() {
    let check = http_check(&[
        "status: 200",
        "body_contains: UP",
        "json: { pointer: /status, equals: UP }",
        "response_time_under: 100ms",
    ]);
    let result = run(&check, answer(200, r#"{"status": "UP"}"#));
    let verdicts: Vec<(&str, bool)> = result
        .conditions
        .iter()
        .map(|c| (c.condition.as_str(), c.passed))
        .collect();
    assert_eq!(
        verdicts,
        [
            ("status in [200]", true),
            ("body contains \"UP\"", true),
            ("JSON /status equals \"UP\"", true),
            ("response time under 100ms", false),
        ]
    );
    assert!(!result.healthy);
    assert_eq!(result.reason(), "response time 120ms (needs < 100ms)");
    assert_eq!(result.metrics.up, 0);
}

#[test]
fn probe_errors_are_one_failed_condition_with_a_clear_reason() {
    let check = http_check(&["body_contains: UP"]);
    let cases = [
        (
            ProbeError::ConnectionRefused {
                address: "api.internal:443".into(),
            },
            "request failed: connection refused by api.internal:443 (nothing listening, or a firewall rejects it)",
        ),
        (
            ProbeError::Dns {
                host: "api.internal".into(),
                detail: "no record found".into(),
            },
            "request failed: DNS lookup of api.internal failed: no record found",
        ),
        (
            ProbeError::Timeout {
                after: Duration::from_secs(10),
            },
            "request failed: no answer within 10s",
        ),
        (
            ProbeError::Tls {
                detail: "invalid peer certificate: UnknownIssuer".into(),
            },
            "request failed: TLS handshake failed: invalid peer certificate: UnknownIssuer",
        ),
        (
            ProbeError::TooManyRedirects { limit: 10 },
            "request failed: more than 10 redirects (a redirect loop?)",
        ),
        (
            ProbeError::Other {
                detail: "connection reset by peer".into(),
            },
            "request failed: connection reset by peer",
        ),
    ];
    for (error, reason) in cases {
        let result = evaluate(&check, &Observation::Http(Err(error.clone())), NOW);
        assert!(!result.healthy);
        assert_eq!(result.conditions.len(), 1, "{error:?}");
        assert_eq!(result.reason(), reason);
        assert_eq!(result.conditions[0].seen, error.to_string());
        assert_eq!(result.metrics.up, 0);
        assert_eq!(result.metrics.latency_ms, None);
    }
}

#[test]
fn tcp_checks_connect_and_time_the_connect() {
    let tcp = check(
        "checks:\n  - name: db\n    url: tcp://db.internal:5432\n    conditions:\n      - response_time_under: 50ms\n",
    );
    let fast = Observation::Tcp(Ok(TcpObservation {
        latency: Duration::from_millis(3),
    }));
    let result = evaluate(&tcp, &fast, NOW);
    assert!(result.healthy);
    assert_eq!(result.conditions[0].message, "connected in 3ms");
    assert_eq!(result.metrics.latency_ms, Some(3));

    let slow = Observation::Tcp(Ok(TcpObservation {
        latency: Duration::from_millis(80),
    }));
    assert_eq!(
        evaluate(&tcp, &slow, NOW).reason(),
        "response time 80ms (needs < 50ms)"
    );

    let refused = Observation::Tcp(Err(ProbeError::ConnectionRefused {
        address: "db.internal:5432".into(),
    }));
    assert_eq!(
        evaluate(&tcp, &refused, NOW).reason(),
        "connection failed: connection refused by db.internal:5432 (nothing listening, or a firewall rejects it)"
    );
}

#[test]
fn an_observation_of_the_wrong_kind_is_a_failure_not_a_panic() {
    let tcp_answer = Observation::Tcp(Ok(TcpObservation {
        latency: Duration::ZERO,
    }));
    let result = evaluate(&http_check(&[]), &tcp_answer, NOW);
    assert!(!result.healthy);
    assert_eq!(
        result.reason(),
        "probe mismatch: the prober answered the http check with another kind of observation"
    );
}

#[test]
fn metrics_per_result() {
    let result = run(&http_check(&[]), answer(200, ""));
    assert_eq!(result.metrics.up, 1);
    assert_eq!(result.metrics.latency_ms, Some(120));
    assert_eq!(result.metrics.certificate_days_left, Some(90.0));
    let json = serde_json::to_value(&result.metrics).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"up": 1, "latency_ms": 120, "certificate_days_left": 90.0})
    );
}

#[test]
fn header_values_echoed_by_the_server_are_redacted() {
    let check = check(
        "checks:\n  - name: echo\n    url: https://echo.internal/headers\n    headers:\n      X-Api-Key: literal-key-123\n      Authorization: { ssm: /fleetwatch/echo/token }\n    conditions:\n      - json: { pointer: /headers/X-Api-Key, equals: nope }\n      - json: { pointer: /headers/Authorization, equals: nope }\n",
    );
    let body = r#"{"headers": {"X-Api-Key": "literal-key-123", "Authorization": "Bearer resolved-token-456"}}"#;
    let mut result = run(&check, answer(200, body));
    // The literal one is hidden by evaluate itself.
    let text = serde_json::to_string(&result).unwrap();
    assert!(!text.contains("literal-key-123"), "{text}");
    assert!(text.contains("[redacted]"), "{text}");
    // The resolved one once the adapter hands its value over.
    assert!(
        text.contains("resolved-token-456"),
        "test setup: the value is echoed"
    );
    result.redact(&["Bearer resolved-token-456"]);
    let text = serde_json::to_string(&result).unwrap();
    assert!(!text.contains("resolved-token-456"), "{text}");
}

#[test]
fn the_probe_of_an_http_and_a_tcp_check() {
    let http = check(
        "checks:\n  - name: api\n    url: https://api.internal/health\n    method: post\n    headers: { Content-Type: application/json }\n    body: '{\"ping\": true}'\n    timeout: 5s\n",
    );
    let Probe::Http(HttpRequest {
        method,
        url,
        headers,
        basic_auth,
        body,
        timeout,
        max_body_bytes,
        max_redirects,
    }) = probe(&http)
    else {
        panic!("not an http probe")
    };
    assert_eq!(
        (method.as_str(), url.as_str()),
        ("POST", "https://api.internal/health")
    );
    assert_eq!(headers.len(), 1);
    assert_eq!(basic_auth, None);
    assert_eq!(body.as_deref(), Some("{\"ping\": true}"));
    assert_eq!(timeout, Duration::from_secs(5));
    assert_eq!((max_body_bytes, max_redirects), (1024 * 1024, 10));

    let tcp = check("checks:\n  - name: db\n    url: tcp://[fd00::5]:5432\n");
    assert_eq!(
        probe(&tcp),
        Probe::Tcp(TcpConnect {
            host: "fd00::5".into(),
            port: 5432,
            timeout: Duration::from_secs(10)
        })
    );
    assert_eq!(tcp.url(), "tcp://[fd00::5]:5432");
}
