//! The mapping engine's entry point: built once per sync from the config, the local table
//! and the Salesforce describe, then used for every record in both directions.

use super::build;
use super::datum::Datum;
use super::outcome::{FieldIssue, PushOp, RecordOutcome, Rejection};
use super::phone::PhoneRegion;
use super::plan::{FieldPlan, Way};
use super::rules::Rule;
use super::selection;
use crate::config::{ConflictPolicy, NullHandling, OnError, SyncConfig, TimestampFormat};
use crate::connector::describe::ObjectDescribe;
use crate::problem::{child_path, index_path, Problem, ProblemKind};
use crate::schema::LocalTable;
use serde_json::{Map, Value};

/// Salesforce bookkeeping fields every pull reads when the object has them.
const SYSTEM_FIELDS: [&str; 3] = ["SystemModstamp", "LastModifiedDate", "IsDeleted"];

/// A sync's mappings, resolved and compiled: converts records, validates them and judges
/// whether a local and a remote value agree.
#[derive(Debug, Clone)]
pub struct Mapper {
    plans: Vec<FieldPlan>,
    format: TimestampFormat,
    nulls: NullHandling,
    region: PhoneRegion,
    select: Vec<String>,
}

/// The upsert key: a Salesforce External ID field and the local column holding its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExternalId<'a> {
    pub field: &'a str,
    pub column: &'a str,
}

impl Mapper {
    /// Checks every selected mapping and validation rule against the table and the describe
    /// (undefined names 42703, type mismatches 42804, read-only fields in a push-only sync,
    /// lossy transforms on two-way mappings, bad patterns 22023) and compiles them.
    pub fn new(
        config: &SyncConfig,
        table: &LocalTable,
        describe: &ObjectDescribe,
    ) -> Result<Mapper, Vec<Problem>> {
        let mut problems = Vec::new();
        let region = match PhoneRegion::parse(&config.mapping_options.default_phone_region) {
            Ok(region) => Some(region),
            Err(e) => {
                problems.push(Problem::invalid("mapping_options.default_phone_region", e));
                None
            }
        };
        let mut indexed: Vec<(usize, FieldPlan)> = Vec::new();
        for (index, mapping) in config.mappings.iter().enumerate() {
            if !selection::is_selected(&config.field_selection, mapping) {
                continue;
            }
            match build::plan(config, table, describe, index, mapping) {
                Ok(plan) => indexed.push((index, plan)),
                Err(found) => problems.extend(found),
            }
        }
        problems.extend(clashes(&indexed));
        let mut plans: Vec<FieldPlan> = indexed.into_iter().map(|(_, plan)| plan).collect();
        attach_rules(config, table, &mut plans, &mut problems);
        match region {
            Some(region) if problems.is_empty() => Ok(Mapper {
                select: select_fields(config, describe, &plans),
                plans,
                format: config.mapping_options.timestamp_format,
                nulls: config.mapping_options.handle_nulls,
                region,
            }),
            _ => Err(problems),
        }
    }

    /// Salesforce field values for a create or an update of this local row. Updates carry
    /// only the changed, updateable fields; the Id and read-only fields are never written.
    pub fn to_remote(
        &self,
        row: &Map<String, Value>,
        op: PushOp<'_>,
    ) -> RecordOutcome<Map<String, Value>> {
        let creating = op == PushOp::Create;
        let fields = self.plans.iter().filter(|plan| match op {
            PushOp::Create => plan.push_create,
            PushOp::Update { changed } => plan.push_update && changed.contains(&plan.local),
        });
        let mut outcome = RecordOutcome::new();
        for plan in fields {
            let Some(input) = row.get(&plan.local) else {
                continue;
            };
            match self.map_field(plan, Way::Push, input, creating, &mut outcome) {
                Ok(Some(value)) => {
                    outcome.value.insert(plan.remote.clone(), value);
                }
                Ok(None) => {}
                Err(rejection) => return outcome.reject(*rejection),
            }
        }
        outcome
    }

