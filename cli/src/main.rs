//! `fleetwatch`: the project's libraries on local files, without an AWS account.
//!
//! Exit status (scripts rely on it): 0 success (some log lines may have failed to parse: they are
//! reported, not fatal), 1 an output could not be written or stored, an alert could not be
//! delivered, or a health check failed, 2 an input could not be read or the command line (or a configuration it names) was
//! wrong.

mod alb;
mod alerts;
mod capacity;
mod cli;
mod health;
mod input;
mod outcome;
mod progress;
mod runtime;
mod table;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Alb(command) => alb::run(command),
        Command::Alerts(command) => alerts::run(command),
        Command::Capacity(command) => capacity::run(command),
        Command::Health(command) => health::run(command),
    };
    outcome::exit_code(result)
}
