//! The handler on in-memory adapters and a scripted prober: scheduled times as `now`, due
//! checks only, retries that publish nothing new, failures that keep the old state, deferral
//! at the deadline, metrics, and configuration changes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use fleetwatch_alerts::{Alert, Status};
use fleetwatch_health::{CheckState, HttpObservation, ProbeError, TcpConnect, TcpObservation};
use fleetwatch_health_check::{
    Adapters, ConfigSource, HealthCheckHandler, HttpCall, Prober, Settings, state_key,
};
use fleetwatch_ports::{
    Clock, Fault, ManualClock, MemoryQueue, MemoryStateStore, MessageQueue, MetricLines,
    MetricsSink, QueueError, Secret, SecretError, SecretSource, StateStore, StaticSecrets,
};
use serde_json::{Value, json};

const T0: u64 = 1_795_000_020;
const CONFIG: &str = "/fleetwatch/health/checks";

/// Answers each URL with the status set for it (200 by default), and counts the calls.
#[derive(Clone, Default)]
struct Scripted {
    statuses: Arc<Mutex<HashMap<String, u16>>>,
    calls: Arc<Mutex<Vec<String>>>,
}

impl Scripted {
    fn set(&self, url: &str, status: u16) {
        self.statuses.lock().unwrap().insert(url.to_owned(), status);
    }

    fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }
}

impl Prober for Scripted {
    async fn http(&self, call: &HttpCall) -> Result<HttpObservation, ProbeError> {
        self.calls.lock().unwrap().push(call.url.clone());
        let status = self
            .statuses
            .lock()
            .unwrap()
            .get(&call.url)
            .copied()
            .unwrap_or(200);
        Ok(HttpObservation {
            status,
            latency: Duration::from_millis(42),
            tls_cert_not_after: call
                .url
                .starts_with("https")
                .then_some(T0 as i64 + 10 * 86_400),
            ..Default::default()
        })
    }

    async fn tcp(&self, connect: &TcpConnect) -> Result<TcpObservation, ProbeError> {
        self.calls.lock().unwrap().push(connect.host.clone());
        Err(ProbeError::ConnectionRefused {
            address: format!("{}:{}", connect.host, connect.port),
        })
    }
}

/// A queue that refuses the next `n` messages (transiently), then accepts.
#[derive(Clone, Default)]
struct Flaky {
    refuse: Arc<Mutex<usize>>,
    inner: Arc<MemoryQueue>,
}

impl MessageQueue for Flaky {
    async fn send(&self, body: &str) -> Result<String, QueueError> {
        {
            let mut refuse = self.refuse.lock().unwrap();
            if *refuse > 0 {
                *refuse -= 1;
                return Err(QueueError::Send(Fault::transient("connection reset")));
            }
        }
        self.inner.send(body).await
    }
}

/// Static secrets whose configuration text can be changed, and which can be made to throttle.
#[derive(Clone, Default)]
struct Secrets {
    values: Arc<Mutex<StaticSecrets>>,
    throttled: Arc<Mutex<Vec<String>>>,
}

impl SecretSource for Secrets {
    async fn secret(&self, name: &str) -> Result<Secret, SecretError> {
        if self.throttled.lock().unwrap().iter().any(|t| t == name) {
            return Err(SecretError::Unavailable {
                name: name.into(),
                fault: Fault::transient("ThrottlingException"),
            });
        }
        let values = self.values.lock().unwrap().clone();
        values.secret(name).await
    }
}

type Handler = HealthCheckHandler<Scripted, Arc<MemoryStateStore>, Flaky, Secrets>;

struct World {
    prober: Scripted,
    state: Arc<MemoryStateStore>,
    queue: Flaky,
    secrets: Secrets,
    clock: Arc<ManualClock>,
    metrics: MetricLines,
    handler: Handler,
}

impl World {
    async fn new(yaml: &str) -> World {
        let clock = Arc::new(ManualClock::at_epoch_seconds(T0));
        let prober = Scripted::default();
        let state = Arc::new(MemoryStateStore::new(clock.clone()));
        let queue = Flaky::default();
        let secrets = Secrets::default();
        set_config(&secrets, yaml);
        let (sink, metrics) = MetricsSink::memory(clock.clone());
        let handler = HealthCheckHandler::new(
            Adapters {
                prober: prober.clone(),
                state: state.clone(),
                alerts: queue.clone(),
                secrets: secrets.clone(),
            },
            ConfigSource::Parameter(CONFIG.into()),
            Settings::default(),
            sink,
            clock.clone(),
        )
        .await
        .unwrap();
        World {
            prober,
            state,
            queue,
            secrets,
            clock,
            metrics,
            handler,
        }
    }

