//! Exact decimal numbers, parsed from and rendered to text without ever passing through `f64`.
//!
//! Salesforce writes currency as Java doubles (`1500.0`, `1.5E7`) and Postgres `numeric`
//! may carry more digits than any machine float. Mapping only needs parse, round to a
//! scale, count digits, compare and render, so a digit string with a power-of-ten
//! exponent does it exactly, with bounded work even for absurd input such as `1E999999999`.

use std::fmt;

/// Most digits Postgres `numeric` allows before the decimal point.
const MAX_INTEGER_DIGITS: i64 = 131_072;
/// Most digits Postgres `numeric` allows after the decimal point.
const MAX_FRACTION_DIGITS: i64 = 16_383;
/// Longest number text accepted; anything longer cannot be a valid `numeric` anyway.
const MAX_TEXT_LEN: usize = (MAX_INTEGER_DIGITS + MAX_FRACTION_DIGITS + 16) as usize;

/// A decimal number `digits × 10^exponent`, kept normalised so equal numbers compare equal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decimal {
    negative: bool,
    /// ASCII digits without leading or trailing zeros; empty for zero.
    digits: Vec<u8>,
    exponent: i64,
}

impl Decimal {
    /// Zero.
    pub fn zero() -> Decimal {
        Decimal {
            negative: false,
            digits: Vec::new(),
            exponent: 0,
        }
    }

    /// Parses a JSON number or a decimal string (`-12.50`, `1.5E7`, `+3`), surrounding
    /// whitespace allowed; `NaN` and infinities are refused because neither side stores them.
    pub fn parse(text: &str) -> Result<Decimal, String> {
        let text = text.trim();
        if text.len() > MAX_TEXT_LEN {
            return Err(format!(
                "a number of {} characters is out of range",
                text.len()
            ));
        }
        let bad = || format!("\"{}\" is not a number", abbreviate(text));
        let (negative, rest) = match text.as_bytes().first() {
            Some(b'-') => (true, &text[1..]),
            Some(b'+') => (false, &text[1..]),
            _ => (false, text),
        };
        let (mantissa, exp_text) = match rest.find(['e', 'E']) {
            Some(at) => (&rest[..at], Some(&rest[at + 1..])),
            None => (rest, None),
        };
        let (int_part, frac_part) = match mantissa.find('.') {
            Some(at) => (&mantissa[..at], &mantissa[at + 1..]),
            None => (mantissa, ""),
        };
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if int_part.len() + frac_part.len() == 0 || !all_digits(int_part) || !all_digits(frac_part)
        {
            return Err(bad());
        }
        let exponent: i64 = match exp_text {
            None => 0,
            Some(e) => {
                let digits = e.strip_prefix(['+', '-']).unwrap_or(e);
                if digits.is_empty() || !all_digits(digits) {
                    return Err(bad());
                }
                // Anything beyond i32 is far outside numeric's range; clamp instead of overflowing.
                e.parse::<i64>()
                    .unwrap_or(if e.starts_with('-') {
                        i64::MIN / 4
                    } else {
                        i64::MAX / 4
                    })
                    .clamp(i64::MIN / 4, i64::MAX / 4)
            }
        };
        let digits: Vec<u8> = int_part.bytes().chain(frac_part.bytes()).collect();
        let value = Decimal::normalised(negative, digits, exponent - frac_part.len() as i64);
        value.check_range(text)?;
        Ok(value)
    }

    /// An integer value.
    pub fn from_i128(value: i128) -> Decimal {
        Decimal::normalised(value < 0, value.unsigned_abs().to_string().into_bytes(), 0)
    }

    /// Builds the canonical form: no leading/trailing zeros, zero is positive.
    fn normalised(negative: bool, mut digits: Vec<u8>, mut exponent: i64) -> Decimal {
        let leading = digits.iter().take_while(|&&d| d == b'0').count();
        digits.drain(..leading);
        while digits.last() == Some(&b'0') {
            digits.pop();
            exponent += 1;
        }
        if digits.is_empty() {
            return Decimal::zero();
        }
        Decimal {
            negative,
            digits,
            exponent,
        }
    }

    /// Refuses values Postgres `numeric` cannot hold, before anything renders their digits.
    fn check_range(&self, text: &str) -> Result<(), String> {
        if self.integer_digits() as i64 > MAX_INTEGER_DIGITS
            || self.fraction_digits() as i64 > MAX_FRACTION_DIGITS
        {
            return Err(format!(
                "{} is out of range for a decimal number",
                abbreviate(text)
            ));
        }
        Ok(())
    }

