//! The configuration: the documented example loads with every default applied, and every
//! mistake names its line, its column and what is wrong.

use fleetwatch_health::{
    Condition, Config, ConfigError, Resolvable, StatusSet, Target, format_duration,
};
use std::time::Duration;

const PERIOD: Duration = Duration::from_secs(60);

/// A valid configuration; each case below breaks it in one place. Line numbers on the right.
const BASE: &str = "\
defaults:                                            # 1
  interval: 1m                                       # 2
  reminder: 30m                                      # 3
  labels: { env: prod }                              # 4
checks:                                              # 5
  - name: jenkins                                    # 6
    type: jenkins                                    # 7
    url: https://jenkins.internal                    # 8
    user: monitor                                    # 9
    api_token: { ssm: /fleetwatch/jenkins/token }    # 10
    conditions:                                      # 11
      - online_executors_at_least: 2                 # 12
      - queue_items_under: 25                        # 13
    interval: 2m                                     # 14
  - name: api                                        # 15
    url: https://api.internal/health                 # 16
    headers:                                         # 17
      Authorization: { ssm: /fleetwatch/api/token }  # 18
      Accept: application/json                       # 19
    conditions:                                      # 20
      - status: [200-299, 304]                       # 21
      - json: { pointer: /status, equals: UP }       # 22
      - certificate_valid_for_more_than: 14d         # 23
  - name: db                                         # 24
    url: tcp://db.internal:5432                      # 25
    conditions:                                      # 26
      - response_time_under: 200ms                   # 27
";

fn broken(from: &str, to: &str) -> String {
    assert!(BASE.contains(from), "test setup: {from:?} is not in BASE");
    BASE.replacen(from, to, 1)
}

fn error_of(yaml: &str) -> ConfigError {
    match Config::from_yaml(yaml, PERIOD) {
        Ok(_) => panic!("accepted:\n{yaml}"),
        Err(error) => error,
    }
}

#[test]
fn the_base_configuration_is_valid() {
    let config = Config::from_yaml(BASE, PERIOD).unwrap();
    let names: Vec<&str> = config.checks().iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["jenkins", "api", "db"]);
}

