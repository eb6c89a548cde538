//! The validated shape of a sync, independent of how the JSON spelled it.
//!
//! The brief writes the same idea several ways (`sync_type` at the top or inside
//! `sync_settings`, `notification` or `notifications`, two `monitoring` shapes) and
//! names sides as "source"/"target". Parsing resolves all of that once, so the rest
//! of hubsync only ever asks about the remote system and the local table.

use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// One side of a sync.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// The SaaS system (Salesforce).
    Remote,
    /// The Postgres table.
    Local,
}

impl Side {
    /// The other side.
    pub fn other(self) -> Side {
        match self {
            Side::Remote => Side::Local,
            Side::Local => Side::Remote,
        }
    }
}

/// A connected system type, as `source.type` / `target.type` / `connected_systems[].system` name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SystemKind {
    Salesforce,
    Postgres,
    Netsuite,
    Zendesk,
}

impl SystemKind {
    /// The system's name for messages (`Salesforce`, `NetSuite`, …).
    pub fn label(self) -> &'static str {
        match self {
            SystemKind::Salesforce => "Salesforce",
            SystemKind::Postgres => "PostgreSQL",
            SystemKind::Netsuite => "NetSuite",
            SystemKind::Zendesk => "Zendesk",
        }
    }
}

/// Which way changes flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Direction {
    /// Local changes are pushed to the remote system.
    pub push: bool,
    /// Remote changes are pulled into the local table.
    pub pull: bool,
}

impl Direction {
    /// Short name used in views: `bidirectional`, `to_remote`, `to_local`.
    pub fn label(self) -> &'static str {
        match (self.push, self.pull) {
            (true, true) => "bidirectional",
            (true, false) => "to_remote",
            (false, true) => "to_local",
            (false, false) => "none",
        }
    }
}

/// How hubsync authenticates to the remote system.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthType {
    /// OAuth 2.0: client credentials, refresh token or password grant, whichever secrets are set.
    Oauth2,
}

/// The remote end of a sync.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RemoteEndpoint {
    /// Salesforce or NetSuite.
    pub system: SystemKind,
    /// sObject API name, e.g. `Account`; NetSuite's record type as written (`Customer`).
    pub object: String,
    /// Base URL of the org's REST API (`https://yourinstance.salesforce.com`, or the emulator's URL).
    pub instance_url: Option<String>,
    /// NetSuite's account id (`1234567`, `1234567_SB1`): the TBA realm, and the REST host
    /// `https://{account}.suitetalk.api.netsuite.com` unless `instance_url` says otherwise.
    pub account_id: Option<String>,
    /// OAuth token endpoint host; defaults to `instance_url`.
    pub login_url: Option<String>,
    pub auth_type: AuthType,
    /// REST API version without the `v`, e.g. `59.0`.
    pub api_version: String,
    /// JSON path of this end in the config (`source` or `target`), for error messages.
    pub path: String,
}

/// The local end of a sync.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LocalEndpoint {
    /// Schema of the table; `None` resolves through `search_path`.
    pub schema: Option<String>,
    /// Table name, case-sensitive as written.
    pub table: String,
    /// Database named in the credentials block (informational; hubsync runs inside its database).
    pub database: Option<String>,
    /// Host named in the credentials block (informational).
    pub host: Option<String>,
    /// Port named in the credentials block (informational).
    pub port: Option<u16>,
    /// JSON path of this end in the config (`source` or `target`), for error messages.
    pub path: String,
}

impl LocalEndpoint {
    /// JSON path of the table name, where problems with the table itself are reported.
    pub fn table_path(&self) -> String {
        format!("{}.table", self.path)
    }
}

/// A field transformation, defined in the direction the config wrote it: source → target.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Transform {
    /// Values pass unchanged.
    None,
    /// Phone numbers normalised to E.164; `default_region` (ISO 3166 alpha-2) for numbers without a country code.
    FormatPhone { default_region: String },
    /// Lower-cases text.
    Lowercase,
    /// Upper-cases text.
    Uppercase,
    /// Trims surrounding whitespace.
    Trim,
    /// Maps source values to target values; `default` for source values not in the map.
    ValueMap {
        values: BTreeMap<String, Value>,
        default: Option<Value>,
    },
    /// Replaces a null source value with `value`.
    Default { value: Value },
}

