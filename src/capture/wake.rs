//! Wake the workers when a transaction that wrote the outbox commits, and the launcher
//! when a transaction that created or updated the extension commits.
//!
//! The trigger only notes which syncs it wrote for; a transaction callback registered once
//! per backend sets the latch of the worker owning them at COMMIT, so push latency is not a
//! polling interval. The callback must never fail: an error at commit time restarts the
//! whole cluster.

use crate::shared;
use pgrx::pg_sys;
use pgrx::prelude::*;
use std::cell::{Cell, RefCell};

thread_local! {
    /// Syncs whose outbox the current transaction wrote (a handful: one per table touched).
    static WROTE_OUTBOX: RefCell<Vec<i32>> = const { RefCell::new(Vec::new()) };
    /// The current transaction created or updated the extension.
    static EXTENSION_CHANGED: Cell<bool> = const { Cell::new(false) };
}

/// Registers the transaction callback; called once from `_PG_init`.
pub fn register() {
    unsafe { pg_sys::RegisterXactCallback(Some(on_xact_event), std::ptr::null_mut()) };
}

/// Notes that the current transaction wrote outbox rows of `sync_id`.
pub fn outbox_written(sync_id: i32) {
    WROTE_OUTBOX.with(|w| {
        let mut written = w.borrow_mut();
        if !written.contains(&sync_id) {
            written.push(sync_id);
        }
    });
}

/// Called by the extension's install and upgrade scripts: at commit, the launcher starts
/// serving this database without waiting for its next look at databases it found without
/// the extension. Internal; only the extension's scripts call it.
#[pg_extern(volatile, parallel_unsafe)]
fn wake_launcher() {
    EXTENSION_CHANGED.with(|c| c.set(true));
}

#[pg_guard]
unsafe extern "C-unwind" fn on_xact_event(
    event: pg_sys::XactEvent::Type,
    _arg: *mut std::ffi::c_void,
) {
    use pg_sys::XactEvent::*;
    match event {
        XACT_EVENT_COMMIT | XACT_EVENT_PARALLEL_COMMIT => {
            WROTE_OUTBOX.with(|w| {
                let mut written = w.borrow_mut();
                if !written.is_empty() {
                    shared::wake_syncs(&written);
                    written.clear();
                }
            });
            if EXTENSION_CHANGED.with(|c| c.replace(false)) {
                shared::extension_changed();
            }
        }
        XACT_EVENT_ABORT | XACT_EVENT_PARALLEL_ABORT => {
            WROTE_OUTBOX.with(|w| w.borrow_mut().clear());
            EXTENSION_CHANGED.with(|c| c.set(false));
        }
        _ => {}
    }
}
