//! Outbound sync under stress: the worker killed or the server crashed mid-push, requests
//! failing, tokens expiring, the API limit reached, records refused by a validation rule.
//! Every committed change ends up in Salesforce exactly once, or in the review queue.

use hubsync_e2e::delivery::{
    assert_exactly_once, insert_rows, linked, review_items, upsert_config,
};
use hubsync_e2e::{
    accounts_sync, accounts_sync_with, kill_worker, scalar, wait_for_value, wait_until,
    AccountsSync, Remote,
};
use postgres::Client;
use serde_json::{json, Value};
use std::collections::HashSet;
use std::time::Duration;

const PATIENCE: Duration = Duration::from_secs(120);

/// The brief's sync with `patch` merged in, each push request taking `latency_ms`, so a
/// crash lands while batches are in flight.
fn slow_push_sync(name: &str, patch: Value, latency_ms: u64) -> AccountsSync {
    let sync = accounts_sync(name, &[], patch);
    sync.remote
        .inject(json!([{"endpoint": "collections", "kind": "latency", "latency_ms": latency_ms}]));
    sync
}

fn worker_pid(db: &mut Client) -> Option<i32> {
    Some(scalar(db, hubsync_e2e::SERVING_WORKER_PID)).filter(|pid| *pid != 0)
}

fn pushed(db: &mut Client) -> i64 {
    scalar(db, "SELECT coalesce(pushed, 0) FROM hubsync.status")
}

/// Kills the worker twice while slow batches are in flight.
fn terminate_worker_mid_push(db: &mut Client) {
    for round in 1..=2 {
        let before = pushed(db);
        wait_until(PATIENCE, "some rows pushed", || {
            (pushed(db) > before).then_some(())
        });
        let pid = kill_worker(db);
        wait_until(PATIENCE, &format!("worker back after kill {round}"), || {
            worker_pid(db).filter(|p| *p != pid)
        });
    }
}

#[test]
fn terminated_worker_loses_and_duplicates_nothing_with_upserts() {
    let sync = slow_push_sync("crash-upsert", upsert_config(), 300);
    let mut db = sync.db();
    insert_rows(&mut db, 0, 20, 100);
    terminate_worker_mid_push(&mut db);
    sync.wait_idle(&mut db);
    assert_exactly_once(&sync, &mut db, 2000);
}

#[test]
fn terminated_worker_reconciles_creates_by_natural_key() {
    let natural_key = json!({"sync_settings": {"natural_key": ["Name"]}});
    let sync = slow_push_sync("crash-natural-key", natural_key, 300);
    let mut db = sync.db();
    insert_rows(&mut db, 0, 20, 100);
    terminate_worker_mid_push(&mut db);
    sync.wait_idle(&mut db);
    assert_exactly_once(&sync, &mut db, 2000);
    assert_eq!(review_items(&mut db), 0);
}

#[test]
fn without_a_key_doubtful_creates_go_to_review_not_twice_to_salesforce() {
    let sync = slow_push_sync("crash-no-key", json!({}), 500);
    let mut db = sync.db();
    insert_rows(&mut db, 0, 1, 50);
    let claimed = "SELECT count(*) FROM hubsync.outbox WHERE claimed_until IS NOT NULL";
    wait_for_value(
        PATIENCE,
        "a create request in flight",
        &mut db,
        claimed,
        |n: &i64| *n > 0,
    );
    kill_worker(&mut db);
    sync.wait_idle(&mut db);
    let remote = sync.remote.query("SELECT Id, Name FROM Account", false);
    let review: Vec<(String, String)> = db
        .query("SELECT kind, error_message FROM hubsync.review_queue", &[])
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    // Each row is either in Salesforce (linked) or parked with an explanation; never both
    // created twice.
    let names: HashSet<&str> = remote.iter().filter_map(|r| r["Name"].as_str()).collect();
    assert_eq!(names.len(), remote.len(), "duplicates in Salesforce");
    assert_eq!(linked(&mut db) as usize + review.len(), 50, "{review:?}");
    assert!(review
        .iter()
        .all(|(kind, why)| kind == "unknown_outcome" && why.contains("natural_key")));
    assert!(
        !review.is_empty(),
        "the kill landed while a create was in flight"
    );
}

#[test]
fn server_crash_mid_push_loses_and_duplicates_nothing() {
    let sync = slow_push_sync("crash-server", upsert_config(), 300);
    let mut db = sync.db();
    insert_rows(&mut db, 0, 20, 100);
    wait_until(PATIENCE, "some rows pushed", || {
        (pushed(&mut db) > 0).then_some(())
    });
    sync.cluster.crash_and_restart();
    let mut db = sync.db();
    sync.wait_idle(&mut db);
    assert_exactly_once(&sync, &mut db, 2000);
}

