//! One scheduled invocation: every due check probed (concurrently, with a bound), judged, folded
//! into its incident state, its alerts published and its state saved.
//!
//! Time: the EventBridge event's `time` (the scheduled time) is `now` for every decision, so a
//! retried invocation of the same event decides the same and publishes the same alert ids,
//! which slack-fanout recognises. The clock is read only for the invocation's deadline.
//!
//! Order of work per check: read its state (`health#<name>`), skip it when not due, read its SSM
//! parameters, probe, evaluate, redact, step, publish its alert, save its state (conditionally
//! on the state read, so two overlapping invocations cannot both win), emit its metrics. A check
//! whose alert could not be published keeps its old state: the next run (or the retry) decides
//! again. A check already run for this scheduled time is not due on the retry, so a retry
//! redoes only what did not complete.
//!
//! The invocation fails (and Lambda retries it) only for what a retry can fix: a transient
//! failure of the state table, the alerts queue or SSM. Everything else is logged and counted.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use fleetwatch_health::{Check, CheckResult, CheckState, Config, UnixTime, step};
use fleetwatch_ports::{
    ErrorChain, FaultKind, MessageQueue, MetricSet, MetricsSink, QueueError, SecretSource,
    SharedClock, StateError, StateItem, StateStore, Unit, epoch_seconds,
};
use futures_util::StreamExt;
use serde::Serialize;
use serde_json::Value;

use crate::config::{ConfigSource, WiringError, read_source};
use crate::prober::{Prober, SecretFailure, run_check};

pub const NAMESPACE: &str = "fleetwatch/health-check";

/// The state table key of a check.
pub fn state_key(check: &str) -> String {
    format!("health#{check}")
}

/// Knobs with sensible defaults.
#[derive(Debug, Clone)]
pub struct Settings {
    /// How often the schedule fires: every interval is a multiple of it.
    pub schedule_period: Duration,
    /// Checks probed at once.
    pub concurrency: usize,
    /// How long a check's state outlives its last run (a check removed from the configuration
    /// is forgotten after this); at least two intervals.
    pub state_ttl: Duration,
    /// A check starts only when its timeout and this margin still fit before the deadline: the
    /// rest is deferred to the next run, not cut off half-way.
    pub deadline_margin: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            schedule_period: Duration::from_secs(60),
            concurrency: 16,
            state_ttl: Duration::from_secs(30 * 86_400),
            deadline_margin: Duration::from_secs(5),
        }
    }
}

/// The adapters the handler drives.
pub struct Adapters<P, S, Q, K> {
    pub prober: P,
    pub state: S,
    pub alerts: Q,
    pub secrets: K,
}

/// What one invocation did (its answer to Lambda, also logged).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RunSummary {
    /// `now` of every decision: the event's `time`.
    pub scheduled_at: String,
    pub checks: usize,
    /// Probed and judged this run.
    pub ran: usize,
    /// The checks that ran and failed.
    pub failing: Vec<String>,
    /// Not due at this time (their interval).
    pub not_due: usize,
    /// Not started: their timeout did not fit before the deadline. They are due next run.
    pub deferred: Vec<String>,
    pub alerts_published: usize,
    /// Checks that did not complete for a reason a retry cannot fix (each logged).
    pub errors: Vec<String>,
}

/// Why one check did not complete.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error("reading the state of check {check}")]
    LoadState {
        check: String,
        #[source]
        source: StateError,
    },
    #[error(transparent)]
    Secret(#[from] SecretFailure),
    #[error("publishing the alert of check {check}")]
    Publish {
        check: String,
        #[source]
        source: QueueError,
    },
    #[error("saving the state of check {check}")]
    SaveState {
        check: String,
        #[source]
        source: StateError,
    },
}

impl CheckError {
    pub fn kind(&self) -> FaultKind {
        match self {
            CheckError::LoadState { source, .. } | CheckError::SaveState { source, .. } => {
                source.kind()
            }
            CheckError::Secret(failure) => failure.source.kind(),
            CheckError::Publish { source, .. } => source.kind(),
        }
    }
}

/// Some due checks did not complete for a reason a retry can fix; the others did.
#[derive(Debug, thiserror::Error)]
#[error("{failed} due check(s) did not complete and run again on the retry")]
pub struct HandlerError {
    pub failed: usize,
    /// The first of them, with its cause.
    #[source]
    pub first: CheckError,
}

enum Outcome {
    NotDue,
    Deferred,
    Ran {
        result: CheckResult,
        alerts: usize,
    },
    /// The probe ran, but its alert or state was not stored.
    Failed(CheckError),
}

/// The configuration as last read: its text (to notice a change) and the checks.
struct Loaded {
    text: String,
    config: Arc<Config>,
}

pub struct HealthCheckHandler<P, S, Q, K> {
    adapters: Adapters<P, S, Q, K>,
    source: ConfigSource,
    loaded: Mutex<Loaded>,
    settings: Settings,
    metrics: MetricsSink,
    clock: SharedClock,
}

