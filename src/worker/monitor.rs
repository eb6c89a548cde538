//! Alerts, notifications and housekeeping per sync: after its work settles (at most once a
//! second), the worker measures the sync (`monitoring.alerting` thresholds, a stop, records
//! parked for review, a growing backlog: [`hubsync_core::notify::incidents`]), raises an
//! alert when a condition starts and resolves it when it ends. Each start and end at least
//! as severe as `notification.threshold` becomes a row of the notification outbox for
//! every channel the sync names (sent by [`super::notify`]), and a `NOTIFY hubsync_alerts`
//! for listeners. Once an hour it drops log lines, metrics and notifications older than
//! `monitoring.logging.retention_days`.

use super::runtime::Runtime;
use crate::catalog::notifications;
use hubsync_core::alerts::{Condition, Firing, Observations};
use hubsync_core::connection_state::ConnectionState;
use hubsync_core::notify::incidents::{evaluate_all, Situation};
use hubsync_core::notify::trend::Trend;
use hubsync_core::notify::{selected, severity_label as label, Notice, Transition};
use pgrx::prelude::*;
use pgrx::spi::SpiResult;
use serde_json::json;
use std::time::{Duration, Instant};

const EVERY: Duration = Duration::from_secs(1);
const HOUSEKEEPING_EVERY: Duration = Duration::from_secs(3600);
/// How often the backlog is counted for the growing-backlog condition.
const BACKLOG_EVERY: Duration = Duration::from_secs(5);

/// When a sync was last checked, and when its old rows were last dropped.
#[derive(Default)]
pub struct MonitorState {
    checked: Option<Instant>,
    cleaned: Option<Instant>,
    /// The client's request counter when last added to `sync_stats.api_calls`.
    calls_counted: u64,
    /// The backlog over the last minutes.
    trend: Trend,
    /// The connection state last seen, and since when.
    state_since: Option<(ConnectionState, Instant)>,
    /// The backlog condition is raised.
    backlog_raised: bool,
    /// A monotonic origin for [`Trend`]'s seconds.
    origin: Option<Instant>,
    /// The backlog when last counted.
    backlog: Option<(Instant, u64)>,
}

impl MonitorState {
    /// A second has passed since the last check.
    pub fn due(&self) -> bool {
        self.checked.is_none_or(|t| t.elapsed() >= EVERY)
    }

    /// The state a rebuilt runtime keeps (a config or credentials change must not make a
    /// growing backlog or a long rate limit look new); its new client counts from zero.
    pub fn carried_over(self) -> MonitorState {
        MonitorState {
            calls_counted: 0,
            ..self
        }
    }
}

/// Checks the sync's conditions (call when [`MonitorState::due`]); returns whether
/// notifications were added to the outbox.
pub fn check(rt: &mut Runtime) -> SpiResult<bool> {
    let now = Instant::now();
    rt.monitor.checked = Some(now);
    count_calls(rt)?;
    let seen = situation(rt, now)?;
    let firing = evaluate_all(&rt.config.monitoring.alerting, &seen);
    rt.monitor.backlog_raised = firing.iter().any(|f| f.condition == Condition::Backlog);
    let mut notices = raise(rt, &firing, &seen)?;
    notices.extend(resolve(rt, &firing)?);
    let added = notify(rt, &notices)?;
    if rt
        .monitor
        .cleaned
        .is_none_or(|t| t.elapsed() >= HOUSEKEEPING_EVERY)
    {
        rt.monitor.cleaned = Some(Instant::now());
        clean(rt.id, rt.config.monitoring.retention_days)?;
    }
    Ok(added)
}

