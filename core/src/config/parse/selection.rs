//! `field_selection` with `include_fields` / `exclude_fields`: a guard on what may be mapped.
//!
//! The brief recommends syncing only the fields that need sharing; a mapping of a field
//! the selection leaves out is a contradiction in the config, reported at the mapping.

use super::fields::FieldNames;
use crate::config::model::{FieldMapping, FieldSelection};
use crate::config::walker::{keywords, Located, Obj, Problems};
use crate::problem::index_path;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Explicit,
    All,
}

keywords!(Mode { "explicit" => Mode::Explicit, "all" => Mode::All });

/// The selection, with names resolved to remote fields, checked against the mappings.
pub(super) fn read(root: &Obj, fields: &FieldNames, problems: &mut Problems) -> FieldSelection {
    let mode = root.get::<Mode>("field_selection", problems);
    let include = root.located::<Vec<String>>("include_fields", problems);
    let exclude = root.located::<Vec<String>>("exclude_fields", problems);
    let explicit = match mode {
        Some(mode) => mode == Mode::Explicit,
        None => include.is_some(),
    };
    if explicit && include.is_none() && !root.has("include_fields") {
        problems.invalid(
            "include_fields",
            "required key is missing; field_selection 'explicit' needs the list of fields to sync",
        );
    }
    if let (false, Some(list)) = (explicit, &include) {
        problems.invalid(
            &list.path,
            "include_fields only applies with field_selection 'explicit'",
        );
    }
    let resolve = |list: &Option<Located<Vec<String>>>| {
        list.as_ref()
            .map(|l| {
                l.value
                    .iter()
                    .map(|name| fields.remote_field(name))
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
    };
    let selection = FieldSelection {
        explicit,
        include: resolve(&include),
        exclude: resolve(&exclude),
    };
    check_overlap(
        &selection,
        exclude.as_ref().map(|l| l.path.as_str()),
        problems,
    );
    // Without a readable include list its absence is the one problem, not every mapping.
    let guard_include = explicit && include.is_some();
    check_mappings(&selection, guard_include, fields.0, problems);
    selection
}

/// A field cannot be both included and excluded.
fn check_overlap(selection: &FieldSelection, exclude_path: Option<&str>, problems: &mut Problems) {
    let Some(exclude_path) = exclude_path else {
        return;
    };
    for (i, name) in selection.exclude.iter().enumerate() {
        if contains(&selection.include, name) {
            problems.invalid(
                &index_path(exclude_path, i),
                format!("'{name}' is also in include_fields; keep it in one list"),
            );
        }
    }
}

/// Every mapped remote field must be selected (by `include` when `guard_include`).
fn check_mappings(
    selection: &FieldSelection,
    guard_include: bool,
    mappings: &[FieldMapping],
    problems: &mut Problems,
) {
    for m in mappings {
        if contains(&selection.exclude, &m.remote) {
            problems.invalid(
                &m.remote_path(),
                format!(
                    "'{}' is listed in exclude_fields; remove the mapping or the exclusion",
                    m.remote
                ),
            );
        } else if guard_include && !contains(&selection.include, &m.remote) {
            problems.invalid(
                &m.remote_path(),
                format!(
                    "'{}' is not in include_fields (field_selection is explicit); add it there or remove the mapping",
                    m.remote
                ),
            );
        }
    }
}

/// Salesforce field names ignore case.
fn contains(list: &[String], field: &str) -> bool {
    list.iter().any(|f| f.eq_ignore_ascii_case(field))
}
