//! Checking each mapping against the local table and the Salesforce describe, and turning
//! it into a [`FieldPlan`]. Every problem is collected so the user sees them all at once.

use super::compat;
use super::local_type::LocalType;
use super::plan::FieldPlan;
use super::remote_type::RemoteType;
use super::selection::{self, Flow};
use super::transform::{self, Compiled};
use crate::config::{FieldMapping, Side, SyncConfig, Transform};
use crate::connector::describe::{FieldType, ObjectDescribe};
use crate::problem::{child_path, index_path, Problem, ProblemKind};
use crate::schema::LocalTable;

/// Resolves the `index`-th mapping, or says everything wrong with it.
pub fn plan(
    config: &SyncConfig,
    table: &LocalTable,
    describe: &ObjectDescribe,
    index: usize,
    mapping: &FieldMapping,
) -> Result<FieldPlan, Vec<Problem>> {
    let path = index_path("field_mappings", index);
    let (local_key, remote_key) = match mapping.source {
        Side::Local => ("source", "target"),
        Side::Remote => ("target", "source"),
    };
    let mut problems = Vec::new();
    let column = table.column(&mapping.local);
    if column.is_none() {
        problems.push(Problem::new(
            ProblemKind::UndefinedColumn,
            child_path(&path, local_key),
            format!(
                "column \"{}\" does not exist in table {}.{}",
                mapping.local, table.schema, table.name
            ),
        ));
    }
    let field = describe.field(&mapping.remote);
    if field.is_none() {
        problems.push(Problem::new(
            ProblemKind::UndefinedColumn,
            child_path(&path, remote_key),
            format!(
                "Salesforce object {} has no field \"{}\"; check the API name (custom fields end in __c)",
                describe.name, mapping.remote
            ),
        ));
    }
    let (Some(column), Some(field)) = (column, field) else {
        return Err(problems);
    };

    let format = config.mapping_options.timestamp_format;
    let is_id = field.field_type == FieldType::Id;
    let wanted = selection::config_flow(config, mapping);
    let flow = Flow {
        push: !is_id && wanted.push && (field.createable || field.updateable),
        pull: is_id || wanted.pull,
    };
    let transform_path = child_path(&path, "transformation");
    let qualified = format!("{}.{}", describe.name, field.name);
    if !flow.push && !flow.pull {
        problems.push(Problem::invalid(
            path.clone(),
            nowhere_to_flow(config, mapping, &qualified, wanted),
        ));
    }
    if is_id && mapping.transform != Transform::None {
        problems.push(Problem::invalid(
            transform_path.clone(),
            "the Id mapping cannot have a transformation: record ids are stored exactly as Salesforce returns them",
        ));
    }
    if mapping.external_id && !(field.external_id || field.id_lookup) {
        problems.push(Problem::invalid(
            child_path(&path, "external_id"),
            format!(
                "Salesforce field {qualified} is not an External ID field; mark it External ID in Salesforce or drop external_id from the mapping"
            ),
        ));
    }

    let remote_type = RemoteType::of(field);
    let local_type = LocalType::of(column);
    // A value_map changes the kind of value (picklist label ↔ local code): its entries are
    // checked against both types instead of the type pair.
    if !matches!(mapping.transform, Transform::ValueMap { .. }) {
        let checked = match flow.pull {
            true => compat::check(&remote_type, &local_type, format),
            false => compat::check_push(&remote_type, &local_type, format),
        };
        if let Err(why) = checked {
            problems.push(Problem::new(
                ProblemKind::DatatypeMismatch,
                path.clone(),
                format!("{qualified} → column \"{}\": {why}", column.name),
            ));
        }
    }
    let (source_kind, target_kind) = match mapping.source {
        Side::Local => (local_type.category(), remote_type.category()),
        Side::Remote => (remote_type.category(), local_type.category()),
    };
    let compiled = Compiled::new(&mapping.transform, source_kind, target_kind, format);
    // A bad phone region is reported by `mapping_problems` below.
    let phone = matches!(mapping.transform, Transform::FormatPhone { .. });
    if let (Err(why), false) = (&compiled, phone) {
        problems.push(Problem::new(
            ProblemKind::DatatypeMismatch,
            transform_path,
            why.clone(),
        ));
    }
    problems.extend(transform::mapping_problems(
        mapping,
        index,
        flow.backward(mapping.source),
    ));

    match compiled {
        Ok(transform) if problems.is_empty() => Ok(FieldPlan {
            remote: field.name.clone(),
            local: column.name.clone(),
            remote_type,
            local_type,
            transform,
            source: mapping.source,
            push_create: flow.push && field.createable,
            push_update: flow.push && field.updateable,
            pull: flow.pull,
            rules: Vec::new(),
            is_id,
            external_id: mapping.external_id,
            local_not_null: column.not_null,
        }),
        _ => Err(problems),
    }
}

