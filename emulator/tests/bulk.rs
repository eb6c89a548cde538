//! Bulk API 2.0: ingest jobs through the save pipeline, their result files, query jobs
//! with locator paging, job states, limits and errors.

mod common;

use common::*;
use hubsync_emulator::{BulkOptions, EmulatorOptions};
use serde_json::{json, Value as Json};

fn org_with(bulk: BulkOptions) -> Org {
    Org::with(EmulatorOptions {
        schema_json: Some(SCHEMA.into()),
        bulk,
        ..Default::default()
    })
}

/// `PUT …/batches` with a CSV body.
fn upload(org: &Org, job: &str, csv: &str) -> Resp {
    let request = ureq::http::Request::builder()
        .method("PUT")
        .uri(org.url(&format!("/jobs/ingest/{job}/batches")))
        .header("Authorization", format!("Bearer {}", org.token))
        .header("Content-Type", "text/csv")
        .body(csv.to_string())
        .unwrap();
    let mut response = org.agent.run(request).unwrap();
    Resp {
        status: response.status().as_u16(),
        headers: Vec::new(),
        body: response.body_mut().read_to_string().unwrap_or_default(),
    }
}

fn create_job(org: &Org, body: Json) -> String {
    let r = org.call_with(
        "POST",
        "/jobs/ingest",
        &[("Sforce-Call-Options", "client=bulk-test")],
        Some(body),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["state"], "Open");
    r.json()["id"].as_str().unwrap().to_string()
}

fn close(org: &Org, job: &str) -> Resp {
    org.patch(
        &format!("/jobs/ingest/{job}"),
        json!({"state": "UploadComplete"}),
    )
}

fn wait_state(org: &Org, kind: &str, job: &str, state: &str) -> Json {
    let mut info = Json::Null;
    wait_for(&format!("job {job} to reach {state}"), || {
        info = org.get(&format!("/jobs/{kind}/{job}")).json();
        info["state"] == state
    });
    info
}

/// Runs an ingest job to completion and returns its final info.
fn ingest(org: &Org, body: Json, csv: &str) -> (String, Json) {
    let job = create_job(org, body);
    assert_eq!(upload(org, &job, csv).status, 201);
    let closed = close(org, &job);
    assert_eq!(closed.status, 200, "{}", closed.body);
    let info = wait_state(org, "ingest", &job, "JobComplete");
    (job, info)
}

fn csv_rows(org: &Org, path: &str) -> Vec<Vec<String>> {
    let r = org.get(path);
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.header("content-type").unwrap().starts_with("text/csv"));
    csv_lines(&r.body)
}

fn csv_lines(text: &str) -> Vec<Vec<String>> {
    text.lines()
        .map(|line| {
            line.split(',')
                .map(|c| c.trim_matches('"').to_string())
                .collect()
        })
        .collect()
}

