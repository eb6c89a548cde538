//! Custom `organization_fields` / `user_fields`: their definitions from the schema file,
//! the definition endpoints' JSON, and the check of a value written to one.
//!
//! Every defined key is present on every record (`null` until set), as Zendesk returns
//! them; keys that are not defined are ignored on write, as Zendesk does.

use super::errors::FieldError;
use super::record::Kind;
use serde::Deserialize;
use serde_json::{json, Value as Json};

/// One field type Zendesk offers for user and organization fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldType {
    Text,
    Textarea,
    Checkbox,
    Date,
    Integer,
    Decimal,
    Regexp,
    Dropdown,
    Multiselect,
}

impl FieldType {
    fn name(self) -> &'static str {
        match self {
            FieldType::Text => "text",
            FieldType::Textarea => "textarea",
            FieldType::Checkbox => "checkbox",
            FieldType::Date => "date",
            FieldType::Integer => "integer",
            FieldType::Decimal => "decimal",
            FieldType::Regexp => "regexp",
            FieldType::Dropdown => "dropdown",
            FieldType::Multiselect => "multiselect",
        }
    }
}

/// A dropdown or multiselect option.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldOption {
    /// What people see.
    pub name: String,
    /// What the API stores.
    pub value: String,
}

/// A field as the schema file declares it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldDef {
    /// The key in `organization_fields` / `user_fields`.
    pub key: String,
    /// What values it takes.
    #[serde(rename = "type")]
    pub kind: FieldType,
    /// The label (the key when not given).
    pub title: Option<String>,
    /// Help text.
    #[serde(default)]
    pub description: String,
    /// The pattern a `regexp` field's values match.
    pub regexp_for_validation: Option<String>,
    /// The choices of a `dropdown` or `multiselect` field.
    #[serde(default)]
    pub custom_field_options: Vec<FieldOption>,
    /// Assigned at load.
    #[serde(skip)]
    pub id: u64,
    #[serde(skip)]
    regex: Option<regex::Regex>,
}

/// The custom fields of both objects.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Schema {
    /// Custom organization fields, in position order.
    #[serde(default)]
    pub organization_fields: Vec<FieldDef>,
    /// Custom user fields, in position order.
    #[serde(default)]
    pub user_fields: Vec<FieldDef>,
}

/// The first id given to a field definition (64-bit, as Zendesk's are).
const FIRST_FIELD_ID: u64 = 360_001_234_500;

impl Schema {
    /// Reads and checks a schema file.
    pub fn parse(text: &str) -> Result<Schema, String> {
        let mut schema: Schema =
            serde_json::from_str(text).map_err(|e| format!("Zendesk schema file: {e}"))?;
        let mut next = FIRST_FIELD_ID;
        for (list, what) in [
            (&mut schema.organization_fields, "organization_fields"),
            (&mut schema.user_fields, "user_fields"),
        ] {
            let mut seen = std::collections::HashSet::new();
            for def in list.iter_mut() {
                def.id = next;
                next += 1;
                if def.key.is_empty()
                    || !def
                        .key
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_')
                {
                    return Err(format!(
                        "Zendesk schema file: {what} key {:?} must be letters, digits and _",
                        def.key
                    ));
                }
                if !seen.insert(def.key.clone()) {
                    return Err(format!(
                        "Zendesk schema file: {what} key {:?} is declared twice",
                        def.key
                    ));
                }
                let options = matches!(def.kind, FieldType::Dropdown | FieldType::Multiselect);
                if options == def.custom_field_options.is_empty() {
                    return Err(format!(
                        "Zendesk schema file: {what}.{}: custom_field_options are {} for a {} field",
                        def.key,
                        if options { "needed" } else { "only" },
                        def.kind.name()
                    ));
                }
                if def.kind == FieldType::Regexp {
                    let pattern = def.regexp_for_validation.as_deref().ok_or_else(|| {
                        format!("Zendesk schema file: {what}.{}: a regexp field needs regexp_for_validation", def.key)
                    })?;
                    def.regex =
                        Some(regex::Regex::new(pattern).map_err(|e| {
                            format!("Zendesk schema file: {what}.{}: {e}", def.key)
                        })?);
                }
            }
        }
        Ok(schema)
    }

    /// The definitions of one object's fields.
    pub fn fields(&self, kind: Kind) -> &[FieldDef] {
        match kind {
            Kind::Organization => &self.organization_fields,
            Kind::User => &self.user_fields,
        }
    }
}

impl FieldDef {
    fn title(&self) -> &str {
        self.title.as_deref().unwrap_or(&self.key)
    }

