//! Dates, times and datetimes in every spelling the two sides use.
//!
//! Postgres' `to_jsonb()` writes `2024-01-31T12:00:00[.ffffff][+hh:mm[:ss]]`; Salesforce writes
//! `2024-01-31T12:00:00.000+0000` and `12:00:00.000Z`. Parsing accepts all of them (plus a space
//! instead of `T`); rendering produces exactly what the receiving side's input accepts.
//! A datetime without an offset (a local `timestamp`) is read as UTC.

use super::decimal::{abbreviate, Decimal};
use crate::config::TimestampFormat;
use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Timelike, Utc};

/// Earliest year Salesforce stores in a date or datetime field.
const SALESFORCE_MIN_YEAR: i32 = 1700;
/// Latest year Salesforce stores in a date or datetime field.
const SALESFORCE_MAX_YEAR: i32 = 4000;

/// Parses `YYYY-MM-DD`.
pub fn parse_date(text: &str) -> Result<NaiveDate, String> {
    let text = text.trim();
    refuse_infinity(text)?;
    if text.len() != 10 {
        return Err(format!(
            "\"{}\" is not a date (expected YYYY-MM-DD)",
            abbreviate(text)
        ));
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|e| {
        format!(
            "\"{}\" is not a valid date (expected YYYY-MM-DD): {e}",
            abbreviate(text)
        )
    })
}

/// Parses `HH:MM[:SS[.fff]]`, with Salesforce's optional trailing `Z`.
pub fn parse_time(text: &str) -> Result<NaiveTime, String> {
    let trimmed = text.trim();
    let bare = trimmed.strip_suffix(['Z', 'z']).unwrap_or(trimmed);
    NaiveTime::parse_from_str(bare, "%H:%M:%S%.f")
        .or_else(|_| NaiveTime::parse_from_str(bare, "%H:%M"))
        .map_err(|_| {
            format!(
                "\"{}\" is not a valid time of day (expected HH:MM:SS)",
                abbreviate(trimmed)
            )
        })
}

/// Parses a datetime with or without an offset (`Z`, `±HH`, `±HHMM`, `±HH:MM`, `±HH:MM:SS`);
/// without one it is UTC. A bare date is midnight UTC.
pub fn parse_datetime(text: &str) -> Result<DateTime<Utc>, String> {
    let text = text.trim();
    refuse_infinity(text)?;
    let invalid = |why: &str| {
        format!(
            "\"{}\" is not a valid datetime ({why}; expected e.g. 2024-01-31T12:00:00Z)",
            abbreviate(text)
        )
    };
    if !text.is_char_boundary(10.min(text.len())) {
        return Err(invalid("bad date part"));
    }
    if text.len() == 10 {
        let date = parse_date(text).map_err(|_| invalid("bad date part"))?;
        return Ok(Utc.from_utc_datetime(&date.and_time(NaiveTime::MIN)));
    }
    let (date_part, rest) = text.split_at(10.min(text.len()));
    let date = parse_date(date_part).map_err(|_| invalid("bad date part"))?;
    let rest = rest
        .strip_prefix(['T', 't', ' '])
        .ok_or_else(|| invalid("missing time"))?;
    let (time_part, offset_seconds) = split_offset(rest).ok_or_else(|| invalid("bad offset"))?;
    let time = NaiveTime::parse_from_str(time_part, "%H:%M:%S%.f")
        .or_else(|_| NaiveTime::parse_from_str(time_part, "%H:%M"))
        .map_err(|_| invalid("bad time part"))?;
    let local = NaiveDateTime::new(date, time);
    Ok(Utc.from_utc_datetime(&(local - chrono::Duration::seconds(offset_seconds))))
}

fn refuse_infinity(text: &str) -> Result<(), String> {
    if text.eq_ignore_ascii_case("infinity") || text.eq_ignore_ascii_case("-infinity") {
        return Err(format!(
            "\"{text}\" cannot be synced: neither side stores infinite dates"
        ));
    }
    Ok(())
}

/// Splits `12:00:00.000+05:30` into the time and the offset in seconds east of UTC.
fn split_offset(text: &str) -> Option<(&str, i64)> {
    if let Some(time) = text.strip_suffix(['Z', 'z']) {
        return Some((time, 0));
    }
    let Some(at) = text.rfind(['+', '-']) else {
        return Some((text, 0));
    };
    let (time, offset) = text.split_at(at);
    let sign = if offset.starts_with('-') { -1 } else { 1 };
    let digits: String = offset[1..].chars().filter(|c| *c != ':').collect();
    if !digits.bytes().all(|b| b.is_ascii_digit()) || !matches!(digits.len(), 2 | 4 | 6) {
        return None;
    }
    let field = |i: usize| {
        digits
            .get(i..i + 2)
            .map_or(0, |p| p.parse::<i64>().unwrap_or(0))
    };
    let (hours, minutes, seconds) = (field(0), field(2), field(4));
    if hours > 15 || minutes > 59 || seconds > 59 {
        return None;
    }
    Some((time, sign * (hours * 3600 + minutes * 60 + seconds)))
}

