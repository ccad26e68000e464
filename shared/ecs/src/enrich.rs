//! Enrichment: what the function looked up about the service (DescribeServices,
//! DescribeTaskDefinition, CloudWatch Logs), as plain data, and how it is added to an alert.
//! Fetching it is the function's job; this module only formats.

use fleetwatch_alerts::Alert;

/// At most this many log lines are added to an alert.
pub const MAX_LOG_LINES: usize = 10;

/// What is known about the service around the event. Everything is optional: a lookup that
/// failed leaves its parts empty and says why in `unavailable`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Enrichment {
    /// `family:revision` of the deployment being replaced, and of the new one.
    pub task_definition_before: Option<String>,
    pub task_definition_after: Option<String>,
    /// Image tags (see [`crate::event::image_tag`]) before and after.
    pub image_tag_before: Option<String>,
    pub image_tag_after: Option<String>,
    pub desired_count: Option<i64>,
    pub running_count: Option<i64>,
    pub pending_count: Option<i64>,
    /// `failedTasks` of the deployment (what the circuit breaker counts).
    pub failed_task_count: Option<i64>,
    /// Console link to the stopped task's log stream.
    pub log_stream_url: Option<String>,
    /// The last lines of the log stream, oldest first.
    pub last_log_lines: Vec<String>,
    /// Why (part of) the enrichment could not be fetched.
    pub unavailable: Option<String>,
}

/// Adds what `enrichment` knows to `alert` as fields and links.
pub fn enrich(alert: &mut Alert, enrichment: &Enrichment) {
    alert.push_field(
        "Task definition change",
        before_after(
            enrichment.task_definition_before.as_deref(),
            enrichment.task_definition_after.as_deref(),
        ),
    );
    alert.push_field(
        "Image change",
        before_after(
            enrichment.image_tag_before.as_deref(),
            enrichment.image_tag_after.as_deref(),
        ),
    );
    let counts: Vec<String> = [
        ("desired", enrichment.desired_count),
        ("running", enrichment.running_count),
        ("pending", enrichment.pending_count),
    ]
    .iter()
    .filter_map(|(name, count)| count.map(|c| format!("{c} {name}")))
    .collect();
    alert.push_field("Tasks", counts.join(", "));
    if let Some(failed) = enrichment.failed_task_count {
        alert.push_field("Failed tasks", failed.to_string());
    }
    if !enrichment.last_log_lines.is_empty() {
        let skip = enrichment
            .last_log_lines
            .len()
            .saturating_sub(MAX_LOG_LINES);
        let lines = enrichment.last_log_lines[skip..].join("\n");
        alert.push_field("Last log lines", format!("```{lines}```"));
    }
    if let Some(url) = &enrichment.log_stream_url {
        alert.push_link("Task logs", url.clone());
    }
    if let Some(reason) = &enrichment.unavailable {
        alert.push_field("Note", format!("enrichment unavailable: {reason}"));
    }
}

/// `a -> b`; `b` alone when unchanged or when there is nothing before it (a completed
/// deployment has replaced its predecessor); `a -> ?` when the new one is not known.
fn before_after(before: Option<&str>, after: Option<&str>) -> String {
    match (before, after) {
        (None, None) => String::new(),
        (None, Some(a)) => a.to_string(),
        (Some(b), Some(a)) if a == b => a.to_string(),
        (Some(b), a) => format!("{b} -> {}", a.unwrap_or("?")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fleetwatch_alerts::Source;

    #[test]
    fn adds_changes_counts_logs_and_link() {
        let mut alert = Alert::new(Source::EcsEvents, "t");
        let enrichment = Enrichment {
            task_definition_before: Some("api:19".into()),
            task_definition_after: Some("api:20".into()),
            image_tag_before: Some("v1.4.1".into()),
            image_tag_after: Some("v1.4.2".into()),
            desired_count: Some(3),
            running_count: Some(1),
            pending_count: Some(2),
            failed_task_count: Some(4),
            log_stream_url: Some("https://logs.example/stream".into()),
            last_log_lines: (0..15).map(|i| format!("line {i}")).collect(),
            unavailable: None,
        };
        enrich(&mut alert, &enrichment);
        assert_eq!(
            alert.field("Task definition change"),
            Some("api:19 -> api:20")
        );
        assert_eq!(alert.field("Image change"), Some("v1.4.1 -> v1.4.2"));
        assert_eq!(
            alert.field("Tasks"),
            Some("3 desired, 1 running, 2 pending")
        );
        assert_eq!(alert.field("Failed tasks"), Some("4"));
        let logs = alert.field("Last log lines").unwrap();
        assert!(
            logs.starts_with("```line 5\n") && logs.ends_with("line 14```"),
            "{logs}"
        );
        assert_eq!(alert.links[0].title, "Task logs");
        assert_eq!(alert.field("Note"), None);
    }

    #[test]
    fn failed_enrichment_leaves_a_note_and_nothing_else() {
        let mut alert = Alert::new(Source::EcsEvents, "t");
        let enrichment = Enrichment {
            unavailable: Some("DescribeServices: AccessDenied".into()),
            ..Enrichment::default()
        };
        enrich(&mut alert, &enrichment);
        assert_eq!(alert.fields.len(), 1);
        assert_eq!(
            alert.field("Note"),
            Some("enrichment unavailable: DescribeServices: AccessDenied")
        );
    }

    #[test]
    fn before_after_forms() {
        assert_eq!(before_after(Some("a"), Some("a")), "a");
        assert_eq!(before_after(None, Some("b")), "b");
        assert_eq!(before_after(Some("a"), None), "a -> ?");
        assert_eq!(before_after(None, None), "");
    }
}
