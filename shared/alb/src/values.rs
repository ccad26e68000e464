//! Small typed values shared by every log kind: addresses, seconds, counters, the request line.

use memchr::memchr;

use crate::error::ParseError;
use crate::tokenize::{Text, Token};
use crate::url::UrlParts;

/// `ip:port`. IPv6 appears unbracketed (`2001:db8::1:443`, split at the last `:`) or bracketed
/// (`[2001:db8::1]:443`); `ip` never carries the brackets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HostPort<'a> {
    pub ip: &'a str,
    pub port: Option<u16>,
    /// The field as written (Vector's `client_host` / `target_host` keep it so).
    pub raw: &'a str,
}

impl<'a> HostPort<'a> {
    /// Parses `ip:port`, `[ip]:port`, or a bare `ip`; `None` when it is none of those.
    pub fn parse(raw: &'a [u8]) -> Option<Self> {
        // One pass for both questions: any byte >= 0x80 (bit 0), any space (bit 1)?
        let mut seen = 0u8;
        for &b in raw {
            seen |= (b >> 7) | u8::from(b == b' ') << 1;
        }
        if raw.is_empty() || seen & 2 != 0 {
            return None;
        }
        let raw_str = if seen == 0 {
            // SAFETY: no byte >= 0x80: ASCII, which is valid UTF-8. Addresses are ASCII: checking
            // that inline costs less than a `from_utf8` call (~2% of a line's parse, two
            // addresses a line).
            #[allow(unsafe_code)]
            unsafe {
                std::str::from_utf8_unchecked(raw)
            }
        } else {
            std::str::from_utf8(raw).ok()?
        };
        let (ip, port) = if let Some(inner) = raw_str.strip_prefix('[') {
            let close = inner.find(']')?;
            let after = &inner[close + 1..];
            let port = match after.strip_prefix(':') {
                Some(p) => Some(parse_u16(p.as_bytes())?),
                None if after.is_empty() => None,
                None => return None,
            };
            (&inner[..close], port)
        } else {
            // The port is a few bytes from the end: a backward loop beats a `memrchr` call.
            match raw.iter().rposition(|&c| c == b':') {
                Some(i) => (&raw_str[..i], Some(parse_u16(&raw[i + 1..])?)),
                None => (raw_str, None),
            }
        };
        if ip.is_empty() {
            return None;
        }
        Some(HostPort {
            ip,
            port,
            raw: raw_str,
        })
    }

    /// A required address field.
    pub(crate) fn required(tok: Token<'a>, field: &'static str) -> Result<Self, ParseError> {
        Self::parse(tok.raw()).ok_or(ParseError::BadAddress { field })
    }

    /// An address field where `-` means "none" (no target was reached).
    pub(crate) fn optional(
        tok: Token<'a>,
        field: &'static str,
    ) -> Result<Option<Self>, ParseError> {
        if tok.is_dash() {
            Ok(None)
        } else {
            Self::required(tok, field).map(Some)
        }
    }
}

/// A duration in seconds as load balancers log it: a number, `-1` when the step did not happen
/// (no target reached, connection closed early), or `-` when the field is empty.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Seconds {
    Value(f64),
    NotApplicable,
    Missing,
}

impl Seconds {
    pub(crate) fn parse(tok: Token<'_>, field: &'static str) -> Result<Self, ParseError> {
        if tok.is_dash() {
            return Ok(Seconds::Missing);
        }
        let v = parse_f64(tok.raw()).ok_or(ParseError::BadNumber { field })?;
        Ok(if v == -1.0 {
            Seconds::NotApplicable
        } else {
            Seconds::Value(v)
        })
    }

    /// The duration when the step happened; `None` for `-1` and `-`.
    pub fn get(self) -> Option<f64> {
        match self {
            Seconds::Value(v) => Some(v),
            _ => None,
        }
    }

    /// The number as logged, `-1.0` included (Vector and the Athena columns keep it).
    pub fn logged(self) -> Option<f64> {
        match self {
            Seconds::Value(v) => Some(v),
            Seconds::NotApplicable => Some(-1.0),
            Seconds::Missing => None,
        }
    }
}

/// Unsigned decimal digits only (no sign, no spaces); `None` on anything else or overflow.
pub fn parse_u64(b: &[u8]) -> Option<u64> {
    if b.is_empty() || b.len() > 20 {
        return None;
    }
    let mut v: u64 = 0;
    for &c in b {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
    }
    Some(v)
}

pub fn parse_u16(b: &[u8]) -> Option<u16> {
    parse_u64(b).and_then(|v| u16::try_from(v).ok())
}

/// Optional signed integer (`-1` allowed); `None` for anything else.
pub fn parse_i64(b: &[u8]) -> Option<i64> {
    match b {
        [b'-', rest @ ..] => parse_u64(rest)
            .and_then(|v| i64::try_from(v).ok())
            .map(|v| -v),
        _ => parse_u64(b).and_then(|v| i64::try_from(v).ok()),
    }
}

