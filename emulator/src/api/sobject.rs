//! Single-record resources: create, retrieve, update, delete, and upsert / retrieve /
//! delete by external id.

use super::render::{field_list, record_json};
use super::{body_object, conditional, ApiResponse, Ctx};
use crate::decode::{decode_record, decode_value};
use crate::errors::ApiError;
use crate::ids::Id;
use crate::save::{self, UpsertError};
use crate::schema::{ObjectDef, Role};
use crate::store::{Org, Record, Txn};
use crate::value::{write_json_string, Value};
use crate::DeletedRecordError;
use serde_json::Value as Json;

type Answer = Result<ApiResponse, ApiError>;

/// `{"id":…,"success":true,"errors":[]}` plus `"created"` for upserts at v46+.
pub fn save_result(id: &Id, created: Option<bool>) -> String {
    let mut out = String::with_capacity(64);
    out.push_str("{\"id\":\"");
    out.push_str(id.as_str());
    out.push_str("\",\"success\":true,\"errors\":[]");
    if let Some(created) = created {
        out.push_str(if created {
            ",\"created\":true"
        } else {
            ",\"created\":false"
        });
    }
    out.push('}');
    out
}

/// `POST /sobjects/{Type}`.
pub fn create(org: &mut Org, txn: &mut Txn, ctx: &Ctx, table: usize, body: Option<Json>) -> Answer {
    let schema = org.schema.clone();
    let object = &schema.objects[table];
    let decoded = decode_record(object, &body_object(body)?)?;
    let id = ctx.saving(|save_ctx| save::create(org, txn, table, &decoded, save_ctx))?;
    let mut response = ApiResponse::json(201, save_result(&id, None));
    response.location = Some(format!("{}/{id}", object.url_base(&ctx.version.text())));
    Ok(response)
}

/// The record id in a URL, if it is an id of this object; anything else is looked up
/// as an external id on `Id` and fails as Salesforce reports it.
fn url_id(object: &ObjectDef, text: &str) -> Result<Id, ApiError> {
    Id::parse(text)
        .filter(|id| id.key_prefix() == object.key_prefix)
        .ok_or_else(|| ApiError::external_id_not_found(text))
}

fn deleted_error(ctx: &Ctx) -> ApiError {
    match ctx.app.options.deleted_record_error {
        DeletedRecordError::NotFound => ApiError::not_found(),
        DeletedRecordError::EntityIsDeleted => ApiError::entity_is_deleted(),
    }
}

/// `GET /sobjects/{Type}/{id}`.
pub fn retrieve(org: &Org, ctx: &Ctx, table: usize, id: &str, fields: Option<&str>) -> Answer {
    let object = &org.schema.objects[table];
    let id = url_id(object, id)?;
    let fields = field_list(object, fields)?;
    let record = org.tables[table].get(&id).ok_or_else(ApiError::not_found)?;
    if record.is_deleted() {
        return Err(deleted_error(ctx));
    }
    let (modified, etag) = version_of(object, record);
    let mut response = if ctx.conditions.not_modified(modified, etag.as_deref()) {
        ApiResponse::empty(304)
    } else {
        ApiResponse::json(
            200,
            record_json(object, record, &fields, &ctx.version.text()),
        )
    };
    response
        .headers
        .push(("last-modified", conditional::http_date(modified)));
    if let Some(etag) = etag {
        response.headers.push(("etag", etag));
    }
    Ok(response)
}

/// A record's `LastModifiedDate` and, for Accounts, its `ETag` (the only object
/// Salesforce sends one for).
fn version_of(object: &ObjectDef, record: &Record) -> (i64, Option<String>) {
    let modified = match record.values[object.sys.last_modified_date] {
        Value::DateTime(ms) => ms,
        _ => 0,
    };
    let etag = (object.name == "Account").then(|| conditional::etag(record));
    (modified, etag)
}

/// `PATCH /sobjects/{Type}/{id}`.
pub fn update(
    org: &mut Org,
    txn: &mut Txn,
    ctx: &Ctx,
    table: usize,
    id: &str,
    body: Option<Json>,
) -> Answer {
    let schema = org.schema.clone();
    let object = &schema.objects[table];
    let id = url_id(object, id)?;
    let decoded = decode_record(object, &body_object(body)?)?;
    if let Some(current) = org.tables[table].get(&id).filter(|r| !r.is_deleted()) {
        let (modified, etag) = version_of(object, current);
        ctx.conditions.check_write(modified, etag.as_deref())?;
    }
    ctx.saving(|save_ctx| save::update(org, txn, table, id, &decoded, save_ctx))?;
    Ok(ApiResponse::empty(204))
}

