//! Where search documents go, per object: OpenSearch/Elasticsearch `_bulk`, a local NDJSON file
//! (the CLI and the demo), or nowhere.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;

use fleetwatch_search::{Auth, BulkConfig, BulkError, BulkIndexer, DeadLetter};

#[derive(Clone, Debug)]
pub enum SearchTarget {
    None,
    Bulk {
        http: reqwest::Client,
        config: BulkConfig,
        auth: Auth,
    },
    /// Appends `{"_id": .., "doc": ..}`-free plain documents, one per line, to a file.
    LocalFile(PathBuf),
}

/// Totals of one object's documents.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SearchReport {
    pub indexed: u64,
    pub already_indexed: u64,
    pub dead_letters: Vec<DeadLetter>,
}

#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    #[error(transparent)]
    Bulk(#[from] BulkError),
    #[error("writing documents to {path}: {source}")]
    Local {
        path: String,
        source: std::io::Error,
    },
}

pub enum SearchSession {
    None,
    Bulk(Box<BulkIndexer>),
    LocalFile {
        out: BufWriter<File>,
        path: PathBuf,
        written: u64,
    },
}

impl SearchTarget {
    pub fn is_enabled(&self) -> bool {
        !matches!(self, SearchTarget::None)
    }

    pub fn open(&self) -> Result<SearchSession, SinkError> {
        Ok(match self {
            SearchTarget::None => SearchSession::None,
            SearchTarget::Bulk { http, config, auth } => SearchSession::Bulk(Box::new(
                BulkIndexer::with_client(http.clone(), config.clone(), auth.clone()),
            )),
            SearchTarget::LocalFile(path) => {
                let file = File::options()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map_err(|source| SinkError::Local {
                        path: path.display().to_string(),
                        source,
                    })?;
                SearchSession::LocalFile {
                    out: BufWriter::new(file),
                    path: path.clone(),
                    written: 0,
                }
            }
        })
    }
}

impl SearchSession {
    pub async fn add(&mut self, id: &str, document: &[u8]) -> Result<(), SinkError> {
        match self {
            SearchSession::None => Ok(()),
            SearchSession::Bulk(indexer) => Ok(indexer.add(id, document).await?),
            SearchSession::LocalFile { out, path, written } => {
                *written += 1;
                out.write_all(document)
                    .and_then(|()| out.write_all(b"\n"))
                    .map_err(|source| SinkError::Local {
                        path: path.display().to_string(),
                        source,
                    })
            }
        }
    }

    pub async fn finish(self) -> Result<SearchReport, SinkError> {
        match self {
            SearchSession::None => Ok(SearchReport::default()),
            SearchSession::Bulk(indexer) => {
                let report = indexer.finish().await?;
                Ok(SearchReport {
                    indexed: report.indexed,
                    already_indexed: report.already_indexed,
                    dead_letters: report.dead_letters,
                })
            }
            SearchSession::LocalFile {
                mut out,
                path,
                written,
            } => {
                out.flush().map_err(|source| SinkError::Local {
                    path: path.display().to_string(),
                    source,
                })?;
                Ok(SearchReport {
                    indexed: written,
                    ..SearchReport::default()
                })
            }
        }
    }
}
