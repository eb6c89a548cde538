//! Turning a client's JSON record into typed field values, with the checks Salesforce
//! makes on each value by itself (type, length, picklist, id format, numeric range).
//!
//! Two kinds of failure, as in a real org: a value the JSON layer cannot read at all is
//! a request-level `JSON_PARSER_ERROR` / `INVALID_FIELD` (the whole call fails, even in
//! a collection), while a readable value that breaks a field rule is a record-level
//! error reported in that record's result.

use crate::errors::{ApiError, SfError};
use crate::ids::Id;
use crate::number::{round_decimal, write_java_double};
use crate::schema::{FieldDef, Kind, ObjectDef};
use crate::timefmt;
use crate::value::Value;
use serde_json::{Map, Value as Json};

/// A decoded record body.
#[derive(Debug, Default)]
pub struct Decoded {
    /// The `Id`/`id` key, when the body has one (collections update carry it).
    pub id: Option<Json>,
    /// Field positions and their new values, in body order.
    pub fields: Vec<(usize, Value)>,
    /// The first field-rule violation found, reported when the record is saved.
    pub error: Option<SfError>,
}

/// Decodes a record body of `object`. `attributes` is skipped; `Id` is set apart.
pub fn decode_record(object: &ObjectDef, body: &Map<String, Json>) -> Result<Decoded, ApiError> {
    let mut decoded = Decoded::default();
    for (key, json) in body {
        if key == "attributes" {
            continue;
        }
        if key.eq_ignore_ascii_case("id") {
            decoded.id = Some(json.clone());
            continue;
        }
        let index = object.field_index(key).ok_or_else(|| {
            ApiError::bad_request(
                "INVALID_FIELD",
                format!("No such column '{key}' on sobject of type {}", object.name),
            )
        })?;
        let field = &object.fields[index];
        let value = decode_value(field, json)?;
        if decoded.error.is_none() {
            decoded.error = check_value(field, &value).err();
        }
        decoded.fields.push((index, value));
    }
    Ok(decoded)
}

/// Converts one JSON value for `field`; a JSON shape the field cannot take is a parser error.
pub fn decode_value(field: &FieldDef, json: &Json) -> Result<Value, ApiError> {
    if json.is_null() {
        return Ok(if field.kind == Kind::Boolean {
            Value::Bool(false)
        } else {
            Value::Null
        });
    }
    let unreadable = || parser_error(field.kind, json);
    match field.kind {
        Kind::Boolean => match json {
            Json::Bool(b) => Ok(Value::Bool(*b)),
            Json::String(s) if s.eq_ignore_ascii_case("true") => Ok(Value::Bool(true)),
            Json::String(s) if s.eq_ignore_ascii_case("false") => Ok(Value::Bool(false)),
            _ => Err(unreadable()),
        },
        Kind::Int => {
            let text = numeric_text(json).ok_or_else(unreadable)?;
            match text.parse::<i64>() {
                Ok(i) => Ok(Value::Int(i)),
                // Jackson accepts a float for an int and truncates it.
                Err(_) => text
                    .parse::<f64>()
                    .ok()
                    .filter(|f| f.is_finite())
                    .map(|f| Value::Int(f.trunc() as i64))
                    .ok_or_else(unreadable),
            }
        }
        Kind::Double | Kind::Currency | Kind::Percent => {
            let text = numeric_text(json).ok_or_else(unreadable)?;
            round_decimal(text, field.scale)
                .map(|r| Value::Double(r.value))
                .ok_or_else(unreadable)
        }
        Kind::Date => string(json)
            .and_then(timefmt::parse_date)
            .map(Value::Date)
            .ok_or_else(unreadable),
        Kind::DateTime => string(json)
            .and_then(|s| {
                timefmt::parse_datetime(s)
                    .or_else(|| timefmt::parse_date(s).map(|d| d * timefmt::DAY_MS))
            })
            .map(Value::DateTime)
            .ok_or_else(unreadable),
        Kind::Time => string(json)
            .and_then(timefmt::parse_time)
            .map(Value::Time)
            .ok_or_else(unreadable),
        Kind::Id | Kind::Reference => {
            let text = string(json).ok_or_else(unreadable)?;
            // A malformed id is a record-level MALFORMED_ID, reported by `check_value`.
            Ok(Id::parse(text)
                .map(Value::Id)
                .unwrap_or_else(|| Value::Text(text.into())))
        }
        Kind::Address => Err(unreadable()),
        _ => match json {
            Json::String(s) => Ok(Value::Text(s.as_str().into())),
            Json::Number(n) => Ok(Value::Text(n.as_str().into())),
            Json::Bool(b) => Ok(Value::Text(b.to_string().into())),
            _ => Err(unreadable()),
        },
    }
}

fn numeric_text(json: &Json) -> Option<&str> {
    match json {
        Json::Number(n) => Some(n.as_str()),
        Json::String(s) if round_decimal(s, 0).is_some() => Some(s),
        _ => None,
    }
}

fn string(json: &Json) -> Option<&str> {
    json.as_str()
}

