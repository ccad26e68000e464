//! What became of one line: the outcome both `parse` and `stats` act on, decided the way the
//! Lambda's pass decides it (so both count the same lines as blank or failed).

use fleetwatch_alb::{LogKind, ParseError, Record, parse_line};
use fleetwatch_alb_logs::Stats;
use fleetwatch_alb_logs::{Line, MAX_LINE};

// Same reasoning as `Record` itself: an outcome lives on the stack for one line, and boxing the
// record would add an allocation per line to the hot path.
#[allow(clippy::large_enum_variant)]
pub enum LineOutcome<'a> {
    Parsed(Record<'a>),
    /// Nothing but a line ending: skipped and counted, not an error.
    Blank,
    Failed(LineFailure),
}

pub enum LineFailure {
    Parse(ParseError),
    /// Longer than [`MAX_LINE`]: cut by the reader, not worth parsing.
    TooLong,
    /// Reading stopped inside it (damaged input): never a whole line, even if it would parse.
    Cut,
}

impl LineFailure {
    /// Stable identifier (`too_few_fields`, ..., `line_too_long`).
    pub fn code(&self) -> &'static str {
        match self {
            LineFailure::Parse(error) => error.code(),
            LineFailure::TooLong => "line_too_long",
            LineFailure::Cut => "line_cut_by_damage",
        }
    }

    pub fn reason(&self) -> String {
        match self {
            LineFailure::Parse(error) => error.to_string(),
            LineFailure::TooLong => format!("line longer than {MAX_LINE} bytes (cut)"),
            LineFailure::Cut => "line cut short: reading stopped inside it".into(),
        }
    }
}

pub fn parse<'a>(kind: LogKind, line: &Line<'a>) -> LineOutcome<'a> {
    if line.cut {
        return LineOutcome::Failed(LineFailure::Cut);
    }
    if line.truncated {
        return LineOutcome::Failed(LineFailure::TooLong);
    }
    match parse_line(kind, line.bytes) {
        Ok(record) => LineOutcome::Parsed(record),
        Err(ParseError::EmptyLine) => LineOutcome::Blank,
        Err(error) => LineOutcome::Failed(LineFailure::Parse(error)),
    }
}

/// Adds one line's outcome to `stats`.
pub fn fold(stats: &mut Stats, outcome: &LineOutcome<'_>) {
    match outcome {
        LineOutcome::Parsed(record) => stats.record(record),
        LineOutcome::Blank => stats.blank_line(),
        LineOutcome::Failed(LineFailure::Parse(error)) => stats.failed_line(error),
        LineOutcome::Failed(LineFailure::TooLong) => stats.oversized_line(),
        // Counted as the pipeline counts it (`line cut by damage`).
        LineOutcome::Failed(LineFailure::Cut) => {
            stats.lines += 1;
            stats.failed += 1;
            *stats
                .error_reasons
                .entry("line cut by damage".into())
                .or_default() += 1;
        }
    }
}
