//! Creating, checking, altering and removing syncs from JSON configs.
//!
//! These functions run as the extension owner (SECURITY DEFINER) so they can write the
//! catalog and install triggers, and check everything against the *calling* role.

use crate::api::hide_statement::handling_secrets;
use crate::capture::install::{self, CaptureSpec};
use crate::catalog::local_table::{self, FoundTable};
use crate::catalog::{credentials, syncs};
use crate::error::{raise, raise_problems, spi};
use crate::privilege;
use hubsync_core::config::{self as cfg, SyncConfig};
use hubsync_core::problem::{Problem, ProblemKind};
use pgrx::prelude::*;
use pgrx::{JsonB, PgSqlErrorCode};
use serde_json::Value;

const CHECK_HINT: &str =
    "SELECT * FROM hubsync.check_config('<config>') lists every problem at once.";

/// The role calling the API, not the extension owner the function runs as.
pub fn caller() -> pg_sys::Oid {
    unsafe { pg_sys::GetOuterUserId() }
}

/// A config validated against the database: parsed, its table found and checked.
struct Validated {
    config: SyncConfig,
    table: FoundTable,
}

/// Parses `json` and checks it against the local table as `role` sees it, and its remote
/// URLs against the network edge (https only, loopback excepted, unless
/// `hubsync.allow_http`); a table named without a schema is looked up in `search_path`.
fn validate(
    json: &Value,
    search_path: &[String],
    role: pg_sys::Oid,
) -> Result<Validated, Vec<Problem>> {
    let config = cfg::parse_sync(json)?;
    let mut problems =
        hubsync_core::net::check_endpoints(&config.remote, &crate::connection::network());
    let found = spi(
        local_table::find(
            config.local.schema.as_deref(),
            &config.local.table,
            search_path,
            role,
        ),
        "look up the local table",
    );
    let Some(table) = found else {
        problems.push(cfg::missing_table(&config.local));
        return Err(problems);
    };
    problems.extend(cfg::check_local(&config, &table.table));
    if problems.is_empty() {
        Ok(Validated { config, table })
    } else {
        Err(problems)
    }
}

fn validated_or_raise(json: &Value, search_path: &[String], role: pg_sys::Oid) -> Validated {
    validate(json, search_path, role)
        .unwrap_or_else(|problems| raise_problems("invalid hubsync config", &problems, CHECK_HINT))
}

/// Creates a sync from a JSON config (the product brief's blocks, combined) and returns its name.
///
/// A table named without a schema is looked up in `search_path`. Its default is evaluated
/// in the caller's context, so it is the caller's path: the function itself runs with a
/// fixed one, as SECURITY DEFINER functions must.
#[pg_extern(security_definer)]
#[search_path(@extschema@, pg_catalog, pg_temp)]
fn create_sync(
    config: JsonB,
    search_path: default!(Vec<String>, "pg_catalog.current_schemas(false)"),
) -> String {
    handling_secrets();
    create(&config.0, &search_path, caller())
}

/// Creates a sync from `config` for `role` (what `create_sync` and a hub do); returns its
/// name.
pub fn create(config: &Value, search_path: &[String], role: pg_sys::Oid) -> String {
    let Validated {
        config: sync,
        table,
    } = validated_or_raise(config, search_path, role);
    if spi(syncs::load(&sync.name), "read hubsync.sync").is_some() {
        raise_problems(
            "invalid hubsync config",
            &[Problem::new(
                ProblemKind::DuplicateObject,
                name_key(config),
                format!("a sync named \"{}\" already exists", sync.name),
            )],
            "Choose another \"name\", or change the existing sync with hubsync.alter_sync().",
        );
    }
    credentials::check_use(&sync.connection, role);
    let (stored, secret) = cfg::split_secrets(config);
    check_remote(&sync, &table, secret.as_ref(), role);
    if let Some(secret) = secret {
        credentials::store(&sync.connection, &secret, role);
    }
    let id = spi(
        syncs::insert(syncs::NewSync {
            name: &sync.name,
            connection: &sync.connection,
            remote_system: sync.remote.system.word(),
            remote_object: &sync.remote.object,
            local_table: table.oid,
            direction: sync.direction.label(),
            config: stored,
            owner: role,
        }),
        "store the sync",
    );
    install_triggers(id, &sync, &table);
    spi(
        start_from(id, &sync, &table, role),
        "prepare the first sync",
    );
    crate::shared::wake_database();
    sync.name
}

/// Checks the sync against the remote object when the remote system can be reached with the
/// given (or already stored, if `role` may use them) credentials; raises with every
/// problem found.
fn check_remote(sync: &SyncConfig, table: &FoundTable, secret: Option<&Value>, role: pg_sys::Oid) {
    let stored = match secret {
        Some(_) => None,
        None => spi(
            credentials::load(&sync.connection, role),
            "read the credentials",
        ),
    };
    let problems = super::remote_check::problems(sync, &table.table, secret.or(stored.as_ref()));
    if !problems.is_empty() {
        raise_problems(
            &format!(
                "the sync does not fit {} object {}",
                sync.remote.system.label(),
                sync.remote.object
            ),
            &problems,
            "Fix the field_mappings (hubsync.check_config lists config problems; the remote \
             system's describe of the object shows its fields).",
        );
    }
}

