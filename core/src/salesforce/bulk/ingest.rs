//! A batch of writes through one Bulk API 2.0 ingest job, answered like an sObject
//! Collections call: one [`SaveResult`] per record, in input order.
//!
//! The job is created and its CSV uploaded ([`SalesforceClient::open_ingest`]); once the
//! caller has recorded the job's id durably, it is marked `UploadComplete` and waited for
//! on the calling HTTP thread ([`SalesforceClient::finish_ingest`]); its `successfulResults`, `failedResults` and
//! `unprocessedrecords` are matched back to the input rows. Salesforce does not keep
//! the input order, so rows are matched by what identifies them in the echoed columns:
//! the `Id` for updates and deletes, the External ID for upserts, and the whole row for
//! inserts (identical rows are interchangeable, so any pairing of them is right). A row
//! no result accounts for gets an unknown outcome: an insert is then looked up by its
//! natural key before it is sent again, anything else is resent (it is idempotent).
//! A failure before `UploadComplete` aborts the job, so nothing of it is ever applied.
//! Jobs whose id was never recorded (a crash between creating and recording) are found in
//! the org's job list ([`SalesforceClient::finish_ingest_jobs`]).

use super::csv::{self, Table};
use super::{JobInfo, JobKind, JobState};
use crate::connector::error::CallError;
use crate::connector::{Record, RecordError, SaveResult, Write};
use crate::retry::{Failure, Operation, TransportError};
use crate::salesforce::client::{checked_name, Request, SalesforceClient};
use serde_json::{json, Value};
use std::collections::{HashMap, VecDeque};
use std::time::Duration;

/// Records per ingest job: Salesforce counts an upload in batches of 10,000 against the
/// daily allocation, so larger jobs save no allocation and hold more rows in doubt.
pub const MAX_RECORDS: usize = 10_000;

/// How long a push waits for its job before its outcome counts as unknown.
pub const PATIENCE: Duration = Duration::from_secs(300);

/// What the rows of a job are matched back by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MatchBy<'a> {
    /// One column (`Id`, or the External ID field).
    Column(&'a str),
    /// Every uploaded column.
    WholeRow,
}

/// A batch as an ingest job sends it.
struct Plan<'a> {
    operation: &'static str,
    op: Operation,
    external_id: Option<&'a str>,
    records: Vec<Record>,
    match_by: MatchBy<'a>,
}

fn plan<'a>(batch: &Write<'a>) -> Plan<'a> {
    let with_id = |id: &str, fields: Option<&Record>| {
        let mut record = Record::new();
        record.insert("Id".into(), Value::String(id.to_string()));
        if let Some(fields) = fields {
            record.extend(fields.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        record
    };
    match *batch {
        Write::Create(records) => Plan {
            operation: "insert",
            op: Operation::Create,
            external_id: None,
            records: records.to_vec(),
            match_by: MatchBy::WholeRow,
        },
        Write::Update(records) => Plan {
            operation: "update",
            op: Operation::Update,
            external_id: None,
            records: records
                .iter()
                .map(|(id, fields)| with_id(id, Some(fields)))
                .collect(),
            match_by: MatchBy::Column("Id"),
        },
        Write::Upsert {
            external_id,
            records,
        } => Plan {
            operation: "upsert",
            op: Operation::Upsert,
            external_id: Some(external_id),
            records: records.to_vec(),
            match_by: MatchBy::Column(external_id),
        },
        Write::Delete(ids) => Plan {
            operation: "delete",
            op: Operation::Delete,
            external_id: None,
            records: ids.iter().map(|id| with_id(id, None)).collect(),
            match_by: MatchBy::Column("Id"),
        },
    }
}

/// An ingest job's upload: the columns and rows of a batch, the same every time the
/// batch is planned (so a restarted worker matches the job's results to it again).
struct Upload<'a> {
    plan: Plan<'a>,
    columns: Vec<String>,
    rows: Vec<Vec<String>>,
}

fn upload<'a>(batch: &Write<'a>) -> Result<Upload<'a>, CallError> {
    let plan = plan(batch);
    if plan.records.len() > MAX_RECORDS {
        return Err(CallError::refused(
            plan.op,
            "EXCEEDED_ID_LIMIT",
            format!(
                "{} records in one Bulk job; at most {MAX_RECORDS}",
                plan.records.len()
            ),
        ));
    }
    let columns = csv::columns(&plan.records);
    let rows = csv::rows(&columns, &plan.records);
    Ok(Upload {
        plan,
        columns,
        rows,
    })
}

