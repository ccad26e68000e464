//! Decomposition of the request URL into the parts ECS wants (`url.scheme`, `url.domain`, ...),
//! borrowed from the line. Lenient by design: attack traffic puts anything in the URL, and a part
//! that cannot be found is simply absent.

use memchr::{memchr, memchr2, memchr3};

use crate::tokenize::Text;
use crate::values::parse_u16;

/// Parts of an absolute (`scheme://host[:port]/path?query`) or origin-form (`/path?query`) URL.
/// `domain` keeps IPv6 brackets, as ECS asks; percent-encoding is left as it is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UrlParts<'a> {
    pub scheme: Option<Text<'a>>,
    pub domain: Option<Text<'a>>,
    pub port: Option<u16>,
    pub path: Option<Text<'a>>,
    pub query: Option<Text<'a>>,
    pub fragment: Option<Text<'a>>,
}

impl<'a> UrlParts<'a> {
    pub fn parse(url: Text<'a>) -> Self {
        let b = url.raw();
        let mut parts = UrlParts::default();
        let mut rest = 0;
        if let Some(colon) = find_scheme_end(b) {
            parts.scheme = Some(url.slice(0..colon));
            let auth_start = colon + 3;
            let auth_end =
                memchr3(b'/', b'?', b'#', &b[auth_start..]).map_or(b.len(), |i| auth_start + i);
            parse_authority(url, auth_start..auth_end, &mut parts);
            rest = auth_end;
        }
        // Path runs to `?` or `#`; the query to `#`; the fragment from the first `#` on. One
        // search for each boundary, none over the same bytes twice.
        let path_end = memchr2(b'?', b'#', &b[rest..]).map_or(b.len(), |i| rest + i);
        if path_end > rest {
            parts.path = Some(url.slice(rest..path_end));
        }
        let hash = if b.get(path_end) == Some(&b'?') {
            let q_end = memchr(b'#', &b[path_end..]).map_or(b.len(), |i| path_end + i);
            if q_end > path_end + 1 {
                parts.query = Some(url.slice(path_end + 1..q_end));
            }
            q_end
        } else {
            // At the first `#`, or the end.
            path_end
        };
        if hash + 1 < b.len() {
            parts.fragment = Some(url.slice(hash + 1..b.len()));
        }
        parts
    }
}

