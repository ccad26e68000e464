//! `notAfter` of an X.509 certificate, read from its DER encoding by walking the few elements
//! before it (RFC 5280 §4.1):
//!
//! ```text
//! Certificate ::= SEQUENCE { tbsCertificate TBSCertificate, ... }
//! TBSCertificate ::= SEQUENCE {
//!     version [0] EXPLICIT Version DEFAULT v1, serialNumber INTEGER,
//!     signature AlgorithmIdentifier (SEQUENCE), issuer Name (SEQUENCE),
//!     validity SEQUENCE { notBefore Time, notAfter Time }, ... }
//! Time ::= CHOICE { utcTime UTCTime, generalTime GeneralizedTime }
//! ```
//!
//! Everything else is skipped unread. A full X.509 parser (x509-parser and its nom, der-parser,
//! asn1-rs, oid-registry) would be a dozen crates for one date; rustls has already verified the
//! certificate before we read it. Anything malformed gives `None`.

/// `notAfter` in seconds since the Unix epoch.
pub fn certificate_not_after(der: &[u8]) -> Option<i64> {
    let (certificate, _) = element(der, SEQUENCE)?;
    let (tbs, _) = element(certificate, SEQUENCE)?;
    let mut rest = tbs;
    if rest.first() == Some(&VERSION) {
        rest = element(rest, VERSION)?.1;
    }
    rest = element(rest, INTEGER)?.1; // serialNumber
    rest = element(rest, SEQUENCE)?.1; // signature
    rest = element(rest, SEQUENCE)?.1; // issuer
    let (validity, _) = element(rest, SEQUENCE)?;
    let (_not_before, rest) = time(validity)?;
    let (not_after, _) = time(rest)?;
    Some(not_after)
}

const INTEGER: u8 = 0x02;
const SEQUENCE: u8 = 0x30;
const VERSION: u8 = 0xA0;
const UTC_TIME: u8 = 0x17;
const GENERALIZED_TIME: u8 = 0x18;

/// The content of the element at the start of `input` with this tag, and what follows it.
/// Definite lengths only (DER has no other).
fn element(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (&found, rest) = input.split_first()?;
    if found != tag {
        return None;
    }
    let (&first, mut rest) = rest.split_first()?;
    let length = if first < 0x80 {
        usize::from(first)
    } else {
        let octets = usize::from(first & 0x7F);
        if octets == 0 || octets > 4 || rest.len() < octets {
            return None;
        }
        let (bytes, after) = rest.split_at(octets);
        rest = after;
        bytes
            .iter()
            .fold(0usize, |length, &byte| (length << 8) | usize::from(byte))
    };
    if rest.len() < length {
        return None;
    }
    Some(rest.split_at(length))
}

/// A `Time`: UTCTime `YYMMDDHHMMSSZ` (years 1950-2049, RFC 5280 §4.1.2.5.1) or GeneralizedTime
/// `YYYYMMDDHHMMSSZ`.
fn time(input: &[u8]) -> Option<(i64, &[u8])> {
    let tag = *input.first()?;
    let (text, rest) = element(input, tag)?;
    let (year, text) = match tag {
        UTC_TIME if text.len() == 13 => {
            let yy = number(&text[..2])?;
            (if yy < 50 { 2000 + yy } else { 1900 + yy }, &text[2..])
        }
        GENERALIZED_TIME if text.len() == 15 => (number(&text[..4])?, &text[4..]),
        _ => return None,
    };
    if text[10] != b'Z' {
        return None;
    }
    let field = |i: usize| number(&text[i..i + 2]);
    let (month, day, hour, minute, second) =
        (field(0)?, field(2)?, field(4)?, field(6)?, field(8)?);
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }
    let days = days_from_civil(year, month, day);
    Some((days * 86_400 + hour * 3600 + minute * 60 + second, rest))
}

fn number(digits: &[u8]) -> Option<i64> {
    digits.iter().try_fold(0i64, |n, &d| {
        d.is_ascii_digit().then(|| n * 10 + i64::from(d - b'0'))
    })
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_index = (month + 9) % 12;
    let day_of_year = (153 * month_index + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// A self-signed certificate (rcgen) valid until `not_after` (epoch seconds).
    fn certificate(not_after: u64) -> Vec<u8> {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(vec!["svc.internal".to_owned()]).unwrap();
        params.not_before = rcgen::date_time_ymd(2024, 1, 1);
        params.not_after = rcgen::date_time_ymd(1970, 1, 1) + Duration::from_secs(not_after);
        params.self_signed(&key).unwrap().der().to_vec()
    }

    #[test]
    fn reads_utc_and_generalized_times() {
        // 2026-12-01T08:30:15Z is a UTCTime; 2051-03-01T00:00:00Z a GeneralizedTime.
        for not_after in [1_796_113_815, 2_561_241_600] {
            assert_eq!(
                certificate_not_after(&certificate(not_after)),
                Some(not_after as i64)
            );
        }
    }

    #[test]
    fn dates_convert_exactly() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 2, 29), 11_016);
        assert_eq!(days_from_civil(2026, 12, 1), 20_788);
        assert_eq!(days_from_civil(1969, 12, 31), -1);
        let utc = [
            UTC_TIME, 13, b'4', b'9', b'1', b'2', b'3', b'1', b'2', b'3', b'5', b'9', b'5', b'9',
            b'Z',
        ];
        assert_eq!(
            time(&utc).map(|(t, _)| t),
            Some(2_524_607_999),
            "49 is 2049"
        );
        let mut old = utc;
        old[2] = b'5';
        old[3] = b'0';
        assert_eq!(time(&old).map(|(t, _)| t), Some(-599_616_001), "50 is 1950");
    }

    #[test]
    fn malformed_input_is_none_never_a_panic() {
        let good = certificate(1_796_113_815);
        assert_eq!(certificate_not_after(&[]), None);
        assert_eq!(certificate_not_after(b"not a certificate"), None);
        for cut in [1, 2, 10, 100, good.len() / 2] {
            assert_eq!(certificate_not_after(&good[..cut]), None, "cut at {cut}");
        }
        // An indefinite or over-long length.
        assert_eq!(certificate_not_after(&[SEQUENCE, 0x80, 0, 0]), None);
        assert_eq!(
            certificate_not_after(&[SEQUENCE, 0x85, 1, 1, 1, 1, 1]),
            None
        );
        // A local time without `Z`, and a month 13.
        let local = [
            UTC_TIME, 13, b'2', b'6', b'1', b'2', b'0', b'1', b'0', b'0', b'0', b'0', b'0', b'0',
            b'+',
        ];
        assert_eq!(time(&local), None);
        let month = [
            UTC_TIME, 13, b'2', b'6', b'1', b'3', b'0', b'1', b'0', b'0', b'0', b'0', b'0', b'0',
            b'Z',
        ];
        assert_eq!(time(&month), None);
        // Every single-byte corruption reads as some date or none, without panicking.
        for i in 0..good.len() {
            let mut bad = good.clone();
            bad[i] ^= 0xFF;
            let _ = certificate_not_after(&bad);
        }
    }
}