    /// Local column values for this Salesforce record (the id column included), ready for
    /// `jsonb_populate_record`. Fields absent from the record are left out.
    pub fn to_local(&self, record: &Map<String, Value>) -> RecordOutcome<Map<String, Value>> {
        let mut outcome = RecordOutcome::new();
        for plan in self.plans.iter().filter(|plan| plan.pull) {
            let Some(input) = field_value(record, &plan.remote) else {
                continue;
            };
            match self.map_field(plan, Way::Pull, input, false, &mut outcome) {
                Ok(Some(value)) => {
                    outcome.value.insert(plan.local.clone(), value);
                }
                Ok(None) => {}
                Err(rejection) => return outcome.reject(*rejection),
            }
        }
        outcome
    }

    /// One local value as Salesforce would store it (transform and coercion, no rules).
    pub fn local_to_remote_value(
        &self,
        column: &str,
        value: &Value,
    ) -> Result<Value, Box<Rejection>> {
        let plan = self.plan(column).ok_or_else(|| unmapped(column, value))?;
        plan.convert(Way::Push, value, self.format)
            .map_err(|e| issue(plan, e.rule, value, e.message))
    }

    /// One Salesforce value as the local column would store it (transform and coercion, no rules).
    pub fn remote_to_local_value(
        &self,
        column: &str,
        value: &Value,
    ) -> Result<Value, Box<Rejection>> {
        let plan = self.plan(column).ok_or_else(|| unmapped(column, value))?;
        plan.convert(Way::Pull, value, self.format)
            .map_err(|e| issue(plan, e.rule, value, e.message))
    }

    /// Whether the local column's value and its Salesforce field's value hold the same
    /// information, so neither needs writing (echo suppression) and a change on both sides
    /// to these values is no conflict. See `docs/mapping.md` for how each type compares.
    pub fn values_agree(&self, column: &str, local: &Value, remote: &Value) -> bool {
        match self.plan(column) {
            Some(plan) => plan.agree(local, remote, self.format),
            None => local == remote,
        }
    }

    /// Whether two *local* values of a column hold the same information, e.g. a phone
    /// number typed two ways; what conflict detection compares local versions with.
    pub fn local_values_agree(&self, column: &str, a: &Value, b: &Value) -> bool {
        a == b
            || self
                .local_to_remote_value(column, b)
                .is_ok_and(|remote| self.values_agree(column, a, &remote))
    }

    /// Remote fields for the SOQL select list: `Id`, every selected mapped field, the
    /// bookkeeping fields (`SystemModstamp`, `LastModifiedDate`, `IsDeleted`) and the conflict
    /// policy's timestamp field, where the object has them.
    pub fn select_fields(&self) -> Vec<String> {
        self.select.clone()
    }

    /// Remote fields this sync may write (creates or updates).
    pub fn push_fields(&self) -> Vec<String> {
        self.plans
            .iter()
            .filter(|p| p.pushes())
            .map(|p| p.remote.clone())
            .collect()
    }

    /// Local columns whose changes can reach Salesforce: like [`super::captured_columns`],
    /// but without columns mapped to read-only fields, which the describe reveals.
    pub fn push_columns(&self) -> Vec<String> {
        self.plans
            .iter()
            .filter(|p| p.pushes())
            .map(|p| p.local.clone())
            .collect()
    }

    /// Local columns [`Mapper::to_local`] may write.
    pub fn pull_columns(&self) -> Vec<String> {
        self.plans
            .iter()
            .filter(|p| p.pull)
            .map(|p| p.local.clone())
            .collect()
    }

    /// The local column holding the Salesforce record id, if the config maps `Id`.
    pub fn id_column(&self) -> Option<&str> {
        self.plans
            .iter()
            .find(|p| p.is_id)
            .map(|p| p.local.as_str())
    }

