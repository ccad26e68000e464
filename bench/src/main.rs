//! Throughput and peak memory of the alb-logs parser, with its baselines measured in the same run,
//! and of the whole per-object pass with every output on (rows f..f5, src/pass.rs).
//!
//! `cargo run --release -- [--lines N] [--reps N] [--cpu N] [--gigabyte]` (see README.md).
//!
//! Every row runs over the same deterministic synthetic lines (src/synth.rs). MB/s is of decompressed
//! log, MB = 10^6 bytes. Each row is repeated `--reps` times; the best run is the headline (the run
//! least disturbed by the other tenants of a shared machine) and the median is printed beside it.

mod pass;
mod synth;

/// The gzip reader `lines` uses (libdeflate whole members, flate2 streaming beyond the limits).
#[path = "../../shared/alb-logs/src/inflate.rs"]
#[allow(dead_code)]
mod inflate;
/// The pipeline's own reader, compiled from its source file (see Cargo.toml for why this is not a
/// dependency on the `fleetwatch-alb-logs` crate).
#[path = "../../shared/alb-logs/src/lines.rs"]
#[allow(dead_code)]
mod lines;

use std::hint::black_box;
use std::io::{Read, Write};
use std::time::{Duration, Instant};

use flate2::Compression;
use flate2::write::GzEncoder;
use fleetwatch_alb::encode::Format;
use fleetwatch_alb::{LogKind, Record, parse_line};
use lines::{LogReader, for_each_line};

/// The Athena regex, exactly as AWS's Athena documentation gives it in "Create the table for ALB
/// access logs" (the version with classification, classification_reason and conn_trace_id; the
/// `\"` of the SQL string literal is a plain `"`). Hive's RegexSerDe uses `Matcher.matches()`, a
/// whole-line match, hence the `^(?:...)$` around it.
const ATHENA_REGEX: &str = r#"([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*):([0-9]*) ([^ ]*)[:-]([0-9]*) ([-.0-9]*) ([-.0-9]*) ([-.0-9]*) (|[-0-9]*) (-|[-0-9]*) ([-0-9]*) ([-0-9]*) "([^ ]*) (.*) (- |[^ ]*)" "([^"]*)" ([A-Z0-9-_]+) ([A-Za-z0-9.-]*) ([^ ]*) "([^"]*)" "([^"]*)" "([^"]*)" ([-.0-9]*) ([^ ]*) "([^"]*)" "([^"]*)" "([^ ]*)" "([^\s]+?)" "([^\s]+)" "([^ ]*)" "([^ ]*)" ?([^ ]*)?( .*)?"#;

/// What Vector users write in a remap transform; `strict_mode: false` ignores the fields after
/// conn_trace_id (in strict mode, the default, every current 33-field line is rejected).
const VRL_PROGRAM: &str = ". = parse_aws_alb_log!(.message, strict_mode: false)";
const VRL_PROGRAM_STRICT: &str = ". = parse_aws_alb_log!(.message)";

/// NDJSON batch size before the buffer is handed off (and here cleared): a bulk request's size.
const BATCH: usize = 5 << 20;

/// Plain bytes per gzip member of the synthetic object.
const MEMBER: usize = 4 << 20;

struct Args {
    lines: u64,
    reps: usize,
    cpu: Option<usize>,
    gigabyte: bool,
    rss_probe: Option<u64>,
    rss_probe_pass: Option<u64>,
    only: Option<String>,
}

fn parse_args() -> Args {
    let mut args = Args {
        lines: 200_000,
        reps: 5,
        cpu: None,
        gigabyte: false,
        rss_probe: None,
        rss_probe_pass: None,
        only: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = || {
            it.next()
                .and_then(|v| v.replace('_', "").parse::<u64>().ok())
                .unwrap_or_else(|| panic!("{a} needs a number"))
        };
        match a.as_str() {
            "--lines" => args.lines = value(),
            "--reps" => args.reps = value().max(1) as usize,
            "--cpu" => args.cpu = Some(value() as usize),
            "--gigabyte" => args.gigabyte = true,
            "--rss-probe" => args.rss_probe = Some(value()),
            "--rss-probe-pass" => args.rss_probe_pass = Some(value()),
            // Run only the rows whose label starts with this (e.g. `b2`), for profiling.
            "--only" => args.only = Some(it.next().expect("--only needs a row label")),
            "-h" | "--help" => {
                println!(
                    "fleetwatch-bench [--lines N (200000)] [--reps N (5)] [--cpu N (last allowed)] [--gigabyte] [--only ROW]"
                );
                std::process::exit(0);
            }
            other => panic!("unknown argument {other}"),
        }
    }
    args
}

