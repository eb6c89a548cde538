//! How configs resolve into the model; malformed configs are covered by the
//! table-driven fixture test in `core/tests/malformed_configs.rs`.

use super::parse_sync;
use crate::config::model::*;
use crate::config::patch::merge_patch;
use crate::problem::Problem;
use serde_json::{json, Value};

/// The brief's accounts sync (connection + mappings), Salesforce → Postgres.
fn accounts() -> Value {
    json!({
        "connection_name": "SF_Postgres_Accounts",
        "source": {"type": "salesforce", "object": "Account",
                   "credentials": {"auth_type": "oauth2", "instance_url": "https://yourinstance.salesforce.com"}},
        "target": {"type": "postgres", "table": "accounts",
                   "credentials": {"host": "db.example.com", "port": 5432, "database": "customer_data", "schema": "public"}},
        "field_mappings": [
            {"source": "Id", "target": "sf_id"},
            {"source": "Name", "target": "account_name"},
            {"source": "Industry", "target": "industry_type"},
            {"source": "AnnualRevenue", "target": "annual_revenue"},
            {"source": "LastModifiedDate", "target": "last_modified"}
        ]
    })
}

fn with(patch: Value) -> Value {
    merge_patch(&accounts(), &patch)
}

fn ok(config: Value) -> SyncConfig {
    parse_sync(&config).unwrap_or_else(|problems| panic!("{problems:#?}"))
}

fn errors(config: Value) -> Vec<Problem> {
    parse_sync(&config).expect_err("config should be rejected")
}

fn paths(problems: &[Problem]) -> Vec<&str> {
    problems.iter().map(|p| p.path.as_str()).collect()
}

#[test]
fn the_accounts_example_resolves_with_defaults() {
    let c = ok(accounts());
    assert_eq!(
        (c.name.as_str(), c.connection.as_str()),
        ("SF_Postgres_Accounts", "SF_Postgres_Accounts")
    );
    assert_eq!(c.remote.object, "Account");
    assert_eq!(
        c.remote.instance_url.as_deref(),
        Some("https://yourinstance.salesforce.com")
    );
    assert_eq!(c.remote.api_version, "59.0");
    assert_eq!(
        (c.local.table.as_str(), c.local.schema.as_deref()),
        ("accounts", Some("public"))
    );
    assert_eq!(c.source, Side::Remote);
    assert_eq!(
        c.direction,
        Direction {
            push: true,
            pull: true
        }
    );
    assert_eq!(c.id_mapping().map(|m| m.local.as_str()), Some("sf_id"));
    assert_eq!(c.mappings[1].local_path(), "field_mappings[1].target");
    assert_eq!(
        c.conflict,
        ConflictPolicy::LastWriteWins {
            timestamp_field: "LastModifiedDate".into(),
            local_timestamp_column: Some("last_modified".into()),
        }
    );
    assert_eq!(c.error_handling.retry.max_attempts, 5);
    assert_eq!(
        c.error_handling.fallback,
        FallbackAction::QueueForManualReview
    );
    assert_eq!(
        (c.performance.batch_size, c.performance.parallelism),
        (1000, 4)
    );
    assert_eq!(c.ongoing.polling_interval_seconds, 30.0);
    assert_eq!(c.ongoing.safety_poll_seconds, 300.0);
    assert_eq!(c.initial_sync, InitialSync::FullLoad);
    assert_eq!(c.monitoring.retention_days, 30);
    assert_eq!(c.mapping_options.default_phone_region, "US");
    assert!(c.loop_prevention.enabled);
}

