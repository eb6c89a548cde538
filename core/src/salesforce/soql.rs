//! A small SOQL builder that cannot be talked into injecting SOQL.
//!
//! Names (objects, fields) come from user configs and values from user rows, so neither
//! is ever pasted into a query as given: names must be plain API names and values go
//! through the literal rules of SOQL (quoted and escaped strings, unquoted typed literals).

use super::number::plain_decimal;
use crate::timestamp::Timestamp;
use serde_json::{Number, Value};
use std::fmt::Write as _;

/// Why a query could not be built; the message names the offending part.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SoqlError(String);

/// Longest API name hubsync accepts (Salesforce's own limits are far lower).
const MAX_NAME_LEN: usize = 255;

/// Checks that `name` is a plain Salesforce API name (`Account`, `Ext_Id__c`,
/// `ns__Thing__r`): a letter, then letters, digits and underscores. Anything else —
/// spaces, quotes, dots, parentheses — could change the meaning of a query or a URL.
pub fn api_name(name: &str) -> Result<&str, SoqlError> {
    let mut chars = name.chars();
    let starts_with_letter = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if starts_with_letter && rest_ok && name.len() <= MAX_NAME_LEN {
        Ok(name)
    } else {
        Err(SoqlError(format!(
            "{name:?} is not a Salesforce API name; use the field or object name from the \
             describe (a letter, then letters, digits and underscores, e.g. Ext_Id__c)"
        )))
    }
}

/// Checks a field path for a SELECT list: API names joined by dots (`Owner.Name`).
pub fn field_path(path: &str) -> Result<&str, SoqlError> {
    for part in path.split('.') {
        api_name(part).map_err(|_| {
            SoqlError(format!(
                "{path:?} is not a Salesforce field name or relationship path \
                 (API names joined by dots, e.g. Owner.Name)"
            ))
        })?;
    }
    Ok(path)
}

/// A string literal in single quotes with SOQL's escapes (`\' \" \\ \n \r \t \b \f`), so
/// no value can end the literal early.
pub fn string_literal(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('\'');
    push_escaped(&mut out, value);
    out.push('\'');
    out
}

fn push_escaped(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            other => out.push(other),
        }
    }
}

/// One piece of a LIKE pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LikePart<'a> {
    /// Text matched literally: its `_` and `%` are escaped too.
    Text(&'a str),
    /// `%`: any run of characters.
    AnyChars,
    /// `_`: exactly one character.
    OneChar,
}

/// A quoted LIKE pattern; only here do `_` and `%` get escaped (`\_`, `\%`), because
/// only LIKE gives them a meaning.
pub fn like_literal(parts: &[LikePart]) -> String {
    let mut out = String::from("'");
    for part in parts {
        match part {
            LikePart::Text(text) => {
                for c in text.chars() {
                    match c {
                        '_' => out.push_str("\\_"),
                        '%' => out.push_str("\\%"),
                        other => push_escaped(&mut out, other.encode_utf8(&mut [0; 4])),
                    }
                }
            }
            LikePart::AnyChars => out.push('%'),
            LikePart::OneChar => out.push('_'),
        }
    }
    out.push('\'');
    out
}

/// A dateTime literal (`2024-01-01T00:00:00Z`), unquoted as SOQL wants it. SOQL has
/// whole seconds, so milliseconds are dropped — rounding down, which keeps a `>=`
/// watermark inclusive.
pub fn datetime_literal(at: Timestamp) -> Result<String, SoqlError> {
    let iso = at.to_string(); // YYYY-MM-DDTHH:MM:SS.mmmZ for years 0000..=9999
    match iso.get(..19) {
        Some(seconds) if iso.len() == 24 && !iso.starts_with('-') => Ok(format!("{seconds}Z")),
        _ => Err(SoqlError(format!(
            "{iso} is outside the years SOQL can express (0000-9999)"
        ))),
    }
}

/// A typed value for a WHERE comparison.
#[derive(Debug, Clone, PartialEq)]
pub enum SoqlValue {
    /// Quoted and escaped.
    Text(String),
    /// Written as a plain decimal (`1.5E7` becomes `15000000`).
    Number(Number),
    Boolean(bool),
    /// `= null` matches empty fields.
    Null,
    /// A `YYYY-MM-DD` date, unquoted; checked when the value is made.
    Date(String),
    /// A dateTime, unquoted.
    DateTime(Timestamp),
}

