//! `fleetwatch capacity simulate`: one scenario, one or both policies, a table (or the reports
//! as JSON, one document per line), and optionally an SVG chart of instances and pending tasks.

use std::io::{self, Write};
use std::path::PathBuf;

use clap::{Args, ValueEnum};
use fleetwatch_scaling::{CasOptions, Config, Policy, Report, Scenario, plot, simulate};

use crate::outcome::{CommandResult, Fatal, Finished};
use crate::table::{Align, Table};

#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// The policy driving the group; without it, both run and are compared.
    #[arg(long, value_enum)]
    policy: Option<PolicyChoice>,
    /// Model managed scaling's older multi-AZ fallback (one instance per step while tasks need
    /// several zones) instead of its current behaviour.
    #[arg(long)]
    multi_az_fallback: bool,
    /// Print each report as JSON (one document per line): policy, time_to_place_s {p50, p95,
    /// max}, pending_task_minutes, instance_hours, peak_instances,
    /// tasks_stopped_without_drain, timeline [{t, instances, pending, running}].
    #[arg(long)]
    json: bool,
    /// Write an SVG chart of instances and pending tasks over time to this file.
    #[arg(long, value_name = "FILE.svg")]
    plot: Option<PathBuf>,
    /// The scenario (YAML; see the README's capacity section, and events/capacity/).
    #[arg(value_name = "SCENARIO")]
    scenario: PathBuf,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum PolicyChoice {
    /// The capacity function's planner.
    Fleetwatch,
    /// A model of ECS managed scaling (capacity providers).
    Cas,
}

impl PolicyChoice {
    fn policy(self, multi_az_fallback: bool) -> Policy {
        match self {
            PolicyChoice::Fleetwatch => Policy::Fleetwatch(Config::default()),
            PolicyChoice::Cas => Policy::Cas(CasOptions {
                multi_az_fallback,
                ..CasOptions::default()
            }),
        }
    }
}

pub fn run(args: &SimulateArgs) -> CommandResult {
    let scenario = load(&args.scenario)?;
    let choices = match args.policy {
        Some(choice) => vec![choice],
        None => vec![PolicyChoice::Fleetwatch, PolicyChoice::Cas],
    };
    let policies: Vec<Policy> = choices
        .into_iter()
        .map(|choice| choice.policy(args.multi_az_fallback))
        .collect();
    let reports: Vec<Report> = policies.iter().map(|p| simulate(&scenario, p)).collect();
    if let Some(path) = &args.plot {
        let title = args.scenario.file_stem().map_or_else(
            || "scenario".to_string(),
            |s| s.to_string_lossy().into_owned(),
        );
        std::fs::write(path, plot(&title, &reports))
            .map_err(Fatal::output(path.display().to_string()))?;
    }
    let text = if args.json {
        json_lines(&reports)
    } else {
        summary(&args.scenario, &reports, args.plot.as_deref())
    };
    let mut out = io::stdout().lock();
    out.write_all(text.as_bytes()).map_err(Fatal::stdout)?;
    out.flush().map_err(Fatal::stdout)?;
    Ok(Finished::Success)
}

/// The scenario, or a usage error that says where it is wrong.
fn load(path: &PathBuf) -> Result<Scenario, Fatal> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Fatal::Usage(format!("{}: cannot read: {e}", path.display())))?;
    Scenario::from_yaml(&text).map_err(|e| Fatal::Usage(format!("{}: {e}", path.display())))
}

fn json_lines(reports: &[Report]) -> String {
    reports
        .iter()
        .map(|r| serde_json::to_string(r).expect("a report serialises") + "\n")
        .collect()
}

fn summary(path: &std::path::Path, reports: &[Report], plot: Option<&std::path::Path>) -> String {
    let mut table = Table::new(&[
        Align::Left,
        Align::Right,
        Align::Right,
        Align::Right,
        Align::Right,
        Align::Right,
        Align::Right,
        Align::Right,
    ]);
    table.row([
        "policy",
        "place p50 s",
        "place p95 s",
        "place max s",
        "pending task-min",
        "instance-h",
        "peak",
        "stopped w/o drain",
    ]);
    for r in reports {
        table.row([
            r.policy.clone(),
            r.time_to_place_s.p50.to_string(),
            r.time_to_place_s.p95.to_string(),
            r.time_to_place_s.max.to_string(),
            format!("{:.1}", r.pending_task_minutes),
            format!("{:.2}", r.instance_hours),
            r.peak_instances.to_string(),
            r.tasks_stopped_without_drain.to_string(),
        ]);
    }
    let mut text = format!("fleetwatch capacity simulate: {}\n\n", path.display());
    table.render("  ", &mut text);
    if let [ours, theirs] = reports {
        text.push_str(&format!(
            "\n  {} / {}: max time to place {:.2}x, instance-hours {:.2}x\n",
            ours.policy,
            theirs.policy,
            ratio(
                ours.time_to_place_s.max as f64,
                theirs.time_to_place_s.max as f64
            ),
            ratio(ours.instance_hours, theirs.instance_hours),
        ));
    }
    if let Some(plot) = plot {
        text.push_str(&format!("\n  chart: {}\n", plot.display()));
    }
    text
}

fn ratio(ours: f64, theirs: f64) -> f64 {
    if theirs == 0.0 { 0.0 } else { ours / theirs }
}
