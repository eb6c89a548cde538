//! Push, second half: the answers to write batches, recorded in a new
//! transaction. Successes write the remote id back and move the base; per-record errors
//! are retried with backoff or parked for review; connection-level failures give the rows
//! back without charging them an attempt.

use super::push::{Chunk, Kind, Record};
use super::runtime::{Health, Runtime};
use super::state::{self, Failed, Synced};
use super::{outbox, stats};
use crate::catalog::review::{self, Item, Kind as ReviewKind};
use crate::catalog::rows::{update, Target};
use hubsync_core::coalesce::Values;
use hubsync_core::config::FallbackAction;
use hubsync_core::conflict::MergeVerdict;
use hubsync_core::connector::{CallError, SaveResult};
use hubsync_core::placement::{self, Placement};
use hubsync_core::retry::{self, Class, Failure};
use pgrx::prelude::*;
use pgrx::spi::SpiResult;
use serde_json::Value;
use std::time::Instant;

/// A request's answer as an HTTP thread reports it.
pub struct Pushed {
    pub chunk: Chunk,
    pub result: Result<Vec<SaveResult>, CallError>,
    /// When the answer arrived (epoch ms), for commit-to-acknowledged latency.
    pub finished_ms: i64,
    /// The org's API usage after the call (`Sforce-Limit-Info`).
    pub api_usage: Option<retry::ApiUsage>,
    /// For checked updates: each record's merge with the remote version (`None` when the
    /// record no longer exists remotely); empty when the chunk was not checked.
    pub verdicts: Vec<Option<MergeVerdict>>,
}

/// What became of each record of a request.
#[derive(Default)]
struct Sorted {
    synced: Vec<(Record, Option<String>)>,
    /// Checked updates that went through: their merge decides base and local writes.
    merged: Vec<(Record, MergeVerdict)>,
    /// Checked updates both sides changed, held for a person (policy `manual`).
    conflicted: Vec<(Record, MergeVerdict)>,
    retry: Vec<(Record, String, f64)>,
    review: Vec<(Record, Option<String>, String)>,
    /// Given back untouched: the connection failed, not the record.
    released: Vec<Record>,
    /// Creates that may or may not have been applied: reconcile before anything else.
    doubtful: Vec<Record>,
    connection_error: Option<(Class, String)>,
}

/// Records the outcomes of several answered requests of one sync in the current
/// transaction (one set-based write per kind for the successes, however many requests
/// answered) and adjusts the runtime's health for connection-level failures, in the order
/// the answers came. Returns the creates whose outcome is unknown: they stay in flight
/// until reconciled.
pub fn settle(runtime: &mut Runtime, answers: Vec<Pushed>) -> SpiResult<Vec<Record>> {
    let mut doubtful = Vec::new();
    let mut settled = Vec::with_capacity(answers.len());
    for pushed in answers {
        let mut sorted = sort(runtime, &pushed);
        for record in &pushed.chunk.records {
            if !sorted.doubtful.iter().any(|d| d.key == record.key) {
                runtime.in_flight.remove(&record.key);
            }
        }
        if let Some((class, message)) = &sorted.connection_error {
            back_off(runtime, *class, message);
        } else {
            runtime.health = Health::Ok;
        }
        if sorted
            .review
            .iter()
            .any(|(_, code, _)| code.as_deref() == Some("INVALID_FIELD"))
        {
            // The remote object changed under us: describe it again before the next push.
            runtime.mapper = None;
        }
        if !sorted.retry.is_empty() || !sorted.released.is_empty() {
            runtime.cursor.rewind();
        }
        doubtful.append(&mut sorted.doubtful);
        settled.push((pushed, sorted));
    }
    let jobs: Vec<_> = settled
        .iter()
        .filter_map(|(pushed, _)| pushed.chunk.job.clone())
        .collect();
    record(runtime, settled)?;
    for job in &jobs {
        crate::catalog::bulk_jobs::forget(runtime.id, job)?;
    }
    Ok(doubtful)
}

