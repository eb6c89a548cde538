//! Creates whose outcome is unknown (the worker stopped, the connection broke, or the
//! answer was a server error, a timeout or too big, after sending them; see
//! `hubsync_core::retry::may_have_been_applied`) are never re-sent blindly: they are looked up by the sync's natural key
//! first, or parked for a person when there is none.

use super::push::{Chunk, Kind, Record};
use super::runtime::Runtime;
use super::settle;
use crate::catalog::review::{self, Item, Kind as ReviewKind};
use hubsync_core::connector::CallError;
use hubsync_core::salesforce::soql;
use pgrx::spi::SpiResult;
use serde_json::Value;

/// A natural-key query for one doubtful record.
pub struct Lookup {
    pub record: Record,
    pub soql: String,
}

/// The ids each lookup found.
pub struct Reconciled {
    pub sync_id: i32,
    pub found: Vec<(Record, Result<Vec<String>, CallError>)>,
}

/// Builds lookups for doubtful creates; without a natural key they go to review at once
/// (returned lookups are empty then).
pub fn lookups(runtime: &Runtime, doubtful: Vec<Record>) -> SpiResult<Vec<Lookup>> {
    let key = &runtime.config.natural_key;
    if key.is_empty() {
        park(runtime, doubtful, NO_KEY)?;
        return Ok(Vec::new());
    }
    let mut lookups = Vec::new();
    let mut unusable = Vec::new();
    for record in doubtful {
        let values: Result<Vec<(&str, soql::SoqlValue)>, _> = key
            .iter()
            .map(|field| {
                let value = record.payload.get(field).cloned().unwrap_or(Value::Null);
                soql::SoqlValue::from_json(&value).map(|v| (field.as_str(), v))
            })
            .collect();
        match values.and_then(|v| soql::natural_key_lookup(&runtime.config.remote.object, &v, None))
        {
            Ok(soql) => lookups.push(Lookup { record, soql }),
            Err(_) => unusable.push(record),
        }
    }
    park(
        runtime,
        unusable,
        "the natural key could not be turned into a lookup query",
    )?;
    Ok(lookups)
}

const NO_KEY: &str = "This create may or may not have reached Salesforce: the worker stopped, the \
    connection broke, or Salesforce answered with a server error or a timeout after it was sent. Without an External ID (a mapping marked \"external_id\": true) \
    or sync_settings.natural_key, hubsync cannot check safely. Look the record up in Salesforce: if it \
    exists, put its Id in the row's id column and call hubsync.discard(id); if it does not, call \
    hubsync.retry(id).";

fn park(runtime: &Runtime, records: Vec<Record>, why: &str) -> SpiResult<()> {
    let items: Vec<Item> = records
        .iter()
        .map(|r| Item {
            pk: r.pk.clone(),
            remote_id: None,
            operation: "create".into(),
            kind: ReviewKind::UnknownOutcome,
            payload: Value::Object(r.payload.clone()),
            remote_values: None,
            error_code: Some("UNKNOWN_OUTCOME".into()),
            error_message: why.to_string(),
            attempts: r.attempts,
            outbox_ids: r.outbox_ids.clone(),
        })
        .collect();
    review::add(runtime.id, &items)?;
    let ids: Vec<i64> = records
        .iter()
        .flat_map(|r| r.outbox_ids.iter().copied())
        .collect();
    super::outbox::complete(&ids)
}

/// Acts on lookup results: one match is the record we created (adopt its id), none means
/// the create never happened (send it), several or a failed lookup need a person or a retry.
pub fn settle_lookups(runtime: &mut Runtime, reconciled: Reconciled) -> SpiResult<Vec<Chunk>> {
    let mut adopted = Vec::new();
    let mut resend = Vec::new();
    let mut ambiguous: Vec<(Record, String)> = Vec::new();
    for (mut record, found) in reconciled.found {
        match found {
            Ok(ids) if ids.len() == 1 => {
                record.remote_id = ids.into_iter().next();
                let id = record.remote_id.clone();
                adopted.push((record, id));
            }
            Ok(ids) if ids.is_empty() => resend.push(record),
            Ok(ids) => {
                let why = format!(
                    "the create's outcome was unknown and its natural key matches {} records ({}); \
                     link the right one by putting its Id in the row's id column, then hubsync.discard(id)",
                    ids.len(),
                    ids.join(", ")
                );
                ambiguous.push((record, why));
            }
            Err(error) => {
                super::outbox::release(&record.outbox_ids, Some(&error.to_string()), true)?;
                runtime.in_flight.remove(&record.key);
            }
        }
    }
    for (record, _) in &adopted {
        runtime.in_flight.remove(&record.key);
    }
    settle::record_synced(runtime, Kind::Create, &adopted)?;
    for (record, why) in ambiguous {
        runtime.in_flight.remove(&record.key);
        park(runtime, vec![record], &why)?;
    }
    Ok(super::push::split(
        runtime.id,
        &runtime.config.remote.object,
        Kind::Create,
        None,
        resend,
    ))
}
