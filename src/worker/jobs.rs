//! What the HTTP threads run: closures over owned data that call Salesforce and return an
//! [`Outcome`]. Nothing here touches Postgres.

use super::push::{Chunk, Kind, Record};
use super::reconcile::{Lookup, Reconciled};
use super::settle::Pushed;
use super::Outcome;
use hubsync_core::salesforce::{CallError, SalesforceClient, SaveResult};
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
pub fn describe(client: Arc<SalesforceClient>, sync_id: i32, object: String) -> Outcome {
    Outcome::Described {
        sync_id,
        result: client.describe(&object),
    }
}

/// Sends one sObject Collections request.
pub fn push(client: Arc<SalesforceClient>, chunk: Chunk) -> Outcome {
    let result = send(&client, &chunk);
    Outcome::Pushed(Box::new(Pushed {
        finished_ms: now_ms(),
        api_usage: client.api_usage(),
        result,
        chunk,
    }))
}

fn send(client: &SalesforceClient, chunk: &Chunk) -> Result<Vec<SaveResult>, CallError> {
    let records: Vec<Map<String, Value>> = chunk
        .records
        .iter()
        .map(|r| with_id(r, chunk.kind))
        .collect();
    match chunk.kind {
        Kind::Create => client.create(&chunk.object, &records),
        Kind::Upsert => client.upsert(
            &chunk.object,
            chunk.external_id.as_deref().unwrap_or("Id"),
            &records,
        ),
        Kind::Update => client.update(&chunk.object, &records),
        Kind::Delete => {
            let ids: Vec<String> = chunk
                .records
                .iter()
                .filter_map(|r| r.remote_id.clone())
                .collect();
            client.delete(&ids)
        }
    }
}

fn with_id(record: &Record, kind: Kind) -> Map<String, Value> {
    let mut fields = record.payload.clone();
    if kind == Kind::Update {
        if let Some(id) = &record.remote_id {
            fields.insert("Id".into(), Value::String(id.clone()));
        }
    }
    fields
}

/// Looks doubtful creates up by their natural key.
pub fn reconcile(client: Arc<SalesforceClient>, sync_id: i32, lookups: Vec<Lookup>) -> Outcome {
    let found = lookups
        .into_iter()
        .map(|lookup| {
            let result = client.query_records(&lookup.soql).map(|records| {
                records
                    .iter()
                    .filter_map(|r| r.get("Id").and_then(Value::as_str).map(str::to_string))
                    .collect()
            });
            (lookup.record, result)
        })
        .collect();
    Outcome::Reconciled(Box::new(Reconciled { sync_id, found }))
}
