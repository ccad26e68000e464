//! Table-driven routing: ordered routes, continue, the default route, matchers, send_resolved,
//! mentions, mute windows across midnight and daylight saving, one delivery per destination.

use fleetwatch_alerts::{Alert, Severity, Source, Status};
use fleetwatch_routing::{Config, DropReason, RoutingDecision, Timestamp, route};
use std::time::Duration;

const CONFIG: &str = r##"
destinations:
  ops: { webhook_url_parameter: /p/ops }
  deploys: { bot_token_parameter: /p/bot, channel: "#deploys" }
  payments: { bot_token_parameter: /p/bot, channel: "#payments" }
  night: { webhook_url_parameter: /p/night }
  audit: { webhook_url_parameter: /p/audit }
defaults:
  dedup_window: 5m
routes:
  - name: sandbox
    match: { labels: { env: sandbox } }
    drop: true
  - name: audit-critical
    match: { severity: critical }
    destinations: [audit]
    continue: true
    dedup_window: 1h
  - name: prod-errors
    match: { severity: ">=error", labels: { env: prod }, source: [cloudwatch, alertmanager] }
    match_re: { service: "api|web-.*" }
    not_match: { team: sandbox-team }
    destinations: [ops, payments]
    mentions: { critical: ["<!here>"], error: ["<!subteam^S123>"] }
    continue: true
  - name: payments
    match: { labels: { team: payments } }
    destinations: [payments, audit]
    send_resolved: false
  - name: deployments
    match: { source: ecs_events }
    destinations: [deploys]
    mute:
      - { name: berlin-nights, hours: "22:00-06:00", time_zone: Europe/Berlin }
  - name: low-severity
    match: { severity: "<=warning" }
    match_re: { source: "alb_logs|health_check" }
    destinations: [night]
    mute:
      - { weekdays: [sun], hours: "00:30-02:30", time_zone: Europe/Berlin }
default_route: { destinations: [ops], mentions: { error: ["<!channel>"] } }
"##;

fn config() -> Config {
    Config::from_yaml(CONFIG).unwrap()
}

struct AlertSpec {
    source: &'static str,
    severity: Severity,
    status: Status,
    labels: &'static [(&'static str, &'static str)],
}

fn alert(spec: &AlertSpec) -> Alert {
    let mut alert = Alert::new(Source::from(spec.source), "something happened");
    alert.fingerprint = "fp-1".into();
    alert.severity = spec.severity;
    alert.status = spec.status;
    for (name, value) in spec.labels {
        alert.set_label(*name, *value);
    }
    alert
}

fn at(timestamp: &str) -> Timestamp {
    timestamp.parse().unwrap()
}

/// A weekday noon in Berlin: no mute window is active.
const NOON: &str = "2026-11-25T11:00:00Z";

/// The decision in a compact, exact form: `destination<route[mentions]` and `route:reason`.
fn summary(decision: &RoutingDecision) -> (Vec<String>, Vec<String>) {
    let deliveries = decision
        .deliveries
        .iter()
        .map(|d| format!("{}<{}{:?}", d.destination, d.route, d.mentions))
        .collect();
    let drops = decision
        .drops
        .iter()
        .map(|d| {
            let reason = match &d.reason {
                DropReason::DroppedByRoute => "drop".to_owned(),
                DropReason::ResolvedNotSent => "resolved".to_owned(),
                DropReason::Muted { window } => format!("muted {window}"),
            };
            format!("{}:{reason}", d.route)
        })
        .collect();
    (deliveries, drops)
}

/// (what, alert, now, expected `destination<route[mentions]`, expected `route:reason`)
type Case = (
    &'static str,
    AlertSpec,
    &'static str,
    &'static [&'static str],
    &'static [&'static str],
);

use Severity::{Critical, Error, Info, Warning};
use Status::{Firing, Resolved};

