//! Where finished output files (the table output, the dead letters) are stored: a narrow port
//! ([`OutputStore`]) with a local directory adapter (CLI, demo) and an in-memory one (tests); the
//! S3 adapter is in `fleetwatch-aws`.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use fleetwatch_ports::Fault;

#[derive(Debug, thiserror::Error)]
#[error("storing {key}")]
pub struct StoreError {
    pub key: String,
    #[source]
    pub fault: Fault,
}

impl StoreError {
    pub fn new(key: &str, fault: Fault) -> Self {
        Self {
            key: key.to_string(),
            fault,
        }
    }
}

pub trait OutputStore {
    /// Stores the file at `key`, replacing what a previous attempt stored there.
    fn put_file(
        &self,
        key: &str,
        file: &Path,
        content_type: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// A readable location for logs and reports (`s3://bucket/key`, a path).
    fn describe(&self, key: &str) -> String;
}

/// Files below a directory, in the same key layout as the bucket.
#[derive(Clone, Debug)]
pub struct LocalStore {
    root: PathBuf,
}

impl LocalStore {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }
}

impl OutputStore for LocalStore {
    async fn put_file(
        &self,
        key: &str,
        file: &Path,
        _content_type: &str,
    ) -> Result<(), StoreError> {
        let error = |e: std::io::Error| StoreError::new(key, Fault::permanent(e));
        let target = self.root.join(key);
        if let Some(parent) = target.parent() {
            tokio::fs::create_dir_all(parent).await.map_err(error)?;
        }
        tokio::fs::copy(file, &target).await.map_err(error)?;
        Ok(())
    }

    fn describe(&self, key: &str) -> String {
        self.root.join(key).display().to_string()
    }
}

/// Stored files in memory, by key, with their content type.
#[derive(Debug, Default)]
pub struct MemoryStore {
    files: Mutex<BTreeMap<String, (String, Vec<u8>)>>,
}

impl MemoryStore {
    /// The stored files: key -> (content type, bytes).
    pub fn files(&self) -> BTreeMap<String, (String, Vec<u8>)> {
        self.files.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl OutputStore for MemoryStore {
    async fn put_file(&self, key: &str, file: &Path, content_type: &str) -> Result<(), StoreError> {
        let bytes = tokio::fs::read(file)
            .await
            .map_err(|e| StoreError::new(key, Fault::permanent(e)))?;
        self.files
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key.to_string(), (content_type.to_string(), bytes));
        Ok(())
    }

    fn describe(&self, key: &str) -> String {
        format!("memory:{key}")
    }
}
