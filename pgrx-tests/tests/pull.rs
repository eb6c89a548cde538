//! Inbound and two-way sync end to end: the full load, incremental changes and deletes in
//! both directions, conflicts under every policy, loops held, crashes mid-pull, and
//! one-way syncs that stay one-way.

use hubsync_core::config::merge_patch;
use hubsync_e2e::{
    accounts_sync, accounts_sync_with, fast_polling, fixture_sync, fixtures, kill_worker, scalar,
    wait_for_value, wait_until, AccountsSync, Remote, SYNC,
};
use postgres::Client;
use serde_json::{json, Value};
use std::time::Duration;

const PATIENCE: Duration = Duration::from_secs(120);

/// The brief's sync, pulling every second, with `patch` merged into its config.
fn polling_sync(name: &str, patch: Value) -> AccountsSync {
    accounts_sync(name, &[], merge_patch(&fast_polling(), &patch))
}

/// A sync (the brief's, with `patch` merged into its config) starting its full load of
/// `count` remote accounts through REST pages (Bulk API off), each page of the load taking
/// `latency_ms` to arrive.
fn slow_full_load(name: &str, count: usize, latency_ms: u64, patch: Value) -> AccountsSync {
    let remote = Remote::start();
    remote.load_accounts(count);
    remote.inject(json!([{"endpoint": "query", "kind": "latency", "latency_ms": latency_ms}]));
    let rest_only = merge_patch(
        &json!({"performance_settings": {"bulk_threshold": 0}}),
        &patch,
    );
    accounts_sync_with(remote, name, &[], merge_patch(&fast_polling(), &rest_only))
}

fn load_remote(remote: &Remote, count: usize) {
    for start in (0..count).step_by(5000) {
        let accounts: Vec<Value> = (start..(start + 5000).min(count))
            .map(|i| json!({"Name": format!("Remote {i:05}"), "Industry": "Loaded", "AnnualRevenue": i as f64 + 0.25}))
            .collect();
        remote.admin("POST", "load", Some(json!({ "Account": accounts })));
    }
}

fn local_count(db: &mut Client) -> i64 {
    scalar(db, "SELECT count(*) FROM accounts")
}

/// Waits until the full load is over and the sync pulls changes.
fn wait_for_incremental(db: &mut Client) {
    let phase = "SELECT phase FROM hubsync.progress";
    wait_for_value(PATIENCE, "the load to finish", db, phase, |p: &String| {
        p == "incremental"
    });
}

/// The local row of a remote record: (name, industry, revenue as text).
fn local_row(db: &mut Client, sf_id: &str) -> Option<(String, Option<String>, Option<String>)> {
    db.query_opt(
        "SELECT account_name, industry_type, annual_revenue::text FROM accounts WHERE sf_id = $1",
        &[&sf_id],
    )
    .unwrap()
    .map(|r| (r.get(0), r.get(1), r.get(2)))
}

fn remote_record(sync: &AccountsSync, id: &str) -> Value {
    let records = sync.remote.query(
        &format!(
            "SELECT Id, Name, Industry, AnnualRevenue, IsDeleted FROM Account WHERE Id = '{id}'"
        ),
        true,
    );
    records.into_iter().next().unwrap_or(Value::Null)
}

/// Waits until a pull after now has been applied.
fn pulled_again(db: &mut Client) {
    let last_pull = "SELECT last_pull::text FROM hubsync.status";
    let before: Option<String> = scalar(db, last_pull);
    db.execute("SELECT hubsync.pull_now($1)", &[&SYNC]).unwrap();
    wait_for_value(
        PATIENCE,
        "another pull",
        db,
        last_pull,
        |now: &Option<String>| now.is_some() && *now != before,
    );
}