/// Explains why a mapping would carry nothing.
fn nowhere_to_flow(
    config: &SyncConfig,
    mapping: &FieldMapping,
    qualified: &str,
    wanted: Flow,
) -> String {
    if wanted.push {
        format!(
            "Salesforce field {qualified} is read-only (neither createable nor updateable) and this mapping only pushes; \
             remove the mapping or let the sync pull"
        )
    } else {
        let from = match mapping.source {
            Side::Local => "the local table",
            Side::Remote => "Salesforce",
        };
        format!(
            "this mapping is one_way from {from}, but the sync only flows {}; drop one_way or the mapping",
            config.direction.label()
        )
    }
}

#[cfg(test)]
mod tests {
    use crate::config::{Side, Transform};
    use crate::mapping::testkit::{self, mapping};
    use crate::mapping::Mapper;
    use crate::problem::ProblemKind;
    use serde_json::json;

    fn problems(
        config: &crate::config::SyncConfig,
        table: &crate::schema::LocalTable,
    ) -> Vec<crate::problem::Problem> {
        Mapper::new(config, table, &testkit::account_describe())
            .err()
            .unwrap_or_default()
    }

    #[test]
    fn a_push_only_integer_key_fits_a_text_external_id() {
        let mut config = testkit::accounts_config();
        config.direction = crate::config::Direction {
            push: true,
            pull: false,
        };
        config.mappings.retain(|m| m.remote != "LastModifiedDate");
        let mut key = mapping("Website", "id");
        key.external_id = true;
        config.mappings.push(key);
        let mut describe = testkit::account_describe();
        let number = describe
            .fields
            .iter_mut()
            .find(|f| f.name == "Website")
            .expect("Website in the test describe");
        number.external_id = true;
        let mapper = Mapper::new(&config, &testkit::accounts_table(), &describe).unwrap();
        let row = serde_json::from_value(json!({"id": 42, "account_name": "Acme"})).unwrap();
        let pushed = mapper.to_remote(&row, crate::mapping::PushOp::Create);
        assert_eq!(pushed.value["Website"], json!("42"));
        // Pulling the same pair would have to turn any text into an integer: refused.
        config.direction.pull = true;
        let refused = problems(&config, &testkit::accounts_table());
        assert!(
            refused
                .iter()
                .any(|p| p.kind == ProblemKind::DatatypeMismatch),
            "{refused:?}"
        );
    }

    #[test]
    fn the_briefs_bidirectional_example_is_accepted() {
        let config = testkit::accounts_config();
        let mapper = Mapper::new(
            &config,
            &testkit::accounts_table(),
            &testkit::account_describe(),
        )
        .unwrap();
        // Read-only Id and LastModifiedDate are pull-only; the rest flow both ways.
        assert_eq!(mapper.push_fields(), ["Name", "Industry", "AnnualRevenue"]);
        assert_eq!(
            mapper.pull_columns(),
            [
                "sf_id",
                "account_name",
                "industry_type",
                "annual_revenue",
                "last_modified"
            ]
        );
    }

    #[test]
    fn unknown_columns_and_fields_are_42703() {
        let mut config = testkit::accounts_config();
        config.mappings.push(mapping("Nope__c", "nope"));
        let found = problems(&config, &testkit::accounts_table());
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!(found[0].path, "field_mappings[5].target");
        assert_eq!(found[0].kind.sqlstate(), "42703");
        assert_eq!(
            found[0].message,
            "column \"nope\" does not exist in table public.accounts"
        );
        assert_eq!(found[1].path, "field_mappings[5].source");
        assert!(found[1].message.contains("has no field \"Nope__c\""));
    }

