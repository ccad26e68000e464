//! A small JSON object writer into `Vec<u8>`: no intermediate values, nested objects opened lazily
//! so that an object whose members are all absent is never written (ECS omits absent values).

use std::borrow::Cow;

use crate::time::Timestamp;
use crate::tokenize::Text;

/// Deepest nesting the encoders use is 6 (`aws.elb.backend.http.response.status_code`).
const MAX_DEPTH: usize = 8;

#[derive(Clone, Copy)]
struct Frame {
    key: &'static str,
    /// Whether `{` (and the key) has been written.
    opened: bool,
    /// Whether a member has been written (the next one needs a comma).
    has_members: bool,
}

const ROOT: Frame = Frame {
    key: "",
    opened: true,
    has_members: false,
};

/// Writes one JSON object. Create with [`JsonWriter::new`], finish with [`JsonWriter::finish`].
pub struct JsonWriter<'o> {
    out: &'o mut Vec<u8>,
    frames: [Frame; MAX_DEPTH],
    depth: usize,
    /// How many frames at the top of the stack are begun but not yet written (always a suffix:
    /// writing a member opens every pending parent).
    pending: usize,
}

impl<'o> JsonWriter<'o> {
    pub fn new(out: &'o mut Vec<u8>) -> Self {
        out.push(b'{');
        JsonWriter {
            out,
            frames: [ROOT; MAX_DEPTH],
            depth: 0,
            pending: 0,
        }
    }

    /// Starts a nested object; it is written only if a member is written before [`Self::end`].
    pub fn begin(&mut self, key: &'static str) {
        assert!(
            self.depth + 1 < MAX_DEPTH,
            "JSON nesting deeper than the encoders use"
        );
        self.depth += 1;
        self.frames[self.depth] = Frame {
            key,
            opened: false,
            has_members: false,
        };
        self.pending += 1;
    }

    pub fn end(&mut self) {
        if self.frames[self.depth].opened {
            self.out.push(b'}');
        } else {
            self.pending -= 1;
        }
        self.depth -= 1;
    }

    /// Closes the root object.
    pub fn finish(self) {
        debug_assert_eq!(self.depth, 0, "unbalanced begin/end");
        self.out.push(b'}');
    }

    /// Writes `"key":` after opening pending parents and the comma.
    fn key(&mut self, key: &str) {
        if self.pending > 0 {
            for d in self.depth + 1 - self.pending..=self.depth {
                let k = self.frames[d].key;
                self.member_prefix(d - 1, k);
                self.out.push(b'{');
                self.frames[d].opened = true;
            }
            self.pending = 0;
        }
        self.member_prefix(self.depth, key);
    }

    fn member_prefix(&mut self, depth: usize, key: &str) {
        if self.frames[depth].has_members {
            self.out.push(b',');
        }
        self.frames[depth].has_members = true;
        // Keys are nearly always the encoders' own plain names: copy those without the escaper.
        if key
            .bytes()
            .all(|b| (0x20..0x80).contains(&b) && b != b'"' && b != b'\\')
        {
            self.out.push(b'"');
            self.out.extend_from_slice(key.as_bytes());
            self.out.push(b'"');
        } else {
            write_str(self.out, key.as_bytes());
        }
        self.out.push(b':');
    }

    pub fn str(&mut self, key: &str, value: &str) {
        self.key(key);
        write_str(self.out, value.as_bytes());
    }

    pub fn bytes(&mut self, key: &str, value: &[u8]) {
        self.key(key);
        write_str(self.out, value);
    }

    pub fn text(&mut self, key: &str, value: Text<'_>) {
        self.key(key);
        write_str(self.out, &value.bytes());
    }

    pub fn opt_text(&mut self, key: &str, value: Option<Text<'_>>) {
        if let Some(v) = value {
            self.text(key, v);
        }
    }

    /// `null` when absent (flat and Vector-style output keep every key).
    pub fn text_or_null(&mut self, key: &str, value: Option<Text<'_>>) {
        match value {
            Some(v) => self.text(key, v),
            None => self.null(key),
        }
    }

    pub fn timestamp(&mut self, key: &str, value: Timestamp<'_>) {
        self.str(key, value.as_str());
    }

    pub fn null(&mut self, key: &str) {
        self.key(key);
        self.out.extend_from_slice(b"null");
    }

    pub fn u64(&mut self, key: &str, value: u64) {
        self.key(key);
        self.out
            .extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
    }

    pub fn i64(&mut self, key: &str, value: i64) {
        self.key(key);
        self.out
            .extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
    }

    /// A float; non-finite values (never produced by the parser) become `null`.
    pub fn f64(&mut self, key: &str, value: f64) {
        self.key(key);
        write_f64(self.out, value);
    }

    pub fn opt_u64(&mut self, key: &str, value: Option<u64>) {
        if let Some(v) = value {
            self.u64(key, v);
        }
    }

    pub fn opt_f64(&mut self, key: &str, value: Option<f64>) {
        if let Some(v) = value {
            self.f64(key, v);
        }
    }

    pub fn u64_or_null(&mut self, key: &str, value: Option<u64>) {
        match value {
            Some(v) => self.u64(key, v),
            None => self.null(key),
        }
    }

