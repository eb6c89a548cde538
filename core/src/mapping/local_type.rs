//! Local column types: reading the JSON `to_jsonb()` produces and writing JSON that
//! `jsonb_populate_record()` accepts for the column, with the column's limits enforced.

use super::datum::{Category, Datum};
use super::decimal::abbreviate;
use super::limits;
use super::temporal;
use crate::config::TimestampFormat;
use crate::schema::{LocalColumn, PgType};
use serde_json::Value;

/// How a local column stores values, resolved once from its [`PgType`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LocalKind {
    /// `text`, `varchar(n)`, `char(n)` (blank-padded) and types synced as text.
    Text {
        max_chars: Option<u32>,
        blank_padded: bool,
    },
    Uuid,
    Numeric {
        precision: Option<u32>,
        scale: Option<u32>,
    },
    Integer {
        min: i128,
        max: i128,
    },
    Float,
    Bool,
    Date,
    Time,
    Timestamp,
    Timestamptz,
    Json,
    TextArray,
}

/// A local column's kind together with its name in messages (`character varying(100)`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalType {
    pub kind: LocalKind,
    pub label: String,
}

impl LocalType {
    /// Resolves the column's type.
    pub fn of(column: &LocalColumn) -> LocalType {
        let kind = match &column.pg_type {
            PgType::Text | PgType::Other(_) => LocalKind::Text {
                max_chars: None,
                blank_padded: false,
            },
            PgType::Varchar(n) => LocalKind::Text {
                max_chars: *n,
                blank_padded: false,
            },
            PgType::Char(n) => LocalKind::Text {
                max_chars: Some(n.unwrap_or(1)),
                blank_padded: true,
            },
            PgType::Numeric { precision, scale } => LocalKind::Numeric {
                precision: *precision,
                scale: *scale,
            },
            PgType::Int2 => integer(i16::MIN.into(), i16::MAX.into()),
            PgType::Int4 => integer(i32::MIN.into(), i32::MAX.into()),
            PgType::Int8 => integer(i64::MIN, i64::MAX),
            PgType::Float4 | PgType::Float8 => LocalKind::Float,
            PgType::Bool => LocalKind::Bool,
            PgType::Date => LocalKind::Date,
            PgType::Time => LocalKind::Time,
            PgType::Timestamp => LocalKind::Timestamp,
            PgType::Timestamptz => LocalKind::Timestamptz,
            PgType::Jsonb | PgType::Json => LocalKind::Json,
            PgType::Uuid => LocalKind::Uuid,
            PgType::TextArray => LocalKind::TextArray,
        };
        LocalType {
            kind,
            label: column.type_name.clone(),
        }
    }

    /// The kind of value the column holds.
    pub fn category(&self) -> Category {
        match self.kind {
            LocalKind::Text { .. } | LocalKind::Uuid => Category::Text,
            LocalKind::Numeric { .. } | LocalKind::Integer { .. } | LocalKind::Float => {
                Category::Number
            }
            LocalKind::Bool => Category::Bool,
            LocalKind::Date => Category::Date,
            LocalKind::Time => Category::Time,
            LocalKind::Timestamp | LocalKind::Timestamptz => Category::DateTime,
            LocalKind::Json => Category::Json,
            LocalKind::TextArray => Category::List,
        }
    }

    /// Fraction digits the column keeps, when fixed.
    pub fn scale(&self) -> Option<u32> {
        match self.kind {
            LocalKind::Numeric { scale, .. } => scale,
            LocalKind::Integer { .. } => Some(0),
            _ => None,
        }
    }

