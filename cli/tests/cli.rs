//! The `fleetwatch` binary run as users run it, on the sample logs of `events/alb/` (written by
//! `events/alb/generate.py`, which also writes `manifest.json`: each file's line count, blank
//! lines and deliberately bad lines).

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use fleetwatch_alb::LogKind;
use fleetwatch_alb::encode::flat::{FLAT_COLUMNS, flat_columns};
use fleetwatch_alb_logs::Stats;
use fleetwatch_alb_logs::{LogReader, for_each_line};
use serde_json::Value;

const ACCESS: &str = "123456789012_elasticloadbalancing_eu-west-1_app.web.50dc6c495c0c9188_20261125T1005Z_10.0.1.7_2et2e1mx.log.gz";
const CONNECTION: &str = "conn_log_123456789012_elasticloadbalancing_eu-west-1_app.web.50dc6c495c0c9188_20261125T1005Z_10.0.1.7_7hx2pc4w.log.gz";
const CLASSIC: &str = "123456789012_elasticloadbalancing_eu-west-1_my-classic-lb_20261125T1005Z_192.0.2.44_5kq8bz1a.log";

/// (file, kind, lines, blank, bad): the manifest's numbers, restated so that a regenerated sample
/// set that changes them fails here rather than silently changing what the tests check.
const SAMPLES: &[(&str, LogKind, usize, usize, usize)] = &[
    (ACCESS, LogKind::Access, 307, 1, 6),
    (CONNECTION, LogKind::Connection, 33, 1, 2),
    (CLASSIC, LogKind::Classic, 26, 0, 1),
];

fn samples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../events/alb")
}

fn sample(name: &str) -> PathBuf {
    samples_dir().join(name)
}

