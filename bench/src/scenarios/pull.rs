//! Scenario 4, pull throughput: `pull_rows` Accounts already in the org → a Salesforce →
//! Postgres sync with `initial_sync: full_load` → time until they are all rows of the
//! local table. Baseline of the same run: `COPY` of the same rows into the same table.
//! Above `performance_settings.bulk_threshold` (10,000 by default) the load goes through
//! one Bulk API 2.0 query job; the API calls it spent are reported beside the rate.
//!
//! If the local row count does not reach the target before the deadline (or stops moving
//! for `pull_stall`), the figure is "not available" with the reason, and the run goes on.

use super::{median_of, num, ratio, Ctx};
use crate::emulator::account;
use crate::pg::{self, Flow};
use crate::report::{Row, ScenarioReport, Target};
use crate::BenchResult;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const TABLE: &str = "pull_accounts";
const SYNC: &str = "bench_pull";

pub fn run(ctx: &mut Ctx) -> BenchResult<ScenarioReport> {
    let mut reps = Vec::new();
    let mut unavailable: Option<String> = None;
    for rep in 0..ctx.settings.reps {
        let ids = seed_org(ctx, ctx.settings.pull_rows)?;
        pg::create_accounts_table(&mut ctx.db, TABLE)?;
        let hubsync = match &unavailable {
            Some(reason) => json!({"available": false, "reason": reason, "skipped": true}),
            None => pull(ctx)?,
        };
        if hubsync["available"] == json!(false) {
            unavailable = hubsync["reason"].as_str().map(str::to_string);
        }
        pg::drop_sync_if_exists(&mut ctx.db, SYNC)?;
        let copy = copy_baseline(ctx, &ids)?;
        ctx.db.batch_execute(&format!("DROP TABLE {TABLE}"))?;
        let result = json!({"rep": rep + 1, "hubsync": hubsync, "copy": copy});
        ctx.say(format!("pull rep {}: {result}", rep + 1));
        reps.push(result);
    }
    ctx.emulator.reset()?;
    Ok(summarize(ctx, reps, unavailable))
}

/// Empties the org and bulk-loads `rows` Accounts to pull; returns their ids.
pub(super) fn seed_org(ctx: &mut Ctx, rows: usize) -> BenchResult<Vec<String>> {
    ctx.emulator.reset()?;
    let records: Vec<Value> = (0..rows)
        .map(|i| {
            let mut r = account(i);
            r.as_object_mut().map(|o| o.remove("attributes"));
            r
        })
        .collect();
    let ids = ctx.emulator.load_accounts(records)?;
    if ids.len() != rows {
        return Err(format!("the emulator loaded {} accounts", ids.len()).into());
    }
    Ok(ids)
}

/// Creates the pull sync and waits for the rows; "not available" instead of failing.
fn pull(ctx: &mut Ctx) -> BenchResult<Value> {
    let s = ctx.settings.clone();
    let url = ctx.emulator.base().to_string();
    let before = ctx.emulator.counters()?;
    let started = Instant::now();
    if let Err(e) = pg::create_sync(&mut ctx.db, SYNC, TABLE, &url, Flow::Pull) {
        return Ok(
            json!({"available": false, "reason": format!("create_sync refused the sync: {e}")}),
        );
    }
    let mut loaded = pg::wait_loaded(
        &mut ctx.db,
        SYNC,
        TABLE,
        s.pull_rows as i64,
        started,
        pg::LoadWait {
            deadline: s.pull_deadline,
            stall: s.pull_stall,
            every: Duration::from_millis(250),
        },
    )?;
    let calls = ctx.emulator.counters()?.since(&before).api_used;
    loaded["api_calls"] = json!(calls);
    Ok(loaded)
}

/// `COPY` of the same rows into the same (emptied) table.
fn copy_baseline(ctx: &mut Ctx, ids: &[String]) -> BenchResult<Value> {
    ctx.db.batch_execute(&format!("TRUNCATE {TABLE}"))?;
    let mut text = String::with_capacity(ids.len() * 64);
    for (i, id) in ids.iter().enumerate() {
        let r = account(i);
        text.push_str(&format!(
            "{id}\t{}\t{}\t{}\n",
            r["Name"].as_str().unwrap_or_default(),
            r["Industry"].as_str().unwrap_or_default(),
            r["AnnualRevenue"]
        ));
    }
    pg::copy_timed(
        &mut ctx.db,
        &format!("COPY {TABLE} (sf_id, account_name, industry_type, annual_revenue) FROM STDIN"),
        &text,
    )
}

fn summarize(ctx: &Ctx, reps: Vec<Value>, unavailable: Option<String>) -> ScenarioReport {
    let copy: Vec<Value> = reps.iter().map(|r| r["copy"].clone()).collect();
    let copy_rps = median_of(&copy, "rows_per_second");
    let show = |v: Option<f64>| v.map_or("n/a".into(), |v| format!("{v:.0}"));
    let (value, detail, hub_rps) = match &unavailable {
        Some(reason) => (
            None,
            format!("COPY {} rows/s; hubsync pull: {reason}", show(copy_rps)),
            None,
        ),
        None => {
            let hub: Vec<Value> = reps.iter().map(|r| r["hubsync"].clone()).collect();
            let per_rep: Vec<Value> = reps
                .iter()
                .map(|r| {
                    json!({"r": ratio(r["hubsync"]["rows_per_second"].as_f64(), r["copy"]["rows_per_second"].as_f64())})
                })
                .collect();
            let h = median_of(&hub, "rows_per_second");
            (
                median_of(&per_rep, "r"),
                format!("hubsync {} rows/s, COPY {} rows/s", show(h), show(copy_rps)),
                h,
            )
        }
    };
    let hub: Vec<Value> = reps.iter().map(|r| r["hubsync"].clone()).collect();
    let calls = unavailable
        .is_none()
        .then(|| median_of(&hub, "api_calls"))
        .flatten();
    let rows = vec![
        Row::new(
            "4 pull",
            format!(
                "rows/s hubsync initial load / COPY ({} rows)",
                ctx.settings.pull_rows
            ),
            "×",
        )
        .value(value)
        .target(Target::AtLeast(0.5))
        .detail(detail),
        Row::new(
            "4 pull",
            format!(
                "API calls of the initial load ({} rows; Bulk API 2.0 above 10,000)",
                ctx.settings.pull_rows
            ),
            "",
        )
        .value(calls)
        .target(Target::AtMost(50.0))
        .detail("counted by the emulator: the count, describe, the query job, its polls and results pages"),
    ];
    ScenarioReport {
        name: "pull",
        rows,
        data: json!({
            "method": "Accounts bulk-loaded into the emulator; a sync with sync_type one_way, \
                       source_to_target (Salesforce → Postgres), initial_sync full_load is created \
                       and timed until the local table holds them all",
            "available": unavailable.is_none(),
            "summary": {"hubsync_rows_per_second": num(hub_rps, 0), "copy_rows_per_second": num(copy_rps, 0)},
            "reps": reps,
        }),
    }
}