/// Index of the `:` in `scheme://` when the URL starts with a valid scheme. The scheme's
/// characters are scanned up to the first other byte, which must be that `:` (scanning for the
/// first `:` instead would cross an origin-form URL whole).
fn find_scheme_end(b: &[u8]) -> Option<usize> {
    if !b.first()?.is_ascii_alphabetic() {
        return None;
    }
    let colon = b
        .iter()
        .position(|c| !(c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.')))?;
    b[colon..].starts_with(b"://").then_some(colon)
}

fn parse_authority<'a>(url: Text<'a>, range: std::ops::Range<usize>, parts: &mut UrlParts<'a>) {
    let b = url.raw();
    let mut start = range.start;
    // Drop `user:pass@`.
    if let Some(at) = memchr::memrchr(b'@', &b[range.clone()]) {
        start = range.start + at + 1;
    }
    let host = &b[start..range.end];
    let (host_end, port) = if host.first() == Some(&b'[') {
        match memchr(b']', host) {
            Some(close) => match &host[close + 1..] {
                [b':', p @ ..] => (start + close + 1, parse_u16(p)),
                _ => (start + close + 1, None),
            },
            None => (range.end, None),
        }
    } else {
        match memchr::memrchr(b':', host) {
            Some(c) => (start + c, parse_u16(&host[c + 1..])),
            None => (range.end, None),
        }
    };
    if host_end > start {
        parts.domain = Some(url.slice(start..host_end));
    }
    parts.port = port;
}

#[cfg(test)]
mod tests {
    use super::*;

    type Want<'s> = (
        Option<&'s str>,
        Option<&'s str>,
        Option<u16>,
        Option<&'s str>,
        Option<&'s str>,
    );

    type Got = (
        Option<String>,
        Option<String>,
        Option<u16>,
        Option<String>,
        Option<String>,
    );

    fn parts(s: &str) -> Got {
        let p = UrlParts::parse(Text::escaped(s.as_bytes()));
        let f = |t: Option<Text>| t.map(|t| t.to_str_lossy().into_owned());
        (f(p.scheme), f(p.domain), p.port, f(p.path), f(p.query))
    }

    /// The form before one search per boundary: kept to check the current one against.
    fn parse_reference(url: Text<'_>) -> UrlParts<'_> {
        let b = url.raw();
        let mut parts = UrlParts::default();
        let mut rest = 0;
        let scheme_end = memchr(b':', b).filter(|&colon| {
            let scheme = &b[..colon];
            scheme.first().is_some_and(u8::is_ascii_alphabetic)
                && scheme
                    .iter()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.'))
                && b[colon..].starts_with(b"://")
        });
        if let Some(colon) = scheme_end {
            parts.scheme = Some(url.slice(0..colon));
            let auth_start = colon + 3;
            let auth_end =
                memchr3(b'/', b'?', b'#', &b[auth_start..]).map_or(b.len(), |i| auth_start + i);
            parse_authority(url, auth_start..auth_end, &mut parts);
            rest = auth_end;
        }
        let tail = &b[rest..];
        let path_end = memchr2(b'?', b'#', tail).map_or(b.len(), |i| rest + i);
        if path_end > rest {
            parts.path = Some(url.slice(rest..path_end));
        }
        if b.get(path_end) == Some(&b'?') {
            let q_end = memchr(b'#', &b[path_end..]).map_or(b.len(), |i| path_end + i);
            if q_end > path_end + 1 {
                parts.query = Some(url.slice(path_end + 1..q_end));
            }
        }
        if let Some(hash) = memchr(b'#', &b[rest..]).map(|i| rest + i)
            && hash + 1 < b.len()
        {
            parts.fragment = Some(url.slice(hash + 1..b.len()));
        }
        parts
    }

    #[test]
    fn parse_matches_the_reference_on_generated_urls() {
        const PIECES: &[&[u8]] = &[
            b"http",
            b"https",
            b"h2c",
            b"a+b-c.d",
            b"1x",
            b":",
            b"://",
            b"/",
            b"//",
            b"?",
            b"#",
            b"@",
            b"[",
            b"]",
            b":80",
            b":99999",
            b"host",
            b"[::1]",
            b"u:p@",
            b"a",
            b"x=1&y=2",
            b" ",
            b"-",
            b"%20",
            b"\\",
            b"\xff",
            b"\xc3\xa9",
        ];
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..200_000 {
            let mut url = Vec::new();
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            for k in 0..(state % 9) {
                url.extend_from_slice(PIECES[(state >> (8 + 5 * k)) as usize % PIECES.len()]);
            }
            for text in [Text::escaped(&url), Text::literal(&url)] {
                assert_eq!(
                    UrlParts::parse(text),
                    parse_reference(text),
                    "{}",
                    String::from_utf8_lossy(&url)
                );
            }
        }
    }

    #[test]
    fn url_forms() {
        let cases: &[(&str, Want)] = &[
            (
                "http://www.example.com:80/",
                (
                    Some("http"),
                    Some("www.example.com"),
                    Some(80),
                    Some("/"),
                    None,
                ),
            ),
            (
                "https://h:443/a/b?x=1&y=2#frag",
                (
                    Some("https"),
                    Some("h"),
                    Some(443),
                    Some("/a/b"),
                    Some("x=1&y=2"),
                ),
            ),
            ("https://h", (Some("https"), Some("h"), None, None, None)),
            (
                "http://[2001:db8::1]:8080/p",
                (
                    Some("http"),
                    Some("[2001:db8::1]"),
                    Some(8080),
                    Some("/p"),
                    None,
                ),
            ),
            (
                "http://u:pw@h:81/p?",
                (Some("http"), Some("h"), Some(81), Some("/p"), None),
            ),
            (
                "/only/path?q",
                (None, None, None, Some("/only/path"), Some("q")),
            ),
            (
                "http://host:80-",
                (Some("http"), Some("host"), None, None, None),
            ),
            (
                "http://h:80/a b [c]?q r",
                (
                    Some("http"),
                    Some("h"),
                    Some(80),
                    Some("/a b [c]"),
                    Some("q r"),
                ),
            ),
            ("*", (None, None, None, Some("*"), None)),
            ("", (None, None, None, None, None)),
            ("://x", (None, None, None, Some("://x"), None)),
        ];
        for (url, want) in cases {
            let own = |o: Option<&str>| o.map(str::to_string);
            let want = (own(want.0), own(want.1), want.2, own(want.3), own(want.4));
            assert_eq!(parts(url), want, "{url}");
        }
    }
}
