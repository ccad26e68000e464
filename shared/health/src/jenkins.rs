//! Jenkins, built in: which JSON API endpoints to read, and the verdict over their answers.
//!
//! Always checked: the controller answers `/api/json` (HTTP 2xx, JSON) and is not quieting
//! down (`quietingDown`: it is preparing for a restart and starts no new builds). As
//! configured: executors on online nodes (`/computer/api/json`, `computer[].offline`,
//! `numExecutors`), the build queue's length and the age of its oldest item that is not
//! `blocked` (`/queue/api/json`, `items[].inQueueSince` in epoch milliseconds), and the named
//! jobs' last completed builds (`/job/<name>/lastCompletedBuild/api/json`, `result`).
//!
//! Every request asks for only the fields it needs (`?tree=`), which keeps bodies small on a
//! controller with hundreds of agents or a long queue.

use crate::config::{Check, JenkinsTarget, Target};
use crate::evaluate::{CheckResult, ConditionResult, format_millis};
use crate::probe::{
    BasicAuth, HttpObservation, HttpRequest, JenkinsEndpoint, JenkinsRequest, JenkinsResponse,
    MAX_BODY_BYTES, MAX_REDIRECTS,
};
use crate::time::{UnixTime, format_duration};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use std::time::Duration;

/// The requests a Jenkins check needs, in the order they are best sent (the controller
/// first). Empty for a check that is not a Jenkins check.
pub fn jenkins_requests(check: &Check) -> Vec<JenkinsRequest> {
    let Target::Jenkins(jenkins) = &check.target else {
        return Vec::new();
    };
    let conditions = &jenkins.conditions;
    let mut endpoints = vec![JenkinsEndpoint::Controller];
    if conditions.online_executors_at_least.is_some() {
        endpoints.push(JenkinsEndpoint::Computers);
    }
    if conditions.queue_items_under.is_some() || conditions.queue_oldest_under.is_some() {
        endpoints.push(JenkinsEndpoint::Queue);
    }
    endpoints.extend(
        conditions
            .jobs_not_failed
            .iter()
            .map(|job| JenkinsEndpoint::LastBuild { job: job.clone() }),
    );
    endpoints
        .into_iter()
        .map(|endpoint| JenkinsRequest {
            request: request(check, jenkins, &endpoint),
            endpoint,
        })
        .collect()
}

fn request(check: &Check, jenkins: &JenkinsTarget, endpoint: &JenkinsEndpoint) -> HttpRequest {
    HttpRequest {
        method: "GET".to_owned(),
        url: format!("{}{}", jenkins.url, path(endpoint)),
        headers: Vec::new(),
        basic_auth: Some(BasicAuth {
            user: jenkins.user.clone(),
            password: jenkins.api_token.clone(),
        }),
        body: None,
        timeout: check.timeout,
        max_body_bytes: MAX_BODY_BYTES,
        max_redirects: MAX_REDIRECTS,
    }
}

/// The path and query of an endpoint, below the base URL.
pub(crate) fn path(endpoint: &JenkinsEndpoint) -> String {
    match endpoint {
        JenkinsEndpoint::Controller => "/api/json?tree=mode,quietingDown,quietDownReason".to_owned(),
        JenkinsEndpoint::Computers => "/computer/api/json?tree=busyExecutors,totalExecutors,computer[displayName,offline,temporarilyOffline,numExecutors,offlineCauseReason]".to_owned(),
        JenkinsEndpoint::Queue => "/queue/api/json?tree=items[id,inQueueSince,why,stuck,blocked,buildable,task[name]]".to_owned(),
        JenkinsEndpoint::LastBuild { job } => format!(
            "{}/lastCompletedBuild/api/json?tree=number,result,building,timestamp",
            job_path(job)
        ),
    }
}

/// `folder/app` is `/job/folder/job/app`; each name percent-encoded.
fn job_path(job: &str) -> String {
    job.split('/')
        .map(|name| format!("/job/{}", percent_encode(name)))
        .collect()
}

