//! Points in time and durations without a clock: the caller passes `now` in, so every decision
//! is reproducible (a retried run computes the same alerts and ids).

use serde::{Deserialize, Serialize};
use std::fmt;
use std::time::Duration;

/// Seconds since the Unix epoch (UTC). Serialised as the plain number, which is what a DynamoDB
/// attribute or a TTL wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UnixTime(i64);

impl UnixTime {
    pub const fn from_secs(seconds: i64) -> Self {
        UnixTime(seconds)
    }

    pub const fn as_secs(self) -> i64 {
        self.0
    }

    /// An RFC 3339 timestamp (`Z`, optional fraction and offset); `None` for anything else.
    pub fn parse_rfc3339(text: &str) -> Option<Self> {
        fleetwatch_alerts::unix_seconds(text).map(UnixTime)
    }

    /// `self + duration`, saturating.
    pub fn plus(self, duration: Duration) -> Self {
        let seconds = i64::try_from(duration.as_secs()).unwrap_or(i64::MAX);
        UnixTime(self.0.saturating_add(seconds))
    }

    /// How long after `earlier` this is; zero when `earlier` is later (clocks disagree).
    pub fn since(self, earlier: UnixTime) -> Duration {
        Duration::from_secs(u64::try_from(self.0.saturating_sub(earlier.0)).unwrap_or(0))
    }

    /// `2026-11-25T12:00:00Z`: the form `Alert::occurred_at` and Slack's date tokens read.
    pub fn to_rfc3339(self) -> String {
        let days = self.0.div_euclid(86_400);
        let second_of_day = self.0.rem_euclid(86_400);
        let (year, month, day) = civil_from_days(days);
        format!(
            "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
            second_of_day / 3600,
            second_of_day % 3600 / 60,
            second_of_day % 60
        )
    }
}

impl fmt::Display for UnixTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's algorithm,
/// the inverse of the one `fleetwatch_alerts::time` uses).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Parses the configuration's durations: `500ms`, `10s`, `5m`, `1h30m`, `14d`.
pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    let invalid =
        |why: &str| format!("invalid duration `{text}`: {why}; write e.g. 10s, 5m, 1h30m");
    let mut total = Duration::ZERO;
    let mut rest = text.trim();
    if rest.is_empty() {
        return Err(invalid("empty"));
    }
    while !rest.is_empty() {
        let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        if digits == 0 {
            return Err(invalid("a unit needs a number before it"));
        }
        let amount: u64 = rest[..digits].parse().map_err(|_| invalid("too long"))?;
        rest = &rest[digits..];
        let (unit, millis_per_unit) = [("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000)]
            .into_iter()
            .chain([("d", 86_400_000)])
            .find(|(unit, _)| rest.starts_with(unit))
            .ok_or_else(|| invalid("each number needs a unit: ms, s, m, h or d"))?;
        rest = &rest[unit.len()..];
        let millis = amount
            .checked_mul(millis_per_unit)
            .ok_or_else(|| invalid("too long"))?;
        total = total
            .checked_add(Duration::from_millis(millis))
            .ok_or_else(|| invalid("too long"))?;
    }
    Ok(total)
}

/// `1h30m`, `14d`, `500ms`, `0s`: durations as the configuration writes them, for messages.
pub fn format_duration(duration: Duration) -> String {
    let millis = duration.as_millis();
    if millis == 0 {
        return "0s".to_owned();
    }
    let units: [(u128, &str); 5] = [
        (86_400_000, "d"),
        (3_600_000, "h"),
        (60_000, "m"),
        (1000, "s"),
        (1, "ms"),
    ];
    let mut rest = millis;
    let mut text = String::new();
    for (size, unit) in units {
        if rest >= size {
            text.push_str(&format!("{}{unit}", rest / size));
            rest %= size;
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_round_trips_through_the_alerts_parser() {
        for seconds in [
            0,
            951_782_400,
            1_570_035_880,
            1_795_169_020,
            -62_135_596_800,
        ] {
            let time = UnixTime::from_secs(seconds);
            assert_eq!(UnixTime::parse_rfc3339(&time.to_rfc3339()), Some(time));
        }
        assert_eq!(
            UnixTime::from_secs(1_570_035_880).to_rfc3339(),
            "2019-10-02T17:04:40Z"
        );
        assert_eq!(
            UnixTime::from_secs(951_782_400).to_rfc3339(),
            "2000-02-29T00:00:00Z"
        );
    }

    #[test]
    fn since_is_zero_when_clocks_disagree() {
        let (a, b) = (UnixTime::from_secs(100), UnixTime::from_secs(160));
        assert_eq!(b.since(a), Duration::from_secs(60));
        assert_eq!(a.since(b), Duration::ZERO);
        assert_eq!(a.plus(Duration::from_secs(60)), b);
    }

    #[test]
    fn durations_parse_and_format() {
        let cases = [
            ("500ms", 500),
            ("10s", 10_000),
            ("5m", 300_000),
            ("1h30m", 5_400_000),
            ("14d", 1_209_600_000),
            ("1m30s250ms", 90_250),
            ("0s", 0),
        ];
        for (text, millis) in cases {
            let duration = parse_duration(text).unwrap();
            assert_eq!(duration, Duration::from_millis(millis), "{text}");
            assert_eq!(format_duration(duration), text);
        }
    }

    #[test]
    fn bad_durations_say_why() {
        let cases = [
            ("", "empty"),
            ("10", "each number needs a unit"),
            ("m", "a unit needs a number before it"),
            ("5x", "each number needs a unit"),
            ("99999999999999999999s", "too long"),
        ];
        for (text, why) in cases {
            let error = parse_duration(text).unwrap_err();
            assert!(error.contains(why), "{text}: {error}");
        }
    }
}
