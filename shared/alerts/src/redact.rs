//! Redaction of secrets in text from untrusted sources, and the length caps of such text.
//!
//! Log lines, webhook annotations and the free text of unknown payloads end up in Slack, in
//! queue messages and in dead letters. Applications print their secrets more often than anyone
//! would like, so every such text passes through [`redact`] before it becomes part of an
//! [`Alert`]: a secret that never enters the alert cannot leak from any of those places.
//!
//! The rules are documented on [`redact`].
//!
//! Caps, consistent with Slack's limits: a log line is cut at [`MAX_UNTRUSTED_LINE_CHARS`]
//! (ten of them fit one 3,000-character section) and a whole field of untrusted text at
//! [`MAX_UNTRUSTED_FIELD_CHARS`]. Redaction runs before any cut, so a cut can never leave the
//! beginning of a secret unrecognised.

use crate::alert::Alert;
use crate::text::truncate_chars;
use std::borrow::Cow;
use std::ops::Range;

/// What a secret is replaced with.
pub const REDACTED: &str = "<redacted>";

/// A line of log text longer than this is cut (with `…`): ten lines, the most an alert shows,
/// fit one Slack section (3,000 characters) with room for the field name and code fences.
pub const MAX_UNTRUSTED_LINE_CHARS: usize = 240;

/// Untrusted text of one alert field (or a summary) is cut here: it renders as a full-width
/// Slack section (3,000 characters), and this leaves room for the field name and code fences.
/// Escaping can still make it longer; the renderer then cuts it safely.
pub const MAX_UNTRUSTED_FIELD_CHARS: usize = 2_500;

/// Replaces every secret shape below with [`REDACTED`]. Borrowed when there is nothing to
/// redact; applying it twice changes nothing more.
///
/// Each secret is replaced by [`REDACTED`]; everything around it is kept, so the line still
/// reads as what it was (`Authorization: Bearer <redacted>`, `postgres://app:<redacted>@db`).
///
/// | shape | example | becomes |
/// |---|---|---|
/// | private key block (PEM), also split over lines or cut off at either end | `-----BEGIN RSA PRIVATE KEY-----MIIE…-----END RSA PRIVATE KEY-----` | `-----BEGIN RSA PRIVATE KEY-----<redacted>-----END RSA PRIVATE KEY-----` |
/// | password in a URL's user info | `postgres://app:hunter2@db:5432` | `postgres://app:<redacted>@db:5432` |
/// | token as a URL's whole user info, when it looks like a secret (see below) | `https://ghp_x1y2z3@github.com` | `https://<redacted>@github.com` |
/// | `Authorization` header or key, any scheme | `Authorization: Basic dXNlcjpwYXNz` | `Authorization: Basic <redacted>` |
/// | bare `Bearer` token, when it looks like a secret | `bearer eyJhbGciOi…` | `bearer <redacted>` |
/// | value of a key ending in `password`, `passwd`, `secret`, `token`, `api_key`/`apikey`/`api-key`, `secret_access_key`/`secretaccesskey` (any case; `key=value`, `key: value`, `"key": "value"`, `key => value`, query strings) | `DB_PASSWORD=x`, `?access_token=x&a=1` | `DB_PASSWORD=<redacted>`, `?access_token=<redacted>&a=1` |
/// | 40-character base64 word (an AWS secret access key) within 48 characters after the word `secret` on its line | `aws_secret_access_key wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY` | `aws_secret_access_key <redacted>` |
/// | AWS access key id: `AKIA` or `ASIA` and 16 upper-case letters or digits, as a whole word | `AKIAIOSFODNN7EXAMPLE` | `<redacted>` |
/// | Slack token: `xoxa-`, `xoxb-`, `xoxp-`, `xoxr-` and what follows | `xoxb-123-456-abc` | `<redacted>` |
///
/// Where prose uses the same words, a value is only taken for a secret when it looks like one:
/// it has a digit, or is at least 20 characters long. That applies to `key: value` with neither
/// side quoted (`invalid token: expired` stays as it is, YAML's `password: hunter2` does not),
/// to a bare `Bearer` (`Bearer token missing` stays), and to a URL's user info without a colon
/// (`ssh://git@host` stays). A colon right after a `:` or `/` segment is an ARN or a path, not
/// a key (`…:secret:prod/db-1` stays). `key=value`, quoted values and `Authorization` are
/// always redacted.
///
/// Not redacted, on purpose: git commit ids, UUIDs, 40-character hex or base64 strings without
/// the word `secret` before them (request ids, digests and checksums look exactly like that),
/// passwords given as a separate command-line word (`--password hunter2`), and values in XML
/// elements. Unquoted values end at white space, `&`, `,`, `;`, quotes, brackets and `\`; a
/// password containing one of those is redacted only up to it.
pub fn redact(text: &str) -> Cow<'_, str> {
    let mut text = Cow::Borrowed(text);
    for find in FINDERS {
        let spans = find(&text);
        if !spans.is_empty() {
            text = Cow::Owned(replace_spans(&text, spans));
        }
    }
    text
}

