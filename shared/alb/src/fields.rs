//! Sequential field reading shared by the per-kind parsers: counts fields for `TooFewFields`, and
//! hands back the unread rest of the line as trailing fields AWS may add in the future.

use crate::error::ParseError;
use crate::time::Timestamp;
use crate::tokenize::{Text, Token, Tokenizer};

pub(crate) struct Fields<'a> {
    pub(crate) tok: Tokenizer<'a>,
    pub(crate) line: &'a [u8],
    /// How many fields were taken so far.
    pub(crate) count: usize,
    /// How many fields the kind needs at least.
    required: usize,
}

impl<'a> Fields<'a> {
    pub(crate) fn new(line: &'a [u8], required: usize) -> Self {
        Fields {
            tok: Tokenizer::new(line),
            line,
            count: 0,
            required,
        }
    }

    /// The next field; the line ending here is an error while fewer than `required` were read.
    #[inline(always)]
    pub(crate) fn next(&mut self) -> Result<Token<'a>, ParseError> {
        match self.tok.next_token()? {
            Some(t) => {
                self.count += 1;
                Ok(t)
            }
            None => Err(ParseError::TooFewFields {
                found: self.count,
                expected: self.required,
            }),
        }
    }

    /// The next field of the optional tail: `None` once the line has ended.
    #[inline(always)]
    pub(crate) fn optional(&mut self) -> Result<Option<Token<'a>>, ParseError> {
        let t = self.tok.next_token()?;
        if t.is_some() {
            self.count += 1;
        }
        Ok(t)
    }

    /// Unread bytes: fields this parser does not know (kept, never an error).
    pub(crate) fn rest(&self) -> Option<&'a [u8]> {
        let rest = self.tok.rest();
        (!rest.is_empty()).then_some(rest)
    }
}

pub(crate) fn timestamp<'a>(
    tok: Token<'a>,
    field: &'static str,
) -> Result<Timestamp<'a>, ParseError> {
    Timestamp::parse(tok.raw()).ok_or(ParseError::BadTimestamp { field })
}

pub(crate) fn opt_timestamp<'a>(
    tok: Option<Token<'a>>,
    field: &'static str,
) -> Result<Option<Timestamp<'a>>, ParseError> {
    match tok {
        None => Ok(None),
        Some(t) if t.is_dash() || t.raw().is_empty() => Ok(None),
        Some(t) => timestamp(t, field).map(Some),
    }
}

/// A timestamp with its `Z` or without a zone (Network Load Balancer logs write the latter).
pub(crate) fn utc_or_zoneless_timestamp<'a>(
    tok: Token<'a>,
    field: &'static str,
) -> Result<Timestamp<'a>, ParseError> {
    Timestamp::parse_utc_or_zoneless(tok.raw()).ok_or(ParseError::BadTimestamp { field })
}

pub(crate) fn opt_utc_or_zoneless_timestamp<'a>(
    tok: Option<Token<'a>>,
    field: &'static str,
) -> Result<Option<Timestamp<'a>>, ParseError> {
    match tok {
        None => Ok(None),
        Some(t) if t.is_dash() || t.raw().is_empty() => Ok(None),
        Some(t) => utc_or_zoneless_timestamp(t, field).map(Some),
    }
}

/// Text of an optional field; `-` and an absent field are both `None`.
pub(crate) fn opt_text(tok: Option<Token<'_>>) -> Option<Text<'_>> {
    tok.and_then(|t| t.value())
}

/// Unknown trailing fields, split on demand. A malformed tail (say, an unterminated quote) is
/// yielded whole as one last field rather than failing: AWS owns that part of the line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct ExtraFields<'a> {
    raw: &'a [u8],
}

impl<'a> ExtraFields<'a> {
    pub(crate) fn new(raw: Option<&'a [u8]>) -> Self {
        ExtraFields {
            raw: raw.unwrap_or_default(),
        }
    }

    /// The unknown fields as they are in the line.
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }

    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = Text<'a>> + 'a {
        let mut tok = Tokenizer::new(self.raw);
        let mut failed = false;
        std::iter::from_fn(move || {
            if failed {
                return None;
            }
            let before = tok;
            match tok.next_token() {
                Ok(t) => t.map(|t| t.text()),
                Err(_) => {
                    failed = true;
                    Some(Text::literal(before.rest()))
                }
            }
        })
    }
}
