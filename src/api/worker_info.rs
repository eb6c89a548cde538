//! `hubsync.worker`: the background worker as shared memory sees it.

use crate::shared;
use pgrx::prelude::*;

/// One row describing the worker; when the library was not preloaded, says so.
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
    ),
> {
    let row = match shared::snapshot() {
        None => (
            None,
            None,
            "not running: hubsync is not in shared_preload_libraries".to_string(),
            None,
            None,
            None,
            None,
            None,
        ),
        Some(info) => (
            (info.pid != 0).then_some(info.pid),
            Some(info.database()).filter(|d| !d.is_empty()),
            info.state.label().to_string(),
            timestamp(info.started_at),
            timestamp(info.heartbeat),
            info.last_error(),
            timestamp(info.last_error_at),
            (info.launcher_pid != 0).then_some(info.launcher_pid),
        ),
    };
    TableIterator::once(row)
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
        let state = Spi::get_one::<String>("SELECT state FROM hubsync.worker").unwrap();
        assert_eq!(state.as_deref(), Some("running"));
    }
}
