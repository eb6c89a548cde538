//! The org's data: one table per object, unique/external-id indexes, the recycle bin
//! (deleted rows stay, flagged), and the ordered change log that drives the replication
//! endpoints today and Change Data Capture later.
//!
//! Everything here runs under the org lock and does no I/O, so the lock is never held
//! across slow work. Writes go through a [`Txn`] so that all-or-none requests can roll
//! back.

mod table;
mod txn;

pub use table::{Record, Table};
pub use txn::{Savepoint, Txn};

use crate::ids::Id;
use crate::schema::{Automation, Schema};
use std::collections::BTreeMap;
use std::sync::Arc;

/// What happened to a record, as CDC names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    Create,
    Update,
    Delete,
}

impl ChangeKind {
    /// CDC's `changeType`.
    pub fn name(self) -> &'static str {
        match self {
            ChangeKind::Create => "CREATE",
            ChangeKind::Update => "UPDATE",
            ChangeKind::Delete => "DELETE",
        }
    }
}

/// One committed change of one record.
#[derive(Debug, Clone)]
pub struct Change {
    /// Strictly increasing across the org (not contiguous: rolled-back writes use ids too).
    pub replay_id: u64,
    pub kind: ChangeKind,
    pub record: Id,
    /// Positions of the fields the change set (all non-null fields for a create).
    pub fields: Vec<usize>,
    /// The exact commit time in ms (visible timestamps are truncated to seconds).
    pub commit_ms: i64,
    /// CDC `changeOrigin`, e.g. `com/salesforce/api/rest/59.0;client=hubsync`.
    pub origin: Option<Arc<str>>,
    /// Groups the changes of one transaction.
    pub transaction: u64,
}

/// Counts of committed record writes, for the admin API's counters (every system).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriteStats {
    /// Records created.
    pub created: u64,
    /// Records updated.
    pub updated: u64,
    /// Records deleted (soft deletes and purges count).
    pub deleted: u64,
}

/// The org's data and the mutable parts of its configuration.
pub struct Org {
    pub schema: Arc<Schema>,
    pub tables: Vec<Table>,
    /// Field-update automations in force (from the schema file, changed by the admin API).
    pub automations: Vec<Automation>,
    pub stats: WriteStats,
    sequence: u64,
    transactions: u64,
    last_stamp_ms: i64,
}

impl Org {
    /// An empty org of this schema.
    pub fn new(schema: Arc<Schema>) -> Org {
        let tables = schema.objects.iter().map(Table::new).collect();
        Org {
            automations: schema.automations.clone(),
            schema,
            tables,
            stats: WriteStats::default(),
            sequence: 0,
            transactions: 0,
            last_stamp_ms: 0,
        }
    }

    /// Empties the org (records, change log, automations back to the schema file's) but
    /// keeps id counters and the clock guard, so old ids and timestamps are never reused.
    pub fn reset(&mut self) {
        for table in &mut self.tables {
            table.clear();
        }
        self.automations = self.schema.automations.clone();
        self.stats = WriteStats::default();
    }

    /// Next write sequence number and the visible (second-precision) timestamp for a
    /// write at `now_ms`; visible timestamps never go backwards.
    pub fn stamp(&mut self, now_ms: i64) -> (u64, i64) {
        self.sequence += 1;
        let visible = (now_ms - now_ms.rem_euclid(1000)).max(self.last_stamp_ms);
        self.last_stamp_ms = visible;
        (self.sequence, visible)
    }

    /// Starts a transaction; every write must belong to one.
    pub fn begin(&mut self, origin: Option<Arc<str>>) -> Txn {
        self.transactions += 1;
        Txn::new(
            self.transactions,
            origin,
            self.tables.iter().map(|t| t.changes.len()).collect(),
        )
    }

    /// Makes a transaction's writes final.
    pub fn commit(&mut self, txn: Txn) {
        let stats = txn.stats();
        self.stats.created += stats.created;
        self.stats.updated += stats.updated;
        self.stats.deleted += stats.deleted;
    }

    /// Undoes every write of a transaction (records, indexes and change log).
    pub fn rollback(&mut self, mut txn: Txn) {
        let start = txn.start();
        self.rollback_to(&mut txn, &start);
    }

    /// A point inside `txn` that [`Org::rollback_to`] can return to.
    pub fn savepoint(&self, txn: &Txn) -> Savepoint {
        txn.savepoint(self.tables.iter().map(|t| t.changes.len()).collect())
    }

    /// Undoes the writes `txn` made after `point`.
    pub fn rollback_to(&mut self, txn: &mut Txn, point: &Savepoint) {
        for (table, id, before) in txn.unwind(point).into_iter().rev() {
            self.tables[table].restore(id, before);
        }
        for (table, mark) in self.tables.iter_mut().zip(&point.change_marks) {
            table.changes.truncate(*mark);
        }
    }

    /// Stores a new version of a record and logs the change.
    pub fn write(
        &mut self,
        txn: &mut Txn,
        table: usize,
        record: Record,
        kind: ChangeKind,
        fields: Vec<usize>,
        commit_ms: i64,
    ) {
        let id = record.id;
        let replay_id = record.seq;
        let before = self.tables[table].put(Arc::new(record));
        txn.touched(table, id, before, kind);
        self.tables[table].changes.push(Change {
            replay_id,
            kind,
            record: id,
            fields,
            commit_ms,
            origin: txn.origin().cloned(),
            transaction: txn.key(),
        });
    }

    /// Writes a new record; its change event lists every field the record fills.
    pub fn write_new(&mut self, txn: &mut Txn, table: usize, record: Record, commit_ms: i64) {
        let filled = (0..record.values.len())
            .filter(|i| !record.values[*i].is_blank())
            .collect();
        self.write(txn, table, record, ChangeKind::Create, filled, commit_ms);
    }

    /// A record by id (live or deleted), with its table.
    pub fn find(&self, id: &Id) -> Option<(usize, &Arc<Record>)> {
        let table = self.schema.object_of_id(id)?;
        self.tables[table].get(id).map(|r| (table, r))
    }

    /// Number of records per object, live and deleted, for the admin counters.
    pub fn record_counts(&self) -> BTreeMap<String, (usize, usize)> {
        self.schema
            .objects
            .iter()
            .zip(&self.tables)
            .map(|(o, t)| (o.name.clone(), t.live_and_deleted()))
            .collect()
    }
}
