//! A serving worker: one member of a database's pool, started by the launcher. It owns all
//! SPI work of the syncs its pool position gives it (see [`Member`]).
//!
//! Its main thread is the only one that touches Postgres. It sleeps on its latch, which a
//! committing transaction that wrote the outbox of one of its syncs sets, and wakes at
//! least every `hubsync.sweep_interval` for retries, pulls and expired leases. It exits,
//! leaving the reason in its shared-memory slot for the launcher, when its database has no
//! hubsync extension (or another version), and when someone needs the database to
//! themselves (`DROP DATABASE`).

use super::engine::Engine;
use super::xact;
use crate::guc;
use crate::shared::{self, WorkerState};
use pgrx::bgworkers::{BackgroundWorker, SignalWakeFlags};
use pgrx::prelude::*;
use std::time::{Duration, Instant};

/// Which part of its database's work a worker does: the syncs with `id % size = index`
/// (`hubsync_core::serving::owner_of`), so each sync has exactly one owner in the pool.
#[derive(Debug, Clone, Copy)]
pub struct Member {
    /// Its shared-memory slot.
    pub slot: usize,
    /// Its place in the pool, `0..size`.
    pub index: i32,
    pub size: i32,
}

impl Member {
    /// Per-database singletons (sending notifications) run in member 0 only.
    pub fn runs_singletons(&self) -> bool {
        self.index == 0
    }
}

/// Entry point of a serving worker; the launcher passes its shared-memory slot, which
/// holds the database and the pool position.
#[pg_guard]
#[unsafe(no_mangle)]
pub extern "C-unwind" fn hubsync_worker_main(arg: pg_sys::Datum) {
    BackgroundWorker::attach_signal_handlers(SignalWakeFlags::SIGHUP | SignalWakeFlags::SIGTERM);
    let slot = arg.value();
    let place = shared::slot(slot);
    let me = Member {
        slot,
        index: place.pool_index,
        size: place.pool_size,
    };
    BackgroundWorker::connect_worker_to_spi_by_oid(Some(place.database_oid), None);
    // The database's owner may have set a search_path for everyone (ALTER DATABASE ... SET):
    // the worker resolves names only in pg_catalog (and its own pg_temp, which nobody else
    // can create objects in) from its first statement on.
    if let Err(e) = xact::run_spi(|| Spi::run("SET search_path = pg_catalog, pg_temp")) {
        pgrx::error!("hubsync worker: cannot pin its search_path: {e}");
    }
    shared::worker_started(slot);
    unsafe { pg_sys::pgstat_report_appname(c"hubsync worker".as_ptr()) };
    log!(
        "hubsync worker {}/{} started for database \"{}\"",
        me.index + 1,
        me.size,
        place.database()
    );

    let mut serving = Serving::new(me);
    let outcome = loop {
        let keep_going = match &serving.engine {
            Some(e) => e.waiter.wait(e.sleep_for(sweep_interval())),
            None => BackgroundWorker::wait_latch(Some(sweep_interval())),
        };
        if !keep_going {
            break WorkerState::Stopped;
        }
        if BackgroundWorker::sighup_received() {
            unsafe { pg_sys::ProcessConfigFile(pg_sys::GucContext::PGC_SIGHUP) };
            if let Some(dashboard) = &mut serving.dashboard {
                dashboard.reload();
            }
        }
        if let Some(outcome) = serving.round() {
            break outcome;
        }
        serving.follow_dashboard();
    };
    if outcome != WorkerState::Stopped {
        log!(
            "hubsync worker {}/{} leaves database \"{}\": {}",
            me.index + 1,
            me.size,
            place.database(),
            outcome.label()
        );
    }
    shared::worker_stopped(slot, outcome);
}

/// How long the worker sleeps when nothing wakes it (`hubsync.sweep_interval`).
pub fn sweep_interval() -> Duration {
    Duration::from_millis(guc::SWEEP_INTERVAL_MS.get().max(10) as u64)
}

/// How often a running worker re-checks that the extension is still installed, at the
/// library's version (a commit that wakes it must not cost a catalog query).
const EXTENSION_CHECK_EVERY: Duration = Duration::from_secs(5);

/// How often the worker looks whether someone waits to have its database to themselves:
/// `DROP DATABASE` waits 5 seconds for other sessions to leave before it gives up.
const EXCLUSIVE_CHECK_EVERY: Duration = Duration::from_millis(500);

