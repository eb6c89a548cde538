//! Scenario 1, capture overhead: pgbench TPS of single-row UPDATEs and INSERTs on three
//! tables of the brief's `accounts` shape — (a) no trigger, (b) hubsync capture of a real
//! sync, (c) a Heroku Connect style PL/pgSQL change-log trigger — in rotating order.
//!
//! The hubsync sync is *paused* while pgbench runs: capture still writes every change to
//! the outbox and wakes the worker at commit, but the worker does not drain. On a 2-core
//! machine a draining worker (and the emulator answering it) would take CPU from pgbench
//! and the ratio would measure the machine, not the trigger. It is also the fair match for
//! the baseline, whose log is drained by a poller elsewhere (every 10 minutes by default).

use super::{median_of, num, ratio, spread_of, Ctx};
use crate::pg::{self, Flow};
use crate::procfs;
use crate::report::{Row, ScenarioReport, Target};
use crate::stats::round;
use crate::BenchResult;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;

const HEROKU_STYLE: &str = include_str!("../../sql/heroku_connect_style.sql");

/// The three tables, in the order of the first repetition.
const VARIANTS: [(&str, &str); 3] = [
    ("no_trigger", "cap_plain"),
    ("hubsync", "cap_hubsync"),
    ("heroku_style", "cap_heroku"),
];

/// pgbench scripts; `{table}` and `{rows}` are filled in.
const WORKLOADS: [(&str, &str); 2] = [
    (
        "update",
        "\\set id random(1, {rows})\n\
         UPDATE {table} SET annual_revenue = annual_revenue + 1, last_sync = now() WHERE id = :id;\n",
    ),
    (
        "insert",
        "\\set n random(1, 1000000000)\n\
         INSERT INTO {table} (account_name, industry_type, annual_revenue, last_modified) \
         VALUES ('Bench ' || :n, 'Technology', :n % 100000, now());\n",
    ),
];

pub fn run(ctx: &mut Ctx) -> BenchResult<ScenarioReport> {
    set_up(ctx)?;
    let mut reps = Vec::new();
    for rep in 0..ctx.settings.reps {
        let mut results = json!({"rep": rep + 1});
        for (workload, script) in WORKLOADS {
            results[workload] = one_round(ctx, rep, workload, script)?;
        }
        ctx.say(format!("capture rep {}: {results}", rep + 1));
        reps.push(results);
    }
    pg::drop_sync_if_exists(&mut ctx.db, "bench_capture")?;
    Ok(summarize(ctx, reps))
}

fn set_up(ctx: &mut Ctx) -> BenchResult<()> {
    let rows = ctx.settings.capture.table_rows;
    for (_, table) in VARIANTS {
        pg::drop_sync_if_exists(&mut ctx.db, "bench_capture")?;
        pg::create_accounts_table(&mut ctx.db, table)?;
        pg::insert_accounts(&mut ctx.db, table, 1, rows, rows)?;
    }
    ctx.db
        .batch_execute(&HEROKU_STYLE.replace("__TABLE__", "cap_heroku"))?;
    let url = ctx.emulator.base().to_string();
    let sync = pg::create_sync(
        &mut ctx.db,
        "bench_capture",
        "cap_hubsync",
        &url,
        Flow::Push,
    )?;
    pg::set_paused(&mut ctx.db, &sync, true)?;
    ctx.db
        .batch_execute("VACUUM ANALYZE cap_plain, cap_hubsync, cap_heroku")?;
    Ok(())
}

/// One workload on the three tables, starting with a different table each repetition.
fn one_round(ctx: &mut Ctx, rep: usize, workload: &str, script: &str) -> BenchResult<Value> {
    ctx.db
        .batch_execute("TRUNCATE hubsync.outbox, bench_trigger_log; CHECKPOINT")?;
    let mut out = json!({});
    for i in 0..VARIANTS.len() {
        let (variant, table) = VARIANTS[(i + rep) % VARIANTS.len()];
        let text = script
            .replace("{table}", table)
            .replace("{rows}", &ctx.settings.capture.table_rows.to_string());
        let file = script_file(workload, table, &text)?;
        let worker = pg::worker_pid(&mut ctx.db)?;
        let cpu_before = procfs::cpu_seconds(worker)?;
        let (tps, transactions) = pgbench(ctx, &file)?;
        let worker_cpu = procfs::cpu_seconds(worker)? - cpu_before;
        let _ = std::fs::remove_file(&file);
        let logged = logged_rows(ctx, variant)?;
        out[variant] = json!({
            "tps": round(tps, 1),
            "transactions": transactions,
            "log_rows": logged,
            "worker_cpu_seconds": round(worker_cpu, 2),
        });
    }
    Ok(out)
}

