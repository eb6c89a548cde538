//! The save pipeline of a real org, in its order: field checks, required fields,
//! validation rules, field-update automations, uniqueness, then the write with audit
//! fields and a change-log entry.

use crate::decode::{decode_value, Decoded};
use crate::errors::{entity_deleted, SfError};
use crate::ids::Id;
use crate::schema::{AutomationAction, Kind, ObjectDef, Role, Transform};
use crate::schema::{FieldDef, ValidationRule};
use crate::store::{ChangeKind, Org, Record, Txn};
use crate::value::Value;

/// Who writes, when, and which side effects apply.
pub struct SaveCtx<'a> {
    pub now_ms: i64,
    pub user: Id,
    /// Decides whether this record write hits a simulated row-lock failure.
    pub lock_fault: &'a mut dyn FnMut() -> bool,
}

/// Why an upsert did not save.
#[derive(Debug)]
pub enum UpsertError {
    /// Several records have the external id value (HTTP 300).
    Multiple(Vec<Id>),
    Failed(SfError),
}

impl From<SfError> for UpsertError {
    fn from(e: SfError) -> Self {
        UpsertError::Failed(e)
    }
}

/// Creates a record from a decoded body.
pub fn create(
    org: &mut Org,
    txn: &mut Txn,
    table: usize,
    body: &Decoded,
    ctx: &mut SaveCtx,
) -> Result<Id, SfError> {
    if body.id.as_ref().is_some_and(|id| !id.is_null()) {
        return Err(SfError::on_fields(
            "INVALID_FIELD",
            "cannot specify Id in an insert call",
            vec!["Id".into()],
        ));
    }
    insert(org, txn, table, body, ctx)
}

fn insert(
    org: &mut Org,
    txn: &mut Txn,
    table: usize,
    body: &Decoded,
    ctx: &mut SaveCtx,
) -> Result<Id, SfError> {
    let schema = org.schema.clone();
    let object = &schema.objects[table];
    if let Some(e) = &body.error {
        return Err(e.clone());
    }
    refuse_fields(object, body, |f| f.createable)?;
    let mut values = defaults(object, ctx.user);
    for (index, value) in &body.fields {
        values[*index] = value.clone();
    }
    check_record(org, object, &mut values, None, true)?;
    let id = org.tables[table].new_id();
    finish_name(object, &mut values, id);
    check_unique(org, table, &values, None)?;
    if (ctx.lock_fault)() {
        return Err(lock_error(None));
    }
    let (seq, stamp) = org.stamp(ctx.now_ms);
    let sys = object.sys;
    values[sys.id] = Value::Id(id);
    values[sys.is_deleted] = Value::Bool(false);
    for at in [
        sys.created_date,
        sys.last_modified_date,
        sys.system_modstamp,
    ] {
        values[at] = Value::DateTime(stamp);
    }
    values[sys.created_by] = Value::Id(ctx.user);
    values[sys.last_modified_by] = Value::Id(ctx.user);
    org.write_new(txn, table, Record::new(id, values, seq, None), ctx.now_ms);
    Ok(id)
}

/// Updates a record; `table` must be the table the id belongs to.
pub fn update(
    org: &mut Org,
    txn: &mut Txn,
    table: usize,
    id: Id,
    body: &Decoded,
    ctx: &mut SaveCtx,
) -> Result<(), SfError> {
    let schema = org.schema.clone();
    let object = &schema.objects[table];
    let current = org.tables[table]
        .get(&id)
        .cloned()
        .ok_or_else(|| SfError::new("NOT_FOUND", "The requested resource does not exist"))?;
    if current.is_deleted() {
        return Err(entity_deleted());
    }
    if let Some(e) = &body.error {
        return Err(e.clone());
    }
    refuse_fields(object, body, |f| f.updateable)?;
    let mut values = current.values.to_vec();
    for (index, value) in &body.fields {
        values[*index] = value.clone();
    }
    check_record(org, object, &mut values, Some(&current), false)?;
    finish_name(object, &mut values, id);
    check_unique(org, table, &values, Some(id))?;
    if (ctx.lock_fault)() {
        return Err(lock_error(Some(id)));
    }
    let (seq, stamp) = org.stamp(ctx.now_ms);
    let sys = object.sys;
    values[sys.last_modified_date] = Value::DateTime(stamp);
    values[sys.system_modstamp] = Value::DateTime(stamp);
    values[sys.last_modified_by] = Value::Id(ctx.user);
    // CDC reports LastModifiedDate on every update, even within the same second.
    let changed = (0..values.len())
        .filter(|i| *i == sys.last_modified_date || values[*i] != current.values[*i])
        .collect();
    let record = Record::new(id, values, seq, None);
    org.write(txn, table, record, ChangeKind::Update, changed, ctx.now_ms);
    Ok(())
}