    /// The definition as the `organization_fields` / `user_fields` endpoints answer it.
    pub fn to_json(&self, base: &str, kind: Kind, position: usize, created: &str) -> Json {
        let mut out = json!({
            "url": format!("{base}/api/v2/{}/{}.json", kind.fields_path(), self.id),
            "id": self.id,
            "type": self.kind.name(),
            "key": self.key,
            "title": self.title(),
            "description": self.description,
            "raw_title": self.title(),
            "raw_description": self.description,
            "position": position,
            "active": true,
            "system": false,
            "regexp_for_validation": self.regexp_for_validation,
            "created_at": created,
            "updated_at": created,
        });
        if !self.custom_field_options.is_empty() {
            out["custom_field_options"] = self
                .custom_field_options
                .iter()
                .enumerate()
                .map(|(i, o)| {
                    json!({"id": self.id * 100 + i as u64, "name": o.name, "raw_name": o.name, "value": o.value})
                })
                .collect();
        }
        out
    }

    /// The stored form of a written value, or why it is refused.
    pub fn check(&self, value: &Json) -> Result<Json, FieldError> {
        if value.is_null() {
            return Ok(Json::Null);
        }
        let invalid = || {
            FieldError::new(
                &self.key,
                "InvalidValue",
                format!("{}: is invalid", self.title()),
            )
        };
        let text = value.as_str();
        let ok = match self.kind {
            FieldType::Text | FieldType::Textarea => text.map(|t| json!(t)),
            FieldType::Checkbox => value.as_bool().map(|b| json!(b)),
            FieldType::Integer => value
                .as_i64()
                .or_else(|| text.and_then(|t| t.trim().parse().ok()))
                .map(|n| json!(n)),
            FieldType::Decimal => value
                .as_f64()
                .or_else(|| text.and_then(|t| t.trim().parse().ok()))
                .map(|n| json!(n)),
            FieldType::Date => text.and_then(normalize_date).map(|d| json!(d)),
            FieldType::Regexp => text
                .filter(|t| self.regex.as_ref().is_some_and(|r| r.is_match(t)))
                .map(|t| json!(t)),
            FieldType::Dropdown => text.filter(|t| self.has_option(t)).map(|t| json!(t)),
            FieldType::Multiselect => value.as_array().and_then(|items| {
                items
                    .iter()
                    .map(|i| i.as_str().filter(|t| self.has_option(t)).map(|t| json!(t)))
                    .collect::<Option<Vec<_>>>()
                    .map(Json::Array)
            }),
        };
        ok.ok_or_else(invalid)
    }

    fn has_option(&self, value: &str) -> bool {
        self.custom_field_options.iter().any(|o| o.value == value)
    }
}

/// `YYYY-MM-DD` or `YYYY-MM-DDT00:00:00+00:00` as Zendesk returns a date field value
/// (reference §4: `"2018-11-04T00:00:00+00:00"`).
fn normalize_date(text: &str) -> Option<String> {
    let day = text.get(..10)?;
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(day, &format).ok()?;
    let rest = &text[10..];
    (rest.is_empty() || rest.starts_with('T')).then(|| format!("{day}T00:00:00+00:00"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_checked_against_the_field_type() {
        let schema = Schema::parse(
            r#"{"organization_fields": [
                {"key": "tier", "type": "dropdown", "custom_field_options": [{"name": "Gold", "value": "gold"}]},
                {"key": "seats", "type": "integer"},
                {"key": "since", "type": "date"},
                {"key": "code", "type": "regexp", "regexp_for_validation": "^[A-Z]{3}$"},
                {"key": "vip", "type": "checkbox"}]}"#,
        )
        .unwrap();
        let field = |key: &str| {
            schema
                .organization_fields
                .iter()
                .find(|f| f.key == key)
                .unwrap()
        };
        let cases = [
            ("tier", json!("gold"), Some(json!("gold"))),
            ("tier", json!("silver"), None),
            ("seats", json!(12), Some(json!(12))),
            ("seats", json!("12"), Some(json!(12))),
            ("seats", json!("twelve"), None),
            (
                "since",
                json!("2024-02-29"),
                Some(json!("2024-02-29T00:00:00+00:00")),
            ),
            ("since", json!("2023-02-29"), None),
            ("code", json!("ABC"), Some(json!("ABC"))),
            ("code", json!("abcd"), None),
            ("vip", json!(true), Some(json!(true))),
            ("vip", json!("yes"), None),
            ("vip", Json::Null, Some(Json::Null)),
        ];
        for (key, input, expected) in cases {
            assert_eq!(field(key).check(&input).ok(), expected, "{key} {input}");
        }
    }

    #[test]
    fn bad_schemas_are_refused_with_the_field_named() {
        for (text, needle) in [
            (
                r#"{"user_fields": [{"key": "a b", "type": "text"}]}"#,
                "a b",
            ),
            (
                r#"{"user_fields": [{"key": "t", "type": "dropdown"}]}"#,
                "user_fields.t",
            ),
            (
                r#"{"user_fields": [{"key": "r", "type": "regexp"}]}"#,
                "regexp_for_validation",
            ),
            (
                r#"{"user_fields": [{"key": "x", "type": "lookup"}]}"#,
                "unknown variant",
            ),
        ] {
            let err = Schema::parse(text).unwrap_err();
            assert!(err.contains(needle), "{err}");
        }
    }
}
