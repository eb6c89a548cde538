//! What real orgs do to a sync: field rules, validation rules, duplicates, rounding,
//! automations and the daily API limit.

mod common;

use common::*;
use serde_json::json;

fn error(r: &Resp) -> (u16, serde_json::Value) {
    (r.status, r.json()[0].clone())
}

#[test]
fn field_level_errors() {
    let org = Org::start();
    let (status, e) = error(&org.post("/sobjects/Account", json!({"Phone": "1"})));
    assert_eq!(
        (status, e),
        (
            400,
            json!({"message": "Required fields are missing: [Name]", "errorCode": "REQUIRED_FIELD_MISSING", "fields": ["Name"]})
        )
    );
    let long = "x".repeat(256);
    let (_, e) = error(&org.post("/sobjects/Account", json!({ "Name": long })));
    assert_eq!(e["errorCode"], "STRING_TOO_LONG");
    assert_eq!(
        e["message"],
        format!("Account Name: data value too large: {long} (max length=255)")
    );
    let (_, e) = error(&org.post(
        "/sobjects/Account",
        json!({"Name": "x", "CreatedDate": "2024-01-01T00:00:00Z"}),
    ));
    assert_eq!(e["errorCode"], "INVALID_FIELD_FOR_INSERT_UPDATE");
    assert_eq!(e["fields"], json!(["CreatedDate"]));
    let (_, e) = error(&org.post(
        "/sobjects/Account",
        json!({"Name": "x", "Tier__c": "Platinum"}),
    ));
    assert_eq!(
        e,
        json!({"message": "Tier: bad value for restricted picklist field: Platinum", "errorCode": "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", "fields": ["Tier__c"]})
    );
    let (status, e) = error(&org.post(
        "/sobjects/Account",
        json!({"Name": "x", "NumberOfEmployees": "lots"}),
    ));
    assert_eq!(
        (status, e["errorCode"].as_str()),
        (400, Some("JSON_PARSER_ERROR"))
    );
    let (_, e) = error(&org.post("/sobjects/Account", json!({"Name": "x", "Nope__c": 1})));
    assert_eq!(
        e["message"],
        "No such column 'Nope__c' on sobject of type Account"
    );
    #[rustfmt::skip]
    let refused = [
        ("Account", json!({"Name": "x", "OwnerId": "INVALID_OWNER"}), "MALFORMED_ID"),
        ("Contact", json!({"LastName": "x", "AccountId": "003xx0000000001AAA"}), "FIELD_INTEGRITY_EXCEPTION"),
        ("Contact", json!({"LastName": "x", "AccountId": "001xx0000000zzzAAA"}), "INVALID_CROSS_REFERENCE_KEY"),
        ("Contact", json!({"LastName": "x", "Email": "not-an-email"}), "INVALID_EMAIL_ADDRESS"),
        ("Account", json!({"Name": "x", "Credit_Limit__c": 1e11}), "NUMBER_OUTSIDE_VALID_RANGE"),
        ("Contact", json!({"LastName": "x", "Name": "Full"}), "INVALID_FIELD_FOR_INSERT_UPDATE"),
    ];
    for (object, body, code) in refused {
        let (_, e) = error(&org.post(&format!("/sobjects/{object}"), body.clone()));
        assert_eq!(e["errorCode"], code, "{object} {body}");
    }
}

#[test]
fn values_are_stored_as_salesforce_stores_them() {
    let org = Org::start();
    let id = org.create(
        "Account",
        json!({"name": "Round", "AnnualRevenue": "1234.565", "Credit_Limit__c": 0.005}),
    );
    let r = org.get(&format!(
        "/sobjects/Account/{id}?fields=AnnualRevenue,Credit_Limit__c,Name"
    ));
    assert!(r.body.contains("\"AnnualRevenue\":1234.57"), "{}", r.body);
    assert!(r.body.contains("\"Credit_Limit__c\":0.01"), "{}", r.body);
    let contact = org.create("Contact", json!({"FirstName": "Ada", "LastName": "Lovelace", "AccountId": &id[..15], "Birthdate": "1815-12-10"}));
    let c = org.record("Contact", &contact);
    assert_eq!(c["Name"], "Ada Lovelace");
    assert_eq!(c["AccountId"], id);
    assert_eq!(c["Birthdate"], "1815-12-10");
    assert_eq!(c["HasOptedOutOfEmail"], false);
    let invoice = org.create("Invoice__c", json!({"Amount__c": 10}));
    let inv = org.record("Invoice__c", &invoice);
    assert!(invoice.starts_with("a00"));
    assert_eq!(inv["Status__c"], "Draft", "picklist default");
}

#[test]
fn validation_rules_and_duplicates() {
    let org = Org::start();
    let (_, e) = error(&org.post(
        "/sobjects/Account",
        json!({"Name": "x", "Phone": "call me"}),
    ));
    assert_eq!(
        e,
        json!({"message": "Phone may contain only digits, spaces and + ( ) . -", "errorCode": "FIELD_CUSTOM_VALIDATION_EXCEPTION", "fields": ["Phone"]})
    );
    let (_, e) = error(&org.post(
        "/sobjects/Account",
        json!({"Name": "x", "Type": "Customer - Direct"}),
    ));
    assert_eq!(e["errorCode"], "FIELD_CUSTOM_VALIDATION_EXCEPTION");
    assert_eq!(e["message"], "Direct customers need an industry");
    org.create("Account", json!({"Name": "x", "Type": "Customer - Direct", "Industry": "Banking", "Phone": "+1 (555) 010-0000"}));

    let first = org.create("Account", json!({"Name": "One", "Hubsync_Id__c": "dup"}));
    let (status, e) = error(&org.post(
        "/sobjects/Account",
        json!({"Name": "Two", "Hubsync_Id__c": "DUP"}),
    ));
    assert_eq!(status, 400);
    assert_eq!(e["errorCode"], "DUPLICATE_VALUE");
    assert_eq!(
        e["message"],
        format!("duplicate value found: Hubsync_Id__c duplicates value on record with id: {first}")
    );
    // A deleted record frees its unique value.
    org.delete(&format!("/sobjects/Account/{first}"));
    org.create("Account", json!({"Name": "Two", "Hubsync_Id__c": "DUP"}));
}

