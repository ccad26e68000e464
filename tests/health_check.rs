//! The health-check function against real servers on loopback: HTTP and HTTPS services that
//! flip between healthy, failing, slow and a wrong body, a certificate about to expire (rcgen),
//! unreachable ones (refused, a `.invalid` host, a timeout, a redirect loop, untrusted and
//! expired certificates), a fake Jenkins serving the JSON API's real shapes, and the function
//! end to end against moto (SSM, DynamoDB, SQS).
//!
//! Time: every run is a scheduled event whose `time` is the run's `now`; the runs of a test are
//! a minute apart on that time line and follow each other at once (no test waits for a
//! schedule). Real time passes only where a server is made slow on purpose (under a second).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use fleetwatch_alerts::{Alert, Status};
use fleetwatch_health::{Config, UnixTime};
use fleetwatch_health_check::{
    Adapters, ConfigSource, HealthCheckConfig, HealthCheckHandler, RunSummary, Settings, run_check,
    state_key,
};
use fleetwatch_ports::{
    Clock, ManualClock, MemoryQueue, MemoryStateStore, MessageQueue, MetricLines, MetricsSink,
    QueueError, StateStore, StaticSecrets,
};
use fleetwatch_probe::NetProber;
use fleetwatch_test_support::moto::MotoServer;
use fleetwatch_test_support::service::{Answer, ServiceFake, TestCertificate, refused_port};
use serde_json::{Value, json};

use crate::support::{MotoClients, TestResult, take_all};

const CONFIG_PARAMETER: &str = "/fleetwatch/health/checks";
const HEADER_SECRET: &str = "hdr-8c1f0e2a-secret-value";
const JENKINS_TOKEN: &str = "11e0c2a9f3b4d5e6f7a8b9c0d1e2f3a4b5";
const QUERY_SECRET: &str = "q-77d1-query-key";

/// The current minute, so certificate days left are measured from about the real time (the
/// certificates' validity is checked by rustls against the system clock).
fn this_minute() -> u64 {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    now - now % 60
}

/// The EventBridge Scheduled Event of `scheduled` (epoch seconds).
fn scheduled_event(scheduled: u64) -> Value {
    json!({
        "version": "0",
        "id": format!("ev-{scheduled}"),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": UnixTime::from_secs(scheduled as i64).to_rfc3339(),
        "region": "us-east-1",
        "resources": ["arn:aws:events:us-east-1:123456789012:rule/fleetwatch-health-check-test"],
        "detail": {}
    })
}

/// The alerts queue in memory, shareable with the handler.
#[derive(Clone, Default)]
struct Queue(Arc<MemoryQueue>);

impl MessageQueue for Queue {
    async fn send(&self, body: &str) -> Result<String, QueueError> {
        self.0.send(body).await
    }
}

type LocalHandler = HealthCheckHandler<NetProber, Arc<MemoryStateStore>, Queue, StaticSecrets>;

/// The handler on the real prober, with the state table, queue and SSM in memory.
struct Local {
    handler: LocalHandler,
    queue: Queue,
    state: Arc<MemoryStateStore>,
    clock: Arc<ManualClock>,
    metrics: MetricLines,
    start: u64,
}

impl Local {
    async fn new(yaml: &str, prober: NetProber, start: u64) -> Local {
        let clock = Arc::new(ManualClock::at_epoch_seconds(start));
        let state = Arc::new(MemoryStateStore::new(clock.clone()));
        let queue = Queue::default();
        let (sink, metrics) = MetricsSink::memory(clock.clone());
        let secrets = StaticSecrets::default()
            .with(CONFIG_PARAMETER, yaml)
            .with("/fleetwatch/api/token", HEADER_SECRET)
            .with("/fleetwatch/jenkins/token", JENKINS_TOKEN);
        let handler = HealthCheckHandler::new(
            Adapters {
                prober,
                state: state.clone(),
                alerts: queue.clone(),
                secrets,
            },
            ConfigSource::Parameter(CONFIG_PARAMETER.into()),
            Settings::default(),
            sink,
            clock.clone(),
        )
        .await
        .expect("the configuration is valid");
        Local {
            handler,
            queue,
            state,
            clock,
            metrics,
            start,
        }
    }

