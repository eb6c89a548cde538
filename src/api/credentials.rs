//! `hubsync.set_credentials`: secrets go to a table only the extension owner can read.

use crate::api::config::caller;
use crate::catalog::credentials;
use crate::error::raise_problems;
use pgrx::prelude::*;
use pgrx::JsonB;

/// Stores (or replaces) the secrets of a connection (OAuth for Salesforce; an API token or
/// OAuth token for Zendesk), or, when the secret has a
/// `slack` or `email` key, where a notification connection sends Slack messages and e-mail.
#[pg_extern(security_definer)]
#[search_path(@extschema@, pg_catalog, pg_temp)]
fn set_credentials(connection_name: &str, secret: JsonB) {
    crate::api::hide_statement::handling_secrets();
    if hubsync_core::notify::destination::is_destination_secret(&secret.0) {
        if let Err(problems) = hubsync_core::notify::destination::parse(&secret.0) {
            raise_problems(
                "invalid notification destinations",
                &problems,
                "Give {\"slack\": {\"webhook_url\": ...}} or {\"slack\": {\"bot_token\": ...}}, and/or \
                 {\"email\": {\"host\": ..., \"from\": ...}} (see docs/notifications.md).",
            );
        }
    } else if let Err(problems) = hubsync_core::config::validate_secret(&secret.0) {
        raise_problems(
            "invalid credentials",
            &problems,
            "Salesforce: give client_id and client_secret (client credentials), client_id and \
             refresh_token, or client_id, client_secret, username and password. NetSuite: \
             consumer_key, consumer_secret, token_id and token_secret, or client_id, \
             certificate_id and private_key. Zendesk: email and api_token, or access_token.",
        );
    }
    credentials::store(connection_name, &secret.0, caller());
    crate::shared::wake_database();
}
