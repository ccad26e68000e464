//! SQS: the alerts queue and the dead-letter queues.

use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use fleetwatch_ports::{BoxError, Fault, MessageQueue, QueueError, Rejected};

use crate::error::fault;

/// SQS's per-request limits for `SendMessageBatch`.
const MAX_BATCH_ENTRIES: usize = 10;
const MAX_BATCH_BYTES: usize = 256 * 1024;

#[derive(Clone, Debug)]
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
        QueueError::check_size(body)?;
        let output = self
            .client
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(body)
            .send()
            .await
            .map_err(|err| QueueError::Send(fault(err)))?;
        Ok(output.message_id.unwrap_or_default())
    }

    async fn send_all(&self, bodies: &[String]) -> Vec<Rejected> {
        let mut rejected = Vec::new();
        let mut sendable = Vec::new();
        for (index, body) in bodies.iter().enumerate() {
            match QueueError::check_size(body) {
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
                            error: QueueError::Send(entry_fault(&failed)),
                        });
                    }
                }
                Err(err) => {
                    // One failed request fails each of its entries, with the same cause.
                    let shared = std::sync::Arc::new(fault(err));
                    rejected.extend(group.iter().map(|&i| Rejected {
                        index: sendable[i],
                        error: QueueError::Send(SharedFault(shared.clone()).into()),
                    }));
                }
            }
        }
        rejected.sort_by_key(|r| r.index);
        rejected
    }
}

/// A refused batch entry: SQS says whose fault it was.
fn entry_fault(failed: &aws_sdk_sqs::types::BatchResultErrorEntry) -> Fault {
    let cause: BoxError = format!(
        "{}: {}",
        failed.code,
        failed.message.as_deref().unwrap_or_default()
    )
    .into();
    if failed.sender_fault {
        Fault::Permanent(cause)
    } else {
        Fault::Transient(cause)
    }
}

/// One request's failure, shared by the entries it carried.
#[derive(Debug)]
struct SharedFault(std::sync::Arc<Fault>);

impl std::fmt::Display for SharedFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for SharedFault {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

impl From<SharedFault> for Fault {
    fn from(shared: SharedFault) -> Fault {
        let transient = shared.0.is_transient();
        let cause: BoxError = Box::new(shared);
        if transient {
            Fault::Transient(cause)
        } else {
            Fault::Permanent(cause)
        }
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
}
