//! A value in flight between the two sides, typed by what it means rather than by how
//! either side spells it, so transforms and rules are written once for both directions.

use super::decimal::{abbreviate, Decimal};
use super::temporal;
use crate::config::TimestampFormat;
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use serde_json::Value;

/// A decoded value.
#[derive(Debug, Clone, PartialEq)]
pub enum Datum {
    Null,
    Text(String),
    Number(Decimal),
    Bool(bool),
    Date(NaiveDate),
    DateTime(DateTime<Utc>),
    Time(NaiveTime),
    /// Multi-select picklist values / `text[]` elements.
    List(Vec<String>),
    Json(Value),
}

/// The kind of [`Datum`] a column or field holds; conversions are defined between kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Category {
    Text,
    Number,
    Bool,
    Date,
    DateTime,
    Time,
    List,
    Json,
}

impl Datum {
    /// Reads a JSON value without knowing the column type: how a `value_map` or `default`
    /// value written in the config is understood before it is converted to the target type.
    pub fn from_config(value: &Value) -> Datum {
        match value {
            Value::Null => Datum::Null,
            Value::String(s) => Datum::Text(s.clone()),
            Value::Bool(b) => Datum::Bool(*b),
            // A number beyond numeric's range stays text, so converting it reports the range.
            Value::Number(n) => match Decimal::parse(&n.to_string()) {
                Ok(d) => Datum::Number(d),
                Err(_) => Datum::Text(n.to_string()),
            },
            Value::Array(items) if items.iter().all(Value::is_string) => Datum::List(
                items
                    .iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect(),
            ),
            other => Datum::Json(other.clone()),
        }
    }

    /// True for [`Datum::Null`].
    pub fn is_null(&self) -> bool {
        matches!(self, Datum::Null)
    }

    /// The value as text, as it would appear in a text column; `None` for null.
    pub fn to_text(&self, format: TimestampFormat) -> Option<String> {
        Some(match self {
            Datum::Null => return None,
            Datum::Text(s) => s.clone(),
            Datum::Number(n) => n.to_plain(None),
            Datum::Bool(b) => b.to_string(),
            Datum::Date(d) => temporal::iso_date(d),
            Datum::DateTime(t) => temporal::format_datetime_text(t, format),
            Datum::Time(t) => temporal::pg_time(t),
            Datum::List(items) => items.join(";"),
            Datum::Json(v) => v.to_string(),
        })
    }

    /// Reads a value as a column or field of `category` holds it: null stays null, a JSON
    /// value is kept whole, anything else is converted.
    pub fn read(
        value: &Value,
        category: Category,
        format: TimestampFormat,
    ) -> Result<Datum, String> {
        match (category, value) {
            (_, Value::Null) => Ok(Datum::Null),
            (Category::Json, v) => Ok(Datum::Json(v.clone())),
            (category, v) => Datum::from_config(v).coerce(category, format),
        }
    }

