//! Conditional requests: 304 for unchanged describe and records, 412 for PATCH on a
//! record changed since the client read it.

mod common;

use common::*;
use hubsync_emulator::EmulatorOptions;
use serde_json::json;

#[test]
fn describe_and_records_answer_304_when_unchanged() {
    let org = Org::start();
    let describe = org.get("/sobjects/Account/describe");
    let stamp = describe.header("last-modified").unwrap().to_string();
    assert!(stamp.ends_with(" GMT"), "{stamp}");
    for path in [
        "/sobjects/Account/describe",
        "/sobjects",
        "/sobjects/Account",
    ] {
        let r = org.call_with("GET", path, &[("If-Modified-Since", &stamp)], None);
        assert_eq!(r.status, 304, "{path}");
        assert!(r.body.is_empty());
    }
    let before = org.call_with(
        "GET",
        "/sobjects/Account/describe",
        &[("If-Modified-Since", "Thu, 01 Jan 2015 00:00:00 GMT")],
        None,
    );
    assert_eq!(before.status, 200);

    let id = org.create("Account", json!({"Name": "Cond"}));
    let read = org.get(&format!("/sobjects/Account/{id}"));
    let modified = read.header("last-modified").unwrap().to_string();
    let etag = read.header("etag").unwrap().to_string();
    let path = format!("/sobjects/Account/{id}");
    assert_eq!(
        org.call_with("GET", &path, &[("If-Modified-Since", &modified)], None)
            .status,
        304
    );
    assert_eq!(
        org.call_with("GET", &path, &[("If-None-Match", &etag)], None)
            .status,
        304
    );
    org.advance(5);
    org.patch(&path, json!({"Phone": "1"}));
    let changed = org.call_with("GET", &path, &[("If-Modified-Since", &modified)], None);
    assert_eq!(changed.status, 200);
    assert_eq!(changed.json()["Phone"], "1");
    assert_ne!(changed.header("etag").unwrap(), etag);
    let contact = org.create("Contact", json!({"LastName": "NoTag"}));
    let r = org.get(&format!("/sobjects/Contact/{contact}"));
    assert!(r.header("etag").is_none(), "only Accounts carry an ETag");
    assert!(r.header("last-modified").is_some());
}

#[test]
fn patch_with_a_stale_precondition_answers_412_and_changes_nothing() {
    let org = Org::start();
    let id = org.create("Account", json!({"Name": "Before"}));
    let path = format!("/sobjects/Account/{id}");
    let first = org.get(&path);
    let modified = first.header("last-modified").unwrap().to_string();
    let etag = first.header("etag").unwrap().to_string();
    let ok = org.call_with(
        "PATCH",
        &path,
        &[("If-Unmodified-Since", &modified), ("If-Match", &etag)],
        Some(json!({"Name": "First"})),
    );
    assert_eq!(ok.status, 204, "{}", ok.body);
    org.advance(5);
    org.patch(&path, json!({"Name": "Someone else"}));
    for header in [
        ("If-Unmodified-Since", modified.as_str()),
        ("If-Match", etag.as_str()),
    ] {
        let stale = org.call_with("PATCH", &path, &[header], Some(json!({"Name": "Lost"})));
        assert_eq!(stale.status, 412, "{header:?}");
        assert_eq!(stale.error_code(), "PRECONDITION_FAILED");
    }
    assert_eq!(org.record("Account", &id)["Name"], "Someone else");
    let unreadable = org.call_with(
        "PATCH",
        &path,
        &[("If-Unmodified-Since", "last tuesday")],
        Some(json!({"Name": "Lost"})),
    );
    assert_eq!(unreadable.status, 400);
}

#[test]
fn the_412_error_code_is_configurable() {
    let org = Org::with(EmulatorOptions {
        precondition_failed_code: "CONFLICT".into(),
        ..Default::default()
    });
    let id = org.create("Account", json!({"Name": "X"}));
    let r = org.call_with(
        "PATCH",
        &format!("/sobjects/Account/{id}"),
        &[("If-Match", "\"stale\"")],
        Some(json!({"Name": "Y"})),
    );
    assert_eq!(r.status, 412);
    assert_eq!(r.error_code(), "CONFLICT");
}
