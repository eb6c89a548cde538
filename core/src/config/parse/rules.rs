//! `validation_rules`: checks a value must pass before it is written, and what to do if not.

use super::fields::FieldNames;
use crate::config::defaults::ON_ERROR;
use crate::config::model::{RuleKind, ValidationRule};
use crate::config::scalars::Scalar;
use crate::config::walker::{keywords, Obj, Problems};
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rule {
    EmailFormat,
    Regex,
    Required,
    MaxLength,
    OneOf,
}

keywords!(Rule {
    "email_format" => Rule::EmailFormat,
    "regex" => Rule::Regex,
    "required" => Rule::Required,
    "max_length" => Rule::MaxLength,
    "one_of" => Rule::OneOf,
});

fn keys_for(rule: Rule) -> &'static [&'static str] {
    match rule {
        Rule::Regex => &["field", "rule", "on_error", "pattern"],
        Rule::MaxLength => &["field", "rule", "on_error", "max"],
        Rule::OneOf => &["field", "rule", "on_error", "values"],
        Rule::EmailFormat | Rule::Required => &["field", "rule", "on_error"],
    }
}

/// Every rule of `validation_rules`, fields resolved to local columns.
pub(super) fn read(
    root: &Obj,
    fields: &FieldNames,
    problems: &mut Problems,
) -> Vec<ValidationRule> {
    root.items("validation_rules", problems)
        .iter()
        .filter_map(|(path, value)| read_one(path, value, fields, problems))
        .collect()
}

fn read_one(
    path: &str,
    value: &Value,
    fields: &FieldNames,
    problems: &mut Problems,
) -> Option<ValidationRule> {
    let (rule, obj) = Obj::open_tagged(value, path, "rule", keys_for, problems)?;
    let field = obj.require::<String>("field", "a mapped field or column name", problems);
    let on_error = obj.get_or("on_error", ON_ERROR, problems);
    let kind = rule_kind(rule, &obj, problems);
    Some(ValidationRule {
        local: fields.local_column(&field?),
        kind: kind?,
        on_error,
        path: path.to_string(),
    })
}

fn rule_kind(rule: Rule, obj: &Obj, problems: &mut Problems) -> Option<RuleKind> {
    Some(match rule {
        Rule::EmailFormat => RuleKind::EmailFormat,
        Rule::Required => RuleKind::Required,
        Rule::Regex => RuleKind::Regex {
            pattern: pattern(obj, problems)?,
        },
        Rule::MaxLength => RuleKind::MaxLength {
            max: obj.require::<u32>("max", "the longest allowed length in characters", problems)?,
        },
        Rule::OneOf => RuleKind::OneOf {
            values: one_of_values(obj, problems)?,
        },
    })
}

/// The `pattern`, compiled once here so a bad one is reported now and not at the first record.
fn pattern(obj: &Obj, problems: &mut Problems) -> Option<String> {
    let pattern = obj.require::<String>("pattern", "a regular expression", problems)?;
    match regex::Regex::new(&pattern) {
        Ok(_) => Some(pattern),
        Err(error) => {
            problems.invalid(
                &obj.at("pattern"),
                format!("invalid regular expression: {}", regex_reason(&error)),
            );
            None
        }
    }
}

/// The last line of a regex error: the reason, without the multi-line caret drawing.
fn regex_reason(error: &regex::Error) -> String {
    let text = error.to_string();
    let last = text.lines().last().unwrap_or_default();
    last.trim().trim_start_matches("error: ").to_string()
}

fn one_of_values(obj: &Obj, problems: &mut Problems) -> Option<Vec<Value>> {
    let values = obj.require::<Vec<Scalar>>("values", "the allowed values", problems)?;
    if values.is_empty() {
        problems.invalid(&obj.at("values"), "expected at least one allowed value");
        return None;
    }
    Some(values.into_iter().map(|s| s.0).collect())
}
