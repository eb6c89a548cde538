//! SOQL over HTTP: paging, queryAll, error shapes, and the replication endpoints.

mod common;

use common::*;
use serde_json::{json, Value};

fn load_accounts(org: &Org, n: usize) {
    let records: Vec<Value> = (0..n)
        .map(|i| json!({"Name": format!("Bulk {i:05}"), "NumberOfEmployees": i}))
        .collect();
    let r = org.admin("POST", "load", Some(json!({"Account": records})));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["Account"].as_array().unwrap().len(), n);
}

#[test]
fn pages_of_2000_with_next_records_url() {
    let org = Org::start();
    load_accounts(&org, 4500);
    let first = org.query("SELECT Id, Name FROM Account ORDER BY Name");
    let body = first.json();
    assert_eq!(
        (body["totalSize"].as_u64(), body["done"].as_bool()),
        (Some(4500), Some(false))
    );
    assert_eq!(body["records"].as_array().unwrap().len(), 2000);
    assert_eq!(body["records"][0]["Name"], "Bulk 00000");
    let next = body["nextRecordsUrl"].as_str().unwrap().to_string();
    assert!(
        next.starts_with("/services/data/v59.0/query/01g") && next.ends_with("-2000"),
        "{next}"
    );
    let mut seen = 2000;
    let mut url = next;
    loop {
        let page = send(
            &org.agent,
            "GET",
            &format!("{}{url}", org.base()),
            &[("Authorization", &format!("Bearer {}", org.token))],
            None,
        )
        .json();
        seen += page["records"].as_array().unwrap().len();
        match page["nextRecordsUrl"].as_str() {
            Some(u) => url = u.to_string(),
            None => {
                assert_eq!(page["done"], true);
                break;
            }
        }
    }
    assert_eq!(seen, 4500);
}

#[test]
fn batch_size_header_and_locator_expiry() {
    let org = Org::start();
    load_accounts(&org, 700);
    let small = org.call_with(
        "GET",
        &format!("/query?q={}", encode("SELECT Id FROM Account")),
        &[("Sforce-Query-Options", "batchSize=300")],
        None,
    );
    let body = small.json();
    assert_eq!(body["records"].as_array().unwrap().len(), 300);
    let tiny = org.call_with(
        "GET",
        &format!("/query?q={}", encode("SELECT Id FROM Account")),
        &[("Sforce-Query-Options", "batchSize=10")],
        None,
    );
    assert_eq!(
        tiny.json()["records"].as_array().unwrap().len(),
        200,
        "batch sizes below 200 are raised to 200"
    );
    let next = body["nextRecordsUrl"]
        .as_str()
        .unwrap()
        .trim_start_matches("/services/data/v59.0")
        .to_string();
    assert_eq!(org.get(&next).status, 200);
    org.advance(16 * 60);
    let expired = org.get(&next);
    assert_eq!(expired.status, 400);
    assert_eq!(
        expired.json(),
        json!([{"message": "invalid query locator", "errorCode": "INVALID_QUERY_LOCATOR"}])
    );
    let again = org
        .call_with(
            "GET",
            &format!("/query?q={}", encode("SELECT Id FROM Account")),
            &[("Sforce-Query-Options", "batchSize=300")],
            None,
        )
        .json();
    let next = again["nextRecordsUrl"]
        .as_str()
        .unwrap()
        .trim_start_matches("/services/data/v59.0")
        .to_string();
    org.admin("POST", "query-locators/expire", None);
    assert_eq!(org.get(&next).error_code(), "INVALID_QUERY_LOCATOR");
    assert_eq!(
        org.get("/query/01gxx0000000zzzAAA-2000").error_code(),
        "INVALID_QUERY_LOCATOR"
    );
}

#[test]
fn query_all_sees_the_recycle_bin() {
    let org = Org::start();
    let keep = org.create("Account", json!({"Name": "Keep"}));
    let gone = org.create("Account", json!({"Name": "Gone"}));
    org.delete(&format!("/sobjects/Account/{gone}"));
    let live = org.query("SELECT Id, IsDeleted FROM Account").json();
    assert_eq!(live["totalSize"], 1);
    assert_eq!(live["records"][0]["Id"], keep);
    let all = org
        .get(&format!(
            "/queryAll/?q={}",
            encode("SELECT Id, IsDeleted FROM Account WHERE IsDeleted = true")
        ))
        .json();
    assert_eq!(all["totalSize"], 1);
    assert_eq!(all["records"][0]["Id"], gone);
    assert_eq!(all["records"][0]["IsDeleted"], true);
    assert_eq!(
        org.query("SELECT COUNT() FROM Account").json(),
        json!({"totalSize": 1, "done": true, "records": []})
    );
}

