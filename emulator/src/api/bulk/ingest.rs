//! Ingest jobs: creation, CSV upload, `UploadComplete`, the asynchronous processing
//! through the save pipeline, and the three result files.

use super::csvdata::{self, Csv, Delimiter, LineEnding};
use super::job::{Job, JobKind, Operation, Outcome, State};
use super::{wait_turn, wrong_state, BulkCall, BulkOptions};
use crate::api::body_object;
use crate::app::App;
use crate::decode::{decode_record, decode_value};
use crate::errors::{ApiError, SfError};
use crate::ids::{user_id, Id};
use crate::save::{self, SaveCtx, UpsertError};
use crate::schema::{ObjectDef, Role, Schema};
use crate::store::{Org, Txn};
use crate::value::Value;
use axum::body::Bytes;
use parking_lot::Mutex;
use serde_json::{Map, Value as Json};
use std::sync::Arc;

fn invalid_job(message: impl Into<String>) -> ApiError {
    ApiError::bad_request("INVALIDJOB", message)
}

/// Reads `lineEnding` / `columnDelimiter` / `contentType` of a job-creation body.
pub(super) fn formats(body: &Map<String, Json>) -> Result<(Delimiter, LineEnding), ApiError> {
    let text = |k: &str| body.get(k).and_then(Json::as_str);
    if let Some(content) = text("contentType") {
        if content != "CSV" {
            return Err(invalid_job(format!(
                "Unsupported content type {content}; Bulk API 2.0 takes CSV"
            )));
        }
    }
    let delimiter = match text("columnDelimiter") {
        None => Delimiter::Comma,
        Some(name) => Delimiter::parse(name).ok_or_else(|| {
            invalid_job(format!("Invalid column delimiter {name}; use COMMA, TAB, PIPE, SEMICOLON, CARET or BACKQUOTE"))
        })?,
    };
    let ending = match text("lineEnding") {
        None => LineEnding::Lf,
        Some(name) => LineEnding::parse(name)
            .ok_or_else(|| invalid_job(format!("Invalid line ending {name}; use LF or CRLF")))?,
    };
    Ok((delimiter, ending))
}

/// `POST /jobs/ingest`.
pub fn create(call: &BulkCall, now: i64) -> Result<Arc<Mutex<Job>>, ApiError> {
    let body = body_object(crate::api::parse_body(&call.body)?)?;
    let text = |k: &str| body.get(k).and_then(Json::as_str);
    let schema = &call.app.schema;
    let name = text("object").ok_or_else(|| invalid_job("The job needs an object"))?;
    let table = schema
        .object_index(name)
        .ok_or_else(|| invalid_job(format!("Unable to find object: {name}")))?;
    let object = &schema.objects[table];
    let operation = text("operation")
        .and_then(|op| Operation::parse(JobKind::Ingest, op))
        .ok_or_else(|| {
            invalid_job("The operation must be insert, update, upsert, delete or hardDelete")
        })?;
    let (delimiter, ending) = formats(&body)?;
    let external_id = match operation {
        Operation::Upsert => {
            let field = text("externalIdFieldName")
                .filter(|f| !f.is_empty())
                .ok_or_else(|| {
                    invalid_job(format!(
                    "External ID was blank for {}. An External ID must be specified for upsert.",
                    object.name
                ))
                })?;
            let def = object
                .field(field)
                .filter(|f| f.external_id || f.id_lookup)
                .ok_or_else(|| {
                    invalid_job(format!(
                        "Field name provided, {field} does not match an External ID, Salesforce Id, or indexed field for {}",
                        object.name
                    ))
                })?;
            Some(def.name.clone())
        }
        _ => None,
    };
    let mut job = Job::new(
        JobKind::Ingest,
        operation,
        object.name.clone(),
        table,
        call.version,
        call.origin.clone(),
        now,
    );
    job.external_id_field = external_id;
    job.delimiter = delimiter;
    job.ending = ending;
    Ok(call.app.bulk.insert(job))
}

