//! What the HTTP threads run: closures over owned data that call the sync's connector and
//! return an [`Outcome`]. Nothing here touches Postgres.

use super::push::{Chunk, Kind, Record, Verify};
use super::reconcile::{Lookup, Reconciled};
use super::settle::Pushed;
use super::Outcome;
use hubsync_core::coalesce::Values;
use hubsync_core::conflict::{self, MergeVerdict, Versions};
use hubsync_core::connector::{CallError, Connector, SaveResult, Write};
use hubsync_core::retry::Class;
use hubsync_core::timestamp::Timestamp;
use serde_json::{Map, Value};
use std::sync::Arc;

/// Milliseconds since the Unix epoch, as Postgres' `extract(epoch ...) * 1000` reports it.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

/// Describes the sync's remote object.
pub fn describe(client: Arc<dyn Connector>, sync_id: i32, object: String) -> Outcome {
    Outcome::Described {
        sync_id,
        result: client.describe(&object),
    }
}

/// A bulk chunk's job, opened but not applied yet (or why it could not be opened).
pub struct Opened {
    pub chunk: Chunk,
    pub result: Result<String, CallError>,
}

/// Sends one batch (updates of two-way syncs checked first). A bulk chunk is sent in two
/// steps: its job is opened, and finished once the main thread has recorded its id.
pub fn push(client: Arc<dyn Connector>, chunk: Chunk) -> Outcome {
    if chunk.bulk && chunk.job.is_none() {
        let result = as_write(&chunk, |batch| client.open_bulk_write(&chunk.object, batch));
        return Outcome::BulkOpened(Box::new(Opened { chunk, result }));
    }
    let (result, verdicts) = match &chunk.verify {
        Some(verify) if chunk.kind == Kind::Update => {
            verified_update(client.as_ref(), &chunk, verify)
        }
        _ => (send(client.as_ref(), &chunk), Vec::new()),
    };
    Outcome::Pushed(Box::new(Pushed {
        finished_ms: now_ms(),
        api_usage: client.api_usage(),
        result,
        verdicts,
        chunk,
    }))
}

/// Reads the records back, merges each with its pending local change (the sync's conflict
/// policy decides fields changed on both sides), and writes only what must reach
/// the remote system. Records deleted remotely, held for review, or with nothing left to write
/// are answered as done without a call; the pull applies the rest locally.
fn verified_update(
    client: &dyn Connector,
    chunk: &Chunk,
    verify: &Verify,
) -> (
    Result<Vec<SaveResult>, CallError>,
    Vec<Option<MergeVerdict>>,
) {
    let ids: Vec<&str> = chunk
        .records
        .iter()
        .filter_map(|r| r.remote_id.as_deref())
        .collect();
    let fields: Vec<&str> = verify.fields.iter().map(String::as_str).collect();
    let current = match client.retrieve(&chunk.object, &ids, &fields) {
        Ok(current) if current.len() == chunk.records.len() => current,
        Ok(_) => return (send(client, chunk), Vec::new()),
        Err(error) => return (Err(error), Vec::new()),
    };
    let mut verdicts = Vec::with_capacity(chunk.records.len());
    let mut to_send = Vec::new();
    for (record, remote) in chunk.records.iter().zip(current) {
        let verdict = remote.map(|remote| merge_with(verify, record, &remote));
        if let Some(payload) = verdict
            .as_ref()
            .and_then(|v| payload_for(verify, record, v))
        {
            to_send.push((verdicts.len(), payload));
        }
        verdicts.push(verdict);
    }
    let mut results: Vec<SaveResult> = (0..verdicts.len())
        .map(|_| SaveResult::done(None))
        .collect();
    if !to_send.is_empty() {
        let payloads: Vec<(String, Map<String, Value>)> =
            to_send.iter().map(|(_, p)| p.clone()).collect();
        match client.write(&chunk.object, Write::Update(&payloads)) {
            Ok(sent) => {
                for ((index, _), result) in to_send.iter().zip(sent) {
                    results[*index] = result;
                }
            }
            Err(error) => return (Err(error), verdicts),
        }
    }
    (Ok(results), verdicts)
}

