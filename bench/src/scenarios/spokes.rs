//! Scenario 6, the Zendesk and NetSuite spokes (issues 12 and 13): for Zendesk
//! Organizations and NetSuite customers, push and pull throughput against baselines of
//! the same run, and records per request.
//!
//! - push: `spoke_rows` rows committed 1,000 per transaction into a table with a one-way
//!   Postgres → system sync → time until the outbox is empty. Baseline: the emulator's own
//!   ceiling for the same records from as many plain clients as hubsync has HTTP threads,
//!   no Postgres (Zendesk: `create_many` jobs of 100, each polled to completion; NetSuite:
//!   one `POST` per record, NetSuite having no bulk create).
//! - pull: `spoke_rows` records loaded into the emulator (admin `load`) → a one-way
//!   system → Postgres sync with a full load → time until the table holds them all.
//!   Baseline: `COPY` of the same rows into the same table.
//!
//! Records per request come from the emulator's own counters (every request under the
//! system's API, job polls and queries included), so they do not depend on machine speed.

use super::push::PARALLELISM;
use super::{in_parallel, median_of, median_ratio, num, Ctx};
use crate::emulator::Emulator;
use crate::pg::{self, Flow};
use crate::report::{Row, ScenarioReport, Target};
use crate::spokes::{self, NetSuiteClient, Requests, ZendeskClient, ZENDESK_JOB};
use crate::stats::round;
use crate::BenchResult;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// The two spokes, each described as data where it can be.
#[derive(Debug, Clone, Copy)]
enum System {
    Zendesk,
    NetSuite,
}

