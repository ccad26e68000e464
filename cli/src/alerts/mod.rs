//! `fleetwatch alerts ...`: alert payloads through the slack-fanout function's code: the same
//! detection and normalisation, routing, Slack rendering and delivery engine.

mod aws;
mod event_file;
mod plain;
mod render;
mod route;
mod routing_file;
pub(crate) mod secrets;
mod send;

use clap::Subcommand;

use crate::outcome::CommandResult;

#[derive(Debug, Subcommand)]
pub enum AlertsCommand {
    /// Print the Slack message(s) each event file would send: raw payloads, or wrapped in SNS,
    /// SQS, EventBridge or a Lambda event. ECS and Auto Scaling events are classified as the
    /// ecs-events function does: alerts, or dropped by its noise policy.
    Render(render::RenderArgs),
    /// Show which Slack destinations each alert would go to, and why.
    Route(route::RouteArgs),
    /// Deliver the alerts of each event file to Slack for real, as the function would: a test of
    /// a routing configuration and its webhooks or bot tokens.
    Send(send::SendArgs),
}

pub fn run(command: AlertsCommand) -> CommandResult {
    match command {
        AlertsCommand::Render(args) => render::run(&args),
        AlertsCommand::Route(args) => route::run(&args),
        AlertsCommand::Send(args) => send::run(&args),
    }
}
