//! The `hubsync-emulator netsuite` flags. Every item the reference marks UNVERIFIED has
//! a flag here, so a test can pin either reading instead of the emulator guessing.

use super::Options;
use crate::cli::ServerArgs;
use crate::read_flag_file;
use clap::ValueEnum;
use std::path::PathBuf;

/// What happens to body properties the record type does not have
/// (`X-NetSuite-PropertyNameValidation`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PropertyValidation {
    /// 400 `INVALID_CONTENT` naming the property.
    Error,
    /// Accepted and ignored (NetSuite adds a warning header).
    Warning,
    /// Accepted and ignored.
    Ignore,
}

impl PropertyValidation {
    /// The header's value, case-insensitively.
    pub fn from_header(value: &str) -> Option<PropertyValidation> {
        match value.trim().to_ascii_lowercase().as_str() {
            "error" => Some(PropertyValidation::Error),
            "warning" => Some(PropertyValidation::Warning),
            "ignore" => Some(PropertyValidation::Ignore),
            _ => None,
        }
    }
}

/// How `deletedrecord.type` spells the record types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DeletedTypeCase {
    /// `customer`, `contact`.
    Lower,
    /// `CUSTOMER`, `CONTACT`.
    Upper,
    /// `Customer`, `Contact`.
    Capitalized,
}

/// A local NetSuite account (SuiteTalk REST + SuiteQL); defaults are the demo account.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    server: ServerArgs,
    /// Account id (realm form, e.g. 1234567 or 1234567_SB1).
    #[arg(long, default_value = "1234567")]
    account: String,
    /// TBA consumer key.
    #[arg(
        long,
        env = "HUBSYNC_NETSUITE_CONSUMER_KEY",
        default_value = "hubsync-demo-consumer-key"
    )]
    consumer_key: String,
    /// TBA consumer secret.
    #[arg(
        long,
        env = "HUBSYNC_NETSUITE_CONSUMER_SECRET",
        default_value = "hubsync-demo-consumer-secret",
        hide_default_value = true
    )]
    consumer_secret: String,
    /// TBA token id.
    #[arg(
        long,
        env = "HUBSYNC_NETSUITE_TOKEN_ID",
        default_value = "hubsync-demo-token-id"
    )]
    token_id: String,
    /// TBA token secret.
    #[arg(
        long,
        env = "HUBSYNC_NETSUITE_TOKEN_SECRET",
        default_value = "hubsync-demo-token-secret",
        hide_default_value = true
    )]
    token_secret: String,
    /// Accept a realm that differs from the account id only in case (UNVERIFIED).
    #[arg(long)]
    realm_case_insensitive: bool,
    /// Allowed distance of oauth_timestamp from the clock, and nonce memory (UNVERIFIED).
    #[arg(long, default_value_t = 300)]
    timestamp_window_secs: i64,
    /// OAuth 2.0 client id of the M2M integration.
    #[arg(long, default_value = "hubsync-demo-m2m")]
    m2m_client_id: String,
    /// Certificate id (JWT `kid`) of the M2M mapping.
    #[arg(long, default_value = "hubsync-demo-certificate")]
    m2m_certificate_id: String,
    /// PEM public key or certificate checking M2M assertions (none: M2M refused).
    #[arg(long)]
    m2m_public_key: Option<PathBuf>,
    /// M2M access-token lifetime in seconds.
    #[arg(long, default_value_t = 3600)]
    token_lifetime_secs: i64,
    /// Write expires_in as a number instead of a string (UNVERIFIED).
    #[arg(long)]
    expires_in_number: bool,
    /// The account's concurrent-request limit.
    #[arg(long, default_value_t = 15)]
    concurrency_limit: usize,
    /// o:errorCode of a 429 (UNVERIFIED).
    #[arg(long, default_value = "CONCURRENCY_LIMIT_EXCEEDED")]
    concurrency_error_code: String,
    /// Unknown body properties without a X-NetSuite-PropertyNameValidation header (UNVERIFIED).
    #[arg(long, value_enum, default_value = "error")]
    property_validation: PropertyValidation,
    /// Not a OneWorld account: subsidiary is optional.
    #[arg(long)]
    no_subsidiary_required: bool,
    /// Status of PUT …/eid: upserts (UNVERIFIED).
    #[arg(long, default_value_t = 204)]
    upsert_status: u16,
    /// Render an unset externalId as null instead of omitting it (UNVERIFIED).
    #[arg(long)]
    external_id_always: bool,
    /// Comma-separated contact fields required besides a name (UNVERIFIED).
    #[arg(long, default_value = "")]
    contact_required: String,
    /// User date format of raw SuiteQL dates and q literals (UNVERIFIED).
    #[arg(long, default_value = "M/D/YYYY")]
    date_format: String,
    /// The user's time zone as minutes east of UTC, for TO_CHAR/TO_TIMESTAMP (UNVERIFIED).
    #[arg(long, default_value_t = 0, allow_hyphen_values = true)]
    timezone_offset_minutes: i32,
    /// Write null SuiteQL columns as null instead of omitting them (UNVERIFIED).
    #[arg(long)]
    suiteql_nulls: bool,
    /// Refuse SuiteQL without Prefer: transient (UNVERIFIED).
    #[arg(long)]
    require_prefer_transient: bool,
    /// Rows one SuiteQL query can page through.
    #[arg(long, default_value_t = 100_000)]
    suiteql_max_rows: usize,
    /// Case of deletedrecord.type values (UNVERIFIED).
    #[arg(long, value_enum, default_value = "lower")]
    deleted_type_case: DeletedTypeCase,
    /// Schema file: custom entity fields (custentity_*).
    #[arg(long)]
    schema: Option<PathBuf>,
    /// Data file loaded at start: {"subsidiary": [...], "customer": [...], "contact": [...]}.
    #[arg(long)]
    data: Option<PathBuf>,
}

