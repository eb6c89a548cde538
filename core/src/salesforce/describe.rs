//! The parts of a Salesforce sObject describe that syncing depends on.
//!
//! Deserialised straight from `GET /sobjects/{Type}/describe`; unknown keys are ignored
//! so a real org's much larger answer parses too.

#[cfg(test)]
use crate::connector::describe::{FieldType, ObjectDescribe};
use serde::{Deserialize, Serialize};

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
        let d: ObjectDescribe = serde_json::from_value(json).unwrap();
        assert_eq!(
            d.field("annualrevenue").unwrap().field_type,
            FieldType::Currency
        );
        assert_eq!(d.field("Odd").unwrap().field_type, FieldType::Unknown);
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
