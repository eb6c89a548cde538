//! SuiteQL (`POST /services/rest/query/v1/suiteql`) over `customer`, `contact` and
//! `deletedrecord`: `SELECT [TOP n] cols|* FROM table [alias] [WHERE …] [ORDER BY …]`
//! with comparisons, `AND`/`OR`/`NOT`, `IS [NOT] NULL`, `[NOT] IN`, `[NOT] LIKE`,
//! `BETWEEN`, and `TO_TIMESTAMP`, `TO_DATE`, `TO_CHAR`, `UPPER`, `LOWER`, `NVL`; or
//! `COUNT(*)`/`COUNT(col)` alone (one row, no `GROUP BY`). [`syntax`] reads the text,
//! [`eval`] answers it over the rows.
//! Answers follow NetSuite: lower-case column names, every value a string, booleans
//! `T`/`F`, null columns omitted, `limit` ≤ 1000 with `offset` paging.
//!
//! Invariant: anything outside that subset (joins, grouping, sub-queries, other
//! functions, comparing a date with a string) is refused with 400 `USER_ERROR`
//! "Invalid search query." — never answered with a guess.

mod eval;
mod syntax;

use super::errors::NsError;
use super::records::{page_links, paging};
use super::schema::RecordType;
use super::{timefmt, Call};
use crate::http::typed_response;
use axum::body::Body;
use axum::http::Response;
use eval::{aggregate, is_count, number_text, sort_key, Env, Source, V};
use serde_json::{json, Map, Value as Json};
use std::cmp::Ordering;
use syntax::Expr;

/// 400 "Invalid search query." for what the emulator does not answer.
fn unsupported(what: impl std::fmt::Display) -> NsError {
    NsError::search(format!(
        "Invalid or unsupported search: {what} (the hubsync emulator answers SELECT … FROM customer|contact|deletedrecord [WHERE …] [ORDER BY …] only)."
    ))
}

