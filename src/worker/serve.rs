//! The serving worker: connected to `hubsync.database`, it owns all SPI work of syncing.
//!
//! Its main thread is the only one that touches Postgres. It sleeps on its latch, which a
//! committing transaction that wrote the outbox sets, and wakes at least every
//! `hubsync.sweep_interval` for retries, pulls and expired leases.

use super::engine::Engine;
use super::xact;
use crate::guc;
use crate::shared::{self, WorkerState};
use pgrx::bgworkers::{BackgroundWorker, SignalWakeFlags};
use pgrx::prelude::*;
use std::time::Duration;

/// Entry point of the serving worker, started by the launcher with the database in `extra`.
#[pg_guard]
#[unsafe(no_mangle)]
pub extern "C-unwind" fn hubsync_worker_main(_arg: pg_sys::Datum) {
    BackgroundWorker::attach_signal_handlers(SignalWakeFlags::SIGHUP | SignalWakeFlags::SIGTERM);
    let database = BackgroundWorker::get_extra().to_string();
    BackgroundWorker::connect_worker_to_spi(Some(&database), None);
    shared::worker_started(&database);
    unsafe { pg_sys::pgstat_report_appname(c"hubsync worker".as_ptr()) };
    log!("hubsync worker started for database \"{database}\"");

    let mut engine: Option<Engine> = None;
    loop {
        let keep_going = match &engine {
            Some(e) => e.waiter.wait(e.sleep_for(sweep_interval())),
            None => BackgroundWorker::wait_latch(Some(sweep_interval())),
        };
        if !keep_going {
            break;
        }
        if BackgroundWorker::sighup_received() {
            unsafe { pg_sys::ProcessConfigFile(pg_sys::GucContext::PGC_SIGHUP) };
            if guc::database() != database {
                break;
            }
        }
        round(&mut engine);
    }
    shared::worker_stopped();
}

fn sweep_interval() -> Duration {
    Duration::from_millis(guc::SWEEP_INTERVAL_MS.get().max(10) as u64)
}

/// One round of work. Every SQL step runs in its own recoverable transaction.
fn round(engine: &mut Option<Engine>) {
    match xact::run(extension_installed) {
        Ok(true) => {}
        Ok(false) => {
            // Dropping the engine stops its HTTP threads; it restarts with the extension.
            *engine = None;
            return shared::heartbeat(WorkerState::WaitingForExtension);
        }
        Err(e) => return survive(&e),
    }
    if engine.is_none() {
        match Engine::start() {
            Ok(e) => *engine = Some(e),
            Err(e) => return shared::record_error(&format!("cannot start: {e}")),
        }
    }
    match engine.as_mut().map(Engine::round) {
        Some(Err(e)) => survive(&e),
        _ => shared::heartbeat(WorkerState::Running),
    }
}

/// Logs an error the worker recovered from and shows it in `hubsync.worker`.
fn survive(error: &xact::XactError) {
    warning!("hubsync worker: {error}; will retry");
    shared::record_error(&error.to_string());
}

fn extension_installed() -> bool {
    Spi::get_one::<bool>(
        "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'hubsync')",
    )
    .ok()
    .flatten()
    .unwrap_or(false)
}
