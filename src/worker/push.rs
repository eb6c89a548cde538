//! Push, first half: claimed outbox rows → one action per record (coalesced in commit
//! order) → mapped remote values → batches of the size the connector takes (200 records for
//! Salesforce's sObject Collections).
//!
//! Runs inside the claiming transaction; the requests themselves are sent later by the
//! HTTP threads, after that transaction has committed.

use super::guard::{Guards, Way};
use super::outbox::Claimed;
use super::runtime::Runtime;
use super::state::{self, Known};
use crate::catalog::review::{Item, Kind as ReviewKind};
use hubsync_core::coalesce::{coalesce, Action, Values};
use hubsync_core::config::{ConflictPolicy, LogLevel, LoopPrevention};
use hubsync_core::conflict::{self, LocalSide, PendingChange};
use hubsync_core::mapping::{Mapper, PushOp, Rejection};
use hubsync_core::retry::Operation;
use pgrx::prelude::*;
use pgrx::spi::SpiResult;
use pgrx::JsonB;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// Which write a chunk is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Create,
    Upsert,
    Update,
    Delete,
}

impl Kind {
    /// The operation as `hubsync.record_status.last_op` names it.
    pub fn label(self) -> &'static str {
        match self {
            Kind::Create => "create",
            Kind::Upsert => "upsert",
            Kind::Update => "update",
            Kind::Delete => "delete",
        }
    }

    /// The operation as failure classification needs it.
    pub fn operation(self) -> Operation {
        match self {
            Kind::Create => Operation::Create,
            Kind::Upsert => Operation::Upsert,
            Kind::Update => Operation::Update,
            Kind::Delete => Operation::Delete,
        }
    }
}

/// One record of a request, with what is needed to settle it afterwards.
#[derive(Debug, Clone)]
pub struct Record {
    pub pk: Value,
    pub key: String,
    pub outbox_ids: Vec<i64>,
    pub attempts: i32,
    /// Statement time of the oldest change this write carries (epoch ms), for latency.
    pub oldest_change_ms: i64,
    pub remote_id: Option<String>,
    /// Remote field values to send.
    pub payload: Map<String, Value>,
    /// Local column values both sides will agree on once this write succeeds.
    pub agreed: Map<String, Value>,
    /// The local side for the check before an update: the agreed values completed by the
    /// changes' old ones, when the local side changed, and which spoke wrote each value.
    pub local_side: LocalSide,
}

/// What an update needs to be checked against the remote record just before it is sent,
/// so a change made remotely since the last pull is merged, not overwritten.
pub struct Verify {
    pub mapper: Arc<Mapper>,
    pub policy: ConflictPolicy,
    /// Remote fields to read back.
    pub fields: Vec<String>,
    /// The remote side's time for last-write-wins (`timestamp_field`).
    pub time_field: String,
}

impl std::fmt::Debug for Verify {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verify")
            .field("fields", &self.fields)
            .finish()
    }
}

/// One request's worth of records of one kind.
#[derive(Debug, Clone)]
pub struct Chunk {
    pub sync_id: i32,
    pub object: String,
    pub kind: Kind,
    /// The External ID field, for upserts.
    pub external_id: Option<String>,
    pub records: Vec<Record>,
    /// For updates of two-way syncs: read the records back and merge before writing.
    pub verify: Option<Arc<Verify>>,
    /// Sent through the connector's bulk API (a backlog above
    /// `performance_settings.bulk_push_threshold`).
    pub bulk: bool,
    /// The bulk job opened for it, once its id is recorded in `hubsync.bulk_job`.
    pub job: Option<String>,
}

/// What one claim turned into.
#[derive(Default)]
pub struct Prepared {
    pub chunks: Vec<Chunk>,
    /// Rows settled without a call (changes that cancelled out, nothing pushable changed).
    pub done: Vec<i64>,
    /// Records a validation rule rejected: to the sync's fallback (review queue or log).
    pub rejected: Vec<Item>,
    /// Outbox rows of rejected records (handed to the fallback, so they leave the outbox).
    pub rejected_ids: Vec<i64>,
    /// Rows whose record has a request outstanding, or that belong to a later step.
    pub deferred: Vec<Claimed>,
    /// Creates that a crashed run may already have sent: reconcile before sending.
    pub doubtful: Vec<Record>,
    /// Outbox rows of records held by loop prevention: given back, not sent.
    pub held_ids: Vec<i64>,
    /// Validation warnings (`on_error: warn`) of records sent anyway.
    pub warnings: Vec<String>,
}

