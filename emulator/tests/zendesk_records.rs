//! Zendesk emulator: authentication, CRUD of organizations and users, create_or_update,
//! show_many, validation errors, custom fields and pagination.

mod common;
mod zendesk;

use common::send;
use common::Client;
use serde_json::{json, Value as Json};
use zendesk::*;

#[test]
fn credentials_are_checked_as_zendesk_checks_them() {
    let account = Account::start();
    let basic = |text: &str| {
        use base64::Engine;
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(text)
        )
    };
    let cases = [
        (TOKEN_AUTH.to_string(), 200),
        (basic("DEMO@hubsync.local/token:hubsync-demo-token"), 200),
        ("Bearer hubsync-demo-oauth-token".to_string(), 200),
        (basic("demo@hubsync.local/token:wrong"), 401),
        (basic("other@hubsync.local/token:hubsync-demo-token"), 401),
        (basic("demo@hubsync.local:hubsync-demo-token"), 401),
        ("Bearer nope".to_string(), 401),
        (String::new(), 401),
    ];
    for (auth, status) in cases {
        let r = send(
            &account.agent,
            "GET",
            &account.url("users/me.json"),
            &[("Authorization", &auth)],
            None,
        );
        assert_eq!(r.status, status, "{auth}: {}", r.body);
        if status == 401 {
            assert_eq!(r.json(), json!({"error": "Couldn't authenticate you"}));
        } else {
            assert_eq!(r.json()["user"]["email"], "demo@hubsync.local");
        }
    }
}

#[test]
fn organizations_round_trip_with_and_without_json() {
    let account = Account::start();
    let created = account.post(
        "organizations.json",
        json!({"organization": {"name": "  Globex Inc ", "external_id": "crm-42", "domain_names": ["globex.example"],
               "tags": ["vip"], "organization_fields": {"tier": "gold", "unknown": 1}}}),
    );
    assert_eq!(created.status, 201, "{}", created.body);
    let org = created.json()["organization"].clone();
    let id = org["id"].as_u64().unwrap();
    assert!(id > u64::from(u32::MAX), "64-bit ids: {id}");
    assert_eq!(
        created.header("location").unwrap(),
        format!("{}/api/v2/organizations/{id}.json", account.emulator.url())
    );
    assert_eq!(org["name"], "Globex Inc");
    assert_eq!(
        org["organization_fields"],
        json!({"tier": "gold", "seats": null})
    );
    let keys: Vec<&str> = org
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "url",
            "id",
            "name",
            "shared_tickets",
            "shared_comments",
            "external_id",
            "created_at",
            "updated_at",
            "domain_names",
            "details",
            "notes",
            "group_id",
            "tags",
            "organization_fields"
        ]
    );
    let stamp = org["created_at"].as_str().unwrap();
    assert!(
        stamp.len() == 20 && stamp.ends_with('Z'),
        "second precision: {stamp}"
    );

    for path in [
        format!("organizations/{id}.json"),
        format!("organizations/{id}"),
    ] {
        let shown = account.get(&path);
        assert_eq!(shown.status, 200);
        assert_eq!(shown.json()["organization"], org);
    }
    let updated = account.put(
        &format!("organizations/{id}"),
        json!({"organization": {"notes": "x", "domain_names": ["b.example"]}}),
    );
    assert_eq!(updated.status, 200, "{}", updated.body);
    let updated = updated.json()["organization"].clone();
    assert_eq!(
        (updated["notes"].clone(), updated["domain_names"].clone()),
        (json!("x"), json!(["b.example"]))
    );
    assert_eq!(
        updated["tags"],
        json!(["vip"]),
        "a partial update keeps the rest"
    );

    account.advance(5);
    let same = account.put(
        &format!("organizations/{id}.json"),
        json!({"organization": {"notes": "x"}}),
    );
    assert_eq!(
        same.json()["organization"]["updated_at"],
        updated["updated_at"],
        "a write that changes nothing keeps updated_at"
    );
    let changed = account.put(
        &format!("organizations/{id}.json"),
        json!({"organization": {"notes": "y"}}),
    );
    assert_ne!(
        changed.json()["organization"]["updated_at"],
        updated["updated_at"]
    );

    let deleted = account.delete(&format!("organizations/{id}.json"));
    assert_eq!((deleted.status, deleted.body.as_str()), (204, ""));
    assert!(deleted.header("content-type").is_none());
    let gone = account.get(&format!("organizations/{id}.json"));
    assert_eq!(gone.status, 404);
    assert_eq!(
        gone.json(),
        json!({"error": "RecordNotFound", "description": "Not found"})
    );
}