/// `DELETE /sobjects/{Type}/{id}`.
pub fn delete(org: &mut Org, txn: &mut Txn, ctx: &Ctx, table: usize, id: &str) -> Answer {
    let object = &org.schema.objects[table];
    let id = url_id(object, id)?;
    ctx.saving(|save_ctx| save::delete(org, txn, id, save_ctx))?;
    Ok(ApiResponse::empty(204))
}

/// The field an upsert or external-id lookup may use, and the typed key value.
pub fn key_field(object: &ObjectDef, field: &str, value: &str) -> Result<(usize, Value), ApiError> {
    let index = object
        .field_index(field)
        .filter(|i| {
            let f = &object.fields[*i];
            f.external_id || f.id_lookup
        })
        .ok_or_else(|| ApiError::external_id_not_found(field))?;
    let def = &object.fields[index];
    let key = if def.role == Role::Id {
        Id::parse(value)
            .map(Value::Id)
            .unwrap_or_else(|| Value::Text(value.into()))
    } else {
        decode_value(def, &Json::String(value.to_string()))?
    };
    Ok((index, key))
}

/// `300 Multiple Choices` with the matching records' URLs.
pub fn multiple_choices(object: &ObjectDef, ids: &[Id], version: &str) -> ApiResponse {
    let mut out = String::from("[");
    for (i, id) in ids.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_json_string(&mut out, &format!("{}/{id}", object.url_base(version)));
    }
    out.push(']');
    ApiResponse::json(300, out)
}

/// `PATCH /sobjects/{Type}/{ExtField}/{value}`.
pub fn upsert(
    org: &mut Org,
    txn: &mut Txn,
    ctx: &Ctx,
    table: usize,
    field: &str,
    value: &str,
    body: Option<Json>,
) -> Answer {
    let schema = org.schema.clone();
    let object = &schema.objects[table];
    let (key_index, key) = key_field(object, field, value)?;
    let decoded = decode_record(object, &body_object(body)?)?;
    let saved =
        ctx.saving(|save_ctx| save::upsert(org, txn, table, key_index, &key, &decoded, save_ctx));
    match saved {
        Ok((id, true)) => {
            let created = (ctx.version.0 >= 46).then_some(true);
            let mut response = ApiResponse::json(201, save_result(&id, created));
            response.location = Some(format!("{}/{id}", object.url_base(&ctx.version.text())));
            Ok(response)
        }
        Ok((id, false)) if ctx.version.0 >= 46 => {
            Ok(ApiResponse::json(200, save_result(&id, Some(false))))
        }
        Ok((_, false)) => Ok(ApiResponse::empty(204)),
        Err(UpsertError::Multiple(ids)) => Ok(multiple_choices(object, &ids, &ctx.version.text())),
        Err(UpsertError::Failed(e)) => Err(e.into()),
    }
}

fn matches_for(org: &Org, table: usize, field: &str, value: &str) -> Result<Vec<Id>, ApiError> {
    let object = &org.schema.objects[table];
    let (key_index, key) = key_field(object, field, value)?;
    Ok(save::find_by(org, table, key_index, &key))
}

/// `GET /sobjects/{Type}/{ExtField}/{value}`.
pub fn retrieve_by_external_id(
    org: &Org,
    ctx: &Ctx,
    table: usize,
    field: &str,
    value: &str,
    fields: Option<&str>,
) -> Answer {
    let object = &org.schema.objects[table];
    let fields = field_list(object, fields)?;
    match matches_for(org, table, field, value)?.as_slice() {
        [] => Err(ApiError::not_found()),
        [id] => {
            let record = org.tables[table].get(id).ok_or_else(ApiError::not_found)?;
            Ok(ApiResponse::json(
                200,
                record_json(object, record, &fields, &ctx.version.text()),
            ))
        }
        many => Ok(multiple_choices(object, many, &ctx.version.text())),
    }
}

/// `DELETE /sobjects/{Type}/{ExtField}/{value}`.
pub fn delete_by_external_id(
    org: &mut Org,
    txn: &mut Txn,
    ctx: &Ctx,
    table: usize,
    field: &str,
    value: &str,
) -> Answer {
    let ids = matches_for(org, table, field, value)?;
    match ids.as_slice() {
        [] => Err(ApiError::not_found()),
        [id] => {
            ctx.saving(|save_ctx| save::delete(org, txn, *id, save_ctx))?;
            Ok(ApiResponse::empty(204))
        }
        many => {
            let object = &org.schema.objects[table];
            Ok(multiple_choices(object, many, &ctx.version.text()))
        }
    }
}
