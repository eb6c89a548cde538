//! The Salesforce REST API under `/services/data/vXX.X/`: routing, the request context,
//! and dispatch to the resource handlers. Composite requests re-enter [`run_locked`]
//! with each subrequest, so every resource behaves the same inside and outside them.

pub mod bulk;
pub mod collections;
pub mod composite;
pub mod conditional;
pub mod describe;
pub mod meta;
pub mod query;
pub mod render;
pub mod replication;
pub mod sobject;

use crate::app::App;
use crate::errors::{ApiError, SfError};
use crate::ids::user_id;
use crate::save::SaveCtx;
use crate::store::{Org, Txn};
use serde_json::Value as Json;
use std::sync::Arc;

/// An API version; only `NN.0` versions exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version(pub u32);

impl Version {
    /// Oldest version still served (21.0–30.0 were retired in Summer '25).
    pub const OLDEST: u32 = 31;

    /// `59.0`.
    pub fn text(self) -> String {
        format!("{}.0", self.0)
    }

    /// Parses the version segment of a data URL: `v59.0` or `latest`.
    pub fn parse(segment: &str, max: u32) -> Result<Version, ApiError> {
        if segment == "latest" {
            return Ok(Version(max));
        }
        let number = segment
            .strip_prefix('v')
            .and_then(|s| s.strip_suffix(".0"))
            .and_then(|s| s.parse::<u32>().ok())
            .ok_or_else(ApiError::not_found)?;
        if (7..Self::OLDEST).contains(&number) {
            return Err(ApiError::new(
                410,
                SfError::new(
                    "API_VERSION_RETIRED",
                    format!(
                        "The requested API version ({segment}) has been retired. Use API version {}.0 or later.",
                        Self::OLDEST
                    ),
                ),
            ));
        }
        if !(Self::OLDEST..=max).contains(&number) {
            return Err(ApiError::not_found());
        }
        Ok(Version(number))
    }
}

/// One resolved REST resource call.
#[derive(Debug, Clone)]
pub enum Route {
    Directory,
    Limits,
    DescribeGlobal,
    SObjectInfo(usize),
    Describe(usize),
    Create(usize),
    Retrieve {
        table: usize,
        id: String,
        fields: Option<String>,
    },
    Update {
        table: usize,
        id: String,
    },
    Delete {
        table: usize,
        id: String,
    },
    RetrieveByExternalId {
        table: usize,
        field: String,
        value: String,
        fields: Option<String>,
    },
    Upsert {
        table: usize,
        field: String,
        value: String,
    },
    DeleteByExternalId {
        table: usize,
        field: String,
        value: String,
    },
    /// Get Updated or Get Deleted.
    Replication {
        table: usize,
        changes: replication::Changes,
        start: Option<String>,
        end: Option<String>,
    },
    Query {
        soql: Option<String>,
        all: bool,
    },
    QueryMore {
        locator: String,
    },
    Composite,
    CompositeBatch,
    CollectionCreate,
    CollectionUpdate,
    CollectionDelete {
        ids: Option<String>,
        all_or_none: bool,
    },
    CollectionRetrieve {
        table: usize,
        ids: Option<String>,
        fields: Option<String>,
    },
    CollectionUpsert {
        table: usize,
        field: String,
    },
}

impl Route {
    /// The endpoint class used by fault rules and counters.
    pub fn class(&self) -> &'static str {
        match self {
            Route::Directory => "meta",
            Route::Limits => "limits",
            Route::DescribeGlobal | Route::SObjectInfo(_) | Route::Describe(_) => "describe",
            Route::Replication { .. } => "replication",
            Route::Query { .. } | Route::QueryMore { .. } => "query",
            Route::Composite | Route::CompositeBatch => "composite",
            Route::CollectionCreate
            | Route::CollectionUpdate
            | Route::CollectionDelete { .. }
            | Route::CollectionRetrieve { .. }
            | Route::CollectionUpsert { .. } => "collections",
            _ => "sobject",
        }
    }

    fn writes(&self) -> bool {
        matches!(
            self,
            Route::Create(_)
                | Route::Update { .. }
                | Route::Delete { .. }
                | Route::Upsert { .. }
                | Route::DeleteByExternalId { .. }
                | Route::CollectionCreate
                | Route::CollectionUpdate
                | Route::CollectionDelete { .. }
                | Route::CollectionUpsert { .. }
        )
    }

    /// Whether the call reads a JSON body.
    pub fn takes_body(&self) -> bool {
        self.writes()
            && !matches!(
                self,
                Route::Delete { .. }
                    | Route::DeleteByExternalId { .. }
                    | Route::CollectionDelete { .. }
            )
            || matches!(
                self,
                Route::Composite | Route::CompositeBatch | Route::CollectionRetrieve { .. }
            )
    }
}

