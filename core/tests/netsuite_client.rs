//! The NetSuite connector against the emulator over real sockets: both sign-in methods
//! (and a rejected M2M token renewed once), describe with custom fields, every kind of
//! write with per-record outcomes, an upsert whose answer is lost and is resent without a
//! duplicate, the account's concurrency limit, SuiteQL paging by key with deletions, and
//! lookups by natural key.

mod common;

use hubsync_core::config::{NetsuiteSecret, SystemKind};
use hubsync_core::connector::{
    connect, Change, Connector, Endpoint, FieldType, Options, ReadFrom, Record, SaveResult,
    Timeouts, Write,
};
use hubsync_core::net::Network;
use hubsync_core::netsuite::{ClientConfig, NetsuiteClient};
use hubsync_core::retry::{classify, Class, Operation};
use hubsync_core::timestamp::Timestamp;
use hubsync_emulator::netsuite::{self, Options as NsOptions};
use hubsync_emulator::RunningEmulator;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::sync::Arc;

const SCHEMA: &str = include_str!("../../emulator/examples/netsuite-schema.json");
/// hubsync's test signing key, and the certificate an M2M mapping would hold of it.
const M2M_KEY: &str = include_str!("../src/salesforce/testdata/jwt_test_key.pem");
const M2M_CERTIFICATE: &str = include_str!("../../emulator/tests/data/jwt_test_cert.pem");

/// An emulated account plus a plain HTTP agent for its admin API.
struct Account {
    emulator: RunningEmulator,
    admin: ureq::Agent,
}

impl Account {
    fn start() -> Account {
        let emulator = netsuite::start(NsOptions {
            schema_json: Some(SCHEMA.into()),
            m2m_public_key_pem: Some(M2M_CERTIFICATE.into()),
            ..NsOptions::default()
        })
        .expect("emulator starts");
        Account {
            emulator,
            admin: ureq::AgentBuilder::new().build(),
        }
    }

    fn admin(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        common::admin::call(&self.admin, self.emulator.url(), method, path, body)
    }

    fn fault(&self, kind: &str, next: u32) {
        self.admin(
            "PUT",
            "faults",
            Some(json!({"rules": [{"endpoint": "record", "kind": kind, "next": next}]})),
        );
    }

    fn endpoint(&self) -> Endpoint {
        Endpoint {
            system: SystemKind::Netsuite,
            instance_url: Some(self.emulator.url().to_string()),
            account_id: Some("1234567".into()),
            login_url: None,
            api_version: String::new(),
        }
    }

    /// A connector through the registry, as the worker gets one.
    fn connector(&self, secret: Value, parallelism: usize) -> Arc<dyn Connector> {
        connect(&self.endpoint(), &secret, options(parallelism)).expect("connects")
    }

    fn customers(&self) -> Vec<Value> {
        self.admin("GET", "records/customer", None)["items"]
            .as_array()
            .unwrap()
            .clone()
    }
}

fn options(parallelism: usize) -> Options {
    Options {
        parallelism,
        timeouts: Timeouts::default(),
        network: Network::default(),
        client_name: "hubsync".into(),
    }
}

fn tba() -> Value {
    json!({"consumer_key": "hubsync-demo-consumer-key", "consumer_secret": "hubsync-demo-consumer-secret",
           "token_id": "hubsync-demo-token-id", "token_secret": "hubsync-demo-token-secret"})
}

fn m2m() -> Value {
    json!({"client_id": "hubsync-demo-m2m", "certificate_id": "hubsync-demo-certificate", "private_key": M2M_KEY})
}

fn record(value: Value) -> Record {
    value.as_object().unwrap().clone()
}

fn customer(name: &str) -> Record {
    record(
        json!({"companyName": name, "subsidiary": "1", "email": format!("{}@example.com", name.to_lowercase())}),
    )
}

/// The class of a record's failure, as the worker decides it.
fn class_of(result: &SaveResult, op: Operation) -> Class {
    assert!(!result.success, "{result:?}");
    classify(&result.errors[0].failure(op))
}

/// Every page of a read, following `more`.
fn read_all(c: &dyn Connector, fields: &[&str], from: ReadFrom) -> (Vec<Change>, usize) {
    let mut changes = Vec::new();
    let mut page = c.read("Customer", fields, &from).unwrap();
    let mut pages = 1;
    loop {
        changes.extend(page.changes);
        let Some(more) = page.more else { break };
        page = c.read("Customer", fields, &ReadFrom::More(more)).unwrap();
        pages += 1;
    }
    (changes, pages)
}

