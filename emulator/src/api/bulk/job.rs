//! Bulk API 2.0 jobs: their states, the job-info JSON clients poll, the store of
//! jobs (kept 7 days after they finish, as Salesforce keeps them) and the rolling
//! 24-hour allocations.

use super::csvdata::{Csv, Delimiter, LineEnding};
use super::query::QueryResult;
use super::{job_not_found, wrong_state};
use crate::allocation::Rolling;
use crate::api::Version;
use crate::errors::{ApiError, SfError};
use crate::ids::{user_id, Id};
use crate::timefmt::{format_datetime, DAY_MS};
use axum::body::Bytes;
use indexmap::IndexMap;
use parking_lot::Mutex;
use serde_json::{json, Map, Value as Json};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Ingest or query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobKind {
    Ingest,
    Query,
}

/// A job's state, as `GET /jobs/…/{id}` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Open,
    UploadComplete,
    InProgress,
    JobComplete,
    Failed,
    Aborted,
}

impl State {
    /// The API's name of the state.
    pub fn label(self) -> &'static str {
        match self {
            State::Open => "Open",
            State::UploadComplete => "UploadComplete",
            State::InProgress => "InProgress",
            State::JobComplete => "JobComplete",
            State::Failed => "Failed",
            State::Aborted => "Aborted",
        }
    }

    /// No further change will happen.
    pub fn terminal(self) -> bool {
        matches!(self, State::JobComplete | State::Failed | State::Aborted)
    }
}

/// What a job does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Insert,
    Update,
    Upsert,
    Delete,
    HardDelete,
    Query,
    QueryAll,
}

impl Operation {
    /// Parses the job's `operation` for its kind.
    pub fn parse(kind: JobKind, name: &str) -> Option<Operation> {
        Some(match (kind, name) {
            (JobKind::Ingest, "insert") => Operation::Insert,
            (JobKind::Ingest, "update") => Operation::Update,
            (JobKind::Ingest, "upsert") => Operation::Upsert,
            (JobKind::Ingest, "delete") => Operation::Delete,
            (JobKind::Ingest, "hardDelete") => Operation::HardDelete,
            (JobKind::Query, "query") => Operation::Query,
            (JobKind::Query, "queryAll") => Operation::QueryAll,
            _ => return None,
        })
    }

    /// The API's name of the operation.
    pub fn name(self) -> &'static str {
        match self {
            Operation::Insert => "insert",
            Operation::Update => "update",
            Operation::Upsert => "upsert",
            Operation::Delete => "delete",
            Operation::HardDelete => "hardDelete",
            Operation::Query => "query",
            Operation::QueryAll => "queryAll",
        }
    }
}

/// One ingest row's outcome.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// Saved: the record id and whether it was created.
    Saved(Id, bool),
    /// Not saved: the record id when known (update, delete) and `CODE:message:fields`.
    Failed(Option<Id>, String),
}

/// One job.
pub struct Job {
    pub id: Id,
    pub kind: JobKind,
    pub operation: Operation,
    /// The object's name as the client wrote it in canonical case.
    pub object: String,
    pub table: usize,
    pub external_id_field: Option<String>,
    pub delimiter: Delimiter,
    pub ending: LineEnding,
    pub state: State,
    pub created_ms: i64,
    pub modstamp_ms: i64,
    pub version: Version,
    pub origin: Arc<str>,
    pub error_message: Option<String>,
    pub processing_ms: i64,
    /// Ingest: the uploaded CSV, one entry per `PUT`.
    pub uploads: Vec<Bytes>,
    /// Ingest: the parsed upload (header, rows), once processing has read it.
    pub parsed: Option<Arc<Csv>>,
    /// Ingest: one outcome per processed row, in row order (rows before
    /// `outcomes.len()` are processed, the rest are not).
    pub outcomes: Vec<Outcome>,
    /// Query: the SOQL text.
    pub soql: String,
    /// Query: the result snapshot once processed.
    pub result: Option<Arc<QueryResult>>,
}

impl Job {
    /// A new job in its first state (its id is given when it is stored).
    pub fn new(
        kind: JobKind,
        operation: Operation,
        object: String,
        table: usize,
        version: Version,
        origin: Arc<str>,
        now: i64,
    ) -> Job {
        Job {
            id: Id::generate("750", 0),
            kind,
            operation,
            object,
            table,
            external_id_field: None,
            delimiter: Delimiter::Comma,
            ending: LineEnding::Lf,
            state: match kind {
                JobKind::Ingest => State::Open,
                JobKind::Query => State::UploadComplete,
            },
            created_ms: now,
            modstamp_ms: now,
            version,
            origin,
            error_message: None,
            processing_ms: 0,
            uploads: Vec::new(),
            parsed: None,
            outcomes: Vec::new(),
            soql: String::new(),
            result: None,
        }
    }

    /// Moves to `state` at `now`.
    pub fn set_state(&mut self, state: State, now: i64) {
        self.state = state;
        self.modstamp_ms = now;
    }

