//! `fleetwatch health ...`: the health-check function's checks, run from a terminal.

mod check;

use clap::Subcommand;

use crate::outcome::CommandResult;

#[derive(Debug, Subcommand)]
pub enum HealthCommand {
    /// Run every check of a configuration once, now, and print each result: the failed
    /// condition and the value seen. Exit status 1 when any check fails, 2 when the
    /// configuration cannot be read or is invalid.
    Check(check::CheckArgs),
}

pub fn run(command: HealthCommand) -> CommandResult {
    match command {
        HealthCommand::Check(args) => check::run(&args),
    }
}