fn sort(runtime: &Runtime, pushed: &Pushed) -> Sorted {
    let kind = pushed.chunk.kind;
    let mut sorted = Sorted::default();
    match &pushed.result {
        Ok(results) => {
            let verdicts = pushed
                .verdicts
                .iter()
                .map(Some)
                .chain(std::iter::repeat(None));
            for ((record, result), verdict) in
                pushed.chunk.records.iter().zip(results).zip(verdicts)
            {
                let verdict = verdict.cloned().flatten();
                if result.success {
                    match verdict {
                        Some(v) if v.review.is_some() => {
                            sorted.conflicted.push((record.clone(), v))
                        }
                        Some(v) => sorted.merged.push((record.clone(), v)),
                        None => sorted.synced.push((record.clone(), result.id.clone())),
                    }
                } else {
                    let error = result.errors.first();
                    let failure = match error {
                        Some(e) => e.failure(kind.operation()),
                        None => Failure::Response {
                            op: kind.operation(),
                            status: 200,
                            code: None,
                        },
                    };
                    let message = error
                        .map(|e| format!("{}: {}", e.status_code, e.message))
                        .unwrap_or_else(|| {
                            "the record was not saved and no reason was given".into()
                        });
                    place(runtime, &mut sorted, record.clone(), &failure, message);
                }
            }
        }
        // The token endpoint refused the credentials: the connection's problem, not the records'.
        Err(error) if error.oauth.is_some() => {
            sorted.connection_error = Some((Class::Auth, error.to_string()));
            sorted.released = pushed.chunk.records.clone();
        }
        Err(error) => {
            for record in &pushed.chunk.records {
                place(
                    runtime,
                    &mut sorted,
                    record.clone(),
                    &error.failure,
                    error.to_string(),
                );
            }
        }
    }
    sorted
}

/// Files one failed record where `hubsync_core::placement` says it goes.
fn place(
    runtime: &Runtime,
    sorted: &mut Sorted,
    record: Record,
    failure: &Failure,
    message: String,
) {
    let strategy = &runtime.config.error_handling.retry;
    match placement::place(failure, record.attempts as u32, strategy, jitter()) {
        Placement::Done => sorted.synced.push((record, None)),
        Placement::Release(class) => {
            sorted.connection_error = Some((class, message));
            sorted.released.push(record);
        }
        Placement::LookUp => sorted.doubtful.push(record),
        Placement::RetryIn(delay) => sorted.retry.push((record, message, delay.as_secs_f64())),
        Placement::Review { gave_up } => {
            let message = match gave_up {
                true => format!("gave up after {} attempts: {message}", record.attempts),
                false => message,
            };
            sorted
                .review
                .push((record, placement::code_of(failure), message));
        }
    }
}

/// A fraction in [0, 1) that differs per call, to spread retries out.
fn jitter() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(0);
    (h.finish() >> 11) as f64 / (1u64 << 53) as f64
}

/// How a failed call affects the whole connection: refused credentials are an
/// authorization problem whatever the call was.
pub fn connection_class(error: &hubsync_core::connector::CallError) -> Class {
    if error.oauth.is_some() {
        Class::Auth
    } else {
        error.class()
    }
}

/// Connection-level trouble pauses the whole sync instead of burning record retries
/// (for how long: `hubsync_core::connection_state::back_off`).
pub fn back_off(runtime: &mut Runtime, class: Class, message: &str) {
    let previous = match &runtime.health {
        Health::Waiting { state, backoff, .. } => Some((*state, *backoff)),
        _ => None,
    };
    let (state, backoff) = hubsync_core::connection_state::back_off(class, previous);
    runtime.health = Health::Waiting {
        state,
        until: Instant::now() + backoff,
        backoff,
        problem: message.to_string(),
    };
}

fn record(runtime: &Runtime, mut settled: Vec<(Pushed, Sorted)>) -> SpiResult<()> {
    let stats = push_stats(runtime, &settled);
    // The successes of all requests together: one write per kind.
    for kind in [Kind::Create, Kind::Upsert, Kind::Update, Kind::Delete] {
        let synced: Vec<(Record, Option<String>)> = settled
            .iter_mut()
            .filter(|(p, _)| p.chunk.kind == kind)
            .flat_map(|(_, s)| std::mem::take(&mut s.synced))
            .collect();
        record_synced(runtime, kind, &synced)?;
    }
    for (pushed, sorted) in &settled {
        record_failures(runtime, pushed, sorted)?;
    }
    stats::pushed(runtime.id, &stats)
}

