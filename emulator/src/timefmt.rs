//! Dates and datetimes the way the Salesforce REST API writes and reads them.
//!
//! Kept dependency-free and allocation-light because every record rendered in a query
//! page formats several datetimes. Datetimes are epoch milliseconds (UTC), dates are
//! days since 1970-01-01, times are milliseconds since midnight.

use std::fmt::Write;

/// Milliseconds in one day.
pub const DAY_MS: i64 = 86_400_000;

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The (year, month, day) of a day number.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Day of week, 0 = Sunday (the first day of a week in the default en_US locale).
pub fn weekday(days: i64) -> i64 {
    (days + 4).rem_euclid(7)
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        _ => 31,
    }
}

/// `2024-01-01T12:00:00.000+0000`, the REST API's datetime format.
pub fn write_datetime(out: &mut String, ms: i64) {
    let days = ms.div_euclid(DAY_MS);
    let (y, m, d) = civil_from_days(days);
    let in_day = ms.rem_euclid(DAY_MS);
    let _ = write!(out, "{y:04}-{m:02}-{d:02}T");
    write_clock(out, in_day);
    out.push_str("+0000");
}

/// `2024-01-01T12:00:00.000Z`, the datetime format of Bulk CSV and CDC events.
pub fn write_datetime_z(out: &mut String, ms: i64) {
    write_datetime(out, ms);
    out.truncate(out.len() - "+0000".len());
    out.push('Z');
}

/// A datetime as an owned string.
pub fn format_datetime(ms: i64) -> String {
    let mut s = String::with_capacity(28);
    write_datetime(&mut s, ms);
    s
}

/// `2024-01-01`.
pub fn write_date(out: &mut String, days: i64) {
    let (y, m, d) = civil_from_days(days);
    let _ = write!(out, "{y:04}-{m:02}-{d:02}");
}

/// `12:00:00.000Z`, the REST API's time format.
pub fn write_time(out: &mut String, ms_of_day: i64) {
    write_clock(out, ms_of_day);
    out.push('Z');
}

fn write_clock(out: &mut String, ms: i64) {
    let (h, rest) = (ms / 3_600_000, ms % 3_600_000);
    let (min, rest) = (rest / 60_000, rest % 60_000);
    let (s, milli) = (rest / 1000, rest % 1000);
    let _ = write!(out, "{h:02}:{min:02}:{s:02}.{milli:03}");
}

/// Parses `YYYY-MM-DD`.
pub fn parse_date(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let year = digits(&b[0..4])?;
    let month = digits(&b[5..7])? as u32;
    let day = digits(&b[8..10])? as u32;
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    Some(days_from_civil(year, month, day))
}

/// Parses `YYYY-MM-DDThh:mm:ss[.SSS][Z|±hh:mm|±hhmm]` (no zone means UTC).
pub fn parse_datetime(text: &str) -> Option<i64> {
    let (date, rest) = (text.get(..10)?, text.get(10..)?);
    let days = parse_date(date)?;
    let rest = rest.strip_prefix('T').or_else(|| rest.strip_prefix('t'))?;
    let (clock, zone) = split_zone(rest)?;
    let ms = parse_clock(clock)?;
    Some(days * DAY_MS + ms - zone)
}

/// Parses `hh:mm:ss[.SSS][Z]` into milliseconds since midnight.
pub fn parse_time(text: &str) -> Option<i64> {
    parse_clock(text.strip_suffix('Z').unwrap_or(text))
}

/// Splits the zone designator off a clock, returning the offset in milliseconds.
fn split_zone(text: &str) -> Option<(&str, i64)> {
    if let Some(clock) = text.strip_suffix('Z').or_else(|| text.strip_suffix('z')) {
        return Some((clock, 0));
    }
    match text.rfind(['+', '-']) {
        Some(pos) => {
            let zone = text[pos + 1..].replace(':', "");
            if zone.len() != 4 {
                return None;
            }
            let hours = digits(&zone.as_bytes()[..2])?;
            let minutes = digits(&zone.as_bytes()[2..])?;
            if hours > 23 || minutes > 59 {
                return None;
            }
            let sign = if text.as_bytes()[pos] == b'-' { -1 } else { 1 };
            Some((&text[..pos], sign * (hours * 3_600_000 + minutes * 60_000)))
        }
        None => Some((text, 0)),
    }
}

fn parse_clock(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    if b.len() < 8 || b[2] != b':' || b[5] != b':' {
        return None;
    }
    let (h, m, s) = (digits(&b[0..2])?, digits(&b[3..5])?, digits(&b[6..8])?);
    if h > 23 || m > 59 || s > 59 {
        return None;
    }
    let millis = match &b[8..] {
        [] => 0,
        [b'.', frac @ ..] if !frac.is_empty() && frac.len() <= 9 => {
            let mut padded = frac[..frac.len().min(3)].to_vec();
            padded.resize(3, b'0');
            if !frac.iter().all(u8::is_ascii_digit) {
                return None;
            }
            digits(&padded)?
        }
        _ => return None,
    };
    Some(((h * 60 + m) * 60 + s) * 1000 + millis)
}

fn digits(bytes: &[u8]) -> Option<i64> {
    if bytes.is_empty() || !bytes.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(
        bytes
            .iter()
            .fold(0, |acc, b| acc * 10 + i64::from(b - b'0')),
    )
}

/// First day of the month `delta` months after the month containing `days`.
pub fn month_start(days: i64, delta: i64) -> i64 {
    let (y, m, _) = civil_from_days(days);
    let index = y * 12 + i64::from(m) - 1 + delta;
    days_from_civil(index.div_euclid(12), (index.rem_euclid(12) + 1) as u32, 1)
}

/// First day of the year `delta` years after the year containing `days`.
pub fn year_start(days: i64, delta: i64) -> i64 {
    let (y, _, _) = civil_from_days(days);
    days_from_civil(y + delta, 1, 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_datetimes_in_rest_format() {
        let ms = parse_datetime("2024-01-01T12:00:00.000+0000").unwrap();
        assert_eq!(format_datetime(ms), "2024-01-01T12:00:00.000+0000");
        assert_eq!(parse_datetime("2024-01-01T12:00:00Z"), Some(ms));
        assert_eq!(parse_datetime("2024-01-01T14:30:00+02:30"), Some(ms));
        assert_eq!(parse_datetime("2024-01-01T07:00:00-0500"), Some(ms));
        assert_eq!(parse_datetime("2024-01-01T12:00:00.5Z"), Some(ms + 500));
        assert_eq!(format_datetime(0), "1970-01-01T00:00:00.000+0000");
    }

    #[test]
    fn rejects_bad_dates_and_times() {
        assert_eq!(parse_date("2024-02-30"), None);
        assert_eq!(parse_date("2024-13-01"), None);
        assert!(parse_date("2024-02-29").is_some());
        assert_eq!(parse_datetime("2024-01-01 12:00:00Z"), None);
        assert_eq!(parse_datetime("2024-01-01T25:00:00Z"), None);
        assert_eq!(parse_time("12:00:00.000Z"), Some(43_200_000));
    }

    #[test]
    fn calendar_arithmetic() {
        let d = parse_date("2024-03-15").unwrap();
        let mut s = String::new();
        write_date(&mut s, month_start(d, -3));
        assert_eq!(s, "2023-12-01");
        assert_eq!(weekday(parse_date("2024-03-17").unwrap()), 0);
        assert_eq!(year_start(d, 1), parse_date("2025-01-01").unwrap());
    }
}
