//! `hubsync.create_hub`: the hub-and-spoke block, validated and stored.

use crate::error::{raise, raise_problems, spi};
use pgrx::prelude::*;
use pgrx::{JsonB, PgSqlErrorCode};

/// Validates and stores a hub definition; returns its name.
#[pg_extern(security_definer)]
#[search_path(@extschema@, pg_catalog, pg_temp)]
fn create_hub(config: JsonB) -> String {
    let hub = hubsync_core::config::parse_hub(&config.0).unwrap_or_else(|problems| {
        raise_problems(
            "invalid hub config",
            &problems,
            "See the hub section of the README.",
        )
    });
    let inserted = spi(
        crate::catalog::optional(Spi::get_one_with_args::<bool>(
            "INSERT INTO hubsync.hub (name, config) VALUES ($1, $2) \
             ON CONFLICT (name) DO NOTHING RETURNING true",
            &[hub.name.as_str().into(), config.into()],
        )),
        "store the hub",
    );
    if inserted.is_none() {
        raise(
            PgSqlErrorCode::ERRCODE_DUPLICATE_OBJECT,
            format!("a hub named \"{}\" already exists", hub.name),
            "Choose another sync_hub name.",
        );
    }
    hub.name
}
