//! Records as JSON, written straight into a buffer (query pages render thousands).

use crate::errors::ApiError;
use crate::schema::{ObjectDef, Role};
use crate::store::Record;
use crate::value::{write_json_string, Value};

/// Appends `{"attributes":{"type":…,"url":…},<fields>}`.
pub fn write_record(
    out: &mut String,
    object: &ObjectDef,
    record: &Record,
    fields: &[usize],
    version: &str,
) {
    out.push_str("{\"attributes\":{\"type\":");
    write_json_string(out, &object.name);
    out.push_str(",\"url\":\"/services/data/v");
    out.push_str(version);
    out.push_str("/sobjects/");
    out.push_str(&object.name);
    out.push('/');
    out.push_str(record.id.as_str());
    out.push_str("\"}");
    for &index in fields {
        let field = &object.fields[index];
        out.push_str(",\"");
        out.push_str(&field.name);
        out.push_str("\":");
        match &field.role {
            Role::Address(parts) => write_address(out, record, parts),
            _ => record.values[index].write_json_scalar(out),
        }
    }
    out.push('}');
}

/// A record as an owned JSON string.
pub fn record_json(object: &ObjectDef, record: &Record, fields: &[usize], version: &str) -> String {
    let mut out = String::with_capacity(64 + fields.len() * 24);
    write_record(&mut out, object, record, fields, version);
    out
}

/// A compound address: `null` when every component is empty, else an object of them.
fn write_address(out: &mut String, record: &Record, parts: &[usize; 5]) {
    if parts.iter().all(|p| record.values[*p] == Value::Null) {
        out.push_str("null");
        return;
    }
    let [street, city, state, postal, country] = parts.map(|p| &record.values[p]);
    out.push_str("{\"city\":");
    city.write_json_scalar(out);
    out.push_str(",\"country\":");
    country.write_json_scalar(out);
    out.push_str(",\"geocodeAccuracy\":null,\"latitude\":null,\"longitude\":null,\"postalCode\":");
    postal.write_json_scalar(out);
    out.push_str(",\"state\":");
    state.write_json_scalar(out);
    out.push_str(",\"street\":");
    street.write_json_scalar(out);
    out.push('}');
}

/// Field positions named by a `fields=A,B` parameter (all fields when absent).
pub fn field_list(object: &ObjectDef, fields: Option<&str>) -> Result<Vec<usize>, ApiError> {
    let Some(list) = fields.filter(|s| !s.trim().is_empty()) else {
        return Ok((0..object.fields.len()).collect());
    };
    list.split(',')
        .map(str::trim)
        .map(|name| {
            object.field_index(name).ok_or_else(|| {
                ApiError::bad_request(
                    "INVALID_FIELD",
                    format!(
                        "No such column '{name}' on entity '{}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.",
                        object.name
                    ),
                )
            })
        })
        .collect()
}