/// What the sync looks like now: the alerting observations from the catalog, its
/// connection state from memory, and its review queue and backlog.
fn situation(rt: &mut Runtime, now: Instant) -> SpiResult<Situation> {
    let observed = observe(rt.id)?;
    let review = Spi::get_one_with_args::<i64>(
        "SELECT count(*) FROM hubsync.review WHERE sync_id = $1",
        &[rt.id.into()],
    )?
    .unwrap_or(0) as u64;
    // Counting the outbox reads all of the sync's rows: every few seconds is enough.
    let backlog = match rt.monitor.backlog {
        Some((at, n)) if now.duration_since(at) < BACKLOG_EVERY => n,
        _ => {
            let n = Spi::get_one_with_args::<i64>(
                "SELECT count(*) FROM hubsync.outbox WHERE sync_id = $1",
                &[rt.id.into()],
            )?
            .unwrap_or(0) as u64;
            rt.monitor.backlog = Some((now, n));
            n
        }
    };
    let state = rt.health_state();
    let since = match rt.monitor.state_since {
        Some((s, t)) if s == state => t,
        _ => now,
    };
    rt.monitor.state_since = Some((state, since));
    let origin = *rt.monitor.origin.get_or_insert(now);
    let seconds = now.duration_since(origin).as_secs_f64();
    rt.monitor.trend.record(seconds, backlog);
    Ok(Situation {
        observed,
        connection_state: state,
        state_held_s: now.duration_since(since).as_secs_f64(),
        problem: rt.problem().map(str::to_string),
        review,
        backlog,
        backlog_growing: rt
            .monitor
            .trend
            .growing(seconds, backlog, rt.monitor.backlog_raised),
    })
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

/// Opens an alert for each condition that just started; returns the notices to send
/// (those at least as severe as `notification.threshold`) and NOTIFYs listeners of them.
fn raise(rt: &Runtime, firing: &[Firing], seen: &Situation) -> SpiResult<Vec<(i64, Notice)>> {
    let notifications = &rt.config.error_handling.notifications;
    let mut notices = Vec::new();
    for f in firing {
        let severity = f.condition.severity();
        let opened = Spi::connect_mut(|client| {
            let mut rows = client.update(
                "INSERT INTO hubsync.alert (sync_id, severity, kind, message) \
                 SELECT $1, $2, $3, $4 WHERE NOT EXISTS ( \
                     SELECT 1 FROM hubsync.alert WHERE sync_id = $1 AND kind = $3 AND resolved_at IS NULL) \
                 RETURNING id, raised_at::text",
                None,
                &[rt.id.into(), label(severity).into(), f.condition.kind().into(), f.message.as_str().into()],
            )?;
            match rows.next() {
                Some(row) => SpiResult::Ok(Some((
                    row.get::<i64>(1)?.unwrap_or_default(),
                    row.get::<String>(2)?.unwrap_or_default(),
                ))),
                None => Ok(None),
            }
        })?;
        let Some((alert_id, since)) = opened else {
            continue;
        };
        if !selected(severity, notifications.threshold) {
            continue;
        }
        let payload = json!({
            "sync": rt.config.name, "kind": f.condition.kind(), "severity": label(severity),
            "message": f.message, "channels": notifications.channels,
            "email": notifications.email, "slack": notifications.slack,
        });
        Spi::run_with_args(
            "SELECT pg_notify('hubsync_alerts', $1)",
            &[payload.to_string().into()],
        )?;
        let records = match f.condition {
            Condition::Review | Condition::ErrorRate => Some(seen.review),
            _ => Some(seen.backlog),
        };
        notices.push((
            alert_id,
            Notice {
                sync: rt.config.name.clone(),
                connection: rt.config.connection.clone(),
                kind: f.condition.kind().into(),
                severity: label(severity).into(),
                transition: Transition::Raised,
                message: f.message.clone(),
                since,
                resolved_at: None,
                records,
                state: Some(seen.connection_state.label().to_string()),
            },
        ));
    }
    Ok(notices)
}

/// Closes the alerts whose condition no longer holds; returns the resolved notices of
/// those that were told when raised.
fn resolve(rt: &Runtime, firing: &[Firing]) -> SpiResult<Vec<(i64, Notice)>> {
    let threshold = rt.config.error_handling.notifications.threshold;
    let still: Vec<String> = firing
        .iter()
        .map(|f| f.condition.kind().to_string())
        .collect();
    Spi::connect_mut(|client| {
        let rows = client.update(
            "UPDATE hubsync.alert SET resolved_at = now() \
             WHERE sync_id = $1 AND resolved_at IS NULL AND NOT (kind = ANY($2)) \
             RETURNING id, kind, message, raised_at::text, resolved_at::text",
            None,
            &[rt.id.into(), still.into()],
        )?;
        let mut out = Vec::new();
        for row in rows {
            let kind: String = row.get(2)?.unwrap_or_default();
            let Some(condition) = Condition::from_kind(&kind) else {
                continue;
            };
            if !selected(condition.severity(), threshold) {
                continue;
            }
            let message: String = row.get(3)?.unwrap_or_default();
            out.push((
                row.get::<i64>(1)?.unwrap_or_default(),
                Notice {
                    sync: rt.config.name.clone(),
                    connection: rt.config.connection.clone(),
                    kind,
                    severity: label(condition.severity()).into(),
                    transition: Transition::Resolved,
                    message: format!("cleared: {message}"),
                    since: row.get(4)?.unwrap_or_default(),
                    resolved_at: row.get(5)?,
                    records: None,
                    state: None,
                },
            ));
        }
        Ok(out)
    })
}

/// Adds a row to the notification outbox per notice and destination the sync names.
fn notify(rt: &Runtime, notices: &[(i64, Notice)]) -> SpiResult<bool> {
    let n = &rt.config.error_handling.notifications;
    let connection = n.connection_name();
    let mut rows = Vec::new();
    for (alert_id, notice) in notices {
        for channel in &n.channels {
            let destinations: Vec<String> = match channel.as_str() {
                "slack" => vec![n
                    .slack
                    .clone()
                    .unwrap_or_else(|| super::notify::CONNECTION_DEFAULT.into())],
                "email" if !n.email.is_empty() => n.email.clone(),
                "email" => vec![super::notify::CONNECTION_DEFAULT.into()],
                // `webhook` channels are accepted in configs but not delivered yet.
                _ => continue,
            };
            for destination in destinations {
                rows.push(notifications::New {
                    sync_id: rt.id,
                    alert_id: *alert_id,
                    channel: channel.as_str(),
                    connection,
                    destination,
                    notice,
                });
            }
        }
    }
    notifications::add(&rows)?;
    Ok(!rows.is_empty())
}

fn clean(sync_id: i32, retention_days: u32) -> SpiResult<()> {
    notifications::clean(sync_id, retention_days)?;
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
