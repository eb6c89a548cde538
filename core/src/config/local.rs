//! Checks of a parsed sync against the local table it names.
//!
//! The parser cannot see the database; the extension reads the table from the catalog
//! into a [`LocalTable`] and these checks decide whether the sync can work on it:
//! mapped columns exist and can hold their values, rows can be identified, and the
//! caller may do what the sync's direction needs.

use super::model::{FieldMapping, LocalEndpoint, SyncConfig, Transform};
use super::suggest::did_you_mean;
use crate::problem::{Problem, ProblemKind};
use crate::schema::{LocalColumn, LocalTable, PgType};

/// Remote fields whose type is known without a describe: Salesforce audit timestamps.
const AUDIT_TIMESTAMPS: &[&str] = &["CreatedDate", "LastModifiedDate", "SystemModstamp"];
/// Length of a Salesforce record id in its case-safe form.
const ID_LENGTH: u32 = 18;

/// The 42P01 problem for a sync whose local table does not exist.
pub fn missing_table(local: &LocalEndpoint) -> Problem {
    let name = match &local.schema {
        Some(schema) => format!("{schema}.{}", local.table),
        None => local.table.clone(),
    };
    Problem::new(
        ProblemKind::UndefinedTable,
        local.table_path(),
        format!("relation \"{name}\" does not exist; create the table before the sync"),
    )
}

/// Every problem the sync would have with `table`; empty when it can run.
pub fn check_local(config: &SyncConfig, table: &LocalTable) -> Vec<Problem> {
    let at = Site { config, table };
    let mut problems = Vec::new();
    problems.extend(at.primary_key());
    for mapping in &config.mappings {
        problems.extend(at.mapped_column(mapping));
    }
    problems.extend(at.rule_columns());
    problems.extend(at.unfillable_columns());
    problems.extend(at.rights(true));
    problems
}

/// The rights the sync's owner lacks for the worker to run the sync, which acts as that
/// role; `None` when it has them all. (TRIGGER is needed only to install the triggers.)
pub fn missing_rights(config: &SyncConfig, table: &LocalTable) -> Option<Problem> {
    Site { config, table }.rights(false)
}

/// A sync and the table it is checked against.
struct Site<'a> {
    config: &'a SyncConfig,
    table: &'a LocalTable,
}

