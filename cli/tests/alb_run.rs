//! `fleetwatch alb run` on the sample logs of `events/alb/`: the alb-logs function's job with
//! local outputs, checked against the samples' manifest (`events/alb/manifest.json`).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use fleetwatch_alb::{LogKind, parse_key};
use serde_json::Value;

fn samples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../events/alb")
}

/// (file name, lines, good, blank, bad line numbers) of every sample in the manifest.
fn samples() -> Vec<(String, u64, u64, u64, Vec<u64>)> {
    let text = std::fs::read_to_string(samples_dir().join("manifest.json")).unwrap();
    let manifest: serde_json::Map<String, Value> = serde_json::from_str(&text).unwrap();
    manifest
        .iter()
        .map(|(name, entry)| {
            let bad = entry["bad_lines"]
                .as_array()
                .unwrap()
                .iter()
                .map(|b| b["line"].as_u64().unwrap())
                .collect();
            (
                name.clone(),
                entry["lines"].as_u64().unwrap(),
                entry["good_lines"].as_u64().unwrap(),
                entry["blank_lines"].as_array().unwrap().len() as u64,
                bad,
            )
        })
        .collect()
}

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fleetwatch"))
        .args(args)
        .output()
        .unwrap()
}

fn run_samples(out: &Path, extra: &[&str]) -> Output {
    let mut args: Vec<String> = vec!["alb".into(), "run".into(), "--out".into()];
    args.push(out.to_str().unwrap().into());
    args.extend(extra.iter().map(|a| a.to_string()));
    for (name, ..) in samples() {
        args.push(samples_dir().join(name).to_str().unwrap().into());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    run(&args)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The Hive-layout key of an output of `name`: `<kind>/year=../month=../day=../elb=<lb>/<stem>`.
fn partition_path(name: &str) -> String {
    let kind = LogKind::from_key(name);
    let lb = parse_key(name).load_balancer.unwrap().to_string();
    let stem = name.trim_end_matches(".gz").trim_end_matches(".log");
    format!(
        "{}/year=2026/month=11/day=25/elb={lb}/{stem}",
        kind.as_str()
    )
}

fn gunzip_lines(path: &Path) -> Vec<Value> {
    let mut text = String::new();
    flate2::read::MultiGzDecoder::new(std::fs::File::open(path).unwrap())
        .read_to_string(&mut text)
        .unwrap();
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn lines_of(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn run_writes_every_output_where_the_function_would_and_reports_exact_counts() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let output = run_samples(&out, &[]);
    let stdout = text(&output.stdout);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(text(&output.stderr), "");

    let samples = samples();
    assert_eq!(samples.len(), 3);
    let (mut lines, mut good, mut blank, mut bad) = (0, 0, 0, 0);
    for (name, n_lines, n_good, n_blank, bad_lines) in &samples {
        lines += n_lines;
        good += n_good;
        blank += n_blank;
        bad += bad_lines.len() as u64;
        assert!(
            stdout.contains(&format!(
                "parsed {n_good}, failed {}, blank {n_blank}",
                bad_lines.len()
            )),
            "{name}:\n{stdout}"
        );
        let partition = partition_path(name);

        let table = out.join(format!("alb/{partition}.parquet"));
        let bytes = std::fs::read(&table).unwrap_or_else(|e| panic!("{}: {e}", table.display()));
        assert!(bytes.starts_with(b"PAR1") && bytes.ends_with(b"PAR1"));
        assert!(stdout.contains(&table.display().to_string()), "{stdout}");

        let errors = out.join(format!("alb-errors/{partition}.errors.ndjson.gz"));
        let letters = gunzip_lines(&errors);
        let numbers: Vec<u64> = letters
            .iter()
            .map(|l| l["line"].as_u64().unwrap())
            .collect();
        assert_eq!(&numbers, bad_lines, "{name}");
        assert!(stdout.contains(&errors.display().to_string()), "{stdout}");
    }
    assert_eq!((lines, good, blank, bad), (366, 355, 2, 9));

    let documents = lines_of(&out.join("search/ecs.ndjson"));
    assert_eq!(documents.len() as u64, good);
    assert!(documents.iter().all(|d| d.get("@timestamp").is_some()));

    assert!(
        stdout.contains(&format!(
            "Total: 3 object(s), {lines} lines (parsed {good}, failed {bad}, blank {blank})"
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!(
            "{good} search documents, {good} table rows, {bad} dead letters"
        )),
        "{stdout}"
    );
    // The statistics report of `alb stats`, over every input.
    for section in ["Status classes", "Top paths", "Error reasons"] {
        assert!(stdout.contains(section), "{section} missing:\n{stdout}");
    }
    // Threshold alerts are shown as the Slack text they would be sent with.
    assert!(
        stdout.contains("[FIRING error] web: ") && stdout.contains("failed with 5xx"),
        "{stdout}"
    );
    // The work directory is gone; nothing else was left behind.
    let mut top: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    top.sort();
    assert_eq!(top, ["alb", "alb-errors", "search"]);
}

#[test]
fn ndjson_table_and_another_format_and_a_rerun_does_not_double_documents() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    for _ in 0..2 {
        let output = run_samples(&out, &["--table", "ndjson", "--format", "flat"]);
        assert!(output.status.success(), "{}", text(&output.stderr));
    }
    let samples = samples();
    let good: u64 = samples.iter().map(|s| s.2).sum();
    assert_eq!(lines_of(&out.join("search/flat.ndjson")).len() as u64, good);
    for (name, _, n_good, ..) in &samples {
        let rows = gunzip_lines(&out.join(format!("alb/{}.ndjson.gz", partition_path(name))));
        assert_eq!(rows.len() as u64, *n_good, "{name}");
    }
}

#[test]
fn a_missing_input_is_exit_status_2_naming_it_and_the_others_are_processed() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let (name, _, good, ..) = samples().into_iter().next().unwrap();
    let missing = dir.path().join("missing.log.gz");
    let output = run(&[
        "alb",
        "run",
        "--out",
        out.to_str().unwrap(),
        missing.to_str().unwrap(),
        samples_dir().join(&name).to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains(&format!("{}: cannot open", missing.display())),
        "{stderr}"
    );
    assert_eq!(lines_of(&out.join("search/ecs.ndjson")).len() as u64, good);
}

#[test]
fn standard_input_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let output = run(&["alb", "run", "--out", dir.path().to_str().unwrap(), "-"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("alb parse"));
}

#[test]
fn a_directory_stands_for_its_log_files_only() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let output = run(&[
        "alb",
        "run",
        "--out",
        out.to_str().unwrap(),
        samples_dir().to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    // Not generate.py nor manifest.json.
    assert!(
        stdout.starts_with("fleetwatch alb run: 3 input(s)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("Total: 3 object(s), 366 lines (parsed 355, failed 9, blank 2)"),
        "{stdout}"
    );

    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let output = run(&[
        "alb",
        "run",
        "--out",
        out.to_str().unwrap(),
        empty.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains(&empty.display().to_string()));
}
