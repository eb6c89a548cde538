//! Postgres ↔ Zendesk end to end, through the Zendesk connector and the emulator: the full
//! load, changes and deletes both ways, a 429 storm with 5xx and lost job answers that
//! loses and duplicates nothing (also with the worker killed mid-push), a conflict decided
//! by the default policy, and a validation rule parking a record for review.

use hubsync_core::config::merge_patch;
use hubsync_e2e::zendesk::{Zendesk, ZendeskSync};
use hubsync_e2e::{kill_worker, next_second, scalar, wait_for_reading, wait_for_value};
use postgres::Client;
use serde_json::{json, Value};
use std::collections::HashSet;
use std::time::Duration;

const PATIENCE: Duration = Duration::from_secs(180);

const ORGANIZATIONS: &str = "CREATE TABLE organizations (
    id serial PRIMARY KEY,
    zd_id text UNIQUE,
    name text NOT NULL,
    notes text,
    tier text,
    ext_key text UNIQUE
);";

const PEOPLE: &str = "CREATE TABLE people (
    id serial PRIMARY KEY,
    zd_id text UNIQUE,
    full_name text NOT NULL,
    email text UNIQUE,
    vip boolean
);";

/// Both ways, polling every second, creates as upserts by the mapped external-id field,
/// retried quickly; a record pulled before its push's answer (lost in a storm) was
/// written back is linked to its row by `natural_key`, not inserted twice.
fn settings(natural_key: &str) -> Value {
    json!({
        "sync_settings": {
            "natural_key": [natural_key],
            "sync_type": "bidirectional",
            "initial_sync": {"strategy": "full_load"},
            "ongoing_sync": {"mode": "real_time", "polling_interval_seconds": 1}
        },
        "error_handling": {"retry_strategy": {"max_attempts": 20, "backoff_factor": 1.5, "initial_delay_seconds": 0.2}}
    })
}

fn organizations_config() -> Value {
    merge_patch(
        &json!({
            "connection_name": "ZD_Organizations",
            "source": {"type": "zendesk", "object": "Organization"},
            "target": {"type": "postgres", "table": "organizations"},
            "field_mappings": [
                {"source": "id", "target": "zd_id"},
                {"source": "name", "target": "name"},
                {"source": "notes", "target": "notes"},
                {"source": "tier", "target": "tier"},
                {"source": "external_id", "target": "ext_key", "external_id": true}
            ]
        }),
        &settings("name"),
    )
}

fn people_config(patch: Value) -> Value {
    let base = json!({
        "connection_name": "ZD_People",
        "source": {"type": "zendesk", "object": "User"},
        "target": {"type": "postgres", "table": "people"},
        "field_mappings": [
            {"source": "id", "target": "zd_id"},
            {"source": "name", "target": "full_name"},
            {"source": "email", "target": "email", "external_id": true},
            {"source": "vip", "target": "vip"}
        ]
    });
    merge_patch(&merge_patch(&base, &settings("email")), &patch)
}

fn wait_for_incremental(db: &mut Client) {
    let phase = "SELECT phase FROM hubsync.progress";
    wait_for_value(
        PATIENCE,
        "the full load to finish",
        db,
        phase,
        |p: &String| p == "incremental",
    );
}

/// The remote organization named `name`.
fn remote_org(zendesk: &Zendesk, name: &str) -> Option<Value> {
    zendesk
        .records("organizations")
        .into_iter()
        .find(|o| o["name"] == name)
}

fn local_text(db: &mut Client, sql: &str) -> Option<String> {
    db.query_opt(sql, &[]).unwrap().and_then(|r| r.get(0))
}

