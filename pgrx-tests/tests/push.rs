//! Outbound sync end to end: committed changes reach the emulator in order, coalesced,
//! batched, without echo, and the remote id comes back into `sf_id`.

use hubsync_e2e::{accounts_sync, scalar, AccountsSync};
use postgres::Client;
use serde_json::{json, Value};

fn remote_accounts(sync: &AccountsSync) -> Vec<Value> {
    sync.remote.query(
        "SELECT Id, Name, Industry, AnnualRevenue, IsDeleted FROM Account ORDER BY Name",
        true,
    )
}

fn local_ids(db: &mut Client) -> Vec<(String, Option<String>)> {
    db.query(
        "SELECT account_name, sf_id FROM accounts ORDER BY account_name",
        &[],
    )
    .unwrap()
    .iter()
    .map(|r| (r.get(0), r.get(1)))
    .collect()
}

fn outbox_rows(db: &mut Client) -> i64 {
    scalar(db, "SELECT count(*) FROM hubsync.outbox")
}

#[test]
fn insert_update_delete_reach_salesforce_without_echo() {
    let sync = accounts_sync("push-crud", &[], json!({}));
    let mut db = sync.db();

    db.batch_execute(
        "INSERT INTO accounts (account_name, industry_type, annual_revenue) VALUES \
         ('Acme', 'Energy', 1500000.00), ('Globex', 'Technology', 98000000.50), ('Initech', NULL, 0.10)",
    )
    .unwrap();
    sync.wait_idle(&mut db);
    let remote = remote_accounts(&sync);
    assert_eq!(remote.len(), 3, "{remote:?}");
    assert_eq!(remote[0]["Name"], "Acme");
    assert_eq!(remote[0]["Industry"], "Energy");
    assert_eq!(remote[1]["AnnualRevenue"].as_f64(), Some(98000000.5));
    assert_eq!(remote[2]["Industry"], Value::Null);
    // The new Salesforce ids were written back into sf_id ...
    let ids = local_ids(&mut db);
    for ((name, sf_id), record) in ids.iter().zip(&remote) {
        assert_eq!(record["Name"].as_str(), Some(name.as_str()));
        assert_eq!(sf_id.as_deref(), record["Id"].as_str());
    }
    // ... without being captured again (no echo).
    assert_eq!(outbox_rows(&mut db), 0);
    let calls = sync.remote.calls("collections");

    db.batch_execute("UPDATE accounts SET industry_type = 'Media' WHERE account_name = 'Acme'")
        .unwrap();
    db.batch_execute("DELETE FROM accounts WHERE account_name = 'Initech'")
        .unwrap();
    // An update that changes no mapped column records nothing.
    db.batch_execute("UPDATE accounts SET last_sync = now()")
        .unwrap();
    sync.wait_idle(&mut db);
    // This two-way sync reads a record back before updating it (to merge a change made in
    // Salesforce meanwhile): a retrieve and an update, then one delete.
    assert_eq!(sync.remote.calls("collections") - calls, 3);
    let remote = remote_accounts(&sync);
    assert_eq!(remote[0]["Industry"], "Media");
    assert_eq!(remote[2]["Name"], "Initech");
    assert_eq!(remote[2]["IsDeleted"], true);

    // A burst on one record inside one transaction never reaches Salesforce at all.
    let calls = sync.remote.calls("collections");
    db.batch_execute(
        "BEGIN; INSERT INTO accounts (account_name) VALUES ('Flash'); \
         UPDATE accounts SET industry_type = 'Gone' WHERE account_name = 'Flash'; \
         DELETE FROM accounts WHERE account_name = 'Flash'; COMMIT;",
    )
    .unwrap();
    sync.wait_idle(&mut db);
    assert_eq!(sync.remote.calls("collections"), calls);

    // Separate commits of one record while the sync is paused coalesce into one create.
    db.batch_execute("SELECT hubsync.pause_sync('SF_Postgres_Accounts')")
        .unwrap();
    db.batch_execute("INSERT INTO accounts (account_name) VALUES ('Hooli')")
        .unwrap();
    db.batch_execute("UPDATE accounts SET industry_type = 'Tech' WHERE account_name = 'Hooli'")
        .unwrap();
    db.batch_execute("UPDATE accounts SET annual_revenue = 42 WHERE account_name = 'Hooli'")
        .unwrap();
    assert_eq!(outbox_rows(&mut db), 3);
    db.batch_execute("SELECT hubsync.resume_sync('SF_Postgres_Accounts')")
        .unwrap();
    sync.wait_idle(&mut db);
    assert_eq!(
        sync.remote.calls("collections") - calls,
        1,
        "one create for three changes"
    );
    assert!(remote_accounts(&sync).iter().all(|r| r["Name"] != "Flash"));
    let hooli: Vec<Value> = remote_accounts(&sync)
        .into_iter()
        .filter(|r| r["Name"] == "Hooli")
        .collect();
    assert_eq!(hooli.len(), 1);
    assert_eq!(hooli[0]["Industry"], "Tech");
    assert_eq!(hooli[0]["AnnualRevenue"].as_f64(), Some(42.0));

    let status = db
        .query_one(
            "SELECT pushed, push_failed, backlog, connection_state FROM hubsync.status",
            &[],
        )
        .unwrap();
    assert_eq!(status.get::<_, i64>(0), 6);
    assert_eq!(status.get::<_, i64>(1), 0);
    assert_eq!(status.get::<_, i64>(2), 0);
    assert_eq!(status.get::<_, String>(3), "ok");
}

#[test]
fn ten_thousand_rows_in_one_transaction_take_at_most_51_calls() {
    let sync = accounts_sync("push-bulk", &[], json!({}));
    let mut db = sync.db();
    db.batch_execute(
        "INSERT INTO accounts (account_name, industry_type, annual_revenue) \
         SELECT 'Bulk ' || i, 'Industry ' || (i % 7), i * 1.25 FROM generate_series(1, 10000) i",
    )
    .unwrap();
    sync.wait_idle(&mut db);
    // 50 collection calls of 200 records, plus the describe before the first push (the
    // sync's pulls are queries, counted apart).
    assert_eq!(sync.remote.calls("collections"), 50);
    assert_eq!(sync.remote.calls("describe"), 1);
    // hubsync.status counts the sync's own calls as soon as they settle: at least these 51,
    // at most everything the org saw (pull queries come and go meanwhile).
    let counted: i64 = db
        .query_one(
            "SELECT api_calls FROM hubsync.status WHERE name = $1",
            &[&sync.name],
        )
        .unwrap()
        .get(0);
    let org_used = sync.remote.admin("GET", "counters", None)["apiUsage"]["used"]
        .as_i64()
        .unwrap_or_default();
    assert!(
        (51..=org_used).contains(&counted),
        "status counted {counted} calls; the org saw {org_used}"
    );
    let count = sync.remote.query("SELECT Id FROM Account", false).len();
    assert_eq!(count, 10_000);
    let missing: i64 = scalar(&mut db, "SELECT count(*) FROM accounts WHERE sf_id IS NULL");
    assert_eq!(missing, 0);
}
