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
        // Keys are the encoders' own plain names: `write_str` copies those in one go.
        write_str(self.out, key.as_bytes());
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
        write_text(self.out, value);
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

/// Appends `bytes` like `extend_from_slice`, but short values (most of a document's: addresses,
/// numbers, names) as one or two fixed-size copies that overlap, instead of a call to `memcpy`:
/// 8 to 16 bytes are the first 8 then the last 8 (the length cut back in between, so the second
/// copy lands over the end of the first). Longer values go to `extend_from_slice`.
#[inline(always)]
pub(crate) fn extend_short(out: &mut Vec<u8>, bytes: &[u8]) {
    let n = bytes.len();
    let start = out.len();
    if n > 32 {
        out.extend_from_slice(bytes);
    } else if n >= 16 {
        out.extend_from_slice(&fixed::<16>(bytes, 0));
        out.truncate(start + n - 16);
        out.extend_from_slice(&fixed::<16>(bytes, n - 16));
    } else if n >= 8 {
        out.extend_from_slice(&fixed::<8>(bytes, 0));
        out.truncate(start + n - 8);
        out.extend_from_slice(&fixed::<8>(bytes, n - 8));
    } else if n >= 4 {
        out.extend_from_slice(&fixed::<4>(bytes, 0));
        out.truncate(start + n - 4);
        out.extend_from_slice(&fixed::<4>(bytes, n - 4));
    } else {
        for &b in bytes {
            out.push(b);
        }
    }
}

/// Writes an unsigned integer in decimal, as `itoa` does. Below 10^8 the digits are built in a
/// register (first digit in the lowest byte) and stored with one 8-byte copy, the length then cut
/// back: no digit buffer in memory to copy from (whose bytewise stores would stall the read that
/// copies them out).
#[inline]
pub(crate) fn write_u64(out: &mut Vec<u8>, v: u64) {
    if v >= 100_000_000 {
        out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
        return;
    }
    let (mut v, mut word, mut n) = (v, 0u64, 0);
    loop {
        word = (word << 8) | (u64::from(b'0') + v % 10);
        v /= 10;
        n += 1;
        if v == 0 {
            break;
        }
    }
    let start = out.len();
    out.extend_from_slice(&word.to_le_bytes());
    out.truncate(start + n);
}