#[test]
fn filters_and_literals_over_http() {
    let org = Org::start();
    org.create(
        "Account",
        json!({"Name": "Bob's BBQ", "AnnualRevenue": 1500, "Industry": "Food & Beverage"}),
    );
    org.create(
        "Account",
        json!({"Name": "100% Cotton", "AnnualRevenue": 2.5e7}),
    );
    org.create("Account", json!({"Name": "Other"}));
    let names = |soql: &str| -> Vec<String> {
        let r = org.query(soql);
        assert_eq!(r.status, 200, "{soql}: {}", r.body);
        r.json()["records"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["Name"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        names(r"SELECT Name FROM Account WHERE Name = 'Bob\'s BBQ'"),
        ["Bob's BBQ"]
    );
    assert_eq!(
        names(r"SELECT Name FROM Account WHERE Name LIKE '100\% %'"),
        ["100% Cotton"]
    );
    assert_eq!(
        names("SELECT Name FROM Account WHERE AnnualRevenue > 1000 ORDER BY AnnualRevenue DESC"),
        ["100% Cotton", "Bob's BBQ"]
    );
    assert_eq!(
        names("select name from account where CreatedDate = TODAY and Industry != null"),
        ["Bob's BBQ"]
    );
    assert_eq!(names("SELECT Name FROM Account WHERE CreatedDate > 2000-01-01T00:00:00Z AND Name NOT IN ('Other') ORDER BY Name LIMIT 1"), ["100% Cotton"]);
    let body = org
        .query(
            "SELECT AnnualRevenue FROM Account WHERE AnnualRevenue != null ORDER BY AnnualRevenue",
        )
        .body;
    assert!(
        body.contains("\"AnnualRevenue\":1500.0") && body.contains("\"AnnualRevenue\":2.5E7"),
        "{body}"
    );
}

#[test]
fn soql_errors_have_the_real_shapes() {
    let org = Org::start();
    let malformed = org.query("SELECT Id FRM Account");
    assert_eq!(malformed.status, 400);
    assert_eq!(
        malformed.json(),
        json!([{"message": "\nSELECT Id FRM Account\n          ^\nERROR at Row:1:Column:11\nunexpected token: 'FRM'", "errorCode": "MALFORMED_QUERY"}])
    );
    assert_eq!(
        org.query("SELECT Nope FROM Account").error_code(),
        "INVALID_FIELD"
    );
    assert_eq!(
        org.query("SELECT Id FROM Nope").error_code(),
        "INVALID_TYPE"
    );
    assert_eq!(
        org.query("SELECT Id FROM Account WHERE CreatedDate > 2024-01-01")
            .error_code(),
        "INVALID_FIELD"
    );
    assert_eq!(
        org.query(r"SELECT Id FROM Account WHERE Name = 'a\qb'")
            .error_code(),
        "MALFORMED_QUERY"
    );
    assert_eq!(org.get("/query").error_code(), "MALFORMED_QUERY");
}

fn iso(text: &str) -> String {
    encode(text)
}

#[test]
fn updated_and_deleted_windows() {
    let mut org = Org::start();
    let clock = org.admin("GET", "clock", None).json();
    let now = clock["now"].as_str().unwrap().to_string(); // 2026-…T…+0000
    let start = format!("{}:00+00:00", &now[..16]);
    let id = org.create("Account", json!({"Name": "Changed"}));
    let gone = org.create("Account", json!({"Name": "Deleted"}));
    org.delete(&format!("/sobjects/Account/{gone}"));
    org.advance(120);
    let end = org.admin("GET", "clock", None).json()["now"]
        .as_str()
        .unwrap()
        .to_string();
    let end = format!("{}:00+00:00", &end[..16]);
    let updated = org.get(&format!(
        "/sobjects/Account/updated/?start={}&end={}",
        iso(&start),
        iso(&end)
    ));
    assert_eq!(updated.status, 200, "{}", updated.body);
    let body = updated.json();
    assert_eq!(body["ids"], json!([id]));
    assert_eq!(
        body["latestDateCovered"].as_str().unwrap(),
        format!("{}:00.000+0000", &end[..16])
    );
    let deleted = org
        .get(&format!(
            "/sobjects/Account/deleted/?start={}&end={}",
            iso(&start),
            iso(&end)
        ))
        .json();
    assert_eq!(deleted["deletedRecords"][0]["id"], gone);
    assert!(deleted["deletedRecords"][0]["deletedDate"]
        .as_str()
        .unwrap()
        .ends_with(".000+0000"));
    assert!(deleted["earliestDateAvailable"].is_string());

    let reversed = org.get(&format!(
        "/sobjects/Account/updated/?start={}&end={}",
        iso(&end),
        iso(&start)
    ));
    assert_eq!(
        (reversed.status, reversed.error_code().as_str()),
        (400, "INVALID_REPLICATION_DATE")
    );
    let same_minute = org.get(&format!(
        "/sobjects/Account/updated/?start={}&end={}",
        iso(&start),
        iso(&start.replace(":00+00:00", ":30+00:00"))
    ));
    assert_eq!(
        same_minute.error_code(),
        "INVALID_REPLICATION_DATE",
        "seconds are truncated"
    );
    let old = org.get(&format!(
        "/sobjects/Account/updated/?start={}&end={}",
        iso("2000-01-01T00:00:00Z"),
        iso(&end)
    ));
    assert_eq!(old.error_code(), "INVALID_REPLICATION_DATE");
    org.advance(16 * 24 * 3600);
    org.login();
    let late = org.get(&format!(
        "/sobjects/Account/deleted/?start={}&end={}",
        iso(&start),
        iso(&end)
    ));
    assert_eq!(
        late.error_code(),
        "INVALID_REPLICATION_DATE",
        "the delete log reaches back 15 days"
    );
}

#[test]
fn relationship_queries_nest_parents_and_children() {
    let org = Org::start();
    let acme = org.create("Account", json!({"Name": "Acme", "Industry": "Energy"}));
    org.create("Account", json!({"Name": "Lonely"}));
    org.create("Contact", json!({"LastName": "Zed", "AccountId": acme}));
    org.create("Contact", json!({"LastName": "Amy", "AccountId": acme}));
    let gone = org.create("Contact", json!({"LastName": "Gone", "AccountId": acme}));
    org.delete(&format!("/sobjects/Contact/{gone}"));
    org.create("Contact", json!({"LastName": "Orphan"}));

    let r = org.query(
        "SELECT LastName, Account.Name, Owner.Name, Account.Industry FROM Contact WHERE IsDeleted = false ORDER BY LastName",
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let records = r.json()["records"].clone();
    let amy = &records[0];
    let keys: Vec<&String> = amy.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["attributes", "LastName", "Account", "Owner"]);
    assert_eq!(amy["Account"]["attributes"]["type"], "Account");
    assert_eq!(
        amy["Account"]["attributes"]["url"],
        format!("/services/data/v59.0/sobjects/Account/{acme}")
    );
    assert_eq!(amy["Account"]["Name"], "Acme");
    assert_eq!(amy["Account"]["Industry"], "Energy");
    assert_eq!(amy["Owner"]["attributes"]["type"], "User");
    assert_eq!(amy["Owner"]["Name"], "demo@hubsync.local");
    assert_eq!(records[1]["LastName"], "Orphan");
    assert_eq!(records[1]["Account"], Value::Null);

    let r = org.query(
        "SELECT Name, (SELECT LastName FROM Contacts ORDER BY LastName) FROM Account ORDER BY Name",
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let records = r.json()["records"].clone();
    let contacts = &records[0]["Contacts"];
    assert_eq!(contacts["totalSize"], 2);
    assert_eq!(contacts["done"], true);
    assert_eq!(contacts["records"][0]["LastName"], "Amy");
    assert_eq!(contacts["records"][1]["LastName"], "Zed");
    assert_eq!(contacts["records"][0]["attributes"]["type"], "Contact");
    assert_eq!(records[1]["Name"], "Lonely");
    assert_eq!(records[1]["Contacts"], Value::Null);
    let all = org.get(&format!(
        "/queryAll?q={}",
        encode(&format!(
            "SELECT Id, (SELECT LastName FROM Contacts) FROM Account WHERE Id = '{acme}'"
        ))
    ));
    assert_eq!(
        all.json()["records"][0]["Contacts"]["totalSize"],
        3,
        "queryAll shows deleted children"
    );

    let bad = org.query("SELECT Nope.Name FROM Contact");
    assert_eq!(bad.error_code(), "INVALID_FIELD");
    assert!(bad.json()[0]["message"]
        .as_str()
        .unwrap()
        .contains("Didn't understand relationship 'Nope' in field path"));
    let bad = org.query("SELECT Id, (SELECT Id FROM Nopes) FROM Account");
    assert_eq!(bad.error_code(), "INVALID_TYPE");
}
