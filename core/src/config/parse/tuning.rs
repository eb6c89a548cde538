//! `performance_settings` and `loop_prevention`: how hard and how carefully a sync works.

use crate::config::model::{LoopPrevention, PerformanceSettings};
use crate::config::walker::{Obj, Problems};

const PERFORMANCE_KEYS: &[&str] = &[
    "batch_size",
    "parallelism",
    "change_detection",
    "index_recommendation",
];
const LOOP_KEYS: &[&str] = &["enabled", "detection_window_seconds", "max_update_count"];

/// Rows claimed per batch beyond this hold one transaction and its locks for too long.
const MAX_BATCH_SIZE: u32 = 100_000;
/// Concurrent requests beyond this exceed what an org's API limits tolerate.
const MAX_PARALLELISM: u32 = 64;

/// `performance_settings`, defaulted.
pub(super) fn performance(root: &Obj, problems: &mut Problems) -> PerformanceSettings {
    let defaults = PerformanceSettings::default();
    let Some(obj) = root.object("performance_settings", PERFORMANCE_KEYS, problems) else {
        return defaults;
    };
    let bounded = |key: &str, max: u32, default: u32, problems: &mut Problems| {
        let value: u32 = obj.get(key, problems).unwrap_or(default);
        if value > max {
            problems.invalid(&obj.at(key), format!("expected at most {max}, got {value}"));
        }
        value
    };
    PerformanceSettings {
        batch_size: bounded("batch_size", MAX_BATCH_SIZE, defaults.batch_size, problems),
        parallelism: bounded(
            "parallelism",
            MAX_PARALLELISM,
            defaults.parallelism,
            problems,
        ),
        change_detection: obj
            .get("change_detection", problems)
            .unwrap_or(defaults.change_detection),
        index_recommendation: obj
            .get("index_recommendation", problems)
            .unwrap_or(defaults.index_recommendation),
    }
}

/// `loop_prevention`, defaulted.
pub(super) fn loop_prevention(root: &Obj, problems: &mut Problems) -> LoopPrevention {
    let defaults = LoopPrevention::default();
    let Some(obj) = root.object("loop_prevention", LOOP_KEYS, problems) else {
        return defaults;
    };
    LoopPrevention {
        enabled: obj.get("enabled", problems).unwrap_or(defaults.enabled),
        detection_window_seconds: obj
            .get("detection_window_seconds", problems)
            .unwrap_or(defaults.detection_window_seconds),
        max_update_count: obj
            .get("max_update_count", problems)
            .unwrap_or(defaults.max_update_count),
    }
}
