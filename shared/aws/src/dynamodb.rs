//! The state table in DynamoDB: items expire through its TTL attribute, and a conditional put
//! that also reclaims expired items makes claims safe across concurrent instances.
//!
//! Table schema (see `template.yaml`): partition key `pk` (string); attributes `value` (string,
//! usually JSON) and `expires_at` (number, epoch seconds, the table's TTL attribute).

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use fleetwatch_ports::{SharedClock, StateError, StateItem, StateStore, epoch_seconds};

use crate::error::fault;

pub const KEY_ATTRIBUTE: &str = "pk";
pub const VALUE_ATTRIBUTE: &str = "value";
pub const TTL_ATTRIBUTE: &str = "expires_at";

/// DynamoDB adapter.
#[derive(Clone, Debug)]
pub struct DynamoStateStore {
    client: aws_sdk_dynamodb::Client,
    table: String,
    clock: SharedClock,
}

impl DynamoStateStore {
    pub fn new(
        client: aws_sdk_dynamodb::Client,
        table: impl Into<String>,
        clock: SharedClock,
    ) -> Self {
        Self {
            client,
            table: table.into(),
            clock,
        }
    }

    fn now(&self) -> u64 {
        epoch_seconds(self.clock.now())
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
        err: aws_sdk_dynamodb::error::SdkError<E, R>,
    ) -> StateError
    where
        E: std::error::Error
            + aws_sdk_dynamodb::error::ProvideErrorMetadata
            + Send
            + Sync
            + 'static,
        R: std::fmt::Debug + Send + Sync + 'static,
    {
        StateError::Store {
            operation,
            key: key.into(),
            fault: fault(err),
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
            .map_err(|e| Self::store_error("get", key, e))?;
        let Some(attributes) = output.item else {
            return Ok(None);
        };
        let malformed = |reason: &'static str| StateError::Malformed {
            key: key.into(),
            reason,
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
        if expires_at <= self.now() {
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
            .map_err(|e| Self::store_error("put", &item.key, e))?;
        Ok(())
    }

    async fn compare_and_set(
        &self,
        item: &StateItem,
        expected: Option<&str>,
    ) -> Result<bool, StateError> {
        let now = AttributeValue::N(self.now().to_string());
        let request = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(Self::item_attributes(item)))
            .expression_attribute_names("#ttl", TTL_ATTRIBUTE)
            .expression_attribute_values(":now", now);
        // An expired item that TTL has not deleted yet counts as absent.
        let request = match expected {
            None => request
                .condition_expression("attribute_not_exists(#pk) OR #ttl <= :now")
                .expression_attribute_names("#pk", KEY_ATTRIBUTE),
            Some(value) => request
                .condition_expression("#value = :expected AND #ttl > :now")
                .expression_attribute_names("#value", VALUE_ATTRIBUTE)
                .expression_attribute_values(":expected", AttributeValue::S(value.into())),
        };
        match request.send().await {
            Ok(_) => Ok(true),
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(err) => Err(Self::store_error("conditional put", &item.key, err)),
        }
    }

    async fn delete(&self, key: &str) -> Result<(), StateError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key(KEY_ATTRIBUTE, AttributeValue::S(key.into()))
            .send()
            .await
            .map_err(|e| Self::store_error("delete", key, e))?;
        Ok(())
    }
}
