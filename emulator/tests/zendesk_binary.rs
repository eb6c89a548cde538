//! The `hubsync-emulator` binary's subcommands: `zendesk` serves Zendesk with its own
//! flags, `salesforce` is the explicit form of the default.

mod common;

use common::{agent, send, spawn_binary};
use std::process::Command;

#[test]
fn the_zendesk_subcommand_serves_zendesk_with_its_flags() {
    let schema = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/zendesk-schema.json");
    let (mut child, url) = spawn_binary(&[
        "zendesk",
        "--port",
        "0",
        "--schema",
        schema,
        "--rate-limit",
        "200",
    ]);
    let r = send(
        &agent(),
        "GET",
        &format!("{url}/api/v2/user_fields.json"),
        &[("Authorization", "Bearer hubsync-demo-oauth-token")],
        None,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["user_fields"][1]["key"], "vip");
    assert_eq!(r.header("x-rate-limit"), Some("200"));
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn the_salesforce_subcommand_is_the_default_spelled_out() {
    for args in [
        &["salesforce", "--port", "0", "--api-version", "60.0"][..],
        &["--port", "0", "--api-version", "60.0"][..],
    ] {
        let (mut child, url) = spawn_binary(args);
        let versions = send(&agent(), "GET", &format!("{url}/services/data"), &[], None).json();
        assert_eq!(
            versions.as_array().unwrap().last().unwrap()["version"],
            "60.0",
            "{args:?}"
        );
        child.kill().unwrap();
        child.wait().unwrap();
    }
}

#[test]
fn a_bad_zendesk_schema_is_refused_with_a_message() {
    let path =
        std::env::temp_dir().join(format!("hubsync-zendesk-bad-schema-{}", std::process::id()));
    std::fs::write(
        &path,
        r#"{"user_fields": [{"key": "t", "type": "dropdown"}]}"#,
    )
    .unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_hubsync-emulator"))
        .args(["zendesk", "--port", "0", "--schema", path.to_str().unwrap()])
        .output()
        .unwrap();
    std::fs::remove_file(&path).unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("user_fields.t"), "{stderr}");
}
