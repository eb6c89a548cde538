//! Describes a local table for `hubsync-core`: columns, keys, and what a role may do to it.

use hubsync_core::schema::{LocalColumn, LocalTable, PgType, TableRights};
use pgrx::prelude::*;
use pgrx::spi::{quote_identifier, SpiResult};

/// A table found in the catalog.
pub struct FoundTable {
    pub oid: pg_sys::Oid,
    /// Schema-qualified, quoted name, safe to splice into SQL.
    pub qualified: String,
    pub table: LocalTable,
}

/// Looks `table` up in `schema`, or else in the first of `search_path` holding a relation
/// of that name, and describes it as `role` sees it. `Ok(None)` when there is no such table.
///
/// The API functions run with a fixed `search_path` (they are SECURITY DEFINER), so the
/// caller's path is passed in rather than read from the session.
pub fn find(
    schema: Option<&str>,
    table: &str,
    search_path: &[String],
    role: pg_sys::Oid,
) -> SpiResult<Option<FoundTable>> {
    let schemas = match schema {
        Some(s) => vec![s.to_string()],
        None => search_path.to_vec(),
    };
    let Some(oid) = crate::catalog::optional(Spi::get_one_with_args::<pg_sys::Oid>(
        "SELECT c.oid FROM unnest($2::text[]) WITH ORDINALITY AS s(nspname, position) \
         JOIN pg_namespace n ON n.nspname = s.nspname \
         JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = $1 \
         ORDER BY s.position LIMIT 1",
        &[table.into(), schemas.into()],
    ))?
    else {
        return Ok(None);
    };
    if !is_table(oid)? {
        return Ok(None);
    }
    describe(oid, role).map(Some)
}

/// Whether the relation is a table hubsync can sync (plain or partitioned).
fn is_table(oid: pg_sys::Oid) -> SpiResult<bool> {
    Ok(Spi::get_one_with_args::<bool>(
        "SELECT relkind IN ('r', 'p') FROM pg_class WHERE oid = $1",
        &[oid.into()],
    )?
    .unwrap_or(false))
}

/// Describes the table with this oid as `role` sees it.
pub fn describe(oid: pg_sys::Oid, role: pg_sys::Oid) -> SpiResult<FoundTable> {
    let (schema, name) = Spi::get_two_with_args::<String, String>(
        "SELECT n.nspname::text, c.relname::text FROM pg_class c \
         JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = $1",
        &[oid.into()],
    )?;
    let (schema, name) = (schema.unwrap_or_default(), name.unwrap_or_default());
    let table = LocalTable {
        columns: columns(oid)?,
        primary_key: primary_key(oid)?,
        unique_columns: unique_columns(oid)?,
        rights: rights(oid, role)?,
        schema: schema.clone(),
        name: name.clone(),
    };
    Ok(FoundTable {
        oid,
        qualified: format!("{}.{}", quote_identifier(&schema), quote_identifier(&name)),
        table,
    })
}

fn columns(oid: pg_sys::Oid) -> SpiResult<Vec<LocalColumn>> {
    Spi::connect(|client| {
        client
            .select(
                "SELECT a.attname::text, format_type(a.atttypid, a.atttypmod), a.attnotnull, \
                        a.atthasdef OR a.attidentity <> '' OR a.attgenerated <> '' \
                 FROM pg_attribute a WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped \
                 ORDER BY a.attnum",
                None,
                &[oid.into()],
            )?
            .map(|row| {
                let type_name: String = row.get(2)?.unwrap_or_default();
                Ok(LocalColumn {
                    name: row.get(1)?.unwrap_or_default(),
                    pg_type: PgType::from_format_type(&type_name),
                    type_name,
                    not_null: row.get(3)?.unwrap_or(false),
                    has_default: row.get(4)?.unwrap_or(false),
                })
            })
            .collect()
    })
}

fn primary_key(oid: pg_sys::Oid) -> SpiResult<Vec<String>> {
    Ok(Spi::get_one_with_args::<Vec<String>>(
        "SELECT array_agg(a.attname::text ORDER BY k.ord) \
         FROM pg_index i, unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord) \
         JOIN pg_attribute a ON a.attnum = k.attnum \
         WHERE i.indrelid = $1 AND i.indisprimary AND a.attrelid = i.indrelid",
        &[oid.into()],
    )?
    .unwrap_or_default())
}

fn unique_columns(oid: pg_sys::Oid) -> SpiResult<Vec<String>> {
    Ok(Spi::get_one_with_args::<Vec<String>>(
        "SELECT array_agg(DISTINCT a.attname::text) FROM pg_index i \
         JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0] \
         WHERE i.indrelid = $1 AND i.indisunique AND i.indnkeyatts = 1 \
           AND i.indpred IS NULL AND i.indexprs IS NULL",
        &[oid.into()],
    )?
    .unwrap_or_default())
}

fn rights(oid: pg_sys::Oid, role: pg_sys::Oid) -> SpiResult<TableRights> {
    Spi::connect(|client| {
        let row = client
            .select(
                "SELECT pg_has_role($2, c.relowner, 'USAGE'), \
                        has_table_privilege($2, c.oid, 'SELECT'), has_table_privilege($2, c.oid, 'INSERT'), \
                        has_table_privilege($2, c.oid, 'UPDATE'), has_table_privilege($2, c.oid, 'DELETE'), \
                        has_table_privilege($2, c.oid, 'TRIGGER') \
                 FROM pg_class c WHERE c.oid = $1",
                None,
                &[oid.into(), role.into()],
            )?
            .first();
        Ok(TableRights {
            owner: row.get(1)?.unwrap_or(false),
            select: row.get(2)?.unwrap_or(false),
            insert: row.get(3)?.unwrap_or(false),
            update: row.get(4)?.unwrap_or(false),
            delete: row.get(5)?.unwrap_or(false),
            trigger: row.get(6)?.unwrap_or(false),
        })
    })
}

/// The schema of a table, or `None` if it was dropped.
pub fn schema_of(oid: pg_sys::Oid) -> SpiResult<Option<String>> {
    crate::catalog::optional(Spi::get_one_with_args::<String>(
        "SELECT n.nspname::text FROM pg_class c \
         JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = $1",
        &[oid.into()],
    ))
}

/// The quoted, schema-qualified name of a table, or `None` if it was dropped.
pub fn qualified_name(oid: pg_sys::Oid) -> SpiResult<Option<String>> {
    crate::catalog::optional(Spi::get_one_with_args::<String>(
        "SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c \
         JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = $1",
        &[oid.into()],
    ))
}

/// The table's indexes, for `hubsync.recommend_indexes`.
pub fn indexes(oid: pg_sys::Oid) -> SpiResult<Vec<hubsync_core::schema::IndexInfo>> {
    Spi::connect(|client| {
        client
            .select(
                "SELECT array(SELECT a.attname::text FROM unnest(i.indkey) WITH ORDINALITY k(attnum, ord) \
                              JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum \
                              ORDER BY k.ord), \
                        i.indisunique, i.indpred IS NOT NULL \
                 FROM pg_index i WHERE i.indrelid = $1",
                None,
                &[oid.into()],
            )?
            .map(|row| {
                Ok(hubsync_core::schema::IndexInfo {
                    columns: row.get(1)?.unwrap_or_default(),
                    unique: row.get(2)?.unwrap_or(false),
                    partial: row.get(3)?.unwrap_or(false),
                })
            })
            .collect()
    })
}
