//! Scenario 8, pull latency: a record created in the org (by another client, one REST
//! create) → how long until its row is in the local table. Measured two ways in the same
//! run: with Change Data Capture (`ongoing_sync.mode: real_time`, the sync streaming) and
//! with polling at the brief's 30 seconds (`mode: polling`), the baseline.
//!
//! Each change is made alone (the previous one arrived first), and the local table is
//! checked every 2 ms; latency runs from just before the create request to the check that
//! found the row, so it includes the create's round trip and up to 2 ms of checking. With
//! polling, a change made right after the previous one arrived comes just after a poll, so
//! the baseline shows polling's worst case (about the whole interval).

use super::{num, ratio, Ctx};
use crate::emulator::{account, Session};
use crate::pg::{self, Flow};
use crate::report::{Row, ScenarioReport, Target};
use crate::stats::percentile;
use crate::wait::{epoch_ms, poll_until};
use crate::BenchResult;
use serde_json::{json, Value};
use std::time::Duration;

const TABLE: &str = "cdc_accounts";
const SYNC: &str = "bench_cdc";
/// The brief's polling interval, the baseline.
const POLLING_SECONDS: u64 = 30;
const CHECK_EVERY: Duration = Duration::from_millis(2);
/// Longest a change may take to arrive before the figure is "not available".
const ARRIVAL_DEADLINE: Duration = Duration::from_secs(120);

pub fn run(ctx: &mut Ctx) -> BenchResult<ScenarioReport> {
    let mut reps = Vec::new();
    for rep in 0..ctx.settings.reps {
        let streaming = measure(ctx, "real_time", ctx.settings.cdc_changes, rep)?;
        let polling = measure(ctx, "polling", ctx.settings.cdc_polling_changes, rep)?;
        let result = json!({"rep": rep + 1, "cdc": streaming, "polling": polling});
        ctx.say(format!("cdc rep {}: {result}", rep + 1));
        reps.push(result);
    }
    ctx.emulator.reset()?;
    Ok(summarize(ctx, reps))
}

/// Creates a pull sync in `mode`, waits until it is ready, then makes `changes` remote
/// creates one after another and times each one's arrival.
fn measure(ctx: &mut Ctx, mode: &str, changes: usize, rep: usize) -> BenchResult<Value> {
    ctx.emulator.reset()?;
    pg::create_accounts_table(&mut ctx.db, TABLE)?;
    let mut config = pg::brief_config(SYNC, TABLE, ctx.emulator.base(), Flow::Pull)?;
    config["sync_settings"]["ongoing_sync"] = json!({
        "mode": mode, "polling_interval_seconds": POLLING_SECONDS, "safety_poll_seconds": 300
    });
    let sync = pg::create_sync_with(&mut ctx.db, &config, &pg::emulator_secret()?)?;
    let ready = if mode == "real_time" {
        "streaming"
    } else {
        "polling"
    };
    let db = &mut ctx.db;
    let became_ready = poll_until(ARRIVAL_DEADLINE, Duration::from_millis(20), || {
        let row = db.query_one(
            "SELECT p.phase = 'incremental' AND s.pull_mode = $2 \
             FROM hubsync.progress p JOIN hubsync.status s ON s.name = p.sync WHERE s.name = $1",
            &[&sync.name, &ready],
        )?;
        Ok(row.get::<_, Option<bool>>(0) == Some(true))
    })?;
    let session = ctx.emulator.login()?;
    let result = if became_ready {
        arrivals(&mut ctx.db, &session, mode, changes, rep)?
    } else {
        json!({"available": false, "reason": format!("the sync did not become ready ({ready})")})
    };
    pg::drop_sync_if_exists(&mut ctx.db, &sync.name)?;
    ctx.db.batch_execute(&format!("DROP TABLE {TABLE}"))?;
    Ok(result)
}

fn arrivals(
    db: &mut postgres::Client,
    session: &Session,
    mode: &str,
    changes: usize,
    rep: usize,
) -> BenchResult<Value> {
    let mut latencies = Vec::with_capacity(changes);
    for i in 0..changes {
        let mut record = account(i);
        let name = format!("Remote {mode} {rep}-{i}");
        record["Name"] = json!(name);
        let started = epoch_ms();
        session.create_one(&record)?;
        let arrived = poll_until(ARRIVAL_DEADLINE, CHECK_EVERY, || {
            Ok(db
                .query_opt(
                    &format!("SELECT 1 FROM {TABLE} WHERE account_name = $1"),
                    &[&name],
                )?
                .is_some())
        })?;
        if !arrived {
            return Ok(json!({"available": false,
                             "reason": format!("change {i} did not arrive within {ARRIVAL_DEADLINE:?}")}));
        }
        latencies.push(epoch_ms() - started);
    }
    Ok(json!({
        "available": true,
        "changes": changes,
        "p50_ms": percentile(&latencies, 50.0),
        "p99_ms": percentile(&latencies, 99.0),
        "max_ms": latencies.iter().copied().fold(0.0, f64::max),
    }))
}

fn summarize(ctx: &Ctx, reps: Vec<Value>) -> ScenarioReport {
    let med = |side: &str, key: &str| {
        let values: Vec<Value> = reps.iter().map(|r| r[side].clone()).collect();
        super::median_of(&values, key)
    };
    let (cdc_p50, cdc_p99) = (med("cdc", "p50_ms"), med("cdc", "p99_ms"));
    let (poll_p50, poll_p99) = (med("polling", "p50_ms"), med("polling", "p99_ms"));
    let ms = |v: Option<f64>| v.map_or("n/a".into(), |v| format!("{v:.0} ms"));
    let s = &ctx.settings;
    let rows = vec![
        Row::new("8 cdc", "remote change→local row p50, streaming (CDC)", " ms")
            .value(cdc_p50)
            .target(Target::AtMost(500.0))
            .detail(format!(
                "{} single-record creates by another client, one at a time; polling at {POLLING_SECONDS} s: p50 {}",
                s.cdc_changes,
                ms(poll_p50)
            )),
        Row::new("8 cdc", "remote change→local row p99, streaming (CDC)", " ms")
            .value(cdc_p99)
            .target(Target::AtMost(2000.0))
            .detail(format!(
                "polling at {POLLING_SECONDS} s: p99 {} (each change made just after a poll: polling's worst case)",
                ms(poll_p99)
            )),
        Row::new("8 cdc", "polling p50 / streaming p50", "×")
            .value(ratio(poll_p50, cdc_p50))
            .detail(format!(
                "{} changes polled at the brief's {POLLING_SECONDS} s",
                s.cdc_polling_changes
            )),
    ];
    ScenarioReport {
        name: "cdc",
        rows,
        data: json!({
            "method": "one REST create at a time by another client; the local table checked every 2 ms; \
                       latency from before the create to the check that found the row",
            "summary": {
                "cdc_p50_ms": num(cdc_p50, 1), "cdc_p99_ms": num(cdc_p99, 1),
                "polling_p50_ms": num(poll_p50, 1), "polling_p99_ms": num(poll_p99, 1),
            },
            "reps": reps,
        }),
    }
}
