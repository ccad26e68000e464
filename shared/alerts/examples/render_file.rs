//! Normalises and renders payload files, printing the detected kind and the Slack payloads:
//! a quick look at real samples, `cargo run -p fleetwatch-alerts --example render_file -- FILE...`.

use fleetwatch_alerts::{RenderOptions, normalise, render};
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut status = ExitCode::SUCCESS;
    let options = RenderOptions::default();
    for path in std::env::args().skip(1) {
        let payload = match std::fs::read_to_string(&path) {
            Ok(payload) => payload,
            Err(e) => {
                eprintln!("{path}: {e}");
                status = ExitCode::from(2);
                continue;
            }
        };
        match normalise(&payload) {
            Ok(normalised) => {
                println!(
                    "== {path}: {} via {:?}, warnings {:?}",
                    normalised.kind.as_str(),
                    normalised.envelopes,
                    normalised.warnings
                );
                for alert in &normalised.alerts {
                    println!(
                        "{}",
                        serde_json::to_string_pretty(alert).unwrap_or_default()
                    );
                    let message = render(alert, &options);
                    println!(
                        "{}",
                        serde_json::to_string_pretty(&message).unwrap_or_default()
                    );
                }
            }
            Err(e) => {
                eprintln!("{path}: {e}");
                status = ExitCode::from(2);
            }
        }
    }
    status
}
