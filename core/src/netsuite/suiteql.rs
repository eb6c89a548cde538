//! The SuiteQL the connector sends, built as text from checked parts: record types and
//! columns are validated names, values are literals with `'` doubled, times go through
//! `TO_TIMESTAMP`/`TO_CHAR` with one fixed format (raw date columns come back in the
//! user's date preference, without the time).
//!
//! Reads page by key, not by offset: every query orders by `(modified second, id)` — a
//! total order — and the next page starts strictly after the last row read. Offsets would
//! skip a record whenever one read earlier is modified while the pages are read (it moves
//! to the end and every later row shifts down one), and they stop at SuiteQL's 100,000-row
//! cap; a key never does either. `limit` stays ≤ 1000, `offset` 0.
//!
//! Times are rendered and read in UTC. NetSuite renders `TO_CHAR` in the user's time zone
//! (reference: UNVERIFIED); as the watermark goes out through the same `TO_TIMESTAMP` it
//! came in by, paging and watermarks stay exact in any zone, only `lastModifiedDate`
//! values would be shifted by the zone's offset.

use crate::connector::{FieldType, ObjectDescribe};
use crate::timestamp::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt::Write as _;

/// Most rows SuiteQL answers per page.
pub const PAGE_LIMIT: usize = 1000;

/// The one format of every time sent and read.
pub const TIME_FORMAT: &str = "YYYY-MM-DD HH24:MI:SS";

/// The alias of a row's modification second, the first half of the read order.
pub const MODIFIED: &str = "hs_modified";

/// The record types hubsync syncs, by SuiteQL table (= REST record type).
const RECORD_TYPES: &[&str] = &["customer", "contact"];

/// The SuiteQL table and REST record type of an object named in a config (`Customer`).
pub fn record_type(object: &str) -> Result<&'static str, String> {
    RECORD_TYPES
        .iter()
        .find(|t| t.eq_ignore_ascii_case(object.trim()))
        .copied()
        .ok_or_else(|| {
            format!("hubsync syncs NetSuite's customer and contact records, not {object:?}")
        })
}

/// The SuiteQL column of a REST field: its name in lower case, letters, digits and `_`.
pub fn column(field: &str) -> Result<String, String> {
    let name = field.trim().to_ascii_lowercase();
    let valid = name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if valid {
        Ok(name)
    } else {
        Err(format!("{field:?} is not a NetSuite field name"))
    }
}

/// A value as a SuiteQL literal: text quoted with `'` doubled, numbers as written,
/// booleans as NetSuite stores them (`'T'`/`'F'`); `null` has no literal (use `IS NULL`).
pub fn literal(value: &Value) -> Result<String, String> {
    match value {
        Value::String(text) if text.contains('\0') => {
            Err("a text value holds a NUL character, which SuiteQL cannot compare".into())
        }
        Value::String(text) => Ok(format!("'{}'", text.replace('\'', "''"))),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(if *b { "'T'" } else { "'F'" }.into()),
        Value::Null => Err("null has no SuiteQL literal".into()),
        other => Err(format!("{other} cannot be compared in SuiteQL")),
    }
}

/// `YYYY-MM-DD HH:MI:SS` of an instant (UTC, the second it falls in).
pub fn time_text(at: Timestamp) -> String {
    let iso = at.to_string(); // 2024-01-15T10:00:00.000Z
    format!("{} {}", &iso[..10], &iso[11..19])
}

/// `TO_TIMESTAMP('…', 'YYYY-MM-DD HH24:MI:SS')` of a time text as [`time_text`] writes it.
fn to_timestamp(text: &str) -> String {
    format!("TO_TIMESTAMP('{text}', '{TIME_FORMAT}')")
}

/// `TO_CHAR(col, 'YYYY-MM-DD HH24:MI:SS')`.
fn to_char(column: &str) -> String {
    format!("TO_CHAR({column}, '{TIME_FORMAT}')")
}

/// Reads a time text back (`None` if it is not one).
pub fn parse_time(text: &str) -> Option<Timestamp> {
    Timestamp::parse(text)
}

/// The last row of a page: where the next page starts, strictly after.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    /// Its modification (or deletion) second, as [`time_text`] writes it.
    pub second: String,
    /// Its internal id.
    pub id: u64,
}

impl Position {
    /// Checks a position read back from a stored locator before it goes into a query.
    pub fn checked(&self) -> Result<&Position, String> {
        if parse_time(&self.second).is_some() && self.second.len() == 19 {
            Ok(self)
        } else {
            Err(format!("{:?} is not a SuiteQL time", self.second))
        }
    }
}

/// One selected field: its REST name, the SuiteQL that reads it, and how to read the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    /// The field's REST name, as the record returned names it.
    pub field: String,
    /// The column (lower case), also the alias the row carries it under.
    pub alias: String,
    /// The select expression: the column, or `TO_CHAR` of a date.
    pub expr: String,
    /// How the row's text value is read back (booleans, numbers, datetimes).
    pub kind: FieldType,
}

