//! The alb-logs job's document sink over `_bulk`: one indexer per object.

use fleetwatch_alb_logs::{
    DocumentSession, DocumentSink, RefusedDocument, SearchReport, SinkError,
};
use fleetwatch_ports::{Fault, SharedClock};

use crate::bulk::{Auth, BulkConfig, BulkError, BulkIndexer};

/// Opens a [`BulkIndexer`] per object, sharing one HTTP client (and its connections).
#[derive(Clone, Debug)]
pub struct BulkSink {
    http: reqwest::Client,
    config: BulkConfig,
    auth: Auth,
    clock: SharedClock,
}

impl BulkSink {
    pub fn new(config: BulkConfig, auth: Auth, clock: SharedClock) -> Result<Self, BulkError> {
        Ok(Self {
            http: BulkIndexer::http_client(&config)?,
            config,
            auth,
            clock,
        })
    }
}

impl DocumentSink for BulkSink {
    type Session = BulkIndexer;

    fn open(&self) -> Result<BulkIndexer, SinkError> {
        Ok(BulkIndexer::with_client(
            self.http.clone(),
            self.config.clone(),
            self.auth.clone(),
            self.clock.clone(),
        ))
    }
}

impl DocumentSession for BulkIndexer {
    async fn add(&mut self, id: &str, document: &[u8]) -> Result<(), SinkError> {
        BulkIndexer::add(self, id, document)
            .await
            .map_err(sink_error)
    }

    async fn finish(self) -> Result<SearchReport, SinkError> {
        let report = BulkIndexer::finish(self).await.map_err(sink_error)?;
        Ok(SearchReport {
            indexed: report.indexed,
            already_indexed: report.already_indexed,
            refused: report
                .dead_letters
                .into_iter()
                .map(|letter| RefusedDocument {
                    id: letter.id,
                    status: letter.status,
                    reason: letter.reason,
                    document: letter.document,
                })
                .collect(),
        })
    }
}

/// Still failing after the retries: the object is retried later. A refused request
/// (authentication, a bad index) is retried too, but will not heal by itself.
fn sink_error(error: BulkError) -> SinkError {
    let fault = match error {
        BulkError::RetriesExhausted { .. } => Fault::transient(error),
        BulkError::Refused { .. } | BulkError::Client(_) => Fault::permanent(error),
    };
    SinkError::Index(fault)
}
