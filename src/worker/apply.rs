//! Pull, second half: a fetched page applied to the local table in one transaction.
//!
//! Each record is mapped to local values, then compared with what both sides last agreed
//! on (`record_state.base`) and with local changes still waiting in the outbox: a remote
//! echo of our own push changes nothing; a remote change alone is applied; changes on both
//! sides are merged field by field, and fields changed on both are decided by the sync's
//! conflict policy. The writes are set-based; if the table refuses one of them, the page
//! is applied again record by record so one bad value only parks its own record.

use super::guard::{Guards, Way};
use super::link::{self, Unlinked};
use super::runtime::Runtime;
use super::subxact;
use crate::catalog::keys;
use crate::catalog::review::{self, Item, Kind as ReviewKind};
use crate::catalog::rows::{prefixed, update, Target};
use hubsync_core::coalesce::Values;
use hubsync_core::config::{LogLevel, Side, SyncConfig};
use hubsync_core::conflict::{self, ConflictRecord, PendingChange, Versions, Writer};
use hubsync_core::connector::ChangePage;
use hubsync_core::mapping::Mapper;
use hubsync_core::pull::{self, Mode, Phase};
use hubsync_core::timestamp::Timestamp;
use pgrx::prelude::*;
use pgrx::spi::{quote_identifier, SpiResult};
use pgrx::JsonB;
use serde_json::{json, Map, Value};
use std::collections::{HashMap, HashSet};

/// What a reviewer reads about a record the `manual` policy held.
pub const MANUAL_CONFLICT: &str =
    "both sides changed this record and the sync's policy is manual; \
    choose with hubsync.resolve(id, 'local' | 'remote' | '{...merged values...}')";

/// A remote record of the page, mapped.
struct Incoming {
    remote_id: String,
    /// Local column → value, ready for the table.
    values: Values,
    /// The remote record as the remote system sent it (for agreement checks and review).
    record: Map<String, Value>,
    /// The conflict policy's timestamp field, e.g. `LastModifiedDate`.
    remote_time: Option<Timestamp>,
}

/// What is known locally about a remote record.
struct Local {
    pk: Value,
    base: Values,
    pending: Vec<Pending>,
    loop_history: Option<Value>,
}

/// One local change still waiting to be pushed.
struct Pending {
    id: i64,
    new: Values,
    old: Values,
    changed_at: Timestamp,
    /// The spoke whose sync wrote it into the table (`None`: a local write).
    writer: Option<Writer>,
}

/// The writes a page turns into.
#[derive(Default)]
struct Plan {
    inserts: Vec<Incoming>,
    updates: Vec<(Value, Values)>,
    deletes: Vec<String>,
    /// Records (by pk) and the new base to store after the writes.
    bases: Vec<(Value, String, Values)>,
    /// Pending outbox changes losing fields to a remote win: (outbox id, fields to drop).
    strip: Vec<(i64, Vec<String>)>,
    conflicts: Vec<(Value, String, ConflictRecord)>,
    reviews: Vec<Item>,
    /// Records held for a person (manual conflicts).
    held: Vec<Value>,
    applied: i64,
    guards: Guards,
}