    /// The scheduled event of minute `minute` after T0 (its `time`), run with the clock a few
    /// seconds later (EventBridge delivers late), and a minute to the deadline.
    async fn run(
        &self,
        minute: u64,
    ) -> Result<fleetwatch_health_check::RunSummary, fleetwatch_health_check::HandlerError> {
        let scheduled = T0 + minute * 60;
        self.clock
            .set(UNIX_EPOCH + Duration::from_secs(scheduled + 3));
        self.handler
            .handle(event(scheduled), self.clock.now() + Duration::from_secs(60))
            .await
    }

    fn alerts(&self) -> Vec<Alert> {
        self.queue
            .inner
            .messages()
            .iter()
            .map(|m| serde_json::from_str(m).unwrap())
            .collect()
    }

    async fn state_of(&self, check: &str) -> Option<CheckState> {
        self.state
            .get(&state_key(check))
            .await
            .unwrap()
            .map(|item| serde_json::from_str(&item.value).unwrap())
    }
}

fn set_config(secrets: &Secrets, yaml: &str) {
    let mut values = secrets.values.lock().unwrap();
    *values = values.clone().with(CONFIG, yaml);
}

fn event(scheduled: u64) -> Value {
    let time = fleetwatch_health::UnixTime::from_secs(scheduled as i64).to_rfc3339();
    json!({
        "version": "0",
        "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": time,
        "region": "eu-west-1",
        "resources": ["arn:aws:events:eu-west-1:123456789012:rule/fleetwatch-health-check-prod"],
        "detail": {}
    })
}

const API: &str = "https://api.internal/health";

fn api_config(settings: &str) -> String {
    format!("checks:\n  - name: api\n    url: {API}\n    reminder: 5m\n{settings}")
}

#[tokio::test]
async fn incidents_follow_the_scheduled_times() {
    let world = World::new(&api_config("")).await;
    world.prober.set(API, 503);
    for minute in 0..2 {
        let summary = world.run(minute).await.unwrap();
        assert_eq!(summary.failing, ["api"]);
        assert_eq!(summary.alerts_published, 0);
    }
    let summary = world.run(2).await.unwrap();
    assert_eq!(summary.alerts_published, 1, "opened at the third failure");
    assert_eq!(summary.scheduled_at, "2026-11-18T11:09:00Z");
    let opened = &world.alerts()[0];
    assert_eq!(opened.title, "api is down");
    assert_eq!(
        opened.occurred_at.as_deref(),
        Some("2026-11-18T11:09:00Z"),
        "the scheduled time, not the clock's (3 s later)"
    );
    for minute in 3..=7 {
        world.run(minute).await.unwrap();
    }
    assert_eq!(
        world.alerts().len(),
        2,
        "a reminder 5 minutes after opening"
    );
    assert_eq!(world.alerts()[1].title, "api is still down (7m)");

    world.prober.set(API, 200);
    world.run(8).await.unwrap();
    assert_eq!(world.alerts().len(), 2, "one success is not enough");
    world.run(9).await.unwrap();
    let alerts = world.alerts();
    assert_eq!(alerts.len(), 3);
    assert_eq!(alerts[2].status, Status::Resolved);
    assert_eq!(alerts[2].title, "api recovered after 8m");
    assert_eq!(alerts[2].thread_key, opened.thread_key);

    let item = world.state.get(&state_key("api")).await.unwrap().unwrap();
    assert_eq!(
        item.expires_at,
        T0 + 9 * 60 + 30 * 86_400,
        "TTL from the scheduled time"
    );
}

#[tokio::test]
async fn a_retried_event_probes_and_publishes_nothing_again() {
    let world = World::new(&api_config("    failure_threshold: 1\n")).await;
    world.prober.set(API, 500);
    let first = world.run(0).await.unwrap();
    assert_eq!(first.alerts_published, 1);
    let again = world.run(0).await.unwrap();
    assert_eq!((again.ran, again.not_due), (0, 1));
    assert_eq!(world.prober.calls().len(), 1);
    assert_eq!(world.alerts().len(), 1);
}

#[tokio::test]
async fn a_refused_alert_keeps_the_old_state_and_the_retry_publishes_the_same_id() {
    let yaml = format!(
        "{}  - name: other\n    url: http://other.internal/\n",
        api_config("    failure_threshold: 1\n")
    );
    let world = World::new(&yaml).await;
    world.prober.set(API, 500);
    *world.queue.refuse.lock().unwrap() = 1;
    let error = world.run(0).await.unwrap_err();
    assert_eq!(error.failed, 1);
    assert_eq!(
        fleetwatch_ports::ErrorChain(&error).to_string(),
        "1 due check(s) did not complete and run again on the retry: publishing the alert of check api: sending to the queue: connection reset"
    );
    assert_eq!(world.state_of("api").await, None, "nothing saved for api");
    assert!(
        world.state_of("other").await.is_some(),
        "the other check completed"
    );

    let retry = world.run(0).await.unwrap();
    assert_eq!(
        (retry.ran, retry.not_due, retry.alerts_published),
        (1, 1, 1)
    );
    let clean = World::new(&yaml).await;
    clean.prober.set(API, 500);
    clean.run(0).await.unwrap();
    assert_eq!(
        world.alerts()[0].id,
        clean.alerts()[0].id,
        "the same alert id"
    );
}

