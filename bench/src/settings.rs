//! What a run measures and against what, all from environment variables so `bench/run.sh`
//! (and a person in a hurry, with `BENCH_QUICK=1`) can shape it without editing code.

use std::path::PathBuf;
use std::time::Duration;

/// Everything a run needs to know, read once at start.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Smaller rows and shorter runs, for developing the harness.
    pub quick: bool,
    /// Times each scenario is repeated (ratios are taken per repetition, then the median).
    pub reps: usize,
    /// Scenarios to run, in order.
    pub scenarios: Vec<String>,
    pub pg: PgTarget,
    /// Directory of the PostgreSQL programs (`pgbench`), from `HUBSYNC_PG_CONFIG --bindir`.
    pub pg_bin: PathBuf,
    pub emulator_url: String,
    /// The Zendesk emulator (`BENCH_ZENDESK_URL`), needed by the spokes scenario only.
    pub zendesk_url: Option<String>,
    /// The NetSuite emulator (`BENCH_NETSUITE_URL`), needed by the spokes scenario only.
    pub netsuite_url: Option<String>,
    /// The emulator's load generator binary (the ceiling baseline).
    pub loadgen: PathBuf,
    /// Where `<date>.json` and `<date>.md` go.
    pub out_dir: PathBuf,
    /// The command that produced the run, printed in the results.
    pub command: String,
    pub capture: CaptureSettings,
    pub push_rows: usize,
    /// Rows per committed transaction when loading the push backlog.
    pub push_commit_rows: usize,
    /// Records the naive one-call-per-record client sends (extrapolated to records/s).
    pub naive_sample: usize,
    pub latency_rate: u32,
    pub latency_duration: Duration,
    pub pull_rows: usize,
    /// Rows of the full load scenario 7 runs beside a pushing sync.
    pub isolation_rows: usize,
    /// How long the pull may take before it is reported "not available".
    pub pull_deadline: Duration,
    /// Stop waiting earlier when the local row count has not moved for this long.
    pub pull_stall: Duration,
    pub memory_rows: usize,
    /// Records pushed to, and pulled from, each of Zendesk and NetSuite (spokes scenario).
    pub spoke_rows: usize,
    /// Remote changes timed with Change Data Capture, and with polling (each waits up to
    /// a polling interval, so fewer).
    pub cdc_changes: usize,
    pub cdc_polling_changes: usize,
    /// Upper bound on any wait for the worker to drain (a broken sync must not hang the run).
    pub drain_deadline: Duration,
}

/// The pgbench part of the capture scenario.
#[derive(Debug, Clone)]
pub struct CaptureSettings {
    pub clients: u32,
    pub threads: u32,
    pub duration: Duration,
    /// Rows pre-loaded in each table, the key range single-row UPDATEs pick from.
    pub table_rows: usize,
}

/// The private cluster the benchmark talks to.
#[derive(Debug, Clone)]
pub struct PgTarget {
    pub host: String,
    pub port: u16,
    pub database: String,
    pub user: String,
}

