//! Health checks, the pure core of the `health-check` function: Gatus' conditions, thresholds,
//! reminders and resolved messages without a server to run.
//!
//! No I/O, no clock, no environment. The adapter (the Lambda handler, the CLI) reads the YAML,
//! resolves SSM parameters, sends the requests, keeps the state and publishes the alerts; every
//! decision in between is a function here:
//!
//! 1. [`Config::from_yaml`] validates the checks; a mistake is a [`ConfigError`] naming its line
//!    and column.
//! 2. [`CheckState::is_due`] says whether a check runs this time (its interval).
//! 3. [`probe`] says what to do for a check: one [`HttpRequest`], one [`TcpConnect`], or the
//!    [`JenkinsRequest`]s of a Jenkins check ([`jenkins_requests`]). Header values and Jenkins
//!    credentials may be SSM references ([`Resolvable`], [`SsmParameter`]): resolve them, and
//!    never log them.
//! 4. The prober fills in an [`Observation`]: an [`HttpObservation`], a [`TcpObservation`],
//!    [`JenkinsResponse`]s, or a [`ProbeError`] (connection refused, DNS, timeout, TLS,
//!    redirects) whose text is the reason people read.
//! 5. [`evaluate`] turns it into a [`CheckResult`]: every condition with pass or fail, what was
//!    expected and what was seen (`status 503 not in [200..299]`), and its [`Metrics`] (up,
//!    latency, days to certificate expiry).
//! 6. [`CheckResult::redact`] with the values resolved from SSM, then [`step`] folds the result
//!    into the check's stored [`CheckState`] and returns the [`Alert`](fleetwatch_alerts::Alert)s
//!    to publish: opened, reminder, resolved, one Slack thread per incident.
//!
//! ```
//! use fleetwatch_health::{
//!     CheckState, Config, HttpObservation, Observation, UnixTime, evaluate, step,
//! };
//! use std::time::Duration;
//!
//! let config = Config::from_yaml(
//!     "checks:\n  - name: api\n    url: https://api.internal/health\n    failure_threshold: 1\n",
//!     Duration::from_secs(60),
//! )
//! .unwrap();
//! let check = &config.checks()[0];
//! let now = UnixTime::from_secs(1_795_000_000);
//! let seen = Observation::Http(Ok(HttpObservation { status: 503, ..Default::default() }));
//!
//! let result = evaluate(check, &seen, now);
//! assert_eq!(result.reason(), "status 503 not in [200..299]");
//! let (state, alerts) = step(&CheckState::default(), &result, now, check);
//! assert_eq!(alerts[0].title, "api is down");
//! assert!(state.incident.is_some());
//! ```
//!
//! # The configuration
//!
//! Every key is shown below (this is `events/health/checks.yaml`). A check is an HTTP check
//! (`http://`, `https://`), a TCP connect check (`tcp://host:port`) or, with `type: jenkins`, a
//! Jenkins controller.
//!
#![doc = concat!("```yaml\n", include_str!("../../../events/health/checks.yaml"), "```")]
//!
//! Rules worth knowing:
//!
//! - **Names**: unique; letters, digits, `.`, `_`, `-` (they are part of alert ids and state
//!   keys). Unknown keys are errors (`failure_treshold:` does not pass silently), and so are
//!   duplicate header or label names.
//! - **Durations**: `500ms`, `10s`, `5m`, `1h30m`, `14d`. `interval` (default: the schedule
//!   period) must be a multiple of the schedule period; `timeout` (default 10s) at most the
//!   period; `reminder` at least 5m (as Gatus) and at least the interval.
//! - **Secrets**: a header value is a literal or `{ssm: /parameter/name}` (an SSM SecureString
//!   parameter, resolved by the adapter). A Jenkins `api_token` must be `{ssm: ...}`; `user` may
//!   be either. Credentials in a URL (`https://user:pass@host`) are refused.
//! - **HTTP conditions** (all must hold): `status` (a code, a range `200-299`, or a list of
//!   them; default `200-299` when no `status` is given), `body_contains`, `body_matches` (a
//!   regex found anywhere in the body; anchor it with `^…$`), `json: {pointer, equals}` (an RFC
//!   6901 pointer; values also compare as text, as in Gatus), `response_time_under`,
//!   `certificate_valid_for_more_than` (https only). Redirects are followed (at most 10); the
//!   body is read up to 1 MiB.
//! - **TCP conditions**: the connection is accepted, and `response_time_under`.
//! - **Jenkins conditions**: always, the controller answers `/api/json` and is not quieting
//!   down; then `online_executors_at_least` (executors of online nodes), `queue_items_under`,
//!   `queue_oldest_under` (the oldest item not `blocked` behind its own running build or a
//!   lock) and `jobs_not_failed` (the last *completed* build's `result` is not `FAILURE`, so a
//!   build in progress does not hide or flap the verdict; `folder/job` for jobs in folders).
//! - **Alerting** (Gatus' semantics): an incident opens at the run where `failure_threshold`
//!   failures in a row are reached, and resolves at the run where `success_threshold`
//!   successes in a row are reached; a failure in between restarts the success count and the
//!   incident stays open. While open, a reminder every `reminder`. The resolved message gives
//!   the outage's duration: from the first failed run to the first successful one.
//!
//! Alerts carry the labels, plus `check` (the name) and `check_type` (`http`, `tcp`,
//! `jenkins`), for routing in slack-fanout.

mod alert;
mod config;
mod evaluate;
mod jenkins;
mod probe;
mod state;
mod time;
mod yaml;

pub use config::{
    Alerting, Check, Condition, Config, ConfigError, Header, HttpTarget, JenkinsConditions,
    JenkinsTarget, Resolvable, SsmParameter, StatusSet, Target, TcpTarget,
};
pub use evaluate::{CheckResult, ConditionResult, Metrics, evaluate};
pub use jenkins::jenkins_requests;
pub use probe::{
    BasicAuth, HttpObservation, HttpRequest, JenkinsEndpoint, JenkinsRequest, JenkinsResponse,
    MAX_BODY_BYTES, MAX_REDIRECTS, Observation, Probe, ProbeError, TcpConnect, TcpObservation,
    probe,
};
pub use state::{CheckState, Incident, step};
pub use time::{UnixTime, format_duration};
