//! Runs every scenario in `events/capacity/` under both policies (and the burst under the
//! managed-scaling model's multi-AZ fallback) and prints the comparison table as Markdown.
//! With an argument, writes `<dir>/<scenario>.svg` charts there too.
//!
//! `cargo run --release -p fleetwatch-scaling --example compare [SVG_DIR]`

use fleetwatch_scaling::sim::{CasOptions, Policy, Report, Scenario, simulate};
use fleetwatch_scaling::{Config, plot};

const SCENARIOS: [&str; 4] = ["burst", "daily-wave", "scale-to-zero", "largest-type"];

fn main() {
    let svg_dir = std::env::args().nth(1);
    println!(
        "| scenario | policy | ttp p50 s | ttp p95 s | ttp max s | pending task-min | instance-hours | peak | stopped w/o drain |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for name in SCENARIOS {
        let path = format!(
            "{}/../../events/capacity/{name}.yaml",
            env!("CARGO_MANIFEST_DIR")
        );
        let text = std::fs::read_to_string(&path).expect("scenario file");
        let scenario = Scenario::from_yaml(&text).expect("valid scenario");
        let mut policies = vec![
            Policy::Fleetwatch(Config::default()),
            Policy::Cas(CasOptions::default()),
        ];
        if name == "burst" {
            policies.push(Policy::Cas(CasOptions {
                multi_az_fallback: true,
                ..CasOptions::default()
            }));
        }
        let reports: Vec<Report> = policies.iter().map(|p| simulate(&scenario, p)).collect();
        for r in &reports {
            println!(
                "| {name} | {} | {} | {} | {} | {:.1} | {:.2} | {} | {} |",
                r.policy,
                r.time_to_place_s.p50,
                r.time_to_place_s.p95,
                r.time_to_place_s.max,
                r.pending_task_minutes,
                r.instance_hours,
                r.peak_instances,
                r.tasks_stopped_without_drain
            );
        }
        if let Some(dir) = &svg_dir {
            let file = format!("{dir}/{name}.svg");
            std::fs::write(&file, plot(name, &reports[..2])).expect("write svg");
        }
    }
}