/// The worker's state between wake-ups.
struct Serving {
    me: Member,
    engine: Option<Engine>,
    /// When the extension was last seen installed.
    extension_seen: Option<Instant>,
    /// When the worker last looked for a `DROP DATABASE` waiting for it.
    exclusive_checked: Option<Instant>,
    /// The web dashboard and `/metrics` (off unless `hubsync.dashboard_listen` is set), in
    /// the one worker the launcher chose for it.
    dashboard: Option<super::dashboard::Dashboard>,
}

impl Serving {
    fn new(me: Member) -> Serving {
        Serving {
            me,
            engine: None,
            extension_seen: None,
            exclusive_checked: None,
            dashboard: None,
        }
    }

    /// Runs the dashboard while the launcher wants it here, stops it when it moves.
    fn follow_dashboard(&mut self) {
        if !shared::slot(self.me.slot).dashboard {
            self.dashboard = None;
            return;
        }
        let readable = self.engine.is_some();
        self.dashboard
            .get_or_insert_with(Default::default)
            .round(readable);
    }

    /// One round of work. Every SQL step runs in its own recoverable transaction. Returns
    /// why the worker must leave its database, if it must.
    fn round(&mut self) -> Option<WorkerState> {
        if self
            .exclusive_checked
            .is_none_or(|t| t.elapsed() >= EXCLUSIVE_CHECK_EVERY)
        {
            self.exclusive_checked = Some(Instant::now());
            if database_wanted_exclusively() {
                return Some(WorkerState::YieldedDatabase);
            }
        }
        if self
            .extension_seen
            .is_none_or(|t| t.elapsed() >= EXTENSION_CHECK_EVERY)
        {
            match xact::run(installed_version) {
                Ok(Some(v)) if v == env!("CARGO_PKG_VERSION") => {}
                Ok(Some(_)) => return Some(WorkerState::WaitingForUpdate),
                Ok(None) => return Some(WorkerState::WaitingForExtension),
                Err(e) => {
                    self.survive(&e);
                    return None;
                }
            }
            self.extension_seen = Some(Instant::now());
        }
        if self.engine.is_none() {
            match Engine::start(self.me) {
                Ok(e) => self.engine = Some(e),
                Err(e) => {
                    shared::record_error(self.me.slot, &format!("cannot start: {e}"));
                    return None;
                }
            }
        }
        match self.engine.as_mut().map(Engine::round) {
            Some(Err(e)) => {
                // The catalog may be gone with the extension: look again next round.
                self.extension_seen = None;
                self.survive(&e)
            }
            _ => shared::heartbeat(self.me.slot, WorkerState::Running),
        }
        None
    }

    /// Logs an error the worker recovered from and shows it in `hubsync.worker`.
    fn survive(&self, error: &xact::XactError) {
        warning!("hubsync worker: {error}; will retry");
        shared::record_error(self.me.slot, &error.to_string());
    }
}

/// The version of the extension installed in this database, if it is installed.
fn installed_version() -> Option<String> {
    Spi::get_one::<String>(
        "SELECT extversion FROM pg_catalog.pg_extension WHERE extname = 'hubsync'",
    )
    .ok()
    .flatten()
}

/// Whether a session holds (or waits for) the database itself exclusively: `DROP DATABASE`
/// and `ALTER DATABASE ... RENAME / SET TABLESPACE` do, then wait for every other session
/// to leave. They hold the database object's lock in `AccessExclusiveLock`, the only mode
/// that conflicts with `AccessShareLock`, so a failed try-lock in that weakest mode says so
/// without a catalog query.
fn database_wanted_exclusively() -> bool {
    xact::run(|| unsafe {
        let tag = pg_sys::LOCKTAG {
            // A shared object: no database in the tag's first field.
            locktag_field1: 0,
            locktag_field2: pg_sys::DatabaseRelationId.to_u32(),
            locktag_field3: pg_sys::MyDatabaseId.to_u32(),
            locktag_field4: 0,
            locktag_type: pg_sys::LockTagType::LOCKTAG_OBJECT as u8,
            locktag_lockmethodid: pg_sys::DEFAULT_LOCKMETHOD as u8,
        };
        let lock = pg_sys::AccessShareLock as pg_sys::LOCKMODE;
        // Released with the transaction.
        pg_sys::LockAcquire(&tag, lock, false, true)
            == pg_sys::LockAcquireResult::LOCKACQUIRE_NOT_AVAIL
    })
    .unwrap_or(false)
}
