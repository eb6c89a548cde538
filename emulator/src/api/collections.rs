//! sObject Collections (`/composite/sobjects`): create, update, upsert by external id,
//! delete and retrieve up to 200 records in one call, with per-record SaveResults and
//! `allOrNone` rollback.

use super::render::{field_list, write_record};
use super::{body_object, ApiResponse, Ctx};
use crate::decode::{decode_record, Decoded};
use crate::errors::{entity_deleted, ApiError, SfError};
use crate::ids::Id;
use crate::save::{self, UpsertError};
use crate::store::{Org, Txn};
use serde_json::{Map, Value as Json};
use std::collections::HashMap;

type Answer = Result<ApiResponse, ApiError>;

/// Most records one call may carry.
pub const MAX_RECORDS: usize = 200;

/// One record's result.
#[derive(Default)]
struct Outcome {
    id: Option<Id>,
    created: Option<bool>,
    error: Option<SfError>,
}

impl Outcome {
    fn saved(id: Id) -> Outcome {
        Outcome {
            id: Some(id),
            ..Outcome::default()
        }
    }

    fn failed(id: Option<Id>, error: SfError) -> Outcome {
        Outcome {
            id,
            created: None,
            error: Some(error),
        }
    }
}

fn too_many() -> ApiError {
    ApiError::bad_request(
        "EXCEEDED_ID_LIMIT",
        "record limit reached. cannot submit more than 200 records into this call",
    )
}