    /// Converts to `category`, parsing text where the target needs structure.
    /// A failure is a per-record problem described for the review queue.
    pub fn coerce(self, category: Category, format: TimestampFormat) -> Result<Datum, String> {
        if self.is_null() {
            return Ok(Datum::Null);
        }
        match (category, self) {
            (Category::Text, d) => Ok(Datum::Text(d.to_text(format).unwrap_or_default())),
            (Category::Number, d) => d.into_number(format).map(Datum::Number),
            (Category::Bool, d @ Datum::Bool(_)) => Ok(d),
            (Category::Bool, Datum::Text(s)) => parse_bool(&s).map(Datum::Bool),
            (Category::Date, d @ Datum::Date(_)) => Ok(d),
            (Category::Date, Datum::Text(s)) => temporal::parse_date(&s).map(Datum::Date),
            (Category::DateTime, d @ Datum::DateTime(_)) => Ok(d),
            (Category::DateTime, Datum::Date(d)) => {
                Ok(Datum::DateTime(d.and_time(NaiveTime::MIN).and_utc()))
            }
            (Category::DateTime, Datum::Number(n)) => {
                temporal::from_unix(&n, format).map(Datum::DateTime)
            }
            (Category::DateTime, Datum::Text(s)) => datetime_from_text(&s, format),
            (Category::Time, d @ Datum::Time(_)) => Ok(d),
            (Category::Time, Datum::Text(s)) => temporal::parse_time(&s).map(Datum::Time),
            (Category::List, d @ Datum::List(_)) => Ok(d),
            (Category::List, Datum::Text(s)) => Ok(Datum::List(split_list(&s))),
            (Category::Json, d @ Datum::Json(_)) => Ok(d),
            (Category::Json, Datum::Text(s)) => serde_json::from_str(&s)
                .map(Datum::Json)
                .map_err(|e| format!("\"{}\" is not a JSON document: {e}", abbreviate(&s))),
            (Category::Json, d) => Ok(Datum::Json(d.to_json(format))),
            (category, d) => Err(format!(
                "{} cannot be converted to {}",
                d.describe(format),
                category.noun()
            )),
        }
    }

    /// The number this value stands for: numbers as they are, numeric text parsed, datetimes
    /// as epoch numbers when `timestamp_format` is `unix_seconds`/`unix_millis`.
    pub fn into_number(self, format: TimestampFormat) -> Result<Decimal, String> {
        match self {
            Datum::Number(n) => Ok(n),
            Datum::Text(s) => Decimal::parse(&s),
            Datum::DateTime(t) => temporal::to_unix(&t, format).ok_or_else(|| {
                "a datetime needs timestamp_format unix_seconds or unix_millis to become a number"
                    .to_string()
            }),
            other => Err(format!(
                "{} cannot be converted to {}",
                other.describe(format),
                Category::Number.noun()
            )),
        }
    }

    /// The value as JSON, for `json`/`jsonb` columns.
    fn to_json(&self, format: TimestampFormat) -> Value {
        match self {
            Datum::Null => Value::Null,
            Datum::Number(n) => n.to_json(None),
            Datum::Bool(b) => Value::Bool(*b),
            Datum::List(items) => Value::Array(items.iter().cloned().map(Value::String).collect()),
            Datum::Json(v) => v.clone(),
            other => Value::String(other.to_text(format).unwrap_or_default()),
        }
    }

    /// A short description for error messages: the kind and (abbreviated) value.
    pub fn describe(&self, format: TimestampFormat) -> String {
        let kind = match self {
            Datum::Null => return "null".to_string(),
            Datum::Text(_) => "text",
            Datum::Number(_) => "number",
            Datum::Bool(_) => "boolean",
            Datum::Date(_) => "date",
            Datum::DateTime(_) => "datetime",
            Datum::Time(_) => "time",
            Datum::List(_) => "list",
            Datum::Json(_) => "JSON value",
        };
        format!(
            "{kind} \"{}\"",
            abbreviate(&self.to_text(format).unwrap_or_default())
        )
    }
}

impl Category {
    fn noun(self) -> &'static str {
        match self {
            Category::Text => "text",
            Category::Number => "a number",
            Category::Bool => "a boolean",
            Category::Date => "a date",
            Category::DateTime => "a datetime",
            Category::Time => "a time",
            Category::List => "a list",
            Category::Json => "JSON",
        }
    }
}

fn parse_bool(text: &str) -> Result<bool, String> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "t" | "yes" | "1" => Ok(true),
        "false" | "f" | "no" | "0" => Ok(false),
        _ => Err(format!("\"{}\" is not a boolean", abbreviate(text))),
    }
}

