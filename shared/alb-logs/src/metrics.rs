//! Per-object statistics as CloudWatch metric sets (written as EMF lines by the caller).

use fleetwatch_ports::{MetricSet, Unit};

use crate::sinks::SearchReport;
use crate::stats::Stats;

pub const NAMESPACE: &str = "fleetwatch/alb-logs";

/// One set for the load balancer, one per target group (dimension `TargetGroup`).
pub fn object_metrics(
    load_balancer: &str,
    object_uri: &str,
    stats: &Stats,
    search: &SearchReport,
    dead_letters: u64,
) -> Vec<MetricSet> {
    let mut sets = Vec::new();
    let mut main = MetricSet::new(NAMESPACE)
        .dimension("LoadBalancer", load_balancer)
        .count("LinesParsed", stats.parsed)
        .count("LinesFailed", stats.failed)
        .count("LinesBlank", stats.blank)
        .count("Requests", stats.requests)
        .metric("ReceivedBytes", stats.received_bytes as f64, Unit::Bytes)
        .metric("SentBytes", stats.sent_bytes as f64, Unit::Bytes)
        .count("Status2xx", stats.status_classes[2])
        .count("Status3xx", stats.status_classes[3])
        .count("Status4xx", stats.status_classes[4])
        .count("Status5xx", stats.status_classes[5])
        .count("Target5xx", stats.target_5xx)
        .count("Elb5xx", stats.elb_5xx)
        .count("DocumentsIndexed", search.indexed)
        .count("DocumentsAlreadyIndexed", search.already_indexed)
        .count("DocumentsRefused", search.refused.len() as u64)
        .count("DeadLetters", dead_letters)
        .property("object", object_uri);
    for (name, q) in [("TargetLatencyP50", 0.5), ("TargetLatencyP99", 0.99)] {
        if let Some(seconds) = stats.target_latency.quantile(q) {
            main = main.metric(name, seconds * 1000.0, Unit::Milliseconds);
        }
    }
    for (classification, count) in &stats.classifications {
        if let Some(level) = classification.split(':').next() {
            main = main.count(format!("Desync{}", level.trim()), *count);
        }
    }
    sets.push(main);
    let mut groups: Vec<_> = stats.target_groups.iter().collect();
    groups.sort_by(|a, b| a.0.cmp(b.0));
    for (group, tg) in groups {
        let mut set = MetricSet::new(NAMESPACE)
            .dimension("LoadBalancer", load_balancer)
            .dimension("TargetGroup", group.as_str())
            .count("Requests", tg.requests)
            .count("Target5xx", tg.target_5xx)
            .count("Elb5xx", tg.elb_5xx);
        for (name, q) in [
            ("TargetLatencyP50", 0.5),
            ("TargetLatencyP90", 0.9),
            ("TargetLatencyP99", 0.99),
        ] {
            if let Some(seconds) = tg.latency.quantile(q) {
                set = set.metric(name, seconds * 1000.0, Unit::Milliseconds);
            }
        }
        sets.push(set);
    }
    sets
}

/// Objects skipped on purpose (the test file, empty objects) or lost (deleted before reading).
pub fn skipped_metric(reason: &str) -> MetricSet {
    MetricSet::new(NAMESPACE)
        .dimension("Reason", reason)
        .count("ObjectsSkipped", 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_set_per_target_group_plus_the_load_balancer() {
        let mut stats = Stats::new();
        stats.parsed = 10;
        stats.requests = 10;
        stats
            .classifications
            .insert("Ambiguous: UndefinedContentLengthSemantics".into(), 2);
        for group in ["b", "a"] {
            let tg = stats.target_groups.entry(group.into()).or_default();
            tg.requests = 5;
            tg.latency.add(0.2);
        }
        let sets = object_metrics("web", "s3://b/k", &stats, &SearchReport::default(), 0);
        assert_eq!(sets.len(), 3);
        let main: serde_json::Value = serde_json::from_str(&sets[0].render(0)[0]).unwrap();
        assert_eq!(main["LinesParsed"], 10.0);
        assert_eq!(main["DesyncAmbiguous"], 2.0);
        assert_eq!(main["LoadBalancer"], "web");
        let first_group: serde_json::Value = serde_json::from_str(&sets[1].render(0)[0]).unwrap();
        assert_eq!(first_group["TargetGroup"], "a");
        assert!((first_group["TargetLatencyP99"].as_f64().unwrap() - 200.0).abs() < 2.0);
    }
}
