//! Scenario 3, push latency: single-row commits at a steady rate → how long until each
//! record exists in the emulator. Three views of the same run:
//! - every record: the emulator's change log stamps each create with its commit time
//!   (epoch ms, same clock as ours), matched to our rows through the `sf_id` hubsync wrote
//!   back; latency = that stamp − the moment our COMMIT returned. The stamps are whole
//!   milliseconds (floored): each is read as the middle of its millisecond, so a value is
//!   within ±0.5 ms of the truth;
//! - an external check on every 10th record: a second client polls SOQL every 2 ms;
//! - hubsync's own metric (`hubsync.metric`: commit→acknowledged mean and max).
//!
//! Baseline of the same run: the round trip of a 1-record collection create, the request
//! hubsync sends for a lone row.

use super::{num, ratio, Ctx};
use crate::emulator::{account, Session};
use crate::pg;
use crate::report::{Row, ScenarioReport, Target};
use crate::stats::{median, percentile, round};
use crate::wait::epoch_ms;
use crate::BenchResult;
use serde_json::{json, Value};

/// A floored whole-millisecond stamp is, on average, half a millisecond early.
const STAMP_MIDPOINT_MS: f64 = 0.5;
use std::collections::HashMap;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Every how many commits [`drive`] asks whether to stop early.
const STOP_CHECK_EVERY: usize = 25;
/// Every how many commits the polling client checks one.
const POLL_EVERY: usize = 10;
const POLL_INTERVAL: Duration = Duration::from_millis(2);
/// Sequential 1-record requests measuring the emulator's round trip.
const ROUND_TRIPS: usize = 200;

pub fn run(ctx: &mut Ctx) -> BenchResult<ScenarioReport> {
    let mut reps = Vec::new();
    for rep in 0..ctx.settings.reps {
        let mut result = one_run(ctx)?;
        result["rep"] = json!(rep + 1);
        result["emulator_round_trip_p50_ms"] = json!(round_trip_p50(ctx)?);
        ctx.say(format!("latency rep {}: {result}", rep + 1));
        reps.push(result);
    }
    Ok(summarize(ctx, reps))
}

fn one_run(ctx: &mut Ctx) -> BenchResult<Value> {
    let s = ctx.settings.clone();
    ctx.emulator.reset()?;
    pg::create_accounts_table(&mut ctx.db, "latency_accounts")?;
    let url = ctx.emulator.base().to_string();
    let sync = pg::create_sync(
        &mut ctx.db,
        "bench_latency",
        "latency_accounts",
        &url,
        pg::Flow::Push,
    )?;
    pg::warm_up(&mut ctx.db, &sync, "latency_accounts")?;
    ctx.db
        .execute("DELETE FROM hubsync.metric WHERE sync_id = $1", &[&sync.id])?;
    let replay_from = ctx.emulator.last_replay_id()?;
    let before = ctx.emulator.counters()?;

    let (polled, samples) = mpsc::channel::<(String, f64)>();
    let poller = {
        let session = ctx.emulator.login()?;
        std::thread::spawn(move || poll_samples(session, samples))
    };
    let commits = drive(
        ctx,
        "latency_accounts",
        s.latency_rate,
        s.latency_duration,
        Some(&polled),
        |_| Ok(false),
    )?;
    drop(polled);
    let drained = pg::wait_drained(&mut ctx.db, &sync, s.drain_deadline)?;
    let polled = poller.join().map_err(|_| "the polling client panicked")??;
    let polled_ms = polled.latencies_ms;

    let used = ctx.emulator.counters()?.since(&before);
    let hubsync_calls = used.api_used.saturating_sub(polled.queries);
    let latencies = commit_latencies(ctx, "latency_accounts", &commits, replay_from)?;
    let (own_count, own_mean, own_max) = pg::own_latency(&mut ctx.db, &sync)?;
    pg::drop_sync_if_exists(&mut ctx.db, "bench_latency")?;
    ctx.db.batch_execute("DROP TABLE latency_accounts")?;
    if !drained || latencies.len() < commits.len() {
        return Err(format!(
            "only {} of {} committed rows reached the emulator (outbox drained: {drained})",
            latencies.len(),
            commits.len()
        )
        .into());
    }
    let pct = |values: &[f64], p| percentile(values, p).map(|v| round(v, 2));
    Ok(json!({
        "commits": commits.len(),
        "seconds": s.latency_duration.as_secs(),
        "rate_per_second": s.latency_rate,
        "p50_ms": pct(&latencies, 50.0), "p95_ms": pct(&latencies, 95.0),
        "p99_ms": pct(&latencies, 99.0), "max_ms": pct(&latencies, 100.0),
        "polled_sample": polled_ms.len(),
        "polled_p50_ms": pct(&polled_ms, 50.0), "polled_p99_ms": pct(&polled_ms, 99.0),
        "hubsync_metric_count": own_count,
        "hubsync_metric_mean_ms": round(own_mean, 2),
        "hubsync_metric_max_ms": round(own_max, 2),
        "api_calls": hubsync_calls,
        "poll_queries": polled.queries,
        "records_per_call": round(commits.len() as f64 / hubsync_calls.max(1) as f64, 2),
    }))
}

