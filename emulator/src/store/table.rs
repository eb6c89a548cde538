//! One object's records in creation order, with indexes on unique and external-id fields.

use super::Change;
use crate::ids::Id;
use crate::schema::ObjectDef;
use crate::value::Value;
use indexmap::IndexMap;
use std::collections::HashMap;
use std::sync::Arc;

/// One stored version of a record. Versions are immutable and shared (`Arc`) so query
/// cursors can hold a snapshot without copying and without holding the lock.
#[derive(Debug, Clone)]
pub struct Record {
    pub id: Id,
    /// One value per field of the object, in describe order.
    pub values: Box<[Value]>,
    /// The write sequence number of this version (totally orders writes).
    pub seq: u64,
    /// When the record went to the recycle bin.
    pub deleted_at: Option<i64>,
}

impl Record {
    /// Record `id` holding `values`, written at `seq`; `deleted_at` puts it in the recycle bin.
    pub fn new(id: Id, values: Vec<Value>, seq: u64, deleted_at: Option<i64>) -> Record {
        Record {
            id,
            values: values.into_boxed_slice(),
            seq,
            deleted_at,
        }
    }

    /// In the recycle bin.
    pub fn is_deleted(&self) -> bool {
        self.deleted_at.is_some()
    }
}

struct FieldIndex {
    field: usize,
    case_sensitive: bool,
    map: HashMap<String, Vec<Id>>,
}

/// One object's records.
pub struct Table {
    records: IndexMap<Id, Arc<Record>>,
    indexes: Vec<FieldIndex>,
    next_id: u64,
    key_prefix: String,
    /// The ordered change log of this object.
    pub changes: Vec<Change>,
}

impl Table {
    /// An empty table for `object`, indexing its unique and external-id fields.
    pub fn new(object: &ObjectDef) -> Table {
        let indexes = object
            .fields
            .iter()
            .enumerate()
            .filter(|(_, f)| f.indexed())
            .map(|(field, f)| FieldIndex {
                field,
                case_sensitive: f.case_sensitive,
                map: HashMap::new(),
            })
            .collect();
        Table {
            records: IndexMap::new(),
            indexes,
            next_id: 0,
            key_prefix: object.key_prefix.clone(),
            changes: Vec::new(),
        }
    }

    /// A fresh id for a new record.
    pub fn new_id(&mut self) -> Id {
        self.next_id += 1;
        Id::generate(&self.key_prefix, self.next_id)
    }

    /// Keeps generated ids clear of an id given explicitly (bulk load).
    pub fn reserve_id(&mut self, counter_hint: u64) {
        self.next_id = self.next_id.max(counter_hint);
    }

    /// A record by id.
    pub fn get(&self, id: &Id) -> Option<&Arc<Record>> {
        self.records.get(id)
    }

    /// All records (live and deleted) in creation order.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<Record>> {
        self.records.values()
    }

    /// Live records whose indexed `field` has this index key.
    pub fn lookup(&self, field: usize, key: &str) -> &[Id] {
        self.indexes
            .iter()
            .find(|ix| ix.field == field)
            .and_then(|ix| ix.map.get(key))
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    /// The index key of a value for an indexed field (case folding per the field).
    pub fn key_for(&self, field: usize, value: &Value) -> Option<String> {
        let ix = self.indexes.iter().find(|ix| ix.field == field)?;
        value.index_key(ix.case_sensitive)
    }

    /// Stores a record version, returning the previous one.
    pub fn put(&mut self, record: Arc<Record>) -> Option<Arc<Record>> {
        let id = record.id;
        let before = self.records.get(&id).cloned();
        if let Some(old) = &before {
            self.unindex(old);
        }
        self.index(&record);
        self.records.insert(id, record);
        before
    }

    /// Puts back the version a rolled-back transaction replaced (`None`: it was created).
    pub fn restore(&mut self, id: Id, before: Option<Arc<Record>>) {
        match before {
            Some(old) => {
                self.put(old);
            }
            None => {
                self.remove(&id);
            }
        }
    }

    /// Takes a record out entirely (no recycle bin), returning it.
    pub fn remove(&mut self, id: &Id) -> Option<Arc<Record>> {
        let removed = self.records.shift_remove(id)?;
        self.unindex(&removed);
        Some(removed)
    }

    fn index(&mut self, record: &Record) {
        if record.is_deleted() {
            return;
        }
        for ix in &mut self.indexes {
            if let Some(key) = record.values[ix.field].index_key(ix.case_sensitive) {
                ix.map.entry(key).or_default().push(record.id);
            }
        }
    }

    fn unindex(&mut self, record: &Record) {
        if record.is_deleted() {
            return;
        }
        for ix in &mut self.indexes {
            if let Some(key) = record.values[ix.field].index_key(ix.case_sensitive) {
                if let Some(ids) = ix.map.get_mut(&key) {
                    ids.retain(|id| *id != record.id);
                    if ids.is_empty() {
                        ix.map.remove(&key);
                    }
                }
            }
        }
    }

    /// Drops every record and change (id counter kept).
    pub fn clear(&mut self) {
        self.records.clear();
        self.changes.clear();
        for ix in &mut self.indexes {
            ix.map.clear();
        }
    }

    /// (live, deleted) record counts.
    pub fn live_and_deleted(&self) -> (usize, usize) {
        let deleted = self.records.values().filter(|r| r.is_deleted()).count();
        (self.records.len() - deleted, deleted)
    }
}
