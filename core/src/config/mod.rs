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
mod scalars;
mod suggest;
mod walker;
mod words;

pub use hub::parse_hub;
pub use local::{check_local, missing_rights, missing_table};
pub use model::*;
pub use parse::parse_sync;
pub use patch::merge_patch;
pub use secrets::{
    parse_netsuite_secret, parse_secret, parse_zendesk_secret, secret_keys, split_secrets,
    validate_secret, Grant, NetsuiteSecret, OAuthSecret, Secret, ZendeskSecret,
};

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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_config_stored_without_its_secrets_still_validates_the_same() {
        let config = json!({
            "connection_name": "SF_Postgres_Accounts",
            "source": {"type": "salesforce", "object": "Account", "credentials": {
                "instance_url": "https://x.my.salesforce.com",
                "client_id": "ck", "client_secret": "cs-SECRET-value", "refresh_token": "rt"}},
            "target": {"type": "postgres", "table": "accounts"},
            "field_mappings": [{"source": "Id", "target": "sf_id"}]
        });
        let (stored, secret) = split_secrets(&config);
        let secret = secret.expect("secrets were given");
        assert_eq!(validate_secret(&secret), Ok(()));
        assert_eq!(
            parse_secret(&secret).unwrap().grant(),
            Some(Grant::RefreshToken)
        );
        assert_eq!(validate(&stored, None), validate(&config, None));
        assert!(!format!("{:?}", validate(&stored, None)).contains("SECRET"));
    }

    #[test]
    fn alter_sync_patches_are_revalidated() {
        let stored = json!({
            "source": {"type": "salesforce", "object": "Account"},
            "target": {"type": "postgres", "table": "accounts"},
            "field_mappings": [{"source": "Id", "target": "sf_id"}]
        });
        let patched = merge_patch(
            &stored,
            &json!({"performance_settings": {"batch_size": 200}}),
        );
        assert_eq!(
            validate(&patched, None).unwrap().performance.batch_size,
            200
        );
        let broken = merge_patch(&stored, &json!({"target": {"table": null}}));
        let problems = validate(&broken, None).unwrap_err();
        assert_eq!(problems[0].path, "target.table");
    }
}
