//! `monitoring`, in either of the brief's shapes (`metrics`/`alerting`/`logging` or
//! `dashboard_enabled`/`log_level`/`metric_collection`), or both at once.

use crate::config::model::{Alerting, LogLevel, Metric, Monitoring};
use crate::config::scalars::Fraction;
use crate::config::walker::{reconcile, Obj, Problems};

const KEYS: &[&str] = &[
    "metrics",
    "alerting",
    "logging",
    "dashboard_enabled",
    "log_level",
    "metric_collection",
];
const ALERT_KEYS: &[&str] = &[
    "latency_threshold_ms",
    "error_rate_threshold",
    "consecutive_failures_threshold",
];
const LOGGING_KEYS: &[&str] = &["level", "retention_days"];

/// `monitoring`, defaulted; the two metric lists add up, the two log levels must agree.
pub(super) fn read(root: &Obj, problems: &mut Problems) -> Monitoring {
    let defaults = Monitoring::default();
    let Some(obj) = root.object("monitoring", KEYS, problems) else {
        return defaults;
    };
    let logging = obj.object("logging", LOGGING_KEYS, problems);
    let level = reconcile(
        logging
            .as_ref()
            .and_then(|l| l.located::<LogLevel>("level", problems)),
        obj.located::<LogLevel>("log_level", problems),
        PartialEq::eq,
        problems,
    );
    Monitoring {
        metrics: metrics(&obj, problems).unwrap_or(defaults.metrics),
        alerting: alerting(&obj, problems).unwrap_or(defaults.alerting),
        log_level: level.map_or(defaults.log_level, |l| l.value),
        retention_days: logging
            .as_ref()
            .and_then(|l| l.get("retention_days", problems))
            .unwrap_or(defaults.retention_days),
        dashboard_enabled: obj.get_or("dashboard_enabled", defaults.dashboard_enabled, problems),
    }
}

/// `metrics` and `metric_collection` together, each metric once; `None` if neither is given.
fn metrics(obj: &Obj, problems: &mut Problems) -> Option<Vec<Metric>> {
    let lists: Vec<Vec<Metric>> = ["metrics", "metric_collection"]
        .iter()
        .filter_map(|key| obj.get::<Vec<Metric>>(key, problems))
        .collect();
    if lists.is_empty() {
        return None;
    }
    let mut all: Vec<Metric> = Vec::new();
    for metric in lists.into_iter().flatten() {
        if !all.contains(&metric) {
            all.push(metric);
        }
    }
    Some(all)
}

fn alerting(obj: &Obj, problems: &mut Problems) -> Option<Alerting> {
    let a = obj.object("alerting", ALERT_KEYS, problems)?;
    Some(Alerting {
        latency_threshold_ms: a.get("latency_threshold_ms", problems),
        error_rate_threshold: a
            .get::<Fraction>("error_rate_threshold", problems)
            .map(|f| f.0),
        consecutive_failures_threshold: a.get("consecutive_failures_threshold", problems),
    })
}
