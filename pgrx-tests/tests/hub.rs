//! Postgres as the hub: two syncs of one table relay changes to each other. Two Salesforce
//! orgs (two emulators) on the brief's `accounts` table: a change in either org reaches the
//! table and the other org exactly once, and never comes back to where it started; records
//! that exist in both orgs before the hub starts are linked by natural key, not duplicated.

use hubsync_core::config::merge_patch;
use hubsync_e2e::{
    accounts_sync_with, create_pointed_sync, fast_polling, fixtures, next_second, quiet, scalar,
    wait_for_reading, wait_for_value, Remote,
};
use postgres::Client;
use serde_json::json;
use std::time::Duration;

const PATIENCE: Duration = Duration::from_secs(120);

/// Names (and industries) of an org's accounts, sorted.
fn accounts(remote: &Remote) -> Vec<(String, Option<String>)> {
    let mut all: Vec<(String, Option<String>)> = remote
        .query("SELECT Name, Industry FROM Account", false)
        .iter()
        .map(|r| {
            (
                r["Name"].as_str().unwrap_or_default().to_string(),
                r["Industry"].as_str().map(str::to_string),
            )
        })
        .collect();
    all.sort();
    all
}

fn wait_for_accounts(remote: &Remote, org: &str, want: &[(&str, Option<&str>)]) {
    let want: Vec<(String, Option<String>)> = want
        .iter()
        .map(|(n, i)| (n.to_string(), i.map(str::to_string)))
        .collect();
    wait_for_reading(
        PATIENCE,
        &format!("org {org} to hold {want:?}"),
        || accounts(remote),
        |seen| *seen == want,
    );
}

/// Adds org B's id column to the table and a sync of the table to org B (`patch` merged
/// into its config).
fn second_org(db: &mut Client, org_b: &Remote, patch: &serde_json::Value) -> String {
    db.batch_execute("ALTER TABLE accounts ADD COLUMN sf_id_b varchar(18) UNIQUE")
        .unwrap();
    create_pointed_sync(
        db,
        org_b,
        &fixtures::json("bases/accounts_full.json"),
        &merge_patch(
            &merge_patch(&fast_polling(), patch),
            &json!({
                "connection_name": "Org_B",
                "field_mappings": [{"source": "Id", "target": "sf_id_b"},
                                   {"source": "Name", "target": "account_name"},
                                   {"source": "Industry", "target": "industry_type"}]
            }),
        ),
    )
}

#[test]
fn two_orgs_on_one_table_relay_to_each_other_exactly_once() {
    let (org_a, org_b) = (Remote::start(), Remote::start());
    let hub = accounts_sync_with(org_a, "two_orgs", &[], fast_polling());
    let mut db = hub.db();
    let sync_b = second_org(&mut db, &org_b, &json!({}));
    let syncs = [hub.name.as_str(), sync_b.as_str()];

    // Org A → the table → org B.
    hub.remote.write(
        "POST",
        "Account",
        None,
        json!({"Name": "From A", "Industry": "Energy"}),
    );
    wait_for_accounts(&org_b, "B", &[("From A", Some("Energy"))]);
    // Org B → the table → org A.
    org_b.write(
        "POST",
        "Account",
        None,
        json!({"Name": "From B", "Industry": "Retail"}),
    );
    wait_for_accounts(
        &hub.remote,
        "A",
        &[("From A", Some("Energy")), ("From B", Some("Retail"))],
    );
    // A change in B reaches A; a local change reaches both.
    let b_id: String = scalar(
        &mut db,
        "SELECT sf_id_b FROM accounts WHERE account_name = 'From A'",
    );
    org_b.write(
        "PATCH",
        "Account",
        Some(&b_id),
        json!({"Industry": "Solar"}),
    );
    db.batch_execute(
        "INSERT INTO accounts (account_name, industry_type) VALUES ('From the hub', 'Hub')",
    )
    .unwrap();
    let everywhere = [
        ("From A", Some("Solar")),
        ("From B", Some("Retail")),
        ("From the hub", Some("Hub")),
    ];
    wait_for_accounts(&hub.remote, "A", &everywhere);
    wait_for_accounts(&org_b, "B", &everywhere);

    // Quiet: nothing echoed, nothing duplicated, every row linked to one record in each org.
    quiet(&mut db, &syncs);
    assert_eq!(accounts(&hub.remote), accounts(&org_b));
    assert_eq!(accounts(&hub.remote).len(), 3);
    let linked = "SELECT count(*) FROM accounts WHERE sf_id IS NOT NULL AND sf_id_b IS NOT NULL";
    wait_for_value(
        PATIENCE,
        "every row linked twice",
        &mut db,
        linked,
        |n: &i64| *n == 3,
    );
    let rows: i64 = scalar(&mut db, "SELECT count(*) FROM accounts");
    assert_eq!(rows, 3);
    let pending: i64 = scalar(&mut db, "SELECT count(*) FROM hubsync.outbox");
    assert_eq!(pending, 0);
    let conflicts: i64 = scalar(&mut db, "SELECT count(*) FROM hubsync.conflicts");
    assert_eq!(conflicts, 0, "a relay must not look like a conflict");
}