/// Seconds (or milliseconds) since the epoch for `unix_seconds` / `unix_millis`, exactly.
pub fn to_unix(instant: &DateTime<Utc>, format: TimestampFormat) -> Option<Decimal> {
    let micros = Decimal::from_i128(instant.timestamp_micros() as i128);
    let shift = match format {
        TimestampFormat::UnixSeconds => 6,
        TimestampFormat::UnixMillis => 3,
        TimestampFormat::Iso8601 | TimestampFormat::Salesforce => return None,
    };
    let text = format!("{}E-{shift}", micros.to_plain(None));
    Decimal::parse(&text).ok()
}

/// The instant a `unix_seconds` / `unix_millis` number names.
pub fn from_unix(number: &Decimal, format: TimestampFormat) -> Result<DateTime<Utc>, String> {
    let shift = match format {
        TimestampFormat::UnixSeconds => 6,
        TimestampFormat::UnixMillis => 3,
        TimestampFormat::Iso8601 | TimestampFormat::Salesforce => {
            return Err(format!(
                "{number} is a number, but timestamp_format is not unix_seconds or unix_millis"
            ))
        }
    };
    let micros = Decimal::parse(&format!("{}E{shift}", number.to_plain(None)))
        .ok()
        .and_then(|m| m.round(0).to_i128())
        .and_then(|m| i64::try_from(m).ok());
    micros
        .and_then(DateTime::from_timestamp_micros)
        .ok_or_else(|| format!("{number} is out of range for a timestamp"))
}

/// Renders a datetime for a text column per `mapping_options.timestamp_format`.
pub fn format_datetime_text(instant: &DateTime<Utc>, format: TimestampFormat) -> String {
    match format {
        TimestampFormat::Iso8601 => instant.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        TimestampFormat::Salesforce => instant.format("%Y-%m-%dT%H:%M:%S%.3f+0000").to_string(),
        TimestampFormat::UnixSeconds | TimestampFormat::UnixMillis => {
            let unix = to_unix(instant, format).expect("unix formats always convert");
            unix.to_plain(None)
        }
    }
}

