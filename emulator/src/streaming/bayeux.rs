//! The Bayeux protocol over HTTP long polling: `POST /cometd/{version}` with a batch
//! of messages (`/meta/handshake`, `/meta/subscribe` with the replay extension,
//! `/meta/unsubscribe`, `/meta/connect`, `/meta/disconnect`), answered in the order
//! received, with a held `/meta/connect` answering last, after the events it carries.

use super::events::{self, Query};
use super::{Bus, Channel, Client, Subscription};
use crate::app::App;
use crate::http::{counted, inject_faults, json_response, lose_answer, session, ConnKill, Session};
use axum::body::{Body, Bytes};
use axum::extract::{Extension, Path, State};
use axum::http::{header, HeaderMap, HeaderValue, Response};
use serde_json::{json, Map, Value as Json};
use std::sync::Arc;
use std::time::Duration;

/// Oldest API version with durable (replayable) streaming.
const OLDEST_DURABLE: u32 = 37;
/// Largest request body the Streaming API reads.
const MAX_REQUEST_BYTES: usize = 32_768;

/// `POST /cometd/{version}`.
pub async fn handle(
    State(app): State<Arc<App>>,
    Extension(conn): Extension<ConnKill>,
    Path(version): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response<Body> {
    counted(&app, answer(&app, &conn, &version, &headers, &body).await)
}

async fn answer(
    app: &Arc<App>,
    conn: &ConnKill,
    version: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Response<Body> {
    let served = version
        .trim_start_matches('v')
        .strip_suffix(".0")
        .and_then(|v| v.parse::<u32>().ok())
        .is_some_and(|v| (OLDEST_DURABLE..=app.options.max_api_version).contains(&v));
    if !served {
        return json_response(404, crate::errors::ApiError::not_found().body());
    }
    if body.len() > MAX_REQUEST_BYTES {
        let mut response = Response::new(Body::from("Maximum Request Size Exceeded"));
        *response.status_mut() = axum::http::StatusCode::PAYLOAD_TOO_LARGE;
        return response;
    }
    let after = match inject_faults(app, "streaming", conn).await {
        Ok(after) => after,
        Err(failure) => return failure,
    };
    lose_answer(after, exchange(app, headers, body).await, conn).await
}

/// The Bayeux answer to the request's messages.
async fn exchange(app: &Arc<App>, headers: &HeaderMap, body: &[u8]) -> Response<Body> {
    let messages: Vec<Map<String, Json>> = match serde_json::from_slice::<Json>(body) {
        Ok(Json::Array(list)) => list
            .into_iter()
            .filter_map(|m| match m {
                Json::Object(map) => Some(map),
                _ => None,
            })
            .collect(),
        Ok(Json::Object(map)) => vec![map],
        _ => {
            return bayeux(
                400,
                vec![
                    json!({"successful": false, "error": "400::Bad request: expected a JSON array of Bayeux messages"}),
                ],
                None,
            )
        }
    };
    if let Err(error) = authenticate(app, headers) {
        let replies = messages
            .iter()
            .map(|m| {
                let mut reply = base_reply(m);
                reply.insert("successful".into(), false.into());
                reply.insert("error".into(), error.into());
                reply.insert("advice".into(), json!({"reconnect": "none", "interval": 0}));
                Json::Object(reply)
            })
            .collect();
        return bayeux(401, replies, None);
    }
    let mut replies = Vec::new();
    let mut cookie = None;
    let mut connect = None;
    for message in &messages {
        let channel = message.get("channel").and_then(Json::as_str).unwrap_or("");
        match channel {
            "/meta/handshake" => {
                let (reply, browser) = handshake(app, message);
                cookie = Some(browser);
                replies.push(reply);
            }
            "/meta/subscribe" => replies.extend(subscribe(app, message)),
            "/meta/unsubscribe" => replies.extend(unsubscribe(app, message)),
            "/meta/disconnect" => replies.push(disconnect(app, message)),
            "/meta/connect" => connect = Some(message),
            _ => {
                let mut reply = base_reply(message);
                reply.insert("successful".into(), false.into());
                reply.insert("error".into(), "403::Publish denied".into());
                replies.push(Json::Object(reply));
            }
        }
    }
    if let Some(message) = connect {
        replies.extend(long_poll(app, message).await);
    }
    bayeux(200, replies, cookie)
}

fn bayeux(status: u16, replies: Vec<Json>, cookie: Option<String>) -> Response<Body> {
    let mut response = json_response(status, Json::Array(replies).to_string());
    if let Some(value) = cookie
        .and_then(|c| HeaderValue::from_str(&format!("BAYEUX_BROWSER={c}; Path=/; HttpOnly")).ok())
    {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

/// `Authorization: Bearer …` or `OAuth …`, as a Bayeux error when it is not valid.
fn authenticate(app: &App, headers: &HeaderMap) -> Result<(), &'static str> {
    match session(app, headers) {
        Session::Valid => Ok(()),
        Session::Missing => Err("401::Request requires authentication"),
        Session::Invalid => Err("401::Authentication invalid"),
    }
}

/// `channel`, `id` and `clientId` of a message, echoed in its reply.
fn base_reply(message: &Map<String, Json>) -> Map<String, Json> {
    let mut reply = Map::new();
    for key in ["channel", "id", "clientId"] {
        if let Some(value) = message.get(key) {
            reply.insert(key.into(), value.clone());
        }
    }
    reply
}

fn advice(app: &App) -> Json {
    json!({"interval": 0, "timeout": app.options.streaming.poll_timeout.as_millis() as u64, "reconnect": "retry"})
}

fn unknown_client(message: &Map<String, Json>) -> Json {
    let mut reply = base_reply(message);
    reply.insert("successful".into(), false.into());
    reply.insert("error".into(), "403::Unknown client".into());
    reply.insert(
        "advice".into(),
        json!({"reconnect": "handshake", "interval": 0}),
    );
    Json::Object(reply)
}

fn client_id(message: &Map<String, Json>) -> &str {
    message
        .get("clientId")
        .and_then(Json::as_str)
        .unwrap_or_default()
}

/// Looks the client up, forgetting it when it stayed away past the session timeout.
fn with_client<T>(
    app: &App,
    message: &Map<String, Json>,
    f: impl FnOnce(&mut Client) -> T,
) -> Option<T> {
    let now = app.clock.now_ms();
    let timeout = app.options.streaming.session_timeout.as_millis() as i64;
    let mut state = app.streaming.state.lock();
    let id = client_id(message);
    let expired = state
        .clients
        .get(id)
        .is_some_and(|c| now - c.last_seen_ms > timeout);
    if expired {
        state.clients.remove(id);
    }
    state.clients.get_mut(id).map(|client| {
        client.last_seen_ms = now;
        f(client)
    })
}

fn handshake(app: &App, message: &Map<String, Json>) -> (Json, String) {
    let bus: &Bus = &app.streaming;
    let id = bus.new_client_id();
    let now = app.clock.now_ms();
    let options = &app.options.streaming;
    let timeout = options.session_timeout.as_millis() as i64;
    {
        let mut state = bus.state.lock();
        state.clients.retain(|_, c| now - c.last_seen_ms <= timeout);
        if state.clients.len() >= options.max_clients {
            drop(state);
            let mut reply = base_reply(message);
            reply.insert("successful".into(), false.into());
            reply.insert("error".into(), "403::Handshake denied".into());
            reply.insert(
                "ext".into(),
                json!({"sfdc": {"failureReason": "403::Organization concurrent user limit exceeded"}}),
            );
            reply.insert("advice".into(), json!({"reconnect": "none", "interval": 0}));
            return (Json::Object(reply), bus.new_client_id());
        }
        state.clients.insert(
            id.clone(),
            Client {
                last_seen_ms: now,
                ..Client::default()
            },
        );
    }
    let mut reply = base_reply(message);
    reply.insert("clientId".into(), id.clone().into());
    reply.insert("version".into(), "1.0".into());
    reply.insert("minimumVersion".into(), "1.0".into());
    reply.insert("supportedConnectionTypes".into(), json!(["long-polling"]));
    reply.insert("successful".into(), true.into());
    reply.insert("advice".into(), advice(app));
    reply.insert(
        "ext".into(),
        json!({"replay": true, "payload.format": true}),
    );
    (Json::Object(reply), bus.new_client_id())
}

/// The channel a subscription names, if it is a change-event channel of this org.
fn channel_of(app: &App, name: &str) -> Option<Channel> {
    let rest = name.strip_prefix("/data/")?;
    if rest == "ChangeEvents" {
        return Some(Channel::All);
    }
    let entity = rest.strip_suffix("ChangeEvent")?;
    let object = match entity.strip_suffix("__") {
        Some(custom) => format!("{custom}__c"),
        None => entity.to_string(),
    };
    app.schema.object_index(&object).map(Channel::Object)
}

fn subscriptions(message: &Map<String, Json>) -> Vec<String> {
    match message.get("subscription") {
        Some(Json::String(s)) => vec![s.clone()],
        Some(Json::Array(list)) => list
            .iter()
            .filter_map(|s| s.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

fn subscribe(app: &App, message: &Map<String, Json>) -> Vec<Json> {
    let replies = subscriptions(message)
        .into_iter()
        .map(|name| subscribe_one(app, message, &name))
        .collect();
    // A connect may already be held for this client (clients send it beside the
    // subscribe): it must look again, since a replay id can make events due at once.
    app.streaming.wake.notify_waiters();
    replies
}

fn subscribe_one(app: &App, message: &Map<String, Json>, name: &str) -> Json {
    let mut reply = base_reply(message);
    reply.insert("subscription".into(), name.into());
    let failed = |mut reply: Map<String, Json>, error: String| {
        reply.insert("successful".into(), false.into());
        reply.insert("error".into(), error.into());
        Json::Object(reply)
    };
    let missing =
        || format!("400::The channel you requested to subscribe to does not exist {{{name}}}");
    let Some(channel) = channel_of(app, name) else {
        return failed(reply, missing());
    };
    let options = &app.options.streaming;
    let requested = message
        .get("ext")
        .and_then(|e| e.get("replay"))
        .and_then(|r| r.get(name))
        .and_then(Json::as_i64)
        .unwrap_or(-1);
    let now = app.clock.now_ms();
    let org = app.org.read();
    let bus = &app.streaming;
    let cursor = {
        let state = bus.state.lock();
        if let Channel::Object(table) = channel {
            if options.refuse_disabled_channels && state.enabled_from[table].is_none() {
                drop(state);
                return failed(reply, missing());
            }
        }
        let query = Query {
            channel,
            after: 0,
            horizon_ms: now - options.retention.as_millis() as i64,
            enabled_from: &state.enabled_from,
            gaps: &state.gaps,
        };
        let expired = query.expired_up_to(&org);
        match requested {
            -1 => Some(org.last_replay_id()),
            -2 => Some(expired),
            id if id >= 0 && (id as u64) >= expired && (id as u64) <= org.last_replay_id() => {
                Some(id as u64)
            }
            _ => None,
        }
    };
    drop(org);
    let Some(cursor) = cursor else {
        return failed(
            reply,
            format!("400::The replayId {{{requested}}} you provided was invalid.  Please provide a valid ID, -2 to replay all events, or -1 to replay only new events."),
        );
    };
    let added = with_client(app, message, |client| {
        client
            .subscriptions
            .insert(name.to_string(), Subscription { channel, cursor });
    });
    if added.is_none() {
        return unknown_client(message);
    }
    reply.insert("successful".into(), true.into());
    Json::Object(reply)
}

fn unsubscribe(app: &App, message: &Map<String, Json>) -> Vec<Json> {
    subscriptions(message)
        .into_iter()
        .map(|name| {
            let removed = with_client(app, message, |client| {
                client.subscriptions.remove(&name);
            });
            if removed.is_none() {
                return unknown_client(message);
            }
            let mut reply = base_reply(message);
            reply.insert("subscription".into(), name.into());
            reply.insert("successful".into(), true.into());
            Json::Object(reply)
        })
        .collect()
}

fn disconnect(app: &App, message: &Map<String, Json>) -> Json {
    let removed = app
        .streaming
        .state
        .lock()
        .clients
        .remove(client_id(message));
    if removed.is_none() {
        return unknown_client(message);
    }
    let mut reply = base_reply(message);
    reply.insert("successful".into(), true.into());
    Json::Object(reply)
}

/// What one look for events found.
enum Found {
    Events(Vec<Json>),
    Nothing,
    /// A newer `/meta/connect` of the same client took over.
    Superseded,
    Gone,
    AllocationExceeded,
}

/// Takes the client's pending events (advancing its cursors), within the allocation.
fn take_events(app: &App, message: &Map<String, Json>, poll: u64) -> Found {
    let options = &app.options.streaming;
    let now = app.clock.now_ms();
    let org = app.org.read();
    let mut guard = app.streaming.state.lock();
    let state = &mut *guard;
    let Some(client) = state.clients.get_mut(client_id(message)) else {
        return Found::Gone;
    };
    if client.poll != poll {
        return Found::Superseded;
    }
    let horizon_ms = now - options.retention.as_millis() as i64;
    let mut pending = Vec::new();
    for (name, sub) in &client.subscriptions {
        let query = Query {
            channel: sub.channel,
            after: sub.cursor,
            horizon_ms,
            enabled_from: &state.enabled_from,
            gaps: &state.gaps,
        };
        for (replay, source) in query.pending(&org, options.max_events_per_connect) {
            pending.push((replay, name.clone(), source));
        }
    }
    if pending.is_empty() {
        return Found::Nothing;
    }
    let remaining = options
        .daily_delivery_allocation
        .saturating_sub(state.delivered.used(now));
    if remaining == 0 {
        return Found::AllocationExceeded;
    }
    pending.sort_by_key(|(replay, _, _)| *replay);
    pending.truncate(options.max_events_per_connect.min(remaining as usize));
    let mut out = Vec::with_capacity(pending.len());
    for (replay, name, source) in pending {
        out.push(events::message(&org, &state.gaps, source, &name));
        if let Some(sub) = client.subscriptions.get_mut(&name) {
            sub.cursor = sub.cursor.max(replay);
        }
    }
    client.last_seen_ms = now;
    state.delivered.add(now, out.len() as u64);
    Found::Events(out)
}

/// `/meta/connect`: answers at once with pending events, else holds the request until
/// an event arrives or the poll times out.
async fn long_poll(app: &Arc<App>, message: &Map<String, Json>) -> Vec<Json> {
    let Some(poll) = with_client(app, message, |client| {
        client.poll += 1;
        client.poll
    }) else {
        return vec![unknown_client(message)];
    };
    app.streaming.wake.notify_waiters();
    let server_ms = app.options.streaming.poll_timeout.as_millis() as u64;
    let wait_ms = match poll {
        1 => 0,
        _ => message
            .get("advice")
            .and_then(|a| a.get("timeout"))
            .and_then(Json::as_u64)
            .map_or(server_ms, |t| t.min(server_ms)),
    };
    let deadline = tokio::time::Instant::now() + Duration::from_millis(wait_ms);
    let notify = app.org.read().committed.clone();
    let mut replies = Vec::new();
    loop {
        let notified = notify.notified();
        let woken = app.streaming.wake.notified();
        tokio::pin!(notified, woken);
        notified.as_mut().enable();
        woken.as_mut().enable();
        match take_events(app, message, poll) {
            Found::Events(events) => {
                replies = events;
                break;
            }
            Found::Nothing => {}
            Found::Superseded => break,
            Found::Gone => return vec![unknown_client(message)],
            Found::AllocationExceeded => {
                let mut reply = base_reply(message);
                reply.insert("successful".into(), false.into());
                reply.insert(
                    "error".into(),
                    "403::Organization total events daily limit exceeded".into(),
                );
                reply.insert("advice".into(), json!({"reconnect": "none", "interval": 0}));
                return vec![Json::Object(reply)];
            }
        }
        if tokio::time::Instant::now() >= deadline {
            break;
        }
        tokio::select! {
            _ = &mut notified => {}
            _ = &mut woken => {}
            _ = tokio::time::sleep_until(deadline) => {}
        }
    }
    with_client(app, message, |_| ());
    let mut reply = base_reply(message);
    reply.insert("successful".into(), true.into());
    reply.insert("advice".into(), advice(app));
    replies.push(Json::Object(reply));
    replies
}
