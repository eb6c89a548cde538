//! The PostgreSQL side of every scenario: tables shaped like the brief's `accounts`, syncs
//! made through hubsync's own SQL API (`create_sync`, `set_credentials`, `pause_sync`), and
//! waiting for the worker to drain an outbox.

use crate::settings::PgTarget;
use crate::stats::round;
use crate::wait::poll_until;
use crate::BenchResult;
use postgres::{Client, NoTls};
use serde_json::{json, Value};
use std::io::Write;
use std::time::{Duration, Instant};

/// The product brief's sync config, the one `make demo` runs.
const BRIEF_CONFIG: &str = include_str!("../../core/tests/fixtures/bases/accounts_full.json");

/// The emulator's demo connected app (see emulator/README.md).
const EMULATOR_SECRET: &str =
    r#"{"client_id": "hubsync-demo-client", "client_secret": "hubsync-demo-secret"}"#;

/// Opens a connection to the benchmark database.
pub fn connect(target: &PgTarget) -> BenchResult<Client> {
    Ok(Client::connect(&target.conninfo(), NoTls)?)
}

/// The brief's `accounts` table and index, the fixture the tests use too.
const ACCOUNTS_SQL: &str = include_str!("../../core/tests/fixtures/tables/accounts.sql");

/// (Re)creates `name` as the brief's `accounts` table, verbatim but for its name.
pub fn create_accounts_table(db: &mut Client, name: &str) -> BenchResult<()> {
    db.batch_execute(&format!(
        "DROP TABLE IF EXISTS {name} CASCADE; {}",
        ACCOUNTS_SQL.replace("accounts", name)
    ))?;
    Ok(())
}

/// Commits `rows` new accounts into `table`, `per_commit` rows a transaction, numbering
/// them from `first`. Returns when the last transaction has committed.
pub fn insert_accounts(
    db: &mut Client,
    table: &str,
    first: usize,
    rows: usize,
    per_commit: usize,
) -> BenchResult<()> {
    let sql = format!(
        "INSERT INTO {table} (account_name, industry_type, annual_revenue, last_modified) \
         SELECT 'Bench ' || g, (ARRAY['Technology','Energy','Banking','Retail'])[1 + g % 4], \
                (g % 100000) * 10.5, now() \
         FROM generate_series($1::int8, $2::int8) g"
    );
    insert_batches(db, &sql, first, rows, per_commit)
}

/// Runs `sql` (an `INSERT … SELECT … FROM generate_series($1::int8, $2::int8) g`) over
/// row numbers `first..first + rows`, `per_commit` numbers a transaction: how every push
/// backlog is committed, whatever the table.
pub fn insert_batches(
    db: &mut Client,
    sql: &str,
    first: usize,
    rows: usize,
    per_commit: usize,
) -> BenchResult<()> {
    let mut start = first;
    let end = first + rows;
    while start < end {
        let stop = (start + per_commit).min(end);
        db.execute(sql, &[&(start as i64), &(stop as i64 - 1)])?;
        start = stop;
    }
    Ok(())
}

/// Which way a benchmark sync runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Postgres → Salesforce only, so pulls never mix into a push measurement.
    Push,
    /// Salesforce → Postgres only, with an initial full load.
    Pull,
}

impl Flow {
    /// The `sync_settings` keys that make a sync run this way, for any system.
    pub fn sync_settings(self) -> Value {
        match self {
            Flow::Push => json!({
                "sync_type": "one_way", "source_to_target": false, "target_to_source": true
            }),
            Flow::Pull => json!({
                "sync_type": "one_way", "source_to_target": true, "target_to_source": false,
                "initial_sync": {"strategy": "full_load"}
            }),
        }
    }
}

/// A sync the benchmark created.
#[derive(Debug, Clone)]
pub struct Sync {
    pub name: String,
    pub id: i32,
}

/// The brief's config for `table`, pointed at the emulator, named `name`.
pub fn brief_config(name: &str, table: &str, emulator_url: &str, flow: Flow) -> BenchResult<Value> {
    let mut config: Value = serde_json::from_str(BRIEF_CONFIG)?;
    config["connection_name"] = json!(name);
    config["source"]["credentials"]["instance_url"] = json!(emulator_url);
    config["target"]["table"] = json!(table);
    let settings = config["sync_settings"]
        .as_object_mut()
        .ok_or("the brief's config has no sync_settings object")?;
    if let Value::Object(overrides) = flow.sync_settings() {
        settings.extend(overrides);
    }
    if flow == Flow::Push {
        // Salesforce computes LastModifiedDate; a push-only sync cannot map it (hubsync
        // rightly refuses the mapping), so the push syncs carry the brief's other four.
        if let Some(Value::Array(mappings)) = config.get_mut("field_mappings") {
            mappings.retain(|m| m["source"] != json!("LastModifiedDate"));
        }
    }
    Ok(config)
}

