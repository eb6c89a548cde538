//! Fixture loading shared by the config integration tests.
//!
//! Tables are described by the same `CREATE TABLE` scripts the SQL-level tests run, read
//! here by a small parser that understands the column forms the fixtures use.

// Each test binary uses a different subset of these helpers.
#![allow(dead_code)]

use hubsync_core::config::merge_patch;
use hubsync_core::schema::{LocalColumn, LocalTable, PgType, TableRights};
use serde_json::Value;
use std::path::PathBuf;

/// Path of a file under `core/tests/fixtures/`.
pub fn fixture_path(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(relative)
}

/// The text of a fixture file.
pub fn fixture_text(relative: &str) -> String {
    let path = fixture_path(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// A JSON fixture.
pub fn fixture(relative: &str) -> Value {
    serde_json::from_str(&fixture_text(relative))
        .unwrap_or_else(|e| panic!("parsing {relative}: {e}"))
}

/// `merge_patch(base, fragment)`, where a null base means the fragment alone.
pub fn combine(base: &Value, fragment: &Value) -> Value {
    match base {
        Value::Null => fragment.clone(),
        base => merge_patch(base, fragment),
    }
}

/// The fixture at `entry[key]` (a path), or null when the entry has none.
pub fn optional_fixture(entry: &Value, key: &str) -> Value {
    entry[key].as_str().map_or(Value::Null, fixture)
}

/// `tables/<name>.sql` as the catalog would describe it, the caller owning the table.
pub fn table(name: &str) -> LocalTable {
    let sql = fixture_text(&format!("tables/{name}.sql"));
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
        rights: TableRights {
            owner: true,
            select: true,
            insert: true,
            update: true,
            delete: true,
            trigger: true,
        },
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

/// JSON equality where numbers compare by value (`30` equals `30.0`).
pub fn same_json(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same_json(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| same_json(v, w)))
        }
        _ => a == b,
    }
}
