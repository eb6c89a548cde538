//! The Zendesk connector against the emulator over real sockets: both ways to sign in,
//! the describe with custom fields, every write path (plain requests, bulk jobs polled to
//! completion, create_or_update) with per-item failures, a lost answer resent without a
//! duplicate, 429 classification, the full load, incremental exports with deletions and
//! a durable cursor, retrieve and find.

mod common;

use hubsync_core::config::{parse_zendesk_secret, SystemKind, ZendeskSecret};
use hubsync_core::connector::{
    connect, Change, Connector, Endpoint, Options, ReadFrom, Record, Timeouts, Write,
};
use hubsync_core::net::Network;
use hubsync_core::retry::Class;
use hubsync_core::timestamp::Timestamp;
use hubsync_emulator::{start_zendesk, RunningEmulator, ZendeskOptions};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

const SCHEMA: &str = include_str!("../../emulator/examples/zendesk-schema.json");
const EMAIL: &str = "agent@hubsync.test";
const API_TOKEN: &str = "zd-token-6b1e0f";
const OAUTH_TOKEN: &str = "zd-oauth-93aa1c";

/// An emulated Zendesk account plus a plain HTTP agent for its admin API.
struct Account {
    emulator: RunningEmulator,
    admin: ureq::Agent,
}

impl Account {
    /// The test account: exports see changes at once (no one-minute lag) and are not
    /// rate-limited unless a test says so.
    fn start() -> Account {
        let emulator = start_zendesk(ZendeskOptions {
            email: EMAIL.into(),
            api_token: API_TOKEN.into(),
            oauth_token: OAUTH_TOKEN.into(),
            export_lag_secs: 0,
            export_rate_limit: 100_000,
            rate_limit: 100_000,
            job_delay: Duration::from_millis(20),
            schema_json: Some(SCHEMA.into()),
            ..ZendeskOptions::default()
        })
        .expect("emulator starts");
        Account {
            emulator,
            admin: ureq::AgentBuilder::new().build(),
        }
    }

    /// Calls `/__emulator/<path>` and returns its JSON answer.
    fn admin(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        common::admin::call(&self.admin, self.emulator.url(), method, path, body)
    }

    /// Exactly the next `next` requests of `endpoint` meet `kind`.
    fn fault(&self, endpoint: &str, kind: &str, next: u32, extra: Value) {
        let mut rule = json!({"endpoint": endpoint, "kind": kind, "next": next});
        rule.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        self.admin("PUT", "faults", Some(json!({"rules": [rule]})));
    }

    /// The connector as the worker builds it, from the stored credentials JSON.
    fn connector_with(&self, secret: Value) -> Arc<dyn Connector> {
        let endpoint = Endpoint {
            system: SystemKind::Zendesk,
            instance_url: Some(self.emulator.url().to_string()),
            account_id: None,
            login_url: None,
            api_version: String::new(),
        };
        let options = Options {
            parallelism: 2,
            timeouts: Timeouts {
                connect: Duration::from_secs(5),
                read: Duration::from_secs(30),
            },
            network: Network::default(),
            client_name: "hubsync-test".into(),
        };
        connect(&endpoint, &secret, options).expect("a connector")
    }

    fn connector(&self) -> Arc<dyn Connector> {
        self.connector_with(json!({"email": EMAIL, "api_token": API_TOKEN}))
    }

    /// Every stored record of `kind` (`organizations` / `users`), deleted users included.
    fn stored(&self, kind: &str) -> Vec<Value> {
        let answer = self.admin("GET", &format!("records/{kind}"), None);
        match answer {
            Value::Array(items) => items,
            other => other[kind].as_array().cloned().unwrap_or_default(),
        }
    }

    /// Moves the emulator's clock, so later changes fall in later seconds.
    fn advance(&self, seconds: u64) {
        self.admin("POST", "clock", Some(json!({"advanceSeconds": seconds})));
    }
}

fn record(v: Value) -> Record {
    v.as_object().unwrap().clone()
}

