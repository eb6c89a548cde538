//! The configuration API through SQL, over a real client connection: every JSON block of
//! the brief is accepted, malformed configs are refused with their JSON path and SQLSTATE
//! and leave nothing behind, only a sync's owner may change it, secrets stay in the
//! credentials table, and syncs can be altered, paused, resumed and dropped.

use hubsync_e2e::api::{self, full_text, refused};
use hubsync_e2e::{first_column, fixtures, wait_until, Cluster, DATABASE};
use postgres::error::DbError;
use postgres::{Client, NoTls};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const PATIENCE: Duration = Duration::from_secs(60);

/// The brief's accounts sync (connection + mappings), the base most tests start from.
fn accounts() -> Value {
    fixtures::json("bases/accounts.json")
}

/// Runs `tables/<name>.sql`, replacing any table of the same name.
fn create_table(db: &mut Client, name: &str) {
    let sql = fixtures::text(&format!("tables/{name}.sql"));
    let table = sql.split_whitespace().nth(2).expect("CREATE TABLE <name>");
    db.batch_execute(&format!("DROP TABLE IF EXISTS {table}; {sql}"))
        .unwrap_or_else(|e| panic!("create table {name}: {e}"));
}

/// Asserts the error has `sqlstate` and names `path` in its message.
fn assert_refused_at(error: &DbError, sqlstate: &str, path: &str, label: &str) {
    assert_eq!(
        error.code().code(),
        sqlstate,
        "{label}: {}",
        full_text(error)
    );
    if !path.is_empty() {
        assert!(
            error.message().contains(&format!("{path}: ")),
            "{label}: the message does not name {path}: {}",
            error.message()
        );
    }
}

/// What a sync leaves in the database: syncs, their companion rows, credentials, triggers.
fn footprint(admin: &mut Client) -> Vec<i64> {
    let row = admin
        .query_one(
            "SELECT (SELECT count(*) FROM hubsync.sync), (SELECT count(*) FROM hubsync.sync_stats), \
                    (SELECT count(*) FROM hubsync.pull_state), (SELECT count(*) FROM hubsync.credentials), \
                    (SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'hubsync%')",
            &[],
        )
        .expect("read hubsync's footprint");
    (0..5).map(|i| row.get(i)).collect()
}

/// The names of the hubsync triggers on `table`.
fn triggers(db: &mut Client, table: &str) -> Vec<String> {
    db.query(
        "SELECT tgname::text FROM pg_trigger WHERE tgrelid = $1::text::regclass \
         AND tgname LIKE 'hubsync%' ORDER BY tgname",
        &[&table],
    )
    .expect("read pg_trigger")
    .iter()
    .map(|r| r.get(0))
    .collect()
}

/// One column of a sync's row in a view, as text.
fn column(db: &mut Client, view: &str, column: &str, sync: &str) -> Option<String> {
    db.query_one(
        &format!("SELECT {column}::text FROM hubsync.{view} WHERE name = $1"),
        &[&sync],
    )
    .unwrap_or_else(|e| panic!("read {view}.{column} of {sync}: {e}"))
    .get(0)
}

/// The stored config of a sync, as `hubsync.syncs` shows it.
fn stored_config(db: &mut Client, sync: &str) -> Value {
    db.query_one("SELECT config FROM hubsync.syncs WHERE name = $1", &[&sync])
        .expect("read hubsync.syncs")
        .get(0)
}

/// Creates login roles, each allowed to create tables in `public`.
fn create_roles(admin: &mut Client, roles: &[&str]) {
    for role in roles {
        admin
            .batch_execute(&format!(
                "CREATE ROLE {role} LOGIN; GRANT CREATE ON SCHEMA public TO {role};"
            ))
            .expect("create role");
    }
}

/// A cluster with login `roles`: the cluster, a superuser connection and one connection
/// per role, in order.
fn cluster_with_roles<const N: usize>(
    name: &str,
    roles: [&str; N],
) -> (Cluster, Client, [Client; N]) {
    let cluster = Cluster::start(name, &[]);
    let mut admin = cluster.client();
    create_roles(&mut admin, &roles);
    let connections = roles.map(|role| cluster.connect_as(DATABASE, role));
    (cluster, admin, connections)
}

// ---------------------------------------------------------------------------------------
// 1. Every JSON block of the brief, verbatim.