#[test]
fn users_soft_delete_and_keep_their_organization() {
    let account = Account::start();
    let org = account.org(json!({"name": "Globex"}));
    let created = account.post(
        "users",
        json!({"user": {"name": "Jane Roe", "email": "Jane@Globex.example", "organization_id": org, "id": "",
                        "user_fields": {"birthday": "1990-04-01"}}}),
    );
    assert_eq!(created.status, 201, "{}", created.body);
    let user = created.json()["user"].clone();
    let id = user["id"].as_u64().unwrap();
    assert_eq!(user["email"], "jane@globex.example");
    assert_eq!(user["organization_id"], json!(org));
    assert_eq!(user["role"], "end-user");
    assert_eq!(user["active"], true);
    assert_eq!(user["user_fields"]["birthday"], "1990-04-01T00:00:00+00:00");

    account.advance(5);
    let deleted = account.delete(&format!("users/{id}.json"));
    assert_eq!(deleted.status, 200);
    let deleted = deleted.json()["user"].clone();
    assert_eq!(deleted["active"], false);
    assert_ne!(
        deleted["updated_at"], user["updated_at"],
        "a soft delete bumps updated_at"
    );
    assert_eq!(
        account.get(&format!("users/{id}")).json()["user"]["active"],
        false
    );
    let listed = account.get("users.json").json();
    assert_eq!(listed["users"], json!([]), "lists leave deleted users out");

    let purged = account.delete(&format!("deleted_users/{id}.json"));
    assert_eq!(purged.status, 200, "{}", purged.body);
    assert_eq!(purged.json()["deleted_user"]["email"], Json::Null);
    assert_eq!(
        account
            .delete(&format!("deleted_users/{}.json", id + 1))
            .status,
        404
    );
}

#[test]
fn validation_errors_name_the_field() {
    let account = Account::with(options());
    account.org(json!({"name": "Acme", "external_id": "crm-1"}));
    account.user(json!({"name": "Jo", "email": "jo@acme.example", "external_id": "u-1"}));
    let cases = [
        (
            "organizations.json",
            json!({"organization": {"name": "acme "}}),
            "name",
            "DuplicateValue",
            "Name: acme has already been taken",
        ),
        (
            "organizations.json",
            json!({"organization": {"name": " "}}),
            "name",
            "BlankValue",
            "Name: cannot be blank",
        ),
        (
            "organizations.json",
            json!({"organization": {"name": "B", "external_id": "CRM-1"}}),
            "external_id",
            "DuplicateValue",
            "External: CRM-1 has already been taken",
        ),
        (
            "organizations.json",
            json!({"organization": {"name": "B", "organization_fields": {"tier": "bronze"}}}),
            "tier",
            "InvalidValue",
            "Tier: is invalid",
        ),
        (
            "users.json",
            json!({"user": {"name": "X", "email": "not-an-email"}}),
            "email",
            "InvalidFormat",
            "Email: not-an-email is not properly formatted",
        ),
        (
            "users.json",
            json!({"user": {"name": "X", "email": "JO@acme.example"}}),
            "email",
            "DuplicateValue",
            "Email: jo@acme.example is already being used by another user",
        ),
        (
            "users.json",
            json!({"user": {"name": "X", "role": "boss"}}),
            "role",
            "InvalidValue",
            "Role: is invalid",
        ),
        (
            "users.json",
            json!({"user": {"name": "X", "organization_id": 42}}),
            "organization_id",
            "InvalidValue",
            "Organization: is invalid",
        ),
        (
            "users.json",
            json!({"user": {"name": "X", "tags": "ok", "verified": "yes"}}),
            "verified",
            "InvalidValue",
            "Verified: is invalid",
        ),
    ];
    for (path, body, field, code, description) in cases {
        let r = account.post(path, body.clone());
        assert_eq!(r.status, 422, "{body}: {}", r.body);
        let json = r.json();
        assert_eq!(json["error"], "RecordInvalid", "{body}");
        assert_eq!(json["description"], "Record validation errors");
        assert_eq!(
            json["details"][field],
            json!([{"description": description, "error": code}]),
            "{body}: {json}"
        );
    }
    assert_eq!(
        account
            .put("organizations/1.json", json!({"organization": {}}))
            .status,
        404
    );
    assert_eq!(
        account
            .post("organizations.json", json!({"name": "unwrapped"}))
            .status,
        400
    );
    let bad_json = send(
        &account.agent,
        "POST",
        &account.url("users.json"),
        &[("Authorization", TOKEN_AUTH)],
        Some("{"),
    );
    assert_eq!(bad_json.status, 400);
    let unknown = account.get("tickets.json");
    assert_eq!(
        unknown.json(),
        json!({"error": "InvalidEndpoint", "description": "Not found"})
    );
}

