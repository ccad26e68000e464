//! Jenkins checks: the requests a check needs, and the verdict over realistic answers of
//! `/api/json`, `/computer/api/json`, `/queue/api/json` and `lastCompletedBuild/api/json`
//! (fixtures in `tests/fixtures/jenkins/`, full documented shapes, not `?tree=`-pruned).

use fleetwatch_health::{
    BasicAuth, Check, CheckResult, Config, HttpObservation, JenkinsEndpoint, JenkinsResponse,
    Observation, Probe, ProbeError, Resolvable, UnixTime, evaluate, jenkins_requests, probe,
};
use std::time::Duration;

/// 2026-11-18T11:06:40Z; the queue fixture's items entered 30m, 2h46m40s and 5m before it.
const NOW: UnixTime = UnixTime::from_secs(1_795_000_000);

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/fixtures/jenkins/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn jenkins_check(conditions: &[&str]) -> Check {
    let yaml = format!(
        "checks:\n  - name: jenkins\n    type: jenkins\n    url: https://jenkins.internal.example.com/\n    user: monitor\n    api_token: {{ ssm: /fleetwatch/jenkins/token }}\n    conditions:{}\n",
        conditions
            .iter()
            .map(|c| format!("\n      - {c}"))
            .collect::<String>()
    );
    let yaml = yaml.replace("conditions:\n\n", "conditions: []\n");
    Config::from_yaml(&yaml, Duration::from_secs(60))
        .unwrap()
        .checks()[0]
        .clone()
}

fn ok(endpoint: JenkinsEndpoint, body: Vec<u8>) -> JenkinsResponse {
    status(endpoint, 200, body)
}

fn status(endpoint: JenkinsEndpoint, status: u16, body: Vec<u8>) -> JenkinsResponse {
    JenkinsResponse {
        endpoint,
        outcome: Ok(HttpObservation {
            status,
            headers: vec![("X-Jenkins".into(), "2.479.1".into())],
            body,
            body_truncated: false,
            latency: Duration::from_millis(85),
            tls_cert_not_after: Some(NOW.as_secs() + 40 * 86_400),
        }),
    }
}

fn job(name: &str) -> JenkinsEndpoint {
    JenkinsEndpoint::LastBuild {
        job: name.to_owned(),
    }
}

/// A healthy controller's answers to every endpoint the tests use.
fn answers() -> Vec<JenkinsResponse> {
    vec![
        ok(JenkinsEndpoint::Controller, fixture("api-json")),
        ok(JenkinsEndpoint::Computers, fixture("computer-api-json")),
        ok(JenkinsEndpoint::Queue, fixture("queue-api-json")),
        ok(job("deploy-prod"), fixture("last-build-success")),
        ok(
            job("platform/nightly-backup"),
            fixture("last-build-failure"),
        ),
    ]
}

fn replaced(mut responses: Vec<JenkinsResponse>, new: JenkinsResponse) -> Vec<JenkinsResponse> {
    responses.retain(|r| r.endpoint != new.endpoint);
    responses.push(new);
    responses
}

fn run(check: &Check, responses: Vec<JenkinsResponse>) -> CheckResult {
    evaluate(check, &Observation::Jenkins(responses), NOW)
}

fn messages(result: &CheckResult) -> Vec<(bool, &str)> {
    result
        .conditions
        .iter()
        .map(|c| (c.passed, c.message.as_str()))
        .collect()
}

