//! The admin API under `/__emulator/` (no auth, JSON): fault injection, token expiry,
//! the API limit, reset, bulk load, counters, automations, the clock, and the change
//! log. Kept apart from the Salesforce paths so no client confuses the two. The fault
//! and clock endpoints ([`common`]) serve every emulated system.

use crate::app::{App, Clock, Counters};
use crate::faults::Faults;
use crate::http::json_response;
use crate::schema::Automation;
use crate::store::WriteStats;
use crate::timefmt::format_datetime;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{Method, Response};
use serde::Deserialize;
use serde_json::{json, Map, Value as Json};
use std::collections::HashMap;
use std::sync::Arc;

/// A refused admin call: status and a message saying what to send instead.
pub(crate) struct AdminError(pub u16, pub String);

/// A 400 admin answer.
pub(crate) fn bad(message: impl Into<String>) -> AdminError {
    AdminError(400, message.into())
}

/// Reads a JSON admin body (an empty body reads as `{}`).
pub(crate) fn parse<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, AdminError> {
    let text = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}".as_slice()
    } else {
        body
    };
    serde_json::from_slice(text)
        .map_err(|e| bad(format!("body is not what this endpoint expects: {e}")))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FaultsBody {
    seed: Option<u64>,
    #[serde(default)]
    rules: Vec<crate::faults::FaultRule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LimitsBody {
    max: Option<u64>,
    used: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ClockBody {
    advance_seconds: i64,
}

/// Every admin endpoint.
pub async fn handle(
    State(app): State<Arc<App>>,
    Path(rest): Path<String>,
    Query(params): Query<HashMap<String, String>>,
    method: Method,
    body: Bytes,
) -> Response<Body> {
    let segments: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    respond(route(&app, method.as_str(), &segments, &params, &body))
}

/// An admin answer as HTTP: 200 with the JSON, or the status with `{"error": …}`.
pub(crate) fn respond(result: Result<Json, AdminError>) -> Response<Body> {
    match result {
        Ok(json) => json_response(200, json.to_string()),
        Err(AdminError(status, message)) => {
            json_response(status, json!({"error": message}).to_string())
        }
    }
}

/// 404 for an admin path no system serves.
pub(crate) fn unknown(method: &str, segments: &[&str]) -> AdminError {
    AdminError(
        404,
        format!(
            "no admin endpoint {method} /__emulator/{}; see emulator/README.md",
            segments.join("/")
        ),
    )
}

/// What every emulated system keeps that the shared admin endpoints reach.
pub(crate) struct Shared<'a> {
    pub faults: &'a Faults,
    pub clock: &'a Clock,
    pub counters: &'a Counters,
}

/// The endpoints every emulated system shares: fault rules, the clock and resetting the
/// counters. `None` when the path is not one of them.
pub(crate) fn common(
    shared: Shared<'_>,
    method: &str,
    segments: &[&str],
    body: &[u8],
) -> Option<Result<Json, AdminError>> {
    let Shared {
        faults,
        clock,
        counters,
    } = shared;
    Some(match (method, segments) {
        ("GET", ["faults"]) => Ok(json!({"rules": faults.rules()})),
        ("PUT", ["faults"]) => change_faults(faults, body, true),
        ("POST", ["faults"]) => change_faults(faults, body, false),
        ("DELETE", ["faults"]) => faults
            .set(Vec::new(), None)
            .map(|()| json!({"rules": []}))
            .map_err(bad),
        ("GET", ["clock"]) => Ok(clock_json(clock)),
        ("POST", ["clock"]) => parse::<ClockBody>(body).map(|b| {
            clock.advance(b.advance_seconds * 1000);
            clock_json(clock)
        }),
        ("POST", ["counters", "reset"]) => {
            counters.reset();
            Ok(json!({"reset": true}))
        }
        _ => return None,
    })
}

/// The counters every system reports in `GET counters`: calls per endpoint class,
/// answers per status, injected faults and record writes; a system adds its own.
pub(crate) fn counter_fields(counters: &Counters, stats: WriteStats) -> Map<String, Json> {
    let snapshot = counters.snapshot();
    let by_status: Map<String, Json> = snapshot
        .requests_by_status
        .iter()
        .map(|(k, v)| (k.to_string(), json!(v)))
        .collect();
    let Json::Object(fields) = json!({
        "apiCallsByEndpoint": snapshot.api_calls_by_endpoint,
        "requestsByStatus": by_status,
        "faultsInjected": snapshot.faults_injected,
        "recordsCreated": stats.created,
        "recordsUpdated": stats.updated,
        "recordsDeleted": stats.deleted,
    }) else {
        unreachable!("a JSON object literal")
    };
    fields
}

/// Replaces (PUT) or extends (POST) the fault rules.
fn change_faults(faults: &Faults, body: &[u8], replace: bool) -> Result<Json, AdminError> {
    let b: FaultsBody = parse(body)?;
    if replace {
        faults.set(b.rules, b.seed).map_err(bad)?;
    } else if b.seed.is_some() {
        return Err(bad("set a seed with PUT /__emulator/faults"));
    } else {
        faults.add(b.rules).map_err(bad)?;
    }
    Ok(json!({"rules": faults.rules()}))
}

fn route(
    app: &App,
    method: &str,
    segments: &[&str],
    params: &HashMap<String, String>,
    body: &[u8],
) -> Result<Json, AdminError> {
    let shared = Shared {
        faults: &app.faults,
        clock: &app.clock,
        counters: &app.counters,
    };
    if let Some(answer) = common(shared, method, segments, body) {
        return answer;
    }
    Ok(match (method, segments) {
        ("GET", ["health"]) => json!({"ok": true, "url": app.base_url}),
        ("GET", ["counters"]) => counters(app),
        ("POST", ["tokens", "expire"]) => {
            app.tokens.expire_all();
            json!({"expired": true})
        }
        ("GET", ["limits"]) => limits(app),
        ("PUT", ["limits"]) => {
            let b: LimitsBody = parse(body)?;
            app.usage.set(b.used, b.max);
            limits(app)
        }
        ("POST", ["reset"]) => {
            app.org.write().reset();
            app.cursors.expire_all();
            app.faults.set(Vec::new(), None).map_err(bad)?;
            app.usage.set(Some(0), None);
            app.counters.reset();
            json!({"reset": true})
        }
        ("POST", ["load"]) => {
            let text = std::str::from_utf8(body).map_err(|_| bad("body is not UTF-8"))?;
            let loaded = crate::load::load_json(app, text).map_err(bad)?;
            json!(loaded)
        }
        ("GET", ["automations"]) => json!({"automations": app.org.read().automations}),
        ("PUT", ["automations"]) | ("POST", ["automations"]) => {
            #[derive(Deserialize)]
            #[serde(deny_unknown_fields)]
            struct Body {
                automations: Vec<Automation>,
            }
            let b: Body = parse(body)?;
            for automation in &b.automations {
                check_automation(app, automation).map_err(bad)?;
            }
            let mut org = app.org.write();
            if method == "PUT" {
                org.automations = b.automations;
            } else {
                org.automations.extend(b.automations);
            }
            json!({"automations": org.automations})
        }
        ("DELETE", ["automations"]) => {
            app.org.write().automations.clear();
            json!({"automations": []})
        }
        ("POST", ["query-locators", "expire"]) => {
            app.cursors.expire_all();
            json!({"expired": true})
        }
        ("GET", ["changes", object]) => changes(app, object, params)?,
        _ => return Err(unknown(method, segments)),
    })
}

fn check_automation(app: &App, automation: &Automation) -> Result<(), String> {
    automation.check(&app.schema)?;
    let object = app.schema.object(&automation.object).expect("checked");
    let target = object.field_index(&automation.field).expect("checked");
    let blank = vec![crate::value::Value::Null; object.fields.len()];
    crate::save::automation_value(object, &automation.action, &blank, target)
        .map(|_| ())
        .map_err(|e| format!("automation {}: {e}", automation.name))
}

fn counters(app: &App) -> Json {
    let org = app.org.read();
    let stats = org.stats;
    let records: Map<String, Json> = org
        .record_counts()
        .into_iter()
        .map(|(name, (live, deleted))| (name, json!({"live": live, "deleted": deleted})))
        .collect();
    let (used, max) = app.usage.get();
    let mut fields = counter_fields(&app.counters, stats);
    fields.insert(
        "recordsWritten".into(),
        json!(stats.created + stats.updated + stats.deleted),
    );
    fields.insert("records".into(), json!(records));
    fields.insert("apiUsage".into(), json!({"used": used, "max": max}));
    Json::Object(fields)
}

fn limits(app: &App) -> Json {
    let (used, max) = app.usage.get();
    json!({"max": max, "used": used})
}

fn clock_json(clock: &Clock) -> Json {
    json!({"now": format_datetime(clock.now_ms()), "offsetSeconds": clock.offset_ms() / 1000})
}

fn changes(app: &App, object: &str, params: &HashMap<String, String>) -> Result<Json, AdminError> {
    let org = app.org.read();
    let table = org
        .schema
        .object_index(object)
        .ok_or_else(|| bad(format!("no object named {object}")))?;
    let after: u64 = match params.get("after") {
        Some(v) => v
            .parse()
            .map_err(|_| bad("after must be a replay id (an integer)"))?,
        None => 0,
    };
    let def = &org.schema.objects[table];
    let list: Vec<Json> = org.tables[table]
        .changes
        .iter()
        .filter(|c| c.replay_id > after)
        .map(|c| {
            json!({
                "replayId": c.replay_id,
                "changeType": c.kind.name(),
                "recordId": c.record.to_string(),
                "changedFields": c.fields.iter().map(|f| def.fields[*f].name.clone()).collect::<Vec<_>>(),
                "commitTimestamp": c.commit_ms,
                "changeOrigin": c.origin.as_deref(),
                "transactionKey": c.transaction,
            })
        })
        .collect();
    Ok(json!({"changes": list}))
}