#[test]
fn insert_job_saves_through_the_pipeline_and_reports_each_row() {
    let org = Org::start();
    let (job, info) = ingest(
        &org,
        json!({"object": "Account", "operation": "insert", "lineEnding": "LF"}),
        "Name,Phone\nAcme,555 0100\n,1\nGlobex,#N/A\n",
    );
    assert_eq!(info["jobType"], "V2Ingest");
    assert_eq!(info["numberRecordsProcessed"], 3);
    assert_eq!(info["numberRecordsFailed"], 1);
    let ok = csv_rows(&org, &format!("/jobs/ingest/{job}/successfulResults/"));
    assert_eq!(ok[0], ["sf__Id", "sf__Created", "Name", "Phone"]);
    assert_eq!(ok.len(), 3);
    assert!(ok[1][0].starts_with("001") && ok[1][1] == "true" && ok[1][2] == "Acme");
    let acme = org.record("Account", &ok[1][0]);
    assert_eq!(acme["Phone"], "555 0100");
    let failed = csv_rows(&org, &format!("/jobs/ingest/{job}/failedResults/"));
    assert_eq!(failed[0], ["sf__Id", "sf__Error", "Name", "Phone"]);
    assert_eq!(
        failed[1],
        [
            "",
            "REQUIRED_FIELD_MISSING:Required fields are missing: [Name]:Name",
            "",
            "1"
        ]
    );
    let unprocessed = csv_rows(&org, &format!("/jobs/ingest/{job}/unprocessedrecords/"));
    assert_eq!(unprocessed, [["Name", "Phone"]]);
    let change = org.last_change("Account");
    assert_eq!(
        change["changeOrigin"],
        "com/salesforce/api/bulkapi/59.0;client=bulk-test"
    );
    org.admin(
        "POST",
        "faults",
        Some(json!({"rules": [{"endpoint": "bulk", "kind": "lock_row", "next": 1}]})),
    );
    let (job, _) = ingest(
        &org,
        json!({"object": "Account", "operation": "insert"}),
        "Name\nLocked\nFree\n",
    );
    let failed = csv_rows(&org, &format!("/jobs/ingest/{job}/failedResults"));
    assert!(
        failed[1][1].starts_with("UNABLE_TO_LOCK_ROW:"),
        "{failed:?}"
    );
    assert_eq!(failed.len(), 2, "only the first record met the row lock");
    let long = "x".repeat(32_001);
    let (job, _) = ingest(
        &org,
        json!({"object": "Account", "operation": "insert"}),
        &format!("Name,Description\nLong,{long}\n"),
    );
    let failed = csv_rows(&org, &format!("/jobs/ingest/{job}/failedResults"));
    assert!(
        failed[1][1].starts_with("STRING_TOO_LONG:Description:"),
        "{}",
        &failed[1][1][..80]
    );
    let validation = ingest(
        &org,
        json!({"object": "Account", "operation": "insert"}),
        "Name,Phone\nBad,call me\n",
    );
    let failed = csv_rows(
        &org,
        &format!("/jobs/ingest/{}/failedResults", validation.0),
    );
    assert!(
        failed[1][1].starts_with("FIELD_CUSTOM_VALIDATION_EXCEPTION:"),
        "{failed:?}"
    );
}

#[test]
fn upsert_update_delete_and_hard_delete() {
    let org = Org::start();
    let existing = org.create("Account", json!({"Name": "Old", "Hubsync_Id__c": "E1"}));
    let (job, info) = ingest(
        &org,
        json!({"object": "Account", "operation": "upsert", "externalIdFieldName": "Hubsync_Id__c"}),
        "Hubsync_Id__c,Name\nE1,Renamed\nE2,New\n,Keyless\n",
    );
    assert_eq!(info["externalIdFieldName"], "Hubsync_Id__c");
    assert_eq!(info["numberRecordsFailed"], 1);
    let ok = csv_rows(&org, &format!("/jobs/ingest/{job}/successfulResults"));
    assert_eq!(ok[1][..2], [existing.clone(), "false".into()]);
    assert_eq!(ok[2][1], "true");
    let created = ok[2][0].clone();
    assert_eq!(org.record("Account", &existing)["Name"], "Renamed");
    let failed = csv_rows(&org, &format!("/jobs/ingest/{job}/failedResults"));
    assert!(failed[1][1].starts_with("MISSING_ARGUMENT:"), "{failed:?}");

    let (job, _) = ingest(
        &org,
        json!({"object": "Account", "operation": "update"}),
        &format!("Id,Phone\n{existing},42\n001xx000000zzzzAAA,1\n"),
    );
    assert_eq!(org.record("Account", &existing)["Phone"], "42");
    let failed = csv_rows(&org, &format!("/jobs/ingest/{job}/failedResults"));
    assert_eq!(failed[1][0], "001xx000000zzzzAAA");
    assert!(failed[1][1].starts_with("NOT_FOUND:"), "{failed:?}");

    ingest(
        &org,
        json!({"object": "Account", "operation": "delete"}),
        &format!("Id\n{existing}\n"),
    );
    ingest(
        &org,
        json!({"object": "Account", "operation": "hardDelete"}),
        &format!("Id\n{created}\n"),
    );
    let all = org.get(&format!(
        "/queryAll?q={}",
        encode("SELECT Id, IsDeleted FROM Account")
    ));
    let rows = all.json()["records"].as_array().unwrap().clone();
    assert_eq!(rows.len(), 1, "hard-deleted records skip the recycle bin");
    assert_eq!(rows[0]["Id"], existing.as_str());
    assert_eq!(rows[0]["IsDeleted"], true);
    assert_eq!(org.last_change("Account")["changeType"], "DELETE");
}

