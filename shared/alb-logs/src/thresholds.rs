//! Threshold alerts from one object's statistics: 5xx ratio, load-balancer 5xx count, and p99
//! target latency per target group. Pure: the caller publishes the alerts.

use fleetwatch_alerts::{Alert, Severity, Source, Status};

use crate::stats::Stats;

#[derive(Clone, Debug, PartialEq)]
pub struct Thresholds {
    /// Alert when more than this share of requests got a 5xx...
    pub five_xx_ratio: f64,
    /// ...and the object holds at least this many requests (a 1-request file proves nothing).
    pub min_requests: u64,
    /// Alert when the load balancer itself answered more 5xx than this (no healthy target,
    /// timeouts, ...).
    pub elb_5xx_count: u64,
    /// Alert when a target group's p99 target latency exceeds this many seconds.
    pub p99_latency_seconds: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            five_xx_ratio: 0.05,
            min_requests: 100,
            elb_5xx_count: 50,
            p99_latency_seconds: 2.0,
        }
    }
}

/// What the alerts say about where the statistics came from.
#[derive(Clone, Debug)]
pub struct ObjectContext<'a> {
    pub bucket: &'a str,
    pub key: &'a str,
    pub load_balancer: &'a str,
    /// The object's fingerprint: makes alert ids stable across redeliveries of the same object.
    pub fingerprint: &'a str,
}

pub fn evaluate(stats: &Stats, thresholds: &Thresholds, object: &ObjectContext<'_>) -> Vec<Alert> {
    let mut alerts = Vec::new();
    let ratio = stats.five_xx_ratio();
    if stats.requests >= thresholds.min_requests && ratio > thresholds.five_xx_ratio {
        let mut alert = base(
            object,
            "5xx-ratio",
            None,
            Severity::Error,
            format!(
                "{}: {:.1}% of requests failed with 5xx",
                object.load_balancer,
                ratio * 100.0
            ),
            stats,
        );
        alert.summary = format!(
            "{} of {} requests answered 5xx ({} by targets, {} by the load balancer); threshold {:.1}%.",
            stats.status_classes[5],
            stats.requests,
            stats.target_5xx,
            stats.elb_5xx,
            thresholds.five_xx_ratio * 100.0
        );
        top_paths(&mut alert, stats);
        alerts.push(alert);
    }
    if stats.elb_5xx > thresholds.elb_5xx_count {
        let mut alert = base(
            object,
            "elb-5xx",
            None,
            Severity::Error,
            format!(
                "{}: {} 5xx answered by the load balancer",
                object.load_balancer, stats.elb_5xx
            ),
            stats,
        );
        alert.summary = format!(
            "The load balancer answered {} requests with 5xx itself (no target answered: no healthy target, target timeout or connection error); threshold {}.",
            stats.elb_5xx, thresholds.elb_5xx_count
        );
        top_paths(&mut alert, stats);
        alerts.push(alert);
    }
    let mut groups: Vec<_> = stats.target_groups.iter().collect();
    groups.sort_by(|a, b| a.0.cmp(b.0));
    for (group, tg) in groups {
        let Some(p99) = tg.latency.quantile(0.99) else {
            continue;
        };
        if tg.latency.count() < thresholds.min_requests || p99 <= thresholds.p99_latency_seconds {
            continue;
        }
        let mut alert = base(
            object,
            "p99-latency",
            Some(group),
            Severity::Warning,
            format!(
                "{}: p99 latency of {group} is {p99:.2}s",
                object.load_balancer
            ),
            stats,
        );
        alert.summary = format!(
            "Target group {group}: p99 target processing time {p99:.3}s over {} requests (p50 {:.3}s); threshold {:.2}s.",
            tg.latency.count(),
            tg.latency.quantile(0.5).unwrap_or_default(),
            thresholds.p99_latency_seconds
        );
        alert.set_label("target_group", group.clone());
        alerts.push(alert);
    }
    alerts
}