/// Creates a sync through `hubsync.create_sync` and stores the emulator's credentials.
pub fn create_sync(
    db: &mut Client,
    name: &str,
    table: &str,
    emulator_url: &str,
    flow: Flow,
) -> BenchResult<Sync> {
    let config = brief_config(name, table, emulator_url, flow)?;
    create_sync_with(db, &config, &emulator_secret()?)
}

/// The emulator's demo credentials, as `set_credentials` takes them.
pub fn emulator_secret() -> BenchResult<Value> {
    Ok(serde_json::from_str(EMULATOR_SECRET)?)
}

/// Creates the sync `config` names (replacing one of that name) and stores `secret` as
/// its credentials: the one path every benchmark sync, whatever its system, is made by.
pub fn create_sync_with(db: &mut Client, config: &Value, secret: &Value) -> BenchResult<Sync> {
    let name = config["connection_name"]
        .as_str()
        .ok_or("a sync config without connection_name")?;
    drop_sync_if_exists(db, name)?;
    db.execute("SELECT hubsync.create_sync($1::jsonb)", &[config])?;
    let row = db.query_one(
        "SELECT id, connection FROM hubsync.sync WHERE name = $1",
        &[&name],
    )?;
    let connection: String = row.get(1);
    db.execute(
        "SELECT hubsync.set_credentials($1, $2::jsonb)",
        &[&connection, secret],
    )?;
    Ok(Sync {
        name: name.to_string(),
        id: row.get(0),
    })
}

/// Removes a sync (its triggers and pending changes) if it exists.
pub fn drop_sync_if_exists(db: &mut Client, name: &str) -> BenchResult<()> {
    if db
        .query_opt("SELECT 1 FROM hubsync.sync WHERE name = $1", &[&name])?
        .is_some()
    {
        db.execute("SELECT hubsync.drop_sync($1)", &[&name])?;
    }
    Ok(())
}

/// How often hubsync's worker re-reads its syncs (`REFRESH_EVERY` in src/worker/engine.rs):
/// a pause takes effect within this, and the worker claims nothing new after it.
const WORKER_REFRESH: Duration = Duration::from_millis(250);

/// Pauses (`true`) or resumes a sync. A pause returns once the worker has seen it, so rows
/// committed afterwards stay in the outbox.
pub fn set_paused(db: &mut Client, sync: &Sync, paused: bool) -> BenchResult<()> {
    let function = if paused { "pause_sync" } else { "resume_sync" };
    db.execute(&format!("SELECT hubsync.{function}($1)"), &[&sync.name])?;
    if paused {
        // hubsync exposes no "worker saw the pause" signal; four refresh periods cover it.
        std::thread::sleep(WORKER_REFRESH * 4);
    }
    Ok(())
}

/// Rows of this sync still in the outbox.
pub fn backlog(db: &mut Client, sync: &Sync) -> BenchResult<i64> {
    Ok(db
        .query_one(
            "SELECT count(*) FROM hubsync.outbox WHERE sync_id = $1",
            &[&sync.id],
        )?
        .get(0))
}

/// Waits until the sync's outbox is empty; `false` if `deadline` passed first.
pub fn wait_drained(db: &mut Client, sync: &Sync, deadline: Duration) -> BenchResult<bool> {
    poll_until(deadline, Duration::from_millis(20), || {
        Ok(db
            .query_one(
                "SELECT NOT EXISTS (SELECT 1 FROM hubsync.outbox WHERE sync_id = $1)",
                &[&sync.id],
            )?
            .get(0))
    })
}

/// How long a fresh sync may take to push its first row (describe, token, one call).
const WARM_UP_DEADLINE: Duration = Duration::from_secs(60);

/// Pushes one row through a fresh sync and waits for it, so the measured part starts with
/// the remote object described, a token cached and the HTTP threads running. Gives up at
/// once when hubsync reports the sync cannot run ("not configured" is not such a report:
/// the worker may see the sync before `set_credentials` and show it for a moment).
pub fn warm_up(db: &mut Client, sync: &Sync, table: &str) -> BenchResult<()> {
    warm_up_with(db, sync, table, "account_name")
}

/// [`warm_up`] for any table: the warm-up row sets only `name_column` (`'warm-up'`).
pub fn warm_up_with(
    db: &mut Client,
    sync: &Sync,
    table: &str,
    name_column: &str,
) -> BenchResult<()> {
    db.execute(
        &format!("INSERT INTO {table} ({name_column}) VALUES ('warm-up')"),
        &[],
    )?;
    let mut problem: Option<String> = None;
    let drained = poll_until(WARM_UP_DEADLINE, Duration::from_millis(20), || {
        let row = db.query_one(
            "SELECT NOT EXISTS (SELECT 1 FROM hubsync.outbox WHERE sync_id = $1), \
                    (SELECT format('%s: %s', connection_state, problem) FROM hubsync.sync_stats \
                     WHERE sync_id = $1 AND connection_state IN ('invalid', 'unauthorized'))",
            &[&sync.id],
        )?;
        problem = row.get(1);
        Ok(row.get::<_, bool>(0) || problem.is_some())
    })?;
    match (drained, problem) {
        (_, Some(problem)) => Err(format!("sync {} cannot run: {problem}", sync.name).into()),
        (true, None) => Ok(()),
        (false, None) => Err(format!(
            "sync {} did not push its warm-up row within {WARM_UP_DEADLINE:?}; see SELECT * FROM hubsync.status",
            sync.name
        )
        .into()),
    }
}