#[test]
fn create_or_update_matches_by_external_id_and_email_never_by_name() {
    let account = Account::start();
    let first = account.post(
        "organizations/create_or_update.json",
        json!({"organization": {"name": "Acme", "external_id": "crm-1"}}),
    );
    assert_eq!(first.status, 201);
    assert!(first.header("location").is_some());
    let id = first.json()["organization"]["id"].clone();
    let again = account.post(
        "organizations/create_or_update",
        json!({"organization": {"name": "Acme Ltd", "external_id": "CRM-1"}}),
    );
    assert_eq!(again.status, 200, "{}", again.body);
    let again = again.json()["organization"].clone();
    assert_eq!(
        (again["id"].clone(), again["external_id"].clone()),
        (id.clone(), json!("CRM-1"))
    );
    let by_name = account.post(
        "organizations/create_or_update.json",
        json!({"organization": {"name": "acme ltd"}}),
    );
    assert_eq!(by_name.status, 422, "name is not a match key");
    assert_eq!(
        by_name.json()["details"]["name"][0]["error"],
        "DuplicateValue"
    );

    let user = account.post(
        "users/create_or_update.json",
        json!({"user": {"name": "Jo", "email": "jo@acme.example"}}),
    );
    assert_eq!(user.status, 201);
    let user_id = user.json()["user"]["id"].clone();
    let by_email = account.post(
        "users/create_or_update.json",
        json!({"user": {"name": "Jo Ann", "email": "JO@acme.example", "external_id": "u-9"}}),
    );
    assert_eq!(by_email.status, 200);
    assert!(by_email.header("location").is_some());
    assert_eq!(by_email.json()["user"]["id"], user_id);
    let by_external = account.post(
        "users/create_or_update.json",
        json!({"user": {"name": "Jo B", "external_id": "U-9"}}),
    );
    assert_eq!(by_external.json()["user"]["id"], user_id);
    assert_eq!(by_external.json()["user"]["name"], "Jo B");
}

