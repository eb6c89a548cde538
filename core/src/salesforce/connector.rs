//! Salesforce as a [`Connector`]: sObject Collections for writes, SOQL by `SystemModstamp`
//! (through `queryAll`, so deletions come too) for reads, Bulk API 2.0 jobs for full
//! loads and write batches above the sync's thresholds, and Change Data Capture over
//! CometD for streaming (`streaming`).

use super::bulk::{self, query::Cursor as BulkCursor};
use super::client::{ClientConfig, ClientConfigError, SalesforceClient};
use super::soql::{self, SoqlValue};
use super::MAX_RECORDS;
use crate::config::OAuthSecret;
use crate::connector::{
    CallError, Change, ChangePage, Connector, Endpoint, ObjectDescribe, Options, ReadFrom, Record,
    SaveResult, StreamEnd, StreamMessage, Write,
};
use crate::retry::{ApiUsage, Class, Operation};
use crate::timestamp::Timestamp;
use serde_json::Value;

/// A Salesforce client for the org `endpoint` names (also what `remote_query` uses, which
/// speaks SOQL rather than the connector interface).
pub fn client(
    endpoint: &Endpoint,
    secret: OAuthSecret,
    options: Options,
) -> Result<SalesforceClient, ClientConfigError> {
    SalesforceClient::new(ClientConfig {
        instance_url: endpoint.instance_url.clone(),
        login_url: endpoint.login_url.clone(),
        api_version: endpoint.api_version.clone(),
        secret,
        timeouts: options.timeouts,
        parallelism: options.parallelism,
        client_name: options.client_name,
        network: options.network,
    })
}

impl Connector for SalesforceClient {
    fn sign_in(&self) -> Result<(), CallError> {
        SalesforceClient::sign_in(self)
    }

    fn describe(&self, object: &str) -> Result<ObjectDescribe, CallError> {
        SalesforceClient::describe(self, object)
    }

    fn max_batch(&self) -> usize {
        MAX_RECORDS
    }

    fn write(&self, object: &str, batch: Write<'_>) -> Result<Vec<SaveResult>, CallError> {
        match batch {
            Write::Create(records) => self.create(object, records),
            Write::Update(records) => {
                let records: Vec<Record> = records
                    .iter()
                    .map(|(id, fields)| {
                        let mut record = fields.clone();
                        record.insert("Id".into(), Value::String(id.clone()));
                        record
                    })
                    .collect();
                self.update(object, &records)
            }
            Write::Upsert {
                external_id,
                records,
            } => self.upsert(object, external_id, records),
            Write::Delete(ids) => self.delete(ids),
        }
    }

    fn retrieve(
        &self,
        object: &str,
        ids: &[&str],
        fields: &[&str],
    ) -> Result<Vec<Option<Record>>, CallError> {
        SalesforceClient::retrieve(self, object, ids, fields)
    }

    fn read(
        &self,
        object: &str,
        fields: &[&str],
        from: &ReadFrom,
    ) -> Result<ChangePage, CallError> {
        let refused = |e: soql::SoqlError| {
            CallError::refused(Operation::Read, "MALFORMED_QUERY", e.to_string())
        };
        let page = match from {
            ReadFrom::Everything => self.query(&soql::full_load(object, fields).map_err(refused)?),
            ReadFrom::ChangedSince { since, .. } => {
                self.query_all(&soql::incremental_pull(object, fields, *since).map_err(refused)?)
            }
            ReadFrom::More(text) => match BulkCursor::parse(text) {
                Some(cursor) => return self.bulk_load_page(object, fields, cursor),
                None => self.query_more(text),
            },
        }?;
        Ok(ChangePage {
            changes: page.records.into_iter().filter_map(change).collect(),
            more: page.next_records_url.filter(|_| !page.done),
            resume: None,
            total: Some(page.total_size),
        })
    }

    fn read_everything(
        &self,
        object: &str,
        fields: &[&str],
        bulk_above: u64,
    ) -> Result<ChangePage, CallError> {
        if bulk_above > 0 {
            let refused = |e: soql::SoqlError| {
                CallError::refused(Operation::Read, "MALFORMED_QUERY", e.to_string())
            };
            let count = self
                .query(&soql::count(object).map_err(refused)?)?
                .total_size;
            if count > bulk_above {
                // Refused (no Bulk API access, say): the REST pages serve all the same.
                match self.start_bulk_load(object, fields, Some(count)) {
                    Err(e) if e.class() == Class::Permanent => {}
                    started => return started,
                }
            }
        }
        self.read(object, fields, &ReadFrom::Everything)
    }

