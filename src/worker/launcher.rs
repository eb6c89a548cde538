//! The launcher: a static worker with no database connection.
//!
//! A worker can connect to one database for its whole life, and connecting to a database
//! that does not exist is FATAL. So the launcher (connected to no database, like the
//! autovacuum launcher) reads the shared catalog `pg_database` itself and keeps a pool of
//! `hubsync.workers_per_database` serving workers in every database `hubsync.database`
//! allows (all, when it is empty). It restarts workers that stop, follows new, renamed and
//! dropped databases, and resizes pools when the setting changes.
//!
//! Which databases have the extension it learns from its workers: pool member 0 starts
//! first, and exits with "waiting for extension" where there is none. Such a database is
//! looked at again every [`PROBE_INTERVAL`], or at once when a `CREATE EXTENSION hubsync`
//! (or `ALTER EXTENSION hubsync UPDATE`) commits anywhere, which wakes the launcher.

use crate::guc;
use crate::shared::{self, WorkerState};
use hubsync_core::serving::{named_databases, serves_database};
use pgrx::bgworkers::{
    BackgroundWorker, BackgroundWorkerBuilder, BackgroundWorkerStatus, BgWorkerStartTime,
    DynamicBackgroundWorker, SignalWakeFlags,
};
use pgrx::prelude::*;
use std::collections::BTreeMap;
use std::ffi::CStr;
use std::time::{Duration, Instant};

/// How often the launcher re-reads `pg_database` and checks its workers.
const CHECK_INTERVAL: Duration = Duration::from_secs(1);
/// Pause before restarting a serving worker that stopped, so a crash loop stays calm.
const RESTART_DELAY: Duration = Duration::from_secs(2);
/// How often a database found without the extension is looked at again.
const PROBE_INTERVAL: Duration = Duration::from_secs(15);
/// Pause after a worker left its database for `DROP DATABASE`: longer than the 5 seconds
/// that command waits for other sessions, since a connecting worker would count as one.
const YIELD_DELAY: Duration = Duration::from_secs(10);
/// `pg_database.datconnlimit` of a database whose `DROP DATABASE` was interrupted.
const DATCONNLIMIT_INVALID_DB: i32 = -2;

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

/// Entry point of the launcher process.
#[pg_guard]
#[unsafe(no_mangle)]
pub extern "C-unwind" fn hubsync_launcher_main(_arg: pg_sys::Datum) {
    BackgroundWorker::attach_signal_handlers(SignalWakeFlags::SIGHUP | SignalWakeFlags::SIGTERM);
    BackgroundWorker::connect_worker_to_spi(None, None);
    shared::launcher_started();
    if !stop_leftovers() {
        return;
    }

    let mut launcher = Launcher::default();
    while BackgroundWorker::wait_latch(Some(CHECK_INTERVAL)) {
        if BackgroundWorker::sighup_received() {
            unsafe { pg_sys::ProcessConfigFile(pg_sys::GucContext::PGC_SIGHUP) };
        }
        launcher.round();
    }
    launcher.stop_all();
}

/// How long a restarted launcher waits for the workers of its previous run to stop.
const LEFTOVER_PATIENCE: Duration = Duration::from_secs(30);

/// A launcher that restarts (the previous one died) finds that one's workers still running,
/// with no handle to them: it stops them before starting any, so that no sync ever has two
/// owners. False if the launcher itself must stop meanwhile.
fn stop_leftovers() -> bool {
    let pids = shared::reset_slots();
    let alive = |pid: &i32| unsafe { libc::kill(*pid, 0) } == 0;
    for pid in pids.iter().filter(|p| alive(p)) {
        // SAFETY: a plain signal to a worker the previous launcher started.
        unsafe { libc::kill(*pid, libc::SIGTERM) };
    }
    let deadline = Instant::now() + LEFTOVER_PATIENCE;
    while pids.iter().any(alive) && Instant::now() < deadline {
        if !BackgroundWorker::wait_latch(Some(Duration::from_millis(100))) {
            return false;
        }
    }
    true
}

