//! Scenario files: the documented format, errors with line numbers, the JSON report's keys, the
//! SVG chart.

use fleetwatch_scaling::plot;
use fleetwatch_scaling::sim::{Policy, Scenario, ScenarioError, Seconds, Spread, simulate};

/// The example in the issue and the module documentation, verbatim.
const ISSUE_EXAMPLE: &str = "\
duration: 3h
instance_boot: 90s        # launch until registered
task_start: 20s           # placed until running
instance_types: {m6g.large: {cpu: 2048, memory: 7680}, m6g.xlarge: {cpu: 4096, memory: 15360}}
asg: {instance_type: m6g.large, min: 0, max: 40, desired: 2, azs: [a, b, c]}
services:
  - {name: web, cpu: 512, memory: 1024, desired: 6, spread: az}     # spread: az | instance | none
  - {name: worker, cpu: 1024, memory: 3072, desired: 2}
changes:                  # desired-count changes over time
  - {at: 5m, service: web, desired: 48}
  - {at: 90m, service: web, desired: 6}
";

#[test]
fn the_issue_example_parses() {
    let s = Scenario::from_yaml(ISSUE_EXAMPLE).unwrap();
    assert_eq!(s.duration, Seconds(3 * 3600));
    assert_eq!(s.instance_boot, Seconds(90));
    assert_eq!(s.task_start, Seconds(20));
    assert_eq!(s.task_stop, Seconds(30), "default");
    assert_eq!(s.instance_types["m6g.xlarge"].memory, 15360);
    assert_eq!((s.asg.min, s.asg.max, s.asg.desired), (0, 40, 2));
    assert_eq!(s.asg.azs, ["a", "b", "c"]);
    assert_eq!(s.services[0].spread, Spread::Az);
    assert_eq!(s.services[1].spread, Spread::None);
    assert_eq!(s.changes[1].at, Seconds(90 * 60));
    assert_eq!(s.changes[0].desired, 48);
}

#[test]
fn durations() {
    for (text, secs) in [
        ("90s", 90),
        ("5m", 300),
        ("3h", 10_800),
        ("1h30m", 5400),
        ("45", 45),
    ] {
        assert_eq!(Seconds::parse(text), Ok(Seconds(secs)), "{text}");
    }
    for bad in ["5x", "m", "", "1.5h", "-3m", "5m3"] {
        assert!(Seconds::parse(bad).is_err(), "{bad:?} accepted");
    }
}

fn error_of(yaml: &str) -> ScenarioError {
    Scenario::from_yaml(yaml).unwrap_err()
}

#[test]
fn errors_name_the_line() {
    let table: &[(&str, &str, usize, &str)] = &[
        (
            "unknown top-level key",
            "task_startt: 20s",
            3,
            "unknown field `task_startt`",
        ),
        (
            "unknown key inside asg",
            "asg: {instance_type: m6g.large, min: 0, max: 40, desired: 2, azs: [a], maxx: 3}",
            5,
            "unknown field `maxx`",
        ),
        (
            "bad duration",
            "  - {at: 5x, service: web, desired: 48}",
            10,
            "invalid duration \"5x\"",
        ),
        (
            "unknown spread",
            "  - {name: worker, cpu: 1024, memory: 3072, desired: 2, spread: zone}",
            8,
            "unknown variant `zone`",
        ),
        (
            "unknown service in a change",
            "  - {at: 90m, service: api, desired: 6}",
            11,
            "unknown service \"api\"",
        ),
        (
            "unknown instance type",
            "asg: {instance_type: m7g.large, min: 0, max: 40, desired: 2, azs: [a]}",
            5,
            "\"m7g.large\" is not in instance_types",
        ),
        // A syntax error is reported where the parser notices it: the line after the open bracket.
        (
            "not YAML",
            "services: [",
            7,
            "did not find expected node content",
        ),
    ];
    for (name, replacement, line, message) in table {
        let mut lines: Vec<&str> = ISSUE_EXAMPLE.lines().collect();
        let at = if *name == "not YAML" { 6 } else { *line };
        lines[at - 1] = replacement;
        let err = error_of(&lines.join("\n"));
        let text = err.to_string();
        assert!(text.contains(&format!("line {line}")), "{name}: {text}");
        assert!(text.contains(message), "{name}: {text}");
    }
}

