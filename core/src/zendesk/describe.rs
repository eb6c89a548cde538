//! An object's describe: its standard attributes (a fixed table, as Zendesk has no
//! describe call) plus the account's custom field definitions
//! (`GET /api/v2/organization_fields.json`, `user_fields.json`), in the connector's
//! describe model, so mappings are checked against what the account really has.

use super::object::{Access, Kind};
use crate::connector::{FieldDescribe, FieldType, ObjectDescribe, PicklistValue};
use serde::Deserialize;

/// One custom field definition as Zendesk answers it.
#[derive(Debug, Clone, Deserialize)]
pub struct CustomField {
    /// The key its values sit under in `organization_fields` / `user_fields`.
    pub key: String,
    /// `text`, `dropdown`, `integer`, …
    #[serde(rename = "type")]
    pub kind: String,
    /// Inactive fields are not offered for mapping.
    #[serde(default = "yes")]
    pub active: bool,
    /// The choices of a dropdown or multiselect field.
    #[serde(default)]
    pub custom_field_options: Option<Vec<FieldOption>>,
}

/// A dropdown or multiselect choice.
#[derive(Debug, Clone, Deserialize)]
pub struct FieldOption {
    /// What people see.
    pub name: String,
    /// What the API stores.
    pub value: String,
}

fn yes() -> bool {
    true
}

/// The describe of `kind` with these custom fields (inactive ones left out; one whose
/// key repeats a standard attribute's name is left out too, as records never show it).
pub fn describe(kind: Kind, custom: &[CustomField]) -> ObjectDescribe {
    let mut fields: Vec<FieldDescribe> = kind
        .attributes()
        .iter()
        .map(|a| {
            let writable = a.access != Access::ReadOnly;
            let key = a.access == Access::Key;
            FieldDescribe {
                nillable: !matches!(a.name, "id" | "name"),
                createable: writable,
                updateable: writable,
                unique: key || a.name == "id",
                external_id: key,
                id_lookup: key || a.name == "id",
                ..field(a.name, a.field_type)
            }
        })
        .collect();
    for definition in custom.iter().filter(|c| c.active) {
        if kind.attribute(&definition.key).is_some() {
            continue;
        }
        let field_type = custom_type(&definition.kind);
        let options = definition
            .custom_field_options
            .as_deref()
            .unwrap_or_default();
        fields.push(FieldDescribe {
            createable: true,
            updateable: true,
            picklist_values: options
                .iter()
                .map(|o| PicklistValue {
                    value: o.value.clone(),
                    label: Some(o.name.clone()),
                    active: true,
                })
                .collect(),
            restricted_picklist: !options.is_empty(),
            ..field(&definition.key, field_type)
        });
    }
    ObjectDescribe {
        name: kind.title().into(),
        key_prefix: None,
        createable: true,
        updateable: true,
        deletable: true,
        queryable: true,
        fields,
    }
}

/// A custom field type in the describe model.
fn custom_type(kind: &str) -> FieldType {
    match kind {
        "text" | "regexp" => FieldType::String,
        "textarea" => FieldType::Textarea,
        "checkbox" => FieldType::Boolean,
        "date" => FieldType::Date,
        "integer" => FieldType::Long,
        "decimal" => FieldType::Double,
        "dropdown" => FieldType::Picklist,
        "multiselect" => FieldType::Multipicklist,
        "lookup" => FieldType::Reference,
        _ => FieldType::Unknown,
    }
}

/// A field with every flag at its default.
fn field(name: &str, field_type: FieldType) -> FieldDescribe {
    FieldDescribe {
        name: name.into(),
        field_type,
        length: 0,
        precision: 0,
        scale: 0,
        digits: 0,
        nillable: true,
        createable: false,
        updateable: false,
        defaulted_on_create: false,
        unique: false,
        external_id: false,
        id_lookup: false,
        calculated: false,
        picklist_values: Vec::new(),
        restricted_picklist: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn standard_attributes_and_custom_fields_become_one_describe() {
        let custom: Vec<CustomField> = serde_json::from_value(json!([
            {"key": "tier", "type": "dropdown", "title": "Tier", "active": true,
             "custom_field_options": [{"id": 1, "name": "Gold", "value": "gold"}]},
            {"key": "seats", "type": "integer"},
            {"key": "old", "type": "text", "active": false},
            {"key": "notes", "type": "text"},
            {"key": "shape", "type": "partial_credit_card"}
        ]))
        .unwrap();
        let d = describe(Kind::Organization, &custom);
        assert_eq!(d.name, "Organization");
        let id = d.field("id").unwrap();
        assert_eq!((id.field_type, id.createable), (FieldType::Id, false));
        let ext = d.field("external_id").unwrap();
        assert!(ext.external_id && ext.id_lookup && ext.createable);
        assert_eq!(
            d.field("group_id").unwrap().field_type,
            FieldType::Reference
        );
        assert_eq!(
            d.field("tags").unwrap().field_type,
            FieldType::Multipicklist
        );
        let tier = d.field("tier").unwrap();
        assert_eq!(tier.field_type, FieldType::Picklist);
        assert_eq!(tier.picklist_values[0].value, "gold");
        assert!(tier.restricted_picklist && tier.updateable);
        assert_eq!(d.field("seats").unwrap().field_type, FieldType::Long);
        assert!(d.field("old").is_none());
        assert_eq!(d.fields.iter().filter(|f| f.name == "notes").count(), 1);
        assert_eq!(d.field("notes").unwrap().field_type, FieldType::Textarea);
        assert_eq!(d.field("shape").unwrap().field_type, FieldType::Unknown);
        let users = describe(Kind::User, &[]);
        assert!(users.field("email").unwrap().external_id);
        assert_eq!(
            users.field("organization_id").unwrap().field_type,
            FieldType::Reference
        );
        assert!(!users.field("active").unwrap().updateable);
    }
}
