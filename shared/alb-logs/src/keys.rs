//! Where outputs go: Hive-partitioned keys derived from the input key only, so a retried object
//! overwrites its own outputs.
//!
//! `<prefix><kind>/year=YYYY/month=MM/day=DD/elb=<name>/<input file stem>.<extension>`

use fleetwatch_alb::{KeyInfo, LogKind, parse_key};

/// The partition of one input object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Partition {
    pub kind: LogKind,
    pub year: String,
    pub month: String,
    pub day: String,
    pub load_balancer: String,
    /// The input file name without `.log` / `.log.gz`.
    pub stem: String,
}

/// Used where the key does not say (not the documented layout); Athena's own name for it.
const UNKNOWN: &str = "__HIVE_DEFAULT_PARTITION__";

impl Partition {
    /// From the input key; `fallback_date` (the first record's `yyyy-mm-dd`) when the key has no
    /// date in the documented layout, and the date of the file name's end time
    /// (`..._20261125T1005Z_...`) when there is no record either (a damaged object).
    pub fn of(key: &str, fallback_date: Option<(u16, u8, u8)>) -> Partition {
        let info: KeyInfo<'_> = parse_key(key);
        let date = info
            .date
            .map(|d| (d.year, d.month, d.day))
            .or(fallback_date)
            .or_else(|| end_time_date(info.file_name));
        let (year, month, day) = match date {
            Some((y, m, d)) => (format!("{y:04}"), format!("{m:02}"), format!("{d:02}")),
            None => (UNKNOWN.into(), UNKNOWN.into(), UNKNOWN.into()),
        };
        let stem = info
            .file_name
            .trim_end_matches(".gz")
            .trim_end_matches(".log")
            .to_string();
        Partition {
            kind: info.kind,
            year,
            month,
            day,
            load_balancer: sanitize(info.load_balancer.unwrap_or(UNKNOWN)),
            stem: if stem.is_empty() {
                "object".into()
            } else {
                sanitize(&stem)
            },
        }
    }

    /// The partition directory below `prefix` (which ends with `/` or is empty).
    pub fn directory(&self, prefix: &str) -> String {
        format!(
            "{prefix}{kind}/year={y}/month={m}/day={d}/elb={lb}/",
            kind = self.kind.as_str(),
            y = self.year,
            m = self.month,
            d = self.day,
            lb = self.load_balancer
        )
    }

    pub fn key(&self, prefix: &str, extension: &str) -> String {
        format!("{}{}.{extension}", self.directory(prefix), self.stem)
    }
}

/// The date of the `_YYYYMMDDTHHMMZ_` end time AWS puts in log file names.
fn end_time_date(file_name: &str) -> Option<(u16, u8, u8)> {
    file_name.split('_').find_map(|part| {
        let b = part.as_bytes();
        let shape = b.len() == 14
            && b[8] == b'T'
            && b[13] == b'Z'
            && b[..8].iter().chain(&b[9..13]).all(u8::is_ascii_digit);
        if !shape {
            return None;
        }
        let (year, month, day) = (
            part[0..4].parse().ok()?,
            part[4..6].parse().ok()?,
            part[6..8].parse().ok()?,
        );
        ((1..=12).contains(&month) && (1..=31).contains(&day)).then_some((year, month, day))
    })
}

/// Partition values and file names stay plain: no `/`, `=` or spaces that would break the layout.
fn sanitize(value: &str) -> String {
    value
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// A prefix as given by configuration, normalised to end with one `/` (or be empty).
pub fn normalize_prefix(prefix: &str) -> String {
    let trimmed = prefix.trim_matches('/');
    if trimmed.is_empty() {
        String::new()
    } else {
        format!("{trimmed}/")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ACCESS: &str = "prod/AWSLogs/123456789012/elasticloadbalancing/eu-west-1/2026/11/25/123456789012_elasticloadbalancing_eu-west-1_app.web.50dc6c495c0c9188_20261125T1005Z_10.0.1.7_2et2e1mx.log.gz";

    #[test]
    fn output_keys_follow_the_input_key() {
        let partition = Partition::of(ACCESS, None);
        assert_eq!(
            partition.key("alb/", "parquet"),
            "alb/access/year=2026/month=11/day=25/elb=web/123456789012_elasticloadbalancing_eu-west-1_app.web.50dc6c495c0c9188_20261125T1005Z_10.0.1.7_2et2e1mx.parquet"
        );
        assert_eq!(Partition::of(ACCESS, Some((1999, 1, 1))), partition);
    }

    #[test]
    fn keys_outside_the_layout_use_the_fallback_date_or_the_default_partition() {
        let dated = Partition::of("uploads/some file.log", Some((2026, 2, 3)));
        assert_eq!(
            dated.directory(""),
            "unknown/year=2026/month=02/day=03/elb=__HIVE_DEFAULT_PARTITION__/"
        );
        assert_eq!(dated.stem, "some_file");
        let undated = Partition::of("x.log.gz", None);
        assert_eq!(undated.year, "__HIVE_DEFAULT_PARTITION__");
    }

    #[test]
    fn without_a_key_date_or_a_record_the_file_names_end_time_dates_it() {
        let name = "123456789012_elasticloadbalancing_eu-west-1_app.web.50dc6c495c0c9188_20261125T1005Z_10.0.1.7_2et2e1mx.log.gz";
        let partition = Partition::of(name, None);
        assert_eq!(
            (
                partition.year.as_str(),
                partition.month.as_str(),
                partition.day.as_str()
            ),
            ("2026", "11", "25")
        );
        // A record's date comes first, the key's layout before both.
        assert_eq!(Partition::of(name, Some((2026, 11, 24))).day, "24");
        assert_eq!(
            Partition::of(ACCESS, None),
            Partition::of(ACCESS, Some((1999, 1, 1)))
        );
        for odd in [
            "x_20261325T1005Z_y.log",
            "x_2026112XT1005Z.log",
            "x_20261125T1005.log",
        ] {
            assert_eq!(
                Partition::of(odd, None).year,
                "__HIVE_DEFAULT_PARTITION__",
                "{odd}"
            );
        }
    }

    #[test]
    fn prefixes_are_normalised() {
        assert_eq!(normalize_prefix("/alb//"), "alb/");
        assert_eq!(normalize_prefix(""), "");
        assert_eq!(normalize_prefix("a/b"), "a/b/");
    }
}
