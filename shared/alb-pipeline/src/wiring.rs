//! Builds the alb-logs handler from its configuration and the AWS clients: the one place where
//! adapters are chosen. The Lambda's `main` and the integration tests both use it.

use std::sync::Arc;
use std::time::Duration;

use fleetwatch_aws::AwsClients;
use fleetwatch_aws::s3::S3ObjectSource;
use fleetwatch_aws::sqs::SqsQueue;
use fleetwatch_aws::ssm::{SecretSource, SsmSecrets};
use fleetwatch_search::{Auth, BulkConfig, BulkIndexer, SigV4Auth};

use crate::config::{AlbLogsConfig, SearchAuth};
use crate::handler::Handler;
use crate::object::Pipeline;
use crate::pass::PassConfig;
use crate::sinks::SearchTarget;
use crate::store::Store;
use fleetwatch_aws::emf::MetricsSink;

#[derive(Debug, thiserror::Error)]
pub enum WiringError {
    #[error("reading the search password: {0}")]
    Secret(#[from] fleetwatch_aws::ssm::SecretError),
    #[error("SigV4 needs AWS credentials and a region; none were found")]
    NoCredentials,
    #[error("search client: {0}")]
    Search(#[from] fleetwatch_search::BulkError),
}

pub type AlbLogsHandler = Handler<S3ObjectSource, SqsQueue>;

pub async fn build_handler(
    config: &AlbLogsConfig,
    aws: &AwsClients,
    metrics: MetricsSink,
) -> Result<AlbLogsHandler, WiringError> {
    let s3 = aws.s3();
    let mut pass = PassConfig::new(&config.work_dir);
    pass.search_format = config.search.as_ref().map(|s| s.format);
    pass.table_format = config.table.as_ref().map(|t| t.format);

    let search = match &config.search {
        None => SearchTarget::None,
        Some(search) => {
            let auth = match &search.auth {
                SearchAuth::None => Auth::None,
                SearchAuth::Basic {
                    user,
                    password_parameter,
                } => {
                    let secrets = SsmSecrets::new(aws.ssm(), Duration::from_secs(300));
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
                    Auth::SigV4(SigV4Auth::new(credentials, region.to_string(), service))
                }
            };
            let bulk = BulkConfig::new(&search.endpoint, &search.index, search.op);
            SearchTarget::Bulk {
                http: BulkIndexer::http_client(&bulk)?,
                config: bulk,
                auth,
            }
        }
    };
    let table = config.table.as_ref().map(|t| {
        (
            Store::S3 {
                client: s3.clone(),
                bucket: t.bucket.clone(),
            },
            t.prefix.clone(),
        )
    });
    let errors = (
        Store::S3 {
            client: s3.clone(),
            bucket: config.errors_bucket.clone(),
        },
        config.errors_prefix.clone(),
    );
    let queue = |url: &Option<String>| url.as_ref().map(|u| SqsQueue::new(aws.sqs(), u));
    Ok(Handler {
        pipeline: Pipeline {
            pass: Arc::new(pass),
            search,
            table,
            errors,
        },
        source: S3ObjectSource::new(s3),
        alerts: queue(&config.alerts_queue_url),
        poison: queue(&config.poison_queue_url),
        thresholds: config.thresholds.clone(),
        metrics,
    })
}
