//! Scenario 5, memory: the `hubsync worker` process's peak resident set while it drains a
//! backlog of `memory_rows` changes (inserted with the sync paused, then resumed).
//!
//! The peak is the kernel's VmHWM, reset just before the resume (`5` into
//! `/proc/<pid>/clear_refs`), so earlier scenarios do not count. VmHWM includes the shared
//! buffers the worker touched; the private part (RssAnon) is sampled every 100 ms beside it.
//! The drain is also a pure-backlog push, so its records per API call are reported here.

use super::{num, Ctx};
use crate::pg;
use crate::procfs::{self, Memory};
use crate::report::{Row, ScenarioReport, Target};
use crate::stats::round;
use crate::BenchResult;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const TABLE: &str = "memory_accounts";
const SYNC: &str = "bench_memory";
const SAMPLE_EVERY: Duration = Duration::from_millis(100);

fn mib(kib: u64) -> f64 {
    round(kib as f64 / 1024.0, 1)
}

pub fn run(ctx: &mut Ctx) -> BenchResult<ScenarioReport> {
    let mut reps = Vec::new();
    for rep in 0..ctx.settings.reps {
        let mut result = one_run(ctx)?;
        result["rep"] = json!(rep + 1);
        ctx.say(format!("memory rep {}: {result}", rep + 1));
        reps.push(result);
    }
    Ok(summarize(ctx, reps))
}

fn one_run(ctx: &mut Ctx) -> BenchResult<Value> {
    let s = ctx.settings.clone();
    ctx.emulator.reset()?;
    pg::create_accounts_table(&mut ctx.db, TABLE)?;
    let url = ctx.emulator.base().to_string();
    let sync = pg::create_sync(&mut ctx.db, SYNC, TABLE, &url, pg::Flow::Push)?;
    pg::warm_up(&mut ctx.db, &sync, TABLE)?;
    pg::set_paused(&mut ctx.db, &sync, true)?;
    pg::insert_accounts(&mut ctx.db, TABLE, 1, s.memory_rows, 10_000)?;
    let backlog = pg::backlog(&mut ctx.db, &sync)?;
    ctx.db.batch_execute("CHECKPOINT")?;

    let pid = pg::worker_pid(&mut ctx.db)?;
    let hwm_reset = procfs::reset_peak(pid);
    let at_resume = procfs::memory(pid)?;
    let before = ctx.emulator.counters()?;
    let started = Instant::now();
    pg::set_paused(&mut ctx.db, &sync, false)?;
    let mut peak: Memory = at_resume;
    let drained = loop {
        peak = peak.max(procfs::memory(pid)?);
        if pg::backlog(&mut ctx.db, &sync)? == 0 {
            break true;
        }
        if started.elapsed() > s.drain_deadline {
            break false;
        }
        std::thread::sleep(SAMPLE_EVERY);
    };
    let seconds = started.elapsed().as_secs_f64();
    let end = procfs::memory(pid)?;
    let used = ctx.emulator.counters()?.since(&before);
    pg::drop_sync_if_exists(&mut ctx.db, SYNC)?;
    ctx.db.batch_execute(&format!("DROP TABLE {TABLE}"))?;
    if !drained {
        return Err(format!(
            "the worker did not drain {backlog} rows within {:?}",
            s.drain_deadline
        )
        .into());
    }
    Ok(json!({
        "backlog": backlog,
        "worker_pid": pid,
        "hwm_reset_before_resume": hwm_reset,
        "vm_hwm_mib": mib(peak.hwm.max(end.hwm)),
        "peak_rss_anon_mib": mib(peak.anon),
        "peak_rss_shmem_mib": mib(peak.shmem),
        "rss_at_resume_mib": mib(at_resume.rss),
        "rss_anon_at_resume_mib": mib(at_resume.anon),
        "drain_seconds": round(seconds, 3),
        "records_per_second": round(backlog as f64 / seconds, 0),
        "api_calls": used.api_used,
        "records_per_call": round(backlog as f64 / used.api_used.max(1) as f64, 1),
        "records_created": used.records_created,
    }))
}

fn summarize(ctx: &Ctx, reps: Vec<Value>) -> ScenarioReport {
    let med = |key: &str| super::median_of(&reps, key);
    let mb = |v: Option<f64>| v.map_or("n/a".into(), |v| format!("{v:.1} MiB"));
    let rows_label = ctx.settings.memory_rows;
    let rows = vec![
        Row::new(
            "5 memory",
            format!("worker peak RSS (VmHWM) draining {rows_label} rows"),
            " MiB",
        )
        .value(med("vm_hwm_mib"))
        .target(Target::AtMost(100.0))
        .detail(format!(
            "private (RssAnon) peak {}, shared buffers touched (RssShmem) peak {}",
            mb(med("peak_rss_anon_mib")),
            mb(med("peak_rss_shmem_mib"))
        )),
        Row::new("5 memory", "worker peak private memory (RssAnon)", " MiB")
            .value(med("peak_rss_anon_mib"))
            .detail(format!("at resume {}", mb(med("rss_anon_at_resume_mib")))),
        Row::new("5 memory", "records per API call (pure backlog)", "")
            .value(med("records_per_call"))
            .target(Target::AtLeast(195.0))
            .detail(format!(
                "{} API calls; drained at {} records/s",
                med("api_calls").map_or("n/a".into(), |v| format!("{v:.0}")),
                med("records_per_second").map_or("n/a".into(), |v| format!("{v:.0}"))
            )),
    ];
    ScenarioReport {
        name: "memory",
        rows,
        data: json!({
            "method": "backlog inserted 10,000 rows per commit with the sync paused; VmHWM reset \
                       through /proc/<pid>/clear_refs, then the sync resumed and /proc/<pid>/status \
                       sampled every 100 ms until the outbox was empty",
            "summary": {
                "vm_hwm_mib": num(med("vm_hwm_mib"), 1),
                "peak_rss_anon_mib": num(med("peak_rss_anon_mib"), 1),
                "records_per_call": num(med("records_per_call"), 1),
                "records_per_second": num(med("records_per_second"), 0),
            },
            "reps": reps,
        }),
    }
}
