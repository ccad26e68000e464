//! What the prober must do for a check ([`probe`]), and the plain data of what it saw
//! ([`Observation`]). The prober (the adapter with the HTTP client) resolves SSM references,
//! sends, measures and fills these in; it decides nothing.

use crate::config::{Check, Header, Resolvable, SsmParameter, Target};
use serde::Serialize;
use std::time::Duration;

/// Bodies are read up to this many bytes; the rest is not needed to judge a health endpoint,
/// and a runaway response must not exhaust the function's memory.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Redirects followed before giving up, as Go's client (and so Gatus) does.
pub const MAX_REDIRECTS: u32 = 10;

/// What to do for one check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Probe {
    Http(HttpRequest),
    Tcp(TcpConnect),
    /// Every request, each answered with a [`JenkinsResponse`] of the same endpoint.
    Jenkins(Vec<JenkinsRequest>),
}

/// The probe for a check.
pub fn probe(check: &Check) -> Probe {
    match &check.target {
        Target::Http(http) => Probe::Http(HttpRequest {
            method: http.method.clone(),
            url: http.url.clone(),
            headers: http.headers.clone(),
            basic_auth: None,
            body: http.body.clone(),
            timeout: check.timeout,
            max_body_bytes: MAX_BODY_BYTES,
            max_redirects: MAX_REDIRECTS,
        }),
        Target::Tcp(tcp) => Probe::Tcp(TcpConnect {
            host: tcp.host.clone(),
            port: tcp.port,
            timeout: check.timeout,
        }),
        Target::Jenkins(_) => Probe::Jenkins(crate::jenkins::jenkins_requests(check)),
    }
}

/// One HTTP request. Header values and the basic-auth credentials may name SSM parameters:
/// resolve them first, and never log them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    /// Upper case (`GET`).
    pub method: String,
    pub url: String,
    pub headers: Vec<Header>,
    /// `Authorization: Basic` (Jenkins: user and API token).
    pub basic_auth: Option<BasicAuth>,
    pub body: Option<String>,
    /// For the whole exchange: connect, TLS, redirects, headers and body.
    pub timeout: Duration,
    /// Read at most this much of the body, and say so in [`HttpObservation::body_truncated`].
    pub max_body_bytes: usize,
    /// More redirects than this: [`ProbeError::TooManyRedirects`].
    pub max_redirects: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BasicAuth {
    pub user: Resolvable,
    pub password: SsmParameter,
}

/// A TCP connect; success is the connection being accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpConnect {
    pub host: String,
    pub port: u16,
    pub timeout: Duration,
}

/// One request of a Jenkins check and what it is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JenkinsRequest {
    pub endpoint: JenkinsEndpoint,
    pub request: HttpRequest,
}

/// The Jenkins endpoints a check reads.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JenkinsEndpoint {
    /// `/api/json`: the controller answers; `quietingDown`.
    Controller,
    /// `/computer/api/json`: nodes, `offline`, `numExecutors`.
    Computers,
    /// `/queue/api/json`: `items[]`, `inQueueSince`, `why`, `blocked`.
    Queue,
    /// `/job/<name>/lastCompletedBuild/api/json`: `result`, `number`.
    LastBuild { job: String },
}

/// What the probe of a check saw.
#[derive(Debug, Clone, PartialEq)]
pub enum Observation {
    Http(Result<HttpObservation, ProbeError>),
    Tcp(Result<TcpObservation, ProbeError>),
    /// One response per request of [`Probe::Jenkins`], in any order.
    Jenkins(Vec<JenkinsResponse>),
}

/// An HTTP response (after redirects).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HttpObservation {
    pub status: u16,
    /// Response headers, names as received. Never copied into results or alerts.
    pub headers: Vec<(String, String)>,
    /// At most [`HttpRequest::max_body_bytes`].
    pub body: Vec<u8>,
    /// The body was longer than what was read.
    pub body_truncated: bool,
    /// From sending the request to the end of the body read.
    pub latency: Duration,
    /// `notAfter` of the server's leaf certificate, seconds since the epoch (HTTPS only).
    pub tls_cert_not_after: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpObservation {
    /// Until the connection was established.
    pub latency: Duration,
}

#[derive(Debug, Clone, PartialEq)]
pub struct JenkinsResponse {
    pub endpoint: JenkinsEndpoint,
    pub outcome: Result<HttpObservation, ProbeError>,
}

/// Why a probe got no answer. The text of each is the reason people read in Slack: the
/// adapter must not put header values or tokens in `detail`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ProbeError {
    #[error("connection refused by {address} (nothing listening, or a firewall rejects it)")]
    ConnectionRefused { address: String },
    #[error("DNS lookup of {host} failed: {detail}")]
    Dns { host: String, detail: String },
    #[error("no answer within {}", crate::time::format_duration(*after))]
    Timeout {
        #[serde(serialize_with = "millis")]
        after: Duration,
    },
    #[error("TLS handshake failed: {detail}")]
    Tls { detail: String },
    #[error("more than {limit} redirects (a redirect loop?)")]
    TooManyRedirects { limit: u32 },
    #[error("{detail}")]
    Other { detail: String },
}

fn millis<S: serde::Serializer>(duration: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_u128(duration.as_millis())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_errors_read_as_reasons() {
        let cases = [
            (
                ProbeError::ConnectionRefused {
                    address: "api.internal:443".into(),
                },
                "connection refused by api.internal:443 (nothing listening, or a firewall rejects it)",
            ),
            (
                ProbeError::Dns {
                    host: "api.internal".into(),
                    detail: "no such host".into(),
                },
                "DNS lookup of api.internal failed: no such host",
            ),
            (
                ProbeError::Timeout {
                    after: Duration::from_secs(5),
                },
                "no answer within 5s",
            ),
            (
                ProbeError::Tls {
                    detail: "certificate has expired".into(),
                },
                "TLS handshake failed: certificate has expired",
            ),
            (
                ProbeError::TooManyRedirects { limit: 10 },
                "more than 10 redirects (a redirect loop?)",
            ),
        ];
        for (error, reason) in cases {
            assert_eq!(error.to_string(), reason);
        }
    }
}
