//! Creates whose outcome is unknown (the worker stopped, the connection broke, or the
//! answer was a server error, a timeout or too big, after sending them; see
//! `hubsync_core::retry::may_have_been_applied`) are never re-sent blindly: they are looked up by the sync's natural key
//! first, or parked for a person when there is none.

use super::push::{Chunk, Kind, Record};
use super::runtime::Runtime;
use super::settle;
use crate::catalog::review::{self, Item, Kind as ReviewKind};
use hubsync_core::connector::CallError;
use hubsync_core::retry::Class;
use pgrx::spi::SpiResult;
use serde_json::Value;

/// The natural key of one doubtful record, to look it up by.
pub struct Lookup {
    pub record: Record,
    pub key: Vec<(String, Value)>,
}

/// The ids each lookup found.
pub struct Reconciled {
    pub sync_id: i32,
    pub found: Vec<(Record, Result<Vec<String>, CallError>)>,
}

/// Builds lookups for doubtful creates; without a natural key they go to review at once
/// (returned lookups are empty then).
pub fn lookups(runtime: &Runtime, doubtful: Vec<Record>) -> SpiResult<Vec<Lookup>> {
    let fields = &runtime.config.natural_key;
    if fields.is_empty() {
        park(runtime, doubtful, NO_KEY)?;
        return Ok(Vec::new());
    }
    Ok(doubtful
        .into_iter()
        .map(|record| {
            let key = fields
                .iter()
                .map(|field| {
                    let value = record.payload.get(field).cloned().unwrap_or(Value::Null);
                    (field.clone(), value)
                })
                .collect();
            Lookup { record, key }
        })
        .collect())
}

const NO_KEY: &str = "This create may or may not have reached the remote system: the worker stopped, the \
    connection broke, or the system answered with a server error or a timeout after it was sent. Without an External ID (a mapping marked \"external_id\": true) \
    or sync_settings.natural_key, hubsync cannot check safely. Look the record up there: if it \
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
            Err(error) if error.class() == Class::Permanent => {
                let why = format!(
                    "the create's outcome was unknown and looking it up by its natural key failed: {error}"
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
        runtime.batch_size(),
    ))
}
