//! Field transformations, compiled once per mapping, with their inverses.
//!
//! A transform is written source → target. Values flowing the other way take its
//! inverse: identity for `format_phone` (an E.164 number is a fine source value) and the
//! reverse lookup for an injective `value_map`. Transforms that discard information
//! (`lowercase`, `uppercase`, `trim`, `default`, a `value_map` with a `default` or two keys
//! mapped to one value) have no inverse; a mapping using one may only flow forward, so
//! [`check_transforms`] refuses it on a two-way flow unless the mapping is `one_way`.

use super::datum::{Category, Datum};
use super::decimal::abbreviate;
use super::phone::PhoneRegion;
use super::selection;
use crate::config::{FieldMapping, Side, SyncConfig, TimestampFormat, Transform};
use crate::problem::{child_path, index_path, Problem};
use serde_json::Value;
use std::collections::HashMap;

/// A transform ready to run.
#[derive(Debug, Clone)]
pub enum Compiled {
    Identity,
    Phone(PhoneRegion),
    Lowercase,
    Uppercase,
    Trim,
    ValueMap(ValueMap),
    Default(Datum),
}

/// A `value_map` with both lookups prepared; keys are canonical texts of the values.
#[derive(Debug, Clone)]
pub struct ValueMap {
    forward: HashMap<String, Datum>,
    backward: HashMap<String, Datum>,
    default: Option<Datum>,
}

/// Why a value could not be transformed; `rule` names the transform for the review queue.
#[derive(Debug, Clone, PartialEq)]
pub struct TransformError {
    pub rule: &'static str,
    pub message: String,
}

impl Compiled {
    /// Prepares `transform`, whose source values are of `source` kind and target values of
    /// `target` kind; config values that cannot be of those kinds are refused here.
    pub fn new(
        transform: &Transform,
        source: Category,
        target: Category,
        format: TimestampFormat,
    ) -> Result<Compiled, String> {
        Ok(match transform {
            Transform::None => Compiled::Identity,
            Transform::FormatPhone { default_region } => {
                Compiled::Phone(PhoneRegion::parse(default_region)?)
            }
            Transform::Lowercase => Compiled::Lowercase,
            Transform::Uppercase => Compiled::Uppercase,
            Transform::Trim => Compiled::Trim,
            Transform::ValueMap { values, default } => {
                let mut map = ValueMap {
                    forward: HashMap::new(),
                    backward: HashMap::new(),
                    default: None,
                };
                for (key, value) in values {
                    let key_datum = Datum::Text(key.clone())
                        .coerce(source, format)
                        .map_err(|e| format!("value_map key \"{key}\": {e}"))?;
                    let value_datum = Datum::from_config(value)
                        .coerce(target, format)
                        .map_err(|e| format!("value_map value for \"{key}\": {e}"))?;
                    if let Some(k) = canonical(&key_datum, format) {
                        map.forward.insert(k, value_datum.clone());
                    }
                    if let Some(v) = canonical(&value_datum, format) {
                        map.backward.entry(v).or_insert(key_datum);
                    }
                }
                map.default = match default {
                    Some(d) => Some(
                        Datum::from_config(d)
                            .coerce(target, format)
                            .map_err(|e| format!("value_map default: {e}"))?,
                    ),
                    None => None,
                };
                Compiled::ValueMap(map)
            }
            Transform::Default { value } => Compiled::Default(
                Datum::from_config(value)
                    .coerce(target, format)
                    .map_err(|e| format!("default value: {e}"))?,
            ),
        })
    }

    /// Source value → target value.
    pub fn forward(&self, datum: Datum, format: TimestampFormat) -> Result<Datum, TransformError> {
        match (self, datum) {
            (Compiled::Default(value), Datum::Null) => Ok(value.clone()),
            (_, Datum::Null) => Ok(Datum::Null),
            (Compiled::Identity | Compiled::Default(_), d) => Ok(d),
            (Compiled::Phone(region), d) => phone(*region, d, format),
            (Compiled::Lowercase, d) => Ok(map_text(d, |s| s.to_lowercase())),
            (Compiled::Uppercase, d) => Ok(map_text(d, |s| s.to_uppercase())),
            (Compiled::Trim, d) => Ok(map_text(d, |s| s.trim().to_string())),
            (Compiled::ValueMap(map), d) => {
                let key = canonical(&d, format).unwrap_or_default();
                map.forward
                    .get(&key)
                    .or(map.default.as_ref())
                    .cloned()
                    .ok_or_else(|| TransformError {
                        rule: "value_map",
                        message: format!(
                            "\"{}\" has no entry in the value_map and there is no default; add it to the map",
                            abbreviate(&key)
                        ),
                    })
            }
        }
    }

