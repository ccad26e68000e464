//! Mute windows: times when a route delivers nothing (its alerts are dropped, with the reason).
//!
//! ```yaml
//! mute:
//!   - name: weekend-nights         # optional, shown in drop reasons
//!     weekdays: [sat, sun]         # mon..sun or full names, ranges `mon-fri` / `monday:friday`
//!     hours: "00:00-08:00"         # local wall-clock time, start inclusive, end exclusive
//!     time_zone: Europe/Berlin     # IANA name, default UTC
//! ```
//!
//! - Without `weekdays` a window applies every day; without `hours`, all day. A window needs at
//!   least one of the two.
//! - `hours` may cross midnight (`"22:00-06:00"`); `24:00` is allowed as an end. A window that
//!   crosses midnight belongs to the day it **starts** on: `weekdays: [fri], hours:
//!   "22:00-06:00"` mutes Friday 22:00 to Saturday 06:00.
//! - Times are wall-clock times in `time_zone`, with its daylight saving rules: on the night the
//!   clocks go forward a window inside the skipped hour never applies; on the night they go back
//!   the repeated hour is muted both times.
//! - Time zones come from jiff's bundled tz database, so the result does not depend on the
//!   machine's `/usr/share/zoneinfo` (absent on Lambda's `provided.al2023`).

use crate::yaml::deserialize_from_str;
use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::Deserialize;
use std::fmt;
use std::str::FromStr;

/// A mute window as written; checked for "weekdays or hours" when the configuration is built.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct MuteWindowFile {
    pub(crate) name: Option<String>,
    pub(crate) weekdays: Option<Vec<WeekdaySpec>>,
    pub(crate) hours: Option<HourRange>,
    pub(crate) time_zone: Option<TimeZoneName>,
}

/// One validated mute window.
#[derive(Debug, Clone)]
pub struct MuteWindow {
    label: String,
    weekdays: Option<WeekdaySet>,
    hours: Option<HourRange>,
    time_zone: TimeZone,
    time_zone_name: String,
}

impl MuteWindow {
    /// `number` is 1-based, for the label of an unnamed window.
    pub(crate) fn from_file(file: MuteWindowFile, number: usize) -> Result<Self, String> {
        if file.weekdays.is_none() && file.hours.is_none() {
            return Err(
                "a mute window needs `weekdays`, `hours` or both (a window without either would mute the route forever)"
                    .to_owned(),
            );
        }
        let (time_zone, time_zone_name) = match file.time_zone {
            Some(zone) => (zone.zone, zone.name),
            None => (TimeZone::UTC, "UTC".to_owned()),
        };
        let weekdays = file.weekdays.map(|specs| {
            specs
                .iter()
                .fold(WeekdaySet::default(), |set, spec| set.union(spec.0))
        });
        let mut window = MuteWindow {
            label: String::new(),
            weekdays,
            hours: file.hours,
            time_zone,
            time_zone_name,
        };
        window.label = match file.name {
            Some(name) => format!("{name} ({})", window.describe()),
            None => format!("#{number} ({})", window.describe()),
        };
        Ok(window)
    }

    /// Whether `now` falls in the window.
    pub fn is_active(&self, now: Timestamp) -> bool {
        let local = self.time_zone.to_datetime(now);
        let day = local.weekday().to_monday_zero_offset() as u8;
        let minute = local.hour() as u16 * 60 + local.minute() as u16;
        let on = |day: u8| self.weekdays.is_none_or(|set| set.contains(day));
        match self.hours {
            None => on(day),
            Some(HourRange { start, end }) if start < end => {
                on(day) && (start..end).contains(&minute)
            }
            // Across midnight: the evening part belongs to today, the morning part to yesterday.
            Some(HourRange { start, end }) => {
                (on(day) && minute >= start) || (on((day + 6) % 7) && minute < end)
            }
        }
    }

    /// The name (or `#n`) and the window in words: `night (mon-fri 22:00-06:00 Europe/Berlin)`.
    pub fn label(&self) -> &str {
        &self.label
    }

    fn describe(&self) -> String {
        let days = self
            .weekdays
            .map_or_else(|| "every day".to_owned(), |set| set.to_string());
        let hours = self
            .hours
            .map_or_else(|| "all day".to_owned(), |range| range.to_string());
        format!("{days} {hours} {}", self.time_zone_name)
    }
}

const WEEKDAY_NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// Days as bits, Monday = bit 0.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct WeekdaySet(u8);

impl WeekdaySet {
    fn contains(self, day: u8) -> bool {
        self.0 & (1 << day) != 0
    }

