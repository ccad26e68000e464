//! Rough single-core throughput of parse and parse+encode on synthetic 33-field access lines.
//! `cargo run --release -p fleetwatch-alb --example throughput [MB] [parse]`. Compare ratios measured in
//! the same run only: absolute figures move by a third with machine load.

use std::hint::black_box;
use std::time::Instant;

use fleetwatch_alb::encode::Format;
use fleetwatch_alb::{LogKind, Record, parse_line};

fn synthetic_log(target_bytes: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(target_bytes + 1024);
    let mut i: u64 = 0;
    while out.len() < target_bytes {
        i += 1;
        let line = format!(
            r#"https 2025-06-01T12:{:02}:{:02}.{:06}Z app/shop-alb/50dc6c495c0c9188 203.0.{}.{}:{} 10.0.1.{}:8080 0.001 0.0{} 0.000 {} {} {} {} "GET https://shop.example.com:443/api/items/{}?page={}&sort=price HTTP/1.1" "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36" TLS_AES_128_GCM_SHA256 TLSv1.3 arn:aws:elasticloadbalancing:eu-west-1:111122223333:targetgroup/shop-tg/6d0ecf831eec9f09 "Root=1-6650f3a0-{:024x}" "shop.example.com" "arn:aws:acm:eu-west-1:111122223333:certificate/aaaabbbb-cccc-dddd-eeee-ffff00001111" 3 2025-06-01T12:34:56.735000Z "forward" "-" "-" "10.0.1.{}:8080" "{}" "-" "-" TID_{:032x} "-" "-" "-""#,
            (i / 60) % 60,
            i % 60,
            i % 1_000_000,
            i % 256,
            (i * 7) % 256,
            1024 + i % 60000,
            i % 200,
            i % 97,
            if i.is_multiple_of(50) { 502 } else { 200 },
            if i.is_multiple_of(50) {
                "-".to_string()
            } else {
                "200".to_string()
            },
            300 + i % 5000,
            1000 + i % 90000,
            i,
            i % 10,
            i,
            i % 200,
            if i.is_multiple_of(50) { "-" } else { "200" },
            i,
        );
        out.extend_from_slice(line.as_bytes());
        out.push(b'\n');
    }
    out
}

fn main() {
    let mb: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(64);
    let data = synthetic_log(mb << 20);
    // memchr line splitting, as a real reader would do (a byte-wise split costs more than parsing).
    let data = &data[..];
    let lines = move || {
        let mut start = 0;
        memchr::memchr_iter(b'\n', data).map(move |end| {
            let line = &data[start..end];
            start = end + 1;
            line
        })
    };
    let rate = |secs: f64| data.len() as f64 / secs / 1e6;

    let start = Instant::now();
    let mut ok = 0usize;
    for line in lines() {
        if let Ok(Record::Access(r)) = parse_line(LogKind::Access, line) {
            black_box(&r);
            ok += 1;
        }
    }
    println!(
        "parse only:     {:7.0} MB/s ({ok} lines)",
        rate(start.elapsed().as_secs_f64())
    );

    if std::env::args().nth(2).as_deref() == Some("parse") {
        return;
    }
    for format in Format::ALL {
        // A sink flushes its buffer every few MB; reusing one keeps page faults out of the figure.
        let mut out = Vec::with_capacity(4 << 20);
        let mut written = 0usize;
        let start = Instant::now();
        for line in lines() {
            if let Ok(r) = parse_line(LogKind::Access, line) {
                format.encode(&r, &mut out);
                out.push(b'\n');
            }
            if out.len() > (3 << 20) {
                written += out.len();
                black_box(&out);
                out.clear();
            }
        }
        written += out.len();
        let secs = start.elapsed().as_secs_f64();
        println!(
            "parse + {format:<5}:  {:7.0} MB/s of input ({} MB written)",
            rate(secs),
            written >> 20
        );
    }
}