#[test]
fn mistakes_name_their_line_column_and_what_is_wrong() {
    // (what, yaml, line, column, message)
    let cases: Vec<(&str, String, usize, usize, &str)> = vec![
        (
            "typo in a key",
            broken("    interval: 2m ", "    failure_treshold: 3 "),
            14,
            5,
            "checks[0]: unknown field `failure_treshold`, expected one of `name`, `type`, `url`, `method`, `headers`, `body`, `user`, `api_token`, `conditions`, `interval`, `timeout`, `failure_threshold`, `success_threshold`, `send_resolved`, `reminder`, `severity`, `labels`",
        ),
        (
            "unknown condition",
            broken("- status: [200-299, 304] ", "- status_in: 200          "),
            21,
            9,
            "checks[1].conditions[0]: unknown condition `status_in`, expected one of status, body_contains, body_matches, json, response_time_under, certificate_valid_for_more_than, online_executors_at_least, queue_items_under, queue_oldest_under, jobs_not_failed",
        ),
        (
            "two conditions in one item",
            broken(
                "- status: [200-299, 304]      ",
                "- { status: 200, body_contains: x }",
            ),
            21,
            9,
            "checks[1].conditions[0]: one condition per list item: put `body_contains` in an item of its own (`- body_contains: ...`)",
        ),
        (
            "duration without a unit",
            broken("  interval: 1m ", "  interval: 90 "),
            2,
            13,
            "defaults.interval: invalid duration `90`: each number needs a unit: ms, s, m, h or d; write e.g. 10s, 5m, 1h30m",
        ),
        (
            "interval not a multiple of the schedule",
            broken("    interval: 2m ", "    interval: 90s"),
            14,
            15,
            "checks[0].interval: interval 1m30s is not a multiple of the schedule period 1m: the check could only run late",
        ),
        (
            "timeout longer than the schedule period",
            broken("    interval: 2m ", "    timeout: 2m  "),
            14,
            14,
            "checks[0].timeout: timeout 2m must be more than 0s and at most the schedule period 1m: a slower check would overlap the next run",
        ),
        (
            "reminder too frequent",
            broken("  reminder: 30m", "  reminder: 1m "),
            3,
            13,
            "defaults.reminder: reminder 1m is too frequent: at least 5m (as Gatus requires)",
        ),
        (
            "reminder shorter than the interval",
            broken(
                "    interval: 2m                                     # 14\n",
                "    interval: 10m\n    reminder: 5m\n",
            ),
            15,
            15,
            "checks[0].reminder: reminder 5m is shorter than the interval 10m: reminders can only come with runs",
        ),
        (
            "duplicate check name",
            broken("  - name: db ", "  - name: api"),
            24,
            11,
            "checks[2].name: duplicate check name `api` (also checks[1]): the name identifies the check's state and alerts",
        ),
        (
            "invalid check name",
            broken("  - name: db ", "  - name: my db"),
            24,
            11,
            "checks[2].name: invalid check name `my db`: 1-100 letters, digits, `.`, `_` and `-` (it becomes part of alert ids and state keys)",
        ),
        (
            "unknown scheme",
            broken("url: tcp://db", "url: udp://db"),
            25,
            10,
            "checks[2].url: invalid URL `udp://db.internal:5432`: the scheme must be http, https or tcp",
        ),
        (
            "tcp without a port",
            broken("tcp://db.internal:5432", "tcp://db.internal     "),
            25,
            10,
            "checks[2].url: invalid URL `tcp://db.internal`: a TCP check is tcp://host:port, nothing more",
        ),
        (
            "credentials in a URL",
            broken(
                "https://api.internal/health",
                "https://bob:pw@api.internal/health",
            ),
            16,
            10,
            "checks[1].url: invalid URL `https://bob:pw@api.internal/health`: credentials in a URL end up in logs and alerts; send them in a header whose value names an SSM parameter",
        ),
        (
            "certificate condition on plain http",
            broken("https://api.internal/health", "http://api.internal/health "),
            23,
            9,
            "checks[1].conditions[2]: a certificate condition needs an https:// URL",
        ),
        (
            "http condition on a tcp check",
            broken(
                "- response_time_under: 200ms",
                "- body_contains: ok         ",
            ),
            27,
            9,
            "checks[2].conditions[0]: `body_contains` does not apply to a tcp check (tcp conditions: response_time_under)",
        ),
        (
            "jenkins condition on an http check",
            broken("- status: [200-299, 304]", "- queue_items_under: 5   "),
            21,
            9,
            "checks[1].conditions[0]: `queue_items_under` does not apply to an http check (http conditions: status, body_contains, body_matches, json, response_time_under, certificate_valid_for_more_than)",
        ),
        (
            "jenkins condition given twice",
            broken(
                "- queue_items_under: 25       ",
                "- online_executors_at_least: 3",
            ),
            13,
            9,
            "checks[0].conditions[1]: `online_executors_at_least` is given twice: keep one",
        ),
        (
            "API token written in the file",
            broken(
                "api_token: { ssm: /fleetwatch/jenkins/token }",
                "api_token: abc123                            ",
            ),
            10,
            16,
            "checks[0].api_token: write {ssm: /parameter/name}: a token in the configuration is a secret in plain text",
        ),
        (
            "jenkins check without a user",
            broken(
                "    user: monitor                                    # 9\n",
                "",
            ),
            6,
            5,
            "checks[0]: a jenkins check needs `user` (the user and an API token from SSM: Jenkins answers /api/json only to an authenticated user)",
        ),
        (
            "type and URL disagree",
            broken("type: jenkins", "type: tcp    "),
            8,
            10,
            "checks[0].url: a tcp check needs a tcp://host:port URL, not `https://jenkins.internal`",
        ),
        (
            "method on a tcp check",
            broken(
                "    url: tcp://db.internal:5432                      # 25\n",
                "    url: tcp://db.internal:5432\n    method: GET\n",
            ),
            26,
            13,
            "checks[2].method: `method` is for http checks only; this is a tcp check",
        ),
        (
            "invalid regex",
            broken(
                "- status: [200-299, 304]  ",
                "- body_matches: \"(unclosed\"",
            ),
            21,
            23,
            "checks[1].conditions[0].body_matches: invalid regex `(unclosed`: unclosed group",
        ),
        (
            "invalid status in a list",
            broken("[200-299, 304]", "[200-299, 700]"),
            21,
            27,
            "checks[1].conditions[0].status[1]: invalid status `700`: write a code 100-599 or a range like 200-299",
        ),
        (
            "invalid JSON pointer",
            broken("pointer: /status", "pointer: status "),
            22,
            26,
            "checks[1].conditions[1].json.pointer: invalid JSON pointer `status`: it starts with `/` (e.g. /status, /data/0/state; `~1` for a `/` in a key)",
        ),
        (
            "header repeated in another case",
            broken("Accept: application/json", "authorization: x        "),
            19,
            7,
            "checks[1].headers: duplicate key `authorization`: each name may appear only once here",
        ),
        (
            "invalid SSM parameter name",
            broken("/fleetwatch/api/token", "/fleetwatch/api token"),
            18,
            29,
            "checks[1].headers.Authorization.ssm: invalid SSM parameter name `/fleetwatch/api token`: letters, digits, `_ . - /`, e.g. /fleetwatch/jenkins/token",
        ),
        (
            "zero threshold",
            broken("    interval: 2m     ", "    failure_threshold: 0"),
            14,
            24,
            "checks[0].failure_threshold: `0` is not a whole number of at least 1",
        ),
        (
            "unknown severity",
            broken("    interval: 2m   ", "    severity: meh  "),
            14,
            15,
            "checks[0].severity: unknown severity `meh`: one of info, warning, error, critical",
        ),
        (
            "not a boolean",
            broken("    interval: 2m     ", "    send_resolved: sometimes"),
            14,
            20,
            "checks[0].send_resolved: invalid type: string \"sometimes\", expected a boolean",
        ),
        (
            "empty job name segment",
            broken(
                "- queue_items_under: 25          ",
                "- jobs_not_failed: [deploy, a//b]",
            ),
            13,
            35,
            "checks[0].conditions[1].jobs_not_failed[1]: invalid job name `a//b`: write the job's name, or folder/name for a job in a folder",
        ),
        (
            "no checks",
            "checks: []\n".to_owned(),
            1,
            9,
            "checks: no checks: list at least one",
        ),
    ];
    for (what, yaml, line, column, message) in cases {
        let error = error_of(&yaml);
        assert_eq!(
            (error.line(), error.column(), error.message()),
            (Some(line), Some(column), message),
            "{what}"
        );
        assert!(
            error.to_string().starts_with(&format!(
                "health checks configuration, line {line} column {column}: "
            )),
            "{what}: {error}"
        );
    }
}