impl Site<'_> {
    fn qualified(&self) -> String {
        format!("{}.{}", self.table.schema, self.table.name)
    }

    fn table_path(&self) -> String {
        self.config.local.table_path()
    }

    fn primary_key(&self) -> Option<Problem> {
        self.table.primary_key.is_empty().then(|| {
            Problem::new(
                ProblemKind::InvalidColumnReference,
                self.table_path(),
                format!(
                    "table {} has no primary key; hubsync needs a primary key to identify rows; add one",
                    self.qualified()
                ),
            )
        })
    }

    /// The mapped column exists, can hold the remote value, and is unique if it is a key.
    fn mapped_column(&self, mapping: &FieldMapping) -> Vec<Problem> {
        let Some(column) = self.table.column(&mapping.local) else {
            return vec![self.no_such_column(&mapping.local, mapping.local_path())];
        };
        let mut problems: Vec<Problem> = type_mismatch(mapping, column)
            .map(|why| Problem::new(ProblemKind::DatatypeMismatch, mapping.local_path(), why))
            .into_iter()
            .collect();
        let is_key = mapping.external_id || mapping.remote.eq_ignore_ascii_case("Id");
        if is_key && !self.table.is_unique(&column.name) {
            problems.push(Problem::new(
                ProblemKind::InvalidColumnReference,
                mapping.local_path(),
                format!(
                    "column \"{col}\" links rows to {field} values, so it must be unique; \
                     add a unique index: CREATE UNIQUE INDEX ON {table} ({col})",
                    col = column.name,
                    field = mapping.remote,
                    table = self.qualified()
                ),
            ));
        }
        problems
    }

    fn no_such_column(&self, name: &str, path: String) -> Problem {
        let names = self.table.columns.iter().map(|c| c.name.as_str());
        Problem::new(
            ProblemKind::UndefinedColumn,
            path,
            format!(
                "column \"{name}\" does not exist in table {}{}",
                self.qualified(),
                did_you_mean(name, names)
            ),
        )
    }

    /// Columns named by conflict and validation rules, when not mapped, must exist.
    fn rule_columns(&self) -> Vec<Problem> {
        let field_rules = match &self.config.conflict {
            super::model::ConflictPolicy::FieldLevelPriority { rules, .. } => {
                rules.iter().map(|r| (r.local.as_str(), &r.path)).collect()
            }
            _ => Vec::new(),
        };
        let validation = self
            .config
            .validation_rules
            .iter()
            .map(|r| (r.local.as_str(), &r.path));
        field_rules
            .into_iter()
            .chain(validation)
            .filter(|(column, _)| !self.is_mapped(column) && self.table.column(column).is_none())
            .map(|(column, path)| self.no_such_column(column, format!("{path}.field")))
            .collect()
    }

    fn is_mapped(&self, column: &str) -> bool {
        self.config.mappings.iter().any(|m| m.local == column)
    }

    /// A pulled record becomes an INSERT: every NOT NULL column needs a value or a default.
    fn unfillable_columns(&self) -> Vec<Problem> {
        if !self.config.direction.pull {
            return Vec::new();
        }
        self.table
            .columns
            .iter()
            .filter(|c| c.not_null && !c.has_default && !self.is_mapped(&c.name))
            .map(|c| {
                Problem::new(
                    ProblemKind::InvalidColumnReference,
                    self.table_path(),
                    format!(
                        "column \"{}\" is NOT NULL without a default and not mapped, so records pulled \
                         into {} cannot be inserted; map it, give it a default, or drop NOT NULL",
                        c.name,
                        self.qualified()
                    ),
                )
            })
            .collect()
    }

    /// Push reads the table; pull also writes it; creating a sync puts triggers on it.
    /// Owners may do everything.
    fn rights(&self, installing: bool) -> Option<Problem> {
        let rights = self.table.rights;
        if rights.owner {
            return None;
        }
        let direction = self.config.direction;
        let needed = [
            ("SELECT", rights.select, direction.push || direction.pull),
            ("INSERT", rights.insert, direction.pull),
            ("UPDATE", rights.update, direction.pull),
            ("DELETE", rights.delete, direction.pull),
            ("TRIGGER", rights.trigger, installing),
        ];
        let missing: Vec<&str> = needed
            .iter()
            .filter(|(_, has, needs)| *needs && !*has)
            .map(|(right, _, _)| *right)
            .collect();
        (!missing.is_empty()).then(|| {
            Problem::new(
                ProblemKind::InsufficientPrivilege,
                self.table_path(),
                format!(
                    "permission denied for table {table}: a {label} sync needs {rights} on it; \
                     ask its owner to GRANT {rights} ON {table} TO you",
                    table = self.qualified(),
                    label = direction.label(),
                    rights = missing.join(", ")
                ),
            )
        })
    }
}

/// Why `column` cannot hold `mapping`'s values, for the cases knowable without a describe.
fn type_mismatch(mapping: &FieldMapping, column: &LocalColumn) -> Option<String> {
    let remote = mapping.remote.as_str();
    if remote.eq_ignore_ascii_case("Id") && !holds_id(&column.pg_type) {
        return Some(format!(
            "column \"{}\" is {}, but a Salesforce Id is an 18-character string; use varchar(18) or text",
            column.name, column.type_name
        ));
    }
    if AUDIT_TIMESTAMPS
        .iter()
        .any(|f| f.eq_ignore_ascii_case(remote))
        && !holds_timestamp(&column.pg_type)
    {
        return Some(format!(
            "column \"{}\" is {}, but {remote} is a date-time; use timestamptz (or timestamp, or text)",
            column.name, column.type_name
        ));
    }
    if produces_text(&mapping.transform) && !is_text(&column.pg_type) {
        return Some(format!(
            "column \"{}\" is {}, but its transformation works on text; map it to a text column",
            column.name, column.type_name
        ));
    }
    None
}

fn is_text(t: &PgType) -> bool {
    matches!(t, PgType::Text | PgType::Varchar(_) | PgType::Char(_))
}

fn holds_id(t: &PgType) -> bool {
    match t {
        PgType::Text | PgType::Varchar(None) | PgType::Char(None) => true,
        PgType::Varchar(Some(n)) => *n >= ID_LENGTH,
        PgType::Char(Some(n)) => *n == ID_LENGTH,
        _ => false,
    }
}

fn holds_timestamp(t: &PgType) -> bool {
    matches!(t, PgType::Timestamp | PgType::Timestamptz) || is_text(t)
}