fn not_allowed(method: &str, allowed: &str) -> ApiError {
    ApiError::new(
        405,
        SfError::new(
            "METHOD_NOT_ALLOWED",
            format!("HTTP Method '{method}' not allowed. Allowed are {allowed}"),
        ),
    )
}

/// Decodes `%XX` escapes of one path segment.
fn percent_decode(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 3 <= bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
            if let Ok(b) = u8::from_str_radix(hex, 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Query-string parameters.
pub fn query_params(query: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect()
}

fn param(params: &[(String, String)], name: &str) -> Option<String> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
}

/// Resolves a path below `/services/data/vXX.X/` (trailing slashes tolerated).
pub fn route(
    app: &App,
    method: &str,
    version: Version,
    path: &str,
    query: &str,
) -> Result<Route, ApiError> {
    let segments: Vec<String> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(percent_decode)
        .collect();
    let seg: Vec<&str> = segments.iter().map(String::as_str).collect();
    let params = query_params(query);
    let p = |name: &str| param(&params, name);
    let object = |name: &str| {
        app.schema
            .object_index(name)
            .ok_or_else(ApiError::not_found)
    };
    let need = |min: u32| {
        if version.0 >= min {
            Ok(())
        } else {
            Err(ApiError::not_found())
        }
    };
    let only = |allowed: &str, route: Route| {
        if allowed
            .split(',')
            .any(|m| m == method || m == "HEAD" && method == "GET")
        {
            Ok(route)
        } else {
            Err(not_allowed(method, allowed))
        }
    };
    match seg.as_slice() {
        [] => only("GET", Route::Directory),
        ["limits"] => only("GET", Route::Limits),
        ["sobjects"] => only("GET", Route::DescribeGlobal),
        ["sobjects", t] => {
            let table = object(t)?;
            match method {
                "GET" => Ok(Route::SObjectInfo(table)),
                "POST" => Ok(Route::Create(table)),
                _ => Err(not_allowed(method, "GET,HEAD,POST")),
            }
        }
        ["sobjects", t, "describe"] => only("GET", Route::Describe(object(t)?)),
        ["sobjects", t, changes @ ("updated" | "deleted")] => only(
            "GET",
            Route::Replication {
                table: object(t)?,
                changes: if *changes == "updated" {
                    replication::Changes::Updated
                } else {
                    replication::Changes::Deleted
                },
                start: p("start"),
                end: p("end"),
            },
        ),
        ["sobjects", t, id] => {
            let table = object(t)?;
            let id = id.to_string();
            match method {
                "GET" => Ok(Route::Retrieve {
                    table,
                    id,
                    fields: p("fields"),
                }),
                "PATCH" => Ok(Route::Update { table, id }),
                "DELETE" => Ok(Route::Delete { table, id }),
                "POST" if id.eq_ignore_ascii_case("id") => need(37).map(|_| Route::Create(table)),
                _ => Err(not_allowed(method, "GET,HEAD,PATCH,DELETE")),
            }
        }
        ["sobjects", t, field, value] => {
            let table = object(t)?;
            let (field, value) = (field.to_string(), value.to_string());
            match method {
                "GET" => Ok(Route::RetrieveByExternalId {
                    table,
                    field,
                    value,
                    fields: p("fields"),
                }),
                "PATCH" => Ok(Route::Upsert {
                    table,
                    field,
                    value,
                }),
                "DELETE" => Ok(Route::DeleteByExternalId {
                    table,
                    field,
                    value,
                }),
                _ => Err(not_allowed(method, "GET,HEAD,PATCH,DELETE")),
            }
        }
        ["query"] => only(
            "GET",
            Route::Query {
                soql: p("q"),
                all: false,
            },
        ),
        ["queryAll"] => only(
            "GET",
            Route::Query {
                soql: p("q"),
                all: true,
            },
        ),
        ["query" | "queryAll", locator] => only(
            "GET",
            Route::QueryMore {
                locator: locator.to_string(),
            },
        ),
        ["composite"] => need(38).and_then(|_| only("POST", Route::Composite)),
        ["composite", "batch"] => need(34).and_then(|_| only("POST", Route::CompositeBatch)),
        ["composite", "sobjects"] => {
            need(42)?;
            match method {
                "POST" => Ok(Route::CollectionCreate),
                "PATCH" => Ok(Route::CollectionUpdate),
                "DELETE" => Ok(Route::CollectionDelete {
                    ids: p("ids"),
                    all_or_none: p("allOrNone").is_some_and(|v| v.eq_ignore_ascii_case("true")),
                }),
                _ => Err(not_allowed(method, "POST,PATCH,DELETE")),
            }
        }
        ["composite", "sobjects", t] => {
            need(42)?;
            let table = object(t)?;
            match method {
                "GET" | "POST" => Ok(Route::CollectionRetrieve {
                    table,
                    ids: p("ids"),
                    fields: p("fields"),
                }),
                _ => Err(not_allowed(method, "GET,POST")),
            }
        }
        ["composite", "sobjects", t, field] => {
            need(46)?;
            only(
                "PATCH",
                Route::CollectionUpsert {
                    table: object(t)?,
                    field: field.to_string(),
                },
            )
        }
        _ => Err(ApiError::not_found()),
    }
}

/// What one API call answers.
#[derive(Debug, Clone)]
pub struct ApiResponse {
    pub status: u16,
    /// JSON text; `None` for an empty body (204).
    pub body: Option<String>,
    /// `Location` header (record created).
    pub location: Option<String>,
    /// Some records of a collection call failed (the call itself answers 200); a
    /// composite `allOrNone` request treats that as a failed subrequest.
    pub record_failures: bool,
    /// Further headers (`Last-Modified`, `ETag`).
    pub headers: Vec<(&'static str, String)>,
}

impl ApiResponse {
    /// A JSON answer.
    pub fn json(status: u16, body: String) -> ApiResponse {
        ApiResponse {
            status,
            body: Some(body),
            location: None,
            record_failures: false,
            headers: Vec::new(),
        }
    }

    /// An empty answer.
    pub fn empty(status: u16) -> ApiResponse {
        ApiResponse {
            status,
            body: None,
            location: None,
            record_failures: false,
            headers: Vec::new(),
        }
    }
}

impl From<ApiError> for ApiResponse {
    fn from(error: ApiError) -> Self {
        ApiResponse::json(error.status, error.body())
    }
}

/// The per-call context.
pub struct Ctx<'a> {
    pub app: &'a App,
    pub version: Version,
    pub class: &'static str,
    /// CDC change origin of writes (`com/salesforce/api/rest/59.0;client=…`).
    pub origin: Arc<str>,
    /// Requested query page size (`Sforce-Query-Options: batchSize=`).
    pub batch_size: usize,
    pub now_ms: i64,
    /// Inside a composite `allOrNone` request, which makes every collection in it
    /// all-or-none too.
    pub all_or_none: bool,
    /// The request's conditional headers (none for composite subrequests).
    pub conditions: conditional::Conditions,
}

impl Ctx<'_> {
    /// Runs one record write as this call's API user at this call's time, with row-lock
    /// faults that follow its endpoint class.
    pub fn saving<T>(&self, save: impl FnOnce(&mut SaveCtx) -> T) -> T {
        let mut lock_fault = || {
            let fired = self.app.faults.lock_row(self.class);
            if fired {
                self.app.counters.fault("lock_row");
            }
            fired
        };
        save(&mut SaveCtx {
            now_ms: self.now_ms,
            user: user_id(),
            lock_fault: &mut lock_fault,
        })
    }
}

