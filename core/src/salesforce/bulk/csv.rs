//! Bulk API 2.0 CSV both ways: records written as an ingest job's upload, and result
//! files read back into the JSON shapes the REST API gives, so a record looks the same
//! to the engine whichever API carried it.
//!
//! Uploads: a header row of every field any record sets, then one row per record; JSON
//! `null` (and the empty string, which Salesforce stores as null) is written `#N/A`,
//! which clears the field, while a field a record does not set is left empty, which
//! leaves it unchanged. Results: every value is text; the field's type (from the
//! object's describe) turns it back into a JSON boolean, number or string, empty being
//! `null`.

use crate::connector::{FieldType, Record};
use serde_json::{Number, Value};
use std::collections::HashMap;

/// The text Bulk API 2.0 reads as "set this field to null".
pub const NULL: &str = "#N/A";

/// How a result column's text becomes JSON, as one letter (kept in a stored cursor).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Boolean,
    Integer,
    Number,
    DateTime,
    Text,
}

impl Kind {
    /// The kind of a described field type.
    pub fn of(field_type: FieldType) -> Kind {
        match field_type {
            FieldType::Boolean => Kind::Boolean,
            FieldType::Int | FieldType::Long => Kind::Integer,
            FieldType::Double | FieldType::Currency | FieldType::Percent => Kind::Number,
            FieldType::Datetime => Kind::DateTime,
            _ => Kind::Text,
        }
    }

    /// Its letter.
    pub fn letter(self) -> char {
        match self {
            Kind::Boolean => 'b',
            Kind::Integer => 'i',
            Kind::Number => 'n',
            Kind::DateTime => 'd',
            Kind::Text => 's',
        }
    }

    /// The kind a letter names; anything unknown reads as text.
    pub fn from_letter(letter: char) -> Kind {
        match letter {
            'b' => Kind::Boolean,
            'i' => Kind::Integer,
            'n' => Kind::Number,
            'd' => Kind::DateTime,
            _ => Kind::Text,
        }
    }

    /// A result value as the REST API would give it: `null` for empty, `true`/`false`,
    /// numbers as JSON numbers, datetimes with a `+0000` offset instead of `Z`. Text
    /// that does not read as its kind stays text.
    pub fn value(self, text: &str) -> Value {
        if text.is_empty() {
            return Value::Null;
        }
        let typed = match self {
            Kind::Boolean => match text {
                "true" => Some(Value::Bool(true)),
                "false" => Some(Value::Bool(false)),
                _ => None,
            },
            Kind::Integer => text.parse::<i64>().ok().map(Value::from),
            Kind::Number => serde_json::from_str::<Number>(text).ok().map(Value::Number),
            Kind::DateTime => text
                .strip_suffix('Z')
                .map(|head| Value::String(format!("{head}+0000"))),
            Kind::Text => None,
        };
        typed.unwrap_or_else(|| Value::String(text.to_string()))
    }
}

/// One record's field as upload text; `None` for a field the record does not set.
fn upload_text(value: Option<&Value>) -> String {
    match value {
        None => String::new(),
        Some(Value::Null) => NULL.to_string(),
        Some(Value::String(s)) if s.is_empty() => NULL.to_string(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Bool(b)) => b.to_string(),
        Some(Value::Number(n)) => n.to_string(),
        Some(other) => other.to_string(),
    }
}

/// The columns an upload of `records` needs: every field any record sets, in the order
/// first seen.
pub fn columns(records: &[Record]) -> Vec<String> {
    let mut columns: Vec<String> = Vec::new();
    for key in records.iter().flat_map(|r| r.keys()) {
        if !columns.contains(key) {
            columns.push(key.clone());
        }
    }
    columns
}

/// The upload rows of `records` under `columns` (each row's texts, in column order).
pub fn rows(columns: &[String], records: &[Record]) -> Vec<Vec<String>> {
    records
        .iter()
        .map(|record| columns.iter().map(|c| upload_text(record.get(c))).collect())
        .collect()
}

