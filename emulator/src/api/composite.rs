//! `/composite` (up to 25 subrequests in one transaction, `@{ref.field}` references,
//! `allOrNone`) and `/composite/batch` (independent subrequests, `haltOnError`).

use super::{execute, route, run_locked, ApiResponse, Ctx, Version};
use crate::errors::ApiError;
use crate::value::write_json_string;
use serde_json::Value as Json;
use std::collections::HashMap;

/// Most subrequests in one composite or batch call.
const MAX_SUBREQUESTS: usize = 25;

const HALTED: &str = r#"[{"errorCode":"PROCESSING_HALTED","message":"The transaction was rolled back since another operation in the same transaction failed."}]"#;

struct Sub {
    method: String,
    url: String,
    reference: String,
    body: Option<Json>,
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::bad_request("INVALID_API_INPUT", message)
}

fn subrequests(body: &Json, list_key: &str) -> Result<Vec<Json>, ApiError> {
    let list = body
        .get(list_key)
        .and_then(Json::as_array)
        .ok_or_else(|| invalid(format!("The request body needs a \"{list_key}\" array")))?;
    if list.is_empty() || list.len() > MAX_SUBREQUESTS {
        return Err(invalid(format!(
            "{list_key} must hold between 1 and {MAX_SUBREQUESTS} subrequests"
        )));
    }
    Ok(list.clone())
}

