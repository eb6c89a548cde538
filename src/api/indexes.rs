//! `hubsync.recommend_indexes`: the indexes a sync needs that its table lacks
//! (`performance_settings.index_recommendation`).

use crate::api::config::{caller, managed_sync};
use crate::catalog::local_table;
use crate::error::spi;
use pgrx::prelude::*;

/// `CREATE INDEX` statements for what the sync looks rows up by and does not have yet:
/// a unique index on the remote-id column (and the External ID column), an index on the
/// local timestamp column last-write-wins compares.
#[pg_extern(security_definer)]
#[search_path(@extschema@, pg_catalog, pg_temp)]
fn recommend_indexes(sync: &str) -> SetOfIterator<'static, String> {
    let row = managed_sync(sync, caller());
    let config = hubsync_core::config::parse_sync(&row.config).unwrap_or_else(|problems| {
        crate::error::raise_problems(
            "the stored config no longer validates",
            &problems,
            "Fix it with hubsync.alter_sync().",
        )
    });
    let table = spi(
        local_table::describe(row.local_table, caller()),
        "read the table",
    );
    let existing = spi(
        local_table::indexes(row.local_table),
        "read the table's indexes",
    );
    SetOfIterator::new(hubsync_core::mapping::recommend_indexes(
        &config,
        &table.table,
        &existing,
    ))
}