    /// The External ID field used as the upsert key, if a mapping is marked `external_id`.
    pub fn external_id(&self) -> Option<ExternalId<'_>> {
        self.plans
            .iter()
            .find(|p| p.external_id)
            .map(|p| ExternalId {
                field: &p.remote,
                column: &p.local,
            })
    }

    /// The Salesforce field mapped to a local column.
    pub fn field_for_column(&self, column: &str) -> Option<&str> {
        self.plan(column).map(|p| p.remote.as_str())
    }

    /// The local column mapped to a Salesforce field (names compared case-insensitively).
    pub fn column_for_field(&self, field: &str) -> Option<&str> {
        self.plans
            .iter()
            .find(|p| p.remote.eq_ignore_ascii_case(field))
            .map(|p| p.local.as_str())
    }

    fn plan(&self, column: &str) -> Option<&FieldPlan> {
        self.plans.iter().find(|p| p.local == column)
    }

    /// Converts, null-handles and validates one field; `Ok(None)` leaves it out.
    fn map_field(
        &self,
        plan: &FieldPlan,
        way: Way,
        input: &Value,
        creating: bool,
        outcome: &mut RecordOutcome<Map<String, Value>>,
    ) -> Result<Option<Value>, Box<Rejection>> {
        let datum = plan
            .carry(way, input, self.format)
            .map_err(|e| issue(plan, e.rule, input, e.message))?;
        let mut written = if datum.is_null() {
            self.null_value(plan, way, creating, input)?
        } else {
            let value = plan
                .write(way, datum, self.format)
                .map_err(|e| issue(plan, e.rule, input, e.message))?;
            Some(value)
        };
        for rule in &plan.rules {
            let current = written.clone().unwrap_or(Value::Null);
            if rule.passes(&current) {
                continue;
            }
            let failure = issue(
                plan,
                rule.name(),
                &current,
                format!("column \"{}\" {}", plan.local, rule.describe()),
            );
            match rule.on_error {
                OnError::RejectRecord => return Err(failure),
                OnError::Warn => outcome.warnings.push(*failure),
                OnError::SkipField => {
                    outcome.skipped.push(plan.local.clone());
                    return Ok(None);
                }
                OnError::StandardizeFormat => {
                    let fixed = self.standardize(plan, way, rule, &current);
                    written = Some(fixed.ok_or_else(|| {
                        Box::new(FieldIssue {
                            message: format!("{} and could not be standardized", failure.message),
                            ..*failure
                        })
                    })?);
                }
            }
        }
        Ok(written)
    }

    /// What a null becomes under `handle_nulls`: `None` leaves the field out.
    fn null_value(
        &self,
        plan: &FieldPlan,
        way: Way,
        creating: bool,
        input: &Value,
    ) -> Result<Option<Value>, Box<Rejection>> {
        // A new Salesforce record has nothing to clear; `default` leaves nulls to the
        // column/field default (a `default` transform has already filled in its value).
        let write_null = self.nulls == NullHandling::Preserve && !(way == Way::Push && creating);
        if !write_null {
            return Ok(None);
        }
        if way == Way::Pull && plan.local_not_null {
            return Err(issue(
                plan,
                "not_null",
                input,
                format!(
                    "column \"{}\" is NOT NULL but Salesforce field {} is empty; give it a value in Salesforce, \
                     add a default transformation, or set handle_nulls to ignore",
                    plan.local, plan.remote
                ),
            ));
        }
        plan.write(way, Datum::Null, self.format)
            .map(Some)
            .map_err(|e| issue(plan, e.rule, input, e.message))
    }

    /// The first rewrite of a failing value that the destination accepts and the rule passes.
    fn standardize(&self, plan: &FieldPlan, way: Way, rule: &Rule, value: &Value) -> Option<Value> {
        rule.standardize(value, self.region)
            .into_iter()
            .filter_map(|candidate| plan.write(way, Datum::Text(candidate), self.format).ok())
            .find(|candidate| rule.passes(candidate))
    }
}

fn issue(plan: &FieldPlan, rule: &str, value: &Value, message: String) -> Box<FieldIssue> {
    Box::new(FieldIssue {
        rule: rule.to_string(),
        field: plan.local.clone(),
        value: value.clone(),
        message,
    })
}

