//! The org's metadata: which objects exist and what their fields accept.
//!
//! Built once at start from the standard objects plus the schema file; immutable after
//! that (shared as `Arc<Schema>`), so request handlers read it without locking.

mod file;
mod standard;

pub use file::{
    load_schema_file, Automation, AutomationAction, RuleCheck, Transform, ValidationRule,
};

use crate::ids::Id;
use std::collections::HashMap;

/// A field's data type, named as describe names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Id,
    Reference,
    String,
    Textarea,
    Email,
    Phone,
    Url,
    Picklist,
    Multipicklist,
    Boolean,
    Int,
    Double,
    Currency,
    Percent,
    Date,
    DateTime,
    Time,
    Address,
}

impl Kind {
    /// The `type` of a describe field entry.
    pub fn type_name(self) -> &'static str {
        match self {
            Kind::Id => "id",
            Kind::Reference => "reference",
            Kind::String => "string",
            Kind::Textarea => "textarea",
            Kind::Email => "email",
            Kind::Phone => "phone",
            Kind::Url => "url",
            Kind::Picklist => "picklist",
            Kind::Multipicklist => "multipicklist",
            Kind::Boolean => "boolean",
            Kind::Int => "int",
            Kind::Double => "double",
            Kind::Currency => "currency",
            Kind::Percent => "percent",
            Kind::Date => "date",
            Kind::DateTime => "datetime",
            Kind::Time => "time",
            Kind::Address => "address",
        }
    }

    /// Parses a schema-file type name.
    pub fn from_name(name: &str) -> Option<Kind> {
        Some(match name.to_ascii_lowercase().as_str() {
            "reference" => Kind::Reference,
            "string" | "text" => Kind::String,
            "textarea" => Kind::Textarea,
            "email" => Kind::Email,
            "phone" => Kind::Phone,
            "url" => Kind::Url,
            "picklist" => Kind::Picklist,
            "multipicklist" => Kind::Multipicklist,
            "boolean" | "checkbox" => Kind::Boolean,
            "int" | "integer" => Kind::Int,
            "double" | "number" => Kind::Double,
            "currency" => Kind::Currency,
            "percent" => Kind::Percent,
            "date" => Kind::Date,
            "datetime" => Kind::DateTime,
            "time" => Kind::Time,
            _ => return None,
        })
    }

    /// The `soapType` of a describe field entry.
    pub fn soap_type(self) -> &'static str {
        match self {
            Kind::Id | Kind::Reference => "tns:ID",
            Kind::Boolean => "xsd:boolean",
            Kind::Int => "xsd:int",
            Kind::Double | Kind::Currency | Kind::Percent => "xsd:double",
            Kind::Date => "xsd:date",
            Kind::DateTime => "xsd:dateTime",
            Kind::Time => "xsd:time",
            Kind::Address => "urn:address",
            _ => "xsd:string",
        }
    }

    /// Text-valued kinds: compared case-insensitively in SOQL, length-checked on save.
    pub fn is_text(self) -> bool {
        matches!(
            self,
            Kind::String
                | Kind::Textarea
                | Kind::Email
                | Kind::Phone
                | Kind::Url
                | Kind::Picklist
                | Kind::Multipicklist
        )
    }

    /// Kinds stored as `f64` and rounded to the field's scale.
    pub fn is_decimal(self) -> bool {
        matches!(self, Kind::Double | Kind::Currency | Kind::Percent)
    }
}

/// What a field is for beyond its type: system-maintained or computed fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    Plain,
    Id,
    IsDeleted,
    CreatedDate,
    CreatedById,
    LastModifiedDate,
    LastModifiedById,
    SystemModstamp,
    OwnerId,
    /// A name built from other fields on save (Contact.Name).
    ComposedName(Vec<usize>),
    /// A read-only compound address: street, city, state, postal code, country.
    Address([usize; 5]),
    /// A custom object's Name: defaults to the record id when not given.
    RecordName,
}

/// One picklist entry.
#[derive(Debug, Clone)]
pub struct PicklistEntry {
    pub value: String,
    pub label: String,
    pub default: bool,
}

/// One field and everything describe says about it.
#[derive(Debug, Clone)]
pub struct FieldDef {
    pub name: String,
    pub label: String,
    pub kind: Kind,
    pub role: Role,
    pub length: u32,
    pub precision: u32,
    pub scale: u32,
    pub digits: u32,
    /// A value must be given on create (describe: `nillable:false`, not defaulted).
    pub required: bool,
    pub createable: bool,
    pub updateable: bool,
    pub defaulted_on_create: bool,
    pub unique: bool,
    pub external_id: bool,
    pub id_lookup: bool,
    pub case_sensitive: bool,
    pub custom: bool,
    pub name_field: bool,
    pub reference_to: Vec<String>,
    pub relationship_name: Option<String>,
    pub picklist: Vec<PicklistEntry>,
    pub restricted_picklist: bool,
}

