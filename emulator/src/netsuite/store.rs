//! The account's records: customers and contacts (one internal-id space, as entities
//! share one), subsidiaries they reference, and the deleted-record table. Every write
//! goes through [`Store::write`], which checks the body against the schema and the
//! account's rules (required fields, references, unique `entityId` and `externalId`)
//! before anything changes, so a refused write leaves no trace.

use super::errors::NsError;
use super::schema::{Field, FieldType, RecordType, Schema, Target};
use super::{Options, PropertyValidation};
use crate::store::WriteStats;
use serde_json::{Map, Value as Json};
use std::collections::{BTreeMap, HashMap};

/// What must be unique among the records of a type: the `entityId` (for contacts,
/// within their company), and the `externalId`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Unique {
    Entity(RecordType, String, Option<String>),
    External(RecordType, String),
}

/// The unique keys of a record's values.
fn unique_keys(kind: RecordType, values: &BTreeMap<String, Json>) -> Vec<Unique> {
    let text = |name: &str| values.get(name).and_then(Json::as_str).map(String::from);
    let mut keys = Vec::with_capacity(2);
    if let Some(entity) = text("entityId") {
        let company = match kind {
            RecordType::Customer => None,
            RecordType::Contact => text("company"),
        };
        keys.push(Unique::Entity(kind, entity, company));
    }
    if let Some(external) = text("externalId") {
        keys.push(Unique::External(kind, external));
    }
    keys
}

/// One customer or contact. `values` holds body fields by REST name; references hold
/// the target's internal id as a string.
#[derive(Debug, Clone)]
pub struct Record {
    /// Internal id (one space for all entities).
    pub id: u64,
    /// Body fields by REST name.
    pub values: BTreeMap<String, Json>,
    /// `dateCreated`, epoch ms (whole seconds).
    pub created_ms: i64,
    /// `lastModifiedDate`, epoch ms (whole seconds).
    pub modified_ms: i64,
}

impl Record {
    /// A text field's value.
    pub fn text(&self, name: &str) -> Option<&str> {
        self.values.get(name).and_then(Json::as_str)
    }
}

/// A row of the `deletedrecord` table.
#[derive(Debug, Clone)]
pub struct Deleted {
    /// `recordid`.
    pub record_id: u64,
    /// `type`.
    pub kind: RecordType,
    /// `deleteddate`, epoch ms.
    pub deleted_ms: i64,
    /// `name`: the deleted record's `entityId`.
    pub name: Option<String>,
}

/// Everything stored.
pub struct Store {
    next_id: u64,
    customers: BTreeMap<u64, Record>,
    contacts: BTreeMap<u64, Record>,
    /// Reference targets of `subsidiary`: id → name.
    pub subsidiaries: BTreeMap<u64, String>,
    /// Index of the unique keys, so uniqueness checks and `eid:` lookups cost no scan.
    unique: HashMap<Unique, u64>,
    /// The `deletedrecord` table, oldest first.
    pub deleted: Vec<Deleted>,
    /// Writes so far.
    pub stats: WriteStats,
}

/// How a write treats the body.
pub struct WriteCtx<'a> {
    pub schema: &'a Schema,
    pub options: &'a Options,
    /// Unknown property names: refused, or ignored.
    pub validation: PropertyValidation,
    pub now_ms: i64,
}

impl Store {
    /// An account with one subsidiary (`1`, "Parent Company").
    pub fn new() -> Store {
        Store {
            next_id: 101,
            customers: BTreeMap::new(),
            contacts: BTreeMap::new(),
            subsidiaries: BTreeMap::from([(1, "Parent Company".to_string())]),
            unique: HashMap::new(),
            deleted: Vec::new(),
            stats: WriteStats::default(),
        }
    }

    /// The records of a type, by internal id.
    pub fn table(&self, kind: RecordType) -> &BTreeMap<u64, Record> {
        match kind {
            RecordType::Customer => &self.customers,
            RecordType::Contact => &self.contacts,
        }
    }

    fn table_mut(&mut self, kind: RecordType) -> &mut BTreeMap<u64, Record> {
        match kind {
            RecordType::Customer => &mut self.customers,
            RecordType::Contact => &mut self.contacts,
        }
    }

    /// The internal id of the record with this external id.
    pub fn by_external_id(&self, kind: RecordType, external: &str) -> Option<u64> {
        self.unique
            .get(&Unique::External(kind, external.to_string()))
            .copied()
    }

    /// The `refName` of a reference.
    pub fn ref_name(&self, target: Target, id: &str) -> Option<String> {
        let id: u64 = id.parse().ok()?;
        match target {
            Target::Subsidiary => self.subsidiaries.get(&id).cloned(),
            Target::Customer => self
                .customers
                .get(&id)
                .map(|r| r.text("entityId").unwrap_or_default().to_string()),
        }
    }

