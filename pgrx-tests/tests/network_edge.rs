//! The network edge, tried as a user would: plain `http` to a host that is not loopback
//! is refused (secrets and tokens would cross the network in clear text) unless a
//! superuser allows it; an answer bigger than `hubsync.max_response_size` is refused and
//! reported without taking the worker down; `remote_query` is bounded in rows and stops
//! on a cancel or `statement_timeout`.

use hubsync_core::config::merge_patch;
use hubsync_e2e::api::{alter_sync, check_config, create_sync, full_text, refused};
use hubsync_e2e::delivery::push_only;
use hubsync_e2e::{accounts_sync, fast_polling, fixtures, scalar, wait_for_value, AccountsSync};
use postgres::error::DbError;
use postgres::Client;
use serde_json::{json, Value};
use std::time::Duration;

const PATIENCE: Duration = Duration::from_secs(120);

/// A host that never resolves (RFC 6761), so nothing is sent even where it is allowed.
const REMOTE_HTTP: &str = "http://acme.invalid";

fn instance_url(url: &str) -> Value {
    json!({"source": {"credentials": {"instance_url": url}}})
}

/// The brief's config for a second table, `accounts_copy`, at `url`.
fn second_sync(db: &mut Client, url: &str) -> Value {
    db.batch_execute("CREATE TABLE IF NOT EXISTS accounts_copy (LIKE accounts INCLUDING ALL)")
        .unwrap();
    let base = fixtures::json("bases/accounts_full.json");
    merge_patch(
        &base,
        &merge_patch(
            &instance_url(url),
            &json!({"name": "copy", "target": {"table": "accounts_copy"}}),
        ),
    )
}

/// The error of `SELECT count(*) FROM hubsync.remote_query(sync, 'SELECT Id FROM Account'<extra>)`.
fn remote_query_error(db: &mut Client, sync: &AccountsSync, extra: &str) -> DbError {
    let sql =
        format!("SELECT count(*) FROM hubsync.remote_query($1, 'SELECT Id FROM Account'{extra})");
    refused(db.query_one(&sql, &[&sync.name]), &sql)
}

fn setting(db: &mut Client, name: &str) -> String {
    scalar(db, &format!("SELECT current_setting('{name}')"))
}

/// `ALTER SYSTEM SET name = value` (or RESET with `None`), reloaded, and seen by new sessions.
fn set_system(sync: &AccountsSync, name: &str, value: Option<&str>) {
    let mut db = sync.db();
    let sql = match value {
        Some(v) => format!("ALTER SYSTEM SET {name} = '{v}'"),
        None => format!("ALTER SYSTEM RESET {name}"),
    };
    db.batch_execute(&sql).unwrap();
    db.batch_execute("SELECT pg_reload_conf()").unwrap();
    let want = value.unwrap_or("off").to_string();
    wait_for_value(
        PATIENCE,
        &format!("{name} = {want}"),
        &mut sync.db(),
        &format!("SELECT current_setting('{name}')"),
        |v: &String| *v == want,
    );
}

#[test]
fn plain_http_to_a_remote_host_is_refused_unless_a_superuser_allows_it() {
    let sync = accounts_sync("http-refused", &[], push_only());
    let mut db = sync.db();
    assert_eq!(setting(&mut db, "hubsync.allow_http"), "off");

    // create_sync, alter_sync and check_config refuse it, naming the JSON path.
    let config = second_sync(&mut db, REMOTE_HTTP);
    let error = refused(create_sync(&mut db, &config), "create over http");
    assert_eq!(error.code().code(), "22023");
    let text = full_text(&error);
    assert!(text.contains("source.credentials.instance_url"), "{text}");
    assert!(
        text.contains("https") && text.contains("hubsync.allow_http"),
        "{text}"
    );
    let problems = check_config(&mut db, &config);
    assert!(
        problems
            .iter()
            .any(|p| p.path == "source.credentials.instance_url" && p.sqlstate == "22023"),
        "{problems:?}"
    );
    for patch in [
        instance_url(REMOTE_HTTP),
        json!({"source": {"credentials": {"login_url": "http://login.acme.invalid"}}}),
    ] {
        let error = refused(alter_sync(&mut db, &sync.name, &patch), "alter to http");
        assert_eq!(error.code().code(), "22023", "{}", full_text(&error));
    }
    // Loopback stays allowed: the emulator is there.
    let loopback = second_sync(&mut db, "http://127.0.0.1:9");
    assert!(check_config(&mut db, &loopback).is_empty());

    // An ordinary role can neither see nor change the setting.
    db.batch_execute("CREATE ROLE mallory LOGIN").unwrap();
    let mut mallory = sync.cluster.connect_as(hubsync_e2e::DATABASE, "mallory");
    let error = refused(
        mallory.batch_execute("SET hubsync.allow_http = on"),
        "set allow_http",
    );
    assert!(
        ["55P02", "42501"].contains(&error.code().code()),
        "{}",
        full_text(&error)
    );
    let error = refused(
        mallory.batch_execute("ALTER SYSTEM SET hubsync.allow_http = on"),
        "alter system",
    );
    assert_eq!(error.code().code(), "42501");

    // A superuser may allow it.
    set_system(&sync, "hubsync.allow_http", Some("on"));
    let mut db = sync.db();
    let config = second_sync(&mut db, REMOTE_HTTP);
    create_sync(&mut db, &config).expect("allowed by the superuser");
    set_system(&sync, "hubsync.allow_http", None);

    // The worker's client refuses too, as the last line: a catalog row changed behind
    // the API's back is not sent over http.
    let mut db = sync.db();
    db.execute(
        "UPDATE hubsync.sync SET config = jsonb_set(config, '{source,credentials,instance_url}', \
         to_jsonb($1::text)), updated_at = now() WHERE name = $2",
        &[&REMOTE_HTTP, &sync.name],
    )
    .unwrap();
    let problem = wait_for_value(
        PATIENCE,
        "the worker refuses the http URL",
        &mut db,
        &format!(
            "SELECT coalesce(problem, '') FROM hubsync.status WHERE name = '{}'",
            sync.name
        ),
        |p: &String| p.contains("https"),
    );
    assert!(problem.contains("acme.invalid"), "{problem}");
}