#[test]
fn automations_from_the_schema_and_the_admin_api() {
    let org = Org::start();
    let invoice = org.create("Invoice__c", json!({"External_Key__c": "inv-7"}));
    assert_eq!(
        org.record("Invoice__c", &invoice)["Name"],
        "INV-7",
        "schema automation copies the key upper-cased"
    );

    let set = org.admin(
        "POST",
        "automations",
        Some(json!({"automations": [{"name": "Upper", "object": "Account", "field": "Site", "copyFrom": "Name", "transform": "upper", "on": ["update"]},
                                      {"name": "Rate", "object": "Account", "field": "Rating", "value": "Hot"}]})),
    );
    assert_eq!(set.status, 200, "{}", set.body);
    let id = org.create("Account", json!({"Name": "acme"}));
    let after_create = org.record("Account", &id);
    assert_eq!(
        (after_create["Site"].clone(), after_create["Rating"].clone()),
        (serde_json::Value::Null, json!("Hot"))
    );
    org.patch(
        &format!("/sobjects/Account/{id}"),
        json!({"Name": "acme corp"}),
    );
    assert_eq!(org.record("Account", &id)["Site"], "ACME CORP");
    let last = org.last_change("Account");
    assert!(last["changedFields"]
        .as_array()
        .unwrap()
        .contains(&json!("Site")));

    let bad = org.admin("PUT", "automations", Some(json!({"automations": [{"name": "x", "object": "Account", "field": "CreatedDate", "value": "2024-01-01T00:00:00Z"}]})));
    assert_eq!(bad.status, 400);
    let bad = org.admin("PUT", "automations", Some(json!({"automations": [{"name": "x", "object": "Account", "field": "NumberOfEmployees", "value": "many"}]})));
    assert_eq!(bad.status, 400);
    assert_eq!(org.admin("DELETE", "automations", None).status, 200);
    org.patch(&format!("/sobjects/Account/{id}"), json!({"Name": "lower"}));
    assert_eq!(org.record("Account", &id)["Site"], "ACME CORP");
}

#[test]
fn the_daily_api_limit_is_enforced() {
    let org = Org::start();
    let set = org.admin("PUT", "limits", Some(json!({"max": 10, "used": 9})));
    assert_eq!(set.json(), json!({"max": 10, "used": 9}));
    let last = org.get("/limits");
    assert_eq!(last.status, 200);
    assert_eq!(last.header("sforce-limit-info"), Some("api-usage=10/10"));
    assert_eq!(
        last.json()["DailyApiRequests"],
        json!({"Max": 10, "Remaining": 0})
    );
    let refused = org.get("/limits");
    assert_eq!(refused.status, 403);
    assert_eq!(
        refused.json(),
        json!([{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}])
    );
    assert_eq!(refused.header("sforce-limit-info"), Some("api-usage=10/10"));
    org.admin("PUT", "limits", Some(json!({"used": 0})));
    assert_eq!(org.get("/limits").status, 200);
}

#[test]
fn bulk_load_and_reset() {
    let org = Org::start();
    let loaded = org.admin(
        "POST",
        "load",
        Some(json!({"Account": [
            {"Id": "001xx0000000100AAA", "Name": "Old", "CreatedDate": "2020-01-01T00:00:00Z", "Phone": "not digits"},
            {"Name": "Binned", "IsDeleted": true}
        ], "Contact": [{"LastName": "Child", "AccountId": "001xx0000000100AAA"}]})),
    );
    assert_eq!(loaded.status, 200, "{}", loaded.body);
    let old = org.record("Account", "001xx0000000100AAA");
    assert_eq!(old["CreatedDate"], "2020-01-01T00:00:00.000+0000");
    assert_eq!(old["SystemModstamp"], "2020-01-01T00:00:00.000+0000");
    assert_eq!(
        old["Phone"], "not digits",
        "bulk load bypasses validation rules"
    );
    assert_eq!(org.count("Account"), 1);
    let fresh = org.create("Account", json!({"Name": "New"}));
    assert_ne!(fresh, "001xx0000000100AAA");
    let bad = org.admin(
        "POST",
        "load",
        Some(json!({"Account": [{"Name": "ok"}, {"Nope__c": 1}]})),
    );
    assert_eq!(bad.status, 400);
    assert_eq!(org.count("Account"), 2, "a failed load loads nothing");
    let counters = org.admin("GET", "counters", None).json();
    assert!(counters["recordsCreated"].as_u64().unwrap() >= 4);
    assert_eq!(org.admin("POST", "reset", None).status, 200);
    assert_eq!(org.count("Account"), 0);
    assert_eq!(org.admin("GET", "nothing", None).status, 404);
}