#[test]
fn the_reverse_orientation_reads_mappings_as_column_to_field() {
    let c = ok(json!({
        "name": "push_accounts",
        "source": {"type": "postgres", "table": "accounts"},
        "target": {"type": "salesforce", "object": "Account"},
        "sync_type": "one_way",
        "field_mappings": [
            {"source": "sf_id", "target": "Id"},
            {"source": "account_name", "target": "Name", "transformation": "trim"}
        ]
    }));
    assert_eq!(c.source, Side::Local);
    assert_eq!(
        c.direction,
        Direction {
            push: true,
            pull: false
        }
    );
    let m = &c.mappings[1];
    assert_eq!(
        (m.remote.as_str(), m.local.as_str(), m.source),
        ("Name", "account_name", Side::Local)
    );
    assert_eq!(
        (m.remote_path().as_str(), m.local_path().as_str()),
        ("field_mappings[1].target", "field_mappings[1].source")
    );
}

#[test]
fn one_way_flags_default_and_orient() {
    let pull_only = ok(with(json!({"sync_type": "one_way"})));
    assert_eq!(
        pull_only.direction,
        Direction {
            push: false,
            pull: true
        }
    );
    let reverse = ok(with(
        json!({"sync_type": "one_way", "target_to_source": true}),
    ));
    assert_eq!(
        reverse.direction,
        Direction {
            push: true,
            pull: false
        }
    );
    let flags_only = ok(with(json!({"target_to_source": false})));
    assert_eq!(flags_only.direction.label(), "to_local");
}

#[test]
fn direction_contradictions_name_both_paths() {
    let p = errors(with(
        json!({"sync_type": "one_way", "source_to_target": true, "target_to_source": true}),
    ));
    assert_eq!(paths(&p), ["target_to_source"]);
    assert!(p[0].message.contains("sync_type 'one_way' at sync_type"));

    let p = errors(with(
        json!({"sync_type": "bidirectional", "sync_settings": {"target_to_source": false}}),
    ));
    assert_eq!(paths(&p), ["sync_settings.target_to_source"]);

    let p = errors(with(
        json!({"sync_type": "one_way", "sync_settings": {"sync_type": "bidirectional"}}),
    ));
    assert_eq!(paths(&p), ["sync_settings.sync_type"]);
    assert!(p[0].message.contains("contradicts the value at sync_type"));
}

#[test]
fn the_same_setting_in_both_places_is_fine_when_it_agrees() {
    let c = ok(with(json!({
        "sync_type": "bidirectional",
        "conflict_resolution": "last_write_wins",
        "sync_settings": {"sync_type": "bidirectional",
                          "conflict_resolution": {"strategy": "last_write_wins", "timestamp_field": "LastModifiedDate"}}
    })));
    assert!(matches!(c.conflict, ConflictPolicy::LastWriteWins { .. }));
    let p = errors(with(json!({
        "conflict_resolution": "last_write_wins",
        "sync_settings": {"conflict_resolution": {"strategy": "last_write_wins", "timestamp_field": "SystemModstamp"}}
    })));
    assert_eq!(paths(&p), ["sync_settings.conflict_resolution"]);
}

#[test]
fn names_are_derived_and_checked() {
    let mut config = accounts();
    config.as_object_mut().unwrap().remove("connection_name");
    let c = ok(config.clone());
    assert_eq!(
        (c.name.as_str(), c.connection.as_str()),
        ("account_accounts", "account_accounts")
    );
    let named = ok(merge_patch(&config, &json!({"name": "accts"})));
    assert_eq!(named.name, "accts");
    let p = errors(merge_patch(
        &config,
        &json!({"target": {"table": "my-accounts"}}),
    ));
    assert_eq!(paths(&p), ["name"]);
    let p = errors(with(json!({"connection_name": "SF Postgres"})));
    assert_eq!(paths(&p), ["connection_name"]);
}

