//! Salesforce field types: reading REST JSON (Java-double numbers, `+0000` datetimes,
//! `A;B;C` multi-select picklists) and writing what the REST API accepts, with the
//! field's length, precision and scale checked before the request is made.

use super::datum::{Category, Datum};
use super::decimal::abbreviate;
use super::limits;
use super::temporal;
use crate::config::TimestampFormat;
use crate::connector::describe::{FieldDescribe, FieldType};
use serde_json::Value;

/// How a Salesforce field stores values, resolved once from its describe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RemoteKind {
    /// string, textarea, email, phone, url, picklist, combobox, encryptedstring, base64,
    /// anyType and types this version does not know.
    Text {
        max_chars: Option<u32>,
    },
    /// id and reference: 15- or 18-character record ids.
    Id,
    MultiPicklist {
        max_chars: Option<u32>,
    },
    Bool,
    Integer {
        min: i128,
        max: i128,
    },
    /// double, currency, percent.
    Decimal {
        precision: Option<u32>,
        scale: u32,
    },
    Date,
    DateTime,
    Time,
    /// address, location: read-only structured values.
    Compound,
}

/// A Salesforce field's kind together with its name in messages (`currency(18,2)`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteType {
    pub kind: RemoteKind,
    pub label: String,
}

impl RemoteType {
    /// Resolves the field's type from its describe.
    pub fn of(field: &FieldDescribe) -> RemoteType {
        let length = (field.length > 0).then_some(field.length);
        let type_name = type_name(field.field_type);
        let (kind, label) = match field.field_type {
            FieldType::Id | FieldType::Reference => (RemoteKind::Id, type_name),
            FieldType::Multipicklist => {
                (RemoteKind::MultiPicklist { max_chars: length }, type_name)
            }
            FieldType::Boolean => (RemoteKind::Bool, type_name),
            FieldType::Int => (
                RemoteKind::Integer {
                    min: i32::MIN.into(),
                    max: i32::MAX.into(),
                },
                type_name,
            ),
            FieldType::Long => (
                RemoteKind::Integer {
                    min: i64::MIN.into(),
                    max: i64::MAX.into(),
                },
                type_name,
            ),
            FieldType::Double | FieldType::Currency | FieldType::Percent => (
                RemoteKind::Decimal {
                    precision: (field.precision > 0).then_some(field.precision),
                    scale: field.scale,
                },
                format!("{type_name}({},{})", field.precision, field.scale),
            ),
            FieldType::Date => (RemoteKind::Date, type_name),
            FieldType::Datetime => (RemoteKind::DateTime, type_name),
            FieldType::Time => (RemoteKind::Time, type_name),
            FieldType::Address | FieldType::Location => (RemoteKind::Compound, type_name),
            FieldType::String
            | FieldType::Textarea
            | FieldType::Email
            | FieldType::Phone
            | FieldType::Url
            | FieldType::Picklist
            | FieldType::Combobox
            | FieldType::Encryptedstring
            | FieldType::Base64
            | FieldType::AnyType
            | FieldType::Unknown => {
                let label = match length {
                    Some(n) => format!("{type_name}({n})"),
                    None => type_name,
                };
                (RemoteKind::Text { max_chars: length }, label)
            }
        };
        RemoteType { kind, label }
    }

    /// The kind of value the field holds.
    pub fn category(&self) -> Category {
        match self.kind {
            RemoteKind::Text { .. } | RemoteKind::Id => Category::Text,
            RemoteKind::MultiPicklist { .. } => Category::List,
            RemoteKind::Bool => Category::Bool,
            RemoteKind::Integer { .. } | RemoteKind::Decimal { .. } => Category::Number,
            RemoteKind::Date => Category::Date,
            RemoteKind::DateTime => Category::DateTime,
            RemoteKind::Time => Category::Time,
            RemoteKind::Compound => Category::Json,
        }
    }

    /// Fraction digits Salesforce keeps, when fixed.
    pub fn scale(&self) -> Option<u32> {
        match self.kind {
            RemoteKind::Decimal { scale, .. } => Some(scale),
            RemoteKind::Integer { .. } => Some(0),
            _ => None,
        }
    }

    /// Reads a value from a REST record.
    pub fn decode(&self, value: &Value, format: TimestampFormat) -> Result<Datum, String> {
        Datum::read(value, self.category(), format)
    }

