//! Named secrets (webhook URLs, bot tokens, passwords), redacted wherever they could be printed.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;

use crate::fault::{Fault, FaultKind};

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
    #[error("reading secret parameter {name}")]
    Unavailable {
        name: String,
        #[source]
        fault: Fault,
    },
}

impl SecretError {
    pub fn kind(&self) -> FaultKind {
        match self {
            SecretError::NotFound { .. } => FaultKind::Permanent,
            SecretError::Unavailable { fault, .. } => fault.kind(),
        }
    }

    pub fn is_transient(&self) -> bool {
        self.kind() == FaultKind::Transient
    }
}

/// Reads named secrets.
pub trait SecretSource {
    fn secret(&self, name: &str) -> impl Future<Output = Result<Secret, SecretError>> + Send;
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
