//! NetSuite's time texts on top of the `time` crate: ISO-8601 UTC on REST records
//! (`2024-01-15T10:02:11Z`, whole seconds), and the format models of SuiteQL's
//! `TO_CHAR`/`TO_TIMESTAMP` and of the user's date preference (`M/D/YYYY`), rendered
//! in the user's time zone (a fixed offset).
//!
//! Format tokens: `YYYY`, `MM`, `DD`, `HH24`, `MI`, `SS` (zero-padded), `M`, `D`
//! (unpadded, as in the date preference); anything else alphanumeric is refused so a
//! model the emulator does not know is never rendered wrongly.

use time::format_description::well_known::Rfc3339;
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token {
    Year,
    Month,
    Day,
    Hour,
    Minute,
    Second,
    MonthUnpadded,
    DayUnpadded,
}

/// A format model split into tokens and literal characters.
fn tokens(model: &str) -> Result<Vec<Result<Token, char>>, String> {
    const TABLE: [(&str, Token); 8] = [
        ("YYYY", Token::Year),
        ("HH24", Token::Hour),
        ("MM", Token::Month),
        ("DD", Token::Day),
        ("MI", Token::Minute),
        ("SS", Token::Second),
        ("M", Token::MonthUnpadded),
        ("D", Token::DayUnpadded),
    ];
    let mut out = Vec::new();
    let mut rest = model;
    'outer: while let Some(c) = rest.chars().next() {
        for (text, token) in TABLE {
            if rest.len() >= text.len() && rest[..text.len()].eq_ignore_ascii_case(text) {
                out.push(Ok(token));
                rest = &rest[text.len()..];
                continue 'outer;
            }
        }
        if c.is_ascii_alphanumeric() {
            return Err(format!("format element {rest:?} is not supported"));
        }
        out.push(Err(c));
        rest = &rest[c.len_utf8()..];
    }
    Ok(out)
}

fn offset(minutes: i32) -> UtcOffset {
    UtcOffset::from_whole_seconds(minutes * 60).unwrap_or(UtcOffset::UTC)
}

/// Renders epoch milliseconds with a format model in the given time zone.
pub fn format(ms: i64, model: &str, tz_minutes: i32) -> Result<String, String> {
    let at = OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .map_err(|e| e.to_string())?
        .to_offset(offset(tz_minutes));
    let mut out = String::new();
    for token in tokens(model)? {
        let part = match token {
            Err(c) => c.to_string(),
            Ok(Token::Year) => format!("{:04}", at.year()),
            Ok(Token::Month) => format!("{:02}", u8::from(at.month())),
            Ok(Token::Day) => format!("{:02}", at.day()),
            Ok(Token::Hour) => format!("{:02}", at.hour()),
            Ok(Token::Minute) => format!("{:02}", at.minute()),
            Ok(Token::Second) => format!("{:02}", at.second()),
            Ok(Token::MonthUnpadded) => u8::from(at.month()).to_string(),
            Ok(Token::DayUnpadded) => at.day().to_string(),
        };
        out.push_str(&part);
    }
    Ok(out)
}

/// Parses `text` with a format model in the given time zone into epoch milliseconds.
pub fn parse(text: &str, model: &str, tz_minutes: i32) -> Result<i64, String> {
    let wrong = || format!("{text:?} does not match the format {model:?}");
    let mut parts = [1970i32, 1, 1, 0, 0, 0];
    let mut rest = text;
    for token in tokens(model)? {
        let (slot, width) = match token {
            Err(c) => {
                rest = rest.strip_prefix(c).ok_or_else(wrong)?;
                continue;
            }
            Ok(Token::Year) => (0, 4),
            Ok(Token::Month | Token::MonthUnpadded) => (1, 2),
            Ok(Token::Day | Token::DayUnpadded) => (2, 2),
            Ok(Token::Hour) => (3, 2),
            Ok(Token::Minute) => (4, 2),
            Ok(Token::Second) => (5, 2),
        };
        let digits = rest
            .bytes()
            .take(width)
            .take_while(u8::is_ascii_digit)
            .count();
        if digits == 0 {
            return Err(wrong());
        }
        parts[slot] = rest[..digits].parse().map_err(|_| wrong())?;
        rest = &rest[digits..];
    }
    if !rest.is_empty() {
        return Err(wrong());
    }
    let [y, mo, d, h, mi, s] = parts;
    let month = u8::try_from(mo)
        .ok()
        .and_then(|m| Month::try_from(m).ok())
        .ok_or_else(wrong)?;
    let date = Date::from_calendar_date(y, month, u8::try_from(d).map_err(|_| wrong())?)
        .map_err(|_| wrong())?;
    let clock = Time::from_hms(
        u8::try_from(h).map_err(|_| wrong())?,
        u8::try_from(mi).map_err(|_| wrong())?,
        u8::try_from(s).map_err(|_| wrong())?,
    )
    .map_err(|_| wrong())?;
    let at = PrimitiveDateTime::new(date, clock).assume_offset(offset(tz_minutes));
    Ok(at.unix_timestamp() * 1000)
}

/// `2024-01-15T10:02:11Z`.
pub fn iso(ms: i64) -> String {
    format(ms, "YYYY-MM-DD", 0).unwrap_or_default()
        + "T"
        + &format(ms, "HH24:MI:SS", 0).unwrap_or_default()
        + "Z"
}

/// An RFC 3339 datetime (`Z` or an offset) as epoch milliseconds, whole seconds.
pub fn parse_iso(text: &str) -> Option<i64> {
    OffsetDateTime::parse(text, &Rfc3339)
        .ok()
        .map(|t| t.unix_timestamp() * 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses_models() {
        let ms = parse("2024-01-15 10:02:11", "YYYY-MM-DD HH24:MI:SS", 0).unwrap();
        assert_eq!(iso(ms), "2024-01-15T10:02:11Z");
        assert_eq!(format(ms, "M/D/YYYY", 0).unwrap(), "1/15/2024");
        assert_eq!(
            format(ms, "YYYY-MM-DD HH24:MI", -480).unwrap(),
            "2024-01-15 02:02"
        );
        assert_eq!(
            parse("1/5/2024", "M/D/YYYY", 0).unwrap(),
            parse_iso("2024-01-05T00:00:00Z").unwrap()
        );
        assert_eq!(
            parse("2024-01-15 02:02:11", "YYYY-MM-DD HH24:MI:SS", -480).unwrap(),
            ms
        );
        assert_eq!(parse_iso("2024-01-15T11:02:11+01:00"), Some(ms));
        for (text, model) in [
            ("2024-13-01", "YYYY-MM-DD"),
            ("2024-01-15x", "YYYY-MM-DD"),
            ("15-JAN-2024", "DD-MON-YYYY"),
        ] {
            assert!(parse(text, model, 0).is_err(), "{text}");
        }
        assert!(format(ms, "Day", 0).is_err());
    }
}