/// A live record about to be deleted, after the checks every delete makes.
fn deletable(
    org: &Org,
    id: Id,
    ctx: &mut SaveCtx,
) -> Result<(usize, std::sync::Arc<Record>), SfError> {
    let (table, current) = org
        .find(&id)
        .map(|(t, r)| (t, r.clone()))
        .ok_or_else(|| SfError::new("NOT_FOUND", "The requested resource does not exist"))?;
    if current.is_deleted() {
        return Err(entity_deleted());
    }
    if (ctx.lock_fault)() {
        return Err(lock_error(Some(id)));
    }
    Ok((table, current))
}

/// Deletes a record for good, skipping the recycle bin (Bulk API `hardDelete`).
pub fn hard_delete(org: &mut Org, txn: &mut Txn, id: Id, ctx: &mut SaveCtx) -> Result<(), SfError> {
    let (table, _) = deletable(org, id, ctx)?;
    let (seq, _) = org.stamp(ctx.now_ms);
    org.purge(txn, table, id, seq, ctx.now_ms);
    Ok(())
}

/// Brings a record back from the recycle bin; its change event lists every field it
/// fills, as an undelete event does.
pub fn undelete(org: &mut Org, txn: &mut Txn, id: Id, ctx: &mut SaveCtx) -> Result<(), SfError> {
    let (table, current) = org
        .find(&id)
        .map(|(t, r)| (t, r.clone()))
        .ok_or_else(|| SfError::new("NOT_FOUND", "The requested resource does not exist"))?;
    if !current.is_deleted() {
        return Err(SfError::new(
            "UNDELETE_FAILED",
            format!("Entity is not in the recycle bin: {id}"),
        ));
    }
    check_unique(org, table, &current.values, Some(id))?;
    let (seq, stamp) = org.stamp(ctx.now_ms);
    let sys = org.schema.objects[table].sys;
    let mut values = current.values.to_vec();
    values[sys.is_deleted] = Value::Bool(false);
    values[sys.last_modified_date] = Value::DateTime(stamp);
    values[sys.system_modstamp] = Value::DateTime(stamp);
    values[sys.last_modified_by] = Value::Id(ctx.user);
    let filled = (0..values.len())
        .filter(|i| !values[*i].is_blank())
        .collect();
    let record = Record::new(id, values, seq, None);
    org.write(txn, table, record, ChangeKind::Undelete, filled, ctx.now_ms);
    Ok(())
}

/// Moves a record to the recycle bin.
pub fn delete(org: &mut Org, txn: &mut Txn, id: Id, ctx: &mut SaveCtx) -> Result<(), SfError> {
    let (table, current) = deletable(org, id, ctx)?;
    let (seq, stamp) = org.stamp(ctx.now_ms);
    let sys = org.schema.objects[table].sys;
    let mut values = current.values.to_vec();
    values[sys.is_deleted] = Value::Bool(true);
    values[sys.system_modstamp] = Value::DateTime(stamp);
    let record = Record::new(id, values, seq, Some(stamp));
    org.write(
        txn,
        table,
        record,
        ChangeKind::Delete,
        Vec::new(),
        ctx.now_ms,
    );
    Ok(())
}

/// Inserts or updates by an external id (or `Id`) value; returns the id and whether it
/// was created.
pub fn upsert(
    org: &mut Org,
    txn: &mut Txn,
    table: usize,
    key_field: usize,
    key: &Value,
    body: &Decoded,
    ctx: &mut SaveCtx,
) -> Result<(Id, bool), UpsertError> {
    let matches = find_by(org, table, key_field, key);
    match matches.as_slice() {
        [] => {
            let object = &org.schema.objects[table];
            if object.fields[key_field].role == Role::Id && !key.is_blank() {
                return Err(
                    SfError::new("NOT_FOUND", "The requested resource does not exist").into(),
                );
            }
            let mut with_key = Decoded {
                id: None,
                fields: body.fields.clone(),
                error: body.error.clone(),
            };
            if object.fields[key_field].role != Role::Id {
                with_key.fields.retain(|(i, _)| *i != key_field);
                with_key.fields.push((key_field, key.clone()));
            }
            Ok((insert(org, txn, table, &with_key, ctx)?, true))
        }
        [one] => {
            let mut without_key = Decoded {
                id: None,
                fields: body.fields.clone(),
                error: body.error.clone(),
            };
            // Repeating the key value in the body is harmless.
            without_key
                .fields
                .retain(|(i, v)| !(*i == key_field && v == key));
            update(org, txn, table, *one, &without_key, ctx)?;
            Ok((*one, false))
        }
        many => Err(UpsertError::Multiple(many.to_vec())),
    }
}