impl<P, S, Q, K> HealthCheckHandler<P, S, Q, K>
where
    P: Prober,
    S: StateStore + Sync,
    Q: MessageQueue + Sync,
    K: SecretSource + Sync,
{
    /// Reads and validates the checks (a mistake fails the cold start, naming its line).
    pub async fn new(
        adapters: Adapters<P, S, Q, K>,
        source: ConfigSource,
        settings: Settings,
        metrics: MetricsSink,
        clock: SharedClock,
    ) -> Result<Self, WiringError> {
        let text = read_source(&source, &adapters.secrets).await?;
        let config = Config::from_yaml(&text, settings.schedule_period)?;
        Ok(Self {
            adapters,
            source,
            loaded: Mutex::new(Loaded {
                text,
                config: Arc::new(config),
            }),
            settings,
            metrics,
            clock,
        })
    }

    pub fn adapters(&self) -> &Adapters<P, S, Q, K> {
        &self.adapters
    }

    /// The checks in force.
    pub fn config(&self) -> Arc<Config> {
        self.lock().config.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Loaded> {
        self.loaded.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Handles one scheduled event; `deadline` is when the invocation must have answered.
    pub async fn handle(
        &self,
        event: Value,
        deadline: SystemTime,
    ) -> Result<RunSummary, HandlerError> {
        let now = match scheduled_time(&event) {
            Some(now) => now,
            None => {
                let now = unix_time(self.clock.now());
                tracing::warn!(
                    %now,
                    "the event has no RFC 3339 `time` (not an EventBridge scheduled event?): running at the clock's time"
                );
                now
            }
        };
        let config = self.refresh().await;
        let result = self.run(&config, now, deadline).await;
        match &result {
            Ok(summary) => tracing::info!(
                summary = %serde_json::to_string(summary).unwrap_or_default(),
                "health checks ran"
            ),
            Err(error) => tracing::warn!(
                error = %ErrorChain(error),
                error.kind = %error.first.kind(),
                "health checks incomplete; the invocation fails so that it is retried"
            ),
        }
        result
    }

    /// The configuration again, when its text changed (the SSM adapter caches it, so a change
    /// is seen within its cache time). An unreadable or invalid new text keeps the last good one.
    async fn refresh(&self) -> Arc<Config> {
        let text = match read_source(&self.source, &self.adapters.secrets).await {
            Ok(text) => text,
            Err(error) => {
                tracing::warn!(
                    error = %ErrorChain(&error),
                    source = %self.source,
                    "could not read the checks configuration; running the last one read"
                );
                return self.config();
            }
        };
        if text == self.lock().text {
            return self.config();
        }
        match Config::from_yaml(&text, self.settings.schedule_period) {
            Ok(config) => {
                tracing::info!(source = %self.source, checks = config.checks().len(), "checks configuration changed");
                let config = Arc::new(config);
                *self.lock() = Loaded {
                    text,
                    config: config.clone(),
                };
                config
            }
            Err(error) => {
                tracing::error!(
                    error = %ErrorChain(&error),
                    source = %self.source,
                    "the changed checks configuration is invalid; running the last valid one"
                );
                self.config()
            }
        }
    }

    async fn run(
        &self,
        config: &Config,
        now: UnixTime,
        deadline: SystemTime,
    ) -> Result<RunSummary, HandlerError> {
        let outcomes: Vec<(&Check, Outcome)> = futures_util::stream::iter(config.checks())
            .map(|check| async move { (check, self.run_one(check, now, deadline).await) })
            .buffer_unordered(self.settings.concurrency.max(1))
            .collect()
            .await;

        let mut summary = RunSummary {
            scheduled_at: now.to_rfc3339(),
            checks: config.checks().len(),
            ..RunSummary::default()
        };
        let mut retryable = Vec::new();
        for (check, outcome) in outcomes {
            match outcome {
                Outcome::NotDue => summary.not_due += 1,
                Outcome::Deferred => summary.deferred.push(check.name.clone()),
                Outcome::Ran { result, alerts } => {
                    summary.ran += 1;
                    summary.alerts_published += alerts;
                    if !result.healthy {
                        summary.failing.push(check.name.clone());
                    }
                }
                Outcome::Failed(error) => {
                    if error.kind() == FaultKind::Transient {
                        retryable.push(error);
                    } else {
                        summary.errors.push(ErrorChain(&error).to_string());
                    }
                }
            }
        }
        for list in [
            &mut summary.failing,
            &mut summary.deferred,
            &mut summary.errors,
        ] {
            list.sort();
        }
        if !summary.deferred.is_empty() {
            tracing::warn!(deferred = ?summary.deferred, "checks not started: their timeout did not fit before the deadline; they run next time");
        }
        self.metrics.emit(
            &MetricSet::new(NAMESPACE)
                .count("ChecksRun", summary.ran as u64)
                .count("ChecksFailing", summary.failing.len() as u64)
                .count("ChecksDeferred", summary.deferred.len() as u64)
                .count(
                    "CheckErrors",
                    (summary.errors.len() + retryable.len()) as u64,
                )
                .count("AlertsPublished", summary.alerts_published as u64),
        );
        let failed = retryable.len();
        match retryable.into_iter().next() {
            Some(first) => Err(HandlerError { failed, first }),
            None => Ok(summary),
        }
    }

    async fn run_one(&self, check: &Check, now: UnixTime, deadline: SystemTime) -> Outcome {
        let Adapters {
            prober,
            state,
            alerts,
            secrets,
        } = &self.adapters;
        let key = state_key(&check.name);
        let stored = match state.get(&key).await {
            Ok(item) => item.map(|item| item.value),
            Err(source) => {
                return self.failed(CheckError::LoadState {
                    check: check.name.clone(),
                    source,
                });
            }
        };
        let before = match stored.as_deref().map(serde_json::from_str::<CheckState>) {
            None => CheckState::default(),
            Some(Ok(before)) => before,
            Some(Err(error)) => {
                tracing::warn!(check = %check.name, %error, "stored state unreadable; starting the check afresh");
                CheckState::default()
            }
        };
        if !before.is_due(check, now) {
            return Outcome::NotDue;
        }
        if self.clock.now() + check.timeout + self.settings.deadline_margin > deadline {
            return Outcome::Deferred;
        }

        let result = match run_check(prober, secrets, check, now).await {
            Ok(result) => result,
            Err(failure) => return self.failed(failure.into()),
        };
        self.report(check, &result);

        let (after, produced) = step(&before, &result, now, check);
        let bodies: Vec<String> = produced
            .iter()
            .map(|alert| serde_json::to_string(alert).expect("an Alert serialises"))
            .collect();
        if let Some(rejected) = alerts.send_all(&bodies).await.into_iter().next() {
            // The old state stays: the next run (or the retry) decides and publishes again.
            return self.failed(CheckError::Publish {
                check: check.name.clone(),
                source: rejected.error,
            });
        }
        for alert in &produced {
            tracing::info!(check = %check.name, alert = %alert.id, title = %alert.title, "alert published");
        }

        let ttl = self.settings.state_ttl.max(check.interval * 2);
        let item = StateItem {
            key,
            value: serde_json::to_string(&after).expect("a CheckState serialises"),
            expires_at: u64::try_from(now.plus(ttl).as_secs()).unwrap_or(0),
        };
        match state.compare_and_set(&item, stored.as_deref()).await {
            Ok(true) => {}
            // Another invocation (an overlapping retry) ran the check and saved first; its
            // alerts carry the same ids as ours would, so keeping its state loses nothing.
            Ok(false) => {
                tracing::info!(check = %check.name, "state saved by another run first; keeping it")
            }
            Err(source) => {
                return self.failed(CheckError::SaveState {
                    check: check.name.clone(),
                    source,
                });
            }
        }
        Outcome::Ran {
            alerts: produced.len(),
            result,
        }
    }

    fn failed(&self, error: CheckError) -> Outcome {
        let chain = ErrorChain(&error);
        match error.kind() {
            FaultKind::Transient => {
                tracing::warn!(error = %chain, error.kind = "transient", "check did not complete")
            }
            FaultKind::Permanent => {
                tracing::error!(error = %chain, error.kind = "permanent", "check did not complete")
            }
        }
        Outcome::Failed(error)
    }

    /// The result in the log and the check's metrics.
    fn report(&self, check: &Check, result: &CheckResult) {
        let latency_ms = result.metrics.latency_ms;
        if result.healthy {
            tracing::info!(check = %check.name, latency_ms, "healthy");
        } else {
            tracing::info!(check = %check.name, latency_ms, reason = %result.reason(), "failing");
        }
        self.metrics.emit(&check_metrics(check, result));
    }
}

/// The EMF metrics of one result: `Up` (0/1), `Latency` (ms, when there was an answer),
/// `CertificateDaysLeft` (HTTPS answers), dimension `Check`.
pub fn check_metrics(check: &Check, result: &CheckResult) -> MetricSet {
    let mut set = MetricSet::new(NAMESPACE)
        .dimension("Check", check.name.clone())
        .metric("Up", f64::from(result.metrics.up), Unit::None);
    if let Some(latency) = result.metrics.latency_ms {
        set = set.metric("Latency", latency as f64, Unit::Milliseconds);
    }
    if let Some(days) = result.metrics.certificate_days_left {
        set = set.metric(
            "CertificateDaysLeft",
            (days * 100.0).round() / 100.0,
            Unit::None,
        );
    }
    set.property("check_type", check.kind())
}

/// The `time` of an EventBridge event (for a scheduled event, the time it was scheduled for).
pub fn scheduled_time(event: &Value) -> Option<UnixTime> {
    event
        .get("time")
        .and_then(Value::as_str)
        .and_then(UnixTime::parse_rfc3339)
}

fn unix_time(time: SystemTime) -> UnixTime {
    UnixTime::from_secs(i64::try_from(epoch_seconds(time)).unwrap_or(i64::MAX))
}
