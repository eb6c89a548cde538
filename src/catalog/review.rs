//! `hubsync.review`: records that need a person. One open item per record and kind;
//! a repeated failure updates it instead of piling up duplicates.

use pgrx::prelude::*;
use pgrx::spi::SpiResult;
use pgrx::JsonB;
use serde::Serialize;
use serde_json::Value;

/// Why a record needs review, as stored in `review.kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// The remote system refused it (validation, duplicate...) or retries ran out.
    Error,
    /// A validation rule rejected it before it was sent.
    Rejected,
    /// Both sides changed it and the policy is `manual`.
    Conflict,
    /// It bounced between the systems more than `loop_prevention` allows.
    Loop,
    /// A create may or may not have reached the remote system.
    UnknownOutcome,
    /// A pulled value could not be stored locally.
    ApplyError,
}

/// A new review item.
#[derive(Debug, Clone, Serialize)]
pub struct Item {
    pub pk: Value,
    pub remote_id: Option<String>,
    pub operation: String,
    pub kind: Kind,
    /// What hubsync tried to write (local values, or the remote values for pulls).
    pub payload: Value,
    /// The other side's version, for conflicts.
    pub remote_values: Option<Value>,
    pub error_code: Option<String>,
    pub error_message: String,
    pub attempts: i32,
    pub outbox_ids: Vec<i64>,
}

/// Opens review items, or refreshes the open item of the same record and kind (a record
/// known only remotely, like a pulled value the table refused, by its remote id).
pub fn add(sync_id: i32, items: &[Item]) -> SpiResult<()> {
    if items.is_empty() {
        return Ok(());
    }
    let json = serde_json::to_value(items).unwrap_or(Value::Null);
    Spi::run_with_args(
        "WITH e AS ( \
             SELECT x.* FROM jsonb_to_recordset($2) AS x(pk jsonb, remote_id text, operation text, kind text, \
                 payload jsonb, remote_values jsonb, error_code text, error_message text, attempts int, \
                 outbox_ids bigint[])), \
         refreshed AS ( \
             UPDATE hubsync.review r SET last_seen = now(), attempts = r.attempts + e.attempts, \
                 operation = e.operation, payload = e.payload, remote_values = e.remote_values, \
                 error_code = e.error_code, error_message = e.error_message, \
                 remote_id = coalesce(e.remote_id, r.remote_id), outbox_ids = r.outbox_ids || e.outbox_ids \
             FROM e WHERE r.sync_id = $1 AND r.kind = e.kind AND \
                 (r.pk = e.pk OR (r.pk IS NULL AND e.pk IS NULL AND r.remote_id = e.remote_id)) \
             RETURNING r.pk, r.remote_id, r.kind) \
         INSERT INTO hubsync.review (sync_id, pk, remote_id, operation, kind, payload, remote_values, \
                                     error_code, error_message, attempts, outbox_ids) \
         SELECT $1, e.pk, e.remote_id, e.operation, e.kind, e.payload, e.remote_values, e.error_code, \
                e.error_message, e.attempts, e.outbox_ids FROM e \
         WHERE NOT EXISTS (SELECT 1 FROM refreshed f WHERE f.kind = e.kind AND \
             (f.pk = e.pk OR (f.pk IS NULL AND e.pk IS NULL AND f.remote_id = e.remote_id)))",
        &[sync_id.into(), JsonB(json).into()],
    )
}

/// Closes the error items of records that have since synced successfully.
pub fn resolve_errors(sync_id: i32, pks: &[Value]) -> SpiResult<()> {
    if pks.is_empty() {
        return Ok(());
    }
    Spi::run_with_args(
        "DELETE FROM hubsync.review WHERE sync_id = $1 \
         AND kind IN ('error', 'rejected', 'unknown_outcome') \
         AND pk IN (SELECT value FROM jsonb_array_elements($2))",
        &[sync_id.into(), JsonB(Value::Array(pks.to_vec())).into()],
    )
}
