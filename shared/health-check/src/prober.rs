//! The probing port ([`Prober`]: one HTTP exchange, one TCP connect) and what the application
//! does around it: resolving a check's SSM references ([`resolve_secrets`]), turning a
//! [`Probe`] into an [`Observation`] with every request bounded by the check's timeout
//! ([`observe`]), and one whole run of one check, redacted ([`run_check`]).
//!
//! The adapter over reqwest and tokio is `fleetwatch-probe`; tests use scripted probers.

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::time::Duration;

use fleetwatch_health::{
    Check, CheckResult, HttpObservation, HttpRequest, JenkinsResponse, Observation, Probe,
    ProbeError, Resolvable, TcpConnect, TcpObservation, UnixTime, evaluate, probe,
};
use fleetwatch_ports::{ErrorChain, Secret, SecretError, SecretSource};
use futures_util::future::join_all;

/// What an adapter gets beyond the request's own timeout before [`observe`] gives up on it
/// itself: the adapter's own timeout, when it fires first, says more (which phase was slow).
pub const BACKSTOP_GRACE: Duration = Duration::from_millis(250);

/// The network side of a check. Each call must give up by the timeout it is handed (the
/// application also stops waiting [`BACKSTOP_GRACE`] later), follow at most `max_redirects`,
/// read at most `max_body_bytes`, and keep header values, credentials and URL queries out of
/// every [`ProbeError`] it returns.
pub trait Prober: Send + Sync {
    fn http(
        &self,
        call: &HttpCall,
    ) -> impl Future<Output = Result<HttpObservation, ProbeError>> + Send;

    fn tcp(
        &self,
        connect: &TcpConnect,
    ) -> impl Future<Output = Result<TcpObservation, ProbeError>> + Send;
}

/// An HTTP request as it goes on the wire: [`HttpRequest`] with its SSM references resolved.
/// Every header value is held as a [`Secret`] (a literal `Authorization` is as secret as one
/// from SSM), so `Debug` shows the header names only.
#[derive(Clone)]
pub struct HttpCall {
    /// Upper case (`GET`).
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, Secret)>,
    /// `Authorization: Basic` from a user and a password (Jenkins' API token).
    pub basic_auth: Option<(Secret, Secret)>,
    pub body: Option<String>,
    /// For the whole exchange: connect, TLS, redirects, headers and body.
    pub timeout: Duration,
    pub max_body_bytes: usize,
    pub max_redirects: u32,
}

impl fmt::Debug for HttpCall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let headers: Vec<&str> = self.headers.iter().map(|(name, _)| name.as_str()).collect();
        f.debug_struct("HttpCall")
            .field("method", &self.method)
            .field("url", &strip_query(&self.url))
            .field("headers", &headers)
            .field("basic_auth", &self.basic_auth.is_some())
            .field("body_bytes", &self.body.as_ref().map(String::len))
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// The URL without its query and fragment (where API keys hide).
pub fn strip_query(url: &str) -> &str {
    let end = url.find(['?', '#']).unwrap_or(url.len());
    &url[..end]
}

/// The values of a check's SSM references, by parameter name.
#[derive(Clone, Default)]
pub struct ResolvedSecrets(BTreeMap<String, Secret>);

impl fmt::Debug for ResolvedSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.0.keys()).finish()
    }
}

impl ResolvedSecrets {
    /// The value of a configured value: a literal as written, a reference as resolved (empty
    /// when not resolved, which [`resolve_secrets`] rules out).
    fn value(&self, value: &Resolvable) -> Secret {
        match value {
            Resolvable::Literal(text) => Secret::new(text.clone()),
            Resolvable::Ssm(parameter) => self
                .0
                .get(parameter.name())
                .cloned()
                .unwrap_or_else(|| Secret::new(String::new())),
        }
    }

    /// Every resolved value, for [`CheckResult::redact`].
    pub fn values(&self) -> Vec<&str> {
        self.0.values().map(Secret::expose).collect()
    }

    /// The request with its references replaced by their values.
    pub fn call(&self, request: &HttpRequest) -> HttpCall {
        HttpCall {
            method: request.method.clone(),
            url: request.url.clone(),
            headers: request
                .headers
                .iter()
                .map(|header| (header.name.clone(), self.value(&header.value)))
                .collect(),
            basic_auth: request.basic_auth.as_ref().map(|auth| {
                (
                    self.value(&auth.user),
                    self.value(&Resolvable::Ssm(auth.password.clone())),
                )
            }),
            body: request.body.clone(),
            timeout: request.timeout,
            max_body_bytes: request.max_body_bytes,
            max_redirects: request.max_redirects,
        }
    }
}