#[test]
fn organizations_load_then_flow_both_ways_with_deletes() {
    let zendesk = Zendesk::start();
    zendesk.admin(
        "POST",
        "load",
        Some(json!({"organizations": [
            {"name": "Acme", "external_id": "acme", "notes": "first"},
            {"name": "Globex"},
            {"name": "Initech", "organization_fields": {"tier": "gold"}}
        ]})),
    );
    let sync = ZendeskSync::start(
        "zendesk-orgs",
        zendesk,
        ORGANIZATIONS,
        &organizations_config(),
    );
    let zendesk = &sync.zendesk;
    let mut db = sync.db();

    // The full load: every organization, linked, custom fields included.
    wait_for_value(
        PATIENCE,
        "the loaded organizations",
        &mut db,
        "SELECT count(zd_id) FROM organizations",
        |n: &i64| *n == 3,
    );
    assert_eq!(
        local_text(
            &mut db,
            "SELECT tier FROM organizations WHERE name = 'Initech'"
        )
        .as_deref(),
        Some("gold")
    );
    // `mode: real_time`, but Zendesk has no change stream: the sync polls, and says so.
    wait_for_value(
        PATIENCE,
        "the pull mode",
        &mut db,
        "SELECT pull_mode FROM hubsync.status",
        |m: &String| m == "polling",
    );
    assert_eq!(
        local_text(
            &mut db,
            "SELECT ext_key FROM organizations WHERE name = 'Acme'"
        )
        .as_deref(),
        Some("acme")
    );
    wait_for_incremental(&mut db);

    // Postgres → Zendesk: creates (upserts by external id) and an update.
    db.batch_execute(
        "INSERT INTO organizations (name, ext_key, tier) VALUES ('Umbrella', 'umb', 'silver'), ('Hooli', 'hooli', NULL);
         UPDATE organizations SET notes = 'from postgres' WHERE name = 'Acme';",
    )
    .unwrap();
    sync.wait_idle(&mut db);
    let umbrella = remote_org(zendesk, "Umbrella").expect("Umbrella in Zendesk");
    assert_eq!(umbrella["external_id"], "umb");
    assert_eq!(umbrella["organization_fields"]["tier"], "silver");
    let linked: String = scalar(
        &mut db,
        "SELECT zd_id FROM organizations WHERE name = 'Umbrella'",
    );
    assert_eq!(linked, umbrella["id"].to_string());
    assert_eq!(
        remote_org(zendesk, "Acme").unwrap()["notes"],
        "from postgres"
    );

    // Zendesk → Postgres: an update and a delete, through the incremental export.
    let globex = remote_org(zendesk, "Globex").unwrap()["id"].clone();
    zendesk.api(
        "PUT",
        &format!("organizations/{globex}.json"),
        Some(json!({"organization": {"notes": "from zendesk"}})),
    );
    let initech = remote_org(zendesk, "Initech").unwrap()["id"].clone();
    zendesk.api("DELETE", &format!("organizations/{initech}.json"), None);
    wait_for_reading(
        PATIENCE,
        "Globex's note and Initech's deletion to arrive",
        || {
            (
                local_text(
                    &mut db,
                    "SELECT notes FROM organizations WHERE name = 'Globex'",
                ),
                scalar::<i64>(
                    &mut db,
                    "SELECT count(*) FROM organizations WHERE name = 'Initech'",
                ),
            )
        },
        |(notes, initech)| notes.as_deref() == Some("from zendesk") && *initech == 0,
    );

    // A local delete reaches Zendesk.
    db.batch_execute("DELETE FROM organizations WHERE name = 'Hooli'")
        .unwrap();
    sync.wait_idle(&mut db);
    assert!(
        remote_org(zendesk, "Hooli").is_none(),
        "{}",
        sync.diagnostics()
    );

    // Converged, nothing duplicated, nothing echoed back as a change.
    let remote: Vec<String> = zendesk
        .records("organizations")
        .iter()
        .map(|o| o["name"].as_str().unwrap().to_string())
        .collect();
    let unique: HashSet<&String> = remote.iter().collect();
    assert_eq!(unique.len(), remote.len(), "duplicates: {remote:?}");
    assert_eq!(remote.len(), 3, "{remote:?}\n{}", sync.diagnostics());
    let local: i64 = scalar(&mut db, "SELECT count(*) FROM organizations");
    assert_eq!(local, 3);
    let review: i64 = scalar(&mut db, "SELECT count(*) FROM hubsync.review_queue");
    assert_eq!(review, 0, "{}", sync.diagnostics());
}

#[test]
fn users_survive_a_429_storm_server_errors_and_lost_job_answers_exactly_once() {
    // Push only: what is checked is that every row reaches Zendesk exactly once.
    let push_only = json!({"sync_settings": {
        "sync_type": "one_way", "source_to_target": false, "target_to_source": true
    }});
    storm("zendesk-storm", push_only);
}

/// The same storm on a two-way sync: a pull can link a record whose create's answer was
/// lost before the create is resent.
#[test]
fn two_way_users_survive_the_same_storm_exactly_once() {
    storm("zendesk-storm-two-way", json!({}));
}

/// 150 rows in three transactions pushed through 429s, 5xx and lost job answers: every row
/// is in Zendesk exactly once, linked, nothing for review.
/// A worker terminated while the storm's pushes are under way: its successor reclaims the
/// abandoned batches, and upserts by email (or lookups) keep every user single.
#[test]
fn a_worker_killed_mid_storm_loses_and_duplicates_nothing() {
    storm_with("zendesk-storm-killed", json!({}), true);
}

fn storm(name: &str, patch: Value) {
    storm_with(name, patch, false);
}

