//! The fields of `customer` and `contact`: the standard ones the reference lists, plus
//! custom entity fields (`custentity_*`) from a schema file. One list serves body
//! validation, record rendering, `q` filters, SuiteQL columns and the metadata catalog.

use serde::Deserialize;

/// The record types served.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RecordType {
    Customer,
    Contact,
}

impl RecordType {
    /// Both types.
    pub const ALL: [RecordType; 2] = [RecordType::Customer, RecordType::Contact];

    /// The URL and SuiteQL name.
    pub fn name(self) -> &'static str {
        match self {
            RecordType::Customer => "customer",
            RecordType::Contact => "contact",
        }
    }

    /// The type a URL segment or table name names.
    pub fn parse(name: &str) -> Option<RecordType> {
        RecordType::ALL
            .into_iter()
            .find(|t| t.name().eq_ignore_ascii_case(name))
    }
}

/// What a field holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    Text,
    /// `checkbox`; SuiteQL renders `T`/`F`.
    Bool,
    Integer,
    Float,
    /// A `YYYY-MM-DD` date (no time zone).
    Date,
    /// A datetime: written ISO-8601 with `Z` or an offset, read back in UTC (`…Z`).
    DateTime,
    /// `{"id": "…"}` on write; `{"links", "id", "refName"}` on read.
    Ref(Target),
    /// `dateCreated`, `lastModifiedDate`: set by the server, ignored on write.
    Stamp,
}

/// What a reference field points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Subsidiary,
    Customer,
}

/// One field.
#[derive(Debug, Clone)]
pub struct Field {
    /// REST property name (casing as NetSuite sends it).
    pub name: String,
    pub kind: FieldType,
    /// The label the metadata catalog shows.
    pub label: String,
}

impl Field {
    /// The SuiteQL column: the name in lower case.
    pub fn column(&self) -> String {
        self.name.to_ascii_lowercase()
    }

    fn standard(name: &str, kind: FieldType, label: &str) -> Field {
        Field {
            name: name.into(),
            kind,
            label: label.into(),
        }
    }
}

/// The fields of both record types.
#[derive(Debug, Clone)]
pub struct Schema {
    customer: Vec<Field>,
    contact: Vec<Field>,
}

fn common(kind: RecordType) -> Vec<Field> {
    use FieldType::*;
    let mut fields = vec![
        Field::standard("entityId", Text, "ID"),
        Field::standard("firstName", Text, "First Name"),
        Field::standard("lastName", Text, "Last Name"),
        Field::standard("email", Text, "Email"),
        Field::standard("phone", Text, "Phone"),
        Field::standard("externalId", Text, "External ID"),
        Field::standard("isinactive", Bool, "Inactive"),
        Field::standard("subsidiary", Ref(Target::Subsidiary), "Primary Subsidiary"),
        Field::standard("comments", Text, "Comments"),
        Field::standard("dateCreated", Stamp, "Date Created"),
        Field::standard("lastModifiedDate", Stamp, "Last Modified"),
    ];
    match kind {
        RecordType::Customer => {
            fields.insert(1, Field::standard("companyName", Text, "Company Name"));
            fields.insert(2, Field::standard("isPerson", Bool, "Type"));
        }
        RecordType::Contact => {
            fields.insert(3, Field::standard("title", Text, "Job Title"));
            fields.insert(
                4,
                Field::standard("company", Ref(Target::Customer), "Company"),
            );
        }
    }
    fields
}

impl Default for Schema {
    /// The standard fields only.
    fn default() -> Schema {
        Schema {
            customer: common(RecordType::Customer),
            contact: common(RecordType::Contact),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct File {
    custom_fields: Vec<CustomField>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct CustomField {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    label: Option<String>,
    applies_to: Vec<String>,
}

impl Schema {
    /// The standard fields plus the file's custom entity fields:
    /// `{"customFields": [{"id": "custentity_tier", "type": "text", "appliesTo": ["customer"]}]}`.
    pub fn from_json(text: &str) -> Result<Schema, String> {
        let file: File = serde_json::from_str(text).map_err(|e| format!("schema file: {e}"))?;
        let mut schema = Schema::default();
        for custom in file.custom_fields {
            let id = custom.id.to_ascii_lowercase();
            let valid = id.len() > "custentity_".len()
                && id.starts_with("custentity_")
                && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
            if !valid {
                return Err(format!(
                    "schema file: custom field id {:?} must be custentity_ followed by letters, digits or _",
                    custom.id
                ));
            }
            let kind = match custom.kind.as_str() {
                "text" => FieldType::Text,
                "checkbox" => FieldType::Bool,
                "integer" => FieldType::Integer,
                "float" => FieldType::Float,
                "date" => FieldType::Date,
                "datetime" => FieldType::DateTime,
                other => {
                    return Err(format!(
                        "schema file: {id}: type {other:?} is not text, checkbox, integer, float, date or datetime"
                    ))
                }
            };
            if custom.applies_to.is_empty() {
                return Err(format!("schema file: {id}: appliesTo names no record type"));
            }
            for target in &custom.applies_to {
                let kind_of = RecordType::parse(target).ok_or_else(|| {
                    format!("schema file: {id}: appliesTo {target:?} is not customer or contact")
                })?;
                let fields = schema.fields_mut(kind_of);
                if fields.iter().any(|f| f.name == id) {
                    return Err(format!("schema file: {id} is defined twice"));
                }
                fields.push(Field {
                    name: id.clone(),
                    kind,
                    label: custom.label.clone().unwrap_or_else(|| id.clone()),
                });
            }
        }
        Ok(schema)
    }

    /// The fields of a type, in rendering order.
    pub fn fields(&self, kind: RecordType) -> &[Field] {
        match kind {
            RecordType::Customer => &self.customer,
            RecordType::Contact => &self.contact,
        }
    }

    fn fields_mut(&mut self, kind: RecordType) -> &mut Vec<Field> {
        match kind {
            RecordType::Customer => &mut self.customer,
            RecordType::Contact => &mut self.contact,
        }
    }

    /// A field by REST name (exact case, as NetSuite checks property names).
    pub fn field(&self, kind: RecordType, name: &str) -> Option<&Field> {
        self.fields(kind).iter().find(|f| f.name == name)
    }

    /// A field by SuiteQL column (any case).
    pub fn column(&self, kind: RecordType, column: &str) -> Option<&Field> {
        self.fields(kind)
            .iter()
            .find(|f| f.name.eq_ignore_ascii_case(column))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_custom_fields_and_refuses_bad_ones() {
        let schema = Schema::from_json(
            r#"{"customFields": [{"id": "custentity_tier", "type": "text", "appliesTo": ["customer", "contact"]}]}"#,
        )
        .unwrap();
        assert!(schema
            .field(RecordType::Customer, "custentity_tier")
            .is_some());
        assert!(schema
            .column(RecordType::Contact, "CUSTENTITY_TIER")
            .is_some());
        for bad in [
            r#"{"customFields": [{"id": "tier", "type": "text", "appliesTo": ["customer"]}]}"#,
            r#"{"customFields": [{"id": "custentity_x", "type": "blob", "appliesTo": ["customer"]}]}"#,
            r#"{"customFields": [{"id": "custentity_x", "type": "text", "appliesTo": ["invoice"]}]}"#,
            r#"{"customFields": [{"id": "custentity_x", "type": "text", "appliesTo": []}]}"#,
            r#"{"fields": []}"#,
        ] {
            assert!(Schema::from_json(bad).is_err(), "{bad}");
        }
    }
}
