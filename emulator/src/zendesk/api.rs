//! The Support API calls: each [`Route`] answered from the store, the jobs or the
//! exports, with Zendesk's statuses (201 + `Location` on create, 204 on organization
//! delete, 200 + `active: false` on user delete) and error bodies.

use super::errors::ZdError;
use super::export;
use super::jobs::{self, Item, Op, Spec, Target};
use super::ops::{self, Outcome};
use super::pages::{self, Params};
use super::record::{clock_time, Kind, Record};
use super::routes::Route;
use super::state::Zendesk;
use super::store::{Store, WriteError};
use serde_json::{json, Map, Value as Json};
use std::sync::Arc;

/// What a call needs besides its route and body.
pub struct Ctx<'a> {
    /// The account.
    pub zd: &'a Arc<Zendesk>,
    /// `http://host:port` the request came to: URLs in answers use it.
    pub base: String,
    /// The query string.
    pub params: Params,
    /// Epoch seconds.
    pub now: i64,
}

/// A successful answer.
pub struct Reply {
    /// HTTP status (200, 201, 204).
    pub status: u16,
    /// The JSON body; `None` for 204.
    pub body: Option<Json>,
    /// `Location` of a created or matched record.
    pub location: Option<String>,
}

impl Reply {
    fn ok(body: Json) -> Reply {
        Reply {
            status: 200,
            body: Some(body),
            location: None,
        }
    }
}

impl From<WriteError> for ZdError {
    fn from(error: WriteError) -> ZdError {
        match error {
            WriteError::NotFound => ZdError::not_found(),
            WriteError::Invalid(details) => ZdError::invalid(details),
        }
    }
}