/// `PUT /jobs/ingest/{id}/batches`: stores one upload.
pub fn upload(
    options: &BulkOptions,
    job: &Mutex<Job>,
    data: Bytes,
    now: i64,
) -> Result<(), ApiError> {
    let mut job = job.lock();
    if job.state != State::Open {
        return Err(wrong_state(job.state, "upload data to"));
    }
    let encoded = (data.len() as u64).div_ceil(3) * 4;
    if encoded > options.max_upload_bytes {
        return Err(invalid_job(format!(
            "Exceeded max size limit of {} bytes (counted as base64) for the upload; split the data into several jobs",
            options.max_upload_bytes
        )));
    }
    job.uploads.push(data);
    job.modstamp_ms = now;
    Ok(())
}

/// `PATCH {"state":"UploadComplete"}`: closes the job and queues its processing.
pub fn upload_complete(app: &Arc<App>, job: &Arc<Mutex<Job>>, now: i64) -> Result<(), ApiError> {
    {
        let mut j = job.lock();
        if j.state != State::Open {
            return Err(wrong_state(j.state, "close"));
        }
        if j.uploads.len() > 1 && !app.options.bulk.accept_upload_parts {
            return Err(invalid_job(format!(
                "Found multipe contents for job: <{}>, please 'Close' / 'Abort' / 'Delete' the current Job then create a new Job and make sure you only do 'PUT' once on a given Job.",
                &j.id.as_str()[..15]
            )));
        }
        j.set_state(State::UploadComplete, now);
    }
    tokio::spawn(run(app.clone(), job.clone()));
    Ok(())
}

/// The uploads read as one CSV (parts must share a header row).
fn read_uploads(job: &Job) -> Result<Csv, String> {
    if job.uploads.is_empty() {
        return Err("InvalidBatch : No data was uploaded for the job".into());
    }
    let mut all: Option<Csv> = None;
    for part in &job.uploads {
        let mut csv = csvdata::read(part, job.delimiter, job.ending)?;
        match &mut all {
            Some(first) if first.header != csv.header => {
                return Err(
                    "InvalidBatch : Every upload of a job must have the same header row".into(),
                )
            }
            Some(first) => first.rows.append(&mut csv.rows),
            None => all = Some(csv),
        }
    }
    Ok(all.unwrap_or_default())
}

/// What processing needs of the job, taken once.
struct Plan {
    table: usize,
    object: Arc<ObjectDef>,
    operation: Operation,
    key: Option<usize>,
    header: Vec<String>,
    /// Per column: the parent lookup a `Relationship.ExternalId` column stands for.
    lookups: Vec<Option<Lookup>>,
    origin: Arc<str>,
}

/// A `Account.Hubsync_Id__c`-style column: sets the reference field `via` to the
/// `table` record whose `key` field has the cell's value.
#[derive(Debug, Clone, Copy)]
struct Lookup {
    via: usize,
    table: usize,
    key: usize,
}

/// Bulk API 2.0's per-record limits: characters in one field and in one record, and
/// fields in one record.
const MAX_FIELD_CHARS: usize = 32_000;
const MAX_RECORD_CHARS: usize = 400_000;
const MAX_FIELDS: usize = 5_000;

/// Checks the header row against the object: every column must be a field, `Id`, or a
/// parent's external id through a relationship (`Account.Hubsync_Id__c`); answers the
/// lookups those relationship columns stand for.
fn check_header(
    schema: &Schema,
    object: &ObjectDef,
    header: &[String],
    operation: Operation,
) -> Result<Vec<Option<Lookup>>, String> {
    if header.len() > MAX_FIELDS {
        return Err(format!(
            "InvalidBatch : A record can have at most {MAX_FIELDS} fields; this header has {}",
            header.len()
        ));
    }
    let mut lookups = Vec::with_capacity(header.len());
    for column in header {
        let not_found = || format!("InvalidBatch : Field name not found : {column}");
        let lookup = match column.split_once('.') {
            None if column.eq_ignore_ascii_case("id") || object.field_index(column).is_some() => {
                None
            }
            None => return Err(not_found()),
            Some((relationship, field)) => {
                let via = object.relationship(relationship).ok_or_else(not_found)?;
                let to = object.fields[via]
                    .reference_to
                    .first()
                    .ok_or_else(not_found)?;
                let table = schema.object_index(to).ok_or_else(not_found)?;
                let key = schema.objects[table]
                    .field_index(field)
                    .filter(|k| {
                        let def = &schema.objects[table].fields[*k];
                        def.external_id || def.id_lookup
                    })
                    .ok_or_else(not_found)?;
                Some(Lookup { via, table, key })
            }
        };
        lookups.push(lookup);
    }
    let has_id = header.iter().any(|c| c.eq_ignore_ascii_case("id"));
    if matches!(operation, Operation::Delete | Operation::HardDelete) && !has_id {
        return Err("InvalidBatch : The Id column is required to delete records".into());
    }
    Ok(lookups)
}

