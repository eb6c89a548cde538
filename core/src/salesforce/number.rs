//! Salesforce numbers as exact decimals.
//!
//! REST JSON writes currency, double and percent values the way Java's
//! `Double.toString` does (`1500.0`, `1.5E7`, `9.9213206E7`). With serde_json's
//! `arbitrary_precision` the original digits survive parsing; this module turns them into
//! one plain decimal text, so `1.5E7` and `15000000` compare equal and land in a `numeric`
//! column without a round trip through binary floating point.

use serde_json::Number;

/// The exact value of `number` as a plain decimal: no exponent, no leading zeros, no
/// trailing fractional zeros, no `-0` (`1.5E7` → `15000000`, `1500.0` → `1500`,
/// `-2.50E-3` → `-0.0025`).
pub fn plain_decimal(number: &Number) -> String {
    let text = number.to_string();
    let (negative, unsigned) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.as_str()),
    };
    let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
        Some(at) => (&unsigned[..at], exponent_value(&unsigned[at + 1..])),
        None => (unsigned, 0),
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits: String = whole.chars().chain(fraction.chars()).collect();
    // The decimal point sits after `point` digits of `digits`.
    let point = i64::try_from(whole.len())
        .unwrap_or(i64::MAX)
        .saturating_add(exponent);
    let magnitude = place_point(&digits, point);
    if negative && magnitude != "0" {
        format!("-{magnitude}")
    } else {
        magnitude
    }
}

/// A JSON exponent (`7`, `+7`, `-3`); absurd exponents saturate (their numbers are not
/// Salesforce values anyway).
fn exponent_value(text: &str) -> i64 {
    let (sign, digits) = match text.as_bytes().first() {
        Some(b'-') => (-1, &text[1..]),
        Some(b'+') => (1, &text[1..]),
        _ => (1, text),
    };
    digits
        .bytes()
        .fold(0i64, |n, d| {
            n.saturating_mul(10).saturating_add(i64::from(d - b'0'))
        })
        .saturating_mul(sign)
        .clamp(-1_000_000, 1_000_000)
}

/// `digits` with a decimal point after `point` of them, padded with zeros as needed, then
/// trimmed to canonical form.
fn place_point(digits: &str, point: i64) -> String {
    let len = digits.len() as i64;
    let (whole, fraction) = if point <= 0 {
        let zeros = "0".repeat(usize::try_from(-point).unwrap_or(0));
        (String::new(), format!("{zeros}{digits}"))
    } else if point >= len {
        let zeros = "0".repeat(usize::try_from(point - len).unwrap_or(0));
        (format!("{digits}{zeros}"), String::new())
    } else {
        let (w, f) = digits.split_at(point as usize);
        (w.to_string(), f.to_string())
    };
    let whole = whole.trim_start_matches('0');
    let fraction = fraction.trim_end_matches('0');
    let whole = if whole.is_empty() { "0" } else { whole };
    if fraction.is_empty() {
        whole.to_string()
    } else {
        format!("{whole}.{fraction}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(json: &str) -> String {
        plain_decimal(&serde_json::from_str::<Number>(json).unwrap())
    }

    #[test]
    fn expands_java_double_notation_exactly() {
        assert_eq!(plain("1.5E7"), "15000000");
        assert_eq!(plain("9.9213206E7"), "99213206");
        assert_eq!(plain("1.23456789012E11"), "123456789012");
        assert_eq!(plain("1.0E-4"), "0.0001");
        assert_eq!(plain("-2.50E-3"), "-0.0025");
        assert_eq!(plain("1e+2"), "100");
        assert_eq!(plain("1.2345E2"), "123.45");
    }

    #[test]
    fn canonicalises_plain_numbers() {
        assert_eq!(plain("1500.0"), "1500");
        assert_eq!(plain("15.5"), "15.5");
        assert_eq!(plain("0"), "0");
        assert_eq!(plain("-0.0"), "0");
        assert_eq!(plain("0.10"), "0.1");
        assert_eq!(plain("120"), "120");
        assert_eq!(plain("-7"), "-7");
    }

    #[test]
    fn keeps_digits_beyond_double_precision() {
        assert_eq!(
            plain("12345678901234567890.123456789"),
            "12345678901234567890.123456789"
        );
        assert_eq!(plain("9.007199254740993E15"), "9007199254740993");
    }
}