#[test]
fn both_sign_ins_work_and_a_rejected_token_is_renewed_once() {
    let account = Account::start();
    for secret in [tba(), m2m()] {
        let c = account.connector(secret, 2);
        c.sign_in().unwrap();
        let d = c.describe("Customer").unwrap();
        assert_eq!(d.field("id").unwrap().field_type, FieldType::Id);
        assert_eq!(
            d.field("subsidiary").unwrap().field_type,
            FieldType::String,
            "a reference's internal id, as text"
        );
        assert_eq!(
            d.field("custentity_hubsync_tier").unwrap().field_type,
            FieldType::String
        );
        assert_eq!(
            d.field("custentity_hubsync_synced").unwrap().field_type,
            FieldType::Datetime
        );
        assert!(d.field("externalId").unwrap().external_id);
        assert!(!d.field("lastModifiedDate").unwrap().updateable);
        let contact = c.describe("Contact").unwrap();
        assert_eq!(
            contact.field("company").unwrap().field_type,
            FieldType::String
        );
    }
    let NetsuiteSecret::M2m { .. } = hubsync_core::config::parse_netsuite_secret(&m2m()).unwrap()
    else {
        panic!("m2m secret");
    };
    let client = NetsuiteClient::new(ClientConfig {
        account_id: Some("1234567".into()),
        instance_url: Some(account.emulator.url().to_string()),
        secret: hubsync_core::config::parse_netsuite_secret(&m2m()).unwrap(),
        timeouts: Timeouts::default(),
        parallelism: 3,
        network: Network::default(),
    })
    .unwrap();
    client.sign_in().unwrap();
    assert_eq!(client.token_requests(), 1);
    account.admin("POST", "tokens/expire", None);
    let results = client
        .write(
            "Customer",
            Write::Create(&[customer("Renewed"), customer("Twice"), customer("Thrice")]),
        )
        .unwrap();
    assert!(results.iter().all(|r| r.success), "{results:?}");
    assert_eq!(client.token_requests(), 2, "three 401s, one new token");

    let wrong = json!({"consumer_key": "hubsync-demo-consumer-key", "consumer_secret": "nope-secret-value",
                       "token_id": "hubsync-demo-token-id", "token_secret": "hubsync-demo-token-secret"});
    let e = account.connector(wrong, 1).sign_in().unwrap_err();
    assert_eq!(e.class(), Class::Auth);
    assert_eq!(e.errors[0].status_code, "INVALID_LOGIN");
    assert!(!format!("{e} {e:?}").contains("nope-secret-value"));
    let unknown_client = json!({"client_id": "someone-else", "certificate_id": "hubsync-demo-certificate", "private_key": M2M_KEY});
    let e = account.connector(unknown_client, 1).sign_in().unwrap_err();
    assert!(e.oauth.is_some(), "{e}");
    assert_eq!(e.class(), Class::Permanent);
}

