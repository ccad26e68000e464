//! Publishing messages to a queue (the alerts queue, dead-letter queues).

use std::future::Future;
use std::sync::Mutex;

use crate::fault::{Fault, FaultKind};

/// SQS's per-message limit.
pub const MAX_MESSAGE_BYTES: usize = 256 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// Never fits: retrying the same message cannot help.
    #[error("message of {size} bytes exceeds the queue limit of {MAX_MESSAGE_BYTES} bytes")]
    TooLarge { size: usize },
    #[error("sending to the queue")]
    Send(#[source] Fault),
}

impl QueueError {
    pub fn kind(&self) -> FaultKind {
        match self {
            QueueError::TooLarge { .. } => FaultKind::Permanent,
            QueueError::Send(fault) => fault.kind(),
        }
    }

    pub fn is_transient(&self) -> bool {
        self.kind() == FaultKind::Transient
    }

    /// Refuses a message over the queue's limit before any call is made.
    pub fn check_size(body: &str) -> Result<(), QueueError> {
        if body.len() > MAX_MESSAGE_BYTES {
            return Err(QueueError::TooLarge { size: body.len() });
        }
        Ok(())
    }
}

/// A message that was not accepted, by its index in the input.
#[derive(Debug)]
pub struct Rejected {
    pub index: usize,
    pub error: QueueError,
}

pub trait MessageQueue {
    /// Sends one message, returning the queue's message id.
    fn send(&self, body: &str) -> impl Future<Output = Result<String, QueueError>> + Send;

    /// Sends many messages in as few requests as the queue allows. Returns the messages that were
    /// not accepted; the rest were. By default one [`MessageQueue::send`] per message.
    fn send_all(&self, bodies: &[String]) -> impl Future<Output = Vec<Rejected>> + Send
    where
        Self: Sync,
    {
        async move {
            let mut rejected = Vec::new();
            for (index, body) in bodies.iter().enumerate() {
                if let Err(error) = self.send(body).await {
                    rejected.push(Rejected { index, error });
                }
            }
            rejected
        }
    }
}

/// Collects messages in memory, for the CLI and tests.
#[derive(Debug, Default)]
pub struct MemoryQueue {
    messages: Mutex<Vec<String>>,
}

impl MemoryQueue {
    pub fn messages(&self) -> Vec<String> {
        self.messages
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

impl MessageQueue for MemoryQueue {
    async fn send(&self, body: &str) -> Result<String, QueueError> {
        QueueError::check_size(body)?;
        let mut messages = self.messages.lock().unwrap_or_else(|e| e.into_inner());
        messages.push(body.to_string());
        Ok(format!("local-{}", messages.len()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn oversized_messages_are_rejected_not_truncated() {
        let queue = MemoryQueue::default();
        let bodies = vec!["ok".to_string(), "x".repeat(MAX_MESSAGE_BYTES + 1)];
        let rejected = queue.send_all(&bodies).await;
        assert_eq!(rejected.len(), 1);
        assert_eq!(rejected[0].index, 1);
        assert!(matches!(rejected[0].error, QueueError::TooLarge { .. }));
        assert!(!rejected[0].error.is_transient());
        assert_eq!(queue.messages(), vec!["ok".to_string()]);
    }
}
