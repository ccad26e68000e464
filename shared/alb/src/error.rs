//! Why a line could not be parsed. Every variant is a reason a person can act on; the parser never
//! panics and never drops a line without one of these.

use crate::kind::LogKind;

/// The reason one line did not parse as the kind it was expected to be.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Nothing but a line ending (0-byte objects and trailing newlines produce these).
    #[error("empty line")]
    EmptyLine,
    /// The line ended before the last field this kind requires.
    #[error("too few fields: found {found}, expected at least {expected}")]
    TooFewFields { found: usize, expected: usize },
    /// A field that must be an ISO-8601 UTC timestamp (`2024-01-02T03:04:05.123456Z`; in NLB
    /// logs also without the `Z`) is not.
    #[error("bad timestamp in field `{field}`")]
    BadTimestamp { field: &'static str },
    /// A field that must be a number (or `-`) is not.
    #[error("bad number in field `{field}`")]
    BadNumber { field: &'static str },
    /// A field that must be `ip:port` (or `-`) is not.
    #[error("bad address in field `{field}`")]
    BadAddress { field: &'static str },
    /// A field has a value outside what the format allows (e.g. a `type` with spaces).
    #[error("bad value in field `{field}`")]
    BadField { field: &'static str },
    /// A `"` opened a field and the line ended before the closing quote.
    #[error("unterminated quote starting at byte {at}")]
    UnterminatedQuote { at: usize },
    /// The line is well formed, but as another kind of load balancer log than its file name says.
    #[error("line does not fit kind `{expected}`{}", found.map(|k| format!(" (looks like `{k}`)")).unwrap_or_default())]
    NotThisKind {
        expected: LogKind,
        found: Option<LogKind>,
    },
    /// The file kind is unknown and the line does not look like any known log format.
    #[error("line does not look like any load balancer log format")]
    Unrecognized,
}

impl ParseError {
    /// A short, stable identifier for metrics and error reports (`too_few_fields`, ...).
    pub fn code(&self) -> &'static str {
        match self {
            ParseError::EmptyLine => "empty_line",
            ParseError::TooFewFields { .. } => "too_few_fields",
            ParseError::BadTimestamp { .. } => "bad_timestamp",
            ParseError::BadNumber { .. } => "bad_number",
            ParseError::BadAddress { .. } => "bad_address",
            ParseError::BadField { .. } => "bad_field",
            ParseError::UnterminatedQuote { .. } => "unterminated_quote",
            ParseError::NotThisKind { .. } => "not_this_kind",
            ParseError::Unrecognized => "unrecognized",
        }
    }
}
