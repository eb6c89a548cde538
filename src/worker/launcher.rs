//! The launcher: a static worker with no database connection.
//!
//! A worker can connect to one database for its whole life, and connecting to a database
//! that does not exist is FATAL. So the launcher (connected to no database, like the
//! autovacuum launcher) waits calmly for `hubsync.database` to exist, starts the serving
//! worker there, restarts it when it stops, and moves it when the setting changes.

use crate::{guc, shared};
use pgrx::bgworkers::{
    BackgroundWorker, BackgroundWorkerBuilder, BackgroundWorkerStatus, BgWorkerStartTime,
    DynamicBackgroundWorker, SignalWakeFlags,
};
use pgrx::prelude::*;
use std::ffi::CStr;
use std::time::{Duration, Instant};

/// How often the launcher re-checks the database and the serving worker.
const CHECK_INTERVAL: Duration = Duration::from_secs(1);
/// Pause before restarting a serving worker that stopped, so a crash loop stays calm.
const RESTART_DELAY: Duration = Duration::from_secs(2);

/// Registers the launcher; called from `_PG_init` under `shared_preload_libraries`.
pub fn register() {
    BackgroundWorkerBuilder::new("hubsync launcher")
        .set_type("hubsync launcher")
        .set_library("hubsync")
        .set_function("hubsync_launcher_main")
        .enable_spi_access()
        .set_start_time(BgWorkerStartTime::RecoveryFinished)
        .set_restart_time(Some(Duration::from_secs(5)))
        .load();
}

/// The serving worker the launcher started, and for which database.
struct Serving {
    database: String,
    handle: DynamicBackgroundWorker,
}

/// Entry point of the launcher process.
#[pg_guard]
#[unsafe(no_mangle)]
pub extern "C-unwind" fn hubsync_launcher_main(_arg: pg_sys::Datum) {
    BackgroundWorker::attach_signal_handlers(SignalWakeFlags::SIGHUP | SignalWakeFlags::SIGTERM);
    BackgroundWorker::connect_worker_to_spi(None, None);
    shared::update(|info| info.launcher_pid = unsafe { pg_sys::MyProcPid });

    let mut serving: Option<Serving> = None;
    let mut stopped_at: Option<Instant> = None;
    while BackgroundWorker::wait_latch(Some(CHECK_INTERVAL)) {
        if BackgroundWorker::sighup_received() {
            unsafe { pg_sys::ProcessConfigFile(pg_sys::GucContext::PGC_SIGHUP) };
        }
        let wanted = guc::database();
        serving = check_serving(serving, &wanted, &mut stopped_at);
        if serving.is_none() && stopped_at.is_none_or(|t| t.elapsed() >= RESTART_DELAY) {
            serving = launch_if_database_exists(&wanted);
            stopped_at = None;
        }
    }
    if let Some(s) = serving {
        s.handle.terminate();
    }
}

/// Keeps the serving worker if it still runs for the wanted database.
fn check_serving(
    serving: Option<Serving>,
    wanted: &str,
    stopped_at: &mut Option<Instant>,
) -> Option<Serving> {
    let s = serving?;
    if s.database != wanted {
        log!(
            "hubsync launcher: hubsync.database changed from \"{}\" to \"{}\"; moving the worker",
            s.database,
            wanted
        );
        let _ = s.handle.terminate().wait_for_shutdown();
        return None;
    }
    match s.handle.pid() {
        Ok(_) | Err(BackgroundWorkerStatus::NotYetStarted) => Some(s),
        Err(_) => {
            *stopped_at = Some(Instant::now());
            shared::worker_stopped();
            None
        }
    }
}

/// Starts the serving worker if `database` exists; otherwise records that we wait for it.
fn launch_if_database_exists(database: &str) -> Option<Serving> {
    if !database_exists(database) {
        shared::update(|info| {
            info.pid = 0;
            info.state = shared::WorkerState::WaitingForDatabase;
            info.set_database(database);
        });
        return None;
    }
    let launched = BackgroundWorkerBuilder::new("hubsync worker")
        .set_type("hubsync worker")
        .set_library("hubsync")
        .set_function("hubsync_worker_main")
        .enable_spi_access()
        .set_extra(database)
        .set_notify_pid(unsafe { pg_sys::MyProcPid })
        .load_dynamic();
    match launched {
        Ok(handle) => Some(Serving {
            database: database.to_string(),
            handle,
        }),
        Err(_) => {
            warning!("hubsync launcher: could not start the worker; raise max_worker_processes");
            None
        }
    }
}

/// Looks the database up in the shared catalog `pg_database`, with a plain heap scan as
/// the autovacuum launcher does: without a database, index and syscache lookups can
/// need relcache entries this process cannot build.
fn database_exists(database: &str) -> bool {
    super::xact::run(|| unsafe {
        let lock = pg_sys::AccessShareLock as pg_sys::LOCKMODE;
        let rel = pg_sys::table_open(pg_sys::DatabaseRelationId, lock);
        let scan = pg_sys::table_beginscan_catalog(rel, 0, std::ptr::null_mut());
        let mut found = false;
        loop {
            let tuple = pg_sys::heap_getnext(scan, pg_sys::ScanDirection::ForwardScanDirection);
            if tuple.is_null() {
                break;
            }
            let form = pg_sys::heap_tuple_get_struct::<pg_sys::FormData_pg_database>(tuple);
            if CStr::from_ptr((*form).datname.data.as_ptr()).to_bytes() == database.as_bytes() {
                found = true;
                break;
            }
        }
        pg_sys::table_endscan(scan);
        pg_sys::table_close(rel, lock);
        found
    })
    .unwrap_or(false)
}
