//! Prints one scenario's timeline under both policies side by side (every `STEP` minutes).
//!
//! `cargo run -p fleetwatch-scaling --example timeline -- events/capacity/burst.yaml [STEP]`

use fleetwatch_scaling::Config;
use fleetwatch_scaling::sim::{CasOptions, Policy, Scenario, simulate};

fn main() {
    let path = std::env::args().nth(1).expect("scenario path");
    let step: usize = std::env::args()
        .nth(2)
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let scenario = Scenario::from_yaml(&std::fs::read_to_string(path).unwrap()).unwrap();
    let ours = simulate(&scenario, &Policy::Fleetwatch(Config::default()));
    let cas = simulate(&scenario, &Policy::Cas(CasOptions::default()));
    println!("   t  | fleetwatch inst pend run | cas inst pend run");
    for (a, b) in ours.timeline.iter().zip(&cas.timeline).step_by(step) {
        println!(
            "{:5}m | {:4} {:4} {:4} | {:4} {:4} {:4}",
            a.t / 60,
            a.instances,
            a.pending,
            a.running,
            b.instances,
            b.pending,
            b.running
        );
    }
}