    /// Reads a value as `to_jsonb()` rendered it.
    pub fn decode(&self, value: &Value, format: TimestampFormat) -> Result<Datum, String> {
        match (&self.kind, value) {
            (LocalKind::TextArray, Value::Array(items)) => items
                .iter()
                .map(|item| match item {
                    Value::String(s) => Ok(s.clone()),
                    Value::Null => {
                        Err("a text[] element is NULL; remove it or use an empty string"
                            .to_string())
                    }
                    other => Ok(other.to_string()),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Datum::List),
            (
                LocalKind::Text {
                    blank_padded: true, ..
                },
                Value::String(s),
            ) => Ok(Datum::Text(s.trim_end_matches(' ').to_string())),
            _ => Datum::read(value, self.category(), format),
        }
    }

    /// Writes a value for `jsonb_populate_record()`, refusing what the column cannot hold.
    pub fn encode(&self, datum: Datum, format: TimestampFormat) -> Result<Value, String> {
        if datum.is_null() {
            return Ok(Value::Null);
        }
        let label = self.label.as_str();
        Ok(match &self.kind {
            LocalKind::Text {
                max_chars,
                blank_padded,
            } => {
                let text = datum.to_text(format).unwrap_or_default();
                let counted = if *blank_padded {
                    text.trim_end_matches(' ')
                } else {
                    text.as_str()
                };
                limits::check_length(counted, *max_chars, label)?;
                Value::String(text)
            }
            LocalKind::Uuid => {
                Value::String(canonical_uuid(&datum.to_text(format).unwrap_or_default())?)
            }
            LocalKind::Numeric { precision, scale } => {
                let number = datum.into_number(format)?;
                limits::scaled_decimal(&number, *precision, *scale, label)?.to_json(*scale)
            }
            LocalKind::Integer { min, max } => {
                limits::integer_json(datum, *min, *max, label, format)?
            }
            LocalKind::Float => datum.into_number(format)?.to_json(None),
            LocalKind::Bool | LocalKind::Json | LocalKind::TextArray => {
                match datum.coerce(self.category(), format)? {
                    Datum::Bool(b) => Value::Bool(b),
                    Datum::List(items) => {
                        Value::Array(items.into_iter().map(Value::String).collect())
                    }
                    Datum::Json(v) => v,
                    other => Value::String(other.to_text(format).unwrap_or_default()),
                }
            }
            LocalKind::Date => match datum.coerce(Category::Date, format)? {
                Datum::Date(d) => Value::String(temporal::iso_date(&d)),
                other => return Err(unexpected(&other, label, format)),
            },
            LocalKind::Time => match datum.coerce(Category::Time, format)? {
                Datum::Time(t) => Value::String(temporal::pg_time(&t)),
                other => return Err(unexpected(&other, label, format)),
            },
            LocalKind::Timestamp | LocalKind::Timestamptz => {
                match datum.coerce(Category::DateTime, format)? {
                    Datum::DateTime(t) if self.kind == LocalKind::Timestamp => {
                        Value::String(temporal::pg_timestamp(&t))
                    }
                    Datum::DateTime(t) => Value::String(temporal::pg_timestamptz(&t)),
                    other => return Err(unexpected(&other, label, format)),
                }
            }
        })
    }
}

/// An integer column holding `min..=max`.
fn integer(min: i64, max: i64) -> LocalKind {
    LocalKind::Integer {
        min: min.into(),
        max: max.into(),
    }
}

fn unexpected(datum: &Datum, label: &str, format: TimestampFormat) -> String {
    format!("{} cannot be stored in {label}", datum.describe(format))
}

/// Accepts the spellings Postgres' uuid input accepts (braces, hyphens, any case) and
/// returns the canonical lower-case hyphenated form.
pub fn canonical_uuid(text: &str) -> Result<String, String> {
    let trimmed = text.trim();
    let inner = trimmed
        .strip_prefix('{')
        .and_then(|t| t.strip_suffix('}'))
        .unwrap_or(trimmed);
    let hex: String = inner.chars().filter(|c| *c != '-').collect();
    if hex.len() != 32 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(format!("\"{}\" is not a UUID", abbreviate(text)));
    }
    let hex = hex.to_ascii_lowercase();
    Ok(format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::decimal::Decimal;
    use crate::mapping::testkit::column;
    use serde_json::json;

    const ISO: TimestampFormat = TimestampFormat::Iso8601;

    fn ty(format_type: &str) -> LocalType {
        LocalType::of(&column("c", format_type))
    }

    fn roundtrip(format_type: &str, value: Value) -> Value {
        let t = ty(format_type);
        let datum = t.decode(&value, ISO).unwrap();
        t.encode(datum, ISO).unwrap()
    }

    #[test]
    fn every_column_type_round_trips_its_own_jsonb() {
        assert_eq!(roundtrip("text", json!("héllo ✓")), json!("héllo ✓"));
        assert_eq!(
            roundtrip("character varying(5)", json!("abcde")),
            json!("abcde")
        );
        assert_eq!(roundtrip("character(5)", json!("ab   ")), json!("ab"));
        assert_eq!(roundtrip("numeric(18,2)", json!(12.5)).to_string(), "12.50");
        assert_eq!(roundtrip("numeric", json!(1500.0)).to_string(), "1500");
        assert_eq!(roundtrip("integer", json!(42)), json!(42));
        assert_eq!(
            roundtrip("bigint", json!(9007199254740993_i64)).to_string(),
            "9007199254740993"
        );
        assert_eq!(roundtrip("smallint", json!(-7)), json!(-7));
        assert_eq!(roundtrip("double precision", json!(0.1)).to_string(), "0.1");
        assert_eq!(roundtrip("boolean", json!(false)), json!(false));
        assert_eq!(roundtrip("date", json!("2024-01-31")), json!("2024-01-31"));
        assert_eq!(
            roundtrip("time without time zone", json!("08:30:00.25")),
            json!("08:30:00.250")
        );
        assert_eq!(
            roundtrip("timestamp without time zone", json!("2024-01-31T12:00:00")),
            json!("2024-01-31 12:00:00")
        );
        assert_eq!(
            roundtrip(
                "timestamp with time zone",
                json!("2024-01-31T14:00:00.5+02:00")
            ),
            json!("2024-01-31T12:00:00.500+00:00")
        );
        assert_eq!(
            roundtrip("jsonb", json!({"a": [1, null]})),
            json!({"a": [1, null]})
        );
        assert_eq!(roundtrip("text[]", json!(["A", "B"])), json!(["A", "B"]));
        assert_eq!(
            roundtrip("uuid", json!("A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11")),
            json!("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11")
        );
        assert_eq!(
            roundtrip("inet", json!("10.0.0.1/32")),
            json!("10.0.0.1/32")
        );
        assert_eq!(roundtrip("text", Value::Null), Value::Null);
    }

    #[test]
    fn numeric_keeps_exact_digits_and_scale() {
        let t = ty("numeric(20,2)");
        let big = Datum::Number(Decimal::parse("12345678901234567.89").unwrap());
        assert_eq!(
            t.encode(big, ISO).unwrap().to_string(),
            "12345678901234567.89"
        );
        let java = Datum::Number(Decimal::parse("1.5E7").unwrap());
        assert_eq!(
            ty("numeric(18,2)").encode(java, ISO).unwrap().to_string(),
            "15000000.00"
        );
        let too_big = Datum::Number(Decimal::parse("12345678901234567.89").unwrap());
        let err = ty("numeric(18,2)").encode(too_big, ISO).unwrap_err();
        assert!(err.contains("does not fit numeric(18,2)"), "{err}");
    }

    #[test]
    fn refuses_what_the_column_cannot_hold() {
        let err = ty("character varying(3)")
            .encode(Datum::Text("abcd".into()), ISO)
            .unwrap_err();
        assert!(err.contains("too long for character varying(3)"), "{err}");
        assert!(ty("integer")
            .encode(Datum::Number(Decimal::parse("3E9").unwrap()), ISO)
            .is_err());
        assert!(ty("date")
            .encode(Datum::Text("2024-02-30".into()), ISO)
            .is_err());
        assert!(ty("uuid")
            .encode(Datum::Text("not-a-uuid".into()), ISO)
            .is_err());
        assert!(ty("numeric").decode(&json!("NaN"), ISO).is_err());
        assert!(ty("text[]").decode(&json!(["a", null]), ISO).is_err());
        assert!(ty("boolean")
            .encode(Datum::Text("maybe".into()), ISO)
            .is_err());
    }

    #[test]
    fn datetimes_in_text_and_number_columns_follow_timestamp_format() {
        let t = Datum::DateTime(temporal::parse_datetime("2024-01-01T12:00:00.900Z").unwrap());
        assert_eq!(
            ty("text")
                .encode(t.clone(), TimestampFormat::Salesforce)
                .unwrap(),
            json!("2024-01-01T12:00:00.900+0000")
        );
        assert_eq!(
            ty("bigint")
                .encode(t.clone(), TimestampFormat::UnixSeconds)
                .unwrap(),
            json!(1704110400)
        );
        assert_eq!(
            ty("bigint")
                .encode(t.clone(), TimestampFormat::UnixMillis)
                .unwrap(),
            json!(1704110400900_i64)
        );
        assert_eq!(
            ty("numeric")
                .encode(t.clone(), TimestampFormat::UnixSeconds)
                .unwrap()
                .to_string(),
            "1704110400.9"
        );
        assert!(ty("bigint").encode(t, ISO).is_err());
    }
}