#[test]
fn creates_upserts_updates_and_deletes_have_one_outcome_each() {
    let account = Account::start();
    let c = account.connector(tba(), 4);
    assert_eq!(c.max_batch(), 4);
    let created = c
        .write(
            "Customer",
            Write::Create(&[
                customer("Globex"),
                record(json!({"companyName": "No Subsidiary"})),
                customer("Initech"),
            ]),
        )
        .unwrap();
    assert!(created[0].success && created[2].success, "{created:?}");
    assert_eq!(class_of(&created[1], Operation::Create), Class::Permanent);
    let globex = created[0].id.clone().unwrap();
    let stored = account.admin("GET", &format!("records/customer/{globex}"), None);
    assert_eq!(stored["subsidiary"]["id"], "1", "{stored}");

    // Upserts by externalId: the first creates, the second finds the same record.
    let hub = |name: &str, key: &str| {
        let mut r = customer(name);
        r.insert("externalId".into(), key.into());
        r
    };
    let first = c
        .write(
            "Customer",
            Write::Upsert {
                external_id: "externalId",
                records: &[hub("Umbrella", "hub-1"), hub("Hooli", "hub-2")],
            },
        )
        .unwrap();
    let again = c
        .write(
            "Customer",
            Write::Upsert {
                external_id: "externalId",
                records: &[hub("Umbrella Corp", "hub-1")],
            },
        )
        .unwrap();
    assert_eq!(first[0].id, again[0].id);
    assert_eq!(account.customers().len(), 4);
    let refused = c
        .write(
            "Customer",
            Write::Upsert {
                external_id: "externalId",
                records: &[hub("Pipes", "a|b")],
            },
        )
        .unwrap();
    assert_eq!(class_of(&refused[0], Operation::Upsert), Class::Permanent);

    // A duplicate entity is the record's problem (USER_ERROR), not the batch's.
    let updated = c
        .write(
            "Customer",
            Write::Update(&[
                (
                    globex.clone(),
                    record(
                        json!({"email": "billing@globex.example", "custentity_hubsync_vip": true}),
                    ),
                ),
                (
                    first[1].id.clone().unwrap(),
                    record(json!({"entityId": "Globex"})),
                ),
                ("999999".into(), record(json!({"email": "x@example.com"}))),
            ]),
        )
        .unwrap();
    assert!(updated[0].success, "{updated:?}");
    assert_eq!(updated[1].errors[0].status_code, "USER_ERROR");
    assert_eq!(class_of(&updated[1], Operation::Update), Class::Permanent);
    assert_eq!(updated[2].errors[0].status_code, "NONEXISTENT_ID");
    let read = c
        .retrieve(
            "Customer",
            &[&globex, "999999"],
            &["email", "custentity_hubsync_vip", "subsidiary"],
        )
        .unwrap();
    let globex_now = read[0].as_ref().unwrap();
    assert_eq!(globex_now["email"], "billing@globex.example");
    assert_eq!(globex_now["custentity_hubsync_vip"], true);
    assert_eq!(globex_now["subsidiary"], "1");
    assert!(read[1].is_none());

    // A delete of a record already gone counts as done.
    let deleted = c
        .write(
            "Customer",
            Write::Delete(&[globex.clone(), globex.clone(), "12345".into()]),
        )
        .unwrap();
    assert!(deleted.iter().all(|r| r.success), "{deleted:?}");
    assert_eq!(account.customers().len(), 3);
    assert!(c.api_calls() > 0);
    assert_eq!(c.api_usage(), None);
}

#[test]
fn a_lost_upsert_answer_is_resent_without_a_duplicate() {
    let account = Account::start();
    let c = account.connector(tba(), 2);
    let mut acme = customer("Acme");
    acme.insert("externalId".into(), "hub-7".into());
    let batch = [acme];
    let upsert = Write::Upsert {
        external_id: "externalId",
        records: &batch,
    };
    for lost in ["drop_after", "gateway_timeout_after"] {
        account.fault(lost, 1);
        let results = c.write("Customer", upsert).unwrap();
        assert_eq!(
            class_of(&results[0], Operation::Upsert),
            Class::Retryable,
            "{lost}: an upsert is safe to resend"
        );
        let resent = c.write("Customer", upsert).unwrap();
        assert!(resent[0].success, "{resent:?}");
        assert_eq!(account.customers().len(), 1, "{lost}: no duplicate");
    }
    // The same loss on a plain create leaves its outcome unknown: look it up, never resend.
    account.fault("drop_after", 1);
    let results = c
        .write("Customer", Write::Create(&[customer("Lost")]))
        .unwrap();
    assert_eq!(
        class_of(&results[0], Operation::Create),
        Class::UnknownOutcome
    );
    let found = c
        .find("Customer", &[("email".into(), json!("lost@example.com"))])
        .unwrap();
    assert_eq!(found.len(), 1, "the create did land");
}

#[test]
fn the_concurrency_limit_backs_the_connection_off_record_by_record() {
    let account = Account::start();
    let c = account.connector(tba(), 2);
    c.describe("Customer").unwrap();
    account.admin(
        "PUT",
        "governance",
        Some(json!({"limit": 1, "open": false})),
    );
    let holder = account.connector(tba(), 1);
    let held = std::thread::spawn(move || holder.find("Customer", &[("email".into(), json!("x"))]));
    // Wait for the condition (the other request holds the account's one slot), not a time.
    while account.admin("GET", "governance", None)["inFlight"] != 1 {
        std::thread::yield_now();
    }
    let results = c
        .write(
            "Customer",
            Write::Create(&[customer("Busy"), customer("Busier")]),
        )
        .unwrap();
    for result in &results {
        assert_eq!(result.errors[0].status_code, "CONCURRENCY_LIMIT_EXCEEDED");
        assert_eq!(class_of(result, Operation::Create), Class::RateLimited);
    }
    let e = c
        .find("Customer", &[("email".into(), json!("x"))])
        .unwrap_err();
    assert_eq!(e.status, Some(429));
    assert_eq!(e.class(), Class::RateLimited);
    account.admin("PUT", "governance", Some(json!({"open": true})));
    assert!(held.join().unwrap().unwrap().is_empty());
    assert!(account.customers().is_empty(), "nothing was created");
}

