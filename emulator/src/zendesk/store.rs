//! The account's organizations and users, with the indexes Zendesk enforces
//! uniqueness by (organization name, external id, user email) and the change feed the
//! incremental exports read, ordered by `(updated_at, id)`.
//!
//! Invariants: every index entry points at a live record and every live record is
//! indexed; `updated_at` never goes backwards; ids are unique across both kinds.

use super::errors::FieldError;
use super::fields::Schema;
use super::record::{label, Changes, Kind, Record};
use super::{OrgDeletions, ZendeskOptions};
use crate::store::WriteStats;
use serde_json::{json, Value as Json};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// The first id handed out: above 2^32, as real Zendesk ids are (reference §1).
const FIRST_ID: u64 = 6_164_000_000_000;

/// One kind's records and indexes.
#[derive(Clone, Default)]
pub struct Table {
    /// Live records by id (soft-deleted users included).
    pub records: BTreeMap<u64, Record>,
    /// Lower-cased external id → id.
    by_external: HashMap<String, u64>,
    /// Organization name (normalized) or lower-cased user email → id.
    by_key: HashMap<String, u64>,
    /// `(updated_at, id)` of every record the exports show, tombstones included.
    feed: BTreeSet<(i64, u64)>,
    /// Deleted organizations still reported by the export (with `deleted_at`).
    tombstones: BTreeMap<u64, Record>,
}

/// Why an update or delete failed.
#[derive(Debug, Clone, PartialEq)]
pub enum WriteError {
    NotFound,
    Invalid(Vec<FieldError>),
}

/// Organizations and users.
#[derive(Clone)]
pub struct Store {
    /// The custom fields.
    pub schema: Schema,
    orgs: Table,
    users: Table,
    next_id: u64,
    org_name_case_insensitive: bool,
    org_deletions: OrgDeletions,
    deleted_users_in_export: bool,
    /// Write counters.
    pub stats: WriteStats,
}

impl Store {
    /// An empty account.
    pub fn new(schema: Schema, options: &ZendeskOptions) -> Store {
        Store {
            schema,
            orgs: Table::default(),
            users: Table::default(),
            next_id: FIRST_ID,
            org_name_case_insensitive: options.org_name_case_insensitive,
            org_deletions: options.org_deletions,
            deleted_users_in_export: options.deleted_users_in_export,
            stats: WriteStats::default(),
        }
    }

    /// Empties the account (the schema stays).
    pub fn reset(&mut self) {
        self.orgs = Table::default();
        self.users = Table::default();
        self.next_id = FIRST_ID;
        self.stats = WriteStats::default();
    }

    /// One kind's records.
    pub fn table(&self, kind: Kind) -> &Table {
        match kind {
            Kind::Organization => &self.orgs,
            Kind::User => &self.users,
        }
    }

    fn table_mut(&mut self, kind: Kind) -> &mut Table {
        match kind {
            Kind::Organization => &mut self.orgs,
            Kind::User => &mut self.users,
        }
    }

    /// A live record (soft-deleted users included: Zendesk still shows them).
    pub fn get(&self, kind: Kind, id: u64) -> Option<&Record> {
        self.table(kind).records.get(&id)
    }

    /// The record whose external id is `external_id` (case-insensitive).
    pub fn by_external_id(&self, kind: Kind, external_id: &str) -> Option<u64> {
        self.table(kind)
            .by_external
            .get(&external_id.to_lowercase())
            .copied()
    }

    /// The user whose email is `email` (case-insensitive).
    pub fn user_by_email(&self, email: &str) -> Option<u64> {
        self.users.by_key.get(&email.trim().to_lowercase()).copied()
    }

    /// The organization named `name` (trimmed; case as configured).
    pub fn org_by_name(&self, name: &str) -> Option<u64> {
        self.orgs.by_key.get(&self.name_key(name)).copied()
    }

    fn name_key(&self, name: &str) -> String {
        let name = name.trim();
        if self.org_name_case_insensitive {
            name.to_lowercase()
        } else {
            name.to_string()
        }
    }

    /// The uniqueness key of a record: its organization name or user email.
    fn key_of(&self, kind: Kind, record: &Record) -> Option<String> {
        match kind {
            Kind::Organization => record.text("name").map(|n| self.name_key(n)),
            Kind::User => record.text("email").map(str::to_lowercase),
        }
    }

    /// Creates a record from written changes; `id` and `created_at` may be given (bulk
    /// load). Answers the new id.
    pub fn create(
        &mut self,
        kind: Kind,
        changes: &Changes,
        now: i64,
        id: Option<u64>,
    ) -> Result<u64, Vec<FieldError>> {
        let id = match id {
            Some(id)
                if self.orgs.records.contains_key(&id) || self.users.records.contains_key(&id) =>
            {
                return Err(vec![FieldError::new(
                    "id",
                    "DuplicateValue",
                    format!("Id: {id} has already been taken"),
                )])
            }
            Some(id) => id,
            None => self.next_id,
        };
        let mut record = Record::blank(kind, &self.schema, id, now);
        apply(&mut record, changes);
        self.check(kind, &record, None)?;
        self.next_id = self.next_id.max(id + 1);
        self.index(kind, &record);
        self.table_mut(kind).records.insert(id, record);
        self.stats.created += 1;
        Ok(id)
    }

