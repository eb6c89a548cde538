//! The schema file: custom objects, custom fields on any object, validation rules and
//! field-update automations — the org customisations a sync has to survive.
//!
//! Format (see `emulator/README.md` and `emulator/examples/schema.json`):
//! `{"objects": [{"name": "Account", "fields": [...], "validationRules": [...]}, ...],
//!   "automations": [...]}`.

use super::standard::{audit_fields, leading_system_fields, owner_field, reference};
use super::{FieldDef, Kind, ObjectDef, PicklistEntry, Role, Schema};
use regex::Regex;
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct FileSchema {
    #[serde(default)]
    objects: Vec<FileObject>,
    #[serde(default)]
    automations: Vec<Automation>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct FileObject {
    name: String,
    label: Option<String>,
    label_plural: Option<String>,
    #[serde(default)]
    fields: Vec<FileField>,
    #[serde(default)]
    validation_rules: Vec<ValidationRule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct FileField {
    name: String,
    #[serde(rename = "type")]
    kind: String,
    label: Option<String>,
    length: Option<u32>,
    precision: Option<u32>,
    scale: Option<u32>,
    #[serde(default)]
    required: bool,
    #[serde(default)]
    unique: bool,
    #[serde(default)]
    external_id: bool,
    #[serde(default)]
    case_sensitive: bool,
    #[serde(default)]
    picklist_values: Vec<FilePicklistValue>,
    #[serde(default)]
    restricted_picklist: bool,
    createable: Option<bool>,
    updateable: Option<bool>,
    reference_to: Option<String>,
    relationship_name: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum FilePicklistValue {
    Plain(String),
    Full {
        value: String,
        label: Option<String>,
        #[serde(default)]
        default: bool,
    },
}

/// A formula-free validation rule: when it is violated the save fails with
/// `FIELD_CUSTOM_VALIDATION_EXCEPTION` and the rule's message.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ValidationRule {
    pub name: String,
    #[serde(flatten)]
    pub check: RuleCheck,
    pub message: String,
    /// The field the error is reported on (`fields` of the error); none means the record.
    pub error_field: Option<String>,
}

/// What a validation rule checks.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum RuleCheck {
    /// A non-blank value of `field` must match `pattern` (a regular expression).
    Regex {
        field: String,
        pattern: String,
        #[serde(skip)]
        compiled: Option<Regex>,
    },
    /// `field` must be non-blank whenever `when_field` equals `equals` (or, with no
    /// `equals`, whenever `when_field` is non-blank).
    RequiredIf {
        field: String,
        when_field: String,
        equals: Option<serde_json::Value>,
    },
}

/// A field update run on save ("workflow field update"): it makes a record come back
/// different from what the client wrote, as real org automation does.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Automation {
    pub name: String,
    pub object: String,
    pub field: String,
    #[serde(flatten)]
    pub action: AutomationAction,
    /// When it runs: `create`, `update` (default both).
    #[serde(default = "both_events")]
    pub on: Vec<String>,
}

fn both_events() -> Vec<String> {
    vec!["create".into(), "update".into()]
}

/// The new value of the automation's field.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum AutomationAction {
    /// A copy of another field's value, transformed.
    Copy {
        #[serde(rename = "copyFrom")]
        copy_from: String,
        #[serde(default)]
        transform: Transform,
    },
    /// A fixed value.
    Set { value: serde_json::Value },
}

/// A text transformation applied by a copy automation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Transform {
    #[default]
    None,
    Upper,
    Lower,
    Trim,
}

impl Transform {
    /// Applies the transform to a text value.
    pub fn apply(self, text: &str) -> String {
        match self {
            Transform::None => text.to_string(),
            Transform::Upper => text.to_uppercase(),
            Transform::Lower => text.to_lowercase(),
            Transform::Trim => text.trim().to_string(),
        }
    }
}

impl Automation {
    /// Checks the automation against the schema so a bad one is refused when configured,
    /// not on the first save it would break.
    pub fn check(&self, schema: &Schema) -> Result<(), String> {
        let object = schema
            .object(&self.object)
            .ok_or_else(|| format!("automation {}: no object named {}", self.name, self.object))?;
        let target = object.field(&self.field).ok_or_else(|| {
            format!(
                "automation {}: {} has no field {}",
                self.name, object.name, self.field
            )
        })?;
        if target.is_system()
            || !matches!(target.role, Role::Plain | Role::OwnerId | Role::RecordName)
        {
            return Err(format!(
                "automation {}: {}.{} is maintained by the system and cannot be set",
                self.name, object.name, target.name
            ));
        }
        if let AutomationAction::Copy { copy_from, .. } = &self.action {
            object.field(copy_from).ok_or_else(|| {
                format!(
                    "automation {}: {} has no field {}",
                    self.name, object.name, copy_from
                )
            })?;
        }
        if let Some(bad) = self.on.iter().find(|e| *e != "create" && *e != "update") {
            return Err(format!(
                "automation {}: unknown event {bad}; use \"create\" and/or \"update\"",
                self.name
            ));
        }
        Ok(())
    }

