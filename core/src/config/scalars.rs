//! The value types a config is read as, each with the message it gives when a value is wrong.

use super::walker::{convert, describe, kind_of, text_type, FromJson, Problems};
use crate::problem::index_path;
use serde_json::Value;

impl FromJson for String {
    fn from_json(value: &Value, path: &str, problems: &mut Problems) -> Option<Self> {
        convert(value, path, problems, "a non-empty string", |v| {
            v.as_str()
                .filter(|s| !s.trim().is_empty())
                .map(str::to_string)
        })
    }
}

impl FromJson for bool {
    fn from_json(value: &Value, path: &str, problems: &mut Problems) -> Option<Self> {
        convert(value, path, problems, "true or false", Value::as_bool)
    }
}

/// Reads a positive integer that fits `T`.
fn positive_int<T: TryFrom<u64>>(value: &Value, path: &str, problems: &mut Problems) -> Option<T> {
    convert(value, path, problems, "a positive integer", |v| {
        v.as_u64()
            .filter(|n| *n > 0)
            .and_then(|n| T::try_from(n).ok())
    })
}

impl FromJson for u16 {
    fn from_json(value: &Value, path: &str, problems: &mut Problems) -> Option<Self> {
        positive_int(value, path, problems)
    }
}

impl FromJson for u32 {
    fn from_json(value: &Value, path: &str, problems: &mut Problems) -> Option<Self> {
        positive_int(value, path, problems)
    }
}

impl FromJson for u64 {
    fn from_json(value: &Value, path: &str, problems: &mut Problems) -> Option<Self> {
        positive_int(value, path, problems)
    }
}

/// A whole number that may be zero: a threshold where 0 turns its feature off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Count(pub u64);

impl FromJson for Count {
    fn from_json(value: &Value, path: &str, problems: &mut Problems) -> Option<Self> {
        convert(value, path, problems, "a whole number (0 or more)", |v| {
            v.as_u64().map(Count)
        })
    }
}

/// A number greater than zero (delays, factors).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct PositiveNumber(pub f64);

impl FromJson for PositiveNumber {
    fn from_json(value: &Value, path: &str, problems: &mut Problems) -> Option<Self> {
        convert(value, path, problems, "a positive number", |v| {
            v.as_f64()
                .filter(|n| *n > 0.0 && n.is_finite())
                .map(PositiveNumber)
        })
    }
}

/// A number from 0 to 1 (rates).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Fraction(pub f64);

impl FromJson for Fraction {
    fn from_json(value: &Value, path: &str, problems: &mut Problems) -> Option<Self> {
        convert(value, path, problems, "a number from 0 to 1", |v| {
            v.as_f64().filter(|n| (0.0..=1.0).contains(n)).map(Fraction)
        })
    }
}

/// A string, number, boolean or null: what a field value can be.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Scalar(pub Value);

impl FromJson for Scalar {
    fn from_json(value: &Value, path: &str, problems: &mut Problems) -> Option<Self> {
        convert(
            value,
            path,
            problems,
            "a string, number, boolean or null",
            |v| (!v.is_array() && !v.is_object()).then(|| Scalar(v.clone())),
        )
    }
}

/// A string whose value is never echoed in a message (a secret).
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct SecretText(pub String);

impl FromJson for SecretText {
    fn from_json(value: &Value, path: &str, problems: &mut Problems) -> Option<Self> {
        let text = value.as_str().filter(|s| !s.is_empty());
        if text.is_none() {
            problems.invalid(
                path,
                format!("expected a non-empty string, got {}", kind_of(value)),
            );
        }
        text.map(|s| SecretText(s.to_string()))
    }
}

impl<T: FromJson> FromJson for Vec<T> {
    fn from_json(value: &Value, path: &str, problems: &mut Problems) -> Option<Self> {
        let Some(items) = value.as_array() else {
            problems.invalid(path, format!("expected an array, got {}", describe(value)));
            return None;
        };
        let read: Vec<Option<T>> = items
            .iter()
            .enumerate()
            .map(|(i, v)| T::from_json(v, &index_path(path, i), problems))
            .collect();
        read.into_iter().collect()
    }
}

text_type!(
    /// A sync, connection or hub name: usable as an identifier in catalog rows and messages.
    Name,
    "a name of letters, digits and underscores starting with a letter (at most 63 characters)",
    is_valid_name
);

/// True for `^[A-Za-z][A-Za-z0-9_]{0,62}$`.
pub(crate) fn is_valid_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && s.len() <= 63
}

text_type!(
    /// A Salesforce API name (object or field): `Account`, `Industry`, `Region__c`.
    ApiName,
    "a Salesforce API name (letters, digits and underscores, starting with a letter)",
    |s| {
        let mut chars = s.chars();
        chars.next().is_some_and(|c| c.is_ascii_alphabetic())
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
            && s.len() <= 80
    }
);

text_type!(
    /// A Postgres identifier as written (case-sensitive, at most 63 bytes).
    PgName,
    "a Postgres name (non-empty, at most 63 bytes)",
    |s| !s.is_empty() && s.len() <= 63 && !s.contains('\0')
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::problem::Problem;
    use serde_json::json;

    fn read<T: FromJson>(value: Value) -> (Option<T>, Vec<Problem>) {
        let mut problems = Problems::default();
        let out = T::from_json(&value, "a.b", &mut problems);
        (out, problems.into_vec())
    }

    #[test]
    fn positive_integer_mismatch_says_what_was_expected() {
        let (out, problems) = read::<u32>(json!("five"));
        assert_eq!(out, None);
        assert_eq!(problems[0].path, "a.b");
        assert_eq!(
            problems[0].message,
            "expected a positive integer, got \"five\""
        );
        assert_eq!(read::<u32>(json!(0)).0, None);
        assert_eq!(read::<u32>(json!(7)).0, Some(7));
        assert_eq!(read::<u16>(json!(70000)).0, None);
    }

    #[test]
    fn arrays_report_each_bad_element_at_its_index() {
        let (out, problems) = read::<Vec<String>>(json!(["a", 1, "c", ""]));
        assert_eq!(out, None);
        let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(paths, ["a.b[1]", "a.b[3]"]);
    }

    #[test]
    fn secrets_are_never_echoed() {
        let (_, problems) = read::<SecretText>(json!(12345));
        assert_eq!(
            problems[0].message,
            "expected a non-empty string, got a number"
        );
    }

    #[test]
    fn names_follow_the_identifier_rule() {
        assert!(is_valid_name("SF_Postgres_Accounts"));
        assert!(!is_valid_name("1abc"));
        assert!(!is_valid_name("a-b"));
        assert!(!is_valid_name(&"a".repeat(64)));
        assert!(is_valid_name(&"a".repeat(63)));
    }
}