#[test]
fn full_load_with_progress_then_changes_and_deletes_both_ways() {
    // Slow pages, so the load is observed half done.
    let sync = slow_full_load("full-load", 25_000, 150, json!({}));
    let mut db = sync.db();
    let (done, total): (i64, i64) = wait_until(PATIENCE, "the load half way", || {
        let row = db
            .query_one(
                "SELECT records_done, coalesce(records_total, 0), phase FROM hubsync.progress",
                &[],
            )
            .unwrap();
        let (done, total, phase): (i64, i64, String) = (row.get(0), row.get(1), row.get(2));
        (phase == "full_load" && done > 0 && done < total).then_some((done, total))
    });
    assert_eq!(total, 25_000);
    assert!(done % 2000 == 0, "progress moves page by page: {done}");
    wait_for_incremental(&mut db);
    sync.remote.heal();
    assert_eq!(local_count(&mut db), 25_000, "{}", sync.diagnostics());
    let ids: Vec<String> = sync
        .remote
        .query("SELECT Id FROM Account WHERE Name IN ('Remote 00041', 'Remote 00042', 'Remote 00043', 'Remote 00044') ORDER BY Name", false)
        .iter()
        .map(|r| r["Id"].as_str().unwrap().to_string())
        .collect();
    let (name, industry, revenue) = local_row(&mut db, &ids[0]).expect("a loaded row");
    assert_eq!(
        (name.as_str(), industry.as_deref(), revenue.as_deref()),
        ("Remote 00041", Some("Loaded"), Some("41.25"))
    );

    // Changes made in Salesforce arrive: an update, a delete, a new record.
    sync.remote.write(
        "PATCH",
        "Account",
        Some(&ids[0]),
        json!({"Industry": "Media"}),
    );
    sync.remote
        .write("DELETE", "Account", Some(&ids[1]), json!({}));
    let created = sync
        .remote
        .write(
            "POST",
            "Account",
            None,
            json!({"Name": "Born remote", "AnnualRevenue": 7}),
        )
        .unwrap();
    wait_until(PATIENCE, "remote changes applied", || {
        let updated = local_row(&mut db, &ids[0]).and_then(|r| r.1) == Some("Media".into());
        let deleted = local_row(&mut db, &ids[1]).is_none();
        let arrived = local_row(&mut db, &created).is_some();
        (updated && deleted && arrived).then_some(())
    });
    // Changes made locally reach Salesforce: an update and a delete.
    db.execute(
        "UPDATE accounts SET industry_type = 'Retail' WHERE sf_id = $1",
        &[&ids[2]],
    )
    .unwrap();
    db.execute("DELETE FROM accounts WHERE sf_id = $1", &[&ids[3]])
        .unwrap();
    sync.wait_idle(&mut db);
    assert_eq!(remote_record(&sync, &ids[2])["Industry"], "Retail");
    assert_eq!(remote_record(&sync, &ids[3])["IsDeleted"], true);
    assert_eq!(local_count(&mut db), 25_000 - 1 + 1 - 1);
    let status = db
        .query_one(
            "SELECT pulled, last_pull IS NOT NULL, pull_lag IS NOT NULL FROM hubsync.status",
            &[],
        )
        .unwrap();
    assert!(status.get::<_, i64>(0) >= 25_002);
    assert!(status.get::<_, bool>(1) && status.get::<_, bool>(2));
}

/// A record synced on both sides, then changed on both while the sync is paused.
struct Conflict {
    sync: AccountsSync,
    sf_id: String,
}

fn conflict(name: &str, policy: Value, remote_later: bool) -> Conflict {
    let sync = polling_sync(name, policy);
    let mut db = sync.db();
    db.batch_execute("INSERT INTO accounts (account_name, industry_type, annual_revenue) VALUES ('Base', 'Base', 1)")
        .unwrap();
    sync.wait_idle(&mut db);
    let sf_id: String = wait_until(PATIENCE, "the id written back", || {
        scalar(&mut db, "SELECT sf_id FROM accounts")
    });
    db.execute("SELECT hubsync.pause_sync($1)", &[&SYNC])
        .unwrap();
    let edit_local = |db: &mut Client| {
        db.batch_execute("UPDATE accounts SET account_name = 'Local', industry_type = 'Local', annual_revenue = 2")
            .unwrap()
    };
    let edit_remote = || {
        let fields = json!({"Name": "Remote", "Industry": "Remote", "AnnualRevenue": 3});
        sync.remote.write("PATCH", "Account", Some(&sf_id), fields);
    };
    if remote_later {
        edit_local(&mut db);
        sync.remote.advance_clock(5);
        edit_remote();
    } else {
        edit_remote();
        edit_local(&mut db);
    }
    db.execute("SELECT hubsync.resume_sync($1)", &[&SYNC])
        .unwrap();
    Conflict { sync, sf_id }
}

