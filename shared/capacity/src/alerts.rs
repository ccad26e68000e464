//! The function's own alerts (the planner makes the others): a failure that retrying cannot fix,
//! and hook records that could not be read. Ids come from what failed and how, never from the
//! time, so the same failure every minute is one Slack message (the fan-out drops repeats by id).

use fleetwatch_alerts::{Alert, Severity, Source, stable_id};
use fleetwatch_ports::ErrorChain;
use fleetwatch_scaling::rfc3339;

fn base(cluster: &str, asg: &str, title: String, now: u64) -> Alert {
    let mut alert = Alert::new(Source::Capacity, title);
    alert.severity = Severity::Error;
    alert.set_label("cluster", cluster);
    alert.set_label("asg", asg);
    alert.push_field("Cluster", cluster);
    alert.push_field("Auto Scaling group", asg);
    alert.occurred_at = Some(rfc3339(now));
    alert
}

/// A call failed in a way the same call cannot get past (access denied, a validation error):
/// what was being done, and the whole cause.
pub fn failed(
    cluster: &str,
    asg: &str,
    doing: &str,
    error: &(dyn std::error::Error + 'static),
    now: u64,
) -> Alert {
    let cause = ErrorChain(error).to_string();
    let title = format!("Capacity function cannot act on {asg}: {doing} failed");
    let mut alert = base(cluster, asg, title, now);
    alert.summary = format!(
        "{cause}\n\nThe steps after it were not carried out; the next run (every minute) tries \
         again from a fresh look at the cluster. Check the function's IAM role and the group."
    );
    alert.fingerprint = format!("capacity:{cluster}:{asg}:failed");
    alert.id = stable_id(&[alert.fingerprint.as_str(), doing, cause.as_str()]);
    alert
}

/// The stored hook records were not a record list; they were replaced by an empty list.
pub fn records_unreadable(cluster: &str, asg: &str, key: &str, reason: &str, now: u64) -> Alert {
    let title = format!("Capacity function reset the unreadable lifecycle-hook records of {asg}");
    let mut alert = base(cluster, asg, title, now);
    alert.severity = Severity::Warning;
    alert.summary = format!(
        "The state item {key} did not hold a list of hook records ({reason}). Instances that \
         were terminating are found again from the group (Terminating:Wait) and drained."
    );
    alert.fingerprint = format!("capacity:{cluster}:{asg}:records-unreadable");
    alert.id = stable_id(&[alert.fingerprint.as_str(), reason]);
    alert
}