#[test]
fn faults_retries_token_expiry_and_api_limit() {
    let sync = accounts_sync("faults", &[], upsert_config());
    let mut db = sync.db();
    sync.remote.admin(
        "PUT",
        "faults",
        Some(json!({"seed": 7, "rules": [
            {"endpoint": "collections", "kind": "unavailable", "rate": 0.2},
            {"endpoint": "collections", "kind": "drop", "rate": 0.1},
            {"endpoint": "collections", "kind": "lock_row", "rate": 0.05}
        ]})),
    );
    insert_rows(&mut db, 0, 10, 100);
    wait_until(PATIENCE, "half pushed", || {
        (pushed(&mut db) >= 500).then_some(())
    });
    sync.remote.admin("POST", "tokens/expire", None);
    insert_rows(&mut db, 10, 5, 100);
    sync.wait_idle(&mut db);
    sync.remote.heal();
    assert_exactly_once(&sync, &mut db, 1500);

    // The org's daily API limit: the sync backs off and says so, then drains.
    let limits = sync.remote.admin("GET", "limits", None);
    sync.remote
        .admin("PUT", "limits", Some(json!({"used": limits["max"]})));
    db.batch_execute(
        "UPDATE accounts SET industry_type = 'After limit' WHERE account_name = 'Row 1'",
    )
    .unwrap();
    let connection_state = "SELECT connection_state FROM hubsync.status";
    let state = wait_for_value(
        PATIENCE,
        "backing off",
        &mut db,
        connection_state,
        |s: &String| s == "backing off",
    );
    assert_eq!(state, "backing off");
    sync.remote.admin("PUT", "limits", Some(json!({"used": 0})));
    sync.wait_idle(&mut db);
    let remote = sync
        .remote
        .query("SELECT Industry FROM Account WHERE Name = 'Row 1'", false);
    assert_eq!(remote[0]["Industry"], "After limit");
}

#[test]
fn validation_rule_rejections_go_to_review_and_retry_delivers_them() {
    let remote = Remote::start_with(|schema| {
        let account = &mut schema["objects"][0];
        account["validationRules"]
            .as_array_mut()
            .unwrap()
            .push(json!({
                "name": "No_Hash", "kind": "regex", "field": "Name", "pattern": "^[^#]*$",
                "message": "Account names may not contain #", "errorField": "Name"
            }));
    });
    let sync = accounts_sync_with(remote, "validation", &[], json!({}));
    let mut db = sync.db();
    db.batch_execute(
        "INSERT INTO accounts (account_name) VALUES ('Good one'), ('Bad #1'), ('Bad #2'), ('Good two')",
    )
    .unwrap();
    sync.wait_idle(&mut db);
    let review = db
        .query(
            "SELECT id, error_code, error_message, operation FROM hubsync.review_queue ORDER BY id",
            &[],
        )
        .unwrap();
    assert_eq!(review.len(), 2);
    for row in &review {
        assert_eq!(row.get::<_, String>(1), "FIELD_CUSTOM_VALIDATION_EXCEPTION");
        assert!(row.get::<_, String>(2).contains("may not contain #"));
        assert_eq!(row.get::<_, String>(3), "create");
    }
    assert_eq!(sync.remote.query("SELECT Id FROM Account", false).len(), 2);

    // Fixing a row captures the change, which delivers it and closes its review item.
    db.batch_execute("UPDATE accounts SET account_name = 'Fixed 1' WHERE account_name = 'Bad #1'")
        .unwrap();
    sync.wait_idle(&mut db);
    // Fixing without capture (origin tag), then retry(id), delivers the other one.
    db.batch_execute(
        "BEGIN; SET LOCAL hubsync.origin = 'salesforce'; \
         UPDATE accounts SET account_name = 'Fixed 2' WHERE account_name = 'Bad #2'; COMMIT;",
    )
    .unwrap();
    let remaining: i64 = scalar(&mut db, "SELECT id FROM hubsync.review_queue");
    let retried: bool = db
        .query_one("SELECT hubsync.retry($1)", &[&remaining])
        .unwrap()
        .get(0);
    assert!(retried);
    sync.wait_idle(&mut db);
    let names: HashSet<String> = sync
        .remote
        .query("SELECT Name FROM Account", false)
        .iter()
        .filter_map(|r| r["Name"].as_str().map(str::to_string))
        .collect();
    assert_eq!(names.len(), 4);
    assert!(names.contains("Fixed 1") && names.contains("Fixed 2"));
    assert_eq!(review_items(&mut db), 0);
}
