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

// Damaged objects: every line before the damage reaches every output, the damage is recorded.

const ACCESS_SAMPLE: &str = "123456789012_elasticloadbalancing_eu-west-1_app.web.50dc6c495c0c9188_20261125T1005Z_10.0.1.7_2et2e1mx.log.gz";

/// The length of each gzip member of `object` (flate2's one-member reader leaves the rest).
fn member_lengths(object: &[u8]) -> Vec<usize> {
    let mut lengths = Vec::new();
    let mut rest = object;
    while !rest.is_empty() {
        let mut member = flate2::bufread::GzDecoder::new(rest);
        std::io::copy(&mut member, &mut std::io::sink()).unwrap();
        let left = member.into_inner();
        lengths.push(rest.len() - left.len());
        rest = left;
    }
    lengths
}

/// The sample's (good, bad, blank) line numbers among what an independent decoder (flate2's
/// multi-member reader) reads of `bytes` before their damage; a partial last line counts as bad.
fn expected_lines(bytes: &[u8]) -> (Vec<u64>, Vec<u64>, Vec<u64>) {
    let (_, _, _, _, bad_lines) = samples()
        .into_iter()
        .find(|(name, ..)| name == ACCESS_SAMPLE)
        .unwrap();
    let manifest: Value = serde_json::from_str(
        &std::fs::read_to_string(samples_dir().join("manifest.json")).unwrap(),
    )
    .unwrap();
    let blank: Vec<u64> = manifest[ACCESS_SAMPLE]["blank_lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_u64().unwrap())
        .collect();
    let mut out = Vec::new();
    let _ = flate2::read::MultiGzDecoder::new(bytes).read_to_end(&mut out);
    let whole = out.iter().filter(|&&b| b == b'\n').count() as u64;
    let good = (1..=whole)
        .filter(|n| !bad_lines.contains(n) && !blank.contains(n))
        .collect();
    let mut bad: Vec<u64> = bad_lines.into_iter().filter(|&n| n <= whole).collect();
    if !out.is_empty() && !out.ends_with(b"\n") {
        bad.push(whole + 1);
    }
    let blank = blank.into_iter().filter(|&n| n <= whole).collect();
    (good, bad, blank)
}

/// Runs `alb run --table ndjson` on `bytes` saved under the access sample's name.
fn run_damaged(dir: &Path, bytes: &[u8]) -> (Output, PathBuf) {
    let input = dir.join("in");
    std::fs::create_dir_all(&input).unwrap();
    let file = input.join(ACCESS_SAMPLE);
    std::fs::write(&file, bytes).unwrap();
    let out = dir.join("out");
    let output = run(&[
        "alb",
        "run",
        "--table",
        "ndjson",
        "--out",
        out.to_str().unwrap(),
        file.to_str().unwrap(),
    ]);
    (output, out)
}

/// (search documents, table rows, errors records) of a run of the access sample.
fn outputs(out: &Path) -> (Vec<Value>, Vec<Value>, Vec<Value>) {
    let partition = partition_path(ACCESS_SAMPLE);
    (
        lines_of(&out.join("search/ecs.ndjson")),
        gunzip_lines(&out.join(format!("alb/{partition}.ndjson.gz"))),
        gunzip_lines(&out.join(format!("alb-errors/{partition}.errors.ndjson.gz"))),
    )
}

#[test]
fn a_truncated_access_log_keeps_every_line_before_the_cut_in_every_output() {
    let dir = tempfile::tempdir().unwrap();
    let object = std::fs::read(samples_dir().join(ACCESS_SAMPLE)).unwrap();
    let members = member_lengths(&object);
    assert_eq!(members.len(), 4);
    // Cut in the middle of the second gzip member.
    let cut = &object[..members[0] + members[1] / 2];
    let (output, out) = run_damaged(dir.path(), cut);
    let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("damaged: truncated"), "{stderr}");

    let (good, bad, blank) = expected_lines(cut);
    assert!(good.len() > 80 && bad.contains(&41), "{good:?} {bad:?}");
    let (documents, rows, errors) = outputs(&out);
    assert_eq!(documents.len(), good.len(), "search documents");
    assert_eq!(rows.len(), good.len(), "table rows");
    let (damage, letters) = errors.split_last().unwrap();
    let numbers: Vec<u64> = letters
        .iter()
        .map(|l| l["line"].as_u64().unwrap())
        .collect();
    assert_eq!(
        numbers, bad,
        "dead letters of the bad lines, the cut one included"
    );
    assert_eq!(damage["line"], 0);
    assert_eq!(damage["bucket"], "local");
    assert_eq!(damage["key"], ACCESS_SAMPLE);
    assert_eq!(damage["offset"], members[0] as u64);
    assert_eq!(damage["damage"], "truncated");
    assert!(
        damage["reason"]
            .as_str()
            .unwrap()
            .contains(&format!("starts at byte {}", members[0])),
        "{damage}"
    );
    let lines = good.len() + bad.len() + blank.len();
    assert!(
        stdout.contains(&format!(
            "Total: 1 object(s), {lines} lines (parsed {}, failed {}, blank {})",
            good.len(),
            bad.len(),
            blank.len()
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!(
            "{} search documents, {} table rows, {} dead letters",
            good.len(),
            good.len(),
            bad.len() + 1
        )),
        "{stdout}"
    );
}

#[test]
fn every_kind_of_damage_is_recorded_where_it_is_and_nothing_before_it_is_lost() {
    let object = std::fs::read(samples_dir().join(ACCESS_SAMPLE)).unwrap();
    let members = member_lengths(&object);
    let two = members[0] + members[1];
    let garbage = [&object[..two], b"\0\0 not a gzip member"].concat();
    let mut flipped = object.clone();
    let middle = two + members[2] / 2;
    flipped[middle] ^= 0x55;
    flipped[middle + 1] ^= 0xAA;
    let mut plain = Vec::new();
    flate2::read::MultiGzDecoder::new(&object[..])
        .read_to_end(&mut plain)
        .unwrap();
    let cases: [(&str, &[u8], &str, usize); 3] = [
        (
            "garbage after two members",
            &garbage,
            "trailing_garbage",
            two,
        ),
        (
            "bytes flipped in the third member",
            &flipped,
            "corrupt",
            two,
        ),
        ("text under a .gz name", &plain, "not_gzip", 0),
    ];
    for (what, bytes, kind, offset) in cases {
        let dir = tempfile::tempdir().unwrap();
        let (output, out) = run_damaged(dir.path(), bytes);
        assert_eq!(output.status.code(), Some(2), "{what}");
        let (documents, rows, errors) = outputs(&out);
        let damage = errors.last().unwrap();
        assert_eq!(
            (damage["damage"].as_str(), damage["offset"].as_u64()),
            (Some(kind), Some(offset as u64)),
            "{what}: {damage}"
        );
        assert_eq!(documents.len(), rows.len(), "{what}");
        if offset == two {
            // The two whole members: every one of their lines, as the sample's manifest says.
            let (good, bad, _) = expected_lines(&object[..two]);
            assert!(documents.len() >= good.len(), "{what}");
            let numbers: Vec<u64> = errors.iter().map(|l| l["line"].as_u64().unwrap()).collect();
            assert!(numbers.starts_with(&bad), "{what}: {numbers:?}");
        } else {
            assert!(documents.is_empty() && errors.len() == 1, "{what}");
        }
    }

    // An empty object is no damage: load balancers write them; it is skipped.
    let dir = tempfile::tempdir().unwrap();
    let (output, out) = run_damaged(dir.path(), b"");
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(text(&output.stdout).contains("skipped: empty"));
    assert!(!out.join("alb-errors").exists());
}

// AWS's documented example entries (events/alb/aws-docs, copied with their sources).

fn aws_docs_dir() -> PathBuf {
    samples_dir().join("aws-docs")
}

#[test]
fn aws_documented_examples_of_every_kind_run_without_a_dead_letter() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let output = run(&[
        "alb",
        "run",
        "--table",
        "ndjson",
        "--out",
        out.to_str().unwrap(),
        aws_docs_dir().to_str().unwrap(),
    ]);
    let stdout = text(&output.stdout);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(
        stdout.contains("Total: 5 object(s), 17 lines (parsed 17, failed 0, blank 0)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("17 search documents, 17 table rows, 0 dead letters"),
        "{stdout}"
    );
    assert!(!out.join("alb-errors").exists());
    // NLB timestamps carry no zone: kept as written, partitioned by their UTC date.
    let nlb = out.join(
        "alb/nlb_tls/year=2018/month=12/day=20/elb=my-loadbalancer/123456789012_elasticloadbalancing_us-east-2_net.my-loadbalancer.1234567890abcdef_20200501T0000Z_20sg8hgm.ndjson.gz",
    );
    let rows = gunzip_lines(&nlb);
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["time"], "2018-12-20T02:59:40");
    assert_eq!(
        rows[1]["tls_connection_creation_time"],
        "2020-04-01T08:51:20"
    );
}