/// The SuiteQL endpoint.
pub fn handle(call: &Call) -> Result<Response<Body>, NsError> {
    if call.method != "POST" {
        return Err(NsError::new(
            405,
            "USER_ERROR",
            "The HTTP method is not allowed; send SuiteQL with POST.",
        ));
    }
    let transient = call.header("prefer").is_some_and(|p| {
        p.split(',')
            .any(|part| part.trim().eq_ignore_ascii_case("transient"))
    });
    if call.ns.options.require_prefer_transient && !transient {
        return Err(NsError::user(
            "The Prefer: transient header is required for SuiteQL.",
        ));
    }
    let body: Json = serde_json::from_slice(call.body).map_err(|e| {
        NsError::new(
            400,
            "INVALID_CONTENT",
            format!("Invalid JSON in the request body: {e}"),
        )
    })?;
    let text = body["q"].as_str().ok_or_else(|| {
        NsError::user("The request body must hold the query as {\"q\": \"SELECT …\"}.")
    })?;
    let (limit, offset) = paging(call)?;
    let max_rows = call.ns.options.suiteql_max_rows;
    if offset >= max_rows && offset > 0 {
        return Err(NsError::search(format!(
            "Offset {offset} is beyond the {max_rows} rows a query can page through; narrow the query instead."
        )));
    }
    let query = syntax::parse(text)?;
    let store = call.ns.store.read();
    let source = match (query.table.as_str(), RecordType::parse(&query.table)) {
        (_, Some(kind)) => Source::Record(kind),
        ("deletedrecord", None) => Source::Deleted,
        (other, None) => return Err(NsError::search(format!("Record '{other}' was not found."))),
    };
    let records = match source {
        Source::Record(kind) => store.table(kind).values().collect(),
        Source::Deleted => Vec::new(),
    };
    let qualifiers = std::iter::once(query.table.clone())
        .chain(query.alias.clone())
        .collect();
    let env = Env {
        call,
        qualifiers,
        store: &store,
        source,
        records,
    };
    let items: Vec<(Expr, String)> = match query.items {
        None => env
            .all_columns()
            .into_iter()
            .map(|c| (Expr::Col(c.clone()), c))
            .collect(),
        Some(items) => items
            .into_iter()
            .enumerate()
            .map(|(i, (expr, alias))| {
                let name = alias.unwrap_or_else(|| match &expr {
                    Expr::Col(c) => c.rsplit('.').next().unwrap_or(c).to_string(),
                    _ => format!("expr{}", i + 1),
                });
                (expr, name)
            })
            .collect(),
    };
    for (expr, _) in &items {
        env.bind(expr)?;
    }
    if let Some(filter) = &query.filter {
        env.bind(filter)?;
    }
    let order: Vec<(Expr, bool)> = query
        .order
        .into_iter()
        .map(|(expr, desc)| {
            let resolved = match &expr {
                Expr::Num(n) if n.fract() == 0.0 && *n >= 1.0 && (*n as usize) <= items.len() => {
                    items[*n as usize - 1].0.clone()
                }
                Expr::Col(c) if !env.has(c) => items
                    .iter()
                    .find(|(_, name)| name == c)
                    .map(|(e, _)| e.clone())
                    .unwrap_or(expr),
                _ => expr,
            };
            (resolved, desc)
        })
        .collect();
    for (expr, _) in &order {
        env.bind(expr)?;
    }
    let mut rows = Vec::new();
    for row in 0..env.rows() {
        let keep = match &query.filter {
            Some(filter) => env.test(row, filter)? == Some(true),
            None => true,
        };
        if keep {
            let keys = order
                .iter()
                .map(|(e, _)| env.eval(row, e))
                .collect::<Result<Vec<_>, _>>()?;
            rows.push((row, keys));
        }
    }
    rows.sort_by(|(_, a), (_, b)| {
        a.iter()
            .zip(b)
            .zip(&order)
            .map(|((x, y), (_, desc))| {
                let o = sort_key(x, y);
                if *desc {
                    o.reverse()
                } else {
                    o
                }
            })
            .find(|o| o.is_ne())
            .unwrap_or(Ordering::Equal)
    });
    let kept: Vec<usize> = rows.into_iter().map(|(row, _)| row).collect();
    let mut results = if items.iter().any(|(e, _)| is_count(e)) {
        vec![aggregate(&env, &items, &kept, order.is_empty())?]
    } else {
        let mut results = Vec::new();
        for row in kept.iter().take(query.top.unwrap_or(usize::MAX)) {
            let values = items
                .iter()
                .map(|(expr, _)| env.eval(*row, expr))
                .collect::<Result<Vec<_>, _>>()?;
            results.push(values);
        }
        results
    };
    results.truncate(max_rows);
    let total = results.len();
    let options = &call.ns.options;
    let mut page = Vec::new();
    for values in results.into_iter().skip(offset).take(limit) {
        let mut item = Map::new();
        item.insert("links".into(), json!([]));
        for ((_, name), value) in items.iter().zip(values) {
            let text = match value {
                V::Null if options.suiteql_omit_nulls => continue,
                V::Null => Json::Null,
                V::Text(t) => Json::String(t),
                V::Num(n) => Json::String(number_text(n)),
                V::Bool(b) => Json::String(if b { "T" } else { "F" }.into()),
                V::Time(ms) => Json::String(
                    timefmt::format(ms, &options.date_format, options.timezone_offset_minutes)
                        .map_err(unsupported)?,
                ),
            };
            item.insert(name.clone(), text);
        }
        page.push(Json::Object(item));
    }
    let base = format!("{}/services/rest/query/v1/suiteql", call.origin);
    let answer = json!({
        "links": page_links(&base, "", limit, offset, total),
        "count": page.len(),
        "hasMore": offset + page.len() < total,
        "items": page,
        "offset": offset,
        "totalResults": total,
    });
    Ok(typed_response(
        200,
        "application/vnd.oracle.resource+json; type=collection; charset=UTF-8",
        answer.to_string(),
    ))
}