    /// Target value → source value, for values flowing against the mapping's direction.
    pub fn inverse(&self, datum: Datum, format: TimestampFormat) -> Result<Datum, TransformError> {
        match (self, datum) {
            (_, Datum::Null) => Ok(Datum::Null),
            (Compiled::ValueMap(map), d) => {
                let key = canonical(&d, format).unwrap_or_default();
                map.backward.get(&key).cloned().ok_or_else(|| TransformError {
                    rule: "value_map",
                    message: format!(
                        "\"{}\" is not one of the value_map's target values, so it has no source value",
                        abbreviate(&key)
                    ),
                })
            }
            (_, d) => Ok(d),
        }
    }

    /// Brings a target-side value to the form in which two values that mean the same thing
    /// are equal (`format_phone`: the E.164 number, however either side wrote it).
    pub fn agreement_form(&self, datum: Datum) -> Datum {
        match (self, datum) {
            (Compiled::Phone(region), Datum::Text(s)) => {
                Datum::Text(region.to_e164(&s).unwrap_or(s))
            }
            (_, d) => d,
        }
    }
}

fn phone(
    region: PhoneRegion,
    datum: Datum,
    format: TimestampFormat,
) -> Result<Datum, TransformError> {
    let text = datum.to_text(format).unwrap_or_default();
    if text.trim().is_empty() {
        return Ok(Datum::Null);
    }
    region
        .to_e164(&text)
        .map(Datum::Text)
        .map_err(|message| TransformError {
            rule: "format_phone",
            message,
        })
}

fn map_text(datum: Datum, f: impl Fn(&str) -> String) -> Datum {
    match datum {
        Datum::Text(s) => Datum::Text(f(&s)),
        Datum::List(items) => Datum::List(items.iter().map(|s| f(s)).collect()),
        other => other,
    }
}

/// The text by which `value_map` entries are matched: numbers by value (`1.0` = `1`),
/// everything else by its text form.
fn canonical(datum: &Datum, format: TimestampFormat) -> Option<String> {
    datum.to_text(format)
}

/// Why a transform cannot be used on a mapping that also flows target → source, if it cannot.
fn irreversible(transform: &Transform) -> Option<String> {
    let what = match transform {
        Transform::None | Transform::FormatPhone { .. } => return None,
        Transform::Lowercase => "lowercase loses the original letter case",
        Transform::Uppercase => "uppercase loses the original letter case",
        Transform::Trim => "trim loses the original surrounding whitespace",
        Transform::Default { .. } => {
            "default turns a null into a value, so the null could not be restored"
        }
        Transform::ValueMap {
            default: Some(_), ..
        } => "a value_map default sends many source values to one target value",
        Transform::ValueMap { values, .. } => return non_injective(values),
    };
    Some(what.to_string())
}

fn non_injective(values: &std::collections::BTreeMap<String, Value>) -> Option<String> {
    let mut seen: HashMap<String, &str> = HashMap::new();
    for (key, value) in values {
        let target = canonical(&Datum::from_config(value), TimestampFormat::Iso8601)
            .unwrap_or_else(|| "null".to_string());
        if let Some(first) = seen.insert(target.clone(), key) {
            return Some(format!(
                "the value_map sends both \"{first}\" and \"{key}\" to \"{}\"",
                abbreviate(&target)
            ));
        }
    }
    None
}

/// Problems with one mapping's transform; `flows_back` says whether values also flow
/// target → source on this mapping.
pub fn mapping_problems(mapping: &FieldMapping, index: usize, flows_back: bool) -> Vec<Problem> {
    let path = child_path(&index_path("field_mappings", index), "transformation");
    let mut problems = Vec::new();
    match &mapping.transform {
        Transform::FormatPhone { default_region } => {
            if let Err(e) = PhoneRegion::parse(default_region) {
                problems.push(Problem::invalid(path.clone(), e));
            }
        }
        Transform::ValueMap { values, .. } if values.is_empty() => {
            problems.push(Problem::invalid(
                path.clone(),
                "value_map has no values; list the source values and what each becomes",
            ));
        }
        _ => {}
    }
    if flows_back {
        if let Some(why) = irreversible(&mapping.transform) {
            let (from, to) = sides(mapping.source);
            problems.push(Problem::invalid(
                path,
                format!(
                    "{why}, but this mapping also flows from {to} to {from}, which would corrupt {from} values; \
                     add \"one_way\": true to the mapping, or make the sync one-way"
                ),
            ));
        }
    }
    problems
}