#[inline(always)]
fn fixed<const N: usize>(bytes: &[u8], at: usize) -> [u8; N] {
    bytes[at..at + N].try_into().expect("N bytes")
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
#[inline]
pub fn write_str(out: &mut Vec<u8>, bytes: &[u8]) {
    // Nearly every value is plain printable ASCII: checked and copied in one pass.
    if !write_if_clean(out, bytes) {
        write_str_slow(out, bytes, clean_prefix_len(bytes));
    }
}

/// `"bytes"` when the bytes are clean ([`is_clean`]), checked and copied in the same pass (16-byte
/// blocks, each checked then stored); `false`, with nothing written, otherwise.
#[inline]
pub(crate) fn write_if_clean(out: &mut Vec<u8>, bytes: &[u8]) -> bool {
    let n = bytes.len();
    if n < 16 {
        if clean_prefix_len(bytes) != n {
            return false;
        }
        write_clean(out, bytes);
        return true;
    }
    let start = out.len();
    out.reserve(n + 2);
    out.push(b'"');
    let mut at = 0;
    while at + 16 <= n {
        let block = block16(bytes, at);
        if !plain16(block) {
            out.truncate(start);
            return false;
        }
        out.extend_from_slice(block);
        at += 16;
    }
    if at < n {
        // The last 16 bytes, over the end of the blocks already copied.
        let block = block16(bytes, n - 16);
        if !plain16(block) {
            out.truncate(start);
            return false;
        }
        out.truncate(start + 1 + n - 16);
        out.extend_from_slice(block);
    }
    out.push(b'"');
    true
}

#[cold]
#[inline(never)]
fn write_str_slow(out: &mut Vec<u8>, bytes: &[u8], clean: usize) {
    out.reserve(bytes.len() + 2);
    out.push(b'"');
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

#[inline(always)]
fn plain(b: u8) -> bool {
    (0x20..0x80).contains(&b) && b != b'"' && b != b'\\'
}

/// Whether all of the (exactly 16) bytes are plain: one signed compare (`< 0x20` as `i8` is a
/// control byte or any byte >= 0x80) and two equalities per byte, OR-ed together; the compiler
/// turns it into a few vector instructions.
#[inline(always)]
fn plain16(chunk: &[u8; 16]) -> bool {
    let mut bad = 0u8;
    for &b in chunk {
        bad |= u8::from((b as i8) < 0x20) | u8::from(b == b'"') | u8::from(b == b'\\');
    }
    bad == 0
}

#[inline(always)]
fn block16(bytes: &[u8], at: usize) -> &[u8; 16] {
    bytes[at..at + 16].try_into().expect("16 bytes")
}

/// Whether all 8 bytes of the little-endian word are plain (bit tricks on one register).
#[inline(always)]
fn plain_word(w: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGH;
    // A byte < 0x20 (among those < 0x80; the others are caught by `w & HIGH`), `"`, `\\`.
    let control = w.wrapping_sub(ONES * 0x20) & !w & HIGH;
    let quote = zero(w ^ (ONES * u64::from(b'"')));
    let backslash = zero(w ^ (ONES * u64::from(b'\\')));
    (control | quote | backslash | (w & HIGH)) == 0
}

#[inline(always)]
fn word_at(bytes: &[u8], at: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(w)
}

/// Length of the leading run of printable ASCII other than `"` and `\\`. Whole strings are
/// checked in overlapping blocks (16 bytes, or two 8-byte words, or bytes below 8), so the usual
/// answer, "all of it", costs a few instructions; a string with something to escape is then
/// searched byte by byte.
#[inline]
fn clean_prefix_len(bytes: &[u8]) -> usize {
    let len = bytes.len();
    let all_plain = if len >= 16 {
        let mut at = 0;
        let mut ok = true;
        while at + 16 <= len {
            if !plain16(block16(bytes, at)) {
                ok = false;
                break;
            }
            at += 16;
        }
        // The tail as the last 16 bytes, overlapping checked ones.
        ok && (at == len || plain16(block16(bytes, len - 16)))
    } else if len >= 8 {
        plain_word(word_at(bytes, 0)) && plain_word(word_at(bytes, len - 8))
    } else {
        bytes.iter().fold(true, |ok, &b| ok & plain(b))
    };
    if all_plain {
        len
    } else {
        bytes.iter().position(|&b| !plain(b)).unwrap_or(len)
    }
}

/// Writes a [`Text`] as a JSON string: ALB's escapes undone (only when a backslash is there),
/// then JSON's applied; clean values (nearly all) are copied in one go.
#[inline]
pub fn write_text(out: &mut Vec<u8>, text: Text<'_>) {
    write_text_checked(out, text);
}

/// [`write_text`], telling whether the text was clean, i.e. written as it is: then any part of it
/// is clean too and can go through [`write_clean`] without a second look.
#[inline]
pub(crate) fn write_text_checked(out: &mut Vec<u8>, text: Text<'_>) -> bool {
    let raw = text.raw();
    if write_if_clean(out, raw) {
        true
    } else {
        write_text_unclean(out, text, clean_prefix_len(raw));
        false
    }
}

#[cold]
#[inline(never)]
fn write_text_unclean(out: &mut Vec<u8>, text: Text<'_>, clean: usize) {
    let raw = text.raw();
    if text.is_escaped() && raw[clean..].contains(&b'\\') {
        write_str(out, &text.bytes());
    } else {
        write_str_slow(out, raw, clean);
    }
}

/// Whether `bytes` go into a JSON string as they are: printable ASCII without `"` and `\`. For a
/// [`Text`] that also means no ALB escape to undo, so [`write_clean`] of the raw bytes writes
/// exactly what [`write_text`] would.
#[inline]
pub(crate) fn is_clean(bytes: &[u8]) -> bool {
    clean_prefix_len(bytes) == bytes.len()
}

/// `"bytes"` for bytes known to be clean ([`is_clean`], or a part of bytes that are): what
/// [`write_str`] and [`write_text`] write for them, without looking at them again.
#[inline]
pub(crate) fn write_clean(out: &mut Vec<u8>, bytes: &[u8]) {
    debug_assert!(is_clean(bytes), "{bytes:?}");
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    extend_short(out, bytes);
    out.push(b'"');
}

/// Whether `part` lies within `whole` (a sub-slice of it): parts of clean bytes are clean.
#[inline]
pub(crate) fn is_within(part: &[u8], whole: &[u8]) -> bool {
    let (p, w) = (part.as_ptr_range(), whole.as_ptr_range());
    w.start <= p.start && p.end <= w.end
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
    // Timings are milliseconds (`0.001`): when the value is the double nearest to m/1000, the
    // shortest decimal that reads back as it is m/1000 itself (any other decimal with at most
    // three fraction digits is 0.001 away, far beyond one ulp below 1e6), which is what `ryu`
    // prints: write it directly.
    if value.is_sign_positive() && value < 1e6 {
        // Nearest whole millisecond as `x + 0.5` truncated (`round` is a library call on x86-64
        // without SSE4.1); if that is ever one off (ties, `x + 0.5` rounding up), the check below
        // fails and `ryu` writes the value, the same bytes.
        let m = (value * 1000.0 + 0.5) as u64;
        if m as f64 / 1000.0 == value {
            write_u64(out, m / 1000);
            let frac = (m % 1000) as u32;
            // `.ddd` as one little-endian word.
            let digits = u32::from(b'.')
                | (u32::from(b'0') + frac / 100) << 8
                | (u32::from(b'0') + frac / 10 % 10) << 16
                | (u32::from(b'0') + frac % 10) << 24;
            // `.0` for whole numbers, otherwise trailing zeros dropped.
            let len = if frac.is_multiple_of(100) {
                2
            } else if frac.is_multiple_of(10) {
                3
            } else {
                4
            };
            let start = out.len();
            out.extend_from_slice(&digits.to_le_bytes());
            out.truncate(start + len);
            return;
        }
    }
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

    /// The plain definition of the output: lossy UTF-8, then every character escaped as needed.
    fn write_str_reference(out: &mut Vec<u8>, bytes: &[u8]) {
        out.push(b'"');
        for c in String::from_utf8_lossy(bytes).chars() {
            match c {
                '"' => out.extend_from_slice(b"\\\""),
                '\\' => out.extend_from_slice(b"\\\\"),
                '\n' => out.extend_from_slice(b"\\n"),
                '\r' => out.extend_from_slice(b"\\r"),
                '\t' => out.extend_from_slice(b"\\t"),
                c if (c as u32) < 0x20 => {
                    out.extend_from_slice(format!("\\u{:04x}", c as u32).as_bytes())
                }
                c => out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes()),
            }
        }
        out.push(b'"');
    }

    #[test]
    fn write_str_matches_the_reference_on_generated_bytes() {
        const ALPHABET: &[u8] =
            b"aZ09 /:-x\\\\\"\\\n\t\x00\x1f\x7f\x80\xbf\xc3\xa9\xe2\x9c\x93\xf0\x9f\x98\x80\xff";
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let (mut fast, mut reference) = (Vec::new(), Vec::new());
        for n in 0..20_000 {
            let len = n % 40;
            let mut bytes = Vec::with_capacity(len);
            for _ in 0..len {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                // Mostly plain bytes, so that clean runs of every length end in every position.
                let b = if state.is_multiple_of(4) {
                    ALPHABET[(state >> 8) as usize % ALPHABET.len()]
                } else {
                    b'a' + (state >> 8) as u8 % 26
                };
                bytes.push(b);
            }
            fast.clear();
            reference.clear();
            write_str(&mut fast, &bytes);
            write_str_reference(&mut reference, &bytes);
            assert_eq!(fast, reference, "{bytes:?}");
            fast.clear();
            write_text(&mut fast, Text::literal(&bytes));
            assert_eq!(fast, reference, "literal {bytes:?}");
            fast.clear();
            reference.clear();
            write_text(&mut fast, Text::escaped(&bytes));
            write_str_reference(&mut reference, &crate::tokenize::unescape(&bytes));
            assert_eq!(fast, reference, "escaped {bytes:?}");
        }
    }

    #[test]
    fn block_copies_match_the_reference_at_every_length() {
        // Clean strings of every length, then the same with one byte to escape at every position:
        // the fused check-and-copy, the overlapping copies and their fallbacks.
        const SPECIAL: &[u8] = b"\"\\\n\x00\x1f\x80\xc3\xff";
        let (mut fast, mut reference) = (Vec::new(), Vec::new());
        for len in 0..200usize {
            let clean: Vec<u8> = (0..len).map(|i| b' ' + (i * 7 % 95) as u8).collect();
            let clean: Vec<u8> = clean
                .into_iter()
                .map(|b| if b == b'"' || b == b'\\' { b'x' } else { b })
                .collect();
            for (at, special) in std::iter::once((usize::MAX, 0))
                .chain((0..len).map(|at| (at, SPECIAL[at % SPECIAL.len()])))
            {
                let mut bytes = clean.clone();
                if at != usize::MAX {
                    bytes[at] = special;
                }
                reference.clear();
                write_str_reference(&mut reference, &bytes);
                // Something before, so that offsets in `out` are not all zero.
                fast.clear();
                fast.extend_from_slice(b"[");
                write_str(&mut fast, &bytes);
                assert_eq!(&fast[1..], &reference[..], "{bytes:?}");
                fast.truncate(1);
                let written = write_if_clean(&mut fast, &bytes);
                assert_eq!(written, is_clean(&bytes), "{bytes:?}");
                if written {
                    assert_eq!(&fast[1..], &reference[..], "{bytes:?}");
                    fast.truncate(1);
                    write_clean(&mut fast, &bytes);
                    assert_eq!(&fast[1..], &reference[..], "{bytes:?}");
                } else {
                    assert_eq!(fast, b"[", "nothing written for {bytes:?}");
                }
                fast.truncate(1);
                extend_short(&mut fast, &bytes);
                assert_eq!(&fast[1..], &bytes[..]);
            }
        }
    }

    #[test]
    fn write_u64_matches_itoa() {
        let mut out = Vec::new();
        let mut check = |v: u64| {
            out.clear();
            out.extend_from_slice(b"x");
            write_u64(&mut out, v);
            assert_eq!(&out[1..], itoa::Buffer::new().format(v).as_bytes(), "{v}");
        };
        for v in 0..1_000_000 {
            check(v);
        }
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..1_000_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            // Every number of digits.
            check(state >> (state % 64));
        }
        for p in 0..20 {
            let v = 10u64.pow(p);
            check(v - 1);
            check(v);
            check(v + 1);
        }
        check(u64::MAX);
    }

    #[test]
    fn write_f64_matches_ryu() {
        let check = |v: f64| {
            let mut out = Vec::new();
            write_f64(&mut out, v);
            let want = ryu::Buffer::new().format_finite(v).to_string();
            assert_eq!(String::from_utf8(out).unwrap(), want, "{v:e}");
        };
        for m in 0..2_000_000u64 {
            check(m as f64 / 1000.0);
            check(format!("{}.{:03}", m / 1000, m % 1000).parse().unwrap());
        }
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..200_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            // Every magnitude, and values near whole milliseconds.
            check(f64::from_bits(state >> 2));
            let ms = (state % 2_000_000_000) as f64 / 1000.0;
            check(ms);
            check(ms + 1e-9);
            check(f64::from_bits(ms.to_bits() + 1));
            check(f64::from_bits(ms.to_bits().saturating_sub(1)));
            check(-ms);
        }
        for v in [
            0.0,
            -0.0,
            1.0,
            0.5,
            1e6,
            999_999.999,
            1e6 - 1e-9,
            1e-3,
            1e-4,
            123.456,
        ] {
            check(v);
        }
        let mut out = Vec::new();
        write_f64(&mut out, f64::NAN);
        write_f64(&mut out, f64::INFINITY);
        assert_eq!(out, b"nullnull");
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
