use std::time::Duration;

use fleetwatch_ports::{BoxError, Secret, SharedClock};
use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, RETRY_AFTER};
use serde_json::json;

use crate::response::{BulkResponse, ItemResult};
use crate::sigv4::SigV4Auth;

/// `create` for data streams (a duplicate id is refused with 409), `index` for plain indices (a
/// duplicate id overwrites).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BulkOp {
    Create,
    Index,
}

impl BulkOp {
    fn as_str(self) -> &'static str {
        match self {
            BulkOp::Create => "create",
            BulkOp::Index => "index",
        }
    }
}

#[derive(Clone, Debug)]
pub enum Auth {
    None,
    Basic { user: String, password: Secret },
    SigV4(SigV4Auth),
}

#[derive(Clone, Debug)]
pub struct BulkConfig {
    /// Base URL of the cluster, e.g. `https://search-logs.eu-west-1.es.amazonaws.com`.
    pub endpoint: String,
    /// Index, alias or data stream name.
    pub index: String,
    pub op: BulkOp,
    /// Flush when the request body reaches this size. OpenSearch Service refuses bodies over
    /// 10 MiB on its smallest instance types.
    pub max_batch_bytes: usize,
    pub max_batch_docs: usize,
    /// Attempts per batch, the first included.
    pub max_attempts: u32,
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    pub request_timeout: Duration,
}

impl BulkConfig {
    pub fn new(endpoint: impl Into<String>, index: impl Into<String>, op: BulkOp) -> Self {
        Self {
            endpoint: endpoint.into(),
            index: index.into(),
            op,
            max_batch_bytes: 5 * 1024 * 1024,
            max_batch_docs: 5_000,
            max_attempts: 6,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
        }
    }
}