/// Untrusted free text for one field or summary: redacted, then cut at
/// [`MAX_UNTRUSTED_FIELD_CHARS`].
pub fn redact_field(text: &str) -> String {
    truncate_chars(&redact(text), MAX_UNTRUSTED_FIELD_CHARS).into_owned()
}

/// Log lines, oldest first: redacted together (a private key printed over several lines is
/// recognised across them), then each line cut at [`MAX_UNTRUSTED_LINE_CHARS`]. A line holding
/// line breaks comes back as several lines, and a redacted key block as one.
pub fn redact_lines<S: AsRef<str>>(lines: &[S]) -> Vec<String> {
    // No lines are no lines (splitting an empty text would give one empty line).
    if lines.is_empty() {
        return Vec::new();
    }
    let joined = lines
        .iter()
        .map(AsRef::as_ref)
        .collect::<Vec<_>>()
        .join("\n");
    redact(&joined)
        .split('\n')
        .map(|line| truncate_chars(line, MAX_UNTRUSTED_LINE_CHARS).into_owned())
        .collect()
}

/// Redacts the display text of an alert that came from outside: title, summary, field values,
/// link titles and URLs. Identity (id, fingerprint, thread key) and labels (routing) are left
/// alone, so redaction never changes where an alert goes or what it is deduplicated with.
pub(crate) fn redact_alert(alert: &mut Alert) {
    alert.title = redact(&alert.title).into_owned();
    alert.summary = redact_field(&alert.summary);
    for field in &mut alert.fields {
        field.value = redact_field(&field.value);
    }
    for link in &mut alert.links {
        link.title = redact(&link.title).into_owned();
        link.url = redact(&link.url).into_owned();
    }
}

/// One kind of secret: the byte ranges to replace in `text`, each starting and ending on a
/// character boundary.
type Finder = fn(&str) -> Vec<Range<usize>>;

/// In this order: whole blocks first, then the shapes with a key in front, then bare tokens. A
/// later finder sees the earlier ones' `<redacted>` and leaves it alone.
const FINDERS: [Finder; 8] = [
    private_key_bodies,
    url_passwords,
    authorization_credentials,
    bearer_tokens,
    key_value_secrets,
    aws_secret_keys,
    aws_access_key_ids,
    slack_tokens,
];

fn replace_spans(text: &str, mut spans: Vec<Range<usize>>) -> String {
    spans.sort_by_key(|span| span.start);
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for span in spans {
        // Overlapping finds of one finder: the earlier one already covers the start.
        if span.end <= at {
            continue;
        }
        out.push_str(&text[at..span.start.max(at)]);
        out.push_str(REDACTED);
        at = span.end;
    }
    out.push_str(&text[at..]);
    out
}

/// A digit, or 20 characters: what random tokens have and words of prose do not.
fn looks_secret(value: &str) -> bool {
    value != REDACTED && (value.bytes().any(|b| b.is_ascii_digit()) || value.chars().count() >= 20)
}

fn is_alnum_at(bytes: &[u8], index: usize) -> bool {
    bytes.get(index).is_some_and(u8::is_ascii_alphanumeric)
}

/// Whether a word may start at `index`: not in the middle of letters and digits.
fn starts_word(bytes: &[u8], index: usize) -> bool {
    index == 0 || !is_alnum_at(bytes, index - 1)
}

/// The end of the run of bytes from `start` that satisfy `accept`.
fn run_end(bytes: &[u8], start: usize, accept: impl Fn(u8) -> bool) -> usize {
    bytes[start..]
        .iter()
        .position(|b| !accept(*b))
        .map_or(bytes.len(), |n| start + n)
}

fn skip_blanks(bytes: &[u8], start: usize) -> usize {
    run_end(bytes, start, |b| b == b' ' || b == b'\t')
}

// Private keys.

