//! Keeping secrets given to the API out of the server log.
//!
//! Postgres logs the text of a statement that fails (`log_min_error_statement`), and a
//! config or a secret written as a literal is part of that text. Functions that receive
//! secrets mark the transaction; errors raised while it is marked are logged without
//! their statement. The mark is set before any error can occur and cleared when the
//! transaction ends, because the error is written to the log only after every Rust frame
//! has unwound.

use pgrx::pg_sys;
use pgrx::prelude::*;
use std::cell::Cell;

thread_local! {
    static HANDLING_SECRETS: Cell<bool> = const { Cell::new(false) };
}

static mut PREVIOUS_HOOK: pg_sys::emit_log_hook_type = None;

/// Installs the log hook and the transaction callback; called once from `_PG_init`.
pub fn register() {
    unsafe {
        PREVIOUS_HOOK = pg_sys::emit_log_hook;
        pg_sys::emit_log_hook = Some(hide_statement);
        pg_sys::RegisterXactCallback(Some(on_xact_event), std::ptr::null_mut());
    }
}

/// Marks the current transaction as handling secrets given by the caller.
pub fn handling_secrets() {
    HANDLING_SECRETS.with(|h| h.set(true));
}

#[pg_guard]
unsafe extern "C-unwind" fn hide_statement(edata: *mut pg_sys::ErrorData) {
    if HANDLING_SECRETS.with(Cell::get) && (*edata).elevel >= pg_sys::PGERROR as i32 {
        (*edata).hide_stmt = true;
    }
    if let Some(previous) = PREVIOUS_HOOK {
        previous(edata);
    }
}

#[pg_guard]
unsafe extern "C-unwind" fn on_xact_event(
    event: pg_sys::XactEvent::Type,
    _arg: *mut std::ffi::c_void,
) {
    use pg_sys::XactEvent::*;
    if matches!(
        event,
        XACT_EVENT_COMMIT
            | XACT_EVENT_PARALLEL_COMMIT
            | XACT_EVENT_ABORT
            | XACT_EVENT_PARALLEL_ABORT
    ) {
        HANDLING_SECRETS.with(|h| h.set(false));
    }
}
