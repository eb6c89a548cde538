//! Backups and upgrades end to end: a `pg_dump` of a database with syncs, restored with
//! `pg_restore` into another cluster, resumes where it stopped; a database created with an
//! earlier version of the extension keeps syncing after `ALTER EXTENSION hubsync UPDATE` and
//! then holds exactly the schema a fresh install of the current version holds.
//!
//! The second test is the safety net of every schema change: a change to `sql/*.sql` or to
//! a `#[pg_extern]` signature that the current upgrade script lacks makes it fail, listing
//! what differs.

use hubsync_e2e::schema::{describe, difference};
use hubsync_e2e::{
    fast_polling, first_column, fixture_sync_on, fixtures, scalar, wait_for_value, AccountsSync,
    Cluster, Remote, DATABASE,
};
use postgres::Client;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

const PATIENCE: Duration = Duration::from_secs(120);

/// The version this tree builds, which `ALTER EXTENSION hubsync UPDATE` leads to.
const CURRENT: &str = env!("CARGO_PKG_VERSION");

/// A cluster whose `customer_data` database has `version` of the extension, with the brief's
/// accounts sync pulling every second from a new emulator.
fn sync_on_version(name: &str, version: &str) -> AccountsSync {
    let cluster = Cluster::init(name, &[]);
    create_database(&cluster, DATABASE, Some(version));
    fixture_sync_on(
        cluster,
        Remote::start(),
        &fixtures::text("tables/accounts.sql"),
        fixtures::json("bases/accounts_full.json"),
        fast_polling(),
    )
}

/// Creates `database`, with the extension at `version` unless that is `None`.
fn create_database(cluster: &Cluster, database: &str, version: Option<&str>) {
    cluster
        .connect("postgres")
        .batch_execute(&format!("CREATE DATABASE {database}"))
        .expect("create the database");
    if let Some(version) = version {
        let create = format!("CREATE EXTENSION hubsync VERSION '{version}'");
        cluster
            .connect(database)
            .batch_execute(&create)
            .unwrap_or_else(|e| {
                panic!("{create}: {e:?} (does `make install` copy sql/hubsync--{version}.sql?)")
            });
    }
}

fn installed_version(db: &mut Client) -> String {
    scalar(
        db,
        "SELECT extversion FROM pg_extension WHERE extname = 'hubsync'",
    )
}

/// Every remote account, deleted ones too, by name: (Id, Industry, IsDeleted) per record.
fn remote_by_name(remote: &Remote) -> BTreeMap<String, Vec<(String, Value, bool)>> {
    let mut by_name: BTreeMap<String, Vec<(String, Value, bool)>> = BTreeMap::new();
    for record in remote.query("SELECT Id, Name, Industry, IsDeleted FROM Account", true) {
        by_name
            .entry(record["Name"].as_str().unwrap_or_default().to_string())
            .or_default()
            .push((
                record["Id"].as_str().unwrap_or_default().to_string(),
                record["Industry"].clone(),
                record["IsDeleted"] == true,
            ));
    }
    by_name
}

/// The local accounts: name → Salesforce id.
fn local_links(db: &mut Client) -> BTreeMap<String, Option<String>> {
    db.query("SELECT account_name, sf_id FROM accounts", &[])
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
}

/// Creates an account in Salesforce and waits until a pull brings it into the table.
fn created_remotely_arrives(remote: &Remote, db: &mut Client, name: &str) {
    remote
        .write(
            "POST",
            "Account",
            None,
            json!({"Name": name, "Industry": "Remote"}),
        )
        .expect("an id for the remote account");
    let sql = format!(
        "SELECT count(*) FROM accounts WHERE account_name = '{name}' AND sf_id IS NOT NULL"
    );
    wait_for_value(
        PATIENCE,
        &format!("{name} to be pulled"),
        db,
        &sql,
        |n: &i64| *n == 1,
    );
}

