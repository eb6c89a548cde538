//! Query jobs: the SOQL is checked when the job is created, run over a snapshot when
//! the job is processed, and its CSV results are read in pages named by an opaque
//! `Sforce-Locator` (the base64 of the next row's offset, as real locators are).

use super::csvdata::{self, value_text};
use super::ingest::formats;
use super::job::{Job, JobKind, Operation, State};
use super::{wait_turn, wrong_state, BulkCall};
use crate::api::{body_object, query_params};
use crate::app::App;
use crate::errors::{ApiError, SfError};
use crate::schema::{Kind, Schema};
use crate::soql::{self, Column, ParentKind, Related, USER_FIELDS};
use crate::store::Record;
use crate::value::Value;
use axum::body::Body;
use axum::http::{HeaderValue, Response};
use base64::engine::general_purpose::STANDARD_NO_PAD;
use base64::Engine;
use parking_lot::Mutex;
use serde_json::Value as Json;
use std::sync::Arc;

/// A finished query: its plan, the matching record versions and their parents.
pub struct QueryResult {
    pub plan: soql::Plan,
    pub rows: Vec<Arc<Record>>,
    /// Each row's parent records (empty without relationship columns).
    pub related: Vec<Related>,
}

fn soql_error(e: soql::SoqlError) -> ApiError {
    ApiError::bad_request(e.code, e.message)
}

/// Checks SOQL as job creation does (Bulk queries take no `COUNT()`).
fn check(app: &App, text: &str, now: i64) -> Result<soql::Plan, ApiError> {
    let parsed = soql::parse(text).map_err(soql_error)?;
    let plan = soql::compile(&parsed, text, &app.schema, now).map_err(soql_error)?;
    if plan.count_only {
        return Err(ApiError::bad_request(
            "INVALIDJOB",
            "Aggregate queries are not supported by Bulk API 2.0 query jobs",
        ));
    }
    if plan
        .columns
        .iter()
        .any(|c| matches!(c, Column::Children { .. }))
    {
        return Err(ApiError::bad_request(
            "INVALIDJOB",
            "Bulk API 2.0 query jobs do not support parent-to-child subqueries",
        ));
    }
    Ok(plan)
}

/// `POST /jobs/query`.
pub fn create(call: &BulkCall, now: i64) -> Result<Arc<Mutex<Job>>, ApiError> {
    let body = body_object(crate::api::parse_body(&call.body)?)?;
    let text = |k: &str| body.get(k).and_then(Json::as_str);
    let operation = text("operation")
        .and_then(|op| Operation::parse(JobKind::Query, op))
        .ok_or_else(|| {
            ApiError::bad_request("INVALIDJOB", "The operation must be query or queryAll")
        })?;
    let soql_text = text("query")
        .filter(|q| !q.trim().is_empty())
        .ok_or_else(|| ApiError::bad_request("INVALIDJOB", "The job needs a query"))?;
    let (delimiter, ending) = formats(&body)?;
    let app = call.app;
    let plan = check(app, soql_text, now)?;
    app.bulk
        .take_query_job(app.options.bulk.daily_query_jobs, now)?;
    let mut job = Job::new(
        JobKind::Query,
        operation,
        app.schema.objects[plan.table].name.clone(),
        plan.table,
        call.version,
        call.origin.clone(),
        now,
    );
    job.soql = soql_text.to_string();
    job.delimiter = delimiter;
    job.ending = ending;
    let job = app.bulk.insert(job);
    tokio::spawn(run(app.clone(), job.clone()));
    Ok(job)
}

/// Runs a query job once it is its turn.
async fn run(app: Arc<App>, job: Arc<Mutex<Job>>) {
    wait_turn(&app).await;
    let started = std::time::Instant::now();
    let now = app.clock.now_ms();
    let (text, all) = {
        let mut j = job.lock();
        if j.state != State::UploadComplete {
            return;
        }
        j.set_state(State::InProgress, now);
        (j.soql.clone(), j.operation == Operation::QueryAll)
    };
    let outcome = check(&app, &text, now).and_then(|plan| {
        let object = &app.schema.objects[plan.table];
        if plan
            .fields
            .iter()
            .any(|f| object.fields[*f].kind == Kind::Address)
        {
            return Err(ApiError::bad_request(
                "FUNCTIONALITY_NOT_ENABLED",
                "Selecting compound data not supported in Bulk Query",
            ));
        }
        let org = app.org.read();
        let rows = soql::execute(&plan, &org.tables[plan.table], all);
        let related = if plan.has_relationships() {
            soql::relate(&plan.columns, &org.tables, &rows, all)
        } else {
            Vec::new()
        };
        Ok(QueryResult {
            plan,
            rows,
            related,
        })
    });
    let mut j = job.lock();
    if j.state != State::InProgress {
        return;
    }
    j.processing_ms = started.elapsed().as_millis() as i64;
    match outcome {
        Ok(result) => {
            j.result = Some(Arc::new(result));
            j.set_state(State::JobComplete, app.clock.now_ms());
        }
        Err(e) => {
            let message = e
                .errors
                .first()
                .map(|e| format!("{}: {}", e.code, e.message))
                .unwrap_or_default();
            j.fail(message, app.clock.now_ms());
        }
    }
}