#[test]
fn an_empty_text_has_no_position() {
    for text in ["", "  \n"] {
        let error = error_of(text);
        assert_eq!(error.line(), None);
        assert!(error.message().contains("empty"), "{error}");
    }
}

#[test]
fn yaml_syntax_errors_keep_the_parser_error_as_source() {
    let error = error_of("checks:\n  - name: [unclosed\n");
    assert!(error.line().is_some(), "{error}");
    assert!(std::error::Error::source(&error).is_some());
}

fn documented_example() -> Config {
    let text = include_str!("../../../events/health/checks.yaml");
    Config::from_yaml(text, PERIOD).unwrap()
}

#[test]
fn the_documented_example_loads_with_its_settings() {
    let config = documented_example();
    let names: Vec<&str> = config.checks().iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        ["jenkins", "payments-api", "search-ui", "search-cluster"]
    );

    let jenkins = config.check("jenkins").unwrap();
    assert_eq!(jenkins.interval, Duration::from_secs(120));
    assert_eq!(jenkins.alerting.reminder, Some(Duration::from_secs(3600)));
    assert_eq!(jenkins.labels["team"], "ci");
    assert_eq!(jenkins.labels["env"], "prod");
    let Target::Jenkins(target) = &jenkins.target else {
        panic!("jenkins is not a jenkins check")
    };
    assert_eq!(target.url, "https://jenkins.internal.example.com");
    assert_eq!(
        target.user,
        Resolvable::Literal("fleetwatch-monitor".into())
    );
    assert_eq!(target.api_token.name(), "/fleetwatch/jenkins/api-token");
    assert_eq!(target.conditions.online_executors_at_least, Some(2));
    assert_eq!(target.conditions.queue_items_under, Some(25));
    assert_eq!(
        target.conditions.queue_oldest_under,
        Some(Duration::from_secs(900))
    );
    assert_eq!(
        target.conditions.jobs_not_failed,
        ["deploy-prod", "platform/nightly-backup"]
    );

    let api = config.check("payments-api").unwrap();
    assert_eq!(api.timeout, Duration::from_secs(5));
    assert_eq!(api.interval, Duration::from_secs(60));
    let Target::Http(http) = &api.target else {
        panic!("payments-api is not an http check")
    };
    assert_eq!(http.method, "GET");
    assert_eq!(http.headers.len(), 2);
    assert_eq!(
        http.headers[1].value.ssm_parameter().map(|p| p.name()),
        Some("/fleetwatch/payments/health-token")
    );
    let kinds: Vec<String> = http.conditions.iter().map(describe).collect();
    assert_eq!(
        kinds,
        [
            "status [200, 204]",
            "json /status \"UP\"",
            "response time 800ms",
            "certificate 14d"
        ]
    );

    let ui = config.check("search-ui").unwrap();
    assert_eq!(ui.alerting.failure_threshold, 5);
    assert_eq!(ui.alerting.success_threshold, 2);
    assert!(!ui.alerting.send_resolved);
    let Target::Http(http) = &ui.target else {
        panic!("search-ui is not an http check")
    };
    // No status condition written: 2xx required, first.
    assert_eq!(describe(&http.conditions[0]), "status [200..299]");
    assert_eq!(http.conditions.len(), 3);

    let tcp = config.check("search-cluster").unwrap();
    assert_eq!(tcp.kind(), "tcp");
    assert_eq!(tcp.url(), "tcp://search.internal.example.com:9200");
    assert_eq!(tcp.alerting.severity, fleetwatch_alerts::Severity::Critical);

    assert_eq!(
        config.ssm_parameters().into_iter().collect::<Vec<_>>(),
        [
            "/fleetwatch/jenkins/api-token",
            "/fleetwatch/payments/health-token"
        ]
    );
}

