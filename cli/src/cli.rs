//! The command tree. Each group (`alb`, `alerts`, `health`, later `capacity`) owns its
//! subcommands in its own module; this file only names the groups.

use clap::{Parser, Subcommand};

use crate::alb::AlbCommand;
use crate::alerts::AlertsCommand;
use crate::capacity::CapacityCommand;
use crate::health::HealthCommand;

#[derive(Debug, Parser)]
#[command(
    name = "fleetwatch",
    version,
    about = "Runs the fleetwatch Lambda functions' code on local files",
    propagate_version = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Load balancer logs (ALB access and connection, NLB TLS, Classic ELB): parse, summarise,
    /// query with Athena.
    #[command(subcommand)]
    Alb(AlbCommand),
    /// Alert payloads (CloudWatch alarms, Alertmanager, AWS Health, own alerts): render them as
    /// Slack messages, route them, send them.
    #[command(subcommand)]
    Alerts(AlertsCommand),
    /// Capacity planning for ECS on EC2 Auto Scaling groups: simulate scenarios under the
    /// capacity function's planner and a model of ECS managed scaling.
    #[command(subcommand)]
    Capacity(CapacityCommand),
    /// Health checks (HTTP, TCP, Jenkins) as the health-check function runs them.
    #[command(subcommand)]
    Health(HealthCommand),
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn command_tree_is_consistent() {
        Cli::command().debug_assert();
    }
}
