//! Which kind of load balancer log an S3 object holds, from its key, and what else the key tells
//! (account, region, date partition, load balancer name). The kind chosen here is confirmed line by
//! line by the parsers ([`crate::sniff_kind`]).

use std::fmt;

use crate::time::{is_timestamp, is_utc_or_zoneless_timestamp};
use crate::tokenize::Tokenizer;

/// The kinds of objects found under an `elasticloadbalancing` log prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LogKind {
    /// Application Load Balancer access log (`..._app.<lb>.<id>_...`).
    Access,
    /// Application Load Balancer connection log (`conn_log_...`).
    Connection,
    /// Application Load Balancer health-check log (`health_check_log_...`), documented since
    /// November 2025; its lines are kept whole ([`crate::Record::HealthCheck`]).
    HealthCheck,
    /// Network Load Balancer TLS access log (`..._net.<lb>.<id>_...`).
    NlbTls,
    /// Classic Load Balancer access log (`..._<lb-name>_<time>_<ip>_<rand>.log`).
    Classic,
    /// `ELBAccessLogTestFile`, written once when logging is enabled.
    TestFile,
    /// Not recognisable from the name: the content decides ([`crate::sniff_kind`]).
    Unknown,
}

impl LogKind {
    /// Stable lower-case name, used in error reports and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            LogKind::Access => "access",
            LogKind::Connection => "connection",
            LogKind::HealthCheck => "health_check",
            LogKind::NlbTls => "nlb_tls",
            LogKind::Classic => "classic",
            LogKind::TestFile => "test_file",
            LogKind::Unknown => "unknown",
        }
    }

    /// The kind of a log object from its S3 key (or a local path: only the file name counts).
    pub fn from_key(key: &str) -> LogKind {
        classify_file_name(file_name(key)).0
    }
}

impl fmt::Display for LogKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The `yyyy/mm/dd` partition of the key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DatePartition {
    pub year: u16,
    pub month: u8,
    pub day: u8,
}

/// Everything a log object's key says about its content.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyInfo<'k> {
    pub kind: LogKind,
    /// Whatever comes before `AWSLogs/` (without the trailing `/`), if anything.
    pub prefix: Option<&'k str>,
    pub account: Option<&'k str>,
    pub region: Option<&'k str>,
    pub date: Option<DatePartition>,
    /// The load balancer's name (`my-alb`, not `app/my-alb/<id>`).
    pub load_balancer: Option<&'k str>,
    /// The load balancer's id, for ALB and NLB (`50dc6c495c0c9188`).
    pub load_balancer_id: Option<&'k str>,
    pub file_name: &'k str,
}

/// Reads the documented key layout
/// `[prefix/]AWSLogs/<account>/elasticloadbalancing/<region>/<yyyy>/<mm>/<dd>/<file>`; parts of a
/// key that does not follow it are `None`, never an error.
pub fn parse_key(key: &str) -> KeyInfo<'_> {
    let name = file_name(key);
    let (kind, lb) = classify_file_name(name);
    let mut info = KeyInfo {
        kind,
        prefix: None,
        account: None,
        region: None,
        date: None,
        load_balancer: lb.map(|l| l.0),
        load_balancer_id: lb.and_then(|l| l.1),
        file_name: name,
    };
    let Some(at) = find_segment(key, "AWSLogs") else {
        return info;
    };
    if at > 0 {
        info.prefix = Some(&key[..at - 1]);
    }
    let mut segs = key[at..].split('/').skip(1);
    info.account = segs.next().filter(|a| is_digits(a));
    if segs.next() != Some("elasticloadbalancing") {
        return info;
    }
    info.region = segs.next().filter(|r| !r.is_empty());
    let (y, m, d) = (segs.next(), segs.next(), segs.next());
    if let (Some(y), Some(m), Some(d)) = (y, m, d)
        && y.len() == 4
        && m.len() == 2
        && d.len() == 2
        && let (Ok(year), Ok(month), Ok(day)) = (y.parse(), m.parse(), d.parse())
        && is_digits(y)
        && is_digits(m)
        && is_digits(d)
        && (1..=12).contains(&month)
        && (1..=31).contains(&day)
    {
        info.date = Some(DatePartition { year, month, day });
    }
    info
}

