//! Load generator: the emulator's ceiling for benchmarks. Writes records through
//! 200-record sObject Collection calls (upsert by external id, or create) from several
//! concurrent clients, then pages through them with `/query`, and prints JSON.
//!
//! `cargo run --release -p hubsync-emulator --example loadgen -- --records 100000 --parallelism 4`

use clap::{Parser, ValueEnum};
use hubsync_emulator::{start, EmulatorOptions};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use ureq::Agent;

#[derive(Clone, Copy, ValueEnum, PartialEq)]
enum Mode {
    Upsert,
    Create,
}

/// Measures records/s through collection writes and query pages/s.
#[derive(Parser)]
struct Args {
    /// Records to write.
    #[arg(long, default_value_t = 100_000)]
    records: usize,
    /// Concurrent clients.
    #[arg(long, default_value_t = 4)]
    parallelism: usize,
    /// Records per collection call (at most 200).
    #[arg(long, default_value_t = 200)]
    batch: usize,
    /// upsert (by Hubsync_Id__c) or create.
    #[arg(long, value_enum, default_value = "upsert")]
    mode: Mode,
    /// Times each client pages through all records in the query phase.
    #[arg(long, default_value_t = 2)]
    query_rounds: usize,
    /// An emulator already running with emulator/examples/schema.json (default: start one in-process).
    #[arg(long)]
    url: Option<String>,
}

fn agent() -> Agent {
    Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(120)))
        .build()
        .into()
}

fn login(agent: &Agent, base: &str) -> String {
    let form = "grant_type=password&client_id=hubsync-demo-client&client_secret=hubsync-demo-secret&username=demo%40hubsync.local&password=demo-password";
    let mut response = agent
        .post(format!("{base}/services/oauth2/token"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .send(form)
        .expect("token request");
    let body: Value = response.body_mut().read_json().expect("token JSON");
    body["access_token"]
        .as_str()
        .expect("the emulator issues a token (is --url an emulator with default credentials?)")
        .to_string()
}

fn record(mode: Mode, i: usize) -> Value {
    let mut r = json!({
        "attributes": {"type": "Account"},
        "Name": format!("Load {i}"),
        "AnnualRevenue": (i % 1000) as f64 * 1000.5,
        "NumberOfEmployees": i % 5000,
        "Industry": "Technology",
        "BillingCity": "Springfield",
    });
    if mode == Mode::Upsert {
        r["Hubsync_Id__c"] = json!(format!("lg-{i:08}"));
    }
    r
}

fn write_phase(args: &Args, base: &str, token: &str) -> f64 {
    let batches = args.records.div_ceil(args.batch);
    let next = AtomicUsize::new(0);
    let path = match args.mode {
        Mode::Upsert => "/services/data/v59.0/composite/sobjects/Account/Hubsync_Id__c",
        Mode::Create => "/services/data/v59.0/composite/sobjects",
    };
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..args.parallelism {
            scope.spawn(|| {
                let agent = agent();
                loop {
                    let b = next.fetch_add(1, Ordering::Relaxed);
                    if b >= batches {
                        break;
                    }
                    let records: Vec<Value> = (b * args.batch
                        ..((b + 1) * args.batch).min(args.records))
                        .map(|i| record(args.mode, i))
                        .collect();
                    let body = json!({"allOrNone": false, "records": records}).to_string();
                    let request = match args.mode {
                        Mode::Upsert => agent.patch(format!("{base}{path}")),
                        Mode::Create => agent.post(format!("{base}{path}")),
                    };
                    let mut response = request
                        .header("Authorization", &format!("Bearer {token}"))
                        .header("Content-Type", "application/json")
                        .send(&body)
                        .expect("collection call");
                    let text = response.body_mut().read_to_string().expect("body");
                    assert!(
                        response.status() == 200 && !text.contains("\"success\":false"),
                        "collection call failed: {}",
                        &text[..text.len().min(400)]
                    );
                }
            });
        }
    });
    started.elapsed().as_secs_f64()
}

fn query_phase(args: &Args, base: &str, token: &str) -> (usize, usize, f64) {
    let pages = AtomicUsize::new(0);
    let rows = AtomicUsize::new(0);
    let soql =
        "SELECT+Id,Name,AnnualRevenue,NumberOfEmployees,Industry,SystemModstamp+FROM+Account";
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..args.parallelism {
            scope.spawn(|| {
                let agent = agent();
                for _ in 0..args.query_rounds {
                    let mut url = format!("{base}/services/data/v59.0/query?q={soql}");
                    loop {
                        let mut response = agent
                            .get(&url)
                            .header("Authorization", &format!("Bearer {token}"))
                            .call()
                            .expect("query");
                        let page: Value = response
                            .body_mut()
                            .with_config()
                            .limit(512 * 1024 * 1024)
                            .read_json()
                            .expect("query JSON");
                        pages.fetch_add(1, Ordering::Relaxed);
                        rows.fetch_add(
                            page["records"].as_array().map_or(0, Vec::len),
                            Ordering::Relaxed,
                        );
                        match page["nextRecordsUrl"].as_str() {
                            Some(next) => url = format!("{base}{next}"),
                            None => break,
                        }
                    }
                }
            });
        }
    });
    (
        pages.into_inner(),
        rows.into_inner(),
        started.elapsed().as_secs_f64(),
    )
}

fn main() {
    let args = Args::parse();
    assert!(
        (1..=200).contains(&args.batch),
        "--batch must be between 1 and 200"
    );
    let _running;
    let base = match &args.url {
        Some(url) => url.trim_end_matches('/').to_string(),
        None => {
            let running = start(EmulatorOptions {
                schema_json: Some(include_str!("schema.json").into()),
                api_request_limit: u64::MAX / 2,
                ..Default::default()
            })
            .expect("emulator starts");
            let url = running.url().to_string();
            _running = running;
            url
        }
    };
    let admin = agent();
    let _ = admin
        .put(format!("{base}/__emulator/limits"))
        .header("Content-Type", "application/json")
        .send(r#"{"max": 4000000000000000000, "used": 0}"#);
    let token = login(&admin, &base);
    let write_seconds = write_phase(&args, &base, &token);
    let (pages, rows, query_seconds) = query_phase(&args, &base, &token);
    let report = json!({
        "records": args.records,
        "parallelism": args.parallelism,
        "batch": args.batch,
        "mode": if args.mode == Mode::Upsert { "upsert" } else { "create" },
        "write_seconds": (write_seconds * 1000.0).round() / 1000.0,
        "records_per_second": (args.records as f64 / write_seconds).round(),
        "query_pages": pages,
        "query_rows": rows,
        "query_seconds": (query_seconds * 1000.0).round() / 1000.0,
        "pages_per_second": (pages as f64 / query_seconds * 10.0).round() / 10.0,
        "rows_per_second": (rows as f64 / query_seconds).round(),
    });
    println!("{}", serde_json::to_string_pretty(&report).expect("JSON"));
}
