//! Streaming reads of S3 objects: the body is never buffered whole.

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;

use tokio::io::{AsyncBufRead, BufReader};

use crate::envelope::ObjectRef;
use crate::sdk_error::aws_error_text;

/// A readable object body, with what S3 said about the version read.
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
    /// Throttling, a network error, a 5xx: a retry may succeed.
    #[error("reading s3://{bucket}/{key}: {reason}")]
    Transient {
        bucket: String,
        key: String,
        reason: String,
    },
}

impl ObjectError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, ObjectError::Transient { .. })
    }
}

/// Opens objects for streaming reads.
pub trait ObjectSource {
    fn open(
        &self,
        object: &ObjectRef,
    ) -> impl Future<Output = Result<ObjectBody, ObjectError>> + Send;
}

/// Buffered reads through the SDK's `ByteStream`, which pulls from the connection as the consumer
/// reads, so memory stays at the buffer size whatever the object size.
#[derive(Clone)]
pub struct S3ObjectSource {
    client: aws_sdk_s3::Client,
}

impl S3ObjectSource {
    pub fn new(client: aws_sdk_s3::Client) -> Self {
        Self { client }
    }
}

/// Read-buffer size: large enough that a gzip decoder is never starved by small socket reads.
const READ_BUFFER: usize = 256 * 1024;

impl ObjectSource for S3ObjectSource {
    async fn open(&self, object: &ObjectRef) -> Result<ObjectBody, ObjectError> {
        let output = self
            .client
            .get_object()
            .bucket(&object.bucket)
            .key(&object.key)
            .set_version_id(object.version_id.clone())
            .send()
            .await
            .map_err(|err| {
                let not_found = err.as_service_error().is_some_and(|e| e.is_no_such_key());
                if not_found {
                    ObjectError::NotFound {
                        bucket: object.bucket.clone(),
                        key: object.key.clone(),
                    }
                } else {
                    ObjectError::Transient {
                        bucket: object.bucket.clone(),
                        key: object.key.clone(),
                        reason: aws_error_text(&err),
                    }
                }
            })?;
        Ok(ObjectBody {
            etag: output.e_tag().map(|e| e.trim_matches('"').to_string()),
            version_id: output.version_id().map(str::to_string),
            content_length: output.content_length().and_then(|n| u64::try_from(n).ok()),
            reader: Box::pin(BufReader::with_capacity(
                READ_BUFFER,
                output.body.into_async_read(),
            )),
        })
    }
}

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
                ObjectError::NotFound {
                    bucket: object.bucket.clone(),
                    key: object.key.clone(),
                }
            } else {
                ObjectError::Transient {
                    bucket: object.bucket.clone(),
                    key: object.key.clone(),
                    reason: err.to_string(),
                }
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