    /// Applies written changes to a live record; `updated_at` moves to `now` (never back).
    /// A write that changes nothing leaves the record, and its `updated_at`, alone, as a
    /// Rails save with no changes does.
    pub fn update(
        &mut self,
        kind: Kind,
        id: u64,
        changes: &Changes,
        now: i64,
    ) -> Result<(), WriteError> {
        let Some(old) = self.get(kind, id).cloned() else {
            return Err(WriteError::NotFound);
        };
        let mut record = old.clone();
        apply(&mut record, changes);
        if record.attrs == old.attrs && record.custom == old.custom {
            return Ok(());
        }
        self.check(kind, &record, Some(id))
            .map_err(WriteError::Invalid)?;
        record.updated_at = now.max(old.updated_at);
        self.replace(kind, &old, record);
        self.stats.updated += 1;
        Ok(())
    }

    /// Deletes a record as Zendesk does: an organization goes (its users lose their
    /// `organization_id`), kept as a tombstone for the export when so configured; a user
    /// is soft-deleted (`active: false`, `updated_at` bumped) and still shown.
    pub fn delete(&mut self, kind: Kind, id: u64, now: i64) -> Result<(), WriteError> {
        let Some(old) = self.get(kind, id).cloned() else {
            return Err(WriteError::NotFound);
        };
        match kind {
            Kind::User => {
                if old.attrs.get("active") == Some(&json!(false)) {
                    return Ok(());
                }
                let mut record = old.clone();
                record.attrs.insert("active".into(), json!(false));
                record.updated_at = now.max(old.updated_at);
                self.replace(kind, &old, record);
            }
            Kind::Organization => {
                self.unindex(kind, &old);
                self.orgs.records.remove(&id);
                if self.org_deletions == OrgDeletions::DeletedAt {
                    let mut tomb = old;
                    tomb.updated_at = now.max(tomb.updated_at);
                    tomb.deleted_at = Some(tomb.updated_at);
                    self.orgs.feed.insert((tomb.updated_at, id));
                    self.orgs.tombstones.insert(id, tomb);
                }
                let members: Vec<u64> = self
                    .users
                    .records
                    .values()
                    .filter(|u| u.attrs.get("organization_id") == Some(&json!(id)))
                    .map(|u| u.id)
                    .collect();
                for member in members {
                    let old = self.users.records[&member].clone();
                    let mut record = old.clone();
                    record.attrs.insert("organization_id".into(), Json::Null);
                    record.updated_at = now.max(old.updated_at);
                    self.replace(Kind::User, &old, record);
                }
            }
        }
        self.stats.deleted += 1;
        Ok(())
    }

    /// Sets a loaded record's own timestamps (admin load).
    pub fn restamp(&mut self, kind: Kind, id: u64, created_at: i64, updated_at: i64) {
        let Some(old) = self.get(kind, id).cloned() else {
            return;
        };
        let mut record = old.clone();
        record.created_at = created_at;
        record.updated_at = updated_at;
        self.replace(kind, &old, record);
    }

    /// Permanently deletes a soft-deleted user: scrubbed as Zendesk scrubs it (reference
    /// §8, UNVERIFIED) and reported once more by the export.
    pub fn purge_user(&mut self, id: u64, now: i64) -> Result<Record, WriteError> {
        let old = match self.get(Kind::User, id) {
            Some(r) if r.attrs.get("active") == Some(&json!(false)) => r.clone(),
            _ => return Err(WriteError::NotFound),
        };
        let mut record = old.clone();
        record
            .attrs
            .insert("name".into(), json!("Permanently Deleted User"));
        for attr in ["email", "external_id", "phone", "notes", "details"] {
            record.attrs.insert(attr.into(), Json::Null);
        }
        record.updated_at = now.max(old.updated_at);
        self.replace(Kind::User, &old, record.clone());
        self.stats.deleted += 1;
        Ok(record)
    }

    fn replace(&mut self, kind: Kind, old: &Record, new: Record) {
        self.unindex(kind, old);
        self.index(kind, &new);
        self.table_mut(kind).records.insert(new.id, new);
    }

    fn index(&mut self, kind: Kind, record: &Record) {
        let key = self.key_of(kind, record);
        let table = self.table_mut(kind);
        if let Some(external) = record.text("external_id") {
            table.by_external.insert(external.to_lowercase(), record.id);
        }
        if let Some(key) = key {
            table.by_key.insert(key, record.id);
        }
        table.feed.insert((record.updated_at, record.id));
    }

