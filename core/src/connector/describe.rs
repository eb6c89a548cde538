//! What the engine knows about a remote object: its fields, their types, which are
//! writable, which is the key and which can serve as an external id.
//!
//! Every connector describes its objects in this one model; Salesforce's describe answer
//! deserialises into it directly (unknown keys ignored), other systems translate theirs.

use serde::{Deserialize, Serialize};

/// A field type, in Salesforce's vocabulary (the richest of the systems synced); other
/// connectors map their types onto it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldType {
    Id,
    String,
    Textarea,
    Boolean,
    Int,
    Long,
    Double,
    Currency,
    Percent,
    Date,
    Datetime,
    Time,
    Picklist,
    Multipicklist,
    Reference,
    Email,
    Phone,
    Url,
    Base64,
    Address,
    Location,
    Combobox,
    Encryptedstring,
    #[serde(rename = "anyType")]
    AnyType,
    /// A type this version of hubsync does not know; synced as text if at all.
    #[serde(other)]
    Unknown,
}

/// One picklist entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PicklistValue {
    pub value: String,
    #[serde(default)]
    pub label: Option<String>,
    #[serde(default = "yes")]
    pub active: bool,
}

fn yes() -> bool {
    true
}

/// One field of an object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldDescribe {
    /// API name in canonical case.
    pub name: String,
    #[serde(rename = "type")]
    pub field_type: FieldType,
    #[serde(default)]
    pub length: u32,
    #[serde(default)]
    pub precision: u32,
    #[serde(default)]
    pub scale: u32,
    #[serde(default)]
    pub digits: u32,
    #[serde(default = "yes")]
    pub nillable: bool,
    #[serde(default)]
    pub createable: bool,
    #[serde(default)]
    pub updateable: bool,
    #[serde(default)]
    pub defaulted_on_create: bool,
    #[serde(default)]
    pub unique: bool,
    #[serde(default)]
    pub external_id: bool,
    #[serde(default)]
    pub id_lookup: bool,
    #[serde(default)]
    pub calculated: bool,
    #[serde(default)]
    pub picklist_values: Vec<PicklistValue>,
    #[serde(default)]
    pub restricted_picklist: bool,
}

/// An object and its fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectDescribe {
    pub name: String,
    #[serde(default)]
    pub key_prefix: Option<String>,
    #[serde(default)]
    pub createable: bool,
    #[serde(default)]
    pub updateable: bool,
    #[serde(default)]
    pub deletable: bool,
    #[serde(default)]
    pub queryable: bool,
    pub fields: Vec<FieldDescribe>,
}

impl ObjectDescribe {
    /// Field by API name, ignoring case (Salesforce names are case-insensitive; the other
    /// systems never define two fields differing only in case).
    pub fn field(&self, name: &str) -> Option<&FieldDescribe> {
        self.fields
            .iter()
            .find(|f| f.name.eq_ignore_ascii_case(name))
    }
}
