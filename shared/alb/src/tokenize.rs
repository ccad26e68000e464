//! Quote-aware splitting of one log line into fields, without copying.
//!
//! Fields are separated by single spaces. A field that starts with `"` runs to the matching
//! unescaped `"`; inside quotes ALB escapes `"` as `\"`, `\` as `\\` and non-printable bytes as
//! `\xHH`. Escapes are left in place while splitting and undone only when a caller asks for the
//! value ([`Text::bytes`], [`Text::to_str_lossy`]), so the common path allocates nothing.

use std::borrow::Cow;

use memchr::{memchr, memchr2};

use crate::error::ParseError;

/// One field of a line: the bytes between the quotes for a quoted field, the whole token otherwise.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Token<'a> {
    raw: &'a [u8],
    quoted: bool,
    start: usize,
    end: usize,
}

impl<'a> Token<'a> {
    /// The field's bytes as they are in the line (escapes not undone, quotes removed).
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }

    /// Whether the field was written as `"..."`.
    pub fn is_quoted(&self) -> bool {
        self.quoted
    }

    /// Whether the field is the "no value" marker `-` (quoted or not).
    pub fn is_dash(&self) -> bool {
        self.raw == b"-"
    }

    /// The field as text; escapes are undone on demand for quoted fields only.
    pub fn text(&self) -> Text<'a> {
        Text {
            raw: self.raw,
            escaped: self.quoted,
        }
    }

    /// The field as text, or `None` when it is `-`.
    pub fn value(&self) -> Option<Text<'a>> {
        if self.is_dash() {
            None
        } else {
            Some(self.text())
        }
    }

    /// Byte offsets of the whole token in the line, quotes included.
    pub(crate) fn span(&self) -> (usize, usize) {
        (self.start, self.end)
    }
}

/// A string value borrowed from the line. `escaped` says whether ALB's backslash escapes apply
/// (only inside quoted fields); undoing them allocates only when a backslash is present.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Text<'a> {
    raw: &'a [u8],
    escaped: bool,
}

impl<'a> Text<'a> {
    /// Text whose bytes are taken literally (no escapes to undo).
    pub fn literal(raw: &'a [u8]) -> Self {
        Text {
            raw,
            escaped: false,
        }
    }

    /// Text as found inside a quoted field (escapes to undo).
    pub fn escaped(raw: &'a [u8]) -> Self {
        Text { raw, escaped: true }
    }

    /// The bytes as they are in the line.
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }

    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    /// Whether ALB's backslash escapes apply (the text came from a quoted field).
    pub(crate) fn is_escaped(&self) -> bool {
        self.escaped
    }

    /// The value with escapes undone. Borrowed unless the field held a backslash.
    pub fn bytes(&self) -> Cow<'a, [u8]> {
        if self.escaped {
            unescape(self.raw)
        } else {
            Cow::Borrowed(self.raw)
        }
    }

    /// The value as a string; invalid UTF-8 becomes U+FFFD. Borrowed in the common case.
    pub fn to_str_lossy(&self) -> Cow<'a, str> {
        match self.bytes() {
            Cow::Borrowed(b) => String::from_utf8_lossy(b),
            Cow::Owned(v) => match String::from_utf8(v) {
                Ok(s) => Cow::Owned(s),
                Err(e) => Cow::Owned(String::from_utf8_lossy(e.as_bytes()).into_owned()),
            },
        }
    }

    /// A sub-range of this text (same escaping). Callers split only at ASCII bytes that are never
    /// part of an escape (space, `/`, `?`, `:`, ...), so escapes are never cut in half.
    pub(crate) fn slice(&self, range: std::ops::Range<usize>) -> Text<'a> {
        Text {
            raw: &self.raw[range],
            escaped: self.escaped,
        }
    }

    /// The text without leading and trailing spaces (the SNI field has been seen with one).
    pub fn trim_spaces(&self) -> Text<'a> {
        let mut raw = self.raw;
        while let [b' ', rest @ ..] = raw {
            raw = rest;
        }
        while let [rest @ .., b' '] = raw {
            raw = rest;
        }
        Text {
            raw,
            escaped: self.escaped,
        }
    }

    /// The value split at `sep` (an ASCII byte), empty pieces skipped.
    pub fn split(self, sep: u8) -> impl Iterator<Item = Text<'a>> + 'a {
        let escaped = self.escaped;
        self.raw
            .split(move |&b| b == sep)
            .filter(|piece| !piece.is_empty())
            .map(move |raw| Text { raw, escaped })
    }
}