fn file_name(key: &str) -> &str {
    key.rsplit(['/', '\\']).next().unwrap_or(key)
}

/// Byte offset of a whole path segment equal to `seg`.
fn find_segment(key: &str, seg: &str) -> Option<usize> {
    let mut offset = 0;
    for part in key.split('/') {
        if part == seg {
            return Some(offset);
        }
        offset += part.len() + 1;
    }
    None
}

fn is_digits(s: &str) -> bool {
    all_digits(s.as_bytes())
}

type LbName<'k> = (&'k str, Option<&'k str>);

/// Kind and load balancer (name, id) from the file name alone.
fn classify_file_name(name: &str) -> (LogKind, Option<LbName<'_>>) {
    if name.contains("ELBAccessLogTestFile") {
        return (LogKind::TestFile, None);
    }
    let (prefix_kind, rest) = if let Some(r) = strip_either(name, "conn_log") {
        (Some(LogKind::Connection), r)
    } else if let Some(r) = strip_either(name, "health_check_log") {
        (Some(LogKind::HealthCheck), r)
    } else {
        (None, name)
    };
    // <account>_elasticloadbalancing_<region>_<lb part>_<time>_<ip>_<rand>.log[.gz]
    let stem = rest
        .strip_suffix(".gz")
        .unwrap_or(rest)
        .strip_suffix(".log")
        .unwrap_or(rest);
    let mut parts = stem.split('_');
    let account = parts.next().unwrap_or("");
    let well_formed = is_digits(account) && parts.next() == Some("elasticloadbalancing");
    let _region = parts.next();
    let lb_part = parts.next().filter(|_| well_formed);
    let time_part = parts.next();
    let Some(lb_part) = lb_part else {
        return (prefix_kind.unwrap_or(LogKind::Unknown), None);
    };
    let (kind, lb) = if let Some(app) = lb_part.strip_prefix("app.") {
        (LogKind::Access, split_name_id(app))
    } else if let Some(net) = lb_part.strip_prefix("net.") {
        (LogKind::NlbTls, split_name_id(net))
    } else if time_part.is_some_and(|t| t.ends_with('Z') && t.len() >= 13) {
        (LogKind::Classic, (lb_part, None))
    } else {
        (LogKind::Unknown, (lb_part, None))
    };
    (prefix_kind.unwrap_or(kind), Some(lb))
}

/// `conn_log_...` as real files have it, or `conn_log....` as the documentation says.
fn strip_either<'n>(name: &'n str, prefix: &str) -> Option<&'n str> {
    let rest = name.strip_prefix(prefix)?;
    rest.strip_prefix('_').or_else(|| rest.strip_prefix('.'))
}

/// `<lb-name>.<lb-id>` (names hold no dots, ids are hex).
fn split_name_id(s: &str) -> LbName<'_> {
    match s.rsplit_once('.') {
        Some((name, id)) => (name, Some(id)),
        None => (s, None),
    }
}

/// The log kind a line's content looks like, from its first three fields only; `None` when it
/// looks like none of them. Used to confirm the kind chosen by file name and for local files whose
/// names say nothing. The shapes, as AWS documents them:
///
/// | first three fields | kind |
/// |---|---|
/// | `time client_ip client_port` | connection log (the third is a port number) |
/// | `time elb client:port` | Classic ELB |
/// | `type time elb` | ALB access log (`app/<name>/<id>`) |
/// | `type time latency` | ALB health-check log (the third is a number of seconds) |
/// | `type version time` | NLB, the time with or without its `Z` |
pub fn sniff_kind(line: &[u8]) -> Option<LogKind> {
    let mut t = Tokenizer::new(line);
    let first = t.next_token().ok()??;
    let second = t.next_token().ok()??;
    let third = t.next_token().ok().flatten();
    let third = third.as_ref().map(|t| t.raw());
    if is_timestamp(first.raw()) {
        let third_is_port = third.is_some_and(all_digits);
        return Some(if third_is_port {
            LogKind::Connection
        } else {
            LogKind::Classic
        });
    }
    if !is_word(first.raw()) {
        return None;
    }
    if is_timestamp(second.raw()) {
        return Some(if third.is_some_and(is_seconds) {
            LogKind::HealthCheck
        } else {
            LogKind::Access
        });
    }
    if is_version(second.raw()) && third.is_some_and(is_utc_or_zoneless_timestamp) {
        return Some(LogKind::NlbTls);
    }
    None
}

