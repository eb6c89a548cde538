//! `hubsync-bench`: hubsync against its peers and the limits, side by side. Run through
//! `bench/run.sh` (which starts the private cluster and the emulator and sets the
//! environment); see bench/README.md.

mod emulator;
mod pg;
mod procfs;
mod report;
mod scenarios;
mod settings;
mod spokes;
mod stats;
mod wait;

use report::{Row, RunReport, ScenarioReport};
use scenarios::Ctx;
use serde_json::{json, Value};
use settings::Settings;

/// Any failure, with a message that says what went wrong.
pub type BenchResult<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

fn main() {
    if let Err(e) = run() {
        eprintln!("hubsync-bench: {e}");
        std::process::exit(1);
    }
}

fn run() -> BenchResult<()> {
    let settings = Settings::from_env()?;
    let now = time::OffsetDateTime::now_utc();
    let date = now.format(&time::macros::format_description!("[year]-[month]-[day]"))?;
    let started_at = now.format(&time::format_description::well_known::Rfc3339)?;
    let load_start = load_average();
    let mut ctx = Ctx {
        db: pg::connect(&settings.pg)?,
        emulator: emulator::Emulator::new(&settings.emulator_url),
        settings: settings.clone(),
    };
    let postgres: String = ctx.db.query_one("SELECT version()", &[])?.get(0);
    let mut reports = Vec::new();
    for name in &settings.scenarios {
        ctx.say(format!("scenario {name}"));
        let outcome = match name.as_str() {
            "capture" => scenarios::capture::run(&mut ctx),
            "push" => scenarios::push::run(&mut ctx),
            "latency" => scenarios::latency::run(&mut ctx),
            "pull" => scenarios::pull::run(&mut ctx),
            "spokes" => scenarios::spokes::run(&mut ctx),
            "isolation" => scenarios::isolation::run(&mut ctx),
            "cdc" => scenarios::cdc::run(&mut ctx),
            _ => scenarios::memory::run(&mut ctx),
        };
        reports.push(outcome.unwrap_or_else(|e| failed(name, &error_chain(e.as_ref()))));
    }
    let mut machine = machine();
    machine["load_start"] = json!(load_start);
    machine["load_end"] = json!(load_average());
    let report = RunReport {
        date,
        started_at,
        machine,
        postgres,
        command: settings.command.clone(),
        settings: settings_json(&settings),
        scenarios: reports,
    };
    let (json_path, md_path) = report.write(&settings.out_dir)?;
    println!("{}", report.markdown());
    eprintln!(
        "[bench] wrote {} and {}",
        json_path.display(),
        md_path.display()
    );
    Ok(())
}

/// The error with every cause behind it: a database error's top level says only "db error".
fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// A scenario that could not run still gets a row saying why.
fn failed(name: &str, error: &str) -> ScenarioReport {
    eprintln!("[bench] scenario {name} failed: {error}");
    let label: &'static str = match name {
        "capture" => "1 capture",
        "push" => "2 push",
        "latency" => "3 latency",
        "pull" => "4 pull",
        "spokes" => "6 spokes",
        "isolation" => "7 isolation",
        _ => "5 memory",
    };
    ScenarioReport {
        name: settings::ALL_SCENARIOS
            .into_iter()
            .find(|s| *s == name)
            .unwrap_or("unknown"),
        rows: vec![Row::new(label, "scenario failed", "").detail(error.to_string())],
        data: json!({"error": error}),
    }
}

fn machine() -> Value {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|l| l.trim_start_matches([' ', '\t', ':']).to_string());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let memory_kib: Option<u64> = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok());
    json!({
        "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        "cpu": cpu,
        "memory_mib": memory_kib.map(|k| k / 1024),
    })
}

/// The 1, 5 and 15 minute load averages: how busy the shared machine was.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn settings_json(s: &Settings) -> Value {
    json!({
        "quick": s.quick,
        "reps": s.reps,
        "scenarios": s.scenarios,
        "capture": {"clients": s.capture.clients, "threads": s.capture.threads,
                    "seconds": s.capture.duration.as_secs(), "table_rows": s.capture.table_rows},
        "push_rows": s.push_rows,
        "push_commit_rows": s.push_commit_rows,
        "naive_sample": s.naive_sample,
        "latency_rate": s.latency_rate,
        "latency_seconds": s.latency_duration.as_secs(),
        "pull_rows": s.pull_rows,
        "pull_deadline_seconds": s.pull_deadline.as_secs(),
        "memory_rows": s.memory_rows,
        "spoke_rows": s.spoke_rows,
    })
}
