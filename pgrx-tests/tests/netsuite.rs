//! Postgres ↔ NetSuite end to end: a private cluster with hubsync, the NetSuite emulator
//! in-process, and a `customers` table synced with NetSuite customers both ways — the
//! full load, incremental changes and deletes from either side, a conflict decided by the
//! brief's field rules (`billing_address` → `erp`), and pushes through 429s from the
//! account's concurrency limit, server errors, lost answers and a worker killed mid-push
//! with nothing lost or duplicated.

use hubsync_core::connector::{Record, Write};
use hubsync_e2e::netsuite::{tba, NetSuite};
use hubsync_e2e::{kill_worker, scalar, wait_for_reading, wait_for_value, Cluster};
use postgres::Client;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

const PATIENCE: Duration = Duration::from_secs(180);
const SYNC: &str = "NS_Customers";
const M2M_KEY: &str = include_str!("../../core/src/salesforce/testdata/jwt_test_key.pem");
const M2M_CERTIFICATE: &str = include_str!("../../emulator/tests/data/jwt_test_cert.pem");

const TABLE: &str = "CREATE TABLE customers (
    id serial PRIMARY KEY,
    ns_id text UNIQUE,
    hub_key text UNIQUE DEFAULT 'hub-' || gen_random_uuid(),
    company text,
    email text,
    billing_address text,
    subsidiary text DEFAULT '1'
)";

/// A cluster, an emulated NetSuite account and the `customers` sync between them.
struct NsSync {
    cluster: Cluster,
    ns: NetSuite,
}

fn m2m() -> Value {
    json!({"client_id": "hubsync-demo-m2m", "certificate_id": "hubsync-demo-certificate", "private_key": M2M_KEY})
}

/// The sync's config: customers both ways, creates as upserts by `hub_key` ↔
/// `externalId` (also the natural key, so a record an upsert made whose answer was lost
/// is linked when the pull meets it first), the brief's field rules (`billing_address` →
/// `erp`), quick polls and retries.
fn config(url: &str) -> Value {
    json!({
        "connection_name": SYNC,
        "source": {"type": "netsuite", "object": "Customer",
                   "credentials": {"account_id": "1234567", "instance_url": url}},
        "target": {"type": "postgres", "table": "customers"},
        "field_mappings": [
            {"source": "id", "target": "ns_id"},
            {"source": "externalId", "target": "hub_key", "external_id": true},
            {"source": "companyName", "target": "company"},
            {"source": "email", "target": "email"},
            {"source": "custentity_billing_address", "target": "billing_address"},
            {"source": "subsidiary", "target": "subsidiary"}
        ],
        "sync_settings": {
            "sync_type": "bidirectional",
            "initial_sync": {"strategy": "full_load"},
            "ongoing_sync": {"mode": "real_time", "polling_interval_seconds": 1},
            "conflict_resolution": {"strategy": "field_level_priority", "field_rules": [
                {"field": "email", "priority_system": "postgres"},
                {"field": "billing_address", "priority_system": "erp"},
                {"field": "company", "priority_system": "last_updated"}
            ]}
        },
        "error_handling": {"retry_strategy": {"max_attempts": 30, "backoff_factor": 1.2, "initial_delay_seconds": 0.2}},
        "performance_settings": {"parallelism": 4}
    })
}

