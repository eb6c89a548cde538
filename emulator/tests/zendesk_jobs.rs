//! Zendesk emulator: bulk calls answer a queued `job_status` that completes later with
//! one result per item; at most 100 items a call.

mod common;
mod zendesk;

use common::Client;
use serde_json::{json, Value as Json};
use zendesk::*;

#[test]
fn a_held_job_stays_queued_until_released() {
    let account = Account::start();
    account.admin("POST", "jobs/hold", Some(json!({"hold": true})));
    let r = account.post(
        "organizations/create_many.json",
        json!({"organizations": [{"name": "A"}, {"name": "B"}]}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let job = r.json();
    let status = &job["job_status"];
    assert_eq!(status["status"], "queued");
    assert_eq!(status["job_type"], "Bulk Create Organization");
    assert_eq!(
        (
            status["total"].clone(),
            status["progress"].clone(),
            status["results"].clone()
        ),
        (json!(2), Json::Null, Json::Null)
    );
    let id = status["id"].as_str().unwrap();
    assert!(id.starts_with("V3-") && id.len() == 35, "{id}");
    assert!(status["url"]
        .as_str()
        .unwrap()
        .ends_with(&format!("/api/v2/job_statuses/{id}.json")));
    assert_eq!(account.admin("GET", "counters", None)["activeJobs"], 1);
    assert_eq!(
        account.get(&format!("job_statuses/{id}.json")).json()["job_status"]["status"],
        "queued"
    );
    assert_eq!(
        account.get("organizations.json").json()["organizations"],
        json!([]),
        "nothing written yet"
    );

    account.admin("POST", "jobs/hold", Some(json!({"hold": false})));
    let done = account.finished_job(&job);
    assert_eq!(done["progress"], 2);
    assert!(
        done["message"]
            .as_str()
            .unwrap()
            .starts_with("Completed at "),
        "{done}"
    );
    let results = done["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    for result in results {
        assert_eq!(
            result.as_object().unwrap().keys().collect::<Vec<_>>(),
            ["id", "status"]
        );
        assert_eq!(result["status"], "Created");
    }
    let many = account
        .get(&format!("job_statuses/show_many.json?ids={id},V3-unknown"))
        .json();
    assert_eq!(many["job_statuses"].as_array().unwrap().len(), 1);
}

#[test]
fn every_bulk_call_reports_each_item() {
    let account = Account::start();
    let a = account.org(json!({"name": "A", "external_id": "ext-a"}));
    let b = account.org(json!({"name": "B"}));
    let jo = account.user(json!({"name": "Jo", "email": "jo@x.example"}));
    let cases: Vec<(&str, &str, String, Json, Json)> = vec![
        (
            "POST",
            "Bulk Create Organization",
            "organizations/create_many.json".into(),
            json!({"organizations": [{"name": "C"}, {"name": "a"}]}),
            json!([{"status": "Created"}, {"index": 1, "error": "OrganizationCreateFailed", "details": "Name: a has already been taken"}]),
        ),
        (
            "PUT",
            "Bulk Update Organization",
            "organizations/update_many.json".into(),
            json!({"organizations": [{"id": a, "notes": "n"}, {"id": b, "name": "A"}, {"id": 1, "notes": "x"}]}),
            json!([
                {"action": "update", "id": a, "status": "Updated", "success": true},
                {"index": 1, "error": "OrganizationUpdateFailed", "id": b, "details": "Name: A has already been taken"},
                {"index": 2, "error": "RecordNotFound", "id": 1, "details": "Not found"}
            ]),
        ),
        (
            "PUT",
            "Bulk Update Organization",
            "organizations/update_many.json?external_ids=ext-a".into(),
            json!({"organization": {"notes": "bulk"}}),
            json!([{"action": "update", "id": a, "status": "Updated", "success": true}]),
        ),
        (
            "PUT",
            "Bulk Update Organization",
            "organizations/update_many.json".into(),
            json!({"organizations": [{"external_id": "EXT-A", "details": "by external id"}]}),
            json!([{"action": "update", "id": a, "status": "Updated", "success": true}]),
        ),
        (
            "POST",
            "Bulk Create or Update User",
            "users/create_or_update_many.json".into(),
            json!({"users": [{"name": "Jo 2", "email": "JO@x.example"}, {"name": "Al", "email": "al@x.example"}, {"name": "Bad", "email": "bad"}]}),
            json!([
                {"action": "update", "id": jo, "status": "Updated", "success": true},
                {"action": "create", "status": "Created", "success": true},
                {"index": 2, "error": "UserCreateOrUpdateFailed", "details": "Email: bad is not properly formatted"}
            ]),
        ),
        (
            "DELETE",
            "Bulk Delete Organization",
            format!("organizations/destroy_many.json?ids={b},2"),
            Json::Null,
            json!([
                {"action": "delete", "id": b, "status": "Deleted", "success": true},
                {"index": 1, "error": "RecordNotFound", "id": 2, "details": "Not found"}
            ]),
        ),
        (
            "PUT",
            "Bulk Update User",
            format!("users/update_many.json?ids={jo}"),
            json!({"user": {"tags": ["bulk"]}}),
            json!([{"action": "update", "id": jo, "status": "Updated", "success": true}]),
        ),
        (
            "DELETE",
            "Bulk Delete User",
            format!("users/destroy_many.json?ids={jo}"),
            Json::Null,
            json!([{"action": "delete", "id": jo, "status": "Deleted", "success": true}]),
        ),
    ];
    for (method, job_type, path, body, expected) in cases {
        let body = (!body.is_null()).then_some(body);
        let r = account.call(method, &path, body);
        assert_eq!(r.status, 200, "{path}: {}", r.body);
        let job = r.json();
        assert_eq!(job["job_status"]["job_type"], job_type);
        let done = account.finished_job(&job);
        let mut results = done["results"].clone();
        for result in results.as_array_mut().unwrap() {
            if result["status"] == "Created" {
                assert!(result["id"].as_u64().is_some());
                result.as_object_mut().unwrap().remove("id");
            }
        }
        assert_eq!(results, expected, "{path}");
    }
    assert_eq!(
        account.get(&format!("organizations/{a}.json")).json()["organization"]["notes"],
        "bulk"
    );
    assert_eq!(account.get(&format!("organizations/{b}.json")).status, 404);
    let jo_now = account.get(&format!("users/{jo}.json")).json()["user"].clone();
    assert_eq!(
        (
            jo_now["name"].clone(),
            jo_now["tags"].clone(),
            jo_now["active"].clone()
        ),
        (json!("Jo 2"), json!(["bulk"]), json!(false)),
        "upserted, tagged, then soft-deleted"
    );
    let unknown = account.get("job_statuses/V3-0000.json");
    assert_eq!(unknown.status, 404);
    assert_eq!(unknown.json()["error"], "RecordNotFound");
}

#[test]
fn more_than_100_items_are_refused_before_any_job() {
    let account = Account::start();
    let orgs: Vec<Json> = (0..101).map(|n| json!({"name": format!("O{n}")})).collect();
    let users: Vec<Json> = (0..101).map(|n| json!({"name": format!("U{n}")})).collect();
    let ids: Vec<String> = (1..=101).map(|n| n.to_string()).collect();
    let cases = [
        (
            "POST",
            "organizations/create_many.json".to_string(),
            Some(json!({"organizations": orgs})),
            "Parameter  cannot specify more than 100 values",
        ),
        (
            "POST",
            "users/create_many.json".to_string(),
            Some(json!({"users": users.clone()})),
            "Maximum 100 users may be created per call",
        ),
        (
            "POST",
            "users/create_or_update_many.json".to_string(),
            Some(json!({"users": users})),
            "Maximum 100 users may be created per call",
        ),
        (
            "DELETE",
            format!("organizations/destroy_many.json?ids={}", ids.join(",")),
            None,
            "Parameter  cannot specify more than 100 values",
        ),
    ];
    for (method, path, body, description) in cases {
        let r = account.call(method, &path, body);
        assert_eq!(r.status, 400, "{path}");
        assert_eq!(r.json()["error"], "TooManyValues");
        assert_eq!(r.json()["description"], description);
    }
    assert_eq!(account.admin("GET", "counters", None)["activeJobs"], 0);
}

#[test]
fn jobs_beyond_the_queue_limit_and_bulk_user_import_are_refused() {
    let account = Account::with(hubsync_emulator::ZendeskOptions {
        max_jobs: 1,
        bulk_user_import: false,
        ..options()
    });
    account.admin("POST", "jobs/hold", Some(json!({"hold": true})));
    let first = account.post(
        "organizations/create_many.json",
        json!({"organizations": [{"name": "A"}]}),
    );
    assert_eq!(first.status, 200);
    let second = account.post(
        "organizations/create_many.json",
        json!({"organizations": [{"name": "B"}]}),
    );
    assert_eq!(second.status, 429);
    assert!(second.header("retry-after").is_some());
    let users = account.post("users/create_many.json", json!({"users": [{"name": "U"}]}));
    assert_eq!(users.status, 403);
    assert_eq!(users.json()["error"], "Forbidden");
    account.admin("POST", "jobs/hold", Some(json!({"hold": false})));
    account.finished_job(&first.json());
}

#[test]
fn jobs_run_in_the_order_they_were_submitted() {
    let account = Account::start();
    account.admin("POST", "jobs/hold", Some(json!({"hold": true})));
    let jobs: Vec<Json> = (0..4)
        .map(|n| {
            let r = account.post(
                "organizations/create_many.json",
                json!({"organizations": [{"name": "Same"}, {"name": format!("Own {n}")}]}),
            );
            assert_eq!(r.status, 200, "{}", r.body);
            r.json()
        })
        .collect();
    account.admin("POST", "jobs/hold", Some(json!({"hold": false})));
    let first_items: Vec<Json> = jobs
        .iter()
        .map(|job| account.finished_job(job)["results"][0].clone())
        .collect();
    assert_eq!(
        first_items[0]["status"], "Created",
        "the first job wins the name"
    );
    for later in &first_items[1..] {
        assert_eq!(later["error"], "OrganizationCreateFailed", "{later}");
    }
}