    /// The scheduled run of minute `minute`, delivered 2 s late, a minute before its deadline.
    async fn run(&self, minute: u64) -> RunSummary {
        let scheduled = self.start + minute * 60;
        self.clock
            .set(UNIX_EPOCH + Duration::from_secs(scheduled + 2));
        self.handler
            .handle(
                scheduled_event(scheduled),
                self.clock.now() + Duration::from_secs(60),
            )
            .await
            .expect("nothing a retry could fix failed")
    }

    fn alerts(&self) -> Vec<Alert> {
        self.queue
            .0
            .messages()
            .iter()
            .map(|body| serde_json::from_str(body).expect("Alert JSON"))
            .collect()
    }

    fn kinds(&self) -> Vec<String> {
        self.alerts().iter().map(kind).collect()
    }
}

fn kind(alert: &Alert) -> String {
    let minute = alert.occurred_at.clone().unwrap_or_default();
    let what = if alert.status == Status::Resolved {
        "resolved"
    } else if alert.title.contains("still down") {
        "reminder"
    } else {
        "opened"
    };
    format!("{what}@{}", &minute[11..16])
}

fn minute_of(start: u64, minute: u64) -> String {
    UnixTime::from_secs((start + minute * 60) as i64).to_rfc3339()[11..16].to_owned()
}

// ---------------------------------------------------------------------------------------------
// Incidents against a service that flips
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn an_incident_opens_at_the_failure_threshold_and_resolves_at_the_success_threshold() {
    let service = ServiceFake::start();
    service.set("/health", Answer::ok("pong"));
    let yaml = format!(
        "checks:\n  - name: api\n    url: {}\n    failure_threshold: 3\n    success_threshold: 2\n    conditions:\n      - status: 200\n      - body_contains: pong\n",
        service.url("/health")
    );
    let start = this_minute();
    let local = Local::new(&yaml, NetProber::new().unwrap(), start).await;

    assert!(local.run(0).await.failing.is_empty());
    service.set("/health", Answer::status(503, "pong"));
    for minute in 1..=2 {
        assert_eq!(local.run(minute).await.failing, ["api"]);
        assert!(
            local.alerts().is_empty(),
            "minute {minute}: below the threshold"
        );
    }
    assert_eq!(local.run(3).await.alerts_published, 1);
    assert_eq!(local.kinds(), [format!("opened@{}", minute_of(start, 3))]);
    let opened = &local.alerts()[0];
    assert_eq!(opened.title, "api is down");
    assert_eq!(opened.field("Failed condition"), Some("status in [200]"));
    assert_eq!(opened.field("Value seen"), Some("503"));
    assert_eq!(opened.field("Failed runs in a row"), Some("3"));

    // A wrong body is still down; one success then a failure restarts the success count.
    service.set("/health", Answer::ok("pang"));
    local.run(4).await;
    service.set("/health", Answer::ok("pong"));
    local.run(5).await;
    service.set("/health", Answer::status(500, "pong"));
    local.run(6).await;
    service.set("/health", Answer::ok("pong"));
    local.run(7).await;
    assert_eq!(
        local.alerts().len(),
        1,
        "no resolution before two successes in a row"
    );
    local.run(8).await;
    assert_eq!(
        local.kinds(),
        [
            format!("opened@{}", minute_of(start, 3)),
            format!("resolved@{}", minute_of(start, 8))
        ]
    );
    let resolved = &local.alerts()[1];
    assert_eq!(
        resolved.title, "api recovered after 6m",
        "minute 1 to minute 7"
    );
    assert_eq!(resolved.thread_key, opened.thread_key);
    let stored = local.state.get(&state_key("api")).await.unwrap().unwrap();
    assert!(
        stored.value.contains("\"incident\":null"),
        "{}",
        stored.value
    );
}