impl SalesforceClient {
    /// Creates an ingest job for `batch` (at most [`MAX_RECORDS`] records) and uploads its
    /// CSV, without marking it `UploadComplete`: nothing is applied until
    /// [`SalesforceClient::finish_ingest`] does, so the caller can first record the job's
    /// id durably. A failed upload aborts the job. Answers the job's id.
    pub fn open_ingest(&self, object: &str, batch: Write<'_>) -> Result<String, CallError> {
        let Upload {
            plan,
            columns,
            rows,
        } = upload(&batch)?;
        let op = plan.op;
        let object = checked_name(op, object)?;
        let mut body = json!({"object": object, "operation": plan.operation,
                              "contentType": "CSV", "columnDelimiter": "COMMA", "lineEnding": "LF"});
        if let Some(external_id) = plan.external_id {
            body["externalIdFieldName"] = Value::String(external_id.to_string());
        }
        let job: JobInfo = self.call(op, &Request::json("POST", "jobs/ingest", &body))?;
        let path = format!("jobs/ingest/{}/batches", job.id);
        if let Err(error) = self.put_csv(op, path, csv::write(&columns, &rows)) {
            let _ = self.abort_job(op, JobKind::Ingest, &job.id);
            return Err(error);
        }
        Ok(job.id)
    }

    /// Finishes the ingest job `job` opened for `batch`: marks it `UploadComplete` if it
    /// is still `Open`, waits for it, and answers one result per record in input order
    /// (see the module docs). A restarted worker calls it again for a recorded job, which
    /// is then only waited for and read; a job Salesforce no longer knows leaves every
    /// record's outcome unknown.
    pub fn finish_ingest(&self, job: &str, batch: Write<'_>) -> Result<Vec<SaveResult>, CallError> {
        let Upload {
            plan,
            columns,
            rows,
        } = upload(&batch)?;
        let op = plan.op;
        let info = match self.job(op, JobKind::Ingest, job) {
            Err(e) if e.status == Some(404) => {
                return Ok(rows.iter().map(|_| unaccounted(op)).collect())
            }
            other => other?,
        };
        if info.state == JobState::Open {
            if let Err(error) = self.set_job_state(op, JobKind::Ingest, job, "UploadComplete") {
                // Never complete: its rows are not applied, so the batch may go again.
                let _ = self.abort_job(op, JobKind::Ingest, job);
                return Err(error);
            }
        }
        let info = self.wait_for_job(op, JobKind::Ingest, job, PATIENCE)?;
        if !info.state.terminal() {
            return Err(CallError::broken(
                op,
                TransportError::Timeout,
                true,
                &format!(
                    "Bulk job {job} was still {:?} after {} s",
                    info.state,
                    PATIENCE.as_secs()
                ),
            ));
        }
        let results = |which: &str| -> Result<Table, CallError> {
            let request = Request::new("GET", format!("jobs/ingest/{job}/{which}"));
            let (body, _) = self.csv_call(op, request)?;
            Table::read(&body).map_err(|e| {
                CallError::unreadable(op, 200, &format!("Bulk job {job} {which}: {e}"))
            })
        };
        // A result list the job's counts show empty is not fetched: each is an API call.
        let none_failed = info.number_records_failed == Some(0);
        let all_processed = info.state == JobState::JobComplete
            && info.number_records_processed == Some(rows.len() as u64);
        let outcome = Outcome {
            succeeded: results("successfulResults")?,
            failed: match none_failed {
                true => Table::default(),
                false => results("failedResults")?,
            },
            unprocessed: match all_processed {
                true => Table::default(),
                false => results("unprocessedrecords")?,
            },
            job_error: (info.state == JobState::Failed)
                .then(|| info.error_message.clone().unwrap_or_default()),
        };
        Ok(outcome.match_rows(op, plan.match_by, &columns, &rows))
    }
}

/// One entry of `GET /jobs/ingest`.
#[derive(Debug, serde::Deserialize)]
struct Listed {
    id: String,
    object: String,
    state: JobState,
}

/// `GET /jobs/ingest`'s answer.
#[derive(Debug, serde::Deserialize)]
struct JobList {
    records: Vec<Listed>,
}

impl SalesforceClient {
    /// Finishes what a crash left of earlier ingest jobs on `object`: a job still `Open`
    /// (never marked `UploadComplete`, so none of its rows is applied) is aborted and its
    /// rows go again through the outbox; a job already queued or running is waited for,
    /// so that its records exist before the creates it carried are looked up by natural
    /// key, and no record is created twice. Reads the first page of the job list.
    pub fn finish_ingest_jobs(&self, object: &str) -> Result<(), CallError> {
        let op = Operation::Create;
        let list: JobList = self.call(op, &Request::new("GET", "jobs/ingest"))?;
        for job in list.records {
            if !job.object.eq_ignore_ascii_case(object) || job.state.terminal() {
                continue;
            }
            match job.state {
                JobState::Open => self.abort_job(op, JobKind::Ingest, &job.id).map(drop)?,
                _ => self
                    .wait_for_job(op, JobKind::Ingest, &job.id, PATIENCE)
                    .map(drop)?,
            }
        }
        Ok(())
    }
}

