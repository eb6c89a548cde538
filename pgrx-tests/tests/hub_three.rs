//! The brief's three-system hub: Salesforce, NetSuite and Zendesk (three emulators) around one
//! Postgres. The hub block as written mirrors all six objects into tables of their own; and
//! one `customers` table with a spoke per system relays a change made in any system to the
//! other two exactly once, links records that exist everywhere before the hub starts, and
//! decides a conflicting billing address by the brief's rule (`erp` wins).

use hubsync_core::connector::Write;
use hubsync_e2e::netsuite::{tba, NetSuite, ACCOUNT_ID};
use hubsync_e2e::zendesk::{Zendesk, ZENDESK_EMAIL, ZENDESK_TOKEN};
use hubsync_e2e::{
    first_column, fixtures, next_second, quiet, scalar, wait_for_reading, wait_for_value, Cluster,
    Remote, CLIENT_ID, CLIENT_SECRET,
};
use postgres::Client;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::time::Duration;

const PATIENCE: Duration = Duration::from_secs(180);

/// The three systems, each an emulator of its own.
struct Spokes {
    salesforce: Remote,
    netsuite: NetSuite,
    zendesk: Zendesk,
}

impl Spokes {
    fn start() -> Spokes {
        Spokes {
            salesforce: Remote::start(),
            netsuite: NetSuite::start(
                json!([{"id": "custentity_billing_address", "type": "text", "appliesTo": ["customer"]}]),
                None,
            ),
            zendesk: Zendesk::start(),
        }
    }

    /// One connection per system, named after it, saying where the account is.
    fn store_connections(&self, db: &mut Client) {
        let connections = [
            (
                "salesforce",
                json!({"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
                       "instance_url": self.salesforce.url()}),
            ),
            (
                "netsuite",
                merge(
                    tba(),
                    json!({"account_id": ACCOUNT_ID, "instance_url": self.netsuite.url()}),
                ),
            ),
            (
                "zendesk",
                json!({"email": ZENDESK_EMAIL, "api_token": ZENDESK_TOKEN,
                       "instance_url": self.zendesk.url()}),
            ),
        ];
        for (name, secret) in connections {
            db.execute("SELECT hubsync.set_credentials($1, $2)", &[&name, &secret])
                .unwrap_or_else(|e| panic!("store the {name} connection: {e}"));
        }
    }

    /// Each system's companies: (name, billing address where the system has one).
    fn companies(&self) -> [BTreeSet<(String, Option<String>)>; 3] {
        let text = |v: &Value, key: &str| v[key].as_str().map(str::to_string);
        let salesforce = self
            .salesforce
            .query("SELECT Name, BillingStreet FROM Account", false)
            .iter()
            .map(|r| {
                (
                    text(r, "Name").unwrap_or_default(),
                    text(r, "BillingStreet"),
                )
            })
            .collect();
        let netsuite = self
            .netsuite
            .records("customer")
            .iter()
            .map(|r| {
                (
                    text(r, "companyName").unwrap_or_default(),
                    text(r, "custentity_billing_address"),
                )
            })
            .collect();
        let zendesk = self
            .zendesk
            .records("organizations")
            .iter()
            .map(|r| (text(r, "name").unwrap_or_default(), None))
            .collect();
        [salesforce, netsuite, zendesk]
    }

    fn names(&self) -> [BTreeSet<String>; 3] {
        self.companies()
            .map(|set| set.into_iter().map(|(name, _)| name).collect())
    }
}

fn merge(mut a: Value, b: Value) -> Value {
    if let (Some(a), Value::Object(b)) = (a.as_object_mut(), b) {
        a.extend(b);
    }
    a
}