/// The CSV header: field names, parent fields as `Account.Name`.
fn header(schema: &Schema, plan: &soql::Plan) -> Vec<String> {
    let object = &schema.objects[plan.table];
    let mut out = Vec::new();
    for column in &plan.columns {
        match column {
            Column::Field(f) => out.push(object.fields[*f].name.clone()),
            Column::Parent {
                name,
                target,
                fields,
                ..
            } => out.extend(fields.iter().map(|f| {
                let field = match target {
                    ParentKind::Table(t) => schema.objects[*t].fields[*f].name.as_str(),
                    ParentKind::User => USER_FIELDS[*f],
                };
                format!("{name}.{field}")
            })),
            Column::Children { .. } => {}
        }
    }
    out
}

/// One CSV row; a missing parent leaves its fields empty.
fn row(
    plan: &soql::Plan,
    record: &Record,
    related: Option<&Related>,
    username: &str,
) -> Vec<String> {
    let mut parents = related.map(|r| r.parents.iter());
    let mut out = Vec::new();
    for column in &plan.columns {
        match column {
            Column::Field(f) => out.push(value_text(&record.values[*f])),
            Column::Parent {
                target: ParentKind::Table(_),
                fields,
                ..
            } => {
                let parent = parents
                    .as_mut()
                    .and_then(|p| p.next())
                    .and_then(Option::as_ref);
                out.extend(fields.iter().map(|f| {
                    parent
                        .map(|p| value_text(&p.values[*f]))
                        .unwrap_or_default()
                }));
            }
            Column::Parent {
                target: ParentKind::User,
                via,
                fields,
                ..
            } => {
                let user = match &record.values[*via] {
                    Value::Id(id) => Some(id.to_string()),
                    _ => None,
                };
                out.extend(fields.iter().map(|f| match (&user, USER_FIELDS[*f]) {
                    (None, _) => String::new(),
                    (Some(id), "Id") => id.clone(),
                    (Some(_), _) => username.to_string(),
                }));
            }
            Column::Children { .. } => {}
        }
    }
    out
}

/// `GET /jobs/query/{id}/results[?locator=…&maxRecords=…]`.
pub fn results(call: &BulkCall, job: &Mutex<Job>) -> Result<Response<Body>, ApiError> {
    let job = job.lock();
    if job.version != call.version {
        return Err(ApiError::new(
            409,
            SfError::new(
                "INVALIDJOB",
                format!(
                    "Results must be fetched with the API version that created the job ({})",
                    job.version.text()
                ),
            ),
        ));
    }
    let result = match (&job.result, job.state) {
        (Some(result), State::JobComplete) => result.clone(),
        (_, state) => return Err(wrong_state(state, "get the results of")),
    };
    let params = query_params(call.query);
    let param = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let bad_locator = || ApiError::bad_request("INVALID_QUERY_LOCATOR", "invalid query locator");
    let offset = match param("locator").filter(|l| !l.is_empty() && *l != "null") {
        None => 0,
        Some(locator) => STANDARD_NO_PAD
            .decode(locator.trim_end_matches('='))
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|s| s.parse::<usize>().ok())
            .filter(|o| *o <= result.rows.len())
            .ok_or_else(bad_locator)?,
    };
    let max = match param("maxRecords") {
        None => usize::MAX,
        Some(n) => n.parse::<usize>().ok().filter(|n| *n > 0).ok_or_else(|| {
            ApiError::bad_request(
                "INVALIDJOB",
                format!("maxRecords must be a positive integer, not {n}"),
            )
        })?,
    };
    let end = offset.saturating_add(max).min(result.rows.len());
    let schema = &call.app.schema;
    let mut out = csvdata::Writer::new(job.delimiter, job.ending);
    out.row(header(schema, &result.plan));
    for (i, record) in result.rows[offset..end].iter().enumerate() {
        let related = result.related.get(offset + i);
        out.row(row(
            &result.plan,
            record,
            related,
            &call.app.options.username,
        ));
    }
    let next = if end < result.rows.len() {
        STANDARD_NO_PAD.encode(end.to_string())
    } else {
        "null".to_string()
    };
    let mut response = super::csv(out.finish());
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&next) {
        headers.insert("sforce-locator", v);
    }
    headers.insert("sforce-numberofrecords", HeaderValue::from(end - offset));
    Ok(response)
}