/// An SSM parameter of a check that could not be read.
#[derive(Debug, thiserror::Error)]
#[error("reading SSM parameter {parameter} for check {check}")]
pub struct SecretFailure {
    pub check: String,
    pub parameter: String,
    #[source]
    pub source: SecretError,
}

impl SecretFailure {
    pub fn is_transient(&self) -> bool {
        self.source.is_transient()
    }
}

/// Reads every SSM parameter `check` names.
pub async fn resolve_secrets<K: SecretSource>(
    check: &Check,
    secrets: &K,
) -> Result<ResolvedSecrets, SecretFailure> {
    let mut resolved = BTreeMap::new();
    for parameter in check.ssm_parameters() {
        let name = parameter.name();
        if resolved.contains_key(name) {
            continue;
        }
        let value = secrets.secret(name).await.map_err(|source| SecretFailure {
            check: check.name.clone(),
            parameter: name.to_owned(),
            source,
        })?;
        resolved.insert(name.to_owned(), value);
    }
    Ok(ResolvedSecrets(resolved))
}

/// Runs `probe`: one request, one connect, or a Jenkins check's requests concurrently. Each is
/// bounded by its own timeout (plus [`BACKSTOP_GRACE`]), whatever the prober does.
pub async fn observe<P: Prober>(
    prober: &P,
    probe: &Probe,
    secrets: &ResolvedSecrets,
) -> Observation {
    match probe {
        Probe::Http(request) => {
            let call = secrets.call(request);
            Observation::Http(bounded(call.timeout, prober.http(&call)).await)
        }
        Probe::Tcp(connect) => {
            Observation::Tcp(bounded(connect.timeout, prober.tcp(connect)).await)
        }
        Probe::Jenkins(requests) => {
            let calls = requests.iter().map(|request| async move {
                let call = secrets.call(&request.request);
                JenkinsResponse {
                    endpoint: request.endpoint.clone(),
                    outcome: bounded(call.timeout, prober.http(&call)).await,
                }
            });
            Observation::Jenkins(join_all(calls).await)
        }
    }
}

async fn bounded<T>(
    timeout: Duration,
    call: impl Future<Output = Result<T, ProbeError>>,
) -> Result<T, ProbeError> {
    tokio::time::timeout(timeout + BACKSTOP_GRACE, call)
        .await
        .unwrap_or(Err(ProbeError::Timeout { after: timeout }))
}

/// What a probe that could not be sent saw: the same error for each of its requests.
pub fn failed_observation(probe: &Probe, error: ProbeError) -> Observation {
    match probe {
        Probe::Http(_) => Observation::Http(Err(error)),
        Probe::Tcp(_) => Observation::Tcp(Err(error)),
        Probe::Jenkins(requests) => Observation::Jenkins(
            requests
                .iter()
                .map(|request| JenkinsResponse {
                    endpoint: request.endpoint.clone(),
                    outcome: Err(error.clone()),
                })
                .collect(),
        ),
    }
}