/// What went wrong (and two-way merges), request by request: rare enough that a statement
/// per request costs nothing that matters.
fn record_failures(runtime: &Runtime, pushed: &Pushed, sorted: &Sorted) -> SpiResult<()> {
    let kind = pushed.chunk.kind;
    let verified_with = pushed.chunk.verify.as_ref().map(|v| v.mapper.as_ref());
    record_merged(runtime, verified_with, &sorted.merged)?;
    record_conflicted(runtime, &sorted.conflicted)?;
    let retry: Vec<Failed> = sorted
        .retry
        .iter()
        .map(|(r, error, delay)| Failed {
            pk: r.pk.clone(),
            op: kind.label(),
            error: error.clone(),
            retry_in: Some(*delay),
        })
        .collect();
    state::failed(runtime.id, &retry)?;
    for (r, error, _) in &sorted.retry {
        outbox::release(&r.outbox_ids, Some(error), true)?;
    }
    record_review(runtime, kind, &sorted.review)?;
    for r in &sorted.released {
        outbox::release(
            &r.outbox_ids,
            sorted.connection_error.as_ref().map(|(_, m)| m.as_str()),
            false,
        )?;
    }
    Ok(())
}

/// The statistics of several requests, as if each had been added in the order answered:
/// `consecutive_failures` counts the failed requests after the last one that got through.
fn push_stats(runtime: &Runtime, settled: &[(Pushed, Sorted)]) -> stats::PushStats {
    let mut stats = stats::PushStats {
        pushed: 0,
        failed: 0,
        latencies_ms: Vec::new(),
        api_usage: None,
        connection: runtime.health_label(),
        problem: runtime.problem().map(str::to_string),
        error: None,
        failed_requests: 0,
        got_through: false,
    };
    for (pushed, sorted) in settled {
        let through = sorted.synced.len() + sorted.merged.len();
        stats.pushed += through as i64;
        stats.failed += (sorted.review.len() + sorted.retry.len()) as i64;
        stats.latencies_ms.extend(
            sorted
                .synced
                .iter()
                .map(|(r, _)| (pushed.finished_ms - r.oldest_change_ms).max(0) as f64),
        );
        stats.api_usage = pushed.api_usage.or(stats.api_usage);
        let error = sorted
            .connection_error
            .as_ref()
            .map(|(_, m)| m.clone())
            .or_else(|| sorted.review.first().map(|(_, _, m)| m.clone()));
        stats.error = error.or(stats.error.take());
        if through > 0 {
            stats.got_through = true;
            stats.failed_requests = 0;
        } else if sorted.connection_error.is_some()
            || !sorted.review.is_empty()
            || !sorted.retry.is_empty()
        {
            stats.failed_requests += 1;
        }
    }
    stats
}

pub fn record_synced(
    runtime: &Runtime,
    kind: Kind,
    synced: &[(Record, Option<String>)],
) -> SpiResult<()> {
    if synced.is_empty() {
        return Ok(());
    }
    let sync_id = runtime.id;
    // Agreed values serve the merge of pulled changes: a sync that never pulls keeps none.
    let pulls = runtime.config.direction.pull;
    let pks: Vec<Value> = synced.iter().map(|(r, _)| r.pk.clone()).collect();
    if kind == Kind::Delete {
        state::forget(sync_id, &pks)?;
    } else {
        let rows: Vec<Synced> = synced
            .iter()
            .map(|(r, id)| Synced {
                pk: r.pk.clone(),
                remote_id: id.clone().or_else(|| r.remote_id.clone()),
                agreed: pulls.then(|| r.agreed.clone()),
                op: kind.label(),
            })
            .collect();
        state::synced(sync_id, &rows)?;
        write_back_ids(runtime, synced)?;
    }
    review::resolve_errors(sync_id, &pks)?;
    outbox::complete(&outbox_ids(synced))
}

