//! Versions, describe, single-record CRUD, upsert by external id, limits.

mod common;

use common::*;
use hubsync_emulator::{DeletedRecordError, EmulatorOptions};
use serde_json::json;

#[test]
fn versions_list_is_public_and_has_no_limit_header() {
    let org = Org::start();
    let r = send(
        &org.agent,
        "GET",
        &format!("{}/services/data/", org.base()),
        &[],
        None,
    );
    assert_eq!(r.status, 200);
    assert!(r.header("sforce-limit-info").is_none());
    let list = r.json();
    let list = list.as_array().unwrap();
    assert_eq!(
        list[0],
        json!({"label": "Summer '14", "url": "/services/data/v31.0", "version": "31.0"})
    );
    assert_eq!(list.last().unwrap()["version"], "68.0");
    assert_eq!(list.len(), 38);
}

#[test]
fn version_rules_and_trailing_slashes() {
    let mut org = Org::start();
    let limit = org.get("/limits");
    assert_eq!(limit.status, 200);
    assert!(limit
        .header("sforce-limit-info")
        .unwrap()
        .starts_with("api-usage="));
    org.version = "30.0".into();
    assert_eq!(org.get("/limits").status, 410);
    org.version = "69.0".into();
    assert_eq!(org.get("/limits").status, 404);
    let latest = send(
        &org.agent,
        "GET",
        &format!("{}/services/data/latest/", org.base()),
        &[("Authorization", &format!("Bearer {}", org.token))],
        None,
    );
    assert_eq!(latest.status, 200);
    assert_eq!(latest.json()["sobjects"], "/services/data/v68.0/sobjects");
    org.version = "31.0".into();
    assert_eq!(org.get("/sobjects/Account/describe/").status, 200);
    assert_eq!(org.get("/nothing/here").error_code(), "NOT_FOUND");
    assert_eq!(org.get("/sobjects/Nope__c/describe").status, 404);
    let put = org.call(
        "PUT",
        "/sobjects/Account/001xx0000000001AAA",
        Some(json!({})),
    );
    assert_eq!(
        (put.status, put.error_code().as_str()),
        (405, "METHOD_NOT_ALLOWED")
    );
}

/// The field `name` of a describe answer.
fn described_field(describe: &serde_json::Value, name: &str) -> serde_json::Value {
    describe["fields"]
        .as_array()
        .and_then(|fields| fields.iter().find(|f| f["name"] == name))
        .unwrap_or_else(|| panic!("no field {name} in the describe"))
        .clone()
}

#[test]
fn describe_global_and_object() {
    let org = Org::start();
    let global = org.get("/sobjects").json();
    assert_eq!(global["maxBatchSize"], 200);
    let names: Vec<&str> = global["sobjects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Account", "Contact", "Invoice__c"]);
    let invoice = &global["sobjects"][2];
    assert_eq!(invoice["keyPrefix"], "a00");
    assert_eq!(invoice["custom"], true);
    assert_eq!(
        invoice["urls"]["describe"],
        "/services/data/v59.0/sobjects/Invoice__c/describe"
    );

    let account = org.get("/sobjects/account/describe").json();
    assert_eq!(account["name"], "Account");
    let contact = org.get("/sobjects/Contact/describe").json();
    #[rustfmt::skip]
    let expected = [
        (&account, "Id", json!({"type": "id", "createable": false, "idLookup": true, "nillable": false})),
        (&account, "AnnualRevenue", json!({"type": "currency", "precision": 18, "scale": 2, "soapType": "xsd:double"})),
        (&account, "Hubsync_Id__c", json!({"externalId": true, "unique": true, "length": 36, "custom": true})),
        (&account, "Tier__c", json!({"restrictedPicklist": true})),
        (&account, "CreatedDate", json!({"updateable": false, "defaultedOnCreate": true})),
        (&account, "Name", json!({"nillable": false})),
        (&account, "OwnerId", json!({"referenceTo": ["User"]})),
        (&contact, "LastName", json!({"nillable": false, "length": 80})),
    ];
    for (describe, name, properties) in expected {
        let field = described_field(describe, name);
        for (property, value) in properties.as_object().unwrap() {
            assert_eq!(&field[property], value, "{name}.{property}");
        }
    }
    assert_eq!(
        described_field(&account, "Tier__c")["picklistValues"][0]["value"],
        "Gold"
    );
    let basic = org.get("/sobjects/Contact").json();
    assert_eq!(basic["objectDescribe"]["keyPrefix"], "003");
}

