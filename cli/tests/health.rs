//! `fleetwatch health check` against a service on loopback: exit 0 when every check passes,
//! 1 when one fails (the table names the failed condition and the value seen), 2 for a
//! configuration that cannot be read or is invalid (with its line); `--json`, `--secrets`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use fleetwatch_test_support::service::{Answer, ServiceFake, refused_port};
use serde_json::Value;

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fleetwatch"))
        .args(args)
        .output()
        .unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The text with every run of spaces as one (the table's padding depends on the widths).
fn squeezed(text: &str) -> String {
    text.lines()
        .map(|line| line.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect::<Vec<_>>()
        .join("\n")
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

const TOKEN: &str = "cli-7f3e9b1c-token";

#[test]
fn health_check_exits_by_the_results() {
    let dir = tempfile::tempdir().unwrap();
    let service = ServiceFake::start();
    service.set("/health", Answer::json(r#"{"status":"UP"}"#));
    service.set("/ping", Answer::ok("pong"));
    let config = write(
        dir.path(),
        "checks.yaml",
        &format!(
            "checks:\n  - name: api\n    url: {}\n    headers:\n      Authorization: {{ ssm: /api/token }}\n    conditions:\n      - json: {{ pointer: /status, equals: UP }}\n  - name: ping\n    url: {}\n    conditions:\n      - body_contains: pong\n",
            service.url("/health"),
            service.url("/ping")
        ),
    );
    let secrets = write(
        dir.path(),
        "secrets.yaml",
        &format!("/api/token: {TOKEN}\n"),
    );
    let (config, secrets) = (config.to_str().unwrap(), secrets.to_str().unwrap());

    let healthy = run(&["health", "check", config, "--secrets", secrets]);
    assert_eq!(healthy.status.code(), Some(0), "{}", stderr(&healthy));
    let text = stdout(&healthy);
    assert!(
        text.starts_with("CHECK  RESULT  FAILED CONDITION  SEEN  LATENCY\n"),
        "{text}"
    );
    assert!(text.contains("\napi    ok"), "{text}");
    assert!(text.ends_with("\n0 of 2 check(s) failing\n"), "{text}");
    assert_eq!(
        service.received()[0].header("authorization"),
        Some(TOKEN),
        "the secret from the file was sent"
    );

    service.set("/health", Answer::status(503, r#"{"status":"DOWN"}"#));
    service.set("/ping", Answer::ok("pang"));
    let failing = run(&["health", "check", config, "--secrets", secrets]);
    assert_eq!(failing.status.code(), Some(1), "{}", stderr(&failing));
    let text = squeezed(&stdout(&failing));
    assert!(
        text.contains("\napi FAIL status in [200..299] 503 "),
        "{text}"
    );
    assert!(
        text.contains("\nJSON /status equals \"UP\" \"DOWN\"\n"),
        "{text}"
    );
    assert!(
        text.contains("\nping FAIL body contains \"pong\" absent "),
        "{text}"
    );
    assert!(text.ends_with("\n2 of 2 check(s) failing"), "{text}");
    assert!(!text.contains(TOKEN));

    let json = run(&["health", "check", config, "--secrets", secrets, "--json"]);
    assert_eq!(json.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(report["failing"], 2);
    assert_eq!(report["checks"][0]["name"], "api");
    assert_eq!(report["checks"][0]["healthy"], false);
    assert_eq!(
        report["checks"][0]["reason"],
        "status 503 not in [200..299]; JSON /status is \"DOWN\" (expected \"UP\")"
    );
    assert!(report["checks"][0]["metrics"]["latency_ms"].is_u64());
}

#[test]
fn unreachable_services_fail_with_their_reason() {
    let dir = tempfile::tempdir().unwrap();
    let port = refused_port();
    let config = write(
        dir.path(),
        "checks.yaml",
        &format!("checks:\n  - name: gone\n    url: tcp://127.0.0.1:{port}\n"),
    );
    let output = run(&["health", "check", config.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let text = squeezed(&stdout(&output));
    assert!(
        text.contains(&format!(
            "\ngone FAIL connects connection refused by 127.0.0.1:{port} (nothing listening, or a firewall rejects it) -\n"
        )),
        "{text}"
    );
}

#[test]
fn an_unreadable_or_invalid_configuration_exits_2_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.yaml");
    let output = run(&["health", "check", missing.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("missing.yaml: cannot read"),
        "{}",
        stderr(&output)
    );

    let invalid = write(
        dir.path(),
        "invalid.yaml",
        "checks:\n  - name: api\n    url: https://api.internal/health\n    failure_treshold: 2\n",
    );
    let output = run(&["health", "check", invalid.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    let error = stderr(&output);
    assert!(
        error.contains("invalid.yaml: health checks configuration, line 4 column 5: "),
        "{error}"
    );

    // A secret the file does not hold: nothing is probed.
    let config = write(
        dir.path(),
        "secret.yaml",
        "checks:\n  - name: api\n    url: http://127.0.0.1:9/\n    headers:\n      X-Token: { ssm: /not/there }\n",
    );
    let secrets = write(dir.path(), "secrets.yaml", "/other: x\n");
    let output = run(&[
        "health",
        "check",
        config.to_str().unwrap(),
        "--secrets",
        secrets.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("has no value for /not/there"),
        "{}",
        stderr(&output)
    );
}