/// Groups rows by record, in commit order, keeping back records already in flight.
fn group(
    runtime: &mut Runtime,
    claimed: Vec<Claimed>,
) -> (BTreeMap<i64, Vec<Claimed>>, Vec<Claimed>) {
    let mut rows = std::mem::take(&mut runtime.deferred);
    rows.extend(claimed);
    rows.sort_by_key(|r| r.id);
    let mut by_key: HashMap<String, Vec<Claimed>> = HashMap::new();
    let mut deferred = Vec::new();
    for row in rows {
        let key = state::key(&row.pk);
        if runtime.in_flight.contains(&key) {
            deferred.push(row);
        } else {
            by_key.entry(key).or_default().push(row);
        }
    }
    // Ordered by each record's oldest change, so older work is sent first.
    let groups = by_key
        .into_values()
        .map(|rows| (rows[0].id, rows))
        .collect();
    (groups, deferred)
}

/// Turns claimed rows into requests. Reads local rows only for updates of records that
/// were never pushed (they must be created whole).
///
/// With `bulk` (the most records one bulk write takes), creates, upserts, deletes and
/// unverified updates go in bulk-sized chunks through the connector's bulk API; updates
/// of two-way syncs stay per-call, since each is merged with the record read back first.
pub fn prepare(
    runtime: &mut Runtime,
    mapper: &Arc<Mapper>,
    claimed: Vec<Claimed>,
    bulk: Option<usize>,
) -> SpiResult<Prepared> {
    let (groups, deferred) = group(runtime, claimed);
    let mut prepared = Prepared {
        deferred,
        ..Prepared::default()
    };
    let pks: Vec<Value> = groups.values().map(|rows| rows[0].pk.clone()).collect();
    let known = state::load(runtime.id, &pks)?;
    let mut builder = Builder::new(runtime, mapper);
    builder.bulk = bulk;
    let mut need_rows = Vec::new();
    for rows in groups.into_values() {
        let key = state::key(&rows[0].pk);
        let knowledge = known.get(&key).cloned().unwrap_or_default();
        if let Some(pending) = builder.plan(rows, knowledge, &mut prepared) {
            need_rows.push(pending);
        }
    }
    if !need_rows.is_empty() {
        let rows = read_rows(runtime, &need_rows)?;
        for pending in need_rows {
            builder.create_from_row(pending, &rows, &mut prepared);
        }
    }
    let guards = std::mem::take(&mut builder.guards);
    prepared.chunks = builder.into_chunks();
    guards.save(runtime.id)?;
    let threshold = runtime.config.monitoring.log_level;
    super::events::record(runtime.id, threshold, LogLevel::Warning, &prepared.warnings)?;
    super::outbox::release(&prepared.held_ids, Some("held by loop prevention"), false)?;
    Ok(prepared)
}

/// An update of a record that does not exist remotely; created from its current row.
struct NeedsRow {
    record: Record,
    rows: Vec<Claimed>,
    /// The update's changed values.
    fields: Values,
}

/// Sorts records into per-kind requests.
struct Builder<'a> {
    sync_id: i32,
    object: String,
    mapper: &'a Mapper,
    verify: Option<Arc<Verify>>,
    external_id: Option<String>,
    /// Most records one request carries, as the connector takes them.
    batch: usize,
    /// Most records one bulk write carries, when this claim goes through the bulk API.
    bulk: Option<usize>,
    by_kind: BTreeMap<u8, (Kind, Vec<Record>)>,
    loops: LoopPrevention,
    policy: ConflictPolicy,
    guards: Guards,
}