/// A complete base (`bases/*.json`) is created first and the brief's fragment applied with
/// `alter_sync`, as someone following the brief step by step would; a fragment without a
/// complete base is merged first and created at once.
fn create_as_the_brief_builds_it(
    db: &mut Client,
    entry: &Value,
    config: &Value,
) -> Result<String, postgres::Error> {
    match entry["base"].as_str() {
        Some(base) if base.starts_with("bases/") => {
            let name = api::create_sync(db, &fixtures::json(base))?;
            api::alter_sync(db, &name, &fixtures::named(entry, "fragment"))?;
            Ok(name)
        }
        _ => api::create_sync(db, config),
    }
}

/// The direction label a fixture's `/direction/*` expectations stand for, if it states them.
fn expected_direction(expect: &Value) -> Option<&'static str> {
    let push = expect["/direction/push"].as_bool()?;
    let pull = expect["/direction/pull"].as_bool()?;
    Some(match (push, pull) {
        (true, true) => "bidirectional",
        (true, false) => "to_remote",
        (false, true) => "to_local",
        (false, false) => "none",
    })
}

/// `hubsync.syncs` shows the sync as its config describes it.
fn assert_listed(db: &mut Client, name: &str, entry: &Value, config: &Value, label: &str) {
    let row = db
        .query_one(
            "SELECT name, remote_object, local_table::text, direction, state FROM hubsync.syncs \
             WHERE name = $1",
            &[&name],
        )
        .unwrap_or_else(|e| panic!("{label}: {name} is not in hubsync.syncs: {e}"));
    let parsed = hubsync_core::config::parse_sync(config).expect("the combination parses");
    let shown: (String, String, String, String, String) =
        (row.get(0), row.get(1), row.get(2), row.get(3), row.get(4));
    let wanted = (
        parsed.name.clone(),
        parsed.remote.object.clone(),
        parsed.local.table.clone(),
        parsed.direction.label().to_string(),
        "active".to_string(),
    );
    assert_eq!(shown, wanted, "{label}");
    let expect = &entry["expect"];
    if let Some(expected) = expect["/name"].as_str() {
        assert_eq!(shown.0, expected, "{label}");
    }
    if let Some(expected) = expected_direction(expect) {
        assert_eq!(shown.3, expected, "{label}");
    }
    let stored = stored_config(db, name);
    assert!(
        fixtures::same_json(&stored, config),
        "{label}: stored config differs:\n{stored:#}\nexpected\n{config:#}"
    );
}

#[test]
fn every_brief_block_is_accepted_through_sql() {
    let cluster = Cluster::start("brief", &[]);
    let mut db = cluster.client();
    let combinations = fixtures::json("combinations.json");

    let syncs = combinations["syncs"].as_array().expect("syncs").clone();
    let mut everything_seen = false;
    for entry in &syncs {
        let label = format!("{} on {}", entry["fragment"], entry["base"]);
        let table = entry["table"].as_str().expect("table");
        create_table(&mut db, table);
        let config = fixtures::combine(
            &fixtures::named(entry, "base"),
            &fixtures::named(entry, "fragment"),
        );
        assert_eq!(api::check_config(&mut db, &config), [], "{label}");
        let name = create_as_the_brief_builds_it(&mut db, entry, &config)
            .unwrap_or_else(|e| panic!("{label}: {e}"));
        assert_listed(&mut db, &name, entry, &config, &label);
        everything_seen |= entry["fragment"] == "everything.json";
        api::on_sync(&mut db, "drop_sync", &name).unwrap();
        db.batch_execute(&format!("DROP TABLE {table}")).unwrap();
    }
    assert!(
        everything_seen,
        "everything.json is one of the combinations"
    );

    for entry in combinations["hubs"].as_array().expect("hubs") {
        let config = fixtures::named(entry, "fragment");
        let name: String = db
            .query_one("SELECT hubsync.create_hub($1)", &[&config])
            .unwrap_or_else(|e| panic!("create_hub {}: {e}", entry["fragment"]))
            .get(0);
        assert_eq!(name, entry["expect"]["name"].as_str().unwrap());
        // hubsync.hubs now lists mirrored objects; the stored block is in hubsync.hub.
        let systems: Value = db
            .query_one(
                "SELECT config -> 'connected_systems' FROM hubsync.hub WHERE name = $1",
                &[&name],
            )
            .unwrap()
            .get(0);
        assert_eq!(systems, config["connected_systems"]);
        let names: Vec<&str> = systems
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["system"].as_str().unwrap())
            .collect();
        assert_eq!(json!(names), entry["expect"]["systems"]);

        let again = db.query_one("SELECT hubsync.create_hub($1)", &[&config]);
        assert_refused_at(&refused(again, "a second hub"), "42710", "", "hub");
    }
    let bad_hub =
        json!({"sync_hub": "h", "connected_systems": [{"system": "sap", "objects": ["X"]}]});
    let error = refused(
        db.query_one("SELECT hubsync.create_hub($1)", &[&bad_hub]),
        "a hub of an unknown system",
    );
    assert_refused_at(
        &error,
        "22023",
        "connected_systems[0].system",
        "unknown hub system",
    );
}

