//! NetSuite as a [`Connector`]: single-record REST writes run side by side (NetSuite's
//! REST has no bulk create), SuiteQL reads by `lastmodifieddate` plus the deleted-record
//! table.
//!
//! - **Writes.** A batch of at most `parallelism` records is written by as many threads,
//!   one request per record, and every record gets its own outcome: one record's 429 or
//!   lost answer never hides its neighbours' new ids. Creates with an external id are
//!   upserts (`PUT …/eid:{externalId}`), so a resent create updates the record the lost
//!   answer created instead of duplicating it; plain creates answer 204 with the new id
//!   in `Location`. A delete of a record already gone counts as done.
//! - **Reads.** `Everything` pages through the records; `ChangedSince` pages through the
//!   records modified at or after the watermark, then through the deletions since it.
//!   Deletions carry no `modified`: the watermark follows the records only, so a deletion
//!   read before a record modified in the same moment cannot push the watermark past it
//!   (a deletion may be read twice; applying it again changes nothing). Pages follow one
//!   another by key (see [`suiteql`]); the locator is this module's own JSON.

use super::client::{ClientConfig, ClientConfigError, NetsuiteClient};
use super::describe::{Described, EXTERNAL_ID};
use super::suiteql::{self, Column, Position, MODIFIED};
use super::values;
use crate::config::NetsuiteSecret;
use crate::connector::error::RecordError;
use crate::connector::http::Body;
use crate::connector::{
    CallError, Change, ChangePage, Connector, Endpoint, ObjectDescribe, Options, ReadFrom, Record,
    SaveResult, Write,
};
use crate::retry::{ApiUsage, Class, Operation};
use crate::timestamp::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// A client for the account `endpoint` names.
pub(crate) fn client(
    endpoint: &Endpoint,
    secret: NetsuiteSecret,
    options: Options,
) -> Result<NetsuiteClient, ClientConfigError> {
    NetsuiteClient::new(ClientConfig {
        account_id: endpoint.account_id.clone(),
        instance_url: endpoint.instance_url.clone(),
        secret,
        timeouts: options.timeouts,
        parallelism: options.parallelism,
        network: options.network,
    })
}

/// Where the next page of a read starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Locator {
    /// Reading deletions (after the records of a `ChangedSince` read).
    #[serde(default)]
    deletions: bool,
    /// The read's watermark (epoch ms); `None` for a full load.
    since: Option<i64>,
    /// The last row read; the page starts strictly after it.
    after: Option<Position>,
    /// Rows read so far, for the total.
    seen: u64,
}

impl Locator {
    fn parse(text: &str) -> Result<Locator, CallError> {
        let refused = |why: String| {
            CallError::refused(
                Operation::Read,
                "INVALID_LOCATOR",
                format!("the stored page locator is not one the NetSuite connector wrote: {why}"),
            )
        };
        let locator: Locator = serde_json::from_str(text).map_err(|e| refused(e.to_string()))?;
        if let Some(after) = &locator.after {
            after.checked().map_err(refused)?;
        }
        if locator.deletions && locator.since.is_none() {
            return Err(refused("deletions without a watermark".into()));
        }
        Ok(locator)
    }

    fn since(&self) -> Option<Timestamp> {
        self.since.map(Timestamp::from_millis)
    }

    fn text(&self) -> String {
        serde_json::to_string(self).expect("locators serialise")
    }
}

/// A SuiteQL refusal hubsync makes itself, classified as NetSuite's would be.
fn refused(op: Operation) -> impl Fn(String) -> CallError {
    move |why| CallError::refused(op, "USER_ERROR", why)
}

impl NetsuiteClient {
    /// The record type and describe of a config's object.
    fn prepare(
        &self,
        object: &str,
        op: Operation,
    ) -> Result<(&'static str, std::sync::Arc<Described>), CallError> {
        let record_type = suiteql::record_type(object).map_err(refused(op))?;
        Ok((record_type, self.described(object, record_type)?))
    }

