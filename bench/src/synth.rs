//! Deterministic synthetic ALB access log lines: what a busy shop's load balancer writes.
//!
//! Mix: http / https / h2 (and a few grpcs and wss), GET / POST / PUT / DELETE with query strings,
//! IPv4 and unbracketed IPv6 clients, several target groups, ~6% quoted 2-target lists (retries),
//! 2xx/3xx/4xx/5xx including ALB-only codes, no-target lines with `-` and `-1` timings, user agents
//! of real length, TLS 1.2 and TLS 1.3 cipher names, WAF / authenticate / redirect / fixed-response
//! actions, and ~3% lines of the older 29-field format (before conn_trace_id and the 2025 transform
//! fields). The same seed gives the same bytes, on any machine.

use std::io::Write;

/// xorshift64*: fast, deterministic, good enough to pick from lists.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// True with probability `percent`/100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

const USER_AGENTS: &[&str] = &[
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8 Pro) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.81 Mobile Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36 Edg/130.0.2849.80",
    "ShopApp/4.12.1 (com.example.shop; build:4121; iOS 18.1.0) Alamofire/5.9.1",
    "okhttp/4.12.0",
    "curl/8.5.0",
    "Go-http-client/2.0",
    "python-requests/2.32.3",
    "ELB-HealthChecker/2.0",
    "-",
];

const TARGET_GROUPS: &[&str] = &[
    "arn:aws:elasticloadbalancing:eu-west-1:111122223333:targetgroup/shop-web/6d0ecf831eec9f09",
    "arn:aws:elasticloadbalancing:eu-west-1:111122223333:targetgroup/shop-api/73e2d6bc24d8a067",
    "arn:aws:elasticloadbalancing:eu-west-1:111122223333:targetgroup/checkout/943f017f100becff",
    "arn:aws:elasticloadbalancing:eu-west-1:111122223333:targetgroup/search-grpc/1a2b3c4d5e6f7a8b",
    "arn:aws:elasticloadbalancing:eu-west-1:111122223333:targetgroup/images-lambda/0f1e2d3c4b5a6978",
];

const TLS12_CIPHERS: &[&str] = &[
    "ECDHE-RSA-AES128-GCM-SHA256",
    "ECDHE-ECDSA-AES128-GCM-SHA256",
    "ECDHE-RSA-AES256-GCM-SHA384",
];
const TLS13_CIPHERS: &[&str] = &[
    "TLS_AES_128_GCM_SHA256",
    "TLS_AES_256_GCM_SHA384",
    "TLS_CHACHA20_POLY1305_SHA256",
];

const PATHS: &[&str] = &[
    "/",
    "/api/v2/items",
    "/api/v2/items/{id}",
    "/api/v2/cart",
    "/api/v2/search",
    "/checkout/session/{id}/confirm",
    "/static/js/app.{id}.js",
    "/images/products/{id}/large.webp",
    "/account/orders",
    "/health",
];

const QUERIES: &[&str] = &[
    "",
    "",
    "?page={n}&sort=price",
    "?q=red%20running%20shoes&size=42&color=red&page={n}",
    "?utm_source=newsletter&utm_medium=email&utm_campaign=black-friday-2026",
    "?id={id}&ref=home",
    "?session=eyJhbGciOiJIUzI1NiJ9.{id}&lang=en-GB",
];

const STATUSES: &[(u16, u64)] = &[
    // (elb status, weight)
    (200, 700),
    (201, 25),
    (204, 20),
    (301, 15),
    (302, 40),
    (304, 60),
    (400, 10),
    (401, 15),
    (403, 15),
    (404, 50),
    (429, 10),
    (460, 5),
    (500, 8),
    (502, 12),
    (503, 8),
    (504, 7),
];

fn pick_status(rng: &mut Rng) -> u16 {
    let total: u64 = STATUSES.iter().map(|s| s.1).sum();
    let mut r = rng.below(total);
    for &(code, weight) in STATUSES {
        if r < weight {
            return code;
        }
        r -= weight;
    }
    200
}

fn fill(template: &str, rng: &mut Rng, out: &mut Vec<u8>) {
    let mut rest = template;
    while let Some(pos) = rest.find('{') {
        out.extend_from_slice(&rest.as_bytes()[..pos]);
        let end = pos + rest[pos..].find('}').unwrap();
        match &rest[pos + 1..end] {
            "id" => write!(out, "{:x}", rng.next() >> 20).unwrap(),
            "n" => write!(out, "{}", 1 + rng.below(40)).unwrap(),
            _ => unreachable!(),
        }
        rest = &rest[end + 1..];
    }
    out.extend_from_slice(rest.as_bytes());
}

