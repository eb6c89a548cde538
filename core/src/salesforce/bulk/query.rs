//! A full load through a Bulk API 2.0 query job, read as ordinary change pages.
//!
//! The first page starts the job and carries no records; every later page is one
//! results call of [`MAX_RECORDS`] records. Where the read continues — the job's id, the
//! `Sforce-Locator` of the next results page and the columns' kinds — is the page's
//! `more` cursor, which the engine stores in the transaction that applied the page. A
//! restarted worker therefore asks for the same job's next page: it never starts over
//! and never skips. A job that failed, was aborted or has expired (Salesforce deletes
//! jobs after 7 days) is started again; applying a record twice changes nothing.

use super::csv::{Kind, Table};
use super::{JobKind, JobState, PATIENCE};
use crate::connector::{CallError, Change, ChangePage, ObjectDescribe};
use crate::retry::Operation;
use crate::salesforce::client::{Request, SalesforceClient};
use crate::salesforce::soql;
use std::collections::HashMap;

/// Records per results call (`maxRecords`): a 1,000,000-record load is 20 calls.
pub const MAX_RECORDS: u32 = 50_000;

/// Marks a stored cursor as a Bulk query's (REST locators are `/services/…` paths).
const PREFIX: &str = "bulk-query";

/// Where a Bulk full load continues, as stored between pages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub job: String,
    /// The next results page's `Sforce-Locator`; `None` before the first.
    pub locator: Option<String>,
    /// How each column's text becomes JSON.
    pub kinds: Vec<(String, Kind)>,
}

impl Cursor {
    /// `bulk-query:<job>:<Name=s,Amount=n,…>:<locator>`.
    pub fn encode(&self) -> String {
        let kinds: Vec<String> = self
            .kinds
            .iter()
            .map(|(name, kind)| format!("{name}={}", kind.letter()))
            .collect();
        format!(
            "{PREFIX}:{}:{}:{}",
            self.job,
            kinds.join(","),
            self.locator.as_deref().unwrap_or_default()
        )
    }

    /// A stored cursor, if it is a Bulk query's.
    pub fn parse(text: &str) -> Option<Cursor> {
        let mut parts = text.splitn(4, ':');
        if parts.next()? != PREFIX {
            return None;
        }
        let job = parts.next()?.to_string();
        let kinds = parts
            .next()?
            .split(',')
            .filter(|k| !k.is_empty())
            .filter_map(|k| k.split_once('='))
            .map(|(name, letter)| {
                let kind = Kind::from_letter(letter.chars().next().unwrap_or('s'));
                (name.to_string(), kind)
            })
            .collect();
        let locator = Some(parts.next()?.to_string()).filter(|l| !l.is_empty());
        Some(Cursor {
            job,
            locator,
            kinds,
        })
    }
}

/// The kinds of the columns a full load of `fields` selects.
fn kinds(describe: &ObjectDescribe, soql_fields: &[&str]) -> Vec<(String, Kind)> {
    soql_fields
        .iter()
        .filter_map(|name| describe.field(name))
        .map(|f| (f.name.clone(), Kind::of(f.field_type)))
        .collect()
}

impl SalesforceClient {
    /// Starts a Bulk full load of `fields` of `object`: an empty page whose `more` is the
    /// new job's cursor and whose `total` is `count` (when known).
    pub fn start_bulk_load(
        &self,
        object: &str,
        fields: &[&str],
        count: Option<u64>,
    ) -> Result<ChangePage, CallError> {
        let refused = |e: soql::SoqlError| {
            CallError::refused(Operation::Read, "MALFORMED_QUERY", e.to_string())
        };
        let query = soql::full_load(object, fields).map_err(refused)?;
        let describe = self.describe(object)?;
        let mut selected = vec!["Id", "SystemModstamp"];
        selected.extend_from_slice(fields);
        let job = self.create_query_job(&query, false)?;
        let cursor = Cursor {
            job: job.id,
            locator: None,
            kinds: kinds(&describe, &selected),
        };
        Ok(ChangePage {
            changes: Vec::new(),
            more: Some(cursor.encode()),
            resume: None,
            total: count,
        })
    }

    /// The page a Bulk full load's cursor points at: the next results once the job is
    /// complete, an empty page with the same cursor while it still runs, or a new job's
    /// first page if this one failed or is gone.
    pub fn bulk_load_page(
        &self,
        object: &str,
        fields: &[&str],
        cursor: Cursor,
    ) -> Result<ChangePage, CallError> {
        let op = Operation::Read;
        if cursor.locator.is_none() {
            let info = match self.wait_for_job(op, JobKind::Query, &cursor.job, PATIENCE) {
                Err(e) if e.status == Some(404) => {
                    return self.start_bulk_load(object, fields, None)
                }
                other => other?,
            };
            match info.state {
                JobState::JobComplete => {}
                JobState::Failed | JobState::Aborted => {
                    return self.start_bulk_load(object, fields, None)
                }
                _ => {
                    return Ok(ChangePage {
                        more: Some(cursor.encode()),
                        ..ChangePage::default()
                    })
                }
            }
        }
        let mut request = Request::new("GET", format!("jobs/query/{}/results", cursor.job))
            .param("maxRecords", MAX_RECORDS.to_string());
        if let Some(locator) = &cursor.locator {
            request = request.param("locator", locator.clone());
        }
        let (body, locator) = match self.csv_call(op, request) {
            Err(e) if e.status == Some(404) => return self.start_bulk_load(object, fields, None),
            other => other?,
        };
        let table = Table::read(&body)
            .map_err(|e| CallError::unreadable(op, 200, &format!("Bulk query results: {e}")))?;
        let kinds: HashMap<String, Kind> = cursor.kinds.iter().cloned().collect();
        let changes: Vec<Change> = table
            .records(&kinds)
            .into_iter()
            .filter_map(crate::salesforce::connector::change)
            .collect();
        let more = locator.filter(|l| !l.is_empty() && l != "null").map(|l| {
            Cursor {
                locator: Some(l),
                ..cursor
            }
            .encode()
        });
        Ok(ChangePage {
            changes,
            more,
            resume: None,
            total: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_survives_being_stored() {
        let cursor = Cursor {
            job: "750xx0000000002AAA".into(),
            locator: Some("MTAwMDA".into()),
            kinds: vec![
                ("Id".into(), Kind::Text),
                ("Amount".into(), Kind::Number),
                ("IsActive__c".into(), Kind::Boolean),
            ],
        };
        let text = cursor.encode();
        assert_eq!(
            text,
            "bulk-query:750xx0000000002AAA:Id=s,Amount=n,IsActive__c=b:MTAwMDA"
        );
        assert_eq!(Cursor::parse(&text), Some(cursor.clone()));
        let first = Cursor {
            locator: None,
            ..cursor
        };
        assert_eq!(Cursor::parse(&first.encode()), Some(first));
    }

    #[test]
    fn rest_locators_are_no_bulk_cursor() {
        assert_eq!(
            Cursor::parse("/services/data/v59.0/query/01gRO0000016PIAYA2-2000"),
            None
        );
        assert_eq!(Cursor::parse("bulk-query:750"), None);
    }
}
