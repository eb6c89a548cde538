//! `/services/rest/record/v1/…`: create (`POST` → 204 + `Location`), read, update
//! (`PATCH` → 204), upsert by external id (`PUT …/eid:X` → 204), delete (204), listing
//! with `limit`/`offset`/`q`, and the metadata catalog. Ids are strings; references read
//! as `{"links", "id", "refName"}` and write as `{"id"}`.

use super::errors::{nonexistent, NsError};
use super::schema::{FieldType, RecordType};
use super::store::{Record, Store, WriteCtx};
use super::{qfilter, timefmt, Call, PropertyValidation};
use crate::http::{empty_response, typed_response};
use axum::body::Body;
use axum::http::{header, HeaderValue, Response};
use serde_json::{json, Map, Value as Json};

const RESOURCE: &str =
    "application/vnd.oracle.resource+json; type=singular-resource; charset=UTF-8";
const COLLECTION: &str = "application/vnd.oracle.resource+json; type=collection; charset=UTF-8";
const SCHEMA: &str = "application/schema+json; charset=UTF-8";

/// How a URL names a record.
enum Key {
    Internal(u64),
    External(String),
}

fn parse_key(segment: &str) -> Option<Key> {
    let decoded = percent_encoding::percent_decode_str(segment)
        .decode_utf8()
        .ok()?;
    match decoded.strip_prefix("eid:") {
        Some(external) if !external.is_empty() => Some(Key::External(external.to_string())),
        Some(_) => None,
        None => decoded.parse().ok().map(Key::Internal),
    }
}

/// A record's URL.
pub fn record_url(origin: &str, kind: RecordType, id: u64) -> String {
    format!("{origin}/services/rest/record/v1/{}/{id}", kind.name())
}

fn self_link(href: &str) -> Json {
    json!([{"rel": "self", "href": href}])
}

/// Routes one record call.
pub fn handle(call: &Call) -> Result<Response<Body>, NsError> {
    let rest = call.path.strip_prefix("record/v1/").unwrap_or_default();
    let segments: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    let method = call.method.as_str();
    if segments.first() == Some(&"metadata-catalog") {
        return metadata(call, &segments[1..]);
    }
    let not_found = || nonexistent(&call.ns.options.nonexistent_id_detail);
    let kind = segments
        .first()
        .and_then(|s| RecordType::parse(s))
        .ok_or_else(|| {
            NsError::new(
                404,
                "NONEXISTENT_ID",
                format!(
                    "Record type '{}' does not exist.",
                    segments.first().unwrap_or(&"")
                ),
            )
        })?;
    match (method, &segments[1..]) {
        ("GET", []) => list(call, kind),
        ("POST", []) => {
            let body = json_body(call)?;
            let id = write(call, kind, None, &body)?;
            Ok(located(204, &record_url(&call.origin, kind, id)))
        }
        (_, [key]) => {
            let key = parse_key(key).ok_or_else(not_found)?;
            let store = call.ns.store.read();
            let found = match &key {
                Key::Internal(id) => store.table(kind).contains_key(id).then_some(*id),
                Key::External(eid) => store.by_external_id(kind, eid),
            };
            drop(store);
            match (method, found) {
                ("GET", Some(id)) => read(call, kind, id),
                ("PATCH", Some(id)) => {
                    let body = json_body(call)?;
                    write(call, kind, Some(&Key::Internal(id)), &body)?;
                    Ok(located(204, &record_url(&call.origin, kind, id)))
                }
                ("PUT", _) => {
                    let Key::External(eid) = key else {
                        return Err(NsError::new(
                            405,
                            "USER_ERROR",
                            "PUT is only allowed with an external id (eid:).",
                        ));
                    };
                    let mut body = json_body(call)?;
                    match body.get("externalId") {
                        Some(Json::String(given)) if *given != eid => {
                            return Err(NsError::content(
                                "externalId",
                                "The externalId in the body differs from the one in the URL.",
                            ))
                        }
                        _ => body.insert("externalId".into(), Json::String(eid.clone())),
                    };
                    // Resolved again under the write lock, so two upserts of one
                    // external id never create two records.
                    let id = write(call, kind, Some(&Key::External(eid)), &body)?;
                    Ok(located(
                        call.ns.options.upsert_status,
                        &record_url(&call.origin, kind, id),
                    ))
                }
                ("DELETE", Some(id)) => match call.ns.store.write().delete(kind, id, call.now_ms) {
                    Some(_) => Ok(empty_response(204)),
                    None => Err(not_found()),
                },
                ("GET" | "PATCH" | "DELETE", None) => Err(not_found()),
                _ => Err(not_allowed(method)),
            }
        }
        _ => Err(not_allowed(method)),
    }
}

