//! Fragments of SQL about a local table's primary key, with every identifier quoted.

use hubsync_core::schema::LocalTable;
use pgrx::spi::quote_identifier;

/// `"a", "b"`: the key columns.
pub fn column_list(columns: &[String]) -> String {
    columns
        .iter()
        .map(quote_identifier)
        .collect::<Vec<_>>()
        .join(", ")
}

/// `jsonb_build_array(t."a", t."b")`: a row's key as the outbox stores it.
pub fn pk_array(alias: &str, columns: &[String]) -> String {
    let cols: Vec<String> = columns
        .iter()
        .map(|c| format!("{alias}.{}", quote_identifier(c)))
        .collect();
    format!("jsonb_build_array({})", cols.join(", "))
}

/// A subquery turning a jsonb array of keys (`$n`) into typed key columns, usable as
/// `WHERE (pk) IN (SELECT pk FROM <this>)` or in a join.
pub fn typed_keys(table: &LocalTable, param: &str) -> String {
    typed_keys_with(table, param, "", "")
}

/// Like [`typed_keys`], for an array of objects whose key sits at `e<key_path>` (e.g.
/// `->'k'`), with `extra` select items (e.g. `, e->>'id' AS remote_id`).
pub fn typed_keys_with(table: &LocalTable, param: &str, key_path: &str, extra: &str) -> String {
    let cols: Vec<String> = table
        .primary_key
        .iter()
        .enumerate()
        .map(|(i, name)| {
            format!(
                "(e{key_path}->>{i})::{} AS {}",
                type_of(table, name),
                quote_identifier(name)
            )
        })
        .collect();
    format!(
        "(SELECT {}{extra} FROM jsonb_array_elements({param}) e) AS k",
        cols.join(", ")
    )
}

/// The SQL type to cast a key column's text to (`text` for a column the table lost).
pub fn type_of<'t>(table: &'t LocalTable, column: &str) -> &'t str {
    table
        .column(column)
        .map(|c| c.type_name.as_str())
        .unwrap_or("text")
}