/// One run of one check at `now` (the scheduled time): its SSM references read, probed,
/// evaluated, and every resolved value redacted from the result.
///
/// A parameter that does not exist or may not be read (a permanent failure) makes the check
/// fail with that reason, so a broken configuration is seen in Slack instead of a silent check;
/// `Err` only for a transient failure (throttling, a timeout), which a retry can fix and which
/// says nothing about the service.
pub async fn run_check<P: Prober, K: SecretSource>(
    prober: &P,
    secrets: &K,
    check: &Check,
    now: UnixTime,
) -> Result<CheckResult, SecretFailure> {
    let probe = probe(check);
    let (observation, resolved) = match resolve_secrets(check, secrets).await {
        Ok(resolved) => (observe(prober, &probe, &resolved).await, resolved),
        Err(failure) if failure.is_transient() => return Err(failure),
        Err(failure) => {
            let detail = format!(
                "not sent: SSM parameter {}: {}",
                failure.parameter,
                ErrorChain(&failure.source)
            );
            (
                failed_observation(&probe, ProbeError::Other { detail }),
                ResolvedSecrets::default(),
            )
        }
    };
    let mut result = evaluate(check, &observation, now);
    result.redact(&resolved.values());
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;
    use fleetwatch_health::Config;
    use fleetwatch_ports::{Fault, StaticSecrets};
    use std::sync::Mutex;

    /// Answers every request with a body echoing its headers, after `delay`.
    #[derive(Default)]
    struct Echo {
        delay: Duration,
        calls: Mutex<Vec<String>>,
    }

    impl Prober for Echo {
        async fn http(&self, call: &HttpCall) -> Result<HttpObservation, ProbeError> {
            self.calls.lock().unwrap().push(call.url.clone());
            tokio::time::sleep(self.delay).await;
            let mut body = String::new();
            for (name, value) in &call.headers {
                body.push_str(&format!("{name}={};", value.expose()));
            }
            Ok(HttpObservation {
                status: 200,
                body: format!("{{\"echo\":\"{body}\"}}").into_bytes(),
                ..Default::default()
            })
        }

        async fn tcp(&self, _connect: &TcpConnect) -> Result<TcpObservation, ProbeError> {
            tokio::time::sleep(self.delay).await;
            Ok(TcpObservation {
                latency: Duration::from_millis(3),
            })
        }
    }

    fn check(yaml: &str) -> Check {
        Config::from_yaml(yaml, Duration::from_secs(60))
            .unwrap()
            .checks()[0]
            .clone()
    }

    const NOW: UnixTime = UnixTime::from_secs(1_795_000_000);

    #[tokio::test]
    async fn resolved_values_are_sent_and_redacted_from_what_was_seen() {
        let check = check(
            "checks:\n  - name: api\n    url: http://api.internal/health\n    headers:\n      X-Token: { ssm: /t }\n    conditions:\n      - json: { pointer: /echo, equals: nope }\n",
        );
        let secrets = StaticSecrets::default().with("/t", "s3cr3t-token-value");
        let result = run_check(&Echo::default(), &secrets, &check, NOW)
            .await
            .unwrap();
        assert!(!result.healthy);
        let text = serde_json::to_string(&result).unwrap();
        assert!(!text.contains("s3cr3t-token-value"), "{text}");
        assert!(text.contains("X-Token=[redacted];"), "{text}");
    }

    #[tokio::test]
    async fn a_missing_parameter_fails_the_check_with_the_reason() {
        let check = check(
            "checks:\n  - name: api\n    url: http://api.internal/health\n    headers:\n      X-Token: { ssm: /missing }\n",
        );
        let prober = Echo::default();
        let result = run_check(&prober, &StaticSecrets::default(), &check, NOW)
            .await
            .unwrap();
        assert!(!result.healthy);
        assert_eq!(
            result.reason(),
            "request failed: not sent: SSM parameter /missing: secret parameter /missing does not exist"
        );
        assert!(prober.calls.lock().unwrap().is_empty(), "nothing was sent");
    }

    struct Throttled;

    impl SecretSource for Throttled {
        async fn secret(&self, name: &str) -> Result<Secret, SecretError> {
            Err(SecretError::Unavailable {
                name: name.into(),
                fault: Fault::transient("ThrottlingException: Rate exceeded"),
            })
        }
    }

    #[tokio::test]
    async fn a_transient_secret_failure_is_an_error_not_a_verdict() {
        let check = check(
            "checks:\n  - name: ci\n    type: jenkins\n    url: https://ci.internal\n    user: bot\n    api_token: { ssm: /ci/token }\n",
        );
        let failure = run_check(&Echo::default(), &Throttled, &check, NOW)
            .await
            .unwrap_err();
        assert!(failure.is_transient());
        assert_eq!(
            ErrorChain(&failure).to_string(),
            "reading SSM parameter /ci/token for check ci: reading secret parameter /ci/token: ThrottlingException: Rate exceeded"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_prober_that_overruns_is_cut_at_the_timeout() {
        let check =
            check("checks:\n  - name: db\n    url: tcp://db.internal:5432\n    timeout: 2s\n");
        let prober = Echo {
            delay: Duration::from_secs(600),
            ..Default::default()
        };
        let started = tokio::time::Instant::now();
        let result = run_check(&prober, &StaticSecrets::default(), &check, NOW)
            .await
            .unwrap();
        assert_eq!(started.elapsed(), Duration::from_secs(2) + BACKSTOP_GRACE);
        assert_eq!(result.reason(), "connection failed: no answer within 2s");
    }

    #[tokio::test]
    async fn jenkins_requests_carry_basic_auth_from_ssm() {
        let check = check(
            "checks:\n  - name: ci\n    type: jenkins\n    url: https://ci.internal\n    user: { ssm: /ci/user }\n    api_token: { ssm: /ci/token }\n    conditions:\n      - queue_items_under: 5\n",
        );
        let secrets = StaticSecrets::default()
            .with("/ci/user", "monitor")
            .with("/ci/token", "11aa22bb33cc");
        let resolved = resolve_secrets(&check, &secrets).await.unwrap();
        let Probe::Jenkins(requests) = probe(&check) else {
            panic!("a Jenkins probe");
        };
        let call = resolved.call(&requests[0].request);
        let (user, password) = call.basic_auth.clone().unwrap();
        assert_eq!(
            (user.expose(), password.expose()),
            ("monitor", "11aa22bb33cc")
        );
        let debug = format!("{call:?} {resolved:?}");
        assert!(
            !debug.contains("11aa22bb33cc") && !debug.contains("monitor"),
            "{debug}"
        );
        assert!(!debug.contains("tree="), "the query is left out: {debug}");
    }
}