#[test]
fn field_rules_resolve_names_and_systems() {
    let c = ok(with(json!({"conflict_resolution": {
    "strategy": "field_level_priority",
    "field_rules": [
        {"field": "name", "priority_system": "crm"},
        {"field": "industry_type", "priority_system": "erp"},
        {"field": "annual_revenue", "priority_system": "last_updated"},
        {"field": "billing_address", "priority_system": "salesforce"},
        {"field": "LastModifiedDate", "priority_system": "target"},
        {"field": "Phone", "priority_system": "support"},
        {"field": "Website", "priority_system": "postgres"}
    ]}})));
    let ConflictPolicy::FieldLevelPriority { rules, default } = c.conflict else {
        panic!()
    };
    let got: Vec<(&str, Priority)> = rules
        .iter()
        .map(|r| (r.local.as_str(), r.priority.clone()))
        .collect();
    assert_eq!(
        got,
        [
            ("account_name", Priority::Side(Side::Remote)),
            ("industry_type", Priority::System(SystemKind::Netsuite)),
            ("annual_revenue", Priority::LastUpdated),
            ("billing_address", Priority::Side(Side::Remote)),
            ("last_modified", Priority::Side(Side::Local)),
            ("Phone", Priority::System(SystemKind::Zendesk)),
            ("Website", Priority::Side(Side::Local)),
        ]
    );
    assert_eq!(rules[2].path, "conflict_resolution.field_rules[2]");
    assert!(matches!(*default, ConflictPolicy::LastWriteWins { .. }));

    let p = errors(with(json!({"conflict_resolution": {
        "strategy": "field_level_priority",
        "field_rules": [{"field": "name", "priority_system": "mainframe"}]}})));
    assert_eq!(
        paths(&p),
        ["conflict_resolution.field_rules[0].priority_system"]
    );
}

#[test]
fn side_strategies_follow_the_source() {
    let c = ok(with(json!({"conflict_resolution": "target_wins"})));
    assert_eq!(c.conflict, ConflictPolicy::SideWins { side: Side::Local });
    let c = ok(with(
        json!({"conflict_resolution": {"strategy": "field_level_priority", "default": "source_wins",
        "field_rules": [{"field": "Name", "priority_system": "postgres"}]}}),
    ));
    let ConflictPolicy::FieldLevelPriority { default, .. } = c.conflict else {
        panic!()
    };
    assert_eq!(*default, ConflictPolicy::SideWins { side: Side::Remote });
}

#[test]
fn selection_guards_the_mappings() {
    let c = ok(with(json!({"exclude_fields": ["SystemModstamp"]})));
    assert_eq!(c.field_selection.exclude, ["SystemModstamp"]);
    let p = errors(with(json!({"field_selection": "explicit",
        "include_fields": ["Id", "Name", "industry_type", "LastModifiedDate"]})));
    assert_eq!(paths(&p), ["field_mappings[3].source"]);
    let p = errors(with(json!({"exclude_fields": ["annual_revenue"]})));
    assert_eq!(paths(&p), ["field_mappings[3].source"]);
    assert!(p[0].message.contains("exclude_fields"));
}

#[test]
fn natural_key_and_upsert_key_resolve_to_remote_fields() {
    let mut config = with(json!({"sync_settings": {"natural_key": ["account_name", "Industry"]}}));
    config["field_mappings"][1]["external_id"] = json!(true);
    let c = ok(config);
    assert_eq!(c.natural_key, ["Name", "Industry"]);
    assert_eq!(
        c.external_id_mapping().map(|m| m.remote.as_str()),
        Some("Name")
    );
    let p = errors(with(json!({"natural_key": ["Website"]})));
    assert_eq!(paths(&p), ["natural_key[0]"]);
}

