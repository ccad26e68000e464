//! What the suites share: SDK clients for a moto server (configured exactly as a function
//! configures them from `AWS_ENDPOINT_URL`), state tables and queues in it, and the SQS event
//! Lambda builds from received messages.

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use fleetwatch_aws::AwsClients;
use fleetwatch_test_support::moto::{MotoServer, REGION};
use serde_json::{Value, json};

/// What a test returns: a missing tool (`NeedsSetup`) fails it with its one-line message.
pub type TestResult = Result<(), Box<dyn std::error::Error>>;

/// The SDK side of a moto server.
pub trait MotoClients {
    /// SDK configuration for this server: its endpoint, a region, static test credentials, no
    /// retries (moto answers unimplemented operations with 500; a test should fail fast) and
    /// generous call timeouts (moto answers a service's first call slowly on a busy machine).
    async fn sdk_config(&self) -> SdkConfig;

    /// The project's client factory pointed at this server.
    async fn clients(&self) -> AwsClients;

    /// Creates an SQS queue; its URL.
    async fn create_queue(&self, name: &str) -> String;

    /// Creates a table with the schema of `template.yaml`'s state table (`pk` string key,
    /// `expires_at` TTL attribute).
    async fn create_state_table(&self, name: &str);
}

impl MotoClients for MotoServer {
    async fn sdk_config(&self) -> SdkConfig {
        aws_config::defaults(BehaviorVersion::latest())
            .endpoint_url(self.endpoint())
            .region(Region::new(REGION))
            .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
                "testing", "testing", None, None, "moto",
            )))
            .retry_config(aws_config::retry::RetryConfig::disabled())
            .timeout_config(
                aws_config::timeout::TimeoutConfig::builder()
                    .operation_attempt_timeout(std::time::Duration::from_secs(60))
                    .operation_timeout(std::time::Duration::from_secs(60))
                    .build(),
            )
            .load()
            .await
    }

    async fn clients(&self) -> AwsClients {
        AwsClients::from_sdk_config(self.sdk_config().await)
    }

    async fn create_queue(&self, name: &str) -> String {
        self.clients()
            .await
            .sqs()
            .create_queue()
            .queue_name(name)
            .send()
            .await
            .expect("CreateQueue")
            .queue_url
            .expect("CreateQueue answers a URL")
    }

    async fn create_state_table(&self, name: &str) {
        use aws_sdk_dynamodb::types::{
            AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
            TimeToLiveSpecification,
        };
        let client = self.clients().await.dynamodb();
        client
            .create_table()
            .table_name(name)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name("pk")
                    .attribute_type(ScalarAttributeType::S)
                    .build()
                    .expect("complete attribute definition"),
            )
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name("pk")
                    .key_type(KeyType::Hash)
                    .build()
                    .expect("complete key schema"),
            )
            .send()
            .await
            .expect("creating the state table in moto");
        client
            .update_time_to_live()
            .table_name(name)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .attribute_name("expires_at")
                    .enabled(true)
                    .build()
                    .expect("complete TTL specification"),
            )
            .send()
            .await
            .expect("enabling TTL in moto");
    }
}

/// The SQS event Lambda builds from received messages, so a test hands a real queue's messages
/// (ids, receipt handles, bodies) to a handler exactly as the event source would.
pub fn lambda_event(messages: &[aws_sdk_sqs::types::Message], queue_arn: &str) -> Value {
    let records: Vec<Value> = messages
        .iter()
        .map(|m| {
            json!({
                "messageId": m.message_id(),
                "receiptHandle": m.receipt_handle(),
                "body": m.body(),
                // The count SQS reports when asked for it (as the event source always is).
                "attributes": {"ApproximateReceiveCount": receive_count(m)},
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

fn receive_count(message: &aws_sdk_sqs::types::Message) -> String {
    use aws_sdk_sqs::types::MessageSystemAttributeName;
    message
        .attributes()
        .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
        .cloned()
        .unwrap_or_else(|| "1".into())
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
