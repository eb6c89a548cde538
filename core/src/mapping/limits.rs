//! Size and range checks both sides share. A value that does not fit is a per-record
//! error: nothing is ever truncated or silently rounded past what the column allows.

use super::datum::Datum;
use super::decimal::{abbreviate, Decimal};
use super::temporal;
use crate::config::TimestampFormat;
use serde_json::Value;

/// Refuses text longer than `max` characters (Postgres and Salesforce both count characters).
pub fn check_length(text: &str, max: Option<u32>, type_label: &str) -> Result<(), String> {
    let Some(max) = max else { return Ok(()) };
    let chars = text.chars().count();
    if chars > max as usize {
        return Err(format!(
            "value \"{}\" has {chars} characters, too long for {type_label} (at most {max}); shorten it, it is not truncated",
            abbreviate(text)
        ));
    }
    Ok(())
}

/// A number rounded to `scale` that must fit `precision` total digits.
pub fn scaled_decimal(
    number: &Decimal,
    precision: Option<u32>,
    scale: Option<u32>,
    type_label: &str,
) -> Result<Decimal, String> {
    let rounded = match scale {
        Some(s) => number.round(s),
        None => number.clone(),
    };
    if let Some(p) = precision {
        let allowed = p.saturating_sub(scale.unwrap_or(0)) as u64;
        if rounded.integer_digits() > allowed {
            return Err(format!(
                "{} does not fit {type_label}: at most {allowed} digits before the decimal point",
                abbreviate(&number.to_plain(None))
            ));
        }
    }
    Ok(rounded)
}

/// A whole number in `[min, max]`: datetimes become epoch numbers rounded down, other
/// numbers round half away from zero (as a Postgres numeric-to-integer cast does).
pub fn integer(
    datum: Datum,
    min: i128,
    max: i128,
    type_label: &str,
    format: TimestampFormat,
) -> Result<i128, String> {
    let whole = match datum {
        Datum::DateTime(t) => temporal::to_unix(&t, format)
            .ok_or_else(|| {
                format!("a datetime needs timestamp_format unix_seconds or unix_millis to be stored in {type_label}")
            })?
            .floor(),
        other => other.into_number(format)?.round(0),
    };
    whole
        .to_i128()
        .filter(|v| (min..=max).contains(v))
        .ok_or_else(|| {
            format!(
                "{} is out of range for {type_label} ({min} to {max})",
                abbreviate(&whole.to_plain(None))
            )
        })
}

/// [`integer`] as the JSON number both sides write.
pub fn integer_json(
    datum: Datum,
    min: i128,
    max: i128,
    type_label: &str,
    format: TimestampFormat,
) -> Result<Value, String> {
    let whole = integer(datum, min, max, type_label, format)?;
    Ok(Value::Number(
        whole
            .to_string()
            .parse()
            .expect("an integer is a JSON number"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ISO: TimestampFormat = TimestampFormat::Iso8601;

    #[test]
    fn length_counts_characters_not_bytes() {
        assert!(check_length("ÅÄÖ", Some(3), "varchar(3)").is_ok());
        assert!(check_length("日本語です", Some(5), "varchar(5)").is_ok());
        let err = check_length("abcd", Some(3), "varchar(3)").unwrap_err();
        assert!(
            err.contains("4 characters, too long for varchar(3)"),
            "{err}"
        );
        assert!(check_length(&"x".repeat(1_000_000), None, "text").is_ok());
    }

    #[test]
    fn decimals_round_then_must_fit() {
        let d = |s| Decimal::parse(s).unwrap();
        let v = scaled_decimal(&d("1.5E7"), Some(18), Some(2), "numeric(18,2)").unwrap();
        assert_eq!(v.to_plain(Some(2)), "15000000.00");
        let max = scaled_decimal(
            &d("9999999999999999.994"),
            Some(18),
            Some(2),
            "numeric(18,2)",
        );
        assert_eq!(max.unwrap().to_plain(Some(2)), "9999999999999999.99");
        // Rounding up can push a value over the limit.
        assert!(scaled_decimal(
            &d("9999999999999999.995"),
            Some(18),
            Some(2),
            "numeric(18,2)"
        )
        .is_err());
        let err = scaled_decimal(
            &d("12345678901234567.89"),
            Some(18),
            Some(2),
            "numeric(18,2)",
        )
        .unwrap_err();
        assert!(
            err.contains("at most 16 digits before the decimal point"),
            "{err}"
        );
    }

    #[test]
    fn integers_check_range_and_round() {
        let n = |s: &str| Datum::Number(Decimal::parse(s).unwrap());
        assert_eq!(
            integer(n("32767"), -32768, 32767, "smallint", ISO).unwrap(),
            32767
        );
        assert!(integer(n("32768"), -32768, 32767, "smallint", ISO).is_err());
        assert_eq!(integer(n("2.5"), -10, 10, "integer", ISO).unwrap(), 3);
        assert_eq!(integer(n("-2.5"), -10, 10, "integer", ISO).unwrap(), -3);
        assert!(integer(n("1E40"), i64::MIN as i128, i64::MAX as i128, "bigint", ISO).is_err());
        assert!(integer(Datum::Text("12a".into()), -10, 10, "integer", ISO).is_err());
    }
}
