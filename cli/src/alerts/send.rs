//! `fleetwatch alerts send`: the slack-fanout function's delivery, for real, from a terminal.
//! Each event file is one queue message: planned (normalised and routed) as the function plans
//! it, then delivered by the same engine (pacing, rate limits, retries, dead letters) with an
//! in-memory state table and dead-letter queue (ECS and Auto Scaling events classified as the
//! fan-out classifies them). Webhook URLs and tokens are never printed.

use std::io::{self, Write};
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use fleetwatch_alerts::{RenderOptions, render};
use fleetwatch_ports::{
    ErrorChain, MemoryQueue, MemoryStateStore, SharedClock, StateStore, SystemClock,
};
use fleetwatch_routing::{Config, Timestamp};
use fleetwatch_slack::SlackClient;
use fleetwatch_slack_fanout::{
    Delivery, DeliveryState, Engine, Outcome, Settings, WorkItem, delivery_key, plan_message,
};
use serde_json::Value;

use super::secrets::Secrets;
use super::{event_file, routing_file};
use crate::outcome::{CommandResult, Fatal, Finished};
use crate::runtime;
use crate::table::{Align, Table};

#[derive(Debug, Args)]
pub struct SendArgs {
    /// The routing configuration (YAML), as the slack-fanout function reads it.
    #[arg(long, value_name = "FILE")]
    config: PathBuf,
    /// Secrets file (YAML or JSON): SSM parameter name -> value, for the destinations' webhook
    /// URLs and bot tokens. Without it they are read from SSM Parameter Store (AWS credentials
    /// and region from the environment).
    #[arg(long, value_name = "FILE")]
    secrets: Option<PathBuf>,
    /// Slack Web API base URL (bot destinations).
    #[arg(long, value_name = "URL", default_value = "https://slack.com/api")]
    api_base: String,
    /// Alert payload files (as for `alerts render`); each is delivered as one queue message.
    #[arg(value_name = "EVENT_FILE", required = true)]
    files: Vec<PathBuf>,
}

/// As long as one invocation of the function may take, about.
const DEADLINE: Duration = Duration::from_secs(60);
const SLACK_TIMEOUT: Duration = Duration::from_secs(10);

pub fn run(args: &SendArgs) -> CommandResult {
    let config = routing_file::load(&args.config)?;
    let secrets = match &args.secrets {
        Some(path) => Some(Secrets::from_file(path)?),
        None => None,
    };
    let slack = SlackClient::new(&args.api_base, SLACK_TIMEOUT)
        .map_err(|e| Fatal::Environment(format!("the Slack HTTP client: {}", ErrorChain(&e))))?;
    let clock = SystemClock::shared();

    let mut out = io::stdout().lock();
    let (work, planned_text, mut finished) = plan_files(&config, &args.files, &clock);
    out.write_all(planned_text.as_bytes())
        .map_err(Fatal::stdout)?;
    if work.is_empty() {
        writeln!(out, "\nNothing to deliver.").map_err(Fatal::stdout)?;
        return Ok(finished);
    }
    out.flush().map_err(Fatal::stdout)?;

    let runtime = runtime::new()?;
    let report = runtime.block_on(async {
        let secrets = match secrets {
            Some(secrets) => secrets,
            None => Secrets::from_ssm().await?,
        };
        let wanted = work
            .iter()
            .flat_map(|item| &item.deliveries)
            .map(|delivery| delivery.destination.as_str());
        let destinations = secrets.check(&config, wanted).await?;
        let engine = Engine::new(
            slack,
            MemoryStateStore::new(clock.clone()),
            MemoryQueue::default(),
            secrets,
            destinations,
            Settings::default(),
            clock.clone(),
        );
        let deliveries: Vec<Delivery> = work
            .iter()
            .flat_map(|item| item.deliveries.iter().cloned())
            .collect();
        let outcome = engine.deliver(work, clock.now() + DEADLINE).await;
        Ok::<_, Fatal>(fates(&engine, &deliveries, &outcome).await)
    })?;
    out.write_all(report.text.as_bytes())
        .map_err(Fatal::stdout)?;
    out.flush().map_err(Fatal::stdout)?;
    if report.failed {
        finished = finished.and(Finished::SomeWorkFailed);
    }
    Ok(finished)
}

