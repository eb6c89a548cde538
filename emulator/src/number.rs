//! Numbers as Salesforce writes and rounds them.
//!
//! Output follows Java's `Double.toString` (`1500.0`, `15.5`, `1.5E7`, `1.0E-4`): clients
//! must cope with exponent notation, so the emulator must produce it. Input rounding works
//! on the decimal text the client sent (half-up, like Salesforce's BigDecimal), not on a
//! binary float, so `1.005` at scale 2 saves as `1.01`.

use std::fmt::Write;

/// Appends `value` in Java `Double.toString` form.
pub fn write_java_double(out: &mut String, value: f64) {
    if value == 0.0 {
        out.push_str(if value.is_sign_negative() {
            "-0.0"
        } else {
            "0.0"
        });
        return;
    }
    if !value.is_finite() {
        out.push_str(if value.is_nan() {
            "NaN"
        } else if value > 0.0 {
            "Infinity"
        } else {
            "-Infinity"
        });
        return;
    }
    // Rust's `{:e}` gives the shortest round-tripping digits, as Java (JDK 19+) does.
    let sci = format!("{:e}", value.abs());
    let (mantissa, exp) = sci.split_once('e').expect("exponent form");
    let exp: i32 = exp.parse().expect("integer exponent");
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    if value < 0.0 {
        out.push('-');
    }
    let magnitude = value.abs();
    if (1e-3..1e7).contains(&magnitude) {
        if exp >= 0 {
            let int_len = exp as usize + 1;
            if digits.len() <= int_len {
                out.push_str(&digits);
                out.extend(std::iter::repeat_n('0', int_len - digits.len()));
                out.push_str(".0");
            } else {
                out.push_str(&digits[..int_len]);
                out.push('.');
                out.push_str(&digits[int_len..]);
            }
        } else {
            out.push_str("0.");
            out.extend(std::iter::repeat_n('0', (-exp - 1) as usize));
            out.push_str(&digits);
        }
    } else {
        out.push_str(&digits[..1]);
        out.push('.');
        out.push_str(if digits.len() > 1 { &digits[1..] } else { "0" });
        let _ = write!(out, "E{exp}");
    }
}

/// A number parsed from decimal text and rounded half-up to a number of fraction digits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rounded {
    pub value: f64,
    /// Digits left of the decimal point (for `precision - scale` range checks).
    pub integer_digits: u32,
}

/// Rounds decimal `text` (optionally signed, with fraction and exponent) half-up to `scale`
/// fraction digits. `None` when the text is not a number.
pub fn round_decimal(text: &str, scale: u32) -> Option<Rounded> {
    let text = text.trim();
    let (negative, body) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let (mantissa, exp) = match body.find(['e', 'E']) {
        Some(pos) => (&body[..pos], body[pos + 1..].parse::<i64>().ok()?),
        None => (body, 0),
    };
    let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if int_part.is_empty() && frac_part.is_empty()
        || !int_part
            .bytes()
            .chain(frac_part.bytes())
            .all(|b| b.is_ascii_digit())
    {
        return None;
    }
    // value = digits × 10^(exp - frac_len)
    let mut digits: Vec<u8> = int_part
        .bytes()
        .chain(frac_part.bytes())
        .map(|b| b - b'0')
        .collect();
    let mut exp10 = exp - frac_part.len() as i64;
    let scale = i64::from(scale);
    if -exp10 > scale {
        let drop = (-exp10 - scale) as usize;
        let round_up = if drop <= digits.len() {
            digits[digits.len() - drop] >= 5
        } else {
            false
        };
        digits.truncate(digits.len().saturating_sub(drop));
        if round_up {
            increment(&mut digits);
        }
        exp10 = -scale;
    }
    let first_nonzero = digits.iter().position(|d| *d != 0);
    let integer_digits = match first_nonzero {
        None => 0,
        Some(pos) => (digits.len() as i64 - pos as i64 + exp10).max(0) as u32,
    };
    let mut literal = String::with_capacity(digits.len() + 8);
    if negative {
        literal.push('-');
    }
    if digits.is_empty() {
        literal.push('0');
    }
    literal.extend(digits.iter().map(|d| char::from(b'0' + d)));
    let _ = write!(literal, "e{exp10}");
    Some(Rounded {
        value: literal.parse().ok()?,
        integer_digits,
    })
}

fn increment(digits: &mut Vec<u8>) {
    for d in digits.iter_mut().rev() {
        if *d == 9 {
            *d = 0;
        } else {
            *d += 1;
            return;
        }
    }
    digits.insert(0, 1);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn java(v: f64) -> String {
        let mut s = String::new();
        write_java_double(&mut s, v);
        s
    }

    #[test]
    fn formats_like_java_double_to_string() {
        assert_eq!(java(1500.0), "1500.0");
        assert_eq!(java(15.5), "15.5");
        assert_eq!(java(1.5e7), "1.5E7");
        assert_eq!(java(9.9213206e7), "9.9213206E7");
        assert_eq!(java(9_999_999.0), "9999999.0");
        assert_eq!(java(0.001), "0.001");
        assert_eq!(java(0.0001), "1.0E-4");
        assert_eq!(java(-2.5), "-2.5");
        assert_eq!(java(0.0), "0.0");
        assert_eq!(java(1e21), "1.0E21");
        assert_eq!(java(123456.789), "123456.789");
    }

    #[test]
    fn rounds_half_up_on_decimal_text() {
        assert_eq!(round_decimal("1.005", 2).unwrap().value, 1.01);
        assert_eq!(round_decimal("1.004", 2).unwrap().value, 1.0);
        assert_eq!(round_decimal("-1.005", 2).unwrap().value, -1.01);
        assert_eq!(round_decimal("99.995", 2).unwrap().value, 100.0);
        assert_eq!(round_decimal("1.5E7", 2).unwrap().value, 1.5e7);
        assert_eq!(round_decimal("0.4", 0).unwrap().value, 0.0);
        assert_eq!(round_decimal("0.5", 0).unwrap().value, 1.0);
        assert_eq!(round_decimal("12345.678", 2).unwrap().integer_digits, 5);
        assert_eq!(round_decimal("0.001", 2).unwrap().integer_digits, 0);
        assert_eq!(round_decimal("abc", 2), None);
        assert_eq!(round_decimal("1.2.3", 2), None);
        assert_eq!(round_decimal("", 2), None);
    }
}