fn storm_with(name: &str, patch: Value, kill_midway: bool) {
    let sync = ZendeskSync::start(name, Zendesk::start(), PEOPLE, &people_config(patch));
    let zendesk = &sync.zendesk;
    let mut db = sync.db();
    zendesk.inject(json!([
        {"endpoint": "all", "kind": "rate_limited", "next": 3, "retry_after_secs": 1},
        {"endpoint": "bulk", "kind": "unavailable", "next": 2},
        {"endpoint": "bulk", "kind": "server_error", "next": 1},
        {"endpoint": "job_statuses", "kind": "drop", "next": 4}
    ]));
    for batch in 0..3 {
        db.execute(
            "INSERT INTO people (full_name, email, vip) \
             SELECT 'Person ' || ($1 * 100 + i), 'p' || ($1 * 100 + i) || '@example.com', i % 2 = 0 \
             FROM generate_series(1, 50) i",
            &[&batch],
        )
        .unwrap();
    }
    if kill_midway {
        wait_for_reading(
            PATIENCE,
            "the first users in Zendesk",
            || zendesk.records("users").len(),
            |n| *n > 0,
        );
        kill_worker(&mut db);
    }
    sync.wait_idle(&mut db);
    zendesk.heal();
    sync.wait_idle(&mut db);

    let counters = zendesk.admin("GET", "counters", None);
    assert!(
        counters["faultsInjected"]
            .as_object()
            .is_some_and(|f| !f.is_empty())
            || counters["faultsInjected"].as_u64().is_some_and(|n| n > 0),
        "the faults fired: {counters}"
    );
    let local: i64 = scalar(&mut db, "SELECT count(*) FROM people");
    assert_eq!(local, 150, "every row stays\n{}", sync.diagnostics());
    let users = zendesk.records("users");
    let emails: HashSet<&str> = users.iter().filter_map(|u| u["email"].as_str()).collect();
    assert_eq!(
        emails.len(),
        users.len(),
        "duplicate users\n{}",
        sync.diagnostics()
    );
    assert_eq!(users.len(), 150, "{}", sync.diagnostics());
    let ids: HashSet<String> = users.iter().map(|u| u["id"].to_string()).collect();
    let linked: Vec<String> = db
        .query("SELECT zd_id FROM people WHERE zd_id IS NOT NULL", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(linked.len(), 150, "{}", sync.diagnostics());
    assert!(linked.iter().all(|id| ids.contains(id)));
    let vip = users
        .iter()
        .filter(|u| u["user_fields"]["vip"] == json!(true))
        .count();
    assert_eq!(vip, 75);
    let review: i64 = scalar(&mut db, "SELECT count(*) FROM hubsync.review_queue");
    assert_eq!(review, 0, "{}", sync.diagnostics());
}

#[test]
fn a_validation_rule_parks_a_user_for_review_and_the_rest_flow() {
    let rules = json!({"validation_rules": [
        {"field": "email", "rule": "email_format", "on_error": "reject_record"}
    ]});
    let sync = ZendeskSync::start(
        "zendesk-validation",
        Zendesk::start(),
        PEOPLE,
        &people_config(rules),
    );
    let mut db = sync.db();
    wait_for_incremental(&mut db);
    db.batch_execute(
        "INSERT INTO people (full_name, email) VALUES ('Good', 'good@example.com'), ('Bad', 'not-an-email')",
    )
    .unwrap();
    sync.wait_idle(&mut db);
    let users = sync.zendesk.records("users");
    let names: Vec<&str> = users.iter().filter_map(|u| u["name"].as_str()).collect();
    assert_eq!(names, ["Good"], "{}", sync.diagnostics());
    let review: Vec<(Option<String>, String)> = db
        .query(
            "SELECT error_code, error_message FROM hubsync.review_queue",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(review.len(), 1, "{review:?}");
    assert_eq!(review[0].0.as_deref(), Some("email_format"), "{review:?}");
}

#[test]
fn an_organization_changed_on_both_sides_keeps_the_later_edit() {
    let sync = ZendeskSync::start(
        "zendesk-conflict",
        Zendesk::start(),
        ORGANIZATIONS,
        &organizations_config(),
    );
    let zendesk = &sync.zendesk;
    let mut db = sync.db();
    db.batch_execute("INSERT INTO organizations (name, notes) VALUES ('Acme', 'first')")
        .unwrap();
    sync.wait_idle(&mut db);
    wait_for_incremental(&mut db);
    let zd_id = local_text(&mut db, "SELECT zd_id FROM organizations").expect("linked");

    // Both sides edit the notes while the sync is paused; Zendesk's edit is the later one.
    db.execute("SELECT hubsync.pause_sync($1)", &[&sync.name])
        .unwrap();
    db.batch_execute("UPDATE organizations SET notes = 'edited in Postgres'")
        .unwrap();
    next_second();
    zendesk.api(
        "PUT",
        &format!("organizations/{zd_id}.json"),
        Some(json!({"organization": {"notes": "edited in Zendesk"}})),
    );
    db.execute("SELECT hubsync.resume_sync($1)", &[&sync.name])
        .unwrap();

    wait_for_value(
        PATIENCE,
        "the later edit in the table",
        &mut db,
        "SELECT notes FROM organizations",
        |notes: &Option<String>| notes.as_deref() == Some("edited in Zendesk"),
    );
    sync.wait_idle(&mut db);
    let remote = remote_org(zendesk, "Acme").expect("Acme in Zendesk");
    assert_eq!(
        remote["notes"],
        "edited in Zendesk",
        "{}",
        sync.diagnostics()
    );
    let decided: i64 = scalar(
        &mut db,
        "SELECT count(*) FROM hubsync.conflicts WHERE field = 'notes' AND winner = 'remote'",
    );
    assert!(
        decided >= 1,
        "the conflict is logged\n{}",
        sync.diagnostics()
    );
}
