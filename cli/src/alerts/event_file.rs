//! Event files named on the command line: read, then detected and normalised as the function
//! does. Problems are reported on standard error naming the file; the caller goes on with the
//! next file.
//!
//! ECS and Auto Scaling EventBridge events, raw or in any envelope, are classified by
//! `fleetwatch-ecs` (its recogniser, default noise policy) as the ecs-events function does:
//! alerts, or a deliberate drop with the noise rule and the reason.

use std::path::Path;

use fleetwatch_alerts::{Envelope, Normalised, PayloadKind, normalise_with};
use fleetwatch_ecs::{EcsEvent, EcsRecogniser};

/// An event file's alerts, and the ECS events behind some of them (by alert id), for
/// `alerts render --enrich`.
pub struct Loaded {
    pub normalised: Normalised,
    /// Read by `--enrich`, which only an `aws` build has.
    #[cfg_attr(not(feature = "aws"), allow(dead_code))]
    pub ecs_events: Vec<(String, EcsEvent)>,
}

/// Reads an event file's text; `None` (after reporting why) when it cannot be read.
pub fn read(path: &Path) -> Option<String> {
    let result = std::fs::metadata(path).and_then(|metadata| {
        if metadata.is_dir() {
            Err(std::io::Error::other("is a directory"))
        } else {
            std::fs::read_to_string(path)
        }
    });
    match result {
        Ok(text) => Some(text),
        Err(error) => {
            eprintln!("fleetwatch: {}: cannot read: {error}", path.display());
            None
        }
    }
}

/// Reads and normalises an event file; `None` (after reporting why) when it cannot be read or
/// holds nothing to show (invalid JSON, an empty batch). Notes about the content (an unknown
/// shape, a known shape that could not be read) go to standard error.
pub fn load(path: &Path) -> Option<Normalised> {
    load_with_events(path).map(|loaded| loaded.normalised)
}

/// [`load`], keeping the ECS events behind the alerts.
pub fn load_with_events(path: &Path) -> Option<Loaded> {
    let text = read(path)?;
    let recogniser = EcsRecogniser::default();
    match normalise_with(&text, &recogniser) {
        Ok(normalised) => {
            report_notes(path, &normalised);
            Some(Loaded {
                normalised,
                ecs_events: recogniser.take_events(),
            })
        }
        Err(error) => {
            eprintln!("fleetwatch: {}: {error}", path.display());
            None
        }
    }
}

/// Unknown shapes and warnings, as the function logs them.
pub fn report_notes(path: &Path, normalised: &Normalised) {
    if normalised.unknown_records > 0 {
        eprintln!(
            "fleetwatch: {}: note: {} record(s) of an unknown shape, shown with the generic layout (as the function does)",
            path.display(),
            normalised.unknown_records
        );
    }
    for warning in &normalised.warnings {
        eprintln!("fleetwatch: {}: warning: {warning}", path.display());
    }
}

/// `CloudWatch alarm (SNS message) in an SNS Lambda event, 1 alert`;
/// `ECS / Auto Scaling event, 0 alerts, 1 dropped by the noise policy`.
pub fn describe(normalised: &Normalised) -> String {
    let dropped = match normalised.dropped.len() {
        0 => String::new(),
        count => format!(", {count} dropped by the noise policy"),
    };
    format!(
        "{}{}, {}{dropped}",
        kind_name(normalised.kind),
        envelopes(&normalised.envelopes),
        count_alerts(normalised.alerts.len())
    )
}

/// `dropped: noise rule steady_state: <reason>`.
pub fn dropped_line(reason: &str) -> String {
    format!("dropped: {reason}")
}

/// `1 alert`, `2 alerts`.
pub fn count_alerts(alerts: usize) -> String {
    format!("{alerts} alert{}", if alerts == 1 { "" } else { "s" })
}

/// What a payload kind is, in words.
pub fn kind_name(kind: PayloadKind) -> &'static str {
    match kind {
        PayloadKind::CloudwatchAlarmSns => "CloudWatch alarm (SNS message)",
        PayloadKind::CloudwatchAlarmEventbridge => "CloudWatch alarm (EventBridge state change)",
        PayloadKind::CloudwatchAlarmLambdaAction => "CloudWatch alarm (Lambda alarm action)",
        PayloadKind::Alertmanager => "Alertmanager webhook",
        PayloadKind::AwsHealth => "AWS Health event",
        PayloadKind::SnsText => "SNS text message",
        PayloadKind::Alert => "fleetwatch alert",
        PayloadKind::EcsEvent => "ECS / Auto Scaling event",
        PayloadKind::Unknown => "unknown shape (generic layout)",
        PayloadKind::Mixed => "mixed batch",
    }
}

fn envelopes(envelopes: &[Envelope]) -> String {
    let names: Vec<&str> = envelopes
        .iter()
        .map(|envelope| match envelope {
            Envelope::SnsNotification => "an SNS notification",
            Envelope::SnsLambdaEvent => "an SNS Lambda event",
            Envelope::SqsLambdaEvent => "an SQS Lambda event",
        })
        .collect();
    if names.is_empty() {
        String::new()
    } else {
        format!(" in {}", names.join(" in "))
    }
}
