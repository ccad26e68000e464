//! Indexing documents into OpenSearch / Elasticsearch with `_bulk`, and the alb-logs job's
//! document sink over it ([`BulkSink`]).
//!
//! - Batches by bytes and by count.
//! - Every document carries a caller-chosen deterministic `_id`, so a retried input creates no
//!   duplicates: with `create` (data streams) a second write answers 409, counted as already
//!   indexed; with `index` it overwrites the same document.
//! - Retries with exponential backoff (waits on the injected clock) only what failed
//!   transiently: the whole request on a transport error, 429 or 5xx, and within a response only
//!   the items that failed with 429 or 5xx. Items that failed for good (mapping errors, ...) are
//!   returned as dead letters with their reason and document, never retried and never silently
//!   dropped.
//! - Authenticates with HTTP basic auth (self-managed Elasticsearch / OpenSearch) or SigV4
//!   (Amazon OpenSearch Service, Serverless).

mod bulk;
mod response;
mod sigv4;
mod sink;

pub use bulk::{Auth, BulkConfig, BulkError, BulkIndexer, BulkOp, BulkReport, DeadLetter};
pub use sigv4::SigV4Auth;
pub use sink::BulkSink;
