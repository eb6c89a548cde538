//! The NetSuite emulator's admin API under `/__emulator/` (no auth, JSON): the shared
//! fault and clock endpoints, plus loading and inspecting records, the deleted-record
//! table, the concurrency limit and its test gate, token expiry, counters and reset.

use super::schema::RecordType;
use super::store::WriteCtx;
use super::{records, timefmt, Call, Ns, PropertyValidation};
use crate::admin::{bad, common, counter_fields, parse, respond, unknown, AdminError, Shared};
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, Response};
use serde::Deserialize;
use serde_json::{json, Map, Value as Json};
use std::sync::Arc;

/// Every admin endpoint.
pub async fn handle(
    State(ns): State<Arc<Ns>>,
    Path(rest): Path<String>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response<Body> {
    let segments: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    respond(route(&ns, &method, &headers, &segments, &body))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GovernanceBody {
    limit: Option<usize>,
    open: Option<bool>,
}

fn route(
    ns: &Ns,
    method: &Method,
    headers: &HeaderMap,
    segments: &[&str],
    body: &[u8],
) -> Result<Json, AdminError> {
    let shared = Shared {
        faults: &ns.faults,
        clock: &ns.clock,
        counters: &ns.counters,
    };
    if let Some(answer) = common(shared, method.as_str(), segments, body) {
        return answer;
    }
    Ok(match (method.as_str(), segments) {
        ("GET", ["health"]) => {
            json!({"ok": true, "system": "netsuite", "url": ns.base_url, "account": ns.options.account})
        }
        ("GET", ["counters"]) => counters(ns),
        ("POST", ["reset"]) => {
            *ns.store.write() = super::store::Store::new();
            ns.nonces.lock().clear();
            ns.bearer.lock().clear();
            ns.faults.set(Vec::new(), None).map_err(bad)?;
            ns.counters.reset();
            json!({"reset": true})
        }
        ("POST", ["load"]) => {
            let text = std::str::from_utf8(body).map_err(|_| bad("body is not UTF-8"))?;
            load(ns, text).map_err(bad)?
        }
        ("GET", ["records", kind]) => {
            let kind = record_type(kind)?;
            let call = admin_call(ns, method, headers);
            let store = ns.store.read();
            let items: Vec<Json> = store
                .table(kind)
                .values()
                .map(|r| records::render(&call, &store, kind, r, None))
                .collect();
            json!({"items": items})
        }
        ("GET", ["records", kind, id]) => {
            let kind = record_type(kind)?;
            let id: u64 = id
                .parse()
                .map_err(|_| bad("the id is an internal id (digits)"))?;
            let call = admin_call(ns, method, headers);
            let store = ns.store.read();
            let record = store
                .table(kind)
                .get(&id)
                .ok_or_else(|| AdminError(404, format!("no {} {id}", kind.name())))?;
            records::render(&call, &store, kind, record, None)
        }
        ("GET", ["deleted"]) => {
            let store = ns.store.read();
            let rows: Vec<Json> = store
                .deleted
                .iter()
                .map(|d| json!({"recordId": d.record_id.to_string(), "type": d.kind.name(), "deletedDate": timefmt::iso(d.deleted_ms), "name": d.name}))
                .collect();
            json!({"deleted": rows})
        }
        ("GET", ["governance"]) => governance(ns),
        ("PUT", ["governance"]) => {
            let b: GovernanceBody = parse(body)?;
            if let Some(limit) = b.limit {
                ns.governor.set_limit(limit);
            }
            if let Some(open) = b.open {
                ns.governor.set_open(open);
            }
            governance(ns)
        }
        ("POST", ["tokens", "expire"]) => {
            ns.bearer.lock().clear();
            json!({"expired": true})
        }
        _ => return Err(unknown(method.as_str(), segments)),
    })
}

fn record_type(name: &str) -> Result<RecordType, AdminError> {
    RecordType::parse(name).ok_or_else(|| {
        AdminError(
            404,
            format!("no record type {name}; use customer or contact"),
        )
    })
}

/// A call context for rendering records with the links a client would see.
fn admin_call<'a>(ns: &'a Ns, method: &'a Method, headers: &'a HeaderMap) -> Call<'a> {
    Call {
        ns,
        method,
        origin: super::origin(headers),
        path: "",
        query: Vec::new(),
        headers,
        body: &[],
        now_ms: ns.clock.now_ms(),
    }
}

