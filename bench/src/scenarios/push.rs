//! Scenario 2, push throughput: rows committed in batches of 1,000 → time until the worker
//! has them all acknowledged (outbox empty), with the API calls the emulator counted.
//! Baselines of the same run: the emulator's ceiling (the same records in 200-record
//! collection calls with the same parallelism, no Postgres; plus the load generator's
//! upserts) and a naive integration (one `POST /sobjects/Account` per record, sequential).

use super::{in_parallel, median_of, num, ratio, Ctx};
use crate::emulator::{account, Counters};
use crate::pg::{self, Flow};
use crate::report::{Row, ScenarioReport, Target};
use crate::stats::{percentile, round};
use crate::BenchResult;
use serde_json::{json, Value};
use std::process::Command;
use std::time::Instant;

/// hubsync's default `performance_settings.parallelism` (the brief's config sets none):
/// the ceiling uses as many concurrent clients as hubsync has HTTP threads.
pub const PARALLELISM: usize = 4;

/// Records per sObject Collections call.
const COLLECTION: usize = 200;

pub fn run(ctx: &mut Ctx) -> BenchResult<ScenarioReport> {
    let mut reps = Vec::new();
    for rep in 0..ctx.settings.reps {
        let result = json!({
            "rep": rep + 1,
            "hubsync": hubsync(ctx)?,
            "ceiling_same_records": ceiling(ctx)?,
            "ceiling_loadgen_upsert": loadgen(ctx)?,
            "naive": naive(ctx)?,
        });
        ctx.say(format!("push rep {}: {result}", rep + 1));
        reps.push(result);
    }
    Ok(summarize(ctx, reps))
}

/// Commits `push_rows` rows into a synced table and waits until the outbox is empty.
fn hubsync(ctx: &mut Ctx) -> BenchResult<Value> {
    let s = ctx.settings.clone();
    ctx.emulator.reset()?;
    pg::create_accounts_table(&mut ctx.db, "push_accounts")?;
    let url = ctx.emulator.base().to_string();
    let sync = pg::create_sync(&mut ctx.db, "bench_push", "push_accounts", &url, Flow::Push)?;
    pg::warm_up(&mut ctx.db, &sync, "push_accounts")?;
    let before = ctx.emulator.counters()?;
    let started = Instant::now();
    pg::insert_accounts(
        &mut ctx.db,
        "push_accounts",
        1,
        s.push_rows,
        s.push_commit_rows,
    )?;
    let committed = started.elapsed();
    let drained = pg::wait_drained(&mut ctx.db, &sync, s.drain_deadline)?;
    let seconds = started.elapsed().as_secs_f64();
    let used = ctx.emulator.counters()?.since(&before);
    let linked: i64 = ctx
        .db
        .query_one(
            "SELECT count(*) FROM push_accounts WHERE sf_id IS NOT NULL",
            &[],
        )?
        .get(0);
    pg::drop_sync_if_exists(&mut ctx.db, "bench_push")?;
    ctx.db.batch_execute("DROP TABLE push_accounts")?;
    if !drained || used.records_created < s.push_rows as u64 {
        return Err(format!(
            "hubsync pushed {} of {} records within {:?} (outbox drained: {drained})",
            used.records_created, s.push_rows, s.drain_deadline
        )
        .into());
    }
    Ok(json!({
        "records": s.push_rows,
        "commit_seconds": round(committed.as_secs_f64(), 3),
        "seconds": round(seconds, 3),
        "records_per_second": round(s.push_rows as f64 / seconds, 0),
        "api_calls": used.api_used,
        "collection_calls": used.collection_calls,
        "records_per_call": round(s.push_rows as f64 / used.api_used.max(1) as f64, 1),
        "records_created": used.records_created,
        "ids_written_back": linked,
    }))
}

/// The same records through collection creates from `PARALLELISM` clients, no Postgres.
fn ceiling(ctx: &mut Ctx) -> BenchResult<Value> {
    let records = ctx.settings.push_rows;
    ctx.emulator.reset()?;
    let session = ctx.emulator.login()?;
    let before = ctx.emulator.counters()?;
    let started = Instant::now();
    // One keep-alive connection per client thread, as a pool of plain clients would hold.
    let sessions: Vec<_> = (0..PARALLELISM).map(|_| session.fork()).collect();
    in_parallel(PARALLELISM, records, COLLECTION, |client, range| {
        let batch: Vec<Value> = range.map(account).collect();
        sessions[client].create_collection(&batch).map(|_| ())
    })?;
    let seconds = started.elapsed().as_secs_f64();
    let used = ctx.emulator.counters()?.since(&before);
    check_created(&used, records, "the ceiling client")?;
    Ok(json!({
        "records": records,
        "parallelism": PARALLELISM,
        "seconds": round(seconds, 3),
        "records_per_second": round(records as f64 / seconds, 0),
        "api_calls": used.api_used,
    }))
}

