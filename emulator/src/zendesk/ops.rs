//! One record write as both the single-record endpoints and the bulk jobs perform it:
//! read the written JSON against the attribute table, then create, update, upsert or
//! delete in the store. Keeping it in one place makes a job's per-item result and the
//! plain endpoint's answer agree.

use super::record::{read_changes, Kind};
use super::store::{Store, WriteError};
use serde_json::{Map, Value as Json};

/// What an upsert did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Created(u64),
    Updated(u64),
}

/// Creates a record from its written JSON.
pub fn create(
    store: &mut Store,
    kind: Kind,
    body: &Map<String, Json>,
    now: i64,
) -> Result<u64, WriteError> {
    let changes = read_changes(kind, &store.schema, body).map_err(WriteError::Invalid)?;
    store
        .create(kind, &changes, now, None)
        .map_err(WriteError::Invalid)
}

/// Applies written JSON to the record `id`.
pub fn update(
    store: &mut Store,
    kind: Kind,
    id: u64,
    body: &Map<String, Json>,
    now: i64,
) -> Result<(), WriteError> {
    if store.get(kind, id).is_none() {
        return Err(WriteError::NotFound);
    }
    let changes = read_changes(kind, &store.schema, body).map_err(WriteError::Invalid)?;
    store.update(kind, id, &changes, now)
}

/// `create_or_update`: matches an existing record by `id` (organizations),
/// `external_id` (case-insensitive) or `email` (users), updates it, or creates one.
/// An organization's name is not a match key (reference §5): a new organization with
/// a taken name is a `DuplicateValue`.
pub fn upsert(
    store: &mut Store,
    kind: Kind,
    body: &Map<String, Json>,
    now: i64,
) -> Result<Outcome, WriteError> {
    match find(store, kind, body) {
        Some(id) => update(store, kind, id, body, now).map(|_| Outcome::Updated(id)),
        None => create(store, kind, body, now).map(Outcome::Created),
    }
}

fn find(store: &Store, kind: Kind, body: &Map<String, Json>) -> Option<u64> {
    let text = |key: &str| {
        body.get(key)
            .and_then(Json::as_str)
            .filter(|s| !s.is_empty())
    };
    let by_id = match kind {
        Kind::Organization => body
            .get("id")
            .and_then(Json::as_u64)
            .filter(|id| store.get(kind, *id).is_some()),
        Kind::User => None,
    };
    by_id
        .or_else(|| text("external_id").and_then(|e| store.by_external_id(kind, e)))
        .or_else(|| match kind {
            Kind::User => text("email").and_then(|e| store.user_by_email(e)),
            Kind::Organization => None,
        })
}

/// The details of a failed write as one sentence (a job result's `details`).
pub fn describe(error: &WriteError) -> String {
    match error {
        WriteError::NotFound => "Not found".into(),
        WriteError::Invalid(details) => super::errors::details_text(details),
    }
}
