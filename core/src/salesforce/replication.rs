//! The replication endpoints: which records changed or were deleted in a time window.
//!
//! Cheaper than a query when only ids are needed, and the only way (besides queryAll)
//! to learn of deletes. `latest_date_covered` is where the next window starts.

use super::client::{checked_name, Request, SalesforceClient};
use super::soql::datetime_literal;
use crate::connector::error::{null_as_default, CallError};
use crate::retry::Operation;
use crate::timestamp::Timestamp;
use serde::{Deserialize, Deserializer, Serialize};

/// Ids of records created or updated in a window (GET /sobjects/{T}/updated).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdatedResult {
    #[serde(default, deserialize_with = "null_as_default")]
    pub ids: Vec<String>,
    /// The window is complete up to here (≤ the requested end); start the next one here.
    #[serde(deserialize_with = "salesforce_time")]
    pub latest_date_covered: Timestamp,
}

/// Records deleted in a window (GET /sobjects/{T}/deleted).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeletedResult {
    #[serde(default, deserialize_with = "null_as_default")]
    pub deleted_records: Vec<DeletedRecord>,
    /// The oldest delete Salesforce still knows of; a window starting earlier may have
    /// missed deletes, so the sync must reconcile by other means (queryAll or a full load).
    #[serde(default, deserialize_with = "optional_salesforce_time")]
    pub earliest_date_available: Option<Timestamp>,
    #[serde(deserialize_with = "salesforce_time")]
    pub latest_date_covered: Timestamp,
}

/// One deleted record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeletedRecord {
    pub id: String,
    #[serde(deserialize_with = "salesforce_time")]
    pub deleted_date: Timestamp,
}

impl SalesforceClient {
    /// Ids of `object` records changed between `start` and `end` (Salesforce truncates
    /// both to the minute and allows 30 days back).
    pub fn updated(
        &self,
        object: &str,
        start: Timestamp,
        end: Timestamp,
    ) -> Result<UpdatedResult, CallError> {
        self.window(object, "updated", start, end)
    }

    /// `object` records deleted between `start` and `end` (15 days back at most).
    pub fn deleted(
        &self,
        object: &str,
        start: Timestamp,
        end: Timestamp,
    ) -> Result<DeletedResult, CallError> {
        self.window(object, "deleted", start, end)
    }

    fn window<T: serde::de::DeserializeOwned>(
        &self,
        object: &str,
        kind: &str,
        start: Timestamp,
        end: Timestamp,
    ) -> Result<T, CallError> {
        let op = Operation::Read;
        let refuse = |e: super::soql::SoqlError| {
            CallError::refused(op, "INVALID_REPLICATION_DATE", e.to_string())
        };
        let object = checked_name(op, object)?;
        let request = Request::new("GET", format!("sobjects/{object}/{kind}/"))
            .param("start", iso(start).map_err(refuse)?)
            .param("end", iso(end).map_err(refuse)?);
        self.call(op, &request)
    }
}

/// `2024-01-01T00:00:00+00:00`, the form the replication endpoints document.
fn iso(at: Timestamp) -> Result<String, super::soql::SoqlError> {
    let literal = datetime_literal(at)?;
    Ok(format!("{}+00:00", literal.trim_end_matches('Z')))
}

/// Reads a Salesforce datetime text (`2024-01-01T12:00:00.000+0000`).
fn salesforce_time<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Timestamp, D::Error> {
    let text = String::deserialize(deserializer)?;
    Timestamp::parse(&text)
        .ok_or_else(|| serde::de::Error::custom(format!("{text:?} is not a Salesforce datetime")))
}

fn optional_salesforce_time<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Timestamp>, D::Error> {
    match Option::<String>::deserialize(deserializer)? {
        None => Ok(None),
        Some(text) => Timestamp::parse(&text).map(Some).ok_or_else(|| {
            serde::de::Error::custom(format!("{text:?} is not a Salesforce datetime"))
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const JAN_2: i64 = 1_704_153_600_000; // 2024-01-02T00:00:00Z

    #[test]
    fn reads_updated_and_deleted_windows() {
        let updated: UpdatedResult = serde_json::from_value(json!({
            "ids": ["001xx000003DGb2AAG"], "latestDateCovered": "2024-01-02T00:00:00.000+0000"
        }))
        .unwrap();
        assert_eq!(updated.ids, vec!["001xx000003DGb2AAG"]);
        assert_eq!(updated.latest_date_covered, Timestamp::from_millis(JAN_2));

        let deleted: DeletedResult = serde_json::from_value(json!({
            "deletedRecords": [{"id": "a00D0000008pQRAIA2", "deletedDate": "2013-05-07T22:07:19.000+0000"}],
            "earliestDateAvailable": "2013-05-03T15:57:00.000+0000",
            "latestDateCovered": "2013-05-08T21:20:00.000+0000"
        }))
        .unwrap();
        assert_eq!(deleted.deleted_records[0].id, "a00D0000008pQRAIA2");
        assert_eq!(
            deleted.deleted_records[0].deleted_date.to_string(),
            "2013-05-07T22:07:19.000Z"
        );
        assert_eq!(
            deleted.earliest_date_available.unwrap().to_string(),
            "2013-05-03T15:57:00.000Z"
        );

        let empty: DeletedResult = serde_json::from_value(json!({
            "deletedRecords": [], "earliestDateAvailable": null, "latestDateCovered": "2013-05-08T21:20:00.000+0000"
        }))
        .unwrap();
        assert!(empty.deleted_records.is_empty() && empty.earliest_date_available.is_none());
        assert!(serde_json::from_value::<UpdatedResult>(
            json!({"ids": [], "latestDateCovered": "soon"})
        )
        .is_err());
    }

    #[test]
    fn formats_window_bounds_as_utc_offsets() {
        assert_eq!(
            iso(Timestamp::from_millis(JAN_2 + 1_500)).unwrap(),
            "2024-01-02T00:00:01+00:00"
        );
    }
}
