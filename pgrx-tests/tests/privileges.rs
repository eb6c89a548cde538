//! Attacks on hubsync's privileges, made the way an ordinary role would make them: a LOGIN
//! role over a real connection to a cluster running hubsync. Each test tries to gain a
//! right hubsync must not hand out, and asserts that it is not gained.
//!
//! `alice` owns the brief's `accounts` table and its sync; `mallory` is an ordinary role
//! (allowed to create tables in `public`, and given what each attack needs on `accounts`).

use hubsync_core::config::merge_patch;
use hubsync_e2e::{
    api, create_pointed_sync, fast_polling, fixtures, kill_worker, scalar, wait_for_reading,
    wait_for_value, wait_until, Cluster, Remote, CLIENT_ID, CLIENT_SECRET, DATABASE,
};
use postgres::Client;
use serde_json::{json, Value};
use std::time::Duration;

const PATIENCE: Duration = Duration::from_secs(120);

/// A cluster where `alice` owns `accounts` and the brief's sync of it, and `mallory` exists.
struct Tenants {
    cluster: Cluster,
    remote: Remote,
    admin: Client,
    alice: Client,
    mallory: Client,
    sync: String,
}

/// Starts the tenants' cluster: `alice` runs `setup` (after creating `accounts`, before the
/// sync exists), then creates the brief's sync with `patch` merged in, pointed at `remote`.
fn tenants(name: &str, remote: Remote, setup: &str, patch: Value) -> Tenants {
    let cluster = Cluster::start(name, &[]);
    let mut admin = cluster.client();
    admin
        .batch_execute(
            "CREATE ROLE alice LOGIN; CREATE ROLE mallory LOGIN; \
             GRANT CREATE ON SCHEMA public TO alice, mallory;",
        )
        .expect("create roles");
    let mut alice = cluster.connect_as(DATABASE, "alice");
    alice
        .batch_execute(&fixtures::text("tables/accounts.sql"))
        .expect("create accounts");
    alice.batch_execute(setup).expect("alice's setup");
    let sync = create_sync_for(&mut alice, &remote, patch);
    let mallory = cluster.connect_as(DATABASE, "mallory");
    Tenants {
        cluster,
        remote,
        admin,
        alice,
        mallory,
        sync,
    }
}

/// The brief's sync of `accounts` with `patch`, created by `db`'s role with its credentials.
fn create_sync_for(db: &mut Client, remote: &Remote, patch: Value) -> String {
    create_pointed_sync(
        db,
        remote,
        &fixtures::json("bases/accounts_full.json"),
        &patch,
    )
}

/// Asserts that `result` is a `42501` refusal.
fn assert_forbidden(result: Result<(), postgres::Error>, what: &str) {
    let error = result.err().unwrap_or_else(|| panic!("{what} was allowed"));
    assert_eq!(sqlstate(&error), "42501", "{what}: {error:?}");
}

/// The SQLSTATE of a failed statement.
fn sqlstate(error: &postgres::Error) -> String {
    error
        .code()
        .map(|c| c.code().to_string())
        .unwrap_or_else(|| panic!("no SQLSTATE in {error}"))
}

/// Runs `sql`, which must fail with `code`; returns the message.
fn refused(db: &mut Client, sql: &str, code: &str) -> String {
    let error = db
        .batch_execute(sql)
        .err()
        .unwrap_or_else(|| panic!("this was allowed: {sql}"));
    assert_eq!(sqlstate(&error), code, "{sql}: {error:?}");
    error
        .as_db_error()
        .map(|e| e.message().to_string())
        .unwrap_or_default()
}

/// Names of the remote accounts.
fn remote_names(remote: &Remote) -> Vec<String> {
    remote
        .query("SELECT Name FROM Account", false)
        .iter()
        .filter_map(|r| r["Name"].as_str().map(str::to_string))
        .collect()
}

/// The sync's connection state and problem, as `hubsync.status` shows them.
fn health(db: &mut Client, sync: &str) -> (String, String) {
    let row = db
        .query_one(
            "SELECT coalesce(connection_state, ''), coalesce(problem, '') FROM hubsync.status WHERE name = $1",
            &[&sync],
        )
        .expect("read hubsync.status");
    (row.get(0), row.get(1))
}

