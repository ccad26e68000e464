//! From one queue message to the deliveries it asks for: normalise whatever the payload is into
//! alerts, route each alert. Pure: the caller passes the time.
//!
//! Raw ECS and Auto Scaling EventBridge events (an EventBridge rule that targets the alerts
//! queue directly) are classified as the ecs-events function classifies them, with its default
//! noise policy, but without its enrichment and version dedup.

use std::sync::Arc;

use fleetwatch_alerts::{NormaliseError, PayloadKind, normalise_with};
use fleetwatch_ecs::EcsRecogniser;
use fleetwatch_routing::{Config, Timestamp, route};

use crate::engine::{Delivery, WorkItem};

/// What a message turned into.
#[derive(Debug)]
pub struct Planned {
    pub work: WorkItem,
    pub kind: PayloadKind,
    pub alerts: usize,
    /// Alerts (or destinations) deliberately not delivered, with the reason (ECS noise, mute,
    /// send_resolved, drop route): logged and counted, not retried.
    pub dropped: Vec<String>,
    /// Payload parts of an unknown shape, rendered with the generic layout: counted.
    pub unknown: usize,
}

/// Plans one message. `Err` is poison (invalid JSON, an empty batch): the caller parks it in the
/// dead-letter queue with the reason and acknowledges it.
pub fn plan_message(
    config: &Config,
    message_id: &str,
    body: &str,
    now: Timestamp,
) -> Result<Planned, NormaliseError> {
    let normalised = normalise_with(body, &EcsRecogniser::default())?;
    let mut deliveries = Vec::new();
    let mut dropped = normalised.dropped.clone();
    for alert in &normalised.alerts {
        let decision = route(config, alert, now);
        let alert = Arc::new(alert.clone());
        for drop in &decision.drops {
            dropped.push(format!("{} ({}): {}", alert.title, alert.id, drop));
        }
        for delivery in decision.deliveries {
            deliveries.push(Delivery {
                alert: Arc::clone(&alert),
                destination: delivery.destination,
                mentions: delivery.mentions,
                dedup_window: (!delivery.dedup_window.is_zero()).then_some(delivery.dedup_window),
            });
        }
    }
    Ok(Planned {
        work: WorkItem {
            message_id: message_id.to_string(),
            deliveries,
        },
        kind: normalised.kind,
        alerts: normalised.alerts.len(),
        dropped,
        unknown: normalised.unknown_records,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = r#"
destinations:
  ops: { webhook_url_parameter: /p/ops }
  sandbox-room: { webhook_url_parameter: /p/sandbox }
routes:
  - name: sandbox
    match: { labels: { env: sandbox } }
    drop: true
  - name: critical
    match: { severity: ">=error" }
    destinations: [ops, sandbox-room]
    mentions: { critical: ["<!here>"] }
default_route: { destinations: [ops] }
"#;

    fn alert(severity: &str, env: &str) -> String {
        serde_json::json!({
            "source": "capacity", "title": "t", "severity": severity,
            "id": format!("{severity}-{env}"), "fingerprint": "f", "labels": {"env": env}
        })
        .to_string()
    }

    #[test]
    fn alerts_become_deliveries_or_explained_drops() {
        let config = Config::from_yaml(CONFIG).unwrap();
        let now = Timestamp::from_second(1_764_000_000).unwrap();

        let planned = plan_message(&config, "m1", &alert("critical", "prod"), now).unwrap();
        let targets: Vec<(&str, &[String])> = planned
            .work
            .deliveries
            .iter()
            .map(|d| (d.destination.as_str(), d.mentions.as_slice()))
            .collect();
        assert_eq!(
            targets,
            vec![
                ("ops", &["<!here>".to_string()][..]),
                ("sandbox-room", &["<!here>".to_string()][..])
            ]
        );
        assert_eq!(
            planned.work.deliveries[0].dedup_window,
            Some(std::time::Duration::from_secs(300))
        );

        let dropped = plan_message(&config, "m2", &alert("critical", "sandbox"), now).unwrap();
        assert!(dropped.work.deliveries.is_empty());
        assert_eq!(dropped.dropped.len(), 1, "{:?}", dropped.dropped);

        let default = plan_message(&config, "m3", &alert("info", "prod"), now).unwrap();
        assert_eq!(default.work.deliveries.len(), 1);

        assert!(plan_message(&config, "m4", "{not json", now).is_err());
    }

    #[test]
    fn raw_ecs_events_are_classified_and_their_noise_dropped_with_the_reason() {
        let config = Config::from_yaml(CONFIG).unwrap();
        let now = Timestamp::from_second(1_764_000_000).unwrap();
        let fixture = |name: &str| {
            std::fs::read_to_string(format!(
                "{}/../../events/ecs/{name}",
                env!("CARGO_MANIFEST_DIR")
            ))
            .unwrap()
        };
        let oom = plan_message(&config, "m5", &fixture("task-stopped-oom.json"), now).unwrap();
        assert_eq!(oom.kind, PayloadKind::EcsEvent);
        assert_eq!(oom.unknown, 0);
        let alert = &oom.work.deliveries[0].alert;
        assert_eq!(
            alert.title,
            "Task of checkout stopped: app ran out of memory"
        );

        let steady = fixture("noise-service-steady-state.json");
        let noise = plan_message(&config, "m6", &steady, now).unwrap();
        assert!(noise.work.deliveries.is_empty());
        assert!(
            noise.dropped[0].starts_with("noise rule steady_state: "),
            "{:?}",
            noise.dropped
        );
    }
}
