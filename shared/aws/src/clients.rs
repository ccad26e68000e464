//! The one place that builds SDK clients.

use std::time::Duration;

use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_smithy_types::checksum_config::{RequestChecksumCalculation, ResponseChecksumValidation};

/// The environment variable that sets every client's call timeout, in seconds.
pub const CALL_TIMEOUT: &str = "FLEETWATCH_AWS_CALL_TIMEOUT";

/// Every call is bounded, so a slow service cannot run a function into its own timeout after
/// work that must be recorded: SQS, DynamoDB, SSM, ECS and CloudWatch Logs answer in
/// milliseconds; one attempt gets 3 s, the call with its retries 8 s.
fn control_plane_timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(2))
        .operation_attempt_timeout(Duration::from_secs(3))
        .operation_timeout(CONTROL_PLANE_OPERATION_TIMEOUT)
        .build()
}

const CONTROL_PLANE_OPERATION_TIMEOUT: Duration = Duration::from_secs(8);

/// S3 carries log objects and output files of tens of megabytes: an attempt gets a minute, the
/// call with its retries two (alb-logs' timeout is five).
fn transfer_timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(2))
        .operation_attempt_timeout(Duration::from_secs(60))
        .operation_timeout(Duration::from_secs(120))
        .build()
}

/// Shared SDK configuration; hands out one client per service. Build it once per cold start.
#[derive(Clone, Debug)]
pub struct AwsClients {
    config: SdkConfig,
    /// An endpoint override (moto, LocalStack, MinIO) cannot do virtual-host buckets.
    s3_path_style: bool,
    s3_timeouts: TimeoutConfig,
}

impl AwsClients {
    /// Configuration from the environment (region, credentials, `AWS_ENDPOINT_URL`, ...).
    ///
    /// With an endpoint override, S3 uses path-style addressing and checksums are computed and
    /// validated only when an operation requires them: local servers reject or mangle the
    /// `aws-chunked` trailing checksums the SDK sends by default.
    ///
    /// `FLEETWATCH_AWS_CALL_TIMEOUT` (seconds) replaces the call timeouts of every client (a slow
    /// network, or a local server on a loaded machine).
    pub async fn from_env() -> Self {
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        if let Some(seconds) = std::env::var(CALL_TIMEOUT)
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
        {
            let call = Duration::from_secs(seconds);
            loader = loader.timeout_config(
                TimeoutConfig::builder()
                    .operation_attempt_timeout(call)
                    .operation_timeout(call)
                    .build(),
            );
        }
        let config = loader.load().await;
        let s3_override = std::env::var_os("AWS_ENDPOINT_URL_S3").is_some();
        Self::build(config, s3_override)
    }

    /// Configuration built by the caller (tests point it at moto this way).
    pub fn from_sdk_config(config: SdkConfig) -> Self {
        Self::build(config, false)
    }

    fn build(config: SdkConfig, s3_override: bool) -> Self {
        let local = config.endpoint_url().is_some() || s3_override;
        // A configuration that sets its own call timeouts keeps them (tests against moto).
        let chosen = config
            .timeout_config()
            .filter(|t| t.operation_attempt_timeout().is_some())
            .cloned();
        let timeouts = chosen.clone().unwrap_or_else(control_plane_timeouts);
        let mut builder = config.into_builder().timeout_config(timeouts);
        if local {
            builder = builder
                .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
                .response_checksum_validation(ResponseChecksumValidation::WhenRequired);
        }
        let config = builder.build();
        Self {
            config,
            s3_path_style: local,
            s3_timeouts: chosen.unwrap_or_else(transfer_timeouts),
        }
    }

    /// The longest one DynamoDB, SQS or SSM call may take, retries included (what a caller
    /// keeps in hand for a call that must finish before its deadline).
    pub fn state_call_limit(&self) -> Duration {
        self.config
            .timeout_config()
            .and_then(|t| t.operation_timeout().or(t.operation_attempt_timeout()))
            .unwrap_or(CONTROL_PLANE_OPERATION_TIMEOUT)
    }

    pub fn sdk_config(&self) -> &SdkConfig {
        &self.config
    }

    pub fn s3(&self) -> aws_sdk_s3::Client {
        let conf = aws_sdk_s3::config::Builder::from(&self.config)
            .force_path_style(self.s3_path_style)
            .timeout_config(self.s3_timeouts.clone())
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

#[cfg(test)]
mod tests {
    use aws_config::Region;

    use super::*;

    fn clients() -> AwsClients {
        let config = SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("eu-west-1"))
            .build();
        AwsClients::from_sdk_config(config)
    }

    #[test]
    fn every_call_is_bounded_and_transfers_get_longer() {
        let clients = clients();
        assert_eq!(clients.state_call_limit(), Duration::from_secs(8));
        let dynamodb = clients.dynamodb();
        let control = dynamodb.config().timeout_config().expect("timeouts");
        assert_eq!(control.connect_timeout(), Some(Duration::from_secs(2)));
        assert_eq!(
            control.operation_attempt_timeout(),
            Some(Duration::from_secs(3))
        );
        assert_eq!(control.operation_timeout(), Some(Duration::from_secs(8)));
        let s3 = clients.s3();
        let transfer = s3.config().timeout_config().expect("timeouts");
        assert_eq!(transfer.operation_timeout(), Some(Duration::from_secs(120)));
    }
}
