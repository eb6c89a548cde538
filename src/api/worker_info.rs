//! `hubsync.worker`: the serving workers (and the databases waited for) as shared memory
//! sees them.

use crate::shared;
use pgrx::prelude::*;

/// One row per serving worker of every database, and per database the launcher waits for;
/// when the library was not preloaded, one row saying so.
// pgrx reads the column names from the tuple written out here, so no type alias.
#[allow(clippy::type_complexity)]
#[pg_extern(volatile, parallel_safe)]
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
        name!(pool_index, Option<i32>),
        name!(syncs, Option<Vec<i32>>),
    ),
> {
    let Some(all) = shared::snapshot() else {
        return TableIterator::once((
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
        ));
    };
    let launcher = (all.launcher_pid != 0).then_some(all.launcher_pid);
    let mut slots: Vec<&shared::Slot> = all.slots.iter().filter(|s| s.in_use).collect();
    slots.sort_by_key(|s| (s.database(), s.pool_index));
    let rows: Vec<_> = slots
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
        .collect();
    TableIterator::new(rows)
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