/// A plain decimal number (`0.000`, `-1`, `12.5`); rejects `inf`, `NaN`, exponents-only junk.
pub fn parse_f64(b: &[u8]) -> Option<f64> {
    if let Some(v) = parse_short_decimal(b) {
        return Some(v);
    }
    parse_f64_std(b)
}

/// `\d+\.\d+` (what ALB writes: `0.001`) with at most 15 digits in all, computed as
/// `integer / 10^k`. Both operands are exact in `f64` (below 2^53 and 10^22), and IEEE division
/// rounds correctly, so the result is the correctly rounded value of the decimal: exactly what
/// `f64::from_str` returns. Anything else: `None` (the caller falls back to `from_str`).
#[inline]
fn parse_short_decimal(b: &[u8]) -> Option<f64> {
    const POW10: [f64; 16] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
    ];
    if b.len() > 16 {
        return None;
    }
    let dot = b.iter().position(|&c| c == b'.')?;
    let (int, frac) = (&b[..dot], &b[dot + 1..]);
    if int.is_empty() || frac.is_empty() {
        return None;
    }
    // Digits before and after the dot, one loop each (a chained iterator costs more here).
    let (mut n, mut bad) = (0u64, 0u8);
    for &c in int.iter() {
        let d = c.wrapping_sub(b'0');
        bad |= u8::from(d > 9);
        n = n.wrapping_mul(10).wrapping_add(u64::from(d));
    }
    for &c in frac.iter() {
        let d = c.wrapping_sub(b'0');
        bad |= u8::from(d > 9);
        n = n.wrapping_mul(10).wrapping_add(u64::from(d));
    }
    if bad != 0 {
        return None;
    }
    Some(n as f64 / POW10[frac.len()])
}

fn parse_f64_std(b: &[u8]) -> Option<f64> {
    let first = *b.first()?;
    if !(first.is_ascii_digit() || first == b'-' || first == b'.') {
        return None;
    }
    let v: f64 = std::str::from_utf8(b).ok()?.parse().ok()?;
    v.is_finite().then_some(v)
}

/// A counter field where `-` means "none".
pub(crate) fn opt_u64(tok: Token<'_>, field: &'static str) -> Result<Option<u64>, ParseError> {
    if tok.is_dash() {
        Ok(None)
    } else {
        parse_u64(tok.raw())
            .map(Some)
            .ok_or(ParseError::BadNumber { field })
    }
}

/// A status code field where `-` means "none".
pub(crate) fn opt_u16(tok: Token<'_>, field: &'static str) -> Result<Option<u16>, ParseError> {
    if tok.is_dash() {
        Ok(None)
    } else {
        parse_u16(tok.raw())
            .map(Some)
            .ok_or(ParseError::BadNumber { field })
    }
}

/// The quoted request line `METHOD URL VERSION`, split at the first and the last space because the
/// URL may hold spaces, brackets and junk. Each part is `None` where it is absent or `-`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Request<'a> {
    pub raw: Text<'a>,
    pub method: Option<Text<'a>>,
    pub url: Option<Text<'a>>,
    pub version: Option<Text<'a>>,
}

impl<'a> Request<'a> {
    pub fn split(raw: Text<'a>) -> Self {
        let b = raw.raw();
        let none = Request {
            raw,
            method: None,
            url: None,
            version: None,
        };
        // `"- - - "` (Classic ELB TCP listeners) and `"-"`: nothing at all.
        if b.iter().all(|&c| c == b'-' || c == b' ') {
            return none;
        }
        let part = |r: std::ops::Range<usize>| {
            let t = raw.slice(r);
            (!t.is_empty() && t.raw() != b"-").then_some(t)
        };
        let Some(first) = memchr(b' ', b) else {
            // One word: a method, or a bare URL when it looks like one.
            return if b.contains(&b'/') {
                Request {
                    url: part(0..b.len()),
                    ..none
                }
            } else {
                Request {
                    method: part(0..b.len()),
                    ..none
                }
            };
        };
        // The version is the last few bytes: a backward loop beats a `memrchr` call.
        let last = b.iter().rposition(|&c| c == b' ').unwrap_or(first);
        if first == last {
            // Two parts: `METHOD URL` (version missing) or `METHOD HTTP/x`.
            let second = first + 1..b.len();
            let is_version = b[first + 1..].starts_with(b"HTTP/");
            return Request {
                method: part(0..first),
                url: if is_version {
                    None
                } else {
                    part(second.clone())
                },
                version: if is_version { part(second) } else { None },
                ..none
            };
        }
        Request {
            method: part(0..first),
            url: part(first + 1..last),
            version: part(last + 1..b.len()),
            ..none
        }
    }