#[test]
fn validation_rules_resolve_and_compile() {
    let c = ok(with(json!({"validation_rules": [
        {"field": "Name", "rule": "max_length", "max": 255},
        {"field": "industry_type", "rule": "one_of", "values": ["Banking", "Energy"], "on_error": "skip_field"},
        {"field": "account_name", "rule": "regex", "pattern": "^\\S", "on_error": "warn"}
    ]})));
    let rules = &c.validation_rules;
    assert_eq!(
        (rules[0].local.as_str(), &rules[0].kind, rules[0].on_error),
        (
            "account_name",
            &RuleKind::MaxLength { max: 255 },
            OnError::RejectRecord
        )
    );
    assert_eq!(
        rules[1].kind,
        RuleKind::OneOf {
            values: vec![json!("Banking"), json!("Energy")]
        }
    );
    assert_eq!(rules[2].path, "validation_rules[2]");
    let p = errors(with(json!({"validation_rules": [
        {"field": "Name", "rule": "required"},
        {"field": "Name", "rule": "regex", "pattern": "^[a-"}]})));
    assert_eq!(paths(&p), ["validation_rules[1].pattern"]);
    assert!(
        p[0].message.starts_with("invalid regular expression: "),
        "{}",
        p[0].message
    );
    assert!(!p[0].message.contains('\n'));
}

#[test]
fn both_notification_shapes_merge() {
    let c = ok(with(json!({"error_handling": {
        "notification": {"channels": ["slack", "email"], "threshold": "critical"},
        "notifications": {"email": ["data-team@yourcompany.com"], "slack": "#data-sync-alerts"}}})));
    let n = &c.error_handling.notifications;
    assert_eq!(n.channels, ["slack", "email"]);
    assert_eq!(n.threshold, Severity::Critical);
    assert_eq!(n.email, ["data-team@yourcompany.com"]);
    assert_eq!(n.slack.as_deref(), Some("#data-sync-alerts"));
    let p = errors(with(json!({"error_handling": {
        "notification": {"threshold": "critical"}, "notifications": {"threshold": "info"}}})));
    assert_eq!(paths(&p), ["error_handling.notifications.threshold"]);
}

#[test]
fn both_monitoring_shapes_merge() {
    let c = ok(with(json!({"monitoring": {
        "metrics": ["sync_latency", "error_rate"],
        "metric_collection": ["latency", "throughput"],
        "logging": {"level": "warning", "retention_days": 7},
        "log_level": "warn",
        "dashboard_enabled": false,
        "alerting": {"error_rate_threshold": 0.01}}})));
    let m = &c.monitoring;
    assert_eq!(
        m.metrics,
        [Metric::SyncLatency, Metric::ErrorRate, Metric::Throughput]
    );
    assert_eq!(
        (m.log_level, m.retention_days, m.dashboard_enabled),
        (LogLevel::Warning, 7, false)
    );
    assert_eq!(m.alerting.error_rate_threshold, Some(0.01));
    let p = errors(with(
        json!({"monitoring": {"logging": {"level": "debug"}, "log_level": "info"}}),
    ));
    assert_eq!(paths(&p), ["monitoring.log_level"]);
}

#[test]
fn ongoing_sync_reads_its_mode_and_both_intervals() {
    let c = ok(with(json!({"sync_settings": {"ongoing_sync": {
        "mode": "polling", "polling_interval_seconds": 5, "safety_poll_seconds": 3600
    }}})));
    assert_eq!(c.ongoing.mode, OngoingMode::Polling);
    assert_eq!(c.ongoing.polling_interval_seconds, 5.0);
    assert_eq!(c.ongoing.safety_poll_seconds, 3600.0);
    let p = errors(with(
        json!({"sync_settings": {"ongoing_sync": {"safety_poll_seconds": 0}}}),
    ));
    assert_eq!(
        paths(&p),
        ["sync_settings.ongoing_sync.safety_poll_seconds"]
    );
}

#[test]
fn retry_bounds_are_checked() {
    let c = ok(with(
        json!({"error_handling": {"retry_strategy": {"max_attempts": 3, "backoff_factor": 1.5}}}),
    ));
    assert_eq!(
        (
            c.error_handling.retry.max_attempts,
            c.error_handling.retry.backoff_factor
        ),
        (3, 1.5)
    );
    let p = errors(with(
        json!({"error_handling": {"retry_strategy": {"initial_delay_seconds": 60, "max_delay_seconds": 10}}}),
    ));
    assert_eq!(
        paths(&p),
        ["error_handling.retry_strategy.max_delay_seconds"]
    );
}