/// The body of every private key block. A block cut off by the window of lines shown (no
/// `END`, or no `BEGIN`) still loses its base64 lines.
fn private_key_bodies(text: &str) -> Vec<Range<usize>> {
    let mut spans = Vec::new();
    // Each marker kind is searched for once past the last one found: linear in the text.
    let mut begin = key_marker(text, 0, "-----BEGIN ");
    let mut end = key_marker(text, 0, "-----END ");
    // Where the last block ended: a block without its `BEGIN` reaches back no further.
    let mut taken = 0;
    loop {
        // The body, and where to look on.
        let (span, from) = match (&begin, &end) {
            (Some(b), Some(e)) if b.start < e.start => (b.end..e.start, e.end),
            (Some(b), None) => {
                let body_end = base64_lines_after(text, b.end);
                (b.end..body_end, body_end)
            }
            (_, Some(e)) => (base64_lines_before(text, taken, e.start)..e.start, e.end),
            (None, None) => break,
        };
        spans.push(span);
        taken = from;
        if begin.as_ref().is_some_and(|b| b.start < from) {
            begin = key_marker(text, from, "-----BEGIN ");
        }
        if end.as_ref().is_some_and(|e| e.start < from) {
            end = key_marker(text, from, "-----END ");
        }
    }
    spans.retain(|span| !span.is_empty() && &text[span.clone()] != REDACTED);
    spans
}

/// The next `-----BEGIN <LABEL >PRIVATE KEY-----` (or `END`) at or after `from`. The label is
/// short (`RSA`, `EC`, `OPENSSH`, `ENCRYPTED`): only that much is looked at after each opening,
/// so many openings that are not keys (certificates) cost no more than reading the text once.
fn key_marker(text: &str, from: usize, opening: &str) -> Option<Range<usize>> {
    const NAME: &str = "PRIVATE KEY";
    const CLOSING: &str = "-----";
    const MAX_LABEL: usize = 24;
    let bytes = text.as_bytes();
    let mut search = from;
    while let Some(found) = text[search..].find(opening) {
        let start = search + found;
        let label_start = start + opening.len();
        let window_end = bytes.len().min(label_start + MAX_LABEL + NAME.len());
        let label_end = run_end(&bytes[..window_end], label_start, |b| {
            b.is_ascii_uppercase() || b == b' '
        });
        if text[label_start..label_end].ends_with(NAME) && text[label_end..].starts_with(CLOSING) {
            return Some(start..label_end + CLOSING.len());
        }
        search = label_start;
    }
    None
}

/// A line of a PEM body: base64 only, and long enough (or padded) not to be an ordinary word.
fn is_base64_line(line: &str) -> bool {
    let line = line.trim();
    !line.is_empty()
        && line
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='))
        && (line.len() >= 16 || line.ends_with('='))
}

/// From a `BEGIN` marker's end: the rest of its line, then the base64 lines that follow.
fn base64_lines_after(text: &str, from: usize) -> usize {
    let mut end = text[from..].find('\n').map_or(text.len(), |n| from + n);
    while end < text.len() {
        let next_start = end + 1;
        let next_end = text[next_start..]
            .find('\n')
            .map_or(text.len(), |n| next_start + n);
        if !is_base64_line(&text[next_start..next_end]) {
            break;
        }
        end = next_end;
    }
    end
}

/// Up to an `END` marker's start, but not before `floor`: its line before it, and the base64
/// lines before that.
fn base64_lines_before(text: &str, floor: usize, to: usize) -> usize {
    let line_start = |end: usize| {
        text[floor..end]
            .rfind('\n')
            .map_or(floor, |n| floor + n + 1)
    };
    let mut start = line_start(to);
    while start > floor {
        let previous_end = start - 1;
        let previous_start = line_start(previous_end);
        if !is_base64_line(&text[previous_start..previous_end]) {
            break;
        }
        start = previous_start;
    }
    start
}

// URLs.

/// `scheme://user:password@host`: the password; `scheme://token@host`: the token, when it
/// looks like a secret.
fn url_passwords(text: &str) -> Vec<Range<usize>> {
    let bytes = text.as_bytes();
    text.match_indices("://")
        .filter(|(at, _)| has_scheme_before(bytes, *at))
        .filter_map(|(at, _)| {
            let authority_start = at + 3;
            let authority_end = run_end(bytes, authority_start, |b| {
                !b.is_ascii_whitespace() && !matches!(b, b'/' | b'?' | b'#' | b'"' | b'\'' | b'\\')
            });
            let authority = &text[authority_start..authority_end];
            let user_info_len = authority.rfind('@')?;
            let user_info = &authority[..user_info_len];
            let secret = match user_info.find(':') {
                Some(colon) => authority_start + colon + 1..authority_start + user_info_len,
                None if looks_secret(user_info) => authority_start..authority_start + user_info_len,
                None => return None,
            };
            (!secret.is_empty() && &text[secret.clone()] != REDACTED).then_some(secret)
        })
        .collect()
}

