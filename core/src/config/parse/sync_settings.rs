//! The rest of `sync_settings`: `initial_sync`, `ongoing_sync` and `natural_key`.

use super::fields::FieldNames;
use super::layered::Layered;
use crate::config::defaults::INITIAL_SYNC;
use crate::config::model::{InitialSync, OngoingSync};
use crate::config::scalars::PositiveNumber;
use crate::config::walker::{Obj, Problems};
use crate::problem::index_path;

/// `initial_sync.strategy`.
pub(super) fn initial_sync(layered: &Layered, problems: &mut Problems) -> InitialSync {
    let read = |value: &_, path: &str, problems: &mut Problems| {
        let obj = Obj::open(value, path, &["strategy"], problems)?;
        obj.require::<InitialSync>("strategy", "full_load or none", problems)
    };
    layered
        .read("initial_sync", problems, read, PartialEq::eq)
        .map_or(INITIAL_SYNC, |l| l.value)
}

/// `ongoing_sync.mode`, `polling_interval_seconds` and `safety_poll_seconds`.
pub(super) fn ongoing_sync(layered: &Layered, problems: &mut Problems) -> OngoingSync {
    let read = |value: &_, path: &str, problems: &mut Problems| {
        let obj = Obj::open(
            value,
            path,
            &["mode", "polling_interval_seconds", "safety_poll_seconds"],
            problems,
        )?;
        let defaults = OngoingSync::default();
        Some(OngoingSync {
            mode: obj.get_or("mode", defaults.mode, problems),
            polling_interval_seconds: obj
                .get::<PositiveNumber>("polling_interval_seconds", problems)
                .map_or(defaults.polling_interval_seconds, |n| n.0),
            safety_poll_seconds: obj
                .get::<PositiveNumber>("safety_poll_seconds", problems)
                .map_or(defaults.safety_poll_seconds, |n| n.0),
        })
    };
    layered
        .read("ongoing_sync", problems, read, PartialEq::eq)
        .map_or_else(OngoingSync::default, |l| l.value)
}

/// `natural_key`: mapped fields whose values find a record whose create may have succeeded.
pub(super) fn natural_key(
    layered: &Layered,
    fields: &FieldNames,
    problems: &mut Problems,
) -> Vec<String> {
    let Some(key) = layered.get::<Vec<String>>("natural_key", problems) else {
        return Vec::new();
    };
    if key.value.is_empty() {
        problems.invalid(&key.path, "expected at least one field name");
    }
    let mut resolved = Vec::new();
    for (i, name) in key.value.iter().enumerate() {
        match fields.mapping(name) {
            Some(m) => resolved.push(m.remote.clone()),
            None => problems.invalid(
                &index_path(&key.path, i),
                format!("'{name}' is not a mapped field; a natural key is matched with values from the row, so map it first"),
            ),
        }
    }
    resolved
}
