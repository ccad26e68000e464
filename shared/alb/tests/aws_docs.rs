//! Every example log entry of AWS's documentation (`events/alb/aws-docs/EXAMPLES.md`, copied
//! verbatim with the page each comes from) parses: by the kind its file name gives, and by its
//! content alone, as `alb parse -` reads standard input.

mod fixtures;

use std::path::PathBuf;

use fixtures::check_all_formats;
use fleetwatch_alb::{LogKind, Record, parse_line, sniff_kind};

fn docs_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../events/alb/aws-docs")
}

/// (file name, entries) of `EXAMPLES.md`: each fenced block's lines joined by one space, as the
/// pages say the entries were only broken over lines to be readable.
fn documented_entries() -> Vec<(String, Vec<String>)> {
    let text = std::fs::read_to_string(docs_dir().join("EXAMPLES.md")).unwrap();
    let mut files: Vec<(String, Vec<String>)> = Vec::new();
    let mut block: Option<Vec<&str>> = None;
    for line in text.lines() {
        if let Some(name) = line.strip_prefix("## ") {
            files.push((name.to_string(), Vec::new()));
        } else if line.starts_with("```") {
            match block.take() {
                None => block = Some(Vec::new()),
                Some(lines) => {
                    let entry: Vec<&str> = lines.iter().map(|l| l.trim_end()).collect();
                    files.last_mut().unwrap().1.push(entry.join(" "));
                }
            }
        } else if let Some(lines) = &mut block {
            lines.push(line);
        }
    }
    files
}

/// The documented kinds, stated here so that a file renamed into another kind fails.
fn expected_kind(name: &str) -> LogKind {
    let kinds = [
        ("conn_log_", LogKind::Connection),
        ("health_check_log_", LogKind::HealthCheck),
        ("_net.", LogKind::NlbTls),
        ("_app.", LogKind::Access),
        ("_my-loadbalancer_", LogKind::Classic),
    ];
    kinds
        .iter()
        .find(|(part, _)| name.contains(part))
        .map(|(_, kind)| *kind)
        .unwrap_or_else(|| panic!("no expected kind for {name}"))
}

#[test]
fn the_fixture_files_hold_exactly_the_documented_entries() {
    let files = documented_entries();
    let counts: Vec<usize> = files.iter().map(|(_, entries)| entries.len()).collect();
    assert_eq!(counts, [7, 2, 2, 2, 4], "entries per documented kind");
    for (name, entries) in &files {
        let on_disk = std::fs::read_to_string(docs_dir().join(name)).unwrap();
        let lines: Vec<&str> = on_disk.lines().collect();
        assert_eq!(lines, *entries, "{name}");
    }
}

#[test]
fn every_documented_entry_parses_by_file_name_and_by_content() {
    for (name, entries) in documented_entries() {
        let kind = expected_kind(&name);
        assert_eq!(LogKind::from_key(&name), kind, "{name}");
        for entry in &entries {
            let by_name = parse_line(kind, entry.as_bytes())
                .unwrap_or_else(|e| panic!("{name}: {e}: {entry}"));
            assert_eq!(by_name.kind(), kind, "{entry}");
            assert_eq!(sniff_kind(entry.as_bytes()), Some(kind), "{entry}");
            let by_content = parse_line(LogKind::Unknown, entry.as_bytes())
                .unwrap_or_else(|e| panic!("{name} by content: {e}: {entry}"));
            assert_eq!(by_content, by_name, "{entry}");
            check_all_formats(&by_name);
        }
    }
}

#[test]
fn nlb_timestamps_without_a_zone_are_utc() {
    let (_, entries) = documented_entries()
        .into_iter()
        .find(|(name, _)| name.contains("_net."))
        .unwrap();
    let Record::Nlb(r) = parse_line(LogKind::NlbTls, entries[0].as_bytes()).unwrap() else {
        panic!("not an NLB record")
    };
    // Kept as written; the instant is UTC (1545274780 = 2018-12-20T02:59:40Z).
    assert_eq!(r.time.as_str(), "2018-12-20T02:59:40");
    assert_eq!(r.time.epoch_nanos(), 1_545_274_780_000_000_000);
    assert_eq!(r.time.date(), (2018, 12, 20));
    let created = r.tls_connection_creation_time.unwrap();
    assert_eq!(created.as_str(), "2018-12-20T02:59:30");
    assert_eq!(created.epoch_millis(), 1_545_274_770_000);
    assert_eq!(r.alpn_fe_protocol, None);
    let Record::Nlb(r) = parse_line(LogKind::NlbTls, entries[1].as_bytes()).unwrap() else {
        panic!("not an NLB record")
    };
    assert_eq!(
        r.tls_connection_creation_time.map(|t| t.as_str()),
        Some("2020-04-01T08:51:20")
    );
    let prefs: Vec<String> = r
        .alpn_client_preferences()
        .map(|t| t.to_str_lossy().into_owned())
        .collect();
    assert_eq!(prefs, ["h2", "http/1.1"]);
}