#[test]
fn show_many_and_search_answer_plain_lists() {
    let account = Account::start();
    let a = account.org(json!({"name": "A", "external_id": "ext-a"}));
    let b = account.org(json!({"name": "B", "external_id": "ext-b"}));
    let names = |r: common::Resp| -> Vec<String> {
        assert_eq!(r.status, 200, "{}", r.body);
        r.json()["organizations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["name"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        names(account.get(&format!("organizations/show_many.json?ids={a},{b},1"))),
        ["A", "B"]
    );
    assert_eq!(
        names(account.get("organizations/show_many?external_ids=EXT-B")),
        ["B"]
    );
    assert_eq!(
        names(
            account.get("organizations/search.json?external_id=ext-a?include=None&page[size]=100")
        ),
        ["A"]
    );
    assert_eq!(
        names(account.get("organizations/search.json?name=b")),
        ["B"]
    );
    let jo = account.user(json!({"name": "Jo", "email": "jo@acme.example"}));
    for query in ["jo@acme.example", "email:JO@acme.example"] {
        let found = account.get(&format!(
            "users/search.json?query={}",
            common::encode(query)
        ));
        assert_eq!(found.json()["users"][0]["id"], json!(jo), "{query}");
    }
    assert_eq!(account.get("users/search.json?query=Jo").status, 400);
    let ids: Vec<String> = (1..=101).map(|n| n.to_string()).collect();
    let too_many = account.get(&format!(
        "organizations/show_many.json?ids={}",
        ids.join(",")
    ));
    assert_eq!(too_many.status, 400);
    assert_eq!(
        too_many.json(),
        json!({"error": "TooManyValues", "description": "Parameter  cannot specify more than 100 values", "max_count": 100})
    );
}

#[test]
fn cursor_and_offset_pagination_walk_every_record_once() {
    let account = Account::start();
    let ids: Vec<u64> = (0..7)
        .map(|n| account.org(json!({"name": format!("Org {n}")})))
        .collect();
    let mut seen = Vec::new();
    let mut url = account.url("organizations.json?page%5Bsize%5D=3");
    loop {
        let r = send(
            &account.agent,
            "GET",
            &url,
            &[("Authorization", TOKEN_AUTH)],
            None,
        )
        .json();
        seen.extend(
            r["organizations"]
                .as_array()
                .unwrap()
                .iter()
                .map(|o| o["id"].as_u64().unwrap()),
        );
        let next = r["links"]["next"]
            .as_str()
            .expect("every non-empty page links next")
            .to_string();
        assert!(next.starts_with(account.emulator.url()), "{next}");
        if r["meta"]["has_more"] == false {
            let last = send(
                &account.agent,
                "GET",
                &next,
                &[("Authorization", TOKEN_AUTH)],
                None,
            )
            .json();
            assert_eq!(
                last,
                json!({"organizations": [], "meta": {"has_more": false, "after_cursor": null, "before_cursor": null},
                       "links": {"prev": null, "next": null}})
            );
            break;
        }
        url = next;
    }
    assert_eq!(seen, ids);

    let back = account.get(&format!(
        "organizations.json?page[size]=2&page[before]={}",
        account.get("organizations.json?page[size]=4").json()["meta"]["after_cursor"]
            .as_str()
            .unwrap()
            .replace('=', "%3D")
    ));
    let back: Vec<u64> = back.json()["organizations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_u64().unwrap())
        .collect();
    assert_eq!(back, ids[1..3]);

    let page = account.get("organizations.json?page=2&per_page=3").json();
    assert_eq!(page["count"], 7);
    assert_eq!(page["organizations"][0]["id"], json!(ids[3]));
    assert!(page["next_page"]
        .as_str()
        .unwrap()
        .ends_with("page=3&per_page=3"));
    assert!(page["previous_page"]
        .as_str()
        .unwrap()
        .ends_with("page=1&per_page=3"));
    assert_eq!(
        account.get("organizations.json?page=3&per_page=3").json()["next_page"],
        Json::Null
    );
    let limited = Account::with(hubsync_emulator::ZendeskOptions {
        offset_page_limit: 2,
        ..options()
    });
    assert_eq!(limited.get("organizations.json?page=3").status, 400);
    assert_eq!(limited.get("organizations.json?page=2").status, 200);
}

#[test]
fn custom_field_definitions_are_served() {
    let account = Account::start();
    let list = account.get("organization_fields.json").json();
    let fields = list["organization_fields"].as_array().unwrap();
    assert_eq!(fields.len(), 2);
    assert_eq!(fields[0]["key"], "tier");
    assert_eq!(fields[0]["type"], "dropdown");
    assert_eq!(fields[0]["custom_field_options"][1]["value"], "silver");
    assert_eq!(fields[1]["type"], "integer");
    let id = fields[1]["id"].as_u64().unwrap();
    assert_eq!(
        account
            .get(&format!("organization_fields/{id}.json"))
            .json()["organization_field"]["key"],
        "seats"
    );
    let users = account.get("user_fields").json();
    assert_eq!(users["user_fields"][0]["key"], "birthday");
    assert_eq!(users["count"], 1);
}

#[test]
fn agents_may_not_export_and_passwords_work_only_when_configured() {
    let agent = Account::with(hubsync_emulator::ZendeskOptions {
        role: hubsync_emulator::Role::Agent,
        password: Some("secret".into()),
        ..options()
    });
    let r = agent.get("incremental/organizations.json?start_time=0");
    assert_eq!(r.status, 403);
    assert_eq!(r.json()["error"], "Forbidden");
    let password = send(
        &agent.agent,
        "GET",
        &agent.url("users/me.json"),
        &[(
            "Authorization",
            "Basic ZGVtb0BodWJzeW5jLmxvY2FsOnNlY3JldA==",
        )],
        None,
    );
    assert_eq!(password.status, 200, "demo@hubsync.local:secret");
    assert_eq!(password.json()["user"]["role"], "agent");
}
