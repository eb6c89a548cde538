//! sObject Collections: create, update, upsert, delete, retrieve, allOrNone.

mod common;

use common::*;
use serde_json::{json, Value};

fn account(name: &str) -> Value {
    json!({"attributes": {"type": "Account"}, "Name": name})
}

#[test]
fn create_reports_per_record_results_in_order() {
    let org = Org::start();
    let r = org.post(
        "/composite/sobjects",
        json!({"allOrNone": false, "records": [account("A"), {"attributes": {"type": "Account"}, "Phone": "1"}, {"attributes": {"type": "Contact"}, "LastName": "C"}]}),
    );
    assert_eq!(r.status, 200);
    let results = r.json();
    assert_eq!(results[0]["success"], true);
    assert!(results[0]["id"].as_str().unwrap().starts_with("001"));
    assert_eq!(
        results[1],
        json!({"success": false, "errors": [{"statusCode": "REQUIRED_FIELD_MISSING", "message": "Required fields are missing: [Name]", "fields": ["Name"]}]})
    );
    assert!(results[2]["id"].as_str().unwrap().starts_with("003"));
    let with_id = org.post("/composite/sobjects", json!({"records": [{"attributes": {"type": "Account"}, "Id": "001xx0000000001AAA", "Name": "x"}]}));
    assert_eq!(
        with_id.json()[0]["errors"][0]["statusCode"],
        "INVALID_FIELD"
    );
}

#[test]
fn all_or_none_rolls_everything_back() {
    let org = Org::start();
    let before = org.count("Account");
    let r = org.post("/composite/sobjects", json!({"allOrNone": true, "records": [account("A"), {"attributes": {"type": "Account"}}, account("C")]}));
    let results = r.json();
    let rolled = json!({"success": false, "errors": [{"statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK", "message": "Record rolled back because not all records were valid and the request was using AllOrNone header", "fields": []}]});
    assert_eq!(results[0], rolled);
    assert_eq!(
        results[1]["errors"][0]["statusCode"],
        "REQUIRED_FIELD_MISSING"
    );
    assert_eq!(results[2], rolled);
    assert_eq!(org.count("Account"), before);
    let changes = org.admin("GET", "changes/Account", None).json();
    assert_eq!(
        changes["changes"].as_array().unwrap().len(),
        0,
        "rolled-back writes leave no change log"
    );
}

#[test]
fn upsert_collection_with_the_real_org_all_or_none_shape() {
    let org = Org::start();
    let rec = |ext: &str, extra: Value| {
        let mut r = json!({"attributes": {"type": "Account"}, "Hubsync_Id__c": ext, "Name": ext});
        r.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        r
    };
    let first = org.patch(
        "/composite/sobjects/Account/Hubsync_Id__c",
        json!({"records": [rec("E1", json!({})), rec("E2", json!({}))]}),
    );
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(first.json()[0]["created"], true);
    let again = org.patch(
        "/composite/sobjects/Account/Hubsync_Id__c",
        json!({"records": [rec("e1", json!({"Phone": "9"})), rec("E3", json!({}))]}),
    );
    let results = again.json();
    assert_eq!(
        (
            results[0]["created"].as_bool(),
            results[0]["success"].as_bool()
        ),
        (Some(false), Some(true))
    );
    assert_eq!(results[0]["id"], first.json()[0]["id"]);
    assert_eq!(results[1]["created"], true);

    // jsforce's real-org test: one bad owner with allOrNone → all fail, all created:true.
    let bad = org.patch(
        "/composite/sobjects/Account/Hubsync_Id__c",
        json!({"allOrNone": true, "records": [rec("N1", json!({})), rec("N2", json!({"OwnerId": "INVALID_OWNER"}))]}),
    );
    let results = bad.json();
    assert_eq!(
        results[0]["errors"][0]["statusCode"],
        "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    );
    assert_eq!(results[1]["errors"][0]["statusCode"], "MALFORMED_ID");
    assert!(results
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["created"] == true && r["success"] == false));
    assert_eq!(org.get("/sobjects/Account/Hubsync_Id__c/N1").status, 404);

    let dup = org.patch(
        "/composite/sobjects/Account/Hubsync_Id__c",
        json!({"records": [rec("D", json!({})), rec("d", json!({}))]}),
    );
    assert!(dup
        .json()
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["errors"][0]["statusCode"] == "DUPLICATE_EXTERNAL_ID"));
    let missing = org.patch(
        "/composite/sobjects/Account/Hubsync_Id__c",
        json!({"records": [account("no key")]}),
    );
    assert_eq!(
        missing.json()[0]["errors"][0]["statusCode"],
        "MISSING_ARGUMENT"
    );
    let not_ext = org.patch(
        "/composite/sobjects/Account/Name",
        json!({"records": [account("x")]}),
    );
    assert_eq!(
        (not_ext.status, not_ext.error_code().as_str()),
        (400, "INVALID_FIELD")
    );
}

