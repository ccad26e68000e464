//! `fleetwatch alb ...`: load balancer logs on local files, through the same parser, encoders
//! and statistics as the alb-logs Lambda function.

mod athena;
mod line;
mod parse;
mod report;
mod run;
mod stats;

use clap::Subcommand;

use crate::outcome::CommandResult;

#[derive(Debug, Subcommand)]
pub enum AlbCommand {
    /// Parse log files into one JSON document per line (stdout); unparseable lines go to
    /// --errors.
    Parse(parse::ParseArgs),
    /// Summarise log files: totals, status classes, 5xx origins, latency percentiles, top paths
    /// and clients, desync classifications, error reasons.
    Stats(stats::StatsArgs),
    /// Run the alb-logs function's job on local files: search documents, Athena table output
    /// (Hive layout), dead letters and threshold alerts, written below --out.
    Run(run::RunArgs),
    /// Print the Athena CREATE EXTERNAL TABLE for the alb-logs function's S3 output.
    AthenaDdl(athena::AthenaDdlArgs),
}

pub fn run(command: AlbCommand) -> CommandResult {
    match command {
        AlbCommand::Parse(args) => parse::run(&args),
        AlbCommand::Stats(args) => stats::run(&args),
        AlbCommand::Run(args) => run::run(&args),
        AlbCommand::AthenaDdl(args) => athena::run(&args),
    }
}