impl SoqlValue {
    /// The value for a JSON scalar: strings become text, numbers, booleans and null stay
    /// typed. Arrays and objects have no SOQL literal.
    pub fn from_json(value: &Value) -> Result<SoqlValue, SoqlError> {
        match value {
            Value::String(text) => Ok(SoqlValue::Text(text.clone())),
            Value::Number(n) => Ok(SoqlValue::Number(n.clone())),
            Value::Bool(b) => Ok(SoqlValue::Boolean(*b)),
            Value::Null => Ok(SoqlValue::Null),
            Value::Array(_) | Value::Object(_) => Err(SoqlError(
                "a list or object cannot be compared in SOQL; map the key to a scalar column"
                    .into(),
            )),
        }
    }

    /// A date literal, after checking the text is a real `YYYY-MM-DD` date.
    pub fn date(text: &str) -> Result<SoqlValue, SoqlError> {
        let plain = text.len() == 10 && Timestamp::parse(text).is_some();
        if plain {
            Ok(SoqlValue::Date(text.to_string()))
        } else {
            Err(SoqlError(format!("{text:?} is not a YYYY-MM-DD date")))
        }
    }

    /// The literal as it appears in the query.
    pub fn literal(&self) -> Result<String, SoqlError> {
        match self {
            SoqlValue::Text(text) => Ok(string_literal(text)),
            SoqlValue::Number(n) => Ok(plain_decimal(n)),
            SoqlValue::Boolean(b) => Ok(b.to_string()),
            SoqlValue::Null => Ok("null".into()),
            SoqlValue::Date(date) => Self::date(date).map(|_| date.clone()),
            SoqlValue::DateTime(at) => datetime_literal(*at),
        }
    }
}

/// The incremental pull: every record changed at or after `since`, oldest first, with
/// `Id` as tie-breaker so a page boundary inside one second loses nothing. Polling with
/// `>=` re-reads the watermark's second; de-duplicate by (Id, SystemModstamp).
/// `Id` and `SystemModstamp` are selected even if `fields` omits them.
pub fn incremental_pull(
    object: &str,
    fields: &[&str],
    since: Timestamp,
) -> Result<String, SoqlError> {
    let mut soql = select_from(object, fields)?;
    write!(
        soql,
        " WHERE SystemModstamp >= {}",
        datetime_literal(since)?
    )
    .expect("string");
    soql.push_str(" ORDER BY SystemModstamp, Id");
    Ok(soql)
}

/// The full load: every record, in the same order as [`incremental_pull`] so the pull's
/// watermark can start from the last record read.
pub fn full_load(object: &str, fields: &[&str]) -> Result<String, SoqlError> {
    let mut soql = select_from(object, fields)?;
    soql.push_str(" ORDER BY SystemModstamp, Id");
    Ok(soql)
}

/// How many records the object holds: `SELECT COUNT() FROM <object>` (the answer's
/// `totalSize`), which decides whether a full load goes through Bulk API 2.0.
pub fn count(object: &str) -> Result<String, SoqlError> {
    Ok(format!("SELECT COUNT() FROM {}", api_name(object)?))
}

/// Finds records by natural key after a create whose outcome is unknown:
/// `SELECT Id, K1, K2 FROM Object WHERE K1 = '…' AND K2 = … [AND CreatedDate >= ts]`.
pub fn natural_key_lookup(
    object: &str,
    keys: &[(&str, SoqlValue)],
    created_since: Option<Timestamp>,
) -> Result<String, SoqlError> {
    if keys.is_empty() {
        return Err(SoqlError(
            "a natural-key lookup needs at least one key field".into(),
        ));
    }
    let names: Vec<&str> = keys.iter().map(|(name, _)| *name).collect();
    let mut soql = select_list(object, &["Id"], &names)?;
    let mut conditions = Vec::with_capacity(keys.len() + 1);
    for (name, value) in keys {
        conditions.push(format!("{} = {}", api_name(name)?, value.literal()?));
    }
    if let Some(since) = created_since {
        conditions.push(format!("CreatedDate >= {}", datetime_literal(since)?));
    }
    write!(soql, " WHERE {}", conditions.join(" AND ")).expect("string");
    Ok(soql)
}

