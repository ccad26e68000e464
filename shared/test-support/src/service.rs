//! A service to health-check: an HTTP or HTTPS server on a free loopback port whose answers a
//! test flips while it runs (healthy, failing, slow, a wrong body, a redirect loop), and which
//! records every request it received (method, path with query, headers).
//!
//! [`ServiceFake`] runs on its own thread and tokio runtime, like the Slack fake, so it serves a
//! `current_thread` test, a `multi_thread` one, or plain synchronous code (the CLI's tests).
//! HTTPS uses a [`TestCertificate`] made by rcgen: self-signed for `127.0.0.1` and `localhost`,
//! with the `notAfter` the test chooses (about to expire, or already expired).
//!
//! Answers are set per path (the query is ignored for matching): [`Answer::ok`],
//! [`Answer::status`], [`Answer::json`], `.slow(delay)`, [`Answer::redirect`]. A path without an
//! answer gets 404.

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;

/// What a path answers.
#[derive(Clone, Debug)]
pub struct Answer {
    pub status: u16,
    pub body: String,
    pub content_type: &'static str,
    /// Waited before answering (a slow service).
    pub delay: Duration,
    /// A `Location` header (with a 302 status).
    pub location: Option<String>,
}

impl Answer {
    /// 200 with this text.
    pub fn ok(body: &str) -> Answer {
        Answer::status(200, body)
    }

    pub fn status(status: u16, body: &str) -> Answer {
        Answer {
            status,
            body: body.to_owned(),
            content_type: "text/plain; charset=utf-8",
            delay: Duration::ZERO,
            location: None,
        }
    }

    /// 200 with this JSON text.
    pub fn json(body: &str) -> Answer {
        Answer {
            content_type: "application/json",
            ..Answer::ok(body)
        }
    }

    /// 302 to `location` (a path of this server redirecting to itself is a loop).
    pub fn redirect(location: &str) -> Answer {
        Answer {
            location: Some(location.to_owned()),
            ..Answer::status(302, "")
        }
    }

    /// The same answer after `delay`.
    pub fn slow(self, delay: Duration) -> Answer {
        Answer { delay, ..self }
    }
}

/// A request the service received.
#[derive(Clone, Debug)]
pub struct Received {
    pub method: String,
    /// Path and query, as sent.
    pub target: String,
    pub headers: Vec<(String, String)>,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Default)]
struct Shared {
    answers: Mutex<HashMap<String, Answer>>,
    received: Mutex<Vec<Received>>,
}

/// A self-signed certificate and its key, for `127.0.0.1` and `localhost`.
#[derive(Clone)]
pub struct TestCertificate {
    /// The certificate in PEM: what a client trusts as its root.
    pub pem: String,
    der: Vec<u8>,
    key_der: Vec<u8>,
    /// `notAfter`, seconds since the epoch.
    pub not_after: u64,
}

impl TestCertificate {
    /// Valid from an hour ago until `not_after` (rounded down to the second).
    pub fn self_signed(not_after: SystemTime) -> TestCertificate {
        let epoch = |time: SystemTime| {
            time.duration_since(UNIX_EPOCH)
                .unwrap_or_default()
                .as_secs()
        };
        let not_after = epoch(not_after);
        let key = rcgen::KeyPair::generate().expect("generating a key");
        let mut params =
            rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
                .expect("valid names");
        let start = rcgen::date_time_ymd(1970, 1, 1);
        params.not_before =
            start + Duration::from_secs(epoch(SystemTime::now()).saturating_sub(3600));
        params.not_after = start + Duration::from_secs(not_after);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "fleetwatch test service");
        let certificate = params.self_signed(&key).expect("signing the certificate");
        TestCertificate {
            pem: certificate.pem(),
            der: certificate.der().to_vec(),
            key_der: key.serialize_der(),
            not_after,
        }
    }

    fn acceptor(&self) -> io::Result<TlsAcceptor> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(io::Error::other)?
            .with_no_client_auth()
            .with_single_cert(
                vec![self.der.clone().into()],
                rustls::pki_types::PrivateKeyDer::Pkcs8(self.key_der.clone().into()),
            )
            .map_err(io::Error::other)?;
        Ok(TlsAcceptor::from(Arc::new(config)))
    }
}

/// The service; dropping it stops the server and frees the port.
pub struct ServiceFake {
    shared: Arc<Shared>,
    base_url: String,
    stop: Option<watch::Sender<bool>>,
    thread: Option<JoinHandle<()>>,
}

impl ServiceFake {
    /// Plain HTTP on `127.0.0.1`.
    pub fn start() -> ServiceFake {
        Self::spawn(None).expect("starting the service fake")
    }