#[test]
fn an_oversized_answer_is_refused_and_reported_without_crashing_the_worker() {
    let sync = accounts_sync(
        "oversize",
        &[("hubsync.max_response_size", "'1MB'")],
        fast_polling(),
    );
    let mut db = sync.db();
    let pid: i32 = wait_for_value(
        PATIENCE,
        "a worker",
        &mut db,
        hubsync_e2e::SERVING_WORKER_PID,
        |p: &i32| *p != 0,
    );
    sync.remote
        .inject(json!([{"endpoint": "query", "kind": "oversize", "bytes": 2_000_000}]));
    let sql = "SELECT coalesce(problem, '') || ' ' || coalesce(last_error, '') FROM hubsync.status";
    let reported = wait_for_value(
        PATIENCE,
        "the refusal reported",
        &mut db,
        sql,
        |s: &String| s.contains("max_response_size"),
    );
    assert!(reported.contains("1 MB"), "{reported}");
    assert_eq!(
        scalar::<i32>(&mut db, hubsync_e2e::SERVING_WORKER_PID),
        pid,
        "the worker lives on\n{}",
        sync.diagnostics()
    );

    // remote_query meets the same cap and says what to do; the session carries on.
    let error = remote_query_error(&mut db, &sync, "");
    assert_eq!(error.code().code(), "54000");
    assert!(full_text(&error).contains("max_response_size"));
    sync.remote.heal();
    let rows: i64 = db
        .query_one(
            "SELECT count(*) FROM hubsync.remote_query($1, 'SELECT Id FROM Account')",
            &[&sync.name],
        )
        .unwrap()
        .get(0);
    assert_eq!(rows, 0);
}

#[test]
fn remote_query_is_bounded_in_rows_and_stops_on_cancel() {
    let sync = accounts_sync("remote-query", &[], push_only());
    let mut db = sync.db();
    let records: Vec<Value> = (0..2500)
        .map(|i| json!({"Name": format!("Loaded {i}")}))
        .collect();
    sync.remote
        .admin("POST", "load", Some(json!({ "Account": records })));
    let query = "SELECT count(*) FROM hubsync.remote_query($1, 'SELECT Id FROM Account')";
    let all: i64 = db.query_one(query, &[&sync.name]).unwrap().get(0);
    assert_eq!(all, 2500, "two pages, under the default max_rows");

    let error = remote_query_error(&mut db, &sync, ", max_rows => 100");
    assert_eq!(error.code().code(), "54000");
    let text = full_text(&error);
    assert!(text.contains("max_rows") && text.contains("2500"), "{text}");
    let error = remote_query_error(&mut db, &sync, ", max_rows => 0");
    assert_eq!(error.code().code(), "22023");

    // A query Salesforce answers slowly is stopped by statement_timeout (57014), not by
    // the HTTP timeout (30 s, which would be 08006): the wait is cancellable.
    sync.remote
        .inject(json!([{"endpoint": "query", "kind": "latency", "latency_ms": 60_000}]));
    db.batch_execute("SET statement_timeout = '500ms'").unwrap();
    let error = remote_query_error(&mut db, &sync, "");
    assert_eq!(error.code().code(), "57014", "{}", full_text(&error));
    db.batch_execute("RESET statement_timeout").unwrap();
    sync.remote.heal();
    let after: i64 = db.query_one(query, &[&sync.name]).unwrap().get(0);
    assert_eq!(after, 2500, "the session carries on");
}