// ---------------------------------------------------------------------------------------
// 2. Malformed configs: refused with their path and SQLSTATE, nothing half-created.

/// `GRANT <rights> ON accounts TO <role>` for a fixture's `rights` object.
fn grant(owner: &mut Client, rights: &serde_json::Map<String, Value>, role: &str) {
    let granted: Vec<String> = rights
        .iter()
        .filter(|(_, on)| on.as_bool() == Some(true))
        .map(|(right, _)| right.to_uppercase())
        .collect();
    owner
        .batch_execute(&format!(
            "GRANT {} ON accounts TO {role}",
            granted.join(", ")
        ))
        .expect("grant");
}

/// Replays one case of `malformed.json` through `create_sync` and `check_config`.
fn assert_malformed_case_refused(case: &Value, app: &mut Client, reader: &mut Client) {
    let label = case["name"].as_str().expect("name");
    let (path, sqlstate) = (
        case["path"].as_str().unwrap(),
        case["sqlstate"].as_str().unwrap(),
    );
    let fragment = case["contains"].as_str().unwrap_or_default();
    let config = fixtures::combine(&fixtures::named(case, "base"), &case["patch"]);
    app.batch_execute("DROP TABLE IF EXISTS accounts").unwrap();
    if let Some(table) = case["table"].as_str() {
        create_table(app, table);
    }
    let caller = match case["rights"].as_object() {
        Some(rights) => {
            grant(app, rights, "reader");
            reader
        }
        None => app,
    };
    let error = refused(api::create_sync(caller, &config), label);
    assert_refused_at(&error, sqlstate, path, label);
    assert!(
        error.message().contains(fragment),
        "{label}: '{fragment}' is not in: {}",
        error.message()
    );
    let problems = api::check_config(caller, &config);
    let found: Vec<(&str, &str)> = problems
        .iter()
        .map(|p| (p.path.as_str(), p.sqlstate.as_str()))
        .collect();
    assert_eq!(found, [(path, sqlstate)], "{label}: {problems:#?}");
    assert!(problems[0].problem.contains(fragment), "{label}");
}

#[test]
fn malformed_configs_are_refused_with_their_path_and_leave_nothing_behind() {
    let (_cluster, mut admin, [mut app, mut reader]) =
        cluster_with_roles("malformed", ["app", "reader"]);

    let cases = fixtures::json("malformed.json")["cases"]
        .as_array()
        .expect("cases")
        .clone();
    assert!(cases.len() >= 30, "at least 30 malformed configs");
    for case in &cases {
        assert_malformed_case_refused(case, &mut app, &mut reader);
        assert_eq!(
            footprint(&mut admin),
            [0; 5],
            "{}: something was created",
            case["name"]
        );
    }

    // Several mistakes: check_config lists them all, create_sync raises the first and
    // lists all of them in its detail.
    create_table(&mut app, "accounts");
    let config = fixtures::combine(
        &accounts(),
        &json!({
            "sync_type": "one-way",
            "field_mappings": [{"source": "Id", "target": "sf_id"}, {"source": "Account Name", "target": "account_name"}],
            "performance_settings": {"parallelism": 0},
            "monitoring": {"alerting": {"error_rate_threshold": 5}}
        }),
    );
    let problems = api::check_config(&mut app, &config);
    let mut paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
    paths.sort_unstable();
    assert_eq!(
        paths,
        [
            "field_mappings[1].source",
            "monitoring.alerting.error_rate_threshold",
            "performance_settings.parallelism",
            "sync_type",
        ],
        "{problems:#?}"
    );
    assert!(problems.iter().all(|p| p.sqlstate == "22023"));
    let error = refused(api::create_sync(&mut app, &config), "four mistakes");
    assert_refused_at(&error, "22023", &problems[0].path, "four mistakes");
    let detail = error.detail().unwrap_or_default();
    assert!(detail.starts_with("4 problems:"), "{detail}");
    for problem in &problems {
        assert!(detail.contains(&problem.path), "{detail}");
    }
    assert!(
        error.hint().unwrap_or_default().contains("check_config"),
        "{error:?}"
    );

    refused_on_the_table_and_nothing_kept(&mut app, &mut admin);
}

