//! `hubsync.remote_query`: run SOQL through a sync's connection, from SQL. Handy to look
//! at what a sync wrote ("did my rows arrive?") without leaving psql.

use crate::api::config::{caller, managed_sync};
use crate::error::{raise, spi};
use hubsync_core::config::{parse_secret, parse_sync};
use hubsync_core::salesforce::SalesforceClient;
use pgrx::prelude::*;
use pgrx::{JsonB, PgSqlErrorCode};
use serde_json::Value;

/// The records a SOQL query returns (all pages), each as jsonb without `attributes`.
/// Makes HTTP calls from this session; meant for people and tests, not for hot paths.
#[pg_extern(security_definer)]
#[search_path(@extschema@, pg_catalog, pg_temp)]
fn remote_query(sync: &str, soql: &str) -> SetOfIterator<'static, JsonB> {
    let client = client_for(sync);
    let records = client.query_records(soql).unwrap_or_else(|e| {
        raise(
            PgSqlErrorCode::ERRCODE_CONNECTION_FAILURE,
            format!("the query through sync \"{sync}\" failed: {e}"),
            "Check the SOQL, the connection's credentials and hubsync.status.",
        )
    });
    SetOfIterator::new(records.into_iter().map(|mut record| {
        record.remove("attributes");
        JsonB(Value::Object(record))
    }))
}

fn client_for(sync: &str) -> SalesforceClient {
    let row = managed_sync(sync, caller());
    let config = parse_sync(&row.config).unwrap_or_else(|problems| {
        crate::error::raise_problems(
            "the stored config no longer validates",
            &problems,
            "Fix it with hubsync.alter_sync().",
        )
    });
    let secret = spi(
        crate::catalog::credentials::load(&config.connection, row.owner),
        "read the credentials",
    )
    .unwrap_or_else(|| {
        raise(
            PgSqlErrorCode::ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION,
            format!("no credentials for connection \"{}\"", config.connection),
            "Store them with hubsync.set_credentials(connection_name, secret).",
        )
    });
    let secret = parse_secret(&secret).unwrap_or_else(|problems| {
        crate::error::raise_problems(
            "the stored credentials are invalid",
            &problems,
            "Replace them with hubsync.set_credentials().",
        )
    });
    crate::connection::client(&config, secret, 1, crate::connection::http_timeout()).unwrap_or_else(
        |e| {
            raise(
                PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
                format!("cannot build a client for sync \"{sync}\": {e}"),
                "Check source.credentials.instance_url with hubsync.alter_sync().",
            )
        },
    )
}