    /// HTTPS on `127.0.0.1` with this certificate.
    pub fn start_https(certificate: &TestCertificate) -> ServiceFake {
        let acceptor = certificate.acceptor().expect("a TLS configuration");
        Self::spawn(Some(acceptor)).expect("starting the HTTPS service fake")
    }

    /// `http://127.0.0.1:<port>` (or `https://`), no trailing slash.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The base URL and `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// What `path` answers from now on.
    pub fn set(&self, path: &str, answer: Answer) {
        self.shared
            .answers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(path.to_owned(), answer);
    }

    /// Every request received so far.
    pub fn received(&self) -> Vec<Received> {
        self.shared
            .received
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn spawn(tls: Option<TlsAcceptor>) -> io::Result<ServiceFake> {
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        std_listener.set_nonblocking(true)?;
        let addr = std_listener.local_addr()?;
        let scheme = if tls.is_some() { "https" } else { "http" };
        let shared = Arc::new(Shared::default());
        let app = Router::new().fallback(answer).with_state(shared.clone());
        let (stop_tx, stop_rx) = watch::channel(false);
        let (ready_tx, ready_rx) = mpsc::channel::<io::Result<()>>();
        let thread = std::thread::Builder::new()
            .name(format!("service-fake-{}", addr.port()))
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => runtime,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                runtime.block_on(async move {
                    let listener = match tokio::net::TcpListener::from_std(std_listener) {
                        Ok(listener) => listener,
                        Err(e) => {
                            let _ = ready_tx.send(Err(e));
                            return;
                        }
                    };
                    let _ = ready_tx.send(Ok(()));
                    let mut stop = stop_rx;
                    let stopped = async move {
                        let _ = stop.wait_for(|stop| *stop).await;
                    };
                    // Slow answers are not waited for: the server stops at once.
                    match tls {
                        None => {
                            tokio::select! {
                                _ = axum::serve(listener, app).into_future() => {}
                                () = stopped => {}
                            }
                        }
                        Some(acceptor) => {
                            let listener = TlsListener {
                                tcp: listener,
                                acceptor,
                            };
                            tokio::select! {
                                _ = axum::serve(listener, app).into_future() => {}
                                () = stopped => {}
                            }
                        }
                    }
                });
                runtime.shutdown_timeout(Duration::from_millis(100));
            })?;
        match ready_rx.recv() {
            Ok(Ok(())) => Ok(ServiceFake {
                shared,
                base_url: format!("{scheme}://{addr}"),
                stop: Some(stop_tx),
                thread: Some(thread),
            }),
            Ok(Err(e)) => {
                let _ = thread.join();
                Err(e)
            }
            Err(_) => {
                let _ = thread.join();
                Err(io::Error::other(
                    "service fake thread exited before it was ready",
                ))
            }
        }
    }
}

impl Drop for ServiceFake {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(true);
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A free loopback port with nothing listening on it (bound, then released).
pub fn refused_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binding a port");
    listener.local_addr().expect("a local address").port()
}

async fn answer(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    _body: Bytes,
) -> Response {
    shared
        .received
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(Received {
            method: method.to_string(),
            target: uri
                .path_and_query()
                .map_or_else(|| uri.path().to_owned(), ToString::to_string),
            headers: headers
                .iter()
                .map(|(name, value)| {
                    (
                        name.to_string(),
                        String::from_utf8_lossy(value.as_bytes()).into_owned(),
                    )
                })
                .collect(),
        });
    let answer = shared
        .answers
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(uri.path())
        .cloned();
    let Some(answer) = answer else {
        return (StatusCode::NOT_FOUND, "no answer set for this path").into_response();
    };
    if !answer.delay.is_zero() {
        tokio::time::sleep(answer.delay).await;
    }
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (
        status,
        [(header::CONTENT_TYPE, answer.content_type)],
        answer.body,
    )
        .into_response();
    if let Some(location) = answer.location
        && let Ok(value) = location.parse()
    {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

/// TLS on accepted connections; a failed or stalled handshake (a client that does not trust
/// the certificate) is dropped and the next connection accepted.
struct TlsListener {
    tcp: tokio::net::TcpListener,
    acceptor: TlsAcceptor,
}

impl axum::serve::Listener for TlsListener {
    type Io = tokio_rustls::server::TlsStream<tokio::net::TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((stream, addr)) = self.tcp.accept().await else {
                continue;
            };
            let handshake = self.acceptor.accept(stream);
            if let Ok(Ok(tls)) = tokio::time::timeout(Duration::from_secs(5), handshake).await {
                return (tls, addr);
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}