fn ids(results: &[hubsync_core::connector::SaveResult]) -> Vec<String> {
    results
        .iter()
        .map(|r| {
            assert!(r.success, "{r:?}");
            r.id.clone().unwrap()
        })
        .collect()
}

/// Every change of a read, following `more` to the end; and the last page's `resume`.
fn read_all(zd: &dyn Connector, object: &str, from: ReadFrom) -> (Vec<Change>, Option<String>) {
    let mut changes = Vec::new();
    let mut from = from;
    loop {
        let page = zd.read(object, &[], &from).expect("a page");
        changes.extend(page.changes);
        match page.more {
            Some(link) => from = ReadFrom::More(link),
            None => return (changes, page.resume),
        }
    }
}

fn since_epoch() -> ReadFrom {
    ReadFrom::ChangedSince {
        since: Timestamp::from_millis(0),
        cursor: None,
    }
}

#[test]
fn signs_in_with_an_api_token_or_oauth_and_refuses_bad_credentials_without_echo() {
    let account = Account::start();
    account.connector().sign_in().expect("API token");
    account
        .connector_with(json!({"access_token": OAUTH_TOKEN}))
        .sign_in()
        .expect("OAuth");
    let bad = account
        .connector_with(json!({"email": EMAIL, "api_token": "wrong-token-123"}))
        .sign_in()
        .unwrap_err();
    assert_eq!(bad.class(), Class::Auth);
    assert_eq!(bad.status, Some(401));
    assert!(
        bad.to_string().contains("Couldn't authenticate you"),
        "{bad}"
    );
    assert!(!format!("{bad} {bad:?}").contains("wrong-token-123"));
    assert!(matches!(
        parse_zendesk_secret(&json!({"access_token": "x"})),
        Ok(ZendeskSecret::OAuth { .. })
    ));
}

#[test]
fn describes_standard_attributes_and_the_accounts_custom_fields() {
    let account = Account::start();
    let zd = account.connector();
    let orgs = zd.describe("Organization").unwrap();
    use hubsync_core::connector::FieldType;
    let kind =
        |d: &hubsync_core::connector::ObjectDescribe, f: &str| d.field(f).unwrap().field_type;
    assert_eq!(kind(&orgs, "id"), FieldType::Id);
    assert_eq!(kind(&orgs, "tier"), FieldType::Picklist);
    assert_eq!(kind(&orgs, "seats"), FieldType::Long);
    assert_eq!(kind(&orgs, "renewal"), FieldType::Date);
    assert!(orgs.field("external_id").unwrap().external_id);
    let users = zd.describe("User").unwrap();
    assert_eq!(kind(&users, "organization_id"), FieldType::Reference);
    assert_eq!(kind(&users, "vip"), FieldType::Boolean);
    assert_eq!(kind(&users, "employee_code"), FieldType::String);
    let e = zd.describe("Ticket").unwrap_err();
    assert_eq!(e.class(), Class::Permanent);
}

