//! State shared between the worker and every backend, in Postgres shared memory.
//!
//! Backends read it to wake the worker at commit and to show `hubsync.worker`;
//! the worker writes its pid, latch, heartbeat and state here.

use pgrx::prelude::*;
use pgrx::{pg_shmem_init, PGRXSharedMemory, PgAtomic, PgLwLock};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

const TEXT_LEN: usize = 256;

/// What the worker is doing, as shown in `hubsync.worker.state`.
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
        }
    }
}

/// A fixed-size string, because shared memory cannot hold heap allocations.
#[derive(Clone, Copy)]
pub struct ShmemText {
    len: usize,
    bytes: [u8; TEXT_LEN],
}

impl Default for ShmemText {
    fn default() -> Self {
        ShmemText {
            len: 0,
            bytes: [0; TEXT_LEN],
        }
    }
}

impl ShmemText {
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

/// The worker's public record.
#[derive(Clone, Copy)]
pub struct WorkerInfo {
    pub launcher_pid: i32,
    pub pid: i32,
    pub state: WorkerState,
    pub started_at: i64,
    pub heartbeat: i64,
    database: ShmemText,
    last_error: ShmemText,
    pub last_error_at: i64,
}

impl Default for WorkerInfo {
    fn default() -> Self {
        WorkerInfo {
            launcher_pid: 0,
            pid: 0,
            state: WorkerState::Stopped,
            started_at: 0,
            heartbeat: 0,
            database: ShmemText::default(),
            last_error: ShmemText::default(),
            last_error_at: 0,
        }
    }
}

impl WorkerInfo {
    /// Database the worker serves.
    pub fn database(&self) -> String {
        self.database.get()
    }

    /// Records which database the worker serves (or waits for).
    pub fn set_database(&mut self, database: &str) {
        self.database.set(database);
    }

    /// Last error the worker survived, if any.
    pub fn last_error(&self) -> Option<String> {
        (self.last_error.len > 0).then(|| self.last_error.get())
    }
}

// SAFETY: WorkerInfo is plain old data (no pointers), fine to share between processes.
unsafe impl PGRXSharedMemory for WorkerInfo {}

static INFO: PgLwLock<WorkerInfo> = unsafe { PgLwLock::new(c"hubsync_worker_info") };

/// Address of the serving worker's latch (inside its PGPROC, itself in shared memory), or 0.
static LATCH: PgAtomic<AtomicUsize> = unsafe { PgAtomic::new(c"hubsync_worker_latch") };

/// Set by the first commit that wakes the worker, cleared by the worker when it wakes (before
/// it reads the outbox): the commits of a storm in between find it set and skip `SetLatch`.
static WAKE_PENDING: PgAtomic<AtomicBool> = unsafe { PgAtomic::new(c"hubsync_wake_pending") };

/// Bumped by `hubsync.pull_now`: at once, outside any transaction, so even a caller still
/// inside its transaction (waiting for the pull) gets it.
static PULL_REQUESTS: PgAtomic<AtomicU64> = unsafe { PgAtomic::new(c"hubsync_pull_requests") };

/// Set in the postmaster when the library is preloaded; inherited by every backend it forks.
/// Without preload there is no shared memory and no worker.
static PRELOADED: AtomicBool = AtomicBool::new(false);

/// Reserves the shared memory; only valid from `_PG_init` under `shared_preload_libraries`.
pub fn init() {
    pg_shmem_init!(INFO);
    pg_shmem_init!(LATCH);
    pg_shmem_init!(WAKE_PENDING);
    pg_shmem_init!(PULL_REQUESTS);
    PRELOADED.store(true, Ordering::Relaxed);
}

/// True when the library was preloaded, so shared memory and the worker exist.
pub fn available() -> bool {
    PRELOADED.load(Ordering::Relaxed)
}

/// A copy of the worker's record, if shared memory exists.
pub fn snapshot() -> Option<WorkerInfo> {
    available().then(|| *INFO.share())
}

/// Applies `change` to the worker record under its lock.
pub fn update(change: impl FnOnce(&mut WorkerInfo)) {
    if available() {
        change(&mut INFO.exclusive());
    }
}

/// Records the serving worker's identity and latch when it starts.
pub fn worker_started(database: &str) {
    let now = now_micros();
    update(|info| {
        info.pid = unsafe { pg_sys::MyProcPid };
        info.state = WorkerState::Starting;
        info.started_at = now;
        info.heartbeat = now;
        info.set_database(database);
        info.last_error = ShmemText::default();
        info.last_error_at = 0;
    });
    LATCH
        .get()
        .store(unsafe { pg_sys::MyLatch } as usize, Ordering::Release);
    woken();
}

/// Clears the worker's identity when it exits, so nobody sets a stale latch.
pub fn worker_stopped() {
    LATCH.get().store(0, Ordering::Release);
    update(|info| {
        info.pid = 0;
        info.state = WorkerState::Stopped;
    });
}

/// Heartbeat plus the current state.
pub fn heartbeat(state: WorkerState) {
    let now = now_micros();
    update(|info| {
        info.heartbeat = now;
        info.state = state;
    });
}

/// Remembers an error the worker survived, for `hubsync.worker.last_error`.
pub fn record_error(message: &str) {
    let now = now_micros();
    update(|info| {
        info.last_error.set(message);
        info.last_error_at = now;
        info.state = WorkerState::Error;
    });
}

/// Wakes the serving worker; called at commit of a transaction that wrote the outbox.
/// Must never fail: it runs in a commit callback. Only the first commit after the worker
/// last woke sets its latch; the others find the wake-up pending (the worker reads the
/// outbox after clearing it, so it sees their rows).
pub fn wake_worker() {
    if !available() || WAKE_PENDING.get().swap(true, Ordering::SeqCst) {
        return;
    }
    let latch = LATCH.get().load(Ordering::Acquire);
    if latch != 0 {
        // SAFETY: the address points into the PGPROC array in shared memory, valid in every
        // backend; SetLatch on a latch whose owner exited is harmless.
        unsafe { pg_sys::SetLatch(latch as *mut pg_sys::Latch) };
    }
}

/// The worker woke: the next commit sets its latch again. Called before it reads the outbox.
pub fn woken() {
    if available() {
        WAKE_PENDING.get().store(false, Ordering::SeqCst);
    }
}

/// Asks the worker to pull every sync now, and wakes it.
pub fn request_pull() {
    if available() {
        PULL_REQUESTS.get().fetch_add(1, Ordering::AcqRel);
        wake_worker();
    }
}

/// How many pulls were requested so far; the worker compares it with what it last saw.
pub fn pull_requests() -> u64 {
    if available() {
        PULL_REQUESTS.get().load(Ordering::Acquire)
    } else {
        0
    }
}

/// Current time as Postgres' TimestampTz (microseconds since 2000-01-01).
pub fn now_micros() -> i64 {
    unsafe { pg_sys::GetCurrentTimestamp() }
}