impl Conflict {
    /// Waits for the sync to settle and returns (name, industry, revenue) after checking
    /// both sides hold the same values.
    fn settled(&self) -> (String, String, String) {
        let mut db = self.sync.db();
        self.sync.wait_idle(&mut db);
        pulled_again(&mut db);
        self.sync.wait_idle(&mut db);
        let (name, industry, revenue) = local_row(&mut db, &self.sf_id).unwrap();
        let remote = remote_record(&self.sync, &self.sf_id);
        assert_eq!(
            remote["Name"].as_str(),
            Some(name.as_str()),
            "{}",
            self.sync.diagnostics()
        );
        assert_eq!(remote["Industry"].as_str(), industry.as_deref());
        assert_eq!(
            remote["AnnualRevenue"].as_f64(),
            revenue.as_deref().and_then(|r| r.parse().ok())
        );
        (
            name,
            industry.unwrap_or_default(),
            revenue.unwrap_or_default(),
        )
    }

    fn logged(&self) -> Vec<(String, String)> {
        self.sync
            .db()
            .query(
                "SELECT field, winner FROM hubsync.conflicts ORDER BY field",
                &[],
            )
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect()
    }
}

fn policy(value: Value) -> Value {
    json!({"sync_settings": {"conflict_resolution": value}})
}

#[test]
fn last_write_wins_keeps_the_later_side_field_by_field() {
    let remote_later = conflict(
        "lww-remote",
        policy(json!({"strategy": "last_write_wins", "timestamp_field": "LastModifiedDate"})),
        true,
    );
    assert_eq!(
        remote_later.settled(),
        ("Remote".into(), "Remote".into(), "3.00".into())
    );
    assert_eq!(remote_later.logged().len(), 3);
    assert!(remote_later.logged().iter().all(|(_, w)| w == "remote"));

    let local_later = conflict(
        "lww-local",
        policy(json!({"strategy": "last_write_wins", "timestamp_field": "LastModifiedDate"})),
        false,
    );
    assert_eq!(
        local_later.settled(),
        ("Local".into(), "Local".into(), "2.00".into())
    );
    assert!(local_later.logged().iter().all(|(_, w)| w == "local"));
}

#[test]
fn field_level_priority_decides_each_field_by_its_rule() {
    let c = conflict(
        "field-priority",
        policy(json!({"strategy": "field_level_priority", "field_rules": [
            {"field": "account_name", "priority_system": "crm"},
            // `erp` names NetSuite since the hub; the table itself is `postgres`.
            {"field": "industry_type", "priority_system": "postgres"},
            {"field": "annual_revenue", "priority_system": "last_updated"}
        ]})),
        true,
    );
    let settled = c.settled();
    assert_eq!(
        settled,
        ("Remote".into(), "Local".into(), "3.00".into()),
        "{:?}\n{}",
        c.logged(),
        c.sync.diagnostics()
    );
    assert_eq!(
        c.logged(),
        [
            ("account_name".into(), "remote".into()),
            ("annual_revenue".into(), "remote".into()),
            ("industry_type".into(), "local".into())
        ]
    );
}

#[test]
fn source_wins_and_target_wins() {
    let source = conflict("source-wins", policy(json!("source_wins")), false);
    assert_eq!(
        source.settled(),
        ("Remote".into(), "Remote".into(), "3.00".into())
    );
    let target = conflict("target-wins", policy(json!("target_wins")), true);
    assert_eq!(
        target.settled(),
        ("Local".into(), "Local".into(), "2.00".into())
    );
}

