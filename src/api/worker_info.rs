//! `hubsync.worker`: the serving workers (and the databases waited for) as shared memory
//! sees them.

use crate::shared;
use pgrx::prelude::*;

/// A row of `hubsync.worker`.
type Row = (
    Option<i32>,
    Option<String>,
    String,
    Option<TimestampWithTimeZone>,
    Option<TimestampWithTimeZone>,
    Option<String>,
    Option<TimestampWithTimeZone>,
    Option<i32>,
    Option<i32>,
    Option<Vec<i32>>,
);

/// One row per serving worker of every database, and per database the launcher waits for;
/// when the library was not preloaded, one row saying so. The function behind
/// `hubsync.worker` (its C symbol is new in 0.2.0: see [`worker_info`]).
// pgrx reads the column names from the tuple written out here, so no type alias.
#[allow(clippy::type_complexity)]
#[pg_extern(name = "worker_info", volatile, parallel_safe)]
fn workers() -> TableIterator<
    'static,
    (
        name!(pid, Option<i32>),
        name!(database, Option<String>),
        name!(state, String),
        name!(started_at, Option<TimestampWithTimeZone>),
        name!(last_heartbeat, Option<TimestampWithTimeZone>),
        name!(last_error, Option<String>),
        name!(last_error_at, Option<TimestampWithTimeZone>),
        name!(launcher_pid, Option<i32>),
        name!(pool_index, Option<i32>),
        name!(syncs, Option<Vec<i32>>),
    ),
> {
    TableIterator::new(rows())
}

/// `hubsync.worker_info()` as 0.1.0 declared it: eight columns and one row (this database's
/// first worker, else the first one listed). A database whose schema is still 0.1.0 after
/// the binaries were upgraded calls this symbol until `ALTER EXTENSION hubsync UPDATE`, so
/// its `hubsync.worker` and `hubsync.status` keep saying what the worker waits for.
#[allow(clippy::type_complexity)]
#[pg_extern(sql = false, volatile, parallel_safe)]
fn worker_info() -> TableIterator<
    'static,
    (
        name!(pid, Option<i32>),
        name!(database, Option<String>),
        name!(state, String),
        name!(started_at, Option<TimestampWithTimeZone>),
        name!(last_heartbeat, Option<TimestampWithTimeZone>),
        name!(last_error, Option<String>),
        name!(last_error_at, Option<TimestampWithTimeZone>),
        name!(launcher_pid, Option<i32>),
    ),
> {
    let all = rows();
    let here = current_database();
    let first = all
        .iter()
        .position(|r| r.1.as_deref() == here.as_deref())
        .unwrap_or(0);
    let row = all
        .into_iter()
        .nth(first)
        .map(|r| (r.0, r.1, r.2, r.3, r.4, r.5, r.6, r.7));
    TableIterator::new(row)
}

/// Every row of `hubsync.worker`, ordered by database and pool position.
fn rows() -> Vec<Row> {
    let Some(all) = shared::snapshot() else {
        return vec![(
            None,
            None,
            "not running: hubsync is not in shared_preload_libraries".to_string(),
            None,
            None,
            None,
            None,
            None,
            None,
            None,
        )];
    };
    let launcher = (all.launcher_pid != 0).then_some(all.launcher_pid);
    let mut slots: Vec<&shared::Slot> = all.slots.iter().filter(|s| s.in_use).collect();
    slots.sort_by_key(|s| (s.database(), s.pool_index));
    slots
        .into_iter()
        .map(|slot| {
            (
                (slot.pid != 0).then_some(slot.pid),
                Some(slot.database()).filter(|d| !d.is_empty()),
                slot.state.label().to_string(),
                timestamp(slot.started_at),
                timestamp(slot.heartbeat),
                slot.last_error(),
                timestamp(slot.last_error_at),
                launcher,
                Some(slot.pool_index),
                (slot.pid != 0).then(|| slot.syncs()),
            )
        })
        .collect()
}

/// The name of the database this backend is connected to.
fn current_database() -> Option<String> {
    Spi::get_one::<String>("SELECT pg_catalog.current_database()::text")
        .ok()
        .flatten()
}

fn timestamp(micros: i64) -> Option<TimestampWithTimeZone> {
    (micros != 0)
        .then(|| TimestampWithTimeZone::try_from(pg_sys::TimestampTz::from(micros)).ok())?
}

#[cfg(any(test, feature = "pg_test"))]
#[pg_schema]
mod tests {
    use pgrx::prelude::*;

    #[pg_test]
    fn worker_view_shows_the_running_worker() {
        // The worker heartbeats in another process; wait for it with a deadline.
        let running = Spi::get_one::<bool>("SELECT hubsync.wait_for_worker('30 seconds')").unwrap();
        assert_eq!(running, Some(true));
        let state = Spi::get_one::<String>(
            "SELECT state FROM hubsync.worker WHERE database = current_database() ORDER BY pool_index LIMIT 1",
        )
        .unwrap();
        assert_eq!(state.as_deref(), Some("running"));
    }
}