impl System {
    /// How the report names the system and the object synced.
    fn label(self) -> &'static str {
        match self {
            System::Zendesk => "Zendesk Organizations",
            System::NetSuite => "NetSuite customers",
        }
    }

    /// Short name: table, sync and JSON key prefix.
    fn key(self) -> &'static str {
        match self {
            System::Zendesk => "zendesk",
            System::NetSuite => "netsuite",
        }
    }

    fn url(self, ctx: &Ctx) -> BenchResult<String> {
        let (url, var) = match self {
            System::Zendesk => (&ctx.settings.zendesk_url, "BENCH_ZENDESK_URL"),
            System::NetSuite => (&ctx.settings.netsuite_url, "BENCH_NETSUITE_URL"),
        };
        url.clone().ok_or_else(|| {
            format!("{var} is not set; run the benchmark through bench/run.sh").into()
        })
    }

    /// The remote id column, the name column (set by the warm-up row) and the table.
    fn table_sql(self, table: &str) -> String {
        match self {
            System::Zendesk => format!(
                "CREATE TABLE {table} (id serial PRIMARY KEY, zd_id text UNIQUE, \
                 name text NOT NULL, notes text)"
            ),
            System::NetSuite => format!(
                "CREATE TABLE {table} (id serial PRIMARY KEY, ns_id text UNIQUE, \
                 company text, email text, subsidiary text DEFAULT '1')"
            ),
        }
    }

    fn id_column(self) -> &'static str {
        match self {
            System::Zendesk => "zd_id",
            System::NetSuite => "ns_id",
        }
    }

    fn name_column(self) -> &'static str {
        match self {
            System::Zendesk => "name",
            System::NetSuite => "company",
        }
    }

    /// The rows [`spokes::organization`] / [`spokes::customer`] describe, for row numbers
    /// `$1..=$2`.
    fn insert_sql(self, table: &str) -> String {
        let select = match self {
            System::Zendesk => {
                format!(
                    "{table} (name, notes) SELECT 'Bench ' || g, 'benchmark organization ' || g"
                )
            }
            System::NetSuite => {
                format!(
                    "{table} (company, email) SELECT 'Bench ' || g, 'bench' || g || '@example.com'"
                )
            }
        };
        format!("INSERT INTO {select} FROM generate_series($1::int8, $2::int8) g")
    }

    /// A sync of `table` with the emulator at `url`, running `flow`, with hubsync's HTTP
    /// threads set to the baselines' parallelism.
    fn config(self, name: &str, table: &str, url: &str, flow: Flow) -> Value {
        let (source, mappings) = match self {
            System::Zendesk => (
                json!({"type": "zendesk", "object": "Organization", "credentials": {"url": url}}),
                json!([{"source": "id", "target": "zd_id"}, {"source": "name", "target": "name"},
                       {"source": "notes", "target": "notes"}]),
            ),
            System::NetSuite => (
                json!({"type": "netsuite", "object": "Customer",
                       "credentials": {"account_id": spokes::NETSUITE_ACCOUNT, "instance_url": url}}),
                json!([{"source": "id", "target": "ns_id"},
                       {"source": "companyName", "target": "company"},
                       {"source": "email", "target": "email"},
                       {"source": "subsidiary", "target": "subsidiary"}]),
            ),
        };
        json!({
            "connection_name": name,
            "source": source,
            "target": {"type": "postgres", "table": table},
            "field_mappings": mappings,
            "sync_settings": flow.sync_settings(),
            "performance_settings": {"parallelism": PARALLELISM},
        })
    }

    fn secret(self) -> Value {
        match self {
            System::Zendesk => spokes::zendesk_secret(),
            System::NetSuite => spokes::netsuite_secret(),
        }
    }

    /// The emulator's counter classes of requests that write records.
    fn write_classes(self) -> &'static [&'static str] {
        match self {
            System::Zendesk => &["write", "bulk"],
            System::NetSuite => &["record"],
        }
    }

    /// Records per request of the ceiling client: a job, or one record.
    fn batch(self) -> usize {
        match self {
            System::Zendesk => ZENDESK_JOB,
            System::NetSuite => 1,
        }
    }

    /// Record `i` in the emulator's own shape, and the admin `load` key it goes under.
    fn record(self, i: usize) -> Value {
        match self {
            System::Zendesk => spokes::organization(i),
            System::NetSuite => spokes::customer(i),
        }
    }

    fn load_key(self) -> &'static str {
        match self {
            System::Zendesk => "organizations",
            System::NetSuite => "customer",
        }
    }

    /// The `COPY` statement and line of the pull baseline: row `i`, remote id `id`, the
    /// values the pull writes.
    fn copy_sql(self, table: &str) -> String {
        match self {
            System::Zendesk => format!("COPY {table} (zd_id, name, notes) FROM STDIN"),
            System::NetSuite => {
                format!("COPY {table} (ns_id, company, email, subsidiary) FROM STDIN")
            }
        }
    }

    fn copy_line(self, i: usize, id: &str) -> String {
        let r = self.record(i);
        let text = |key: &str| r[key].as_str().unwrap_or_default().to_string();
        match self {
            System::Zendesk => format!("{id}\t{}\t{}\n", text("name"), text("notes")),
            System::NetSuite => {
                format!("{id}\t{}\t{}\t1\n", text("companyName"), text("email"))
            }
        }
    }
}

const SYSTEMS: [System; 2] = [System::Zendesk, System::NetSuite];

/// Measures both systems, `reps` times each (push, ceiling, pull, `COPY` per repetition,
/// so every ratio compares figures taken minutes apart at most), and reports three rows
/// per system.
pub fn run(ctx: &mut Ctx) -> BenchResult<ScenarioReport> {
    let mut reports = Vec::new();
    for system in SYSTEMS {
        let emulator = Emulator::new(&system.url(ctx)?);
        let mut reps = Vec::new();
        for rep in 0..ctx.settings.reps {
            let push = push(ctx, &emulator, system)?;
            let ceiling = ceiling(ctx, &emulator, system)?;
            let (pull, ids) = pull(ctx, &emulator, system)?;
            let copy = copy_baseline(ctx, system, &ids)?;
            let result = json!({"rep": rep + 1, "push": push, "ceiling": ceiling, "pull": pull, "copy": copy});
            ctx.say(format!("spokes {} rep {}: {result}", system.key(), rep + 1));
            reps.push(result);
            ctx.db
                .batch_execute(&format!("DROP TABLE IF EXISTS {}_pull", system.key()))?;
        }
        emulator.admin("POST", "reset", None)?;
        reports.push((system, reps));
    }
    Ok(summarize(ctx, reports))
}