#[test]
fn every_problem_is_reported_at_once() {
    let p = errors(with(json!({
        "sync_type": "both",
        "error_handling": {"retry_stratgy": {}, "retry_strategy": {"max_attempts": "five"}},
        "performance_settings": {"batch_size": 0, "parallelism": 1000},
        "loop_prevention": {"enabled": "yes"},
        "monitoring": {"metrics": ["latency", "cpu"]}
    })));
    assert_eq!(
        paths(&p),
        [
            "sync_type",
            "error_handling.retry_stratgy",
            "error_handling.retry_strategy.max_attempts",
            "performance_settings.batch_size",
            "performance_settings.parallelism",
            "monitoring.metrics[1]",
            "loop_prevention.enabled",
        ]
    );
    assert_eq!(p[2].message, "expected a positive integer, got \"five\"");
    assert!(p[1].message.ends_with("did you mean 'retry_strategy'?"));
}

#[test]
fn secrets_in_the_config_are_checked_but_never_echoed() {
    let p = errors(with(
        json!({"source": {"credentials": {"client_secret": "s3cr3t-value", "password": 12345}}}),
    ));
    assert_eq!(
        paths(&p),
        [
            "source.credentials.password",
            "source.credentials.password",
            "source.credentials"
        ]
    );
    assert!(p
        .iter()
        .all(|p| !p.message.contains("s3cr3t") && !p.message.contains("12345")));
    ok(with(
        json!({"source": {"credentials": {"client_id": "ck", "client_secret": "cs"}}}),
    ));
}

#[test]
fn netsuite_record_types_without_support_are_not_supported_yet() {
    let p = errors(with(
        json!({"source": {"type": "netsuite", "object": "SalesOrder", "credentials": null}}),
    ));
    assert_eq!(paths(&p), ["source.object"]);
    assert_eq!(p[0].kind.sqlstate(), "0A000");
}

#[test]
fn a_hub_config_is_pointed_to_create_hub() {
    let p = errors(json!({"sync_hub": "h", "connected_systems": []}));
    assert_eq!(paths(&p), ["sync_hub"]);
    assert!(p[0].message.contains("hubsync.create_hub"));
}

#[test]
fn a_rule_may_name_one_account_by_its_connection() {
    let c = ok(with(
        json!({"connection_name": "Org_A", "conflict_resolution": {
        "strategy": "field_level_priority",
        "field_rules": [
            {"field": "name", "priority_system": "connection:Org_B"},
            {"field": "industry_type", "priority_system": "connection:Org_A"}
        ]}}),
    ));
    let ConflictPolicy::FieldLevelPriority { rules, .. } = c.conflict else {
        panic!()
    };
    assert_eq!(rules[0].priority, Priority::Connection("Org_B".into()));
    assert_eq!(rules[1].priority, Priority::Side(Side::Remote));
    let p = errors(with(json!({"conflict_resolution": {
        "strategy": "field_level_priority",
        "field_rules": [{"field": "name", "priority_system": "connection:"}]}})));
    assert_eq!(
        paths(&p),
        ["conflict_resolution.field_rules[0].priority_system"]
    );
}

#[test]
fn bulk_thresholds_default_take_zero_to_turn_bulk_off_and_refuse_negatives() {
    let defaults = ok(with(json!({}))).performance;
    assert_eq!(
        (defaults.bulk_threshold, defaults.bulk_push_threshold),
        (10_000, 10_000)
    );
    let off = ok(with(json!({
        "performance_settings": {"bulk_threshold": 0, "bulk_push_threshold": 250}
    })))
    .performance;
    assert_eq!((off.bulk_threshold, off.bulk_push_threshold), (0, 250));
    let p = errors(with(
        json!({"performance_settings": {"bulk_threshold": -1}}),
    ));
    assert_eq!(paths(&p), ["performance_settings.bulk_threshold"]);
    assert!(p[0].message.contains("0 or more"), "{}", p[0].message);
}