fn main() {
    let args = parse_args();
    if let Some(bytes) = args.rss_probe {
        rss_probe(bytes);
        return;
    }
    if let Some(bytes) = args.rss_probe_pass {
        rss_probe_pass(bytes);
        return;
    }
    let online = std::thread::available_parallelism().map_or(0, |n| n.get());
    let cpu = pin(args.cpu);
    machine_info(online, cpu);

    let plain = synth::log(args.lines, 42);
    let gz = gzip_members(&plain, MEMBER, Compression::default());
    let lines: Vec<&[u8]> = split_lines(&plain);
    let mb = plain.len() as f64 / 1e6;
    let old = lines
        .iter()
        .filter(|l| !l.windows(4).any(|w| w == b"TID_"))
        .count();
    println!(
        "input: {} lines, {:.1} MB decompressed ({:.0} bytes/line, {:.1}% 29-field lines), {:.1} MB gzip in {} members (ratio {:.1})",
        lines.len(),
        mb,
        plain.len() as f64 / lines.len() as f64,
        100.0 * old as f64 / lines.len() as f64,
        gz.len() as f64 / 1e6,
        plain.len().div_ceil(MEMBER),
        plain.len() as f64 / gz.len() as f64
    );
    println!(
        "each row: best of {} runs (median in brackets); MB = 10^6 bytes of decompressed log\n",
        args.reps
    );

    let mut table = Table::new(plain.len(), lines.len(), args.only.clone());

    // (a) The ceiling: nothing downstream can go faster than the decompressor the pipeline
    // uses (libdeflate whole members within bounded buffers, `inflate::GzipReader`).
    table.run(
        "a  gunzip (pipeline GzipReader, libdeflate)",
        args.reps,
        || {
            let mut decoder = inflate::GzipReader::new(&gz[..]);
            assert_eq!(drain(&mut decoder), plain.len());
            assert!(!decoder.is_streaming());
            "".to_string()
        },
    );

    // (a1) The streaming decoder alone (flate2 / zlib-rs): the pipeline's only decompressor
    // before libdeflate, and still its fallback for members beyond the buffers.
    table.run(
        "a1 gunzip (flate2 MultiGzDecoder, zlib-rs)",
        args.reps,
        || {
            let mut decoder = flate2::bufread::MultiGzDecoder::new(&gz[..]);
            assert_eq!(drain(&mut decoder), plain.len());
            "".to_string()
        },
    );

    // (a2) What the pipeline's reader adds: gunzip + LogReader + for_each_line, no parse.
    table.run("a2 gunzip + for_each_line (no parse)", args.reps, || {
        let reader = LogReader::open(&gz[..]).unwrap();
        let mut n = 0u64;
        let totals = for_each_line(reader, |line| n += line.bytes.len() as u64).unwrap();
        black_box(n);
        assert_eq!(totals.lines as usize, lines.len());
        "".to_string()
    });

    // (b) Parse only, lines already in memory.
    table.run("b  parse_line only (in memory)", args.reps, || {
        let (mut ok, mut failed, mut sum) = (0u64, 0u64, 0u64);
        for line in &lines {
            match parse_line(LogKind::Access, line) {
                Ok(Record::Access(r)) => {
                    ok += 1;
                    sum = sum
                        .wrapping_add(r.elb_status_code.unwrap_or(0) as u64)
                        .wrapping_add(r.sent_bytes.unwrap_or(0))
                        .wrapping_add(r.known_fields as u64);
                }
                Ok(_) => ok += 1,
                Err(_) => failed += 1,
            }
        }
        black_box(sum);
        format!("{ok} ok, {failed} rejected")
    });

    // (b2) Parse + ECS encode, lines in memory: the encoder's share of (c).
    table.run("b2 parse_line + Ecs encode (in memory)", args.reps, || {
        let mut out = Vec::with_capacity(BATCH + 64 * 1024);
        let (mut failed, mut written) = (0u64, 0usize);
        for line in &lines {
            match parse_line(LogKind::Access, line) {
                Ok(r) => {
                    Format::Ecs.encode(&r, &mut out);
                    out.push(b'\n');
                }
                Err(_) => failed += 1,
            }
            if out.len() >= BATCH {
                written += out.len();
                black_box(&out);
                out.clear();
            }
        }
        written += out.len();
        black_box(&out);
        format!("{failed} rejected, {:.0} MB NDJSON", written as f64 / 1e6)
    });

    // (c) End to end: what the Lambda does per object, minus the network.
    table.run(
        "c  end-to-end: gunzip+lines+parse+Ecs NDJSON",
        args.reps,
        || {
            let mut out = Vec::with_capacity(BATCH + 64 * 1024);
            let (mut failed, mut written) = (0u64, 0usize);
            let reader = LogReader::open(&gz[..]).unwrap();
            for_each_line(reader, |line| {
                match parse_line(LogKind::Access, line.bytes) {
                    Ok(r) => {
                        Format::Ecs.encode(&r, &mut out);
                        out.push(b'\n');
                    }
                    Err(_) => failed += 1,
                }
                if out.len() >= BATCH {
                    written += out.len();
                    black_box(&out);
                    out.clear();
                }
            })
            .unwrap();
            written += out.len();
            black_box(&out);
            format!("{failed} rejected, {:.0} MB NDJSON", written as f64 / 1e6)
        },
    );

    // (f) The real per-object pass, every output on: `Pipeline::process` of fleetwatch-alb-logs
    // on the object held in memory (`MemoryObjectSource`), ECS documents framed as `_bulk`
    // action lines with their ids in a body flushed every 5 MiB (`pass::BulkBody`, what
    // `BulkIndexer::add` builds), the Parquet table written to the work directory, dead letters,
    // statistics and the threshold evaluation; the files "stored" by reading their size.
    // f1..f3 turn the outputs on one by one (their differences are each output's cost); f4 is
    // f on the same lines with every 100th cut short (dead letters written).
    let pass_row = pass::PassRow::new();
    let source = pass::memory_source(&gz);
    let object = pass::object_ref(Some(gz.len() as u64));
    for (name, outputs) in [
        (
            "f  pass, every output (Pipeline::process)",
            pass::Outputs::Every,
        ),
        (
            "f1 pass: statistics only (no search, no table)",
            pass::Outputs::StatsOnly,
        ),
        (
            "f2 pass: + ECS documents and ids (dropped)",
            pass::Outputs::Documents,
        ),
        ("f3 pass: + _bulk body (no Parquet)", pass::Outputs::Bulk),
    ] {
        table.run(name, args.reps, || {
            let bulk = pass::BulkBody::new();
            let store = pass::SizeOnlyStore::default();
            let report = pass_row.run(&source, &object, outputs, &bulk, &store);
            assert_eq!(report.stats.lines as usize, lines.len());
            assert!(report.corrupt.is_none());
            pass::note(&report, &bulk, &store, outputs)
        });
    }
    if args
        .only
        .as_deref()
        .is_none_or(|only| "f4".starts_with(only))
    {
        let (bad_plain, bad_lines) = with_bad_lines(&lines, 100);
        let bad_gz = gzip_members(&bad_plain, MEMBER, Compression::default());
        let bad_source = pass::memory_source(&bad_gz);
        let bad_object = pass::object_ref(Some(bad_gz.len() as u64));
        table.run(
            "f4 f with 1% of lines cut (dead letters)",
            args.reps,
            || {
                let bulk = pass::BulkBody::new();
                let store = pass::SizeOnlyStore::default();
                let report = pass_row.run(
                    &bad_source,
                    &bad_object,
                    pass::Outputs::Every,
                    &bulk,
                    &store,
                );
                assert_eq!(report.stats.failed, bad_lines);
                pass::note(&report, &bulk, &store, pass::Outputs::Every)
            },
        );
    }

    // (f5) f with one proposed change to fleetwatch-search's `BulkIndexer` (not what it does
    // today): the action line written without `json!` (the same bytes) and the body's buffer
    // kept between requests.
    if args
        .only
        .as_deref()
        .is_none_or(|only| "f5".starts_with(only))
    {
        pass::check_direct_action_line();
        table.run(
            "f5 f, _bulk action line written directly",
            args.reps,
            || {
                let bulk = pass::BulkBody::direct();
                let store = pass::SizeOnlyStore::default();
                let report = pass_row.run(&source, &object, pass::Outputs::Every, &bulk, &store);
                assert_eq!(report.stats.lines as usize, lines.len());
                pass::note(&report, &bulk, &store, pass::Outputs::Every)
            },
        );
    }
    drop(source);

    // (d) Vector's parser, through the VRL runtime as Vector's remap transform runs it.
    let vrl = Vrl::new(VRL_PROGRAM);
    table.run(
        "d  Vector parse_aws_alb_log (VRL, non-strict)",
        args.reps,
        || {
            let (ok, failed) = vrl.run(&lines, false);
            format!("{ok} ok, {failed} rejected")
        },
    );
    // (d2) The same plus serializing the event to JSON, as a sink would.
    table.run(
        "d2 Vector parse_aws_alb_log + serde_json",
        args.reps,
        || {
            let (ok, failed) = vrl.run(&lines, true);
            format!("{ok} ok, {failed} rejected")
        },
    );
    let sample = &lines[..lines.len().min(20_000)];
    let (strict_ok, strict_failed) = Vrl::new(VRL_PROGRAM_STRICT).run(sample, false);

    // (e) The Athena regex.
    let re = regex::bytes::Regex::new(&format!("^(?:{ATHENA_REGEX})$")).unwrap();
    table.run("e  Athena regex (regex crate, captures)", args.reps, || {
        let mut locs = re.capture_locations();
        let (mut ok, mut failed, mut sum) = (0u64, 0u64, 0usize);
        for line in &lines {
            if re.captures_read(&mut locs, line).is_some() {
                ok += 1;
                sum += locs.get(16).map_or(0, |(s, e)| e - s);
            } else {
                failed += 1;
            }
        }
        black_box(sum);
        format!("{ok} matched, {failed} not matched")
    });

    if args.only.is_some() {
        return;
    }
    table.print();
    let vector_rejects = vrl.rejects(&lines);
    println!("\nlines Vector (non-strict) rejects, by shape (one example each):");
    for (shape, (count, example, error)) in &vector_rejects {
        println!("  {count:>7} {shape}: {error}\n          e.g. {example}");
    }
    let mut athena_rejects: std::collections::BTreeMap<String, (u64, String)> = Default::default();
    for line in &lines {
        if !re.is_match(line) {
            let e = athena_rejects
                .entry(shape(line))
                .or_insert((0, String::from_utf8_lossy(line).into_owned()));
            e.0 += 1;
        }
    }
    println!("lines the Athena regex does not match, by shape (one example each):");
    for (shape, (count, example)) in &athena_rejects {
        println!("  {count:>7} {shape}\n          e.g. {example}");
    }
    println!(
        "\nVector strict mode (default) on the first {} lines: {strict_ok} ok, {strict_failed} rejected",
        sample.len()
    );

    let e2e = table.best("c ");
    let parse = table.best("b ");
    let gunzip = table.best("a ");
    let vector = table.best("d ");
    let athena = table.best("e ");
    println!("\nratios (best runs):");
    println!("  end-to-end / Vector VRL      = {:.2}x", vector / e2e);
    println!("  parse-only / Athena regex    = {:.2}x", athena / parse);
    println!(
        "  end-to-end / gunzip ceiling  = {:.0}%",
        100.0 * gunzip / e2e
    );
    let every_best = table.best("f ");
    let every_median = table.median("f ");
    let gunzip_median = table.median("a ");
    let mbs_of = |secs: f64| plain.len() as f64 / secs / 1e6;
    println!(
        "  every output (f) / gunzip ceiling (a) = {:.2}x (medians: {:.0} / {:.0} MB/s; best runs {:.2}x)",
        gunzip_median / every_median,
        mbs_of(every_median),
        mbs_of(gunzip_median),
        gunzip / every_best
    );
    println!(
        "  NDJSON only (c) / gunzip ceiling (a)  = {:.2}x (medians)",
        gunzip_median / table.median("c ")
    );
    println!(
        "  1024 MB arm64 Lambda (0.58 vCPU, assuming a Graviton core as fast as this one): every output ~{:.0} MB/s, ceiling ~{:.0} MB/s",
        0.58 * mbs_of(every_median),
        0.58 * mbs_of(gunzip_median)
    );
    println!("\ntargets:");
    let mbs = |secs: f64| plain.len() as f64 / secs / 1e6;
    verdict(
        "end-to-end >= 250 MB/s per core",
        mbs(e2e) >= 250.0,
        format!("{:.0} MB/s", mbs(e2e)),
    );
    verdict(
        "end-to-end >= 3x Vector",
        vector / e2e >= 3.0,
        format!("{:.2}x", vector / e2e),
    );
    verdict(
        "parse-only >= 1 GB/s",
        mbs(parse) >= 1000.0,
        format!("{:.0} MB/s", mbs(parse)),
    );

    drop(lines);
    drop(plain);
    drop(gz);
    println!(
        "\npeak RSS of the streaming pipeline (gunzip + lines + parse + Ecs NDJSON, each in a fresh process):"
    );
    let mut sizes = vec![16_000_000u64];
    if args.gigabyte {
        sizes.push(1_000_000_000);
    }
    let mut peaks = Vec::new();
    for &bytes in &sizes {
        if let Some(kb) = run_probe("--rss-probe", bytes, &[]) {
            peaks.push(kb);
        }
    }
    println!(
        "peak RSS of the per-object pass, every output (Pipeline::process, _bulk body, Parquet row groups; each in a fresh process):"
    );
    let mut pass_peaks = Vec::new();
    for &bytes in &sizes {
        if let Some(kb) = run_probe("--rss-probe-pass", bytes, &[]) {
            pass_peaks.push(kb);
        }
    }
    println!("the same without the Parquet table (FLEETWATCH_BENCH_OUTPUTS=bulk):");
    for &bytes in &sizes {
        run_probe(
            "--rss-probe-pass",
            bytes,
            &[("FLEETWATCH_BENCH_OUTPUTS", "bulk")],
        );
    }
    if let Some(&max) = pass_peaks.iter().max() {
        verdict(
            "pass, every output: peak RSS < 128 MB",
            max < 128 * 1024,
            format!("max VmHWM {:.1} MB", max as f64 / 1024.0),
        );
    }
    if let Some(&max) = peaks.iter().max() {
        verdict(
            "peak RSS < 128 MB whatever the size",
            max < 128 * 1024,
            format!(
                "max VmHWM {:.1} MB{}",
                max as f64 / 1024.0,
                if args.gigabyte {
                    ""
                } else {
                    " (run with --gigabyte for the 1 GB object)"
                }
            ),
        );
    }
}

