//! What hubsync knows about a local table: its columns, keys and the caller's rights.
//!
//! The extension reads this from the Postgres catalog; validation and the mapping
//! engine decide with it, so both can be tested without a database.

/// A PostgreSQL column type, reduced to what syncing needs to know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PgType {
    /// `text`
    Text,
    /// `varchar(n)` / `character varying`, with its length limit if any.
    Varchar(Option<u32>),
    /// `char(n)` / `bpchar`.
    Char(Option<u32>),
    /// `numeric(p,s)` / `decimal`; `None` when unconstrained.
    Numeric {
        precision: Option<u32>,
        scale: Option<u32>,
    },
    /// `smallint`
    Int2,
    /// `integer`
    Int4,
    /// `bigint`
    Int8,
    /// `real`
    Float4,
    /// `double precision`
    Float8,
    /// `boolean`
    Bool,
    /// `date`
    Date,
    /// `time` (without time zone)
    Time,
    /// `timestamp` (without time zone)
    Timestamp,
    /// `timestamptz`
    Timestamptz,
    /// `jsonb`
    Jsonb,
    /// `json`
    Json,
    /// `uuid`
    Uuid,
    /// `text[]` / `varchar[]`
    TextArray,
    /// Anything else, by its `format_type` name; syncable only as text.
    Other(String),
}

impl PgType {
    /// Parses the output of Postgres' `format_type(atttypid, atttypmod)`.
    pub fn from_format_type(formatted: &str) -> PgType {
        let lower = formatted.trim().to_ascii_lowercase();
        let (base, args) = match lower.find('(') {
            Some(open) => {
                let close = lower.rfind(')').unwrap_or(lower.len());
                let args: Vec<u32> = lower[open + 1..close]
                    .split(',')
                    .filter_map(|a| a.trim().parse().ok())
                    .collect();
                let prefix = lower[..open].trim();
                let rest = lower[close..].trim_start_matches(')').trim();
                let base = if rest.is_empty() || rest.starts_with('[') {
                    format!("{prefix}{rest}")
                } else {
                    format!("{prefix} {rest}")
                };
                (base, args)
            }
            None => (lower.clone(), Vec::new()),
        };
        match base.as_str() {
            "text" => PgType::Text,
            "character varying" | "varchar" => PgType::Varchar(args.first().copied()),
            "character" | "char" | "bpchar" => PgType::Char(args.first().copied()),
            "numeric" | "decimal" => PgType::Numeric {
                precision: args.first().copied(),
                scale: args.get(1).copied().or(args.first().map(|_| 0)),
            },
            "smallint" | "int2" => PgType::Int2,
            "integer" | "int" | "int4" => PgType::Int4,
            "bigint" | "int8" => PgType::Int8,
            "real" | "float4" => PgType::Float4,
            "double precision" | "float8" => PgType::Float8,
            "boolean" | "bool" => PgType::Bool,
            "date" => PgType::Date,
            "time without time zone" | "time" => PgType::Time,
            "timestamp without time zone" | "timestamp" => PgType::Timestamp,
            "timestamp with time zone" | "timestamptz" => PgType::Timestamptz,
            "jsonb" => PgType::Jsonb,
            "json" => PgType::Json,
            "uuid" => PgType::Uuid,
            "text[]" | "character varying[]" | "varchar[]" => PgType::TextArray,
            _ => PgType::Other(formatted.trim().to_string()),
        }
    }
}

/// One column of a local table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalColumn {
    /// Column name exactly as in the catalog (case-sensitive).
    pub name: String,
    /// `format_type` text, kept for messages.
    pub type_name: String,
    /// The parsed type.
    pub pg_type: PgType,
    /// `NOT NULL` constraint present.
    pub not_null: bool,
    /// Has a default (serial, identity or DEFAULT expression).
    pub has_default: bool,
}

/// What the caller may do to a table; the sync needs different rights per direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TableRights {
    /// The caller owns the table (or is a superuser).
    pub owner: bool,
    pub select: bool,
    pub insert: bool,
    pub update: bool,
    pub delete: bool,
    /// TRIGGER: every sync installs triggers on its table (capture, and the TRUNCATE guard).
    pub trigger: bool,
}

impl TableRights {
    /// Every right, as the table's owner (or a superuser) holds them.
    pub const OWNER: TableRights = TableRights {
        owner: true,
        select: true,
        insert: true,
        update: true,
        delete: true,
        trigger: true,
    };
}

/// An existing index on a local table, as far as index recommendations care.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexInfo {
    /// Indexed column names in key order; empty for an expression-only index.
    pub columns: Vec<String>,
    /// `UNIQUE` index (including those behind primary-key and unique constraints).
    pub unique: bool,
    /// Has a `WHERE` predicate, so it neither covers every row nor guarantees uniqueness.
    pub partial: bool,
}

/// A local table as the sync sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalTable {
    /// Schema name.
    pub schema: String,
    /// Table name.
    pub name: String,
    /// Columns in attribute order.
    pub columns: Vec<LocalColumn>,
    /// Primary-key column names, in key order; empty if there is none.
    pub primary_key: Vec<String>,
    /// Columns that alone carry a unique constraint or unique index (including the PK if single).
    pub unique_columns: Vec<String>,
    /// The caller's rights on the table.
    pub rights: TableRights,
}

impl LocalTable {
    /// The column with exactly this name.
    pub fn column(&self, name: &str) -> Option<&LocalColumn> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// True when `name` alone is unique in the table.
    pub fn is_unique(&self, name: &str) -> bool {
        self.unique_columns.iter().any(|c| c == name)
            || (self.primary_key.len() == 1 && self.primary_key[0] == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_format_type_output() {
        assert_eq!(
            PgType::from_format_type("character varying(255)"),
            PgType::Varchar(Some(255))
        );
        assert_eq!(
            PgType::from_format_type("numeric(18,2)"),
            PgType::Numeric {
                precision: Some(18),
                scale: Some(2)
            }
        );
        assert_eq!(
            PgType::from_format_type("numeric"),
            PgType::Numeric {
                precision: None,
                scale: None
            }
        );
        assert_eq!(
            PgType::from_format_type("timestamp without time zone"),
            PgType::Timestamp
        );
        assert_eq!(
            PgType::from_format_type("timestamp(3) with time zone"),
            PgType::Timestamptz
        );
        assert_eq!(
            PgType::from_format_type("character varying(40)[]"),
            PgType::TextArray
        );
        assert_eq!(PgType::from_format_type("integer"), PgType::Int4);
        assert_eq!(
            PgType::from_format_type("point"),
            PgType::Other("point".into())
        );
    }
}
