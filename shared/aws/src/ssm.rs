//! Secrets from SSM Parameter Store, decrypted and cached for the life of the execution environment.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use crate::sdk_error::{aws_error_text, is_transient};

/// A secret value. `Debug` and `Display` are redacted so it cannot leak through a log line or an
/// error message by accident; [`Secret::expose`] is the one deliberate way out.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("secret parameter {name} does not exist")]
    NotFound { name: String },
    #[error("reading secret parameter {name}: {reason}")]
    Unavailable {
        name: String,
        reason: String,
        retryable: bool,
    },
}

impl SecretError {
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            SecretError::Unavailable {
                retryable: true,
                ..
            }
        )
    }
}

/// Reads named secrets.
pub trait SecretSource {
    fn secret(&self, name: &str) -> impl Future<Output = Result<Secret, SecretError>> + Send;
}

/// SSM `GetParameter` with decryption, cached per name for `ttl` so a warm function does not call
/// SSM on every invocation, yet picks up a rotated secret within `ttl`.
pub struct SsmSecrets {
    client: aws_sdk_ssm::Client,
    ttl: Duration,
    cache: Mutex<HashMap<String, (Instant, Secret)>>,
}

impl SsmSecrets {
    pub fn new(client: aws_sdk_ssm::Client, ttl: Duration) -> Self {
        Self {
            client,
            ttl,
            cache: Mutex::new(HashMap::new()),
        }
    }

    fn cached(&self, name: &str) -> Option<Secret> {
        let cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        cache
            .get(name)
            .filter(|(fetched, _)| fetched.elapsed() < self.ttl)
            .map(|(_, secret)| secret.clone())
    }
}

impl SecretSource for SsmSecrets {
    async fn secret(&self, name: &str) -> Result<Secret, SecretError> {
        if let Some(secret) = self.cached(name) {
            return Ok(secret);
        }
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
                        reason: aws_error_text(&err),
                        retryable: is_transient(&err),
                    }
                }
            })?;
        let value =
            output
                .parameter()
                .and_then(|p| p.value())
                .ok_or_else(|| SecretError::Unavailable {
                    name: name.into(),
                    reason: "the response holds no value".into(),
                    retryable: false,
                })?;
        let secret = Secret::new(value);
        self.cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(name.to_string(), (Instant::now(), secret.clone()));
        Ok(secret)
    }
}

/// Fixed secrets, for the CLI and tests.
#[derive(Clone, Debug, Default)]
pub struct StaticSecrets(HashMap<String, Secret>);

impl StaticSecrets {
    pub fn with(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.0.insert(name.into(), Secret::new(value));
        self
    }
}

impl SecretSource for StaticSecrets {
    async fn secret(&self, name: &str) -> Result<Secret, SecretError> {
        self.0
            .get(name)
            .cloned()
            .ok_or_else(|| SecretError::NotFound { name: name.into() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_redacted_in_debug_and_display() {
        let secret = Secret::new("xoxb-very-secret");
        assert_eq!(format!("{secret:?}"), "Secret(<redacted>)");
        assert_eq!(format!("{secret}"), "<redacted>");
        assert_eq!(secret.expose(), "xoxb-very-secret");
    }
}