    /// Fails the job with a message (`errorMessage` of the job info).
    pub fn fail(&mut self, message: String, now: i64) {
        self.error_message = Some(message);
        self.set_state(State::Failed, now);
    }

    /// `PATCH {"state":"Aborted"}`: allowed until the job has finished.
    pub fn abort(&mut self, now: i64) -> Result<(), ApiError> {
        if self.state.terminal() {
            return Err(wrong_state(self.state, "abort"));
        }
        self.set_state(State::Aborted, now);
        Ok(())
    }

    /// Records processed so far.
    pub fn processed(&self) -> usize {
        match self.kind {
            JobKind::Ingest => self.outcomes.len(),
            JobKind::Query => self.result.as_ref().map_or(0, |r| r.rows.len()),
        }
    }

    fn failed(&self) -> usize {
        self.outcomes
            .iter()
            .filter(|o| matches!(o, Outcome::Failed(..)))
            .count()
    }

    /// The job-info JSON: the creation answer (`created`) or `GET` of the job.
    pub fn info(&self, created: bool) -> String {
        let mut map = Map::new();
        let mut put = |k: &str, v: Json| {
            map.insert(k.to_string(), v);
        };
        put("id", self.id.to_string().into());
        put("operation", self.operation.name().into());
        put("object", self.object.clone().into());
        put("createdById", user_id().to_string().into());
        put("createdDate", format_datetime(self.created_ms).into());
        put("systemModstamp", format_datetime(self.modstamp_ms).into());
        put("state", self.state.label().into());
        if let Some(field) = &self.external_id_field {
            put("externalIdFieldName", field.clone().into());
        }
        put("concurrencyMode", "Parallel".into());
        put("contentType", "CSV".into());
        put("apiVersion", json!(self.version.0 as f64));
        if created && self.kind == JobKind::Ingest {
            put(
                "contentUrl",
                format!(
                    "services/data/v{}/jobs/ingest/{}/batches",
                    self.version.text(),
                    self.id
                )
                .into(),
            );
        }
        put("lineEnding", self.ending.name().into());
        put("columnDelimiter", self.delimiter.name().into());
        if !created || self.kind == JobKind::Query {
            put(
                "jobType",
                match self.kind {
                    JobKind::Ingest => "V2Ingest",
                    JobKind::Query => "V2Query",
                }
                .into(),
            );
        }
        if !created {
            put("numberRecordsProcessed", json!(self.processed()));
            if self.kind == JobKind::Ingest {
                put("numberRecordsFailed", json!(self.failed()));
            }
            put("retries", json!(0));
            put("totalProcessingTime", json!(self.processing_ms));
            if self.kind == JobKind::Ingest {
                put("apiActiveProcessingTime", json!(self.processing_ms));
                put("apexProcessingTime", json!(0));
            }
            if let Some(message) = &self.error_message {
                put("errorMessage", message.clone().into());
            }
        }
        Json::Object(map).to_string()
    }
}

/// The daily Bulk allocations in use.
#[derive(Default)]
struct Allocations {
    query_jobs: Rolling,
    batches: Rolling,
    records: Rolling,
}

/// Every job of the org, and the switch that pauses processing (admin API).
pub struct Jobs {
    jobs: Mutex<IndexMap<Id, Arc<Mutex<Job>>>>,
    counter: AtomicU64,
    allocations: Mutex<Allocations>,
    gate: tokio::sync::watch::Sender<Gate>,
}

/// Whether jobs may run: the admin API pauses processing, and lets a paused org run a
/// given number of chunks (so a test can stop a job half way, deterministically).
#[derive(Debug, Clone, Copy, Default)]
struct Gate {
    paused: bool,
    chunks: u64,
}

impl Gate {
    fn open(&self) -> bool {
        !self.paused || self.chunks > 0
    }
}

impl Default for Jobs {
    fn default() -> Self {
        Jobs {
            jobs: Mutex::default(),
            counter: AtomicU64::new(0),
            allocations: Mutex::default(),
            gate: tokio::sync::watch::Sender::new(Gate::default()),
        }
    }
}

/// How long a finished job stays listed.
const KEEP_MS: i64 = 7 * DAY_MS;

impl Jobs {
    /// Stores a job under a fresh id (`750…`).
    pub fn insert(&self, mut job: Job) -> Arc<Mutex<Job>> {
        let id = Id::generate("750", self.counter.fetch_add(1, Ordering::Relaxed) + 1);
        job.id = id;
        let job = Arc::new(Mutex::new(job));
        self.jobs.lock().insert(id, job.clone());
        job
    }

    fn expire(&self, now: i64) {
        self.jobs.lock().retain(|_, job| {
            let job = job.lock();
            !(job.state.terminal() && now - job.modstamp_ms > KEEP_MS)
        });
    }

