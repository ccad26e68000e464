//! `fleetwatch alerts render`: the Slack message(s) each event file would send, in a readable
//! plain layout or (`--json`) as the exact payloads, one JSON document per line.

use std::io::{self, Write};
use std::path::PathBuf;

use clap::Args;
use fleetwatch_alerts::{RenderOptions, render};

use super::{event_file, plain};
use crate::outcome::{CommandResult, Fatal, Finished};

#[derive(Debug, Args)]
pub struct RenderArgs {
    /// Print the exact Slack payloads (`{text, attachments}`), one JSON document per line.
    #[arg(long)]
    json: bool,
    /// Alert payload files: CloudWatch alarms, Alertmanager webhooks, AWS Health events, SNS
    /// messages, fleetwatch alerts, any JSON; raw or in SNS / SQS / Lambda event envelopes.
    #[arg(value_name = "EVENT_FILE", required = true)]
    files: Vec<PathBuf>,
}

pub fn run(args: &RenderArgs) -> CommandResult {
    let mut out = io::stdout().lock();
    let mut finished = Finished::Success;
    let options = RenderOptions::default();
    for (index, path) in args.files.iter().enumerate() {
        let Some(normalised) = event_file::load(path) else {
            finished = Finished::SomeInputsUnreadable;
            continue;
        };
        let mut text = String::new();
        if !args.json {
            if index > 0 {
                text.push('\n');
            }
            text.push_str(&format!(
                "== {}: {}\n",
                path.display(),
                event_file::describe(&normalised)
            ));
        }
        for (number, alert) in normalised.alerts.iter().enumerate() {
            let message = render(alert, &options);
            if args.json {
                // Plain strings and vectors: serialisation cannot fail.
                text.push_str(&serde_json::to_string(&message).unwrap_or_default());
                text.push('\n');
            } else {
                if normalised.alerts.len() > 1 {
                    text.push_str(&format!(
                        "\n-- alert {} of {}\n",
                        number + 1,
                        normalised.alerts.len()
                    ));
                }
                text.push_str(&plain::layout(&message));
            }
        }
        out.write_all(text.as_bytes()).map_err(Fatal::stdout)?;
    }
    out.flush().map_err(Fatal::stdout)?;
    Ok(finished)
}