#[test]
fn paused_jobs_wait_and_aborted_jobs_leave_every_row_unprocessed() {
    let org = Org::start();
    assert_eq!(
        org.admin("PUT", "bulk", Some(json!({"paused": true})))
            .status,
        200
    );
    let job = create_job(&org, json!({"object": "Account", "operation": "insert"}));
    assert_eq!(upload(&org, &job, "Name\nA\nB\n").status, 201);
    assert_eq!(
        upload(&org, &job, "Name\nC\n").status,
        201,
        "a second PUT is accepted"
    );
    let refused = close(&org, &job);
    assert_eq!(refused.status, 400);
    assert_eq!(refused.error_code(), "INVALIDJOB");
    assert!(refused.body.contains("Found multipe contents for job"));
    let aborted = org.patch(&format!("/jobs/ingest/{job}"), json!({"state": "Aborted"}));
    assert_eq!(aborted.json()["state"], "Aborted");
    let rows = csv_rows(&org, &format!("/jobs/ingest/{job}/unprocessedRecords"));
    assert_eq!(rows, [["Name"], ["A"], ["B"], ["C"]]);

    let job = create_job(&org, json!({"object": "Account", "operation": "insert"}));
    upload(&org, &job, "Name\nD\n");
    assert_eq!(close(&org, &job).json()["state"], "UploadComplete");
    assert_eq!(
        org.get(&format!("/jobs/ingest/{job}")).json()["state"],
        "UploadComplete",
        "a paused org does not start jobs"
    );
    assert_eq!(org.count("Account"), 0);
    let late = upload(&org, &job, "Name\nE\n");
    assert_eq!(late.status, 409);
    assert_eq!(late.error_code(), "INVALIDJOBSTATE");
    org.admin("PUT", "bulk", Some(json!({"paused": false})));
    wait_state(&org, "ingest", &job, "JobComplete");
    assert_eq!(org.count("Account"), 1);
    let listed = org.get("/jobs/ingest").json();
    assert_eq!(listed["done"], true);
    assert_eq!(listed["records"].as_array().unwrap().len(), 2);
    assert_eq!(org.delete(&format!("/jobs/ingest/{job}")).status, 204);
    assert_eq!(org.get(&format!("/jobs/ingest/{job}")).status, 404);
}

#[test]
fn upload_parts_when_allowed_and_whole_job_failures() {
    let org = org_with(BulkOptions {
        accept_upload_parts: true,
        max_upload_bytes: 64,
        ..Default::default()
    });
    let job = create_job(&org, json!({"object": "Account", "operation": "insert"}));
    upload(&org, &job, "Name\nA\n");
    upload(&org, &job, "Name\nB\n");
    let too_big = upload(&org, &job, &format!("Name\n{}\n", "x".repeat(60)));
    assert_eq!(too_big.status, 400, "{}", too_big.body);
    close(&org, &job);
    let info = wait_state(&org, "ingest", &job, "JobComplete");
    assert_eq!(info["numberRecordsProcessed"], 2);

    let job = create_job(&org, json!({"object": "Account", "operation": "insert"}));
    upload(&org, &job, "Name\r\nA\r\n");
    close(&org, &job);
    let info = wait_state(&org, "ingest", &job, "Failed");
    assert_eq!(
        info["errorMessage"],
        "ClientInputError : LineEnding is invalid on user data. Current LineEnding setting is LF"
    );
    let job = create_job(&org, json!({"object": "Account", "operation": "insert"}));
    upload(&org, &job, "Name,Nope__c\nA,1\n");
    close(&org, &job);
    let info = wait_state(&org, "ingest", &job, "Failed");
    assert_eq!(
        info["errorMessage"],
        "InvalidBatch : Field name not found : Nope__c"
    );

    let bad = org.post(
        "/jobs/ingest",
        json!({"object": "Account", "operation": "upsert"}),
    );
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("External ID was blank for Account"));
    let bad = org.post(
        "/jobs/ingest",
        json!({"object": "Nope__c", "operation": "insert"}),
    );
    assert_eq!(bad.error_code(), "INVALIDJOB");
}

fn query_job(org: &Org, body: Json) -> String {
    let r = org.post("/jobs/query", body);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["state"], "UploadComplete");
    assert_eq!(r.json()["jobType"], "V2Query");
    let id = r.json()["id"].as_str().unwrap().to_string();
    let info = wait_state(org, "query", &id, "JobComplete");
    assert_eq!(info["jobType"], "V2Query");
    id
}

