//! One message for many alerts, for a destination in a storm: counts, then one line per alert,
//! firing first and worst first.

use super::slack::{Attachment, Block, SlackMessage, fit_blocks, limits};
use super::{RenderOptions, color, mentions_text, single_line, status_emoji, time_token};
use crate::alert::{Alert, Severity, Status};
use crate::text::{escape_and_truncate, first_line};
use std::collections::BTreeMap;

/// Lines listed; past this a storm digest is no longer read, only counted.
const MAX_LISTED: usize = 50;
/// The list's share of the message size budget; header, counts and notes take the rest.
const MAX_LISTED_JSON_CHARS: usize = limits::BLOCKS_JSON_CHARS - 3_000;
/// A title in a list line is cut here so one long title cannot crowd out the others.
const MAX_LINE_TITLE_CHARS: usize = 150;
/// Enough of the summary to tell alerts with the same title apart.
const MAX_LINE_SUMMARY_CHARS: usize = 120;

/// [`render_digest_with`] without mentions.
pub fn render_digest(alerts: &[Alert]) -> SlackMessage {
    render_digest_with(alerts, &RenderOptions::default())
}

/// Renders many alerts as one message. Mentions are added when any alert is firing.
pub fn render_digest_with(alerts: &[Alert], options: &RenderOptions) -> SlackMessage {
    let mut ordered: Vec<&Alert> = alerts.iter().collect();
    // Stable: alerts of equal rank keep the order they came in.
    ordered.sort_by_key(|a| (a.status != Status::Firing, std::cmp::Reverse(a.severity)));

    let firing: Vec<&Alert> = ordered.iter().copied().filter(|a| a.is_firing()).collect();
    let resolved = alerts.len() - firing.len();
    let worst = firing.iter().map(|a| a.severity).max();
    let (status, severity) = match worst {
        Some(severity) => (Status::Firing, severity),
        None => (Status::Resolved, Severity::Info),
    };

    let counts = counts_text(&firing, resolved);
    let head = vec![Block::header(&format!(
        "{} {}",
        status_emoji(status, severity),
        if alerts.is_empty() {
            "No alerts".to_string()
        } else {
            format!("{} alerts: {counts}", alerts.len())
        }
    ))];

    let lines = listed_lines(&ordered);
    let body = pack_lines(&lines);
    let mut tail = Vec::new();
    if alerts.len() > lines.len() {
        tail.extend(Block::context(&[format!(
            "_… and {} more not listed_",
            alerts.len() - lines.len()
        )]));
    }
    tail.extend(Block::context(&source_counts(alerts)));

    let mentions = if firing.is_empty() {
        String::new()
    } else {
        mentions_text(&options.mentions)
    };
    // Counts only: Slack shows this text above the card, which lists the titles.
    let plain = if alerts.is_empty() {
        "No alerts".to_string()
    } else {
        format!("{} alerts: {counts}", alerts.len())
    };
    let room = limits::TEXT_CHARS.saturating_sub(mentions.chars().count());
    SlackMessage {
        text: format!("{mentions}{}", escape_and_truncate(&plain, room)),
        attachments: vec![Attachment {
            color: color(status, severity).to_string(),
            blocks: fit_blocks(head, body, tail),
        }],
    }
}

/// `12 firing (2 critical, 10 error), 3 resolved`.
fn counts_text(firing: &[&Alert], resolved: usize) -> String {
    let mut by_severity: BTreeMap<std::cmp::Reverse<Severity>, usize> = BTreeMap::new();
    for alert in firing {
        *by_severity
            .entry(std::cmp::Reverse(alert.severity))
            .or_default() += 1;
    }
    let detail: Vec<String> = by_severity
        .iter()
        .map(|(severity, n)| format!("{n} {}", severity.0))
        .collect();
    let mut text = format!("{} firing", firing.len());
    if !detail.is_empty() {
        text.push_str(&format!(" ({})", detail.join(", ")));
    }
    text.push_str(&format!(", {resolved} resolved"));
    text
}

/// `:red_circle: *Title* — first line of the summary · CloudWatch alarm · <time>`
fn line(alert: &Alert) -> String {
    let mut line = format!(
        "{} *{}*",
        status_emoji(alert.status, alert.severity),
        escape_and_truncate(&single_line(&alert.title), MAX_LINE_TITLE_CHARS),
    );
    let summary = first_line(&alert.summary);
    if !summary.is_empty() {
        line.push_str(" — ");
        line.push_str(&escape_and_truncate(summary, MAX_LINE_SUMMARY_CHARS));
    }
    line.push_str(" · ");
    line.push_str(&escape_and_truncate(alert.source.display_name(), 60));
    if let Some(at) = alert.occurred_at.as_deref().filter(|t| !t.is_empty()) {
        line.push_str(" · ");
        line.push_str(&time_token(at));
    }
    line
}

/// One line per alert, as many as the list may hold: the count limit, and a size budget that
/// keeps the message under Slack's total so that the list is never cut mid-way.
fn listed_lines(ordered: &[&Alert]) -> Vec<String> {
    let mut lines = Vec::new();
    let mut size = 0;
    for alert in ordered.iter().take(MAX_LISTED) {
        let line = line(alert);
        // As JSON, the way Slack's size limit counts it (quotes and newlines grow).
        let line_size = serde_json::to_string(&line).map_or(usize::MAX, |j| j.chars().count());
        if size + line_size > MAX_LISTED_JSON_CHARS {
            break;
        }
        size += line_size;
        lines.push(line);
    }
    lines
}

/// Lines into as few sections as the section limit allows, never splitting a line.
fn pack_lines(lines: &[String]) -> Vec<Block> {
    let mut sections = Vec::new();
    let mut current = String::new();
    for line in lines {
        let needed = current.chars().count() + 1 + line.chars().count();
        if !current.is_empty() && needed > limits::SECTION_CHARS {
            sections.extend(Block::section(&current));
            current.clear();
        }
        if !current.is_empty() {
            current.push('\n');
        }
        current.push_str(line);
    }
    sections.extend(Block::section(&current));
    sections
}

/// `CloudWatch alarm: 12` per source, most first.
fn source_counts(alerts: &[Alert]) -> Vec<String> {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for alert in alerts {
        *counts.entry(alert.source.display_name()).or_default() += 1;
    }
    let mut counts: Vec<(&str, usize)> = counts.into_iter().collect();
    counts.sort_by_key(|(_, n)| std::cmp::Reverse(*n));
    counts
        .into_iter()
        .take(limits::CONTEXT_ELEMENTS)
        .map(|(source, n)| format!("{}: {n}", escape_and_truncate(source, 60)))
        .collect()
}
