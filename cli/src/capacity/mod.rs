//! `fleetwatch capacity ...`: the capacity function's planner in the simulator, beside a model
//! of ECS managed scaling.

mod simulate;

use clap::Subcommand;

use crate::outcome::CommandResult;

#[derive(Debug, Subcommand)]
pub enum CapacityCommand {
    /// Run a scenario (YAML: instance types, the Auto Scaling group, services, desired-count
    /// changes over time) under the fleetwatch planner and/or a model of ECS managed scaling,
    /// and report time-to-place, pending task-minutes, instance-hours, peak instances and
    /// tasks stopped without draining.
    Simulate(simulate::SimulateArgs),
}

pub fn run(command: CapacityCommand) -> CommandResult {
    match command {
        CapacityCommand::Simulate(args) => simulate::run(&args),
    }
}