    fn union(self, other: WeekdaySet) -> WeekdaySet {
        WeekdaySet(self.0 | other.0)
    }
}

impl fmt::Display for WeekdaySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let days: Vec<&str> = (0..7)
            .filter(|day| self.contains(*day))
            .map(|day| WEEKDAY_NAMES[day as usize])
            .collect();
        f.write_str(&days.join(","))
    }
}

/// One `weekdays` item: a day or a range of days (`mon-fri`, `fri-mon` wraps over the weekend).
#[derive(Debug, Clone, Copy)]
pub(crate) struct WeekdaySpec(WeekdaySet);

fn weekday_index(name: &str) -> Result<u8, String> {
    let name = name.trim().to_ascii_lowercase();
    let index = match name.as_str() {
        "mon" | "monday" => 0,
        "tue" | "tues" | "tuesday" => 1,
        "wed" | "wednesday" => 2,
        "thu" | "thur" | "thurs" | "thursday" => 3,
        "fri" | "friday" => 4,
        "sat" | "saturday" => 5,
        "sun" | "sunday" => 6,
        _ => {
            return Err(format!(
                "unknown weekday `{name}`: expected mon, tue, wed, thu, fri, sat, sun (or full names, or a range such as mon-fri)"
            ));
        }
    };
    Ok(index)
}

impl FromStr for WeekdaySpec {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let Some((first, last)) = text.split_once(['-', ':']) else {
            return Ok(WeekdaySpec(WeekdaySet(1 << weekday_index(text)?)));
        };
        let (first, last) = (weekday_index(first)?, weekday_index(last)?);
        if first == last {
            return Err(format!(
                "weekday range `{text}` starts and ends on the same day: write the day alone"
            ));
        }
        let mut set = WeekdaySet::default();
        let mut day = first;
        loop {
            set.0 |= 1 << day;
            if day == last {
                break;
            }
            day = (day + 1) % 7;
        }
        Ok(WeekdaySpec(set))
    }
}

deserialize_from_str!(
    WeekdaySpec,
    "a weekday such as `sat` or a range such as `mon-fri`"
);

/// `"HH:MM-HH:MM"` in minutes of the day; `end` may be 1440 (`24:00`); `end < start` crosses
/// midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct HourRange {
    start: u16,
    end: u16,
}

fn minute_of_day(text: &str, whole: &str, is_end: bool) -> Result<u16, String> {
    let invalid =
        || format!("invalid hours `{whole}`: expected \"HH:MM-HH:MM\" such as \"22:00-06:00\"");
    let (hours, minutes) = text.trim().split_once(':').ok_or_else(invalid)?;
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(hours) || hours.len() > 2 || minutes.len() != 2 || !all_digits(minutes) {
        return Err(invalid());
    }
    let (hours, minutes): (u16, u16) = (
        hours.parse().map_err(|_| invalid())?,
        minutes.parse().map_err(|_| invalid())?,
    );
    if is_end && hours == 24 && minutes == 0 {
        return Ok(24 * 60);
    }
    if hours > 23 || minutes > 59 {
        return Err(format!(
            "invalid hours `{whole}`: `{text}` is not a time of day (00:00 to 23:59, and 24:00 as an end)"
        ));
    }
    Ok(hours * 60 + minutes)
}

impl FromStr for HourRange {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let (start, end) = text.split_once('-').ok_or_else(|| {
            format!("invalid hours `{text}`: expected \"HH:MM-HH:MM\" such as \"22:00-06:00\"")
        })?;
        let start = minute_of_day(start, text, false)?;
        let end = minute_of_day(end, text, true)?;
        if start == end || (start == 0 && end == 24 * 60) {
            return Err(format!(
                "invalid hours `{text}`: the range is empty or the whole day; omit `hours` to mute all day"
            ));
        }
        Ok(HourRange { start, end })
    }
}

deserialize_from_str!(HourRange, "an hour range such as \"22:00-06:00\"");

impl fmt::Display for HourRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:02}:{:02}-{:02}:{:02}",
            self.start / 60,
            self.start % 60,
            self.end / 60,
            self.end % 60
        )
    }
}

/// An IANA time zone name, resolved at load.
#[derive(Debug, Clone)]
pub(crate) struct TimeZoneName {
    zone: TimeZone,
    name: String,
}

impl FromStr for TimeZoneName {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, String> {
        match TimeZone::get(name) {
            Ok(zone) => Ok(TimeZoneName {
                zone,
                name: name.to_owned(),
            }),
            Err(_) => Err(format!(
                "unknown time zone `{name}`: expected an IANA name such as Europe/Berlin or UTC"
            )),
        }
    }
}