fn base(
    object: &ObjectContext<'_>,
    rule: &str,
    group: Option<&String>,
    severity: Severity,
    title: String,
    stats: &Stats,
) -> Alert {
    let scope = group.map(|g| format!(":{g}")).unwrap_or_default();
    let mut alert = Alert::new(Source::AlbLogs, title);
    alert.fingerprint = format!("alb-logs:{}:{rule}{scope}", object.load_balancer);
    alert.id = format!("{}:{}", alert.fingerprint, object.fingerprint);
    alert.severity = severity;
    alert.status = Status::Firing;
    alert.occurred_at = stats.last_time.clone();
    alert.set_label("load_balancer", object.load_balancer);
    alert.set_label("rule", rule);
    alert.push_field("Load balancer", object.load_balancer);
    alert.push_field("Requests", stats.requests.to_string());
    if let (Some(first), Some(last)) = (&stats.first_time, &stats.last_time) {
        alert.push_field("Window", format!("{first} .. {last}"));
    }
    alert.push_field(
        "Log object",
        format!("s3://{}/{}", object.bucket, object.key),
    );
    alert
}

fn top_paths(alert: &mut Alert, stats: &Stats) {
    let paths: Vec<String> = stats
        .top_5xx_paths
        .top(5)
        .into_iter()
        .map(|c| format!("{} ({})", c.key, c.count))
        .collect();
    if !paths.is_empty() {
        alert.push_field("Top 5xx paths", paths.join(", "));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::LatencyHistogram;

    fn context() -> ObjectContext<'static> {
        ObjectContext {
            bucket: "logs",
            key: "AWSLogs/x.log.gz",
            load_balancer: "web",
            fingerprint: "abc",
        }
    }

    fn stats(requests: u64, s5xx: u64, elb_5xx: u64) -> Stats {
        let mut stats = Stats::new();
        stats.requests = requests;
        stats.status_classes[5] = s5xx;
        stats.status_classes[2] = requests - s5xx;
        stats.elb_5xx = elb_5xx;
        stats.target_5xx = s5xx - elb_5xx;
        stats
    }

    #[test]
    fn each_rule_fires_at_its_threshold_only() {
        let t = Thresholds::default();
        let cases: &[(u64, u64, u64, &[&str])] = &[
            (1000, 50, 0, &[]),
            (1000, 51, 0, &["alb-logs:web:5xx-ratio"]),
            (99, 99, 0, &[]),
            (
                1000,
                51,
                51,
                &["alb-logs:web:5xx-ratio", "alb-logs:web:elb-5xx"],
            ),
            (100_000, 60, 60, &["alb-logs:web:elb-5xx"]),
        ];
        for &(requests, s5xx, elb, expected) in cases {
            let fingerprints: Vec<String> = evaluate(&stats(requests, s5xx, elb), &t, &context())
                .into_iter()
                .map(|a| a.fingerprint)
                .collect();
            assert_eq!(
                fingerprints, expected,
                "{requests} requests, {s5xx} 5xx, {elb} by ELB"
            );
        }
    }

    #[test]
    fn slow_target_groups_fire_with_a_stable_id() {
        let mut s = stats(1000, 0, 0);
        let mut slow = LatencyHistogram::default();
        let mut fast = LatencyHistogram::default();
        for i in 0..1000 {
            slow.add(if i < 980 { 0.1 } else { 5.0 });
            fast.add(0.05);
        }
        s.target_groups.entry("api".into()).or_default().latency = slow;
        s.target_groups.entry("web".into()).or_default().latency = fast;
        let alerts = evaluate(&s, &Thresholds::default(), &context());
        assert_eq!(alerts.len(), 1);
        assert_eq!(alerts[0].fingerprint, "alb-logs:web:p99-latency:api");
        assert_eq!(alerts[0].id, "alb-logs:web:p99-latency:api:abc");
        assert_eq!(alerts[0].labels["target_group"], "api");
        assert_eq!(alerts[0].severity, Severity::Warning);
    }
}