/// Whether `://` at `at` follows a URL scheme (a letter, then letters, digits, `+`, `-`, `.`).
fn has_scheme_before(bytes: &[u8], at: usize) -> bool {
    let start = bytes[..at]
        .iter()
        .rposition(|b| !(b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.')))
        .map_or(0, |n| n + 1);
    start < at && bytes[start].is_ascii_alphabetic()
}

// Keys and their values.

/// Runs of the characters keys are made of: letters, digits, `_`, `-`, `.`.
fn keys(text: &str) -> impl Iterator<Item = Range<usize>> + '_ {
    let bytes = text.as_bytes();
    let is_key_byte = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.');
    let mut at = 0;
    std::iter::from_fn(move || {
        let start = at + bytes[at..].iter().position(|b| is_key_byte(*b))?;
        let end = run_end(bytes, start, is_key_byte);
        at = end;
        Some(start..end)
    })
}

/// The key's name ends like the name of a secret: `DB_PASSWORD`, `client-secret`,
/// `access_token`, `X-Api-Key`. (`pwd` is not among them: `PWD` is the working directory.)
fn is_secret_key(key: &str) -> bool {
    const ENDINGS: [&str; 9] = [
        "password",
        "passwd",
        "secret",
        "token",
        "api_key",
        "apikey",
        "api-key",
        "secret_access_key",
        "secretaccesskey",
    ];
    let key = key.to_ascii_lowercase();
    ENDINGS.iter().any(|ending| key.ends_with(ending))
}

/// What follows a key when it is given a value: `=`, `:` or `=>`, with optional quotes
/// (`"`, `'`, or JSON-in-a-string's `\"`) and blanks around.
struct Assignment {
    /// Where the value starts (after its opening quote, if any).
    value_start: usize,
    /// The value's closing quote, when it has an opening one.
    quote: Option<&'static str>,
    key_quoted: bool,
    /// `key: value` or `key:value`: a colon, the way prose and ARNs use colons too.
    colon: bool,
}

const QUOTES: [&str; 3] = ["\\\"", "\"", "'"];

fn quote_at(text: &str, at: usize) -> Option<&'static str> {
    QUOTES.into_iter().find(|q| text[at..].starts_with(q))
}

fn assignment_after(text: &str, key_end: usize) -> Option<Assignment> {
    let bytes = text.as_bytes();
    let key_quote = quote_at(text, key_end);
    let mut at = skip_blanks(bytes, key_end + key_quote.map_or(0, str::len));
    let separator = *bytes.get(at)?;
    if separator != b'=' && separator != b':' {
        return None;
    }
    at += 1;
    if separator == b'=' && bytes.get(at) == Some(&b'>') {
        at += 1;
    }
    at = skip_blanks(bytes, at);
    let quote = quote_at(text, at);
    Some(Assignment {
        value_start: at + quote.map_or(0, str::len),
        quote,
        key_quoted: key_quote.is_some(),
        colon: separator == b':',
    })
}

/// Where a value that starts at `start` ends: at its closing quote (or the end of the line
/// when it has none), else at the first byte that cannot be part of an unquoted value.
fn value_end(text: &str, start: usize, quote: Option<&str>) -> usize {
    let bytes = text.as_bytes();
    match quote {
        Some(quote) => {
            // The closing quote first, then the line: searching for the line's end first
            // would read the rest of a one-line text for every key in it.
            let mut at = start;
            let close = loop {
                let Some(found) = text[at..].find(quote) else {
                    break text.len();
                };
                let close = at + found;
                // `\"` inside a `"..."` value is an escaped quote, not the end.
                if quote == "\"" && close > start && bytes[close - 1] == b'\\' {
                    at = close + 1;
                    continue;
                }
                break close;
            };
            text[start..close].find('\n').map_or(close, |n| start + n)
        }
        None => run_end(bytes, start, |b| {
            !b.is_ascii_whitespace()
                && !matches!(
                    b,
                    b'&' | b',' | b';' | b'"' | b'\'' | b')' | b']' | b'}' | b'\\'
                )
        }),
    }
}

/// Values of keys named like secrets. Keys inside a value already taken are not looked at
/// again: `password=password=…` is one value, and reading it once per key would be quadratic.
fn key_value_secrets(text: &str) -> Vec<Range<usize>> {
    let mut spans = Vec::new();
    let mut taken = 0;
    for key in keys(text) {
        if key.start < taken || !is_secret_key(&text[key.clone()]) {
            continue;
        }
        let Some((value, redact)) = secret_value(text, &key) else {
            continue;
        };
        // A value left alone is short (prose) or already redacted: either way, done with.
        if redact || text[value.clone()].starts_with(REDACTED) {
            taken = value.end;
        }
        if redact {
            spans.push(value);
        }
    }
    spans
}