    /// Whether it runs on this kind of save.
    pub fn runs_on(&self, creating: bool) -> bool {
        let event = if creating { "create" } else { "update" };
        self.on.iter().any(|e| e == event)
    }
}

/// Reads a schema file and returns the standard objects extended by it.
pub fn load_schema_file(text: &str) -> Result<Schema, String> {
    let file: FileSchema = serde_json::from_str(text).map_err(|e| format!("schema file: {e}"))?;
    let mut objects = super::standard::objects();
    let mut custom_count = 0usize;
    for spec in file.objects {
        let position = objects
            .iter()
            .position(|o| o.name.eq_ignore_ascii_case(&spec.name));
        let index = match position {
            Some(i) => i,
            None => {
                if !spec.name.ends_with("__c") {
                    return Err(format!(
                        "schema file: object {} is not a standard object; custom object names end with __c",
                        spec.name
                    ));
                }
                objects.push(custom_object(&spec, custom_count));
                custom_count += 1;
                objects.len() - 1
            }
        };
        let object = &mut objects[index];
        for field in &spec.fields {
            let def = field_def(&object.name, field)?;
            if object.field(&def.name).is_some() {
                return Err(format!(
                    "schema file: {}.{} already exists; give the field a distinct name",
                    object.name, def.name
                ));
            }
            // Audit fields stay last, as describe lists them.
            let mut fields = object.fields.clone();
            fields.insert(object.sys.created_date, def);
            *object = rebuild(object, fields);
        }
        for rule in &spec.validation_rules {
            object.validation_rules.push(compile_rule(object, rule)?);
        }
    }
    let schema = Schema::from_objects(objects, Vec::new());
    for automation in &file.automations {
        automation.check(&schema)?;
    }
    Ok(Schema::from_objects(schema.objects, file.automations))
}

/// Re-indexes an object after a field was inserted before its audit fields; fields in
/// front of the insert keep their positions, so compound-field roles stay valid.
fn rebuild(object: &ObjectDef, fields: Vec<FieldDef>) -> ObjectDef {
    let mut rebuilt = ObjectDef::new(
        &object.name,
        &object.label,
        &object.label_plural,
        &object.key_prefix,
        fields,
    );
    rebuilt.validation_rules = object.validation_rules.clone();
    rebuilt
}

fn custom_object(spec: &FileObject, ordinal: usize) -> ObjectDef {
    const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let key_prefix = format!("a0{}", char::from(BASE62[ordinal % 62]));
    let base = spec.name.trim_end_matches("__c").replace('_', " ");
    let label = spec.label.clone().unwrap_or_else(|| base.clone());
    let plural = spec
        .label_plural
        .clone()
        .unwrap_or_else(|| format!("{label}s"));
    let mut fields = leading_system_fields();
    fields.push(owner_field());
    let mut name = FieldDef::new("Name", &format!("{label} Name"), Kind::String);
    name.length = 80;
    name.role = Role::RecordName;
    name.name_field = true;
    name.custom = false;
    name.defaulted_on_create = true;
    fields.push(name);
    fields.extend(audit_fields());
    ObjectDef::new(&spec.name, &label, &plural, &key_prefix, fields)
}