#[test]
fn update_delete_and_retrieve() {
    let org = Org::start();
    let a = org.create("Account", json!({"Name": "A"}));
    let b = org.create("Account", json!({"Name": "B"}));
    let upd = org.patch(
        "/composite/sobjects",
        json!({"records": [
            {"attributes": {"type": "Account"}, "id": a, "Phone": "1"},
            {"attributes": {"type": "Account"}, "id": "001xx0000000zzzAAA", "Phone": "2"},
            {"attributes": {"type": "Account"}, "id": "garbage", "Phone": "2"},
            {"attributes": {"type": "Account"}, "Phone": "3"}
        ]}),
    );
    let results = upd.json();
    assert_eq!(results[0], json!({"id": a, "success": true, "errors": []}));
    assert_eq!(
        results[1]["errors"][0]["statusCode"],
        "INVALID_CROSS_REFERENCE_KEY"
    );
    assert_eq!(results[2]["errors"][0]["statusCode"], "MALFORMED_ID");
    assert_eq!(results[3]["errors"][0]["statusCode"], "MISSING_ARGUMENT");
    assert_eq!(org.record("Account", &a)["Phone"], "1");

    let got = org
        .get(&format!(
            "/composite/sobjects/Account?ids={a},{b}&fields=Id,Name,Phone"
        ))
        .json();
    assert_eq!(got[0]["Phone"], "1");
    assert_eq!(got[1]["Name"], "B");

    let del = org.delete(&format!("/composite/sobjects?ids={a},{a}&allOrNone=false"));
    let results = del.json();
    assert_eq!(results[0], json!({"id": a, "success": true, "errors": []}));
    assert_eq!(results[1]["errors"][0]["statusCode"], "ENTITY_IS_DELETED");
    let got = org
        .post(
            "/composite/sobjects/Account",
            json!({"ids": [a, b], "fields": ["Name"]}),
        )
        .json();
    assert_eq!(got[0], Value::Null);
    assert_eq!(got[1]["Name"], "B");
}

#[test]
fn request_level_errors() {
    let org = Org::start();
    let many: Vec<Value> = (0..201).map(|i| account(&format!("A{i}"))).collect();
    let r = org.post("/composite/sobjects", json!({"records": many}));
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json(),
        json!([{"message": "record limit reached. cannot submit more than 200 records into this call", "errorCode": "EXCEEDED_ID_LIMIT"}])
    );
    let no_type = org.post("/composite/sobjects", json!({"records": [{"Name": "x"}]}));
    assert_eq!(
        (no_type.status, no_type.error_code().as_str()),
        (400, "INVALID_TYPE")
    );
    let bad_field = org.post(
        "/composite/sobjects",
        json!({"records": [{"attributes": {"type": "Account"}, "Nope__c": 1}]}),
    );
    assert_eq!(bad_field.error_code(), "INVALID_FIELD");
    let bad_json = send(
        &org.agent,
        "POST",
        &org.url("/composite/sobjects"),
        &[("Authorization", &format!("Bearer {}", org.token))],
        Some("{not json"),
    );
    assert_eq!(
        (bad_json.status, bad_json.error_code().as_str()),
        (400, "JSON_PARSER_ERROR")
    );
    let bad_type = org.post("/composite/sobjects", json!({"records": [{"attributes": {"type": "Account"}, "Name": "x", "NumberOfEmployees": "many"}]}));
    assert_eq!(bad_type.error_code(), "JSON_PARSER_ERROR");
    let mut old = Org::start();
    old.version = "41.0".into();
    assert_eq!(
        old.post("/composite/sobjects", json!({"records": []}))
            .status,
        404
    );
}
