//! Salesforce Bulk API 2.0 end to end, with low thresholds: a full load through one query
//! job (and the same job continued after a worker kill), a push backlog through ingest
//! jobs with records refused by a validation rule, and a worker killed while its ingest
//! job waits in the org's queue, with nothing lost and nothing created twice.

use hubsync_core::config::merge_patch;
use hubsync_e2e::delivery::upsert_config;
use hubsync_e2e::{
    accounts_sync_with, kill_worker, scalar, wait_for_value, wait_until, AccountsSync, Remote,
    SERVING_WORKER_PID,
};
use postgres::Client;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::time::Duration;

const PATIENCE: Duration = Duration::from_secs(180);

/// A sync with `patch` merged into the brief's config, pulling rarely (so every REST query
/// the emulator counts belongs to the full load).
fn bulk_sync(remote: Remote, name: &str, extra: &[(&str, &str)], patch: Value) -> AccountsSync {
    let rare = json!({"sync_settings": {"ongoing_sync": {"polling_interval_seconds": 3600}}});
    accounts_sync_with(remote, name, extra, merge_patch(&rare, &patch))
}

/// The emulator's Bulk jobs of one operation: (object, state) each.
fn jobs(remote: &Remote, operation: &str) -> Vec<(String, String)> {
    remote.admin("GET", "bulk", None)["jobs"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter(|j| j["operation"] == operation)
        .map(|j| {
            (
                j["object"].as_str().unwrap_or_default().to_string(),
                j["state"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

fn wait_for_incremental(db: &mut Client) {
    wait_for_value(
        PATIENCE,
        "the load to finish",
        db,
        "SELECT phase FROM hubsync.progress",
        |p: &String| p == "incremental",
    );
}

/// Remote accounts by name → ids (a name twice means a duplicate).
fn remote_ids_by_name(remote: &Remote) -> HashMap<String, Vec<String>> {
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    for record in remote.query("SELECT Id, Name FROM Account", false) {
        out.entry(record["Name"].as_str().unwrap_or_default().to_string())
            .or_default()
            .push(record["Id"].as_str().unwrap_or_default().to_string());
    }
    out
}

#[test]
fn a_large_full_load_goes_through_one_bulk_query_job() {
    let remote = Remote::start();
    remote.load_accounts(25_000);
    let sync = bulk_sync(
        remote,
        "bulk-load",
        &[],
        json!({"performance_settings": {"bulk_threshold": 5000}}),
    );
    let mut db = sync.db();
    wait_for_incremental(&mut db);
    let local: i64 = scalar(&mut db, "SELECT count(*) FROM accounts");
    assert_eq!(local, 25_000, "{}", sync.diagnostics());
    let total: i64 = scalar(&mut db, "SELECT records_total FROM hubsync.progress");
    assert_eq!(total, 25_000);
    let row = db
        .query_one(
            "SELECT industry_type, annual_revenue::text, last_modified IS NOT NULL FROM accounts \
             WHERE account_name = 'Remote 00041'",
            &[],
        )
        .unwrap();
    assert_eq!(row.get::<_, Option<String>>(0).as_deref(), Some("Loaded"));
    assert_eq!(row.get::<_, Option<String>>(1).as_deref(), Some("41.25"));
    assert!(row.get::<_, bool>(2), "datetimes from the CSV are read");
    assert_eq!(
        jobs(&sync.remote, "query"),
        [("Account".to_string(), "JobComplete".to_string())]
    );
    // REST would page 2,000 records a call: 13 queries. Bulk: a COUNT(), the job, its
    // polls and one results page.
    let rest_queries = sync.remote.calls("query");
    let bulk_calls = sync.remote.calls("bulk");
    assert!(rest_queries <= 2, "REST queries: {rest_queries}");
    assert!(
        rest_queries + bulk_calls < 13,
        "{rest_queries} REST queries and {bulk_calls} Bulk calls"
    );
    // Afterwards changes are read incrementally as before.
    let id = sync
        .remote
        .query("SELECT Id FROM Account WHERE Name = 'Remote 00007'", false)[0]["Id"]
        .as_str()
        .unwrap()
        .to_string();
    sync.remote
        .write("PATCH", "Account", Some(&id), json!({"Industry": "Media"}));
    db.execute("SELECT hubsync.pull_now($1)", &[&sync.name])
        .unwrap();
    wait_for_value(
        PATIENCE,
        "the change pulled",
        &mut db,
        "SELECT industry_type FROM accounts WHERE account_name = 'Remote 00007'",
        |i: &Option<String>| i.as_deref() == Some("Media"),
    );
}

#[test]
fn a_worker_killed_during_a_bulk_load_continues_the_same_job() {
    let remote = Remote::start();
    remote.load_accounts(6_000);
    remote.admin("PUT", "bulk", Some(json!({"paused": true})));
    let sync = bulk_sync(
        remote,
        "bulk-load-kill",
        &[],
        json!({"performance_settings": {"bulk_threshold": 1000}}),
    );
    let mut db = sync.db();
    wait_for_value(
        PATIENCE,
        "the job's cursor stored",
        &mut db,
        "SELECT coalesce(next_locator, '') FROM hubsync.pull_state",
        |l: &String| l.starts_with("bulk-query:"),
    );
    let old = kill_worker(&mut db);
    wait_until(PATIENCE, "a new worker", || {
        let pid: i32 = scalar(&mut db, SERVING_WORKER_PID);
        (pid != 0 && pid != old).then_some(pid)
    });
    sync.remote
        .admin("PUT", "bulk", Some(json!({"paused": false})));
    wait_for_incremental(&mut db);
    let local: i64 = scalar(&mut db, "SELECT count(DISTINCT sf_id) FROM accounts");
    assert_eq!(local, 6_000, "{}", sync.diagnostics());
    assert_eq!(
        jobs(&sync.remote, "query").len(),
        1,
        "the restarted worker read the same job"
    );
}

#[test]
fn a_push_backlog_goes_through_ingest_jobs_and_refused_records_go_to_review() {
    let remote = Remote::start_with(|schema| {
        schema["objects"][0]["validationRules"]
            .as_array_mut()
            .unwrap()
            .push(json!({
                "name": "No_Hash", "kind": "regex", "field": "Name", "pattern": "^[^#]*$",
                "message": "Account names may not contain #", "errorField": "Name"
            }));
    });
    let sync = bulk_sync(
        remote,
        "bulk-push",
        &[],
        json!({"performance_settings": {"bulk_push_threshold": 100}}),
    );
    let mut db = sync.db();
    wait_for_incremental(&mut db);
    db.batch_execute(
        "INSERT INTO accounts (account_name, annual_revenue) \
         SELECT CASE WHEN i % 100 = 0 THEN 'Bad #' || i ELSE 'Bulk ' || i END, i \
         FROM generate_series(1, 500) i",
    )
    .unwrap();
    sync.wait_idle(&mut db);
    let review = db
        .query(
            "SELECT error_code, error_message, operation FROM hubsync.review_queue",
            &[],
        )
        .unwrap();
    assert_eq!(review.len(), 5, "{}", sync.diagnostics());
    for row in &review {
        assert_eq!(row.get::<_, String>(0), "FIELD_CUSTOM_VALIDATION_EXCEPTION");
        assert!(row.get::<_, String>(1).contains("may not contain #"));
        assert_eq!(row.get::<_, String>(2), "create");
    }
    let remote_ids = remote_ids_by_name(&sync.remote);
    assert_eq!(remote_ids.len(), 495);
    assert!(remote_ids.values().all(|ids| ids.len() == 1));
    // Every created record's id came back to its own row, whatever the result order.
    let linked = db
        .query(
            "SELECT account_name, sf_id FROM accounts WHERE sf_id IS NOT NULL",
            &[],
        )
        .unwrap();
    assert_eq!(linked.len(), 495);
    for row in linked {
        let (name, id): (String, String) = (row.get(0), row.get(1));
        assert_eq!(remote_ids[&name], [id], "{name}");
    }
    let ingest = jobs(&sync.remote, "insert");
    assert!(
        !ingest.is_empty()
            && ingest
                .iter()
                .all(|(o, s)| o == "Account" && s == "JobComplete")
    );
    assert_eq!(sync.remote.calls("collections"), 0, "no REST writes");
}

#[test]
fn upserts_updates_and_deletes_of_a_backlog_go_through_ingest_jobs() {
    // Push-only with an External ID: creates are upserts, updates are not read back first.
    let patch = merge_patch(
        &upsert_config(),
        &json!({"performance_settings": {"bulk_push_threshold": 100}}),
    );
    let sync = accounts_sync_with(Remote::start(), "bulk-upsert", &[], patch);
    let mut db = sync.db();
    db.batch_execute(
        "INSERT INTO accounts (account_name) SELECT 'Up ' || i FROM generate_series(1, 300) i",
    )
    .unwrap();
    sync.wait_idle(&mut db);
    let remote = sync
        .remote
        .query("SELECT Id, Name, Hubsync_Id__c FROM Account", false);
    assert_eq!(remote.len(), 300, "{}", sync.diagnostics());
    for record in &remote {
        let local: Option<String> = db
            .query_one(
                "SELECT sf_id FROM accounts WHERE id::text = $1 AND account_name = $2",
                &[&record["Hubsync_Id__c"].as_str(), &record["Name"].as_str()],
            )
            .unwrap()
            .get(0);
        assert_eq!(local.as_deref(), record["Id"].as_str());
    }
    db.batch_execute("UPDATE accounts SET industry_type = 'Updated'")
        .unwrap();
    sync.wait_idle(&mut db);
    db.batch_execute("DELETE FROM accounts WHERE id % 2 = 0")
        .unwrap();
    sync.wait_idle(&mut db);
    let remote = sync.remote.query("SELECT Industry FROM Account", false);
    assert_eq!(remote.len(), 150, "{}", sync.diagnostics());
    assert!(remote.iter().all(|r| r["Industry"] == "Updated"));
    for operation in ["upsert", "update", "delete"] {
        let jobs = jobs(&sync.remote, operation);
        assert!(
            !jobs.is_empty() && jobs.iter().all(|(_, state)| state == "JobComplete"),
            "{operation}: {jobs:?}"
        );
    }
    assert_eq!(sync.remote.calls("collections"), 0, "no REST writes");
    let review: i64 = scalar(&mut db, "SELECT count(*) FROM hubsync.review_queue");
    assert_eq!(review, 0);
}

#[test]
fn a_worker_killed_while_its_ingest_job_runs_loses_and_duplicates_nothing() {
    // Plain inserts, no natural key: only the recorded job can tell what became of them.
    let remote = Remote::start();
    let sync = bulk_sync(
        remote,
        "bulk-push-kill",
        &[],
        json!({"performance_settings": {"bulk_push_threshold": 100}}),
    );
    let mut db = sync.db();
    wait_for_incremental(&mut db);
    sync.remote
        .admin("PUT", "bulk", Some(json!({"paused": true})));
    db.batch_execute(
        "INSERT INTO accounts (account_name) SELECT 'Crash ' || i FROM generate_series(1, 300) i",
    )
    .unwrap();
    wait_until(PATIENCE, "the ingest job uploaded", || {
        let jobs = jobs(&sync.remote, "insert");
        (jobs.len() == 1 && jobs[0].1 == "UploadComplete").then_some(())
    });
    let recorded: i64 = scalar(&mut db, "SELECT count(*) FROM hubsync.bulk_job");
    assert_eq!(recorded, 1, "the job is recorded before it may run");
    let old = kill_worker(&mut db);
    wait_until(PATIENCE, "a new worker", || {
        let pid: i32 = scalar(&mut db, SERVING_WORKER_PID);
        (pid != 0 && pid != old).then_some(pid)
    });
    // The job runs only now, after the restarted worker took over.
    sync.remote
        .admin("PUT", "bulk", Some(json!({"paused": false})));
    sync.wait_idle(&mut db);
    let remote_ids = remote_ids_by_name(&sync.remote);
    assert_eq!(remote_ids.len(), 300, "{}", sync.diagnostics());
    assert!(
        remote_ids.values().all(|ids| ids.len() == 1),
        "no record created twice"
    );
    assert_eq!(
        jobs(&sync.remote, "insert"),
        [("Account".to_string(), "JobComplete".to_string())],
        "the same job was finished, never sent again"
    );
    // Every row got its own record's id from the job's results.
    let linked = db
        .query("SELECT account_name, sf_id FROM accounts", &[])
        .unwrap();
    assert_eq!(linked.len(), 300);
    for row in linked {
        let (name, id): (String, Option<String>) = (row.get(0), row.get(1));
        assert_eq!(Some(&remote_ids[&name][0]), id.as_ref(), "{name}");
    }
    let review: i64 = scalar(&mut db, "SELECT count(*) FROM hubsync.review_queue");
    assert_eq!(review, 0, "{}", sync.diagnostics());
    let left: i64 = scalar(&mut db, "SELECT count(*) FROM hubsync.bulk_job");
    assert_eq!(left, 0, "a settled job is forgotten");
}

#[test]
fn a_job_left_open_by_a_killed_worker_is_aborted_and_its_rows_sent_again() {
    let remote = Remote::start();
    let sync = bulk_sync(
        remote,
        "bulk-push-open",
        &[("hubsync.lease", "'30s'")],
        json!({"performance_settings": {"bulk_push_threshold": 100},
               "sync_settings": {"natural_key": ["Name"]}}),
    );
    let mut db = sync.db();
    wait_for_incremental(&mut db);
    // The job is created, but its answer is held: the worker never uploads to it, and
    // never marks it UploadComplete.
    sync.remote.inject(
        json!([{"endpoint": "bulk", "kind": "stall_after", "next": 1, "latency_ms": 25000}]),
    );
    db.batch_execute(
        "INSERT INTO accounts (account_name) SELECT 'Open ' || i FROM generate_series(1, 300) i",
    )
    .unwrap();
    wait_until(PATIENCE, "the ingest job created", || {
        let jobs = jobs(&sync.remote, "insert");
        (jobs.len() == 1 && jobs[0].1 == "Open").then_some(())
    });
    kill_worker(&mut db);
    sync.wait_idle(&mut db);
    let remote_ids = remote_ids_by_name(&sync.remote);
    assert_eq!(remote_ids.len(), 300, "{}", sync.diagnostics());
    assert!(remote_ids.values().all(|ids| ids.len() == 1));
    let states: Vec<String> = jobs(&sync.remote, "insert")
        .into_iter()
        .map(|(_, state)| state)
        .collect();
    // The left-over job never ran; its rows were looked up (not found) and sent again.
    assert_eq!(states[0], "Aborted", "{}", sync.diagnostics());
    assert!(states[1..].iter().all(|s| s == "JobComplete"), "{states:?}");
    let linked: i64 = scalar(&mut db, "SELECT count(sf_id) FROM accounts");
    assert_eq!(linked, 300);
}
