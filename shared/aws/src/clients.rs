//! The one place that builds SDK clients.

use aws_config::{BehaviorVersion, SdkConfig};
use aws_smithy_types::checksum_config::{RequestChecksumCalculation, ResponseChecksumValidation};

/// Shared SDK configuration; hands out one client per service. Build it once per cold start.
#[derive(Clone, Debug)]
pub struct AwsClients {
    config: SdkConfig,
    /// An endpoint override (moto, LocalStack, MinIO) cannot do virtual-host buckets.
    s3_path_style: bool,
}

impl AwsClients {
    /// Configuration from the environment (region, credentials, `AWS_ENDPOINT_URL`, ...).
    ///
    /// With an endpoint override, S3 uses path-style addressing and checksums are computed and
    /// validated only when an operation requires them: local servers reject or mangle the
    /// `aws-chunked` trailing checksums the SDK sends by default.
    pub async fn from_env() -> Self {
        let config = aws_config::defaults(BehaviorVersion::latest()).load().await;
        let s3_override = std::env::var_os("AWS_ENDPOINT_URL_S3").is_some();
        Self::build(config, s3_override)
    }

    /// Configuration built by the caller (tests point it at moto this way).
    pub fn from_sdk_config(config: SdkConfig) -> Self {
        Self::build(config, false)
    }

    fn build(config: SdkConfig, s3_override: bool) -> Self {
        let local = config.endpoint_url().is_some() || s3_override;
        let config = if local {
            config
                .into_builder()
                .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
                .response_checksum_validation(ResponseChecksumValidation::WhenRequired)
                .build()
        } else {
            config
        };
        Self {
            config,
            s3_path_style: local,
        }
    }

    pub fn sdk_config(&self) -> &SdkConfig {
        &self.config
    }

    pub fn s3(&self) -> aws_sdk_s3::Client {
        let conf = aws_sdk_s3::config::Builder::from(&self.config)
            .force_path_style(self.s3_path_style)
            .build();
        aws_sdk_s3::Client::from_conf(conf)
    }

    pub fn sqs(&self) -> aws_sdk_sqs::Client {
        aws_sdk_sqs::Client::new(&self.config)
    }

    pub fn ssm(&self) -> aws_sdk_ssm::Client {
        aws_sdk_ssm::Client::new(&self.config)
    }

    pub fn dynamodb(&self) -> aws_sdk_dynamodb::Client {
        aws_sdk_dynamodb::Client::new(&self.config)
    }
}