fn governance(ns: &Ns) -> Json {
    let (limit, in_flight, open) = ns.governor.state();
    json!({"limit": limit, "inFlight": in_flight, "open": open})
}

fn counters(ns: &Ns) -> Json {
    let store = ns.store.read();
    let mut fields = counter_fields(&ns.counters, store.stats);
    let records = json!({
        "customer": store.table(RecordType::Customer).len(),
        "contact": store.table(RecordType::Contact).len(),
        "deletedrecord": store.deleted.len(),
    });
    fields.insert("records".into(), records);
    Json::Object(fields)
}

/// Loads `{"subsidiary": [{"id", "name"}], "customer": [{…}], "contact": [{…}]}`:
/// records go through the same checks as REST creates; `dateCreated` and
/// `lastModifiedDate` may be given (ISO-8601) to set up watermark tests. Answers the
/// new internal ids per type, in order.
pub fn load(ns: &Ns, text: &str) -> Result<Json, String> {
    let data: Map<String, Json> =
        serde_json::from_str(text).map_err(|e| format!("not a JSON object: {e}"))?;
    let mut answer = Map::new();
    let mut store = ns.store.write();
    if let Some(subsidiaries) = data.get("subsidiary") {
        for s in subsidiaries
            .as_array()
            .ok_or("subsidiary must be an array")?
        {
            let id: u64 = s["id"]
                .as_str()
                .and_then(|i| i.parse().ok())
                .or_else(|| s["id"].as_u64())
                .ok_or("a subsidiary needs an id")?;
            let name = s["name"].as_str().ok_or("a subsidiary needs a name")?;
            store.subsidiaries.insert(id, name.to_string());
        }
    }
    for key in data.keys() {
        if key != "subsidiary" && RecordType::parse(key).is_none() {
            return Err(format!(
                "unknown key {key:?}; use subsidiary, customer or contact"
            ));
        }
    }
    for kind in RecordType::ALL {
        let Some(list) = data.get(kind.name()) else {
            continue;
        };
        let mut ids = Vec::new();
        for (i, item) in list
            .as_array()
            .ok_or(format!("{} must be an array", kind.name()))?
            .iter()
            .enumerate()
        {
            let mut body = item
                .as_object()
                .cloned()
                .ok_or(format!("{}[{i}] is not an object", kind.name()))?;
            let stamp = |body: &mut Map<String, Json>, name: &str| -> Result<Option<i64>, String> {
                match body.remove(name) {
                    None => Ok(None),
                    Some(v) => v
                        .as_str()
                        .and_then(timefmt::parse_iso)
                        .map(Some)
                        .ok_or(format!(
                            "{}[{i}].{name} is not an ISO-8601 datetime",
                            kind.name()
                        )),
                }
            };
            let created = stamp(&mut body, "dateCreated")?;
            let modified = stamp(&mut body, "lastModifiedDate")?;
            let ctx = WriteCtx {
                schema: &ns.schema,
                options: &ns.options,
                validation: PropertyValidation::Error,
                now_ms: ns.clock.now_ms(),
            };
            let id = store
                .write(&ctx, kind, None, &body)
                .map_err(|e| format!("{}[{i}]: {} {}", kind.name(), e.code, e.detail))?;
            store.set_stamps(kind, id, created, modified);
            ids.push(Json::String(id.to_string()));
        }
        answer.insert(kind.name().into(), Json::Array(ids));
    }
    Ok(Json::Object(answer))
}