/// A serving worker the launcher started, and the shared-memory slot it reports in.
struct Started {
    slot: usize,
    handle: DynamicBackgroundWorker,
    /// `shared::extension_changes()` when it started: an extension created since then may
    /// have come too late for it to see.
    changes: u64,
}

impl Started {
    /// Whether the process is gone (stopped, crashed, never started).
    fn gone(&self) -> bool {
        !matches!(
            self.handle.pid(),
            Ok(_) | Err(BackgroundWorkerStatus::NotYetStarted)
        )
    }

    /// Asks the worker to stop (SIGTERM) without waiting: it is reaped once gone, and only
    /// then is its slot (which it writes on its way out) given to another worker.
    fn terminate(&self) {
        if let Ok(pid) = self.handle.pid() {
            // SAFETY: a plain signal to a process the postmaster started for us.
            unsafe { libc::kill(pid, libc::SIGTERM) };
        }
    }
}

/// One database the launcher serves.
struct Database {
    name: String,
    /// One entry per pool member, `None` where none runs.
    members: Vec<Option<Started>>,
    /// Not known to have the extension at the library's version: only member 0 runs, to
    /// find out.
    dormant: bool,
    /// Why member 0 last left, while dormant (shown for named databases and outdated ones).
    outcome: WorkerState,
    /// No worker starts before this.
    not_before: Option<Instant>,
    /// A slot showing that this database waits (for the extension or its update).
    placeholder: Option<usize>,
    /// A start failed and was reported; not reported again until one succeeds.
    warned: bool,
}

impl Database {
    fn new(name: String, size: i32) -> Database {
        Database {
            name,
            members: (0..size).map(|_| None).collect(),
            dormant: true,
            outcome: WorkerState::Starting,
            not_before: None,
            placeholder: None,
            warned: false,
        }
    }
}

/// Everything the launcher keeps between rounds.
#[derive(Default)]
struct Launcher {
    databases: BTreeMap<u32, Database>,
    /// Workers asked to stop, by database, with their slots still taken.
    stopping: Vec<(u32, Started)>,
    /// Named databases that do not exist (yet), each with a slot saying so.
    missing: BTreeMap<String, usize>,
    /// `shared::extension_changes()` when last seen.
    extension_changes: u64,
}

impl Launcher {
    fn round(&mut self) {
        let setting = guc::database();
        let size = guc::workers_per_database();
        let Some(found) = database_list() else {
            return;
        };
        let wanted: Vec<(u32, String)> = found
            .into_iter()
            .filter(|(_, name)| serves_database(&setting, name))
            .collect();
        self.reap_stopping();
        self.forget_unwanted(&wanted);
        let changes = shared::extension_changes();
        let extension_changed = changes != self.extension_changes;
        self.extension_changes = changes;
        for (oid, name) in &wanted {
            let db = self
                .databases
                .entry(*oid)
                .or_insert_with(|| Database::new(name.clone(), size));
            if db.name != *name {
                // Renamed: its workers left for the rename and come back under the new name.
                db.name = name.clone();
            }
            if extension_changed && db.dormant {
                db.not_before = None;
            }
            if db.members.len() != size as usize {
                log!(
                    "hubsync launcher: hubsync.workers_per_database is now {size}; restarting the workers of \"{name}\""
                );
                for started in db.members.drain(..).flatten() {
                    started.terminate();
                    self.stopping.push((*oid, started));
                }
                db.members = (0..size).map(|_| None).collect();
            }
            reap(db);
            let settling = self.stopping.iter().any(|(o, _)| o == oid);
            if !settling {
                start(*oid, db, size);
            }
            show_waiting(*oid, db, named_databases(&setting).contains(&name.as_str()));
        }
        self.show_missing(&setting, &wanted);
        self.choose_dashboard(&setting);
    }