/// Commit → visible latency (ms) of every committed row of `table` whose create the
/// emulator's change log (after `replay_from`) shows, matched through the `sf_id` hubsync
/// wrote back.
pub(super) fn commit_latencies(
    ctx: &mut Ctx,
    table: &str,
    commits: &HashMap<i32, f64>,
    replay_from: u64,
) -> BenchResult<Vec<f64>> {
    let visible = ctx.emulator.account_changes_after(replay_from)?;
    let visible_at: HashMap<String, f64> = visible
        .iter()
        .map(|c| (id15(&c.record_id), c.commit_ms))
        .collect();
    let mut latencies = Vec::new();
    for row in ctx.db.query(
        &format!("SELECT id, sf_id FROM {table} WHERE sf_id IS NOT NULL"),
        &[],
    )? {
        let (id, sf_id): (i32, String) = (row.get(0), row.get(1));
        if let (Some(committed), Some(seen)) = (commits.get(&id), visible_at.get(&id15(&sf_id))) {
            latencies.push(seen + STAMP_MIDPOINT_MS - committed);
        }
    }
    Ok(latencies)
}

/// Commits one row at a time into `table` on a fixed schedule for at most `duration`;
/// returns each row's COMMIT-returned time (epoch ms). Every `POLL_EVERY`th row is handed
/// to the polling client, if any. Every [`STOP_CHECK_EVERY`] rows `stop` is asked whether
/// to end early.
pub(super) fn drive(
    ctx: &mut Ctx,
    table: &str,
    rate: u32,
    duration: Duration,
    polled: Option<&mpsc::Sender<(String, f64)>>,
    mut stop: impl FnMut(&mut postgres::Client) -> BenchResult<bool>,
) -> BenchResult<HashMap<i32, f64>> {
    let insert = ctx.db.prepare(&format!(
        "INSERT INTO {table} (account_name, industry_type, annual_revenue) \
         VALUES ($1, 'Technology', 1000) RETURNING id"
    ))?;
    let total = (rate as u64 * duration.as_secs()) as usize;
    let period = Duration::from_secs_f64(1.0 / rate as f64);
    let started = Instant::now();
    let mut commits = HashMap::with_capacity(total);
    for i in 0..total {
        if i % STOP_CHECK_EVERY == 0 && i > 0 && stop(&mut ctx.db)? {
            break;
        }
        let due = started + period * i as u32;
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        let name = format!("Latency {i}");
        let id: i32 = ctx.db.query_one(&insert, &[&name])?.get(0);
        let committed = epoch_ms();
        commits.insert(id, committed);
        if let Some(polled) = polled.filter(|_| i % POLL_EVERY == 0) {
            let _ = polled.send((name, committed));
        }
    }
    Ok(commits)
}

/// What the polling client saw: latencies, and the queries it spent (API calls that are
/// not hubsync's).
struct Polled {
    latencies_ms: Vec<f64>,
    queries: u64,
}

