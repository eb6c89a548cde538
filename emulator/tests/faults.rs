//! Fault injection and counters on the admin API.

mod common;

use common::*;
use serde_json::{json, Value};

fn faults(org: &Org, body: Value) {
    let r = org.admin("PUT", "faults", Some(body));
    assert_eq!(r.status, 200, "{}", r.body);
}

#[test]
fn next_n_server_errors_are_deterministic() {
    let org = Org::start();
    faults(
        &org,
        json!({"rules": [{"endpoint": "query", "kind": "unavailable", "next": 2}, {"endpoint": "sobject", "kind": "server_error", "next": 1}]}),
    );
    let first = org.query("SELECT Id FROM Account");
    assert_eq!(first.status, 503);
    assert_eq!(
        first.json(),
        json!([{"message": "Server temporarily unavailable, please retry", "errorCode": "SERVER_UNAVAILABLE"}])
    );
    assert_eq!(org.query("SELECT Id FROM Account").status, 503);
    assert_eq!(org.query("SELECT Id FROM Account").status, 200);
    assert_eq!(
        org.get("/limits").status,
        200,
        "other classes are untouched"
    );
    let failed = org.post("/sobjects/Account", json!({"Name": "x"}));
    assert_eq!(
        (failed.status, failed.error_code().as_str()),
        (500, "UNKNOWN_EXCEPTION")
    );
    assert_eq!(org.count("Account"), 0, "a failed call writes nothing");
    let rules = org.admin("GET", "faults", None).json();
    assert_eq!(rules["rules"][0]["fired"], 2);
    let counters = org.admin("GET", "counters", None).json();
    assert_eq!(counters["requestsByStatus"]["503"], 2);
    assert_eq!(counters["faultsInjected"]["unavailable"], 2);
}

#[test]
fn row_locks_fail_records_in_collections_and_whole_single_calls() {
    let org = Org::start();
    faults(
        &org,
        json!({"rules": [{"endpoint": "collections", "kind": "lock_row", "next": 1}]}),
    );
    let r = org.post(
        "/composite/sobjects",
        json!({"records": [{"attributes": {"type": "Account"}, "Name": "A"}, {"attributes": {"type": "Account"}, "Name": "B"}]}),
    );
    assert_eq!(r.status, 200);
    let results = r.json();
    assert_eq!(results[0]["errors"][0]["statusCode"], "UNABLE_TO_LOCK_ROW");
    assert_eq!(results[1]["success"], true);
    faults(
        &org,
        json!({"rules": [{"endpoint": "sobject", "kind": "lock_row", "next": 1}]}),
    );
    let id = results[1]["id"].as_str().unwrap();
    let single = org.patch(&format!("/sobjects/Account/{id}"), json!({"Name": "C"}));
    assert_eq!(single.status, 400);
    assert_eq!(
        single.json(),
        json!([{"message": format!("unable to obtain exclusive access to this record or 1 records: {id}"), "errorCode": "UNABLE_TO_LOCK_ROW", "fields": []}])
    );
    assert_eq!(
        org.patch(&format!("/sobjects/Account/{id}"), json!({"Name": "C"}))
            .status,
        204
    );
}

#[test]
fn seeded_rates_repeat_exactly() {
    let org = Org::start();
    let pattern = || {
        faults(
            &org,
            json!({"seed": 99, "rules": [{"endpoint": "collections", "kind": "lock_row", "rate": 0.5}]}),
        );
        let records: Vec<Value> = (0..40)
            .map(|i| json!({"attributes": {"type": "Account"}, "Name": format!("R{i}")}))
            .collect();
        let r = org
            .post("/composite/sobjects", json!({"records": records}))
            .json();
        r.as_array()
            .unwrap()
            .iter()
            .map(|x| x["success"].as_bool().unwrap())
            .collect::<Vec<_>>()
    };
    let first = pattern();
    assert_eq!(first, pattern());
    assert!(first.contains(&true) && first.contains(&false));
}

#[test]
fn dropped_connections_close_the_socket_without_an_answer() {
    let org = Org::start();
    faults(
        &org,
        json!({"rules": [{"endpoint": "all", "kind": "drop", "next": 1}]}),
    );
    let url = org.url("/sobjects/Account");
    let auth = format!("Bearer {}", org.token);
    let dropped = try_send(
        &org.agent,
        "POST",
        &url,
        &[("Authorization", &auth)],
        Some(r#"{"Name":"lost"}"#),
    );
    assert!(
        dropped.is_err(),
        "expected a transport error, got {:?}",
        dropped.map(|r| r.status())
    );
    assert_eq!(org.count("Account"), 0);
    assert_eq!(
        org.admin("GET", "counters", None).json()["faultsInjected"]["drop"],
        1
    );
    // The token endpoint can be dropped too.
    faults(
        &org,
        json!({"rules": [{"endpoint": "token", "kind": "drop", "next": 1}]}),
    );
    let request = ureq::http::Request::builder()
        .method("POST")
        .uri(format!("{}/services/oauth2/token", org.base()))
        .body("grant_type=password".to_string())
        .unwrap();
    assert!(org.agent.run(request).is_err());
    assert_eq!(
        token_request(&org.agent, org.base(), &PASSWORD_FORM, &[]).status,
        200
    );
}

#[test]
fn latency_is_added_and_counted() {
    let org = Org::start();
    faults(
        &org,
        json!({"rules": [{"endpoint": "limits", "kind": "latency", "latency_ms": 20, "next": 2}]}),
    );
    assert_eq!(org.get("/limits").status, 200);
    assert_eq!(org.get("/limits").status, 200);
    assert_eq!(
        org.admin("GET", "counters", None).json()["faultsInjected"]["latency"],
        2
    );
    let bad = org.admin(
        "PUT",
        "faults",
        Some(json!({"rules": [{"endpoint": "nope", "kind": "drop"}]})),
    );
    assert_eq!(bad.status, 400);
    assert!(bad.json()["error"]
        .as_str()
        .unwrap()
        .contains("unknown endpoint class"));
    assert_eq!(
        org.admin("DELETE", "faults", None).json(),
        json!({"rules": []})
    );
}

#[test]
fn counters_report_calls_and_writes() {
    let org = Org::start();
    org.admin("POST", "counters/reset", None);
    let id = org.create("Account", json!({"Name": "x"}));
    org.patch(&format!("/sobjects/Account/{id}"), json!({"Name": "y"}));
    org.delete(&format!("/sobjects/Account/{id}"));
    org.query("SELECT Id FROM Account");
    let c = org.admin("GET", "counters", None).json();
    assert_eq!(c["apiCallsByEndpoint"]["sobject"], 3);
    assert_eq!(c["apiCallsByEndpoint"]["query"], 1);
    assert_eq!(
        (
            c["recordsCreated"].as_u64(),
            c["recordsUpdated"].as_u64(),
            c["recordsDeleted"].as_u64()
        ),
        (Some(1), Some(1), Some(1))
    );
    assert_eq!(c["recordsWritten"], 3);
    assert_eq!(c["records"]["Account"], json!({"live": 0, "deleted": 1}));
    assert_eq!(c["requestsByStatus"]["204"], 2);
}
