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

impl Case {
    /// A value Salesforce and Postgres spell alike in every step.
    fn same(field: &'static str, pg: &'static str, value: Value) -> Self {
        Self::new(field, pg, value.clone(), value.clone(), value)
    }

    /// The pulled `remote` value is stored and read back as `local`, and pushed as `pushed`.
    fn new(
        field: &'static str,
        pg: &'static str,
        remote: Value,
        local: Value,
        pushed: Value,
    ) -> Self {
        Case {
            field,
            pg,
            remote,
            written: local.clone(),
            jsonb: local,
            pushed,
        }
    }

    /// `to_jsonb()` reads the column back in another spelling than the mapper wrote.
    fn read_back(self, jsonb: Value) -> Self {
        Case { jsonb, ..self }
    }
}

/// JSON text as is, so a number keeps its exact digits.
fn n(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

fn check_all(cases: impl IntoIterator<Item = Case>) {
    for case in cases {
        check(&case);
    }
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
    let doc = "{\"a\":[1,2.50]}";
    #[rustfmt::skip]
    let cases = [
        Case::same("Name", "character varying(255)", json!(long)),
        Case::same("Name", "text", json!("Ünïcødé ✓ 日本")),
        Case::same("Description", "text", json!("line 1\nline 2")),
        Case::same("Email__c", "character varying(80)", json!("a@example.com")),
        Case::same("Phone", "character varying(40)", json!("(415) 555-2671")),
        Case::same("Website", "text", json!("https://example.com")),
        Case::same("Industry", "character varying(100)", json!("Energy")),
        Case::same("Industry", "character(10)", json!("Energy")).read_back(json!("Energy    ")),
        Case::same("OwnerId", "character varying(18)", json!("005xx000001Sv6tAAC")),
        Case::same("Name", "uuid", json!("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11")),
        Case::new("Payload__c", "jsonb", json!(doc), n(doc), json!(doc)),
        Case::new("Description", "json", json!("\"just text\""), json!("just text"), json!("\"just text\"")),
        Case::same("Name", "inet", json!("10.0.0.1")),
    ];
    check_all(cases);
}

#[test]
fn multipicklists_and_arrays() {
    let regions = json!(["EMEA", "APAC", "NA"]);
    #[rustfmt::skip]
    let cases = [
        Case::new("Regions__c", "text[]", json!("EMEA;APAC;NA"), regions, json!("EMEA;APAC;NA")),
        Case::same("Regions__c", "text", json!("EMEA;APAC")),
        Case::same("Regions__c", "text[]", Value::Null).read_back(json!([])),
    ];
    check_all(cases);
}

#[test]
fn booleans() {
    #[rustfmt::skip]
    let cases = [
        Case::same("Is_Active__c", "boolean", json!(true)),
        Case::same("Is_Active__c", "boolean", json!(false)),
        Case::new("Is_Active__c", "text", json!(true), json!("true"), json!(true)),
    ];
    check_all(cases);
}

#[test]
fn integers() {
    let big = json!(9007199254740993_i64); // not representable as f64
    #[rustfmt::skip]
    let cases = [
        Case::same("NumberOfEmployees", "integer", json!(120)),
        Case::same("NumberOfEmployees", "smallint", json!(120)),
        Case::same("NumberOfEmployees", "bigint", json!(120)),
        Case::same("NumberOfEmployees", "numeric(10,0)", json!(120)),
        Case::new("NumberOfEmployees", "text", json!(120), json!("120"), json!(120)),
        Case::same("Big_Count__c", "bigint", big),
    ];
    check_all(cases);
}

#[test]
fn decimals_never_go_through_floats() {
    // (field, column type, pulled, stored and read back, pushed) as JSON text.
    #[rustfmt::skip]
    let rows = [
        // Java-double style from Salesforce, exact decimal text locally.
        ("AnnualRevenue",  "numeric(18,2)",    "1.5E7",                "15000000.00",          "15000000.00"),
        ("AnnualRevenue",  "numeric(18,2)",    "1500.0",               "1500.00",              "1500.00"),
        ("AnnualRevenue",  "numeric(18,2)",    "9999999999999999.99",  "9999999999999999.99",  "9999999999999999.99"),
        ("Big_Revenue__c", "numeric(20,2)",    "12345678901234567.89", "12345678901234567.89", "12345678901234567.89"),
        ("Score__c",       "numeric(18,4)",    "9.9213206E7",          "99213206.0000",        "99213206.0000"),
        ("Score__c",       "numeric",          "0.1",                  "0.1",                  "0.1000"),
        ("Share__c",       "numeric(5,2)",     "12.5",                 "12.50",                "12.50"),
        ("AnnualRevenue",  "double precision", "1.5E7",                "15000000",             "15000000.00"),
        ("AnnualRevenue",  "text",             "1.5E7",                "\"15000000\"",         "15000000.00"),
        // The coarser scale decides: numeric(18,0) rounds half away from zero.
        ("AnnualRevenue",  "numeric(18,0)",    "1500.5",               "1501",                 "1501.00"),
    ];
    check_all(rows.map(|(field, pg, remote, local, pushed)| {
        Case::new(field, pg, n(remote), n(local), n(pushed))
    }));
}

#[test]
fn dates_times_and_datetimes() {
    let sf = json!("2024-01-01T12:00:00.000+0000");
    let utc = json!("2024-01-01T12:00:00.000Z");
    let (plain, zoned) = ("timestamp without time zone", "timestamp with time zone");
    let at_utc = json!("2024-01-01T12:00:00+00:00");
    #[rustfmt::skip]
    let cases = [
        Case::same("Founded__c", "date", json!("2024-01-31")),
        Case::same("Founded__c", "text", json!("2024-01-31")),
        Case::new("Opens_At__c", "time without time zone", json!("08:30:00.000Z"), json!("08:30:00"), json!("08:30:00.000Z")),
        Case::new("Last_Audit__c", plain, sf.clone(), json!("2024-01-01 12:00:00"), utc.clone())
            .read_back(json!("2024-01-01T12:00:00")),
        Case::new("Last_Audit__c", zoned, sf.clone(), at_utc.clone(), utc.clone())
            .read_back(json!("2024-01-01T13:00:00+01:00")),
        Case::new("Last_Audit__c", zoned, sf.clone(), at_utc, utc.clone())
            .read_back(json!("2024-01-01T12:00:00.000400+00:00")),
        Case::new("Last_Audit__c", "text", sf, utc.clone(), utc),
    ];
    check_all(cases);
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

/// Which way a refused value was travelling.
#[derive(Clone, Copy, Debug)]
enum Way {
    Pull,
    Push,
}
use Way::{Pull, Push};

/// Each `(way, field, column type, value, needle)`: the value is refused with a message
/// that contains the needle.
fn assert_rejected<const N: usize>(rows: [(Way, &str, &str, Value, &str); N]) {
    for (way, field, pg, value, needle) in rows {
        let r = match way {
            Pull => rejected_pull(field, pg, value),
            Push => rejected_push(field, pg, value),
        };
        let message = &r.message;
        assert!(message.contains(needle), "{way:?} {field} {pg}: {message}");
    }
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

    let (int, numeric) = ("NumberOfEmployees", "numeric(18,2)");
    #[rustfmt::skip]
    assert_rejected([
        (Push, "Name", "text", json!("x".repeat(256)), "too long for string(255)"),
        (Pull, "Big_Revenue__c", numeric, json!(12345678901234567.89), "does not fit numeric(18,2)"),
        (Push, "AnnualRevenue", "numeric(20,2)", n("12345678901234567.89"), "does not fit currency(18,2)"),
        (Pull, int, "smallint", json!(40000), "out of range for smallint"),
        (Pull, "Big_Count__c", "bigint", json!(1E30), "out of range"),
        (Push, int, "bigint", json!(3_000_000_000_i64), "out of range for int"),
        (Pull, "AnnualRevenue", numeric, n("1E999999999"), "out of range"),
        (Pull, "AnnualRevenue", numeric, json!("1E999999999"), "out of range"),
    ]);
}

#[test]
fn malformed_values_are_rejected_per_record() {
    let audit = "Last_Audit__c";
    #[rustfmt::skip]
    assert_rejected([
        (Pull, "Founded__c", "date", json!("2024-02-30"), "not a valid date"),
        (Pull, audit, "timestamp without time zone", json!("yesterday"), "not a valid datetime"),
        (Push, audit, "timestamp with time zone", json!("infinity"), "infinite"),
        (Push, "Founded__c", "date", json!("1500-01-01"), "outside the range Salesforce stores"),
        (Pull, "Opens_At__c", "time without time zone", json!("25:00:00.000Z"), "not a valid time"),
        (Pull, "Name", "uuid", json!("not-a-uuid"), "not a UUID"),
        (Pull, "Payload__c", "jsonb", json!("{broken"), "not a JSON document"),
        (Push, "Regions__c", "text[]", json!(["A;B"]), "contains ';'"),
        (Push, "Regions__c", "text[]", json!(["A", null]), "NULL"),
        (Push, "OwnerId", "text", json!("someone"), "not a Salesforce record id"),
        (Push, "AnnualRevenue", "numeric", json!("NaN"), "not a number"),
        (Pull, "Is_Active__c", "boolean", json!("perhaps"), "not a boolean"),
    ]);
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