#[test]
fn writes_single_records_and_bulk_jobs_with_results_in_input_order() {
    let account = Account::start();
    let zd = account.connector();
    // One record: a plain POST; then custom fields and references round-trip.
    let one = zd
        .write(
            "Organization",
            Write::Create(&[record(
                json!({"name": "Solo", "tier": "gold", "tags": "a;b"}),
            )]),
        )
        .unwrap();
    let solo = ids(&one)[0].clone();
    // Several: a create_many job, one failing (a taken name) in the middle.
    let batch = [
        record(json!({"name": "Alpha"})),
        record(json!({"name": "Solo"})),
        record(json!({"name": "Gamma", "seats": 12})),
    ];
    let results = zd.write("Organization", Write::Create(&batch)).unwrap();
    assert_eq!(results.len(), 3);
    assert!(results[0].success && results[2].success);
    assert!(!results[1].success);
    assert_eq!(results[1].errors[0].status_code, "OrganizationCreateFailed");
    assert!(
        results[1].errors[0].message.contains("already been taken"),
        "{:?}",
        results[1]
    );
    let (alpha, gamma) = (
        results[0].id.clone().unwrap(),
        results[2].id.clone().unwrap(),
    );

    // A user referencing an organization: the id goes as text and comes back as text.
    let user = zd
        .write(
            "User",
            Write::Create(&[record(json!({"name": "Jo", "organization_id": alpha}))]),
        )
        .unwrap();
    let jo = ids(&user)[0].clone();
    let got = zd
        .retrieve("User", &[&jo], &["organization_id", "name"])
        .unwrap();
    assert_eq!(got[0].as_ref().unwrap()["organization_id"], json!(alpha));
    let got = zd
        .retrieve("Organization", &[&solo, "1", &gamma], &[])
        .unwrap();
    let solo_now = got[0].as_ref().unwrap();
    assert_eq!(
        (solo_now["tier"].clone(), solo_now["tags"].clone()),
        (json!("gold"), json!(["a", "b"]))
    );
    assert!(got[1].is_none());
    assert_eq!(got[2].as_ref().unwrap()["seats"], 12);

    // Updates: one PUT, then an update_many job with a record that does not exist.
    let update = zd
        .write(
            "Organization",
            Write::Update(&[(solo.clone(), record(json!({"notes": "n1"})))]),
        )
        .unwrap();
    assert!(update[0].success);
    let updates = [
        (alpha.clone(), record(json!({"notes": "n2"}))),
        ("999999999".to_string(), record(json!({"notes": "n3"}))),
        (gamma.clone(), record(json!({"notes": "n4"}))),
    ];
    let results = zd.write("Organization", Write::Update(&updates)).unwrap();
    assert!(results[0].success && results[2].success);
    assert_eq!(results[1].errors[0].status_code, "RecordNotFound");
    let missing = zd
        .write(
            "Organization",
            Write::Update(&[("999999999".into(), record(json!({"notes": "x"})))]),
        )
        .unwrap();
    assert_eq!(missing[0].errors[0].status_code, "RecordNotFound");
    let notes: Vec<Value> = zd
        .retrieve("Organization", &[&solo, &alpha, &gamma], &["notes"])
        .unwrap()
        .into_iter()
        .map(|r| r.unwrap()["notes"].clone())
        .collect();
    assert_eq!(notes, [json!("n1"), json!("n2"), json!("n4")]);

    // Deletes: one, then a destroy_many job including the one already gone.
    assert!(
        zd.write("Organization", Write::Delete(std::slice::from_ref(&solo)))
            .unwrap()[0]
            .success
    );
    let results = zd
        .write(
            "Organization",
            Write::Delete(&[alpha.clone(), solo.clone(), gamma.clone()]),
        )
        .unwrap();
    assert!(results.iter().all(|r| r.success), "{results:?}");
    assert!(zd.write("Organization", Write::Delete(&[solo])).unwrap()[0].success);
    assert!(zd
        .retrieve("Organization", &[&alpha, &gamma], &[])
        .unwrap()
        .iter()
        .all(Option::is_none));
    // A soft-deleted user no longer exists for the engine.
    assert!(
        zd.write("User", Write::Delete(std::slice::from_ref(&jo)))
            .unwrap()[0]
            .success
    );
    assert!(zd.retrieve("User", &[&jo], &[]).unwrap()[0].is_none());

    // More than a bulk call takes is refused before sending.
    let many: Vec<Record> = (0..101)
        .map(|i| record(json!({"name": format!("o{i}")})))
        .collect();
    let e = zd.write("Organization", Write::Create(&many)).unwrap_err();
    assert_eq!((e.class(), e.status), (Class::Permanent, None));
}

