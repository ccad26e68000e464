//! Text helpers for Slack: mrkdwn escaping and limit-respecting truncation.
//!
//! Slack counts limits in characters, so truncation counts `char`s, never bytes, and never
//! splits a UTF-8 sequence.

use std::borrow::Cow;

/// Marks a cut. One character, so it costs one unit of any limit.
pub const ELLIPSIS: char = '…';

/// Escapes the three characters Slack's mrkdwn treats as control characters. Source text must
/// go through this so that an alert title like `<!channel>` cannot ping anyone.
pub fn escape_mrkdwn(text: &str) -> Cow<'_, str> {
    if !text.contains(['&', '<', '>']) {
        return Cow::Borrowed(text);
    }
    let mut escaped = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            _ => escaped.push(c),
        }
    }
    Cow::Owned(escaped)
}

/// Cuts plain text to at most `max_chars` characters, ending with [`ELLIPSIS`] when cut.
pub fn truncate_chars(text: &str, max_chars: usize) -> Cow<'_, str> {
    match byte_index_of_char(text, max_chars) {
        None => Cow::Borrowed(text),
        Some(_) if max_chars == 0 => Cow::Borrowed(""),
        Some(_) => {
            let keep = byte_index_of_char(text, max_chars - 1).unwrap_or(text.len());
            let mut cut = String::with_capacity(keep + ELLIPSIS.len_utf8());
            cut.push_str(&text[..keep]);
            cut.push(ELLIPSIS);
            Cow::Owned(cut)
        }
    }
}

/// Cuts already escaped mrkdwn to at most `max_chars` characters without leaving half an
/// entity (`&am…`) or half of a `<link|text>` / `<!here>` we generated ourselves: either would
/// show up as garbage or make Slack swallow the rest of the text.
pub fn truncate_mrkdwn(mrkdwn: &str, max_chars: usize) -> Cow<'_, str> {
    if byte_index_of_char(mrkdwn, max_chars).is_none() || max_chars == 0 {
        return truncate_chars(mrkdwn, max_chars);
    }
    let keep = byte_index_of_char(mrkdwn, max_chars - 1).unwrap_or(mrkdwn.len());
    let mut kept = &mrkdwn[..keep];
    // An entity is at most 5 bytes (`&amp;`): a `&` without its `;` near the end was cut.
    if let Some(amp) = kept.rfind('&')
        && !kept[amp..].contains(';')
        && kept.len() - amp < 5
    {
        kept = &kept[..amp];
    }
    // Source `<` are escaped, so any `<` still open is the start of our own syntax.
    if let Some(open) = kept.rfind('<')
        && !kept[open..].contains('>')
    {
        kept = &kept[..open];
    }
    let mut cut = String::with_capacity(kept.len() + ELLIPSIS.len_utf8());
    cut.push_str(kept);
    cut.push(ELLIPSIS);
    Cow::Owned(cut)
}

/// Escapes source text and fits it into `max_chars`.
pub fn escape_and_truncate(text: &str, max_chars: usize) -> String {
    truncate_mrkdwn(&escape_mrkdwn(text), max_chars).into_owned()
}

/// The byte index where the `n`-th character (0-based) starts, `None` when the text has `n`
/// characters or fewer.
fn byte_index_of_char(text: &str, n: usize) -> Option<usize> {
    text.char_indices().nth(n).map(|(i, _)| i)
}

/// The first non-empty line, for one-line previews of multi-line text.
pub fn first_line(text: &str) -> &str {
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_only_control_characters() {
        assert_eq!(
            escape_mrkdwn("a < b && c > d *bold*"),
            "a &lt; b &amp;&amp; c &gt; d *bold*"
        );
        assert!(matches!(escape_mrkdwn("plain"), Cow::Borrowed(_)));
        assert_eq!(escape_mrkdwn("<!channel>"), "&lt;!channel&gt;");
    }

    #[test]
    fn truncates_by_characters_not_bytes() {
        assert_eq!(truncate_chars("héllo", 5), "héllo");
        assert_eq!(truncate_chars("héllo", 4), "hél…");
        assert_eq!(truncate_chars("日本語テキスト", 3), "日本…");
        assert_eq!(truncate_chars("🔥🔥🔥", 2), "🔥…");
        assert_eq!(truncate_chars("abc", 0), "");
        assert_eq!(truncate_chars("", 0), "");
        assert_eq!(truncate_chars("abc", 1), "…");
    }

    #[test]
    fn mrkdwn_truncation_never_leaves_half_an_entity() {
        let escaped = escape_mrkdwn("ab&cd");
        assert_eq!(escaped, "ab&amp;cd");
        for max in 1..=9 {
            let cut = truncate_mrkdwn(&escaped, max);
            assert!(cut.chars().count() <= max, "{cut} > {max}");
            let without_entities = cut.replace("&amp;", "");
            assert!(!without_entities.contains('&'), "half entity in {cut}");
        }
        assert_eq!(truncate_mrkdwn(&escaped, 4), "ab…");
        assert_eq!(truncate_mrkdwn(&escaped, 8), "ab&amp;…");
    }

    #[test]
    fn mrkdwn_truncation_never_leaves_half_a_link() {
        let text = "see <https://example.com/a|the docs> now";
        assert_eq!(truncate_mrkdwn(text, 20), "see …");
        assert_eq!(
            truncate_mrkdwn(text, 38),
            "see <https://example.com/a|the docs> …"
        );
    }

    #[test]
    fn every_cut_point_of_mixed_text_is_safe() {
        // Escapes, multi-byte characters and our own link syntax, cut at every length.
        let escaped = format!(
            "{} <https://example.com/a?b=1&amp;c=2|docs> {}",
            escape_mrkdwn("日本 & <b> 🔥é"),
            escape_mrkdwn("x>y&z")
        );
        let total = escaped.chars().count();
        for max in 0..=total + 1 {
            let cut = truncate_mrkdwn(&escaped, max);
            assert!(cut.chars().count() <= max, "{cut:?} longer than {max}");
            if max >= total {
                assert_eq!(cut, escaped);
                continue;
            }
            let plain = cut
                .replace("&amp;", "")
                .replace("&lt;", "")
                .replace("&gt;", "");
            assert!(!plain.contains('&'), "half an entity at {max}: {cut:?}");
            let opens = cut.matches('<').count();
            assert_eq!(
                opens,
                cut.matches('>').count(),
                "half a link at {max}: {cut:?}"
            );
        }
    }

    #[test]
    fn first_line_skips_blank_lines() {
        assert_eq!(first_line("\n  \n first \nsecond"), "first");
        assert_eq!(first_line(""), "");
    }
}