/// Processes a closed job: waits its turn, reads the CSV, then saves chunk by chunk
/// until done or aborted.
async fn run(app: Arc<App>, job: Arc<Mutex<Job>>) {
    wait_turn(&app).await;
    let started = std::time::Instant::now();
    let now = || app.clock.now_ms();
    let (read, plan) = {
        let mut j = job.lock();
        if j.state != State::UploadComplete {
            return;
        }
        j.set_state(State::InProgress, now());
        let object = Arc::new(app.schema.objects[j.table].clone());
        let key = j
            .external_id_field
            .as_deref()
            .and_then(|f| object.field_index(f));
        let read = read_uploads(&j).and_then(|csv| {
            let lookups = check_header(&app.schema, &object, &csv.header, j.operation)?;
            Ok((csv, lookups))
        });
        let plan = Plan {
            table: j.table,
            object,
            operation: j.operation,
            key,
            header: Vec::new(),
            lookups: Vec::new(),
            origin: j.origin.clone(),
        };
        (read, plan)
    };
    let (parsed, lookups) = match read {
        Ok((parsed, lookups)) => (Arc::new(parsed), lookups),
        Err(message) => return job.lock().fail(message, now()),
    };
    let options = &app.options.bulk;
    if let Err(message) = app.bulk.take_records(
        parsed.rows.len() as u64,
        options.daily_records,
        options.daily_batches,
        now(),
    ) {
        return job.lock().fail(message, now());
    }
    job.lock().parsed = Some(parsed.clone());
    let plan = Plan {
        header: parsed.header.clone(),
        lookups,
        ..plan
    };
    let rows = &parsed.rows;
    let mut next = 0;
    while next < rows.len() {
        app.bulk.take_chunk().await;
        if job.lock().state != State::InProgress {
            break;
        }
        let end = (next + options.chunk_size.max(1)).min(rows.len());
        let outcomes = save_chunk(&app, &plan, &rows[next..end]);
        {
            let mut j = job.lock();
            j.outcomes.extend(outcomes);
            j.processing_ms = started.elapsed().as_millis() as i64;
        }
        next = end;
        tokio::task::yield_now().await;
    }
    let mut j = job.lock();
    if j.state == State::InProgress {
        j.set_state(State::JobComplete, now());
    }
}

/// Saves one chunk of rows in one transaction (records fail one by one, as with
/// `allOrNone:false`).
fn save_chunk(app: &App, plan: &Plan, rows: &[Vec<String>]) -> Vec<Outcome> {
    let now_ms = app.clock.now_ms();
    let mut lock_fault = || {
        let fired = app.faults.lock_row("bulk");
        if fired {
            app.counters.fault("lock_row");
        }
        fired
    };
    let mut ctx = SaveCtx {
        now_ms,
        user: user_id(),
        lock_fault: &mut lock_fault,
    };
    let mut org = app.org.write();
    let mut txn = org.begin(Some(plan.origin.clone()));
    let outcomes = rows
        .iter()
        .map(|row| save_row(&mut org, &mut txn, plan, row, &mut ctx))
        .collect();
    org.commit(txn);
    outcomes
}

/// `CODE:message:fields`, with `--` when the error names no field.
fn error_text(e: &SfError) -> String {
    let fields = e
        .fields
        .as_ref()
        .filter(|f| !f.is_empty())
        .map(|f| f.join(","))
        .unwrap_or_else(|| "--".into());
    format!("{}:{}:{fields}", e.code, e.message)
}

