//! Whole records through the brief's bidirectional Account ↔ accounts sync.

use super::testkit::{self, mapper, mapping, object};
use super::{captured_columns, ExternalId, PushOp};
use crate::config::{NullHandling, Side, Transform};
use serde_json::{json, Value};

const ID: &str = "001xx000003DGb2AAG";

fn brief_mapper() -> super::Mapper {
    mapper(&testkit::accounts_config(), &testkit::accounts_table())
}

/// A row as `to_jsonb(accounts)` renders it.
fn row() -> serde_json::Map<String, Value> {
    object(json!({
        "id": 7, "sf_id": ID, "account_name": "Acme", "industry_type": "Energy",
        "annual_revenue": serde_json::from_str::<Value>("12345678.90").unwrap(),
        "last_modified": "2024-01-01T12:00:00", "last_sync": null
    }))
}

/// A record as the REST API returns it.
fn record() -> serde_json::Map<String, Value> {
    object(json!({
        "attributes": {"type": "Account", "url": format!("/services/data/v59.0/sobjects/Account/{ID}")},
        "Id": ID, "Name": "Acme", "Industry": null,
        "AnnualRevenue": serde_json::from_str::<Value>("1.5E7").unwrap(),
        "LastModifiedDate": "2024-01-01T12:00:00.000+0000",
        "SystemModstamp": "2024-01-01T12:00:01.000+0000", "IsDeleted": false
    }))
}

#[test]
fn create_pushes_every_writable_field_and_never_id_or_read_only_ones() {
    let outcome = brief_mapper().to_remote(&row(), PushOp::Create);
    assert_eq!(outcome.rejection, None);
    assert_eq!(
        Value::Object(outcome.value).to_string(),
        r#"{"Name":"Acme","Industry":"Energy","AnnualRevenue":12345678.90}"#
    );
}

#[test]
fn update_pushes_only_changed_writable_fields() {
    let changed = [
        "annual_revenue".to_string(),
        "last_modified".to_string(),
        "sf_id".to_string(),
    ];
    let outcome = brief_mapper().to_remote(&row(), PushOp::Update { changed: &changed });
    assert_eq!(
        Value::Object(outcome.value).to_string(),
        r#"{"AnnualRevenue":12345678.90}"#
    );
    let none: [String; 0] = [];
    assert!(brief_mapper()
        .to_remote(&row(), PushOp::Update { changed: &none })
        .value
        .is_empty());
}

#[test]
fn pull_writes_every_mapped_column_including_the_id() {
    let outcome = brief_mapper().to_local(&record());
    assert_eq!(outcome.rejection, None);
    assert_eq!(
        Value::Object(outcome.value).to_string(),
        r#"{"sf_id":"001xx000003DGb2AAG","account_name":"Acme","industry_type":null,"annual_revenue":15000000.00,"last_modified":"2024-01-01 12:00:00"}"#
    );
}

#[test]
fn lists_the_extension_needs() {
    let m = brief_mapper();
    assert_eq!(
        m.select_fields(),
        [
            "Id",
            "Name",
            "Industry",
            "AnnualRevenue",
            "LastModifiedDate",
            "SystemModstamp",
            "IsDeleted"
        ]
    );
    assert_eq!(m.push_fields(), ["Name", "Industry", "AnnualRevenue"]);
    assert_eq!(
        m.push_columns(),
        ["account_name", "industry_type", "annual_revenue"]
    );
    assert_eq!(m.id_column(), Some("sf_id"));
    assert_eq!(m.external_id(), None);
    assert_eq!(m.field_for_column("annual_revenue"), Some("AnnualRevenue"));
    assert_eq!(m.column_for_field("annualrevenue"), Some("annual_revenue"));
    assert_eq!(m.column_for_field("Website"), None);
    assert_eq!(
        captured_columns(&testkit::accounts_config()),
        [
            "account_name",
            "industry_type",
            "annual_revenue",
            "last_modified"
        ]
    );
}

