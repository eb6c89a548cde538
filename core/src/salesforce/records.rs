//! sObject Collections: create, update, upsert, delete and retrieve up to 200 records in
//! one call, each record succeeding or failing on its own (`allOrNone: false`).
//!
//! One bad row must not hold back the other 199, so per-record errors come back in the
//! results, in input order, for the caller to classify with [`RecordError::failure`].

use super::client::{checked_name, Request, SalesforceClient};
use super::soql::field_path;
use crate::connector::error::CallError;
pub use crate::connector::{Record, SaveResult};
use crate::retry::Operation;
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

/// Most records one create, update, upsert or delete call may carry.
pub const MAX_RECORDS: usize = 200;

/// Most ids one retrieve call may carry.
pub const MAX_RETRIEVE_IDS: usize = 2000;

/// An upsert's outcome: a [`SaveResult`] whose `created` is set.
pub type UpsertResult = SaveResult;

/// A record serialised with `attributes.type` first, as Collections require.
struct Typed<'a> {
    object: &'a str,
    record: &'a Record,
}

impl Serialize for Typed<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("attributes", &serde_json::json!({ "type": self.object }))?;
        for (key, value) in self.record {
            if key != "attributes" {
                map.serialize_entry(key, value)?;
            }
        }
        map.end()
    }
}

/// The body of a create, update or upsert call.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Collection<'a> {
    all_or_none: bool,
    records: Vec<Typed<'a>>,
}

impl<'a> Collection<'a> {
    fn of(object: &'a str, records: &'a [Record]) -> Self {
        Collection {
            all_or_none: false,
            records: records
                .iter()
                .map(|record| Typed { object, record })
                .collect(),
        }
    }
}

/// The body of a retrieve call.
#[derive(Serialize)]
struct Retrieve<'a> {
    ids: Vec<&'a str>,
    fields: &'a [&'a str],
}

impl SalesforceClient {
    /// Creates records of `object` (POST /composite/sobjects). Not idempotent: if the
    /// call fails with [`crate::retry::Class::UnknownOutcome`], look the records up
    /// before creating them again; prefer [`SalesforceClient::upsert`].
    pub fn create(&self, object: &str, records: &[Record]) -> Result<Vec<SaveResult>, CallError> {
        let op = Operation::Create;
        checked_batch(op, records.len(), MAX_RECORDS)?;
        let object = checked_name(op, object)?;
        if records.is_empty() {
            return Ok(Vec::new());
        }
        let request = Request::json(
            "POST",
            "composite/sobjects",
            &Collection::of(object, records),
        );
        self.results(op, &request, records.len())
    }

    /// Updates records of `object` by their `Id` field (PATCH /composite/sobjects);
    /// fields absent from a record are left unchanged, JSON `null` clears a field.
    pub fn update(&self, object: &str, records: &[Record]) -> Result<Vec<SaveResult>, CallError> {
        let op = Operation::Update;
        checked_batch(op, records.len(), MAX_RECORDS)?;
        let object = checked_name(op, object)?;
        if let Some(position) = records.iter().position(|r| !has_id(r)) {
            return Err(CallError::refused(
                op,
                "MISSING_ARGUMENT",
                format!("record {position} of the update has no Id; an update needs each record's Salesforce Id"),
            ));
        }
        if records.is_empty() {
            return Ok(Vec::new());
        }
        let request = Request::json(
            "PATCH",
            "composite/sobjects",
            &Collection::of(object, records),
        );
        self.results(op, &request, records.len())
    }

    /// Inserts or updates records of `object` matched by `external_id_field`
    /// (PATCH /composite/sobjects/{object}/{field}); each record must carry that field.
    /// Idempotent, so a failed call is safe to resend.
    pub fn upsert(
        &self,
        object: &str,
        external_id_field: &str,
        records: &[Record],
    ) -> Result<Vec<UpsertResult>, CallError> {
        let op = Operation::Upsert;
        checked_batch(op, records.len(), MAX_RECORDS)?;
        let object = checked_name(op, object)?;
        let field = checked_name(op, external_id_field)?;
        if records.is_empty() {
            return Ok(Vec::new());
        }
        let path = format!("composite/sobjects/{object}/{field}");
        let request = Request::json("PATCH", path, &Collection::of(object, records));
        self.results(op, &request, records.len())
    }