/// A listener or request type: `http`, `h2`, `tls`, ...
fn is_word(b: &[u8]) -> bool {
    !b.is_empty()
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
}

/// A log format version: `2.0`.
fn is_version(b: &[u8]) -> bool {
    !b.is_empty() && b.iter().all(|c| c.is_ascii_digit() || *c == b'.') && b.contains(&b'.')
}

/// A number of seconds: `0.019584011`, `1`.
fn is_seconds(b: &[u8]) -> bool {
    let (whole, fraction) = match b.iter().position(|&c| c == b'.') {
        Some(dot) => (&b[..dot], &b[dot + 1..]),
        None => (b, &b""[..]),
    };
    all_digits(whole) && fraction.iter().all(u8::is_ascii_digit)
}

fn all_digits(b: &[u8]) -> bool {
    !b.is_empty() && b.iter().all(u8::is_ascii_digit)
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: &str = "logs/AWSLogs/123456789012/elasticloadbalancing/us-east-1/2024/03/07/";

    #[test]
    fn kinds_by_file_name() {
        let cases: &[(&str, LogKind)] = &[
            (
                "123456789012_elasticloadbalancing_us-east-1_app.my-alb.50dc6c495c0c9188_20240307T0005Z_10.0.1.2_3x4y5z.log.gz",
                LogKind::Access,
            ),
            (
                "conn_log_123456789012_elasticloadbalancing_us-east-1_app.my-alb.50dc6c495c0c9188_20240307T0005Z_10.0.1.2_3x4y5z.log.gz",
                LogKind::Connection,
            ),
            (
                "conn_log.123456789012_elasticloadbalancing_us-east-1_app.my-alb.50dc6c495c0c9188_20240307T0005Z_10.0.1.2_3x4y5z.log.gz",
                LogKind::Connection,
            ),
            (
                "health_check_log_123456789012_elasticloadbalancing_us-east-1_app.my-alb.50dc6c495c0c9188_20240307T0005Z_10.0.1.2_3x4y5z.log.gz",
                LogKind::HealthCheck,
            ),
            (
                "123456789012_elasticloadbalancing_us-east-1_net.my-nlb.1234567890abcdef_20240307T0005Z_10.0.1.2_3x4y5z.log.gz",
                LogKind::NlbTls,
            ),
            (
                "123456789012_elasticloadbalancing_us-east-1_my-classic-lb_20140215T2340Z_172.160.001.192_20sg8hgm.log",
                LogKind::Classic,
            ),
            ("ELBAccessLogTestFile", LogKind::TestFile),
            ("something-else.log.gz", LogKind::Unknown),
            (
                "123456789012_elasticloadbalancing_us-east-1.log",
                LogKind::Unknown,
            ),
        ];
        for (name, kind) in cases {
            assert_eq!(LogKind::from_key(&format!("{P}{name}")), *kind, "{name}");
            assert_eq!(LogKind::from_key(name), *kind, "{name} without a path");
        }
        assert_eq!(
            LogKind::from_key("AWSLogs/123456789012/ELBAccessLogTestFile"),
            LogKind::TestFile
        );
    }

    #[test]
    fn key_parts() {
        let key = format!(
            "{P}123456789012_elasticloadbalancing_us-east-1_app.my-alb.50dc6c495c0c9188_20240307T0005Z_10.0.1.2_3x4y5z.log.gz"
        );
        let info = parse_key(&key);
        assert_eq!(info.kind, LogKind::Access);
        assert_eq!(info.prefix, Some("logs"));
        assert_eq!(info.account, Some("123456789012"));
        assert_eq!(info.region, Some("us-east-1"));
        assert_eq!(
            info.date,
            Some(DatePartition {
                year: 2024,
                month: 3,
                day: 7
            })
        );
        assert_eq!(info.load_balancer, Some("my-alb"));
        assert_eq!(info.load_balancer_id, Some("50dc6c495c0c9188"));

        let classic = parse_key(
            "AWSLogs/123456789012/elasticloadbalancing/eu-west-1/2014/02/15/123456789012_elasticloadbalancing_eu-west-1_my-loadbalancer_20140215T2340Z_172.160.001.192_20sg8hgm.log",
        );
        assert_eq!(classic.kind, LogKind::Classic);
        assert_eq!(classic.prefix, None);
        assert_eq!(classic.load_balancer, Some("my-loadbalancer"));
        assert_eq!(classic.load_balancer_id, None);
        assert_eq!(classic.date.map(|d| d.year), Some(2014));

        let nlb = parse_key(
            "AWSLogs/123456789012/elasticloadbalancing/eu-west-1/2025/06/01/123456789012_elasticloadbalancing_eu-west-1_net.edge-nlb.c6e77e28c25b2234_20250601T1235Z_198.51.100.23_2soosksgsasb3nai.log.gz",
        );
        assert_eq!(nlb.kind, LogKind::NlbTls);
        assert_eq!(nlb.load_balancer, Some("edge-nlb"));
        assert_eq!(nlb.load_balancer_id, Some("c6e77e28c25b2234"));

        let conn_key = format!(
            "{P}conn_log_123456789012_elasticloadbalancing_us-east-1_app.my-alb.50dc6c495c0c9188_20240307T0005Z_10.0.1.2_3x4y5z.log.gz"
        );
        let conn = parse_key(&conn_key);
        assert_eq!(conn.kind, LogKind::Connection);
        assert_eq!(conn.load_balancer, Some("my-alb"));
        assert_eq!(conn.region, Some("us-east-1"));

        let odd = parse_key("x/y/z.log");
        assert_eq!(odd.kind, LogKind::Unknown);
        assert_eq!((odd.account, odd.region, odd.date), (None, None, None));
        assert_eq!(odd.file_name, "z.log");

        let bad_date = parse_key("AWSLogs/1/elasticloadbalancing/r/2024/13/99/f.log");
        assert_eq!(bad_date.date, None);
        assert_eq!(bad_date.region, Some("r"));
    }

    #[test]
    fn sniffing_line_content() {
        let cases: &[(&str, Option<LogKind>)] = &[
            (
                "http 2018-07-02T22:23:00.186641Z app/x/1 1.2.3.4:5 -",
                Some(LogKind::Access),
            ),
            (
                "h2 2018-07-02T22:23:00.186641Z app/x/1",
                Some(LogKind::Access),
            ),
            (
                "tls 2.0 2018-12-20T02:59:40Z net/my-nlb/c6e77e28c25b2234 g3d4b5e8bb8464cd",
                Some(LogKind::NlbTls),
            ),
            // As AWS documents NLB lines: no zone.
            (
                "tls 2.0 2018-12-20T02:59:40 net/my-nlb/c6e77e28c25b2234 g3d4b5e8bb8464cd",
                Some(LogKind::NlbTls),
            ),
            ("tls 2.0 2018-12-20T02:59:40+01:00 net/my-nlb/c", None),
            (
                "http 2025-10-31T12:44:59.875678Z 0.019584011 172.31.20.97:80 tg PASS 200 -",
                Some(LogKind::HealthCheck),
            ),
            (
                "lambda 2025-10-31T12:44:59.875678Z 1 arn:aws:lambda:us-east-1:1:function:f tg PASS - -",
                Some(LogKind::HealthCheck),
            ),
            // A zoneless time is not enough for the other kinds.
            ("http 2018-07-02T22:23:00 app/x/1 1.2.3.4:5", None),
            (
                "2015-05-13T23:39:43.945958Z my-lb 192.168.131.39:2817 10.0.0.1:80",
                Some(LogKind::Classic),
            ),
            (
                "2024-03-07T00:00:01.123456Z 192.168.1.1 51234 443 TLSv1.2",
                Some(LogKind::Connection),
            ),
            (
                "Enable AccessLog for ELB: my-lb at 2024-03-07T00:00:00.000Z",
                None,
            ),
            ("", None),
            ("\"unterminated", None),
        ];
        for (line, want) in cases {
            assert_eq!(sniff_kind(line.as_bytes()), *want, "{line}");
        }
    }
}