/// The emulator's own load generator, upserting by external id (bench/emulator/README.md).
fn loadgen(ctx: &mut Ctx) -> BenchResult<Value> {
    let s = &ctx.settings;
    ctx.emulator.reset()?;
    let output = Command::new(&s.loadgen)
        .args([
            "--url",
            ctx.emulator.base(),
            "--mode",
            "upsert",
            "--batch",
            "200",
        ])
        .args(["--records", &s.push_rows.to_string()])
        .args(["--parallelism", &PARALLELISM.to_string()])
        .args(["--query-rounds", "0"])
        .output()?;
    if !output.status.success() {
        return Err(format!(
            "the load generator failed: {}",
            String::from_utf8_lossy(&output.stderr)
        )
        .into());
    }
    let report: Value = serde_json::from_slice(&output.stdout)?;
    ctx.emulator.reset()?;
    Ok(json!({
        "records": report["records"],
        "seconds": report["write_seconds"],
        "records_per_second": report["records_per_second"],
    }))
}

/// One REST create per record, one after another, as a simple script would.
fn naive(ctx: &mut Ctx) -> BenchResult<Value> {
    let sample = ctx.settings.naive_sample;
    ctx.emulator.reset()?;
    let session = ctx.emulator.login()?;
    let before = ctx.emulator.counters()?;
    let started = Instant::now();
    let mut trips = Vec::with_capacity(sample);
    for i in 0..sample {
        trips.push(session.create_one(&account(i))?.as_secs_f64() * 1000.0);
    }
    let seconds = started.elapsed().as_secs_f64();
    let used = ctx.emulator.counters()?.since(&before);
    check_created(&used, sample, "the naive client")?;
    Ok(json!({
        "records": sample,
        "seconds": round(seconds, 3),
        "records_per_second": round(sample as f64 / seconds, 0),
        "api_calls": used.api_used,
        "round_trip_p50_ms": percentile(&trips, 50.0).map(|v| round(v, 3)),
    }))
}

fn check_created(used: &Counters, expected: usize, who: &str) -> BenchResult<()> {
    if used.records_created != expected as u64 {
        return Err(format!(
            "{who} created {} records, expected {expected}",
            used.records_created
        )
        .into());
    }
    Ok(())
}

fn summarize(ctx: &Ctx, reps: Vec<Value>) -> ScenarioReport {
    let part = |name: &str| -> Vec<Value> { reps.iter().map(|r| r[name].clone()).collect() };
    let (hub, ceil, lg, naive) = (
        part("hubsync"),
        part("ceiling_same_records"),
        part("ceiling_loadgen_upsert"),
        part("naive"),
    );
    let per_rep = |other: &[Value]| -> Vec<Value> {
        hub.iter()
            .zip(other)
            .map(|(h, o)| {
                json!({"r": ratio(h["records_per_second"].as_f64(), o["records_per_second"].as_f64())})
            })
            .collect()
    };
    let rps = |runs: &[Value]| median_of(runs, "records_per_second");
    let (h, c, l, n) = (rps(&hub), rps(&ceil), rps(&lg), rps(&naive));
    let vs_ceiling = median_of(&per_rep(&ceil), "r");
    let vs_loadgen = median_of(&per_rep(&lg), "r");
    let vs_naive = median_of(&per_rep(&naive), "r");
    let per_call = median_of(&hub, "records_per_call");
    let calls = median_of(&hub, "api_calls");
    let records = ctx.settings.push_rows;
    let show = |v: Option<f64>| v.map_or("n/a".into(), |v| format!("{v:.0}"));
    let rows = vec![
        Row::new("2 push", "records per API call (backlog)", "")
            .value(per_call)
            .target(Target::AtLeast(195.0))
            .detail(format!("{} API calls for {records} records", show(calls))),
        Row::new(
            "2 push",
            "records/s hubsync / emulator ceiling (same records, create)",
            "×",
        )
        .value(vs_ceiling)
        .target(Target::AtLeast(0.5))
        .detail(format!(
            "hubsync {} rec/s, ceiling {} rec/s ({PARALLELISM} clients × 200-record collections)",
            show(h),
            show(c)
        )),
        Row::new(
            "2 push",
            "records/s hubsync / load generator ceiling (upsert)",
            "×",
        )
        .value(vs_loadgen)
        .target(Target::AtLeast(0.5))
        .detail(format!(
            "hubsync {} rec/s, loadgen {} rec/s",
            show(h),
            show(l)
        )),
        Row::new(
            "2 push",
            "records/s hubsync / naive one-call-per-record",
            "×",
        )
        .value(vs_naive)
        .target(Target::AtLeast(20.0))
        .detail(format!(
            "hubsync {} rec/s, naive {} rec/s (sequential POST /sobjects/Account, {} records)",
            show(h),
            show(n),
            ctx.settings.naive_sample
        )),
    ];
    ScenarioReport {
        name: "push",
        rows,
        data: json!({
            "method": "push_rows rows committed 1,000 per transaction into a table synced one way \
                       (Postgres → Salesforce) with the brief's mappings; timed from the first \
                       commit until hubsync.outbox holds none of the sync's rows; API calls from \
                       the emulator's DailyApiRequests counter",
            "summary": {
                "hubsync_records_per_second": num(h, 0),
                "ceiling_records_per_second": num(c, 0),
                "loadgen_upsert_records_per_second": num(l, 0),
                "naive_records_per_second": num(n, 0),
                "hubsync_over_ceiling": num(vs_ceiling, 3),
                "hubsync_over_loadgen": num(vs_loadgen, 3),
                "hubsync_over_naive": num(vs_naive, 1),
                "records_per_api_call": num(per_call, 1),
            },
            "reps": reps,
        }),
    }
}
