//! The alerts the planner publishes. Ids are built from what identifies the occurrence, never from
//! the time of processing, so a plan repeated by a retried invocation publishes the same ids and
//! `slack-fanout` posts them once.

use fleetwatch_alerts::stable_id;
use fleetwatch_alerts::{Alert, Severity, Source};

/// The thread every scaling summary of one group goes to: an episode's scale-out and the drains
/// that follow it read as one story.
pub(crate) fn scaling_thread(cluster: &str, asg: &str) -> String {
    format!("capacity:{cluster}:{asg}:scaling")
}

fn base(cluster: &str, asg: &str, title: String, severity: Severity, now: u64) -> Alert {
    let mut alert = Alert::new(Source::Capacity, title);
    alert.severity = severity;
    alert.set_label("cluster", cluster);
    alert.set_label("asg", asg);
    alert.push_field("Cluster", cluster);
    alert.push_field("Auto Scaling group", asg);
    alert.occurred_at = Some(rfc3339(now));
    alert
}

/// Pending tasks that no instance type of the group can hold: no scaling will ever place them.
pub(crate) fn unfittable(
    cluster: &str,
    asg: &str,
    tasks: &[(String, Option<String>, String)],
    now: u64,
) -> Alert {
    let title = format!(
        "{} pending task(s) fit no instance type of {asg}",
        tasks.len()
    );
    let mut alert = base(cluster, asg, title, Severity::Error, now);
    alert.summary = "These tasks ask for more CPU or memory than any instance type the group \
                     launches; add a bigger type or shrink the task definition."
        .into();
    let ids: Vec<&str> = tasks.iter().map(|(id, _, _)| id.as_str()).collect();
    for (id, service, need) in tasks.iter().take(10) {
        alert.push_field(
            service.as_deref().unwrap_or("task"),
            format!("{id}: {need}"),
        );
    }
    alert.fingerprint = format!("capacity:{cluster}:{asg}:unfittable");
    alert.id = stable_id(&[&alert.fingerprint, &ids.join(",")]);
    alert
}

/// The group is at its maximum and tasks still wait.
pub(crate) fn at_max(cluster: &str, asg: &str, max: u32, waiting: usize, now: u64) -> Alert {
    let title =
        format!("{asg} is at its maximum of {max} instances with {waiting} task(s) pending");
    let mut alert = base(cluster, asg, title, Severity::Warning, now);
    alert.summary = "Raise the group's MaxSize or lower the services' desired counts.".into();
    alert.push_field("Waiting tasks", waiting.to_string());
    alert.fingerprint = format!("capacity:{cluster}:{asg}:at-max");
    alert.id = stable_id(&[&alert.fingerprint, &max.to_string(), &waiting.to_string()]);
    alert
}

/// What one capacity decision does, for people: posted once per decision, threaded per group.
pub(crate) struct Summary<'a> {
    pub cluster: &'a str,
    pub asg: &'a str,
    pub title: String,
    pub lines: Vec<(String, String)>,
    /// What makes this decision unique (instance ids, desired counts).
    pub identity: Vec<String>,
    pub observe: bool,
}

pub(crate) fn summary(s: Summary<'_>, now: u64) -> Alert {
    let title = if s.observe {
        format!("[observe] would: {}", s.title)
    } else {
        s.title
    };
    let mut alert = base(s.cluster, s.asg, title, Severity::Info, now);
    for (name, value) in s.lines {
        alert.push_field(name, value);
    }
    alert.fingerprint = format!("capacity:{}:{}:decision", s.cluster, s.asg);
    let mut parts = vec![alert.fingerprint.clone()];
    parts.extend(s.identity);
    alert.id = stable_id(&parts);
    alert.thread_key = Some(scaling_thread(s.cluster, s.asg));
    alert
}

/// The planner found a capacity provider managing the same group and does nothing.
pub(crate) fn stand_down(cluster: &str, asg: &str, provider: &str, now: u64) -> Alert {
    let title = format!("Capacity planner stands down: capacity provider {provider} manages {asg}");
    let mut alert = base(cluster, asg, title, Severity::Warning, now);
    alert.summary = "ECS managed scaling or managed draining is on for this group. Two controllers \
                     on one group fight (desired capacity, termination hooks). Turn managed scaling \
                     and draining off on the capacity provider, or remove this planner."
        .into();
    alert.push_field("Capacity provider", provider);
    alert.fingerprint = format!("capacity:{cluster}:{asg}:stand-down");
    alert.id = stable_id(&[&alert.fingerprint, provider]);
    alert
}

/// A lifecycle hook was completed at the maximum hold with tasks still on the instance.
pub(crate) fn hook_forced(
    asg: &str,
    instance_id: &str,
    remaining_tasks: usize,
    held_s: u64,
    now: u64,
) -> Alert {
    let title = format!(
        "{instance_id} terminated after {}m of draining with {remaining_tasks} task(s) still on it",
        held_s / 60
    );
    let mut alert = Alert::new(Source::Capacity, title);
    alert.severity = Severity::Error;
    alert.summary = "The lifecycle hook reached the configured maximum hold; the remaining tasks \
                     stop with the instance. Look for tasks that ignore SIGTERM or a service that \
                     cannot start replacements."
        .into();
    alert.set_label("asg", asg);
    alert.push_field("Instance", instance_id);
    alert.push_field("Auto Scaling group", asg);
    alert.fingerprint = format!("capacity:{asg}:{instance_id}:hook-forced");
    alert.id = stable_id(&[&alert.fingerprint]);
    alert.occurred_at = Some(rfc3339(now));
    alert
}

/// Epoch seconds as RFC 3339 UTC, without a date crate (days-from-civil inverse, Howard Hinnant).
pub fn rfc3339(epoch: u64) -> String {
    let days = epoch / 86_400;
    let secs = epoch % 86_400;
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_matches_known_dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_590_237_074), "2020-05-23T12:31:14Z");
    }
}