#[test]
fn routing_table() {
    let config = config();
    #[rustfmt::skip]
    let cases: Vec<Case> = vec![
        ("first match wins: deployments stops matching",
         AlertSpec { source: "ecs_events", severity: Warning, status: Firing, labels: &[] },
         NOON, &[r#"deploys<deployments[]"#], &[]),
        ("critical matches audit-critical (continue) and nothing after it: no default route",
         AlertSpec { source: "generic", severity: Critical, status: Firing, labels: &[("env", "dev")] },
         NOON, &[r#"audit<audit-critical[]"#], &[]),
        ("nothing matches at all: default route",
         AlertSpec { source: "generic", severity: Info, status: Firing, labels: &[] },
         NOON, &[r#"ops<default_route[]"#], &[]),
        ("regex is anchored: api-2 is not api",
         AlertSpec { source: "cloudwatch", severity: Error, status: Firing, labels: &[("env", "prod"), ("service", "api-2")] },
         NOON, &[r#"ops<default_route["<!channel>"]"#], &[]),
        ("regex alternation is anchored as a whole: web-1 matches",
         AlertSpec { source: "cloudwatch", severity: Error, status: Firing, labels: &[("env", "prod"), ("service", "web-1")] },
         NOON, &[r#"ops<prod-errors["<!subteam^S123>"]"#, r#"payments<prod-errors["<!subteam^S123>"]"#], &[]),
        ("not_match excludes; a missing label passes not_match (previous case)",
         AlertSpec { source: "cloudwatch", severity: Error, status: Firing, labels: &[("env", "prod"), ("service", "api"), ("team", "sandbox-team")] },
         NOON, &[r#"ops<default_route["<!channel>"]"#], &[]),
        ("a missing label does not equal a value",
         AlertSpec { source: "cloudwatch", severity: Error, status: Firing, labels: &[("service", "api")] },
         NOON, &[r#"ops<default_route["<!channel>"]"#], &[]),
        ("severity >=error: warning does not match",
         AlertSpec { source: "cloudwatch", severity: Warning, status: Firing, labels: &[("env", "prod"), ("service", "api")] },
         NOON, &[r#"ops<default_route[]"#], &[]),
        ("source list: alertmanager matches",
         AlertSpec { source: "alertmanager", severity: Error, status: Firing, labels: &[("env", "prod"), ("service", "api")] },
         NOON, &[r#"ops<prod-errors["<!subteam^S123>"]"#, r#"payments<prod-errors["<!subteam^S123>"]"#], &[]),
        ("source list: health_check does not match prod-errors",
         AlertSpec { source: "health_check", severity: Error, status: Firing, labels: &[("env", "prod"), ("service", "api")] },
         NOON, &[r#"ops<default_route["<!channel>"]"#], &[]),
        ("severity <=warning and regex on source",
         AlertSpec { source: "alb_logs", severity: Warning, status: Firing, labels: &[] },
         NOON, &[r#"night<low-severity[]"#], &[]),
        ("severity <=warning: error does not match",
         AlertSpec { source: "alb_logs", severity: Error, status: Firing, labels: &[] },
         NOON, &[r#"ops<default_route["<!channel>"]"#], &[]),
        ("continue through three routes, each destination delivered once with the first route's settings",
         AlertSpec { source: "alertmanager", severity: Critical, status: Firing, labels: &[("env", "prod"), ("service", "api"), ("team", "payments")] },
         NOON, &[r#"audit<audit-critical[]"#, r#"ops<prod-errors["<!here>"]"#, r#"payments<prod-errors["<!here>"]"#], &[]),
        ("resolved: no mentions; send_resolved false drops only that route's share",
         AlertSpec { source: "alertmanager", severity: Critical, status: Resolved, labels: &[("env", "prod"), ("service", "api"), ("team", "payments")] },
         NOON, &[r#"audit<audit-critical[]"#, r#"ops<prod-errors[]"#, r#"payments<prod-errors[]"#], &["payments:resolved"]),
        ("resolved on a send_resolved false route only: dropped",
         AlertSpec { source: "generic", severity: Warning, status: Resolved, labels: &[("team", "payments")] },
         NOON, &[], &["payments:resolved"]),
        ("firing on the same route: delivered",
         AlertSpec { source: "generic", severity: Warning, status: Firing, labels: &[("team", "payments")] },
         NOON, &[r#"payments<payments[]"#, r#"audit<payments[]"#], &[]),
        ("drop: true stops everything, even critical",
         AlertSpec { source: "cloudwatch", severity: Critical, status: Firing, labels: &[("env", "sandbox")] },
         NOON, &[], &["sandbox:drop"]),
        ("resolved goes to the default route too (send_resolved defaults to true)",
         AlertSpec { source: "generic", severity: Info, status: Resolved, labels: &[] },
         NOON, &[r#"ops<default_route[]"#], &[]),
    ];
    let mut failures = Vec::new();
    for (what, spec, now, deliveries, drops) in &cases {
        let decision = route(&config, &alert(spec), at(now));
        let got = summary(&decision);
        let expected = (
            deliveries.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            drops.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
        );
        if got != expected {
            failures.push(format!(
                "{what}:\n  got      {got:?}\n  expected {expected:?}\n{decision}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn default_route_mentions_apply_when_it_is_used_and_firing() {
    let config = config();
    let spec = AlertSpec {
        source: "generic",
        severity: Error,
        status: Firing,
        labels: &[],
    };
    let decision = route(&config, &alert(&spec), at(NOON));
    assert_eq!(summary(&decision).0, [r#"ops<default_route["<!channel>"]"#]);
    let spec = AlertSpec {
        status: Resolved,
        ..spec
    };
    let decision = route(&config, &alert(&spec), at(NOON));
    assert_eq!(summary(&decision).0, [r#"ops<default_route[]"#]);
    let spec = AlertSpec {
        severity: Warning,
        status: Firing,
        ..spec
    };
    let decision = route(&config, &alert(&spec), at(NOON));
    assert_eq!(
        summary(&decision).0,
        [r#"ops<default_route[]"#],
        "mentions are per severity"
    );
}

#[test]
fn dedup_windows_come_from_the_route_or_the_defaults() {
    let config = config();
    let spec = AlertSpec {
        source: "alertmanager",
        severity: Critical,
        status: Firing,
        labels: &[("env", "prod"), ("service", "api")],
    };
    let decision = route(&config, &alert(&spec), at(NOON));
    let windows: Vec<(&str, Duration)> = decision
        .deliveries
        .iter()
        .map(|d| (d.destination.as_str(), d.dedup_window))
        .collect();
    assert_eq!(
        windows,
        [
            ("audit", Duration::from_secs(3600)),
            ("ops", Duration::from_secs(300)),
            ("payments", Duration::from_secs(300)),
        ]
    );
}

/// The deployments route mutes 22:00-06:00 Berlin time.
#[test]
fn mute_window_across_midnight_in_berlin() {
    let config = config();
    let spec = AlertSpec {
        source: "ecs_events",
        severity: Error,
        status: Firing,
        labels: &[],
    };
    let muted = "muted berlin-nights (every day 22:00-06:00 Europe/Berlin)";
    #[rustfmt::skip]
    let cases: [(&str, bool); 8] = [
        ("2026-11-25T20:59:00Z", false), // 21:59 CET
        ("2026-11-25T21:00:00Z", true),  // 22:00 CET
        ("2026-11-25T23:30:00Z", true),  // 00:30 CET, next day
        ("2026-11-26T04:59:59Z", true),  // 05:59:59 CET
        ("2026-11-26T05:00:00Z", false), // 06:00 CET
        ("2026-07-01T19:59:00Z", false), // 21:59 CEST
        ("2026-07-01T20:00:00Z", true),  // 22:00 CEST
        ("2026-07-02T04:00:00Z", false), // 06:00 CEST
    ];
    for (now, is_muted) in cases {
        let (deliveries, drops) = summary(&route(&config, &alert(&spec), at(now)));
        if is_muted {
            assert_eq!(deliveries, Vec::<String>::new(), "{now}");
            assert_eq!(drops, [format!("deployments:{muted}")], "{now}");
        } else {
            assert_eq!(deliveries, ["deploys<deployments[]"], "{now}");
            assert!(drops.is_empty(), "{now}");
        }
    }
}

/// low-severity mutes Sundays 00:30-02:30 Berlin time; both 2026 changes fall on Sundays.
#[test]
fn mute_window_over_daylight_saving_changes_in_berlin() {
    let config = config();
    let spec = AlertSpec {
        source: "health_check",
        severity: Warning,
        status: Firing,
        labels: &[],
    };
    #[rustfmt::skip]
    let cases: [(&str, bool); 12] = [
        // 2026-03-29: 02:00 CET jumps to 03:00 CEST at 01:00 UTC.
        ("2026-03-28T23:29:00Z", false), // Sun 00:29 CET
        ("2026-03-28T23:30:00Z", true),  // Sun 00:30 CET
        ("2026-03-29T00:59:00Z", true),  // Sun 01:59 CET
        ("2026-03-29T01:00:00Z", false), // Sun 03:00 CEST (a fixed +01:00 would say 02:00: muted)
        ("2026-03-29T01:20:00Z", false), // Sun 03:20 CEST
        // 2026-10-25: 03:00 CEST goes back to 02:00 CET at 01:00 UTC; 02:xx happens twice.
        ("2026-10-24T22:29:00Z", false), // Sun 00:29 CEST
        ("2026-10-24T22:30:00Z", true),  // Sun 00:30 CEST
        ("2026-10-25T00:15:00Z", true),  // Sun 02:15 CEST
        ("2026-10-25T00:45:00Z", false), // Sun 02:45 CEST
        ("2026-10-25T01:15:00Z", true),  // Sun 02:15 CET, the second time (a fixed +02:00 would say 03:15)
        ("2026-10-25T01:30:00Z", false), // Sun 02:30 CET
        ("2026-10-18T00:15:00Z", true),  // the Sunday before, 02:15 CEST
    ];
    for (now, is_muted) in cases {
        let decision = route(&config, &alert(&spec), at(now));
        assert_eq!(decision.is_dropped(), is_muted, "{now}\n{decision}");
        if is_muted {
            assert_eq!(
                decision.drops[0].reason,
                DropReason::Muted {
                    window: "#1 (sun 00:30-02:30 Europe/Berlin)".to_owned()
                },
                "{now}"
            );
            assert_eq!(decision.drops[0].destinations, ["night"]);
        } else {
            assert_eq!(
                decision.destinations().collect::<Vec<_>>(),
                ["night"],
                "{now}"
            );
        }
    }
}

#[test]
fn a_muted_route_does_not_stop_another_route_delivering_to_the_same_destination() {
    let config = Config::from_yaml(
        r#"
destinations:
  ops: { webhook_url_parameter: /p/ops }
routes:
  - name: quiet-nights
    match: { severity: warning }
    destinations: [ops]
    continue: true
    mute: [{ hours: "00:00-06:00" }]
  - name: everything
    destinations: [ops]
default_route: { destinations: [ops] }
"#,
    )
    .unwrap();
    let spec = AlertSpec {
        source: "generic",
        severity: Warning,
        status: Firing,
        labels: &[],
    };
    let decision = route(&config, &alert(&spec), at("2026-11-25T03:00:00Z"));
    assert_eq!(
        summary(&decision),
        (
            vec!["ops<everything[]".to_owned()],
            vec!["quiet-nights:muted #1 (every day 00:00-06:00 UTC)".to_owned()]
        )
    );
}

#[test]
fn the_decision_explains_itself() {
    let config = config();
    let spec = AlertSpec {
        source: "alertmanager",
        severity: Critical,
        status: Resolved,
        labels: &[("env", "prod"), ("service", "api"), ("team", "payments")],
    };
    let decision = route(&config, &alert(&spec), at(NOON));
    assert_eq!(
        decision.explain(),
        [
            r#"route sandbox: not matched: label env is "prod", not "sandbox""#,
            "route audit-critical: matched (continue)",
            "route prod-errors: matched (continue)",
            "route payments: matched",
            "matching stopped at route payments (no continue)",
            "deliver to audit via route audit-critical, dedup window 1h",
            "deliver to ops via route prod-errors, dedup window 5m",
            "deliver to payments via route prod-errors, dedup window 5m",
            "dropped: resolved not sent by route payments (not sent to payments, audit)",
        ]
    );

    let spec = AlertSpec {
        source: "ecs_events",
        severity: Info,
        status: Firing,
        labels: &[("service", "db")],
    };
    let decision = route(&config, &alert(&spec), at("2026-11-25T23:00:00Z"));
    assert_eq!(
        decision.to_string(),
        "route sandbox: not matched: label env is missing (reads as \"\"), not \"sandbox\"\n\
         route audit-critical: not matched: severity is info, not critical\n\
         route prod-errors: not matched: source is ecs_events, not one of cloudwatch, alertmanager\n\
         route payments: not matched: label team is missing (reads as \"\"), not \"payments\"\n\
         route deployments: matched\n\
         matching stopped at route deployments (no continue)\n\
         dropped: muted by route deployments window berlin-nights (every day 22:00-06:00 Europe/Berlin) (not sent to deploys)\n\
         not delivered anywhere"
    );

    let spec = AlertSpec {
        source: "cloudwatch",
        severity: Error,
        status: Firing,
        labels: &[
            ("env", "prod"),
            ("service", "api"),
            ("team", "sandbox-team"),
        ],
    };
    let lines = route(&config, &alert(&spec), at(NOON)).explain();
    assert_eq!(
        lines[2],
        r#"route prod-errors: not matched: label team is "sandbox-team" (excluded by not_match)"#
    );
    assert_eq!(
        lines[5],
        "route low-severity: not matched: severity is error, not <=warning"
    );
    assert_eq!(lines[6], "no route matched: default_route applies");
    assert_eq!(
        lines[7],
        "deliver to ops via route default_route, mentioning <!channel>, dedup window 5m"
    );

    let spec = AlertSpec {
        source: "cloudwatch",
        severity: Error,
        status: Firing,
        labels: &[("env", "prod"), ("service", "api-2")],
    };
    let lines = route(&config, &alert(&spec), at(NOON)).explain();
    assert_eq!(
        lines[2],
        r#"route prod-errors: not matched: label service "api-2" does not match /api|web-.*/"#
    );
}

#[test]
fn every_alert_is_delivered_or_dropped_with_a_reason() {
    let config = config();
    let sources = [
        "cloudwatch",
        "alertmanager",
        "ecs_events",
        "alb_logs",
        "health_check",
        "generic",
        "my_cron",
    ];
    let label_sets: [&[(&str, &str)]; 5] = [
        &[],
        &[("env", "prod"), ("service", "api")],
        &[("env", "sandbox")],
        &[("team", "payments")],
        &[("env", "prod"), ("service", "web-x"), ("team", "payments")],
    ];
    let times = [
        "2026-11-25T11:00:00Z",
        "2026-11-25T23:00:00Z",
        "2026-03-29T00:45:00Z",
    ];
    let mut checked = 0;
    for source in sources {
        for severity in [Info, Warning, Error, Critical] {
            for status in [Firing, Resolved] {
                for labels in label_sets {
                    for now in times {
                        let alert = alert(&AlertSpec {
                            source,
                            severity,
                            status,
                            labels,
                        });
                        let decision = route(&config, &alert, at(now));
                        assert!(
                            !decision.deliveries.is_empty() || !decision.drops.is_empty(),
                            "{alert:?} at {now}: {decision}"
                        );
                        let mut destinations: Vec<&str> = decision.destinations().collect();
                        let count = destinations.len();
                        destinations.dedup();
                        destinations.sort_unstable();
                        destinations.dedup();
                        assert_eq!(destinations.len(), count, "one delivery per destination");
                        if status == Resolved {
                            assert!(decision.deliveries.iter().all(|d| d.mentions.is_empty()));
                        }
                        checked += 1;
                    }
                }
            }
        }
    }
    assert_eq!(checked, 7 * 4 * 2 * 5 * 3);
}

#[test]
fn the_documented_example_loads_and_routes() {
    let docs: String = include_str!("../src/lib.rs")
        .lines()
        .filter_map(|line| line.strip_prefix("//!"))
        .map(|line| line.strip_prefix(' ').unwrap_or(line))
        .collect::<Vec<_>>()
        .join("\n");
    let yaml = docs
        .split("```yaml\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .unwrap();
    let config = Config::from_yaml(yaml).unwrap();
    let names: Vec<&str> = config.routes().iter().map(|r| r.name()).collect();
    assert_eq!(
        names,
        ["prod-critical", "payments", "sandbox", "deployments"]
    );
    assert_eq!(config.destinations().count(), 3);

    let mut alert = alert(&AlertSpec {
        source: "cloudwatch",
        severity: Critical,
        status: Firing,
        labels: &[("env", "prod"), ("service", "api-gw"), ("team", "payments")],
    });
    alert.fingerprint = "x".into();
    // A Wednesday noon: no mute.
    let decision = route(&config, &alert, at(NOON));
    assert_eq!(
        summary(&decision).0,
        [
            r#"ops-webhook<prod-critical["<!here>"]"#,
            r#"payments<payments[]"#
        ]
    );
    assert_eq!(decision.deliveries[0].also_routed_by, ["payments"]);
    assert_eq!(
        decision.deliveries[1].dedup_window,
        Duration::from_secs(900)
    );
    // Saturday 07:59 in Berlin: prod-critical is muted, payments still delivers to both.
    let decision = route(&config, &alert, at("2026-11-28T06:59:00Z"));
    assert_eq!(
        summary(&decision),
        (
            vec![
                "payments<payments[]".to_owned(),
                "ops-webhook<payments[]".to_owned()
            ],
            vec![
                "prod-critical:muted weekend-nights (sat,sun 00:00-08:00 Europe/Berlin)".to_owned()
            ]
        )
    );
}
