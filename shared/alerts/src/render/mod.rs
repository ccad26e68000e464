//! Slack rendering: an [`Alert`] to a Block Kit message with a colour bar and a plain-text
//! fallback, within every Slack limit.
//!
//! Message shape: top-level `text` (mentions when firing, status, severity, title), and one
//! attachment `{color, blocks}` holding: a header (status emoji, `[FIRING]`/`[RESOLVED]`,
//! title), the summary, the fields in their order (short ones two-up in field sections, long
//! ones full width), the labels (Alertmanager), a context line (source, severity, time) and the
//! links as buttons.
//!
//! All source text is escaped (`&`, `<`, `>`), so an alert cannot inject mentions or links;
//! only what this module generates itself (mentions from [`RenderOptions`], date tokens) is
//! Slack syntax. Every mrkdwn text object is sent `verbatim` (see [`slack::Text`]), so Slack
//! does not link bare URLs either: a request path or URL from a log line stays text. The only
//! links are buttons, and only for absolute http(s) URLs ([`slack::is_button_url`]); other
//! links are shown as text.

mod digest;
mod layout;
pub mod slack;

use crate::alert::{Alert, Severity, Status};
use crate::text::{ELLIPSIS, escape_and_truncate, escape_mrkdwn, truncate_mrkdwn};
use crate::time::unix_seconds;
use layout::Layout;
use slack::{Attachment, Block, fit_blocks, is_button_url, limits};

pub use digest::{render_digest, render_digest_with};
pub use slack::SlackMessage;

/// Per-destination rendering choices.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RenderOptions {
    /// Slack mentions to put in front of a firing alert's text, e.g. `<!here>`, `<@U123>`,
    /// `<!subteam^S123>`. Never added to resolved alerts: nobody needs waking for good news.
    /// Anything that is not a single `<…>` token is escaped and shows as text.
    pub mentions: Vec<String>,
}

/// A field longer than this, or with a line break, gets a full-width section of its own.
const SHORT_FIELD_CHARS: usize = 80;

/// Renders one alert.
pub fn render(alert: &Alert, options: &RenderOptions) -> SlackMessage {
    let layout = Layout::for_source(&alert.source);
    let head = vec![Block::header(&header_text(alert))];

    let mut body = Vec::new();
    if !alert.summary.trim().is_empty() {
        let summary = escape_mrkdwn(alert.summary.trim());
        let text = match layout.summary_heading {
            Some(heading) => format!("*{heading}*\n{summary}"),
            None => summary.into_owned(),
        };
        body.extend(Block::section(&text));
    }
    body.extend(field_blocks(alert));
    if layout.show_labels {
        body.extend(labels_block(alert));
    }

    let mut tail = Vec::new();
    tail.extend(Block::context(&context_elements(alert)));
    let (buttons, other_links) = split_links(alert);
    if !other_links.is_empty() {
        tail.extend(Block::context(&other_links));
    }
    tail.extend(Block::link_buttons(&buttons));

    SlackMessage {
        text: fallback_text(alert, options),
        attachments: vec![Attachment {
            color: color(alert.status, alert.severity).to_string(),
            blocks: fit_blocks(head, body, tail),
        }],
    }
}

/// Colour bar: green when resolved, else by severity.
pub fn color(status: Status, severity: Severity) -> &'static str {
    match (status, severity) {
        (Status::Resolved, _) => "#2EB67D",
        (Status::Firing, Severity::Critical) => "#A30200",
        (Status::Firing, Severity::Error) => "#E01E5A",
        (Status::Firing, Severity::Warning) => "#ECB22E",
        (Status::Firing, Severity::Info) => "#36C5F0",
    }
}

pub(crate) fn status_emoji(status: Status, severity: Severity) -> &'static str {
    match (status, severity) {
        (Status::Resolved, _) => ":white_check_mark:",
        (Status::Firing, Severity::Critical) => ":rotating_light:",
        (Status::Firing, Severity::Error) => ":red_circle:",
        (Status::Firing, Severity::Warning) => ":warning:",
        (Status::Firing, Severity::Info) => ":information_source:",
    }
}

fn status_word(status: Status) -> &'static str {
    match status {
        Status::Firing => "FIRING",
        Status::Resolved => "RESOLVED",
    }
}

fn header_text(alert: &Alert) -> String {
    format!(
        "{} [{}] {}",
        status_emoji(alert.status, alert.severity),
        status_word(alert.status),
        single_line(&alert.title)
    )
}

/// `<!here> [FIRING error] Title`, escaped, within the text limit. Short on purpose: with the
/// attachment wrapper Slack shows this text above the coloured card, so a summary here would be
/// read twice; notifications and screen readers still get status, severity and title. Mentions
/// come first so that they are never the part cut off.
fn fallback_text(alert: &Alert, options: &RenderOptions) -> String {
    let mentions = if alert.is_firing() {
        mentions_text(&options.mentions)
    } else {
        String::new()
    };
    let plain = format!(
        "[{} {}] {}",
        status_word(alert.status),
        alert.severity,
        single_line(&alert.title)
    );
    let room = limits::TEXT_CHARS.saturating_sub(mentions.chars().count());
    format!("{mentions}{}", escape_and_truncate(&plain, room))
}

