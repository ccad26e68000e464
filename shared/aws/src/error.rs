//! SDK failures as [`Fault`]s: the retry verdict made once, here, and the cause kept.

use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use fleetwatch_ports::Fault;

/// What the service answered when it refused a call. Neither part carries credentials or request
/// bodies.
#[derive(Debug, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ServiceError {
    pub code: String,
    pub message: String,
}

/// Classifies an SDK failure. A service error becomes its code and message (an `SdkError`'s own
/// `Display` is only "service error"); a transport failure (timeout, connection, unreadable
/// answer) keeps the SDK error as the cause, whose chain says what happened.
pub fn fault<E, R>(err: SdkError<E, R>) -> Fault
where
    E: std::error::Error + ProvideErrorMetadata + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let transient = is_transient(&err);
    let cause: fleetwatch_ports::BoxError = match err.as_service_error() {
        Some(service) => Box::new(ServiceError {
            code: service.code().unwrap_or("unknown error").to_string(),
            message: service.message().unwrap_or("no message").to_string(),
        }),
        None => Box::new(err),
    };
    if transient {
        Fault::Transient(cause)
    } else {
        Fault::Permanent(cause)
    }
}

/// Throttling and server-side failures are worth retrying; validation, access and not-found
/// errors are not. Timeouts, dispatch (connection) failures and unparseable answers are.
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
        _ => true,
    }
}