#[test]
fn creates_with_a_match_key_are_upserts_that_never_duplicate() {
    let account = Account::start();
    let zd = account.connector();
    let orgs: Vec<Record> = (0..3)
        .map(|i| record(json!({"name": format!("Org {i}"), "external_id": format!("crm-{i}")})))
        .collect();
    let first = zd.write("Organization", Write::Create(&orgs)).unwrap();
    assert!(first.iter().all(|r| r.created == Some(true)), "{first:?}");
    // The same creates again (as after a lost answer): matched, updated, not duplicated.
    let again = zd.write("Organization", Write::Create(&orgs)).unwrap();
    assert_eq!(ids(&again), ids(&first));
    assert!(again.iter().all(|r| r.created == Some(false)), "{again:?}");
    // One record: create_or_update, 201 then 200.
    let single = [record(
        json!({"name": "Single", "external_id": "crm-single"}),
    )];
    let a = zd.write("Organization", Write::Create(&single)).unwrap();
    let b = zd.write("Organization", Write::Create(&single)).unwrap();
    assert_eq!((a[0].created, b[0].created), (Some(true), Some(false)));
    assert_eq!(a[0].id, b[0].id);
    assert_eq!(account.stored("organizations").len(), 4);

    // Users match by external_id, then email: create_or_update_many.
    let users: Vec<Record> = (0..3)
        .map(|i| record(json!({"name": format!("U{i}"), "email": format!("u{i}@x.test")})))
        .collect();
    let first = zd
        .write(
            "User",
            Write::Upsert {
                external_id: "email",
                records: &users,
            },
        )
        .unwrap();
    let again = zd.write("User", Write::Create(&users)).unwrap();
    assert_eq!(ids(&again), ids(&first));
    assert_eq!(account.stored("users").len(), 3);
    let e = zd
        .write(
            "Organization",
            Write::Upsert {
                external_id: "name",
                records: &orgs,
            },
        )
        .unwrap_err();
    assert!(e.to_string().contains("external_id"), "{e}");
}

#[test]
fn a_lost_answer_is_classified_by_whether_resending_is_safe_and_an_upsert_resent_duplicates_nothing(
) {
    let account = Account::start();
    let zd = account.connector();
    // The job is accepted and runs; the answer to its poll is lost (twice: the HTTP
    // agent resends a GET once by itself when a pooled connection drops).
    let orgs: Vec<Record> = (0..5)
        .map(|i| record(json!({"name": format!("Lost {i}"), "external_id": format!("lost-{i}")})))
        .collect();
    account.fault("job_statuses", "drop", 2, json!({}));
    let e = zd.write("Organization", Write::Create(&orgs)).unwrap_err();
    assert_eq!(
        e.class(),
        Class::Retryable,
        "an upsert is safe to resend: {e}"
    );
    let resent = zd.write("Organization", Write::Create(&orgs)).unwrap();
    assert!(resent.iter().all(|r| r.success), "{resent:?}");
    assert_eq!(account.stored("organizations").len(), 5, "no duplicate");

    // The same loss on plain creates (no key): their outcome is unknown.
    let plain: Vec<Record> = (0..2)
        .map(|i| record(json!({"name": format!("Plain {i}")})))
        .collect();
    account.fault("job_statuses", "drop", 2, json!({}));
    let e = zd.write("Organization", Write::Create(&plain)).unwrap_err();
    assert_eq!(e.class(), Class::UnknownOutcome, "{e}");
    // A single plain create whose connection drops.
    account.fault("write", "drop", 1, json!({}));
    let e = zd
        .write(
            "Organization",
            Write::Create(&[record(json!({"name": "Dropped"}))]),
        )
        .unwrap_err();
    assert_eq!(e.class(), Class::UnknownOutcome, "{e}");
}

