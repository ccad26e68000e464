//! `fleetwatch alerts render`: the Slack message(s) each event file would send, in a readable
//! plain layout or (`--json`) as the exact payloads, one JSON document per line. With
//! `--enrich`, ECS alerts get what the ecs-events function looks up (service, task definition,
//! last log lines) from the AWS account of the environment's credentials.

use std::io::{self, Write};
use std::path::PathBuf;

use clap::Args;
use fleetwatch_alerts::{RenderOptions, render};

use super::aws::Enricher;
use super::event_file;
use super::plain;
use crate::outcome::{CommandResult, Fatal, Finished};

#[derive(Debug, Args)]
pub struct RenderArgs {
    /// Print the exact Slack payloads (`{text, attachments}`), one JSON document per line.
    #[arg(long)]
    json: bool,
    /// Look up what the ecs-events function adds to ECS alerts (DescribeServices,
    /// DescribeTaskDefinition, CloudWatch Logs) with the environment's AWS credentials and
    /// region. Off by default: rendering needs no AWS account. Needs a build with the `aws`
    /// feature (`cargo install --path cli --features aws`).
    #[arg(long)]
    enrich: bool,
    /// Alert payload files: CloudWatch alarms, Alertmanager webhooks, AWS Health events, ECS and
    /// Auto Scaling events, SNS messages, fleetwatch alerts, any JSON; raw or in SNS / SQS /
    /// Lambda event envelopes.
    #[arg(value_name = "EVENT_FILE", required = true)]
    files: Vec<PathBuf>,
}

pub fn run(args: &RenderArgs) -> CommandResult {
    let mut out = io::stdout().lock();
    let mut finished = Finished::Success;
    let options = RenderOptions::default();
    let enricher = match args.enrich {
        true => Some(Enricher::new()?),
        false => None,
    };
    for (index, path) in args.files.iter().enumerate() {
        let Some(mut loaded) = event_file::load_with_events(path) else {
            finished = Finished::SomeInputsUnreadable;
            continue;
        };
        if let Some(enricher) = &enricher {
            enricher.enrich(&mut loaded);
        }
        let loaded = loaded.normalised;
        let mut text = String::new();
        if !args.json {
            if index > 0 {
                text.push('\n');
            }
            text.push_str(&format!(
                "== {}: {}\n",
                path.display(),
                event_file::describe(&loaded)
            ));
        }
        for (number, alert) in loaded.alerts.iter().enumerate() {
            let message = render(alert, &options);
            if args.json {
                // Plain strings and vectors: serialisation cannot fail.
                text.push_str(&serde_json::to_string(&message).unwrap_or_default());
                text.push('\n');
            } else {
                if loaded.alerts.len() > 1 {
                    text.push_str(&format!(
                        "\n-- alert {} of {}\n",
                        number + 1,
                        loaded.alerts.len()
                    ));
                }
                text.push_str(&plain::layout(&message));
            }
        }
        // Events the noise policy drops (ECS / Auto Scaling) send nothing: said in the plain
        // layout, a note on standard error beside the payloads of `--json`.
        for dropped in &loaded.dropped {
            let line = event_file::dropped_line(dropped);
            if args.json {
                eprintln!("fleetwatch: {}: note: {line}", path.display());
            } else {
                text.push_str(&format!("{line}\n"));
            }
        }
        out.write_all(text.as_bytes()).map_err(Fatal::stdout)?;
    }
    out.flush().map_err(Fatal::stdout)?;
    Ok(finished)
}
