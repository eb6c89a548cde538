//! The sync's own log (`hubsync.log`, kept `monitoring.logging.retention_days`): validation
//! warnings (`on_error: warn`) and other notable events, filtered by the sync's log level.

use hubsync_core::config::LogLevel;
use hubsync_core::mapping::Warning;
use pgrx::prelude::*;
use pgrx::spi::SpiResult;

/// Words for a rule that failed with `on_error: warn`; the record was written anyway.
pub fn describe_warning(warning: &Warning) -> String {
    format!(
        "rule {} on column \"{}\" failed for value {} (written anyway, on_error: warn): {}",
        warning.rule, warning.field, warning.value, warning.message
    )
}

/// Appends events at `level` to the sync's log, if its log level lets them through.
pub fn record(
    sync_id: i32,
    threshold: LogLevel,
    level: LogLevel,
    messages: &[String],
) -> SpiResult<()> {
    if messages.is_empty() || level < threshold {
        return Ok(());
    }
    let label = match level {
        LogLevel::Debug => "debug",
        LogLevel::Info => "info",
        LogLevel::Warning => "warning",
        LogLevel::Error => "error",
    };
    Spi::run_with_args(
        "INSERT INTO hubsync.log (sync_id, level, message) SELECT $1, $2, unnest($3::text[])",
        &[sync_id.into(), label.into(), messages.to_vec().into()],
    )
}
