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
use std::time::{Duration, Instant};

/// Entry point of the serving worker, started by the launcher with the database in `extra`.
#[pg_guard]
#[unsafe(no_mangle)]
pub extern "C-unwind" fn hubsync_worker_main(_arg: pg_sys::Datum) {
    BackgroundWorker::attach_signal_handlers(SignalWakeFlags::SIGHUP | SignalWakeFlags::SIGTERM);
    let database = BackgroundWorker::get_extra().to_string();
    BackgroundWorker::connect_worker_to_spi(Some(&database), None);
    // The database's owner may have set a search_path for everyone (ALTER DATABASE ... SET):
    // the worker resolves names only in pg_catalog (and its own pg_temp, which nobody else
    // can create objects in) from its first statement on.
    if let Err(e) = xact::run_spi(|| Spi::run("SET search_path = pg_catalog, pg_temp")) {
        pgrx::error!("hubsync worker: cannot pin its search_path: {e}");
    }
    shared::worker_started(&database);
    unsafe { pg_sys::pgstat_report_appname(c"hubsync worker".as_ptr()) };
    log!("hubsync worker started for database \"{database}\"");

    let mut serving = Serving::default();
    loop {
        let keep_going = match &serving.engine {
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
            serving.dashboard.reload();
        }
        serving.round();
        serving.dashboard.round(serving.engine.is_some());
    }
    shared::worker_stopped();
}

/// How long the worker sleeps when nothing wakes it (`hubsync.sweep_interval`).
pub fn sweep_interval() -> Duration {
    Duration::from_millis(guc::SWEEP_INTERVAL_MS.get().max(10) as u64)
}

/// How often a running worker re-checks that the extension is still installed, at the
/// library's version (a commit that wakes it must not cost a catalog query).
const EXTENSION_CHECK_EVERY: Duration = Duration::from_secs(5);

/// The worker's state between wake-ups.
#[derive(Default)]
struct Serving {
    engine: Option<Engine>,
    /// When the extension was last seen installed.
    extension_seen: Option<Instant>,
    /// The web dashboard and `/metrics` (off unless `hubsync.dashboard_listen` is set).
    dashboard: super::dashboard::Dashboard,
}

impl Serving {
    /// One round of work. Every SQL step runs in its own recoverable transaction.
    fn round(&mut self) {
        if self
            .extension_seen
            .is_none_or(|t| t.elapsed() >= EXTENSION_CHECK_EVERY)
        {
            let waiting = match xact::run(installed_version) {
                Ok(Some(v)) if v == env!("CARGO_PKG_VERSION") => None,
                Ok(Some(_)) => Some(WorkerState::WaitingForUpdate),
                Ok(None) => Some(WorkerState::WaitingForExtension),
                Err(e) => return survive(&e),
            };
            if let Some(state) = waiting {
                // Dropping the engine stops its HTTP threads; it restarts with the extension.
                self.engine = None;
                self.extension_seen = None;
                return shared::heartbeat(state);
            }
            self.extension_seen = Some(Instant::now());
        }
        if self.engine.is_none() {
            match Engine::start() {
                Ok(e) => self.engine = Some(e),
                Err(e) => return shared::record_error(&format!("cannot start: {e}")),
            }
        }
        match self.engine.as_mut().map(Engine::round) {
            Some(Err(e)) => {
                // The catalog may be gone with the extension: look again next round.
                self.extension_seen = None;
                survive(&e)
            }
            _ => shared::heartbeat(WorkerState::Running),
        }
    }
}

/// Logs an error the worker recovered from and shows it in `hubsync.worker`.
fn survive(error: &xact::XactError) {
    warning!("hubsync worker: {error}; will retry");
    shared::record_error(&error.to_string());
}

/// The version of the extension installed in this database, if it is installed.
fn installed_version() -> Option<String> {
    Spi::get_one::<String>(
        "SELECT extversion FROM pg_catalog.pg_extension WHERE extname = 'hubsync'",
    )
    .ok()
    .flatten()
}
