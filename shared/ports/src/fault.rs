//! Failures of outside services, classified once: [`Fault::Transient`] (a retry may succeed) or
//! [`Fault::Permanent`] (the same call fails the same way), each carrying the underlying error.
//! [`ErrorChain`] prints an error with all its causes on one line, for logs and alerts.

use std::error::Error;
use std::fmt;

/// Any error, as a cause.
pub type BoxError = Box<dyn Error + Send + Sync + 'static>;

/// A failed call to an outside service (AWS, Slack, a search cluster), with the adapter's
/// verdict on retrying. Its `Display` and `source` are the underlying error's.
#[derive(Debug, thiserror::Error)]
pub enum Fault {
    /// Throttling, a timeout, a 5xx, a dropped connection: the same call may succeed later.
    #[error(transparent)]
    Transient(BoxError),
    /// Access denied, a validation error, a missing resource: retrying cannot help.
    #[error(transparent)]
    Permanent(BoxError),
}

/// The retry verdict alone, for log fields and metrics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultKind {
    Transient,
    Permanent,
}

impl FaultKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FaultKind::Transient => "transient",
            FaultKind::Permanent => "permanent",
        }
    }
}

impl fmt::Display for FaultKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Fault {
    pub fn transient(error: impl Into<BoxError>) -> Self {
        Fault::Transient(error.into())
    }

    pub fn permanent(error: impl Into<BoxError>) -> Self {
        Fault::Permanent(error.into())
    }

    pub fn kind(&self) -> FaultKind {
        match self {
            Fault::Transient(_) => FaultKind::Transient,
            Fault::Permanent(_) => FaultKind::Permanent,
        }
    }

    pub fn is_transient(&self) -> bool {
        self.kind() == FaultKind::Transient
    }
}

/// An error and its causes on one line, `outer: cause: root cause`. A layer whose message already
/// ends with its cause's message (a `{source}` in its format) does not repeat it.
pub struct ErrorChain<'a>(pub &'a (dyn Error + 'static));

impl ErrorChain<'_> {
    /// The messages from the outermost error to the root cause, repeats removed.
    pub fn messages(&self) -> Vec<String> {
        let mut messages: Vec<String> = Vec::new();
        let mut current: Option<&(dyn Error + 'static)> = Some(self.0);
        while let Some(error) = current {
            let message = error.to_string();
            let repeated = messages
                .last()
                .is_some_and(|previous| previous.ends_with(&message));
            if !repeated && !message.is_empty() {
                messages.push(message);
            }
            current = error.source();
        }
        messages
    }
}

impl fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.messages().join(": "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("storing the record of {key}")]
    struct Store {
        key: String,
        #[source]
        fault: Fault,
    }

    #[derive(Debug, thiserror::Error)]
    #[error("reading the answer: {source}")]
    struct Repeats {
        source: std::io::Error,
    }

    #[test]
    fn the_chain_reaches_the_root_cause_and_the_verdict_travels_with_it() {
        let root = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "connection reset");
        let error = Store {
            key: "delivery#1".into(),
            fault: Fault::transient(root),
        };
        assert!(error.fault.is_transient());
        assert_eq!(error.fault.kind().as_str(), "transient");
        assert_eq!(
            ErrorChain(&error).to_string(),
            "storing the record of delivery#1: connection reset"
        );
    }

    #[test]
    fn a_message_that_already_holds_its_cause_is_not_repeated() {
        let error = Repeats {
            source: std::io::Error::other("unexpected end of file"),
        };
        assert_eq!(
            ErrorChain(&error).to_string(),
            "reading the answer: unexpected end of file"
        );
        let permanent = Fault::permanent("AccessDenied: not authorized");
        assert!(!permanent.is_transient());
        assert_eq!(
            ErrorChain(&permanent).to_string(),
            "AccessDenied: not authorized"
        );
    }
}
