//! What Lambda reports when a handler fails: the error's whole cause chain as the message (the
//! runtime's default keeps only the outermost line), its type's name as the error type.

use fleetwatch_ports::ErrorChain;
use lambda_runtime::Diagnostic;

/// The invocation error Lambda logs and returns for `error`.
pub fn diagnostic<E: std::error::Error + 'static>(error: E) -> Diagnostic {
    let full = std::any::type_name::<E>();
    let short = full.rsplit("::").next().unwrap_or(full);
    Diagnostic {
        error_type: short.to_string(),
        error_message: ErrorChain(&error).to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("an object failed and will be retried")]
    struct Failed(#[source] std::io::Error);

    #[test]
    fn the_message_carries_the_cause_and_the_type_is_short() {
        let diagnostic = diagnostic(Failed(std::io::Error::other("NoSuchBucket: gone")));
        assert_eq!(diagnostic.error_type, "Failed");
        assert_eq!(
            diagnostic.error_message,
            "an object failed and will be retried: NoSuchBucket: gone"
        );
    }
}