/// Table-level refusals (missing table, missing column, no primary key, duplicate name),
/// each for a config that carries secrets: neither the sync, its triggers nor the secrets stay.
fn refused_on_the_table_and_nothing_kept(app: &mut Client, admin: &mut Client) {
    let with_secrets = |patch: Value| {
        let secret =
            json!({"source": {"credentials": {"client_id": "ck", "client_secret": "cs-first"}}});
        fixtures::combine(&fixtures::combine(&accounts(), &secret), &patch)
    };
    let cases = [
        (
            "missing table",
            None,
            json!({}),
            (
                "42P01",
                "target.table",
                "relation \"public.accounts\" does not exist",
            ),
        ),
        (
            "missing column",
            Some("accounts"),
            json!({"field_mappings": [{"source": "Id", "target": "sf_id"}, {"source": "Website", "target": "website"}]}),
            (
                "42703",
                "field_mappings[1].target",
                "column \"website\" does not exist",
            ),
        ),
        (
            "no primary key",
            Some("accounts_no_primary_key"),
            json!({}),
            ("42P10", "target.table", "has no primary key"),
        ),
    ];
    for (label, table, patch, (sqlstate, path, says)) in cases {
        app.batch_execute("DROP TABLE IF EXISTS accounts").unwrap();
        if let Some(table) = table {
            create_table(app, table);
        }
        let error = refused(api::create_sync(app, &with_secrets(patch)), label);
        assert_refused_at(&error, sqlstate, path, label);
        assert!(
            error.message().contains(says),
            "{label}: {}",
            error.message()
        );
        assert_eq!(footprint(admin), [0; 5], "{label}: something was created");
    }

    // A duplicate name: refused at the key the name came from; the first sync's secrets stay.
    create_table(app, "accounts");
    let first = api::create_sync(app, &with_secrets(json!({}))).expect("the first sync");
    let before = footprint(admin);
    let again = with_secrets(json!({"source": {"credentials": {"client_secret": "cs-second"}}}));
    let error = refused(api::create_sync(app, &again), "duplicate");
    assert_refused_at(&error, "42710", "connection_name", "duplicate");
    assert!(error.message().contains(&first), "{}", error.message());
    let named = fixtures::combine(&again, &json!({"name": first}));
    let error = refused(api::create_sync(app, &named), "duplicate by name");
    assert_refused_at(&error, "42710", "name", "duplicate by name");
    assert_eq!(
        footprint(admin),
        before,
        "a refused duplicate changed something"
    );
    let secret: Value = admin
        .query_one("SELECT secret FROM hubsync.credentials", &[])
        .unwrap()
        .get(0);
    assert_eq!(secret["client_secret"], "cs-first");
}

// ---------------------------------------------------------------------------------------
// 3. Privileges: only a table's owner (or a role with the rights the sync needs) creates a
//    sync on it; only the sync's owner changes it; credentials belong to who stored them.

