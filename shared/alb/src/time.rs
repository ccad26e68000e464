//! ISO-8601 UTC timestamps as load balancers write them (`2024-01-02T03:04:05.123456Z`), checked
//! by hand: a date library would cost more than the whole rest of a line's parse. Network Load
//! Balancer logs write theirs without a zone (`2018-12-20T02:59:40`, UTC implied, as in AWS's
//! documented example): [`Timestamp::parse_utc_or_zoneless`] takes both forms, [`Timestamp::parse`]
//! only the first, so the common path pays nothing for the other.

/// A validated timestamp that keeps its original text (the encoders write that text unchanged, so
/// no precision is lost) plus the instant it names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timestamp<'a> {
    text: &'a str,
    epoch_nanos: i64,
}

impl<'a> Timestamp<'a> {
    /// Accepts `YYYY-MM-DDTHH:MM:SS[.f{1,9}]Z` with a real calendar date; `None` otherwise.
    pub fn parse(raw: &'a [u8]) -> Option<Self> {
        Self::checked::<true>(raw)
    }

    /// As [`Timestamp::parse`], and also the same without the `Z`: Network Load Balancer logs
    /// write `2018-12-20T02:59:40` (no zone, no fraction) in `time` and
    /// `tls_connection_creation_time`, meaning UTC. The text is kept as written.
    pub fn parse_utc_or_zoneless(raw: &'a [u8]) -> Option<Self> {
        match raw.last() {
            Some(b'Z') => Self::checked::<true>(raw),
            _ => Self::checked::<false>(raw),
        }
    }

    /// The one check of both forms; a constant, so that the `Z` form compiles to exactly the code
    /// it had before the zoneless form existed (the parse-only benchmark measures this).
    #[inline(always)]
    fn checked<const WITH_Z: bool>(raw: &'a [u8]) -> Option<Self> {
        let zone = usize::from(WITH_Z);
        // Shortest form is `YYYY-MM-DDTHH:MM:SS` (19 bytes) and the zone; nanoseconds add 10.
        if !(19 + zone..=29 + zone).contains(&raw.len()) || (WITH_Z && raw[raw.len() - 1] != b'Z') {
            return None;
        }
        // The 19 bytes of date and time checked all at once, without a branch per byte.
        let head: &[u8; 19] = raw[..19].try_into().ok()?;
        let d = |i: usize| head[i].wrapping_sub(b'0');
        let mut bad = 0u8;
        for i in [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18] {
            bad |= u8::from(d(i) > 9);
        }
        if bad != 0
            || head[4] != b'-'
            || head[7] != b'-'
            || head[10] != b'T'
            || head[13] != b':'
            || head[16] != b':'
        {
            return None;
        }
        let two = |i: usize| u32::from(d(i)) * 10 + u32::from(d(i + 1));
        let year = i64::from(two(0) * 100 + two(2));
        let (month, day) = (two(5), two(8));
        let (hour, minute, second) = (two(11), two(14), two(17));
        if !(1..=12).contains(&month)
            || day == 0
            || day > days_in_month(year, month)
            || hour > 23
            || minute > 59
            || second > 59
        {
            return None;
        }
        let nanos = match &raw[19..raw.len() - zone] {
            [] => 0,
            [b'.', f @ ..] if (1..=9).contains(&f.len()) => {
                digits(f)? as i64 * 10i64.pow(9 - f.len() as u32)
            }
            _ => return None,
        };
        let days = days_from_civil(year, month, day);
        let secs = days * 86_400 + (hour * 3600 + minute * 60 + second) as i64;
        debug_assert!(raw.is_ascii());
        // SAFETY: every byte of `raw` was checked above: the 19 bytes of date and time are digits
        // or `-`/`T`/`:`, the fraction `.` and digits (`digits` rejects anything else), the last
        // byte `Z` when there is a zone. ASCII is valid UTF-8. (`from_utf8` here cost ~2% of a
        // line's parse.)
        #[allow(unsafe_code)]
        let text = unsafe { std::str::from_utf8_unchecked(raw) };
        // Years outside 1678..2262 do not fit i64 nanoseconds: not a load balancer timestamp.
        let epoch_nanos = secs.checked_mul(1_000_000_000)?.checked_add(nanos)?;
        Some(Timestamp { text, epoch_nanos })
    }