fn produces_text(t: &Transform) -> bool {
    matches!(
        t,
        Transform::FormatPhone { .. }
            | Transform::Lowercase
            | Transform::Uppercase
            | Transform::Trim
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse_sync;
    use crate::mapping::testkit::column;
    use crate::schema::TableRights;
    use serde_json::json;

    fn contacts(rights: TableRights) -> LocalTable {
        LocalTable {
            schema: "crm".into(),
            name: "contacts".into(),
            columns: vec![
                LocalColumn {
                    not_null: true,
                    has_default: true,
                    ..column("id", "bigint")
                },
                column("sf_id", "character(18)"),
                column("ext_ref", "text"),
                column("email", "text"),
                column("created", "integer"),
            ],
            primary_key: vec!["id".into()],
            unique_columns: vec!["sf_id".into()],
            rights,
        }
    }

    fn config(sync_type: &str, mappings: serde_json::Value) -> SyncConfig {
        parse_sync(&json!({
            "name": "c",
            "source": {"type": "postgres", "table": "contacts", "schema": "crm"},
            "target": {"type": "salesforce", "object": "Contact"},
            "sync_type": sync_type,
            "field_mappings": mappings
        }))
        .unwrap()
    }

    fn found(problems: &[Problem]) -> Vec<(&str, &str)> {
        problems
            .iter()
            .map(|p| (p.path.as_str(), p.kind.sqlstate()))
            .collect()
    }

    #[test]
    fn a_push_only_sync_needs_only_select() {
        let reader = TableRights {
            select: true,
            trigger: true,
            ..TableRights::default()
        };
        let c = config(
            "one_way",
            json!([{"source": "sf_id", "target": "Id"}, {"source": "email", "target": "Email"}]),
        );
        assert_eq!(
            c.direction,
            crate::config::Direction {
                push: true,
                pull: false
            }
        );
        assert!(check_local(&c, &contacts(reader)).is_empty());
        let p = check_local(&c, &contacts(TableRights::default()));
        assert_eq!(found(&p), [("source.table", "42501")]);
        assert!(
            p[0].message.contains("needs SELECT, TRIGGER on it"),
            "{}",
            p[0].message
        );
    }

    #[test]
    fn keys_and_known_types_are_checked_at_the_local_name() {
        let owner = TableRights {
            owner: true,
            ..TableRights::default()
        };
        let c = config(
            "bidirectional",
            json!([
                {"source": "sf_id", "target": "Id"},
                {"source": "ext_ref", "target": "Ref__c", "external_id": true},
                {"source": "created", "target": "CreatedDate"},
                {"source": "emial", "target": "Email"}
            ]),
        );
        let p = check_local(&c, &contacts(owner));
        assert_eq!(
            found(&p),
            [
                ("field_mappings[1].source", "42P10"),
                ("field_mappings[2].source", "42804"),
                ("field_mappings[3].source", "42703"),
            ]
        );
        assert!(
            p[2].message.ends_with("did you mean 'email'?"),
            "{}",
            p[2].message
        );
    }

    #[test]
    fn a_missing_table_is_named_with_its_schema() {
        let c = config("one_way", json!([{"source": "sf_id", "target": "Id"}]));
        let p = missing_table(&c.local);
        assert_eq!(
            (p.path.as_str(), p.kind.sqlstate()),
            ("source.table", "42P01")
        );
        assert!(p.message.contains("\"crm.contacts\""));
    }

    #[test]
    fn a_running_sync_needs_its_direction_s_rights_but_not_trigger() {
        let mappings =
            json!([{"source": "sf_id", "target": "Id"}, {"source": "email", "target": "Email"}]);
        let cases = [
            // (sync type, rights held, rights reported missing)
            ("one_way", "select", None),
            ("one_way", "", Some("SELECT")),
            ("bidirectional", "select insert update delete", None),
            ("bidirectional", "select insert delete", Some("UPDATE")),
            ("bidirectional", "", Some("SELECT, INSERT, UPDATE, DELETE")),
        ];
        for (sync_type, held, missing) in cases {
            let rights = TableRights {
                select: held.contains("select"),
                insert: held.contains("insert"),
                update: held.contains("update"),
                delete: held.contains("delete"),
                ..TableRights::default()
            };
            let problem = missing_rights(&config(sync_type, mappings.clone()), &contacts(rights));
            match (missing, problem) {
                (None, None) => {}
                (Some(rights), Some(p)) => {
                    assert_eq!(p.kind.sqlstate(), "42501");
                    assert!(
                        p.message.contains(&format!("needs {rights} on it")),
                        "{}",
                        p.message
                    );
                }
                (want, got) => panic!("{sync_type} with {held:?}: wanted {want:?}, got {got:?}"),
            }
        }
        assert!(missing_rights(
            &config("bidirectional", mappings),
            &contacts(TableRights::OWNER)
        )
        .is_none());
    }
}