/// Waits until the sync's connection state is `state`; returns its problem.
fn wait_for_health(db: &mut Client, sync: &str, state: &str) -> String {
    let what = format!("{sync} to be {state}");
    wait_for_reading(
        PATIENCE,
        &what,
        || health(db, sync),
        |(now, _)| now == state,
    )
    .1
}

// ---------------------------------------------------------------------------------------
// The capture trigger: attached elsewhere, fed hostile names, silenced by a writer.

#[test]
fn capture_cannot_be_forged_hijacked_or_silenced() {
    let mut t = tenants("forge", Remote::start(), "", fast_polling());
    let sync_id: i32 = scalar(&mut t.admin, "SELECT id FROM hubsync.sync");
    let outbox = "SELECT count(*) FROM hubsync.outbox";

    // 1. Attaching capture() to one's own table, naming alice's sync.
    t.mallory
        .batch_execute("CREATE TABLE mine (id int PRIMARY KEY, account_name text)")
        .unwrap();
    let forge = format!(
        "CREATE TRIGGER forged AFTER INSERT ON public.mine FOR EACH ROW \
         EXECUTE FUNCTION hubsync.capture('{sync_id}', 'salesforce', '1', 'id', 'account_name')"
    );
    refused(&mut t.mallory, &forge, "42501");
    refused(
        &mut t.mallory,
        &format!(
            "CREATE TRIGGER guard BEFORE TRUNCATE ON public.mine FOR EACH STATEMENT \
             EXECUTE FUNCTION hubsync.guard_truncate('{sync_id}')"
        ),
        "42501",
    );
    // Attached anyway (as a superuser could), it refuses to capture for a table not its sync's.
    t.admin.batch_execute(&forge).unwrap();
    let message = refused(
        &mut t.mallory,
        "INSERT INTO mine VALUES (1, 'Forged')",
        "42501",
    );
    assert!(message.contains("does not sync table"), "{message}");
    assert_eq!(scalar::<i64>(&mut t.admin, outbox), 0);
    t.admin
        .batch_execute("DROP TRIGGER forged ON public.mine")
        .unwrap();

    // 2. Temp-schema types and domains, and an operator ahead of pg_catalog, while writing
    //    alice's table: the outbox insert runs as the outbox's owner.
    t.alice
        .batch_execute(
            "GRANT INSERT, UPDATE ON accounts TO mallory; \
             GRANT USAGE ON SEQUENCE accounts_id_seq TO mallory",
        )
        .unwrap();
    t.mallory
        .batch_execute(
            "CREATE TABLE public.loot (who text, superuser text); \
             GRANT ALL ON public.loot TO PUBLIC; \
             CREATE FUNCTION public.escalate(anyelement) RETURNS boolean LANGUAGE plpgsql AS $$ \
             BEGIN \
                 INSERT INTO public.loot SELECT current_user, rolsuper::text FROM pg_catalog.pg_roles WHERE rolname = current_user; \
                 BEGIN EXECUTE 'ALTER ROLE mallory SUPERUSER'; EXCEPTION WHEN OTHERS THEN NULL; END; \
                 RETURN true; \
             END $$; \
             CREATE DOMAIN pg_temp.jsonb AS pg_catalog.jsonb CHECK (public.escalate(VALUE)); \
             CREATE DOMAIN pg_temp.\"char\" AS pg_catalog.\"char\" CHECK (public.escalate(VALUE)); \
             CREATE FUNCTION public.spy_eq(integer, integer) RETURNS boolean LANGUAGE sql \
                 AS 'SELECT public.escalate($1) AND $1 OPERATOR(pg_catalog.=) $2'; \
             CREATE OPERATOR public.= (LEFTARG = integer, RIGHTARG = integer, FUNCTION = public.spy_eq); \
             SET search_path = public, pg_catalog; \
             INSERT INTO public.accounts (account_name) VALUES ('Through the domain');",
        )
        .expect("mallory may write the synced table");
    let superuser: bool = scalar(
        &mut t.admin,
        "SELECT rolsuper FROM pg_roles WHERE rolname = 'mallory'",
    );
    assert!(!superuser, "mallory made herself superuser");
    let stolen: i64 = scalar(
        &mut t.admin,
        "SELECT count(*) FROM public.loot WHERE superuser = 'true' OR who <> 'mallory'",
    );
    assert_eq!(stolen, 0, "mallory's code ran with someone else's rights");

    // 3. The origin tag silences capture only for roles acting for the sync's owner.
    t.mallory
        .batch_execute(
            "BEGIN; SET LOCAL hubsync.origin = 'salesforce'; \
             INSERT INTO public.accounts (account_name) VALUES ('Mallory tried to hide'); COMMIT;",
        )
        .unwrap();
    t.alice
        .batch_execute(
            "BEGIN; SET LOCAL hubsync.origin = 'salesforce'; \
             INSERT INTO accounts (account_name) VALUES ('Alice kept local'); COMMIT;",
        )
        .unwrap();
    wait_until(PATIENCE, "mallory's rows to be pushed", || {
        let names = remote_names(&t.remote);
        (names.iter().any(|n| n == "Through the domain")
            && names.iter().any(|n| n == "Mallory tried to hide"))
        .then_some(())
    });
    let idle: bool = t
        .alice
        .query_one("SELECT hubsync.wait_for_idle($1)", &[&t.sync])
        .unwrap()
        .get(0);
    assert!(idle);
    assert!(
        !remote_names(&t.remote).contains(&"Alice kept local".to_string()),
        "the owner's origin tag was not honoured"
    );

    // The tag's provenance (which sync wrote a change, for conflict rules between hub
    // spokes) is recorded only for the owner's writes too.
    t.alice
        .execute("SELECT hubsync.pause_sync($1)", &[&t.sync])
        .unwrap();
    for (db, name) in [
        (&mut t.mallory, "Mallory forged"),
        (&mut t.alice, "Alice relayed"),
    ] {
        db.batch_execute(&format!(
            "BEGIN; SET LOCAL hubsync.origin = 'sync:424242'; \
             INSERT INTO public.accounts (account_name) VALUES ('{name}'); COMMIT;"
        ))
        .unwrap();
    }
    let origins: Vec<(String, Option<i32>)> = t
        .admin
        .query(
            "SELECT new->>'account_name', origin FROM hubsync.outbox \
             WHERE new->>'account_name' IN ('Mallory forged', 'Alice relayed') ORDER BY 1",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(
        origins,
        [
            ("Alice relayed".to_string(), Some(424242)),
            ("Mallory forged".to_string(), None)
        ]
    );
    t.alice
        .execute("SELECT hubsync.resume_sync($1)", &[&t.sync])
        .unwrap();

    // 4. Values stay with the syncs a role manages, even through a leaky function.
    let mine: i64 = scalar(&mut t.alice, "SELECT count(*) FROM hubsync.record_status");
    assert!(mine > 0, "alice sees her own records");
    t.mallory
        .batch_execute(
            "CREATE FUNCTION public.peek(jsonb) RETURNS boolean LANGUAGE plpgsql COST 0.0001 AS $$ \
             BEGIN INSERT INTO public.loot VALUES ($1::text, 'peeked'); RETURN true; END $$",
        )
        .unwrap();
    for view in ["record_status", "review_queue", "conflicts"] {
        let seen: i64 = scalar(
            &mut t.mallory,
            &format!("SELECT count(*) FROM hubsync.{view} WHERE public.peek(to_jsonb(record_key))"),
        );
        assert_eq!(seen, 0, "mallory sees alice's {view}");
    }
    let peeked: i64 = scalar(
        &mut t.admin,
        "SELECT count(*) FROM public.loot WHERE superuser = 'peeked'",
    );
    assert_eq!(peeked, 0, "a leaky function saw rows the view hides");
    refused(&mut t.mallory, "SELECT * FROM hubsync.log", "42501");
    refused(&mut t.mallory, "SELECT * FROM hubsync.sync_stats", "42501");
    // The bulk jobs a worker must finish, and the launcher's wake-up, are the worker's.
    refused(&mut t.mallory, "SELECT * FROM hubsync.bulk_job", "42501");
    refused(&mut t.mallory, "DELETE FROM hubsync.bulk_job", "42501");
    refused(&mut t.mallory, "SELECT hubsync.wake_launcher()", "42501");
    let error: Option<String> = scalar(
        &mut t.mallory,
        &format!(
            "SELECT last_error FROM hubsync.status WHERE name = '{}'",
            t.sync
        ),
    );
    assert_eq!(error, None);
}

// ---------------------------------------------------------------------------------------
// Connections: credentials belong to the role that stored them.

#[test]
fn connections_cannot_be_borrowed() {
    let mut t = tenants("connections", Remote::start(), "", json!({}));
    t.mallory
        .batch_execute(&fixtures::text("tables/accounts.sql").replace("accounts", "m_accounts"))
        .unwrap();
    let mine = |name: &str, connection: &str| {
        merge_patch(
            &fixtures::json("bases/accounts_full.json"),
            &json!({"name": name, "connection_name": connection, "target": {"table": "m_accounts"},
                    "source": {"credentials": {"instance_url": t.remote.url(),
                                               "login_url": "http://127.0.0.1:9/mallory"}}}),
        )
    };
    // Naming alice's connection, at create, at alter, or through a query.
    let borrowed = api::create_sync(&mut t.mallory, &mine("borrowed", &t.sync)).map(drop);
    assert_forbidden(borrowed, "create_sync naming alice's connection");
    let own = api::create_sync(&mut t.mallory, &mine("own", "mallory_conn"))
        .expect("a sync on her own connection");
    let renamed = api::alter_sync(&mut t.mallory, &own, &json!({"connection_name": t.sync}));
    assert_forbidden(renamed, "alter_sync naming alice's connection");
    let query = t.mallory.query(
        "SELECT hubsync.remote_query($1, 'SELECT Id FROM Account')",
        &[&t.sync],
    );
    assert_forbidden(query.map(drop), "remote_query through alice's sync");

    // A connection named before its credentials existed is not lent by the worker when
    // another role stores them later.
    let early = api::create_sync(&mut t.mallory, &mine("early", "stored_later"))
        .expect("naming a connection nobody stored yet");
    let secret = json!({"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET});
    t.alice
        .execute(
            "SELECT hubsync.set_credentials('stored_later', $1)",
            &[&secret],
        )
        .expect("alice stores credentials for a connection name");
    let problem = wait_for_health(&mut t.admin, &early, "forbidden");
    assert!(problem.contains("belong to role alice"), "{problem}");
    assert_eq!(health(&mut t.admin, &own).0, "not configured");
}

// ---------------------------------------------------------------------------------------
// The worker writes as the sync's owner: triggers see the owner, RLS applies, the database
// owner's search_path does not reach it.

#[test]
fn the_worker_writes_as_the_sync_owner() {
    let remote = Remote::start();
    for (name, industry) in [("Allowed Co", "Energy"), ("Forbidden Co", "Forbidden")] {
        remote.write(
            "POST",
            "Account",
            None,
            json!({"Name": name, "Industry": industry}),
        );
    }
    let setup = format!(
        "{AUDIT} ALTER TABLE accounts ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY; \
         CREATE POLICY no_forbidden ON accounts USING (true) \
             WITH CHECK (industry_type IS DISTINCT FROM 'Forbidden');"
    );
    let mut t = tenants("as_owner", remote, &setup, fast_polling());

    // The database's owner points everyone's search_path at a schema of theirs.
    t.admin
        .batch_execute(&format!("ALTER DATABASE {DATABASE} OWNER TO mallory"))
        .unwrap();
    t.mallory
        .batch_execute(&format!(
            "CREATE TABLE public.loot (who text, superuser text, backend text); \
             GRANT ALL ON public.loot TO PUBLIC; \
             CREATE SCHEMA trap; GRANT USAGE ON SCHEMA trap TO PUBLIC; \
             CREATE FUNCTION trap.now() RETURNS timestamptz LANGUAGE sql AS $$ \
                 INSERT INTO public.loot SELECT current_user, current_setting('is_superuser'), backend_type \
                     FROM pg_catalog.pg_stat_activity WHERE pid = pg_catalog.pg_backend_pid(); \
                 SELECT pg_catalog.now() $$; \
             ALTER DATABASE {DATABASE} SET search_path = trap, pg_catalog;"
        ))
        .unwrap();
    kill_worker(&mut t.admin);

    // Pulled, the allowed account arrives; the policy refuses the other as it would refuse alice.
    let linked = "SELECT count(*) FROM accounts WHERE account_name = 'Allowed Co'";
    wait_for_value(PATIENCE, "the pull", &mut t.alice, linked, |n: &i64| {
        *n == 1
    });
    let parked = "SELECT count(*) FROM hubsync.review_queue WHERE kind = 'apply_error'";
    wait_for_value(
        PATIENCE,
        "the refused record",
        &mut t.alice,
        parked,
        |n: &i64| *n == 1,
    );
    let forbidden: i64 = scalar(
        &mut t.admin,
        "SELECT count(*) FROM accounts WHERE account_name = 'Forbidden Co'",
    );
    assert_eq!(forbidden, 0, "the worker bypassed row-level security");

    // Pushed, the new Salesforce id is written back (an UPDATE) as alice.
    t.alice
        .batch_execute("INSERT INTO accounts (account_name) VALUES ('Local Co')")
        .unwrap();
    let written_back =
        "SELECT count(*) FROM accounts WHERE account_name = 'Local Co' AND sf_id IS NOT NULL";
    wait_for_value(
        PATIENCE,
        "the id write-back",
        &mut t.alice,
        written_back,
        |n: &i64| *n == 1,
    );

    let writers: Vec<(String, String, String)> = t
        .admin
        .query(
            "SELECT DISTINCT who, superuser, op FROM public.audit ORDER BY 1, 2, 3",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    let expected = [("alice", "false", "INSERT"), ("alice", "false", "UPDATE")];
    assert_eq!(
        writers,
        expected.map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string())),
        "who wrote alice's table"
    );
    let trapped: i64 = scalar(
        &mut t.admin,
        "SELECT count(*) FROM public.loot WHERE backend LIKE 'hubsync%'",
    );
    assert_eq!(
        trapped, 0,
        "the worker resolved a name through the database's search_path"
    );
}

/// What alice's audit trigger records: who wrote her table, as which kind of role.
const AUDIT: &str = "CREATE TABLE public.audit (who text, superuser text, op text); \
     CREATE FUNCTION public.audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
         INSERT INTO public.audit SELECT current_user, rolsuper::text, TG_OP \
             FROM pg_catalog.pg_roles WHERE rolname = current_user; \
         RETURN NEW; END $$; \
     CREATE TRIGGER audit BEFORE INSERT OR UPDATE ON accounts \
         FOR EACH ROW EXECUTE FUNCTION public.audit();";

#[test]
fn resolve_writes_as_the_sync_owner() {
    let manual = json!({"sync_settings": {"conflict_resolution": "manual"}});
    let mut t = tenants(
        "resolve",
        Remote::start(),
        AUDIT,
        merge_patch(&fast_polling(), &manual),
    );
    t.alice
        .batch_execute("INSERT INTO accounts (account_name) VALUES ('Base')")
        .unwrap();
    let sf_id: String = wait_until(PATIENCE, "the id written back", || {
        scalar(&mut t.alice, "SELECT sf_id FROM accounts")
    });
    t.alice
        .execute("SELECT hubsync.pause_sync($1)", &[&t.sync])
        .unwrap();
    t.alice
        .batch_execute("UPDATE accounts SET account_name = 'Local'")
        .unwrap();
    t.remote
        .write("PATCH", "Account", Some(&sf_id), json!({"Name": "Remote"}));
    t.alice
        .execute("SELECT hubsync.resume_sync($1)", &[&t.sync])
        .unwrap();
    let id: i64 = wait_until(PATIENCE, "the conflict in review", || {
        t.alice
            .query_opt(
                "SELECT id FROM hubsync.review_queue WHERE kind = 'conflict'",
                &[],
            )
            .unwrap()
            .map(|r| r.get(0))
    });
    t.alice.batch_execute("DELETE FROM public.audit").unwrap();
    t.alice
        .execute("SELECT hubsync.resolve($1, 'remote')", &[&id])
        .unwrap();
    let writers: Vec<(String, String)> = t
        .alice
        .query("SELECT DISTINCT who, superuser FROM public.audit", &[])
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(writers, [("alice".to_string(), "false".to_string())]);
}

// ---------------------------------------------------------------------------------------
// Rights are checked while the sync runs, not once at create_sync.

#[test]
fn a_revoked_grant_or_a_dropped_owner_stops_the_sync() {
    let mut t = tenants("revoked", Remote::start(), "", fast_polling());
    t.admin.batch_execute("CREATE ROLE bob LOGIN").unwrap();
    t.alice
        .batch_execute(
            "CREATE TABLE shared (LIKE accounts INCLUDING ALL); \
             GRANT SELECT, INSERT, UPDATE, DELETE, TRIGGER ON shared TO bob; \
             GRANT USAGE ON SEQUENCE accounts_id_seq TO bob",
        )
        .unwrap();
    let mut bob = t.cluster.connect_as(DATABASE, "bob");
    let sync = create_sync_for(
        &mut bob,
        &t.remote,
        merge_patch(
            &fast_polling(),
            &json!({"name": "bobs", "connection_name": "bobs", "target": {"table": "shared"}}),
        ),
    );
    wait_for_health(&mut t.admin, &sync, "ok");

    t.alice
        .batch_execute("REVOKE UPDATE ON shared FROM bob")
        .unwrap();
    let problem = wait_for_health(&mut t.admin, &sync, "forbidden");
    assert!(problem.contains("UPDATE"), "{problem}");

    t.alice
        .batch_execute("GRANT UPDATE ON shared TO bob")
        .unwrap();
    wait_for_health(&mut t.admin, &sync, "ok");
    let id = t
        .remote
        .write("POST", "Account", None, json!({"Name": "After the grant"}))
        .unwrap();
    let arrived = format!("SELECT count(*) FROM shared WHERE sf_id = '{id}'");
    wait_for_value(
        PATIENCE,
        "the pull as bob",
        &mut t.alice,
        &arrived,
        |n: &i64| *n == 1,
    );

    drop(bob);
    t.admin
        .batch_execute("DROP OWNED BY bob; DROP ROLE bob")
        .unwrap();
    let problem = wait_for_health(&mut t.admin, &sync, "forbidden");
    assert!(problem.contains("no longer exists"), "{problem}");
}

// ---------------------------------------------------------------------------------------
// Work in flight when drop_sync runs: nothing reaches the table afterwards.

/// Starts `drop_sync` in a transaction, waits until the worker waits for it (it has an
/// answer or a page to write), then commits and waits for the worker to go on.
fn drop_while_the_worker_waits(t: &mut Tenants, and_then: &str) {
    let mut dropper = t.cluster.connect_as(DATABASE, "alice");
    let mut tx = dropper.transaction().unwrap();
    tx.execute("SELECT hubsync.drop_sync($1)", &[&t.sync])
        .unwrap();
    tx.batch_execute(and_then).unwrap();
    let waiting = "SELECT count(*) FROM pg_stat_activity \
                   WHERE backend_type = 'hubsync worker' AND wait_event_type = 'Lock'";
    wait_for_value(
        PATIENCE,
        "the worker to wait",
        &mut t.admin,
        waiting,
        |n: &i64| *n == 1,
    );
    tx.commit().unwrap();
    wait_for_value(
        PATIENCE,
        "the worker to go on",
        &mut t.admin,
        waiting,
        |n: &i64| *n == 0,
    );
    two_worker_rounds(&mut t.admin);
}

/// Requests the emulator is holding back with a latency fault (counted on arrival).
fn delayed(remote: &Remote) -> u64 {
    remote.admin("GET", "counters", None)["faultsInjected"]["latency"]
        .as_u64()
        .unwrap_or_default()
}

/// Tenants whose sync's full load (20 accounts) is on its way: the emulator holds the
/// query's answer back for 1.5 s.
fn full_load_in_flight(name: &str) -> Tenants {
    let remote = Remote::start();
    for i in 0..20 {
        remote.write(
            "POST",
            "Account",
            None,
            json!({"Name": format!("Remote {i}")}),
        );
    }
    remote.inject(json!([{"endpoint": "query", "kind": "latency", "latency_ms": 1500}]));
    let t = tenants(name, remote, "", fast_polling());
    wait_until(PATIENCE, "the full load's query", || {
        (delayed(&t.remote) >= 1).then_some(())
    });
    t
}

/// Waits until the worker has finished two rounds that started after now (anything it
/// had received by now has been settled).
fn two_worker_rounds(admin: &mut Client) {
    for round in ["a worker round", "another worker round"] {
        let since: String = scalar(admin, "SELECT clock_timestamp()::text");
        let beat = format!(
            "SELECT coalesce(bool_and(last_heartbeat > '{since}'::timestamptz), false) \
             FROM hubsync.worker WHERE database = current_database() AND pid IS NOT NULL"
        );
        wait_for_value(PATIENCE, round, admin, &beat, |b: &bool| *b);
    }
}

#[test]
fn a_page_fetched_before_drop_sync_is_not_applied_after_it() {
    let mut t = full_load_in_flight("dropped_pull");
    drop_while_the_worker_waits(&mut t, "TRUNCATE accounts");
    let rows: i64 = scalar(&mut t.admin, "SELECT count(*) FROM accounts");
    assert_eq!(rows, 0, "a page was applied after its sync was dropped");
}

#[test]
fn a_push_answer_arriving_after_drop_sync_writes_nothing_back() {
    let mut t = tenants("dropped_push", Remote::start(), "", fast_polling());
    wait_for_health(&mut t.admin, &t.sync.clone(), "ok");
    t.remote
        .inject(json!([{"endpoint": "collections", "kind": "latency", "latency_ms": 1500}]));
    t.alice
        .batch_execute(
            "INSERT INTO accounts (account_name) SELECT 'Local ' || i FROM generate_series(1, 5) i",
        )
        .unwrap();
    wait_until(PATIENCE, "the push to be sent", || {
        (delayed(&t.remote) >= 1).then_some(())
    });
    drop_while_the_worker_waits(&mut t, "SELECT 1");
    let linked: i64 = scalar(&mut t.admin, "SELECT count(sf_id) FROM accounts");
    assert_eq!(
        linked, 0,
        "ids were written back after the sync was dropped"
    );
}

// ---------------------------------------------------------------------------------------
// Names a user chose: quotes, spaces, mixed case and non-ASCII in the role, schema, table
// and column names, end to end.

#[test]
fn hostile_identifiers_sync_both_ways() {
    let remote = Remote::start();
    let cluster = Cluster::start("identifiers", &[]);
    let mut admin = cluster.client();
    let role = "Ölaf \"Q\" O'Neil";
    admin
        .batch_execute(
            "CREATE ROLE \"Ölaf \"\"Q\"\" O'Neil\" LOGIN; \
             GRANT CREATE ON DATABASE customer_data TO \"Ölaf \"\"Q\"\" O'Neil\"",
        )
        .unwrap();
    let mut db = cluster.connect_as(DATABASE, role);
    db.batch_execute(
        "CREATE SCHEMA \"Tenant \"\"Ü\"\" Data\"; \
         CREATE TABLE \"Tenant \"\"Ü\"\" Data\".\"Ac\"\"counts ü\" ( \
             \"Row Id\" serial PRIMARY KEY, \"SF Id\" varchar(18) UNIQUE, \
             \"Account Name\" text, \"Industry's \"\"Type\"\"\" text)",
    )
    .unwrap();
    let table = "\"Tenant \"\"Ü\"\" Data\".\"Ac\"\"counts ü\"";
    let config = json!({
        "name": "hostile_names",
        "source": {"type": "salesforce", "object": "Account",
                   "credentials": {"instance_url": remote.url()}},
        "target": {"type": "postgres", "schema": "Tenant \"Ü\" Data", "table": "Ac\"counts ü"},
        "sync_type": "bidirectional",
        "field_mappings": [
            {"source": "Id", "target": "SF Id"},
            {"source": "Name", "target": "Account Name"},
            {"source": "Industry", "target": "Industry's \"Type\""}
        ],
        "sync_settings": {"ongoing_sync": {"mode": "real_time", "polling_interval_seconds": 1}}
    });
    let sync: String = db
        .query_one("SELECT hubsync.create_sync($1)", &[&config])
        .expect("create the sync")
        .get(0);
    let secret = json!({"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET});
    db.execute("SELECT hubsync.set_credentials($1, $2)", &[&sync, &secret])
        .unwrap();

    // Pushed, and the id written back.
    db.batch_execute(&format!(
        "INSERT INTO {table} (\"Account Name\", \"Industry's \"\"Type\"\"\") VALUES ('Zoë''s \"Café\"', 'Énergie')"
    ))
    .unwrap();
    let linked =
        format!("SELECT \"SF Id\" FROM {table} WHERE \"Account Name\" = 'Zoë''s \"Café\"'");
    let id = wait_until(PATIENCE, "the id written back", || {
        db.query_opt(&linked, &[])
            .unwrap()
            .and_then(|r| r.get::<_, Option<String>>(0))
    });
    let pushed = remote.query(
        &format!("SELECT Name, Industry FROM Account WHERE Id = '{id}'"),
        false,
    );
    assert_eq!(pushed[0]["Name"], "Zoë's \"Café\"");
    assert_eq!(pushed[0]["Industry"], "Énergie");

    // Pulled: a change and a new record.
    remote.write(
        "PATCH",
        "Account",
        Some(&id),
        json!({"Industry": "Öl & Gas"}),
    );
    let new = remote
        .write("POST", "Account", None, json!({"Name": "日本 \"KK\""}))
        .unwrap();
    let industry =
        format!("SELECT \"Industry's \"\"Type\"\"\" FROM {table} WHERE \"SF Id\" = '{id}'");
    wait_for_value(
        PATIENCE,
        "the pulled change",
        &mut db,
        &industry,
        |v: &Option<String>| v.as_deref() == Some("Öl & Gas"),
    );
    let pulled = format!("SELECT max(\"Account Name\") FROM {table} WHERE \"SF Id\" = '{new}'");
    wait_for_value(
        PATIENCE,
        "the pulled record",
        &mut db,
        &pulled,
        |v: &Option<String>| v.as_deref() == Some("日本 \"KK\""),
    );
    db.execute("SELECT hubsync.drop_sync($1)", &[&sync])
        .unwrap();
}

// ---------------------------------------------------------------------------------------
// Work in flight when the config or the credentials change.

/// Waits until `n` requests held back by a latency fault have been answered.
fn answered(t: &mut Tenants, endpoint: &str, n: u64) {
    wait_until(PATIENCE, &format!("{n} {endpoint} answers"), || {
        (t.remote.calls(endpoint) >= n).then_some(())
    });
    two_worker_rounds(&mut t.admin);
}

#[test]
fn a_page_read_before_alter_sync_is_not_applied_under_the_new_config() {
    let mut t = full_load_in_flight("altered_pull");
    // Now push-only: the page on its way belongs to a config that no longer pulls.
    let push_only = json!({
        "sync_settings": {"sync_type": "one_way", "target_to_source": true},
        "field_mappings": [{"source": "Id", "target": "sf_id"},
                           {"source": "Name", "target": "account_name"}]
    });
    t.alice
        .execute("SELECT hubsync.alter_sync($1, $2)", &[&t.sync, &push_only])
        .unwrap();
    answered(&mut t, "query", 1);
    let rows: i64 = scalar(&mut t.admin, "SELECT count(*) FROM accounts");
    assert_eq!(rows, 0, "a page read under the old config was applied");
}

#[test]
fn an_answer_arriving_while_credentials_rotate_still_writes_its_ids_back() {
    let mut t = tenants("rotated", Remote::start(), "", fast_polling());
    wait_for_health(&mut t.admin, &t.sync.clone(), "ok");
    t.remote.inject(json!([
        {"endpoint": "collections", "kind": "latency", "latency_ms": 1500},
        {"endpoint": "describe", "kind": "latency", "latency_ms": 4000}
    ]));
    t.alice
        .batch_execute(
            "INSERT INTO accounts (account_name) SELECT 'Local ' || i FROM generate_series(1, 5) i",
        )
        .unwrap();
    wait_until(PATIENCE, "the push to be sent", || {
        (delayed(&t.remote) >= 1).then_some(())
    });
    // Rotated while the push is in flight: the sync is rebuilt and describes its object anew.
    let secret = json!({"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET});
    t.alice
        .execute(
            "SELECT hubsync.set_credentials($1, $2)",
            &[&t.sync, &secret],
        )
        .unwrap();
    answered(&mut t, "collections", 1);
    // The new describe is still on its way: the ids come from the config, not from it.
    let linked: i64 = scalar(&mut t.alice, "SELECT count(sf_id) FROM accounts");
    assert_eq!(
        linked,
        5,
        "ids not written back: {:?}",
        health(&mut t.admin, &t.sync)
    );
    t.remote.heal();
    let pulled: bool = t
        .alice
        .query_one("SELECT hubsync.wait_for_pull($1)", &[&t.sync])
        .unwrap()
        .get(0);
    assert!(pulled);
    let rows: i64 = scalar(&mut t.alice, "SELECT count(*) FROM accounts");
    assert_eq!(rows, 5, "records pushed were pulled back as new rows");
    assert_eq!(remote_names(&t.remote).len(), 5);
}
