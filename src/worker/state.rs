//! `hubsync.record_state`: per synced record, its remote id, the values both sides last
//! agreed on, and where it stands. Every write here is one set-based statement per batch.

use hubsync_core::coalesce::Values;
use pgrx::prelude::*;
use pgrx::spi::SpiResult;
use pgrx::JsonB;
use serde_json::{json, Map, Value};
use std::collections::HashMap;

/// What is known about one record.
#[derive(Debug, Clone, Default)]
pub struct Known {
    pub remote_id: Option<String>,
    /// Local column → value last agreed by both sides.
    pub base: Values,
    /// The record's loop-prevention memory.
    pub loop_history: Option<Value>,
}

/// Canonical text of a primary key, for in-memory maps.
pub fn key(pk: &Value) -> String {
    pk.to_string()
}

/// The state of these records, by [`key`].
pub fn load(sync_id: i32, pks: &[Value]) -> SpiResult<HashMap<String, Known>> {
    if pks.is_empty() {
        return Ok(HashMap::new());
    }
    Spi::connect(|client| {
        client
            .select(
                "SELECT pk, remote_id, loop_history, base FROM hubsync.record_state \
                 WHERE sync_id = $1 AND pk IN (SELECT value FROM jsonb_array_elements($2))",
                None,
                &[sync_id.into(), JsonB(Value::Array(pks.to_vec())).into()],
            )?
            .map(|row| {
                let pk = row.get::<JsonB>(1)?.map(|j| j.0).unwrap_or(Value::Null);
                let base = match row.get::<JsonB>(4)?.map(|j| j.0) {
                    Some(Value::Object(m)) => m.into_iter().collect(),
                    _ => Values::new(),
                };
                let known = Known {
                    remote_id: row.get(2)?,
                    loop_history: row.get::<JsonB>(3)?.map(|j| j.0),
                    base,
                };
                Ok((key(&pk), known))
            })
            .collect()
    })
}

/// A record that reached the remote system: its id and the values now agreed.
pub struct Synced {
    pub pk: Value,
    pub remote_id: Option<String>,
    /// Merged into the stored base (only the columns this operation settled); `None` for
    /// a sync that never pulls, which keeps no agreed values (nothing merges against them).
    pub agreed: Option<Map<String, Value>>,
    pub op: &'static str,
}

/// Records successful operations; clears retries and errors.
pub fn synced(sync_id: i32, records: &[Synced]) -> SpiResult<()> {
    if records.is_empty() {
        return Ok(());
    }
    let rows: Vec<Value> = records
        .iter()
        .map(|r| json!({"pk": r.pk, "remote_id": r.remote_id, "base": r.agreed, "op": r.op}))
        .collect();
    Spi::run_with_args(
        "INSERT INTO hubsync.record_state AS s (sync_id, pk, remote_id, base, last_op, state) \
         SELECT $1, e->'pk', e->>'remote_id', nullif(e->'base', 'null'), e->>'op', 'synced' \
         FROM jsonb_array_elements($2) e \
         ON CONFLICT (sync_id, pk) DO UPDATE SET \
             remote_id = coalesce(EXCLUDED.remote_id, s.remote_id), \
             base = CASE WHEN EXCLUDED.base IS NULL THEN s.base \
                         ELSE coalesce(s.base, '{}') || EXCLUDED.base END, \
             last_op = EXCLUDED.last_op, state = 'synced', last_error = NULL, retry_at = NULL, \
             updated_at = now()",
        &[sync_id.into(), JsonB(Value::Array(rows)).into()],
    )
}

/// Records that no longer exist on either side.
pub fn forget(sync_id: i32, pks: &[Value]) -> SpiResult<()> {
    if pks.is_empty() {
        return Ok(());
    }
    Spi::run_with_args(
        "DELETE FROM hubsync.record_state WHERE sync_id = $1 \
         AND pk IN (SELECT value FROM jsonb_array_elements($2))",
        &[sync_id.into(), JsonB(Value::Array(pks.to_vec())).into()],
    )
}

/// A record whose last operation failed: `retry_in` seconds until the next attempt, or
/// `None` when it went to the review queue.
pub struct Failed {
    pub pk: Value,
    pub op: &'static str,
    pub error: String,
    pub retry_in: Option<f64>,
}

/// Records failures: retrying records are held back until their time comes.
pub fn failed(sync_id: i32, records: &[Failed]) -> SpiResult<()> {
    if records.is_empty() {
        return Ok(());
    }
    let rows: Vec<Value> = records
        .iter()
        .map(|r| json!({"pk": r.pk, "op": r.op, "error": r.error, "retry_in": r.retry_in}))
        .collect();
    Spi::run_with_args(
        "INSERT INTO hubsync.record_state AS s (sync_id, pk, last_op, state, last_error, retry_at) \
         SELECT $1, e->'pk', e->>'op', \
                CASE WHEN e->'retry_in' = 'null' THEN 'failed' ELSE 'retrying' END, e->>'error', \
                now() + make_interval(secs => (e->>'retry_in')::float8) \
         FROM jsonb_array_elements($2) e \
         ON CONFLICT (sync_id, pk) DO UPDATE SET \
             last_op = EXCLUDED.last_op, state = EXCLUDED.state, last_error = EXCLUDED.last_error, \
             retry_at = EXCLUDED.retry_at, updated_at = now()",
        &[sync_id.into(), JsonB(Value::Array(rows)).into()],
    )
}
