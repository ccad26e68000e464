//! Where search documents go, per object: a narrow port ([`DocumentSink`], opened once per
//! object into a [`DocumentSession`]) with local adapters: an NDJSON file (the CLI and the demo),
//! memory (tests); `None` of an `Option<impl DocumentSink>` sends nowhere. The OpenSearch/Elasticsearch `_bulk` adapter is `fleetwatch-search`.

use std::fs::File;
use std::future::Future;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use fleetwatch_ports::Fault;

/// A document the search cluster refused for good (not retried): it goes to the errors object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefusedDocument {
    pub id: String,
    pub status: u16,
    pub reason: String,
    pub document: Vec<u8>,
}

/// Totals of one object's documents.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SearchReport {
    pub indexed: u64,
    /// Already there from an earlier attempt (same deterministic id).
    pub already_indexed: u64,
    pub refused: Vec<RefusedDocument>,
}

#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// The cluster did not take the documents; the object is retried (ids are deterministic).
    #[error("indexing documents")]
    Index(#[source] Fault),
    #[error("writing documents to {path}")]
    Local {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// Opens one session per object.
pub trait DocumentSink: Send + Sync {
    type Session: DocumentSession + Send;

    fn open(&self) -> Result<Self::Session, SinkError>;
}

/// The documents of one object, then its totals.
pub trait DocumentSession {
    fn add(
        &mut self,
        id: &str,
        document: &[u8],
    ) -> impl Future<Output = Result<(), SinkError>> + Send;

    fn finish(self) -> impl Future<Output = Result<SearchReport, SinkError>> + Send;
}

/// An optional sink: `None` takes nothing and reports nothing.
impl<D: DocumentSink> DocumentSink for Option<D> {
    type Session = Option<D::Session>;

    fn open(&self) -> Result<Self::Session, SinkError> {
        self.as_ref().map(DocumentSink::open).transpose()
    }
}

impl<S: DocumentSession + Send> DocumentSession for Option<S> {
    async fn add(&mut self, id: &str, document: &[u8]) -> Result<(), SinkError> {
        match self {
            Some(session) => session.add(id, document).await,
            None => Ok(()),
        }
    }

    async fn finish(self) -> Result<SearchReport, SinkError> {
        match self {
            Some(session) => session.finish().await,
            None => Ok(SearchReport::default()),
        }
    }
}

/// Appends plain documents, one per line, to a file (ids are not written).
#[derive(Clone, Debug)]
pub struct NdjsonFile(pub PathBuf);

pub struct NdjsonSession {
    out: BufWriter<File>,
    path: PathBuf,
    written: u64,
}

impl NdjsonSession {
    fn error(&self, source: std::io::Error) -> SinkError {
        SinkError::Local {
            path: self.path.display().to_string(),
            source,
        }
    }
}

impl DocumentSink for NdjsonFile {
    type Session = NdjsonSession;

    fn open(&self) -> Result<NdjsonSession, SinkError> {
        let file = File::options()
            .create(true)
            .append(true)
            .open(&self.0)
            .map_err(|source| SinkError::Local {
                path: self.0.display().to_string(),
                source,
            })?;
        Ok(NdjsonSession {
            out: BufWriter::new(file),
            path: self.0.clone(),
            written: 0,
        })
    }
}

impl DocumentSession for NdjsonSession {
    async fn add(&mut self, _id: &str, document: &[u8]) -> Result<(), SinkError> {
        self.written += 1;
        let written = self
            .out
            .write_all(document)
            .and_then(|()| self.out.write_all(b"\n"));
        written.map_err(|e| self.error(e))
    }

    async fn finish(mut self) -> Result<SearchReport, SinkError> {
        self.out.flush().map_err(|e| self.error(e))?;
        Ok(SearchReport {
            indexed: self.written,
            ..SearchReport::default()
        })
    }
}

/// Keeps `(id, document)` pairs in memory, for tests; a document whose id is already there counts
/// as already indexed, as a data stream's `create` does.
#[derive(Clone, Debug, Default)]
pub struct MemoryDocuments(Arc<Mutex<Vec<IdentifiedDocument>>>);

/// A document and its id.
pub type IdentifiedDocument = (String, Vec<u8>);

impl MemoryDocuments {
    pub fn documents(&self) -> Vec<IdentifiedDocument> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

pub struct MemorySession {
    documents: MemoryDocuments,
    report: SearchReport,
}

impl DocumentSink for MemoryDocuments {
    type Session = MemorySession;

    fn open(&self) -> Result<MemorySession, SinkError> {
        Ok(MemorySession {
            documents: self.clone(),
            report: SearchReport::default(),
        })
    }
}

impl DocumentSession for MemorySession {
    async fn add(&mut self, id: &str, document: &[u8]) -> Result<(), SinkError> {
        let mut documents = self.documents.0.lock().unwrap_or_else(|e| e.into_inner());
        if documents.iter().any(|(known, _)| known == id) {
            self.report.already_indexed += 1;
        } else {
            documents.push((id.to_string(), document.to_vec()));
            self.report.indexed += 1;
        }
        Ok(())
    }

    async fn finish(self) -> Result<SearchReport, SinkError> {
        Ok(self.report)
    }
}