#[test]
fn the_briefs_hub_block_as_written_mirrors_every_object_of_the_three_systems() {
    let spokes = Spokes::start();
    spokes
        .salesforce
        .write("POST", "Account", None, json!({"Name": "Acme"}));
    spokes.netsuite.admin(
        "POST",
        "load",
        Some(json!({"customer": [{"companyName": "Acme Ltd", "subsidiary": {"id": "1"}}]})),
    );
    spokes.zendesk.api(
        "POST",
        "organizations.json",
        Some(json!({"organization": {"name": "Acme Support"}})),
    );
    let cluster = Cluster::start("hub_three_tables", &[]);
    let mut db = cluster.client();
    spokes.store_connections(&mut db);

    db.query_one(
        "SELECT hubsync.create_hub($1)",
        &[&fixtures::json("brief/04_sync_hub.json")],
    )
    .expect("the brief's hub block, as written");
    let tables: Vec<String> = first_column(
        &mut db,
        "SELECT mirrored_table::text FROM hubsync.hubs ORDER BY system, object",
    );
    assert_eq!(
        tables,
        [
            "netsuite.contact",
            "netsuite.customer",
            "salesforce.account",
            "salesforce.contact",
            "zendesk.organization",
            "zendesk.\"user\"",
        ]
    );
    for (table, name_column, name) in [
        ("salesforce.account", "name", "Acme"),
        ("netsuite.customer", "companyname", "Acme Ltd"),
        ("zendesk.organization", "name", "Acme Support"),
    ] {
        wait_for_value(
            PATIENCE,
            &format!("{name} mirrored into {table}"),
            &mut db,
            &format!("SELECT count(*) FROM {table} WHERE {name_column} = '{name}'"),
            |n: &i64| *n == 1,
        );
    }

    // A mirrored table is synced both ways.
    db.batch_execute("INSERT INTO zendesk.organization (name) VALUES ('Written in Postgres')")
        .unwrap();
    wait_for_reading(
        PATIENCE,
        "the new organization in Zendesk",
        || spokes.names()[2].clone(),
        |names| names.contains("Written in Postgres"),
    );
}

/// `customers`: one row per company, an id column per system.
const CUSTOMERS: &str = "CREATE TABLE customers (
    id serial PRIMARY KEY,
    sf_id varchar(18) UNIQUE,
    ns_id text UNIQUE,
    zd_id text UNIQUE,
    company text,
    billing_address text,
    subsidiary text DEFAULT '1'
)";

/// A spoke's sync of `customers`: both ways, linked by company name, the brief's rule for
/// billing addresses (`erp`), polling every second.
fn spoke(name: &str, remote: Value, mappings: Value, key: &str) -> Value {
    json!({
        "name": name,
        "connection_name": remote["type"],
        "source": remote,
        "target": {"type": "postgres", "table": "customers"},
        "field_mappings": mappings,
        "sync_settings": {
            "sync_type": "bidirectional",
            "initial_sync": {"strategy": "full_load"},
            "natural_key": [key],
            "ongoing_sync": {"mode": "real_time", "polling_interval_seconds": 1},
            "conflict_resolution": {"strategy": "field_level_priority", "field_rules": [
                {"field": "billing_address", "priority_system": "erp"}
            ], "default": "last_write_wins"}
        }
    })
}

