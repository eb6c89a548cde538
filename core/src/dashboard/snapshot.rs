//! What the dashboard shows, as owned data: the worker's main thread reads it from SQL
//! (one JSON document, [`Reading`]), folds it into the previous [`Snapshot`] with
//! [`Snapshot::next`], and publishes it on a [`Board`]; the HTTP threads only ever read
//! the board.
//!
//! Invariant: a snapshot holds no secret and no record value — only what `hubsync.status`,
//! `hubsync.metrics`, `hubsync.alerts` and the review queue's counts show to anyone —
//! and only the syncs whose `monitoring.dashboard_enabled` is not `false`.

use crate::config::model::Monitoring;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// How far back the charts reach.
pub const WINDOW_S: f64 = 3.0 * 3600.0;
/// Backlog and lag are sampled at every refresh but kept at most once per this many
/// seconds (the newest sample of a slot wins), so three hours stay a few hundred points.
pub const SAMPLE_SLOT_S: f64 = 15.0;

/// One minute of a sync's `hubsync.metrics`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Minute {
    /// The minute's start, seconds since the epoch.
    pub at: f64,
    pub pushed: i64,
    pub pulled: i64,
    pub errors: i64,
    pub throughput_per_s: f64,
    pub error_rate: Option<f64>,
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    pub p99_ms: Option<f64>,
}

/// Backlog and lag at one moment: `hubsync.metric` keeps no history of them, so the
/// worker remembers its own samples (lost when it restarts; the charts start again).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    /// Seconds since the epoch.
    pub at: f64,
    pub backlog: i64,
    pub oldest_pending_s: Option<f64>,
    pub pull_lag_s: Option<f64>,
}

/// One sync: its `hubsync.status` row, review counts by kind, recent minutes and samples.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyncView {
    pub name: String,
    /// `active` or `paused`.
    pub state: String,
    /// The connection state's label (`ok`, `unauthorized`, …).
    pub connection_state: Option<String>,
    /// Why the sync cannot run, if it cannot (as `hubsync.status.problem`).
    pub problem: Option<String>,
    pub backlog: i64,
    pub oldest_pending_s: Option<f64>,
    pub pull_lag_s: Option<f64>,
    pub pushed: i64,
    pub push_failed: i64,
    pub pulled: i64,
    pub conflicts: i64,
    pub api_calls: i64,
    /// Records in the review queue, by kind.
    #[serde(default)]
    pub review: BTreeMap<String, i64>,
    /// Oldest first, within [`WINDOW_S`].
    #[serde(default)]
    pub minutes: Vec<Minute>,
    /// Oldest first, within [`WINDOW_S`]; filled by [`Snapshot::next`].
    #[serde(default)]
    pub samples: Vec<Sample>,
    /// The config's `monitoring.dashboard_enabled` as stored (absent: the default). Read
    /// to leave the sync out, never shown.
    #[serde(default, skip_serializing)]
    pub dashboard_enabled: Option<bool>,
}

impl SyncView {
    /// Records in the review queue, all kinds.
    pub fn review_total(&self) -> i64 {
        self.review.values().sum()
    }

    /// The newest minute with pushes or pulls, for the "now" figures of `/metrics`.
    pub fn latest_minute(&self) -> Option<&Minute> {
        self.minutes.last()
    }

    /// The newest minute with latency percentiles.
    pub fn latest_latency(&self) -> Option<&Minute> {
        self.minutes.iter().rev().find(|m| m.p50_ms.is_some())
    }
}

/// An open alert (`hubsync.alerts` with no `resolved_at`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    pub sync: String,
    pub severity: String,
    pub kind: String,
    pub message: String,
    /// Seconds since the epoch.
    pub raised_at: f64,
}

/// What one refresh read from SQL, before filtering and history.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Reading {
    /// The database's `now()`, seconds since the epoch.
    pub taken_at: f64,
    #[serde(default)]
    pub syncs: Vec<SyncView>,
    #[serde(default)]
    pub alerts: Vec<Alert>,
}