/// Runs a probe in a fresh process; prints its line and returns its VmHWM in kB.
fn run_probe(flag: &str, bytes: u64, env: &[(&str, &str)]) -> Option<u64> {
    let exe = std::env::current_exe().unwrap();
    let output = std::process::Command::new(exe)
        .args([flag, &bytes.to_string()])
        .envs(env.iter().copied())
        .output()
        .expect("run the RSS probe");
    let text = String::from_utf8_lossy(&output.stdout);
    print!("  {text}");
    if !output.status.success() {
        println!(
            "  probe failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    text.split("VmHWM ")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .and_then(|s| s.parse::<u64>().ok())
}

/// The same lines with every `every`-th one cut to its first 40 bytes (inside the load
/// balancer's name: too few fields, a dead letter); the text and the number of lines cut.
fn with_bad_lines(lines: &[&[u8]], every: usize) -> (Vec<u8>, u64) {
    let mut out = Vec::with_capacity(lines.iter().map(|l| l.len() + 1).sum());
    let mut cut = 0;
    for (i, line) in lines.iter().enumerate() {
        if i % every == every - 1 {
            out.extend_from_slice(&line[..line.len().min(40)]);
            cut += 1;
        } else {
            out.extend_from_slice(line);
        }
        out.push(b'\n');
    }
    (out, cut)
}

fn verdict(target: &str, met: bool, got: String) {
    println!(
        "  {:<40} {:<10} {}",
        target,
        got,
        if met { "MET" } else { "NOT MET" }
    );
}

/// Pins the process (and every thread it starts) to one CPU: the last one it may use, unless
/// told.
fn pin(cpu: Option<usize>) -> usize {
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::sched_getaffinity(0, size_of::<libc::cpu_set_t>(), &mut set);
        let allowed: Vec<usize> = (0..libc::CPU_SETSIZE as usize)
            .filter(|&c| libc::CPU_ISSET(c, &set))
            .collect();
        let cpu = cpu.unwrap_or(*allowed.last().unwrap());
        let mut one: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut one);
        if libc::sched_setaffinity(0, size_of::<libc::cpu_set_t>(), &one) != 0 {
            panic!("sched_setaffinity({cpu}) failed");
        }
        cpu
    }
}

