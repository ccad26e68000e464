//! SDK errors as one safe line of text, and which of them a retry can fix.

use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

/// One line describing an SDK failure: the service's error code and message, or the whole source
/// chain for transport failures (an `SdkError`'s own `Display` is only "service error").
/// Neither carries credentials or request bodies.
pub fn aws_error_text<E, R>(err: &SdkError<E, R>) -> String
where
    E: std::error::Error + ProvideErrorMetadata + 'static,
    R: std::fmt::Debug,
{
    match err.as_service_error() {
        Some(service) => format!(
            "{}: {}",
            service.code().unwrap_or("unknown error"),
            service.message().unwrap_or("no message")
        ),
        None => DisplayErrorContext(err).to_string(),
    }
}

/// Whether a service error is worth retrying: throttling and server-side failures are; validation,
/// access and not-found errors are not.
pub fn is_transient<E, R>(err: &SdkError<E, R>) -> bool
where
    E: ProvideErrorMetadata,
{
    match err {
        SdkError::ServiceError(service) => {
            let code = service.err().code().unwrap_or_default();
            code.contains("Throttl")
                || code.contains("ProvisionedThroughputExceeded")
                || code.contains("RequestLimitExceeded")
                || code.contains("InternalServer")
                || code.contains("ServiceUnavailable")
                || code.contains("InternalError")
        }
        // Timeouts, dispatch (connection) failures and unparseable responses.
        _ => true,
    }
}