#[test]
fn suiteql_pages_by_key_with_deletions_and_finds_by_natural_key() {
    let account = Account::start();
    // 2,500 customers, many sharing a modification second: the order must be total.
    let load: Vec<Value> = (0..2500)
        .map(|i| {
            json!({"companyName": format!("Load {i:04}"), "subsidiary": {"id": "1"},
                   "email": format!("load{i}@example.com"),
                   "lastModifiedDate": format!("2024-01-15T10:{:02}:00Z", i / 100)})
        })
        .collect();
    account.admin("POST", "load", Some(json!({"customer": load})));
    let c = account.connector(tba(), 2);
    let fields = [
        "id",
        "companyName",
        "email",
        "subsidiary",
        "isPerson",
        "lastModifiedDate",
    ];

    // A record of the first page modified while the load reads: offsets would now skip
    // one record at the page boundary; keys do not.
    let mut page = c.read("Customer", &fields, &ReadFrom::Everything).unwrap();
    assert_eq!(page.total, Some(2500));
    assert_eq!(page.changes.len(), 1000);
    let first = &page.changes[0];
    assert_eq!(first.record["subsidiary"], "1");
    assert_eq!(first.record["isPerson"], false);
    assert_eq!(first.record["lastModifiedDate"], "2024-01-15T10:00:00Z");
    assert_eq!(first.modified, Timestamp::parse("2024-01-15T10:00:00Z"));
    let moved = first.id.clone();
    c.write(
        "Customer",
        Write::Update(&[(moved.clone(), record(json!({"phone": "555-0100"})))]),
    )
    .unwrap();
    let mut ids: Vec<String> = page.changes.iter().map(|ch| ch.id.clone()).collect();
    let mut pages = 1;
    while let Some(more) = page.more.take() {
        page = c.read("Customer", &fields, &ReadFrom::More(more)).unwrap();
        assert_eq!(page.total, Some(2501), "the modified record is ahead again");
        ids.extend(page.changes.iter().map(|ch| ch.id.clone()));
        pages += 1;
    }
    assert_eq!(pages, 3);
    let distinct: BTreeSet<&String> = ids.iter().collect();
    assert_eq!(distinct.len(), 2500, "every record, none skipped");
    assert_eq!(
        ids.last(),
        Some(&moved),
        "the modified record comes again, last"
    );

    // Changes since a watermark: the update above and two deletions, deletions last.
    let since = Timestamp::parse("2024-01-15T11:00:00Z").unwrap();
    let gone = [ids[1].clone(), ids[2].clone()];
    c.write("Customer", Write::Delete(&gone)).unwrap();
    let (changes, pages) = read_all(
        c.as_ref(),
        &fields,
        ReadFrom::ChangedSince {
            since,
            cursor: None,
        },
    );
    assert_eq!(pages, 2, "the records' page, then the deletions' page");
    assert_eq!(changes.len(), 3, "{changes:?}");
    assert_eq!(changes[0].id, moved);
    assert!(
        !changes[0].record.contains_key("phone"),
        "phone is not selected"
    );
    assert!(!changes[0].deleted);
    let deleted: BTreeSet<&str> = changes[1..]
        .iter()
        .filter(|ch| ch.deleted && ch.modified.is_none())
        .map(|ch| ch.id.as_str())
        .collect();
    assert_eq!(deleted, gone.iter().map(String::as_str).collect());
    let (later, _) = read_all(
        c.as_ref(),
        &fields,
        ReadFrom::ChangedSince {
            since: Timestamp::parse("2999-01-01T00:00:00Z").unwrap(),
            cursor: None,
        },
    );
    assert!(later.is_empty());

    // Natural keys, with a quote that must not break the query.
    c.write(
        "Customer",
        Write::Create(&[record(
            json!({"companyName": "O'Brien & Sons", "subsidiary": "1"}),
        )]),
    )
    .unwrap();
    let found = c
        .find(
            "Customer",
            &[("companyName".into(), json!("O'Brien & Sons"))],
        )
        .unwrap();
    assert_eq!(found.len(), 1);
    assert!(c
        .find("Customer", &[("companyName".into(), json!("x' OR '1'='1"))])
        .unwrap()
        .is_empty());
    let e = c
        .read("Customer", &fields, &ReadFrom::More("{\"since\":1".into()))
        .unwrap_err();
    assert_eq!(e.class(), Class::Permanent);
    let e = c
        .read("Invoice", &fields, &ReadFrom::Everything)
        .unwrap_err();
    assert_eq!(e.class(), Class::Permanent);
}
