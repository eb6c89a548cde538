//! `hubsync.resolve`: a person decides a conflict the sync's `manual` policy parked.

use crate::api::config::{caller, managed_sync};
use crate::catalog::rows::{update, Target};
use crate::error::{raise, spi};
use hubsync_core::coalesce::Values;
use pgrx::prelude::*;
use pgrx::spi::SpiResult;
use pgrx::{JsonB, PgSqlErrorCode};
use serde_json::{json, Value};

/// Which version of a conflicted record wins.
enum Choice {
    /// Keep the local changes (they are pushed); remote-only changes still apply locally.
    Local,
    /// Take the remote version; the local changes are dropped.
    Remote,
    /// These values (local column → value) on both sides.
    Merged(Values),
}

/// Resolves a conflict with `'local'` or `'remote'`.
#[pg_extern(security_definer, name = "resolve")]
#[search_path(@extschema@, pg_catalog, pg_temp)]
fn resolve_choice(id: i64, choice: &str) {
    match choice {
        "local" => resolve_with(id, Choice::Local),
        "remote" => resolve_with(id, Choice::Remote),
        other => raise(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!("unknown choice \"{other}\""),
            "Choose 'local', 'remote', or pass the merged values as jsonb, e.g. '{\"industry_type\": \"Energy\"}'::jsonb.",
        ),
    }
}

/// Resolves a conflict with merged values (local column → value), written to both sides.
#[pg_extern(security_definer, name = "resolve")]
#[search_path(@extschema@, pg_catalog, pg_temp)]
fn resolve_merged(id: i64, merged: JsonB) {
    match merged.0 {
        Value::Object(values) => resolve_with(id, Choice::Merged(values.into_iter().collect())),
        _ => raise(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            "merged values must be a JSON object of column names to values",
            "For example: SELECT hubsync.resolve(42, '{\"industry_type\": \"Energy\"}'::jsonb);",
        ),
    }
}

/// The conflict item, as stored in `hubsync.review`.
struct Conflict {
    sync: String,
    sync_id: i32,
    pk: Value,
    local: Values,
    remote: Values,
}

fn resolve_with(id: i64, choice: Choice) {
    let conflict = spi(load(id), "read the review item");
    let sync = managed_sync(&conflict.sync, caller());
    let config = hubsync_core::config::parse_sync(&sync.config).unwrap_or_else(|problems| {
        crate::error::raise_problems(
            "the stored config no longer validates",
            &problems,
            "Fix it with hubsync.alter_sync().",
        )
    });
    let mapped: Vec<String> = config.mappings.iter().map(|m| m.local.clone()).collect();
    let (to_local, push) = match choice {
        Choice::Local => (without(&conflict.remote, &conflict.local), None),
        Choice::Remote => (conflict.remote.clone(), Some(Values::new())),
        Choice::Merged(values) => {
            if let Some(bad) = values.keys().find(|c| !mapped.contains(c)) {
                raise(
                    PgSqlErrorCode::ERRCODE_UNDEFINED_COLUMN,
                    format!(
                        "column \"{bad}\" is not mapped by sync \"{}\"",
                        conflict.sync
                    ),
                    format!("Mapped columns: {}", mapped.join(", ")),
                );
            }
            let mut merged = conflict.remote.clone();
            merged.extend(values.clone());
            (merged, Some(values))
        }
    };
    let table = spi(
        crate::catalog::local_table::describe(sync.local_table, sync.owner),
        "read the table",
    );
    let target = Target {
        owner: sync.owner,
        qualified: &table.qualified,
        table: &table.table,
        columns: mapped,
        id_column: String::new(),
    };
    spi(
        apply(&conflict, &target, &to_local, push),
        "apply the resolution",
    );
    spi(close(id, &conflict), "close the review item");
    crate::shared::wake_database();
}

fn load(id: i64) -> SpiResult<Conflict> {
    let found = crate::catalog::optional(Spi::connect(|client| {
        let row = client
            .select(
                "SELECT s.name, r.sync_id, r.pk, r.payload, r.remote_values, r.kind \
                 FROM hubsync.review r JOIN hubsync.sync s ON s.id = r.sync_id WHERE r.id = $1",
                None,
                &[id.into()],
            )?
            .first();
        let kind: Option<String> = row.get(6)?;
        Ok(kind
            .filter(|k| k == "conflict")
            .map(|_| -> SpiResult<Conflict> {
                Ok(Conflict {
                    sync: row.get(1)?.unwrap_or_default(),
                    sync_id: row.get(2)?.unwrap_or_default(),
                    pk: row.get::<JsonB>(3)?.map(|j| j.0).unwrap_or_default(),
                    local: object(row.get::<JsonB>(4)?),
                    remote: object(row.get::<JsonB>(5)?),
                })
            }))
    }))?;
    match found {
        Some(conflict) => conflict,
        None => raise(
            PgSqlErrorCode::ERRCODE_UNDEFINED_OBJECT,
            format!("review item {id} is not an open conflict"),
            "SELECT id, kind FROM hubsync.review_queue lists the open items; retry or discard the others.",
        ),
    }
}

fn object(json: Option<JsonB>) -> Values {
    match json.map(|j| j.0) {
        Some(Value::Object(map)) => map.into_iter().collect(),
        _ => Values::new(),
    }
}

/// `values` minus the columns `other` names.
fn without(values: &Values, other: &Values) -> Values {
    values
        .iter()
        .filter(|(k, _)| !other.contains_key(*k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// Writes the chosen values into the row without capturing them, and replaces the
/// record's pending changes by what must still reach the remote system (`None`: keep them).
fn apply(
    conflict: &Conflict,
    target: &Target,
    to_local: &Values,
    push: Option<Values>,
) -> SpiResult<()> {
    let previous = Spi::get_one::<String>("SELECT current_setting('hubsync.origin', true)")?;
    crate::capture::origin::set(conflict.sync_id)?;
    if !to_local.is_empty() {
        update(target, &[(conflict.pk.clone(), to_local.clone())])?;
    }
    Spi::run_with_args(
        "SELECT set_config('hubsync.origin', coalesce($1, ''), true)",
        &[previous.into()],
    )?;
    let Some(push) = push else {
        return Ok(());
    };
    Spi::run_with_args(
        "DELETE FROM hubsync.outbox WHERE sync_id = $1 AND pk = $2",
        &[conflict.sync_id.into(), JsonB(conflict.pk.clone()).into()],
    )?;
    if push.is_empty() {
        return Ok(());
    }
    Spi::run_with_args(
        "INSERT INTO hubsync.outbox (sync_id, op, pk, new, old) VALUES ($1, 'U', $2, $3, '{}')",
        &[
            conflict.sync_id.into(),
            JsonB(conflict.pk.clone()).into(),
            JsonB(json!(push)).into(),
        ],
    )
}

/// Releases the record's hold and closes the item. Salesforce still holds the remote
/// version until the pending push (if any) lands, so that is the agreed base for now.
fn close(id: i64, conflict: &Conflict) -> SpiResult<()> {
    Spi::run_with_args(
        "UPDATE hubsync.record_state SET retry_at = NULL, state = 'synced', last_error = NULL, \
             loop_history = NULL, base = coalesce(base, '{}') || $3, updated_at = now() \
         WHERE sync_id = $1 AND pk = $2",
        &[
            conflict.sync_id.into(),
            JsonB(conflict.pk.clone()).into(),
            JsonB(json!(conflict.remote)).into(),
        ],
    )?;
    Spi::run_with_args("DELETE FROM hubsync.review WHERE id = $1", &[id.into()])?;
    Ok(())
}
