//! Salesforce Bulk API 2.0 (`/jobs/query`, `/jobs/ingest`): the job shapes, the calls,
//! and waiting for a job on the calling HTTP thread.
//!
//! Large volumes go through jobs rather than REST pages: a full load of a big object is
//! one query job whose CSV results are read 50,000 records a call ([`query`]), a large
//! push backlog one ingest job per 10,000 records ([`ingest`]). A job runs
//! asynchronously in the org; the caller polls its state with a growing pause and reads
//! its results once it is `JobComplete`. Nothing here touches Postgres: what must
//! survive a crash (a query job's id and locator) travels in the cursor the engine
//! stores.

pub mod csv;
pub mod ingest;
pub mod query;

use super::client::{Request, SalesforceClient};
use crate::connector::error::CallError;
use crate::connector::http::Body;
use crate::retry::Operation;
use serde::Deserialize;
use serde_json::json;
use std::time::{Duration, Instant};

/// A job's state, as `GET /jobs/…/{id}` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum JobState {
    Open,
    UploadComplete,
    InProgress,
    JobComplete,
    Failed,
    Aborted,
}

impl JobState {
    /// No further change will happen.
    pub fn terminal(self) -> bool {
        matches!(
            self,
            JobState::JobComplete | JobState::Failed | JobState::Aborted
        )
    }
}

/// The job information every job call answers with (the fields hubsync reads).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobInfo {
    pub id: String,
    pub state: JobState,
    /// Why a `Failed` job failed.
    #[serde(default)]
    pub error_message: Option<String>,
    /// Ingest jobs: records processed so far, failed ones included (absent for queries).
    #[serde(default)]
    pub number_records_processed: Option<u64>,
    /// Ingest jobs: records that failed so far.
    #[serde(default)]
    pub number_records_failed: Option<u64>,
}

/// Ingest or query: the path segment below `/jobs/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobKind {
    Ingest,
    Query,
}

impl JobKind {
    fn path(self) -> &'static str {
        match self {
            JobKind::Ingest => "jobs/ingest",
            JobKind::Query => "jobs/query",
        }
    }
}

/// How long one wait for a job polls before handing control back (the caller comes
/// back for it): long enough that a typical job finishes within one wait, short enough
/// that an HTTP thread is not held for ever.
pub const PATIENCE: Duration = Duration::from_secs(120);

/// The pause before the `n`-th poll of a job's state: 250 ms growing by half each poll,
/// at most 5 s — `min(250 ms × 1.5ⁿ, 5 s)`.
pub fn poll_pause(n: u32) -> Duration {
    let ms = 250.0 * 1.5f64.powi(n.min(20) as i32);
    Duration::from_millis(ms.min(5_000.0) as u64)
}

/// A job id as Salesforce hands them out (15 or 18 letters and digits), checked before it
/// goes into a URL path.
fn checked_job_id(op: Operation, id: &str) -> Result<&str, CallError> {
    let ok = (15..=18).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric());
    if ok {
        Ok(id)
    } else {
        Err(CallError::refused(
            op,
            "INVALIDJOB",
            format!("{id:?} is not a Bulk API job id"),
        ))
    }
}

impl SalesforceClient {
    /// `POST /jobs/query`: starts a query job over `soql` (deleted records too with
    /// `include_deleted`).
    pub fn create_query_job(
        &self,
        soql: &str,
        include_deleted: bool,
    ) -> Result<JobInfo, CallError> {
        let operation = if include_deleted { "queryAll" } else { "query" };
        let body = json!({"operation": operation, "query": soql, "contentType": "CSV",
                          "columnDelimiter": "COMMA", "lineEnding": "LF"});
        self.call(
            Operation::Read,
            &Request::json("POST", JobKind::Query.path(), &body),
        )
    }

    /// `GET /jobs/{kind}/{id}`: the job's current state; a failure is classified as one
    /// of `op` (a job's writes are unknown while it cannot be seen).
    pub fn job(&self, op: Operation, kind: JobKind, id: &str) -> Result<JobInfo, CallError> {
        let id = checked_job_id(op, id)?;
        self.call(op, &Request::new("GET", format!("{}/{id}", kind.path())))
    }

    /// Polls a job until it reaches a terminal state or `patience` has passed, whichever
    /// comes first; the answer is its last known state.
    pub fn wait_for_job(
        &self,
        op: Operation,
        kind: JobKind,
        id: &str,
        patience: Duration,
    ) -> Result<JobInfo, CallError> {
        let start = Instant::now();
        let mut polls = 0;
        loop {
            let info = self.job(op, kind, id)?;
            if info.state.terminal() || start.elapsed() >= patience {
                return Ok(info);
            }
            std::thread::sleep(poll_pause(polls));
            polls += 1;
        }
    }

    /// `PATCH /jobs/{kind}/{id}` `{"state": "Aborted"}`.
    pub fn abort_job(&self, op: Operation, kind: JobKind, id: &str) -> Result<JobInfo, CallError> {
        self.set_job_state(op, kind, id, "Aborted")
    }

    fn set_job_state(
        &self,
        op: Operation,
        kind: JobKind,
        id: &str,
        state: &str,
    ) -> Result<JobInfo, CallError> {
        let id = checked_job_id(op, id)?;
        let body = json!({ "state": state });
        self.call(
            op,
            &Request::json("PATCH", format!("{}/{id}", kind.path()), &body),
        )
    }

    /// A CSV answer (results): its body and `Sforce-Locator`.
    fn csv_call(
        &self,
        op: Operation,
        request: Request,
    ) -> Result<(Vec<u8>, Option<String>), CallError> {
        let reply = self.execute(op, &request.header("Accept", "text/csv"))?;
        Ok((reply.body, reply.locator))
    }

    /// Sends CSV data (`PUT …/batches`), expecting `201 Created`.
    fn put_csv(&self, op: Operation, path: String, csv: String) -> Result<(), CallError> {
        let request = Request {
            body: Body::Csv(csv),
            ..Request::new("PUT", path)
        };
        self.execute(op, &request).map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polls_back_off_to_five_seconds() {
        assert_eq!(poll_pause(0), Duration::from_millis(250));
        assert_eq!(poll_pause(1), Duration::from_millis(375));
        assert_eq!(poll_pause(30), Duration::from_secs(5));
    }

    #[test]
    fn job_info_reads_as_salesforce_sends_it() {
        let info: JobInfo = serde_json::from_str(
            r#"{"id":"750xx0000000002AAA","operation":"insert","object":"Account",
                "state":"Failed","errorMessage":"InvalidBatch : bad","apiVersion":59.0}"#,
        )
        .unwrap();
        assert_eq!(info.state, JobState::Failed);
        assert!(info.state.terminal() && !JobState::InProgress.terminal());
        assert_eq!(info.error_message.as_deref(), Some("InvalidBatch : bad"));
    }

    #[test]
    fn job_ids_are_checked_before_they_reach_a_path() {
        assert!(checked_job_id(Operation::Read, "750xx0000000002AAA").is_ok());
        for bad in ["", "750/../x", "750xx0000000002AAA?x=1", "750"] {
            assert!(checked_job_id(Operation::Read, bad).is_err(), "{bad}");
        }
    }
}
