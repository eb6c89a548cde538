//! Every JSON block of the product brief is accepted as written.
//!
//! `fixtures/combinations.json` lists each brief fragment with the base it completes; each
//! combination must parse, pass the local-table checks, and resolve to the values listed.

mod common;

use common::fixtures::{self, combine, same_json};
use common::table;
use hubsync_core::config::{merge_patch, parse_hub, validate, SystemKind};
use hubsync_core::schema::PgType;
use serde_json::{json, Value};

fn entries(kind: &str) -> Vec<Value> {
    fixtures::json("combinations.json")[kind]
        .as_array()
        .unwrap_or_else(|| panic!("combinations.json has no '{kind}' list"))
        .clone()
}

/// File names in `fixtures/brief/`, in order.
fn brief_fixture_names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(fixtures::path("brief"))
        .expect("fixtures/brief")
        .map(|f| f.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn every_brief_sync_block_is_accepted_in_its_combination() {
    for entry in entries("syncs") {
        let label = format!("{} on {}", entry["fragment"], entry["base"]);
        let config = combine(
            &fixtures::named(&entry, "base"),
            &fixtures::named(&entry, "fragment"),
        );
        let local = table(entry["table"].as_str().expect("table"));
        let parsed = validate(&config, Some(&local)).unwrap_or_else(|p| panic!("{label}: {p:#?}"));
        let model = serde_json::to_value(&parsed).expect("the model serialises");
        for (pointer, expected) in entry["expect"].as_object().expect("expect") {
            let got = model.pointer(pointer).unwrap_or(&Value::Null);
            assert!(
                same_json(got, expected),
                "{label}: {pointer} is {got}, expected {expected}"
            );
        }
    }
}

#[test]
fn every_brief_block_has_a_combination() {
    let listed: Vec<Value> = entries("syncs")
        .into_iter()
        .chain(entries("hubs"))
        .flat_map(|e| [e["fragment"].clone(), e["base"].clone()])
        .collect();
    for block in brief_fixture_names() {
        let path = json!(format!("brief/{block}"));
        assert!(
            listed.contains(&path),
            "{block} is not exercised in combinations.json"
        );
    }
}

/// The JSON blocks of the brief: from a line `{` to the line where braces balance.
fn blocks_of(brief: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<(Vec<&str>, i64)> = None;
    for line in brief.lines() {
        if current.is_none() && line == "{" {
            current = Some((Vec::new(), 0));
        }
        if let Some((lines, depth)) = current.as_mut() {
            lines.push(line);
            *depth += line.matches('{').count() as i64 - line.matches('}').count() as i64;
            if *depth == 0 {
                blocks.push(lines.join("\n"));
                current = None;
            }
        }
    }
    blocks
}

#[test]
fn brief_fixtures_are_the_briefs_json_blocks_verbatim() {
    let blocks = blocks_of(&fixtures::text("brief.txt"));
    let files: Vec<String> = brief_fixture_names()
        .iter()
        .map(|name| {
            fixtures::text(&format!("brief/{name}"))
                .trim_end()
                .to_string()
        })
        .collect();
    assert_eq!(
        files, blocks,
        "fixtures/brief/ must hold each block of brief.txt, in order"
    );
}

#[test]
fn the_bases_are_the_briefs_own_step_by_step_example() {
    let brief = |name: &str| fixtures::json(&format!("brief/{name}.json"));
    let accounts = merge_patch(
        &brief("13_connection"),
        &brief("14_field_mappings_accounts"),
    );
    assert_eq!(fixtures::json("bases/accounts.json"), accounts);
    let full = merge_patch(
        &merge_patch(&accounts, &brief("15_sync_settings")),
        &brief("16_error_handling_and_monitoring"),
    );
    assert_eq!(fixtures::json("bases/accounts_full.json"), full);
}

#[test]
fn the_brief_hub_is_accepted() {
    for entry in entries("hubs") {
        let hub =
            parse_hub(&fixtures::named(&entry, "fragment")).unwrap_or_else(|p| panic!("{p:#?}"));
        assert_eq!(hub.name, entry["expect"]["name"].as_str().expect("name"));
        let systems: Vec<SystemKind> = hub.systems.iter().map(|s| s.system).collect();
        assert_eq!(
            systems,
            [
                SystemKind::Salesforce,
                SystemKind::Netsuite,
                SystemKind::Zendesk
            ]
        );
        assert_eq!(hub.systems[0].objects, ["Account", "Contact"]);
    }
}

#[test]
fn the_briefs_accounts_table_reads_as_the_catalog_would_show_it() {
    let t = table("accounts");
    assert_eq!(t.name, "accounts");
    assert_eq!(t.primary_key, ["id"]);
    assert_eq!(t.unique_columns, ["sf_id"]);
    let id = t.column("id").unwrap();
    assert!(id.has_default && id.not_null && id.pg_type == PgType::Int4);
    assert_eq!(
        t.column("sf_id").unwrap().pg_type,
        PgType::Varchar(Some(18))
    );
    assert_eq!(
        t.column("annual_revenue").unwrap().pg_type,
        PgType::Numeric {
            precision: Some(18),
            scale: Some(2)
        }
    );
    assert_eq!(t.column("last_sync").unwrap().pg_type, PgType::Timestamp);
    assert_eq!(t.columns.len(), 7);
}
