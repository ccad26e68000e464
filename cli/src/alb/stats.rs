//! `fleetwatch alb stats`: statistics folded over all inputs, as an aligned text report or as
//! the pipeline's `StatsReport` JSON.

use std::cell::Cell;
use std::io::{self, Write};
use std::path::PathBuf;

use clap::Args;
use fleetwatch_alb_logs::Stats;

use super::line;
use super::report;
use crate::input::{self, Input};
use crate::outcome::{CommandResult, Fatal, Finished};
use crate::progress::Progress;

#[derive(Debug, Args)]
pub struct StatsArgs {
    /// Print the report as JSON (the alb-logs function's statistics report).
    #[arg(long)]
    json: bool,
    /// Entries in each top list (paths, 5xx paths, clients).
    #[arg(long, value_name = "N", default_value_t = 10)]
    top: usize,
    /// Log files, plain or gzip (any number of members); `-` for stdin.
    #[arg(value_name = "INPUT", required = true)]
    inputs: Vec<PathBuf>,
}

pub fn run(args: &StatsArgs) -> CommandResult {
    let inputs = Input::from_args(&args.inputs);
    let total_bytes = inputs.iter().map(Input::size).sum::<Option<u64>>();
    let progress = Progress::for_inputs(!args.json, total_bytes);
    let (stats, finished) = fold_inputs(&inputs, &progress);
    progress.finish();

    let report = stats.report(args.top);
    let mut text = if args.json {
        // A report of plain numbers and strings always serialises.
        serde_json::to_string_pretty(&report).unwrap_or_default()
    } else {
        report::render(&report)
    };
    text.push('\n');
    io::stdout()
        .lock()
        .write_all(text.as_bytes())
        .map_err(Fatal::output("standard output"))?;
    Ok(finished)
}

/// One `Stats` over every line of every input; unreadable inputs are reported and skipped (their
/// lines before the failure count).
fn fold_inputs(inputs: &[Input], progress: &Progress) -> (Stats, Finished) {
    let mut stats = Stats::new();
    let mut finished = Finished::Success;
    let never = Cell::new(false);
    for input in inputs {
        progress.set_input(&input.name());
        let kind = input.kind();
        let scanned = input::scan(input, progress, &never, |line| {
            line::fold(&mut stats, &line::parse(kind, &line));
        });
        if let Err(unreadable) = scanned {
            progress.message(&format!("fleetwatch: {unreadable}"));
            finished = Finished::SomeInputsUnreadable;
        }
    }
    (stats, finished)
}