#[test]
fn a_change_in_any_system_reaches_the_other_two_and_the_erp_keeps_the_billing_address() {
    let spokes = Spokes::start();
    // Acme exists in all three before the hub starts.
    let sf_acme = spokes
        .salesforce
        .write(
            "POST",
            "Account",
            None,
            json!({"Name": "Acme", "BillingStreet": "1 Main St"}),
        )
        .expect("Acme's id");
    spokes.netsuite.admin(
        "POST",
        "load",
        Some(
            json!({"customer": [{"companyName": "Acme", "subsidiary": {"id": "1"},
                                   "custentity_billing_address": "1 Main St"}]}),
        ),
    );
    spokes.zendesk.api(
        "POST",
        "organizations.json",
        Some(json!({"organization": {"name": "Acme"}})),
    );
    let cluster = Cluster::start("hub_three_spokes", &[]);
    let mut db = cluster.client();
    db.batch_execute(CUSTOMERS).unwrap();
    spokes.store_connections(&mut db);
    let syncs = [
        spoke(
            "crm",
            json!({"type": "salesforce", "object": "Account",
                   "credentials": {"instance_url": spokes.salesforce.url()}}),
            json!([{"source": "Id", "target": "sf_id"},
                   {"source": "Name", "target": "company"},
                   {"source": "BillingStreet", "target": "billing_address"}]),
            "Name",
        ),
        spoke(
            "erp",
            json!({"type": "netsuite", "object": "Customer",
                   "credentials": {"account_id": ACCOUNT_ID, "instance_url": spokes.netsuite.url()}}),
            json!([{"source": "id", "target": "ns_id"},
                   {"source": "companyName", "target": "company"},
                   {"source": "custentity_billing_address", "target": "billing_address"},
                   {"source": "subsidiary", "target": "subsidiary"}]),
            "companyName",
        ),
        spoke(
            "support",
            json!({"type": "zendesk", "object": "Organization",
                   "credentials": {"instance_url": spokes.zendesk.url()}}),
            json!([{"source": "id", "target": "zd_id"},
                   {"source": "name", "target": "company"}]),
            "name",
        ),
    ];
    for config in &syncs {
        db.query_one("SELECT hubsync.create_sync($1)", &[config])
            .unwrap_or_else(|e| panic!("create {}: {e}", config["name"]));
    }
    let names = ["crm", "erp", "support"];
    wait_for_value(
        PATIENCE,
        "Acme linked to all three",
        &mut db,
        "SELECT count(*) FROM customers WHERE sf_id IS NOT NULL AND ns_id IS NOT NULL AND zd_id IS NOT NULL",
        |n: &i64| *n == 1,
    );

    // A new company in each system reaches the other two.
    spokes.salesforce.write(
        "POST",
        "Account",
        None,
        json!({"Name": "Made in Salesforce"}),
    );
    spokes
        .netsuite
        .person
        .write(
            "Customer",
            Write::Create(&[
                json!({"companyName": "Made in NetSuite", "subsidiary": "1"})
                    .as_object()
                    .unwrap()
                    .clone(),
            ]),
        )
        .expect("create a NetSuite customer");
    spokes.zendesk.api(
        "POST",
        "organizations.json",
        Some(json!({"organization": {"name": "Made in Zendesk"}})),
    );
    let everywhere: BTreeSet<String> = [
        "Acme",
        "Made in NetSuite",
        "Made in Salesforce",
        "Made in Zendesk",
    ]
    .map(str::to_string)
    .into();
    wait_for_reading(
        PATIENCE,
        "every company in every system",
        || spokes.names(),
        |names| names.iter().all(|n| *n == everywhere),
    );

    // Salesforce and NetSuite change Acme's billing address while hubsync looks away; the
    // CRM's edit is the later one, and the ERP wins.
    for sync in names {
        db.execute("SELECT hubsync.pause_sync($1)", &[&sync])
            .unwrap();
    }
    let ns_acme: String = scalar(
        &mut db,
        "SELECT ns_id FROM customers WHERE company = 'Acme'",
    );
    spokes
        .netsuite
        .person
        .write(
            "Customer",
            Write::Update(&[(
                ns_acme,
                json!({"custentity_billing_address": "ERP Street"})
                    .as_object()
                    .unwrap()
                    .clone(),
            )]),
        )
        .expect("edit in NetSuite");
    next_second();
    spokes.salesforce.write(
        "PATCH",
        "Account",
        Some(&sf_acme),
        json!({"BillingStreet": "CRM Street"}),
    );
    for sync in names {
        db.execute("SELECT hubsync.resume_sync($1)", &[&sync])
            .unwrap();
    }
    wait_for_reading(
        PATIENCE,
        "the ERP's address in Salesforce and NetSuite",
        || spokes.companies(),
        |[sf, ns, _]| {
            [sf, ns]
                .iter()
                .all(|set| set.contains(&("Acme".to_string(), Some("ERP Street".to_string()))))
        },
    );

    // Quiet: one row per company, each linked once per system, nothing left or held.
    quiet(&mut db, &names);
    let rows: i64 = scalar(
        &mut db,
        "SELECT count(*) FROM customers WHERE sf_id IS NOT NULL AND ns_id IS NOT NULL AND zd_id IS NOT NULL",
    );
    assert_eq!(rows, 4);
    let all_rows: i64 = scalar(&mut db, "SELECT count(*) FROM customers");
    assert_eq!(all_rows, 4, "nothing duplicated in the hub");
    assert!(spokes.names().iter().all(|n| *n == everywhere));
    let billing: String = scalar(
        &mut db,
        "SELECT billing_address FROM customers WHERE company = 'Acme'",
    );
    assert_eq!(billing, "ERP Street");
    let pending: i64 = scalar(&mut db, "SELECT count(*) FROM hubsync.outbox");
    assert_eq!(pending, 0);
    let review: i64 = scalar(&mut db, "SELECT count(*) FROM hubsync.review_queue");
    assert_eq!(review, 0);
}