/// An upload: the header and rows as LF-terminated CSV, every field quoted.
pub fn write(columns: &[String], rows: &[Vec<String>]) -> String {
    let mut writer = ::csv::WriterBuilder::new()
        .quote_style(::csv::QuoteStyle::Always)
        .terminator(::csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    // Writing into a Vec cannot fail.
    let _ = writer.write_record(columns);
    for row in rows {
        let _ = writer.write_record(row);
    }
    String::from_utf8(writer.into_inner().unwrap_or_default()).unwrap_or_default()
}

/// A result file: its header and rows of text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Table {
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl Table {
    /// Reads a result file (comma-delimited, LF or CRLF); `Err` says what is malformed.
    pub fn read(data: &[u8]) -> Result<Table, String> {
        let mut reader = ::csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(false)
            .from_reader(data);
        let header = reader
            .headers()
            .map_err(|e| format!("unreadable CSV header: {e}"))?
            .iter()
            .map(str::to_string)
            .collect();
        let mut rows = Vec::new();
        for row in reader.records() {
            let row = row.map_err(|e| format!("unreadable CSV row: {e}"))?;
            rows.push(row.iter().map(str::to_string).collect());
        }
        Ok(Table { header, rows })
    }

    /// Where the column named `name` is (case-insensitive, as Salesforce names are).
    pub fn column(&self, name: &str) -> Option<usize> {
        self.header
            .iter()
            .position(|h| h.eq_ignore_ascii_case(name))
    }

    /// Each row as a REST-shaped record, typed by `kinds` (field name → kind; a column
    /// without one is text).
    pub fn records(&self, kinds: &HashMap<String, Kind>) -> Vec<Record> {
        let kinds: Vec<Kind> = self
            .header
            .iter()
            .map(|h| kinds.get(h).copied().unwrap_or(Kind::Text))
            .collect();
        self.rows
            .iter()
            .map(|row| {
                self.header
                    .iter()
                    .zip(&kinds)
                    .zip(row)
                    .map(|((name, kind), text)| (name.clone(), kind.value(text)))
                    .collect()
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(value: Value) -> Record {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn uploads_write_nulls_as_na_and_leave_unset_fields_empty() {
        let records = vec![
            record(json!({"Name": "Acme, \"Inc\"", "Active__c": true, "Amount": 1.5})),
            record(json!({"Name": "B", "Phone": null, "Website": ""})),
        ];
        let columns = columns(&records);
        assert_eq!(columns, ["Name", "Active__c", "Amount", "Phone", "Website"]);
        let rows = rows(&columns, &records);
        assert_eq!(rows[0], ["Acme, \"Inc\"", "true", "1.5", "", ""]);
        assert_eq!(rows[1], ["B", "", "", NULL, NULL]);
        let text = write(&columns, &rows);
        assert!(text.starts_with("\"Name\",\"Active__c\""), "{text}");
        assert!(text.contains("\"Acme, \"\"Inc\"\"\""), "{text}");
        let back = Table::read(text.as_bytes()).unwrap();
        assert_eq!(back.header, columns);
        assert_eq!(back.rows, rows);
    }

    #[test]
    fn results_read_back_as_rest_values() {
        let text = "\"Id\",\"IsActive__c\",\"NumberOfEmployees\",\"AnnualRevenue\",\"SystemModstamp\",\"Name\",\"Since__c\"\n\
                    \"001A\",\"true\",\"12\",\"1.5E7\",\"2024-01-01T12:00:00.000Z\",\"true\",\"2024-01-01\"\r\n\
                    \"001B\",\"false\",\"\",\"\",\"\",\"\",\"\"\n";
        let table = Table::read(text.as_bytes()).unwrap();
        let kinds = HashMap::from([
            ("IsActive__c".to_string(), Kind::Boolean),
            ("NumberOfEmployees".to_string(), Kind::Integer),
            ("AnnualRevenue".to_string(), Kind::Number),
            ("SystemModstamp".to_string(), Kind::DateTime),
        ]);
        let mut records = table.records(&kinds);
        let revenue = records[0].shift_remove("AnnualRevenue").unwrap();
        assert_eq!(revenue.as_f64(), Some(1.5e7));
        assert_eq!(
            Value::Object(records[0].clone()),
            json!({"Id": "001A", "IsActive__c": true, "NumberOfEmployees": 12,
                   "SystemModstamp": "2024-01-01T12:00:00.000+0000",
                   "Name": "true", "Since__c": "2024-01-01"})
        );
        assert_eq!(
            Value::Object(records[1].clone()),
            json!({"Id": "001B", "IsActive__c": false, "NumberOfEmployees": null,
                   "AnnualRevenue": null, "SystemModstamp": null, "Name": null, "Since__c": null})
        );
        assert_eq!(table.column("id"), Some(0));
    }

    #[test]
    fn kinds_survive_their_letters_and_bad_text_stays_text() {
        for kind in [
            Kind::Boolean,
            Kind::Integer,
            Kind::Number,
            Kind::DateTime,
            Kind::Text,
        ] {
            assert_eq!(Kind::from_letter(kind.letter()), kind);
        }
        assert_eq!(Kind::Integer.value("x1"), json!("x1"));
        assert_eq!(Kind::Boolean.value("yes"), json!("yes"));
        assert_eq!(Kind::of(FieldType::Currency), Kind::Number);
        assert!(Table::read(b"\"a\",\"b\"\n\"1\"\n").is_err());
    }
}