/// Answers one call.
pub fn execute(ctx: &Ctx, route: Route, body: Option<Map<String, Json>>) -> Result<Reply, ZdError> {
    let body = body.unwrap_or_default();
    match route {
        Route::Me => Ok(Reply::ok(json!({"user": me(ctx)}))),
        Route::List(kind) => list(ctx, kind),
        Route::Show(kind, id) => {
            let store = ctx.zd.store.read();
            let record = store.get(kind, id).ok_or_else(ZdError::not_found)?;
            Ok(Reply::ok(one(ctx, kind, record)))
        }
        Route::Create(kind) => {
            let fields = wrapped(&body, kind)?;
            let id = ops::create(&mut ctx.zd.store.write(), kind, fields, ctx.now)?;
            Ok(written(ctx, kind, id, 201))
        }
        Route::Update(kind, id) => {
            let fields = wrapped(&body, kind)?;
            if kind == Kind::User {
                user_update_allowed(ctx, id)?;
            }
            ops::update(&mut ctx.zd.store.write(), kind, id, fields, ctx.now)?;
            Ok(shown(ctx, kind, id))
        }
        Route::Delete(kind, id) => {
            ctx.zd.store.write().delete(kind, id, ctx.now)?;
            Ok(match kind {
                Kind::Organization => Reply {
                    status: 204,
                    body: None,
                    location: None,
                },
                Kind::User => shown(ctx, kind, id),
            })
        }
        Route::ShowMany(kind) => show_many(ctx, kind),
        Route::Search(kind) => search(ctx, kind),
        Route::CreateOrUpdate(kind) => {
            let fields = wrapped(&body, kind)?;
            let outcome = ops::upsert(&mut ctx.zd.store.write(), kind, fields, ctx.now)?;
            match outcome {
                Outcome::Created(id) => Ok(written(ctx, kind, id, 201)),
                Outcome::Updated(id) => Ok(written(ctx, kind, id, 200)),
            }
        }
        Route::CreateMany(kind) => {
            if kind == Kind::User && !ctx.zd.options.bulk_user_import {
                return Err(forbidden(ctx));
            }
            bulk(ctx, kind, Op::Create, batch_items(&body, kind)?)
        }
        Route::CreateOrUpdateMany(kind) => {
            bulk(ctx, kind, Op::CreateOrUpdate, batch_items(&body, kind)?)
        }
        Route::UpdateMany(kind) => {
            // `?ids=`/`?external_ids=` with one `{"organization": {...}}` applies it to
            // each; otherwise a batch names each record by `id` or `external_id`
            // (zenpy's update_by_external_id sends the batch with the ids too).
            let items = match (targets(ctx, kind)?, wrapped(&body, kind)) {
                (Some(targets), Ok(fields)) => targets
                    .into_iter()
                    .map(|target| Item {
                        target,
                        body: fields.clone(),
                    })
                    .collect(),
                _ => batch_items(&body, kind)?,
            };
            bulk(ctx, kind, Op::Update, items)
        }
        Route::DestroyMany(kind) => {
            let targets = targets(ctx, kind)?
                .ok_or_else(|| ZdError::bad_value("ids or external_ids is required"))?;
            let items = targets
                .into_iter()
                .map(|target| Item {
                    target,
                    body: Map::new(),
                })
                .collect();
            bulk(ctx, kind, Op::Destroy, items)
        }
        Route::FieldList(kind) => {
            let fields = definitions(ctx, kind);
            let count = fields.len();
            Ok(Reply::ok(json!({
                kind.fields_path(): fields,
                "next_page": null,
                "previous_page": null,
                "count": count,
            })))
        }
        Route::FieldShow(kind, id) => {
            let field = definitions(ctx, kind)
                .into_iter()
                .find(|f| f["id"] == json!(id))
                .ok_or_else(ZdError::not_found)?;
            Ok(Reply::ok(json!({ kind.field_key(): field })))
        }
        Route::JobStatus(id) => {
            let job = ctx
                .zd
                .jobs
                .to_json(&id, &ctx.base)
                .ok_or_else(ZdError::not_found)?;
            Ok(Reply::ok(json!({"job_status": job})))
        }
        Route::JobStatuses => {
            let ids = ctx
                .params
                .list("ids")
                .ok_or_else(|| ZdError::bad_value("ids is required"))?;
            let jobs: Vec<Json> = ids
                .iter()
                .filter_map(|id| ctx.zd.jobs.to_json(id, &ctx.base))
                .collect();
            Ok(Reply::ok(json!({"job_statuses": jobs})))
        }
        Route::ExportByTime(kind) => export(ctx, kind, |e| e.by_time()),
        Route::ExportByCursor(kind) => export(ctx, kind, |e| e.by_cursor()),
        Route::DeletedUserShow(id) => {
            let store = ctx.zd.store.read();
            match store.get(Kind::User, id) {
                Some(user) if user.attrs.get("active") == Some(&json!(false)) => {
                    Ok(Reply::ok(json!({"deleted_user": deleted_user(ctx, user)})))
                }
                _ => Err(ZdError::not_found()),
            }
        }
        Route::DeletedUserPurge(id) => {
            let user = ctx.zd.store.write().purge_user(id, ctx.now)?;
            Ok(Reply::ok(json!({"deleted_user": deleted_user(ctx, &user)})))
        }
    }
}

/// The agent the credentials belong to (not a stored user).
fn me(ctx: &Ctx) -> Json {
    let store = ctx.zd.store.read();
    let mut agent = Record::blank(Kind::User, &store.schema, 1, 0);
    for (key, value) in [
        ("name", json!("hubsync demo agent")),
        ("email", json!(ctx.zd.options.email)),
        ("role", json!(ctx.zd.options.role.label())),
        ("verified", json!(true)),
    ] {
        agent.attrs.insert(key.into(), value);
    }
    agent.to_json(Kind::User, &ctx.base)
}

fn one(ctx: &Ctx, kind: Kind, record: &Record) -> Json {
    json!({ kind.singular(): record.to_json(kind, &ctx.base) })
}

fn deleted_user(ctx: &Ctx, user: &Record) -> Json {
    let mut out = user.to_json(Kind::User, &ctx.base);
    out["url"] = json!(format!(
        "{}/api/v2/deleted_users/{}.json",
        ctx.base, user.id
    ));
    out
}

/// The record after a write, with its `Location`.
fn written(ctx: &Ctx, kind: Kind, id: u64, status: u16) -> Reply {
    Reply {
        status,
        location: Some(format!("{}/api/v2/{}/{id}.json", ctx.base, kind.plural())),
        ..shown(ctx, kind, id)
    }
}

