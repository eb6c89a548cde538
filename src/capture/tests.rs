//! In-database tests of the capture trigger: what it writes to the outbox for each kind of
//! change and each column type. The test transaction is never committed, so the worker
//! never sees these rows.

#[cfg(any(test, feature = "pg_test"))]
#[pgrx::pg_schema]
mod tests {
    use pgrx::prelude::*;
    use pgrx::JsonB;
    use serde_json::{json, Value};

    /// A push-only sync on a table with one column of every type the capture encodes.
    fn typed_table() {
        Spi::run(
            "CREATE TABLE typed (
                id serial PRIMARY KEY, sf_id varchar(18) UNIQUE,
                name text, amount numeric(18,2), ratio double precision, flag boolean,
                day date, at_local timestamp, at_zone timestamptz, tags text[], doc jsonb,
                untouched text)",
        )
        .unwrap();
        let config = json!({
            "connection_name": "Typed",
            "source": {"type": "postgres", "table": "typed"},
            "target": {"type": "salesforce", "object": "Account",
                       "credentials": {"instance_url": "http://127.0.0.1:9"}},
            "sync_type": "one_way",
            "field_mappings": [
                {"source": "sf_id", "target": "Id"},
                {"source": "name", "target": "Name"},
                {"source": "amount", "target": "AnnualRevenue"},
                {"source": "ratio", "target": "Ratio__c"},
                {"source": "flag", "target": "Flag__c"},
                {"source": "day", "target": "Day__c"},
                {"source": "at_local", "target": "At_Local__c"},
                {"source": "at_zone", "target": "At_Zone__c"},
                {"source": "tags", "target": "Tags__c"},
                {"source": "doc", "target": "Doc__c"}
            ]
        });
        Spi::run_with_args("SELECT hubsync.create_sync($1)", &[JsonB(config).into()]).unwrap();
    }

    fn outbox() -> Vec<(String, Value, Option<Value>, Option<Value>)> {
        Spi::connect(|client| {
            client
                .select(
                    "SELECT op::text, pk, new, old FROM hubsync.outbox ORDER BY id",
                    None,
                    &[],
                )
                .unwrap()
                .map(|row| {
                    (
                        row.get::<String>(1).unwrap().unwrap(),
                        row.get::<JsonB>(2).unwrap().unwrap().0,
                        row.get::<JsonB>(3).unwrap().map(|j| j.0),
                        row.get::<JsonB>(4).unwrap().map(|j| j.0),
                    )
                })
                .collect()
        })
    }

    #[pg_test]
    fn inserts_capture_every_mapped_column_exactly() {
        typed_table();
        Spi::run("SET TimeZone = 'Europe/Paris'; SET DateStyle = 'SQL, DMY'").unwrap();
        Spi::run(
            "INSERT INTO typed (name, amount, ratio, flag, day, at_local, at_zone, tags, doc, untouched)
             VALUES ('O''Brien \"quoted\" \\ back', 12345678901234567.89 / 10, 0.1, true, '2024-02-29',
                     '2024-01-31 12:00:00.123', '2024-01-31 12:00:00+00', '{a,\"b c\"}', '{\"k\": [1, 2.50]}',
                     'never captured')",
        )
        .unwrap();
        let rows = outbox();
        assert_eq!(rows.len(), 1);
        let (op, pk, new, old) = &rows[0];
        assert_eq!((op.as_str(), pk), ("I", &json!([1])));
        assert!(old.is_none());
        let new = new.as_ref().unwrap();
        assert_eq!(new["name"], json!("O'Brien \"quoted\" \\ back"));
        assert_eq!(new["amount"].to_string(), "1234567890123456.79");
        assert_eq!(new["ratio"], json!(0.1));
        assert_eq!(new["flag"], json!(true));
        // Dates and times are ISO whatever DateStyle says; timestamptz carries its offset.
        assert_eq!(new["day"], json!("2024-02-29"));
        assert_eq!(new["at_local"], json!("2024-01-31T12:00:00.123"));
        assert_eq!(new["at_zone"], json!("2024-01-31T13:00:00+01:00"));
        assert_eq!(new["tags"], json!(["a", "b c"]));
        assert_eq!(new["doc"].to_string(), r#"{"k":[1,2.50]}"#);
        assert!(
            new.get("untouched").is_none(),
            "unmapped columns are never captured"
        );
    }

    #[pg_test]
    fn updates_capture_only_changed_columns_with_their_old_values() {
        typed_table();
        Spi::run("INSERT INTO typed (name, amount) VALUES ('a', 1)").unwrap();
        Spi::run("UPDATE typed SET untouched = 'x'").unwrap();
        Spi::run("UPDATE typed SET amount = 2, name = 'a'").unwrap();
        Spi::run("UPDATE typed SET id = 10").unwrap();
        Spi::run("DELETE FROM typed").unwrap();
        let rows = outbox();
        let ops: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
        // The unmapped change records nothing; a primary-key change is a delete plus an insert.
        assert_eq!(ops, ["I", "U", "D", "I", "D"]);
        // Numbers keep their exact text, scale included.
        assert_eq!(
            rows[1].2.as_ref().unwrap().to_string(),
            r#"{"amount":2.00}"#
        );
        assert_eq!(
            rows[1].3.as_ref().unwrap().to_string(),
            r#"{"amount":1.00}"#
        );
        assert_eq!(rows[2].1, json!([1]));
        assert_eq!(rows[3].1, json!([10]));
    }

    #[pg_test]
    fn writes_tagged_with_the_remote_origin_are_not_captured() {
        typed_table();
        Spi::run("SET LOCAL hubsync.origin = 'salesforce'").unwrap();
        Spi::run("INSERT INTO typed (name) VALUES ('from salesforce')").unwrap();
        assert!(outbox().is_empty());
    }

    #[pg_test]
    fn a_sync_s_own_writes_are_not_captured_for_it_but_for_every_other_sync() {
        typed_table();
        let id = Spi::get_one::<i32>("SELECT id FROM hubsync.sync WHERE name = 'Typed'")
            .unwrap()
            .unwrap();
        Spi::run(&format!("SET LOCAL hubsync.origin = 'sync:{}'", id + 1)).unwrap();
        Spi::run("INSERT INTO typed (name) VALUES ('from another sync')").unwrap();
        assert_eq!(outbox().len(), 1, "another sync's write is relayed");
        Spi::run(&format!("SET LOCAL hubsync.origin = 'sync:{id}'")).unwrap();
        Spi::run("INSERT INTO typed (name) VALUES ('from this sync')").unwrap();
        assert_eq!(
            outbox().len(),
            1,
            "the sync's own write is not captured for it"
        );
    }

    #[pg_test(error = "cannot truncate \"typed\": it is synced by hubsync sync \"Typed\"")]
    fn truncate_is_refused_while_the_sync_is_active() {
        typed_table();
        Spi::run("TRUNCATE typed").unwrap();
    }
}
