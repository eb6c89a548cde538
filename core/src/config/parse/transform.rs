//! `field_mappings[].transformation`: a name (`"format_phone"`) or an object with a `type`.
//!
//! Only parsed here; whether a transform can be reversed for the other direction is the
//! mapping engine's decision.

use crate::config::model::Transform;
use crate::config::scalars::Scalar;
use crate::config::walker::{describe, keyword, keywords, Keyword, Obj, Problems};
use crate::config::words::word_for;
use crate::problem::child_path;
use serde_json::Value;
use std::collections::BTreeMap;

use super::mappings::Region;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    None,
    FormatPhone,
    Lowercase,
    Uppercase,
    Trim,
    ValueMap,
    Default,
}

keywords!(Kind {
    "none" => Kind::None,
    "format_phone" => Kind::FormatPhone,
    "lowercase" => Kind::Lowercase,
    "uppercase" => Kind::Uppercase,
    "trim" => Kind::Trim,
    "value_map" => Kind::ValueMap,
    "default" => Kind::Default,
});

/// Reads a transformation; `region` is the phone region used when none is given.
pub(super) fn read(
    value: &Value,
    path: &str,
    region: &str,
    problems: &mut Problems,
) -> Option<Transform> {
    match value {
        Value::String(_) => {
            let kind = keyword::<Kind>(value, path, problems)?;
            let simple = without_options(kind, region);
            if simple.is_none() {
                problems.invalid(
                    path,
                    format!(
                        "'{}' needs the object form: {}",
                        word_for(kind),
                        example(kind)
                    ),
                );
            }
            simple
        }
        Value::Object(_) => read_object(value, path, region, problems),
        _ => {
            let names: Vec<&str> = Kind::WORDS.iter().map(|(w, _)| *w).collect();
            problems.invalid(
                path,
                format!(
                    "expected a transformation name ({}) or an object with a \"type\", got {}",
                    names.join(", "),
                    describe(value)
                ),
            );
            None
        }
    }
}

/// The transform a bare name stands for; `None` for kinds that need options.
fn without_options(kind: Kind, region: &str) -> Option<Transform> {
    match kind {
        Kind::None => Some(Transform::None),
        Kind::FormatPhone => Some(Transform::FormatPhone {
            default_region: region.to_string(),
        }),
        Kind::Lowercase => Some(Transform::Lowercase),
        Kind::Uppercase => Some(Transform::Uppercase),
        Kind::Trim => Some(Transform::Trim),
        Kind::ValueMap | Kind::Default => None,
    }
}

fn example(kind: Kind) -> &'static str {
    match kind {
        Kind::ValueMap => r#"{"type": "value_map", "values": {"Hot": "A"}, "default": "C"}"#,
        _ => r#"{"type": "default", "value": "n/a"}"#,
    }
}

fn keys_for(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::ValueMap => &["type", "values", "default"],
        Kind::FormatPhone => &["type", "default_country"],
        Kind::Default => &["type", "value"],
        _ => &["type"],
    }
}

fn read_object(
    value: &Value,
    path: &str,
    region: &str,
    problems: &mut Problems,
) -> Option<Transform> {
    let (kind, obj) = Obj::open_tagged(value, path, "type", keys_for, problems)?;
    match kind {
        Kind::ValueMap => value_map(&obj, problems),
        Kind::FormatPhone => Some(Transform::FormatPhone {
            default_region: obj
                .get::<Region>("default_country", problems)
                .map_or_else(|| region.to_string(), |r| r.0),
        }),
        Kind::Default => obj
            .require::<Scalar>("value", "the value that replaces a null", problems)
            .map(|v| Transform::Default { value: v.0 }),
        simple => without_options(simple, region),
    }
}

/// `{"type": "value_map", "values": {source value: target value, ...}, "default": ...}`.
fn value_map(obj: &Obj, problems: &mut Problems) -> Option<Transform> {
    let expected = "an object mapping source values to target values";
    let default = obj.get::<Scalar>("default", problems).map(|d| d.0);
    let values_path = obj.at("values");
    let Some(values) = obj.value("values") else {
        problems.invalid(
            &values_path,
            format!("required key is missing; expected {expected}"),
        );
        return None;
    };
    let Some(entries) = values.as_object() else {
        problems.invalid(
            &values_path,
            format!("expected {expected}, got {}", describe(values)),
        );
        return None;
    };
    if entries.is_empty() {
        problems.invalid(&values_path, "expected at least one entry");
    }
    let read: Vec<Option<(String, Value)>> = entries
        .iter()
        .map(|(key, v)| {
            let scalar = crate::config::walker::FromJson::from_json(
                v,
                &child_path(&values_path, key),
                problems,
            );
            scalar.map(|Scalar(s)| (key.clone(), s))
        })
        .collect();
    let values: BTreeMap<String, Value> = read.into_iter().collect::<Option<_>>()?;
    (!values.is_empty()).then_some(Transform::ValueMap { values, default })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::problem::Problem;
    use serde_json::json;

    fn parse(value: Value) -> (Option<Transform>, Vec<Problem>) {
        let mut problems = Problems::default();
        let t = read(&value, "m.transformation", "US", &mut problems);
        (t, problems.into_vec())
    }

    #[test]
    fn names_and_objects_parse() {
        assert_eq!(parse(json!("none")).0, Some(Transform::None));
        assert_eq!(parse(json!("trim")).0, Some(Transform::Trim));
        assert_eq!(
            parse(json!("format_phone")).0,
            Some(Transform::FormatPhone {
                default_region: "US".into()
            })
        );
        assert_eq!(
            parse(json!({"type": "format_phone", "default_country": "GB"})).0,
            Some(Transform::FormatPhone {
                default_region: "GB".into()
            })
        );
        assert_eq!(
            parse(json!({"type": "default", "value": 0})).0,
            Some(Transform::Default { value: json!(0) })
        );
        let (t, problems) = parse(
            json!({"type": "value_map", "values": {"Hot": "A", "Cold": null}, "default": "C"}),
        );
        assert!(problems.is_empty(), "{problems:?}");
        let Some(Transform::ValueMap { values, default }) = t else {
            panic!("{t:?}")
        };
        assert_eq!(values["Hot"], json!("A"));
        assert_eq!(values["Cold"], json!(null));
        assert_eq!(default, Some(json!("C")));
    }

    #[test]
    fn mistakes_are_located() {
        let (_, p) = parse(json!("format_phones"));
        assert_eq!(p[0].path, "m.transformation");
        assert!(
            p[0].message.ends_with("did you mean 'format_phone'?"),
            "{}",
            p[0].message
        );

        let (_, p) = parse(json!("value_map"));
        assert!(p[0]
            .message
            .starts_with("'value_map' needs the object form"));

        let (_, p) = parse(json!({"type": "value_map", "values": {"Hot": ["A"]}}));
        assert_eq!(p[0].path, "m.transformation.values.Hot");

        let (_, p) = parse(json!({"type": "value_map", "values": {}}));
        assert_eq!(p[0].message, "expected at least one entry");

        let (_, p) = parse(json!({"type": "trim", "values": {}}));
        assert_eq!(p[0].path, "m.transformation.values");

        let (_, p) = parse(json!({"values": {}}));
        assert_eq!(p[0].path, "m.transformation.type");

        let (_, p) = parse(json!({"type": "format_phone", "default_country": "gb"}));
        assert_eq!(p[0].path, "m.transformation.default_country");
    }
}