fn percent_encode(segment: &str) -> String {
    let mut encoded = String::with_capacity(segment.len());
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

/// The endpoint as people know it: `/api/json`, `job deploy-prod`.
fn endpoint_name(endpoint: &JenkinsEndpoint) -> String {
    match endpoint {
        JenkinsEndpoint::Controller => "/api/json".to_owned(),
        JenkinsEndpoint::Computers => "/computer/api/json".to_owned(),
        JenkinsEndpoint::Queue => "/queue/api/json".to_owned(),
        JenkinsEndpoint::LastBuild { job } => format!("job {job} lastCompletedBuild"),
    }
}

// The documented shapes, read leniently: Jenkins adds fields between versions, and `?tree=`
// leaves out the rest.

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Controller {
    quieting_down: Option<bool>,
    /// Newer controllers say why (`quietDownReason`), when someone gave a reason.
    quiet_down_reason: Option<String>,
    mode: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Computers {
    #[serde(default)]
    computer: Option<Vec<Computer>>,
    total_executors: Option<u32>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Computer {
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    offline: bool,
    #[serde(default)]
    num_executors: u32,
}

#[derive(Deserialize)]
struct Queue {
    #[serde(default)]
    items: Vec<QueueItem>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct QueueItem {
    /// Epoch milliseconds.
    in_queue_since: Option<i64>,
    why: Option<String>,
    #[serde(default)]
    blocked: bool,
    task: Option<Task>,
}

#[derive(Deserialize)]
struct Task {
    name: Option<String>,
}

#[derive(Deserialize)]
struct Build {
    number: Option<u64>,
    result: Option<String>,
}

pub(crate) fn evaluate_jenkins(
    check: &Check,
    jenkins: &JenkinsTarget,
    responses: &[JenkinsResponse],
    now: UnixTime,
) -> CheckResult {
    let conditions = &jenkins.conditions;
    let mut results = Vec::new();
    let controller = fetch::<Controller>(responses, &JenkinsEndpoint::Controller);
    let (latency, days_left) = match &controller {
        Ok((_, response)) => (
            Some(response.latency),
            response
                .tls_cert_not_after
                .map(|not_after| (not_after - now.as_secs()) as f64 / 86_400.0),
        ),
        Err(_) => (None, None),
    };
    match controller {
        Ok((root, response)) => {
            results.push(controller_answers(&root, response));
            results.push(not_quieting_down(&root));
        }
        Err(failed) => results.push(failed),
    }
    if let Some(at_least) = conditions.online_executors_at_least {
        results.push(
            fetch::<Computers>(responses, &JenkinsEndpoint::Computers)
                .map_or_else(|failed| failed, |(set, _)| online_executors(&set, at_least)),
        );
    }
    if conditions.queue_items_under.is_some() || conditions.queue_oldest_under.is_some() {
        match fetch::<Queue>(responses, &JenkinsEndpoint::Queue) {
            Ok((queue, _)) => {
                results.extend(
                    conditions
                        .queue_items_under
                        .map(|n| queue_length(&queue, n)),
                );
                results.extend(
                    conditions
                        .queue_oldest_under
                        .map(|limit| queue_age(&queue, limit, now)),
                );
            }
            Err(failed) => results.push(failed),
        }
    }
    for job in &conditions.jobs_not_failed {
        results.push(last_build(responses, job));
    }
    CheckResult::new(check, results, latency, days_left)
}

/// The parsed answer of an endpoint, or the failed condition that says why there is none.
fn fetch<'r, T: DeserializeOwned>(
    responses: &'r [JenkinsResponse],
    endpoint: &JenkinsEndpoint,
) -> Result<(T, &'r HttpObservation), ConditionResult> {
    let name = endpoint_name(endpoint);
    let failed = |seen: String, message: String| {
        ConditionResult::fail(
            format!("{name} answers"),
            "HTTP 2xx with JSON".to_owned(),
            seen,
            message,
        )
    };
    let Some(response) = responses.iter().find(|r| r.endpoint == *endpoint) else {
        return Err(failed(
            "not fetched".to_owned(),
            format!("Jenkins {name} was not fetched (a prober bug)"),
        ));
    };
    let answer = match &response.outcome {
        Ok(answer) => answer,
        Err(error) => {
            return Err(failed(
                error.to_string(),
                format!("Jenkins {name}: {error}"),
            ));
        }
    };
    if !(200..=299).contains(&answer.status) {
        return Err(failed(
            format!("HTTP {}", answer.status),
            format!(
                "Jenkins {name} answered HTTP {}{}",
                answer.status,
                status_hint(endpoint, answer.status)
            ),
        ));
    }
    serde_json::from_slice(&answer.body)
        .map(|parsed| (parsed, answer))
        .map_err(|error| {
            let truncated = if answer.body_truncated {
                format!(" (only the first {} bytes were read)", answer.body.len())
            } else {
                String::new()
            };
            failed(
                "not JSON".to_owned(),
                format!("Jenkins {name} did not answer the expected JSON: {error}{truncated}"),
            )
        })
}

/// What a failing status usually means here.
fn status_hint(endpoint: &JenkinsEndpoint, status: u16) -> &'static str {
    match (endpoint, status) {
        (_, 401) => " (check the user and its API token)",
        (_, 403) => " (the user lacks Overall/Read)",
        (JenkinsEndpoint::LastBuild { .. }, 404) => " (no such job, or it never completed a build)",
        (_, 503) => " (starting up, or overloaded)",
        _ => "",
    }
}

fn controller_answers(root: &Controller, response: &HttpObservation) -> ConditionResult {
    let mode = root.mode.as_deref().unwrap_or("unknown");
    ConditionResult::pass(
        "/api/json answers".to_owned(),
        "HTTP 2xx with JSON".to_owned(),
        format!("HTTP {}, mode {mode}", response.status),
        format!("controller answered in {}", format_millis(response.latency)),
    )
}

fn not_quieting_down(root: &Controller) -> ConditionResult {
    let condition = "not quieting down".to_owned();
    let expected = "quietingDown false".to_owned();
    match root.quieting_down {
        Some(false) => ConditionResult::pass(
            condition,
            expected,
            "false".to_owned(),
            "not quieting down".to_owned(),
        ),
        Some(true) => {
            let reason = root
                .quiet_down_reason
                .as_deref()
                .map(str::trim)
                .filter(|reason| !reason.is_empty())
                .map_or_else(
                    || " (preparing for a restart?)".to_owned(),
                    |reason| format!(" (reason given: {reason})"),
                );
            ConditionResult::fail(
                condition,
                expected,
                "true".to_owned(),
                format!("Jenkins is quieting down: it starts no new builds{reason}"),
            )
        }
        None => ConditionResult::fail(
            condition,
            expected,
            "missing".to_owned(),
            "/api/json has no quietingDown field".to_owned(),
        ),
    }
}

fn online_executors(set: &Computers, at_least: u32) -> ConditionResult {
    // Counted from the nodes when listed (so the message can name the offline ones);
    // `totalExecutors` counts online nodes' executors too.
    let (online, offline): (u32, Vec<&str>) = match &set.computer {
        Some(computers) => (
            computers
                .iter()
                .filter(|c| !c.offline)
                .map(|c| c.num_executors)
                .sum(),
            computers
                .iter()
                .filter(|c| c.offline)
                .map(|c| c.display_name.as_str())
                .collect(),
        ),
        None => (set.total_executors.unwrap_or(0), Vec::new()),
    };
    let passed = online >= at_least;
    let offline_note = if offline.is_empty() {
        String::new()
    } else {
        format!("; offline: {}", offline.join(", "))
    };
    let seen = format!("{online}");
    let executors = if online == 1 { "executor" } else { "executors" };
    let message = if passed {
        format!("{online} online {executors}{offline_note}")
    } else {
        format!("{online} online {executors} (needs >= {at_least}){offline_note}")
    };
    let result = if passed {
        ConditionResult::pass
    } else {
        ConditionResult::fail
    };
    result(
        format!("online executors at least {at_least}"),
        format!(">= {at_least}"),
        seen,
        message,
    )
}

fn queue_length(queue: &Queue, under: u32) -> ConditionResult {
    let length = queue.items.len();
    let passed = length < under as usize;
    let message = if passed {
        format!("build queue has {length} items")
    } else {
        format!("build queue has {length} items (needs < {under})")
    };
    let result = if passed {
        ConditionResult::pass
    } else {
        ConditionResult::fail
    };
    result(
        format!("build queue under {under} items"),
        format!("< {under}"),
        length.to_string(),
        message,
    )
}

/// The oldest item not `blocked`: an item blocked behind its own running build (or a lock) is
/// normal waiting; an item waiting for an executor is the sign of trouble.
fn queue_age(queue: &Queue, limit: Duration, now: UnixTime) -> ConditionResult {
    let condition = format!("oldest queue item under {}", format_duration(limit));
    let expected = format!("< {}", format_duration(limit));
    let oldest = queue
        .items
        .iter()
        .filter(|item| !item.blocked)
        .filter_map(|item| item.in_queue_since.map(|since| (since, item)))
        .min_by_key(|(since, _)| *since);
    let Some((since, item)) = oldest else {
        return ConditionResult::pass(
            condition,
            expected,
            "none waiting".to_owned(),
            "no queue item waiting for an executor".to_owned(),
        );
    };
    let waited = Duration::from_millis(
        u64::try_from(now.as_secs().saturating_mul(1000).saturating_sub(since)).unwrap_or(0),
    );
    // Whole seconds: milliseconds would only make the message noisier.
    let waited = Duration::from_secs(waited.as_secs());
    let name = item
        .task
        .as_ref()
        .and_then(|t| t.name.as_deref())
        .unwrap_or("an item");
    let seen = format_duration(waited);
    if waited < limit {
        ConditionResult::pass(
            condition,
            expected,
            seen.clone(),
            format!("oldest queue item {name} has waited {seen}"),
        )
    } else {
        let why = item
            .why
            .as_deref()
            .map(|why| format!(": {}", why.trim()))
            .unwrap_or_default();
        ConditionResult::fail(
            condition,
            expected,
            seen.clone(),
            format!(
                "oldest queue item {name} has waited {seen} (needs < {}){why}",
                format_duration(limit)
            ),
        )
    }
}

fn last_build(responses: &[JenkinsResponse], job: &str) -> ConditionResult {
    let endpoint = JenkinsEndpoint::LastBuild {
        job: job.to_owned(),
    };
    let build = match fetch::<Build>(responses, &endpoint) {
        Ok((build, _)) => build,
        Err(failed) => return failed,
    };
    let condition = format!("job {job} last build not FAILURE");
    let result = build.result.as_deref().unwrap_or("no result");
    let number = build.number.map(|n| format!("#{n} ")).unwrap_or_default();
    let seen = format!("{number}{result}");
    if result == "FAILURE" {
        ConditionResult::fail(
            condition,
            "not FAILURE".to_owned(),
            seen.clone(),
            format!("job {job}: last build {seen}"),
        )
    } else {
        ConditionResult::pass(
            condition,
            "not FAILURE".to_owned(),
            seen.clone(),
            format!("job {job}: last build {seen}"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_paths_nest_folders_and_encode_names() {
        assert_eq!(job_path("deploy-prod"), "/job/deploy-prod");
        assert_eq!(job_path("team/app build"), "/job/team/job/app%20build");
        assert_eq!(
            path(&JenkinsEndpoint::LastBuild {
                job: "a/b".to_owned()
            }),
            "/job/a/job/b/lastCompletedBuild/api/json?tree=number,result,building,timestamp"
        );
    }
}
