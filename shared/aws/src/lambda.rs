//! The Lambda runtime at the functions' edge: what Lambda reports when a handler fails (the
//! error's whole cause chain as the message: the runtime's default keeps only the outermost line;
//! its type's name as the error type), and when an invocation must have answered.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use fleetwatch_ports::ErrorChain;
use lambda_runtime::Diagnostic;

/// Below this a deadline cannot be a date of this century (2001-09-09 in Unix milliseconds).
const FIRST_PLAUSIBLE_DATE_MS: u64 = 1_000_000_000_000;

/// When the invocation must have answered, from the runtime API's `Lambda-Runtime-Deadline-Ms`
/// (`Context::deadline`): a date in Unix milliseconds. `cargo lambda watch` (1.9) sends the
/// function's timeout there instead (`600000`), which read as a date is January 1970 and would
/// leave a function that plans against its deadline no time at all; such a value is taken as
/// what it is, a timeout from `now`, so the functions also work under the local emulator.
pub fn invocation_deadline(deadline_ms: u64, now: SystemTime) -> SystemTime {
    if deadline_ms < FIRST_PLAUSIBLE_DATE_MS {
        return now + Duration::from_millis(deadline_ms);
    }
    UNIX_EPOCH + Duration::from_millis(deadline_ms)
}

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
    fn a_deadline_is_a_date_and_the_emulators_duration_counts_from_now() {
        let now = UNIX_EPOCH + Duration::from_secs(1_795_000_000);
        // What Lambda sends: a date, taken as it is.
        let date = 1_795_000_123_456;
        assert_eq!(
            invocation_deadline(date, now),
            UNIX_EPOCH + Duration::from_millis(date)
        );
        // What cargo lambda watch 1.9 sends: its ten-minute timeout.
        assert_eq!(
            invocation_deadline(600_000, now),
            now + Duration::from_secs(600)
        );
    }

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