/// One mapped field.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldMapping {
    /// Remote field API name as written (Salesforce names are case-insensitive).
    pub remote: String,
    /// Local column name, case-sensitive.
    pub local: String,
    /// The transformation, oriented source → target as in the config.
    pub transform: Transform,
    /// Which side the config called "source" for this mapping.
    pub source: Side,
    /// The remote field is an External ID used as the upsert key.
    pub external_id: bool,
    /// The mapping flows only from its source side to its target side, even in a
    /// bidirectional sync (config key `"one_way": true`). Lossy transformations
    /// (`lowercase`, a `value_map` with a `default`, …) need it on a two-way sync,
    /// because their target values cannot be turned back into the source values.
    pub one_way: bool,
    /// JSON path of the mapping object (`field_mappings[2]`), so later checks point at it.
    pub path: String,
}

impl FieldMapping {
    /// JSON path of the remote field name (`field_mappings[2].source` when the remote end is the source).
    pub fn remote_path(&self) -> String {
        format!("{}.{}", self.path, side_key(self.source, Side::Remote))
    }

    /// JSON path of the local column name.
    pub fn local_path(&self) -> String {
        format!("{}.{}", self.path, side_key(self.source, Side::Local))
    }
}

/// The key (`source`/`target`) under which `side` is written when `source` is the config's source side.
fn side_key(source: Side, side: Side) -> &'static str {
    if source == side {
        "source"
    } else {
        "target"
    }
}

/// `mapping_options.handle_nulls`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NullHandling {
    /// A null clears the other side's value.
    Preserve,
    /// A null is not written; the other side keeps its value.
    Ignore,
    /// A null is replaced by the mapping's `default` transform value (or the column default).
    Default,
}

/// `mapping_options.timestamp_format`: how datetimes are rendered into text columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TimestampFormat {
    /// `2024-01-01T12:00:00.000Z`
    Iso8601,
    /// `2024-01-01T12:00:00.000+0000`, as Salesforce's REST API writes it.
    Salesforce,
    /// Seconds since the Unix epoch.
    UnixSeconds,
    /// Milliseconds since the Unix epoch.
    UnixMillis,
}

/// `mapping_options`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MappingOptions {
    pub handle_nulls: NullHandling,
    pub timestamp_format: TimestampFormat,
    /// Default region for `format_phone` and phone standardisation (ISO 3166 alpha-2).
    pub default_phone_region: String,
}

/// `sync_settings.initial_sync.strategy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum InitialSync {
    /// Copy every remote record into the table (and push local rows without a remote id).
    FullLoad,
    /// Start from now: only changes made after the sync is created flow.
    None,
}

/// `sync_settings.ongoing_sync.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OngoingMode {
    /// Push at commit; pull by streaming change events where the system offers them
    /// (Salesforce Change Data Capture), else every `polling_interval_seconds`.
    RealTime,
    /// Push at commit; pull every `polling_interval_seconds`, never by streaming.
    Polling,
}

/// `sync_settings.ongoing_sync`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct OngoingSync {
    pub mode: OngoingMode,
    /// Seconds between incremental pulls.
    pub polling_interval_seconds: f64,
    /// Seconds between the polls that run while changes are streamed, to catch whatever
    /// a stream could miss.
    pub safety_poll_seconds: f64,
}

/// Who wins a field changed on both sides.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    /// This side always wins.
    Side(Side),
    /// The side changed most recently wins.
    LastUpdated,
    /// Another spoke of the hub (a role such as `erp`, or a system by name) wins: the local
    /// value wins where that system wrote it; elsewhere the side changed most recently.
    System(SystemKind),
    /// The spoke reached through this connection wins (`connection:<name>`), for hubs with
    /// two accounts of one system: as [`Priority::System`], by connection.
    Connection(String),
}

/// One `field_rules` entry of `field_level_priority`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldRule {
    /// The local column the rule is about: the mapped column when the config named a mapped
    /// remote field or column, else the name as written (an unmapped column of the table).
    pub local: String,
    pub priority: Priority,
    /// JSON path of the rule object (`conflict_resolution.field_rules[1]`).
    pub path: String,
}

