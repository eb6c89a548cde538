//! `/composite` and `/composite/batch`.

mod common;

use common::*;
use serde_json::json;

#[test]
fn composite_references_earlier_results() {
    let org = Org::start();
    let r = org.post(
        "/composite",
        json!({"allOrNone": true, "compositeRequest": [
            {"method": "POST", "url": "/services/data/v59.0/sobjects/Account", "referenceId": "acct", "body": {"Name": "Parent"}},
            {"method": "POST", "url": "/services/data/v59.0/sobjects/Contact", "referenceId": "con", "body": {"LastName": "Kid", "AccountId": "@{acct.id}"}},
            {"method": "GET", "url": "/services/data/v59.0/sobjects/Account/@{acct.id}?fields=Name", "referenceId": "read"},
            {"method": "GET", "url": "/services/data/v59.0/query?q=SELECT+Id+FROM+Contact", "referenceId": "q"},
            {"method": "PATCH", "url": "/services/data/v59.0/sobjects/Contact/@{q.records[0].Id}", "referenceId": "upd", "body": {"Title": "CEO"}}
        ]}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let responses = r.json()["compositeResponse"].clone();
    let acct = responses[0]["body"]["id"].as_str().unwrap().to_string();
    assert_eq!(responses[0]["httpStatusCode"], 201);
    assert_eq!(responses[0]["referenceId"], "acct");
    assert_eq!(
        responses[0]["httpHeaders"]["Location"],
        format!("/services/data/v59.0/sobjects/Account/{acct}")
    );
    let contact = responses[1]["body"]["id"].as_str().unwrap().to_string();
    assert_eq!(org.record("Contact", &contact)["AccountId"], acct);
    assert_eq!(responses[2]["body"]["Name"], "Parent");
    assert_eq!(responses[4]["httpStatusCode"], 204);
    assert_eq!(responses[4]["body"], serde_json::Value::Null);
    assert_eq!(org.record("Contact", &contact)["Title"], "CEO");
}

#[test]
fn all_or_none_rolls_back_and_halts() {
    let org = Org::start();
    let r = org.post(
        "/composite",
        json!({"allOrNone": true, "compositeRequest": [
            {"method": "POST", "url": "/services/data/v59.0/sobjects/Account", "referenceId": "ok", "body": {"Name": "Kept?"}},
            {"method": "POST", "url": "/services/data/v59.0/sobjects/Account", "referenceId": "bad", "body": {"Phone": "1"}},
            {"method": "POST", "url": "/services/data/v59.0/sobjects/Account", "referenceId": "after", "body": {"Name": "Never"}}
        ]}),
    );
    assert_eq!(r.status, 200);
    let responses = r.json()["compositeResponse"].clone();
    let halted = json!([{"errorCode": "PROCESSING_HALTED", "message": "The transaction was rolled back since another operation in the same transaction failed."}]);
    assert_eq!(
        (
            responses[0]["httpStatusCode"].as_u64(),
            responses[0]["body"].clone()
        ),
        (Some(400), halted.clone())
    );
    assert_eq!(
        responses[1]["body"][0]["errorCode"],
        "REQUIRED_FIELD_MISSING"
    );
    assert_eq!(responses[2]["body"], halted);
    assert_eq!(org.count("Account"), 0);

    let partial = org.post(
        "/composite",
        json!({"allOrNone": false, "compositeRequest": [
            {"method": "POST", "url": "/services/data/v59.0/sobjects/Account", "referenceId": "bad", "body": {"Phone": "1"}},
            {"method": "POST", "url": "/services/data/v59.0/sobjects/Contact", "referenceId": "child", "body": {"LastName": "x", "AccountId": "@{bad.id}"}},
            {"method": "POST", "url": "/services/data/v59.0/sobjects/Account", "referenceId": "fine", "body": {"Name": "Kept"}}
        ]}),
    );
    let responses = partial.json()["compositeResponse"].clone();
    assert_eq!(responses[1]["body"][0]["errorCode"], "PROCESSING_HALTED");
    assert_eq!(responses[2]["httpStatusCode"], 201);
    assert_eq!(org.count("Account"), 1);
}

#[test]
fn composite_all_or_none_overrides_a_collection_inside_it() {
    let org = Org::start();
    let r = org.post(
        "/composite",
        json!({"allOrNone": true, "compositeRequest": [
            {"method": "POST", "url": "/services/data/v59.0/sobjects/Account", "referenceId": "first", "body": {"Name": "Solo"}},
            {"method": "POST", "url": "/services/data/v59.0/composite/sobjects", "referenceId": "many", "body": {"allOrNone": false, "records": [
                {"attributes": {"type": "Account"}, "Name": "Fine"},
                {"attributes": {"type": "Account"}, "Phone": "1"}
            ]}}
        ]}),
    );
    let responses = r.json()["compositeResponse"].clone();
    assert_eq!(responses[0]["body"][0]["errorCode"], "PROCESSING_HALTED");
    assert_eq!(responses[1]["httpStatusCode"], 200);
    assert_eq!(
        responses[1]["body"][0]["errors"][0]["statusCode"],
        "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    );
    assert_eq!(
        responses[1]["body"][1]["errors"][0]["statusCode"],
        "REQUIRED_FIELD_MISSING"
    );
    assert_eq!(org.count("Account"), 0);
}

#[test]
fn structural_errors_fail_the_whole_request() {
    let org = Org::start();
    let missing_ref = org.post(
        "/composite",
        json!({"compositeRequest": [{"method": "GET", "url": "/services/data/v59.0/limits"}]}),
    );
    assert_eq!(missing_ref.status, 400);
    let too_many: Vec<_> = (0..26).map(|i| json!({"method": "GET", "url": "/services/data/v59.0/limits", "referenceId": format!("r{i}")})).collect();
    assert_eq!(
        org.post("/composite", json!({"compositeRequest": too_many}))
            .status,
        400
    );
    let bad_method = org.post("/composite", json!({"compositeRequest": [{"method": "TRACE", "url": "/services/data/v59.0/limits", "referenceId": "a"}]}));
    assert_eq!(bad_method.status, 400);
}

#[test]
fn batch_runs_independently_and_can_halt() {
    let org = Org::start();
    let id = org.create("Account", json!({"Name": "Batch"}));
    let r = org.post(
        "/composite/batch",
        json!({"haltOnError": false, "batchRequests": [
            {"method": "PATCH", "url": format!("v59.0/sobjects/Account/{id}"), "richInput": {"Name": "New"}},
            {"method": "GET", "url": format!("v59.0/sobjects/Account/{id}?fields=Name")},
            {"method": "GET", "url": "v59.0/sobjects/Account/001xx0000000zzzAAA"}
        ]}),
    );
    let body = r.json();
    assert_eq!(body["hasErrors"], true);
    assert_eq!(
        body["results"][0],
        json!({"result": null, "statusCode": 204})
    );
    assert_eq!(body["results"][1]["result"]["Name"], "New");
    assert_eq!(body["results"][2]["statusCode"], 404);

    let halted = org.post(
        "/composite/batch",
        json!({"haltOnError": true, "batchRequests": [
            {"method": "POST", "url": "v59.0/sobjects/Account", "richInput": {}},
            {"method": "POST", "url": "v59.0/sobjects/Account", "richInput": {"Name": "Skipped"}}
        ]}),
    );
    let body = halted.json();
    assert_eq!(body["results"][0]["statusCode"], 400);
    assert_eq!(body["results"][1]["statusCode"], 412);
    assert_eq!(
        body["results"][1]["result"][0]["errorCode"],
        "BATCH_PROCESSING_HALTED"
    );
    assert_eq!(org.count("Account WHERE Name = 'Skipped'"), 0);
}