/// Plans every readable file; returns the work, what was planned (for the user), and whether
/// every file could be read.
fn plan_files(
    config: &Config,
    files: &[PathBuf],
    clock: &SharedClock,
) -> (Vec<WorkItem>, String, Finished) {
    let now = Timestamp::try_from(clock.now()).unwrap_or(Timestamp::UNIX_EPOCH);
    let mut work = Vec::new();
    let mut text = String::new();
    let mut finished = Finished::Success;
    for path in files {
        let Some(body) = event_file::read(path) else {
            finished = Finished::SomeInputsUnreadable;
            continue;
        };
        let message_id = path.display().to_string();
        let planned = match plan_message(config, &message_id, &body, now) {
            Ok(planned) => planned,
            Err(error) => {
                eprintln!("fleetwatch: {message_id}: {}", ErrorChain(&error));
                finished = Finished::SomeInputsUnreadable;
                continue;
            }
        };
        if planned.unknown > 0 {
            eprintln!(
                "fleetwatch: {message_id}: note: {} record(s) of an unknown shape, sent with the generic layout (as the function does)",
                planned.unknown
            );
        }
        text.push_str(&format!(
            "{message_id}: {}, {}\n",
            event_file::kind_name(planned.kind),
            event_file::count_alerts(planned.alerts)
        ));
        for delivery in &planned.work.deliveries {
            text.push_str(&format!(
                "  {} -> {}\n",
                alert_text(delivery),
                delivery.destination
            ));
        }
        for dropped in &planned.dropped {
            text.push_str(&format!("  not sent: {dropped}\n"));
        }
        if !planned.work.deliveries.is_empty() {
            work.push(planned.work);
        }
    }
    (work, text, finished)
}

fn alert_text(delivery: &Delivery) -> String {
    render(&delivery.alert, &RenderOptions::default()).text
}

struct Report {
    text: String,
    /// Something was dead-lettered or left for a retry.
    failed: bool,
}

/// What became of each delivery (from the state the engine recorded, the reasons from its
/// dead letters), and the totals.
async fn fates(
    engine: &Engine<SlackClient, MemoryStateStore, MemoryQueue, Secrets>,
    deliveries: &[Delivery],
    outcome: &Outcome,
) -> Report {
    let dead_letters: Vec<Value> = engine
        .dead_letters
        .messages()
        .iter()
        .filter_map(|message| serde_json::from_str(message).ok())
        .collect();
    let mut table = Table::new(&[Align::Left, Align::Left]);
    for delivery in deliveries {
        let key = delivery_key(&delivery.alert.id, &delivery.destination);
        let state = match engine.state.get(&key).await {
            Ok(Some(item)) => DeliveryState::parse(&item.value),
            _ => None,
        };
        let fate = match state {
            Some(DeliveryState::Sent) => "sent".to_string(),
            Some(DeliveryState::Dropped) => "duplicate, not sent".to_string(),
            Some(DeliveryState::Dead) => {
                let reason = dead_letters
                    .iter()
                    .find(|letter| {
                        letter["destination"] == delivery.destination.as_str()
                            && letter["alert"]["id"] == delivery.alert.id.as_str()
                    })
                    .and_then(|letter| letter["reason"].as_str())
                    .unwrap_or("no reason recorded");
                format!("dead-lettered: {reason}")
            }
            Some(DeliveryState::Pending) | None => {
                "not delivered: left for a retry (rate limited beyond the deadline, or Slack unavailable)"
                    .to_string()
            }
        };
        table.row([
            format!("{} -> {}", alert_text(delivery), delivery.destination),
            fate,
        ]);
    }
    let mut text = String::from("\nDeliveries\n");
    table.render("  ", &mut text);
    text.push_str(&format!(
        "\nOutcome: {} delivered in {} Slack message(s) ({} digest(s)), {} dead-lettered, {} message(s) left for a retry, {} duplicate(s) not sent, {} rate-limited answer(s)\n",
        outcome.delivered,
        outcome.posted,
        outcome.digests,
        outcome.dead,
        outcome.retry.len(),
        outcome.dropped,
        outcome.rate_limited
    ));
    for (message, reason) in &outcome.retry {
        text.push_str(&format!("Left for a retry: {message}: {reason}\n"));
    }
    Report {
        text,
        failed: outcome.dead > 0 || !outcome.retry.is_empty(),
    }
}