impl PgTarget {
    /// libpq-style connection string, for the `postgres` crate.
    pub fn conninfo(&self) -> String {
        format!(
            "host={} port={} user={} dbname={} application_name=hubsync-bench",
            self.host, self.port, self.user, self.database
        )
    }
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn required(name: &str) -> Result<String, String> {
    var(name).ok_or_else(|| format!("{name} is not set; run the benchmark through bench/run.sh"))
}

/// A number from the environment, or the full/quick default.
fn number(name: &str, quick: bool, full: u64, fast: u64) -> Result<u64, String> {
    match var(name) {
        Some(v) => v
            .parse()
            .map_err(|_| format!("{name} must be a whole number, not {v:?}")),
        None => Ok(if quick { fast } else { full }),
    }
}

fn seconds(name: &str, quick: bool, full: u64, fast: u64) -> Result<Duration, String> {
    number(name, quick, full, fast).map(Duration::from_secs)
}

/// The scenarios `BENCH_SCENARIOS` may name.
pub const ALL_SCENARIOS: [&str; 8] = [
    "capture",
    "push",
    "latency",
    "pull",
    "memory",
    "spokes",
    "isolation",
    "cdc",
];

impl Settings {
    /// Reads the environment; the error names the variable to fix.
    pub fn from_env() -> Result<Settings, String> {
        let quick = var("BENCH_QUICK").is_some_and(|v| v != "0");
        let scenarios: Vec<String> = match var("BENCH_SCENARIOS") {
            Some(list) => list.split(',').map(|s| s.trim().to_string()).collect(),
            None => ALL_SCENARIOS.iter().map(|s| s.to_string()).collect(),
        };
        if let Some(bad) = scenarios
            .iter()
            .find(|s| !ALL_SCENARIOS.contains(&s.as_str()))
        {
            return Err(format!(
                "BENCH_SCENARIOS names {bad:?}; choose among {}",
                ALL_SCENARIOS.join(", ")
            ));
        }
        Ok(Settings {
            quick,
            reps: number("BENCH_REPS", quick, 3, 1)?.max(1) as usize,
            scenarios,
            pg: PgTarget {
                host: var("BENCH_PG_HOST").unwrap_or_else(|| "127.0.0.1".into()),
                port: required("BENCH_PG_PORT")?
                    .parse()
                    .map_err(|_| "BENCH_PG_PORT must be a port number".to_string())?,
                database: var("BENCH_PG_DATABASE").unwrap_or_else(|| "bench".into()),
                user: var("BENCH_PG_USER").unwrap_or_else(|| "postgres".into()),
            },
            pg_bin: PathBuf::from(required("BENCH_PG_BIN")?),
            emulator_url: required("BENCH_EMULATOR_URL")?
                .trim_end_matches('/')
                .to_string(),
            zendesk_url: var("BENCH_ZENDESK_URL").map(|u| u.trim_end_matches('/').to_string()),
            netsuite_url: var("BENCH_NETSUITE_URL").map(|u| u.trim_end_matches('/').to_string()),
            loadgen: PathBuf::from(required("BENCH_LOADGEN")?),
            out_dir: PathBuf::from(var("BENCH_OUT").unwrap_or_else(|| "bench/results".into())),
            command: var("BENCH_COMMAND").unwrap_or_else(|| "make bench".into()),
            capture: CaptureSettings {
                clients: number("BENCH_CAPTURE_CLIENTS", quick, 4, 4)? as u32,
                threads: 2,
                duration: seconds("BENCH_CAPTURE_SECONDS", quick, 15, 4)?,
                table_rows: 10_000,
            },
            push_rows: number("BENCH_PUSH_ROWS", quick, 100_000, 10_000)? as usize,
            push_commit_rows: 1_000,
            naive_sample: number("BENCH_NAIVE_SAMPLE", quick, 1_000, 200)? as usize,
            latency_rate: number("BENCH_LATENCY_RATE", quick, 50, 50)? as u32,
            latency_duration: seconds("BENCH_LATENCY_SECONDS", quick, 60, 10)?,
            pull_rows: number("BENCH_PULL_ROWS", quick, 100_000, 10_000)? as usize,
            isolation_rows: number("BENCH_ISOLATION_ROWS", quick, 200_000, 200_000)? as usize,
            pull_deadline: seconds("BENCH_PULL_DEADLINE", quick, 180, 30)?,
            pull_stall: seconds("BENCH_PULL_STALL", quick, 30, 15)?,
            memory_rows: number("BENCH_MEMORY_ROWS", quick, 1_000_000, 100_000)? as usize,
            spoke_rows: number("BENCH_SPOKE_ROWS", quick, 20_000, 2_000)? as usize,
            cdc_changes: number("BENCH_CDC_CHANGES", quick, 200, 50)? as usize,
            cdc_polling_changes: number("BENCH_CDC_POLLING_CHANGES", quick, 10, 4)? as usize,
            drain_deadline: seconds("BENCH_DRAIN_DEADLINE", quick, 900, 300)?,
        })
    }
}
