//! State shared between the launcher, the serving workers and every backend, in Postgres
//! shared memory.
//!
//! One slot per serving worker (database, pool member, pid, latch, state, the syncs it
//! serves). The launcher hands a slot to each worker it starts and frees it when the
//! worker is gone; the worker fills in the rest. Backends read the slots to wake the
//! workers of their own database at commit and to show `hubsync.worker`.

use hubsync_core::serving::owner_of;
use pgrx::prelude::*;
use pgrx::{pg_shmem_init, PGRXSharedMemory, PgAtomic, PgLwLock};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

const TEXT_LEN: usize = 256;

/// Serving workers the cluster can have at once (all databases, all pool members); each
/// also needs a `max_worker_processes` slot, which is the tighter limit in practice.
pub const MAX_WORKERS: usize = 64;
const _: () = assert!(MAX_WORKERS <= 64, "WAKE_PENDING holds one bit per slot");

/// Syncs a worker lists in `hubsync.worker.syncs` (it may serve more).
const LISTED_SYNCS: usize = 64;

/// What a worker is doing, as shown in `hubsync.worker.state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum WorkerState {
    Stopped = 0,
    Starting,
    WaitingForDatabase,
    WaitingForExtension,
    /// The database has another version of the extension than this library: the worker
    /// waits for `ALTER EXTENSION hubsync UPDATE` rather than run on a schema it was not
    /// built for.
    WaitingForUpdate,
    Running,
    Error,
    /// Someone needs the database to themselves (`DROP DATABASE`, `ALTER DATABASE ...
    /// RENAME`): the worker left it, and the launcher comes back later.
    YieldedDatabase,
}

impl WorkerState {
    /// The label users see.
    pub fn label(self) -> &'static str {
        match self {
            WorkerState::Stopped => "stopped",
            WorkerState::Starting => "starting",
            WorkerState::WaitingForDatabase => "waiting for database",
            WorkerState::WaitingForExtension => "waiting for extension",
            WorkerState::WaitingForUpdate => "waiting for ALTER EXTENSION hubsync UPDATE",
            WorkerState::Running => "running",
            WorkerState::Error => "error",
            WorkerState::YieldedDatabase => "left the database for DROP or ALTER DATABASE",
        }
    }
}

/// A fixed-size string, because shared memory cannot hold heap allocations.
#[derive(Clone, Copy)]
pub struct ShmemText {
    len: usize,
    bytes: [u8; TEXT_LEN],
}

impl ShmemText {
    const EMPTY: ShmemText = ShmemText {
        len: 0,
        bytes: [0; TEXT_LEN],
    };

    fn set(&mut self, text: &str) {
        let mut end = text.len().min(TEXT_LEN);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        self.bytes[..end].copy_from_slice(&text.as_bytes()[..end]);
        self.len = end;
    }

    fn get(&self) -> String {
        String::from_utf8_lossy(&self.bytes[..self.len]).into_owned()
    }
}

/// One serving worker's public record (or, without a pid, a database the launcher waits for).
#[derive(Clone, Copy)]
pub struct Slot {
    pub in_use: bool,
    /// The database served; `InvalidOid` while the launcher waits for a named database.
    pub database_oid: pg_sys::Oid,
    database: ShmemText,
    /// This worker's place in its database's pool, and the pool's size.
    pub pool_index: i32,
    pub pool_size: i32,
    pub pid: i32,
    /// Address of the worker's latch (inside its PGPROC, itself in shared memory), or 0.
    latch: usize,
    pub state: WorkerState,
    pub started_at: i64,
    pub heartbeat: i64,
    last_error: ShmemText,
    pub last_error_at: i64,
    /// Bumped by `hubsync.pull_now` for a sync this worker owns.
    pull_requests: u64,
    syncs: [i32; LISTED_SYNCS],
    listed: usize,
    /// The launcher chose this worker to serve the dashboard (one for the whole server).
    pub dashboard: bool,
}

impl Slot {
    const FREE: Slot = Slot {
        in_use: false,
        database_oid: pg_sys::InvalidOid,
        database: ShmemText::EMPTY,
        pool_index: 0,
        pool_size: 1,
        pid: 0,
        latch: 0,
        state: WorkerState::Stopped,
        started_at: 0,
        heartbeat: 0,
        last_error: ShmemText::EMPTY,
        last_error_at: 0,
        pull_requests: 0,
        syncs: [0; LISTED_SYNCS],
        listed: 0,
        dashboard: false,
    };

    /// Database the worker serves (or the launcher waits for).
    pub fn database(&self) -> String {
        self.database.get()
    }

    /// Last error the worker survived, if any.
    pub fn last_error(&self) -> Option<String> {
        (self.last_error.len > 0).then(|| self.last_error.get())
    }

    /// The syncs the worker serves (at most [`LISTED_SYNCS`] of them).
    pub fn syncs(&self) -> Vec<i32> {
        self.syncs[..self.listed].to_vec()
    }