/// The columns of `fields` (REST names, any case) as `describe` knows them; a field it
/// does not know is refused, as SuiteQL would refuse its column.
pub fn columns(describe: &ObjectDescribe, fields: &[&str]) -> Result<Vec<Column>, String> {
    let mut out: Vec<Column> = Vec::with_capacity(fields.len());
    for name in fields {
        let field = describe
            .field(name)
            .ok_or_else(|| format!("NetSuite's {} has no field {name:?}", describe.name))?;
        let alias = column(&field.name)?;
        if out.iter().any(|c| c.alias == alias) {
            continue;
        }
        let expr = match field.field_type {
            FieldType::Datetime => format!("{} AS {alias}", to_char(&alias)),
            FieldType::Date => format!("TO_CHAR({alias}, 'YYYY-MM-DD') AS {alias}"),
            _ => alias.clone(),
        };
        out.push(Column {
            field: field.name.clone(),
            alias,
            expr,
            kind: field.field_type,
        });
    }
    Ok(out)
}

/// `SELECT id, <second> AS hs_modified, <columns> FROM <table>`.
fn select(table: &str, columns: &[Column]) -> String {
    let mut sql = format!("SELECT id, {} AS {MODIFIED}", to_char("lastmodifieddate"));
    for c in columns.iter().filter(|c| c.alias != "id") {
        write!(sql, ", {}", c.expr).expect("string");
    }
    write!(sql, " FROM {table}").expect("string");
    sql
}

/// Conditions that start a page at `since` (inclusive) and strictly after `after`.
fn window(
    stamp: &str,
    id: &str,
    since: Option<Timestamp>,
    after: Option<&Position>,
) -> Vec<String> {
    let mut conditions = Vec::new();
    let floor = match (since.map(time_text), after) {
        (Some(s), Some(a)) => Some(s.max(a.second.clone())),
        (s, a) => s.or_else(|| a.map(|a| a.second.clone())),
    };
    if let Some(floor) = floor {
        conditions.push(format!("{stamp} >= {}", to_timestamp(&floor)));
    }
    if let Some(a) = after {
        let second = to_char(stamp);
        conditions.push(format!(
            "({second} > '{s}' OR ({second} = '{s}' AND {id} > {}))",
            a.id,
            s = a.second
        ));
    }
    conditions
}

fn where_clause(sql: &mut String, conditions: &[String]) {
    if !conditions.is_empty() {
        write!(sql, " WHERE {}", conditions.join(" AND ")).expect("string");
    }
}

/// One page of records modified at or after `since` (all of them without), after `after`,
/// in `(modified second, id)` order.
pub fn changes(
    table: &str,
    columns: &[Column],
    since: Option<Timestamp>,
    after: Option<&Position>,
) -> String {
    let mut sql = select(table, columns);
    where_clause(&mut sql, &window("lastmodifieddate", "id", since, after));
    write!(sql, " ORDER BY {MODIFIED}, id").expect("string");
    sql
}

/// One page of the records of `table` deleted at or after `since`, after `after`.
/// (`type` is compared in lower case: its spelling is UNVERIFIED.)
pub fn deletions(table: &str, since: Timestamp, after: Option<&Position>) -> String {
    let mut sql = format!(
        "SELECT recordid, {} AS {MODIFIED} FROM deletedrecord",
        to_char("deleteddate")
    );
    let mut conditions = vec![format!("LOWER(type) = '{table}'")];
    conditions.extend(window("deleteddate", "recordid", Some(since), after));
    where_clause(&mut sql, &conditions);
    write!(sql, " ORDER BY {MODIFIED}, recordid").expect("string");
    sql
}

/// The records with these internal ids (at most [`PAGE_LIMIT`]).
pub fn by_ids(table: &str, columns: &[Column], ids: &[u64]) -> String {
    let list: Vec<String> = ids.iter().map(u64::to_string).collect();
    let mut sql = select(table, columns);
    write!(sql, " WHERE id IN ({}) ORDER BY id", list.join(", ")).expect("string");
    sql
}