/// Splits a line into [`Token`]s. `Copy`, so a parser can look ahead by copying it.
#[derive(Clone, Copy, Debug)]
pub struct Tokenizer<'a> {
    line: &'a [u8],
    pos: usize,
    done: bool,
}

impl<'a> Tokenizer<'a> {
    pub fn new(line: &'a [u8]) -> Self {
        Tokenizer {
            line,
            pos: 0,
            done: line.is_empty(),
        }
    }

    /// The part of the line not yet split (empty when all fields were taken).
    pub fn rest(&self) -> &'a [u8] {
        if self.done {
            &[]
        } else {
            &self.line[self.pos..]
        }
    }

    /// The next field, `Ok(None)` at the end of the line.
    #[inline(always)]
    pub fn next_token(&mut self) -> Result<Option<Token<'a>>, ParseError> {
        if self.done {
            return Ok(None);
        }
        let line = self.line;
        let start = self.pos;
        let end = if line.get(start) == Some(&b'"') {
            // `"-"` (no value) is a third of an access line's quoted fields: no search for it.
            let close = if line.get(start + 1..start + 3) == Some(b"-\"") {
                start + 2
            } else {
                find_closing_quote(line, start + 1)?
            };
            if close + 1 == line.len() || line[close + 1] == b' ' {
                self.advance_to(close + 1);
                return Ok(Some(Token {
                    raw: &line[start + 1..close],
                    quoted: true,
                    start,
                    end: close + 1,
                }));
            }
            // A quoted run glued to more text (NLB's `"h2","http/1.1"`): one token up to the next
            // space outside quotes.
            compound_end(line, close + 1)?
        } else {
            find_space(line, start)
        };
        self.advance_to(end);
        Ok(Some(Token {
            raw: &line[start..end],
            quoted: false,
            start,
            end,
        }))
    }

    /// Moves past the token that ended at `end` and its separator. A single trailing space at the
    /// end of the line ends the line instead of producing an empty last field.
    fn advance_to(&mut self, end: usize) {
        if end + 1 >= self.line.len() {
            self.done = true;
            self.pos = self.line.len();
        } else {
            self.pos = end + 1;
        }
    }
}

const ONES: u64 = 0x0101_0101_0101_0101;

/// The high bit of each byte of `w` that is zero is set; the lowest set bit is exact (higher ones
/// may be false positives from the borrow, never looked at).
#[inline(always)]
fn zero_bytes(w: u64) -> u64 {
    w.wrapping_sub(ONES) & !w & (ONES * 0x80)
}