fn machine_info(online: usize, cpu: usize) {
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_default();
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "machine: {} CPUs online, \"{model}\"; pinned to CPU {cpu}; load average {}",
        online,
        load.split(' ').take(3).collect::<Vec<_>>().join(" ")
    );
}

fn split_lines(data: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut start = 0;
    for end in memchr::memchr_iter(b'\n', data) {
        out.push(&data[start..end]);
        start = end + 1;
    }
    if start < data.len() {
        out.push(&data[start..]);
    }
    out
}

/// Reads a decompressor to its end through a 256 KB buffer, as the pipeline does; the byte count.
fn drain(mut reader: impl Read) -> usize {
    let mut buf = vec![0u8; 256 * 1024];
    let mut total = 0usize;
    loop {
        let n = reader.read(&mut buf).unwrap();
        if n == 0 {
            return total;
        }
        total += n;
        black_box(&buf[..n]);
    }
}

/// A multi-member gzip object: one member per `member` bytes of plain text, cut at line ends.
fn gzip_members(plain: &[u8], member: usize, level: Compression) -> Vec<u8> {
    let mut out = Vec::with_capacity(plain.len() / 8);
    let mut start = 0;
    while start < plain.len() {
        let mut end = (start + member).min(plain.len());
        if end < plain.len() {
            end = start
                + member
                + memchr::memchr(b'\n', &plain[start + member..])
                    .map_or(plain.len() - start - member, |p| p + 1);
        }
        let mut enc = GzEncoder::new(Vec::new(), level);
        enc.write_all(&plain[start..end]).unwrap();
        out.extend(enc.finish().unwrap());
        start = end;
    }
    out
}