    /// Writes a value as the REST API accepts it for this field.
    pub fn encode(&self, datum: Datum, format: TimestampFormat) -> Result<Value, String> {
        let label = self.label.as_str();
        if datum.is_null() {
            // Salesforce checkboxes are never null: clearing one means unchecking it.
            return Ok(if self.kind == RemoteKind::Bool {
                Value::Bool(false)
            } else {
                Value::Null
            });
        }
        Ok(match &self.kind {
            RemoteKind::Text { max_chars } => {
                let text = datum.to_text(format).unwrap_or_default();
                limits::check_length(&text, *max_chars, label)?;
                Value::String(text)
            }
            RemoteKind::Id => Value::String(record_id(&datum.to_text(format).unwrap_or_default())?),
            RemoteKind::MultiPicklist { max_chars } => {
                let Datum::List(items) = datum.coerce(Category::List, format)? else {
                    return Err(format!("{label} needs a list of values"));
                };
                if let Some(bad) = items.iter().find(|i| i.contains(';')) {
                    return Err(format!(
                        "multi-select picklist value \"{}\" contains ';', which Salesforce uses as the separator",
                        abbreviate(bad)
                    ));
                }
                if items.is_empty() {
                    return Ok(Value::Null);
                }
                let joined = items.join(";");
                limits::check_length(&joined, *max_chars, label)?;
                Value::String(joined)
            }
            RemoteKind::Bool => match datum.coerce(Category::Bool, format)? {
                Datum::Bool(b) => Value::Bool(b),
                other => return Err(unexpected(&other, label, format)),
            },
            RemoteKind::Integer { min, max } => {
                limits::integer_json(datum, *min, *max, label, format)?
            }
            RemoteKind::Decimal { precision, scale } => {
                let number = datum.into_number(format)?;
                limits::scaled_decimal(&number, *precision, Some(*scale), label)?
                    .to_json(Some(*scale))
            }
            RemoteKind::Date => match datum.coerce(Category::Date, format)? {
                Datum::Date(d) => Value::String(temporal::salesforce_date(&d)?),
                other => return Err(unexpected(&other, label, format)),
            },
            RemoteKind::DateTime => match datum.coerce(Category::DateTime, format)? {
                Datum::DateTime(t) => Value::String(temporal::salesforce_datetime(&t)?),
                other => return Err(unexpected(&other, label, format)),
            },
            RemoteKind::Time => match datum.coerce(Category::Time, format)? {
                Datum::Time(t) => Value::String(temporal::salesforce_time(&t)),
                other => return Err(unexpected(&other, label, format)),
            },
            RemoteKind::Compound => {
                return Err(format!(
                "{label} fields are read-only in Salesforce; write their component fields instead"
            ))
            }
        })
    }
}

/// The type's name as `describe` spells it (`currency`, `anyType`).
pub fn type_name(field_type: FieldType) -> String {
    match serde_json::to_value(field_type) {
        Ok(Value::String(name)) => name,
        _ => "unknown".to_string(),
    }
}

fn unexpected(datum: &Datum, label: &str, format: TimestampFormat) -> String {
    format!(
        "{} cannot be written to a Salesforce {label} field",
        datum.describe(format)
    )
}

/// A Salesforce record id: 15 or 18 letters and digits.
fn record_id(text: &str) -> Result<String, String> {
    let id = text.trim();
    if matches!(id.len(), 15 | 18) && id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        Ok(id.to_string())
    } else {
        Err(format!(
            "\"{}\" is not a Salesforce record id (15 or 18 letters and digits)",
            abbreviate(text)
        ))
    }
}