/// The record after a write that answers no `Location` (update, user delete).
fn shown(ctx: &Ctx, kind: Kind, id: u64) -> Reply {
    let store = ctx.zd.store.read();
    Reply {
        status: 200,
        body: store.get(kind, id).map(|r| one(ctx, kind, r)),
        location: None,
    }
}

/// `{"organization": {...}}` → the inner object, ignoring an empty `"id": ""` as zenpy
/// sends in user creates.
fn wrapped(body: &Map<String, Json>, kind: Kind) -> Result<&Map<String, Json>, ZdError> {
    body.get(kind.singular())
        .and_then(Json::as_object)
        .ok_or_else(|| ZdError::bad_value(format!("{} parameter is required", kind.singular())))
}

fn forbidden(ctx: &Ctx) -> ZdError {
    ZdError::new(
        403,
        "Forbidden",
        ctx.zd.options.forbidden_description.clone(),
    )
}

/// 403 for agents on admin-only calls (incremental exports).
pub fn admin_only(zd: &Zendesk) -> Result<(), ZdError> {
    if zd.options.role == super::Role::Admin {
        Ok(())
    } else {
        Err(ZdError::new(
            403,
            "Forbidden",
            zd.options.forbidden_description.clone(),
        ))
    }
}

fn list(ctx: &Ctx, kind: Kind) -> Result<Reply, ZdError> {
    let store = ctx.zd.store.read();
    let ids: Vec<u64> = store
        .table(kind)
        .records
        .values()
        .filter(|r| r.attrs.get("active") != Some(&json!(false)))
        .map(|r| r.id)
        .collect();
    let url = format!("{}/api/v2/{}.json", ctx.base, kind.plural());
    let page = pages::list(
        &ids,
        &ctx.params,
        &url,
        ctx.zd.options.offset_page_limit,
        |id| {
            store
                .get(kind, id)
                .map(|r| r.to_json(kind, &ctx.base))
                .unwrap_or_default()
        },
    )?;
    let mut out = Map::new();
    out.insert(kind.plural().into(), Json::Array(page.items));
    for (key, value) in page.keys {
        out.insert(key.into(), value);
    }
    Ok(Reply::ok(Json::Object(out)))
}

/// `{"organizations": [...], "next_page": null, "previous_page": null, "count": n}`.
fn plain_list(ctx: &Ctx, store: &Store, kind: Kind, ids: impl Iterator<Item = u64>) -> Reply {
    let items: Vec<Json> = ids
        .filter_map(|id| store.get(kind, id))
        .map(|r| r.to_json(kind, &ctx.base))
        .collect();
    let count = items.len();
    Reply::ok(json!({
        kind.plural(): items,
        "next_page": null,
        "previous_page": null,
        "count": count,
    }))
}

fn show_many(ctx: &Ctx, kind: Kind) -> Result<Reply, ZdError> {
    let targets =
        targets(ctx, kind)?.ok_or_else(|| ZdError::bad_value("ids or external_ids is required"))?;
    let store = ctx.zd.store.read();
    let ids = targets.into_iter().filter_map(|t| match t {
        Target::Id(id) => Some(id),
        Target::ExternalId(e) => store.by_external_id(kind, &e),
        Target::Body => None,
    });
    Ok(plain_list(ctx, &store, kind, ids))
}

/// `organizations/search?external_id=|name=`, `users/search?external_id=|query=`
/// (an email, optionally as `email:…`): exact, case-insensitive matches.
fn search(ctx: &Ctx, kind: Kind) -> Result<Reply, ZdError> {
    let store = ctx.zd.store.read();
    let value = |key: &str| ctx.params.value(key);
    let found = match (kind, value("external_id"), value("name"), value("query")) {
        (_, Some(external), _, _) => store.by_external_id(kind, external),
        (Kind::Organization, None, Some(name), _) => store.org_by_name(name),
        (Kind::User, None, _, Some(query)) if query.contains('@') => {
            store.user_by_email(query.trim().trim_start_matches("email:"))
        }
        _ => return Err(ZdError::bad_value(
            "this emulator searches by external_id, organizations by name and users by email only",
        )),
    };
    Ok(plain_list(ctx, &store, kind, found.into_iter()))
}

