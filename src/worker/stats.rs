//! Counters and metrics the status views read: `hubsync.sync_stats` and minute buckets
//! in `hubsync.metric`. One statement each per settled request.

use hubsync_core::retry::ApiUsage;
use pgrx::prelude::*;
use pgrx::spi::SpiResult;

/// What settled push requests add to the statistics.
pub struct PushStats {
    pub pushed: i64,
    pub failed: i64,
    /// Commit-to-acknowledged latency of each pushed record.
    pub latencies_ms: Vec<f64>,
    pub api_usage: Option<ApiUsage>,
    pub connection: &'static str,
    /// What stops or delays the sync now (`hubsync.status.problem`), if anything.
    pub problem: Option<String>,
    pub error: Option<String>,
    /// Requests through which nothing got, after the last one through which something did:
    /// they count towards `consecutive_failures`.
    pub failed_requests: i64,
    /// Some request got something through: `consecutive_failures` starts over.
    pub got_through: bool,
}

/// Adds settled push requests to the sync's counters and this minute's bucket.
pub fn pushed(sync_id: i32, s: &PushStats) -> SpiResult<()> {
    let usage = s.api_usage.map(|u| format!("{}/{}", u.used, u.max));
    Spi::run_with_args(
        "UPDATE hubsync.sync_stats SET pushed = pushed + $2, push_failed = push_failed + $3, \
             last_push_at = CASE WHEN $2 > 0 THEN now() ELSE last_push_at END, \
             api_usage = coalesce($4, api_usage), \
             connection_state = $5, \
             consecutive_failures = CASE WHEN $9 THEN $7 ELSE consecutive_failures + $7 END, \
             last_error = coalesce($6, last_error), \
             last_error_at = CASE WHEN $6 IS NULL THEN last_error_at ELSE now() END, \
             problem = $8, updated_at = now() \
         WHERE sync_id = $1",
        &[
            sync_id.into(),
            s.pushed.into(),
            s.failed.into(),
            usage.into(),
            s.connection.into(),
            s.error.clone().into(),
            s.failed_requests.into(),
            s.problem.clone().into(),
            s.got_through.into(),
        ],
    )?;
    let sum: f64 = s.latencies_ms.iter().sum();
    let max = s.latencies_ms.iter().cloned().fold(0.0, f64::max);
    let histogram = hubsync_core::latency::histogram(&s.latencies_ms);
    Spi::run_with_args(
        "INSERT INTO hubsync.metric AS m (sync_id, bucket, pushed, errors, latency_ms_sum, latency_count, \
             latency_ms_max, latency_hist) \
         VALUES ($1, date_trunc('minute', now()), $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (sync_id, bucket) DO UPDATE SET pushed = m.pushed + EXCLUDED.pushed, \
             errors = m.errors + EXCLUDED.errors, latency_ms_sum = m.latency_ms_sum + EXCLUDED.latency_ms_sum, \
             latency_count = m.latency_count + EXCLUDED.latency_count, \
             latency_ms_max = greatest(m.latency_ms_max, EXCLUDED.latency_ms_max), \
             latency_hist = CASE WHEN m.latency_hist IS NULL THEN EXCLUDED.latency_hist \
                                 WHEN EXCLUDED.latency_hist IS NULL THEN m.latency_hist \
                                 ELSE ARRAY(SELECT a + b FROM unnest(m.latency_hist, EXCLUDED.latency_hist) \
                                            WITH ORDINALITY AS u(a, b, k) ORDER BY k) END",
        &[
            sync_id.into(),
            s.pushed.into(),
            s.failed.into(),
            sum.into(),
            (s.latencies_ms.len() as i64).into(),
            max.into(),
            histogram.into(),
        ],
    )
}

/// Shows why a sync cannot run (or that it can again) in `hubsync.status`.
pub fn health(sync_id: i32, connection: &str, problem: Option<&str>) -> SpiResult<()> {
    Spi::run_with_args(
        "UPDATE hubsync.sync_stats SET connection_state = $2, problem = $3, updated_at = now() \
         WHERE sync_id = $1 AND (connection_state, problem) IS DISTINCT FROM ($2, $3)",
        &[sync_id.into(), connection.into(), problem.into()],
    )
}

/// Adds an applied pull page to the sync's counters and this minute's bucket.
pub fn pulled(
    sync_id: i32,
    applied: i64,
    newest_change: Option<hubsync_core::timestamp::Timestamp>,
) -> SpiResult<()> {
    Spi::run_with_args(
        "UPDATE hubsync.sync_stats SET pulled = pulled + $2, last_pull_at = now(), updated_at = now() \
         WHERE sync_id = $1",
        &[sync_id.into(), applied.into()],
    )?;
    if let Some(newest) = newest_change {
        crate::catalog::pull_state::saw_remote_change(sync_id, newest)?;
    }
    if applied == 0 {
        return Ok(());
    }
    Spi::run_with_args(
        "INSERT INTO hubsync.metric AS m (sync_id, bucket, pulled) VALUES ($1, date_trunc('minute', now()), $2) \
         ON CONFLICT (sync_id, bucket) DO UPDATE SET pulled = m.pulled + EXCLUDED.pulled",
        &[sync_id.into(), applied.into()],
    )
}
