//! Publishing messages to a queue (the alerts queue, dead-letter queues).

use std::future::Future;
use std::sync::Mutex;

use aws_sdk_sqs::types::SendMessageBatchRequestEntry;

use crate::sdk_error::{aws_error_text, is_transient};

/// SQS's per-message limit.
pub const MAX_MESSAGE_BYTES: usize = 256 * 1024;
/// SQS's per-request limits for `SendMessageBatch`.
const MAX_BATCH_ENTRIES: usize = 10;
const MAX_BATCH_BYTES: usize = 256 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("message of {size} bytes exceeds the queue limit of {MAX_MESSAGE_BYTES} bytes")]
    TooLarge { size: usize },
    #[error("sending to the queue: {reason}")]
    Send { reason: String, retryable: bool },
}

impl QueueError {
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            QueueError::Send {
                retryable: true,
                ..
            }
        )
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

#[derive(Clone)]
pub struct SqsQueue {
    client: aws_sdk_sqs::Client,
    queue_url: String,
}

impl SqsQueue {
    pub fn new(client: aws_sdk_sqs::Client, queue_url: impl Into<String>) -> Self {
        Self {
            client,
            queue_url: queue_url.into(),
        }
    }

    pub fn queue_url(&self) -> &str {
        &self.queue_url
    }
}

fn check_size(body: &str) -> Result<(), QueueError> {
    if body.len() > MAX_MESSAGE_BYTES {
        return Err(QueueError::TooLarge { size: body.len() });
    }
    Ok(())
}

/// Splits indices into request-sized groups: at most ten entries and 256 KiB per request.
fn batches(bodies: &[String]) -> Vec<Vec<usize>> {
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let mut bytes = 0;
    for (index, body) in bodies.iter().enumerate() {
        let full = groups
            .last()
            .is_none_or(|g| g.len() == MAX_BATCH_ENTRIES || bytes + body.len() > MAX_BATCH_BYTES);
        if full {
            groups.push(Vec::new());
            bytes = 0;
        }
        bytes += body.len();
        groups.last_mut().expect("pushed above").push(index);
    }
    groups
}

impl MessageQueue for SqsQueue {
    async fn send(&self, body: &str) -> Result<String, QueueError> {
        check_size(body)?;
        let output = self
            .client
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(body)
            .send()
            .await
            .map_err(|err| QueueError::Send {
                reason: aws_error_text(&err),
                retryable: is_transient(&err),
            })?;
        Ok(output.message_id.unwrap_or_default())
    }

    async fn send_all(&self, bodies: &[String]) -> Vec<Rejected> {
        let mut rejected = Vec::new();
        let mut sendable = Vec::new();
        for (index, body) in bodies.iter().enumerate() {
            match check_size(body) {
                Ok(()) => sendable.push(index),
                Err(error) => rejected.push(Rejected { index, error }),
            }
        }
        let sendable_bodies: Vec<String> = sendable.iter().map(|&i| bodies[i].clone()).collect();
        for group in batches(&sendable_bodies) {
            let entries = group
                .iter()
                .map(|&i| {
                    SendMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .message_body(&sendable_bodies[i])
                        .build()
                        .expect("id and body are set")
                })
                .collect();
            let result = self
                .client
                .send_message_batch()
                .queue_url(&self.queue_url)
                .set_entries(Some(entries))
                .send()
                .await;
            match result {
                Ok(output) => {
                    for failed in output.failed {
                        let Ok(i) = failed.id.parse::<usize>() else {
                            continue;
                        };
                        rejected.push(Rejected {
                            index: sendable[i],
                            error: QueueError::Send {
                                reason: format!(
                                    "{}: {}",
                                    failed.code,
                                    failed.message.unwrap_or_default()
                                ),
                                retryable: !failed.sender_fault,
                            },
                        });
                    }
                }
                Err(err) => {
                    let (reason, retryable) = (aws_error_text(&err), is_transient(&err));
                    rejected.extend(group.iter().map(|&i| Rejected {
                        index: sendable[i],
                        error: QueueError::Send {
                            reason: reason.clone(),
                            retryable,
                        },
                    }));
                }
            }
        }
        rejected.sort_by_key(|r| r.index);
        rejected
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
        check_size(body)?;
        let mut messages = self.messages.lock().unwrap_or_else(|e| e.into_inner());
        messages.push(body.to_string());
        Ok(format!("local-{}", messages.len()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_respect_entry_and_byte_limits() {
        let small: Vec<String> = (0..23).map(|i| format!("m{i}")).collect();
        let sizes: Vec<usize> = batches(&small).iter().map(Vec::len).collect();
        assert_eq!(sizes, vec![10, 10, 3]);

        let big = "x".repeat(100 * 1024);
        let large = vec![big.clone(), big.clone(), big.clone()];
        let groups = batches(&large);
        assert_eq!(groups, vec![vec![0, 1], vec![2]]);
    }

    #[tokio::test]
    async fn oversized_messages_are_rejected_not_truncated() {
        let queue = MemoryQueue::default();
        let bodies = vec!["ok".to_string(), "x".repeat(MAX_MESSAGE_BYTES + 1)];
        let rejected = queue.send_all(&bodies).await;
        assert_eq!(rejected.len(), 1);
        assert_eq!(rejected[0].index, 1);
        assert!(matches!(rejected[0].error, QueueError::TooLarge { .. }));
        assert_eq!(queue.messages(), vec!["ok".to_string()]);
    }
}
