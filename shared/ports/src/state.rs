//! State that outlives an invocation (idempotency records, Slack thread timestamps, health-check
//! streaks, pending lifecycle hooks): key-value items with an expiry, and a conditional create.
//!
//! The DynamoDB adapter's table (see `template.yaml`): partition key `pk` (string); attributes
//! `value` (string, usually JSON) and `expires_at` (number, epoch seconds, the table's TTL).

use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;

use crate::clock::{SharedClock, epoch_seconds};
use crate::fault::{Fault, FaultKind};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateItem {
    pub key: String,
    pub value: String,
    /// Epoch seconds after which the item is treated as absent.
    pub expires_at: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("state store {operation} of {key}")]
    Store {
        operation: &'static str,
        key: String,
        #[source]
        fault: Fault,
    },
    #[error("state item {key} is malformed: {reason}")]
    Malformed { key: String, reason: &'static str },
}

impl StateError {
    pub fn kind(&self) -> FaultKind {
        match self {
            StateError::Store { fault, .. } => fault.kind(),
            StateError::Malformed { .. } => FaultKind::Permanent,
        }
    }

    pub fn is_transient(&self) -> bool {
        self.kind() == FaultKind::Transient
    }
}

/// Key-value state with expiry and a conditional create.
pub trait StateStore {
    /// The live item under `key`: expired items count as absent even before TTL deletes them
    /// (DynamoDB deletes expired items lazily, up to days later).
    fn get(&self, key: &str) -> impl Future<Output = Result<Option<StateItem>, StateError>> + Send;

    /// Writes unconditionally.
    fn put(&self, item: &StateItem) -> impl Future<Output = Result<(), StateError>> + Send;

    /// Writes only when the live value under the item's key is `expected` (`None`: no live
    /// item). `Ok(false)` means it is not: another worker changed it first (read again and decide
    /// again), or this is a retry of work already done.
    fn compare_and_set(
        &self,
        item: &StateItem,
        expected: Option<&str>,
    ) -> impl Future<Output = Result<bool, StateError>> + Send;

    /// Writes only when no live item holds the key: [`StateStore::compare_and_set`] with nothing
    /// expected.
    fn put_if_absent(
        &self,
        item: &StateItem,
    ) -> impl Future<Output = Result<bool, StateError>> + Send
    where
        Self: Sync,
    {
        self.compare_and_set(item, None)
    }

    fn delete(&self, key: &str) -> impl Future<Output = Result<(), StateError>> + Send;
}

/// One store shared by several users (two engines in a test, as two instances share a table).
impl<S: StateStore + Send + Sync> StateStore for std::sync::Arc<S> {
    fn get(&self, key: &str) -> impl Future<Output = Result<Option<StateItem>, StateError>> + Send {
        (**self).get(key)
    }

    fn put(&self, item: &StateItem) -> impl Future<Output = Result<(), StateError>> + Send {
        (**self).put(item)
    }

    fn compare_and_set(
        &self,
        item: &StateItem,
        expected: Option<&str>,
    ) -> impl Future<Output = Result<bool, StateError>> + Send {
        (**self).compare_and_set(item, expected)
    }

    fn delete(&self, key: &str) -> impl Future<Output = Result<(), StateError>> + Send {
        (**self).delete(key)
    }
}

/// In-memory adapter with the DynamoDB adapter's semantics, for the CLI and tests.
#[derive(Debug)]
pub struct MemoryStateStore {
    items: Mutex<HashMap<String, StateItem>>,
    clock: SharedClock,
}

impl MemoryStateStore {
    pub fn new(clock: SharedClock) -> Self {
        Self {
            items: Mutex::default(),
            clock,
        }
    }

    /// Every item held, live or expired (for assertions).
    pub fn items(&self) -> Vec<StateItem> {
        self.lock().values().cloned().collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, StateItem>> {
        self.items.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn now(&self) -> u64 {
        epoch_seconds(self.clock.now())
    }
}

impl StateStore for MemoryStateStore {
    async fn get(&self, key: &str) -> Result<Option<StateItem>, StateError> {
        let now = self.now();
        Ok(self
            .lock()
            .get(key)
            .filter(|item| item.expires_at > now)
            .cloned())
    }

    async fn put(&self, item: &StateItem) -> Result<(), StateError> {
        self.lock().insert(item.key.clone(), item.clone());
        Ok(())
    }

    async fn compare_and_set(
        &self,
        item: &StateItem,
        expected: Option<&str>,
    ) -> Result<bool, StateError> {
        let now = self.now();
        let mut items = self.lock();
        let live = items
            .get(&item.key)
            .filter(|old| old.expires_at > now)
            .map(|old| old.value.as_str());
        if live != expected {
            return Ok(false);
        }
        items.insert(item.key.clone(), item.clone());
        Ok(true)
    }

    async fn delete(&self, key: &str) -> Result<(), StateError> {
        self.lock().remove(key);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;
    use crate::ManualClock;

    fn item(key: &str, value: &str, expires_at: u64) -> StateItem {
        StateItem {
            key: key.into(),
            value: value.into(),
            expires_at,
        }
    }

    #[tokio::test]
    async fn memory_store_refuses_a_live_duplicate_and_accepts_over_an_expired_one() {
        let clock = Arc::new(ManualClock::at_epoch_seconds(1_000));
        let store = MemoryStateStore::new(clock.clone());
        assert!(
            store
                .put_if_absent(&item("k", "first", 2_000))
                .await
                .unwrap()
        );
        assert!(
            !store
                .put_if_absent(&item("k", "second", 2_000))
                .await
                .unwrap()
        );
        assert_eq!(store.get("k").await.unwrap().unwrap().value, "first");

        store.put(&item("old", "stale", 999)).await.unwrap();
        assert_eq!(store.get("old").await.unwrap(), None);
        assert!(
            store
                .put_if_absent(&item("old", "fresh", 2_000))
                .await
                .unwrap()
        );

        clock.advance(Duration::from_secs(1_000));
        assert_eq!(store.get("k").await.unwrap(), None, "expired by the clock");
    }

    #[tokio::test]
    async fn compare_and_set_writes_only_over_the_expected_value() {
        let store = MemoryStateStore::new(Arc::new(ManualClock::at_epoch_seconds(1_000)));
        assert!(
            store
                .compare_and_set(&item("k", "1", 2_000), None)
                .await
                .unwrap()
        );
        assert!(
            !store
                .compare_and_set(&item("k", "2", 2_000), Some("0"))
                .await
                .unwrap(),
            "a stale expectation loses"
        );
        assert!(
            store
                .compare_and_set(&item("k", "2", 2_000), Some("1"))
                .await
                .unwrap()
        );
        assert_eq!(store.get("k").await.unwrap().unwrap().value, "2");
    }
}