#[test]
fn the_requests_a_check_needs() {
    let check = jenkins_check(&[
        "online_executors_at_least: 2",
        "queue_oldest_under: 15m",
        "jobs_not_failed: [deploy-prod, platform/nightly backup]",
    ]);
    let requests = jenkins_requests(&check);
    let urls: Vec<(&JenkinsEndpoint, &str)> = requests
        .iter()
        .map(|r| (&r.endpoint, r.request.url.as_str()))
        .collect();
    assert_eq!(
        urls,
        [
            (
                &JenkinsEndpoint::Controller,
                "https://jenkins.internal.example.com/api/json?tree=mode,quietingDown,quietDownReason"
            ),
            (
                &JenkinsEndpoint::Computers,
                "https://jenkins.internal.example.com/computer/api/json?tree=busyExecutors,totalExecutors,computer[displayName,offline,temporarilyOffline,numExecutors,offlineCauseReason]"
            ),
            (
                &JenkinsEndpoint::Queue,
                "https://jenkins.internal.example.com/queue/api/json?tree=items[id,inQueueSince,why,stuck,blocked,buildable,task[name]]"
            ),
            (
                &job("deploy-prod"),
                "https://jenkins.internal.example.com/job/deploy-prod/lastCompletedBuild/api/json?tree=number,result,building,timestamp"
            ),
            (
                &job("platform/nightly backup"),
                "https://jenkins.internal.example.com/job/platform/job/nightly%20backup/lastCompletedBuild/api/json?tree=number,result,building,timestamp"
            ),
        ]
    );
    for request in &requests {
        assert_eq!(request.request.method, "GET");
        assert_eq!(
            request.request.basic_auth,
            Some(BasicAuth {
                user: Resolvable::Literal("monitor".into()),
                password: check.ssm_parameters()[0].clone(),
            })
        );
        assert_eq!(request.request.timeout, Duration::from_secs(10));
    }
    assert_eq!(probe(&check), Probe::Jenkins(requests));

    // Without conditions: the controller only.
    let minimal = jenkins_requests(&jenkins_check(&[]));
    assert_eq!(minimal.len(), 1);
    assert_eq!(minimal[0].endpoint, JenkinsEndpoint::Controller);
}

#[test]
fn a_healthy_controller() {
    let check = jenkins_check(&[
        "online_executors_at_least: 4",
        "queue_items_under: 25",
        "queue_oldest_under: 45m",
        "jobs_not_failed: [deploy-prod]",
    ]);
    let result = run(&check, answers());
    assert_eq!(
        messages(&result),
        [
            (true, "controller answered in 85ms"),
            (true, "not quieting down"),
            (true, "5 online executors; offline: ecs-agent-2"),
            (true, "build queue has 3 items"),
            (true, "oldest queue item deploy-prod has waited 30m"),
            (true, "job deploy-prod: last build #413 SUCCESS"),
        ]
    );
    assert!(result.healthy);
    assert_eq!(result.metrics.up, 1);
    assert_eq!(result.metrics.latency_ms, Some(85));
    assert_eq!(result.metrics.certificate_days_left, Some(40.0));
}

#[test]
fn each_failed_condition_says_what_was_seen() {
    // (conditions, answers, (failed condition, value seen, message))
    type Case<'a> = (
        Vec<&'a str>,
        Vec<JenkinsResponse>,
        &'a str,
        &'a str,
        &'a str,
    );
    let cases: Vec<Case> = vec![
        (
            vec![],
            replaced(
                answers(),
                ok(
                    JenkinsEndpoint::Controller,
                    fixture("api-json-quieting-down"),
                ),
            ),
            "not quieting down",
            "true",
            "Jenkins is quieting down: it starts no new builds (reason given: Restarting for the 2.479.1 upgrade)",
        ),
        (
            vec!["online_executors_at_least: 6"],
            answers(),
            "online executors at least 6",
            "5",
            "5 online executors (needs >= 6); offline: ecs-agent-2",
        ),
        (
            vec!["queue_items_under: 3"],
            answers(),
            "build queue under 3 items",
            "3",
            "build queue has 3 items (needs < 3)",
        ),
        (
            vec!["queue_oldest_under: 15m"],
            answers(),
            "oldest queue item under 15m",
            "30m",
            "oldest queue item deploy-prod has waited 30m (needs < 15m): Waiting for next available executor on ‘linux’",
        ),
        (
            vec!["jobs_not_failed: [deploy-prod, platform/nightly-backup]"],
            answers(),
            "job platform/nightly-backup last build not FAILURE",
            "#212 FAILURE",
            "job platform/nightly-backup: last build #212 FAILURE",
        ),
        (
            vec!["jobs_not_failed: [deploy-prdo]"],
            vec![
                ok(JenkinsEndpoint::Controller, fixture("api-json")),
                status(job("deploy-prdo"), 404, b"<html>Not Found</html>".to_vec()),
            ],
            "job deploy-prdo lastCompletedBuild answers",
            "HTTP 404",
            "Jenkins job deploy-prdo lastCompletedBuild answered HTTP 404 (no such job, or it never completed a build)",
        ),
        (
            vec![],
            vec![status(
                JenkinsEndpoint::Controller,
                401,
                b"Unauthorized".to_vec(),
            )],
            "/api/json answers",
            "HTTP 401",
            "Jenkins /api/json answered HTTP 401 (check the user and its API token)",
        ),
        (
            vec![],
            // A reverse proxy's sign-in page instead of the API.
            vec![ok(
                JenkinsEndpoint::Controller,
                b"<!doctype html><title>Sign in</title>".to_vec(),
            )],
            "/api/json answers",
            "not JSON",
            "Jenkins /api/json did not answer the expected JSON: expected value at line 1 column 1",
        ),
        (
            vec![],
            vec![JenkinsResponse {
                endpoint: JenkinsEndpoint::Controller,
                outcome: Err(ProbeError::Timeout {
                    after: Duration::from_secs(10),
                }),
            }],
            "/api/json answers",
            "no answer within 10s",
            "Jenkins /api/json: no answer within 10s",
        ),
        (
            vec!["queue_items_under: 10"],
            vec![ok(JenkinsEndpoint::Controller, fixture("api-json"))],
            "/queue/api/json answers",
            "not fetched",
            "Jenkins /queue/api/json was not fetched (a prober bug)",
        ),
    ];
    for (conditions, responses, condition, seen, message) in cases {
        let result = run(&jenkins_check(&conditions), responses);
        let failures: Vec<_> = result.failures().collect();
        assert_eq!(failures.len(), 1, "{message}: {:?}", messages(&result));
        assert_eq!(
            (
                failures[0].condition.as_str(),
                failures[0].seen.as_str(),
                failures[0].message.as_str()
            ),
            (condition, seen, message)
        );
        assert!(!result.healthy);
        assert_eq!(result.metrics.up, 0);
    }
}

