//! Raising errors users can act on: a SQLSTATE, a message, and a hint saying what to do.

use pgrx::pg_sys::panic::ErrorReport;
use pgrx::{PgLogLevel, PgSqlErrorCode};

/// Raises an ERROR with `code`, `message` and `hint`; never returns.
pub fn raise(code: PgSqlErrorCode, message: impl Into<String>, hint: impl Into<String>) -> ! {
    ErrorReport::new(code, message.into(), "")
        .set_hint(hint)
        .report(PgLogLevel::ERROR);
    unreachable!("an ERROR report does not return")
}

/// Raises the first of `problems` with its SQLSTATE, listing all of them in the detail.
pub fn raise_problems(what: &str, problems: &[hubsync_core::problem::Problem], hint: &str) -> ! {
    let first = &problems[0];
    let mut report = ErrorReport::new(
        crate::sqlstate::code(first.kind.sqlstate()),
        format!("{what}: {first}"),
        "",
    )
    .set_hint(hint);
    if problems.len() > 1 {
        let all: Vec<String> = problems.iter().map(|p| format!("  {p}")).collect();
        report = report.set_detail(format!("{} problems:\n{}", problems.len(), all.join("\n")));
    }
    report.report(PgLogLevel::ERROR);
    unreachable!("an ERROR report does not return")
}

/// Turns an SPI failure inside an API function into an internal error with context.
pub fn spi<T>(result: Result<T, pgrx::spi::SpiError>, doing: &str) -> T {
    result.unwrap_or_else(|e| {
        raise(
            PgSqlErrorCode::ERRCODE_INTERNAL_ERROR,
            format!("hubsync could not {doing}: {e}"),
            "This is a bug in hubsync; please report it with the statement that caused it.",
        )
    })
}
