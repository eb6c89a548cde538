//! A running hub: `create_hub` with the brief's block mirrors each listed object into a
//! table of its own, made from the object's describe, and syncs it both ways; `alter_hub`
//! adds and removes objects; `drop_hub` removes the syncs (and, if asked, the tables); only
//! the hub's owner may change it, and nobody may build a hub on another role's connection.

use hubsync_e2e::api::refused;
use hubsync_e2e::{
    first_column, scalar, wait_for_reading, wait_for_value, Cluster, Remote, CLIENT_ID,
    CLIENT_SECRET, DATABASE,
};
use postgres::Client;
use serde_json::{json, Value};
use std::time::Duration;

const PATIENCE: Duration = Duration::from_secs(120);

/// The brief's hub block, with only the system the emulator serves here.
fn salesforce_hub(objects: &[&str]) -> Value {
    json!({
        "sync_hub": "postgres_data_hub",
        "connected_systems": [{"system": "salesforce", "objects": objects}]
    })
}

/// A cluster where `alice` may create schemas, with her Salesforce connection stored
/// (saying where the org is) and two accounts in the org.
fn setup(name: &str) -> (Cluster, Remote, Client) {
    let remote = Remote::start();
    for account in ["Acme", "Globex"] {
        remote.write("POST", "Account", None, json!({"Name": account}));
    }
    let cluster = Cluster::start(name, &[]);
    cluster
        .client()
        .batch_execute(&format!(
            "CREATE ROLE alice LOGIN; CREATE ROLE mallory LOGIN; \
             GRANT CREATE ON DATABASE {DATABASE} TO alice"
        ))
        .expect("create roles");
    let mut alice = cluster.connect_as(DATABASE, "alice");
    let secret = json!({"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
                        "instance_url": remote.url()});
    alice
        .execute(
            "SELECT hubsync.set_credentials('salesforce', $1)",
            &[&secret],
        )
        .expect("store the connection");
    (cluster, remote, alice)
}

fn org_accounts(remote: &Remote) -> Vec<String> {
    let mut names: Vec<String> = remote
        .query("SELECT Name FROM Account", false)
        .iter()
        .map(|r| r["Name"].as_str().unwrap_or_default().to_string())
        .collect();
    names.sort();
    names
}