#[test]
fn field_selection_limits_what_is_pushed_and_pulled() {
    let mut config = testkit::accounts_config();
    config.field_selection.explicit = true;
    config.field_selection.include = vec!["Id".into(), "Name".into(), "LastModifiedDate".into()];
    config.field_selection.exclude = vec!["SystemModstamp".into()];
    let m = mapper(&config, &testkit::accounts_table());
    assert_eq!(m.push_fields(), ["Name"]);
    assert_eq!(m.pull_columns(), ["sf_id", "account_name", "last_modified"]);
    // Bookkeeping fields are read for the sync itself, whatever the selection says.
    assert_eq!(
        m.select_fields(),
        [
            "Id",
            "Name",
            "LastModifiedDate",
            "SystemModstamp",
            "IsDeleted"
        ]
    );
    let pushed = m.to_remote(&row(), PushOp::Create);
    assert_eq!(
        Value::Object(pushed.value).to_string(),
        r#"{"Name":"Acme"}"#
    );
    let pulled = m.to_local(&record());
    assert!(!pulled.value.contains_key("annual_revenue"));
}

#[test]
fn external_id_is_exposed_and_pushed_on_create() {
    let mut table = testkit::accounts_table();
    table.columns.push(testkit::column("acct_no", "text"));
    let mut config = testkit::accounts_config();
    let mut ext = mapping("Account_Number__c", "acct_no");
    ext.external_id = true;
    config.mappings.push(ext);
    let m = mapper(&config, &table);
    assert_eq!(
        m.external_id(),
        Some(ExternalId {
            field: "Account_Number__c",
            column: "acct_no"
        })
    );
    let mut r = row();
    r.insert("acct_no".into(), json!("A-100"));
    assert_eq!(
        m.to_remote(&r, PushOp::Create).value["Account_Number__c"],
        json!("A-100")
    );
}

#[test]
fn create_only_fields_are_left_out_of_updates() {
    let mut table = testkit::accounts_table();
    table.columns.push(testkit::column("once", "text"));
    let mut config = testkit::accounts_config();
    config.mappings.push(mapping("Set_Once__c", "once"));
    let m = mapper(&config, &table);
    let mut r = row();
    r.insert("once".into(), json!("first"));
    assert_eq!(
        m.to_remote(&r, PushOp::Create).value["Set_Once__c"],
        json!("first")
    );
    let changed = ["once".to_string()];
    assert!(m
        .to_remote(&r, PushOp::Update { changed: &changed })
        .value
        .is_empty());
}

fn with_nulls(handling: NullHandling) -> super::Mapper {
    let mut config = testkit::accounts_config();
    config.mapping_options.handle_nulls = handling;
    mapper(&config, &testkit::accounts_table())
}

fn null_row() -> serde_json::Map<String, Value> {
    object(json!({"account_name": "Acme", "industry_type": null, "annual_revenue": null}))
}

fn null_record() -> serde_json::Map<String, Value> {
    object(json!({"Id": ID, "Name": "Acme", "Industry": null, "AnnualRevenue": null}))
}

#[test]
fn handle_nulls_preserve_clears_the_other_side() {
    let m = with_nulls(NullHandling::Preserve);
    let changed = ["industry_type".to_string(), "annual_revenue".to_string()];
    let update = m.to_remote(&null_row(), PushOp::Update { changed: &changed });
    assert_eq!(
        Value::Object(update.value).to_string(),
        r#"{"Industry":null,"AnnualRevenue":null}"#
    );
    // A new record has nothing to clear.
    let create = m.to_remote(&null_row(), PushOp::Create);
    assert_eq!(
        Value::Object(create.value).to_string(),
        r#"{"Name":"Acme"}"#
    );
    let pulled = m.to_local(&null_record());
    assert_eq!(pulled.value["industry_type"], Value::Null);
    assert!(pulled.value.contains_key("annual_revenue"));
}

#[test]
fn handle_nulls_ignore_never_writes_a_null() {
    let m = with_nulls(NullHandling::Ignore);
    let changed = ["industry_type".to_string(), "annual_revenue".to_string()];
    assert!(m
        .to_remote(&null_row(), PushOp::Update { changed: &changed })
        .value
        .is_empty());
    let pulled = m.to_local(&null_record());
    assert!(!pulled.value.contains_key("industry_type"));
    assert!(!pulled.value.contains_key("annual_revenue"));
    assert_eq!(pulled.value["account_name"], json!("Acme"));
}

