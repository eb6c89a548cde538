//! What the push tests check after a storm: every committed row is in Salesforce exactly
//! once and linked, or parked for review — and the configs and row batches they push.

use crate::{scalar, AccountsSync};
use postgres::Client;
use serde_json::{json, Value};
use std::collections::HashSet;

/// The brief's sync made push-only: it pushes local changes and pulls nothing (so a test
/// sees only what the push did), without the read-only `LastModifiedDate` mapping.
pub fn push_only() -> Value {
    json!({
        "sync_settings": {"sync_type": "one_way", "source_to_target": false, "target_to_source": true},
        "field_mappings": [
            {"source": "Id", "target": "sf_id"},
            {"source": "Name", "target": "account_name"},
            {"source": "Industry", "target": "industry_type"},
            {"source": "AnnualRevenue", "target": "annual_revenue"}
        ]
    })
}

/// [`push_only`] whose creates are upserts by the External ID `Hubsync_Id__c`, holding
/// the local primary key, retried quickly.
pub fn upsert_config() -> Value {
    let mut config = push_only();
    config["field_mappings"]
        .as_array_mut()
        .expect("mappings")
        .push(json!({"source": "Hubsync_Id__c", "target": "id", "external_id": true}));
    config["error_handling"] = json!({"retry_strategy": {"max_attempts": 20, "backoff_factor": 1.5, "initial_delay_seconds": 0.2}});
    config
}

/// Inserts `batches` transactions of `per_batch` uniquely named rows (`Row <batch*1000+i>`),
/// numbering batches from `first`.
pub fn insert_rows(db: &mut Client, first: i32, batches: i32, per_batch: i32) {
    for b in first..first + batches {
        db.execute(
            "INSERT INTO accounts (account_name, industry_type) \
             SELECT 'Row ' || ($1 * 1000 + i), 'Batch ' || $1 FROM generate_series(1, $2) i",
            &[&b, &per_batch],
        )
        .unwrap();
    }
}

/// Local rows that carry their Salesforce id.
pub fn linked(db: &mut Client) -> i64 {
    scalar(db, "SELECT count(*) FROM accounts WHERE sf_id IS NOT NULL")
}

/// Open items in the review queue.
pub fn review_items(db: &mut Client) -> i64 {
    scalar(db, "SELECT count(*) FROM hubsync.review_queue")
}

/// Every local row is in Salesforce exactly once, linked through sf_id.
pub fn assert_exactly_once(sync: &AccountsSync, db: &mut Client, expected: usize) {
    let remote = sync.remote.query("SELECT Id, Name FROM Account", false);
    let names: HashSet<&str> = remote.iter().filter_map(|r| r["Name"].as_str()).collect();
    assert_eq!(
        names.len(),
        remote.len(),
        "duplicate records in Salesforce\n{}",
        sync.diagnostics()
    );
    assert_eq!(
        remote.len(),
        expected,
        "records in Salesforce\n{}",
        sync.diagnostics()
    );
    assert_eq!(
        linked(db) as usize,
        expected,
        "local rows linked to a Salesforce id"
    );
    let ids: HashSet<&str> = remote.iter().filter_map(|r| r["Id"].as_str()).collect();
    for row in db.query("SELECT sf_id FROM accounts", &[]).unwrap() {
        let sf_id: String = row.get(0);
        assert!(ids.contains(sf_id.as_str()), "{sf_id} is not in Salesforce");
    }
}
