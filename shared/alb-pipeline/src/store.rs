//! Where finished output files are stored: S3, or a local directory (CLI, demo).

use std::path::{Path, PathBuf};

use aws_sdk_s3::primitives::ByteStream;

#[derive(Clone, Debug)]
pub enum Store {
    S3 {
        client: aws_sdk_s3::Client,
        bucket: String,
    },
    Local(PathBuf),
}

#[derive(Debug, thiserror::Error)]
#[error("storing {key}: {reason}")]
pub struct StoreError {
    pub key: String,
    pub reason: String,
}

impl Store {
    /// Stores the file at `key`, replacing what a previous attempt stored there.
    pub async fn put_file(
        &self,
        key: &str,
        file: &Path,
        content_type: &str,
    ) -> Result<(), StoreError> {
        let error = |reason: String| StoreError {
            key: key.to_string(),
            reason,
        };
        match self {
            Store::S3 { client, bucket } => {
                // Streams the file; the SDK does not load it into memory.
                let body = ByteStream::from_path(file)
                    .await
                    .map_err(|e| error(e.to_string()))?;
                client
                    .put_object()
                    .bucket(bucket)
                    .key(key)
                    .content_type(content_type)
                    .body(body)
                    .send()
                    .await
                    .map_err(|e| error(aws_sdk_s3::error::DisplayErrorContext(&e).to_string()))?;
                Ok(())
            }
            Store::Local(root) => {
                let target = root.join(key);
                if let Some(parent) = target.parent() {
                    tokio::fs::create_dir_all(parent)
                        .await
                        .map_err(|e| error(e.to_string()))?;
                }
                tokio::fs::copy(file, &target)
                    .await
                    .map_err(|e| error(e.to_string()))?;
                Ok(())
            }
        }
    }

    /// A readable location for logs and reports.
    pub fn describe(&self, key: &str) -> String {
        match self {
            Store::S3 { bucket, .. } => format!("s3://{bucket}/{key}"),
            Store::Local(root) => root.join(key).display().to_string(),
        }
    }
}
