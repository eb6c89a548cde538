//! Malformed configs are rejected with exactly one problem at the right path and SQLSTATE.
//!
//! The cases live in `fixtures/malformed.json` so SQL-level tests can replay them through
//! `hubsync.check_config` and `hubsync.create_sync`.

mod common;

use common::fixtures::{self, combine};
use common::{rights, table};
use hubsync_core::config::validate;
use hubsync_core::schema::LocalTable;
use serde_json::Value;

fn table_for(case: &Value) -> Option<LocalTable> {
    let mut local = table(case["table"].as_str()?);
    if case["rights"].is_object() {
        local.rights = rights(&case["rights"]);
    }
    Some(local)
}

/// Why `case` does not get exactly its expected problem, if it does not.
fn mismatch(case: &Value) -> Option<String> {
    let config = combine(&fixtures::named(case, "base"), &case["patch"]);
    let problems = match validate(&config, table_for(case).as_ref()) {
        Ok(_) => return Some("accepted".into()),
        Err(problems) => problems,
    };
    let [problem] = problems.as_slice() else {
        return Some(format!("expected one problem, got {problems:#?}"));
    };
    let sqlstate = problem.kind.sqlstate();
    let fragment = case["contains"].as_str().unwrap_or_default();
    let wanted = (case["path"].as_str(), case["sqlstate"].as_str());
    let found = (Some(problem.path.as_str()), Some(sqlstate));
    (wanted != found || !problem.message.contains(fragment)).then(|| {
        format!(
            "got {sqlstate} {problem} — expected {wanted:?} with a message containing '{fragment}'"
        )
    })
}

#[test]
fn each_malformed_config_gets_exactly_its_problem() {
    let cases = fixtures::json("malformed.json")["cases"]
        .as_array()
        .expect("cases")
        .clone();
    assert!(cases.len() >= 30, "at least 30 cases");
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|case| mismatch(case).map(|why| format!("{}: {why}", case["name"])))
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