    fn bulk_batch(&self) -> Option<usize> {
        Some(bulk::ingest::MAX_RECORDS)
    }

    fn open_bulk_write(&self, object: &str, batch: Write<'_>) -> Result<String, CallError> {
        self.open_ingest(object, batch)
    }

    fn finish_bulk_write(
        &self,
        _object: &str,
        job: &str,
        batch: Write<'_>,
    ) -> Result<Vec<SaveResult>, CallError> {
        self.finish_ingest(job, batch)
    }

    fn finish_bulk_writes(&self, object: &str) -> Result<(), CallError> {
        self.finish_ingest_jobs(object)
    }

    fn changes_of(
        &self,
        object: &str,
        ids: &[String],
        fields: &[&str],
    ) -> Result<Vec<Change>, CallError> {
        let records = SalesforceClient::retrieve(self, object, ids, fields)?;
        Ok(ids
            .iter()
            .zip(records)
            .map(|(id, record)| {
                match record.and_then(|mut record| {
                    if !record.contains_key("Id") {
                        record.insert("Id".into(), Value::String(id.clone()));
                    }
                    change(record)
                }) {
                    Some(change) => change,
                    None => Change {
                        id: id.clone(),
                        modified: None,
                        deleted: true,
                        record: Record::new(),
                    },
                }
            })
            .collect())
    }

    fn streams(&self) -> bool {
        true
    }

    fn subscribe(
        &self,
        object: &str,
        from: Option<i64>,
        sink: &mut dyn FnMut(StreamMessage) -> bool,
    ) -> StreamEnd {
        self.stream(object, from, sink)
    }

    fn find(&self, object: &str, key: &[(String, Value)]) -> Result<Vec<String>, CallError> {
        let refused = |e: soql::SoqlError| {
            CallError::refused(Operation::Read, "MALFORMED_QUERY", e.to_string())
        };
        let values = key
            .iter()
            .map(|(field, value)| SoqlValue::from_json(value).map(|v| (field.as_str(), v)))
            .collect::<Result<Vec<_>, _>>()
            .map_err(refused)?;
        let query = soql::natural_key_lookup(object, &values, None).map_err(refused)?;
        Ok(self
            .query_records(&query)?
            .iter()
            .filter_map(|r| r.get("Id").and_then(Value::as_str).map(str::to_string))
            .collect())
    }

    fn api_usage(&self) -> Option<ApiUsage> {
        SalesforceClient::api_usage(self)
    }

    fn api_calls(&self) -> u64 {
        SalesforceClient::api_calls(self)
    }
}

/// A queried record as a change: its `Id`, `SystemModstamp` and `IsDeleted`, without the
/// `attributes` Salesforce adds.
pub(crate) fn change(mut record: Record) -> Option<Change> {
    record.shift_remove("attributes");
    let id = record.get("Id")?.as_str()?.to_string();
    let modified = record
        .get("SystemModstamp")
        .and_then(Value::as_str)
        .and_then(Timestamp::parse);
    let deleted = record.get("IsDeleted") == Some(&Value::Bool(true));
    Some(Change {
        id,
        modified,
        deleted,
        record,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_queried_record_becomes_a_change_without_its_attributes() {
        let record = json!({
            "attributes": {"type": "Account"}, "Id": "001000000000001AAA",
            "SystemModstamp": "2026-01-02T03:04:05.000+0000", "IsDeleted": true, "Name": "Acme"
        });
        let change = change(record.as_object().unwrap().clone()).unwrap();
        assert_eq!(change.id, "001000000000001AAA");
        assert!(change.deleted);
        assert_eq!(
            change.modified,
            Timestamp::parse("2026-01-02T03:04:05.000+0000")
        );
        assert!(!change.record.contains_key("attributes"));
        assert_eq!(change.record["Name"], "Acme");
    }

    #[test]
    fn a_record_without_an_id_is_no_change() {
        assert!(change(json!({"Name": "x"}).as_object().unwrap().clone()).is_none());
    }
}
