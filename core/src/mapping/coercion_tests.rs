//! Every Salesforce type ↔ Postgres type pair, both ways, through the whole [`Mapper`].

use super::testkit::{self, mapper, object, single};
use super::{Mapper, PushOp};
use crate::config::{NullHandling, TimestampFormat};
use serde_json::{json, Value};

const ID: &str = "001xx000003DGb2AAG";

/// One pair: a REST value pulled into the column, and the column's `to_jsonb()` value pushed.
struct Case {
    field: &'static str,
    pg: &'static str,
    /// As Salesforce's REST API returns it.
    remote: Value,
    /// What the mapper writes for `jsonb_populate_record`.
    written: Value,
    /// What `to_jsonb()` reads back from the column.
    jsonb: Value,
    /// What the mapper sends to Salesforce for `jsonb`.
    pushed: Value,
}

fn pull(
    m: &Mapper,
    field: &str,
    remote: &Value,
) -> super::RecordOutcome<serde_json::Map<String, Value>> {
    m.to_local(&object(
        json!({"attributes": {"type": "Account"}, "Id": ID, field: remote}),
    ))
}

fn push(m: &Mapper, local: &Value) -> super::RecordOutcome<serde_json::Map<String, Value>> {
    m.to_remote(
        &object(json!({"id": 1, "sf_id": ID, "col": local})),
        PushOp::Create,
    )
}

fn check(case: &Case) {
    let (config, table) = single(case.field, case.pg);
    let m = mapper(&config, &table);
    let label = format!("{} ↔ {}", case.field, case.pg);

    let pulled = pull(&m, case.field, &case.remote);
    assert_eq!(pulled.rejection, None, "{label}: pull rejected");
    assert_eq!(pulled.value["sf_id"], json!(ID), "{label}");
    // Compare JSON text so a number's exact digits count.
    assert_eq!(
        pulled.value["col"].to_string(),
        case.written.to_string(),
        "{label}: pulled"
    );

    let pushed = push(&m, &case.jsonb);
    assert_eq!(pushed.rejection, None, "{label}: push rejected");
    assert_eq!(
        pushed.value[case.field].to_string(),
        case.pushed.to_string(),
        "{label}: pushed"
    );
    assert!(!pushed.value.contains_key("Id"), "{label}: Id pushed");

    assert!(
        m.values_agree("col", &case.jsonb, &case.remote),
        "{label}: values disagree"
    );
}