/// A document the cluster refused for good (not retried).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeadLetter {
    pub id: String,
    pub status: u16,
    pub reason: String,
    pub document: Vec<u8>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BulkReport {
    /// Created or (with `index`) written.
    pub indexed: u64,
    /// `create` answered 409: an earlier attempt already indexed the document.
    pub already_indexed: u64,
    pub dead_letters: Vec<DeadLetter>,
    pub requests: u64,
    pub retried_items: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum BulkError {
    /// Still failing transiently after every attempt; safe to retry the whole input later
    /// because document ids are deterministic.
    #[error("bulk indexing still failing after {attempts} attempts ({pending} documents)")]
    RetriesExhausted {
        attempts: u32,
        pending: usize,
        #[source]
        last: BoxError,
    },
    /// The cluster refused the request itself (authentication, permissions, a bad index name).
    #[error("bulk request refused with HTTP {status}: {body}")]
    Refused { status: u16, body: String },
    #[error("bulk client")]
    Client(#[source] BoxError),
}

/// Where one pending document sits in the request body (its action line and source line).
struct Pending {
    id: String,
    start: usize,
    end: usize,
}

/// Buffers documents and sends them in `_bulk` requests; call [`BulkIndexer::finish`] at the end.
pub struct BulkIndexer {
    http: reqwest::Client,
    config: BulkConfig,
    auth: Auth,
    clock: SharedClock,
    url: String,
    body: Vec<u8>,
    pending: Vec<Pending>,
    report: BulkReport,
}

impl BulkIndexer {
    pub fn new(config: BulkConfig, auth: Auth, clock: SharedClock) -> Result<Self, BulkError> {
        let http = Self::http_client(&config)?;
        Ok(Self::with_client(http, config, auth, clock))
    }

    /// An HTTP client configured for `config`; share it between indexers to reuse connections.
    pub fn http_client(config: &BulkConfig) -> Result<reqwest::Client, BulkError> {
        reqwest::Client::builder()
            .timeout(config.request_timeout)
            .build()
            .map_err(|e| BulkError::Client(Box::new(e)))
    }

    /// Backoff waits are the clock's.
    pub fn with_client(
        http: reqwest::Client,
        config: BulkConfig,
        auth: Auth,
        clock: SharedClock,
    ) -> Self {
        let url = format!("{}/_bulk", config.endpoint.trim_end_matches('/'));
        Self {
            http,
            url,
            body: Vec::with_capacity(config.max_batch_bytes + 64 * 1024),
            pending: Vec::new(),
            report: BulkReport::default(),
            config,
            auth,
            clock,
        }
    }

    /// Queues one document (a single-line JSON object) under `id`; sends a batch when full.
    pub async fn add(&mut self, id: &str, document: &[u8]) -> Result<(), BulkError> {
        let start = self.body.len();
        let action = json!({ self.config.op.as_str(): { "_index": self.config.index, "_id": id } });
        serde_json::to_writer(&mut self.body, &action).expect("writing JSON to a Vec");
        self.body.push(b'\n');
        self.body.extend_from_slice(document);
        self.body.push(b'\n');
        self.pending.push(Pending {
            id: id.to_string(),
            start,
            end: self.body.len(),
        });
        if self.pending.len() >= self.config.max_batch_docs
            || self.body.len() >= self.config.max_batch_bytes
        {
            self.send_batch().await?;
        }
        Ok(())
    }

    /// Sends what is buffered and returns the totals.
    pub async fn finish(mut self) -> Result<BulkReport, BulkError> {
        self.send_batch().await?;
        Ok(self.report)
    }

    /// What has been sent so far.
    pub fn report(&self) -> &BulkReport {
        &self.report
    }

    async fn send_batch(&mut self) -> Result<(), BulkError> {
        let mut attempt = 0;
        let mut backoff = self.config.initial_backoff;
        while !self.pending.is_empty() {
            attempt += 1;
            let outcome = self.send_once().await;
            let (retry_after, reason) = match outcome {
                Ok(items) => match self.settle(items) {
                    None => break,
                    Some(reason) => (None, reason),
                },
                Err(Attempt::Transient {
                    reason,
                    retry_after,
                }) => (retry_after, reason),
                Err(Attempt::Fatal(error)) => return Err(error),
            };
            if attempt >= self.config.max_attempts {
                return Err(BulkError::RetriesExhausted {
                    attempts: attempt,
                    pending: self.pending.len(),
                    last: reason,
                });
            }
            self.report.retried_items += self.pending.len() as u64;
            let wait = retry_after.unwrap_or(backoff).min(self.config.max_backoff);
            tracing::warn!(
                attempt,
                pending = self.pending.len(),
                wait_ms = wait.as_millis() as u64,
                reason = %fleetwatch_ports::ErrorChain(reason.as_ref()),
                "bulk indexing: retrying"
            );
            self.clock.sleep(wait).await;
            backoff = (backoff * 2).min(self.config.max_backoff);
        }
        self.body.clear();
        self.pending.clear();
        Ok(())
    }

    async fn send_once(&mut self) -> Result<Vec<ItemResult>, Attempt> {
        self.report.requests += 1;
        let mut request = self
            .http
            .post(&self.url)
            .header(CONTENT_TYPE, "application/x-ndjson")
            .body(self.body.clone());
        if let Auth::Basic { user, password } = &self.auth {
            request = request.basic_auth(user, Some(password.expose()));
        }
        let mut request = request
            .build()
            .map_err(|e| Attempt::Fatal(BulkError::Client(Box::new(e))))?;
        if let Auth::SigV4(signer) = &self.auth {
            signer
                .sign(&mut request)
                .await
                .map_err(|reason| Attempt::Transient {
                    reason,
                    retry_after: None,
                })?;
        }
        let response = self
            .http
            .execute(request)
            .await
            .map_err(|e| Attempt::Transient {
                // reqwest's Display includes the URL, never the Authorization header.
                reason: Box::new(e),
                retry_after: None,
            })?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let text = response.text().await.map_err(|e| Attempt::Transient {
            reason: Box::new(e),
            retry_after: None,
        })?;
        if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
            return Err(Attempt::Transient {
                reason: format!("HTTP {}: {}", status.as_u16(), excerpt(&text)).into(),
                retry_after,
            });
        }
        if !status.is_success() {
            return Err(Attempt::Fatal(BulkError::Refused {
                status: status.as_u16(),
                body: excerpt(&text),
            }));
        }
        let parsed: BulkResponse = serde_json::from_str(&text).map_err(|e| Attempt::Transient {
            reason: Box::new(UnreadableResponse(e)),
            retry_after: None,
        })?;
        if parsed.items.len() != self.pending.len() {
            return Err(Attempt::Transient {
                reason: format!(
                    "bulk response has {} items for {} documents",
                    parsed.items.len(),
                    self.pending.len()
                )
                .into(),
                retry_after: None,
            });
        }
        if !parsed.errors {
            return Ok(vec![
                ItemResult {
                    status: 200,
                    error: None
                };
                self.pending.len()
            ]);
        }
        Ok(parsed.items.iter().map(ItemResult::from_item).collect())
    }

    /// Books each item's outcome; keeps only the transiently failed documents pending (and
    /// rebuilds the body from them). Returns the reason to retry, or `None` when nothing is left.
    fn settle(&mut self, items: Vec<ItemResult>) -> Option<BoxError> {
        let mut retry = Vec::new();
        let mut retry_body = Vec::new();
        let mut reason = None;
        for (pending, item) in std::mem::take(&mut self.pending).into_iter().zip(items) {
            if item.is_success() {
                self.report.indexed += 1;
            } else if item.status == 409 && self.config.op == BulkOp::Create {
                self.report.already_indexed += 1;
            } else if item.is_transient() {
                reason.get_or_insert_with(|| {
                    format!(
                        "item HTTP {}: {}",
                        item.status,
                        item.error.clone().unwrap_or_default()
                    )
                    .into()
                });
                let start = retry_body.len();
                retry_body.extend_from_slice(&self.body[pending.start..pending.end]);
                retry.push(Pending {
                    id: pending.id,
                    start,
                    end: retry_body.len(),
                });
            } else {
                let document_line = &self.body[pending.start..pending.end];
                let document = document_line
                    .split(|&b| b == b'\n')
                    .nth(1)
                    .unwrap_or_default()
                    .to_vec();
                self.report.dead_letters.push(DeadLetter {
                    id: pending.id,
                    status: item.status,
                    reason: item.error.unwrap_or_else(|| "no reason given".into()),
                    document,
                });
            }
        }
        self.pending = retry;
        self.body = retry_body;
        reason
    }
}

enum Attempt {
    Transient {
        reason: BoxError,
        retry_after: Option<Duration>,
    },
    Fatal(BulkError),
}

#[derive(Debug, thiserror::Error)]
#[error("unreadable bulk response")]
struct UnreadableResponse(#[source] serde_json::Error);

fn excerpt(text: &str) -> String {
    const LIMIT: usize = 500;
    match text.char_indices().nth(LIMIT) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text.to_string(),
    }
}
