//! A Slack message in a readable plain layout for a terminal: the top-level text, the colour,
//! then the card (header, sections, fields, context line, links) with Slack's markup resolved
//! into text.

use std::fmt::Write as _;

use fleetwatch_alerts::SlackMessage;
use fleetwatch_alerts::{Block, Element, Text};

/// The message, every line ending with a newline; card lines are indented by two spaces.
pub fn layout(message: &SlackMessage) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "text: {}", resolve(&message.text));
    for attachment in &message.attachments {
        let _ = writeln!(out, "colour: {}", attachment.color);
        for block in &attachment.blocks {
            write_block(block, &mut out);
        }
    }
    out
}

fn write_block(block: &Block, out: &mut String) {
    match block {
        Block::Header { text } => {
            let _ = writeln!(out, "  {}\n", text.as_str());
        }
        Block::Section { text, fields } => {
            if let Some(text) = text {
                write_indented(&section_text(text), out);
            }
            for field in fields {
                write_indented(&section_text(field), out);
            }
        }
        Block::Context { elements } => {
            // Bold (`severity *error*`) means nothing on a terminal.
            let parts: Vec<String> = elements
                .iter()
                .map(|element| section_text(element).replace('*', ""))
                .collect();
            let _ = writeln!(out, "  ({})", parts.join(" | "));
        }
        Block::Actions { elements } => {
            for Element::Button { text, url, .. } in elements {
                let _ = writeln!(out, "  [{}] {url}", text.as_str());
            }
        }
        Block::Divider {} => out.push_str("  ---\n"),
    }
}

fn write_indented(text: &str, out: &mut String) {
    for line in text.lines() {
        let _ = writeln!(out, "  {line}");
    }
}

/// A section's or field's text: `*Name*\nvalue` reads as `Name: value`, Slack markup resolved.
fn section_text(text: &Text) -> String {
    let raw = match text {
        Text::PlainText { text, .. } => return text.clone(),
        Text::Mrkdwn { text } => text.as_str(),
    };
    let (first, rest) = raw.split_once('\n').unwrap_or((raw, ""));
    let heading = first
        .strip_prefix('*')
        .and_then(|h| h.strip_suffix('*'))
        .filter(|h| !h.is_empty() && !h.contains('*'));
    match heading {
        Some(name) if !rest.contains('\n') => format!("{}: {}", resolve(name), resolve(rest)),
        Some(name) => format!("{}:\n{}", resolve(name), indent(&resolve(rest))),
        None => resolve(raw),
    }
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|line| format!("  {line}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Slack's angle-bracket tokens become their text (`<!date^..|fallback>` the fallback,
/// `<url|label>` `label (url)`, `<!here>` `@here`) and the three escaped characters are restored.
fn resolve(mrkdwn: &str) -> String {
    let mut out = String::with_capacity(mrkdwn.len());
    let mut rest = mrkdwn;
    while let Some(start) = rest.find('<') {
        out.push_str(&rest[..start]);
        let Some(end) = rest[start..].find('>') else {
            out.push_str(&rest[start..]);
            rest = "";
            break;
        };
        out.push_str(&token_text(&rest[start + 1..start + end]));
        rest = &rest[start + end + 1..];
    }
    out.push_str(rest);
    out.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

fn token_text(token: &str) -> String {
    let (target, label) = match token.split_once('|') {
        Some((target, label)) => (target, Some(label)),
        None => (token, None),
    };
    if target.starts_with("!date^") {
        return label.unwrap_or(target).to_string();
    }
    if let Some(special) = target.strip_prefix('!') {
        let name = special.split('^').next().unwrap_or(special);
        return format!("@{}", label.unwrap_or(name));
    }
    if target.starts_with('@') || target.starts_with('#') {
        return label.map_or_else(|| target.to_string(), str::to_string);
    }
    match label {
        Some(label) => format!("{label} ({target})"),
        None => target.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slack_tokens_and_escapes_become_text() {
        assert_eq!(
            resolve(
                "<!here> a &lt;b&gt; &amp; <https://x.example/|docs> at <!date^1700000000^{date_short_pretty}|2023-11-14>"
            ),
            "@here a <b> & docs (https://x.example/) at 2023-11-14"
        );
        assert_eq!(resolve("no tokens"), "no tokens");
        assert_eq!(resolve("a < b"), "a < b");
    }

    #[test]
    fn fields_read_as_name_and_value() {
        let field = Text::Mrkdwn {
            text: "*Threshold*\n&gt;= 5".into(),
        };
        assert_eq!(section_text(&field), "Threshold: >= 5");
        let long = Text::Mrkdwn {
            text: "*Reason*\nline 1\nline 2".into(),
        };
        assert_eq!(section_text(&long), "Reason:\n  line 1\n  line 2");
    }
}