fn sides(source: Side) -> (&'static str, &'static str) {
    match source {
        Side::Local => ("the local table", "Salesforce"),
        Side::Remote => ("Salesforce", "the local table"),
    }
}

/// Refuses configs whose transforms would corrupt data on a round trip (see the module doc),
/// and transforms that cannot work at all (unknown phone region, empty value_map).
/// Needs only the config; [`super::Mapper::new`] runs the same checks knowing which
/// Salesforce fields are read-only (a read-only field never flows back).
pub fn check_transforms(config: &SyncConfig) -> Vec<Problem> {
    config
        .mappings
        .iter()
        .enumerate()
        .filter(|(_, m)| selection::is_selected(&config.field_selection, m))
        .flat_map(|(i, m)| {
            let flow = selection::config_flow(config, m);
            mapping_problems(m, i, flow.backward(m.source))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::decimal::Decimal;
    use crate::mapping::testkit;
    use serde_json::json;
    use std::collections::BTreeMap;

    const ISO: TimestampFormat = TimestampFormat::Iso8601;

    fn compile(t: Transform, source: Category, target: Category) -> Compiled {
        Compiled::new(&t, source, target, ISO).unwrap()
    }

    fn text(s: &str) -> Datum {
        Datum::Text(s.into())
    }

    fn value_map(pairs: &[(&str, Value)], default: Option<Value>) -> Transform {
        Transform::ValueMap {
            values: pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
            default,
        }
    }

    #[test]
    fn none_passes_everything_both_ways() {
        let t = compile(Transform::None, Category::Text, Category::Text);
        for d in [
            text(""),
            text("日本語 ✓"),
            Datum::Null,
            text(&"x".repeat(100_000)),
        ] {
            assert_eq!(t.forward(d.clone(), ISO).unwrap(), d);
            assert_eq!(t.inverse(d.clone(), ISO).unwrap(), d);
        }
    }

    #[test]
    fn format_phone_normalises_forward_and_keeps_values_backward() {
        let t = compile(
            Transform::FormatPhone {
                default_region: "US".into(),
            },
            Category::Text,
            Category::Text,
        );
        assert_eq!(
            t.forward(text("(415) 555-2671"), ISO).unwrap(),
            text("+14155552671")
        );
        assert_eq!(
            t.inverse(text("+14155552671"), ISO).unwrap(),
            text("+14155552671")
        );
        // A round trip source → target → source → target is stable.
        let once = t.forward(text("415.555.2671"), ISO).unwrap();
        let back = t.inverse(once.clone(), ISO).unwrap();
        assert_eq!(t.forward(back, ISO).unwrap(), once);
        let err = t.forward(text("not a phone"), ISO).unwrap_err();
        assert_eq!(err.rule, "format_phone");
        assert!(t.forward(text("12"), ISO).is_err());
        assert_eq!(t.forward(text("   "), ISO).unwrap(), Datum::Null);
        assert_eq!(
            t.agreement_form(text("(415) 555-2671")),
            text("+14155552671")
        );
    }

    #[test]
    fn case_and_trim_handle_unicode_and_lists() {
        let lower = compile(Transform::Lowercase, Category::Text, Category::Text);
        assert_eq!(
            lower.forward(text("ÉCOLE İstanbul"), ISO).unwrap(),
            text("école i̇stanbul")
        );
        let upper = compile(Transform::Uppercase, Category::List, Category::List);
        assert_eq!(
            upper
                .forward(Datum::List(vec!["straße".into()]), ISO)
                .unwrap(),
            Datum::List(vec!["STRASSE".into()])
        );
        let trim = compile(Transform::Trim, Category::Text, Category::Text);
        assert_eq!(
            trim.forward(text("\u{3000} a b \t\n"), ISO).unwrap(),
            text("a b")
        );
        assert_eq!(trim.forward(text(""), ISO).unwrap(), text(""));
        let n = Datum::Number(Decimal::parse("5").unwrap());
        assert_eq!(lower.forward(n.clone(), ISO).unwrap(), n);
    }

    #[test]
    fn value_map_looks_up_both_ways() {
        let t = compile(
            value_map(
                &[("Hot", json!(3)), ("Warm", json!(2)), ("Cold", json!(1))],
                None,
            ),
            Category::Text,
            Category::Number,
        );
        let three = Datum::Number(Decimal::parse("3").unwrap());
        assert_eq!(t.forward(text("Hot"), ISO).unwrap(), three);
        // Numbers match by value, however the target side spells them.
        assert_eq!(
            t.inverse(Datum::Number(Decimal::parse("3.00").unwrap()), ISO)
                .unwrap(),
            text("Hot")
        );
        let err = t.forward(text("Lukewarm"), ISO).unwrap_err();
        assert_eq!(err.rule, "value_map");
        assert!(
            err.message.contains("\"Lukewarm\" has no entry"),
            "{}",
            err.message
        );
        assert!(t
            .inverse(Datum::Number(Decimal::parse("9").unwrap()), ISO)
            .is_err());
        assert_eq!(t.forward(Datum::Null, ISO).unwrap(), Datum::Null);
    }

    #[test]
    fn value_map_default_catches_unknown_values() {
        let t = compile(
            value_map(&[("A", json!("x"))], Some(json!("other"))),
            Category::Text,
            Category::Text,
        );
        assert_eq!(t.forward(text("B"), ISO).unwrap(), text("other"));
    }

    #[test]
    fn value_map_values_must_fit_the_target_kind() {
        let err = Compiled::new(
            &value_map(&[("A", json!("abc"))], None),
            Category::Text,
            Category::Number,
            ISO,
        )
        .unwrap_err();
        assert!(err.contains("value_map value for \"A\""), "{err}");
        let err = Compiled::new(
            &value_map(&[("x", json!(1))], None),
            Category::Number,
            Category::Number,
            ISO,
        )
        .unwrap_err();
        assert!(err.contains("value_map key \"x\""), "{err}");
    }

    #[test]
    fn default_fills_nulls_only() {
        let t = compile(
            Transform::Default {
                value: json!("n/a"),
            },
            Category::Text,
            Category::Text,
        );
        assert_eq!(t.forward(Datum::Null, ISO).unwrap(), text("n/a"));
        assert_eq!(t.forward(text(""), ISO).unwrap(), text(""));
        assert!(Compiled::new(
            &Transform::Default { value: json!("x") },
            Category::Text,
            Category::Date,
            ISO
        )
        .is_err());
    }

    #[test]
    fn lossy_transforms_are_refused_on_two_way_mappings() {
        let mut config = testkit::accounts_config();
        config.mappings[1].transform = Transform::Lowercase;
        let problems = check_transforms(&config);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].path, "field_mappings[1].transformation");
        assert!(problems[0]
            .message
            .contains("lowercase loses the original letter case"));
        assert!(problems[0].message.contains("\"one_way\": true"));

        config.mappings[1].one_way = true;
        assert!(check_transforms(&config).is_empty());

        // A one-way sync in the transform's direction is fine too.
        config.mappings[1].one_way = false;
        config.direction.push = false;
        assert!(check_transforms(&config).is_empty());
    }

    #[test]
    fn value_map_needs_to_be_injective_without_default_on_two_way_mappings() {
        let mut config = testkit::accounts_config();
        config.mappings[2].transform =
            value_map(&[("Energy", json!("E")), ("Oil", json!("E"))], None);
        let problems = check_transforms(&config);
        assert_eq!(problems.len(), 1);
        assert!(
            problems[0]
                .message
                .contains("both \"Energy\" and \"Oil\" to \"E\""),
            "{}",
            problems[0].message
        );

        config.mappings[2].transform = value_map(&[("Energy", json!("E"))], Some(json!("?")));
        assert!(check_transforms(&config)[0]
            .message
            .contains("value_map default"));

        config.mappings[2].transform =
            value_map(&[("Energy", json!("E")), ("Oil", json!("O"))], None);
        assert!(check_transforms(&config).is_empty());

        config.mappings[2].transform = Transform::ValueMap {
            values: BTreeMap::new(),
            default: None,
        };
        assert!(check_transforms(&config)[0].message.contains("no values"));
    }

    #[test]
    fn bad_phone_regions_and_defaults_are_reported() {
        let mut config = testkit::accounts_config();
        config.mappings[1].transform = Transform::FormatPhone {
            default_region: "XX".into(),
        };
        let problems = check_transforms(&config);
        assert!(problems[0].message.contains("\"XX\" is not a phone region"));
        config.mappings[1].transform = Transform::Default { value: json!("x") };
        assert!(check_transforms(&config)[0]
            .message
            .contains("default turns a null"));
    }
}