/// Applies one page and moves the pull's progress forward, all in the current transaction.
pub fn apply(rt: &mut Runtime, mapper: &Mapper, mode: Mode, page: ChangePage) -> SpiResult<()> {
    crate::capture::origin::set(rt.id)?;
    let target = Target {
        owner: rt.owner,
        qualified: &rt.table.qualified,
        table: &rt.table.table,
        columns: mapper.pull_columns(),
        id_column: quote_identifier(mapper.id_column().unwrap_or("Id")),
    };
    let (incoming, deleted, progress, rejected) = read_page(rt, mapper, &page);
    let mut plan = Plan {
        reviews: rejected,
        ..Plan::default()
    };
    if mode == Mode::FullLoad && rt.pull.state.phase == Phase::Pending {
        // The load's first page: did it start into an empty table?
        rt.pull.blank_load = starts_blank(rt.id, &target)?;
    }
    let deleting = deletes_pending(rt.id, &incoming)?;
    let inserts_only = deleted.is_empty()
        && pull::inserts_only(
            mode,
            rt.pull.blank_load,
            rt.table.table.is_unique(mapper.id_column().unwrap_or("Id")),
            !link_key(&rt.config.natural_key, mapper).is_empty(),
            !deleting.is_empty(),
        );
    if inserts_only {
        match subxact::attempt(|| insert_new(rt.id, &target, &incoming)) {
            Ok(applied) => {
                plan.applied = applied;
                record_outcome(rt.id, &plan)?;
                return advance(rt, mode, &page, progress, plan.applied);
            }
            // A row holds one of the ids after all: this page and the rest merge.
            Err(_) => rt.pull.blank_load = false,
        }
    }
    let ids: Vec<String> = incoming
        .iter()
        .map(|r| r.remote_id.clone())
        .chain(deleted.iter().cloned())
        .collect();
    let mut locals = knowledge(rt.id, &target, ids)?;
    let skipped = first_contact(
        rt,
        mapper,
        &target,
        &incoming,
        &deleting,
        &mut locals,
        &mut plan,
    )?;
    for record in incoming {
        if skipped.contains(&record.remote_id) {
            continue;
        }
        match locals.get(&record.remote_id) {
            // Deleted here, and the delete is still to be pushed: not a new record.
            None if deleting.contains(&record.remote_id) => {}
            None => plan.inserts.push(record),
            Some(local) => decide(&rt.config, mapper, &mut plan, local, record),
        }
    }
    for id in deleted {
        if let Some(local) = locals.get(&id) {
            plan.strip.extend(
                local
                    .pending
                    .iter()
                    .map(|p| (p.id, p.new.keys().cloned().collect())),
            );
            plan.deletes.push(id);
        }
    }
    write(&target, &mut plan)?;
    record_outcome(rt.id, &plan)?;
    std::mem::take(&mut plan.guards).save(rt.id)?;
    advance(rt, mode, &page, progress, plan.applied)
}

/// Whether the table is empty and the sync has no record state: a full load starting now
/// may insert without looking for rows to merge with.
fn starts_blank(sync_id: i32, target: &Target) -> SpiResult<bool> {
    let empty = crate::privilege::as_role(target.owner, || {
        Spi::get_one::<bool>(&format!(
            "SELECT NOT EXISTS (SELECT 1 FROM {})",
            target.qualified
        ))
    })?;
    let stateless = Spi::get_one_with_args::<bool>(
        "SELECT NOT EXISTS (SELECT 1 FROM hubsync.record_state WHERE sync_id = $1)",
        &[sync_id.into()],
    )?;
    Ok(empty == Some(true) && stateless == Some(true))
}

/// A page of records no local row holds yet, as plain inserts of the rows and of their
/// record state (no conflict arbitration: a row or state already there fails the statement,
/// and the caller's subtransaction undoes it). Returns the rows inserted.
fn insert_new(sync_id: i32, target: &Target, incoming: &[Incoming]) -> i64 {
    let written = insert(target, incoming).and_then(|bases| {
        let rows: Vec<Value> = bases
            .iter()
            .map(|(pk, id, base)| json!({"pk": pk, "remote_id": id, "base": base}))
            .collect();
        if !rows.is_empty() {
            Spi::run_with_args(
                "INSERT INTO hubsync.record_state (sync_id, pk, remote_id, base, last_op, state) \
                 SELECT $1, e->'pk', e->>'remote_id', e->'base', 'pull', 'synced' \
                 FROM jsonb_array_elements($2) e",
                &[sync_id.into(), JsonB(Value::Array(rows)).into()],
            )?;
        }
        Ok(bases.len() as i64)
    });
    written.unwrap_or_else(|e| pgrx::error!("{e}"))
}

/// Where the watermark moves once this page is applied: the newest change time read.
/// The next pull reads from that second again (`>=`): several changes can share a second,
/// and re-applying a record that did not change is a no-op.
struct Newest {
    newest: Option<Timestamp>,
}