fn manifest() -> Value {
    let text = std::fs::read_to_string(samples_dir().join("manifest.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn bad_lines(name: &str) -> Vec<u64> {
    manifest()[name]["bad_lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|bad| bad["line"].as_u64().unwrap())
        .collect()
}

fn fleetwatch() -> Command {
    Command::new(env!("CARGO_BIN_EXE_fleetwatch"))
}

fn run(args: &[&str]) -> Output {
    fleetwatch().args(args).output().unwrap()
}

fn run_with_stdin(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = fleetwatch()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    let bytes = stdin.to_vec();
    // Written from a thread: the child fills its stdout pipe while we would still be writing.
    let writer = std::thread::spawn(move || input.write_all(&bytes));
    let output = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    output
}

/// Every line of `text` as a JSON object.
fn json_lines(text: &[u8]) -> Vec<serde_json::Map<String, Value>> {
    String::from_utf8(text.to_vec())
        .unwrap()
        .lines()
        .map(|line| match serde_json::from_str(line) {
            Ok(Value::Object(map)) => map,
            other => panic!("not a JSON object: {line}: {other:?}"),
        })
        .collect()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Decompressed lines of a sample, read independently of the binary (every gzip member).
fn sample_lines(name: &str) -> Vec<Vec<u8>> {
    let file = std::fs::File::open(sample(name)).unwrap();
    let mut lines = Vec::new();
    for_each_line(LogReader::open(file).unwrap(), |line| {
        lines.push(line.bytes.to_vec())
    })
    .unwrap();
    lines
}

/// The gzip members of `bytes`, each as its compressed bytes.
fn gzip_members(mut bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut members = Vec::new();
    while !bytes.is_empty() {
        let before = bytes;
        let mut decoder = flate2::bufread::GzDecoder::new(&mut bytes);
        std::io::copy(&mut decoder, &mut std::io::sink()).unwrap();
        drop(decoder);
        members.push(before[..before.len() - bytes.len()].to_vec());
    }
    members
}

#[test]
fn samples_match_their_manifest() {
    let manifest = manifest();
    for (name, kind, lines, blank, bad) in SAMPLES {
        let entry = &manifest[*name];
        assert_eq!(entry["lines"], *lines, "{name}");
        assert_eq!(entry["blank_lines"].as_array().unwrap().len(), *blank);
        assert_eq!(bad_lines(name).len(), *bad, "{name}");
        assert_eq!(LogKind::from_key(name), *kind, "{name}");
        let read = sample_lines(name);
        assert_eq!(
            read.len(),
            *lines,
            "{name}: lines read through every member"
        );
        assert_eq!(read.iter().filter(|l| l.is_empty()).count(), *blank);
    }
    let access = std::fs::read(sample(ACCESS)).unwrap();
    assert_eq!(
        gzip_members(&access).len(),
        4,
        "the access log is multi-member"
    );
    let total: u64 = std::fs::read_dir(samples_dir())
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum();
    assert!(total < 100 * 1024, "samples are {total} bytes");
}

/// What one document of `kind` in `format` must look like.
fn check_document(format: &str, kind: LogKind, doc: &serde_json::Map<String, Value>) {
    match format {
        "ecs" => assert!(doc.contains_key("@timestamp"), "{doc:?}"),
        "vrl" => {
            assert!(!doc.contains_key("@timestamp"), "{doc:?}");
            assert!(
                doc.contains_key("client_host") || doc.contains_key("client_ip"),
                "{doc:?}"
            );
        }
        "flat" => {
            let keys: BTreeSet<&str> = doc.keys().map(String::as_str).collect();
            let columns: BTreeSet<&str> = flat_columns(kind).iter().map(|c| c.name).collect();
            assert_eq!(keys, columns);
        }
        other => panic!("no check for {other}"),
    }
}

#[test]
fn parse_writes_a_document_per_good_line_and_reports_every_bad_line() {
    let dir = tempfile::tempdir().unwrap();
    for (name, kind, lines, blank, bad) in SAMPLES {
        for format in ["ecs", "vrl", "flat"] {
            let errors = dir.path().join(format!("{format}-errors.ndjson"));
            let path = sample(name);
            let output = run(&[
                "alb",
                "parse",
                "--format",
                format,
                "--errors",
                errors.to_str().unwrap(),
                path.to_str().unwrap(),
            ]);
            let context = format!("{name} as {format}");
            assert!(output.status.success(), "{context}: {}", stderr(&output));
            assert_eq!(stderr(&output), "", "{context}");

            let documents = json_lines(&output.stdout);
            let reports = json_lines(&std::fs::read(&errors).unwrap());
            assert_eq!(documents.len(), lines - blank - bad, "{context}");
            assert_eq!(documents.len() + reports.len(), lines - blank, "{context}");
            for doc in &documents {
                check_document(format, *kind, doc);
            }

            let reported: Vec<u64> = reports
                .iter()
                .map(|r| r["line"].as_u64().unwrap())
                .collect();
            assert_eq!(reported, bad_lines(name), "{context}");
            let raw_lines = sample_lines(name);
            for report in &reports {
                assert_eq!(report["input"], path.to_str().unwrap(), "{context}");
                assert_eq!(report["kind"], kind.as_str(), "{context}");
                assert!(!report["reason"].as_str().unwrap().is_empty());
                assert!(!report["code"].as_str().unwrap().is_empty());
                let number = report["line"].as_u64().unwrap() as usize;
                let raw = String::from_utf8_lossy(&raw_lines[number - 1]);
                assert_eq!(report["raw"], raw.as_ref(), "{context}");
            }
        }
    }
}

#[test]
fn invalid_utf8_in_a_bad_line_is_reported_as_valid_json() {
    let dir = tempfile::tempdir().unwrap();
    let errors = dir.path().join("errors.ndjson");
    let output = run(&[
        "alb",
        "parse",
        "--errors",
        errors.to_str().unwrap(),
        sample(ACCESS).to_str().unwrap(),
    ]);
    assert!(output.status.success());
    let reports = json_lines(&std::fs::read(&errors).unwrap());
    let junk = reports.iter().find(|r| r["line"] == 215).unwrap();
    assert_eq!(junk["raw"], "\u{0}\u{1}garbage \u{FFFD}\u{FFFD} line");
}

#[test]
fn standard_input_lets_the_content_decide_the_kind() {
    let bytes = std::fs::read(sample(ACCESS)).unwrap();
    // On stdin there is no file name: the Classic ELB line in the ALB file (line 287) parses as
    // what it is, the other bad lines still fail.
    let want_bad: Vec<u64> = bad_lines(ACCESS)
        .into_iter()
        .filter(|&l| l != 287)
        .collect();
    for args in [&["alb", "parse", "-"][..], &["alb", "parse"][..]] {
        let output = run_with_stdin(args, &bytes);
        assert!(output.status.success(), "{args:?}: {}", stderr(&output));
        let documents = json_lines(&output.stdout);
        assert_eq!(documents.len(), 301, "{args:?}");
        // Without --errors the reports go to stderr.
        let reports = json_lines(&output.stderr);
        let lines: Vec<u64> = reports
            .iter()
            .map(|r| r["line"].as_u64().unwrap())
            .collect();
        assert_eq!(lines, want_bad, "{args:?}");
        assert!(
            reports
                .iter()
                .all(|r| r["input"] == "-" && r["kind"] == "unknown")
        );
    }
}

#[test]
fn several_inputs_are_one_stream_and_line_numbers_restart_per_input() {
    let dir = tempfile::tempdir().unwrap();
    let errors = dir.path().join("errors.ndjson");
    let output = run(&[
        "alb",
        "parse",
        "--format",
        "flat",
        "--errors",
        errors.to_str().unwrap(),
        sample(CLASSIC).to_str().unwrap(),
        sample(CONNECTION).to_str().unwrap(),
    ]);
    assert!(output.status.success());
    assert_eq!(json_lines(&output.stdout).len(), 25 + 30);
    let reports = json_lines(&std::fs::read(&errors).unwrap());
    let got: Vec<(String, u64)> = reports
        .iter()
        .map(|r| {
            let input = r["input"].as_str().unwrap();
            let file = Path::new(input).file_name().unwrap().to_str().unwrap();
            (file.to_string(), r["line"].as_u64().unwrap())
        })
        .collect();
    let want = vec![
        (CLASSIC.to_string(), 19),
        (CONNECTION.to_string(), 11),
        (CONNECTION.to_string(), 28),
    ];
    assert_eq!(got, want);
}

#[test]
fn a_missing_input_is_exit_status_2_naming_it_and_the_others_are_still_parsed() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-file.log.gz");
    let errors = dir.path().join("errors.ndjson");
    let output = run(&[
        "alb",
        "parse",
        "--errors",
        errors.to_str().unwrap(),
        missing.to_str().unwrap(),
        sample(CLASSIC).to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(2));
    let message = stderr(&output);
    assert!(message.contains(missing.to_str().unwrap()), "{message}");
    assert!(message.contains("cannot open"), "{message}");
    assert_eq!(json_lines(&output.stdout).len(), 25);
}

#[test]
fn a_corrupt_gzip_is_exit_status_2_after_the_lines_before_the_damage() {
    let dir = tempfile::tempdir().unwrap();
    let access = std::fs::read(sample(ACCESS)).unwrap();
    let members = gzip_members(&access);
    // The first member intact, then bytes that are not a gzip member.
    let mut corrupt = members[0].clone();
    corrupt.extend_from_slice(b"\x1f\x8b\x08\x00 this is not deflate data at all");
    let first_member_lines = {
        let mut text = Vec::new();
        flate2::read::GzDecoder::new(&members[0][..])
            .read_to_end(&mut text)
            .unwrap();
        text.iter().filter(|&&b| b == b'\n').count()
    };
    assert_eq!(first_member_lines, 80);
    let bad_in_first_member = bad_lines(ACCESS).iter().filter(|&&l| l <= 80).count();
    assert_eq!(bad_in_first_member, 1);

    let path = dir.path().join(ACCESS);
    std::fs::write(&path, &corrupt).unwrap();
    let errors = dir.path().join("errors.ndjson");
    let output = run(&[
        "alb",
        "parse",
        "--errors",
        errors.to_str().unwrap(),
        path.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(2));
    let message = stderr(&output);
    assert!(message.contains(path.to_str().unwrap()), "{message}");
    assert!(message.contains("after 80 lines"), "{message}");
    assert_eq!(json_lines(&output.stdout).len(), 79);
}

#[test]
fn a_reader_that_stops_early_ends_the_command_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let errors = dir.path().join("errors.ndjson");
    let access = sample(ACCESS);
    let access = access.to_str().unwrap();
    // Enough output to fill the pipe many times over.
    let mut args = vec!["alb", "parse", "--errors", errors.to_str().unwrap()];
    args.extend([access; 20]);
    let mut child = fleetwatch()
        .args(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    // The stdout pipe is closed here, like `| head -1` exiting.
    let output = child.wait_with_output().unwrap();
    assert!(first.starts_with('{'));
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(stderr(&output), "");
}

#[test]
fn an_unknown_format_is_a_usage_error() {
    let output = run(&["alb", "parse", "--format", "xml", "-"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("xml"));
}

/// `Stats` folded directly with the libraries, as the binary should.
fn direct_fold(names: &[&str]) -> Stats {
    let mut stats = Stats::new();
    for name in names {
        let kind = LogKind::from_key(name);
        let file = std::fs::File::open(sample(name)).unwrap();
        for_each_line(
            LogReader::open(file).unwrap(),
            |line| match fleetwatch_alb::parse_line(kind, line.bytes) {
                Ok(record) => stats.record(&record),
                Err(fleetwatch_alb::ParseError::EmptyLine) => stats.blank_line(),
                Err(error) => stats.failed_line(&error),
            },
        )
        .unwrap();
    }
    stats
}

#[test]
fn stats_json_is_the_fold_of_every_input() {
    let names = [ACCESS, CONNECTION, CLASSIC];
    let paths: Vec<PathBuf> = names.iter().map(|n| sample(n)).collect();
    let mut args = vec!["alb", "stats", "--json", "--top", "7"];
    args.extend(paths.iter().map(|p| p.to_str().unwrap()));
    let output = run(&args);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stderr(&output), "", "no progress bar off a terminal");
    let got: Value = serde_json::from_slice(&output.stdout).unwrap();
    let want = serde_json::to_value(direct_fold(&names).report(7)).unwrap();
    assert_eq!(got, want);

    let (lines, blank, bad) = SAMPLES
        .iter()
        .fold((0, 0, 0), |(l, b, f), s| (l + s.2, b + s.3, f + s.4));
    assert_eq!(got["lines"], lines);
    assert_eq!(got["blank"], blank);
    assert_eq!(got["failed"], bad);
    assert_eq!(got["parsed"], lines - blank - bad);
    // Requests: the access and Classic lines (connection lines are not requests).
    assert_eq!(got["requests"], 300 + 25);
    assert_eq!(got["top_paths"].as_array().unwrap().len(), 7);
    let groups: Vec<&str> = got["target_groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap())
        .collect();
    assert_eq!(groups, ["web-tg", "api-tg", "thumbs-lambda"]);
    let classifications = got["classifications"].as_object().unwrap();
    assert!(classifications.keys().any(|k| k.starts_with("Ambiguous")));
    assert!(classifications.keys().any(|k| k.starts_with("Severe")));
    let five_xx = &got["status_classes"]["5xx"];
    assert_eq!(
        five_xx.as_u64().unwrap(),
        got["target_5xx"].as_u64().unwrap() + got["elb_5xx"].as_u64().unwrap()
    );
}

#[test]
fn stats_text_report_has_every_section() {
    let output = run(&["alb", "stats", sample(ACCESS).to_str().unwrap()]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = String::from_utf8(output.stdout).unwrap();
    for needle in [
        "Totals",
        "Lines             307  parsed 300 (98.0%), failed 6 (2.0%), blank 1",
        "Time range",
        "Status classes",
        "5xx by origin",
        "load balancer",
        "Target latency (seconds)",
        "p99",
        "web-tg",
        "api-tg",
        "Top paths",
        "Top 5xx paths",
        "Top clients",
        "2001:db8:",
        "Desync classifications",
        "Ambiguous: UndefinedContentLengthSemantics",
        "Severe: BothTeClPresent",
        "Error reasons",
        "unterminated quote",
    ] {
        assert!(text.contains(needle), "`{needle}` missing from:\n{text}");
    }
}

#[test]
fn stats_reports_an_unreadable_input_and_the_rest() {
    let output = run(&[
        "alb",
        "stats",
        "--json",
        "does-not-exist.log",
        sample(CLASSIC).to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("does-not-exist.log"));
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["lines"], 26);
}

#[test]
fn stats_needs_an_input() {
    assert_eq!(run(&["alb", "stats"]).status.code(), Some(2));
}

fn ddl(args: &[&str]) -> String {
    let mut all = vec!["alb", "athena-ddl"];
    all.extend(args);
    let output = run(&all);
    assert!(output.status.success(), "{args:?}: {}", stderr(&output));
    String::from_utf8(output.stdout).unwrap()
}

/// Column lines of the DDL: "  `name` type[,]".
fn declared_columns(ddl: &str) -> Vec<(String, String)> {
    ddl.lines()
        .filter_map(|l| l.strip_prefix("  `"))
        .map(|l| {
            let (name, ty) = l.split_once("` ").unwrap();
            (name.to_string(), ty.trim_end_matches(',').to_string())
        })
        .collect()
}

#[test]
fn athena_ddl_declares_every_column_once_with_projection() {
    let cases: &[(&[&str], LogKind, &str, &str)] = &[
        (&[], LogKind::Access, "alb_access_logs", "access"),
        (
            &["--kind", "access", "--format", "json"],
            LogKind::Access,
            "alb_access_logs",
            "access",
        ),
        (
            &["--kind", "connection"],
            LogKind::Connection,
            "alb_connection_logs",
            "connection",
        ),
        (
            &["--kind", "nlb"],
            LogKind::NlbTls,
            "nlb_tls_logs",
            "nlb_tls",
        ),
        (
            &["--kind", "classic", "--format", "json"],
            LogKind::Classic,
            "elb_classic_logs",
            "classic",
        ),
    ];
    for (args, kind, table, directory) in cases {
        let text = ddl(args);
        assert!(
            text.starts_with(&format!("CREATE EXTERNAL TABLE IF NOT EXISTS {table} (\n")),
            "{text}"
        );
        let declared = declared_columns(&text);
        let columns = flat_columns(*kind);
        for column in columns {
            let hits = declared.iter().filter(|(n, _)| n == column.name).count();
            assert_eq!(hits, 1, "{args:?}: column {}", column.name);
            assert!(
                declared.contains(&(column.name.to_string(), column.ty.athena_type().to_string()))
            );
        }
        let partitions = ["year", "month", "day", "load_balancer"];
        assert_eq!(declared.len(), columns.len() + partitions.len(), "{args:?}");
        for partition in partitions {
            assert!(declared.contains(&(partition.to_string(), "string".to_string())));
        }
        assert!(text.contains("PARTITIONED BY (\n  `year` string,"));
        let location = format!("s3://YOUR-OUTPUT-BUCKET/alb/{directory}/");
        assert!(text.contains(&format!("LOCATION '{location}'\n")), "{text}");
        for property in [
            "'projection.enabled' = 'true'".to_string(),
            "'projection.year.range' = '2016,NOW'".into(),
            "'projection.month.type' = 'integer'".into(),
            "'projection.month.range' = '1,12'".into(),
            "'projection.month.digits' = '2'".into(),
            "'projection.day.type' = 'integer'".into(),
            "'projection.day.range' = '1,31'".into(),
            "'projection.day.digits' = '2'".into(),
            "'projection.load_balancer.type' = 'injected'".into(),
            format!(
                "'storage.location.template' = '{location}year=${{year}}/month=${{month}}/day=${{day}}/elb=${{load_balancer}}/'"
            ),
        ] {
            assert!(
                text.contains(&property),
                "{args:?}: {property} missing:\n{text}"
            );
        }
        let json = args.contains(&"json");
        assert_eq!(text.contains("STORED AS PARQUET"), !json, "{args:?}");
        assert_eq!(
            text.contains("ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe'"),
            json,
            "{args:?}"
        );
        assert!(text.trim_end().ends_with(");"));
    }
    assert_eq!(FLAT_COLUMNS, flat_columns(LogKind::Access));
}

#[test]
fn athena_ddl_takes_a_table_and_location() {
    let text = ddl(&[
        "--table",
        "logs.web_alb",
        "--location",
        "s3://my-bucket/fleetwatch",
    ]);
    assert!(text.starts_with("CREATE EXTERNAL TABLE IF NOT EXISTS logs.web_alb ("));
    assert!(text.contains("LOCATION 's3://my-bucket/fleetwatch/access/'"));
    for bad in [
        &["--location", "my-bucket/prefix/"][..],
        &["--table", "bad-name"][..],
        &["--kind", "gateway"][..],
        &["--format", "orc"][..],
    ] {
        let mut args = vec!["alb", "athena-ddl"];
        args.extend(bad);
        let output = run(&args);
        assert_eq!(output.status.code(), Some(2), "{bad:?}");
        assert!(output.stdout.is_empty(), "{bad:?}");
        assert!(!stderr(&output).is_empty(), "{bad:?}");
    }
}
