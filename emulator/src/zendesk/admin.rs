//! The Zendesk emulator's admin API under `/__emulator/` (no auth, JSON): the shared
//! calls (faults, clock) plus health, counters, reset, bulk load, record inspection,
//! the rate-limit windows and job holding.

use super::record::{clock_time, parse_timestamp, read_changes, Kind};
use super::state::Zendesk;
use super::store::Store;
use crate::admin::{bad, common, counter_fields, parse, respond, unknown, AdminError, Shared};
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{Method, Response};
use serde::Deserialize;
use serde_json::{json, Map, Value as Json};
use std::sync::Arc;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LimitsBody {
    limit: Option<u64>,
    used: Option<u64>,
    export_limit: Option<u64>,
    export_used: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HoldBody {
    hold: bool,
}

/// Every admin endpoint.
pub async fn handle(
    State(zd): State<Arc<Zendesk>>,
    Path(rest): Path<String>,
    method: Method,
    body: Bytes,
) -> Response<Body> {
    let segments: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    respond(route(&zd, method.as_str(), &segments, &body))
}

fn route(zd: &Zendesk, method: &str, segments: &[&str], body: &[u8]) -> Result<Json, AdminError> {
    let shared = Shared {
        faults: &zd.faults,
        clock: &zd.clock,
        counters: &zd.counters,
    };
    if let Some(answer) = common(shared, method, segments, body) {
        // The clock's `now` as Zendesk writes a timestamp.
        return answer.map(|mut json| {
            if segments == ["clock"] {
                json["now"] = json!(clock_time(zd.clock.now_ms()));
            }
            json
        });
    }
    Ok(match (method, segments) {
        ("GET", ["health"]) => json!({"ok": true, "url": zd.base_url}),
        ("GET", ["counters"]) => counters(zd),
        ("POST", ["reset"]) => {
            zd.store.write().reset();
            zd.jobs.reset();
            zd.jobs.hold(false);
            zd.faults.set(Vec::new(), None).map_err(bad)?;
            zd.counters.reset();
            zd.user_updates.lock().clear();
            let now = zd.now();
            zd.api_window.set(now, None, Some(0));
            zd.export_window.set(now, None, Some(0));
            json!({"reset": true})
        }
        ("POST", ["load"]) => {
            let text = std::str::from_utf8(body).map_err(|_| bad("body is not UTF-8"))?;
            json!(load(zd, text).map_err(bad)?)
        }
        ("GET", ["records", plural]) => {
            let kind = Kind::from_plural(plural).ok_or_else(|| {
                bad(format!(
                    "no record kind {plural}; use organizations or users"
                ))
            })?;
            let store = zd.store.read();
            let records: Vec<Json> = store
                .table(kind)
                .records
                .values()
                .map(|r| r.to_json(kind, &zd.base_url))
                .collect();
            json!({ kind.plural(): records })
        }
        ("GET", ["limits"]) => limits(zd),
        ("PUT", ["limits"]) => {
            let b: LimitsBody = parse(body)?;
            let now = zd.now();
            zd.api_window.set(now, b.limit, b.used);
            zd.export_window.set(now, b.export_limit, b.export_used);
            limits(zd)
        }
        ("POST", ["jobs", "hold"]) => {
            let b: HoldBody = parse(body)?;
            zd.jobs.hold(b.hold);
            json!({"hold": b.hold, "active": zd.jobs.active()})
        }
        _ => return Err(unknown(method, segments)),
    })
}

fn counters(zd: &Zendesk) -> Json {
    let store = zd.store.read();
    let mut fields = counter_fields(&zd.counters, store.stats);
    fields.insert("records".into(), store.counts());
    fields.insert("activeJobs".into(), json!(zd.jobs.active()));
    Json::Object(fields)
}

fn limits(zd: &Zendesk) -> Json {
    let now = zd.now();
    let api = zd.api_window.peek(now);
    let export = zd.export_window.peek(now);
    json!({
        "limit": api.limit, "remaining": api.remaining,
        "export_limit": export.limit, "export_remaining": export.remaining,
        "reset": api.reset,
    })
}

/// Loads `{"organizations": [...], "users": [...]}` with Zendesk's save rules, all or
/// nothing; a record may carry its own `id`, `created_at` and `updated_at`. Answers the
/// new ids per kind.
pub fn load(zd: &Zendesk, text: &str) -> Result<Json, String> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Data {
        #[serde(default)]
        organizations: Vec<Map<String, Json>>,
        #[serde(default)]
        users: Vec<Map<String, Json>>,
    }
    let data: Data = serde_json::from_str(text).map_err(|e| format!("load: {e}"))?;
    let now = zd.now();
    let mut store = zd.store.write();
    let mut copy: Store = store.clone();
    let mut out = Map::new();
    for (kind, list) in [
        (Kind::Organization, &data.organizations),
        (Kind::User, &data.users),
    ] {
        let mut ids = Vec::new();
        for (i, body) in list.iter().enumerate() {
            let at = |what: String| format!("{}[{i}]: {what}", kind.plural());
            let time = |key: &str| -> Result<Option<i64>, String> {
                body.get(key)
                    .map(|v| {
                        v.as_str().and_then(parse_timestamp).ok_or_else(|| {
                            at(format!(
                                "{key} is not a timestamp like 2023-09-18T23:37:07Z"
                            ))
                        })
                    })
                    .transpose()
            };
            let created = time("created_at")?.unwrap_or(now);
            let updated = time("updated_at")?.unwrap_or(created);
            let changes = read_changes(kind, &copy.schema, body)
                .map_err(|e| at(super::errors::details_text(&e)))?;
            let id = body.get("id").and_then(Json::as_u64);
            let id = copy
                .create(kind, &changes, created, id)
                .map_err(|e| at(super::errors::details_text(&e)))?;
            copy.restamp(kind, id, created, updated);
            if body.get("active") == Some(&json!(false)) && kind == Kind::User {
                copy.delete(kind, id, updated)
                    .map_err(|_| at("cannot deactivate".into()))?;
            }
            ids.push(json!(id));
        }
        out.insert(kind.plural().into(), Json::Array(ids));
    }
    *store = copy;
    Ok(Json::Object(out))
}
