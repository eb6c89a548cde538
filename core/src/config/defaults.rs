//! What a sync does for every setting its config leaves out.
//!
//! The brief shows configs as fragments, so most settings are optional; these are the
//! values hubsync then uses, in one place so docs and code cannot drift.
//!
//! | setting | default |
//! |---|---|
//! | `name` | `connection_name`, else `<object>_<table>` lower-cased |
//! | `sync_type` | `bidirectional` (`one_way`: `source_to_target` true, `target_to_source` false) |
//! | `source.credentials.api_version` | `59.0` |
//! | `source.credentials.auth_type` | `oauth2` |
//! | `field_mappings[].transformation` | `none` |
//! | `field_mappings[].external_id` | `false` |
//! | `mapping_options.handle_nulls` | `preserve` |
//! | `mapping_options.timestamp_format` | `iso8601` |
//! | `mapping_options.default_phone_region` | `US` (also `format_phone`'s `default_country`) |
//! | `sync_settings.initial_sync.strategy` | `full_load` |
//! | `sync_settings.ongoing_sync` | `real_time`, `polling_interval_seconds` 30, `safety_poll_seconds` 300 |
//! | `conflict_resolution` | `last_write_wins` on `LastModifiedDate` |
//! | `conflict_resolution.default` (field_level_priority) | `last_write_wins` |
//! | `error_handling.retry_strategy` | `max_attempts` 5, `backoff_factor` 2.0, `initial_delay_seconds` 30, `max_delay_seconds` 3600 |
//! | `error_handling.notification(s).threshold` | `error` |
//! | `error_handling.notification(s).connection` | `notifications` (where the Slack and SMTP secrets are stored) |
//! | `error_handling.fallback.action` | `queue_for_manual_review` |
//! | `performance_settings` | `batch_size` 1000, `parallelism` 4, `change_detection` `database_triggers`, `index_recommendation` true |
//! | `field_selection` | `all` (every mapped field), or `explicit` when `include_fields` is given |
//! | `validation_rules[].on_error` | `reject_record` |
//! | `monitoring` | metrics `sync_latency`, `error_rate`, `throughput`; no alert thresholds; log level `info`; retention 30 days; dashboard on |
//! | `loop_prevention` | enabled, `detection_window_seconds` 60, `max_update_count` 2 |

use super::model::*;

/// REST API version used when the credentials do not name one.
pub const API_VERSION: &str = "59.0";
/// Remote field compared by `last_write_wins` when no `timestamp_field` is given.
pub const TIMESTAMP_FIELD: &str = "LastModifiedDate";

/// The remote field that dates a change when the config names none: Salesforce's
/// [`TIMESTAMP_FIELD`], Zendesk's `updated_at`.
pub fn timestamp_field(system: Option<super::SystemKind>) -> &'static str {
    match system {
        Some(super::SystemKind::Zendesk) => "updated_at",
        _ => TIMESTAMP_FIELD,
    }
}
/// Region assumed for phone numbers without a country code.
pub const PHONE_REGION: &str = "US";
/// `sync_settings.initial_sync.strategy`.
pub const INITIAL_SYNC: InitialSync = InitialSync::FullLoad;
/// `validation_rules[].on_error`.
pub const ON_ERROR: OnError = OnError::RejectRecord;

impl Default for MappingOptions {
    fn default() -> Self {
        MappingOptions {
            handle_nulls: NullHandling::Preserve,
            timestamp_format: TimestampFormat::Iso8601,
            default_phone_region: PHONE_REGION.to_string(),
        }
    }
}

impl Default for OngoingSync {
    fn default() -> Self {
        OngoingSync {
            mode: OngoingMode::RealTime,
            polling_interval_seconds: 30.0,
            safety_poll_seconds: 300.0,
        }
    }
}

impl Default for RetryStrategy {
    fn default() -> Self {
        RetryStrategy {
            max_attempts: 5,
            backoff_factor: 2.0,
            initial_delay_seconds: 30.0,
            max_delay_seconds: 3600.0,
        }
    }
}

impl Default for Notifications {
    fn default() -> Self {
        Notifications {
            channels: Vec::new(),
            threshold: Severity::Error,
            email: Vec::new(),
            slack: None,
            connection: None,
        }
    }
}

impl Default for ErrorHandling {
    fn default() -> Self {
        ErrorHandling {
            retry: RetryStrategy::default(),
            notifications: Notifications::default(),
            fallback: FallbackAction::QueueForManualReview,
        }
    }
}

impl Default for PerformanceSettings {
    fn default() -> Self {
        PerformanceSettings {
            batch_size: 1000,
            parallelism: 4,
            change_detection: ChangeDetection::DatabaseTriggers,
            index_recommendation: true,
            bulk_threshold: 10_000,
            bulk_push_threshold: 10_000,
        }
    }
}

impl Default for Monitoring {
    fn default() -> Self {
        Monitoring {
            metrics: vec![Metric::SyncLatency, Metric::ErrorRate, Metric::Throughput],
            alerting: Alerting {
                latency_threshold_ms: None,
                error_rate_threshold: None,
                consecutive_failures_threshold: None,
            },
            log_level: LogLevel::Info,
            retention_days: 30,
            dashboard_enabled: true,
        }
    }
}

impl Default for LoopPrevention {
    fn default() -> Self {
        LoopPrevention {
            enabled: true,
            detection_window_seconds: 60,
            max_update_count: 2,
        }
    }
}
