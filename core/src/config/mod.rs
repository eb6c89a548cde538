//! Sync configuration: the product brief's JSON, parsed and validated.
//!
//! [`parse_sync`] turns a config into a [`SyncConfig`] (every problem at once, each with its
//! JSON path); [`check_local`] checks it against the local table; [`validate`] does both.
//! [`split_secrets`] keeps secrets out of the stored config, [`merge_patch`] applies an
//! `alter_sync` patch, [`parse_hub`] reads a hub-and-spoke block.

pub mod defaults;
pub mod hub;
pub mod local;
pub mod model;
pub mod patch;
pub mod secrets;

mod parse;
mod walker;
mod words;

pub use hub::parse_hub;
pub use local::{check_local, missing_table};
pub use model::*;
pub use parse::parse_sync;
pub use patch::merge_patch;
pub use secrets::{parse_secret, split_secrets, validate_secret, Grant, OAuthSecret, Secret};

use crate::problem::Problem;
use crate::schema::LocalTable;
use serde_json::Value;

/// Parses a config and, when the local table is known, checks the sync against it.
///
/// What `hubsync.check_config` and `create_sync` run once the extension has looked the
/// table up (a missing table is reported by the caller with [`missing_table`]).
pub fn validate(json: &Value, table: Option<&LocalTable>) -> Result<SyncConfig, Vec<Problem>> {
    let config = parse_sync(json)?;
    let problems = table.map(|t| check_local(&config, t)).unwrap_or_default();
    if problems.is_empty() {
        Ok(config)
    } else {
        Err(problems)
    }
}
