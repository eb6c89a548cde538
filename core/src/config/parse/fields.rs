//! Resolving field names used by rules to the mappings they mean.
//!
//! Rules (`field_rules`, `validation_rules`, `timestamp_field`, `include_fields`, ...) may
//! name a mapping by its remote field (Salesforce names ignore case) or its local column
//! (case-sensitive), as the brief does with `"email"` for `Email`.

use crate::config::model::FieldMapping;

/// The mappings of a config, looked up by either of their names.
pub(super) struct FieldNames<'a>(pub &'a [FieldMapping]);

impl<'a> FieldNames<'a> {
    /// The mapping `name` refers to: a remote field first, else a local column.
    pub fn mapping(&self, name: &str) -> Option<&'a FieldMapping> {
        let mappings = self.0;
        mappings
            .iter()
            .find(|m| m.remote.eq_ignore_ascii_case(name))
            .or_else(|| mappings.iter().find(|m| m.local == name))
    }

    /// The local column `name` means; an unmapped name is kept for the table check to decide.
    pub fn local_column(&self, name: &str) -> String {
        self.mapping(name)
            .map_or_else(|| name.to_string(), |m| m.local.clone())
    }

    /// The remote field `name` means; an unmapped name is kept as written.
    pub fn remote_field(&self, name: &str) -> String {
        self.mapping(name)
            .map_or_else(|| name.to_string(), |m| m.remote.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::model::{Side, Transform};

    fn mapping(remote: &str, local: &str) -> FieldMapping {
        FieldMapping {
            one_way: Default::default(),
            remote: remote.into(),
            local: local.into(),
            transform: Transform::None,
            source: Side::Remote,
            external_id: false,
            path: String::new(),
        }
    }

    #[test]
    fn remote_names_ignore_case_local_names_do_not() {
        let mappings = [
            mapping("Email", "email_address"),
            mapping("Phone", "Mobile"),
        ];
        let names = FieldNames(&mappings);
        assert_eq!(names.local_column("email"), "email_address");
        assert_eq!(names.local_column("email_address"), "email_address");
        assert_eq!(names.remote_field("Mobile"), "Phone");
        assert_eq!(names.local_column("mobile"), "mobile");
        assert_eq!(names.remote_field("BillingCity"), "BillingCity");
    }
}
