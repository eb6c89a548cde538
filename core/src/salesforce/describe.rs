//! The parts of a Salesforce sObject describe that syncing depends on.
//!
//! Deserialised straight from `GET /sobjects/{Type}/describe`; unknown keys are ignored
//! so a real org's much larger answer parses too.

use serde::{Deserialize, Serialize};

/// A Salesforce field type, as `describe` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SfType {
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

/// One field of an sObject describe.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldDescribe {
    /// API name in canonical case.
    pub name: String,
    #[serde(rename = "type")]
    pub sf_type: SfType,
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

/// An sObject describe: the object and its fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SObjectDescribe {
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

impl SObjectDescribe {
    /// Field by API name; Salesforce names are case-insensitive.
    pub fn field(&self, name: &str) -> Option<&FieldDescribe> {
        self.fields
            .iter()
            .find(|f| f.name.eq_ignore_ascii_case(name))
    }
}

/// One sObject in the org's describe-global list: enough to check that a configured
/// object exists and what may be done with it, without describing every object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SObjectSummary {
    pub name: String,
    #[serde(default)]
    pub label: Option<String>,
    #[serde(default)]
    pub key_prefix: Option<String>,
    #[serde(default)]
    pub custom: bool,
    #[serde(default)]
    pub createable: bool,
    #[serde(default)]
    pub updateable: bool,
    #[serde(default)]
    pub deletable: bool,
    #[serde(default)]
    pub queryable: bool,
    /// Whether the replication endpoints (`updated`/`deleted`) work for it.
    #[serde(default)]
    pub replicateable: bool,
}

/// `GET /sobjects`: every object of the org.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GlobalDescribe {
    #[serde(default)]
    pub encoding: Option<String>,
    /// Most records per collections call (200).
    #[serde(default)]
    pub max_batch_size: Option<u32>,
    pub sobjects: Vec<SObjectSummary>,
}

impl GlobalDescribe {
    /// Object by API name, ignoring case as Salesforce does.
    pub fn object(&self, name: &str) -> Option<&SObjectSummary> {
        self.sobjects
            .iter()
            .find(|o| o.name.eq_ignore_ascii_case(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_describe_and_ignores_extra_keys() {
        let json = serde_json::json!({
            "name": "Account", "keyPrefix": "001", "createable": true, "updateable": true,
            "deletable": true, "queryable": true, "labelPlural": "Accounts",
            "fields": [
                {"name": "Id", "type": "id", "length": 18, "nillable": false, "idLookup": true},
                {"name": "AnnualRevenue", "type": "currency", "precision": 18, "scale": 2,
                 "createable": true, "updateable": true, "soapType": "xsd:double"},
                {"name": "Odd", "type": "complexvalue"}
            ]
        });
        let d: SObjectDescribe = serde_json::from_value(json).unwrap();
        assert_eq!(d.field("annualrevenue").unwrap().sf_type, SfType::Currency);
        assert_eq!(d.field("Odd").unwrap().sf_type, SfType::Unknown);
        assert!(d.field("Id").unwrap().id_lookup);
        assert!(!d.field("Id").unwrap().createable);
    }

    #[test]
    fn parses_describe_global() {
        let json = serde_json::json!({
            "encoding": "UTF-8", "maxBatchSize": 200,
            "sobjects": [{"name": "Account", "label": "Account", "keyPrefix": "001",
                          "custom": false, "createable": true, "replicateable": true,
                          "urls": {"sobject": "/services/data/v59.0/sobjects/Account"}}]
        });
        let g: GlobalDescribe = serde_json::from_value(json).unwrap();
        assert_eq!(g.max_batch_size, Some(200));
        let account = g.object("account").unwrap();
        assert!(account.replicateable && account.createable && !account.deletable);
        assert!(g.object("Contact").is_none());
    }
}