    #[test]
    fn type_mismatches_are_42804_naming_both_types() {
        let mut table = testkit::accounts_table();
        table.columns.push(testkit::column("flag", "boolean"));
        let mut config = testkit::accounts_config();
        config.mappings.push(mapping("AnnualRevenue", "flag"));
        config.mappings.remove(3);
        let found = problems(&config, &table);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].kind, ProblemKind::DatatypeMismatch);
        assert_eq!(found[0].kind.sqlstate(), "42804");
        assert!(
            found[0].message.starts_with(
                "Account.AnnualRevenue → column \"flag\": a Salesforce currency(18,2) field cannot be stored in a boolean column"
            ),
            "{}",
            found[0].message
        );
    }

    #[test]
    fn read_only_fields_are_pull_only_but_refused_in_a_push_only_sync() {
        let mut config = testkit::accounts_config();
        config.direction.pull = false;
        let found = problems(&config, &testkit::accounts_table());
        // LastModifiedDate is refused; Id is fine (it is where the remote id is written back).
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].path, "field_mappings[4]");
        assert!(found[0]
            .message
            .contains("Account.LastModifiedDate is read-only"));
    }

    #[test]
    fn a_one_way_mapping_against_the_sync_direction_is_refused() {
        let mut config = testkit::accounts_config();
        config.direction.pull = false;
        config.mappings.truncate(4);
        config.mappings[1].one_way = true; // from Salesforce, but the sync only pushes
        let found = problems(&config, &testkit::accounts_table());
        assert_eq!(found.len(), 1);
        assert!(found[0]
            .message
            .contains("one_way from Salesforce, but the sync only flows to_remote"));
    }

    #[test]
    fn lossy_transforms_on_read_only_fields_are_fine_because_they_never_flow_back() {
        let mut table = testkit::accounts_table();
        table.columns.push(testkit::column("modstamp_text", "text"));
        let mut config = testkit::accounts_config();
        let mut m = mapping("SystemModstamp", "modstamp_text");
        m.transform = Transform::Lowercase;
        config.mappings.push(m);
        assert!(problems(&config, &table).is_empty());
        // The config-only check cannot know the field is read-only.
        assert_eq!(crate::mapping::check_transforms(&config).len(), 1);
    }

    #[test]
    fn the_id_mapping_takes_no_transform_and_external_ids_must_be_external() {
        let mut table = testkit::accounts_table();
        table.columns.push(testkit::column("acct_no", "text"));
        let mut config = testkit::accounts_config();
        config.mappings[0].transform = Transform::Uppercase;
        config.mappings[0].one_way = true;
        config.mappings[1].external_id = true; // Name is idLookup on Account: allowed
        config.mappings[2].external_id = true; // Industry is not
        let found = problems(&config, &table);
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!(found[0].path, "field_mappings[0].transformation");
        assert_eq!(found[1].path, "field_mappings[2].external_id");
    }

    #[test]
    fn value_map_entries_are_checked_against_both_types() {
        let mut table = testkit::accounts_table();
        table
            .columns
            .push(testkit::column("rating_code", "smallint"));
        let mut config = testkit::accounts_config();
        let mut m = mapping("Rating", "rating_code");
        m.transform = Transform::ValueMap {
            values: [
                ("Hot".to_string(), json!(3)),
                ("Cold".to_string(), json!("frozen")),
            ]
            .into(),
            default: None,
        };
        config.mappings.push(m);
        let found = problems(&config, &table);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].path, "field_mappings[5].transformation");
        assert!(
            found[0].message.contains("value_map value for \"Cold\""),
            "{}",
            found[0].message
        );
    }

    #[test]
    fn two_mappings_may_not_write_the_same_column_or_field() {
        let mut table = testkit::accounts_table();
        table.columns.push(testkit::column("name_copy", "text"));
        let mut config = testkit::accounts_config();
        // Name → name_copy pushes Name from a second column.
        config.mappings.push(mapping("Name", "name_copy"));
        // Website → account_name pulls into a column Name already fills.
        config.mappings.push(mapping("Website", "account_name"));
        let found = problems(&config, &table);
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!(found[0].path, "field_mappings[5]");
        assert!(found[0]
            .message
            .contains("field Name is also written by field_mappings[1] when pushing"));
        assert_eq!(found[1].kind.sqlstate(), "42710");
        assert!(found[1]
            .message
            .contains("column \"account_name\" is also written by field_mappings[1]"));

        // Pull-only copies of one field into two columns are fine.
        config.mappings.pop();
        config.mappings[5].one_way = true;
        assert!(problems(&config, &table).is_empty());
    }

    #[test]
    fn local_source_mappings_name_the_local_side_source() {
        let mut config = testkit::accounts_config();
        config.source = Side::Local;
        let mut m = mapping("Nope__c", "account_name");
        m.source = Side::Local;
        config.mappings.push(m);
        let found = problems(&config, &testkit::accounts_table());
        assert!(
            found.iter().any(|p| p.path == "field_mappings[5].target"),
            "{found:?}"
        );
    }
}