fn read_page(
    rt: &Runtime,
    mapper: &Mapper,
    page: &ChangePage,
) -> (Vec<Incoming>, Vec<String>, Newest, Vec<Item>) {
    let state = &rt.pull.state;
    let time_field = rt.config.conflict.timestamp_field();
    let mut incoming = Vec::new();
    let mut deleted = Vec::new();
    let mut rejected = Vec::new();
    let mut warnings = Vec::new();
    let mut progress = Newest {
        newest: state.watermark,
    };
    for change in &page.changes {
        let (id, record) = (change.id.clone(), &change.record);
        progress.newest = progress.newest.max(change.modified);
        if change.deleted {
            deleted.push(id);
            continue;
        }
        let mapped = mapper.to_local(record);
        warnings.extend(mapped.warnings.iter().map(super::events::describe_warning));
        if let Some(rejection) = mapped.rejection {
            rejected.push(Item {
                pk: Value::Null,
                remote_id: Some(id),
                operation: "pull".into(),
                kind: ReviewKind::ApplyError,
                payload: Value::Object(record.clone()),
                remote_values: None,
                error_code: Some(rejection.rule.clone()),
                error_message: format!("{} (column \"{}\")", rejection.message, rejection.field),
                attempts: 1,
                outbox_ids: Vec::new(),
            });
            continue;
        }
        incoming.push(Incoming {
            remote_id: id,
            values: mapped.value.into_iter().collect(),
            remote_time: text_time(record, time_field),
            record: record.clone(),
        });
    }
    let threshold = rt.config.monitoring.log_level;
    if let Err(e) = super::events::record(rt.id, threshold, LogLevel::Warning, &warnings) {
        pgrx::warning!("hubsync could not log validation warnings: {e}");
    }
    (incoming, deleted, progress, rejected)
}

fn text_time(record: &Map<String, Value>, field: &str) -> Option<Timestamp> {
    hubsync_core::mapping::field_value(record, field)
        .and_then(Value::as_str)
        .and_then(Timestamp::parse)
}

/// Records no local row is linked to yet, linked by natural key (or External ID) where the
/// sync has one (see `link`); the linked rows join `locals`. Returns the remote ids to leave alone
/// (their key matched several rows: they went to review).
fn first_contact(
    rt: &Runtime,
    mapper: &Mapper,
    target: &Target,
    incoming: &[Incoming],
    deleting: &HashSet<String>,
    locals: &mut HashMap<String, Local>,
    plan: &mut Plan,
) -> SpiResult<HashSet<String>> {
    let unlinked: Vec<Unlinked> = incoming
        .iter()
        .filter(|r| !locals.contains_key(&r.remote_id) && !deleting.contains(&r.remote_id))
        .map(|r| Unlinked {
            remote_id: &r.remote_id,
            values: &r.values,
            record: &r.record,
        })
        .collect();
    let key = link_key(&rt.config.natural_key, mapper);
    if key.is_empty() || unlinked.is_empty() {
        return Ok(HashSet::new());
    }
    let found = link::by_natural_key(rt.id, &key, mapper, target, &unlinked)?;
    locals.extend(knowledge(rt.id, target, found.linked)?);
    let skipped = found
        .ambiguous
        .iter()
        .filter_map(|item| item.remote_id.clone())
        .collect();
    plan.reviews.extend(found.ambiguous);
    Ok(skipped)
}

/// What identifies a record on first contact: `sync_settings.natural_key`, else the External
/// ID field (an upsert whose answer was lost comes back on the next pull, and must find the
/// row that sent it).
fn link_key(natural_key: &[String], mapper: &Mapper) -> Vec<String> {
    if !natural_key.is_empty() {
        return natural_key.to_vec();
    }
    mapper
        .external_id()
        .map(|e| vec![e.field.to_string()])
        .unwrap_or_default()
}