/// Index of the first byte at or after `from` that is `a` or `b`, or `None`. Fields are mostly
/// short, where `memchr`'s setup costs more than the search: the first 32 bytes are searched a word
/// at a time, the rest with `memchr2`.
#[inline(always)]
fn find2(line: &[u8], from: usize, a: u8, b: u8) -> Option<usize> {
    let mut i = from;
    loop {
        let Some(word) = line.get(i..i + 8) else {
            let rest = line.get(i..).unwrap_or_default();
            return rest.iter().position(|&c| c == a || c == b).map(|p| i + p);
        };
        if i >= from + 32 {
            return memchr2(a, b, &line[i..]).map(|p| i + p);
        }
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(word);
        let w = u64::from_le_bytes(bytes);
        let z = zero_bytes(w ^ (ONES * u64::from(a))) | zero_bytes(w ^ (ONES * u64::from(b)));
        if z != 0 {
            return Some(i + (z.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
}

/// Index of the first space at or after `from`, or the line's length.
#[inline]
fn find_space(line: &[u8], from: usize) -> usize {
    find2(line, from, b' ', b' ').unwrap_or(line.len())
}

/// Index of the `"` closing a quoted run whose content starts at `from`. Straight to `memchr2`:
/// the quoted fields that are not `"-"` (which `next_token` takes without a search) are mostly long
/// (request, user agent, ARNs), where a word-at-a-time prefix only delays it (measured).
fn find_closing_quote(line: &[u8], from: usize) -> Result<usize, ParseError> {
    let mut i = from;
    loop {
        let at = i.min(line.len());
        match memchr2(b'"', b'\\', &line[at..]).map(|p| at + p) {
            None => return Err(ParseError::UnterminatedQuote { at: from - 1 }),
            Some(at) => {
                if line[at] == b'"' {
                    return Ok(at);
                }
                // A backslash escapes the next byte, whatever it is.
                i = at + 2;
                if i > line.len() {
                    return Err(ParseError::UnterminatedQuote { at: from - 1 });
                }
            }
        }
    }
}

/// End of a token that mixes quoted runs and plain bytes, scanning from `from`.
fn compound_end(line: &[u8], from: usize) -> Result<usize, ParseError> {
    let mut i = from;
    loop {
        match memchr2(b' ', b'"', &line[i..]) {
            None => return Ok(line.len()),
            Some(off) if line[i + off] == b' ' => return Ok(i + off),
            Some(off) => {
                let close = find_closing_quote(line, i + off + 1)?;
                i = close + 1;
            }
        }
    }
}

/// Undoes ALB's escapes: `\"`, `\\` and `\xHH`. Any other backslash is kept as it is, so no input
/// is ever rejected.
pub fn unescape(raw: &[u8]) -> Cow<'_, [u8]> {
    let Some(first) = memchr(b'\\', raw) else {
        return Cow::Borrowed(raw);
    };
    let mut out = Vec::with_capacity(raw.len());
    out.extend_from_slice(&raw[..first]);
    let mut i = first;
    while i < raw.len() {
        let b = raw[i];
        if b != b'\\' {
            // Copy the plain run up to the next backslash in one go.
            let run = memchr(b'\\', &raw[i..]).map_or(raw.len(), |o| i + o);
            out.extend_from_slice(&raw[i..run]);
            i = run;
            continue;
        }
        match raw.get(i + 1) {
            Some(&c @ (b'"' | b'\\')) => {
                out.push(c);
                i += 2;
            }
            Some(b'x') => match (
                raw.get(i + 2).and_then(|&h| hex_value(h)),
                raw.get(i + 3).and_then(|&l| hex_value(l)),
            ) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 4;
                }
                _ => {
                    out.push(b'\\');
                    i += 1;
                }
            },
            _ => {
                out.push(b'\\');
                i += 1;
            }
        }
    }
    Cow::Owned(out)
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Escapes bytes the way ALB does inside a quoted field (the inverse of [`unescape`]); used to
/// build fixture lines and by the round-trip property test.
pub fn escape_into(bytes: &[u8], out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for &b in bytes {
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            0x20..=0x7e => out.push(b),
            _ => out.extend_from_slice(&[
                b'\\',
                b'x',
                HEX[(b >> 4) as usize],
                HEX[(b & 15) as usize],
            ]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(line: &str) -> Vec<(String, bool)> {
        let mut t = Tokenizer::new(line.as_bytes());
        let mut v = Vec::new();
        while let Some(tok) = t.next_token().unwrap() {
            v.push((
                String::from_utf8_lossy(tok.raw()).into_owned(),
                tok.is_quoted(),
            ));
        }
        v
    }

    #[test]
    fn splits_plain_and_quoted_fields() {
        let cases: &[(&str, &[(&str, bool)])] = &[
            ("a b c", &[("a", false), ("b", false), ("c", false)]),
            (r#"a "b c" d"#, &[("a", false), ("b c", true), ("d", false)]),
            (r#""" "-" x"#, &[("", true), ("-", true), ("x", false)]),
            (r#""a \"q\" b" z"#, &[(r#"a \"q\" b"#, true), ("z", false)]),
            (
                r#""ends in \\" z"#,
                &[(r#"ends in \\"#, true), ("z", false)],
            ),
            (
                r#"x "h2","http/1.1" y"#,
                &[("x", false), (r#""h2","http/1.1""#, false), ("y", false)],
            ),
            ("a  b", &[("a", false), ("", false), ("b", false)]),
            // `"-"` has a shortcut; what only starts like it does not take it.
            (r#""-" "-x" "-""#, &[("-", true), ("-x", true), ("-", true)]),
            (r#""-""#, &[("-", true)]),
            (r#""-"x "#, &[(r#""-"x"#, false)]),
            (r#""-\"" x"#, &[(r#"-\""#, true), ("x", false)]),
            ("a b ", &[("a", false), ("b", false)]),
            ("", &[]),
        ];
        for (line, want) in cases {
            let want: Vec<(String, bool)> = want.iter().map(|(s, q)| (s.to_string(), *q)).collect();
            assert_eq!(tokens(line), want, "line {line:?}");
        }
    }

    #[test]
    fn word_search_matches_a_plain_search() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for n in 0..20_000usize {
            let len = n % 80;
            let line: Vec<u8> = (0..len)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    // Rare hits, so that matches land at every distance and across words.
                    match state % 23 {
                        0 => b' ',
                        1 => b'"',
                        2 => b'\\',
                        3 => 0x80 | (state >> 8) as u8,
                        _ => b'a' + (state >> 8) as u8 % 26,
                    }
                })
                .collect();
            for from in 0..=len {
                let want = line[from..]
                    .iter()
                    .position(|&c| c == b'"' || c == b'\\')
                    .map(|p| from + p);
                assert_eq!(find2(&line, from, b'"', b'\\'), want, "{line:?} {from}");
                let space = line[from..]
                    .iter()
                    .position(|&c| c == b' ')
                    .map_or(len, |p| from + p);
                assert_eq!(find_space(&line, from), space, "{line:?} {from}");
            }
        }
    }

    #[test]
    fn unterminated_quotes_are_errors() {
        for line in [
            r#"a "b c"#,
            r#"a "b\"#,
            r#""\"#,
            r#"x "a"b"c"#,
            r#"x "-"#,
            r#""-\""#,
        ] {
            let mut t = Tokenizer::new(line.as_bytes());
            let mut result = Ok(Some(()));
            while let Ok(Some(_)) = result {
                result = t.next_token().map(|o| o.map(|_| ()));
            }
            assert!(
                matches!(result, Err(ParseError::UnterminatedQuote { .. })),
                "{line:?}: {result:?}"
            );
        }
    }

    #[test]
    fn unescape_handles_all_escapes_and_keeps_unknown_ones() {
        let cases: &[(&[u8], &[u8])] = &[
            (b"plain", b"plain"),
            (br#"a\"b"#, br#"a"b"#),
            (br"a\\b", br"a\b"),
            (br"\x00\x7F\xff\xC3\xA9", b"\x00\x7f\xff\xc3\xa9"),
            (br"\q", br"\q"),
            (br"\x4", br"\x4"),
            (br"\xzz", br"\xzz"),
            (br"end\", br"end\"),
        ];
        for (raw, want) in cases {
            assert_eq!(&*unescape(raw), *want, "{:?}", String::from_utf8_lossy(raw));
        }
        assert!(matches!(unescape(b"no escapes"), Cow::Borrowed(_)));
    }

    #[test]
    fn text_is_lossy_only_when_asked() {
        let t = Text::escaped(br"caf\xc3\xa9 \xff");
        assert_eq!(t.to_str_lossy(), "café \u{fffd}");
        let t = Text::literal(b"ok");
        assert!(matches!(t.to_str_lossy(), Cow::Borrowed("ok")));
        assert_eq!(Text::literal(b"  x ").trim_spaces().raw(), b"x");
    }
}