#[test]
fn text_types() {
    let long = "ü".repeat(255);
    let doc: Value = serde_json::from_str("{\"a\":[1,2.50]}").unwrap();
    for case in [
        Case {
            field: "Name",
            pg: "character varying(255)",
            remote: json!(long),
            written: json!(long),
            jsonb: json!(long),
            pushed: json!(long),
        },
        Case {
            field: "Name",
            pg: "text",
            remote: json!("Ünïcødé ✓ 日本"),
            written: json!("Ünïcødé ✓ 日本"),
            jsonb: json!("Ünïcødé ✓ 日本"),
            pushed: json!("Ünïcødé ✓ 日本"),
        },
        Case {
            field: "Description",
            pg: "text",
            remote: json!("line 1\nline 2"),
            written: json!("line 1\nline 2"),
            jsonb: json!("line 1\nline 2"),
            pushed: json!("line 1\nline 2"),
        },
        Case {
            field: "Email__c",
            pg: "character varying(80)",
            remote: json!("a@example.com"),
            written: json!("a@example.com"),
            jsonb: json!("a@example.com"),
            pushed: json!("a@example.com"),
        },
        Case {
            field: "Phone",
            pg: "character varying(40)",
            remote: json!("(415) 555-2671"),
            written: json!("(415) 555-2671"),
            jsonb: json!("(415) 555-2671"),
            pushed: json!("(415) 555-2671"),
        },
        Case {
            field: "Website",
            pg: "text",
            remote: json!("https://example.com"),
            written: json!("https://example.com"),
            jsonb: json!("https://example.com"),
            pushed: json!("https://example.com"),
        },
        Case {
            field: "Industry",
            pg: "character varying(100)",
            remote: json!("Energy"),
            written: json!("Energy"),
            jsonb: json!("Energy"),
            pushed: json!("Energy"),
        },
        Case {
            field: "Industry",
            pg: "character(10)",
            remote: json!("Energy"),
            written: json!("Energy"),
            jsonb: json!("Energy    "),
            pushed: json!("Energy"),
        },
        Case {
            field: "OwnerId",
            pg: "character varying(18)",
            remote: json!("005xx000001Sv6tAAC"),
            written: json!("005xx000001Sv6tAAC"),
            jsonb: json!("005xx000001Sv6tAAC"),
            pushed: json!("005xx000001Sv6tAAC"),
        },
        Case {
            field: "Name",
            pg: "uuid",
            remote: json!("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
            written: json!("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
            jsonb: json!("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
            pushed: json!("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
        },
        Case {
            field: "Payload__c",
            pg: "jsonb",
            remote: json!("{\"a\":[1,2.50]}"),
            written: doc.clone(),
            jsonb: doc,
            pushed: json!("{\"a\":[1,2.50]}"),
        },
        Case {
            field: "Description",
            pg: "json",
            remote: json!("\"just text\""),
            written: json!("just text"),
            jsonb: json!("just text"),
            pushed: json!("\"just text\""),
        },
        Case {
            field: "Name",
            pg: "inet",
            remote: json!("10.0.0.1"),
            written: json!("10.0.0.1"),
            jsonb: json!("10.0.0.1"),
            pushed: json!("10.0.0.1"),
        },
    ] {
        check(&case);
    }
}

#[test]
fn multipicklists_and_arrays() {
    check(&Case {
        field: "Regions__c",
        pg: "text[]",
        remote: json!("EMEA;APAC;NA"),
        written: json!(["EMEA", "APAC", "NA"]),
        jsonb: json!(["EMEA", "APAC", "NA"]),
        pushed: json!("EMEA;APAC;NA"),
    });
    check(&Case {
        field: "Regions__c",
        pg: "text",
        remote: json!("EMEA;APAC"),
        written: json!("EMEA;APAC"),
        jsonb: json!("EMEA;APAC"),
        pushed: json!("EMEA;APAC"),
    });
    check(&Case {
        field: "Regions__c",
        pg: "text[]",
        remote: Value::Null,
        written: Value::Null,
        jsonb: json!([]),
        pushed: Value::Null,
    });
}

#[test]
fn booleans() {
    check(&Case {
        field: "Is_Active__c",
        pg: "boolean",
        remote: json!(true),
        written: json!(true),
        jsonb: json!(true),
        pushed: json!(true),
    });
    check(&Case {
        field: "Is_Active__c",
        pg: "boolean",
        remote: json!(false),
        written: json!(false),
        jsonb: json!(false),
        pushed: json!(false),
    });
    check(&Case {
        field: "Is_Active__c",
        pg: "text",
        remote: json!(true),
        written: json!("true"),
        jsonb: json!("true"),
        pushed: json!(true),
    });
}

#[test]
fn integers() {
    for pg in ["integer", "smallint", "bigint"] {
        check(&Case {
            field: "NumberOfEmployees",
            pg,
            remote: json!(120),
            written: json!(120),
            jsonb: json!(120),
            pushed: json!(120),
        });
    }
    check(&Case {
        field: "NumberOfEmployees",
        pg: "numeric(10,0)",
        remote: json!(120),
        written: json!(120),
        jsonb: json!(120),
        pushed: json!(120),
    });
    check(&Case {
        field: "NumberOfEmployees",
        pg: "text",
        remote: json!(120),
        written: json!("120"),
        jsonb: json!("120"),
        pushed: json!(120),
    });
    let big = json!(9007199254740993_i64); // not representable as f64
    check(&Case {
        field: "Big_Count__c",
        pg: "bigint",
        remote: big.clone(),
        written: big.clone(),
        jsonb: big.clone(),
        pushed: big,
    });
}

#[test]
fn decimals_never_go_through_floats() {
    let n = |s: &str| -> Value { serde_json::from_str(s).unwrap() };
    for case in [
        // Java-double style from Salesforce, exact decimal text locally.
        Case {
            field: "AnnualRevenue",
            pg: "numeric(18,2)",
            remote: n("1.5E7"),
            written: n("15000000.00"),
            jsonb: n("15000000.00"),
            pushed: n("15000000.00"),
        },
        Case {
            field: "AnnualRevenue",
            pg: "numeric(18,2)",
            remote: n("1500.0"),
            written: n("1500.00"),
            jsonb: n("1500.00"),
            pushed: n("1500.00"),
        },
        Case {
            field: "AnnualRevenue",
            pg: "numeric(18,2)",
            remote: n("9999999999999999.99"),
            written: n("9999999999999999.99"),
            jsonb: n("9999999999999999.99"),
            pushed: n("9999999999999999.99"),
        },
        Case {
            field: "Big_Revenue__c",
            pg: "numeric(20,2)",
            remote: n("12345678901234567.89"),
            written: n("12345678901234567.89"),
            jsonb: n("12345678901234567.89"),
            pushed: n("12345678901234567.89"),
        },
        Case {
            field: "Score__c",
            pg: "numeric(18,4)",
            remote: n("9.9213206E7"),
            written: n("99213206.0000"),
            jsonb: n("99213206.0000"),
            pushed: n("99213206.0000"),
        },
        Case {
            field: "Score__c",
            pg: "numeric",
            remote: n("0.1"),
            written: n("0.1"),
            jsonb: n("0.1"),
            pushed: n("0.1000"),
        },
        Case {
            field: "Share__c",
            pg: "numeric(5,2)",
            remote: n("12.5"),
            written: n("12.50"),
            jsonb: n("12.50"),
            pushed: n("12.50"),
        },
        Case {
            field: "AnnualRevenue",
            pg: "double precision",
            remote: n("1.5E7"),
            written: n("15000000"),
            jsonb: n("15000000"),
            pushed: n("15000000.00"),
        },
        Case {
            field: "AnnualRevenue",
            pg: "text",
            remote: n("1.5E7"),
            written: json!("15000000"),
            jsonb: json!("15000000"),
            pushed: n("15000000.00"),
        },
        // The coarser scale decides: numeric(18,0) rounds half away from zero.
        Case {
            field: "AnnualRevenue",
            pg: "numeric(18,0)",
            remote: n("1500.5"),
            written: n("1501"),
            jsonb: n("1501"),
            pushed: n("1501.00"),
        },
    ] {
        check(&case);
    }
}

#[test]
fn dates_times_and_datetimes() {
    for case in [
        Case {
            field: "Founded__c",
            pg: "date",
            remote: json!("2024-01-31"),
            written: json!("2024-01-31"),
            jsonb: json!("2024-01-31"),
            pushed: json!("2024-01-31"),
        },
        Case {
            field: "Founded__c",
            pg: "text",
            remote: json!("2024-01-31"),
            written: json!("2024-01-31"),
            jsonb: json!("2024-01-31"),
            pushed: json!("2024-01-31"),
        },
        Case {
            field: "Opens_At__c",
            pg: "time without time zone",
            remote: json!("08:30:00.000Z"),
            written: json!("08:30:00"),
            jsonb: json!("08:30:00"),
            pushed: json!("08:30:00.000Z"),
        },
        Case {
            field: "Last_Audit__c",
            pg: "timestamp without time zone",
            remote: json!("2024-01-01T12:00:00.000+0000"),
            written: json!("2024-01-01 12:00:00"),
            jsonb: json!("2024-01-01T12:00:00"),
            pushed: json!("2024-01-01T12:00:00.000Z"),
        },
        Case {
            field: "Last_Audit__c",
            pg: "timestamp with time zone",
            remote: json!("2024-01-01T12:00:00.000+0000"),
            written: json!("2024-01-01T12:00:00+00:00"),
            jsonb: json!("2024-01-01T13:00:00+01:00"),
            pushed: json!("2024-01-01T12:00:00.000Z"),
        },
        Case {
            field: "Last_Audit__c",
            pg: "timestamp with time zone",
            remote: json!("2024-01-01T12:00:00.000+0000"),
            written: json!("2024-01-01T12:00:00+00:00"),
            jsonb: json!("2024-01-01T12:00:00.000400+00:00"),
            pushed: json!("2024-01-01T12:00:00.000Z"),
        },
        Case {
            field: "Last_Audit__c",
            pg: "text",
            remote: json!("2024-01-01T12:00:00.000+0000"),
            written: json!("2024-01-01T12:00:00.000Z"),
            jsonb: json!("2024-01-01T12:00:00.000Z"),
            pushed: json!("2024-01-01T12:00:00.000Z"),
        },
    ] {
        check(&case);
    }
}

#[test]
fn timestamp_format_decides_datetimes_in_text_and_number_columns() {
    let remote = json!("2024-01-01T12:00:00.000+0000");
    for (format, pg, written) in [
        (
            TimestampFormat::Iso8601,
            "text",
            json!("2024-01-01T12:00:00.000Z"),
        ),
        (
            TimestampFormat::Salesforce,
            "text",
            json!("2024-01-01T12:00:00.000+0000"),
        ),
        (TimestampFormat::UnixSeconds, "text", json!("1704110400")),
        (TimestampFormat::UnixMillis, "text", json!("1704110400000")),
        (TimestampFormat::UnixSeconds, "bigint", json!(1704110400)),
        (
            TimestampFormat::UnixMillis,
            "bigint",
            json!(1704110400000_i64),
        ),
        (TimestampFormat::UnixSeconds, "numeric", json!(1704110400)),
        // Datetimes in timestamp columns do not depend on the format.
        (
            TimestampFormat::UnixMillis,
            "timestamp without time zone",
            json!("2024-01-01 12:00:00"),
        ),
    ] {
        let (mut config, table) = single("Last_Audit__c", pg);
        config.mapping_options.timestamp_format = format;
        let m = mapper(&config, &table);
        let pulled = pull(&m, "Last_Audit__c", &remote);
        assert_eq!(pulled.value["col"], written, "{format:?} {pg}");
        let pushed = push(&m, &written);
        assert_eq!(
            pushed.value["Last_Audit__c"],
            json!("2024-01-01T12:00:00.000Z"),
            "{format:?} {pg}"
        );
        assert!(m.values_agree("col", &written, &remote));
    }
}

#[test]
fn a_datetime_in_a_number_column_needs_a_unix_format() {
    let (config, table) = single("Last_Audit__c", "bigint");
    let problems = Mapper::new(&config, &table, &testkit::account_describe()).unwrap_err();
    assert_eq!(problems[0].kind.sqlstate(), "42804");
    assert!(problems[0]
        .message
        .contains("bigint with timestamp_format unix_seconds/unix_millis"));
}

#[test]
fn compound_fields_pull_into_jsonb_and_never_push() {
    let (config, table) = single("BillingAddress", "jsonb");
    let m = mapper(&config, &table);
    let address = json!({"city": "San Francisco", "postalCode": "94105"});
    assert_eq!(pull(&m, "BillingAddress", &address).value["col"], address);
    assert!(!push(&m, &address).value.contains_key("BillingAddress"));
    assert!(!m.push_fields().contains(&"BillingAddress".to_string()));
}

/// A value that cannot be stored is a per-record rejection naming rule, column and value.
fn rejected_pull(field: &str, pg: &str, remote: Value) -> super::Rejection {
    let (config, table) = single(field, pg);
    let m = mapper(&config, &table);
    let outcome = pull(&m, field, &remote);
    assert!(
        outcome.value.is_empty(),
        "a rejected record carries no values"
    );
    outcome
        .rejection
        .unwrap_or_else(|| panic!("{field} ← {remote} into {pg} was accepted"))
}

fn rejected_push(field: &str, pg: &str, local: Value) -> super::Rejection {
    let (config, table) = single(field, pg);
    let m = mapper(&config, &table);
    push(&m, &local)
        .rejection
        .unwrap_or_else(|| panic!("{local} in {pg} pushed to {field}"))
}

#[test]
fn values_that_do_not_fit_are_rejected_per_record_never_truncated() {
    let r = rejected_pull("Name", "character varying(10)", json!("Acme Corporation"));
    assert_eq!((r.rule.as_str(), r.field.as_str()), ("coercion", "col"));
    assert_eq!(r.value, json!("Acme Corporation"));
    assert!(
        r.message
            .contains("16 characters, too long for character varying(10)"),
        "{}",
        r.message
    );

    let r = rejected_push("Name", "text", json!("x".repeat(256)));
    assert!(
        r.message.contains("too long for string(255)"),
        "{}",
        r.message
    );

    let r = rejected_pull(
        "Big_Revenue__c",
        "numeric(18,2)",
        json!(12345678901234567.89),
    );
    assert!(
        r.message.contains("does not fit numeric(18,2)"),
        "{}",
        r.message
    );
    let big: Value = serde_json::from_str("12345678901234567.89").unwrap();
    let r = rejected_push("AnnualRevenue", "numeric(20,2)", big);
    assert!(
        r.message.contains("does not fit currency(18,2)"),
        "{}",
        r.message
    );

    assert!(rejected_pull("NumberOfEmployees", "smallint", json!(40000))
        .message
        .contains("out of range for smallint"));
    assert!(rejected_pull("Big_Count__c", "bigint", json!(1E30))
        .message
        .contains("out of range"));
    assert!(
        rejected_push("NumberOfEmployees", "bigint", json!(3_000_000_000_i64))
            .message
            .contains("out of range for int")
    );
    let huge: Value = serde_json::from_str("1E999999999").unwrap();
    let r = rejected_pull("AnnualRevenue", "numeric(18,2)", huge);
    assert!(r.message.contains("out of range"), "{}", r.message);
    assert!(
        rejected_pull("AnnualRevenue", "numeric(18,2)", json!("1E999999999"))
            .message
            .contains("out of range")
    );
}

#[test]
fn malformed_values_are_rejected_per_record() {
    assert!(rejected_pull("Founded__c", "date", json!("2024-02-30"))
        .message
        .contains("not a valid date"));
    assert!(rejected_pull(
        "Last_Audit__c",
        "timestamp without time zone",
        json!("yesterday")
    )
    .message
    .contains("not a valid datetime"));
    assert!(rejected_push(
        "Last_Audit__c",
        "timestamp with time zone",
        json!("infinity")
    )
    .message
    .contains("infinite"));
    assert!(rejected_push("Founded__c", "date", json!("1500-01-01"))
        .message
        .contains("outside the range Salesforce stores"));
    assert!(rejected_pull(
        "Opens_At__c",
        "time without time zone",
        json!("25:00:00.000Z")
    )
    .message
    .contains("not a valid time"));
    assert!(rejected_pull("Name", "uuid", json!("not-a-uuid"))
        .message
        .contains("not a UUID"));
    assert!(rejected_pull("Payload__c", "jsonb", json!("{broken"))
        .message
        .contains("not a JSON document"));
    assert!(rejected_push("Regions__c", "text[]", json!(["A;B"]))
        .message
        .contains("contains ';'"));
    assert!(rejected_push("Regions__c", "text[]", json!(["A", null]))
        .message
        .contains("NULL"));
    assert!(rejected_push("OwnerId", "text", json!("someone"))
        .message
        .contains("not a Salesforce record id"));
    assert!(rejected_push("AnnualRevenue", "numeric", json!("NaN"))
        .message
        .contains("not a number"));
    assert!(rejected_pull("Is_Active__c", "boolean", json!("perhaps"))
        .message
        .contains("not a boolean"));
}

#[test]
fn empty_and_absent_values() {
    let (config, table) = single("Name", "text");
    let m = mapper(&config, &table);
    assert_eq!(pull(&m, "Name", &json!("")).value["col"], json!(""));
    // A field missing from the record is left alone, not nulled.
    let outcome = m.to_local(&object(json!({"Id": ID})));
    assert!(!outcome.value.contains_key("col"));
    // Field names in a record are case-insensitive.
    let outcome = m.to_local(&object(json!({"ID": ID, "name": "Acme"})));
    assert_eq!(outcome.value["col"], json!("Acme"));
    assert_eq!(outcome.value["sf_id"], json!(ID));
}

#[test]
fn boolean_nulls_push_as_unchecked() {
    let (config, table) = single("Is_Active__c", "boolean");
    let m = mapper(&config, &table);
    let changed = ["col".to_string()];
    let update = m.to_remote(
        &object(json!({"col": null})),
        PushOp::Update { changed: &changed },
    );
    assert_eq!(update.value["Is_Active__c"], json!(false));
    assert!(m.values_agree("col", &Value::Null, &json!(false)));
    assert!(!m.values_agree("col", &json!(true), &json!(false)));
    let mut config = config;
    config.mapping_options.handle_nulls = NullHandling::Ignore;
    let m = mapper(&config, &table);
    let update = m.to_remote(
        &object(json!({"col": null})),
        PushOp::Update { changed: &changed },
    );
    assert!(update.value.is_empty());
}
