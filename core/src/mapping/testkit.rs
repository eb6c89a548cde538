//! Test fixtures: the brief's `accounts` table, an Account describe and the brief's
//! bidirectional config, built directly as structs (the config parser is separate).

use crate::config::*;
use crate::connector::describe::{FieldDescribe, ObjectDescribe};
use crate::schema::{LocalColumn, LocalTable, PgType, TableRights};
use serde_json::{json, Value};

/// A mapping as the brief writes them: Salesforce is the source.
pub fn mapping(remote: &str, local: &str) -> FieldMapping {
    FieldMapping {
        path: Default::default(),
        remote: remote.into(),
        local: local.into(),
        transform: Transform::None,
        source: Side::Remote,
        external_id: false,
        one_way: false,
    }
}

/// The brief's bidirectional Account ↔ accounts sync; where the brief leaves a setting
/// out, hubsync's default.
pub fn accounts_config() -> SyncConfig {
    SyncConfig {
        name: "SF_Postgres_Accounts".into(),
        connection: "SF_Postgres_Accounts".into(),
        remote: RemoteEndpoint {
            path: Default::default(),
            system: SystemKind::Salesforce,
            object: "Account".into(),
            instance_url: Some("https://yourinstance.salesforce.com".into()),
            account_id: None,
            login_url: None,
            auth_type: AuthType::Oauth2,
            api_version: "59.0".into(),
        },
        local: LocalEndpoint {
            path: Default::default(),
            schema: Some("public".into()),
            table: "accounts".into(),
            database: Some("customer_data".into()),
            host: None,
            port: None,
        },
        source: Side::Remote,
        direction: Direction {
            push: true,
            pull: true,
        },
        mappings: vec![
            mapping("Id", "sf_id"),
            mapping("Name", "account_name"),
            mapping("Industry", "industry_type"),
            mapping("AnnualRevenue", "annual_revenue"),
            mapping("LastModifiedDate", "last_modified"),
        ],
        mapping_options: MappingOptions::default(),
        initial_sync: InitialSync::FullLoad,
        ongoing: OngoingSync::default(),
        conflict: ConflictPolicy::LastWriteWins {
            timestamp_field: "LastModifiedDate".into(),
            local_timestamp_column: None,
        },
        error_handling: ErrorHandling {
            retry: RetryStrategy {
                max_attempts: 3,
                ..RetryStrategy::default()
            },
            notifications: Notifications {
                threshold: Severity::Critical,
                ..Notifications::default()
            },
            fallback: FallbackAction::QueueForManualReview,
        },
        performance: PerformanceSettings {
            parallelism: 5,
            ..PerformanceSettings::default()
        },
        field_selection: FieldSelection {
            explicit: false,
            include: vec![],
            exclude: vec![],
        },
        validation_rules: vec![],
        monitoring: Monitoring {
            metrics: vec![],
            ..Monitoring::default()
        },
        loop_prevention: LoopPrevention::default(),
        natural_key: vec![],
    }
}

/// A column as the catalog would describe it.
pub fn column(name: &str, format_type: &str) -> LocalColumn {
    LocalColumn {
        name: name.into(),
        type_name: format_type.into(),
        pg_type: PgType::from_format_type(format_type),
        not_null: false,
        has_default: false,
    }
}

/// The brief's `accounts` table.
pub fn accounts_table() -> LocalTable {
    let mut id = column("id", "integer");
    id.not_null = true;
    id.has_default = true;
    LocalTable {
        schema: "public".into(),
        name: "accounts".into(),
        columns: vec![
            id,
            column("sf_id", "character varying(18)"),
            column("account_name", "character varying(255)"),
            column("industry_type", "character varying(100)"),
            column("annual_revenue", "numeric(18,2)"),
            column("last_modified", "timestamp without time zone"),
            column("last_sync", "timestamp without time zone"),
        ],
        primary_key: vec!["id".into()],
        unique_columns: vec!["sf_id".into()],
        rights: TableRights::OWNER,
    }
}