#[test]
fn only_owners_create_change_and_replace_credentials() {
    let (_cluster, mut admin, [mut alice, mut mallory]) =
        cluster_with_roles("privileges", ["alice", "mallory"]);
    create_table(&mut alice, "accounts");

    let error = refused(api::create_sync(&mut mallory, &accounts()), "no rights");
    assert_refused_at(&error, "42501", "target.table", "no rights");
    assert!(
        error
            .message()
            .contains("needs SELECT, INSERT, UPDATE, DELETE, TRIGGER on it"),
        "{}",
        error.message()
    );
    alice
        .batch_execute("GRANT SELECT, INSERT, UPDATE, DELETE ON accounts TO mallory")
        .unwrap();
    let error = refused(api::create_sync(&mut mallory, &accounts()), "no TRIGGER");
    assert_refused_at(&error, "42501", "target.table", "no TRIGGER");
    assert!(
        error.message().contains("needs TRIGGER"),
        "{}",
        error.message()
    );
    assert_eq!(footprint(&mut admin), [0; 5]);

    let name = api::create_sync(&mut alice, &accounts()).expect("the owner creates a sync");
    assert_eq!(
        column(&mut alice, "syncs", "owner", &name).unwrap(),
        "alice"
    );
    let config = stored_config(&mut alice, &name);

    for function in ["pause_sync", "resume_sync", "drop_sync", "retry_all"] {
        let error = refused(api::on_sync(&mut mallory, function, &name), function);
        assert_refused_at(&error, "42501", "", function);
        assert!(error.message().contains(&name), "{}", error.message());
    }
    let patch = json!({"performance_settings": {"batch_size": 10}});
    let error = refused(api::alter_sync(&mut mallory, &name, &patch), "alter");
    assert_refused_at(&error, "42501", "", "alter");
    assert_eq!(stored_config(&mut alice, &name), config);
    assert_eq!(
        column(&mut alice, "syncs", "state", &name).unwrap(),
        "active"
    );

    // Credentials belong to the role that stored them, through either function.
    let connection = "SF_Postgres_Accounts";
    let alices = json!({"client_id": "ck-alice", "client_secret": "cs-alice"});
    api::set_credentials(&mut alice, connection, &alices).expect("store credentials");
    let theirs = json!({"client_id": "ck-mallory", "client_secret": "cs-mallory"});
    let error = refused(
        api::set_credentials(&mut mallory, connection, &theirs),
        "replace",
    );
    assert_refused_at(&error, "42501", "", "replace another role's credentials");
    create_table(&mut mallory, "contacts");
    let hijack = fixtures::combine(
        &fixtures::json("bases/contacts.json"),
        &json!({"name": "mallory_contacts", "connection_name": connection,
                "source": {"credentials": theirs}}),
    );
    let before = footprint(&mut admin);
    let error = refused(api::create_sync(&mut mallory, &hijack), "hijack");
    assert_refused_at(
        &error,
        "42501",
        "",
        "replace credentials through create_sync",
    );
    assert_eq!(
        footprint(&mut admin),
        before,
        "the refused sync left something"
    );
    let (secret, owner): (Value, String) = admin
        .query_one(
            "SELECT secret, owner::text FROM hubsync.credentials WHERE connection = $1",
            &[&connection],
        )
        .map(|r| (r.get(0), r.get(1)))
        .unwrap();
    assert_eq!((secret, owner.as_str()), (alices, "alice"));

    // The owner still manages the sync.
    for function in ["pause_sync", "resume_sync", "drop_sync"] {
        api::on_sync(&mut alice, function, &name).unwrap_or_else(|e| panic!("{function}: {e}"));
    }
}

// ---------------------------------------------------------------------------------------
// 4. Secrets: moved out of the config into the credentials table, shown nowhere.

/// Secret values, distinctive enough that finding one anywhere means it leaked.
const SECRETS: [&str; 8] = [
    "cs-7Hq2-NEVER-SHOWN",
    "rt-9Zx4-NEVER-SHOWN",
    "pg-3Kd8-NEVER-SHOWN",
    "cs-5Tr1-NEVER-SHOWN",
    "rt-2Wm6-NEVER-SHOWN",
    "cs-8Lp0-NEVER-SHOWN",
    "pw-4Nv9-NEVER-SHOWN",
    "rt-6Bc3-NEVER-SHOWN",
];

fn assert_no_secret(text: &str, place: &str) {
    for secret in SECRETS {
        assert!(
            !text.contains(secret),
            "{secret} appears in {place}:\n{text}"
        );
    }
}

/// A local port nothing listens on: connections to it are refused at once.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("address").port()
}

/// Every row of every view and readable table of schema hubsync, as text.
fn everything_shown(db: &mut Client) -> Vec<(String, String)> {
    let relations: Vec<String> = first_column(
        db,
        "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = 'hubsync' AND c.relkind IN ('r', 'v') AND c.relname <> 'credentials'",
    );
    assert!(
        relations.iter().any(|r| r == "review_queue"),
        "{relations:?}"
    );
    relations
        .into_iter()
        .map(|relation| {
            let text: String = db
                .query_one(
                    &format!(
                        "SELECT coalesce(string_agg(to_jsonb(t)::text, E'\\n'), '') FROM hubsync.{relation} t"
                    ),
                    &[],
                )
                .unwrap_or_else(|e| panic!("read hubsync.{relation}: {e}"))
                .get(0);
            (relation, text)
        })
        .collect()
}

