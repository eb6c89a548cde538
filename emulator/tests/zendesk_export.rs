//! Zendesk emulator: incremental exports — the one-minute lag, pages that never split
//! a second (and so repeat it), end_of_stream, cursor paging, and deletions.

mod common;
mod zendesk;

use common::Client;
use serde_json::{json, Value as Json};
use zendesk::*;

fn ids(page: &Json, key: &str) -> Vec<u64> {
    page[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_u64().unwrap())
        .collect()
}

fn epoch(stamp: &Json) -> i64 {
    let text = stamp.as_str().unwrap();
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .unwrap()
        .unix_timestamp()
}

#[test]
fn time_based_pages_repeat_the_last_second_and_end_the_stream() {
    let account = Account::start();
    // Three organizations in one second, two in a later one (loaded with their times).
    let t0: i64 = 1_700_000_000;
    let org = |n: &str, t: i64| {
        let stamp = time::OffsetDateTime::from_unix_timestamp(t)
            .unwrap()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap();
        json!({"name": n, "created_at": stamp, "updated_at": stamp})
    };
    let loaded = account.admin(
        "POST",
        "load",
        Some(json!({"organizations": [org("A0", t0), org("A1", t0), org("A2", t0), org("B0", t0 + 10), org("B1", t0 + 10)]})),
    );
    let all: Vec<u64> = loaded["organizations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i.as_u64().unwrap())
        .collect();
    let (first, second) = (all[..3].to_vec(), all[3..].to_vec());
    let now = epoch(&account.admin("GET", "clock", None)["now"]);
    let early = account.get(&format!(
        "incremental/organizations.json?start_time={}",
        now - 30
    ));
    assert_eq!(
        early.status, 400,
        "a start_time within the last minute is refused"
    );

    let page = account
        .get(&format!(
            "incremental/organizations.json?start_time={t0}&per_page=1"
        ))
        .json();
    assert_eq!(
        ids(&page, "organizations"),
        first,
        "a page never splits a second"
    );
    assert_eq!(
        (
            page["count"].clone(),
            page["end_of_stream"].clone(),
            page["end_time"].clone()
        ),
        (json!(3), json!(false), json!(t0))
    );
    let next = page["next_page"].as_str().unwrap();
    assert!(
        next.ends_with(&format!(
            "/api/v2/incremental/organizations.json?start_time={t0}&per_page=1"
        )),
        "{next}"
    );

    let page = account
        .get(&format!(
            "incremental/organizations.json?start_time={t0}&per_page=4"
        ))
        .json();
    assert_eq!(
        ids(&page, "organizations"),
        [first.clone(), second.clone()].concat()
    );
    assert_eq!(page["end_of_stream"], true);
    let end_time = page["end_time"].as_i64().unwrap();
    assert_eq!(end_time, t0 + 10);
    let again = account
        .get(&format!(
            "incremental/organizations.json?start_time={end_time}"
        ))
        .json();
    assert_eq!(
        ids(&again, "organizations"),
        second,
        "rows at end_time come again"
    );
    assert_eq!(again["end_of_stream"], true);
}

#[test]
fn rows_changed_within_the_lag_wait_for_a_later_poll() {
    let account = Account::start();
    let old = account.org(json!({"name": "Old"}));
    let t0 = epoch(
        &account.get(&format!("organizations/{old}.json")).json()["organization"]["created_at"],
    );
    account.advance(120);
    let fresh = account.org(json!({"name": "Fresh"}));
    let page = account
        .get(&format!("incremental/organizations.json?start_time={t0}"))
        .json();
    assert_eq!(ids(&page, "organizations"), [old]);
    account.advance(61);
    let page = account
        .get(&format!("incremental/organizations.json?start_time={t0}"))
        .json();
    assert_eq!(ids(&page, "organizations"), [old, fresh]);
}

#[test]
fn deletions_show_in_the_export_as_zendesk_reports_them() {
    for (deletions, users_shown) in [
        (hubsync_emulator::OrgDeletions::DeletedAt, true),
        (hubsync_emulator::OrgDeletions::Vanish, false),
    ] {
        let account = Account::with(hubsync_emulator::ZendeskOptions {
            org_deletions: deletions,
            deleted_users_in_export: users_shown,
            ..options()
        });
        let org = account.org(json!({"name": "Gone"}));
        let user = account.user(json!({"name": "Jo", "organization_id": org}));
        let t0 = epoch(
            &account.get(&format!("organizations/{org}.json")).json()["organization"]["created_at"],
        );
        account.advance(5);
        assert_eq!(
            account.delete(&format!("organizations/{org}.json")).status,
            204
        );
        assert_eq!(
            account.get(&format!("users/{user}.json")).json()["user"]["organization_id"],
            Json::Null
        );
        account.advance(5);
        assert_eq!(account.delete(&format!("users/{user}.json")).status, 200);
        account.advance(61);

        let orgs = account
            .get(&format!("incremental/organizations.json?start_time={t0}"))
            .json();
        match deletions {
            hubsync_emulator::OrgDeletions::DeletedAt => {
                assert_eq!(ids(&orgs, "organizations"), [org]);
                let row = &orgs["organizations"][0];
                assert_eq!(row["deleted_at"], row["updated_at"]);
                assert!(epoch(&row["deleted_at"]) >= t0 + 5);
            }
            hubsync_emulator::OrgDeletions::Vanish => {
                assert_eq!(ids(&orgs, "organizations"), Vec::<u64>::new())
            }
        }
        for path in ["incremental/users/cursor.json", "incremental/users.json"] {
            let users = account.get(&format!("{path}?start_time={t0}")).json();
            if !users_shown {
                assert_eq!(ids(&users, "users"), Vec::<u64>::new(), "{path}");
                continue;
            }
            assert_eq!(ids(&users, "users"), [user], "{path}");
            assert_eq!(users["users"][0]["active"], false);
            assert!(epoch(&users["users"][0]["updated_at"]) >= t0 + 10);
        }
    }
}

#[test]
fn the_user_cursor_export_pages_without_duplicates() {
    let account = Account::start();
    let users: Vec<u64> = (0..5)
        .map(|n| account.user(json!({"name": format!("U{n}")})))
        .collect();
    let t0 = epoch(&account.get(&format!("users/{}.json", users[0])).json()["user"]["created_at"]);
    account.advance(61);
    let mut seen = Vec::new();
    let mut page = account
        .get(&format!(
            "incremental/users/cursor.json?start_time={t0}&per_page=2"
        ))
        .json();
    loop {
        seen.extend(ids(&page, "users"));
        assert_eq!(
            (page["before_url"].clone(), page["before_cursor"].clone()),
            (Json::Null, Json::Null)
        );
        let after = page["after_url"].as_str().unwrap().to_string();
        assert!(after.contains("per_page=2"), "{after}");
        if page["end_of_stream"] == true {
            break;
        }
        page = common::send(
            &account.agent,
            "GET",
            &after,
            &[("Authorization", TOKEN_AUTH)],
            None,
        )
        .json();
    }
    assert_eq!(seen, users);
    // A later poll from the stored cursor sees only what changed since.
    let cursor = page["after_cursor"].as_str().unwrap().to_string();
    let changed = users[1];
    account.put(
        &format!("users/{changed}.json"),
        json!({"user": {"notes": "x"}}),
    );
    account.advance(61);
    let later = account
        .get(&format!(
            "incremental/users/cursor.json?cursor={}",
            cursor.replace('=', "%3D")
        ))
        .json();
    assert_eq!(ids(&later, "users"), [changed]);
    assert_eq!(later["end_of_stream"], true);
    let empty = account
        .get(&format!(
            "incremental/users/cursor.json?cursor={}",
            later["after_cursor"].as_str().unwrap()
        ))
        .json();
    assert_eq!(ids(&empty, "users"), Vec::<u64>::new());
    assert_eq!(
        empty["after_cursor"], later["after_cursor"],
        "an empty page keeps the cursor"
    );
    assert_eq!(account.get("incremental/users/cursor.json").status, 400);
}

#[test]
fn exports_have_their_own_ten_a_minute_limit() {
    let account = Account::start();
    account.advance(61);
    account.start_of_minute();
    let path = "incremental/organizations.json?start_time=0";
    for _ in 0..10 {
        assert_eq!(account.get(path).status, 200);
    }
    let refused = account.get(path);
    assert_eq!(refused.status, 429);
    let wait: i64 = refused.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    assert_eq!(
        account.get("organizations.json").status,
        200,
        "other calls go on"
    );
    account.advance(wait);
    assert_eq!(account.get(path).status, 200, "a new minute, a new budget");
}
