//! `hubsync-emulator`: runs a local Salesforce (the default, or `salesforce`) or Zendesk
//! (`zendesk`) until killed. Prints `listening on <url>` as the first line of stdout.

use clap::{Args, Parser, Subcommand, ValueEnum};
use hubsync_emulator::{
    start, start_zendesk, DeletedRecordError, EmulatorOptions, RunningEmulator, StartError,
    ZendeskOptions,
};
use std::io::Write;
use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Clone, Copy, ValueEnum)]
enum DeletedAnswer {
    NotFound,
    EntityIsDeleted,
}

/// Faithful local SaaS APIs for trying and testing syncs offline. Without a subcommand
/// it serves Salesforce, taking the `salesforce` flags.
#[derive(Parser)]
#[command(version, args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    system: Option<SystemCommand>,
    #[command(flatten)]
    salesforce: SalesforceArgs,
}

/// One subcommand per emulated system.
#[derive(Subcommand)]
enum SystemCommand {
    /// The Salesforce REST API (the default).
    Salesforce(SalesforceArgs),
    /// The Zendesk Support API v2 (Organizations, Users).
    Zendesk(ZendeskArgs),
}

/// The flags every system has: where to listen, how many threads, the fault seed.
#[derive(Args)]
struct ServerArgs {
    /// Port to listen on (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    bind: IpAddr,
    /// Seed of fault-injection random choices.
    #[arg(long, default_value_t = 1)]
    fault_seed: u64,
    /// Server worker threads (0: one per core).
    #[arg(long, default_value_t = 0)]
    threads: usize,
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
    /// Answer to a GET of a deleted record.
    #[arg(long, value_enum, default_value = "not-found")]
    deleted_record_error: DeletedAnswer,
}

fn read(path: &Option<PathBuf>, what: &str) -> Result<Option<String>, String> {
    path.as_ref()
        .map(|p| {
            std::fs::read_to_string(p)
                .map_err(|e| format!("cannot read the {what} file {}: {e}", p.display()))
        })
        .transpose()
}

#[derive(Clone, Copy, ValueEnum)]
enum NameCase {
    Insensitive,
    Sensitive,
}

#[derive(Clone, Copy, ValueEnum)]
enum OrgDeletionsArg {
    DeletedAt,
    Vanish,
}

#[derive(Clone, Copy, ValueEnum)]
enum Role {
    Admin,
    Agent,
}

/// The Zendesk emulator's flags (see emulator/README.md for the UNVERIFIED ones).
#[derive(Args)]
struct ZendeskArgs {
    #[command(flatten)]
    server: ServerArgs,
    /// The agent's email (API-token auth is `{email}/token:{token}`).
    #[arg(
        long,
        env = "HUBSYNC_ZENDESK_EMAIL",
        default_value = "demo@hubsync.local"
    )]
    email: String,
    /// The agent's API token.
    #[arg(
        long,
        env = "HUBSYNC_ZENDESK_API_TOKEN",
        default_value = "hubsync-demo-token",
        hide_default_value = true
    )]
    api_token: String,
    /// An OAuth access token accepted as Bearer.
    #[arg(
        long,
        env = "HUBSYNC_ZENDESK_OAUTH_TOKEN",
        default_value = "hubsync-demo-oauth-token",
        hide_default_value = true
    )]
    oauth_token: String,
    /// A password for deprecated email:password Basic auth (refused when not set).
    #[arg(long, env = "HUBSYNC_ZENDESK_PASSWORD", hide_env_values = true)]
    password: Option<String>,
    /// The agent's role; incremental exports need admin.
    #[arg(long, value_enum, default_value = "admin")]
    role: Role,
    /// Requests a minute (Team 200, Growth/Professional 400, Enterprise 700, High Volume 2500).
    #[arg(long, default_value_t = 700)]
    rate_limit: u64,
    /// Incremental export requests a minute.
    #[arg(long, default_value_t = 10)]
    export_rate_limit: u64,
    /// Rows changed this many seconds ago or less are left out of exports.
    #[arg(long, default_value_t = 60)]
    export_lag_secs: i64,
    /// Whether organization-name uniqueness ignores case.
    #[arg(long, value_enum, default_value = "insensitive")]
    org_name_case: NameCase,
    /// How a deleted organization shows in the export.
    #[arg(long, value_enum, default_value = "deleted-at")]
    org_deletions: OrgDeletionsArg,
    /// Updates of one user a minute before 429 (0: unlimited).
    #[arg(long, default_value_t = 0)]
    user_update_limit: u64,
    /// Jobs queued or running at once before a bulk call answers 429.
    #[arg(long, default_value_t = 30)]
    max_jobs: usize,
    /// Offset pagination serves at most this many pages.
    #[arg(long, default_value_t = 100)]
    offset_page_limit: u64,
    /// Whether users/create_many is enabled (403 otherwise).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    bulk_user_import: bool,
    /// The description of 403 answers.
    #[arg(long)]
    forbidden_description: Option<String>,
    /// Milliseconds a queued job waits before it runs.
    #[arg(long, default_value_t = 50)]
    job_delay_ms: u64,
    /// Custom field file: {"organization_fields": [...], "user_fields": [...]}.
    #[arg(long)]
    schema: Option<PathBuf>,
    /// Data file loaded at start: {"organizations": [...], "users": [...]}.
    #[arg(long)]
    data: Option<PathBuf>,
}

