//! `fleetwatch alerts route`: for each alert of each event file, the routing decision of the
//! configuration: the routes tried, the destinations it goes to, the drops, and why.

use std::io::{self, Write};
use std::path::PathBuf;

use clap::Args;
use fleetwatch_alerts::{RenderOptions, render};
use fleetwatch_routing::{Timestamp, route};

use super::{event_file, routing_file};
use crate::outcome::{CommandResult, Fatal, Finished};

#[derive(Debug, Args)]
pub struct RouteArgs {
    /// The routing configuration (YAML), as the slack-fanout function reads it.
    #[arg(long, value_name = "FILE")]
    config: PathBuf,
    /// Alert payload files (as for `alerts render`).
    #[arg(value_name = "EVENT_FILE", required = true)]
    files: Vec<PathBuf>,
}

pub fn run(args: &RouteArgs) -> CommandResult {
    let config = routing_file::load(&args.config)?;
    // Mute windows are decided at this moment, as they would be for an alert arriving now.
    let now = Timestamp::now();
    let mut out = io::stdout().lock();
    let mut finished = Finished::Success;
    for (index, path) in args.files.iter().enumerate() {
        let Some(normalised) = event_file::load(path) else {
            finished = Finished::SomeInputsUnreadable;
            continue;
        };
        let mut text = String::new();
        if index > 0 {
            text.push('\n');
        }
        text.push_str(&format!(
            "== {}: {}\n",
            path.display(),
            event_file::describe(&normalised)
        ));
        for alert in &normalised.alerts {
            // The alert as people will see it: the message's one-line text.
            let title = render(alert, &RenderOptions::default()).text;
            text.push_str(&format!("{title}\n"));
            for line in route(&config, alert, now).explain() {
                text.push_str(&format!("  {line}\n"));
            }
        }
        // Dropped before routing (the ECS noise policy): nothing to route.
        for dropped in &normalised.dropped {
            text.push_str(&format!("{}\n", event_file::dropped_line(dropped)));
        }
        out.write_all(text.as_bytes()).map_err(Fatal::stdout)?;
    }
    out.flush().map_err(Fatal::stdout)?;
    Ok(finished)
}
