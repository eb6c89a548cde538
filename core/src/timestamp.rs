//! Points in time as hubsync compares them: UTC milliseconds since the Unix epoch.
//!
//! Conflict resolution and loop detection compare times from two worlds — Salesforce
//! `LastModifiedDate` text and Postgres commit times or timestamp columns — so both are
//! reduced to one integer that orders correctly, serialises compactly (loop history lives
//! in jsonb) and needs no calendar library.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A UTC instant with millisecond precision (Salesforce stores seconds, Postgres
/// microseconds; milliseconds keep every Salesforce value exact and order Postgres ones).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(i64);

const MILLIS_PER_DAY: i64 = 86_400_000;

impl Timestamp {
    /// The instant `millis` milliseconds after 1970-01-01T00:00:00Z.
    pub const fn from_millis(millis: i64) -> Timestamp {
        Timestamp(millis)
    }

    /// Milliseconds since 1970-01-01T00:00:00Z; what hubsync stores.
    pub const fn millis(self) -> i64 {
        self.0
    }

    /// Milliseconds from `earlier` to `self`; negative when `earlier` is later. Saturates
    /// instead of overflowing so absurd inputs cannot panic the worker.
    pub fn millis_since(self, earlier: Timestamp) -> i64 {
        self.0.saturating_sub(earlier.0)
    }

    /// Reads the datetime texts hubsync meets: Salesforce REST (`2024-01-01T12:00:00.000+0000`),
    /// CDC/ISO 8601 (`…Z`, `…+01:00`), Postgres `timestamptz` output (`2024-01-01 12:00:00.123456+00`),
    /// `timestamp` without zone (taken as UTC) and plain dates (midnight UTC).
    /// Fractions beyond milliseconds are truncated. `None` for anything else, so a
    /// malformed value is treated as "time unknown" rather than guessed.
    pub fn parse(text: &str) -> Option<Timestamp> {
        let mut cursor = Cursor(text.trim().as_bytes());
        let days = cursor.date()?;
        let time_of_day = if cursor.0.is_empty() {
            0
        } else {
            cursor.separator()?;
            cursor.time_of_day()?
        };
        let offset = cursor.zone_offset_millis()?;
        if !cursor.0.is_empty() {
            return None;
        }
        Some(Timestamp(days * MILLIS_PER_DAY + time_of_day - offset))
    }
}

/// ISO 8601 in UTC with milliseconds (`2024-01-01T12:00:00.000Z`): unambiguous in
/// explanations that people read.
impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let days = self.0.div_euclid(MILLIS_PER_DAY);
        let ms = self.0.rem_euclid(MILLIS_PER_DAY);
        let (year, month, day) = civil_from_days(days);
        write!(
            f,
            "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
            ms / 3_600_000,
            ms / 60_000 % 60,
            ms / 1000 % 60,
            ms % 1000
        )
    }
}

/// A tiny left-to-right reader over the datetime text.
struct Cursor<'a>(&'a [u8]);

impl Cursor<'_> {
    /// Exactly `width` ASCII digits as a number.
    fn digits(&mut self, width: usize) -> Option<i64> {
        let head = self.0.get(..width)?;
        if !head.iter().all(u8::is_ascii_digit) {
            return None;
        }
        self.0 = &self.0[width..];
        Some(head.iter().fold(0, |n, d| n * 10 + i64::from(d - b'0')))
    }

    /// Consumes `byte` if it comes next.
    fn eat(&mut self, byte: u8) -> bool {
        let found = self.0.first() == Some(&byte);
        if found {
            self.0 = &self.0[1..];
        }
        found
    }

    /// `YYYY-MM-DD` as days since the epoch, rejecting impossible dates.
    fn date(&mut self) -> Option<i64> {
        let year = self.digits(4)?;
        self.eat(b'-').then_some(())?;
        let month = self.digits(2)?;
        self.eat(b'-').then_some(())?;
        let day = self.digits(2)?;
        let valid = (1..=12).contains(&month) && (1..=days_in_month(year, month)).contains(&day);
        valid.then(|| days_from_civil(year, month, day))
    }

    /// The `T` (ISO) or space (Postgres) between date and time.
    fn separator(&mut self) -> Option<()> {
        (self.eat(b'T') || self.eat(b't') || self.eat(b' ')).then_some(())
    }

    /// `HH:MM[:SS[.fff…]]` as milliseconds since midnight.
    fn time_of_day(&mut self) -> Option<i64> {
        let hour = self.digits(2)?;
        self.eat(b':').then_some(())?;
        let minute = self.digits(2)?;
        let second = if self.eat(b':') { self.digits(2)? } else { 0 };
        let millis = if self.eat(b'.') {
            self.fraction_millis()?
        } else {
            0
        };
        (hour < 24 && minute < 60 && second < 60)
            .then_some(((hour * 60 + minute) * 60 + second) * 1000 + millis)
    }

    /// One or more fraction digits, truncated to milliseconds.
    fn fraction_millis(&mut self) -> Option<i64> {
        let len = self.0.iter().take_while(|b| b.is_ascii_digit()).count();
        if len == 0 {
            return None;
        }
        let (fraction, rest) = self.0.split_at(len);
        self.0 = rest;
        let millis = fraction
            .iter()
            .chain(std::iter::repeat(&b'0'))
            .take(3)
            .fold(0, |n, d| n * 10 + i64::from(d - b'0'));
        Some(millis)
    }

    /// `Z`, `±HH`, `±HHMM`, `±HH:MM` or nothing (UTC), as milliseconds east of UTC.
    fn zone_offset_millis(&mut self) -> Option<i64> {
        if self.0.is_empty() || self.eat(b'Z') || self.eat(b'z') {
            return Some(0);
        }
        let sign = if self.eat(b'+') {
            1
        } else if self.eat(b'-') {
            -1
        } else {
            return None;
        };
        let hours = self.digits(2)?;
        let minutes = if self.0.is_empty() {
            0
        } else {
            self.eat(b':');
            self.digits(2)?
        };
        (hours < 24 && minutes < 60).then_some(sign * (hours * 60 + minutes) * 60_000)
    }
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The inverse of [`days_from_civil`].
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

