//! Indexes a sync needs on its local table: a unique index on the column holding the
//! Salesforce id (every pull looks rows up by it, and it must never hold one record twice),
//! the same for the External ID column, and an index on the local timestamp column that
//! `last_write_wins` compares.

use crate::config::{ConflictPolicy, SyncConfig};
use crate::schema::{IndexInfo, LocalTable};

/// Keywords Postgres' own `quote_ident` quotes (reserved, column-name and
/// type/function-name keywords; unreserved ones may stand bare).
const QUOTED_KEYWORDS: &[&str] = &[
    "all",
    "analyse",
    "analyze",
    "and",
    "any",
    "array",
    "as",
    "asc",
    "asymmetric",
    "authorization",
    "between",
    "bigint",
    "binary",
    "bit",
    "boolean",
    "both",
    "case",
    "cast",
    "char",
    "character",
    "check",
    "coalesce",
    "collate",
    "collation",
    "column",
    "concurrently",
    "constraint",
    "create",
    "cross",
    "current_catalog",
    "current_date",
    "current_role",
    "current_schema",
    "current_time",
    "current_timestamp",
    "current_user",
    "dec",
    "decimal",
    "default",
    "deferrable",
    "desc",
    "distinct",
    "do",
    "else",
    "end",
    "except",
    "exists",
    "extract",
    "false",
    "fetch",
    "float",
    "for",
    "foreign",
    "freeze",
    "from",
    "full",
    "grant",
    "greatest",
    "group",
    "grouping",
    "having",
    "ilike",
    "in",
    "initially",
    "inner",
    "inout",
    "int",
    "integer",
    "intersect",
    "interval",
    "into",
    "is",
    "isnull",
    "join",
    "json",
    "json_array",
    "json_arrayagg",
    "json_exists",
    "json_object",
    "json_objectagg",
    "json_query",
    "json_scalar",
    "json_serialize",
    "json_table",
    "json_value",
    "lateral",
    "leading",
    "least",
    "left",
    "like",
    "limit",
    "localtime",
    "localtimestamp",
    "merge_action",
    "national",
    "natural",
    "nchar",
    "none",
    "normalize",
    "not",
    "notnull",
    "null",
    "nullif",
    "numeric",
    "offset",
    "on",
    "only",
    "or",
    "order",
    "out",
    "outer",
    "overlaps",
    "overlay",
    "placing",
    "position",
    "precision",
    "primary",
    "real",
    "references",
    "returning",
    "right",
    "row",
    "select",
    "session_user",
    "setof",
    "similar",
    "smallint",
    "some",
    "substring",
    "symmetric",
    "system_user",
    "table",
    "tablesample",
    "then",
    "time",
    "timestamp",
    "to",
    "trailing",
    "treat",
    "trim",
    "true",
    "union",
    "unique",
    "user",
    "using",
    "values",
    "varchar",
    "variadic",
    "verbose",
    "when",
    "where",
    "window",
    "with",
    "xmlattributes",
    "xmlconcat",
    "xmlelement",
    "xmlexists",
    "xmlforest",
    "xmlnamespaces",
    "xmlparse",
    "xmlpi",
    "xmlroot",
    "xmlserialize",
    "xmltable",
];

/// Quotes an identifier exactly when Postgres' `quote_ident` would: unless it is lower-case
/// letters, digits and underscores, starts with a letter or underscore, and is no keyword.
pub fn quote_ident(ident: &str) -> String {
    let safe = ident
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && ident
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !QUOTED_KEYWORDS.contains(&ident);
    if safe {
        ident.to_string()
    } else {
        format!("\"{}\"", ident.replace('"', "\"\""))
    }
}

