//! `hubsync-emulator`: runs the local Salesforce until killed. Prints
//! `listening on <url>` as the first line of stdout.

use clap::{Parser, ValueEnum};
use hubsync_emulator::{start, DeletedRecordError, EmulatorOptions};
use std::io::Write;
use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

mod cli_realtime;

#[derive(Clone, Copy, ValueEnum)]
enum DeletedAnswer {
    NotFound,
    EntityIsDeleted,
}

/// A faithful local Salesforce REST API for trying and testing syncs offline.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// Port to listen on (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    bind: IpAddr,
    /// Highest API version served, e.g. 62.0 (versions 31.0 up to it are accepted).
    #[arg(long, default_value = "68.0")]
    api_version: String,
    /// OAuth client id (consumer key).
    #[arg(
        long,
        env = "HUBSYNC_EMULATOR_CLIENT_ID",
        default_value = "hubsync-demo-client"
    )]
    client_id: String,
    /// OAuth client secret (consumer secret).
    #[arg(
        long,
        env = "HUBSYNC_EMULATOR_CLIENT_SECRET",
        default_value = "hubsync-demo-secret",
        hide_default_value = true
    )]
    client_secret: String,
    /// Username of the org's user (password grant).
    #[arg(
        long,
        env = "HUBSYNC_EMULATOR_USERNAME",
        default_value = "demo@hubsync.local"
    )]
    username: String,
    /// Password of the org's user.
    #[arg(
        long,
        env = "HUBSYNC_EMULATOR_PASSWORD",
        default_value = "demo-password",
        hide_default_value = true
    )]
    password: String,
    /// An extra refresh token the refresh_token grant accepts.
    #[arg(long, env = "HUBSYNC_EMULATOR_REFRESH_TOKEN", hide_env_values = true)]
    refresh_token: Option<String>,
    /// Access-token lifetime in seconds.
    #[arg(long, default_value_t = 7200)]
    token_lifetime_secs: u64,
    /// Schema file: custom objects and fields, validation rules, automations.
    #[arg(long)]
    schema: Option<PathBuf>,
    /// Data file loaded at start: {"Account": [{...}], ...}.
    #[arg(long)]
    data: Option<PathBuf>,
    /// Daily API request limit.
    #[arg(long, default_value_t = 100_000)]
    api_limit: u64,
    /// Idle lifetime of query locators in seconds.
    #[arg(long, default_value_t = 900)]
    query_locator_ttl_secs: u64,
    #[command(flatten)]
    realtime: cli_realtime::RealtimeArgs,
    /// Answer to a GET of a deleted record.
    #[arg(long, value_enum, default_value = "not-found")]
    deleted_record_error: DeletedAnswer,
    /// Seed of fault-injection random choices.
    #[arg(long, default_value_t = 1)]
    fault_seed: u64,
    /// Server worker threads (0: one per core).
    #[arg(long, default_value_t = 0)]
    threads: usize,
}

fn read(path: &Option<PathBuf>, what: &str) -> Result<Option<String>, String> {
    path.as_ref()
        .map(|p| {
            std::fs::read_to_string(p)
                .map_err(|e| format!("cannot read the {what} file {}: {e}", p.display()))
        })
        .transpose()
}

fn options(cli: Cli) -> Result<EmulatorOptions, String> {
    let max_api_version = cli
        .api_version
        .trim_start_matches('v')
        .trim_end_matches(".0")
        .parse::<u32>()
        .ok()
        .filter(|v| *v >= 31)
        .ok_or_else(|| {
            format!(
                "--api-version {} is not a version like 62.0 (31.0 or later)",
                cli.api_version
            )
        })?;
    let realtime = cli.realtime;
    Ok(EmulatorOptions {
        bind: cli.bind,
        port: cli.port,
        max_api_version,
        client_id: cli.client_id,
        client_secret: cli.client_secret,
        username: cli.username,
        password: cli.password,
        refresh_token: cli.refresh_token,
        token_lifetime: Duration::from_secs(cli.token_lifetime_secs),
        schema_json: read(&cli.schema, "schema")?,
        data_json: read(&cli.data, "data")?,
        api_request_limit: cli.api_limit,
        query_locator_ttl: Duration::from_secs(cli.query_locator_ttl_secs),
        deleted_record_error: match cli.deleted_record_error {
            DeletedAnswer::NotFound => DeletedRecordError::NotFound,
            DeletedAnswer::EntityIsDeleted => DeletedRecordError::EntityIsDeleted,
        },
        fault_seed: cli.fault_seed,
        worker_threads: cli.threads,
        ..EmulatorOptions::default()
    })
    .and_then(|options| realtime.apply(options))
}

fn main() -> ExitCode {
    let options = match options(Cli::parse()) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("hubsync-emulator: {e}");
            return ExitCode::from(2);
        }
    };
    let running = match start(options) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("hubsync-emulator: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut stdout = std::io::stdout();
    let _ = writeln!(stdout, "listening on {}", running.url());
    let _ = stdout.flush();
    loop {
        std::thread::park();
    }
}