#[test]
fn secrets_live_only_in_the_credentials_table() {
    let (cluster, mut admin, [mut alice, mut mallory]) =
        cluster_with_roles("secrets", ["alice", "mallory"]);
    create_table(&mut alice, "customers");

    let unreachable = format!("http://127.0.0.1:{}", closed_port());
    let config = fixtures::combine(
        &fixtures::json("bases/customers.json"),
        &json!({
            "name": "secret_customers",
            "connection_name": "SecretOrg",
            "source": {"credentials": {
                "instance_url": unreachable, "login_url": unreachable,
                "client_id": "ck-public", "client_secret": SECRETS[0], "refresh_token": SECRETS[1]}},
            "target": {"credentials": {"user": "sync_user", "password": SECRETS[2]}}
        }),
    );
    let name = api::create_sync(&mut alice, &config).expect("create the sync");

    // The config is kept without its secrets; the remote end's are in hubsync.credentials.
    let shown = stored_config(&mut alice, &name);
    assert_eq!(
        shown["source"]["credentials"],
        json!({"auth_type": "oauth2", "instance_url": unreachable, "login_url": unreachable})
    );
    assert_eq!(shown["target"]["credentials"], json!({"user": "sync_user"}));
    let stored: Value = mallory
        .query_one("SELECT config FROM hubsync.sync WHERE name = $1", &[&name])
        .unwrap()
        .get(0);
    assert_eq!(stored, shown);
    let (secret, owner): (Value, String) = admin
        .query_one(
            "SELECT secret, owner::text FROM hubsync.credentials WHERE connection = 'SecretOrg'",
            &[],
        )
        .map(|r| (r.get(0), r.get(1)))
        .unwrap();
    assert_eq!(
        secret,
        json!({"client_id": "ck-public", "client_secret": SECRETS[0], "refresh_token": SECRETS[1]})
    );
    assert_eq!(owner, "alice");
    for role in [&mut alice, &mut mallory] {
        let error = refused(
            role.query("SELECT * FROM hubsync.credentials", &[]),
            "read credentials",
        );
        assert_eq!(error.code().code(), "42501", "{}", error.message());
    }

    // A patch carrying secrets moves them too, replacing the connection's set as a whole.
    let rotated = json!({"client_id": "ck-public", "refresh_token": SECRETS[7]});
    let patch = json!({"source": {"credentials": rotated}});
    api::alter_sync(&mut alice, &name, &patch).expect("alter with new secrets");
    assert_eq!(stored_config(&mut alice, &name), shown);
    let secret: Value = admin
        .query_one(
            "SELECT secret FROM hubsync.credentials WHERE connection = 'SecretOrg'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(secret, rotated);

    // Let the worker use these secrets against a closed port and record its failure.
    alice
        .batch_execute("INSERT INTO customers (full_name, email) VALUES ('Ada', 'ada@example.com')")
        .unwrap();
    wait_until(PATIENCE, "the worker to fail to connect", || {
        column(&mut admin, "status", "connection_state", &name)
            .filter(|s| s != "unknown" && s != "ok")
    });
    assert!(column(&mut admin, "status", "problem", &name).is_some());

    malformed_secrets_are_not_echoed(&mut alice);

    for (relation, text) in everything_shown(&mut admin) {
        assert_no_secret(&text, &format!("hubsync.{relation}"));
    }
    let log = cluster.log();
    // Failed statements are logged with their text, except those that handled secrets.
    assert!(
        log.contains("invalid credentials")
            && log.contains("STATEMENT:  SELECT * FROM hubsync.credentials"),
        "the refusals above are in the server log:\n{log}"
    );
    assert_no_secret(&log, "the server log");
}

/// Secrets in malformed input are refused without repeating them, in the message, the
/// detail, the hint or the server log, whether passed as parameters or as literals.
fn malformed_secrets_are_not_echoed(db: &mut Client) {
    let customers = fixtures::json("bases/customers.json");
    let no_grant = fixtures::combine(
        &customers,
        &json!({"source": {"credentials": {"client_secret": SECRETS[3]}}}),
    );
    let error = refused(api::create_sync(db, &no_grant), "a secret granting nothing");
    assert_refused_at(
        &error,
        "22023",
        "source.credentials",
        "a secret granting nothing",
    );
    assert_no_secret(&full_text(&error), "the error");

    let cases = [
        json!({"refresh_token": SECRETS[4]}),
        json!({"client_id": "ck", "client_secret": [SECRETS[5]]}),
        json!({"client_id": "ck", "client_secret": "cs", "username": "u", "pasword": SECRETS[6]}),
    ];
    for secret in cases {
        let error = refused(api::set_credentials(db, "Other", &secret), "bad secret");
        assert_eq!(error.code().code(), "22023", "{}", error.message());
        assert_no_secret(&full_text(&error), "the error");
    }
    let literal = format!(
        "SELECT hubsync.set_credentials('Other', '{{\"client_id\": \"ck\", \"refresh_tokn\": \"{}\"}}')",
        SECRETS[4]
    );
    let error = refused(db.batch_execute(&literal), "a literal bad secret");
    assert_no_secret(&full_text(&error), "the error");
}

// ---------------------------------------------------------------------------------------
// 5. alter_sync, pause and resume, TRUNCATE, drop_sync; 6. the status view's worker.

/// A connection as `user` whose NOTICE messages are collected.
fn connect_collecting_notices(cluster: &Cluster, user: &str) -> (Client, Arc<Mutex<Vec<String>>>) {
    let notices = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&notices);
    let client = cluster
        .config_as(DATABASE, user)
        .notice_callback(move |notice| {
            sink.lock()
                .expect("notice list")
                .push(notice.message().to_string())
        })
        .connect(NoTls)
        .expect("connect");
    (client, notices)
}

