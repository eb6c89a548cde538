//! Short, recoverable transactions for the worker.
//!
//! `BackgroundWorker::transaction` lets an ERROR kill the worker; here an ERROR or panic in
//! the body (or at commit) aborts the transaction and comes back as `Err`, so one bad
//! record or one broken query never stops syncing.

use pgrx::pg_sys;
use pgrx::pg_sys::panic::CaughtError;
use pgrx::PgTryBuilder;
use std::panic::AssertUnwindSafe;

/// A failure inside a worker transaction, already rolled back.
#[derive(Debug, Clone)]
pub struct XactError {
    pub sqlstate: String,
    pub message: String,
}

impl std::fmt::Display for XactError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (SQLSTATE {})", self.message, self.sqlstate)
    }
}

/// Runs `body` in its own transaction: commit on success, abort on any error.
pub fn run<R>(body: impl FnOnce() -> R) -> Result<R, XactError> {
    unsafe {
        pg_sys::SetCurrentStatementStartTimestamp();
        pg_sys::StartTransactionCommand();
        pg_sys::PushActiveSnapshot(pg_sys::GetTransactionSnapshot());
    }
    let body = AssertUnwindSafe(body);
    let outcome = PgTryBuilder::new(move || {
        let body = body;
        let value = (body.0)();
        unsafe {
            pg_sys::PopActiveSnapshot();
            pg_sys::CommitTransactionCommand();
        }
        Ok(value)
    })
    .catch_others(|error| Err(describe(error)))
    .execute();
    if outcome.is_err() {
        unsafe { pg_sys::AbortCurrentTransaction() };
    }
    unsafe { pg_sys::pgstat_report_stat(false) };
    outcome
}

pub(super) fn describe(error: CaughtError) -> XactError {
    let report = match &error {
        CaughtError::PostgresError(r) | CaughtError::ErrorReport(r) => r,
        CaughtError::RustPanic { ereport, .. } => ereport,
    };
    XactError {
        sqlstate: crate::sqlstate::text(report.sql_error_code()),
        message: report.message().to_string(),
    }
}

/// Like [`run`] for bodies returning `SpiResult`: an `Err` aborts the transaction too.
pub fn run_spi<R>(body: impl FnOnce() -> Result<R, pgrx::spi::SpiError>) -> Result<R, XactError> {
    run(|| match body() {
        Ok(value) => value,
        Err(e) => pgrx::error!("{e}"),
    })
}