/// Checked updates: the merge's values go into the local row (fields the remote side won), its
/// conflicts are logged, and its base becomes what both sides now agree on. `mapper` is
/// the one the request was planned with: the sync may have been rebuilt since.
fn record_merged(
    runtime: &Runtime,
    mapper: Option<&hubsync_core::mapping::Mapper>,
    merged: &[(Record, MergeVerdict)],
) -> SpiResult<()> {
    if merged.is_empty() {
        return Ok(());
    }
    let to_local: Vec<(Value, Values)> = merged
        .iter()
        .filter(|(_, v)| !v.to_local.is_empty())
        .map(|(r, v)| (r.pk.clone(), v.to_local.clone()))
        .collect();
    if let Some(mapper) = mapper {
        crate::capture::origin::set(runtime.id)?;
        let target = Target {
            owner: runtime.owner,
            qualified: &runtime.table.qualified,
            table: &runtime.table.table,
            columns: mapper.pull_columns(),
            id_column: String::new(),
        };
        update(&target, &to_local)?;
    }
    log_conflicts(runtime.id, merged)?;
    let states: Vec<Synced> = merged
        .iter()
        .map(|(r, v)| Synced {
            pk: r.pk.clone(),
            remote_id: r.remote_id.clone(),
            agreed: Some(v.base.clone().into_iter().collect()),
            op: "update",
        })
        .collect();
    state::synced(runtime.id, &states)?;
    let pks: Vec<Value> = merged.iter().map(|(r, _)| r.pk.clone()).collect();
    review::resolve_errors(runtime.id, &pks)?;
    outbox::complete(&outbox_ids(merged))
}

/// Every outbox row the records carry.
fn outbox_ids<T>(records: &[(Record, T)]) -> Vec<i64> {
    records
        .iter()
        .flat_map(|(r, _)| r.outbox_ids.iter().copied())
        .collect()
}

/// The conflicts the merges found, into `hubsync.conflicts`.
fn log_conflicts(sync_id: i32, merged: &[(Record, MergeVerdict)]) -> SpiResult<()> {
    let conflicts: Vec<_> = merged
        .iter()
        .flat_map(|(r, v)| {
            let id = r.remote_id.clone().unwrap_or_default();
            v.conflicts
                .iter()
                .map(move |c| (r.pk.clone(), id.clone(), c.clone()))
        })
        .collect();
    super::apply::record_conflicts(sync_id, &conflicts)
}

/// Checked updates the `manual` policy holds: both versions go to review, the record
/// waits (its pending changes stay in the outbox for `hubsync.resolve`).
fn record_conflicted(runtime: &Runtime, conflicted: &[(Record, MergeVerdict)]) -> SpiResult<()> {
    if conflicted.is_empty() {
        return Ok(());
    }
    let items: Vec<Item> = conflicted
        .iter()
        .filter_map(|(r, v)| {
            let review = v.review.as_ref()?;
            Some(Item {
                pk: r.pk.clone(),
                remote_id: r.remote_id.clone(),
                operation: "conflict".into(),
                kind: ReviewKind::Conflict,
                payload: serde_json::json!(review.local),
                remote_values: Some(serde_json::json!(review.remote)),
                error_code: Some("CONFLICT".into()),
                error_message: super::apply::MANUAL_CONFLICT.into(),
                attempts: r.attempts,
                outbox_ids: r.outbox_ids.clone(),
            })
        })
        .collect();
    review::add(runtime.id, &items)?;
    log_conflicts(runtime.id, conflicted)?;
    let pks: Vec<Value> = conflicted.iter().map(|(r, _)| r.pk.clone()).collect();
    super::apply::hold(runtime.id, &pks)?;
    outbox::release(
        &outbox_ids(conflicted),
        Some("held: conflict waiting for hubsync.resolve"),
        false,
    )
}

