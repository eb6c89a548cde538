//! A record type's metadata (`GET /record/v1/metadata-catalog/{type}`, a JSON schema) as
//! the connector's describe model, so mappings are checked before anything is pushed.
//!
//! Types: `string` → text (`date`/`date-time` formats → date/datetime; `email`, `phone`
//! named so), `boolean`, `integer` → long, `number` → double. An object or a `$ref` is a
//! reference, `{"id": "…", "refName": …}` in NetSuite: hubsync syncs its internal id as
//! plain text (`subsidiary` ↔ `"1"`; the engine's `reference` type means a Salesforce
//! id) and the connector writes it back as `{"id": "1"}`, remembering which fields are
//! references in [`Described`]. `id` is the key; `externalId` is the one external-id
//! field (`PUT …/eid:{value}`).

use crate::connector::{FieldDescribe, FieldType, ObjectDescribe};
use serde_json::{Map, Value};
use std::collections::BTreeSet;

/// A record type as the connector knows it: the describe the engine sees, and which of
/// its text fields are references.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Described {
    /// What the engine checks mappings against (references typed as text).
    pub describe: ObjectDescribe,
    /// Fields written as `{"id": …}`, by their REST name.
    pub references: BTreeSet<String>,
}

impl Described {
    /// Whether `name` (any case) is a reference field.
    pub fn is_reference(&self, name: &str) -> bool {
        self.references.iter().any(|r| r.eq_ignore_ascii_case(name))
    }
}

/// The field upserts match on.
pub const EXTERNAL_ID: &str = "externalId";

/// Fields NetSuite keeps unique per record type (`entityId` unless auto-numbered).
const UNIQUE: &[&str] = &["entityId", EXTERNAL_ID];

/// The describe of `record_type`, named `object` as the config names it, from its schema.
pub fn from_schema(object: &str, schema: &Value) -> Result<Described, String> {
    let properties = schema
        .get("properties")
        .and_then(Value::as_object)
        .ok_or("the metadata catalog's answer has no properties")?;
    let mut fields = Vec::with_capacity(properties.len() + 1);
    let mut references = BTreeSet::new();
    for (name, property) in properties {
        if let Some((field, reference)) = field(name, property) {
            if reference {
                references.insert(field.name.clone());
            }
            fields.push(field);
        }
    }
    if !fields.iter().any(|f| f.name == "id") {
        fields.insert(0, key("id"));
    }
    Ok(Described {
        describe: ObjectDescribe {
            name: object.to_string(),
            key_prefix: None,
            createable: true,
            updateable: true,
            deletable: true,
            queryable: true,
            fields,
        },
        references,
    })
}

fn key(name: &str) -> FieldDescribe {
    FieldDescribe {
        nillable: false,
        createable: false,
        updateable: false,
        id_lookup: true,
        unique: true,
        ..plain(name, FieldType::Id)
    }
}

fn plain(name: &str, field_type: FieldType) -> FieldDescribe {
    FieldDescribe {
        name: name.to_string(),
        field_type,
        length: 0,
        precision: 0,
        scale: 0,
        digits: 0,
        nillable: true,
        createable: true,
        updateable: true,
        defaulted_on_create: false,
        unique: false,
        external_id: false,
        id_lookup: false,
        calculated: false,
        picklist_values: Vec::new(),
        restricted_picklist: false,
    }
}

/// One property, and whether it is a reference; `None` for sublists (arrays), which
/// hubsync does not sync.
fn field(name: &str, property: &Value) -> Option<(FieldDescribe, bool)> {
    if name == "id" {
        return Some((key(name), false));
    }
    let empty = Map::new();
    let p = property.as_object().unwrap_or(&empty);
    let text = |key: &str| p.get(key).and_then(Value::as_str);
    let reference = p.contains_key("$ref") || text("type") == Some("object");
    let field_type = match (text("type"), text("format")) {
        (Some("array"), _) => return None,
        _ if reference => FieldType::String,
        (Some("boolean"), _) => FieldType::Boolean,
        (Some("integer"), _) => FieldType::Long,
        (Some("number"), _) => FieldType::Double,
        (Some("string"), Some("date")) => FieldType::Date,
        (Some("string"), Some("date-time")) => FieldType::Datetime,
        (Some("string"), _) if name.eq_ignore_ascii_case("email") => FieldType::Email,
        (Some("string"), _) if name.eq_ignore_ascii_case("phone") => FieldType::Phone,
        (Some("string"), _) => FieldType::String,
        _ => FieldType::Unknown,
    };
    let read_only = p.get("readOnly") == Some(&Value::Bool(true));
    let unique = UNIQUE.contains(&name);
    let external = name == EXTERNAL_ID;
    let field = FieldDescribe {
        createable: !read_only,
        updateable: !read_only,
        defaulted_on_create: name == "entityId",
        unique,
        external_id: external,
        id_lookup: external,
        ..plain(name, field_type)
    };
    Some((field, reference))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_standard_custom_and_reference_fields() {
        let schema = json!({"type": "object", "properties": {
            "id": {"type": "string", "title": "Internal ID"},
            "companyName": {"type": "string"},
            "email": {"type": "string"},
            "isPerson": {"type": "boolean"},
            "subsidiary": {"type": "object", "title": "Primary Subsidiary"},
            "company": {"$ref": "/services/rest/record/v1/metadata-catalog/customer"},
            "lastModifiedDate": {"type": "string", "format": "date-time", "readOnly": true},
            "custentity_since": {"type": "string", "format": "date", "x-ns-custom-field": true},
            "custentity_score": {"type": "number", "format": "double"},
            "custentity_visits": {"type": "integer", "format": "int64"},
            "externalId": {"type": "string"},
            "addressbook": {"type": "array"}
        }});
        let described = from_schema("Customer", &schema).unwrap();
        assert!(described.is_reference("Subsidiary") && described.is_reference("company"));
        assert!(!described.is_reference("email"));
        let d = described.describe;
        assert_eq!(d.name, "Customer");
        let kind = |n: &str| d.field(n).map(|f| f.field_type);
        assert_eq!(kind("id"), Some(FieldType::Id));
        assert_eq!(kind("companyname"), Some(FieldType::String));
        assert_eq!(kind("email"), Some(FieldType::Email));
        assert_eq!(kind("isPerson"), Some(FieldType::Boolean));
        assert_eq!(kind("subsidiary"), Some(FieldType::String));
        assert_eq!(kind("company"), Some(FieldType::String));
        assert_eq!(kind("lastModifiedDate"), Some(FieldType::Datetime));
        assert_eq!(kind("custentity_since"), Some(FieldType::Date));
        assert_eq!(kind("custentity_score"), Some(FieldType::Double));
        assert_eq!(kind("custentity_visits"), Some(FieldType::Long));
        assert_eq!(kind("addressbook"), None);
        let modified = d.field("lastModifiedDate").unwrap();
        assert!(!modified.createable && !modified.updateable);
        let id = d.field("id").unwrap();
        assert!(!id.createable && !id.nillable);
        let external = d.field("externalId").unwrap();
        assert!(external.external_id && external.unique && external.createable);
        assert!(from_schema("Customer", &json!({"type": "object"})).is_err());
    }
}
