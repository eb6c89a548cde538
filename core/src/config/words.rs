//! The words a config uses for each enum of the model, with the aliases the brief implies.
//!
//! Kept together so the accepted vocabulary can be read (and documented) in one place.

use super::model::*;
use super::walker::keywords;

keywords!(SystemKind {
    "salesforce" => SystemKind::Salesforce,
    "postgres" => SystemKind::Postgres,
    "postgresql" => SystemKind::Postgres,
    "netsuite" => SystemKind::Netsuite,
    "zendesk" => SystemKind::Zendesk,
});

keywords!(AuthType { "oauth2" => AuthType::Oauth2 });

keywords!(NullHandling {
    "preserve" => NullHandling::Preserve,
    "ignore" => NullHandling::Ignore,
    "default" => NullHandling::Default,
});

keywords!(TimestampFormat {
    "iso8601" => TimestampFormat::Iso8601,
    "salesforce" => TimestampFormat::Salesforce,
    "unix_seconds" => TimestampFormat::UnixSeconds,
    "unix_millis" => TimestampFormat::UnixMillis,
});

keywords!(InitialSync {
    "full_load" => InitialSync::FullLoad,
    "none" => InitialSync::None,
});

keywords!(OngoingMode {
    "real_time" => OngoingMode::RealTime,
    "polling" => OngoingMode::Polling,
});

keywords!(Severity {
    "info" => Severity::Info,
    "warning" => Severity::Warning,
    "error" => Severity::Error,
    "critical" => Severity::Critical,
});

keywords!(FallbackAction {
    "queue_for_manual_review" => FallbackAction::QueueForManualReview,
    "discard" => FallbackAction::Discard,
});

keywords!(ChangeDetection { "database_triggers" => ChangeDetection::DatabaseTriggers });

keywords!(OnError {
    "reject_record" => OnError::RejectRecord,
    "standardize_format" => OnError::StandardizeFormat,
    "skip_field" => OnError::SkipField,
    "warn" => OnError::Warn,
});

keywords!(Metric {
    "sync_latency" => Metric::SyncLatency,
    "latency" => Metric::SyncLatency,
    "error_rate" => Metric::ErrorRate,
    "throughput" => Metric::Throughput,
});

keywords!(LogLevel {
    "debug" => LogLevel::Debug,
    "info" => LogLevel::Info,
    "warning" => LogLevel::Warning,
    "warn" => LogLevel::Warning,
    "error" => LogLevel::Error,
});

/// The canonical word for `value`, for messages and stored names.
pub(crate) fn word_for<T: super::walker::Keyword + PartialEq>(value: T) -> &'static str {
    T::WORDS
        .iter()
        .find(|(_, v)| *v == value)
        .map(|(w, _)| *w)
        .unwrap_or("?")
}

impl SystemKind {
    /// The system's canonical word, as configs write it and `hubsync.sync.remote_system`
    /// stores it.
    pub fn word(self) -> &'static str {
        word_for(self)
    }

    /// The system a stored or written word names.
    pub fn from_word(word: &str) -> Option<SystemKind> {
        <SystemKind as super::walker::Keyword>::named(word)
    }
}
