//! Validation rules, compiled once, checked on a value exactly as it would be written.
//!
//! A null passes every rule except `required` (use `required` to demand a value). For an
//! array (`text[]`, a multi-select picklist) every element must pass. `standardize_format`
//! offers candidate rewrites of a failing text value (trimmed, e-mail domain lower-cased,
//! phone in E.164, …); the caller keeps the first candidate that is valid for the column
//! and passes the rule, and rejects the record when none does.

use super::decimal::Decimal;
use super::phone::PhoneRegion;
use crate::config::{OnError, RuleKind, ValidationRule};
use crate::problem::{child_path, index_path, Problem};
use regex::Regex;
use serde_json::Value;
use std::sync::LazyLock;

/// A rule ready to run.
#[derive(Debug, Clone)]
pub struct Rule {
    check: Check,
    /// What to do when the value fails.
    pub on_error: OnError,
}

#[derive(Debug, Clone)]
enum Check {
    Email,
    Regex(Regex),
    Required,
    MaxLength(usize),
    OneOf(Vec<Value>),
}

/// The practical address syntax (WHATWG's, plus a dotted domain with a letter TLD).
static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$",
    )
    .expect("the e-mail pattern compiles")
});

impl Rule {
    /// Compiles `rule` (the `index`-th of `validation_rules`), refusing a bad pattern.
    pub fn new(rule: &ValidationRule, index: usize) -> Result<Rule, Problem> {
        let check = match &rule.kind {
            RuleKind::EmailFormat => Check::Email,
            RuleKind::Regex { pattern } => Check::Regex(Regex::new(pattern).map_err(|e| {
                Problem::invalid(
                    child_path(&index_path("validation_rules", index), "pattern"),
                    format!("invalid regular expression: {e}"),
                )
            })?),
            RuleKind::Required => Check::Required,
            RuleKind::MaxLength { max } => Check::MaxLength(*max as usize),
            RuleKind::OneOf { values } => Check::OneOf(values.clone()),
        };
        Ok(Rule {
            check,
            on_error: rule.on_error,
        })
    }

    /// The rule's config name, reported with rejections and warnings.
    pub fn name(&self) -> &'static str {
        match self.check {
            Check::Email => "email_format",
            Check::Regex(_) => "regex",
            Check::Required => "required",
            Check::MaxLength(_) => "max_length",
            Check::OneOf(_) => "one_of",
        }
    }

    /// True when `value` (as it would be written) satisfies the rule.
    pub fn passes(&self, value: &Value) -> bool {
        match (&self.check, value) {
            (Check::Required, v) => !is_blank(v),
            (_, Value::Null) => true,
            (_, Value::Array(items)) => items.iter().all(|item| self.passes_scalar(item)),
            (_, v) => self.passes_scalar(v),
        }
    }

    fn passes_scalar(&self, value: &Value) -> bool {
        match &self.check {
            Check::Required => !is_blank(value),
            Check::Email => value.as_str().is_some_and(is_email),
            Check::Regex(re) => re.is_match(&text_of(value)),
            Check::MaxLength(max) => text_of(value).chars().count() <= *max,
            Check::OneOf(allowed) => allowed.iter().any(|a| same_value(a, value)),
        }
    }

    /// What the rule says, for messages.
    pub fn describe(&self) -> String {
        match &self.check {
            Check::Email => "must be an e-mail address".to_string(),
            Check::Regex(re) => format!("must match /{}/", re.as_str()),
            Check::Required => "is required".to_string(),
            Check::MaxLength(max) => format!("must be at most {max} characters"),
            Check::OneOf(allowed) => format!(
                "must be one of {}",
                allowed
                    .iter()
                    .map(Value::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }

    /// Rewrites of a failing text value that might satisfy the rule, best first.
    pub fn standardize(&self, value: &Value, region: PhoneRegion) -> Vec<String> {
        let Some(text) = value.as_str() else {
            return Vec::new();
        };
        let trimmed = text.trim();
        match &self.check {
            Check::Required => Vec::new(),
            Check::Email => vec![normalise_email(trimmed)],
            Check::Regex(_) => {
                let mut candidates = vec![trimmed.to_string()];
                candidates.extend(region.to_e164(trimmed).ok());
                candidates
            }
            Check::MaxLength(_) => vec![trimmed.split_whitespace().collect::<Vec<_>>().join(" ")],
            Check::OneOf(allowed) => allowed
                .iter()
                .filter_map(Value::as_str)
                .filter(|a| a.to_lowercase() == trimmed.to_lowercase())
                .map(str::to_string)
                .collect(),
        }
    }
}

fn is_blank(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        Value::Array(items) => items.is_empty(),
        _ => false,
    }
}

/// A scalar's text: strings as they are, numbers by their exact text, the rest as JSON.
fn text_of(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Equality that treats `1`, `1.0` and `1E0` as the same number.
fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            match (
                Decimal::parse(&x.to_string()),
                Decimal::parse(&y.to_string()),
            ) {
                (Ok(x), Ok(y)) => x == y,
                _ => a == b,
            }
        }
        _ => a == b,
    }
}