/// `conflict_resolution`, resolved to sides.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "strategy", rename_all = "snake_case")]
pub enum ConflictPolicy {
    /// The later change wins; remote time from `timestamp_field`, local time from
    /// `local_timestamp_column` if set, else the time of the local change's statement.
    LastWriteWins {
        timestamp_field: String,
        local_timestamp_column: Option<String>,
    },
    /// Per-field rules; other fields fall back to `default`.
    FieldLevelPriority {
        rules: Vec<FieldRule>,
        default: Box<ConflictPolicy>,
    },
    /// One side always wins (`source_wins` / `target_wins` resolved).
    SideWins { side: Side },
    /// Both versions go to the review queue.
    Manual,
}

impl ConflictPolicy {
    /// The remote field that dates a remote change (`timestamp_field`, also when
    /// last-write-wins is only the default of `field_level_priority`); `LastModifiedDate`
    /// otherwise.
    pub fn timestamp_field(&self) -> &str {
        match self {
            ConflictPolicy::LastWriteWins {
                timestamp_field, ..
            } => timestamp_field,
            ConflictPolicy::FieldLevelPriority { default, .. } => default.timestamp_field(),
            _ => "LastModifiedDate",
        }
    }

    /// The local column that dates a local change, if the policy names one.
    pub fn local_timestamp_column(&self) -> Option<&str> {
        match self {
            ConflictPolicy::LastWriteWins {
                local_timestamp_column,
                ..
            } => local_timestamp_column.as_deref(),
            ConflictPolicy::FieldLevelPriority { default, .. } => default.local_timestamp_column(),
            _ => None,
        }
    }
}

/// `error_handling.retry_strategy`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RetryStrategy {
    /// Attempts in all, including the first.
    pub max_attempts: u32,
    pub backoff_factor: f64,
    pub initial_delay_seconds: f64,
    /// Upper bound on one delay.
    pub max_delay_seconds: f64,
}

/// Severity threshold for notifications.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    Warning,
    Error,
    Critical,
}

/// `error_handling.notification(s)`: where alerts go.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Notifications {
    /// Channel kinds to notify: those named in `notification.channels`, plus `email` and
    /// `slack` when `notifications` gives addresses for them.
    pub channels: Vec<String>,
    /// Minimum severity that notifies.
    pub threshold: Severity,
    /// E-mail recipients (`notifications.email`).
    pub email: Vec<String>,
    /// Slack channel (`notifications.slack`).
    pub slack: Option<String>,
    /// The connection whose stored secret says where Slack and e-mail go (webhook URL or
    /// bot token, SMTP server); `notifications` when not given.
    pub connection: Option<String>,
}

impl Notifications {
    /// The notification connection's name.
    pub fn connection_name(&self) -> &str {
        self.connection
            .as_deref()
            .unwrap_or(crate::notify::destination::DEFAULT_CONNECTION)
    }
}

/// `error_handling.fallback.action`: what happens to a record that cannot be delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FallbackAction {
    /// Park it in `hubsync.review_queue` for a person.
    QueueForManualReview,
    /// Drop it, recording the failure in the sync's log (`hubsync.logs`).
    Discard,
}

/// `error_handling`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ErrorHandling {
    pub retry: RetryStrategy,
    pub notifications: Notifications,
    pub fallback: FallbackAction,
}

/// `performance_settings`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PerformanceSettings {
    /// Outbox rows claimed per batch.
    pub batch_size: u32,
    /// Concurrent HTTP requests to the remote system.
    pub parallelism: u32,
    /// Only `database_triggers` is supported.
    pub change_detection: ChangeDetection,
    /// Report missing indexes through `hubsync.recommend_indexes`.
    pub index_recommendation: bool,
    /// A full load of more remote records than this goes through the system's bulk API
    /// (Salesforce Bulk API 2.0 query jobs) instead of REST pages; 0 never does.
    pub bulk_threshold: u64,
    /// A push backlog of more pending rows than this goes through the system's bulk API
    /// (Salesforce Bulk API 2.0 ingest jobs) instead of 200-record calls; 0 never does.
    pub bulk_push_threshold: u64,
}

/// `performance_settings.change_detection`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeDetection {
    DatabaseTriggers,
}