#[test]
fn rate_limits_and_server_errors_are_classified_with_retry_after() {
    let account = Account::start();
    let zd = account.connector();
    account.fault("all", "rate_limited", 1, json!({"retry_after_secs": 7}));
    let e = zd
        .read("Organization", &[], &ReadFrom::Everything)
        .unwrap_err();
    assert_eq!((e.class(), e.status), (Class::RateLimited, Some(429)));
    assert!(e.to_string().contains("Retry-After: 7 s"), "{e}");
    account.fault("write", "unavailable", 1, json!({}));
    let e = zd
        .write(
            "Organization",
            Write::Update(&[("1".into(), record(json!({"notes": "x"})))]),
        )
        .unwrap_err();
    assert_eq!((e.class(), e.status), (Class::Retryable, Some(503)));
    account.fault("bulk", "server_error", 1, json!({}));
    let two: Vec<Record> = (0..2)
        .map(|i| record(json!({"name": format!("S{i}")})))
        .collect();
    let e = zd.write("Organization", Write::Create(&two)).unwrap_err();
    assert_eq!(
        e.class(),
        Class::UnknownOutcome,
        "a create answered 500: {e}"
    );
    // Nothing was left half-done: the same batch goes through afterwards.
    assert!(zd
        .write("Organization", Write::Create(&two))
        .unwrap()
        .iter()
        .all(|r| r.success));

    // The exports' own limit.
    let limited = start_zendesk(ZendeskOptions {
        email: EMAIL.into(),
        api_token: API_TOKEN.into(),
        export_lag_secs: 0,
        export_rate_limit: 1,
        ..ZendeskOptions::default()
    })
    .unwrap();
    let account = Account {
        emulator: limited,
        admin: ureq::AgentBuilder::new().build(),
    };
    let zd = account.connector();
    zd.write(
        "User",
        Write::Create(&[record(json!({"name": "Ex", "email": "ex@x.test"}))]),
    )
    .unwrap();
    let first = zd
        .read("User", &[], &since_epoch())
        .expect("the first export call");
    assert_eq!(first.changes.len(), 1);
    // Over the export limit: nothing read and the cursor unchanged, but no error that
    // would pause the whole connection (pushes go on); and no request until Retry-After.
    for _ in 0..2 {
        let held = zd
            .read("User", &[], &since_epoch())
            .expect("held back, not failed");
        assert!(held.changes.is_empty() && held.more.is_none() && held.resume.is_none());
    }
    let counters = account.admin("GET", "counters", None);
    assert_eq!(counters["requestsByStatus"]["429"], 1, "{counters}");
}