#[tokio::test]
async fn a_throttled_secret_fails_the_invocation_only_for_its_check() {
    let yaml = "checks:\n  - name: api\n    url: https://api.internal/health\n    headers:\n      Authorization: { ssm: /api/token }\n  - name: db\n    url: tcp://db.internal:5432\n";
    let world = World::new(yaml).await;
    world
        .secrets
        .throttled
        .lock()
        .unwrap()
        .push("/api/token".into());
    let error = world.run(0).await.unwrap_err();
    assert!(matches!(
        error.first,
        fleetwatch_health_check::CheckError::Secret(_)
    ));
    assert!(world.state_of("db").await.is_some());
    assert_eq!(world.state_of("api").await, None);

    // A parameter that does not exist is a verdict: the check fails and says why.
    world.secrets.throttled.lock().unwrap().clear();
    let summary = world.run(1).await.unwrap();
    assert_eq!(summary.failing, ["api", "db"]);
    let api = world.state_of("api").await.unwrap();
    assert_eq!(
        api.first_failure.as_deref(),
        Some(
            "request failed: not sent: SSM parameter /api/token: secret parameter /api/token does not exist"
        )
    );
}

#[tokio::test]
async fn only_due_checks_run_and_late_ones_are_deferred() {
    let yaml = "checks:\n  - name: every-minute\n    url: http://a.internal/\n  - name: every-two\n    url: http://b.internal/\n    interval: 2m\n  - name: slow\n    url: http://c.internal/\n    timeout: 50s\n";
    let world = World::new(yaml).await;
    let first = world.run(0).await.unwrap();
    assert_eq!(first.ran, 3);
    let second = world.run(1).await.unwrap();
    assert_eq!((second.ran, second.not_due), (2, 1));
    // 50 s of timeout and 5 s of margin do not fit in 40 s.
    world.clock.set(UNIX_EPOCH + Duration::from_secs(T0 + 120));
    let summary = world
        .handler
        .handle(event(T0 + 120), world.clock.now() + Duration::from_secs(40))
        .await
        .unwrap();
    assert_eq!(summary.deferred, ["slow"]);
    assert_eq!(summary.ran, 2);
}

#[tokio::test]
async fn metrics_per_check_and_per_run() {
    let world = World::new(
        "checks:\n  - name: api\n    url: https://api.internal/health\n  - name: db\n    url: tcp://db.internal:5432\n",
    )
    .await;
    world.run(0).await.unwrap();
    let documents = world.metrics.documents();
    let of = |check: &str| {
        documents
            .iter()
            .find(|d| d["Check"] == check)
            .unwrap_or_else(|| panic!("no metrics of {check}"))
            .clone()
    };
    let api = of("api");
    assert_eq!(api["Up"], 1.0);
    assert_eq!(api["Latency"], 42.0);
    assert_eq!(api["CertificateDaysLeft"], 10.0);
    assert_eq!(
        api["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
        json!([["Check"]])
    );
    assert_eq!(
        api["_aws"]["CloudWatchMetrics"][0]["Namespace"],
        "fleetwatch/health-check"
    );
    let db = of("db");
    assert_eq!(db["Up"], 0.0);
    assert!(db.get("Latency").is_none(), "no answer, no latency");
    let run = documents
        .iter()
        .find(|d| d.get("ChecksRun").is_some())
        .unwrap();
    assert_eq!(run["ChecksRun"], 2.0);
    assert_eq!(run["ChecksFailing"], 1.0);
}

#[tokio::test]
async fn a_changed_configuration_is_used_and_an_invalid_one_is_not() {
    let world = World::new(&api_config("")).await;
    set_config(
        &world.secrets,
        "checks:\n  - name: renamed\n    url: http://renamed.internal/\n",
    );
    world.run(0).await.unwrap();
    assert_eq!(world.prober.calls(), ["http://renamed.internal/"]);
    set_config(
        &world.secrets,
        "checks:\n  - name: broken\n    url: ftp://x\n",
    );
    world.run(1).await.unwrap();
    assert_eq!(world.handler.config().checks()[0].name, "renamed");
    assert_eq!(world.prober.calls().len(), 2);
}

#[tokio::test]
async fn an_event_without_a_time_runs_at_the_clock() {
    let world = World::new(&api_config("")).await;
    world.clock.set(UNIX_EPOCH + Duration::from_secs(T0 + 7));
    let summary = world
        .handler
        .handle(
            json!({}),
            SystemTime::now() + Duration::from_secs(3600 * 24 * 365 * 100),
        )
        .await
        .unwrap();
    assert_eq!(summary.scheduled_at, "2026-11-18T11:07:07Z");
}