/// The local row, agreed base and pending changes of each record (by remote id) that
/// exists locally.
fn knowledge(sync_id: i32, target: &Target, ids: Vec<String>) -> SpiResult<HashMap<String, Local>> {
    let mut locals: HashMap<String, Local> = HashMap::new();
    if ids.is_empty() {
        return Ok(locals);
    }
    // The table is read as the sync's owner, hubsync's own state as the worker.
    let rows = format!(
        "SELECT t.{id}::text, {pk} FROM {table} t WHERE t.{id} = ANY($1)",
        id = target.id_column,
        pk = keys::pk_array("t", &target.table.primary_key),
        table = target.qualified,
    );
    crate::privilege::as_role(target.owner, || {
        Spi::connect(|client| {
            for row in client.select(&rows, None, &[ids.clone().into()])? {
                let remote_id: String = row.get(1)?.unwrap_or_default();
                let pk = row.get::<JsonB>(2)?.map(|j| j.0).unwrap_or_default();
                locals.insert(
                    remote_id,
                    Local {
                        pk,
                        base: Values::new(),
                        pending: Vec::new(),
                        loop_history: None,
                    },
                );
            }
            Ok::<_, pgrx::spi::SpiError>(())
        })
    })?;
    let pks: Vec<Value> = locals.values().map(|l| l.pk.clone()).collect();
    if pks.is_empty() {
        return Ok(locals);
    }
    Spi::connect(|client| {
        let by_pk: HashMap<String, String> = locals
            .iter()
            .map(|(id, l)| (l.pk.to_string(), id.clone()))
            .collect();
        let states = client.select(
            "SELECT pk, base, loop_history FROM hubsync.record_state \
             WHERE sync_id = $1 AND pk IN (SELECT value FROM jsonb_array_elements($2))",
            None,
            &[sync_id.into(), JsonB(Value::Array(pks.clone())).into()],
        )?;
        for row in states {
            let pk = row.get::<JsonB>(1)?.map(|j| j.0).unwrap_or_default();
            let Some(local) = by_pk.get(&pk.to_string()).and_then(|id| locals.get_mut(id)) else {
                continue;
            };
            local.base = object(row.get::<JsonB>(2)?.map(|j| j.0));
            local.loop_history = row.get::<JsonB>(3)?.map(|j| j.0);
        }
        let pending = client.select(
            "SELECT o.id, o.pk, o.new, o.old, (extract(epoch FROM o.changed_at) * 1000)::int8, \
                    w.remote_system, w.connection \
             FROM hubsync.outbox o LEFT JOIN hubsync.sync w ON w.id = o.origin \
             WHERE o.sync_id = $1 AND o.pk IN (SELECT value FROM jsonb_array_elements($2)) ORDER BY o.id",
            None,
            &[sync_id.into(), JsonB(Value::Array(pks)).into()],
        )?;
        for row in pending {
            let pk = row.get::<JsonB>(2)?.map(|j| j.0).unwrap_or_default();
            let Some(local) = by_pk.get(&pk.to_string()).and_then(|id| locals.get_mut(id)) else {
                continue;
            };
            local.pending.push(Pending {
                id: row.get(1)?.unwrap_or_default(),
                new: object(row.get::<JsonB>(3)?.map(|j| j.0)),
                old: object(row.get::<JsonB>(4)?.map(|j| j.0)),
                changed_at: Timestamp::from_millis(row.get(5)?.unwrap_or_default()),
                writer: super::outbox::writer(row.get(6)?, row.get(7)?),
            });
        }
        Ok::<_, pgrx::spi::SpiError>(())
    })?;
    Ok(locals)
}

/// The remote ids among `incoming` whose local rows were deleted by changes still waiting
/// in the outbox.
fn deletes_pending(sync_id: i32, incoming: &[Incoming]) -> SpiResult<HashSet<String>> {
    let ids: Vec<String> = incoming.iter().map(|r| r.remote_id.clone()).collect();
    if ids.is_empty() {
        return Ok(HashSet::new());
    }
    Spi::connect(|client| {
        client
            .select(
                "SELECT s.remote_id FROM hubsync.outbox o \
                 JOIN hubsync.record_state s ON s.sync_id = o.sync_id AND s.pk = o.pk \
                 WHERE o.sync_id = $1 AND o.op = 'D' AND s.remote_id = ANY($2)",
                None,
                &[sync_id.into(), ids.into()],
            )?
            .map(|row| row.get::<String>(1).map(Option::unwrap_or_default))
            .collect()
    })
}

fn object(value: Option<Value>) -> Values {
    match value {
        Some(Value::Object(map)) => map.into_iter().collect(),
        _ => Values::new(),
    }
}

