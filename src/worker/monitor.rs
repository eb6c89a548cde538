//! Alerts and housekeeping per sync: after its work settles (at most once a second), the
//! worker measures the sync against `monitoring.alerting`, raises an alert when a condition
//! starts (with `NOTIFY hubsync_alerts`, for whoever relays to Slack or e-mail) and resolves
//! it when it ends; once an hour it drops log lines and metrics older than
//! `monitoring.logging.retention_days`.

use super::runtime::Runtime;
use hubsync_core::alerts::{evaluate, Firing, Observations};
use hubsync_core::config::Severity;
use pgrx::prelude::*;
use pgrx::spi::SpiResult;
use serde_json::json;
use std::time::{Duration, Instant};

const EVERY: Duration = Duration::from_secs(1);
const HOUSEKEEPING_EVERY: Duration = Duration::from_secs(3600);

/// When a sync was last checked, and when its old rows were last dropped.
#[derive(Default)]
pub struct MonitorState {
    checked: Option<Instant>,
    cleaned: Option<Instant>,
    /// The client's request counter when last added to `sync_stats.api_calls`.
    calls_counted: u64,
}

impl MonitorState {
    /// A second has passed since the last check.
    pub fn due(&self) -> bool {
        self.checked.is_none_or(|t| t.elapsed() >= EVERY)
    }
}

/// Checks the sync's alert thresholds (call when [`MonitorState::due`]).
pub fn check(rt: &mut Runtime) -> SpiResult<()> {
    rt.monitor.checked = Some(Instant::now());
    count_calls(rt)?;
    let seen = observe(rt.id)?;
    let firing = evaluate(&rt.config.monitoring.alerting, &seen);
    raise(rt, &firing)?;
    resolve(rt.id, &firing)?;
    if rt
        .monitor
        .cleaned
        .is_none_or(|t| t.elapsed() >= HOUSEKEEPING_EVERY)
    {
        rt.monitor.cleaned = Some(Instant::now());
        clean(rt.id, rt.config.monitoring.retention_days)?;
    }
    Ok(())
}

/// Adds the REST requests the sync's client made (describes, token refreshes' resends,
/// lookups and retrieves included) to `sync_stats.api_calls`. Called with every settle and
/// applied page too, so the count keeps up with the work.
pub(super) fn count_calls(rt: &mut Runtime) -> SpiResult<()> {
    let Some(client) = &rt.client else {
        return Ok(());
    };
    let now = client.api_calls();
    // A rebuilt client counts from zero again.
    let new = now.saturating_sub(rt.monitor.calls_counted.min(now));
    rt.monitor.calls_counted = now;
    if new == 0 {
        return Ok(());
    }
    Spi::run_with_args(
        "UPDATE hubsync.sync_stats SET api_calls = api_calls + $2 WHERE sync_id = $1",
        &[rt.id.into(), (new as i64).into()],
    )
}

fn observe(sync_id: i32) -> SpiResult<Observations> {
    Spi::connect(|client| {
        let row = client
            .select(
                "SELECT coalesce(max(m.latency_ms_max) FILTER (WHERE m.bucket = date_trunc('minute', now())), 0), \
                        coalesce(sum(m.errors), 0)::int8, coalesce(sum(m.pushed + m.pulled + m.errors), 0)::int8, \
                        (SELECT consecutive_failures FROM hubsync.sync_stats WHERE sync_id = $1) \
                 FROM hubsync.metric m \
                 WHERE m.sync_id = $1 AND m.bucket >= date_trunc('minute', now()) - interval '4 minutes'",
                None,
                &[sync_id.into()],
            )?
            .first();
        Ok(Observations {
            max_latency_ms: row.get(1)?.unwrap_or(0.0),
            errors: row.get::<i64>(2)?.unwrap_or(0) as u64,
            attempts: row.get::<i64>(3)?.unwrap_or(0) as u64,
            consecutive_failures: row.get::<i32>(4)?.unwrap_or(0) as u32,
        })
    })
}

/// Opens an alert for each condition that just started, notifying listeners when it is at
/// least as severe as `notification.threshold`.
fn raise(rt: &Runtime, firing: &[Firing]) -> SpiResult<()> {
    let notifications = &rt.config.error_handling.notifications;
    for f in firing {
        let severity = f.condition.severity();
        let opened = crate::catalog::optional(Spi::get_one_with_args::<i64>(
            "INSERT INTO hubsync.alert (sync_id, severity, kind, message) \
             SELECT $1, $2, $3, $4 WHERE NOT EXISTS ( \
                 SELECT 1 FROM hubsync.alert WHERE sync_id = $1 AND kind = $3 AND resolved_at IS NULL) \
             RETURNING id",
            &[rt.id.into(), label(severity).into(), f.condition.kind().into(), f.message.as_str().into()],
        ))?;
        if opened.is_some() && severity >= notifications.threshold {
            let payload = json!({
                "sync": rt.config.name, "kind": f.condition.kind(), "severity": label(severity),
                "message": f.message, "channels": notifications.channels,
                "email": notifications.email, "slack": notifications.slack,
            });
            Spi::run_with_args(
                "SELECT pg_notify('hubsync_alerts', $1)",
                &[payload.to_string().into()],
            )?;
        }
    }
    Ok(())
}

/// Closes the alerts whose condition no longer holds.
fn resolve(sync_id: i32, firing: &[Firing]) -> SpiResult<()> {
    let still: Vec<String> = firing
        .iter()
        .map(|f| f.condition.kind().to_string())
        .collect();
    Spi::run_with_args(
        "UPDATE hubsync.alert SET resolved_at = now() \
         WHERE sync_id = $1 AND resolved_at IS NULL AND NOT (kind = ANY($2))",
        &[sync_id.into(), still.into()],
    )
}

fn clean(sync_id: i32, retention_days: u32) -> SpiResult<()> {
    for (table, column, condition) in [
        ("log", "at", "true"),
        ("metric", "bucket", "true"),
        ("conflict_log", "at", "true"),
        ("alert", "resolved_at", "resolved_at IS NOT NULL"),
    ] {
        Spi::run_with_args(
            &format!(
                "DELETE FROM hubsync.{table} WHERE sync_id = $1 AND {condition} \
                 AND {column} < now() - make_interval(days => $2)"
            ),
            &[sync_id.into(), (retention_days as i32).into()],
        )?;
    }
    Ok(())
}

fn label(severity: Severity) -> &'static str {
    match severity {
        Severity::Info => "info",
        Severity::Warning => "warning",
        Severity::Error => "error",
        Severity::Critical => "critical",
    }
}
