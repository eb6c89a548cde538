//! Rows of `hubsync.sync` and the companion rows every sync has.

use pgrx::prelude::*;
use pgrx::spi::SpiResult;
use pgrx::JsonB;
use serde_json::Value;

/// A stored sync.
pub struct SyncRow {
    pub id: i32,
    pub name: String,
    pub remote_object: String,
    pub local_table: pg_sys::Oid,
    pub owner: pg_sys::Oid,
    /// The config as the user wrote it, minus secrets.
    pub config: Value,
}

/// A new sync to store.
pub struct NewSync<'a> {
    pub name: &'a str,
    pub connection: &'a str,
    pub remote_system: &'a str,
    pub remote_object: &'a str,
    pub local_table: pg_sys::Oid,
    pub direction: &'a str,
    pub config: Value,
    pub owner: pg_sys::Oid,
}

/// The sync called `name`, if any.
pub fn load(name: &str) -> SpiResult<Option<SyncRow>> {
    load_where("name = $1", name.into())
}

/// Locks the sync's row until the transaction ends, so no worker transaction writes for it
/// meanwhile (see `worker::fence`), and returns it as it is now.
pub fn lock(id: i32) -> SpiResult<Option<SyncRow>> {
    load_where("id = $1 FOR UPDATE", id.into())
}

fn load_where(condition: &str, arg: pgrx::datum::DatumWithOid<'_>) -> SpiResult<Option<SyncRow>> {
    Spi::connect(|client| {
        let rows = client.select(
            &format!(
                "SELECT id, name, remote_object, local_table::oid, owner::oid, config \
                 FROM hubsync.sync WHERE {condition}"
            ),
            None,
            &[arg],
        )?;
        if rows.is_empty() {
            return Ok(None);
        }
        let row = rows.first();
        Ok(Some(SyncRow {
            id: row.get(1)?.unwrap_or_default(),
            name: row.get(2)?.unwrap_or_default(),
            remote_object: row.get(3)?.unwrap_or_default(),
            local_table: row.get(4)?.unwrap_or(pg_sys::InvalidOid),
            owner: row.get(5)?.unwrap_or(pg_sys::InvalidOid),
            config: row.get::<JsonB>(6)?.map(|j| j.0).unwrap_or(Value::Null),
        }))
    })
}

/// Stores a new sync with its stats and pull-state rows; returns its id.
pub fn insert(sync: NewSync) -> SpiResult<i32> {
    let id = Spi::get_one_with_args::<i32>(
        "INSERT INTO hubsync.sync (name, connection, remote_system, remote_object, local_table, \
                                   direction, config, owner) \
         VALUES ($1, $2, $3, $4, $5::oid::regclass, $6, $7, $8::oid::regrole) RETURNING id",
        &[
            sync.name.into(),
            sync.connection.into(),
            sync.remote_system.into(),
            sync.remote_object.into(),
            sync.local_table.into(),
            sync.direction.into(),
            JsonB(sync.config).into(),
            sync.owner.into(),
        ],
    )?
    .unwrap_or_default();
    for table in ["sync_stats", "pull_state"] {
        Spi::run_with_args(
            &format!("INSERT INTO hubsync.{table} (sync_id) VALUES ($1)"),
            &[id.into()],
        )?;
    }
    Ok(id)
}

/// Replaces a sync's config and what is derived from it: direction and connection.
pub fn update_config(id: i32, connection: &str, direction: &str, config: Value) -> SpiResult<()> {
    Spi::run_with_args(
        "UPDATE hubsync.sync SET config = $2, direction = $3, connection = $4, updated_at = now() \
         WHERE id = $1",
        &[
            id.into(),
            JsonB(config).into(),
            direction.into(),
            connection.into(),
        ],
    )
}

/// Sets `active` or `paused`.
pub fn set_state(id: i32, state: &str) -> SpiResult<()> {
    Spi::run_with_args(
        "UPDATE hubsync.sync SET state = $2, updated_at = now() WHERE id = $1",
        &[id.into(), state.into()],
    )
}

/// Removes a sync and everything kept for it; returns how many captured changes were pending.
pub fn delete(id: i32) -> SpiResult<i64> {
    let pending = Spi::get_one_with_args::<i64>(
        "WITH gone AS (DELETE FROM hubsync.outbox WHERE sync_id = $1 RETURNING 1) SELECT count(*) FROM gone",
        &[id.into()],
    )?
    .unwrap_or(0);
    for table in [
        "record_state",
        "review",
        "conflict_log",
        "sync_stats",
        "pull_state",
        "bulk_job",
        "metric",
        "alert",
        "log",
        "notification",
    ] {
        Spi::run_with_args(
            &format!("DELETE FROM hubsync.{table} WHERE sync_id = $1"),
            &[id.into()],
        )?;
    }
    Spi::run_with_args("DELETE FROM hubsync.sync WHERE id = $1", &[id.into()])?;
    Ok(pending)
}

/// Whether `role` may manage a sync owned by `owner` (member of the owner role, or superuser).
pub fn may_manage(role: pg_sys::Oid, owner: pg_sys::Oid) -> SpiResult<bool> {
    Ok(Spi::get_one_with_args::<bool>(
        "SELECT pg_has_role($1, $2, 'USAGE')",
        &[role.into(), owner.into()],
    )?
    .unwrap_or(false))
}