/// Waits until `table` holds `target` rows, as a sync's initial load fills it. Answers
/// `{"available": true, rows, seconds, rows_per_second, first_row_seconds}` timed from
/// `started` (the first row's time tells the sync's start-up from its throughput), or
/// `{"available": false, rows, reason}` with hubsync's status when `deadline` passes or the
/// count stops moving for `stall`: a pull that cannot finish is a finding, not a crash.
pub fn wait_loaded(
    db: &mut Client,
    sync_name: &str,
    table: &str,
    target: i64,
    started: Instant,
    wait: LoadWait,
) -> BenchResult<Value> {
    let LoadWait {
        deadline,
        stall,
        every,
    } = wait;
    let (mut last, mut moved) = (0i64, Instant::now());
    let mut first_row: Option<f64> = None;
    loop {
        let count: i64 = db
            .query_one(&format!("SELECT count(*) FROM {table}"), &[])?
            .get(0);
        if count > 0 && first_row.is_none() {
            first_row = Some(round(started.elapsed().as_secs_f64(), 3));
        }
        if count >= target {
            let seconds = started.elapsed().as_secs_f64();
            return Ok(json!({
                "available": true, "rows": count, "seconds": round(seconds, 3),
                "rows_per_second": round(count as f64 / seconds, 0),
                "first_row_seconds": first_row,
            }));
        }
        if count != last {
            (last, moved) = (count, Instant::now());
        }
        let waited = started.elapsed();
        if waited >= deadline || moved.elapsed() >= stall {
            let status: Option<String> = db
                .query_opt(
                    "SELECT format('connection %s, pulled %s, problem %s', connection_state, pulled, \
                            coalesce(problem, last_error, 'none')) FROM hubsync.status WHERE name = $1",
                    &[&sync_name],
                )?
                .map(|r| r.get(0));
            return Ok(json!({
                "available": false,
                "rows": count,
                "reason": format!(
                    "{count} of {target} rows pulled after {:.0} s (the count last moved {:.0} s before); \
                     hubsync.status: {}",
                    waited.as_secs_f64(),
                    moved.elapsed().as_secs_f64(),
                    status.unwrap_or_else(|| "no row".into())
                ),
            }));
        }
        std::thread::sleep(every);
    }
}

/// How [`wait_loaded`] waits: at most `deadline`, giving up when the count has not moved
/// for `stall`, counting the table's rows every `every` (a count is a scan: small tables can
/// be counted often, large ones should not take CPU from the load they time).
#[derive(Debug, Clone, Copy)]
pub struct LoadWait {
    /// The longest the load may take.
    pub deadline: Duration,
    /// Give up sooner when the count has not moved for this long.
    pub stall: Duration,
    /// How often the rows are counted.
    pub every: Duration,
}

/// `COPY … FROM STDIN` of `text` (tab-separated lines), timed: the pull baselines.
pub fn copy_timed(db: &mut Client, copy_sql: &str, text: &str) -> BenchResult<Value> {
    let started = Instant::now();
    let mut writer = db.copy_in(copy_sql)?;
    writer.write_all(text.as_bytes())?;
    let rows = writer.finish()?;
    let seconds = started.elapsed().as_secs_f64();
    Ok(json!({
        "rows": rows, "seconds": round(seconds, 3),
        "rows_per_second": round(rows as f64 / seconds, 0),
    }))
}

/// hubsync's own commit→acknowledged latency metric for a sync: (count, mean ms, max ms).
pub fn own_latency(db: &mut Client, sync: &Sync) -> BenchResult<(i64, f64, f64)> {
    let row = db.query_one(
        "SELECT coalesce(sum(latency_count), 0)::int8, \
                coalesce(sum(latency_ms_sum) / nullif(sum(latency_count), 0), 0)::float8, \
                coalesce(max(latency_ms_max), 0)::float8 \
         FROM hubsync.metric WHERE sync_id = $1",
        &[&sync.id],
    )?;
    Ok((row.get(0), row.get(1), row.get(2)))
}

/// The PID of the `hubsync worker` process serving the most syncs of the connected database
/// (the scenario's sync), once it runs.
pub fn worker_pid(db: &mut Client) -> BenchResult<i32> {
    let pid: Option<i32> = db
        .query_one(
            "SELECT (SELECT pid FROM hubsync.worker \
             WHERE database = current_database() AND pid IS NOT NULL \
             ORDER BY cardinality(syncs) DESC NULLS LAST, pool_index LIMIT 1)",
            &[],
        )?
        .get(0);
    pid.ok_or_else(|| "the hubsync worker is not running; see SELECT * FROM hubsync.worker".into())
}