fn requests(emulator: &Emulator, system: System) -> BenchResult<Requests> {
    spokes::requests(emulator, system.write_classes())
}

/// Commits `spoke_rows` rows into a table synced to the system and waits until the
/// outbox is empty.
fn push(ctx: &mut Ctx, emulator: &Emulator, system: System) -> BenchResult<Value> {
    let s = ctx.settings.clone();
    let (table, name) = (
        format!("{}_push", system.key()),
        format!("bench_{}_push", system.key()),
    );
    emulator.admin("POST", "reset", None)?;
    ctx.db.batch_execute(&format!(
        "DROP TABLE IF EXISTS {table} CASCADE; {}",
        system.table_sql(&table)
    ))?;
    let config = system.config(&name, &table, emulator.base(), Flow::Push);
    let sync = pg::create_sync_with(&mut ctx.db, &config, &system.secret())?;
    pg::warm_up_with(&mut ctx.db, &sync, &table, system.name_column())?;
    let before = requests(emulator, system)?;
    let started = Instant::now();
    pg::insert_batches(
        &mut ctx.db,
        &system.insert_sql(&table),
        1,
        s.spoke_rows,
        s.push_commit_rows,
    )?;
    let drained = pg::wait_drained(&mut ctx.db, &sync, s.drain_deadline)?;
    let seconds = started.elapsed().as_secs_f64();
    let used = requests(emulator, system)?.since(&before);
    let linked: i64 = ctx
        .db
        .query_one(
            &format!("SELECT count({}) FROM {table}", system.id_column()),
            &[],
        )?
        .get(0);
    pg::drop_sync_if_exists(&mut ctx.db, &name)?;
    ctx.db.batch_execute(&format!("DROP TABLE {table}"))?;
    if !drained || used.records_created < s.spoke_rows as u64 {
        return Err(format!(
            "hubsync pushed {} of {} records to {} within {:?} (outbox drained: {drained})",
            used.records_created,
            s.spoke_rows,
            system.label(),
            s.drain_deadline
        )
        .into());
    }
    Ok(json!({
        "records": s.spoke_rows,
        "seconds": round(seconds, 3),
        "records_per_second": round(s.spoke_rows as f64 / seconds, 0),
        "requests": used.all,
        "write_requests": used.writes,
        "records_per_request": round(s.spoke_rows as f64 / used.all.max(1) as f64, 2),
        "records_per_write_request": round(s.spoke_rows as f64 / used.writes.max(1) as f64, 2),
        "ids_written_back": linked - 1,
    }))
}

