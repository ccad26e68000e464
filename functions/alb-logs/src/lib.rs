//! The alb-logs function's wiring: configuration from the environment, the AWS and `_bulk`
//! adapters plugged into the job's ports. `main` and the integration suite both use it.

use std::sync::Arc;
use std::time::Duration;

use fleetwatch_alb_logs::{
    AlbLogsConfig, Handler, PassConfig, Pipeline, SearchAuth, SearchConfig, SearchOperation,
};
use fleetwatch_aws::{AwsClients, S3Objects, S3Store, SqsQueue, SsmSecrets};
use fleetwatch_ports::{MetricsSink, SecretError, SecretSource, SharedClock};
use fleetwatch_search::{Auth, BulkConfig, BulkError, BulkOp, BulkSink, SigV4Auth};

#[derive(Debug, thiserror::Error)]
pub enum WiringError {
    #[error("reading the search password")]
    Secret(#[from] SecretError),
    #[error("SigV4 needs AWS credentials and a region; none were found")]
    NoCredentials,
    #[error("the search client")]
    Search(#[from] BulkError),
}

/// Search documents go to `_bulk` when an endpoint is configured, nowhere otherwise.
pub type AlbLogsHandler = Handler<S3Objects, Option<BulkSink>, S3Store, SqsQueue>;

pub async fn build_handler(
    config: &AlbLogsConfig,
    aws: &AwsClients,
    metrics: MetricsSink,
    clock: SharedClock,
) -> Result<AlbLogsHandler, WiringError> {
    let s3 = aws.s3();
    let mut pass = PassConfig::new(&config.work_dir);
    pass.search_format = config.search.as_ref().map(|s| s.format);
    pass.table_format = config.table.as_ref().map(|t| t.format);
    let search = match &config.search {
        None => None,
        Some(search) => Some(bulk_sink(search, aws, clock.clone()).await?),
    };
    let queue = |url: &Option<String>| url.as_ref().map(|u| SqsQueue::new(aws.sqs(), u));
    Ok(Handler {
        pipeline: Pipeline {
            pass: Arc::new(pass),
            search,
            table: config
                .table
                .as_ref()
                .map(|t| (S3Store::new(s3.clone(), &t.bucket), t.prefix.clone())),
            errors: (
                S3Store::new(s3.clone(), &config.errors_bucket),
                config.errors_prefix.clone(),
            ),
        },
        source: S3Objects::new(s3),
        alerts: queue(&config.alerts_queue_url),
        poison: queue(&config.poison_queue_url),
        thresholds: config.thresholds.clone(),
        metrics,
    })
}

async fn bulk_sink(
    search: &SearchConfig,
    aws: &AwsClients,
    clock: SharedClock,
) -> Result<BulkSink, WiringError> {
    let auth = match &search.auth {
        SearchAuth::None => Auth::None,
        SearchAuth::Basic {
            user,
            password_parameter,
        } => {
            let secrets = SsmSecrets::new(aws.ssm(), Duration::from_secs(300), clock.clone());
            Auth::Basic {
                user: user.clone(),
                password: secrets.secret(password_parameter).await?,
            }
        }
        SearchAuth::SigV4 { service } => {
            let sdk = aws.sdk_config();
            let credentials = sdk
                .credentials_provider()
                .ok_or(WiringError::NoCredentials)?;
            let region = sdk.region().ok_or(WiringError::NoCredentials)?;
            Auth::SigV4(SigV4Auth::new(
                credentials,
                region.to_string(),
                service,
                clock.clone(),
            ))
        }
    };
    let op = match search.op {
        SearchOperation::Create => BulkOp::Create,
        SearchOperation::Index => BulkOp::Index,
    };
    let bulk = BulkConfig::new(&search.endpoint, &search.index, op);
    Ok(BulkSink::new(bulk, auth, clock)?)
}

/// Time kept back from the Lambda deadline to answer (the partial batch failures) and to flush
/// the log lines of what was abandoned.
const ANSWER_MARGIN: Duration = Duration::from_secs(3);

/// The invocation's deadline on the runtime's clock, less the time to answer.
fn deadline(context: &lambda_runtime::Context) -> tokio::time::Instant {
    let now = std::time::SystemTime::now();
    let left = fleetwatch_aws::invocation_deadline(context.deadline, now)
        .duration_since(now)
        .unwrap_or_default();
    tokio::time::Instant::now() + left.saturating_sub(ANSWER_MARGIN)
}

/// The function: configuration from the environment, the handler, Lambda's runtime loop.
pub async fn run() -> Result<(), lambda_runtime::Error> {
    let config = fleetwatch_alb_logs::AlbLogsConfig::from_lookup(|name| std::env::var(name).ok())?;
    let aws = AwsClients::from_env().await;
    let clock = fleetwatch_ports::SystemClock::shared();
    let handler = build_handler(&config, &aws, MetricsSink::stdout(clock.clone()), clock).await?;
    lambda_runtime::run(lambda_runtime::service_fn(
        |event: lambda_runtime::LambdaEvent<serde_json::Value>| {
            let handler = &handler;
            async move {
                handler
                    .handle(event.payload, deadline(&event.context))
                    .await
                    .map_err(fleetwatch_aws::diagnostic)
            }
        },
    ))
    .await
}