#[test]
fn missing_keys_and_bad_bounds_are_errors() {
    let without_boot =
        ISSUE_EXAMPLE.replace("instance_boot: 90s        # launch until registered\n", "");
    assert!(
        error_of(&without_boot)
            .to_string()
            .contains("missing field `instance_boot`")
    );
    let bad_bounds =
        ISSUE_EXAMPLE.replace("min: 0, max: 40, desired: 2", "min: 5, max: 4, desired: 2");
    assert!(matches!(
        error_of(&bad_bounds),
        ScenarioError::Invalid { line: 5, .. }
    ));
}

#[test]
fn every_scenario_file_parses() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../events/capacity");
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .map(|p| {
            Scenario::from_yaml(&std::fs::read_to_string(&p).unwrap())
                .unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            p.file_stem().unwrap().to_string_lossy().into_owned()
        })
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "burst",
            "business-day",
            "daily-wave",
            "largest-type",
            "scale-to-zero"
        ]
    );
}

#[test]
fn the_json_report_has_exactly_the_documented_keys() {
    let s = Scenario::from_yaml(ISSUE_EXAMPLE).unwrap();
    let report = simulate(&s, &Policy::named("cas").unwrap());
    let json = serde_json::to_value(&report).unwrap();
    let keys = |v: &serde_json::Value| {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    assert_eq!(
        keys(&json),
        [
            "instance_hours",
            "peak_instances",
            "pending_task_minutes",
            "policy",
            "tasks_stopped_without_drain",
            "time_to_place_s",
            "timeline"
        ]
    );
    assert_eq!(keys(&json["time_to_place_s"]), ["max", "p50", "p95"]);
    assert_eq!(
        keys(&json["timeline"][0]),
        ["instances", "pending", "running", "t"]
    );
    assert_eq!(json["policy"], "cas");
    assert_eq!(
        json["timeline"].as_array().unwrap().len(),
        180,
        "one point a minute"
    );
    assert!(json["instance_hours"].as_f64().unwrap() > 0.0);
}

#[test]
fn a_task_never_placed_counts_with_the_time_left() {
    // A 6-vCPU task fits no type of the group: it waits from 10m to the end (50 minutes).
    let yaml = "duration: 1h\ninstance_boot: 90s\ntask_start: 20s\n\
        instance_types: {m6g.large: {cpu: 2048, memory: 7680}}\n\
        asg: {instance_type: m6g.large, min: 1, max: 4, desired: 1, azs: [a]}\n\
        services: [{name: big, cpu: 6144, memory: 1024, desired: 0}]\n\
        changes: [{at: 10m, service: big, desired: 1}]\n";
    let s = Scenario::from_yaml(yaml).unwrap();
    for policy in ["fleetwatch", "cas"] {
        let r = simulate(&s, &Policy::named(policy).unwrap());
        assert_eq!(r.time_to_place_s.max, 50 * 60, "{policy}");
        assert_eq!(r.pending_task_minutes, 50.0, "{policy}");
    }
}

#[test]
fn the_plot_shows_both_policies_with_axes_and_legend() {
    let s = Scenario::from_yaml(ISSUE_EXAMPLE).unwrap();
    let reports = [
        simulate(&s, &Policy::named("fleetwatch").unwrap()),
        simulate(&s, &Policy::named("cas").unwrap()),
    ];
    let svg = plot("issue example <3h>", &reports);
    assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
    assert!(svg.trim_end().ends_with("</svg>"));
    assert_eq!(
        svg.matches("<polyline").count(),
        4,
        "instances and pending per policy"
    );
    for label in [
        "fleetwatch instances",
        "fleetwatch pending tasks",
        "cas instances",
        "cas pending tasks",
        "time since start",
        "instances / pending tasks",
        "issue example &lt;3h&gt;",
        ">180m<",
    ] {
        assert!(svg.contains(label), "{label} missing");
    }
}