/// Checks an address: the syntax plus the length limits of RFC 5321 and no empty dot-atoms.
pub fn is_email(text: &str) -> bool {
    let Some((local, _domain)) = text.rsplit_once('@') else {
        return false;
    };
    text.len() <= 254
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && EMAIL.is_match(text)
}

/// Trims an address and lower-cases its domain (the local part may be case-sensitive).
fn normalise_email(text: &str) -> String {
    match text.rsplit_once('@') {
        Some((local, domain)) => format!("{local}@{}", domain.to_ascii_lowercase()),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rule(kind: RuleKind) -> Rule {
        Rule::new(
            &ValidationRule {
                path: Default::default(),
                local: "c".into(),
                kind,
                on_error: OnError::RejectRecord,
            },
            0,
        )
        .unwrap()
    }

    fn us() -> PhoneRegion {
        PhoneRegion::parse("US").unwrap()
    }

    #[test]
    fn email_format() {
        let r = rule(RuleKind::EmailFormat);
        for good in [
            "a@example.com",
            "first.last+tag@sub.example.co.uk",
            "o'brien@example.ie",
        ] {
            assert!(r.passes(&json!(good)), "{good}");
        }
        for bad in [
            "",
            "plain",
            "a@b",
            "a@@example.com",
            "a b@example.com",
            ".a@example.com",
            "a..b@example.com",
            "a@example.c",
            "a@-example.com",
            "ü@example.com",
            " a@example.com",
        ] {
            assert!(!r.passes(&json!(bad)), "{bad:?}");
        }
        assert!(!r.passes(&json!(format!("{}@example.com", "a".repeat(65)))));
        assert!(!r.passes(&json!(42)));
        assert!(r.passes(&Value::Null));
        assert_eq!(
            r.standardize(&json!("  Ann@Example.COM "), us()),
            ["Ann@example.com"]
        );
    }

    #[test]
    fn regex_rule_and_its_standardisation() {
        let r = rule(RuleKind::Regex {
            pattern: r"^\+[1-9]\d{1,14}$".into(),
        });
        assert!(r.passes(&json!("+14155552671")));
        assert!(!r.passes(&json!("(415) 555-2671")));
        assert_eq!(
            r.standardize(&json!(" (415) 555-2671 "), us()),
            ["(415) 555-2671", "+14155552671"]
        );
        assert_eq!(r.standardize(&json!("garbage"), us()), ["garbage"]);
        assert!(r.passes(&json!(["+14155552671", "+442079460958"])));
        assert!(!r.passes(&json!(["+14155552671", "x"])));
        let digits = rule(RuleKind::Regex {
            pattern: r"^\d+$".into(),
        });
        assert!(digits.passes(&json!(12345)));
    }

    #[test]
    fn invalid_regex_is_a_config_problem() {
        let err = Rule::new(
            &ValidationRule {
                path: Default::default(),
                local: "c".into(),
                kind: RuleKind::Regex {
                    pattern: "([a-z".into(),
                },
                on_error: OnError::Warn,
            },
            3,
        )
        .unwrap_err();
        assert_eq!(err.path, "validation_rules[3].pattern");
        assert!(
            err.message.starts_with("invalid regular expression"),
            "{}",
            err.message
        );
    }

    #[test]
    fn required() {
        let r = rule(RuleKind::Required);
        assert!(!r.passes(&Value::Null));
        assert!(!r.passes(&json!("  ")));
        assert!(!r.passes(&json!([])));
        assert!(r.passes(&json!(0)));
        assert!(r.passes(&json!(false)));
        assert!(r.standardize(&json!(" "), us()).is_empty());
    }

    #[test]
    fn max_length_counts_characters() {
        let r = rule(RuleKind::MaxLength { max: 3 });
        assert!(r.passes(&json!("日本語")));
        assert!(!r.passes(&json!("日本語!")));
        assert!(!r.passes(&json!("x".repeat(1_000_000))));
        assert_eq!(r.standardize(&json!("  a  b "), us()), ["a b"]);
    }

    #[test]
    fn one_of() {
        let r = rule(RuleKind::OneOf {
            values: vec![json!("Hot"), json!("Cold"), json!(1)],
        });
        assert!(r.passes(&json!("Hot")));
        assert!(!r.passes(&json!("hot")));
        assert!(r.passes(&json!(1.0)));
        assert!(r.passes(&json!(["Hot", "Cold"])));
        assert_eq!(r.standardize(&json!(" hOT "), us()), ["Hot"]);
        assert!(r.standardize(&json!("warm"), us()).is_empty());
    }
}