/// The same records written by `PARALLELISM` plain clients, no Postgres.
fn ceiling(ctx: &mut Ctx, emulator: &Emulator, system: System) -> BenchResult<Value> {
    let records = ctx.settings.spoke_rows;
    emulator.admin("POST", "reset", None)?;
    let before = requests(emulator, system)?;
    let started = Instant::now();
    match system {
        System::Zendesk => {
            let clients: Vec<_> = (0..PARALLELISM)
                .map(|_| ZendeskClient::new(emulator.base()))
                .collect();
            in_parallel(PARALLELISM, records, system.batch(), |client, range| {
                let batch: Vec<Value> = range.map(spokes::organization).collect();
                clients[client].create_many(&batch)
            })?
        }
        System::NetSuite => {
            let clients: Vec<_> = (0..PARALLELISM)
                .map(|_| NetSuiteClient::new(emulator.base()))
                .collect();
            in_parallel(PARALLELISM, records, system.batch(), |client, range| {
                range
                    .map(spokes::customer)
                    .try_for_each(|record| clients[client].create_customer(&record))
            })?
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let used = requests(emulator, system)?.since(&before);
    if used.records_created != records as u64 {
        return Err(format!(
            "the {} ceiling client created {} records, expected {records}",
            system.label(),
            used.records_created
        )
        .into());
    }
    Ok(json!({
        "records": records,
        "parallelism": PARALLELISM,
        "seconds": round(seconds, 3),
        "records_per_second": round(records as f64 / seconds, 0),
        "requests": used.all,
        "write_requests": used.writes,
    }))
}

/// Loads `spoke_rows` records into the emulator, creates a full-load sync into an empty
/// table and waits for them ("not available" instead of failing); also answers the
/// records' ids, for the `COPY` baseline.
fn pull(ctx: &mut Ctx, emulator: &Emulator, system: System) -> BenchResult<(Value, Vec<String>)> {
    let s = ctx.settings.clone();
    let (table, name) = (
        format!("{}_pull", system.key()),
        format!("bench_{}_pull", system.key()),
    );
    emulator.admin("POST", "reset", None)?;
    let records: Vec<Value> = (0..s.spoke_rows).map(|i| system.record(i)).collect();
    let loaded = emulator.admin("POST", "load", Some(&json!({ system.load_key(): records })))?;
    let ids: Vec<String> = loaded[system.load_key()]
        .as_array()
        .map(|ids| {
            ids.iter()
                .map(|id| id.as_str().map_or_else(|| id.to_string(), str::to_string))
                .collect()
        })
        .unwrap_or_default();
    if ids.len() != s.spoke_rows {
        return Err(format!(
            "the {} emulator loaded {} records",
            system.label(),
            ids.len()
        )
        .into());
    }
    ctx.db.batch_execute(&format!(
        "DROP TABLE IF EXISTS {table} CASCADE; {}",
        system.table_sql(&table)
    ))?;
    let before = requests(emulator, system)?;
    let started = Instant::now();
    let config = system.config(&name, &table, emulator.base(), Flow::Pull);
    if let Err(e) = pg::create_sync_with(&mut ctx.db, &config, &system.secret()) {
        let reason = format!("create_sync refused the sync: {e}");
        return Ok((json!({"available": false, "reason": reason}), ids));
    }
    let mut result = pg::wait_loaded(
        &mut ctx.db,
        &name,
        &table,
        s.spoke_rows as i64,
        started,
        pg::LoadWait {
            deadline: s.pull_deadline,
            stall: s.pull_stall,
            every: Duration::from_millis(20),
        },
    )?;
    let used = requests(emulator, system)?.since(&before);
    pg::drop_sync_if_exists(&mut ctx.db, &name)?;
    result["requests"] = json!(used.all);
    Ok((result, ids))
}

/// `COPY` of the rows the pull wrote (the loaded records with their ids) into the same,
/// emptied, table.
fn copy_baseline(ctx: &mut Ctx, system: System, ids: &[String]) -> BenchResult<Value> {
    let table = format!("{}_pull", system.key());
    ctx.db.batch_execute(&format!("TRUNCATE {table}"))?;
    let text: String = ids
        .iter()
        .enumerate()
        .map(|(i, id)| system.copy_line(i, id))
        .collect();
    pg::copy_timed(&mut ctx.db, &system.copy_sql(&table), &text)
}

fn summarize(ctx: &Ctx, systems: Vec<(System, Vec<Value>)>) -> ScenarioReport {
    let show = |v: Option<f64>| v.map_or("n/a".into(), |v| format!("{v:.0}"));
    let n = ctx.settings.spoke_rows;
    let mut rows = Vec::new();
    let mut data = serde_json::Map::new();
    for (system, reps) in &systems {
        let part = |name: &str| -> Vec<Value> { reps.iter().map(|r| r[name].clone()).collect() };
        let (push, ceiling, pull, copy) =
            (part("push"), part("ceiling"), part("pull"), part("copy"));
        let (h, c) = (
            median_of(&push, "records_per_second"),
            median_of(&ceiling, "records_per_second"),
        );
        let vs_ceiling = median_ratio(reps, "push", "ceiling", "records_per_second");
        let per_request = median_of(&push, "records_per_request");
        let per_write = median_of(&push, "records_per_write_request");
        let requests = median_of(&push, "requests");
        let ceiling_requests = median_of(&ceiling, "requests");
        let label = system.label();
        let how = match system {
            System::Zendesk => "create_many jobs of 100, each polled every 5 ms to completion",
            System::NetSuite => "one POST per record",
        };
        let (max_per_write, per_request_target) = match system {
            System::Zendesk => (ZENDESK_JOB as f64, 25.0),
            System::NetSuite => (1.0, 0.95),
        };
        rows.push(
            Row::new("6 spokes", format!("{label}: push records/s hubsync / emulator ceiling"), "×")
                .value(vs_ceiling)
                .target(Target::AtLeast(0.3))
                .detail(format!(
                    "provisional target; hubsync {} rec/s, ceiling {} rec/s ({PARALLELISM} clients, {how}, no Postgres); {n} records",
                    show(h),
                    show(c)
                )),
        );
        rows.push(
            Row::new("6 spokes", format!("{label}: push records per request"), "")
                .value(per_request)
                .target(Target::AtLeast(per_request_target))
                .detail(format!(
                    "provisional target; {} requests in all (ceiling client: {}); per write request {} (at most {max_per_write})",
                    show(requests),
                    show(ceiling_requests),
                    per_write.map_or("n/a".into(), |v| format!("{v:.1}"))
                )),
        );
        let pull_available = pull.iter().all(|p| p["available"] == json!(true));
        let (pull_ratio, pull_detail) = if pull_available {
            (
                median_ratio(reps, "pull", "copy", "rows_per_second"),
                format!(
                    "provisional target; hubsync {} rows/s (timed from create_sync, first row after {} s), \
                     COPY {} rows/s; {} requests for {n} records",
                    show(median_of(&pull, "rows_per_second")),
                    median_of(&pull, "first_row_seconds").map_or("n/a".into(), |v| format!("{v:.2}")),
                    show(median_of(&copy, "rows_per_second")),
                    show(median_of(&pull, "requests"))
                ),
            )
        } else {
            let reason = pull
                .iter()
                .find_map(|p| p["reason"].as_str())
                .unwrap_or("unknown");
            (
                None,
                format!(
                    "COPY {} rows/s; hubsync pull: {reason}",
                    show(median_of(&copy, "rows_per_second"))
                ),
            )
        };
        rows.push(
            Row::new(
                "6 spokes",
                format!("{label}: pull rows/s hubsync full load / COPY"),
                "×",
            )
            .value(pull_ratio)
            .target(Target::AtLeast(0.05))
            .detail(pull_detail),
        );
        data.insert(
            system.key().to_string(),
            json!({
                "summary": {
                    "push_records_per_second": num(h, 0),
                    "ceiling_records_per_second": num(c, 0),
                    "push_over_ceiling": num(vs_ceiling, 3),
                    "push_records_per_request": num(per_request, 2),
                    "pull_over_copy": num(pull_ratio, 3),
                },
                "reps": reps,
            }),
        );
    }
    data.insert(
        "method".into(),
        json!(
            "per system: spoke_rows rows committed 1,000 per transaction into a table synced one \
               way (Postgres → system), timed until the outbox is empty, against the same records \
               written by as many plain clients as hubsync has HTTP threads with no Postgres; then \
               spoke_rows records loaded into the emulator and pulled by a full-load sync, against \
               COPY of the same rows; requests from the emulator's counters"
        ),
    );
    ScenarioReport {
        name: "spokes",
        rows,
        data: Value::Object(data),
    }
}