impl FieldDef {
    /// A plain createable/updateable, nillable field; adjust with the builder methods.
    pub fn new(name: &str, label: &str, kind: Kind) -> FieldDef {
        let (length, precision, scale, digits) = match kind {
            Kind::Id | Kind::Reference => (18, 0, 0, 0),
            Kind::String | Kind::Email | Kind::Picklist => (255, 0, 0, 0),
            Kind::Phone => (40, 0, 0, 0),
            Kind::Url => (255, 0, 0, 0),
            Kind::Textarea => (32_000, 0, 0, 0),
            Kind::Multipicklist => (4099, 0, 0, 0),
            Kind::Currency => (0, 18, 2, 0),
            Kind::Double | Kind::Percent => (0, 18, 0, 0),
            Kind::Int => (0, 0, 0, 9),
            _ => (0, 0, 0, 0),
        };
        FieldDef {
            name: name.to_string(),
            label: label.to_string(),
            kind,
            role: Role::Plain,
            length,
            precision,
            scale,
            digits,
            required: false,
            createable: true,
            updateable: true,
            defaulted_on_create: kind == Kind::Boolean,
            unique: false,
            external_id: false,
            id_lookup: false,
            case_sensitive: false,
            custom: name.ends_with("__c"),
            name_field: false,
            reference_to: Vec::new(),
            relationship_name: None,
            picklist: Vec::new(),
            restricted_picklist: false,
        }
    }

    /// Nillable in describe terms: booleans never are; required fields are not.
    pub fn nillable(&self) -> bool {
        !self.required
            && self.kind != Kind::Boolean
            && !self.is_system()
            && !matches!(
                self.role,
                Role::OwnerId | Role::RecordName | Role::ComposedName(_)
            )
    }

    /// System-maintained (audit fields, Id, IsDeleted): never writable through the API.
    pub fn is_system(&self) -> bool {
        matches!(
            self.role,
            Role::Id
                | Role::IsDeleted
                | Role::CreatedDate
                | Role::CreatedById
                | Role::LastModifiedDate
                | Role::LastModifiedById
                | Role::SystemModstamp
        )
    }

    /// Fields a SOQL filter or ORDER BY can use (compound addresses cannot).
    pub fn filterable(&self) -> bool {
        self.kind != Kind::Address && self.kind != Kind::Textarea
    }

    /// Index keys must match for unique / external-id lookups.
    pub fn indexed(&self) -> bool {
        self.unique || self.external_id
    }
}

/// Positions of the fields every object has.
#[derive(Debug, Clone, Copy)]
pub struct SysFields {
    pub id: usize,
    pub is_deleted: usize,
    pub created_date: usize,
    pub created_by: usize,
    pub last_modified_date: usize,
    pub last_modified_by: usize,
    pub system_modstamp: usize,
}

/// One sObject type.
#[derive(Debug, Clone)]
pub struct ObjectDef {
    pub name: String,
    pub label: String,
    pub label_plural: String,
    pub key_prefix: String,
    pub custom: bool,
    pub fields: Vec<FieldDef>,
    pub sys: SysFields,
    pub validation_rules: Vec<ValidationRule>,
    by_name: HashMap<String, usize>,
}

impl ObjectDef {
    /// Builds an object, indexing its fields and locating its system fields.
    pub fn new(
        name: &str,
        label: &str,
        label_plural: &str,
        key_prefix: &str,
        fields: Vec<FieldDef>,
    ) -> ObjectDef {
        let by_name: HashMap<String, usize> = fields
            .iter()
            .enumerate()
            .map(|(i, f)| (f.name.to_ascii_lowercase(), i))
            .collect();
        let find = |role: Role| {
            fields
                .iter()
                .position(|f| f.role == role)
                .expect("every object has its system fields")
        };
        let sys = SysFields {
            id: find(Role::Id),
            is_deleted: find(Role::IsDeleted),
            created_date: find(Role::CreatedDate),
            created_by: find(Role::CreatedById),
            last_modified_date: find(Role::LastModifiedDate),
            last_modified_by: find(Role::LastModifiedById),
            system_modstamp: find(Role::SystemModstamp),
        };
        ObjectDef {
            name: name.to_string(),
            label: label.to_string(),
            label_plural: label_plural.to_string(),
            key_prefix: key_prefix.to_string(),
            custom: name.ends_with("__c"),
            fields,
            sys,
            validation_rules: Vec::new(),
            by_name,
        }
    }

