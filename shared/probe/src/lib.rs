//! The health-check prober: [`NetProber`] implements `fleetwatch_health_check::Prober` over
//! reqwest (rustls) for HTTP(S) and tokio for TCP connects.
//!
//! - **HTTP(S)**: method, headers (sent as sensitive header values), basic auth, body, one
//!   timeout for the whole exchange (connect, TLS, redirects, headers, body), at most
//!   `max_redirects` redirects, at most `max_body_bytes` of body read. A fresh connection per
//!   request (no pool): a health check must see a server that stopped accepting connections.
//!   No proxy from the environment: checks reach their services directly.
//! - **TLS**: the server's leaf certificate's `notAfter` after the handshake (reqwest's
//!   `tls_info`, read by [`certificate_not_after`]). Certificates are verified against the
//!   platform's roots (rustls-platform-verifier) plus any given to
//!   [`NetProber::with_root_certificates`] (an internal CA).
//! - **TCP**: resolve, then connect to each address in turn until one accepts.
//!
//! Failures become `fleetwatch_health::ProbeError`s: connection refused (with the address),
//! DNS (with the resolver's reason), timeout, TLS (rustls' reason), too many redirects, or
//! other. Their text never holds a URL (reqwest's errors carry one: its query may hold a key),
//! a header value or a credential.

mod der;

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use fleetwatch_health::{HttpObservation, ProbeError, TcpConnect, TcpObservation};
use fleetwatch_health_check::{HttpCall, Prober};
use reqwest::header::{HeaderName, HeaderValue};

pub use der::certificate_not_after;

const USER_AGENT: &str = concat!("fleetwatch-health-check/", env!("CARGO_PKG_VERSION"));