fn save_row(
    org: &mut Org,
    txn: &mut Txn,
    plan: &Plan,
    row: &[String],
    ctx: &mut SaveCtx,
) -> Outcome {
    let chars: Vec<usize> = row.iter().map(|v| v.chars().count()).collect();
    if let Some(at) = chars.iter().position(|n| *n > MAX_FIELD_CHARS) {
        let column = plan.header.get(at).cloned().unwrap_or_default();
        let e = SfError::on_fields(
            "STRING_TOO_LONG",
            format!("{column}: a Bulk API field holds at most {MAX_FIELD_CHARS} characters"),
            vec![column.clone()],
        );
        return Outcome::Failed(None, error_text(&e));
    }
    if chars.iter().sum::<usize>() > MAX_RECORD_CHARS {
        let e = SfError::new(
            "STRING_TOO_LONG",
            format!("a Bulk API record holds at most {MAX_RECORD_CHARS} characters"),
        );
        return Outcome::Failed(None, error_text(&e));
    }
    let mut body = Map::new();
    for ((column, value), lookup) in plan.header.iter().zip(row).zip(&plan.lookups) {
        if lookup.is_some() {
            continue;
        }
        match value.as_str() {
            "" => {}
            "#N/A" => {
                body.insert(column.clone(), Json::Null);
            }
            text => {
                body.insert(column.clone(), Json::String(text.to_string()));
            }
        }
    }
    let object = &plan.object;
    let row_id = body
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("id"))
        .and_then(|(_, v)| v.as_str())
        .map(str::to_string);
    let known_id = row_id
        .as_deref()
        .and_then(Id::parse)
        .filter(|id| id.key_prefix() == object.key_prefix);
    let fail = |id: Option<Id>, e: &SfError| Outcome::Failed(id, error_text(e));
    let mut decoded = match decode_record(object, &body) {
        Ok(d) => d,
        Err(e) => return fail(known_id, &e.errors[0]),
    };
    for (lookup, text) in plan.lookups.iter().zip(row) {
        let Some(lookup) = lookup else {
            continue;
        };
        let value = match text.as_str() {
            "" => continue,
            "#N/A" => Value::Null,
            text => match parent_id(org, lookup, text) {
                Ok(id) => Value::Id(id),
                Err(e) => return fail(known_id, &e),
            },
        };
        decoded.fields.retain(|(f, _)| *f != lookup.via);
        decoded.fields.push((lookup.via, value));
    }
    let need_id = || match (&row_id, known_id) {
        (_, Some(id)) => Ok(id),
        (None, None) => Err(SfError::new(
            "MISSING_ARGUMENT",
            format!("Id not specified in an {} call", plan.operation.name()),
        )),
        (Some(text), None) => Err(SfError::on_fields(
            "MALFORMED_ID",
            format!("{} ID: id value of incorrect type: {text}", object.label),
            vec!["Id".into()],
        )),
    };
    let table = plan.table;
    let result = match plan.operation {
        Operation::Insert => save::create(org, txn, table, &decoded, ctx).map(|id| (id, true)),
        Operation::Update => need_id()
            .and_then(|id| save::update(org, txn, table, id, &decoded, ctx).map(|_| (id, false))),
        Operation::Delete => {
            need_id().and_then(|id| save::delete(org, txn, id, ctx).map(|_| (id, false)))
        }
        Operation::HardDelete => {
            need_id().and_then(|id| save::hard_delete(org, txn, id, ctx).map(|_| (id, false)))
        }
        Operation::Upsert => return upsert_row(org, txn, plan, decoded, known_id, ctx),
        Operation::Query | Operation::QueryAll => unreachable!("query jobs save nothing"),
    };
    match result {
        Ok((id, created)) => Outcome::Saved(id, created),
        Err(e) => fail(known_id.filter(|_| plan.operation != Operation::Insert), &e),
    }
}