    /// Scheme, domain, port, path and query of the URL, borrowed from the line.
    pub fn url_parts(&self) -> Option<UrlParts<'a>> {
        self.url.map(UrlParts::parse)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_port_forms() {
        type Addr<'s> = (&'s str, Option<u16>);
        let cases: &[(&str, Option<Addr>)] = &[
            ("192.168.131.39:2817", Some(("192.168.131.39", Some(2817)))),
            ("2001:db8::1:443", Some(("2001:db8::1", Some(443)))),
            ("[2001:db8::1]:443", Some(("2001:db8::1", Some(443)))),
            ("[::1]:80", Some(("::1", Some(80)))),
            ("[::1]", Some(("::1", None))),
            ("10.0.0.1", Some(("10.0.0.1", None))),
            ("10.0.0.1:99999", None),
            ("10.0.0.1:x", None),
            (":80", None),
            ("[::1]x", None),
            ("", None),
            ("a b:1", None),
            ("caf\u{e9} x:1", None),
            // Not ASCII: through `from_utf8`, as before the ASCII shortcut.
            ("caf\u{e9}:80", Some(("caf\u{e9}", Some(80)))),
            ("[\u{2713}]:1", Some(("\u{2713}", Some(1)))),
        ];
        for (raw, want) in cases {
            let got = HostPort::parse(raw.as_bytes()).map(|h| (h.ip, h.port));
            assert_eq!(got, *want, "{raw}");
            if let Some(h) = HostPort::parse(raw.as_bytes()) {
                assert_eq!(h.raw, *raw);
            }
        }
        assert_eq!(HostPort::parse(b"a\xff:1"), None, "invalid UTF-8");
    }

    #[test]
    fn short_decimals_equal_from_str() {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let check = |s: &str| {
            let want: f64 = s.parse().unwrap();
            let got = parse_f64(s.as_bytes()).unwrap();
            assert_eq!(got.to_bits(), want.to_bits(), "{s}");
        };
        for ms in 0..200_000u64 {
            check(&format!("{}.{:03}", ms / 1000, ms % 1000));
        }
        for _ in 0..200_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let int_digits = 1 + (state % 8) as usize;
            let frac_digits = 1 + ((state >> 8) % 8) as usize;
            let digits = format!("{:016}", state >> 12);
            let digits = &digits[digits.len() - int_digits - frac_digits..];
            check(&format!(
                "{}.{}",
                &digits[..int_digits],
                &digits[int_digits..]
            ));
        }
        for s in [
            "0.0",
            "000.000",
            "1.5",
            "999999999999999.9",
            "9.999999999999999",
            "0.000000000000001",
            "-1",
            "-1.000",
            "-0.000",
            "12",
            "1e3",
            "1.5e2",
            ".5",
            "5.",
        ] {
            check(s);
        }
        assert_eq!(parse_f64(b"1.2.3"), None);
        assert_eq!(parse_f64(b"1.x"), None);
        assert_eq!(parse_f64(b"+1.0"), None);
    }

    #[test]
    fn numbers() {
        assert_eq!(parse_u64(b"0"), Some(0));
        assert_eq!(parse_u64(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_u64(b"18446744073709551616"), None);
        assert_eq!(parse_u64(b"-1"), None);
        assert_eq!(parse_u64(b""), None);
        assert_eq!(parse_i64(b"-1"), Some(-1));
        assert_eq!(parse_f64(b"0.000"), Some(0.0));
        assert_eq!(parse_f64(b"-1"), Some(-1.0));
        assert_eq!(parse_f64(b"inf"), None);
        assert_eq!(parse_f64(b"NaN"), None);
        assert_eq!(parse_f64(b"1e999"), None);
    }

    type Parts = (Option<String>, Option<String>, Option<String>);

    fn split(s: &str) -> Parts {
        let r = Request::split(Text::escaped(s.as_bytes()));
        let f = |t: Option<Text>| t.map(|t| t.to_str_lossy().into_owned());
        (f(r.method), f(r.url), f(r.version))
    }

    #[test]
    fn request_line_forms() {
        let s = |v: &str| Some(v.to_string());
        let cases: &[(&str, Parts)] = &[
            (
                "GET http://www.example.com:80/ HTTP/1.1",
                (s("GET"), s("http://www.example.com:80/"), s("HTTP/1.1")),
            ),
            (
                "GET http://h:80/a b [c] {d} HTTP/1.1",
                (s("GET"), s("http://h:80/a b [c] {d}"), s("HTTP/1.1")),
            ),
            ("- http://host:80- -", (None, s("http://host:80-"), None)),
            (
                "GET http://host:80/x ",
                (s("GET"), s("http://host:80/x"), None),
            ),
            (
                "GET http://host:80/x",
                (s("GET"), s("http://host:80/x"), None),
            ),
            ("GET HTTP/1.1", (s("GET"), None, s("HTTP/1.1"))),
            ("- - - ", (None, None, None)),
            ("-", (None, None, None)),
            ("", (None, None, None)),
            ("GET", (s("GET"), None, None)),
            (
                r#"GET http://h/\"x\" HTTP/2.0"#,
                (s("GET"), s(r#"http://h/"x""#), s("HTTP/2.0")),
            ),
            ("  ", (None, None, None)),
            (" x ", (None, s("x"), None)),
        ];
        for (line, want) in cases {
            assert_eq!(&split(line), want, "{line:?}");
        }
    }
}
