//! First contact: a pulled record that no local row is linked to yet may already exist in
//! the hub under another system (or as a local row not pushed yet). When the sync has a
//! natural key (`sync_settings.natural_key`), such a record is linked to the one unlinked
//! row with the same key values instead of being inserted as a second row; several such
//! rows go to the review queue. Nothing is duplicated by a hub.

use crate::catalog::keys;
use crate::catalog::review::{Item, Kind as ReviewKind};
use crate::catalog::rows::Target;
use hubsync_core::coalesce::Values;
use hubsync_core::mapping::Mapper;
use pgrx::prelude::*;
use pgrx::spi::{quote_identifier, SpiResult};
use pgrx::JsonB;
use serde_json::{json, Map, Value};
use std::collections::HashMap;

/// A record of the page with no linked local row: its remote id, mapped values and the
/// remote record (for the review queue).
pub struct Unlinked<'a> {
    pub remote_id: &'a str,
    pub values: &'a Values,
    pub record: &'a Map<String, Value>,
}

/// What first contact decided.
#[derive(Default)]
pub struct Linked {
    /// Remote ids now written into the id column of an existing row.
    pub linked: Vec<String>,
    /// Records matching several unlinked rows: for a person.
    pub ambiguous: Vec<Item>,
}

/// Links each record to the single unlinked row holding its natural key, as the sync's
/// owner; the caller reads the linked rows again and merges them like any other.
pub fn by_natural_key(
    sync_id: i32,
    natural_key: &[String],
    mapper: &Mapper,
    target: &Target,
    unlinked: &[Unlinked],
) -> SpiResult<Linked> {
    let columns: Option<Vec<&str>> = natural_key
        .iter()
        .map(|field| mapper.column_for_field(field))
        .collect();
    let Some(columns) = columns.filter(|c| !c.is_empty()) else {
        return Ok(Linked::default());
    };
    let keyed: Vec<Value> = unlinked
        .iter()
        .filter(|u| {
            columns
                .iter()
                .all(|c| u.values.get(*c).is_some_and(|v| !v.is_null()))
        })
        .map(|u| {
            let key: Map<String, Value> = columns
                .iter()
                .map(|c| (c.to_string(), u.values[*c].clone()))
                .collect();
            json!({"id": u.remote_id, "key": key})
        })
        .collect();
    if keyed.is_empty() {
        return Ok(Linked::default());
    }
    let matches = matching_rows(&columns, target, keyed)?;
    let mut outcome = Linked::default();
    let mut links: Vec<Value> = Vec::new();
    for u in unlinked {
        match matches.get(u.remote_id).map(Vec::as_slice) {
            Some([pk]) => {
                links.push(json!({"id": u.remote_id, "pk": pk}));
                outcome.linked.push(u.remote_id.to_string());
            }
            Some(pks) if pks.len() > 1 => outcome.ambiguous.push(ambiguous(u, &columns, pks.len())),
            _ => {}
        }
    }
    write_links(sync_id, target, links)?;
    Ok(outcome)
}

/// Primary keys of the unlinked rows whose key columns hold each record's key values
/// (compared as JSON, so `1.50` matches `1.5` and text matches exactly), by remote id.
fn matching_rows(
    columns: &[&str],
    target: &Target,
    keyed: Vec<Value>,
) -> SpiResult<HashMap<String, Vec<Value>>> {
    let conditions: Vec<String> = columns
        .iter()
        .map(|c| {
            format!(
                "to_jsonb(t.{}) = k.v->'key'->{}",
                quote_identifier(c),
                pgrx::spi::quote_literal(c)
            )
        })
        .collect();
    let sql = format!(
        "SELECT k.v->>'id', {pk} FROM jsonb_array_elements($1) k(v) \
         JOIN {table} t ON {conditions} WHERE t.{id} IS NULL",
        pk = keys::pk_array("t", &target.table.primary_key),
        table = target.qualified,
        conditions = conditions.join(" AND "),
        id = target.id_column,
    );
    crate::privilege::as_role(target.owner, || {
        Spi::connect(|client| {
            let mut found: HashMap<String, Vec<Value>> = HashMap::new();
            for row in client.select(&sql, None, &[JsonB(Value::Array(keyed)).into()])? {
                let id: String = row.get(1)?.unwrap_or_default();
                let pk = row.get::<JsonB>(2)?.map(|j| j.0).unwrap_or_default();
                found.entry(id).or_default().push(pk);
            }
            Ok(found)
        })
    })
}

/// Writes the remote ids into the matched rows' id column (still unlinked: a concurrent
/// link is never overwritten). A linked row's inserts still waiting to be pushed by this
/// sync become updates of the record it is now linked to: creating it would make a second
/// record (or replace the one just linked).
fn write_links(sync_id: i32, target: &Target, links: Vec<Value>) -> SpiResult<()> {
    if links.is_empty() {
        return Ok(());
    }
    let pks: Vec<Value> = links.iter().map(|l| l["pk"].clone()).collect();
    Spi::run_with_args(
        "UPDATE hubsync.outbox SET op = 'U', old = '{}' \
         WHERE sync_id = $1 AND op = 'I' AND pk IN (SELECT value FROM jsonb_array_elements($2))",
        &[sync_id.into(), JsonB(Value::Array(pks)).into()],
    )?;
    let sql = format!(
        "UPDATE {table} t SET {id} = l.v->>'id' FROM jsonb_array_elements($1) l(v) \
         WHERE {pk} = l.v->'pk' AND t.{id} IS NULL",
        table = target.qualified,
        id = target.id_column,
        pk = keys::pk_array("t", &target.table.primary_key),
    );
    crate::privilege::as_role(target.owner, || {
        Spi::run_with_args(&sql, &[JsonB(Value::Array(links)).into()])
    })
}

fn ambiguous(u: &Unlinked, columns: &[&str], rows: usize) -> Item {
    Item {
        pk: Value::Null,
        remote_id: Some(u.remote_id.to_string()),
        operation: "pull".into(),
        kind: ReviewKind::ApplyError,
        payload: Value::Object(u.record.clone()),
        remote_values: None,
        error_code: Some("AMBIGUOUS_NATURAL_KEY".into()),
        error_message: format!(
            "{rows} unlinked local rows hold this record's natural key ({}); hubsync links a \
             record to one row only. Put its id ({}) in the id column of the right row, or make \
             the key unique; the record is applied when it next changes remotely",
            columns.join(", "),
            u.remote_id
        ),
        attempts: 1,
        outbox_ids: Vec::new(),
    }
}