/// The value given to a key named like a secret, and whether to redact it.
fn secret_value(text: &str, key: &Range<usize>) -> Option<(Range<usize>, bool)> {
    let assignment = assignment_after(text, key.end)?;
    // `…:secret:prod/db` is an ARN's resource type, `/token:` a path: no key there.
    let in_a_path = key.start > 0 && matches!(text.as_bytes()[key.start - 1], b':' | b'/');
    if assignment.colon && in_a_path {
        return None;
    }
    let value = assignment.value_start..value_end(text, assignment.value_start, assignment.quote);
    let value_text = &text[value.clone()];
    let prose_like = assignment.colon && !assignment.key_quoted && assignment.quote.is_none();
    let redact = !value_text.is_empty()
        && !value_text.starts_with(REDACTED)
        && (!prose_like || looks_secret(value_text));
    Some((value, redact))
}

/// `Authorization: <scheme> <credentials>` (any key ending in `authorization`, any scheme):
/// the credentials, or the whole value when it has no scheme.
fn authorization_credentials(text: &str) -> Vec<Range<usize>> {
    let mut spans = Vec::new();
    let mut taken = 0;
    for key in keys(text) {
        let is_authorization = text[key.clone()]
            .to_ascii_lowercase()
            .ends_with("authorization");
        if key.start < taken || !is_authorization {
            continue;
        }
        let Some(credentials) = credentials_after(text, key.end) else {
            continue;
        };
        taken = credentials.end;
        let credentials_text = &text[credentials.clone()];
        if !credentials_text.is_empty() && !credentials_text.starts_with(REDACTED) {
            spans.push(credentials);
        }
    }
    spans
}

/// After an `Authorization` key: the credentials after the scheme, or the whole value.
fn credentials_after(text: &str, key_end: usize) -> Option<Range<usize>> {
    let bytes = text.as_bytes();
    let assignment = assignment_after(text, key_end)?;
    let start = assignment.value_start;
    let scheme_end = run_end(bytes, start, |b| b.is_ascii_alphanumeric() || b == b'-');
    let credentials_start = skip_blanks(bytes, scheme_end);
    let credentials_end = value_end(text, credentials_start, assignment.quote);
    let has_scheme =
        scheme_end > start && credentials_start > scheme_end && credentials_end > credentials_start;
    Some(if has_scheme {
        credentials_start..credentials_end
    } else {
        start..value_end(text, start, assignment.quote)
    })
}

/// `Bearer <token>` anywhere (any case), when the token looks like a secret.
fn bearer_tokens(text: &str) -> Vec<Range<usize>> {
    let bytes = text.as_bytes();
    let is_token_byte =
        |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/');
    text.to_ascii_lowercase()
        .match_indices("bearer")
        .map(|(at, word)| (at, at + word.len()))
        .filter(|(at, end)| {
            starts_word(bytes, *at) && matches!(bytes.get(*end), Some(b' ' | b'\t'))
        })
        .filter_map(|(_, end)| {
            let start = skip_blanks(bytes, end);
            let token_end = run_end(bytes, run_end(bytes, start, is_token_byte), |b| b == b'=');
            looks_secret(&text[start..token_end]).then_some(start..token_end)
        })
        .collect()
}

// Bare tokens.

/// A 40-character base64 word within 48 characters after `secret` on the same line: an AWS
/// secret access key in `aws configure`'s output, a `.env` file or a credentials file.
fn aws_secret_keys(text: &str) -> Vec<Range<usize>> {
    const LENGTH: usize = 40;
    const LOOK_BACK: usize = 48;
    let bytes = text.as_bytes();
    let is_base64 = |b: u8| b.is_ascii_alphanumeric() || b == b'+' || b == b'/';
    let mut spans = Vec::new();
    let mut at = 0;
    while let Some(found) = bytes[at..].iter().position(|b| is_base64(*b)) {
        let start = at + found;
        let end = run_end(bytes, start, is_base64);
        at = end;
        if end - start != LENGTH || bytes.get(end) == Some(&b'=') {
            continue;
        }
        let mut window_start = start.saturating_sub(LOOK_BACK);
        while !text.is_char_boundary(window_start) {
            window_start += 1;
        }
        let window = &text[window_start..start];
        let line = window.rsplit('\n').next().unwrap_or(window);
        if line.to_ascii_lowercase().contains("secret") {
            spans.push(start..end);
        }
    }
    spans
}