struct Row {
    name: &'static str,
    best: f64,
    median: f64,
    note: String,
}

struct Table {
    bytes: usize,
    lines: usize,
    only: Option<String>,
    rows: Vec<Row>,
}

impl Table {
    fn new(bytes: usize, lines: usize, only: Option<String>) -> Self {
        Table {
            bytes,
            lines,
            only,
            rows: Vec::new(),
        }
    }

    fn run(&mut self, name: &'static str, reps: usize, mut f: impl FnMut() -> String) {
        if let Some(only) = &self.only {
            if !name.starts_with(only.as_str()) {
                return;
            }
        }
        let mut times = Vec::new();
        let mut note = String::new();
        for _ in 0..reps {
            let start = Instant::now();
            note = f();
            times.push(start.elapsed());
        }
        times.sort();
        let best = times[0].as_secs_f64();
        let median = times[times.len() / 2].as_secs_f64();
        println!(
            "{name:<46} {:>7.0} MB/s [{:>5.0}] {:>6.2} M lines/s  {note}",
            self.bytes as f64 / best / 1e6,
            self.bytes as f64 / median / 1e6,
            self.lines as f64 / best / 1e6
        );
        self.rows.push(Row {
            name,
            best,
            median,
            note,
        });
    }

    fn best(&self, prefix: &str) -> f64 {
        self.rows
            .iter()
            .find(|r| r.name.starts_with(prefix))
            .unwrap()
            .best
    }