#[tokio::test]
async fn reminders_come_on_time_and_intervals_skip_runs() {
    let service = ServiceFake::start();
    service.set("/down", Answer::status(502, "bad gateway"));
    service.set("/every-two", Answer::ok("ok"));
    let yaml = format!(
        "checks:\n  - name: down\n    url: {}\n    failure_threshold: 1\n    reminder: 5m\n  - name: every-two\n    url: {}\n    interval: 2m\n",
        service.url("/down"),
        service.url("/every-two")
    );
    let start = this_minute();
    let local = Local::new(&yaml, NetProber::new().unwrap(), start).await;
    for minute in 0..=16 {
        local.run(minute).await;
    }
    let expected: Vec<String> = [
        (0, "opened"),
        (5, "reminder"),
        (10, "reminder"),
        (15, "reminder"),
    ]
    .iter()
    .map(|(minute, what)| format!("{what}@{}", minute_of(start, *minute)))
    .collect();
    assert_eq!(local.kinds(), expected);
    assert_eq!(local.alerts()[3].title, "down is still down (15m)");
    let every_two = service
        .received()
        .iter()
        .filter(|r| r.target == "/every-two")
        .count();
    assert_eq!(every_two, 9, "minutes 0, 2, ..., 16");
}

#[tokio::test]
async fn wrong_body_slow_answer_and_expiring_certificate_are_reported_with_the_value_seen() {
    let start = this_minute();
    let expiring =
        TestCertificate::self_signed(UNIX_EPOCH + Duration::from_secs(start + 5 * 86_400 + 3600));
    let https = ServiceFake::start_https(&expiring);
    https.set("/health", Answer::json(r#"{"status":"UP"}"#));
    let http = ServiceFake::start();
    http.set("/ping", Answer::ok("pang"));
    http.set("/slow", Answer::ok("pong").slow(Duration::from_millis(400)));
    let yaml = format!(
        "defaults:\n  failure_threshold: 1\nchecks:\n  - name: tls\n    url: {}\n    conditions:\n      - json: {{ pointer: /status, equals: UP }}\n      - certificate_valid_for_more_than: 14d\n  - name: body\n    url: {}\n    conditions:\n      - body_matches: \"^pong$\"\n  - name: slow\n    url: {}\n    timeout: 5s\n    conditions:\n      - response_time_under: 200ms\n",
        https.url("/health"),
        http.url("/ping"),
        http.url("/slow"),
    );
    let prober = NetProber::with_root_certificates(expiring.pem.as_bytes()).unwrap();
    let local = Local::new(&yaml, prober, start).await;
    let summary = local.run(0).await;
    assert_eq!(summary.failing, ["body", "slow", "tls"]);

    let alerts = local.alerts();
    let of = |name: &str| {
        alerts
            .iter()
            .find(|a| a.labels["check"] == name)
            .unwrap_or_else(|| panic!("no alert for {name}"))
            .clone()
    };
    let tls = of("tls");
    assert_eq!(
        tls.field("Failed condition"),
        Some("certificate valid for more than 14 days")
    );
    assert_eq!(tls.field("Value seen"), Some("expires in 5 days"));
    assert_eq!(
        tls.summary,
        "certificate expires in 5 days (needs > 14 days)"
    );
    let body = of("body");
    assert_eq!(
        body.field("Failed condition"),
        Some("body matches /^pong$/")
    );
    assert_eq!(body.field("Value seen"), Some("no match"));
    let slow = of("slow");
    assert_eq!(
        slow.field("Failed condition"),
        Some("response time under 200ms")
    );
    let seen: u64 = slow
        .field("Value seen")
        .and_then(|v| v.strip_suffix("ms"))
        .and_then(|v| v.parse().ok())
        .expect("milliseconds seen");
    assert!((400..5000).contains(&seen), "{seen}ms");

    let documents = local.metrics.documents();
    let tls_metrics = documents.iter().find(|d| d["Check"] == "tls").unwrap();
    let days = tls_metrics["CertificateDaysLeft"].as_f64().unwrap();
    assert!((5.0..5.1).contains(&days), "{days} days left");
    assert_eq!(tls_metrics["Up"], 0.0);
}

/// One run of one check, at the current minute, with the real prober.
async fn reason(prober: &NetProber, yaml: &str) -> String {
    let config = Config::from_yaml(yaml, Duration::from_secs(60)).expect("valid checks");
    let secrets = StaticSecrets::default().with("/fleetwatch/jenkins/token", JENKINS_TOKEN);
    let result = run_check(
        prober,
        &secrets,
        &config.checks()[0],
        UnixTime::from_secs(this_minute() as i64),
    )
    .await
    .expect("no transient failure");
    assert!(!result.healthy, "{yaml}");
    result.reason()
}

#[tokio::test]
async fn unreachable_services_are_reported_with_clear_reasons() {
    let prober = NetProber::new().unwrap();
    let refused = refused_port();
    let check = |url: &str, extra: &str| format!("checks:\n  - name: c\n    url: {url}\n{extra}");

    assert_eq!(
        reason(
            &prober,
            &check(
                &format!("http://127.0.0.1:{refused}/health?key={QUERY_SECRET}"),
                ""
            )
        )
        .await,
        format!(
            "request failed: connection refused by 127.0.0.1:{refused} (nothing listening, or a firewall rejects it)"
        )
    );
    assert_eq!(
        reason(&prober, &check(&format!("tcp://127.0.0.1:{refused}"), "")).await,
        format!(
            "connection failed: connection refused by 127.0.0.1:{refused} (nothing listening, or a firewall rejects it)"
        )
    );
    let dns = reason(
        &prober,
        &check(
            &format!("https://service.invalid/health?key={QUERY_SECRET}"),
            "",
        ),
    )
    .await;
    assert!(
        dns.starts_with("request failed: DNS lookup of service.invalid failed: "),
        "{dns}"
    );
    let tcp_dns = reason(&prober, &check("tcp://db.invalid:5432", "")).await;
    assert!(
        tcp_dns.starts_with("connection failed: DNS lookup of db.invalid failed: "),
        "{tcp_dns}"
    );

    let service = ServiceFake::start();
    service.set("/slow", Answer::ok("late").slow(Duration::from_secs(30)));
    service.set("/loop", Answer::redirect("/loop"));
    let started = Instant::now();
    assert_eq!(
        reason(
            &prober,
            &check(&service.url("/slow"), "    timeout: 300ms\n")
        )
        .await,
        "request failed: no answer within 300ms"
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        reason(
            &prober,
            &check(&service.url(&format!("/loop?key={QUERY_SECRET}")), "")
        )
        .await,
        "request failed: more than 10 redirects (a redirect loop?)"
    );
    let loops = service
        .received()
        .iter()
        .filter(|r| r.target.starts_with("/loop"))
        .count();
    assert_eq!(loops, 11, "the first request and 10 redirects");

    // A certificate nobody vouches for, and one the prober trusts but which has expired.
    let now = SystemTime::now();
    let unknown = TestCertificate::self_signed(now + Duration::from_secs(86_400 * 90));
    let untrusted = ServiceFake::start_https(&unknown);
    untrusted.set("/", Answer::ok("hi"));
    let tls = reason(&prober, &check(&untrusted.url("/"), "")).await;
    assert!(
        tls.starts_with("request failed: TLS handshake failed: invalid peer certificate"),
        "{tls}"
    );
    let old = TestCertificate::self_signed(now - Duration::from_secs(86_400));
    let expired = ServiceFake::start_https(&old);
    expired.set("/", Answer::ok("hi"));
    let trusting = NetProber::with_root_certificates(old.pem.as_bytes()).unwrap();
    let tls = reason(&trusting, &check(&expired.url("/"), "")).await;
    assert!(
        tls.starts_with("request failed: TLS handshake failed: invalid peer certificate")
            && tls.contains("xpired"),
        "{tls}"
    );
    for text in [&dns, &tls] {
        assert!(!text.contains(QUERY_SECRET), "{text}");
    }
}

#[tokio::test]
async fn one_slow_check_does_not_delay_the_others() {
    let service = ServiceFake::start();
    service.set("/stuck", Answer::ok("late").slow(Duration::from_secs(30)));
    let mut yaml = format!(
        "checks:\n  - name: stuck\n    url: {}\n    timeout: 800ms\n",
        service.url("/stuck")
    );
    for i in 0..6 {
        service.set(&format!("/fast-{i}"), Answer::ok("ok"));
        yaml.push_str(&format!(
            "  - name: fast-{i}\n    url: {}\n",
            service.url(&format!("/fast-{i}"))
        ));
    }
    let local = Local::new(&yaml, NetProber::new().unwrap(), this_minute()).await;
    let started = Instant::now();
    let summary = local.run(0).await;
    let took = started.elapsed();
    assert_eq!(summary.ran, 7);
    assert_eq!(summary.failing, ["stuck"]);
    assert!(took >= Duration::from_millis(800), "{took:?}");
    assert!(
        took < Duration::from_millis(2500),
        "the run waited for more than the stuck check's timeout: {took:?}"
    );
    for document in local.metrics.documents() {
        if let Some(name) = document["Check"].as_str().filter(|n| n.starts_with("fast")) {
            let latency = document["Latency"].as_f64().unwrap();
            assert!(latency < 600.0, "{name} took {latency}ms");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Jenkins
// ---------------------------------------------------------------------------------------------

fn jenkins_fixture(name: &str) -> String {
    let path = format!(
        "{}/../shared/health/tests/fixtures/jenkins/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).expect(&path)
}

/// A Jenkins controller answering its JSON API with the documented shapes.
fn fake_jenkins() -> ServiceFake {
    let jenkins = ServiceFake::start();
    jenkins.set("/api/json", Answer::json(&jenkins_fixture("api-json")));
    jenkins.set(
        "/computer/api/json",
        Answer::json(&jenkins_fixture("computer-api-json")),
    );
    jenkins.set(
        "/queue/api/json",
        Answer::json(&jenkins_fixture("queue-api-json")),
    );
    jenkins.set(
        "/job/deploy-prod/lastCompletedBuild/api/json",
        Answer::json(&jenkins_fixture("last-build-success")),
    );
    jenkins.set(
        "/job/platform/job/nightly-backup/lastCompletedBuild/api/json",
        Answer::json(&jenkins_fixture("last-build-success")),
    );
    jenkins
}

fn jenkins_yaml(url: &str) -> String {
    format!(
        "checks:\n  - name: jenkins\n    type: jenkins\n    url: {url}\n    user: fleetwatch-monitor\n    api_token: {{ ssm: /fleetwatch/jenkins/token }}\n    failure_threshold: 2\n    conditions:\n      - online_executors_at_least: 2\n      - queue_items_under: 25\n      - queue_oldest_under: 1h\n      - jobs_not_failed: [deploy-prod, platform/nightly-backup]\n"
    )
}

/// 2026-11-18T11:07:00Z: the queue fixture's oldest waiting item entered 30m20s before.
const JENKINS_T0: u64 = 1_795_000_020;

#[tokio::test]
async fn jenkins_is_judged_from_its_json_api() {
    let jenkins = fake_jenkins();
    let local = Local::new(
        &jenkins_yaml(jenkins.base_url()),
        NetProber::new().unwrap(),
        JENKINS_T0,
    )
    .await;
    let summary = local.run(0).await;
    assert!(summary.failing.is_empty(), "{summary:?}");
    let targets: Vec<String> = jenkins
        .received()
        .iter()
        .map(|r| r.target.clone())
        .collect();
    for path in [
        "/api/json?tree=",
        "/computer/api/json?tree=",
        "/queue/api/json?tree=",
        "/job/deploy-prod/lastCompletedBuild/api/json?tree=",
        "/job/platform/job/nightly-backup/lastCompletedBuild/api/json?tree=",
    ] {
        assert!(
            targets.iter().any(|t| t.starts_with(path)),
            "{path} not in {targets:?}"
        );
    }
    let basic = format!(
        "Basic {}",
        base64(format!("fleetwatch-monitor:{JENKINS_TOKEN}").as_bytes())
    );
    for request in jenkins.received() {
        assert_eq!(request.header("authorization"), Some(basic.as_str()));
    }

    // Quieting down for an upgrade, and a failed nightly backup: down at the second run.
    jenkins.set(
        "/api/json",
        Answer::json(&jenkins_fixture("api-json-quieting-down")),
    );
    jenkins.set(
        "/job/platform/job/nightly-backup/lastCompletedBuild/api/json",
        Answer::json(&jenkins_fixture("last-build-failure")),
    );
    local.run(1).await;
    assert!(local.alerts().is_empty());
    local.run(2).await;
    let alerts = local.alerts();
    assert_eq!(alerts.len(), 1);
    let opened = &alerts[0];
    assert_eq!(opened.title, "jenkins is down");
    assert_eq!(
        opened.summary,
        "Jenkins is quieting down: it starts no new builds (reason given: Restarting for the 2.479.1 upgrade); job platform/nightly-backup: last build #212 FAILURE"
    );
    assert_eq!(opened.labels["check_type"], "jenkins");
    let text = serde_json::to_string(&alerts).unwrap();
    assert!(!text.contains(JENKINS_TOKEN));

    // Unauthorised (a revoked token) says what to check.
    jenkins.set("/api/json", Answer::status(401, "Unauthorized"));
    let reason = reason(
        &NetProber::new().unwrap(),
        &jenkins_yaml(jenkins.base_url()),
    )
    .await;
    assert!(
        reason
            .starts_with("Jenkins /api/json answered HTTP 401 (check the user and its API token)"),
        "{reason}"
    );
}

fn base64(input: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Secrets stay out of logs, alerts, state and metrics
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Default)]
struct CapturedLog(Arc<std::sync::Mutex<Vec<u8>>>);

impl CapturedLog {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl std::io::Write for CapturedLog {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "current_thread")]
async fn no_header_secret_or_token_appears_in_logs_alerts_state_or_metrics() {
    use tracing_subscriber::layer::SubscriberExt;
    let log = CapturedLog::default();
    let writer = log.clone();
    let subscriber = tracing_subscriber::registry().with(
        tracing_subscriber::fmt::layer()
            .json()
            .with_writer(move || writer.clone())
            .with_filter(tracing_subscriber::filter::LevelFilter::DEBUG),
    );
    let _guard = tracing::subscriber::set_default(subscriber);
    // With a single scoped subscriber, tracing-core decides a callsite's interest from the
    // default of whichever thread reaches it first: another test's thread, without a subscriber,
    // would switch the handler's log lines off for this one. A second live dispatcher makes it
    // ask every dispatcher instead.
    let _second = tracing::Dispatch::new(tracing_subscriber::registry());

    let service = ServiceFake::start();
    // A debug endpoint that echoes the token it was sent, where a condition reads it.
    service.set(
        "/echo",
        Answer::json(&format!(r#"{{"status":"{HEADER_SECRET}"}}"#)),
    );
    let jenkins = fake_jenkins();
    jenkins.set("/api/json", Answer::status(503, JENKINS_TOKEN));
    let refused = refused_port();
    let yaml = format!(
        "defaults:\n  failure_threshold: 1\nchecks:\n  - name: echo\n    url: {}\n    headers:\n      Authorization: {{ ssm: /fleetwatch/api/token }}\n      X-Literal: literal-key-0042\n    conditions:\n      - json: {{ pointer: /status, equals: UP }}\n  - name: refused\n    url: http://127.0.0.1:{refused}/h?key={QUERY_SECRET}\n    headers:\n      Authorization: {{ ssm: /fleetwatch/api/token }}\n  - name: dns\n    url: https://api.invalid/h?key={QUERY_SECRET}\n  - name: jenkins\n    type: jenkins\n    url: {}\n    user: monitor\n    api_token: {{ ssm: /fleetwatch/jenkins/token }}\n",
        service.url("/echo"),
        jenkins.base_url(),
    );
    let local = Local::new(&yaml, NetProber::new().unwrap(), this_minute()).await;
    local.run(0).await;
    local.run(1).await;
    assert_eq!(
        service.received()[0].header("authorization"),
        Some(HEADER_SECRET),
        "the secret was sent"
    );

    let alerts = local.alerts();
    assert_eq!(alerts.len(), 4, "{:?}", local.kinds());
    let echo = alerts.iter().find(|a| a.labels["check"] == "echo").unwrap();
    assert_eq!(echo.field("Value seen"), Some("\"[redacted]\""));
    let mut everything = serde_json::to_string(&alerts).unwrap();
    everything.push_str(&log.text());
    everything.push_str(&local.metrics.lines().join("\n"));
    for item in local.state.items() {
        everything.push_str(&item.value);
    }
    assert!(
        log.text().contains("alert published"),
        "the log was captured: {}",
        log.text()
    );
    for secret in [
        HEADER_SECRET,
        JENKINS_TOKEN,
        QUERY_SECRET,
        "literal-key-0042",
    ] {
        assert!(
            !everything.contains(secret),
            "{secret} leaked:\n{everything}"
        );
    }
}

use tracing_subscriber::Layer as _;

// ---------------------------------------------------------------------------------------------
// The function against moto
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_function_runs_two_scheduled_runs_against_moto() -> TestResult {
    let moto = MotoServer::start()?;
    let aws = moto.clients().await;
    moto.create_state_table("fleetwatch-state").await;
    let alerts_url = moto.create_queue("alerts").await;

    let service = ServiceFake::start();
    service.set("/health", Answer::status(503, "down"));
    let yaml = format!(
        "checks:\n  - name: payments\n    url: {}\n    headers:\n      Authorization: {{ ssm: /fleetwatch/payments/token }}\n    failure_threshold: 1\n    success_threshold: 1\n    labels: {{ team: payments }}\n",
        service.url("/health")
    );
    let ssm = aws.ssm();
    ssm.put_parameter()
        .name(CONFIG_PARAMETER)
        .value(&yaml)
        .r#type(aws_sdk_ssm::types::ParameterType::String)
        .send()
        .await?;
    ssm.put_parameter()
        .name("/fleetwatch/payments/token")
        .value(HEADER_SECRET)
        .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
        .send()
        .await?;

    let env = BTreeMap::from([
        (
            "FLEETWATCH_HEALTH_CONFIG_PARAMETER",
            CONFIG_PARAMETER.to_owned(),
        ),
        ("FLEETWATCH_STATE_TABLE", "fleetwatch-state".to_owned()),
        ("FLEETWATCH_ALERTS_QUEUE_URL", alerts_url.clone()),
    ]);
    let config = HealthCheckConfig::from_lookup(|name| env.get(name).cloned())?;
    let start = this_minute();
    let clock = Arc::new(ManualClock::at_epoch_seconds(start));
    let (metrics, lines) = MetricsSink::memory(clock.clone());
    let handler = health_check::build_handler(&config, &aws, metrics, clock.clone()).await?;
    let deadline = || clock.now() + Duration::from_secs(60);

    let first = handler.handle(scheduled_event(start), deadline()).await?;
    assert_eq!((first.ran, first.alerts_published), (1, 1));
    let bodies = take_all(&aws.sqs(), &alerts_url).await;
    assert_eq!(bodies.len(), 1);
    let opened: Alert = serde_json::from_str(&bodies[0])?;
    assert_eq!(opened.title, "payments is down");
    assert_eq!(opened.labels["team"], "payments");
    assert_eq!(
        service.received()[0].header("authorization"),
        Some(HEADER_SECRET)
    );

    let item = aws
        .dynamodb()
        .get_item()
        .table_name("fleetwatch-state")
        .key(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S(state_key("payments")),
        )
        .send()
        .await?
        .item
        .expect("the check's state is stored");
    let value = item["value"].as_s().unwrap();
    assert!(value.contains("\"consecutive_failures\":1"), "{value}");
    let expires: u64 = item["expires_at"].as_n().unwrap().parse()?;
    assert_eq!(expires, start + 30 * 86_400);

    // A retry of the first event: already done, nothing again.
    let retry = handler.handle(scheduled_event(start), deadline()).await?;
    assert_eq!((retry.ran, retry.not_due), (0, 1));

    service.set("/health", Answer::ok("up"));
    clock.set(UNIX_EPOCH + Duration::from_secs(start + 61));
    let second = handler
        .handle(scheduled_event(start + 60), deadline())
        .await?;
    assert_eq!((second.ran, second.alerts_published), (1, 1));
    let bodies = take_all(&aws.sqs(), &alerts_url).await;
    assert_eq!(bodies.len(), 1);
    let resolved: Alert = serde_json::from_str(&bodies[0])?;
    assert_eq!(resolved.status, Status::Resolved);
    assert_eq!(resolved.thread_key, opened.thread_key);
    assert!(!value.contains(HEADER_SECRET) && !bodies[0].contains(HEADER_SECRET));
    assert!(
        lines
            .documents()
            .iter()
            .any(|d| d["Check"] == "payments" && d["Up"] == 1.0)
    );
    Ok(())
}
