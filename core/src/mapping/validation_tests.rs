//! Every validation rule × every `on_error` action, in both directions.

use super::testkit::{self, mapper, mapping, object, single};
use super::{Mapper, PushOp, RecordOutcome};
use crate::config::{OnError, RuleKind, Transform, ValidationRule};
use serde_json::{json, Map, Value};

const ID: &str = "001xx000003DGb2AAG";

/// A rule with a value that fails it and, where one exists, a value standardisation fixes.
struct RuleCase {
    kind: RuleKind,
    failing: Value,
    fixable: Option<(Value, Value)>,
}

fn cases() -> Vec<RuleCase> {
    vec![
        RuleCase {
            kind: RuleKind::EmailFormat,
            failing: json!("not-an-email"),
            fixable: Some((json!("  Ann@Example.COM "), json!("Ann@example.com"))),
        },
        RuleCase {
            kind: RuleKind::Regex {
                pattern: r"^\+[1-9]\d{1,14}$".into(),
            },
            failing: json!("garbage"),
            fixable: Some((json!("(415) 555-2671"), json!("+14155552671"))),
        },
        RuleCase {
            kind: RuleKind::Required,
            failing: Value::Null,
            fixable: None,
        },
        RuleCase {
            kind: RuleKind::MaxLength { max: 5 },
            failing: json!("abcdefgh"),
            fixable: Some((json!("  ab   cd "), json!("ab cd"))),
        },
        RuleCase {
            kind: RuleKind::OneOf {
                values: vec![json!("Hot"), json!("Cold")],
            },
            failing: json!("Warm"),
            fixable: Some((json!(" hot"), json!("Hot"))),
        },
    ]
}

fn rule_name(kind: &RuleKind) -> &'static str {
    match kind {
        RuleKind::EmailFormat => "email_format",
        RuleKind::Regex { .. } => "regex",
        RuleKind::Required => "required",
        RuleKind::MaxLength { .. } => "max_length",
        RuleKind::OneOf { .. } => "one_of",
    }
}

/// `Description → col` carries the rule; `Name → account_name` shows the rest of the record.
fn mapper_with(kind: &RuleKind, on_error: OnError) -> Mapper {
    let (mut config, table) = single("Description", "text");
    config.mappings.push(mapping("Name", "account_name"));
    config.validation_rules = vec![ValidationRule {
        path: Default::default(),
        local: "col".into(),
        kind: kind.clone(),
        on_error,
    }];
    mapper(&config, &table)
}

/// Maps `value` in one direction; returns the outcome and the key the value lands under.
fn run(
    m: &Mapper,
    push: bool,
    value: &Value,
) -> (
    RecordOutcome<Map<String, Value>>,
    &'static str,
    &'static str,
) {
    if push {
        let row = object(json!({"account_name": "Acme", "col": value}));
        let changed = ["account_name".to_string(), "col".to_string()];
        (
            m.to_remote(&row, PushOp::Update { changed: &changed }),
            "Description",
            "Name",
        )
    } else {
        let record = object(json!({"Id": ID, "Name": "Acme", "Description": value}));
        (m.to_local(&record), "col", "account_name")
    }
}

#[test]
fn reject_record_returns_the_rule_column_and_value() {
    for case in cases() {
        let m = mapper_with(&case.kind, OnError::RejectRecord);
        for push in [true, false] {
            let (outcome, _, _) = run(&m, push, &case.failing);
            let rejection = outcome
                .rejection
                .unwrap_or_else(|| panic!("{:?} accepted", case.kind));
            assert_eq!(rejection.rule, rule_name(&case.kind));
            assert_eq!(rejection.field, "col");
            assert_eq!(rejection.value, case.failing);
            assert!(
                rejection.message.starts_with("column \"col\" "),
                "{}",
                rejection.message
            );
            assert!(outcome.value.is_empty());
            // Reject means reject: no quiet fixing of a value standardisation could repair.
            if let Some((fixable, _)) = &case.fixable {
                assert!(run(&m, push, fixable).0.rejection.is_some());
            }
        }
    }
}

#[test]
fn standardize_format_fixes_what_it_can_and_rejects_the_rest() {
    for case in cases() {
        let m = mapper_with(&case.kind, OnError::StandardizeFormat);
        for push in [true, false] {
            if let Some((fixable, fixed)) = &case.fixable {
                let (outcome, key, other) = run(&m, push, fixable);
                assert_eq!(outcome.rejection, None, "{:?}", case.kind);
                assert_eq!(&outcome.value[key], fixed, "{:?} push={push}", case.kind);
                assert_eq!(outcome.value[other], json!("Acme"));
                assert!(outcome.warnings.is_empty());
            }
            let (outcome, _, _) = run(&m, push, &case.failing);
            let rejection = outcome
                .rejection
                .unwrap_or_else(|| panic!("{:?} accepted", case.kind));
            assert_eq!(rejection.rule, rule_name(&case.kind));
            assert!(
                rejection.message.ends_with("and could not be standardized"),
                "{}",
                rejection.message
            );
        }
    }
}

#[test]
fn skip_field_writes_the_record_without_the_field() {
    for case in cases() {
        let m = mapper_with(&case.kind, OnError::SkipField);
        for push in [true, false] {
            let (outcome, key, other) = run(&m, push, &case.failing);
            assert_eq!(outcome.rejection, None);
            assert!(
                !outcome.value.contains_key(key),
                "{:?} push={push}",
                case.kind
            );
            assert_eq!(outcome.value[other], json!("Acme"));
            assert_eq!(outcome.skipped, ["col"]);
        }
    }
}

