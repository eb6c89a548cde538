//! `/query` and `/queryAll` with `nextRecordsUrl` paging. A query's matching rows are
//! snapshotted (shared record versions, no copies) into a cursor that later pages read
//! without touching the org lock.

use super::render::{write_record, write_related};
use super::{ApiResponse, Ctx};
use crate::errors::ApiError;
use crate::ids::Id;
use crate::soql::{self, Related, SoqlError};
use crate::store::{Org, Record};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// The result set behind a query locator.
pub struct Cursor {
    table: usize,
    fields: Vec<usize>,
    rows: Vec<Arc<Record>>,
    /// With relationship columns: the plan (for its columns) and each row's related
    /// records, looked up when the query ran.
    related: Option<(Arc<soql::Plan>, Vec<Related>)>,
}

/// Open query locators, expiring after the configured idle time.
#[derive(Default)]
pub struct Cursors {
    open: Mutex<HashMap<String, (Arc<Cursor>, i64)>>,
    counter: AtomicU64,
}

impl Cursors {
    fn open(&self, cursor: Arc<Cursor>, now_ms: i64, ttl_ms: i64) -> String {
        let locator =
            Id::generate("01g", self.counter.fetch_add(1, Ordering::Relaxed) + 1).to_string();
        let mut open = self.open.lock();
        open.retain(|_, (_, used)| now_ms - *used < ttl_ms);
        open.insert(locator.clone(), (cursor, now_ms));
        locator
    }

    fn get(&self, locator: &str, now_ms: i64, ttl_ms: i64) -> Option<Arc<Cursor>> {
        let mut open = self.open.lock();
        let entry = open.get_mut(locator)?;
        if now_ms - entry.1 >= ttl_ms {
            open.remove(locator);
            return None;
        }
        entry.1 = now_ms;
        Some(entry.0.clone())
    }

    /// Invalidates every locator (admin API).
    pub fn expire_all(&self) {
        self.open.lock().clear();
    }
}

fn soql_error(e: SoqlError) -> ApiError {
    ApiError::bad_request(e.code, e.message)
}

/// Parses, checks and runs a query against a locked org.
fn start(org: &Org, ctx: &Ctx, soql: Option<&str>, all: bool) -> Result<(Cursor, bool), ApiError> {
    let text = soql.filter(|s| !s.trim().is_empty()).ok_or_else(|| {
        ApiError::bad_request("MALFORMED_QUERY", "A query string has to be specified")
    })?;
    let parsed = soql::parse(text).map_err(soql_error)?;
    let plan = soql::compile(&parsed, text, &org.schema, ctx.now_ms).map_err(soql_error)?;
    let rows = soql::execute(&plan, &org.tables[plan.table], all);
    let (count_only, table, fields) = (plan.count_only, plan.table, plan.fields.clone());
    let related = plan.has_relationships().then(|| {
        let related = soql::relate(&plan.columns, &org.tables, &rows, all);
        (Arc::new(plan), related)
    });
    Ok((
        Cursor {
            table,
            fields,
            rows,
            related,
        },
        count_only,
    ))
}

/// `GET /query?q=` / `GET /queryAll?q=`: the first page.
pub fn run(ctx: &Ctx, soql: Option<&str>, all: bool) -> ApiResponse {
    let started = {
        let org = ctx.app.org.read();
        start(&org, ctx, soql, all)
    };
    match started {
        Ok((cursor, count_only)) => first_page(ctx, cursor, count_only),
        Err(e) => e.into(),
    }
}

/// The same inside a composite request, which already holds the lock.
pub fn run_in(
    org: &Org,
    ctx: &Ctx,
    soql: Option<&str>,
    all: bool,
) -> Result<ApiResponse, ApiError> {
    let (cursor, count_only) = start(org, ctx, soql, all)?;
    Ok(first_page(ctx, cursor, count_only))
}

fn ttl_ms(ctx: &Ctx) -> i64 {
    ctx.app.options.query_locator_ttl.as_millis() as i64
}

fn first_page(ctx: &Ctx, cursor: Cursor, count_only: bool) -> ApiResponse {
    if count_only {
        return ApiResponse::json(
            200,
            format!(
                "{{\"totalSize\":{},\"done\":true,\"records\":[]}}",
                cursor.rows.len()
            ),
        );
    }
    if cursor.rows.len() <= ctx.batch_size {
        return ApiResponse::json(200, page(ctx, &cursor, 0, None));
    }
    let cursor = Arc::new(cursor);
    let locator = ctx
        .app
        .cursors
        .open(cursor.clone(), ctx.now_ms, ttl_ms(ctx));
    ApiResponse::json(200, page(ctx, &cursor, 0, Some(&locator)))
}

/// `GET /query/<locator>-<offset>`: a later page.
pub fn more(ctx: &Ctx, locator: &str) -> ApiResponse {
    let parsed = locator
        .rsplit_once('-')
        .and_then(|(id, offset)| Some((id, offset.parse::<usize>().ok()?)));
    let cursor = parsed.and_then(|(id, offset)| {
        Some((
            ctx.app.cursors.get(id, ctx.now_ms, ttl_ms(ctx))?,
            id,
            offset,
        ))
    });
    match cursor {
        Some((cursor, id, offset)) if offset <= cursor.rows.len() => {
            ApiResponse::json(200, page(ctx, &cursor, offset, Some(id)))
        }
        _ => ApiError::bad_request("INVALID_QUERY_LOCATOR", "invalid query locator").into(),
    }
}

/// `{"totalSize":…,"done":…,"nextRecordsUrl":…,"records":[…]}` from `offset`.
fn page(ctx: &Ctx, cursor: &Cursor, offset: usize, locator: Option<&str>) -> String {
    let object = &ctx.app.schema.objects[cursor.table];
    let end = (offset + ctx.batch_size).min(cursor.rows.len());
    let done = end >= cursor.rows.len();
    let version = ctx.version.text();
    let mut out = String::with_capacity(128 + (end - offset) * (64 + cursor.fields.len() * 32));
    out.push_str("{\"totalSize\":");
    out.push_str(&cursor.rows.len().to_string());
    out.push_str(if done {
        ",\"done\":true"
    } else {
        ",\"done\":false"
    });
    if let (false, Some(locator)) = (done, locator) {
        out.push_str(&format!(
            ",\"nextRecordsUrl\":\"/services/data/v{version}/query/{locator}-{end}\""
        ));
    }
    out.push_str(",\"records\":[");
    for (i, record) in cursor.rows[offset..end].iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        match &cursor.related {
            None => write_record(&mut out, object, record, &cursor.fields, &version),
            Some((plan, related)) => write_related(
                &mut out,
                &ctx.app.schema,
                (object, record, &related[offset + i]),
                &plan.columns,
                &version,
                &ctx.app.options.username,
            ),
        }
    }
    out.push_str("]}");
    out
}