fn merge_with(verify: &Verify, record: &Record, remote: &Map<String, Value>) -> MergeVerdict {
    let remote_values: Values = verify.mapper.to_local(remote).value.into_iter().collect();
    let local: Values = record.agreed.clone().into_iter().collect();
    let remote_time = hubsync_core::mapping::field_value(remote, &verify.time_field)
        .and_then(Value::as_str)
        .and_then(Timestamp::parse);
    conflict::merge(
        &verify.policy,
        &Versions {
            base: &record.local_side.base,
            local: &local,
            remote: &remote_values,
            local_time: record.local_side.time,
            remote_time,
            local_writers: &record.local_side.writers,
        },
        |column, a, b| verify.mapper.local_values_agree(column, a, b),
    )
}

/// What the update must still write after the merge, with the record's remote id.
fn payload_for(
    verify: &Verify,
    record: &Record,
    verdict: &MergeVerdict,
) -> Option<(String, Map<String, Value>)> {
    if verdict.review.is_some() || verdict.to_remote.is_empty() {
        return None;
    }
    let row: Map<String, Value> = verdict.to_remote.clone().into_iter().collect();
    let changed: Vec<String> = row.keys().cloned().collect();
    let payload = verify
        .mapper
        .to_remote(
            &row,
            hubsync_core::mapping::PushOp::Update { changed: &changed },
        )
        .value;
    if payload.is_empty() {
        return None;
    }
    Some((record.remote_id.clone().unwrap_or_default(), payload))
}

/// Sends a chunk as one write: through its recorded bulk job when it has one.
fn send(client: &dyn Connector, chunk: &Chunk) -> Result<Vec<SaveResult>, CallError> {
    let object = &chunk.object;
    as_write(chunk, |batch| match &chunk.job {
        Some(job) => client.finish_bulk_write(object, job, batch),
        None => client.write(object, batch),
    })
}

/// The chunk's records as the connector's write batch, handed to `f`.
fn as_write<R>(chunk: &Chunk, f: impl FnOnce(Write<'_>) -> R) -> R {
    let payloads =
        || -> Vec<Map<String, Value>> { chunk.records.iter().map(|r| r.payload.clone()).collect() };
    match chunk.kind {
        Kind::Create => f(Write::Create(&payloads())),
        Kind::Upsert => f(Write::Upsert {
            external_id: chunk.external_id.as_deref().unwrap_or_default(),
            records: &payloads(),
        }),
        Kind::Update => {
            let records: Vec<(String, Map<String, Value>)> = chunk
                .records
                .iter()
                .map(|r| (r.remote_id.clone().unwrap_or_default(), r.payload.clone()))
                .collect();
            f(Write::Update(&records))
        }
        Kind::Delete => {
            let ids: Vec<String> = chunk
                .records
                .iter()
                .filter_map(|r| r.remote_id.clone())
                .collect();
            f(Write::Delete(&ids))
        }
    }
}

/// Looks doubtful creates up by their natural key, once bulk writes a crash left behind
/// have finished (so their records are found, not created again).
pub fn reconcile(
    client: Arc<dyn Connector>,
    sync_id: i32,
    object: String,
    lookups: Vec<Lookup>,
) -> Outcome {
    // A refusal (no Bulk API access) means no bulk job of ours can exist: look up anyway.
    let finished = client
        .finish_bulk_writes(&object)
        .or_else(|e| match e.class() {
            Class::Permanent => Ok(()),
            _ => Err(e),
        });
    let found = lookups
        .into_iter()
        .map(|lookup| {
            let result = match &finished {
                Ok(()) => client.find(&object, &lookup.key),
                Err(error) => Err(error.clone()),
            };
            (lookup.record, result)
        })
        .collect();
    Outcome::Reconciled(Box::new(Reconciled { sync_id, found }))
}
