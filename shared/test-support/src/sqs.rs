//! The SQS event Lambda builds from received messages, so a test can hand a real queue's
//! messages (ids, receipt handles, bodies) to a handler exactly as the event source would; and
//! reading a queue in tests.

use serde_json::{Value, json};

pub fn lambda_event(messages: &[aws_sdk_sqs::types::Message], queue_arn: &str) -> Value {
    let records: Vec<Value> = messages
        .iter()
        .map(|m| {
            json!({
                "messageId": m.message_id(),
                "receiptHandle": m.receipt_handle(),
                "body": m.body(),
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {},
                "md5OfBody": m.md5_of_body(),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": "us-east-1"
            })
        })
        .collect();
    json!({ "Records": records })
}

/// What one ReceiveMessage call returns now (up to 10 messages, invisible for the queue's
/// visibility timeout).
pub async fn receive(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
) -> Vec<aws_sdk_sqs::types::Message> {
    sqs.receive_message()
        .queue_url(queue_url)
        .max_number_of_messages(10)
        .send()
        .await
        .expect("ReceiveMessage")
        .messages
        .unwrap_or_default()
}

/// Deletes received messages (acknowledges them, as the event source does).
pub async fn delete(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    messages: &[aws_sdk_sqs::types::Message],
) {
    for message in messages {
        sqs.delete_message()
            .queue_url(queue_url)
            .receipt_handle(message.receipt_handle().unwrap_or_default())
            .send()
            .await
            .expect("DeleteMessage");
    }
}

/// Receives and deletes everything the queue holds: the bodies.
pub async fn take_all(sqs: &aws_sdk_sqs::Client, queue_url: &str) -> Vec<String> {
    let mut bodies = Vec::new();
    loop {
        let messages = receive(sqs, queue_url).await;
        if messages.is_empty() {
            return bodies;
        }
        bodies.extend(
            messages
                .iter()
                .map(|m| m.body().unwrap_or_default().to_string()),
        );
        delete(sqs, queue_url, &messages).await;
    }
}