    /// The timestamp exactly as written in the log.
    pub fn as_str(&self) -> &'a str {
        self.text
    }

    pub fn epoch_nanos(&self) -> i64 {
        self.epoch_nanos
    }

    pub fn epoch_micros(&self) -> i64 {
        self.epoch_nanos.div_euclid(1_000)
    }

    pub fn epoch_millis(&self) -> i64 {
        self.epoch_nanos.div_euclid(1_000_000)
    }

    /// Calendar date of the instant (UTC), as (year, month, day): for partitioning output.
    pub fn date(&self) -> (u16, u8, u8) {
        // Validated in `parse`, so the digits are there.
        let b = self.text.as_bytes();
        let n = |r: std::ops::Range<usize>| digits(&b[r]).unwrap_or(0);
        (n(0..4) as u16, n(5..7) as u8, n(8..10) as u8)
    }
}

/// Whether the bytes look like a timestamp (for telling log kinds apart by content).
pub fn is_timestamp(raw: &[u8]) -> bool {
    Timestamp::parse(raw).is_some()
}

/// Whether the bytes look like a timestamp with or without its `Z` (Network Load Balancer logs).
pub fn is_utc_or_zoneless_timestamp(raw: &[u8]) -> bool {
    Timestamp::parse_utc_or_zoneless(raw).is_some()
}

