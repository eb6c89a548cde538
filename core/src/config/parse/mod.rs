//! Reading a sync config: the brief's JSON → [`SyncConfig`], every problem at once.
//!
//! Each section has its own reader; readers record problems and fall back to defaults so
//! that one mistake does not hide the next. Sections read after the mappings resolve the
//! field names they mention against them.

mod conflict_policy;
mod direction;
mod endpoints;
mod error_handling;
mod fields;
mod identity;
mod layered;
mod mappings;
mod monitoring;
mod rules;
mod selection;
mod sync_settings;
mod transform;
mod tuning;

use crate::config::model::{FieldSelection, SyncConfig};
use crate::config::walker::{Obj, Problems};
use crate::problem::Problem;
use layered::{Layered, LAYERED_KEYS};
use serde_json::Value;

/// Keys of a sync config besides those also accepted inside `sync_settings`.
const OWN_KEYS: &[&str] = &[
    "name",
    "connection_name",
    "source",
    "target",
    "field_mappings",
    "mapping_options",
    "sync_settings",
    "error_handling",
    "performance_settings",
    "field_selection",
    "include_fields",
    "exclude_fields",
    "validation_rules",
    "monitoring",
    "loop_prevention",
];

/// Keys of a hub config, which belongs to `hubsync.create_hub`.
const HUB_KEYS: &[&str] = &["sync_hub", "connected_systems"];

/// A `field_selection` block on its own (a hub's), with field names as written.
pub(crate) fn field_selection(obj: &Obj, problems: &mut Problems) -> FieldSelection {
    selection::read(obj, &fields::FieldNames(&[]), problems)
}

/// Parses and validates a sync config as `hubsync.create_sync` receives it.
///
/// Returns every problem found, each with its JSON path. Checks that need the local
/// table are in [`crate::config::check_local`].
pub fn parse_sync(json: &Value) -> Result<SyncConfig, Vec<Problem>> {
    if let Some(problem) = hub_config(json) {
        return Err(vec![problem]);
    }
    let mut problems = Problems::default();
    let top_keys = [OWN_KEYS, LAYERED_KEYS].concat();
    let Some(root) = Obj::open(json, "", &top_keys, &mut problems) else {
        return Err(problems.into_vec());
    };
    let layered = Layered::open(&root, &mut problems);
    let ends = endpoints::read(&root, &mut problems);
    let identity = identity::read(&root, &ends, &mut problems);
    let mapping_options = mappings::read_options(&root, &mut problems);
    let mappings = mappings::read(&root, ends.source, &mapping_options, &mut problems);
    let ctx = conflict_policy::Context {
        fields: fields::FieldNames(&mappings),
        remote: ends.remote.as_ref().map(|r| r.system),
        source: ends.source,
        connection: identity.as_ref().map(|i| i.connection.as_str()),
    };
    let field_selection = selection::read(&root, &ctx.fields, &mut problems);
    let conflict = conflict_policy::read(&layered, &ctx, &mut problems);
    let natural_key = sync_settings::natural_key(&layered, &ctx.fields, &mut problems);
    let validation_rules = rules::read(&root, &ctx.fields, &mut problems);
    let direction = direction::read(&layered, ends.source, &mut problems);
    let initial_sync = sync_settings::initial_sync(&layered, &mut problems);
    let ongoing = sync_settings::ongoing_sync(&layered, &mut problems);
    let error_handling = error_handling::read(&root, &mut problems);
    let performance = tuning::performance(&root, &mut problems);
    let monitoring = monitoring::read(&root, &mut problems);
    let loop_prevention = tuning::loop_prevention(&root, &mut problems);
    let (Some(remote), Some(local), Some(identity)) = (ends.remote, ends.local, identity) else {
        debug_assert!(!problems.is_empty(), "a missing end is always reported");
        return Err(problems.into_vec());
    };
    problems.finish(SyncConfig {
        name: identity.name,
        connection: identity.connection,
        remote,
        local,
        source: ends.source.expect("both ends known"),
        direction,
        mappings,
        mapping_options,
        initial_sync,
        ongoing,
        conflict,
        error_handling,
        performance,
        field_selection,
        validation_rules,
        monitoring,
        loop_prevention,
        natural_key,
    })
}

/// A hub config passed to `create_sync` gets one clear pointer instead of unknown-key noise.
fn hub_config(json: &Value) -> Option<Problem> {
    let key = HUB_KEYS.iter().find(|k| json.get(**k).is_some())?;
    Some(Problem::invalid(
        *key,
        "this is a hub config (sync_hub, connected_systems); create it with hubsync.create_hub",
    ))
}

#[cfg(test)]
mod tests;