    fn unindex(&mut self, kind: Kind, record: &Record) {
        let key = self.key_of(kind, record);
        let table = self.table_mut(kind);
        if let Some(external) = record.text("external_id") {
            table.by_external.remove(&external.to_lowercase());
        }
        if let Some(key) = key {
            table.by_key.remove(&key);
        }
        table.feed.remove(&(record.updated_at, record.id));
    }

    /// Zendesk's save rules: a name, a well-formed unique email, a known role, an
    /// existing organization, unique organization names and external ids.
    fn check(&self, kind: Kind, record: &Record, own: Option<u64>) -> Result<(), Vec<FieldError>> {
        let mut problems = Vec::new();
        let taken_by_other = |found: Option<u64>| found.is_some_and(|id| Some(id) != own);
        match record.text("name").map(str::trim) {
            None | Some("") => problems.push(FieldError::new(
                "name",
                "BlankValue",
                "Name: cannot be blank",
            )),
            Some(name) if kind == Kind::Organization && taken_by_other(self.org_by_name(name)) => {
                problems.push(FieldError::new(
                    "name",
                    "DuplicateValue",
                    format!("Name: {name} has already been taken"),
                ))
            }
            Some(_) => {}
        }
        if let Some(external) = record.text("external_id") {
            if taken_by_other(self.by_external_id(kind, external)) {
                problems.push(FieldError::new(
                    "external_id",
                    "DuplicateValue",
                    format!("External: {external} has already been taken"),
                ));
            }
        }
        if kind == Kind::User {
            if let Some(email) = record.text("email") {
                if !valid_email(email) {
                    problems.push(FieldError::new(
                        "email",
                        "InvalidFormat",
                        format!("Email: {email} is not properly formatted"),
                    ));
                } else if taken_by_other(self.user_by_email(email)) {
                    problems.push(FieldError::new(
                        "email",
                        "DuplicateValue",
                        format!("Email: {email} is already being used by another user"),
                    ));
                }
            }
            if !matches!(record.text("role"), Some("end-user" | "agent" | "admin")) {
                problems.push(FieldError::new("role", "InvalidValue", "Role: is invalid"));
            }
            if let Some(org) = record.attrs.get("organization_id").and_then(Json::as_u64) {
                if !self.orgs.records.contains_key(&org) {
                    problems.push(FieldError::new(
                        "organization_id",
                        "InvalidValue",
                        format!("{}: is invalid", label("organization")),
                    ));
                }
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }

    /// Records of the export feed with `(updated_at, id)` in `from..`, changed no later
    /// than `until`, in feed order: live records and tombstones (and soft-deleted users
    /// unless `deleted_users_in_export` is off).
    pub fn feed(&self, kind: Kind, from: (i64, u64), until: i64) -> impl Iterator<Item = &Record> {
        let table = self.table(kind);
        let hide_inactive = kind == Kind::User && !self.deleted_users_in_export;
        table
            .feed
            .range(from..)
            .take_while(move |(t, _)| *t <= until)
            .filter_map(move |(_, id)| table.records.get(id).or_else(|| table.tombstones.get(id)))
            .filter(move |r| !(hide_inactive && r.attrs.get("active") == Some(&json!(false))))
    }

    /// How many live records of each kind (soft-deleted users counted apart).
    pub fn counts(&self) -> Json {
        let inactive = self
            .users
            .records
            .values()
            .filter(|u| u.attrs.get("active") == Some(&json!(false)))
            .count();
        json!({
            "organizations": {"live": self.orgs.records.len(), "deleted": self.orgs.tombstones.len()},
            "users": {"live": self.users.records.len() - inactive, "deleted": inactive},
        })
    }
}

/// Sets each written value; `updated_at`/`created_at` are the caller's.
fn apply(record: &mut Record, changes: &Changes) {
    for (name, value) in &changes.attrs {
        let value = match (*name, value) {
            ("email", Json::String(e)) => json!(e.trim().to_lowercase()),
            ("name", Json::String(n)) => json!(n.trim()),
            _ => value.clone(),
        };
        record.attrs.insert((*name).to_string(), value);
    }
    for (key, value) in &changes.custom {
        record.custom.insert(key.clone(), value.clone());
    }
}

/// `local@domain.tld` with no spaces.
fn valid_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !email.chars().any(char::is_whitespace)
        && !domain.contains('@')
        && domain
            .split_once('.')
            .is_some_and(|(a, b)| !a.is_empty() && !b.is_empty() && !b.ends_with('.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_checked_for_shape() {
        for (email, ok) in [
            ("jane@globex.example", true),
            ("jane@globex", false),
            ("jane globex.example", false),
            ("@globex.example", false),
            ("ja ne@globex.example", false),
            ("jane@@globex.example", false),
        ] {
            assert_eq!(valid_email(email), ok, "{email}");
        }
    }
}
