//! Every database, a pool of workers in each: with `hubsync.database` empty the launcher
//! serves every database that has the extension. Syncs in two databases both push and pull;
//! `CREATE EXTENSION hubsync` in a third database starts serving it without a restart,
//! `DROP EXTENSION` stops its workers, and a database with running workers can still be
//! dropped. With two workers per database, two syncs of one database are served by
//! different processes, and both work.

use hubsync_e2e::{
    create_pointed_sync, fast_polling, fixtures, scalar, wait_for_reading, wait_until, Cluster,
    Remote,
};
use postgres::Client;
use serde_json::json;
use std::time::Duration;

const PATIENCE: Duration = Duration::from_secs(90);

/// Creates a table shaped like the brief's `accounts` under `table` and a two-way sync of
/// it (named `table`) pointed at `remote`; returns the sync's id.
fn accounts_sync(db: &mut Client, remote: &Remote, table: &str) -> i32 {
    let sql = fixtures::text("tables/accounts.sql").replace("accounts", table);
    db.batch_execute(&sql).expect("create the table");
    let patch = hubsync_core::config::merge_patch(
        &fast_polling(),
        &json!({"connection_name": table, "target": {"table": table}}),
    );
    let name = create_pointed_sync(
        db,
        remote,
        &fixtures::json("bases/accounts_full.json"),
        &patch,
    );
    scalar(
        db,
        &format!("SELECT id FROM hubsync.sync WHERE name = '{name}'"),
    )
}

/// Waits until `table` has a row named `name` linked to a remote record.
fn wait_linked(db: &mut Client, table: &str, name: &str, what: &str) {
    let sql =
        format!("SELECT count(*) FROM {table} WHERE account_name = '{name}' AND sf_id IS NOT NULL");
    let linked = wait_for_reading(
        PATIENCE,
        what,
        || (scalar::<i64>(db, &sql), status(db)),
        |(count, _)| *count == 1,
    );
    assert_eq!(linked.0, 1);
}

/// Every sync's status and every worker, for failure messages.
fn status(db: &mut Client) -> String {
    scalar(
        db,
        "SELECT (SELECT string_agg(row_to_json(s)::text, E'\\n') FROM hubsync.status s) || E'\\n' || \
                (SELECT string_agg(row_to_json(w)::text, E'\\n') FROM hubsync.worker w)",
    )
}

/// The running workers serving `database`.
fn running_workers(db: &mut Client, database: &str) -> i64 {
    db.query_one(
        "SELECT count(*) FROM hubsync.worker WHERE database = $1 AND state = 'running'",
        &[&database],
    )
    .unwrap()
    .get(0)
}

/// Rows `hubsync.worker` shows for `database` that have a process.
fn live_workers(db: &mut Client, database: &str) -> i64 {
    db.query_one(
        "SELECT count(*) FROM hubsync.worker WHERE database = $1 AND pid IS NOT NULL",
        &[&database],
    )
    .unwrap()
    .get(0)
}

/// The pid of the worker whose `syncs` lists `sync_id` in the connected database.
fn serving_pid(db: &mut Client, sync_id: i32) -> Option<i32> {
    db.query_opt(
        "SELECT pid FROM hubsync.worker WHERE database = current_database() AND $1 = ANY (syncs)",
        &[&sync_id],
    )
    .unwrap()
    .and_then(|row| row.get(0))
}

#[test]
fn every_database_with_the_extension_is_served() {
    let remote = Remote::start();
    let cluster = Cluster::start(
        "databases",
        &[
            ("hubsync.database", "''"),
            ("hubsync.workers_per_database", "2"),
        ],
    );
    let mut admin = cluster.connect("postgres");
    admin.batch_execute("CREATE DATABASE second").unwrap();
    let mut first = cluster.client();
    let mut second = cluster.connect("second");
    second.batch_execute("CREATE EXTENSION hubsync").unwrap();

    // Two syncs in the first database, one in the second, all on the emulator's Account.
    let one = accounts_sync(&mut first, &remote, "accounts");
    let two = accounts_sync(&mut first, &remote, "accounts_two");
    accounts_sync(&mut second, &remote, "accounts");

    // Each database gets its pool of two; the first database's two syncs are served by
    // different processes.
    for database in [hubsync_e2e::DATABASE, "second"] {
        wait_until(
            PATIENCE,
            &format!("two running workers in {database}"),
            || (running_workers(&mut first, database) == 2).then_some(()),
        );
    }
    let (pid_one, pid_two) = wait_until(PATIENCE, "both syncs listed by their workers", || {
        Some((serving_pid(&mut first, one)?, serving_pid(&mut first, two)?))
    });
    assert_ne!(pid_one, pid_two, "two syncs, two workers");

    // Both databases push, and each pulls what the other pushed.
    first
        .batch_execute(
            "INSERT INTO accounts (account_name) VALUES ('Alpha'); \
             INSERT INTO accounts_two (account_name) VALUES ('Two')",
        )
        .unwrap();
    second
        .batch_execute("INSERT INTO accounts (account_name) VALUES ('Beta')")
        .unwrap();
    wait_linked(
        &mut first,
        "accounts",
        "Alpha",
        "Alpha pushed from the first database",
    );
    wait_linked(
        &mut first,
        "accounts_two",
        "Two",
        "Two pushed by the other worker",
    );
    wait_linked(
        &mut second,
        "accounts",
        "Beta",
        "Beta pushed from the second database",
    );
    wait_linked(
        &mut first,
        "accounts",
        "Beta",
        "Beta pulled into the first database",
    );
    wait_linked(
        &mut second,
        "accounts",
        "Alpha",
        "Alpha pulled into the second database",
    );
    wait_linked(
        &mut first,
        "accounts_two",
        "Beta",
        "Beta pulled by the other worker",
    );

    // A third database is served as soon as the extension is created there, without a
    // restart; dropping the extension stops its workers.
    admin.batch_execute("CREATE DATABASE third").unwrap();
    let mut third = cluster.connect("third");
    third.batch_execute("CREATE EXTENSION hubsync").unwrap();
    wait_until(PATIENCE, "the third database served", || {
        (running_workers(&mut first, "third") == 2).then_some(())
    });
    third.batch_execute("DROP EXTENSION hubsync").unwrap();
    wait_until(PATIENCE, "the third database's workers gone", || {
        (live_workers(&mut first, "third") == 0).then_some(())
    });

    // A database with running workers can be dropped: they leave for DROP DATABASE.
    third.batch_execute("CREATE EXTENSION hubsync").unwrap();
    wait_until(PATIENCE, "the third database served again", || {
        (running_workers(&mut first, "third") == 2).then_some(())
    });
    drop(third);
    admin
        .batch_execute("DROP DATABASE third")
        .unwrap_or_else(|e| panic!("drop a served database: {e}\n{}", cluster.log_tail()));
    wait_until(PATIENCE, "no worker for the dropped database", || {
        let rows: i64 = first
            .query_one(
                "SELECT count(*) FROM hubsync.worker WHERE database = 'third'",
                &[],
            )
            .unwrap()
            .get(0);
        (rows == 0).then_some(())
    });

    // The other databases carried on meanwhile.
    first
        .batch_execute("INSERT INTO accounts (account_name) VALUES ('Gamma')")
        .unwrap();
    wait_linked(
        &mut second,
        "accounts",
        "Gamma",
        "Gamma through both databases",
    );
}