/// Where a new sync starts. With `initial_sync: full_load`, local rows that have no remote
/// id yet are queued for push (the remote records come with the full load); with `none`,
/// pulls start from now and only later changes flow. The rows are read as the sync's
/// owner (their RLS policies and column rights apply), in batches, and queued as hubsync.
fn start_from(
    id: i32,
    sync: &SyncConfig,
    table: &FoundTable,
    owner: pg_sys::Oid,
) -> pgrx::spi::SpiResult<()> {
    if sync.initial_sync == cfg::InitialSync::None {
        return crate::catalog::pull_state::start_from_now(id);
    }
    if !sync.direction.push {
        return Ok(());
    }
    let columns = crate::capture::install::captured_columns(sync);
    let unlinked = match sync.id_mapping() {
        Some(m) => format!("t.{} IS NULL", pgrx::spi::quote_identifier(&m.local)),
        None => "true".to_string(),
    };
    let read = format!(
        "SELECT jsonb_build_object('pk', {pk}, 'new', \
                (SELECT jsonb_object_agg(j.key, j.value) FROM jsonb_each(to_jsonb(t)) j WHERE j.key = ANY($1))) \
         FROM {table} t WHERE {unlinked}",
        pk = crate::catalog::keys::pk_array("t", &table.table.primary_key),
        table = table.qualified,
    );
    Spi::connect_mut(|client| {
        let mut cursor = privilege::as_role(owner, || client.open_cursor(&read, &[columns.into()]));
        loop {
            let batch: Vec<Value> = privilege::as_role(owner, || {
                cursor
                    .fetch(START_BATCH)?
                    .map(|row| {
                        row.get::<JsonB>(1)
                            .map(|j| j.map(|j| j.0).unwrap_or_default())
                    })
                    .collect::<pgrx::spi::SpiResult<_>>()
            })?;
            if batch.is_empty() {
                return Ok(());
            }
            client.update(
                "INSERT INTO hubsync.outbox (sync_id, op, pk, new) \
                 SELECT $1, 'I', e->'pk', e->'new' FROM jsonb_array_elements($2) e",
                None,
                &[id.into(), JsonB(Value::Array(batch)).into()],
            )?;
        }
    })
}

/// Rows queued per batch when a sync starts on a table that already has rows.
const START_BATCH: i64 = 10_000;

/// Asks the worker to pull now instead of waiting for the polling interval.
#[pg_extern(security_definer)]
#[search_path(@extschema@, pg_catalog, pg_temp)]
fn pull_now(sync: &str) {
    let row = managed_sync(sync, caller());
    crate::shared::request_pull(row.id);
}

/// The key a sync's name comes from: `name`, else `connection_name`; `name` is also where
/// a derived name is overridden.
fn name_key(json: &Value) -> &'static str {
    if json.get("name").is_none() && json.get("connection_name").is_some() {
        "connection_name"
    } else {
        "name"
    }
}

/// Every problem of a config at once, without creating anything (`search_path` as in
/// `create_sync`).
#[pg_extern(security_definer)]
#[search_path(@extschema@, pg_catalog, pg_temp)]
fn check_config(
    config: JsonB,
    search_path: default!(Vec<String>, "pg_catalog.current_schemas(false)"),
) -> TableIterator<
    'static,
    (
        name!(path, String),
        name!(problem, String),
        name!(sqlstate, String),
    ),
> {
    handling_secrets();
    let problems = validate(&config.0, &search_path, caller())
        .err()
        .unwrap_or_default();
    TableIterator::new(
        problems
            .into_iter()
            .map(|p| (p.path, p.message, p.kind.sqlstate().to_string())),
    )
}