    /// Runs `each` for every index of a batch on up to `parallelism` threads; the answers
    /// come back in input order.
    fn side_by_side<T: Send>(&self, len: usize, each: impl Fn(usize) -> T + Sync) -> Vec<T> {
        let threads = self.parallelism().min(len);
        if threads <= 1 {
            return (0..len).map(each).collect();
        }
        let next = AtomicUsize::new(0);
        let answers: Mutex<Vec<Option<T>>> = Mutex::new((0..len).map(|_| None).collect());
        std::thread::scope(|scope| {
            for _ in 0..threads {
                scope.spawn(|| loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= len {
                        break;
                    }
                    let answer = each(i);
                    answers.lock().unwrap_or_else(|p| p.into_inner())[i] = Some(answer);
                });
            }
        });
        answers
            .into_inner()
            .unwrap_or_else(|p| p.into_inner())
            .into_iter()
            .map(|a| a.expect("every index was answered"))
            .collect()
    }

    /// One write request; a record's new or matched id comes from `Location`.
    fn write_one(
        &self,
        op: Operation,
        method: &str,
        path: &str,
        body: Option<&Map<String, Value>>,
    ) -> Result<Option<String>, CallError> {
        let url = self.url(path, &[]);
        let body = match body {
            Some(fields) => Body::Json(Value::Object(fields.clone()).to_string()),
            None => Body::Empty,
        };
        let reply = self.execute(op, method, &url, &[], &body)?;
        match (
            op,
            reply.location.as_deref().and_then(values::id_from_location),
        ) {
            (Operation::Create | Operation::Upsert, None) => Err(CallError::unreadable(
                op,
                reply.status,
                "no record id in its Location header",
            )),
            (_, id) => Ok(id),
        }
    }

    /// The external id of an upserted record, as it goes into `eid:` (letters, digits,
    /// `_`, `-` and `.`: NetSuite cannot parse others in a URL).
    fn external_id(record: &Record, field: &str) -> Result<String, CallError> {
        let refused = refused(Operation::Upsert);
        if !field.eq_ignore_ascii_case(EXTERNAL_ID) {
            return Err(refused(format!(
                "NetSuite upserts match on externalId only, not {field}; map the hub's key to externalId"
            )));
        }
        let value = match record.iter().find(|(k, _)| k.eq_ignore_ascii_case(field)) {
            Some((_, Value::String(s))) => s.clone(),
            Some((_, Value::Number(n))) => n.to_string(),
            _ => return Err(refused("the record has no externalId to upsert by".into())),
        };
        let fits = !value.is_empty()
            && value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
        if fits {
            Ok(value)
        } else {
            Err(refused(format!(
                "the externalId {value:?} holds characters NetSuite cannot take in a URL; use letters, digits, _, - and ."
            )))
        }
    }

    fn changes_page(
        &self,
        record_type: &str,
        columns: &[Column],
        locator: Locator,
    ) -> Result<ChangePage, CallError> {
        let since = locator.since();
        let query = if locator.deletions {
            let since = since.expect("checked by Locator::parse");
            suiteql::deletions(record_type, since, locator.after.as_ref())
        } else {
            suiteql::changes(record_type, columns, since, locator.after.as_ref())
        };
        let page = self.suiteql(&query)?;
        let id_column = if locator.deletions { "recordid" } else { "id" };
        let mut changes = Vec::with_capacity(page.items.len());
        let mut last = None;
        for row in &page.items {
            let Some(id) = values::text_of(row.get(id_column))
                .as_str()
                .map(str::to_string)
            else {
                continue;
            };
            let second = row.get(MODIFIED).and_then(Value::as_str);
            if let (Some(second), Ok(numeric)) = (second, id.parse::<u64>()) {
                last = Some(Position {
                    second: second.to_string(),
                    id: numeric,
                });
            }
            changes.push(if locator.deletions {
                let mut record = Record::new();
                record.insert("id".into(), Value::String(id.clone()));
                Change {
                    id,
                    modified: None,
                    deleted: true,
                    record,
                }
            } else {
                Change {
                    id,
                    modified: second.and_then(suiteql::parse_time),
                    deleted: false,
                    record: values::from_row(row, columns),
                }
            });
        }
        let seen = locator.seen + changes.len() as u64;
        let total = page.total_results.map(|t| locator.seen + t);
        let next = if page.has_more {
            let after = last
                .filter(|p| p.checked().is_ok())
                .ok_or_else(|| {
                    CallError::unreadable(
                        Operation::Read,
                        200,
                        "a SuiteQL page said hasMore but its last row has no id and time to continue after",
                    )
                })?;
            Some(Locator {
                after: Some(after),
                seen,
                ..locator
            })
        } else if !locator.deletions && locator.since.is_some() {
            Some(Locator {
                deletions: true,
                after: None,
                seen,
                ..locator
            })
        } else {
            None
        };
        Ok(ChangePage {
            changes,
            more: next.map(|l| l.text()),
            resume: None,
            total,
        })
    }
}

