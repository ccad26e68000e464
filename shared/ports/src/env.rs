//! A function's settings from its environment, read the same way by every function: the names
//! they share (`template.yaml` sets them once, in `Globals`) and [`Env`], which reads values
//! through a lookup - `std::env::var` in Lambda, a map in tests - so no configuration code reads
//! the process environment itself.

use std::ops::RangeInclusive;
use std::str::FromStr;

/// The DynamoDB state table (idempotency records, threads, dedup keys).
pub const STATE_TABLE: &str = "FLEETWATCH_STATE_TABLE";
/// The queue every alert producer sends `Alert` JSON to (slack-fanout consumes it).
pub const ALERTS_QUEUE_URL: &str = "FLEETWATCH_ALERTS_QUEUE_URL";

/// Why a setting cannot be read: the message names the variable, and the value seen.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvError {
    /// `why` completes "NAME is required" (empty, or e.g. " with basic authentication").
    #[error("{name} is required{why}")]
    Missing {
        name: &'static str,
        why: &'static str,
    },
    #[error("{name}={value:?} is not valid: {expected}")]
    Invalid {
        name: &'static str,
        value: String,
        expected: String,
    },
}

impl EnvError {
    pub fn missing(name: &'static str) -> Self {
        EnvError::Missing { name, why: "" }
    }

    pub fn invalid(
        name: &'static str,
        value: impl Into<String>,
        expected: impl Into<String>,
    ) -> Self {
        EnvError::Invalid {
            name,
            value: value.into(),
            expected: expected.into(),
        }
    }
}

/// Settings through a lookup. Values are trimmed, and a blank value counts as unset (a template
/// parameter left empty sets the variable to "").
pub struct Env<F>(F);

impl<F: Fn(&str) -> Option<String>> Env<F> {
    pub fn new(lookup: F) -> Self {
        Env(lookup)
    }

    pub fn get(&self, name: &str) -> Option<String> {
        (self.0)(name)
            .map(|value| value.trim().to_string())
            .filter(|value| !value.is_empty())
    }

    pub fn required(&self, name: &'static str) -> Result<String, EnvError> {
        self.get(name).ok_or(EnvError::missing(name))
    }

    /// The value parsed, `default` when unset; `expected` says what would be valid.
    pub fn parse_or<T: FromStr>(
        &self,
        name: &'static str,
        default: T,
        expected: &str,
    ) -> Result<T, EnvError> {
        match self.get(name) {
            None => Ok(default),
            Some(text) => text
                .parse()
                .map_err(|_| EnvError::invalid(name, text, expected)),
        }
    }

    /// A whole number within `range`, `default` when unset.
    pub fn whole(
        &self,
        name: &'static str,
        default: u64,
        range: RangeInclusive<u64>,
    ) -> Result<u64, EnvError> {
        let Some(text) = self.get(name) else {
            return Ok(default);
        };
        text.parse::<u64>()
            .ok()
            .filter(|n| range.contains(n))
            .ok_or_else(|| {
                let expected = format!("a whole number from {} to {}", range.start(), range.end());
                EnvError::invalid(name, text, expected)
            })
    }

    /// One of the named `choices`; the first when unset.
    pub fn choice<T: Clone>(
        &self,
        name: &'static str,
        choices: &[(&str, T)],
    ) -> Result<T, EnvError> {
        let Some(text) = self.get(name) else {
            return Ok(choices[0].1.clone());
        };
        choices
            .iter()
            .find(|(word, _)| *word == text)
            .map(|(_, value)| value.clone())
            .ok_or_else(|| {
                let words: Vec<&str> = choices.iter().map(|(word, _)| *word).collect();
                EnvError::invalid(name, text, format!("one of {}", words.join(", ")))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(vars: &[(&str, &str)]) -> Env<impl Fn(&str) -> Option<String>> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Env::new(move |name: &str| vars.get(name).cloned())
    }

    #[test]
    fn blank_is_unset_and_values_are_trimmed() {
        let env = env(&[("A", "  "), ("B", " x ")]);
        assert_eq!(env.get("A"), None);
        assert_eq!(env.get("B").as_deref(), Some("x"));
        assert_eq!(env.required("A"), Err(EnvError::missing("A")));
        assert_eq!(EnvError::missing("A").to_string(), "A is required");
    }

    #[test]
    fn numbers_and_choices_name_what_is_valid() {
        let env = env(&[("N", "70"), ("M", "7"), ("C", "fast")]);
        assert_eq!(
            env.whole("N", 1, 1..=60).unwrap_err().to_string(),
            r#"N="70" is not valid: a whole number from 1 to 60"#
        );
        assert_eq!(env.whole("M", 1, 1..=60), Ok(7));
        assert_eq!(env.whole("unset", 5, 1..=60), Ok(5));
        assert_eq!(env.parse_or("M", 0.5, "a ratio"), Ok(7.0));
        let choices = [("slow", 1), ("steady", 2)];
        assert_eq!(env.choice("unset", &choices), Ok(1));
        assert_eq!(
            env.choice("C", &choices).unwrap_err().to_string(),
            r#"C="fast" is not valid: one of slow, steady"#
        );
    }
}