/// A finished job's result files.
struct Outcome {
    succeeded: Table,
    failed: Table,
    unprocessed: Table,
    /// The job's `errorMessage` when it failed as a whole.
    job_error: Option<String>,
}

impl Outcome {
    /// One result per uploaded row, in upload order; see the module docs.
    fn match_rows(
        &self,
        op: Operation,
        match_by: MatchBy,
        columns: &[String],
        rows: &[Vec<String>],
    ) -> Vec<SaveResult> {
        let key_of = |row: &[String], at: &dyn Fn(&str) -> Option<usize>| -> Option<String> {
            match match_by {
                MatchBy::Column(name) => at(name).and_then(|i| row.get(i)).cloned(),
                MatchBy::WholeRow => columns
                    .iter()
                    .map(|c| at(c).and_then(|i| row.get(i)).map(String::as_str))
                    .collect::<Option<Vec<&str>>>()
                    .map(|texts| texts.join("\u{1f}")),
            }
        };
        let mut waiting: HashMap<String, VecDeque<usize>> = HashMap::new();
        let uploaded = |name: &str| columns.iter().position(|c| c.eq_ignore_ascii_case(name));
        for (index, row) in rows.iter().enumerate() {
            if let Some(key) = key_of(row, &uploaded) {
                waiting.entry(key).or_default().push_back(index);
            }
        }
        let mut results: Vec<Option<SaveResult>> = vec![None; rows.len()];
        let mut settle = |table: &Table, result: &dyn Fn(&Row) -> SaveResult| {
            let at = |name: &str| table.column(name);
            for row in &table.rows {
                let Some(index) = key_of(row, &at)
                    .and_then(|key| waiting.get_mut(&key))
                    .and_then(VecDeque::pop_front)
                else {
                    continue;
                };
                results[index] = Some(result(&Row { table, row }));
            }
        };
        settle(&self.succeeded, &|row| SaveResult {
            id: Some(row.text("sf__Id").to_string()).filter(|id| !id.is_empty()),
            success: true,
            created: Some(row.text("sf__Created") == "true"),
            errors: Vec::new(),
        });
        settle(&self.failed, &|row| SaveResult {
            id: Some(row.text("sf__Id").to_string()).filter(|id| !id.is_empty()),
            ..SaveResult::failed(vec![record_error(row.text("sf__Error"))])
        });
        let halted = match &self.job_error {
            Some(why) => format!("the Bulk job failed before it processed this record: {why}"),
            None => "the Bulk job stopped before it processed this record".to_string(),
        };
        settle(&self.unprocessed, &|_| {
            SaveResult::failed(vec![RecordError {
                status_code: "PROCESSING_HALTED".into(),
                message: halted.clone(),
                fields: Vec::new(),
                call: None,
            }])
        });
        results
            .into_iter()
            .map(|result| result.unwrap_or_else(|| unaccounted(op)))
            .collect()
    }
}

/// One row of a result file.
struct Row<'a> {
    table: &'a Table,
    row: &'a [String],
}

impl Row<'_> {
    /// The row's text in column `name` (empty when there is no such column).
    fn text(&self, name: &str) -> &str {
        self.table
            .column(name)
            .and_then(|i| self.row.get(i))
            .map_or("", String::as_str)
    }
}

/// `sf__Error`, `CODE:message:fields` (`--` for no field), as a record error.
fn record_error(text: &str) -> RecordError {
    let (code, rest) = text.split_once(':').unwrap_or((text, ""));
    let (message, fields) = match rest.rsplit_once(':') {
        Some((message, fields)) => (message, fields),
        None => (rest, "--"),
    };
    RecordError {
        status_code: code.to_string(),
        message: message.to_string(),
        fields: fields
            .split(',')
            .filter(|f| !f.is_empty() && *f != "--")
            .map(str::to_string)
            .collect(),
        call: None,
    }
}