/// What identifies the record in an id: an 18-character id is the 15-character one plus
/// a case checksum, so the first 15 characters decide.
pub fn record_key(id: &str) -> &str {
    if matches!(id.len(), 15 | 18) && id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        &id[..15]
    } else {
        id
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::decimal::Decimal;
    use serde_json::json;

    const ISO: TimestampFormat = TimestampFormat::Iso8601;

    fn field(field_type: FieldType, length: u32, precision: u32, scale: u32) -> RemoteType {
        RemoteType::of(&FieldDescribe {
            name: "F".into(),
            field_type,
            length,
            precision,
            scale,
            digits: 0,
            nillable: true,
            createable: true,
            updateable: true,
            defaulted_on_create: false,
            unique: false,
            external_id: false,
            id_lookup: false,
            calculated: false,
            picklist_values: vec![],
            restricted_picklist: false,
        })
    }

    fn pull_then_push(t: &RemoteType, value: Value) -> Value {
        let datum = t.decode(&value, ISO).unwrap();
        t.encode(datum, ISO).unwrap()
    }

    #[test]
    fn reads_rest_values_and_writes_what_rest_accepts() {
        let currency = field(FieldType::Currency, 0, 18, 2);
        assert_eq!(
            pull_then_push(&currency, json!(1.5E7)).to_string(),
            "15000000.00"
        );
        assert_eq!(
            pull_then_push(&currency, json!(9.9213206E7)).to_string(),
            "99213206.00"
        );
        assert_eq!(
            pull_then_push(
                &field(FieldType::Datetime, 0, 0, 0),
                json!("2024-01-01T12:00:00.000+0000")
            ),
            json!("2024-01-01T12:00:00.000Z")
        );
        assert_eq!(
            pull_then_push(&field(FieldType::Date, 0, 0, 0), json!("2024-01-01")),
            json!("2024-01-01")
        );
        assert_eq!(
            pull_then_push(&field(FieldType::Time, 0, 0, 0), json!("12:00:00.000Z")),
            json!("12:00:00.000Z")
        );
        assert_eq!(
            pull_then_push(&field(FieldType::Boolean, 0, 0, 0), json!(true)),
            json!(true)
        );
        assert_eq!(
            pull_then_push(&field(FieldType::Int, 0, 0, 0), json!(120)),
            json!(120)
        );
        assert_eq!(
            pull_then_push(&field(FieldType::Multipicklist, 4099, 0, 0), json!("A;B;C")),
            json!("A;B;C")
        );
        assert_eq!(
            pull_then_push(&field(FieldType::Id, 18, 0, 0), json!("001xx000003DGb2AAG")),
            json!("001xx000003DGb2AAG")
        );
        assert_eq!(
            pull_then_push(&field(FieldType::Picklist, 40, 0, 0), json!("Energy")),
            json!("Energy")
        );
    }

    #[test]
    fn multipicklists_are_lists() {
        let t = field(FieldType::Multipicklist, 4099, 0, 0);
        assert_eq!(
            t.decode(&json!("A;B"), ISO).unwrap(),
            Datum::List(vec!["A".into(), "B".into()])
        );
        assert_eq!(t.decode(&json!(""), ISO).unwrap(), Datum::List(vec![]));
        assert_eq!(t.encode(Datum::List(vec![]), ISO).unwrap(), Value::Null);
        assert!(t.encode(Datum::List(vec!["A;B".into()]), ISO).is_err());
    }

    #[test]
    fn refuses_what_salesforce_would_refuse() {
        let name = field(FieldType::String, 5, 0, 0);
        let err = name.encode(Datum::Text("toolong".into()), ISO).unwrap_err();
        assert!(err.contains("too long for string(5)"), "{err}");
        let currency = field(FieldType::Currency, 0, 18, 2);
        let err = currency
            .encode(
                Datum::Number(Decimal::parse("12345678901234567.89").unwrap()),
                ISO,
            )
            .unwrap_err();
        assert!(err.contains("does not fit currency(18,2)"), "{err}");
        assert!(field(FieldType::Int, 0, 0, 0)
            .encode(Datum::Number(Decimal::parse("3000000000").unwrap()), ISO)
            .is_err());
        assert!(field(FieldType::Reference, 18, 0, 0)
            .encode(Datum::Text("not an id".into()), ISO)
            .is_err());
        assert!(field(FieldType::Datetime, 0, 0, 0)
            .encode(Datum::Text("soon".into()), ISO)
            .is_err());
        assert!(field(FieldType::Address, 0, 0, 0)
            .encode(Datum::Json(json!({"city": "X"})), ISO)
            .is_err());
    }

    #[test]
    fn rounds_to_the_field_scale() {
        let pct = field(FieldType::Percent, 0, 5, 2);
        assert_eq!(
            pct.encode(Datum::Number(Decimal::parse("12.345").unwrap()), ISO)
                .unwrap()
                .to_string(),
            "12.35"
        );
    }

    #[test]
    fn null_checkbox_means_unchecked() {
        assert_eq!(
            field(FieldType::Boolean, 0, 0, 0)
                .encode(Datum::Null, ISO)
                .unwrap(),
            json!(false)
        );
        assert_eq!(
            field(FieldType::String, 10, 0, 0)
                .encode(Datum::Null, ISO)
                .unwrap(),
            Value::Null
        );
    }

    #[test]
    fn record_ids_compare_by_their_15_character_form() {
        assert_eq!(
            record_key("001xx000003DGb2AAG"),
            record_key("001xx000003DGb2")
        );
        assert_ne!(record_key("001xx000003DGb2"), record_key("001xx000003DGB2"));
        assert_ne!(
            record_key("001xx000003DGb2AAG"),
            record_key("001xx000003DGb3AAG")
        );
        assert_eq!(record_key("short"), "short");
    }
}