#[test]
fn manual_conflicts_wait_for_a_person() {
    let c = conflict("manual", policy(json!("manual")), true);
    let mut db = c.sync.db();
    let id: i64 = wait_until(PATIENCE, "the conflict in review", || {
        db.query_opt(
            "SELECT id FROM hubsync.review_queue WHERE kind = 'conflict'",
            &[],
        )
        .unwrap()
        .map(|r| r.get(0))
    });
    // Held: neither side was overwritten.
    assert_eq!(local_row(&mut db, &c.sf_id).unwrap().0, "Local");
    assert_eq!(remote_record(&c.sync, &c.sf_id)["Name"], "Remote");
    db.execute(
        "SELECT hubsync.resolve($1, $2::jsonb)",
        &[
            &id,
            &json!({"account_name": "Merged", "industry_type": "Remote"}),
        ],
    )
    .unwrap();
    assert_eq!(c.settled().0, "Merged");
    let open: i64 = scalar(&mut db, "SELECT count(*) FROM hubsync.review_queue");
    assert_eq!(open, 0);
}

#[test]
fn an_automation_settles_and_a_fight_is_held() {
    let sync = polling_sync(
        "loops",
        json!({"loop_prevention": {"enabled": true, "detection_window_seconds": 60, "max_update_count": 2}}),
    );
    sync.remote.admin(
        "POST",
        "automations",
        Some(
            json!({"automations": [{"name": "Upper_Name", "object": "Account", "field": "Name",
                                      "copyFrom": "Name", "transform": "upper"}]}),
        ),
    );
    let mut db = sync.db();
    db.batch_execute("INSERT INTO accounts (account_name) VALUES ('acme corp')")
        .unwrap();
    // Salesforce rewrites the name; the sync brings the rewrite home and settles.
    let name = "SELECT account_name FROM accounts";
    wait_for_value(
        PATIENCE,
        "the rewrite pulled",
        &mut db,
        name,
        |n: &String| n == "ACME CORP",
    );
    let calls = sync.remote.calls("collections");
    pulled_again(&mut db);
    pulled_again(&mut db);
    assert_eq!(
        sync.remote.calls("collections"),
        calls,
        "nothing more to push once settled"
    );

    // Someone keeps lower-casing it locally: the record bounces and gets held.
    let held = wait_until(PATIENCE, "the record held", || {
        if scalar::<String>(&mut db, name) == "ACME CORP" {
            db.batch_execute("UPDATE accounts SET account_name = 'acme corp'")
                .unwrap();
        }
        db.query_opt(
            "SELECT error_message FROM hubsync.review_queue WHERE kind = 'loop'",
            &[],
        )
        .unwrap()
        .map(|r| r.get::<_, String>(0))
    });
    assert!(held.contains("account_name"), "{held}");
    let state: String = scalar(&mut db, "SELECT state FROM hubsync.record_status");
    assert_eq!(state, "held");
}

#[test]
fn a_worker_killed_mid_load_finishes_it_without_loss_or_duplicates() {
    let sync = slow_full_load("crash-pull", 10_000, 200, json!({}));
    let mut db = sync.db();
    let done = "SELECT records_done FROM hubsync.progress";
    wait_for_value(PATIENCE, "the load under way", &mut db, done, |d: &i64| {
        *d > 0
    });
    kill_worker(&mut db);
    wait_for_incremental(&mut db);
    let (rows, distinct): (i64, i64) = {
        let r = db
            .query_one("SELECT count(*), count(DISTINCT sf_id) FROM accounts", &[])
            .unwrap();
        (r.get(0), r.get(1))
    };
    assert_eq!((rows, distinct), (10_000, 10_000), "{}", sync.diagnostics());
}

