//! Bulk loading of records (data file at start, admin API): bypasses validation rules,
//! required fields and automations, and accepts explicit ids, audit timestamps and
//! `IsDeleted`, so tests can set up any history.

use crate::app::App;
use crate::decode::{check_value, decode_record};
use crate::ids::{user_id, Id};
use crate::save::{compose_names, finish_name};
use crate::schema::Role;
use crate::store::{Org, Record, Txn};
use crate::value::Value;
use serde_json::{Map, Value as Json};
use std::collections::BTreeMap;

/// Loads `{"Object": [records…], …}` in one transaction; any error loads nothing.
pub fn load_json(app: &App, text: &str) -> Result<BTreeMap<String, Vec<String>>, String> {
    let json: Json = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let Json::Object(objects) = json else {
        return Err("expected an object of the form {\"Account\": [records…]}".into());
    };
    let now_ms = app.clock.now_ms();
    let mut org = app.org.write();
    let mut txn = org.begin(Some("emulator/load".into()));
    let mut loaded = BTreeMap::new();
    let result = (|| {
        for (name, records) in &objects {
            let table = org
                .schema
                .object_index(name)
                .ok_or_else(|| format!("no object named {name}"))?;
            let Json::Array(records) = records else {
                return Err(format!("{name}: expected an array of records"));
            };
            let mut ids = Vec::with_capacity(records.len());
            for (i, record) in records.iter().enumerate() {
                let Json::Object(map) = record else {
                    return Err(format!("{name}[{i}]: expected a record object"));
                };
                let id = load_record(&mut org, &mut txn, table, map, now_ms)
                    .map_err(|e| format!("{name}[{i}]: {e}"))?;
                ids.push(id.to_string());
            }
            loaded.insert(org.schema.objects[table].name.clone(), ids);
        }
        Ok(())
    })();
    match result {
        Ok(()) => {
            org.commit(txn);
            Ok(loaded)
        }
        Err(e) => {
            org.rollback(txn);
            Err(e)
        }
    }
}

fn load_record(
    org: &mut Org,
    txn: &mut Txn,
    table: usize,
    map: &Map<String, Json>,
    now_ms: i64,
) -> Result<Id, String> {
    let schema = org.schema.clone();
    let object = &schema.objects[table];
    let decoded = decode_record(object, map).map_err(|e| e.errors[0].message.clone())?;
    let id = match &decoded.id {
        None | Some(Json::Null) => org.tables[table].new_id(),
        Some(Json::String(text)) => {
            let id = Id::parse(text)
                .filter(|id| id.key_prefix() == object.key_prefix)
                .ok_or_else(|| format!("{text} is not an id of {}", object.name))?;
            if org.tables[table].get(&id).is_some() {
                return Err(format!("a record with id {id} already exists"));
            }
            reserve_generated(org, table, &id);
            id
        }
        Some(other) => return Err(format!("Id must be a string, not {other}")),
    };
    let (seq, stamp) = org.stamp(now_ms);
    let sys = object.sys;
    let mut values: Vec<Value> = object
        .fields
        .iter()
        .map(|f| match (&f.role, f.kind) {
            (Role::OwnerId | Role::CreatedById | Role::LastModifiedById, _) => Value::Id(user_id()),
            (_, crate::schema::Kind::Boolean) => Value::Bool(false),
            _ => Value::Null,
        })
        .collect();
    for (index, value) in &decoded.fields {
        check_value(&object.fields[*index], value).map_err(|e| e.message)?;
        values[*index] = value.clone();
    }
    values[sys.id] = Value::Id(id);
    let created = match values[sys.created_date] {
        Value::DateTime(ms) => ms,
        _ => stamp,
    };
    values[sys.created_date] = Value::DateTime(created);
    if values[sys.last_modified_date] == Value::Null {
        values[sys.last_modified_date] = Value::DateTime(created);
    }
    if values[sys.system_modstamp] == Value::Null {
        values[sys.system_modstamp] = values[sys.last_modified_date].clone();
    }
    compose_names(object, &mut values);
    finish_name(object, &mut values, id);
    let deleted_at = match (&values[sys.is_deleted], &values[sys.system_modstamp]) {
        (Value::Bool(true), Value::DateTime(ms)) => Some(*ms),
        _ => None,
    };
    org.write_new(txn, table, Record::new(id, values, seq, deleted_at), now_ms);
    Ok(id)
}

/// Keeps generated ids from colliding with an explicit id in the emulator's own format.
fn reserve_generated(org: &mut Org, table: usize, id: &Id) {
    const BASE62: &str = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let text = id.as_str();
    if &text[3..6] != "xx0" {
        return;
    }
    let counter = text[6..15]
        .chars()
        .try_fold(0u64, |acc, c| BASE62.find(c).map(|d| acc * 62 + d as u64));
    if let Some(counter) = counter {
        org.tables[table].reserve_id(counter);
    }
}