    fn median(&self, prefix: &str) -> f64 {
        self.rows
            .iter()
            .find(|r| r.name.starts_with(prefix))
            .unwrap()
            .median
    }

    fn print(&self) {
        println!("\n| row | MB/s (best) | MB/s (median) | lines/s (best) | notes |");
        println!("|---|---:|---:|---:|---|");
        for r in &self.rows {
            println!(
                "| {} | {:.0} | {:.0} | {:.2} M | {} |",
                r.name,
                self.bytes as f64 / r.best / 1e6,
                self.bytes as f64 / r.median / 1e6,
                self.lines as f64 / r.best / 1e6,
                r.note
            );
        }
    }
}

/// A coarse description of a line, to group rejected lines.
fn shape(line: &[u8]) -> String {
    let text = String::from_utf8_lossy(line);
    let mut parts = Vec::new();
    if !text.contains(" TID_") {
        parts.push("29-field");
    }
    let client = text.split(' ').nth(3).unwrap_or("");
    if client.matches(':').count() > 1 {
        parts.push("IPv6 client");
    }
    if text.contains(":8080 10.0.") {
        parts.push("2-target list");
    }
    if parts.is_empty() {
        parts.push("other");
    }
    parts.join(", ")
}

struct Vrl {
    program: vrl::compiler::Program,
}