fn run(command: &mut std::process::Command, what: &str) {
    let out = command.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_restored_dump_resumes_pushing_without_duplicates_and_keeps_pulling() {
    let sync = sync_on_version("dump-source", CURRENT);
    let mut db = sync.db();
    // Records pushed, and one pulled, before the dump.
    db.batch_execute(
        "INSERT INTO accounts (account_name, industry_type) VALUES ('Acme', 'Energy'), ('Globex', 'Tech')",
    )
    .unwrap();
    sync.wait_idle(&mut db);
    created_remotely_arrives(&sync.remote, &mut db, "Remote Co");

    // Every catalog table and sequence is marked for pg_dump, or its rows would be lost.
    let unmarked: Vec<String> = first_column(
        &mut db,
        "SELECT c.oid::regclass::text FROM pg_class c, pg_extension e \
         WHERE e.extname = 'hubsync' AND c.relnamespace = 'hubsync'::regnamespace \
           AND c.relkind IN ('r', 'S') AND c.oid <> ALL (e.extconfig) ORDER BY 1",
    );
    assert!(
        unmarked.is_empty(),
        "not marked with pg_extension_config_dump, so pg_dump leaves them out: {unmarked:?}"
    );

    // Changes left pending: a create, an update and a delete wait in the outbox.
    db.execute("SELECT hubsync.pause_sync($1)", &[&sync.name])
        .unwrap();
    db.batch_execute(
        "INSERT INTO accounts (account_name) VALUES ('Hooli'); \
         UPDATE accounts SET industry_type = 'Media' WHERE account_name = 'Acme'; \
         DELETE FROM accounts WHERE account_name = 'Globex';",
    )
    .unwrap();
    let pending: i64 = scalar(&mut db, "SELECT count(*) FROM hubsync.outbox");
    assert_eq!(pending, 3);

    let dump_dir = std::env::temp_dir().join(format!("hubsync-e2e-dump-{}", std::process::id()));
    std::fs::create_dir_all(&dump_dir).unwrap();
    let dump = dump_dir.join("customer_data.dump");
    run(
        sync.cluster
            .client_program("pg_dump")
            .args(["--format=custom", "--file"])
            .arg(&dump)
            .arg(DATABASE),
        "pg_dump",
    );
    // The source cluster is gone for good: only the dump carries the syncs on.
    let AccountsSync {
        cluster: source,
        remote,
        name,
    } = sync;
    drop(db);
    drop(source);

    let target = Cluster::init("dump-target", &[]);
    create_database(&target, DATABASE, None);
    run(
        target
            .client_program("pg_restore")
            .args([
                "--single-transaction",
                "--exit-on-error",
                "--dbname",
                DATABASE,
            ])
            .arg(&dump),
        "pg_restore",
    );
    std::fs::remove_dir_all(&dump_dir).unwrap();
    let sync = AccountsSync {
        cluster: target,
        remote,
        name,
    };
    let mut db = sync.db();
    let pending_after: i64 = scalar(&mut db, "SELECT count(*) FROM hubsync.outbox");
    assert_eq!(pending_after, 3, "the pending changes were restored");
    let secrets: i64 = scalar(&mut db, "SELECT count(*) FROM hubsync.credentials");
    assert_eq!(secrets, 1, "the connection's secrets travel in the dump");
    // The triggers name their sync by id: the restored sync has the same one.
    let armed: i64 = scalar(
        &mut db,
        "SELECT count(*) FROM hubsync.sync s JOIN pg_trigger t ON t.tgrelid = s.local_table \
         WHERE t.tgname IN ('hubsync_capture_' || s.id, 'hubsync_truncate_' || s.id)",
    );
    assert_eq!(armed, 2, "both triggers of the restored sync");
    // Sequences continue after the restored ids, so new rows never collide with them.
    for table in ["sync", "outbox", "review", "conflict_log", "alert", "log"] {
        let ahead: bool = scalar(
            &mut db,
            &format!(
                "SELECT (SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END \
                         FROM hubsync.{table}_id_seq) >= (SELECT coalesce(max(id), 0) FROM hubsync.{table})"
            ),
        );
        assert!(ahead, "hubsync.{table}_id_seq restored behind its table");
    }

    // A change made in the restored database is captured, then everything is pushed once.
    db.batch_execute("INSERT INTO accounts (account_name) VALUES ('Initech')")
        .unwrap();
    db.execute("SELECT hubsync.resume_sync($1)", &[&sync.name])
        .unwrap();
    sync.wait_idle(&mut db);
    let remote_now = remote_by_name(&sync.remote);
    let names: Vec<&String> = remote_now.keys().collect();
    assert_eq!(
        names,
        ["Acme", "Globex", "Hooli", "Initech", "Remote Co"],
        "{remote_now:?}"
    );
    for (name, records) in &remote_now {
        assert_eq!(
            records.len(),
            1,
            "{name} exists once in Salesforce: {records:?}"
        );
    }
    assert_eq!(
        remote_now["Acme"][0].1,
        "Media",
        "the pending update arrived\n{}",
        sync.diagnostics()
    );
    assert!(remote_now["Globex"][0].2, "the pending delete arrived");
    let links = local_links(&mut db);
    assert_eq!(links.len(), 4, "{links:?}");
    for (name, sf_id) in &links {
        assert_eq!(
            sf_id.as_deref(),
            Some(remote_now[name][0].0.as_str()),
            "{name} is linked to its record"
        );
    }
    let review: i64 = scalar(&mut db, "SELECT count(*) FROM hubsync.review");
    assert_eq!(review, 0);

    // The restored sync still pulls, from its restored watermark.
    created_remotely_arrives(&sync.remote, &mut db, "Pulled After Restore");
    let rows: i64 = scalar(&mut db, "SELECT count(*) FROM accounts");
    assert_eq!(rows, 5, "nothing pulled twice");
}

/// Versions whose install script ships in `sql/` (`hubsync--<version>.sql`), oldest first.
fn shipped_versions() -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../sql");
    let mut versions: Vec<String> = std::fs::read_dir(&dir)
        .expect("read sql/")
        .filter_map(|entry| {
            let name = entry.ok()?.file_name().into_string().ok()?;
            let version = name.strip_prefix("hubsync--")?.strip_suffix(".sql")?;
            (!version.contains("--")).then(|| version.to_string())
        })
        .collect();
    versions.sort_by_key(|v| {
        v.split('.')
            .map(|part| part.parse::<u32>().unwrap_or(0))
            .collect::<Vec<_>>()
    });
    versions
}