    /// Deletes records by id (DELETE /composite/sobjects?ids=…&allOrNone=false). An id
    /// that is already gone comes back as a failed result whose error classifies as
    /// [`crate::retry::Class::Gone`].
    pub fn delete<S: AsRef<str>>(&self, ids: &[S]) -> Result<Vec<SaveResult>, CallError> {
        let op = Operation::Delete;
        checked_batch(op, ids.len(), MAX_RECORDS)?;
        let ids = record_ids(op, ids)?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let request = Request::new("DELETE", "composite/sobjects")
            .param("ids", ids.join(","))
            .param("allOrNone", "false");
        self.results(op, &request, ids.len())
    }

    /// Reads `fields` of records by id (POST /composite/sobjects/{object}); `None` in the
    /// position of an id that does not exist or is deleted.
    pub fn retrieve<S: AsRef<str>>(
        &self,
        object: &str,
        ids: &[S],
        fields: &[&str],
    ) -> Result<Vec<Option<Record>>, CallError> {
        let op = Operation::Read;
        checked_batch(op, ids.len(), MAX_RETRIEVE_IDS)?;
        let object = checked_name(op, object)?;
        let ids = record_ids(op, ids)?;
        for field in fields {
            field_path(field)
                .map_err(|e| CallError::refused(op, "INVALID_FIELD", e.to_string()))?;
        }
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let body = Retrieve {
            ids: ids.clone(),
            fields,
        };
        let request = Request::json("POST", format!("composite/sobjects/{object}"), &body);
        let mut records: Vec<Option<Record>> = self.call(op, &request)?;
        for record in records.iter_mut().flatten() {
            record.shift_remove("attributes");
        }
        same_length(op, records.len(), ids.len())?;
        Ok(records)
    }

    /// Sends a collections call and checks there is one result per record.
    fn results(
        &self,
        op: Operation,
        request: &Request,
        expected: usize,
    ) -> Result<Vec<SaveResult>, CallError> {
        let results: Vec<SaveResult> = self.call(op, request)?;
        same_length(op, results.len(), expected)?;
        Ok(results)
    }
}

fn same_length(op: Operation, got: usize, expected: usize) -> Result<(), CallError> {
    if got == expected {
        Ok(())
    } else {
        Err(CallError::unreadable(
            op,
            200,
            &format!("{got} results for {expected} records"),
        ))
    }
}

/// Refuses batches Salesforce would refuse with `EXCEEDED_ID_LIMIT`.
fn checked_batch(op: Operation, len: usize, max: usize) -> Result<(), CallError> {
    if len <= max {
        Ok(())
    } else {
        Err(CallError::refused(
            op,
            "EXCEEDED_ID_LIMIT",
            format!("{len} records in one call, Salesforce accepts at most {max}; split the batch"),
        ))
    }
}

/// Salesforce ids (15 or 18 letters and digits), so none can smuggle a `,` into `ids=`.
fn record_ids<S: AsRef<str>>(op: Operation, ids: &[S]) -> Result<Vec<&str>, CallError> {
    ids.iter()
        .map(|id| {
            let id = id.as_ref();
            let valid =
                matches!(id.len(), 15 | 18) && id.bytes().all(|b| b.is_ascii_alphanumeric());
            if valid {
                Ok(id)
            } else {
                Err(CallError::refused(
                    op,
                    "MALFORMED_ID",
                    format!("{id:?} is not a Salesforce id (15 or 18 letters and digits)"),
                ))
            }
        })
        .collect()
}