/// Decides what one remote record does to its existing local row.
fn decide(config: &SyncConfig, mapper: &Mapper, plan: &mut Plan, local: &Local, record: Incoming) {
    let policy = &config.conflict;
    let pending: Vec<PendingChange> = local
        .pending
        .iter()
        .map(|p| PendingChange {
            new: &p.new,
            old: Some(&p.old),
            at: p.changed_at,
            writer: p.writer.as_ref(),
        })
        .collect();
    let side = conflict::local_side(policy, &local.base, &pending);
    let verdict = conflict::merge(
        policy,
        &Versions {
            base: &side.base,
            local: &side.local,
            remote: &record.values,
            local_time: side.time,
            remote_time: record.remote_time,
            local_writers: &side.writers,
        },
        |column, a, b| mapper.local_values_agree(column, a, b),
    );
    for c in &verdict.conflicts {
        plan.conflicts
            .push((local.pk.clone(), record.remote_id.clone(), c.clone()));
    }
    if let Some(review) = verdict.review {
        plan.held.push(local.pk.clone());
        plan.reviews.push(Item {
            pk: local.pk.clone(),
            remote_id: Some(record.remote_id.clone()),
            operation: "conflict".into(),
            kind: ReviewKind::Conflict,
            payload: json!(review.local),
            remote_values: Some(json!(review.remote)),
            error_code: Some("CONFLICT".into()),
            error_message: MANUAL_CONFLICT.into(),
            attempts: 0,
            outbox_ids: local.pending.iter().map(|p| p.id).collect(),
        });
        return;
    }
    // Local changes that lost to the remote side must not be pushed any more.
    for change in &local.pending {
        let lost: Vec<String> = change
            .new
            .keys()
            .filter(|c| verdict.to_local.contains_key(*c))
            .cloned()
            .collect();
        if !lost.is_empty() {
            plan.strip.push((change.id, lost));
        }
    }
    let pulled: Vec<String> = verdict.to_local.keys().cloned().collect();
    let history = local.loop_history.as_ref();
    let remote_id = Some(record.remote_id.as_str());
    if !plan.guards.allow(
        &config.loop_prevention,
        &local.pk,
        remote_id,
        history,
        Way::Pull,
        pulled,
    ) {
        return;
    }
    // A local value that wins is not agreed yet: its pending push carries it to the remote system,
    // merging against the base. Stored as agreed now, it would make that push read
    // the remote system's older value as a change made there, and write it over the local one.
    let mut agreed = verdict.base;
    for field in verdict.to_remote.keys() {
        match local.base.get(field) {
            Some(value) => agreed.insert(field.clone(), value.clone()),
            None => agreed.remove(field),
        };
    }
    let changed =
        !verdict.to_local.is_empty() || !verdict.conflicts.is_empty() || agreed != local.base;
    if !verdict.to_local.is_empty() {
        plan.applied += 1;
        plan.updates.push((local.pk.clone(), verdict.to_local));
    }
    if changed {
        plan.bases
            .push((local.pk.clone(), record.remote_id, agreed));
    }
}

/// Runs the page's writes set-based; if the table refuses any, once more record by record.
/// A refusal of the owner's rights is not about one record: the whole page fails, and the
/// worker stops the sync with the missing right as its problem.
fn write(target: &Target, plan: &mut Plan) -> SpiResult<()> {
    match subxact::attempt(|| write_all(target, &plan.inserts, &plan.updates, &plan.deletes)) {
        Ok(result) => {
            let new_bases = result?;
            plan.applied += new_bases.len() as i64 + plan.deletes.len() as i64;
            plan.bases.extend(new_bases);
            Ok(())
        }
        Err(error) if lacks_rights(&error) => crate::error::raise(
            pgrx::PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE,
            format!(
                "the sync's owner may not write {}: {}",
                target.qualified, error.message
            ),
            "GRANT the sync's owner the rights its direction needs, or drop the sync.",
        ),
        Err(_) => write_one_by_one(target, plan),
    }
}