#[test]
fn records_in_both_orgs_before_the_hub_starts_are_linked_not_duplicated() {
    let (org_a, org_b) = (Remote::start(), Remote::start());
    for (org, name, industry) in [
        (&org_a, "Acme", "Energy"),
        (&org_a, "Initech", "Software"),
        (&org_b, "Acme", "Energy"),
        (&org_b, "Globex", "Retail"),
    ] {
        org.write(
            "POST",
            "Account",
            None,
            json!({"Name": name, "Industry": industry}),
        );
    }
    let by_name = json!({"sync_settings": {"natural_key": ["Name"]}});
    let hub = accounts_sync_with(
        org_a,
        "linked_orgs",
        &[],
        merge_patch(&fast_polling(), &by_name),
    );
    let mut db = hub.db();
    let loaded = "SELECT count(*) FROM accounts WHERE sf_id IS NOT NULL";
    wait_for_value(PATIENCE, "org A loaded", &mut db, loaded, |n: &i64| *n == 2);
    let sync_b = second_org(&mut db, &org_b, &by_name);

    let everywhere = [
        ("Acme", Some("Energy")),
        ("Globex", Some("Retail")),
        ("Initech", Some("Software")),
    ];
    wait_for_accounts(&hub.remote, "A", &everywhere);
    wait_for_accounts(&org_b, "B", &everywhere);
    quiet(&mut db, &[hub.name.as_str(), sync_b.as_str()]);
    assert_eq!(accounts(&hub.remote), accounts(&org_b));
    let rows: i64 = scalar(&mut db, "SELECT count(*) FROM accounts");
    assert_eq!(rows, 3, "Acme exists once in the hub");
    let linked: i64 = scalar(
        &mut db,
        "SELECT count(*) FROM accounts WHERE sf_id IS NOT NULL AND sf_id_b IS NOT NULL",
    );
    assert_eq!(linked, 3);
    let reviews: i64 = scalar(&mut db, "SELECT count(*) FROM hubsync.review_queue");
    assert_eq!(reviews, 0);
}

#[test]
fn a_key_matching_several_unlinked_rows_goes_to_review_instead_of_guessing() {
    let (org_a, org_b) = (Remote::start(), Remote::start());
    let by_name = json!({"sync_settings": {"natural_key": ["Name"]}});
    let hub = accounts_sync_with(
        org_a,
        "ambiguous_key",
        &[],
        merge_patch(&fast_polling(), &by_name),
    );
    let mut db = hub.db();
    db.batch_execute(
        "INSERT INTO accounts (account_name, industry_type) VALUES ('Twin', 'A'), ('Twin', 'B')",
    )
    .unwrap();
    let remote_twin = org_b
        .write(
            "POST",
            "Account",
            None,
            json!({"Name": "Twin", "Industry": "C"}),
        )
        .expect("the id of the created account");
    second_org(&mut db, &org_b, &by_name);
    wait_for_value(
        PATIENCE,
        "the ambiguous record in review",
        &mut db,
        "SELECT count(*) FROM hubsync.review_queue WHERE error_code = 'AMBIGUOUS_NATURAL_KEY'",
        |n: &i64| *n == 1,
    );
    let twins: i64 = scalar(
        &mut db,
        "SELECT count(*) FROM accounts WHERE account_name = 'Twin'",
    );
    assert_eq!(twins, 2, "no third Twin was inserted");
    let guessed: i64 = db
        .query_one(
            "SELECT count(*) FROM accounts WHERE sf_id_b = $1",
            &[&remote_twin],
        )
        .unwrap()
        .get(0);
    assert_eq!(guessed, 0, "neither twin was linked to org B's Twin");
}

#[test]
fn a_conflicting_edit_in_both_orgs_goes_to_the_org_the_rule_names() {
    let (org_a, org_b) = (Remote::start(), Remote::start());
    let org_b_wins = json!({"sync_settings": {"conflict_resolution": {
        "strategy": "field_level_priority",
        "field_rules": [{"field": "industry_type", "priority_system": "connection:Org_B"}],
        "default": "last_write_wins"
    }}});
    let hub = accounts_sync_with(
        org_a,
        "rule_names_an_org",
        &[],
        merge_patch(&fast_polling(), &org_b_wins),
    );
    let mut db = hub.db();
    let sync_b = second_org(&mut db, &org_b, &org_b_wins);
    let syncs = [hub.name.as_str(), sync_b.as_str()];
    let a_id = hub
        .remote
        .write(
            "POST",
            "Account",
            None,
            json!({"Name": "Acme", "Industry": "Energy"}),
        )
        .expect("the id of the created account");
    wait_for_accounts(&org_b, "B", &[("Acme", Some("Energy"))]);
    quiet(&mut db, &syncs);
    let b_id: String = scalar(
        &mut db,
        "SELECT sf_id_b FROM accounts WHERE account_name = 'Acme'",
    );

    // Both orgs change the field while hubsync looks away; org A's edit is the later one.
    for sync in syncs {
        db.execute("SELECT hubsync.pause_sync($1)", &[&sync])
            .unwrap();
    }
    org_b.write(
        "PATCH",
        "Account",
        Some(&b_id),
        json!({"Industry": "Edited in B"}),
    );
    next_second();
    hub.remote.write(
        "PATCH",
        "Account",
        Some(&a_id),
        json!({"Industry": "Edited in A"}),
    );
    for sync in syncs {
        db.execute("SELECT hubsync.resume_sync($1)", &[&sync])
            .unwrap();
    }

    let settled = [("Acme", Some("Edited in B"))];
    wait_for_accounts(&hub.remote, "A", &settled);
    wait_for_accounts(&org_b, "B", &settled);
    quiet(&mut db, &syncs);
    assert_eq!(accounts(&hub.remote), accounts(&org_b));
    let local: String = scalar(&mut db, "SELECT industry_type FROM accounts");
    assert_eq!(local, "Edited in B");
    let rules: Vec<String> = db
        .query("SELECT rule FROM hubsync.conflicts", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(
        rules.iter().any(|r| r.contains("wins industry_type")),
        "the rule decided: {rules:?}"
    );
}