    /// A job of `kind` by id.
    pub fn get(&self, kind: JobKind, id: &str, now: i64) -> Result<Arc<Mutex<Job>>, ApiError> {
        self.expire(now);
        let id = Id::parse(id).ok_or_else(job_not_found)?;
        let job = self
            .jobs
            .lock()
            .get(&id)
            .cloned()
            .ok_or_else(job_not_found)?;
        if job.lock().kind != kind {
            return Err(job_not_found());
        }
        Ok(job)
    }

    /// `DELETE /jobs/…/{id}`: only jobs that will not change any more (or wait
    /// for processing) can go.
    pub fn delete(&self, kind: JobKind, id: &str, now: i64) -> Result<(), ApiError> {
        let job = self.get(kind, id, now)?;
        let state = job.lock().state;
        if matches!(state, State::Open | State::InProgress) {
            return Err(wrong_state(state, "delete"));
        }
        if state == State::UploadComplete {
            job.lock().set_state(State::Aborted, now);
        }
        self.jobs.lock().shift_remove(&job.lock().id);
        Ok(())
    }

    /// `GET /jobs/ingest` / `GET /jobs/query`.
    pub fn list(&self, kind: JobKind, now: i64) -> Json {
        self.expire(now);
        let records: Vec<Json> = self
            .jobs
            .lock()
            .values()
            .filter_map(|job| {
                let job = job.lock();
                (job.kind == kind)
                    .then(|| serde_json::from_str(&job.info(false)).unwrap_or_default())
            })
            .collect();
        json!({"done": true, "records": records, "nextRecordsUrl": null})
    }

    /// Counts a query job against `DailyBulkV2QueryJobs`, or refuses it.
    pub fn take_query_job(&self, max: u64, now: i64) -> Result<(), ApiError> {
        let mut a = self.allocations.lock();
        if a.query_jobs.used(now) >= max {
            return Err(exceeded("query jobs", max));
        }
        a.query_jobs.add(now, 1);
        Ok(())
    }

    /// Counts an ingest job's records (and its batches of 10,000) against the daily
    /// allocations, or says why it cannot run.
    pub fn take_records(
        &self,
        records: u64,
        max_records: u64,
        max_batches: u64,
        now: i64,
    ) -> Result<(), String> {
        let batches = records.div_ceil(10_000).max(1);
        let mut a = self.allocations.lock();
        if a.records.used(now) + records > max_records {
            return Err(format!(
                "ExceededQuota : The daily allocation of {max_records} Bulk API records is used up"
            ));
        }
        if a.batches.used(now) + batches > max_batches {
            return Err(format!(
                "ExceededQuota : The daily allocation of {max_batches} Bulk API batches is used up"
            ));
        }
        a.records.add(now, records);
        a.batches.add(now, batches);
        Ok(())
    }

    /// (query jobs, batches) used in the last 24 hours, for `/limits`.
    pub fn usage(&self, now: i64) -> (u64, u64) {
        let mut a = self.allocations.lock();
        (a.query_jobs.used(now), a.batches.used(now))
    }

    /// Pauses or resumes processing (jobs already running finish their current chunk).
    pub fn set_paused(&self, paused: bool) {
        self.gate.send_modify(|g| *g = Gate { paused, chunks: 0 });
    }

    /// Lets a paused org process `chunks` more chunks (over all jobs), then hold again.
    pub fn step(&self, chunks: u64) {
        self.gate.send_modify(|g| g.chunks += chunks);
    }

    /// Whether processing is paused.
    pub fn paused(&self) -> bool {
        self.gate.borrow().paused
    }

    /// Returns once a job may start (processing not paused, or chunks allowed).
    pub async fn wait_open(&self) {
        let mut rx = self.gate.subscribe();
        let _ = rx.wait_for(Gate::open).await;
    }

    /// Returns once one more chunk may run, using up an allowed chunk when paused.
    pub async fn take_chunk(&self) {
        loop {
            self.wait_open().await;
            let mut taken = false;
            self.gate.send_if_modified(|g| {
                taken = g.open();
                if taken && g.paused {
                    g.chunks -= 1;
                    return true;
                }
                false
            });
            if taken {
                return;
            }
        }
    }

    /// Id, kind and state of every job (admin API).
    pub fn summary(&self) -> Json {
        let list: Vec<Json> = self
            .jobs
            .lock()
            .values()
            .map(|job| {
                let job = job.lock();
                json!({"id": job.id.to_string(), "operation": job.operation.name(),
                       "object": job.object, "state": job.state.label(),
                       "numberRecordsProcessed": job.processed()})
            })
            .collect();
        json!({"paused": self.paused(), "jobs": list})
    }

    /// Forgets every job (admin reset).
    pub fn clear(&self) {
        self.jobs.lock().clear();
        *self.allocations.lock() = Allocations::default();
    }
}

fn exceeded(what: &str, max: u64) -> ApiError {
    ApiError::new(
        400,
        SfError::new(
            "EXCEEDED_QUOTA",
            format!("The daily allocation of {max} Bulk API 2.0 {what} is used up"),
        ),
    )
}
