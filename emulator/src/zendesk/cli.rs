//! The `hubsync-emulator zendesk` flags and the [`ZendeskOptions`] they ask for.

use super::{OrgDeletions, Role, ZendeskOptions};
use crate::cli::ServerArgs;
use crate::read_flag_file;
use clap::{Args, ValueEnum};
use std::path::PathBuf;
use std::time::Duration;

/// Organization-name uniqueness, by flag.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum NameCase {
    Insensitive,
    Sensitive,
}

/// The Zendesk emulator's flags (see emulator/README.md for the UNVERIFIED ones).
#[derive(Args)]
pub struct ZendeskArgs {
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
        hide_env_values = true,
        default_value = "hubsync-demo-token",
        hide_default_value = true
    )]
    api_token: String,
    /// An OAuth access token accepted as Bearer.
    #[arg(
        long,
        env = "HUBSYNC_ZENDESK_OAUTH_TOKEN",
        hide_env_values = true,
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
    org_deletions: OrgDeletions,
    /// Whether soft-deleted users show in the user exports (with active: false).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    deleted_users_in_export: bool,
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

impl ZendeskArgs {
    /// The options these flags ask for (reading the files they name).
    pub fn options(self) -> Result<ZendeskOptions, String> {
        let cli = self;
        let defaults = ZendeskOptions::default();
        Ok(ZendeskOptions {
            bind: cli.server.bind,
            port: cli.server.port,
            email: cli.email,
            api_token: cli.api_token,
            oauth_token: cli.oauth_token,
            password: cli.password,
            role: cli.role,
            rate_limit: cli.rate_limit,
            export_rate_limit: cli.export_rate_limit,
            export_lag_secs: cli.export_lag_secs,
            org_name_case_insensitive: matches!(cli.org_name_case, NameCase::Insensitive),
            org_deletions: cli.org_deletions,
            deleted_users_in_export: cli.deleted_users_in_export,
            user_update_limit: cli.user_update_limit,
            max_jobs: cli.max_jobs,
            offset_page_limit: cli.offset_page_limit,
            bulk_user_import: cli.bulk_user_import,
            forbidden_description: cli
                .forbidden_description
                .unwrap_or(defaults.forbidden_description),
            job_delay: Duration::from_millis(cli.job_delay_ms),
            schema_json: read_flag_file(&cli.schema, "schema")?,
            data_json: read_flag_file(&cli.data, "data")?,
            fault_seed: cli.server.fault_seed,
            worker_threads: cli.server.threads,
        })
    }
}
