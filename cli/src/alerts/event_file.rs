//! Event files named on the command line: read, then detected and normalised as the function
//! does. Problems are reported on standard error naming the file; the caller goes on with the
//! next file.

use std::path::Path;

use fleetwatch_alerts::{Envelope, Normalised, PayloadKind, normalise};

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
    let text = read(path)?;
    match normalise(&text) {
        Ok(normalised) => {
            report_notes(path, &normalised);
            Some(normalised)
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

/// `CloudWatch alarm (SNS message) in an SNS Lambda event, 1 alert`.
pub fn describe(normalised: &Normalised) -> String {
    let alerts = normalised.alerts.len();
    format!(
        "{}{}, {}",
        kind_name(normalised.kind),
        envelopes(&normalised.envelopes),
        count_alerts(alerts)
    )
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