#[test]
fn one_way_syncs_stay_one_way() {
    // Salesforce → Postgres: never pushes (no capture trigger at all).
    let to_local = polling_sync(
        "one-way-in",
        json!({"sync_settings": {"sync_type": "one_way"}}),
    );
    let mut db = to_local.db();
    let id = to_local
        .remote
        .write("POST", "Account", None, json!({"Name": "From Salesforce"}))
        .unwrap();
    wait_until(PATIENCE, "the record pulled", || local_row(&mut db, &id));
    db.batch_execute("UPDATE accounts SET account_name = 'Changed locally'")
        .unwrap();
    let outbox: i64 = scalar(&mut db, "SELECT count(*) FROM hubsync.outbox");
    assert_eq!(outbox, 0);
    assert_eq!(to_local.remote.calls("collections"), 0);
    assert_eq!(remote_record(&to_local, &id)["Name"], "From Salesforce");

    // Postgres → Salesforce: never pulls.
    let to_remote = polling_sync(
        "one-way-out",
        json!({"sync_settings": {"sync_type": "one_way", "source_to_target": false, "target_to_source": true},
               "field_mappings": [{"source": "Id", "target": "sf_id"}, {"source": "Name", "target": "account_name"}]}),
    );
    let mut db = to_remote.db();
    to_remote
        .remote
        .write("POST", "Account", None, json!({"Name": "Stays remote"}));
    db.batch_execute("INSERT INTO accounts (account_name) VALUES ('Goes remote')")
        .unwrap();
    to_remote.wait_idle(&mut db);
    assert_eq!(local_count(&mut db), 1);
    assert_eq!(to_remote.remote.calls("query"), 0);
    // It keeps the remote id, but no agreed values: nothing would ever merge against them.
    let (linked, agreed): (i64, i64) = {
        let r = db
            .query_one(
                "SELECT count(remote_id), count(base) FROM hubsync.record_state",
                &[],
            )
            .unwrap();
        (r.get(0), r.get(1))
    };
    assert_eq!((linked, agreed), (1, 0));
}

#[test]
fn a_load_into_an_empty_table_inserts_and_merges_a_row_linked_meanwhile() {
    // Five pages; the first goes into an empty table, so the load inserts without merging.
    // One way (Salesforce → Postgres): the row linked below is not pushed.
    let one_way = json!({"sync_settings": {"sync_type": "one_way"}});
    let sync = slow_full_load("blank-load", 10_000, 300, one_way);
    let mut db = sync.db();
    let done = "SELECT records_done FROM hubsync.progress";
    wait_for_value(PATIENCE, "the load under way", &mut db, done, |d: &i64| {
        *d > 0
    });
    // Meanwhile a row is linked by hand to a record of a later page: that page must find it
    // and merge, not insert the record a second time.
    let last = sync
        .remote
        .query("SELECT Id FROM Account WHERE Name = 'Remote 09999'", false);
    let last_id = last[0]["Id"].as_str().unwrap().to_string();
    db.execute(
        "INSERT INTO accounts (account_name, sf_id) VALUES ('Linked by hand', $1) \
         ON CONFLICT (sf_id) DO NOTHING",
        &[&last_id],
    )
    .unwrap();
    wait_for_incremental(&mut db);
    let (rows, distinct): (i64, i64) = {
        let r = db
            .query_one("SELECT count(*), count(DISTINCT sf_id) FROM accounts", &[])
            .unwrap();
        (r.get(0), r.get(1))
    };
    assert_eq!((rows, distinct), (10_000, 10_000), "{}", sync.diagnostics());
    // Every row has its agreed values, as a merged load would have left them.
    let agreed: i64 = scalar(
        &mut db,
        "SELECT count(*) FROM hubsync.record_state s JOIN accounts a ON s.pk = jsonb_build_array(a.id) \
         WHERE s.remote_id = a.sf_id AND s.base->>'account_name' = a.account_name",
    );
    assert_eq!(agreed, 10_000, "{}", sync.diagnostics());
    let (name, industry, _) = local_row(&mut db, &last_id).unwrap();
    assert_eq!(
        (name.as_str(), industry.as_deref()),
        ("Remote 09999", Some("Loaded"))
    );
}