    /// Field position by API name, case-insensitively (Salesforce field names are).
    pub fn field_index(&self, name: &str) -> Option<usize> {
        if let Some(i) = self.by_name.get(name) {
            return Some(*i);
        }
        self.by_name.get(&name.to_ascii_lowercase()).copied()
    }

    /// Field by API name, case-insensitively.
    pub fn field(&self, name: &str) -> Option<&FieldDef> {
        self.field_index(name).map(|i| &self.fields[i])
    }

    /// The reference field whose relationship is `name` (`Account` for `AccountId`,
    /// custom `Parent__r`), case-insensitively: SOQL paths and Bulk columns use it.
    pub fn relationship(&self, name: &str) -> Option<usize> {
        self.fields.iter().position(|f| {
            f.relationship_name
                .as_deref()
                .is_some_and(|r| r.eq_ignore_ascii_case(name))
        })
    }

    /// The REST path of this object at an API version, the stem of record urls.
    pub fn url_base(&self, version: &str) -> String {
        format!("/services/data/v{version}/sobjects/{}", self.name)
    }
}

/// All objects of the org.
#[derive(Debug, Clone)]
pub struct Schema {
    pub objects: Vec<ObjectDef>,
    pub automations: Vec<Automation>,
    by_name: HashMap<String, usize>,
    by_prefix: HashMap<String, usize>,
}

impl Schema {
    /// The standard objects only (Account, Contact).
    pub fn standard() -> Schema {
        Schema::from_objects(standard::objects(), Vec::new())
    }

    fn from_objects(objects: Vec<ObjectDef>, automations: Vec<Automation>) -> Schema {
        let by_name = objects
            .iter()
            .enumerate()
            .map(|(i, o)| (o.name.to_ascii_lowercase(), i))
            .collect();
        let by_prefix = objects
            .iter()
            .enumerate()
            .map(|(i, o)| (o.key_prefix.clone(), i))
            .collect();
        Schema {
            objects,
            automations,
            by_name,
            by_prefix,
        }
    }

    /// Object position by API name, case-insensitively.
    pub fn object_index(&self, name: &str) -> Option<usize> {
        self.by_name.get(&name.to_ascii_lowercase()).copied()
    }

    /// Object by API name, case-insensitively.
    pub fn object(&self, name: &str) -> Option<&ObjectDef> {
        self.object_index(name).map(|i| &self.objects[i])
    }

    /// The object an id belongs to, from its key prefix.
    pub fn object_of_id(&self, id: &Id) -> Option<usize> {
        self.by_prefix.get(id.key_prefix()).copied()
    }

    /// The child relationships of the object named `parent`: describe's
    /// `childRelationships` and the names SOQL subqueries select from (`Contacts`;
    /// custom children as `Invoices__r`).
    pub fn child_relationships(&self, parent: &str) -> Vec<ChildRelationship> {
        let mut out = Vec::new();
        for (child, object) in self.objects.iter().enumerate() {
            for (field, def) in object.fields.iter().enumerate() {
                if def.kind == Kind::Reference
                    && !def.is_system()
                    && def.reference_to.iter().any(|t| t == parent)
                {
                    let name = if object.custom {
                        format!("{}s__r", object.name.trim_end_matches("__c"))
                    } else {
                        format!("{}s", object.name)
                    };
                    out.push(ChildRelationship { name, child, field });
                }
            }
        }
        out
    }
}

/// Children of `child` point at a parent through their reference field `field`.
#[derive(Debug, Clone)]
pub struct ChildRelationship {
    pub name: String,
    pub child: usize,
    pub field: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_objects_have_system_fields_and_case_insensitive_lookup() {
        let schema = Schema::standard();
        let account = schema.object("account").unwrap();
        assert_eq!(account.name, "Account");
        assert_eq!(account.key_prefix, "001");
        assert_eq!(account.field("annualrevenue").unwrap().scale, 2);
        assert_eq!(account.fields[account.sys.id].name, "Id");
        let contact = schema.object("Contact").unwrap();
        assert!(contact.field("LastName").unwrap().required);
        assert!(!contact.field("Name").unwrap().createable);
        assert_eq!(
            contact.field("AccountId").unwrap().reference_to,
            vec!["Account"]
        );
        assert_eq!(
            schema.object_of_id(&Id::generate("003", 5)),
            schema.object_index("Contact")
        );
    }
}
