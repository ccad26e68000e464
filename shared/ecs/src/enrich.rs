//! Enrichment: what the function looked up about the service (DescribeServices,
//! DescribeTaskDefinition, CloudWatch Logs), as plain data, and how it is added to an alert.
//! Fetching it is the function's job; this module only formats.

use fleetwatch_alerts::{Alert, MAX_UNTRUSTED_FIELD_CHARS, redact_lines};

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
    /// The last lines of the log stream, oldest first. [`enrich`] redacts secrets in them and
    /// cuts them to size (again: [`crate::assemble`] does it too), whoever filled this in.
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
        alert.push_field("Last log lines", log_block(&enrichment.last_log_lines));
    }
    if let Some(url) = &enrichment.log_stream_url {
        alert.push_link("Task logs", url.clone());
    }
    if let Some(reason) = &enrichment.unavailable {
        alert.push_field("Note", format!("enrichment unavailable: {reason}"));
    }
}

/// The newest [`MAX_LOG_LINES`] lines as a code block. Log lines are the application's own
/// output and carry whatever it printed, secrets included: they are redacted
/// ([`redact_lines`], which also cuts each line at [`MAX_UNTRUSTED_LINE_CHARS`]) here, where
/// they enter the alert, so no queue message, dead letter or Slack post ever holds them. The
/// block, fences included, fits [`MAX_UNTRUSTED_FIELD_CHARS`]: when lines with breaks inside
/// make it longer, the oldest lines go first, since the last ones before a crash say most.
///
/// [`MAX_UNTRUSTED_LINE_CHARS`]: fleetwatch_alerts::MAX_UNTRUSTED_LINE_CHARS
fn log_block(lines: &[String]) -> String {
    const FENCES_CHARS: usize = 6;
    let skip = lines.len().saturating_sub(MAX_LOG_LINES);
    let mut shown = redact_lines(&lines[skip..]);
    let chars = |lines: &[String]| -> usize {
        lines.iter().map(|l| l.chars().count() + 1).sum::<usize>() - 1
    };
    while shown.len() > 1 && chars(&shown) + FENCES_CHARS > MAX_UNTRUSTED_FIELD_CHARS {
        shown.remove(0);
    }
    format!("```{}```", shown.join("\n"))
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
    use fleetwatch_alerts::{MAX_UNTRUSTED_LINE_CHARS, Source};

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

    fn log_field(lines: &[&str]) -> String {
        let mut alert = Alert::new(Source::EcsEvents, "t");
        enrich(
            &mut alert,
            &Enrichment {
                last_log_lines: lines.iter().map(|l| l.to_string()).collect(),
                ..Enrichment::default()
            },
        );
        alert.field("Last log lines").unwrap().to_string()
    }

    #[test]
    fn log_lines_are_redacted() {
        let logs = log_field(&[
            "db=postgres://app:hunter2@db:5432",
            "key AKIAIOSFODNN7EXAMPLE",
            "-----BEGIN PRIVATE KEY-----",
            "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC",
            "-----END PRIVATE KEY-----",
        ]);
        assert_eq!(
            logs,
            "```db=postgres://app:<redacted>@db:5432\nkey <redacted>\n\
             -----BEGIN PRIVATE KEY-----<redacted>-----END PRIVATE KEY-----```"
        );
    }

    #[test]
    fn long_log_lines_are_cut_and_the_newest_lines_fit_one_field() {
        let long = format!("token=s3cr3t {}", "x".repeat(1_000));
        let lines: Vec<&str> = std::iter::repeat_n(long.as_str(), MAX_LOG_LINES).collect();
        let logs = log_field(&lines);
        assert!(!logs.contains("s3cr3t"));
        assert!(
            logs.chars().count() <= MAX_UNTRUSTED_FIELD_CHARS,
            "{}",
            logs.len()
        );
        let inner = logs
            .strip_prefix("```")
            .unwrap()
            .strip_suffix("```")
            .unwrap();
        let shown: Vec<&str> = inner.split('\n').collect();
        assert_eq!(shown.len(), MAX_LOG_LINES);
        assert!(
            shown
                .iter()
                .all(|l| l.chars().count() == MAX_UNTRUSTED_LINE_CHARS)
        );

        // Lines with breaks inside: more lines than fit; the oldest go, the newest stay.
        let many: Vec<String> = (0..MAX_LOG_LINES)
            .map(|i| format!("{i}:{}\n{}", "a".repeat(200), "b".repeat(200)))
            .collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        let logs = log_field(&many);
        assert!(logs.chars().count() <= MAX_UNTRUSTED_FIELD_CHARS);
        assert!(logs.starts_with("```") && logs.ends_with(&format!("{}```", "b".repeat(200))));
        assert!(logs.contains("9:aaa") && !logs.contains("0:aaa"), "{logs}");
    }

    #[test]
    fn before_after_forms() {
        assert_eq!(before_after(Some("a"), Some("a")), "a");
        assert_eq!(before_after(None, Some("b")), "b");
        assert_eq!(before_after(Some("a"), None), "a -> ?");
        assert_eq!(before_after(None, None), "");
    }
}