/// Polls the emulator for each sampled record until it is visible.
fn poll_samples(session: Session, samples: mpsc::Receiver<(String, f64)>) -> BenchResult<Polled> {
    let mut latencies = Vec::new();
    let mut queries = 0;
    for (name, committed) in samples {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            queries += 1;
            if !session.ids_named(&name)?.is_empty() {
                latencies.push(epoch_ms() - committed);
                break;
            }
            if Instant::now() > deadline {
                return Err(format!("record {name} never became visible").into());
            }
            std::thread::sleep(POLL_INTERVAL);
        }
    }
    Ok(Polled {
        latencies_ms: latencies,
        queries,
    })
}

/// The emulator's round trip for the request hubsync sends for one row.
fn round_trip_p50(ctx: &mut Ctx) -> BenchResult<Option<f64>> {
    ctx.emulator.reset()?;
    let session = ctx.emulator.login()?;
    let mut trips = Vec::with_capacity(ROUND_TRIPS);
    for i in 0..ROUND_TRIPS {
        trips.push(session.create_collection(&[account(i)])?.as_secs_f64() * 1000.0);
    }
    ctx.emulator.reset()?;
    Ok(median(&trips).map(|v| round(v, 3)))
}

/// Salesforce ids compare on their first 15 characters (the 18-character form adds a
/// case-checksum).
fn id15(id: &str) -> String {
    id.chars().take(15).collect()
}

fn summarize(ctx: &Ctx, reps: Vec<Value>) -> ScenarioReport {
    let med = |key: &str| super::median_of(&reps, key);
    let (p50, p95, p99) = (med("p50_ms"), med("p95_ms"), med("p99_ms"));
    let rtt = med("emulator_round_trip_p50_ms");
    let per_rep_ratio: Vec<Value> = reps
        .iter()
        .map(
            |r| json!({"r": ratio(r["p50_ms"].as_f64(), r["emulator_round_trip_p50_ms"].as_f64())}),
        )
        .collect();
    let over_rtt = super::median_of(&per_rep_ratio, "r");
    let ms = |v: Option<f64>| v.map_or("n/a".into(), |v| format!("{v:.1} ms"));
    let s = &ctx.settings;
    let load = format!(
        "{} single-row commits/s for {} s",
        s.latency_rate,
        s.latency_duration.as_secs()
    );
    let rows = vec![
        Row::new(
            "3 latency",
            "commit→visible p50 (every record, emulator change log)",
            " ms",
        )
        .value(p50)
        .target(Target::AtMost(20.0))
        .detail(format!(
            "{load}; emulator 1-record round trip p50 {}; emulator stamps are whole ms, read as their midpoint (±0.5 ms)",
            ms(rtt)
        )),
        Row::new("3 latency", "commit→visible p95", " ms").value(p95),
        Row::new("3 latency", "commit→visible p99", " ms")
            .value(p99)
            .target(Target::AtMost(100.0))
            .detail(format!("max {}", ms(med("max_ms")))),
        Row::new("3 latency", "p50 / emulator round trip p50", "×")
            .value(over_rtt)
            .detail("what the sync adds on top of the one request it must make"),
        Row::new(
            "3 latency",
            "commit→visible p50, polled externally (every 10th record)",
            " ms",
        )
        .value(med("polled_p50_ms"))
        .detail(format!(
            "p99 {}; SOQL poll every 2 ms, so up to ~2 ms + a query round trip late",
            ms(med("polled_p99_ms"))
        )),
        Row::new(
            "3 latency",
            "hubsync's own metric: commit→acknowledged mean",
            " ms",
        )
        .value(med("hubsync_metric_mean_ms"))
        .detail(format!(
            "max {} (hubsync.metric keeps sum, count and max per minute, no percentiles)",
            ms(med("hubsync_metric_max_ms"))
        )),
        Row::new("3 latency", "records per API call at this rate", "")
            .value(med("records_per_call"))
            .detail("a lone commit is sent at once, in its own call"),
    ];
    ScenarioReport {
        name: "latency",
        rows,
        data: json!({
            "method": "one INSERT per transaction on a fixed schedule from one connection; \
                       latency from the moment COMMIT returned to the emulator's commit stamp",
            "summary": {
                "p50_ms": num(p50, 2), "p95_ms": num(p95, 2), "p99_ms": num(p99, 2),
                "emulator_round_trip_p50_ms": num(rtt, 3), "p50_over_round_trip": num(over_rtt, 2),
            },
            "reps": reps,
        }),
    }
}