fn zendesk_options(cli: ZendeskArgs) -> Result<ZendeskOptions, String> {
    let defaults = ZendeskOptions::default();
    Ok(ZendeskOptions {
        bind: cli.server.bind,
        port: cli.server.port,
        email: cli.email,
        api_token: cli.api_token,
        oauth_token: cli.oauth_token,
        password: cli.password,
        role: match cli.role {
            Role::Admin => "admin",
            Role::Agent => "agent",
        }
        .into(),
        rate_limit: cli.rate_limit,
        export_rate_limit: cli.export_rate_limit,
        export_lag_secs: cli.export_lag_secs,
        org_name_case_insensitive: matches!(cli.org_name_case, NameCase::Insensitive),
        org_deletions: match cli.org_deletions {
            OrgDeletionsArg::DeletedAt => hubsync_emulator::OrgDeletions::DeletedAt,
            OrgDeletionsArg::Vanish => hubsync_emulator::OrgDeletions::Vanish,
        },
        user_update_limit: cli.user_update_limit,
        max_jobs: cli.max_jobs,
        offset_page_limit: cli.offset_page_limit,
        bulk_user_import: cli.bulk_user_import,
        forbidden_description: cli
            .forbidden_description
            .unwrap_or(defaults.forbidden_description),
        job_delay: Duration::from_millis(cli.job_delay_ms),
        schema_json: read(&cli.schema, "schema")?,
        data_json: read(&cli.data, "data")?,
        fault_seed: cli.server.fault_seed,
        worker_threads: cli.server.threads,
    })
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
        schema_json: read(&cli.schema, "schema")?,
        data_json: read(&cli.data, "data")?,
        api_request_limit: cli.api_limit,
        query_locator_ttl: Duration::from_secs(cli.query_locator_ttl_secs),
        deleted_record_error: match cli.deleted_record_error {
            DeletedAnswer::NotFound => DeletedRecordError::NotFound,
            DeletedAnswer::EntityIsDeleted => DeletedRecordError::EntityIsDeleted,
        },
        fault_seed: cli.server.fault_seed,
        worker_threads: cli.server.threads,
    })
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let started: Result<Result<RunningEmulator, StartError>, String> = match cli.system {
        None => options(cli.salesforce).map(start),
        Some(SystemCommand::Salesforce(args)) => options(args).map(start),
        Some(SystemCommand::Zendesk(args)) => zendesk_options(args).map(start_zendesk),
    };
    let started = match started {
        Ok(s) => s,
        Err(e) => {
            eprintln!("hubsync-emulator: {e}");
            return ExitCode::from(2);
        }
    };
    let running = match started {
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
