//! Salesforce did the work and the answer was lost: the connection reset, a 500, 502 or
//! 504 in place of the answer, or an answer slower than `hubsync.http_timeout`. The
//! emulator's `*_after` faults commit the write first, so a create sent again blindly
//! would leave a second record. With an External ID the resend is an upsert; with a
//! natural key the record is looked up and adopted; with neither it goes to the review
//! queue. Never a duplicate, never a lost row.

use hubsync_core::config::merge_patch;
use hubsync_e2e::delivery::{assert_exactly_once, insert_rows, linked, push_only, upsert_config};
use hubsync_e2e::{accounts_sync, scalar, AccountsSync};
use postgres::Client;
use serde_json::{json, Value};

/// Each request times out after a second, so a stalled answer is lost quickly.
const SHORT_TIMEOUT: &[(&str, &str)] = &[("hubsync.http_timeout", "'1s'")];

/// One fault of each kind that processes a create and then loses its answer, each for
/// the next matching collections request, in this order.
fn lost_answers() -> Value {
    json!([
        {"endpoint": "collections", "kind": "server_error_after", "next": 1},
        {"endpoint": "collections", "kind": "bad_gateway_after", "next": 1},
        {"endpoint": "collections", "kind": "gateway_timeout_after", "next": 1},
        {"endpoint": "collections", "kind": "drop_after", "next": 1},
        {"endpoint": "collections", "kind": "stall_after", "next": 1, "latency_ms": 5000}
    ])
}

/// Every injected fault fired: each lost answer really happened.
fn assert_all_fired(sync: &AccountsSync) {
    let faults = sync.remote.admin("GET", "faults", None);
    for rule in faults["rules"].as_array().expect("fault rules") {
        assert_eq!(
            rule["fired"],
            1,
            "{rule} did not fire\n{}",
            sync.diagnostics()
        );
    }
}

/// For each lost answer in turn: ten new rows, pushed through it until the outbox drains.
fn push_through_lost_answers(sync: &AccountsSync, db: &mut Client) {
    for (batch, rule) in (0..).zip(lost_answers().as_array().unwrap()) {
        sync.remote.inject(json!([rule]));
        insert_rows(db, batch, 1, 10);
        sync.wait_idle(db);
    }
    assert_all_fired(sync);
}

#[test]
fn lost_answers_to_upserts_are_sent_again_without_duplicates() {
    let sync = accounts_sync("lost-upsert", SHORT_TIMEOUT, upsert_config());
    let mut db = sync.db();
    push_through_lost_answers(&sync, &mut db);
    assert_exactly_once(&sync, &mut db, 50);
}

#[test]
fn lost_answers_to_plain_creates_are_adopted_by_natural_key() {
    let patch = merge_patch(
        &push_only(),
        &json!({"sync_settings": {"natural_key": ["Name"]}}),
    );
    let sync = accounts_sync("lost-natural-key", SHORT_TIMEOUT, patch);
    let mut db = sync.db();
    push_through_lost_answers(&sync, &mut db);
    assert_exactly_once(&sync, &mut db, 50);
    let review: i64 = scalar(&mut db, "SELECT count(*) FROM hubsync.review_queue");
    assert_eq!(review, 0, "{}", sync.diagnostics());
}

#[test]
fn lost_answers_to_plain_creates_without_a_key_go_to_review_not_twice_to_salesforce() {
    let sync = accounts_sync("lost-no-key", SHORT_TIMEOUT, push_only());
    let mut db = sync.db();
    let rules = lost_answers();
    for rule in rules.as_array().unwrap() {
        let kind = rule["kind"].as_str().unwrap();
        sync.remote.inject(json!([rule]));
        db.execute(
            "INSERT INTO accounts (account_name) VALUES ($1)",
            &[&format!("Lost {kind}")],
        )
        .unwrap();
        sync.wait_idle(&mut db);
        let remote = sync.remote.query(
            &format!("SELECT Id FROM Account WHERE Name = 'Lost {kind}'"),
            false,
        );
        assert_eq!(
            remote.len(),
            1,
            "{kind}: created once, never twice\n{}",
            sync.diagnostics()
        );
        let parked: Vec<(String, String)> = db
            .query(
                "SELECT kind, error_message FROM hubsync.review_queue \
                 WHERE payload->>'Name' = $1",
                &[&format!("Lost {kind}")],
            )
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        assert_eq!(parked.len(), 1, "{kind}: parked for a person: {parked:?}");
        let (review_kind, why) = &parked[0];
        assert_eq!(review_kind, "unknown_outcome");
        assert!(why.contains("natural_key"), "{why}");
    }
    assert_all_fired(&sync);
    assert_eq!(linked(&mut db), 0, "nothing was linked by guessing");
    let all = sync.remote.query("SELECT Id FROM Account", false);
    assert_eq!(all.len(), rules.as_array().unwrap().len());
}
