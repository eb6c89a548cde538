//! Records as JSON, written straight into a buffer (query pages render thousands).

use crate::errors::ApiError;
use crate::schema::{ObjectDef, Role, Schema};
use crate::soql::{Column, ParentKind, Related, USER_FIELDS};
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
    write_attributes(out, &object.name, record.id.as_str(), version);
    for &index in fields {
        write_field(out, object, record, index);
    }
    out.push('}');
}

/// Opens a record object with its `attributes` (the caller closes it).
fn write_attributes(out: &mut String, object: &str, id: &str, version: &str) {
    out.push_str("{\"attributes\":{\"type\":");
    write_json_string(out, object);
    out.push_str(",\"url\":\"/services/data/v");
    out.push_str(version);
    out.push_str("/sobjects/");
    out.push_str(object);
    out.push('/');
    out.push_str(id);
    out.push_str("\"}");
}

/// Appends `,"Name":value`.
fn write_key(out: &mut String, name: &str) {
    out.push_str(",\"");
    out.push_str(name);
    out.push_str("\":");
}

fn write_field(out: &mut String, object: &ObjectDef, record: &Record, index: usize) {
    let field = &object.fields[index];
    write_key(out, &field.name);
    match &field.role {
        Role::Address(parts) => write_address(out, record, parts),
        _ => record.values[index].write_json_scalar(out),
    }
}

/// Appends a query row with relationship columns: parents nested as records (`null`
/// without one), children as a query result (`null` without any). `username` is the
/// org's user, the target of `Owner.`-style paths.
pub fn write_related(
    out: &mut String,
    schema: &Schema,
    row: (&ObjectDef, &Record, &Related),
    columns: &[Column],
    version: &str,
    username: &str,
) {
    let (object, record, related) = row;
    write_attributes(out, &object.name, record.id.as_str(), version);
    let (mut parents, mut children) = (related.parents.iter(), related.children.iter());
    for column in columns {
        match column {
            Column::Field(index) => write_field(out, object, record, *index),
            Column::Parent {
                name,
                target: ParentKind::Table(t),
                fields,
                ..
            } => {
                write_key(out, name);
                match parents.next().and_then(Option::as_ref) {
                    Some(parent) => write_record(out, &schema.objects[*t], parent, fields, version),
                    None => out.push_str("null"),
                }
            }
            Column::Parent {
                name,
                via,
                target: ParentKind::User,
                fields,
            } => {
                write_key(out, name);
                let Value::Id(user) = &record.values[*via] else {
                    out.push_str("null");
                    continue;
                };
                write_attributes(out, "User", user.as_str(), version);
                for &f in fields {
                    write_key(out, USER_FIELDS[f]);
                    match USER_FIELDS[f] {
                        "Id" => write_json_string(out, user.as_str()),
                        _ => write_json_string(out, username),
                    }
                }
                out.push('}');
            }
            Column::Children { name, plan, .. } => {
                write_key(out, name);
                let list = children.next().map(Vec::as_slice).unwrap_or_default();
                if list.is_empty() {
                    out.push_str("null");
                    continue;
                }
                let child = &schema.objects[plan.table];
                out.push_str("{\"totalSize\":");
                out.push_str(&list.len().to_string());
                out.push_str(",\"done\":true,\"records\":[");
                for (i, r) in list.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write_record(out, child, r, &plan.fields, version);
                }
                out.push_str("]}");
            }
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
