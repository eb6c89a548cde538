//! `/services/data/…`: version check, authentication, faults, the API limit, then
//! the resource call, with `Sforce-Limit-Info` on every answer.

use super::{empty_response, inject_faults, json_response, lose_answer, ApiRequest};
use crate::api::{self, meta, ApiResponse, Ctx, Version};
use crate::app::App;
use crate::errors::{ApiError, SfError};
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
    let response = with_limit(&app, answer(&app, &request).await);
    app.counters.status(response.status().as_u16());
    response
}

async fn answer(app: &App, request: &ApiRequest) -> Response<Body> {
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
    if let Err(e) = authenticate(app, &request.headers) {
        return json_response(e.status, e.body());
    }
    let class = route.class();
    let after = match inject_faults(app, class, &request.conn).await {
        Ok(after) => after,
        Err(failure) => return failure,
    };
    if !app.usage.try_consume() {
        let e = ApiError::new(
            403,
            SfError::new("REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."),
        );
        return json_response(e.status, e.body());
    }
    app.counters.api_call(class);
    let parsed = if route.takes_body() {
        match api::parse_body(&request.body) {
            Ok(json) => json,
            Err(e) => return json_response(e.status, e.body()),
        }
    } else {
        None
    };
    let ctx = Ctx {
        app,
        version,
        class,
        origin: change_origin(&request.headers, version).into(),
        batch_size: batch_size(&request.headers),
        now_ms: app.clock.now_ms(),
        all_or_none: false,
    };
    let answer = to_http(api::execute(&ctx, route, parsed));
    lose_answer(after, answer, &request.conn).await
}

/// Checks `Authorization: Bearer <token>` (or `OAuth <token>`).
fn authenticate(app: &App, headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return Err(ApiError::new(
            401,
            SfError::new("INVALID_AUTH_HEADER", "INVALID_HEADER_TYPE"),
        ));
    };
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("OAuth "))
        .unwrap_or_default()
        .trim();
    if app.tokens.valid(token, app.clock.now_ms()) {
        Ok(())
    } else {
        Err(ApiError::new(
            401,
            SfError::new("INVALID_SESSION_ID", "Session expired or invalid"),
        ))
    }
}

/// CDC `changeOrigin` of this request's writes, from `Sforce-Call-Options: client=<id>`.
fn change_origin(headers: &HeaderMap, version: Version) -> String {
    let client = headers
        .get("sforce-call-options")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.split(',')
                .find_map(|part| part.trim().strip_prefix("client="))
        })
        .map(str::trim);
    match client {
        Some(client) => format!("com/salesforce/api/rest/{};client={client}", version.text()),
        None => format!("com/salesforce/api/rest/{}", version.text()),
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
    response
}
