//! `fleetwatch capacity simulate` run as users run it, on the scenarios of `events/capacity/`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn scenario(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../events/capacity")
        .join(name)
}

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fleetwatch"))
        .args(["capacity", "simulate"])
        .args(args)
        .output()
        .unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

fn reports(output: &Output) -> Vec<Value> {
    stdout(output)
        .lines()
        .map(|line| serde_json::from_str(line).expect("each line is one JSON report"))
        .collect()
}

#[test]
fn without_a_policy_both_run_and_the_table_compares_them() {
    let burst = scenario("burst.yaml");
    let output = run(&[burst.to_str().unwrap()]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    let rows: Vec<&str> = text
        .lines()
        .filter(|l| {
            let mut words = l.split_whitespace();
            matches!(words.next(), Some("fleetwatch" | "cas"))
                && words.next().is_some_and(|w| w.parse::<u64>().is_ok())
        })
        .collect();
    assert_eq!(rows.len(), 2, "one row per policy:\n{text}");
    assert!(
        text.contains("fleetwatch / cas: max time to place"),
        "the ratio line:\n{text}"
    );
}

#[test]
fn json_reports_carry_every_figure_and_the_timeline() {
    let burst = scenario("burst.yaml");
    let output = run(&["--json", burst.to_str().unwrap()]);
    assert!(output.status.success(), "{}", stderr(&output));
    let reports = reports(&output);
    let policies: Vec<&str> = reports
        .iter()
        .map(|r| r["policy"].as_str().unwrap())
        .collect();
    assert_eq!(policies, ["fleetwatch", "cas"]);
    for report in &reports {
        for field in [
            "pending_task_minutes",
            "instance_hours",
            "peak_instances",
            "tasks_stopped_without_drain",
        ] {
            assert!(report[field].is_number(), "{field} in {report}");
        }
        for percentile in ["p50", "p95", "max"] {
            assert!(report["time_to_place_s"][percentile].is_number());
        }
        // Two hours at one point per simulated step: the chart's data, not a summary.
        assert!(report["timeline"].as_array().unwrap().len() > 100);
    }
    // The claim the capacity function is built on, on the burst it was built for: every task
    // placed sooner than under managed scaling, and no task stopped without draining.
    let (ours, theirs) = (&reports[0], &reports[1]);
    assert!(
        ours["time_to_place_s"]["max"].as_u64() < theirs["time_to_place_s"]["max"].as_u64(),
        "{ours}\n{theirs}"
    );
    assert_eq!(ours["tasks_stopped_without_drain"], 0);
}

#[test]
fn one_policy_runs_alone() {
    let wave = scenario("daily-wave.yaml");
    let output = run(&["--policy", "cas", "--json", wave.to_str().unwrap()]);
    assert!(output.status.success(), "{}", stderr(&output));
    let reports = reports(&output);
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0]["policy"], "cas");
}

#[test]
fn the_multi_az_fallback_is_an_option_of_the_managed_scaling_model() {
    let burst = scenario("burst.yaml");
    let output = run(&["--json", "--multi-az-fallback", burst.to_str().unwrap()]);
    assert!(output.status.success(), "{}", stderr(&output));
    let reports = reports(&output);
    assert_eq!(reports[0]["policy"], "fleetwatch");
    assert_eq!(reports[1]["policy"], "cas-multi-az-fallback");
    // One instance per step is slower to place the burst than the current model.
    let current = self::reports(&run(&[
        "--json",
        "--policy",
        "cas",
        burst.to_str().unwrap(),
    ]));
    assert!(
        reports[1]["time_to_place_s"]["max"].as_u64()
            > current[0]["time_to_place_s"]["max"].as_u64()
    );
}

#[test]
fn the_plot_is_an_svg_named_in_the_summary() {
    let dir = tempfile::tempdir().unwrap();
    let chart = dir.path().join("burst.svg");
    let burst = scenario("burst.yaml");
    let output = run(&["--plot", chart.to_str().unwrap(), burst.to_str().unwrap()]);
    assert!(output.status.success(), "{}", stderr(&output));
    let svg = std::fs::read_to_string(&chart).unwrap();
    assert!(svg.starts_with("<svg"), "{}", &svg[..svg.len().min(80)]);
    assert!(
        svg.contains("fleetwatch") && svg.contains("cas"),
        "both series are labelled"
    );
    assert!(stdout(&output).contains(&format!("chart: {}", chart.display())));
}

#[test]
fn a_damaged_scenario_is_a_usage_error_that_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let damaged = dir.path().join("damaged.yaml");
    let text = std::fs::read_to_string(scenario("burst.yaml")).unwrap();
    // Cut mid-way through the services: valid YAML no more.
    std::fs::write(&damaged, &text[..text.find("services:").unwrap() + 20]).unwrap();
    let output = run(&[damaged.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        output.stdout.is_empty(),
        "no half report: {}",
        stdout(&output)
    );
    let message = stderr(&output);
    assert!(message.contains("damaged.yaml"), "{message}");
    assert_eq!(message.lines().count(), 1, "one line: {message}");
}

#[test]
fn a_scenario_naming_an_unknown_service_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let wrong = dir.path().join("wrong.yaml");
    let text = std::fs::read_to_string(scenario("burst.yaml")).unwrap();
    std::fs::write(&wrong, text.replace("service: cache", "service: cahce")).unwrap();
    let output = run(&[wrong.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2), "{}", stdout(&output));
    assert!(stderr(&output).contains("cahce"), "{}", stderr(&output));
}

#[test]
fn a_missing_scenario_is_a_usage_error() {
    let output = run(&["no-such-scenario.yaml"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("no-such-scenario.yaml: cannot read"));
}