fn describe(condition: &Condition) -> String {
    match condition {
        Condition::Status(set) => format!("status {set}"),
        Condition::BodyContains(text) => format!("contains {text}"),
        Condition::BodyMatches(regex) => format!("matches {regex}"),
        Condition::JsonPointer { pointer, equals } => format!("json {pointer} {equals}"),
        Condition::ResponseTimeUnder(limit) => format!("response time {}", format_duration(*limit)),
        Condition::CertificateValidForMoreThan(limit) => {
            format!("certificate {}", format_duration(*limit))
        }
    }
}

#[test]
fn built_in_defaults_apply_when_nothing_is_said() {
    let config = Config::from_yaml(
        "checks:\n  - name: api\n    url: http://api.internal\n",
        Duration::from_secs(30),
    )
    .unwrap();
    let check = &config.checks()[0];
    assert_eq!(check.interval, Duration::from_secs(30));
    assert_eq!(check.timeout, Duration::from_secs(10));
    assert_eq!(check.alerting.failure_threshold, 3);
    assert_eq!(check.alerting.success_threshold, 2);
    assert!(check.alerting.send_resolved);
    assert_eq!(check.alerting.reminder, None);
    assert_eq!(check.alerting.severity, fleetwatch_alerts::Severity::Error);
    assert!(check.labels.is_empty());
    let Target::Http(http) = &check.target else {
        panic!("not http")
    };
    assert_eq!(http.method, "GET");
    assert!(
        matches!(&http.conditions[..], [Condition::Status(set)] if *set == StatusSet::success())
    );
}

#[test]
fn status_sets_read_codes_ranges_and_lists() {
    let cases = [
        ("200", "[200]", vec![(200, true), (201, false)]),
        ("\"200-204\"", "[200..204]", vec![(204, true), (205, false)]),
        (
            "[200-299, 304, 401]",
            "[200..299, 304, 401]",
            vec![(304, true), (401, true), (302, false)],
        ),
    ];
    for (written, shown, probes) in cases {
        let yaml = format!(
            "checks:\n  - name: a\n    url: http://a\n    conditions:\n      - status: {written}\n"
        );
        let config = Config::from_yaml(&yaml, PERIOD).unwrap();
        let Target::Http(http) = &config.checks()[0].target else {
            panic!("not http")
        };
        let Condition::Status(set) = &http.conditions[0] else {
            panic!("not a status condition")
        };
        assert_eq!(set.to_string(), shown);
        for (status, inside) in probes {
            assert_eq!(set.contains(status), inside, "{written} {status}");
        }
    }
}

#[test]
fn debug_output_does_not_show_header_values() {
    let config = Config::from_yaml(
        "checks:\n  - name: api\n    url: https://api.internal\n    headers: { X-Api-Key: sup3r-s3cret }\n",
        PERIOD,
    )
    .unwrap();
    let debug = format!("{:?}", config.checks()[0]);
    assert!(!debug.contains("sup3r-s3cret"), "{debug}");
    assert!(debug.contains("Literal(<12 bytes>)"), "{debug}");
}
