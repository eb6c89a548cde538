//! Wake the worker when a transaction that wrote the outbox commits.
//!
//! The trigger only raises a flag; a transaction callback registered once per backend
//! sets the worker's latch at COMMIT, so push latency is not a polling interval.
//! The callback must never fail: an error at commit time restarts the whole cluster.

use crate::shared;
use pgrx::pg_sys;
use pgrx::prelude::*;
use std::cell::Cell;

thread_local! {
    static WROTE_OUTBOX: Cell<bool> = const { Cell::new(false) };
}

/// Registers the transaction callback; called once from `_PG_init`.
pub fn register() {
    unsafe { pg_sys::RegisterXactCallback(Some(on_xact_event), std::ptr::null_mut()) };
}

/// Notes that the current transaction wrote outbox rows.
pub fn outbox_written() {
    WROTE_OUTBOX.with(|w| w.set(true));
}

#[pg_guard]
unsafe extern "C-unwind" fn on_xact_event(
    event: pg_sys::XactEvent::Type,
    _arg: *mut std::ffi::c_void,
) {
    use pg_sys::XactEvent::*;
    match event {
        XACT_EVENT_COMMIT | XACT_EVENT_PARALLEL_COMMIT
            if WROTE_OUTBOX.with(|w| w.replace(false)) =>
        {
            shared::wake_worker();
        }
        XACT_EVENT_ABORT | XACT_EVENT_PARALLEL_ABORT => WROTE_OUTBOX.with(|w| w.set(false)),
        _ => {}
    }
}
