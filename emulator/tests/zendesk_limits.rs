//! Zendesk emulator: the per-minute rate limit and its headers, the per-user update
//! limit, injected faults (5xx, 429 storms, dropped connections, latency), admin load.

mod common;
mod zendesk;

use common::Client;
use hubsync_emulator::ZendeskOptions;
use serde_json::json;
use zendesk::*;

#[test]
fn every_answer_carries_the_rate_limit_headers_and_429_says_when_to_retry() {
    let account = Account::with(ZendeskOptions {
        rate_limit: 3,
        ..options()
    });
    account.start_of_minute();
    let mut remaining = Vec::new();
    for _ in 0..3 {
        let r = account.get("organizations.json");
        assert_eq!(r.status, 200);
        assert_eq!(r.header("x-zendesk-api-version"), Some("v2"));
        assert_eq!(r.header("x-rate-limit"), Some("3"));
        assert_eq!(r.header("ratelimit-limit"), Some("3"));
        assert_eq!(
            r.header("x-rate-limit-remaining"),
            r.header("ratelimit-remaining")
        );
        assert!(r.header("ratelimit-reset").is_some());
        assert!(
            r.header("retry-after").is_none(),
            "Retry-After only on a 429"
        );
        remaining.push(r.header("x-rate-limit-remaining").unwrap().to_string());
    }
    assert_eq!(remaining, ["2", "1", "0"]);
    let refused = account.get("organizations.json");
    assert_eq!(refused.status, 429);
    assert_eq!(
        refused.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    let wait: i64 = refused.header("retry-after").unwrap().parse().unwrap();
    assert_eq!(refused.header("ratelimit-reset").unwrap(), wait.to_string());
    account.advance(wait);
    assert_eq!(account.get("organizations.json").status, 200);
    account.admin("PUT", "limits", Some(json!({"used": 3})));
    assert_eq!(account.get("organizations.json").status, 429);
    assert_eq!(
        account.admin("PUT", "limits", Some(json!({"limit": 700})))["remaining"],
        697
    );
}

#[test]
fn one_user_updated_too_often_is_throttled() {
    let account = Account::with(ZendeskOptions {
        user_update_limit: 2,
        ..options()
    });
    let jo = account.user(json!({"name": "Jo"}));
    let al = account.user(json!({"name": "Al"}));
    account.start_of_minute();
    let update = |id: u64| {
        account
            .put(&format!("users/{id}.json"), json!({"user": {"notes": "x"}}))
            .status
    };
    assert_eq!(
        [update(jo), update(jo), update(jo), update(al)],
        [200, 200, 429, 200]
    );
}

#[test]
fn injected_faults_answer_as_zendesk_fails() {
    let account = Account::start();
    account.admin(
        "PUT",
        "faults",
        Some(json!({"rules": [
            {"endpoint": "read", "kind": "unavailable", "next": 1},
            {"endpoint": "read", "kind": "server_error", "next": 1},
            {"endpoint": "read", "kind": "rate_limited", "next": 2, "retry_after_secs": 7}
        ]})),
    );
    let statuses: Vec<(u16, Option<String>)> = (0..5)
        .map(|_| {
            let r = account.get("organizations.json");
            (r.status, r.header("retry-after").map(str::to_string))
        })
        .collect();
    assert_eq!(
        statuses,
        [
            (503, None),
            (500, None),
            (429, Some("7".into())),
            (429, Some("7".into())),
            (200, None)
        ]
    );
    account.admin(
        "POST",
        "faults",
        Some(
            json!({"rules": [{"endpoint": "bulk", "kind": "latency", "latency_ms": 1, "next": 1}]}),
        ),
    );
    let slowed = account.post(
        "organizations/create_many.json",
        json!({"organizations": [{"name": "Slow"}]}),
    );
    assert_eq!(slowed.status, 200, "latency delays the answer but keeps it");
    let counters = account.admin("GET", "counters", None);
    assert_eq!(counters["faultsInjected"]["rate_limited"], 2);
    assert_eq!(counters["faultsInjected"]["latency"], 1);
    assert_eq!(counters["requestsByStatus"]["429"], 2);

    account.admin(
        "PUT",
        "faults",
        Some(json!({"rules": [{"endpoint": "write", "kind": "drop", "next": 1}]})),
    );
    let dropped = common::try_send(
        &account.agent,
        "POST",
        &account.url("organizations.json"),
        &[("Authorization", TOKEN_AUTH)],
        Some(r#"{"organization": {"name": "A"}}"#),
    );
    assert!(dropped.is_err(), "the connection is dropped");
    assert_eq!(
        account.get("organizations.json").json()["organizations"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|o| o["name"] == "A")
            .count(),
        0,
        "nothing was written"
    );

    for (rule, why) in [
        (
            json!({"endpoint": "sobject", "kind": "drop"}),
            "Salesforce classes are not Zendesk's",
        ),
        (
            json!({"endpoint": "all", "kind": "lock_row"}),
            "lock_row is Salesforce's",
        ),
    ] {
        let refused = common::admin_call(
            &account.agent,
            account.emulator.url(),
            "PUT",
            "faults",
            Some(json!({"rules": [rule]})),
        );
        assert_eq!(refused.status, 400, "{why}: {}", refused.body);
    }
}

#[test]
fn admin_load_keeps_given_ids_and_times_all_or_nothing() {
    let account = Account::start();
    let loaded = account.admin(
        "POST",
        "load",
        Some(json!({
            "organizations": [{"id": 9_000_000_000_001u64, "name": "Loaded", "created_at": "2020-01-01T00:00:00Z", "updated_at": "2020-01-02T00:00:00Z"}],
            "users": [{"name": "Old", "email": "old@x.example", "organization_id": 9_000_000_000_001u64, "active": false}]
        })),
    );
    assert_eq!(loaded["organizations"], json!([9_000_000_000_001u64]));
    let org = account.get("organizations/9000000000001.json").json()["organization"].clone();
    assert_eq!(
        (org["created_at"].clone(), org["updated_at"].clone()),
        (json!("2020-01-01T00:00:00Z"), json!("2020-01-02T00:00:00Z"))
    );
    let records = account.admin("GET", "records/users", None);
    assert_eq!(records["users"][0]["active"], false);

    let bad = common::admin_call(
        &account.agent,
        account.emulator.url(),
        "POST",
        "load",
        Some(json!({"organizations": [{"name": "Fine"}, {"name": "loaded"}]})),
    );
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("organizations[1]"), "{}", bad.body);
    assert_eq!(
        account.admin("GET", "records/organizations", None)["organizations"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    account.admin("POST", "reset", None);
    assert_eq!(
        account.admin("GET", "counters", None)["records"]["organizations"]["live"],
        0
    );
    let clock = account.admin("GET", "clock", None);
    assert!(clock["now"].as_str().unwrap().ends_with('Z'));
}