/// A row no result file mentions: its outcome is unknown, as if its answer were lost.
fn unaccounted(op: Operation) -> SaveResult {
    SaveResult::failed(vec![RecordError {
        status_code: "BULK_RESULT_MISSING".into(),
        message: "no result of the Bulk job accounts for this record".into(),
        fields: Vec::new(),
        call: Some(Failure::Transport {
            op,
            error: TransportError::Timeout,
            request_sent: true,
        }),
    }])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::retry::{classify, Class};

    fn table(text: &str) -> Table {
        Table::read(text.as_bytes()).unwrap()
    }

    fn outcome(ok: &str, failed: &str, unprocessed: &str) -> Outcome {
        Outcome {
            succeeded: table(ok),
            failed: table(failed),
            unprocessed: table(unprocessed),
            job_error: None,
        }
    }

    #[test]
    fn inserts_match_back_by_their_rows_whatever_the_order() {
        let columns = vec!["Name".to_string(), "Phone".to_string()];
        let rows = vec![
            vec!["A".to_string(), "1".to_string()],
            vec!["B".to_string(), "#N/A".to_string()],
            vec!["A".to_string(), "1".to_string()],
            vec!["C".to_string(), "3".to_string()],
            vec!["D".to_string(), "4".to_string()],
        ];
        let results = outcome(
            "\"sf__Id\",\"sf__Created\",\"Name\",\"Phone\"\n\"001B\",\"true\",\"B\",\"#N/A\"\n\
             \"001A1\",\"true\",\"A\",\"1\"\n\"001A2\",\"true\",\"A\",\"1\"\n",
            "\"sf__Id\",\"sf__Error\",\"Name\",\"Phone\"\n\
             \"\",\"FIELD_CUSTOM_VALIDATION_EXCEPTION:Phone: bad:Phone,Fax\",\"C\",\"3\"\n",
            "\"Name\",\"Phone\"\n",
        )
        .match_rows(Operation::Create, MatchBy::WholeRow, &columns, &rows);
        assert_eq!(results[0].id.as_deref(), Some("001A1"));
        assert_eq!(results[1].id.as_deref(), Some("001B"));
        assert_eq!(results[2].id.as_deref(), Some("001A2"));
        assert!(results[0].success && results[0].created == Some(true));
        let error = &results[3].errors[0];
        assert!(!results[3].success);
        assert_eq!(error.status_code, "FIELD_CUSTOM_VALIDATION_EXCEPTION");
        assert_eq!(error.message, "Phone: bad");
        assert_eq!(error.fields, ["Phone", "Fax"]);
        // No result names D: its create may or may not have happened.
        let lost = results[4].errors[0].failure(Operation::Create);
        assert_eq!(classify(&lost), Class::UnknownOutcome);
    }

    #[test]
    fn updates_match_by_id_and_unprocessed_rows_go_again() {
        let columns = vec!["Id".to_string(), "Name".to_string()];
        let rows = vec![
            vec!["001A".to_string(), "x".to_string()],
            vec!["001B".to_string(), "y".to_string()],
        ];
        let results = outcome(
            "\"sf__Id\",\"sf__Created\",\"Id\",\"Name\"\n\"001B\",\"false\",\"001B\",\"y\"\n",
            "\"sf__Id\",\"sf__Error\",\"Id\",\"Name\"\n",
            "\"Id\",\"Name\"\n\"001A\",\"x\"\n",
        )
        .match_rows(Operation::Update, MatchBy::Column("Id"), &columns, &rows);
        assert!(results[1].success);
        assert_eq!(results[1].id.as_deref(), Some("001B"));
        let halted = results[0].errors[0].failure(Operation::Update);
        assert_eq!(classify(&halted), Class::Retryable);
    }

    #[test]
    fn errors_without_fields_read_as_salesforce_writes_them() {
        let error = record_error("INVALID_CROSS_REFERENCE_KEY:invalid cross reference id:--");
        assert_eq!(error.status_code, "INVALID_CROSS_REFERENCE_KEY");
        assert_eq!(error.message, "invalid cross reference id");
        assert!(error.fields.is_empty());
    }

    #[test]
    fn batches_become_jobs_of_their_kind() {
        let fields: Record = json!({"Name": "A"}).as_object().unwrap().clone();
        let updates = [("001A".to_string(), fields.clone())];
        let update = plan(&Write::Update(&updates));
        assert_eq!(update.operation, "update");
        assert_eq!(update.records[0]["Id"], "001A");
        assert_eq!(update.records[0]["Name"], "A");
        let records = [fields];
        let upsert = plan(&Write::Upsert {
            external_id: "Ext__c",
            records: &records,
        });
        assert_eq!(upsert.match_by, MatchBy::Column("Ext__c"));
        assert_eq!(upsert.external_id, Some("Ext__c"));
        let ids = ["001A".to_string()];
        assert_eq!(plan(&Write::Delete(&ids)).records[0]["Id"], "001A");
    }
}
