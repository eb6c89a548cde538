//! Bulk API 2.0 under `/services/data/vXX.X/jobs/`: ingest jobs (insert, update,
//! upsert, delete, hardDelete) fed CSV, and query jobs whose CSV results page with
//! `Sforce-Locator`.
//!
//! Jobs run as a real org runs them: asynchronously, on the server's runtime, never
//! inside the request that started them. An ingest job is processed in chunks, each
//! chunk one transaction through the same save pipeline as the REST API (so CDC,
//! validation rules and automations see Bulk writes as they see any other), with the
//! org lock released between chunks; a query job runs the SOQL engine over a snapshot.
//! Invariant: a row is either processed (its outcome in `successfulResults` or
//! `failedResults`) or listed in `unprocessedrecords`, never both and never neither.

mod csvdata;
mod ingest;
mod job;
mod query;

pub use job::Jobs;

use super::Version;
use crate::app::App;
use crate::errors::{ApiError, SfError};
use crate::http::{empty_response, json_response};
use axum::body::{Body, Bytes};
use axum::http::{header, HeaderValue, Response};
use job::{JobKind, State};
use std::sync::Arc;
use std::time::Duration;

/// How Bulk API 2.0 behaves; `Default` is a production org's allocation.
#[derive(Debug, Clone)]
pub struct BulkOptions {
    /// Time a job waits in `UploadComplete` before processing starts (a real org
    /// queues jobs for seconds); zero starts at once.
    pub processing_delay: Duration,
    /// Records per transaction while an ingest job is processed (Salesforce saves in
    /// chunks of 200).
    pub chunk_size: usize,
    /// Largest upload, counted as its base64 size, as Salesforce counts it (150 MB).
    pub max_upload_bytes: u64,
    /// Accept several `PUT …/batches` on one job. Real orgs accept the PUTs but refuse
    /// `UploadComplete` afterwards with `INVALIDJOB` "Found multipe contents for job"
    /// (observed; reference §6.1), which is the default.
    pub accept_upload_parts: bool,
    /// Query jobs allowed in a rolling 24 hours (`DailyBulkV2QueryJobs`).
    pub daily_query_jobs: u64,
    /// Ingest batches (of up to 10,000 records) allowed in a rolling 24 hours
    /// (`DailyBulkApiBatches`).
    pub daily_batches: u64,
    /// Ingest records allowed in a rolling 24 hours.
    pub daily_records: u64,
}

impl Default for BulkOptions {
    fn default() -> Self {
        BulkOptions {
            processing_delay: Duration::ZERO,
            chunk_size: 200,
            max_upload_bytes: 150_000_000,
            accept_upload_parts: false,
            daily_query_jobs: 10_000,
            daily_batches: 15_000,
            daily_records: 150_000_000,
        }
    }
}

/// One Bulk call, already authenticated and counted against the API limit.
pub struct BulkCall<'a> {
    pub app: &'a Arc<App>,
    pub method: &'a str,
    pub version: Version,
    /// Path below `/services/data/vXX.X/jobs/`.
    pub path: &'a str,
    pub query: &'a str,
    /// CDC `changeOrigin` of the job's writes.
    pub origin: Arc<str>,
    pub body: Bytes,
}

/// Answers one call under `/jobs/`.
pub fn handle(call: BulkCall) -> Response<Body> {
    match dispatch(&call) {
        Ok(response) => response,
        Err(e) => json_response(e.status, e.body()),
    }
}

type Answer = Result<Response<Body>, ApiError>;

fn dispatch(call: &BulkCall) -> Answer {
    let segments: Vec<&str> = call.path.split('/').filter(|s| !s.is_empty()).collect();
    let (kind, rest) = match segments.split_first() {
        Some((&"ingest", rest)) if call.version.0 >= 41 => (JobKind::Ingest, rest),
        Some((&"query", rest)) if call.version.0 >= 47 => (JobKind::Query, rest),
        _ => return Err(ApiError::not_found()),
    };
    let jobs = &call.app.bulk;
    let now = call.app.clock.now_ms();
    match (call.method, rest) {
        ("POST", []) => {
            let created = match kind {
                JobKind::Ingest => ingest::create(call, now)?,
                JobKind::Query => query::create(call, now)?,
            };
            let info = created.lock().info(true);
            Ok(json(200, info))
        }
        ("GET", []) => Ok(json(200, jobs.list(kind, now).to_string())),
        ("GET", [id]) => Ok(json(200, jobs.get(kind, id, now)?.lock().info(false))),
        ("PATCH", [id]) => {
            let job = jobs.get(kind, id, now)?;
            let wanted = super::parse_body(&call.body)?
                .and_then(|b| b.get("state").and_then(|s| s.as_str()).map(str::to_string))
                .ok_or_else(|| {
                    ApiError::bad_request("INVALIDJOB", "The request must set the job's state")
                })?;
            match wanted.as_str() {
                "Aborted" => job.lock().abort(now)?,
                "UploadComplete" if kind == JobKind::Ingest => {
                    ingest::upload_complete(call.app, &job, now)?
                }
                other => {
                    return Err(ApiError::bad_request(
                        "INVALIDJOBSTATE",
                        format!("Invalid state for the job: {other}"),
                    ))
                }
            }
            let info = job.lock().info(false);
            Ok(json(200, info))
        }
        ("DELETE", [id]) => {
            jobs.delete(kind, id, now)?;
            Ok(empty_response(204))
        }
        ("PUT", [id, "batches"]) if kind == JobKind::Ingest => {
            let job = jobs.get(kind, id, now)?;
            ingest::upload(&call.app.options.bulk, &job, call.body.clone(), now)?;
            Ok(empty_response(201))
        }
        ("GET", [id, which @ ("successfulResults" | "failedResults")])
            if kind == JobKind::Ingest =>
        {
            let job = jobs.get(kind, id, now)?;
            let text = ingest::results(&job.lock(), *which == "successfulResults");
            Ok(csv(text))
        }
        ("GET", [id, "unprocessedrecords" | "unprocessedRecords"]) if kind == JobKind::Ingest => {
            let job = jobs.get(kind, id, now)?;
            let text = ingest::unprocessed(&job.lock());
            Ok(csv(text))
        }
        ("GET", [id, "results"]) if kind == JobKind::Query => {
            let job = jobs.get(kind, id, now)?;
            query::results(call, &job)
        }
        (method, _) => Err(ApiError::new(
            405,
            SfError::new(
                "METHOD_NOT_ALLOWED",
                format!("HTTP Method '{method}' not allowed for this resource"),
            ),
        )),
    }
}

fn json(status: u16, body: String) -> Response<Body> {
    json_response(status, body)
}

/// A CSV answer.
fn csv(text: Vec<u8>) -> Response<Body> {
    let mut response = Response::new(Body::from(text));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=UTF-8"),
    );
    response
}

/// Waits for the job's turn: the configured queueing delay, then until the admin
/// API has not paused processing.
async fn wait_turn(app: &App) {
    let delay = app.options.bulk.processing_delay;
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    app.bulk.wait_open().await;
}

/// A job that was never found, or belongs to the other job kind.
fn job_not_found() -> ApiError {
    ApiError::not_found()
}

/// A state change the job's state does not allow.
fn wrong_state(state: State, action: &str) -> ApiError {
    ApiError::new(
        409,
        SfError::new(
            "INVALIDJOBSTATE",
            format!("Cannot {action} a job in state {}", state.label()),
        ),
    )
}