/// Whether a record carries a non-empty `Id` (Salesforce field names ignore case).
fn has_id(record: &Record) -> bool {
    record.iter().any(|(key, value)| {
        key.eq_ignore_ascii_case("id") && value.as_str().is_some_and(|v| !v.is_empty())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::retry::{classify, Class};
    use serde_json::{json, Value};

    fn record(value: Value) -> Record {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn bodies_carry_the_type_first_and_all_or_none_false() {
        let records = [record(
            json!({"Name": "A", "attributes": {"type": "Wrong"}, "AnnualRevenue": 1.5}),
        )];
        let body = serde_json::to_string(&Collection::of("Account", &records)).unwrap();
        assert_eq!(
            body,
            r#"{"allOrNone":false,"records":[{"attributes":{"type":"Account"},"Name":"A","AnnualRevenue":1.5}]}"#
        );
    }

    #[test]
    fn reads_save_results_with_every_error_shape() {
        let json = r#"[
            {"id":"001xx000003DGb2AAG","success":true,"errors":[]},
            {"success":false,"errors":[{"statusCode":"REQUIRED_FIELD_MISSING","message":"Required fields are missing: [Name]","fields":["Name"]}]},
            {"id":null,"success":false,"errors":[{"statusCode":"ALL_OR_NONE_OPERATION_ROLLED_BACK","message":"Record rolled back","fields":[]}]},
            {"id":"001xx000003DGb3AAG","success":true,"errors":[],"created":false},
            {"success":false,"created":true,"errors":[{"statusCode":"UNABLE_TO_LOCK_ROW","message":"unable to obtain exclusive access"}]},
            {"id":"001xx000003DGb4AAG","success":false,"errors":[{"statusCode":"ENTITY_IS_DELETED","message":"entity is deleted","fields":null}]}
        ]"#;
        let results: Vec<SaveResult> = serde_json::from_str(json).unwrap();
        assert_eq!(results[0].id.as_deref(), Some("001xx000003DGb2AAG"));
        assert_eq!(results[0].created, None);
        let class = |i: usize, op| classify(&results[i].errors[0].failure(op));
        assert_eq!(results[1].errors[0].fields, vec!["Name"]);
        assert_eq!(class(1, Operation::Create), Class::Permanent);
        assert_eq!(class(2, Operation::Create), Class::Retryable);
        assert_eq!(results[3].created, Some(false));
        assert_eq!(class(4, Operation::Upsert), Class::Retryable);
        assert!(results[5].errors[0].fields.is_empty());
        assert_eq!(class(5, Operation::Delete), Class::Gone);
    }

    #[test]
    fn refuses_oversized_batches_and_unsafe_names_before_sending() {
        let err = checked_batch(Operation::Create, 201, MAX_RECORDS).unwrap_err();
        assert_eq!(classify(&err.failure), Class::Permanent);
        assert!(err.to_string().contains("at most 200"));
        assert!(checked_batch(Operation::Create, 200, MAX_RECORDS).is_ok());
        assert!(checked_name(Operation::Upsert, "Account/../limits").is_err());
        assert!(record_ids(
            Operation::Delete,
            &["001xx000003DGb2AAG,001xx000003DGb3AAG"]
        )
        .is_err());
        assert!(record_ids(Operation::Delete, &["001xx000003DGb2"]).is_ok());
        assert!(has_id(&record(json!({"id": "001xx000003DGb2AAG"}))));
        assert!(!has_id(&record(json!({"Id": ""}))));
        assert!(!has_id(&record(json!({"Name": "x"}))));
    }

    #[test]
    fn reads_java_doubles_exactly() {
        let results: Vec<Option<Record>> = serde_json::from_str(
            r#"[{"attributes":{"type":"Account"},"AnnualRevenue":1.5E7,"Big":12345678901234567890.12},null]"#,
        )
        .unwrap();
        let account = results[0].as_ref().unwrap();
        let revenue = account["AnnualRevenue"].as_number().unwrap();
        // serde_json normalises the notation (1.5e+7) but keeps the digits: no f64 round trip.
        assert!(revenue.to_string().eq_ignore_ascii_case("1.5e+7"));
        assert_eq!(super::super::number::plain_decimal(revenue), "15000000");
        assert_eq!(
            account["Big"].as_number().unwrap().to_string(),
            "12345678901234567890.12"
        );
        assert!(results[1].is_none());
    }
}
