//! Which mappings sync, and which way each flows, from the config alone.
//!
//! `field_selection` filters mappings by remote field name (`explicit` keeps only
//! `include_fields`; `exclude_fields` always drops). The `Id` mapping is never filtered
//! out: it is where the remote id lives. A mapping flows where the sync's direction and
//! its own `one_way` flag both allow.

use crate::config::{FieldMapping, FieldSelection, Side, SyncConfig};

/// Which ways values flow on one mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flow {
    /// Local → Salesforce.
    pub push: bool,
    /// Salesforce → local.
    pub pull: bool,
}

impl Flow {
    /// True when values flow target → source, i.e. against the mapping's transform.
    pub fn backward(self, source: Side) -> bool {
        match source {
            Side::Local => self.pull,
            Side::Remote => self.push,
        }
    }
}

/// True when the mapping's remote field is the record id.
pub fn is_id(mapping: &FieldMapping) -> bool {
    mapping.remote.eq_ignore_ascii_case("Id")
}

/// True when `field_selection` keeps this mapping.
pub fn is_selected(selection: &FieldSelection, mapping: &FieldMapping) -> bool {
    if is_id(mapping) {
        return true;
    }
    let named = |list: &[String]| list.iter().any(|f| f.eq_ignore_ascii_case(&mapping.remote));
    (!selection.explicit || named(&selection.include)) && !named(&selection.exclude)
}

/// The ways the config lets this mapping flow (before knowing which fields are read-only).
pub fn config_flow(config: &SyncConfig, mapping: &FieldMapping) -> Flow {
    Flow {
        push: config.direction.push && (!mapping.one_way || mapping.source == Side::Local),
        pull: config.direction.pull && (!mapping.one_way || mapping.source == Side::Remote),
    }
}

/// Local columns whose changes the capture trigger records: the selected mappings that
/// push, without the id column (the worker writes it; it is never pushed).
pub fn captured_columns(config: &SyncConfig) -> Vec<String> {
    let mut columns: Vec<String> = Vec::new();
    for mapping in &config.mappings {
        if is_id(mapping)
            || !is_selected(&config.field_selection, mapping)
            || !config_flow(config, mapping).push
            || columns.contains(&mapping.local)
        {
            continue;
        }
        columns.push(mapping.local.clone());
    }
    columns
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::testkit;

    #[test]
    fn captures_pushed_columns_only() {
        let config = testkit::accounts_config();
        assert_eq!(
            captured_columns(&config),
            [
                "account_name",
                "industry_type",
                "annual_revenue",
                "last_modified"
            ]
        );
    }

    #[test]
    fn a_pull_only_sync_captures_nothing() {
        let mut config = testkit::accounts_config();
        config.direction.push = false;
        assert!(captured_columns(&config).is_empty());
    }

    #[test]
    fn explicit_selection_and_exclusions_apply() {
        let mut config = testkit::accounts_config();
        config.field_selection.explicit = true;
        config.field_selection.include = vec!["name".into(), "AnnualRevenue".into()];
        config.field_selection.exclude = vec!["AnnualRevenue".into()];
        assert_eq!(captured_columns(&config), ["account_name"]);
        // The Id mapping survives any selection.
        assert!(is_selected(&config.field_selection, &config.mappings[0]));
    }

    #[test]
    fn one_way_mappings_flow_from_their_source_only() {
        let mut config = testkit::accounts_config();
        config.mappings[1].one_way = true; // source: Salesforce
        let flow = config_flow(&config, &config.mappings[1]);
        assert_eq!(
            flow,
            Flow {
                push: false,
                pull: true
            }
        );
        assert!(!flow.backward(Side::Remote));
        assert!(!captured_columns(&config).contains(&"account_name".to_string()));
    }
}