/// Everything the dashboard serves, as of `taken_at`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Snapshot {
    /// Seconds since the epoch; 0 before the first refresh.
    pub taken_at: f64,
    /// How far back the charts reach, in seconds.
    pub window_s: f64,
    /// Why the figures are not fresh, when the last refresh failed.
    pub problem: Option<String>,
    pub syncs: Vec<SyncView>,
    pub alerts: Vec<Alert>,
}

/// Whether a sync with this stored `monitoring.dashboard_enabled` is shown.
pub fn shown(dashboard_enabled: Option<bool>) -> bool {
    dashboard_enabled.unwrap_or_else(|| Monitoring::default().dashboard_enabled)
}

impl Snapshot {
    /// The snapshot after `reading`: hidden syncs and their alerts left out, each sync's
    /// samples carried over from `self` (by name), the new sample added, and everything
    /// older than [`WINDOW_S`] dropped.
    pub fn next(&self, reading: Reading) -> Snapshot {
        let now = reading.taken_at;
        let since = now - WINDOW_S;
        let syncs: Vec<SyncView> = reading
            .syncs
            .into_iter()
            .filter(|s| shown(s.dashboard_enabled))
            .map(|mut sync| {
                let previous = self.syncs.iter().find(|p| p.name == sync.name);
                let mut samples = previous.map(|p| p.samples.clone()).unwrap_or_default();
                add_sample(
                    &mut samples,
                    Sample {
                        at: now,
                        backlog: sync.backlog,
                        oldest_pending_s: sync.oldest_pending_s,
                        pull_lag_s: sync.pull_lag_s,
                    },
                );
                samples.retain(|s| s.at >= since);
                sync.samples = samples;
                sync.minutes.retain(|m| m.at >= since);
                sync
            })
            .collect();
        let alerts = reading
            .alerts
            .into_iter()
            .filter(|a| syncs.iter().any(|s| s.name == a.sync))
            .collect();
        Snapshot {
            taken_at: now,
            window_s: WINDOW_S,
            problem: None,
            syncs,
            alerts,
        }
    }

    /// The same figures, marked stale with why the refresh failed.
    pub fn stale(&self, problem: String) -> Snapshot {
        Snapshot {
            problem: Some(problem),
            ..self.clone()
        }
    }
}

/// Appends `sample`, replacing the newest one if both fall in the same [`SAMPLE_SLOT_S`].
fn add_sample(samples: &mut Vec<Sample>, sample: Sample) {
    let slot = |s: &Sample| (s.at / SAMPLE_SLOT_S).floor();
    match samples.last_mut() {
        Some(last) if slot(last) == slot(&sample) => *last = sample,
        _ => samples.push(sample),
    }
}

/// Where the main thread puts the newest snapshot and the HTTP threads take it from.
/// Either side holds the lock only to swap or clone an `Arc`, so neither ever waits on
/// the other's work.
#[derive(Clone, Default)]
pub struct Board(Arc<Mutex<Arc<Snapshot>>>);