/// Mentions joined by spaces, with a trailing space; tokens that are not one `<…>` are escaped.
pub(crate) fn mentions_text(mentions: &[String]) -> String {
    let tokens: Vec<String> = mentions
        .iter()
        .map(|m| m.trim())
        .filter(|m| !m.is_empty())
        .map(|m| {
            let inner = m.strip_prefix('<').and_then(|m| m.strip_suffix('>'));
            match inner {
                Some(inner) if !inner.is_empty() && !inner.contains(['<', '>']) => m.to_string(),
                _ => escape_mrkdwn(m).into_owned(),
            }
        })
        .collect();
    if tokens.is_empty() {
        String::new()
    } else {
        format!("{} ", tokens.join(" "))
    }
}

/// Fields in the order given: runs of short ones two-up in field sections (ten to a section),
/// long ones full width where they stand, so a producer's order is what people read.
fn field_blocks(alert: &Alert) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut run: Vec<String> = Vec::new();
    for field in alert.fields.iter().filter(|f| !f.value.trim().is_empty()) {
        let is_short =
            field.value.chars().count() <= SHORT_FIELD_CHARS && !field.value.contains('\n');
        if is_short {
            run.push(field_text(&field.name, &field.value, limits::FIELD_CHARS));
        } else {
            blocks.extend(Block::field_sections(&run));
            run.clear();
            blocks.extend(Block::section(&field_text(
                &field.name,
                &field.value,
                limits::SECTION_CHARS,
            )));
        }
    }
    blocks.extend(Block::field_sections(&run));
    blocks
}

/// `*Name*\nvalue`, escaped, the value cut so that the name always shows.
fn field_text(name: &str, value: &str, max_chars: usize) -> String {
    let name = escape_and_truncate(single_line(name).as_str(), 100);
    let room = max_chars.saturating_sub(name.chars().count() + 3);
    format!("*{name}*\n{}", escape_and_truncate(value.trim(), room))
}

/// Labels as `name=value` code spans, for sources whose labels are the alert's identity.
fn labels_block(alert: &Alert) -> Option<Block> {
    let spans: Vec<String> = alert
        .labels
        .iter()
        .filter(|(name, value)| name.as_str() != "alertname" && !value.is_empty())
        // A backtick inside would end the code span early.
        .map(|(name, value)| format!("`{}`", format!("{name}={value}").replace('`', "'")))
        .collect();
    if spans.is_empty() {
        return None;
    }
    let text = format!("*Labels*\n{}", escape_mrkdwn(&spans.join(" ")));
    Block::section(&truncate_mrkdwn(&text, limits::SECTION_CHARS))
}

fn context_elements(alert: &Alert) -> Vec<String> {
    let mut elements = vec![
        escape_mrkdwn(alert.source.display_name()).into_owned(),
        format!("severity *{}*", alert.severity),
    ];
    if let Some(at) = alert.occurred_at.as_deref().filter(|t| !t.is_empty()) {
        elements.push(time_token(at));
    }
    elements
}

/// Slack shows `<!date^…>` in each reader's own time zone; the fallback is the source's text.
pub(crate) fn time_token(timestamp: &str) -> String {
    // Producers' own alerts carry any text here: a time is short, so keep it short.
    let fallback = escape_and_truncate(timestamp, 64);
    match unix_seconds(timestamp) {
        Some(seconds) => {
            format!("<!date^{seconds}^{{date_short_pretty}} at {{time_secs}}|{fallback}>")
        }
        None => fallback,
    }
}

/// Links Slack takes as buttons (see [`is_button_url`]), and the rest as escaped text for a
/// context line: never linked (text objects are `verbatim`), but not hidden either, since a
/// producer's broken link is worth seeing. A context line holds ten elements: past nine, the
/// tenth says how many more there are.
fn split_links(alert: &Alert) -> (Vec<(String, String)>, Vec<String>) {
    let mut buttons = Vec::new();
    let mut others = Vec::new();
    for link in &alert.links {
        let title = if link.title.trim().is_empty() {
            "Link".to_string()
        } else {
            single_line(&link.title)
        };
        if is_button_url(&link.url) {
            buttons.push((title, link.url.clone()));
        } else if !link.url.trim().is_empty() {
            others.push(escape_and_truncate(&format!("{title}: {}", link.url), 300));
        }
    }
    if others.len() > limits::CONTEXT_ELEMENTS {
        let shown = limits::CONTEXT_ELEMENTS - 1;
        let more = others.len() - shown;
        others.truncate(shown);
        others.push(format!("_{more} more links not shown_"));
    }
    (buttons, others)
}

/// Titles go into one-line places (headers, buttons, list items).
pub(crate) fn single_line(text: &str) -> String {
    let joined = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if joined.is_empty() {
        ELLIPSIS.to_string()
    } else {
        joined
    }
}
