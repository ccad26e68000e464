//! Secrets from SSM Parameter Store, decrypted and cached for the life of the execution
//! environment.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use fleetwatch_ports::{Fault, Secret, SecretError, SecretSource, SharedClock};

use crate::error::fault;

/// SSM `GetParameter` with decryption, cached per name for `ttl` so a warm function does not call
/// SSM on every invocation, yet picks up a rotated secret within `ttl`.
#[derive(Debug)]
pub struct SsmSecrets {
    client: aws_sdk_ssm::Client,
    ttl: Duration,
    clock: SharedClock,
    cache: Mutex<HashMap<String, (SystemTime, Secret)>>,
}

impl SsmSecrets {
    pub fn new(client: aws_sdk_ssm::Client, ttl: Duration, clock: SharedClock) -> Self {
        Self {
            client,
            ttl,
            clock,
            cache: Mutex::new(HashMap::new()),
        }
    }

    fn cached(&self, name: &str) -> Option<Secret> {
        let now = self.clock.now();
        let cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        cache
            .get(name)
            .filter(|(fetched, _)| now.duration_since(*fetched).unwrap_or_default() < self.ttl)
            .map(|(_, secret)| secret.clone())
    }

    async fn fetch(&self, name: &str) -> Result<Secret, SecretError> {
        let output = self
            .client
            .get_parameter()
            .name(name)
            .with_decryption(true)
            .send()
            .await
            .map_err(|err| {
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_parameter_not_found())
                {
                    SecretError::NotFound { name: name.into() }
                } else {
                    SecretError::Unavailable {
                        name: name.into(),
                        fault: fault(err),
                    }
                }
            })?;
        let value =
            output
                .parameter()
                .and_then(|p| p.value())
                .ok_or_else(|| SecretError::Unavailable {
                    name: name.into(),
                    fault: Fault::permanent("the GetParameter answer holds no value"),
                })?;
        Ok(Secret::new(value))
    }
}

impl SecretSource for SsmSecrets {
    async fn secret(&self, name: &str) -> Result<Secret, SecretError> {
        if let Some(secret) = self.cached(name) {
            return Ok(secret);
        }
        let secret = self.fetch(name).await?;
        self.cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(name.to_string(), (self.clock.now(), secret.clone()));
        Ok(secret)
    }
}
