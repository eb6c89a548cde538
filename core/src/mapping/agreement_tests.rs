//! When a local and a remote value count as the same (echo suppression, conflict detection).

use super::testkit::{mapper, single};
use crate::config::{Side, Transform};
use serde_json::{json, Value};

fn number(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

fn agrees(
    field: &str,
    pg: &str,
    transform: Transform,
    source: Side,
    local: Value,
    remote: Value,
) -> bool {
    let (mut config, table) = single(field, pg);
    config.mappings[1].transform = transform;
    config.mappings[1].source = source;
    config.mappings[1].one_way = true;
    mapper(&config, &table).values_agree("col", &local, &remote)
}

fn plain(field: &str, pg: &str, local: Value, remote: Value) -> bool {
    agrees(field, pg, Transform::None, Side::Remote, local, remote)
}

#[test]
fn phone_numbers_agree_however_each_side_writes_them() {
    let phone = || Transform::FormatPhone {
        default_region: "US".into(),
    };
    for source in [Side::Local, Side::Remote] {
        assert!(agrees(
            "Phone",
            "text",
            phone(),
            source,
            json!("(415) 555-2671"),
            json!("+14155552671")
        ));
        assert!(agrees(
            "Phone",
            "text",
            phone(),
            source,
            json!("+14155552671"),
            json!("415.555.2671")
        ));
        assert!(!agrees(
            "Phone",
            "text",
            phone(),
            source,
            json!("(415) 555-2671"),
            json!("+14155552672")
        ));
    }
}

#[test]
fn numbers_agree_by_value_at_the_coarser_scale() {
    assert!(plain(
        "AnnualRevenue",
        "numeric(18,2)",
        number("15000000.00"),
        number("1.5E7")
    ));
    assert!(plain(
        "AnnualRevenue",
        "numeric(18,2)",
        number("15000000"),
        number("15000000.0")
    ));
    assert!(!plain(
        "AnnualRevenue",
        "numeric(18,2)",
        number("15000000.01"),
        number("1.5E7")
    ));
    assert!(plain(
        "Score__c",
        "numeric(18,2)",
        number("1.23"),
        number("1.2345")
    ));
    assert!(!plain(
        "Score__c",
        "numeric(18,4)",
        number("1.2300"),
        number("1.2345")
    ));
}

#[test]
fn datetimes_agree_to_the_second() {
    let remote = json!("2024-01-01T12:00:00.000+0000");
    assert!(plain(
        "Last_Audit__c",
        "timestamp without time zone",
        json!("2024-01-01T12:00:00.250"),
        remote.clone()
    ));
    assert!(plain(
        "Last_Audit__c",
        "timestamp with time zone",
        json!("2024-01-01T14:00:00+02:00"),
        remote.clone()
    ));
    assert!(!plain(
        "Last_Audit__c",
        "timestamp without time zone",
        json!("2024-01-01T12:00:01"),
        remote
    ));
}

#[test]
fn multipicklists_agree_as_sets() {
    assert!(plain(
        "Regions__c",
        "text[]",
        json!(["APAC", "EMEA"]),
        json!("EMEA;APAC")
    ));
    assert!(plain(
        "Regions__c",
        "text",
        json!("APAC;EMEA"),
        json!("EMEA;APAC")
    ));
    assert!(!plain(
        "Regions__c",
        "text[]",
        json!(["EMEA"]),
        json!("EMEA;APAC")
    ));
    assert!(plain("Regions__c", "text[]", json!([]), Value::Null));
}

#[test]
fn empty_text_is_null_in_salesforce() {
    assert!(plain("Name", "text", json!(""), Value::Null));
    assert!(plain("Name", "text", Value::Null, Value::Null));
    assert!(!plain("Name", "text", json!("x"), Value::Null));
    assert!(!plain("Name", "text", json!("Acme"), json!("acme")));
}

#[test]
fn ids_agree_in_15_and_18_character_form() {
    assert!(plain(
        "OwnerId",
        "text",
        json!("005xx000001Sv6t"),
        json!("005xx000001Sv6tAAC")
    ));
    assert!(!plain(
        "OwnerId",
        "text",
        json!("005xx000001Sv6T"),
        json!("005xx000001Sv6tAAC")
    ));
}

#[test]
fn one_way_transforms_agree_when_the_target_holds_the_transformed_source() {
    assert!(agrees(
        "Name",
        "text",
        Transform::Lowercase,
        Side::Remote,
        json!("acme"),
        json!("ACME")
    ));
    assert!(!agrees(
        "Name",
        "text",
        Transform::Lowercase,
        Side::Remote,
        json!("ACME"),
        json!("ACME")
    ));
    let map = Transform::ValueMap {
        values: [("Hot".to_string(), json!(3))].into(),
        default: Some(json!(0)),
    };
    assert!(agrees(
        "Rating",
        "integer",
        map.clone(),
        Side::Remote,
        json!(3),
        json!("Hot")
    ));
    assert!(agrees(
        "Rating",
        "integer",
        map.clone(),
        Side::Remote,
        json!(0),
        json!("Lukewarm")
    ));
    assert!(!agrees(
        "Rating",
        "integer",
        map,
        Side::Remote,
        json!(3),
        json!("Cold")
    ));
}

#[test]
fn json_documents_agree_by_content() {
    // jsonb reorders keys; the text in Salesforce keeps its order.
    let local: Value = serde_json::from_str(r#"{"b": 1, "a": [2.50]}"#).unwrap();
    assert!(plain(
        "Payload__c",
        "jsonb",
        local,
        json!(r#"{"a":[2.50],"b":1}"#)
    ));
    assert!(plain(
        "Payload__c",
        "jsonb",
        json!({"a": 1}),
        json!("{\"a\": 1}")
    ));
    assert!(!plain(
        "Payload__c",
        "jsonb",
        json!({"a": 2}),
        json!("{\"a\": 1}")
    ));
}

#[test]
fn single_values_convert_both_ways() {
    let (config, table) = single("AnnualRevenue", "numeric(18,2)");
    let m = mapper(&config, &table);
    assert_eq!(
        m.remote_to_local_value("col", &number("1.5E7"))
            .unwrap()
            .to_string(),
        "15000000.00"
    );
    assert_eq!(
        m.local_to_remote_value("col", &number("12.345"))
            .unwrap()
            .to_string(),
        "12.35"
    );
    let rejection = m.local_to_remote_value("col", &json!("lots")).unwrap_err();
    assert_eq!(
        (rejection.rule.as_str(), rejection.field.as_str()),
        ("coercion", "col")
    );
    assert!(m.local_to_remote_value("nope", &json!(1)).is_err());
    // Unmapped columns compare as plain JSON.
    assert!(m.values_agree("nope", &json!(1), &json!(1)));
    assert!(!m.values_agree("nope", &json!(1), &json!(2)));
}