#[test]
fn a_full_load_pages_through_every_live_record() {
    let account = Account::start();
    let orgs: Vec<Value> = (0..150)
        .map(|i| json!({"name": format!("Load {i:03}")}))
        .collect();
    account.admin("POST", "load", Some(json!({"organizations": orgs})));
    let zd = account.connector();
    let page = zd
        .read("Organization", &["name"], &ReadFrom::Everything)
        .unwrap();
    assert_eq!(page.changes.len(), 100);
    assert!(page.more.is_some());
    assert_eq!(page.resume, None);
    let first = &page.changes[0];
    assert!(!first.deleted && first.modified.is_some());
    let keys: BTreeSet<&str> = first.record.keys().map(String::as_str).collect();
    assert_eq!(keys, BTreeSet::from(["id", "name", "updated_at"]));
    let (all, _) = read_all(&*zd, "Organization", ReadFrom::Everything);
    let names: BTreeSet<String> = all
        .iter()
        .map(|c| c.record["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names.len(), 150);
}

#[test]
fn organization_exports_bring_changes_and_deletions_and_resume_at_their_end_time() {
    let account = Account::start();
    let zd = account.connector();
    let orgs: Vec<Record> = (0..3)
        .map(|i| record(json!({"name": format!("E{i}")})))
        .collect();
    let created = ids(&zd.write("Organization", Write::Create(&orgs)).unwrap());
    let (changes, resume) = read_all(&*zd, "Organization", since_epoch());
    let seen: BTreeSet<&str> = changes.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(seen.len(), 3);
    assert!(changes.iter().all(|c| !c.deleted));
    let resume = resume.expect("a durable cursor");

    // Later: one update and one delete, in a later second.
    account.advance(5);
    zd.write(
        "Organization",
        Write::Update(&[(created[0].clone(), record(json!({"notes": "later"})))]),
    )
    .unwrap();
    zd.write("Organization", Write::Delete(&[created[1].clone()]))
        .unwrap();
    let from = ReadFrom::ChangedSince {
        since: Timestamp::from_millis(0),
        cursor: Some(resume),
    };
    let (changes, resume2) = read_all(&*zd, "Organization", from);
    let by_id = |id: &str| changes.iter().find(|c| c.id == id).unwrap();
    assert_eq!(by_id(&created[0]).record["notes"], "later");
    assert!(by_id(&created[1]).deleted);
    // The second the previous read ended at comes again (Zendesk never splits one):
    // harmless, as applying a change twice changes nothing; no record twice in a page.
    let unique: BTreeSet<&str> = changes.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(unique.len(), changes.len());
    assert!(resume2.unwrap().parse::<i64>().is_ok());
}

#[test]
fn user_exports_continue_after_their_cursor_with_soft_deletes() {
    let account = Account::start();
    let zd = account.connector();
    let users: Vec<Record> = (0..3)
        .map(|i| record(json!({"name": format!("C{i}"), "email": format!("c{i}@x.test")})))
        .collect();
    let created = ids(&zd.write("User", Write::Create(&users)).unwrap());
    let (changes, resume) = read_all(&*zd, "User", since_epoch());
    assert!(created.iter().all(|id| changes.iter().any(|c| &c.id == id)));
    let cursor = resume.expect("after_cursor");

    // Nothing new: the cursor stays usable and gives nothing.
    let from = |cursor: &str| ReadFrom::ChangedSince {
        since: Timestamp::from_millis(0),
        cursor: Some(cursor.to_string()),
    };
    let (none, same) = read_all(&*zd, "User", from(&cursor));
    assert!(none.is_empty(), "{none:?}");
    let cursor = same.unwrap_or(cursor);

    account.advance(2);
    zd.write("User", Write::Delete(&[created[2].clone()]))
        .unwrap();
    zd.write(
        "User",
        Write::Update(&[(created[0].clone(), record(json!({"name": "C0 renamed"})))]),
    )
    .unwrap();
    let (changes, _) = read_all(&*zd, "User", from(&cursor));
    assert_eq!(
        changes.len(),
        2,
        "only what changed after the cursor: {changes:?}"
    );
    assert!(changes.iter().any(|c| c.id == created[2] && c.deleted));
    assert!(changes
        .iter()
        .any(|c| c.id == created[0] && c.record["name"] == "C0 renamed"));
}

#[test]
fn finds_records_by_natural_key() {
    let account = Account::start();
    let zd = account.connector();
    let org = ids(&zd
        .write(
            "Organization",
            Write::Create(&[record(json!({"name": "Findable", "external_id": "F-1"}))]),
        )
        .unwrap())[0]
        .clone();
    let user = ids(&zd
        .write(
            "User",
            Write::Create(&[record(
                json!({"name": "Finn", "email": "finn@x.test", "external_id": "u-1"}),
            )]),
        )
        .unwrap())[0]
        .clone();
    let key = |pairs: &[(&str, Value)]| -> Vec<(String, Value)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    };
    assert_eq!(
        zd.find("Organization", &key(&[("external_id", json!("f-1"))]))
            .unwrap(),
        vec![org.clone()]
    );
    assert_eq!(
        zd.find("Organization", &key(&[("name", json!("Findable"))]))
            .unwrap(),
        vec![org.clone()]
    );
    assert_eq!(
        zd.find("User", &key(&[("email", json!("FINN@x.test"))]))
            .unwrap(),
        vec![user.clone()]
    );
    assert_eq!(
        zd.find(
            "User",
            &key(&[("external_id", json!("u-1")), ("name", json!("Finn"))])
        )
        .unwrap(),
        vec![user.clone()]
    );
    assert!(zd
        .find(
            "User",
            &key(&[
                ("external_id", json!("u-1")),
                ("name", json!("Someone else"))
            ])
        )
        .unwrap()
        .is_empty());
    assert!(zd
        .find("Organization", &key(&[("external_id", json!("none"))]))
        .unwrap()
        .is_empty());
    let e = zd
        .find("Organization", &key(&[("notes", json!("x"))]))
        .unwrap_err();
    assert_eq!(e.class(), Class::Permanent);
    assert!(e.to_string().contains("external_id"), "{e}");
}