fn unmapped(column: &str, value: &Value) -> Box<Rejection> {
    Box::new(FieldIssue {
        rule: "coercion".to_string(),
        field: column.to_string(),
        value: value.clone(),
        message: format!("column \"{column}\" is not mapped by this sync"),
    })
}

/// A record's value for a field; REST returns canonical case, but accept any (the
/// configured `LastModifiedDate` is NetSuite's `lastModifiedDate`).
pub fn field_value<'a>(record: &'a Map<String, Value>, field: &str) -> Option<&'a Value> {
    record.get(field).or_else(|| {
        record
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(field))
            .map(|(_, value)| value)
    })
}

/// Two mappings writing the same column on pull, or the same field on push.
fn clashes(plans: &[(usize, FieldPlan)]) -> Vec<Problem> {
    let mut problems = Vec::new();
    for (i, (index, plan)) in plans.iter().enumerate() {
        let earlier = &plans[..i];
        let path = index_path("field_mappings", *index);
        if let Some((first, _)) = earlier
            .iter()
            .find(|(_, p)| p.pull && plan.pull && p.local == plan.local)
        {
            problems.push(Problem::new(
                ProblemKind::DuplicateObject,
                path.clone(),
                format!(
                    "column \"{}\" is also written by field_mappings[{first}] when pulling; map each column from one field",
                    plan.local
                ),
            ));
        }
        if let Some((first, _)) = earlier
            .iter()
            .find(|(_, p)| p.pushes() && plan.pushes() && p.remote == plan.remote)
        {
            problems.push(Problem::new(
                ProblemKind::DuplicateObject,
                path,
                format!(
                    "field {} is also written by field_mappings[{first}] when pushing; push each field from one column",
                    plan.remote
                ),
            ));
        }
    }
    problems
}

/// Compiles each validation rule onto the plan of its column.
fn attach_rules(
    config: &SyncConfig,
    table: &LocalTable,
    plans: &mut [FieldPlan],
    problems: &mut Vec<Problem>,
) {
    for (index, rule) in config.validation_rules.iter().enumerate() {
        let compiled = match Rule::new(rule, index) {
            Ok(compiled) => compiled,
            Err(problem) => {
                problems.push(problem);
                continue;
            }
        };
        if let Some(plan) = plans.iter_mut().find(|p| p.local == rule.local) {
            plan.rules.push(compiled);
            continue;
        }
        let path = child_path(&index_path("validation_rules", index), "field");
        problems.push(if table.column(&rule.local).is_none() {
            Problem::new(
                ProblemKind::UndefinedColumn,
                path,
                format!("column \"{}\" does not exist in table {}.{}", rule.local, table.schema, table.name),
            )
        } else {
            Problem::invalid(
                path,
                format!(
                    "column \"{}\" is not synced by any selected field mapping, so this rule would never run; map it or remove the rule",
                    rule.local
                ),
            )
        });
    }
}

/// The SOQL select list, in a stable order without duplicates.
fn select_fields(
    config: &SyncConfig,
    describe: &ObjectDescribe,
    plans: &[FieldPlan],
) -> Vec<String> {
    let mut fields: Vec<String> = Vec::new();
    let mut add = |name: &str| {
        if let Some(field) = describe.field(name) {
            if !fields.iter().any(|f| f.eq_ignore_ascii_case(&field.name)) {
                fields.push(field.name.clone());
            }
        }
    };
    add("Id");
    plans.iter().for_each(|p| add(&p.remote));
    SYSTEM_FIELDS.iter().for_each(|f| add(f));
    if let Some(field) = conflict_timestamp_field(&config.conflict) {
        add(field);
    }
    fields
}

fn conflict_timestamp_field(policy: &ConflictPolicy) -> Option<&str> {
    match policy {
        ConflictPolicy::LastWriteWins {
            timestamp_field, ..
        } => Some(timestamp_field),
        ConflictPolicy::FieldLevelPriority { default, .. } => conflict_timestamp_field(default),
        ConflictPolicy::SideWins { .. } | ConflictPolicy::Manual => None,
    }
}