/// `?ids=1,2` or `?external_ids=a,b` (at most 100), `None` when neither is given.
fn targets(ctx: &Ctx, kind: Kind) -> Result<Option<Vec<Target>>, ZdError> {
    let targets: Vec<Target> = match (ctx.params.list("ids"), ctx.params.list("external_ids")) {
        (Some(ids), _) => ids
            .iter()
            .map(|id| {
                id.parse()
                    .map(Target::Id)
                    .map_err(|_| ZdError::bad_value(format!("ids: {id} is not an id")))
            })
            .collect::<Result<_, _>>()?,
        (None, Some(external)) => external.into_iter().map(Target::ExternalId).collect(),
        (None, None) => return Ok(None),
    };
    if targets.len() > 100 {
        return Err(ZdError::too_many(kind == Kind::User));
    }
    Ok(Some(targets))
}

/// `{"organizations": [{...}, ...]}` (at most 100) as job items.
fn batch_items(body: &Map<String, Json>, kind: Kind) -> Result<Vec<Item>, ZdError> {
    let list = body
        .get(kind.plural())
        .and_then(Json::as_array)
        .ok_or_else(|| ZdError::bad_value(format!("{} parameter is required", kind.plural())))?;
    if list.len() > 100 {
        return Err(ZdError::too_many(kind == Kind::User));
    }
    list.iter()
        .map(|item| {
            item.as_object()
                .map(|body| Item {
                    target: Target::Body,
                    body: body.clone(),
                })
                .ok_or_else(|| {
                    ZdError::bad_value(format!("each of {} must be an object", kind.plural()))
                })
        })
        .collect()
}

fn bulk(ctx: &Ctx, kind: Kind, op: Op, items: Vec<Item>) -> Result<Reply, ZdError> {
    if items.is_empty() {
        return Err(ZdError::bad_value(format!("no {} given", kind.plural())));
    }
    if ctx.zd.jobs.active() >= ctx.zd.options.max_jobs {
        return Err(ZdError::RateLimited {
            retry_after: 1,
            text: format!(
                "Too many jobs queued or running (the limit is {}); wait for some to complete",
                ctx.zd.options.max_jobs
            ),
        });
    }
    let id = jobs::submit(ctx.zd, Spec { kind, op, items });
    let job = ctx.zd.jobs.to_json(&id, &ctx.base).unwrap_or_default();
    Ok(Reply::ok(json!({"job_status": job})))
}

fn definitions(ctx: &Ctx, kind: Kind) -> Vec<Json> {
    let store = ctx.zd.store.read();
    let created = clock_time(0);
    store
        .schema
        .fields(kind)
        .iter()
        .enumerate()
        .map(|(position, f)| f.to_json(&ctx.base, kind, position, &created))
        .collect()
}

fn export(
    ctx: &Ctx,
    kind: Kind,
    page: fn(&export::Export) -> Result<Json, ZdError>,
) -> Result<Reply, ZdError> {
    let store = ctx.zd.store.read();
    let lag = ctx.zd.options.export_lag_secs;
    let request = export::Export::new(&store, kind, &ctx.params, &ctx.base, (ctx.now, lag))?;
    page(&request).map(Reply::ok)
}

/// The per-user update limit (`--user-update-limit`, 0 = none).
fn user_update_allowed(ctx: &Ctx, id: u64) -> Result<(), ZdError> {
    let limit = ctx.zd.options.user_update_limit;
    if limit == 0 {
        return Ok(());
    }
    let minute = ctx.now.div_euclid(60);
    let mut updates = ctx.zd.user_updates.lock();
    let entry = updates.entry(id).or_insert((minute, 0));
    if entry.0 != minute {
        *entry = (minute, 0);
    }
    if entry.1 >= limit {
        return Err(ZdError::RateLimited {
            retry_after: (60 - ctx.now.rem_euclid(60)) as u64,
            text: "You have exceeded the rate limit for updating a single unique user. Please wait before updating this user again.".into(),
        });
    }
    entry.1 += 1;
    Ok(())
}