/// Rows the variant's trigger wrote (outbox or change log): proof the trigger ran.
fn logged_rows(ctx: &mut Ctx, variant: &str) -> BenchResult<Value> {
    let sql = match variant {
        "hubsync" => "SELECT count(*) FROM hubsync.outbox",
        "heroku_style" => "SELECT count(*) FROM bench_trigger_log",
        _ => return Ok(Value::Null),
    };
    let n: i64 = ctx.db.query_one(sql, &[])?.get(0);
    Ok(json!(n))
}

fn script_file(workload: &str, table: &str, text: &str) -> BenchResult<PathBuf> {
    let path = std::env::temp_dir().join(format!(
        "hubsync-bench-{}-{workload}-{table}.sql",
        std::process::id()
    ));
    std::fs::write(&path, text)?;
    Ok(path)
}

/// Runs pgbench with `script`; returns (TPS without connection time, transactions).
fn pgbench(ctx: &Ctx, script: &Path) -> BenchResult<(f64, u64)> {
    let s = &ctx.settings;
    let output = Command::new(s.pg_bin.join("pgbench"))
        .args(["-n", "-M", "prepared", "-h", &s.pg.host, "-U", &s.pg.user])
        .args(["-p", &s.pg.port.to_string()])
        .args(["-c", &s.capture.clients.to_string()])
        .args(["-j", &s.capture.threads.to_string()])
        .args(["-T", &s.capture.duration.as_secs().to_string()])
        .arg("-f")
        .arg(script)
        .arg(&s.pg.database)
        .output()?;
    let text = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(format!(
            "pgbench failed: {}{}",
            text,
            String::from_utf8_lossy(&output.stderr)
        )
        .into());
    }
    let field = |prefix: &str| -> Option<f64> {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(prefix))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse().ok())
    };
    let tps = field("tps = ").ok_or_else(|| format!("no TPS in pgbench output:\n{text}"))?;
    let transactions = field("number of transactions actually processed:").unwrap_or(0.0);
    Ok((tps, transactions as u64))
}

fn summarize(ctx: &Ctx, reps: Vec<Value>) -> ScenarioReport {
    let mut rows = Vec::new();
    let mut summary = json!({});
    for (workload, _) in WORKLOADS {
        let per_rep: Vec<Value> = reps.iter().map(|r| r[workload].clone()).collect();
        let tps = |variant: &str| {
            let values: Vec<Value> = per_rep.iter().map(|r| r[variant].clone()).collect();
            median_of(&values, "tps")
        };
        let rep_ratio = |num_v: &str, den_v: &str| -> Vec<Value> {
            per_rep
                .iter()
                .map(|r| json!({"r": ratio(r[num_v]["tps"].as_f64(), r[den_v]["tps"].as_f64())}))
                .collect()
        };
        let (a, b, c) = (tps("no_trigger"), tps("hubsync"), tps("heroku_style"));
        let (ratios_a, ratios_c) = (
            rep_ratio("hubsync", "no_trigger"),
            rep_ratio("hubsync", "heroku_style"),
        );
        let (b_a, b_c) = (median_of(&ratios_a, "r"), median_of(&ratios_c, "r"));
        let medians = format!(
            "TPS no trigger {}, hubsync {}, Heroku-style {}",
            show(a),
            show(b),
            show(c)
        );
        let upper = workload.to_uppercase();
        rows.push(
            Row::new(
                "1 capture",
                format!("{upper} TPS hubsync / no trigger (b/a)"),
                "×",
            )
            .value(b_a)
            .target(Target::AtLeast(0.85))
            .detail(format!(
                "{medians}; ratio per rep {}",
                spread_of(&ratios_a, "r")
            )),
        );
        rows.push(
            Row::new(
                "1 capture",
                format!("{upper} TPS hubsync / Heroku-style trigger (b/c)"),
                "×",
            )
            .value(b_c)
            .target(Target::AtLeast(1.3))
            .detail(format!(
                "{medians}; ratio per rep {}",
                spread_of(&ratios_c, "r")
            )),
        );
        summary[workload] = json!({
            "tps_no_trigger": num(a, 1), "tps_hubsync": num(b, 1), "tps_heroku_style": num(c, 1),
            "b_over_a": num(b_a, 3), "b_over_c": num(b_c, 3),
        });
    }
    let c = &ctx.settings.capture;
    ScenarioReport {
        name: "capture",
        rows,
        data: json!({
            "method": "pgbench -M prepared, single-row statements, tables pre-loaded with table_rows rows; \
                       order of the three tables rotates every repetition; hubsync sync paused \
                       (captures and wakes the worker, no draining) so a draining worker does not \
                       compete with pgbench for the 2 cores",
            "clients": c.clients, "threads": c.threads, "seconds": c.duration.as_secs(),
            "table_rows": c.table_rows,
            "summary": summary,
            "reps": reps,
        }),
    }
}

fn show(v: Option<f64>) -> String {
    v.map_or("n/a".into(), |v| format!("{v:.0}"))
}
