//! The local Slack's routes: webhooks, `chat.postMessage` and the admin API.

use super::state::{Fault, Received, State};
use axum::body::Bytes;
use axum::extract::State as Shared;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use std::sync::Arc;

pub fn router(state: Arc<State>) -> Router {
    Router::new()
        .route("/services/{*hook}", post(webhook))
        .route("/api/chat.postMessage", post(post_message))
        .route("/__slack/messages", get(messages))
        .route("/__slack/requests", get(requests))
        .route("/__slack/faults", post(inject).delete(heal))
        .with_state(state)
}

/// An incoming webhook: `200 ok`, or a status and a plain-text error.
async fn webhook(Shared(state): Shared<Arc<State>>, uri: Uri, body: Bytes) -> Response {
    let path = uri.path().to_string();
    let json: Option<Value> = serde_json::from_slice(&body).ok();
    let (status, error, retry_after) = if let Some(f) = state.take_fault("webhook") {
        (f.status, Some(f.error), f.retry_after)
    } else if !state.options.webhooks.contains(&path) {
        (404, Some("no_service".to_string()), None)
    } else if !json.as_ref().is_some_and(has_text) {
        (400, Some("invalid_payload".to_string()), None)
    } else {
        (200, None, None)
    };
    state.record(Received {
        endpoint: "webhook".into(),
        path,
        channel: None,
        body: json.unwrap_or(Value::Null),
        status,
        error: error.clone(),
    });
    answer(status, error.unwrap_or_else(|| "ok".into()), retry_after)
}

/// `chat.postMessage`: always JSON with `ok`; errors in `error` (HTTP 200) unless a fault
/// says otherwise.
async fn post_message(
    Shared(state): Shared<Arc<State>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let channel = json["channel"].as_str().map(str::to_string);
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let known = |c: &str| {
        let bare = c.trim_start_matches('#');
        state
            .options
            .channels
            .iter()
            .any(|k| k.trim_start_matches('#') == bare)
    };
    let (status, error, retry_after) = if let Some(f) = state.take_fault("chat.postMessage") {
        (f.status, Some(f.error), f.retry_after)
    } else if token.is_none() {
        (200, Some("not_authed".to_string()), None)
    } else if token != Some(state.options.bot_token.as_str()) {
        (200, Some("invalid_auth".to_string()), None)
    } else if !channel.as_deref().is_some_and(known) {
        (200, Some("channel_not_found".to_string()), None)
    } else if !has_text(&json) {
        (200, Some("no_text".to_string()), None)
    } else {
        (200, None, None)
    };
    state.record(Received {
        endpoint: "chat.postMessage".into(),
        path: "/api/chat.postMessage".into(),
        channel: channel.clone(),
        body: json,
        status,
        error: error.clone(),
    });
    let body = match &error {
        None => json!({"ok": true, "channel": channel, "ts": "1700000000.000100"}),
        Some(e) => json!({"ok": false, "error": e}),
    };
    answer(status, Json(body), retry_after)
}

/// A response with `status`, `body` and, if given, a `Retry-After` header (seconds).
fn answer(status: u16, body: impl IntoResponse, retry_after: Option<u32>) -> Response {
    let mut response = (
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        body,
    )
        .into_response();
    if let Some(s) = retry_after {
        response.headers_mut().insert("Retry-After", s.into());
    }
    response
}

fn has_text(body: &Value) -> bool {
    body["text"].as_str().is_some_and(|t| !t.is_empty()) || body["blocks"].is_array()
}

async fn messages(Shared(state): Shared<Arc<State>>) -> Json<Vec<Received>> {
    Json(state.messages())
}

async fn requests(Shared(state): Shared<Arc<State>>) -> Json<Vec<Received>> {
    Json(state.requests())
}

async fn inject(Shared(state): Shared<Arc<State>>, Json(faults): Json<Vec<Fault>>) -> StatusCode {
    state.inject(faults);
    StatusCode::NO_CONTENT
}

async fn heal(Shared(state): Shared<Arc<State>>) -> StatusCode {
    state.heal();
    StatusCode::NO_CONTENT
}