/// Why the prober could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("reading the extra root certificates (PEM)")]
    Certificates(#[source] reqwest::Error),
    #[error("building the HTTP client")]
    Client(#[source] reqwest::Error),
}

/// HTTP(S) and TCP probes over the network.
#[derive(Debug)]
pub struct NetProber {
    roots: Vec<reqwest::Certificate>,
    /// One client per redirect limit (the limit is a client setting in reqwest).
    clients: Mutex<HashMap<u32, reqwest::Client>>,
}

impl NetProber {
    /// Certificates verified against the platform's roots.
    pub fn new() -> Result<Self, BuildError> {
        Self::build(Vec::new())
    }

    /// Also trusts the certificates of this PEM bundle (an internal CA).
    pub fn with_root_certificates(pem_bundle: &[u8]) -> Result<Self, BuildError> {
        let roots =
            reqwest::Certificate::from_pem_bundle(pem_bundle).map_err(BuildError::Certificates)?;
        Self::build(roots)
    }

    fn build(roots: Vec<reqwest::Certificate>) -> Result<Self, BuildError> {
        let prober = NetProber {
            roots,
            clients: Mutex::new(HashMap::new()),
        };
        // The usual limit, built now so that a broken TLS setup fails at cold start.
        let client = prober.new_client(fleetwatch_health::MAX_REDIRECTS)?;
        prober
            .lock()
            .insert(fleetwatch_health::MAX_REDIRECTS, client);
        Ok(prober)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u32, reqwest::Client>> {
        self.clients.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn new_client(&self, max_redirects: u32) -> Result<reqwest::Client, BuildError> {
        reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .redirect(reqwest::redirect::Policy::limited(
                usize::try_from(max_redirects).unwrap_or(usize::MAX),
            ))
            .tls_info(true)
            .tls_certs_merge(self.roots.iter().cloned())
            .no_proxy()
            .pool_max_idle_per_host(0)
            .build()
            .map_err(BuildError::Client)
    }

    fn client(&self, max_redirects: u32) -> Result<reqwest::Client, ProbeError> {
        if let Some(client) = self.lock().get(&max_redirects) {
            return Ok(client.clone());
        }
        let client = self
            .new_client(max_redirects)
            .map_err(|error| ProbeError::Other {
                detail: format!("could not build the HTTP client: {}", chain(&error)),
            })?;
        self.lock().insert(max_redirects, client.clone());
        Ok(client)
    }
}

impl Prober for NetProber {
    async fn http(&self, call: &HttpCall) -> Result<HttpObservation, ProbeError> {
        let client = self.client(call.max_redirects)?;
        let request = build_request(&client, call)?;
        let started = Instant::now();
        let exchange = async {
            let mut response = client
                .execute(request)
                .await
                .map_err(|error| classify(error, call))?;
            let status = response.status().as_u16();
            let headers = response
                .headers()
                .iter()
                .map(|(name, value)| {
                    (
                        name.as_str().to_owned(),
                        String::from_utf8_lossy(value.as_bytes()).into_owned(),
                    )
                })
                .collect();
            let tls_cert_not_after = response
                .extensions()
                .get::<reqwest::tls::TlsInfo>()
                .and_then(|info| info.peer_certificate())
                .and_then(certificate_not_after);
            let mut body = Vec::new();
            let mut body_truncated = false;
            while let Some(chunk) = response.chunk().await.map_err(|e| classify(e, call))? {
                let room = call.max_body_bytes.saturating_sub(body.len());
                if chunk.len() > room {
                    body.extend_from_slice(&chunk[..room]);
                    body_truncated = true;
                    break;
                }
                body.extend_from_slice(&chunk);
            }
            Ok(HttpObservation {
                status,
                headers,
                body,
                body_truncated,
                latency: started.elapsed(),
                tls_cert_not_after,
            })
        };
        // reqwest's own timeout covers the exchange; this one also covers a body that trickles.
        tokio::time::timeout(call.timeout, exchange)
            .await
            .unwrap_or(Err(ProbeError::Timeout {
                after: call.timeout,
            }))
    }

    async fn tcp(&self, connect: &TcpConnect) -> Result<TcpObservation, ProbeError> {
        let started = Instant::now();
        let address = tcp_address(&connect.host, connect.port);
        let attempt = async {
            let resolved = tokio::net::lookup_host((connect.host.as_str(), connect.port))
                .await
                .map_err(|error| ProbeError::Dns {
                    host: connect.host.clone(),
                    detail: error.to_string(),
                })?;
            let mut last = None;
            for peer in resolved {
                match tokio::net::TcpStream::connect(peer).await {
                    Ok(_stream) => {
                        return Ok(TcpObservation {
                            latency: started.elapsed(),
                        });
                    }
                    Err(error) => last = Some(error),
                }
            }
            Err(match last {
                None => ProbeError::Dns {
                    host: connect.host.clone(),
                    detail: "no addresses".to_owned(),
                },
                Some(error) if error.kind() == std::io::ErrorKind::ConnectionRefused => {
                    ProbeError::ConnectionRefused {
                        address: address.clone(),
                    }
                }
                Some(error) => ProbeError::Other {
                    detail: format!("connecting to {address}: {error}"),
                },
            })
        };
        tokio::time::timeout(connect.timeout, attempt)
            .await
            .unwrap_or(Err(ProbeError::Timeout {
                after: connect.timeout,
            }))
    }
}

fn build_request(
    client: &reqwest::Client,
    call: &HttpCall,
) -> Result<reqwest::Request, ProbeError> {
    let method =
        reqwest::Method::from_bytes(call.method.as_bytes()).map_err(|_| ProbeError::Other {
            detail: format!("invalid HTTP method {:?}", call.method),
        })?;
    let url = reqwest::Url::parse(&call.url).map_err(|error| ProbeError::Other {
        detail: format!("invalid URL ({error})"),
    })?;
    let mut builder = client.request(method, url).timeout(call.timeout);
    for (name, value) in &call.headers {
        let header = HeaderName::from_bytes(name.as_bytes()).map_err(|_| ProbeError::Other {
            detail: format!("invalid header name {name:?}"),
        })?;
        // The value is never quoted: it may be a token.
        let mut value = HeaderValue::from_str(value.expose()).map_err(|_| ProbeError::Other {
            detail: format!("the value of header {name} is not a valid HTTP header value"),
        })?;
        value.set_sensitive(true);
        builder = builder.header(header, value);
    }
    if let Some((user, password)) = &call.basic_auth {
        builder = builder.basic_auth(user.expose(), Some(password.expose()));
    }
    if let Some(body) = &call.body {
        builder = builder.body(body.clone());
    }
    builder.build().map_err(|error| ProbeError::Other {
        detail: format!(
            "could not build the request: {}",
            scrub(&chain(&error.without_url()), call)
        ),
    })
}

/// reqwest's failure as the reason people read.
fn classify(error: reqwest::Error, call: &HttpCall) -> ProbeError {
    // The URL that failed (after redirects), for the host and port; never shown whole.
    let failed_url = error.url().cloned();
    let error = error.without_url();
    if error.is_timeout() {
        return ProbeError::Timeout {
            after: call.timeout,
        };
    }
    if error.is_redirect() {
        return ProbeError::TooManyRedirects {
            limit: call.max_redirects,
        };
    }
    let url = failed_url.or_else(|| reqwest::Url::parse(&call.url).ok());
    let host = url
        .as_ref()
        .and_then(|url| url.host_str().map(str::to_owned))
        .unwrap_or_default();
    let sources = || causes(&error);
    if error.is_connect() {
        let text = chain(&error);
        if error.is_dns() || text.contains("dns error") {
            let detail = sources()
                .last()
                .map(|root| root.to_string())
                .unwrap_or_else(|| "no such host".to_owned());
            return ProbeError::Dns {
                host,
                detail: scrub(&detail, call),
            };
        }
        let refused = sources().any(|e| {
            e.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::ConnectionRefused)
        });
        if refused {
            let port = url.as_ref().and_then(reqwest::Url::port_or_known_default);
            return ProbeError::ConnectionRefused {
                address: match port {
                    Some(port) => tcp_address(&host, port),
                    None => host,
                },
            };
        }
    }
    if let Some(tls) = sources().find_map(tls_error) {
        return ProbeError::Tls {
            detail: scrub(&tls, call),
        };
    }
    ProbeError::Other {
        detail: scrub(&chain(&error), call),
    }
}

/// The causes of an error, outermost first.
fn causes<'a>(
    error: &'a (dyn std::error::Error + 'static),
) -> impl Iterator<Item = &'a (dyn std::error::Error + 'static)> {
    std::iter::successors(error.source(), |e| e.source())
}