#[test]
fn upgrades_keep_syncs_working_and_give_the_schema_of_a_fresh_install() {
    let versions = shipped_versions();
    let oldest = versions
        .first()
        .expect("an earlier version's install script in sql/");
    let sync = sync_on_version("upgrade", oldest);
    let mut db = sync.db();
    assert_eq!(installed_version(&mut db), *oldest);

    // The library is newer than the schema: the worker waits for the update, and changes
    // made meanwhile are captured.
    wait_for_value(
        PATIENCE,
        "the worker to wait for the update",
        &mut db,
        // Still the 0.1.0 view: one row, this database's worker.
        "SELECT state FROM hubsync.worker",
        |state: &String| state == "waiting for ALTER EXTENSION hubsync UPDATE",
    );
    db.batch_execute(
        "INSERT INTO accounts (account_name, industry_type) VALUES ('Acme', 'Energy'), ('Globex', 'Tech')",
    )
    .unwrap();
    let pending: i64 = scalar(&mut db, "SELECT count(*) FROM hubsync.outbox");
    assert_eq!(pending, 2);

    db.batch_execute("ALTER EXTENSION hubsync UPDATE").unwrap();
    assert_eq!(installed_version(&mut db), CURRENT);

    // The sync works: what waited is pushed once, then changes go both ways.
    sync.wait_idle(&mut db);
    created_remotely_arrives(&sync.remote, &mut db, "Remote Co");
    db.batch_execute(
        "UPDATE accounts SET industry_type = 'Media' WHERE account_name = 'Acme'; \
         DELETE FROM accounts WHERE account_name = 'Globex';",
    )
    .unwrap();
    sync.wait_idle(&mut db);
    created_remotely_arrives(&sync.remote, &mut db, "Pulled After Upgrade");
    let remote_now = remote_by_name(&sync.remote);
    let names: Vec<&String> = remote_now.keys().collect();
    assert_eq!(
        names,
        ["Acme", "Globex", "Pulled After Upgrade", "Remote Co"],
        "{remote_now:?}"
    );
    for (name, records) in &remote_now {
        assert_eq!(
            records.len(),
            1,
            "{name} exists once in Salesforce: {records:?}"
        );
    }
    assert_eq!(remote_now["Acme"][0].1, "Media");
    assert!(remote_now["Globex"][0].2, "deleted after the upgrade");
    let links = local_links(&mut db);
    assert!(
        links.values().all(Option::is_some),
        "every local row is linked: {links:?}\n{}",
        sync.diagnostics()
    );

    // The upgraded schema is the schema of a fresh install, from every shipped version.
    let cluster = &sync.cluster;
    create_database(cluster, "fresh", Some(CURRENT));
    let fresh = describe(&mut cluster.connect("fresh"));
    assert!(
        fresh.contains_key("relation hubsync.outbox") && fresh.len() > 100,
        "the description covers the schema: {fresh:#?}"
    );
    let mut upgraded = vec![(oldest.clone(), describe(&mut db))];
    for version in &versions {
        let database = format!("from_{}", version.replace('.', "_"));
        create_database(cluster, &database, Some(version));
        let mut from = cluster.connect(&database);
        from.batch_execute("ALTER EXTENSION hubsync UPDATE")
            .unwrap();
        upgraded.push((version.clone(), describe(&mut from)));
    }
    for (version, schema) in &upgraded {
        if let Some(diff) = difference(&fresh, schema) {
            panic!(
                "after ALTER EXTENSION hubsync UPDATE from {version} to {CURRENT}, the schema \
                 differs from a fresh {CURRENT} install; mend sql/hubsync--*--{CURRENT}.sql \
                 (README, Development):\n{diff}"
            );
        }
    }

    // The comparison sees what a forgotten upgrade step would leave behind.
    let mut changed = cluster.connect("fresh");
    changed
        .batch_execute(
            "GRANT SELECT ON hubsync.review TO PUBLIC; \
             ALTER TABLE hubsync.outbox ALTER COLUMN pk SET STATISTICS 7; \
             CREATE OR REPLACE VIEW hubsync.worker AS SELECT * FROM hubsync.worker_info() WHERE true;",
        )
        .unwrap();
    let diff = difference(&describe(&mut changed), &upgraded[0].1).unwrap_or_default();
    for key in [
        "relation hubsync.review",
        "column hubsync.outbox.pk",
        "view hubsync.worker",
    ] {
        assert!(diff.contains(key), "{key} not reported in:\n{diff}");
    }
}