/// The writes, returning the base of each inserted row.
fn write_all(
    target: &Target,
    inserts: &[Incoming],
    updates: &[(Value, Values)],
    deletes: &[String],
) -> SpiResult<Vec<(Value, String, Values)>> {
    let bases = insert(target, inserts)?;
    update(target, updates)?;
    if !deletes.is_empty() {
        crate::privilege::as_role(target.owner, || {
            Spi::run_with_args(
                &format!(
                    "DELETE FROM {} WHERE {} = ANY($1)",
                    target.qualified, target.id_column
                ),
                &[deletes.to_vec().into()],
            )
        })?;
    }
    Ok(bases)
}

fn insert(target: &Target, inserts: &[Incoming]) -> SpiResult<Vec<(Value, String, Values)>> {
    if inserts.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<Value> = inserts.iter().map(|r| json!(r.values)).collect();
    let sql = format!(
        "INSERT INTO {table} AS t ({cols}) SELECT {r_cols} FROM jsonb_populate_recordset(NULL::{table}, $1) r \
         RETURNING {pk}, t.{id}::text",
        table = target.qualified,
        cols = keys::column_list(&target.columns),
        r_cols = prefixed("r", &target.columns),
        pk = keys::pk_array("t", &target.table.primary_key),
        id = target.id_column,
    );
    let by_id: HashMap<&str, &Incoming> =
        inserts.iter().map(|r| (r.remote_id.as_str(), r)).collect();
    let mut bases = Vec::new();
    crate::privilege::as_role(target.owner, || {
        Spi::connect_mut(|client| {
            for row in client.update(&sql, None, &[JsonB(Value::Array(rows)).into()])? {
                let pk = row.get::<JsonB>(1)?.map(|j| j.0).unwrap_or_default();
                let id: String = row.get(2)?.unwrap_or_default();
                if let Some(record) = by_id.get(id.as_str()) {
                    bases.push((pk, id, record.values.clone()));
                }
            }
            Ok::<_, pgrx::spi::SpiError>(())
        })
    })?;
    Ok(bases)
}

/// A refusal of the role's rights (not of one row, as a row-level security policy's
/// `WITH CHECK` refuses with the same SQLSTATE).
fn lacks_rights(error: &super::xact::XactError) -> bool {
    error.sqlstate == "42501" && error.message.starts_with("permission denied")
}

/// Applies each record alone; the ones the table refuses go to the review queue.
fn write_one_by_one(target: &Target, plan: &mut Plan) -> SpiResult<()> {
    for record in std::mem::take(&mut plan.inserts) {
        match subxact::attempt(|| insert(target, std::slice::from_ref(&record))) {
            Ok(bases) => {
                let bases = bases?;
                plan.applied += bases.len() as i64;
                plan.bases.extend(bases);
            }
            Err(error) => plan.reviews.push(apply_error(
                Value::Null,
                &record.remote_id,
                &record.record,
                &error.to_string(),
            )),
        }
    }
    for row in std::mem::take(&mut plan.updates) {
        if let Err(error) = subxact::attempt(|| update(target, std::slice::from_ref(&row))) {
            plan.applied -= 1;
            plan.bases.retain(|(pk, _, _)| *pk != row.0);
            plan.reviews.push(apply_error(
                row.0.clone(),
                "",
                &Map::new(),
                &error.to_string(),
            ));
        }
    }
    for id in std::mem::take(&mut plan.deletes) {
        match subxact::attempt(|| write_all(target, &[], &[], std::slice::from_ref(&id))) {
            Ok(done) => drop(done?),
            Err(error) => plan.reviews.push(apply_error(
                Value::Null,
                &id,
                &Map::new(),
                &error.to_string(),
            )),
        }
        plan.applied += 1;
    }
    Ok(())
}

fn apply_error(pk: Value, remote_id: &str, record: &Map<String, Value>, error: &str) -> Item {
    Item {
        pk,
        remote_id: (!remote_id.is_empty()).then(|| remote_id.to_string()),
        operation: "pull".into(),
        kind: ReviewKind::ApplyError,
        payload: Value::Object(record.clone()),
        remote_values: None,
        error_code: Some("APPLY_ERROR".into()),
        error_message: format!("the local table refused this remote change: {error}"),
        attempts: 1,
        outbox_ids: Vec::new(),
    }
}