/// `allOrNone` and `records` of a collection body.
fn records_of(body: Option<Json>) -> Result<(bool, Vec<Map<String, Json>>), ApiError> {
    let mut body = body_object(body)?;
    let all_or_none = body
        .get("allOrNone")
        .and_then(Json::as_bool)
        .unwrap_or(false);
    let records = match body.remove("records") {
        Some(Json::Array(records)) => records,
        _ => {
            return Err(ApiError::json_parser(
                "Cannot deserialize request: the body needs a \"records\" array",
            ))
        }
    };
    if records.len() > MAX_RECORDS {
        return Err(too_many());
    }
    let records = records
        .into_iter()
        .map(|r| match r {
            Json::Object(map) => Ok(map),
            _ => Err(ApiError::json_parser(
                "Cannot deserialize instance of SObject from a non-object value",
            )),
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((all_or_none, records))
}

/// The object a record's `attributes.type` names.
fn record_table(org: &Org, record: &Map<String, Json>) -> Result<usize, ApiError> {
    let type_name = record
        .get("attributes")
        .and_then(|a| a.get("type"))
        .and_then(Json::as_str)
        .ok_or_else(|| {
            ApiError::bad_request(
                "INVALID_TYPE",
                "Must send a concrete entity type: every record needs \"attributes\": {\"type\": \"<Object>\"}.",
            )
        })?;
    org.schema.object_index(type_name).ok_or_else(|| {
        ApiError::bad_request(
            "INVALID_TYPE",
            format!("sObject type '{type_name}' is not supported."),
        )
    })
}

fn decode_all(org: &Org, records: &[Map<String, Json>]) -> Result<Vec<(usize, Decoded)>, ApiError> {
    records
        .iter()
        .map(|r| {
            let table = record_table(org, r)?;
            Ok((table, decode_record(&org.schema.objects[table], r)?))
        })
        .collect()
}

/// Runs each record, then applies `allOrNone` (the request's, or the composite call's
/// around it) and renders the result array.
fn run(
    org: &mut Org,
    txn: &mut Txn,
    ctx: &Ctx,
    all_or_none: bool,
    count: usize,
    mut each: impl FnMut(&mut Org, &mut Txn, usize) -> Outcome,
) -> ApiResponse {
    let all_or_none = all_or_none || ctx.all_or_none;
    let point = org.savepoint(txn);
    let mut outcomes: Vec<Outcome> = (0..count).map(|i| each(org, txn, i)).collect();
    if all_or_none && outcomes.iter().any(|o| o.error.is_some()) {
        org.rollback_to(txn, &point);
        for outcome in outcomes.iter_mut().filter(|o| o.error.is_none()) {
            outcome.id = None;
            outcome.error = Some(SfError::on_fields(
                "ALL_OR_NONE_OPERATION_ROLLED_BACK",
                "Record rolled back because not all records were valid and the request was using AllOrNone header",
                Vec::new(),
            ));
        }
    }
    let mut response = ApiResponse::json(200, render(&outcomes));
    response.record_failures = outcomes.iter().any(|o| o.error.is_some());
    response
}

fn render(outcomes: &[Outcome]) -> String {
    let mut out = String::with_capacity(outcomes.len() * 64 + 2);
    out.push('[');
    for (i, o) in outcomes.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push('{');
        if let Some(id) = &o.id {
            out.push_str("\"id\":\"");
            out.push_str(id.as_str());
            out.push_str("\",");
        }
        match &o.error {
            None => out.push_str("\"success\":true,\"errors\":[]"),
            Some(e) => {
                out.push_str("\"success\":false,\"errors\":[");
                e.write_save_result(&mut out);
                out.push(']');
            }
        }
        if let Some(created) = o.created {
            out.push_str(if created {
                ",\"created\":true"
            } else {
                ",\"created\":false"
            });
        }
        out.push('}');
    }
    out.push(']');
    out
}

/// Decodes a create or update body and runs `each` on every record with its table.
fn run_decoded(
    org: &mut Org,
    txn: &mut Txn,
    ctx: &Ctx,
    body: Option<Json>,
    each: impl Fn(&mut Org, &mut Txn, usize, &Decoded) -> Outcome,
) -> Answer {
    let (all_or_none, records) = records_of(body)?;
    let decoded = decode_all(org, &records)?;
    Ok(run(
        org,
        txn,
        ctx,
        all_or_none,
        decoded.len(),
        |org, txn, i| {
            let (table, body) = &decoded[i];
            each(org, txn, *table, body)
        },
    ))
}

/// `POST /composite/sobjects`.
pub fn create(org: &mut Org, txn: &mut Txn, ctx: &Ctx, body: Option<Json>) -> Answer {
    run_decoded(org, txn, ctx, body, |org, txn, table, body| {
        match ctx.saving(|save_ctx| save::create(org, txn, table, body, save_ctx)) {
            Ok(id) => Outcome::saved(id),
            Err(e) => Outcome::failed(None, e),
        }
    })
}

/// The record id of an update or delete, checked against the records present.
fn existing_id(org: &Org, raw: Option<&Json>) -> Result<(usize, Id), (Option<Id>, SfError)> {
    let text = match raw {
        Some(Json::String(s)) => s.as_str(),
        _ => {
            return Err((
                None,
                SfError::on_fields(
                    "MISSING_ARGUMENT",
                    "Id not specified in an update call",
                    Vec::new(),
                ),
            ));
        }
    };
    let id = Id::parse(text).ok_or_else(|| {
        (
            None,
            SfError::on_fields("MALFORMED_ID", format!("malformed id {text}"), Vec::new()),
        )
    })?;
    match org.find(&id) {
        Some((_, r)) if r.is_deleted() => Err((Some(id), entity_deleted())),
        Some((table, _)) => Ok((table, id)),
        None if org.schema.object_of_id(&id).is_none() => Err((
            Some(id),
            SfError::on_fields("MALFORMED_ID", format!("malformed id {text}"), Vec::new()),
        )),
        None => Err((
            Some(id),
            SfError::on_fields(
                "INVALID_CROSS_REFERENCE_KEY",
                "invalid cross reference id",
                Vec::new(),
            ),
        )),
    }
}

/// `PATCH /composite/sobjects`.
pub fn update(org: &mut Org, txn: &mut Txn, ctx: &Ctx, body: Option<Json>) -> Answer {
    run_decoded(org, txn, ctx, body, |org, txn, table, body| {
        let (found_table, id) = match existing_id(org, body.id.as_ref()) {
            Ok(found) => found,
            Err((id, e)) => return Outcome::failed(id, e),
        };
        if found_table != table {
            return Outcome::failed(
                Some(id),
                SfError::on_fields("MALFORMED_ID", format!("malformed id {id}"), Vec::new()),
            );
        }
        match ctx.saving(|save_ctx| save::update(org, txn, table, id, body, save_ctx)) {
            Ok(()) => Outcome::saved(id),
            Err(e) => Outcome::failed(Some(id), e),
        }
    })
}

/// `PATCH /composite/sobjects/{Type}/{ExtIdField}`.
pub fn upsert(
    org: &mut Org,
    txn: &mut Txn,
    ctx: &Ctx,
    table: usize,
    field: &str,
    body: Option<Json>,
) -> Answer {
    let schema = org.schema.clone();
    let object = &schema.objects[table];
    let key_index = object
        .field_index(field)
        .filter(|i| object.fields[*i].external_id)
        .ok_or_else(|| {
            ApiError::bad_request(
                "INVALID_FIELD",
                format!(
                    "Field name provided, {field} is not an External ID or indexed field for {}",
                    object.name
                ),
            )
        })?;
    let key_def = &object.fields[key_index];
    let (all_or_none, records) = records_of(body)?;
    let mut decoded = Vec::with_capacity(records.len());
    for record in &records {
        if record_table(org, record)? != table {
            return Err(ApiError::bad_request(
                "INVALID_TYPE",
                format!(
                    "Upsert collections hold records of one type; this call is for {}",
                    object.name
                ),
            ));
        }
        let body = decode_record(object, record)?;
        let key = body
            .fields
            .iter()
            .find(|(i, _)| *i == key_index)
            .map(|(_, v)| v.clone());
        decoded.push((body, key));
    }
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (_, key) in &decoded {
        if let Some(k) = key
            .as_ref()
            .and_then(|k| k.index_key(key_def.case_sensitive))
        {
            *seen.entry(k).or_default() += 1;
        }
    }
    Ok(run(
        org,
        txn,
        ctx,
        all_or_none,
        decoded.len(),
        |org, txn, i| {
            let (body, key) = &decoded[i];
            let key = match key {
                Some(key) if !key.is_blank() => key,
                _ => {
                    return Outcome::failed(
                        None,
                        SfError::on_fields(
                            "MISSING_ARGUMENT",
                            format!("{} not specified", key_def.name),
                            Vec::new(),
                        ),
                    )
                }
            };
            if key
                .index_key(key_def.case_sensitive)
                .is_some_and(|k| seen.get(&k).copied().unwrap_or(0) > 1)
            {
                let shown = key.to_text().unwrap_or_default();
                return Outcome::failed(
                    None,
                    SfError::on_fields(
                        "DUPLICATE_EXTERNAL_ID",
                        format!("Duplicate external id specified: {shown}"),
                        vec![key_def.name.clone()],
                    ),
                );
            }
            let inserting = save::find_by(org, table, key_index, key).is_empty();
            let saved = ctx
                .saving(|save_ctx| save::upsert(org, txn, table, key_index, key, body, save_ctx));
            match saved {
                Ok((id, created)) => Outcome {
                    id: Some(id),
                    created: Some(created),
                    error: None,
                },
                Err(UpsertError::Multiple(ids)) => Outcome {
                    id: None,
                    created: Some(false),
                    error: Some(SfError::on_fields(
                        "DUPLICATE_EXTERNAL_ID",
                        format!(
                            "{}: more than one record found for external id field: {}",
                            key_def.name,
                            ids.iter().map(Id::to_string).collect::<Vec<_>>().join(", ")
                        ),
                        vec![key_def.name.clone()],
                    )),
                },
                Err(UpsertError::Failed(e)) => Outcome {
                    id: None,
                    created: Some(inserting),
                    error: Some(e),
                },
            }
        },
    ))
}

/// `DELETE /composite/sobjects?ids=…&allOrNone=…`.
pub fn delete(
    org: &mut Org,
    txn: &mut Txn,
    ctx: &Ctx,
    ids: Option<&str>,
    all_or_none: bool,
) -> Answer {
    let ids: Vec<String> = ids
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    if ids.is_empty() {
        return Err(ApiError::bad_request(
            "MISSING_ARGUMENT",
            "ids parameter must be specified",
        ));
    }
    if ids.len() > MAX_RECORDS {
        return Err(too_many());
    }
    Ok(run(org, txn, ctx, all_or_none, ids.len(), |org, txn, i| {
        let (_, id) = match existing_id(org, Some(&Json::String(ids[i].clone()))) {
            Ok(found) => found,
            Err((id, e)) => return Outcome::failed(id, e),
        };
        match ctx.saving(|save_ctx| save::delete(org, txn, id, save_ctx)) {
            Ok(()) => Outcome::saved(id),
            Err(e) => Outcome::failed(Some(id), e),
        }
    }))
}

/// `GET /composite/sobjects/{Type}?ids=…&fields=…` or `POST` with `{"ids":[…],"fields":[…]}`:
/// records in id order, `null` where an id is unknown or deleted.
pub fn retrieve(
    org: &Org,
    ctx: &Ctx,
    table: usize,
    ids: Option<String>,
    fields: Option<String>,
    body: Option<Json>,
) -> Answer {
    let object = &org.schema.objects[table];
    let join = |v: Option<&Json>| {
        v.and_then(Json::as_array).map(|a| {
            a.iter()
                .filter_map(Json::as_str)
                .collect::<Vec<_>>()
                .join(",")
        })
    };
    let (ids, fields) = match &body {
        Some(json) => (join(json.get("ids")), join(json.get("fields"))),
        None => (ids, fields),
    };
    let ids: Vec<&str> = ids
        .as_deref()
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    if ids.len() > 2000 {
        return Err(too_many());
    }
    let Some(fields) = fields.filter(|f| !f.trim().is_empty()) else {
        return Err(ApiError::bad_request(
            "MISSING_ARGUMENT",
            "fields parameter must be specified",
        ));
    };
    let fields = field_list(object, Some(&fields))?;
    let version = ctx.version.text();
    let mut out = String::from("[");
    for (i, text) in ids.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let record = Id::parse(text)
            .and_then(|id| org.tables[table].get(&id))
            .filter(|r| !r.is_deleted());
        match record {
            Some(record) => write_record(&mut out, object, record, &fields, &version),
            None => out.push_str("null"),
        }
    }
    out.push(']');
    Ok(ApiResponse::json(200, out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_save_results_in_the_collection_shape() {
        let id = Id::generate("001", 1);
        let outcomes = vec![
            Outcome {
                id: Some(id),
                created: Some(true),
                error: None,
            },
            Outcome::failed(
                None,
                SfError::on_fields(
                    "REQUIRED_FIELD_MISSING",
                    "Required fields are missing: [Name]",
                    vec!["Name".into()],
                ),
            ),
        ];
        let json: Json = serde_json::from_str(&render(&outcomes)).unwrap();
        assert_eq!(
            json[0],
            serde_json::json!({"id": id.as_str(), "success": true, "errors": [], "created": true})
        );
        assert_eq!(json[1]["errors"][0]["statusCode"], "REQUIRED_FIELD_MISSING");
        assert!(json[1].get("id").is_none());
    }
}
