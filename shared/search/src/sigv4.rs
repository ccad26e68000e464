//! SigV4 request signing for Amazon OpenSearch Service (`es`) and OpenSearch Serverless (`aoss`).

use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_sigv4::http_request::{
    PayloadChecksumKind, SignableBody, SignableRequest, SigningSettings, sign,
};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use fleetwatch_ports::{BoxError, SharedClock};
use reqwest::header::{HeaderName, HeaderValue};

#[derive(Clone, Debug)]
pub struct SigV4Auth {
    credentials: SharedCredentialsProvider,
    region: String,
    service: String,
    /// The signing time (a signature is valid for 15 minutes around it).
    clock: SharedClock,
    /// Sends `X-Amz-Content-Sha256` (OpenSearch Serverless requires it; domains accept it).
    payload_hash_header: bool,
}

impl SigV4Auth {
    /// `service` is `es` for OpenSearch Service domains, `aoss` for Serverless collections.
    pub fn new(
        credentials: SharedCredentialsProvider,
        region: impl Into<String>,
        service: impl Into<String>,
        clock: SharedClock,
    ) -> Self {
        Self {
            credentials,
            region: region.into(),
            service: service.into(),
            clock,
            payload_hash_header: true,
        }
    }

    /// Without the `X-Amz-Content-Sha256` header (the plain SigV4 of AWS's test suite).
    pub fn without_payload_hash_header(mut self) -> Self {
        self.payload_hash_header = false;
        self
    }

    /// Adds the `Authorization`, `X-Amz-Date`, `X-Amz-Content-Sha256` (and session token) headers.
    pub(crate) async fn sign(&self, request: &mut reqwest::Request) -> Result<(), BoxError> {
        let credentials = self
            .credentials
            .provide_credentials()
            .await
            .map_err(|e| SigningError("loading AWS credentials", Box::new(e)))?;
        let identity = Identity::from(credentials);
        let mut settings = SigningSettings::default();
        // Serverless requires the payload hash header; domains accept it.
        if self.payload_hash_header {
            settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
        }
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name(&self.service)
            .time(self.clock.now())
            .settings(settings)
            .build()
            .map_err(|e| SigningError("SigV4 parameters", Box::new(e)))?
            .into();
        let body = request
            .body()
            .and_then(reqwest::Body::as_bytes)
            .unwrap_or_default();
        let headers: Vec<(&str, &str)> = request
            .headers()
            .iter()
            .filter_map(|(name, value)| Some((name.as_str(), value.to_str().ok()?)))
            .collect();
        let signable = SignableRequest::new(
            request.method().as_str(),
            request.url().as_str(),
            headers.into_iter(),
            SignableBody::Bytes(body),
        )
        .map_err(|e| SigningError("SigV4 request", Box::new(e)))?;
        let (instructions, _signature) = sign(signable, &params)
            .map_err(|e| SigningError("SigV4 signing", Box::new(e)))?
            .into_parts();
        let (new_headers, _query) = instructions.into_parts();
        for header in new_headers {
            let name = HeaderName::from_bytes(header.name().as_bytes())
                .map_err(|e| SigningError("SigV4 header name", Box::new(e)))?;
            let value = HeaderValue::from_str(header.value())
                .map_err(|e| SigningError("SigV4 header value", Box::new(e)))?;
            request.headers_mut().insert(name, value);
        }
        Ok(())
    }
}

/// A signing step that failed, with its cause.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct SigningError(&'static str, #[source] BoxError);

#[cfg(test)]
mod tests {
    use super::*;
    use aws_credential_types::Credentials;

    #[tokio::test]
    async fn signs_with_the_service_and_region_in_the_scope() {
        let auth = SigV4Auth::new(
            SharedCredentialsProvider::new(Credentials::new(
                "AKIDEXAMPLE",
                "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                Some("session-token".into()),
                None,
                "test",
            )),
            "eu-west-1",
            "es",
            fleetwatch_ports::SystemClock::shared(),
        );
        let client = reqwest::Client::new();
        let mut request = client
            .post("https://search-logs.eu-west-1.es.amazonaws.com/_bulk")
            .header("content-type", "application/x-ndjson")
            .body("{\"create\":{}}\n{}\n")
            .build()
            .unwrap();
        auth.sign(&mut request).await.unwrap();
        let header = |name: &str| {
            request
                .headers()
                .get(name)
                .map(|v| v.to_str().unwrap().to_string())
        };
        let authorization = header("authorization").expect("signed");
        assert!(
            authorization.starts_with("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/"),
            "{authorization}"
        );
        assert!(
            authorization.contains("/eu-west-1/es/aws4_request"),
            "{authorization}"
        );
        assert!(header("x-amz-date").is_some());
        assert_eq!(
            header("x-amz-security-token").as_deref(),
            Some("session-token")
        );
        assert!(header("x-amz-content-sha256").is_some());
    }

    /// `get-vanilla` of AWS's SigV4 test suite: the exact Authorization value.
    #[tokio::test]
    async fn the_signature_is_the_sigv4_test_suites_get_vanilla() {
        let clock = fleetwatch_ports::ManualClock::at_epoch_seconds(1_440_938_160); // 2015-08-30T12:36:00Z
        let auth = SigV4Auth::new(
            SharedCredentialsProvider::new(Credentials::new(
                "AKIDEXAMPLE",
                "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                None,
                None,
                "test",
            )),
            "us-east-1",
            "service",
            std::sync::Arc::new(clock),
        )
        .without_payload_hash_header();
        let mut request = reqwest::Client::new()
            .get("https://example.amazonaws.com/")
            .build()
            .unwrap();
        auth.sign(&mut request).await.unwrap();
        assert_eq!(
            request.headers()["authorization"],
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
             SignedHeaders=host;x-amz-date, \
             Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
        );
        assert_eq!(request.headers()["x-amz-date"], "20150830T123600Z");
    }
}