/// `AKIA` or `ASIA` and 16 upper-case letters or digits, as a whole word.
fn aws_access_key_ids(text: &str) -> Vec<Range<usize>> {
    let bytes = text.as_bytes();
    ["AKIA", "ASIA"]
        .iter()
        .flat_map(|prefix| text.match_indices(prefix))
        .map(|(at, _)| at..at + 20)
        .filter(|id| {
            id.end <= bytes.len()
                && starts_word(bytes, id.start)
                && !is_alnum_at(bytes, id.end)
                && bytes[id.start + 4..id.end]
                    .iter()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        })
        .collect()
}

/// `xoxa-`, `xoxb-`, `xoxp-`, `xoxr-` and the letters, digits and dashes after it.
fn slack_tokens(text: &str) -> Vec<Range<usize>> {
    let bytes = text.as_bytes();
    let mut spans: Vec<Range<usize>> = Vec::new();
    for (at, _) in text.match_indices("xox") {
        // `xoxb-xoxb-…` is one token: read once.
        let taken = spans.last().is_some_and(|last| at < last.end);
        if taken
            || !starts_word(bytes, at)
            || !matches!(bytes.get(at + 3), Some(b'a' | b'b' | b'p' | b'r'))
            || bytes.get(at + 4) != Some(&b'-')
        {
            continue;
        }
        let end = run_end(bytes, at + 5, |b| b.is_ascii_alphanumeric() || b == b'-');
        if end > at + 5 {
            spans.push(at..end);
        }
    }
    spans
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (what, input, expected)
    const REDACTED_CASES: &[(&str, &str, &str)] = &[
        (
            "access key id",
            "using key AKIAIOSFODNN7EXAMPLE for s3",
            "using key <redacted> for s3",
        ),
        (
            "temporary access key id",
            "AWS_ACCESS_KEY_ID=ASIAY34FZKBOKMUTVV7A",
            "AWS_ACCESS_KEY_ID=<redacted>",
        ),
        (
            "secret access key, key=value",
            "aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "aws_secret_access_key=<redacted>",
        ),
        (
            "secret access key, space separated",
            "aws_secret_access_key wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "aws_secret_access_key <redacted>",
        ),
        (
            "secret access key, aws configure prompt",
            "AWS Secret Access Key [None]: wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "AWS Secret Access Key [None]: <redacted>",
        ),
        (
            "secret access key, JSON",
            r#"{"AccessKeyId":"AKIAIOSFODNN7EXAMPLE","SecretAccessKey":"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}"#,
            r#"{"AccessKeyId":"<redacted>","SecretAccessKey":"<redacted>"}"#,
        ),
        (
            "authorization header, bearer",
            "GET /api Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln host=x",
            "GET /api Authorization: Bearer <redacted> host=x",
        ),
        (
            "authorization header, basic",
            "authorization=Basic dXNlcjpwYXNzd29yZA==",
            "authorization=Basic <redacted>",
        ),
        (
            "authorization header in JSON, short token",
            r#"headers={"Authorization": "Bearer abc"}"#,
            r#"headers={"Authorization": "Bearer <redacted>"}"#,
        ),
        (
            "authorization without a scheme",
            "Proxy-Authorization: 3f9a8b7c",
            "Proxy-Authorization: <redacted>",
        ),
        (
            "bare bearer token",
            "retrying with bearer ya29.a0AfH6SMBx3jK",
            "retrying with bearer <redacted>",
        ),
        (
            "slack bot token",
            "posting with xoxb-1234567890-0987654321-AbCdEfGhIjKlMnOp",
            "posting with <redacted>",
        ),
        (
            "slack user token",
            "token xoxp-1-2-3-abc",
            "token <redacted>",
        ),
        (
            "password in a URL",
            "connecting to postgres://app:hunter2@db.internal:5432/orders",
            "connecting to postgres://app:<redacted>@db.internal:5432/orders",
        ),
        (
            "password with an @ in a URL",
            "redis://:p@ss:w0rd@cache:6379",
            "redis://:<redacted>@cache:6379",
        ),
        (
            "token as a URL's user info",
            "cloning https://ghp_16C7e42F292c6912E7710c838347Ae178B4a@github.com/acme/app",
            "cloning https://<redacted>@github.com/acme/app",
        ),
        (
            "password=",
            "login failed user=admin password=hunter2 ip=10.0.0.1",
            "login failed user=admin password=<redacted> ip=10.0.0.1",
        ),
        (
            "query string token",
            "GET /callback?code=1&access_token=abc.def&state=x HTTP/1.1",
            "GET /callback?code=1&access_token=<redacted>&state=x HTTP/1.1",
        ),
        (
            "secret= with quotes and spaces",
            "client_secret = 'two words'",
            "client_secret = '<redacted>'",
        ),
        (
            "env var in upper case",
            "DB_PASSWORD=correct horse",
            "DB_PASSWORD=<redacted> horse",
        ),
        (
            "YAML password",
            "  password: hunter2",
            "  password: <redacted>",
        ),
        (
            "JSON password, letters only",
            r#"{"user":"app","password":"letmein"}"#,
            r#"{"user":"app","password":"<redacted>"}"#,
        ),
        (
            "JSON in a string",
            r#"msg="{\"token\":\"s3cr3t\",\"n\":1}""#,
            r#"msg="{\"token\":\"<redacted>\",\"n\":1}""#,
        ),
        (
            "ruby hash",
            r#"{:api_key => "k-123"}"#,
            r#"{:api_key => "<redacted>"}"#,
        ),
        (
            "header with a key",
            "X-Api-Key: 0123456789abcdef",
            "X-Api-Key: <redacted>",
        ),
        (
            "private key block on one line",
            r#"{"key":"-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----\n"}"#,
            r#"{"key":"-----BEGIN RSA PRIVATE KEY-----<redacted>-----END RSA PRIVATE KEY-----\n"}"#,
        ),
        (
            "private key block over lines",
            "loaded:\n-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nBKcwggSjAgEAAoIBAQC7\n-----END PRIVATE KEY-----\ndone",
            "loaded:\n-----BEGIN PRIVATE KEY-----<redacted>-----END PRIVATE KEY-----\ndone",
        ),
        (
            "private key block without its end",
            "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmU=\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\nstarting server",
            "-----BEGIN OPENSSH PRIVATE KEY-----<redacted>\nstarting server",
        ),
        (
            "private key block without its beginning",
            "Starting\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nBKcwggSjAgEAAoIBAQC7==\n-----END EC PRIVATE KEY-----",
            "Starting\n<redacted>-----END EC PRIVATE KEY-----",
        ),
        (
            "several shapes in one line",
            "AKIAIOSFODNN7EXAMPLE https://u:p4ss@h token=x xoxr-9",
            "<redacted> https://u:<redacted>@h token=<redacted> <redacted>",
        ),
    ];

    /// Text that looks a little like a secret but is not one: left exactly as it is.
    const KEPT_CASES: &[(&str, &str)] = &[
        (
            "git commit id",
            "deployed 3f786850e387550fdab836ed7e6dc881de23001b",
        ),
        ("short git sha", "build a1b2c3d of main"),
        (
            "uuid",
            "request 123e4567-e89b-12d3-a456-426614174000 failed",
        ),
        (
            "40-char hex",
            "etag 0123456789abcdef0123456789abcdef01234567",
        ),
        (
            "40-char base64 without the word secret",
            "digest wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        ),
        ("AKIA inside a longer word", "XAKIAIOSFODNN7EXAMPLE1"),
        ("AKIA with lower case", "AKIAiosfodnn7example"),
        ("role id, not a key", "AROAEXAMPLEID1234567"),
        ("prose token", "invalid token: expired"),
        ("prose password", "password: required"),
        ("bearer as a word", "Bearer token missing in request"),
        (
            "url without a password",
            "ssh://git@github.com/acme/app.git",
        ),
        (
            "plain url",
            "GET https://api.example.com/v1/orders?page=2 200",
        ),
        ("url with a port", "http://localhost:8080/health"),
        ("email address", "mail from ops@example.com"),
        ("token count", "max_tokens=4096 tokens=12"),
        ("working directory", "PWD=/app"),
        ("password field name alone", "missing field password"),
        ("already redacted", "password=<redacted> Bearer <redacted>"),
        (
            "a certificate",
            "-----BEGIN CERTIFICATE-----\nMIIDdzCCAl+gAwIBAgIEAgAAuTANBgkq",
        ),
        ("slack word", "xoxo hugs, xoxb without a dash"),
        ("non-ascii", "Zürich ümlaut token: ü ✓ 日本語"),
        (
            "secret ARN",
            "arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/db-2024-AbCdEf",
        ),
        (
            "ECS secrets error",
            "ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: unable to retrieve secret from asm: service call has been retried 1 time(s): AccessDeniedException: User is not authorized to perform: secretsmanager:GetSecretValue",
        ),
    ];

    #[test]
    fn every_secret_shape_is_redacted() {
        for (what, input, expected) in REDACTED_CASES {
            assert_eq!(redact(input), *expected, "{what}");
        }
    }

    #[test]
    fn look_alikes_are_kept() {
        for (what, input) in KEPT_CASES {
            assert_eq!(redact(input), *input, "{what}");
            assert!(matches!(redact(input), Cow::Borrowed(_)), "{what}");
        }
    }

    #[test]
    fn redacting_twice_changes_nothing_more() {
        for (what, input, _) in REDACTED_CASES {
            let once = redact(input).into_owned();
            assert_eq!(redact(&once), once, "{what}");
        }
    }

    #[test]
    fn multi_byte_text_around_secrets_survives() {
        assert_eq!(
            redact("日本 password=秘密の合言葉 ✓ AKIAIOSFODNN7EXAMPLE é"),
            "日本 password=<redacted> ✓ <redacted> é"
        );
        assert_eq!(
            redact("ü secret ü wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
            "ü secret ü <redacted>"
        );
    }

    #[test]
    fn truncated_text_never_panics() {
        // Every prefix of every case: a secret or a marker cut anywhere.
        for (_, input, _) in REDACTED_CASES {
            for (end, _) in input.char_indices() {
                let _ = redact(&input[..end]);
            }
        }
    }

    /// A queue message (256 KiB) of the worst repetitions: nothing may be quadratic. Linear
    /// work takes milliseconds here; quadratic took seconds (a `BEGIN` that is not a key made
    /// the search for the key's name read the rest of the text every time).
    #[test]
    fn hostile_input_takes_linear_time() {
        let size = 256 * 1024;
        let hostile = [
            "-----END X-----\n",
            "-----BEGIN CERTIFICATE-----\n",
            "-----BEGIN AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA ",
            "a://b",
            "password=\"",
            "Authorization: x ",
            "bearer ",
            "secret AKIA xoxb- ",
            "token=\\\"",
            "api_key: '",
            "Proxy-Authorization=\"Basic ",
            "-----END PRIVATE KEY-----\nQUFBQUFBQUFBQUFBQUFBQUFB\n",
            "-----BEGIN PRIVATE KEY-----\nQUFBQUFBQUFBQUFBQUFBQUFB\n",
            "https://u:p@",
            "secret wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY ",
            "password=",
            "token:",
            "password=<redacted>",
            "Authorization=",
            "xoxb-",
            "-----END PRIVATE KEY-----",
        ];
        let slow: Vec<String> = hostile
            .iter()
            .filter_map(|pattern| {
                let text = pattern.repeat(size / pattern.len());
                let started = std::time::Instant::now();
                let _ = redact(&text);
                let took = started.elapsed();
                (took.as_secs_f64() > 1.0).then(|| format!("{pattern:?}: {took:?}"))
            })
            .collect();
        assert!(slow.is_empty(), "{slow:#?}");
    }

    #[test]
    fn no_lines_stay_no_lines() {
        assert!(redact_lines::<&str>(&[]).is_empty());
        assert_eq!(redact_lines(&[""]), vec![String::new()]);
    }

    #[test]
    fn lines_are_redacted_together_then_capped() {
        let key = [
            "key follows",
            "-----BEGIN RSA PRIVATE KEY-----",
            "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo",
            "4lgOEePzNm0tRgeLezV6ffAt0gunVTLw7onL",
            "-----END RSA PRIVATE KEY-----",
        ];
        assert_eq!(
            redact_lines(&key),
            [
                "key follows",
                "-----BEGIN RSA PRIVATE KEY-----<redacted>-----END RSA PRIVATE KEY-----"
            ]
        );
        let long = format!("token={} {}", "x".repeat(300), "y".repeat(300));
        let lines = redact_lines(&[long.as_str(), "two\nlines"]);
        assert_eq!(lines.len(), 3);
        assert!(lines[0].starts_with("token=<redacted> yyy"), "{}", lines[0]);
        assert_eq!(lines[0].chars().count(), MAX_UNTRUSTED_LINE_CHARS);
        assert!(lines[0].ends_with('…'));
    }

    #[test]
    fn a_field_is_redacted_before_it_is_cut() {
        // The secret straddles the cut: cutting first would leave `password=hunt…` behind.
        let text = format!(
            "{} password=hunter2",
            "a".repeat(MAX_UNTRUSTED_FIELD_CHARS - 12)
        );
        let field = redact_field(&text);
        assert_eq!(field.chars().count(), MAX_UNTRUSTED_FIELD_CHARS);
        assert!(!field.contains("hunt"), "{field}");
    }
}