/// New remote ids go into the mapped id column (e.g. `sf_id`); the origin tag set for this
/// transaction keeps the capture trigger from sending that write back. The column comes
/// from the config, not the describe, so an answer that arrives while the sync is being
/// rebuilt (new credentials, new mapping) still writes its ids back. One statement per
/// batch, joining typed arrays (`unnest`) so the planner probes the primary key per row
/// instead of hashing the whole table.
fn write_back_ids(runtime: &Runtime, synced: &[(Record, Option<String>)]) -> SpiResult<()> {
    let Some(column) = runtime.config.id_mapping().map(|m| m.local.clone()) else {
        return Ok(());
    };
    let rows: Vec<(&Value, &String)> = synced
        .iter()
        .filter_map(|(r, id)| id.as_ref().map(|id| (&r.pk, id)))
        .collect();
    if rows.is_empty() {
        return Ok(());
    }
    let table = &runtime.table.table;
    let key = &table.primary_key;
    let col = pgrx::spi::quote_identifier(&column);
    // One text array per key column ($1..$n, cast to the column's type), then the ids.
    let mut args: Vec<Vec<Option<String>>> = (0..key.len())
        .map(|i| rows.iter().map(|(pk, _)| key_text(&pk[i])).collect())
        .collect();
    args.push(rows.iter().map(|(_, id)| Some((*id).clone())).collect());
    let arrays: Vec<String> = (1..=args.len()).map(|n| format!("${n}::text[]")).collect();
    let names: Vec<String> = (0..key.len()).map(|i| format!("c{i}")).collect();
    let matches: Vec<String> = key
        .iter()
        .enumerate()
        .map(|(i, name)| {
            format!(
                "t.{} = k.c{i}::{}",
                pgrx::spi::quote_identifier(name),
                crate::catalog::keys::type_of(table, name)
            )
        })
        .collect();
    let sql = format!(
        "UPDATE {qualified} t SET {col} = k.hubsync_remote_id \
         FROM unnest({arrays}) AS k({names}, hubsync_remote_id) \
         WHERE {matches} AND t.{col} IS DISTINCT FROM k.hubsync_remote_id",
        qualified = runtime.table.qualified,
        arrays = arrays.join(", "),
        names = names.join(", "),
        matches = matches.join(" AND "),
    );
    crate::capture::origin::set(runtime.id)?;
    let args: Vec<_> = args.into_iter().map(Into::into).collect();
    crate::privilege::as_role(runtime.owner, || Spi::run_with_args(&sql, &args))
}

/// A key value as text, as `->>` reads it from the stored key (`NULL` for JSON null).
fn key_text(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

pub fn record_review(
    runtime: &Runtime,
    kind: Kind,
    failed: &[(Record, Option<String>, String)],
) -> SpiResult<()> {
    if failed.is_empty() {
        return Ok(());
    }
    let ids: Vec<i64> = failed
        .iter()
        .flat_map(|(r, _, _)| r.outbox_ids.iter().copied())
        .collect();
    let states: Vec<Failed> = failed
        .iter()
        .map(|(r, _, m)| Failed {
            pk: r.pk.clone(),
            op: kind.label(),
            error: m.clone(),
            retry_in: None,
        })
        .collect();
    state::failed(runtime.id, &states)?;
    let items: Vec<Item> = failed
        .iter()
        .map(|(r, code, message)| Item {
            pk: r.pk.clone(),
            remote_id: r.remote_id.clone(),
            operation: kind.label().to_string(),
            kind: ReviewKind::Error,
            payload: Value::Object(r.payload.clone()),
            remote_values: None,
            error_code: code.clone(),
            error_message: message.clone(),
            attempts: r.attempts,
            outbox_ids: r.outbox_ids.clone(),
        })
        .collect();
    park_or_discard(runtime, &items)?;
    outbox::complete(&ids)
}

/// `error_handling.fallback`: records that cannot be delivered go to the review queue, or
/// (`discard`) are dropped with an error line in the sync's log saying which and why.
pub fn park_or_discard(runtime: &Runtime, items: &[Item]) -> SpiResult<()> {
    if runtime.config.error_handling.fallback == FallbackAction::QueueForManualReview {
        return review::add(runtime.id, items);
    }
    let lines: Vec<String> = items
        .iter()
        .map(|i| {
            format!(
                "discarded {} of record {}: {}",
                i.operation, i.pk, i.error_message
            )
        })
        .collect();
    super::events::record(
        runtime.id,
        runtime.config.monitoring.log_level,
        hubsync_core::config::LogLevel::Error,
        &lines,
    )
}
