//! Scenario 7, isolation: one sync's push latency (single-row commits at `latency_rate`)
//! alone, then while another sync of the same database runs a full load of
//! `isolation_rows` Accounts (issue 16: a big full load on one sync must not delay another's
//! pushes). The two syncs are created one after the other, so their ids differ by one and,
//! with `hubsync.workers_per_database` ≥ 2, different worker processes serve them; the run
//! records which pids served each.
//!
//! The loaded measurement lasts while the load runs (at most `latency_duration`); the alone
//! measurement lasts as long. Latency is commit → visible in the emulator's change log, as
//! in scenario 3.

use super::latency::{commit_latencies, drive};
use super::pull::seed_org;
use super::{median_of, num, ratio, Ctx};
use crate::pg::{self, Flow, Sync};
use crate::report::{Row, ScenarioReport};
use crate::stats::{percentile, round};
use crate::BenchResult;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const PUSH_TABLE: &str = "isolation_push";
const PUSH_SYNC: &str = "bench_isolation_push";
const LOAD_TABLE: &str = "isolation_load";
const LOAD_SYNC: &str = "bench_isolation_load";
/// The longest the load may take to deliver its first row.
const LOAD_START: Duration = Duration::from_secs(60);

pub fn run(ctx: &mut Ctx) -> BenchResult<ScenarioReport> {
    let mut reps = Vec::new();
    for rep in 0..ctx.settings.reps {
        let mut result = one_run(ctx);
        let _ = pg::drop_sync_if_exists(&mut ctx.db, PUSH_SYNC);
        let _ = pg::drop_sync_if_exists(&mut ctx.db, LOAD_SYNC);
        ctx.db.batch_execute(&format!(
            "DROP TABLE IF EXISTS {PUSH_TABLE}; DROP TABLE IF EXISTS {LOAD_TABLE}"
        ))?;
        if let Ok(r) = &mut result {
            r["rep"] = json!(rep + 1);
            ctx.say(format!("isolation rep {}: {r}", rep + 1));
        }
        reps.push(result?);
    }
    ctx.emulator.reset()?;
    Ok(summarize(ctx, reps))
}