/// A writable field of the given describe type, with extra describe keys.
pub fn field(name: &str, field_type: &str, extra: Value) -> FieldDescribe {
    let mut json =
        json!({"name": name, "type": field_type, "createable": true, "updateable": true});
    if let (Some(obj), Value::Object(more)) = (json.as_object_mut(), extra) {
        obj.extend(more);
    }
    serde_json::from_value(json).expect("test field describe")
}

/// A read-only system field.
pub fn system_field(name: &str, field_type: &str) -> FieldDescribe {
    field(
        name,
        field_type,
        json!({"createable": false, "updateable": false, "nillable": false}),
    )
}

/// Account as `describe` reports it (the fields the tests use).
pub fn account_describe() -> ObjectDescribe {
    ObjectDescribe {
        name: "Account".into(),
        key_prefix: Some("001".into()),
        createable: true,
        updateable: true,
        deletable: true,
        queryable: true,
        fields: vec![
            field(
                "Id",
                "id",
                json!({"length": 18, "createable": false, "updateable": false, "idLookup": true}),
            ),
            system_field("IsDeleted", "boolean"),
            field(
                "Name",
                "string",
                json!({"length": 255, "nillable": false, "idLookup": true}),
            ),
            field("Industry", "picklist", json!({"length": 255})),
            field(
                "AnnualRevenue",
                "currency",
                json!({"precision": 18, "scale": 2}),
            ),
            field("NumberOfEmployees", "int", json!({"digits": 8})),
            field("Phone", "phone", json!({"length": 40})),
            field("Website", "url", json!({"length": 255})),
            field("Description", "textarea", json!({"length": 32000})),
            field("OwnerId", "reference", json!({"length": 18})),
            field("Rating", "picklist", json!({"length": 255})),
            system_field("CreatedDate", "datetime"),
            system_field("LastModifiedDate", "datetime"),
            system_field("SystemModstamp", "datetime"),
            system_field("BillingAddress", "address"),
            field("Email__c", "email", json!({"length": 80})),
            field(
                "Account_Number__c",
                "string",
                json!({"length": 40, "externalId": true, "unique": true}),
            ),
            field("Regions__c", "multipicklist", json!({"length": 4099})),
            field("Is_Active__c", "boolean", json!({})),
            field("Founded__c", "date", json!({})),
            field("Opens_At__c", "time", json!({})),
            field("Last_Audit__c", "datetime", json!({})),
            field("Score__c", "double", json!({"precision": 18, "scale": 4})),
            field("Share__c", "percent", json!({"precision": 5, "scale": 2})),
            field("Big_Count__c", "long", json!({})),
            field(
                "Big_Revenue__c",
                "currency",
                json!({"precision": 20, "scale": 2}),
            ),
            field("Payload__c", "textarea", json!({"length": 131072})),
            field(
                "Set_Once__c",
                "string",
                json!({"length": 20, "updateable": false}),
            ),
        ],
    }
}

/// A JSON object as a record/row map.
pub fn object(value: Value) -> serde_json::Map<String, Value> {
    match value {
        Value::Object(map) => map,
        other => panic!("expected a JSON object, got {other}"),
    }
}

/// A config and table syncing `Id → sf_id` and `field → col` (a column of `format_type`),
/// with Salesforce as the source.
pub fn single(field: &str, format_type: &str) -> (SyncConfig, LocalTable) {
    let mut config = accounts_config();
    config.mappings = vec![mapping("Id", "sf_id"), mapping(field, "col")];
    let mut table = accounts_table();
    table.columns.push(column("col", format_type));
    (config, table)
}

/// The mapper for a config and table against [`account_describe`], which must be valid.
pub fn mapper(config: &SyncConfig, table: &LocalTable) -> crate::mapping::Mapper {
    crate::mapping::Mapper::new(config, table, &account_describe())
        .unwrap_or_else(|problems| panic!("config refused: {problems:?}"))
}