/// The ids of the records whose fields hold exactly these values (`null`: empty).
pub fn by_key(table: &str, key: &[(String, Value)]) -> Result<String, String> {
    if key.is_empty() {
        return Err("a natural-key lookup needs at least one key field".into());
    }
    let mut conditions = Vec::with_capacity(key.len());
    for (field, value) in key {
        let column = column(field)?;
        conditions.push(match value {
            Value::Null => format!("{column} IS NULL"),
            value => format!("{column} = {}", literal(value)?),
        });
    }
    Ok(format!(
        "SELECT id FROM {table} WHERE {} ORDER BY id",
        conditions.join(" AND ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connector::FieldDescribe;
    use serde_json::json;

    fn describe() -> ObjectDescribe {
        let field = |name: &str, kind: &str| -> FieldDescribe {
            serde_json::from_value(json!({"name": name, "type": kind})).unwrap()
        };
        ObjectDescribe {
            name: "customer".into(),
            key_prefix: None,
            createable: true,
            updateable: true,
            deletable: true,
            queryable: true,
            fields: vec![
                field("id", "id"),
                field("companyName", "string"),
                field("isPerson", "boolean"),
                field("lastModifiedDate", "datetime"),
                field("custentity_since", "date"),
                field("subsidiary", "string"),
            ],
        }
    }

    #[test]
    fn literals_are_escaped_and_typed() {
        assert_eq!(literal(&json!("O'Brien")).unwrap(), "'O''Brien'");
        assert_eq!(
            literal(&json!("x' OR '1'='1")).unwrap(),
            "'x'' OR ''1''=''1'"
        );
        assert_eq!(
            literal(&serde_json::from_str("12.50").unwrap()).unwrap(),
            "12.50"
        );
        assert_eq!(literal(&json!(true)).unwrap(), "'T'");
        assert!(literal(&json!(null)).is_err());
        assert!(literal(&json!(["a"])).is_err());
        assert!(literal(&json!("a\0b")).is_err());
        assert_eq!(column("companyName").unwrap(), "companyname");
        for bad in ["company name", "x;DROP", "1a", ""] {
            assert!(column(bad).is_err(), "{bad}");
        }
        assert_eq!(record_type("Customer").unwrap(), "customer");
        assert!(record_type("salesorder").is_err());
    }

    #[test]
    fn reads_order_totally_and_page_by_key() {
        let columns = columns(
            &describe(),
            &[
                "id",
                "CompanyName",
                "isPerson",
                "lastModifiedDate",
                "custentity_since",
                "subsidiary",
            ],
        )
        .unwrap();
        assert_eq!(columns[1].field, "companyName");
        let since = Timestamp::parse("2024-01-15T10:00:00.750Z").unwrap();
        assert_eq!(time_text(since), "2024-01-15 10:00:00");
        assert_eq!(
            changes("customer", &columns, None, None),
            "SELECT id, TO_CHAR(lastmodifieddate, 'YYYY-MM-DD HH24:MI:SS') AS hs_modified, \
             companyname, isperson, TO_CHAR(lastmodifieddate, 'YYYY-MM-DD HH24:MI:SS') AS lastmodifieddate, \
             TO_CHAR(custentity_since, 'YYYY-MM-DD') AS custentity_since, subsidiary \
             FROM customer ORDER BY hs_modified, id"
        );
        let after = Position {
            second: "2024-01-16 08:30:00".into(),
            id: 42,
        };
        assert_eq!(
            changes("customer", &columns[..2], Some(since), Some(&after)),
            "SELECT id, TO_CHAR(lastmodifieddate, 'YYYY-MM-DD HH24:MI:SS') AS hs_modified, companyname \
             FROM customer WHERE lastmodifieddate >= TO_TIMESTAMP('2024-01-16 08:30:00', 'YYYY-MM-DD HH24:MI:SS') \
             AND (TO_CHAR(lastmodifieddate, 'YYYY-MM-DD HH24:MI:SS') > '2024-01-16 08:30:00' \
             OR (TO_CHAR(lastmodifieddate, 'YYYY-MM-DD HH24:MI:SS') = '2024-01-16 08:30:00' AND id > 42)) \
             ORDER BY hs_modified, id"
        );
        assert_eq!(
            deletions("contact", since, None),
            "SELECT recordid, TO_CHAR(deleteddate, 'YYYY-MM-DD HH24:MI:SS') AS hs_modified FROM deletedrecord \
             WHERE LOWER(type) = 'contact' AND deleteddate >= TO_TIMESTAMP('2024-01-15 10:00:00', 'YYYY-MM-DD HH24:MI:SS') \
             ORDER BY hs_modified, recordid"
        );
        assert!(columns_err(&["nope"]).contains("no field"));
        assert!(Position {
            second: "x' OR 1=1 --".into(),
            id: 1
        }
        .checked()
        .is_err());
        assert!(after.checked().is_ok());
    }

    fn columns_err(fields: &[&str]) -> String {
        columns(&describe(), fields).unwrap_err()
    }

    #[test]
    fn lookups_escape_their_values() {
        assert_eq!(
            by_key(
                "customer",
                &[
                    ("email".into(), json!("o'hara@example.com")),
                    ("phone".into(), json!(null))
                ]
            )
            .unwrap(),
            "SELECT id FROM customer WHERE email = 'o''hara@example.com' AND phone IS NULL ORDER BY id"
        );
        assert!(by_key("customer", &[]).is_err());
        assert!(by_key("customer", &[("e mail".into(), json!("x"))]).is_err());
        let columns = columns(&describe(), &["companyName"]).unwrap();
        assert_eq!(
            by_ids("customer", &columns, &[7, 9]),
            "SELECT id, TO_CHAR(lastmodifieddate, 'YYYY-MM-DD HH24:MI:SS') AS hs_modified, companyname \
             FROM customer WHERE id IN (7, 9) ORDER BY id"
        );
    }
}