#[cfg(test)]
mod tests {
    use super::*;

    const NOON_2024: i64 = 1_704_110_400_000; // 2024-01-01T12:00:00Z

    fn parse(text: &str) -> Option<i64> {
        Timestamp::parse(text).map(Timestamp::millis)
    }

    #[test]
    fn reads_salesforce_rest_format() {
        assert_eq!(parse("2024-01-01T12:00:00.000+0000"), Some(NOON_2024));
    }

    #[test]
    fn reads_iso_with_z_and_colon_offsets() {
        assert_eq!(parse("2024-01-01T12:00:00.000Z"), Some(NOON_2024));
        assert_eq!(parse("2024-01-01T12:00:00Z"), Some(NOON_2024));
        assert_eq!(parse("2024-01-01T13:30:00+01:30"), Some(NOON_2024));
        assert_eq!(parse("2024-01-01T07:00:00-05:00"), Some(NOON_2024));
    }

    #[test]
    fn reads_postgres_output() {
        assert_eq!(
            parse("2024-01-01 12:00:00.123456+00"),
            Some(NOON_2024 + 123)
        );
        assert_eq!(parse("2024-01-01 14:00:00+02"), Some(NOON_2024));
        assert_eq!(parse("2024-01-01 12:00:00.5"), Some(NOON_2024 + 500));
        assert_eq!(parse("2024-01-01 12:00"), Some(NOON_2024));
    }

    #[test]
    fn reads_plain_dates_as_midnight_utc() {
        assert_eq!(parse("1970-01-01"), Some(0));
        assert_eq!(parse("2024-01-01"), Some(NOON_2024 - 12 * 3_600_000));
        assert_eq!(parse("1969-12-31"), Some(-MILLIS_PER_DAY));
    }

    #[test]
    fn accepts_leap_days_only_in_leap_years() {
        assert!(parse("2024-02-29").is_some());
        assert!(parse("2000-02-29").is_some());
        assert_eq!(parse("2023-02-29"), None);
        assert_eq!(parse("1900-02-29"), None);
    }

    #[test]
    fn rejects_malformed_text() {
        for bad in [
            "",
            "yesterday",
            "2024-1-01",
            "2024-13-01",
            "2024-04-31",
            "2024-01-01T24:00:00Z",
            "2024-01-01T12:60:00Z",
            "2024-01-01T12:00:60Z",
            "2024-01-01T12:00:00.Z",
            "2024-01-01T12:00:00+2",
            "2024-01-01T12:00:00 UTC",
            "2024-01-01X12:00:00",
            "infinity",
            "2024-01-01 12:00:00 BC",
        ] {
            assert_eq!(parse(bad), None, "{bad:?} should be rejected");
        }
    }

    #[test]
    fn displays_as_iso_utc_and_round_trips() {
        for millis in [0, NOON_2024 + 7, -1, 951_782_400_000, 253_402_300_799_999] {
            let text = Timestamp::from_millis(millis).to_string();
            assert_eq!(parse(&text), Some(millis), "{text}");
        }
        assert_eq!(
            Timestamp::from_millis(NOON_2024 + 7).to_string(),
            "2024-01-01T12:00:00.007Z"
        );
        assert_eq!(
            Timestamp::from_millis(-1).to_string(),
            "1969-12-31T23:59:59.999Z"
        );
    }

    #[test]
    fn millis_since_saturates() {
        let early = Timestamp::from_millis(i64::MIN);
        let late = Timestamp::from_millis(i64::MAX);
        assert_eq!(late.millis_since(early), i64::MAX);
        assert_eq!(early.millis_since(late), i64::MIN);
        assert_eq!(
            Timestamp::from_millis(5).millis_since(Timestamp::from_millis(2)),
            3
        );
    }

    #[test]
    fn serialises_as_a_bare_integer() {
        let json = serde_json::to_string(&Timestamp::from_millis(NOON_2024)).unwrap();
        assert_eq!(json, NOON_2024.to_string());
        let back: Timestamp = serde_json::from_str(&json).unwrap();
        assert_eq!(back.millis(), NOON_2024);
    }
}