/// The `CREATE [UNIQUE] INDEX` statements the sync needs and `existing` lacks, in a
/// stable order. Partial indexes do not count: they cover only some rows.
pub fn recommend_indexes(
    config: &SyncConfig,
    table: &LocalTable,
    existing: &[IndexInfo],
) -> Vec<String> {
    let full = || existing.iter().filter(|i| !i.partial);
    let unique_on =
        |column: &str| table.is_unique(column) || full().any(|i| i.unique && i.columns == [column]);
    let leading_on = |column: &str| {
        table.is_unique(column) || full().any(|i| i.columns.first().is_some_and(|c| c == column))
    };
    let target = format!(
        "{}.{}",
        quote_ident(&table.schema),
        quote_ident(&table.name)
    );
    let mut statements: Vec<String> = Vec::new();
    let mut want = |unique: bool, column: &str| {
        let statement = format!(
            "CREATE {}INDEX ON {target} ({})",
            if unique { "UNIQUE " } else { "" },
            quote_ident(column)
        );
        if table.column(column).is_some() && !statements.contains(&statement) {
            statements.push(statement);
        }
    };
    let keys = [config.id_mapping(), config.external_id_mapping()];
    for mapping in keys.into_iter().flatten() {
        if !unique_on(&mapping.local) {
            want(true, &mapping.local);
        }
    }
    if let Some(column) = local_timestamp_column(&config.conflict) {
        if !leading_on(column) {
            want(false, column);
        }
    }
    statements
}

fn local_timestamp_column(policy: &ConflictPolicy) -> Option<&str> {
    match policy {
        ConflictPolicy::LastWriteWins {
            local_timestamp_column,
            ..
        } => local_timestamp_column.as_deref(),
        ConflictPolicy::FieldLevelPriority { default, .. } => local_timestamp_column(default),
        ConflictPolicy::SideWins { .. } | ConflictPolicy::Manual => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::testkit;

    fn index(columns: &[&str], unique: bool) -> IndexInfo {
        IndexInfo {
            columns: columns.iter().map(|c| c.to_string()).collect(),
            unique,
            partial: false,
        }
    }

    #[test]
    fn quotes_like_postgres() {
        assert_eq!(quote_ident("sf_id"), "sf_id");
        assert_eq!(quote_ident("_x1"), "_x1");
        assert_eq!(quote_ident("Accounts"), "\"Accounts\"");
        assert_eq!(quote_ident("1st"), "\"1st\"");
        assert_eq!(quote_ident("user"), "\"user\"");
        assert_eq!(quote_ident("order"), "\"order\"");
        assert_eq!(quote_ident("text"), "text", "unreserved keywords stay bare");
        assert_eq!(quote_ident("my col"), "\"my col\"");
        assert_eq!(quote_ident("we\"ird"), "\"we\"\"ird\"");
        assert_eq!(quote_ident("café"), "\"café\"");
        assert_eq!(quote_ident(""), "\"\"");
    }

    #[test]
    fn the_briefs_table_needs_nothing_more_for_ids() {
        // sf_id VARCHAR(18) UNIQUE plus idx_accounts_sf_id.
        let existing = [
            index(&["id"], true),
            index(&["sf_id"], true),
            index(&["sf_id"], false),
        ];
        let config = testkit::accounts_config();
        assert!(recommend_indexes(&config, &testkit::accounts_table(), &existing).is_empty());
    }

    #[test]
    fn recommends_unique_id_external_id_and_timestamp_indexes() {
        let mut table = testkit::accounts_table();
        table.unique_columns.clear();
        table.schema = "Sales".into();
        table.name = "order".into();
        table.columns.push(testkit::column("Acct No", "text"));
        let mut config = testkit::accounts_config();
        let mut ext = testkit::mapping("Account_Number__c", "Acct No");
        ext.external_id = true;
        config.mappings.push(ext);
        config.conflict = ConflictPolicy::LastWriteWins {
            timestamp_field: "LastModifiedDate".into(),
            local_timestamp_column: Some("last_sync".into()),
        };
        // A plain index on sf_id and a partial unique one do not make it unique.
        let mut partial = index(&["sf_id"], true);
        partial.partial = true;
        let existing = [index(&["id"], true), index(&["sf_id"], false), partial];
        assert_eq!(
            recommend_indexes(&config, &table, &existing),
            [
                "CREATE UNIQUE INDEX ON \"Sales\".\"order\" (sf_id)",
                "CREATE UNIQUE INDEX ON \"Sales\".\"order\" (\"Acct No\")",
                "CREATE INDEX ON \"Sales\".\"order\" (last_sync)",
            ]
        );
        // An index leading with the timestamp column serves it.
        let existing = [
            index(&["sf_id"], true),
            index(&["Acct No"], true),
            index(&["last_sync", "id"], false),
        ];
        assert!(recommend_indexes(&config, &table, &existing).is_empty());
    }
}