fn upsert_row(
    org: &mut Org,
    txn: &mut Txn,
    plan: &Plan,
    decoded: crate::decode::Decoded,
    known_id: Option<Id>,
    ctx: &mut SaveCtx,
) -> Outcome {
    let object = &plan.object;
    let Some(key_field) = plan.key else {
        return Outcome::Failed(None, "INVALID_FIELD:no external id field:--".into());
    };
    let def = &object.fields[key_field];
    let key = if def.role == Role::Id {
        known_id.map(Value::Id)
    } else {
        decoded
            .fields
            .iter()
            .find(|(i, v)| *i == key_field && !v.is_blank())
            .map(|(_, v)| v.clone())
    };
    let Some(key) = key else {
        let e = SfError::on_fields(
            "MISSING_ARGUMENT",
            format!("{} not specified", def.name),
            Vec::new(),
        );
        return Outcome::Failed(None, error_text(&e));
    };
    match save::upsert(org, txn, plan.table, key_field, &key, &decoded, ctx) {
        Ok((id, created)) => Outcome::Saved(id, created),
        Err(UpsertError::Failed(e)) => Outcome::Failed(None, error_text(&e)),
        Err(UpsertError::Multiple(ids)) => {
            let list: Vec<String> = ids.iter().map(Id::to_string).collect();
            let e = SfError::new(
                "DUPLICATE_EXTERNAL_ID",
                format!(
                    "{}: more than one record found for external id field: [{}]",
                    def.name,
                    list.join(", ")
                ),
            );
            Outcome::Failed(None, error_text(&e))
        }
    }
}

/// The parent record a relationship column's value names by external id.
fn parent_id(org: &Org, lookup: &Lookup, text: &str) -> Result<Id, SfError> {
    let parent = &org.schema.objects[lookup.table];
    let key = &parent.fields[lookup.key];
    let value =
        decode_value(key, &Json::String(text.to_string())).map_err(|e| e.errors[0].clone())?;
    match save::find_by(org, lookup.table, lookup.key, &value).as_slice() {
        [id] => Ok(*id),
        [] => Err(SfError::new(
            "INVALID_FIELD",
            format!(
                "Foreign key external ID: {text} not found for field {} in entity {}",
                key.name, parent.name
            ),
        )),
        _ => Err(SfError::new(
            "INVALID_FIELD",
            format!(
                "More than 1 record found for External ID field: {} in entity {}",
                key.name, parent.name
            ),
        )),
    }
}

/// The parsed rows of a job, reading the uploads when processing never did.
fn rows_of(job: &Job) -> Option<Arc<Csv>> {
    job.parsed
        .clone()
        .or_else(|| read_uploads(job).ok().map(Arc::new))
}

/// `successfulResults` (`sf__Id`, `sf__Created`) or `failedResults` (`sf__Id`,
/// `sf__Error`), each followed by the row as uploaded.
pub fn results(job: &Job, successful: bool) -> Vec<u8> {
    let mut out = csvdata::Writer::new(job.delimiter, job.ending);
    let parsed = job.parsed.clone();
    let header = parsed
        .as_ref()
        .map(|p| p.header.as_slice())
        .unwrap_or_default();
    let second = if successful {
        "sf__Created"
    } else {
        "sf__Error"
    };
    out.row(
        ["sf__Id", second]
            .into_iter()
            .chain(header.iter().map(String::as_str)),
    );
    if let Some(parsed) = &parsed {
        for (outcome, row) in job.outcomes.iter().zip(&parsed.rows) {
            let (id, second) = match (outcome, successful) {
                (Outcome::Saved(id, created), true) => (id.to_string(), created.to_string()),
                (Outcome::Failed(id, error), false) => {
                    (id.map(|i| i.to_string()).unwrap_or_default(), error.clone())
                }
                _ => continue,
            };
            out.row(
                [id.as_str(), second.as_str()]
                    .into_iter()
                    .chain(row.iter().map(String::as_str)),
            );
        }
    }
    out.finish()
}

/// `unprocessedrecords`: the rows processing never reached, as uploaded.
pub fn unprocessed(job: &Job) -> Vec<u8> {
    let mut out = csvdata::Writer::new(job.delimiter, job.ending);
    if let Some(parsed) = rows_of(job) {
        out.row(&parsed.header);
        for row in parsed.rows.iter().skip(job.outcomes.len()) {
            out.row(row);
        }
    }
    out.finish()
}