fn digits(b: &[u8]) -> Option<u32> {
    let mut v: u32 = 0;
    for &c in b {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + u32::from(c - b'0');
    }
    Some(v)
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The byte-by-byte form `parse` replaced, to check it against.
    fn parse_reference(raw: &[u8]) -> Option<(String, i64)> {
        if !(20..=30).contains(&raw.len()) || raw[raw.len() - 1] != b'Z' {
            return None;
        }
        if raw[4] != b'-' || raw[7] != b'-' || raw[10] != b'T' || raw[13] != b':' || raw[16] != b':'
        {
            return None;
        }
        let year = digits(&raw[0..4])? as i64;
        let month = digits(&raw[5..7])?;
        let day = digits(&raw[8..10])?;
        let hour = digits(&raw[11..13])?;
        let minute = digits(&raw[14..16])?;
        let second = digits(&raw[17..19])?;
        if !(1..=12).contains(&month)
            || day == 0
            || day > days_in_month(year, month)
            || hour > 23
            || minute > 59
            || second > 59
        {
            return None;
        }
        let nanos = match &raw[19..raw.len() - 1] {
            [] => 0,
            [b'.', f @ ..] if (1..=9).contains(&f.len()) => {
                digits(f)? as i64 * 10i64.pow(9 - f.len() as u32)
            }
            _ => return None,
        };
        let days = days_from_civil(year, month, day);
        let secs = days * 86_400 + (hour * 3600 + minute * 60 + second) as i64;
        let text = std::str::from_utf8(raw).ok()?;
        let epoch_nanos = secs.checked_mul(1_000_000_000)?.checked_add(nanos)?;
        Some((text.to_string(), epoch_nanos))
    }

    /// The plain form of [`Timestamp::parse_utc_or_zoneless`]: a missing `Z` is added, then the
    /// strict reference decides; the text stays as written.
    fn zoneless_reference(raw: &[u8]) -> Option<(String, i64)> {
        if raw.last() == Some(&b'Z') {
            return parse_reference(raw);
        }
        let mut with_zone = raw.to_vec();
        with_zone.push(b'Z');
        let (_, nanos) = parse_reference(&with_zone)?;
        Some((std::str::from_utf8(raw).ok()?.to_string(), nanos))
    }

    /// Timestamps with and without their `Z`, with and without fractions, with up to two bytes
    /// replaced by anything (non-ASCII included).
    fn mutated_timestamps(count: usize) -> impl Iterator<Item = Vec<u8>> {
        const BYTES: &[u8] = b"0123456789-T:.Z /\x00\x7f\x80\xc3\xa9\xff";
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        (0..count).map(move |_| {
            let r = next();
            let mut t = format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
                1600 + r % 800,
                r / 7 % 14,
                r / 97 % 33,
                r / 3001 % 25,
                r / 71 % 61,
                r / 13 % 61
            )
            .into_bytes();
            let digits = (r >> 40) % 11;
            if digits > 0 {
                t.push(b'.');
                t.extend((0..digits).map(|i| b'0' + ((r >> (i * 3)) % 10) as u8));
            }
            if (r >> 50) % 4 != 0 {
                t.push(b'Z');
            }
            for _ in 0..next() % 3 {
                let (at, with) = (next() as usize % t.len(), next() as usize);
                t[at] = BYTES[with % BYTES.len()];
            }
            t
        })
    }

    #[test]
    fn parse_matches_the_reference_on_mutated_timestamps() {
        for t in mutated_timestamps(300_000) {
            let got = Timestamp::parse(&t).map(|t| (t.as_str().to_string(), t.epoch_nanos()));
            assert_eq!(got, parse_reference(&t), "{}", String::from_utf8_lossy(&t));
        }
    }

    #[test]
    fn zoneless_parse_matches_its_reference_on_mutated_timestamps() {
        let mut zoneless = 0;
        for t in mutated_timestamps(300_000) {
            let got = Timestamp::parse_utc_or_zoneless(&t)
                .map(|t| (t.as_str().to_string(), t.epoch_nanos()));
            zoneless += usize::from(got.is_some() && t.last() != Some(&b'Z'));
            assert_eq!(
                got,
                zoneless_reference(&t),
                "{}",
                String::from_utf8_lossy(&t)
            );
        }
        // The generator does produce the form this is about.
        assert!(zoneless > 10_000, "{zoneless}");
    }

    #[test]
    fn nlb_timestamps_without_a_zone_are_utc_and_kept_as_written() {
        let cases: &[(&str, i64)] = &[
            ("2018-12-20T02:59:40", 1_545_274_780_000_000_000),
            ("2018-12-20T02:59:40Z", 1_545_274_780_000_000_000),
            ("2020-04-01T08:51:20.25", 1_585_731_080_250_000_000),
        ];
        for (text, nanos) in cases {
            let t = Timestamp::parse_utc_or_zoneless(text.as_bytes())
                .unwrap_or_else(|| panic!("{text}"));
            assert_eq!((t.as_str(), t.epoch_nanos()), (*text, *nanos));
        }
        assert_eq!(
            Timestamp::parse_utc_or_zoneless(b"2018-12-20T02:59:40")
                .unwrap()
                .date(),
            (2018, 12, 20)
        );
        // Only the NLB parser asks for this form: the strict parse still refuses it.
        assert_eq!(Timestamp::parse(b"2018-12-20T02:59:40"), None);
        for text in [
            "2018-12-20T02:59:40+01:00",
            "2018-12-20T02:59",
            "2018-12-20 02:59:40",
            "2018-12-20T02:59:40.",
            "2018-12-20T02:59:40ZZ",
            "tls",
        ] {
            assert_eq!(
                Timestamp::parse_utc_or_zoneless(text.as_bytes()),
                None,
                "{text}"
            );
        }
    }

    #[test]
    fn years_beyond_i64_nanoseconds_are_not_timestamps() {
        // Found by the property tests: 3025 overflowed the nanosecond epoch.
        for raw in [
            "3025-06-01T00:00:00.000000Z",
            "1600-01-01T00:00:00Z",
            "9999-12-31T23:59:59Z",
        ] {
            assert_eq!(Timestamp::parse(raw.as_bytes()), None, "{raw}");
        }
        assert!(Timestamp::parse(b"2262-04-11T00:00:00Z").is_some());
    }

    #[test]
    fn accepts_documented_forms_and_converts_to_epoch() {
        let cases: &[(&str, i64)] = &[
            ("1970-01-01T00:00:00Z", 0),
            ("1970-01-01T00:00:00.000001Z", 1_000),
            ("2018-07-02T22:23:00.186641Z", 1_530_570_180_186_641_000),
            ("2000-02-29T12:00:00.5Z", 951_825_600_500_000_000),
            ("2026-11-25T19:15:57.123456789Z", 1_795_634_157_123_456_789),
            ("1969-12-31T23:59:59.999Z", -1_000_000),
        ];
        for (text, nanos) in cases {
            let t = Timestamp::parse(text.as_bytes()).unwrap_or_else(|| panic!("{text}"));
            assert_eq!(t.epoch_nanos(), *nanos, "{text}");
            assert_eq!(t.as_str(), *text);
        }
        let t = Timestamp::parse(b"2018-07-02T22:23:00.186641Z").unwrap();
        assert_eq!(t.epoch_millis(), 1_530_570_180_186);
        assert_eq!(t.epoch_micros(), 1_530_570_180_186_641);
        assert_eq!(t.date(), (2018, 7, 2));
        assert_eq!(
            Timestamp::parse(b"1969-12-31T23:59:59.999Z")
                .unwrap()
                .epoch_millis(),
            -1
        );
    }

    #[test]
    fn rejects_what_is_not_a_utc_timestamp() {
        for text in [
            "",
            "-",
            "2018-07-02 22:23:00Z",
            "2018-07-02T22:23:00",
            "2018-07-02T22:23:00.Z",
            "2018-07-02T22:23:00.1234567890Z",
            "2018-13-02T22:23:00Z",
            "2019-02-29T22:23:00Z",
            "2100-02-29T00:00:00Z",
            "2018-07-02T24:00:00Z",
            "2018-07-02T22:60:00Z",
            "2018-07-02T22:23:60Z",
            "2018-07-02T22:23:00+01:00",
            "2018-07-0xT22:23:00Z",
            "2.0",
        ] {
            assert!(Timestamp::parse(text.as_bytes()).is_none(), "{text}");
        }
    }
}
