//! The alb-logs function's job, shared by the Lambda and the `fleetwatch` CLI:
//! S3 object -> multi-member gunzip -> lines -> parse -> encode -> sinks, with per-object
//! statistics and threshold alerts folded from the same pass.
//!
//! No AWS SDK here: the job reads through its own ports, [`ObjectSource`] (log objects),
//! [`DocumentSink`] (search documents) and [`OutputStore`] (table output, dead letters), and
//! publishes through the shared [`fleetwatch_ports::MessageQueue`]. Local and in-memory adapters
//! are here; S3 is in `fleetwatch-aws`, `_bulk` in `fleetwatch-search`; `functions/alb-logs`
//! wires them.

mod config;
mod envelope;
mod handler;
mod ids;
mod inflate;
mod keys;
mod lines;
mod metrics;
mod object;
mod outputs;
mod parquet;
mod pass;
mod sinks;
mod source;
mod stats;
mod store;
mod thresholds;

pub use config::{
    AlbLogsConfig, ConfigError, SearchAuth, SearchConfig, SearchOperation, TableConfig,
};
pub use envelope::{
    BatchJob, BatchTask, EnvelopeError, ObjectRef, SqsItem, Trigger, decode_notification,
    decode_trigger,
};
pub use handler::{Handler, HandlerError};
pub use inflate::{Damage, DamageKind};
pub use lines::{Line, LineTotals, LogReader, MAX_LINE, for_each_line};
pub use metrics::NAMESPACE;
pub use object::{ObjectFailure, ObjectReport, Pipeline, Skipped};
pub use outputs::TableFormat;
pub use pass::PassConfig;
pub use sinks::{
    DocumentSession, DocumentSink, MemoryDocuments, NdjsonFile, RefusedDocument, SearchReport,
    SinkError,
};
pub use source::{
    LocalObjectSource, MemoryObjectSource, ObjectBody, ObjectError, ObjectSource, READ_BUFFER,
};
pub use stats::{Count, LatencySummary, Stats, StatsReport};
pub use store::{LocalStore, MemoryStore, OutputStore, StoreError};
pub use thresholds::{ObjectContext, Thresholds, evaluate as evaluate_thresholds};

/// The environment variables the function reads (set by `template.yaml`).
pub mod env {
    pub use crate::config::{
        ALERT_5XX_RATIO, ALERT_ELB_5XX_COUNT, ALERT_MIN_REQUESTS, ALERT_P99_SECONDS,
        ALERTS_QUEUE_URL, ERRORS_BUCKET, ERRORS_PREFIX, OUTPUT_BUCKET, OUTPUT_FORMAT,
        OUTPUT_PREFIX, POISON_QUEUE_URL, SEARCH_AUTH, SEARCH_ENDPOINT, SEARCH_FORMAT, SEARCH_INDEX,
        SEARCH_OP, SEARCH_PASSWORD_PARAMETER, SEARCH_SIGV4_SERVICE, SEARCH_USER, WORK_DIR,
    };
}
