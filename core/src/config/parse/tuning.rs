//! `performance_settings` and `loop_prevention`: how hard and how carefully a sync works.

use crate::config::model::{LoopPrevention, PerformanceSettings};
use crate::config::scalars::Count;
use crate::config::walker::{Obj, Problems};

const PERFORMANCE_KEYS: &[&str] = &[
    "batch_size",
    "parallelism",
    "change_detection",
    "index_recommendation",
    "bulk_threshold",
    "bulk_push_threshold",
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
        let value: u32 = obj.get_or(key, default, problems);
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
        change_detection: obj.get_or("change_detection", defaults.change_detection, problems),
        index_recommendation: obj.get_or(
            "index_recommendation",
            defaults.index_recommendation,
            problems,
        ),
        bulk_threshold: obj
            .get_or("bulk_threshold", Count(defaults.bulk_threshold), problems)
            .0,
        bulk_push_threshold: obj
            .get_or(
                "bulk_push_threshold",
                Count(defaults.bulk_push_threshold),
                problems,
            )
            .0,
    }
}

/// `loop_prevention`, defaulted.
pub(super) fn loop_prevention(root: &Obj, problems: &mut Problems) -> LoopPrevention {
    let defaults = LoopPrevention::default();
    let Some(obj) = root.object("loop_prevention", LOOP_KEYS, problems) else {
        return defaults;
    };
    LoopPrevention {
        enabled: obj.get_or("enabled", defaults.enabled, problems),
        detection_window_seconds: obj.get_or(
            "detection_window_seconds",
            defaults.detection_window_seconds,
            problems,
        ),
        max_update_count: obj.get_or("max_update_count", defaults.max_update_count, problems),
    }
}