/// Live records of `table` whose `field` equals `key` (index when there is one, else a scan).
pub fn find_by(org: &Org, table: usize, field: usize, key: &Value) -> Vec<Id> {
    let object = &org.schema.objects[table];
    let t = &org.tables[table];
    if object.fields[field].role == Role::Id {
        return match key {
            Value::Id(id) if t.get(id).is_some_and(|r| !r.is_deleted()) => vec![*id],
            _ => Vec::new(),
        };
    }
    if key.is_blank() {
        return Vec::new();
    }
    if object.fields[field].indexed() {
        return t
            .key_for(field, key)
            .map(|k| t.lookup(field, &k).to_vec())
            .unwrap_or_default();
    }
    let wanted = key.index_key(object.fields[field].case_sensitive);
    t.iter()
        .filter(|r| {
            !r.is_deleted()
                && r.values[field].index_key(object.fields[field].case_sensitive) == wanted
        })
        .map(|r| r.id)
        .collect()
}

fn refuse_fields(
    object: &ObjectDef,
    body: &Decoded,
    allowed: impl Fn(&FieldDef) -> bool,
) -> Result<(), SfError> {
    let refused: Vec<String> = body
        .fields
        .iter()
        .map(|(i, _)| &object.fields[*i])
        .filter(|f| !allowed(f))
        .map(|f| f.name.clone())
        .collect();
    if refused.is_empty() {
        return Ok(());
    }
    Err(SfError::on_fields(
        "INVALID_FIELD_FOR_INSERT_UPDATE",
        format!(
            "Unable to create/update fields: {}. Please check the security settings of this field and verify that it is read/write for your profile or permission set.",
            refused.join(", ")
        ),
        refused,
    ))
}

fn defaults(object: &ObjectDef, user: Id) -> Vec<Value> {
    object
        .fields
        .iter()
        .map(|f| match (&f.role, f.kind) {
            (Role::OwnerId, _) => Value::Id(user),
            (_, Kind::Boolean) => Value::Bool(false),
            _ => f
                .picklist
                .iter()
                .find(|p| p.default)
                .map(|p| Value::Text(p.value.as_str().into()))
                .unwrap_or(Value::Null),
        })
        .collect()
}

/// Checks that need the whole record: references, required fields, validation rules;
/// then runs automations (unless `before` is a bulk load).
fn check_record(
    org: &Org,
    object: &ObjectDef,
    values: &mut [Value],
    before: Option<&Record>,
    creating: bool,
) -> Result<(), SfError> {
    check_references(org, object, values, before)?;
    compose_names(object, values);
    let missing: Vec<String> = object
        .fields
        .iter()
        .zip(values.iter())
        .filter(|(f, v)| f.required && v.is_blank())
        .map(|(f, _)| f.name.clone())
        .collect();
    if !missing.is_empty() {
        return Err(SfError::on_fields(
            "REQUIRED_FIELD_MISSING",
            format!("Required fields are missing: [{}]", missing.join(", ")),
            missing,
        ));
    }
    for rule in &object.validation_rules {
        if violates(object, rule, values) {
            return Err(SfError::on_fields(
                "FIELD_CUSTOM_VALIDATION_EXCEPTION",
                rule.message.clone(),
                rule.error_field.iter().cloned().collect(),
            ));
        }
    }
    run_automations(org, object, values, creating);
    compose_names(object, values);
    Ok(())
}

fn check_references(
    org: &Org,
    object: &ObjectDef,
    values: &[Value],
    before: Option<&Record>,
) -> Result<(), SfError> {
    for (index, field) in object.fields.iter().enumerate() {
        if field.kind != Kind::Reference || field.is_system() {
            continue;
        }
        let Value::Id(id) = &values[index] else {
            continue;
        };
        if before.is_some_and(|r| r.values[index] == values[index]) {
            continue;
        }
        let on_field =
            |code, message: String| SfError::on_fields(code, message, vec![field.name.clone()]);
        let target_ok = field.reference_to.iter().any(|to| {
            if to == "User" {
                id.key_prefix() == "005"
            } else {
                org.schema
                    .object(to)
                    .is_some_and(|o| o.key_prefix == id.key_prefix())
            }
        });
        if !target_ok {
            return Err(on_field(
                "FIELD_INTEGRITY_EXCEPTION",
                format!("{}: id value of incorrect type: {id}", field.label),
            ));
        }
        let exists = if id.key_prefix() == "005" {
            *id == crate::ids::user_id()
        } else {
            match org.find(id) {
                Some((_, r)) if r.is_deleted() => return Err(entity_deleted()),
                Some(_) => true,
                None => false,
            }
        };
        if !exists {
            return Err(on_field(
                "INVALID_CROSS_REFERENCE_KEY",
                "invalid cross reference id".into(),
            ));
        }
    }
    Ok(())
}