    pub fn f64_or_null(&mut self, key: &str, value: Option<f64>) {
        match value {
            Some(v) => self.f64(key, v),
            None => self.null(key),
        }
    }

    /// An array of strings. With `keep_empty` false an empty list writes nothing.
    pub fn str_list<'t, I>(&mut self, key: &str, items: I, keep_empty: bool)
    where
        I: IntoIterator<Item = Cow<'t, [u8]>>,
    {
        let mut items = items.into_iter().peekable();
        if items.peek().is_none() && !keep_empty {
            return;
        }
        self.key(key);
        self.out.push(b'[');
        for (i, item) in items.enumerate() {
            if i > 0 {
                self.out.push(b',');
            }
            write_str(self.out, &item);
        }
        self.out.push(b']');
    }
}

/// `true` for bytes that cannot appear raw inside a JSON string.
const fn needs_escape_table() -> [bool; 256] {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = true;
        i += 1;
    }
    t[b'"' as usize] = true;
    t[b'\\' as usize] = true;
    t
}
static NEEDS_ESCAPE: [bool; 256] = needs_escape_table();

/// Writes `bytes` as a JSON string. Invalid UTF-8 becomes U+FFFD (one per invalid sequence), so
/// the output is always valid JSON whatever the log held.
pub fn write_str(out: &mut Vec<u8>, bytes: &[u8]) {
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    // Most values are plain printable ASCII: copy that prefix in one go.
    let clean = clean_prefix_len(bytes);
    out.extend_from_slice(&bytes[..clean]);
    let rest = &bytes[clean..];
    if rest.is_ascii() {
        write_escaped_utf8(out, rest);
    } else {
        // The clean prefix is ASCII, so `rest` starts on a character boundary.
        for chunk in rest.utf8_chunks() {
            write_escaped_utf8(out, chunk.valid().as_bytes());
            if !chunk.invalid().is_empty() {
                out.extend_from_slice("\u{FFFD}".as_bytes());
            }
        }
    }
    out.push(b'"');
}

/// Length of the leading run of 8-byte words holding only printable ASCII other than `"` and
/// `\` (checked a word at a time); the rest goes through the byte-wise path.
fn clean_prefix_len(bytes: &[u8]) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let has_zero_byte = |v: u64| v.wrapping_sub(ONES) & !v & HIGH;
    let mut n = 0;
    for chunk in bytes.chunks_exact(8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let w = u64::from_le_bytes(word);
        // Any byte < 0x20, == '"', == '\', or >= 0x80 needs the slow path.
        let control = w.wrapping_sub(ONES * 0x20) & !w & HIGH;
        let quote = has_zero_byte(w ^ (ONES * u64::from(b'"')));
        let backslash = has_zero_byte(w ^ (ONES * u64::from(b'\\')));
        if (control | quote | backslash | (w & HIGH)) != 0 {
            break;
        }
        n += 8;
    }
    n
}

/// Escapes valid UTF-8 (only ASCII control bytes, `"` and `\` need it).
fn write_escaped_utf8(out: &mut Vec<u8>, s: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut start = 0;
    for (i, &b) in s.iter().enumerate() {
        if !NEEDS_ESCAPE[b as usize] {
            continue;
        }
        out.extend_from_slice(&s[start..i]);
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            _ => out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[(b >> 4) as usize],
                HEX[(b & 15) as usize],
            ]),
        }
        start = i + 1;
    }
    out.extend_from_slice(&s[start..]);
}

pub fn write_f64(out: &mut Vec<u8>, value: f64) {
    if value.is_finite() {
        out.extend_from_slice(ryu::Buffer::new().format_finite(value).as_bytes());
    } else {
        out.extend_from_slice(b"null");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_escaped_and_lossy() {
        let cases: &[(&[u8], &str)] = &[
            (b"plain", "plain"),
            (b"q\"b\\s", "q\"b\\s"),
            (b"\x00\x1f\n\t\r", "\u{0}\u{1f}\n\t\r"),
            ("café ✓".as_bytes(), "café ✓"),
            (b"bad \xff\xfe end", "bad \u{fffd}\u{fffd} end"),
            (b"cut \xe2\x9c", "cut \u{fffd}"),
            (b"\x7f", "\u{7f}"),
        ];
        for (input, want) in cases {
            let mut out = Vec::new();
            write_str(&mut out, input);
            let parsed: String = serde_json::from_slice(&out)
                .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out)));
            assert_eq!(parsed, *want);
        }
    }

    #[test]
    fn empty_nested_objects_are_not_written() {
        let mut out = Vec::new();
        let mut w = JsonWriter::new(&mut out);
        w.begin("a");
        w.begin("b");
        w.end();
        w.end();
        w.begin("c");
        w.begin("d");
        w.u64("n", 1);
        w.end();
        w.f64("f", 0.5);
        w.end();
        w.opt_u64("absent", None);
        w.null("z");
        w.str_list("empty", std::iter::empty(), false);
        w.str_list("kept", std::iter::empty(), true);
        w.u64("odd \"key\"", 2);
        w.finish();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#"{"c":{"d":{"n":1},"f":0.5},"z":null,"kept":[],"odd \"key\"":2}"#
        );
    }
}
