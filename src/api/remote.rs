//! `hubsync.remote_query`: run SOQL through a sync's connection, from SQL. Handy to look
//! at what a sync wrote ("did my rows arrive?") without leaving psql.
//!
//! It runs in the caller's backend, so it must stay bounded and stoppable: at most
//! `max_rows` records (and so at most `max_rows + 1` pages, since every page but the last
//! brings records), each request bounded by `hubsync.http_timeout` and each answer by
//! `hubsync.max_response_size`. The requests run on a helper thread while the backend
//! waits for pages checking for interrupts, so `statement_timeout` and a cancel (Ctrl-C)
//! stop it at once; the thread finishes its current request and exits.

use crate::api::config::{caller, managed_sync};
use crate::error::{raise, spi};
use crossbeam_channel::{bounded, Receiver, RecvTimeoutError};
use hubsync_core::config::{parse_secret, parse_sync, SystemKind};
use hubsync_core::connector::CallError;
use hubsync_core::retry::{Failure, TransportError};
use hubsync_core::salesforce::{QueryOptions, QueryPage, Record, SalesforceClient};
use pgrx::prelude::*;
use pgrx::{JsonB, PgSqlErrorCode};
use serde_json::Value;
use std::time::Duration;

/// How often the backend looks for a cancel while it waits for a page.
const POLL: Duration = Duration::from_millis(50);

/// The records a SOQL query returns (every page, at most `max_rows` of them), each as
/// jsonb without `attributes`. Makes HTTP calls from this session; meant for people and
/// tests, not for hot paths.
#[pg_extern(security_definer)]
#[search_path(@extschema@, pg_catalog, pg_temp)]
fn remote_query(
    sync: &str,
    soql: &str,
    max_rows: default!(i32, 10000),
) -> SetOfIterator<'static, JsonB> {
    let Some(max_rows) = usize::try_from(max_rows).ok().filter(|n| *n > 0) else {
        raise(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!("max_rows must be at least 1, not {max_rows}"),
            "Pass the most records you want, e.g. max_rows => 10000.",
        )
    };
    let client = client_for(sync);
    let records = collect(sync, pages(client, soql), max_rows);
    SetOfIterator::new(records.into_iter().map(|mut record| {
        record.remove("attributes");
        JsonB(Value::Object(record))
    }))
}

/// The query's pages, fetched one by one on a helper thread; the thread stops when the
/// receiver is dropped (its current request ends within `hubsync.http_timeout`).
fn pages(client: SalesforceClient, soql: &str) -> Receiver<Result<QueryPage, CallError>> {
    let (tx, rx) = bounded(1);
    let soql = soql.to_string();
    let spawned = crate::threads::with_signals_blocked(|| {
        std::thread::Builder::new()
            .name("hubsync-remote-query".into())
            .spawn(move || {
                for page in client.query_pages(&soql, QueryOptions::default()) {
                    if tx.send(page).is_err() {
                        return;
                    }
                }
            })
    });
    if let Err(error) = spawned {
        raise(
            PgSqlErrorCode::ERRCODE_INSUFFICIENT_RESOURCES,
            format!("cannot start a thread for the query: {error}"),
            "Try again; if it persists, the server is out of threads or memory.",
        );
    }
    rx
}

/// Every record of the pages, waiting for each while honouring cancels; raises past
/// `max_rows`, on a failed page, and on a page that would loop (not done, yet empty).
fn collect(
    sync: &str,
    pages: Receiver<Result<QueryPage, CallError>>,
    max_rows: usize,
) -> Vec<Record> {
    let mut records = Vec::new();
    loop {
        pgrx::check_for_interrupts!();
        let page = match pages.recv_timeout(POLL) {
            Ok(page) => page,
            Err(RecvTimeoutError::Timeout) => continue,
            Err(RecvTimeoutError::Disconnected) => return records,
        };
        let page = page.unwrap_or_else(|e| failed(sync, &e));
        let total = usize::try_from(page.total_size).unwrap_or(usize::MAX);
        if records.len() + page.records.len() > max_rows || total > max_rows {
            raise(
                PgSqlErrorCode::ERRCODE_PROGRAM_LIMIT_EXCEEDED,
                format!(
                    "the query through sync \"{sync}\" returns {} records, more than max_rows ({max_rows})",
                    total.max(records.len() + page.records.len())
                ),
                "Narrow the SOQL (WHERE, LIMIT), or pass a larger max_rows, e.g. \
                 hubsync.remote_query(sync, soql, max_rows => 50000).",
            );
        }
        if !page.done && page.records.is_empty() {
            raise(
                PgSqlErrorCode::ERRCODE_PROTOCOL_VIOLATION,
                format!("Salesforce answered the query through sync \"{sync}\" with an empty page that is not the last"),
                "Run the query again; if it persists, report it with the SOQL.",
            );
        }
        records.extend(page.records);
    }
}

fn failed(sync: &str, error: &CallError) -> ! {
    let too_large = matches!(
        error.failure,
        Failure::Transport {
            error: TransportError::TooLarge,
            ..
        }
    );
    if too_large {
        raise(
            PgSqlErrorCode::ERRCODE_PROGRAM_LIMIT_EXCEEDED,
            format!("the query through sync \"{sync}\" failed: {error}"),
            "Select fewer fields or rows per page; a superuser can raise hubsync.max_response_size.",
        )
    }
    raise(
        PgSqlErrorCode::ERRCODE_CONNECTION_FAILURE,
        format!("the query through sync \"{sync}\" failed: {error}"),
        "Check the SOQL, the connection's credentials and hubsync.status.",
    )
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
    if config.remote.system != SystemKind::Salesforce {
        raise(
            PgSqlErrorCode::ERRCODE_FEATURE_NOT_SUPPORTED,
            format!("sync \"{sync}\" is not a Salesforce sync: hubsync.remote_query sends SOQL"),
            "Query the synced table instead, or name a Salesforce sync.",
        )
    }
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
    crate::connection::salesforce_client(&config, secret, crate::connection::http_timeout())
        .unwrap_or_else(|e| {
            raise(
                PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
                format!("cannot build a client for sync \"{sync}\": {e}"),
                "Check source.credentials.instance_url with hubsync.alter_sync().",
            )
        })
}