/// Fills composed names (a Contact's `Name` from its parts) from the parts' values.
pub fn compose_names(object: &ObjectDef, values: &mut [Value]) {
    for (index, field) in object.fields.iter().enumerate() {
        if let Role::ComposedName(parts) = &field.role {
            let joined: Vec<String> = parts
                .iter()
                .filter_map(|p| values[*p].to_text())
                .filter(|s| !s.is_empty())
                .collect();
            values[index] = if joined.is_empty() {
                Value::Null
            } else {
                Value::Text(joined.join(" ").into())
            };
        }
    }
}

/// A custom object's Name defaults to the record id, as when the API omits it.
pub fn finish_name(object: &ObjectDef, values: &mut [Value], id: Id) {
    for (index, field) in object.fields.iter().enumerate() {
        if field.role == Role::RecordName && values[index].is_blank() {
            values[index] = Value::Text(id.as_str().into());
        }
    }
}

fn violates(object: &ObjectDef, rule: &ValidationRule, values: &[Value]) -> bool {
    use crate::schema::RuleCheck;
    let value_of = |name: &str| object.field_index(name).map(|i| &values[i]);
    match &rule.check {
        RuleCheck::Regex {
            field, compiled, ..
        } => match (value_of(field).and_then(Value::to_text), compiled) {
            (Some(text), Some(re)) if !text.is_empty() => !re.is_match(&text),
            _ => false,
        },
        RuleCheck::RequiredIf {
            field,
            when_field,
            equals,
        } => {
            let when = value_of(when_field).cloned().unwrap_or(Value::Null);
            let applies = match equals {
                None => !when.is_blank(),
                Some(expected) => {
                    let expected = match expected {
                        serde_json::Value::String(s) => Some(s.clone()),
                        serde_json::Value::Null => None,
                        other => Some(other.to_string()),
                    };
                    when.to_text() == expected
                }
            };
            applies && value_of(field).is_none_or(Value::is_blank)
        }
    }
}

fn run_automations(org: &Org, object: &ObjectDef, values: &mut [Value], creating: bool) {
    for automation in org
        .automations
        .iter()
        .filter(|a| a.object.eq_ignore_ascii_case(&object.name))
    {
        if !automation.runs_on(creating) {
            continue;
        }
        let Some(target) = object.field_index(&automation.field) else {
            continue;
        };
        if let Ok(value) = automation_value(object, &automation.action, values, target) {
            values[target] = value;
        }
    }
}

/// The value an automation sets, given the record being saved.
pub fn automation_value(
    object: &ObjectDef,
    action: &AutomationAction,
    values: &[Value],
    target: usize,
) -> Result<Value, String> {
    let field = &object.fields[target];
    let json = match action {
        AutomationAction::Set { value } => value.clone(),
        AutomationAction::Copy {
            copy_from,
            transform,
        } => {
            let source = object
                .field_index(copy_from)
                .ok_or_else(|| format!("{} has no field {copy_from}", object.name))?;
            match values[source].to_text() {
                None => serde_json::Value::Null,
                Some(text) => serde_json::Value::String(Transform::apply(*transform, &text)),
            }
        }
    };
    decode_value(field, &json).map_err(|e| e.errors[0].message.clone())
}

fn check_unique(
    org: &Org,
    table: usize,
    values: &[Value],
    this: Option<Id>,
) -> Result<(), SfError> {
    let object = &org.schema.objects[table];
    for (index, field) in object.fields.iter().enumerate() {
        if !field.unique || values[index].is_blank() {
            continue;
        }
        if let Some(other) = find_by(org, table, index, &values[index])
            .into_iter()
            .find(|id| Some(*id) != this)
        {
            return Err(SfError::on_fields(
                "DUPLICATE_VALUE",
                format!(
                    "duplicate value found: {} duplicates value on record with id: {other}",
                    field.name
                ),
                Vec::new(),
            ));
        }
    }
    Ok(())
}

/// `UNABLE_TO_LOCK_ROW`, the retryable contention error.
pub fn lock_error(id: Option<Id>) -> SfError {
    let message = match id {
        Some(id) => format!("unable to obtain exclusive access to this record or 1 records: {id}"),
        None => "unable to obtain exclusive access to this record".to_string(),
    };
    SfError::on_fields("UNABLE_TO_LOCK_ROW", message, Vec::new())
}