#[test]
fn warn_writes_the_value_and_reports_it() {
    for case in cases() {
        let m = mapper_with(&case.kind, OnError::Warn);
        for push in [true, false] {
            let (outcome, key, _) = run(&m, push, &case.failing);
            assert_eq!(outcome.rejection, None);
            assert_eq!(
                outcome.value[key], case.failing,
                "{:?} push={push}",
                case.kind
            );
            assert_eq!(outcome.warnings.len(), 1);
            assert_eq!(outcome.warnings[0].rule, rule_name(&case.kind));
            assert_eq!(outcome.warnings[0].field, "col");
        }
    }
}

#[test]
fn valid_values_pass_every_rule_silently() {
    let valid = [
        json!("a@example.com"),
        json!("+14155552671"),
        json!("x"),
        json!("abc"),
        json!("Hot"),
    ];
    for (case, value) in cases().iter().zip(valid) {
        let m = mapper_with(&case.kind, OnError::RejectRecord);
        for push in [true, false] {
            let (outcome, key, _) = run(&m, push, &value);
            assert_eq!(outcome.rejection, None, "{:?}", case.kind);
            assert_eq!(outcome.value[key], value);
        }
    }
}

#[test]
fn the_briefs_rules_check_the_value_as_it_would_be_written() {
    let mut table = testkit::accounts_table();
    table.columns.push(testkit::column("email", "text"));
    table.columns.push(testkit::column("phone", "text"));
    let mut config = testkit::accounts_config();
    config.mappings.push(mapping("Email__c", "email"));
    let mut phone = mapping("Phone", "phone");
    phone.transform = Transform::FormatPhone {
        default_region: "US".into(),
    };
    config.mappings.push(phone);
    config.validation_rules = vec![
        ValidationRule {
            path: Default::default(),
            local: "email".into(),
            kind: RuleKind::EmailFormat,
            on_error: OnError::RejectRecord,
        },
        ValidationRule {
            path: Default::default(),
            local: "phone".into(),
            kind: RuleKind::Regex {
                pattern: r"^\+[1-9]\d{1,14}$".into(),
            },
            on_error: OnError::StandardizeFormat,
        },
    ];
    let m = mapper(&config, &table);
    // Pull: format_phone already made the local value E.164, so the regex passes.
    let pulled = m.to_local(&object(
        json!({"Id": ID, "Email__c": "a@example.com", "Phone": "(415) 555-2671"}),
    ));
    assert_eq!(pulled.value["phone"], json!("+14155552671"));
    // Push: the inverse of format_phone keeps the local text; standardisation fixes it.
    let pushed = m.to_remote(
        &object(json!({"email": "a@example.com", "phone": "415 555 2671"})),
        PushOp::Create,
    );
    assert_eq!(pushed.value["Phone"], json!("+14155552671"));
    let rejected = m.to_remote(
        &object(json!({"email": "a@example", "phone": "+14155552671"})),
        PushOp::Create,
    );
    let rejection = rejected.rejection.unwrap();
    assert_eq!(
        (rejection.rule.as_str(), rejection.field.as_str()),
        ("email_format", "email")
    );
    assert_eq!(rejection.value, json!("a@example"));
}

#[test]
fn standardisation_must_still_fit_the_column() {
    // "+14155552671" is 12 characters: a varchar(10) column cannot take it.
    let (mut config, table) = single("Phone", "character varying(10)");
    config.validation_rules = vec![ValidationRule {
        path: Default::default(),
        local: "col".into(),
        kind: RuleKind::Regex {
            pattern: r"^\+\d+$".into(),
        },
        on_error: OnError::StandardizeFormat,
    }];
    let m = mapper(&config, &table);
    let outcome = m.to_local(&object(json!({"Id": ID, "Phone": "4155552671"})));
    assert!(outcome.rejection.is_some());
}

#[test]
fn rule_problems_are_reported_at_config_time() {
    let (mut config, table) = single("Description", "text");
    config.validation_rules = vec![
        ValidationRule {
            path: Default::default(),
            local: "col".into(),
            kind: RuleKind::Regex {
                pattern: "(unclosed".into(),
            },
            on_error: OnError::Warn,
        },
        ValidationRule {
            path: Default::default(),
            local: "last_sync".into(),
            kind: RuleKind::Required,
            on_error: OnError::Warn,
        },
        ValidationRule {
            path: Default::default(),
            local: "ghost".into(),
            kind: RuleKind::Required,
            on_error: OnError::Warn,
        },
    ];
    let problems = Mapper::new(&config, &table, &testkit::account_describe()).unwrap_err();
    assert_eq!(problems.len(), 3, "{problems:?}");
    assert_eq!(problems[0].path, "validation_rules[0].pattern");
    assert_eq!(problems[1].path, "validation_rules[1].field");
    assert!(problems[1]
        .message
        .contains("not synced by any selected field mapping"));
    assert_eq!(problems[2].kind.sqlstate(), "42703");
}

#[test]
fn array_values_are_checked_element_by_element() {
    let (mut config, table) = single("Regions__c", "text[]");
    config.validation_rules = vec![ValidationRule {
        path: Default::default(),
        local: "col".into(),
        kind: RuleKind::OneOf {
            values: vec![json!("EMEA"), json!("APAC")],
        },
        on_error: OnError::RejectRecord,
    }];
    let m = mapper(&config, &table);
    assert_eq!(
        m.to_local(&object(json!({"Id": ID, "Regions__c": "EMEA;APAC"})))
            .rejection,
        None
    );
    let outcome = m.to_local(&object(json!({"Id": ID, "Regions__c": "EMEA;LATAM"})));
    assert_eq!(outcome.rejection.unwrap().value, json!(["EMEA", "LATAM"]));
}
