//! The mapping engine end to end: the brief's validation rules on a Contact sync, field
//! selection keeping a column home, exact numbers both ways, and index recommendations.

use hubsync_core::config::merge_patch;
use hubsync_e2e::{
    accounts_sync, fast_polling, fixture_sync, fixtures, scalar, wait_for_value, Remote, CLIENT_ID,
    CLIENT_SECRET,
};
use serde_json::{json, Value};
use std::time::Duration;

const PATIENCE: Duration = Duration::from_secs(60);

fn customers_sync(name: &str) -> hubsync_e2e::AccountsSync {
    let brief_rules = fixtures::json("brief/10_validation_rules.json");
    fixture_sync(
        Remote::start(),
        name,
        &[],
        &fixtures::text("tables/customers.sql"),
        fixtures::json("bases/customers.json"),
        merge_patch(&brief_rules, &fast_polling()),
    )
}

#[test]
fn the_briefs_validation_rules_standardize_phones_and_reject_bad_emails() {
    let sync = customers_sync("validation-rules");
    let mut db = sync.db();
    db.batch_execute(
        "INSERT INTO customers (full_name, email, phone, client_id) VALUES \
         ('Good', 'ada@example.com', '(415) 555-2671', 'internal-1'), \
         ('Bad email', 'not-an-email', '+14155550000', 'internal-2'), \
         ('Bad phone', 'bob@example.com', 'call me maybe', 'internal-3')",
    )
    .unwrap();
    sync.wait_idle(&mut db);
    let remote = sync
        .remote
        .query("SELECT Id, LastName, Email, Phone FROM Contact", false);
    assert_eq!(remote.len(), 1, "{remote:?}\n{}", sync.diagnostics());
    assert_eq!(remote[0]["LastName"], "Good");
    // standardize_format: the local (415) 555-2671 arrives in E.164.
    assert_eq!(remote[0]["Phone"], "+14155552671");
    // reject_record: the bad e-mail is parked with the rule named; so is the phone that
    // cannot be standardised.
    let review: Vec<(String, String)> = db
        .query(
            "SELECT error_code, error_message FROM hubsync.review_queue ORDER BY error_code",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(review.len(), 2, "{review:?}");
    assert_eq!(review[0].0, "email_format");
    assert!(review[0].1.contains("email"), "{:?}", review[0]);
    assert!(
        review[1].0 == "regex" || review[1].0 == "format_phone",
        "{:?}",
        review[1]
    );

    // The unmapped column never leaves the database: it is not even captured.
    db.batch_execute("UPDATE customers SET client_id = 'changed' WHERE full_name = 'Good'")
        .unwrap();
    let outbox: i64 = scalar(&mut db, "SELECT count(*) FROM hubsync.outbox");
    assert_eq!(outbox, 0);
    let captured: i64 = scalar(
        &mut db,
        "SELECT count(*) FROM hubsync.record_state WHERE base ? 'client_id'",
    );
    assert_eq!(captured, 0);

    // Pulled values pass the same rules: a remote phone is standardised locally too.
    let id = remote[0]["Id"].as_str().unwrap();
    sync.remote.write(
        "PATCH",
        "Contact",
        Some(id),
        json!({"Phone": "+1 415-555-0199"}),
    );
    let phone = "SELECT phone FROM customers WHERE full_name = 'Good'";
    wait_for_value(
        PATIENCE,
        "the remote phone pulled",
        &mut db,
        phone,
        |p: &String| p == "+14155550199",
    );
}

#[test]
fn revenue_survives_round_trips_exactly_and_indexes_are_recommended() {
    let sync = accounts_sync("exact-numbers", &[], fast_polling());
    let mut db = sync.db();
    db.batch_execute(
        "INSERT INTO accounts (account_name, annual_revenue) VALUES ('Big', 12345678901234.56)",
    )
    .unwrap();
    sync.wait_idle(&mut db);
    let id: String = scalar(&mut db, "SELECT sf_id FROM accounts");
    let remote = sync.remote.query(
        &format!("SELECT AnnualRevenue FROM Account WHERE Id = '{id}'"),
        false,
    );
    assert_eq!(
        remote[0]["AnnualRevenue"].to_string().replace("e+", "E"),
        "1.234567890123456E13"
    );
    // A change in Salesforce comes back exact, to the cent. (Salesforce's JSON carries
    // currency as a double: beyond ~15 significant digits no client can read it exactly.)
    let exact: Value = serde_json::from_str(r#"{"AnnualRevenue": 9876543210987.65}"#).unwrap();
    sync.remote.write("PATCH", "Account", Some(&id), exact);
    let revenue = "SELECT annual_revenue::text FROM accounts";
    wait_for_value(
        PATIENCE,
        "the new revenue pulled",
        &mut db,
        revenue,
        |r: &String| r == "9876543210987.65",
    );

    // The brief's table already has its unique sf_id index; the recommendation says so by
    // staying empty, and names what is missing once the index is gone.
    let recommended = |db: &mut postgres::Client| -> Vec<String> {
        db.query("SELECT hubsync.recommend_indexes($1)", &[&sync.name])
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect()
    };
    assert!(recommended(&mut db).iter().all(|s| !s.contains("(sf_id)")));
    db.batch_execute(
        "ALTER TABLE accounts DROP CONSTRAINT accounts_sf_id_key; DROP INDEX idx_accounts_sf_id",
    )
    .unwrap();
    let statements = recommended(&mut db);
    assert!(
        statements
            .iter()
            .any(|s| s.starts_with("CREATE UNIQUE INDEX") && s.contains("(sf_id)")),
        "{statements:?}"
    );
}

#[test]
fn create_sync_checks_the_mapping_against_salesforce_when_it_can_reach_it() {
    let remote = Remote::start();
    let cluster = hubsync_e2e::Cluster::start("describe-check", &[]);
    let mut db = cluster.client();
    db.batch_execute(&fixtures::text("tables/accounts.sql"))
        .unwrap();
    let mut config = fixtures::json("bases/accounts_full.json");
    config["source"]["credentials"] = json!({
        "instance_url": remote.url(),
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET
    });
    config["field_mappings"][2]["source"] = json!("Industry_Typo__c");
    let refused = db
        .query_one("SELECT hubsync.create_sync($1)", &[&config])
        .expect_err("a field Salesforce does not have");
    let db_error = refused.as_db_error().expect("a server error");
    assert_eq!(db_error.code().code(), "42703");
    assert!(
        db_error.message().contains("field_mappings[2]"),
        "{}",
        db_error.message()
    );
    assert!(
        db_error.message().contains("Industry_Typo__c"),
        "{}",
        db_error.message()
    );
    let syncs: i64 = scalar(&mut db, "SELECT count(*) FROM hubsync.sync");
    assert_eq!(syncs, 0, "nothing half-created");

    // Fixed, it is accepted; pointed at a Salesforce that is down, it is accepted with a
    // notice and the worker checks later.
    config["field_mappings"][2]["source"] = json!("Industry");
    db.execute("SELECT hubsync.create_sync($1)", &[&config])
        .unwrap();
    config["connection_name"] = json!("Down");
    config["source"]["credentials"]["instance_url"] = json!("http://127.0.0.1:9");
    let notices = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = notices.clone();
    let mut observed = cluster
        .config_as(hubsync_e2e::DATABASE, "postgres")
        .notice_callback(move |n| seen.lock().unwrap().push(n.message().to_string()))
        .connect(postgres::NoTls)
        .unwrap();
    observed
        .execute("CREATE TABLE accounts2 (LIKE accounts INCLUDING ALL)", &[])
        .unwrap();
    config["target"]["table"] = json!("accounts2");
    observed
        .execute("SELECT hubsync.create_sync($1)", &[&config])
        .unwrap();
    let notices = notices.lock().unwrap();
    assert!(
        notices
            .iter()
            .any(|n| n.contains("could not check the mapping")),
        "{notices:?}"
    );
}
