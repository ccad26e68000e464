//! The alertmanager-receiver function's wiring: its one secret (the bearer token) read at cold
//! start, the alerts queue and its dead-letter queue. A token that cannot be read does not stop
//! the function: every request is then answered 503 (Alertmanager keeps and retries its alerts),
//! the cause is logged once, and the token is read again once a minute until it is back.

use std::time::Duration;

use fleetwatch_aws::{AwsClients, SqsQueue, SsmSecrets};
use fleetwatch_ports::{MetricsSink, SharedClock};
use fleetwatch_slack_fanout::{Receiver, ReceiverConfig, ReceiverToken};

pub type AlertmanagerReceiver = Receiver<SqsQueue, SsmSecrets>;

pub async fn build_receiver(
    config: &ReceiverConfig,
    aws: &AwsClients,
    metrics: MetricsSink,
    clock: SharedClock,
) -> AlertmanagerReceiver {
    let secrets = SsmSecrets::new(aws.ssm(), Duration::from_secs(3600), clock.clone());
    let token = ReceiverToken::read(secrets, &config.token_parameter, clock).await;
    Receiver {
        intake: SqsQueue::new(aws.sqs(), &config.alerts_queue_url),
        dead_letters: SqsQueue::new(aws.sqs(), &config.dead_letter_queue_url),
        token,
        max_body_bytes: config.max_body_bytes,
        metrics,
    }
}

/// The function: configuration from the environment, the receiver, Lambda's runtime loop.
pub async fn run() -> Result<(), lambda_runtime::Error> {
    let config = ReceiverConfig::from_lookup(|name| std::env::var(name).ok())?;
    let aws = AwsClients::from_env().await;
    let clock = fleetwatch_ports::SystemClock::shared();
    let receiver = build_receiver(&config, &aws, MetricsSink::stdout(clock.clone()), clock).await;
    lambda_runtime::run(lambda_runtime::service_fn(
        |event: lambda_runtime::LambdaEvent<serde_json::Value>| {
            let receiver = &receiver;
            async move { Ok::<_, lambda_runtime::Error>(receiver.handle(&event.payload).await) }
        },
    ))
    .await
}