fn field_def(object: &str, spec: &FileField) -> Result<FieldDef, String> {
    let here = format!("schema file: field {object}.{}", spec.name);
    if !spec.name.ends_with("__c") {
        return Err(format!("{here}: custom field names end with __c"));
    }
    let kind = Kind::from_name(&spec.kind).ok_or_else(|| {
        format!(
            "{here}: unknown type {:?}; use string, textarea, email, phone, url, picklist, multipicklist, \
             boolean, int, double, currency, percent, date, datetime, time or reference",
            spec.kind
        )
    })?;
    let label = spec
        .label
        .clone()
        .unwrap_or_else(|| spec.name.trim_end_matches("__c").replace('_', " "));
    let mut f = if kind == Kind::Reference {
        let to = spec.reference_to.as_deref().ok_or_else(|| {
            format!("{here}: a reference field needs \"referenceTo\": \"<Object>\"")
        })?;
        let rel = spec
            .relationship_name
            .clone()
            .unwrap_or_else(|| spec.name.trim_end_matches("__c").to_string() + "__r");
        reference(&spec.name, &label, to, &rel)
    } else {
        FieldDef::new(&spec.name, &label, kind)
    };
    if let Some(length) = spec.length {
        if !kind.is_text() {
            return Err(format!("{here}: length applies to text fields only"));
        }
        f.length = length;
    }
    if let Some(precision) = spec.precision {
        f.precision = precision;
        if kind == Kind::Int {
            f.digits = precision;
        }
    }
    if let Some(scale) = spec.scale {
        if !kind.is_decimal() {
            return Err(format!(
                "{here}: scale applies to double, currency and percent fields only"
            ));
        }
        f.scale = scale;
    }
    if kind.is_decimal() && f.scale > f.precision {
        return Err(format!(
            "{here}: scale {} exceeds precision {}",
            f.scale, f.precision
        ));
    }
    f.required = spec.required;
    f.unique = spec.unique;
    f.external_id = spec.external_id;
    f.id_lookup = spec.external_id || spec.unique;
    f.case_sensitive = spec.case_sensitive;
    if f.external_id && !matches!(kind, Kind::String | Kind::Email | Kind::Int | Kind::Double) {
        return Err(format!(
            "{here}: only string, email, int and double fields can be external ids"
        ));
    }
    f.picklist = spec
        .picklist_values
        .iter()
        .map(|v| match v {
            FilePicklistValue::Plain(value) => PicklistEntry {
                value: value.clone(),
                label: value.clone(),
                default: false,
            },
            FilePicklistValue::Full {
                value,
                label,
                default,
            } => PicklistEntry {
                value: value.clone(),
                label: label.clone().unwrap_or_else(|| value.clone()),
                default: *default,
            },
        })
        .collect();
    if !f.picklist.is_empty() && !matches!(kind, Kind::Picklist | Kind::Multipicklist) {
        return Err(format!(
            "{here}: picklistValues apply to picklist fields only"
        ));
    }
    f.restricted_picklist = spec.restricted_picklist;
    f.createable = spec.createable.unwrap_or(true);
    f.updateable = spec.updateable.unwrap_or(true);
    f.defaulted_on_create = kind == Kind::Boolean || f.picklist.iter().any(|p| p.default);
    Ok(f)
}

fn compile_rule(object: &ObjectDef, rule: &ValidationRule) -> Result<ValidationRule, String> {
    let here = format!("schema file: validation rule {}.{}", object.name, rule.name);
    let known = |name: &str| {
        object
            .field(name)
            .map(|f| f.name.clone())
            .ok_or_else(|| format!("{here}: {} has no field {name}", object.name))
    };
    let check = match &rule.check {
        RuleCheck::Regex { field, pattern, .. } => RuleCheck::Regex {
            field: known(field)?,
            pattern: pattern.clone(),
            compiled: Some(
                Regex::new(pattern)
                    .map_err(|e| format!("{here}: pattern does not compile: {e}"))?,
            ),
        },
        RuleCheck::RequiredIf {
            field,
            when_field,
            equals,
        } => RuleCheck::RequiredIf {
            field: known(field)?,
            when_field: known(when_field)?,
            equals: equals.clone(),
        },
    };
    let error_field = rule.error_field.as_deref().map(known).transpose()?;
    Ok(ValidationRule {
        name: rule.name.clone(),
        check,
        message: rule.message.clone(),
        error_field,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loads_the_example_schema() {
        let text = include_str!("../../examples/schema.json");
        let schema = load_schema_file(text).unwrap();
        let account = schema.object("Account").unwrap();
        let ext = account.field("hubsync_id__c").unwrap();
        assert!(ext.external_id && ext.unique && ext.custom);
        assert_eq!(ext.length, 36);
        // Audit fields stay last and the compound address still points at its parts.
        assert_eq!(account.fields.last().unwrap().name, "SystemModstamp");
        let billing = account.field("BillingAddress").unwrap();
        let Role::Address(parts) = &billing.role else {
            panic!("address role")
        };
        assert_eq!(account.fields[parts[1]].name, "BillingCity");
        let custom = schema.objects.iter().find(|o| o.custom).unwrap();
        assert_eq!(custom.key_prefix, "a00");
        assert!(custom.field("Name").is_some());
    }

    #[test]
    fn rejects_mistakes_with_a_clear_message() {
        let err = load_schema_file(r#"{"objects":[{"name":"Widget","fields":[]}]}"#).unwrap_err();
        assert!(err.contains("custom object names end with __c"), "{err}");
        let err = load_schema_file(
            r#"{"objects":[{"name":"Account","fields":[{"name":"X","type":"string"}]}]}"#,
        )
        .unwrap_err();
        assert!(err.contains("end with __c"), "{err}");
        let err = load_schema_file(
            r#"{"objects":[{"name":"Account","fields":[{"name":"X__c","type":"blob"}]}]}"#,
        )
        .unwrap_err();
        assert!(err.contains("unknown type"), "{err}");
        let err = load_schema_file(
            r#"{"automations":[{"name":"a","object":"Account","field":"Nope__c","value":1}]}"#,
        )
        .unwrap_err();
        assert!(err.contains("has no field Nope__c"), "{err}");
    }
}