deserialize_from_str!(TimeZoneName, "an IANA time zone name such as Europe/Berlin");

#[cfg(test)]
mod tests {
    use super::*;

    fn window(weekdays: Option<&[&str]>, hours: Option<&str>, zone: &str) -> MuteWindow {
        MuteWindow::from_file(
            MuteWindowFile {
                name: None,
                weekdays: weekdays.map(|days| days.iter().map(|d| d.parse().unwrap()).collect()),
                hours: hours.map(|h| h.parse().unwrap()),
                time_zone: Some(zone.parse().unwrap()),
            },
            1,
        )
        .unwrap()
    }

    fn at(timestamp: &str) -> Timestamp {
        timestamp.parse().unwrap()
    }

    #[test]
    fn weekday_ranges_wrap_and_describe_themselves() {
        let spec: WeekdaySpec = "fri-mon".parse().unwrap();
        assert_eq!(spec.0.to_string(), "mon,fri,sat,sun");
        let spec: WeekdaySpec = "monday:wednesday".parse().unwrap();
        assert_eq!(spec.0.to_string(), "mon,tue,wed");
        assert_eq!(
            "mon-mon".parse::<WeekdaySpec>().unwrap_err(),
            "weekday range `mon-mon` starts and ends on the same day: write the day alone"
        );
        assert!(
            "funday"
                .parse::<WeekdaySpec>()
                .unwrap_err()
                .starts_with("unknown weekday `funday`")
        );
    }

    #[test]
    fn hour_ranges_parse_strictly() {
        assert_eq!(
            "22:00-06:00".parse::<HourRange>().unwrap(),
            HourRange {
                start: 1320,
                end: 360
            }
        );
        assert_eq!(
            "8:30-24:00".parse::<HourRange>().unwrap().to_string(),
            "08:30-24:00"
        );
        for bad in [
            "25:00-06:00",
            "10:00-10:00",
            "10-12",
            "10:0-11:00",
            "00:00-24:00",
            "24:00-02:00",
            "a:bc-01:00",
        ] {
            assert!(bad.parse::<HourRange>().is_err(), "{bad}");
        }
    }

    #[test]
    fn window_inside_one_day() {
        let w = window(Some(&["mon-fri"]), Some("09:00-17:00"), "UTC");
        // 2026-11-23 is a Monday.
        assert!(!w.is_active(at("2026-11-23T08:59:59Z")));
        assert!(w.is_active(at("2026-11-23T09:00:00Z")));
        assert!(w.is_active(at("2026-11-23T16:59:59Z")));
        assert!(!w.is_active(at("2026-11-23T17:00:00Z")));
        assert!(!w.is_active(at("2026-11-28T10:00:00Z")), "saturday");
        assert_eq!(w.label(), "#1 (mon,tue,wed,thu,fri 09:00-17:00 UTC)");
    }

    #[test]
    fn window_across_midnight_belongs_to_its_start_day() {
        let w = window(Some(&["fri"]), Some("22:00-06:00"), "UTC");
        assert!(w.is_active(at("2026-11-27T22:00:00Z")), "friday evening");
        assert!(
            w.is_active(at("2026-11-28T05:59:00Z")),
            "saturday early morning"
        );
        assert!(!w.is_active(at("2026-11-28T06:00:00Z")));
        assert!(!w.is_active(at("2026-11-28T22:30:00Z")), "saturday evening");
        assert!(
            !w.is_active(at("2026-11-27T05:00:00Z")),
            "friday early morning is thursday's night"
        );
    }

    #[test]
    fn window_follows_berlin_daylight_saving() {
        let w = window(None, Some("00:00-08:00"), "Europe/Berlin");
        // Winter (UTC+1): 07:30 UTC is 08:30 local.
        assert!(w.is_active(at("2026-01-15T06:59:00Z")));
        assert!(!w.is_active(at("2026-01-15T07:30:00Z")));
        // Summer (UTC+2): 05:30 UTC is 07:30 local, 06:00 UTC is 08:00 local.
        assert!(w.is_active(at("2026-07-15T05:30:00Z")));
        assert!(!w.is_active(at("2026-07-15T06:00:00Z")));
        // Midnight local is 23:00 UTC the day before in winter.
        assert!(w.is_active(at("2026-01-14T23:00:00Z")));
        assert!(!w.is_active(at("2026-01-14T22:59:00Z")));
    }
}