/// Stores new bases, conflicts, reviews and holds; trims outbox changes that lost.
fn record_outcome(sync_id: i32, plan: &Plan) -> SpiResult<()> {
    let states: Vec<super::state::Synced> = plan
        .bases
        .iter()
        .map(|(pk, id, base)| super::state::Synced {
            pk: pk.clone(),
            remote_id: Some(id.clone()),
            agreed: Some(base.clone().into_iter().collect()),
            op: "pull",
        })
        .collect();
    super::state::synced(sync_id, &states)?;
    if !plan.deletes.is_empty() {
        Spi::run_with_args(
            "DELETE FROM hubsync.record_state WHERE sync_id = $1 AND remote_id = ANY($2)",
            &[sync_id.into(), plan.deletes.clone().into()],
        )?;
    }
    for (id, fields) in &plan.strip {
        Spi::run_with_args(
            "UPDATE hubsync.outbox SET new = new - $2::text[], old = old - $2::text[] WHERE id = $1",
            &[(*id).into(), fields.clone().into()],
        )?;
    }
    if !plan.strip.is_empty() {
        let ids: Vec<i64> = plan.strip.iter().map(|(id, _)| *id).collect();
        Spi::run_with_args(
            "DELETE FROM hubsync.outbox WHERE id = ANY($1) AND op = 'U' AND new = '{}'",
            &[ids.into()],
        )?;
    }
    record_conflicts(sync_id, &plan.conflicts)?;
    review::add(sync_id, &plan.reviews)?;
    hold(sync_id, &plan.held)
}

/// Holds records until a person resolves their conflict: no pushes, no pulled changes.
pub(super) fn hold(sync_id: i32, pks: &[Value]) -> SpiResult<()> {
    if pks.is_empty() {
        return Ok(());
    }
    Spi::run_with_args(
        "INSERT INTO hubsync.record_state AS s (sync_id, pk, state, retry_at) \
         SELECT $1, value, 'conflict', 'infinity' FROM jsonb_array_elements($2) \
         ON CONFLICT (sync_id, pk) DO UPDATE SET retry_at = 'infinity', state = 'conflict', updated_at = now()",
        &[sync_id.into(), JsonB(Value::Array(pks.to_vec())).into()],
    )
}

pub(super) fn record_conflicts(
    sync_id: i32,
    conflicts: &[(Value, String, ConflictRecord)],
) -> SpiResult<()> {
    if conflicts.is_empty() {
        return Ok(());
    }
    let rows: Vec<Value> = conflicts
        .iter()
        .map(|(pk, id, c)| {
            json!({"pk": pk, "remote_id": id, "field": c.field, "local": c.local, "remote": c.remote,
                   "base": c.base, "winner": c.winner.map(side_label), "rule": c.rule})
        })
        .collect();
    Spi::run_with_args(
        "INSERT INTO hubsync.conflict_log (sync_id, pk, remote_id, field, local_value, remote_value, base_value, winner, rule) \
         SELECT $1, e->'pk', e->>'remote_id', e->>'field', e->'local', e->'remote', e->'base', \
                coalesce(e->>'winner', 'review'), e->>'rule' FROM jsonb_array_elements($2) e",
        &[sync_id.into(), JsonB(Value::Array(rows)).into()],
    )?;
    Spi::run_with_args(
        "UPDATE hubsync.sync_stats SET conflicts = conflicts + $2 WHERE sync_id = $1",
        &[sync_id.into(), (conflicts.len() as i64).into()],
    )
}

fn side_label(side: Side) -> &'static str {
    match side {
        Side::Local => "local",
        Side::Remote => "remote",
    }
}

/// Moves the pull forward: watermark, paging, phase, counters.
fn advance(
    rt: &mut Runtime,
    mode: Mode,
    page: &ChangePage,
    progress: Newest,
    applied: i64,
) -> SpiResult<()> {
    let (next, finished_load) = pull::advance(&rt.pull.state, mode, page, progress.newest);
    rt.pull.state = next;
    crate::catalog::pull_state::save(
        rt.id,
        &rt.pull.state,
        mode,
        page.total.map(|t| t as i64),
        page.changes.len() as i64,
        finished_load,
    )?;
    super::stats::pulled(rt.id, applied, progress.newest.filter(|_| applied > 0))
}
