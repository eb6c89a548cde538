//! A transaction: the undo log that lets all-or-none requests roll back, with
//! savepoints so an all-or-none collection inside a composite request can undo only
//! its own writes.

use super::{ChangeKind, Record, WriteStats};
use crate::ids::Id;
use std::sync::Arc;

/// A point a transaction can roll back to.
#[derive(Debug, Clone)]
pub struct Savepoint {
    undo_len: usize,
    pub(super) change_marks: Vec<usize>,
    stats: WriteStats,
}

/// The writes of one request, undoable until committed.
pub struct Txn {
    key: u64,
    origin: Option<Arc<str>>,
    start: Savepoint,
    undo: Vec<(usize, Id, Option<Arc<Record>>)>,
    stats: WriteStats,
}

impl Txn {
    pub(super) fn new(key: u64, origin: Option<Arc<str>>, change_marks: Vec<usize>) -> Txn {
        Txn {
            key,
            origin,
            start: Savepoint {
                undo_len: 0,
                change_marks,
                stats: WriteStats::default(),
            },
            undo: Vec::new(),
            stats: WriteStats::default(),
        }
    }

    /// The CDC transaction key of its changes.
    pub fn key(&self) -> u64 {
        self.key
    }

    /// The change origin recorded with its changes.
    pub fn origin(&self) -> Option<&Arc<str>> {
        self.origin.as_ref()
    }

    /// Records a write and the version it replaced; rollbacks restore in reverse order.
    pub(super) fn touched(
        &mut self,
        table: usize,
        id: Id,
        before: Option<Arc<Record>>,
        kind: ChangeKind,
    ) {
        self.undo.push((table, id, before));
        match kind {
            ChangeKind::Create => self.stats.created += 1,
            ChangeKind::Update | ChangeKind::Undelete => self.stats.updated += 1,
            ChangeKind::Delete => self.stats.deleted += 1,
        }
    }

    pub(super) fn savepoint(&self, change_marks: Vec<usize>) -> Savepoint {
        Savepoint {
            undo_len: self.undo.len(),
            change_marks,
            stats: self.stats,
        }
    }

    pub(super) fn start(&self) -> Savepoint {
        self.start.clone()
    }

    /// Takes the undo entries written after `point`, newest last.
    pub(super) fn unwind(&mut self, point: &Savepoint) -> Vec<(usize, Id, Option<Arc<Record>>)> {
        self.stats = point.stats;
        self.undo.split_off(point.undo_len)
    }

    pub(super) fn stats(&self) -> WriteStats {
        self.stats
    }
}