impl Board {
    /// The newest snapshot.
    pub fn current(&self) -> Arc<Snapshot> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Replaces the snapshot.
    pub fn publish(&self, snapshot: Snapshot) {
        let fresh = Arc::new(snapshot);
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = fresh;
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use serde_json::json;

    /// A reading of one sync `name` at `at` with `backlog`, as the worker's SQL gives it.
    pub fn reading(at: f64, syncs: serde_json::Value) -> Reading {
        serde_json::from_value(json!({"taken_at": at, "syncs": syncs, "alerts": []})).unwrap()
    }

    pub fn sync(name: &str, backlog: i64, enabled: Option<bool>) -> serde_json::Value {
        json!({
            "name": name, "state": "active", "connection_state": "ok", "problem": null,
            "backlog": backlog, "oldest_pending_s": 1.5, "pull_lag_s": null,
            "pushed": 10, "push_failed": 1, "pulled": 2, "conflicts": 0, "api_calls": 7,
            "review": {"validation": 2, "unknown_outcome": 1},
            "minutes": [
                {"at": 0.0, "pushed": 1, "pulled": 0, "errors": 0, "throughput_per_s": 0.02,
                 "error_rate": 0.0, "p50_ms": null, "p95_ms": null, "p99_ms": null},
                {"at": 20000.0, "pushed": 60, "pulled": 0, "errors": 6, "throughput_per_s": 1.0,
                 "error_rate": 0.0909, "p50_ms": 12.5, "p95_ms": 40.1, "p99_ms": 80.0}
            ],
            "dashboard_enabled": enabled
        })
    }

    #[test]
    fn syncs_with_dashboard_enabled_false_are_left_out_with_their_alerts() {
        let mut r = reading(
            20_000.0,
            json!([
                sync("shown", 1, None),
                sync("hidden", 1, Some(false)),
                sync("on", 1, Some(true))
            ]),
        );
        r.alerts = vec![
            Alert {
                sync: "hidden".into(),
                severity: "critical".into(),
                kind: "stopped".into(),
                message: "m".into(),
                raised_at: 1.0,
            },
            Alert {
                sync: "shown".into(),
                severity: "warning".into(),
                kind: "backlog".into(),
                message: "m".into(),
                raised_at: 1.0,
            },
        ];
        let s = Snapshot::default().next(r);
        let names: Vec<&str> = s.syncs.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["shown", "on"]);
        assert_eq!(s.alerts.len(), 1);
        assert_eq!(s.alerts[0].sync, "shown");
    }

    #[test]
    fn samples_accumulate_one_per_slot_within_the_window() {
        let mut s = Snapshot::default();
        for (at, backlog) in [(20_000.0, 5), (20_004.0, 6), (20_016.0, 7), (20_031.0, 8)] {
            s = s.next(reading(at, json!([sync("a", backlog, None)])));
        }
        let backlogs: Vec<i64> = s.syncs[0].samples.iter().map(|x| x.backlog).collect();
        // 20000 and 20004 share a slot (the newer wins); the others each have their own.
        assert_eq!(backlogs, [6, 7, 8]);
        // The minute at 0 is older than the window; the one at 20000 stays.
        assert_eq!(s.syncs[0].minutes.len(), 1);
        let later = s.next(reading(20_031.0 + WINDOW_S, json!([sync("a", 9, None)])));
        let kept: Vec<i64> = later.syncs[0].samples.iter().map(|x| x.backlog).collect();
        assert_eq!(kept, [8, 9]);
    }

    #[test]
    fn a_sync_that_disappears_takes_its_history_along() {
        let s = Snapshot::default().next(reading(100.0, json!([sync("a", 1, None)])));
        let s = s.next(reading(200.0, json!([sync("b", 1, None)])));
        let s = s.next(reading(300.0, json!([sync("a", 2, None)])));
        assert_eq!(s.syncs[0].samples.len(), 1);
    }

    #[test]
    fn the_stored_flag_is_never_served() {
        let s = Snapshot::default().next(reading(100.0, json!([sync("a", 1, Some(true))])));
        let text = serde_json::to_string(&s).unwrap();
        assert!(!text.contains("dashboard_enabled"), "{text}");
        assert_eq!(s.syncs[0].review_total(), 3);
        assert_eq!(s.syncs[0].latest_latency().unwrap().p99_ms, Some(80.0));
    }

    #[test]
    fn the_board_hands_out_what_was_published_last() {
        let board = Board::default();
        assert_eq!(board.current().taken_at, 0.0);
        board.publish(Snapshot::default().next(reading(5.0, json!([]))));
        let held = board.current();
        board.publish(Snapshot::default().next(reading(6.0, json!([]))));
        assert_eq!((held.taken_at, board.current().taken_at), (5.0, 6.0));
    }
}
