//! `hubsync-emulator`: runs a local Salesforce (no subcommand, or `salesforce`) or another
//! system (`hubsync-emulator zendesk …`, `netsuite …`, or `slack …` for notifications) until
//! killed. Prints `listening on <url>` as the first line of stdout.

use clap::{Args, Parser, Subcommand, ValueEnum};
use hubsync_emulator::cli::ServerArgs;
use hubsync_emulator::{
    netsuite, read_flag_file, start, DeletedRecordError, EmulatorOptions, RunningEmulator,
    ZendeskArgs,
};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

mod cli_realtime;

#[derive(Clone, Copy, ValueEnum)]
enum DeletedAnswer {
    NotFound,
    EntityIsDeleted,
}

/// Faithful local SaaS APIs (Salesforce by default) for trying and testing syncs offline.
#[derive(Parser)]
#[command(version, args_conflicts_with_subcommands = true)]
struct Cli {
    /// The system to emulate; without one, Salesforce.
    #[command(subcommand)]
    system: Option<System>,
    #[command(flatten)]
    salesforce: SalesforceArgs,
}

/// The emulated systems; Salesforce is also the default.
#[derive(Subcommand)]
enum System {
    /// The Salesforce REST API (the default).
    Salesforce(SalesforceArgs),
    /// A local Zendesk: Support API v2 Organizations and Users, jobs, incremental exports.
    Zendesk(ZendeskArgs),
    /// A local NetSuite: SuiteTalk REST (customer, contact), SuiteQL, TBA and OAuth 2.0 M2M.
    Netsuite(netsuite::Args),
    /// A local Slack for notifications: incoming webhooks and chat.postMessage, with faults.
    Slack(SlackArgs),
}

/// The local Slack's flags.
#[derive(Args)]
struct SlackArgs {
    /// Port to listen on (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    bind: std::net::IpAddr,
    /// The bot token chat.postMessage accepts.
    #[arg(long, env = "HUBSYNC_SLACK_BOT_TOKEN", hide_env_values = true,
          default_value = hubsync_emulator::slack::BOT_TOKEN, hide_default_value = true)]
    bot_token: String,
    /// A channel that exists, by name or id (repeatable; default #data-sync-alerts and C0HUBSYNC).
    #[arg(long = "channel")]
    channels: Vec<String>,
    /// An incoming-webhook path that exists, /services/T…/B…/X… (repeatable; default one).
    #[arg(long = "webhook")]
    webhooks: Vec<String>,
}

impl SlackArgs {
    fn options(self) -> hubsync_emulator::slack::SlackOptions {
        let defaults = hubsync_emulator::slack::SlackOptions::default();
        let or_default = |given: Vec<String>, default: Vec<String>| {
            if given.is_empty() {
                default
            } else {
                given
            }
        };
        hubsync_emulator::slack::SlackOptions {
            bind: self.bind,
            port: self.port,
            webhooks: or_default(self.webhooks, defaults.webhooks),
            bot_token: self.bot_token,
            channels: or_default(self.channels, defaults.channels),
        }
    }
}

/// Whatever was started: an emulated system or the local Slack.
enum Running {
    System(RunningEmulator),
    Slack(hubsync_emulator::slack::RunningSlack),
}

impl Running {
    fn url(&self) -> &str {
        match self {
            Running::System(r) => r.url(),
            Running::Slack(s) => s.url(),
        }
    }
}

/// The Salesforce emulator's flags.
#[derive(Args)]
struct SalesforceArgs {
    #[command(flatten)]
    server: ServerArgs,
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
}

fn options(cli: SalesforceArgs) -> Result<EmulatorOptions, String> {
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
        bind: cli.server.bind,
        port: cli.server.port,
        max_api_version,
        client_id: cli.client_id,
        client_secret: cli.client_secret,
        username: cli.username,
        password: cli.password,
        refresh_token: cli.refresh_token,
        token_lifetime: Duration::from_secs(cli.token_lifetime_secs),
        schema_json: read_flag_file(&cli.schema, "schema")?,
        data_json: read_flag_file(&cli.data, "data")?,
        api_request_limit: cli.api_limit,
        query_locator_ttl: Duration::from_secs(cli.query_locator_ttl_secs),
        deleted_record_error: match cli.deleted_record_error {
            DeletedAnswer::NotFound => DeletedRecordError::NotFound,
            DeletedAnswer::EntityIsDeleted => DeletedRecordError::EntityIsDeleted,
        },
        fault_seed: cli.server.fault_seed,
        worker_threads: cli.server.threads,
        ..EmulatorOptions::default()
    })
    .and_then(|options| realtime.apply(options))
}

/// Starts the Salesforce emulator; `Err` carries the exit code and message.
fn start_salesforce(args: SalesforceArgs) -> Result<RunningEmulator, (u8, String)> {
    let options = options(args).map_err(|e| (2, e))?;
    start(options).map_err(|e| (1, e.to_string()))
}

/// Starts the Zendesk emulator; `Err` carries the exit code and message.
fn start_zendesk(args: ZendeskArgs) -> Result<RunningEmulator, (u8, String)> {
    let options = args.options().map_err(|e| (2, e))?;
    hubsync_emulator::start_zendesk(options).map_err(|e| (1, e.to_string()))
}

/// Starts the NetSuite emulator; `Err` carries the exit code and message.
fn start_netsuite(args: netsuite::Args) -> Result<RunningEmulator, (u8, String)> {
    let options = args.options().map_err(|e| (2, e))?;
    netsuite::start(options).map_err(|e| (1, e.to_string()))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let started = match cli.system {
        None => start_salesforce(cli.salesforce).map(Running::System),
        Some(System::Salesforce(args)) => start_salesforce(args).map(Running::System),
        Some(System::Zendesk(args)) => start_zendesk(args).map(Running::System),
        Some(System::Netsuite(args)) => start_netsuite(args).map(Running::System),
        Some(System::Slack(args)) => hubsync_emulator::slack::start(args.options())
            .map(Running::Slack)
            .map_err(|e| (1, e.to_string())),
    };
    let running = match started {
        Ok(r) => r,
        Err((code, e)) => {
            eprintln!("hubsync-emulator: {e}");
            return ExitCode::from(code);
        }
    };
    let mut stdout = std::io::stdout();
    let _ = writeln!(stdout, "listening on {}", running.url());
    let _ = stdout.flush();
    loop {
        std::thread::park();
    }
}
