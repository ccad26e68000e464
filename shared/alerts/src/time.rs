//! Timestamp helpers without a clock or a date crate: sources hand us timestamps as strings and
//! we only ever reformat them.

/// Makes a source timestamp valid RFC 3339 where it is one up to the offset's missing colon:
/// CloudWatch writes `2019-02-12T15:45:24.006+0000`, RFC 3339 wants `+00:00`. Anything else is
/// returned unchanged (it is still "as given by the source").
pub fn to_rfc3339(timestamp: &str) -> String {
    let t = timestamp.trim();
    let split = t.len().saturating_sub(5);
    if let (Some(head), Some(offset)) = (t.get(..split), t.get(split..))
        && !head.is_empty()
        && t.contains('T')
    {
        let ob = offset.as_bytes();
        if (ob[0] == b'+' || ob[0] == b'-') && ob[1..].iter().all(u8::is_ascii_digit) {
            return format!("{head}{}:{}", &offset[..3], &offset[3..]);
        }
    }
    t.to_string()
}

/// Seconds since the Unix epoch of an RFC 3339 timestamp (`Z`, `±hh:mm` or `±hhmm` offsets,
/// optional fraction). `None` for anything else. Used for Slack's `<!date^…>` formatting, which
/// shows every reader the time in their own time zone.
pub fn unix_seconds(timestamp: &str) -> Option<i64> {
    let t = timestamp.trim();
    let (date, rest) = t.split_once(['T', 't', ' '])?;
    let mut date_parts = date.split('-');
    let year: i64 = parse_digits(date_parts.next()?, 4)?;
    let month: i64 = parse_digits(date_parts.next()?, 2)?;
    let day: i64 = parse_digits(date_parts.next()?, 2)?;
    if date_parts.next().is_some() || !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    // `get` rather than slicing: a non-ASCII character there must give `None`, not a panic.
    let (clock, zone) = (rest.get(..8)?, rest.get(8..)?);
    let mut clock_parts = clock.split(':');
    let hour: i64 = parse_digits(clock_parts.next()?, 2)?;
    let minute: i64 = parse_digits(clock_parts.next()?, 2)?;
    let second: i64 = parse_digits(clock_parts.next()?, 2)?;
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let zone = match zone.strip_prefix('.') {
        Some(fraction) => fraction.trim_start_matches(|c: char| c.is_ascii_digit()),
        None => zone,
    };
    let offset_seconds = match zone {
        "Z" | "z" => 0,
        _ => {
            let sign = match zone.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let digits = zone[1..].replace(':', "");
            if digits.len() != 4 {
                return None;
            }
            let hours: i64 = parse_digits(digits.get(..2)?, 2)?;
            let minutes: i64 = parse_digits(digits.get(2..)?, 2)?;
            sign * (hours * 3600 + minutes * 60)
        }
    };
    let days = days_from_civil(year, month, day);
    Some(days * 86_400 + hour * 3600 + minute * 60 + second - offset_seconds)
}

fn parse_digits(s: &str, len: usize) -> Option<i64> {
    if s.len() == len && s.bytes().all(|b| b.is_ascii_digit()) {
        s.parse().ok()
    } else {
        None
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let m = (month + 9) % 12;
    let day_of_year = (153 * m + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adds_the_colon_cloudwatch_leaves_out() {
        assert_eq!(
            to_rfc3339("2019-02-12T15:45:24.006+0000"),
            "2019-02-12T15:45:24.006+00:00"
        );
        assert_eq!(to_rfc3339("2019-02-12T15:45:24Z"), "2019-02-12T15:45:24Z");
        assert_eq!(
            to_rfc3339("2019-02-12T15:45:24-05:30"),
            "2019-02-12T15:45:24-05:30"
        );
        assert_eq!(
            to_rfc3339("Sat, 05 Jun 2016 15:10:09 GMT"),
            "Sat, 05 Jun 2016 15:10:09 GMT"
        );
    }

    #[test]
    fn unix_seconds_of_rfc3339() {
        assert_eq!(unix_seconds("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(unix_seconds("2019-10-02T17:04:40Z"), Some(1_570_035_880));
        assert_eq!(
            unix_seconds("2019-10-02T17:04:40.989+0000"),
            Some(1_570_035_880)
        );
        assert_eq!(
            unix_seconds("2019-10-02T19:04:40+02:00"),
            Some(1_570_035_880)
        );
        assert_eq!(unix_seconds("2000-02-29T00:00:00Z"), Some(951_782_400));
        assert_eq!(unix_seconds("0001-01-01T00:00:00Z"), Some(-62_135_596_800));
        assert_eq!(unix_seconds("Sat, 05 Jun 2016 15:10:09 GMT"), None);
        assert_eq!(unix_seconds("2019-13-02T17:04:40Z"), None);
        assert_eq!(unix_seconds(""), None);
        assert_eq!(unix_seconds("2019-01-01Tééééé"), None);
        assert_eq!(unix_seconds("2019-01-01T00:00:00+éé"), None);
        assert_eq!(to_rfc3339("2019-01-01Tééé"), "2019-01-01Tééé");
    }
}
