//! Get Updated / Get Deleted: record ids changed or deleted in a window, with the
//! window rules of a real org (minute granularity, start before end, 30- and 15-day
//! reach, `latestDateCovered` lagging at the current minute).

use super::{ApiResponse, Ctx};
use crate::errors::ApiError;
use crate::store::Org;
use crate::timefmt::{self, format_datetime, DAY_MS};
use crate::value::Value;
use serde_json::{json, Value as Json};

const MINUTE_MS: i64 = 60_000;

fn replication_error(message: impl Into<String>) -> ApiError {
    ApiError::bad_request("INVALID_REPLICATION_DATE", message)
}

/// The window `[start, covered)`, truncated to whole minutes.
fn window(
    ctx: &Ctx,
    start: Option<&str>,
    end: Option<&str>,
    reach_days: i64,
) -> Result<(i64, i64), ApiError> {
    let parse = |name: &str, value: Option<&str>| {
        let text = value.ok_or_else(|| {
            ApiError::bad_request(
                "MISSING_ARGUMENT",
                format!("{name} parameter must be specified"),
            )
        })?;
        timefmt::parse_datetime(text)
            .map(|ms| ms - ms.rem_euclid(MINUTE_MS))
            .ok_or_else(|| {
                replication_error(format!(
                    "{name} is not a valid date: {text}; use YYYY-MM-DDThh:mm:ss+hh:mm"
                ))
            })
    };
    let (start, end) = (parse("start", start)?, parse("end", end)?);
    if start >= end {
        return Err(replication_error(
            "startDate must chronologically precede endDate by more than one minute",
        ));
    }
    if start < ctx.now_ms - reach_days * DAY_MS {
        return Err(replication_error(format!(
            "startDate cannot be more than {reach_days} days ago"
        )));
    }
    let this_minute = ctx.now_ms - ctx.now_ms.rem_euclid(MINUTE_MS);
    Ok((start, end.min(this_minute)))
}

/// Which records a replication call lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Changes {
    /// `GET /sobjects/{Type}/updated/?start=…&end=…`: ids of live records modified.
    Updated,
    /// `GET /sobjects/{Type}/deleted/?start=…&end=…`: records moved to the recycle bin.
    Deleted,
}

/// Answers Get Updated or Get Deleted for `table` over the window `start`..`end`.
pub fn run(
    org: &Org,
    ctx: &Ctx,
    table: usize,
    changes: Changes,
    start: Option<&str>,
    end: Option<&str>,
) -> Result<ApiResponse, ApiError> {
    // How far back a real org lets each call look.
    let reach_days = match changes {
        Changes::Updated => 30,
        Changes::Deleted => 15,
    };
    let (start, covered) = window(ctx, start, end, reach_days)?;
    let body = match changes {
        Changes::Updated => updated(org, table, start, covered),
        Changes::Deleted => deleted(org, ctx, table, start, covered),
    };
    Ok(ApiResponse::json(200, body.to_string()))
}

/// Live records of `table` last modified in `[start, covered)`.
fn updated(org: &Org, table: usize, start: i64, covered: i64) -> Json {
    let modstamp = org.schema.objects[table].sys.system_modstamp;
    let ids: Vec<String> = org.tables[table]
        .iter()
        .filter(|r| !r.is_deleted())
        .filter(
            |r| matches!(r.values[modstamp], Value::DateTime(ms) if ms >= start && ms < covered),
        )
        .map(|r| r.id.to_string())
        .collect();
    json!({"ids": ids, "latestDateCovered": format_datetime(covered.max(start))})
}

/// Records of `table` deleted in `[start, covered)`, and how far back deletions are kept.
fn deleted(org: &Org, ctx: &Ctx, table: usize, start: i64, covered: i64) -> Json {
    let mut earliest = None::<i64>;
    let mut records = Vec::new();
    for record in org.tables[table].iter() {
        let Some(at) = record.deleted_at else {
            continue;
        };
        earliest = Some(earliest.map_or(at, |e| e.min(at)));
        if at >= start && at < covered {
            records.push(json!({"id": record.id.to_string(), "deletedDate": format_datetime(at)}));
        }
    }
    let retention_start = ctx.now_ms - 15 * DAY_MS;
    let earliest = earliest.unwrap_or(retention_start).max(retention_start);
    json!({
        "deletedRecords": records,
        "earliestDateAvailable": format_datetime(earliest - earliest.rem_euclid(MINUTE_MS)),
        "latestDateCovered": format_datetime(covered.max(start)),
    })
}