#[test]
fn an_unreachable_controller_does_not_hide_the_other_answers() {
    let check = jenkins_check(&[
        "online_executors_at_least: 6",
        "jobs_not_failed: [deploy-prod]",
    ]);
    let refused = JenkinsResponse {
        endpoint: JenkinsEndpoint::Controller,
        outcome: Err(ProbeError::ConnectionRefused {
            address: "jenkins.internal.example.com:443".into(),
        }),
    };
    let result = run(&check, replaced(answers(), refused));
    assert_eq!(
        messages(&result),
        [
            (
                false,
                "Jenkins /api/json: connection refused by jenkins.internal.example.com:443 (nothing listening, or a firewall rejects it)"
            ),
            (
                false,
                "5 online executors (needs >= 6); offline: ecs-agent-2"
            ),
            (true, "job deploy-prod: last build #413 SUCCESS"),
        ]
    );
    assert_eq!(result.metrics.latency_ms, None);
}

#[test]
fn blocked_items_do_not_count_for_the_queue_age() {
    let check = jenkins_check(&["queue_oldest_under: 15m"]);
    // Only the item blocked behind its own running build, for 2h46m.
    let queue = serde_json::json!({"_class": "hudson.model.Queue", "items": [
        {"blocked": true, "buildable": false, "id": 4301, "inQueueSince": 1_794_990_000_000_i64,
         "stuck": false, "task": {"name": "nightly-backup"}, "why": "Build #212 is already in progress"}
    ]});
    let result = run(
        &check,
        vec![
            ok(JenkinsEndpoint::Controller, fixture("api-json")),
            ok(JenkinsEndpoint::Queue, serde_json::to_vec(&queue).unwrap()),
        ],
    );
    assert!(result.healthy, "{:?}", messages(&result));
    assert_eq!(
        result.conditions[2].message,
        "no queue item waiting for an executor"
    );
}

#[test]
fn tree_pruned_answers_are_read_too() {
    // What the `?tree=` requests return: only the fields asked for. A computer set without
    // the node list falls back to `totalExecutors` (executors of online nodes).
    let check = jenkins_check(&["online_executors_at_least: 2", "queue_items_under: 5"]);
    let result = run(
        &check,
        vec![
            ok(
                JenkinsEndpoint::Controller,
                br#"{"_class":"hudson.model.Hudson","mode":"NORMAL","quietingDown":false}"#
                    .to_vec(),
            ),
            ok(
                JenkinsEndpoint::Computers,
                br#"{"_class":"hudson.model.ComputerSet","busyExecutors":0,"totalExecutors":1}"#
                    .to_vec(),
            ),
            ok(
                JenkinsEndpoint::Queue,
                br#"{"_class":"hudson.model.Queue","items":[]}"#.to_vec(),
            ),
        ],
    );
    assert_eq!(
        messages(&result),
        [
            (true, "controller answered in 85ms"),
            (true, "not quieting down"),
            (false, "1 online executor (needs >= 2)"),
            (true, "build queue has 0 items"),
        ]
    );
}