#[test]
fn create_retrieve_update_delete() {
    let org = Org::with(EmulatorOptions {
        schema_json: Some(SCHEMA.into()),
        deleted_record_error: DeletedRecordError::EntityIsDeleted,
        ..Default::default()
    });
    let created = org.post("/sobjects/Account/", json!({"name": "Acme", "AnnualRevenue": 15000000, "NumberOfEmployees": 120, "BillingCity": "SF"}));
    assert_eq!(created.status, 201);
    let id = created.json()["id"].as_str().unwrap().to_string();
    assert_eq!(
        created.json(),
        json!({"id": id, "success": true, "errors": []})
    );
    assert_eq!(
        created.header("location").unwrap(),
        format!("/services/data/v59.0/sobjects/Account/{id}")
    );
    assert!(id.starts_with("001") && id.len() == 18);

    let record = org.get(&format!("/sobjects/Account/{}", &id[..15]));
    assert_eq!(record.status, 200);
    assert!(
        record.body.contains("\"AnnualRevenue\":1.5E7"),
        "{}",
        record.body
    );
    assert!(record
        .body
        .starts_with("{\"attributes\":{\"type\":\"Account\""));
    let record = record.json();
    assert_eq!(record["Id"], id);
    assert_eq!(record["NumberOfEmployees"], 120);
    assert_eq!(record["Phone"], serde_json::Value::Null);
    assert_eq!(record["IsDeleted"], false);
    assert_eq!(record["OwnerId"], "005xx0000000001AAA");
    assert_eq!(record["BillingAddress"]["city"], "SF");
    let stamp = record["SystemModstamp"].as_str().unwrap();
    assert!(stamp.ends_with(".000+0000"), "{stamp}");
    assert_eq!(record["CreatedDate"], record["LastModifiedDate"]);

    let some = org
        .get(&format!("/sobjects/Account/{id}?fields=Name,AnnualRevenue"))
        .json();
    assert_eq!(some.as_object().unwrap().len(), 3);
    assert_eq!(
        org.get(&format!("/sobjects/Account/{id}?fields=Nope"))
            .error_code(),
        "INVALID_FIELD"
    );

    let update = org.patch(
        &format!("/sobjects/Account/{id}"),
        json!({"Phone": "555", "BillingCity": null}),
    );
    assert_eq!((update.status, update.body.as_str()), (204, ""));
    let record = org.record("Account", &id);
    assert_eq!(record["Phone"], "555");
    assert_eq!(record["BillingAddress"], serde_json::Value::Null);
    assert!(record["SystemModstamp"].as_str().unwrap() >= stamp);

    assert_eq!(org.delete(&format!("/sobjects/Account/{id}")).status, 204);
    let again = org.delete(&format!("/sobjects/Account/{id}"));
    assert_eq!(again.status, 404);
    assert_eq!(
        again.json(),
        json!([{"message": "entity is deleted", "errorCode": "ENTITY_IS_DELETED", "fields": []}])
    );
    let gone = org.get(&format!("/sobjects/Account/{id}"));
    assert_eq!(
        (gone.status, gone.error_code().as_str()),
        (404, "ENTITY_IS_DELETED")
    );
    assert_eq!(
        org.patch(&format!("/sobjects/Account/{id}"), json!({"Name": "x"}))
            .error_code(),
        "ENTITY_IS_DELETED"
    );
}