impl NsSync {
    /// Starts the account with `remote` customers and the cluster with `local` companies,
    /// then creates the sync with `secret`.
    fn start(name: &str, remote: &[(&str, &str)], local: &[&str], secret: Value) -> NsSync {
        let sync = NsSync {
            cluster: Cluster::start(name, &[]),
            ns: NetSuite::start(
                json!([{"id": "custentity_billing_address", "type": "text", "appliesTo": ["customer"]}]),
                Some(M2M_CERTIFICATE),
            ),
        };
        let customers: Vec<Value> = remote
            .iter()
            .map(|(company, email)| {
                json!({"companyName": company, "email": email, "subsidiary": {"id": "1"},
                                            "custentity_billing_address": format!("{company} HQ")})
            })
            .collect();
        sync.admin("POST", "load", Some(json!({ "customer": customers })));
        let mut db = sync.db();
        db.batch_execute(TABLE).unwrap();
        for company in local {
            db.execute(
                "INSERT INTO customers (company, email, billing_address) VALUES ($1, lower($1) || '@local.example', $1 || ' Office')",
                &[company],
            )
            .unwrap();
        }
        db.query_one("SELECT hubsync.create_sync($1)", &[&config(sync.ns.url())])
            .expect("create the NetSuite sync");
        db.execute("SELECT hubsync.set_credentials($1, $2)", &[&SYNC, &secret])
            .expect("store the NetSuite credentials");
        sync
    }

    fn db(&self) -> Client {
        self.cluster.client()
    }

    fn admin(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        self.ns.admin(method, path, body)
    }

    /// NetSuite's customers by internal id: (company, email, billing address, externalId).
    fn remote(&self) -> BTreeMap<String, Row> {
        self.ns
            .records("customer")
            .iter()
            .map(|c| {
                let text = |key: &str| c[key].as_str().map(str::to_string);
                (
                    text("id").unwrap(),
                    Row {
                        company: text("companyName"),
                        email: text("email"),
                        billing: text("custentity_billing_address"),
                        key: text("externalId"),
                    },
                )
            })
            .collect()
    }

    /// The table by NetSuite id (rows not linked yet under `""`).
    fn local(&self, db: &mut Client) -> BTreeMap<String, Row> {
        db.query(
            "SELECT coalesce(ns_id, ''), company, email, billing_address, hub_key FROM customers",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| {
            (
                r.get(0),
                Row {
                    company: r.get(1),
                    email: r.get(2),
                    billing: r.get(3),
                    key: r.get(4),
                },
            )
        })
        .collect()
    }

    /// Waits until `n` rows carry their NetSuite id; says where things stood if they don't.
    fn wait_linked(&self, db: &mut Client, n: i64) {
        let linked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            wait_for_value(
                PATIENCE,
                "every row linked",
                db,
                "SELECT count(ns_id) FROM customers",
                |c: &i64| *c == n,
            )
        }));
        if linked.is_err() {
            panic!("not every row was linked\n{}", self.diagnostics());
        }
    }

    fn wait_idle(&self, db: &mut Client) {
        let idle: bool = db
            .query_one("SELECT hubsync.wait_for_idle($1, '180 seconds')", &[&SYNC])
            .unwrap()
            .get(0);
        assert!(idle, "the outbox did not drain\n{}", self.diagnostics());
    }

    /// Waits until a pull started after now has been applied.
    fn pulled_again(&self, db: &mut Client) {
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

    /// Both sides hold the same customers, every local row linked to exactly one record
    /// (compared on every mapped field; externalId only where the hub set one).
    fn assert_converged(&self, db: &mut Client) -> BTreeMap<String, Row> {
        self.wait_idle(db);
        self.pulled_again(db);
        self.wait_idle(db);
        let remote = self.remote();
        let local = self.local(db);
        let comparable = |rows: &BTreeMap<String, Row>| -> BTreeMap<String, Mapped> {
            rows.iter()
                .map(|(id, r)| (id.clone(), r.mapped()))
                .collect()
        };
        assert_eq!(
            comparable(&local),
            comparable(&remote),
            "{}",
            self.diagnostics()
        );
        for (id, row) in &remote {
            if row.key.is_some() {
                assert_eq!(row.key, local[id].key, "externalId is the hub key");
            }
        }
        let review: i64 = scalar(db, "SELECT count(*) FROM hubsync.review_queue");
        assert_eq!(review, 0, "{}", self.diagnostics());
        remote
    }

    fn diagnostics(&self) -> String {
        let mut db = self.db();
        let mut out = String::new();
        for q in [
            "SELECT row_to_json(s)::text FROM hubsync.status s",
            "SELECT coalesce(string_agg(row_to_json(r)::text, E'\n'), 'no review') FROM hubsync.review_queue r",
            "SELECT coalesce(string_agg(row_to_json(c)::text, E'\n'), 'no rows') FROM customers c",
        ] {
            if let Ok(row) = db.query_one(q, &[]) {
                out.push_str(&row.get::<_, String>(0));
                out.push('\n');
            }
        }
        out.push_str(&format!("NetSuite: {:?}\n", self.remote()));
        out + &self.cluster.log_tail()
    }
}

