//! End-to-end test support: a private PostgreSQL 15 cluster with hubsync preloaded, the
//! Salesforce (or Zendesk) emulator in-process, and the brief's `accounts` sync between them.

mod accounts;
#[path = "../../core/tests/common/admin.rs"]
pub mod admin;
pub mod api;
mod cluster;
pub mod delivery;
#[path = "../../core/tests/common/fixtures.rs"]
pub mod fixtures;
pub mod netsuite;
mod remote;
pub mod schema;
pub mod smtp;
pub mod zendesk;

pub use accounts::{
    accounts_sync, accounts_sync_with, create_pointed_sync, fast_polling, fixture_sync,
    fixture_sync_on, AccountsSync, SYNC,
};
pub use cluster::{free_port, Cluster, DATABASE};
pub use remote::{Remote, CLIENT_ID, CLIENT_SECRET};

use postgres::types::FromSqlOwned;
use postgres::Client;
use std::time::{Duration, Instant};

/// Polls `check` until it returns `Some`, failing with `what` after `timeout`.
/// Tests wait for conditions, never for fixed times.
pub fn wait_until<T>(timeout: Duration, what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Reads a value with `read` until `accept` holds for it, failing after `timeout` with
/// `what` and the last value read (so a failure says where things stood); returns it.
pub fn wait_for_reading<T: std::fmt::Debug>(
    timeout: Duration,
    what: &str,
    mut read: impl FnMut() -> T,
    accept: impl Fn(&T) -> bool,
) -> T {
    let mut last = None;
    let found = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        wait_until(timeout, what, || {
            let value = read();
            if accept(&value) {
                return Some(value);
            }
            last = Some(value);
            None
        })
    }));
    found.unwrap_or_else(|_| panic!("{what}: still {last:?} after {timeout:?}"))
}

/// The single value a one-row query returns: most checks read one count, state or name.
pub fn scalar<T: FromSqlOwned>(db: &mut Client, sql: &str) -> T {
    db.query_one(sql, &[])
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .get(0)
}

/// The first column of every row `sql` returns: lists of names, ids, definitions.
pub fn first_column<T: FromSqlOwned>(db: &mut Client, sql: &str) -> Vec<T> {
    db.query(sql, &[])
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .iter()
        .map(|row| row.get(0))
        .collect()
}

/// Polls the one-value query `sql` until `accept` holds for its value, failing with `what`
/// after `timeout`; returns the accepted value.
pub fn wait_for_value<T: FromSqlOwned>(
    timeout: Duration,
    what: &str,
    db: &mut Client,
    sql: &str,
    accept: impl Fn(&T) -> bool,
) -> T {
    wait_until(timeout, what, || Some(scalar(db, sql)).filter(&accept))
}

/// The pid of the worker serving the most syncs of the connected database (in a test with
/// one sync, that sync's worker), or 0 while none serves any.
pub const SERVING_WORKER_PID: &str = "SELECT coalesce((SELECT pid FROM hubsync.worker \
     WHERE database = current_database() AND cardinality(syncs) > 0 \
     ORDER BY cardinality(syncs) DESC, pool_index LIMIT 1), 0)";

/// Terminates every serving worker of the connected database (as a crash or an operator
/// would) and returns the pid of the one that served its syncs; the launcher starts new ones.
/// A sync created a moment ago may not be listed yet: its worker lists it at its next refresh.
pub fn kill_worker(db: &mut Client) -> i32 {
    let pid: i32 = wait_for_value(
        Duration::from_secs(30),
        "a worker serving the syncs",
        db,
        SERVING_WORKER_PID,
        |pid: &i32| *pid != 0,
    );
    db.execute(
        "SELECT pg_terminate_backend(pid) FROM hubsync.worker \
         WHERE database = current_database() AND pid IS NOT NULL",
        &[],
    )
    .expect("terminate the workers");
    pid
}

/// Waits until none of `syncs` has anything left to push and each has pulled twice more
/// (what a relay through the hub needs to settle).
pub fn quiet(db: &mut Client, syncs: &[&str]) {
    for _ in 0..2 {
        for sync in syncs {
            let idle: bool = db
                .query_one("SELECT hubsync.wait_for_idle($1, '120 seconds')", &[sync])
                .unwrap()
                .get(0);
            assert!(idle, "{sync} did not drain");
            let pulled: bool = db
                .query_one("SELECT hubsync.wait_for_pull($1, '120 seconds')", &[sync])
                .unwrap()
                .get(0);
            assert!(pulled, "{sync} did not pull");
        }
    }
}

/// Waits until the wall clock enters its next second, so that two edits made either side of
/// this call carry different second-precision timestamps (what last-write-wins compares).
pub fn next_second() {
    let second = |t: std::time::SystemTime| {
        t.duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default()
    };
    let start = second(std::time::SystemTime::now());
    wait_until(Duration::from_secs(5), "the next second", || {
        (second(std::time::SystemTime::now()) > start).then_some(())
    });
}
