//! S3 for the alb-logs job: streaming reads of log objects (the body is never buffered whole) and
//! streaming uploads of its output files.

use std::path::Path;

use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::operation::get_object::GetObjectError;
use aws_sdk_s3::primitives::ByteStream;
use fleetwatch_alb_logs::{
    ObjectBody, ObjectError, ObjectRef, ObjectSource, OutputStore, READ_BUFFER, StoreError,
};
use fleetwatch_ports::Fault;
use tokio::io::BufReader;

use crate::error::fault;

/// Buffered reads through the SDK's `ByteStream`, which pulls from the connection as the consumer
/// reads, so memory stays at the buffer size whatever the object size.
#[derive(Clone, Debug)]
pub struct S3Objects {
    client: aws_sdk_s3::Client,
}

impl S3Objects {
    pub fn new(client: aws_sdk_s3::Client) -> Self {
        Self { client }
    }
}

impl ObjectSource for S3Objects {
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
                if err.as_service_error().is_some_and(is_gone) {
                    ObjectError::not_found(object)
                } else {
                    ObjectError::read(object, fault(err))
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

/// The object, or the version the notification named, no longer exists. The SDK models
/// `NoSuchKey` but not `NoSuchVersion` (a versioned bucket's answer for a deleted version).
fn is_gone(error: &GetObjectError) -> bool {
    error.is_no_such_key() || error.code() == Some("NoSuchVersion")
}

/// Output files stored in one bucket.
#[derive(Clone, Debug)]
pub struct S3Store {
    client: aws_sdk_s3::Client,
    bucket: String,
}

impl S3Store {
    pub fn new(client: aws_sdk_s3::Client, bucket: impl Into<String>) -> Self {
        Self {
            client,
            bucket: bucket.into(),
        }
    }
}

impl OutputStore for S3Store {
    async fn put_file(&self, key: &str, file: &Path, content_type: &str) -> Result<(), StoreError> {
        // Streams the file; the SDK does not load it into memory.
        let body = ByteStream::from_path(file)
            .await
            .map_err(|e| StoreError::new(key, Fault::transient(e)))?;
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .body(body)
            .send()
            .await
            .map_err(|e| StoreError::new(key, fault(e)))?;
        Ok(())
    }

    fn describe(&self, key: &str) -> String {
        format!("s3://{}/{key}", self.bucket)
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_s3::error::ErrorMetadata;
    use aws_sdk_s3::types::error::NoSuchKey;

    use super::*;

    fn answered(code: &str) -> GetObjectError {
        GetObjectError::generic(ErrorMetadata::builder().code(code).build())
    }

    #[test]
    fn a_missing_key_or_version_is_gone_and_nothing_else_is() {
        assert!(is_gone(&GetObjectError::NoSuchKey(
            NoSuchKey::builder().build()
        )));
        assert!(is_gone(&answered("NoSuchVersion")));
        for code in [
            "NoSuchBucket",
            "AccessDenied",
            "InvalidArgument",
            "SlowDown",
        ] {
            assert!(!is_gone(&answered(code)), "{code}");
        }
    }
}