/// One customer's mapped values on either side.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Row {
    company: Option<String>,
    email: Option<String>,
    billing: Option<String>,
    key: Option<String>,
}

/// The values both sides must agree on: company, email, billing address.
type Mapped = (Option<String>, Option<String>, Option<String>);

impl Row {
    fn mapped(&self) -> Mapped {
        (
            self.company.clone(),
            self.email.clone(),
            self.billing.clone(),
        )
    }
}

fn fields(value: Value) -> Record {
    value.as_object().unwrap().clone()
}

#[test]
fn customers_flow_both_ways_from_the_full_load_on() {
    let sync = NsSync::start(
        "ns-both-ways",
        &[
            ("Globex", "ap@globex.example"),
            ("Initech", "ap@initech.example"),
            ("Hooli", "ap@hooli.example"),
        ],
        &["Umbrella", "Acme"],
        tba(),
    );
    let mut db = sync.db();
    // The full load brings NetSuite's three in; the table's two go out as upserts.
    sync.wait_linked(&mut db, 5);
    let remote = sync.assert_converged(&mut db);
    assert_eq!(remote.len(), 5);
    let umbrella = remote
        .values()
        .find(|r| r.company.as_deref() == Some("Umbrella"))
        .unwrap();
    assert!(umbrella.key.as_deref().unwrap().starts_with("hub-"));
    let progress: (i64, bool) = {
        let row = db
            .query_one(
                "SELECT records_done, finished_at IS NOT NULL FROM hubsync.pull_state",
                &[],
            )
            .unwrap();
        (row.get(0), row.get(1))
    };
    assert_eq!(progress, (3, true));

    // Postgres → NetSuite: an insert, an update, a delete.
    db.batch_execute(
        "INSERT INTO customers (company, email) VALUES ('Stark', 'ap@stark.example');
         UPDATE customers SET email = 'billing@globex.example' WHERE company = 'Globex';
         DELETE FROM customers WHERE company = 'Hooli';",
    )
    .unwrap();
    sync.wait_idle(&mut db);
    let remote = sync.remote();
    assert_eq!(remote.len(), 5, "{remote:?}");
    assert!(remote
        .values()
        .any(|r| r.company.as_deref() == Some("Stark")));
    assert!(remote
        .values()
        .all(|r| r.company.as_deref() != Some("Hooli")));
    assert!(remote
        .values()
        .any(|r| r.email.as_deref() == Some("billing@globex.example")));

    // NetSuite → Postgres: a person creates, changes and deletes customers there.
    let acme = scalar::<Option<String>>(
        &mut db,
        "SELECT ns_id FROM customers WHERE company = 'Acme'",
    )
    .unwrap();
    let initech = scalar::<Option<String>>(
        &mut db,
        "SELECT ns_id FROM customers WHERE company = 'Initech'",
    )
    .unwrap();
    let created = sync
        .ns
        .person
        .write(
            "Customer",
            Write::Create(&[fields(
                json!({"companyName": "Wayne", "email": "ap@wayne.example", "subsidiary": "1"}),
            )]),
        )
        .unwrap();
    assert!(created[0].success, "{created:?}");
    sync.ns
        .person
        .write(
            "Customer",
            Write::Update(&[(
                acme.clone(),
                fields(json!({"custentity_billing_address": "1 Acme Way"})),
            )]),
        )
        .unwrap();
    sync.ns
        .person
        .write("Customer", Write::Delete(std::slice::from_ref(&initech)))
        .unwrap();
    wait_for_reading(
        PATIENCE,
        "NetSuite's changes in the table",
        || sync.local(&mut sync.db()),
        |local| {
            local
                .values()
                .any(|r| r.company.as_deref() == Some("Wayne"))
                && !local.contains_key(&initech)
                && local.get(&acme).and_then(|r| r.billing.as_deref()) == Some("1 Acme Way")
        },
    );
    let remote = sync.assert_converged(&mut db);
    assert_eq!(remote.len(), 5);
    // Nothing pulled went back: NetSuite saw no write for the pulled changes.
    let wayne = remote
        .values()
        .find(|r| r.company.as_deref() == Some("Wayne"))
        .unwrap();
    assert_eq!(
        wayne.key, None,
        "a record made in NetSuite keeps having no externalId"
    );
}