/// rustls' error, wherever it sits in the chain (often inside an `io::Error`), or a message
/// in the words rustls uses (a layer between may have boxed it as another type).
fn tls_error(error: &(dyn std::error::Error + 'static)) -> Option<String> {
    if let Some(tls) = error.downcast_ref::<rustls::Error>() {
        return Some(tls.to_string());
    }
    if let Some(tls) = error
        .downcast_ref::<std::io::Error>()
        .and_then(|io| io.get_ref())
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    {
        return Some(tls.to_string());
    }
    const RUSTLS_WORDS: [&str; 6] = [
        "invalid peer certificate",
        "peer is incompatible",
        "peer misbehaved",
        "received fatal alert",
        "received corrupt message",
        "peer sent no certificates",
    ];
    let message = error.to_string();
    RUSTLS_WORDS
        .iter()
        .any(|words| message.starts_with(words))
        .then_some(message)
}

/// The error and its causes on one line, repeats left out.
fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut messages: Vec<String> = Vec::new();
    let mut current = Some(error);
    while let Some(error) = current {
        let message = error.to_string();
        if !message.is_empty() && !messages.last().is_some_and(|last| last.ends_with(&message)) {
            messages.push(message);
        }
        current = error.source();
    }
    messages.join(": ")
}

/// Removes what must never be shown from an error's text: the request's URL query, header
/// values and credentials (in case a layer below quoted them).
fn scrub(text: &str, call: &HttpCall) -> String {
    let mut text = text.to_owned();
    let mut secrets: Vec<&str> = call
        .headers
        .iter()
        .map(|(_, value)| value.expose())
        .collect();
    if let Some((user, password)) = &call.basic_auth {
        secrets.extend([user.expose(), password.expose()]);
    }
    if let Some(start) = call.url.find('?') {
        secrets.push(&call.url[start..]);
    }
    for secret in secrets.into_iter().filter(|s| s.len() >= 4) {
        text = text.replace(secret, "[redacted]");
    }
    text
}

/// `host:port`, with brackets around an IPv6 address.
fn tcp_address(host: &str, port: u16) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fleetwatch_ports::Secret;
    use std::time::Duration;

    fn call(url: &str) -> HttpCall {
        HttpCall {
            method: "GET".into(),
            url: url.into(),
            headers: vec![("X-Api-Key".into(), Secret::new("k3y-v4lue-123"))],
            basic_auth: Some((Secret::new("monitor"), Secret::new("jenkins-token-abc"))),
            body: None,
            timeout: Duration::from_secs(2),
            max_body_bytes: 1024,
            max_redirects: 10,
        }
    }

    #[test]
    fn scrubbing_removes_queries_header_values_and_credentials() {
        let call = call("http://svc.internal/health?api_key=q-secret");
        let text = "failed GET http://svc.internal/health?api_key=q-secret with k3y-v4lue-123 as monitor:jenkins-token-abc";
        assert_eq!(
            scrub(text, &call),
            "failed GET http://svc.internal/health[redacted] with [redacted] as [redacted]:[redacted]"
        );
    }

    #[test]
    fn addresses_bracket_ipv6() {
        assert_eq!(tcp_address("::1", 80), "[::1]:80");
        assert_eq!(tcp_address("db.internal", 5432), "db.internal:5432");
    }

    #[tokio::test]
    async fn an_invalid_header_value_is_refused_without_quoting_it() {
        let prober = NetProber::new().unwrap();
        let mut call = call("http://127.0.0.1:9/");
        call.headers = vec![("X-Token".into(), Secret::new("line\nbreak-secret"))];
        let error = prober.http(&call).await.unwrap_err();
        assert_eq!(
            error.to_string(),
            "the value of header X-Token is not a valid HTTP header value"
        );
    }

    #[tokio::test]
    async fn refused_and_unresolvable_tcp_say_so() {
        let prober = NetProber::new().unwrap();
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let refused = prober
            .tcp(&TcpConnect {
                host: "127.0.0.1".into(),
                port,
                timeout: Duration::from_secs(2),
            })
            .await
            .unwrap_err();
        assert_eq!(
            refused,
            ProbeError::ConnectionRefused {
                address: format!("127.0.0.1:{port}")
            }
        );
        let dns = prober
            .tcp(&TcpConnect {
                host: "nowhere.invalid".into(),
                port: 80,
                timeout: Duration::from_secs(5),
            })
            .await
            .unwrap_err();
        assert!(
            matches!(&dns, ProbeError::Dns { host, .. } if host == "nowhere.invalid"),
            "{dns:?}"
        );
    }
}
