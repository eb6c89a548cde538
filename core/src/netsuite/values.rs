//! Values between NetSuite's two shapes and the engine's: SuiteQL rows (lower-case
//! columns, every value text, booleans `T`/`F`) are read into records keyed by REST field
//! names with typed values; records to write become REST bodies, a reference's text id
//! becoming `{"id": …}`. Both directions agree, so a value read and written back is the
//! value NetSuite holds, and a pulled value compares equal to the pushed one.

use super::describe::Described;
use super::suiteql::Column;
use crate::connector::{FieldType, Record};
use serde_json::{json, Map, Number, Value};

/// A SuiteQL row as a record: `id`, then each column under its field's REST name
/// (`null` where the row omits it, as SuiteQL omits null columns).
pub fn from_row(row: &Map<String, Value>, columns: &[Column]) -> Record {
    let mut record = Record::new();
    record.insert("id".into(), text_of(row.get("id")));
    for column in columns.iter().filter(|c| c.alias != "id") {
        let value = match row.get(&column.alias) {
            Some(Value::String(text)) => typed(column.kind, text),
            Some(other) => other.clone(),
            None => Value::Null,
        };
        record.insert(column.field.clone(), value);
    }
    record
}

/// A value SuiteQL wrote as text, as the field's type reads it.
fn typed(kind: FieldType, text: &str) -> Value {
    match kind {
        FieldType::Boolean => match text {
            "T" => Value::Bool(true),
            "F" => Value::Bool(false),
            _ => Value::String(text.into()),
        },
        FieldType::Int
        | FieldType::Long
        | FieldType::Double
        | FieldType::Currency
        | FieldType::Percent => text
            .parse::<Number>()
            .map_or_else(|_| Value::String(text.into()), Value::Number),
        // `YYYY-MM-DD HH:MI:SS` (see suiteql::TIME_FORMAT) → ISO-8601 UTC, as REST reads it.
        FieldType::Datetime if text.len() == 19 && text.as_bytes()[10] == b' ' => {
            Value::String(format!("{}T{}Z", &text[..10], &text[11..]))
        }
        _ => Value::String(text.into()),
    }
}

/// A value as text (ids are strings in NetSuite's REST answers, numbers in some rows).
pub fn text_of(value: Option<&Value>) -> Value {
    match value {
        Some(Value::String(s)) => Value::String(s.clone()),
        Some(Value::Number(n)) => Value::String(n.to_string()),
        _ => Value::Null,
    }
}

/// A record to write as a REST body: field names as the describe spells them, references
/// as `{"id": "…"}`, `id` left out (it is in the URL).
pub fn to_body(described: &Described, record: &Record) -> Map<String, Value> {
    let mut body = Map::new();
    for (name, value) in record {
        if name.eq_ignore_ascii_case("id") {
            continue;
        }
        let field = described.describe.field(name);
        let name = field.map_or(name.as_str(), |f| f.name.as_str());
        let value = match value {
            Value::String(_) | Value::Number(_) if described.is_reference(name) => {
                json!({"id": text_of(Some(value))})
            }
            _ => value.clone(),
        };
        body.insert(name.to_string(), value);
    }
    body
}

/// The internal id at the end of a `Location` (`…/record/v1/customer/647` → `647`).
pub fn id_from_location(location: &str) -> Option<String> {
    let last = location.trim_end_matches('/').rsplit('/').next()?;
    (!last.is_empty() && last.bytes().all(|b| b.is_ascii_digit())).then(|| last.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::netsuite::describe::from_schema;
    use crate::netsuite::suiteql::columns;

    fn described() -> Described {
        from_schema(
            "customer",
            &json!({"properties": {
                "companyName": {"type": "string"},
                "isPerson": {"type": "boolean"},
                "subsidiary": {"type": "object"},
                "lastModifiedDate": {"type": "string", "format": "date-time", "readOnly": true},
                "custentity_score": {"type": "number"},
                "custentity_since": {"type": "string", "format": "date"}
            }}),
        )
        .unwrap()
    }

    #[test]
    fn rows_read_as_typed_records_in_rest_names() {
        let describe = described().describe;
        let fields = [
            "companyName",
            "isPerson",
            "subsidiary",
            "lastModifiedDate",
            "custentity_score",
            "custentity_since",
        ];
        let columns = columns(&describe, &fields).unwrap();
        let row = json!({"id": "107", "companyname": "Globex", "isperson": "F", "subsidiary": "2",
                         "lastmodifieddate": "2024-01-15 10:02:11", "custentity_score": "12345678901234567.25",
                         "custentity_since": "2024-01-15", "hs_modified": "2024-01-15 10:02:11"});
        let record = from_row(row.as_object().unwrap(), &columns);
        assert_eq!(
            Value::Object(record),
            json!({"id": "107", "companyName": "Globex", "isPerson": false, "subsidiary": "2",
                   "lastModifiedDate": "2024-01-15T10:02:11Z",
                   "custentity_score": serde_json::from_str::<Value>("12345678901234567.25").unwrap(),
                   "custentity_since": "2024-01-15"})
        );
        let sparse = from_row(json!({"id": 9}).as_object().unwrap(), &columns[..1]);
        assert_eq!(
            Value::Object(sparse),
            json!({"id": "9", "companyName": null})
        );
    }

    #[test]
    fn records_write_as_rest_bodies_with_reference_objects() {
        let record = json!({"id": "5", "companyname": "Initech", "subsidiary": "1", "isPerson": false,
                            "custentity_unknown": "x", "custentity_score": null});
        let body = to_body(&described(), record.as_object().unwrap());
        assert_eq!(
            Value::Object(body),
            json!({"companyName": "Initech", "subsidiary": {"id": "1"}, "isPerson": false,
                   "custentity_unknown": "x", "custentity_score": null})
        );
        assert_eq!(
            id_from_location(
                "https://1234567.suitetalk.api.netsuite.com/services/rest/record/v1/customer/647"
            )
            .as_deref(),
            Some("647")
        );
        assert_eq!(id_from_location("http://h/x/eid:abc"), None);
    }
}
