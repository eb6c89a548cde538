//! `/services/data/…`: version check, authentication, faults, the API limit, then
//! the resource call, with `Sforce-Limit-Info` on every answer.

use super::{empty_response, inject_faults, json_response, lose_answer, ApiRequest, ConnKill};
use crate::api::{self, meta, ApiResponse, Ctx, Version};
use crate::app::App;
use crate::errors::{ApiError, SfError};
use crate::faults::After;
use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, Response};
use std::sync::Arc;

/// `GET /services/data/` (no authentication, no limit header).
pub async fn versions(State(app): State<Arc<App>>) -> Response<Body> {
    app.counters.status(200);
    json_response(200, meta::versions(app.options.max_api_version))
}

/// Every other data URL.
pub async fn handle(State(app): State<Arc<App>>, request: ApiRequest) -> Response<Body> {
    let response = answer(&app, &request).await;
    super::counted(&app, with_limit(&app, response))
}

async fn answer(app: &Arc<App>, request: &ApiRequest) -> Response<Body> {
    let path = request
        .uri
        .path()
        .strip_prefix("/services/data/")
        .unwrap_or_default();
    let (version_segment, rest) = path.split_once('/').unwrap_or((path, ""));
    let version = match Version::parse(version_segment, app.options.max_api_version) {
        Ok(v) => v,
        Err(e) => return json_response(e.status, e.body()),
    };
    if let Some(jobs) = rest
        .strip_prefix("jobs/")
        .or((rest == "jobs").then_some(""))
    {
        return bulk(app, request, version, jobs).await;
    }
    let route = match api::route(
        app,
        request.method.as_str(),
        version,
        rest,
        request.uri.query().unwrap_or_default(),
    ) {
        Ok(route) => route,
        Err(e) => return json_response(e.status, e.body()),
    };
    let class = route.class();
    let after = match admit(app, &request.conn, &request.headers, class).await {
        Ok(after) => after,
        Err(refused) => return refused,
    };
    let parsed = if route.takes_body() {
        match api::parse_body(&request.body) {
            Ok(json) => json,
            Err(e) => return json_response(e.status, e.body()),
        }
    } else {
        None
    };
    let headers = &request.headers;
    let ctx = Ctx {
        app,
        version,
        class,
        origin: change_origin(headers, version, "rest").into(),
        batch_size: batch_size(headers),
        now_ms: app.clock.now_ms(),
        all_or_none: false,
        conditions: api::conditional::Conditions::read(
            |name| headers.get(name).and_then(|v| v.to_str().ok()),
            app.precondition_failed_code,
        ),
    };
    let answer = to_http(api::execute(&ctx, route, parsed));
    lose_answer(after, answer, &request.conn).await
}

/// What every API call passes, in a real org's order: authentication, then injected
/// faults, then the daily request limit; the call is then counted for `class`. Answers
/// what an `*_after` fault will do to the call's answer.
async fn admit(
    app: &App,
    conn: &ConnKill,
    headers: &HeaderMap,
    class: &'static str,
) -> Result<Option<After>, Response<Body>> {
    authenticate(app, headers).map_err(|e| json_response(e.status, e.body()))?;
    let after = inject_faults(app, class, conn).await?;
    if !app.usage.try_consume() {
        let e = ApiError::new(
            403,
            SfError::new("REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."),
        );
        return Err(json_response(e.status, e.body()));
    }
    app.counters.api_call(class);
    Ok(after)
}

/// A Bulk API 2.0 call: admitted and counted like any other.
async fn bulk(
    app: &Arc<App>,
    request: &ApiRequest,
    version: Version,
    path: &str,
) -> Response<Body> {
    let after = match admit(app, &request.conn, &request.headers, "bulk").await {
        Ok(after) => after,
        Err(refused) => return refused,
    };
    let answer = api::bulk::handle(api::bulk::BulkCall {
        app,
        method: request.method.as_str(),
        version,
        path,
        query: request.uri.query().unwrap_or_default(),
        origin: change_origin(&request.headers, version, BULK_ORIGIN_API).into(),
        body: request.body.clone(),
    });
    lose_answer(after, answer, &request.conn).await
}

/// The API name Bulk API 2.0 writes carry in `changeOrigin` (not confirmed against a
/// real org; the `client=` part, which syncs match on, is the documented one).
const BULK_ORIGIN_API: &str = "bulkapi";

/// Checks `Authorization: Bearer <token>` (or `OAuth <token>`).
fn authenticate(app: &App, headers: &HeaderMap) -> Result<(), ApiError> {
    match super::session(app, headers) {
        super::Session::Valid => Ok(()),
        super::Session::Missing => Err(ApiError::new(
            401,
            SfError::new("INVALID_AUTH_HEADER", "INVALID_HEADER_TYPE"),
        )),
        super::Session::Invalid => Err(ApiError::new(
            401,
            SfError::new("INVALID_SESSION_ID", "Session expired or invalid"),
        )),
    }
}

/// CDC `changeOrigin` of this request's writes through `api` (`rest`, `bulkapi`), from
/// `Sforce-Call-Options: client=<id>`.
fn change_origin(headers: &HeaderMap, version: Version, api: &str) -> String {
    let client = headers
        .get("sforce-call-options")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.split(',')
                .find_map(|part| part.trim().strip_prefix("client="))
        })
        .map(str::trim);
    match client {
        Some(client) => format!(
            "com/salesforce/api/{api}/{};client={client}",
            version.text()
        ),
        None => format!("com/salesforce/api/{api}/{}", version.text()),
    }
}

/// `Sforce-Query-Options: batchSize=N`, clamped to 200..=2000 as the API does.
fn batch_size(headers: &HeaderMap) -> usize {
    headers
        .get("sforce-query-options")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.split(',')
                .find_map(|part| part.trim().strip_prefix("batchSize="))
        })
        .and_then(|n| n.trim().parse::<usize>().ok())
        .map(|n| n.clamp(200, 2000))
        .unwrap_or(2000)
}

fn with_limit(app: &App, mut response: Response<Body>) -> Response<Body> {
    if let Ok(value) = HeaderValue::from_str(&app.usage.header()) {
        response.headers_mut().insert("sforce-limit-info", value);
    }
    response
}

/// An API answer as an HTTP response.
fn to_http(answer: ApiResponse) -> Response<Body> {
    let mut response = match answer.body {
        Some(body) => json_response(answer.status, body),
        None => empty_response(answer.status),
    };
    if let Some(location) = answer.location.and_then(|l| HeaderValue::from_str(&l).ok()) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    for (name, value) in answer.headers {
        if let Ok(value) = HeaderValue::from_str(&value) {
            response.headers_mut().insert(name, value);
        }
    }
    response
}