fn parser_error(kind: Kind, json: &Json) -> ApiError {
    let (token, shown) = match json {
        Json::String(s) => ("VALUE_STRING", s.clone()),
        Json::Number(n) if n.is_i64() || n.is_u64() => ("VALUE_NUMBER_INT", n.to_string()),
        Json::Number(n) => ("VALUE_NUMBER_FLOAT", n.to_string()),
        Json::Bool(true) => ("VALUE_TRUE", "true".into()),
        Json::Bool(false) => ("VALUE_FALSE", "false".into()),
        Json::Object(_) => ("START_OBJECT", "{".into()),
        Json::Array(_) => ("START_ARRAY", "[".into()),
        Json::Null => ("VALUE_NULL", "null".into()),
    };
    let target = match kind {
        Kind::Boolean => "boolean",
        Kind::Int => "int",
        Kind::Double | Kind::Currency | Kind::Percent => "double",
        Kind::Date => "date",
        Kind::DateTime => "datetime",
        Kind::Time => "time",
        Kind::Id | Kind::Reference => "id",
        _ => "string",
    };
    ApiError::json_parser(format!(
        "Cannot deserialize instance of {target} from {token} value {shown} or request may be missing a required field"
    ))
}

/// The checks Salesforce makes on one value in isolation.
pub fn check_value(field: &FieldDef, value: &Value) -> Result<(), SfError> {
    let on_field =
        |code, message: String| SfError::on_fields(code, message, vec![field.name.clone()]);
    match (field.kind, value) {
        (_, Value::Null) => Ok(()),
        (Kind::Id | Kind::Reference, Value::Text(bad)) => Err(on_field(
            "MALFORMED_ID",
            format!("{}: id value of incorrect type: {bad}", field.label),
        )),
        (kind, Value::Text(text)) if kind.is_text() => {
            if text.chars().count() > field.length as usize {
                return Err(on_field(
                    "STRING_TOO_LONG",
                    format!(
                        "{}: data value too large: {text} (max length={})",
                        field.label, field.length
                    ),
                ));
            }
            if field.restricted_picklist {
                let allowed = |v: &str| field.picklist.iter().any(|p| p.value == v);
                let values: Vec<&str> = if kind == Kind::Multipicklist {
                    text.split(';').collect()
                } else {
                    vec![text]
                };
                if let Some(bad) = values.into_iter().find(|v| !allowed(v)) {
                    return Err(on_field(
                        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                        format!(
                            "{}: bad value for restricted picklist field: {bad}",
                            field.label
                        ),
                    ));
                }
            }
            if kind == Kind::Email && !looks_like_email(text) {
                return Err(on_field(
                    "INVALID_EMAIL_ADDRESS",
                    format!("{}: invalid email address: {text}", field.label),
                ));
            }
            Ok(())
        }
        (Kind::Int, Value::Int(i)) => {
            if field.digits > 0 && i.unsigned_abs().to_string().len() > field.digits as usize {
                return Err(out_of_range(field, &i.to_string()));
            }
            Ok(())
        }
        (Kind::Double | Kind::Currency | Kind::Percent, Value::Double(d)) => {
            let integer_digits = if d.abs() < 1.0 {
                0
            } else {
                (d.abs().log10().floor() as u32) + 1
            };
            if integer_digits > field.precision.saturating_sub(field.scale) {
                let mut shown = String::new();
                write_java_double(&mut shown, *d);
                return Err(out_of_range(field, &shown));
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

fn out_of_range(field: &FieldDef, shown: &str) -> SfError {
    SfError::on_fields(
        "NUMBER_OUTSIDE_VALID_RANGE",
        format!(
            "{}: value outside of valid range on numeric field: {shown}",
            field.label
        ),
        vec![field.name.clone()],
    )
}

fn looks_like_email(text: &str) -> bool {
    let Some((local, domain)) = text.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !text.chars().any(char::is_whitespace)
        && !domain.contains('@')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::Schema;
    use serde_json::json;

    fn account_body(body: Json) -> Result<Decoded, ApiError> {
        let schema = Schema::standard();
        decode_record(schema.object("Account").unwrap(), body.as_object().unwrap())
    }

    #[test]
    fn decodes_and_rounds_values_case_insensitively() {
        let d = account_body(json!({"attributes": {"type": "Account"}, "name": "Acme",
            "annualrevenue": 1.005, "NumberOfEmployees": "12", "Id": "x"}))
        .unwrap();
        assert!(d.error.is_none());
        assert_eq!(d.id, Some(json!("x")));
        assert_eq!(d.fields[1].1, Value::Double(1.01));
        assert_eq!(d.fields[2].1, Value::Int(12));
    }

    #[test]
    fn unreadable_values_fail_the_request() {
        let err = account_body(json!({"NumberOfEmployees": "abc"})).unwrap_err();
        assert_eq!(err.errors[0].code, "JSON_PARSER_ERROR");
        let err = account_body(json!({"Foo__c": 1})).unwrap_err();
        assert_eq!(
            err.errors[0].message,
            "No such column 'Foo__c' on sobject of type Account"
        );
    }

    #[test]
    fn field_rule_violations_are_record_errors() {
        let long = "x".repeat(256);
        let d = account_body(json!({ "Name": long })).unwrap();
        assert_eq!(d.error.unwrap().code, "STRING_TOO_LONG");
        let d = account_body(json!({"OwnerId": "INVALID_OWNER"})).unwrap();
        assert_eq!(d.error.unwrap().code, "MALFORMED_ID");
        let d = account_body(json!({"AnnualRevenue": 1e17})).unwrap();
        assert_eq!(d.error.unwrap().code, "NUMBER_OUTSIDE_VALID_RANGE");
    }
}