#[test]
fn a_load_into_an_empty_table_parks_only_the_record_the_table_refuses() {
    let remote = Remote::start();
    load_remote(&remote, 3);
    let big: Value =
        serde_json::from_str(r#"{"Account": [{"Name": "Too big", "AnnualRevenue": 5000000}]}"#)
            .unwrap();
    remote.admin("POST", "load", Some(big));
    let sync = fixture_sync(
        remote,
        "blank-load-refused",
        &[],
        &format!(
            "{}; ALTER TABLE accounts ADD CONSTRAINT revenue_cap CHECK (annual_revenue < 1000000)",
            fixtures::text("tables/accounts.sql")
        ),
        fixtures::json("bases/accounts_full.json"),
        fast_polling(),
    );
    let mut db = sync.db();
    wait_for_incremental(&mut db);
    assert_eq!(local_count(&mut db), 3, "{}", sync.diagnostics());
    let states: i64 = scalar(&mut db, "SELECT count(*) FROM hubsync.record_state");
    assert_eq!(states, 3);
    let kinds: Vec<String> = db
        .query("SELECT kind FROM hubsync.review_queue", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(kinds, ["apply_error"], "{}", sync.diagnostics());
}

#[test]
fn a_table_with_rows_is_joined_both_ways_and_refused_values_park_only_their_record() {
    let remote = Remote::start();
    remote.load_accounts(3);
    let big: Value =
        serde_json::from_str(r#"{"Account": [{"Name": "Too big", "AnnualRevenue": 5000000}]}"#)
            .unwrap();
    remote.admin("POST", "load", Some(big));
    // Rows that exist before the sync, and a rule the remote data will break.
    let sync = fixture_sync(
        remote,
        "existing-rows-sync",
        &[],
        &format!(
            "{}; INSERT INTO accounts (account_name) VALUES ('Local A'), ('Local B'); \
             ALTER TABLE accounts ADD CONSTRAINT revenue_cap CHECK (annual_revenue < 1000000)",
            fixtures::text("tables/accounts.sql")
        ),
        fixtures::json("bases/accounts_full.json"),
        fast_polling(),
    );
    let mut db = sync.db();
    wait_for_incremental(&mut db);
    sync.wait_idle(&mut db);
    // The local rows went to Salesforce; the three loadable remote records came home.
    let remote_names: Vec<String> = sync
        .remote
        .query("SELECT Name FROM Account ORDER BY Name", false)
        .iter()
        .map(|r| r["Name"].as_str().unwrap().to_string())
        .collect();
    assert!(
        remote_names.contains(&"Local A".to_string())
            && remote_names.contains(&"Local B".to_string())
    );
    assert_eq!(local_count(&mut db), 2 + 3, "{}", sync.diagnostics());
    // The record the table refuses is parked with the reason; the rest applied.
    let review = db
        .query("SELECT kind, error_message FROM hubsync.review_queue", &[])
        .unwrap();
    assert_eq!(review.len(), 1, "{}", sync.diagnostics());
    let (kind, message): (String, String) = (review[0].get(0), review[0].get(1));
    assert_eq!(kind, "apply_error");
    assert!(message.contains("revenue_cap"), "{message}");
}

#[test]
fn pending_changes_survive_a_pull_that_re_reads_their_records() {
    // Incremental pulls re-read the watermark's second, which holds the records just pushed.
    // A worker that starts with changes pending (after a restart or a restore) pulls before
    // it pushes: the pull must neither undo a pending update nor bring back a deleted row.
    let sync = polling_sync("pull-pending", json!({}));
    let mut db = sync.db();
    db.batch_execute(
        "INSERT INTO accounts (account_name, industry_type) VALUES ('Acme', 'Energy'), ('Globex', 'Tech')",
    )
    .unwrap();
    sync.wait_idle(&mut db);
    pulled_again(&mut db);
    db.execute("SELECT hubsync.pause_sync($1)", &[&SYNC])
        .unwrap();
    db.batch_execute(
        "UPDATE accounts SET industry_type = 'Media' WHERE account_name = 'Acme'; \
         DELETE FROM accounts WHERE account_name = 'Globex';",
    )
    .unwrap();
    let old = kill_worker(&mut db);
    let running = hubsync_e2e::SERVING_WORKER_PID;
    wait_for_value(PATIENCE, "a new worker", &mut db, running, |pid: &i32| {
        *pid != 0 && *pid != old
    });
    db.execute("SELECT hubsync.resume_sync($1)", &[&SYNC])
        .unwrap();
    sync.wait_idle(&mut db);
    pulled_again(&mut db);
    let names: Vec<(String, Option<String>)> = db
        .query("SELECT account_name, industry_type FROM accounts", &[])
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(
        names,
        [("Acme".to_string(), Some("Media".to_string()))],
        "{}",
        sync.diagnostics()
    );
    let remote = sync.remote.query(
        "SELECT Name, Industry, IsDeleted FROM Account ORDER BY Name",
        true,
    );
    assert_eq!(remote[0]["Industry"], "Media", "{remote:?}");
    assert_eq!(remote[1]["IsDeleted"], true, "{remote:?}");
}