/// Runs one call, taking the org lock only as long as needed.
pub fn execute(ctx: &Ctx, route: Route, body: Option<Json>) -> ApiResponse {
    match route {
        Route::Composite => composite::composite(ctx, body),
        Route::CompositeBatch => composite::batch(ctx, body),
        Route::Query { soql, all } => query::run(ctx, soql.as_deref(), all),
        Route::QueryMore { locator } => query::more(ctx, &locator),
        route if route.writes() => {
            let mut org = ctx.app.org.write();
            let mut txn = org.begin(Some(ctx.origin.clone()));
            let response = run_locked(&mut org, &mut txn, ctx, route, body);
            org.commit(txn);
            response
        }
        route => {
            let org = ctx.app.org.read();
            read(&org, ctx, route, body)
        }
    }
}

/// Runs one call while the caller holds the write lock (composite subrequests).
pub fn run_locked(
    org: &mut Org,
    txn: &mut Txn,
    ctx: &Ctx,
    route: Route,
    body: Option<Json>,
) -> ApiResponse {
    let result = match route {
        Route::Create(table) => sobject::create(org, txn, ctx, table, body),
        Route::Update { table, id } => sobject::update(org, txn, ctx, table, &id, body),
        Route::Delete { table, id } => sobject::delete(org, txn, ctx, table, &id),
        Route::Upsert {
            table,
            field,
            value,
        } => sobject::upsert(org, txn, ctx, table, &field, &value, body),
        Route::DeleteByExternalId {
            table,
            field,
            value,
        } => sobject::delete_by_external_id(org, txn, ctx, table, &field, &value),
        Route::CollectionCreate => collections::create(org, txn, ctx, body),
        Route::CollectionUpdate => collections::update(org, txn, ctx, body),
        Route::CollectionUpsert { table, field } => {
            collections::upsert(org, txn, ctx, table, &field, body)
        }
        Route::CollectionDelete { ids, all_or_none } => {
            collections::delete(org, txn, ctx, ids.as_deref(), all_or_none)
        }
        Route::Query { soql, all } => query::run_in(org, ctx, soql.as_deref(), all),
        Route::QueryMore { locator } => Ok(query::more(ctx, &locator)),
        Route::Composite | Route::CompositeBatch => Err(ApiError::bad_request(
            "INVALID_API_INPUT",
            "Composite requests cannot be nested; send the subrequests directly",
        )),
        route => return read(org, ctx, route, body),
    };
    result.unwrap_or_else(ApiResponse::from)
}