fn not_allowed(method: &str) -> NsError {
    NsError::new(
        405,
        "USER_ERROR",
        format!("The HTTP method {method} is not allowed for this resource."),
    )
}

fn located(status: u16, url: &str) -> Response<Body> {
    let mut response = empty_response(status);
    if let Ok(value) = HeaderValue::from_str(url) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

/// The body as a JSON object (sent with or without `Content-Type`).
fn json_body(call: &Call) -> Result<Map<String, Json>, NsError> {
    match serde_json::from_slice::<Json>(call.body) {
        Ok(Json::Object(map)) => Ok(map),
        Ok(_) => Err(NsError::new(
            400,
            "INVALID_CONTENT",
            "The request body must be a JSON object.",
        )),
        Err(e) => Err(NsError::new(
            400,
            "INVALID_CONTENT",
            format!("Invalid JSON in the request body: {e}"),
        )),
    }
}

/// Creates (`key` None), updates (an internal id) or upserts (an external id).
fn write(
    call: &Call,
    kind: RecordType,
    key: Option<&Key>,
    body: &Map<String, Json>,
) -> Result<u64, NsError> {
    let validation = call
        .header("x-netsuite-propertynamevalidation")
        .and_then(PropertyValidation::from_header)
        .unwrap_or(call.ns.options.property_validation);
    let ctx = WriteCtx {
        schema: &call.ns.schema,
        options: &call.ns.options,
        validation,
        now_ms: call.now_ms,
    };
    let mut store = call.ns.store.write();
    let id = match key {
        None => None,
        Some(Key::Internal(id)) => Some(*id),
        Some(Key::External(eid)) => store.by_external_id(kind, eid),
    };
    store.write(&ctx, kind, id, body)
}

/// A record as NetSuite renders it; `fields` limits the body fields.
pub fn render(
    call: &Call,
    store: &Store,
    kind: RecordType,
    record: &Record,
    fields: Option<&[&str]>,
) -> Json {
    let origin = &call.origin;
    let mut out = Map::new();
    out.insert(
        "links".into(),
        self_link(&record_url(origin, kind, record.id)),
    );
    out.insert("id".into(), json!(record.id.to_string()));
    for field in call.ns.schema.fields(kind) {
        if fields.is_some_and(|wanted| !wanted.contains(&field.name.as_str())) {
            continue;
        }
        let value = match field.kind {
            FieldType::Stamp if field.name == "dateCreated" => {
                json!(timefmt::iso(record.created_ms))
            }
            FieldType::Stamp => json!(timefmt::iso(record.modified_ms)),
            FieldType::Ref(target) => match record.values.get(&field.name).and_then(Json::as_str) {
                Some(id) => {
                    let path = match target {
                        super::schema::Target::Subsidiary => "subsidiary",
                        super::schema::Target::Customer => "customer",
                    };
                    json!({
                        "links": self_link(&format!("{origin}/services/rest/record/v1/{path}/{id}")),
                        "id": id,
                        "refName": store.ref_name(target, id),
                    })
                }
                None => continue,
            },
            _ => match record.values.get(&field.name) {
                Some(v) => v.clone(),
                None if field.name == "externalId" && call.ns.options.external_id_always => {
                    Json::Null
                }
                None => continue,
            },
        };
        out.insert(field.name.clone(), value);
    }
    Json::Object(out)
}

fn read(call: &Call, kind: RecordType, id: u64) -> Result<Response<Body>, NsError> {
    let store = call.ns.store.read();
    let record = store
        .table(kind)
        .get(&id)
        .ok_or_else(|| nonexistent(&call.ns.options.nonexistent_id_detail))?;
    let wanted: Option<Vec<&str>> = call
        .param("fields")
        .map(|f| f.split(',').map(str::trim).collect());
    let body = render(call, &store, kind, record, wanted.as_deref());
    Ok(typed_response(200, RESOURCE, body.to_string()))
}

/// `limit` (1–1000, default 1000) and `offset` (≥ 0) of a page.
pub fn paging(call: &Call) -> Result<(usize, usize), NsError> {
    let number = |name: &str, default: usize| match call.param(name) {
        None => Ok(default),
        Some(v) => v.trim().parse::<usize>().map_err(|_| {
            NsError::user(format!(
                "Invalid value '{v}' for the query parameter '{name}'."
            ))
        }),
    };
    let limit = number("limit", 1000)?;
    if !(1..=1000).contains(&limit) {
        return Err(NsError::user(format!(
            "Invalid value '{limit}' for the query parameter 'limit'. Use a value from 1 to 1000."
        )));
    }
    Ok((limit, number("offset", 0)?))
}

/// The `links` of a page: `first`, `prev`, `next`, `last` (as they apply) and `self`.
pub fn page_links(base: &str, extra: &str, limit: usize, offset: usize, total: usize) -> Json {
    let href = |o: usize| format!("{base}?{extra}limit={limit}&offset={o}");
    let last = if total == 0 {
        0
    } else {
        (total - 1) / limit * limit
    };
    let mut links = Vec::new();
    if offset > 0 {
        links.push(json!({"rel": "previous", "href": href(offset.saturating_sub(limit))}));
        links.push(json!({"rel": "first", "href": href(0)}));
    }
    if offset + limit < total {
        links.push(json!({"rel": "next", "href": href(offset + limit)}));
        links.push(json!({"rel": "last", "href": href(last)}));
    }
    links.push(json!({"rel": "self", "href": href(offset)}));
    Json::Array(links)
}

fn list(call: &Call, kind: RecordType) -> Result<Response<Body>, NsError> {
    let (limit, offset) = paging(call)?;
    let filter = match call.param("q") {
        Some(q) => Some(qfilter::parse(q, &call.ns.schema, kind)?),
        None => None,
    };
    let store = call.ns.store.read();
    let options = &call.ns.options;
    let ids: Vec<u64> = store
        .table(kind)
        .values()
        .filter(|r| filter.as_ref().is_none_or(|f| f.matches(r, options)))
        .map(|r| r.id)
        .collect();
    let total = ids.len();
    let items: Vec<Json> = ids
        .iter()
        .skip(offset)
        .take(limit)
        .map(|id| json!({"links": self_link(&record_url(&call.origin, kind, *id)), "id": id.to_string()}))
        .collect();
    let base = format!("{}/services/rest/record/v1/{}", call.origin, kind.name());
    let extra = call
        .param("q")
        .map(|q| {
            format!(
                "q={}&",
                percent_encoding::utf8_percent_encode(q, percent_encoding::NON_ALPHANUMERIC)
            )
        })
        .unwrap_or_default();
    let body = json!({
        "links": page_links(&base, &extra, limit, offset, total),
        "count": items.len(),
        "hasMore": offset + items.len() < total,
        "items": items,
        "offset": offset,
        "totalResults": total,
    });
    Ok(typed_response(200, COLLECTION, body.to_string()))
}

/// `GET /record/v1/metadata-catalog[/type]`: the record types, or one type's JSON
/// schema (standard and custom fields), so a connector can check its mappings.
fn metadata(call: &Call, rest: &[&str]) -> Result<Response<Body>, NsError> {
    if call.method != "GET" {
        return Err(not_allowed(call.method.as_str()));
    }
    let origin = &call.origin;
    match rest {
        [] => {
            let items: Vec<Json> = RecordType::ALL
                .iter()
                .map(|t| json!({"name": t.name(), "links": [{"rel": "canonical", "href": format!("{origin}/services/rest/record/v1/{}", t.name()), "mediaType": "application/json"}, {"rel": "describes", "href": format!("{origin}/services/rest/record/v1/metadata-catalog/{}", t.name()), "mediaType": "application/schema+json"}]}))
                .collect();
            Ok(typed_response(
                200,
                COLLECTION,
                json!({"items": items}).to_string(),
            ))
        }
        [name] => {
            let kind = RecordType::parse(name)
                .ok_or_else(|| nonexistent(&call.ns.options.nonexistent_id_detail))?;
            let mut properties = Map::new();
            properties.insert(
                "id".into(),
                json!({"type": "string", "title": "Internal ID", "nullable": true}),
            );
            for field in call.ns.schema.fields(kind) {
                let (kind_name, format) = match field.kind {
                    FieldType::Text => ("string", None),
                    FieldType::Bool => ("boolean", None),
                    FieldType::Integer => ("integer", Some("int64")),
                    FieldType::Float => ("number", Some("double")),
                    FieldType::Date => ("string", Some("date")),
                    FieldType::DateTime => ("string", Some("date-time")),
                    FieldType::Stamp => ("string", Some("date-time")),
                    FieldType::Ref(_) => ("object", None),
                };
                let mut prop = json!({"type": kind_name, "title": field.label, "nullable": true, "x-ns-filterable": true});
                if let Some(format) = format {
                    prop["format"] = json!(format);
                }
                if field.name.starts_with("custentity_") {
                    prop["x-ns-custom-field"] = json!(true);
                }
                if field.kind == FieldType::Stamp {
                    prop["readOnly"] = json!(true);
                }
                properties.insert(field.name.clone(), prop);
            }
            let body = json!({"type": "object", "properties": properties, "x-ns-filterable": call.ns.schema.fields(kind).iter().map(|f| f.name.clone()).collect::<Vec<_>>()});
            Ok(typed_response(200, SCHEMA, body.to_string()))
        }
        _ => Err(nonexistent(&call.ns.options.nonexistent_id_detail)),
    }
}
