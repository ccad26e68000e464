//! `fleetwatch health check CONFIG`: every check of the configuration probed once, now, with
//! the function's prober and verdicts (`fleetwatch_health_check::run_check`), concurrently.
//! No state, no alerts: the result of each check, as a table or JSON. Header values, tokens
//! and URL queries are never printed.

use std::io::{self, Write};
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clap::Args;
use fleetwatch_health::{Check, CheckResult, Config, UnixTime};
use fleetwatch_health_check::{run_check, strip_query};
use fleetwatch_ports::ErrorChain;
use fleetwatch_probe::NetProber;
use futures_util::StreamExt;
use serde_json::json;

use crate::alerts::secrets::Secrets;
use crate::outcome::{CommandResult, Fatal, Finished};
use crate::runtime;
use crate::table::{Align, Table};

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The checks configuration (YAML), as the health-check function reads it.
    #[arg(value_name = "CONFIG")]
    config: PathBuf,
    /// Print the results as JSON.
    #[arg(long)]
    json: bool,
    /// Secrets file (YAML or JSON): SSM parameter name -> value, for the header values and
    /// Jenkins tokens the configuration names. Without it they are read from SSM Parameter
    /// Store (AWS credentials and region from the environment; needs the `aws` feature).
    #[arg(long, value_name = "FILE")]
    secrets: Option<PathBuf>,
    /// Also trust the root certificates of this PEM file (an internal CA).
    #[arg(long, value_name = "PEM")]
    ca_file: Option<PathBuf>,
    /// The function's schedule period in seconds: every interval must be a multiple of it.
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    schedule_period: u64,
}

/// Checks probed at once, as in the function.
const CONCURRENCY: usize = 16;

pub fn run(args: &CheckArgs) -> CommandResult {
    let name = args.config.display().to_string();
    let text = std::fs::read_to_string(&args.config)
        .map_err(|e| Fatal::Usage(format!("{name}: cannot read: {e}")))?;
    let period = Duration::from_secs(args.schedule_period.max(1));
    let config =
        Config::from_yaml(&text, period).map_err(|e| Fatal::Usage(format!("{name}: {e}")))?;
    let secrets = match &args.secrets {
        Some(path) => Some(Secrets::from_file(path)?),
        None => None,
    };
    let prober = match &args.ca_file {
        None => NetProber::new(),
        Some(path) => {
            let pem = std::fs::read(path)
                .map_err(|e| Fatal::Usage(format!("{}: cannot read: {e}", path.display())))?;
            NetProber::with_root_certificates(&pem)
        }
    }
    .map_err(|e| Fatal::Usage(format!("the prober: {}", ErrorChain(&e))))?;

    let runtime = runtime::new()?;
    let results = runtime.block_on(async {
        let secrets = match secrets {
            Some(secrets) => secrets,
            // Only a configuration that names SSM parameters needs AWS.
            None if config.ssm_parameters().is_empty() => Secrets::none(),
            None => Secrets::from_ssm().await?,
        };
        for parameter in config.ssm_parameters() {
            secrets.require(parameter).await?;
        }
        let now = now();
        let runs = futures_util::stream::iter(config.checks())
            .map(|check| run_check(&prober, &secrets, check, now))
            .buffered(CONCURRENCY)
            .collect::<Vec<_>>()
            .await;
        runs.into_iter()
            .map(|run| {
                run.map_err(|e| {
                    Fatal::Environment(format!("SSM Parameter Store: {}", ErrorChain(&e)))
                })
            })
            .collect::<Result<Vec<CheckResult>, Fatal>>()
    })?;

    let report = if args.json {
        json_report(&config, &results)
    } else {
        text_report(&config, &results)
    };
    let mut out = io::stdout().lock();
    out.write_all(report.as_bytes()).map_err(Fatal::stdout)?;
    out.flush().map_err(Fatal::stdout)?;
    if results.iter().all(|result| result.healthy) {
        Ok(Finished::Success)
    } else {
        Ok(Finished::SomeWorkFailed)
    }
}

fn now() -> UnixTime {
    let seconds = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    UnixTime::from_secs(i64::try_from(seconds).unwrap_or(i64::MAX))
}

fn latency(result: &CheckResult) -> String {
    result
        .metrics
        .latency_ms
        .map_or_else(|| "-".to_owned(), |ms| format!("{ms}ms"))
}

/// One row per check; a failing check shows each failed condition and the value seen, one per
/// row.
fn text_report(config: &Config, results: &[CheckResult]) -> String {
    let mut table = Table::new(&[
        Align::Left,
        Align::Left,
        Align::Left,
        Align::Left,
        Align::Right,
    ]);
    table.row(["CHECK", "RESULT", "FAILED CONDITION", "SEEN", "LATENCY"]);
    for (check, result) in config.checks().iter().zip(results) {
        let mut failures = result.failures();
        let first = failures.next();
        table.row([
            check.name.clone(),
            if result.healthy { "ok" } else { "FAIL" }.to_owned(),
            first.map(|f| f.condition.clone()).unwrap_or_default(),
            first.map(|f| f.seen.clone()).unwrap_or_default(),
            latency(result),
        ]);
        for failure in failures {
            table.row([
                String::new(),
                String::new(),
                failure.condition.clone(),
                failure.seen.clone(),
                String::new(),
            ]);
        }
    }
    let mut text = String::new();
    table.render("", &mut text);
    let failing = results.iter().filter(|r| !r.healthy).count();
    text.push_str(&format!(
        "\n{failing} of {} check(s) failing\n",
        results.len()
    ));
    text
}

fn json_report(config: &Config, results: &[CheckResult]) -> String {
    let checks: Vec<_> = config
        .checks()
        .iter()
        .zip(results)
        .map(|(check, result)| check_json(check, result))
        .collect();
    let failing = results.iter().filter(|r| !r.healthy).count();
    let report = json!({
        "checks": checks,
        "healthy": results.len() - failing,
        "failing": failing,
    });
    let mut text = serde_json::to_string_pretty(&report).expect("JSON values serialise");
    text.push('\n');
    text
}

fn check_json(check: &Check, result: &CheckResult) -> serde_json::Value {
    json!({
        "name": check.name,
        "type": check.kind(),
        "url": strip_query(&check.url()),
        "healthy": result.healthy,
        "reason": result.reason(),
        "conditions": result.conditions,
        "metrics": result.metrics,
    })
}