    /// Creates (`id` None) or updates a record from a JSON body; returns its id.
    /// Updates merge: omitted fields stay, `null` clears.
    pub fn write(
        &mut self,
        ctx: &WriteCtx,
        kind: RecordType,
        id: Option<u64>,
        body: &Map<String, Json>,
    ) -> Result<u64, NsError> {
        let existing =
            match id {
                Some(id) => Some(self.table(kind).get(&id).ok_or_else(|| {
                    super::errors::nonexistent(&ctx.options.nonexistent_id_detail)
                })?),
                None => None,
            };
        let mut values = match existing {
            Some(record) => record.values.clone(),
            // NetSuite fills the checkboxes of a new record.
            None => {
                let mut defaults = BTreeMap::from([("isinactive".to_string(), Json::Bool(false))]);
                if kind == RecordType::Customer {
                    defaults.insert("isPerson".into(), Json::Bool(false));
                }
                defaults
            }
        };
        for (name, value) in body {
            let Some(field) = ctx.schema.field(kind, name) else {
                if name == "links" || name == "id" || ctx.validation != PropertyValidation::Error {
                    continue;
                }
                return Err(NsError::content(
                    name,
                    format!(
                        "Invalid field name '{name}' for record type '{}'.",
                        kind.name()
                    ),
                ));
            };
            match self.coerce(field, value)? {
                Some(v) => {
                    values.insert(field.name.clone(), v);
                }
                None => {
                    values.remove(&field.name);
                }
            }
        }
        self.check(ctx, kind, id, &mut values)?;
        let now = ctx.now_ms.div_euclid(1000) * 1000;
        let id = match id {
            Some(id) => {
                let record = self.table_mut(kind).get_mut(&id).expect("checked above");
                let old = std::mem::replace(&mut record.values, values);
                record.modified_ms = now;
                let new = unique_keys(kind, &record.values);
                for key in unique_keys(kind, &old) {
                    self.unique.remove(&key);
                }
                self.unique.extend(new.into_iter().map(|key| (key, id)));
                self.stats.updated += 1;
                id
            }
            None => {
                let id = self.next_id;
                self.next_id += 1;
                let record = Record {
                    id,
                    values,
                    created_ms: now,
                    modified_ms: now,
                };
                self.unique.extend(
                    unique_keys(kind, &record.values)
                        .into_iter()
                        .map(|key| (key, id)),
                );
                self.table_mut(kind).insert(id, record);
                self.stats.created += 1;
                id
            }
        };
        Ok(id)
    }

    /// A body value as stored (`None`: cleared), or `INVALID_CONTENT` at its path.
    fn coerce(&self, field: &Field, value: &Json) -> Result<Option<Json>, NsError> {
        let name = &field.name;
        let invalid = || {
            NsError::content(
                name,
                format!("You have entered an Invalid Field Value {value} for the following field: {name}"),
            )
        };
        if value.is_null() {
            return Ok(None);
        }
        let ok = match field.kind {
            FieldType::Stamp => return Ok(None),
            FieldType::Text => value.is_string(),
            FieldType::Bool => value.is_boolean(),
            FieldType::Integer => value.is_i64() || value.is_u64(),
            FieldType::Float => value.is_number(),
            FieldType::Date => value.as_str().is_some_and(|s| {
                super::timefmt::parse(s, "YYYY-MM-DD", 0).is_ok() && s.len() == 10
            }),
            FieldType::DateTime => {
                let ms = value.as_str().and_then(super::timefmt::parse_iso);
                return ms
                    .map(|ms| Some(Json::String(super::timefmt::iso(ms))))
                    .ok_or_else(invalid);
            }
            FieldType::Ref(target) => {
                let id = match &value["id"] {
                    Json::String(s) => s.clone(),
                    Json::Number(n) => n.to_string(),
                    _ => return Err(invalid()),
                };
                if self.ref_name(target, &id).is_none() {
                    return Err(NsError::content(
                        name,
                        format!("You have entered an Invalid Field Value {id} for the following field: {name}"),
                    ));
                }
                return Ok(Some(Json::String(id)));
            }
        };
        if ok {
            Ok(Some(value.clone()))
        } else {
            Err(invalid())
        }
    }