    /// Stops the workers of databases dropped, or no longer allowed by `hubsync.database`.
    fn forget_unwanted(&mut self, wanted: &[(u32, String)]) {
        let gone: Vec<u32> = self
            .databases
            .keys()
            .filter(|oid| !wanted.iter().any(|(o, _)| o == *oid))
            .copied()
            .collect();
        for oid in gone {
            let Some(mut db) = self.databases.remove(&oid) else {
                continue;
            };
            for started in db.members.drain(..).flatten() {
                started.terminate();
                self.stopping.push((oid, started));
            }
            if let Some(slot) = db.placeholder.take() {
                shared::free_slot(slot);
            }
        }
    }

    /// Frees the slots of workers that stopped as asked.
    fn reap_stopping(&mut self) {
        self.stopping.retain(|(_, started)| {
            if started.gone() {
                shared::free_slot(started.slot);
                return false;
            }
            true
        });
    }

    /// Named databases that do not exist are shown as waited for.
    fn show_missing(&mut self, setting: &str, wanted: &[(u32, String)]) {
        let missing: Vec<&str> = named_databases(setting)
            .into_iter()
            .filter(|name| !wanted.iter().any(|(_, n)| n == name))
            .collect();
        self.missing.retain(|name, slot| {
            let keep = missing.contains(&name.as_str());
            if !keep {
                shared::free_slot(*slot);
            }
            keep
        });
        for name in missing {
            if !self.missing.contains_key(name) {
                let slot = shared::claim_slot(
                    pg_sys::InvalidOid,
                    name,
                    0,
                    1,
                    WorkerState::WaitingForDatabase,
                );
                if let Some(slot) = slot {
                    self.missing.insert(name.to_string(), slot);
                }
            }
        }
    }

    /// The dashboard serves one database: the first one `hubsync.database` names that has
    /// the extension, else the one with the lowest oid among those that have it.
    fn choose_dashboard(&self, setting: &str) {
        let serving = |db: &&Database| !db.dormant;
        let named = named_databases(setting).into_iter().find_map(|name| {
            self.databases
                .values()
                .filter(serving)
                .find(|db| db.name == name)
        });
        let chosen = named.or_else(|| self.databases.values().find(serving));
        for db in self.databases.values() {
            if let Some(Some(first)) = db.members.first() {
                let on = chosen.is_some_and(|c| std::ptr::eq(c, db));
                shared::update(first.slot, |slot| slot.dashboard = on);
            }
        }
    }

    /// At shutdown: asks every worker to stop.
    fn stop_all(&mut self) {
        for db in self.databases.values() {
            db.members.iter().flatten().for_each(Started::terminate);
        }
    }
}

/// Notices the workers of `db` that stopped, and why.
fn reap(db: &mut Database) {
    let now = Instant::now();
    for k in 0..db.members.len() {
        let Some(started) = &db.members[k] else {
            continue;
        };
        if !started.gone() {
            if k == 0 && db.dormant && shared::slot(started.slot).state == WorkerState::Running {
                // The extension is there: the rest of the pool may start.
                db.dormant = false;
            }
            continue;
        }
        let outcome = shared::free_slot(started.slot);
        let missed_a_change = started.changes != shared::extension_changes();
        db.members[k] = None;
        let delay = match outcome {
            WorkerState::WaitingForExtension | WorkerState::WaitingForUpdate => {
                // Every member finds the same: they all leave, and member 0 probes later,
                // at once if the extension was created or updated meanwhile somewhere.
                db.dormant = true;
                db.outcome = outcome;
                if missed_a_change {
                    Duration::ZERO
                } else {
                    PROBE_INTERVAL
                }
            }
            WorkerState::YieldedDatabase => YIELD_DELAY,
            _ => RESTART_DELAY,
        };
        let until = now + delay;
        db.not_before = Some(db.not_before.map_or(until, |t| t.max(until)));
    }
}