fn client(rng: &mut Rng, out: &mut Vec<u8>) {
    if rng.chance(15) {
        // IPv6 as ALB writes it: unbracketed, port after the last colon.
        write!(
            out,
            "2a02:c7c:{:x}:{:x}:{:x}:{:x}:{:x}:{:x}:{}",
            rng.below(0xffff),
            rng.below(0xffff),
            rng.below(0xffff),
            rng.below(0xffff),
            rng.below(0xffff),
            rng.below(0xffff),
            1024 + rng.below(64000)
        )
        .unwrap();
    } else {
        write!(
            out,
            "{}.{}.{}.{}:{}",
            1 + rng.below(223),
            rng.below(256),
            rng.below(256),
            1 + rng.below(254),
            1024 + rng.below(64000)
        )
        .unwrap();
    }
}

fn target(rng: &mut Rng) -> (u64, u64) {
    (rng.below(4), 2 + rng.below(200))
}

/// Appends line number `i` (no newline) to `out`.
pub fn line(rng: &mut Rng, i: u64, out: &mut Vec<u8>) {
    let old_format = rng.chance(3);
    let kind = match rng.below(100) {
        0..=17 => "http",
        18..=59 => "https",
        60..=95 => "h2",
        96..=97 => "grpcs",
        _ => "wss",
    };
    let tls = kind != "http";
    let status = pick_status(rng);
    // No target reached: ALB-generated errors, WAF blocks, redirects and fixed responses.
    let action = if status == 301 || (status == 302 && rng.chance(50)) {
        "redirect"
    } else if status == 403 && rng.chance(70) {
        "waf"
    } else if status == 460 || status == 503 || (status == 400 && rng.chance(50)) {
        "none"
    } else if status == 401 {
        "authenticate"
    } else if status == 404 && rng.chance(10) {
        "fixed-response"
    } else {
        "forward"
    };
    let forwarded = action == "forward" || action == "authenticate";
    let retried = forwarded && rng.chance(6);

    let secs = 36_000 + i / 40;
    let micros = (i * 7919) % 1_000_000;
    let time = |out: &mut Vec<u8>, s: u64, us: u64| {
        write!(
            out,
            "2026-11-25T{:02}:{:02}:{:02}.{:06}Z",
            (s / 3600) % 24,
            (s / 60) % 60,
            s % 60,
            us
        )
        .unwrap()
    };

    // 1-3
    out.extend_from_slice(kind.as_bytes());
    out.push(b' ');
    time(out, secs, micros);
    out.extend_from_slice(b" app/shop-prod/50dc6c495c0c9188 ");
    // 4-5
    client(rng, out);
    let (t_subnet, t_host) = target(rng);
    if forwarded {
        write!(out, " 10.0.{t_subnet}.{t_host}:8080").unwrap();
    } else {
        out.extend_from_slice(b" -");
    }
    // 6-8
    if forwarded {
        let target_ms = if status >= 500 {
            1000 + rng.below(29000)
        } else {
            rng.below(900)
        };
        write!(
            out,
            " 0.{:03} {}.{:03} 0.{:03}",
            rng.below(3),
            target_ms / 1000,
            target_ms % 1000,
            rng.below(2)
        )
        .unwrap();
    } else if action == "waf" || action == "redirect" || action == "fixed-response" {
        write!(out, " 0.{:03} -1 -1", rng.below(2)).unwrap();
    } else {
        out.extend_from_slice(b" -1 -1 -1");
    }
    // 9-12
    write!(out, " {status}").unwrap();
    if forwarded && status != 502 && status != 504 && status != 460 {
        write!(out, " {status}").unwrap();
    } else {
        out.extend_from_slice(b" -");
    }
    write!(out, " {} {}", 200 + rng.below(2000), 300 + rng.below(60000)).unwrap();
    // 13
    let method = match rng.below(100) {
        0..=79 => "GET",
        80..=93 => "POST",
        94..=97 => "PUT",
        _ => "DELETE",
    };
    let (scheme, port, version) = match kind {
        "http" => ("http", 80, "HTTP/1.1"),
        "h2" | "grpcs" => ("https", 443, "HTTP/2.0"),
        "wss" => ("https", 443, "HTTP/1.1"),
        _ => ("https", 443, "HTTP/1.1"),
    };
    let host = if rng.chance(80) {
        "shop.example.com"
    } else {
        "api.example.com"
    };
    write!(out, " \"{method} {scheme}://{host}:{port}").unwrap();
    if kind == "grpcs" {
        out.extend_from_slice(b"/search.v1.SearchService/Query");
    } else {
        let path = *rng.pick(PATHS);
        fill(path, rng, out);
        let query = *rng.pick(QUERIES);
        fill(query, rng, out);
    }
    write!(out, " {version}\"").unwrap();
    // 14
    let agent = if kind == "grpcs" {
        "grpc-go/1.68.0"
    } else {
        rng.pick(USER_AGENTS)
    };
    write!(out, " \"{agent}\"").unwrap();
    // 15-16
    if tls {
        if rng.chance(60) {
            write!(out, " {} TLSv1.3", rng.pick(TLS13_CIPHERS)).unwrap();
        } else {
            write!(out, " {} TLSv1.2", rng.pick(TLS12_CIPHERS)).unwrap();
        }
    } else {
        out.extend_from_slice(b" - -");
    }
    // 17
    let tg = if kind == "grpcs" {
        TARGET_GROUPS[3]
    } else if host == "api.example.com" {
        TARGET_GROUPS[1]
    } else {
        TARGET_GROUPS[[0, 0, 0, 2, 4][rng.below(5) as usize]]
    };
    if forwarded {
        write!(out, " {tg}").unwrap();
    } else {
        out.extend_from_slice(b" -");
    }
    // 18
    let root = rng.next();
    if rng.chance(10) {
        write!(
            out,
            " \"Self=1-6744{:04x}-{:024x};Root=1-6744{:04x}-{:024x}\"",
            secs & 0xffff,
            rng.next() as u128 * 0x1_0000,
            secs & 0xffff,
            root as u128 * 0x1_0000
        )
        .unwrap();
    } else {
        write!(
            out,
            " \"Root=1-6744{:04x}-{:024x}\"",
            secs & 0xffff,
            root as u128 * 0x1_0000
        )
        .unwrap();
    }
    // 19-20
    if tls {
        write!(out, " \"{host}\"").unwrap();
        if rng.chance(30) {
            out.extend_from_slice(b" \"session-reused\"");
        } else {
            out.extend_from_slice(b" \"arn:aws:acm:eu-west-1:111122223333:certificate/aaaabbbb-cccc-dddd-eeee-ffff00001111\"");
        }
    } else {
        out.extend_from_slice(b" \"-\" \"-\"");
    }
    // 21-22
    let priority = match action {
        "none" => "-".to_string(),
        "forward" if rng.chance(40) => "0".to_string(),
        _ => (1 + rng.below(20)).to_string(),
    };
    write!(out, " {priority} ").unwrap();
    let created_ms = (micros / 1000 + 1000 - rng.below(40)) % 1000;
    time(out, secs, created_ms * 1000);
    // 23-25
    let actions = match action {
        "forward" if rng.chance(20) => "waf,forward",
        "forward" => "forward",
        "authenticate" => "authenticate,forward",
        "waf" => "waf",
        "redirect" => "redirect",
        "fixed-response" => "fixed-response",
        _ => "-",
    };
    write!(out, " \"{actions}\"").unwrap();
    if action == "redirect" {
        write!(out, " \"https://{host}:443/\"").unwrap();
    } else {
        out.extend_from_slice(b" \"-\"");
    }
    let error = match status {
        502 => "\"TargetConnectionError\"",
        504 => "\"TargetTimeout\"",
        _ => "\"-\"",
    };
    write!(out, " {error}").unwrap();
    // 26-27
    if retried {
        write!(
            out,
            " \"10.0.{t_subnet}.{t_host}:8080 10.0.{}.{}:8080\" \"502 {status}\"",
            (t_subnet + 1) % 4,
            t_host + 1
        )
        .unwrap();
    } else if forwarded {
        write!(out, " \"10.0.{t_subnet}.{t_host}:8080\"").unwrap();
        if status == 502 || status == 504 {
            out.extend_from_slice(b" \"-\"");
        } else {
            write!(out, " \"{status}\"").unwrap();
        }
    } else {
        out.extend_from_slice(b" \"-\" \"-\"");
    }
    // 28-29
    if rng.chance(5) {
        out.extend_from_slice(b" \"Ambiguous\" \"UndefinedContentLengthSemantics\"");
    } else if rng.chance(50) {
        out.extend_from_slice(b" \"Acceptable\" \"-\"");
    } else {
        out.extend_from_slice(b" \"-\" \"-\"");
    }
    if old_format {
        return;
    }
    // 30-33
    write!(out, " TID_{:032x}", root as u128 * 0x9E37_79B9).unwrap();
    if rng.chance(5) {
        out.extend_from_slice(
            b" \"shop-internal.example.com\" \"/v2/items\" \"TransformSucceeded\"",
        );
    } else {
        out.extend_from_slice(b" \"-\" \"-\" \"-\"");
    }
}

/// `lines` lines with `\n` after each.
pub fn log(lines: u64, seed: u64) -> Vec<u8> {
    let mut rng = Rng::new(seed);
    let mut out = Vec::with_capacity(lines as usize * 560);
    for i in 0..lines {
        line(&mut rng, i, &mut out);
        out.push(b'\n');
    }
    out
}