#[test]
fn a_conflict_follows_the_briefs_field_rules() {
    let sync = NsSync::start(
        "ns-conflict",
        &[("Globex", "ap@globex.example")],
        &[],
        m2m(),
    );
    let mut db = sync.db();
    sync.wait_linked(&mut db, 1);
    sync.assert_converged(&mut db);
    let id = scalar::<Option<String>>(&mut db, "SELECT ns_id FROM customers").unwrap();
    db.execute("SELECT hubsync.pause_sync($1)", &[&SYNC])
        .unwrap();
    db.batch_execute(
        "UPDATE customers SET email = 'local@globex.example', billing_address = 'Local Street 1'",
    )
    .unwrap();
    sync.ns.person
        .write(
            "Customer",
            Write::Update(&[(id.clone(), fields(json!({"email": "erp@globex.example", "custentity_billing_address": "ERP Avenue 9"})))]),
        )
        .unwrap();
    db.execute("SELECT hubsync.resume_sync($1)", &[&SYNC])
        .unwrap();
    let remote = sync.assert_converged(&mut db);
    let globex = &remote[&id];
    // billing_address → erp: NetSuite, this sync's remote end; email → postgres: the table.
    assert_eq!(globex.billing.as_deref(), Some("ERP Avenue 9"));
    assert_eq!(globex.email.as_deref(), Some("local@globex.example"));
    let logged: Vec<(String, String)> = db
        .query(
            "SELECT field, winner FROM hubsync.conflicts ORDER BY field",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(
        logged,
        [
            ("billing_address".into(), "remote".into()),
            ("email".into(), "local".into())
        ],
        "{}",
        sync.diagnostics()
    );
}

#[test]
fn rate_limits_server_errors_and_lost_answers_lose_and_duplicate_nothing() {
    let sync = NsSync::start("ns-faults", &[], &[], tba());
    let mut db = sync.db();
    wait_for_value(
        PATIENCE,
        "the empty full load",
        &mut db,
        "SELECT count(*) FROM hubsync.pull_state WHERE finished_at IS NOT NULL",
        |n: &i64| *n == 1,
    );

    // The account's one slot is held by someone else: every request of the sync gets 429.
    // (The sync is paused while the slot is taken, so the holder is the test's request.)
    db.execute("SELECT hubsync.pause_sync($1)", &[&SYNC])
        .unwrap();
    let in_flight = || sync.admin("GET", "governance", None)["inFlight"].as_u64();
    wait_for_reading(
        PATIENCE,
        "the paused sync's requests done",
        in_flight,
        |n| *n == Some(0),
    );
    sync.admin(
        "PUT",
        "governance",
        Some(json!({"limit": 1, "open": false})),
    );
    let person = Arc::clone(&sync.ns.person);
    let holder = std::thread::spawn(move || {
        person.find("Customer", &[("email".into(), json!("nobody@example.com"))])
    });
    wait_for_reading(PATIENCE, "the slot held", in_flight, |n| *n == Some(1));
    db.execute(
        "INSERT INTO customers (company, email) SELECT 'Busy ' || i, 'busy' || i || '@example.com' FROM generate_series(1, 12) i",
        &[],
    )
    .unwrap();
    db.execute("SELECT hubsync.resume_sync($1)", &[&SYNC])
        .unwrap();
    let backing_off = || {
        let state: String = scalar(
            &mut sync.db(),
            "SELECT connection_state FROM hubsync.status",
        );
        let refused = sync.admin("GET", "counters", None)["requestsByStatus"]["429"].as_u64();
        (refused.unwrap_or(0), state)
    };
    wait_for_reading(
        PATIENCE,
        "the sync backing off on 429",
        backing_off,
        |(refused, state)| *refused > 0 && state == "backing off",
    );
    sync.admin(
        "PUT",
        "governance",
        Some(json!({"limit": 15, "open": true})),
    );
    assert!(holder.join().unwrap().unwrap().is_empty());

    sync.wait_linked(&mut db, 12);

    // Server errors before the work, then answers lost after it (504 pages, resets), one
    // kind at a time so each meets requests of its own: 4 new rows and 4 updates each.
    let mut linked = 12;
    for (kind, next) in [
        ("server_error", 3),
        ("gateway_timeout_after", 3),
        ("drop_after", 2),
    ] {
        let rule = json!({"endpoint": "record", "kind": kind, "next": next});
        sync.admin("PUT", "faults", Some(json!({ "rules": [rule] })));
        db.execute(
            "INSERT INTO customers (company, email) SELECT $1 || ' ' || i, 'storm' || i || '@example.com' FROM generate_series(1, 4) i",
            &[&kind],
        )
        .unwrap();
        db.execute(
            "UPDATE customers SET billing_address = $1 || ' ' || id \
             WHERE id IN (SELECT id FROM customers WHERE company LIKE 'Busy%' ORDER BY id LIMIT 4 OFFSET $2)",
            &[&kind, &(linked - 12)],
        )
        .unwrap();
        linked += 4;
        sync.wait_linked(&mut db, linked);
        sync.wait_idle(&mut db);
        let fired = sync.admin("GET", "faults", None)["rules"][0]["fired"].as_u64();
        assert_eq!(fired, Some(next), "every {kind} met a request");
    }
    sync.admin("DELETE", "faults", None);
    let remote = sync.assert_converged(&mut db);
    assert_eq!(remote.len(), 24, "exactly once each");
    let moved = remote
        .values()
        .filter(|r| r.company.as_deref().is_some_and(|c| c.starts_with("Busy")))
        .filter(|r| r.billing.is_some())
        .count();
    assert_eq!(moved, 12, "every update arrived");
}

#[test]
fn a_worker_killed_mid_push_loses_and_duplicates_nothing() {
    let sync = NsSync::start("ns-killed", &[], &[], tba());
    let mut db = sync.db();
    wait_for_value(
        PATIENCE,
        "the empty full load",
        &mut db,
        "SELECT count(*) FROM hubsync.pull_state WHERE finished_at IS NOT NULL",
        |n: &i64| *n == 1,
    );
    // Every record request takes a while, so the kill lands with requests in flight.
    let slow = json!({"endpoint": "record", "kind": "latency", "latency_ms": 30});
    sync.admin("PUT", "faults", Some(json!({ "rules": [slow] })));
    db.execute(
        "INSERT INTO customers (company, email) SELECT 'Crash ' || i, 'crash' || i || '@example.com' FROM generate_series(1, 200) i",
        &[],
    )
    .unwrap();
    let linked = "SELECT count(ns_id) FROM customers";
    wait_for_value(PATIENCE, "some rows pushed", &mut db, linked, |n: &i64| {
        *n > 0
    });
    let pid = kill_worker(&mut db);
    wait_for_value(
        PATIENCE,
        "a new worker",
        &mut db,
        hubsync_e2e::SERVING_WORKER_PID,
        |p: &i32| *p != 0 && *p != pid,
    );
    sync.wait_linked(&mut db, 200);
    sync.admin("DELETE", "faults", None);
    let remote = sync.assert_converged(&mut db);
    assert_eq!(remote.len(), 200, "exactly once each");
}