    /// The account's rules over a whole record: required fields, the derived
    /// `entityId`, and uniqueness.
    fn check(
        &self,
        ctx: &WriteCtx,
        kind: RecordType,
        id: Option<u64>,
        values: &mut BTreeMap<String, Json>,
    ) -> Result<(), NsError> {
        let text = |values: &BTreeMap<String, Json>, name: &str| {
            values
                .get(name)
                .and_then(Json::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
        };
        let require = |label: &str| {
            NsError::user(format!(
                "Error while accessing a resource. You must enter a value for {label}."
            ))
        };
        let person_name = match (text(values, "firstName"), text(values, "lastName")) {
            (Some(f), Some(l)) => Some(format!("{f} {l}")),
            (f, l) => f.or(l),
        };
        let derived = match kind {
            RecordType::Customer => {
                if values.get("isPerson") == Some(&Json::Bool(true)) {
                    if text(values, "firstName").is_none() {
                        return Err(require("First Name"));
                    }
                    if text(values, "lastName").is_none() {
                        return Err(require("Last Name"));
                    }
                    person_name
                } else {
                    let company =
                        text(values, "companyName").ok_or_else(|| require("Company Name"))?;
                    Some(company)
                }
            }
            RecordType::Contact => {
                for name in &ctx.options.contact_required {
                    if !values.contains_key(name) {
                        let label = ctx
                            .schema
                            .field(kind, name)
                            .map_or(name.as_str(), |f| f.label.as_str());
                        return Err(require(label));
                    }
                }
                person_name.or_else(|| text(values, "entityId"))
            }
        };
        if ctx.options.require_subsidiary && !values.contains_key("subsidiary") {
            return Err(NsError::user(
                "Error while accessing a resource. Please enter value(s) for: Primary Subsidiary.",
            ));
        }
        if text(values, "entityId").is_none() {
            let name = derived.ok_or_else(|| require("Name"))?;
            values.insert("entityId".into(), Json::String(name));
        }
        let taken = unique_keys(kind, values)
            .iter()
            .any(|key| self.unique.get(key).is_some_and(|owner| Some(*owner) != id));
        if taken {
            return Err(NsError::user(ctx.options.duplicate_detail.clone()));
        }
        Ok(())
    }

    /// Deletes a record and writes its `deletedrecord` row. Contacts of a deleted
    /// customer lose their `company` (UNVERIFIED: NetSuite may refuse instead).
    pub fn delete(&mut self, kind: RecordType, id: u64, now_ms: i64) -> Option<Record> {
        let record = self.table_mut(kind).remove(&id)?;
        for key in unique_keys(kind, &record.values) {
            self.unique.remove(&key);
        }
        if kind == RecordType::Customer {
            let key = Json::String(id.to_string());
            for contact in self.contacts.values_mut() {
                if contact.values.get("company") == Some(&key) {
                    for old in unique_keys(RecordType::Contact, &contact.values) {
                        self.unique.remove(&old);
                    }
                    contact.values.remove("company");
                    for new in unique_keys(RecordType::Contact, &contact.values) {
                        self.unique.entry(new).or_insert(contact.id);
                    }
                }
            }
        }
        self.deleted.push(Deleted {
            record_id: id,
            kind,
            deleted_ms: now_ms.div_euclid(1000) * 1000,
            name: record.text("entityId").map(String::from),
        });
        self.stats.deleted += 1;
        Some(record)
    }

    /// Sets the stamps of a loaded record (admin load only).
    pub fn set_stamps(
        &mut self,
        kind: RecordType,
        id: u64,
        created: Option<i64>,
        modified: Option<i64>,
    ) {
        if let Some(record) = self.table_mut(kind).get_mut(&id) {
            if let Some(c) = created {
                record.created_ms = c;
            }
            if let Some(m) = modified {
                record.modified_ms = m;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(value: Json) -> Map<String, Json> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn unique_keys_follow_updates_and_deletes() {
        let schema = Schema::default();
        let options = Options::default();
        let ctx = WriteCtx {
            schema: &schema,
            options: &options,
            validation: PropertyValidation::Error,
            now_ms: 1_000,
        };
        let mut store = Store::new();
        let sub = json!({"id": "1"});
        let mut put = |kind, id, value: Json| store.write(&ctx, kind, id, &body(value));
        let customer = |name: &str, external: &str| json!({"companyName": name, "externalId": external, "subsidiary": {"id": "1"}});
        let a = put(RecordType::Customer, None, customer("A", "x")).unwrap();
        let taken = put(RecordType::Customer, None, customer("B", "x"));
        assert_eq!(taken.unwrap_err().code, "USER_ERROR");
        // Renaming frees the old name and external id.
        put(
            RecordType::Customer,
            Some(a),
            json!({"entityId": "A2", "externalId": "y"}),
        )
        .unwrap();
        let b = put(RecordType::Customer, None, customer("A", "x")).unwrap();
        // Contacts are unique per company; deleting the company detaches them.
        let jane = |company: u64| json!({"firstName": "Jane", "lastName": "Roe", "subsidiary": sub, "company": {"id": company.to_string()}});
        let c = put(RecordType::Contact, None, jane(a)).unwrap();
        assert!(put(RecordType::Contact, None, jane(a)).is_err());
        assert!(put(RecordType::Contact, None, jane(b)).is_ok());
        assert_eq!(store.by_external_id(RecordType::Customer, "x"), Some(b));
        assert_eq!(store.by_external_id(RecordType::Customer, "y"), Some(a));
        store.delete(RecordType::Customer, a, 2_000).unwrap();
        assert_eq!(store.by_external_id(RecordType::Customer, "y"), None);
        assert!(!store.table(RecordType::Contact)[&c]
            .values
            .contains_key("company"));
        assert_eq!(store.deleted.len(), 1);
        assert_eq!(store.deleted[0].deleted_ms, 2_000);
    }
}