/// `field_selection` with `include_fields` / `exclude_fields` (remote field names).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct FieldSelection {
    /// `explicit`: only `include` fields sync; `all`: every mapped field except `exclude`.
    pub explicit: bool,
    pub include: Vec<String>,
    pub exclude: Vec<String>,
}

/// The check a validation rule makes.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum RuleKind {
    EmailFormat,
    /// The value must match `pattern` (Rust `regex` syntax, checked at config time).
    Regex {
        pattern: String,
    },
    Required,
    MaxLength {
        max: u32,
    },
    OneOf {
        values: Vec<Value>,
    },
}

/// What to do when a value fails its rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OnError {
    /// The record is not written; it goes to the review queue.
    RejectRecord,
    /// Normalise the value (e.g. phone to E.164); reject if it cannot be.
    StandardizeFormat,
    /// Write the record without this field.
    SkipField,
    /// Write it anyway and log a warning.
    Warn,
}

/// One `validation_rules` entry.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ValidationRule {
    /// The local column the rule checks, resolved like [`FieldRule::local`].
    pub local: String,
    pub kind: RuleKind,
    pub on_error: OnError,
    /// JSON path of the rule object (`validation_rules[1]`).
    pub path: String,
}

/// Metrics named in `monitoring.metrics` / `metric_collection`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    SyncLatency,
    ErrorRate,
    Throughput,
}

/// `monitoring.alerting`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Alerting {
    pub latency_threshold_ms: Option<u64>,
    pub error_rate_threshold: Option<f64>,
    pub consecutive_failures_threshold: Option<u32>,
}

/// Log verbosity for a sync's own log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LogLevel {
    Debug,
    Info,
    Warning,
    Error,
}

/// `monitoring`, both shapes of the brief merged.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Monitoring {
    pub metrics: Vec<Metric>,
    pub alerting: Alerting,
    pub log_level: LogLevel,
    pub retention_days: u32,
    pub dashboard_enabled: bool,
}

/// `loop_prevention`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct LoopPrevention {
    pub enabled: bool,
    pub detection_window_seconds: u32,
    pub max_update_count: u32,
}

/// A whole sync, validated.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SyncConfig {
    /// The sync's name (`name`, else `connection_name`).
    pub name: String,
    /// The connection whose credentials it uses (`connection_name`, else the name).
    pub connection: String,
    pub remote: RemoteEndpoint,
    pub local: LocalEndpoint,
    /// Which side the config calls "source".
    pub source: Side,
    pub direction: Direction,
    pub mappings: Vec<FieldMapping>,
    pub mapping_options: MappingOptions,
    pub initial_sync: InitialSync,
    pub ongoing: OngoingSync,
    pub conflict: ConflictPolicy,
    pub error_handling: ErrorHandling,
    pub performance: PerformanceSettings,
    pub field_selection: FieldSelection,
    pub validation_rules: Vec<ValidationRule>,
    pub monitoring: Monitoring,
    pub loop_prevention: LoopPrevention,
    /// Remote fields that identify a record when a create's outcome is unknown
    /// and there is no External ID (`sync_settings.natural_key`).
    pub natural_key: Vec<String>,
}

impl SyncConfig {
    /// The mapping of the remote `Id` field, whose local column stores the remote id.
    pub fn id_mapping(&self) -> Option<&FieldMapping> {
        self.mappings
            .iter()
            .find(|m| m.remote.eq_ignore_ascii_case("Id"))
    }

    /// The mapping used as the upsert key, if any.
    pub fn external_id_mapping(&self) -> Option<&FieldMapping> {
        self.mappings.iter().find(|m| m.external_id)
    }
}

/// A connected system of a hub.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConnectedSystem {
    pub system: SystemKind,
    pub objects: Vec<String>,
    /// The connection whose credentials reach it (`connection_name`; the system's word,
    /// e.g. `salesforce`, when not given).
    pub connection: String,
    /// Where it is (`credentials`: `instance_url`, `login_url`), when the hub says; else the
    /// connection's stored credentials may.
    pub endpoint: serde_json::Map<String, Value>,
    /// Which fields its mirrored tables get (`field_selection` here, else the hub's).
    pub selection: FieldSelection,
}

/// `sync_hub` with `connected_systems`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HubConfig {
    pub name: String,
    pub systems: Vec<ConnectedSystem>,
}