impl Connector for NetsuiteClient {
    fn sign_in(&self) -> Result<(), CallError> {
        // The cheapest authenticated call: it proves TBA secrets and buys an M2M token.
        self.suiteql("SELECT id FROM customer WHERE id = 0")
            .map(drop)
    }

    fn describe(&self, object: &str) -> Result<ObjectDescribe, CallError> {
        let record_type = suiteql::record_type(object).map_err(refused(Operation::Read))?;
        Ok(self.describe_fresh(object, record_type)?.describe.clone())
    }

    fn max_batch(&self) -> usize {
        self.parallelism()
    }

    fn write(&self, object: &str, batch: Write<'_>) -> Result<Vec<SaveResult>, CallError> {
        let op = match batch {
            Write::Create(_) => Operation::Create,
            Write::Update(_) => Operation::Update,
            Write::Upsert { .. } => Operation::Upsert,
            Write::Delete(_) => Operation::Delete,
        };
        if batch.is_empty() {
            return Ok(Vec::new());
        }
        let (record_type, described) = self.prepare(object, op)?;
        let body = |record: &Record| values::to_body(&described, record);
        let id_path = |id: &str| -> Result<String, CallError> {
            if !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) {
                Ok(format!("record/v1/{record_type}/{id}"))
            } else {
                Err(refused(op)(format!("{id:?} is not a NetSuite internal id")))
            }
        };
        let outcome = |i: usize| -> Result<Option<String>, CallError> {
            match batch {
                Write::Create(records) => self.write_one(
                    op,
                    "POST",
                    &format!("record/v1/{record_type}"),
                    Some(&body(&records[i])),
                ),
                Write::Upsert {
                    external_id,
                    records,
                } => {
                    let key = Self::external_id(&records[i], external_id)?;
                    let mut fields = body(&records[i]);
                    fields.shift_remove(EXTERNAL_ID);
                    self.write_one(
                        op,
                        "PUT",
                        &format!("record/v1/{record_type}/eid:{key}"),
                        Some(&fields),
                    )
                }
                Write::Update(records) => {
                    let (id, fields) = &records[i];
                    self.write_one(op, "PATCH", &id_path(id)?, Some(&body(fields)))
                        .map(|_| Some(id.clone()))
                }
                Write::Delete(ids) => self
                    .write_one(op, "DELETE", &id_path(&ids[i])?, None)
                    .map(|_| Some(ids[i].clone())),
            }
        };
        let outcomes = self.side_by_side(batch.len(), outcome);
        Ok(outcomes
            .into_iter()
            .map(|outcome| match outcome {
                Ok(id) => SaveResult::done(id),
                Err(error) if op == Operation::Delete && error.class() == Class::Gone => {
                    SaveResult::done(None)
                }
                Err(error) => SaveResult::failed(vec![RecordError::from_call(&error)]),
            })
            .collect())
    }

    fn retrieve(
        &self,
        object: &str,
        ids: &[&str],
        fields: &[&str],
    ) -> Result<Vec<Option<Record>>, CallError> {
        let (record_type, described) = self.prepare(object, Operation::Read)?;
        let columns =
            suiteql::columns(&described.describe, fields).map_err(refused(Operation::Read))?;
        let numeric: Vec<u64> = ids.iter().filter_map(|id| id.parse().ok()).collect();
        let mut found: Vec<Record> = Vec::with_capacity(numeric.len());
        for chunk in numeric.chunks(suiteql::PAGE_LIMIT) {
            let page = self.suiteql(&suiteql::by_ids(record_type, &columns, chunk))?;
            found.extend(page.items.iter().map(|row| values::from_row(row, &columns)));
        }
        Ok(ids
            .iter()
            .map(|id| {
                found
                    .iter()
                    .find(|r| r.get("id").and_then(Value::as_str) == Some(*id))
                    .cloned()
            })
            .collect())
    }

    fn read(
        &self,
        object: &str,
        fields: &[&str],
        from: &ReadFrom,
    ) -> Result<ChangePage, CallError> {
        let (record_type, described) = self.prepare(object, Operation::Read)?;
        let columns =
            suiteql::columns(&described.describe, fields).map_err(refused(Operation::Read))?;
        let locator = match from {
            ReadFrom::Everything => Locator {
                deletions: false,
                since: None,
                after: None,
                seen: 0,
            },
            ReadFrom::ChangedSince { since, .. } => Locator {
                deletions: false,
                since: Some(since.millis()),
                after: None,
                seen: 0,
            },
            ReadFrom::More(text) => Locator::parse(text)?,
        };
        self.changes_page(record_type, &columns, locator)
    }

    fn find(&self, object: &str, key: &[(String, Value)]) -> Result<Vec<String>, CallError> {
        let record_type = suiteql::record_type(object).map_err(refused(Operation::Read))?;
        let query = suiteql::by_key(record_type, key).map_err(refused(Operation::Read))?;
        Ok(self
            .suiteql(&query)?
            .items
            .iter()
            .filter_map(|row| values::text_of(row.get("id")).as_str().map(str::to_string))
            .collect())
    }

    fn api_usage(&self) -> Option<ApiUsage> {
        // NetSuite reports no request budget: it governs concurrency (see client.rs).
        None
    }

    fn api_calls(&self) -> u64 {
        NetsuiteClient::api_calls(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locators_round_trip_and_refuse_tampering() {
        let locator = Locator {
            deletions: false,
            since: Some(1_705_312_800_000),
            after: Some(Position {
                second: "2024-01-15 10:00:00".into(),
                id: 42,
            }),
            seen: 1000,
        };
        assert_eq!(Locator::parse(&locator.text()).unwrap(), locator);
        for bad in [
            "not json",
            r#"{"since":null,"after":{"second":"x' OR 1=1","id":1},"seen":0}"#,
            r#"{"deletions":true,"since":null,"after":null,"seen":0}"#,
        ] {
            let e = Locator::parse(bad).unwrap_err();
            assert_eq!(e.class(), Class::Permanent, "{bad}");
        }
    }

    #[test]
    fn upserts_need_a_url_safe_external_id() {
        let record = |v: Value| -> Record {
            let mut r = Record::new();
            r.insert("externalId".into(), v);
            r
        };
        assert_eq!(
            NetsuiteClient::external_id(&record("hub-42_a.b".into()), "externalid").unwrap(),
            "hub-42_a.b"
        );
        assert_eq!(
            NetsuiteClient::external_id(&record(serde_json::json!(42)), "externalId").unwrap(),
            "42"
        );
        for (value, field) in [
            (Value::from("a|b"), "externalId"),
            (Value::from("a/b"), "externalId"),
            (Value::Null, "externalId"),
            (Value::from("ok"), "custentity_key"),
        ] {
            let e = NetsuiteClient::external_id(&record(value), field).unwrap_err();
            assert_eq!(e.class(), Class::Permanent);
        }
    }
}