impl Args {
    /// The options these flags ask for, or why they cannot be used.
    pub fn options(self) -> Result<Options, String> {
        if !(100..=599).contains(&self.upsert_status) {
            return Err(format!(
                "--upsert-status {} is not an HTTP status",
                self.upsert_status
            ));
        }
        Ok(Options {
            bind: self.server.bind,
            port: self.server.port,
            worker_threads: self.server.threads,
            account: self.account,
            consumer_key: self.consumer_key,
            consumer_secret: self.consumer_secret,
            token_id: self.token_id,
            token_secret: self.token_secret,
            realm_case_sensitive: !self.realm_case_insensitive,
            timestamp_window_secs: self.timestamp_window_secs,
            m2m_client_id: self.m2m_client_id,
            m2m_certificate_id: self.m2m_certificate_id,
            m2m_public_key_pem: read_flag_file(&self.m2m_public_key, "M2M public key")?,
            token_lifetime_secs: self.token_lifetime_secs,
            expires_in_number: self.expires_in_number,
            concurrency_limit: self.concurrency_limit,
            concurrency_error_code: self.concurrency_error_code,
            property_validation: self.property_validation,
            require_subsidiary: !self.no_subsidiary_required,
            upsert_status: self.upsert_status,
            external_id_always: self.external_id_always,
            contact_required: self
                .contact_required
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect(),
            date_format: self.date_format,
            timezone_offset_minutes: self.timezone_offset_minutes,
            suiteql_omit_nulls: !self.suiteql_nulls,
            require_prefer_transient: self.require_prefer_transient,
            suiteql_max_rows: self.suiteql_max_rows,
            deleted_type_case: self.deleted_type_case,
            schema_json: read_flag_file(&self.schema, "schema")?,
            data_json: read_flag_file(&self.data, "data")?,
            fault_seed: self.server.fault_seed,
            ..Options::default()
        })
    }
}
