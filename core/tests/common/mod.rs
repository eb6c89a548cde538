//! Fixture loading shared by the config integration tests (the files themselves: [`fixtures`]).
//!
//! Tables are described by the same `CREATE TABLE` scripts the SQL-level tests run, read
//! here by a small parser that understands the column forms the fixtures use.

// Each test binary uses a different subset of these helpers.
#![allow(dead_code)]

pub mod admin;
pub mod fixtures;

use hubsync_core::schema::{LocalColumn, LocalTable, PgType, TableRights};
use serde_json::Value;

/// `tables/<name>.sql` as the catalog would describe it, the caller owning the table.
pub fn table(name: &str) -> LocalTable {
    let sql = fixtures::text(&format!("tables/{name}.sql"));
    parse_create_table(&sql)
}

/// Owner-less rights from a fixture object such as `{"select": true}` (absent keys are false).
pub fn rights(value: &Value) -> TableRights {
    let flag = |key: &str| value[key].as_bool().unwrap_or(false);
    TableRights {
        owner: flag("owner"),
        select: flag("select"),
        insert: flag("insert"),
        update: flag("update"),
        delete: flag("delete"),
        trigger: flag("trigger"),
    }
}

/// Reads `CREATE TABLE t (col TYPE [PRIMARY KEY|UNIQUE|NOT NULL|DEFAULT x], ...);` plus
/// `CREATE UNIQUE INDEX ... ON t(col);` lines.
fn parse_create_table(sql: &str) -> LocalTable {
    let mut table = LocalTable {
        schema: "public".into(),
        name: String::new(),
        columns: Vec::new(),
        primary_key: Vec::new(),
        unique_columns: Vec::new(),
        rights: TableRights::OWNER,
    };
    for line in sql.lines().map(str::trim) {
        let upper = line.to_ascii_uppercase();
        if let Some(rest) = upper.strip_prefix("CREATE TABLE ") {
            table.name = rest.trim_end_matches('(').trim().to_lowercase();
        } else if upper.starts_with("CREATE UNIQUE INDEX") {
            let column = line.rsplit('(').next().unwrap_or_default();
            table
                .unique_columns
                .push(column.trim_end_matches(");").trim().to_string());
        } else if !upper.starts_with("CREATE") && !line.starts_with(')') && !line.is_empty() {
            add_column(&mut table, line.trim_end_matches(','));
        }
    }
    table
}

fn add_column(table: &mut LocalTable, definition: &str) {
    let mut words = definition.split_whitespace();
    let name = words.next().expect("column name").to_string();
    let written = words.next().expect("column type").to_ascii_lowercase();
    let constraints = words.collect::<Vec<_>>().join(" ").to_ascii_uppercase();
    let (type_name, serial) = match written.as_str() {
        "serial" => ("integer".to_string(), true),
        "bigserial" => ("bigint".to_string(), true),
        other => (other.to_string(), false),
    };
    if constraints.contains("PRIMARY KEY") {
        table.primary_key.push(name.clone());
    }
    if constraints.contains("UNIQUE") {
        table.unique_columns.push(name.clone());
    }
    table.columns.push(LocalColumn {
        pg_type: PgType::from_format_type(&type_name),
        type_name,
        not_null: constraints.contains("NOT NULL") || constraints.contains("PRIMARY KEY"),
        has_default: serial || constraints.contains("DEFAULT"),
        name,
    });
}