/// Text in a datetime slot: all digits is an epoch number (per `timestamp_format`), else ISO.
fn datetime_from_text(text: &str, format: TimestampFormat) -> Result<Datum, String> {
    let trimmed = text.trim();
    let numeric = !trimmed.is_empty()
        && trimmed
            .trim_start_matches('-')
            .bytes()
            .all(|b| b.is_ascii_digit() || b == b'.');
    if numeric {
        let number = Decimal::parse(trimmed)?;
        return temporal::from_unix(&number, format).map(Datum::DateTime);
    }
    temporal::parse_datetime(trimmed).map(Datum::DateTime)
}

/// Splits a multi-select picklist value `A;B;C`; empty entries are dropped.
pub fn split_list(text: &str) -> Vec<String> {
    text.split(';')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ISO: TimestampFormat = TimestampFormat::Iso8601;

    #[test]
    fn config_values_are_read_by_their_json_type() {
        assert_eq!(Datum::from_config(&json!("Hot")), Datum::Text("Hot".into()));
        assert_eq!(
            Datum::from_config(&json!(1.50)),
            Datum::Number(Decimal::parse("1.5").unwrap())
        );
        assert_eq!(
            Datum::from_config(&json!(["A", "B"])),
            Datum::List(vec!["A".into(), "B".into()])
        );
        assert_eq!(
            Datum::from_config(&json!({"a": 1})),
            Datum::Json(json!({"a": 1}))
        );
        assert!(Datum::from_config(&Value::Null).is_null());
    }

    #[test]
    fn coerces_text_into_structured_kinds() {
        let n = Datum::Text(" 12.50 ".into())
            .coerce(Category::Number, ISO)
            .unwrap();
        assert_eq!(n, Datum::Number(Decimal::parse("12.5").unwrap()));
        assert_eq!(
            Datum::Text("TRUE".into())
                .coerce(Category::Bool, ISO)
                .unwrap(),
            Datum::Bool(true)
        );
        assert!(Datum::Text("maybe".into())
            .coerce(Category::Bool, ISO)
            .is_err());
        assert_eq!(
            Datum::Text("A;;B".into())
                .coerce(Category::List, ISO)
                .unwrap(),
            Datum::List(vec!["A".into(), "B".into()])
        );
        assert_eq!(
            Datum::Text("{\"k\":[1,2]}".into())
                .coerce(Category::Json, ISO)
                .unwrap(),
            Datum::Json(json!({"k": [1, 2]}))
        );
        assert!(Datum::Text("{oops".into())
            .coerce(Category::Json, ISO)
            .is_err());
    }

    #[test]
    fn datetimes_become_numbers_only_with_a_unix_format() {
        let t = Datum::Text("2024-01-01T12:00:00Z".into())
            .coerce(Category::DateTime, ISO)
            .unwrap();
        assert!(t.clone().coerce(Category::Number, ISO).is_err());
        let seconds = t
            .clone()
            .coerce(Category::Number, TimestampFormat::UnixSeconds)
            .unwrap();
        assert_eq!(
            seconds,
            Datum::Number(Decimal::parse("1704110400").unwrap())
        );
        let back = Datum::Text("1704110400000".into())
            .coerce(Category::DateTime, TimestampFormat::UnixMillis)
            .unwrap();
        assert_eq!(back, t);
    }

    #[test]
    fn impossible_conversions_say_what_and_why() {
        let err = Datum::Bool(true).coerce(Category::Date, ISO).unwrap_err();
        assert_eq!(err, "boolean \"true\" cannot be converted to a date");
        assert!(Datum::Null.coerce(Category::Date, ISO).unwrap().is_null());
    }

    #[test]
    fn text_forms() {
        assert_eq!(
            Datum::List(vec!["A".into(), "B".into()])
                .to_text(ISO)
                .unwrap(),
            "A;B"
        );
        assert_eq!(
            Datum::Json(json!({"a":1})).to_text(ISO).unwrap(),
            "{\"a\":1}"
        );
        assert_eq!(
            Datum::Number(Decimal::parse("1.5E7").unwrap())
                .to_text(ISO)
                .unwrap(),
            "15000000"
        );
    }
}
