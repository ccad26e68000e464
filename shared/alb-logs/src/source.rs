//! Where log objects are read from: a narrow port ([`ObjectSource`]) with a local adapter (files)
//! and an in-memory one; the S3 adapter (streaming GET) is in `fleetwatch-aws`.

use std::collections::HashMap;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Mutex;

use fleetwatch_ports::Fault;
use tokio::io::{AsyncBufRead, BufReader};

use crate::envelope::ObjectRef;

/// A readable object body, with what the store said about the version read.
pub struct ObjectBody {
    pub reader: Pin<Box<dyn AsyncBufRead + Send>>,
    /// The ETag of the bytes being read, quotes removed: part of idempotent document ids.
    pub etag: Option<String>,
    pub version_id: Option<String>,
    pub content_length: Option<u64>,
}

#[derive(Debug, thiserror::Error)]
pub enum ObjectError {
    /// The object does not exist (deleted since the notification): retrying will not help.
    #[error("s3://{bucket}/{key} not found")]
    NotFound { bucket: String, key: String },
    #[error("reading s3://{bucket}/{key}")]
    Read {
        bucket: String,
        key: String,
        #[source]
        fault: Fault,
    },
}

impl ObjectError {
    pub fn not_found(object: &ObjectRef) -> Self {
        ObjectError::NotFound {
            bucket: object.bucket.clone(),
            key: object.key.clone(),
        }
    }

    pub fn read(object: &ObjectRef, fault: Fault) -> Self {
        ObjectError::Read {
            bucket: object.bucket.clone(),
            key: object.key.clone(),
            fault,
        }
    }
}

/// Opens objects for streaming reads.
pub trait ObjectSource {
    fn open(
        &self,
        object: &ObjectRef,
    ) -> impl Future<Output = Result<ObjectBody, ObjectError>> + Send;
}

/// Read-buffer size: large enough that a gzip decoder is never starved by small socket reads.
pub const READ_BUFFER: usize = 256 * 1024;

/// Reads "objects" from a directory: `bucket` is ignored, `key` is a path below the root.
#[derive(Clone, Debug)]
pub struct LocalObjectSource {
    root: PathBuf,
}

impl LocalObjectSource {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }
}

impl ObjectSource for LocalObjectSource {
    async fn open(&self, object: &ObjectRef) -> Result<ObjectBody, ObjectError> {
        let path = self.root.join(&object.key);
        let file = tokio::fs::File::open(&path).await.map_err(|err| {
            if err.kind() == std::io::ErrorKind::NotFound {
                ObjectError::not_found(object)
            } else {
                ObjectError::read(object, Fault::transient(err))
            }
        })?;
        let content_length = file.metadata().await.ok().map(|m| m.len());
        Ok(ObjectBody {
            reader: Box::pin(BufReader::with_capacity(READ_BUFFER, file)),
            etag: None,
            version_id: None,
            content_length,
        })
    }
}

/// Objects held in memory by `bucket/key`, each with an ETag, for tests.
#[derive(Debug, Default)]
pub struct MemoryObjectSource {
    /// (bucket, key) -> (ETag, bytes).
    objects: Mutex<HashMap<(String, String), StoredObject>>,
}

type StoredObject = (String, Vec<u8>);

impl MemoryObjectSource {
    pub fn put(&self, bucket: &str, key: &str, etag: &str, bytes: impl Into<Vec<u8>>) {
        self.objects
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert((bucket.into(), key.into()), (etag.into(), bytes.into()));
    }
}

impl ObjectSource for MemoryObjectSource {
    async fn open(&self, object: &ObjectRef) -> Result<ObjectBody, ObjectError> {
        let found = self
            .objects
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&(object.bucket.clone(), object.key.clone()))
            .cloned();
        let (etag, bytes) = found.ok_or_else(|| ObjectError::not_found(object))?;
        Ok(ObjectBody {
            content_length: Some(bytes.len() as u64),
            reader: Box::pin(std::io::Cursor::new(bytes)),
            etag: Some(etag),
            version_id: None,
        })
    }
}