fn one_run(ctx: &mut Ctx) -> BenchResult<Value> {
    let s = ctx.settings.clone();
    seed_org(ctx, s.isolation_rows)?;
    let url = ctx.emulator.base().to_string();
    pg::create_accounts_table(&mut ctx.db, PUSH_TABLE)?;
    pg::create_accounts_table(&mut ctx.db, LOAD_TABLE)?;
    let push = pg::create_sync(&mut ctx.db, PUSH_SYNC, PUSH_TABLE, &url, Flow::Push)?;
    pg::warm_up(&mut ctx.db, &push, PUSH_TABLE)?;

    // Alone: the same schedule for as long as the loaded run may last.
    let alone = measure(ctx, &push, s.latency_duration, |_| Ok(false))?;

    let load = pg::create_sync(&mut ctx.db, LOAD_SYNC, LOAD_TABLE, &url, Flow::Pull)?;
    let started = Instant::now();
    let count = format!("SELECT count(*) FROM {LOAD_TABLE}");
    while ctx.db.query_one(&count, &[])?.get::<_, i64>(0) == 0 {
        if started.elapsed() > LOAD_START {
            return Err(format!("the full load delivered no row within {LOAD_START:?}").into());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let first_row_s = started.elapsed().as_secs_f64();
    let target = s.isolation_rows as i64;
    let mut rows_at_end = 0;
    let loaded = measure(ctx, &push, s.latency_duration, |db| {
        rows_at_end = db.query_one(&count, &[])?.get::<_, i64>(0);
        Ok(rows_at_end >= target)
    })?;
    let workers = serving_pids(ctx, &[&push, &load])?;
    Ok(json!({
        "alone": alone,
        "loaded": loaded,
        "load_rows": s.isolation_rows,
        "load_rows_when_measured": rows_at_end,
        "load_first_row_s": round(first_row_s, 3),
        "serving_pids": workers,
        "p50_loaded_over_alone": ratio(loaded["p50_ms"].as_f64(), alone["p50_ms"].as_f64()).map(|r| round(r, 2)),
    }))
}

/// Drives single-row commits into the push sync's table until `stop` says so (or
/// `duration` passes) and returns their latencies' percentiles.
fn measure(
    ctx: &mut Ctx,
    push: &Sync,
    duration: Duration,
    stop: impl FnMut(&mut postgres::Client) -> BenchResult<bool>,
) -> BenchResult<Value> {
    let s = ctx.settings.clone();
    let replay_from = ctx.emulator.last_replay_id()?;
    let commits = drive(ctx, PUSH_TABLE, s.latency_rate, duration, None, stop)?;
    let drained = pg::wait_drained(&mut ctx.db, push, s.drain_deadline)?;
    let latencies = commit_latencies(ctx, PUSH_TABLE, &commits, replay_from)?;
    if !drained || latencies.len() < commits.len() {
        return Err(format!(
            "only {} of {} committed rows reached the emulator (outbox drained: {drained})",
            latencies.len(),
            commits.len()
        )
        .into());
    }
    let pct = |p| percentile(&latencies, p).map(|v| round(v, 2));
    Ok(json!({
        "commits": commits.len(),
        "p50_ms": pct(50.0), "p95_ms": pct(95.0), "p99_ms": pct(99.0), "max_ms": pct(100.0),
    }))
}

/// The pid of the worker serving each sync (from `hubsync.worker.syncs`).
fn serving_pids(ctx: &mut Ctx, syncs: &[&Sync]) -> BenchResult<Value> {
    let mut pids = serde_json::Map::new();
    for sync in syncs {
        let pid: Option<i32> = ctx
            .db
            .query_opt(
                "SELECT pid FROM hubsync.worker WHERE database = current_database() AND $1 = ANY (syncs)",
                &[&sync.id],
            )?
            .and_then(|r| r.get(0));
        pids.insert(sync.name.clone(), json!(pid));
    }
    Ok(Value::Object(pids))
}

fn summarize(ctx: &Ctx, reps: Vec<Value>) -> ScenarioReport {
    let part = |key: &str| -> Vec<Value> { reps.iter().map(|r| r[key].clone()).collect() };
    let (alone, loaded) = (part("alone"), part("loaded"));
    let over = median_of(&reps, "p50_loaded_over_alone");
    let ms = |v: Option<f64>| v.map_or("n/a".into(), |v| format!("{v:.1} ms"));
    let s = &ctx.settings;
    let rows = vec![
        Row::new("7 isolation", "push p50 alone", " ms")
            .value(median_of(&alone, "p50_ms"))
            .detail(format!(
                "{} single-row commits/s; p99 {}",
                s.latency_rate,
                ms(median_of(&alone, "p99_ms"))
            )),
        Row::new(
            "7 isolation",
            format!(
                "push p50 during another sync's {}-row full load",
                s.isolation_rows
            ),
            " ms",
        )
        .value(median_of(&loaded, "p50_ms"))
        .detail(format!(
            "p99 {}; measured while the load ran ({} rows loaded when it ended)",
            ms(median_of(&loaded, "p99_ms")),
            median_of(&reps, "load_rows_when_measured").map_or("n/a".into(), |v| format!("{v:.0}"))
        )),
        Row::new("7 isolation", "push p50 under load / alone", "×")
            .value(over)
            .detail("the same order (≈1×) when the two syncs run in different worker processes"),
    ];
    ScenarioReport {
        name: "isolation",
        rows,
        data: json!({
            "method": "a push sync's single-row commits at a fixed rate, timed commit → visible in the \
                       emulator's change log, first alone, then while a second sync of the same \
                       database runs its full load; pids of the workers serving each recorded",
            "summary": {"p50_loaded_over_alone": num(over, 2)},
            "reps": reps,
        }),
    }
}