/// Starts the members of `db` that should run and do not: only member 0 while dormant.
fn start(oid: u32, db: &mut Database, size: i32) {
    if db.not_before.is_some_and(|t| Instant::now() < t) {
        return;
    }
    db.not_before = None;
    let wanted = if db.dormant { 1 } else { db.members.len() };
    for k in 0..wanted {
        if db.members[k].is_some() {
            continue;
        }
        match launch(oid, &db.name, k as i32, size) {
            Ok(started) => {
                db.members[k] = Some(started);
                db.warned = false;
            }
            Err(problem) => {
                if !db.warned {
                    warning!(
                        "hubsync launcher: cannot start a worker for \"{}\": {problem}",
                        db.name
                    );
                    db.warned = true;
                }
                db.not_before = Some(Instant::now() + RESTART_DELAY);
                return;
            }
        }
    }
}

/// Shows a dormant database as waiting, when that is news to a user: it is named in
/// `hubsync.database`, or it has an outdated extension.
fn show_waiting(oid: u32, db: &mut Database, named: bool) {
    let shown = db.dormant
        && db.members[0].is_none()
        && (named || db.outcome == WorkerState::WaitingForUpdate)
        && matches!(
            db.outcome,
            WorkerState::WaitingForExtension | WorkerState::WaitingForUpdate
        );
    match (shown, db.placeholder) {
        (true, None) => {
            db.placeholder = shared::claim_slot(pg_sys::Oid::from(oid), &db.name, 0, 1, db.outcome);
        }
        (true, Some(slot)) => shared::update(slot, |s| s.state = db.outcome),
        (false, Some(slot)) => {
            shared::free_slot(slot);
            db.placeholder = None;
        }
        (false, None) => {}
    }
}

/// Starts pool member `index` of `size` in database `oid`.
fn launch(oid: u32, name: &str, index: i32, size: i32) -> Result<Started, String> {
    let changes = shared::extension_changes();
    let slot = shared::claim_slot(
        pg_sys::Oid::from(oid),
        name,
        index,
        size,
        WorkerState::Starting,
    )
    .ok_or("every hubsync worker slot is taken; serve fewer databases or lower hubsync.workers_per_database")?;
    let launched = BackgroundWorkerBuilder::new("hubsync worker")
        .set_type("hubsync worker")
        .set_library("hubsync")
        .set_function("hubsync_worker_main")
        .enable_spi_access()
        .set_argument(Some(pg_sys::Datum::from(slot)))
        .set_notify_pid(unsafe { pg_sys::MyProcPid })
        .load_dynamic();
    match launched {
        Ok(handle) => Ok(Started {
            slot,
            handle,
            changes,
        }),
        Err(_) => {
            shared::free_slot(slot);
            Err("no background worker slot is free; raise max_worker_processes".into())
        }
    }
}

/// The databases one can connect to, by oid: a plain heap scan of the shared catalog
/// `pg_database`, as the autovacuum launcher's `get_database_list` does (without a
/// database, index and syscache lookups can need relcache entries this process cannot
/// build). Templates are skipped, like databases that refuse connections or are half
/// dropped. `None` if the catalog could not be read.
fn database_list() -> Option<Vec<(u32, String)>> {
    super::xact::run(|| unsafe {
        let lock = pg_sys::AccessShareLock as pg_sys::LOCKMODE;
        let rel = pg_sys::table_open(pg_sys::DatabaseRelationId, lock);
        let scan = pg_sys::table_beginscan_catalog(rel, 0, std::ptr::null_mut());
        let mut found = Vec::new();
        loop {
            let tuple = pg_sys::heap_getnext(scan, pg_sys::ScanDirection::ForwardScanDirection);
            if tuple.is_null() {
                break;
            }
            let form = pg_sys::heap_tuple_get_struct::<pg_sys::FormData_pg_database>(tuple);
            if !(*form).datallowconn
                || (*form).datistemplate
                || (*form).datconnlimit == DATCONNLIMIT_INVALID_DB
            {
                continue;
            }
            let name = CStr::from_ptr((*form).datname.data.as_ptr());
            found.push(((*form).oid.to_u32(), name.to_string_lossy().into_owned()));
        }
        pg_sys::table_endscan(scan);
        pg_sys::table_close(rel, lock);
        found
    })
    .inspect_err(|e| warning!("hubsync launcher: cannot read pg_database: {e}"))
    .ok()
}
