//! alb-logs: S3 "object created" notifications (SQS, direct, SNS, EventBridge, S3 Batch
//! Operations) for ALB/ELB log objects. Configuration: `fleetwatch_alb_logs::env`.

use alb_logs::build_handler;
use fleetwatch_alb_logs::AlbLogsConfig;
use fleetwatch_aws::AwsClients;
use fleetwatch_ports::{MetricsSink, SystemClock};
use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let config = AlbLogsConfig::from_lookup(|name| std::env::var(name).ok())?;
    let aws = AwsClients::from_env().await;
    let clock = SystemClock::shared();
    let handler = build_handler(&config, &aws, MetricsSink::stdout(clock.clone()), clock).await?;
    run(service_fn(|event: LambdaEvent<Value>| {
        let handler = &handler;
        async move {
            handler
                .handle(event.payload)
                .await
                .map_err(fleetwatch_aws::diagnostic)
        }
    }))
    .await
}
