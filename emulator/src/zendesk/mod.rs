//! A local Zendesk Support API v2 for Organizations and Users, faithful in every way a
//! sync depends on: API-token and OAuth auth, CRUD with and without `.json`, show_many,
//! create_or_update, bulk jobs answered by an asynchronous `job_status`, cursor and
//! offset pagination, incremental exports (with their same-second duplicates and their
//! own rate limit), per-minute rate limits with Zendesk's headers, custom fields from a
//! schema file, and the admin API under `/__emulator/`.
//!
//! The facts it follows are in `shared/reference/zendesk-api.md`; what that file marks
//! UNVERIFIED is a [`ZendeskOptions`] field (a command-line flag), never a silent guess.
//! It shares the HTTP server, clock, counters and fault injection with the Salesforce
//! emulator; everything Zendesk-specific lives in this module tree.

mod admin;
mod api;
pub mod cli;
mod errors;
mod export;
mod fields;
mod http;
mod jobs;
mod limits;
mod ops;
mod pages;
mod record;
mod routes;
mod state;
mod store;

use crate::{serve_on, RunningEmulator, StartError};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Duration;

/// How a deleted organization shows in the organization export. Reported to come back
/// with `deleted_at` (reference §8, UNVERIFIED), so both answers are available.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum OrgDeletions {
    /// The organization reappears once more, with `deleted_at` set.
    #[default]
    DeletedAt,
    /// The organization vanishes from the export; a sync must reconcile by listing.
    Vanish,
}

/// The agent's role: only admins may use incremental exports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Role {
    #[default]
    Admin,
    Agent,
}

impl Role {
    /// `admin` / `agent`, as Zendesk writes a user's role.
    pub fn label(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Agent => "agent",
        }
    }
}

/// Everything configurable about an emulated Zendesk account. `Default` gives the demo
/// account: agent `demo@hubsync.local`, API token `hubsync-demo-token`, OAuth token
/// `hubsync-demo-oauth-token`, the Enterprise limit of 700 requests a minute.
#[derive(Clone)]
pub struct ZendeskOptions {
    /// Address to listen on (127.0.0.1 unless told otherwise).
    pub bind: IpAddr,
    /// Port; 0 picks a free one.
    pub port: u16,
    /// The agent's email (`{email}/token` Basic auth).
    pub email: String,
    /// The agent's API token.
    pub api_token: String,
    /// An OAuth access token accepted as `Bearer`.
    pub oauth_token: String,
    /// The agent's password for deprecated `email:password` Basic auth; `None` refuses it.
    pub password: Option<String>,
    /// The agent's role: `Admin` can use incremental exports, `Agent` gets 403 there.
    pub role: Role,
    /// Requests a minute (Team 200, Growth/Professional 400, Enterprise 700, High Volume 2500).
    pub rate_limit: u64,
    /// Incremental export requests a minute (Zendesk: 10).
    pub export_rate_limit: u64,
    /// Rows changed this recently are left out of incremental exports, and a
    /// `start_time` this recent is refused (Zendesk: one minute).
    pub export_lag_secs: i64,
    /// Organization-name uniqueness ignores case (reference: UNVERIFIED).
    pub org_name_case_insensitive: bool,
    /// How deleted organizations show in the export (reference: UNVERIFIED).
    pub org_deletions: OrgDeletions,
    /// Whether a soft-deleted user shows in the user exports (with `active: false`, as
    /// its bumped `updated_at` implies; reference: UNVERIFIED) or is left out.
    pub deleted_users_in_export: bool,
    /// Updates of one user a minute before 429 (0: no per-user limit; reference: the
    /// numbers are UNVERIFIED).
    pub user_update_limit: u64,
    /// Jobs queued or running at once before a bulk call answers 429 (reference:
    /// "commonly 30", UNVERIFIED).
    pub max_jobs: usize,
    /// Offset pagination serves at most this many pages (reference: 100; the error
    /// beyond is UNVERIFIED).
    pub offset_page_limit: u64,
    /// Whether `users/create_many` is enabled (403 otherwise, as on accounts without
    /// bulk user import).
    pub bulk_user_import: bool,
    /// The 403 `description` (reference: exact text UNVERIFIED).
    pub forbidden_description: String,
    /// How long a queued job waits before it runs.
    pub job_delay: Duration,
    /// Custom field file: `{"organization_fields": [...], "user_fields": [...]}`.
    pub schema_json: Option<String>,
    /// Data file loaded at start: `{"organizations": [...], "users": [...]}`.
    pub data_json: Option<String>,
    /// Seed of the fault-injection random choices.
    pub fault_seed: u64,
    /// Worker threads of the server's runtime (0: one per core).
    pub worker_threads: usize,
}

impl Default for ZendeskOptions {
    fn default() -> Self {
        ZendeskOptions {
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 0,
            email: "demo@hubsync.local".into(),
            api_token: "hubsync-demo-token".into(),
            oauth_token: "hubsync-demo-oauth-token".into(),
            password: None,
            role: Role::Admin,
            rate_limit: 700,
            export_rate_limit: 10,
            export_lag_secs: 60,
            org_name_case_insensitive: true,
            org_deletions: OrgDeletions::DeletedAt,
            deleted_users_in_export: true,
            user_update_limit: 0,
            max_jobs: 30,
            offset_page_limit: 100,
            bulk_user_import: true,
            forbidden_description: "You do not have access to this page. Please contact the account owner of this help desk for further help.".into(),
            job_delay: Duration::from_millis(50),
            schema_json: None,
            data_json: None,
            fault_seed: 1,
            worker_threads: 0,
        }
    }
}

impl fmt::Debug for ZendeskOptions {
    /// Secrets are never printed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ZendeskOptions")
            .field("bind", &self.bind)
            .field("port", &self.port)
            .field("email", &self.email)
            .field("api_token", &"<redacted>")
            .field("oauth_token", &"<redacted>")
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("role", &self.role)
            .field("rate_limit", &self.rate_limit)
            .field("export_rate_limit", &self.export_rate_limit)
            .field("export_lag_secs", &self.export_lag_secs)
            .field("org_name_case_insensitive", &self.org_name_case_insensitive)
            .field("org_deletions", &self.org_deletions)
            .field("deleted_users_in_export", &self.deleted_users_in_export)
            .field("user_update_limit", &self.user_update_limit)
            .field("max_jobs", &self.max_jobs)
            .field("offset_page_limit", &self.offset_page_limit)
            .field("bulk_user_import", &self.bulk_user_import)
            .field("job_delay", &self.job_delay)
            .field("schema_json", &self.schema_json.as_ref().map(|s| s.len()))
            .field("data_json", &self.data_json.as_ref().map(|s| s.len()))
            .field("fault_seed", &self.fault_seed)
            .finish()
    }
}

/// Starts a Zendesk emulator on its own background runtime and returns once it accepts
/// connections; its API is under `{url}/api/v2/`.
pub fn start_zendesk(options: ZendeskOptions) -> Result<RunningEmulator, StartError> {
    let schema = match &options.schema_json {
        Some(text) => fields::Schema::parse(text).map_err(StartError::Schema)?,
        None => fields::Schema::default(),
    };
    serve_on(options.bind, options.port, options.worker_threads, |url| {
        let state = Arc::new(state::Zendesk::new(
            options.clone(),
            schema,
            url.to_string(),
        ));
        if let Some(data) = &options.data_json {
            admin::load(&state, data).map_err(StartError::Data)?;
        }
        Ok(http::routes(state))
    })
}