impl Vrl {
    fn new(source: &str) -> Self {
        let fns: Vec<Box<dyn vrl::compiler::Function>> =
            vec![Box::new(vrl::stdlib::ParseAwsAlbLog)];
        let compiled =
            vrl::compiler::compile(source, &fns).unwrap_or_else(|d| panic!("VRL: {d:?}"));
        Vrl {
            program: compiled.program,
        }
    }

    /// The rejected lines grouped by [`shape`]: count, one example, its error.
    fn rejects(
        &self,
        lines: &[&[u8]],
    ) -> std::collections::BTreeMap<String, (u64, String, String)> {
        use vrl::compiler::state::RuntimeState;
        use vrl::compiler::{Context, TargetValue, TimeZone};
        use vrl::value::{ObjectMap, Secrets, Value};
        let timezone = TimeZone::default();
        let mut state = RuntimeState::default();
        let mut out: std::collections::BTreeMap<String, (u64, String, String)> = Default::default();
        for line in lines {
            let mut event = ObjectMap::new();
            event.insert(
                "message".into(),
                Value::Bytes(bytes::Bytes::copy_from_slice(line)),
            );
            let mut target = TargetValue {
                value: Value::Object(event),
                metadata: Value::Object(ObjectMap::new()),
                secrets: Secrets::default(),
            };
            let mut ctx = Context::new(&mut target, &mut state, &timezone);
            if let Err(err) = self.program.resolve(&mut ctx) {
                let e = out.entry(shape(line)).or_insert((
                    0,
                    String::from_utf8_lossy(line).into_owned(),
                    err.to_string(),
                ));
                e.0 += 1;
            }
        }
        out
    }

    /// Runs the program once per line, as Vector's remap does per event. Returns (ok, rejected).
    fn run(&self, lines: &[&[u8]], serialize: bool) -> (u64, u64) {
        use vrl::compiler::state::RuntimeState;
        use vrl::compiler::{Context, TargetValue, TimeZone};
        use vrl::value::{ObjectMap, Secrets, Value};

        let timezone = TimeZone::default();
        let mut state = RuntimeState::default();
        let mut out = Vec::with_capacity(BATCH + 64 * 1024);
        let (mut ok, mut failed, mut sum) = (0u64, 0u64, 0usize);
        for line in lines {
            let mut event = ObjectMap::new();
            event.insert(
                "message".into(),
                Value::Bytes(bytes::Bytes::copy_from_slice(line)),
            );
            let mut target = TargetValue {
                value: Value::Object(event),
                metadata: Value::Object(ObjectMap::new()),
                secrets: Secrets::default(),
            };
            state.clear();
            let mut ctx = Context::new(&mut target, &mut state, &timezone);
            match self.program.resolve(&mut ctx) {
                Ok(_) => {
                    ok += 1;
                    if let Value::Object(map) = &target.value {
                        sum += map.len();
                    }
                    if serialize {
                        serde_json::to_writer(&mut out, &target.value).unwrap();
                        out.push(b'\n');
                        if out.len() >= BATCH {
                            black_box(&out);
                            out.clear();
                        }
                    }
                }
                Err(_) => failed += 1,
            }
        }
        black_box(sum);
        (ok, failed)
    }
}

/// One process, one streaming pass over `bytes` of generated log: a writer thread generates lines
/// and gzips them (a new member every 8 MB, or `FLEETWATCH_BENCH_MEMBER_MB`) into a pipe; this
/// thread reads the pipe as the Lambda reads the S3 body. Prints VmHWM (peak RSS) at the end.
fn rss_probe(bytes: u64) {
    let (reader, producer) = spawn_producer(bytes);
    let start = Instant::now();
    let mut out = Vec::with_capacity(BATCH + 64 * 1024);
    let (mut failed, mut written) = (0u64, 0u64);
    let reader = LogReader::open(reader).unwrap();
    let totals = for_each_line(reader, |line| {
        match parse_line(LogKind::Access, line.bytes) {
            Ok(r) => {
                Format::Ecs.encode(&r, &mut out);
                out.push(b'\n');
            }
            Err(_) => failed += 1,
        }
        if out.len() >= BATCH {
            written += out.len() as u64;
            black_box(&out);
            out.clear();
        }
    })
    .unwrap();
    let elapsed: Duration = start.elapsed();
    let (produced, generated_lines) = producer.join().unwrap();
    assert_eq!(totals.bytes, produced);
    assert_eq!(totals.lines, generated_lines);
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .unwrap_or("?")
            .to_string()
    };
    println!(
        "{:>6.0} MB streamed ({} lines, {failed} rejected, {:.0} MB NDJSON) in {:.1}s: VmHWM {} kB ({:.1} MB)",
        produced as f64 / 1e6,
        totals.lines,
        written as f64 / 1e6,
        elapsed.as_secs_f64(),
        field("VmHWM:"),
        field("VmHWM:").parse::<f64>().unwrap_or(0.0) / 1024.0
    );
}