impl<'a> Builder<'a> {
    fn new(runtime: &Runtime, mapper: &'a Arc<Mapper>) -> Builder<'a> {
        let verify = runtime.config.direction.pull.then(|| {
            Arc::new(Verify {
                mapper: Arc::clone(mapper),
                policy: runtime.config.conflict.clone(),
                fields: mapper.select_fields(),
                time_field: runtime.config.conflict.timestamp_field().to_string(),
            })
        });
        Builder {
            verify,
            sync_id: runtime.id,
            object: runtime.config.remote.object.clone(),
            external_id: mapper.external_id().map(|e| e.field.to_string()),
            batch: runtime.batch_size(),
            bulk: None,
            mapper,
            by_kind: BTreeMap::new(),
            loops: runtime.config.loop_prevention,
            policy: runtime.config.conflict.clone(),
            guards: Guards::default(),
        }
    }

    /// Plans one record's rows; returns it when its current local row is needed.
    fn plan(
        &mut self,
        rows: Vec<Claimed>,
        mut known: Known,
        prepared: &mut Prepared,
    ) -> Option<NeedsRow> {
        if known.remote_id.is_none() {
            // A row linked to a remote record outside hubsync (its id column was set).
            known.remote_id = rows.iter().rev().find_map(|r| r.remote_id.clone());
        }
        let changes: Vec<_> = rows.iter().map(Claimed::change).collect();
        let plan = coalesce(&changes, known.remote_id.is_some());
        prepared.done.extend(&plan.cancelled);
        let mut steps = plan.steps.into_iter();
        let first = steps.next()?;
        // Later steps wait until the first one succeeded.
        let later: Vec<i64> = steps.flat_map(|s| s.outbox_ids).collect();
        let pk = rows[0].pk.clone();
        let (held, rows): (Vec<Claimed>, Vec<Claimed>) =
            rows.into_iter().partition(|r| later.contains(&r.id));
        prepared.deferred.extend(held);
        let now: Vec<Claimed> = match rows.iter().any(|r| first.outbox_ids.contains(&r.id)) {
            true => rows
                .into_iter()
                .filter(|r| first.outbox_ids.contains(&r.id))
                .collect(),
            false => rows,
        };
        let mut record = Record {
            key: state::key(&pk),
            pk,
            outbox_ids: first.outbox_ids.clone(),
            attempts: now.iter().map(|r| r.attempts).max().unwrap_or(1),
            oldest_change_ms: now
                .iter()
                .map(|r| r.changed_at_ms)
                .min()
                .unwrap_or_default(),
            remote_id: known.remote_id.clone(),
            payload: Map::new(),
            agreed: Map::new(),
            local_side: conflict::local_side(&self.policy, &known.base, &pending(&now)),
        };
        let abandoned = now.iter().any(|r| r.abandoned);
        match first.action {
            Action::Create { fields } => self.create(record, &fields, abandoned, prepared),
            Action::Update { fields, .. } if known.remote_id.is_some() => {
                self.update(record, &fields, known.loop_history.as_ref(), prepared)
            }
            Action::Update { fields, .. } => {
                return Some(NeedsRow {
                    record,
                    rows: now,
                    fields,
                })
            }
            Action::Delete => match known.remote_id {
                Some(_) => self.add(Kind::Delete, record),
                None => prepared.done.append(&mut record.outbox_ids),
            },
        }
        None
    }

    fn create(
        &mut self,
        mut record: Record,
        fields: &Values,
        abandoned: bool,
        prepared: &mut Prepared,
    ) {
        let row: Map<String, Value> = fields.clone().into_iter().collect();
        let mapped = self.mapper.to_remote(&row, PushOp::Create);
        if let Some(rejection) = mapped.rejection {
            return reject(record, rejection, "create", prepared);
        }
        prepared
            .warnings
            .extend(mapped.warnings.iter().map(super::events::describe_warning));
        record.payload = mapped.value;
        record.agreed = row;
        match (&self.external_id, abandoned) {
            (Some(_), _) => self.add(Kind::Upsert, record),
            (None, true) => prepared.doubtful.push(record),
            (None, false) => self.add(Kind::Create, record),
        }
    }

    fn update(
        &mut self,
        mut record: Record,
        fields: &Values,
        history: Option<&Value>,
        prepared: &mut Prepared,
    ) {
        let row: Map<String, Value> = fields.clone().into_iter().collect();
        let changed: Vec<String> = fields.keys().cloned().collect();
        let mapped = self
            .mapper
            .to_remote(&row, PushOp::Update { changed: &changed });
        if let Some(rejection) = mapped.rejection {
            return reject(record, rejection, "update", prepared);
        }
        prepared
            .warnings
            .extend(mapped.warnings.iter().map(super::events::describe_warning));
        if mapped.value.is_empty() {
            // Only columns that do not flow to the remote system changed.
            return prepared.done.append(&mut record.outbox_ids);
        }
        let pushed: Vec<String> = fields
            .keys()
            .filter(|c| {
                self.mapper
                    .field_for_column(c)
                    .is_some_and(|f| mapped.value.contains_key(f))
            })
            .cloned()
            .collect();
        let remote_id = record.remote_id.clone();
        if !self.guards.allow(
            &self.loops,
            &record.pk,
            remote_id.as_deref(),
            history,
            Way::Push,
            pushed,
        ) {
            return prepared.held_ids.append(&mut record.outbox_ids);
        }
        record.payload = mapped.value;
        record.agreed = row;
        self.add(Kind::Update, record);
    }

    fn create_from_row(
        &mut self,
        pending: NeedsRow,
        rows: &HashMap<String, Map<String, Value>>,
        prepared: &mut Prepared,
    ) {
        let NeedsRow {
            mut record,
            rows: claimed,
            fields: changed,
        } = pending;
        let Some(row) = rows.get(&record.key) else {
            // The row is gone; a later delete in the outbox will find nothing remote to delete.
            return prepared.done.append(&mut record.outbox_ids);
        };
        // A row linked by hand (its id column set outside hubsync) exists remotely already:
        // update it, never create a second record.
        let linked = self
            .mapper
            .id_column()
            .and_then(|c| row.get(c))
            .and_then(Value::as_str)
            .map(str::to_string);
        if let Some(remote_id) = linked {
            record.remote_id = Some(remote_id);
            return self.update(record, &changed, None, prepared);
        }
        let fields: Values = row.clone().into_iter().collect();
        let abandoned = claimed.iter().any(|r| r.abandoned);
        self.create(record, &fields, abandoned, prepared);
    }

    fn add(&mut self, kind: Kind, record: Record) {
        self.by_kind
            .entry(kind as u8)
            .or_insert_with(|| (kind, Vec::new()))
            .1
            .push(record);
    }

    /// Creates, upserts, updates and deletes, each split into requests of the batch size.
    fn into_chunks(self) -> Vec<Chunk> {
        let (sync_id, object, external_id, batch) =
            (self.sync_id, self.object, self.external_id, self.batch);
        let verify = self.verify;
        let bulk = self.bulk;
        self.by_kind
            .into_values()
            .flat_map(|(kind, records)| {
                let verified = kind == Kind::Update && verify.is_some();
                let bulk = bulk.filter(|_| !verified);
                let chunks = split(
                    sync_id,
                    &object,
                    kind,
                    external_id.as_deref(),
                    records,
                    bulk.unwrap_or(batch),
                );
                chunks.into_iter().map(move |mut chunk| {
                    chunk.bulk = bulk.is_some();
                    chunk
                })
            })
            .map(|mut chunk| {
                if chunk.kind == Kind::Update {
                    chunk.verify = verify.clone();
                }
                chunk
            })
            .collect()
    }
}

/// Splits records of one kind into requests of at most `batch` records.
pub fn split(
    sync_id: i32,
    object: &str,
    kind: Kind,
    external_id: Option<&str>,
    records: Vec<Record>,
    batch: usize,
) -> Vec<Chunk> {
    let mut records = records.into_iter().peekable();
    let mut chunks = Vec::new();
    while records.peek().is_some() {
        chunks.push(Chunk {
            sync_id,
            object: object.to_string(),
            kind,
            external_id: external_id.map(str::to_string),
            records: records.by_ref().take(batch.max(1)).collect(),
            verify: None,
            bulk: false,
            job: None,
        });
    }
    chunks
}

/// The claimed rows as the merge sees local changes.
fn pending(rows: &[Claimed]) -> Vec<PendingChange<'_>> {
    rows.iter()
        .filter_map(|r| {
            Some(PendingChange {
                new: r.change.new_values()?,
                old: r.change.old_values(),
                at: hubsync_core::timestamp::Timestamp::from_millis(r.changed_at_ms),
                writer: r.writer.as_ref(),
            })
        })
        .collect()
}

