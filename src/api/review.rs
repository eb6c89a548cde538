//! Working the review queue: retry a record, retry a whole sync, or discard an item.

use crate::api::config::{caller, managed_sync};
use crate::error::{raise, spi};
use pgrx::prelude::*;
use pgrx::spi::SpiResult;
use pgrx::{JsonB, PgSqlErrorCode};
use serde_json::Value;

/// One open review item and the sync it belongs to.
struct Open {
    sync_name: String,
    kind: String,
}

fn open_item(id: i64) -> Open {
    let found = spi(
        crate::catalog::optional(Spi::get_two_with_args::<String, String>(
            "SELECT s.name, r.kind FROM hubsync.review r JOIN hubsync.sync s ON s.id = r.sync_id WHERE r.id = $1",
            &[id.into()],
        )),
        "read hubsync.review",
    );
    match found {
        (Some(sync_name), Some(kind)) => Open { sync_name, kind },
        _ => raise(
            PgSqlErrorCode::ERRCODE_UNDEFINED_OBJECT,
            format!("review item {id} does not exist"),
            "SELECT id FROM hubsync.review_queue lists the open items.",
        ),
    }
}

/// Sends a record again as it is now (after you fixed the row, or the remote system's
/// rules), and closes its review item.
#[pg_extern(security_definer)]
#[search_path(@extschema@, pg_catalog, pg_temp)]
fn retry(id: i64) -> bool {
    let item = open_item(id);
    let sync = managed_sync(&item.sync_name, caller());
    if item.kind == "conflict" {
        raise(
            PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
            format!("review item {id} is a conflict; choose a version instead of retrying"),
            "SELECT hubsync.resolve(id, 'local' | 'remote' | '{...merged values...}')",
        );
    }
    let queued = spi(requeue(&sync, Some(id)), "queue the record again");
    crate::shared::wake_database();
    queued > 0
}

/// Retries every retryable open item of a sync; returns how many records were queued.
#[pg_extern(security_definer)]
#[search_path(@extschema@, pg_catalog, pg_temp)]
fn retry_all(sync: &str) -> i64 {
    let row = managed_sync(sync, caller());
    let queued = spi(requeue(&row, None), "queue the records again");
    crate::shared::wake_database();
    queued
}

/// Closes a review item without sending anything.
#[pg_extern(security_definer)]
#[search_path(@extschema@, pg_catalog, pg_temp)]
fn discard(id: i64) {
    let item = open_item(id);
    managed_sync(&item.sync_name, caller());
    // A record held for this item (a manual conflict, a loop) syncs again from now on; its
    // pending changes stay queued and are sent.
    spi(
        Spi::run_with_args(
            "WITH gone AS (DELETE FROM hubsync.review WHERE id = $1 RETURNING sync_id, pk) \
             UPDATE hubsync.record_state s SET retry_at = NULL, state = 'synced', loop_history = NULL \
             FROM gone WHERE s.sync_id = gone.sync_id AND s.pk = gone.pk AND s.retry_at = 'infinity'",
            &[id.into()],
        ),
        "discard the item",
    );
    crate::shared::wake_database();
}

/// Queues a fresh change for the records of the given item (or of every non-conflict
/// item of the sync): the row's current captured values as an update, or a delete when
/// the row is gone. The worker creates records it finds missing remotely. The rows are
/// read as the sync's owner.
fn requeue(sync: &crate::catalog::syncs::SyncRow, item: Option<i64>) -> SpiResult<i64> {
    let (table, columns, pk) = capture_shape(sync)?;
    let keys: Vec<Value> = Spi::connect_mut(|client| {
        client
            .update(
                "DELETE FROM hubsync.review r WHERE r.sync_id = $1 AND ($2::int8 IS NULL OR r.id = $2) \
                   AND r.kind <> 'conflict' AND r.pk IS NOT NULL RETURNING r.pk",
                None,
                &[sync.id.into(), item.into()],
            )?
            .map(|row| row.get::<JsonB>(1).map(|j| j.map(|j| j.0).unwrap_or_default()))
            .collect::<pgrx::spi::SpiResult<Vec<Value>>>()
    })?;
    if keys.is_empty() {
        return Ok(0);
    }
    let keys = Value::Array(keys);
    let rows = crate::privilege::as_role(sync.owner, || {
        Spi::get_one_with_args::<JsonB>(
            &format!(
                "SELECT coalesce(jsonb_agg(jsonb_build_object('pk', {pk_array}, 'new', \
                        (SELECT jsonb_object_agg(j.key, j.value) FROM jsonb_each(to_jsonb(t)) j \
                         WHERE j.key = ANY($2)))), '[]') \
                 FROM {table} t WHERE {pk_array} IN (SELECT value FROM jsonb_array_elements($1))",
                pk_array = crate::catalog::keys::pk_array("t", &pk),
            ),
            &[JsonB(keys.clone()).into(), columns.into()],
        )
    })?;
    let queued = Spi::get_one_with_args::<i64>(
        "WITH keys AS (SELECT DISTINCT value AS pk FROM jsonb_array_elements($2)), \
              rows AS (SELECT e->'pk' AS pk, e->'new' AS new FROM jsonb_array_elements($3) e), \
              cleared AS ( \
                  UPDATE hubsync.record_state s SET retry_at = NULL, state = 'queued', loop_history = NULL \
                  WHERE s.sync_id = $1 AND s.pk IN (SELECT pk FROM keys)), \
              queued AS ( \
                  INSERT INTO hubsync.outbox (sync_id, op, pk, new, old) \
                  SELECT $1, CASE WHEN r.pk IS NULL THEN 'D' ELSE 'U' END, k.pk, r.new, '{}'::jsonb \
                  FROM keys k LEFT JOIN rows r ON r.pk = k.pk RETURNING 1) \
         SELECT count(*) FROM queued",
        &[sync.id.into(), JsonB(keys).into(), rows.into()],
    )?;
    Ok(queued.unwrap_or(0))
}

/// The sync's table, captured columns and primary key.
fn capture_shape(
    sync: &crate::catalog::syncs::SyncRow,
) -> SpiResult<(String, Vec<String>, Vec<String>)> {
    let config = hubsync_core::config::parse_sync(&sync.config).unwrap_or_else(|problems| {
        crate::error::raise_problems(
            &format!(
                "the stored config of sync \"{}\" no longer validates",
                sync.name
            ),
            &problems,
            "Fix it with hubsync.alter_sync() first.",
        )
    });
    let found = crate::catalog::local_table::describe(sync.local_table, sync.owner)?;
    Ok((
        found.qualified,
        crate::capture::install::captured_columns(&config),
        found.table.primary_key,
    ))
}
