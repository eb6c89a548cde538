//! Writing values into a synced table's rows by primary key, the way the worker applies
//! pulled changes and `hubsync.resolve` applies a chosen version: always as the role the
//! sync serves (see `privilege`).

use crate::catalog::keys;
use hubsync_core::coalesce::Values;
use hubsync_core::schema::LocalTable;
use pgrx::prelude::*;
use pgrx::spi::{quote_identifier, SpiResult};
use pgrx::JsonB;
use serde_json::{json, Value};

/// The local table as the apply step writes it.
pub struct Target<'a> {
    /// The role the writes are made as: the sync's owner.
    pub owner: pg_sys::Oid,
    pub qualified: &'a str,
    pub table: &'a LocalTable,
    /// Columns a pull may write.
    pub columns: Vec<String>,
    /// The column holding the remote id (quoted).
    pub id_column: String,
}

/// One statement for many rows, each setting only the columns its values name.
pub fn update(target: &Target, updates: &[(Value, Values)]) -> SpiResult<()> {
    if updates.is_empty() {
        return Ok(());
    }
    let rows: Vec<Value> = updates
        .iter()
        .map(|(pk, v)| json!({"k": pk, "v": v}))
        .collect();
    let sets: Vec<String> = target
        .columns
        .iter()
        .map(|c| {
            let q = quote_identifier(c);
            let lit = pgrx::spi::quote_literal(c);
            format!("{q} = CASE WHEN k.hubsync_v ? {lit} THEN (k.hubsync_r).{q} ELSE t.{q} END")
        })
        .collect();
    let extra = format!(
        ", e->'v' AS hubsync_v, jsonb_populate_record(NULL::{}, e->'v') AS hubsync_r",
        target.qualified
    );
    let sql = format!(
        "UPDATE {qualified} t SET {sets} FROM {typed} WHERE ({t_keys}) = ({k_keys})",
        qualified = target.qualified,
        sets = sets.join(", "),
        typed = keys::typed_keys_with(target.table, "$1", "->'k'", &extra),
        t_keys = prefixed("t", &target.table.primary_key),
        k_keys = prefixed("k", &target.table.primary_key),
    );
    crate::privilege::as_role(target.owner, || {
        Spi::run_with_args(&sql, &[JsonB(Value::Array(rows)).into()])
    })
}

/// `alias."a", alias."b"`.
pub fn prefixed(alias: &str, columns: &[String]) -> String {
    columns
        .iter()
        .map(|c| format!("{alias}.{}", quote_identifier(c)))
        .collect::<Vec<_>>()
        .join(", ")
}
