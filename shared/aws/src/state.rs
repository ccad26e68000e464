//! State that outlives an invocation (idempotency records, Slack thread timestamps, health-check
//! streaks, pending lifecycle hooks): one DynamoDB table, items expire through its TTL attribute.
//!
//! Table schema (see `template.yaml`): partition key `pk` (string); attributes `value` (string,
//! usually JSON) and `expires_at` (number, epoch seconds, the table's TTL attribute).

use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use aws_sdk_dynamodb::types::AttributeValue;

use crate::sdk_error::{aws_error_text, is_transient};

pub const KEY_ATTRIBUTE: &str = "pk";
pub const VALUE_ATTRIBUTE: &str = "value";
pub const TTL_ATTRIBUTE: &str = "expires_at";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateItem {
    pub key: String,
    pub value: String,
    /// Epoch seconds after which the item is treated as absent.
    pub expires_at: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("state store {operation} of {key}: {reason}")]
    Store {
        operation: &'static str,
        key: String,
        reason: String,
        retryable: bool,
    },
    #[error("state item {key} is malformed: {reason}")]
    Malformed { key: String, reason: String },
}

impl StateError {
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            StateError::Store {
                retryable: true,
                ..
            }
        )
    }
}

/// Key-value state with expiry and a conditional create.
pub trait StateStore {
    /// The live item under `key`: expired items count as absent even before TTL deletes them
    /// (DynamoDB deletes expired items lazily, up to days later).
    fn get(&self, key: &str) -> impl Future<Output = Result<Option<StateItem>, StateError>> + Send;

    /// Writes unconditionally.
    fn put(&self, item: &StateItem) -> impl Future<Output = Result<(), StateError>> + Send;

    /// Writes only when no live item holds the key. `Ok(false)` means one does: the caller lost
    /// the race, or is a retry of work already done.
    fn put_if_absent(
        &self,
        item: &StateItem,
    ) -> impl Future<Output = Result<bool, StateError>> + Send;

    fn delete(&self, key: &str) -> impl Future<Output = Result<(), StateError>> + Send;
}

/// Seconds since the Unix epoch: the unit of `expires_at`.
pub fn epoch_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// DynamoDB adapter.
#[derive(Clone)]
pub struct DynamoStateStore {
    client: aws_sdk_dynamodb::Client,
    table: String,
    now: fn() -> u64,
}

impl DynamoStateStore {
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            now: epoch_now,
        }
    }

    /// Replaces the clock (epoch seconds), for tests of expiry.
    pub fn with_clock(mut self, now: fn() -> u64) -> Self {
        self.now = now;
        self
    }

    fn item_attributes(item: &StateItem) -> HashMap<String, AttributeValue> {
        HashMap::from([
            (KEY_ATTRIBUTE.into(), AttributeValue::S(item.key.clone())),
            (
                VALUE_ATTRIBUTE.into(),
                AttributeValue::S(item.value.clone()),
            ),
            (
                TTL_ATTRIBUTE.into(),
                AttributeValue::N(item.expires_at.to_string()),
            ),
        ])
    }

    fn store_error<E, R>(
        operation: &'static str,
        key: &str,
        err: &aws_sdk_dynamodb::error::SdkError<E, R>,
    ) -> StateError
    where
        E: std::error::Error + aws_sdk_dynamodb::error::ProvideErrorMetadata + 'static,
        R: std::fmt::Debug,
    {
        StateError::Store {
            operation,
            key: key.into(),
            reason: aws_error_text(err),
            retryable: is_transient(err),
        }
    }
}

impl StateStore for DynamoStateStore {
    async fn get(&self, key: &str) -> Result<Option<StateItem>, StateError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(KEY_ATTRIBUTE, AttributeValue::S(key.into()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| Self::store_error("get", key, &e))?;
        let Some(attributes) = output.item else {
            return Ok(None);
        };
        let malformed = |reason: &str| StateError::Malformed {
            key: key.into(),
            reason: reason.into(),
        };
        let value = match attributes.get(VALUE_ATTRIBUTE) {
            Some(AttributeValue::S(s)) => s.clone(),
            _ => return Err(malformed("`value` is not a string")),
        };
        let expires_at = match attributes.get(TTL_ATTRIBUTE) {
            Some(AttributeValue::N(n)) => n
                .parse::<u64>()
                .map_err(|_| malformed("`expires_at` is not an integer"))?,
            _ => return Err(malformed("`expires_at` is not a number")),
        };
        if expires_at <= (self.now)() {
            return Ok(None);
        }
        Ok(Some(StateItem {
            key: key.into(),
            value,
            expires_at,
        }))
    }

    async fn put(&self, item: &StateItem) -> Result<(), StateError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(Self::item_attributes(item)))
            .send()
            .await
            .map_err(|e| Self::store_error("put", &item.key, &e))?;
        Ok(())
    }

    async fn put_if_absent(&self, item: &StateItem) -> Result<bool, StateError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(Self::item_attributes(item)))
            .condition_expression("attribute_not_exists(#pk) OR #ttl <= :now")
            .expression_attribute_names("#pk", KEY_ATTRIBUTE)
            .expression_attribute_names("#ttl", TTL_ATTRIBUTE)
            .expression_attribute_values(":now", AttributeValue::N((self.now)().to_string()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(err) => Err(Self::store_error("conditional put", &item.key, &err)),
        }
    }

    async fn delete(&self, key: &str) -> Result<(), StateError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key(KEY_ATTRIBUTE, AttributeValue::S(key.into()))
            .send()
            .await
            .map_err(|e| Self::store_error("delete", key, &e))?;
        Ok(())
    }
}

/// In-memory adapter with the same semantics, for the CLI and unit tests.
#[derive(Debug)]
pub struct MemoryStateStore {
    items: Mutex<HashMap<String, StateItem>>,
    now: fn() -> u64,
}

impl Default for MemoryStateStore {
    fn default() -> Self {
        Self {
            items: Mutex::default(),
            now: epoch_now,
        }
    }
}

impl MemoryStateStore {
    pub fn with_clock(now: fn() -> u64) -> Self {
        Self {
            items: Mutex::default(),
            now,
        }
    }

    fn items(&self) -> std::sync::MutexGuard<'_, HashMap<String, StateItem>> {
        self.items.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl StateStore for MemoryStateStore {
    async fn get(&self, key: &str) -> Result<Option<StateItem>, StateError> {
        let now = (self.now)();
        Ok(self
            .items()
            .get(key)
            .filter(|item| item.expires_at > now)
            .cloned())
    }

    async fn put(&self, item: &StateItem) -> Result<(), StateError> {
        self.items().insert(item.key.clone(), item.clone());
        Ok(())
    }

    async fn put_if_absent(&self, item: &StateItem) -> Result<bool, StateError> {
        let now = (self.now)();
        let mut items = self.items();
        if items.get(&item.key).is_some_and(|old| old.expires_at > now) {
            return Ok(false);
        }
        items.insert(item.key.clone(), item.clone());
        Ok(true)
    }

    async fn delete(&self, key: &str) -> Result<(), StateError> {
        self.items().remove(key);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(key: &str, value: &str, expires_at: u64) -> StateItem {
        StateItem {
            key: key.into(),
            value: value.into(),
            expires_at,
        }
    }

    #[tokio::test]
    async fn memory_store_refuses_a_live_duplicate_and_accepts_over_an_expired_one() {
        let store = MemoryStateStore::with_clock(|| 1_000);
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
    }
}