    /// Digits before the decimal point (0 when the magnitude is below 1).
    pub fn integer_digits(&self) -> u64 {
        (self.digits.len() as i64 + self.exponent).max(0) as u64
    }

    /// Digits after the decimal point, in the normalised form.
    pub fn fraction_digits(&self) -> u64 {
        (-self.exponent).max(0) as u64
    }

    /// Rounds to `scale` fraction digits, half away from zero — as Postgres rounds
    /// `numeric` and as Salesforce rounds on save.
    pub fn round(&self, scale: u32) -> Decimal {
        let keep_from = -(scale as i64);
        if self.exponent >= keep_from {
            return self.clone();
        }
        let drop = (keep_from - self.exponent) as usize;
        let len = self.digits.len();
        let (mut kept, first_dropped) = if drop > len {
            (Vec::new(), b'0')
        } else {
            (self.digits[..len - drop].to_vec(), self.digits[len - drop])
        };
        if first_dropped >= b'5' {
            increment(&mut kept);
        }
        Decimal::normalised(self.negative, kept, keep_from)
    }

    /// Rounds toward negative infinity to an integer.
    pub fn floor(&self) -> Decimal {
        let truncated = self.truncate();
        if self.negative && truncated != *self {
            let mut digits = truncated.digits.clone();
            let exponent = truncated.exponent;
            // Bring the digits to exponent 0 before adding one unit.
            digits.extend(std::iter::repeat_n(b'0', exponent.max(0) as usize));
            if digits.is_empty() {
                digits.push(b'0');
            }
            increment(&mut digits);
            return Decimal::normalised(true, digits, 0);
        }
        truncated
    }

    fn truncate(&self) -> Decimal {
        if self.exponent >= 0 {
            return self.clone();
        }
        let drop = (-self.exponent) as usize;
        let kept = self.digits[..self.digits.len().saturating_sub(drop)].to_vec();
        Decimal::normalised(self.negative, kept, 0)
    }

    /// The value as an integer, if it is one and fits.
    pub fn to_i128(&self) -> Option<i128> {
        if self.exponent < 0 || self.integer_digits() > 38 {
            return None;
        }
        let mut value: i128 = 0;
        for &d in &self.digits {
            value = value.checked_mul(10)?.checked_add((d - b'0') as i128)?;
        }
        for _ in 0..self.exponent {
            value = value.checked_mul(10)?;
        }
        Some(if self.negative { -value } else { value })
    }

    /// Plain decimal text (never an exponent), with exactly `scale` fraction digits when given.
    pub fn to_plain(&self, scale: Option<u32>) -> String {
        let fraction = match scale {
            Some(s) => s as usize,
            None => self.fraction_digits() as usize,
        };
        let int_digits = self.integer_digits() as usize;
        let mut out = String::with_capacity(int_digits + fraction + 3);
        if self.negative {
            out.push('-');
        }
        // Digit at position p (p = 0 is the units digit, negative p after the point).
        let digit_at = |p: i64| -> char {
            let index = self.digits.len() as i64 - 1 - (p - self.exponent);
            if index >= 0 && (index as usize) < self.digits.len() {
                self.digits[index as usize] as char
            } else {
                '0'
            }
        };
        if int_digits == 0 {
            out.push('0');
        }
        for p in (0..int_digits as i64).rev() {
            out.push(digit_at(p));
        }
        if fraction > 0 {
            out.push('.');
            for p in 1..=fraction as i64 {
                out.push(digit_at(-p));
            }
        }
        out
    }

    /// This number as a JSON number (serde_json keeps the exact text).
    pub fn to_json(&self, scale: Option<u32>) -> serde_json::Value {
        let text = self.to_plain(scale);
        let number: serde_json::Number = text
            .parse()
            .expect("plain decimal text is always a valid JSON number");
        serde_json::Value::Number(number)
    }
}

impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_plain(None))
    }
}

/// Adds one unit in the last place of a digit string, carrying as needed.
fn increment(digits: &mut Vec<u8>) {
    for d in digits.iter_mut().rev() {
        if *d == b'9' {
            *d = b'0';
        } else {
            *d += 1;
            return;
        }
    }
    digits.insert(0, b'1');
}