#[test]
fn query_jobs_page_with_locators() {
    let org = org_with(BulkOptions {
        daily_query_jobs: 3,
        ..Default::default()
    });
    for i in 0..5 {
        org.create(
            "Account",
            json!({"Name": format!("Q{i}"), "AnnualRevenue": 15000000}),
        );
    }
    let gone = org.create("Account", json!({"Name": "Gone"}));
    org.delete(&format!("/sobjects/Account/{gone}"));
    let job = query_job(
        &org,
        json!({"operation": "query", "query": "SELECT Name, AnnualRevenue, CreatedDate FROM Account ORDER BY Name"}),
    );
    let mut locator = String::new();
    let mut names = Vec::new();
    let mut pages = 0;
    loop {
        let path = if locator.is_empty() {
            format!("/jobs/query/{job}/results?maxRecords=2")
        } else {
            format!("/jobs/query/{job}/results?maxRecords=2&locator={locator}")
        };
        let r = org.get(&path);
        assert_eq!(r.status, 200, "{}", r.body);
        let rows = csv_lines(&r.body);
        assert_eq!(rows[0], ["Name", "AnnualRevenue", "CreatedDate"]);
        assert_eq!(
            r.header("sforce-numberofrecords").unwrap(),
            (rows.len() - 1).to_string()
        );
        for row in &rows[1..] {
            assert_eq!(row[1], "1.5E7");
            assert!(row[2].ends_with(".000Z"), "{row:?}");
            names.push(row[0].clone());
        }
        pages += 1;
        locator = r.header("sforce-locator").unwrap().to_string();
        if locator == "null" {
            break;
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(names, ["Q0", "Q1", "Q2", "Q3", "Q4"]);

    let all = query_job(
        &org,
        json!({"operation": "queryAll", "query": "SELECT Id FROM Account WHERE IsDeleted = true"}),
    );
    let rows = csv_rows(&org, &format!("/jobs/query/{all}/results"));
    assert_eq!(rows, [vec!["Id".to_string()], vec![gone]]);
    let mut old = org.url(&format!("/jobs/query/{all}/results"));
    old = old.replace("v59.0", "v58.0");
    let r = send(
        &org.agent,
        "GET",
        &old,
        &[("Authorization", &format!("Bearer {}", org.token))],
        None,
    );
    assert_eq!(r.status, 409, "another API version cannot read the results");

    let bad = org.post(
        "/jobs/query",
        json!({"operation": "query", "query": "SELECT Nope FROM Account"}),
    );
    assert_eq!(bad.error_code(), "INVALID_FIELD");
    let compound = org.post(
        "/jobs/query",
        json!({"operation": "query", "query": "SELECT BillingAddress FROM Account"}),
    );
    let id = compound.json()["id"].as_str().unwrap().to_string();
    let failed = wait_state(&org, "query", &id, "Failed");
    assert!(failed["errorMessage"]
        .as_str()
        .unwrap()
        .contains("compound data not supported"));
    let over = org.post(
        "/jobs/query",
        json!({"operation": "query", "query": "SELECT Id FROM Account"}),
    );
    assert_eq!(over.status, 400);
    assert_eq!(over.error_code(), "EXCEEDED_QUOTA");
    let limits = org.get("/limits").json();
    assert_eq!(
        limits["DailyBulkV2QueryJobs"],
        json!({"Max": 3, "Remaining": 0})
    );
    let counters = org.admin("GET", "counters", None).json();
    assert!(counters["apiCallsByEndpoint"]["bulk"].as_u64().unwrap() > 5);
}

#[test]
fn a_job_aborted_half_way_keeps_its_saved_chunks_and_lists_the_rest() {
    let org = org_with(BulkOptions {
        chunk_size: 2,
        ..Default::default()
    });
    org.admin("PUT", "bulk", Some(json!({"paused": true})));
    let job = create_job(&org, json!({"object": "Account", "operation": "insert"}));
    upload(&org, &job, "Name\nA\nB\nC\nD\nE\n");
    close(&org, &job);
    org.admin("POST", "bulk/step", Some(json!({"chunks": 1})));
    let info = wait_state(&org, "ingest", &job, "InProgress");
    wait_for("the first chunk", || {
        org.get(&format!("/jobs/ingest/{job}")).json()["numberRecordsProcessed"] == 2
    });
    assert_eq!(info["state"], "InProgress");
    let aborted = org.patch(&format!("/jobs/ingest/{job}"), json!({"state": "Aborted"}));
    assert_eq!(aborted.json()["state"], "Aborted");
    org.admin("PUT", "bulk", Some(json!({"paused": false})));
    let ok = csv_rows(&org, &format!("/jobs/ingest/{job}/successfulResults"));
    assert_eq!(ok.len(), 3);
    let rest = csv_rows(&org, &format!("/jobs/ingest/{job}/unprocessedrecords"));
    assert_eq!(rest, [["Name"], ["C"], ["D"], ["E"]]);
    assert_eq!(org.count("Account"), 2);
    assert_eq!(
        org.get(&format!("/jobs/ingest/{job}")).json()["numberRecordsProcessed"],
        2
    );
}

#[test]
fn query_jobs_flatten_parent_fields_and_refuse_subqueries() {
    let org = Org::start();
    let acme = org.create("Account", json!({"Name": "Acme, Inc."}));
    org.create("Contact", json!({"LastName": "Amy", "AccountId": acme}));
    org.create("Contact", json!({"LastName": "Orphan"}));
    let job = query_job(
        &org,
        json!({"operation": "query",
               "query": "SELECT LastName, Account.Name, Owner.Username FROM Contact ORDER BY LastName"}),
    );
    let r = org.get(&format!("/jobs/query/{job}/results"));
    assert_eq!(
        r.body,
        "\"LastName\",\"Account.Name\",\"Owner.Username\"\n\
         \"Amy\",\"Acme, Inc.\",\"demo@hubsync.local\"\n\
         \"Orphan\",\"\",\"demo@hubsync.local\"\n"
    );
    let refused = org.post(
        "/jobs/query",
        json!({"operation": "query", "query": "SELECT Id, (SELECT Id FROM Contacts) FROM Account"}),
    );
    assert_eq!(refused.status, 400);
    assert_eq!(refused.error_code(), "INVALIDJOB");
}

#[test]
fn relationship_columns_set_lookups_by_the_parent_external_id() {
    let org = Org::start();
    let acme = org.create("Account", json!({"Name": "Acme", "Hubsync_Id__c": "A-1"}));
    let (job, info) = ingest(
        &org,
        json!({"object": "Contact", "operation": "insert"}),
        "LastName,Account.Hubsync_Id__c\nLinked,A-1\nLost,A-404\nLoose,\n",
    );
    assert_eq!(info["numberRecordsFailed"], 1);
    let ok = csv_rows(&org, &format!("/jobs/ingest/{job}/successfulResults"));
    assert_eq!(
        ok[0],
        ["sf__Id", "sf__Created", "LastName", "Account.Hubsync_Id__c"]
    );
    let linked = org.record("Contact", &ok[1][0]);
    assert_eq!(linked["AccountId"], acme.as_str());
    assert_eq!(org.record("Contact", &ok[2][0])["AccountId"], Json::Null);
    let failed = csv_rows(&org, &format!("/jobs/ingest/{job}/failedResults"));
    assert_eq!(
        failed[1][1],
        "INVALID_FIELD:Foreign key external ID: A-404 not found for field Hubsync_Id__c in entity Account:--"
    );
    let (_, info) = ingest(
        &org,
        json!({"object": "Contact", "operation": "update"}),
        &format!("Id,Account.Hubsync_Id__c\n{},#N/A\n", ok[1][0]),
    );
    assert_eq!(info["numberRecordsFailed"], 0);
    assert_eq!(org.record("Contact", &ok[1][0])["AccountId"], Json::Null);
    let job = create_job(&org, json!({"object": "Contact", "operation": "insert"}));
    upload(&org, &job, "LastName,Account.Name\nX,Acme\n");
    close(&org, &job);
    let info = wait_state(&org, "ingest", &job, "Failed");
    assert_eq!(
        info["errorMessage"], "InvalidBatch : Field name not found : Account.Name",
        "a relationship column names an external id field"
    );
}

#[test]
fn a_lost_answer_leaves_the_job_created() {
    let org = Org::start();
    org.admin(
        "POST",
        "faults",
        Some(json!({"rules": [{"endpoint": "bulk", "kind": "server_error_after", "next": 1}]})),
    );
    let lost = org.post(
        "/jobs/ingest",
        json!({"object": "Account", "operation": "insert"}),
    );
    assert_eq!(lost.status, 500, "{}", lost.body);
    assert_eq!(lost.error_code(), "UNKNOWN_EXCEPTION");
    let jobs = org.get("/jobs/ingest").json();
    let records = jobs["records"].as_array().unwrap();
    assert_eq!(records.len(), 1, "the job was created: {jobs}");
    assert_eq!(records[0]["state"], "Open");
}