#[test]
fn alb_parse_recognises_every_documented_kind_by_content_on_standard_input() {
    let mut names: Vec<PathBuf> = std::fs::read_dir(aws_docs_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .collect();
    names.sort();
    let stdin: Vec<u8> = names
        .iter()
        .flat_map(|p| std::fs::read(p).unwrap())
        .collect();
    let mut child = Command::new(env!("CARGO_BIN_EXE_fleetwatch"))
        .args(["alb", "parse", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || std::io::Write::write_all(&mut input, &stdin));
    let output = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(output.status.success());
    assert_eq!(text(&output.stderr), "", "no line is an error");
    let mut kinds = std::collections::BTreeMap::new();
    for line in text(&output.stdout).lines() {
        let document: Value = serde_json::from_str(line).unwrap();
        let kind = document["aws"]["elb"]["log_kind"]
            .as_str()
            .unwrap()
            .to_string();
        *kinds.entry(kind).or_insert(0) += 1;
    }
    let kinds: Vec<(&str, i32)> = kinds.iter().map(|(k, n)| (k.as_str(), *n)).collect();
    assert_eq!(
        kinds,
        [
            ("access", 7),
            ("classic", 4),
            ("connection", 2),
            ("health_check", 2),
            ("nlb_tls", 2)
        ]
    );
}