/// Shortens text for an error message so a huge value does not flood the review queue.
pub fn abbreviate(text: &str) -> String {
    const LIMIT: usize = 60;
    if text.chars().count() <= LIMIT {
        text.to_string()
    } else {
        let head: String = text.chars().take(LIMIT).collect();
        format!("{head}… ({} characters)", text.chars().count())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        Decimal::parse(s).unwrap()
    }

    #[test]
    fn parses_java_double_style_exactly() {
        assert_eq!(d("1.5E7").to_plain(None), "15000000");
        assert_eq!(d("9.9213206E7").to_plain(None), "99213206");
        assert_eq!(d("1500.0").to_plain(None), "1500");
        assert_eq!(
            d("1.2345678901234567E16").to_plain(None),
            "12345678901234567"
        );
        assert_eq!(d("-2.5e-3").to_plain(None), "-0.0025");
        assert_eq!(d("+3").to_plain(None), "3");
        assert_eq!(d(" 42 ").to_plain(None), "42");
        assert_eq!(d(".5").to_plain(None), "0.5");
        assert_eq!(d("5.").to_plain(None), "5");
    }

    #[test]
    fn refuses_non_numbers() {
        for bad in [
            "", "-", "abc", "1e", "1e+", "NaN", "Infinity", "1.2.3", "1,5", "0x10", "١٢",
        ] {
            assert!(Decimal::parse(bad).is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn huge_exponents_are_out_of_range_not_hangs() {
        let err = Decimal::parse("1E999999999999").unwrap_err();
        assert!(err.contains("out of range"), "{err}");
        assert!(Decimal::parse("1E-99999").is_err());
        assert!(Decimal::parse(&"9".repeat(MAX_TEXT_LEN + 1)).is_err());
        // The largest numeric Postgres accepts still parses.
        assert!(Decimal::parse(&"9".repeat(131_072)).is_ok());
    }

    #[test]
    fn equal_numbers_compare_equal() {
        assert_eq!(d("1500.0"), d("1.5E3"));
        assert_eq!(d("0.000"), d("-0"));
        assert_ne!(d("1.01"), d("1.1"));
    }

    #[test]
    fn rounds_half_away_from_zero() {
        assert_eq!(d("2.345").round(2).to_plain(Some(2)), "2.35");
        assert_eq!(d("-2.345").round(2).to_plain(Some(2)), "-2.35");
        assert_eq!(d("2.344999").round(2).to_plain(Some(2)), "2.34");
        assert_eq!(d("9.995").round(2).to_plain(Some(2)), "10.00");
        assert_eq!(d("0.004").round(2).to_plain(Some(2)), "0.00");
        assert_eq!(d("0.005").round(2).to_plain(Some(2)), "0.01");
        assert_eq!(d("0.0005").round(2).to_plain(Some(2)), "0.00");
        assert_eq!(d("1500.5").round(0).to_plain(None), "1501");
        assert_eq!(d("15000000").round(2).to_plain(Some(2)), "15000000.00");
    }

    #[test]
    fn floors_toward_negative_infinity() {
        assert_eq!(d("12.9").floor(), d("12"));
        assert_eq!(d("-12.1").floor(), d("-13"));
        assert_eq!(d("-0.5").floor(), d("-1"));
        assert_eq!(d("-12").floor(), d("-12"));
        assert_eq!(d("1.5E3").floor(), d("1500"));
    }

    #[test]
    fn counts_digits_and_converts_to_integers() {
        let v = d("12345678901234567.89");
        assert_eq!(v.integer_digits(), 17);
        assert_eq!(v.fraction_digits(), 2);
        assert_eq!(v.to_plain(Some(2)), "12345678901234567.89");
        assert_eq!(d("0.5").integer_digits(), 0);
        assert_eq!(d("1.5E7").to_i128(), Some(15_000_000));
        assert_eq!(d("-32768").to_i128(), Some(-32768));
        assert_eq!(d("1.5").to_i128(), None);
        assert_eq!(d("1E40").to_i128(), None);
        assert_eq!(Decimal::from_i128(-1200), d("-1.2E3"));
    }

    #[test]
    fn json_numbers_keep_their_exact_text() {
        let v = d("12345678901234567.89").to_json(Some(2));
        assert_eq!(v.to_string(), "12345678901234567.89");
        assert_eq!(d("1.5E7").to_json(Some(2)).to_string(), "15000000.00");
    }
}
