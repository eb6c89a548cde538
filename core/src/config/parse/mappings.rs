//! `field_mappings` and `mapping_options`: which remote field goes with which local column.
//!
//! A mapping reads `{"source": <name on the source end>, "target": <name on the target end>}`,
//! so its remote and local names swap with the config's orientation.

use super::transform;
use crate::config::model::{FieldMapping, MappingOptions, Side};
use crate::config::scalars::{ApiName, PgName};
use crate::config::walker::{text_type, Obj, Problems};
use serde_json::Value;

const MAPPING_KEYS: &[&str] = &[
    "source",
    "target",
    "transformation",
    "external_id",
    "one_way",
];
const OPTION_KEYS: &[&str] = &["handle_nulls", "timestamp_format", "default_phone_region"];

text_type!(
    /// An ISO 3166 alpha-2 country code, as phone formatting needs.
    Region,
    "a two-letter ISO 3166 country code such as \"US\" or \"GB\"",
    |s| s.len() == 2 && s.chars().all(|c| c.is_ascii_uppercase())
);

/// `mapping_options`, defaulted.
pub(super) fn read_options(root: &Obj, problems: &mut Problems) -> MappingOptions {
    let defaults = MappingOptions::default();
    let Some(obj) = root.object("mapping_options", OPTION_KEYS, problems) else {
        return defaults;
    };
    MappingOptions {
        handle_nulls: obj.get_or("handle_nulls", defaults.handle_nulls, problems),
        timestamp_format: obj.get_or("timestamp_format", defaults.timestamp_format, problems),
        default_phone_region: obj
            .get::<Region>("default_phone_region", problems)
            .map_or(defaults.default_phone_region, |r| r.0),
    }
}

/// Every mapping of `field_mappings`; `source` is the side the config calls source, if known.
pub(super) fn read(
    root: &Obj,
    source: Option<Side>,
    options: &MappingOptions,
    problems: &mut Problems,
) -> Vec<FieldMapping> {
    let present = root.value("field_mappings");
    if present.is_none() {
        problems.invalid(
            "field_mappings",
            "required key is missing; expected an array of mappings such as \
             {\"source\": \"Name\", \"target\": \"account_name\"}",
        );
    }
    let items = root.items("field_mappings", problems);
    if items.is_empty() && present.is_some_and(Value::is_array) {
        problems.invalid("field_mappings", "expected at least one mapping");
    }
    let mappings: Vec<FieldMapping> = items
        .iter()
        .filter_map(|(path, value)| read_one(path, value, source, options, problems))
        .collect();
    check_each_name_once(&mappings, problems);
    check_upsert_key(&mappings, problems);
    mappings
}

fn read_one(
    path: &str,
    value: &Value,
    source: Option<Side>,
    options: &MappingOptions,
    problems: &mut Problems,
) -> Option<FieldMapping> {
    let obj = Obj::open(value, path, MAPPING_KEYS, problems)?;
    let source_name = read_name(&obj, "source", source, problems);
    let target_name = read_name(&obj, "target", source.map(Side::other), problems);
    let transform = match obj.value("transformation") {
        Some(v) => transform::read(
            v,
            &obj.at("transformation"),
            &options.default_phone_region,
            problems,
        ),
        None => Some(crate::config::model::Transform::None),
    };
    let external_id = obj.get::<bool>("external_id", problems).unwrap_or(false);
    let one_way = obj.get::<bool>("one_way", problems).unwrap_or(false);
    let (source_name, target_name, transform) = (source_name?, target_name?, transform?);
    // With an unknown orientation the config already has a problem; any choice is fine here.
    let side = source.unwrap_or(Side::Remote);
    let (remote, local) = match side {
        Side::Remote => (source_name, target_name),
        Side::Local => (target_name, source_name),
    };
    Some(FieldMapping {
        remote,
        local,
        transform,
        source: side,
        external_id,
        one_way,
        path: path.to_string(),
    })
}

/// A field name checked by the rules of the side it names.
fn read_name(obj: &Obj, key: &str, side: Option<Side>, problems: &mut Problems) -> Option<String> {
    match side {
        Some(Side::Remote) => obj
            .require::<ApiName>(key, "the remote field's API name, e.g. \"Name\"", problems)
            .map(|n| n.0),
        Some(Side::Local) => obj
            .require::<PgName>(key, "the local column's name", problems)
            .map(|n| n.0),
        None => obj.require::<String>(key, "a field name", problems),
    }
}

/// Each local column and each remote field may be mapped once.
fn check_each_name_once(mappings: &[FieldMapping], problems: &mut Problems) {
    for (i, m) in mappings.iter().enumerate() {
        let earlier = &mappings[..i];
        if let Some(first) = earlier.iter().find(|e| e.local == m.local) {
            problems.invalid(
                &m.local_path(),
                format!(
                    "column '{}' is already mapped at {}; map each column once",
                    m.local, first.path
                ),
            );
        }
        if let Some(first) = earlier
            .iter()
            .find(|e| e.remote.eq_ignore_ascii_case(&m.remote))
        {
            problems.invalid(
                &m.remote_path(),
                format!(
                    "field '{}' is already mapped at {}; map each field once",
                    m.remote, first.path
                ),
            );
        }
    }
}

/// At most one mapping is the upsert key, and it is not the record `Id` itself.
fn check_upsert_key(mappings: &[FieldMapping], problems: &mut Problems) {
    let keys: Vec<&FieldMapping> = mappings.iter().filter(|m| m.external_id).collect();
    for key in &keys {
        if key.remote.eq_ignore_ascii_case("Id") {
            problems.invalid(
                &format!("{}.external_id", key.path),
                "'Id' is the record id itself; mark a custom External ID field as the upsert key",
            );
        }
    }
    for extra in keys.iter().skip(1) {
        problems.invalid(
            &format!("{}.external_id", extra.path),
            format!(
                "only one mapping can be the upsert key; '{}' at {} already is",
                keys[0].remote, keys[0].path
            ),
        );
    }
}
