//! Internal subtransactions, as PL/pgSQL's EXCEPTION blocks use them: a statement that
//! fails rolls back alone and the surrounding transaction goes on. The worker applies a
//! pulled page set-based inside one, and falls back to one per record when it fails, so a
//! single value the table refuses never blocks the rest of the page.

use super::xact::XactError;
use pgrx::pg_sys;
use pgrx::PgTryBuilder;
use std::panic::AssertUnwindSafe;

/// Runs `body` in a subtransaction; on any error only its work is undone.
pub fn attempt<R>(body: impl FnOnce() -> R) -> Result<R, XactError> {
    let (context, owner) = unsafe { (pg_sys::CurrentMemoryContext, pg_sys::CurrentResourceOwner) };
    unsafe { pg_sys::BeginInternalSubTransaction(std::ptr::null()) };
    unsafe { pg_sys::MemoryContextSwitchTo(context) };
    let body = AssertUnwindSafe(body);
    let outcome = PgTryBuilder::new(move || {
        let body = body;
        let value = (body.0)();
        unsafe { pg_sys::ReleaseCurrentSubTransaction() };
        Ok(value)
    })
    .catch_others(|error| {
        unsafe { pg_sys::RollbackAndReleaseCurrentSubTransaction() };
        Err(super::xact::describe(error))
    })
    .execute();
    unsafe {
        pg_sys::MemoryContextSwitchTo(context);
        pg_sys::CurrentResourceOwner = owner;
    }
    outcome
}