fn read(org: &Org, ctx: &Ctx, route: Route, body: Option<Json>) -> ApiResponse {
    let result = match route {
        Route::Directory => Ok(meta::directory(ctx)),
        Route::Limits => Ok(meta::limits(ctx)),
        Route::DescribeGlobal => Ok(unless_schema_unchanged(ctx, describe::global)),
        Route::SObjectInfo(table) => Ok(unless_schema_unchanged(ctx, |ctx| {
            describe::basic_info(ctx, table)
        })),
        Route::Describe(table) => Ok(unless_schema_unchanged(ctx, |ctx| {
            describe::object(ctx, table)
        })),
        Route::Retrieve { table, id, fields } => {
            sobject::retrieve(org, ctx, table, &id, fields.as_deref())
        }
        Route::RetrieveByExternalId {
            table,
            field,
            value,
            fields,
        } => sobject::retrieve_by_external_id(org, ctx, table, &field, &value, fields.as_deref()),
        Route::Replication {
            table,
            changes,
            start,
            end,
        } => replication::run(org, ctx, table, changes, start.as_deref(), end.as_deref()),
        Route::CollectionRetrieve { table, ids, fields } => {
            collections::retrieve(org, ctx, table, ids, fields, body)
        }
        other => Err(ApiError::bad_request(
            "INVALID_OPERATION",
            format!("{other:?} is not a read"),
        )),
    };
    result.unwrap_or_else(ApiResponse::from)
}

/// A describe answer, or 304 when the client's `If-Modified-Since` is not older than
/// the schema; either way with the schema's `Last-Modified`.
fn unless_schema_unchanged(ctx: &Ctx, describe: impl FnOnce(&Ctx) -> ApiResponse) -> ApiResponse {
    let stamp = ctx.app.schema_stamp_ms;
    let mut response = if ctx.conditions.not_modified(stamp, None) {
        ApiResponse::empty(304)
    } else {
        describe(ctx)
    };
    response
        .headers
        .push(("last-modified", conditional::http_date(stamp)));
    response
}

/// Parses a request body as JSON, with the parser error shape of a real org.
pub fn parse_body(bytes: &[u8]) -> Result<Option<Json>, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    serde_json::from_slice(bytes).map(Some).map_err(|e| {
        ApiError::json_parser(format!(
            "{} at [line:{}, column:{}]",
            describe_json_error(&e),
            e.line(),
            e.column()
        ))
    })
}

fn describe_json_error(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let cut = text.find(" at line ").unwrap_or(text.len());
    let reason = &text[..cut];
    format!("Unexpected character ({reason})")
}

/// The body as a JSON object, or the error a real org gives for anything else.
pub fn body_object(body: Option<Json>) -> Result<serde_json::Map<String, Json>, ApiError> {
    match body {
        Some(Json::Object(map)) => Ok(map),
        Some(other) => Err(ApiError::json_parser(format!(
            "Cannot deserialize instance of SObject from {} value",
            if other.is_array() {
                "START_ARRAY"
            } else {
                "VALUE_STRING"
            }
        ))),
        None => Err(ApiError::json_parser(
            "No content to map due to end-of-input",
        )),
    }
}