    /// Whether this worker serves (or would serve) `sync_id` of its database.
    fn owns(&self, sync_id: i32) -> bool {
        owner_of(sync_id, self.pool_size) == self.pool_index
    }

    fn wake(&self) {
        if self.latch != 0 {
            // SAFETY: the address points into the PGPROC array in shared memory, valid in
            // every backend; SetLatch on a latch whose owner exited is harmless.
            unsafe { pg_sys::SetLatch(self.latch as *mut pg_sys::Latch) };
        }
    }
}

/// Every slot, and the launcher's identity.
#[derive(Clone, Copy)]
pub struct Workers {
    pub launcher_pid: i32,
    launcher_latch: usize,
    pub slots: [Slot; MAX_WORKERS],
}

impl Default for Workers {
    fn default() -> Self {
        Workers {
            launcher_pid: 0,
            launcher_latch: 0,
            slots: [Slot::FREE; MAX_WORKERS],
        }
    }
}

// SAFETY: Workers is plain old data (no pointers; latches are kept as addresses into
// shared memory, valid in every process), fine to share between processes.
unsafe impl PGRXSharedMemory for Workers {}

static WORKERS: PgLwLock<Workers> = unsafe { PgLwLock::new(c"hubsync_workers") };

/// Bumped at commit of `CREATE EXTENSION hubsync` / `ALTER EXTENSION hubsync UPDATE`: the
/// launcher then looks again at databases it found without the extension.
static EXTENSION_CHANGES: PgAtomic<AtomicU64> =
    unsafe { PgAtomic::new(c"hubsync_extension_changes") };

/// One bit per slot, set by the first commit that wakes that worker and cleared by the
/// worker when it wakes (before it reads the outbox): the commits of a storm in between
/// find it set and skip `SetLatch`.
static WAKE_PENDING: PgAtomic<AtomicU64> = unsafe { PgAtomic::new(c"hubsync_wake_pending") };

/// This process's slot when it is a serving worker (for [`woken`]).
static MY_SLOT: AtomicUsize = AtomicUsize::new(usize::MAX);

/// Set in the postmaster when the library is preloaded; inherited by every backend it forks.
/// Without preload there is no shared memory and no worker.
static PRELOADED: AtomicBool = AtomicBool::new(false);

/// Reserves the shared memory; only valid from `_PG_init` under `shared_preload_libraries`.
pub fn init() {
    pg_shmem_init!(WORKERS);
    pg_shmem_init!(EXTENSION_CHANGES);
    pg_shmem_init!(WAKE_PENDING);
    PRELOADED.store(true, Ordering::Relaxed);
}

/// True when the library was preloaded, so shared memory and the launcher exist.
pub fn available() -> bool {
    PRELOADED.load(Ordering::Relaxed)
}

/// A copy of every slot and the launcher's pid, if shared memory exists.
pub fn snapshot() -> Option<Workers> {
    available().then(|| *WORKERS.share())
}

/// The launcher records itself, so backends can wake it.
pub fn launcher_started() {
    if available() {
        let mut all = WORKERS.exclusive();
        all.launcher_pid = unsafe { pg_sys::MyProcPid };
        all.launcher_latch = unsafe { pg_sys::MyLatch } as usize;
    }
}

/// Frees every slot and returns the pids of the workers still recorded in them: a
/// restarted launcher (the previous one crashed) has no handle to those workers.
pub fn reset_slots() -> Vec<i32> {
    if !available() {
        return Vec::new();
    }
    let mut all = WORKERS.exclusive();
    let pids = all
        .slots
        .iter()
        .filter(|s| s.in_use && s.pid != 0)
        .map(|s| s.pid)
        .collect();
    all.slots = [Slot::FREE; MAX_WORKERS];
    pids
}

/// Takes a free slot for a worker the launcher is about to start (or a database it waits
/// for, with `InvalidOid`); `None` when all are taken.
pub fn claim_slot(
    database_oid: pg_sys::Oid,
    database: &str,
    pool_index: i32,
    pool_size: i32,
    state: WorkerState,
) -> Option<usize> {
    if !available() {
        return None;
    }
    let mut all = WORKERS.exclusive();
    let index = all.slots.iter().position(|s| !s.in_use)?;
    let slot = &mut all.slots[index];
    *slot = Slot::FREE;
    slot.in_use = true;
    slot.database_oid = database_oid;
    slot.database.set(database);
    slot.pool_index = pool_index;
    slot.pool_size = pool_size;
    slot.state = state;
    Some(index)
}

/// Gives a slot back; returns the state its worker left in it (why it stopped).
pub fn free_slot(index: usize) -> WorkerState {
    let mut all = WORKERS.exclusive();
    let state = all.slots[index].state;
    all.slots[index] = Slot::FREE;
    state
}

/// A copy of one slot.
pub fn slot(index: usize) -> Slot {
    WORKERS.share().slots[index]
}

/// Applies `change` to one slot under the lock.
pub fn update(index: usize, change: impl FnOnce(&mut Slot)) {
    if available() && index < MAX_WORKERS {
        change(&mut WORKERS.exclusive().slots[index]);
    }
}

