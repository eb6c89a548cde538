//! The `hubsync-emulator` binary: first stdout line, options, start-up errors.

mod common;

use common::*;
use std::process::Command;

#[test]
fn prints_its_url_first_and_serves_the_schema() {
    let schema = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/schema.json");
    let (mut child, url) =
        spawn_binary(&["--port", "0", "--api-version", "62.0", "--schema", schema]);
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let agent = agent();
    let versions = send(&agent, "GET", &format!("{url}/services/data"), &[], None).json();
    assert_eq!(
        versions.as_array().unwrap().last().unwrap()["version"],
        "62.0"
    );
    let token = token_request(&agent, &url, &PASSWORD_FORM, &[]).json()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let describe = send(
        &agent,
        "GET",
        &format!("{url}/services/data/v62.0/sobjects/Invoice__c/describe"),
        &[("Authorization", &format!("Bearer {token}"))],
        None,
    );
    assert_eq!(describe.status, 200);
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn refuses_a_bad_schema_with_a_message() {
    let dir = std::env::temp_dir().join(format!(
        "hubsync-emulator-bad-schema-{}",
        std::process::id()
    ));
    std::fs::write(&dir, r#"{"objects":[{"name":"Widget"}]}"#).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_hubsync-emulator"))
        .args(["--port", "0", "--schema", dir.to_str().unwrap()])
        .output()
        .unwrap();
    std::fs::remove_file(&dir).unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("custom object names end with __c"),
        "{stderr}"
    );
}

#[test]
fn every_data_response_but_the_versions_list_carries_the_limit_header() {
    let org = Org::start();
    let unauthenticated = send(
        &org.agent,
        "GET",
        &org.url("/limits"),
        &[("Authorization", "Bearer nope")],
        None,
    );
    assert_eq!(unauthenticated.status, 401);
    assert!(unauthenticated.header("sforce-limit-info").is_some());
    let retired = send(
        &org.agent,
        "GET",
        &format!("{}/services/data/v30.0/limits", org.base()),
        &[],
        None,
    );
    assert_eq!(retired.status, 410);
    assert!(retired.header("sforce-limit-info").is_some());
}
