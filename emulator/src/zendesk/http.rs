//! `/api/v2/…`: route, authentication, faults, the per-minute limits, then the call,
//! with Zendesk's headers on every answer (`x-zendesk-api-version`, `x-rate-limit*`,
//! `ratelimit-*`; `Retry-After` only on a 429, which node-zendesk relies on).

use super::api::{self, Ctx, Reply};
use super::errors::ZdError;
use super::limits::Standing;
use super::pages::Params;
use super::routes::{route, Route};
use super::state::Zendesk;
use crate::faults::FaultKind;
use crate::http::{apply_faults, empty_response, typed_response, ApiRequest};
use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, Response};
use axum::routing::any;
use axum::Router;
use base64::Engine;
use serde_json::{Map, Value as Json};
use std::sync::Arc;

const CONTENT_TYPE: &str = "application/json; charset=utf-8";

/// The Zendesk emulator's routes: the API and the admin API.
pub fn routes(zd: Arc<Zendesk>) -> Router {
    Router::new()
        .route("/api/v2/{*rest}", any(handle))
        .route("/__emulator/{*rest}", any(super::admin::handle))
        .fallback(|| async { error_response(&ZdError::invalid_endpoint()) })
        .layer(axum::extract::DefaultBodyLimit::max(64 * 1024 * 1024))
        .with_state(zd)
}

async fn handle(State(zd): State<Arc<Zendesk>>, request: ApiRequest) -> Response<Body> {
    let (response, standing) = answer(&zd, &request).await;
    let mut response = response;
    let standing = standing.unwrap_or_else(|| zd.api_window.peek(zd.now()));
    let h = response.headers_mut();
    h.insert("x-zendesk-api-version", HeaderValue::from_static("v2"));
    for (name, value) in [
        ("x-rate-limit", standing.limit),
        ("x-rate-limit-remaining", standing.remaining),
        ("ratelimit-limit", standing.limit),
        ("ratelimit-remaining", standing.remaining),
        ("ratelimit-reset", standing.reset),
    ] {
        h.insert(name, HeaderValue::from(value));
    }
    zd.counters.status(response.status().as_u16());
    response
}

/// The answer and, once the request was counted, the window's standing after it.
async fn answer(zd: &Arc<Zendesk>, request: &ApiRequest) -> (Response<Body>, Option<Standing>) {
    let path = request
        .uri
        .path()
        .strip_prefix("/api/v2/")
        .unwrap_or_default();
    let Some(route) = route(request.method.as_str(), path) else {
        return (error_response(&ZdError::invalid_endpoint()), None);
    };
    if let Err(e) = authenticate(zd, &request.headers) {
        return (error_response(&e), None);
    }
    let export = matches!(route, Route::ExportByTime(_) | Route::ExportByCursor(_));
    if export {
        if let Err(e) = api::admin_only(zd) {
            return (error_response(&e), None);
        }
    }
    let class = route.class();
    if let Err(failure) = apply_faults(
        &zd.faults,
        &zd.counters,
        class,
        &request.conn,
        failure_response,
    )
    .await
    {
        return (failure, None);
    }
    let now = zd.now();
    let standing = match zd.api_window.take(now) {
        Ok(s) => s,
        Err(s) => return (limited(s, "API"), Some(s)),
    };
    if export {
        if let Err(s) = zd.export_window.take(now) {
            return (limited(s, "Incremental Export API"), Some(standing));
        }
    }
    zd.counters.api_call(class);
    let parsed = if route.takes_body() {
        match parse_body(&request.body) {
            Ok(json) => Some(json),
            Err(e) => return (error_response(&e), Some(standing)),
        }
    } else {
        None
    };
    let ctx = Ctx {
        zd,
        base: base_url(zd, &request.headers),
        params: Params::parse(request.uri.query().unwrap_or_default()),
        now,
    };
    let response = match api::execute(&ctx, route, parsed) {
        Ok(reply) => reply_response(reply),
        Err(e) => error_response(&e),
    };
    (response, Some(standing))
}

/// API token (`{email}/token:{token}` Basic), OAuth `Bearer`, or — when a password is
/// configured — deprecated `email:password` Basic.
fn authenticate(zd: &Zendesk, headers: &HeaderMap) -> Result<(), ZdError> {
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let options = &zd.options;
    let ok = if let Some(token) = value.strip_prefix("Bearer ") {
        token.trim() == options.oauth_token
    } else if let Some(encoded) = value.strip_prefix("Basic ") {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .unwrap_or_default();
        match decoded.split_once(':') {
            Some((user, secret)) => match user.strip_suffix("/token") {
                Some(email) => {
                    email.eq_ignore_ascii_case(&options.email) && secret == options.api_token
                }
                None => {
                    user.eq_ignore_ascii_case(&options.email)
                        && options.password.as_deref() == Some(secret)
                }
            },
            None => false,
        }
    } else {
        false
    };
    if ok {
        Ok(())
    } else {
        Err(ZdError::Unauthenticated)
    }
}

/// `http://{Host}` as the client addressed us, so links lead back the same way.
fn base_url(zd: &Zendesk, headers: &HeaderMap) -> String {
    headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(|host| format!("http://{host}"))
        .unwrap_or_else(|| zd.base_url.clone())
}

fn parse_body(body: &[u8]) -> Result<Map<String, Json>, ZdError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice(body) {
        Ok(Json::Object(map)) => Ok(map),
        _ => Err(ZdError::bad_value("The request body is not a JSON object")),
    }
}

fn reply_response(reply: Reply) -> Response<Body> {
    let mut response = match reply.body {
        Some(body) => typed_response(reply.status, CONTENT_TYPE, body.to_string()),
        None => empty_response(reply.status),
    };
    if let Some(location) = reply.location.and_then(|l| HeaderValue::from_str(&l).ok()) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

/// An error as Zendesk answers it; a 429 is plain text with `Retry-After`.
fn error_response(error: &ZdError) -> Response<Body> {
    match error {
        ZdError::RateLimited { retry_after, text } => {
            let mut response = typed_response(429, "text/plain; charset=utf-8", text.clone());
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(*retry_after));
            response
        }
        _ => typed_response(
            error.status(),
            CONTENT_TYPE,
            error.body().unwrap_or_default(),
        ),
    }
}

fn limited(standing: Standing, what: &str) -> Response<Body> {
    error_response(&ZdError::RateLimited {
        retry_after: standing.reset,
        text: format!(
            "Too many requests: the {what} allows {} requests a minute. Retry after {} seconds.",
            standing.limit, standing.reset
        ),
    })
}

/// An injected failure in Zendesk's shape (the fault layer adds a 429's `Retry-After`).
fn failure_response(kind: FaultKind) -> Response<Body> {
    error_response(&match kind {
        FaultKind::RateLimited => ZdError::RateLimited {
            retry_after: 0,
            text: "Too many requests (injected by the emulator). Retry later.".into(),
        },
        FaultKind::Unavailable => ZdError::new(
            503,
            "ServiceUnavailable",
            "Service temporarily unavailable, please retry",
        ),
        _ => ZdError::new(
            500,
            "InternalServerError",
            "Something went wrong on our end, please retry",
        ),
    })
}