#[test]
fn missing_and_malformed_ids() {
    let org = Org::start();
    let missing = org.get("/sobjects/Account/001xx0000000999AAA");
    assert_eq!(
        missing.json(),
        json!([{"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}])
    );
    let malformed = org.get("/sobjects/Account/nonsense");
    assert_eq!(malformed.status, 404);
    assert_eq!(
        malformed.json()[0]["message"],
        "Provided external ID field does not exist or is not accessible: nonsense"
    );
    // A contact id on the Account URL is another object's id.
    let contact = org.create("Contact", json!({"LastName": "Smith"}));
    assert_eq!(org.get(&format!("/sobjects/Account/{contact}")).status, 404);
    // Deleted records answer NOT_FOUND by default.
    let id = org.create("Account", json!({"Name": "Temp"}));
    org.delete(&format!("/sobjects/Account/{id}"));
    assert_eq!(
        org.get(&format!("/sobjects/Account/{id}")).error_code(),
        "NOT_FOUND"
    );
}

#[test]
fn upsert_by_external_id_follows_the_version_rules() {
    let mut org = Org::start();
    let created = org.patch(
        "/sobjects/Account/Hubsync_Id__c/ext-1",
        json!({"Name": "One"}),
    );
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.json()["id"].as_str().unwrap().to_string();
    assert_eq!(
        created.json(),
        json!({"id": id, "success": true, "errors": [], "created": true})
    );
    let updated = org.patch(
        "/sobjects/Account/hubsync_id__c/EXT-1",
        json!({"Name": "Uno"}),
    );
    assert_eq!(updated.status, 200);
    assert_eq!(
        updated.json(),
        json!({"id": id, "success": true, "errors": [], "created": false})
    );
    assert_eq!(org.record("Account", &id)["Name"], "Uno");
    let by_ext = org.get("/sobjects/Account/Hubsync_Id__c/ext-1");
    assert_eq!(by_ext.json()["Id"], id);
    assert_eq!(org.get("/sobjects/Account/Hubsync_Id__c/none").status, 404);

    org.version = "45.0".into();
    let old = org.patch(
        "/sobjects/Account/Hubsync_Id__c/ext-1",
        json!({"Name": "Old"}),
    );
    assert_eq!((old.status, old.body.as_str()), (204, ""));
    let old_create = org.patch(
        "/sobjects/Account/Hubsync_Id__c/ext-2",
        json!({"Name": "Two"}),
    );
    assert_eq!(old_create.status, 201);
    assert!(old_create.json().get("created").is_none());
    org.version = "59.0".into();

    let not_ext = org.patch("/sobjects/Account/Name/x", json!({"Phone": "1"}));
    assert_eq!(not_ext.status, 404);
    assert_eq!(
        not_ext.json()[0]["message"],
        "Provided external ID field does not exist or is not accessible: Name"
    );

    // Contact.Email is an idLookup field that is not unique: two matches answer 300.
    let a = org.create(
        "Contact",
        json!({"LastName": "A", "Email": "same@example.com"}),
    );
    let b = org.create(
        "Contact",
        json!({"LastName": "B", "Email": "same@example.com"}),
    );
    let multiple = org.patch(
        "/sobjects/Contact/Email/same@example.com",
        json!({"Title": "x"}),
    );
    assert_eq!(multiple.status, 300);
    assert_eq!(
        multiple.json(),
        json!([
            format!("/services/data/v59.0/sobjects/Contact/{a}"),
            format!("/services/data/v59.0/sobjects/Contact/{b}")
        ])
    );
    assert_eq!(
        org.get("/sobjects/Contact/Email/same@example.com").status,
        300
    );

    // Id as the key: update by id, and POST /sobjects/Account/Id creates.
    let by_id = org.patch(
        &format!("/sobjects/Account/Id/{id}"),
        json!({"Name": "ById"}),
    );
    assert_eq!(by_id.json()["created"], false);
    let post_id = org.post("/sobjects/Account/Id", json!({"Name": "Posted"}));
    assert_eq!(post_id.status, 201);
    assert_eq!(
        org.delete("/sobjects/Account/Hubsync_Id__c/ext-2").status,
        204
    );
}

#[test]
fn limits_track_the_api_counter_and_call_options_reach_the_change_log() {
    let org = Org::start();
    let limits = org.get("/limits");
    let daily = &limits.json()["DailyApiRequests"];
    let (used, max) = (
        daily["Max"].as_u64().unwrap() - daily["Remaining"].as_u64().unwrap(),
        daily["Max"].as_u64().unwrap(),
    );
    assert_eq!(
        limits.header("sforce-limit-info").unwrap(),
        format!("api-usage={used}/{max}")
    );
    assert!(limits.json()["DataStorageMB"]["Max"].as_u64().unwrap() > 0);
    let r = org.call_with(
        "POST",
        "/sobjects/Account",
        &[("Sforce-Call-Options", "client=hubsync-test")],
        Some(json!({"Name": "Tagged"})),
    );
    assert_eq!(r.status, 201);
    assert_eq!(
        r.header("sforce-limit-info").unwrap(),
        format!("api-usage={}/{max}", used + 1)
    );
    let last = org.last_change("Account");
    assert_eq!(last["changeType"], "CREATE");
    assert_eq!(
        last["changeOrigin"],
        "com/salesforce/api/rest/59.0;client=hubsync-test"
    );
    assert!(last["changedFields"]
        .as_array()
        .unwrap()
        .contains(&json!("Name")));
}

#[test]
fn timestamps_have_second_precision_and_never_go_backwards() {
    let org = Org::start();
    let id = org.create("Account", json!({"Name": "T"}));
    let mut last = org.record("Account", &id)["SystemModstamp"]
        .as_str()
        .unwrap()
        .to_string();
    for i in 0..20 {
        org.patch(
            &format!("/sobjects/Account/{id}"),
            json!({"Name": format!("T{i}")}),
        );
        let now = org.record("Account", &id)["SystemModstamp"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(now.ends_with(".000+0000"));
        assert!(now >= last, "{now} < {last}");
        last = now;
    }
    let replay: Vec<u64> = org.admin("GET", "changes/Account", None).json()["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["replayId"].as_u64().unwrap())
        .collect();
    assert_eq!(replay.len(), 21);
    assert!(replay.windows(2).all(|w| w[0] < w[1]));
}