/// Merges `patch` (RFC 7386) into a sync's config, re-validates it whole, and applies it.
/// A table named without a schema is looked up in the schema of the sync's table.
#[pg_extern(security_definer)]
#[search_path(@extschema@, pg_catalog, pg_temp)]
fn alter_sync(name: &str, patch: JsonB) {
    handling_secrets();
    let role = caller();
    let row = managed_sync_locked(name, role);
    let merged = cfg::merge_patch(&row.config, &patch.0);
    let Validated {
        config: sync,
        table,
    } = validated_or_raise(&merged, &[table_schema(&row)], role);
    if sync.name != row.name {
        raise(
            PgSqlErrorCode::ERRCODE_FEATURE_NOT_SUPPORTED,
            format!("alter_sync cannot rename sync \"{}\"", row.name),
            "Drop the sync and create it again under the new name.",
        );
    }
    if sync.remote.object != row.remote_object {
        raise(
            PgSqlErrorCode::ERRCODE_FEATURE_NOT_SUPPORTED,
            format!(
                "alter_sync cannot move sync \"{}\" from {} to another remote object",
                row.name, row.remote_object
            ),
            "Drop the sync and create a new one for the other object.",
        );
    }
    if table.oid != row.local_table {
        raise(
            PgSqlErrorCode::ERRCODE_FEATURE_NOT_SUPPORTED,
            format!(
                "alter_sync cannot move sync \"{}\" to another table",
                row.name
            ),
            "Drop the sync and create a new one for the other table.",
        );
    }
    credentials::check_use(&sync.connection, role);
    let (stored, secret) = cfg::split_secrets(&merged);
    check_remote(&sync, &table, secret.as_ref(), role);
    if let Some(secret) = secret {
        credentials::store(&sync.connection, &secret, role);
    }
    spi(
        syncs::update_config(row.id, &sync.connection, sync.direction.label(), stored),
        "update the sync",
    );
    install_triggers(row.id, &sync, &table);
    crate::shared::wake_database();
}

/// Removes a sync, its triggers and its pending changes.
#[pg_extern(security_definer)]
#[search_path(@extschema@, pg_catalog, pg_temp)]
fn drop_sync(name: &str) {
    remove(name, caller());
}

/// Removes the sync `name` for `role` (what `drop_sync` and `drop_hub` do).
pub fn remove(name: &str, role: pg_sys::Oid) {
    let row = managed_sync_locked(name, role);
    let table = spi(
        local_table::qualified_name(row.local_table),
        "find the sync's table",
    );
    if let Some(table) = table {
        spi(
            install::remove(row.id, &table),
            "remove the sync's triggers",
        );
    }
    let pending = spi(syncs::delete(row.id), "delete the sync");
    if pending > 0 {
        notice!(
            "sync \"{name}\" had {pending} captured changes not yet pushed; they were discarded"
        );
    }
}

/// Stops pushing and pulling; changes keep being captured and wait in the outbox.
#[pg_extern(security_definer)]
#[search_path(@extschema@, pg_catalog, pg_temp)]
fn pause_sync(name: &str) {
    let row = managed_sync_locked(name, caller());
    spi(syncs::set_state(row.id, "paused"), "pause the sync");
}

/// Resumes a paused sync; what was captured meanwhile is pushed.
#[pg_extern(security_definer)]
#[search_path(@extschema@, pg_catalog, pg_temp)]
fn resume_sync(name: &str) {
    let row = managed_sync_locked(name, caller());
    spi(syncs::set_state(row.id, "active"), "resume the sync");
    crate::shared::wake_database();
}

/// Like [`managed_sync`], with the sync's row locked until the transaction ends: what
/// changes or removes a sync waits for the worker's transaction that writes for it, and the
/// worker's next one sees the change.
fn managed_sync_locked(name: &str, role: pg_sys::Oid) -> syncs::SyncRow {
    let row = managed_sync(name, role);
    spi(syncs::lock(row.id), "lock the sync").unwrap_or_else(|| {
        raise(
            PgSqlErrorCode::ERRCODE_UNDEFINED_OBJECT,
            format!("hubsync sync \"{name}\" was dropped meanwhile"),
            "SELECT name FROM hubsync.syncs lists the syncs.",
        )
    })
}

/// The sync called `name`, if `role` may manage it; raises otherwise.
pub fn managed_sync(name: &str, role: pg_sys::Oid) -> syncs::SyncRow {
    let Some(row) = spi(syncs::load(name), "read hubsync.sync") else {
        raise(
            PgSqlErrorCode::ERRCODE_UNDEFINED_OBJECT,
            format!("hubsync sync \"{name}\" does not exist"),
            "SELECT name FROM hubsync.syncs lists the syncs.",
        );
    };
    if !spi(syncs::may_manage(role, row.owner), "check privileges") {
        raise(
            PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE,
            format!("permission denied for hubsync sync \"{name}\""),
            "Only the role that created the sync (or a member of it) can change it.",
        );
    }
    row
}

/// The schema of the sync's table, where its config's unqualified table name points.
fn table_schema(row: &syncs::SyncRow) -> String {
    let schema = spi(
        local_table::schema_of(row.local_table),
        "find the sync's table",
    );
    schema.unwrap_or_else(|| {
        raise(
            PgSqlErrorCode::ERRCODE_UNDEFINED_TABLE,
            format!("the table of sync \"{}\" no longer exists", row.name),
            "Drop the sync with hubsync.drop_sync() and create it again for the new table.",
        )
    })
}

fn install_triggers(id: i32, sync: &SyncConfig, table: &FoundTable) {
    let captured = crate::capture::install::captured_columns(sync);
    spi(
        install::install(&CaptureSpec {
            sync_id: id,
            table: &table.qualified,
            system: "salesforce",
            primary_key: &table.table.primary_key,
            captured: &captured,
            pushes: sync.direction.push,
        }),
        "install the capture trigger",
    );
}
