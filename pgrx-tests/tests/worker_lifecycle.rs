//! The background worker's life: it starts, heartbeats, survives SQL errors in its own
//! work, waits calmly for a missing database or extension named in `hubsync.database`,
//! follows that setting on SIGHUP, and comes back after being terminated.

use hubsync_e2e::{scalar, wait_until, Cluster};
use postgres::Client;
use std::time::Duration;

const PATIENCE: Duration = Duration::from_secs(60);

struct Worker {
    pid: Option<i32>,
    state: String,
    database: Option<String>,
    last_error: Option<String>,
}

/// The first pool member serving `database` (or the row saying the launcher waits for it).
fn worker_of(client: &mut Client, database: &str) -> Worker {
    let row = client
        .query_opt(
            "SELECT pid, state, database, last_error FROM hubsync.worker \
             WHERE database = $1 ORDER BY pool_index LIMIT 1",
            &[&database],
        )
        .expect("read hubsync.worker");
    match row {
        Some(row) => Worker {
            pid: row.get(0),
            state: row.get(1),
            database: row.get(2),
            last_error: row.get(3),
        },
        None => Worker {
            pid: None,
            state: "absent".into(),
            database: None,
            last_error: None,
        },
    }
}

fn worker(client: &mut Client) -> Worker {
    worker_of(client, hubsync_e2e::DATABASE)
}

fn wait_for_state_of(client: &mut Client, database: &str, state: &str) -> Worker {
    wait_until(
        PATIENCE,
        &format!("worker state {state} in {database}"),
        || Some(worker_of(client, database)).filter(|w| w.state == state),
    )
}

fn wait_for_state(client: &mut Client, state: &str) -> Worker {
    wait_for_state_of(client, hubsync_e2e::DATABASE, state)
}

fn heartbeat(client: &mut Client) -> String {
    scalar(
        client,
        "SELECT last_heartbeat::text FROM hubsync.worker \
         WHERE database = current_database() ORDER BY pool_index LIMIT 1",
    )
}

#[test]
fn worker_lives_survives_and_comes_back() {
    let cluster = Cluster::start("lifecycle", &[]);
    let mut db = cluster.client();

    // Starts and heartbeats.
    let first = wait_for_state(&mut db, "running");
    assert_eq!(first.database.as_deref(), Some(hubsync_e2e::DATABASE));
    let beat = heartbeat(&mut db);
    wait_until(PATIENCE, "a newer heartbeat", || {
        (heartbeat(&mut db) != beat).then_some(())
    });

    // Survives an SQL error in its own work: the catalog table it reads disappears.
    db.batch_execute("ALTER TABLE hubsync.sync RENAME TO sync_moved")
        .unwrap();
    let broken = wait_until(PATIENCE, "the worker to report the error", || {
        Some(worker(&mut db)).filter(|w| w.last_error.is_some() && w.state == "error")
    });
    assert_eq!(
        broken.pid, first.pid,
        "the worker must survive, not restart"
    );
    assert!(broken.last_error.unwrap().contains("sync"));
    db.batch_execute("ALTER TABLE hubsync.sync_moved RENAME TO sync")
        .unwrap();
    let healed = wait_for_state(&mut db, "running");
    assert_eq!(healed.pid, first.pid);

    // Terminated (SIGTERM), it stops promptly and the launcher brings it back.
    db.execute("SELECT pg_terminate_backend($1)", &[&first.pid.unwrap()])
        .unwrap();
    let back = wait_until(PATIENCE, "a new worker", || {
        Some(worker(&mut db))
            .filter(|w| w.state == "running" && w.pid.is_some() && w.pid != first.pid)
    });
    assert!(back.pid.is_some());
}

#[test]
fn worker_waits_for_database_and_extension_and_follows_sighup() {
    let cluster = Cluster::start("waiting", &[]);
    let mut db = cluster.client();
    wait_for_state(&mut db, "running");

    cluster.append_conf("hubsync.database = 'later_db'\n");
    cluster.reload();
    let waiting = wait_for_state_of(&mut db, "later_db", "waiting for database");
    assert_eq!(waiting.database.as_deref(), Some("later_db"));
    // The database no longer named is left.
    wait_for_state(&mut db, "absent");

    db.batch_execute("CREATE DATABASE later_db").unwrap();
    wait_for_state_of(&mut db, "later_db", "waiting for extension");

    let mut later = cluster.connect("later_db");
    later.batch_execute("CREATE EXTENSION hubsync").unwrap();
    let running = wait_for_state_of(&mut db, "later_db", "running");
    assert_eq!(running.database.as_deref(), Some("later_db"));
}

#[test]
fn without_preload_configuration_works_and_status_says_no_worker() {
    let cluster = Cluster::start("nopreload", &[("shared_preload_libraries", "''")]);
    let mut db = cluster.client();
    let w: (Option<i32>, String) = {
        let row = db
            .query_one("SELECT pid, state FROM hubsync.worker", &[])
            .unwrap();
        (row.get(0), row.get(1))
    };
    let w = Worker {
        pid: w.0,
        state: w.1,
        database: None,
        last_error: None,
    };
    assert!(w.pid.is_none());
    assert!(
        w.state.contains("not in shared_preload_libraries"),
        "{}",
        w.state
    );
}