fn parse_composite(body: &Json) -> Result<(bool, Vec<Sub>), ApiError> {
    let all_or_none = body
        .get("allOrNone")
        .and_then(Json::as_bool)
        .unwrap_or(false);
    let mut seen = Vec::new();
    let subs = subrequests(body, "compositeRequest")?
        .into_iter()
        .map(|sub| {
            let text = |key: &str| sub.get(key).and_then(Json::as_str).map(str::to_string);
            let method = text("method")
                .ok_or_else(|| invalid("Every subrequest needs a method"))?
                .to_ascii_uppercase();
            if !matches!(method.as_str(), "GET" | "POST" | "PATCH" | "PUT" | "DELETE") {
                return Err(invalid(format!("Invalid HTTP method: {method}")));
            }
            let url = text("url").ok_or_else(|| invalid("Every subrequest needs a url"))?;
            let reference = text("referenceId")
                .ok_or_else(|| invalid("Every subrequest needs a referenceId"))?;
            if seen.contains(&reference) {
                return Err(invalid(format!(
                    "Duplicate referenceId provided in the request: {reference}"
                )));
            }
            seen.push(reference.clone());
            Ok(Sub {
                method,
                url,
                reference,
                body: sub.get("body").cloned(),
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((all_or_none, subs))
}

/// Replaces `@{ref.path}` in a string; `Err(ref)` names a reference with no value.
fn resolve_text(text: &str, results: &HashMap<String, Json>) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("@{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find('}').ok_or_else(|| after.to_string())?;
        let expression = &after[..end];
        let value = lookup(expression, results).ok_or_else(|| expression.to_string())?;
        match value {
            Json::String(s) => out.push_str(&s),
            other => out.push_str(&other.to_string()),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// `ref.field`, `ref.records[0].Id`, … into an earlier result body.
fn lookup(expression: &str, results: &HashMap<String, Json>) -> Option<Json> {
    let mut parts = expression.split('.');
    let mut current = results.get(parts.next()?)?.clone();
    for part in parts {
        let (key, indexes) = part.split_once('[').map_or((part, ""), |(k, i)| (k, i));
        if !key.is_empty() {
            current = current.get(key)?.clone();
        }
        for index in indexes.split('[').filter(|s| !s.is_empty()) {
            current = current
                .get(index.trim_end_matches(']').parse::<usize>().ok()?)?
                .clone();
        }
    }
    Some(current)
}

fn resolve_json(json: &Json, results: &HashMap<String, Json>) -> Result<Json, String> {
    Ok(match json {
        Json::String(s) if s.contains("@{") => {
            let whole = s.starts_with("@{") && s.ends_with('}') && s.matches("@{").count() == 1;
            match whole.then(|| lookup(&s[2..s.len() - 1], results)).flatten() {
                Some(value) => value,
                None => Json::String(resolve_text(s, results)?),
            }
        }
        Json::Array(items) => Json::Array(
            items
                .iter()
                .map(|i| resolve_json(i, results))
                .collect::<Result<_, _>>()?,
        ),
        Json::Object(map) => Json::Object(
            map.iter()
                .map(|(k, v)| Ok((k.clone(), resolve_json(v, results)?)))
                .collect::<Result<_, String>>()?,
        ),
        other => other.clone(),
    })
}

/// Splits `/services/data/v59.0/sobjects/...?x=y` (or `v59.0/...`) into version, path, query.
fn split_url<'u>(ctx: &Ctx, url: &'u str) -> Result<(Version, &'u str, &'u str), ApiError> {
    let trimmed = url
        .strip_prefix("/services/data/")
        .or_else(|| url.strip_prefix("services/data/"))
        .unwrap_or(url);
    let (path, query) = trimmed.split_once('?').unwrap_or((trimmed, ""));
    let (version, rest) = path.split_once('/').unwrap_or((path, ""));
    let version = Version::parse(version, ctx.app.options.max_api_version)?;
    Ok((version, rest, query))
}

fn sub_ctx<'a>(ctx: &Ctx<'a>, version: Version, all_or_none: bool) -> Ctx<'a> {
    Ctx {
        app: ctx.app,
        version,
        class: ctx.class,
        origin: ctx.origin.clone(),
        batch_size: ctx.batch_size,
        now_ms: ctx.now_ms,
        all_or_none,
        conditions: Default::default(),
    }
}

struct SubResult {
    reference: String,
    response: ApiResponse,
}

/// `POST /composite`.
pub fn composite(ctx: &Ctx, body: Option<Json>) -> ApiResponse {
    let Some(body) = body else {
        return ApiError::json_parser("No content to map due to end-of-input").into();
    };
    let (all_or_none, subs) = match parse_composite(&body) {
        Ok(parsed) => parsed,
        Err(e) => return e.into(),
    };
    let mut org = ctx.app.org.write();
    let mut txn = org.begin(Some(ctx.origin.clone()));
    let mut results: HashMap<String, Json> = HashMap::new();
    let mut failed: Vec<String> = Vec::new();
    let mut out: Vec<SubResult> = Vec::with_capacity(subs.len());
    for sub in subs {
        if all_or_none && !failed.is_empty() {
            out.push(SubResult {
                reference: sub.reference,
                response: ApiResponse::json(400, HALTED.into()),
            });
            continue;
        }
        let depends_on_failure = failed.iter().any(|f| {
            sub.url.contains(&format!("@{{{f}."))
                || sub
                    .body
                    .as_ref()
                    .is_some_and(|b| b.to_string().contains(&format!("@{{{f}.")))
        });
        let response = if depends_on_failure {
            ApiResponse::json(400, HALTED.into())
        } else {
            run_sub(&mut org, &mut txn, ctx, &sub, &results, all_or_none)
        };
        if response.status >= 400 || all_or_none && response.record_failures {
            failed.push(sub.reference.clone());
        } else if let Some(parsed) = response
            .body
            .as_deref()
            .and_then(|b| serde_json::from_str(b).ok())
        {
            results.insert(sub.reference.clone(), parsed);
        }
        out.push(SubResult {
            reference: sub.reference,
            response,
        });
    }
    if all_or_none && !failed.is_empty() {
        org.rollback(txn);
        for result in out.iter_mut().filter(|r| !failed.contains(&r.reference)) {
            result.response = ApiResponse::json(400, HALTED.into());
        }
    } else {
        org.commit(txn);
    }
    drop(org);
    ApiResponse::json(200, render_composite(&out))
}

fn run_sub(
    org: &mut crate::store::Org,
    txn: &mut crate::store::Txn,
    ctx: &Ctx,
    sub: &Sub,
    results: &HashMap<String, Json>,
    all_or_none: bool,
) -> ApiResponse {
    let unresolved = |name: String| {
        ApiResponse::from(ApiError::bad_request(
            "INVALID_REFERENCE",
            format!(
                "Invalid reference specified. No value for {name} found in the earlier results."
            ),
        ))
    };
    let url = match resolve_text(&sub.url, results) {
        Ok(url) => url,
        Err(name) => return unresolved(name),
    };
    let body = match sub
        .body
        .as_ref()
        .map(|b| resolve_json(b, results))
        .transpose()
    {
        Ok(body) => body,
        Err(name) => return unresolved(name),
    };
    let (version, path, query) = match split_url(ctx, &url) {
        Ok(parts) => parts,
        Err(e) => return e.into(),
    };
    let sub_ctx = sub_ctx(ctx, version, all_or_none);
    match route(ctx.app, &sub.method, version, path, query) {
        Ok(r) => run_locked(org, txn, &sub_ctx, r, body),
        Err(e) => e.into(),
    }
}

fn render_composite(results: &[SubResult]) -> String {
    let mut out = String::from("{\"compositeResponse\":[");
    for (i, r) in results.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str("{\"body\":");
        out.push_str(r.response.body.as_deref().unwrap_or("null"));
        out.push_str(",\"httpHeaders\":{");
        if let Some(location) = &r.response.location {
            out.push_str("\"Location\":");
            write_json_string(&mut out, location);
        }
        out.push_str(&format!(
            "}},\"httpStatusCode\":{},\"referenceId\":",
            r.response.status
        ));
        write_json_string(&mut out, &r.reference);
        out.push('}');
    }
    out.push_str("]}");
    out
}

/// `POST /composite/batch`.
pub fn batch(ctx: &Ctx, body: Option<Json>) -> ApiResponse {
    let Some(body) = body else {
        return ApiError::json_parser("No content to map due to end-of-input").into();
    };
    let halt_on_error = body
        .get("haltOnError")
        .and_then(Json::as_bool)
        .unwrap_or(false);
    let subs = match subrequests(&body, "batchRequests") {
        Ok(subs) => subs,
        Err(e) => return e.into(),
    };
    let mut halted = false;
    let mut has_errors = false;
    let mut out = String::from("{\"hasErrors\":");
    let mut results = String::from("\"results\":[");
    for (i, sub) in subs.iter().enumerate() {
        if i > 0 {
            results.push(',');
        }
        let response = if halted {
            ApiResponse::json(412, r#"[{"errorCode":"BATCH_PROCESSING_HALTED","message":"Batch processing halted per request"}]"#.into())
        } else {
            run_batch_item(ctx, sub)
        };
        if response.status >= 400 {
            has_errors = true;
            halted |= halt_on_error;
        }
        results.push_str(&format!(
            "{{\"result\":{},\"statusCode\":{}}}",
            response.body.as_deref().unwrap_or("null"),
            response.status
        ));
    }
    results.push_str("]}");
    out.push_str(if has_errors { "true," } else { "false," });
    out.push_str(&results);
    ApiResponse::json(200, out)
}

fn run_batch_item(ctx: &Ctx, sub: &Json) -> ApiResponse {
    let method = sub
        .get("method")
        .and_then(Json::as_str)
        .unwrap_or_default()
        .to_ascii_uppercase();
    let Some(url) = sub.get("url").and_then(Json::as_str) else {
        return invalid("Every batch request needs a url").into();
    };
    let (version, path, query) = match split_url(ctx, url) {
        Ok(parts) => parts,
        Err(e) => return e.into(),
    };
    let route = match route(ctx.app, &method, version, path, query) {
        Ok(r) => r,
        Err(e) => return e.into(),
    };
    if matches!(
        route,
        super::Route::Composite | super::Route::CompositeBatch
    ) {
        return invalid("Composite requests cannot be nested; send the subrequests directly")
            .into();
    }
    let body = sub.get("richInput").cloned();
    execute(&sub_ctx(ctx, version, false), route, body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn resolves_references_into_earlier_results() {
        let mut results = HashMap::new();
        results.insert("acct".to_string(), json!({"id": "001xx0000000001AAA"}));
        results.insert(
            "q".to_string(),
            json!({"records": [{"Id": "003xx0000000001AAA"}]}),
        );
        assert_eq!(
            resolve_text("/sobjects/Account/@{acct.id}", &results).unwrap(),
            "/sobjects/Account/001xx0000000001AAA"
        );
        assert_eq!(
            resolve_json(&json!({"C": "@{q.records[0].Id}"}), &results).unwrap(),
            json!({"C": "003xx0000000001AAA"})
        );
        assert_eq!(
            resolve_text("@{missing.id}", &results).unwrap_err(),
            "missing.id"
        );
    }
}