#[test]
fn handle_nulls_default_uses_the_default_transform_or_the_column_default() {
    let mut config = testkit::accounts_config();
    config.mapping_options.handle_nulls = NullHandling::Default;
    config.mappings[2].transform = Transform::Default {
        value: json!("Unknown"),
    };
    config.mappings[2].one_way = true; // Salesforce → local only: a default cannot be undone
    let m = mapper(&config, &testkit::accounts_table());
    let pulled = m.to_local(&null_record());
    assert_eq!(pulled.value["industry_type"], json!("Unknown"));
    assert!(
        !pulled.value.contains_key("annual_revenue"),
        "left to the column default"
    );
}

#[test]
fn a_null_for_a_not_null_column_is_rejected_not_an_aborted_batch() {
    let mut table = testkit::accounts_table();
    table
        .columns
        .iter_mut()
        .find(|c| c.name == "account_name")
        .unwrap()
        .not_null = true;
    let m = mapper(&testkit::accounts_config(), &table);
    let outcome = m.to_local(&object(json!({"Id": ID, "Name": null})));
    let rejection = outcome.rejection.unwrap();
    assert_eq!(
        (rejection.rule.as_str(), rejection.field.as_str()),
        ("not_null", "account_name")
    );
}

#[test]
fn transforms_apply_forward_from_the_source_and_inverse_toward_it() {
    let mut table = testkit::accounts_table();
    table
        .columns
        .push(testkit::column("rating_code", "smallint"));
    table.columns.push(testkit::column("phone", "text"));
    let mut config = testkit::accounts_config();
    let mut rating = mapping("Rating", "rating_code");
    rating.transform = Transform::ValueMap {
        values: [
            ("Hot".to_string(), json!(3)),
            ("Warm".to_string(), json!(2)),
            ("Cold".to_string(), json!(1)),
        ]
        .into(),
        default: None,
    };
    config.mappings.push(rating);
    // The brief's local-source phone mapping: "PhoneNumber" → "phone" written from the local side.
    let mut phone = mapping("Phone", "phone");
    phone.source = Side::Local;
    phone.transform = Transform::FormatPhone {
        default_region: "US".into(),
    };
    config.mappings.push(phone);
    let m = mapper(&config, &table);

    let pulled = m.to_local(&object(
        json!({"Id": ID, "Rating": "Warm", "Phone": "+14155552671"}),
    ));
    assert_eq!(pulled.value["rating_code"], json!(2));
    assert_eq!(pulled.value["phone"], json!("+14155552671"));

    let pushed = m.to_remote(
        &object(json!({"rating_code": 3, "phone": "(415) 555-2671"})),
        PushOp::Create,
    );
    assert_eq!(pushed.value["Rating"], json!("Hot"));
    assert_eq!(pushed.value["Phone"], json!("+14155552671"));

    let bad_phone = m.to_remote(&object(json!({"phone": "call me maybe"})), PushOp::Create);
    let rejection = bad_phone.rejection.unwrap();
    assert_eq!(
        (rejection.rule.as_str(), rejection.field.as_str()),
        ("format_phone", "phone")
    );
    assert_eq!(rejection.value, json!("call me maybe"));

    let unknown = m.to_local(&object(json!({"Id": ID, "Rating": "Lukewarm"})));
    assert_eq!(unknown.rejection.unwrap().rule, "value_map");
}

#[test]
fn a_rejected_record_keeps_no_values_but_keeps_earlier_warnings() {
    let mut config = testkit::accounts_config();
    config.validation_rules = vec![
        crate::config::ValidationRule {
            path: Default::default(),
            local: "account_name".into(),
            kind: crate::config::RuleKind::MaxLength { max: 2 },
            on_error: crate::config::OnError::Warn,
        },
        crate::config::ValidationRule {
            path: Default::default(),
            local: "industry_type".into(),
            kind: crate::config::RuleKind::Required,
            on_error: crate::config::OnError::RejectRecord,
        },
    ];
    let m = mapper(&config, &testkit::accounts_table());
    let outcome = m.to_remote(&null_row(), PushOp::Create);
    assert!(outcome.value.is_empty());
    assert_eq!(outcome.warnings.len(), 1);
    assert_eq!(outcome.rejection.unwrap().rule, "required");
}