fn reject(mut record: Record, rejection: Rejection, operation: &str, prepared: &mut Prepared) {
    prepared.rejected_ids.append(&mut record.outbox_ids.clone());
    prepared.rejected.push(Item {
        pk: record.pk,
        remote_id: record.remote_id,
        operation: operation.to_string(),
        kind: ReviewKind::Rejected,
        payload: Value::Object(record.agreed),
        remote_values: None,
        error_code: Some(rejection.rule.clone()),
        error_message: format!(
            "{} (column \"{}\", value {})",
            rejection.message, rejection.field, rejection.value
        ),
        attempts: record.attempts,
        outbox_ids: std::mem::take(&mut record.outbox_ids),
    });
}

/// The current local rows of these records (captured columns only), by record key.
fn read_rows(
    runtime: &Runtime,
    pending: &[NeedsRow],
) -> SpiResult<HashMap<String, Map<String, Value>>> {
    let pk = &runtime.table.table.primary_key;
    let keys: Vec<Value> = pending.iter().map(|p| p.record.pk.clone()).collect();
    let captured = crate::capture::install::captured_columns(&runtime.config);
    let sql = format!(
        "SELECT {pk_array}, to_jsonb(t) FROM {table} t WHERE ({pk_cols}) IN (SELECT {pk_cols} FROM {typed})",
        pk_array = crate::catalog::keys::pk_array("t", pk),
        table = runtime.table.qualified,
        pk_cols = crate::catalog::keys::column_list(pk),
        typed = crate::catalog::keys::typed_keys(&runtime.table.table, "$1"),
    );
    crate::privilege::as_role(runtime.owner, || {
        Spi::connect(|client| {
            client
                .select(&sql, None, &[JsonB(Value::Array(keys)).into()])?
                .map(|row| {
                    let pk = row.get::<JsonB>(1)?.map(|j| j.0).unwrap_or_default();
                    let full = match row.get::<JsonB>(2)?.map(|j| j.0) {
                        Some(Value::Object(m)) => m,
                        _ => Map::new(),
                    };
                    let values = full
                        .into_iter()
                        .filter(|(k, _)| captured.contains(k))
                        .collect();
                    Ok((state::key(&pk), values))
                })
                .collect()
        })
    })
}