#[test]
fn the_briefs_hub_block_mirrors_objects_into_tables_and_syncs_them_both_ways() {
    let (cluster, remote, mut alice) = setup("hub_tables");
    let hub: String = alice
        .query_one(
            "SELECT hubsync.create_hub($1)",
            &[&salesforce_hub(&["Account", "Contact"])],
        )
        .expect("create the hub")
        .get(0);
    assert_eq!(hub, "postgres_data_hub");

    // Tables made from the describes, owned by the caller, filled by the full load.
    let owner: String = scalar(
        &mut alice,
        "SELECT tableowner FROM pg_tables WHERE schemaname = 'salesforce' AND tablename = 'account'",
    );
    assert_eq!(owner, "alice");
    let columns: Vec<String> = first_column(
        &mut alice,
        "SELECT column_name::text FROM information_schema.columns \
         WHERE table_schema = 'salesforce' AND table_name = 'account' ORDER BY ordinal_position",
    );
    for wanted in ["id", "salesforce_id", "name", "lastmodifieddate"] {
        assert!(
            columns.iter().any(|c| c == wanted),
            "{wanted} in {columns:?}"
        );
    }
    wait_for_value(
        PATIENCE,
        "the org's accounts in salesforce.account",
        &mut alice,
        "SELECT count(*) FROM salesforce.account WHERE salesforce_id IS NOT NULL",
        |n: &i64| *n == 2,
    );
    let spokes: Vec<String> = first_column(
        &mut alice,
        "SELECT object || ':' || mirrored_table::text FROM hubsync.hubs ORDER BY object",
    );
    assert_eq!(
        spokes,
        ["Account:salesforce.account", "Contact:salesforce.contact"]
    );

    // Both ways: a row written in the table reaches the org.
    alice
        .batch_execute("INSERT INTO salesforce.account (name) VALUES ('Initech')")
        .unwrap();
    wait_for_reading(
        PATIENCE,
        "Initech in the org",
        || org_accounts(&remote),
        |names| names.len() == 3,
    );
    wait_for_value(
        PATIENCE,
        "Initech linked",
        &mut alice,
        "SELECT count(*) FROM salesforce.account WHERE salesforce_id IS NOT NULL",
        |n: &i64| *n == 3,
    );

    // Nobody else may change or drop it, or borrow its connection for a hub of their own.
    let mut mallory = cluster.connect_as(DATABASE, "mallory");
    let denied = refused(
        mallory.execute("SELECT hubsync.drop_hub('postgres_data_hub')", &[]),
        "drop someone else's hub",
    );
    assert_eq!(denied.code().code(), "42501");
    let denied = refused(
        mallory.execute(
            "SELECT hubsync.alter_hub($1)",
            &[&salesforce_hub(&["Account"])],
        ),
        "alter someone else's hub",
    );
    assert_eq!(denied.code().code(), "42501");
    let borrowed = json!({"sync_hub": "mallorys_hub",
        "connected_systems": [{"system": "salesforce", "objects": ["Account"]}]});
    let denied = refused(
        mallory.execute("SELECT hubsync.create_hub($1)", &[&borrowed]),
        "a hub on someone else's connection",
    );
    assert_eq!(denied.code().code(), "42501");
    let hubs: i64 = scalar(&mut alice, "SELECT count(DISTINCT hub) FROM hubsync.hubs");
    assert_eq!(hubs, 1, "mallory's attempt left nothing");

    // Altered: Contact leaves the hub (its table stays), dropped: everything goes.
    alice
        .execute(
            "SELECT hubsync.alter_hub($1)",
            &[&salesforce_hub(&["Account"])],
        )
        .expect("alter the hub");
    let objects: Vec<String> = first_column(&mut alice, "SELECT object FROM hubsync.hubs");
    assert_eq!(objects, ["Account"]);
    let contact_table: bool = scalar(
        &mut alice,
        "SELECT to_regclass('salesforce.contact') IS NOT NULL",
    );
    assert!(contact_table);
    alice
        .execute("SELECT hubsync.drop_hub('postgres_data_hub', true)", &[])
        .expect("drop the hub");
    let syncs: i64 = scalar(&mut alice, "SELECT count(*) FROM hubsync.syncs");
    assert_eq!(syncs, 0);
    let gone: bool = scalar(
        &mut alice,
        "SELECT to_regclass('salesforce.account') IS NULL",
    );
    assert!(gone);
}

#[test]
fn objects_without_credentials_wait_and_alter_hub_mirrors_them_once_stored() {
    let (_cluster, remote, mut alice) = setup("hub_waiting");
    let hub = json!({
        "sync_hub": "later_hub",
        "connected_systems": [{"system": "salesforce", "objects": ["Account"],
                               "connection_name": "crm_later"}]
    });
    alice
        .execute("SELECT hubsync.create_hub($1)", &[&hub])
        .expect("a hub whose connection has no credentials yet");
    let waiting: String = scalar(
        &mut alice,
        "SELECT connection_state FROM hubsync.hubs WHERE sync IS NULL",
    );
    assert_eq!(waiting, "not_configured");
    let secret = json!({"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
                        "instance_url": remote.url()});
    alice
        .execute(
            "SELECT hubsync.set_credentials('crm_later', $1)",
            &[&secret],
        )
        .unwrap();
    alice
        .execute("SELECT hubsync.alter_hub($1)", &[&hub])
        .unwrap();
    wait_for_value(
        PATIENCE,
        "the org's accounts mirrored",
        &mut alice,
        "SELECT count(*) FROM salesforce.account",
        |n: &i64| *n == 2,
    );
}

#[test]
fn a_hub_that_cannot_describe_an_object_leaves_nothing_behind() {
    let (_cluster, _remote, mut alice) = setup("hub_no_object");
    let error = refused(
        alice.execute(
            "SELECT hubsync.create_hub($1)",
            &[&salesforce_hub(&["Account", "NoSuchObject"])],
        ),
        "a hub naming an object the org lacks",
    );
    assert!(
        error.message().contains("NoSuchObject"),
        "{}",
        error.message()
    );
    let left: i64 = scalar(
        &mut alice,
        "SELECT (SELECT count(*) FROM hubsync.hub) + (SELECT count(*) FROM hubsync.syncs) \
              + (SELECT count(*) FROM pg_tables WHERE schemaname = 'salesforce')",
    );
    assert_eq!(left, 0);
}