/// A writer thread that generates `bytes` of log and gzips it into a pipe (a new member every
/// 8 MB, or `FLEETWATCH_BENCH_MEMBER_MB`); it returns the bytes and lines it produced.
fn spawn_producer(bytes: u64) -> (std::io::PipeReader, std::thread::JoinHandle<(u64, u64)>) {
    let member_bytes: u64 = std::env::var("FLEETWATCH_BENCH_MEMBER_MB")
        .ok()
        .and_then(|mb| mb.parse::<u64>().ok())
        .map_or(8 << 20, |mb| mb << 20);
    let (reader, writer) = std::io::pipe().expect("pipe");
    let producer = std::thread::spawn(move || {
        let mut writer = std::io::BufWriter::with_capacity(64 * 1024, writer);
        let mut rng = synth::Rng::new(7);
        let mut line = Vec::with_capacity(4096);
        let (mut produced, mut i) = (0u64, 0u64);
        while produced < bytes {
            let mut enc = GzEncoder::new(&mut writer, Compression::fast());
            let mut member = 0u64;
            while member < member_bytes && produced < bytes {
                line.clear();
                synth::line(&mut rng, i, &mut line);
                line.push(b'\n');
                enc.write_all(&line).unwrap();
                member += line.len() as u64;
                produced += line.len() as u64;
                i += 1;
            }
            enc.finish().unwrap();
        }
        writer.flush().unwrap();
        (produced, i)
    });
    (reader, producer)
}

/// One process, one object streamed through the real per-object pass with every output on
/// (`Pipeline::process` as in row f; the body is the pipe, read through the S3 adapter's buffer
/// size): the `_bulk` body, the Parquet row groups, the channel's batches and the decompressor's
/// buffers all count. `FLEETWATCH_BENCH_OUTPUTS=bulk` leaves the table out (row f3's outputs).
/// Prints VmHWM (peak RSS) at the end.
fn rss_probe_pass(bytes: u64) {
    let outputs = match std::env::var("FLEETWATCH_BENCH_OUTPUTS").as_deref() {
        Ok("bulk") => pass::Outputs::Bulk,
        Ok("every") | Err(_) => pass::Outputs::Every,
        Ok(other) => panic!("FLEETWATCH_BENCH_OUTPUTS={other}: every or bulk"),
    };
    let (reader, producer) = spawn_producer(bytes);
    let row = pass::PassRow::new();
    let source = pass::PipeSource(std::sync::Mutex::new(Some(reader)));
    let bulk = pass::BulkBody::new();
    let store = pass::SizeOnlyStore::default();
    let start = Instant::now();
    let report = row.run(&source, &pass::object_ref(None), outputs, &bulk, &store);
    let elapsed = start.elapsed();
    let (produced, generated_lines) = producer.join().unwrap();
    assert_eq!(report.stats.lines, generated_lines);
    assert!(report.corrupt.is_none());
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let hwm = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap_or("?")
        .to_string();
    println!(
        "{:>6.0} MB streamed in {:.1}s: {}, max _bulk body capacity {:.1} MB: VmHWM {} kB ({:.1} MB)",
        produced as f64 / 1e6,
        elapsed.as_secs_f64(),
        pass::note(&report, &bulk, &store, outputs),
        bulk.totals
            .max_capacity
            .load(std::sync::atomic::Ordering::Relaxed) as f64
            / 1e6,
        hwm,
        hwm.parse::<f64>().unwrap_or(0.0) / 1024.0
    );
}