fn select_from(object: &str, fields: &[&str]) -> Result<String, SoqlError> {
    select_list(object, &["Id", "SystemModstamp"], fields)
}

/// `SELECT <required…, fields…> FROM <object>`, each field once (case-insensitively).
fn select_list(object: &str, required: &[&str], fields: &[&str]) -> Result<String, SoqlError> {
    let mut list: Vec<&str> = Vec::with_capacity(required.len() + fields.len());
    for field in required.iter().chain(fields) {
        let field = field_path(field)?;
        if !list.iter().any(|f| f.eq_ignore_ascii_case(field)) {
            list.push(field);
        }
    }
    Ok(format!(
        "SELECT {} FROM {}",
        list.join(", "),
        api_name(object)?
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NEW_YEAR: i64 = 1_704_067_200_000; // 2024-01-01T00:00:00Z

    fn at(millis: i64) -> Timestamp {
        Timestamp::from_millis(millis)
    }

    #[test]
    fn accepts_api_names_and_rejects_everything_else() {
        for good in [
            "Account",
            "Ext_Id__c",
            "ns__Thing__r",
            "a1",
            "SystemModstamp",
        ] {
            assert_eq!(api_name(good), Ok(good));
        }
        for bad in [
            "",
            "1Account",
            "_x",
            "Name OR Id",
            "Name' OR Name != '",
            "Name--",
            "Owner.Name",
            "Name)",
            "Näme",
            "Name\n",
            &"a".repeat(256),
        ] {
            let err = api_name(bad).unwrap_err();
            assert!(
                err.to_string().contains("not a Salesforce API name"),
                "{bad:?}"
            );
        }
        assert_eq!(field_path("Owner.Name"), Ok("Owner.Name"));
        assert!(field_path("Owner..Name").is_err());
        assert!(field_path("Owner.Name FROM User").is_err());
    }

    #[test]
    fn escapes_every_special_character_in_strings() {
        assert_eq!(string_literal("Bob's BBQ"), r"'Bob\'s BBQ'");
        assert_eq!(
            string_literal("a\"b\\c\nd\re\tf\u{8}g\u{c}h"),
            r#"'a\"b\\c\nd\re\tf\bg\fh'"#
        );
        assert_eq!(string_literal("50%_off"), "'50%_off'");
        assert_eq!(string_literal("żółć ☃"), "'żółć ☃'");
    }

    #[test]
    fn hostile_strings_stay_inside_their_literal() {
        let hostile = "' OR Name != '";
        assert_eq!(string_literal(hostile), r"'\' OR Name != \''");
        // A trailing backslash must not escape the closing quote.
        assert_eq!(string_literal("x\\"), r"'x\\'");
        assert_eq!(
            string_literal("\\' OR Id != null --"),
            r"'\\\' OR Id != null --'"
        );
        for value in [hostile, "x\\", "\\'", "'\n'", "''''"] {
            assert_eq!(unquote(&string_literal(value)), value);
        }
    }

    /// Reads a literal back the way SOQL does: the first unescaped quote ends it.
    fn unquote(literal: &str) -> String {
        let body = literal.strip_prefix('\'').unwrap();
        let mut out = String::new();
        let mut chars = body.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => out.push(match chars.next().unwrap() {
                    'n' => '\n',
                    'r' => '\r',
                    't' => '\t',
                    'b' => '\u{8}',
                    'f' => '\u{c}',
                    other => other,
                }),
                '\'' => {
                    assert_eq!(chars.as_str(), "", "literal ended early in {literal}");
                    return out;
                }
                other => out.push(other),
            }
        }
        panic!("unterminated literal {literal}");
    }

    #[test]
    fn like_escapes_wildcards_only_inside_text() {
        let pattern = like_literal(&[
            LikePart::Text("50%_off's"),
            LikePart::AnyChars,
            LikePart::OneChar,
        ]);
        assert_eq!(pattern, r"'50\%\_off\'s%_'");
        assert_eq!(like_literal(&[LikePart::Text("a\\b")]), r"'a\\b'");
    }

    #[test]
    fn datetimes_are_unquoted_whole_seconds_in_utc() {
        assert_eq!(
            datetime_literal(at(NEW_YEAR)).unwrap(),
            "2024-01-01T00:00:00Z"
        );
        assert_eq!(
            datetime_literal(at(NEW_YEAR + 1_999)).unwrap(),
            "2024-01-01T00:00:01Z"
        );
        assert!(datetime_literal(at(-62_167_219_200_001)).is_err()); // before year 0
        assert!(datetime_literal(at(253_402_300_800_000)).is_err()); // year 10000
    }

    #[test]
    fn values_become_typed_literals() {
        let lit = |v: Value| SoqlValue::from_json(&v).unwrap().literal().unwrap();
        assert_eq!(lit(json!("O'Neil")), r"'O\'Neil'");
        assert_eq!(lit(json!(42)), "42");
        assert_eq!(lit(serde_json::from_str("1.5E7").unwrap()), "15000000");
        assert_eq!(lit(json!(-0.25)), "-0.25");
        assert_eq!(lit(json!(true)), "true");
        assert_eq!(lit(Value::Null), "null");
        assert!(SoqlValue::from_json(&json!([1])).is_err());
        assert!(SoqlValue::from_json(&json!({"a": 1})).is_err());
        assert_eq!(
            SoqlValue::date("2024-02-29").unwrap().literal().unwrap(),
            "2024-02-29"
        );
        assert!(SoqlValue::date("2024-02-30").is_err());
        assert!(SoqlValue::date("2024-01-01T00:00:00Z").is_err());
        assert!(SoqlValue::Date("2024-01-01' OR '".into())
            .literal()
            .is_err());
        assert_eq!(
            SoqlValue::DateTime(at(NEW_YEAR)).literal().unwrap(),
            "2024-01-01T00:00:00Z"
        );
    }

    #[test]
    fn builds_the_incremental_pull() {
        let soql = incremental_pull("Account", &["Name", "id", "Ext_Id__c"], at(NEW_YEAR)).unwrap();
        assert_eq!(
            soql,
            "SELECT Id, SystemModstamp, Name, Ext_Id__c FROM Account \
             WHERE SystemModstamp >= 2024-01-01T00:00:00Z ORDER BY SystemModstamp, Id"
        );
        assert_eq!(
            full_load("Contact", &["Owner.Name"]).unwrap(),
            "SELECT Id, SystemModstamp, Owner.Name FROM Contact ORDER BY SystemModstamp, Id"
        );
    }

    #[test]
    fn hostile_names_never_reach_the_query() {
        assert!(incremental_pull("Account WHERE Name != null", &["Name"], at(0)).is_err());
        assert!(full_load("Account", &["Name FROM User --"]).is_err());
        assert!(
            natural_key_lookup("Account", &[("Name = 'x' OR Id", SoqlValue::Null)], None).is_err()
        );
    }

    #[test]
    fn builds_the_natural_key_lookup() {
        let keys = [
            ("Name", SoqlValue::Text("' OR Name != '".into())),
            ("Employees__c", SoqlValue::Number(Number::from(12))),
            ("Active__c", SoqlValue::Boolean(false)),
            ("Region__c", SoqlValue::Null),
        ];
        let soql = natural_key_lookup("Account", &keys, Some(at(NEW_YEAR))).unwrap();
        assert_eq!(
            soql,
            r"SELECT Id, Name, Employees__c, Active__c, Region__c FROM Account WHERE Name = '\' OR Name != \'' AND Employees__c = 12 AND Active__c = false AND Region__c = null AND CreatedDate >= 2024-01-01T00:00:00Z"
        );
        assert!(natural_key_lookup("Account", &[], None).is_err());
        assert_eq!(
            natural_key_lookup("Account", &[("Id", SoqlValue::Text("001".into()))], None).unwrap(),
            "SELECT Id FROM Account WHERE Id = '001'"
        );
    }
}
