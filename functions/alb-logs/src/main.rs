//! alb-logs: S3 "object created" notifications (SQS, direct, SNS, EventBridge, S3 Batch
//! Operations) for ALB/ELB log objects. Configuration: `fleetwatch_alb_logs::env`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_runtime::tracing::init_default_subscriber();
    alb_logs::run().await
}