/// A datetime as Salesforce's REST API accepts it: `2024-01-31T12:00:00.000Z`.
pub fn salesforce_datetime(instant: &DateTime<Utc>) -> Result<String, String> {
    salesforce_year(instant.year())?;
    Ok(instant.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
}

/// A date as Salesforce accepts it, refusing years it cannot store.
pub fn salesforce_date(date: &NaiveDate) -> Result<String, String> {
    salesforce_year(date.year())?;
    Ok(date.format("%Y-%m-%d").to_string())
}

fn salesforce_year(year: i32) -> Result<(), String> {
    if !(SALESFORCE_MIN_YEAR..=SALESFORCE_MAX_YEAR).contains(&year) {
        return Err(format!(
            "year {year} is outside the range Salesforce stores ({SALESFORCE_MIN_YEAR}–{SALESFORCE_MAX_YEAR})"
        ));
    }
    Ok(())
}

/// A time as Salesforce accepts it: `12:00:00.000Z`.
pub fn salesforce_time(time: &NaiveTime) -> String {
    time.format("%H:%M:%S%.3fZ").to_string()
}

/// A datetime for a Postgres `timestamp` column (UTC wall clock).
pub fn pg_timestamp(instant: &DateTime<Utc>) -> String {
    instant.format("%Y-%m-%d %H:%M:%S%.f").to_string()
}

/// A datetime for a Postgres `timestamptz` column.
pub fn pg_timestamptz(instant: &DateTime<Utc>) -> String {
    instant.format("%Y-%m-%dT%H:%M:%S%.f+00:00").to_string()
}

/// A time for a Postgres `time` column.
pub fn pg_time(time: &NaiveTime) -> String {
    time.format("%H:%M:%S%.f").to_string()
}

/// `YYYY-MM-DD`.
pub fn iso_date(date: &NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}

/// The instant cut to whole seconds: Salesforce stores datetimes to the second, so two
/// values in the same second are the same value for agreement.
pub fn to_second(instant: &DateTime<Utc>) -> DateTime<Utc> {
    instant.with_nanosecond(0).unwrap_or(*instant)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        parse_datetime(text).unwrap()
    }

    #[test]
    fn parses_every_spelling_of_the_same_instant() {
        let noon = Utc.with_ymd_and_hms(2024, 1, 31, 12, 0, 0).unwrap();
        for text in [
            "2024-01-31T12:00:00",
            "2024-01-31 12:00:00",
            "2024-01-31T12:00:00Z",
            "2024-01-31T12:00:00.000+0000",
            "2024-01-31T12:00:00+00:00",
            "2024-01-31T17:30:00+05:30",
            "2024-01-31T07:00:00.000-0500",
            "2024-01-31T13:00:00+01",
            "2024-01-31T12:00",
        ] {
            assert_eq!(utc(text), noon, "{text}");
        }
        assert_eq!(
            utc("2024-01-31T12:53:28+00:53:28"),
            noon,
            "historic offsets with seconds"
        );
        assert_eq!(
            utc("2024-01-31T12:00:00.123456").timestamp_subsec_micros(),
            123_456
        );
        assert_eq!(
            utc("2024-01-31"),
            Utc.with_ymd_and_hms(2024, 1, 31, 0, 0, 0).unwrap()
        );
    }

    #[test]
    fn refuses_bad_datetimes() {
        for bad in [
            "2024-02-30T12:00:00",
            "2024-01-31T25:00:00",
            "2024-01-31X12:00:00",
            "2024-01-31T12:00:00+99:00",
            "yesterday",
            "",
            "infinity",
            "2024-01-31T12:00:00 BC",
            "2024-01-3é",
        ] {
            assert!(parse_datetime(bad).is_err(), "{bad:?} parsed");
        }
        assert!(parse_datetime("-infinity")
            .unwrap_err()
            .contains("infinite"));
    }

    #[test]
    fn dates_and_times() {
        assert_eq!(
            parse_date("2024-01-01").unwrap(),
            NaiveDate::from_ymd_opt(2024, 1, 1).unwrap()
        );
        assert!(parse_date("2024-13-01").is_err());
        assert!(parse_date("01/02/2024").is_err());
        let t = parse_time("12:00:00.000Z").unwrap();
        assert_eq!(pg_time(&t), "12:00:00");
        assert_eq!(
            salesforce_time(&parse_time("08:15:30.5").unwrap()),
            "08:15:30.500Z"
        );
        assert_eq!(pg_time(&parse_time("08:15").unwrap()), "08:15:00");
        assert!(parse_time("8 o'clock").is_err());
    }

    #[test]
    fn renders_for_each_side() {
        let t = utc("2024-01-31T12:00:00.5+00:00");
        assert_eq!(salesforce_datetime(&t).unwrap(), "2024-01-31T12:00:00.500Z");
        assert_eq!(pg_timestamp(&t), "2024-01-31 12:00:00.500");
        assert_eq!(
            pg_timestamptz(&utc("2024-01-31T12:00:00Z")),
            "2024-01-31T12:00:00+00:00"
        );
        assert!(salesforce_datetime(&utc("1600-01-01T00:00:00Z")).is_err());
        assert!(salesforce_date(&NaiveDate::from_ymd_opt(4001, 1, 1).unwrap()).is_err());
    }

    #[test]
    fn timestamp_formats() {
        let t = utc("2024-01-01T12:00:00Z");
        for (format, text) in [
            (TimestampFormat::Iso8601, "2024-01-01T12:00:00.000Z"),
            (TimestampFormat::Salesforce, "2024-01-01T12:00:00.000+0000"),
            (TimestampFormat::UnixSeconds, "1704110400"),
            (TimestampFormat::UnixMillis, "1704110400000"),
        ] {
            assert_eq!(format_datetime_text(&t, format), text, "{format:?}");
        }
        let half = utc("2024-01-01T12:00:00.5Z");
        assert_eq!(
            format_datetime_text(&half, TimestampFormat::UnixSeconds),
            "1704110400.5"
        );
    }

    #[test]
    fn unix_numbers_round_trip() {
        let t = utc("2024-01-01T12:00:00.250Z");
        for format in [TimestampFormat::UnixSeconds, TimestampFormat::UnixMillis] {
            let n = to_unix(&t, format).unwrap();
            assert_eq!(from_unix(&n, format).unwrap(), t);
        }
        let big = Decimal::parse("1E30").unwrap();
        assert!(from_unix(&big, TimestampFormat::UnixSeconds).is_err());
        assert!(from_unix(&Decimal::zero(), TimestampFormat::Iso8601).is_err());
    }
}