#[test]
fn syncs_are_altered_paused_resumed_and_dropped() {
    let cluster = Cluster::start("lifecycle", &[]);
    let mut admin = cluster.client();
    create_roles(&mut admin, &["app"]);
    let (mut app, notices) = connect_collecting_notices(&cluster, "app");
    create_table(&mut app, "accounts");
    let name = api::create_sync(&mut app, &accounts()).expect("create the sync");
    let id: i32 = app
        .query_one("SELECT id FROM hubsync.sync WHERE name = $1", &[&name])
        .unwrap()
        .get(0);
    let both = vec![
        format!("hubsync_capture_{id}"),
        format!("hubsync_truncate_{id}"),
    ];
    let guard_only = both[1..].to_vec();
    assert_eq!(triggers(&mut app, "accounts"), both);
    wait_until(
        PATIENCE,
        "hubsync.status to show the worker running",
        || column(&mut app, "status", "worker", &name).filter(|w| w == "running"),
    );

    // A brief block as a patch.
    let performance = fixtures::json("brief/08_performance_settings.json");
    api::alter_sync(&mut app, &name, &performance).expect("apply performance_settings");
    assert!(fixtures::same_json(
        &stored_config(&mut app, &name),
        &fixtures::combine(&accounts(), &performance)
    ));

    // One way (pull only) needs no capture trigger; the TRUNCATE guard stays. Then back.
    api::alter_sync(&mut app, &name, &fixtures::json("brief/02_one_way.json")).unwrap();
    assert_eq!(
        column(&mut app, "syncs", "direction", &name).unwrap(),
        "to_local"
    );
    assert_eq!(triggers(&mut app, "accounts"), guard_only);
    let both_ways =
        json!({"sync_type": "bidirectional", "source_to_target": null, "target_to_source": null});
    api::alter_sync(&mut app, &name, &both_ways).unwrap();
    assert_eq!(
        column(&mut app, "syncs", "direction", &name).unwrap(),
        "bidirectional"
    );
    assert_eq!(triggers(&mut app, "accounts"), both);

    // An invalid patch changes nothing; nor can a patch rename the sync.
    let before = (
        stored_config(&mut app, &name),
        column(&mut app, "syncs", "updated_at", &name),
    );
    let bad = json!({"performance_settings": {"parallelism": 0}});
    let error = refused(api::alter_sync(&mut app, &name, &bad), "invalid patch");
    assert_refused_at(
        &error,
        "22023",
        "performance_settings.parallelism",
        "invalid patch",
    );
    let rename = json!({"connection_name": "Renamed"});
    let error = refused(api::alter_sync(&mut app, &name, &rename), "rename");
    assert_eq!(error.code().code(), "0A000", "{}", error.message());
    let other_object = json!({"source": {"object": "Contact"}});
    let error = refused(
        api::alter_sync(&mut app, &name, &other_object),
        "another object",
    );
    assert_eq!(error.code().code(), "0A000", "{}", error.message());
    let after = (
        stored_config(&mut app, &name),
        column(&mut app, "syncs", "updated_at", &name),
    );
    assert_eq!(after, before);
    assert_eq!(triggers(&mut app, "accounts"), both);

    // The connection (whose credentials the sync uses) can change; the row follows.
    let reconnect = json!({"name": name, "connection_name": "OtherOrg"});
    api::alter_sync(&mut app, &name, &reconnect).expect("use another connection");
    assert_eq!(
        column(&mut app, "syncs", "connection", &name).unwrap(),
        "OtherOrg"
    );

    // TRUNCATE would bypass capture: refused while active, allowed while paused.
    let truncate = |db: &mut Client| db.batch_execute("TRUNCATE accounts");
    let error = refused(truncate(&mut app), "TRUNCATE while active");
    assert_eq!(error.code().code(), "55000", "{}", error.message());
    assert!(error.message().contains(&name), "{}", error.message());
    assert!(
        error.hint().unwrap_or_default().contains("pause_sync"),
        "{error:?}"
    );
    api::on_sync(&mut app, "pause_sync", &name).unwrap();
    for view in ["syncs", "status"] {
        assert_eq!(column(&mut app, view, "state", &name).unwrap(), "paused");
    }
    truncate(&mut app).expect("TRUNCATE while paused");
    api::on_sync(&mut app, "resume_sync", &name).unwrap();
    for view in ["syncs", "status"] {
        assert_eq!(column(&mut app, view, "state", &name).unwrap(), "active");
    }
    assert_eq!(
        refused(truncate(&mut app), "TRUNCATE after resume")
            .code()
            .code(),
        "55000"
    );

    // Changes made while paused wait in the outbox; dropping the sync says it discards them.
    api::on_sync(&mut app, "pause_sync", &name).unwrap();
    app.batch_execute("INSERT INTO accounts (account_name) VALUES ('a'), ('b'), ('c')")
        .unwrap();
    assert_eq!(column(&mut app, "status", "backlog", &name).unwrap(), "3");
    notices.lock().unwrap().clear();
    api::on_sync(&mut app, "drop_sync", &name).expect("drop the sync");
    let said = notices.lock().unwrap().join("\n");
    assert!(
        said.contains("3 captured changes not yet pushed"),
        "drop_sync said: {said}"
    );
    assert_eq!(triggers(&mut app, "accounts"), Vec::<String>::new());
    assert_eq!(footprint(&mut admin), [0; 5]);
    let left: i64 = admin
        .query_one(
            "SELECT count(*) FROM hubsync.outbox WHERE sync_id = $1",
            &[&id],
        )
        .unwrap()
        .get(0);
    assert_eq!(left, 0);
    truncate(&mut app).expect("TRUNCATE without a sync");
    let error = refused(api::on_sync(&mut app, "drop_sync", &name), "drop twice");
    assert_eq!(error.code().code(), "42704", "{}", error.message());

    // In a database the worker does not serve, the status says which one it serves.
    admin.batch_execute("CREATE DATABASE elsewhere").unwrap();
    let mut elsewhere = cluster.connect("elsewhere");
    elsewhere.batch_execute("CREATE EXTENSION hubsync").unwrap();
    create_table(&mut elsewhere, "accounts");
    let there = api::create_sync(&mut elsewhere, &accounts()).unwrap();
    assert_eq!(
        column(&mut elsewhere, "status", "worker", &there).unwrap(),
        format!("not serving this database (hubsync.database = {DATABASE})")
    );
}

#[test]
fn without_the_worker_syncs_are_created_and_status_says_no_worker_runs() {
    let cluster = Cluster::start("nopreload", &[("shared_preload_libraries", "''")]);
    let mut db = cluster.client();
    create_table(&mut db, "accounts");
    let name = api::create_sync(&mut db, &accounts()).expect("create_sync without the worker");
    let worker = column(&mut db, "status", "worker", &name).unwrap();
    assert!(
        worker.contains("not running") && worker.contains("shared_preload_libraries"),
        "{worker}"
    );
    db.batch_execute("INSERT INTO accounts (account_name) VALUES ('Acme')")
        .expect("capture without the worker");
    assert_eq!(column(&mut db, "status", "backlog", &name).unwrap(), "1");
}