/// Records the serving worker's identity and latch when it starts.
pub fn worker_started(index: usize) {
    let now = now_micros();
    update(index, |slot| {
        slot.pid = unsafe { pg_sys::MyProcPid };
        slot.latch = unsafe { pg_sys::MyLatch } as usize;
        slot.state = WorkerState::Starting;
        slot.started_at = now;
        slot.heartbeat = now;
    });
    MY_SLOT.store(index, Ordering::Relaxed);
    woken();
}

/// The worker woke: the next commit sets its latch again. Called before it reads the outbox.
pub fn woken() {
    let index = MY_SLOT.load(Ordering::Relaxed);
    if available() && index < MAX_WORKERS {
        WAKE_PENDING
            .get()
            .fetch_and(!(1u64 << index), Ordering::SeqCst);
    }
}

/// Clears the worker's identity when it exits, so nobody sets a stale latch, and leaves
/// `outcome` for the launcher to read.
pub fn worker_stopped(index: usize, outcome: WorkerState) {
    update(index, |slot| {
        slot.pid = 0;
        slot.latch = 0;
        slot.listed = 0;
        slot.state = outcome;
    });
}

/// Heartbeat plus the current state.
pub fn heartbeat(index: usize, state: WorkerState) {
    let now = now_micros();
    update(index, |slot| {
        slot.heartbeat = now;
        slot.state = state;
    });
}

/// Remembers an error the worker survived, for `hubsync.worker.last_error`.
pub fn record_error(index: usize, message: &str) {
    let now = now_micros();
    update(index, |slot| {
        slot.last_error.set(message);
        slot.last_error_at = now;
        slot.state = WorkerState::Error;
    });
}

/// Publishes the syncs the worker now serves.
pub fn serving(index: usize, syncs: &[i32]) {
    update(index, |slot| {
        let listed = syncs.len().min(LISTED_SYNCS);
        slot.syncs[..listed].copy_from_slice(&syncs[..listed]);
        slot.listed = listed;
    });
}

/// Wakes every worker of the current database (a config change, a review decision).
/// Must never fail: it also runs in a commit callback.
pub fn wake_database() {
    wake_where(|_| true);
}

/// Wakes the worker of the current database that owns one of `syncs`; called at commit of
/// a transaction that wrote their outbox. Must never fail: it runs in a commit callback.
pub fn wake_syncs(syncs: &[i32]) {
    wake_where(|slot| syncs.iter().any(|id| slot.owns(*id)));
}

fn wake_where(wanted: impl Fn(&Slot) -> bool) {
    if !available() {
        return;
    }
    let database = unsafe { pg_sys::MyDatabaseId };
    let all = WORKERS.share();
    for (index, slot) in all.slots.iter().enumerate() {
        if slot.in_use && slot.database_oid == database && wanted(slot) {
            wake_once(index, slot);
        }
    }
}

/// Sets the latch of the worker in `slot` unless a wake-up is already pending for it.
fn wake_once(index: usize, slot: &Slot) {
    let bit = 1u64 << index;
    if WAKE_PENDING.get().fetch_or(bit, Ordering::SeqCst) & bit == 0 {
        slot.wake();
    }
}

/// Asks the worker that owns `sync_id` in the current database to pull its syncs now, and
/// wakes it. At once, outside any transaction, so even a caller still inside its
/// transaction (waiting for the pull) gets it.
pub fn request_pull(sync_id: i32) {
    if !available() {
        return;
    }
    let database = unsafe { pg_sys::MyDatabaseId };
    let mut all = WORKERS.exclusive();
    for slot in all.slots.iter_mut() {
        if slot.in_use && slot.database_oid == database && slot.owns(sync_id) {
            slot.pull_requests += 1;
            slot.wake();
        }
    }
}

/// How many pulls were requested of this worker so far; it compares with what it last saw.
pub fn pull_requests(index: usize) -> u64 {
    if available() {
        WORKERS.share().slots[index].pull_requests
    } else {
        0
    }
}

/// Tells the launcher the extension was created or updated somewhere, and wakes it; called
/// at commit of the transaction that did it. Must never fail: it runs in a commit callback.
pub fn extension_changed() {
    if !available() {
        return;
    }
    EXTENSION_CHANGES.get().fetch_add(1, Ordering::AcqRel);
    let latch = WORKERS.share().launcher_latch;
    if latch != 0 {
        // SAFETY: as in `Slot::wake`.
        unsafe { pg_sys::SetLatch(latch as *mut pg_sys::Latch) };
    }
}

/// How many times the extension was created or updated since the server started.
pub fn extension_changes() -> u64 {
    EXTENSION_CHANGES.get().load(Ordering::Acquire)
}

/// Current time as Postgres' TimestampTz (microseconds since 2000-01-01).
pub fn now_micros() -> i64 {
    unsafe { pg_sys::GetCurrentTimestamp() }
}
